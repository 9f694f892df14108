//! The metric grid of a run. Rasters in EPSG:4326 are warped to the UTM zone
//! of their centre at their own resolution (e.g. 1 arc-second becomes 30 m):
//! each target cell centre is mapped back to longitude/latitude through the
//! projection (exactly on a lattice every few cells, bilinearly in between,
//! checked to stay within a millimetre) and sampled bilinearly from the valid
//! neighbours; a target cell has data when the source cell under its centre has
//! (as `gdalwarp -r near`). Projected rasters are used as they are.

use super::error::{TravelError, crs};
use crate::travel::grid::Grid;
use chaski_core::crs::{CrsError, Projection, Projections, UtmZone};
use chaski_core::raster::Raster;
use geo::Rect;
use std::sync::Arc;
use std::time::Instant;

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

pub(crate) fn is_geographic(r: &Raster<f32>) -> bool {
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
