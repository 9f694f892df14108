//! The layout of a store file, its version and the migrations between
//! versions.
//!
//! The version of chaski's layout is kept in the file itself, as the row
//! `schema_version` of `chaski_meta` (`PRAGMA user_version` is taken: a
//! GeoPackage holds its own version there, 10300 for GeoPackage 1.3). A file
//! without that row is at version 0: a store written before layouts were
//! versioned, or a GeoPackage written by another tool.
//!
//! [`MIGRATIONS`] lists every change of layout in order; migration `n` brings
//! a store from version `n - 1` to `n`. Every migration is idempotent (it
//! creates only what is missing), since a store at version 0 may have any
//! layout an earlier chaski wrote. Opening a store runs the migrations it
//! needs ([`upgrade`]) in one `IMMEDIATE` transaction, which also records the
//! new version: an upgrade lands whole or not at all. A store at a version
//! greater than [`SCHEMA_VERSION`] was written by a newer chaski: it is refused
//! ([`check_supported`]) before anything is written to it.
//!
//! Rasters of the format before coverages (`chaski_rasters`) are converted by
//! the coverage module after opening, one raster per transaction, because a
//! raster that cannot become a coverage (a rotated grid) stays in the old
//! table and is still read.

use super::error::GpkgError;
use super::srs::WGS84_WKT;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// The version of the layout this chaski writes and reads.
pub const SCHEMA_VERSION: i64 = 3;

/// The key of the layout version in `chaski_meta`.
pub(super) const VERSION_KEY: &str = "schema_version";

/// One change of layout: brings a store from version `to - 1` to `to`.
pub struct Migration {
    /// The version after this migration.
    pub to: i64,
    /// What it changes, for the log.
    pub what: &'static str,
    run: fn(&Connection) -> Result<(), GpkgError>,
}

/// Every change of layout, in order (`MIGRATIONS[i].to == i + 1`).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        to: 1,
        what: "GeoPackage core tables, WGS 84 and chaski's layer bookkeeping \
               (chaski_layers, chaski_meta)",
        run: layers_v1,
    },
    Migration {
        to: 2,
        what: "rasters as GeoPackage 2D gridded coverages (chaski_coverages)",
        run: coverages_v2,
    },
    Migration {
        to: 3,
        what: "tokens, access log (with status and detail) and the register of places",
        run: tokens_v3,
    },
];

/// Tables every store at [`SCHEMA_VERSION`] has.
pub(super) const SCHEMA_TABLES: [&str; 10] = [
    "gpkg_spatial_ref_sys",
    "gpkg_contents",
    "gpkg_geometry_columns",
    "gpkg_extensions",
    "chaski_layers",
    "chaski_meta",
    "chaski_coverages",
    "chaski_tokens",
    "access_log",
    "chaski_places",
];

const LAYERS_SQL: &str = r"
CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
CREATE TABLE IF NOT EXISTS chaski_layers (
  name TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL,
  version INTEGER NOT NULL,
  fields TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chaski_meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER);
INSERT OR IGNORE INTO chaski_meta (key, value) VALUES ('version', 0);
";

const COVERAGES_SQL: &str = r"
CREATE TABLE IF NOT EXISTS chaski_coverages (
  name TEXT PRIMARY KEY NOT NULL,
  version INTEGER NOT NULL,
  nodata_nan INTEGER NOT NULL DEFAULT 0
);
";

/// The token, access-log and place tables (also created by the token store
/// when it opens a file of its own).
pub(in crate::store) const TOKENS_SQL: &str = "
CREATE TABLE IF NOT EXISTS chaski_tokens (
  id TEXT PRIMARY KEY NOT NULL,
  secret_sha256 TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  scope TEXT,
  violence INTEGER NOT NULL DEFAULT 0,
  label TEXT,
  created INTEGER NOT NULL,
  revoked INTEGER
);
CREATE TABLE IF NOT EXISTS access_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  who TEXT,
  what TEXT NOT NULL,
  \"when\" INTEGER NOT NULL,
  count INTEGER NOT NULL,
  status INTEGER NOT NULL DEFAULT 200,
  detail TEXT
);
CREATE TABLE IF NOT EXISTS chaski_places (
  facility TEXT NOT NULL,
  sector TEXT NOT NULL,
  community TEXT NOT NULL,
  PRIMARY KEY (facility, sector, community)
);";

