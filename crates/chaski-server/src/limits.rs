//! The operational limits of the server, each set in [`ServerConfig`]:
//!
//! * **Heavy families** ([`Family`]): catchments, what-if runs and their
//!   tiles, clusters, siting, printed maps and district reports each run at
//!   most `*_permits` at once. A request that finds its family full waits in
//!   a small queue (at most `heavy_queue` waiting, each at most
//!   `heavy_queue_wait_ms`), then is answered 429 with `Retry-After` and a
//!   JSON error naming the limit: never an unbounded queue. [`Limiter`] holds
//!   the permits and the queue depths (read by `/metrics`).
//! * **Timeouts**: every request is answered within `request_timeout_secs`,
//!   a request of a heavy family within `heavy_timeout_secs`, else 503 with a
//!   JSON error naming the limit.
//! * **Body size**: every request body at most `max_body_bytes`
//!   (`max_upload_bytes` for household uploads), else 413 JSON.
//! * **List bounds** ([`Bounds`]): the `limit` of a list page at most
//!   `max_list_limit`, a `bbox` filter at most `max_bbox_deg2` square degrees
//!   (checked by `params::ListParams`, which reads them with
//!   [`crate::config::bounds`]).
//!
//! [`middleware`] applies the timeouts, the body-size check, the route-level
//! families and the bounds, and turns every error answer that is not JSON
//! yet (axum's own rejections: 405, 413, 415 and the like) into the JSON of
//! [`ApiError`]. Clusters and printed maps take their permits where the
//! work starts (`clusters::PrivateCache::compute`, `routes::maps`), so a
//! cached cluster result never waits for one.

use crate::config::{Bounds, ServerConfig};
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A family of heavy endpoints sharing one concurrency limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `POST /api/catchments`.
    Catchments,
    /// `POST /api/whatif` (a what-if run).
    WhatIf,
    /// `GET /whatif/{id}/tiles/...` (the tiles of a what-if).
    WhatIfTiles,
    /// Cluster computations (`/api/clusters`, the `clusters` tile layer, risk zones of printed maps).
    Clusters,
    /// `POST /api/siting`.
    Siting,
    /// `GET /maps/risk.pdf` and `/maps/risk.png` (the layout and render).
    Print,
    /// `GET /api/districts/{code}/report`.
    Report,
}

impl Family {
    /// Every family, in the order of [`Limiter`]'s slots.
    pub const ALL: [Self; 7] = [
        Self::Catchments,
        Self::WhatIf,
        Self::WhatIfTiles,
        Self::Clusters,
        Self::Siting,
        Self::Print,
        Self::Report,
    ];

