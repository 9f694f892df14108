//! Vector files through GDAL/OGR: GeoPackage, Shapefile, GeoJSON, KML, FlatGeobuf and
//! every other format GDAL reads.
//!
//! A file is read into a [`SourceTable`]: attribute columns with their OGR types,
//! one record per feature (numbered from 1 in file order), each geometry converted
//! to `geo` or kept as a per-feature error, and the layer's CRS so the importer can
//! reproject with PROJ. GDAL's own error messages are captured (not printed) and
//! put into ours.

use crate::import::source::{GeomError, SourceColumn, SourceRecord, SourceTable};
use chaski_core::value::{FieldType, Value};
use gdal::vector::{LayerAccess, OGRFieldType};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// A vector file could not be read as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VectorError {
    /// GDAL cannot open the file.
    #[error("{path}: not a geographic file GDAL can read ({reason})")]
    Open {
        /// The file.
        path: PathBuf,
        /// What GDAL said.
        reason: String,
    },
    /// The file opened but has no vector layer.
    #[error("{path}: the file has no vector layer{hint}")]
    NoLayers {
        /// The file.
        path: PathBuf,
        /// A hint (e.g. that it is a raster).
        hint: String,
    },
    /// The requested layer is not in the file.
    #[error("{path}: no layer '{layer}' in the file (it has: {available})")]
    NoSuchLayer {
        /// The file.
        path: PathBuf,
        /// The layer asked for.
        layer: String,
        /// Layers present.
        available: String,
    },
    /// The layer has no geometry column.
    #[error(
        "{path}: layer '{layer}' has no geometry column (a plain table is not a geographic layer)"
    )]
    NoGeometry {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
    },
    /// Fewer features could be read than the layer declares: the file is damaged.
    #[error(
        "{path}: layer '{layer}' is damaged: it declares {declared} features but only {read} could be read{reason}"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// Features the layer declares.
        declared: u64,
        /// Features read.
        read: u64,
        /// GDAL's last error, if any.
        reason: String,
    },
}

thread_local! {
    static LAST_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Route GDAL's error messages to `tracing` and remember the last one per thread.
pub fn capture_gdal_errors() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gdal::config::set_error_handler(|class, code, msg| {
            tracing::debug!(?class, code, "GDAL: {msg}");
            if matches!(
                class,
                gdal::errors::CplErrType::Failure | gdal::errors::CplErrType::Fatal
            ) {
                LAST_ERROR.with(|e| *e.borrow_mut() = Some(msg.trim().to_owned()));
            }
        });
    });
}

/// Take the last GDAL error message of this thread.
pub fn take_last_gdal_error() -> Option<String> {
    LAST_ERROR.with(|e| e.borrow_mut().take())
}

/// Forget the last GDAL error if it is GDAL's complaint about a NULL
/// geometry handle (what asking about a feature's absent geometry causes),
/// keeping any other; true when it was.
fn forget_null_geometry_error() -> bool {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        let null = e.as_deref().is_some_and(|m| m.contains("'hGeom' is NULL"));
        if null {
            *e = None;
        }
        null
    })
}

fn field_type(t: OGRFieldType::Type) -> FieldType {
    match t {
        OGRFieldType::OFTInteger | OGRFieldType::OFTInteger64 => FieldType::Int,
        OGRFieldType::OFTReal => FieldType::Real,
        OGRFieldType::OFTDate => FieldType::Date,
        _ => FieldType::Text,
    }
}

/// Read one layer (by name, or the first one) of a vector file.
pub fn read_vector(path: &Path, source_layer: Option<&str>) -> Result<SourceTable, VectorError> {
    read_layer(path, source_layer, true)
}

/// Read one layer of a file whose features need no geometry (a table joined to
/// a stored layer by a key): also a plain table (a GeoPackage attribute table,
/// a spreadsheet GDAL reads, a DBF), whose records then have no geometry.
pub fn read_table(path: &Path, source_layer: Option<&str>) -> Result<SourceTable, VectorError> {
    read_layer(path, source_layer, false)
}

