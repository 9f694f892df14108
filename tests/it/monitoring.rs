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

// ---- The `indicators` choropleth tiles ------------------------------------

/// Communities of the choropleth tests: (code, group, households, safe water
/// in round 1, in round 2). Each community is its own CHA sector `S-code` and
/// facility `F-code`, at its own point; C3 has 3 households (every cell of it
/// under 5).
const MAP: [(&str, &str, usize, usize, usize); 6] = [
    ("C1", "intervention", 20, 6, 15),
    ("C2", "intervention", 12, 5, 9),
    ("C3", "intervention", 3, 1, 2),
    ("C4", "control", 15, 5, 6),
    ("C5", "control", 8, 3, 3),
    ("C6", "control", 25, 10, 12),
];

fn lonlat(i: usize) -> (f64, f64) {
    (-74.0 + 0.01 * i as f64, -13.0 - 0.005 * i as f64)
}

fn map_store() -> MemoryStore {
    let mut h = Layer::new("households", LayerKind::Households);
    let n = h.fields.len();
    let mut fid = 0;
    for (i, (code, _, households, water1, water2)) in MAP.iter().enumerate() {
        for round in [1_i64, 2] {
            for k in 0..*households {
                fid += 1;
                let mut v = vec![Value::Null; n];
                let mut set = |name: &str, x: Value| v[h.field_index(name).unwrap()] = x;
                set("code", format!("{code}-H{k:02}").into());
                set("cha_sector", format!("S-{code}").into());
                set("community", (*code).into());
                set("facility", format!("F-{code}").into());
                set("visit_round", Value::Int(round));
                set("visit_date", format!("2026-0{round}-10").into());
                let water = if round == 1 { *water1 } else { *water2 };
                set("safe_water", (k < water).into());
                let (lon, lat) = lonlat(i);
                h.features.push(Feature {
                    fid,
                    geometry: geo::Point::new(lon, lat).into(),
                    values: v,
                });
            }
        }
    }
    let mut c = Layer::new("communities", LayerKind::Communities);
    c.fields.push(Field::new("group", FieldType::Text));
    let cn = c.fields.len();
    for (i, (code, group, ..)) in MAP.iter().enumerate() {
        let mut v = vec![Value::Null; cn];
        v[c.field_index("code").unwrap()] = (*code).into();
        v[c.field_index("name").unwrap()] = format!("Comunidad {code}").into();
        v[c.field_index("ubigeo").unwrap()] = "D1".into();
        v[c.field_index("group").unwrap()] = (*group).into();
        let (lon, lat) = lonlat(i);
        c.features.push(Feature {
            fid: i as i64 + 1,
            geometry: geo::Point::new(lon, lat).into(),
            values: v,
        });
    }
    let store = MemoryStore::new();
    store.write_layer(&h, WriteMode::Replace).unwrap();
    store.write_layer(&c, WriteMode::Replace).unwrap();
    store
}

type MvtProps = std::collections::HashMap<String, mvt_reader::feature::Value>;

/// The features of the `indicators` layer of a tile, by community code.
fn map_features(body: &[u8]) -> std::collections::BTreeMap<String, MvtProps> {
    if body.is_empty() {
        return std::collections::BTreeMap::new();
    }
    let reader = mvt_reader::Reader::new(body.to_vec()).unwrap();
    assert_eq!(reader.get_layer_names().unwrap(), ["indicators"]);
    reader
        .get_features(0)
        .unwrap()
        .into_iter()
        .map(|f| {
            let p = f.properties.unwrap_or_default();
            let code = match &p["code"] {
                mvt_reader::feature::Value::String(s) => s.clone(),
                other => panic!("code {other:?}"),
            };
            (code, p)
        })
        .collect()
}

