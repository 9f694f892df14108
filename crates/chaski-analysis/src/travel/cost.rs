//! Multi-source shortest travel time over a raster (cost distance) with
//! allocation and back-pointers for routes.
//!
//! Dijkstra's algorithm (Dijkstra 1959) run from every source at once over a
//! 16-move neighbourhood: the 8 neighbours plus the 8 knight's moves, as GRASS
//! `r.cost -k` / `r.walk -k` do (Xu and Lathrop 1994 discuss the error of
//! 8 vs 16 moves). On a flat uniform grid the longest detour of the 16-move
//! lattice over the straight line is 2.75 % (at about 14° from an axis), 1.3 %
//! between 27° and 45°; with 8 moves ([`Neighbourhood::Queen8`], GRASS
//! `r.cost` without `-k`) it is 8.2 %. [`Neighbourhood::Extended24`] adds the
//! 8 moves of three cells by one, which bring the longest detour down to
//! 1.3 % in every direction, for about 1.5 times the work.
//!
//! **What a move costs.** A move costs the integral of pace along its straight
//! segment from cell centre to cell centre, for a pace that is constant within
//! each cell: the length `L` times the share of `L` in each cell it crosses
//! times that cell's pace ([`shares`]). Axis and diagonal moves lie half in
//! each end cell (`L/2 · (pace_a + pace_b)`, as `r.cost` costs them); a
//! knight's move lies a quarter in each of four cells, its two ends and the
//! two it passes between (`L/4 · Σ pace`, as `r.cost -k` averages them); a
//! three-by-one move lies 1/6 in each end cell and 1/3 in each of the two
//! cells it crosses. So no move hops over a slow cell (a steep step, a bog, a
//! slow land-cover class) at less than its share. A cell's pace is
//! `fixed + walk · p(s)` seconds per metre, `p` the inverse of Tobler's hiking
//! function (see [`tobler_kmh`]) and `s` the signed slope of the whole move,
//! from the elevation of the cell the traveller leaves to that of the cell
//! they enter over `L`; isotropic surfaces (a user's friction or speed raster)
//! have `walk = 0`.
//!
//! Impassable cells (nodata, barriers) are never entered, and a diagonal or
//! knight's move is refused when a cell it passes through is impassable (the
//! two orthogonal neighbours for a diagonal, the two intermediate cells for a
//! knight's move), so no move jumps over nodata or slips between the corners
//! of a river.
//!
//! By default ([`Direction::ToSource`]) times are for travel *from* each cell
//! *to* its nearest source (a facility), so the search, which grows from the
//! sources, costs each move with the slope the traveller meets walking towards
//! the source. [`Direction::FromSource`] gives travel away from the sources.
//!
//! Parameters: a [`CostSurface`], source cells `(col, row)`, and
//! [`SearchOptions`] (direction, optional maximum time in seconds).
//! Returns [`TravelTimes`]: seconds per cell (`f32`, `INFINITY` when
//! unreachable), the index of the nearest source, a back-pointer per cell and
//! the number of cells settled.
//!
//! Implementation: the queue is a radix heap over times quantised to just
//! under the cheapest possible move (cells sharing a key cannot improve one
//! another, so the result is exact); settled cells store their time negated
//! instead of using a separate flag; surfaces carry a three-cell impassable
//! border and a precomputed mask of allowed moves per cell, so the inner loop
//! has no bounds or barrier tests; each cell's time and costs sit together (8
//! bytes isotropic, 16 anisotropic). Large anisotropic grids are searched on
//! every core, with the same result (see `cost/parallel.rs`).
//!
//! # Example
//! ```
//! use chaski_analysis::travel::cost::{CostSurface, SearchOptions, travel_time};
//! use chaski_core::raster::Raster;
//!
//! // 5 x 3 cells of 10 m, walking at 3.6 km/h = 1 m/s; the middle of column 2
//! // is nodata.
//! let mut speed = Raster::filled(5, 3, [0.0, 10.0, 0.0, 30.0, 0.0, -10.0], None, 3.6f32);
//! speed.nodata = Some(-9999.0);
//! speed.data[7] = -9999.0;
//! let surface = CostSurface::from_speed_kmh(&speed).unwrap();
//! let tt = travel_time(&surface, &[(0, 1), (4, 1)], &SearchOptions::default());
//! assert!((tt.time(1, 1).unwrap() - 10.0).abs() < 1e-4);
//! assert_eq!(tt.time(2, 1), None);
//! assert_eq!(tt.source(3, 1), Some(1));
//! // (2, 0) is one knight's move from either source; (2, 2) likewise.
//! assert!((tt.time(2, 0).unwrap() - 500f32.sqrt()).abs() < 1e-3);
//! let route = tt.route(1, 0).unwrap();
//! assert_eq!(route.first(), Some(&(15.0, 25.0)));
//! assert_eq!(route.last(), Some(&(5.0, 15.0)));
//! ```

mod parallel;

use super::grid::{Grid, GridError};
use super::queue::RadixHeap;
use chaski_core::raster::{GeoTransform, Raster};
use serde::{Deserialize, Serialize};

/// The moves as (column, row) offsets: 4 axis moves, 4 diagonals, 8 knight's
/// moves (codes `0..16`, the default [`Neighbourhood::Knight16`]) and 8
/// three-by-one moves (codes `16..24`, [`Neighbourhood::Extended24`]).
/// Codes `0..8` are also the D8 directions used by [`super::hydrology`].
pub const MOVES: [(i32, i32); 24] = [
    (1, 0),
    (0, 1),
    (-1, 0),
    (0, -1),
    (1, 1),
    (-1, 1),
    (-1, -1),
    (1, -1),
    (2, 1),
    (1, 2),
    (-1, 2),
    (-2, 1),
    (-2, -1),
    (-1, -2),
    (1, -2),
    (2, -1),
    (3, 1),
    (1, 3),
    (-1, 3),
    (-3, 1),
    (-3, -1),
    (-1, -3),
    (1, -3),
    (3, -1),
];

/// Which moves a search may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Neighbourhood {
    /// 8 moves: the axis and diagonal neighbours, as GRASS `r.cost` without
    /// `-k`. Longest detour on a flat grid 8.2 %.
    Queen8,
    /// 16 moves: 8 neighbours and 8 knight's moves, as GRASS `r.cost -k`.
    /// Longest detour on a flat grid 2.75 %. Default.
    #[default]
    Knight16,
    /// 24 moves: also the 8 moves of three cells by one. Longest detour on a
    /// flat grid 1.3 %, for about 1.5 times the work.
    Extended24,
}

impl Neighbourhood {
    /// Bits of the move codes (indices into [`MOVES`]) it allows.
    pub const fn mask(self) -> u32 {
        match self {
            Self::Queen8 => 0xFF,
            Self::Knight16 => 0xFFFF,
            Self::Extended24 => 0x00FF_FFFF,
        }
    }

    /// Number of moves.
    pub const fn moves(self) -> usize {
        match self {
            Self::Queen8 => 8,
            Self::Knight16 => 16,
            Self::Extended24 => 24,
        }
    }
}

impl std::fmt::Display for Neighbourhood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.moves())
    }
}

/// Back-pointer of a source cell or of a cell not reached.
pub const NO_MOVE: u8 = u8::MAX;
/// Allocation of a cell not reached.
pub const NO_SOURCE: u32 = u32::MAX;
/// Grids of at least this many cells build their move masks on two threads.
const PARALLEL_MASK_CELLS: usize = 1 << 18;
/// Width of the impassable border around padded surfaces.
pub(crate) const PAD: usize = 3;

/// Code of the move opposite to move `d`.
pub const fn opposite(d: usize) -> usize {
    if d < 4 {
        (d + 2) % 4
    } else if d < 8 {
        4 + (d - 4 + 2) % 4
    } else if d < 16 {
        8 + (d - 8 + 4) % 8
    } else {
        16 + (d - 16 + 4) % 8
    }
}

/// The cells a move passes through or touches besides its ends, as (col, row)
/// offsets from the start, padded with the start cell: none for axis moves,
/// the two corner cells of a diagonal, the two cells a knight's move crosses,
/// and for a three-by-one move the two it crosses and the two whose shared
/// corner it passes through.
pub const fn intermediates(d: usize) -> [(i32, i32); 4] {
    let (dc, dr) = MOVES[d];
    let (sc, sr) = (dc.signum(), dr.signum());
    if d < 4 {
        [(0, 0); 4]
    } else if d < 8 {
        [(dc, 0), (0, dr), (0, 0), (0, 0)]
    } else if d < 16 {
        if dc.abs() == 2 {
            [(sc, 0), (sc, dr), (0, 0), (0, 0)]
        } else {
            [(0, sr), (dc, sr), (0, 0), (0, 0)]
        }
    } else if dc.abs() == 3 {
        [(sc, 0), (2 * sc, 0), (sc, dr), (2 * sc, dr)]
    } else {
        [(0, sr), (0, 2 * sr), (dc, sr), (dc, 2 * sr)]
    }
}

/// Walking speed in km/h on slope `s = dh/dx` (signed, rise over horizontal run)
/// by Tobler's hiking function, `W = 6 · exp(−3.5 · |s + 0.05|)` (Tobler, W. 1993,
/// *Three presentations on geographical analysis and modeling*, NCGIA Technical
/// Report 93-1, Santa Barbara). Fastest (6 km/h) on a 5 % descent; 5.04 km/h on the flat.
///
/// ```
/// use chaski_analysis::travel::cost::tobler_kmh;
/// assert!((tobler_kmh(-0.05) - 6.0).abs() < 1e-12);
/// assert!((tobler_kmh(0.0) - 5.0367).abs() < 1e-4);
/// assert!(tobler_kmh(0.2) < tobler_kmh(-0.2));
/// ```
pub fn tobler_kmh(s: f64) -> f64 {
    6.0 * (-3.5 * (s + 0.05).abs()).exp()
}

/// Seconds per metre at Tobler speed on slope `s`: `3.6 / tobler_kmh(s)`.
#[inline]
pub(crate) fn tobler_pace(s: f32) -> f32 {
    0.6 * (3.5 * (s + 0.05).abs()).exp()
}

