//! `chaski catchments`: travel time from every cell and village to the
//! nearest health facility, the facility each one reaches (allocation),
//! isochrone bands and per-district access.
//!
//! The surface is a DEM (from the store, or `--dem-file`) walked with the
//! anisotropic Tobler model of a scenario (paths, roads and rivers of the
//! store burned in when present), or a user's friction raster (`--friction`).
//! Rasters in EPSG:4326 are warped to the UTM zone of their centre at their own
//! resolution (e.g. 1 arc-second becomes 30 m): each target cell centre is
//! mapped back to longitude/latitude through PROJ (exactly on a lattice every
//! few cells, bilinearly in between, checked to stay within a millimetre) and
//! sampled bilinearly from the valid neighbours; a target cell has data when
//! the source cell under its centre has (as `gdalwarp -r near`).
//!
//! Villages outside the grid or on nodata cells are reported as "outside the
//! surface" and never given a time.

use anyhow::{Context, Result};
use chaski_core::analysis::access::{
    AccessStatus, District, DistrictSummary, Village, VillageAccess, district_summary,
    village_access,
};
use chaski_core::analysis::cost::{
    CostSurface, Direction, NO_SOURCE, SearchOptions, TravelTimes, travel_time,
};
use chaski_core::analysis::friction::{TerrainInputs, terrain_surface};
use chaski_core::analysis::grid::Grid;
use chaski_core::analysis::isochrone::isochrones;
use chaski_core::analysis::rasterize::{burn_line_string, burn_point};
use chaski_core::analysis::scenario::{RouteClass, Scenario, WaterClass};
use chaski_core::crs::{CrsError, Projection, UtmZone};
use chaski_core::domain::{BirthCare, Category};
use chaski_core::raster::Raster;
use chaski_core::store::Store;
use chaski_core::{Layer, LayerKind};
use chaski_io::crs::{ProjProjection, Transformer};
use geo::{Centroid, Geometry, LineString, MultiPolygon, Rect};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value as Json, json};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// District time thresholds in minutes (cumulative), beyond the last = "beyond 4 hours".
pub const DISTRICT_MINUTES: [f64; 3] = [60.0, 120.0, 240.0];

/// Errors of `chaski catchments` (each names the input at fault).
#[derive(Debug, thiserror::Error)]
pub enum CatchmentsError {
    /// `--category` could not be read.
    #[error("--category '{value}': {reason} (e.g. '>=I-3', 'I-4', 'I-3,I-4')")]
    Category {
        /// The argument.
        value: String,
        /// Why.
        reason: String,
    },
    /// An option has a value out of range.
    #[error("--{option} {value}: {reason}")]
    Option {
        /// Option name.
        option: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The scenario file could not be read or is invalid.
    #[error("scenario {path}: {reason}")]
    Scenario {
        /// File.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A raster cannot be used as a travel surface.
    #[error("raster {what}: {reason}")]
    Raster {
        /// Which raster (store name or file).
        what: String,
        /// Why.
        reason: String,
    },
    /// No facility is left to start from.
    #[error("layer '{layer}': {reason}")]
    Sources {
        /// Facilities layer.
        layer: String,
        /// Why.
        reason: String,
    },
    /// A layer named explicitly is not in the store.
    #[error("layer '{layer}' (--{option}) is not in the store")]
    MissingLayer {
        /// Layer name.
        layer: String,
        /// Option naming it.
        option: &'static str,
    },
}

/// Built-in scenario names accepted by `--preset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Preset {
    /// On foot (Tobler, off path 0.6).
    Walking,
    /// Vehicles on roads, walking elsewhere.
    #[value(alias = "motorised")]
    Motorized,
    /// Rainy season: fords closed, slower walking and unpaved roads.
    Rainy,
    /// A woman in labour walking with company.
    Pregnant,
    /// A patient carried on a stretcher.
    Stretcher,
}

impl Preset {
    fn scenario(self) -> Scenario {
        match self {
            Self::Walking => Scenario::walking(),
            Self::Motorized => Scenario::motorised(),
            Self::Rainy => Scenario::rainy_season(),
            Self::Pregnant => Scenario::pregnant_woman(),
            Self::Stretcher => Scenario::stretcher(),
        }
    }
}

/// Direction of travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DirectionArg {
    /// From each place to the facility (patients).
    To,
    /// From the facility out to each place (staff visits).
    From,
}

/// Unit of a `--friction` raster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FrictionUnit {
    /// Speed in km/h (0 or less: impassable).
    Kmh,
    /// Seconds per metre.
    #[value(name = "s_per_m", alias = "s-per-m")]
    SPerM,
}

/// Compression of the output GeoTIFFs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compress {
    /// Deflate (level 1): read by every GIS.
    Deflate,
    /// Zstandard (level 1): faster, read by GDAL 2.3 or later (QGIS 3).
    Zstd,
    /// None: fastest, about 3.5 times larger files.
    None,
}

/// Birth-care filter of the sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BirthCareArg {
    /// Basic or complete emergency obstetric care.
    Basic,
    /// Complete emergency obstetric care.
    Complete,
}

