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

mod build;
mod columns;
mod error;
mod geometry;
mod options;
pub(crate) mod parse;
mod read;
pub(crate) mod report;
pub(crate) mod source;
mod values;
mod warnings;

pub use build::build_layer;
pub use error::ImportError;
pub use options::{ImportOptions, MAX_FIELD_CHARS, Region, resolve_kind};
pub use read::{Source, is_raster_path, read_source};
pub use report::{Action, ImportReport, Issue, thousands};
pub use source::{GeomError, SourceColumn, SourceRecord, SourceTable};

use chaski_core::layer::Layer;
use chaski_core::raster::Raster;
use geo::{Geometry, Point};
use std::path::Path;

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
