//! The PostGIS store: every layer, the household records, the rasters, the
//! tokens, the access log and the register of places in one PostgreSQL
//! database with PostGIS, shared by several chaski servers.
//!
//! Opened with a URL, `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE`
//! (any parameter of libpq's URLs that the `postgres` crate knows, e.g.
//! `?sslmode=disable`, `?host=/run/postgresql` for a unix socket), plus
//! chaski's own `schema=NAME` (default `chaski`): the PostgreSQL schema
//! holding the store, so one database can hold several stores.
//!
//! In that schema:
//! * one table per vector layer, named as the layer: `fid bigint` primary
//!   key, `geom geometry(Geometry, 4326)` with a GiST index
//!   (`LAYER_geom_gist`), one column per field (text, bigint, double
//!   precision, boolean; dates as ISO 8601 text). Geometries are stored as
//!   written. Bulk writes go through binary `COPY`.
//! * `chaski_layers` (kind, fields, column names, feature count, bounds and
//!   data version of each layer), `chaski_meta` (the store's data version
//!   and schema version), `chaski_rasters` (each raster as one row: size,
//!   geotransform, EPSG code, nodata and the Float32 cells, little-endian,
//!   in a `bytea`), `chaski_tokens`, `chaski_access_log`, `chaski_places`
//!   (see [`PostgisTokenStore`]).
//!
//! Every write is one transaction that starts by bumping the data version
//! in `chaski_meta` (the row lock orders the writes of every replica) and
//! ends with `pg_notify('chaski_version', 'SCHEMA VERSION')`, delivered at
//! commit. [`Store::wait_for_change`] listens on that channel (a connection
//! of its own, started on first use) and polls the version every second as
//! the fallback, so a server learns of another replica's write within
//! milliseconds, and within a second when a notification is lost.
//!
//! The calls block: the server calls them off the async runtime.

mod error;
mod geom;
mod layers;
mod rasters;
mod tokens;
mod values;
mod watch;

pub use error::PostgisError;
pub use tokens::PostgisTokenStore;

use chaski_core::layer::{Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_core::store::{
    EditFn, EditScope, EditSummary, LayerInfo, RasterInfo, Result, Store, WriteMode, WriteSummary,
    check_name,
};
use error::PgResult;
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;
use std::sync::Arc;
use std::time::Duration;
use values::q;

/// The schema version this build writes (stored in `chaski_meta`).
pub const SCHEMA_VERSION: i32 = 1;

/// Default PostgreSQL schema of a store.
pub const DEFAULT_SCHEMA: &str = "chaski";

/// Channel of the version notifications.
pub const CHANNEL: &str = "chaski_version";

/// Connections a store keeps at most (each replica).
const POOL_SIZE: u32 = 8;

/// Whether `s` names a PostgreSQL database (`postgresql://` or `postgres://`).
pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgresql://") || s.starts_with("postgres://")
}

/// A store URL taken apart: the URL for the `postgres` crate, the schema and
/// the URL as shown in messages (password hidden).
#[derive(Debug, Clone)]
pub(crate) struct StoreUrl {
    pub(crate) config: postgres::Config,
    pub(crate) schema: String,
    pub(crate) display: String,
}

impl StoreUrl {
    pub(crate) fn parse(url: &str) -> PgResult<Self> {
        if !is_postgres_url(url) {
            return Err(error::PostgisError::Url(format!(
                "'{url}' is not a postgresql:// URL"
            )));
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut schema = DEFAULT_SCHEMA.to_owned();
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("schema", s)) => s.clone_into(&mut schema),
                _ => kept.push(pair),
            }
        }
        let display = hide_password(base);
        let valid = !schema.is_empty()
            && schema.len() <= 63
            && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(error::PostgisError::Url(format!(
                "{display}: schema '{schema}': use lower-case letters, digits and '_' (at most 63)"
            )));
        }
        let stripped = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: postgres::Config = stripped
            .parse()
            .map_err(|e| error::PostgisError::Url(format!("{display}: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("chaski");
        }
        let display = if schema == DEFAULT_SCHEMA {
            display
        } else {
            format!("{display}?schema={schema}")
        };
        Ok(Self {
            config,
            schema,
            display,
        })
    }
}

