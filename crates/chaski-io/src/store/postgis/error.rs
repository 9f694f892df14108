//! Errors of the PostGIS store, turned into [`StoreError`] and [`AuthError`] at the trait.

use chaski_core::auth::AuthError;
use chaski_core::store::StoreError;

/// An error of the PostGIS store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgisError {
    /// The database refused or failed a statement, or the connection broke.
    #[error("{0}")]
    Db(#[from] postgres::Error),
    /// No connection could be had from the pool in time.
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::Error),
    /// A store-level error (not found, conflict, invalid name).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The URL cannot be used.
    #[error("{0}")]
    Url(String),
    /// The database holds no chaski store (and opening was not allowed to make one).
    #[error("{0}")]
    NoStore(String),
    /// A stored value cannot be read back (a geometry that is not WKB, a raster of the wrong size).
    #[error("{0}")]
    Corrupt(String),
}

impl PostgisError {
    /// The error as a [`StoreError`], naming the database `at` (the URL without password).
    pub(super) fn into_store(self, at: &str) -> StoreError {
        match self {
            Self::Store(e) => e,
            Self::Corrupt(reason) | Self::NoStore(reason) | Self::Url(reason) => {
                StoreError::Corrupt {
                    path: at.into(),
                    reason,
                }
            }
            other => StoreError::Backend(format!("{at}: {}", full(&other))),
        }
    }

    /// The error as an [`AuthError`], naming the database `at`.
    pub(super) fn into_auth(self, at: &str) -> AuthError {
        AuthError::Backend(format!("{at}: {}", full(&self)))
    }
}

/// The message with its causes (a `postgres::Error` keeps the server's message in its source).
fn full(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cause = c.source();
    }
    s
}

/// Result of the PostGIS store's internals.
pub(super) type PgResult<T> = Result<T, PostgisError>;
