//! The full check of a store file (`chaski check`): everything the cheap
//! checks of opening do not look at, read-only.
//!
//! The checks, in order (a failure of the first two stops the others, which
//! would only repeat it):
//!
//! 1. **file**: the SQLite header (magic, page size, declared size against the
//!    file length) and that the file is a GeoPackage;
//! 2. **sqlite integrity**: `PRAGMA integrity_check` (the full check: b-trees,
//!    free list, indexes against their tables, constraints), then
//!    `PRAGMA foreign_key_check`;
//! 3. **geopackage**: the required tables (`gpkg_spatial_ref_sys`,
//!    `gpkg_contents`, `gpkg_geometry_columns`), every table of
//!    `gpkg_contents` exists, every feature table has its geometry column, every
//!    SRS id used is defined, every layer chaski lists is in `gpkg_contents`;
//! 4. **geometries**: every geometry blob of every feature table parses
//!    (GeoPackage binary header: magic `GP`, version 0, flags, the column's SRS
//!    id; then the WKB);
//! 5. **spatial indexes**: for every table with a `gpkg_rtree_index`, the
//!    R-tree exists and indexes exactly the features with a non-empty geometry
//!    (counts equal, and the same ids);
//! 6. **household consent**: every record of a household layer has
//!    `consent = yes` (a family that did not consent, or did not answer, is
//!    never stored; a withdrawal deletes its records), and no household layer
//!    has a column that looks like a personal identifier (names, ID numbers,
//!    phones, addresses);
//! 7. **schema version**: the store records the version of the layout this
//!    chaski writes (older: opened with chaski it is upgraded; newer: refused).
//!
//! The file is opened read-only: checking writes nothing (SQLite replays a
//! WAL left by a crash into its shared-memory index only, as any reader does).
//! Problems name the table, the row id and what is wrong, never household data.

use super::codec::decode_gpkg_geometry;
use super::error::GpkgError;
use super::open::{check_file_header, verify_geopackage};
use super::schema::{SCHEMA_VERSION, newer_message, stored_version};
use super::sql::q;
use chaski_core::store::StoreError;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// At most this many problems are listed per check (then a count of the rest).
const MAX_LISTED: usize = 10;

/// One check and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckItem {
    /// The check (`file`, `sqlite integrity`, `geopackage`, `geometries`,
    /// `spatial indexes`, `household consent`, `schema version`).
    pub name: &'static str,
    /// What was checked, when it passed.
    pub detail: String,
    /// What is wrong (empty when the check passed).
    pub problems: Vec<String>,
}

impl CheckItem {
    /// True when the check found nothing wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The checks of one store file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreCheck {
    /// The file.
    pub path: PathBuf,
    /// Each check run, in order.
    pub items: Vec<CheckItem>,
}

impl StoreCheck {
    /// True when every check passed.
    pub fn ok(&self) -> bool {
        self.items.iter().all(CheckItem::ok)
    }

    /// Every problem, as `check: problem`.
    pub fn problems(&self) -> Vec<String> {
        self.items
            .iter()
            .flat_map(|i| i.problems.iter().map(move |p| format!("{}: {p}", i.name)))
            .collect()
    }
}

/// Problems collected by one check, capped at [`MAX_LISTED`].
#[derive(Default)]
struct Problems {
    listed: Vec<String>,
    more: usize,
}

impl Problems {
    fn push(&mut self, p: impl Into<String>) {
        if self.listed.len() < MAX_LISTED {
            self.listed.push(p.into());
        } else {
            self.more += 1;
        }
    }

    fn into_vec(mut self) -> Vec<String> {
        if self.more > 0 {
            self.listed
                .push(format!("... and {} more problems of this kind", self.more));
        }
        self.listed
    }
}

fn item(name: &'static str, detail: String, problems: Problems) -> CheckItem {
    CheckItem {
        name,
        detail,
        problems: problems.into_vec(),
    }
}

fn failed(name: &'static str, problem: String) -> CheckItem {
    CheckItem {
        name,
        detail: String::new(),
        problems: vec![problem],
    }
}

