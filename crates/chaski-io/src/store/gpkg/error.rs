//! The store's internal error and its mapping to [`StoreError`] (with the
//! store path) at the trait boundary.

use chaski_core::store::StoreError;
use rusqlite::ErrorCode;
use std::path::Path;

/// Internal errors, turned into [`StoreError`] (with the store path) at the trait boundary.
#[derive(Debug, thiserror::Error)]
pub(super) enum GpkgError {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Backend(String),
    /// The store's schema version (newer than this chaski's).
    #[error("{}", super::schema::newer_message(*.0))]
    Newer(i64),
}

impl GpkgError {
    /// The [`StoreError`] of this error for the store at `path`.
    pub(super) fn into_store(self, path: &Path) -> StoreError {
        match self {
            Self::Sql(e) => sql_error(path, &e),
            Self::Store(e) => e,
            Self::Corrupt(reason) => StoreError::Corrupt {
                path: path.to_owned(),
                reason,
            },
            Self::Backend(msg) => StoreError::Backend(format!("{}: {msg}", path.display())),
            Self::Newer(version) => StoreError::NewerSchema {
                store: path.display().to_string(),
                version,
                supported: super::schema::SCHEMA_VERSION,
            },
        }
    }
}

/// Map an SQLite error: corrupt files become [`StoreError::Corrupt`].
pub(super) fn sql_error(path: &Path, e: &rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = e {
        let detail = msg.clone().unwrap_or_else(|| f.to_string());
        match f.code {
            ErrorCode::DatabaseCorrupt => {
                return StoreError::Corrupt {
                    path: path.to_owned(),
                    reason: format!("database disk image is malformed ({detail})"),
                };
            }
            ErrorCode::NotADatabase => {
                return StoreError::Corrupt {
                    path: path.to_owned(),
                    reason: format!("not an SQLite database ({detail})"),
                };
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Backend(format!(
                    "{}: locked by another process ({detail})",
                    path.display()
                ));
            }
            _ => {}
        }
    }
    StoreError::Backend(format!("{}: {e}", path.display()))
}

/// A [`StoreError::Corrupt`] of the file at `path`.
pub(super) fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    }
}
