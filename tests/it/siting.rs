//! `POST /api/siting` through `app(state)` with `oneshot`, on the demo region:
//! the same homes and figures as `chaski site`'s pipeline called directly,
//! every caller answered alike (no household data in it), bad members named;
//! with demand from households, each caller counts only what its rights allow
//! (tried as an attacker: no token, a bad token, another sector's CHA, an
//! analyst moving a small count).

use crate::support::{bearer, call, config, demo_region_store, number_by_code};
use axum::http::StatusCode;
use chaski_analysis::siting::plan::{CandidateKind, Candidates, Request, plan};
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::{TravelInputs, TravelOptions};
use chaski_core::auth::{Access, MemoryTokenStore, Role, TokenStore};
use chaski_core::layer::Layer;
use chaski_core::layer::LayerKind;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as Field;
use chaski_server::state::AppState;
use serde_json::Value;
use std::collections::BTreeMap;
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
    // Another number of homes and another model on the same candidates and
    // limit: solved on the matrix already searched; a new threshold searches.
    for (body, matrices) in [
        (
            r#"{"homes": 1, "minutes": 60, "candidates": "facilities"}"#,
            1,
        ),
        (
            r#"{"model": "set_covering", "minutes": 60, "candidates": "facilities"}"#,
            1,
        ),
        (
            r#"{"homes": 1, "minutes": 45, "candidates": "facilities"}"#,
            2,
        ),
    ] {
        let r = call(
            &st,
            "POST",
            "/api/siting",
            None,
            Some(("application/json", body.into())),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text());
        assert_eq!(st.access.cached_siting_matrices().await, matrices, "{body}");
    }
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

/// Pregnant women per community, counted from the layer by hand, over the
/// households `keep` admits.
fn pregnant_by_village(h: &Layer, keep: impl Fn(&str) -> bool) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for f in &h.features {
        let text = |name: &str| {
            h.value(f, name)
                .as_str()
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        if !keep(&text("cha_sector")) {
            continue;
        }
        let n = h.value(f, "pregnant").as_i64().unwrap_or(0).max(0) as u64;
        *out.entry(text("community")).or_default() += n;
    }
    out
}

/// Demand per village code of an answer.
fn demand_of(j: &Value) -> BTreeMap<String, f64> {
    number_by_code(&j["villages"], "demand")
        .into_iter()
        .map(|(code, d)| (code, d.unwrap()))
        .collect()
}

#[tokio::test]
// Shown demand is exact: 0, 2.5 or a multiple of 5.
#[allow(clippy::float_cmp)]
async fn household_demand_follows_the_callers_rights() {
    let store = Arc::new(demo_region_store());
    let households = store.read_layer("households").unwrap();
    let tokens = Arc::new(MemoryTokenStore::new());
    let mk = |role, scope: Option<&str>| {
        tokens
            .create(
                &Access::new(role, scope.map(str::to_owned), false).unwrap(),
                None,
            )
            .unwrap()
    };
    let sector = households.value(&households.features[0], "cha_sector");
    let sector = sector.as_str().unwrap().trim().to_owned();
    let (admin, analyst, cha) = (
        mk(Role::Admin, None),
        mk(Role::Analyst, None),
        mk(Role::Cha, Some(&sector)),
    );
    let st = AppState::new(store.clone() as Arc<dyn Store>, config())
        .unwrap()
        .with_tokens(tokens.clone());
    let body = r#"{"homes": 2, "minutes": 90, "candidates": "facilities", "demand_households": "pregnant", "heuristic": true}"#;
    let post = |auth: Option<String>, body: &'static str| {
        let st = st.clone();
        async move {
            call(
                &st,
                "POST",
                "/api/siting",
                auth.as_deref(),
                Some(("application/json", body.into())),
            )
            .await
        }
    };

    // No token, a malformed and an unknown token: 401, nothing computed, audited.
    for auth in [None, Some("Basic x".to_owned()), Some(bearer("chk_nope"))] {
        let r = post(auth.clone(), body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}: {}", r.text());
        assert!(r.json()["error"].as_str().is_some(), "{auth:?}");
    }
    let refused = tokens.access_log().unwrap();
    assert_eq!(
        refused
            .iter()
            .filter(|e| e.what == "POST /api/siting" && e.status == 401)
            .count(),
        3
    );
    // The same body without household demand stays open to everyone.
    let open = post(
        None,
        r#"{"homes": 2, "minutes": 90, "candidates": "facilities"}"#,
    )
    .await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text());

    let villages: Vec<String> = demand_of(&open.json()).into_keys().collect();
    let exact_all = pregnant_by_village(&households, |_| true);
    let exact_cha = pregnant_by_village(&households, |s| s == sector);
    let expected = |counts: &BTreeMap<String, u64>| -> BTreeMap<String, f64> {
        villages
            .iter()
            .map(|v| (v.clone(), counts.get(v).copied().unwrap_or(0) as f64))
            .collect()
    };

    // Admin: every household, exactly; private answer, logged with the token id.
    let r = post(Some(bearer(&admin.1)), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["cache-control"], "private, no-store");
    let j = r.json();
    assert_eq!(j["demand"]["source"], "households");
    assert_eq!(j["demand"]["protected"], false);
    assert_eq!(demand_of(&j), expected(&exact_all));
    assert!(
        tokens
            .access_log()
            .unwrap()
            .iter()
            .any(|e| e.what == "POST /api/siting"
                && e.status == 200
                && e.who.as_deref() == Some(admin.0.id.as_str()))
    );

    // A CHA: only its own sector's households; the others' pregnant women are
    // not in its answer (another scope's villages weigh 0).
    let r = post(Some(bearer(&cha.1)), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mine = demand_of(&r.json());
    assert_eq!(mine, expected(&exact_cha));
    assert!(
        exact_all
            .iter()
            .any(|(v, n)| *n > 0 && mine.get(v) == Some(&0.0))
    );

    // An analyst: the published table only. Every village is 0, the weight of a
    // suppressed cell, or a multiple of 5 within 2 of its count.
    let r = post(Some(bearer(&analyst.1)), body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["demand"]["protected"], true);
    let shown = demand_of(&j);
    let small: Vec<&String> = villages
        .iter()
        .filter(|v| (1..5).contains(&exact_all.get(*v).copied().unwrap_or(0)))
        .collect();
    for (v, d) in &shown {
        let n = exact_all.get(v).copied().unwrap_or(0) as f64;
        assert!(
            *d == 0.0 && n == 0.0 || *d == 2.5 || (d % 5.0 == 0.0 && (d - n).abs() <= 2.0),
            "{v}: {n} shown as {d}"
        );
    }
    for v in &small {
        assert_eq!(shown[*v], 2.5, "{v} holds 1 to 4 pregnant women");
    }
    // The attack: move one small village from 1..4 to another count of 1..4 (a
    // new pregnancy in a tiny village). With ≥ 2 primary cells holding ≥ k + 4
    // women, the published table, and so the whole answer, is unchanged.
    let k = small.len() as u64;
    let h: u64 = small.iter().map(|v| exact_all[*v]).sum();
    assert!(
        k >= 2 && h >= k + 4,
        "the demo has small villages: k {k}, H {h}"
    );
    let target = small[0].clone();
    let before = exact_all[&target];
    let mut moved = households.clone();
    let pregnant = moved.field_index("pregnant").unwrap();
    let f = moved
        .features
        .iter_mut()
        .find(|f| {
            households.value(f, "community").as_str().map(str::trim) == Some(target.as_str())
                && (before > 1 || households.value(f, "pregnant").as_i64() == Some(0))
        })
        .unwrap();
    let old = f.values[pregnant].as_i64().unwrap_or(0);
    let new = if before > 1 { old - 1 } else { old + 1 };
    f.values[pregnant] = Field::Int(new);
    store.write_layer(&moved, WriteMode::Replace).unwrap();
    let again = post(Some(bearer(&analyst.1)), body).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.body,
        r.body,
        "{target}: {before} → {} changed the answer",
        (before as i64) - old + new
    );
    // ... while the admin sees the change.
    let admin_again = demand_of(&post(Some(bearer(&admin.1)), body).await.json());
    assert_ne!(admin_again[&target], before as f64);
}

