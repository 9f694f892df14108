//! SQL of the layer tables: quoted identifiers, column names and types,
//! values bound and read back, row statements, and bounds arithmetic.

use chaski_core::value::{Field, FieldType, Value};
use rusqlite::ToSql;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::fmt::Write as _;

/// Quote an SQL identifier.
pub(super) fn q(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

/// The name of a layer's spatial index table.
pub(super) fn rtree_name(layer: &str) -> String {
    format!("rtree_{layer}_geom")
}

/// Column names for `fields`: the field names, made unique case-insensitively
/// and distinct from `fid` and `geom` (a `_2`, `_3`... suffix). Each name depends
/// only on the fields before it, so appending fields keeps existing columns.
pub(super) fn column_names(fields: &[Field]) -> Vec<String> {
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

/// The SQL column type of a field type.
pub(super) fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "TEXT",
        FieldType::Int => "INTEGER",
        FieldType::Real => "REAL",
        FieldType::Bool => "BOOLEAN",
        FieldType::Date => "DATE",
    }
}

/// A [`Value`] bound as an SQL parameter (booleans as 0/1).
pub(super) struct Sv<'a>(pub(super) Option<&'a Value>);

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
pub(super) fn read_value(v: ValueRef<'_>, ty: FieldType) -> Value {
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

/// [`read_value`] into `slot`, reusing the text buffer it holds.
pub(super) fn read_value_into(slot: &mut Value, v: ValueRef<'_>, ty: FieldType) {
    match (v, &mut *slot) {
        (ValueRef::Text(t) | ValueRef::Blob(t), Value::Text(s)) => {
            s.clear();
            s.push_str(&String::from_utf8_lossy(t));
        }
        _ => *slot = read_value(v, ty),
    }
}

/// The key of a `code` value for upserts, as the TEXT column stores it.
pub(super) fn code_key(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(i64::from(*b).to_string()),
        Value::Real(f) => Some(format!("\u{0}real:{}", f.to_bits())),
    }
}

/// The key of a stored `code` value, as [`code_key`] makes it.
pub(super) fn stored_code_key(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(format!("\u{0}real:{}", f.to_bits())),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Bounds from four nullable columns.
pub(super) fn all_some(b: [Option<f64>; 4]) -> Option<[f64; 4]> {
    match b {
        [Some(x0), Some(y0), Some(x1), Some(y1)] => Some([x0, y0, x1, y1]),
        _ => None,
    }
}

/// `, "a", "b"` for columns `a`, `b`.
pub(super) fn col_list(cols: &[String]) -> String {
    cols.iter().fold(String::new(), |mut s, c| {
        s.push_str(", ");
        s.push_str(&q(c));
        s
    })
}

/// `, ?3, ?4...`: one placeholder per column, numbered from 3 (after fid and geom).
pub(super) fn placeholders(n: usize) -> String {
    (0..n).fold(String::new(), |mut s, i| {
        let _ = write!(s, ", ?{}", i + 3);
        s
    })
}

/// `INSERT` of a feature row: `?1` fid, `?2` geometry, `?3…` the columns.
pub(super) fn insert_sql(name: &str, cols: &[String]) -> String {
    format!(
        "INSERT INTO {} (\"fid\", \"geom\"{}) VALUES (?1, ?2{})",
        q(name),
        col_list(cols),
        placeholders(cols.len())
    )
}

/// `UPDATE` of a feature row by fid, parameters as [`insert_sql`].
pub(super) fn update_sql(name: &str, cols: &[String]) -> String {
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
pub(super) fn write_row(
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

/// The union of two bounds (min x, min y, max x, max y).
pub(super) fn union(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
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
