//! Vector-tile benchmarks on the 1,826 districts of Peru with geometry
//! (../shared/data/peru/admin/distritos.geojson): building the source
//! (reprojection, importances, R-tree), and rendering a fixed sample of tiles,
//! the 3 × 3 block around (-74.0, -13.0) at each zoom z6–z14 (9 tiles each;
//! divide the reported time by 9 for one tile). Skipped when the file is absent.
//!
//! Also 136,587 synthetic villages (the size of the IGN centros poblados layer)
//! in clumps over Peru: building the source (reprojection, R-tree, clusters of
//! every dense tile z0–z13) and rendering the tile holding (-74, -13) at z0–z14.
//!
//! The bench crate has no JSON dependency, so a minimal JSON reader below
//! extracts the `Polygon`/`MultiPolygon` coordinates and the district code and name.

#![allow(missing_docs)]

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use chaski_tiles::geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use chaski_tiles::{LayerSource, TileCoord, TileSource, render};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/peru/admin/distritos.geojson"
);

#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(kv) => kv.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => &[],
        }
    }
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut kv = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Some(Json::Obj(kv));
                    }
                    let Json::Str(k) = self.value()? else {
                        return None;
                    };
                    self.ws();
                    self.i += 1; // ':'
                    let v = self.value()?;
                    kv.push((k, v));
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Some(Json::Arr(a));
                    }
                    a.push(self.value()?);
                    self.ws();
                    if self.s.get(self.i) == Some(&b',') {
                        self.i += 1;
                    }
                }
            }
            b'"' => {
                self.i += 1;
                let start = self.i;
                while *self.s.get(self.i)? != b'"' {
                    self.i += if self.s[self.i] == b'\\' { 2 } else { 1 };
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                Some(Json::Str(text))
            }
            b't' | b'f' => {
                self.i += if self.s[self.i] == b't' { 4 } else { 5 };
                Some(Json::Bool)
            }
            b'n' => {
                self.i += 4;
                Some(Json::Null)
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i])
                    .ok()?
                    .parse()
                    .ok()
                    .map(Json::Num)
            }
        }
    }
}

fn ring(j: &Json) -> LineString<f64> {
    j.arr()
        .iter()
        .filter_map(|c| match c.arr() {
            [Json::Num(x), Json::Num(y), ..] => Some(Coord { x: *x, y: *y }),
            _ => None,
        })
        .collect()
}

fn polygon(j: &Json) -> Option<Polygon<f64>> {
    let (ext, holes) = j.arr().split_first()?;
    Some(Polygon::new(ring(ext), holes.iter().map(ring).collect()))
}

fn load() -> Option<Layer> {
    let bytes = std::fs::read(PATH).ok()?;
    let root = P { s: &bytes, i: 0 }.value()?;
    let mut layer = Layer::new("districts", LayerKind::Boundaries);
    for (i, f) in root.get("features")?.arr().iter().enumerate() {
        let Some(g) = f.get("geometry") else { continue };
        let coords = g.get("coordinates");
        let geometry = match (g.get("type"), coords) {
            (Some(Json::Str(t)), Some(c)) if t == "Polygon" => Geometry::Polygon(polygon(c)?),
            (Some(Json::Str(t)), Some(c)) if t == "MultiPolygon" => {
                Geometry::MultiPolygon(MultiPolygon(c.arr().iter().filter_map(polygon).collect()))
            }
            _ => continue,
        };
        let text = |k: &str| match f.get("properties").and_then(|p| p.get(k)) {
            Some(Json::Str(s)) => Value::Text(s.clone()),
            _ => Value::Null,
        };
        layer.features.push(Feature {
            fid: i as i64 + 1,
            geometry,
            values: vec![
                text("IDDIST"),
                text("NOMBDIST"),
                Value::Text("district".into()),
            ],
        });
    }
    Some(layer)
}

fn tiles(c: &mut Criterion) {
    let Some(layer) = load() else {
        eprintln!("tiles bench skipped: {PATH} not found");
        return;
    };
    let mut g = c.benchmark_group("tiles_districts");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("build_source", |b| {
        b.iter(|| LayerSource::new(black_box(&layer)).map(|s| s.feature_count()));
    });
    let Ok(source) = LayerSource::new(&layer) else {
        return;
    };
    for z in 6..=14u8 {
        let Ok(centre) = TileCoord::containing(-74.0, -13.0, z) else {
            continue;
        };
        let sample: Vec<TileCoord> = (0..9)
            .filter_map(|k| TileCoord::new(z, centre.x() + k % 3 - 1, centre.y() + k / 3 - 1).ok())
            .collect();
        g.throughput(Throughput::Elements(sample.len() as u64));
        g.bench_with_input(BenchmarkId::new("render_3x3", z), &sample, |b, sample| {
            b.iter(|| {
                sample
                    .iter()
                    .map(|t| render(&[&source], *t).map_or(0, |v| v.len()))
                    .sum::<usize>()
            });
        });
    }
    g.finish();
}

/// 136,587 points in 400 clumps over Peru (a fixed linear congruential sequence).
fn villages() -> Layer {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let clumps: Vec<(f64, f64, f64)> = (0..400)
        .map(|i| {
            let spread = if i % 50 == 0 {
                0.01
            } else {
                0.05 + 0.55 * next()
            };
            (-80.5 + 11.5 * next(), -18.0 + 17.0 * next(), spread)
        })
        .collect();
    let mut layer = Layer::new("villages", LayerKind::Communities);
    for i in 0..136_587usize {
        let (cx, cy, s) = clumps[i % clumps.len()];
        let dx = (next() + next() + next() - 1.5) * 2.0 * s;
        let dy = (next() + next() + next() - 1.5) * 2.0 * s;
        layer.features.push(Feature {
            fid: i as i64 + 1,
            geometry: Geometry::Point(chaski_tiles::geo::Point::new(cx + dx, cy + dy)),
            values: vec![
                Value::Text(format!("{:010}", 100_000_000 + i)),
                Value::Text(format!("CENTRO POBLADO {i}")),
                Value::Null,
                Value::Int((i % 900) as i64),
                Value::Null,
                Value::Null,
            ],
        });
    }
    layer
}

fn village_tiles(c: &mut Criterion) {
    let layer = villages();
    let mut g = c.benchmark_group("tiles_villages");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("build_source", |b| {
        b.iter(|| LayerSource::new(black_box(&layer)).map(|s| s.feature_count()));
    });
    let Ok(source) = LayerSource::new(&layer) else {
        return;
    };
    for z in [0u8, 4, 6, 8, 10, 12, 14] {
        let Ok(coord) = TileCoord::containing(-74.0, -13.0, z) else {
            continue;
        };
        g.bench_with_input(BenchmarkId::new("render", z), &coord, |b, coord| {
            b.iter(|| render(&[&source], *coord).map_or(0, |v| v.len()));
        });
    }
    g.finish();
}

criterion_group!(benches, tiles, village_tiles);
criterion_main!(benches);
