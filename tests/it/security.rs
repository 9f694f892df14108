//! Access control of household data through `app(state)`: the demo region in
//! a memory store, tokens in a memory token store. For every kind of caller (no
//! token, wrong token, revoked token, each role) the household API, the public
//! summary, household tiles, TileJSON and the catalog return only what that
//! caller may see; no household code or coordinate reaches a public body, an
//! error body or the captured log; `violence_risk` only with the grant.
//! Expectations are computed straight from the demo layer, not with the
//! server's access-control code.

use crate::support::{Reply, bearer, get};
use axum::http::{StatusCode, header};
use chaski_core::auth::{Access, MemoryTokenStore, Role, Token, TokenStore};
use chaski_core::layer::Layer;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_server::ServerConfig;
use chaski_server::state::AppState;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

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
    public: (Token, String),
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
    let public = mk(Role::Public, None, false);
    // The tile layer's scan with 99 replicates (999 by default) to keep debug tests quick.
    let state = AppState::new(Arc::new(store), config)
        .unwrap()
        .with_tokens(tokens.clone())
        .with_cluster_tile_options(chaski_analysis::clusters::ClusterOptions {
            replicates: 99,
            ..chaski_server::clusters::tile_cluster_options()
        });
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
        public,
    }
}

/// The access-log entries of data served (status 200), as (who, what, count).
fn served(tokens: &MemoryTokenStore) -> Vec<(Option<String>, String, u64)> {
    tokens
        .access_log()
        .unwrap()
        .into_iter()
        .filter(|e| e.status == 200)
        .map(|e| (e.who, e.what, e.count))
        .collect()
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

    // Analyst: clusters and aggregates only, never household records.
    let r = get(st, "/api/households", Some(&bearer(&fx.analyst.1))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("analyst"), "{}", r.text());
    assert!(!r.text().contains("\"features\""));

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
    let seen = served(&fx.tokens);
    let n_sector = expected(hh, |f| text(hh, f, "cha_sector") == sector).len() as u64;
    assert_eq!(
        seen,
        vec![
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

/// Paging of `GET /api/households`: the pages of a CHA token cover exactly its
/// sector's records, in one order, each once; the total is its own count (not
/// every household's); bad paging is a 400 naming the parameter; analysts and
/// no token are refused whatever the paging asks.
#[tokio::test]
async fn household_list_pages_stay_in_scope() {
    let fx = fixture();
    let hh = &fx.households;
    let st = &fx.state;
    let sector = fx.cha.0.scope.clone().unwrap();
    let want = expected(hh, |f| text(hh, f, "cha_sector") == sector);
    assert!(want.len() >= 3, "{}", want.len());
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let uri = format!("/api/households?limit=2&offset={offset}");
        let r = get(st, &uri, Some(&bearer(&fx.cha.1))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let v = r.json();
        assert_eq!(v["page"]["total"].as_u64().unwrap() as usize, want.len());
        assert_eq!(v["page"]["offset"].as_u64().unwrap() as usize, offset);
        assert_eq!(v["page"]["limit"], 2);
        let features = v["features"].as_array().unwrap();
        assert_eq!(v["count"].as_u64().unwrap() as usize, features.len());
        assert_eq!(
            v["page"]["returned"].as_u64().unwrap() as usize,
            features.len()
        );
        if features.is_empty() {
            break;
        }
        assert!(features.len() <= 2);
        seen.extend(
            features
                .iter()
                .map(|f| f["properties"]["code"].as_str().unwrap().to_owned()),
        );
        offset += features.len();
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "pages in code order");
    assert_eq!(seen.len(), want.len(), "each record once");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), want);
    // Without paging: every record of the sector on one page.
    let r = get(st, "/api/households", Some(&bearer(&fx.cha.1))).await;
    assert_eq!(
        r.json()["page"]["returned"].as_u64().unwrap() as usize,
        want.len()
    );
    // Bad paging names the parameter.
    for (uri, name) in [
        ("/api/households?limit=-1", "limit"),
        ("/api/households?limit=10001", "limit"),
        ("/api/households?offset=x", "offset"),
        ("/api/households?page=2", "page"),
    ] {
        let r = get(st, uri, Some(&bearer(&fx.cha.1))).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            r.json()["error"].as_str().unwrap().contains(name),
            "{uri}: {}",
            r.text()
        );
    }
    // Paging opens nothing to those who may not list records.
    let r = get(st, "/api/households?limit=1", Some(&bearer(&fx.analyst.1))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = get(st, "/api/households?limit=1", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.text().contains("\"features\""));
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
            if uri.starts_with("/api/households/summary") {
                // The public summary answers them exactly as no token.
                let none = get(st, uri, None).await;
                assert_eq!((r.status, &r.body), (none.status, &none.body), "{auth}");
            } else {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri} with {auth}");
                assert_eq!(r.json()["status"], 401);
            }
            if secret != "Bearer" {
                assert!(!r.text().contains(secret), "{uri}: token echoed");
                assert!(!r.text().contains(&secret[4..20]), "{uri}: token echoed");
            }
            assert_no_household(&marks, uri, &r.body);
        }
    }
    // Nothing was logged as served to rejected callers.
    assert!(served(&fx.tokens).is_empty());
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
            // Under 5 always suppressed; others shown rounded to 5 unless
            // hidden to protect them (tests/it/disclosure.rs).
            if n < 5 || g["suppressed"] == Value::Bool(true) {
                assert_eq!(g["households"], Value::Null);
                assert_eq!(g["suppressed"], Value::Bool(true));
            } else {
                assert_eq!(g["households"].as_u64(), Some((n + 2) / 5 * 5));
            }
        }
    }
    let r = get(&fx.state, "/api/households/summary?by=household", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Aggregates are not household-level: nothing in the access log.
    assert!(served(&fx.tokens).is_empty());
}