/// `url` with its password replaced by `***`.
fn hide_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let shown = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    if rest.contains('/') {
        format!("{scheme}://{shown}/{path}")
    } else {
        format!("{scheme}://{shown}")
    }
}

/// Names of the store's tables, qualified with its schema.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    pub(crate) schema: String,
}

impl Names {
    /// A table of the store's schema, quoted.
    pub(crate) fn table(&self, name: &str) -> String {
        format!("{}.{}", q(&self.schema), q(name))
    }
    pub(crate) fn meta(&self) -> String {
        self.table("chaski_meta")
    }
    pub(crate) fn layers(&self) -> String {
        self.table("chaski_layers")
    }
    pub(crate) fn rasters(&self) -> String {
        self.table("chaski_rasters")
    }
}

type R2d2Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// The connection pool, closed on a thread of its own when the last handle
/// goes: a `postgres` connection closes by blocking on a runtime of its own,
/// which would panic on an async runtime's thread (a server's state dropped
/// at shutdown, a test's state dropped at its end).
#[derive(Clone)]
pub(crate) struct Pool(Arc<Option<R2d2Pool>>);

impl Pool {
    fn new(pool: R2d2Pool) -> Self {
        Self(Arc::new(Some(pool)))
    }

    pub(crate) fn get(
        &self,
    ) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, r2d2::Error> {
        match self.0.as_ref() {
            Some(p) => p.get(),
            None => unreachable!("the pool is only taken when dropped"),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        if let Some(inner) = Arc::get_mut(&mut self.0)
            && let Some(pool) = inner.take()
        {
            let closing = std::thread::Builder::new()
                .name("chaski-pg-close".into())
                .spawn(move || drop(pool));
            if let Err(e) = closing {
                tracing::warn!(error = %e, "cannot close the PostGIS connections on a thread");
            }
        }
    }
}

/// Connect once (a clear error now rather than a pool timeout later), set up
/// or check the schema, then make the pool.
pub(crate) fn connect(url: &StoreUrl, create: bool, pool_size: u32) -> PgResult<Pool> {
    let mut client = url.config.connect(NoTls)?;
    let names = Names {
        schema: url.schema.clone(),
    };
    setup(&mut client, &names, &url.display, create)?;
    drop(client);
    let manager = PostgresConnectionManager::new(url.config.clone(), NoTls);
    Ok(Pool::new(
        r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(30))
            .build_unchecked(manager),
    ))
}