/// Arguments of `chaski catchments`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the outputs (created when missing).
    #[arg(long)]
    pub out: PathBuf,

    /// DEM raster in the store.
    #[arg(long, default_value = "dem")]
    pub dem: String,

    /// Read the DEM from this GeoTIFF (or any GDAL raster) instead of the store.
    #[arg(long, conflicts_with = "friction")]
    pub dem_file: Option<PathBuf>,

    /// Facilities layer (the sources).
    #[arg(long, default_value = "facilities")]
    pub facilities: String,

    /// Only facilities of these categories: '>=I-3', '>I-2', '<=I-2', 'I-4', 'I-3,I-4'.
    #[arg(long, allow_hyphen_values = true)]
    pub category: Option<String>,

    /// Only facilities with this birth care (basic includes complete).
    #[arg(long, value_enum)]
    pub birth_care: Option<BirthCareArg>,

    /// Villages layer (points) to report on.
    #[arg(long, default_value = "communities")]
    pub villages: String,

    /// Also list the villages outside the raster's extent (all "outside the surface").
    #[arg(long)]
    pub all_villages: bool,

    /// District polygons layer: population within 60, 120 and 240 minutes per district.
    #[arg(long)]
    pub districts: Option<String>,

    /// Paths layer burned into the terrain model (default: `paths` when present; `none` to skip).
    #[arg(long)]
    pub paths: Option<String>,

    /// Roads layer (default: `roads` when present; `none` to skip).
    #[arg(long)]
    pub roads: Option<String>,

    /// Rivers layer, barriers except at bridges and fords (default: `rivers` when present; `none` to skip).
    #[arg(long)]
    pub rivers: Option<String>,

    /// Scenario TOML file (fields of the walking scenario it changes).
    #[arg(long, conflicts_with = "preset")]
    pub scenario: Option<PathBuf>,

    /// Built-in scenario.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,

    /// Travel to the facility (patients) or from it (staff).
    #[arg(long, value_enum, default_value = "to")]
    pub direction: DirectionArg,

    /// Stop the search at this many minutes (cells farther stay without a time).
    #[arg(long, allow_negative_numbers = true)]
    pub max_minutes: Option<f64>,

    /// A friction raster replacing the terrain model (speed or pace per cell).
    #[arg(long)]
    pub friction: Option<PathBuf>,

    /// Unit of the --friction raster.
    #[arg(long, value_enum, default_value = "kmh")]
    pub friction_unit: FrictionUnit,

    /// Cell size in metres when warping a geographic raster (default: its own resolution).
    #[arg(long)]
    pub cell: Option<f64>,

    /// Compression of the output GeoTIFFs.
    #[arg(long, value_enum, default_value = "deflate")]
    pub compress: Compress,

    /// Isochrone bands in minutes (cumulative).
    #[arg(long, value_delimiter = ',', default_value = "30,60,120,240")]
    pub bands: Vec<f64>,
}

/// A raster on a metric grid, with how to go back to longitude/latitude.
pub struct Metric {
    /// The raster in a metric CRS.
    pub raster: Raster<f32>,
    /// Its EPSG code.
    pub epsg: u32,
    /// Longitude/latitude to the metric CRS (exact, PROJ).
    pub projection: ProjProjection,
    /// The same, point by point (bad points do not stop the others).
    pub forward: Transformer,
    /// Metric grid positions to longitude/latitude (interpolated).
    pub lattice: Lattice,
    /// Bounds of the input raster in its own CRS, and that CRS's EPSG code: a
    /// village is "in the extent" when it falls within them.
    pub extent: ([f64; 4], u32),
    /// The input was warped from EPSG:4326.
    pub warped: bool,
}

/// Map from positions on a metric grid to longitude/latitude: exact (PROJ) at
/// lattice nodes every `step` cells, bilinear in between.
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
    pub fn new(width: usize, height: usize, transform: [f64; 6], epsg: u32) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(CatchmentsError::Raster {
                what: format!("grid {width} x {height}"),
                reason: "has no cells".to_owned(),
            }
            .into());
        }
        let inverse = Transformer::new(&format!("EPSG:{epsg}"), "EPSG:4326")?;
        let mut step = 16usize;
        loop {
            let cols = node_positions(width, step);
            let rows = node_positions(height, step);
            let mut nodes = Vec::with_capacity(cols.len() * rows.len());
            inverse.run(|f| -> Result<(), CrsError> {
                for &r in &rows {
                    for &c in &cols {
                        let x = transform[0] + c * transform[1];
                        let y = transform[3] + r * transform[5];
                        nodes.push(f(x, y)?);
                    }
                }
                Ok(())
            })??;
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
            inverse.run(|f| -> Result<(), CrsError> {
                for &(u, v) in &checks {
                    let (x, y) = (
                        transform[0] + u * transform[1],
                        transform[3] + v * transform[5],
                    );
                    let exact = f(x, y)?;
                    let approx = lattice.at(u, v);
                    worst = worst.max((exact.0 - approx.0).abs().max((exact.1 - approx.1).abs()));
                }
                Ok(())
            })??;
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
fn geographic_cell_metres(r: &Raster<f32>, projection: &ProjProjection) -> Result<(f64, f64)> {
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
pub fn to_metric(raster: Raster<f32>, what: &str, cell: Option<f64>) -> Result<Metric> {
    let bad = |reason: String| CatchmentsError::Raster {
        what: what.to_owned(),
        reason,
    };
    let t = raster.transform;
    if t[2] != 0.0 || t[4] != 0.0 || t[1] <= 0.0 || t[5] >= 0.0 {
        return Err(bad(format!("is not north-up (transform {t:?})")).into());
    }
    if raster.width == 0 || raster.height == 0 || raster.data.len() != raster.width * raster.height
    {
        return Err(bad(format!(
            "is {} x {} with {} cells",
            raster.width,
            raster.height,
            raster.data.len()
        ))
        .into());
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
        ))
        .into());
    }
    if !is_geographic(&raster) {
        let epsg = raster.epsg.ok_or_else(|| {
            bad(
                "has no CRS (EPSG code): assign one, e.g. with gdal_edit.py -a_srs EPSG:32718"
                    .to_owned(),
            )
        })?;
        let projection = ProjProjection::new(epsg).with_context(|| {
            format!("raster {what}: EPSG:{epsg} is not a projected CRS PROJ knows")
        })?;
        let lattice = Lattice::new(raster.width, raster.height, t, epsg)?;
        return Ok(Metric {
            raster,
            epsg,
            projection,
            forward: Transformer::new("EPSG:4326", &format!("EPSG:{epsg}"))?,
            lattice,
            extent: (extent_bounds, epsg),
            warped: false,
        });
    }
    let bounds = Rect::new((x0, y0), (x1, y1));
    let zone = UtmZone::for_bounds(&bounds);
    let epsg = zone.epsg();
    let t0 = Instant::now();
    let projection = ProjProjection::new(epsg)?;
    tracing::debug!(elapsed = ?t0.elapsed(), "PROJ set up");
    let cell = match cell {
        Some(c) if c.is_finite() && c > 0.0 => c,
        Some(c) => {
            return Err(CatchmentsError::Option {
                option: "cell",
                value: c.to_string(),
                reason: "must be a positive number of metres",
            }
            .into());
        }
        None => {
            let (mx, my) = geographic_cell_metres(&raster, &projection)?;
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
    projection.forward(&mut edge)?;
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
        ))
        .into());
    }
    let transform = [minx, cell, 0.0, maxy, 0.0, -cell];
    let lattice = Lattice::new(width, height, transform, epsg)?;
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
        forward: Transformer::new("EPSG:4326", &format!("EPSG:{epsg}"))?,
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

