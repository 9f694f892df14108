//! Layer tables: writing (replace, append, upsert), reading and editing the
//! features of a layer, and listing the layers.

use super::codec::{GeometryBlobError, decode_gpkg_geometry, encode_gpkg_geometry};
use super::error::GpkgError;
use super::meta::{
    Meta, bump_version, count_rows, finish_layer_write, load_meta, parse_fields, parse_kind,
    table_exists, to_version,
};
use super::rtree::{REBUILD_RTREE_AT, bulk_load_rtree, create_triggers, drop_rtree, scan_bounds};
use super::sql::{
    Sv, all_some, code_key, col_list, column_names, insert_sql, q, read_value, read_value_into,
    rtree_name, sql_type, stored_code_key, union, update_sql, write_row,
};
use super::srs::SRS_ID;
use chaski_core::layer::{Feature, GeometryType, Layer, LayerKind};
use chaski_core::store::{
    EditFn, EditScope, EditSummary, LayerInfo, StoreError, UpsertKeys, WriteMode, WriteSummary,
    check_kind, merge_fields,
};
use chaski_core::value::{Field, Value};
use geo::{Geometry, GeometryCollection, LineString, MultiLineString, MultiPolygon};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::HashMap;
use std::fmt::Write as _;

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

/// Drop a layer's tables and GeoPackage registrations (the triggers go with the table).
pub(super) fn drop_layer(conn: &Connection, name: &str) -> Result<(), GpkgError> {
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

fn geometry_error(layer: &str, index: usize, e: &GeometryBlobError) -> GpkgError {
    GpkgError::Store(StoreError::Conflict {
        layer: layer.to_owned(),
        reason: format!("feature {} cannot be stored: {e}", index + 1),
    })
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

/// What an append or upsert did.
struct Merged {
    inserted: usize,
    updated: usize,
    bounds: Option<[f64; 4]>,
    fields: Vec<Field>,
}

/// Append or upsert into an existing layer.
fn merge_into_layer(
    conn: &Connection,
    layer: &Layer,
    mode: WriteMode,
    old: &Meta,
) -> Result<Merged, GpkgError> {
    let name = &layer.name;
    let geometry_type = layer.kind.geometry_type();
    check_kind(name, old.kind, layer.kind, false)?;
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

/// Write a layer (replace, append or upsert) in one IMMEDIATE transaction.
pub(super) fn write_layer_tx(
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

/// Read a layer, all its fields or `only` these, with its geometries or
/// without them (`geometry` false: the geometry column is not selected), in
/// one transaction.
pub(super) fn read_layer_tx(
    conn: &mut Connection,
    name: &str,
    only: Option<&[&str]>,
    geometry: bool,
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
    let layer = read_layer_rows(&tx, name, meta, &cols, EditScope::All, geometry)?;
    tx.commit()?;
    Ok(layer)
}

/// The rows of a layer's columns `only`, without geometries, one at a time
/// (see [`chaski_core::store::Store::scan_layer_columns`]): one feature's
/// buffers, text included, are reused from row to row.
pub(super) fn scan_layer_tx(
    conn: &mut Connection,
    name: &str,
    only: &[&str],
    row: &mut chaski_core::store::RowFn<'_>,
) -> Result<usize, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let (header, cols) = scan_header(&tx, name, only)?;
    let n = scan_rows(&tx, &header, &cols, (i64::MIN, i64::MAX), row)?;
    tx.commit()?;
    Ok(n)
}

/// The header (no features) of a scan of `only` and the selected columns.
fn scan_header(
    conn: &Connection,
    name: &str,
    only: &[&str],
) -> Result<(Layer, Vec<String>), GpkgError> {
    let mut meta = load_meta(conn, name)?.ok_or_else(|| StoreError::NotFound(name.to_owned()))?;
    let mut cols = column_names(&meta.fields);
    let keep = chaski_core::store::FieldSelection::new(&meta.fields, only);
    keep.apply(&mut cols);
    keep.apply(&mut meta.fields);
    let header = Layer {
        name: name.to_owned(),
        kind: meta.kind,
        fields: meta.fields,
        features: Vec::new(),
    };
    Ok((header, cols))
}

/// The rows of `header`'s layer with fids in `range` (both ends included),
/// in fid order, columns `cols`, inside the caller's transaction.
fn scan_rows(
    conn: &Connection,
    header: &Layer,
    cols: &[String],
    range: (i64, i64),
    row: &mut chaski_core::store::RowFn<'_>,
) -> Result<usize, GpkgError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT \"fid\"{} FROM {} WHERE \"fid\" BETWEEN ?1 AND ?2 ORDER BY \"fid\"",
        col_list(cols),
        q(&header.name)
    ))?;
    let mut rows = stmt.query(params![range.0, range.1])?;
    let mut feature = Feature {
        fid: 0,
        geometry: chaski_core::store::no_geometry(),
        values: vec![Value::Null; header.fields.len()],
    };
    let mut n = 0;
    while let Some(r) = rows.next()? {
        feature.fid = r.get(0)?;
        for (j, f) in header.fields.iter().enumerate() {
            read_value_into(&mut feature.values[j], r.get_ref(j + 1)?, f.ty);
        }
        row(header, &feature);
        n += 1;
    }
    Ok(n)
}

