//! Access control of household data through `app(state)`: the demo region in
//! a memory store, tokens in a memory token store. For every kind of caller (no
//! token, wrong token, revoked token, each role) the household API, the public
//! summary, household tiles, TileJSON and the catalog return only what that
//! caller may see; no household code or coordinate reaches a public body, an
//! error body or the captured log; `violence_risk` only with the grant.
//! Expectations are computed straight from the demo layer, not with the
//! server's access-control code.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_core::access_control::{Access, MemoryTokenStore, Role, Token, TokenStore};
use chaski_core::layer::Layer;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

struct Fixture {
    state: AppState,
    tokens: Arc<MemoryTokenStore>,
    households: Layer,
    analyst: (Token, String),
    admin_violence: (Token, String),
    cha: (Token, String),
    cha_violence: (Token, String),
    facility: (Token, String),
    revoked: (Token, String),
}

fn text(layer: &Layer, f: &chaski_core::layer::Feature, field: &str) -> String {
    match layer.value(f, field) {
        FieldValue::Text(t) => t.clone(),
        other => panic!("{field}: {other:?}"),
    }
}

fn fixture() -> Fixture {
    let store = MemoryStore::new();
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    for l in &region.layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    let households = region.layer("households").unwrap().clone();
    assert!(households.len() > 100);
    // A sector and a facility from the data, with a violence-risk household in the sector.
    let vi = households
        .features
        .iter()
        .find(|f| households.value(f, "violence_risk") == &FieldValue::Bool(true))
        .expect("demo has violence-risk households");
    let sector = text(&households, vi, "cha_sector");
    let facility = text(&households, &households.features[0], "facility");
    let config = ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        ..ServerConfig::default()
    };
    let tokens = Arc::new(MemoryTokenStore::new());
    let mk = |role, scope: Option<&str>, violence| {
        tokens
            .create(
                &Access::new(role, scope.map(str::to_owned), violence).unwrap(),
                Some("test"),
            )
            .unwrap()
    };
    let analyst = mk(Role::Analyst, None, false);
    let admin_violence = mk(Role::Admin, None, true);
    let cha = mk(Role::Cha, Some(&sector), false);
    let cha_violence = mk(Role::Cha, Some(&sector), true);
    let facility = mk(Role::Facility, Some(&facility), false);
    let revoked = mk(Role::Analyst, None, true);
    tokens.revoke(&revoked.0.id).unwrap();
    let state = AppState::new(Arc::new(store), config)
        .unwrap()
        .with_tokens(tokens.clone());
    Fixture {
        state,
        tokens,
        households,
        analyst,
        admin_violence,
        cha,
        cha_violence,
        facility,
        revoked,
    }
}

struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn get(state: &AppState, uri: &str, auth: Option<&str>) -> Reply {
    let mut req = Request::get(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let res = app(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, body }
}

fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

/// Strings that identify a household: its code and its coordinates as JSON prints them.
fn household_marks(layer: &Layer) -> Vec<String> {
    let mut marks = vec!["DEMO-H".to_owned()];
    for f in &layer.features {
        if let geo::Geometry::Point(p) = &f.geometry {
            marks.push(serde_json::to_string(&p.x()).unwrap());
            marks.push(serde_json::to_string(&p.y()).unwrap());
        }
    }
    marks
}

fn assert_no_household(marks: &[String], what: &str, body: &[u8]) {
    let s = String::from_utf8_lossy(body);
    for m in marks {
        assert!(
            !s.contains(m.as_str()),
            "{what}: body contains '{m}': {s:.300}"
        );
    }
}

/// Household codes in a `/api/households` answer, and whether any feature has `violence_risk`.
fn codes_of(reply: &Reply) -> (BTreeSet<String>, bool) {
    let v = reply.json();
    let features = v["features"].as_array().unwrap();
    assert_eq!(v["count"].as_u64().unwrap() as usize, features.len());
    let mut codes = BTreeSet::new();
    let mut violence = false;
    for f in features {
        let props = f["properties"].as_object().unwrap();
        codes.insert(props["code"].as_str().unwrap().to_owned());
        violence |= props.contains_key("violence_risk");
    }
    (codes, violence)
}

fn expected(
    layer: &Layer,
    keep: impl Fn(&chaski_core::layer::Feature) -> bool,
) -> BTreeSet<String> {
    layer
        .features
        .iter()
        .filter(|f| keep(f))
        .map(|f| text(layer, f, "code"))
        .collect()
}

#[tokio::test]
async fn households_api_per_role() {
    let fx = fixture();
    let hh = &fx.households;
    let st = &fx.state;

    // Analyst: everything, violence_risk stripped.
    let r = get(st, "/api/households", Some(&bearer(&fx.analyst.1))).await;
    assert_eq!(r.status, StatusCode::OK);
    let (codes, violence) = codes_of(&r);
    assert_eq!(codes, expected(hh, |_| true));
    assert!(!violence);
    assert!(!r.text().contains("violence_risk\":"));

    // Admin with the grant: everything, violence_risk as in the data.
    let r = get(st, "/api/households", Some(&bearer(&fx.admin_violence.1))).await;
    let v = r.json();
    let by_code: BTreeMap<String, bool> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["properties"]["code"].as_str().unwrap().to_owned(),
                f["properties"]["violence_risk"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_code.len(), hh.len());
    for f in &hh.features {
        assert_eq!(
            FieldValue::Bool(by_code[&text(hh, f, "code")]),
            *hh.value(f, "violence_risk")
        );
    }
    // Coordinates are the stored ones.
    let f0 = &v["features"][0];
    let src = hh
        .features
        .iter()
        .find(|f| text(hh, f, "code") == f0["properties"]["code"].as_str().unwrap())
        .unwrap();
    let geo::Geometry::Point(p) = &src.geometry else {
        panic!("not a point")
    };
    // Exact: JSON numbers round-trip f64.
    assert_eq!(
        f0["geometry"]["coordinates"][0].as_f64().unwrap().to_bits(),
        p.x().to_bits()
    );
    // Exact: JSON numbers round-trip f64.
    assert_eq!(
        f0["geometry"]["coordinates"][1].as_f64().unwrap().to_bits(),
        p.y().to_bits()
    );

    // CHA: its sector only; with and without the grant.
    let sector = fx.cha.0.scope.clone().unwrap();
    let want = expected(hh, |f| text(hh, f, "cha_sector") == sector);
    assert!(!want.is_empty() && want.len() < hh.len());
    let r = get(st, "/api/households", Some(&bearer(&fx.cha.1))).await;
    assert_eq!(codes_of(&r), (want.clone(), false));
    let r = get(st, "/api/households", Some(&bearer(&fx.cha_violence.1))).await;
    let (codes, violence) = codes_of(&r);
    assert_eq!(codes, want);
    assert!(violence);
    assert!(
        r.json()["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["properties"]["violence_risk"] == Value::Bool(true))
    );

    // Facility: its RENIPRESS code only.
    let fac = fx.facility.0.scope.clone().unwrap();
    let want = expected(hh, |f| text(hh, f, "facility") == fac);
    assert!(!want.is_empty() && want.len() < hh.len());
    let r = get(st, "/api/households", Some(&bearer(&fx.facility.1))).await;
    assert_eq!(codes_of(&r), (want, false));

    // Every household answer is in the access log, by token id, with its count.
    let log = fx.tokens.access_log().unwrap();
    let seen: Vec<(Option<String>, String, u64)> = log
        .iter()
        .map(|e| (e.who.clone(), e.what.clone(), e.count))
        .collect();
    let n_sector = expected(hh, |f| text(hh, f, "cha_sector") == sector).len() as u64;
    assert_eq!(
        seen,
        vec![
            (
                Some(fx.analyst.0.id.clone()),
                "/api/households".into(),
                hh.len() as u64
            ),
            (
                Some(fx.admin_violence.0.id.clone()),
                "/api/households".into(),
                hh.len() as u64
            ),
            (
                Some(fx.cha.0.id.clone()),
                "/api/households".into(),
                n_sector
            ),
            (
                Some(fx.cha_violence.0.id.clone()),
                "/api/households".into(),
                n_sector
            ),
            (
                Some(fx.facility.0.id.clone()),
                "/api/households".into(),
                expected(hh, |f| text(hh, f, "facility") == fac).len() as u64
            ),
        ]
    );
}

#[tokio::test]
async fn public_and_rejected_callers_see_no_household() {
    let fx = fixture();
    let st = &fx.state;
    let marks = household_marks(&fx.households);

    // No token: 403 saying only aggregates are public.
    let r = get(st, "/api/households", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("only aggregates are public")
    );
    assert_no_household(&marks, "403", &r.body);

    // Wrong, malformed, unknown-scheme and revoked tokens: 401, token not echoed.
    let wrong = "chk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for (auth, secret) in [
        (bearer(wrong), wrong),
        (format!("Basic {wrong}"), wrong),
        ("Bearer".to_owned(), "Bearer"),
        (bearer(&fx.revoked.1), fx.revoked.1.as_str()),
    ] {
        for uri in ["/api/households", "/api/households/summary?by=community"] {
            let r = get(st, uri, Some(&auth)).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri} with {auth}");
            assert_eq!(r.json()["status"], 401);
            if secret != "Bearer" {
                assert!(!r.text().contains(secret), "{uri}: token echoed");
                assert!(!r.text().contains(&secret[4..20]), "{uri}: token echoed");
            }
            assert_no_household(&marks, uri, &r.body);
        }
    }
    // Nothing was logged as served to rejected callers.
    assert!(fx.tokens.access_log().unwrap().is_empty());
}

