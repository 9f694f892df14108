//! Everything a search needs that does not depend on the scenario, prepared
//! once ([`TravelInputs`]), and the searches run on it.

use super::burn::{burn_layer, dem_streams, derived_rivers, land_cover_on};
use super::error::{TravelError, store_err};
use super::layers::{StoreLayers, SurfaceModel, TravelOptions, find_dem, read_layers};
use super::metric::{Metric, to_metric};
use super::places::{Place, districts_of, villages};
use super::results::{RunReport, RunSettings, TravelResult};
use super::sources::{Facility, SourceFilter, facilities};
use crate::travel::cost::{
    CostSurface, Direction, Neighbourhood, SearchOptions, TravelTimes, travel_time,
};
use crate::travel::friction::{TerrainInputs, terrain_surface};
use crate::travel::grid::Grid;
use crate::travel::scenario::{Scenario, WaterClass};
use crate::travel::uncertainty::{Interval, monte_carlo_observed};
use crate::travel::village_access::{District, Village, village_access};
use chaski_core::crs::Projections;
use chaski_core::raster::Raster;
use chaski_core::store::Store;
use std::sync::Arc;
use std::time::Instant;

/// Everything a search needs that does not depend on the scenario: the
/// raster on a metric grid, the burned lines, the sources, villages and districts.
pub struct TravelInputs {
    /// The raster on a metric grid.
    pub metric: Arc<Metric>,
    /// The raster as named in messages (`'dem'`, a file path).
    pub raster_name: String,
    /// How the raster becomes a surface.
    pub model: SurfaceModel,
    /// Route classes burned from paths and roads (None when there are none).
    pub routes: Option<Raster<u8>>,
    /// Water classes burned from rivers, bridges and fords (None when there are none).
    pub water: Option<Raster<u8>>,
    /// Layers burned and their feature counts.
    pub burned: Vec<(String, usize)>,
    /// Name of the facilities layer.
    pub facilities_layer: String,
    /// The located facilities passing the filter.
    pub facilities: Vec<Facility>,
    /// The filter of the facilities.
    pub filter: SourceFilter,
    /// Name of the villages layer, when there is one.
    pub villages_layer: Option<String>,
    /// The villages (those in the raster's extent unless all were asked for),
    /// shared by every search of these inputs.
    pub places: Arc<[Place]>,
    /// Villages outside the raster's extent.
    pub outside_extent: usize,
    /// District polygons in the metric CRS, when asked for.
    pub districts: Option<Vec<District>>,
    /// Moves the searches may make.
    pub neighbourhood: Neighbourhood,
    /// Land-cover classes on the metric grid (terrain model only).
    pub land_cover: Option<Arc<Raster<f32>>>,
}

impl TravelInputs {
    /// Read the DEM ([`find_dem`] with `opts.dem`) and the layers from `store` and
    /// prepare them, with the metric CRS from `projections`.
    pub fn from_store(
        store: &dyn Store,
        opts: &TravelOptions,
        projections: &dyn Projections,
    ) -> Result<Self, TravelError> {
        let dem = find_dem(store, opts.dem.as_deref(), opts.land_cover.as_deref())?;
        if let Some(max) = opts.max_cells {
            let info = store
                .rasters()
                .map_err(store_err("listing the store's rasters"))?
                .into_iter()
                .find(|r| r.name == dem);
            if let Some(i) = info.filter(|i| i.width.saturating_mul(i.height) > max) {
                return Err(TravelError::TooLarge {
                    what: format!("'{dem}'"),
                    width: i.width,
                    height: i.height,
                    max,
                });
            }
        }
        let layers = read_layers(store, opts)?;
        let raster = store
            .read_raster(&dem)
            .map_err(store_err(format!("reading the raster '{dem}'")))?;
        Self::new(&layers, raster, &format!("'{dem}'"), opts, projections)
    }

