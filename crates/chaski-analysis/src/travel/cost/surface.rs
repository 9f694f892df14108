//! The travel surface: pace per cell (seconds per metre), elevation for the
//! anisotropic model, passability and walking multipliers, built from speed,
//! friction or terrain rasters; Tobler's hiking function.

use super::moves::{MOVES, Move, intermediates};

use super::super::grid::{Grid, GridError};
use chaski_core::raster::Raster;

/// Allocation of a cell not reached.
pub const NO_SOURCE: u32 = u32::MAX;

/// Grids of at least this many cells build their move masks on two threads.
pub(crate) const PARALLEL_MASK_CELLS: usize = 1 << 18;

/// Width of the impassable border around padded surfaces.
pub(crate) const PAD: usize = 3;

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
    pub(crate) fn cell_mask(&self, p: usize, offsets: &[[isize; 5]; 24]) -> u32 {
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
    pub(crate) fn offsets(&self) -> [[isize; 5]; 24] {
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

    pub(crate) fn isotropic(
        r: &Raster<f32>,
        to_pace: impl Fn(f32) -> f32,
    ) -> Result<Self, GridError> {
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

impl CostSurface {
    /// Inverse of the queue's time step: a step just under the cheapest
    /// possible move, so cells sharing a key cannot improve one another (0 when
    /// there is no such step: keys are then the raw bits of the time).
    pub(crate) fn inv_key_step(&self) -> f64 {
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

/// Queue key of time `t` for a surface whose [`CostSurface::inv_key_step`] is `inv_step`.
#[inline]
pub(crate) fn queue_key(inv_step: f64, t: f32) -> u64 {
    if inv_step > 0.0 {
        (f64::from(t) * inv_step) as u64
    } else {
        u64::from(t.to_bits())
    }
}
