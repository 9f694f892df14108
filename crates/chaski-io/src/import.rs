//! Importing files into typed chaski layers.
//!
//! Readers ([`crate::csv`], [`crate::gdal_vector`]) turn a file into a
//! [`SourceTable`]: columns, and per record its row number, geometry (or why it has
//! none) and raw values. [`build_layer`] then makes a typed [`Layer`]:
//!
//! 1. columns are matched to the layer kind's core fields (after the mapping file's
//!    renames; names compared without case or accents); the rest are kept as extra
//!    properties, with types inferred for CSV text columns;
//! 2. coordinates are reprojected to EPSG:4326 with PROJ when the source CRS differs;
//! 3. each record is validated: coordinates in range, not 0,0, inside the CRS's
//!    domain, not swapped (a point outside the region that falls inside it with
//!    latitude and longitude exchanged), geometry of the layer's type and valid
//!    (repeated points removed, self-intersecting polygons repaired or rejected);
//!    core values parsed (categories I-1..III-E, birth care, water status, yes/no,
//!    dates, counts);
//! 4. household layers get their own column matching (ODK Central and KoBoToolbox
//!    exports), checks (consent, GPS accuracy, known community and facility codes,
//!    outside the region rejected) and derived values: see [`crate::households`].
//!
//! A bad row is reported ([`Issue`]: row, field, reason, what was done) and never
//! stops the import. File-level problems that leave the layer silently poorer
//! are warnings of the report ([`ImportReport::warnings`]): a core field empty on
//! every row (no column was recognised as the village name), a column that looks
//! like a core field but was not recognised, villages without a population.
//!
//! A table imported with a join key ([`ImportOptions::join`]) needs no
//! coordinates: its rows update the stored features with the same key
//! (see [`crate::join`]).

use crate::mapping::{Mapping, MappingError};
use chaski_core::domain::{BirthCare, Category, RiskLevel, WaterStatus};
use chaski_core::layer::{Feature, GeometryType, Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_core::schema::{is_candidate, match_core_field_ranked, normalize_name};
use chaski_core::value::{Field, FieldType, Value};
use geo::{
    BooleanOps, BoundingRect, Coord, Geometry, LineString, MultiLineString, MultiPolygon, Point,
    Polygon, RemoveRepeatedPoints, Validation,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub(crate) mod report;
pub(crate) mod source;

pub use report::{Action, ImportReport, Issue, thousands};
pub use source::{GeomError, SourceColumn, SourceRecord, SourceTable};

/// The area where valid data is expected, used to catch swapped coordinates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    /// Name used in messages.
    pub name: String,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub bounds: [f64; 4],
}

impl Region {
    /// Peru with a margin of about 50 km.
    pub fn peru() -> Self {
        Self {
            name: "Peru".to_owned(),
            bounds: [-81.9, -18.9, -68.2, 0.5],
        }
    }

    /// True when `(lon, lat)` is inside.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let [a, b, c, d] = self.bounds;
        lon >= a && lon <= c && lat >= b && lat <= d
    }

    /// Parse `min_lon,min_lat,max_lon,max_lat`.
    pub fn parse_bounds(s: &str) -> Option<Self> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()?;
        (v.len() == 4 && v[0] < v[2] && v[1] < v[3]).then(|| Self {
            name: format!("the region {s}"),
            bounds: [v[0], v[1], v[2], v[3]],
        })
    }
}

/// How to import a file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Store layer name.
    pub layer: String,
    /// Layer kind; otherwise from the mapping or the layer name.
    pub kind: Option<LayerKind>,
    /// Mapping file.
    pub mapping: Option<Mapping>,
    /// Layer of a multi-layer source.
    pub source_layer: Option<String>,
    /// Expected region (swap detection, outside warnings); `None` disables.
    pub region: Option<Region>,
    /// Swap coordinates that look swapped instead of rejecting the row.
    pub fix_swapped: bool,
    /// Community and facility codes to check household rows against (warnings);
    /// `None` checks nothing.
    pub known_codes: Option<std::sync::Arc<crate::households::KnownCodes>>,
    /// Household layers: longest text value accepted, in characters (a longer
    /// one rejects its row). Default [`MAX_FIELD_CHARS`].
    pub max_field_chars: usize,
    /// Join the file to the stored layer on this field (`code`) instead of
    /// adding features: rows need no coordinates (see [`crate::join`]). A
    /// mapping file's `[join] key` gives it too.
    pub join: Option<String>,
}

/// Default of [`ImportOptions::max_field_chars`]: codes, dates and categories
/// fit easily.
pub const MAX_FIELD_CHARS: usize = 256;

impl ImportOptions {
    /// Options for layer `layer` with defaults (region Peru).
    pub fn new(layer: impl Into<String>) -> Self {
        Self {
            layer: layer.into(),
            kind: None,
            mapping: None,
            source_layer: None,
            region: Some(Region::peru()),
            fix_swapped: false,
            known_codes: None,
            max_field_chars: MAX_FIELD_CHARS,
            join: None,
        }
    }

    /// The join key: [`ImportOptions::join`], else the mapping's `[join] key`.
    pub fn join_key(&self) -> Option<&str> {
        self.join
            .as_deref()
            .or_else(|| self.mapping.as_ref().and_then(Mapping::join_key))
    }
}

/// A column name as a TOML key of a mapping file's `[fields]`: bare when it
/// can be, else quoted.
fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Column names for a message, at most 30.
fn column_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut out = names
        .iter()
        .take(30)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 30 {
        let _ = write!(out, ", ... ({} in all)", names.len());
    }
    out
}