/// Which facilities are sources.
#[derive(Debug, Clone, Default)]
pub struct SourceFilter {
    categories: Option<Vec<Category>>,
    birth_care: Option<BirthCareArg>,
}

impl SourceFilter {
    /// Parse `--category` ('>=I-3', '>I-2', '<=I-2', '<I-3', '=I-4', 'I-4', 'I-3,I-4').
    pub fn new(category: Option<&str>, birth_care: Option<BirthCareArg>) -> Result<Self> {
        let categories = match category.map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(parse_categories(text)?),
        };
        Ok(Self {
            categories,
            birth_care,
        })
    }

    fn accepts(&self, category: Option<Category>, birth_care: Option<BirthCare>) -> bool {
        let cat_ok = match &self.categories {
            None => true,
            Some(list) => category.is_some_and(|c| list.contains(&c)),
        };
        let bc_ok = match self.birth_care {
            None => true,
            Some(BirthCareArg::Basic) => {
                matches!(birth_care, Some(BirthCare::Basic | BirthCare::Complete))
            }
            Some(BirthCareArg::Complete) => birth_care == Some(BirthCare::Complete),
        };
        cat_ok && bc_ok
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.categories {
            let names: Vec<&str> = c.iter().map(|c| c.as_str()).collect();
            parts.push(format!("category {}", names.join(", ")));
        }
        if let Some(b) = self.birth_care {
            parts.push(match b {
                BirthCareArg::Basic => "basic or complete birth care".to_owned(),
                BirthCareArg::Complete => "complete birth care".to_owned(),
            });
        }
        if parts.is_empty() {
            "all".to_owned()
        } else {
            parts.join(" and ")
        }
    }
}

/// The categories selected by a `--category` expression.
pub fn parse_categories(text: &str) -> Result<Vec<Category>, CatchmentsError> {
    let err = |reason: String| CatchmentsError::Category {
        value: text.to_owned(),
        reason,
    };
    let parse = |s: &str| s.trim().parse::<Category>().map_err(|e| err(e.to_string()));
    let t = text.trim();
    for (op, keep) in [
        (">=", (|a, b| a >= b) as fn(Category, Category) -> bool),
        ("<=", |a, b| a <= b),
        (">", |a, b| a > b),
        ("<", |a, b| a < b),
        ("=", |a, b| a == b),
    ] {
        if let Some(rest) = t.strip_prefix(op) {
            let bound = parse(rest)?;
            let out: Vec<Category> = Category::ALL
                .into_iter()
                .filter(|&c| keep(c, bound))
                .collect();
            if out.is_empty() {
                return Err(err("selects no category".to_owned()));
            }
            return Ok(out);
        }
    }
    t.split(',').map(parse).collect()
}

/// One facility of the layer, located.
#[derive(Debug, Clone)]
pub struct Facility {
    /// RENIPRESS code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Category text.
    pub category: String,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
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
                lonlat: point_of(&f.geometry)?,
            })
        })
        .collect()
}

