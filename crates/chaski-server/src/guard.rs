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
//! The household writes of each token are counted by
//! [`crate::write_limit::WriteLimiter`].

use crate::auth::Caller;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chaski_core::auth::AccessRecord;

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