/// An import failed as a whole (nothing was imported).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file does not exist or cannot be read.
    #[error("{path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// CSV reader failure.
    #[error(transparent)]
    Csv(#[from] crate::csv::CsvError),
    /// GDAL vector reader failure.
    #[cfg(feature = "gdal")]
    #[error(transparent)]
    Vector(#[from] crate::gdal_vector::VectorError),
    /// GDAL raster reader failure.
    #[cfg(feature = "gdal")]
    #[error(transparent)]
    Raster(#[from] crate::raster::RasterError),
    /// Mapping file failure.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The kind of layer could not be told.
    #[error(
        "cannot tell what layer '{layer}' holds: pass --kind (communities, facilities, water_systems, \
         boundaries, paths, roads, rivers, households) or set kind in the mapping file"
    )]
    UnknownKind {
        /// The layer name.
        layer: String,
    },
    /// The source CRS is unknown to PROJ.
    #[error("{path}: cannot reproject from {crs} to EPSG:4326: {reason}")]
    Crs {
        /// The file.
        path: PathBuf,
        /// Source CRS.
        crs: String,
        /// What PROJ said.
        reason: String,
    },
    /// The file has no CRS and its coordinates are not longitude/latitude.
    #[error(
        "{path}: the file does not say its CRS and its coordinates (e.g. x={x}, y={y}) are not \
         longitude/latitude; give the CRS in a mapping file (crs = \"EPSG:32718\")"
    )]
    NoCrs {
        /// The file.
        path: PathBuf,
        /// Example x.
        x: f64,
        /// Example y.
        y: f64,
    },
    /// A household source has columns that look like personal identifiers.
    #[error(
        "{path}: household records hold codes, never names or ID numbers, and these columns look \
         like personal identifiers: {}; nothing was stored. Remove them from the export, or \
         leave them out ([options] drop in a mapping file; ?drop=COLUMN,... on an upload)",
        .columns.iter().map(|(c, what)| format!("'{c}' ({what})")).collect::<Vec<_>>().join(", ")
    )]
    PersonalData {
        /// The file (or `upload.csv`).
        path: PathBuf,
        /// Each column and what it looks like.
        columns: Vec<(String, &'static str)>,
    },
    /// The join key is not a column of the table.
    #[error(
        "{path}: no column was recognised as the join key '{key}'; columns were: {columns}; \
         map one with a mapping file ([fields] COLUMN = \"{key}\")"
    )]
    JoinKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The table's columns.
        columns: String,
    },
    /// A join was asked for a kind of layer that is not joined.
    #[error(
        "{path}: --join is not for household records: they are matched on their submission id \
         or code by --upsert (the default for households)"
    )]
    JoinHouseholds {
        /// The file.
        path: PathBuf,
    },
    /// Support for a format was not compiled in.
    #[error("{path}: {what} support is not compiled into this build")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is missing.
        what: &'static str,
    },
}

/// What a file holds.
#[derive(Debug, Clone)]
pub enum Source {
    /// Vector features.
    Table(SourceTable),
    /// A raster (band 1).
    Raster(Raster<f32>),
}

/// True for extensions read as rasters.
pub fn is_raster_path(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "tif" | "tiff" | "vrt" | "asc" | "img" | "hgt" | "dem" | "nc" | "bil"
    )
}

fn is_csv_path(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    matches!(ext.as_str(), "csv" | "tsv" | "txt")
}

/// Read a file: CSV with our reader, rasters and other vector formats through GDAL.
pub fn read_source(path: &Path, opts: &ImportOptions) -> Result<Source, ImportError> {
    let meta = std::fs::metadata(path).map_err(|e| ImportError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if meta.is_dir()
        && !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gdb"))
    {
        return Err(ImportError::Unreadable {
            path: path.to_owned(),
            reason: "is a directory, not a file".to_owned(),
        });
    }
    if is_csv_path(path) {
        let read = if opts.join_key().is_some() {
            crate::csv::read_table
        } else {
            crate::csv::read_csv
        };
        return Ok(Source::Table(read(path, opts.mapping.as_ref())?));
    }
    read_gdal(path, opts)
}

#[cfg(feature = "gdal")]
fn read_gdal(path: &Path, opts: &ImportOptions) -> Result<Source, ImportError> {
    if is_raster_path(path) {
        return Ok(Source::Raster(read_raster_with_crs(path, opts)?));
    }
    let read = if opts.join_key().is_some() {
        crate::gdal_vector::read_table
    } else {
        crate::gdal_vector::read_vector
    };
    match read(path, opts.source_layer.as_deref()) {
        Ok(mut t) => {
            if t.crs.is_none()
                && let Some(c) = opts.mapping.as_ref().and_then(|m| m.crs.clone())
            {
                t.crs = Some(c);
            }
            Ok(Source::Table(t))
        }
        Err(crate::gdal_vector::VectorError::Open { .. })
            if crate::raster::read_raster(path).is_ok() =>
        {
            Ok(Source::Raster(read_raster_with_crs(path, opts)?))
        }
        Err(e) => Err(e.into()),
    }
}

/// Read a raster to import: one without a CRS takes the mapping file's `crs`
/// (an EPSG code), else it is refused with how to assign one.
#[cfg(feature = "gdal")]
fn read_raster_with_crs(path: &Path, opts: &ImportOptions) -> Result<Raster<f32>, ImportError> {
    let mut raster = crate::raster::read_raster(path)?;
    if raster.epsg.is_none() {
        let Some(crs) = opts.mapping.as_ref().and_then(|m| m.crs.as_deref()) else {
            return Err(crate::raster::RasterError::NoCrs {
                path: path.to_owned(),
            }
            .into());
        };
        let code = crs
            .trim()
            .to_ascii_uppercase()
            .strip_prefix("EPSG:")
            .and_then(|c| c.trim().parse::<u32>().ok());
        raster.epsg = Some(code.ok_or_else(|| ImportError::Crs {
            path: path.to_owned(),
            crs: crs.to_owned(),
            reason: "a raster's CRS is given as an EPSG code, e.g. crs = \"EPSG:32718\"".to_owned(),
        })?);
    }
    Ok(raster)
}

#[cfg(not(feature = "gdal"))]
fn read_gdal(path: &Path, _opts: &ImportOptions) -> Result<Source, ImportError> {
    Err(ImportError::Unsupported {
        path: path.to_owned(),
        what: "GDAL",
    })
}

/// The layer kind for `opts`: `--kind`, the mapping's kind, or the layer name.
pub fn resolve_kind(opts: &ImportOptions) -> Result<LayerKind, ImportError> {
    opts.kind
        .or_else(|| opts.mapping.as_ref().and_then(Mapping::layer_kind))
        .or_else(|| opts.layer.parse().ok())
        .ok_or_else(|| ImportError::UnknownKind {
            layer: opts.layer.clone(),
        })
}

enum Target {
    Core(usize),
    Extra(usize),
    Skip,
}

fn extra_name(raw: &str, taken: &HashSet<String>) -> String {
    let mut n = normalize_name(raw).trim_matches('_').to_owned();
    while n.contains("__") {
        n = n.replace("__", "_");
    }
    if n.is_empty() {
        "field".clone_into(&mut n);
    }
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        n = format!("f_{n}");
    }
    if n.len() > 60 {
        n.truncate(60);
    }
    let mut candidate = n.clone();
    let mut i = 2;
    while taken.contains(&candidate) {
        candidate = format!("{n}_{i}");
        i += 1;
    }
    candidate
}

fn looks_int(s: &str) -> bool {
    let d = s.strip_prefix('-').unwrap_or(s);
    !d.is_empty()
        && d.len() <= 15
        && d.bytes().all(|b| b.is_ascii_digit())
        && !(d.len() > 1 && d.starts_with('0'))
}

fn infer_type(values: impl Iterator<Item = Option<String>>) -> FieldType {
    let mut int = true;
    let mut real = true;
    let mut any = false;
    for v in values.flatten() {
        any = true;
        if int && !looks_int(&v) {
            int = false;
        }
        if real
            && (v.parse::<f64>().map_or(true, |f| !f.is_finite())
                || v.starts_with('0') && v.len() > 1 && !v.starts_with("0."))
        {
            real = false;
        }
        if !int && !real {
            break;
        }
    }
    if !any {
        FieldType::Text
    } else if int {
        FieldType::Int
    } else if real {
        FieldType::Real
    } else {
        FieldType::Text
    }
}