    /// The family's name in metrics and errors.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Catchments => "catchments",
            Self::WhatIf => "whatif",
            Self::WhatIfTiles => "whatif_tiles",
            Self::Clusters => "clusters",
            Self::Siting => "siting",
            Self::Print => "print",
            Self::Report => "report",
        }
    }

    /// The config key of the family's permits.
    pub const fn config_key(self) -> &'static str {
        match self {
            Self::Catchments => "catchments_permits",
            Self::WhatIf => "whatif_permits",
            Self::WhatIfTiles => "whatif_tiles_permits",
            Self::Clusters => "clusters_permits",
            Self::Siting => "siting_permits",
            Self::Print => "print_permits",
            Self::Report => "report_permits",
        }
    }

    /// The family's permits in `config`.
    pub fn permits(self, config: &ServerConfig) -> usize {
        match self {
            Self::Catchments => config.catchments_permits,
            Self::WhatIf => config.whatif_permits,
            Self::WhatIfTiles => config.whatif_tiles_permits,
            Self::Clusters => config.clusters_permits,
            Self::Siting => config.siting_permits,
            Self::Print => config.print_permits,
            Self::Report => config.report_permits,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The family whose permit the router takes for route `template` with
/// `method`, before the handler runs (clusters and printed maps take theirs
/// inside, where the work starts).
pub fn route_family(method: &Method, template: &str) -> Option<Family> {
    match (method.as_str(), template) {
        ("POST", "/api/catchments") => Some(Family::Catchments),
        ("POST", "/api/whatif") => Some(Family::WhatIf),
        ("GET" | "HEAD", "/whatif/{id}/tiles/{layers}/{z}/{x}/{y}") => Some(Family::WhatIfTiles),
        ("POST", "/api/siting") => Some(Family::Siting),
        ("GET" | "HEAD", "/api/districts/{code}/report") => Some(Family::Report),
        _ => None,
    }
}

/// Whether route `template` is a heavy endpoint (the longer `heavy_timeout_secs`).
pub fn is_heavy_route(method: &Method, template: &str) -> bool {
    route_family(method, template).is_some()
        || matches!(
            template,
            "/api/clusters" | "/maps/risk.pdf" | "/maps/risk.png"
        )
}

/// One family's permits and queue.
#[derive(Debug)]
struct Slot {
    family: Family,
    permits: usize,
    semaphore: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

/// Permits and bounded queues of the heavy families.
#[derive(Debug)]
pub struct Limiter {
    slots: Vec<Slot>,
    queue: usize,
    wait: Duration,
}

/// The right to run one request of a family; gives it back when dropped and
/// records how long it was held (`chaski_analysis_duration_seconds`).
#[derive(Debug)]
pub struct Permit {
    family: Family,
    started: Instant,
    _held: OwnedSemaphorePermit,
}

impl Drop for Permit {
    fn drop(&mut self) {
        metrics::histogram!("chaski_analysis_duration_seconds", "family" => self.family.name())
            .record(self.started.elapsed().as_secs_f64());
    }
}

/// Takes one place in a family's queue until dropped (also when the waiting
/// request is cancelled).
struct QueuePlace(Arc<AtomicUsize>);

impl Drop for QueuePlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Limiter {
    /// The permits and queues of `config`.
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            slots: Family::ALL
                .iter()
                .map(|&family| {
                    let permits = family.permits(config).min(Semaphore::MAX_PERMITS);
                    Slot {
                        family,
                        permits,
                        semaphore: Arc::new(Semaphore::new(permits)),
                        waiting: Arc::new(AtomicUsize::new(0)),
                    }
                })
                .collect(),
            queue: config.heavy_queue,
            wait: Duration::from_millis(config.heavy_queue_wait_ms),
        }
    }

    fn slot(&self, family: Family) -> &Slot {
        &self.slots[family.index()]
    }

    /// Seconds a client is told to wait after a 429 (`Retry-After`).
    pub fn retry_after(&self) -> u64 {
        self.wait.as_secs().max(1)
    }

    /// A permit of `family`: at once when one is free, else after waiting in
    /// the family's queue; 429 when the queue is full or the wait runs out.
    pub async fn acquire(&self, family: Family) -> Result<Permit, ApiError> {
        let slot = self.slot(family);
        let started = Instant::now();
        if let Ok(permit) = Arc::clone(&slot.semaphore).try_acquire_owned() {
            return Ok(Permit {
                family,
                started,
                _held: permit,
            });
        }
        let before = slot.waiting.fetch_add(1, Ordering::SeqCst);
        let place = QueuePlace(Arc::clone(&slot.waiting));
        if before >= self.queue {
            drop(place);
            return Err(self.rejected(slot));
        }
        let outcome =
            tokio::time::timeout(self.wait, Arc::clone(&slot.semaphore).acquire_owned()).await;
        drop(place);
        match outcome {
            Ok(Ok(permit)) => Ok(Permit {
                family,
                started: Instant::now(),
                _held: permit,
            }),
            Ok(Err(closed)) => Err(ApiError::internal(closed)),
            Err(_) => Err(self.rejected(slot)),
        }
    }

    fn rejected(&self, slot: &Slot) -> ApiError {
        metrics::counter!("chaski_limit_rejected_total", "family" => slot.family.name())
            .increment(1);
        let retry_after = self.retry_after();
        ApiError::TooManyRequests {
            message: format!(
                "too many {} requests at once: {} running (limit {} = {}) and the queue is full \
                 (heavy_queue = {}, heavy_queue_wait_ms = {}); retry after {retry_after} s",
                slot.family.name(),
                self.in_flight(slot.family),
                slot.family.config_key(),
                slot.permits,
                self.queue,
                self.wait.as_millis(),
            ),
            retry_after,
        }
    }

    /// Requests of `family` running now.
    pub fn in_flight(&self, family: Family) -> usize {
        let slot = self.slot(family);
        slot.permits
            .saturating_sub(slot.semaphore.available_permits())
    }

    /// Requests of `family` waiting for a permit now.
    pub fn queued(&self, family: Family) -> usize {
        self.slot(family)
            .waiting
            .load(Ordering::SeqCst)
            .min(self.queue)
    }

    /// The permits of `family`.
    pub fn permits(&self, family: Family) -> usize {
        self.slot(family).permits
    }
}

/// Where [`middleware`] stands for a request: its route template (None when
/// no route matched), for the logs and the metrics.
fn template(req: &Request) -> Option<String> {
    req.extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
}

/// The route of household uploads, whose body bound is `max_upload_bytes`.
const UPLOAD_ROUTE: &str = "/api/households";

/// The body bound of a request to `template` with `method`: its value and its config key.
fn body_limit(
    config: &ServerConfig,
    method: &Method,
    template: Option<&str>,
) -> (usize, &'static str) {
    if *method == Method::POST && template == Some(UPLOAD_ROUTE) {
        (config.max_upload_bytes, "max_upload_bytes")
    } else {
        (config.max_body_bytes, "max_body_bytes")
    }
}

/// What [`middleware`] reads: the settings and the permits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The server's settings.
    pub config: Arc<ServerConfig>,
    /// The permits of the heavy families.
    pub limiter: Arc<Limiter>,
}