/// Tile `(x, y)` at zoom `z` holding a lon/lat, and the point's position in it (tile units, 0..4096).
fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32, f64, f64) {
    let n = f64::from(1u32 << z);
    let fx = (lon + 180.0) / 360.0 * n;
    let lr = lat.to_radians();
    let fy = (1.0 - (lr.tan() + 1.0 / lr.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (
        fx.floor() as u32,
        fy.floor() as u32,
        (fx - fx.floor()) * 4096.0,
        (fy - fy.floor()) * 4096.0,
    )
}

fn lonlat(f: &chaski_core::layer::Feature) -> (f64, f64) {
    let geo::Geometry::Point(p) = &f.geometry else {
        panic!("not a point")
    };
    (p.x(), p.y())
}

type Props = std::collections::HashMap<String, mvt_reader::feature::Value>;

/// The layers of a tile: name -> properties of each feature.
fn decode(body: &[u8]) -> BTreeMap<String, Vec<Props>> {
    let reader = mvt_reader::Reader::new(body.to_vec()).unwrap();
    let names = reader.get_layer_names().unwrap();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let feats = reader
                .get_features(i)
                .unwrap()
                .into_iter()
                .map(|f| f.properties.unwrap_or_default())
                .collect();
            (n.clone(), feats)
        })
        .collect()
}

fn prop_text(p: &Props, k: &str) -> String {
    match p.get(k) {
        Some(mvt_reader::feature::Value::String(s)) => s.clone(),
        other => panic!("{k}: {other:?}"),
    }
}

/// A kind of caller and what it may see, computed from the demo layer.
struct Who {
    label: &'static str,
    auth: Option<String>,
    token_id: Option<String>,
    /// May see household points (the `households` tile layer).
    households: bool,
    /// May see the `clusters` tile layer and `/api/clusters`.
    clusters: bool,
    /// Holds the violence grant.
    violence: bool,
    /// Codes of the households it may see (empty when none).
    visible: BTreeSet<String>,
}

fn callers(fx: &Fixture) -> Vec<Who> {
    let hh = &fx.households;
    let all = expected(hh, |_| true);
    let sector = fx.cha.0.scope.clone().unwrap();
    let in_sector = expected(hh, |f| text(hh, f, "cha_sector") == sector);
    let fac = fx.facility.0.scope.clone().unwrap();
    let in_facility = expected(hh, |f| text(hh, f, "facility") == fac);
    let none = |label, auth: Option<String>| Who {
        label,
        auth,
        token_id: None,
        households: false,
        clusters: false,
        violence: false,
        visible: BTreeSet::new(),
    };
    let tok = |label, t: &(Token, String), households, visible: &BTreeSet<String>| Who {
        label,
        auth: Some(bearer(&t.1)),
        token_id: Some(t.0.id.clone()),
        households,
        clusters: true,
        violence: t.0.violence,
        visible: visible.clone(),
    };
    vec![
        none("no token", None),
        none("wrong token", Some(bearer("chk_wrongwrongwrong"))),
        none("revoked token", Some(bearer(&fx.revoked.1))),
        Who {
            token_id: Some(fx.public.0.id.clone()),
            ..none("public token", Some(bearer(&fx.public.1)))
        },
        tok("analyst", &fx.analyst, false, &all),
        tok("admin+violence", &fx.admin_violence, true, &all),
        tok("cha", &fx.cha, true, &in_sector),
        tok("cha+violence", &fx.cha_violence, true, &in_sector),
        tok("facility", &fx.facility, true, &in_facility),
    ]
}