/// Create what is missing of the store's tables (when `create`, or when the
/// store exists), refusing a store of a newer schema.
fn setup(client: &mut postgres::Client, n: &Names, display: &str, create: bool) -> PgResult<()> {
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&n.meta()])?
        .get(0);
    if !exists && !create {
        return Err(PostgisError::NoStore(format!(
            "no chaski store in schema '{}' of this database (create one by importing a file: \
             `chaski --store URL import FILE --layer NAME`)",
            n.schema
        )));
    }
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('chaski store ' || $1))",
        &[&n.schema],
    )?;
    let has_postgis: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')",
            &[],
        )?
        .get(0);
    if !has_postgis {
        tx.batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
            .map_err(|e| {
                PostgisError::NoStore(format!(
                    "{display}: PostGIS is not installed in this database and cannot be \
                     installed by this user ({e}); a superuser can run CREATE EXTENSION postgis"
                ))
            })?;
    }
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {meta} (
           id integer PRIMARY KEY CHECK (id = 1),
           version bigint NOT NULL,
           schema_version integer NOT NULL);
         INSERT INTO {meta} VALUES (1, 0, {SCHEMA_VERSION}) ON CONFLICT (id) DO NOTHING;
         CREATE TABLE IF NOT EXISTS {layers} (
           name text PRIMARY KEY,
           kind text NOT NULL,
           fields text NOT NULL,
           columns text NOT NULL,
           feature_count bigint NOT NULL,
           bounds double precision[],
           version bigint NOT NULL);
         CREATE TABLE IF NOT EXISTS {rasters} (
           name text PRIMARY KEY,
           width integer NOT NULL,
           height integer NOT NULL,
           transform double precision[] NOT NULL,
           epsg integer,
           nodata double precision,
           bounds double precision[] NOT NULL,
           data bytea NOT NULL,
           version bigint NOT NULL);
         {tokens}",
        schema = q(&n.schema),
        meta = n.meta(),
        layers = n.layers(),
        rasters = n.rasters(),
        tokens = tokens::schema_sql(n),
    ))?;
    let stored: i32 = tx
        .query_one(
            &format!("SELECT schema_version FROM {} WHERE id = 1", n.meta()),
            &[],
        )?
        .get(0);
    if stored > SCHEMA_VERSION {
        return Err(PostgisError::NoStore(format!(
            "the store in schema '{}' has schema version {stored}, newer than this chaski \
             ({SCHEMA_VERSION}): upgrade chaski",
            n.schema
        )));
    }
    tx.commit()?;
    Ok(())
}

/// Start a write: bump the data version (the row lock orders every writer's
/// transaction) and return the new version.
pub(crate) fn bump_version(tx: &mut postgres::Transaction<'_>, n: &Names) -> PgResult<u64> {
    let v: i64 = tx
        .query_one(
            &format!(
                "UPDATE {} SET version = version + 1 WHERE id = 1 RETURNING version",
                n.meta()
            ),
            &[],
        )?
        .get(0);
    tx.execute(
        "SELECT pg_notify($1, $2)",
        &[&CHANNEL, &format!("{} {v}", n.schema)],
    )?;
    Ok(u64::try_from(v).unwrap_or(0))
}

/// The store's data version.
pub(crate) fn read_version(client: &mut impl postgres::GenericClient, n: &Names) -> PgResult<u64> {
    let v: i64 = client
        .query_one(
            &format!("SELECT version FROM {} WHERE id = 1", n.meta()),
            &[],
        )?
        .get(0);
    Ok(u64::try_from(v).unwrap_or(0))
}

/// A chaski store in a PostgreSQL/PostGIS database.
pub struct PostgisStore {
    url: StoreUrl,
    names: Names,
    pool: Pool,
    watch: Arc<watch::Watch>,
}

impl std::fmt::Debug for PostgisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgisStore")
            .field("url", &self.url.display)
            .finish_non_exhaustive()
    }
}

impl PostgisStore {
    /// Open the store at `url`; with `create`, make its schema and tables
    /// (and the PostGIS extension) when missing, else a store must be there.
    pub fn open(url: &str, create: bool) -> Result<Self> {
        let parsed = StoreUrl::parse(url).map_err(|e| e.into_store(&hide_password(url)))?;
        let pool =
            connect(&parsed, create, POOL_SIZE).map_err(|e| e.into_store(&parsed.display))?;
        let names = Names {
            schema: parsed.schema.clone(),
        };
        let version = {
            let mut c = pool
                .get()
                .map_err(|e| PostgisError::from(e).into_store(&parsed.display))?;
            read_version(&mut *c, &names).map_err(|e| e.into_store(&parsed.display))?
        };
        Ok(Self {
            watch: Arc::new(watch::Watch::new(
                parsed.config.clone(),
                names.clone(),
                version,
            )),
            url: parsed,
            names,
            pool,
        })
    }

    /// The URL, password hidden.
    pub fn display_url(&self) -> &str {
        &self.url.display
    }

