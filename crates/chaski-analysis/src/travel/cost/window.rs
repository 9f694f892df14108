//! Searches bounded in time that touch only the cells within reach: one
//! source, a time limit, and the part of the surface no traveller can leave
//! within that limit.
//!
//! A path of length `d` metres costs at least `d · min_pace` seconds, the
//! cheapest pace of any passable cell (for the terrain model, the pace of the
//! fastest slope). So within `T` seconds no path leaves the disc of radius
//! `T / min_pace` around its source, and a search on the window that holds
//! that disc (plus the three cells a move may reach past it) gives every cell
//! of the window the time a search of the whole surface gives it. A matrix of
//! many candidate sites to the villages around them thus costs each candidate
//! the cells within its reach, not the whole grid.

use super::options::SearchOptions;
use super::search::travel_time;
use super::surface::{CostSurface, PAD};

use super::super::grid::Grid;

impl CostSurface {
    /// The part of this surface with columns `cols` and rows `rows` (clamped to
    /// the grid), with an impassable border: moves that would leave it are not
    /// allowed. Costs, elevations and the steepest slope are those of this
    /// surface.
    ///
    /// ```
    /// use chaski_analysis::travel::cost::CostSurface;
    /// use chaski_core::raster::Raster;
    /// let speed = Raster::filled(6, 5, [0.0, 10.0, 0.0, 50.0, 0.0, -10.0], None, 3.6f32);
    /// let s = CostSurface::from_speed_kmh(&speed).unwrap();
    /// let w = s.window(2..9, 1..3);
    /// assert_eq!((w.grid().width, w.grid().height), (4, 2));
    /// assert_eq!(w.grid().cell_center(0, 0), s.grid().cell_center(2, 1));
    /// ```
    #[must_use]
    pub fn window(&self, cols: std::ops::Range<usize>, rows: std::ops::Range<usize>) -> Self {
        let whole = self.grid;
        let (c0, c1) = (cols.start.min(whole.width), cols.end.min(whole.width));
        let (r0, r1) = (rows.start.min(whole.height), rows.end.min(whole.height));
        let (width, height) = (c1.saturating_sub(c0), r1.saturating_sub(r0));
        let t = whole.transform;
        let grid = Grid {
            width,
            height,
            transform: [
                t[0] + c0 as f64 * t[1],
                t[1],
                0.0,
                t[3] + r0 as f64 * t[5],
                0.0,
                t[5],
            ],
            epsg: whole.epsg,
        };
        let pw = width + 2 * PAD;
        let n = pw * (height + 2 * PAD);
        let aniso = self.is_anisotropic();
        let mut out = Self {
            grid,
            pw,
            fixed: vec![f32::INFINITY; n],
            walk: if aniso { vec![0.0; n] } else { Vec::new() },
            z: if aniso { vec![0.0; n] } else { Vec::new() },
            mask: vec![0; n],
            max_slope: self.max_slope,
            min_pace: 0.0,
        };
        for row in 0..height {
            let (from, to) = (self.pidx(c0, r0 + row), out.pidx(0, row));
            let (src, dst) = (from..from + width, to..to + width);
            out.fixed[dst.clone()].copy_from_slice(&self.fixed[src.clone()]);
            if aniso {
                out.walk[dst.clone()].copy_from_slice(&self.walk[src.clone()]);
                out.z[dst].copy_from_slice(&self.z[src]);
            }
        }
        out.finish();
        out
    }

    /// Radius in cells (rounded up, plus the reach of one move) beyond which
    /// no path from a cell gets within `seconds`; None when the surface has no
    /// usable lower bound of pace.
    fn reach_cells(&self, seconds: f64) -> Option<usize> {
        let min_len = self.grid.cell_size().0.min(self.grid.cell_size().1);
        let pace = f64::from(self.min_pace);
        let cells = seconds / (pace * min_len);
        (pace > 0.0 && min_len > 0.0 && cells.is_finite() && cells < 1e9)
            .then(|| cells.ceil() as usize + PAD)
    }
}

/// Times from one source cell to `targets` (or from them to it, by
/// `options.direction`) within `options.max_seconds`, searching only the
/// window of the surface that a traveller can cover in that time (the whole
/// surface without a limit). One entry per target: None when not reached
/// within the limit, off the grid or on an impassable cell; also all None when
/// the source is off the grid or impassable.
///
/// ```
/// use chaski_analysis::travel::cost::{CostSurface, SearchOptions, times_within, travel_time};
/// use chaski_core::raster::Raster;
/// // 200 x 200 cells of 10 m at 1 m/s; 150 s reach about 15 cells.
/// let speed = Raster::filled(200, 200, [0.0, 10.0, 0.0, 2000.0, 0.0, -10.0], None, 3.6f32);
/// let s = CostSurface::from_speed_kmh(&speed).unwrap();
/// let opts = SearchOptions { max_seconds: Some(150.0), ..SearchOptions::default() };
/// let near = times_within(&s, (100, 100), &opts, &[(110, 100), (100, 130), (5, 5)]);
/// assert!((near[0].unwrap() - 100.0).abs() < 1e-3);
/// assert_eq!((near[1], near[2]), (None, None));
/// let whole = travel_time(&s, &[(100, 100)], &opts);
/// assert_eq!(near[0], whole.time(110, 100));
/// ```
pub fn times_within(
    surface: &CostSurface,
    source: (usize, usize),
    options: &SearchOptions,
    targets: &[(usize, usize)],
) -> Vec<Option<f32>> {
    let g = surface.grid;
    let (sc, sr) = source;
    if !surface.passable(sc, sr) {
        return vec![None; targets.len()];
    }
    let radius = options
        .max_seconds
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| surface.reach_cells(s));
    let (cols, rows) = match radius {
        Some(r) => (
            sc.saturating_sub(r)..sc.saturating_add(r + 1),
            sr.saturating_sub(r)..sr.saturating_add(r + 1),
        ),
        None => (0..g.width, 0..g.height),
    };
    let whole = cols.start == 0 && rows.start == 0 && cols.end >= g.width && rows.end >= g.height;
    let read = |s: &CostSurface, (c0, r0): (usize, usize)| {
        let times = travel_time(s, &[(sc - c0, sr - r0)], options);
        targets
            .iter()
            .map(|&(c, r)| {
                let (c, r) = (c.checked_sub(c0)?, r.checked_sub(r0)?);
                times.time(c, r)
            })
            .collect()
    };
    if whole {
        read(surface, (0, 0))
    } else {
        let origin = (cols.start, rows.start);
        read(&surface.window(cols, rows), origin)
    }
}