fn to_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Real(r) if r.fract() == 0.0 && r.abs() < 1e15 => Some(format!("{}", *r as i64)),
        Value::Real(r) => Some(r.to_string()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_owned()),
    }
}

fn parse_bool(s: &str) -> Result<Option<bool>, ()> {
    match normalize_name(s).as_str() {
        "si" | "s" | "yes" | "y" | "true" | "t" | "1" | "x" | "verdadero" => Ok(Some(true)),
        "no" | "n" | "false" | "f" | "0" | "falso" => Ok(Some(false)),
        "unknown" | "desconocido" | "ns" | "no_sabe" | "nosabe" | "dont_know" | "na" | "n_a"
        | "" => Ok(None),
        _ => Err(()),
    }
}

/// Parse a date: ISO `YYYY-MM-DD` (also the date part of an ISO date-time, as ODK
/// and KoBo write), `YYYY/MM/DD` (GDAL's date fields) or `DD/MM/YYYY`.
pub(crate) fn parse_date(s: &str) -> Option<String> {
    let s = s.trim();
    // `YYYY/MM/DD` is how GDAL writes dates of GeoPackage and GeoJSON date fields.
    let (y, m, d) = if s.len() >= 10
        && ((s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-')
            || (s.as_bytes()[4] == b'/' && s.as_bytes()[7] == b'/'))
    {
        (s.get(0..4)?, s.get(5..7)?, s.get(8..10)?)
    } else {
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() != 3 || parts[2].len() != 4 {
            return None;
        }
        (parts[2], parts[1], parts[0])
    };
    let (y, m, d): (u32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    ((1900..=2100).contains(&y) && (1..=days).contains(&d)).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// Convert a raw value to a core field's type; `Err` explains why it could not be.
fn core_value(kind: LayerKind, name: &str, ty: FieldType, raw: &Value) -> Result<Value, String> {
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let text = to_text(raw).unwrap_or_default();
    let domain = |r: Result<&'static str, chaski_core::domain::ParseDomainError>| {
        r.map(|s| Value::Text(s.to_owned()))
            .map_err(|e| e.to_string())
    };
    match (kind, name) {
        (LayerKind::Facilities, "category") => {
            // MINSA writes "Sin Categoría" for facilities not yet categorised: known, not an error.
            if normalize_name(&text).starts_with("sin_categ") {
                return Ok(Value::Null);
            }
            return domain(text.parse::<Category>().map(Category::as_str));
        }
        (LayerKind::Facilities, "birth_care") => {
            return domain(text.parse::<BirthCare>().map(BirthCare::as_str));
        }
        (LayerKind::WaterSystems, "status") => {
            return domain(text.parse::<WaterStatus>().map(WaterStatus::as_str));
        }
        (LayerKind::Households, "risk_level") => {
            return domain(text.parse::<RiskLevel>().map(RiskLevel::as_str));
        }
        (LayerKind::Households, "submission_uuid") => {
            let u = crate::households::normalize_uuid(&text);
            return Ok(if u.is_empty() {
                Value::Null
            } else {
                Value::Text(u)
            });
        }
        (LayerKind::Households, "location_source") => {
            return crate::households::parse_location_source(&text)
                .map(|s| Value::Text(s.to_owned()));
        }
        _ => {}
    }
    match ty {
        FieldType::Text => Ok(Value::Text(text)),
        FieldType::Int => {
            let t = text.trim();
            let v = t.parse::<i64>().ok().or_else(|| {
                crate::csv::parse_number(t)
                    .filter(|f| f.fract() == 0.0)
                    .map(|f| f as i64)
            });
            match v {
                Some(v) if v >= 0 => Ok(Value::Int(v)),
                Some(v) => Err(format!("{v} is negative")),
                None => Err(format!("'{t}' is not a whole number")),
            }
        }
        FieldType::Real => crate::csv::parse_number(&text)
            .map(Value::Real)
            .ok_or_else(|| format!("'{text}' is not a number")),
        FieldType::Bool => match raw {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            _ => parse_bool(&text)
                .map(|b| b.map_or(Value::Null, Value::Bool))
                .map_err(|()| {
                    format!("'{text}' is not yes/no (si, no, yes, 1, 0, true, false or unknown)")
                }),
        },
        FieldType::Date => parse_date(&text)
            .map(Value::Text)
            .ok_or_else(|| format!("'{text}' is not a date (YYYY-MM-DD or DD/MM/YYYY)")),
    }
}

fn extra_value(ty: FieldType, raw: &Value) -> Value {
    match (ty, raw) {
        (FieldType::Int, Value::Text(s)) => s.parse().map_or(Value::Null, Value::Int),
        (FieldType::Real, Value::Text(s)) => s.parse().map_or(Value::Null, Value::Real),
        (FieldType::Real, Value::Int(i)) => Value::Real(*i as f64),
        _ => raw.clone(),
    }
}

fn first_coord(g: &Geometry<f64>) -> Option<Coord<f64>> {
    use geo::CoordsIter;
    g.coords_iter().next()
}

/// Coerce a geometry to the layer's geometry type, clean it and check it.
/// Returns the geometry and whether it was repaired.
fn shape(g: Geometry<f64>, want: GeometryType) -> Result<(Geometry<f64>, Option<String>), String> {
    match want {
        GeometryType::Point => match g {
            Geometry::Point(p) => Ok((Geometry::Point(p), None)),
            Geometry::MultiPoint(mp) if mp.0.len() == 1 => Ok((Geometry::Point(mp.0[0]), None)),
            other => Err(format!("expected a point, found {}", type_name(&other))),
        },
        GeometryType::MultiLineString => {
            let parts: Vec<LineString<f64>> = match g {
                Geometry::LineString(l) => vec![l],
                Geometry::MultiLineString(m) => m.0,
                other => return Err(format!("expected a line, found {}", type_name(&other))),
            };
            let before: usize = parts.iter().map(|l| l.0.len()).sum();
            let kept: Vec<LineString<f64>> = parts
                .into_iter()
                .map(|l| l.remove_repeated_points())
                .filter(|l| l.0.len() >= 2)
                .collect();
            if kept.is_empty() {
                return Err("line has fewer than 2 distinct points".to_owned());
            }
            let after: usize = kept.iter().map(|l| l.0.len()).sum();
            let note = (after != before).then(|| "repeated points removed".to_owned());
            Ok((Geometry::MultiLineString(MultiLineString::new(kept)), note))
        }
        GeometryType::MultiPolygon => {
            let polys: Vec<Polygon<f64>> = match g {
                Geometry::Polygon(p) => vec![p],
                Geometry::MultiPolygon(m) => m.0,
                other => return Err(format!("expected a polygon, found {}", type_name(&other))),
            };
            let mp = MultiPolygon::new(polys);
            if mp.is_valid() {
                return Ok((Geometry::MultiPolygon(mp), None));
            }
            let reason = mp
                .check_validation()
                .err()
                .map_or_else(|| "invalid".to_owned(), |e| e.to_string());
            // Clean: repeated points, rings under 3 distinct points; then let the
            // overlay engine resolve self-intersections (even-odd).
            let cleaned: Vec<Polygon<f64>> =
                mp.0.into_iter()
                    .map(|p| p.remove_repeated_points())
                    .filter(|p| p.exterior().0.len() >= 4)
                    .map(|p| {
                        let (ext, holes) = p.into_inner();
                        Polygon::new(ext, holes.into_iter().filter(|h| h.0.len() >= 4).collect())
                    })
                    .collect();
            if cleaned.is_empty() {
                return Err("polygon has no ring with 3 distinct points".to_owned());
            }
            let mut cleaned = MultiPolygon::new(cleaned);
            if !cleaned.is_valid() {
                cleaned = cleaned.union(&MultiPolygon::new(Vec::new()));
            }
            if cleaned.0.is_empty() || !cleaned.is_valid() {
                return Err(format!(
                    "invalid polygon that could not be repaired ({reason})"
                ));
            }
            Ok((
                Geometry::MultiPolygon(cleaned),
                Some(format!("invalid polygon repaired ({reason})")),
            ))
        }
    }
}

fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "a point",
        Geometry::Line(_) | Geometry::LineString(_) => "a line",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "a polygon",
        Geometry::MultiPoint(_) => "several points",
        Geometry::MultiLineString(_) => "a multi-line",
        Geometry::MultiPolygon(_) => "a multi-polygon",
        Geometry::GeometryCollection(_) => "a geometry collection",
    }
}

