//! Statistical disclosure control of every aggregate drawn from households,
//! through `app(state)`: the demo region in a memory store, tokens in a memory
//! token store. Expected values are computed here straight from the demo
//! layer, not with the server's disclosure code: cluster flags limited to risk
//! fields (no record oracle), totals and rows under 5 suppressed, Gi* on too
//! few units answered 422, the public community summary protected by primary,
//! contributor and complementary suppression and rounding, wrong tokens served
//! as none, and every cluster answer logged before it is sent.

use crate::support::{FailingLog, bearer, config, demo_store, get};
use axum::http::StatusCode;
use chaski_core::auth::{Access, MemoryTokenStore, Role, Token, TokenStore};
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_server::state::AppState;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The demo region in a memory store, with `tokens` as the token store.
fn demo_state(tokens: Arc<dyn TokenStore>) -> (AppState, Layer) {
    let (store, households, _) = demo_store();
    let state = AppState::new(Arc::new(store), config())
        .unwrap()
        .with_tokens(tokens);
    (state, households)
}

fn token(tokens: &dyn TokenStore, role: Role, scope: Option<&str>) -> (Token, String) {
    tokens
        .create(
            &Access::new(role, scope.map(str::to_owned), false).unwrap(),
            Some("test"),
        )
        .unwrap()
}

fn text(layer: &Layer, f: &Feature, field: &str) -> String {
    match layer.value(f, field) {
        FieldValue::Text(t) => t.trim().to_owned(),
        _ => String::new(),
    }
}

fn yes(layer: &Layer, f: &Feature, field: &str) -> bool {
    layer.value(f, field) == &FieldValue::Bool(true)
}

/// The statistics a suppressed row must not carry.
const STATISTICS: [&str; 8] = [
    "cases",
    "expected",
    "relative_risk",
    "llr",
    "z",
    "p_value",
    "q_value",
    "radius_m",
];

/// Every row of a cluster answer: suppressed rows (`households: "<5"`)
/// carry no statistic and a point rounded to 0.01°; shown rows have 5
/// households and 5 cases or more. Returns how many rows were suppressed.
fn check_rows(j: &Value, what: &str) -> usize {
    let mut suppressed = 0;
    for f in j["features"].as_array().unwrap() {
        let p = &f["properties"];
        if p["households"] == "<5" {
            suppressed += 1;
            for k in STATISTICS {
                assert!(p[k].is_null(), "{what}: suppressed row with {k}: {p}");
            }
            assert_eq!(f["geometry"]["type"], "Point", "{what}");
            for c in f["geometry"]["coordinates"].as_array().unwrap() {
                let v = c.as_f64().unwrap() * 100.0;
                assert!((v - v.round()).abs() < 1e-6, "{what}: {v}");
            }
        } else {
            let (h, c) = (p["households"].as_u64(), p["cases"].as_u64());
            assert!(h.unwrap() >= 5 && c.unwrap() >= 5, "{what}: {p}");
        }
    }
    suppressed
}

/// No `"cases": 0` or `"cases": 1` (nor 2 to 4) anywhere in a body.
fn assert_no_small_cases(body: &str, what: &str) {
    for n in 0..5 {
        for sep in [":", ": "] {
            assert!(
                !body.contains(&format!("\"cases\"{sep}{n},"))
                    && !body.contains(&format!("\"cases\"{sep}{n}}}")),
                "{what}: cases {n} in {body:.300}"
            );
        }
    }
}