fn reason(e: &StoreError) -> String {
    match e {
        StoreError::Corrupt { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

fn sql_reason(path: &Path, e: GpkgError) -> String {
    reason(&e.into_store(path))
}

/// Check the store file at `path` (see the module documentation). Never
/// writes to the file; every problem is in the result, none is an error.
pub fn check_store(path: &Path) -> StoreCheck {
    let mut out = StoreCheck {
        path: path.to_owned(),
        items: Vec::new(),
    };
    match open_checked(path) {
        Ok((conn, detail)) => {
            out.items.push(CheckItem {
                name: "file",
                detail,
                problems: Vec::new(),
            });
            let integrity = integrity(path, &conn);
            let sound = integrity.ok();
            out.items.push(integrity);
            if sound {
                out.items.push(geopackage(path, &conn));
                let (geometries, indexed) = geometries(path, &conn);
                out.items.push(geometries);
                out.items.push(spatial_indexes(path, &conn, &indexed));
                out.items.push(consent(path, &conn));
            }
            out.items.push(schema_version(path, &conn));
        }
        Err(problem) => out.items.push(failed("file", problem)),
    }
    out
}

/// The file checks and a read-only connection.
fn open_checked(path: &Path) -> Result<(Connection, String), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if meta.is_dir() {
        return Err("is a directory, not a file".into());
    }
    let len = meta.len();
    if len == 0 {
        return Err("empty file (0 bytes): not a store".into());
    }
    check_file_header(path, len).map_err(|e| reason(&e))?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sql_reason(path, e.into()))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| sql_reason(path, e.into()))?;
    verify_geopackage(&conn).map_err(|e| sql_reason(path, e))?;
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(|e| sql_reason(path, e.into()))?;
    Ok((
        conn,
        format!("SQLite database of {len} bytes ({pages} pages), a GeoPackage"),
    ))
}