    /// Prepare `raster` (named `what` in messages) and `layers`, with the
    /// metric CRS from `projections`.
    pub fn new(
        layers: &StoreLayers,
        raster: Raster<f32>,
        what: &str,
        opts: &TravelOptions,
        projections: &dyn Projections,
    ) -> Result<Self, TravelError> {
        let filter = SourceFilter::new(opts.category.as_ref(), opts.birth_care);
        let metric = to_metric(raster, what, opts.cell, opts.max_cells, projections)?;
        let grid = Grid::of(&metric.raster)?;
        let (mut routes, mut water) = (None, None);
        let mut burned = Vec::new();
        let streams = match derived_rivers(opts.rivers.as_deref())? {
            Some(km2) if opts.model == SurfaceModel::Terrain => Some(dem_streams(&metric, km2)?),
            _ => None,
        };
        if opts.model == SurfaceModel::Terrain && (!layers.lines.is_empty() || streams.is_some()) {
            let mut r = grid.raster(0u8);
            let mut w = streams.clone().unwrap_or_else(|| grid.raster(0u8));
            for layer in &layers.lines {
                let n = burn_layer(layer, metric.projection.as_ref(), &mut r, &mut w)?;
                tracing::info!(layer = layer.name, features = n, "burned");
                burned.push((layer.name.clone(), n));
            }
            if let Some(streams) = &streams {
                // No bridge is mapped on a derived stream: where a mapped path
                // or road crosses one, it crosses as a ford.
                let river = WaterClass::River.code();
                let ford = WaterClass::Ford.code();
                let mut cells = 0;
                for ((wc, sc), rc) in w.data.iter_mut().zip(&streams.data).zip(&r.data) {
                    if *sc == river {
                        cells += 1;
                        if *wc == river && *rc != 0 {
                            *wc = ford;
                        }
                    }
                }
                tracing::info!(cells, "streams derived from the DEM");
                burned.push(("streams from the DEM (cells)".to_owned(), cells));
            }
            routes = r.data.iter().any(|&c| c != 0).then_some(r);
            water = w.data.iter().any(|&c| c != 0).then_some(w);
        }
        let land_cover = match &layers.land_cover {
            Some(lc) if opts.model == SurfaceModel::Terrain => Some(Arc::new(land_cover_on(
                &metric,
                lc,
                opts.land_cover.as_deref().unwrap_or("land cover"),
            )?)),
            _ => None,
        };
        let facilities = facilities(&layers.facilities, &filter);
        let (places, outside_extent) = match &layers.villages {
            Some(l) => villages(l, &metric, opts.all_villages)?,
            None => (Vec::new(), 0),
        };
        if let (Some(streams), Some(w)) = (&streams, water.as_mut()) {
            // People live and work on a derived stream's banks: a village's or
            // a facility's own cell stays passable (a 30 m cell is wider than
            // most such streams, and no crossing of them is mapped).
            let lonlats: Vec<(f64, f64)> = facilities.iter().map(|f| f.lonlat).collect();
            let mut cells: Vec<(f64, f64)> = metric
                .projection
                .forward_each(&lonlats)
                .into_iter()
                .flatten()
                .collect();
            cells.extend(places.iter().map(|p| (p.village.x, p.village.y)));
            let river = WaterClass::River.code();
            for (x, y) in cells {
                if let Some((c, r)) = grid.cell_at(x, y) {
                    let i = r * grid.width + c;
                    if streams.data.get(i) == Some(&river) && w.data.get(i) == Some(&river) {
                        w.data[i] = 0;
                    }
                }
            }
        }
        let districts = match &layers.districts {
            Some(l) => Some(districts_of(l, metric.projection.as_ref())?),
            None => None,
        };
        Ok(Self {
            metric: Arc::new(metric),
            raster_name: what.to_owned(),
            model: opts.model,
            routes,
            water,
            burned,
            facilities_layer: layers.facilities.name.clone(),
            facilities,
            filter,
            villages_layer: layers.villages.as_ref().map(|l| l.name.clone()),
            places: places.into(),
            outside_extent,
            districts,
            neighbourhood: opts.neighbourhood,
            land_cover,
        })
    }

    /// What a run of `scenario` with `result` used and assumed (see [`RunReport`]).
    pub fn report(&self, scenario: &Scenario, result: &TravelResult) -> RunReport {
        let terrain = self.model == SurfaceModel::Terrain;
        // Tobler on the flat (5.04 km/h) times the traveller and off-path factors.
        let off_path = terrain.then(|| {
            crate::travel::cost::tobler_kmh(0.0) * scenario.walker_factor * scenario.off_path_factor
        });
        let mut assumptions = Vec::new();
        if terrain && self.routes.is_none() {
            assumptions.push(format!(
                "no paths or roads in the store: every cell is walked off path, at most {:.1} \
                 km/h on the flat (import a paths or roads layer to walk them faster)",
                off_path.unwrap_or(0.0)
            ));
        }
        if terrain && self.water.is_none() {
            assumptions.push(
                "no rivers in the store (and none derived from the DEM): no river is a \
                 barrier"
                    .to_owned(),
            );
        }
        if !terrain {
            assumptions.push(
                "a user friction raster: paths, roads, rivers and slopes count only as the \
                 raster has them"
                    .to_owned(),
            );
        }
        if self.villages_layer.is_none() {
            assumptions.push("no villages layer: no village table".to_owned());
        }
        let without = result
            .places
            .iter()
            .filter(|p| p.village.population.is_none())
            .count();
        if without > 0 {
            assumptions.push(format!(
                "population unknown for {without} of {} villages: population totals count the \
                 known ones only and are empty where none is known (join a census table: \
                 `chaski import TABLE.csv --layer communities --join code`)",
                result.places.len()
            ));
        }
        if self.outside_extent > 0 {
            assumptions.push(format!(
                "{} villages lie outside the raster's extent",
                self.outside_extent
            ));
        }
        RunReport {
            raster: self.raster_name.clone(),
            model: match self.model {
                SurfaceModel::Terrain => "Tobler's hiking function on the DEM's slopes".to_owned(),
                SurfaceModel::SpeedKmh => "speeds in km/h".to_owned(),
                SurfaceModel::SecondsPerMetre => "friction in seconds per metre".to_owned(),
            },
            epsg: self.metric.epsg,
            warped_from_4326: self.metric.warped,
            cell_m: self.metric.raster.cell_size().0,
            scenario: result.scenario.clone(),
            off_path_kmh_on_flat: off_path.map(|v| (v * 100.0).round() / 100.0),
            moves: result.neighbourhood.moves(),
            direction: match result.direction {
                Direction::ToSource => "to the facility".to_owned(),
                Direction::FromSource => "from the facility".to_owned(),
            },
            max_minutes: result.max_minutes,
            burned: self.burned.clone(),
            assumptions,
            villages: result.places.len(),
            villages_without_population: without,
        }
    }

