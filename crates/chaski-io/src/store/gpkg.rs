//! The GeoPackage file store: the embedded default backend, a single `.gpkg`
//! file that QGIS and GDAL open directly.
//!
//! Every vector layer is a GeoPackage 1.3 feature table (`fid`, `geom`, one
//! column per field) registered in `gpkg_contents` and `gpkg_geometry_columns`,
//! with a `gpkg_rtree_index` spatial index (`rtree_<layer>_geom` and the
//! standard triggers; the `ST_*` functions they call are registered on our
//! connection). chaski's own metadata lives in `chaski_layers` (kind, fields,
//! version per layer) and `chaski_meta` (the store-wide data version). Rasters
//! are GeoPackage 2D gridded coverages (Float32 TIFF tiles, module `coverage`);
//! stores written before, with rasters in `chaski_rasters`, are migrated on open.
//!
//! The file runs in WAL mode with `synchronous=FULL`: every write is one
//! transaction, and once it returns `Ok` it survives a crash. A layer written
//! whole (replace, or a write of 2,000 features or more) gets its rtree
//! bulk-loaded (Hilbert-sorted, packed nodes, as GDAL does); smaller writes go
//! through the triggers.
//!
//! Opening checks the file cheaply (SQLite header, declared size against the
//! file length, `application_id`, and `PRAGMA quick_check` up to 64 MiB): a
//! damaged or foreign file gives [`StoreError::Corrupt`] and is left untouched.
//!
//! Geometries are stored in the layer's geometry type when that is lossless
//! (GeoPackage requires a `MULTIPOLYGON` column to hold multi polygons): in
//! line layers a `LineString` is stored (and read back) as a one-part
//! `MultiLineString`, in polygon layers a `Polygon` as a `MultiPolygon`, and in
//! point layers a one-point `MultiPoint` as a `Point` (also when reading files
//! other tools wrote). Other geometries are stored as written.

use chaski_core::layer::{Feature, GeometryType, Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_core::store::{
    EditFn, EditScope, EditSummary, LayerInfo, RasterInfo, Result, Store, StoreError, UpsertKeys,
    WriteMode, WriteSummary, check_name, merge_fields,
};
use chaski_core::value::{Field, FieldType, Value};
use geo::{
    BoundingRect, Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint,
    MultiPolygon, Point, Polygon,
};
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OptionalExtension, ToSql, TransactionBehavior, params};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// `PRAGMA application_id` of a GeoPackage ("GPKG").
const APPLICATION_ID: i64 = 0x4750_4B47;
/// Application ids of GeoPackage 1.0 ("GP10") and 1.1 ("GP11") files, accepted on open.
const OLD_APPLICATION_IDS: [i64; 2] = [0x4750_3130, 0x4750_3131];
/// `PRAGMA user_version` of GeoPackage 1.3.
const USER_VERSION: i64 = 10300;
/// The SRS of every layer (WGS 84 longitude/latitude).
const SRS_ID: i32 = 4326;
/// Files up to this size get a `PRAGMA quick_check` on open.
const QUICK_CHECK_MAX_BYTES: u64 = 64 << 20;
/// Deepest geometry-collection nesting accepted when decoding.
const MAX_DEPTH: usize = 32;

const WGS84_WKT: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]"#;

/// Tables every store file needs (created when missing, also in GeoPackages
/// written by other tools).
const SCHEMA_TABLES: [&str; 7] = [
    "gpkg_spatial_ref_sys",
    "gpkg_contents",
    "gpkg_geometry_columns",
    "gpkg_extensions",
    "chaski_layers",
    "chaski_meta",
    "chaski_coverages",
];

const SCHEMA_SQL: &str = r"
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
CREATE TABLE IF NOT EXISTS chaski_coverages (
  name TEXT PRIMARY KEY NOT NULL,
  version INTEGER NOT NULL,
  nodata_nan INTEGER NOT NULL DEFAULT 0
);
";

/// Errors of the GeoPackage geometry codec (GeoPackage binary header + WKB).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GeometryBlobError {
    /// The blob does not start with the `GP` magic.
    #[error("not a GeoPackage geometry (bad magic)")]
    BadMagic,
    /// Unknown GeoPackage binary version.
    #[error("unsupported GeoPackage geometry version {0}")]
    Version(u8),
    /// Invalid envelope contents indicator.
    #[error("invalid envelope indicator {0}")]
    Envelope(u8),
    /// Extended (non-standard) geometry types are not supported.
    #[error("extended GeoPackage geometry types are not supported")]
    Extended,
    /// The blob ends before the geometry does.
    #[error("geometry blob truncated at byte {0}")]
    Truncated(usize),
    /// A WKB byte-order byte is neither 0 nor 1.
    #[error("invalid WKB byte order {byte} at byte {offset}")]
    ByteOrder {
        /// The byte found.
        byte: u8,
        /// Where.
        offset: usize,
    },
    /// Unknown WKB geometry type code.
    #[error("unsupported WKB geometry type {0}")]
    Type(u32),
    /// A member of a multi-geometry has the wrong type.
    #[error("a {0} holds a member of another type")]
    Member(&'static str),
    /// Geometry collections nested too deep.
    #[error("geometry collections nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Bytes left after the geometry.
    #[error("{0} unexpected bytes after the geometry")]
    Trailing(usize),
    /// A coordinate is NaN or infinite (cannot be indexed).
    #[error("geometry has a non-finite coordinate")]
    NonFinite,
}

/// Internal errors, turned into [`StoreError`] (with the store path) at the trait boundary.
#[derive(Debug, thiserror::Error)]
enum GpkgError {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Backend(String),
}

impl GpkgError {
    fn into_store(self, path: &Path) -> StoreError {
        match self {
            Self::Sql(e) => sql_error(path, &e),
            Self::Store(e) => e,
            Self::Corrupt(reason) => StoreError::Corrupt {
                path: path.to_owned(),
                reason,
            },
            Self::Backend(msg) => StoreError::Backend(format!("{}: {msg}", path.display())),
        }
    }
}

/// Map an SQLite error: corrupt files become [`StoreError::Corrupt`].
fn sql_error(path: &Path, e: &rusqlite::Error) -> StoreError {
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

fn corrupt(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// A layer store in one GeoPackage file.
///
/// Thread safe: one SQLite connection behind a mutex. Other processes (QGIS,
/// GDAL, another chaski) may open the same file; SQLite's locking applies.
pub struct GpkgStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for GpkgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpkgStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl GpkgStore {
    /// Open the store at `path`, creating a new GeoPackage when the file is
    /// missing or empty.
    ///
    /// A file that is not a GeoPackage, or is truncated or damaged, gives
    /// [`StoreError::Corrupt`]. A GeoPackage written by another tool is
    /// accepted: chaski's tables are added to it, its own layers are left alone.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let len = match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => return Err(corrupt(&path, "is a directory, not a file")),
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(StoreError::Backend(format!("{}: {e}", path.display()))),
        };
        if len == 0 {
            create_new(&path)?;
        } else {
            check_file_header(&path, len)?;
        }
        let conn = Connection::open(&path).map_err(|e| sql_error(&path, &e))?;
        // Read-only checks first: a file we refuse is left untouched.
        let setup = || -> Result<(), GpkgError> {
            conn.busy_timeout(Duration::from_secs(10))?;
            register_functions(&conn)?;
            verify_geopackage(&conn)?;
            if len <= QUICK_CHECK_MAX_BYTES {
                quick_check(&conn)?;
            }
            configure(&conn)?;
            ensure_schema(&conn)
        };
        setup().map_err(|e| e.into_store(&path))?;
        let mut conn = conn;
        coverage::migrate_legacy(&mut conn);
        Ok(Self {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The file path of the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run SQLite's `PRAGMA quick_check` over the whole file (reads all of
    /// it; `open` does this only for files up to 64 MiB).
    pub fn quick_check(&self) -> Result<()> {
        self.run(|c| quick_check(c))
    }

    fn run<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T, GpkgError>) -> Result<T> {
        let mut guard = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard).map_err(|e| e.into_store(&self.path))
    }
}

// ---------------------------------------------------------------------------
// Opening and creating
// ---------------------------------------------------------------------------

/// Cheap checks of the raw file before SQLite reads it: the SQLite magic and
/// the database size the header declares against the file length.
fn check_file_header(path: &Path, len: u64) -> Result<()> {
    if len < 100 {
        return Err(corrupt(
            path,
            format!("truncated: {len} bytes, shorter than the 100-byte SQLite header"),
        ));
    }
    let mut header = [0u8; 100];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| StoreError::Backend(format!("{}: {e}", path.display())))?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(corrupt(
            path,
            "not a GeoPackage: the file is not an SQLite database (bad header magic)",
        ));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        p if p >= 512 && p.is_power_of_two() => u64::from(p),
        p => {
            return Err(corrupt(
                path,
                format!("damaged SQLite header: invalid page size {p}"),
            ));
        }
    };
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let (change_counter, page_count, valid_for) = (be32(24), be32(28), be32(92));
    let declared = u64::from(page_count) * page_size;
    // After a crash, pages may still sit in the WAL (or a hot rollback
    // journal) that SQLite replays on open: only judge the size without one.
    let side_file = |suffix: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        std::fs::metadata(p).is_ok_and(|m| m.len() > 0)
    };
    let pending = side_file("-wal") || side_file("-journal");
    if page_count > 0 && change_counter == valid_for && len < declared && !pending {
        return Err(corrupt(
            path,
            format!(
                "truncated: the file has {len} bytes but its header declares {page_count} pages of {page_size} bytes ({declared} bytes)"
            ),
        ));
    }
    Ok(())
}

static CREATE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Create a new, empty store at `path` atomically: build it in a temporary
/// file next to it, then move it into place.
fn create_new(path: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map_or_else(|| "store.gpkg".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{file_name}.creating-{}-{}",
        std::process::id(),
        CREATE_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = build_new(&tmp).and_then(|()| install_new(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    result
}

fn build_new(tmp: &Path) -> Result<()> {
    let _ = std::fs::remove_file(tmp);
    let conn = Connection::open(tmp).map_err(|e| sql_error(tmp, &e))?;
    let init = || -> Result<(), GpkgError> {
        conn.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {USER_VERSION};"
        ))?;
        conn.execute_batch("BEGIN IMMEDIATE;")?;
        conn.execute_batch(SCHEMA_SQL)?;
        insert_wgs84(&conn)?;
        conn.execute_batch("COMMIT;")?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "GeoPackage store: WAL journal mode not available");
        }
        Ok(())
    };
    init().map_err(|e| e.into_store(tmp))?;
    conn.close().map_err(|(_, e)| sql_error(tmp, &e))?;
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Backend(format!("{}: {e}", tmp.display())))
}

fn install_new(tmp: &Path, path: &Path) -> Result<()> {
    let io = |e: std::io::Error| StoreError::Backend(format!("{}: {e}", path.display()));
    if path.exists() {
        // An empty file: replace it.
        std::fs::rename(tmp, path).map_err(io)?;
    } else {
        // Never replace a store another process created meanwhile.
        match std::fs::hard_link(tmp, path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
            Err(_) => std::fs::rename(tmp, path).map_err(io)?,
        }
    }
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Make the new directory entry durable (best effort: not every platform
        // can open a directory).
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

fn insert_wgs84(conn: &Connection) -> Result<(), GpkgError> {
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, \
         'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        [WGS84_WKT],
    )?;
    Ok(())
}

fn configure(conn: &Connection) -> Result<(), GpkgError> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "GeoPackage store: WAL journal mode not available");
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY; \
         PRAGMA journal_size_limit = 67108864;",
    )?;
    Ok(())
}

fn verify_geopackage(conn: &Connection) -> Result<(), GpkgError> {
    let app_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let has_contents: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_contents')",
        [],
        |r| r.get(0),
    )?;
    if app_id == APPLICATION_ID || OLD_APPLICATION_IDS.contains(&app_id) || has_contents {
        Ok(())
    } else {
        Err(GpkgError::Corrupt(format!(
            "not a GeoPackage: an SQLite database with application_id {:#010x} and no gpkg_contents table",
            app_id & 0xFFFF_FFFF
        )))
    }
}

fn ensure_schema(conn: &Connection) -> Result<(), GpkgError> {
    let mut present = 0usize;
    {
        let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let name: String = row.get(0)?;
            if SCHEMA_TABLES.contains(&name.as_str()) {
                present += 1;
            }
        }
    }
    if present < SCHEMA_TABLES.len() {
        conn.execute_batch("BEGIN IMMEDIATE;")?;
        let r = conn
            .execute_batch(SCHEMA_SQL)
            .map_err(GpkgError::from)
            .and_then(|()| insert_wgs84(conn));
        match r {
            Ok(()) => conn.execute_batch("COMMIT;")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK;");
                return Err(e);
            }
        }
    }
    Ok(())
}

fn quick_check(conn: &Connection) -> Result<(), GpkgError> {
    let first: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if first == "ok" {
        Ok(())
    } else {
        Err(GpkgError::Corrupt(format!(
            "integrity check failed: {first}"
        )))
    }
}

// ---------------------------------------------------------------------------
// SQL functions for the rtree triggers
// ---------------------------------------------------------------------------

/// Register `ST_IsEmpty`, `ST_MinX`, `ST_MaxX`, `ST_MinY`, `ST_MaxY` (the
/// functions the `gpkg_rtree_index` triggers call) on `conn`. They return
/// NULL for NULL or malformed blobs.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("ST_IsEmpty", 1, flags, |ctx| {
        Ok(match arg_envelope(ctx) {
            ArgEnvelope::Invalid => None,
            ArgEnvelope::Empty => Some(true),
            ArgEnvelope::Bounds(_) => Some(false),
        })
    })?;
    for (name, idx) in [
        ("ST_MinX", 0),
        ("ST_MinY", 1),
        ("ST_MaxX", 2),
        ("ST_MaxY", 3),
    ] {
        conn.create_scalar_function(name, 1, flags, move |ctx| {
            Ok(match arg_envelope(ctx) {
                ArgEnvelope::Bounds(b) => Some(b[idx]),
                _ => None,
            })
        })?;
    }
    Ok(())
}

/// The bounds of a geometry argument.
enum ArgEnvelope {
    /// NULL, not a blob, or a malformed blob.
    Invalid,
    /// An empty geometry.
    Empty,
    /// Min x, min y, max x, max y.
    Bounds([f64; 4]),
}