#[tokio::test]
async fn analyst_record_oracles_are_refused() {
    let tokens = Arc::new(MemoryTokenStore::new());
    let (st, hh) = demo_state(tokens.clone());
    let analyst = bearer(&token(tokens.as_ref(), Role::Analyst, None).1);
    let f = &hh.features[16.min(hh.len() - 1)];
    let oracles = [
        ("code", text(&hh, f, "code")),
        ("community", text(&hh, f, "community")),
        ("submission_uuid", "abc".to_owned()),
        ("cha", text(&hh, f, "cha")),
        ("cha_sector", text(&hh, f, "cha_sector")),
        ("facility", text(&hh, f, "facility")),
    ];
    assert!(oracles[0].1.starts_with("DEMO-H"), "{oracles:?}");
    for (field, value) in &oracles {
        for method in ["scan", "dbscan", "gistar"] {
            let uri = format!(
                "/api/clusters?method={method}&flags={field}={value},danger_signs&all=true&replicates=9"
            );
            let r = get(&st, &uri, Some(&analyst)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", r.text());
            let e = r.json()["error"].as_str().unwrap().to_owned();
            assert!(
                e.contains("'flags'") && e.contains(&format!("'{field}' is not a risk field")),
                "{uri}: {e}"
            );
            // The answer offers the risk fields, never a household's value.
            assert!(
                e.contains("danger_signs") && e.contains("risk_level"),
                "{e}"
            );
            assert!(!r.text().contains("\"cases\""), "{uri}");
            assert!(!r.text().contains("DEMO-H"), "{uri}");
        }
    }
    // Refused queries are not answers: nothing logged as served.
    assert!(tokens.access_log().unwrap().is_empty());
    // A legitimate query answers with no small case count anywhere.
    let r = get(
        &st,
        "/api/clusters?method=dbscan&flags=danger_signs&min_points=2",
        Some(&analyst),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_no_small_cases(&r.text(), "dbscan");
    let j = r.json();
    assert_eq!(
        j["cases"].as_u64().unwrap() as usize,
        hh.features
            .iter()
            .filter(|f| yes(&hh, f, "danger_signs"))
            .count()
    );
    check_rows(&j, "dbscan");
}

/// A flag list as a query value (`>` and `<` are not allowed in a URI).
fn enc(flags: &str) -> String {
    flags.replace('>', "%3E").replace('<', "%3C")
}

/// A predicate on a count field holding for 1 to 4 demo households.
fn rare_flag(hh: &Layer) -> (String, usize) {
    for field in ["members", "pregnant", "under2", "under5"] {
        for n in 1..40_i64 {
            let c = hh
                .features
                .iter()
                .filter(|f| hh.value(f, field).as_i64().is_some_and(|v| v >= n))
                .count();
            if (1..5).contains(&c) {
                return (format!("{field}>={n}"), c);
            }
        }
    }
    panic!("no count field with 1 to 4 households at some threshold");
}

#[tokio::test]
async fn totals_under_five_are_suppressed() {
    let tokens = Arc::new(MemoryTokenStore::new());
    let (st, hh) = demo_state(tokens.clone());
    let analyst = bearer(&token(tokens.as_ref(), Role::Analyst, None).1);
    let (flag, n) = rare_flag(&hh);
    for method in ["dbscan&min_points=1", "scan&replicates=19"] {
        let uri = format!("/api/clusters?method={method}&flags={}", enc(&flag));
        let r = get(&st, &uri, Some(&analyst)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        let j = r.json();
        // 1 to 4 cases: "<5"; the households are many, shown exactly.
        assert_eq!(j["cases"], "<5", "{uri}: {n} cases");
        assert_eq!(j["households"].as_u64().unwrap() as usize, hh.len());
        // And every row (at most 4 cases each) is suppressed.
        let rows = j["features"].as_array().unwrap().len();
        assert_eq!(check_rows(&j, &uri), rows, "{uri}");
        assert_no_small_cases(&r.text(), &uri);
    }
    // A CHA token whose sector holds one of those households: its own
    // totals, counted here, follow the same rule.
    let (field, threshold) = flag.split_once(">=").unwrap();
    let threshold: i64 = threshold.parse().unwrap();
    let rare = hh
        .features
        .iter()
        .find(|f| hh.value(f, field).as_i64().is_some_and(|v| v >= threshold))
        .unwrap();
    let sector = text(&hh, rare, "cha_sector");
    let in_sector: Vec<&Feature> = hh
        .features
        .iter()
        .filter(|f| text(&hh, f, "cha_sector") == sector)
        .collect();
    let cases = in_sector
        .iter()
        .filter(|f| hh.value(f, field).as_i64().is_some_and(|v| v >= threshold))
        .count();
    assert!((1..5).contains(&cases));
    let t = bearer(&token(tokens.as_ref(), Role::Cha, Some(&sector)).1);
    let uri = format!(
        "/api/clusters?method=dbscan&min_points=1&flags={}",
        enc(&flag)
    );
    let r = get(&st, &uri, Some(&t)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["cases"], "<5", "{sector}: {cases} cases");
    if in_sector.len() < 5 {
        assert_eq!(j["households"], "<5");
    } else {
        assert_eq!(j["households"].as_u64(), Some(in_sector.len() as u64));
    }
}

#[tokio::test]
async fn suppressed_rows_carry_no_statistic() {
    let tokens = Arc::new(MemoryTokenStore::new());
    let (st, hh) = demo_state(tokens.clone());
    let analyst = bearer(&token(tokens.as_ref(), Role::Analyst, None).1);
    let mut suppressed = 0;
    for q in [
        "method=scan&flags=anaemia,danger_signs&replicates=19&max_clusters=20",
        "method=dbscan&flags=danger_signs&min_points=2&eps_m=300",
        "method=gistar&flags=anaemia,danger_signs",
        "method=gistar&flags=danger_signs&cell_m=200&k=4&alpha=0.5",
    ] {
        let r = get(&st, &format!("/api/clusters?{q}"), Some(&analyst)).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text());
        suppressed += check_rows(&r.json(), q);
        assert_no_small_cases(&r.text(), q);
    }
    // Gi* by community: each row is one community, checked against the
    // households and cases counted here.
    let mut units: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for f in &hh.features {
        let e = units.entry(text(&hh, f, "community")).or_default();
        e.0 += 1;
        e.1 += u64::from(yes(&hh, f, "danger_signs"));
    }
    let q = "method=gistar&flags=danger_signs&by=community&alpha=0.5&k=4";
    let r = get(&st, &format!("/api/clusters?{q}"), Some(&analyst)).await;
    assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text());
    let j = r.json();
    suppressed += check_rows(&j, q);
    let feats = j["features"].as_array().unwrap();
    assert!(!feats.is_empty(), "{q}: no hot community");
    for f in feats {
        let p = &f["properties"];
        let id = p["id"].as_str().unwrap();
        let (h, c) = units[if id == "(no community)" { "" } else { id }];
        if h < 5 || c < 5 {
            assert_eq!(p["households"], "<5", "{p}");
            for k in STATISTICS {
                assert!(p[k].is_null(), "{k}: {p}");
            }
        } else {
            assert_eq!(
                (p["households"].as_u64(), p["cases"].as_u64()),
                (Some(h), Some(c))
            );
            assert!(p["z"].as_f64().unwrap() > 0.0);
        }
    }
    assert!(suppressed > 0, "no suppressed row was exercised");
}

#[tokio::test]
async fn gistar_on_a_small_scope_is_unprocessable() {
    let tokens = Arc::new(MemoryTokenStore::new());
    let (st, hh) = demo_state(tokens.clone());
    // The sector with the fewest communities.
    let mut by_sector: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &hh.features {
        by_sector
            .entry(text(&hh, f, "cha_sector"))
            .or_default()
            .insert(text(&hh, f, "community"));
    }
    let (sector, communities) = by_sector
        .iter()
        .filter(|(s, _)| !s.is_empty())
        .min_by_key(|(_, c)| c.len())
        .unwrap();
    let n = communities.len();
    assert!(n < 60, "{sector}: {n}");
    let cha = bearer(&token(tokens.as_ref(), Role::Cha, Some(sector)).1);
    // k = n - 1 needs k + 2 = n + 1 communities: one more than the sector has.
    let k = n.saturating_sub(1).max(1);
    let uri = format!("/api/clusters?method=gistar&by=community&flags=anaemia&k={k}");
    let r = get(&st, &uri, Some(&cha)).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{uri}: {}",
        r.text()
    );
    let e = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains(&format!("needs at least {} units", k + 2))
            && e.contains(&format!("fall in {n}"))
            && e.contains("method=scan"),
        "{e}"
    );
    assert!(!r.text().contains("DEMO-H"));
    // The default k = 8 on a sector of fewer than 10 communities, by
    // community: 422 naming 10.
    if n < 10 {
        let r = get(
            &st,
            "/api/clusters?method=gistar&by=community&flags=anaemia",
            Some(&cha),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
        assert!(r.text().contains("at least 10 units"), "{}", r.text());
    }
    // Equal values everywhere (no case): 422 too, not a 500.
    let r = get(
        &st,
        "/api/clusters?method=gistar&flags=members%3E=1000&k=2",
        Some(&cha),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("gistar"), "{}", r.text());
}

