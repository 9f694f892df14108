//! `GET /metrics`: the server's counters in the Prometheus text format,
//! recorded with the `metrics` facade into one process-wide
//! `metrics-exporter-prometheus` recorder ([`handle`]).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `chaski_http_requests_total` | counter | `method`, `route` (the route template, e.g. `/tiles/{layers}/{z}/{x}/{y}`; `unmatched` for 404s outside every route), `status` |
//! | `chaski_http_request_duration_seconds` | histogram | `method`, `route` |
//! | `chaski_tile_cache_hits_total`, `chaski_tile_cache_misses_total` | counter | `cache` (`base`, `whatif`, `archive`) |
//! | `chaski_tile_cache_bytes`, `chaski_tile_cache_entries` | gauge | `cache` (`base`, `whatif`) |
//! | `chaski_tile_bytes_total` | counter | `route` (bytes of tile bodies sent, 200 answers) |
//! | `chaski_analysis_duration_seconds` | histogram | `family` (time a heavy request held its permit) |
//! | `chaski_in_flight`, `chaski_queue_depth`, `chaski_permits` | gauge | `family` |
//! | `chaski_limit_rejected_total` | counter | `family` (429 answers of a full family) |
//! | `chaski_request_timeouts_total` | counter | |
//! | `chaski_catalog_version`, `chaski_draining` | gauge | |
//!
//! Routes are labelled by template, never by path: a path may hold a
//! household code, and query strings are never recorded.

use crate::error::ApiError;
use crate::limits::Family;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Bucket bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's Prometheus recorder, installed as the global `metrics`
/// recorder the first time it is asked for (None when another recorder was
/// installed first).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            match metrics::set_global_recorder(recorder) {
                Ok(()) => Some(handle),
                Err(e) => {
                    tracing::warn!(error = %e, "another metrics recorder is installed: /metrics stays empty");
                    None
                }
            }
        })
        .as_ref()
}

/// Route templates whose 200 answers are tiles (their bytes are counted).
fn is_tile_route(template: &str) -> bool {
    template.ends_with("/{z}/{x}/{y}")
}

/// Count every request by route template and status, its latency, and the
/// bytes of the tiles sent.
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let res = next.run(req).await;
    let status = res.status();
    metrics::counter!(
        "chaski_http_requests_total",
        "method" => method.clone(),
        "route" => route.clone(),
        "status" => status.as_u16().to_string()
    )
    .increment(1);
    metrics::histogram!(
        "chaski_http_request_duration_seconds",
        "method" => method,
        "route" => route.clone()
    )
    .record(started.elapsed().as_secs_f64());
    if status == StatusCode::OK && is_tile_route(&route) {
        let bytes = axum::body::HttpBody::size_hint(res.body())
            .exact()
            .unwrap_or(0);
        metrics::counter!("chaski_tile_bytes_total", "route" => route).increment(bytes);
    }
    res
}

/// Whether `headers` carry `Authorization: Bearer TOKEN` (compared in constant time).
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /metrics`: 404 when `metrics = false`; 401 without the
/// `metrics_token` when one is set.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "server",
    summary = "Prometheus metrics",
    description = "Prometheus text format: requests by route and status, latency histograms, \
        tile cache hits, size and bytes, analysis durations, in-flight requests and queue depth \
        of the heavy endpoints. 404 when `metrics = false`; with `metrics_token` set, it needs \
        `Authorization: Bearer METRICS_TOKEN`.",
    responses(
        (status = 200, description = "The metrics.", content_type = "text/plain", body = String),
        (status = 401, response = crate::error::answers::Unauthorized),
        (status = 404, response = crate::error::answers::NotFound),
    ),
    security((), ("bearer" = [])),
)]
pub async fn endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.config.metrics {
        return ApiError::NotFound(
            "no endpoint at '/metrics': metrics are off (metrics = false)".into(),
        )
        .into_response();
    }
    if let Some(token) = &state.config.metrics_token
        && !authorized(&headers, token)
    {
        return ApiError::Unauthorized(
            "GET /metrics needs Authorization: Bearer METRICS_TOKEN (metrics_token)".into(),
        )
        .into_response();
    }
    let Some(handle) = handle() else {
        return ApiError::internal("no metrics recorder").into_response();
    };
    for family in Family::ALL {
        let name = family.name();
        metrics::gauge!("chaski_in_flight", "family" => name)
            .set(state.limits.in_flight(family) as f64);
        metrics::gauge!("chaski_queue_depth", "family" => name)
            .set(state.limits.queued(family) as f64);
        metrics::gauge!("chaski_permits", "family" => name)
            .set(state.limits.permits(family) as f64);
    }
    state.cache.run_pending_tasks().await;
    metrics::gauge!("chaski_tile_cache_bytes", "cache" => "base")
        .set(state.cache.weighted_size() as f64);
    metrics::gauge!("chaski_tile_cache_entries", "cache" => "base")
        .set(state.cache.entry_count() as f64);
    let whatif = state.whatifs.tiles();
    whatif.run_pending_tasks().await;
    metrics::gauge!("chaski_tile_cache_bytes", "cache" => "whatif")
        .set(whatif.weighted_size() as f64);
    metrics::gauge!("chaski_tile_cache_entries", "cache" => "whatif")
        .set(whatif.entry_count() as f64);
    metrics::gauge!("chaski_catalog_version").set(state.catalog().version as f64);
    metrics::gauge!("chaski_draining").set(if state.is_draining() { 1.0 } else { 0.0 });
    handle.run_upkeep();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        handle.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_must_match_exactly() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "s3cret"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(authorized(&h, "s3cret"));
        assert!(!authorized(&h, "s3cre"));
        assert!(!authorized(&h, "s3cretx"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret"),
        );
        assert!(!authorized(&h, "s3cret"));
    }

    #[test]
    fn tile_routes_are_the_z_x_y_templates() {
        assert!(is_tile_route("/tiles/{layers}/{z}/{x}/{y}"));
        assert!(is_tile_route("/whatif/{id}/tiles/{layers}/{z}/{x}/{y}"));
        assert!(!is_tile_route("/tiles/{spec}"));
    }
}
