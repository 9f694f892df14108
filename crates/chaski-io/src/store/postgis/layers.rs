//! The layer tables: read, written (replace, append, upsert), edited and
//! dropped, each write in one transaction.

use super::error::{PgResult, PostgisError};
use super::geom::{Ewkb, from_wkb, to_ewkb};
use super::values::{Cell, column_names, pg_type, q, read_cell, sql_type, to_cell};
use super::{Names, bump_version, read_version};
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::{
    EditFn, EditScope, EditSummary, FieldSelection, LayerInfo, StoreError, UpsertKeys, WriteMode,
    WriteSummary, check_kind, layer_bounds, merge_fields,
};
use chaski_core::value::{Field, Value};
use geo::CoordsIter;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, IsolationLevel, Transaction};
use std::collections::{BTreeSet, HashMap};

/// Writes of at least this many rows are followed by `ANALYZE` of the table.
const ANALYZE_ROWS: usize = 10_000;

/// What `chaski_layers` holds of a layer.
#[derive(Debug, Clone)]
struct Meta {
    kind: LayerKind,
    fields: Vec<Field>,
    columns: Vec<String>,
    feature_count: u64,
    bounds: Option<[f64; 4]>,
    version: u64,
}

fn corrupt(name: &str, what: impl std::fmt::Display) -> PostgisError {
    PostgisError::Corrupt(format!("chaski_layers row '{name}': {what}"))
}

fn meta_of(row: &postgres::Row) -> PgResult<(String, Meta)> {
    let name: String = row.try_get(0)?;
    let kind: String = row.try_get(1)?;
    let fields: String = row.try_get(2)?;
    let columns: String = row.try_get(3)?;
    let bounds: Option<Vec<f64>> = row.try_get(5)?;
    let meta = Meta {
        kind: kind.parse().map_err(|e| corrupt(&name, e))?,
        fields: serde_json::from_str(&fields).map_err(|e| corrupt(&name, e))?,
        columns: serde_json::from_str(&columns).map_err(|e| corrupt(&name, e))?,
        feature_count: u64::try_from(row.try_get::<_, i64>(4)?).unwrap_or(0),
        bounds: bounds.and_then(|b| <[f64; 4]>::try_from(b).ok()),
        version: u64::try_from(row.try_get::<_, i64>(6)?).unwrap_or(0),
    };
    if meta.columns.len() != meta.fields.len() {
        return Err(corrupt(&name, "fields and columns differ in number"));
    }
    Ok((name, meta))
}

const META_COLUMNS: &str = "name, kind, fields, columns, feature_count, bounds, version";

fn load_meta(c: &mut impl GenericClient, n: &Names, name: &str) -> PgResult<Option<Meta>> {
    let row = c.query_opt(
        &format!("SELECT {META_COLUMNS} FROM {} WHERE name = $1", n.layers()),
        &[&name],
    )?;
    row.map(|r| meta_of(&r).map(|(_, m)| m)).transpose()
}

/// Info on every layer (or only `only`), in name order.
pub(super) fn layer_infos(
    c: &mut postgres::Client,
    n: &Names,
    only: Option<&str>,
) -> PgResult<Vec<LayerInfo>> {
    let rows = match only {
        Some(name) => c.query(
            &format!("SELECT {META_COLUMNS} FROM {} WHERE name = $1", n.layers()),
            &[&name],
        )?,
        None => c.query(
            &format!("SELECT {META_COLUMNS} FROM {} ORDER BY name", n.layers()),
            &[],
        )?,
    };
    rows.iter()
        .map(|r| {
            let (name, m) = meta_of(r)?;
            Ok(LayerInfo {
                name,
                kind: m.kind,
                geometry_type: m.kind.geometry_type(),
                fields: m.fields,
                feature_count: usize::try_from(m.feature_count).unwrap_or(usize::MAX),
                bounds: m.bounds,
                version: m.version,
            })
        })
        .collect()
}

