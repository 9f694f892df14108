//! Access tokens, the access log and the register of places in the store's
//! schema: `chaski_tokens` (the SHA-256 hash of each secret, never the
//! secret), `chaski_access_log` and `chaski_places`. Every call is one
//! statement or transaction, committed before it returns.

use super::error::{PgResult, PostgisError};
use super::{Names, Pool, StoreUrl, connect};
use chaski_core::auth::{
    Access, AccessEntry, AccessRecord, AuthError, Role, Token, TokenStore, find_by_secret,
    hash_secret, new_secret, new_token, now_unix,
};
use chaski_core::household::places::Place;

/// The tables of tokens, access log and places.
pub(super) fn schema_sql(n: &Names) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {tokens} (
           id text PRIMARY KEY,
           secret_sha256 text NOT NULL UNIQUE,
           role text NOT NULL,
           scope text,
           violence boolean NOT NULL DEFAULT false,
           label text,
           created bigint NOT NULL,
           revoked bigint,
           seq bigserial);
         CREATE TABLE IF NOT EXISTS {log} (
           id bigserial PRIMARY KEY,
           who text,
           what text NOT NULL,
           \"when\" bigint NOT NULL,
           count bigint NOT NULL,
           status integer NOT NULL DEFAULT 200,
           detail text);
         CREATE TABLE IF NOT EXISTS {places} (
           facility text NOT NULL,
           sector text NOT NULL,
           community text NOT NULL,
           PRIMARY KEY (facility, sector, community));",
        tokens = n.table("chaski_tokens"),
        log = n.table("chaski_access_log"),
        places = n.table("chaski_places"),
    )
}

/// Tokens, access log and places of a PostGIS store.
pub struct PostgisTokenStore {
    pool: Pool,
    names: Names,
    display: String,
}

impl std::fmt::Debug for PostgisTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgisTokenStore")
            .field("url", &self.display)
            .finish_non_exhaustive()
    }
}

impl PostgisTokenStore {
    /// Open the tokens of the store at `url` (which must exist: open the
    /// layer store first to create one).
    pub fn open(url: &str) -> Result<Self, AuthError> {
        let parsed = StoreUrl::parse(url).map_err(|e| e.into_auth(&super::hide_password(url)))?;
        let pool = connect(&parsed, false, 4).map_err(|e| e.into_auth(&parsed.display))?;
        Ok(Self {
            pool,
            names: Names {
                schema: parsed.schema.clone(),
            },
            display: parsed.display,
        })
    }