fn read_layer(
    path: &Path,
    source_layer: Option<&str>,
    need_geometry: bool,
) -> Result<SourceTable, VectorError> {
    capture_gdal_errors();
    take_last_gdal_error();
    let open_err = |e: gdal::errors::GdalError| VectorError::Open {
        path: path.to_owned(),
        reason: take_last_gdal_error().unwrap_or_else(|| e.to_string()),
    };
    if !path.exists() {
        return Err(VectorError::Open {
            path: path.to_owned(),
            reason: "no such file".to_owned(),
        });
    }
    let ds = Dataset::open_ex(
        path,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            ..DatasetOptions::default()
        },
    )
    .map_err(open_err)?;
    let count = ds.layer_count();
    if count == 0 {
        return Err(VectorError::NoLayers {
            path: path.to_owned(),
            hint: String::new(),
        });
    }
    let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
    let mut notes = Vec::new();
    let mut layer = if let Some(name) = source_layer {
        ds.layer_by_name(name)
            .map_err(|_| VectorError::NoSuchLayer {
                path: path.to_owned(),
                layer: name.to_owned(),
                available: names.join(", "),
            })?
    } else {
        if count > 1 {
            notes.push(format!(
                "the file has {count} layers ({}); importing '{}' (choose another with --source-layer)",
                names.join(", "),
                names[0]
            ));
        }
        ds.layer(0).map_err(open_err)?
    };
    let layer_name = layer.name();
    if need_geometry && layer.defn().geom_fields().count() == 0 {
        return Err(VectorError::NoGeometry {
            path: path.to_owned(),
            layer: layer_name,
        });
    }
    let crs = layer.spatial_ref().and_then(|srs| {
        let is_4326 =
            srs.auth_name().as_deref() == Some("EPSG") && srs.auth_code().ok() == Some(4326);
        if is_4326 {
            None
        } else if let (Some(name), Ok(code)) = (srs.auth_name(), srs.auth_code()) {
            Some(format!("{name}:{code}"))
        } else {
            srs.to_wkt().ok()
        }
    });
    let defs: Vec<(String, OGRFieldType::Type)> = layer
        .defn()
        .fields()
        .map(|f| (f.name(), f.field_type()))
        .collect();
    let columns: Vec<SourceColumn> = defs
        .iter()
        .map(|(n, t)| SourceColumn::new(n.clone(), field_type(*t)))
        .collect();
    let declared = layer.try_feature_count();
    let mut records = Vec::with_capacity(declared.unwrap_or(0) as usize);
    for (i, feature) in layer.features().enumerate() {
        let row = i + 1;
        let mut values = Vec::with_capacity(defs.len());
        for (idx, (_, ty)) in defs.iter().enumerate() {
            let v = match *ty {
                OGRFieldType::OFTInteger | OGRFieldType::OFTInteger64 => feature
                    .field_as_integer64(idx)
                    .ok()
                    .flatten()
                    .map_or(Value::Null, Value::Int),
                OGRFieldType::OFTReal => feature
                    .field_as_double(idx)
                    .ok()
                    .flatten()
                    .filter(|v| v.is_finite())
                    .map_or(Value::Null, Value::Real),
                _ => feature
                    .field_as_string(idx)
                    .ok()
                    .flatten()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .map_or(Value::Null, Value::Text),
            };
            values.push(v);
        }
        let geometry = match feature.geometry() {
            None => Err(GeomError::new("geometry", "missing geometry")),
            // GeoJSON's `"geometry": null` reaches us as a geometry with a
            // NULL handle (GDAL notes it when asked): say it is missing,
            // not "unsupported", and drop GDAL's note about the handle.
            Some(g) if g.is_empty() | forget_null_geometry_error() => Err(GeomError::new(
                "geometry",
                "missing geometry (the feature has no coordinates)",
            )),
            Some(g) => g.to_geo().map_err(|e| {
                GeomError::new(
                    "geometry",
                    format!("unreadable {} geometry: {e}", g.geometry_name()),
                )
            }),
        };
        records.push(SourceRecord {
            row,
            geometry,
            values,
        });
    }
    if let Some(declared) = declared
        && declared != records.len() as u64
    {
        return Err(VectorError::Damaged {
            path: path.to_owned(),
            layer: layer_name,
            declared,
            read: records.len() as u64,
            reason: take_last_gdal_error()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
        });
    }
    if let Some(e) = take_last_gdal_error() {
        notes.push(format!("GDAL reported: {e}"));
    }
    Ok(SourceTable {
        columns,
        records,
        problems: Vec::new(),
        crs,
        row_label: "feature",
        notes,
        infer_types: false,
    })
}