/// Coordinate check: finite, in range, not 0,0, not swapped.
enum CoordCheck {
    Ok,
    Swapped,
    Bad(String),
}

fn check_lonlat(lon: f64, lat: f64, region: Option<&Region>, is_point: bool) -> CoordCheck {
    if !lon.is_finite() || !lat.is_finite() {
        return CoordCheck::Bad("coordinates are not finite numbers".to_owned());
    }
    let in_range = |x: f64, y: f64| x.abs() <= 180.0 && y.abs() <= 90.0;
    let swapped_inside = region.is_some_and(|r| r.contains(lat, lon)) && in_range(lat, lon);
    if !in_range(lon, lat) {
        if swapped_inside {
            return CoordCheck::Swapped;
        }
        return CoordCheck::Bad(if lat.abs() > 90.0 {
            format!("latitude {lat} is outside -90..90")
        } else {
            format!("longitude {lon} is outside -180..180")
        });
    }
    if is_point && lon == 0.0 && lat == 0.0 {
        return CoordCheck::Bad("coordinates are 0,0 (a missing GPS fix)".to_owned());
    }
    if let Some(r) = region
        && !r.contains(lon, lat)
        && swapped_inside
    {
        return CoordCheck::Swapped;
    }
    CoordCheck::Ok
}

