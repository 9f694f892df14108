//! The search of [`super::travel_time`] on several threads, for large grids.
//!
//! The sources are split by column into one group per thread, so each thread
//! grows the region its sources reach first. Every cell holds one packed
//! label in an `AtomicU64`: the time's bits (non-negative `f32`s order like
//! their bits), the source index (24 bits) and the back-pointer (8 bits), so a
//! label only ever decreases, by compare-and-swap, and time, allocation and
//! route always change together. Each thread runs Dijkstra's algorithm from
//! its own sources with its own queue and relaxes every move whose packed
//! label would decrease; a cell another thread has since improved is skipped
//! when popped (that thread owns its new entry). Where two regions meet a cell
//! may be settled twice; the labels still converge to the fixed point of the
//! relaxations, the same times as the one-thread search bit for bit. Ties
//! between sources are broken by the lower source index, so the result does
//! not depend on thread timing.

use super::moves::{Move, NO_MOVE, moves};
use super::options::SearchOptions;
use super::surface::{CostSurface, move_cost, queue_key};
use super::times::TravelTimes;
use crate::travel::queue::RadixHeap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Label of a cell not reached.
const UNREACHED: u64 = u64::MAX;

/// Sources are indexed in 24 bits.
pub(super) const MAX_SOURCES: usize = 1 << 24;

#[inline]
fn pack(t: f32, source: u32, back: u8) -> u64 {
    (u64::from(t.to_bits()) << 32) | (u64::from(source & 0x00FF_FFFF) << 8) | u64::from(back)
}

#[inline]
fn time(label: u64) -> f32 {
    if label == UNREACHED {
        f32::INFINITY
    } else {
        f32::from_bits((label >> 32) as u32)
    }
}

/// Shared, read-only inputs of the workers.
struct Shared<'a> {
    surf: &'a CostSurface,
    labels: &'a [AtomicU64],
    moves: [Move; 24],
    allowed: u32,
    max: f32,
    sign: f32,
    inv_step: f64,
}

/// [`super::travel_time`] on `threads` threads (at least 2); the sources must
/// number fewer than [`MAX_SOURCES`].
pub(super) fn travel_time(
    surface: &CostSurface,
    sources: &[(usize, usize)],
    options: &SearchOptions,
    threads: usize,
) -> TravelTimes {
    let grid = surface.grid;
    let labels: Vec<AtomicU64> = (0..surface.fixed.len())
        .map(|_| AtomicU64::new(UNREACHED))
        .collect();
    let mut skipped_sources = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    for (i, &(c, r)) in sources.iter().enumerate() {
        if !surface.passable(c, r) {
            skipped_sources.push(i);
            continue;
        }
        let p = surface.pidx(c, r);
        // Two sources on one cell: the first wins, as in the one-thread search.
        if labels[p].load(Relaxed) == UNREACHED {
            labels[p].store(pack(0.0, i as u32, NO_MOVE), Relaxed);
            starts.push(p);
        }
    }
    let pw = surface.pw;
    starts.sort_unstable_by_key(|&p| (p % pw, p / pw));
    let shared = Shared {
        surf: surface,
        labels: &labels,
        moves: moves(&grid, pw),
        allowed: options.neighbourhood.mask(),
        max: options.limit(),
        sign: options.slope_sign(),
        inv_step: surface.inv_key_step(),
    };
    let chunk = starts.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for group in starts.chunks(chunk) {
            let shared = &shared;
            if surface.is_anisotropic() {
                s.spawn(move || worker::<true>(shared, group));
            } else {
                s.spawn(move || worker::<false>(shared, group));
            }
        }
    });
    TravelTimes::from_padded(surface, skipped_sources, |p| {
        let l = labels[p].load(Relaxed);
        (l != UNREACHED).then(|| (time(l), ((l >> 8) & 0x00FF_FFFF) as u32, l as u8))
    })
}

#[expect(
    clippy::many_single_char_names,
    reason = "Dijkstra notation: p, q cells, t time"
)]
fn worker<const ANISO: bool>(sh: &Shared<'_>, starts: &[usize]) {
    let surf = sh.surf;
    let labels = sh.labels;
    let mut heap = RadixHeap::new();
    // Cells this thread settled at their current label.
    let mut done = vec![false; labels.len()];
    for &p in starts {
        heap.push(0, p as u32);
    }
    while let Some((k, p)) = heap.pop() {
        let p = p as usize;
        if done[p] {
            continue;
        }
        let l = labels[p].load(Relaxed);
        let t = time(l);
        if queue_key(sh.inv_step, t) != k {
            continue; // improved since it was queued: a lower entry exists
        }
        done[p] = true;
        let source = ((l >> 8) & 0x00FF_FFFF) as u32;
        let fu = surf.fixed[p];
        let (wu, zu) = if ANISO {
            (surf.walk[p], surf.z[p])
        } else {
            (0.0, 0.0)
        };
        let mut mask = surf.mask[p] & sh.allowed;
        while mask != 0 {
            let d = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let m = &sh.moves[d];
            let q = p.wrapping_add_signed(m.off);
            let mut cur = labels[q].load(Relaxed);
            let tv = time(cur);
            if ANISO && tv <= t {
                continue;
            }
            // The same costing as the one-thread search, so the same floats.
            let plane = |v: &[f32], o: isize| {
                if ANISO {
                    v[p.wrapping_add_signed(o)]
                } else {
                    0.0
                }
            };
            let dz = if ANISO { surf.z[q] - zu } else { 0.0 };
            let cost = if d < 8 {
                move_cost::<ANISO, false>(
                    m,
                    [fu, surf.fixed[q], 0.0, 0.0],
                    [wu, plane(&surf.walk, m.off), 0.0, 0.0],
                    dz,
                    sh.sign,
                    surf.max_slope,
                )
            } else {
                let (a, b) = (m.mid[0], m.mid[1]);
                move_cost::<ANISO, true>(
                    m,
                    [
                        fu,
                        surf.fixed[q],
                        surf.fixed[p.wrapping_add_signed(a)],
                        surf.fixed[p.wrapping_add_signed(b)],
                    ],
                    [
                        wu,
                        plane(&surf.walk, m.off),
                        plane(&surf.walk, a),
                        plane(&surf.walk, b),
                    ],
                    dz,
                    sh.sign,
                    surf.max_slope,
                )
            };
            if !cost.is_finite() {
                continue;
            }
            let nt = t + cost;
            if !(nt <= sh.max && nt <= tv) {
                continue;
            }
            let new = pack(nt, source, m.back);
            while new < cur {
                match labels[q].compare_exchange_weak(cur, new, Relaxed, Relaxed) {
                    Ok(_) => {
                        done[q] = false;
                        heap.push(queue_key(sh.inv_step, nt), q as u32);
                        break;
                    }
                    Err(actual) => cur = actual,
                }
            }
        }
    }
}