/// Whether a table of that name exists in the store's schema.
fn table_exists(c: &mut impl GenericClient, n: &Names, name: &str) -> PgResult<bool> {
    Ok(
        c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&n.table(name)])?
            .get(0),
    )
}

/// Take the store's write lock (the version row) for this transaction.
fn lock_store(tx: &mut Transaction<'_>, n: &Names) -> PgResult<()> {
    tx.query_one(
        &format!("SELECT version FROM {} WHERE id = 1 FOR UPDATE", n.meta()),
        &[],
    )?;
    Ok(())
}

/// Read a layer (all its fields or `only` these; with its geometries or, with
/// `geometry` false, without selecting them) from one snapshot.
pub(super) fn read_layer(
    c: &mut postgres::Client,
    n: &Names,
    name: &str,
    only: Option<&[&str]>,
    geometry: bool,
) -> PgResult<Layer> {
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let mut meta = load_meta(&mut tx, n, name)?.ok_or_else(|| StoreError::NotFound(name.into()))?;
    if let Some(only) = only {
        let keep = FieldSelection::new(&meta.fields, only);
        keep.apply(&mut meta.columns);
        keep.apply(&mut meta.fields);
    }
    let features = read_rows(&mut tx, n, name, &meta, EditScope::All, geometry)?;
    tx.commit()?;
    Ok(Layer {
        name: name.to_owned(),
        kind: meta.kind,
        fields: meta.fields,
        features,
    })
}

/// The features of `scope`, in fid order; with `geometry` false the geometry
/// column is not selected (every feature gets
/// [`chaski_core::store::no_geometry`]).
fn read_rows(
    c: &mut impl GenericClient,
    n: &Names,
    name: &str,
    meta: &Meta,
    scope: EditScope<'_>,
    geometry: bool,
) -> PgResult<Vec<Feature>> {
    let cols = meta
        .columns
        .iter()
        .map(|c| format!(", {}", q(c)))
        .collect::<Vec<_>>()
        .concat();
    let (filter, param) = match scope {
        EditScope::All => (String::new(), None),
        EditScope::FieldEquals { field, value } => {
            match meta.fields.iter().position(|f| f.name == field) {
                Some(i) => (
                    format!("WHERE btrim({}::text) = $1", q(&meta.columns[i])),
                    Some(value.to_owned()),
                ),
                None => ("WHERE false".to_owned(), None),
            }
        }
    };
    let sql = format!(
        "SELECT fid, {}{cols} FROM {} {filter} ORDER BY fid",
        if geometry {
            "ST_AsBinary(geom)"
        } else {
            "NULL::bytea"
        },
        n.table(name)
    );
    let rows = match &param {
        Some(p) => c.query(&sql, &[p])?,
        None => c.query(&sql, &[])?,
    };
    let mut features = Vec::with_capacity(rows.len());
    for row in rows {
        let fid: i64 = row.try_get(0)?;
        let geometry = if geometry {
            let wkb: &[u8] = row.try_get(1)?;
            from_wkb(wkb)
                .map_err(|e| PostgisError::Corrupt(format!("layer '{name}', feature {fid}: {e}")))?
        } else {
            chaski_core::store::no_geometry()
        };
        let mut values = Vec::with_capacity(meta.fields.len());
        for (j, f) in meta.fields.iter().enumerate() {
            values.push(read_cell(&row, j + 2, f.ty)?.into_value());
        }
        features.push(Feature {
            fid,
            geometry,
            values,
        });
    }
    Ok(features)
}

/// The type of `geometry` columns in this database (PostGIS's type has no fixed OID).
fn geometry_type(tx: &mut Transaction<'_>) -> PgResult<Type> {
    Ok(tx.prepare("SELECT NULL::geometry")?.columns()[0]
        .type_()
        .clone())
}