/// The store's data version, read inside the caller's transaction (which
/// fixes its snapshot).
fn data_version(conn: &Connection) -> Result<i64, GpkgError> {
    Ok(conn
        .query_row(
            "SELECT value FROM chaski_meta WHERE key = 'version'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Fewest rows (by fid span) of a part of a parallel scan: smaller layers
/// are read on one connection, where threads and connections would cost more
/// than they save.
const MIN_PART_ROWS: i64 = 20_000;

/// How a parallel scan ended.
pub(super) enum PartsScan {
    /// Every part read, this many rows in all.
    Done(usize),
    /// No row was given to any part: the connections could not be opened or
    /// read another data version; try again, or scan on one connection.
    NotStarted,
    /// No row was given to any part: the layer is too small to split.
    Small,
}

/// [`chaski_core::store::Store::scan_layer_columns_parts`] on the file at
/// `path`: each part on a read-only connection of its own in a scoped
/// thread, `conn` holding the data version they must all read. Every
/// connection opens its read transaction and reads the data version before
/// any row is given out; only when all read `conn`'s version do the parts
/// scan their fid ranges (the rows split evenly between the smallest and
/// largest fid).
pub(super) fn scan_layer_parts_tx(
    conn: &mut Connection,
    path: &std::path::Path,
    name: &str,
    only: &[&str],
    parts: &mut [&mut chaski_core::store::PartFn<'_>],
) -> Result<PartsScan, GpkgError> {
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicBool, Ordering};
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let (header, cols) = scan_header(&tx, name, only)?;
    let version = data_version(&tx)?;
    let (lo, hi): (Option<i64>, Option<i64>) = tx.query_row(
        // Two subqueries: SQLite answers each from the end of the table's
        // b-tree, where `min(fid), max(fid)` in one SELECT reads every row.
        &format!(
            "SELECT (SELECT min(\"fid\") FROM {0}), (SELECT max(\"fid\") FROM {0})",
            q(name)
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let k = i64::try_from(parts.len()).unwrap_or(1).max(1);
    // Part j: fids from starts[j] to starts[j + 1] - 1.
    let (lo, hi) = (lo.unwrap_or(0), hi.unwrap_or(0));
    if hi.saturating_sub(lo) < MIN_PART_ROWS.saturating_mul(k) {
        tx.commit()?;
        return Ok(PartsScan::Small);
    }
    let step = (hi.saturating_sub(lo) / k).max(1);
    let mut starts: Vec<i64> = (0..k).map(|j| lo.saturating_add(j * step)).collect();
    starts[0] = i64::MIN;
    let range = |j: usize| {
        let end = starts.get(j + 1).map_or(i64::MAX, |s| s - 1);
        (starts[j], end)
    };
    let agreed = AtomicBool::new(true);
    // Every part on a connection of its own (SQLite's small default page
    // cache: a scan reads each page once), this thread waiting.
    let barrier = Barrier::new(parts.len() + 1);
    let out = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter_mut()
            .enumerate()
            .map(|(i, part)| {
                let (header, cols, agreed, barrier) = (&header, &cols, &agreed, &barrier);
                let r = range(i);
                scope.spawn(move || -> Result<usize, GpkgError> {
                    let open = || -> Result<Connection, GpkgError> {
                        let c = Connection::open_with_flags(
                            path,
                            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                                | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                        )?;
                        c.busy_timeout(std::time::Duration::from_secs(10))?;
                        c.execute_batch("BEGIN DEFERRED")?;
                        if data_version(&c)? != version {
                            return Err(GpkgError::Corrupt("another data version".into()));
                        }
                        Ok(c)
                    };
                    let c = open();
                    if c.is_err() {
                        agreed.store(false, Ordering::SeqCst);
                    }
                    barrier.wait();
                    let c = c?;
                    if !agreed.load(Ordering::SeqCst) {
                        return Ok(0);
                    }
                    let n = scan_rows(&c, header, cols, r, &mut **part)?;
                    c.execute_batch("COMMIT")?;
                    Ok(n)
                })
            })
            .collect();
        barrier.wait();
        let started = agreed.load(Ordering::SeqCst);
        let mut total = 0;
        let mut failure = None;
        for h in handles {
            match h.join() {
                Ok(Ok(n)) => total += n,
                Ok(Err(e)) => failure = failure.or(Some(e)),
                Err(_) => {
                    failure = failure.or(Some(GpkgError::Corrupt(
                        "a reading thread stopped unexpectedly".into(),
                    )));
                }
            }
        }
        match (started, failure) {
            (false, _) => Ok(PartsScan::NotStarted),
            (true, Some(e)) => Err(e),
            (true, None) => Ok(PartsScan::Done(total)),
        }
    });
    tx.commit()?;
    out
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

/// The features of a layer in `scope`, inside the caller's transaction; with
/// `geometry` false the geometry column is neither selected nor decoded (every
/// feature gets [`chaski_core::store::no_geometry`]).
fn read_layer_rows(
    conn: &Connection,
    name: &str,
    meta: Meta,
    cols: &[String],
    scope: EditScope<'_>,
    geometry: bool,
) -> Result<Layer, GpkgError> {
    let col_list = col_list(cols);
    let geom_col = if geometry { "\"geom\"" } else { "NULL" };
    let mut features = Vec::new();
    {
        let filter = scope_sql(&meta.fields, scope);
        let mut stmt = conn.prepare(&format!(
            "SELECT \"fid\", {geom_col}{col_list} FROM {} {} ORDER BY \"fid\"",
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
pub(super) fn edit_layer_tx(
    conn: &mut Connection,
    name: &str,
    kind: LayerKind,
    scope: EditScope<'_>,
    edit: &mut EditFn<'_>,
) -> Result<Option<EditSummary>, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let meta = load_meta(&tx, name)?;
    if let Some(m) = &meta {
        check_kind(name, m.kind, kind, true)?;
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
            true,
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

/// The layers' names and kinds, in name order (see
/// [`chaski_core::store::Store::layer_kinds`]).
pub(super) fn layer_kinds(conn: &mut Connection) -> Result<Vec<(String, LayerKind)>, GpkgError> {
    let mut stmt = conn.prepare("SELECT name, kind FROM chaski_layers ORDER BY name")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let kind = parse_kind(&name, &r.get::<_, String>(1)?)?;
        out.push((name, kind));
    }
    Ok(out)
}

/// The infos of every layer, or of layer `only`, in name order.
pub(super) fn layer_infos(
    conn: &mut Connection,
    only: Option<&str>,
) -> Result<Vec<LayerInfo>, GpkgError> {
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

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact, representable coordinates
mod tests {
    use super::*;
    use crate::store::gpkg::GpkgStore;
    use crate::store::gpkg::test_support::*;
    use chaski_core::store::Store;
    use chaski_core::store::memory::MemoryStore;
    use chaski_core::value::{FieldType, Value};
    use geo::{MultiPoint, coord, line_string, point, polygon};
    use std::process::Command;

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
    /// `cargo test -p chaski-io --release --lib store::gpkg::layers::tests::perf -- --ignored --nocapture`
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