/// Which way the traveller goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From each cell to the nearest source (patients going to a facility). Default.
    #[default]
    ToSource,
    /// From the sources out to each cell (staff visiting communities).
    FromSource,
}

/// Options of a search.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchOptions {
    /// Direction of travel (default: to the source).
    pub direction: Direction,
    /// Stop at this many seconds: cells farther away stay unreached. None: no limit.
    pub max_seconds: Option<f64>,
    /// Moves allowed (default: the 16 of GRASS `r.cost -k`).
    pub neighbourhood: Neighbourhood,
}

impl SearchOptions {
    /// The time limit in seconds (infinite without one, 0 for NaN).
    pub(crate) fn limit(&self) -> f32 {
        match self.max_seconds {
            Some(m) if m.is_nan() => 0.0,
            Some(m) => m.max(0.0) as f32,
            None => f32::INFINITY,
        }
    }

    /// Slope sign: the traveller walks from the settled cell to its neighbour
    /// when going away from the sources, from the neighbour to it when going to them.
    pub(crate) fn slope_sign(&self) -> f32 {
        match self.direction {
            Direction::FromSource => 1.0,
            Direction::ToSource => -1.0,
        }
    }
}

/// Per-cell travel costs on a padded grid, ready for [`travel_time`]; built once,
/// searched many times.
///
/// Each cell has a slope-independent pace `fixed` (seconds per metre; infinite
/// for impassable cells) and a multiplier `walk` of Tobler's pace (zero for
/// isotropic surfaces), plus its elevation for anisotropic surfaces.
#[derive(Debug, Clone)]
pub struct CostSurface {
    pub(crate) grid: Grid,
    pub(crate) pw: usize,
    pub(crate) fixed: Vec<f32>,
    pub(crate) walk: Vec<f32>,
    pub(crate) z: Vec<f32>,
    /// Allowed moves per padded cell (bit d: move d enters a passable cell
    /// without passing through an impassable one); see [`CostSurface::finish`].
    pub(crate) mask: Vec<u32>,
    pub(crate) max_slope: f32,
    /// Lowest pace (seconds per metre) of any passable cell: a lower bound of
    /// move costs per metre.
    pub(crate) min_pace: f32,
}

impl CostSurface {
    /// An all-impassable padded surface for `grid`; `anisotropic` allocates the
    /// walking and elevation planes.
    pub(crate) fn blank(grid: Grid, anisotropic: bool) -> Result<Self, GridError> {
        grid.check()?;
        let pw = grid.width + 2 * PAD;
        let n = pw * (grid.height + 2 * PAD);
        let (walk, z) = if anisotropic {
            (vec![0.0; n], vec![0.0; n])
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Self {
            grid,
            pw,
            fixed: vec![f32::INFINITY; n],
            walk,
            z,
            mask: vec![0; n],
            max_slope: f32::INFINITY,
            min_pace: 0.0,
        })
    }

    /// Allowed moves of the cell at padded index `p`.
    fn cell_mask(&self, p: usize, offsets: &[[isize; 5]; 24]) -> u32 {
        let open = |o: isize| {
            self.fixed
                .get(p.wrapping_add_signed(o))
                .is_some_and(|f| f.is_finite())
        };
        if !open(0) {
            return 0;
        }
        let mut mask = 0u32;
        for (d, cells) in offsets.iter().enumerate() {
            if cells.iter().all(|o| open(*o)) {
                mask |= 1 << d;
            }
        }
        mask
    }

    /// Per move: the padded offsets of its end and of its intermediate cells.
    fn offsets(&self) -> [[isize; 5]; 24] {
        let pw = self.pw as isize;
        std::array::from_fn(|d| {
            let (dc, dr) = MOVES[d];
            let [a, b, c, e] = intermediates(d);
            let off = |(dc, dr): (i32, i32)| dr as isize * pw + dc as isize;
            [off((dc, dr)), off(a), off(b), off(c), off(e)]
        })
    }

    /// Compute the allowed-move masks once the costs are set.
    pub(crate) fn finish(&mut self) {
        let mut min_pace = f32::INFINITY;
        for (p, f) in self.fixed.iter().enumerate() {
            if f.is_finite() {
                let w = self.walk.get(p).copied().unwrap_or(0.0);
                min_pace = min_pace.min(f + w * tobler_pace(-0.05));
            }
        }
        self.min_pace = min_pace;
        // Openness of the 7 x 7 neighbourhood as 49 bits, bit (dc+3)*7 + (dr+3),
        // slid along each row one column at a time.
        let bit = |dc: i32, dr: i32| 1u64 << ((dc + 3) * 7 + dr + 3);
        let required: [u64; 24] = std::array::from_fn(|d| {
            let (dc, dr) = MOVES[d];
            intermediates(d)
                .iter()
                .fold(bit(0, 0) | bit(dc, dr), |acc, &(c, r)| acc | bit(c, r))
        });
        let (pw, width, height) = (self.pw, self.grid.width, self.grid.height);
        let fixed = &self.fixed;
        let column = |p: usize| -> u64 {
            (0..7).fold(0, |acc, k| {
                let open = fixed
                    .get(p - 3 * pw + k * pw)
                    .is_some_and(|f| f.is_finite());
                acc | (u64::from(open) << k)
            })
        };
        // Fill the masks of `rows` into `out`, which starts at padded index `first`.
        let fill = |rows: std::ops::Range<usize>, out: &mut [u32], first: usize| {
            for row in rows {
                let base = (row + PAD) * pw + PAD;
                let mut window = 0u64;
                for j in 0..6 {
                    window = (window >> 7) | (column(base - 3 + j) << 42);
                }
                for (col, m) in out[base - first..base - first + width]
                    .iter_mut()
                    .enumerate()
                {
                    window = (window >> 7) | (column(base + col + 3) << 42);
                    let mut mask = 0u32;
                    if window & bit(0, 0) != 0 {
                        for (d, r) in required.iter().enumerate() {
                            if window & r == *r {
                                mask |= 1 << d;
                            }
                        }
                    }
                    *m = mask;
                }
            }
        };
        // Rows are independent: large grids split them over two threads.
        let split = if width * height >= PARALLEL_MASK_CELLS {
            height / 2
        } else {
            height
        };
        let cut = (split + PAD) * pw;
        let (top, bottom) = self.mask.split_at_mut(cut);
        std::thread::scope(|s| {
            if split < height {
                s.spawn(|| fill(split..height, bottom, cut));
            }
            fill(0..split, top, 0);
        });
    }

    /// Padded index of cell (col, row).
    #[inline]
    pub(crate) fn pidx(&self, col: usize, row: usize) -> usize {
        (row + PAD) * self.pw + col + PAD
    }

    /// An isotropic surface from a friction raster in seconds per metre. Nodata,
    /// negative and non-finite cells are impassable.
    pub fn from_friction(friction: &Raster<f32>) -> Result<Self, GridError> {
        Self::isotropic(friction, |v| v)
    }

    /// An isotropic surface from a speed raster in km/h. Nodata, zero, negative
    /// and non-finite speeds are impassable.
    pub fn from_speed_kmh(speed: &Raster<f32>) -> Result<Self, GridError> {
        Self::isotropic(speed, |v| if v > 0.0 { 3.6 / v } else { -1.0 })
    }

    fn isotropic(r: &Raster<f32>, to_pace: impl Fn(f32) -> f32) -> Result<Self, GridError> {
        let grid = Grid::of(r)?;
        let mut s = Self::blank(grid, false)?;
        for row in 0..grid.height {
            let src = &r.data[row * grid.width..(row + 1) * grid.width];
            let start = s.pidx(0, row);
            let dst = &mut s.fixed[start..start + grid.width];
            for (d, &v) in dst.iter_mut().zip(src) {
                let pace = if r.is_nodata(v) { -1.0 } else { to_pace(v) };
                *d = if pace >= 0.0 && pace.is_finite() {
                    pace
                } else {
                    f32::INFINITY
                };
            }
        }
        s.finish();
        Ok(s)
    }

    /// The grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// True when move costs depend on slope.
    pub fn is_anisotropic(&self) -> bool {
        !self.walk.is_empty()
    }

    /// True when cell (col, row) can be entered.
    pub fn passable(&self, col: usize, row: usize) -> bool {
        col < self.grid.width
            && row < self.grid.height
            && self
                .fixed
                .get(self.pidx(col, row))
                .is_some_and(|f| f.is_finite())
    }

    /// Number of passable cells.
    pub fn passable_count(&self) -> usize {
        self.fixed.iter().filter(|f| f.is_finite()).count()
    }

