//! Mapping files: how the columns of a source file become the fields of a chaski layer.
//!
//! A mapping is a small TOML file passed with `chaski import --mapping FILE.toml`:
//!
//! ```toml
//! # what the file holds (otherwise taken from --kind or the layer name)
//! kind = "facilities"
//! # CRS of the coordinates when the file does not say (CSV, or a shapefile without .prj)
//! crs = "EPSG:4326"
//!
//! # source column = chaski field
//! [fields]
//! COD_IPRESS = "code"
//! NOMBRE_ESTABLECIMIENTO = "name"
//!
//! # CSV coordinate columns, when they are not found by their usual names.
//! # MINSA's raw IPRESS export names longitude NORTE and latitude ESTE:
//! [coordinates]
//! x = "NORTE"
//! y = "ESTE"
//!
//! # source columns to leave out
//! [options]
//! drop = ["FOTO", "OBSERVACION"]
//! delimiter = ";"
//!
//! # optional: the file is a table joined to the stored layer by this field
//! # (as `chaski import --join code`); it needs no coordinates
//! [join]
//! key = "code"
//! ```
//!
//! Unmapped source columns that match no core field are kept as extra
//! properties, except in household layers, which store only the household
//! schema: there, other columns are dropped with a warning unless listed in
//! `[options] keep`, and columns that look like personal identifiers (names,
//! ID numbers, phones, addresses, e-mails, dates of birth) are refused unless
//! the admin who runs the import lists them in `[options] allow_personal`.

use chaski_core::layer::LayerKind;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A mapping file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MappingError {
    /// The file could not be read.
    #[error("mapping file {path}: {source}")]
    Read {
        /// The mapping file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("mapping file {path}: {message}")]
    Parse {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A value is not allowed.
    #[error("mapping file {path}: {message}")]
    Invalid {
        /// The mapping file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Coordinate columns of a table (CSV) source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinateColumns {
    /// Column holding x (longitude for geographic coordinates); `lon` is accepted too.
    #[serde(alias = "lon", alias = "longitude")]
    pub x: Option<String>,
    /// Column holding y (latitude for geographic coordinates); `lat` is accepted too.
    #[serde(alias = "lat", alias = "latitude")]
    pub y: Option<String>,
    /// Column holding an ODK geopoint, `"lat lon [alt [accuracy]]"`.
    pub geopoint: Option<String>,
}

/// Other options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingOptions {
    /// Source columns to leave out.
    #[serde(default)]
    pub drop: Vec<String>,
    /// CSV delimiter (one character); detected from the header when absent.
    pub delimiter: Option<String>,
    /// Household layers: source columns outside the household schema to keep
    /// as extra fields (others are dropped with a warning).
    #[serde(default)]
    pub keep: Vec<String>,
    /// Household layers: columns that look like personal identifiers which an
    /// admin explicitly allows to be stored (they are refused otherwise).
    #[serde(default)]
    pub allow_personal: Vec<String>,
}

/// `[join]`: the file updates the stored layer's features by a key instead of
/// adding features (as `chaski import --join KEY`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinSection {
    /// The chaski field both sides are matched on, e.g. `code`.
    pub key: String,
}

/// A parsed mapping file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Layer kind.
    pub kind: Option<String>,
    /// CRS of the source coordinates ("EPSG:32718", a PROJ string or WKT).
    pub crs: Option<String>,
    /// Source column name → chaski field name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Coordinate columns for table sources.
    #[serde(default)]
    pub coordinates: CoordinateColumns,
    /// Other options.
    #[serde(default)]
    pub options: MappingOptions,
    /// Join the file to the stored layer by a key.
    pub join: Option<JoinSection>,
}

