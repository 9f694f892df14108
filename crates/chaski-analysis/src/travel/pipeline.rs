//! The travel-time pipeline shared by `chaski catchments` and the HTTP API:
//! read a DEM (or friction raster) and the facilities, villages, paths, roads
//! and rivers from a [`Store`], put the raster on a metric grid, burn the lines
//! in, build the travel surface of a [`Scenario`], search from the facilities
//! and read off times, allocation, routes, the per-village table and
//! isochrones.
//!
//! Rasters in EPSG:4326 are warped to the UTM zone of their centre at their own
//! resolution (e.g. 1 arc-second becomes 30 m): each target cell centre is
//! mapped back to longitude/latitude through PROJ (exactly on a lattice every
//! few cells, bilinearly in between, checked to stay within a millimetre) and
//! sampled bilinearly from the valid neighbours; a target cell has data when
//! the source cell under its centre has (as `gdalwarp -r near`).
//!
//! Villages outside the grid or on nodata cells are "outside the surface" and
//! never given a time.
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

use crate::travel::cost::{
    CostSurface, Direction, Neighbourhood, SearchOptions, TravelTimes, travel_time,
    update_travel_time,
};
use crate::travel::friction::{FrictionError, TerrainInputs, terrain_surface};
use crate::travel::grid::{Grid, GridError};
use crate::travel::hydrology::flow_grid;
use crate::travel::isochrone::{catchments, isochrones};
use crate::travel::rasterize::{burn_line_string, burn_point};
use crate::travel::scenario::{RouteClass, Scenario, WaterClass};
use crate::travel::uncertainty::{Interval, monte_carlo_observed};
use crate::travel::village_access::{
    AccessStatus, District, DistrictSummary, Village, VillageAccess, district_summary,
    village_access,
};
use crate::travel::vocab::{BirthCareFilter, CategoryFilter};
use chaski_core::crs::{CrsError, Projection, Projections, UtmZone};
use chaski_core::domain::{BirthCare, Category};
use chaski_core::raster::Raster;
use chaski_core::store::{Store, StoreError};
use chaski_core::{Layer, LayerKind};
use geo::{Centroid, Geometry, LineString, MultiPolygon, Rect};
use serde_json::{Value as Json, json};
use std::sync::Arc;
use std::time::Instant;

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

fn crs(what: impl Into<String>) -> impl FnOnce(CrsError) -> TravelError {
    let what = what.into();
    move |source| TravelError::Crs { what, source }
}

fn store_err(what: impl Into<String>) -> impl FnOnce(StoreError) -> TravelError {
    let what = what.into();
    move |source| TravelError::Store { what, source }
}

/// A raster on a metric grid, with how to go back to longitude/latitude.
pub struct Metric {
    /// The raster in a metric CRS.
    pub raster: Raster<f32>,
    /// Its EPSG code.
    pub epsg: u32,
    /// Longitude/latitude to and from the metric CRS (exact: PROJ through
    /// `chaski-io`'s [`Projections`]).
    pub projection: Arc<dyn Projection>,
    /// Metric grid positions to longitude/latitude (interpolated).
    pub lattice: Lattice,
    /// Bounds of the input raster in its own CRS, and that CRS's EPSG code: a
    /// village is "in the extent" when it falls within them.
    pub extent: ([f64; 4], u32),
    /// The input was warped from EPSG:4326.
    pub warped: bool,
}

impl std::fmt::Debug for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metric")
            .field("raster", &self.raster)
            .field("epsg", &self.epsg)
            .field("lattice", &self.lattice)
            .field("extent", &self.extent)
            .field("warped", &self.warped)
            .finish_non_exhaustive()
    }
}

/// Map from positions on a metric grid to longitude/latitude: exact (PROJ) at
/// lattice nodes every `step` cells, bilinear in between.
#[derive(Debug, Clone)]
pub struct Lattice {
    transform: [f64; 6],
    cols: Vec<f64>,
    rows: Vec<f64>,
    nodes: Vec<(f64, f64)>,
}

/// Largest interpolation error of the lattice, in degrees (about 1 mm).
const LATTICE_TOLERANCE: f64 = 1e-8;

fn node_positions(n: usize, step: usize) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n).step_by(step).map(|i| i as f64).collect();
    v.push(n as f64);
    v
}

/// Segment of `nodes` containing `u`, and the fraction along it (extrapolates at the ends).
fn segment(nodes: &[f64], u: f64, step: usize) -> (usize, f64) {
    let last = nodes.len().saturating_sub(2);
    let i = if u.is_finite() && u > 0.0 {
        ((u / step as f64) as usize).min(last)
    } else {
        0
    };
    let (a, b) = (nodes[i], nodes[i + 1]);
    (i, (u - a) / (b - a))
}

impl Lattice {
    /// A lattice over `grid` (width x height cells, metric `transform`, CRS
    /// `epsg`), refined until interpolation stays within about a millimetre.
    pub fn new(
        width: usize,
        height: usize,
        transform: [f64; 6],
        projection: &dyn Projection,
    ) -> Result<Self, TravelError> {
        if width == 0 || height == 0 {
            return Err(TravelError::Raster {
                what: format!("grid {width} x {height}"),
                reason: "has no cells".to_owned(),
            });
        }
        let fail = || crs(format!("lattice of EPSG:{}", projection.epsg()));
        let mut step = 16usize;
        loop {
            let cols = node_positions(width, step);
            let rows = node_positions(height, step);
            let mut nodes = Vec::with_capacity(cols.len() * rows.len());
            for &r in &rows {
                for &c in &cols {
                    nodes.push((
                        transform[0] + c * transform[1],
                        transform[3] + r * transform[5],
                    ));
                }
            }
            projection.inverse(&mut nodes).map_err(fail())?;
            let lattice = Self {
                transform,
                cols,
                rows,
                nodes,
            };
            // Check at the middle of lattice squares (where the error peaks), a sample of them.
            let mut worst: f64 = 0.0;
            let (nc, nr) = (lattice.cols.len() - 1, lattice.rows.len() - 1);
            let stride = ((nc * nr) / 400).max(1);
            let mut checks = Vec::new();
            for k in (0..nc * nr).step_by(stride) {
                let (i, j) = (k % nc, k / nc);
                let u = 0.5 * (lattice.cols[i] + lattice.cols[i + 1]);
                let v = 0.5 * (lattice.rows[j] + lattice.rows[j + 1]);
                checks.push((u, v));
            }
            let mut exact: Vec<(f64, f64)> = checks
                .iter()
                .map(|&(u, v)| {
                    (
                        transform[0] + u * transform[1],
                        transform[3] + v * transform[5],
                    )
                })
                .collect();
            projection.inverse(&mut exact).map_err(fail())?;
            for (&(u, v), e) in checks.iter().zip(&exact) {
                let approx = lattice.at(u, v);
                worst = worst.max((e.0 - approx.0).abs().max((e.1 - approx.1).abs()));
            }
            if worst <= LATTICE_TOLERANCE || step == 1 {
                tracing::debug!(step, worst, "lattice");
                return Ok(lattice);
            }
            step /= 2;
        }
    }

    fn step(&self) -> usize {
        self.cols.get(1).map_or(1, |c| (*c as usize).max(1))
    }

    /// Longitude/latitude at fractional grid position (col, row) (corner coordinates).
    #[expect(
        clippy::many_single_char_names,
        reason = "bilinear interpolation notation"
    )]
    pub fn at(&self, u: f64, v: f64) -> (f64, f64) {
        let step = self.step();
        let (i, fu) = segment(&self.cols, u, step);
        let (j, fv) = segment(&self.rows, v, step);
        let w = self.cols.len();
        let n = |a: usize, b: usize| self.nodes[b * w + a];
        let (p00, p10, p01, p11) = (n(i, j), n(i + 1, j), n(i, j + 1), n(i + 1, j + 1));
        let lerp = |a: f64, b: f64, t: f64| a + (b - a) * t;
        let top = (lerp(p00.0, p10.0, fu), lerp(p00.1, p10.1, fu));
        let bottom = (lerp(p01.0, p11.0, fu), lerp(p01.1, p11.1, fu));
        (lerp(top.0, bottom.0, fv), lerp(top.1, bottom.1, fv))
    }

    /// Longitude/latitude of metric point (x, y).
    pub fn lonlat(&self, x: f64, y: f64) -> (f64, f64) {
        let t = &self.transform;
        self.at((x - t[0]) / t[1], (y - t[3]) / t[5])
    }
}

fn is_geographic(r: &Raster<f32>) -> bool {
    r.epsg == Some(4326)
}

/// Metres per pixel of a geographic raster at its centre (x, y).
fn geographic_cell_metres(
    r: &Raster<f32>,
    projection: &dyn Projection,
) -> Result<(f64, f64), CrsError> {
    let (x0, y0, x1, y1) = r.bounds();
    let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
    let (dx, dy) = r.cell_size();
    let a = projection.forward_one(cx, cy)?;
    let b = projection.forward_one(cx + dx, cy)?;
    let c = projection.forward_one(cx, cy + dy)?;
    Ok(((b.0 - a.0).hypot(b.1 - a.1), (c.0 - a.0).hypot(c.1 - a.1)))
}

