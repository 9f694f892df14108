#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod analysis_layers;
pub mod auth;
pub mod catalog;
pub mod clusters;
pub mod config;
pub mod edits;
pub mod encoding;
pub mod error;
pub mod guard;
pub mod indicator_tiles;
pub mod limits;
pub mod maps;
pub mod metrics;
pub mod openapi;
pub mod package;
pub mod params;
pub mod render;
pub mod routes;
pub mod state;
pub mod styles;
pub mod travel;
pub mod whatifs;
pub mod write_limit;

use crate::error::ApiError;
use crate::routes::{accessibility, households, tiles, viewer, whatif};
use crate::state::AppState;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderName, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::time::Duration;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use config::ServerConfig;

/// The router with every endpoint. Tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    // The metrics recorder, installed before the first request is counted.
    let _ = metrics::handle();
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::IF_NONE_MATCH,
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::CONTENT_ENCODING,
            header::RETRY_AFTER,
            REQUEST_ID,
        ]);
    let limits = axum::middleware::from_fn_with_state(
        limits::Limits {
            config: std::sync::Arc::clone(&state.config),
            limiter: std::sync::Arc::clone(&state.limits),
        },
        limits::middleware,
    );
    let body_limit = axum::extract::DefaultBodyLimit::max(state.config.max_body_bytes);
    Router::new()
        .route("/", get(viewer::index))
        .route("/viewer/{file}", get(viewer::asset))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics::endpoint))
        .route("/openapi.json", get(openapi::document))
        .route("/api", get(openapi::page))
        .route("/catalog", get(routes::catalog::catalog))
        .route("/tiles/{spec}", get(tiles::tilejson))
        .route("/tiles/{layers}/{z}/{x}/{y}", get(tiles::tile))
        .route("/archives/{spec}", get(routes::archives::tilejson))
        .route("/archives/{name}/{z}/{x}/{y}", get(routes::archives::tile))
        .route("/styles/{name}", get(routes::styles::style))
        .route("/api/accessibility", get(accessibility::accessibility))
        .route("/api/villages/underserved", get(accessibility::underserved))
        .route(
            "/api/catchments",
            axum::routing::post(accessibility::catchments),
        )
        .route("/api/whatif", axum::routing::post(whatif::create))
        .route("/api/siting", axum::routing::post(routes::siting::siting))
        .route(
            "/api/whatif/{id}",
            get(whatif::summary).delete(whatif::delete),
        )
        .route("/whatif/{id}/tiles/{spec}", get(whatif::tilejson))
        .route("/whatif/{id}/tiles/{layers}/{z}/{x}/{y}", get(whatif::tile))
        .route("/api/households/summary", get(households::summary))
        .route("/api/districts/{code}/report", get(routes::report::report))
        .route(
            "/tiles/indicators.json",
            get(routes::monitoring::indicator_tilejson),
        )
        .route("/api/indicators", get(routes::monitoring::indicators_table))
        .route("/api/did", get(routes::monitoring::did_table))
        .route(
            "/tiles/indicators/{z}/{x}/{y}",
            get(routes::monitoring::indicator_tile),
        )
        .merge(household_routes(&state))
        .fallback(not_found)
        // Innermost first: limits (body size, heavy families, timeouts, JSON
        // errors), then compression, CORS, metrics, the trace span, and
        // outermost the request id every layer below sees.
        .layer(limits)
        .layer(body_limit)
        .layer(compression())
        .layer(cors)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// The header of request ids: kept from the client (or a proxy) when sent,
/// else a new UUID; echoed in every answer and in every log line of the request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The span of one request: its id, method and route template. Never the
/// path or the query string: a household route's path holds a household
/// code, and a query may hold codes or tokens.
fn request_span<B>(req: &Request<B>) -> tracing::Span {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route)
}

/// gzip or brotli for every answer the client accepts them for (JSON,
/// GeoJSON, styles, the viewer), as the client prefers by `q`, with
/// `Vary: Accept-Encoding`. Not for tiles (`application/vnd.mapbox-vector-tile`):
/// their handlers negotiate the encoding themselves and cache each encoding
/// once, under its own ETag. Nor for an answer that carries an ETag (a strong
/// ETag names one representation, and only those handlers set them) or is
/// already encoded, or is under 32 bytes (`DefaultPredicate`).
fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = DefaultPredicate::new()
        .and(NotForContentType::const_new(render::MVT_MIME))
        .and(NotForContentType::const_new("application/pdf"))
        .and(
            |_: axum::http::StatusCode,
             _: axum::http::Version,
             headers: &axum::http::HeaderMap,
             _: &axum::http::Extensions| { !headers.contains_key(header::ETAG) },
        );
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .quality(CompressionLevel::Default)
        .compress_when(predicate)
}