#[tokio::test]
async fn summary_suppresses_small_counts() {
    let fx = fixture();
    let hh = &fx.households;
    let marks = household_marks(hh);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for f in &hh.features {
        *want.entry(text(hh, f, "community")).or_default() += 1;
    }
    assert!(
        want.values().any(|&n| n < 5),
        "demo needs a small community"
    );
    assert!(want.values().any(|&n| n >= 5));
    for auth in [None, Some(bearer(&fx.analyst.1))] {
        let r = get(
            &fx.state,
            "/api/households/summary?by=community",
            auth.as_deref(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_no_household(&marks, "summary", &r.body);
        let v = r.json();
        let groups = v["groups"].as_array().unwrap();
        assert_eq!(groups.len(), want.len());
        for g in groups {
            let n = want[g["community"].as_str().unwrap()];
            if n < 5 {
                assert_eq!(g["households"], Value::Null);
                assert_eq!(g["suppressed"], Value::Bool(true));
            } else {
                assert_eq!(g["households"].as_u64(), Some(n));
                assert_eq!(g["suppressed"], Value::Bool(false));
            }
        }
    }
    let r = get(&fx.state, "/api/households/summary?by=household", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Aggregates are not household-level: nothing in the access log.
    assert!(fx.tokens.access_log().unwrap().is_empty());
}

#[tokio::test]
async fn tiles_and_catalog_never_carry_households() {
    let fx = fixture();
    let st = &fx.state;
    let marks = household_marks(&fx.households);
    let geo::Geometry::Point(p) = &fx.households.features[0].geometry else {
        panic!("not a point")
    };
    let n = 4096.0;
    let x = ((p.x() + 180.0) / 360.0 * n).floor() as u32;
    let lr = p.y().to_radians();
    let y =
        ((1.0 - (lr.tan() + 1.0 / lr.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    let tile = format!("/tiles/households/12/{x}/{y}");
    let mixed = format!("/tiles/communities,households/12/{x}/{y}");
    let callers: Vec<Option<String>> = vec![
        None,
        Some(bearer("chk_wrong")),
        Some(bearer(&fx.revoked.1)),
        Some(bearer(&fx.analyst.1)),
        Some(bearer(&fx.admin_violence.1)),
        Some(bearer(&fx.cha_violence.1)),
        Some(bearer(&fx.facility.1)),
    ];
    for auth in &callers {
        let a = auth.as_deref();
        let cat = get(st, "/catalog", a).await;
        assert_eq!(cat.status, StatusCode::OK);
        let names: Vec<String> = cat.json()["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(names.contains(&"communities".to_owned()));
        assert!(!names.contains(&"households".to_owned()));
        assert_no_household(&marks, "catalog", &cat.body);
        for uri in ["/tiles/households.json", tile.as_str(), mixed.as_str()] {
            let r = get(st, uri, a).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri} {a:?}");
            assert_no_household(&marks, uri, &r.body);
        }
    }
}

thread_local! {
    /// Where the current thread's log output goes (None: discarded).
    static CAPTURE: std::cell::RefCell<Option<Arc<Mutex<Vec<u8>>>>> =
        const { std::cell::RefCell::new(None) };
}

/// A writer appending to the current thread's capture buffer, if any.
struct ThreadCapture;

impl Write for ThreadCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some(b) = c.borrow().as_ref() {
                b.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Capture this thread's log output (at every level) from now on.
///
/// A global subscriber (installed once) rather than a scoped one: scoped
/// subscribers race with the callsite-interest cache when other tests log on
/// other threads at the same time. Output of threads not capturing is dropped.
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadCapture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    let buf = Arc::new(Mutex::new(Vec::new()));
    CAPTURE.with(|c| *c.borrow_mut() = Some(buf.clone()));
    buf
}

#[tokio::test]
async fn logs_name_the_token_never_the_secret_or_households() {
    let fx = fixture();
    let captured = capture_logs();
    let secrets = [&fx.analyst, &fx.cha_violence, &fx.facility, &fx.revoked];
    for (_, secret) in secrets {
        get(&fx.state, "/api/households", Some(&bearer(secret))).await;
    }
    get(
        &fx.state,
        "/api/households",
        Some("Bearer chk_wrongwrongwrong"),
    )
    .await;
    get(&fx.state, "/api/households", None).await;
    get(&fx.state, "/api/households/summary?by=community", None).await;
    get(&fx.state, "/tiles/households.json", None).await;
    let log = String::from_utf8(captured.lock().unwrap().clone()).unwrap();
    assert_eq!(log.matches("household records served").count(), 3, "{log}");
    assert_eq!(
        log.matches("revoked bearer token refused").count(),
        2,
        "{log}"
    );
    for (token, secret) in secrets {
        assert!(!log.contains(&secret[4..]), "secret in log");
        if token.id != fx.revoked.0.id {
            assert!(
                log.contains(&token.id),
                "token id {} missing from log: {log}",
                token.id
            );
        }
    }
    assert!(!log.contains("wrongwrongwrong"));
    assert_no_household(&household_marks(&fx.households), "log", log.as_bytes());
}
