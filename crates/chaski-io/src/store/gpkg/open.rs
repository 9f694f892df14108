//! Opening and creating a store: the [`GpkgStore`] handle, the cheap checks
//! of a file before it is used, and the tables every store needs.
//!
//! Opening checks the raw header (magic, page size, declared size against the
//! file length), that the file is a GeoPackage and that its schema version is
//! not newer than this chaski's before SQLite writes anything, then runs
//! `PRAGMA quick_check` (files up to 64 MiB). When opening must write (a file
//! not yet in WAL mode, an older schema version to migrate, tables of the
//! layout missing, old-format rasters to convert) the check runs first, as
//! part of `open`, and the migrations after it. Otherwise it
//! runs in the background on a second connection (module `check`) while the
//! caller goes on: reads return their data only once it has passed (else its
//! error) and writes wait for it, so a corrupt store is still never read from
//! or written to; only the first read overlaps with the check. A file damaged
//! in a way only the check finds is thus reported by the first read or write
//! instead of by `open`, with the same error.

use super::check::{Check, quick_check};
use super::coverage;
use super::error::{GpkgError, corrupt, sql_error};
use super::schema;
use super::sql_functions::register_functions;
use chaski_core::store::{Result, StoreError};
use rusqlite::Connection;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// `PRAGMA application_id` of a GeoPackage ("GPKG").
pub(super) const APPLICATION_ID: i64 = 0x4750_4B47;

/// Application ids of GeoPackage 1.0 ("GP10") and 1.1 ("GP11") files, accepted on open.
const OLD_APPLICATION_IDS: [i64; 2] = [0x4750_3130, 0x4750_3131];

/// `PRAGMA user_version` of GeoPackage 1.3.
const USER_VERSION: i64 = 10300;

/// Files up to this size get a `PRAGMA quick_check` on open.
const QUICK_CHECK_MAX_BYTES: u64 = 64 << 20;

/// A layer store in one GeoPackage file.
///
/// Thread safe: one SQLite connection behind a mutex. Other processes (QGIS,
/// GDAL, another chaski) may open the same file; SQLite's locking applies.
pub struct GpkgStore {
    path: PathBuf,
    pub(super) conn: Mutex<Connection>,
    check: Check,
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
    /// [`StoreError::Corrupt`] (damage that only the integrity check finds, when
    /// that check runs in the background, at the first read or write instead:
    /// see [the store's documentation](crate::store::gpkg)). A GeoPackage written by another
    /// tool is accepted: chaski's tables are added to it, its own layers are
    /// left alone.
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
        let setup = || -> Result<(Check, bool, bool), GpkgError> {
            conn.busy_timeout(Duration::from_secs(10))?;
            register_functions(&conn)?;
            verify_geopackage(&conn)?;
            // A store of a newer chaski is refused before anything is written.
            let version = schema::check_supported(&conn)?;
            let writes = setup_writes(&conn, version)?;
            let check = if len > QUICK_CHECK_MAX_BYTES {
                Check::passed()
            } else if writes {
                quick_check(&conn)?;
                Check::passed()
            } else {
                // Nothing below writes: the check runs meanwhile.
                Check::start(&path)
            };
            configure(&conn)?;
            let upgrade = version < schema::SCHEMA_VERSION || schema::missing_tables(&conn)?;
            Ok((check, writes, upgrade))
        };
        let (check, writes, upgrade) = setup().map_err(|e| e.into_store(&path))?;
        let mut conn = conn;
        if upgrade {
            schema::upgrade(&mut conn).map_err(|e| e.into_store(&path))?;
        }
        if writes {
            coverage::migrate_legacy(&mut conn);
        }
        Ok(Self {
            path,
            conn: Mutex::new(conn),
            check,
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

    /// Run `f` on the connection once the integrity check has passed, errors
    /// mapped to [`StoreError`] with the path: for writes (and anything else).
    pub(super) fn run<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, GpkgError>,
    ) -> Result<T> {
        self.check.verdict(&self.path)?;
        self.run_unchecked(f)
    }

    /// Run `f`, a read, on the connection while the integrity check may still
    /// be running; its result is returned only once the check has passed
    /// (else the check's error, in place of the result).
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, GpkgError>,
    ) -> Result<T> {
        let out = self.run_unchecked(f);
        self.check.verdict(&self.path)?;
        out
    }

