//! `GET /api/districts/{code}/report` through `app(state)` with `oneshot`, on
//! the demo region (DEM and layers) in a memory store: the three formats,
//! figures checked against the underserved-villages endpoint (another path
//! through the server) and the demo's own district codes, 404 and 400, and
//! the household figures as every kind of caller sees them, including an
//! attacker who knows the exact totals and subtracts.

use crate::support::{bearer, config, get};
use axum::http::StatusCode;
use chaski_core::auth::{Access, MemoryTokenStore, Role, TokenStore};
use chaski_core::disclosure::round_to_base;
use chaski_core::domain::RiskLevel;
use chaski_core::household::{Violence, derive_risk_level};
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_server::state::AppState;
use geo::{Contains, Geometry, Point};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

const CODES: [&str; 4] = ["059901", "059902", "059903", "059904"];

fn region() -> &'static chaski_demo::DemoRegion {
    static REGION: OnceLock<chaski_demo::DemoRegion> = OnceLock::new();
    REGION.get_or_init(|| chaski_demo::generate(&chaski_demo::DemoOptions::default()))
}

/// The demo region with its DEM; `households` replaces the demo's households.
fn state(households: Option<&Layer>) -> (AppState, Arc<MemoryTokenStore>) {
    let store = MemoryStore::new();
    for l in &region().layers {
        if l.kind != LayerKind::Households || households.is_none() {
            store.write_layer(l, WriteMode::Replace).unwrap();
        }
    }
    if let Some(h) = households {
        store.write_layer(h, WriteMode::Replace).unwrap();
    }
    store.write_raster("dem", &region().dem).unwrap();
    let tokens = Arc::new(MemoryTokenStore::new());
    let st = AppState::new(Arc::new(store), config())
        .unwrap()
        .with_tokens(tokens.clone());
    (st, tokens)
}

fn text(l: &Layer, f: &Feature, name: &str) -> String {
    l.value(f, name).to_string()
}

fn point(f: &Feature) -> Point<f64> {
    match &f.geometry {
        Geometry::Point(p) => *p,
        other => panic!("not a point: {other:?}"),
    }
}

/// The district polygon of `code`.
fn district(code: &str) -> Geometry<f64> {
    let d = region().layer("districts").unwrap();
    let f = d
        .features
        .iter()
        .find(|f| text(d, f, "code") == code)
        .unwrap();
    f.geometry.clone()
}

fn report_uri(code: &str, query: &str) -> String {
    format!("/api/districts/{code}/report{query}")
}