/// A feature ready to write: its fid, EWKB and one cell per column.
struct Row {
    fid: i64,
    ewkb: Ewkb,
    cells: Vec<Cell>,
}

/// The row of `f` (values in `from` field order) for the columns of `to`.
fn row_of(
    layer: &str,
    f: &Feature,
    fid: i64,
    from: &[Field],
    to: &[Field],
) -> Result<Row, PostgisError> {
    if !f
        .geometry
        .coords_iter()
        .all(|c| c.x.is_finite() && c.y.is_finite())
    {
        return Err(StoreError::Conflict {
            layer: layer.to_owned(),
            reason: format!("feature {fid}: the geometry has a non-finite coordinate"),
        }
        .into());
    }
    let ewkb = to_ewkb(&f.geometry).map_err(|e| StoreError::Conflict {
        layer: layer.to_owned(),
        reason: format!("feature {fid}: {e}"),
    })?;
    let cells = to
        .iter()
        .map(|t| {
            let v = from
                .iter()
                .position(|x| x.name == t.name)
                .and_then(|i| f.values.get(i))
                .unwrap_or(&Value::Null);
            to_cell(layer, t, v)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Row {
        fid,
        ewkb: Ewkb(ewkb),
        cells,
    })
}

/// Insert `rows` with binary COPY.
fn copy_rows(
    tx: &mut Transaction<'_>,
    n: &Names,
    name: &str,
    meta_fields: &[Field],
    columns: &[String],
    rows: &[Row],
) -> PgResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut types = vec![Type::INT8, geometry_type(tx)?];
    types.extend(meta_fields.iter().map(|f| pg_type(f.ty)));
    let cols = columns
        .iter()
        .map(|c| format!(", {}", q(c)))
        .collect::<Vec<_>>()
        .concat();
    let sink = tx.copy_in(&format!(
        "COPY {} (fid, geom{cols}) FROM STDIN (FORMAT binary)",
        n.table(name)
    ))?;
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    let mut refs: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(types.len());
    for r in rows {
        refs.clear();
        refs.push(&r.fid);
        refs.push(&r.ewkb);
        refs.extend(r.cells.iter().map(|c| c as &(dyn ToSql + Sync)));
        writer.write(&refs)?;
    }
    writer.finish()?;
    Ok(())
}

/// Overwrite the geometry and every column of stored rows.
fn update_rows(
    tx: &mut Transaction<'_>,
    n: &Names,
    name: &str,
    columns: &[String],
    rows: &[Row],
) -> PgResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sets = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!(", {} = ${}", q(c), i + 3))
        .collect::<Vec<_>>()
        .concat();
    let stmt = tx.prepare(&format!(
        "UPDATE {} SET geom = $2{sets} WHERE fid = $1",
        n.table(name)
    ))?;
    let mut refs: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(columns.len() + 2);
    for r in rows {
        refs.clear();
        refs.push(&r.fid);
        refs.push(&r.ewkb);
        refs.extend(r.cells.iter().map(|c| c as &(dyn ToSql + Sync)));
        tx.execute(&stmt, &refs)?;
    }
    Ok(())
}

/// Create the table of a layer (no index yet: see [`index_table`]).
fn create_table(
    tx: &mut Transaction<'_>,
    n: &Names,
    name: &str,
    fields: &[Field],
) -> PgResult<Vec<String>> {
    let columns = column_names(fields);
    let cols = columns
        .iter()
        .zip(fields)
        .map(|(c, f)| format!(", {} {}", q(c), sql_type(f.ty)))
        .collect::<Vec<_>>()
        .concat();
    tx.batch_execute(&format!(
        "CREATE TABLE {} (fid bigint PRIMARY KEY, geom geometry(Geometry, {}) NOT NULL{cols})",
        n.table(name),
        super::geom::SRID
    ))?;
    Ok(columns)
}