fn integrity(path: &Path, conn: &Connection) -> CheckItem {
    let mut problems = Problems::default();
    let run = || -> Result<(Vec<String>, Vec<String>), GpkgError> {
        let mut st = conn.prepare("PRAGMA integrity_check")?;
        let lines = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = conn.prepare("PRAGMA foreign_key_check")?;
        let fk = st
            .query_map([], |r| {
                Ok(format!(
                    "foreign key: row {} of {} refers to a missing row of {}",
                    r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(2)?
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((lines, fk))
    };
    match run() {
        Ok((lines, fk)) => {
            for l in lines.into_iter().filter(|l| l != "ok") {
                problems.push(format!("integrity_check: {l}"));
            }
            for f in fk {
                problems.push(f);
            }
        }
        Err(e) => problems.push(sql_reason(path, e)),
    }
    item(
        "sqlite integrity",
        "PRAGMA integrity_check and foreign_key_check: ok".into(),
        problems,
    )
}

fn strings(conn: &Connection, sql: &str) -> Result<Vec<String>, GpkgError> {
    let mut st = conn.prepare(sql)?;
    let v = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(v)
}

fn table_names(conn: &Connection) -> Result<BTreeSet<String>, GpkgError> {
    Ok(strings(
        conn,
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')",
    )?
    .into_iter()
    .collect())
}

fn has_table(tables: &BTreeSet<String>, name: &str) -> bool {
    tables.iter().any(|t| t.eq_ignore_ascii_case(name))
}

fn geopackage(path: &Path, conn: &Connection) -> CheckItem {
    let mut problems = Problems::default();
    let mut detail = String::new();
    let run = |problems: &mut Problems, detail: &mut String| -> Result<(), GpkgError> {
        let tables = table_names(conn)?;
        let required = [
            "gpkg_spatial_ref_sys",
            "gpkg_contents",
            "gpkg_geometry_columns",
        ];
        let mut missing = false;
        for t in required {
            if !has_table(&tables, t) {
                problems.push(format!("required table {t} is missing"));
                missing = true;
            }
        }
        if missing {
            return Ok(());
        }
        let srs: BTreeSet<i64> = {
            let mut st = conn.prepare("SELECT srs_id FROM gpkg_spatial_ref_sys")?;
            st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?
        };
        let mut st = conn.prepare("SELECT table_name, data_type, srs_id FROM gpkg_contents")?;
        let contents = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut st = conn.prepare(
            "SELECT table_name, column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns",
        )?;
        let columns = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut features = 0usize;
        for (table, data_type, srs_id) in &contents {
            if !has_table(&tables, table) {
                problems.push(format!(
                    "table '{table}' is listed in gpkg_contents ({data_type}) but does not exist"
                ));
                continue;
            }
            if let Some(s) = srs_id
                && !srs.contains(s)
            {
                problems.push(format!(
                    "table '{table}': srs_id {s} of gpkg_contents is not in gpkg_spatial_ref_sys"
                ));
            }
            if data_type == "features" {
                features += 1;
                match columns.iter().find(|c| c.0.eq_ignore_ascii_case(table)) {
                    None => problems.push(format!(
                        "feature table '{table}' has no row in gpkg_geometry_columns"
                    )),
                    Some((_, column, _, _)) if !has_column(conn, table, column)? => {
                        problems.push(format!(
                            "feature table '{table}': its geometry column '{column}' does not exist"
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        for (table, _, _, srs_id) in &columns {
            if !contents.iter().any(|c| c.0.eq_ignore_ascii_case(table)) {
                problems.push(format!(
                    "gpkg_geometry_columns lists '{table}', which gpkg_contents does not"
                ));
            }
            if !srs.contains(srs_id) {
                problems.push(format!(
                    "table '{table}': srs_id {srs_id} of gpkg_geometry_columns is not in gpkg_spatial_ref_sys"
                ));
            }
        }
        if contents.iter().any(|c| c.1 == "2d-gridded-coverage") && !srs.contains(&4979) {
            problems.push(
                "the store has 2D gridded coverages but gpkg_spatial_ref_sys has no row for \
                 srs_id 4979 (OGC 17-066r1, requirement 3)",
            );
        }
        if has_table(&tables, "chaski_layers") {
            for name in strings(conn, "SELECT name FROM chaski_layers")? {
                if !contents.iter().any(|c| c.0.eq_ignore_ascii_case(&name)) {
                    problems.push(format!(
                        "layer '{name}' of chaski_layers is not listed in gpkg_contents"
                    ));
                }
            }
        }
        *detail = format!(
            "required tables present; {} tables in gpkg_contents ({features} feature tables), \
             each present with a defined SRS",
            contents.len()
        );
        Ok(())
    };
    if let Err(e) = run(&mut problems, &mut detail) {
        problems.push(sql_reason(path, e));
    }
    item("geopackage", detail, problems)
}

fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool, GpkgError> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({})", q(table)))?;
    let names = st
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names.iter().any(|n| n.eq_ignore_ascii_case(column)))
}

/// The primary key column of `table` (the feature id), `fid` when none is declared.
fn pk_column(conn: &Connection, table: &str) -> Result<String, GpkgError> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({})", q(table)))?;
    let cols = st
        .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(cols
        .into_iter()
        .find(|(_, pk)| *pk == 1)
        .map_or_else(|| "fid".to_owned(), |(n, _)| n))
}

/// Feature tables with their geometry column and SRS id (those that exist).
fn feature_tables(conn: &Connection) -> Result<Vec<(String, String, i64)>, GpkgError> {
    let tables = table_names(conn)?;
    if !has_table(&tables, "gpkg_geometry_columns") || !has_table(&tables, "gpkg_contents") {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare(
        "SELECT g.table_name, g.column_name, g.srs_id FROM gpkg_geometry_columns g \
         JOIN gpkg_contents c ON c.table_name = g.table_name \
         WHERE c.data_type = 'features' ORDER BY g.table_name",
    )?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<(String, String, i64)>, _>>()?;
    let mut out = Vec::new();
    for (t, c, s) in rows {
        if has_table(&tables, &t) && has_column(conn, &t, &c)? {
            out.push((t, c, s));
        }
    }
    Ok(out)
}

/// The SRS id in a geometry blob's header (bytes 4..8, in the flags' byte order).
fn blob_srs_id(blob: &[u8]) -> Option<i32> {
    let raw: [u8; 4] = blob.get(4..8)?.try_into().ok()?;
    Some(if blob.get(3)? & 1 == 1 {
        i32::from_le_bytes(raw)
    } else {
        i32::from_be_bytes(raw)
    })
}

/// Whether a blob holds an empty geometry (flags bit 4, or nothing in the WKB).
fn blob_is_empty(blob: &[u8], g: &geo::Geometry<f64>) -> bool {
    use geo::BoundingRect;
    blob.get(3).is_some_and(|f| f & 0x10 != 0) || g.bounding_rect().is_none()
}

/// By feature table (table, geometry column): the ids of the features that
/// should be in its spatial index (a valid, non-empty geometry), and those
/// whose blob is broken (reported as such, not judged again by the index check).
type Indexed = Vec<(String, String, BTreeSet<i64>, BTreeSet<i64>)>;

fn geometries(path: &Path, conn: &Connection) -> (CheckItem, Indexed) {
    let mut problems = Problems::default();
    let mut indexed = Vec::new();
    let mut blobs = 0usize;
    let mut run = |problems: &mut Problems| -> Result<(), GpkgError> {
        for (table, column, srs_id) in feature_tables(conn)? {
            let fid = pk_column(conn, &table)?;
            let mut st = conn.prepare(&format!(
                "SELECT {}, {} FROM {}",
                q(&fid),
                q(&column),
                q(&table)
            ))?;
            let mut rows = st.query([])?;
            let mut ids = BTreeSet::new();
            let mut broken = BTreeSet::new();
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let blob = match row.get_ref(1)? {
                    ValueRef::Null => continue,
                    ValueRef::Blob(b) => b,
                    other => {
                        problems.push(format!(
                            "layer '{table}' feature {id}: the geometry is {:?}, not a blob",
                            other.data_type()
                        ));
                        continue;
                    }
                };
                blobs += 1;
                match decode_gpkg_geometry(blob) {
                    Err(e) => {
                        broken.insert(id);
                        problems.push(format!(
                            "layer '{table}' feature {id}: broken geometry blob: {e}"
                        ));
                    }
                    Ok(g) => {
                        let blob_srs = blob_srs_id(blob);
                        if blob_srs.map(i64::from) != Some(srs_id) {
                            problems.push(format!(
                                "layer '{table}' feature {id}: the geometry's SRS id {} is not \
                                 the column's ({srs_id})",
                                blob_srs.map_or_else(|| "?".into(), |s| s.to_string())
                            ));
                        }
                        if !blob_is_empty(blob, &g) {
                            ids.insert(id);
                        }
                    }
                }
            }
            indexed.push((table, column, ids, broken));
        }
        Ok(())
    };
    if let Err(e) = run(&mut problems) {
        problems.push(sql_reason(path, e));
    }
    (
        item(
            "geometries",
            format!("{blobs} geometry blobs parse, each with its column's SRS id"),
            problems,
        ),
        indexed,
    )
}

/// `a, b, c` of at most 5 ids, then `...`.
fn id_list(ids: &[i64]) -> String {
    let mut s: Vec<String> = ids.iter().take(5).map(ToString::to_string).collect();
    if ids.len() > 5 {
        s.push("...".into());
    }
    s.join(", ")
}

fn spatial_indexes(path: &Path, conn: &Connection, indexed: &Indexed) -> CheckItem {
    let mut problems = Problems::default();
    let mut checked = 0usize;
    let run = |problems: &mut Problems, checked: &mut usize| -> Result<(), GpkgError> {
        let tables = table_names(conn)?;
        if !has_table(&tables, "gpkg_extensions") {
            return Ok(());
        }
        let mut st = conn.prepare(
            "SELECT table_name, column_name FROM gpkg_extensions \
             WHERE extension_name = 'gpkg_rtree_index' ORDER BY table_name",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (table, column) in rows {
            let (Some(table), Some(column)) = (table, column) else {
                problems.push("a gpkg_rtree_index row of gpkg_extensions names no table");
                continue;
            };
            let rtree = format!("rtree_{table}_{column}");
            if !has_table(&tables, &rtree) {
                problems.push(format!(
                    "layer '{table}': gpkg_extensions declares its spatial index but {rtree} does not exist"
                ));
                continue;
            }
            let Some((_, _, want, broken)) = indexed.iter().find(|(t, c, _, _)| {
                t.eq_ignore_ascii_case(&table) && c.eq_ignore_ascii_case(&column)
            }) else {
                problems.push(format!(
                    "{rtree}: indexes '{table}.{column}', which is not a feature table's geometry column"
                ));
                continue;
            };
            let mut st = conn.prepare(&format!("SELECT id FROM {}", q(&rtree)))?;
            let have = st
                .query_map([], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            let have: Vec<i64> = have.into_iter().filter(|id| !broken.contains(id)).collect();
            let n = have.len();
            let have: BTreeSet<i64> = have.into_iter().collect();
            *checked += 1;
            let not_indexed: Vec<i64> = want.difference(&have).copied().collect();
            let stale: Vec<i64> = have.difference(want).copied().collect();
            if n != want.len() || !not_indexed.is_empty() || !stale.is_empty() {
                let mut p = format!(
                    "layer '{table}': {rtree} has {n} entries for {} features with a geometry",
                    want.len()
                );
                if !not_indexed.is_empty() {
                    let _ = write!(p, "; not indexed: feature {}", id_list(&not_indexed));
                }
                if !stale.is_empty() {
                    let _ = write!(p, "; entries of no feature: {}", id_list(&stale));
                }
                if n != have.len() {
                    p.push_str("; duplicate ids");
                }
                problems.push(p);
            }
        }
        Ok(())
    };
    if let Err(e) = run(&mut problems, &mut checked) {
        problems.push(sql_reason(path, e));
    }
    item(
        "spatial indexes",
        format!("{checked} R-trees, each indexing exactly the features with a geometry"),
        problems,
    )
}

fn consent(path: &Path, conn: &Connection) -> CheckItem {
    let mut problems = Problems::default();
    let mut summary = Vec::new();
    let run = |problems: &mut Problems, summary: &mut Vec<String>| -> Result<(), GpkgError> {
        let tables = table_names(conn)?;
        if !has_table(&tables, "chaski_layers") {
            return Ok(());
        }
        for name in strings(
            conn,
            "SELECT name FROM chaski_layers WHERE kind = 'households' ORDER BY name",
        )? {
            if !has_table(&tables, &name) {
                continue; // reported by the GeoPackage check
            }
            let mut st = conn.prepare(&format!("PRAGMA table_info({})", q(&name)))?;
            let cols = st
                .query_map([], |r| r.get::<_, String>(1))?
                .collect::<Result<Vec<_>, _>>()?;
            for c in &cols {
                if let Some(what) = crate::households::personal_identifier(c) {
                    problems.push(format!(
                        "household layer '{name}': column '{c}' looks like {what}; household \
                         layers hold codes, never names or identifiers"
                    ));
                }
            }
            if !cols.iter().any(|c| c == "consent") {
                problems.push(format!("household layer '{name}' has no consent column"));
                continue;
            }
            let fid = pk_column(conn, &name)?;
            let mut st = conn.prepare(&format!(
                "SELECT {fid}, consent FROM {t} WHERE consent IS NOT 1 ORDER BY {fid}",
                fid = q(&fid),
                t = q(&name)
            ))?;
            let bad = st
                .query_map([], |r| {
                    let v = match r.get_ref(1)? {
                        ValueRef::Null => "missing",
                        ValueRef::Integer(0) => "no",
                        _ => "not yes",
                    };
                    Ok((r.get::<_, i64>(0)?, v))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let total: i64 =
                conn.query_row(&format!("SELECT count(*) FROM {}", q(&name)), [], |r| {
                    r.get(0)
                })?;
            for what in ["no", "missing", "not yes"] {
                let ids: Vec<i64> = bad.iter().filter(|b| b.1 == what).map(|b| b.0).collect();
                if !ids.is_empty() {
                    problems.push(format!(
                        "household layer '{name}': {} record(s) stored with consent {what} \
                         (feature {}): households are stored only with the family's consent",
                        ids.len(),
                        id_list(&ids)
                    ));
                }
            }
            summary.push(format!("'{name}': {total} records"));
        }
        Ok(())
    };
    if let Err(e) = run(&mut problems, &mut summary) {
        problems.push(sql_reason(path, e));
    }
    let detail = if summary.is_empty() {
        "no household layer".to_owned()
    } else {
        format!(
            "every household record has consent = yes, no personal identifier column ({})",
            summary.join(", ")
        )
    };
    item("household consent", detail, problems)
}

fn schema_version(path: &Path, conn: &Connection) -> CheckItem {
    let mut problems = Problems::default();
    let mut detail = String::new();
    match stored_version(conn) {
        Ok(v) if v == SCHEMA_VERSION => {
            detail = format!("schema version {v} (this chaski's)");
        }
        Ok(v) if v > SCHEMA_VERSION => problems.push(newer_message(v)),
        Ok(v) => problems.push(format!(
            "schema version {v} is older than this chaski's ({SCHEMA_VERSION}): opening the \
             store with chaski (for example `chaski summary`) upgrades it"
        )),
        Err(e) => problems.push(sql_reason(path, e.into())),
    }
    item("schema version", detail, problems)
}