/// The bounds of the geometry blob in argument 0.
fn arg_envelope(ctx: &Context<'_>) -> ArgEnvelope {
    match ctx.get_raw(0) {
        ValueRef::Blob(b) => match blob_bounds(b) {
            Ok(Some(b)) => ArgEnvelope::Bounds(b),
            Ok(None) => ArgEnvelope::Empty,
            Err(_) => ArgEnvelope::Invalid,
        },
        _ => ArgEnvelope::Invalid,
    }
}

// ---------------------------------------------------------------------------
// Geometry codec: GeoPackage binary header + WKB
// ---------------------------------------------------------------------------

struct BlobHeader {
    empty: bool,
    /// Envelope as stored: min x, max x, min y, max y.
    envelope: Option<[f64; 4]>,
    wkb_offset: usize,
}

fn parse_header(b: &[u8]) -> Result<BlobHeader, GeometryBlobError> {
    if b.len() < 8 {
        return Err(if b.len() >= 2 && &b[..2] != b"GP" {
            GeometryBlobError::BadMagic
        } else {
            GeometryBlobError::Truncated(b.len())
        });
    }
    if &b[..2] != b"GP" {
        return Err(GeometryBlobError::BadMagic);
    }
    if b[2] != 0 {
        return Err(GeometryBlobError::Version(b[2]));
    }
    let flags = b[3];
    if flags & 0x20 != 0 {
        return Err(GeometryBlobError::Extended);
    }
    let le = flags & 1 == 1;
    let indicator = (flags >> 1) & 7;
    let env_len = match indicator {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        x => return Err(GeometryBlobError::Envelope(x)),
    };
    if b.len() < 8 + env_len {
        return Err(GeometryBlobError::Truncated(b.len()));
    }
    let envelope = (indicator > 0).then(|| {
        let mut e = [0.0; 4];
        for (i, v) in e.iter_mut().enumerate() {
            let at = 8 + i * 8;
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&b[at..at + 8]);
            *v = if le {
                f64::from_le_bytes(raw)
            } else {
                f64::from_be_bytes(raw)
            };
        }
        e
    });
    Ok(BlobHeader {
        empty: flags & 0x10 != 0,
        envelope,
        wkb_offset: 8 + env_len,
    })
}

/// Bounds (min x, min y, max x, max y) of a GeoPackage geometry blob, from its
/// envelope when it has one, else from its WKB. None for an empty geometry.
pub fn blob_bounds(blob: &[u8]) -> Result<Option<[f64; 4]>, GeometryBlobError> {
    let h = parse_header(blob)?;
    if h.empty {
        return Ok(None);
    }
    if let Some([minx, maxx, miny, maxy]) = h.envelope {
        return Ok(Some([minx, miny, maxx, maxy]));
    }
    let g = decode_wkb(blob, h.wkb_offset)?;
    Ok(g.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]))
}

/// Decode a GeoPackage geometry blob (header + WKB, either byte order; Z and
/// M ordinates are dropped). Malformed blobs give an error, never a panic.
pub fn decode_gpkg_geometry(blob: &[u8]) -> Result<Geometry<f64>, GeometryBlobError> {
    let h = parse_header(blob)?;
    decode_wkb(blob, h.wkb_offset)
}

fn decode_wkb(blob: &[u8], offset: usize) -> Result<Geometry<f64>, GeometryBlobError> {
    let mut r = WkbReader {
        buf: blob,
        pos: offset,
        le: true,
    };
    let g = r.geometry(0)?;
    if r.pos == blob.len() {
        Ok(g)
    } else {
        Err(GeometryBlobError::Trailing(blob.len() - r.pos))
    }
}

struct WkbReader<'a> {
    buf: &'a [u8],
    pos: usize,
    le: bool,
}

impl WkbReader<'_> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GeometryBlobError> {
        let end = self
            .pos
            .checked_add(N)
            .ok_or(GeometryBlobError::Truncated(self.pos))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(GeometryBlobError::Truncated(self.buf.len()))?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        self.pos = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, GeometryBlobError> {
        let b = self.bytes::<4>()?;
        Ok(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self) -> Result<f64, GeometryBlobError> {
        let b = self.bytes::<8>()?;
        Ok(if self.le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// A count of items each at least `min_size` bytes long.
    fn count(&mut self, min_size: usize) -> Result<usize, GeometryBlobError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size) > self.remaining() {
            return Err(GeometryBlobError::Truncated(self.buf.len()));
        }
        Ok(n)
    }

    fn coord(&mut self, dims: usize) -> Result<Coord<f64>, GeometryBlobError> {
        let x = self.f64()?;
        let y = self.f64()?;
        for _ in 2..dims {
            self.f64()?;
        }
        Ok(Coord { x, y })
    }

    fn line(&mut self, dims: usize) -> Result<LineString<f64>, GeometryBlobError> {
        let n = self.count(8 * dims)?;
        let mut coords = Vec::with_capacity(n);
        for _ in 0..n {
            coords.push(self.coord(dims)?);
        }
        Ok(LineString::new(coords))
    }

    fn polygon(&mut self, dims: usize) -> Result<Polygon<f64>, GeometryBlobError> {
        let n = self.count(4)?;
        let mut rings = Vec::with_capacity(n);
        for _ in 0..n {
            rings.push(self.line(dims)?);
        }
        let mut rings = rings.into_iter();
        let exterior = rings.next().unwrap_or_else(|| LineString::new(Vec::new()));
        Ok(Polygon::new(exterior, rings.collect()))
    }

    /// Byte order and type of a geometry: (base type 1..=7, ordinates per coordinate).
    fn header(&mut self) -> Result<(u32, usize), GeometryBlobError> {
        let offset = self.pos;
        let [order] = self.bytes::<1>()?;
        self.le = match order {
            0 => false,
            1 => true,
            byte => return Err(GeometryBlobError::ByteOrder { byte, offset }),
        };
        let raw = self.u32()?;
        // EWKB flags (PostGIS) and ISO dimension codes (1000s).
        let (ez, em, srid) = (
            raw & 0x8000_0000 != 0,
            raw & 0x4000_0000 != 0,
            raw & 0x2000_0000 != 0,
        );
        let code = raw & 0x1FFF_FFFF;
        let (base, iso) = (code % 1000, code / 1000);
        let (iz, im) = match iso {
            0 => (false, false),
            1 => (true, false),
            2 => (false, true),
            3 => (true, true),
            _ => return Err(GeometryBlobError::Type(raw)),
        };
        if !(1..=7).contains(&base) {
            return Err(GeometryBlobError::Type(raw));
        }
        if srid {
            self.u32()?;
        }
        Ok((base, 2 + usize::from(ez || iz) + usize::from(em || im)))
    }

    fn geometry(&mut self, depth: usize) -> Result<Geometry<f64>, GeometryBlobError> {
        if depth > MAX_DEPTH {
            return Err(GeometryBlobError::TooDeep);
        }
        let (base, dims) = self.header()?;
        Ok(match base {
            1 => Geometry::Point(Point(self.coord(dims)?)),
            2 => Geometry::LineString(self.line(dims)?),
            3 => Geometry::Polygon(self.polygon(dims)?),
            4 => {
                let n = self.count(5)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    match self.geometry(depth + 1)? {
                        Geometry::Point(p) => v.push(p),
                        _ => return Err(GeometryBlobError::Member("MultiPoint")),
                    }
                }
                Geometry::MultiPoint(MultiPoint::new(v))
            }
            5 => {
                let n = self.count(5)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    match self.geometry(depth + 1)? {
                        Geometry::LineString(l) => v.push(l),
                        _ => return Err(GeometryBlobError::Member("MultiLineString")),
                    }
                }
                Geometry::MultiLineString(MultiLineString::new(v))
            }
            6 => {
                let n = self.count(5)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    match self.geometry(depth + 1)? {
                        Geometry::Polygon(p) => v.push(p),
                        _ => return Err(GeometryBlobError::Member("MultiPolygon")),
                    }
                }
                Geometry::MultiPolygon(MultiPolygon::new(v))
            }
            _ => {
                let n = self.count(5)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.geometry(depth + 1)?);
                }
                Geometry::GeometryCollection(GeometryCollection::new_from(v))
            }
        })
    }
}

/// Encode `g` as a GeoPackage geometry blob (little-endian, SRS 4326) into
/// `out` (cleared first). Points carry no envelope (as GDAL writes them),
/// other geometries the `[min x, max x, min y, max y]` envelope; empty
/// geometries set the empty flag. Returns the bounds (min x, min y, max x,
/// max y), None when empty. `Line`, `Rect` and `Triangle` are written as
/// `LineString` and `Polygon`.
pub fn encode_gpkg_geometry(
    g: &Geometry<f64>,
    out: &mut Vec<u8>,
) -> Result<Option<[f64; 4]>, GeometryBlobError> {
    out.clear();
    let bounds = g
        .bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
    let is_point = matches!(g, Geometry::Point(_));
    let flags: u8 = 1 | match (bounds, is_point) {
        (None, _) => 0x10,
        (Some(_), true) => 0,
        (Some(_), false) => 0b10,
    };
    out.extend_from_slice(b"GP");
    out.push(0);
    out.push(flags);
    out.extend_from_slice(&SRS_ID.to_le_bytes());
    if let (Some([minx, miny, maxx, maxy]), false) = (bounds, is_point) {
        for v in [minx, maxx, miny, maxy] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let mut w = WkbWriter { out, finite: true };
    w.geometry(g);
    if w.finite {
        Ok(bounds)
    } else {
        Err(GeometryBlobError::NonFinite)
    }
}

struct WkbWriter<'a> {
    out: &'a mut Vec<u8>,
    finite: bool,
}

