//! Monitoring endpoints through `app(state)`, tried by every role and as an
//! attacker: `/api/indicators`, `/api/did`, `/api/visits/due`. Expectations
//! are counted by hand from the generated records below.

use crate::support::{bearer, config, get};
use axum::http::{StatusCode, header};
use chaski_core::auth::{Access, MemoryTokenStore, Role, TokenStore};
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::{Field, FieldType, Value};
use chaski_server::state::AppState;
use std::sync::Arc;

/// Households: sector S1 (community C1, facility F1): 8 alto households,
/// 5 never visited, 3 visited 2026-01-05; sector S2 (C1, F1): 2 medio
/// visited 2026-02-01; sector S3 (C2, F2): 7 medio visited 2026-02-01.
/// Round 1 everywhere; safe water in 3 of S1's 8, none in S2, 5 of S3's 7.
fn store() -> MemoryStore {
    let mut h = Layer::new("households", LayerKind::Households);
    let n = h.fields.len();
    let mut k = 0;
    let mut push = |sector: &str,
                    community: &str,
                    facility: &str,
                    date: &str,
                    f: (&str, Value),
                    water: bool| {
        k += 1;
        let mut v = vec![Value::Null; n];
        let mut set = |name: &str, x: Value| v[h.field_index(name).unwrap()] = x;
        set("code", format!("H{k:02}").into());
        set("cha_sector", sector.into());
        set("community", community.into());
        set("facility", facility.into());
        set("visit_round", Value::Int(1));
        set("safe_water", water.into());
        if !date.is_empty() {
            set("visit_date", date.into());
        }
        set(f.0, f.1);
        h.features.push(Feature {
            fid: k,
            geometry: geo::Point::new(-74.0, -13.0).into(),
            values: v,
        });
    };
    for i in 0..8 {
        push(
            "S1",
            "C1",
            "F1",
            if i < 5 { "" } else { "2026-01-05" },
            ("danger_signs", true.into()),
            i < 3,
        );
    }
    for _ in 0..2 {
        push(
            "S2",
            "C1",
            "F1",
            "2026-02-01",
            ("pregnant", Value::Int(1)),
            false,
        );
    }
    for i in 0..7 {
        push(
            "S3",
            "C2",
            "F2",
            "2026-02-01",
            ("under2", Value::Int(1)),
            i < 5,
        );
    }
    let mut c = Layer::new("communities", LayerKind::Communities);
    c.fields.push(Field::new("group", FieldType::Text));
    let cn = c.fields.len();
    for (i, code) in ["C1", "C2"].iter().enumerate() {
        let mut v = vec![Value::Null; cn];
        v[c.field_index("code").unwrap()] = (*code).into();
        v[c.field_index("ubigeo").unwrap()] = "D1".into();
        c.features.push(Feature {
            fid: i as i64 + 1,
            geometry: geo::Point::new(-74.0, -13.0).into(),
            values: v,
        });
    }
    let store = MemoryStore::new();
    store.write_layer(&h, WriteMode::Replace).unwrap();
    store.write_layer(&c, WriteMode::Replace).unwrap();
    store
}

struct Setup {
    state: AppState,
    tokens: Arc<MemoryTokenStore>,
    admin: String,
    analyst: String,
    cha1: String,
    cha2: String,
    fac1: String,
    revoked: String,
}

fn setup() -> Setup {
    let tokens = Arc::new(MemoryTokenStore::new());
    let mk = |role, scope: Option<&str>| {
        tokens
            .create(
                &Access::new(role, scope.map(str::to_owned), false).unwrap(),
                None,
            )
            .unwrap()
    };
    let (rt, revoked) = mk(Role::Admin, None);
    tokens.revoke(&rt.id).unwrap();
    Setup {
        admin: mk(Role::Admin, None).1,
        analyst: mk(Role::Analyst, None).1,
        cha1: mk(Role::Cha, Some("S1")).1,
        cha2: mk(Role::Cha, Some("S2")).1,
        fac1: mk(Role::Facility, Some("F1")).1,
        revoked,
        state: AppState::new(Arc::new(store()), config())
            .unwrap()
            .with_tokens(tokens.clone()),
        tokens,
    }
}

const DUE: &str = "/api/visits/due?every=30&as_of=2026-04-15";