    /// Mark cell (col, row) impassable (a barrier); no effect outside the grid.
    pub fn block(&mut self, col: usize, row: usize) {
        if col < self.grid.width && row < self.grid.height {
            let p = self.pidx(col, row);
            if let Some(f) = self.fixed.get_mut(p) {
                *f = f32::INFINITY;
            }
            let offsets = self.offsets();
            for r in row.saturating_sub(PAD)..(row + PAD + 1).min(self.grid.height) {
                for c in col.saturating_sub(PAD)..(col + PAD + 1).min(self.grid.width) {
                    let q = self.pidx(c, r);
                    self.mask[q] = self.cell_mask(q, &offsets);
                }
            }
        }
    }
}

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

    fn index(&self, col: usize, row: usize) -> Option<usize> {
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

/// Shares of a move's length in each of its end cells and in each of the two
/// cells it crosses between them: axis and diagonal moves lie half in each end
/// cell (a diagonal only touches the two other cells at their shared corner);
/// a knight's move from (0, 0) to (2, 1) crosses x = ½ at a quarter of its
/// length, the row boundary y = ½ at half (x = 1) and x = 1½ at three
/// quarters, so a quarter lies in each of its four cells; a three-by-one move
/// to (3, 1) crosses x = ½, 1½, 2½ at 1/6, 1/2, 5/6 and passes the corner
/// (1½, ½) at 1/2: 1/6 in each end cell and 1/3 in the two cells it crosses,
/// (1, 0) and (2, 1). The shares hold for rectangular cells too (the segment
/// is the same in cell units, and length is linear along it).
pub const fn shares(d: usize) -> (f64, f64) {
    if d < 8 {
        (0.5, 0.0)
    } else if d < 16 {
        (0.25, 0.25)
    } else {
        (1.0 / 6.0, 1.0 / 3.0)
    }
}

/// The two cells move `d` crosses between its ends, as (col, row) offsets
/// from its start cell (the start cell itself twice for axis and diagonal
/// moves, which cross none).
pub const fn crossed(d: usize) -> [(i32, i32); 2] {
    let (dc, dr) = MOVES[d];
    let (sc, sr) = (dc.signum(), dr.signum());
    if d < 8 {
        [(0, 0), (0, 0)]
    } else if d < 16 {
        if dc.abs() == 2 {
            [(sc, 0), (sc, dr)]
        } else {
            [(0, sr), (dc, sr)]
        }
    } else if dc.abs() == 3 {
        [(sc, 0), (2 * sc, dr)]
    } else {
        [(0, sr), (dc, 2 * sr)]
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Move {
    pub(crate) off: isize,
    /// Padded offsets of the two cells crossed between the ends.
    pub(crate) mid: [isize; 2],
    /// Length times the share of each end cell.
    pub(crate) end_len: f32,
    /// Length times the share of each crossed cell.
    pub(crate) mid_len: f32,
    pub(crate) inv_len: f32,
    pub(crate) back: u8,
}

pub(crate) fn moves(grid: &Grid, pw: usize) -> [Move; 24] {
    let (cw, ch) = grid.cell_size();
    let pw = pw as isize;
    let off = |(dc, dr): (i32, i32)| dr as isize * pw + dc as isize;
    std::array::from_fn(|d| {
        let (dc, dr) = MOVES[d];
        let len = ((f64::from(dc) * cw).powi(2) + (f64::from(dr) * ch).powi(2)).sqrt();
        let (end, mid) = shares(d);
        let [a, b] = crossed(d);
        Move {
            off: off((dc, dr)),
            mid: [off(a), off(b)],
            end_len: (len * end) as f32,
            mid_len: (len * mid) as f32,
            inv_len: (1.0 / len) as f32,
            back: opposite(d) as u8,
        }
    })
}

/// Seconds of move `m`: the integral of pace along its segment (see
/// [`shares`]). `fixed` and `walk` are the slope-independent pace and the
/// Tobler multiplier of its start, end and two crossed cells (in that order;
/// the crossed ones are read only when `MID`), `dz` the end's elevation minus
/// the start's. Infinite when a walking cell meets a slope over `max_slope`.
/// The one-thread, threaded and incremental searches all cost moves here, so
/// they add the same floats.
#[inline]
pub(crate) fn move_cost<const ANISO: bool, const MID: bool>(
    m: &Move,
    fixed: [f32; 4],
    walk: [f32; 4],
    dz: f32,
    sign: f32,
    max_slope: f32,
) -> f32 {
    let ends = fixed[0] + fixed[1];
    if !ANISO {
        return if MID {
            m.end_len * ends + m.mid_len * (fixed[2] + fixed[3])
        } else {
            m.end_len * ends
        };
    }
    let slope = sign * dz * m.inv_len;
    let we = walk[0] + walk[1];
    let wm = if MID { walk[2] + walk[3] } else { 0.0 };
    if we + wm > 0.0 && slope.abs() > max_slope {
        return f32::INFINITY;
    }
    let tp = tobler_pace(slope);
    let cost = m.end_len * (ends + we * tp);
    if MID {
        cost + m.mid_len * (fixed[2] + fixed[3] + wm * tp)
    } else {
        cost
    }
}

/// Search state of one padded cell read for every neighbour: its time (stored
/// negated once settled, so a settled cell reads as "not improvable") and its
/// costs, packed so that a neighbour costs few cache lines.
trait Hot: Copy + Sync {
    fn time(&self) -> f32;
    fn set_time(&mut self, t: f32);
    fn fixed(&self) -> f32;
    fn walk(&self) -> f32;
    fn z(&self) -> f32;
}

#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct IsoHot {
    time: f32,
    fixed: f32,
}

#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct AnisoHot {
    time: f32,
    fixed: f32,
    walk: f32,
    z: f32,
}

impl Hot for IsoHot {
    #[inline]
    fn time(&self) -> f32 {
        self.time
    }
    #[inline]
    fn set_time(&mut self, t: f32) {
        self.time = t;
    }
    #[inline]
    fn fixed(&self) -> f32 {
        self.fixed
    }
    #[inline]
    fn walk(&self) -> f32 {
        0.0
    }
    #[inline]
    fn z(&self) -> f32 {
        0.0
    }
}

impl Hot for AnisoHot {
    #[inline]
    fn time(&self) -> f32 {
        self.time
    }
    #[inline]
    fn set_time(&mut self, t: f32) {
        self.time = t;
    }
    #[inline]
    fn fixed(&self) -> f32 {
        self.fixed
    }
    #[inline]
    fn walk(&self) -> f32 {
        self.walk
    }
    #[inline]
    fn z(&self) -> f32 {
        self.z
    }
}

/// Per-cell state touched only when a cell is settled or improved.
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct Cold {
    source: u32,
    /// Allowed moves in bits 0..24, back-pointer in bits 24..32 (8 bytes a cell).
    bits: u32,
}

const MOVE_BITS: u32 = 0x00FF_FFFF;

impl Cold {
    #[inline]
    fn new(mask: u32) -> Self {
        Self {
            source: NO_SOURCE,
            bits: (mask & MOVE_BITS) | (u32::from(NO_MOVE) << 24),
        }
    }

    #[inline]
    fn mask(self) -> u32 {
        self.bits & MOVE_BITS
    }

    #[inline]
    fn back(self) -> u8 {
        (self.bits >> 24) as u8
    }

    #[inline]
    fn set_back(&mut self, back: u8) {
        self.bits = (self.bits & MOVE_BITS) | (u32::from(back) << 24);
    }
}

/// Queue key of time `t` for a surface whose [`CostSurface::inv_key_step`] is `inv_step`.
#[inline]
fn queue_key(inv_step: f64, t: f32) -> u64 {
    if inv_step > 0.0 {
        (f64::from(t) * inv_step) as u64
    } else {
        u64::from(t.to_bits())
    }
}

impl CostSurface {
    /// Inverse of the queue's time step: a step just under the cheapest
    /// possible move, so cells sharing a key cannot improve one another (0 when
    /// there is no such step: keys are then the raw bits of the time).
    fn inv_key_step(&self) -> f64 {
        let min_len = self.grid.cell_size().0.min(self.grid.cell_size().1);
        let step = 0.99 * min_len * f64::from(self.min_pace);
        if step.is_finite() && step > 1e-6 {
            1.0 / step
        } else {
            0.0
        }
    }

    /// How this surface differs from `base` (same grid): the cells whose
    /// costs, elevation or passability differ, and whether every one of them
    /// only got cheaper (passable where it was not, or a pace and a walking
    /// multiplier each no higher than before, at the same elevation). None
    /// when the grids or kinds (isotropic or not) differ.
    ///
    /// ```
    /// use chaski_analysis::travel::cost::CostSurface;
    /// use chaski_core::raster::Raster;
    /// let mut speed = Raster::filled(4, 3, [0.0, 10.0, 0.0, 30.0, 0.0, -10.0], None, 3.6f32);
    /// let base = CostSurface::from_speed_kmh(&speed).unwrap();
    /// speed.data[5] = 7.2; // faster at (1, 1)
    /// let faster = CostSurface::from_speed_kmh(&speed).unwrap();
    /// let change = faster.changes_from(&base).unwrap();
    /// assert_eq!((change.cells.as_slice(), change.cheaper_only), (&[(1, 1)][..], true));
    /// assert!(!base.changes_from(&faster).unwrap().cheaper_only);
    /// ```
    pub fn changes_from(&self, base: &CostSurface) -> Option<SurfaceChange> {
        if self.grid != base.grid
            || self.is_anisotropic() != base.is_anisotropic()
            || self.max_slope.to_bits() != base.max_slope.to_bits()
        {
            return None;
        }
        let mut out = SurfaceChange {
            cells: Vec::new(),
            cheaper_only: true,
        };
        let plane = |v: &[f32], p: usize| v.get(p).copied().unwrap_or(0.0);
        for row in 0..self.grid.height {
            for col in 0..self.grid.width {
                let p = self.pidx(col, row);
                let (fa, fb) = (self.fixed[p], base.fixed[p]);
                let (wa, wb) = (plane(&self.walk, p), plane(&base.walk, p));
                let (za, zb) = (plane(&self.z, p), plane(&base.z, p));
                let same = fa.to_bits() == fb.to_bits()
                    && wa.to_bits() == wb.to_bits()
                    && (za.to_bits() == zb.to_bits() || !fa.is_finite() || !fb.is_finite());
                if same {
                    continue;
                }
                out.cells.push((col, row));
                let cheaper = !fb.is_finite()
                    || (fa.is_finite() && fa <= fb && wa <= wb && za.to_bits() == zb.to_bits());
                out.cheaper_only &= cheaper;
            }
        }
        Some(out)
    }
}

/// Cells where one surface differs from another, from [`CostSurface::changes_from`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurfaceChange {
    /// The cells (col, row) that differ, row by row.
    pub cells: Vec<(usize, usize)>,
    /// True when no cell got dearer or impassable: [`update_travel_time`] is then exact.
    pub cheaper_only: bool,
}