/// The limits of every request (see the module's doc): body size, the
/// route-level family permit, the timeout and the list bounds; and JSON for
/// every error answer.
pub async fn middleware(State(state): State<Limits>, req: Request, next: Next) -> Response {
    let config = Arc::clone(&state.config);
    let method = req.method().clone();
    let template = template(&req);
    let (limit, key) = body_limit(&config, &method, template.as_deref());
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit, key).into_response();
    }
    let heavy = template
        .as_deref()
        .is_some_and(|t| is_heavy_route(&method, t));
    let (secs, timeout_key) = if heavy {
        (config.heavy_timeout_secs, "heavy_timeout_secs")
    } else {
        (config.request_timeout_secs, "request_timeout_secs")
    };
    let family = template.as_deref().and_then(|t| route_family(&method, t));
    let limits = Arc::clone(&state.limiter);
    let work = async move {
        let _permit = match family {
            Some(f) => match limits.acquire(f).await {
                Ok(p) => Some(p),
                Err(e) => return e.into_response(),
            },
            None => None,
        };
        next.run(req).await
    };
    let bounded = crate::config::with_bounds(Bounds::of(&config), work);
    let Ok(res) = tokio::time::timeout(Duration::from_secs(secs), bounded).await else {
        metrics::counter!("chaski_request_timeouts_total").increment(1);
        return ApiError::Unavailable {
            message: format!(
                "the request took longer than the {secs} s allowed ({timeout_key}); \
                 try a smaller request or later"
            ),
            retry_after: 5,
        }
        .into_response();
    };
    json_error(res, &method, template.as_deref(), limit, key).await
}

fn too_large(limit: usize, key: &str) -> ApiError {
    ApiError::TooLarge(format!(
        "request body larger than the {limit} bytes allowed ({key})"
    ))
}

/// Most bytes of a non-JSON error body kept as the JSON error's message.
const MAX_ERROR_TEXT: usize = 1024;

/// `res` unchanged unless it is an error answer that is not JSON (axum's
/// extractor rejections, 405): then the same status and headers with the
/// JSON of [`ApiError`], the body text (or the status's reason) as message.
/// An empty 404 stays empty (an empty tile with `empty_tile = 404`).
async fn json_error(
    res: Response,
    method: &Method,
    template: Option<&str>,
    limit: usize,
    key: &str,
) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    if is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = match axum::body::to_bytes(body, MAX_ERROR_TEXT * 4).await {
        Ok(b) => String::from_utf8_lossy(&b[..b.len().min(MAX_ERROR_TEXT)]).into_owned(),
        Err(_) => String::new(),
    };
    if status == StatusCode::NOT_FOUND && text.is_empty() {
        return Response::from_parts(parts, Body::empty());
    }
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit, key).to_string()
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        format!(
            "method {method} is not allowed on {} (see the Allow header)",
            template.unwrap_or("this path")
        )
    } else if text.trim().is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text.trim().to_owned()
    };
    let body = serde_json::json!({ "error": message, "status": status.as_u16() }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(permits: usize, queue: usize, wait_ms: u64) -> ServerConfig {
        ServerConfig {
            catchments_permits: permits,
            heavy_queue: queue,
            heavy_queue_wait_ms: wait_ms,
            ..ServerConfig::default()
        }
    }

    #[tokio::test]
    async fn a_full_family_answers_429_naming_the_limit() {
        let limiter = Limiter::new(&config(1, 0, 0));
        let held = limiter.acquire(Family::Catchments).await.unwrap();
        assert_eq!(limiter.in_flight(Family::Catchments), 1);
        let err = limiter.acquire(Family::Catchments).await.unwrap_err();
        let ApiError::TooManyRequests {
            message,
            retry_after,
        } = err
        else {
            panic!("not a 429: {err:?}");
        };
        assert!(message.contains("catchments_permits = 1"), "{message}");
        assert!(retry_after >= 1);
        // Other families are not affected.
        limiter.acquire(Family::Siting).await.unwrap();
        drop(held);
        limiter.acquire(Family::Catchments).await.unwrap();
    }

    #[tokio::test]
    async fn a_queued_request_gets_the_permit_given_back() {
        let limiter = Arc::new(Limiter::new(&config(1, 1, 10_000)));
        let held = limiter.acquire(Family::Catchments).await.unwrap();
        let l = Arc::clone(&limiter);
        let waiter = tokio::spawn(async move { l.acquire(Family::Catchments).await.is_ok() });
        while limiter.queued(Family::Catchments) == 0 {
            tokio::task::yield_now().await;
        }
        // The queue (one place) is full: the next one is refused at once.
        assert!(limiter.acquire(Family::Catchments).await.is_err());
        drop(held);
        assert!(waiter.await.unwrap());
        assert_eq!(limiter.queued(Family::Catchments), 0);
    }

    #[tokio::test]
    async fn zero_permits_refuse_every_request() {
        let limiter = Limiter::new(&config(0, 4, 0));
        assert!(matches!(
            limiter.acquire(Family::Catchments).await,
            Err(ApiError::TooManyRequests { .. })
        ));
        assert_eq!(limiter.queued(Family::Catchments), 0);
    }
}