/// Columns added to `access_log` after its first release.
const ACCESS_LOG_ADDED: &[(&str, &str)] = &[
    ("status", "INTEGER NOT NULL DEFAULT 200"),
    ("detail", "TEXT"),
];

fn layers_v1(conn: &Connection) -> Result<(), GpkgError> {
    conn.execute_batch(LAYERS_SQL)?;
    insert_wgs84(conn)
}

fn coverages_v2(conn: &Connection) -> Result<(), GpkgError> {
    conn.execute_batch(COVERAGES_SQL)?;
    // Coverages written before EPSG:4979 was registered with them.
    let has_coverages: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'gpkg_2d_gridded_coverage_ancillary')",
        [],
        |r| r.get(0),
    )?;
    if has_coverages {
        insert_wgs84_3d(conn)?;
    }
    Ok(())
}

/// WKT of EPSG:4979 (WGS 84 3D), as GDAL registers it.
const WGS84_3D_WKT: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4979"]]"#;

/// Register EPSG:4979 (when missing): the 2D gridded coverage extension
/// requires it (OGC 17-066r1, requirement 3) in every file with coverages.
pub(super) fn insert_wgs84_3d(conn: &Connection) -> Result<(), GpkgError> {
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES ('WGS 84 3D', 4979, 'EPSG', 4979, ?1, \
         'longitude/latitude/ellipsoidal height on the WGS 84 spheroid')",
        [WGS84_3D_WKT],
    )?;
    Ok(())
}

fn tokens_v3(conn: &Connection) -> Result<(), GpkgError> {
    conn.execute_batch(TOKENS_SQL)?;
    Ok(upgrade_access_log(conn)?)
}

/// Add the columns an access log of the first release lacks.
pub(in crate::store) fn upgrade_access_log(conn: &Connection) -> rusqlite::Result<()> {
    let mut have = Vec::new();
    {
        let mut st = conn.prepare("PRAGMA table_info(access_log)")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            have.push(r.get::<_, String>(1)?);
        }
    }
    for (col, decl) in ACCESS_LOG_ADDED {
        if !have.iter().any(|h| h == col) {
            conn.execute_batch(&format!("ALTER TABLE access_log ADD COLUMN {col} {decl}"))?;
        }
    }
    Ok(())
}

/// Register EPSG:4326 in `gpkg_spatial_ref_sys` (when missing).
pub(super) fn insert_wgs84(conn: &Connection) -> Result<(), GpkgError> {
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, \
         'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        [WGS84_WKT],
    )?;
    Ok(())
}

/// The layout version recorded in the file (0 when none is).
pub fn stored_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chaski_meta')",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(0);
    }
    let v: Option<Option<i64>> = conn
        .query_row(
            "SELECT value FROM chaski_meta WHERE key = ?1",
            [VERSION_KEY],
            |r| r.get(0),
        )
        .optional()?;
    Ok(v.flatten().unwrap_or(0))
}

/// The refusal of a store at `version`, written by a newer chaski.
pub fn newer_message(version: i64) -> String {
    format!(
        "schema version {version} is newer than this chaski supports (schema version \
         {SCHEMA_VERSION}): the store was written by a newer chaski; use that version, or a \
         later one (the file was not modified)"
    )
}

/// Refuse a store written by a newer chaski (reads only).
pub(super) fn check_supported(conn: &Connection) -> Result<i64, GpkgError> {
    let version = stored_version(conn)?;
    if version > SCHEMA_VERSION {
        return Err(GpkgError::Newer(version));
    }
    Ok(version)
}