#[tokio::test]
async fn visits_due_per_role() {
    let s = setup();
    // No token, a wrong token, a revoked token: 401, nothing of the list.
    for auth in [
        None,
        Some(bearer("chk_not_a_token")),
        Some(bearer(&s.revoked)),
        Some("Basic abc".to_owned()),
    ] {
        let r = get(&s.state, DUE, auth.as_deref()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert!(!r.text().contains("H0"), "{}", r.text());
        assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
    }
    // CHA of S1: its 8 households (5 never visited first), codes only.
    let r = get(&s.state, DUE, Some(&bearer(&s.cha1))).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let list = v["households"].as_array().unwrap();
    assert_eq!(list.len(), 8);
    assert!(list.iter().all(|h| h["cha_sector"] == "S1"));
    assert!(list[..5].iter().all(|h| h["last_visit"].is_null()));
    assert_eq!(list[7]["days_since"], 100);
    let keys: Vec<&String> = list[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "cha_sector",
            "code",
            "community",
            "days_since",
            "last_visit",
            "risk_level"
        ]
    );
    // CHA of S2: only its 2, none of S1's codes.
    let v = get(&s.state, DUE, Some(&bearer(&s.cha2))).await.json();
    let codes: Vec<&str> = v["households"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["H09", "H10"]);
    // Facility F1: counts per CHA of its own sectors, S2's 2 suppressed and S1 with it.
    let v = get(&s.state, DUE, Some(&bearer(&s.fac1))).await.json();
    assert!(v.get("households").is_none());
    assert_eq!(
        v["sectors"],
        serde_json::json!([{"cha_sector": "S1", "due": null}, {"cha_sector": "S2", "due": null}])
    );
    // Analyst: every sector's count, protected: S2's 2 suppressed, then the
    // smallest other (S3's 7) with it; S1's 8 shown rounded to 10.
    let v = get(&s.state, DUE, Some(&bearer(&s.analyst))).await.json();
    assert!(!v.to_string().contains("H0"));
    assert_eq!(
        v["sectors"],
        serde_json::json!([
            {"cha_sector": "S1", "due": 10},
            {"cha_sector": "S2", "due": null},
            {"cha_sector": "S3", "due": null}
        ])
    );
    // Admin: every list.
    let v = get(&s.state, DUE, Some(&bearer(&s.admin))).await.json();
    assert_eq!(v["count"], 17);
    // Every answer is in the access log, with the number of codes released.
    let log = s.tokens.access_log().unwrap();
    let served: Vec<u64> = log
        .iter()
        .filter(|e| e.what == "/api/visits/due" && e.status == 200)
        .map(|e| e.count)
        .collect();
    assert_eq!(served, [8, 2, 0, 0, 17]);
    assert_eq!(
        log.iter()
            .filter(|e| e.what.contains("/api/visits/due") && e.status == 401)
            .count(),
        4
    );
    // Bad parameters name the problem.
    let r = get(
        &s.state,
        "/api/visits/due?every=zero",
        Some(&bearer(&s.cha1)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"].as_str().unwrap().contains("every"));
    let r = get(
        &s.state,
        "/api/visits/due?as_of=15/04/2026",
        Some(&bearer(&s.cha1)),
    )
    .await;
    assert!(r.json()["error"].as_str().unwrap().contains("as_of"));
}

#[tokio::test]
async fn indicators_per_role() {
    let s = setup();
    let uri = "/api/indicators?indicators=safe_water";
    // The public: C1 (10 households: 3 with safe water and 7 without) and C2
    // (7: 5 and 2). C2's 2 households without safe water are under 5, so C2
    // is hidden, and C1 with it (the total would give C2).
    let public = get(&s.state, uri, None).await;
    assert_eq!(public.status, StatusCode::OK);
    let v = public.json();
    assert_eq!(v["protected"], true);
    assert!(
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["suppressed"] == true && r["numerator"].is_null())
    );
    // A wrong token, a revoked one and the analyst get exactly the public answer.
    for auth in [bearer("chk_wrong"), bearer(&s.revoked), bearer(&s.analyst)] {
        let r = get(&s.state, uri, Some(&auth)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, public.body);
    }
    // Aggregates are not by sector or facility.
    for auth in [None, Some(bearer(&s.analyst))] {
        let r = get(&s.state, "/api/indicators?by=sector", auth.as_deref()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.json()["error"].as_str().unwrap().contains("by: 'sector'"));
    }
    // A CHA: exact figures of its own sector, private, logged.
    let r = get(
        &s.state,
        &format!("{uri}&by=sector"),
        Some(&bearer(&s.cha1)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
    let rows = r.json()["rows"].clone();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(
        (
            rows[0]["group"].as_str(),
            rows[0]["numerator"].as_u64(),
            rows[0]["denominator"].as_u64()
        ),
        (Some("S1"), Some(3), Some(8))
    );
    // Facility F1: S1 and S2 (3 of 10 by community), not S3.
    let v = get(
        &s.state,
        &format!("{uri}&by=community"),
        Some(&bearer(&s.fac1)),
    )
    .await
    .json();
    assert_eq!(v["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            v["rows"][0]["numerator"].as_u64(),
            v["rows"][0]["denominator"].as_u64()
        ),
        (Some(3), Some(10))
    );
    // Admin: every community exactly, as CSV too.
    let r = get(
        &s.state,
        &format!("{uri}&format=csv"),
        Some(&bearer(&s.admin)),
    )
    .await;
    assert_eq!(r.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let text = r.text();
    assert!(text.contains("safe_water,C1,1,3,10,0.3000,"), "{text}");
    assert!(text.contains("safe_water,C2,1,5,7,0.7143,"), "{text}");
    let logged = s
        .tokens
        .access_log()
        .unwrap()
        .iter()
        .filter(|e| e.what == "/api/indicators")
        .count();
    assert_eq!(logged, 3);
    // Bad input: 400 naming the parameter.
    for (q, word) in [
        ("by=village", "by"),
        ("period=week", "period"),
        ("indicators=nope", "unknown indicator"),
        ("format=xml", "format"),
        ("colour=red", "unknown parameter"),
    ] {
        let r = get(&s.state, &format!("/api/indicators?{q}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(word),
            "{q}: {}",
            r.text()
        );
    }
}

#[tokio::test]
async fn did_answers_name_the_problem() {
    let s = setup();
    // One round only and no groups: every indicator says why, nothing else.
    let v = get(
        &s.state,
        "/api/did?indicators=safe_water&permutations=9",
        None,
    )
    .await
    .json();
    let row = &v["indicators"][0];
    assert!(row["estimate"].is_null());
    assert!(
        row["problem"].as_str().unwrap().contains("endline round 2"),
        "{v}"
    );
    for (q, word) in [
        ("permutations=100000", "permutations"),
        ("baseline=2&endline=2", "both round 2"),
        ("seed=x", "seed"),
    ] {
        let r = get(&s.state, &format!("/api/did?{q}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(word),
            "{q}: {}",
            r.text()
        );
    }
}