/// Put `raster` on a metric grid: as it is when projected, warped to UTM when geographic.
#[expect(clippy::many_single_char_names, reason = "coordinate notation")]
///
/// `max_cells` refuses grids of more cells (before warping).
pub fn to_metric(
    raster: Raster<f32>,
    what: &str,
    cell: Option<f64>,
    max_cells: Option<usize>,
    projections: &dyn Projections,
) -> Result<Metric, TravelError> {
    let bad = |reason: String| TravelError::Raster {
        what: what.to_owned(),
        reason,
    };
    let t = raster.transform;
    if t[2] != 0.0 || t[4] != 0.0 || t[1] <= 0.0 || t[5] >= 0.0 {
        return Err(bad(format!("is not north-up (transform {t:?})")));
    }
    if raster.width == 0 || raster.height == 0 || raster.data.len() != raster.width * raster.height
    {
        return Err(bad(format!(
            "is {} x {} with {} cells",
            raster.width,
            raster.height,
            raster.data.len()
        )));
    }
    let (x0, y0, x1, y1) = raster.bounds();
    let extent_bounds = [x0, y0, x1, y1];
    let degrees_like = t[1] < 0.1 && x0 >= -180.0 && x1 <= 180.0 && y0 >= -90.0 && y1 <= 90.0;
    if !is_geographic(&raster) && degrees_like {
        return Err(bad(format!(
            "looks like longitude/latitude but its CRS is {}: only EPSG:4326 rasters are warped \
             (reproject it to UTM or EPSG:4326 first, e.g. with gdalwarp)",
            raster
                .epsg
                .map_or_else(|| "unknown".to_owned(), |e| format!("EPSG:{e}"))
        )));
    }
    if !is_geographic(&raster) {
        let epsg = raster.epsg.ok_or_else(|| {
            bad(
                "has no CRS (EPSG code): assign one, e.g. with gdal_edit.py -a_srs EPSG:32718"
                    .to_owned(),
            )
        })?;
        let projection = projections.metric(epsg).map_err(|e| {
            bad(format!(
                "EPSG:{epsg} is not a projected CRS PROJ knows ({e})"
            ))
        })?;
        check_cells(what, raster.width, raster.height, max_cells)?;
        let lattice = Lattice::new(raster.width, raster.height, t, projection.as_ref())?;
        return Ok(Metric {
            raster,
            epsg,
            projection,
            lattice,
            extent: (extent_bounds, epsg),
            warped: false,
        });
    }
    let bounds = Rect::new((x0, y0), (x1, y1));
    let zone = UtmZone::for_bounds(&bounds);
    let epsg = zone.epsg();
    let t0 = Instant::now();
    let projection = projections
        .metric(epsg)
        .map_err(crs(format!("raster {what}")))?;
    tracing::debug!(elapsed = ?t0.elapsed(), "PROJ set up");
    let cell = match cell {
        Some(c) if c.is_finite() && c > 0.0 => c,
        Some(c) => {
            return Err(TravelError::Option {
                option: "cell",
                value: c.to_string(),
                reason: "must be a positive number of metres",
            });
        }
        None => {
            let (mx, my) = geographic_cell_metres(&raster, projection.as_ref())
                .map_err(crs(format!("raster {what}")))?;
            mx.min(my).round().max(1.0)
        }
    };
    // Target extent: the source boundary, densely sampled, projected.
    let mut edge = Vec::new();
    let n = 64;
    for k in 0..=n {
        let f = f64::from(k) / f64::from(n);
        let (x, y) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        edge.extend([(x, y0), (x, y1), (x0, y), (x1, y)]);
    }
    projection
        .forward(&mut edge)
        .map_err(crs(format!("raster {what}: its boundary")))?;
    let (mut minx, mut miny, mut maxx, mut maxy) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in &edge {
        minx = minx.min(*x);
        miny = miny.min(*y);
        maxx = maxx.max(*x);
        maxy = maxy.max(*y);
    }
    let width = ((maxx - minx) / cell - 1e-9).ceil().max(1.0) as usize;
    let height = ((maxy - miny) / cell - 1e-9).ceil().max(1.0) as usize;
    if width.saturating_mul(height) > Grid::MAX_CELLS / 2 {
        return Err(bad(format!(
            "warped to {cell} m would be {width} x {height} cells: too many"
        )));
    }
    check_cells(what, width, height, max_cells)?;
    let transform = [minx, cell, 0.0, maxy, 0.0, -cell];
    let lattice = Lattice::new(width, height, transform, projection.as_ref())?;
    tracing::debug!(elapsed = ?t0.elapsed(), "lattice");
    let nodata = raster.nodata.unwrap_or(f64::NAN);
    let mut out = Raster::filled(width, height, transform, Some(epsg), nodata as f32);
    out.nodata = Some(nodata);
    warp_into(&raster, &lattice, &mut out);
    tracing::debug!(elapsed = ?t0.elapsed(), "warped");
    Ok(Metric {
        raster: out,
        epsg,
        projection,
        lattice,
        extent: (extent_bounds, 4326),
        warped: true,
    })
}

/// Fill `out` (a metric grid covered by `lattice`) from geographic `src`:
/// each cell centre is mapped to `src` pixel coordinates through the lattice and
/// sampled bilinearly over the valid neighbours; cells whose centre falls on a
/// nodata cell of `src` (or outside it) keep `out`'s fill value. Two threads.
#[expect(clippy::many_single_char_names, reason = "interpolation notation")]
fn warp_into(src: &Raster<f32>, lattice: &Lattice, out: &mut Raster<f32>) {
    let (sw, sh) = (src.width, src.height);
    // Source with nodata as NaN: one test per neighbour.
    let clean: Vec<f32> = src
        .data
        .iter()
        .map(|&z| {
            if z.is_finite() && !src.is_nodata(z) {
                z
            } else {
                f32::NAN
            }
        })
        .collect();
    // Lattice nodes in source pixel coordinates.
    let t = src.transform;
    let nodes: Vec<(f64, f64)> = lattice
        .nodes
        .iter()
        .map(|&(lon, lat)| ((lon - t[0]) / t[1], (lat - t[3]) / t[5]))
        .collect();
    let width = out.width;
    let step = lattice.step();
    let ncols = lattice.cols.len();
    let rows_per_part = out.height.div_ceil(2).max(1);
    let sample = |u: f64, v: f64| -> Option<f32> {
        if !(u >= 0.0 && v >= 0.0 && u < sw as f64 && v < sh as f64) {
            return None;
        }
        let centre = clean[v as usize * sw + u as usize];
        if centre.is_nan() {
            return None;
        }
        let (uc, vc) = (u - 0.5, v - 0.5);
        let (c0, r0) = (uc.floor(), vc.floor());
        let (fu, fv) = (uc - c0, vc - r0);
        let (mut sum, mut weight) = (0.0f64, 0.0f64);
        for (dc, dr, wt) in [
            (0.0, 0.0, (1.0 - fu) * (1.0 - fv)),
            (1.0, 0.0, fu * (1.0 - fv)),
            (0.0, 1.0, (1.0 - fu) * fv),
            (1.0, 1.0, fu * fv),
        ] {
            let (c, r) = (c0 + dc, r0 + dr);
            if c < 0.0 || r < 0.0 || c >= sw as f64 || r >= sh as f64 {
                continue;
            }
            let z = clean[r as usize * sw + c as usize];
            if !z.is_nan() {
                sum += wt * f64::from(z);
                weight += wt;
            }
        }
        Some(if weight > 0.0 {
            (sum / weight) as f32
        } else {
            centre
        })
    };
    std::thread::scope(|s| {
        for (part, chunk) in out.data.chunks_mut(rows_per_part * width).enumerate() {
            let (nodes, sample) = (&nodes, &sample);
            s.spawn(move || {
                let mut across = vec![(0.0f64, 0.0f64); ncols];
                for (k, line) in chunk.chunks_mut(width).enumerate() {
                    let row = part * rows_per_part + k;
                    let (j, fv) = segment(&lattice.rows, row as f64 + 0.5, step);
                    for (i, a) in across.iter_mut().enumerate() {
                        let (p, q) = (nodes[j * ncols + i], nodes[(j + 1) * ncols + i]);
                        *a = (p.0 + (q.0 - p.0) * fv, p.1 + (q.1 - p.1) * fv);
                    }
                    // Linear between lattice columns: step along each segment.
                    for i in 0..ncols - 1 {
                        let (c0, c1) = (lattice.cols[i] as usize, lattice.cols[i + 1] as usize);
                        let (p, q) = (across[i], across[i + 1]);
                        let n = (c1 - c0) as f64;
                        let (du, dv) = ((q.0 - p.0) / n, (q.1 - p.1) / n);
                        let (mut u, mut w) = (p.0 + 0.5 * du, p.1 + 0.5 * dv);
                        for v in line.get_mut(c0..c1).into_iter().flatten() {
                            if let Some(z) = sample(u, w) {
                                *v = z;
                            }
                            u += du;
                            w += dv;
                        }
                    }
                }
            });
        }
    });
}

fn point_of(g: &Geometry<f64>) -> Option<(f64, f64)> {
    match g {
        Geometry::Point(p) => Some((p.x(), p.y())),
        Geometry::MultiPoint(mp) => mp.0.first().map(|p| (p.x(), p.y())),
        other => other.centroid().map(|p| (p.x(), p.y())),
    }
}

fn text(layer: &Layer, f: &chaski_core::Feature, field: &str) -> String {
    layer.value(f, field).to_string()
}

fn project_line(line: &LineString<f64>, p: &dyn Projection) -> Result<LineString<f64>, CrsError> {
    let mut coords: Vec<(f64, f64)> = line.0.iter().map(|c| (c.x, c.y)).collect();
    p.forward(&mut coords)?;
    Ok(LineString::from(coords))
}

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

/// Refuse grids of more than `max` cells.
fn check_cells(
    what: &str,
    width: usize,
    height: usize,
    max: Option<usize>,
) -> Result<(), TravelError> {
    match max {
        Some(max) if width.saturating_mul(height) > max => Err(TravelError::TooLarge {
            what: what.to_owned(),
            width,
            height,
            max,
        }),
        _ => Ok(()),
    }
}

/// Which facilities are sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceFilter {
    categories: Option<Vec<Category>>,
    birth_care: Option<BirthCareFilter>,
}

impl SourceFilter {
    /// A filter of categories and a birth-care level (basic includes complete);
    /// None: any.
    pub fn new(category: Option<&CategoryFilter>, birth_care: Option<BirthCareFilter>) -> Self {
        Self {
            categories: category.map(|c| c.categories().to_vec()),
            birth_care,
        }
    }

    /// The categories selected (None: all).
    pub fn categories(&self) -> Option<&[Category]> {
        self.categories.as_deref()
    }

    /// The birth-care level required.
    pub fn birth_care(&self) -> Option<BirthCareFilter> {
        self.birth_care
    }

