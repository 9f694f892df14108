//! chaski's bookkeeping: the kind, fields and version of each layer
//! (`chaski_layers`), the store-wide data version (`chaski_meta`), and
//! small queries on the file's tables.

use super::error::GpkgError;
use super::sql::q;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::value::Field;
use rusqlite::{Connection, OptionalExtension, params};

/// What `chaski_layers` says of a layer.
#[derive(Clone)]
pub(super) struct Meta {
    pub(super) kind: LayerKind,
    pub(super) fields: Vec<Field>,
}

/// A layer kind as `chaski_layers` stores it.
pub(super) fn parse_kind(name: &str, kind: &str) -> Result<LayerKind, GpkgError> {
    serde_json::from_value(serde_json::Value::String(kind.to_owned())).map_err(|_| {
        GpkgError::Corrupt(format!(
            "layer '{name}': unknown kind '{kind}' in chaski_layers"
        ))
    })
}

/// A field list as `chaski_layers` stores it (JSON).
pub(super) fn parse_fields(name: &str, fields: &str) -> Result<Vec<Field>, GpkgError> {
    serde_json::from_str(fields).map_err(|e| {
        GpkgError::Corrupt(format!(
            "layer '{name}': unreadable field list in chaski_layers: {e}"
        ))
    })
}

/// A data version as stored (a non-negative integer).
pub(super) fn to_version(v: i64) -> Result<u64, GpkgError> {
    u64::try_from(v).map_err(|_| GpkgError::Corrupt(format!("negative data version {v}")))
}

/// What `chaski_layers` says of layer `name`, None when chaski has no such layer.
pub(super) fn load_meta(conn: &Connection, name: &str) -> Result<Option<Meta>, GpkgError> {
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

/// Increment the store-wide data version; returns the new one.
pub(super) fn bump_version(conn: &Connection) -> Result<u64, GpkgError> {
    let v: i64 = conn.query_row(
        "INSERT INTO chaski_meta (key, value) VALUES ('version', 1) \
         ON CONFLICT (key) DO UPDATE SET value = COALESCE(value, 0) + 1 RETURNING value",
        [],
        |r| r.get(0),
    )?;
    to_version(v)
}

/// The number of rows of `table`.
pub(super) fn count_rows(conn: &Connection, table: &str) -> Result<usize, GpkgError> {
    let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {}", q(table)), [], |r| {
        r.get(0)
    })?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// True when the file has a table (or index, view...) named `name`, in any case.
pub(super) fn table_exists(conn: &Connection, name: &str) -> Result<bool, GpkgError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?1 COLLATE NOCASE)",
        [name],
        |r| r.get(0),
    )?)
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
pub(super) fn finish_layer_write(
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