/// Update a search after edits without searching the whole grid again:
/// `base` was searched on an earlier surface; `surface` differs from it only at
/// `changed` cells, where it is no dearer ([`SurfaceChange::cheaper_only`]);
/// `kept[i]` is the new index of `base`'s source `i` (None: removed), and
/// `sources` are the new sources' cells in the new order (kept and added).
///
/// Cells allocated to a removed source are cleared; then a Dijkstra search
/// starts from the cells whose moves changed (within a knight's move of a
/// changed cell), from the cells bordering the cleared ones, and from sources
/// that are new (or newly passable), each at its current time, and relaxes
/// only improvements. Every other cell keeps its time, which is still exact:
/// when the search ends the times equal those of [`travel_time`] on
/// `surface` from `sources` (bit for bit; allocation and routes may differ
/// only between equally fast sources or routes). The work is proportional to
/// the cells whose time changed, not to the grid. When the precondition does
/// not hold (a cell got dearer), run [`travel_time`] instead.
///
/// ```
/// use chaski_analysis::travel::cost::{CostSurface, SearchOptions, travel_time, update_travel_time};
/// use chaski_core::raster::Raster;
/// // A 9 x 5 grid at 1 m/s with a wall along column 4 but for a gap in row 0.
/// let mut speed = Raster::filled(9, 5, [0.0, 10.0, 0.0, 50.0, 0.0, -10.0], None, 3.6f32);
/// for row in 1..5 { speed.data[row * 9 + 4] = 0.0; }
/// let opts = SearchOptions::default();
/// let base_surface = CostSurface::from_speed_kmh(&speed).unwrap();
/// let base = travel_time(&base_surface, &[(0, 4)], &opts);
/// // A bridge through the wall at row 4, and a second source at (8, 0).
/// speed.data[4 * 9 + 4] = 3.6;
/// let surface = CostSurface::from_speed_kmh(&speed).unwrap();
/// let change = surface.changes_from(&base_surface).unwrap();
/// assert!(change.cheaper_only);
/// let sources = [(0, 4), (8, 0)];
/// let updated = update_travel_time(&surface, &base, &change.cells, &[Some(0)], &sources, &opts);
/// let full = travel_time(&surface, &sources, &opts);
/// assert_eq!(updated.seconds, full.seconds);
/// assert!((updated.time(8, 4).unwrap() - 40.0).abs() < 1e-4);
/// assert_eq!(updated.source(8, 0), Some(1));
/// // Removing the first source leaves the second alone.
/// let without = update_travel_time(&surface, &updated, &[], &[None, Some(0)], &[(8, 0)], &opts);
/// assert_eq!(without.seconds, travel_time(&surface, &[(8, 0)], &opts).seconds);
/// assert_eq!(without.source(0, 4), Some(0));
/// ```
pub fn update_travel_time(
    surface: &CostSurface,
    base: &TravelTimes,
    changed: &[(usize, usize)],
    kept: &[Option<usize>],
    sources: &[(usize, usize)],
    options: &SearchOptions,
) -> TravelTimes {
    let grid = surface.grid;
    let allowed = options.neighbourhood.mask();
    let mut cold: Vec<Cold> = surface
        .mask
        .iter()
        .map(|&mask| Cold::new(mask & allowed))
        .collect();
    let mut times = vec![f32::INFINITY; surface.fixed.len()];
    // Base times and remapped allocation; cells of removed sources cleared.
    let mut cleared = Vec::new();
    if base.grid == grid && base.seconds.len() == grid.len() {
        for row in 0..grid.height {
            for col in 0..grid.width {
                let cell = row * grid.width + col;
                let seconds = base.seconds[cell];
                if !seconds.is_finite() {
                    continue;
                }
                let p = surface.pidx(col, row);
                let source = base.allocation[cell];
                match kept.get(source as usize).copied().flatten() {
                    Some(new) if source != NO_SOURCE => {
                        times[p] = seconds;
                        cold[p].source = new as u32;
                        cold[p].set_back(base.back[cell]);
                    }
                    _ => cleared.push(p),
                }
            }
        }
    }
    // Seeds: reached cells within one move (at most PAD cells each way) of a
    // changed or cleared cell.
    let pw = surface.pw as isize;
    let mut seed = vec![false; times.len()];
    let around = changed
        .iter()
        .filter(|&&(c, r)| c < grid.width && r < grid.height)
        .map(|&(c, r)| surface.pidx(c, r))
        .chain(cleared.iter().copied());
    for p in around {
        for dr in -(PAD as isize)..=PAD as isize {
            for dc in -(PAD as isize)..=PAD as isize {
                let q = p.wrapping_add_signed(dr * pw + dc);
                if times.get(q).is_some_and(|t| t.is_finite()) {
                    seed[q] = true;
                }
            }
        }
    }
    let mut skipped_sources = Vec::new();
    let mut starts = Vec::new();
    for (i, &(c, r)) in sources.iter().enumerate() {
        if !surface.passable(c, r) {
            skipped_sources.push(i);
            continue;
        }
        let p = surface.pidx(c, r);
        if times[p] > 0.0 {
            times[p] = 0.0;
            cold[p].source = i as u32;
            cold[p].set_back(NO_MOVE);
            starts.push(p);
        }
    }
    let inv_step = surface.inv_key_step();
    let mut heap = RadixHeap::new();
    for (p, _) in seed.iter().enumerate().filter(|(_, s)| **s) {
        heap.push(queue_key(inv_step, times[p]), p as u32);
    }
    for p in starts {
        heap.push(0, p as u32);
    }
    let max = options.limit();
    let sign = options.slope_sign();
    let unpad = |time: &(dyn Fn(usize) -> f32 + Sync), cold: &[Cold]| {
        // Settled cells hold their time negated; untouched ones as it was.
        TravelTimes::from_padded(surface, skipped_sources.clone(), |p| {
            let t = time(p).abs();
            let c = cold[p];
            t.is_finite().then(|| (t, c.source, c.back()))
        })
    };
    if surface.is_anisotropic() {
        let mut hot: Vec<AnisoHot> = times
            .iter()
            .zip(&surface.fixed)
            .zip(surface.walk.iter().zip(&surface.z))
            .map(|((&time, &fixed), (&walk, &z))| AnisoHot {
                time,
                fixed,
                walk,
                z,
            })
            .collect();
        search::<AnisoHot, true>(surface, &mut hot, &mut cold, &mut heap, max, sign);
        unpad(&|p| hot[p].time, &cold)
    } else {
        let mut hot: Vec<IsoHot> = times
            .iter()
            .zip(&surface.fixed)
            .map(|(&time, &fixed)| IsoHot { time, fixed })
            .collect();
        search::<IsoHot, false>(surface, &mut hot, &mut cold, &mut heap, max, sign);
        unpad(&|p| hot[p].time, &cold)
    }
}

/// Anisotropic grids of at least this many cells, with two sources or more,
/// are searched on every core (see [`parallel`]). Isotropic searches are bound
/// by memory, not arithmetic, and run faster on one thread (16 M cells, 20
/// sources: 2.2 s on one thread, 2.5 s on two; anisotropic 5.4 s and 4.9 s).
const PARALLEL_MIN_CELLS: usize = 1 << 20;

/// Multi-source shortest travel time. See the [module documentation](self).
///
/// Sources are cells (col, row); those outside the grid or on impassable cells
/// are listed in [`TravelTimes::skipped_sources`]. When two sources share a cell
/// the first wins.
pub fn travel_time(
    surface: &CostSurface,
    sources: &[(usize, usize)],
    options: &SearchOptions,
) -> TravelTimes {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if threads > 1
        && surface.is_anisotropic()
        && surface.grid.len() >= PARALLEL_MIN_CELLS
        && sources.len() > 1
        && sources.len() < parallel::MAX_SOURCES
    {
        return parallel::travel_time(surface, sources, options, threads.min(sources.len()));
    }
    let allowed = options.neighbourhood.mask();
    let mut cold = Big::from_fn(surface.mask.len(), |i| Cold::new(surface.mask[i] & allowed));
    if surface.is_anisotropic() {
        let mut hot = Big::from_fn(surface.fixed.len(), |i| AnisoHot {
            time: f32::INFINITY,
            fixed: surface.fixed[i],
            walk: surface.walk[i],
            z: surface.z[i],
        });
        run::<AnisoHot, true>(surface, &mut hot, &mut cold, sources, options)
    } else {
        let mut hot = Big::from_fn(surface.fixed.len(), |i| IsoHot {
            time: f32::INFINITY,
            fixed: surface.fixed[i],
        });
        run::<IsoHot, false>(surface, &mut hot, &mut cold, sources, options)
    }
}

/// A large buffer for the search state. From 16 MiB on it lives in anonymous
/// memory advised to use transparent huge pages, which cuts the TLB misses of
/// the search's scattered accesses; otherwise (or if mapping fails) a `Vec`.
enum Big<T: bytemuck::Pod> {
    Map(memmap2::MmapMut, std::marker::PhantomData<T>),
    Vec(Vec<T>),
}

impl<T: bytemuck::Pod> Big<T> {
    const MIN_MAP_BYTES: usize = 16 << 20;

    /// `value(i)` for `i` in `0..n`; large buffers are filled (and their
    /// pages first touched) in two halves on two threads.
    fn from_fn(n: usize, value: impl Fn(usize) -> T + Sync) -> Self
    where
        T: Send,
    {
        let fill = |slots: &mut [T]| {
            let part = |slots: &mut [T], offset: usize| {
                for (i, slot) in slots.iter_mut().enumerate() {
                    *slot = value(offset + i);
                }
            };
            if slots.len() >= PARALLEL_MASK_CELLS {
                let mid = slots.len() / 2;
                let (a, b) = slots.split_at_mut(mid);
                std::thread::scope(|s| {
                    s.spawn(|| part(a, 0));
                    part(b, mid);
                });
            } else {
                part(slots, 0);
            }
        };
        let bytes = n.saturating_mul(std::mem::size_of::<T>());
        if bytes >= Self::MIN_MAP_BYTES
            && let Ok(mut map) = memmap2::MmapMut::map_anon(bytes)
        {
            // Advice only: without huge pages the map still works.
            let _ = map.advise(memmap2::Advice::HugePage);
            if let Ok(slots) = bytemuck::try_cast_slice_mut::<u8, T>(&mut map[..]) {
                fill(slots);
                return Self::Map(map, std::marker::PhantomData);
            }
        }
        let mut v = vec![T::zeroed(); n];
        fill(&mut v);
        Self::Vec(v)
    }
}

impl<T: bytemuck::Pod> std::ops::Deref for Big<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Self::Map(map, _) => bytemuck::cast_slice(&map[..]),
            Self::Vec(v) => v,
        }
    }
}

impl<T: bytemuck::Pod> std::ops::DerefMut for Big<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Self::Map(map, _) => bytemuck::cast_slice_mut(&mut map[..]),
            Self::Vec(v) => v,
        }
    }
}