    /// The grid of the surface.
    pub fn grid(&self) -> Grid {
        Grid {
            width: self.metric.raster.width,
            height: self.metric.raster.height,
            transform: self.metric.raster.transform,
            epsg: Some(self.metric.epsg),
        }
    }

    /// Name of the surface model with `scenario`: the scenario's name for the
    /// terrain model, "friction raster (km/h)" or "friction raster (s/m)" otherwise.
    pub fn scenario_name(&self, scenario: &Scenario) -> String {
        match self.model {
            SurfaceModel::Terrain => scenario.name.clone(),
            SurfaceModel::SpeedKmh => "friction raster (km/h)".to_owned(),
            SurfaceModel::SecondsPerMetre => "friction raster (s/m)".to_owned(),
        }
    }

    /// The travel surface of `scenario` (ignored for friction rasters).
    pub fn surface(&self, scenario: &Scenario) -> Result<CostSurface, TravelError> {
        let raster = &self.metric.raster;
        Ok(match self.model {
            SurfaceModel::SpeedKmh => CostSurface::from_speed_kmh(raster)?,
            SurfaceModel::SecondsPerMetre => CostSurface::from_friction(raster)?,
            SurfaceModel::Terrain => {
                let inputs = TerrainInputs {
                    routes: self.routes.as_ref(),
                    water: self.water.as_ref(),
                    land_cover: self.land_cover.as_deref(),
                    ..TerrainInputs::new(raster)
                };
                terrain_surface(&inputs, scenario)?
            }
        })
    }

    /// Uncertainty of each village's time in `result`: `runs` Monte Carlo draws of
    /// the scenario's speed parameters (seeded, so repeatable; see
    /// [`crate::travel::uncertainty`]), giving per village the 5 %, median
    /// and 95 % times in seconds (None for villages without a time). Only for the
    /// terrain model: a friction raster has no parameters to vary.
    pub fn uncertainty(
        &self,
        scenario: &Scenario,
        result: &TravelResult,
        runs: u32,
        on_run: &dyn Fn(usize, usize),
    ) -> Result<Vec<Option<Interval>>, TravelError> {
        if self.model != SurfaceModel::Terrain {
            return Err(TravelError::Option {
                option: "uncertainty",
                value: runs.to_string(),
                reason: "needs the terrain model: a friction raster has no speed parameters to vary",
            });
        }
        let grid = self.grid();
        let lonlats: Vec<(f64, f64)> = result.sources.iter().map(|f| f.lonlat).collect();
        let sources: Vec<(usize, usize)> = self
            .metric
            .projection
            .forward_each(&lonlats)
            .into_iter()
            .filter_map(|xy| xy.ok().and_then(|(x, y)| grid.cell_at(x, y)))
            .collect();
        let queries: Vec<(usize, usize)> = result
            .access
            .iter()
            .filter(|a| a.minutes.is_some())
            .filter_map(|a| a.cell)
            .collect();
        let mut s = scenario.clone();
        s.monte_carlo.runs = runs.max(1);
        let inputs = TerrainInputs {
            routes: self.routes.as_ref(),
            water: self.water.as_ref(),
            land_cover: self.land_cover.as_deref(),
            ..TerrainInputs::new(&self.metric.raster)
        };
        let options = SearchOptions {
            direction: result.direction,
            max_seconds: result.max_minutes.map(|m| m * 60.0),
            neighbourhood: result.neighbourhood,
        };
        let intervals = monte_carlo_observed(
            &inputs,
            &s,
            &sources,
            &queries,
            &options,
            [0.05, 0.95],
            on_run,
        )?;
        let mut it = intervals.into_iter();
        Ok(result
            .access
            .iter()
            .map(|a| {
                if a.minutes.is_some() && a.cell.is_some() {
                    it.next().flatten()
                } else {
                    None
                }
            })
            .collect())
    }