    /// Whether a facility of this category and birth care is a source.
    pub fn accepts(&self, category: Option<Category>, birth_care: Option<BirthCare>) -> bool {
        let cat_ok = match &self.categories {
            None => true,
            Some(list) => category.is_some_and(|c| list.contains(&c)),
        };
        let bc_ok = match self.birth_care {
            None => true,
            Some(BirthCareFilter::Basic) => {
                matches!(birth_care, Some(BirthCare::Basic | BirthCare::Complete))
            }
            Some(BirthCareFilter::Complete) => birth_care == Some(BirthCare::Complete),
        };
        cat_ok && bc_ok
    }

    /// The facilities of `list` it accepts.
    pub fn select(&self, list: &[Facility]) -> Vec<Facility> {
        list.iter()
            .filter(|f| self.accepts(f.category.parse().ok(), f.birth_care))
            .cloned()
            .collect()
    }

    /// In words: "all", "category I-3, I-4 and basic or complete birth care".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.categories {
            let names: Vec<&str> = c.iter().map(|c| c.as_str()).collect();
            parts.push(format!("category {}", names.join(", ")));
        }
        if let Some(b) = self.birth_care {
            parts.push(match b {
                BirthCareFilter::Basic => "basic or complete birth care".to_owned(),
                BirthCareFilter::Complete => "complete birth care".to_owned(),
            });
        }
        if parts.is_empty() {
            "all".to_owned()
        } else {
            parts.join(" and ")
        }
    }
}

/// One facility (or any source), located.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// RENIPRESS code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Category text.
    pub category: String,
    /// Birth-care level, when known.
    pub birth_care: Option<BirthCare>,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
}

/// The facilities of `layer` that pass `filter`.
pub fn facilities(layer: &Layer, filter: &SourceFilter) -> Vec<Facility> {
    layer
        .features
        .iter()
        .filter_map(|f| {
            let category = text(layer, f, "category");
            let cat = category.parse::<Category>().ok();
            let bc = layer
                .value(f, "birth_care")
                .as_str()
                .and_then(|s| s.parse::<BirthCare>().ok());
            if !filter.accepts(cat, bc) {
                return None;
            }
            Some(Facility {
                code: text(layer, f, "code"),
                name: text(layer, f, "name"),
                category,
                birth_care: bc,
                lonlat: point_of(&f.geometry)?,
            })
        })
        .collect()
}

/// Route and water classes of a line of a paths, roads or rivers layer from its `class`.
pub fn route_class(kind: LayerKind, class: &str) -> (Option<RouteClass>, Option<WaterClass>) {
    let c = class.trim().to_ascii_lowercase();
    match kind {
        LayerKind::Roads => (
            Some(match c.as_str() {
                "paved" | "asfaltado" | "pavimentado" | "primary" | "trunk" => {
                    RouteClass::PavedRoad
                }
                "track" | "trocha" | "trocha_carrozable" | "track_road" => RouteClass::TrackRoad,
                _ => RouteClass::GravelRoad,
            }),
            None,
        ),
        LayerKind::Rivers => (
            None,
            Some(if c.contains("navig") {
                WaterClass::NavigableRiver
            } else {
                WaterClass::River
            }),
        ),
        _ => match c.as_str() {
            "mule_track" | "herradura" | "camino_de_herradura" => {
                (Some(RouteClass::MuleTrack), None)
            }
            "bridge" | "puente" => (Some(RouteClass::Footpath), Some(WaterClass::Bridge)),
            "ford" | "vado" => (Some(RouteClass::Footpath), Some(WaterClass::Ford)),
            _ => (Some(RouteClass::Footpath), None),
        },
    }
}

/// Burn a paths, roads or rivers layer into the class rasters; returns the
/// number of features burned.
pub fn burn_layer(
    layer: &Layer,
    projection: &dyn Projection,
    routes: &mut Raster<u8>,
    water: &mut Raster<u8>,
) -> Result<usize, TravelError> {
    let mut burned = 0;
    for f in &layer.features {
        let (route, wclass) = route_class(layer.kind, &text(layer, f, "class"));
        let what = || format!("layer '{}', feature {}", layer.name, f.fid);
        let lines: Vec<&LineString<f64>> = match &f.geometry {
            Geometry::LineString(l) => vec![l],
            Geometry::MultiLineString(m) => m.0.iter().collect(),
            Geometry::Point(p) => {
                let (x, y) = projection.forward_one(p.x(), p.y()).map_err(crs(what()))?;
                if let Some(w) = wclass {
                    burn_point(water, x, y, w.code())?;
                }
                burned += 1;
                continue;
            }
            _ => continue,
        };
        for l in lines {
            let m = project_line(l, projection).map_err(crs(what()))?;
            if let Some(r) = route {
                burn_line_string(routes, &m, r.code())?;
            }
            if let Some(w) = wclass {
                burn_line_string(water, &m, w.code())?;
            }
        }
        burned += 1;
    }
    Ok(burned)
}

/// A village of the layer, with its place in both CRSs.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// The village in the grid's CRS (x, y NaN when it cannot be projected).
    pub village: Village,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
}

/// The villages (points) of `layer` on `metric`'s CRS, and how many lie
/// outside the raster's extent (left out unless `all`).
pub fn villages(
    layer: &Layer,
    metric: &Metric,
    all: bool,
) -> Result<(Vec<Place>, usize), TravelError> {
    let (b, extent_epsg) = metric.extent;
    let mut lonlats = Vec::new();
    let mut meta = Vec::new();
    for f in &layer.features {
        let Some(ll) = point_of(&f.geometry) else {
            continue;
        };
        lonlats.push(ll);
        let population = layer
            .value(f, "population")
            .as_i64()
            .and_then(|p| u64::try_from(p).ok());
        meta.push((text(layer, f, "code"), text(layer, f, "name"), population));
    }
    let projected = metric.projection.forward_each(&lonlats);
    let mut out = Vec::new();
    let mut outside_extent = 0;
    for ((ll, xy), (code, name, population)) in lonlats.into_iter().zip(projected).zip(meta) {
        let xy = xy.ok();
        let own = if extent_epsg == 4326 { Some(ll) } else { xy };
        let inside = own.is_some_and(|(x, y)| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]);
        if !inside {
            outside_extent += 1;
            if !all {
                continue;
            }
        }
        let (x, y) = xy.unwrap_or((f64::NAN, f64::NAN));
        out.push(Place {
            village: Village {
                code,
                name,
                population,
                x,
                y,
            },
            lonlat: ll,
        });
    }
    Ok((out, outside_extent))
}

fn project_multipolygon(
    mp: &MultiPolygon<f64>,
    forward: &dyn Projection,
) -> Result<MultiPolygon<f64>, CrsError> {
    use geo::MapCoords;
    mp.try_map_coords(|c| {
        forward
            .forward_one(c.x, c.y)
            .map(|(x, y)| geo::coord! {x: x, y: y})
    })
}

/// The district of feature `f` of `layer`, as stored (longitude/latitude);
/// None for a feature that is not a polygon.
fn district_of(layer: &Layer, f: &chaski_core::Feature) -> Option<District> {
    let polygons = match &f.geometry {
        Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
        Geometry::MultiPolygon(mp) => mp.clone(),
        _ => return None,
    };
    Some(District {
        code: text(layer, f, "code"),
        name: text(layer, f, "name"),
        polygons,
    })
}

/// The district polygons of `layer` in the metric CRS.
pub fn districts_of(layer: &Layer, forward: &dyn Projection) -> Result<Vec<District>, TravelError> {
    let mut out = Vec::new();
    for f in &layer.features {
        let Some(mut d) = district_of(layer, f) else {
            continue;
        };
        d.polygons = project_multipolygon(&d.polygons, forward)
            .map_err(crs(format!("layer '{}', feature {}", layer.name, f.fid)))?;
        out.push(d);
    }
    Ok(out)
}

/// The district polygons of `layer` in longitude/latitude, in layer order
/// (features that are not polygons left out).
pub fn district_polygons(layer: &Layer) -> Vec<District> {
    layer
        .features
        .iter()
        .filter_map(|f| district_of(layer, f))
        .collect()
}

/// The store's layer of district polygons: `named` when given (a polygon
/// layer of the store), else its one boundaries layer of districts: the only
/// boundaries layer, or among several the only one whose name says so
/// (`district…`, `distrito…`). `option` names the option or parameter in
/// errors, which list the candidates.
pub fn district_layer(
    store: &dyn Store,
    named: Option<&str>,
    option: &'static str,
) -> Result<String, TravelError> {
    use chaski_core::layer::GeometryType;
    let layers = store
        .layers()
        .map_err(store_err("listing the store's layers"))?;
    let candidates: Vec<&str> = layers
        .iter()
        .filter(|l| {
            l.kind == LayerKind::Boundaries && l.geometry_type == GeometryType::MultiPolygon
        })
        .map(|l| l.name.as_str())
        .collect();
    let listed = || {
        if candidates.is_empty() {
            "the store has no boundaries layer (import one with `chaski import distritos.geojson --layer districts --kind boundaries`)".to_owned()
        } else {
            format!("boundaries layers: {}", candidates.join(", "))
        }
    };
    if let Some(name) = named.map(str::trim).filter(|n| !n.is_empty()) {
        return match layers.iter().find(|l| l.name == name) {
            Some(l) if l.geometry_type == GeometryType::MultiPolygon => Ok(name.to_owned()),
            Some(_) => Err(TravelError::Districts {
                option,
                reason: format!("layer '{name}' is not a layer of polygons ({})", listed()),
            }),
            None => Err(TravelError::Districts {
                option,
                reason: format!("no layer '{name}' in the store ({})", listed()),
            }),
        };
    }
    let pick = if let [one] = candidates.as_slice() {
        Some(*one)
    } else {
        let named: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|n| {
                let n = n.to_ascii_lowercase();
                n.contains("district") || n.contains("distrito")
            })
            .collect();
        if let [one] = named.as_slice() {
            Some(*one)
        } else {
            None
        }
    };
    pick.map(str::to_owned).ok_or_else(|| TravelError::Districts {
        option,
        reason: if candidates.is_empty() {
            listed()
        } else {
            format!(
                "cannot tell which layer holds the districts ({}): name it with districts=LAYER",
                listed()
            )
        },
    })
}

/// Lower case without the accents of Spanish and Quechua place names, for
/// matching names as people type them.
fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