impl WkbWriter<'_> {
    fn header(&mut self, ty: u32) {
        self.out.push(1);
        self.out.extend_from_slice(&ty.to_le_bytes());
    }

    fn u32(&mut self, n: usize) {
        self.out.extend_from_slice(&(n as u32).to_le_bytes());
    }

    fn coord(&mut self, c: Coord<f64>) {
        self.finite &= c.x.is_finite() && c.y.is_finite();
        self.out.extend_from_slice(&c.x.to_le_bytes());
        self.out.extend_from_slice(&c.y.to_le_bytes());
    }

    fn line(&mut self, l: &LineString<f64>) {
        self.u32(l.0.len());
        for c in &l.0 {
            self.coord(*c);
        }
    }

    fn polygon(&mut self, p: &Polygon<f64>) {
        let has_exterior = !p.exterior().0.is_empty() || !p.interiors().is_empty();
        self.u32(usize::from(has_exterior) + p.interiors().len());
        if has_exterior {
            self.line(p.exterior());
        }
        for r in p.interiors() {
            self.line(r);
        }
    }

    fn geometry(&mut self, g: &Geometry<f64>) {
        match g {
            Geometry::Point(p) => {
                self.header(1);
                self.coord(p.0);
            }
            Geometry::Line(l) => {
                self.header(2);
                self.u32(2);
                self.coord(l.start);
                self.coord(l.end);
            }
            Geometry::LineString(l) => {
                self.header(2);
                self.line(l);
            }
            Geometry::Polygon(p) => {
                self.header(3);
                self.polygon(p);
            }
            Geometry::Rect(r) => {
                self.header(3);
                self.polygon(&r.to_polygon());
            }
            Geometry::Triangle(t) => {
                self.header(3);
                self.polygon(&t.to_polygon());
            }
            Geometry::MultiPoint(mp) => {
                self.header(4);
                self.u32(mp.0.len());
                for p in &mp.0 {
                    self.header(1);
                    self.coord(p.0);
                }
            }
            Geometry::MultiLineString(ml) => {
                self.header(5);
                self.u32(ml.0.len());
                for l in &ml.0 {
                    self.header(2);
                    self.line(l);
                }
            }
            Geometry::MultiPolygon(mp) => {
                self.header(6);
                self.u32(mp.0.len());
                for p in &mp.0 {
                    self.header(3);
                    self.polygon(p);
                }
            }
            Geometry::GeometryCollection(gc) => {
                self.header(7);
                self.u32(gc.0.len());
                for g in &gc.0 {
                    self.geometry(g);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Layer tables
// ---------------------------------------------------------------------------

/// `g` in the layer geometry type `ty` when the conversion is lossless
/// (single to multi for lines and polygons, one-point multi to point).
fn conform(g: &Geometry<f64>, ty: GeometryType) -> std::borrow::Cow<'_, Geometry<f64>> {
    use std::borrow::Cow;
    match (ty, g) {
        (GeometryType::Point, Geometry::MultiPoint(mp)) if mp.0.len() == 1 => {
            Cow::Owned(Geometry::Point(mp.0[0]))
        }
        (GeometryType::MultiLineString, Geometry::LineString(l)) => {
            Cow::Owned(Geometry::MultiLineString(MultiLineString::new(vec![
                l.clone(),
            ])))
        }
        (GeometryType::MultiLineString, Geometry::Line(l)) => {
            Cow::Owned(Geometry::MultiLineString(MultiLineString::new(vec![
                LineString::new(vec![l.start, l.end]),
            ])))
        }
        (GeometryType::MultiPolygon, Geometry::Polygon(p)) => {
            Cow::Owned(Geometry::MultiPolygon(MultiPolygon::new(vec![p.clone()])))
        }
        (GeometryType::MultiPolygon, Geometry::Rect(r)) => {
            Cow::Owned(Geometry::MultiPolygon(MultiPolygon::new(vec![
                r.to_polygon(),
            ])))
        }
        (GeometryType::MultiPolygon, Geometry::Triangle(t)) => {
            Cow::Owned(Geometry::MultiPolygon(MultiPolygon::new(vec![
                t.to_polygon(),
            ])))
        }
        _ => Cow::Borrowed(g),
    }
}

/// Quote an SQL identifier.
fn q(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

fn rtree_name(layer: &str) -> String {
    format!("rtree_{layer}_geom")
}

/// Column names for `fields`: the field names, made unique case-insensitively
/// and distinct from `fid` and `geom` (a `_2`, `_3`... suffix). Each name depends
/// only on the fields before it, so appending fields keeps existing columns.
fn column_names(fields: &[Field]) -> Vec<String> {
    let mut used: std::collections::HashSet<String> =
        ["fid".to_owned(), "geom".to_owned()].into_iter().collect();
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let base: String = f.name.chars().filter(|&c| c != '\0').collect();
            let base = if base.is_empty() {
                format!("field_{}", i + 1)
            } else {
                base
            };
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.to_lowercase()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "TEXT",
        FieldType::Int => "INTEGER",
        FieldType::Real => "REAL",
        FieldType::Bool => "BOOLEAN",
        FieldType::Date => "DATE",
    }
}

/// A [`Value`] bound as an SQL parameter (booleans as 0/1).
struct Sv<'a>(Option<&'a Value>);

impl ToSql for Sv<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            None | Some(Value::Null) => ValueRef::Null,
            Some(Value::Bool(b)) => ValueRef::Integer(i64::from(*b)),
            Some(Value::Int(i)) => ValueRef::Integer(*i),
            Some(Value::Real(f)) => ValueRef::Real(*f),
            Some(Value::Text(s)) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

/// A stored value back as a [`Value`] of a field of type `ty`.
fn read_value(v: ValueRef<'_>, ty: FieldType) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => match ty {
            FieldType::Bool => Value::Bool(i != 0),
            // DATE columns have numeric affinity: digits-only text comes back as a number.
            FieldType::Date | FieldType::Text => Value::Text(i.to_string()),
            FieldType::Int | FieldType::Real => Value::Int(i),
        },
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

/// The key of a `code` value for upserts, as the TEXT column stores it.
fn code_key(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(i64::from(*b).to_string()),
        Value::Real(f) => Some(format!("\u{0}real:{}", f.to_bits())),
    }
}

fn stored_code_key(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(format!("\u{0}real:{}", f.to_bits())),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Bounds from four nullable columns.
fn all_some(b: [Option<f64>; 4]) -> Option<[f64; 4]> {
    match b {
        [Some(x0), Some(y0), Some(x1), Some(y1)] => Some([x0, y0, x1, y1]),
        _ => None,
    }
}

/// `, "a", "b"` for columns `a`, `b`.
fn col_list(cols: &[String]) -> String {
    cols.iter().fold(String::new(), |mut s, c| {
        s.push_str(", ");
        s.push_str(&q(c));
        s
    })
}

/// `, ?3, ?4...`: one placeholder per column, numbered from 3 (after fid and geom).
fn placeholders(n: usize) -> String {
    (0..n).fold(String::new(), |mut s, i| {
        let _ = write!(s, ", ?{}", i + 3);
        s
    })
}

/// Sort index entries along a Hilbert curve over `bounds`: inserting nearby
/// boxes together keeps SQLite's rtree updates local (much faster, better tree).
/// Merged fields, their column names, and where each comes from in the incoming fields.
type MergedColumns = (Vec<Field>, Vec<String>, Vec<Option<usize>>);

/// Merge `incoming` fields into a stored layer's: new columns are added to
/// its table. Returns the merged fields, their column names and where each
/// comes from in `incoming`.
fn add_columns(
    conn: &Connection,
    name: &str,
    stored: &[Field],
    incoming: &[Field],
) -> Result<MergedColumns, GpkgError> {
    let fields = merge_fields(name, stored, incoming)?;
    let cols = column_names(&fields);
    for (c, f) in cols.iter().zip(&fields).skip(stored.len()) {
        conn.execute_batch(&format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            q(name),
            q(c),
            sql_type(f.ty)
        ))?;
    }
    let src = fields
        .iter()
        .map(|t| incoming.iter().position(|x| x.name == t.name))
        .collect();
    Ok((fields, cols, src))
}

/// `INSERT` of a feature row: `?1` fid, `?2` geometry, `?3…` the columns.
fn insert_sql(name: &str, cols: &[String]) -> String {
    format!(
        "INSERT INTO {} (\"fid\", \"geom\"{}) VALUES (?1, ?2{})",
        q(name),
        col_list(cols),
        placeholders(cols.len())
    )
}

/// `UPDATE` of a feature row by fid, parameters as [`insert_sql`].
fn update_sql(name: &str, cols: &[String]) -> String {
    let sets = cols
        .iter()
        .enumerate()
        .fold(String::new(), |mut s, (i, c)| {
            let _ = write!(s, ", {} = ?{}", q(c), i + 3);
            s
        });
    format!(
        "UPDATE {} SET \"geom\" = ?2{sets} WHERE \"fid\" = ?1",
        q(name)
    )
}

/// Bind and run a statement of [`insert_sql`] or [`update_sql`]: `src[j]` is
/// where stored column `j` comes from in `values`. Returns the rows changed.
fn write_row(
    stmt: &mut rusqlite::Statement<'_>,
    fid: i64,
    geometry: &[u8],
    src: &[Option<usize>],
    values: &[Value],
) -> rusqlite::Result<usize> {
    stmt.raw_bind_parameter(1, fid)?;
    stmt.raw_bind_parameter(2, geometry)?;
    for (j, s) in src.iter().enumerate() {
        stmt.raw_bind_parameter(j + 3, Sv(s.and_then(|s| values.get(s))))?;
    }
    stmt.raw_execute()
}

fn sort_hilbert(entries: &mut [(i64, [f64; 4])], bounds: Option<[f64; 4]>) {
    let Some([x0, y0, x1, y1]) = bounds else {
        return;
    };
    let (w, h) = (
        (x1 - x0).max(f64::MIN_POSITIVE),
        (y1 - y0).max(f64::MIN_POSITIVE),
    );
    let scale = f64::from(u16::MAX);
    entries.sort_by_cached_key(|(_, b)| {
        let cx = (((b[0] + b[2]) * 0.5 - x0) / w * scale).clamp(0.0, scale) as u32;
        let cy = (((b[1] + b[3]) * 0.5 - y0) / h * scale).clamp(0.0, scale) as u32;
        hilbert_index(cx, cy)
    });
}

/// Position of (x, y) (16-bit each) along the Hilbert curve.
fn hilbert_index(mut x: u32, mut y: u32) -> u64 {
    let mut d = 0u64;
    let mut s = 1u32 << 15;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = (s - 1).wrapping_sub(x) & 0xFFFF;
                y = (s - 1).wrapping_sub(y) & 0xFFFF;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    d
}

fn union(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
    match (a, b) {
        (Some(a), Some(b)) => Some([
            a[0].min(b[0]),
            a[1].min(b[1]),
            a[2].max(b[2]),
            a[3].max(b[3]),
        ]),
        (a, None) => a,
        (None, b) => b,
    }
}

/// What `chaski_layers` says of a layer.
#[derive(Clone)]
struct Meta {
    kind: LayerKind,
    fields: Vec<Field>,
}

fn parse_kind(name: &str, kind: &str) -> Result<LayerKind, GpkgError> {
    serde_json::from_value(serde_json::Value::String(kind.to_owned())).map_err(|_| {
        GpkgError::Corrupt(format!(
            "layer '{name}': unknown kind '{kind}' in chaski_layers"
        ))
    })
}

fn parse_fields(name: &str, fields: &str) -> Result<Vec<Field>, GpkgError> {
    serde_json::from_str(fields).map_err(|e| {
        GpkgError::Corrupt(format!(
            "layer '{name}': unreadable field list in chaski_layers: {e}"
        ))
    })
}

fn to_version(v: i64) -> Result<u64, GpkgError> {
    u64::try_from(v).map_err(|_| GpkgError::Corrupt(format!("negative data version {v}")))
}

fn load_meta(conn: &Connection, name: &str) -> Result<Option<Meta>, GpkgError> {
    let row = conn
        .query_row(
            "SELECT kind, fields FROM chaski_layers WHERE name = ?1",
            [name],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?;
    row.map(|(kind, fields)| {
        Ok(Meta {
            kind: parse_kind(name, &kind)?,
            fields: parse_fields(name, &fields)?,
        })
    })
    .transpose()
}

fn bump_version(conn: &Connection) -> Result<u64, GpkgError> {
    let v: i64 = conn.query_row(
        "INSERT INTO chaski_meta (key, value) VALUES ('version', 1) \
         ON CONFLICT (key) DO UPDATE SET value = COALESCE(value, 0) + 1 RETURNING value",
        [],
        |r| r.get(0),
    )?;
    to_version(v)
}

fn count_rows(conn: &Connection, table: &str) -> Result<usize, GpkgError> {
    let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {}", q(table)), [], |r| {
        r.get(0)
    })?;
    Ok(usize::try_from(n).unwrap_or(0))
}

fn table_exists(conn: &Connection, name: &str) -> Result<bool, GpkgError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1 COLLATE NOCASE)",
        [name],
        |r| r.get(0),
    )?)
}

/// Drop a layer's tables and GeoPackage registrations (the triggers go with the table).
fn drop_layer(conn: &Connection, name: &str) -> Result<(), GpkgError> {
    conn.execute_batch(&format!(
        "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {};",
        q(&rtree_name(name)),
        q(name)
    ))?;
    for sql in [
        "DELETE FROM gpkg_extensions WHERE table_name = ?1",
        "DELETE FROM gpkg_geometry_columns WHERE table_name = ?1",
        "DELETE FROM gpkg_contents WHERE table_name = ?1",
        "DELETE FROM chaski_layers WHERE name = ?1",
    ] {
        conn.execute(sql, [name])?;
    }
    Ok(())
}

/// Writes of at least this many features rebuild the spatial index in bulk.
const REBUILD_RTREE_AT: usize = 2000;

/// Drop a layer's spatial index and its triggers (to rebuild them).
fn drop_rtree(conn: &Connection, name: &str) -> Result<(), GpkgError> {
    let mut sql = String::new();
    for t in [
        "insert", "update1", "update2", "update3", "update4", "delete",
    ] {
        let _ = write!(
            sql,
            "DROP TRIGGER IF EXISTS {};",
            q(&format!("rtree_{name}_geom_{t}"))
        );
    }
    let _ = write!(sql, "DROP TABLE IF EXISTS {};", q(&rtree_name(name)));
    conn.execute_batch(&sql)?;
    Ok(())
}

fn create_triggers(conn: &Connection, name: &str) -> Result<(), GpkgError> {
    let t = q(name);
    let rt = q(&rtree_name(name));
    let tn = |suffix: &str| q(&format!("rtree_{name}_geom_{suffix}"));
    let values = r#"(NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom"))"#;
    conn.execute_batch(&format!(
        r#"
CREATE TRIGGER {ins} AFTER INSERT ON {t} WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN INSERT OR REPLACE INTO {rt} VALUES {values}; END;
CREATE TRIGGER {u1} AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN INSERT OR REPLACE INTO {rt} VALUES {values}; END;
CREATE TRIGGER {u2} AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; END;
CREATE TRIGGER {u3} AFTER UPDATE ON {t} WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; INSERT OR REPLACE INTO {rt} VALUES {values}; END;
CREATE TRIGGER {u4} AFTER UPDATE ON {t} WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM {rt} WHERE id IN (OLD."fid", NEW."fid"); END;
CREATE TRIGGER {del} AFTER DELETE ON {t} WHEN old."geom" NOT NULL
BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; END;
"#,
        ins = tn("insert"),
        u1 = tn("update1"),
        u2 = tn("update2"),
        u3 = tn("update3"),
        u4 = tn("update4"),
        del = tn("delete"),
    ))?;
    Ok(())
}

fn geometry_error(layer: &str, index: usize, e: &GeometryBlobError) -> GpkgError {
    GpkgError::Store(StoreError::Conflict {
        layer: layer.to_owned(),
        reason: format!("feature {} cannot be stored: {e}", index + 1),
    })
}

fn fields_json(fields: &[Field]) -> Result<String, GpkgError> {
    serde_json::to_string(fields).map_err(|e| GpkgError::Backend(format!("field list: {e}")))
}

fn kind_str(kind: LayerKind) -> Result<String, GpkgError> {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(GpkgError::Backend(format!(
            "cannot serialize layer kind {kind}"
        ))),
    }
}

/// Record a layer's bounds, fields and version after a write.
fn finish_layer_write(
    conn: &Connection,
    layer: &Layer,
    kind: LayerKind,
    fields: &[Field],
    bounds: Option<[f64; 4]>,
    version: u64,
) -> Result<(), GpkgError> {
    let b = bounds.map_or([None; 4], |b| b.map(Some));
    conn.execute(
        "UPDATE gpkg_contents SET min_x = ?2, min_y = ?3, max_x = ?4, max_y = ?5, \
         last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?1",
        params![layer.name, b[0], b[1], b[2], b[3]],
    )?;
    conn.execute(
        "INSERT INTO chaski_layers (name, kind, version, fields) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, version = excluded.version, fields = excluded.fields",
        params![layer.name, kind_str(kind)?, version as i64, fields_json(fields)?],
    )?;
    Ok(())
}

/// Create the layer's table from scratch and bulk-load its features.
fn create_layer(conn: &Connection, layer: &Layer) -> Result<Option<[f64; 4]>, GpkgError> {
    let name = &layer.name;
    let geometry_type = layer.kind.geometry_type();
    let cols = column_names(&layer.fields);
    let mut ddl = format!(
        "CREATE TABLE {} (\"fid\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, \"geom\" {}",
        q(name),
        layer.kind.geometry_type().ogc_name()
    );
    for (c, f) in cols.iter().zip(&layer.fields) {
        let _ = write!(ddl, ", {} {}", q(c), sql_type(f.ty));
    }
    ddl.push(')');
    conn.execute_batch(&ddl)?;
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) \
         VALUES (?1, 'features', CASE WHEN EXISTS (SELECT 1 FROM gpkg_contents WHERE identifier = ?1) \
         THEN NULL ELSE ?1 END, '', ?2)",
        params![name, SRS_ID],
    )?;
    conn.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
        params![name, layer.kind.geometry_type().ogc_name(), SRS_ID],
    )?;
    conn.execute(
        "INSERT INTO gpkg_extensions VALUES (?1, 'geom', 'gpkg_rtree_index', \
         'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
        [name],
    )?;

    let mut stmt = conn.prepare(&insert_sql(name, &cols))?;
    let mut buf = Vec::with_capacity(256);
    let mut entries: Vec<(i64, [f64; 4])> = Vec::with_capacity(layer.features.len());
    let mut bounds = None;
    for (i, f) in layer.features.iter().enumerate() {
        let fid = i as i64 + 1;
        let b = encode_gpkg_geometry(&conform(&f.geometry, geometry_type), &mut buf)
            .map_err(|e| geometry_error(name, i, &e))?;
        stmt.raw_bind_parameter(1, fid)?;
        stmt.raw_bind_parameter(2, buf.as_slice())?;
        for j in 0..cols.len() {
            stmt.raw_bind_parameter(j + 3, Sv(f.values.get(j)))?;
        }
        stmt.raw_execute()?;
        if let Some(b) = b {
            entries.push((fid, b));
            bounds = union(bounds, Some(b));
        }
    }
    drop(stmt);

    // The spatial index, bulk-loaded, then the triggers that maintain it.
    bulk_load_rtree(conn, name, entries, bounds)?;
    create_triggers(conn, name)?;
    Ok(bounds)
}

