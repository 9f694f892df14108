//! Access tokens and the access log kept in the store's GeoPackage file.
//!
//! Plain tables next to the layers (created by the layer store's schema
//! migration 3, and here when missing): `chaski_tokens` (id, role, scope,
//! violence grant, label, times, and the SHA-256 hash of the secret: the
//! secret itself is never written) and `access_log` (who = token id, what,
//! when, count). The store opens its own connection in WAL mode with
//! `synchronous=FULL`, so every write is committed (and durable) before the
//! call returns.

use super::gpkg::schema::{TOKENS_SQL, newer_message, upgrade_access_log};
use super::gpkg::{SCHEMA_VERSION, stored_version};
use chaski_core::auth::{
    Access, AccessEntry, AccessRecord, AuthError, Role, Token, TokenStore, find_by_secret,
    hash_secret, new_secret, new_token, now_unix,
};
use chaski_core::household::places::Place;
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Tokens and access log in a GeoPackage (or any SQLite) file.
pub struct GpkgTokenStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for GpkgTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpkgTokenStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn backend(path: &Path, e: &rusqlite::Error) -> AuthError {
    AuthError::Backend(format!("{}: {e}", path.display()))
}

impl GpkgTokenStore {
    /// Open the token tables of the file at `path` (created when missing).
    /// Open the layer store first so the file is a GeoPackage.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(|e| backend(&path, &e))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(Duration::from_secs(10))?;
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode, "token store: WAL journal mode not available");
            }
            conn.execute_batch("PRAGMA synchronous = FULL;")?;
            conn.execute_batch(TOKENS_SQL)?;
            upgrade_access_log(&conn)
        };
        // A store of a newer chaski is refused before anything is written.
        let version = stored_version(&conn).map_err(|e| backend(&path, &e))?;
        if version > SCHEMA_VERSION {
            return Err(AuthError::Backend(format!(
                "{}: {}",
                path.display(),
                newer_message(version)
            )));
        }
        setup().map_err(|e| backend(&path, &e))?;
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn err(&self, e: &rusqlite::Error) -> AuthError {
        backend(&self.path, e)
    }

    /// Run `sql` for each place in one transaction; the rows it changed.
    fn change_places(&self, places: &[Place], sql: &str) -> Result<usize, AuthError> {
        let mut conn = self.conn();
        let run = |conn: &mut Connection| -> rusqlite::Result<usize> {
            let tx = conn.transaction()?;
            let mut n = 0;
            {
                let mut st = tx.prepare(sql)?;
                for p in places.iter().filter(|p| !p.community.is_empty()) {
                    n += st.execute(params![p.facility, p.sector, p.community])?;
                }
            }
            tx.commit()?;
            Ok(n)
        };
        run(&mut conn).map_err(|e| self.err(&e))
    }

    /// Every token with its stored hash.
    fn rows(&self) -> Result<Vec<(String, Token)>, AuthError> {
        let conn = self.conn();
        let read = || -> rusqlite::Result<Vec<(String, String, Token)>> {
            let mut st = conn.prepare(
                "SELECT secret_sha256, role, id, scope, violence, label, created, revoked \
                 FROM chaski_tokens ORDER BY created, rowid",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    Token {
                        id: r.get(2)?,
                        role: Role::Public,
                        scope: r.get(3)?,
                        violence: r.get::<_, i64>(4)? != 0,
                        label: r.get(5)?,
                        created: r.get(6)?,
                        revoked: r.get(7)?,
                    },
                ))
            })?;
            rows.collect()
        };
        read()
            .map_err(|e| self.err(&e))?
            .into_iter()
            .map(|(hash, role, mut token)| {
                token.role = role.parse().map_err(|_| {
                    AuthError::Backend(format!(
                        "{}: chaski_tokens row '{}': unknown role '{role}'",
                        self.path.display(),
                        token.id
                    ))
                })?;
                Ok((hash, token))
            })
            .collect()
    }
}

