//! The API description (`GET /openapi.json`, the `/api` page) against the
//! router it describes, through `app(state)` on the demo region with an
//! admin token: every documented operation reaches its handler with the
//! documented examples and answers one of its documented statuses, every
//! documented query parameter is read by its handler (never refused as
//! unknown), and the fixes of what the property-based API test
//! (`scripts/api-test.sh`) found.

use crate::support::{Reply, bearer, call, config, demo_region_store, get};
use axum::http::StatusCode;
use chaski_core::auth::{Access, MemoryTokenStore, Role, TokenStore};
use chaski_server::state::AppState;
use serde_json::Value;
use std::sync::Arc;

/// The demo region (households and DEM too) with an admin token.
fn demo() -> (AppState, String) {
    let tokens = Arc::new(MemoryTokenStore::new());
    let (_, secret) = tokens
        .create(
            &Access::new(Role::Admin, None, false).unwrap(),
            Some("test"),
        )
        .unwrap();
    let state = AppState::new(Arc::new(demo_region_store()), config())
        .unwrap()
        .with_tokens(tokens);
    (state, bearer(&secret))
}

/// `value` as it goes in a URL.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encoding of a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The operation's URL with its path examples and the required query
/// parameters (their examples), plus `extra`.
fn url(path: &str, op: &Value, extra: &[(String, String)]) -> String {
    let mut url = path.to_owned();
    let mut query: Vec<(String, String)> = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap();
        match p["in"].as_str().unwrap() {
            "path" => {
                let example = text(&p["example"]);
                assert!(
                    !example.is_empty(),
                    "{path}: path parameter {name} has no example"
                );
                url = url.replace(&format!("{{{name}}}"), &example);
            }
            "query" if p["required"] == true && !extra.iter().any(|(k, _)| k == name) => {
                query.push((name.to_owned(), text(&p["example"])));
            }
            _ => {}
        }
    }
    query.extend(extra.iter().cloned());
    if !query.is_empty() {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        url = format!("{url}?{}", q.join("&"));
    }
    url
}

/// Every (path, method, operation) of the served document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((path.clone(), method.clone(), op.clone()));
        }
    }
    out
}

async fn send(state: &AppState, method: &str, uri: &str, auth: &str) -> Reply {
    call(state, &method.to_ascii_uppercase(), uri, Some(auth), None).await
}

#[tokio::test]
async fn the_description_and_its_page_are_served() {
    let (state, _) = demo();
    let r = get(&state, "/openapi.json", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "chaski");
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
    // The zoom bound of tile URLs is this server's maximum zoom.
    let z = doc["paths"]["/tiles/{layers}/{z}/{x}/{y}.mvt"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "z")
        .unwrap();
    assert_eq!(z["schema"]["maximum"], u64::from(config().max_zoom));
    // The household routes need a token; the error body is documented once.
    let list = &doc["paths"]["/api/households"]["get"];
    assert_eq!(list["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(
        doc["components"]["schemas"]["ErrorBody"]["required"],
        serde_json::json!(["error", "status"])
    );
    assert!(
        doc["components"]["responses"]["TooManyRequests"]["headers"]["Retry-After"].is_object()
    );
    let page = get(&state, "/api", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().contains("fetch(\"/openapi.json\")"));
    // No asset from elsewhere: the page works offline.
    assert!(!page.text().contains("http://") && !page.text().contains("https://"));
}

#[tokio::test]
async fn every_documented_operation_reaches_its_handler_and_answers_a_documented_status() {
    let (state, auth) = demo();
    let doc = get(&state, "/openapi.json", None).await.json();
    let ops = operations(&doc);
    assert!(ops.len() >= 30, "{}", ops.len());
    for (path, method, op) in ops {
        let uri = url(&path, &op, &[]);
        let r = send(&state, &method, &uri, &auth).await;
        let status = r.status.as_u16().to_string();
        assert!(
            !r.text().contains("no endpoint at"),
            "{method} {uri}: not routed"
        );
        assert!(
            !op["responses"][&status].is_null(),
            "{method} {uri}: {status} is not documented: {}",
            r.text()
        );
        assert!(r.status.as_u16() < 500, "{method} {uri}: {}", r.status);
    }
}

/// A value the parameter's schema (or parser) refuses, or its example.
fn bad_value(p: &Value) -> String {
    let s = &p["schema"];
    if s["enum"].is_array() {
        return "no-such-word".to_owned();
    }
    match s["type"].as_str() {
        Some("integer" | "number") => "not-a-number".to_owned(),
        Some("boolean") => "maybe".to_owned(),
        _ if !p["example"].is_null() => text(&p["example"]),
        _ => "x".to_owned(),
    }
}

#[tokio::test]
async fn every_documented_query_parameter_is_read_by_its_handler() {
    let (state, auth) = demo();
    let doc = get(&state, "/openapi.json", None).await.json();
    let mut checked = 0;
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] != "query" {
                continue;
            }
            let name = p["name"].as_str().unwrap().to_owned();
            let uri = url(&path, &op, &[(name.clone(), bad_value(p))]);
            let r = send(&state, &method, &uri, &auth).await;
            assert!(r.status.as_u16() < 500, "{method} {uri}: {}", r.status);
            if r.status == StatusCode::BAD_REQUEST {
                let e = r.json()["error"].as_str().unwrap().to_ascii_lowercase();
                assert!(!e.contains("unknown"), "{method} {uri}: {e}");
            }
            checked += 1;
        }
        // And a name it does not document is refused where names are checked.
        if [
            "/api/accessibility",
            "/api/clusters",
            "/api/indicators",
            "/maps/risk.png",
        ]
        .contains(&path.as_str())
        {
            let uri = url(&path, &op, &[("zzz".to_owned(), "1".to_owned())]);
            let r = send(&state, &method, &uri, &auth).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
            assert!(r.text().contains("zzz"), "{uri}: {}", r.text());
        }
    }
    assert!(checked > 80, "{checked}");
}

/// Found by the API test: a spatial scan of many replicates ran past the
/// request time limit (503) while its computation went on. It is now refused
/// before it starts (413 naming `replicates` and the most allowed).
#[tokio::test]
async fn a_scan_over_the_work_bound_is_refused_before_it_starts() {
    let (state, auth) = demo();
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    let n = region.layer("households").unwrap().len() as f64;
    let entries = n * (n * 0.5).floor();
    let most = (chaski_server::clusters::MAX_SCAN_WORK / entries).floor() - 1.0;
    assert!(most > 999.0 && most < 9_999.0, "{most}");
    let r = get(
        &state,
        "/api/clusters?flags=anaemia,danger_signs&replicates=9999",
        Some(&auth),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap().to_owned();
    assert!(e.contains("'replicates'"), "{e}");
    assert!(e.contains(&format!("at most {most} replicates")), "{e}");
    // And the description says so (found by the API test: 413 was undocumented).
    let doc = get(&state, "/openapi.json", None).await.json();
    assert!(doc["paths"]["/api/clusters"]["get"]["responses"]["413"].is_object());
}