    fn run_unchecked<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, GpkgError>,
    ) -> Result<T> {
        let mut guard = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard).map_err(|e| e.into_store(&self.path))
    }
}

/// Cheap checks of the raw file before SQLite reads it: the SQLite magic and
/// the database size the header declares against the file length.
pub(super) fn check_file_header(path: &Path, len: u64) -> Result<()> {
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
        schema::create(&conn)?;
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

pub(super) fn verify_geopackage(conn: &Connection) -> Result<(), GpkgError> {
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

/// Whether opening will write: the file is not in WAL mode yet, its schema
/// is older than this chaski's, tables of the layout are missing, or
/// old-format rasters wait to be converted.
fn setup_writes(conn: &Connection, version: i64) -> Result<bool, GpkgError> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    Ok(!mode.eq_ignore_ascii_case("wal")
        || version < schema::SCHEMA_VERSION
        || schema::missing_tables(conn)?
        || coverage::has_legacy_rasters(conn)?)
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact, representable coordinates
mod tests {
    use super::*;
    use crate::store::gpkg::test_support::*;
    use chaski_core::store::{Store, WriteMode, check_name};
    use chaski_core::value::Value;
    use std::process::Command;

    #[test]
    fn new_file_is_a_geopackage() {
        let (_dir, path, store) = tmp_store();
        assert_eq!(store.backend(), "gpkg");
        assert_eq!(store.version().unwrap(), 0);
        // Durable commits: WAL synced at every commit (FULL = 2), not only at
        // checkpoints (NORMAL = 1).
        let sync: i64 = store
            .conn
            .lock()
            .unwrap()
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2);
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
    fn damage_only_the_integrity_check_finds_is_never_read_nor_written_over() {
        let (_dir, path, store) = tmp_store();
        let layer = communities(
            (0..3000)
                .map(|i| {
                    community(
                        Some(&i.to_string()),
                        i,
                        -74.0 + f64::from(i as i32) * 1e-4,
                        -13.0,
                    )
                })
                .collect(),
        );
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        drop(store);
        // Break a page of the spatial index, which reading the layer never visits.
        let (root, page_size): (i64, i64) = {
            let c = Connection::open(&path).unwrap();
            let root = c
                .query_row(
                    "SELECT rootpage FROM sqlite_master WHERE name = 'rtree_communities_geom_rowid'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            let size = c.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap();
            (root, size)
        };
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[((root - 1) * page_size) as usize] = 0;
        std::fs::write(&path, &bytes).unwrap();

        // Opening writes nothing here, so the check runs in the background:
        // open succeeds, and the first read returns the check's error, not the layer.
        let store = GpkgStore::open(&path).unwrap();
        match store.read_layer("communities") {
            Err(StoreError::Corrupt { path: p, reason }) => {
                assert_eq!(p, path);
                assert!(reason.contains("integrity check failed"), "{reason}");
            }
            other => panic!("expected Corrupt, got {:?}", other.map(|l| l.len())),
        }
        // ... every later call too, and nothing is written.
        assert!(matches!(store.layers(), Err(StoreError::Corrupt { .. })));
        assert!(matches!(
            store.write_layer(&communities(vec![]), WriteMode::Replace),
            Err(StoreError::Corrupt { .. })
        ));
        drop(store);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        // The layer itself reads fine without the check: only the check found it.
        let c = Connection::open(&path).unwrap();
        let n: i64 = c
            .query_row("SELECT count(*) FROM communities", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3000);
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
                "store::gpkg::open::tests::crash_child",
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
}
