//! The two Mapbox Vector Tile encoders side by side on the same prepared layers:
//! chaski-tiles' own protobuf writer (`chaski_tiles::mvt`) and the `mvt` crate
//! (`Tile`, `Layer`, `GeomEncoder`), both fed the features chaski's pipeline
//! produced (clipped, snapped, rings oriented) for the 136,587 villages of
//! ../shared/data/peru (villages/ccpp_ign100k.gpkg):
//!
//! - `z8_village`: the z8 tile 8/75/137 of the load test (benches/load/tiles.sh);
//! - `rotating`: the 1,395 tiles of the load test's rotating set (every tile of
//!   lon −74.5..−73.3, lat −13.3..−12.3 at z8–z13, then the first ones at z14).
//!
//! Before timing, the same comparison (untimed) runs on the districts of Peru
//! (admin/distritos.geojson, z0–z8) and on every public layer of the demo
//! region (z0–z14), for lines and polygons.
//!
//! Each case also times the whole render with chaski's writer (`render`: tile
//! query, clustering, clipping and encoding). The prepared layers are read back
//! from chaski's tiles; before timing, the bench checks that re-encoding them
//! with chaski's writer gives the same tiles, and counts the tiles and features
//! the `mvt` crate encodes differently (decoded: ids, properties in order,
//! geometry command integers). Skipped when the data is absent.
//!
//! Run with `cargo bench -p chaski-benches --bench encoders`.

#![allow(missing_docs, clippy::unwrap_used)]

use chaski_core::layer::LayerKind;
use chaski_io::import::{ImportOptions, Imported, import_file};
use chaski_tiles::mvt::{EXTENT, PropValue, TileGeometry, TileLayer, encode_tile};
use chaski_tiles::{LayerSource, TileCoord, TileSource, render};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

/// vector_tile.proto 2.1, for reading chaski's tiles back.
use chaski_testing::mvt_proto as pb;

/// One prepared feature, as the tile pipeline hands it to an encoder.
struct Prepared {
    id: Option<u64>,
    geometry: TileGeometry,
    props: Vec<(String, PropValue)>,
}

/// One prepared layer.
struct PreparedLayer {
    name: String,
    features: Vec<Prepared>,
}

fn unzig(v: u32) -> i32 {
    (v >> 1) as i32 ^ -((v & 1) as i32)
}

/// The parts of a geometry command stream (points: one part; lines: one per
/// line; polygons: one per ring, open).
fn parts(geom: &[u32]) -> Vec<Vec<[i32; 2]>> {
    let (mut out, mut part) = (Vec::new(), Vec::new());
    let (mut i, mut cursor) = (0, [0i32, 0i32]);
    while i < geom.len() {
        let (id, count) = (geom[i] & 7, geom[i] >> 3);
        i += 1;
        if id == 7 {
            out.push(std::mem::take(&mut part));
            continue;
        }
        if id == 1 && !part.is_empty() {
            out.push(std::mem::take(&mut part));
        }
        for _ in 0..count {
            cursor = [cursor[0] + unzig(geom[i]), cursor[1] + unzig(geom[i + 1])];
            i += 2;
            part.push(cursor);
        }
    }
    if !part.is_empty() {
        out.push(part);
    }
    out
}

fn area2(ring: &[[i32; 2]]) -> i64 {
    (0..ring.len())
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % ring.len()]);
            i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1])
        })
        .sum()
}

fn geometry(ty: i32, geom: &[u32]) -> TileGeometry {
    let parts = parts(geom);
    match ty {
        1 => TileGeometry::Points(parts.concat()),
        2 => TileGeometry::Lines(parts),
        _ => {
            let mut polys: Vec<Vec<Vec<[i32; 2]>>> = Vec::new();
            for ring in parts {
                if area2(&ring) > 0 || polys.is_empty() {
                    polys.push(vec![ring]);
                } else if let Some(p) = polys.last_mut() {
                    p.push(ring);
                }
            }
            TileGeometry::Polygons(polys)
        }
    }
}

fn prop_value(v: &pb::PValue) -> PropValue {
    if let Some(s) = &v.string_value {
        PropValue::Text(s.as_str().into())
    } else if let Some(d) = v.double_value {
        PropValue::Double(d)
    } else if let Some(u) = v.uint_value {
        PropValue::Uint(u)
    } else if let Some(s) = v.sint_value {
        PropValue::Sint(s)
    } else if let Some(b) = v.bool_value {
        PropValue::Bool(b)
    } else {
        panic!("chaski writes no other value type: {v:?}")
    }
}