/// Index of the district whose code is `key` or, failing that, whose name is
/// `key` (ignoring case and accents) in `districts` (of layer `layer`). A name
/// shared by several districts is an error listing their codes.
pub fn find_district(
    districts: &[District],
    key: &str,
    layer: &str,
    option: &'static str,
) -> Result<usize, TravelError> {
    let key = key.trim();
    if let Some(i) = districts.iter().position(|d| d.code == key) {
        return Ok(i);
    }
    let folded = fold(key);
    let by_name: Vec<usize> = (0..districts.len())
        .filter(|&i| fold(&districts[i].name) == folded)
        .collect();
    let show = |list: &[usize]| {
        let mut out: Vec<String> = list
            .iter()
            .take(12)
            .map(|&i| format!("{} {}", districts[i].code, districts[i].name))
            .collect();
        if list.len() > 12 {
            out.push(format!("and {} more", list.len() - 12));
        }
        out.join(", ")
    };
    match by_name.as_slice() {
        [one] => Ok(*one),
        [] => {
            let like: Vec<usize> = (0..districts.len())
                .filter(|&i| !folded.is_empty() && fold(&districts[i].name).contains(&folded))
                .collect();
            Err(TravelError::Districts {
                option,
                reason: if like.is_empty() {
                    format!("no district with code or name '{key}' in layer '{layer}'")
                } else {
                    format!(
                        "no district with code or name '{key}' in layer '{layer}'; similar: {}",
                        show(&like)
                    )
                },
            })
        }
        several => Err(TravelError::Districts {
            option,
            reason: format!(
                "{} districts of layer '{layer}' are named '{key}': give the code of one ({})",
                several.len(),
                show(several)
            ),
        }),
    }
}

/// One district as a filter: its polygons and box, and the districts before
/// it in the layer that touch its box (a village on a shared border belongs to
/// the first district, as in [`TravelResult::district_summary`]).
#[derive(Debug, Clone)]
struct DistrictArea {
    polygons: MultiPolygon<f64>,
    rect: Rect<f64>,
    earlier: Vec<MultiPolygon<f64>>,
}

/// Which villages an answer counts and lists: those inside a
/// longitude/latitude box and in a district (both when both are given).
/// Villages without a location are never selected by a box or a district.
#[derive(Debug, Clone, Default)]
pub struct PlaceFilter {
    bbox: Option<[f64; 4]>,
    district: Option<DistrictArea>,
}

impl PlaceFilter {
    /// Every village.
    pub fn all() -> Self {
        Self::default()
    }

    /// True when it selects every village.
    pub fn is_all(&self) -> bool {
        self.bbox.is_none() && self.district.is_none()
    }

    /// Only the villages within `bbox` (min lon, min lat, max lon, max lat;
    /// edges included).
    #[must_use]
    pub fn with_bbox(mut self, bbox: [f64; 4]) -> Self {
        self.bbox = Some(bbox);
        self
    }

    /// Only the villages in district `index` of `districts` (longitude/latitude,
    /// as [`district_polygons`] reads them); a district without area selects none.
    #[must_use]
    pub fn with_district(mut self, districts: &[District], index: usize) -> Self {
        use geo::{BoundingRect, Intersects};
        let Some(d) = districts.get(index) else {
            return self;
        };
        let rect = d
            .polygons
            .bounding_rect()
            .unwrap_or_else(|| Rect::new((f64::NAN, f64::NAN), (f64::NAN, f64::NAN)));
        let earlier = districts[..index]
            .iter()
            .filter(|e| {
                e.polygons
                    .bounding_rect()
                    .is_some_and(|r| r.intersects(&rect))
            })
            .map(|e| e.polygons.clone())
            .collect();
        self.district = Some(DistrictArea {
            polygons: d.polygons.clone(),
            rect,
            earlier,
        });
        self
    }

    /// Whether the village at longitude/latitude `lonlat` is selected.
    pub fn accepts(&self, lonlat: (f64, f64)) -> bool {
        use geo::{Contains, Intersects};
        let (x, y) = lonlat;
        if let Some([x0, y0, x1, y1]) = self.bbox {
            if !(x >= x0 && x <= x1 && y >= y0 && y <= y1) {
                return false;
            }
        }
        let Some(d) = &self.district else {
            return true;
        };
        let (lo, hi) = (d.rect.min(), d.rect.max());
        if !(x >= lo.x && x <= hi.x && y >= lo.y && y <= hi.y) {
            return false;
        }
        let p = geo::Point::new(x, y);
        if d.polygons.contains(&p) {
            return true;
        }
        // On its border: the first district touching the point has it.
        d.polygons.intersects(&p) && !d.earlier.iter().any(|e| e.intersects(&p))
    }
}

/// How the raster becomes a travel surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SurfaceModel {
    /// A DEM walked with the anisotropic Tobler model of a scenario, with
    /// paths, roads and rivers burned in.
    #[default]
    Terrain,
    /// A friction raster of speeds in km/h (0 or less: impassable).
    SpeedKmh,
    /// A friction raster of paces in seconds per metre.
    SecondsPerMetre,
}

/// What to read from the store and how.
#[derive(Debug, Clone, PartialEq)]
pub struct TravelOptions {
    /// DEM raster in the store (None: found by [`find_dem`]).
    pub dem: Option<String>,
    /// Facilities layer (default `facilities`).
    pub facilities: String,
    /// Villages layer (default `communities`; when it is the default and
    /// absent, there is no village table).
    pub villages: String,
    /// Also list villages outside the raster's extent (as outside the surface).
    pub all_villages: bool,
    /// District polygons layer.
    pub districts: Option<String>,
    /// Paths layer (None: `paths` when present; `none` to skip).
    pub paths: Option<String>,
    /// Roads layer (None: `roads` when present; `none` to skip).
    pub roads: Option<String>,
    /// Rivers layer (None: `rivers` when present; `none` to skip; `dem` or
    /// `dem:KM2` to derive streams from the DEM, see [`derived_rivers`]).
    pub rivers: Option<String>,
    /// Categories of the sources (e.g. `>=I-3`).
    pub category: Option<CategoryFilter>,
    /// Birth care of the sources.
    pub birth_care: Option<BirthCareFilter>,
    /// Cell size in metres when warping a geographic raster (default: its own resolution).
    pub cell: Option<f64>,
    /// Terrain model or friction raster.
    pub model: SurfaceModel,
    /// Refuse grids of more cells than this.
    pub max_cells: Option<usize>,
    /// Moves of the searches (default: 16, as GRASS `r.cost -k`).
    pub neighbourhood: Neighbourhood,
    /// Land-cover raster in the store (class codes; the scenario's
    /// `land_cover` table gives each class its off-path factor).
    pub land_cover: Option<String>,
}

impl Default for TravelOptions {
    fn default() -> Self {
        Self {
            dem: None,
            facilities: "facilities".to_owned(),
            villages: "communities".to_owned(),
            all_villages: false,
            districts: None,
            paths: None,
            roads: None,
            rivers: None,
            category: None,
            birth_care: None,
            cell: None,
            model: SurfaceModel::Terrain,
            max_cells: None,
            neighbourhood: Neighbourhood::default(),
            land_cover: None,
        }
    }
}

/// The store's layers a run reads.
#[derive(Debug, Clone)]
pub struct StoreLayers {
    /// Facilities.
    pub facilities: Layer,
    /// Villages, when present.
    pub villages: Option<Layer>,
    /// Districts, when asked for.
    pub districts: Option<Layer>,
    /// Paths, roads and rivers to burn (terrain model only).
    pub lines: Vec<Layer>,
    /// Land-cover classes (terrain model only), as stored.
    pub land_cover: Option<Raster<f32>>,
}

/// Default drainage area (km²) above which a DEM cell is a stream, for `--rivers dem`.
pub const DEFAULT_STREAM_KM2: f64 = 1.0;

/// The drainage-area threshold in km² when `rivers` asks for streams derived
/// from the DEM (`dem`, or `dem:KM2`); `None` for a layer name or `none`.
pub fn derived_rivers(rivers: Option<&str>) -> Result<Option<f64>, TravelError> {
    let Some(spec) = rivers.map(str::trim) else {
        return Ok(None);
    };
    let lower = spec.to_ascii_lowercase();
    if lower == "dem" {
        return Ok(Some(DEFAULT_STREAM_KM2));
    }
    let Some(km2) = lower.strip_prefix("dem:") else {
        return Ok(None);
    };
    match km2.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        _ => Err(TravelError::Option {
            option: "rivers",
            value: spec.to_owned(),
            reason: "expected dem or dem:KM2 with a drainage area in km² above 0 (e.g. dem:1.5)",
        }),
    }
}

/// Streams of the DEM on `metric`'s grid: [`WaterClass::River`] where at
/// least `km2` km² drain through a cell (Priority-Flood, D8 and flow
/// accumulation, see [`crate::travel::hydrology`]), 0 elsewhere.
pub fn dem_streams(metric: &Metric, km2: f64) -> Result<Raster<u8>, TravelError> {
    let flow = flow_grid(&metric.raster)?;
    let t = metric.raster.transform;
    let cell_m2 = (t[1] * t[5]).abs().max(f64::MIN_POSITIVE);
    // Saturating float-to-int cast: a threshold beyond u32 cells means no streams.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let cells = (km2 * 1e6 / cell_m2).ceil().max(1.0) as u32;
    Ok(flow.streams(cells))
}

