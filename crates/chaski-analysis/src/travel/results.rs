//! The results of a search: times, allocation and routes at any point,
//! isochrones and catchments as GeoJSON, the per-village table and the run
//! report.

use super::error::TravelError;
use super::metric::{Lattice, Metric};
use super::places::Place;
use super::sources::Facility;
use crate::travel::cost::{Direction, Neighbourhood, TravelTimes};
use crate::travel::isochrone::{catchments, isochrones};
use crate::travel::village_access::{
    AccessStatus, District, DistrictSummary, Village, VillageAccess, district_summary,
};
use chaski_core::raster::Raster;
use geo::{LineString, MultiPolygon};
use serde_json::{Value as Json, json};
use std::sync::Arc;

/// Round to 7 decimals of a degree (about 1 cm) for GeoJSON.
pub fn deg(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

fn ring_json(ring: &LineString<f64>, lattice: &Lattice) -> Json {
    Json::Array(
        ring.0
            .iter()
            .map(|c| {
                let (lon, lat) = lattice.lonlat(c.x, c.y);
                json!([deg(lon), deg(lat)])
            })
            .collect(),
    )
}

/// A MultiPolygon in `lattice`'s metric CRS as a GeoJSON MultiPolygon in
/// longitude/latitude (7 decimals).
pub fn multipolygon_json(mp: &MultiPolygon<f64>, lattice: &Lattice) -> Json {
    let polys: Vec<Json> =
        mp.0.iter()
            .map(|p| {
                let mut rings = vec![ring_json(p.exterior(), lattice)];
                rings.extend(p.interiors().iter().map(|r| ring_json(r, lattice)));
                Json::Array(rings)
            })
            .collect();
    json!({"type": "MultiPolygon", "coordinates": polys})
}

/// Time and source of one point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointAccess {
    /// Cell (col, row) containing it; None outside the grid.
    pub cell: Option<(usize, usize)>,
    /// Minutes to (or from) the nearest source, not rounded; None unless reached.
    pub minutes: Option<f64>,
    /// Index of the nearest source; None unless reached.
    pub source: Option<usize>,
    /// Why there is or is not a time.
    pub status: AccessStatus,
}

/// One isochrone: the area reached within `minutes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Isochrone {
    /// Upper bound (cumulative).
    pub minutes: f64,
    /// Area in km² (of the metric cells).
    pub area_km2: f64,
    /// GeoJSON MultiPolygon in longitude/latitude (7 decimals).
    pub geometry: Json,
}

/// One facility's catchment: the cells it is the nearest source of.
#[derive(Debug, Clone, PartialEq)]
pub struct Catchment {
    /// Index into [`TravelResult::sources`].
    pub source: usize,
    /// Area in km² (of the metric cells).
    pub area_km2: f64,
    /// GeoJSON MultiPolygon in longitude/latitude (7 decimals).
    pub geometry: Json,
}

/// What a run used and assumed, in words and figures: printed by `chaski
/// catchments` and written beside its outputs (`run.json`), so a reader of
/// the results knows what was missing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunReport {
    /// The raster searched (`'dem'`, a file).
    pub raster: String,
    /// How cells are costed.
    pub model: String,
    /// Grid CRS.
    pub epsg: u32,
    /// The input was warped from longitude/latitude.
    pub warped_from_4326: bool,
    /// Cell size in metres.
    pub cell_m: f64,
    /// Scenario (terrain model) or friction raster.
    pub scenario: String,
    /// Walking speed off paths on flat ground, km/h (terrain model).
    pub off_path_kmh_on_flat: Option<f64>,
    /// Moves of the search.
    pub moves: usize,
    /// Direction of travel.
    pub direction: String,
    /// Time limit of the search, minutes.
    pub max_minutes: Option<f64>,
    /// Line layers burned in, with their features (cells for derived streams).
    pub burned: Vec<(String, usize)>,
    /// What was missing or assumed, one sentence each.
    pub assumptions: Vec<String>,
    /// Villages in the table.
    pub villages: usize,
    /// Villages among them without a known population.
    pub villages_without_population: usize,
}

