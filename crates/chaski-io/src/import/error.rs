//! [`ImportError`]: an import that failed as a whole.

use crate::mapping::MappingError;
use std::path::PathBuf;

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