/// Land-cover classes of `lc` (the store's raster `name`) at the centres of
/// `metric`'s cells, by nearest cell; NaN (no class: the scenario's
/// `land_cover_default`) outside `lc` and on its nodata. `lc` must be in
/// EPSG:4326 or in the grid's own CRS.
pub fn land_cover_on(
    metric: &Metric,
    lc: &Raster<f32>,
    name: &str,
) -> Result<Raster<f32>, TravelError> {
    let bad = |reason: String| TravelError::Raster {
        what: format!("'{name}' (land cover)"),
        reason,
    };
    let lt = lc.transform;
    if lt[2] != 0.0 || lt[4] != 0.0 || lt[1] <= 0.0 || lt[5] >= 0.0 {
        return Err(bad(format!("is not north-up (transform {lt:?})")));
    }
    let same_crs = lc.epsg == Some(metric.epsg);
    if !same_crs && !is_geographic(lc) {
        return Err(bad(format!(
            "is in {}: reproject it to EPSG:4326 or EPSG:{} (e.g. gdalwarp -r near)",
            lc.epsg
                .map_or_else(|| "an unknown CRS".to_owned(), |e| format!("EPSG:{e}")),
            metric.epsg
        )));
    }
    let grid = &metric.raster;
    let gt = grid.transform;
    let mut out = Raster::filled(grid.width, grid.height, gt, grid.epsg, f32::NAN);
    for row in 0..grid.height {
        for col in 0..grid.width {
            let (u, v) = (col as f64 + 0.5, row as f64 + 0.5);
            let (x, y) = if same_crs {
                (gt[0] + u * gt[1], gt[3] + v * gt[5])
            } else {
                metric.lattice.at(u, v)
            };
            let (fc, fr) = ((x - lt[0]) / lt[1], (y - lt[3]) / lt[5]);
            if fc < 0.0 || fr < 0.0 {
                continue;
            }
            // Floor of a non-negative finite position; NaN and beyond the raster skip.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked non-negative"
            )]
            let (lc_col, lc_row) = (fc as usize, fr as usize);
            if let Some(v) = lc
                .get(lc_col, lc_row)
                .filter(|v| !lc.is_nodata(*v) && v.is_finite())
            {
                out.data[row * grid.width + col] = v;
            }
        }
    }
    Ok(out)
}