/// The GiST index of a layer's geometries.
fn index_table(tx: &mut Transaction<'_>, n: &Names, name: &str) -> PgResult<()> {
    tx.batch_execute(&format!(
        "CREATE INDEX ON {} USING GIST (geom)",
        n.table(name)
    ))?;
    Ok(())
}

/// Add the columns of `fields` beyond the `have` first ones.
fn add_columns(
    tx: &mut Transaction<'_>,
    n: &Names,
    name: &str,
    fields: &[Field],
    have: usize,
) -> PgResult<Vec<String>> {
    let columns = column_names(fields);
    for (c, f) in columns.iter().zip(fields).skip(have) {
        tx.batch_execute(&format!(
            "ALTER TABLE {} ADD COLUMN {} {}",
            n.table(name),
            q(c),
            sql_type(f.ty)
        ))?;
    }
    Ok(columns)
}

/// How the bounds of a layer are known after a write.
#[derive(Debug, Clone, Copy)]
enum Bounds {
    /// Exactly these (computed from the features written).
    Exact(Option<[f64; 4]>),
    /// Read again from the table (rows were updated or deleted).
    Recompute,
}

/// Record a layer's kind, fields, count, bounds and version.
#[allow(clippy::too_many_arguments)]
fn save_meta(
    tx: &mut Transaction<'_>,
    n: &Names,
    name: &str,
    kind: LayerKind,
    fields: &[Field],
    columns: &[String],
    bounds: Bounds,
    version: u64,
) -> PgResult<()> {
    let table = n.table(name);
    let count: i64 = tx
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])?
        .get(0);
    let bounds: Option<Vec<f64>> = match bounds {
        Bounds::Exact(b) => b.map(|b| b.to_vec()),
        Bounds::Recompute => {
            let row = tx.query_one(
                &format!(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) \
                     FROM (SELECT ST_Extent(geom) AS e FROM {table}) x"
                ),
                &[],
            )?;
            match (row.get(0), row.get(1), row.get(2), row.get(3)) {
                (Some(x0), Some(y0), Some(x1), Some(y1)) => Some(vec![x0, y0, x1, y1]),
                _ => None,
            }
        }
    };
    let fields_json = serde_json::to_string(fields).map_err(|e| corrupt(name, e))?;
    let columns_json = serde_json::to_string(columns).map_err(|e| corrupt(name, e))?;
    tx.execute(
        &format!(
            "INSERT INTO {} ({META_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (name) DO UPDATE SET kind = EXCLUDED.kind, fields = EXCLUDED.fields, \
             columns = EXCLUDED.columns, feature_count = EXCLUDED.feature_count, \
             bounds = EXCLUDED.bounds, version = EXCLUDED.version",
            n.layers()
        ),
        &[
            &name,
            &kind.as_str(),
            &fields_json,
            &columns_json,
            &count,
            &bounds,
            &i64::try_from(version).unwrap_or(i64::MAX),
        ],
    )?;
    Ok(())
}

/// A conflict when a table of that name exists without being a chaski layer.
fn check_unmanaged(tx: &mut Transaction<'_>, n: &Names, name: &str) -> PgResult<()> {
    if table_exists(tx, n, name)? {
        return Err(StoreError::Conflict {
            layer: name.to_owned(),
            reason: "the database already has a table of that name not managed by chaski".into(),
        }
        .into());
    }
    Ok(())
}