/// The prepared layers of a tile written by chaski's encoder.
fn prepare(bytes: &[u8]) -> Vec<PreparedLayer> {
    let tile = pb::decode(bytes);
    tile.layers
        .iter()
        .map(|l| PreparedLayer {
            name: l.name.clone(),
            features: l
                .features
                .iter()
                .map(|f| Prepared {
                    id: f.id,
                    geometry: geometry(f.r#type.unwrap(), &f.geometry),
                    props: f
                        .tags
                        .chunks(2)
                        .map(|kv| {
                            let key = l.keys[kv[0] as usize].clone();
                            (key, prop_value(&l.values[kv[1] as usize]))
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// chaski's own writer.
fn encode_chaski(layers: &[PreparedLayer]) -> Vec<u8> {
    let mut props: Vec<(&str, PropValue)> = Vec::new();
    let tile_layers: Vec<TileLayer> = layers
        .iter()
        .map(|l| {
            let mut layer = TileLayer::new(l.name.clone());
            for f in &l.features {
                props.clear();
                props.extend(f.props.iter().map(|(k, v)| (k.as_str(), v.clone())));
                layer.add_feature(f.id, &f.geometry, &props);
            }
            layer
        })
        .collect();
    encode_tile(&tile_layers)
}

/// The `mvt` crate: one `GeomEncoder` a feature, tags by value type.
fn encode_mvt(layers: &[PreparedLayer]) -> Result<Vec<u8>, mvt::Error> {
    let mut props: Vec<(&str, PropValue)> = Vec::new();
    let mut tile = mvt::Tile::new(EXTENT);
    for l in layers.iter().filter(|l| !l.features.is_empty()) {
        let mut layer = tile.create_layer(&l.name);
        for f in &l.features {
            props.clear();
            props.extend(f.props.iter().map(|(k, v)| (k.as_str(), v.clone())));
            let mut feature = layer.into_feature(mvt_geometry(&f.geometry)?);
            if let Some(id) = f.id {
                feature.set_id(id);
            }
            for (k, v) in &props {
                match v {
                    PropValue::Text(s) => feature.add_tag_string(k, s),
                    PropValue::Double(d) => feature.add_tag_double(k, *d),
                    PropValue::Uint(u) => feature.add_tag_uint(k, *u),
                    PropValue::Sint(s) => feature.add_tag_sint(k, *s),
                    PropValue::Bool(b) => feature.add_tag_bool(k, *b),
                }
            }
            layer = feature.into_layer();
        }
        tile.add_layer(layer)?;
    }
    tile.to_bytes()
}

fn mvt_geometry(g: &TileGeometry) -> Result<mvt::GeomData, mvt::Error> {
    use mvt::{GeomEncoder, GeomType};
    fn path(enc: &mut GeomEncoder<i32>, pts: &[[i32; 2]]) -> Result<(), mvt::Error> {
        for p in pts {
            enc.add_point(p[0], p[1])?;
        }
        enc.complete_geom()
    }
    match g {
        TileGeometry::Points(pts) => {
            let mut enc = GeomEncoder::new(GeomType::Point);
            for p in pts {
                enc.add_point(p[0], p[1])?;
            }
            enc.encode()
        }
        TileGeometry::Lines(lines) => {
            let mut enc = GeomEncoder::new(GeomType::Linestring);
            for line in lines {
                path(&mut enc, line)?;
            }
            enc.encode()
        }
        TileGeometry::Polygons(polys) => {
            let mut enc = GeomEncoder::new(GeomType::Polygon);
            for ring in polys.iter().flatten() {
                path(&mut enc, ring)?;
            }
            enc.encode()
        }
    }
}

/// A decoded tile for comparison: per layer (name, version, extent) and per
/// feature (id, type, properties resolved in order, geometry integers).
type Decoded = Vec<(
    (String, u32, Option<u32>),
    Vec<(Option<u64>, Option<i32>, Vec<(String, String)>, Vec<u32>)>,
)>;

fn decoded(bytes: &[u8]) -> Decoded {
    let tile = pb::decode(bytes);
    tile.layers
        .into_iter()
        .map(|l| {
            let feats = l
                .features
                .iter()
                .map(|f| {
                    let props = f
                        .tags
                        .chunks(2)
                        .map(|kv| {
                            let v = &l.values[kv[1] as usize];
                            (l.keys[kv[0] as usize].clone(), format!("{v:?}"))
                        })
                        .collect();
                    (f.id, f.r#type, props, f.geometry.clone())
                })
                .collect();
            ((l.name.clone(), l.version, l.extent), feats)
        })
        .collect()
}

/// Check the round trip and report how the `mvt` crate's tiles differ.
fn compare(label: &str, tiles: &[(TileCoord, Vec<u8>, Vec<PreparedLayer>)]) {
    let (mut tiles_diff, mut feats_diff, mut feats, mut errors) = (0, 0, 0, 0);
    let mut example = None;
    for (coord, original, prepared) in tiles {
        assert_eq!(
            decoded(&encode_chaski(prepared)),
            decoded(original),
            "re-encoding the prepared layers of {coord:?} changed the tile"
        );
        let want = decoded(original);
        feats += want.iter().map(|l| l.1.len()).sum::<usize>();
        match encode_mvt(prepared) {
            Err(e) => {
                errors += 1;
                example.get_or_insert(format!("{coord:?}: {e}"));
            }
            Ok(bytes) => {
                let got = decoded(&bytes);
                if got != want {
                    tiles_diff += 1;
                    for (a, b) in got.iter().zip(&want) {
                        for (fa, fb) in a.1.iter().zip(&b.1) {
                            if fa != fb {
                                feats_diff += 1;
                                example.get_or_insert_with(|| {
                                    format!(
                                        "{coord:?} feature {:?}: mvt {:?} chaski {:?}",
                                        fb.0, fa.3, fb.3
                                    )
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "{label}: {} tiles, {feats} features; the mvt crate's tiles differ in {tiles_diff} tiles \
         ({feats_diff} features), fail in {errors}{}",
        tiles.len(),
        example.map_or(String::new(), |e| format!("; e.g. {e}"))
    );
}

/// Tile of (lon, lat) at zoom z, as the load test computes it.
fn slippy(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n;
    (x as u32, y as u32)
}

/// The rotating set of benches/load/tiles.sh.
fn rotating_set() -> Vec<TileCoord> {
    let mut out = Vec::new();
    for z in 8..=14u8 {
        let (x0, y0) = slippy(-74.5, -12.3, z);
        let (x1, y1) = slippy(-73.3, -13.3, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                out.push(TileCoord::new(z, x, y).unwrap());
            }
        }
    }
    out.truncate(1_395);
    out
}

/// Every tile at z0–`zmax` over `bounds` (west, south, east, north).
fn covering(bounds: [f64; 4], zmax: u8) -> Vec<TileCoord> {
    let mut out = Vec::new();
    for z in 0..=zmax {
        let (x0, y0) = slippy(bounds[0], bounds[3], z);
        let (x1, y1) = slippy(bounds[2], bounds[1], z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                out.push(TileCoord::new(z, x, y).unwrap());
            }
        }
    }
    out
}

/// Comparison only (not timed) on lines and polygons: the districts of Peru
/// (z0–z8) and every public layer of the demo region (z0–z14).
fn compare_shapes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/peru/admin/distritos.geojson");
    if path.exists() {
        let mut opts = ImportOptions::new("districts");
        opts.kind = Some(LayerKind::Boundaries);
        let Ok(Imported::Layer(districts, _)) = import_file(&path, &opts) else {
            panic!("cannot read {}", path.display());
        };
        let source = LayerSource::new(&districts).unwrap();
        let tiles: Vec<_> = covering(source.bounds().unwrap(), 8)
            .into_iter()
            .map(|t| {
                let bytes = render(&[&source], t).unwrap();
                let layers = prepare(&bytes);
                (t, bytes, layers)
            })
            .collect();
        compare("districts z0-z8", &tiles);
    }
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    let sources: Vec<LayerSource> = region
        .layers
        .iter()
        .filter(|l| !l.kind.is_private())
        .map(|l| LayerSource::new(l).unwrap())
        .collect();
    let refs: Vec<&dyn TileSource> = sources.iter().map(|s| s as &dyn TileSource).collect();
    let tiles: Vec<_> = covering([-74.23, -13.09, -73.97, -12.85], 14)
        .into_iter()
        .map(|t| {
            let bytes = render(&refs, t).unwrap();
            let layers = prepare(&bytes);
            (t, bytes, layers)
        })
        .collect();
    compare("demo region z0-z14", &tiles);
}

fn encoders(c: &mut Criterion) {
    compare_shapes();
    let Some(villages) = chaski_benches::peru_layer(
        "villages/ccpp_ign100k.gpkg",
        "communities",
        LayerKind::Communities,
    ) else {
        return;
    };
    let source = LayerSource::new(&villages).unwrap();
    let prepared = |coords: &[TileCoord]| -> Vec<(TileCoord, Vec<u8>, Vec<PreparedLayer>)> {
        coords
            .iter()
            .map(|t| {
                let bytes = render(&[&source], *t).unwrap();
                let layers = prepare(&bytes);
                (*t, bytes, layers)
            })
            .collect()
    };
    let cases = [
        ("z8_village", vec![TileCoord::new(8, 75, 137).unwrap()]),
        ("rotating", rotating_set()),
    ];
    for (name, coords) in cases {
        let tiles = prepared(&coords);
        compare(name, &tiles);
        let layers: Vec<&[PreparedLayer]> = tiles.iter().map(|t| t.2.as_slice()).collect();
        let mut g = c.benchmark_group(format!("encoders_{name}"));
        g.sample_size(20).measurement_time(Duration::from_secs(8));
        g.throughput(Throughput::Elements(coords.len() as u64));
        g.bench_function("chaski", |b| {
            b.iter(|| {
                layers
                    .iter()
                    .map(|l| encode_chaski(black_box(l)).len())
                    .sum::<usize>()
            });
        });
        g.bench_function("mvt", |b| {
            b.iter(|| {
                layers
                    .iter()
                    .map(|l| encode_mvt(black_box(l)).map_or(0, |v| v.len()))
                    .sum::<usize>()
            });
        });
        g.bench_function("render_chaski", |b| {
            b.iter(|| {
                coords
                    .iter()
                    .map(|t| render(&[&source], black_box(*t)).map_or(0, |v| v.len()))
                    .sum::<usize>()
            });
        });
        g.finish();
    }
}

criterion_group!(benches, encoders);
criterion_main!(benches);