/// A property as JSON, to compare with the `/api/indicators` rows (absent: null).
fn prop_json(p: &MvtProps, k: &str) -> serde_json::Value {
    use mvt_reader::feature::Value as V;
    match p.get(k) {
        None => serde_json::Value::Null,
        Some(V::String(s)) => s.clone().into(),
        Some(V::Double(x)) => (*x).into(),
        Some(V::Float(x)) => f64::from(*x).into(),
        Some(V::Int(n) | V::SInt(n)) => (*n).into(),
        Some(V::UInt(n)) => (*n).into(),
        Some(V::Bool(b)) => (*b).into(),
        Some(other) => panic!("{k}: {other:?}"),
    }
}

const MAP_Z: u8 = 8;

async fn map_tile(s: &Setup, round: i64, auth: Option<&str>) -> crate::support::Reply {
    let (lon, lat) = lonlat(0);
    let (x, y) = crate::support::tile_xy(lon, lat, MAP_Z);
    get(
        &s.state,
        &format!("/tiles/indicators/{MAP_Z}/{x}/{y}.mvt?indicator=safe_water&round={round}"),
        auth,
    )
    .await
}

fn map_setup() -> Setup {
    let mut s = setup();
    s.state = AppState::new(Arc::new(map_store()), config())
        .unwrap()
        .with_tokens(s.tokens.clone());
    s
}