    pub(super) fn with_pool(pool: Pool, names: Names, display: &str) -> Self {
        Self {
            pool,
            names,
            display: display.to_owned(),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> PgResult<T>,
    ) -> Result<T, AuthError> {
        let mut c = self
            .pool
            .get()
            .map_err(|e| PostgisError::from(e).into_auth(&self.display))?;
        f(&mut c).map_err(|e| e.into_auth(&self.display))
    }

    fn tokens(&self) -> String {
        self.names.table("chaski_tokens")
    }

    fn log_table(&self) -> String {
        self.names.table("chaski_access_log")
    }

    fn places_table(&self) -> String {
        self.names.table("chaski_places")
    }

    /// Every token with its stored hash, oldest first.
    fn rows(&self) -> Result<Vec<(String, Token)>, AuthError> {
        let rows = self.with(|c| {
            Ok(c.query(
                &format!(
                    "SELECT secret_sha256, role, id, scope, violence, label, created, revoked \
                     FROM {} ORDER BY created, seq",
                    self.tokens()
                ),
                &[],
            )?)
        })?;
        rows.iter()
            .map(|r| {
                let role: String = r.get(1);
                let id: String = r.get(2);
                let role: Role = role.parse().map_err(|_| {
                    AuthError::Backend(format!(
                        "{}: chaski_tokens row '{id}': unknown role '{role}'",
                        self.display
                    ))
                })?;
                Ok((
                    r.get(0),
                    Token {
                        id,
                        role,
                        scope: r.get(3),
                        violence: r.get(4),
                        label: r.get(5),
                        created: r.get(6),
                        revoked: r.get(7),
                    },
                ))
            })
            .collect()
    }

    fn change_places(&self, places: &[Place], sql: &str) -> Result<usize, AuthError> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let stmt = tx.prepare(sql)?;
            let mut n = 0;
            for p in places.iter().filter(|p| !p.community.is_empty()) {
                n += tx.execute(&stmt, &[&p.facility, &p.sector, &p.community])?;
            }
            tx.commit()?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
}

impl TokenStore for PostgisTokenStore {
    fn create(&self, access: &Access, label: Option<&str>) -> Result<(Token, String), AuthError> {
        let access = Access::new(access.role, access.scope.clone(), access.violence)?;
        let secret = new_secret();
        let token = new_token(&access, label);
        self.with(|c| {
            c.execute(
                &format!(
                    "INSERT INTO {} (id, secret_sha256, role, scope, violence, label, created) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    self.tokens()
                ),
                &[
                    &token.id,
                    &hash_secret(&secret),
                    &token.role.as_str(),
                    &token.scope,
                    &token.violence,
                    &token.label,
                    &token.created,
                ],
            )?;
            Ok(())
        })?;
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
        let exists = self.with(|c| {
            c.execute(
                &format!(
                    "UPDATE {} SET revoked = $2 WHERE id = $1 AND revoked IS NULL",
                    self.tokens()
                ),
                &[&id, &now_unix()],
            )?;
            Ok(c.query_opt(
                &format!("SELECT 1 FROM {} WHERE id = $1", self.tokens()),
                &[&id],
            )?
            .is_some())
        })?;
        if exists {
            Ok(())
        } else {
            Err(AuthError::NotFound(id.to_owned()))
        }
    }

    fn log(&self, r: &AccessRecord<'_>) -> Result<(), AuthError> {
        self.with(|c| {
            c.execute(
                &format!(
                    "INSERT INTO {} (who, what, \"when\", count, status, detail) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    self.log_table()
                ),
                &[
                    &r.who,
                    &r.what,
                    &now_unix(),
                    &i64::try_from(r.count).unwrap_or(i64::MAX),
                    &i32::from(r.status),
                    &r.detail,
                ],
            )?;
            Ok(())
        })
    }

    fn access_log(&self) -> Result<Vec<AccessEntry>, AuthError> {
        self.with(|c| {
            Ok(c.query(
                &format!(
                    "SELECT who, what, \"when\", count, status, detail FROM {} ORDER BY id",
                    self.log_table()
                ),
                &[],
            )?
            .iter()
            .map(|r| AccessEntry {
                who: r.get(0),
                what: r.get(1),
                when: r.get(2),
                count: u64::try_from(r.get::<_, i64>(3)).unwrap_or(0),
                status: u16::try_from(r.get::<_, i32>(4)).unwrap_or(0),
                detail: r.get(5),
            })
            .collect())
        })
    }

    fn places(&self) -> Result<Vec<Place>, AuthError> {
        self.with(|c| {
            Ok(c.query(
                &format!(
                    "SELECT facility, sector, community FROM {} \
                     ORDER BY facility COLLATE \"C\", sector COLLATE \"C\", community COLLATE \"C\"",
                    self.places_table()
                ),
                &[],
            )?
            .iter()
            .map(|r| Place {
                facility: r.get(0),
                sector: r.get(1),
                community: r.get(2),
            })
            .collect())
        })
    }

    fn add_places(&self, places: &[Place]) -> Result<usize, AuthError> {
        self.change_places(
            places,
            &format!(
                "INSERT INTO {} (facility, sector, community) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                self.places_table()
            ),
        )
    }

    fn remove_places(&self, places: &[Place]) -> Result<usize, AuthError> {
        self.change_places(
            places,
            &format!(
                "DELETE FROM {} WHERE facility = $1 AND sector = $2 AND community = $3",
                self.places_table()
            ),
        )
    }
}