fn run<H: Hot, const ANISO: bool>(
    surface: &CostSurface,
    hot: &mut [H],
    cold: &mut [Cold],
    sources: &[(usize, usize)],
    options: &SearchOptions,
) -> TravelTimes {
    let max = options.limit();
    let mut heap = RadixHeap::new();
    let mut skipped_sources = Vec::new();
    for (i, &(c, r)) in sources.iter().enumerate() {
        if !surface.passable(c, r) {
            skipped_sources.push(i);
            continue;
        }
        let p = surface.pidx(c, r);
        if hot[p].time() > 0.0 {
            hot[p].set_time(0.0);
            cold[p].source = i as u32;
            heap.push(0, p as u32);
        }
    }
    let sign = options.slope_sign();
    search::<H, ANISO>(surface, hot, cold, &mut heap, max, sign);
    // Unpad; settled times were stored negated.
    TravelTimes::from_padded(surface, skipped_sources, |p| {
        let t = hot[p].time();
        let c = cold[p];
        t.is_sign_negative().then(|| (-t, c.source, c.back()))
    })
}

fn search<H: Hot, const ANISO: bool>(
    surf: &CostSurface,
    hot: &mut [H],
    cold: &mut [Cold],
    heap: &mut RadixHeap,
    max: f32,
    sign: f32,
) {
    let moves = moves(&surf.grid, surf.pw);
    let max_slope = surf.max_slope;
    // Queue keys: times quantised to a step below the cheapest possible move,
    // so cells sharing a key cannot improve one another and may pop in any
    // order (as in Dial 1969); without such a step, the raw bits of the time.
    let inv_step = surf.inv_key_step();
    let key = |t: f32| queue_key(inv_step, t);
    while let Some((_, p)) = heap.pop() {
        let p = p as usize;
        let u = hot[p];
        let t = u.time();
        if t.is_sign_negative() {
            continue; // already settled: a stale entry
        }
        // Settled: stored negated, so neighbours read it as unimprovable.
        hot[p].set_time(-t);
        let c = cold[p];
        let (fu, wu, zu) = (u.fixed(), u.walk(), u.z());
        let mask = c.mask();
        // Axis and diagonal moves, then the moves that cross cells.
        relax_moves::<H, ANISO, false>(
            hot,
            cold,
            heap,
            &moves,
            mask & 0xFF,
            p,
            t,
            (fu, wu, zu),
            c.source,
            (max, sign, max_slope),
            &key,
        );
        relax_moves::<H, ANISO, true>(
            hot,
            cold,
            heap,
            &moves,
            mask & !0xFF,
            p,
            t,
            (fu, wu, zu),
            c.source,
            (max, sign, max_slope),
            &key,
        );
    }
}

/// Relax the moves of `mask` from settled cell `p` (time `t`, pace, walking
/// multiplier and elevation `here`, source `source`); `limits` are the time
/// limit, slope sign and steepest slope.
#[inline]
#[expect(
    clippy::too_many_arguments,
    clippy::many_single_char_names,
    reason = "the hot loop of the search, kept free of indirection; Dijkstra notation"
)]
fn relax_moves<H: Hot, const ANISO: bool, const MID: bool>(
    hot: &mut [H],
    cold: &mut [Cold],
    heap: &mut RadixHeap,
    moves: &[Move; 24],
    mut mask: u32,
    p: usize,
    t: f32,
    here: (f32, f32, f32),
    source: u32,
    limits: (f32, f32, f32),
    key: &impl Fn(f32) -> u64,
) {
    let (fu, wu, zu) = here;
    let (max, sign, max_slope) = limits;
    while mask != 0 {
        let d = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        let m = &moves[d];
        let q = p.wrapping_add_signed(m.off);
        let v = hot[q];
        let tv = v.time();
        // Settled cells hold a negative time; the anisotropic cost is worth
        // skipping for them, the isotropic one is cheaper than the branch.
        if ANISO && tv <= t {
            continue;
        }
        let (f, w) = if MID {
            let (a, b) = (
                hot[p.wrapping_add_signed(m.mid[0])],
                hot[p.wrapping_add_signed(m.mid[1])],
            );
            (
                [fu, v.fixed(), a.fixed(), b.fixed()],
                [wu, v.walk(), a.walk(), b.walk()],
            )
        } else {
            ([fu, v.fixed(), 0.0, 0.0], [wu, v.walk(), 0.0, 0.0])
        };
        let cost = move_cost::<ANISO, MID>(m, f, w, v.z() - zu, sign, max_slope);
        let nt = t + cost;
        if nt < tv && nt <= max {
            hot[q].set_time(nt);
            cold[q].set_back(m.back);
            cold[q].source = source;
            heap.push(key(nt), q as u32);
        }
    }
}