/// Write a layer (replace, append or upsert) in one transaction.
pub(super) fn write_layer(
    c: &mut postgres::Client,
    n: &Names,
    layer: &Layer,
    mode: WriteMode,
) -> PgResult<WriteSummary> {
    let mut tx = c.transaction()?;
    lock_store(&mut tx, n)?;
    let old = load_meta(&mut tx, n, &layer.name)?;
    if old.is_none() {
        check_unmanaged(&mut tx, n, &layer.name)?;
    }
    let version = bump_version(&mut tx, n)?;
    let mut summary = WriteSummary {
        version,
        ..WriteSummary::default()
    };
    let name = layer.name.as_str();
    match (mode, old) {
        (WriteMode::Replace, old) | (_, old @ None) => {
            if let Some(old) = old {
                summary.removed = usize::try_from(old.feature_count).unwrap_or(0);
                tx.batch_execute(&format!("DROP TABLE {}", n.table(name)))?;
            }
            let columns = create_table(&mut tx, n, name, &layer.fields)?;
            let rows = layer
                .features
                .iter()
                .zip(1..)
                .map(|(f, fid)| row_of(name, f, fid, &layer.fields, &layer.fields))
                .collect::<Result<Vec<_>, _>>()?;
            copy_rows(&mut tx, n, name, &layer.fields, &columns, &rows)?;
            index_table(&mut tx, n, name)?;
            if rows.len() >= ANALYZE_ROWS {
                tx.batch_execute(&format!("ANALYZE {}", n.table(name)))?;
            }
            summary.inserted = rows.len();
            save_meta(
                &mut tx,
                n,
                name,
                layer.kind,
                &layer.fields,
                &columns,
                Bounds::Exact(layer_bounds(layer)),
                version,
            )?;
        }
        (mode, Some(old)) => {
            check_kind(name, old.kind, layer.kind, false)?;
            let fields = merge_fields(name, &old.fields, &layer.fields)?;
            let columns = add_columns(&mut tx, n, name, &fields, old.fields.len())?;
            let (inserted, updated) =
                merge_rows(&mut tx, n, layer, mode, old.kind, &fields, &columns)?;
            summary.inserted = inserted;
            summary.updated = updated;
            let bounds = if updated > 0 {
                Bounds::Recompute
            } else {
                Bounds::Exact(union(old.bounds, layer_bounds(layer)))
            };
            save_meta(
                &mut tx, n, name, old.kind, &fields, &columns, bounds, version,
            )?;
        }
    }
    tx.commit()?;
    Ok(summary)
}

/// The union of two bounds.
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

/// A key value of an upsert, hashable (reals by their bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyVal {
    Text(String),
    Int(i64),
    Real(u64),
    Bool(bool),
}

fn key_val(v: &Value) -> Option<KeyVal> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(KeyVal::Text(s.clone())),
        Value::Int(i) => Some(KeyVal::Int(*i)),
        Value::Real(f) => Some(KeyVal::Real(f.to_bits())),
        Value::Bool(b) => Some(KeyVal::Bool(*b)),
    }
}

/// Which features hold which key values: per key rank, the fids holding each
/// value (the first, lowest fid is the one matched, as the memory store does).
#[derive(Default)]
struct KeyIndex {
    by_rank: Vec<HashMap<KeyVal, BTreeSet<i64>>>,
    of_fid: HashMap<i64, Vec<Option<KeyVal>>>,
}

impl KeyIndex {
    fn new(ranks: usize) -> Self {
        Self {
            by_rank: vec![HashMap::new(); ranks],
            of_fid: HashMap::new(),
        }
    }

    fn set(&mut self, fid: i64, keys: Vec<Option<KeyVal>>) {
        if let Some(old) = self.of_fid.remove(&fid) {
            for (rank, k) in old.into_iter().enumerate() {
                if let Some(k) = k
                    && let Some(set) = self.by_rank[rank].get_mut(&k)
                {
                    set.remove(&fid);
                }
            }
        }
        for (rank, k) in keys.iter().enumerate() {
            if let Some(k) = k {
                self.by_rank[rank].entry(k.clone()).or_default().insert(fid);
            }
        }
        self.of_fid.insert(fid, keys);
    }

    fn find(&self, rank: usize, key: &KeyVal) -> Option<i64> {
        self.by_rank[rank]
            .get(key)
            .and_then(|s| s.iter().next().copied())
    }
}