#[tokio::test]
async fn wrong_token_on_the_summary_is_answered_as_no_token() {
    let tokens = Arc::new(MemoryTokenStore::new());
    let (st, _) = demo_state(tokens.clone());
    let revoked = token(tokens.as_ref(), Role::Admin, None);
    tokens.revoke(&revoked.0.id).unwrap();
    let uri = "/api/households/summary?by=community";
    let none = get(&st, uri, None).await;
    assert_eq!(none.status, StatusCode::OK);
    for auth in [
        bearer("chk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
        bearer(&revoked.1),
        "Basic abc".to_owned(),
        "Bearer".to_owned(),
    ] {
        let r = get(&st, uri, Some(&auth)).await;
        assert_eq!(r.status, none.status, "{auth}");
        assert_eq!(r.body, none.body, "{auth}");
    }
}

#[tokio::test]
async fn community_summary_hides_every_small_count_from_subtraction() {
    let tokens = Arc::new(MemoryTokenStore::new());
    let (st, hh) = demo_state(tokens.clone());
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for f in &hh.features {
        let c = text(&hh, f, "community");
        let c = if c.is_empty() {
            "unknown".to_owned()
        } else {
            c
        };
        *want.entry(c).or_default() += 1;
    }
    let total: u64 = want.values().sum();
    assert!(
        want.values().any(|&n| n < 5),
        "demo needs a small community"
    );
    let r = get(&st, "/api/households/summary?by=community", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(
        (v["min_cell"].as_u64(), v["rounded_to"].as_u64()),
        (Some(5), Some(5))
    );
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), want.len());
    // The worst case: the analyst knows the exact total and the exact count
    // of every shown community; each suppressed one is at least 1.
    let (mut k, mut h) = (0_u64, total);
    for g in groups {
        let n = want[g["community"].as_str().unwrap()];
        if g["suppressed"] == true {
            assert!(g["households"].is_null(), "{g}");
            k += 1;
        } else {
            assert!(n == 0 || n >= 5, "{g}: {n} shown");
            // Rounded to the nearest multiple of 5.
            assert_eq!(g["households"].as_u64(), Some((n + 2) / 5 * 5), "{g}: {n}");
            h -= n;
        }
    }
    assert!(k >= 2, "{k} suppressed");
    // Each suppressed community lies in [1, H − (k − 1)]: 1 and 5 both fit.
    assert!(h - (k - 1) >= 5, "H = {h}, k = {k}");
}

