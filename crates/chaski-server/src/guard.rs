//! What every household endpoint shares: one authentication, no caching, an
//! audit row for each refused attempt, and a per-token write rate.
//!
//! [`household_guard`] wraps `GET`/`POST /api/households`,
//! `DELETE /api/households/{code}` and `GET /api/clusters`:
//!
//! * the bearer token is verified once (the handlers read the [`Caller`] it
//!   leaves in the request);
//! * every answer, errors included, carries `Cache-Control: private, no-store`
//!   (no proxy or browser keeps household data);
//! * an answer 401, 403, 413 or 429 is written to the access log with the token
//!   id (if any), the endpoint, the status and the refusal reason (never the
//!   token or the body). A failure to log a refusal is logged and does not
//!   change the answer: a refusal releases no household data.
//!
//! [`WriteLimiter`] counts the household writes (uploads, deletions) of each
//! token over the last hour.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chaski_core::auth::AccessRecord;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `Cache-Control` of every household answer.
pub const NO_STORE: &str = "private, no-store";

/// Largest refusal body read back to find its reason.
const MAX_REASON_BODY: usize = 64 * 1024;

/// Statuses whose attempts are written to the access log.
fn audited(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::TOO_MANY_REQUESTS
    )
}

/// The middleware of the household routes (see the module documentation).
pub async fn household_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let endpoint = format!(
        "{} {}",
        req.method(),
        req.extensions()
            .get::<MatchedPath>()
            .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned())
    );
    let (mut parts, body) = req.into_parts();
    let caller = Caller::from_request_parts(&mut parts, &state).await;
    let who = caller
        .as_ref()
        .ok()
        .and_then(|c| c.token_id().map(str::to_owned));
    let mut res = match caller {
        Ok(c) => {
            parts.extensions.insert(c);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(e) => e.into_response(),
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    if !audited(res.status()) {
        return res;
    }
    let status = res.status();
    let (head, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_REASON_BODY)
        .await
        .unwrap_or_default();
    let reason = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("refused").to_owned());
    if let Some(tokens) = state.tokens.clone() {
        let what = endpoint.clone();
        let logged = tokio::task::spawn_blocking(move || {
            tokens.log(&AccessRecord {
                who: who.as_deref(),
                what: &what,
                count: 0,
                status: status.as_u16(),
                detail: Some(&reason),
            })
        })
        .await;
        if !matches!(logged, Ok(Ok(()))) {
            tracing::error!(
                endpoint,
                status = status.as_u16(),
                "refused attempt not logged"
            );
        }
    }
    Response::from_parts(head, Body::from(bytes))
}

/// Household writes per token over a sliding hour.
#[derive(Debug, Default)]
pub struct WriteLimiter {
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl WriteLimiter {
    /// Count one write of `token` now, or refuse it when `per_hour` writes
    /// were counted in the last hour (429 with the seconds to wait).
    pub fn check(&self, token: &str, per_hour: u32) -> Result<(), ApiError> {
        self.check_at(token, per_hour, Instant::now())
    }

    fn check_at(&self, token: &str, per_hour: u32, now: Instant) -> Result<(), ApiError> {
        const HOUR: Duration = Duration::from_secs(3600);
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let times = seen.entry(token.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= HOUR)
        {
            times.pop_front();
        }
        if times.len() >= per_hour as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = HOUR.saturating_sub(now.saturating_duration_since(oldest));
            return Err(ApiError::TooManyRequests {
                message: format!(
                    "this token made {} household writes in the last hour: at most {per_hour} \
                     per hour (writes_per_hour); retry in {} s",
                    times.len(),
                    wait.as_secs().max(1)
                ),
                retry_after: wait.as_secs().max(1),
            });
        }
        times.push_back(now);
        // Forget idle tokens now and then.
        if seen.len() > 10_000 {
            seen.retain(|_, t| {
                t.back()
                    .is_some_and(|b| now.saturating_duration_since(*b) < HOUR)
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_limited_per_token_and_hour() {
        let l = WriteLimiter::default();
        let t0 = Instant::now();
        for k in 0..3 {
            l.check_at("a", 3, t0 + Duration::from_secs(k)).unwrap();
        }
        let e = l
            .check_at("a", 3, t0 + Duration::from_secs(10))
            .unwrap_err();
        match e {
            ApiError::TooManyRequests {
                retry_after,
                message,
            } => {
                assert_eq!(retry_after, 3590);
                assert!(message.contains("writes_per_hour"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // Another token is counted apart; an hour later the first may write again.
        l.check_at("b", 3, t0 + Duration::from_secs(10)).unwrap();
        l.check_at("a", 3, t0 + Duration::from_secs(3600)).unwrap();
    }
}
