//! River networks derived from a DEM, for areas without a river layer.
//!
//! 1. Depressions and flats are filled with Priority-Flood + ε (Barnes, Lehman
//!    and Mulla 2014, "Priority-Flood: An optimal depression-filling and
//!    watershed-labeling algorithm for digital elevation models", *Computers &
//!    Geosciences* 62, 117–127): cells are flooded inwards from the grid edge and
//!    from nodata, each raised to at least its discoverer plus a tiny ε, so every
//!    cell has a strictly lower path to an outlet.
//! 2. D8 flow directions (O'Callaghan and Mark 1984): each cell drains to the
//!    neighbour of steepest descent on the filled surface (drop over distance).
//!    Cells with no lower neighbour are outlets.
//! 3. Flow accumulation: cells counted upstream of each cell, itself included,
//!    by a topological sweep (Kahn's algorithm).
//! 4. Streams: cells whose accumulation reaches a threshold (in cells).
//!
//! Parameters: a DEM (nodata cells are outside the basin). Returns a [`FlowGrid`];
//! [`FlowGrid::streams`] turns it into a [`WaterClass::River`] raster for
//! [`super::friction::TerrainInputs::water`].
//!
//! ```
//! use chaski_analysis::travel::hydrology::flow_grid;
//! use chaski_core::raster::Raster;
//! // A 5 x 4 V-shaped valley draining to the bottom row along column 2.
//! let mut dem = Raster::filled(5, 4, [0.0, 30.0, 0.0, 120.0, 0.0, -30.0], None, 0f32);
//! for r in 0..4 { for c in 0..5 {
//!     dem.data[r * 5 + c] = 10.0 * (c as f32 - 2.0).abs() + (3 - r) as f32;
//! } }
//! let flow = flow_grid(&dem).unwrap();
//! assert_eq!(flow.accumulation[3 * 5 + 2], 20); // the outlet drains everything
//! let rivers = flow.streams(12);
//! let cells: Vec<usize> = (0..20).filter(|&i| rivers.data[i] != 0).collect();
//! assert_eq!(cells, vec![12, 17]);
//! ```

use super::cost::{MOVES, NO_MOVE};
use super::grid::{Grid, GridError};
use super::scenario::WaterClass;
use chaski_core::raster::Raster;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Raise per flooded step (metres) of Priority-Flood + ε.
const EPSILON: f64 = 1e-5;

/// Flow directions and accumulation of a DEM.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowGrid {
    /// The DEM's grid.
    pub grid: Grid,
    /// Depression-filled elevation (f64, with the ε gradient); NaN on nodata.
    pub filled: Vec<f64>,
    /// D8 direction per cell: an index into [`MOVES`] (`0..8`), or [`NO_MOVE`]
    /// for outlets and nodata.
    pub direction: Vec<u8>,
    /// Number of cells draining through each cell, itself included (0 on nodata).
    pub accumulation: Vec<u32>,
}

/// Total-order key of an f64 (for the priority queue).
fn key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn neighbour(grid: &Grid, i: usize, d: usize) -> Option<usize> {
    let (dc, dr) = MOVES[d];
    let c = (i % grid.width).checked_add_signed(dc as isize)?;
    let r = (i / grid.width).checked_add_signed(dr as isize)?;
    (c < grid.width && r < grid.height).then(|| r * grid.width + c)
}

