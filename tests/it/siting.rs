//! `POST /api/siting` through `app(state)` with `oneshot`, on the demo region:
//! the same homes and figures as `chaski site`'s pipeline called directly,
//! every caller answered alike (no household data in it), bad members named.

use crate::support::{call, config};
use axum::http::StatusCode;
use chaski_analysis::siting::plan::{CandidateKind, Candidates, Request, plan};
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::{TravelInputs, TravelOptions};
use chaski_core::layer::LayerKind;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_server::state::AppState;
use serde_json::Value;
use std::sync::Arc;

fn store() -> MemoryStore {
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    let store = MemoryStore::new();
    for l in &region.layers {
        if l.kind != LayerKind::Households {
            store.write_layer(l, WriteMode::Replace).unwrap();
        }
    }
    store.write_raster("dem", &region.dem).unwrap();
    store
}

#[tokio::test]
async fn siting_over_http_equals_the_pipeline() {
    let store = store();
    // Expected: the pipeline itself, on the inputs the server prepares.
    let opts = TravelOptions {
        all_villages: true,
        ..TravelOptions::default()
    };
    let inputs = TravelInputs::from_store(&store, &opts, &chaski_io::crs::ProjProjections).unwrap();
    let mut request = Request::covering(2, 60.0);
    request.candidates = Candidates::Kind(CandidateKind::Facilities);
    let expected = plan(&inputs, &Scenario::walking(), &request, None).unwrap();
    let st = AppState::new(Arc::new(store), config()).unwrap();
    let body = r#"{"homes": 2, "minutes": 60, "candidates": "facilities"}"#;
    let r = call(
        &st,
        "POST",
        "/api/siting",
        None,
        Some(("application/json", body.into())),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j: Value = r.json();
    assert!((j["objective"].as_f64().unwrap() - expected.solution.objective).abs() < 1e-6);
    assert_eq!(j["status"], "optimal");
    let codes: Vec<&str> = j["chosen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 2);
    let open: Vec<&str> = j["homes"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(open, codes);
    assert_eq!(
        j["villages"]["features"].as_array().unwrap().len(),
        expected
            .villages
            .iter()
            .filter(|v| v.lonlat.is_some())
            .count()
    );
    // Cached: the same answer again.
    let again = call(
        &st,
        "POST",
        "/api/siting",
        None,
        Some(("application/json", body.into())),
    )
    .await;
    assert_eq!(again.body, r.body);
}

#[tokio::test]
async fn bad_siting_requests_are_named() {
    let st = AppState::new(Arc::new(store()), config()).unwrap();
    for (body, status, expected) in [
        (
            r#"{"model": "tsp"}"#,
            StatusCode::BAD_REQUEST,
            "member 'model'",
        ),
        (r#"{"homez": 2}"#, StatusCode::BAD_REQUEST, "homez"),
        (r#"{"minutes": -3}"#, StatusCode::BAD_REQUEST, "minutes -3"),
        (
            r#"{"time_limit": 900}"#,
            StatusCode::BAD_REQUEST,
            "time_limit",
        ),
        (
            r#"{"existing": ["NOPE"], "candidates": "facilities"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "'NOPE'",
        ),
        ("[1, 2", StatusCode::BAD_REQUEST, "not a siting request"),
    ] {
        let r = call(
            &st,
            "POST",
            "/api/siting",
            None,
            Some(("application/json", body.into())),
        )
        .await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert!(r.text().contains(expected), "{body}: {}", r.text());
    }
}