/// Build a typed layer from a source table. Only file-level problems are errors;
/// row problems go to the report.
pub fn build_layer(
    table: SourceTable,
    path: &Path,
    opts: &ImportOptions,
) -> Result<(Layer, ImportReport), ImportError> {
    let kind = resolve_kind(opts)?;
    let mut layer = Layer::new(opts.layer.clone(), kind);
    let core_count = layer.fields.len();
    let mut taken: HashSet<String> = layer.fields.iter().map(|f| f.name.clone()).collect();
    let mut core_taken = vec![false; core_count];
    let mapping = opts.mapping.as_ref();

    // Column plan.
    let is_households = kind == LayerKind::Households;
    let household_plan = is_households.then(|| {
        crate::households::plan_columns(
            &table
                .columns
                .iter()
                .map(|c| match mapping.and_then(|m| m.rename(&c.name)) {
                    Some(r) => (r.to_owned(), true),
                    None => (c.name.clone(), false),
                })
                .collect::<Vec<_>>(),
        )
    });
    let mut targets = Vec::with_capacity(table.columns.len());
    let mut extra_types: Vec<(usize, FieldType)> = Vec::new(); // (source column, type)
    let mut dropped_columns = Vec::new();
    if is_households {
        // Personal identifiers are refused, even renamed by a mapping file,
        // unless an admin's mapping allows the column by name.
        let personal: Vec<(String, &'static str)> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(ci, c)| {
                !mapping.is_some_and(|m| m.drops(&c.name) || m.allows_personal(&c.name))
                    && !matches!(
                        household_plan.as_ref().map(|p| p[*ci]),
                        Some(crate::households::ColumnUse::Skip)
                    )
            })
            .filter_map(|(_, c)| {
                crate::households::personal_identifier(&c.name)
                    .or_else(|| {
                        mapping
                            .and_then(|m| m.rename(&c.name))
                            .and_then(crate::households::personal_identifier)
                    })
                    .map(|what| (c.name.clone(), what))
            })
            .collect();
        if !personal.is_empty() {
            return Err(ImportError::PersonalData {
                path: path.to_owned(),
                columns: personal,
            });
        }
    }
    // Other kinds: each core field goes to the column that matches it best (a
    // mapping file's rename, then the field's own name, its aliases in order,
    // then their stems: see chaski_core::schema), then to the first such column.
    let mut column_core: Vec<Option<usize>> = vec![None; table.columns.len()];
    if !is_households {
        let mut best: HashMap<usize, ((bool, chaski_core::schema::MatchRank), usize)> =
            HashMap::new();
        for (ci, col) in table.columns.iter().enumerate() {
            if mapping.is_some_and(|m| m.drops(&col.name)) {
                continue;
            }
            let renamed = mapping.and_then(|m| m.rename(&col.name));
            let Some((c, rank)) = match_core_field_ranked(kind, renamed.unwrap_or(&col.name))
            else {
                continue;
            };
            let Some(i) = layer.fields.iter().position(|f| f.name == c.name) else {
                continue;
            };
            let bid = ((renamed.is_none(), rank), ci);
            best.entry(i)
                .and_modify(|b| {
                    if bid < *b {
                        *b = bid;
                    }
                })
                .or_insert(bid);
        }
        for (i, (_, ci)) in best {
            column_core[ci] = Some(i);
        }
    }
    for (ci, col) in table.columns.iter().enumerate() {
        if mapping.is_some_and(|m| m.drops(&col.name)) {
            targets.push(Target::Skip);
            continue;
        }
        let name = mapping
            .and_then(|m| m.rename(&col.name))
            .unwrap_or(&col.name);
        let core = match household_plan.as_ref().map(|p| p[ci]) {
            Some(crate::households::ColumnUse::Skip) => {
                targets.push(Target::Skip);
                continue;
            }
            Some(crate::households::ColumnUse::Core(c)) => layer
                .fields
                .iter()
                .position(|f| f.name == c.name)
                .filter(|&i| !core_taken[i]),
            Some(crate::households::ColumnUse::Extra) => None,
            None => column_core[ci],
        };
        if let Some(i) = core {
            core_taken[i] = true;
            targets.push(Target::Core(i));
        } else if is_households
            && !mapping.is_some_and(|m| m.keeps(&col.name) || m.allows_personal(&col.name))
        {
            // Only the household schema is stored.
            dropped_columns.push(col.name.clone());
            targets.push(Target::Skip);
        } else {
            let ty = if table.infer_types && col.ty == FieldType::Text {
                infer_type(
                    table
                        .records
                        .iter()
                        .map(|r| r.values.get(ci).and_then(to_text)),
                )
            } else {
                col.ty
            };
            let n = extra_name(name, &taken);
            taken.insert(n.clone());
            layer.fields.push(Field::new(n, ty));
            extra_types.push((ci, ty));
            targets.push(Target::Extra(layer.fields.len() - 1));
        }
    }

    let mut report = ImportReport {
        file: path.to_owned(),
        layer: opts.layer.clone(),
        kind: Some(kind),
        row_label: table.row_label,
        read: table.records.len() + table.problems.len(),
        imported: 0,
        rejected: 0,
        issues: Vec::new(),
        notes: table.notes.clone(),
        source_crs: table.crs.clone().unwrap_or_else(|| "EPSG:4326".to_owned()),
        feature_rows: Vec::new(),
        withdrawals: Vec::new(),
        withdrawn: 0,
        dropped_columns: Vec::new(),
        warnings: Vec::new(),
        join: None,
    };
    // A joined table: its key must be one of its columns.
    let join_key = opts.join_key();
    let joining = join_key.is_some();
    if joining && is_households {
        return Err(ImportError::JoinHouseholds {
            path: path.to_owned(),
        });
    }
    let join_idx = match join_key {
        Some(key) => {
            let key = normalize_name(key);
            let found = layer.field_index(&key).filter(|&i| {
                targets
                    .iter()
                    .any(|t| matches!(t, Target::Core(j) | Target::Extra(j) if *j == i))
            });
            Some(found.ok_or_else(|| ImportError::JoinKey {
                path: path.to_owned(),
                key: key.clone(),
                columns: column_list(table.columns.iter().map(|c| c.name.as_str())),
            })?)
        }
        None => None,
    };
    if !dropped_columns.is_empty() {
        report.notes.push(format!(
            "columns outside the household schema were not stored: {} (an admin keeps one \
             with [options] keep = [\"COLUMN\"] in a mapping file)",
            dropped_columns.join(", ")
        ));
        report.dropped_columns = dropped_columns;
    }
    // Household rows with consent = no are withdrawals: they need only a code.
    let withdrawal_of =
        |rec: &SourceRecord| -> Option<Result<chaski_core::household::write::Withdrawal, String>> {
            if !is_households {
                return None;
            }
            let core = |name: &str| -> Value {
                targets
                    .iter()
                    .enumerate()
                    .find_map(|(ci, t)| match *t {
                        Target::Core(i) if layer.fields[i].name == name => Some((ci, i)),
                        _ => None,
                    })
                    .and_then(|(ci, i)| {
                        core_value(
                            kind,
                            name,
                            layer.fields[i].ty,
                            rec.values.get(ci).unwrap_or(&Value::Null),
                        )
                        .ok()
                    })
                    .unwrap_or(Value::Null)
            };
            if core("consent") != Value::Bool(false) {
                return None;
            }
            let text = |name: &str| match core(name) {
                Value::Text(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
                Value::Int(n) => Some(n.to_string()),
                _ => None,
            };
            Some(
                text("code")
                    .map(|code| chaski_core::household::write::Withdrawal {
                        row: rec.row,
                        code,
                        submission_uuid: text("submission_uuid"),
                        cha_sector: text("cha_sector"),
                        facility: text("facility"),
                    })
                    .ok_or_else(|| {
                        "consent = no (a withdrawal) but no household code: nothing to delete"
                            .to_owned()
                    }),
            )
        };
    for (row, e) in &table.problems {
        report.issues.push(Issue {
            row: *row,
            field: (!e.field.is_empty()).then(|| e.field.clone()),
            reason: e.reason.clone(),
            action: Action::Rejected,
        });
        report.rejected += 1;
    }

    // Reprojection.
    #[cfg(feature = "proj")]
    let transformer = match &table.crs {
        Some(crs) if !is_wgs84(crs) && !joining => Some(
            crate::crs::Transformer::new(crs, "EPSG:4326").map_err(|e| ImportError::Crs {
                path: path.to_owned(),
                crs: crs.clone(),
                reason: e.to_string(),
            })?,
        ),
        _ => None,
    };
    #[cfg(not(feature = "proj"))]
    if let Some(crs) = &table.crs
        && !is_wgs84(crs)
        && !joining
    {
        return Err(ImportError::Unsupported {
            path: path.to_owned(),
            what: "PROJ (reprojection)",
        });
    }
    // A file without a CRS whose coordinates are clearly not degrees.
    if table.crs.is_none() && !joining {
        let mut sample = table
            .records
            .iter()
            .filter_map(|r| r.geometry.as_ref().ok().and_then(first_coord))
            .take(50);
        let bad: Vec<Coord<f64>> = sample
            .by_ref()
            .filter(|c| c.x.abs() > 360.0 || c.y.abs() > 360.0)
            .collect();
        if bad.len() >= 10
            || (!bad.is_empty() && table.records.len() < 10 && bad.len() == table.records.len())
        {
            return Err(ImportError::NoCrs {
                path: path.to_owned(),
                x: bad[0].x,
                y: bad[0].y,
            });
        }
    }

    let x_field = if table.row_label == "row" {
        "longitude"
    } else {
        "geometry"
    };
    let want = kind.geometry_type();
    let is_point = want == GeometryType::Point;
    let mut seen_codes: HashSet<String> = HashSet::new();
    let mut seen_uuids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let code_idx = layer.field_index("code");
    let code_required = kind
        .core_fields()
        .iter()
        .any(|c| c.name == "code" && c.required);
    let mut issues: Vec<Issue> = Vec::new();
    let mut features = Vec::with_capacity(table.records.len());
    let mut codes_assigned = 0usize;

    for rec in table.records {
        let reject = |issues: &mut Vec<Issue>, field: Option<String>, reason: String| {
            issues.push(Issue {
                row: rec.row,
                field,
                reason,
                action: Action::Rejected,
            });
        };
        match withdrawal_of(&rec) {
            Some(Ok(w)) => {
                report.withdrawals.push(w);
                continue;
            }
            Some(Err(reason)) => {
                reject(&mut issues, Some("code".to_owned()), reason);
                continue;
            }
            None => {}
        }
        // A joined table's rows update stored features: their geometry is not used.
        let geom = if joining {
            Geometry::Point(Point::new(0.0, 0.0))
        } else {
            let mut geom = match rec.geometry {
                Ok(g) => g,
                Err(e) => {
                    reject(
                        &mut issues,
                        (!e.field.is_empty()).then_some(e.field),
                        e.reason,
                    );
                    continue;
                }
            };
            #[cfg(feature = "proj")]
            if let Some(t) = &transformer {
                use geo::MapCoordsInPlace;
                let failed: std::cell::RefCell<Option<chaski_core::crs::CrsError>> =
                    std::cell::RefCell::new(None);
                let r = t.run(|f| {
                    let failed = &failed;
                    geom.map_coords_in_place(|c| match f(c.x, c.y) {
                        Ok((x, y)) => Coord { x, y },
                        Err(e) => {
                            failed.borrow_mut().get_or_insert(e);
                            c
                        }
                    });
                });
                if let Some(e) = r.err().or_else(|| failed.into_inner()) {
                    reject(
                        &mut issues,
                        Some(x_field.to_owned()),
                        format!("outside the area of {}: {e}", report.source_crs),
                    );
                    continue;
                }
            }
            // Coordinate checks.
            let mut verdict = CoordCheck::Ok;
            {
                use geo::CoordsIter;
                for c in geom.coords_iter() {
                    match check_lonlat(c.x, c.y, opts.region.as_ref(), is_point) {
                        CoordCheck::Ok => {}
                        v => {
                            verdict = v;
                            break;
                        }
                    }
                }
            }
            match verdict {
                CoordCheck::Ok => {}
                CoordCheck::Bad(reason) => {
                    reject(&mut issues, Some(x_field.to_owned()), reason);
                    continue;
                }
                CoordCheck::Swapped => {
                    let (x, y) = first_coord(&geom).map_or((0.0, 0.0), |c| (c.x, c.y));
                    let region = opts
                        .region
                        .as_ref()
                        .map_or("the region", |r| r.name.as_str());
                    if opts.fix_swapped {
                        use geo::MapCoordsInPlace;
                        geom.map_coords_in_place(|c| Coord { x: c.y, y: c.x });
                        issues.push(Issue {
                            row: rec.row,
                            field: Some(x_field.to_owned()),
                            reason: format!(
                                "latitude and longitude were swapped (lon {x}, lat {y} is outside {region}); exchanged"
                            ),
                            action: Action::Repaired,
                        });
                    } else {
                        reject(
                            &mut issues,
                            Some(x_field.to_owned()),
                            format!(
                                "latitude and longitude look swapped: lon {x}, lat {y} is outside {region} but \
                                 lon {y}, lat {x} is inside (import with --fix-swapped to exchange them)"
                            ),
                        );
                        continue;
                    }
                }
            }
            if let Some(region) = &opts.region
                && let Some(r) = geom.bounding_rect()
            {
                let [a, b, c, d] = region.bounds;
                if r.max().x < a || r.min().x > c || r.max().y < b || r.min().y > d {
                    // A household outside the region cannot belong to any CHA sector in it.
                    if is_households {
                        reject(
                            &mut issues,
                            Some(x_field.to_owned()),
                            format!(
                                "outside {} (lon {:.5}, lat {:.5})",
                                region.name,
                                r.min().x,
                                r.min().y
                            ),
                        );
                        continue;
                    }
                    issues.push(Issue {
                        row: rec.row,
                        field: Some(x_field.to_owned()),
                        reason: format!(
                            "outside {} (lon {:.5}, lat {:.5})",
                            region.name,
                            r.min().x,
                            r.min().y
                        ),
                        action: Action::Warning,
                    });
                }
            }
            match shape(geom, want) {
                Ok((g, None)) => g,
                Ok((g, Some(note))) => {
                    issues.push(Issue {
                        row: rec.row,
                        field: Some("geometry".to_owned()),
                        reason: note,
                        action: Action::Repaired,
                    });
                    g
                }
                Err(reason) => {
                    reject(&mut issues, Some("geometry".to_owned()), reason);
                    continue;
                }
            }
        };

        // Values.
        let mut values = vec![Value::Null; layer.fields.len()];
        let mut consent_error: Option<(String, String)> = None;
        for (ci, target) in targets.iter().enumerate() {
            let raw = rec.values.get(ci).unwrap_or(&Value::Null);
            match *target {
                Target::Skip => {}
                Target::Core(i) => {
                    let f = &layer.fields[i];
                    match core_value(kind, &f.name, f.ty, raw) {
                        Ok(v) => values[i] = v,
                        Err(reason) if is_households && f.name == "consent" => {
                            consent_error = Some((table.columns[ci].name.clone(), reason));
                        }
                        Err(reason) if is_households && f.name == "risk_level" => {
                            issues.push(Issue {
                                row: rec.row,
                                field: Some(table.columns[ci].name.clone()),
                                reason: format!("{reason}; derived from the flags instead"),
                                action: Action::Warning,
                            });
                        }
                        Err(reason) => issues.push(Issue {
                            row: rec.row,
                            field: Some(table.columns[ci].name.clone()),
                            reason: format!("{reason}; left empty"),
                            action: Action::Warning,
                        }),
                    }
                }
                Target::Extra(i) => values[i] = extra_value(layer.fields[i].ty, raw),
            }
        }
        if is_households
            && let Some((i, n)) = values.iter().enumerate().find_map(|(i, v)| match v {
                Value::Text(t) if t.chars().count() > opts.max_field_chars => {
                    Some((i, t.chars().count()))
                }
                _ => None,
            })
        {
            reject(
                &mut issues,
                Some(layer.fields[i].name.clone()),
                format!(
                    "{n} characters long: a household field holds at most {} (max_field_chars)",
                    opts.max_field_chars
                ),
            );
            continue;
        }
        if let Some(ki) = join_idx {
            let key = &layer.fields[ki].name;
            match to_text(&values[ki]).filter(|k| !k.trim().is_empty()) {
                None => {
                    reject(
                        &mut issues,
                        Some(key.clone()),
                        format!("no {key}: the row cannot be joined"),
                    );
                    continue;
                }
                Some(k) if !seen_codes.insert(crate::join::normalize_key(&k)) => {
                    issues.push(Issue {
                        row: rec.row,
                        field: Some(key.clone()),
                        reason: format!(
                            "{key} '{k}' appears more than once: the last row's values win"
                        ),
                        action: Action::Warning,
                    });
                }
                Some(_) => {}
            }
        } else if let Some(ci) = code_idx {
            match &values[ci] {
                Value::Null if code_required && kind.is_private() => {
                    reject(
                        &mut issues,
                        Some("code".to_owned()),
                        "missing household code".to_owned(),
                    );
                    continue;
                }
                Value::Null if code_required => {
                    codes_assigned += 1;
                    let code = format!("{}-{}", opts.layer, rec.row);
                    issues.push(Issue {
                        row: rec.row,
                        field: Some("code".to_owned()),
                        reason: format!("missing code; assigned '{code}'"),
                        action: Action::Repaired,
                    });
                    values[ci] = Value::Text(code);
                }
                // Households repeat their code once per visit: submissions are checked instead.
                Value::Text(c) if !is_households && !seen_codes.insert(c.clone()) => {
                    issues.push(Issue {
                        row: rec.row,
                        field: Some("code".to_owned()),
                        reason: format!("code '{c}' appears more than once"),
                        action: Action::Warning,
                    });
                }
                _ => {}
            }
        }
        if is_households {
            match crate::households::finish_row(
                &layer,
                &mut values,
                opts.known_codes.as_deref(),
                &mut seen_uuids,
                rec.row,
            ) {
                crate::households::RowCheck::Reject(field, reason) => {
                    let (field, reason) = match (field.as_str(), consent_error) {
                        ("consent", Some((column, e))) => (
                            column,
                            format!(
                                "{e}: household data are stored only with the family's consent"
                            ),
                        ),
                        _ => (field, reason),
                    };
                    reject(&mut issues, Some(field), reason);
                    continue;
                }
                crate::households::RowCheck::Keep(warnings) => {
                    for (field, reason) in warnings {
                        issues.push(Issue {
                            row: rec.row,
                            field: Some(field),
                            reason,
                            action: Action::Warning,
                        });
                    }
                }
            }
        }
        report.feature_rows.push(rec.row);
        features.push(Feature {
            fid: features.len() as i64 + 1,
            geometry: geom,
            values,
        });
    }
    report.rejected += issues
        .iter()
        .filter(|i| i.action == Action::Rejected)
        .count();
    report.issues.extend(issues);
    report.issues.sort_by_key(|i| i.row);
    report.imported = features.len();
    report.withdrawn = report.withdrawals.len();
    layer.features = features;
    if !is_households {
        report.warnings = layer_warnings(
            &layer,
            &table.columns,
            &targets,
            opts,
            joining,
            codes_assigned,
            table.row_label,
        );
    }
    Ok((layer, report))
}

