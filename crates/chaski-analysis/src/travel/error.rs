//! Errors of the travel-time pipeline: each names the input, option or edit at fault.

use crate::travel::friction::FrictionError;
use crate::travel::grid::GridError;
use chaski_core::crs::CrsError;
use chaski_core::store::StoreError;

/// The travel-time pipeline failed (each variant names the input at fault).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TravelError {
    /// An option has a value out of range (`option` as the HTTP query
    /// parameter names it; the command line maps it to its flag).
    #[error("{option} {value}: {reason}")]
    Option {
        /// Option name.
        option: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A raster cannot be used as a travel surface.
    #[error("raster {what}: {reason}")]
    Raster {
        /// Which raster (store name or file).
        what: String,
        /// Why.
        reason: String,
    },
    /// The travel-time grid would exceed the cell cap.
    #[error(
        "raster {what}: the travel-time grid would be {width} x {height} cells, more than the {max} allowed"
    )]
    TooLarge {
        /// Which raster.
        what: String,
        /// Columns.
        width: usize,
        /// Rows.
        height: usize,
        /// The cap.
        max: usize,
    },
    /// No source is left to start from.
    #[error("{what}: {reason}")]
    Sources {
        /// The sources (e.g. "layer 'facilities'").
        what: String,
        /// Why.
        reason: String,
    },
    /// A layer named explicitly is not in the store (`option`: which layer of
    /// the options it is).
    #[error("layer '{layer}' (the {option} layer) is not in the store; it has {available}")]
    MissingLayer {
        /// Layer name.
        layer: String,
        /// Option naming it.
        option: &'static str,
        /// What the store has, in words.
        available: String,
    },
    /// A layer named for districts does not hold polygons.
    #[error(
        "layer '{layer}' (the {option} layer) holds {holds}, not polygons: name a layer of district \
         boundaries (import one with `chaski import FILE --layer districts --kind boundaries`)"
    )]
    NotPolygons {
        /// Layer name.
        layer: String,
        /// Option naming it.
        option: &'static str,
        /// What it holds, in words.
        holds: String,
    },
    /// No raster of the store can be the DEM, or several can.
    #[error("{reason}; the store has {available}")]
    Dem {
        /// What is wrong and what to do.
        reason: String,
        /// What the store has, in words.
        available: String,
    },
    /// The store failed.
    #[error("{what}: {source}")]
    Store {
        /// What was being read.
        what: String,
        /// The store's error.
        source: StoreError,
    },
    /// A coordinate transformation failed.
    #[error("{what}: {source}")]
    Crs {
        /// What was being transformed.
        what: String,
        /// PROJ's error.
        source: CrsError,
    },
    /// A what-if edit cannot be applied (index in the list of edits, field at fault).
    #[error("feature {index}: {field}: {reason}")]
    Edit {
        /// Index of the edit.
        index: usize,
        /// Field at fault (`geometry`, `code`, ...).
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The grid is unusable.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// The travel surface could not be built.
    #[error(transparent)]
    Friction(#[from] FrictionError),
    /// The scenario is invalid.
    #[error(transparent)]
    Scenario(#[from] crate::travel::scenario::ScenarioError),
    /// The districts to filter by cannot be chosen or found (`option` names
    /// the option or query parameter).
    #[error("{option}: {reason}")]
    Districts {
        /// Option or parameter.
        option: &'static str,
        /// Why, with the candidates.
        reason: String,
    },
    /// The district summary could not be made.
    #[error(transparent)]
    Summary(#[from] crate::travel::village_access::SummaryError),
}

pub(crate) fn crs(what: impl Into<String>) -> impl FnOnce(CrsError) -> TravelError {
    let what = what.into();
    move |source| TravelError::Crs { what, source }
}

pub(crate) fn store_err(what: impl Into<String>) -> impl FnOnce(StoreError) -> TravelError {
    let what = what.into();
    move |source| TravelError::Store { what, source }
}