/// Bring the store to [`SCHEMA_VERSION`] in one transaction: the migrations
/// after its version, the tables of the current layout that are missing, and
/// the new version. Returns the version the store had (read inside the
/// transaction: another process may have upgraded it meanwhile).
pub(super) fn upgrade(conn: &mut Connection) -> Result<i64, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let from = check_supported(&tx)?;
    for m in MIGRATIONS.iter().filter(|m| m.to > from) {
        (m.run)(&tx).map_err(|e| {
            GpkgError::Backend(format!(
                "upgrading the store from schema version {from} failed at migration {} ({}): \
                 {e}; the store was left as it was",
                m.to, m.what
            ))
        })?;
        tracing::info!(
            to = m.to,
            what = m.what,
            "GeoPackage store: schema migrated"
        );
    }
    if from == SCHEMA_VERSION {
        // The current layout with tables missing (dropped by another tool):
        // every migration creates only what is missing.
        for m in MIGRATIONS {
            (m.run)(&tx)?;
        }
    }
    tx.execute(
        "INSERT INTO chaski_meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![VERSION_KEY, SCHEMA_VERSION],
    )?;
    tx.commit()?;
    Ok(from)
}

/// Whether any table of the current layout is missing.
pub(super) fn missing_tables(conn: &Connection) -> Result<bool, GpkgError> {
    let mut present = 0usize;
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let name: String = row.get(0)?;
        if SCHEMA_TABLES.contains(&name.as_str()) {
            present += 1;
        }
    }
    Ok(present < SCHEMA_TABLES.len())
}

