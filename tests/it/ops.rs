//! The operations side of the server through `app(state)` with `oneshot`:
//! body-size, concurrency, timeout and list limits answered as JSON naming
//! the limit; `/ready` (a store that fails, a server shutting down);
//! `/metrics` (route templates and statuses, never a raw path; off, or
//! behind a token); request ids echoed.

use crate::support::{Reply, call, config, get};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_core::layer::Layer;
use chaski_core::layer::LayerKind;
use chaski_core::raster::Raster;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{
    EditFn, EditScope, EditSummary, LayerInfo, RasterInfo, Store, StoreError, WriteMode,
    WriteSummary,
};
use chaski_server::limits::Family;
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tower::ServiceExt;

/// The demo region (with its DEM) in a memory store.
fn region_store() -> MemoryStore {
    crate::support::demo_region_store()
}

fn state_with(config: ServerConfig) -> AppState {
    AppState::new(Arc::new(region_store()), config).unwrap()
}

/// A point source in the demo region, as the body of `POST /api/catchments`.
const SOURCE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[-74.11474,-12.928104]}}]}"#;

fn assert_json_error(r: &Reply, status: StatusCode, names: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let j = r.json();
    assert_eq!(j["status"], status.as_u16(), "{j}");
    let msg = j["error"].as_str().unwrap();
    assert!(msg.contains(names), "'{msg}' does not name {names}");
}