/// Bytes of one 2-D rtree cell: an 8-byte id and four 4-byte floats.
const RTREE_CELL: usize = 24;
/// SQLite's RTREE_MAXCELLS.
const RTREE_MAX_CELLS: usize = 51;

/// SQLite's `rtreeValueDown`: the f32 at or below `d`.
fn rtree_down(d: f64) -> f32 {
    let f = d as f32;
    if f64::from(f) > d {
        (d * if d < 0.0 {
            1.0 + 1.0 / 8_388_608.0
        } else {
            1.0 - 1.0 / 8_388_608.0
        }) as f32
    } else {
        f
    }
}

/// SQLite's `rtreeValueUp`: the f32 at or above `d`.
fn rtree_up(d: f64) -> f32 {
    let f = d as f32;
    if f64::from(f) < d {
        (d * if d < 0.0 {
            1.0 - 1.0 / 8_388_608.0
        } else {
            1.0 + 1.0 / 8_388_608.0
        }) as f32
    } else {
        f
    }
}

/// One node of a packed rtree: (id, [min x, max x, min y, max y]) cells.
type RtreeNode = Vec<(i64, [f32; 4])>;

fn node_box(node: &RtreeNode) -> [f32; 4] {
    node.iter().fold(
        [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ],
        |a, (_, b)| {
            [
                a[0].min(b[0]),
                a[1].max(b[1]),
                a[2].min(b[2]),
                a[3].max(b[3]),
            ]
        },
    )
}

/// Create the layer's `gpkg_rtree_index` table and fill it with `entries`
/// (fid, [min x, min y, max x, max y]) in one pass: the boxes are sorted along
/// a Hilbert curve and packed bottom-up into full nodes, written straight into
/// the rtree's `_node`, `_parent` and `_rowid` tables in SQLite's format (as
/// GDAL's bulk loader does). Later inserts through the triggers split nodes as
/// usual.
fn bulk_load_rtree(
    conn: &Connection,
    name: &str,
    mut entries: Vec<(i64, [f64; 4])>,
    bounds: Option<[f64; 4]>,
) -> Result<(), GpkgError> {
    let rt = rtree_name(name);
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE {} USING rtree(id, minx, maxx, miny, maxy)",
        q(&rt)
    ))?;
    if entries.is_empty() {
        return Ok(());
    }
    // SQLite sized the empty root node from the page size (at most
    // RTREE_MAXCELLS cells); every node must have that size.
    let root_len: i64 = conn.query_row(
        &format!(
            "SELECT length(data) FROM {} WHERE nodeno = 1",
            q(&format!("{rt}_node"))
        ),
        [],
        |r| r.get(0),
    )?;
    let node_size = usize::try_from(root_len).unwrap_or(0);
    let capacity = node_size.saturating_sub(4) / RTREE_CELL;
    if !(2..=RTREE_MAX_CELLS).contains(&capacity) {
        return Err(GpkgError::Backend(format!(
            "unexpected rtree node size {root_len}"
        )));
    }
    sort_hilbert(&mut entries, bounds);

    // Levels from the leaves up; each level's nodes hold `capacity` cells of the level below.
    let leaves: Vec<RtreeNode> = entries
        .chunks(capacity)
        .map(|c| {
            c.iter()
                .map(|&(fid, [x0, y0, x1, y1])| {
                    (
                        fid,
                        [rtree_down(x0), rtree_up(x1), rtree_down(y0), rtree_up(y1)],
                    )
                })
                .collect()
        })
        .collect();
    let mut levels = vec![leaves];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let below = levels.last().map_or(&[][..], Vec::as_slice);
        let parents: Vec<RtreeNode> = below
            .chunks(capacity)
            .map(|c| c.iter().map(|n| (0, node_box(n))).collect())
            .collect();
        levels.push(parents);
    }
    levels.reverse(); // root level first
    let height = levels.len();
    // Node numbers: the root is 1, then level by level.
    let mut first = Vec::with_capacity(height);
    let mut next = 1i64;
    for l in &levels {
        first.push(next);
        next += l.len() as i64;
    }
    let mut node_stmt = conn.prepare(&format!(
        "INSERT INTO {} (nodeno, data) VALUES (?1, ?2)",
        q(&format!("{rt}_node"))
    ))?;
    let mut parent_stmt = conn.prepare(&format!(
        "INSERT INTO {} (nodeno, parentnode) VALUES (?1, ?2)",
        q(&format!("{rt}_parent"))
    ))?;
    let mut rowid_stmt = conn.prepare(&format!(
        "INSERT INTO {} (rowid, nodeno) VALUES (?1, ?2)",
        q(&format!("{rt}_rowid"))
    ))?;
    conn.execute_batch(&format!("DELETE FROM {}", q(&format!("{rt}_node"))))?;
    let mut blob = vec![0u8; node_size];
    for (l, nodes) in levels.iter().enumerate() {
        let leaf = l + 1 == height;
        for (k, node) in nodes.iter().enumerate() {
            let nodeno = first[l] + k as i64;
            blob.fill(0);
            let depth = if l == 0 { (height - 1) as u16 } else { 0 };
            blob[0..2].copy_from_slice(&depth.to_be_bytes());
            blob[2..4].copy_from_slice(&(node.len() as u16).to_be_bytes());
            for (i, (id, b)) in node.iter().enumerate() {
                let id = if leaf {
                    *id
                } else {
                    first[l + 1] + (k * capacity + i) as i64
                };
                let at = 4 + i * RTREE_CELL;
                blob[at..at + 8].copy_from_slice(&id.to_be_bytes());
                for (j, v) in b.iter().enumerate() {
                    blob[at + 8 + 4 * j..at + 12 + 4 * j].copy_from_slice(&v.to_be_bytes());
                }
                if leaf {
                    rowid_stmt.execute(params![id, nodeno])?;
                }
            }
            node_stmt.execute(params![nodeno, blob.as_slice()])?;
            if l > 0 {
                parent_stmt.execute(params![nodeno, first[l - 1] + (k / capacity) as i64])?;
            }
        }
    }
    Ok(())
}

/// What an append or upsert did.
struct Merged {
    inserted: usize,
    updated: usize,
    bounds: Option<[f64; 4]>,
    fields: Vec<Field>,
}

/// The bounds of every stored geometry of a layer (fid, [min x, min y, max
/// x, max y]) and their union. Empty and unreadable geometries are left out,
/// as the rtree triggers do.
fn scan_bounds(conn: &Connection, name: &str) -> Result<IndexEntries, GpkgError> {
    let mut entries = Vec::new();
    let mut bounds = None;
    let mut stmt = conn.prepare(&format!("SELECT \"fid\", \"geom\" FROM {}", q(name)))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if let ValueRef::Blob(b) = row.get_ref(1)? {
            if let Ok(Some(b)) = blob_bounds(b) {
                entries.push((row.get(0)?, b));
                bounds = union(bounds, Some(b));
            }
        }
    }
    Ok((entries, bounds))
}

/// Spatial index entries and their overall bounds.
type IndexEntries = (Vec<(i64, [f64; 4])>, Option<[f64; 4]>);

/// Append or upsert into an existing layer.
fn merge_into_layer(
    conn: &Connection,
    layer: &Layer,
    mode: WriteMode,
    old: &Meta,
) -> Result<Merged, GpkgError> {
    let name = &layer.name;
    let geometry_type = layer.kind.geometry_type();
    if old.kind != layer.kind {
        return Err(StoreError::Conflict {
            layer: name.clone(),
            reason: format!(
                "the stored layer holds {} but the new data holds {}",
                old.kind, layer.kind
            ),
        }
        .into());
    }
    let (fields, cols, src) = add_columns(conn, name, &old.fields, &layer.fields)?;
    // Upsert keys (per layer kind): rank of the key field and its value as stored.
    let keys = UpsertKeys::new(layer.kind, &fields);
    let mut codes: HashMap<(usize, String), i64> = HashMap::new();
    if mode == WriteMode::Upsert && !keys.positions().is_empty() {
        let key_cols = keys
            .positions()
            .iter()
            .map(|&ki| q(&cols[ki]))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT \"fid\", {key_cols} FROM {} ORDER BY \"fid\"",
            q(name)
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            for rank in 0..keys.positions().len() {
                if let Some(k) = stored_code_key(row.get_ref(rank + 1)?) {
                    codes.entry((rank, k)).or_insert(row.get(0)?);
                }
            }
        }
    }
    let mut next_fid: i64 = conn.query_row(
        &format!("SELECT COALESCE(MAX(\"fid\"), 0) + 1 FROM {}", q(name)),
        [],
        |r| r.get(0),
    )?;

    let mut insert = conn.prepare(&insert_sql(name, &cols))?;
    let mut update = conn.prepare(&update_sql(name, &cols))?;

    // Large writes rebuild the spatial index in bulk afterwards instead of
    // going through the triggers row by row.
    let rebuild = layer.features.len() >= REBUILD_RTREE_AT;
    if rebuild {
        drop_rtree(conn, name)?;
    }
    let (mut inserted, mut updated) = (0, 0);
    let mut new_bounds = None;
    let mut buf = Vec::with_capacity(256);
    for (i, f) in layer.features.iter().enumerate() {
        let b = encode_gpkg_geometry(&conform(&f.geometry, geometry_type), &mut buf)
            .map_err(|e| geometry_error(name, i, &e))?;
        new_bounds = union(new_bounds, b);
        // The first key field the incoming feature has a value for.
        let key = if mode == WriteMode::Upsert {
            keys.positions().iter().enumerate().find_map(|(rank, &ki)| {
                src[ki]
                    .and_then(|s| f.values.get(s))
                    .and_then(code_key)
                    .map(|k| (rank, k))
            })
        } else {
            None
        };
        let existing = key.as_ref().and_then(|k| codes.get(k).copied());
        let (stmt, fid) = if let Some(fid) = existing {
            updated += 1;
            (&mut update, fid)
        } else {
            let fid = next_fid;
            next_fid += 1;
            inserted += 1;
            if let Some(k) = key {
                codes.entry(k).or_insert(fid);
            }
            (&mut insert, fid)
        };
        write_row(stmt, fid, &buf, &src, &f.values)?;
    }
    drop((insert, update));

    let bounds = if rebuild {
        let (entries, bounds) = scan_bounds(conn, name)?;
        bulk_load_rtree(conn, name, entries, bounds)?;
        create_triggers(conn, name)?;
        bounds
    } else if updated > 0 {
        // Updated features may have moved: recompute from every geometry.
        scan_bounds(conn, name)?.1
    } else {
        let old_bounds: [Option<f64>; 4] = conn.query_row(
            "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?1",
            [name],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
        )?;
        union(all_some(old_bounds), new_bounds)
    };
    Ok(Merged {
        inserted,
        updated,
        bounds,
        fields,
    })
}

fn write_layer_tx(
    conn: &mut Connection,
    layer: &Layer,
    mode: WriteMode,
) -> Result<WriteSummary, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let old = load_meta(&tx, &layer.name)?;
    if old.is_none()
        && (table_exists(&tx, &layer.name)? || table_exists(&tx, &rtree_name(&layer.name))?)
    {
        return Err(StoreError::Conflict {
            layer: layer.name.clone(),
            reason: "the GeoPackage already has a table of that name not managed by chaski".into(),
        }
        .into());
    }
    let version = bump_version(&tx)?;
    let mut summary = WriteSummary {
        version,
        ..WriteSummary::default()
    };
    match (mode, old) {
        (WriteMode::Replace, old) | (_, old @ None) => {
            if old.is_some() {
                summary.removed = count_rows(&tx, &layer.name)?;
                drop_layer(&tx, &layer.name)?;
            }
            let bounds = create_layer(&tx, layer)?;
            summary.inserted = layer.features.len();
            finish_layer_write(&tx, layer, layer.kind, &layer.fields, bounds, version)?;
        }
        (mode, Some(old)) => {
            let m = merge_into_layer(&tx, layer, mode, &old)?;
            summary.inserted = m.inserted;
            summary.updated = m.updated;
            finish_layer_write(&tx, layer, old.kind, &m.fields, m.bounds, version)?;
        }
    }
    tx.commit()?;
    Ok(summary)
}

fn read_layer_tx(
    conn: &mut Connection,
    name: &str,
    only: Option<&[&str]>,
) -> Result<Layer, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let mut meta = load_meta(&tx, name)?.ok_or_else(|| StoreError::NotFound(name.to_owned()))?;
    // Column names come from every field (they are made unique in order);
    // only the columns of the fields asked for are then selected.
    let mut cols = column_names(&meta.fields);
    if let Some(only) = only {
        let keep = chaski_core::store::FieldSelection::new(&meta.fields, only);
        keep.apply(&mut cols);
        keep.apply(&mut meta.fields);
    }
    let layer = read_layer_rows(&tx, name, meta, &cols, EditScope::All)?;
    tx.commit()?;
    Ok(layer)
}

/// The SQL condition and parameter of an edit scope on a layer's columns
/// (None: every row; a field the layer lacks matches no row).
fn scope_sql(fields: &[Field], scope: EditScope<'_>) -> Option<(String, String)> {
    match scope {
        EditScope::All => None,
        EditScope::FieldEquals { field, value } => {
            Some(match fields.iter().position(|f| f.name == field) {
                Some(i) => (
                    format!("TRIM({}) = ?1", q(&column_names(fields)[i])),
                    value.to_owned(),
                ),
                None => ("0".to_owned(), value.to_owned()),
            })
        }
    }
}