fn header<'a>(r: &'a Reply, h: &header::HeaderName) -> &'a str {
    r.headers.get(h).map_or("", |v| v.to_str().unwrap_or(""))
}

fn assert_private_headers(r: &Reply, what: &str) {
    assert_eq!(
        header(r, &header::CACHE_CONTROL),
        "private, no-store",
        "{what}"
    );
    assert!(header(r, &header::VARY).contains("Authorization"), "{what}");
}

#[tokio::test]
async fn catalog_tilejson_and_tiles_per_role() {
    let fx = fixture();
    let st = &fx.state;
    let hh = &fx.households;
    let marks = household_marks(hh);
    let public_names: BTreeSet<String> = st.catalog().layers.keys().cloned().collect();
    assert!(!public_names.contains("households") && !public_names.contains("clusters"));
    let mut tile_log = Vec::new();
    for who in callers(&fx) {
        let a = who.auth.as_deref();
        let what = who.label;
        // Catalog: private layers listed only for roles that may see them.
        let cat = get(st, "/catalog", a).await;
        assert_eq!(cat.status, StatusCode::OK, "{what}");
        let layers = cat.json()["layers"].as_array().unwrap().clone();
        let names: BTreeSet<String> = layers
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_owned())
            .collect();
        assert!(names.contains("communities"), "{what}");
        assert_eq!(names.contains("households"), who.households, "{what}");
        assert_eq!(names.contains("clusters"), who.clusters, "{what}");
        if !who.households {
            assert_no_household(&marks, what, &cat.body);
        }
        if let Some(l) = layers.iter().find(|l| l["name"] == "households") {
            assert_eq!(
                l["feature_count"].as_u64().unwrap() as usize,
                who.visible.len()
            );
            assert_eq!(
                l["fields"].get("violence_risk").is_some(),
                who.violence,
                "{what}"
            );
        }

        // TileJSON.
        for (name, allowed) in [("households", who.households), ("clusters", who.clusters)] {
            let uri = format!("/tiles/{name}.json");
            let r = get(st, &uri, a).await;
            if allowed {
                assert_eq!(r.status, StatusCode::OK, "{uri} {what}");
                assert_private_headers(&r, &uri);
                let j = r.json();
                assert_eq!(j["vector_layers"][0]["id"], name);
                let fields = &j["vector_layers"][0]["fields"];
                if name == "households" {
                    assert!(fields.get("code").is_some());
                    assert_eq!(
                        fields.get("violence_risk").is_some(),
                        who.violence,
                        "{what}"
                    );
                } else {
                    for f in ["id", "rank", "households", "cases", "llr", "p_value"] {
                        assert!(fields.get(f).is_some(), "{f}");
                    }
                    assert!(fields.get("members").is_none());
                }
            } else {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri} {what}");
                assert!(
                    r.json()["error"]
                        .as_str()
                        .unwrap()
                        .contains(&format!("'{name}'"))
                );
                assert_no_household(&marks, &uri, &r.body);
            }
        }

        // A household tile at the maximum zoom (no point clustering), where
        // the caller has a household (household 0's tile for the others).
        let anchor = hh
            .features
            .iter()
            .find(|f| who.visible.contains(&text(hh, f, "code")))
            .unwrap_or(&hh.features[0]);
        let (lon, lat) = lonlat(anchor);
        let (x, y, _, _) = tile_of(lon, lat, 14);
        for uri in [
            format!("/tiles/households/14/{x}/{y}.mvt"),
            format!("/tiles/communities,households/14/{x}/{y}"),
        ] {
            let r = get(st, &uri, a).await;
            if !who.households {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri} {what}");
                assert_no_household(&marks, &uri, &r.body);
                continue;
            }
            assert_eq!(r.status, StatusCode::OK, "{uri} {what}");
            assert_private_headers(&r, &uri);
            let tile = decode(&r.body);
            let feats = &tile["households"];
            let codes: BTreeSet<String> = feats.iter().map(|p| prop_text(p, "code")).collect();
            // Only the caller's households, and every one of them well inside the tile.
            assert!(
                codes.is_subset(&who.visible),
                "{what}: foreign household in tile"
            );
            for f in &hh.features {
                let (flon, flat) = lonlat(f);
                let (fx_, fy_, px, py) = tile_of(flon, flat, 14);
                let inside = (fx_, fy_) == (x, y)
                    && (1.0..4095.0).contains(&px)
                    && (1.0..4095.0).contains(&py);
                let code = text(hh, f, "code");
                if inside && who.visible.contains(&code) {
                    assert!(codes.contains(&code), "{what}: {code} missing");
                }
            }
            assert!(codes.contains(&text(hh, anchor, "code")));
            assert!(
                feats
                    .iter()
                    .all(|p| p.contains_key("violence_risk") == who.violence),
                "{what}: violence_risk"
            );
            tile_log.push((who.token_id.clone(), feats.len() as u64));
        }

        // The clusters tile where the caller's strongest shown cluster lies.
        let q = "/api/clusters?method=scan&flags=anaemia,malnutrition,danger_signs&replicates=99&seed=1997";
        let api = get(st, q, a).await;
        let shown: Vec<Value> = if who.clusters {
            assert_eq!(api.status, StatusCode::OK, "{what}: {}", api.text());
            api.json()["features"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["geometry"]["type"] == "Polygon")
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let (cx, cy) = shown.first().map_or((lon, lat), |f| {
            (
                f["properties"]["lon"].as_f64().unwrap(),
                f["properties"]["lat"].as_f64().unwrap(),
            )
        });
        let (x, y, _, _) = tile_of(cx, cy, 12);
        let uri = format!("/tiles/clusters/12/{x}/{y}");
        let r = get(st, &uri, a).await;
        if !who.clusters {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri} {what}");
            assert_no_household(&marks, &uri, &r.body);
            continue;
        }
        assert_private_headers(&r, &uri);
        assert!(
            !r.text().contains("DEMO-H"),
            "{what}: member code in clusters tile"
        );
        if let Some(top) = shown.first() {
            assert_eq!(r.status, StatusCode::OK, "{uri} {what}");
            let tile = decode(&r.body);
            let feats = &tile["clusters"];
            let ids: BTreeSet<String> = feats.iter().map(|p| prop_text(p, "id")).collect();
            assert!(
                ids.contains(top["properties"]["id"].as_str().unwrap()),
                "{what}"
            );
            for p in feats {
                assert!(!p.contains_key("members"));
                let n = match p["households"] {
                    mvt_reader::feature::Value::Int(n) | mvt_reader::feature::Value::SInt(n) => n,
                    mvt_reader::feature::Value::UInt(n) => n as i64,
                    ref other => panic!("households: {other:?}"),
                };
                assert!(n >= 5, "{what}: a cluster under 5 households drawn");
            }
        }
    }
    // Each household tile served is in the access log with its feature count;
    // besides them only the cluster answers (no member codes: count 0).
    let entries = served(&fx.tokens);
    assert!(
        entries
            .iter()
            .filter(|e| e.1 == "/api/clusters")
            .all(|e| e.2 == 0)
    );
    let log: Vec<(Option<String>, String, u64)> = entries
        .into_iter()
        .filter(|e| e.1 != "/api/clusters")
        .collect();
    let want: Vec<(Option<String>, String, u64)> = tile_log
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(w, n)| (w, "/tiles/households".to_owned(), n))
        .collect();
    assert_eq!(log, want);
    // Private tiles never entered the shared tile cache.
    st.cache.run_pending_tasks().await;
    for (k, _) in &st.cache {
        assert!(
            k.layers.split(',').all(|l| public_names.contains(l)),
            "{} cached",
            k.layers
        );
    }
    // And the public still gets 404 for a tile an admin just fetched.
    let (lon, lat) = lonlat(&hh.features[0]);
    let (x, y, _, _) = tile_of(lon, lat, 14);
    let uri = format!("/tiles/households/14/{x}/{y}.mvt");
    assert_eq!(
        get(st, &uri, Some(&bearer(&fx.admin_violence.1)))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(get(st, &uri, None).await.status, StatusCode::NOT_FOUND);
}

