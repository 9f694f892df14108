//! Analysis engines on rasters in a metric CRS: friction surfaces from terrain,
//! multi-source travel time with allocation and routes, river networks from a
//! DEM, rasterisation of line layers onto the analysis grid, isochrone
//! polygons and Monte Carlo uncertainty.
//!
//! A typical travel-time run:
//! 1. project the DEM to the metric CRS of the area (done by the caller, `chaski-io`);
//! 2. burn paths, roads, rivers, bridges and fords into class rasters with
//!    [`rasterize`], or derive rivers from the DEM with [`hydrology`];
//! 3. build a [`cost::CostSurface`] with [`friction::terrain_surface`] for a
//!    [`scenario::Scenario`], or from a user's speed or friction raster;
//! 4. run [`cost::travel_time`] from the facilities' cells;
//! 5. draw [`isochrone`] bands and catchments, or estimate the spread of the
//!    times with [`uncertainty`] (Monte Carlo over the scenario's ranges).

pub mod cost;
pub mod friction;
pub mod grid;
pub mod hydrology;
pub mod isochrone;
pub mod pipeline;
pub mod queue;
pub mod rasterize;
pub mod scenario;
pub mod uncertainty;
pub mod village_access;
pub mod vocab;

pub use pipeline::*;

pub use cost::{CostSurface, Direction, SearchOptions, TravelTimes, travel_time};
pub use friction::{TerrainInputs, terrain_surface};
pub use grid::Grid;
pub use scenario::Scenario;