#[tokio::test]
async fn choropleth_tiles_equal_the_indicator_tables() {
    let s = map_setup();
    let cha_c1 = s
        .tokens
        .create(
            &Access::new(Role::Cha, Some("S-C1".into()), false).unwrap(),
            None,
        )
        .unwrap()
        .1;
    let callers: Vec<(&str, Option<String>)> = vec![
        ("public", None),
        ("wrong token", Some(bearer("chk_not_a_token"))),
        ("revoked", Some(bearer(&s.revoked))),
        ("analyst", Some(bearer(&s.analyst))),
        ("admin", Some(bearer(&s.admin))),
        ("cha of S-C1", Some(bearer(&cha_c1))),
    ];
    for (who, auth) in &callers {
        let table = get(
            &s.state,
            "/api/indicators?indicators=safe_water",
            auth.as_deref(),
        )
        .await
        .json();
        let rows = table["rows"].as_array().unwrap();
        let row = |code: &str, round: i64| {
            rows.iter().find(|r| {
                r["group"] == code
                    && r["period"].as_str().and_then(|p| p.parse::<i64>().ok()) == Some(round)
            })
        };
        for round in [1, 2] {
            let r = map_tile(&s, round, auth.as_deref()).await;
            assert_eq!(r.status, StatusCode::OK, "{who} round {round}");
            let features = map_features(&r.body);
            // One feature per community of the caller's table.
            let mut expected: Vec<String> = rows
                .iter()
                .map(|r| r["group"].as_str().unwrap().to_owned())
                .collect();
            expected.sort();
            expected.dedup();
            assert_eq!(
                features.keys().cloned().collect::<Vec<_>>(),
                expected,
                "{who}"
            );
            for (code, p) in &features {
                let cell = row(code, round).unwrap();
                for k in ["numerator", "denominator", "proportion", "low", "high"] {
                    assert_eq!(prop_json(p, k), cell[k], "{who} {code} round {round} {k}");
                }
                assert_eq!(
                    prop_json(p, "suppressed"),
                    cell["suppressed"],
                    "{who} {code}"
                );
                assert_eq!(prop_json(p, "round"), round);
                assert_eq!(prop_json(p, "indicator"), "safe_water");
                let group = MAP.iter().find(|m| m.0 == code).unwrap().1;
                assert_eq!(prop_json(p, "group"), group, "{who} {code}");
                // The change from baseline (1) to endline (2), when both are shown.
                let (b, e) = (row(code, 1).unwrap(), row(code, 2).unwrap());
                if let (Some(b), Some(e)) = (b["proportion"].as_f64(), e["proportion"].as_f64()) {
                    let change = prop_json(p, "change").as_f64().unwrap();
                    assert!((change - (e - b)).abs() < 1e-6, "{who} {code}");
                    assert_eq!(prop_json(p, "baseline"), b);
                    assert_eq!(prop_json(p, "endline"), e);
                } else {
                    assert!(prop_json(p, "change").is_null(), "{who} {code}");
                    assert_eq!(prop_json(p, "change_suppressed"), true, "{who} {code}");
                }
            }
            let exact = matches!(*who, "admin" | "cha of S-C1");
            if exact {
                assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
            } else {
                // Protected: C3 (3 households) hidden; no count under 5.
                let c3 = &features["C3"];
                assert_eq!(prop_json(c3, "suppressed"), true, "{who}");
                for k in [
                    "numerator",
                    "denominator",
                    "proportion",
                    "low",
                    "high",
                    "change",
                ] {
                    assert!(prop_json(c3, k).is_null(), "{who} C3 {k}");
                }
                for (code, p) in &features {
                    for k in ["numerator", "denominator"] {
                        if let Some(n) = prop_json(p, k).as_i64() {
                            assert!(n == 0 || n >= 5, "{who} {code} {k} {n}");
                            assert_eq!(n % 5, 0, "{who} {code} {k} {n}: rounded to 5");
                        }
                    }
                }
            }
        }
    }
    // Exact values, computed by hand: admin sees C3 (1 of 3 in round 1) and
    // C1's change 15/20 - 6/20 = 0.45.
    let admin = map_features(&map_tile(&s, 1, Some(&bearer(&s.admin))).await.body);
    assert_eq!(prop_json(&admin["C3"], "numerator"), 1);
    assert_eq!(prop_json(&admin["C3"], "denominator"), 3);
    assert!((prop_json(&admin["C1"], "change").as_f64().unwrap() - 0.45).abs() < 1e-9);
    assert_eq!(prop_json(&admin["C1"], "name"), "Comunidad C1");
    // A CHA's token: its own community only, nothing of another sector's.
    let cha = map_features(&map_tile(&s, 1, Some(&bearer(&cha_c1))).await.body);
    assert_eq!(cha.keys().collect::<Vec<_>>(), ["C1"]);
    assert_eq!(prop_json(&cha["C1"], "numerator"), 6);
    // Another sector's token (S1 of the other dataset: no household here) gets an empty tile.
    let other = map_tile(&s, 1, Some(&bearer(&s.cha1))).await;
    assert_eq!(other.status, StatusCode::NO_CONTENT);
    // Exact tiles are written to the access log; protected ones are not.
    let logged: Vec<u64> = s
        .tokens
        .access_log()
        .unwrap()
        .iter()
        .filter(|e| e.what == "/tiles/indicators")
        .map(|e| e.count)
        .collect();
    assert_eq!(logged, [6, 6, 1, 1, 6, 1]);
}

