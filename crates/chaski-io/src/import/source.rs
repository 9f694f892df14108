//! What a reader produces: a [`SourceTable`] of columns and records, each
//! record with its row number, geometry (or why it has none) and raw values.
//! The readers ([`crate::csv`], [`crate::gdal_vector`],
//! [`crate::households::read_geojson_str`]) depend on this module only, not
//! on the rest of the import.

use chaski_core::value::{FieldType, Value};
use geo::Geometry;
use std::fmt;

/// A source column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceColumn {
    /// Name in the source.
    pub name: String,
    /// Type in the source (CSV columns are text).
    pub ty: FieldType,
}

impl SourceColumn {
    /// A new column.
    pub fn new(name: impl Into<String>, ty: FieldType) -> Self {
        Self {
            name: name.into(),
            ty,
        }
    }
}

/// Why a record has no usable geometry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeomError {
    /// Source field (column) at fault; empty for the whole row.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl GeomError {
    /// A new error.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for GeomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

/// One record read from a source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Row (CSV, header = 1) or feature number (1-based).
    pub row: usize,
    /// Geometry in the source CRS, or why there is none.
    pub geometry: Result<Geometry<f64>, GeomError>,
    /// Values, one per [`SourceTable::columns`].
    pub values: Vec<Value>,
}

/// What a reader produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceTable {
    /// Attribute columns.
    pub columns: Vec<SourceColumn>,
    /// Records.
    pub records: Vec<SourceRecord>,
    /// Rows that produced no record (empty or unreadable), with the reason.
    pub problems: Vec<(usize, GeomError)>,
    /// Source CRS definition; `None` means EPSG:4326 longitude/latitude.
    pub crs: Option<String>,
    /// "row" or "feature", for messages.
    pub row_label: &'static str,
    /// File-level remarks (which layer was read, GDAL warnings).
    pub notes: Vec<String>,
    /// Infer Int/Real types for text columns (CSV).
    pub infer_types: bool,
}