/// Codes of the demo households with anaemia or danger signs.
fn cases(layer: &Layer) -> BTreeSet<String> {
    expected(layer, |f| {
        layer.value(f, "anaemia") == &FieldValue::Bool(true)
            || layer.value(f, "danger_signs") == &FieldValue::Bool(true)
    })
}

/// Great-circle distance in metres (haversine).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((b.0 - a.0).to_radians() / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

#[tokio::test]
async fn clusters_api_per_role() {
    let fx = fixture();
    let st = &fx.state;
    let hh = &fx.households;
    let marks = household_marks(hh);
    let case_codes = cases(hh);
    let dbscan = "/api/clusters?method=dbscan&flags=anaemia,danger_signs";
    let with_members = format!("{dbscan}&members=true");

    // Public, no token: 403; bad tokens: 401; nothing household-level in the answers.
    for (auth, status) in [
        (None, StatusCode::FORBIDDEN),
        (Some(bearer(&fx.public.1)), StatusCode::FORBIDDEN),
        (
            Some(bearer("chk_wrongwrongwrong")),
            StatusCode::UNAUTHORIZED,
        ),
        (Some(bearer(&fx.revoked.1)), StatusCode::UNAUTHORIZED),
    ] {
        for uri in [dbscan, with_members.as_str()] {
            let r = get(st, uri, auth.as_deref()).await;
            assert_eq!(r.status, status, "{uri} {auth:?}");
            assert_no_household(&marks, uri, &r.body);
        }
    }
    let r = get(st, dbscan, None).await;
    assert!(r.json()["error"].as_str().unwrap().contains("aggregates"));

    // Analyst: every household, never member codes.
    let r = get(st, dbscan, Some(&bearer(&fx.analyst.1))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.text().contains("DEMO-H"));
    let j = r.json();
    assert_eq!(j["type"], "FeatureCollection");
    assert_eq!(j["households"].as_u64().unwrap() as usize, hh.len());
    assert_eq!(j["cases"].as_u64().unwrap() as usize, case_codes.len());
    let feats = j["features"].as_array().unwrap();
    assert!(!feats.is_empty());
    for f in feats {
        let p = &f["properties"];
        assert!(p.get("members").is_none());
        if p["households"] == "<5" {
            // Suppressed: only the centre, rounded to 0.01°, and no figures.
            assert_eq!(f["geometry"]["type"], "Point");
            for c in f["geometry"]["coordinates"].as_array().unwrap() {
                let v = c.as_f64().unwrap() * 100.0;
                assert!((v - v.round()).abs() < 1e-6, "{v}");
            }
            assert!(p["cases"].is_null() && p["radius_m"].is_null());
        } else {
            assert_eq!(f["geometry"]["type"], "Polygon");
            assert!(p["households"].as_u64().unwrap() >= 5);
        }
    }
    let r = get(st, &with_members, Some(&bearer(&fx.analyst.1))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("members"));
    // Every cluster answer is logged (tests/it/disclosure.rs checks the
    // query); the refused one only as a refusal (403).
    let analyst_log = (Some(fx.analyst.0.id.clone()), "/api/clusters".to_owned(), 0);
    assert_eq!(served(&fx.tokens), std::slice::from_ref(&analyst_log));

    // Admin, CHA and facility: member codes of their own case households only,
    // at least min_points (4) per DBSCAN cluster, logged before the answer.
    let sector = fx.cha.0.scope.clone().unwrap();
    let fac = fx.facility.0.scope.clone().unwrap();
    let mut want_log = vec![analyst_log];
    for (tok, visible) in [
        (&fx.admin_violence, expected(hh, |_| true)),
        (
            &fx.cha,
            expected(hh, |f| text(hh, f, "cha_sector") == sector),
        ),
        (
            &fx.facility,
            expected(hh, |f| text(hh, f, "facility") == fac),
        ),
    ] {
        let r = get(st, &with_members, Some(&bearer(&tok.1))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let j = r.json();
        assert_eq!(j["households"].as_u64().unwrap() as usize, visible.len());
        let mut n = 0;
        for f in j["features"].as_array().unwrap() {
            let m = f["properties"]["members"].as_array().unwrap();
            assert!(m.len() >= 4, "{m:?}");
            for code in m {
                let code = code.as_str().unwrap();
                assert!(visible.contains(code), "{code} outside the scope");
                assert!(case_codes.contains(code), "{code} is not a case");
            }
            n += m.len() as u64;
        }
        want_log.push((Some(tok.0.id.clone()), "/api/clusters".to_owned(), n));
        // Without members=true: no codes, logged with none.
        let r = get(st, dbscan, Some(&bearer(&tok.1))).await;
        assert!(!r.text().contains("DEMO-H"));
        want_log.push((Some(tok.0.id.clone()), "/api/clusters".to_owned(), 0));
    }
    let log = served(&fx.tokens);
    assert_eq!(log, want_log);

    // violence_risk as a flag only with the grant (asked first by a granted
    // token, so a cached answer must not reach the others).
    let v = "/api/clusters?method=dbscan&flags=violence_risk&min_points=1";
    let r = get(st, v, Some(&bearer(&fx.cha_violence.1))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = get(st, v, Some(&bearer(&fx.admin_violence.1))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    for tok in [&fx.analyst, &fx.cha, &fx.facility] {
        let r = get(st, v, Some(&bearer(&tok.1))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        assert!(r.text().contains("violence"));
    }

    // Bad parameters: 400 naming the parameter, nothing household-level.
    for (q, name) in [
        ("flags=anaemia&replicates=10000", "'replicates'"),
        ("flags=anaemia&replicates=many", "'replicates'"),
        ("flags=anaemia&method=kmeans", "'method'"),
        ("flags=anaemia&method=dbscan&eps=-5", "'eps'"),
        ("flags=anaemia&max_share=0", "'max_share'"),
        ("flags=anaemia&color=red", "'color'"),
        ("method=scan", "'flags'"),
        ("flags=stunting", "'flags'"),
        ("flags=anaemia&method=gistar&by=street", "'by'"),
    ] {
        let r = get(
            st,
            &format!("/api/clusters?{q}"),
            Some(&bearer(&fx.analyst.1)),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}: {}", r.text());
        let e = r.json()["error"].as_str().unwrap().to_owned();
        assert!(e.contains(name), "{q}: {e}");
        assert_no_household(&marks, q, &r.body);
    }
    let r = get(
        st,
        "/api/clusters?flags=anaemia&replicates=10000",
        Some(&bearer(&fx.analyst.1)),
    )
    .await;
    assert!(r.text().contains("9999"));

    // The scan finds a planted cluster (p <= 0.01 with 99 replicates), and the
    // same request again comes from the cache.
    let planted = chaski_demo::generate(&chaski_demo::DemoOptions::default()).clusters;
    let scan = "/api/clusters?method=scan&flags=anaemia,danger_signs&replicates=99&seed=1";
    let before = st.private.cached_results().await;
    let r = get(st, scan, Some(&bearer(&fx.analyst.1))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    let top = &j["features"][0]["properties"];
    assert_eq!(top["id"], "S1");
    assert!(
        (top["p_value"].as_f64().unwrap() - 0.01).abs() < 1e-9,
        "{top}"
    );
    let c = (top["lon"].as_f64().unwrap(), top["lat"].as_f64().unwrap());
    let rad = top["radius_m"].as_f64().unwrap();
    assert!(
        planted
            .iter()
            .any(|p| metres(c, (p.lon, p.lat)) <= rad + 500.0),
        "{top} vs {planted:?}"
    );
    assert_eq!(st.private.cached_results().await, before + 1);
    let again = get(st, scan, Some(&bearer(&fx.admin_violence.1))).await;
    assert_eq!(
        again.body, r.body,
        "same scope (all households), same answer"
    );
    assert_eq!(st.private.cached_results().await, before + 1);
}

/// Strings identifying a household: its code and its coordinate pair as JSON
/// and as Rust debug output print it.
fn household_pairs(layer: &Layer) -> Vec<String> {
    let mut marks = vec!["DEMO-H".to_owned()];
    for f in &layer.features {
        let (x, y) = lonlat(f);
        let (xs, ys) = (
            serde_json::to_string(&x).unwrap(),
            serde_json::to_string(&y).unwrap(),
        );
        marks.push(format!("{xs},{ys}"));
        marks.push(format!("{xs}, {ys}"));
    }
    marks
}

#[tokio::test]
async fn no_household_reaches_the_public_anywhere() {
    let fx = fixture();
    let st = &fx.state;
    let hh = &fx.households;
    let captured = capture_logs();
    let marks = household_pairs(hh);
    let public_names: BTreeSet<String> = st.catalog().layers.keys().cloned().collect();
    let (lon, lat) = lonlat(&hh.features[0]);
    let (x14, y14, _, _) = tile_of(lon, lat, 14);
    let (x12, y12, _, _) = tile_of(lon, lat, 12);
    let village = region_point(st, "communities");
    let endpoints: Vec<String> = vec![
        "/catalog".into(),
        "/tiles/communities.json".into(),
        "/tiles/households.json".into(),
        "/tiles/clusters.json".into(),
        "/tiles/communities,households.json".into(),
        format!("/tiles/households/14/{x14}/{y14}.mvt"),
        format!("/tiles/communities,households/14/{x14}/{y14}.mvt"),
        format!("/tiles/clusters/12/{x12}/{y12}.mvt"),
        format!("/tiles/communities,clusters/12/{x12}/{y12}.mvt"),
        format!("/tiles/communities/12/{x12}/{y12}.mvt"),
        "/api/households".into(),
        "/api/households/summary?by=community".into(),
        "/api/clusters?method=dbscan&flags=anaemia".into(),
        "/api/clusters?method=dbscan&flags=anaemia&members=true".into(),
        "/api/clusters?flags=anaemia&replicates=99999".into(),
        format!("/api/accessibility?lon={}&lat={}", village.0, village.1),
        "/api/villages/underserved?minutes=60".into(),
    ];
    let public = [
        None,
        Some(bearer("chk_wrongwrongwrong")),
        Some(bearer(&fx.revoked.1)),
        Some(bearer(&fx.public.1)),
    ];
    for auth in &public {
        for uri in &endpoints {
            let r = get(st, uri, auth.as_deref()).await;
            let what = format!("{uri} with {auth:?}");
            assert!(
                r.status.is_success() || r.status.is_client_error(),
                "{what}: {}",
                r.status
            );
            assert_no_household(&marks, &what, &r.body);
            let private_name =
                uri.contains("households") && !uri.contains("summary") || uri.contains("clusters");
            if uri.starts_with("/tiles/") && private_name {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}");
            }
            if uri.starts_with("/tiles/")
                && r.status == StatusCode::OK
                && !std::path::Path::new(uri.split('?').next().unwrap())
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            {
                let tile = decode(&r.body);
                assert!(tile.keys().all(|k| public_names.contains(k)), "{what}");
            }
            if uri.starts_with("/api/households?")
                || uri == "/api/households"
                || uri.starts_with("/api/clusters")
            {
                assert!(
                    matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
                    "{what}: {}",
                    r.status
                );
            }
            if uri == "/catalog" {
                let j = r.json();
                for l in j["layers"].as_array().unwrap() {
                    assert!(public_names.contains(l["name"].as_str().unwrap()), "{what}");
                }
            }
        }
    }
    // Nothing was logged as served to them, and the log output names no household.
    assert!(served(&fx.tokens).is_empty());
    // Authorized callers' household answers are logged by token id, never with codes or points.
    for t in [&fx.admin_violence, &fx.cha, &fx.analyst] {
        for uri in &endpoints {
            get(st, uri, Some(&bearer(&t.1))).await;
        }
    }
    let log = String::from_utf8(captured.lock().unwrap().clone()).unwrap();
    assert_no_household(&marks, "log", log.as_bytes());
    assert!(log.contains("household tile served"), "{log}");
    assert!(log.contains("cluster member codes served"), "{log}");
    for t in [
        &fx.admin_violence,
        &fx.cha,
        &fx.analyst,
        &fx.revoked,
        &fx.public,
    ] {
        assert!(!log.contains(&t.1[4..]), "secret in log");
    }
}

/// A point of a public layer (for the travel-time API).
fn region_point(st: &AppState, layer: &str) -> (f64, f64) {
    let l = st.store.read_layer(layer).unwrap();
    lonlat(&l.features[0])
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
    let secrets = [
        &fx.admin_violence,
        &fx.cha_violence,
        &fx.facility,
        &fx.revoked,
    ];
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
