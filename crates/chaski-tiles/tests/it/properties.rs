//! Property tests: whatever the input polygons and lines, the prepared and
//! encoded geometry decodes (with prost) into valid command streams: one MoveTo
//! per part, LineTo counts > 0, ClosePath on rings, no zero-length LineTo, rings
//! with ≥ 3 distinct points, exterior rings with positive and holes with
//! negative area in y-down tile coordinates, everything inside the buffered box.

use crate::common;

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use chaski_tiles::geom::{buffered_box, prepare_lines, prepare_polygon};
use chaski_tiles::mvt::{TileGeometry, TileLayer, encode_tile};
use chaski_tiles::{LayerSource, TileCoord, render};
use geo::{Geometry, LineString, Polygon};
use proptest::prelude::*;

/// A star-shaped (simple) ring around `c` with the given radii, optionally reversed.
fn star(c: [f64; 2], radii: &[f64], phase: f64, reverse: bool) -> Vec<[f64; 2]> {
    let n = radii.len() as f64;
    let mut r: Vec<[f64; 2]> = radii
        .iter()
        .enumerate()
        .map(|(i, rad)| {
            let a = phase + i as f64 / n * std::f64::consts::TAU;
            [c[0] + rad * a.cos(), c[1] + rad * a.sin()]
        })
        .collect();
    if reverse {
        r.reverse();
    }
    r.push(r[0]);
    r
}

fn encode_one(g: &TileGeometry) -> (i32, Vec<u32>) {
    let mut layer = TileLayer::new("p");
    layer.add_feature(None, g, &[]);
    let tile = common::decode(&encode_tile(&[layer]));
    let f = &tile.layers[0].features[0];
    (f.r#type.unwrap(), f.geometry.clone())
}

fn in_box(parts: &[Vec<[i64; 2]>]) -> bool {
    parts
        .iter()
        .flatten()
        .all(|p| (-64..=4160).contains(&p[0]) && (-64..=4160).contains(&p[1]))
}

fn polygon_strategy() -> impl Strategy<Value = (Vec<[f64; 2]>, Vec<Vec<[f64; 2]>>)> {
    (
        (-3000.0..7000.0f64, -3000.0..7000.0f64),
        prop::collection::vec(0.3..4000.0f64, 3..40),
        0.0..6.3f64,
        any::<bool>(),
        prop::collection::vec((0.05..0.45f64, 3usize..12, any::<bool>()), 0..3),
    )
        .prop_map(|((cx, cy), radii, phase, rev, holes)| {
            let c = [cx, cy];
            let min_r = radii.iter().copied().fold(f64::INFINITY, f64::min);
            let ext = star(c, &radii, phase, rev);
            let holes = holes
                .into_iter()
                .map(|(k, n, hrev)| star(c, &vec![min_r * k; n], phase / 2.0, hrev))
                .collect();
            (ext, holes)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn polygons_are_valid_and_oriented((ext, holes) in polygon_strategy()) {
        let mut rings = vec![ext];
        rings.extend(holes);
        let bx = buffered_box(4096, 64);
        if let Some(poly) = prepare_polygon(&rings, &bx) {
            let (ty, geom) = encode_one(&TileGeometry::Polygons(vec![poly.clone()]));
            prop_assert_eq!(ty, 3);
            let parts = common::check_geometry(ty, &geom);
            prop_assert_eq!(parts.len(), poly.len());
            prop_assert!(common::area2(&parts[0]) > 0, "exterior must be positive");
            for h in &parts[1..] {
                prop_assert!(common::area2(h) < 0, "holes must be negative");
            }
            prop_assert!(in_box(&parts));
        }
    }

    #[test]
    fn arbitrary_rings_are_valid_and_oriented(
        pts in prop::collection::vec((-500.0..4600.0f64, -500.0..4600.0f64), 0..30),
        hole in prop::collection::vec((-500.0..4600.0f64, -500.0..4600.0f64), 0..10),
    ) {
        // Self-intersecting, repeated and collinear points are all allowed here.
        let ring: Vec<[f64; 2]> = pts.iter().map(|p| [p.0, p.1]).collect();
        let hole: Vec<[f64; 2]> = hole.iter().map(|p| [p.0, p.1]).collect();
        if let Some(poly) = prepare_polygon(&[ring, hole], &buffered_box(4096, 64)) {
            let (ty, geom) = encode_one(&TileGeometry::Polygons(vec![poly]));
            let parts = common::check_geometry(ty, &geom);
            prop_assert!(common::area2(&parts[0]) > 0);
            for h in &parts[1..] {
                prop_assert!(common::area2(h) < 0);
            }
            prop_assert!(in_box(&parts));
        }
    }

    #[test]
    fn lines_are_valid(
        lines in prop::collection::vec(
            prop::collection::vec((-2000.0..6000.0f64, -2000.0..6000.0f64, 0usize..3), 0..30),
            1..4,
        )
    ) {
        // Each vertex is repeated 0–2 extra times to exercise duplicate removal.
        let lines: Vec<Vec<[f64; 2]>> = lines
            .iter()
            .map(|l| l.iter().flat_map(|(x, y, rep)| std::iter::repeat_n([*x, *y], rep + 1)).collect())
            .collect();
        let prepared = prepare_lines(&lines, &buffered_box(4096, 64));
        if !prepared.is_empty() {
            let (ty, geom) = encode_one(&TileGeometry::Lines(prepared.clone()));
            prop_assert_eq!(ty, 2);
            let parts = common::check_geometry(ty, &geom);
            prop_assert_eq!(parts.len(), prepared.len());
            prop_assert!(in_box(&parts));
        }
    }

    /// The whole pipeline (reprojection, simplification, clipping, snapping,
    /// orientation, encoding) on random polygons with holes in lon/lat.
    #[test]
    fn layer_source_tiles_are_valid(
        polys in prop::collection::vec(polygon_strategy(), 1..6),
        z in 0u8..=14,
    ) {
        // Map the tile-space test polygons to degrees around (-74.2, -13.0).
        let to_ll = |r: &Vec<[f64; 2]>| -> LineString<f64> {
            r.iter().map(|p| (-74.2 + p[0] * 2e-5, -13.0 - p[1] * 2e-5)).collect()
        };
        let mut layer = Layer::new("zones", LayerKind::Boundaries);
        for (i, (ext, holes)) in polys.iter().enumerate() {
            layer.features.push(Feature {
                fid: i as i64 + 1,
                geometry: Geometry::Polygon(Polygon::new(to_ll(ext), holes.iter().map(to_ll).collect())),
                values: vec![Value::Text(format!("z{i}")), Value::Null, Value::Null],
            });
        }
        let source = LayerSource::new(&layer).unwrap();
        let coord = TileCoord::containing(-74.2 + 2000.0 * 2e-5, -13.0 - 2000.0 * 2e-5, z).unwrap();
        let bytes = render(&[&source], coord).unwrap();
        if !bytes.is_empty() {
            let tile = common::decode(&bytes);
            for f in &tile.layers[0].features {
                let parts = common::check_geometry(f.r#type.unwrap(), &f.geometry);
                let id = f.id.unwrap() as usize;
                let (_, holes) = &polys[id - 1];
                // Exterior first and positive; every later ring negative
                // (each source feature is one polygon with its holes).
                prop_assert!(common::area2(&parts[0]) > 0);
                prop_assert!(parts.len() <= 1 + holes.len());
                for h in &parts[1..] {
                    prop_assert!(common::area2(h) < 0);
                }
                prop_assert!(in_box(&parts));
            }
        }
    }
}
