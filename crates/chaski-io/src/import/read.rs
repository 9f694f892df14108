//! Reading a file into a [`Source`]: CSV with chaski's reader, rasters and
//! other vector formats through GDAL.

use super::error::ImportError;
use super::options::ImportOptions;
use super::source::SourceTable;
use chaski_core::raster::Raster;
use std::path::Path;

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