    /// The tokens, access log and places of this store, on its connections.
    pub fn tokens(&self) -> PostgisTokenStore {
        PostgisTokenStore::with_pool(self.pool.clone(), self.names.clone(), &self.url.display)
    }

    fn with<T>(&self, f: impl FnOnce(&mut postgres::Client) -> PgResult<T>) -> Result<T> {
        let mut c = self
            .pool
            .get()
            .map_err(|e| PostgisError::from(e).into_store(&self.url.display))?;
        f(&mut c).map_err(|e| e.into_store(&self.url.display))
    }
}

impl Store for PostgisStore {
    fn backend(&self) -> &'static str {
        "postgis"
    }

    fn layers(&self) -> Result<Vec<LayerInfo>> {
        self.with(|c| layers::layer_infos(c, &self.names, None))
    }

    fn layer_info(&self, name: &str) -> Result<LayerInfo> {
        self.with(|c| layers::layer_infos(c, &self.names, Some(name)))?
            .into_iter()
            .next()
            .ok_or_else(|| chaski_core::store::StoreError::NotFound(name.to_owned()))
    }

    fn read_layer(&self, name: &str) -> Result<Layer> {
        self.with(|c| layers::read_layer(c, &self.names, name, None, true))
    }

    fn read_layer_fields(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        self.with(|c| layers::read_layer(c, &self.names, name, Some(fields), true))
    }

    fn read_layer_columns(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        self.with(|c| layers::read_layer(c, &self.names, name, Some(fields), false))
    }

    fn write_layer(&self, layer: &Layer, mode: WriteMode) -> Result<WriteSummary> {
        check_name(&layer.name)?;
        self.with(|c| layers::write_layer(c, &self.names, layer, mode))
    }

    fn edit_layer(
        &self,
        name: &str,
        kind: LayerKind,
        scope: EditScope<'_>,
        edit: &mut EditFn<'_>,
    ) -> Result<Option<EditSummary>> {
        check_name(name)?;
        self.with(|c| layers::edit_layer(c, &self.names, name, kind, scope, edit))
    }

    fn delete_layer(&self, name: &str) -> Result<bool> {
        self.with(|c| layers::delete_layer(c, &self.names, name))
    }

    fn rasters(&self) -> Result<Vec<RasterInfo>> {
        self.with(|c| rasters::raster_infos(c, &self.names))
    }

    fn read_raster(&self, name: &str) -> Result<Raster<f32>> {
        self.with(|c| rasters::read_raster(c, &self.names, name))
    }

    fn write_raster(&self, name: &str, raster: &Raster<f32>) -> Result<u64> {
        check_name(name)?;
        self.with(|c| rasters::write_raster(c, &self.names, name, raster))
    }

    fn version(&self) -> Result<u64> {
        self.with(|c| read_version(c, &self.names))
    }

    fn wait_for_change(&self, since: u64, timeout: Duration) -> Result<u64> {
        Ok(self.watch.wait(since, timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_their_schema_and_hide_passwords() {
        let u = StoreUrl::parse("postgresql://me:secret@db.example:5433/health?schema=ayacucho")
            .unwrap();
        assert_eq!(u.schema, "ayacucho");
        assert_eq!(
            u.display,
            "postgresql://me:***@db.example:5433/health?schema=ayacucho"
        );
        assert_eq!(u.config.get_dbname(), Some("health"));
        let u = StoreUrl::parse("postgres://me@localhost/health?sslmode=disable").unwrap();
        assert_eq!(u.schema, DEFAULT_SCHEMA);
        assert_eq!(u.display, "postgres://me@localhost/health");
        assert!(StoreUrl::parse("postgresql://me@localhost/h?schema=Bad-Name").is_err());
        assert!(StoreUrl::parse("data/chaski.gpkg").is_err());
        assert!(is_postgres_url("postgres://x") && !is_postgres_url("x.gpkg"));
    }
}