/// A household of `community`, CHA sector `sector`, at a point of the demo.
fn household(layer: &Layer, code: &str, community: &str, sector: &str) -> Feature {
    let mut values = vec![FieldValue::Null; layer.fields.len()];
    let set = |values: &mut Vec<FieldValue>, f: &str, v: &str| {
        values[layer.field_index(f).unwrap()] = FieldValue::Text(v.to_owned());
    };
    set(&mut values, "code", code);
    set(&mut values, "community", community);
    set(&mut values, "cha_sector", sector);
    set(&mut values, "facility", "0001");
    Feature {
        fid: 0,
        geometry: geo::Geometry::Point(geo::Point::new(-74.2, -13.1)),
        values,
    }
}

#[tokio::test]
async fn contributor_rule_survives_added_households() {
    let store = Arc::new(MemoryStore::new());
    let state = AppState::new(store.clone(), config()).unwrap();
    let mut layer = Layer::new("households", LayerKind::Households);
    // C-A: 40 of sector A and 3 of sector B (A knows its 40: B's 3 would
    // follow by subtraction). C-B and C-C are large and single-sector.
    let mut n = 0;
    let mut add = |layer: &mut Layer, community: &str, sector: &str, k: usize| {
        for _ in 0..k {
            n += 1;
            let f = household(layer, &format!("SYN-{n}"), community, sector);
            layer.features.push(f);
        }
    };
    add(&mut layer, "C-A", "A", 40);
    add(&mut layer, "C-A", "B", 3);
    add(&mut layer, "C-B", "A", 20);
    add(&mut layer, "C-C", "C", 30);
    for extra in 0..=4 {
        if extra > 0 {
            add(&mut layer, "C-A", "A", 1);
        }
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        let r = get(&state, "/api/households/summary?by=community", None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json();
        let groups: BTreeMap<String, Value> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["community"].as_str().unwrap().to_owned(), g.clone()))
            .collect();
        let a = &groups["C-A"];
        assert_eq!(a["suppressed"], true, "C-A with {} of A: {v}", 40 + extra);
        assert!(a["households"].is_null());
        // C-A does not stand alone: a second community is hidden with it.
        let hidden = groups.values().filter(|g| g["suppressed"] == true).count();
        assert!(hidden >= 2, "{v}");
    }
    // Once sector B holds 5, nothing is learnt by subtraction: shown.
    add(&mut layer, "C-A", "B", 2);
    store.write_layer(&layer, WriteMode::Replace).unwrap();
    let v = get(&state, "/api/households/summary?by=community", None)
        .await
        .json();
    let a = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["community"] == "C-A")
        .unwrap()
        .clone();
    assert_eq!(a["suppressed"], false, "{v}");
    assert_eq!(a["households"], 50, "44 of A + 5 of B = 49, rounded: {v}");
}