/// The layout of a new store, in `conn`'s open transaction.
pub(super) fn create(conn: &Connection) -> Result<(), GpkgError> {
    for m in MIGRATIONS {
        (m.run)(conn)?;
    }
    conn.execute(
        "INSERT OR REPLACE INTO chaski_meta (key, value) VALUES (?1, ?2)",
        rusqlite::params![VERSION_KEY, SCHEMA_VERSION],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::gpkg::open::GpkgStore;
    use crate::store::gpkg::test_support::*;
    use crate::store::tokens::GpkgTokenStore;
    use chaski_core::auth::TokenStore;
    use chaski_core::store::{Store, StoreError, WriteMode};
    use std::path::Path;

    fn sql<T: rusqlite::types::FromSql>(path: &Path, q: &str) -> T {
        Connection::open(path)
            .unwrap()
            .query_row(q, [], |r| r.get(0))
            .unwrap()
    }

    fn tables(path: &Path) -> Vec<String> {
        let c = Connection::open(path).unwrap();
        let mut st = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// A store with one layer of two communities (data version 1), turned by
    /// hand into the layout of the first releases (schema version 0): no
    /// version row, no coverage, token or place tables, the access log
    /// without `status` and `detail` (one entry), rollback journal.
    fn old_store(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("old.gpkg");
        let store = GpkgStore::open(&path).unwrap();
        store
            .write_layer(
                &communities(vec![
                    community(Some("a"), 10, -74.0, -13.0),
                    community(Some("b"), 20, -73.5, -12.5),
                ]),
                WriteMode::Replace,
            )
            .unwrap();
        drop(store);
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "DROP TABLE chaski_coverages; DROP TABLE chaski_tokens; DROP TABLE chaski_places; \
             DROP TABLE access_log; \
             CREATE TABLE access_log (id INTEGER PRIMARY KEY AUTOINCREMENT, who TEXT, \
               what TEXT NOT NULL, \"when\" INTEGER NOT NULL, count INTEGER NOT NULL); \
             INSERT INTO access_log (who, what, \"when\", count) \
               VALUES ('t1', '/api/households', 1700000000, 4); \
             DELETE FROM chaski_meta WHERE key = 'schema_version';",
        )
        .unwrap();
        let mode: String = c
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        drop(c);
        path
    }

    #[test]
    fn the_registry_is_ordered_and_ends_at_the_current_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.to, i as i64 + 1, "{}", m.what);
        }
        assert_eq!(MIGRATIONS.last().unwrap().to, SCHEMA_VERSION);
        // A new store is at the current version and has every table of it.
        let (_dir, path, store) = tmp_store();
        drop(store);
        assert_eq!(
            sql::<i64>(
                &path,
                "SELECT value FROM chaski_meta WHERE key = 'schema_version'"
            ),
            SCHEMA_VERSION
        );
        let t = tables(&path);
        for name in SCHEMA_TABLES {
            assert!(t.iter().any(|x| x == name), "{name} missing: {t:?}");
        }
    }

    #[test]
    fn an_old_store_is_upgraded_on_open_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path());
        assert_eq!(
            stored_version(&Connection::open(&path).unwrap()).unwrap(),
            0
        );
        assert!(!tables(&path).contains(&"chaski_coverages".to_owned()));

        let store = GpkgStore::open(&path).unwrap();
        // The data and its version are kept: migrating is not a new data version.
        assert_eq!(store.version().unwrap(), 1);
        let l = store.read_layer("communities").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(rtree_count(&store, "communities"), 2);
        drop(store);
        assert_eq!(
            sql::<i64>(
                &path,
                "SELECT value FROM chaski_meta WHERE key = 'schema_version'"
            ),
            3
        );
        let t = tables(&path);
        for name in SCHEMA_TABLES {
            assert!(t.iter().any(|x| x == name), "{name} missing: {t:?}");
        }
        assert_eq!(sql::<String>(&path, "PRAGMA journal_mode"), "wal");
        // The old access log entry is kept, with the new columns' defaults.
        let log = GpkgTokenStore::open(&path).unwrap().access_log().unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(
            (
                log[0].who.as_deref(),
                log[0].count,
                log[0].status,
                log[0].detail.as_deref()
            ),
            (Some("t1"), 4, 200, None)
        );
        // Opening again changes nothing.
        let before = std::fs::read(&path).unwrap();
        drop(GpkgStore::open(&path).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_store_at_version_1_gets_the_later_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path());
        // Version 1: the layer tables only, an access log of the new layout.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "INSERT INTO chaski_meta VALUES ('schema_version', 1); DROP TABLE access_log;",
            )
            .unwrap();
        let store = GpkgStore::open(&path).unwrap();
        assert_eq!(store.read_layer("communities").unwrap().len(), 2);
        drop(store);
        assert_eq!(
            stored_version(&Connection::open(&path).unwrap()).unwrap(),
            3
        );
        let t = tables(&path);
        for name in [
            "chaski_coverages",
            "chaski_tokens",
            "access_log",
            "chaski_places",
        ] {
            assert!(t.iter().any(|x| x == name), "{name} missing: {t:?}");
        }
    }

    #[test]
    fn a_failing_migration_leaves_the_store_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path());
        // An access log that migration 3 cannot alter (a view): migrations 1
        // and 2 run first, in the same transaction.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "DROP TABLE access_log; \
                 CREATE VIEW access_log AS SELECT 1 AS id, 'x' AS who, 'y' AS what;",
            )
            .unwrap();
        let err = GpkgStore::open(&path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(path.to_str().unwrap()), "{msg}");
        assert!(
            msg.contains("from schema version 0 failed at migration 3"),
            "{msg}"
        );
        assert!(msg.contains("Cannot add a column to a view"), "{msg}");
        assert_eq!(
            stored_version(&Connection::open(&path).unwrap()).unwrap(),
            0
        );
        let t = tables(&path);
        assert!(!t.contains(&"chaski_coverages".to_owned()), "{t:?}");
        assert!(!t.contains(&"chaski_tokens".to_owned()), "{t:?}");
    }

    #[test]
    fn a_newer_store_is_refused_and_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = old_store(dir.path());
        Connection::open(&path)
            .unwrap()
            .execute_batch("INSERT INTO chaski_meta VALUES ('schema_version', 7);")
            .unwrap();
        let before = std::fs::read(&path).unwrap();
        match GpkgStore::open(&path) {
            Err(e @ StoreError::NewerSchema { .. }) => {
                let StoreError::NewerSchema {
                    store,
                    version,
                    supported,
                } = &e
                else {
                    unreachable!()
                };
                assert_eq!(
                    (store.as_str(), *version, *supported),
                    (path.to_str().unwrap(), 7, 3)
                );
                let msg = e.to_string();
                assert!(msg.contains(path.to_str().unwrap()), "{msg}");
                assert!(msg.contains("schema version 7"), "{msg}");
                assert!(msg.contains("schema version 3"), "{msg}");
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
        let err = GpkgTokenStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 7"), "{err}");
        // Not a byte changed: no WAL switch, no tables, no version.
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(sql::<String>(&path, "PRAGMA journal_mode"), "delete");
        assert!(!tables(&path).contains(&"chaski_coverages".to_owned()));
    }
}