impl TokenStore for GpkgTokenStore {
    fn create(&self, access: &Access, label: Option<&str>) -> Result<(Token, String), AuthError> {
        let access = Access::new(access.role, access.scope.clone(), access.violence)?;
        let secret = new_secret();
        let token = new_token(&access, label);
        self.conn()
            .execute(
                "INSERT INTO chaski_tokens (id, secret_sha256, role, scope, violence, label, created) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    token.id,
                    hash_secret(&secret),
                    token.role.as_str(),
                    token.scope,
                    i64::from(token.violence),
                    token.label,
                    token.created
                ],
            )
            .map_err(|e| self.err(&e))?;
        Ok((token, secret))
    }

    fn verify(&self, secret: &str) -> Result<Option<Token>, AuthError> {
        let rows = self.rows()?;
        Ok(find_by_secret(
            secret,
            rows.iter().map(|(h, t)| (h.as_str(), t)),
        ))
    }

    fn list(&self) -> Result<Vec<Token>, AuthError> {
        Ok(self.rows()?.into_iter().map(|(_, t)| t).collect())
    }

    fn revoke(&self, id: &str) -> Result<(), AuthError> {
        let conn = self.conn();
        conn.execute(
            "UPDATE chaski_tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
            params![id, now_unix()],
        )
        .map_err(|e| self.err(&e))?;
        let exists: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM chaski_tokens WHERE id = ?1)",
                [id],
                |r| r.get(0),
            )
            .map_err(|e| self.err(&e))?;
        if exists {
            Ok(())
        } else {
            Err(AuthError::NotFound(id.to_owned()))
        }
    }

    fn log(&self, r: &AccessRecord<'_>) -> Result<(), AuthError> {
        self.conn()
            .execute(
                "INSERT INTO access_log (who, what, \"when\", count, status, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    r.who,
                    r.what,
                    now_unix(),
                    i64::try_from(r.count).unwrap_or(i64::MAX),
                    i64::from(r.status),
                    r.detail,
                ],
            )
            .map_err(|e| self.err(&e))?;
        Ok(())
    }

    fn places(&self) -> Result<Vec<Place>, AuthError> {
        let conn = self.conn();
        let read = || -> rusqlite::Result<Vec<Place>> {
            let mut st = conn.prepare(
                "SELECT facility, sector, community FROM chaski_places \
                 ORDER BY facility, sector, community",
            )?;
            let rows = st.query_map([], |r| {
                Ok(Place {
                    facility: r.get(0)?,
                    sector: r.get(1)?,
                    community: r.get(2)?,
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| self.err(&e))
    }

    fn add_places(&self, places: &[Place]) -> Result<usize, AuthError> {
        self.change_places(
            places,
            "INSERT OR IGNORE INTO chaski_places (facility, sector, community) VALUES (?1, ?2, ?3)",
        )
    }

    fn remove_places(&self, places: &[Place]) -> Result<usize, AuthError> {
        self.change_places(
            places,
            "DELETE FROM chaski_places WHERE facility = ?1 AND sector = ?2 AND community = ?3",
        )
    }

    fn access_log(&self) -> Result<Vec<AccessEntry>, AuthError> {
        let conn = self.conn();
        let read = || -> rusqlite::Result<Vec<AccessEntry>> {
            let mut st = conn.prepare(
                "SELECT who, what, \"when\", count, status, detail FROM access_log ORDER BY id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(AccessEntry {
                    who: r.get(0)?,
                    what: r.get(1)?,
                    when: r.get(2)?,
                    count: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    status: u16::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    detail: r.get(5)?,
                })
            })?;
            rows.collect()
        };
        read().map_err(|e| self.err(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::gpkg::GpkgStore;
    use chaski_core::store::Store;

    #[test]
    fn tokens_persist_hashed_and_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.gpkg");
        let layers = GpkgStore::open(&path).unwrap();
        let store = GpkgTokenStore::open(&path).unwrap();
        // Durable commits (synchronous = FULL) on the token store's own connection too.
        let sync: i64 = store
            .conn()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2);
        let access = Access::new(Role::Facility, Some("00001234".into()), true).unwrap();
        let (token, secret) = store.create(&access, Some("PS Huayllay")).unwrap();
        let (other, other_secret) = store
            .create(&Access::new(Role::Analyst, None, false).unwrap(), None)
            .unwrap();
        drop(store);

        // A second connection (as another process would) sees the committed rows.
        let store = GpkgTokenStore::open(&path).unwrap();
        let got = store.verify(&secret).unwrap().unwrap();
        assert_eq!(got, token);
        assert_eq!(store.verify(&other_secret).unwrap().unwrap().id, other.id);
        assert!(store.verify("chk_nope").unwrap().is_none());
        assert_eq!(store.list().unwrap().len(), 2);

        // Only the hash is on disk.
        let conn = Connection::open(&path).unwrap();
        let hash: String = conn
            .query_row(
                "SELECT secret_sha256 FROM chaski_tokens WHERE id = ?1",
                [&token.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hash, hash_secret(&secret));
        drop(conn);
        let bytes = std::fs::read(&path).unwrap();
        let wal = std::fs::read(path.with_extension("gpkg-wal")).unwrap_or_default();
        for b in [&bytes, &wal] {
            assert!(!b.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }

        store.revoke(&token.id).unwrap();
        assert!(store.verify(&secret).unwrap().is_none());
        assert!(matches!(
            store.revoke("missing"),
            Err(AuthError::NotFound(_))
        ));

        store
            .log_access(Some(&other.id), "/api/households", 7)
            .unwrap();
        store
            .log_access(None, "/api/households/summary", 3)
            .unwrap();
        let log = GpkgTokenStore::open(&path).unwrap().access_log().unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].who.as_deref(), Some(other.id.as_str()));
        assert_eq!((log[0].what.as_str(), log[0].count), ("/api/households", 7));
        assert_eq!(log[1].who, None);

        // The layer store still opens the file and is unaffected.
        drop(layers);
        let layers = GpkgStore::open(&path).unwrap();
        assert!(layers.layers().unwrap().is_empty());
    }

    #[test]
    fn access_logs_of_older_stores_are_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.gpkg");
        drop(GpkgStore::open(&path).unwrap());
        // The access log as the first release wrote it, with one entry.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE access_log; CREATE TABLE access_log (id INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT, \
             what TEXT NOT NULL, \"when\" INTEGER NOT NULL, count INTEGER NOT NULL); \
             INSERT INTO access_log (who, what, \"when\", count) \
             VALUES ('abc', '/api/households', 1700000000, 4);",
        )
        .unwrap();
        drop(conn);
        let store = GpkgTokenStore::open(&path).unwrap();
        store
            .log(&AccessRecord {
                who: None,
                what: "/api/households",
                count: 0,
                status: 401,
                detail: Some("invalid or revoked token"),
            })
            .unwrap();
        let log = store.access_log().unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!((log[0].status, log[0].detail.as_deref()), (200, None));
        assert_eq!(log[0].count, 4);
        assert_eq!(
            (log[1].status, log[1].detail.as_deref()),
            (401, Some("invalid or revoked token"))
        );
        // Opening again changes nothing.
        drop(store);
        assert_eq!(
            GpkgTokenStore::open(&path).unwrap().access_log().unwrap(),
            log
        );
    }

    #[test]
    fn places_persist_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.gpkg");
        drop(GpkgStore::open(&path).unwrap());
        let store = GpkgTokenStore::open(&path).unwrap();
        let a = Place::new("0001", "CP01-S1", "CP01");
        let b = Place::new("0001", "", "CP02");
        let no_community = Place::new("0001", "CP01-S1", "");
        assert_eq!(
            store
                .add_places(&[a.clone(), b.clone(), a.clone(), no_community])
                .unwrap(),
            2
        );
        assert_eq!(store.add_places(std::slice::from_ref(&a)).unwrap(), 0);
        drop(store);
        let store = GpkgTokenStore::open(&path).unwrap();
        assert_eq!(store.places().unwrap(), vec![b.clone(), a.clone()]);
        assert_eq!(
            store
                .remove_places(&[a, Place::new("9", "9", "9")])
                .unwrap(),
            1
        );
        assert_eq!(store.places().unwrap(), vec![b]);
    }
}