/// Append or upsert `layer`'s features into the stored table; (inserted, updated).
fn merge_rows(
    tx: &mut Transaction<'_>,
    n: &Names,
    layer: &Layer,
    mode: WriteMode,
    kind: LayerKind,
    fields: &[Field],
    columns: &[String],
) -> PgResult<(usize, usize)> {
    let name = layer.name.as_str();
    let table = n.table(name);
    let max_fid: i64 = tx
        .query_one(&format!("SELECT COALESCE(max(fid), 0) FROM {table}"), &[])?
        .get(0);
    let keys = UpsertKeys::new(kind, fields);
    let mut index = KeyIndex::new(keys.positions().len());
    if mode == WriteMode::Upsert && !keys.positions().is_empty() {
        let key_cols = keys
            .positions()
            .iter()
            .map(|&i| format!(", {}", q(&columns[i])))
            .collect::<Vec<_>>()
            .concat();
        for row in tx.query(&format!("SELECT fid{key_cols} FROM {table}"), &[])? {
            let fid: i64 = row.try_get(0)?;
            let mut kv = Vec::with_capacity(keys.positions().len());
            for (j, &i) in keys.positions().iter().enumerate() {
                kv.push(key_val(&read_cell(&row, j + 1, fields[i].ty)?.into_value()));
            }
            index.set(fid, kv);
        }
    }
    let mut next_fid = max_fid + 1;
    let mut inserts: Vec<Row> = Vec::new();
    let mut updates: HashMap<i64, Row> = HashMap::new();
    let mut update_order: Vec<i64> = Vec::new();
    let mut updated = 0;
    for f in &layer.features {
        let row = row_of(name, f, 0, &layer.fields, fields)?;
        let values: Vec<Value> = row.cells.iter().cloned().map(Cell::into_value).collect();
        let row_keys: Vec<Option<KeyVal>> = keys
            .positions()
            .iter()
            .map(|&i| key_val(&values[i]))
            .collect();
        let matched = match (mode, keys.key_of(&values)) {
            (WriteMode::Upsert, Some((rank, key))) => {
                key_val(key).and_then(|k| index.find(rank, &k))
            }
            _ => None,
        };
        if let Some(fid) = matched {
            updated += 1;
            let row = Row { fid, ..row };
            if fid > max_fid {
                let at = usize::try_from(fid - max_fid - 1).unwrap_or(usize::MAX);
                inserts[at] = row;
            } else {
                if !updates.contains_key(&fid) {
                    update_order.push(fid);
                }
                updates.insert(fid, row);
            }
            if mode == WriteMode::Upsert {
                index.set(fid, row_keys);
            }
        } else {
            let fid = next_fid;
            next_fid += 1;
            if mode == WriteMode::Upsert {
                index.set(fid, row_keys);
            }
            inserts.push(Row { fid, ..row });
        }
    }
    let updates: Vec<Row> = update_order
        .into_iter()
        .filter_map(|fid| updates.remove(&fid))
        .collect();
    update_rows(tx, n, name, columns, &updates)?;
    copy_rows(tx, n, name, fields, columns, &inserts)?;
    Ok((inserts.len(), updated))
}

