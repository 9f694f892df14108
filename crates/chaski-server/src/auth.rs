//! Bearer-token authentication: `Authorization: Bearer SECRET` → the caller's rights.
//!
//! No `Authorization` header: the caller is public. A header that is not a
//! bearer token, or a token that is unknown or revoked, gets `401` with a JSON
//! body that never repeats the token. The secret is never logged.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chaski_core::auth::{Access, Role, Token};

/// Who is calling: the verified token (if any) and the rights it grants.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token presented (None for a public caller).
    pub token: Option<Token>,
    /// The caller's rights.
    pub access: Access,
}

impl Caller {
    /// A caller without a token.
    pub fn public() -> Self {
        Self {
            token: None,
            access: Access::public(),
        }
    }

    /// The token id, for logs (never the secret).
    pub fn token_id(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.id.as_str())
    }

    /// The caller's role.
    pub fn role(&self) -> Role {
        self.access.role
    }
}

/// The secret of an `Authorization` header value, if it is a bearer token.
fn bearer(value: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (scheme, secret) = text.split_once(' ')?;
    let secret = secret.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !secret.is_empty()).then_some(secret)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Already verified by a middleware of this request (household routes).
        if let Some(caller) = parts.extensions.get::<Self>() {
            return Ok(caller.clone());
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Self::public());
        };
        let Some(secret) = bearer(value.as_bytes()) else {
            return Err(ApiError::Unauthorized(
                "the Authorization header must be 'Bearer TOKEN'".to_owned(),
            ));
        };
        let Some(tokens) = state.tokens.clone() else {
            return Err(ApiError::Unauthorized(
                "this server does not accept tokens".to_owned(),
            ));
        };
        let secret = secret.to_owned();
        let token = tokio::task::spawn_blocking(move || tokens.verify(&secret))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        let Some(token) = token else {
            // Never log the presented secret, not even a prefix of it.
            tracing::info!("request with an unknown or revoked bearer token refused");
            return Err(ApiError::Unauthorized(
                "invalid or revoked token".to_owned(),
            ));
        };
        Ok(Self {
            access: token.access(),
            token: Some(token),
        })
    }
}

/// The caller of an endpoint open to everyone (catalog, TileJSON, tiles): a
/// valid token adds what its role may see; no token, or a token that is
/// malformed, unknown or revoked, is served exactly as a public caller (so a
/// bad token reveals nothing more than no token, not even that a private
/// layer exists).
#[derive(Debug, Clone)]
pub struct OptionalCaller(pub Caller);

impl FromRequestParts<AppState> for OptionalCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Self(
            Caller::from_request_parts(parts, state)
                .await
                .unwrap_or_else(|_| Caller::public()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer(b"Basic abc"), None);
        assert_eq!(bearer(b"Bearer "), None);
        assert_eq!(bearer(b"abc"), None);
        assert_eq!(bearer(&[0xff, 0x20, 0x41]), None);
    }
}