/// The features of a layer in `scope`, inside the caller's transaction.
fn read_layer_rows(
    conn: &Connection,
    name: &str,
    meta: Meta,
    cols: &[String],
    scope: EditScope<'_>,
) -> Result<Layer, GpkgError> {
    let col_list = col_list(cols);
    let mut features = Vec::new();
    {
        let filter = scope_sql(&meta.fields, scope);
        let mut stmt = conn.prepare(&format!(
            "SELECT \"fid\", \"geom\"{col_list} FROM {} {} ORDER BY \"fid\"",
            q(name),
            filter
                .as_ref()
                .map_or_else(String::new, |(w, _)| format!("WHERE {w}"))
        ))?;
        let mut rows = match &filter {
            Some((_, v)) => stmt.query([v])?,
            None => stmt.query([])?,
        };
        let point_layer = meta.kind.geometry_type() == GeometryType::Point;
        while let Some(row) = rows.next()? {
            let fid: i64 = row.get(0)?;
            let geometry = match row.get_ref(1)? {
                ValueRef::Blob(b) => decode_gpkg_geometry(b).map_err(|e| {
                    GpkgError::Corrupt(format!("layer '{name}', feature {fid}: {e}"))
                })?,
                ValueRef::Null => Geometry::GeometryCollection(GeometryCollection::default()),
                _ => {
                    return Err(GpkgError::Corrupt(format!(
                        "layer '{name}', feature {fid}: the geometry is not a blob"
                    )));
                }
            };
            let geometry = match geometry {
                Geometry::MultiPoint(mp) if point_layer && mp.0.len() == 1 => {
                    Geometry::Point(mp.0[0])
                }
                Geometry::LineString(l)
                    if meta.kind.geometry_type() == GeometryType::MultiLineString =>
                {
                    Geometry::MultiLineString(MultiLineString::new(vec![l]))
                }
                Geometry::Polygon(p) if meta.kind.geometry_type() == GeometryType::MultiPolygon => {
                    Geometry::MultiPolygon(MultiPolygon::new(vec![p]))
                }
                g => g,
            };
            let mut values = Vec::with_capacity(meta.fields.len());
            for (j, f) in meta.fields.iter().enumerate() {
                values.push(read_value(row.get_ref(j + 2)?, f.ty));
            }
            features.push(Feature {
                fid,
                geometry,
                values,
            });
        }
    }
    Ok(Layer {
        name: name.to_owned(),
        kind: meta.kind,
        fields: meta.fields,
        features,
    })
}

/// Read a layer and write the changes computed from it in one IMMEDIATE
/// transaction (see [`Store::edit_layer`]).
fn edit_layer_tx(
    conn: &mut Connection,
    name: &str,
    kind: LayerKind,
    scope: EditScope<'_>,
    edit: &mut EditFn<'_>,
) -> Result<Option<EditSummary>, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let meta = load_meta(&tx, name)?;
    if let Some(m) = &meta
        && m.kind != kind
    {
        return Err(StoreError::Conflict {
            layer: name.to_owned(),
            reason: format!(
                "the stored layer holds {} but the edit is for {kind}",
                m.kind
            ),
        }
        .into());
    }
    if meta.is_none() && (table_exists(&tx, name)? || table_exists(&tx, &rtree_name(name))?) {
        return Err(StoreError::Conflict {
            layer: name.to_owned(),
            reason: "the GeoPackage already has a table of that name not managed by chaski".into(),
        }
        .into());
    }
    let stored = match &meta {
        Some(m) => Some(read_layer_rows(
            &tx,
            name,
            m.clone(),
            &column_names(&m.fields),
            scope,
        )?),
        None => None,
    };
    let Some(ed) = edit(stored.as_ref()) else {
        return Ok(None);
    };
    if ed.is_empty() {
        let version: Option<i64> = tx
            .query_row(
                "SELECT value FROM chaski_meta WHERE key = 'version'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        return Ok(Some(EditSummary {
            version: version.map_or(Ok(0), to_version)?,
            ..EditSummary::default()
        }));
    }
    let version = bump_version(&tx)?;
    let summary = EditSummary {
        inserted: ed.inserts.len(),
        updated: ed.updates.len(),
        deleted: ed.deletes.len(),
        version,
    };
    let Some(old) = meta else {
        // A new layer: the inserts are its features.
        let layer = Layer {
            name: name.to_owned(),
            kind,
            fields: ed.fields.clone(),
            features: ed.inserts,
        };
        let bounds = create_layer(&tx, &layer)?;
        finish_layer_write(&tx, &layer, kind, &layer.fields, bounds, version)?;
        tx.commit()?;
        return Ok(Some(summary));
    };
    let (fields, cols, src) = add_columns(&tx, name, &old.fields, &ed.fields)?;
    let geometry_type = kind.geometry_type();
    let missing = |fid: i64| {
        GpkgError::Store(StoreError::Conflict {
            layer: name.to_owned(),
            reason: format!("feature {fid} is not stored"),
        })
    };
    // Updates and deletes only of what the edit read.
    if let Some(s) = &stored {
        let read: std::collections::HashSet<i64> = s.features.iter().map(|f| f.fid).collect();
        if let Some(fid) = ed
            .updates
            .iter()
            .map(|f| f.fid)
            .chain(ed.deletes.iter().copied())
            .find(|fid| !read.contains(fid))
        {
            return Err(missing(fid));
        }
    }
    let mut buf = Vec::with_capacity(256);
    {
        let mut update = tx.prepare(&update_sql(name, &cols))?;
        for (i, f) in ed.updates.iter().enumerate() {
            encode_gpkg_geometry(&conform(&f.geometry, geometry_type), &mut buf)
                .map_err(|e| geometry_error(name, i, &e))?;
            if write_row(&mut update, f.fid, &buf, &src, &f.values)? == 0 {
                return Err(missing(f.fid));
            }
        }
        // New fids follow the largest stored before this edit's deletes.
        let mut next_fid: i64 = tx.query_row(
            &format!("SELECT COALESCE(MAX(\"fid\"), 0) + 1 FROM {}", q(name)),
            [],
            |r| r.get(0),
        )?;
        let mut delete = tx.prepare(&format!("DELETE FROM {} WHERE \"fid\" = ?1", q(name)))?;
        for &fid in &ed.deletes {
            if delete.execute([fid])? == 0 {
                return Err(missing(fid));
            }
        }
        let mut insert = tx.prepare(&insert_sql(name, &cols))?;
        for (i, f) in ed.inserts.iter().enumerate() {
            encode_gpkg_geometry(&conform(&f.geometry, geometry_type), &mut buf)
                .map_err(|e| geometry_error(name, ed.updates.len() + i, &e))?;
            write_row(&mut insert, next_fid, &buf, &src, &f.values)?;
            next_fid += 1;
        }
    }
    // Updates and deletes may move the bounds anywhere: recompute from every geometry.
    let bounds = scan_bounds(&tx, name)?.1;
    let layer = Layer {
        name: name.to_owned(),
        kind,
        fields: Vec::new(),
        features: Vec::new(),
    };
    finish_layer_write(&tx, &layer, kind, &fields, bounds, version)?;
    tx.commit()?;
    Ok(Some(summary))
}

fn layer_infos(conn: &mut Connection, only: Option<&str>) -> Result<Vec<LayerInfo>, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let mut rows_out = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT l.name, l.kind, l.fields, l.version, c.min_x, c.min_y, c.max_x, c.max_y \
             FROM chaski_layers l LEFT JOIN gpkg_contents c ON c.table_name = l.name \
             WHERE ?1 IS NULL OR l.name = ?1 ORDER BY l.name",
        )?;
        let mut rows = stmt.query([only])?;
        while let Some(r) = rows.next()? {
            let name: String = r.get(0)?;
            let kind = parse_kind(&name, &r.get::<_, String>(1)?)?;
            let fields = parse_fields(&name, &r.get::<_, String>(2)?)?;
            let version = to_version(r.get(3)?)?;
            let bounds = all_some([r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?]);
            rows_out.push(LayerInfo {
                feature_count: 0,
                geometry_type: kind.geometry_type(),
                name,
                kind,
                fields,
                bounds,
                version,
            });
        }
    }
    for info in &mut rows_out {
        info.feature_count = count_rows(&tx, &info.name)?;
    }
    tx.commit()?;
    Ok(rows_out)
}

fn delete_tx(conn: &mut Connection, name: &str) -> Result<bool, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existed = if load_meta(&tx, name)?.is_some() {
        drop_layer(&tx, name)?;
        true
    } else {
        coverage::delete_raster(&tx, name)?
    };
    if existed {
        bump_version(&tx)?;
    }
    tx.commit()?;
    Ok(existed)
}

// ---------------------------------------------------------------------------
// Rasters
// ---------------------------------------------------------------------------

mod coverage;

// ---------------------------------------------------------------------------
// The Store trait
// ---------------------------------------------------------------------------

