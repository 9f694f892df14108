//! The one error type of the HTTP API: 4xx explain, 5xx log and hide.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed (bad z/x/y, bad parameter).
    #[error("{0}")]
    BadRequest(String),
    /// Something named in the request does not exist (layer, style).
    #[error("{0}")]
    NotFound(String),
    /// The credentials are malformed, unknown or revoked (the token is never echoed).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not see this.
    #[error("{0}")]
    Forbidden(String),
    /// The request is too large to serve (grid-size caps and the like).
    #[error("{0}")]
    TooLarge(String),
    /// The caller made too many requests of this kind; retry after the seconds given.
    #[error("{message}")]
    TooManyRequests {
        /// What limit was reached.
        message: String,
        /// Seconds until the next request may succeed (`Retry-After`).
        retry_after: u64,
    },
    /// Well-formed but cannot be answered (a point outside the travel-time
    /// surface, no source on it).
    #[error("{0}")]
    Unprocessable(String),
    /// An internal failure: logged with its detail, answered without it.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<chaski_analysis::monitoring::MonitoringError> for ApiError {
    fn from(e: chaski_analysis::monitoring::MonitoringError) -> Self {
        use chaski_analysis::monitoring::MonitoringError;
        match e {
            MonitoringError::ProtectedGrouping(_) => Self::Forbidden(e.to_string()),
            MonitoringError::Vocabulary { .. } => Self::BadRequest(e.to_string()),
            other => Self::Unprocessable(other.to_string()),
        }
    }
}

impl ApiError {
    /// An internal error from anything displayable.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if let Self::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
            "internal server error".to_owned()
        } else {
            self.to_string()
        };
        let body = Json(json!({ "error": message, "status": status.as_u16() }));
        if status == StatusCode::UNAUTHORIZED {
            (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else if let Self::TooManyRequests { retry_after, .. } = &self {
            (
                status,
                [(header::RETRY_AFTER, retry_after.to_string())],
                body,
            )
                .into_response()
        } else {
            (status, body).into_response()
        }
    }
}

/// Largest body of a 4xx answer read to be rewritten as JSON.
const MAX_REJECTION_BYTES: usize = 64 * 1024;

/// Every 4xx answer as JSON naming the problem, like [`ApiError`]'s
/// (`{"error": TEXT, "status": N}`): the answers axum gives by itself (a path
/// segment that is not UTF-8, a query or body it cannot read, a body over the
/// limit, a method not allowed) are plain text or empty; their text becomes
/// the `error` (the status's reason when empty). JSON answers pass as they are.
pub async fn json_rejections(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let text = match axum::body::to_bytes(body, MAX_REJECTION_BYTES).await {
        Ok(b) if !b.trim_ascii().is_empty() => String::from_utf8_lossy(b.trim_ascii()).into_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("the request was refused")
            .to_owned(),
    };
    for h in [
        header::CONTENT_TYPE,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
    ] {
        parts.headers.remove(h);
    }
    let body = Json(json!({ "error": text, "status": status.as_u16() }));
    (parts, body).into_response()
}

impl From<chaski_core::store::StoreError> for ApiError {
    fn from(e: chaski_core::store::StoreError) -> Self {
        match e {
            chaski_core::store::StoreError::NotFound(name) => {
                Self::NotFound(format!("no layer named '{name}'"))
            }
            other => Self::internal(other),
        }
    }
}

impl From<chaski_analysis::travel::TravelError> for ApiError {
    fn from(e: chaski_analysis::travel::TravelError) -> Self {
        use chaski_analysis::travel::TravelError;
        match e {
            TravelError::TooLarge { .. } => Self::TooLarge(e.to_string()),
            TravelError::Option { .. } | TravelError::Districts { .. } => {
                Self::BadRequest(e.to_string())
            }
            TravelError::Sources { .. } | TravelError::Edit { .. } => {
                Self::Unprocessable(e.to_string())
            }
            TravelError::Store {
                source: chaski_core::store::StoreError::NotFound(name),
                ..
            } => Self::NotFound(format!(
                "no travel-time surface: the store has no '{name}' (import a DEM with `chaski import FILE.tif --layer dem`)"
            )),
            TravelError::Dem { .. } | TravelError::MissingLayer { .. } => {
                Self::NotFound(format!("no travel-time surface: {e}"))
            }
            other => Self::internal(other),
        }
    }
}

impl ApiError {
    /// The error of a shared cache's computation, answered as the first
    /// caller's was (400 and 404 keep their message, anything else is internal).
    pub(crate) fn from_shared(e: &std::sync::Arc<Self>) -> Self {
        match e.as_ref() {
            Self::BadRequest(m) => Self::BadRequest(m.clone()),
            Self::NotFound(m) => Self::NotFound(m.clone()),
            other => Self::Internal(other.to_string()),
        }
    }
}
