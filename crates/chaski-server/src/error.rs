//! The one error type of the HTTP API: 4xx explain, 5xx log and hide.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
    /// The server cannot answer now (a request over its time limit, a
    /// server shutting down); retry after the seconds given.
    #[error("{message}")]
    Unavailable {
        /// What limit was reached.
        message: String,
        /// Seconds until a retry may succeed (`Retry-After`).
        retry_after: u64,
    },
    /// An internal failure: logged with its detail, answered without it.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON body of every error answer: what is wrong (for a 4xx, naming the
/// parameter, member or limit; for a 500 only "internal server error") and
/// the status again.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"error": "query parameter 'lat': '91' is not a latitude (-90 to 90)", "status": 400}))]
pub struct ErrorBody {
    /// What is wrong, in words.
    pub error: String,
    /// The HTTP status code of the answer.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
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
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
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
        let body = Json(ErrorBody {
            error: message,
            status: status.as_u16(),
        });
        if status == StatusCode::UNAUTHORIZED {
            (status, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        } else if let Self::TooManyRequests { retry_after, .. }
        | Self::Unavailable { retry_after, .. } = &self
        {
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

/// The error answers as the API description shows them: one reusable
/// response per status, each with the JSON [`ErrorBody`] (and its header:
/// `WWW-Authenticate` on 401, `Retry-After` on 429). Handlers list the ones
/// they can give in their `#[utoipa::path]`.
pub mod answers {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

    fn error(description: &str) -> ResponseBuilder {
        ResponseBuilder::new().description(description).content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
    }

    macro_rules! answer {
        ($(#[$doc:meta])* $name:ident, $description:expr, |$r:ident| $extra:expr) => {
            $(#[$doc])*
            pub struct $name;
            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
                    let $r = error($description);
                    (stringify!($name), $extra.build().into())
                }
            }
        };
    }

    answer!(
        /// 400.
        BadRequest,
        "The request is malformed: a bad, unknown, repeated or missing parameter, or a bad body; the error names it.",
        |r| r
    );
    answer!(
        /// 401.
        Unauthorized,
        "No token where one is needed, or a token that is malformed, unknown or revoked (never echoed).",
        |r| r.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["Bearer"])))
                .description(Some("Always `Bearer`."))
                .build()
        )
    );
    answer!(
        /// 403.
        Forbidden,
        "The caller's role or scope may not do this; the error says why.",
        |r| r
    );
    answer!(
        /// 404.
        NotFound,
        "Something the request names does not exist (a layer, style, archive, what-if, district, household or area), or the store lacks what the answer needs (a DEM).",
        |r| r
    );
    answer!(
        /// 413.
        PayloadTooLarge,
        "The body, or the work asked for (grid cells, rows), is over this server's limit; the error names the limit.",
        |r| r
    );
    answer!(
        /// 422.
        Unprocessable,
        "Well formed but cannot be answered (a point off the travel-time surface, an edit that cannot apply, too few units).",
        |r| r
    );
    answer!(
        /// 429.
        TooManyRequests,
        "Too many requests of this kind: retry after the seconds of `Retry-After`.",
        |r| r.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
                .description(Some("Seconds to wait before retrying."))
                .build()
        )
    );
    answer!(
        /// 500.
        Internal,
        "An internal failure: logged by the server, answered without detail.",
        |r| r
    );

    /// 503: the request took longer than the server's time limit (no body).
    pub struct Unavailable;
    impl<'r> utoipa::ToResponse<'r> for Unavailable {
        fn response() -> (&'r str, RefOr<utoipa::openapi::Response>) {
            (
                "Unavailable",
                ResponseBuilder::new()
                    .description("The request took longer than the server's time limit (no body).")
                    .build()
                    .into(),
            )
        }
    }
}