impl RunReport {
    /// The report as lines for a terminal.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "surface: {} ({}), EPSG:{}{}, cells of {} m; {}; {} moves{}",
            self.raster,
            self.model,
            self.epsg,
            if self.warped_from_4326 {
                " warped from EPSG:4326"
            } else {
                ""
            },
            self.cell_m,
            self.scenario,
            self.moves,
            if self.burned.is_empty() {
                String::new()
            } else {
                format!(
                    "; burned in: {}",
                    self.burned
                        .iter()
                        .map(|(l, n)| format!("{l} ({n})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )];
        out.extend(self.assumptions.iter().map(|a| format!("assumed: {a}")));
        out
    }
}

/// How a search runs: direction of travel, time limit and moves.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RunSettings {
    /// Direction of travel (default: to the facility).
    pub direction: Direction,
    /// Stop the search at this many minutes (None: no limit).
    pub max_minutes: Option<f64>,
    /// Moves of the search (default: 16, as GRASS `r.cost -k`).
    pub neighbourhood: Neighbourhood,
}

/// A search's outcome: times, allocation, routes and the village table.
#[derive(Debug, Clone)]
pub struct TravelResult {
    /// The raster on a metric grid it was searched on.
    pub metric: Arc<Metric>,
    /// Seconds, allocation and back-pointers per cell.
    pub times: TravelTimes,
    /// The sources, in allocation order.
    pub sources: Vec<Facility>,
    /// Sources on passable cells of the surface.
    pub used: usize,
    /// The villages: the inputs' own list, shared (a search does not copy it).
    pub places: Arc<[Place]>,
    /// Access of each village, in the order of `places`.
    pub access: Vec<VillageAccess>,
    /// Scenario (or friction model) name.
    pub scenario: String,
    /// Direction of travel.
    pub direction: Direction,
    /// The search's time limit.
    pub max_minutes: Option<f64>,
    /// Moves of the search.
    pub neighbourhood: Neighbourhood,
    /// Passable cells of the surface.
    pub passable_cells: usize,
    pub(crate) passable: Vec<u64>,
}

impl TravelResult {
    /// How this search ran.
    pub fn settings(&self) -> RunSettings {
        RunSettings {
            direction: self.direction,
            max_minutes: self.max_minutes,
            neighbourhood: self.neighbourhood,
        }
    }

    /// The grid's affine transform (GDAL order) in EPSG [`Metric::epsg`].
    pub fn transform(&self) -> [f64; 6] {
        self.times.grid.transform
    }

    /// Bytes this result holds of its own, roughly (for cache weights): times,
    /// allocation and back-pointers per cell, the passable mask and the village
    /// access table. The metric raster and the villages are shared with the
    /// inputs (and every other search of them), so they are not counted here.
    pub fn size_bytes(&self) -> usize {
        let access: usize = self
            .access
            .iter()
            .map(|a| {
                std::mem::size_of::<VillageAccess>() + a.facility.as_ref().map_or(0, String::len)
            })
            .sum();
        self.times.seconds.len()
            * (std::mem::size_of::<f32>() + std::mem::size_of::<u32>() + std::mem::size_of::<u8>())
            + self.passable.len() * 8
            + access
            + self.sources.len() * std::mem::size_of::<Facility>()
    }

    fn is_passable(&self, i: usize) -> bool {
        self.passable
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Time, source and status at longitude/latitude (as a village there would have).
    pub fn point(&self, lon: f64, lat: f64) -> PointAccess {
        let grid = &self.times.grid;
        let cell = self
            .metric
            .projection
            .forward_one(lon, lat)
            .ok()
            .and_then(|(x, y)| grid.cell_at(x, y));
        let Some((c, r)) = cell else {
            return PointAccess {
                cell,
                minutes: None,
                source: None,
                status: AccessStatus::OutsideSurface,
            };
        };
        let (minutes, source) = match (self.times.time(c, r), self.times.source(c, r)) {
            (Some(t), Some(s)) => (Some(f64::from(t) / 60.0), Some(s)),
            _ => (None, None),
        };
        let i = r * grid.width + c;
        let raster = &self.metric.raster;
        let has_data = raster
            .data
            .get(i)
            .is_some_and(|&z| z.is_finite() && !raster.is_nodata(z));
        let status = if minutes.is_some() {
            AccessStatus::Reached
        } else if !has_data {
            AccessStatus::OutsideSurface
        } else if !self.is_passable(i) {
            AccessStatus::Impassable
        } else {
            AccessStatus::NotReached
        };
        PointAccess {
            cell,
            minutes,
            source,
            status,
        }
    }

    /// Minutes from (or to) the nearest source at longitude/latitude; None
    /// unless reached.
    pub fn minutes_at(&self, lon: f64, lat: f64) -> Option<f64> {
        self.point(lon, lat).minutes
    }

    /// The route from longitude/latitude to its source: the point itself, the
    /// centres of the cells walked, and the source's own location. None
    /// unless reached.
    pub fn route_from(&self, lon: f64, lat: f64) -> Option<Vec<(f64, f64)>> {
        let at = self.point(lon, lat);
        let (col, row) = at.cell?;
        let source = self.sources.get(at.source?)?;
        let centres = self.times.route(col, row)?;
        let mut out = Vec::with_capacity(centres.len() + 2);
        out.push((lon, lat));
        for (x, y) in centres {
            let (clon, clat) = self.metric.lattice.lonlat(x, y);
            out.push((deg(clon), deg(clat)));
        }
        out.push(source.lonlat);
        out.dedup();
        Some(out)
    }

    /// The area reached within `minutes`.
    pub fn isochrone(&self, minutes: f64) -> Isochrone {
        let band = isochrones(&self.times, &[minutes * 60.0]);
        let (geometry, area) = band.first().map_or_else(
            || (json!({"type": "MultiPolygon", "coordinates": []}), 0.0),
            |b| {
                (
                    multipolygon_json(&b.polygons, &self.metric.lattice),
                    geo::Area::unsigned_area(&b.polygons),
                )
            },
        );
        Isochrone {
            minutes,
            area_km2: area / 1e6,
            geometry,
        }
    }

    /// Each source's catchment, for the sources that reached a cell, in source
    /// order: valid polygons along cell edges (see
    /// [`crate::travel::isochrone`]).
    pub fn catchments(&self) -> Vec<Catchment> {
        catchments(&self.times, self.sources.len(), None)
            .into_iter()
            .enumerate()
            .filter(|(_, mp)| !mp.0.is_empty())
            .map(|(source, mp)| Catchment {
                source,
                area_km2: geo::Area::unsigned_area(&mp) / 1e6,
                geometry: multipolygon_json(&mp, &self.metric.lattice),
            })
            .collect()
    }

    /// Travel times in minutes as a raster, nodata −1 where not reached.
    pub fn minutes_raster(&self) -> Raster<f32> {
        let mut r = self.times.grid.raster(-1.0f32);
        r.nodata = Some(-1.0);
        r.epsg = Some(self.metric.epsg);
        for (d, &t) in r.data.iter_mut().zip(&self.times.seconds) {
            if t.is_finite() {
                *d = t / 60.0;
            }
        }
        r
    }

    /// Villages and population per district within `thresholds` minutes.
    pub fn district_summary(
        &self,
        districts: &[District],
        thresholds: &[f64],
    ) -> Result<DistrictSummary, TravelError> {
        let list: Vec<Village> = self.places.iter().map(|p| p.village.clone()).collect();
        Ok(district_summary(
            districts,
            &list,
            &self.access,
            thresholds,
        )?)
    }
}