impl Store for GpkgStore {
    fn backend(&self) -> &'static str {
        "gpkg"
    }

    fn layers(&self) -> Result<Vec<LayerInfo>> {
        self.run(|c| layer_infos(c, None))
    }

    fn layer_info(&self, name: &str) -> Result<LayerInfo> {
        self.run(|c| layer_infos(c, Some(name)))?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))
    }

    fn read_layer(&self, name: &str) -> Result<Layer> {
        self.run(|c| read_layer_tx(c, name, None))
    }

    fn read_layer_fields(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        self.run(|c| read_layer_tx(c, name, Some(fields)))
    }

    fn write_layer(&self, layer: &Layer, mode: WriteMode) -> Result<WriteSummary> {
        check_name(&layer.name)?;
        self.run(|c| write_layer_tx(c, layer, mode))
    }

    fn edit_layer(
        &self,
        name: &str,
        kind: LayerKind,
        scope: EditScope<'_>,
        edit: &mut EditFn<'_>,
    ) -> Result<Option<EditSummary>> {
        check_name(name)?;
        self.run(|c| edit_layer_tx(c, name, kind, scope, edit))
    }

    fn delete_layer(&self, name: &str) -> Result<bool> {
        self.run(|c| delete_tx(c, name))
    }

    fn rasters(&self) -> Result<Vec<RasterInfo>> {
        self.run(|c| coverage::raster_infos(c))
    }

    fn read_raster(&self, name: &str) -> Result<Raster<f32>> {
        self.run(|c| coverage::read_raster_conn(c, name))
    }

    fn write_raster(&self, name: &str, raster: &Raster<f32>) -> Result<u64> {
        check_name(name)?;
        self.run(|c| coverage::write_raster_tx(c, name, raster))
    }

    fn version(&self) -> Result<u64> {
        self.run(|c| {
            let v: Option<i64> = c
                .query_row(
                    "SELECT value FROM chaski_meta WHERE key = 'version'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            to_version(v.unwrap_or(0))
        })
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact, representable coordinates
mod tests {
    use super::*;
    use chaski_core::store::memory::MemoryStore;
    use geo::{coord, line_string, point, polygon};
    use std::process::Command;

    fn community(code: Option<&str>, pop: i64, x: f64, y: f64) -> Feature {
        Feature {
            fid: 0,
            geometry: Geometry::Point(point! { x: x, y: y }),
            values: vec![
                code.into(),
                format!("village {}", code.unwrap_or("?")).into(),
                Value::Null,
                pop.into(),
                Value::Null,
                "La Mar".into(),
            ],
        }
    }

    fn communities(features: Vec<Feature>) -> Layer {
        let mut l = Layer::new("communities", LayerKind::Communities);
        l.features = features;
        l
    }

    fn tmp_store() -> (tempfile::TempDir, PathBuf, GpkgStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.gpkg");
        let store = GpkgStore::open(&path).unwrap();
        (dir, path, store)
    }

    /// Every geometry type, each with a hole, several parts or a nested member.
    fn all_geometries() -> Vec<Geometry<f64>> {
        let square = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 1.0)]],
        );
        let tri = polygon![(x: 10.0, y: 10.0), (x: 11.0, y: 10.0), (x: 10.5, y: 11.0), (x: 10.0, y: 10.0)];
        let ls = line_string![(x: -74.1, y: -13.1), (x: -74.0, y: -13.0), (x: -73.9, y: -13.05)];
        vec![
            Geometry::Point(point! { x: -74.25, y: -13.5 }),
            Geometry::MultiPoint(MultiPoint::new(vec![
                point! { x: 1.0, y: 2.0 },
                point! { x: 3.0, y: -4.5 },
            ])),
            Geometry::LineString(ls.clone()),
            Geometry::MultiLineString(MultiLineString::new(vec![
                ls,
                line_string![(x: 5.0, y: 5.0), (x: 6.0, y: 7.0)],
            ])),
            Geometry::Polygon(square.clone()),
            Geometry::MultiPolygon(MultiPolygon::new(vec![square.clone(), tri])),
            Geometry::GeometryCollection(GeometryCollection::new_from(vec![
                Geometry::Point(point! { x: 0.5, y: 0.5 }),
                Geometry::Polygon(square),
            ])),
            Geometry::MultiPoint(MultiPoint::new(vec![])),
        ]
    }

    #[test]
    fn point_blob_matches_hand_encoding() {
        let mut buf = Vec::new();
        let b =
            encode_gpkg_geometry(&Geometry::Point(point! { x: 1.0, y: 2.0 }), &mut buf).unwrap();
        assert_eq!(b, Some([1.0, 2.0, 1.0, 2.0]));
        let mut expected = vec![b'G', b'P', 0, 0x01, 0xE6, 0x10, 0, 0, 1, 1, 0, 0, 0];
        expected.extend_from_slice(&1.0f64.to_le_bytes());
        expected.extend_from_slice(&2.0f64.to_le_bytes());
        assert_eq!(buf, expected);

        // A line string carries the envelope [minx, maxx, miny, maxy].
        let l = Geometry::LineString(line_string![(x: 3.0, y: -1.0), (x: 1.0, y: 5.0)]);
        encode_gpkg_geometry(&l, &mut buf).unwrap();
        assert_eq!(buf[3], 0x03);
        let env: Vec<f64> = buf[8..40]
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(env, vec![1.0, 3.0, -1.0, 5.0]);
        assert_eq!(blob_bounds(&buf).unwrap(), Some([1.0, -1.0, 3.0, 5.0]));
    }

    #[test]
    fn big_endian_and_z_wkb_decode() {
        // GP header without envelope, then big-endian ISO POINT Z (1001) (1 2 3).
        let mut blob = vec![b'G', b'P', 0, 0x00, 0, 0, 0x10, 0xE6, 0];
        blob.extend_from_slice(&1001u32.to_be_bytes());
        for v in [1.0f64, 2.0, 3.0] {
            blob.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(
            decode_gpkg_geometry(&blob).unwrap(),
            Geometry::Point(point! { x: 1.0, y: 2.0 })
        );
        assert_eq!(blob_bounds(&blob).unwrap(), Some([1.0, 2.0, 1.0, 2.0]));
    }

    #[test]
    fn codec_round_trips_every_geometry_type() {
        let mut buf = Vec::new();
        for g in all_geometries() {
            let b = encode_gpkg_geometry(&g, &mut buf).unwrap();
            assert_eq!(decode_gpkg_geometry(&buf).unwrap(), g);
            let expected = g
                .bounding_rect()
                .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
            assert_eq!(b, expected);
            assert_eq!(blob_bounds(&buf).unwrap(), expected);
        }
        let nan = Geometry::Point(point! { x: f64::NAN, y: 1.0 });
        assert_eq!(
            encode_gpkg_geometry(&nan, &mut buf),
            Err(GeometryBlobError::NonFinite)
        );
    }

    #[test]
    fn malformed_blobs_are_errors_not_panics() {
        let mut buf = Vec::new();
        for g in all_geometries() {
            encode_gpkg_geometry(&g, &mut buf).unwrap();
            for cut in 0..buf.len() {
                assert!(
                    decode_gpkg_geometry(&buf[..cut]).is_err(),
                    "cut {cut} of {g:?}"
                );
            }
            let mut long = buf.clone();
            long.push(0);
            assert_eq!(
                decode_gpkg_geometry(&long),
                Err(GeometryBlobError::Trailing(1))
            );
        }
        assert_eq!(
            decode_gpkg_geometry(b"XXXXXXXXXXXX"),
            Err(GeometryBlobError::BadMagic)
        );
        // A line string claiming 2^32-1 points in a tiny blob.
        let mut huge = vec![b'G', b'P', 0, 1, 0, 0, 0, 0, 1, 2, 0, 0, 0];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_gpkg_geometry(&huge),
            Err(GeometryBlobError::Truncated(_))
        ));
        // Unknown type, bad byte order.
        let bad_type = [b'G', b'P', 0, 1, 0, 0, 0, 0, 1, 99, 0, 0, 0];
        assert_eq!(
            decode_gpkg_geometry(&bad_type),
            Err(GeometryBlobError::Type(99))
        );
        let bad_order = [b'G', b'P', 0, 1, 0, 0, 0, 0, 7, 1, 0, 0, 0];
        assert!(matches!(
            decode_gpkg_geometry(&bad_order),
            Err(GeometryBlobError::ByteOrder { byte: 7, offset: 8 })
        ));
        // Deeply nested collections.
        let mut deep = vec![b'G', b'P', 0, 1, 0, 0, 0, 0];
        for _ in 0..100 {
            deep.extend_from_slice(&[1, 7, 0, 0, 0, 1, 0, 0, 0]);
        }
        assert_eq!(decode_gpkg_geometry(&deep), Err(GeometryBlobError::TooDeep));
        // Pseudo-random garbage after a valid header.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let mut blob = vec![b'G', b'P', 0, 1, 0, 0, 0, 0];
            for _ in 0..(state % 64) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                blob.push((state % 8) as u8);
            }
            let _ = decode_gpkg_geometry(&blob);
            let _ = blob_bounds(&blob);
        }
    }

    #[test]
    fn new_file_is_a_geopackage() {
        let (_dir, path, store) = tmp_store();
        assert_eq!(store.backend(), "gpkg");
        assert_eq!(store.version().unwrap(), 0);
        drop(store);
        let c = Connection::open(&path).unwrap();
        let app: i64 = c
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .unwrap();
        let user: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!((app, user, mode.as_str()), (0x4750_4B47, 10300, "wal"));
        let srs: Vec<i64> = c
            .prepare("SELECT srs_id FROM gpkg_spatial_ref_sys ORDER BY srs_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(srs, vec![-1, 0, 4326]);
        // The file header carries the GeoPackage application id.
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[68..72], b"GPKG");
    }

    #[test]
    fn round_trip_every_geometry_and_field_type() {
        let (_dir, _path, store) = tmp_store();
        let mut layer = Layer::new("paths", LayerKind::Paths);
        layer.fields.extend([
            Field::new("width_m", FieldType::Real),
            Field::new("lanes", FieldType::Int),
            Field::new("paved", FieldType::Bool),
            Field::new("surveyed", FieldType::Date),
            Field::new("Name", FieldType::Text),
            Field::new("fid", FieldType::Text),
            Field::new("notes \"quoted\" ñ", FieldType::Text),
        ]);
        let values = [
            vec![
                "p1".into(),
                "Camino Real".into(),
                "footpath".into(),
                1.5.into(),
                2.into(),
                true.into(),
                "2024-05-01".into(),
                "dup name".into(),
                "x".into(),
                "ñandú".into(),
            ],
            vec![
                Value::Null,
                Value::Null,
                "ford".into(),
                Value::Null,
                Value::Null,
                false.into(),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ],
            vec![
                "p3".into(),
                "".into(),
                "bridge".into(),
                (-0.25).into(),
                (-7).into(),
                Value::Null,
                "2023-12-31".into(),
                "".into(),
                "".into(),
                "a\"b".into(),
            ],
        ];
        layer.features = all_geometries()
            .into_iter()
            .enumerate()
            .map(|(i, geometry)| Feature {
                fid: 100 + i as i64,
                geometry,
                values: values[i % 3].clone(),
            })
            .collect();
        let w = store.write_layer(&layer, WriteMode::Replace).unwrap();
        assert_eq!((w.inserted, w.updated, w.removed, w.version), (8, 0, 0, 1));
        let back = store.read_layer("paths").unwrap();
        let mut expected = layer.clone();
        for (i, f) in expected.features.iter_mut().enumerate() {
            f.fid = i as i64 + 1;
        }
        // A line layer stores a LineString as a one-part MultiLineString.
        let Geometry::LineString(ls) = expected.features[2].geometry.clone() else {
            unreachable!()
        };
        expected.features[2].geometry = Geometry::MultiLineString(MultiLineString::new(vec![ls]));
        assert_eq!(back, expected);
        // Same as the reference store otherwise.
        let mem = MemoryStore::new();
        mem.write_layer(&layer, WriteMode::Replace).unwrap();
        let mut mem_back = mem.read_layer("paths").unwrap();
        mem_back.features[2].geometry = expected.features[2].geometry.clone();
        assert_eq!(mem_back, back);
        assert_eq!(mem.layers().unwrap(), store.layers().unwrap());

        // Some fields only, whatever their SQL column names (a field called
        // "fid" or with quotes is stored under another name): the same
        // features with those fields' values, as the whole layer has them.
        let only_sets: [&[&str]; 4] = [
            &["fid", "lanes"],
            &["notes \"quoted\" ñ", "Name"],
            &[],
            &["no such field", "paved"],
        ];
        for only in only_sets {
            let keep: Vec<usize> = (0..back.fields.len())
                .filter(|&i| only.contains(&back.fields[i].name.as_str()))
                .collect();
            let mut want = back.clone();
            want.fields = keep.iter().map(|&i| back.fields[i].clone()).collect();
            for (w, b) in want.features.iter_mut().zip(&back.features) {
                w.values = keep.iter().map(|&i| b.values[i].clone()).collect();
            }
            assert_eq!(
                store.read_layer_fields("paths", only).unwrap(),
                want,
                "{only:?}"
            );
            // The trait's default (the memory store) agrees.
            let mut mem_part = mem.read_layer_fields("paths", only).unwrap();
            mem_part.features[2].geometry = want.features[2].geometry.clone();
            assert_eq!(mem_part, want, "{only:?}");
        }

        // Every geometry type round trips unchanged in a layer where none is converted.
        let mut all = Layer::new("things", LayerKind::Households);
        all.fields.clear();
        all.features = all_geometries()
            .into_iter()
            .enumerate()
            .map(|(i, geometry)| Feature {
                fid: i as i64 + 1,
                geometry,
                values: vec![],
            })
            .collect();
        store.write_layer(&all, WriteMode::Replace).unwrap();
        assert_eq!(store.read_layer("things").unwrap(), all);
    }

    #[test]
    fn single_parts_are_stored_in_the_layer_type() {
        let (_dir, _path, store) = tmp_store();
        let square =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let mut b = Layer::new("boundaries", LayerKind::Boundaries);
        b.features = vec![
            Feature {
                fid: 0,
                geometry: Geometry::Polygon(square.clone()),
                values: vec!["a".into()],
            },
            Feature {
                fid: 0,
                geometry: Geometry::Rect(geo::Rect::new(
                    coord! { x: 0.0, y: 0.0 },
                    coord! { x: 2.0, y: 1.0 },
                )),
                values: vec!["b".into()],
            },
        ];
        store.write_layer(&b, WriteMode::Replace).unwrap();
        let back = store.read_layer("boundaries").unwrap();
        assert_eq!(
            back.features[0].geometry,
            Geometry::MultiPolygon(MultiPolygon::new(vec![square]))
        );
        assert_eq!(
            back.features[1].geometry,
            Geometry::MultiPolygon(MultiPolygon::new(vec![
                // geo writes a Rect ring counter-clockwise from (max x, min y).
                polygon![(x: 2.0, y: 0.0), (x: 2.0, y: 1.0), (x: 0.0, y: 1.0), (x: 0.0, y: 0.0), (x: 2.0, y: 0.0)]
            ]))
        );
        assert_eq!(
            back.features[0].values,
            vec!["a".into(), Value::Null, Value::Null]
        );
    }

    #[test]
    fn single_point_multipoint_reads_as_point_in_point_layers() {
        let (_dir, _path, store) = tmp_store();
        let mut l = communities(vec![community(Some("a"), 1, -74.0, -13.0)]);
        l.features[0].geometry =
            Geometry::MultiPoint(MultiPoint::new(vec![point! { x: -74.0, y: -13.0 }]));
        store.write_layer(&l, WriteMode::Replace).unwrap();
        let back = store.read_layer("communities").unwrap();
        assert_eq!(
            back.features[0].geometry,
            Geometry::Point(point! { x: -74.0, y: -13.0 })
        );
    }

    /// Run the same writes on the GeoPackage store and the reference memory
    /// store: summaries, errors, layers and infos must agree.
    #[test]
    fn write_modes_match_memory_store() {
        let (_dir, _path, gpkg) = tmp_store();
        let mem = MemoryStore::new();
        let stores: [&dyn Store; 2] = [&gpkg, &mem];

        let mut extra = communities(vec![
            community(Some("c"), 30, -73.5, -12.5),
            community(Some("d"), 4, -73.0, -12.0),
            community(None, 5, -72.0, -11.0),
        ]);
        extra.fields.push(Field::new("altitude", FieldType::Int));
        for f in &mut extra.features {
            f.values.push(3100.into());
        }
        let mut wrong_kind = Layer::new("communities", LayerKind::Facilities);
        wrong_kind.features = vec![];
        let mut wrong_type = communities(vec![]);
        wrong_type
            .fields
            .push(Field::new("altitude", FieldType::Text));

        let steps: Vec<(Layer, WriteMode)> = vec![
            (
                communities(vec![
                    community(Some("a"), 1, -74.0, -13.0),
                    community(Some("b"), 2, -74.5, -13.5),
                ]),
                WriteMode::Replace,
            ),
            (
                communities(vec![
                    community(Some("b"), 20, -74.6, -13.6),
                    community(Some("c"), 3, -73.9, -12.9),
                ]),
                WriteMode::Upsert,
            ),
            (
                communities(vec![community(Some("a"), 100, -74.0, -13.0)]),
                WriteMode::Append,
            ),
            (extra, WriteMode::Upsert),
            // "a" twice now: an upsert updates the first.
            (
                communities(vec![
                    community(Some("a"), 7, -75.0, -14.0),
                    community(Some("e"), 8, -74.0, -13.0),
                    community(Some("e"), 9, -74.0, -13.0),
                ]),
                WriteMode::Upsert,
            ),
            (wrong_kind, WriteMode::Append),
            (wrong_type, WriteMode::Upsert),
            (
                communities(vec![community(Some("z"), 1, -70.0, -10.0)]),
                WriteMode::Append,
            ),
            (
                communities(vec![community(Some("y"), 1, -71.0, -11.0)]),
                WriteMode::Replace,
            ),
            (Layer::new("Bad-Name", LayerKind::Roads), WriteMode::Replace),
            (
                Layer::new("chaski_layers", LayerKind::Roads),
                WriteMode::Replace,
            ),
            (
                Layer::new("empty_roads", LayerKind::Roads),
                WriteMode::Upsert,
            ),
        ];
        for (i, (layer, mode)) in steps.iter().enumerate() {
            let results: Vec<_> = stores.iter().map(|s| s.write_layer(layer, *mode)).collect();
            match (&results[0], &results[1]) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "step {i}"),
                (Err(StoreError::Conflict { .. }), Err(StoreError::Conflict { .. }))
                | (Err(StoreError::InvalidName(_)), Err(StoreError::InvalidName(_))) => {}
                (a, b) => panic!("step {i}: gpkg {a:?} vs memory {b:?}"),
            }
            for s in stores {
                assert!(s.version().is_ok());
            }
            assert_eq!(gpkg.version().unwrap(), mem.version().unwrap(), "step {i}");
            assert_eq!(gpkg.layers().unwrap(), mem.layers().unwrap(), "step {i}");
            for l in mem.layers().unwrap() {
                assert_eq!(
                    gpkg.read_layer(&l.name).unwrap(),
                    mem.read_layer(&l.name).unwrap(),
                    "step {i}"
                );
            }
            if i == 4 {
                // Hand-checked state after the first five writes.
                let back = gpkg.read_layer("communities").unwrap();
                let rows: Vec<(i64, Option<&str>, i64, &Value)> = back
                    .features
                    .iter()
                    .map(|f| {
                        (
                            f.fid,
                            back.value(f, "code").as_str(),
                            back.value(f, "population").as_i64().unwrap(),
                            back.value(f, "altitude"),
                        )
                    })
                    .collect();
                assert_eq!(
                    rows,
                    vec![
                        (1, Some("a"), 7, &Value::Null),
                        (2, Some("b"), 20, &Value::Null),
                        (3, Some("c"), 30, &Value::Int(3100)),
                        (4, Some("a"), 100, &Value::Null),
                        (5, Some("d"), 4, &Value::Int(3100)),
                        (6, None, 5, &Value::Int(3100)),
                        (7, Some("e"), 9, &Value::Null),
                    ]
                );
                let info = gpkg.layer_info("communities").unwrap();
                assert_eq!(info.feature_count, 7);
                assert_eq!(info.bounds, Some([-75.0, -14.0, -72.0, -11.0]));
                assert_eq!(info.version, 5);
                assert_eq!(rtree_count(&gpkg, "communities"), 7);
                // The updated feature moved in the spatial index too.
                let c = gpkg.conn.lock().unwrap();
                let (minx, maxy): (f64, f64) = c
                    .query_row(
                        "SELECT minx, maxy FROM rtree_communities_geom WHERE id = 1",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                assert!((minx + 75.0).abs() < 1e-5 && (maxy + 14.0).abs() < 1e-5);
            }
        }
        assert_eq!(gpkg.version().unwrap(), 8);
        assert_eq!(rtree_count(&gpkg, "communities"), 1);

        // Deletes: existing layer bumps the version, a missing one does not.
        for s in stores {
            assert!(s.delete_layer("empty_roads").unwrap());
            assert!(!s.delete_layer("empty_roads").unwrap());
            assert_eq!(s.version().unwrap(), 9);
            assert!(matches!(
                s.read_layer("empty_roads"),
                Err(StoreError::NotFound(_))
            ));
            assert!(matches!(s.layer_info("nope"), Err(StoreError::NotFound(_))));
        }
        assert_eq!(gpkg.layers().unwrap(), mem.layers().unwrap());
    }

    /// Fids the spatial index returns for a window, sorted.
    /// `edit_layer` on both backends: creation, updates, deletes, inserts,
    /// a new field, no-op and aborted edits, and a bad fid that writes nothing.
    #[test]
    fn edits_match_memory_store_and_keep_the_index() {
        use chaski_core::store::LayerEdit;
        let (_dir, _path, gpkg) = tmp_store();
        let mem = MemoryStore::new();
        for store in [&gpkg as &dyn Store, &mem] {
            let fields = communities(vec![]).fields;
            let kind = LayerKind::Communities;
            // Creation from inserts.
            let s = store
                .edit_layer("communities", kind, EditScope::All, &mut |old| {
                    assert!(old.is_none());
                    Some(LayerEdit {
                        fields: fields.clone(),
                        inserts: vec![
                            community(Some("a"), 1, -74.0, -13.0),
                            community(Some("b"), 2, -74.5, -13.5),
                            community(Some("c"), 3, -73.0, -12.0),
                        ],
                        ..LayerEdit::default()
                    })
                })
                .unwrap()
                .unwrap();
            assert_eq!((s.inserted, s.version), (3, 1));
            // None and empty edits write nothing.
            assert!(
                store
                    .edit_layer("communities", kind, EditScope::All, &mut |_| None)
                    .unwrap()
                    .is_none()
            );
            let s = store
                .edit_layer("communities", kind, EditScope::All, &mut |_| {
                    Some(LayerEdit::default())
                })
                .unwrap()
                .unwrap();
            assert_eq!(
                s,
                EditSummary {
                    version: 1,
                    ..EditSummary::default()
                }
            );
            assert_eq!(store.version().unwrap(), 1);
            // Update b (moved far away), delete c, insert d with a new field.
            let mut more = fields.clone();
            more.push(Field::new("altitude", FieldType::Int));
            let s = store
                .edit_layer("communities", kind, EditScope::All, &mut |old| {
                    let old = old.unwrap();
                    let fid = |code: &str| {
                        old.features
                            .iter()
                            .find(|f| old.value(f, "code") == &Value::Text(code.into()))
                            .unwrap()
                            .fid
                    };
                    let mut b = community(Some("b"), 20, -70.0, -10.0);
                    b.fid = fid("b");
                    b.values.push(3300.into());
                    let mut d = community(Some("d"), 4, -75.0, -14.0);
                    d.values.push(Value::Null);
                    Some(LayerEdit {
                        fields: more.clone(),
                        updates: vec![b],
                        inserts: vec![d],
                        deletes: vec![fid("c")],
                    })
                })
                .unwrap()
                .unwrap();
            assert_eq!((s.inserted, s.updated, s.deleted, s.version), (1, 1, 1, 2));
            // A missing fid: conflict, nothing written.
            let err = store
                .edit_layer("communities", kind, EditScope::All, &mut |_| {
                    Some(LayerEdit {
                        fields: fields.clone(),
                        inserts: vec![community(Some("x"), 1, -74.0, -13.0)],
                        deletes: vec![999],
                        ..LayerEdit::default()
                    })
                })
                .unwrap_err();
            assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
            assert_eq!(store.version().unwrap(), 2);
            // A scoped edit reads only its features and may change only them.
            let mut seen = Vec::new();
            let err = store
                .edit_layer(
                    "communities",
                    kind,
                    EditScope::FieldEquals {
                        field: "code",
                        value: "a",
                    },
                    &mut |old| {
                        let old = old.unwrap();
                        seen = old.features.iter().map(|f| f.fid).collect();
                        Some(LayerEdit {
                            fields: fields.clone(),
                            deletes: vec![2],
                            ..LayerEdit::default()
                        })
                    },
                )
                .unwrap_err();
            assert_eq!(seen, vec![1]);
            assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
            assert_eq!(store.version().unwrap(), 2);
            // Another kind: conflict.
            assert!(
                store
                    .edit_layer(
                        "communities",
                        LayerKind::Facilities,
                        EditScope::All,
                        &mut |_| None
                    )
                    .is_err()
            );
            let l = store.read_layer("communities").unwrap();
            let got: Vec<(i64, String, Value, Value)> = l
                .features
                .iter()
                .map(|f| {
                    (
                        f.fid,
                        l.value(f, "code").to_string(),
                        l.value(f, "population").clone(),
                        l.value(f, "altitude").clone(),
                    )
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    (1, "a".into(), Value::Int(1), Value::Null),
                    (2, "b".into(), Value::Int(20), Value::Int(3300)),
                    (4, "d".into(), Value::Int(4), Value::Null),
                ]
            );
            let info = store.layer_info("communities").unwrap();
            assert_eq!(info.bounds, Some([-75.0, -14.0, -70.0, -10.0]));
            assert_eq!((info.feature_count, info.version), (3, 2));
        }
        // The spatial index follows the edits.
        assert_eq!(
            rtree_window(&gpkg, "communities", [-180.0, -90.0, 180.0, 90.0]),
            vec![1, 2, 4]
        );
        assert_eq!(
            rtree_window(&gpkg, "communities", [-70.5, -10.5, -69.5, -9.5]),
            vec![2]
        );
    }

    fn rtree_window(store: &GpkgStore, layer: &str, w: [f64; 4]) -> Vec<i64> {
        let c = store.conn.lock().unwrap();
        let mut ids: Vec<i64> = c
            .prepare(&format!(
                "SELECT id FROM rtree_{layer}_geom WHERE maxx >= ?1 AND minx <= ?3 AND maxy >= ?2 AND miny <= ?4"
            ))
            .unwrap()
            .query_map(params![w[0], w[1], w[2], w[3]], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn bulk_loaded_index_answers_like_brute_force() {
        let (_dir, _path, store) = tmp_store();
        // 10,000 points on a skewed grid: three rtree levels.
        let pt = |i: i64| {
            (
                -76.0 + (i % 97) as f64 * 0.013,
                -14.0 + (i / 97) as f64 * 0.007 + (i % 7) as f64 * 0.001,
            )
        };
        let make = |range: std::ops::Range<i64>| {
            communities(
                range
                    .map(|i| {
                        let (x, y) = pt(i);
                        community(Some(&format!("k{i}")), i, x, y)
                    })
                    .collect(),
            )
        };
        let windows = [
            [-75.5005, -13.7005, -75.0005, -13.3005],
            [-76.1, -14.1, -74.0, -13.0],
            [-74.9995, -13.9995, -74.9985, -13.9985],
        ];
        let check = |store: &GpkgStore, n: i64| {
            assert_eq!(rtree_count(store, "communities"), n);
            let layer = store.read_layer("communities").unwrap();
            for w in windows {
                let expected: Vec<i64> = layer
                    .features
                    .iter()
                    .filter(|f| {
                        let Geometry::Point(p) = f.geometry else {
                            unreachable!()
                        };
                        p.x() >= w[0] && p.x() <= w[2] && p.y() >= w[1] && p.y() <= w[3]
                    })
                    .map(|f| f.fid)
                    .collect();
                assert_eq!(rtree_window(store, "communities", w), expected, "{w:?}");
            }
        };
        store
            .write_layer(&make(0..10_000), WriteMode::Replace)
            .unwrap();
        check(&store, 10_000);
        // Small append: triggers insert into full bulk-loaded nodes (splits).
        store
            .write_layer(&make(10_000..10_700), WriteMode::Append)
            .unwrap();
        check(&store, 10_700);
        // Small upsert moving features: update triggers.
        let mut moved = make(0..300);
        for f in &mut moved.features {
            f.geometry = Geometry::Point(point! { x: -70.0, y: -10.0 });
        }
        store.write_layer(&moved, WriteMode::Upsert).unwrap();
        check(&store, 10_700);
        // Large upsert: the index is rebuilt in bulk.
        let w = store
            .write_layer(&make(5_000..12_000), WriteMode::Upsert)
            .unwrap();
        assert_eq!((w.inserted, w.updated), (1_300, 5_700));
        check(&store, 12_000);
        let info = store.layer_info("communities").unwrap();
        // Features 0..300 moved away: the south-west corner is now feature 388 / 301.
        let layer = store.read_layer("communities").unwrap();
        assert_eq!(info.bounds, chaski_core::store::layer_bounds(&layer));
        let b = info.bounds.unwrap();
        assert_eq!((b[0], b[2], b[3]), (-76.0, -70.0, -10.0));
        assert!((b[1] + 13.979).abs() < 1e-9, "{b:?}");
    }

    fn rtree_count(store: &GpkgStore, layer: &str) -> i64 {
        let c = store.conn.lock().unwrap();
        let check: String = c
            .query_row(
                &format!("SELECT rtreecheck('rtree_{layer}_geom')"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(check, "ok");
        c.query_row(
            &format!("SELECT COUNT(*) FROM rtree_{layer}_geom"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn layers_report_counts_bounds_versions_in_name_order() {
        let (_dir, _path, store) = tmp_store();
        let mut roads = Layer::new("roads", LayerKind::Roads);
        roads.features = vec![Feature {
            fid: 0,
            geometry: Geometry::MultiLineString(MultiLineString::new(vec![line_string![
                (x: -74.0, y: -13.0), (x: -73.0, y: -12.5)
            ]])),
            values: vec![Value::Null, Value::Null, "paved".into()],
        }];
        store.write_layer(&roads, WriteMode::Replace).unwrap();
        store
            .write_layer(
                &communities(vec![
                    community(Some("a"), 1, -74.25, -13.5),
                    community(Some("b"), 2, -73.75, -12.0),
                    community(Some("c"), 3, -74.0, -13.0),
                ]),
                WriteMode::Replace,
            )
            .unwrap();
        store
            .write_layer(
                &Layer::new("boundaries", LayerKind::Boundaries),
                WriteMode::Replace,
            )
            .unwrap();
        let infos = store.layers().unwrap();
        let summary: Vec<_> = infos
            .iter()
            .map(|i| {
                (
                    i.name.as_str(),
                    i.feature_count,
                    i.bounds,
                    i.version,
                    i.geometry_type.ogc_name(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("boundaries", 0, None, 3, "MULTIPOLYGON"),
                (
                    "communities",
                    3,
                    Some([-74.25, -13.5, -73.75, -12.0]),
                    2,
                    "POINT"
                ),
                (
                    "roads",
                    1,
                    Some([-74.0, -13.0, -73.0, -12.5]),
                    1,
                    "MULTILINESTRING"
                ),
            ]
        );
        assert_eq!(
            infos[1].fields,
            chaski_core::schema::core_field_defs(LayerKind::Communities)
        );
        assert_eq!(store.layer_info("roads").unwrap(), infos[2]);
    }

    #[test]
    fn truncated_garbage_and_foreign_files_are_corrupt() {
        let (dir, path, store) = tmp_store();
        store
            .write_layer(
                &communities(vec![community(Some("a"), 1, -74.0, -13.0)]),
                WriteMode::Replace,
            )
            .unwrap();
        drop(store);
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(100).unwrap();
        drop(f);
        match GpkgStore::open(&path) {
            Err(StoreError::Corrupt { path: p, reason }) => {
                assert_eq!(p, path);
                assert!(reason.contains("truncated"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // Truncated mid-way.
        let path2 = dir.path().join("half.gpkg");
        let s = GpkgStore::open(&path2).unwrap();
        s.write_layer(
            &communities(
                (0..2000)
                    .map(|i| community(Some(&i.to_string()), i, -74.0, -13.0))
                    .collect(),
            ),
            WriteMode::Replace,
        )
        .unwrap();
        drop(s);
        let len = std::fs::metadata(&path2).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path2)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        assert!(matches!(
            GpkgStore::open(&path2),
            Err(StoreError::Corrupt { .. })
        ));

        let garbage = dir.path().join("garbage.gpkg");
        std::fs::write(&garbage, vec![0x5Au8; 10_000]).unwrap();
        match GpkgStore::open(&garbage) {
            Err(StoreError::Corrupt { reason, .. }) => {
                assert!(reason.contains("not an SQLite"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        let tiny = dir.path().join("tiny.gpkg");
        std::fs::write(&tiny, b"hello").unwrap();
        assert!(matches!(
            GpkgStore::open(&tiny),
            Err(StoreError::Corrupt { .. })
        ));
        // A valid SQLite database that is not a GeoPackage.
        let other = dir.path().join("other.sqlite");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        match GpkgStore::open(&other) {
            Err(StoreError::Corrupt { reason, .. }) => {
                assert!(reason.contains("not a GeoPackage"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // ... and is left as it was.
        let mode: String = Connection::open(&other)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        // A directory.
        assert!(matches!(
            GpkgStore::open(dir.path()),
            Err(StoreError::Corrupt { .. })
        ));
        // An empty file becomes a new store.
        let empty = dir.path().join("empty.gpkg");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(GpkgStore::open(&empty).unwrap().layers().unwrap(), vec![]);
    }

    #[test]
    fn geopackage_from_gdal_is_accepted_and_its_tables_kept() {
        let Some(src) = chaski_testing::peru("villages/ccpp_huanuco_population.gpkg") else {
            return;
        };
        if !chaski_testing::require_tool("ogrinfo") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huanuco.gpkg");
        std::fs::copy(src, &path).unwrap();
        let store = GpkgStore::open(&path).unwrap();
        assert_eq!(store.layers().unwrap(), vec![]);
        let foreign: String = store
            .conn
            .lock()
            .unwrap()
            .query_row("SELECT table_name FROM gpkg_contents", [], |r| r.get(0))
            .unwrap();
        let mut clash = communities(vec![]);
        clash.name.clone_from(&foreign.to_lowercase());
        if check_name(&clash.name).is_ok() {
            assert!(matches!(
                store.write_layer(&clash, WriteMode::Replace),
                Err(StoreError::Conflict { .. })
            ));
        }
        store
            .write_layer(
                &communities(vec![community(Some("a"), 1, -76.0, -9.5)]),
                WriteMode::Replace,
            )
            .unwrap();
        drop(store);
        let list = ogrinfo(&["-ro", "-q", path.to_str().unwrap()]);
        assert!(list.contains(&format!("{foreign} (Point)")), "{list}");
        assert!(list.contains("communities (Point)"), "{list}");
    }

    #[test]
    fn reopening_sees_acknowledged_writes() {
        let (_dir, path, store) = tmp_store();
        let layer = communities(vec![
            community(Some("a"), 1, -74.0, -13.0),
            community(Some("b"), 2, -73.0, -12.0),
        ]);
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        // A second handle sees it while the first is still open.
        let other = GpkgStore::open(&path).unwrap();
        assert_eq!(other.read_layer("communities").unwrap().features.len(), 2);
        store
            .write_layer(
                &communities(vec![community(Some("a"), 10, -74.0, -13.0)]),
                WriteMode::Upsert,
            )
            .unwrap();
        assert_eq!(other.version().unwrap(), 2);
        drop(other);
        let before = store.read_layer("communities").unwrap();
        drop(store);
        let reopened = GpkgStore::open(&path).unwrap();
        assert_eq!(reopened.read_layer("communities").unwrap(), before);
        assert_eq!(reopened.version().unwrap(), 2);
        assert_eq!(reopened.layer_info("communities").unwrap().version, 2);
    }

    /// Child side of `acknowledged_writes_survive_an_abort`: write, then die
    /// without running any destructor (no checkpoint, the WAL is left behind).
    #[test]
    #[ignore = "run as a child process by acknowledged_writes_survive_an_abort"]
    fn crash_child() {
        let Ok(path) = std::env::var("CHASKI_GPKG_CRASH_PATH") else {
            return;
        };
        let store = GpkgStore::open(&path).unwrap();
        let layer = communities(
            (0..500)
                .map(|i| community(Some(&format!("x{i}")), i, -74.0, -13.0))
                .collect(),
        );
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        store
            .write_layer(
                &communities(vec![community(Some("x7"), 777, -73.0, -12.0)]),
                WriteMode::Upsert,
            )
            .unwrap();
        // A write that never commits.
        let mut c = store.conn.lock().unwrap();
        let tx = c.transaction().unwrap();
        tx.execute("DELETE FROM communities", []).unwrap();
        std::process::abort();
    }

    #[test]
    fn acknowledged_writes_survive_an_abort() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crash.gpkg");
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "store::gpkg::tests::crash_child",
                "--nocapture",
            ])
            .env("CHASKI_GPKG_CRASH_PATH", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child should have aborted");
        assert!(
            dir.path().join("crash.gpkg-wal").exists(),
            "WAL left behind"
        );
        let store = GpkgStore::open(&path).unwrap();
        assert_eq!(store.version().unwrap(), 2);
        let l = store.read_layer("communities").unwrap();
        assert_eq!(l.len(), 500);
        assert_eq!(l.value(&l.features[7], "population"), &Value::Int(777));
        assert_eq!(rtree_count(&store, "communities"), 500);
    }

    #[test]
    fn raster_round_trip_and_validation() {
        let (_dir, path, store) = tmp_store();
        let mut r = Raster::filled(
            3,
            2,
            [-74.0, 0.5, 0.0, -12.0, 0.0, -0.25],
            Some(4326),
            0.0f32,
        );
        r.data = vec![1.0, -2.5, 3.25, f32::MAX, -0.0, 1e-30];
        r.nodata = Some(-9999.0);
        assert_eq!(store.write_raster("dem", &r).unwrap(), 1);
        let mut nan = Raster::filled(1, 1, [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], None, 7.0f32);
        nan.nodata = Some(f64::NAN);
        assert_eq!(store.write_raster("cost", &nan).unwrap(), 2);
        assert_eq!(store.read_raster("dem").unwrap(), r);
        let back = store.read_raster("cost").unwrap();
        assert!(back.nodata.unwrap().is_nan());
        assert_eq!((back.data, back.epsg), (vec![7.0], None));
        let infos = store.rasters().unwrap();
        assert_eq!(
            infos.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["cost", "dem"]
        );
        assert_eq!(infos[1].bounds, [-74.0, -12.5, -72.5, -12.0]);
        assert_eq!(
            (infos[1].width, infos[1].height, infos[1].version),
            (3, 2, 1)
        );
        assert!(matches!(
            store.read_raster("nope"),
            Err(StoreError::NotFound(_))
        ));
        // Wrong cell count is refused.
        let mut bad = r.clone();
        bad.data.pop();
        assert!(matches!(
            store.write_raster("bad", &bad),
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(store.version().unwrap(), 2);
        // Damaged cells are reported as corrupt.
        {
            let c = store.conn.lock().unwrap();
            c.execute("UPDATE dem SET tile_data = x'49492a00'", [])
                .unwrap();
        }
        match store.read_raster("dem") {
            Err(StoreError::Corrupt { reason, .. }) => {
                assert!(
                    reason.contains("raster 'dem': unreadable TIFF tile"),
                    "{reason}"
                );
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // Deleting a raster by name bumps the version.
        assert!(store.delete_layer("cost").unwrap());
        assert_eq!(store.version().unwrap(), 3);
        drop(store);
        let again = GpkgStore::open(&path).unwrap();
        assert_eq!(again.rasters().unwrap().len(), 1);
    }

    /// `ogrinfo ARGS` (tests check [`chaski_testing::require_tool`] first).
    fn ogrinfo(args: &[&str]) -> String {
        let out = Command::new("ogrinfo")
            .args(args)
            .output()
            .expect("run ogrinfo");
        assert!(
            out.status.success(),
            "ogrinfo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn gdal_reads_layers_and_spatial_index() {
        // GDAL's GeoPackage validator (Debian package python3-gdal).
        let validator = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py";
        if !chaski_testing::require_tool("ogrinfo")
            || chaski_testing::require_data(validator).is_none()
        {
            return;
        }
        let (_dir, path, store) = tmp_store();
        let n = 250;
        let layer = communities(
            (0..n)
                .map(|i| {
                    community(
                        Some(&format!("c{i}")),
                        i,
                        -75.0 + f64::from(i as i32) * 0.01,
                        -13.0,
                    )
                })
                .collect(),
        );
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        // Appends and upserts go through the triggers.
        store
            .write_layer(
                &communities(vec![
                    community(Some("c1"), 5, -70.0, -10.0),
                    community(Some("new"), 5, -71.0, -11.0),
                ]),
                WriteMode::Upsert,
            )
            .unwrap();
        let mut b = Layer::new("boundaries", LayerKind::Boundaries);
        b.features = vec![Feature {
            fid: 0,
            geometry: all_geometries()[5].clone(),
            values: vec!["010101".into(), "Chachapoyas".into(), "district".into()],
        }];
        store.write_layer(&b, WriteMode::Replace).unwrap();
        drop(store);
        let file = path.to_str().unwrap();
        let info = ogrinfo(&["-ro", "-so", file, "communities"]);
        let expected = n + 1;
        assert!(
            info.contains(&format!("Feature Count: {expected}")),
            "{info}"
        );
        assert!(info.contains("Geometry: Point"), "{info}");
        assert!(
            info.contains("Extent: (-75.000000, -13.000000) - (-70.000000, -10.000000)"),
            "{info}"
        );
        assert!(info.contains("population: Integer"), "{info}");
        let sql = ogrinfo(&[
            "-ro",
            file,
            "-sql",
            "SELECT COUNT(*) FROM rtree_communities_geom",
        ]);
        assert!(
            sql.contains(&format!("COUNT(*) (Integer) = {expected}")),
            "{sql}"
        );
        // GDAL's spatial filter (through the rtree) finds the moved feature only.
        let filtered = ogrinfo(&[
            "-ro",
            "-so",
            file,
            "communities",
            "-spat",
            "-70.5",
            "-10.5",
            "-69.5",
            "-9.5",
        ]);
        assert!(filtered.contains("Feature Count: 1"), "{filtered}");
        let poly = ogrinfo(&["-ro", "-so", file, "boundaries"]);
        assert!(
            poly.contains("Feature Count: 1") && poly.contains("Multi Polygon"),
            "{poly}"
        );
        // GDAL's GeoPackage validator.
        let out = Command::new("python3")
            .args([validator, file])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "validate_gpkg: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let list = ogrinfo(&["-ro", "-q", file]);
        assert!(list.contains("communities (Point)"), "{list}");
    }

    /// Timings on the real 136,587 IGN villages. Run by hand in release:
    /// `cargo test -p chaski-io --release --lib store::gpkg::tests::perf -- --ignored --nocapture`
    #[test]
    #[ignore = "timing run, release only"]
    fn perf_villages() {
        use std::time::Instant;
        let Some(src) = chaski_testing::peru("villages/ccpp_ign100k.gpkg") else {
            return;
        };
        let c =
            Connection::open_with_flags(src, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let mut stmt = c
            .prepare("SELECT geom, codigo, nombre, ubigeo FROM ccpp ORDER BY fid")
            .unwrap();
        let features: Vec<Feature> = stmt
            .query_map([], |r| {
                let blob: Vec<u8> = r.get(0)?;
                Ok(Feature {
                    fid: 0,
                    geometry: decode_gpkg_geometry(&blob).unwrap(),
                    values: vec![
                        r.get::<_, Option<String>>(1)?.into(),
                        r.get::<_, Option<String>>(2)?.into(),
                        r.get::<_, Option<String>>(3)?.into(),
                        Value::Null,
                        Value::Null,
                        Value::Null,
                    ],
                })
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(features.len(), 136_587);
        let layer = communities(features);
        let (_dir, path, store) = tmp_store();
        let t = Instant::now();
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        eprintln!("write (replace) {} points: {:?}", layer.len(), t.elapsed());
        let t = Instant::now();
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        eprintln!("write again (replace over existing): {:?}", t.elapsed());
        let t = Instant::now();
        let back = store.read_layer("communities").unwrap();
        eprintln!("read: {:?}", t.elapsed());
        assert_eq!(back.features.len(), 136_587);
        assert_eq!(back.features[10].values, layer.features[10].values);
        let t = Instant::now();
        let infos = store.layers().unwrap();
        eprintln!("layers(): {:?}", t.elapsed());
        assert_eq!(infos[0].feature_count, 136_587);
        let mut some = communities(layer.features[..1000].to_vec());
        for f in &mut some.features {
            f.values[3] = 10.into();
        }
        let t = Instant::now();
        let w = store.write_layer(&some, WriteMode::Upsert).unwrap();
        eprintln!("upsert 1000 (updates): {:?} {w:?}", t.elapsed());
        let t = Instant::now();
        let w = store
            .write_layer(&communities(layer.features.clone()), WriteMode::Append)
            .unwrap();
        eprintln!(
            "append 136,587 (bulk index rebuild): {:?} {w:?}",
            t.elapsed()
        );
        assert_eq!(rtree_count(&store, "communities"), 2 * 136_587);
        drop(store);
        let t = Instant::now();
        let s = GpkgStore::open(&path).unwrap();
        eprintln!(
            "open with quick_check ({} MB): {:?}",
            std::fs::metadata(&path).unwrap().len() >> 20,
            t.elapsed()
        );
        let t = Instant::now();
        s.quick_check().unwrap();
        eprintln!("quick_check: {:?}", t.elapsed());
        if let Ok(keep) = std::env::var("CHASKI_KEEP_GPKG") {
            drop(s);
            std::fs::copy(&path, keep).unwrap();
        }
    }

    fn household(code: &str, uuid: Option<&str>, members: i64, x: f64) -> Feature {
        let l = Layer::new("households", LayerKind::Households);
        let mut values = vec![Value::Null; l.fields.len()];
        values[l.field_index("code").unwrap()] = code.into();
        values[l.field_index("members").unwrap()] = members.into();
        values[l.field_index("submission_uuid").unwrap()] = uuid.into();
        Feature {
            fid: 0,
            geometry: Geometry::Point(point! { x: x, y: -13.0 }),
            values,
        }
    }

    /// Households upsert on `submission_uuid`, else on `code`, as the memory store does.
    #[test]
    fn household_upserts_key_on_submission_uuid() {
        let (_dir, path, gpkg) = tmp_store();
        let mem = MemoryStore::new();
        let stores: [&dyn Store; 2] = [&gpkg, &mem];
        let batch = |features| {
            let mut l = Layer::new("households", LayerKind::Households);
            l.features = features;
            l
        };
        let steps = [
            batch(vec![
                household("h1", Some("u1"), 1, -74.0),
                household("h1", Some("u2"), 2, -74.1),
                household("h3", None, 3, -74.2),
            ]),
            batch(vec![
                household("h1", Some("u2"), 20, -74.5),
                household("h3", None, 30, -74.2),
                household("h3", Some("u9"), 9, -74.3),
            ]),
        ];
        let mut summaries = Vec::new();
        for layer in &steps {
            let r: Vec<WriteSummary> = stores
                .iter()
                .map(|s| s.write_layer(layer, WriteMode::Upsert).unwrap())
                .collect();
            assert_eq!(r[0], r[1]);
            summaries.push((r[0].inserted, r[0].updated));
        }
        assert_eq!(summaries, [(3, 0), (1, 2)]);
        assert_eq!(
            gpkg.read_layer("households").unwrap(),
            mem.read_layer("households").unwrap()
        );
        // Durable: a fresh connection sees the updated record and its new position.
        drop(gpkg);
        let back = GpkgStore::open(&path)
            .unwrap()
            .read_layer("households")
            .unwrap();
        let rows: Vec<(i64, i64, f64)> = back
            .features
            .iter()
            .map(|f| {
                let Geometry::Point(p) = f.geometry else {
                    panic!()
                };
                (f.fid, back.value(f, "members").as_i64().unwrap(), p.x())
            })
            .collect();
        assert_eq!(
            rows,
            [(1, 1, -74.0), (2, 20, -74.5), (3, 30, -74.2), (4, 9, -74.3)]
        );
    }
}
