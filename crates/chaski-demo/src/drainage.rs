//! Streams traced on the DEM, so that the river layer follows the DEM's own
//! drainage, and a distance grid to every river line.
//!
//! Each tributary is traced from its head down the D8 flow directions of
//! chaski-core's hydrology (Priority-Flood filled, steepest descent) until it
//! reaches the main river, then smoothed by two rounds of Chaikin corner
//! cutting. The distance grid is a two-pass chamfer transform (orthogonal
//! step = cell, diagonal = cell·√2) seeded with the exact distance from each
//! cell centre to the line samples falling in it: within a few percent of the
//! Euclidean distance, plenty for placing villages and paths.

// Grid code: c, r, w, h, u, v... are the conventional names.
#![allow(clippy::many_single_char_names)]

use crate::terrain::{self, Terrain};
use chaski_analysis::travel::hydrology::flow_grid;
use chaski_core::raster::Raster;

/// The river lines (local metres) and the distance grid to them.
#[derive(Debug, Clone)]
pub struct Drainage {
    /// Tributary lines from head to confluence, in `Terrain::tributaries` order.
    pub tributaries: Vec<Vec<(f64, f64)>>,
    /// Distance (m) from each DEM cell centre to the nearest river line.
    dist: Vec<f32>,
    width: usize,
    height: usize,
}

/// Two rounds of Chaikin corner cutting, keeping both ends.
fn chaikin(points: &[(f64, f64)], rounds: usize) -> Vec<(f64, f64)> {
    let mut pts = points.to_vec();
    for _ in 0..rounds {
        if pts.len() < 3 {
            break;
        }
        let mut out = Vec::with_capacity(pts.len() * 2);
        out.push(pts[0]);
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            out.push((0.75 * a.0 + 0.25 * b.0, 0.75 * a.1 + 0.25 * b.1));
            out.push((0.25 * a.0 + 0.75 * b.0, 0.25 * a.1 + 0.75 * b.1));
        }
        out.push(pts[pts.len() - 1]);
        pts = out;
    }
    pts
}

impl Drainage {
    /// Trace the tributaries of `terrain` on `dem` and build the distance grid.
    pub fn new(terrain: &Terrain, dem: &Raster<f32>) -> Self {
        let flow = flow_grid(dem).ok();
        let w = dem.width;
        let tributaries: Vec<Vec<(f64, f64)>> = terrain
            .tributaries
            .iter()
            .map(|t| {
                let (hx, hy) = terrain::to_utm(t.u_at(t.head_v), t.head_v);
                let (Some(flow), Some((c, r))) = (flow.as_ref(), dem.cell_at(hx, hy)) else {
                    return t.line();
                };
                let mut i = r * w + c;
                let mut pts = Vec::new();
                for _ in 0..(dem.width * dem.height) {
                    let (x, y) = dem.cell_center(i % w, i / w);
                    let (u, v) = terrain::from_utm(x, y);
                    pts.push((u, v));
                    if terrain.main_distance(u, v) < 90.0 {
                        break;
                    }
                    match flow.downstream(i) {
                        Some(j) => i = j,
                        None => break,
                    }
                }
                let mut line = chaikin(&pts, 2);
                if let Some(&(u, v)) = pts.last() {
                    if terrain.main_distance(u, v) < 150.0 {
                        line.push((u, terrain.main_v(u)));
                    }
                }
                if line.len() < 2 { t.line() } else { line }
            })
            .collect();
        let mut d = Self {
            tributaries,
            dist: Vec::new(),
            width: dem.width,
            height: dem.height,
        };
        d.dist = d.distance_grid(terrain, dem);
        d
    }

    fn distance_grid(&self, terrain: &Terrain, dem: &Raster<f32>) -> Vec<f32> {
        let (w, h) = (self.width, self.height);
        let cell = dem.cell_size().0;
        let mut dist = vec![f32::INFINITY; w * h];
        let main = terrain.main_line();
        for line in std::iter::once(&main).chain(&self.tributaries) {
            for seg in line.windows(2) {
                let (a, b) = (seg[0], seg[1]);
                let len = (b.0 - a.0).hypot(b.1 - a.1);
                let n = (len / 10.0).ceil().max(1.0) as usize;
                for k in 0..=n {
                    let t = k as f64 / n as f64;
                    let (u, v) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                    let (x, y) = terrain::to_utm(u, v);
                    if let Some((c, r)) = dem.cell_at(x, y) {
                        let (cx, cy) = dem.cell_center(c, r);
                        let d = ((cx - x).hypot(cy - y)) as f32;
                        let slot = &mut dist[r * w + c];
                        *slot = slot.min(d);
                    }
                }
            }
        }
        let (ortho, diag) = (cell as f32, (cell * std::f64::consts::SQRT_2) as f32);
        let forward = [
            (-1i64, -1i64, diag),
            (0, -1, ortho),
            (1, -1, diag),
            (-1, 0, ortho),
        ];
        let backward = [
            (1i64, 1i64, diag),
            (0, 1, ortho),
            (-1, 1, diag),
            (1, 0, ortho),
        ];
        let pass = |dist: &mut Vec<f32>, c: usize, r: usize, kernel: &[(i64, i64, f32); 4]| {
            let mut best = dist[r * w + c];
            for &(dc, dr, step) in kernel {
                let (nc, nr) = (c as i64 + dc, r as i64 + dr);
                if nc >= 0 && nr >= 0 && (nc as usize) < w && (nr as usize) < h {
                    best = best.min(dist[nr as usize * w + nc as usize] + step);
                }
            }
            dist[r * w + c] = best;
        };
        for r in 0..h {
            for c in 0..w {
                pass(&mut dist, c, r, &forward);
            }
        }
        for r in (0..h).rev() {
            for c in (0..w).rev() {
                pass(&mut dist, c, r, &backward);
            }
        }
        dist
    }

    /// Distance (m) from local (u, v) to the nearest river line, by its cell
    /// (infinite off the grid).
    pub fn distance(&self, dem: &Raster<f32>, u: f64, v: f64) -> f64 {
        let (x, y) = terrain::to_utm(u, v);
        dem.cell_at(x, y).map_or(f64::INFINITY, |(c, r)| {
            f64::from(self.dist[r * self.width + c])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chaikin_cuts_corners_and_keeps_ends() {
        let out = chaikin(&[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0)], 1);
        assert_eq!(
            out,
            vec![
                (0.0, 0.0),
                (1.0, 0.0),
                (3.0, 0.0),
                (4.0, 1.0),
                (4.0, 3.0),
                (4.0, 4.0)
            ]
        );
    }
}
