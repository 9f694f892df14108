//! Travel time to care on rasters in a metric CRS.
//!
//! **Kernels**: friction surfaces from terrain ([`friction`]), the
//! multi-source search with allocation and routes ([`cost`]), river networks
//! from a DEM ([`hydrology`]), rasterisation of line layers onto the grid
//! ([`rasterize`]), isochrone and catchment polygons ([`isochrone`]), Monte
//! Carlo uncertainty ([`uncertainty`]) and per-village and per-district results
//! ([`village_access`]); the words users type are parsed once in [`vocab`].
//!
//! **Pipeline**, shared by `chaski catchments` and the HTTP API, in the order a
//! run goes through it: read the DEM (or friction raster) and the facilities,
//! villages, paths, roads and rivers from a [`Store`](chaski_core::store::Store)
//! ([`layers`]); put the raster on a metric grid ([`metric`]); select the
//! sources ([`sources`]); burn the lines in ([`burn`]); place the villages and
//! districts ([`places`]); prepare all of it once ([`inputs`]), build the travel
//! surface of a [`Scenario`](scenario::Scenario), search and read off times,
//! allocation, routes, the per-village table and isochrones ([`results`]);
//! minutes between candidate sites and the villages in their reach ([`reach`]);
//! answer what-if edits ([`edits`]). Errors: [`error`]. Villages outside the
//! grid or on nodata cells are "outside the surface" and never given a time.
//!
//! ```no_run
//! use chaski_analysis::travel::cost::Direction;
//! use chaski_analysis::travel::scenario::Scenario;
//! use chaski_core::store::memory::MemoryStore;
//! use chaski_analysis::travel::{TravelInputs, TravelOptions};
//!
//! let store = MemoryStore::new(); // with a `dem` raster and a `facilities` layer
//! # let projections: &dyn chaski_core::crs::Projections = todo!(); // PROJ in chaski-io
//! let inputs = TravelInputs::from_store(&store, &TravelOptions::default(), projections)?;
//! let result = inputs.run(&Scenario::walking(), Direction::ToSource, None)?;
//! let minutes = result.minutes_at(-74.1, -12.95);
//! let route = result.route_from(-74.1, -12.95);
//! # Ok::<(), chaski_analysis::travel::TravelError>(())
//! ```

pub mod cost;
pub mod friction;
pub mod grid;
pub mod hydrology;
pub mod isochrone;
pub mod queue;
pub mod rasterize;
pub mod scenario;
pub mod uncertainty;
pub mod underserved;
pub mod village_access;
pub mod vocab;

pub mod burn;
pub mod edits;
pub mod error;
pub(crate) mod features;
pub mod inputs;
pub mod layers;
pub mod metric;
pub mod places;
pub mod reach;
pub mod results;
pub mod sources;

#[cfg(test)]
mod tests;

pub use burn::{
    DEFAULT_STREAM_KM2, burn_layer, dem_streams, derived_rivers, land_cover_on, route_class,
};
pub use edits::{Edit, EditEffect, EditedInputs, Recompute};
pub use error::TravelError;
pub use inputs::TravelInputs;
pub use layers::{StoreLayers, SurfaceModel, TravelOptions, find_dem, read_layers, store_contents};
pub use metric::{Lattice, Metric, to_metric};
pub use places::{
    Place, PlaceFilter, district_layer, district_polygons, districts_of, find_district, villages,
};
pub use reach::ReachMatrix;
pub use results::{
    Catchment, Isochrone, PointAccess, RunReport, RunSettings, TravelResult, deg, multipolygon_json,
};
pub use sources::{Facility, SourceFilter, facilities};
