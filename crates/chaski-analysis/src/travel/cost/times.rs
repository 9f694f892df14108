//! The result of a search: time, nearest source and back-pointer per cell, and
//! the routes read off them.

use super::moves::{MOVES, NO_MOVE};
use super::surface::{CostSurface, NO_SOURCE, PARALLEL_MASK_CELLS};

use super::super::grid::Grid;
use chaski_core::raster::{GeoTransform, Raster};

/// Result of [`travel_time`] on a grid of `width * height` cells, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TravelTimes {
    /// The grid searched.
    pub grid: Grid,
    /// Seconds to (or from) the nearest source; `f32::INFINITY` when not reached.
    pub seconds: Vec<f32>,
    /// Index into the sources of the nearest source; [`NO_SOURCE`] when not reached.
    pub allocation: Vec<u32>,
    /// Code (index into [`MOVES`]) of the first move from the cell towards its
    /// source; [`NO_MOVE`] for sources and cells not reached.
    pub back: Vec<u8>,
    /// Cells settled by the search (reached within the time limit).
    pub settled: usize,
    /// Indexes of sources outside the grid or on impassable cells, ignored.
    pub skipped_sources: Vec<usize>,
}

impl TravelTimes {
    /// Gather the result from a padded search state: `cell(p)` gives the
    /// time, source and back-pointer of padded cell `p`, None when not reached.
    pub(crate) fn from_padded(
        surface: &CostSurface,
        skipped_sources: Vec<usize>,
        cell: impl Fn(usize) -> Option<(f32, u32, u8)> + Sync,
    ) -> Self {
        let grid = surface.grid;
        let n = grid.len();
        // Zeroed buffers come from the allocator untouched: each cell is
        // written once, large grids in two halves of rows on two threads.
        let (mut seconds, mut allocation, mut back) = (vec![0f32; n], vec![0u32; n], vec![0u8; n]);
        let fill =
            |first_row: usize, seconds: &mut [f32], allocation: &mut [u32], back: &mut [u8]| {
                let mut settled = 0;
                let w = grid.width;
                for (k, ((t_out, s_out), b_out)) in seconds
                    .chunks_exact_mut(w)
                    .zip(allocation.chunks_exact_mut(w))
                    .zip(back.chunks_exact_mut(w))
                    .enumerate()
                {
                    let start = surface.pidx(0, first_row + k);
                    for (col, ((t_out, s_out), b_out)) in t_out
                        .iter_mut()
                        .zip(s_out.iter_mut())
                        .zip(b_out.iter_mut())
                        .enumerate()
                    {
                        let (t, source, b) =
                            cell(start + col).unwrap_or((f32::INFINITY, NO_SOURCE, NO_MOVE));
                        settled += usize::from(t.is_finite());
                        (*t_out, *s_out, *b_out) = (t, source, b);
                    }
                }
                settled
            };
        let settled = if n >= PARALLEL_MASK_CELLS && grid.width > 0 {
            let mid = grid.height / 2 * grid.width;
            let (t0, t1) = seconds.split_at_mut(mid);
            let (s0, s1) = allocation.split_at_mut(mid);
            let (b0, b1) = back.split_at_mut(mid);
            std::thread::scope(|sc| {
                let upper = sc.spawn(|| fill(0, t0, s0, b0));
                let lower = fill(grid.height / 2, t1, s1, b1);
                // A panic in `cell` is a bug: re-raised here as it would be on one thread.
                upper
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
                    + lower
            })
        } else if grid.width > 0 {
            fill(0, &mut seconds, &mut allocation, &mut back)
        } else {
            0
        };
        Self {
            grid,
            seconds,
            allocation,
            back,
            settled,
            skipped_sources,
        }
    }

    pub(crate) fn index(&self, col: usize, row: usize) -> Option<usize> {
        (col < self.grid.width && row < self.grid.height).then(|| row * self.grid.width + col)
    }

    /// Seconds at (col, row); None when not reached or outside the grid.
    pub fn time(&self, col: usize, row: usize) -> Option<f32> {
        let t = *self.seconds.get(self.index(col, row)?)?;
        t.is_finite().then_some(t)
    }

    /// Seconds at CRS point (x, y).
    pub fn time_at(&self, x: f64, y: f64) -> Option<f32> {
        let (c, r) = self.grid.cell_at(x, y)?;
        self.time(c, r)
    }

    /// Index of the nearest source of (col, row); None when not reached.
    pub fn source(&self, col: usize, row: usize) -> Option<usize> {
        let a = *self.allocation.get(self.index(col, row)?)?;
        (a != NO_SOURCE).then_some(a as usize)
    }

    /// Cells (col, row) of the route from (col, row) to its source, both included.
    /// None when the cell was not reached.
    pub fn route_cells(&self, col: usize, row: usize) -> Option<Vec<(usize, usize)>> {
        self.time(col, row)?;
        let (mut c, mut r) = (col, row);
        let mut cells = vec![(c, r)];
        // A route visits each cell at most once; the bound guards against corrupt input.
        for _ in 0..self.seconds.len() {
            let d = *self.back.get(self.index(c, r)?)?;
            if d == NO_MOVE {
                return Some(cells);
            }
            let (dc, dr) = *MOVES.get(usize::from(d))?;
            c = c.checked_add_signed(dc as isize)?;
            r = r.checked_add_signed(dr as isize)?;
            cells.push((c, r));
        }
        None
    }

    /// The route from (col, row) to its source as cell centres in CRS
    /// coordinates, starting at the cell. With [`Direction::ToSource`] this is
    /// the walking order.
    pub fn route(&self, col: usize, row: usize) -> Option<Vec<(f64, f64)>> {
        Some(
            self.route_cells(col, row)?
                .into_iter()
                .map(|(c, r)| self.grid.cell_center(c, r))
                .collect(),
        )
    }

    /// Travel times as a raster in seconds, nodata (−1) where not reached.
    pub fn time_raster(&self) -> Raster<f32> {
        let mut r = self.grid.raster(-1.0f32);
        r.nodata = Some(-1.0);
        for (d, &t) in r.data.iter_mut().zip(&self.seconds) {
            if t.is_finite() {
                *d = t;
            }
        }
        r
    }

    /// Allocation as a raster of source indexes, nodata (−1) where not reached.
    pub fn allocation_raster(&self) -> Raster<f32> {
        let mut r = self.grid.raster(-1.0f32);
        r.nodata = Some(-1.0);
        for (d, &a) in r.data.iter_mut().zip(&self.allocation) {
            if a != NO_SOURCE {
                *d = a as f32;
            }
        }
        r
    }

    /// Transform of the grid.
    pub fn transform(&self) -> GeoTransform {
        self.grid.transform
    }
}