#[tokio::test]
async fn choropleth_tiles_refuse_bad_queries() {
    let s = map_setup();
    let (x, y) = crate::support::tile_xy(lonlat(0).0, lonlat(0).1, MAP_Z);
    for (q, word) in [
        ("indicator=nope", "nope"),
        ("", "indicator"),
        ("indicator=safe_water&round=two", "round"),
        ("indicator=safe_water&colour=red", "colour"),
    ] {
        let r = get(
            &s.state,
            &format!("/tiles/indicators/{MAP_Z}/{x}/{y}.mvt?{q}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(r.text().contains(word), "{q}: {}", r.text());
    }
    let r = get(
        &s.state,
        "/tiles/indicators/99/0/0.mvt?indicator=safe_water",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn indicator_tilejson_leads_to_the_tiles() {
    let s = map_setup();
    let (lon, lat) = lonlat(0);
    let (x, y) = crate::support::tile_xy(lon, lat, MAP_Z);
    for (who, auth) in [("public", None), ("admin", Some(bearer(&s.admin)))] {
        let r = get(
            &s.state,
            "/tiles/indicators.json?indicator=safe_water&round=1",
            auth.as_deref(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{who}: {}", r.text());
        let tj = r.json();
        assert_eq!(tj["tilejson"], "3.0.0");
        assert_eq!(tj["vector_layers"][0]["id"], "indicators", "{who}");
        let fields = tj["vector_layers"][0]["fields"].as_object().unwrap();
        for k in ["proportion", "suppressed", "change", "group"] {
            assert!(fields.contains_key(k), "{who}: {k} in {fields:?}");
        }
        // The communities lie inside the bounds.
        let b: Vec<f64> = tj["bounds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for i in 0..MAP.len() {
            let (lon, lat) = lonlat(i);
            assert!(
                b[0] <= lon && lon <= b[2] && b[1] <= lat && lat <= b[3],
                "{who} {b:?}"
            );
        }
        // The tile URL, filled in, answers what the tile route answers.
        let url = tj["tiles"][0].as_str().unwrap();
        let path = &url[url.find("/tiles/").unwrap()..];
        assert!(path.contains("indicator=safe_water&round=1"), "{path}");
        let path = path
            .replace("{z}", &MAP_Z.to_string())
            .replace("{x}", &x.to_string())
            .replace("{y}", &y.to_string());
        let via_tilejson = get(&s.state, &path, auth.as_deref()).await;
        let direct = map_tile(&s, 1, auth.as_deref()).await;
        assert_eq!(via_tilejson.status, StatusCode::OK, "{who}");
        assert_eq!(
            map_features(&via_tilejson.body),
            map_features(&direct.body),
            "{who}"
        );
        if who == "admin" {
            assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
        } else {
            assert!(r.headers.get(header::CACHE_CONTROL).is_none(), "{who}");
        }
    }
    // The catalog lists every indicator's TileJSON.
    let cat = get(&s.state, "/catalog", None).await.json();
    let ids: Vec<&str> = cat["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"safe_water"), "{ids:?}");
    for e in cat["indicators"].as_array().unwrap() {
        let url = e["tilejson"].as_str().unwrap();
        let path = &url[url.find("/tiles/").unwrap()..];
        assert_eq!(
            get(&s.state, path, None).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    // Bad queries name the problem.
    for (q, word) in [
        ("indicator=nope", "nope"),
        ("", "indicator"),
        ("indicator=safe_water&round=two", "round"),
    ] {
        let r = get(&s.state, &format!("/tiles/indicators.json?{q}"), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(r.text().contains(word), "{q}: {}", r.text());
    }
}

/// 60,000 household records over 300 communities in 2 rounds, with
/// duplicates of one household and round, empty fields and households of
/// no sector: enough rows for the GeoPackage to read them in parallel parts.
fn many_households() -> (Layer, Layer) {
    let mut h = Layer::new("households", LayerKind::Households);
    let n = h.fields.len();
    let mut rng = 7_u64;
    let mut next = move || {
        rng = rng
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        rng >> 33
    };
    for fid in 1..=60_000_i64 {
        let k = (fid - 1) / 2; // household
        let round = 1 + (fid - 1) % 2;
        let c = k % 300;
        let mut v = vec![Value::Null; n];
        let mut set = |name: &str, x: Value| v[h.field_index(name).unwrap()] = x;
        set("code", format!("H{:05}", k % 29_000).into());
        set("community", format!("C{c:03}").into());
        if c % 7 != 0 {
            set("cha_sector", format!("S{c:03}").into());
        }
        set("facility", format!("F{:02}", c % 20).into());
        set("visit_round", Value::Int(round));
        set(
            "visit_date",
            format!("2026-{:02}-{:02}", round * 3, 1 + next() % 28).into(),
        );
        set("under5", Value::Int((next() % 3) as i64));
        set("pregnant", Value::Int(i64::from(next() % 10 == 0)));
        for f in [
            "anaemia",
            "malnutrition",
            "danger_signs",
            "safe_water",
            "sanitation",
        ] {
            if next() % 11 != 0 {
                set(f, (next() % 3 == 0).into());
            }
        }
        h.features.push(Feature {
            fid,
            geometry: geo::Point::new(-74.0 + 0.001 * c as f64, -13.0).into(),
            values: v,
        });
    }
    let mut comms = Layer::new("communities", LayerKind::Communities);
    comms.fields.push(Field::new("group", FieldType::Text));
    let cn = comms.fields.len();
    for c in 0..300_i64 {
        let mut v = vec![Value::Null; cn];
        v[comms.field_index("code").unwrap()] = format!("C{c:03}").into();
        v[comms.field_index("ubigeo").unwrap()] = format!("D{}", c % 9).into();
        v[comms.field_index("group").unwrap()] = if c % 2 == 0 {
            "intervention"
        } else {
            "control"
        }
        .into();
        comms.features.push(Feature {
            fid: c + 1,
            geometry: geo::Point::new(-74.0 + 0.001 * c as f64, -13.0).into(),
            values: v,
        });
    }
    (h, comms)
}

#[test]
fn parallel_and_column_reads_give_the_same_tables() {
    use chaski_analysis::monitoring::config::{Indicator, Indicators};
    use chaski_analysis::monitoring::data::Records;
    use chaski_analysis::monitoring::table::{By, Period, indicator_table};
    let (h, c) = many_households();
    let memory = MemoryStore::new();
    let dir = tempfile::tempdir().unwrap();
    let gpkg = chaski_io::store::gpkg::GpkgStore::open(dir.path().join("m.gpkg")).unwrap();
    for s in [&memory as &dyn Store, &gpkg] {
        s.write_layer(&h, WriteMode::Replace).unwrap();
        s.write_layer(&c, WriteMode::Replace).unwrap();
    }
    let ind = Indicators::defaults();
    let sel: Vec<&Indicator> = ind.list.iter().collect();
    let admin = Access::new(Role::Admin, None, true).unwrap();
    for access in [Access::public(), admin] {
        let protected = access.role == Role::Public;
        // In memory: every field, one read.
        let reference = Records::from_store(&memory, &access, "group").unwrap();
        assert_eq!(reference.len(), 60_000);
        for (by, period) in [
            (By::Community, Period::Round),
            (By::District, Period::Quarter),
        ] {
            let want = serde_json::to_value(
                indicator_table(&reference, &sel, by, period, protected).unwrap(),
            )
            .unwrap();
            // The GeoPackage in parallel parts, every field or only the
            // indicators' fields: the same table.
            for records in [
                Records::from_store(&gpkg, &access, "group").unwrap(),
                Records::from_store_reading(&gpkg, &access, "group", &Indicator::fields_of(&sel))
                    .unwrap(),
                Records::from_store_reading(&memory, &access, "group", &Indicator::fields_of(&sel))
                    .unwrap(),
            ] {
                assert_eq!(records.len(), 60_000);
                assert_eq!(records.communities.list, reference.communities.list);
                assert_eq!(records.sectors.list, reference.sectors.list);
                let got = serde_json::to_value(
                    indicator_table(&records, &sel, by, period, protected).unwrap(),
                )
                .unwrap();
                assert_eq!(got, want, "{:?} {by:?} {period:?}", access.role);
            }
        }
        // The risk level (visits) from the parallel read equals the memory one.
        let records = Records::from_store(&gpkg, &access, "group").unwrap();
        let levels = |r: &Records| -> Vec<Option<i64>> {
            r.list.iter().map(|o| o.record.get("risk_level")).collect()
        };
        assert_eq!(levels(&records), levels(&reference));
        // Reading only `risk_level` reads the fields it is derived from too.
        let only_level =
            Records::from_store_reading(&gpkg, &access, "group", &["risk_level"]).unwrap();
        assert_eq!(levels(&only_level), levels(&reference));
        assert!(levels(&only_level).contains(&Some(2)));
    }
}
