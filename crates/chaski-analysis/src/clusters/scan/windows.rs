//! The scan's windows: the neighbour order of every centre, capped by the
//! largest window, built once and walked for the data and every replicate.

use rayon::prelude::*;
use rstar::RTree;
use rstar::primitives::GeomWithData;

/// Flag of an entry that ends a distance-tie group: a window ends there.
pub(super) const LAST: u32 = 1 << 31;
/// Mask of the household index in an entry.
pub(super) const IDX: u32 = LAST - 1;

/// Neighbour order of every centre, capped; `LAST` marks the end of a
/// distance-tie group that is a valid window.
pub(super) struct Windows {
    lists: Vec<Vec<u32>>,
}

impl Windows {
    /// The neighbour order of centre `c`, nearest first.
    pub(super) fn list(&self, c: usize) -> &[u32] {
        &self.lists[c]
    }

    /// The windows of `points`: each centre's nearest households while their
    /// weight (`weights`, None for unit weights with a count cap
    /// `floor(max_weight)`) is at most `max_weight` and, if set, within
    /// `max_radius` metres.
    pub(super) fn build(
        points: &[[f64; 2]],
        weights: Option<&[f64]>,
        max_weight: f64,
        max_radius: Option<f64>,
    ) -> Windows {
        let n = points.len();
        let tree = max_radius.map(|_| {
            RTree::bulk_load(
                points
                    .iter()
                    .enumerate()
                    .map(|(i, &p)| GeomWithData::new(p, i as u32))
                    .collect::<Vec<_>>(),
            )
        });
        let count_cap = if weights.is_none() {
            max_weight.floor() as usize
        } else {
            n
        };
        let lists: Vec<Vec<u32>> = (0..n)
            .into_par_iter()
            .map_init(Nearest::default, |nearest, c| {
                let p = points[c];
                let cand = match (&tree, max_radius) {
                    (Some(t), Some(r)) => nearest.sorted(
                        points,
                        p,
                        t.locate_within_distance(p, r * r).map(|g| g.data),
                        count_cap + 1,
                    ),
                    _ => nearest.sorted(points, p, 0..n as u32, count_cap + 1),
                };
                let mut out: Vec<u32> = Vec::with_capacity(cand.len());
                let mut cum = 0.0;
                let mut keep = 0;
                for (k, &(d, j)) in cand.iter().enumerate() {
                    cum += weights.map_or(1.0, |w| w[j as usize]);
                    if k + 1 > count_cap || cum > max_weight {
                        break;
                    }
                    out.push(j);
                    let group_end = cand.get(k + 1).is_none_or(|&(d_next, _)| d_next != d);
                    if group_end {
                        if let Some(last) = out.last_mut() {
                            *last |= LAST;
                        }
                        keep = out.len();
                    }
                }
                out.truncate(keep);
                out.shrink_to_fit();
                out
            })
            .collect();
        Windows { lists }
    }
}

/// The buffers of [`Nearest::sorted`], kept from one centre to the next.
#[derive(Default)]
struct Nearest {
    keys: Vec<u64>,
    spare: Vec<u64>,
    dist: Vec<u32>,
    exact: Vec<(u64, u32)>,
}

impl Nearest {
    /// The `keep` candidates nearest to `p` as (squared distance bits, index),
    /// ordered by distance then index. Selection and sorting run on 64-bit
    /// keys (squared distance rounded to f32, index), whose order agrees with
    /// the exact one except inside groups of equal f32 distance: the
    /// candidates whose f32 distance is at most that of the `keep`-th nearest
    /// are kept, sorted by it (a radix sort), and a final sort on the exact
    /// distances (adaptive, so nearly free on the nearly sorted keys) fixes
    /// the order before truncating.
    fn sorted(
        &mut self,
        points: &[[f64; 2]],
        p: [f64; 2],
        cand: impl Iterator<Item = u32>,
        keep: usize,
    ) -> &[(u64, u32)] {
        let d2 = |j: u32| {
            let q = points[j as usize];
            (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2)
        };
        self.exact.clear();
        if keep == 0 {
            return &self.exact;
        }
        self.keys.clear();
        self.keys
            .extend(cand.map(|j| (u64::from((d2(j) as f32).to_bits()) << 32) | u64::from(j)));
        if self.keys.len() > keep {
            self.dist.clear();
            self.dist
                .extend(self.keys.iter().map(|&k| (k >> 32) as u32));
            let bound = u64::from(*self.dist.select_nth_unstable(keep - 1).1);
            self.keys.retain(|&k| k >> 32 <= bound);
        }
        radix_sort_high(&mut self.keys, &mut self.spare);
        self.exact.extend(self.keys.iter().map(|&k| {
            let j = k as u32;
            (d2(j).to_bits(), j)
        }));
        // The stable sort is adaptive: linear on the nearly sorted runs here.
        #[allow(clippy::stable_sort_primitive)]
        self.exact.sort();
        self.exact.truncate(keep);
        &self.exact
    }
}

/// Stable LSD radix sort of `keys` by their high 32 bits, 11 bits at a time
/// (a digit every key shares is skipped).
fn radix_sort_high(keys: &mut Vec<u64>, spare: &mut Vec<u64>) {
    const BITS: u32 = 11;
    const MASK: u64 = (1 << BITS) - 1;
    for shift in [32, 32 + BITS, 32 + 2 * BITS] {
        let mut count = [0usize; 1 << BITS];
        for &k in keys.iter() {
            count[((k >> shift) & MASK) as usize] += 1;
        }
        if count.contains(&keys.len()) {
            continue;
        }
        let mut sum = 0;
        for c in &mut count {
            let here = *c;
            *c = sum;
            sum += here;
        }
        spare.clear();
        spare.resize(keys.len(), 0);
        for &k in keys.iter() {
            let b = ((k >> shift) & MASK) as usize;
            spare[count[b]] = k;
            count[b] += 1;
        }
        std::mem::swap(keys, spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_orders_by_the_high_half_and_keeps_ties_in_order() {
        let mut keys: Vec<u64> = (0..5000u64)
            .map(|i| ((i * 7919 % 4001) << 32) | (i % 3))
            .chain([u64::MAX, 0, (1 << 63) | 5])
            .collect();
        let mut want = keys.clone();
        want.sort_by_key(|k| k >> 32);
        radix_sort_high(&mut keys, &mut Vec::new());
        assert_eq!(keys, want);
        // One shared high half: nothing moves.
        let mut same: Vec<u64> = (0..100u64).rev().map(|i| (42 << 32) | i).collect();
        let before = same.clone();
        radix_sort_high(&mut same, &mut Vec::new());
        assert_eq!(same, before);
    }
}
