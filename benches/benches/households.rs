//! Household writes: what a CHA waits for when uploading a month of visits
//! (40 rows), and the kernel inside it.
//!
//! * `households/plan/N`: the scoped write planner alone
//!   (`chaski_core::household::write::plan_edit`) for 40 rows against N
//!   stored households.
//! * `households/upload/N`: the whole `POST /api/households` request through
//!   the router (`oneshot`) by a CHA token, on a GeoPackage store holding the
//!   demo region and N households: parsing, validation, the scope check,
//!   the store transaction (which reads the household layer), the access log
//!   and the catalog refresh. Each iteration re-uploads the same 40 rows
//!   (updates), as a CHA re-sending an export does.
//!
//! N = 2,600 (the demo region) and 100,000 (the demo's households repeated in
//! 38 more copies of every CHA sector, a large health network).

#![allow(missing_docs, clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_core::auth::{Access, MemoryTokenStore, Role, TokenStore};
use chaski_core::household::places::Places;
use chaski_core::household::write::plan_edit;
use chaski_core::layer::{Feature, Layer};
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value;
use chaski_io::store::gpkg::GpkgStore;
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

fn text(l: &Layer, f: &Feature, name: &str) -> String {
    match l.value(f, name) {
        Value::Text(t) => t.clone(),
        _ => String::new(),
    }
}

/// The demo households repeated `copies` times, each copy in sectors of its own.
fn households(demo: &Layer, copies: usize) -> Layer {
    let mut out = demo.clone();
    let (ci, si) = (
        demo.field_index("code").unwrap(),
        demo.field_index("cha_sector").unwrap(),
    );
    for k in 1..copies {
        for f in &demo.features {
            let mut g = f.clone();
            g.values[ci] = Value::Text(format!("{}-R{k}", text(demo, f, "code")));
            g.values[si] = Value::Text(format!("{}-R{k}", text(demo, f, "cha_sector")));
            out.features.push(g);
        }
    }
    for (i, f) in out.features.iter_mut().enumerate() {
        f.fid = i as i64 + 1;
    }
    out
}

/// 40 rows of one sector (its stored households, re-sent) as a CSV upload.
fn month_of_visits(l: &Layer, sector: &str) -> (String, Layer, Vec<usize>) {
    let mut csv = String::from(
        "code,community,facility,cha_sector,lat,lon,consent,members,pregnant,under5,anaemia\n",
    );
    let mut incoming = Layer {
        features: Vec::new(),
        ..l.clone()
    };
    for f in l
        .features
        .iter()
        .filter(|f| text(l, f, "cha_sector") == sector)
        .take(40)
    {
        let geo::Geometry::Point(p) = f.geometry else {
            continue;
        };
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},si,{},{},{},{}",
            text(l, f, "code"),
            text(l, f, "community"),
            text(l, f, "facility"),
            sector,
            p.y(),
            p.x(),
            l.value(f, "members"),
            l.value(f, "pregnant"),
            l.value(f, "under5"),
            if l.value(f, "anaemia") == &Value::Bool(true) {
                "si"
            } else {
                "no"
            },
        );
        incoming.features.push(f.clone());
    }
    let rows = (2..2 + incoming.features.len()).collect();
    (csv, incoming, rows)
}

fn bench(c: &mut Criterion) {
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    let demo = region.layer("households").unwrap().clone();
    // A sector of 40 households.
    let sector = text(&demo, &demo.features[0], "cha_sector");
    let cha = Access::new(Role::Cha, Some(sector.clone()), false).unwrap();

    let mut g = c.benchmark_group("households");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for copies in [1_usize, 38] {
        let stored = households(&demo, copies);
        let n = stored.len();
        let (csv, incoming, rows) = month_of_visits(&stored, &sector);
        assert_eq!(incoming.len(), 40);
        g.bench_function(format!("plan/{n}"), |b| {
            b.iter(|| black_box(plan_edit(&cha, Some(&stored), &incoming, &rows, &[])));
        });

        // The whole request on a GeoPackage store.
        let dir = tempfile::tempdir().unwrap();
        let store = GpkgStore::open(dir.path().join("b.gpkg")).unwrap();
        for l in &region.layers {
            if l.name != "households" {
                store.write_layer(l, WriteMode::Replace).unwrap();
            }
        }
        store.write_layer(&stored, WriteMode::Replace).unwrap();
        let tokens = Arc::new(MemoryTokenStore::new());
        tokens
            .add_places(&Places::default().missing_from(&stored))
            .unwrap();
        let (_, secret) = tokens.create(&cha, None).unwrap();
        let config = ServerConfig {
            styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
            writes_per_hour: u32::MAX,
            analysis_layers: false,
            ..ServerConfig::default()
        };
        let state = AppState::new(Arc::new(store), config)
            .unwrap()
            .with_tokens(tokens);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let post = || {
            let st = state.clone();
            let body = csv.clone();
            let auth = format!("Bearer {secret}");
            async move {
                let res = app(st)
                    .oneshot(
                        Request::post("/api/households")
                            .header(header::AUTHORIZATION, auth)
                            .header(header::CONTENT_TYPE, "text/csv")
                            .body(Body::from(body))
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                let status = res.status();
                let _ = http_body_util::BodyExt::collect(res.into_body()).await;
                status
            }
        };
        // First upload (codes and places read once), then re-uploads.
        assert_eq!(rt.block_on(post()), StatusCode::OK);
        g.bench_function(format!("upload/{n}"), |b| {
            b.iter(|| assert_eq!(rt.block_on(post()), StatusCode::OK));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