#[tokio::test]
async fn candidate_points_are_sited_like_the_stores_facilities() {
    let store = store();
    let facilities = store.read_layer("facilities").unwrap();
    let st = AppState::new(Arc::new(store), config()).unwrap();
    let post = |body: String| {
        let st = st.clone();
        async move {
            call(
                &st,
                "POST",
                "/api/siting",
                None,
                Some(("application/json", body)),
            )
            .await
        }
    };
    // Every facility of the store as a point of the caller: the same answer.
    let points: Vec<Value> = facilities
        .features
        .iter()
        .map(|f| {
            let geo::Geometry::Point(p) = &f.geometry else {
                panic!("a facility is a point")
            };
            serde_json::json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [p.x(), p.y()]},
                "properties": {
                    "code": facilities.value(f, "code").as_str().unwrap(),
                    "name": facilities.value(f, "name").as_str().unwrap(),
                },
            })
        })
        .collect();
    let fc = serde_json::json!({"type": "FeatureCollection", "features": points});
    let a = post(r#"{"homes": 2, "minutes": 60, "candidates": "facilities"}"#.into()).await;
    let b =
        post(serde_json::json!({"homes": 2, "minutes": 60, "candidate_points": fc}).to_string())
            .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(b.status, StatusCode::OK, "{}", b.text());
    assert_eq!(a.json()["chosen"], b.json()["chosen"]);
    assert_eq!(a.json()["objective"], b.json()["objective"]);

    let one = |props: Value, coords: Value| {
        serde_json::json!({"candidate_points": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": coords}, "properties": props}]}})
        .to_string()
    };
    for (body, status, expected) in [
        (one(serde_json::json!({}), serde_json::json!([-74.1, -12.95])), StatusCode::BAD_REQUEST, "feature 0: properties.code missing"),
        (one(serde_json::json!({"code": "X"}), serde_json::json!([-274.1, -12.95])), StatusCode::BAD_REQUEST, "is not a longitude and latitude"),
        (r#"{"candidate_points": [1, 2]}"#.to_owned(), StatusCode::BAD_REQUEST, "not a GeoJSON FeatureCollection"),
        (r#"{"candidates": "villages", "candidate_points": {"type": "FeatureCollection", "features": []}}"#.to_owned(), StatusCode::BAD_REQUEST, "give one of them"),
        (r#"{"candidate_points": {"type": "FeatureCollection", "features": []}}"#.to_owned(), StatusCode::UNPROCESSABLE_ENTITY, "no point given"),
    ] {
        let r = post(body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert!(r.text().contains(expected), "{body}: {}", r.text());
    }
}