#[tokio::test]
async fn district_report_over_http_in_three_formats() {
    let (st, _) = state(None);
    let code = "059903";
    let r = get(&st, &report_uri(code, ""), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/json");
    let j = r.json();
    assert_eq!(j["code"], code);
    assert_eq!(j["name"], "Chaskipampa (synthetic)");
    // Villages: the demo gives each village its district's code.
    let c = region().layer("communities").unwrap();
    let mine: Vec<&Feature> = c
        .features
        .iter()
        .filter(|f| text(c, f, "ubigeo") == code)
        .collect();
    let population: i64 = mine
        .iter()
        .map(|f| c.value(f, "population").as_i64().unwrap())
        .sum();
    assert_eq!(j["villages"]["villages"], mine.len());
    assert_eq!(j["villages"]["population"], population);

    // Access: as /api/villages/underserved counts the district's villages
    // beyond each threshold (not reached included), for both searches.
    for (table, filter) in [("any_facility", ""), ("birth_care", "&birth_care=basic")] {
        for (i, minutes) in [60, 120, 240].into_iter().enumerate() {
            let u = get(
                &st,
                &format!(
                    "/api/villages/underserved?minutes={minutes}&district={code}{filter}&limit=1"
                ),
                None,
            )
            .await;
            assert_eq!(u.status, StatusCode::OK, "{}", u.text());
            let counts = &u.json()["counts"];
            let band = &j[table]["bands"][i];
            // `underserved` holds the villages not reached too.
            assert_eq!(
                band["beyond"]["villages"], counts["underserved"],
                "{table} {minutes}"
            );
            assert_eq!(
                band["beyond"]["population"], counts["underserved_population"],
                "{table} {minutes}"
            );
            assert_eq!(
                band["within"]["villages"], counts["within"],
                "{table} {minutes}"
            );
            assert_eq!(
                band["within"]["population"], counts["within_population"],
                "{table} {minutes}"
            );
            assert_eq!(
                j[table]["without_time"]["villages"],
                counts["outside_surface"]
            );
        }
    }

    // Households: derived levels counted here, published rounded to 5.
    let h = region().layer("households").unwrap();
    let area = district(code);
    let inside: Vec<&Feature> = h
        .features
        .iter()
        .filter(|f| area.contains(&point(f)))
        .collect();
    let n = inside.len() as u64;
    assert!(n > 100);
    assert_eq!(j["households"]["households"], round_to_base(n));
    for (k, level) in [RiskLevel::Alto, RiskLevel::Medio, RiskLevel::Bajo]
        .iter()
        .enumerate()
    {
        let exact = inside
            .iter()
            .filter(|f| derive_risk_level(h, &f.values, Violence::Unknown) == *level)
            .count() as u64;
        let shown = &j["households"]["risk_levels"][k]["households"];
        assert!(
            shown.is_null() || *shown == round_to_base(exact),
            "{level:?}: {shown} for {exact}"
        );
        assert!(exact >= 5 || exact == 0 || shown.is_null());
    }

    // CSV: one long table, UTF-8 with a byte-order mark.
    let r = get(&st, &report_uri(code, "?format=csv"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    let csv = r.text();
    assert!(csv.starts_with("\u{feff}district_code,district_name,table,row,column,value\n"));
    assert!(csv.contains(&format!(
        "{code},Chaskipampa (synthetic),villages,all,villages,{}\n",
        mine.len()
    )));
    assert!(csv.contains(&format!(
        "{code},Chaskipampa (synthetic),households,all,households,{}\n",
        round_to_base(n)
    )));
    // HTML: Spanish by default, English on request, printable, offline.
    let r = get(&st, &report_uri(code, "?format=html"), None).await;
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    let es = r.text();
    assert!(es.contains("<html lang=\"es\">") && es.contains("Informe distrital: Chaskipampa"));
    assert!(es.contains("size: A4") && !es.contains("<script") && !es.contains("http"));
    let en = get(&st, &report_uri(code, "?format=html&lang=en"), None)
        .await
        .text();
    assert!(en.contains("<html lang=\"en\">") && en.contains("District report: Chaskipampa"));
    let same = get(&st, &report_uri(code, "?format=json&lang=en"), None)
        .await
        .json();
    assert_eq!(same["villages"], j["villages"]);
}

#[tokio::test]
async fn unknown_districts_are_404_and_bad_parameters_400() {
    let (st, _) = state(None);
    let r = get(&st, &report_uri("999999", ""), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.headers["content-type"], "application/json");
    let e = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains("no district with code '999999'") && e.contains("059901"),
        "{e}"
    );
    for (query, name) in [
        ("?format=pdf", "'format'"),
        ("?lang=fr", "'lang'"),
        ("?foo=1", "'foo'"),
        ("?format=csv&format=json", "'format'"),
        ("?districts=nope", "'districts'"),
    ] {
        let r = get(&st, &report_uri("059901", query), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text());
        let e = r.json()["error"].as_str().unwrap().to_owned();
        assert!(e.contains(name), "{query}: {e}");
    }
    // A store without districts: the district does not exist here.
    let store = MemoryStore::new();
    store
        .write_layer(region().layer("communities").unwrap(), WriteMode::Replace)
        .unwrap();
    let bare = AppState::new(Arc::new(store), config()).unwrap();
    let r = get(&bare, &report_uri("059901", ""), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
}

/// Households per district: (district code, [(CHA sector, levels)]).
type Plan<'a> = &'a [(&'a str, &'a [(&'a str, &'a str)])];

/// Households at village locations of each district: per district a list of
/// (CHA sector, level letter: `a` alto by danger signs, `m` medio by anaemia,
/// `b` bajo), and the exact counts per district for the checks.
fn crafted(plan: Plan<'_>) -> Layer {
    let c = region().layer("communities").unwrap();
    let mut l = Layer::new("households", LayerKind::Households);
    let mut n = 0;
    for (code, sectors) in plan {
        let village = c
            .features
            .iter()
            .find(|f| text(c, f, "ubigeo") == *code)
            .unwrap();
        let p = point(village);
        for (sector, levels) in *sectors {
            for ch in levels.chars() {
                let mut values = vec![FieldValue::Null; l.fields.len()];
                let mut set = |name: &str, v: FieldValue| {
                    values[l.field_index(name).unwrap()] = v;
                };
                set("code", format!("SYN-H{n}").into());
                set("community", text(c, village, "code").into());
                set("cha_sector", (*sector).into());
                set("facility", "DEMO-00001".into());
                set("danger_signs", FieldValue::Bool(ch == 'a'));
                set("anaemia", FieldValue::Bool(ch == 'm'));
                set("consent", FieldValue::Bool(true));
                l.features.push(Feature {
                    fid: n + 1,
                    geometry: Geometry::Point(Point::new(p.x() + n as f64 * 1e-6, p.y())),
                    values,
                });
                n += 1;
            }
        }
    }
    l
}

/// Every caller there is: none, wrong, public, analyst, a CHA of the
/// district's own sectors and of another, a facility, admin.
fn callers(tokens: &dyn TokenStore, sectors: &[&str]) -> Vec<(String, Option<String>)> {
    let mut out = vec![
        ("none".to_owned(), None),
        ("wrong".to_owned(), Some(bearer("chk_not_a_token"))),
    ];
    let mut make = |label: String, role: Role, scope: Option<&str>, violence: bool| {
        let (_, secret) = tokens
            .create(
                &Access::new(role, scope.map(str::to_owned), violence).unwrap(),
                Some("test"),
            )
            .unwrap();
        out.push((label, Some(bearer(&secret))));
    };
    make("public".into(), Role::Public, None, false);
    make("analyst".into(), Role::Analyst, None, false);
    for s in sectors {
        make(format!("cha {s}"), Role::Cha, Some(s), false);
    }
    make("facility".into(), Role::Facility, Some("DEMO-00001"), false);
    make("admin".into(), Role::Admin, None, true);
    out
}

/// What an attacker knowing every exact total could not learn: no shown
/// count of 1 to 4; hidden cells of a table two or more, adding up to at
/// least their number plus 4 (so none is pinned under 5 by subtraction),
/// across districts (the store's total known) and within each district.
fn assert_nothing_small_recoverable(reports: &[Value], exact: &[u64]) {
    let mut hidden = Vec::new();
    for (r, &n) in reports.iter().zip(exact) {
        let h = &r["households"];
        let cells: Vec<&Value> = std::iter::once(&h["households"])
            .chain(
                h["risk_levels"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| &l["households"]),
            )
            .chain(
                h["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| &f["households"]),
            )
            .collect();
        for c in &cells {
            assert!(
                c.is_null() || c.as_u64().is_some_and(|v| v == 0 || v >= 5),
                "{}: {c}",
                r["code"]
            );
        }
        if h["households"].is_null() {
            assert!(cells.iter().all(|c| c.is_null()), "{}: {h}", r["code"]);
            hidden.push(n);
        }
    }
    let k = hidden.iter().filter(|&&n| n > 0).count() as u64;
    let sum: u64 = hidden.iter().sum();
    assert!(k == 0 || (k >= 2 && sum >= k + 4), "hidden {hidden:?}");
}

async fn reports_as(st: &AppState, auth: Option<&str>) -> Vec<Value> {
    let mut out = Vec::new();
    for code in CODES {
        let r = get(st, &report_uri(code, ""), auth).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let mut j = r.json();
        j["date"] = Value::Null;
        out.push(j);
    }
    out
}

#[tokio::test]
async fn household_figures_are_the_same_for_every_caller_and_hide_small_groups() {
    // (A) 3 households in 059901: under 5. With the store's total known,
    // 059902, 059903 and 059904 would give it by subtraction: the smallest of
    // them, 059904 (20), is hidden too. In 059902, alto 2 is hidden with
    // medio 10; bajo 28 is shown as 30.
    let a: Plan<'_> = &[
        ("059901", &[("X1", "bbb")]),
        (
            "059902",
            &[("X2", &format!("aa{}{}", "m".repeat(10), "b".repeat(28)))],
        ),
        ("059903", &[("X3", &"b".repeat(30))]),
        ("059904", &[("X4", &"b".repeat(20))]),
    ];
    // (B) In 059903, sector X3 holds 27 of 30 households and X5 3: X3 would
    // learn X5's count from the total; 059903 is hidden, and 059904 with it.
    let b: Plan<'_> = &[
        ("059902", &[("X2", &"b".repeat(40))]),
        ("059903", &[("X3", &"b".repeat(27)), ("X5", "bbb")]),
        ("059904", &[("X4", &"b".repeat(20))]),
    ];
    let cases: [(Plan<'_>, [u64; 4], [bool; 4]); 2] = [
        (a, [3, 40, 30, 20], [true, false, false, true]),
        (b, [0, 40, 30, 20], [false, false, true, true]),
    ];
    for (plan, exact, want_hidden) in cases {
        let (st, tokens) = state(Some(&crafted(plan)));
        let mut seen: Option<Vec<Value>> = None;
        for (who, auth) in callers(tokens.as_ref(), &["X1", "X2", "X3", "X5"]) {
            let reports = reports_as(&st, auth.as_deref()).await;
            assert_nothing_small_recoverable(&reports, &exact);
            let hidden: Vec<bool> = reports
                .iter()
                .map(|r| r["households"]["households"].is_null())
                .collect();
            assert_eq!(hidden, want_hidden, "{who}");
            match &seen {
                None => seen = Some(reports),
                Some(first) => assert_eq!(&reports, first, "{who} sees another report"),
            }
        }
        let reports = seen.unwrap();
        for (r, (&n, hidden)) in reports.iter().zip(exact.iter().zip(want_hidden)) {
            if !hidden {
                assert_eq!(
                    r["households"]["households"],
                    round_to_base(n),
                    "{}",
                    r["code"]
                );
            }
        }
        // CSV and HTML hide the same cells alike (x), and never name a
        // household, a sector or a facility.
        for code in CODES {
            for format in ["csv", "html", "json"] {
                let body = get(&st, &report_uri(code, &format!("?format={format}")), None)
                    .await
                    .text();
                for bad in ["SYN-H", "X1", "X2", "X3", "X5", "DEMO-00001", "<5", "&lt;5"] {
                    assert!(!body.contains(bad), "{code} {format}: {bad}");
                }
            }
        }
        let csv = get(&st, &report_uri("059904", "?format=csv"), None)
            .await
            .text();
        assert!(
            csv.contains("059904,Chaski Bajo (synthetic),households,all,households,x\n"),
            "{csv}"
        );
    }
    // In (A), 059902's levels: alto 2 and medio 10 hidden together, bajo 30.
    let (st, _) = state(Some(&crafted(a)));
    let j = get(&st, &report_uri("059902", ""), None).await.json();
    let levels: Vec<Value> = j["households"]["risk_levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["households"].clone())
        .collect();
    assert_eq!(levels, vec![Value::Null, Value::Null, Value::from(30)]);
    let flags: BTreeMap<String, Value> = j["households"]["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["flag"].as_str().unwrap().to_owned(),
                f["households"].clone(),
            )
        })
        .collect();
    // Anaemia 10 of 40 and danger signs 2 of 40 (hidden with its complement).
    assert_eq!(flags["anaemia"], 10);
    assert!(flags["danger_signs"].is_null());
    assert_eq!(flags["malnutrition"], 0);
}