/// File-level warnings of a built layer (not households): core fields empty on
/// every row, columns that look like an unrecognised core field, villages
/// without a population.
fn layer_warnings(
    layer: &Layer,
    columns: &[SourceColumn],
    targets: &[Target],
    opts: &ImportOptions,
    joining: bool,
    codes_assigned: usize,
    row_label: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let n = layer.features.len();
    if n == 0 {
        return warnings;
    }
    let kind = layer.kind;
    let column_of = |i: usize| {
        targets
            .iter()
            .position(|t| matches!(t, Target::Core(j) if *j == i))
            .map(|ci| columns[ci].name.as_str())
    };
    let unmatched: Vec<&str> = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, Target::Extra(_)))
        .map(|(ci, _)| columns[ci].name.as_str())
        .collect();
    let lines = matches!(
        kind,
        LayerKind::Paths | LayerKind::Roads | LayerKind::Rivers
    );
    for (i, c) in kind.core_fields().iter().enumerate() {
        let column = column_of(i);
        let candidates: Vec<&str> = if column.is_none() {
            unmatched
                .iter()
                .copied()
                .filter(|col| is_candidate(c.name, col))
                .collect()
        } else {
            Vec::new()
        };
        let suggestion = |cols: &[&str]| {
            let quoted: Vec<String> = cols.iter().map(|c| format!("'{c}'")).collect();
            format!(
                "{} {} like {}: map it with a mapping file ([fields] {} = \"{}\")",
                quoted.join(", "),
                if cols.len() == 1 { "looks" } else { "look" },
                if cols.len() == 1 { "it" } else { "one" },
                toml_key(cols[0]),
                c.name
            )
        };
        let essential = c.required || (c.name == "name" && !lines);
        // Missing codes were filled with LAYER-ROW: count those, not the values.
        let empty = if c.name == "code" && codes_assigned > 0 {
            codes_assigned == n
        } else {
            layer.features.iter().all(|f| f.values[i].is_null())
        };
        if essential && empty && !joining {
            let all = format!(
                "field '{}' is empty on all {} {row_label}s",
                c.name,
                thousands(n)
            );
            let assigned = if c.name == "code" && codes_assigned == n {
                format!(" (each got the code {}-ROW)", opts.layer)
            } else {
                String::new()
            };
            warnings.push(if let Some(col) = column {
                format!("{all}: column '{col}' holds no value{assigned}")
            } else {
                let mut w = format!(
                    "{all}: no column was recognised as the {}{assigned}; columns were: {}; \
                     map one with a mapping file ([fields] COLUMN = \"{}\")",
                    c.name,
                    column_list(columns.iter().map(|c| c.name.as_str())),
                    c.name
                );
                if !candidates.is_empty() {
                    let _ = write!(w, "; {}", suggestion(&candidates));
                }
                w
            });
        } else if !candidates.is_empty() {
            warnings.push(format!(
                "no column was recognised as the {}: {}",
                c.name,
                suggestion(&candidates)
            ));
        }
    }
    if kind == LayerKind::Communities
        && !joining
        && let Some(p) = layer.field_index("population")
    {
        let unknown = layer
            .features
            .iter()
            .filter(|f| f.values[p].is_null())
            .count();
        if unknown > 0 {
            warnings.push(format!(
                "population unknown for {} of {} villages: join a census table with `--join code`",
                thousands(unknown),
                thousands(n)
            ));
        }
    }
    warnings
}