#[cfg(test)]
#[allow(clippy::many_single_char_names)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use rstest::rstest;

    const CELL: f64 = 30.0;

    /// A 64-bit linear congruential generator (Knuth's MMIX constants).
    fn lcg(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state
        }
    }

    fn flat(w: usize, h: usize, kmh: f32) -> Raster<f32> {
        Raster::filled(
            w,
            h,
            [500_000.0, CELL, 0.0, 8_600_000.0, 0.0, -CELL],
            Some(32718),
            kmh,
        )
    }

    /// Length in cells of the shortest 16-move lattice path for offset (dx, dy).
    fn lattice_len(dx: i64, dy: i64) -> f64 {
        let (a, b) = (dx.abs().max(dy.abs()) as f64, dx.abs().min(dy.abs()) as f64);
        if 2.0 * b <= a {
            b * 5f64.sqrt() + (a - 2.0 * b)
        } else {
            (a - b) * 5f64.sqrt() + (2.0 * b - a) * 2f64.sqrt()
        }
    }

    /// A surface of `w` x `h` cells of `cw` x `ch` metres from per-cell
    /// (pace s/m, walking multiplier, elevation m); pace ∞ is impassable.
    fn surface_of(
        w: usize,
        h: usize,
        (cw, ch): (f64, f64),
        cell: impl Fn(usize, usize) -> (f32, f32, f32),
    ) -> CostSurface {
        let r = Raster::filled(
            w,
            h,
            [500_000.0, cw, 0.0, 8_600_000.0, 0.0, -ch],
            Some(32718),
            0f32,
        );
        let grid = Grid::of(&r).unwrap();
        let mut s = CostSurface::blank(grid, true).unwrap();
        for row in 0..h {
            for col in 0..w {
                let p = s.pidx(col, row);
                let (f, wk, z) = cell(col, row);
                (s.fixed[p], s.walk[p], s.z[p]) = (f, wk, z);
            }
        }
        s.max_slope = 10.0;
        s.finish();
        s
    }

    /// The cost the searches give move `d` from (col, row), read as they read it.
    fn engine_cost(s: &CostSurface, col: usize, row: usize, d: usize, sign: f32) -> f32 {
        let m = moves(&s.grid, s.pw)[d];
        let p = s.pidx(col, row);
        let at = |o: isize| p.wrapping_add_signed(o);
        let (q, a, b) = (at(m.off), at(m.mid[0]), at(m.mid[1]));
        let f = [s.fixed[p], s.fixed[q], s.fixed[a], s.fixed[b]];
        let w = [s.walk[p], s.walk[q], s.walk[a], s.walk[b]];
        let dz = s.z[q] - s.z[p];
        if d < 8 {
            move_cost::<true, false>(&m, f, w, dz, sign, s.max_slope)
        } else {
            move_cost::<true, true>(&m, f, w, dz, sign, s.max_slope)
        }
    }

    /// The line integral of pace along move `d` from the centre of (col, row)
    /// to the centre of its end cell, by the midpoint rule on `n` samples
    /// (boundaries fall between samples when `n` is a multiple of 12).
    fn line_integral(
        s: &CostSurface,
        col: usize,
        row: usize,
        d: usize,
        sign: f64,
        n: usize,
    ) -> f64 {
        let (dc, dr) = MOVES[d];
        let (cw, ch) = s.grid.cell_size();
        let len = ((f64::from(dc) * cw).powi(2) + (f64::from(dr) * ch).powi(2)).sqrt();
        let pz = |c: i64, r: i64| s.z[s.pidx(c as usize, r as usize)];
        let (c0, r0) = (col as i64, row as i64);
        let slope = sign * f64::from(pz(c0 + i64::from(dc), r0 + i64::from(dr)) - pz(c0, r0)) / len;
        let tp = 0.6 * (3.5 * (slope + 0.05).abs()).exp();
        let mut sum = 0.0;
        for k in 0..n {
            let t = (k as f64 + 0.5) / n as f64;
            // Cell units: cell (c, r) spans [c - ½, c + ½] x [r - ½, r + ½].
            let x = col as f64 + t * f64::from(dc);
            let y = row as f64 + t * f64::from(dr);
            let (c, r) = (x.round() as usize, y.round() as usize);
            let p = s.pidx(c, r);
            sum += f64::from(s.fixed[p]) + f64::from(s.walk[p]) * tp;
        }
        sum * len / n as f64
    }

    /// Shares worked by hand (see [`shares`]): the fraction of a move's
    /// parameter spent in each cell, counted on a fine grid of the segment.
    #[test]
    fn shares_are_the_fractions_of_each_cell() {
        for (d, &(dc, dr)) in MOVES.iter().enumerate() {
            let n = 120_000_u32;
            let mut count: std::collections::BTreeMap<(i64, i64), u32> =
                std::collections::BTreeMap::new();
            for k in 0..n {
                let t = (f64::from(k) + 0.5) / f64::from(n);
                let x = (t * f64::from(dc)).round() as i64;
                let y = (t * f64::from(dr)).round() as i64;
                *count.entry((x, y)).or_default() += 1;
            }
            let (end, mid) = shares(d);
            let share = |c: (i32, i32)| {
                f64::from(
                    count
                        .get(&(i64::from(c.0), i64::from(c.1)))
                        .copied()
                        .unwrap_or(0),
                ) / f64::from(n)
            };
            assert_relative_eq!(share((0, 0)), end, epsilon = 1e-9);
            assert_relative_eq!(share((dc, dr)), end, epsilon = 1e-9);
            if d >= 8 {
                let [a, b] = crossed(d);
                assert_ne!(a, b);
                assert_relative_eq!(share(a), mid, epsilon = 1e-9);
                assert_relative_eq!(share(b), mid, epsilon = 1e-9);
                assert_eq!(count.len(), 4, "move {d}: {count:?}");
                // The crossed cells are among the intermediates the move must find open.
                assert!(intermediates(d).contains(&a) && intermediates(d).contains(&b));
            } else {
                assert_eq!(count.len(), 2, "move {d}: {count:?}");
            }
            assert_relative_eq!(2.0 * end + 2.0 * mid, 1.0);
        }
        // The fractions of the issue: 1/4 each for knight's moves; 1/6, 1/3, 1/3, 1/6.
        assert_eq!(shares(9), (0.25, 0.25));
        assert_eq!(shares(17), (1.0 / 6.0, 1.0 / 3.0));
        assert_eq!(crossed(8), [(1, 0), (1, 1)]);
        assert_eq!(crossed(16), [(1, 0), (2, 1)]);
        assert_eq!(crossed(17), [(0, 1), (1, 2)]);
    }

    /// One slow cell between fast ones, crossed by a knight's move that is the
    /// only way: it costs L/4 · Σ pace of its four cells.
    #[test]
    fn a_knights_move_pays_each_cell_it_crosses() {
        // 3 x 2 cells of 10 m; pace 1 s/m but 10 at (1, 0); (2, 0) and (0, 1) blocked.
        let speed = |pace: f32| if pace.is_finite() { 3.6 / pace } else { 0.0 };
        let mut r = Raster::filled(3, 2, [0.0, 10.0, 0.0, 20.0, 0.0, -10.0], None, 3.6f32);
        r.data[1] = speed(10.0);
        r.data[2] = 0.0;
        r.data[3] = 0.0;
        let surface = CostSurface::from_speed_kmh(&r).unwrap();
        let tt = travel_time(&surface, &[(0, 0)], &SearchOptions::default());
        // Knight's move (0,0) -> (2,1): quarter in (0,0), (1,0), (1,1), (2,1).
        let l = 500f64.sqrt();
        let knight = l / 4.0 * (1.0 + 10.0 + 1.0 + 1.0);
        // The only other way: (0,0) -> (1,0) -> (1,1) -> (2,1) = 55 + 55 + 10.
        assert!(knight < 120.0);
        assert_relative_eq!(
            f64::from(tt.time(2, 1).unwrap()),
            knight,
            max_relative = 1e-6
        );
        assert_eq!(tt.back[5], opposite(8) as u8);
        // With 8 moves the knight's move is not made.
        let q8 = SearchOptions {
            neighbourhood: Neighbourhood::Queen8,
            ..SearchOptions::default()
        };
        let tt = travel_time(&surface, &[(0, 0)], &q8);
        assert_relative_eq!(tt.time(2, 1).unwrap(), 120.0, max_relative = 1e-6);
    }

    /// A one-cell slow stripe (100 s/m) across a 1 s/m grid of 10 m cells:
    /// knight's moves used to hop over it at no cost; every path now pays at
    /// least its 10 m through the stripe, and the straight one exactly that.
    #[rstest]
    #[case(Neighbourhood::Queen8)]
    #[case(Neighbourhood::Knight16)]
    #[case(Neighbourhood::Extended24)]
    fn a_slow_stripe_is_paid_for(#[case] n: Neighbourhood) {
        let mut r = Raster::filled(11, 11, [0.0, 10.0, 0.0, 110.0, 0.0, -10.0], None, 3.6f32);
        for col in 0..11 {
            r.data[5 * 11 + col] = 0.036; // 100 s/m
        }
        let surface = CostSurface::from_speed_kmh(&r).unwrap();
        let opts = SearchOptions {
            neighbourhood: n,
            ..SearchOptions::default()
        };
        let tt = travel_time(&surface, &[(5, 0)], &opts);
        // 100 m straight down: 10 m in the stripe at 100 s/m, 90 m at 1 s/m.
        assert_relative_eq!(tt.time(5, 10).unwrap(), 1090.0, max_relative = 1e-6);
        // Every cell beyond the stripe paid its 1000 s more than on the flat.
        let flat = CostSurface::from_speed_kmh(&Raster::filled(
            11,
            11,
            [0.0, 10.0, 0.0, 110.0, 0.0, -10.0],
            None,
            3.6f32,
        ))
        .unwrap();
        let ft = travel_time(&flat, &[(5, 0)], &opts);
        for row in 6..11 {
            for col in 0..11 {
                let extra = tt.time(col, row).unwrap() - ft.time(col, row).unwrap();
                assert!(extra >= 990.0 - 1e-3, "({col},{row}) {extra}");
            }
        }
    }

    proptest::proptest! {
        /// On random piecewise-constant grids (pace, walking multiplier,
        /// elevation; rectangular cells), every one of the 24 moves costs the
        /// numerical line integral of pace along its segment (12,000 samples)
        /// within 1e-4, and the search's times follow those costs: a cell's
        /// time is its back-pointer's time plus that move's cost, and no move
        /// into it is cheaper.
        #[test]
        fn moves_cost_the_line_integral_of_pace(
            seed in 0u64..u64::MAX,
            cw in 5.0f64..60.0,
            ch in 5.0f64..60.0,
            to_source in proptest::bool::ANY,
        ) {
            let mut rng = lcg(seed);
            let mut unit = move || (rng() >> 11) as f32 / (1u64 << 53) as f32;
            let (w, h) = (9, 9);
            let cells: Vec<(f32, f32, f32)> = (0..w * h)
                .map(|_| (0.05 + 2.0 * unit(), if unit() < 0.5 { unit() } else { 0.0 }, 3.0 * unit()))
                .collect();
            let s = surface_of(w, h, (cw, ch), |c, r| cells[r * w + c]);
            let sign = if to_source { -1.0 } else { 1.0 };
            for (d, step) in MOVES.iter().enumerate() {
                let engine = f64::from(engine_cost(&s, 4, 4, d, sign));
                let exact = line_integral(&s, 4, 4, d, f64::from(sign), 12_000);
                proptest::prop_assert!(
                    (engine - exact).abs() <= 1e-4 * exact,
                    "move {} {:?}: engine {} integral {}", d, step, engine, exact
                );
            }
            let opts = SearchOptions {
                neighbourhood: Neighbourhood::Extended24,
                direction: if to_source { Direction::ToSource } else { Direction::FromSource },
                ..SearchOptions::default()
            };
            let tt = travel_time(&s, &[(4, 4)], &opts);
            for row in 0..h {
                for col in 0..w {
                    let (Some(t), i) = (tt.time(col, row), row * w + col) else { continue };
                    if tt.back[i] != NO_MOVE {
                        // The move from the back-pointer's cell into this one.
                        let d = opposite(usize::from(tt.back[i]));
                        let (dc, dr) = MOVES[usize::from(tt.back[i])];
                        let (pc, pr) = ((col as i32 + dc) as usize, (row as i32 + dr) as usize);
                        // Costed from the cell nearer the source, with the search's slope sign.
                        let cost = engine_cost(&s, pc, pr, d, sign);
                        let want = tt.time(pc, pr).unwrap() + cost;
                        proptest::prop_assert!((t - want).abs() <= 1e-5 * want, "({},{}) {} vs {}", col, row, t, want);
                    }
                    for (d, &(dc, dr)) in MOVES.iter().enumerate() {
                        let (pc, pr) = (col as i32 - dc, row as i32 - dr);
                        if pc < 0 || pr < 0 || pc >= w as i32 || pr >= h as i32 {
                            continue;
                        }
                        let (pc, pr) = (pc as usize, pr as usize);
                        if s.mask[s.pidx(pc, pr)] & (1 << d) == 0 {
                            continue;
                        }
                        if let Some(tp) = tt.time(pc, pr) {
                            let via = tp + engine_cost(&s, pc, pr, d, sign);
                            proptest::prop_assert!(t <= via * (1.0 + 1e-5), "({},{}) {} > {}", col, row, t, via);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn move_tables_are_consistent() {
        for d in 0..24 {
            let (dc, dr) = MOVES[d];
            assert_eq!(MOVES[opposite(d)], (-dc, -dr));
            assert_eq!(opposite(opposite(d)), d);
            // Intermediate cells lie on the segment between the two cell centres
            // (diagonals only touch their corner, three-by-one moves cross two
            // cells and pass through the corner of two more).
            for (ic, ir) in intermediates(d) {
                let (x0, x1) = (f64::from(ic), f64::from(ic) + 1.0);
                let (y0, y1) = (f64::from(ir), f64::from(ir) + 1.0);
                let hit = (0..=1000).any(|k| {
                    let f = f64::from(k) / 1000.0;
                    let (x, y) = (0.5 + f * f64::from(dc), 0.5 + f * f64::from(dr));
                    if (8..16).contains(&d) {
                        x > x0 && x < x1 && y > y0 && y < y1
                    } else {
                        x >= x0 && x <= x1 && y >= y0 && y <= y1
                    }
                });
                assert!(hit, "move {d} intermediate ({ic},{ir})");
            }
        }
    }

    #[rstest]
    #[case::one_thread(23, 17)]
    #[case::two_threads(613, 451)]
    fn masks_match_direct_checks(#[case] w: usize, #[case] h: usize) {
        let mut r = flat(w, h, 4.0);
        for (i, v) in r.data.iter_mut().enumerate() {
            if (i * 7919) % 5 == 0 {
                *v = f32::NAN;
            }
        }
        let surface = CostSurface::from_speed_kmh(&r).unwrap();
        let offsets = surface.offsets();
        for row in 0..h {
            for col in 0..w {
                let idx = surface.pidx(col, row);
                assert_eq!(
                    surface.mask[idx],
                    surface.cell_mask(idx, &offsets),
                    "({col},{row})"
                );
            }
        }
        // Blocking a cell updates the masks around it like a rebuild does.
        let mut blocked = surface.clone();
        blocked.block(5, 5);
        r.data[5 * w + 5] = f32::NAN;
        let rebuilt = CostSurface::from_speed_kmh(&r).unwrap();
        assert_eq!(blocked.mask, rebuilt.mask);
        assert!(!blocked.passable(5, 5));
    }

    #[test]
    fn flat_grid_times_follow_distance() {
        // 5 km/h everywhere; source in the middle of a 201 x 201 grid.
        let (n, c0) = (201usize, 100usize);
        let surface = CostSurface::from_speed_kmh(&flat(n, n, 5.0)).unwrap();
        let tt = travel_time(&surface, &[(c0, c0)], &SearchOptions::default());
        assert_eq!(tt.settled, n * n);
        let speed = 5.0 / 3.6;
        let mut worst: f64 = 0.0;
        for row in (0..n).step_by(3) {
            for col in (0..n).step_by(3) {
                let (dx, dy) = (col as i64 - c0 as i64, row as i64 - c0 as i64);
                if dx == 0 && dy == 0 {
                    continue;
                }
                let t = f64::from(tt.time(col, row).unwrap());
                // Exactly the lattice path...
                assert_relative_eq!(t, lattice_len(dx, dy) * CELL / speed, max_relative = 1e-4);
                // ...which is within 2.75 % of the straight line.
                let euclid = ((dx * dx + dy * dy) as f64).sqrt() * CELL / speed;
                let err = t / euclid - 1.0;
                assert!((-1e-4..0.0276).contains(&err), "({col},{row}) {err}");
                worst = worst.max(err);
            }
        }
        // Directions off the 16 moves (e.g. 14 degrees) show the lattice detour.
        assert!(worst > 0.02);
        // Along the 16 move directions, and beyond 27 degrees, within 1.3 %.
        for (dx, dy) in [
            (100i64, 0i64),
            (100, 50),
            (100, 100),
            (50, 100),
            (-100, -60),
            (-70, 100),
        ] {
            let t = f64::from(
                tt.time((c0 as i64 + dx) as usize, (c0 as i64 + dy) as usize)
                    .unwrap(),
            );
            let euclid = ((dx * dx + dy * dy) as f64).sqrt() * CELL / speed;
            assert_relative_eq!(t, euclid, max_relative = 0.013);
        }
    }

    #[test]
    fn extended_neighbourhood_is_within_two_percent() {
        // 5 km/h everywhere; source in the middle of a 201 x 201 grid.
        let (n, c0) = (201usize, 100usize);
        let surface = CostSurface::from_speed_kmh(&flat(n, n, 5.0)).unwrap();
        let opts = SearchOptions {
            neighbourhood: Neighbourhood::Extended24,
            ..SearchOptions::default()
        };
        let tt = travel_time(&surface, &[(c0, c0)], &opts);
        let speed = 5.0 / 3.6;
        let mut worst: f64 = 0.0;
        for row in 0..n {
            for col in 0..n {
                let (dx, dy) = (col as i64 - c0 as i64, row as i64 - c0 as i64);
                if dx == 0 && dy == 0 {
                    continue;
                }
                let t = f64::from(tt.time(col, row).unwrap());
                let euclid = ((dx * dx + dy * dy) as f64).sqrt() * CELL / speed;
                let err = t / euclid - 1.0;
                assert!((-1e-4..0.0131).contains(&err), "({col},{row}) {err}");
                worst = worst.max(err);
            }
        }
        // The worst direction, between (1, 0) and (3, 1): cos + (sqrt(10) - 3) sin
        // peaks at sqrt(1 + (sqrt(10) - 3)^2) - 1 = 1.30 %.
        let bound = (1.0 + (10f64.sqrt() - 3.0).powi(2)).sqrt() - 1.0;
        assert!(worst > bound - 0.002 && worst <= bound + 1e-4, "{worst}");
        // Along a three-by-one move it is exact; the default 16 moves are not.
        let t = f64::from(tt.time(c0 + 60, c0 + 20).unwrap());
        assert_relative_eq!(t, 20.0 * 10f64.sqrt() * CELL / speed, max_relative = 1e-5);
        let knight = travel_time(&surface, &[(c0, c0)], &SearchOptions::default());
        assert!(f64::from(knight.time(c0 + 60, c0 + 20).unwrap()) > t * 1.01);
    }

    #[test]
    fn long_moves_never_cross_a_diagonal_wall() {
        // Nodata on the diagonal col == row: the cells below it are cut off.
        let n = 30usize;
        let mut r = flat(n, n, 5.0);
        for k in 0..n {
            r.data[k * n + k] = f32::NAN;
        }
        let surface = CostSurface::from_speed_kmh(&r).unwrap();
        let opts = SearchOptions {
            neighbourhood: Neighbourhood::Extended24,
            ..SearchOptions::default()
        };
        let tt = travel_time(&surface, &[(20, 2)], &opts);
        for row in 0..n {
            for col in 0..n {
                assert_eq!(tt.time(col, row).is_some(), col > row, "({col},{row})");
            }
        }
    }

    #[rstest]
    #[case::isotropic_16(false, Direction::ToSource, Neighbourhood::Knight16, 2)]
    #[case::terrain_to_16(true, Direction::ToSource, Neighbourhood::Knight16, 2)]
    #[case::terrain_from_24(true, Direction::FromSource, Neighbourhood::Extended24, 3)]
    #[case::isotropic_24(false, Direction::ToSource, Neighbourhood::Extended24, 4)]
    fn threads_give_the_one_thread_result(
        #[case] terrain: bool,
        #[case] direction: Direction,
        #[case] neighbourhood: Neighbourhood,
        #[case] threads: usize,
    ) {
        use crate::travel::friction::{TerrainInputs, terrain_surface};
        use crate::travel::scenario::Scenario;
        // 230 x 170 cells of random speed (or random hills), nodata holes.
        let (w, h) = (230usize, 170usize);
        let mut next = lcg(7);
        let mut rand = move || (next() >> 40) as f32 / (1u64 << 24) as f32;
        let mut r = flat(w, h, 1.0);
        for (i, v) in r.data.iter_mut().enumerate() {
            let (c, row) = ((i % w) as f32, (i / w) as f32);
            *v = if terrain {
                3000.0 + 40.0 * (c / 17.0).sin() * (row / 11.0).cos() + 3.0 * rand()
            } else {
                1.0 + 5.0 * rand()
            };
            if rand() < 0.04 {
                *v = f32::NAN;
            }
        }
        let surface = if terrain {
            terrain_surface(&TerrainInputs::new(&r), &Scenario::walking()).unwrap()
        } else {
            CostSurface::from_speed_kmh(&r).unwrap()
        };
        let sources = [
            (3, 3),
            (200, 20),
            (100, 150),
            (50, 90),
            (220, 160),
            (120, 60),
            (3, 3),
        ];
        let opts = SearchOptions {
            direction,
            neighbourhood,
            max_seconds: Some(40_000.0),
        };
        let one = travel_time(&surface, &sources, &opts);
        let many = parallel::travel_time(&surface, &sources, &opts, threads);
        let first = |a: &dyn Fn(usize) -> bool| (0..w * h).find(|&i| !a(i));
        let diff = first(&|i| one.seconds[i].to_bits() == many.seconds[i].to_bits());
        assert_eq!(
            diff,
            None,
            "time {:?}",
            diff.map(|i| (i, one.seconds[i], many.seconds[i]))
        );
        let diff = first(&|i| one.allocation[i] == many.allocation[i]);
        assert_eq!(
            diff,
            None,
            "source {:?}",
            diff.map(|i| (i, one.seconds[i], one.allocation[i], many.allocation[i]))
        );
        // Routes: where two moves give the very same time, the threads take
        // the lower move code and one thread the first found; either way the
        // step leads to a cell of the same source, reached earlier.
        for i in 0..w * h {
            if one.back[i] == many.back[i] || many.back[i] == NO_MOVE {
                assert_eq!(one.back[i], many.back[i]);
                continue;
            }
            let (dc, dr) = MOVES[usize::from(many.back[i])];
            let (c, r) = (
                (i % w) as i64 + i64::from(dc),
                (i / w) as i64 + i64::from(dr),
            );
            let j = usize::try_from(r).unwrap() * w + usize::try_from(c).unwrap();
            assert_eq!(many.allocation[j], many.allocation[i]);
            assert!(many.seconds[j] < many.seconds[i]);
        }
        assert_eq!(one.settled, many.settled);
        assert_eq!(one.skipped_sources, many.skipped_sources);
        assert!(one.settled > w * h / 2);
    }

    #[test]
    fn rectangular_cells() {
        let mut r = flat(50, 50, 3.6);
        r.transform[5] = -20.0;
        let surface = CostSurface::from_speed_kmh(&r).unwrap();
        let tt = travel_time(&surface, &[(0, 0)], &SearchOptions::default());
        assert_relative_eq!(tt.time(10, 0).unwrap(), 300.0, max_relative = 1e-5);
        assert_relative_eq!(tt.time(0, 10).unwrap(), 200.0, max_relative = 1e-5);
        assert_relative_eq!(
            tt.time(10, 10).unwrap(),
            10.0 * 1300f32.sqrt(),
            max_relative = 1e-5
        );
        assert_relative_eq!(
            tt.time(20, 10).unwrap(),
            10.0 * (3600f32 + 400.0).sqrt(),
            max_relative = 1e-5
        );
    }

    #[test]
    fn friction_is_averaged_over_the_two_halves() {
        // Column 1 is three times slower; one move from column 0 to 1 costs half in each.
        let mut r = flat(3, 1, 0.0);
        r.data = vec![1.0, 3.0, 1.0];
        let surface = CostSurface::from_friction(&r).unwrap();
        let tt = travel_time(&surface, &[(0, 0)], &SearchOptions::default());
        assert_relative_eq!(tt.time(1, 0).unwrap(), 60.0, max_relative = 1e-6);
        assert_relative_eq!(tt.time(2, 0).unwrap(), 120.0, max_relative = 1e-6);
    }

    #[test]
    fn river_forces_route_over_bridge() {
        // 41 x 41 flat grid at 1 m/s, a river along row 20 except a bridge at column 30.
        let mut r = flat(41, 41, 3.6);
        for c in 0..41 {
            if c != 30 {
                r.data[20 * 41 + c] = 0.0;
            }
        }
        let surface = CostSurface::from_speed_kmh(&r).unwrap();
        let tt = travel_time(&surface, &[(10, 10)], &SearchOptions::default());
        let cells = tt.route_cells(10, 30).unwrap();
        assert!(cells.contains(&(30, 20)), "{cells:?}");
        assert_eq!(cells.first(), Some(&(10, 30)));
        assert_eq!(cells.last(), Some(&(10, 10)));
        // The bridge must be entered and left by moves that do not touch a river
        // cell: straight, or a knight's move along the column. Best lattice detour
        // each side: 9 knight's moves + 2 straight + 1 straight = 9 sqrt 5 + 3 cells.
        let expected = 2.0 * (9.0 * 5f64.sqrt() + 3.0) * CELL;
        assert_relative_eq!(
            f64::from(tt.time(10, 30).unwrap()),
            expected,
            max_relative = 1e-4
        );
        // And within 4 % of the straight detour over the bridge.
        let detour = 2.0 * (20f64 * 20.0 + 10.0 * 10.0).sqrt() * CELL;
        assert_relative_eq!(
            f64::from(tt.time(10, 30).unwrap()),
            detour,
            max_relative = 0.04
        );
        // Route as CRS points: starts at the cell centre.
        let pts = tt.route(10, 30).unwrap();
        assert_eq!(pts[0], r.cell_center(10, 30));
    }

    #[rstest]
    #[case::square(false)]
    #[case::diamond(true)]
    fn nodata_is_never_crossed(#[case] diamond: bool) {
        // An island ringed by one-cell nodata; the diamond ring is only 8-connected,
        // so diagonal and knight's moves would slip through its corners if allowed.
        let n = 31usize;
        let mut r = flat(n, n, 5.0);
        r.nodata = Some(-9999.0);
        let (cc, rad) = (15i64, 6i64);
        let ring = |c: i64, w: i64| {
            if diamond {
                (c - cc).abs() + (w - cc).abs() == rad
            } else {
                (c - cc).abs().max((w - cc).abs()) == rad
            }
        };
        let inside = |c: i64, w: i64| {
            if diamond {
                (c - cc).abs() + (w - cc).abs() < rad
            } else {
                (c - cc).abs().max((w - cc).abs()) < rad
            }
        };
        for row in 0..n {
            for col in 0..n {
                if ring(col as i64, row as i64) {
                    r.data[row * n + col] = -9999.0;
                }
            }
        }
        let surface = CostSurface::from_speed_kmh(&r).unwrap();
        let opts = SearchOptions::default();
        let tt = travel_time(&surface, &[(0, 0)], &opts);
        for row in 0..n {
            for col in 0..n {
                let (c, w) = (col as i64, row as i64);
                let t = tt.time(col, row);
                if inside(c, w) || ring(c, w) {
                    assert_eq!(t, None, "({col},{row})");
                    assert_eq!(tt.source(col, row), None);
                } else {
                    assert!(t.is_some(), "({col},{row})");
                }
            }
        }
        // And from inside, the outside is unreachable.
        let tt = travel_time(&surface, &[(15, 15)], &opts);
        assert_eq!(tt.time(0, 0), None);
        let reached = tt.seconds.iter().filter(|t| t.is_finite()).count();
        assert_eq!(reached, tt.settled);
        let inside_count = (0..n * n)
            .filter(|i| inside((i % n) as i64, (i / n) as i64))
            .count();
        assert_eq!(reached, inside_count);
    }

    #[test]
    fn sources_on_nodata_are_skipped() {
        let mut r = flat(5, 5, 5.0);
        r.data[0] = f32::NAN;
        let surface = CostSurface::from_speed_kmh(&r).unwrap();
        let tt = travel_time(
            &surface,
            &[(0, 0), (9, 9), (2, 2)],
            &SearchOptions::default(),
        );
        assert_eq!(tt.skipped_sources, vec![0, 1]);
        assert_eq!(tt.source(4, 4), Some(2));
        let none = travel_time(&surface, &[], &SearchOptions::default());
        assert_eq!(none.settled, 0);
        assert!(none.seconds.iter().all(|t| t.is_infinite()));
    }

    #[test]
    fn allocation_splits_at_the_bisector() {
        let n = 41usize;
        let surface = CostSurface::from_speed_kmh(&flat(n, n, 4.0)).unwrap();
        let tt = travel_time(&surface, &[(10, 20), (30, 20)], &SearchOptions::default());
        for row in 0..n {
            for col in 0..n {
                let s = tt.source(col, row).unwrap();
                if col + 1 < 20 {
                    assert_eq!(s, 0, "({col},{row})");
                } else if col > 21 {
                    assert_eq!(s, 1, "({col},{row})");
                }
                // The route ends at the allocated source.
                let end = *tt.route_cells(col, row).unwrap().last().unwrap();
                assert_eq!(end, [(10, 20), (30, 20)][s]);
            }
        }
        // On the bisector itself times from both sides are equal.
        let a = travel_time(&surface, &[(10, 20)], &SearchOptions::default());
        let b = travel_time(&surface, &[(30, 20)], &SearchOptions::default());
        for row in 0..n {
            assert_relative_eq!(
                a.time(20, row).unwrap(),
                b.time(20, row).unwrap(),
                max_relative = 1e-5
            );
            let best = a.time(20, row).unwrap().min(b.time(20, row).unwrap());
            assert_relative_eq!(tt.time(20, row).unwrap(), best, max_relative = 1e-6);
        }
    }

    #[rstest]
    #[case::isotropic(false, Direction::ToSource, Neighbourhood::Knight16)]
    #[case::terrain_to(true, Direction::ToSource, Neighbourhood::Knight16)]
    #[case::terrain_from(true, Direction::FromSource, Neighbourhood::Knight16)]
    #[case::terrain_24(true, Direction::ToSource, Neighbourhood::Extended24)]
    fn updates_equal_a_full_search(
        #[case] terrain: bool,
        #[case] direction: Direction,
        #[case] neighbourhood: Neighbourhood,
    ) {
        use crate::travel::friction::{TerrainInputs, terrain_surface};
        use crate::travel::scenario::Scenario;
        // Hilly 60 x 50 grid with a wall of "river" cells along column 30 and
        // a few holes; edits open cells of the wall, speed up a strip and move sources.
        let (w, h) = (60usize, 50usize);
        let mut next = lcg(99);
        let mut rand = move || (next() >> 33) as usize;
        let mut base = flat(w, h, 4.0);
        let mut dem = flat(w, h, 0.0);
        for row in 0..h {
            for col in 0..w {
                let i = row * w + col;
                dem.data[i] = (1000.0
                    + 40.0 * ((col as f64) / 7.0).sin() * ((row as f64) / 5.0).cos())
                    as f32;
                if col == 30 || rand() % 23 == 0 {
                    base.data[i] = 0.0;
                }
            }
        }
        let surface_of = |speed: &Raster<f32>| {
            if terrain {
                // Walking multiplier 1 where the speed raster is 4, 2 where 8; blocked at 0.
                let class = |f: fn(f32) -> u8| Raster {
                    data: speed.data.iter().map(|&v| f(v)).collect(),
                    ..Raster::filled(w, h, speed.transform, speed.epsg, 0u8)
                };
                let routes = class(|v| if v > 5.0 { 5 } else { 1 });
                let water = class(|v| u8::from(v <= 0.0));
                let inputs = TerrainInputs {
                    routes: Some(&routes),
                    water: Some(&water),
                    ..TerrainInputs::new(&dem)
                };
                let s = Scenario {
                    path_factors: crate::travel::scenario::PathFactors {
                        paved_road: 2.0,
                        ..Default::default()
                    },
                    ..Scenario::walking()
                };
                terrain_surface(&inputs, &s).unwrap()
            } else {
                CostSurface::from_speed_kmh(speed).unwrap()
            }
        };
        let opts = SearchOptions {
            direction,
            neighbourhood,
            ..SearchOptions::default()
        };
        let sources = vec![(5, 5), (10, 40), (50, 25)];
        let before = surface_of(&base);
        let old = travel_time(&before, &sources, &opts);
        let mut edited = base.clone();
        for row in [10, 11, 30] {
            edited.data[row * w + 30] = 4.0;
        }
        for col in 35..55 {
            edited.data[20 * w + col] = 8.0;
        }
        let after = surface_of(&edited);
        let change = after.changes_from(&before).unwrap();
        assert!(change.cheaper_only);
        assert!(change.cells.len() >= 23, "{}", change.cells.len());
        // Source 1 removed, a new one added at (40, 45).
        let new_sources = vec![(5, 5), (50, 25), (40, 45)];
        let kept = [Some(0), None, Some(1)];
        let updated = update_travel_time(&after, &old, &change.cells, &kept, &new_sources, &opts);
        let full = travel_time(&after, &new_sources, &opts);
        assert_eq!(updated.seconds.len(), full.seconds.len());
        for (i, (a, b)) in updated.seconds.iter().zip(&full.seconds).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "cell {i}: {a} {b}");
        }
        assert_eq!(updated.settled, full.settled);
        let differ = updated
            .allocation
            .iter()
            .zip(&full.allocation)
            .filter(|(a, b)| a != b)
            .count();
        assert!(differ <= 2, "{differ}");
        // Routes end at their source.
        for (c, r) in [(59, 49), (0, 49), (31, 11)] {
            if let Some(s) = updated.source(c, r) {
                assert_eq!(
                    updated.route_cells(c, r).unwrap().last(),
                    Some(&new_sources[s])
                );
            }
        }
        // A dearer cell breaks the precondition.
        assert!(!before.changes_from(&after).unwrap().cheaper_only);
    }

    #[test]
    fn max_time_bounds_the_search() {
        let n = 101usize;
        let surface = CostSurface::from_speed_kmh(&flat(n, n, 3.6)).unwrap();
        let full = travel_time(&surface, &[(50, 50)], &SearchOptions::default());
        let limit = 600.0;
        let opts = SearchOptions {
            max_seconds: Some(limit),
            ..SearchOptions::default()
        };
        let part = travel_time(&surface, &[(50, 50)], &opts);
        let within = full
            .seconds
            .iter()
            .filter(|&&t| f64::from(t) <= limit)
            .count();
        assert_eq!(part.settled, within);
        assert!(part.settled < full.settled);
        for (a, b) in full.seconds.iter().zip(&part.seconds) {
            if f64::from(*a) <= limit {
                assert_eq!(a.to_bits(), b.to_bits());
            } else {
                assert!(b.is_infinite());
            }
        }
        // 600 s at 1 m/s is 20 cells of 30 m.
        assert!(part.time(70, 50).is_some());
        assert!(part.time(71, 50).is_none());
    }
}