/// Read layer `name` in `scope` and write the changes `edit` computes, in
/// one transaction holding the store's write lock throughout.
pub(super) fn edit_layer(
    c: &mut postgres::Client,
    n: &Names,
    name: &str,
    kind: LayerKind,
    scope: EditScope<'_>,
    edit: &mut EditFn<'_>,
) -> PgResult<Option<EditSummary>> {
    let mut tx = c.transaction()?;
    lock_store(&mut tx, n)?;
    let meta = load_meta(&mut tx, n, name)?;
    if let Some(m) = &meta {
        check_kind(name, m.kind, kind, true)?;
    } else {
        check_unmanaged(&mut tx, n, name)?;
    }
    let stored = match &meta {
        Some(m) => Some(Layer {
            name: name.to_owned(),
            kind: m.kind,
            fields: m.fields.clone(),
            features: read_rows(&mut tx, n, name, m, scope, true)?,
        }),
        None => None,
    };
    let Some(ed) = edit(stored.as_ref()) else {
        return Ok(None);
    };
    let seen: BTreeSet<i64> = stored
        .as_ref()
        .map(|s| s.features.iter().map(|f| f.fid).collect())
        .unwrap_or_default();
    if let Some(fid) = ed
        .updates
        .iter()
        .map(|f| f.fid)
        .chain(ed.deletes.iter().copied())
        .find(|fid| !seen.contains(fid))
    {
        return Err(StoreError::Conflict {
            layer: name.to_owned(),
            reason: format!("feature {fid} is not stored or not in the edit's scope"),
        }
        .into());
    }
    if ed.is_empty() {
        let version = read_version(&mut tx, n)?;
        return Ok(Some(EditSummary {
            version,
            ..EditSummary::default()
        }));
    }
    let version = bump_version(&mut tx, n)?;
    let base_fields = meta.as_ref().map(|m| m.fields.clone()).unwrap_or_default();
    let fields = merge_fields(name, &base_fields, &ed.fields)?;
    let columns = if meta.is_some() {
        add_columns(&mut tx, n, name, &fields, base_fields.len())?
    } else {
        create_table(&mut tx, n, name, &fields)?
    };
    let table = n.table(name);
    let max_fid: i64 = tx
        .query_one(&format!("SELECT COALESCE(max(fid), 0) FROM {table}"), &[])?
        .get(0);
    let updates = ed
        .updates
        .iter()
        .map(|f| row_of(name, f, f.fid, &ed.fields, &fields))
        .collect::<Result<Vec<_>, _>>()?;
    update_rows(&mut tx, n, name, &columns, &updates)?;
    if !ed.deletes.is_empty() {
        tx.execute(
            &format!("DELETE FROM {table} WHERE fid = ANY($1)"),
            &[&ed.deletes],
        )?;
    }
    let inserts = ed
        .inserts
        .iter()
        .zip(max_fid + 1..)
        .map(|(f, fid)| row_of(name, f, fid, &ed.fields, &fields))
        .collect::<Result<Vec<_>, _>>()?;
    copy_rows(&mut tx, n, name, &fields, &columns, &inserts)?;
    if meta.is_none() {
        index_table(&mut tx, n, name)?;
    }
    let bounds = if ed.updates.is_empty() && ed.deletes.is_empty() {
        let added = Layer {
            name: name.to_owned(),
            kind,
            fields: ed.fields.clone(),
            features: ed.inserts.clone(),
        };
        Bounds::Exact(union(
            meta.as_ref().and_then(|m| m.bounds),
            layer_bounds(&added),
        ))
    } else {
        Bounds::Recompute
    };
    save_meta(&mut tx, n, name, kind, &fields, &columns, bounds, version)?;
    tx.commit()?;
    Ok(Some(EditSummary {
        inserted: ed.inserts.len(),
        updated: ed.updates.len(),
        deleted: ed.deletes.len(),
        version,
    }))
}

/// Drop a layer (or a raster of that name); false when there was none.
pub(super) fn delete_layer(c: &mut postgres::Client, n: &Names, name: &str) -> PgResult<bool> {
    let mut tx = c.transaction()?;
    lock_store(&mut tx, n)?;
    let existed = if load_meta(&mut tx, n, name)?.is_some() {
        tx.batch_execute(&format!("DROP TABLE {}", n.table(name)))?;
        tx.execute(
            &format!("DELETE FROM {} WHERE name = $1", n.layers()),
            &[&name],
        )?;
        true
    } else {
        tx.execute(
            &format!("DELETE FROM {} WHERE name = $1", n.rasters()),
            &[&name],
        )? > 0
    };
    if existed {
        bump_version(&mut tx, n)?;
    }
    tx.commit()?;
    Ok(existed)
}
