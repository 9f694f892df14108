//! Tiles of a generated dataset around (-74.2, -13.0): clustered points with
//! population and households, polygons with holes and lines.
//!
//! For every tile at z0–z8 touching the data and a sample at z9–z14:
//! - the summed `count` of the point layer equals the number of source points
//!   in the tile (slippy-map formula on lon/lat, computed here independently),
//!   and summed `population` / `households` equal the source totals;
//! - every geometry decodes into a valid command stream.
//!
//! At the maximum zoom the point ids equal a brute-force query of the source
//! and the polygon/line ids are bracketed by brute-force intersection queries
//! (geo) of the buffered tile shrunk and grown by one tile unit; polygons inside
//! the tile keep every source vertex.

use crate::common;

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use chaski_tiles::{LayerSource, SourceOptions, TileCoord, TileSource, render};
use geo::{Coord, Geometry, Intersects, LineString, MultiLineString, Polygon, Rect};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

const LON0: f64 = -74.2;
const LAT0: f64 = -13.0;
const MAXZOOM: u8 = 14;

struct Data {
    points: Layer,
    zones: Layer,
    rivers: Layer,
}

fn generate() -> Data {
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_125);
    let mut points = Layer::new("villages", LayerKind::Communities);
    // Five clusters of different spread, 5,000 points in all, a few exact duplicates.
    let centres = [
        (LON0, LAT0, 0.02, 1500),
        (LON0 + 0.3, LAT0 - 0.2, 0.1, 1500),
        (LON0 - 0.5, LAT0 + 0.4, 0.4, 1000),
        (LON0 + 1.5, LAT0 + 1.0, 1.0, 800),
        (LON0 - 0.001, LAT0 + 0.001, 0.0005, 200),
    ];
    let mut fid = 100;
    for (cx, cy, spread, n) in centres {
        for _ in 0..n {
            // Sum of uniforms: a bell-shaped cluster.
            let dx: f64 = (0..3).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>() * spread;
            let dy: f64 = (0..3).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>() * spread;
            let pop = if rng.random_bool(0.1) {
                Value::Null
            } else {
                Value::Int(rng.random_range(5..2000))
            };
            fid += 1;
            let (lon, lat) = if fid % 97 == 0 {
                (LON0, LAT0) // duplicates of one location
            } else {
                (cx + dx, cy + dy)
            };
            points.features.push(Feature {
                fid,
                geometry: Geometry::Point(geo::Point::new(lon, lat)),
                values: vec![
                    Value::Text(format!("C{fid}")),
                    Value::Text(format!("Village {fid}")),
                    Value::Null,
                    pop,
                    Value::Int(rng.random_range(1..300)),
                    Value::Text("Tambo".into()),
                ],
            });
        }
    }
    let mut zones = Layer::new("zones", LayerKind::Boundaries);
    for i in 0..60 {
        let cx = LON0 + rng.random_range(-1.5..1.5);
        let cy = LAT0 + rng.random_range(-1.5..1.5);
        let r = 10f64.powf(rng.random_range(-3.5..-0.5));
        let n = rng.random_range(5..200);
        let ring = |rad: f64, n: usize, rng: &mut ChaCha8Rng| -> LineString<f64> {
            let mut pts: Vec<Coord<f64>> = (0..n)
                .map(|k| {
                    let a = k as f64 / n as f64 * std::f64::consts::TAU;
                    let rr = rad * rng.random_range(0.7..1.0);
                    Coord {
                        x: cx + rr * a.cos(),
                        y: cy + rr * a.sin(),
                    }
                })
                .collect();
            pts.push(pts[0]);
            LineString(pts)
        };
        let ext = ring(r, n, &mut rng);
        let holes = if i % 3 == 0 {
            vec![ring(r * 0.3, 12, &mut rng)]
        } else {
            vec![]
        };
        zones.features.push(Feature {
            fid: 1000 + i,
            geometry: Geometry::Polygon(Polygon::new(ext, holes)),
            values: vec![
                Value::Text(format!("Z{i}")),
                Value::Text(format!("Zone {i}")),
                Value::Null,
            ],
        });
    }
    let mut rivers = Layer::new("rivers", LayerKind::Rivers);
    for i in 0..25 {
        let mut x = LON0 + rng.random_range(-1.5..1.5);
        let mut y = LAT0 + rng.random_range(-1.5..1.5);
        let step = 10f64.powf(rng.random_range(-4.0..-2.0));
        let parts = (0..rng.random_range(1..3))
            .map(|_| {
                let n = rng.random_range(2..400);
                let l: LineString<f64> = (0..n)
                    .map(|_| {
                        x += rng.random_range(-1.0..1.0) * step;
                        y += rng.random_range(-1.0..1.0) * step;
                        (x, y)
                    })
                    .collect();
                l
            })
            .collect();
        rivers.features.push(Feature {
            fid: 5000 + i,
            geometry: Geometry::MultiLineString(MultiLineString(parts)),
            values: vec![Value::Null, Value::Null, Value::Text("stream".into())],
        });
    }
    Data {
        points,
        zones,
        rivers,
    }
}