fn is_wgs84(crs: &str) -> bool {
    let c = crs.trim().to_ascii_uppercase();
    matches!(c.as_str(), "EPSG:4326" | "OGC:CRS84" | "CRS84" | "WGS84")
}

/// What a file became.
#[derive(Debug, Clone)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per imported file; boxing the report would only add an indirection"
)]
pub enum Imported {
    /// A vector layer.
    Layer(Layer, ImportReport),
    /// A raster.
    Raster(Raster<f32>),
}

/// Read, validate and type a file.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Imported, ImportError> {
    match read_source(path, opts)? {
        Source::Raster(r) => Ok(Imported::Raster(r)),
        Source::Table(t) => {
            let (layer, report) = build_layer(t, path, opts)?;
            Ok(Imported::Layer(layer, report))
        }
    }
}

/// A point from `(lon, lat)`, for tests and callers building tables by hand.
pub fn point(lon: f64, lat: f64) -> Geometry<f64> {
    Geometry::Point(Point::new(lon, lat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, line_string, polygon};

    type Row<'a> = (&'a str, Result<(f64, f64), &'a str>);

    fn table(rows: &[Row<'_>]) -> SourceTable {
        SourceTable {
            columns: vec![
                SourceColumn::new("codigo", FieldType::Text),
                SourceColumn::new("categoria", FieldType::Text),
                SourceColumn::new("CAMAS", FieldType::Text),
            ],
            records: rows
                .iter()
                .enumerate()
                .map(|(i, (cat, xy))| SourceRecord {
                    row: i + 2,
                    geometry: xy
                        .map(|(x, y)| point(x, y))
                        .map_err(|e| GeomError::new("lat", e)),
                    values: vec![
                        Value::Text(format!("000{i}")),
                        Value::Text((*cat).to_owned()),
                        Value::Text(format!("{i}")),
                    ],
                })
                .collect(),
            problems: vec![],
            crs: None,
            row_label: "row",
            notes: vec![],
            infer_types: true,
        }
    }

    #[test]
    fn typed_facilities_with_extra_fields() {
        let t = table(&[
            ("I-3", Ok((-74.2, -13.1))),
            ("ii e", Ok((-74.0, -13.0))),
            ("X", Ok((-74.0, -13.0))),
        ]);
        let opts = ImportOptions::new("facilities");
        let (layer, report) = build_layer(t, Path::new("f.csv"), &opts).unwrap();
        assert_eq!(layer.len(), 3);
        assert_eq!(
            layer.value(&layer.features[0], "category"),
            &Value::Text("I-3".into())
        );
        assert_eq!(
            layer.value(&layer.features[1], "category"),
            &Value::Text("II-E".into())
        );
        assert_eq!(layer.value(&layer.features[2], "category"), &Value::Null);
        // codes keep their leading zeros; CAMAS becomes an integer extra field "camas"
        assert_eq!(
            layer.value(&layer.features[0], "code"),
            &Value::Text("0000".into())
        );
        assert_eq!(
            layer.fields.last().unwrap(),
            &Field::new("camas", FieldType::Int)
        );
        assert_eq!(layer.value(&layer.features[2], "camas"), &Value::Int(2));
        assert_eq!(report.count(Action::Warning), 1);
        assert!(
            report
                .issue_line(&report.issues[0])
                .starts_with("f.csv: row 4: field 'categoria': ")
        );
    }

    #[test]
    fn bad_coordinates_are_rejected_with_reasons() {
        let t = table(&[
            ("I-1", Ok((-74.0, 95.0))),
            ("I-1", Ok((-13.1, -74.2))),
            ("I-1", Ok((0.0, 0.0))),
            ("I-1", Err("'abc' is not a number")),
            ("I-1", Ok((-74.0, -13.0))),
        ]);
        let (layer, report) =
            build_layer(t, Path::new("f.csv"), &ImportOptions::new("facilities")).unwrap();
        assert_eq!(layer.len(), 1);
        assert_eq!(report.rejected, 4);
        let reasons: Vec<&str> = report.issues.iter().map(|i| i.reason.as_str()).collect();
        assert!(
            reasons[0].contains("latitude 95 is outside -90..90"),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("look swapped"), "{reasons:?}");
        assert!(reasons[2].contains("0,0"), "{reasons:?}");
        assert!(reasons[3].contains("'abc' is not a number"), "{reasons:?}");
        let rows: Vec<usize> = report.issues.iter().map(|i| i.row).collect();
        assert_eq!(rows, [2, 3, 4, 5]);
    }

    #[test]
    fn swapped_points_can_be_fixed() {
        let t = table(&[("I-1", Ok((-13.1, -74.2)))]);
        let mut opts = ImportOptions::new("facilities");
        opts.fix_swapped = true;
        let (layer, report) = build_layer(t, Path::new("f.csv"), &opts).unwrap();
        assert_eq!(layer.features[0].geometry, point(-74.2, -13.1));
        assert_eq!(report.count(Action::Repaired), 1);
    }

    #[test]
    fn self_intersecting_polygon_is_repaired() {
        // A bow-tie: two triangles touching at (1, 1).
        let bow = polygon![(x: -74.0, y: -13.0), (x: -73.0, y: -12.0), (x: -73.0, y: -13.0), (x: -74.0, y: -12.0), (x: -74.0, y: -13.0)];
        let (g, note) = shape(Geometry::Polygon(bow), GeometryType::MultiPolygon).unwrap();
        assert!(note.is_some());
        let Geometry::MultiPolygon(mp) = g else {
            panic!()
        };
        assert!(mp.is_valid());
        assert!(
            (mp.unsigned_area() - 0.5).abs() < 1e-9,
            "{}",
            mp.unsigned_area()
        );
    }

    #[test]
    fn wrong_geometry_type_is_rejected() {
        let line = Geometry::LineString(line_string![(x: -74.0, y: -13.0), (x: -73.0, y: -12.0)]);
        assert!(
            shape(line, GeometryType::Point)
                .unwrap_err()
                .contains("expected a point")
        );
    }

    #[test]
    fn dates_and_booleans() {
        assert_eq!(
            parse_date("2026-03-01T10:22:00.000-05:00").as_deref(),
            Some("2026-03-01")
        );
        assert_eq!(parse_date("01/03/2026").as_deref(), Some("2026-03-01"));
        assert_eq!(parse_date("2026/03/01").as_deref(), Some("2026-03-01"));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_bool("Sí"), Ok(Some(true)));
        assert_eq!(parse_bool("no sabe"), Ok(None));
        assert!(parse_bool("maybe").is_err());
    }

    #[test]
    fn the_closest_name_wins_a_core_field_whatever_the_column_order() {
        let t = SourceTable {
            columns: vec![
                SourceColumn::new("CODCCPP02", FieldType::Text),
                SourceColumn::new("NOMCCPP02", FieldType::Text),
                SourceColumn::new("IDCCPP02", FieldType::Text),
                SourceColumn::new("TOT_POB99", FieldType::Real),
            ],
            records: vec![SourceRecord {
                row: 1,
                geometry: Ok(point(-76.56, -10.05)),
                values: vec![
                    Value::Text("0067".into()),
                    Value::Text("RACCHAPAMPA".into()),
                    Value::Text("1001050067".into()),
                    Value::Real(227.0),
                ],
            }],
            problems: vec![],
            crs: None,
            row_label: "feature",
            notes: vec![],
            infer_types: false,
        };
        let (layer, report) =
            build_layer(t, Path::new("v.gpkg"), &ImportOptions::new("communities")).unwrap();
        let f = &layer.features[0];
        assert_eq!(layer.value(f, "code"), &Value::Text("1001050067".into()));
        assert_eq!(layer.value(f, "name"), &Value::Text("RACCHAPAMPA".into()));
        assert_eq!(layer.value(f, "population"), &Value::Int(227));
        assert_eq!(layer.value(f, "codccpp02"), &Value::Text("0067".into()));
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn kind_comes_from_option_mapping_or_name() {
        assert_eq!(
            resolve_kind(&ImportOptions::new("ipress")).unwrap(),
            LayerKind::Facilities
        );
        let e = resolve_kind(&ImportOptions::new("things")).unwrap_err();
        assert!(e.to_string().contains("--kind"));
    }
}