impl Mapping {
    /// Read and check a mapping file.
    pub fn from_path(path: &Path) -> Result<Self, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parse mapping text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, MappingError> {
        let m: Mapping = toml::from_str(text).map_err(|e| MappingError::Parse {
            path: path.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        if let Some(k) = &m.kind {
            k.parse::<LayerKind>().map_err(|e| MappingError::Invalid {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        }
        if let Some(d) = &m.options.delimiter
            && d.chars().count() != 1
        {
            return Err(MappingError::Invalid {
                path: path.to_owned(),
                message: format!("options.delimiter must be one character, not '{d}'"),
            });
        }
        if let Some(j) = &m.join
            && j.key.trim().is_empty()
        {
            return Err(MappingError::Invalid {
                path: path.to_owned(),
                message: "join.key is empty: name the field to join on, e.g. key = \"code\""
                    .to_owned(),
            });
        }
        Ok(m)
    }

    /// The join key named by the mapping's `[join]`, if any.
    pub fn join_key(&self) -> Option<&str> {
        self.join.as_ref().map(|j| j.key.trim())
    }

    /// The layer kind named by the mapping, if any.
    pub fn layer_kind(&self) -> Option<LayerKind> {
        self.kind.as_deref().and_then(|k| k.parse().ok())
    }

    /// The chaski name for source column `source`, if the mapping renames it.
    /// Matching ignores case and accents.
    pub fn rename(&self, source: &str) -> Option<&str> {
        let n = chaski_core::schema::normalize_name(source);
        self.fields
            .iter()
            .find(|(k, _)| chaski_core::schema::normalize_name(k) == n)
            .map(|(_, v)| v.as_str())
    }

    /// True when the mapping drops source column `source`.
    pub fn drops(&self, source: &str) -> bool {
        let n = chaski_core::schema::normalize_name(source);
        self.options
            .drop
            .iter()
            .any(|d| chaski_core::schema::normalize_name(d) == n)
    }

    /// True when the mapping keeps source column `source` (household layers).
    pub fn keeps(&self, source: &str) -> bool {
        listed(&self.options.keep, source)
    }

    /// True when an admin allows personal-identifier column `source` (household layers).
    pub fn allows_personal(&self, source: &str) -> bool {
        listed(&self.options.allow_personal, source)
    }

    /// The CSV delimiter byte, if set.
    pub fn delimiter(&self) -> Option<u8> {
        self.options
            .delimiter
            .as_deref()
            .and_then(|d| d.bytes().next())
    }
}

fn listed(list: &[String], source: &str) -> bool {
    let n = chaski_core::schema::normalize_name(source);
    list.iter()
        .any(|d| chaski_core::schema::normalize_name(d) == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
kind = "facilities"
crs = "EPSG:4326"
[fields]
COD_IPRESS = "code"
[coordinates]
x = "NORTE"
y = "ESTE"
[options]
drop = ["FOTO"]
delimiter = ";"
keep = ["vacunas_completas"]
allow_personal = ["Telefono_contacto"]
[join]
key = "code"
"#;
        let m = Mapping::parse(text, Path::new("m.toml")).unwrap();
        assert_eq!(m.layer_kind(), Some(LayerKind::Facilities));
        assert_eq!(m.rename("cod_ipress"), Some("code"));
        assert_eq!(m.coordinates.x.as_deref(), Some("NORTE"));
        assert!(m.drops("Foto"));
        assert_eq!(m.delimiter(), Some(b';'));
        assert!(m.keeps("VACUNAS_COMPLETAS") && !m.keeps("foto"));
        assert!(m.allows_personal("telefono_contacto") && !m.allows_personal("dni"));
        assert_eq!(m.join_key(), Some("code"));
        let e = Mapping::parse("[join]\nkey = \" \"\n", Path::new("j.toml")).unwrap_err();
        assert!(e.to_string().contains("j.toml"), "{e}");
    }

    #[test]
    fn unknown_keys_and_kinds_are_errors_naming_the_file() {
        let e = Mapping::parse("colums = 1", Path::new("bad.toml")).unwrap_err();
        assert!(e.to_string().contains("bad.toml"), "{e}");
        assert!(e.to_string().contains("colums"), "{e}");
        let e = Mapping::parse("kind = \"hospitals\"", Path::new("k.toml")).unwrap_err();
        assert!(e.to_string().contains("hospitals"), "{e}");
    }
}