#[tokio::test]
async fn a_body_over_max_body_bytes_is_413_json_naming_the_key() {
    let st = state_with(ServerConfig {
        max_body_bytes: 100,
        ..config()
    });
    let big = format!("{SOURCE}{}", " ".repeat(200));
    // Declared with Content-Length: refused before the body is read.
    let res = app(st.clone())
        .oneshot(
            Request::post("/api/catchments")
                .header(header::CONTENT_TYPE, "application/geo+json")
                .header(header::CONTENT_LENGTH, big.len())
                .body(Body::from(big.clone()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        j["error"].as_str().unwrap().contains("max_body_bytes"),
        "{j}"
    );
    // Without Content-Length: the extractor's refusal, as JSON naming the key too.
    let r = call(
        &st,
        "POST",
        "/api/catchments",
        None,
        Some(("application/geo+json", big)),
    )
    .await;
    assert_json_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "max_body_bytes");
    // Under the bound the same request is served.
    let r = call(
        &state_with(config()),
        "POST",
        "/api/catchments?bands=30",
        None,
        Some(("application/geo+json", SOURCE.to_owned())),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn a_full_family_is_429_with_retry_after_naming_the_limit() {
    let st = state_with(ServerConfig {
        catchments_permits: 1,
        heavy_queue: 0,
        ..config()
    });
    let held = st.limits.acquire(Family::Catchments).await.unwrap();
    let r = call(
        &st,
        "POST",
        "/api/catchments?bands=30",
        None,
        Some(("application/geo+json", SOURCE.to_owned())),
    )
    .await;
    assert_json_error(&r, StatusCode::TOO_MANY_REQUESTS, "catchments_permits");
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    // Other endpoints are not held up.
    assert_eq!(get(&st, "/catalog", None).await.status, StatusCode::OK);
    drop(held);
    let r = call(
        &st,
        "POST",
        "/api/catchments?bands=30",
        None,
        Some(("application/geo+json", SOURCE.to_owned())),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn zero_permits_close_a_family() {
    let st = state_with(ServerConfig {
        siting_permits: 0,
        heavy_queue_wait_ms: 0,
        ..config()
    });
    let r = call(
        &st,
        "POST",
        "/api/siting",
        None,
        Some(("application/json", "{}".to_owned())),
    )
    .await;
    assert_json_error(&r, StatusCode::TOO_MANY_REQUESTS, "siting_permits = 0");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn a_request_over_its_time_is_503_json_naming_the_timeout() {
    // The request waits in the queue of a held family longer than its timeout.
    let st = state_with(ServerConfig {
        catchments_permits: 1,
        heavy_queue: 4,
        heavy_queue_wait_ms: 60_000,
        heavy_timeout_secs: 1,
        ..config()
    });
    let _held = st.limits.acquire(Family::Catchments).await.unwrap();
    let r = call(
        &st,
        "POST",
        "/api/catchments",
        None,
        Some(("application/geo+json", SOURCE.to_owned())),
    )
    .await;
    assert_json_error(&r, StatusCode::SERVICE_UNAVAILABLE, "heavy_timeout_secs");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        st.limits.queued(Family::Catchments),
        0,
        "the cut request left the queue"
    );
}

#[tokio::test]
async fn list_bounds_are_400_naming_the_key() {
    let st = state_with(ServerConfig {
        max_list_limit: 5,
        max_bbox_deg2: 1.0,
        ..config()
    });
    let r = get(&st, "/api/villages/underserved?minutes=60&limit=6", None).await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "max_list_limit");
    let r = get(
        &st,
        "/api/villages/underserved?minutes=60&bbox=-76,-14,-73,-12",
        None,
    )
    .await;
    assert_json_error(&r, StatusCode::BAD_REQUEST, "max_bbox_deg2");
    let r = get(
        &st,
        "/api/villages/underserved?minutes=60&limit=5&bbox=-74.5,-13.3,-73.8,-12.6",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.json()["features"].as_array().unwrap().len() <= 5);
}

#[tokio::test]
async fn axum_refusals_are_json_too() {
    let st = state_with(config());
    let r = call(&st, "POST", "/catalog", None, None).await;
    assert_json_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method POST");
    assert!(r.headers.contains_key(header::ALLOW));
}

#[tokio::test]
async fn request_ids_are_kept_or_made_and_echoed() {
    let st = state_with(config());
    let res = app(st.clone())
        .oneshot(
            Request::get("/health")
                .header("x-request-id", "proxy-42")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "proxy-42");
    let made = get(&st, "/health", None).await;
    let id = made.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let again = get(&st, "/health", None).await;
    assert_ne!(again.headers["x-request-id"].to_str().unwrap(), id);
    // Errors carry it too.
    let missing = get(&st, "/nowhere", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_status() {
    let st = state_with(config());
    assert_eq!(get(&st, "/catalog", None).await.status, StatusCode::OK);
    let tile = get(&st, "/tiles/communities/8/75/137", None).await;
    assert!(tile.status.is_success());
    // A household code in a path is never a label.
    let r = call(&st, "DELETE", "/api/households/SECRETCODE77", None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let m = get(&st, "/metrics", None).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = m.text();
    let has = |parts: &[&str]| text.lines().any(|l| parts.iter().all(|p| l.contains(p)));
    assert!(
        has(&[
            "chaski_http_requests_total{",
            "route=\"/catalog\"",
            "status=\"200\""
        ]),
        "{text}"
    );
    assert!(has(&[
        "chaski_http_requests_total{",
        "route=\"/api/households/{code}\"",
        "status=\"401\""
    ]));
    assert!(has(&[
        "chaski_http_request_duration_seconds_bucket{",
        "route=\"/tiles/{layers}/{z}/{x}/{y}\""
    ]));
    assert!(has(&["chaski_tile_cache_misses_total{", "cache=\"base\""]));
    assert!(has(&["chaski_tile_cache_bytes{", "cache=\"base\""]));
    assert!(has(&["chaski_queue_depth{", "family=\"clusters\""]));
    assert!(has(&["chaski_in_flight{", "family=\"catchments\""]));
    assert!(!text.contains("SECRETCODE77"));
}

#[tokio::test]
async fn metrics_can_be_turned_off_or_put_behind_a_token() {
    let off = state_with(ServerConfig {
        metrics: false,
        ..config()
    });
    assert_eq!(
        get(&off, "/metrics", None).await.status,
        StatusCode::NOT_FOUND
    );
    let guarded = state_with(ServerConfig {
        metrics_token: Some("m-secret".into()),
        ..config()
    });
    let r = get(&guarded, "/metrics", None).await;
    assert_json_error(&r, StatusCode::UNAUTHORIZED, "metrics_token");
    let r = get(&guarded, "/metrics", Some("Bearer wrong")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = get(&guarded, "/metrics", Some("Bearer m-secret")).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// A memory store whose every call fails once `down` is set.
struct FlakyStore {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
}

impl FlakyStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::Backend("connection refused".into()))
        } else {
            Ok(())
        }
    }
}

impl Store for FlakyStore {
    fn backend(&self) -> &'static str {
        "flaky"
    }
    fn layers(&self) -> Result<Vec<LayerInfo>, StoreError> {
        self.check()?;
        self.inner.layers()
    }
    fn read_layer(&self, name: &str) -> Result<Layer, StoreError> {
        self.check()?;
        self.inner.read_layer(name)
    }
    fn write_layer(&self, layer: &Layer, mode: WriteMode) -> Result<WriteSummary, StoreError> {
        self.check()?;
        self.inner.write_layer(layer, mode)
    }
    fn edit_layer(
        &self,
        name: &str,
        kind: LayerKind,
        scope: EditScope<'_>,
        edit: &mut EditFn<'_>,
    ) -> Result<Option<EditSummary>, StoreError> {
        self.check()?;
        self.inner.edit_layer(name, kind, scope, edit)
    }
    fn delete_layer(&self, name: &str) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.delete_layer(name)
    }
    fn rasters(&self) -> Result<Vec<RasterInfo>, StoreError> {
        self.check()?;
        self.inner.rasters()
    }
    fn read_raster(&self, name: &str) -> Result<Raster<f32>, StoreError> {
        self.check()?;
        self.inner.read_raster(name)
    }
    fn write_raster(&self, name: &str, raster: &Raster<f32>) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.write_raster(name, raster)
    }
    fn version(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.version()
    }
}

#[tokio::test]
async fn ready_is_503_naming_the_store_when_it_fails_and_while_shutting_down() {
    let down = Arc::new(AtomicBool::new(false));
    let store = FlakyStore {
        inner: region_store(),
        down: Arc::clone(&down),
    };
    let st = AppState::new(Arc::new(store), config()).unwrap();
    let r = get(&st, "/ready", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "ready");
    assert_eq!(r.json()["checks"]["store"], "ok");

    down.store(true, Ordering::SeqCst);
    let r = get(&st, "/ready", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let j = r.json();
    assert_eq!(j["failed"], serde_json::json!(["store"]), "{j}");
    assert!(
        !r.text().contains("connection refused"),
        "details stay in the log"
    );
    // Alive all the same.
    assert_eq!(get(&st, "/health", None).await.status, StatusCode::OK);

    down.store(false, Ordering::SeqCst);
    assert_eq!(get(&st, "/ready", None).await.status, StatusCode::OK);
    st.start_draining();
    let r = get(&st, "/ready", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["failed"], serde_json::json!(["shutdown"]));
}

#[tokio::test]
async fn serve_drains_a_request_in_flight_then_returns() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let st = state_with(ServerConfig {
        shutdown_drain_secs: 30,
        ..config()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chaski_server::serve_until(
        listener,
        st.clone(),
        std::time::Duration::from_secs(30),
        async move {
            let _ = stopped.await;
        },
    ));
    // Half a request: the headers and part of the body.
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/catchments?bands=30 HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/geo+json\r\nContent-Length: {}\r\n\r\n",
        SOURCE.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = SOURCE.split_at(20);
    conn.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(st.is_draining());
    assert!(
        !server.is_finished(),
        "the server waits for the request in flight"
    );
    conn.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("\"type\":\"FeatureCollection\""),
        "{answer}"
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("serve returns once drained")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn serve_returns_at_the_drain_deadline_with_a_request_stuck() {
    use tokio::io::AsyncWriteExt;
    let st = state_with(ServerConfig {
        shutdown_drain_secs: 1,
        ..config()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(chaski_server::serve_until(
        listener,
        st,
        std::time::Duration::from_secs(30),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    conn.write_all(
        format!("POST /api/catchments HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 1000\r\n\r\n{{")
            .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let asked = std::time::Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("serve returns after the drain deadline")
        .unwrap()
        .unwrap();
    assert!(asked.elapsed() >= std::time::Duration::from_millis(900));
    drop(conn);
}
