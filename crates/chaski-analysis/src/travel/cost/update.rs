//! The incremental search of a what-if edit: only the cells a changed surface
//! can improve are searched again, bit-identical to a search from scratch.

use super::moves::NO_MOVE;
use super::options::SearchOptions;
use super::search::{AnisoHot, Cold, IsoHot, search};
use super::surface::{CostSurface, NO_SOURCE, PAD, queue_key};
use super::times::TravelTimes;

use super::super::queue::RadixHeap;

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
