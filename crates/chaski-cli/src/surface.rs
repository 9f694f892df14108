//! The travel surface options `chaski catchments` and `chaski site` share:
//! the DEM or friction raster, the layers burned into it, the scenario and
//! the moves of the search.

use anyhow::{Context, Result};
use chaski_analysis::travel::cost::Neighbourhood;
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::vocab::Preset;
use chaski_analysis::travel::{SurfaceModel, TravelOptions};
use std::path::PathBuf;

/// Unit of a `--friction` raster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FrictionUnit {
    /// Speed in km/h (0 or less: impassable).
    Kmh,
    /// Seconds per metre.
    #[value(name = "s_per_m", alias = "s-per-m")]
    SPerM,
}

/// The travel surface and the layers on it.
#[derive(Debug, clap::Args)]
pub struct SurfaceArgs {
    /// DEM raster in the store (default: the raster called `dem`, else the store's only
    /// raster other than --land-cover).
    #[arg(long)]
    pub dem: Option<String>,

    /// Read the DEM from this GeoTIFF (or any GDAL raster) instead of the store.
    #[arg(long, conflicts_with = "friction")]
    pub dem_file: Option<PathBuf>,

    /// Facilities layer (the sources).
    #[arg(long, default_value = "facilities")]
    pub facilities: String,

    /// Villages layer (points) to report on.
    #[arg(long, default_value = "communities")]
    pub villages: String,

    /// Paths layer burned into the terrain model (default: `paths` when present; `none` to skip).
    #[arg(long)]
    pub paths: Option<String>,

    /// Roads layer (default: `roads` when present; `none` to skip).
    #[arg(long)]
    pub roads: Option<String>,

    /// Rivers layer, barriers except at bridges and fords (default: `rivers` when present; `none` to skip).
    /// `dem` or `dem:KM2` derives streams from the DEM instead: cells draining at least KM2 km²
    /// (default 1) by flow accumulation; mapped paths and roads cross them as fords.
    #[arg(long)]
    pub rivers: Option<String>,

    /// Scenario TOML file (fields of the walking scenario it changes).
    #[arg(long, conflicts_with = "preset")]
    pub scenario: Option<PathBuf>,

    /// Built-in scenario: walking, motorised, rainy, pregnant or stretcher.
    #[arg(long)]
    pub preset: Option<Preset>,

    /// A friction raster replacing the terrain model (speed or pace per cell).
    #[arg(long)]
    pub friction: Option<PathBuf>,

    /// Unit of the --friction raster.
    #[arg(long, value_enum, default_value = "kmh")]
    pub friction_unit: FrictionUnit,

    /// Land-cover raster in the store (class codes, EPSG:4326 or the grid's CRS): each class
    /// walks at the off-path factor the scenario's `[[land_cover]]` table gives it (0: impassable).
    #[arg(long)]
    pub land_cover: Option<String>,

    /// Moves of the search: 8 (as GRASS r.cost; at most 8.2 % longer than the straight
    /// line), 16 (8 neighbours and knight's moves, as GRASS r.cost -k; at most 2.75 %) or 24
    /// (also three-by-one moves; at most 1.3 %). Each move costs the integral of pace along it.
    #[arg(long, default_value = "16")]
    pub moves: Neighbourhood,

    /// Cell size in metres when warping a geographic raster (default: its own resolution).
    #[arg(long)]
    pub cell: Option<f64>,
}

impl SurfaceArgs {
    /// The scenario of `--scenario` or `--preset` (walking by default), validated.
    pub fn scenario(&self) -> Result<Scenario> {
        let s = if let Some(path) = &self.scenario {
            let text = std::fs::read_to_string(path).map_err(|e| {
                crate::catchments::CatchmentsError::Scenario {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?;
            toml::from_str::<Scenario>(&text).map_err(|e| {
                crate::catchments::CatchmentsError::Scenario {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?
        } else {
            self.preset.unwrap_or(Preset::Walking).scenario()
        };
        s.validate()
            .map_err(|e| crate::catchments::CatchmentsError::Scenario {
                path: self.scenario.clone().unwrap_or_default(),
                reason: e.to_string(),
            })?;
        Ok(s)
    }
}

impl SurfaceArgs {
    /// The options of the shared pipeline ([`chaski_analysis::travel`]) these
    /// flags set (no facility filter, villages in the raster's extent, no districts).
    pub fn travel_options(&self) -> TravelOptions {
        TravelOptions {
            dem: self.dem.clone(),
            facilities: self.facilities.clone(),
            villages: self.villages.clone(),
            paths: self.paths.clone(),
            roads: self.roads.clone(),
            rivers: self.rivers.clone(),
            cell: self.cell,
            model: self.model(),
            land_cover: self.land_cover.clone(),
            neighbourhood: self.moves,
            ..TravelOptions::default()
        }
    }

    /// How the raster becomes a surface.
    pub fn model(&self) -> SurfaceModel {
        match (&self.friction, self.friction_unit) {
            (None, _) => SurfaceModel::Terrain,
            (Some(_), FrictionUnit::Kmh) => SurfaceModel::SpeedKmh,
            (Some(_), FrictionUnit::SPerM) => SurfaceModel::SecondsPerMetre,
        }
    }

    /// The raster of the surface: `--friction` or `--dem-file`, else the store's DEM;
    /// and its name in messages.
    pub fn raster(
        &self,
        store: &dyn chaski_core::store::Store,
    ) -> Result<(chaski_core::raster::Raster<f32>, String)> {
        if let Some(f) = self.friction.as_ref().or(self.dem_file.as_ref()) {
            return Ok((chaski_io::raster::read_raster(f)?, f.display().to_string()));
        }
        let dem = chaski_analysis::travel::find_dem(
            store,
            self.dem.as_deref(),
            self.land_cover.as_deref(),
        )?;
        let r = store
            .read_raster(&dem)
            .with_context(|| format!("reading the DEM '{dem}' from the store"))?;
        Ok((r, format!("'{dem}'")))
    }
}
