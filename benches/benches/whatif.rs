//! What-if edits on the demo region (480 x 440 cells of 30 m, walking, to the
//! facility): `POST /api/whatif` through the router (`oneshot`, base search
//! cached as a server has it after its first request) for a bridge with its
//! access path, a new facility and a closed facility; and, for comparison, the
//! full search of the same inputs plus its tile layers (what a what-if would
//! cost without the incremental update).

#![allow(missing_docs, clippy::unwrap_used, clippy::many_single_char_names)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chaski_analysis::travel::cost::Direction;
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::{TravelInputs, TravelOptions};
use chaski_core::crs::Projection;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_io::crs::ProjProjection;
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use criterion::{Criterion, criterion_group, criterion_main};
use geo::{Geometry, LineString};
use serde_json::{Value, json};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

fn store() -> Arc<MemoryStore> {
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    let store = MemoryStore::new();
    for l in &region.layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    store.write_raster("dem", &region.dem).unwrap();
    Arc::new(store)
}

fn points(store: &MemoryStore, layer: &str) -> Vec<(String, (f64, f64))> {
    let l = store.read_layer(layer).unwrap();
    l.features
        .iter()
        .filter_map(|f| match &f.geometry {
            Geometry::Point(p) => Some((l.value(f, "code").to_string(), (p.x(), p.y()))),
            _ => None,
        })
        .collect()
}

/// A footpath from village DEMO-CP0080 to 40 m short of the nearest river and a
/// bridge from there to 60 m beyond it (the crossing of the e2e test).
fn bridge_edits(store: &MemoryStore) -> Value {
    let p = ProjProjection::new(32718).unwrap();
    let village = points(store, "communities")
        .into_iter()
        .find(|(c, _)| c == "DEMO-CP0080")
        .unwrap()
        .1;
    let v = p.forward_one(village.0, village.1).unwrap();
    let mut best = (v, f64::INFINITY);
    for f in &store.read_layer("rivers").unwrap().features {
        let lines: Vec<&LineString<f64>> = match &f.geometry {
            Geometry::LineString(l) => vec![l],
            Geometry::MultiLineString(m) => m.0.iter().collect(),
            _ => continue,
        };
        for s in lines.iter().flat_map(|l| l.lines()) {
            let a = p.forward_one(s.start.x, s.start.y).unwrap();
            let b = p.forward_one(s.end.x, s.end.y).unwrap();
            let n = ((b.0 - a.0).hypot(b.1 - a.1) / 10.0).ceil().max(1.0) as usize;
            for k in 0..=n {
                let t = k as f64 / n as f64;
                let r = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
                let d = (r.0 - v.0).hypot(r.1 - v.1);
                if d < best.1 {
                    best = (r, d);
                }
            }
        }
    }
    let ((rx, ry), d) = best;
    let (ux, uy) = ((rx - v.0) / d, (ry - v.1) / d);
    let at = |s: f64| {
        let (lon, lat) = p.inverse_one(v.0 + ux * s, v.1 + uy * s).unwrap();
        [lon, lat]
    };
    json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"edit": "path"},
         "geometry": {"type": "LineString", "coordinates": [[village.0, village.1], at(d - 40.0)]}},
        {"type": "Feature", "properties": {"edit": "bridge"},
         "geometry": {"type": "LineString", "coordinates": [at(d - 40.0), at(d + 60.0)]}},
    ]})
}

fn whatif(c: &mut Criterion) {
    let store = store();
    let config = ServerConfig {
        max_grid_cells: 25_000_000,
        ..ServerConfig::default()
    };
    let state = AppState::new(store.clone(), config).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let post = |body: &str| -> Value {
        let req = Request::post("/api/whatif")
            .body(Body::from(body.to_owned()))
            .unwrap();
        rt.block_on(async {
            let res = app(state.clone()).oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::CREATED);
            let bytes = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            serde_json::from_slice(&bytes).unwrap()
        })
    };
    let villages = points(&store, "communities");
    let far = villages[villages.len() / 2].1;
    let facility = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"edit": "facility", "category": "I-3"},
         "geometry": {"type": "Point", "coordinates": [far.0, far.1]}}]})
    .to_string();
    let closed = points(&store, "facilities")[0].0.clone();
    let remove = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"edit": "remove_facility", "code": closed}, "geometry": null}]})
    .to_string();
    let bridge = bridge_edits(&store).to_string();
    // First request: prepares and caches the base search.
    for (name, body) in [
        ("bridge", &bridge),
        ("facility", &facility),
        ("remove", &remove),
    ] {
        let j = post(body);
        eprintln!(
            "{name}: recompute {} ({} cells), search {:.1} ms, what-if {:.1} ms, request {:.1} ms, {} villages changed",
            j["recompute"],
            j["changed_cells"],
            j["search_ms"].as_f64().unwrap(),
            j["elapsed_ms"].as_f64().unwrap(),
            j["total_ms"].as_f64().unwrap(),
            j["villages_changed"].as_array().unwrap().len()
        );
    }
    let mut group = c.benchmark_group("whatif");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("post_bridge", |b| b.iter(|| black_box(post(&bridge))));
    group.bench_function("post_facility", |b| {
        b.iter(|| black_box(post(&facility)));
    });
    group.bench_function("post_remove_facility", |b| {
        b.iter(|| black_box(post(&remove)));
    });
    let opts = TravelOptions {
        all_villages: true,
        max_cells: Some(25_000_000),
        ..TravelOptions::default()
    };
    let inputs =
        TravelInputs::from_store(store.as_ref(), &opts, &chaski_io::crs::ProjProjections).unwrap();
    group.bench_function("full_search", |b| {
        b.iter(|| {
            black_box(
                inputs
                    .run(&Scenario::walking(), Direction::ToSource, None)
                    .unwrap(),
            )
        });
    });
    let result = inputs
        .run(&Scenario::walking(), Direction::ToSource, None)
        .unwrap();
    group.bench_function("tile_layers", |b| {
        b.iter(|| black_box(chaski_server::analysis_layers::layers_of(&result)));
    });
    group.finish();
}

criterion_group!(benches, whatif);
criterion_main!(benches);