fn point_lonlat(f: &Feature) -> (f64, f64) {
    match &f.geometry {
        Geometry::Point(p) => (p.x(), p.y()),
        _ => unreachable!(),
    }
}

/// Decoded point layer: (summed count, summed population, summed households, ids).
fn point_totals(tile: &common::Tile) -> (u64, i64, i64, BTreeSet<u64>) {
    let mut out = (0, 0, 0, BTreeSet::new());
    if let Some(l) = tile.layers.iter().find(|l| l.name == "villages") {
        for f in &l.features {
            assert_eq!(f.r#type, Some(1));
            common::check_geometry(1, &f.geometry);
            let count = l.prop(f, "count").map_or(1, |v| v.uint_value.unwrap());
            out.0 += count;
            out.1 += l
                .prop(f, "population")
                .map_or(0, |v| v.as_f64().unwrap() as i64);
            out.2 += l
                .prop(f, "households")
                .map_or(0, |v| v.as_f64().unwrap() as i64);
            if let Some(id) = f.id {
                out.3.insert(id);
            }
            if l.prop(f, "count").is_some() {
                assert_eq!(l.prop(f, "generalized").unwrap().bool_value, Some(true));
            }
        }
    }
    out
}

fn expected_points(points: &Layer, coord: TileCoord) -> (u64, i64, i64, BTreeSet<u64>) {
    let mut out = (0, 0, 0, BTreeSet::new());
    for f in &points.features {
        let (lon, lat) = point_lonlat(f);
        if common::slippy_tile(lon, lat, coord.z()) == (coord.x(), coord.y()) {
            out.0 += 1;
            out.1 += f.values[3].as_i64().unwrap_or(0);
            out.2 += f.values[4].as_i64().unwrap_or(0);
            out.3.insert(f.fid as u64);
        }
    }
    out
}

fn check_all_geometry(tile: &common::Tile) {
    for l in &tile.layers {
        assert_eq!(l.extent, Some(4096));
        for f in &l.features {
            let parts = common::check_geometry(f.r#type.unwrap(), &f.geometry);
            if f.r#type == Some(3) {
                assert!(common::area2(&parts[0]) > 0, "first ring is an exterior");
            }
        }
    }
}

fn tiles_touching(layers: &[&Layer], z: u8) -> BTreeSet<(u32, u32)> {
    let mut set = BTreeSet::new();
    for layer in layers {
        for f in &layer.features {
            let r = geo::BoundingRect::bounding_rect(&f.geometry).unwrap();
            let (x0, y0) = common::slippy_tile(r.min().x, r.max().y, z);
            let (x1, y1) = common::slippy_tile(r.max().x, r.min().y, z);
            for x in x0..=x1 {
                for y in y0..=y1 {
                    set.insert((x, y));
                }
            }
        }
    }
    set
}

fn check_counts(
    data: &Data,
    sources: &[&dyn TileSource],
    z: u8,
    tiles: &BTreeSet<(u32, u32)>,
) -> usize {
    let mut clustered = 0;
    for &(x, y) in tiles {
        let coord = TileCoord::new(z, x, y).unwrap();
        let bytes = render(sources, coord).unwrap();
        let tile = common::decode(&bytes);
        check_all_geometry(&tile);
        let got = point_totals(&tile);
        let want = expected_points(&data.points, coord);
        assert_eq!(
            (got.0, got.1, got.2),
            (want.0, want.1, want.2),
            "tile {coord}"
        );
        if got.3 != want.3 {
            clustered += 1;
        }
    }
    clustered
}

#[test]
fn counts_are_preserved_at_every_zoom() {
    let data = generate();
    for threshold in [2_000, 150] {
        let opts = SourceOptions {
            cluster_threshold: threshold,
            ..SourceOptions::default()
        };
        let pts = LayerSource::with_options(&data.points, opts).unwrap();
        let zones = LayerSource::new(&data.zones).unwrap();
        let rivers = LayerSource::new(&data.rivers).unwrap();
        let sources: [&dyn TileSource; 3] = [&pts, &zones, &rivers];
        let mut clustered = 0;
        for z in 0..=8 {
            let tiles = tiles_touching(&[&data.points, &data.zones, &data.rivers], z);
            clustered += check_counts(&data, &sources, z, &tiles);
        }
        // A sample at z9–z14: the tiles of every 37th point.
        for z in 9..=MAXZOOM {
            let tiles: BTreeSet<(u32, u32)> = data
                .points
                .features
                .iter()
                .step_by(37)
                .map(|f| {
                    let (lon, lat) = point_lonlat(f);
                    common::slippy_tile(lon, lat, z)
                })
                .collect();
            clustered += check_counts(&data, &sources, z, &tiles);
        }
        // Clustering really happened (z0 holds all 5,000 points).
        assert!(
            clustered > 0,
            "threshold {threshold}: no tile was clustered"
        );
    }
}

#[test]
fn clustered_tile_is_small_and_marked() {
    let data = generate();
    let pts = LayerSource::new(&data.points).unwrap();
    let coord = TileCoord::containing(LON0, LAT0, 5).unwrap();
    let tile = common::decode(&render(&[&pts], coord).unwrap());
    let l = &tile.layers[0];
    // Far fewer features than points, each with count and generalized.
    let total = expected_points(&data.points, coord).0;
    assert!(total > 2_000);
    assert!(
        (l.features.len() as u64) < total / 4,
        "{} features",
        l.features.len()
    );
    assert!(l.features.iter().all(|f| l.prop(f, "count").is_some()));
    // At the maximum zoom nothing is clustered.
    let coord = TileCoord::containing(LON0, LAT0, MAXZOOM).unwrap();
    let tile = common::decode(&render(&[&pts], coord).unwrap());
    let l = &tile.layers[0];
    assert!(l.features.iter().all(|f| l.prop(f, "count").is_none()));
    assert_eq!(
        l.features.len() as u64,
        expected_points(&data.points, coord).0
    );
}

/// The buffered tile (64 units) grown by `units` tile units, in lon/lat (Web
/// Mercator is separable, so it is a lon/lat rectangle).
fn buffered_rect(coord: TileCoord, units: f64) -> Rect<f64> {
    let [x0, y0, x1, y1] = coord.bounds_mercator();
    let margin = (64.0 + units) * (x1 - x0) / 4096.0;
    let (west, south) = chaski_tiles::mercator_to_lonlat(x0 - margin, y0 - margin);
    let (east, north) = chaski_tiles::mercator_to_lonlat(x1 + margin, y1 + margin);
    Rect::new(Coord { x: west, y: south }, Coord { x: east, y: north })
}

#[test]
fn maxzoom_features_equal_brute_force_query() {
    let data = generate();
    let pts = LayerSource::new(&data.points).unwrap();
    let zones = LayerSource::new(&data.zones).unwrap();
    let rivers = LayerSource::new(&data.rivers).unwrap();
    assert_eq!(zones.maxzoom(), MAXZOOM);
    let sources: [&dyn TileSource; 3] = [&pts, &zones, &rivers];
    // Tiles of a sample of points, zone vertices and river vertices.
    let mut tiles = BTreeSet::new();
    for f in data.points.features.iter().step_by(50) {
        let (lon, lat) = point_lonlat(f);
        tiles.insert(common::slippy_tile(lon, lat, MAXZOOM));
    }
    for layer in [&data.zones, &data.rivers] {
        for f in &layer.features {
            let coords: Vec<Coord<f64>> = geo::CoordsIter::coords_iter(&f.geometry).collect();
            for c in coords.iter().step_by(17) {
                tiles.insert(common::slippy_tile(c.x, c.y, MAXZOOM));
            }
        }
    }
    let mut full_polygons = 0;
    for (x, y) in tiles {
        let coord = TileCoord::new(MAXZOOM, x, y).unwrap();
        let tile = common::decode(&render(&sources, coord).unwrap());
        check_all_geometry(&tile);
        let got_points = point_totals(&tile).3;
        // Positions: the decoded tile coordinates are the source location in
        // fractional tile units (slippy-map formula), rounded.
        if let Some(l) = tile.layers.iter().find(|l| l.name == "villages") {
            for f in &l.features {
                let src = &data.points.features[(f.id.unwrap() - 101) as usize];
                let (lon, lat) = point_lonlat(src);
                let p = common::check_geometry(1, &f.geometry)[0][0];
                let (fx, fy) = common::slippy_fraction(lon, lat, MAXZOOM);
                let ex = (fx - f64::from(x)) * 4096.0;
                let ey = (fy - f64::from(y)) * 4096.0;
                assert!(
                    (p[0] as f64 - ex).abs() <= 0.5 + 1e-6,
                    "{coord} x {} vs {ex}",
                    p[0]
                );
                assert!(
                    (p[1] as f64 - ey).abs() <= 0.5 + 1e-6,
                    "{coord} y {} vs {ey}",
                    p[1]
                );
            }
        }
        assert_eq!(
            got_points,
            expected_points(&data.points, coord).3,
            "points {coord}"
        );
        let inner = buffered_rect(coord, -1.0);
        let outer = buffered_rect(coord, 1.0);
        for layer in [&data.zones, &data.rivers] {
            let got: BTreeSet<u64> = tile
                .layers
                .iter()
                .filter(|l| l.name == layer.name)
                .flat_map(|l| l.features.iter().map(|f| f.id.unwrap()))
                .collect();
            let surely: BTreeSet<u64> = layer
                .features
                .iter()
                .filter(|f| f.geometry.intersects(&inner))
                .map(|f| f.fid as u64)
                .collect();
            let maybe: BTreeSet<u64> = layer
                .features
                .iter()
                .filter(|f| f.geometry.intersects(&outer))
                .map(|f| f.fid as u64)
                .collect();
            assert!(
                surely.is_subset(&got),
                "{} {coord}: missing {:?}",
                layer.name,
                surely.difference(&got).collect::<Vec<_>>()
            );
            assert!(
                got.is_subset(&maybe),
                "{} {coord}: extra {:?}",
                layer.name,
                got.difference(&maybe).collect::<Vec<_>>()
            );
        }
        // Polygons wholly inside the tile keep every source vertex.
        let t = coord.bounds_lonlat();
        let tile_rect = Rect::new(Coord { x: t[0], y: t[1] }, Coord { x: t[2], y: t[3] });
        if let Some(l) = tile.layers.iter().find(|l| l.name == "zones") {
            for f in &l.features {
                let src = data
                    .zones
                    .features
                    .iter()
                    .find(|s| s.fid as u64 == f.id.unwrap())
                    .unwrap();
                let r = geo::BoundingRect::bounding_rect(&src.geometry).unwrap();
                if geo::Contains::contains(&tile_rect, &r) {
                    let Geometry::Polygon(p) = &src.geometry else {
                        unreachable!()
                    };
                    let parts = common::check_geometry(3, &f.geometry);
                    assert_eq!(parts.len(), 1 + p.interiors().len());
                    assert_eq!(
                        parts[0].len(),
                        p.exterior().0.len() - 1,
                        "{coord} zone {}",
                        src.fid
                    );
                    full_polygons += 1;
                }
            }
        }
    }
    assert!(
        full_polygons > 0,
        "no polygon was wholly inside a sampled tile"
    );
}

#[test]
fn lower_zooms_simplify() {
    let data = generate();
    let zones = LayerSource::new(&data.zones).unwrap();
    let vertices = |z: u8| -> usize {
        let mut n = 0;
        for (x, y) in tiles_touching(&[&data.zones], z) {
            let tile =
                common::decode(&render(&[&zones], TileCoord::new(z, x, y).unwrap()).unwrap());
            for l in &tile.layers {
                for f in &l.features {
                    n += common::check_geometry(3, &f.geometry)
                        .iter()
                        .map(Vec::len)
                        .sum::<usize>();
                }
            }
        }
        n
    };
    let (v4, v10) = (vertices(4), vertices(10));
    let source: usize = data
        .zones
        .features
        .iter()
        .map(|f| geo::CoordsIter::coords_count(&f.geometry))
        .sum();
    assert!(v4 < v10, "z4 {v4} vertices, z10 {v10}");
    assert!(v4 < source / 3, "z4 {v4} vertices of {source}");
}

#[test]
fn budget_forces_generalization() {
    let data = generate();
    let pts = LayerSource::new(&data.points).unwrap();
    let zones = LayerSource::new(&data.zones).unwrap();
    let coord = TileCoord::containing(LON0, LAT0, 7).unwrap();
    let sources: [&dyn TileSource; 2] = [&pts, &zones];
    let normal = render(&sources, coord).unwrap();
    let budget = chaski_tiles::gzip_len(&normal).unwrap() / 3;
    let small = chaski_tiles::render_with_budget(&sources, coord, budget).unwrap();
    assert!(chaski_tiles::gzip_len(&small).unwrap() <= budget);
    let tile = common::decode(&small);
    let mut by_layer = BTreeMap::new();
    for l in &tile.layers {
        for f in &l.features {
            assert_eq!(l.prop(f, "generalized").unwrap().bool_value, Some(true));
        }
        by_layer.insert(l.name.clone(), l.features.len());
    }
    // Counts are still preserved.
    assert_eq!(
        point_totals(&tile).0,
        expected_points(&data.points, coord).0
    );
}