#[tokio::test]
async fn every_cluster_answer_is_logged_first() {
    let tokens = Arc::new(MemoryTokenStore::new());
    let (st, _) = demo_state(tokens.clone());
    let analyst = token(tokens.as_ref(), Role::Analyst, None);
    let auth = bearer(&analyst.1);
    let queries = [
        (
            "method=scan&flags=anaemia,danger_signs&replicates=19",
            "method=scan&flags=anaemia,danger_signs&all=false&members=false",
        ),
        (
            "flags=risk_level%3Dalto&method=dbscan&all=true",
            "method=dbscan&flags=risk_level=alto&all=true&members=false",
        ),
        (
            "method=gistar&flags=danger_signs",
            "method=gistar&flags=danger_signs&all=false&members=false&by=grid",
        ),
    ];
    for (i, (q, _)) in queries.iter().enumerate() {
        let r = get(&st, &format!("/api/clusters?{q}"), Some(&auth)).await;
        assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.text());
        // Asked again (from the cache): logged again.
        if i == 0 {
            let r = get(&st, &format!("/api/clusters?{q}"), Some(&auth)).await;
            assert_eq!(r.status, StatusCode::OK);
        }
    }
    let log = tokens.access_log().unwrap();
    assert_eq!(log.len(), queries.len() + 1, "{log:?}");
    let mut want = vec![queries[0].1];
    want.extend(queries.iter().map(|(_, d)| *d));
    for (e, prefix) in log.iter().zip(want) {
        assert_eq!(e.who.as_deref(), Some(analyst.0.id.as_str()));
        assert_eq!(
            (e.what.as_str(), e.count, e.status),
            ("/api/clusters", 0, 200)
        );
        let d = e.detail.as_deref().unwrap();
        assert!(d.starts_with(prefix), "{d} vs {prefix}");
    }

    // A log that cannot be written: 500 and no cluster data.
    let failing = Arc::new(FailingLog(MemoryTokenStore::new()));
    let (st, _) = demo_state(failing.clone());
    let analyst = bearer(&token(failing.as_ref(), Role::Analyst, None).1);
    let admin = bearer(&token(failing.as_ref(), Role::Admin, None).1);
    for (auth, q) in [
        (&analyst, "method=dbscan&flags=anaemia"),
        (&admin, "method=dbscan&flags=anaemia&members=true"),
    ] {
        let r = get(&st, &format!("/api/clusters?{q}"), Some(auth)).await;
        assert_eq!(
            r.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{q}: {}",
            r.text()
        );
        let t = r.text();
        for leak in [
            "features",
            "FeatureCollection",
            "households",
            "cases",
            "DEMO-H",
        ] {
            assert!(!t.contains(leak), "{q}: {leak} in {t}");
        }
    }
}
