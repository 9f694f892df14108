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
pub mod maps;
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
use axum::http::{Method, header};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::time::Duration;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{Any, CorsLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use config::ServerConfig;

/// The router with every endpoint. Tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
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
        ])
        .expose_headers([header::ETAG, header::CONTENT_ENCODING]);
    Router::new()
        .route("/", get(viewer::index))
        .route("/viewer/{file}", get(viewer::asset))
        .route("/health", get(health))
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
        .route("/api/indicators", get(routes::monitoring::indicators_table))
        .route("/api/did", get(routes::monitoring::did_table))
        .route(
            "/tiles/indicators/{z}/{x}/{y}",
            get(routes::monitoring::indicator_tile),
        )
        .merge(household_routes(&state))
        .fallback(not_found)
        .layer(compression())
        .layer(cors)
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    refresh: Duration,
) -> std::io::Result<()> {
    let task = spawn_refresher(state.clone(), refresh);
    // No Nagle delay: tiles are written whole and clients pipeline many requests.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let result = axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await;
    task.abort();
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
    tracing::info!("shutting down");
}