/// The routes of household data (and the printed maps that may show it),
/// behind [`guard::household_guard`] (one authentication,
/// `Cache-Control: private, no-store`, refused attempts in the access log).
fn household_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/api/households",
            get(households::list).post(households::upload).layer(
                axum::extract::DefaultBodyLimit::max(state.config.max_upload_bytes),
            ),
        )
        .route(
            "/api/households/{code}",
            axum::routing::delete(households::delete),
        )
        .route("/api/clusters", get(routes::clusters::clusters))
        .route("/maps/risk.pdf", get(routes::maps::pdf))
        .route("/maps/risk.png", get(routes::maps::png))
        .route("/api/visits/due", get(routes::monitoring::visits_due))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::household_guard,
        ))
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Most time `/ready` waits for the store.
const READY_STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /ready`: 200 when the server takes requests (not shutting down, the
/// store answers a cheap call within 2 s, the catalog is built), else 503
/// naming the failing checks (details in the server's log only).
#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "ready",
    tag = "server",
    summary = "Readiness",
    description = "200 when the server takes requests: not shutting down, the store answers a \
        cheap call within 2 s, the catalog is built. 503 names the failed checks \
        (`failed`: `shutdown`, `store`); the details are in the server's log only.",
    responses(
        (status = 200, description = "Ready: `{\"status\": \"ready\", \"failed\": [], \"checks\": {...}}`.", body = Object),
        (status = 503, description = "Not ready: `{\"status\": \"not ready\", \"failed\": [...], \"checks\": {...}}`.", body = Object),
    ),
)]
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    let mut failed = Vec::new();
    let shutdown = if state.is_draining() {
        failed.push("shutdown");
        "shutting down"
    } else {
        "ok"
    };
    let store = std::sync::Arc::clone(&state.store);
    let call = tokio::task::spawn_blocking(move || store.version());
    let store = match tokio::time::timeout(READY_STORE_TIMEOUT, call).await {
        Ok(Ok(Ok(_))) => "ok",
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "readiness: the store failed");
            "failed"
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the store call panicked");
            "failed"
        }
        Err(_) => {
            tracing::warn!("readiness: the store did not answer within 2 s");
            "timed out"
        }
    };
    if store != "ok" {
        failed.push("store");
    }
    let catalog = state.catalog();
    let body = json!({
        "status": if failed.is_empty() { "ready" } else { "not ready" },
        "failed": failed,
        "checks": {
            "store": store,
            "catalog": { "status": "ok", "version": catalog.version, "layers": catalog.layers.len() },
            "shutdown": shutdown,
        },
    });
    let status = if failed.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!(
        "no endpoint at '{}': see / for the viewer, /catalog for layers, /tiles/LAYERS.json for TileJSON",
        uri.path()
    ))
}

/// Keep `state`'s catalog (and so every cache keyed on the data version) up
/// to date with the store: wait for a change ([`chaski_core::store::Store::wait_for_change`]:
/// at once for a store shared with other replicas, as PostGIS notifies
/// them; a poll every `refresh` otherwise), then refresh. Runs until aborted.
pub fn spawn_refresher(state: AppState, refresh: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let s = state.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let since = s.catalog().version;
                if let Err(e) = s.store.wait_for_change(since, refresh) {
                    tracing::warn!(error = %e, "waiting for store changes failed");
                }
                s.refresh()
            })
            .await;
            let failed = match outcome {
                Ok(Ok(true)) => {
                    tracing::info!("store changed: catalog rebuilt");
                    false
                }
                Ok(Ok(false)) => false,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "catalog refresh failed");
                    true
                }
                Err(e) => {
                    tracing::warn!(error = %e, "catalog refresh panicked");
                    true
                }
            };
            if failed {
                // The version moved but the catalog could not follow: retry, not at once.
                tokio::time::sleep(refresh).await;
            }
        }
    })
}

/// Serve `state` on `listener` until Ctrl-C or SIGTERM, refreshing the catalog
/// when the store's data version changes (see [`spawn_refresher`]).
///
/// On the signal, `/ready` turns 503, no new connection is taken, and the
/// requests in flight finish; after `shutdown_drain_secs` the server returns
/// anyway (with a log line), cutting what still runs.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    refresh: Duration,
) -> std::io::Result<()> {
    serve_until(listener, state, refresh, shutdown_signal()).await
}

/// [`serve`] until `signal` completes (instead of Ctrl-C or SIGTERM).
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: AppState,
    refresh: Duration,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let task = spawn_refresher(state.clone(), refresh);
    let whatifs = std::sync::Arc::clone(&state.whatifs);
    let upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            if let Some(h) = metrics::handle() {
                h.run_upkeep();
            }
            let gone = whatifs.expire();
            if gone > 0 {
                tracing::info!(what_ifs = gone, "idle what-ifs dropped");
            }
        }
    });
    let drain = Duration::from_secs(state.config.shutdown_drain_secs);
    let (began, mut begun) = tokio::sync::watch::channel(false);
    let draining = state.clone();
    // No Nagle delay: tiles are written whole and clients pipeline many requests.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let signal = async move {
        signal.await;
        draining.start_draining();
        let _ = began.send(true);
    };
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(signal);
    let deadline = async move {
        let _ = begun.wait_for(|b| *b).await;
        tokio::time::sleep(drain).await;
    };
    let result = tokio::select! {
        r = server.into_future() => r,
        () = deadline => {
            tracing::warn!(
                drain_secs = drain.as_secs(),
                "requests still running after the drain deadline (shutdown_drain_secs): exiting"
            );
            Ok(())
        }
    };
    task.abort();
    upkeep.abort();
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining requests in flight");
}