/// The line layer to use for `option`: the name given, or the default when present.
fn names_in_words(names: &[String]) -> String {
    if names.is_empty() {
        "no layers".to_owned()
    } else {
        format!(
            "layers {}",
            names
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn line_layer(
    names: &[String],
    given: Option<&str>,
    default: &str,
    option: &'static str,
) -> Result<Option<String>, TravelError> {
    match given {
        Some(n) if n.eq_ignore_ascii_case("none") => Ok(None),
        Some(n) if names.iter().any(|x| x == n) => Ok(Some(n.to_owned())),
        Some(n) => Err(TravelError::MissingLayer {
            layer: n.to_owned(),
            option,
            available: names_in_words(names),
        }),
        None if names.iter().any(|x| x == default) => Ok(Some(default.to_owned())),
        None => Ok(None),
    }
}

/// What a store holds, in words for error messages: its vector layers and rasters.
pub fn store_contents(store: &dyn Store) -> String {
    let layers: Vec<String> = store
        .layers()
        .map(|l| {
            l.into_iter()
                .map(|i| format!("'{}' ({})", i.name, i.kind))
                .collect()
        })
        .unwrap_or_default();
    let rasters: Vec<String> = store
        .rasters()
        .map(|r| r.into_iter().map(|i| format!("'{}'", i.name)).collect())
        .unwrap_or_default();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    format!("layers {} and rasters {}", list(&layers), list(&rasters))
}

/// The store's DEM: the raster `named` (`--dem`) when given; else the raster
/// called `dem`; else the store's only raster that is not `land_cover`.
/// Errors say why and list what the store holds.
pub fn find_dem(
    store: &dyn Store,
    named: Option<&str>,
    land_cover: Option<&str>,
) -> Result<String, TravelError> {
    let rasters: Vec<String> = store
        .rasters()
        .map_err(store_err("listing the store's rasters"))?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let err = |reason: String| TravelError::Dem {
        reason,
        available: store_contents(store),
    };
    if let Some(n) = named {
        return if rasters.iter().any(|r| r == n) {
            Ok(n.to_owned())
        } else {
            Err(err(format!("no raster named '{n}' (the DEM named)")))
        };
    }
    if rasters.iter().any(|r| r == "dem") {
        return Ok("dem".to_owned());
    }
    let candidates: Vec<&String> = rasters
        .iter()
        .filter(|r| Some(r.as_str()) != land_cover)
        .collect();
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(err(
            "no elevation raster (DEM) in the store: import one with \
             `chaski import FILE.tif --layer dem`"
                .to_owned(),
        )),
        several => Err(err(format!(
            "{} rasters could be the DEM ({}): name the one to use",
            several.len(),
            several
                .iter()
                .map(|r| format!("'{r}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Read the layers `opts` names from `store`.
pub fn read_layers(store: &dyn Store, opts: &TravelOptions) -> Result<StoreLayers, TravelError> {
    let names: Vec<String> = store
        .layers()
        .map_err(store_err("listing the store's layers"))?
        .into_iter()
        .map(|l| l.name)
        .collect();
    let read = |name: &str, what: &str| {
        store
            .read_layer(name)
            .map_err(store_err(format!("reading the {what} layer '{name}'")))
    };
    let facilities = read(&opts.facilities, "facilities")?;
    let villages = if names.iter().any(|n| n == &opts.villages) {
        Some(read(&opts.villages, "villages")?)
    } else if opts.villages == "communities" {
        tracing::warn!("no 'communities' layer in the store: no village table");
        None
    } else {
        return Err(TravelError::MissingLayer {
            layer: opts.villages.clone(),
            option: "villages",
            available: store_contents(store),
        });
    };
    let districts = match &opts.districts {
        Some(d) if names.iter().any(|n| n == d) => {
            let layer = read(d, "districts")?;
            if !matches!(
                layer.kind.geometry_type(),
                chaski_core::layer::GeometryType::MultiPolygon
            ) {
                return Err(TravelError::NotPolygons {
                    layer: d.clone(),
                    option: "districts",
                    holds: format!(
                        "{} ({})",
                        layer.kind.geometry_type().ogc_name().to_ascii_lowercase(),
                        layer.kind
                    ),
                });
            }
            Some(layer)
        }
        Some(d) => {
            return Err(TravelError::MissingLayer {
                layer: d.clone(),
                option: "districts",
                available: store_contents(store),
            });
        }
        None => None,
    };
    let mut lines = Vec::new();
    if opts.model == SurfaceModel::Terrain {
        for (given, default, option) in [
            (opts.paths.as_deref(), "paths", "paths"),
            (opts.roads.as_deref(), "roads", "roads"),
            (opts.rivers.as_deref(), "rivers", "rivers"),
        ] {
            if option == "rivers" && derived_rivers(given)?.is_some() {
                continue;
            }
            if let Some(name) = line_layer(&names, given, default, option)? {
                lines.push(read(&name, option)?);
            }
        }
    }
    let land_cover = match &opts.land_cover {
        Some(name) if opts.model == SurfaceModel::Terrain => Some(
            store
                .read_raster(name)
                .map_err(store_err(format!("reading the land-cover raster '{name}'")))?,
        ),
        _ => None,
    };
    Ok(StoreLayers {
        facilities,
        villages,
        districts,
        lines,
        land_cover,
    })
}

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
    fn source_cells(&self, grid: &Grid, sources: &[Facility]) -> Vec<(usize, usize)> {
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
    fn finish(
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

/// A what-if edit of the inputs; coordinates in longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// A line burned into the class rasters as a feature of a paths or roads
    /// layer is: `route` on every cell it passes through, and `water` too
    /// (a [`WaterClass::Bridge`] makes the rivers it crosses passable at the
    /// route's speed; higher codes win, as in [`burn_layer`]).
    Line {
        /// The line (at least two vertices, each on the grid).
        line: LineString<f64>,
        /// Route class on it.
        route: RouteClass,
        /// Water class on it (None for a path or road).
        water: Option<WaterClass>,
    },
    /// A new facility, after the existing ones (it must lie on a cell with data).
    AddFacility(Facility),
    /// Remove every facility with this code.
    RemoveFacility(String),
}

/// What one edit did to the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EditEffect {
    /// Grid cells the line passes through.
    pub cells: usize,
    /// Of those, cells of a river before the edit.
    pub river_cells: usize,
    /// Facilities removed.
    pub removed: usize,
}

/// Inputs with edits applied ([`TravelInputs::with_edits`]).
pub struct EditedInputs {
    /// The edited inputs.
    pub inputs: TravelInputs,
    /// For each of their facilities, its index among the unedited inputs' (None: added).
    pub origin: Vec<Option<usize>>,
    /// What each edit did, in order.
    pub effects: Vec<EditEffect>,
}

/// How a result with edits was computed ([`TravelInputs::run_edited`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recompute {
    /// Only cells whose time changed were searched again
    /// ([`update_travel_time`]): every edit made travel cheaper or removed sources.
    Incremental {
        /// Cells whose travel cost changed.
        changed_cells: usize,
    },
    /// The whole grid was searched again (an edit made some cell dearer).
    Full,
}

impl TravelInputs {
    /// A copy of these inputs with `edits` applied in order; the inputs
    /// themselves are left alone. Lines need the terrain model; each edit
    /// is checked: line vertices and facilities on the grid (facilities on a
    /// cell with data), bridges over at least one river cell, removed codes
    /// existing. Errors name the edit's index and field.
    pub fn with_edits(&self, edits: &[Edit]) -> Result<EditedInputs, TravelError> {
        let grid = self.grid();
        let raster = &self.metric.raster;
        let (mut routes, mut water) = (self.routes.clone(), self.water.clone());
        let mut facilities = self.facilities.clone();
        let mut origin: Vec<Option<usize>> = (0..facilities.len()).map(Some).collect();
        let mut effects = Vec::with_capacity(edits.len());
        let mut lines = 0;
        for (index, edit) in edits.iter().enumerate() {
            let fail = |field: &'static str, reason: String| TravelError::Edit {
                index,
                field,
                reason,
            };
            let mut effect = EditEffect::default();
            match edit {
                Edit::Line {
                    line,
                    route,
                    water: wclass,
                } => {
                    if self.model != SurfaceModel::Terrain {
                        return Err(fail(
                            "geometry",
                            "paths and bridges need the terrain model (the surface is a friction raster)"
                                .to_owned(),
                        ));
                    }
                    if line.0.len() < 2 {
                        return Err(fail(
                            "geometry",
                            "a line needs two or more vertices".to_owned(),
                        ));
                    }
                    let m = project_line(line, self.metric.projection.as_ref())
                        .map_err(|e| fail("geometry", e.to_string()))?;
                    for (k, (c, ll)) in m.0.iter().zip(&line.0).enumerate() {
                        if grid.cell_at(c.x, c.y).is_none() {
                            return Err(fail(
                                "geometry",
                                format!(
                                    "vertex {k} ({}, {}) is outside the travel-time grid (the DEM)",
                                    ll.x, ll.y
                                ),
                            ));
                        }
                    }
                    let mut mark = grid.raster(0u8);
                    burn_line_string(&mut mark, &m, 1)?;
                    let w = water.get_or_insert_with(|| grid.raster(0u8));
                    for (i, _) in mark.data.iter().enumerate().filter(|(_, v)| **v != 0) {
                        effect.cells += 1;
                        let code = WaterClass::from_code(w.data[i]);
                        if matches!(code, Some(WaterClass::River | WaterClass::NavigableRiver)) {
                            effect.river_cells += 1;
                        }
                    }
                    if *wclass == Some(WaterClass::Bridge) && effect.river_cells == 0 {
                        return Err(fail(
                            "geometry",
                            "the bridge crosses no river cell (draw it across a line of the rivers layer)"
                                .to_owned(),
                        ));
                    }
                    if let Some(wc) = wclass {
                        burn_line_string(w, &m, wc.code())?;
                    }
                    let r = routes.get_or_insert_with(|| grid.raster(0u8));
                    burn_line_string(r, &m, route.code())?;
                    lines += 1;
                }
                Edit::AddFacility(f) => {
                    let cell = self
                        .metric
                        .projection
                        .forward_one(f.lonlat.0, f.lonlat.1)
                        .ok()
                        .and_then(|(x, y)| grid.cell_at(x, y));
                    let on_data = cell.is_some_and(|(c, r)| {
                        let z = raster.data[r * grid.width + c];
                        z.is_finite() && !raster.is_nodata(z)
                    });
                    if !on_data {
                        return Err(fail(
                            "geometry",
                            format!(
                                "({}, {}) is outside the travel-time surface (off the DEM or on a cell without data)",
                                f.lonlat.0, f.lonlat.1
                            ),
                        ));
                    }
                    facilities.push(f.clone());
                    origin.push(None);
                }
                Edit::RemoveFacility(code) => {
                    let before = facilities.len();
                    let mut k = 0;
                    facilities.retain(|f| {
                        let keep = f.code != *code;
                        if keep {
                            k += 1;
                        } else {
                            origin.remove(k);
                        }
                        keep
                    });
                    effect.removed = before - facilities.len();
                    if effect.removed == 0 {
                        return Err(fail(
                            "code",
                            format!("no facility '{code}' in layer '{}'", self.facilities_layer),
                        ));
                    }
                }
            }
            effects.push(effect);
        }
        let mut burned = self.burned.clone();
        if lines > 0 {
            burned.push(("what-if".to_owned(), lines));
        }
        let inputs = Self {
            metric: Arc::clone(&self.metric),
            raster_name: self.raster_name.clone(),
            model: self.model,
            routes,
            water,
            burned,
            facilities_layer: self.facilities_layer.clone(),
            facilities,
            filter: self.filter.clone(),
            villages_layer: self.villages_layer.clone(),
            places: Arc::clone(&self.places),
            outside_extent: self.outside_extent,
            districts: self.districts.clone(),
            neighbourhood: self.neighbourhood,
            land_cover: self.land_cover.clone(),
        };
        Ok(EditedInputs {
            inputs,
            origin,
            effects,
        })
    }

    /// The search of `edited` (these inputs with edits) with `scenario`, from
    /// the facilities `filter` selects, reusing `base` (the search of these
    /// inputs with the same scenario, filter and direction): when the edits only
    /// make travel cheaper, add facilities or remove them, only the cells whose
    /// time changes are searched again ([`update_travel_time`]: the same times as
    /// a full search); otherwise the whole grid is.
    pub fn run_edited(
        &self,
        edited: &EditedInputs,
        base: &TravelResult,
        scenario: &Scenario,
        filter: &SourceFilter,
    ) -> Result<(TravelResult, Recompute), TravelError> {
        let accepted = |list: &[Facility]| -> Vec<usize> {
            list.iter()
                .enumerate()
                .filter(|(_, f)| filter.accepts(f.category.parse().ok(), f.birth_care))
                .map(|(i, _)| i)
                .collect()
        };
        let old_idx = accepted(&self.facilities);
        let new_idx = accepted(&edited.inputs.facilities);
        let sources: Vec<Facility> = new_idx
            .iter()
            .map(|&i| edited.inputs.facilities[i].clone())
            .collect();
        let what = format!("layer '{}' with the edits", self.facilities_layer);
        let name = edited.inputs.scenario_name(scenario);
        let surface = edited.inputs.surface(scenario)?;
        let same_base = base.sources.len() == old_idx.len()
            && old_idx
                .iter()
                .zip(&base.sources)
                .all(|(&i, s)| self.facilities[i] == *s);
        let change = if same_base && base.scenario == name {
            let before = self.surface(scenario)?;
            surface.changes_from(&before).filter(|c| c.cheaper_only)
        } else {
            None
        };
        let Some(change) = change else {
            let result = edited
                .inputs
                .run_on(&surface, &name, &sources, &what, base.settings())?;
            return Ok((result, Recompute::Full));
        };
        if sources.is_empty() {
            return Err(TravelError::Sources {
                what,
                reason: format!(
                    "no facility with a location matches the filter ({})",
                    filter.describe()
                ),
            });
        }
        // New index of each base source.
        let kept: Vec<Option<usize>> = old_idx
            .iter()
            .map(|&i| {
                new_idx
                    .iter()
                    .position(|&j| edited.origin.get(j).copied().flatten() == Some(i))
            })
            .collect();
        let cells = edited.inputs.source_cells(surface.grid(), &sources);
        let opts = SearchOptions {
            direction: base.direction,
            max_seconds: base.max_minutes.map(|m| m * 60.0),
            neighbourhood: base.neighbourhood,
        };
        let t0 = Instant::now();
        let times = update_travel_time(&surface, &base.times, &change.cells, &kept, &cells, &opts);
        tracing::debug!(elapsed = ?t0.elapsed(), cells = change.cells.len(), "update_travel_time");
        let result =
            edited
                .inputs
                .finish(times, &surface, &name, &sources, &what, base.settings())?;
        Ok((
            result,
            Recompute::Incremental {
                changed_cells: change.cells.len(),
            },
        ))
    }
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
    passable: Vec<u64>,
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestProjections;

    /// A store with a 20 x 10 speed raster of 30 m cells in UTM 18S at
    /// 3.6 km/h (1 m/s) whose column 12 is nodata, facilities A (I-1) at cell
    /// (2, 5) and B (I-3, complete birth care) at (16, 5), and villages.
    fn synthetic() -> (chaski_core::store::memory::MemoryStore, Arc<dyn Projection>) {
        use chaski_core::store::WriteMode;
        let (x0, y0, cell) = (600_000.0, 8_560_000.0, 30.0);
        let mut speed =
            Raster::filled(20, 10, [x0, cell, 0.0, y0, 0.0, -cell], Some(32718), 3.6f32);
        speed.nodata = Some(-9999.0);
        for row in 0..10 {
            speed.data[row * 20 + 12] = -9999.0;
        }
        let p = TestProjections.metric(32718).unwrap();
        let centre = |c: usize, r: usize| {
            p.inverse_one(x0 + (c as f64 + 0.5) * cell, y0 - (r as f64 + 0.5) * cell)
                .unwrap()
        };
        let layer = |name: &str, kind: LayerKind, rows: &[(&str, &str, &str, (f64, f64))]| {
            let mut l = Layer::new(name, kind);
            for (i, (code, category, bc, (lon, lat))) in rows.iter().enumerate() {
                let mut values = vec![chaski_core::value::Value::Null; l.fields.len()];
                for (field, v) in [
                    ("code", code),
                    ("name", code),
                    ("category", category),
                    ("birth_care", bc),
                ] {
                    if let Some(k) = l.field_index(field).filter(|_| !v.is_empty()) {
                        values[k] = (*v).into();
                    }
                }
                l.features.push(chaski_core::Feature {
                    fid: i as i64 + 1,
                    geometry: Geometry::Point(geo::Point::new(*lon, *lat)),
                    values,
                });
            }
            l
        };
        let store = chaski_core::store::memory::MemoryStore::new();
        store.write_raster("speed", &speed).unwrap();
        let facilities = layer(
            "facilities",
            LayerKind::Facilities,
            &[
                ("A", "I-1", "none", centre(2, 5)),
                ("B", "I-3", "complete", centre(16, 5)),
            ],
        );
        let outside = p.inverse_one(x0 - 1000.0, y0 - 100.0).unwrap();
        let villages = layer(
            "communities",
            LayerKind::Communities,
            &[
                ("V1", "", "", centre(7, 5)),
                ("V4", "", "", centre(12, 3)),
                ("V5", "", "", centre(19, 5)),
                ("V7", "", "", outside),
            ],
        );
        store.write_layer(&facilities, WriteMode::Replace).unwrap();
        store.write_layer(&villages, WriteMode::Replace).unwrap();
        (store, p)
    }

    #[test]
    fn pipeline_on_a_hand_computed_grid() {
        let (store, p) = synthetic();
        let opts = TravelOptions {
            dem: Some("speed".to_owned()),
            model: SurfaceModel::SpeedKmh,
            ..TravelOptions::default()
        };
        let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
        assert_eq!(inputs.facilities.len(), 2);
        // V7 is outside the raster's extent and not listed.
        assert_eq!((inputs.places.len(), inputs.outside_extent), (3, 1));
        let r = inputs
            .run(&Scenario::walking(), Direction::ToSource, None)
            .unwrap();
        assert_eq!(r.scenario, "friction raster (km/h)");
        assert_eq!(r.used, 2);
        assert_eq!(r.passable_cells, 190);
        // The village table: V1 five cells east of A (150 s), V4 on nodata, V5 three east of B.
        let table: Vec<(Option<f64>, Option<&str>, AccessStatus)> = r
            .access
            .iter()
            .map(|a| (a.minutes, a.facility.as_deref(), a.status))
            .collect();
        assert!((table[0].0.unwrap() - 2.5).abs() < 1e-5);
        assert_eq!(table[0].1, Some("A"));
        assert_eq!(table[1], (None, None, AccessStatus::OutsideSurface));
        assert!((table[2].0.unwrap() - 1.5).abs() < 1e-5);
        assert_eq!(table[2].1, Some("B"));
        // Any point: a knight's move from A is sqrt(5) x 30 m.
        let ll = |c: f64, r: f64| {
            p.inverse_one(600_000.0 + c * 30.0, 8_560_000.0 - r * 30.0)
                .unwrap()
        };
        let (lon, lat) = ll(4.3, 6.6);
        let m = r.minutes_at(lon, lat).unwrap();
        assert!((m * 60.0 - 5f64.sqrt() * 30.0).abs() < 1e-3, "{m}");
        let route = r.route_from(lon, lat).unwrap();
        assert_eq!(route.first(), Some(&(lon, lat)));
        assert_eq!(route.last(), Some(&inputs.facilities[0].lonlat));
        // The point, the centres of cells (4, 6) and (2, 5), the facility.
        assert_eq!(route.len(), 4, "{route:?}");
        let (cx, cy) = p.forward_one(route[1].0, route[1].1).unwrap();
        assert!((cx - 600_135.0).abs() < 0.02 && (cy - 8_559_805.0).abs() < 0.02);
        // Off the grid, on nodata: outside the surface.
        let (lon, lat) = ll(-3.0, 2.0);
        assert_eq!(r.point(lon, lat).status, AccessStatus::OutsideSurface);
        let (lon, lat) = ll(12.5, 2.5);
        assert_eq!(r.point(lon, lat).status, AccessStatus::OutsideSurface);
        assert_eq!(r.route_from(lon, lat), None);
        // Within a minute (60 m at 1 m/s) of a source: itself, 4 axis cells at
        // 30 m, 4 at 60 m and 4 diagonals (42.4 m), for each source.
        let iso = r.isochrone(1.0);
        assert!(
            (iso.area_km2 - 26.0 * 900.0 / 1e6).abs() < 1e-12,
            "{}",
            iso.area_km2
        );
        assert_eq!(iso.geometry["type"], "MultiPolygon");
        assert_eq!(iso.geometry["coordinates"].as_array().unwrap().len(), 2);

        // Only >= I-3: B alone, and the west half is cut off by the nodata column.
        let high = SourceFilter::new(Some(&">=I-3".parse().unwrap()), None);
        let sources = high.select(&inputs.facilities);
        assert_eq!(sources.len(), 1);
        let surface = inputs.surface(&Scenario::walking()).unwrap();
        let r = inputs
            .run_on(&surface, "x", &sources, "test", RunSettings::default())
            .unwrap();
        assert_eq!(r.access[0].status, AccessStatus::NotReached);
        assert_eq!(r.point(lon, lat).status, AccessStatus::OutsideSurface);
        let complete = SourceFilter::new(None, Some(BirthCareFilter::Complete));
        assert_eq!(complete.select(&inputs.facilities), sources);
        // No source on the surface: an error naming them.
        let nowhere = vec![Facility {
            lonlat: ll(12.5, 5.0),
            ..sources[0].clone()
        }];
        let e = inputs
            .run_on(
                &surface,
                "x",
                &nowhere,
                "the 1 point sources",
                RunSettings::default(),
            )
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("the 1 point sources: none of the 1"), "{e}");
        // A cap below 200 cells refuses the raster before reading it.
        let capped = TravelOptions {
            max_cells: Some(199),
            ..opts
        };
        assert!(matches!(
            TravelInputs::from_store(&store, &capped, &TestProjections),
            Err(TravelError::TooLarge {
                width: 20,
                height: 10,
                max: 199,
                ..
            })
        ));
    }

    #[test]
    fn edits_on_a_hand_computed_grid() {
        let (store, p) = synthetic();
        let opts = TravelOptions {
            dem: Some("speed".to_owned()),
            model: SurfaceModel::SpeedKmh,
            ..TravelOptions::default()
        };
        let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
        let base = inputs
            .run(&Scenario::walking(), Direction::ToSource, None)
            .unwrap();
        let centre = |c: f64, r: f64| {
            p.inverse_one(600_000.0 + (c + 0.5) * 30.0, 8_560_000.0 - (r + 0.5) * 30.0)
                .unwrap()
        };
        // A post C two cells east of V1 (60 s at 1 m/s), A closed.
        let c = Facility {
            code: "C".to_owned(),
            name: "C".to_owned(),
            category: "I-2".to_owned(),
            birth_care: None,
            lonlat: centre(9.0, 5.0),
        };
        let edits = [Edit::AddFacility(c), Edit::RemoveFacility("A".to_owned())];
        let edited = inputs.with_edits(&edits).unwrap();
        assert_eq!(edited.origin, vec![Some(1), None]);
        assert_eq!(edited.effects[1].removed, 1);
        // The inputs themselves are untouched.
        assert_eq!(inputs.facilities.len(), 2);
        let all = SourceFilter::default();
        let (r, how) = inputs
            .run_edited(&edited, &base, &Scenario::walking(), &all)
            .unwrap();
        assert!(matches!(how, Recompute::Incremental { .. }), "{how:?}");
        let codes: Vec<&str> = r.sources.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(codes, ["B", "C"]);
        assert!((r.access[0].minutes.unwrap() - 1.0).abs() < 1e-5);
        assert_eq!(r.access[0].facility.as_deref(), Some("C"));
        assert!((r.access[2].minutes.unwrap() - 1.5).abs() < 1e-5);
        // Bit for bit what a full search of the edited inputs gives.
        let full = edited
            .inputs
            .run(&Scenario::walking(), Direction::ToSource, None)
            .unwrap();
        assert_eq!(full.times.seconds, r.times.seconds);
        // Only A closed: V1's side of the nodata column is cut off.
        let closed = inputs
            .with_edits(&[Edit::RemoveFacility("A".to_owned())])
            .unwrap();
        let (r, _) = inputs
            .run_edited(&closed, &base, &Scenario::walking(), &all)
            .unwrap();
        assert_eq!(r.access[0].status, AccessStatus::NotReached);
        // Errors name the edit and field.
        let line = Edit::Line {
            line: LineString::from(vec![centre(1.0, 1.0), centre(5.0, 1.0)]),
            route: RouteClass::Footpath,
            water: None,
        };
        let e = inputs.with_edits(&[line]).err().unwrap().to_string();
        assert!(
            e.starts_with("feature 0: geometry: paths and bridges need the terrain model"),
            "{e}"
        );
        let off = Facility {
            code: "X".to_owned(),
            name: String::new(),
            category: "I-1".to_owned(),
            birth_care: None,
            lonlat: centre(12.0, 3.0),
        };
        let e = inputs
            .with_edits(&[Edit::RemoveFacility("B".to_owned()), Edit::AddFacility(off)])
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("feature 1: geometry: ("), "{e}");
        assert!(e.contains("outside the travel-time surface"), "{e}");
        let e = inputs
            .with_edits(&[Edit::RemoveFacility("Z".to_owned())])
            .err()
            .unwrap()
            .to_string();
        assert_eq!(e, "feature 0: code: no facility 'Z' in layer 'facilities'");
    }

    /// A 20 x 10 DEM of 30 m cells in UTM 18S: a V valley along column 12
    /// (5 m per cell up the sides) falling 0.5 m per row to the south, a
    /// facility at cell (2, 5), a village at (16, 5), and a footpath from
    /// (10, 5) to (14, 5) when `path`.
    fn valley(path: bool) -> (chaski_core::store::memory::MemoryStore, Arc<dyn Projection>) {
        use chaski_core::store::WriteMode;
        use chaski_core::value::Value;
        let (x0, y0, cell) = (600_000.0, 8_560_000.0, 30.0);
        let mut dem = Raster::filled(20, 10, [x0, cell, 0.0, y0, 0.0, -cell], Some(32718), 0f32);
        for row in 0..10 {
            for col in 0..20 {
                dem.data[row * 20 + col] =
                    100.0 + 5.0 * (col as f32 - 12.0).abs() + 0.5 * (9 - row) as f32;
            }
        }
        let p = TestProjections.metric(32718).unwrap();
        let centre = |c: usize, r: usize| {
            p.inverse_one(x0 + (c as f64 + 0.5) * cell, y0 - (r as f64 + 0.5) * cell)
                .unwrap()
        };
        let point = |name: &str, kind: LayerKind, code: &str, (lon, lat): (f64, f64)| {
            let mut l = Layer::new(name, kind);
            let mut values = vec![Value::Null; l.fields.len()];
            values[l.field_index("code").unwrap()] = code.into();
            l.features.push(chaski_core::Feature {
                fid: 1,
                geometry: Geometry::Point(geo::Point::new(lon, lat)),
                values,
            });
            l
        };
        let store = chaski_core::store::memory::MemoryStore::new();
        store.write_raster("dem", &dem).unwrap();
        let facilities = point("facilities", LayerKind::Facilities, "F", centre(2, 5));
        let villages = point("communities", LayerKind::Communities, "V", centre(16, 5));
        store.write_layer(&facilities, WriteMode::Replace).unwrap();
        store.write_layer(&villages, WriteMode::Replace).unwrap();
        if path {
            let mut l = Layer::new("paths", LayerKind::Paths);
            let mut values = vec![Value::Null; l.fields.len()];
            values[l.field_index("class").unwrap()] = "footpath".into();
            let (a, b) = (centre(10, 5), centre(14, 5));
            l.features.push(chaski_core::Feature {
                fid: 1,
                geometry: Geometry::LineString(LineString::from(vec![a, b])),
                values,
            });
            store.write_layer(&l, WriteMode::Replace).unwrap();
        }
        (store, p)
    }

    #[test]
    fn streams_derived_from_the_dem() {
        assert_eq!(derived_rivers(None).unwrap(), None);
        assert_eq!(derived_rivers(Some("rios")).unwrap(), None);
        assert_eq!(
            derived_rivers(Some("DEM")).unwrap(),
            Some(DEFAULT_STREAM_KM2)
        );
        assert_eq!(derived_rivers(Some("dem:0.036")).unwrap(), Some(0.036));
        for bad in ["dem:0", "dem:-1", "dem:x", "dem:inf"] {
            let e = derived_rivers(Some(bad)).unwrap_err().to_string();
            assert!(e.starts_with(&format!("rivers {bad}: expected dem")), "{e}");
        }
        let minutes = |rivers: Option<&str>, path: bool, scenario: &Scenario| {
            let (store, p) = valley(path);
            let opts = TravelOptions {
                rivers: rivers.map(str::to_owned),
                ..TravelOptions::default()
            };
            let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
            let r = inputs.run(scenario, Direction::ToSource, None).unwrap();
            let (lon, lat) = inputs.places[0].lonlat;
            // Northernmost row the route reaches.
            let top = r
                .route_from(lon, lat)
                .unwrap()
                .iter()
                .map(|&(lon, lat)| p.forward_one(lon, lat).unwrap().1)
                .fold(f64::NEG_INFINITY, f64::max);
            #[allow(clippy::cast_possible_truncation)]
            let row = ((8_560_000.0 - top) / 30.0).floor() as i64;
            (r.access[0].minutes, row, inputs)
        };
        // Each row's cells drain sideways into column 12, which drains south:
        // 20 (r + 1) cells, 0.018 (r + 1) km², flow through (12, r). With
        // 0.036 km² the stream is column 12 from row 1 down; row 0 is its source.
        let (store, _) = valley(false);
        let inputs =
            TravelInputs::from_store(&store, &TravelOptions::default(), &TestProjections).unwrap();
        let streams = dem_streams(&inputs.metric, 0.036).unwrap();
        let cells: Vec<usize> = (0..200).filter(|&i| streams.data[i] != 0).collect();
        assert_eq!(cells, (1..10).map(|r| r * 20 + 12).collect::<Vec<_>>());

        let walking = Scenario::walking();
        let (free, free_row, _) = minutes(None, false, &walking);
        let (around, around_row, inputs) = minutes(Some("dem:0.036"), false, &walking);
        assert_eq!(
            inputs.burned,
            vec![("streams from the DEM (cells)".to_owned(), 9)]
        );
        // Without rivers the route stays on row 5 or close; with the stream it
        // goes round its source on row 0.
        assert!(free_row >= 4, "{free_row}");
        assert_eq!(around_row, 0);
        assert!(around.unwrap() > free.unwrap() + 1.0, "{around:?} {free:?}");
        // A mapped footpath over the stream crosses it as a ford...
        let (ford, ford_row, _) = minutes(Some("dem:0.036"), true, &walking);
        assert!(ford_row >= 4, "{ford_row}");
        assert!(ford.unwrap() < around.unwrap(), "{ford:?} {around:?}");
        // ... which the rainy season closes: round the source again.
        let rainy = Scenario::rainy_season();
        let (_, wet_row, _) = minutes(Some("dem:0.036"), true, &rainy);
        assert_eq!(wet_row, 0);

        // A village on the stream itself keeps its cell and gets a time.
        let (store, p) = valley(false);
        let mut villages = store.read_layer("communities").unwrap();
        let mut on_stream = villages.features[0].clone();
        let (lon, lat) = p
            .inverse_one(600_000.0 + 12.5 * 30.0, 8_560_000.0 - 5.5 * 30.0)
            .unwrap();
        on_stream.fid = 2;
        on_stream.geometry = Geometry::Point(geo::Point::new(lon, lat));
        villages.features.push(on_stream);
        store
            .write_layer(&villages, chaski_core::store::WriteMode::Replace)
            .unwrap();
        let opts = TravelOptions {
            rivers: Some("dem:0.036".to_owned()),
            ..TravelOptions::default()
        };
        let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
        let r = inputs.run(&walking, Direction::ToSource, None).unwrap();
        assert_eq!(r.access[1].status, AccessStatus::Reached);
        assert!(r.access[1].minutes.is_some());
        // The other stream cells stay impassable.
        assert_eq!(
            r.passable_cells,
            200 - 8,
            "9 stream cells, one of them the village's"
        );
    }

    #[test]
    fn land_cover_scales_and_blocks_walking() {
        use crate::travel::scenario::LandCoverFactor;
        let (store, p) = valley(false);
        // Class 5 everywhere (a grid in the DEM's CRS) but class 9 on columns 8 and 9.
        let (x0, y0) = (600_000.0, 8_560_000.0);
        let mut lc = Raster::filled(20, 10, [x0, 30.0, 0.0, y0, 0.0, -30.0], Some(32718), 5f32);
        for row in 0..10 {
            lc.data[row * 20 + 8] = 9.0;
            lc.data[row * 20 + 9] = 9.0;
        }
        store.write_raster("lc", &lc).unwrap();
        // The same classes on a geographic grid of 1e-4 degrees around the valley.
        let (w0, n0) = p.inverse_one(x0 - 100.0, y0 + 100.0).unwrap();
        let mut geo = Raster::filled(90, 60, [w0, 1e-4, 0.0, n0, 0.0, -1e-4], Some(4326), 5f32);
        geo.nodata = Some(-1.0);
        store.write_raster("lc_geo", &geo).unwrap();
        let minutes = |land_cover: Option<&str>, scenario: &Scenario| {
            let opts = TravelOptions {
                rivers: Some("none".to_owned()),
                land_cover: land_cover.map(str::to_owned),
                ..TravelOptions::default()
            };
            let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
            let r = inputs.run(scenario, Direction::ToSource, None).unwrap();
            (r.access[0].minutes, r.access[0].status)
        };
        let walking = Scenario::walking();
        let mut slow = Scenario::walking();
        slow.land_cover = vec![LandCoverFactor {
            code: 5,
            factor: 0.5,
        }];
        let mut lake = Scenario::walking();
        lake.land_cover = vec![LandCoverFactor {
            code: 9,
            factor: 0.0,
        }];
        let (base, _) = minutes(None, &walking);
        let base = base.unwrap();
        // Without a table entry for their class, cells keep the default factor 1.
        assert_eq!(minutes(Some("lc"), &walking).0, Some(base));
        // Half the off-path speed on every cell of the route: twice the time.
        let (geo_slow, _) = minutes(Some("lc_geo"), &slow);
        assert!(
            (geo_slow.unwrap() / base - 2.0).abs() < 1e-4,
            "{geo_slow:?} {base}"
        );
        // Class 9 impassable: the village across columns 8-9 cannot reach the facility.
        let (none, status) = minutes(Some("lc"), &lake);
        assert_eq!((none, status), (None, AccessStatus::NotReached));
        // A land cover in another projected CRS is refused with the way out.
        let mut other = lc.clone();
        other.epsg = Some(32717);
        store.write_raster("lc17", &other).unwrap();
        let opts = TravelOptions {
            land_cover: Some("lc17".to_owned()),
            ..TravelOptions::default()
        };
        let e = TravelInputs::from_store(&store, &opts, &TestProjections)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("EPSG:32717: reproject it to EPSG:4326 or EPSG:32718"),
            "{e}"
        );
    }

    #[test]
    fn line_classes() {
        use LayerKind::{Paths, Rivers, Roads};
        assert_eq!(
            route_class(Roads, "paved"),
            (Some(RouteClass::PavedRoad), None)
        );
        assert_eq!(
            route_class(Roads, "unpaved"),
            (Some(RouteClass::GravelRoad), None)
        );
        assert_eq!(
            route_class(Roads, "Trocha"),
            (Some(RouteClass::TrackRoad), None)
        );
        assert_eq!(
            route_class(Paths, "mule_track"),
            (Some(RouteClass::MuleTrack), None)
        );
        assert_eq!(
            route_class(Paths, "ford"),
            (Some(RouteClass::Footpath), Some(WaterClass::Ford))
        );
        assert_eq!(
            route_class(Paths, "bridge"),
            (Some(RouteClass::Footpath), Some(WaterClass::Bridge))
        );
        assert_eq!(
            route_class(Rivers, "stream"),
            (None, Some(WaterClass::River))
        );
        assert_eq!(
            route_class(Rivers, "navigable"),
            (None, Some(WaterClass::NavigableRiver))
        );
    }

    fn square(code: &str, name: &str, x0: f64, x1: f64) -> District {
        let poly = geo::Polygon::new(
            LineString::from(vec![(x0, 0.0), (x1, 0.0), (x1, 1.0), (x0, 1.0), (x0, 0.0)]),
            vec![],
        );
        District {
            code: code.to_owned(),
            name: name.to_owned(),
            polygons: MultiPolygon::new(vec![poly]),
        }
    }

    #[test]
    fn districts_by_code_or_name_and_their_villages() {
        let d = vec![
            square("050501", "San Miguel", 0.0, 1.0),
            square("050508", "Tambo", 1.0, 2.0),
            square("150136", "SAN MIGUEL", 5.0, 6.0),
            square("090616", "Ñahuimpuquio", 6.0, 7.0),
        ];
        let find = |k: &str| find_district(&d, k, "districts", "district");
        assert_eq!(find("050508").unwrap(), 1);
        assert_eq!(find(" tambo ").unwrap(), 1);
        assert_eq!(find("nahuimpuquio").unwrap(), 3);
        let e = find("san miguel").unwrap_err().to_string();
        assert!(
            e.contains("2 districts") && e.contains("050501 San Miguel, 150136 SAN MIGUEL"),
            "{e}"
        );
        let e = find("Miguel").unwrap_err().to_string();
        assert!(
            e.contains("no district") && e.contains("similar: 050501"),
            "{e}"
        );

        // A village on the shared border belongs to the first district only.
        let first = PlaceFilter::all().with_district(&d, 0);
        let second = PlaceFilter::all().with_district(&d, 1);
        assert!(first.accepts((0.5, 0.5)) && !second.accepts((0.5, 0.5)));
        assert!(first.accepts((1.0, 0.5)) && !second.accepts((1.0, 0.5)));
        assert!(second.accepts((2.0, 0.5)) && !first.accepts((2.0, 0.5)));
        assert!(!first.accepts((f64::NAN, 0.5)));
        let boxed = second.with_bbox([1.5, 0.0, 3.0, 1.0]);
        assert!(boxed.accepts((1.6, 0.5)) && !boxed.accepts((1.4, 0.5)));
        assert!(PlaceFilter::all().is_all() && !boxed.is_all());
    }
}
