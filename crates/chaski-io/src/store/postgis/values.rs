//! Attribute columns: names, SQL types, values bound as parameters or COPY
//! fields and read back.

use chaski_core::store::StoreError;
use chaski_core::value::{Field, FieldType, Value};
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// Longest PostgreSQL identifier, in bytes (longer ones are cut by the server).
const MAX_IDENT: usize = 63;

/// Quote an SQL identifier.
pub fn q(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

/// Column names for `fields`: the field names (NUL removed, cut to 63 bytes),
/// made unique case-insensitively and distinct from `fid` and `geom` with a
/// `_2`, `_3`... suffix. Each name depends only on the fields before it, so
/// appending fields keeps the existing columns.
pub fn column_names(fields: &[Field]) -> Vec<String> {
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
            let mut n = 1;
            loop {
                let suffix = if n == 1 {
                    String::new()
                } else {
                    format!("_{n}")
                };
                let mut name = base.clone();
                while name.len() + suffix.len() > MAX_IDENT {
                    name.pop();
                }
                name.push_str(&suffix);
                if used.insert(name.to_lowercase()) {
                    return name;
                }
                n += 1;
            }
        })
        .collect()
}

/// The column type of a field type (dates as ISO 8601 text, as the GeoPackage keeps them).
pub fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text | FieldType::Date => "text",
        FieldType::Int => "bigint",
        FieldType::Real => "double precision",
        FieldType::Bool => "boolean",
    }
}

/// The wire type of a field type's column (for binary COPY).
pub fn pg_type(ty: FieldType) -> Type {
    match ty {
        FieldType::Text | FieldType::Date => Type::TEXT,
        FieldType::Int => Type::INT8,
        FieldType::Real => Type::FLOAT8,
        FieldType::Bool => Type::BOOL,
    }
}

/// A value as its column stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// text
    Text(String),
    /// bigint
    Int(i64),
    /// double precision
    Real(f64),
    /// boolean
    Bool(bool),
}

impl Cell {
    /// The value back as a chaski [`Value`].
    pub fn into_value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Text(s) => Value::Text(s),
            Self::Int(i) => Value::Int(i),
            Self::Real(f) => Value::Real(f),
            Self::Bool(b) => Value::Bool(b),
        }
    }
}

impl ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Self::Null => Ok(IsNull::Yes),
            Self::Text(s) => s.to_sql(ty, out),
            Self::Int(i) => i.to_sql(ty, out),
            Self::Real(f) => f.to_sql(ty, out),
            Self::Bool(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::TEXT, Type::INT8, Type::FLOAT8, Type::BOOL].contains(ty)
    }

    to_sql_checked!();
}

/// `value` as stored in a column of field `field` of `layer`: lossless
/// conversions only (an integer into a real column, a number into a text
/// column, an integral real or digits into an integer column); anything else
/// is a [`StoreError::Conflict`] naming the field and the value.
pub fn to_cell(layer: &str, field: &Field, value: &Value) -> Result<Cell, StoreError> {
    let bad = || StoreError::Conflict {
        layer: layer.to_owned(),
        reason: format!(
            "field '{}' is {} but a value is {value:?}",
            field.name,
            field.ty.as_str()
        ),
    };
    Ok(match (field.ty, value) {
        (_, Value::Null) => Cell::Null,
        (FieldType::Text | FieldType::Date, Value::Text(s)) => Cell::Text(s.clone()),
        (FieldType::Text | FieldType::Date, Value::Int(i)) => Cell::Text(i.to_string()),
        (FieldType::Text | FieldType::Date, Value::Real(f)) => Cell::Text(f.to_string()),
        (FieldType::Text | FieldType::Date, Value::Bool(b)) => {
            Cell::Text(if *b { "1" } else { "0" }.to_owned())
        }
        (FieldType::Int, Value::Int(i)) => Cell::Int(*i),
        (FieldType::Int, Value::Bool(b)) => Cell::Int(i64::from(*b)),
        (FieldType::Int, Value::Real(f)) if f.fract() == 0.0 && (-9.0e15..=9.0e15).contains(f) => {
            Cell::Int(*f as i64)
        }
        (FieldType::Int, Value::Text(s)) => Cell::Int(s.trim().parse().map_err(|_| bad())?),
        (FieldType::Real, Value::Real(f)) => Cell::Real(*f),
        (FieldType::Real, Value::Int(i)) => Cell::Real(*i as f64),
        (FieldType::Real, Value::Text(s)) => Cell::Real(s.trim().parse().map_err(|_| bad())?),
        (FieldType::Bool, Value::Bool(b)) => Cell::Bool(*b),
        (FieldType::Bool, Value::Int(i @ (0 | 1))) => Cell::Bool(*i == 1),
        _ => return Err(bad()),
    })
}

/// Column `i` of `row`, a column of field type `ty`, as a [`Cell`].
pub fn read_cell(row: &postgres::Row, i: usize, ty: FieldType) -> Result<Cell, postgres::Error> {
    Ok(match ty {
        FieldType::Text | FieldType::Date => row
            .try_get::<_, Option<String>>(i)?
            .map_or(Cell::Null, Cell::Text),
        FieldType::Int => row
            .try_get::<_, Option<i64>>(i)?
            .map_or(Cell::Null, Cell::Int),
        FieldType::Real => row
            .try_get::<_, Option<f64>>(i)?
            .map_or(Cell::Null, Cell::Real),
        FieldType::Bool => row
            .try_get::<_, Option<bool>>(i)?
            .map_or(Cell::Null, Cell::Bool),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_and_short() {
        let long = "x".repeat(70);
        let fields = vec![
            Field::new("code", FieldType::Text),
            Field::new("Code", FieldType::Text),
            Field::new("geom", FieldType::Int),
            Field::new(long.clone(), FieldType::Int),
            Field::new(format!("{long}y"), FieldType::Int),
            Field::new("", FieldType::Int),
        ];
        let cols = column_names(&fields);
        assert_eq!(cols[..3], ["code", "Code_2", "geom_2"]);
        assert_eq!(cols[3], "x".repeat(63));
        assert_eq!(cols[4], format!("{}_2", "x".repeat(61)));
        assert_eq!(cols[5], "field_6");
    }

    #[test]
    fn values_convert_losslessly_or_not_at_all() {
        let int = Field::new("n", FieldType::Int);
        let real = Field::new("r", FieldType::Real);
        assert_eq!(to_cell("l", &int, &Value::Real(3.0)).unwrap(), Cell::Int(3));
        assert!(to_cell("l", &int, &Value::Real(3.5)).is_err());
        assert!(to_cell("l", &int, &Value::Text("abc".into())).is_err());
        assert_eq!(
            to_cell("l", &real, &Value::Int(2)).unwrap(),
            Cell::Real(2.0)
        );
        assert_eq!(to_cell("l", &real, &Value::Null).unwrap(), Cell::Null);
    }
}