    /// Search from the facilities with `scenario`; `max_minutes` stops the search.
    pub fn run(
        &self,
        scenario: &Scenario,
        direction: Direction,
        max_minutes: Option<f64>,
    ) -> Result<TravelResult, TravelError> {
        let surface = self.surface(scenario)?;
        self.run_on(
            &surface,
            &self.scenario_name(scenario),
            &self.facilities,
            &format!("layer '{}'", self.facilities_layer),
            RunSettings {
                direction,
                max_minutes,
                neighbourhood: self.neighbourhood,
            },
        )
    }

    /// Search on `surface` (named `scenario` in the result) from `sources`
    /// (called `what` in errors), e.g. facilities that do not exist yet.
    pub fn run_on(
        &self,
        surface: &CostSurface,
        scenario: &str,
        sources: &[Facility],
        what: &str,
        run: RunSettings,
    ) -> Result<TravelResult, TravelError> {
        let RunSettings {
            direction,
            max_minutes,
            neighbourhood,
        } = run;
        if let Some(m) = max_minutes {
            if !(m.is_finite() && m > 0.0) {
                return Err(TravelError::Option {
                    option: "max_minutes",
                    value: m.to_string(),
                    reason: "must be a positive number of minutes",
                });
            }
        }
        if sources.is_empty() {
            return Err(TravelError::Sources {
                what: what.to_owned(),
                reason: format!(
                    "no facility with a location matches the filter ({})",
                    self.filter.describe()
                ),
            });
        }
        let cells = self.source_cells(surface.grid(), sources);
        let opts = SearchOptions {
            direction,
            max_seconds: max_minutes.map(|m| m * 60.0),
            neighbourhood,
        };
        let t0 = Instant::now();
        let times = travel_time(surface, &cells, &opts);
        tracing::debug!(elapsed = ?t0.elapsed(), "travel_time");
        self.finish(times, surface, scenario, sources, what, run)
    }

    /// Cells of `sources` on `grid` (`(usize::MAX, usize::MAX)` off it).
    pub(crate) fn source_cells(&self, grid: &Grid, sources: &[Facility]) -> Vec<(usize, usize)> {
        let lonlats: Vec<(f64, f64)> = sources.iter().map(|f| f.lonlat).collect();
        self.metric
            .projection
            .forward_each(&lonlats)
            .into_iter()
            .map(|xy| {
                xy.ok()
                    .and_then(|(x, y)| grid.cell_at(x, y))
                    .unwrap_or((usize::MAX, usize::MAX))
            })
            .collect()
    }

    /// The result of a search: village table and passable cells.
    pub(crate) fn finish(
        &self,
        times: TravelTimes,
        surface: &CostSurface,
        scenario: &str,
        sources: &[Facility],
        what: &str,
        run: RunSettings,
    ) -> Result<TravelResult, TravelError> {
        let RunSettings {
            direction,
            max_minutes,
            neighbourhood,
        } = run;
        let metric = &self.metric;
        let grid = surface.grid();
        let used = sources.len() - times.skipped_sources.len();
        if used == 0 {
            return Err(TravelError::Sources {
                what: what.to_owned(),
                reason: format!(
                    "none of the {} facilities matching the filter ({}) lies on a passable cell of the surface",
                    sources.len(),
                    self.filter.describe()
                ),
            });
        }
        let raster = &metric.raster;
        let has_data = |c: usize, r: usize| {
            let z = raster.data[r * raster.width + c];
            z.is_finite() && !raster.is_nodata(z)
        };
        let village_list: Vec<Village> = self.places.iter().map(|p| p.village.clone()).collect();
        let codes: Vec<String> = sources.iter().map(|f| f.code.clone()).collect();
        let access = village_access(&times, surface, has_data, &village_list, &codes);
        let mut passable = vec![0u64; grid.len().div_ceil(64)];
        let mut passable_cells = 0;
        for row in 0..grid.height {
            for col in 0..grid.width {
                if surface.passable(col, row) {
                    let i = row * grid.width + col;
                    passable[i / 64] |= 1 << (i % 64);
                    passable_cells += 1;
                }
            }
        }
        Ok(TravelResult {
            metric: Arc::clone(metric),
            times,
            sources: sources.to_vec(),
            used,
            places: Arc::clone(&self.places),
            access,
            scenario: scenario.to_owned(),
            direction,
            max_minutes,
            neighbourhood,
            passable_cells,
            passable,
        })
    }
}