/// Fill, route and accumulate `dem`. See the [module documentation](self).
pub fn flow_grid(dem: &Raster<f32>) -> Result<FlowGrid, GridError> {
    let grid = Grid::of(dem)?;
    let n = grid.len();
    let valid: Vec<bool> = dem
        .data
        .iter()
        .map(|&z| z.is_finite() && !dem.is_nodata(z))
        .collect();
    let mut filled = vec![f64::NAN; n];
    let mut closed = vec![false; n];
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
    // Seeds: valid cells on the grid edge or next to nodata.
    for i in 0..n {
        if !valid[i] {
            continue;
        }
        let edge = (0..8).any(|d| neighbour(&grid, i, d).is_none_or(|j| !valid[j]));
        if edge {
            filled[i] = f64::from(dem.data[i]);
            closed[i] = true;
            heap.push(Reverse((key(filled[i]), i as u32)));
        }
    }
    while let Some(Reverse((_, i))) = heap.pop() {
        let i = i as usize;
        let fi = filled[i];
        for d in 0..8 {
            let Some(j) = neighbour(&grid, i, d) else {
                continue;
            };
            if closed[j] || !valid[j] {
                continue;
            }
            closed[j] = true;
            filled[j] = f64::from(dem.data[j]).max(fi + EPSILON);
            heap.push(Reverse((key(filled[j]), j as u32)));
        }
    }
    // D8 on the filled surface.
    let (cw, ch) = grid.cell_size();
    let dist: [f64; 8] = std::array::from_fn(|d| {
        let (dc, dr) = MOVES[d];
        (f64::from(dc) * cw).hypot(f64::from(dr) * ch)
    });
    let mut direction = vec![NO_MOVE; n];
    let mut indegree = vec![0u32; n];
    for i in 0..n {
        if !valid[i] {
            continue;
        }
        let mut best = (0.0, NO_MOVE);
        for (d, len) in dist.iter().enumerate() {
            if let Some(j) = neighbour(&grid, i, d).filter(|&j| valid[j]) {
                let drop = (filled[i] - filled[j]) / len;
                if drop > best.0 {
                    best = (drop, d as u8);
                }
            }
        }
        direction[i] = best.1;
        if let Some(j) = down(&grid, &direction, i) {
            indegree[j] += 1;
        }
    }
    // Accumulate from sources of the flow network downstream.
    let mut accumulation: Vec<u32> = valid.iter().map(|&v| u32::from(v)).collect();
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| valid[i] && indegree[i] == 0).collect();
    while let Some(i) = queue.pop_front() {
        if let Some(j) = down(&grid, &direction, i) {
            accumulation[j] = accumulation[j].saturating_add(accumulation[i]);
            indegree[j] -= 1;
            if indegree[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    Ok(FlowGrid {
        grid,
        filled,
        direction,
        accumulation,
    })
}

fn down(grid: &Grid, direction: &[u8], i: usize) -> Option<usize> {
    let d = *direction.get(i)?;
    if d == NO_MOVE {
        None
    } else {
        neighbour(grid, i, usize::from(d))
    }
}

impl FlowGrid {
    /// The cell cell `i` drains to; None for outlets and nodata.
    pub fn downstream(&self, i: usize) -> Option<usize> {
        down(&self.grid, &self.direction, i)
    }

    /// Streams: [`WaterClass::River`] where at least `threshold` cells drain
    /// through a cell, 0 elsewhere (a raster on the DEM's grid). With 30 m cells
    /// a threshold of 1,000 cells (0.9 km²) gives permanent Andean streams; to be
    /// tuned against imagery.
    pub fn streams(&self, threshold: u32) -> Raster<u8> {
        let mut r = self.grid.raster(0u8);
        let code = WaterClass::River.code();
        for (d, &a) in r.data.iter_mut().zip(&self.accumulation) {
            if a >= threshold.max(1) {
                *d = code;
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dem_of(w: usize, h: usize, f: impl Fn(usize, usize) -> f32) -> Raster<f32> {
        let mut dem = Raster::filled(w, h, [0.0, 30.0, 0.0, 0.0, 0.0, -30.0], None, 0f32);
        for r in 0..h {
            for c in 0..w {
                dem.data[r * w + c] = f(c, r);
            }
        }
        dem
    }

    #[test]
    fn v_valley_river_on_axis() {
        // Valley axis at column 20, 10 m per cell up each side, falling 1 m per row
        // towards row 59.
        let (w, h) = (41usize, 60usize);
        let dem = dem_of(w, h, |c, r| {
            10.0 * (c as f32 - 20.0).abs() + (h - 1 - r) as f32
        });
        let flow = flow_grid(&dem).unwrap();
        // Side cells drain across to the axis, the axis down the valley.
        assert_eq!(flow.direction[10 * w + 5], 0);
        assert_eq!(flow.direction[10 * w + 30], 2);
        assert_eq!(flow.direction[10 * w + 20], 1);
        assert_eq!(flow.accumulation[(h - 1) * w + 20], (w * h) as u32);
        for r in 0..h {
            assert_eq!(flow.accumulation[r * w + 20], ((r + 1) * w) as u32);
        }
        let rivers = flow.streams(100);
        for r in 0..h {
            for c in 0..w {
                let river = rivers.data[r * w + c] == WaterClass::River.code();
                assert_eq!(river, c == 20 && r >= 2, "({c},{r})");
            }
        }
    }

    #[test]
    fn pits_and_flats_drain() {
        // A bowl with a flat pit in the middle and a notch at (0, 5).
        let dem = dem_of(11, 11, |c, r| {
            let d = (c as f32 - 5.0).abs().max((r as f32 - 5.0).abs());
            if (c, r) == (0, 5) {
                0.0
            } else if d <= 2.0 {
                50.0
            } else {
                50.0 + d
            }
        });
        let flow = flow_grid(&dem).unwrap();
        // Every interior cell reaches an outlet; the pit drains through the notch side.
        for i in 0..121 {
            let mut j = i;
            for _ in 0..121 {
                match flow.downstream(j) {
                    Some(k) => j = k,
                    None => break,
                }
            }
            assert!(flow.downstream(j).is_none());
            let (c, r) = (j % 11, j / 11);
            assert!(
                c == 0 || r == 0 || c == 10 || r == 10,
                "cell {i} ends at ({c},{r})"
            );
        }
        assert!(flow.accumulation[5 * 11] >= 25);
    }

    #[test]
    fn nodata_is_outside() {
        let mut dem = dem_of(5, 5, |c, _| c as f32);
        dem.nodata = Some(-1.0);
        dem.data[12] = -1.0;
        let flow = flow_grid(&dem).unwrap();
        assert_eq!(flow.accumulation[12], 0);
        assert_eq!(flow.direction[12], NO_MOVE);
        assert!(flow.filled[12].is_nan());
        // (3, 2) sits beside the hole and drains into nothing across it.
        let total: u32 = (0..25)
            .filter(|&i| flow.downstream(i).is_none() && i != 12)
            .map(|i| flow.accumulation[i])
            .sum();
        assert_eq!(total, 24);
    }

    proptest! {
        #[test]
        fn outlets_collect_every_cell(data in proptest::collection::vec(0f32..100.0, 64)) {
            let mut dem = dem_of(8, 8, |_, _| 0.0);
            dem.data = data;
            let flow = flow_grid(&dem).unwrap();
            let total: u32 = (0..64)
                .filter(|&i| flow.downstream(i).is_none())
                .map(|i| flow.accumulation[i])
                .sum();
            prop_assert_eq!(total, 64);
            for i in 0..64 {
                if let Some(j) = flow.downstream(i) {
                    prop_assert!(flow.filled[j] < flow.filled[i]);
                    prop_assert!(flow.filled[i] >= f64::from(dem.data[i]));
                }
            }
        }
    }
}