fn route_class(kind: LayerKind, class: &str) -> (Option<RouteClass>, Option<WaterClass>) {
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

fn project_line(line: &LineString<f64>, p: &ProjProjection) -> Result<LineString<f64>> {
    let mut coords: Vec<(f64, f64)> = line.0.iter().map(|c| (c.x, c.y)).collect();
    p.forward(&mut coords)?;
    Ok(LineString::from(coords))
}

/// Burn a paths, roads or rivers layer into the class rasters.
fn burn_layer(
    layer: &Layer,
    projection: &ProjProjection,
    routes: &mut Raster<u8>,
    water: &mut Raster<u8>,
) -> Result<usize> {
    let mut burned = 0;
    for f in &layer.features {
        let (route, wclass) = route_class(layer.kind, &text(layer, f, "class"));
        let lines: Vec<&LineString<f64>> = match &f.geometry {
            Geometry::LineString(l) => vec![l],
            Geometry::MultiLineString(m) => m.0.iter().collect(),
            Geometry::Point(p) => {
                let (x, y) = projection.forward_one(p.x(), p.y())?;
                if let Some(w) = wclass {
                    burn_point(water, x, y, w.code())?;
                }
                burned += 1;
                continue;
            }
            _ => continue,
        };
        for l in lines {
            let m = project_line(l, projection)?;
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

/// The line layer to use for `option`: the name given, or the default when present.
fn line_layer(
    store: &dyn Store,
    names: &[String],
    given: Option<&str>,
    default: &str,
    option: &'static str,
) -> Result<Option<Layer>> {
    let name = match given {
        Some(n) if n.eq_ignore_ascii_case("none") => return Ok(None),
        Some(n) => {
            if !names.iter().any(|x| x == n) {
                return Err(CatchmentsError::MissingLayer {
                    layer: n.to_owned(),
                    option,
                }
                .into());
            }
            n
        }
        None if names.iter().any(|x| x == default) => default,
        None => return Ok(None),
    };
    Ok(Some(
        store
            .read_layer(name)
            .with_context(|| format!("reading layer '{name}'"))?,
    ))
}

fn scenario(args: &Args) -> Result<Scenario> {
    let s = if let Some(path) = &args.scenario {
        let text = std::fs::read_to_string(path).map_err(|e| CatchmentsError::Scenario {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        toml::from_str::<Scenario>(&text).map_err(|e| CatchmentsError::Scenario {
            path: path.clone(),
            reason: e.to_string(),
        })?
    } else {
        args.preset.unwrap_or(Preset::Walking).scenario()
    };
    s.validate().map_err(|e| CatchmentsError::Scenario {
        path: args.scenario.clone().unwrap_or_default(),
        reason: e.to_string(),
    })?;
    Ok(s)
}

fn check_args(args: &Args) -> Result<Vec<f64>> {
    if let Some(m) = args.max_minutes {
        if !(m.is_finite() && m > 0.0) {
            return Err(CatchmentsError::Option {
                option: "max-minutes",
                value: m.to_string(),
                reason: "must be a positive number of minutes",
            }
            .into());
        }
    }
    let mut bands = args.bands.clone();
    if bands.is_empty() || bands.iter().any(|b| !(b.is_finite() && *b > 0.0)) {
        return Err(CatchmentsError::Option {
            option: "bands",
            value: format!("{:?}", args.bands),
            reason: "must be positive numbers of minutes",
        }
        .into());
    }
    bands.sort_by(f64::total_cmp);
    bands.dedup();
    Ok(bands)
}

/// Round to 7 decimals of a degree (about 1 cm) for GeoJSON.
fn deg(v: f64) -> f64 {
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

fn multipolygon_json(mp: &MultiPolygon<f64>, lattice: &Lattice) -> Json {
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

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A village of the layer, with its place in both CRSs.
struct Place {
    village: Village,
    lonlat: (f64, f64),
}

fn villages(layer: &Layer, metric: &Metric, all: bool) -> Result<(Vec<Place>, usize)> {
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
    let projected = metric.forward.transform_each(&lonlats)?;
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

/// Time spent in each stage, for the summary.
struct Stages {
    lap: Instant,
    done: Vec<(&'static str, Duration)>,
    bar: ProgressBar,
}

impl Stages {
    fn new(steps: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:24}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        // Hidden when stderr is not a terminal: then no ticker thread either.
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Self {
            lap: Instant::now(),
            done: Vec::new(),
            bar,
        }
    }

    /// Start the next stage (the previous one ends).
    fn next(&mut self, message: &'static str) {
        self.bar.set_message(message);
    }

    /// End the current stage under `label`.
    fn end(&mut self, label: &'static str) {
        let now = Instant::now();
        self.done.push((label, now - self.lap));
        tracing::info!(stage = label, elapsed = ?(now - self.lap));
        self.lap = now;
        self.bar.inc(1);
    }

    fn line(&self) -> String {
        self.done
            .iter()
            .map(|(l, d)| format!("{l} {:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Everything computed, ready to write.
struct Outcome<'a> {
    metric: &'a Metric,
    times: &'a TravelTimes,
    facilities: &'a [Facility],
    places: &'a [Place],
    access: &'a [VillageAccess],
    districts: Option<&'a DistrictSummary>,
    bands: &'a [f64],
    scenario: &'a str,
    direction: &'static str,
    compress: Compress,
}

fn minutes_raster(tt: &TravelTimes, epsg: u32) -> Raster<f32> {
    let mut r = tt.grid.raster(-1.0f32);
    r.nodata = Some(-1.0);
    r.epsg = Some(epsg);
    for (d, &t) in r.data.iter_mut().zip(&tt.seconds) {
        if t.is_finite() {
            *d = t / 60.0;
        }
    }
    r
}

/// GeoTIFF creation options: tiled, as [`chaski_io::raster::write_geotiff`]
/// writes, compressed as asked at the fastest level (deflate level 1 writes the
/// travel-time raster about three times faster than level 6 for a file about
/// 2 % larger). The floating-point predictor helps travel times; the
/// allocation (small integers) compresses smaller and faster without it.
fn geotiff_options(compress: Compress, float_predictor: bool) -> Vec<&'static str> {
    let mut opts = vec!["TILED=YES"];
    match compress {
        Compress::Deflate => opts.extend(["COMPRESS=DEFLATE", "ZLEVEL=1"]),
        Compress::Zstd => opts.extend(["COMPRESS=ZSTD", "ZSTD_LEVEL=1"]),
        Compress::None => return opts,
    }
    if float_predictor {
        opts.push("PREDICTOR=3");
    }
    opts
}

fn write_geotiff(raster: &Raster<f32>, path: &Path, options: &[&str]) -> Result<()> {
    let t0 = Instant::now();
    chaski_io::raster::write_raster(raster, path, "GTiff", options)?;
    tracing::debug!(elapsed = ?t0.elapsed(), "wrote {}", path.display());
    Ok(())
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>> {
    csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))
}

fn fmt_minutes(m: Option<f64>) -> String {
    m.map(|m| m.to_string()).unwrap_or_default()
}

fn write_tables(o: &Outcome<'_>, out: &Path) -> Result<()> {
    // Allocation legend.
    let n = o.facilities.len();
    let mut cells = vec![0usize; n];
    for &a in &o.times.allocation {
        if a != NO_SOURCE {
            if let Some(c) = cells.get_mut(a as usize) {
                *c += 1;
            }
        }
    }
    let mut reached = vec![0usize; n];
    for a in o.access {
        if let Some(c) = a.source.and_then(|s| reached.get_mut(s)) {
            *c += 1;
        }
    }
    let path = out.join("allocation.csv");
    let mut w = csv_writer(&path)?;
    w.write_record([
        "index", "code", "name", "category", "lon", "lat", "status", "cells", "villages",
    ])?;
    for (i, f) in o.facilities.iter().enumerate() {
        let status = if o.times.skipped_sources.contains(&i) {
            "outside the surface"
        } else if cells[i] == 0 {
            "shares a cell with an earlier facility"
        } else {
            "source"
        };
        w.write_record([
            i.to_string(),
            f.code.clone(),
            f.name.clone(),
            f.category.clone(),
            f.lonlat.0.to_string(),
            f.lonlat.1.to_string(),
            status.to_owned(),
            cells[i].to_string(),
            reached[i].to_string(),
        ])?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    // Villages.
    let path = out.join("villages.csv");
    let mut w = csv_writer(&path)?;
    w.write_record([
        "code", "name", "minutes", "facility", "status", "lon", "lat",
    ])?;
    let mut features = Vec::with_capacity(o.places.len());
    for (p, a) in o.places.iter().zip(o.access) {
        let facility = a.facility.clone().unwrap_or_default();
        w.write_record([
            p.village.code.clone(),
            p.village.name.clone(),
            fmt_minutes(a.minutes),
            facility.clone(),
            a.status.reason().to_owned(),
            p.lonlat.0.to_string(),
            p.lonlat.1.to_string(),
        ])?;
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lonlat.0, p.lonlat.1]},
            "properties": {
                "code": p.village.code,
                "name": p.village.name,
                "minutes": a.minutes,
                "facility": a.facility,
                "status": a.status.reason(),
            },
        }));
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    let fc = json!({"type": "FeatureCollection", "features": features});
    write_text(&out.join("villages.geojson"), &(fc.to_string() + "\n"))?;
    // Districts.
    if let Some(summary) = o.districts {
        let path = out.join("districts.csv");
        let mut w = csv_writer(&path)?;
        let mut header = vec![
            "code".to_owned(),
            "name".to_owned(),
            "villages".to_owned(),
            "population".to_owned(),
            "villages_without_population".to_owned(),
        ];
        for t in DISTRICT_MINUTES {
            header.push(format!("villages_within_{t}"));
            header.push(format!("population_within_{t}"));
        }
        let last = DISTRICT_MINUTES[DISTRICT_MINUTES.len() - 1];
        header.extend([
            format!("villages_beyond_{last}"),
            format!("population_beyond_{last}"),
            "villages_without_time".to_owned(),
            "population_without_time".to_owned(),
        ]);
        w.write_record(&header)?;
        for d in &summary.districts {
            let mut row = vec![
                d.code.clone(),
                d.name.clone(),
                d.total.villages.to_string(),
                d.total.population.to_string(),
                d.without_population.to_string(),
            ];
            for (_, c) in &d.within {
                row.push(c.villages.to_string());
                row.push(c.population.to_string());
            }
            row.extend([
                d.beyond.villages.to_string(),
                d.beyond.population.to_string(),
                d.no_time.villages.to_string(),
                d.no_time.population.to_string(),
            ]);
            w.write_record(&row)?;
        }
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The isochrone feature of one band.
fn isochrone_feature(o: &Outcome<'_>, minutes: f64) -> Json {
    let t0 = Instant::now();
    let band = isochrones(o.times, &[minutes * 60.0]);
    let feature = band.first().map(|b| {
        json!({
            "type": "Feature",
            "geometry": multipolygon_json(&b.polygons, &o.metric.lattice),
            "properties": {
                "minutes": minutes,
                "area_km2": geo::Area::unsigned_area(&b.polygons) / 1e6,
                "scenario": o.scenario,
                "direction": o.direction,
            },
        })
    });
    tracing::debug!(elapsed = ?t0.elapsed(), minutes, "isochrone");
    feature.unwrap_or(Json::Null)
}

/// One piece of output work.
#[derive(Clone, Copy)]
enum Task {
    TravelTime,
    Allocation,
    Band(usize),
    Tables,
}

/// Write every output, spread over two threads.
fn write_outputs(o: &Outcome<'_>, out: &Path) -> Result<()> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Longest first.
    let mut tasks = vec![Task::TravelTime];
    tasks.extend((0..o.bands.len()).rev().map(Task::Band));
    tasks.extend([Task::Allocation, Task::Tables]);
    let next = AtomicUsize::new(0);
    let features: Mutex<Vec<Json>> = Mutex::new(vec![Json::Null; o.bands.len()]);
    let run = |task: Task| -> Result<()> {
        match task {
            Task::TravelTime => write_geotiff(
                &minutes_raster(o.times, o.metric.epsg),
                &out.join("travel_time.tif"),
                &geotiff_options(o.compress, true),
            ),
            Task::Allocation => {
                let mut alloc = o.times.allocation_raster();
                alloc.epsg = Some(o.metric.epsg);
                write_geotiff(
                    &alloc,
                    &out.join("allocation.tif"),
                    &geotiff_options(o.compress, false),
                )
            }
            Task::Band(i) => {
                let f = isochrone_feature(o, o.bands[i]);
                let mut all = features
                    .lock()
                    .map_err(|_| anyhow::anyhow!("an isochrone thread panicked"))?;
                if let Some(slot) = all.get_mut(i) {
                    *slot = f;
                }
                Ok(())
            }
            Task::Tables => write_tables(o, out),
        }
    };
    let worker = || -> Result<()> {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&task) = tasks.get(k) else {
                return Ok(());
            };
            run(task)?;
        }
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(worker);
        let b = worker();
        (a.join(), b)
    });
    a.map_err(|_| anyhow::anyhow!("an output thread panicked"))??;
    b?;
    let features = features
        .into_inner()
        .map_err(|_| anyhow::anyhow!("an isochrone thread panicked"))?;
    let fc = json!({"type": "FeatureCollection", "features": features});
    write_text(&out.join("isochrones.geojson"), &(fc.to_string() + "\n"))
}

fn project_multipolygon(
    mp: &MultiPolygon<f64>,
    forward: &Transformer,
) -> Result<MultiPolygon<f64>> {
    use geo::MapCoords;
    Ok(mp.try_map_coords(|c| {
        forward
            .transform_one(c.x, c.y)
            .map(|(x, y)| geo::coord! {x: x, y: y})
    })?)
}

fn districts_of(layer: &Layer, forward: &Transformer) -> Result<Vec<District>> {
    let mut out = Vec::new();
    for f in &layer.features {
        let mp = match &f.geometry {
            Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
            Geometry::MultiPolygon(mp) => mp.clone(),
            _ => continue,
        };
        out.push(District {
            code: text(layer, f, "code"),
            name: text(layer, f, "name"),
            polygons: project_multipolygon(&mp, forward)
                .with_context(|| format!("layer '{}', feature {}", layer.name, f.fid))?,
        });
    }
    Ok(out)
}

/// The store's layers a run reads.
struct Layers {
    names: Vec<String>,
    facilities: Layer,
    villages: Option<Layer>,
    districts: Option<Layer>,
}

fn read_layers(store: &dyn Store, args: &Args) -> Result<Layers> {
    let names: Vec<String> = store.layers()?.into_iter().map(|l| l.name).collect();
    let facilities = store
        .read_layer(&args.facilities)
        .with_context(|| format!("reading the facilities layer '{}'", args.facilities))?;
    let villages = if names.iter().any(|n| n == &args.villages) {
        Some(store.read_layer(&args.villages)?)
    } else if args.villages == "communities" {
        tracing::warn!("no 'communities' layer in the store: no village table");
        None
    } else {
        return Err(CatchmentsError::MissingLayer {
            layer: args.villages.clone(),
            option: "villages",
        }
        .into());
    };
    let districts = match &args.districts {
        Some(d) if names.iter().any(|n| n == d) => Some(store.read_layer(d)?),
        Some(d) => {
            return Err(CatchmentsError::MissingLayer {
                layer: d.clone(),
                option: "districts",
            }
            .into());
        }
        None => None,
    };
    tracing::debug!("layers read");
    Ok(Layers {
        names,
        facilities,
        villages,
        districts,
    })
}

/// Run `chaski catchments`.
pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let start = Instant::now();
    let bands = check_args(args)?;
    let filter = SourceFilter::new(args.category.as_deref(), args.birth_care)?;
    let mut stages = Stages::new(6);

    stages.next("reading the store and the raster");
    // A raster file (GDAL) is read on the other core while the store (SQLite)
    // opens and its layers are read.
    let file = args.friction.as_ref().or(args.dem_file.as_ref());
    let (store, layers, input) = std::thread::scope(|s| -> Result<_> {
        let raster = file.map(|f| s.spawn(move || chaski_io::raster::read_raster(f)));
        let store = crate::store::open(store_path)?;
        let layers = read_layers(store.as_ref(), args)?;
        let input = if let (Some(handle), Some(f)) = (raster, file) {
            let r = handle
                .join()
                .map_err(|_| anyhow::anyhow!("reading the raster panicked"))??;
            (r, f.display().to_string())
        } else {
            let r = store.read_raster(&args.dem).with_context(|| {
                format!(
                    "reading the DEM '{}' from the store (import one with `chaski import FILE.tif --layer {}`, or pass --dem-file)",
                    args.dem, args.dem
                )
            })?;
            (r, format!("'{}'", args.dem))
        };
        Ok((store, layers, input))
    })?;
    let (input, what) = input;
    let Layers {
        names,
        facilities: fac_layer,
        villages: village_layer,
        districts: district_layer,
    } = layers;
    stages.end("read");

    stages.next("projecting the raster");
    let metric = to_metric(input, &what, args.cell)?;
    stages.end("project");

    stages.next("building the travel surface");
    let grid = Grid::of(&metric.raster)?;
    let scenario_name;
    let surface = if args.friction.is_some() {
        for (o, v) in [
            ("paths", &args.paths),
            ("roads", &args.roads),
            ("rivers", &args.rivers),
        ] {
            if v.is_some() {
                tracing::warn!("--{o} is ignored with --friction");
            }
        }
        scenario_name = match args.friction_unit {
            FrictionUnit::Kmh => "friction raster (km/h)",
            FrictionUnit::SPerM => "friction raster (s/m)",
        }
        .to_owned();
        match args.friction_unit {
            FrictionUnit::Kmh => CostSurface::from_speed_kmh(&metric.raster)?,
            FrictionUnit::SPerM => CostSurface::from_friction(&metric.raster)?,
        }
    } else {
        let scenario = scenario(args)?;
        scenario_name = scenario.name.clone();
        let mut routes = grid.raster(0u8);
        let mut water = grid.raster(0u8);
        for (given, default, option) in [
            (args.paths.as_deref(), "paths", "paths"),
            (args.roads.as_deref(), "roads", "roads"),
            (args.rivers.as_deref(), "rivers", "rivers"),
        ] {
            if let Some(layer) = line_layer(store.as_ref(), &names, given, default, option)? {
                let n = burn_layer(&layer, &metric.projection, &mut routes, &mut water)
                    .with_context(|| format!("burning layer '{}'", layer.name))?;
                tracing::info!(layer = layer.name, features = n, "burned");
            }
        }
        let any_routes = routes.data.iter().any(|&c| c != 0);
        let any_water = water.data.iter().any(|&c| c != 0);
        let inputs = TerrainInputs {
            routes: any_routes.then_some(&routes),
            water: any_water.then_some(&water),
            ..TerrainInputs::new(&metric.raster)
        };
        terrain_surface(&inputs, &scenario)?
    };
    stages.end("surface");

    stages.next("searching");
    let facs = facilities(&fac_layer, &filter);
    if facs.is_empty() {
        return Err(CatchmentsError::Sources {
            layer: args.facilities.clone(),
            reason: format!(
                "no facility with a location matches the filter ({})",
                filter.describe()
            ),
        }
        .into());
    }
    let lonlats: Vec<(f64, f64)> = facs.iter().map(|f| f.lonlat).collect();
    let cells: Vec<(usize, usize)> = metric
        .forward
        .transform_each(&lonlats)?
        .into_iter()
        .map(|xy| {
            xy.ok()
                .and_then(|(x, y)| grid.cell_at(x, y))
                .unwrap_or((usize::MAX, usize::MAX))
        })
        .collect();
    let opts = SearchOptions {
        direction: match args.direction {
            DirectionArg::To => Direction::ToSource,
            DirectionArg::From => Direction::FromSource,
        },
        max_seconds: args.max_minutes.map(|m| m * 60.0),
    };
    // The search on this core; villages and districts projected on the other.
    let (tt, prepared) = std::thread::scope(|s| {
        let prepared = s.spawn(|| -> Result<_> {
            let places = match &village_layer {
                Some(l) => villages(l, &metric, args.all_villages)?,
                None => (Vec::new(), 0),
            };
            let districts = match &district_layer {
                Some(l) => Some(districts_of(l, &metric.forward)?),
                None => None,
            };
            std::fs::create_dir_all(&args.out)
                .with_context(|| format!("creating {}", args.out.display()))?;
            Ok((places, districts))
        });
        let t0 = Instant::now();
        let tt = travel_time(&surface, &cells, &opts);
        tracing::debug!(elapsed = ?t0.elapsed(), "travel_time");
        (tt, prepared.join())
    });
    let ((places, outside_extent), districts) =
        prepared.map_err(|_| anyhow::anyhow!("preparing the villages panicked"))??;
    let used = facs.len() - tt.skipped_sources.len();
    if used == 0 {
        return Err(CatchmentsError::Sources {
            layer: args.facilities.clone(),
            reason: format!(
                "none of the {} facilities matching the filter ({}) lies on a passable cell of the surface",
                facs.len(),
                filter.describe()
            ),
        }
        .into());
    }
    stages.end("search");

    stages.next("villages and districts");
    let village_list: Vec<Village> = places.iter().map(|p| p.village.clone()).collect();
    let codes: Vec<String> = facs.iter().map(|f| f.code.clone()).collect();
    let raster = &metric.raster;
    let has_data = |c: usize, r: usize| {
        let z = raster.data[r * raster.width + c];
        z.is_finite() && !raster.is_nodata(z)
    };
    let access = village_access(&tt, &surface, has_data, &village_list, &codes);
    if districts.is_some() && args.max_minutes.is_some_and(|m| m < DISTRICT_MINUTES[2]) {
        tracing::warn!(
            "--max-minutes is under {} min: districts.csv counts villages not reached as beyond {} min",
            DISTRICT_MINUTES[2],
            DISTRICT_MINUTES[2]
        );
    }
    let summary = match &districts {
        Some(d) => Some(district_summary(
            d,
            &village_list,
            &access,
            &DISTRICT_MINUTES,
        )?),
        None => None,
    };
    stages.end("villages");

    stages.next("writing outputs");
    let direction = match args.direction {
        DirectionArg::To => "to the facility",
        DirectionArg::From => "from the facility",
    };
    let outcome = Outcome {
        metric: &metric,
        times: &tt,
        facilities: &facs,
        places: &places,
        access: &access,
        districts: summary.as_ref(),
        bands: &bands,
        scenario: &scenario_name,
        direction,
        compress: args.compress,
    };
    write_outputs(&outcome, &args.out)?;
    stages.end("write");
    stages.bar.finish_and_clear();

    // Summary.
    let mut text = String::new();
    let skipped = tt.skipped_sources.len();
    writeln!(
        text,
        "catchments: {scenario_name}, {direction}; facilities in '{}' matching {}: {}, {used} used as sources{}",
        args.facilities,
        filter.describe(),
        facs.len(),
        if skipped > 0 {
            format!(", {skipped} outside the surface")
        } else {
            String::new()
        }
    )?;
    let (cw, _) = grid.cell_size();
    writeln!(
        text,
        "grid: {} x {} cells of {cw} m (EPSG:{}{}), {} passable, {} reached",
        grid.width,
        grid.height,
        metric.epsg,
        if metric.warped {
            ", warped from EPSG:4326"
        } else {
            ""
        },
        surface.passable_count(),
        tt.settled
    )?;
    if village_layer.is_some() {
        let count = |s: AccessStatus| access.iter().filter(|a| a.status == s).count();
        let later = access
            .iter()
            .filter(|a| a.minutes.is_some_and(|m| m > 120.0))
            .count();
        // Villages not reached are beyond 2 h only when the search went that far.
        let beyond = match args.max_minutes {
            Some(m) if m < 120.0 => format!(
                "{} not reached within the {m} min searched (2 h not searched)",
                count(AccessStatus::NotReached)
            ),
            _ => format!("{} beyond 2 h", later + count(AccessStatus::NotReached)),
        };
        let mut parts: Vec<String> = AccessStatus::ALL
            .iter()
            .map(|&s| (s, count(s)))
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {}", s.reason()))
            .collect();
        if parts.is_empty() {
            parts.push("none".to_owned());
        }
        writeln!(
            text,
            "villages of '{}': {} listed{}: {}; {beyond}",
            args.villages,
            places.len(),
            if outside_extent > 0 && !args.all_villages {
                format!(" ({outside_extent} outside the raster's extent not listed)")
            } else {
                String::new()
            },
            parts.join(", ")
        )?;
    }
    writeln!(text, "outputs in {}", args.out.display())?;
    writeln!(
        text,
        "time: {:.2} s ({})",
        start.elapsed().as_secs_f64(),
        stages.line()
    )?;
    std::io::stdout().lock().write_all(text.as_bytes())?;
    tracing::debug!("summary printed");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaski_core::domain::Category::{I1, I2, I3, I4, II1, II2, IIE, III1, III2, IIIE};

    #[test]
    fn category_expressions() {
        let p = |s: &str| parse_categories(s).unwrap();
        assert_eq!(p(">=I-3"), vec![I3, I4, II1, II2, IIE, III1, III2, IIIE]);
        assert_eq!(p(">II-E"), vec![III1, III2, IIIE]);
        assert_eq!(p("<I-3"), vec![I1, I2]);
        assert_eq!(p("<=i2"), vec![I1, I2]);
        assert_eq!(p("=I-4"), vec![I4]);
        assert_eq!(p("I-3, I-4"), vec![I3, I4]);
        for bad in ["<I-1", ">=IV", "I-3,,I-4", ""] {
            assert!(parse_categories(bad).is_err(), "{bad}");
        }
        let f = SourceFilter::new(Some(">=I-3"), Some(BirthCareArg::Basic)).unwrap();
        assert!(f.accepts(Some(I4), Some(BirthCare::Complete)));
        assert!(!f.accepts(Some(I4), Some(BirthCare::None)));
        assert!(!f.accepts(Some(I2), Some(BirthCare::Basic)));
        assert!(!f.accepts(None, Some(BirthCare::Basic)));
        assert!(SourceFilter::default().accepts(None, None));
    }

    /// 1 arc-second raster over (-74.2, -13.0) with z linear in lon and lat.
    fn geographic(width: usize, height: usize) -> Raster<f32> {
        let d = 1.0 / 3600.0;
        let t = [-74.2, d, 0.0, -13.0, 0.0, -d];
        let mut r = Raster::filled(width, height, t, Some(4326), 0f32);
        r.nodata = Some(-9999.0);
        for row in 0..height {
            for col in 0..width {
                let (lon, lat) = r.cell_center(col, row);
                r.data[row * width + col] = linear(lon, lat) as f32;
            }
        }
        r
    }

    fn linear(lon: f64, lat: f64) -> f64 {
        3000.0 + 20_000.0 * (lon + 74.2) - 30_000.0 * (lat + 13.0)
    }

    #[test]
    #[expect(clippy::many_single_char_names, reason = "raster notation")]
    fn warp_reproduces_linear_terrain_and_nodata() {
        let (w, h) = (200, 150);
        let mut src = geographic(w, h);
        // A nodata block.
        for row in 50..60 {
            for col in 80..100 {
                src.data[row * w + col] = -9999.0;
            }
        }
        let m = to_metric(src.clone(), "test", None).unwrap();
        assert!(m.warped);
        assert_eq!(m.epsg, 32718);
        // 1 arc-second at 13 S is 30.1 m east-west, 30.7 m north-south: 30 m.
        assert_eq!(m.raster.cell_size(), (30.0, 30.0));
        let exact = ProjProjection::new(32718).unwrap();
        let (mut inside, mut nodata, mut worst) = (0, 0, 0f64);
        for row in 0..m.raster.height {
            for col in 0..m.raster.width {
                let (x, y) = m.raster.cell_center(col, row);
                let (lon, lat) = exact.inverse_one(x, y).unwrap();
                let z = m.raster.data[row * m.raster.width + col];
                // Cells whose centre is within 1/1000 of a pixel (3 cm) of a
                // source cell edge may fall either side of it.
                let (u, v) = (
                    (lon - src.transform[0]) * 3600.0,
                    (src.transform[3] - lat) * 3600.0,
                );
                let near_edge = |f: f64| (f - f.round()).abs() < 1e-3;
                if near_edge(u) || near_edge(v) {
                    continue;
                }
                let under = src.cell_at(lon, lat).map(|(c, r)| src.data[r * w + c]);
                match under {
                    Some(value) if !src.is_nodata(value) => {
                        assert!(!m.raster.is_nodata(z), "({col}, {row})");
                        inside += 1;
                        // Away from nodata and the edges bilinear is exact on a plane.
                        let (c, r) = src.cell_at(lon, lat).unwrap();
                        let clear = (c.saturating_sub(1)..=(c + 1).min(w - 1)).all(|cc| {
                            (r.saturating_sub(1)..=(r + 1).min(h - 1))
                                .all(|rr| !src.is_nodata(src.data[rr * w + cc]))
                        });
                        if clear && c > 0 && r > 0 && c + 1 < w && r + 1 < h {
                            worst = worst.max((f64::from(z) - linear(lon, lat)).abs());
                        }
                    }
                    _ => {
                        assert!(m.raster.is_nodata(z), "({col}, {row})");
                        nodata += 1;
                    }
                }
            }
        }
        // f32 on values of a few thousand: within a milli-unit.
        assert!(worst < 2e-3, "{worst}");
        assert!(inside > 25_000 && nodata > 200, "{inside} {nodata}");
    }

    #[test]
    #[expect(clippy::many_single_char_names, reason = "raster notation")]
    fn lattice_is_within_a_millimetre_of_proj() {
        let t = [590_000.0, 30.0, 0.0, 8_584_000.0, 0.0, -30.0];
        let lattice = Lattice::new(1537, 1459, t, 32718).unwrap();
        let exact = ProjProjection::new(32718).unwrap();
        let mut state = 7u64;
        for _ in 0..500 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 1537.0;
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let v = (state >> 11) as f64 / (1u64 << 53) as f64 * 1459.0;
            let (x, y) = (t[0] + u * t[1], t[3] + v * t[5]);
            let a = lattice.lonlat(x, y);
            let b = exact.inverse_one(x, y).unwrap();
            assert!(
                (a.0 - b.0).abs() < 1e-8 && (a.1 - b.1).abs() < 1e-8,
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn rasters_in_other_geographic_crs_are_refused() {
        let mut r = geographic(10, 10);
        r.epsg = Some(4269);
        let e = to_metric(r.clone(), "nad83", None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("only EPSG:4326"), "{e}");
        r.epsg = None;
        assert!(to_metric(r, "nocrs", None).is_err());
        let utm = Raster::filled(
            3,
            3,
            [500_000.0, 30.0, 0.0, 8_600_000.0, 0.0, -30.0],
            None,
            1f32,
        );
        let e = to_metric(utm, "utm", None).err().unwrap().to_string();
        assert!(e.contains("has no CRS"), "{e}");
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
}
