//! Search methods shared by the models: a seeded scan order, greedy plus
//! vertex-substitution interchange on any objective (Teitz & Bart 1968), and
//! an exact branch and bound for small instances.
//!
//! The branch and bound fixes candidates in or out one at a time and prunes
//! with the bound "objective so far plus the `k` largest marginal gains of the
//! candidates still free", valid because every objective here has diminishing
//! returns (coverage and the p-median's savings are submodular; so is the
//! capacitated coverage, the rank function of a polymatroid induced through the
//! village–home graph). Used by [`super::solve`] when no MILP backend is given
//! and at most [`MAX_BRANCH_CANDIDATES`] candidates may be chosen.
//!
//! ```
//! use chaski_analysis::siting::search::scan_order;
//! let a = scan_order(5, 7);
//! let mut sorted = a.clone();
//! sorted.sort();
//! assert_eq!(sorted, vec![0, 1, 2, 3, 4]);
//! assert_eq!(a, scan_order(5, 7)); // deterministic given the seed
//! ```

use crate::siting::{Ctx, SitingModel, better};
use std::time::{Duration, Instant};

/// Most eligible new candidates for the built-in branch and bound.
pub const MAX_BRANCH_CANDIDATES: usize = 40;

/// A permutation of `0..n` from `seed` (SplitMix64 and Fisher–Yates).
pub fn scan_order(n: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for k in (1..n).rev() {
        let j = (next() % (k as u64 + 1)) as usize;
        order.swap(k, j);
    }
    order
}

/// Greedy then interchange on `model.value` (O(p · n) evaluations a pass).
pub(crate) fn greedy_interchange(
    model: &dyn SitingModel,
    ctx: &Ctx,
    p: usize,
    seed: u64,
) -> Vec<usize> {
    let max = model.maximise();
    let mut open = ctx.base.clone();
    let mut chosen = Vec::with_capacity(p);
    let mut current = model.value(&open);
    for _ in 0..p {
        let mut best: Option<(usize, f64)> = None;
        for &c in &ctx.avail {
            if open[c] {
                continue;
            }
            open[c] = true;
            let v = model.value(&open);
            open[c] = false;
            if best.is_none_or(|(_, b)| better(max, v, b)) {
                best = Some((c, v));
            }
        }
        let Some((c, v)) = best else { break };
        open[c] = true;
        chosen.push(c);
        current = v;
    }
    for _pass in 0..100 {
        let mut improved = false;
        for slot in scan_order(chosen.len(), seed) {
            let r = chosen[slot];
            open[r] = false;
            let mut best: Option<(usize, f64)> = None;
            for &a in &ctx.avail {
                if open[a] || a == r {
                    continue;
                }
                open[a] = true;
                let v = model.value(&open);
                open[a] = false;
                if best.is_none_or(|(_, b)| better(max, v, b)) {
                    best = Some((a, v));
                }
            }
            match best {
                Some((a, v)) if better(max, v, current) => {
                    open[a] = true;
                    chosen[slot] = a;
                    current = v;
                    improved = true;
                }
                _ => open[r] = true,
            }
        }
        if !improved {
            break;
        }
    }
    chosen
}

struct Bb<'a> {
    value: &'a dyn Fn(&[bool]) -> f64,
    sign: f64,
    order: Vec<usize>,
    open: Vec<bool>,
    path: Vec<usize>,
    best: f64,
    best_set: Vec<usize>,
    deadline: Option<Instant>,
    aborted: bool,
}

impl Bb<'_> {
    fn score(&self) -> f64 {
        self.sign * (self.value)(&self.open)
    }
    fn node(&mut self, pos: usize, k: usize, score: f64) {
        if self.aborted {
            return;
        }
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            self.aborted = true;
            return;
        }
        if k == 0 {
            if score > self.best + 1e-9 * (1.0 + self.best.abs()) {
                self.best = score;
                self.best_set = self.path.clone();
            }
            return;
        }
        if self.order.len() - pos < k {
            return;
        }
        let mut gains = Vec::with_capacity(self.order.len() - pos);
        for q in pos..self.order.len() {
            let c = self.order[q];
            self.open[c] = true;
            gains.push((self.score() - score).max(0.0));
            self.open[c] = false;
        }
        gains.sort_unstable_by(|a, b| b.total_cmp(a));
        let bound = score + gains[..k].iter().sum::<f64>();
        if bound <= self.best + 1e-9 * (1.0 + self.best.abs()) {
            return;
        }
        let c = self.order[pos];
        self.open[c] = true;
        self.path.push(c);
        let with = self.score();
        self.node(pos + 1, k - 1, with);
        self.path.pop();
        self.open[c] = false;
        self.node(pos + 1, k, score);
    }
}

/// Exact branch and bound from an incumbent: `(sites, objective, proven)`;
/// `proven` is false when the time ran out.
pub(crate) fn branch_and_bound(
    max: bool,
    value: &dyn Fn(&[bool]) -> f64,
    ctx: &Ctx,
    p: usize,
    incumbent: (f64, &[usize]),
    time: Duration,
) -> (Vec<usize>, f64, bool) {
    let sign = if max { 1.0 } else { -1.0 };
    let open = ctx.base.clone();
    let base = sign * value(&open);
    let mut order = ctx.avail.clone();
    let mut scratch = open.clone();
    let mut gain: Vec<(usize, f64)> = order
        .iter()
        .map(|&c| {
            scratch[c] = true;
            let g = sign * value(&scratch) - base;
            scratch[c] = false;
            (c, g)
        })
        .collect();
    gain.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    order = gain.into_iter().map(|(c, _)| c).collect();
    let mut bb = Bb {
        value,
        sign,
        order,
        open,
        path: Vec::with_capacity(p),
        best: sign * incumbent.0,
        best_set: incumbent.1.to_vec(),
        deadline: Instant::now().checked_add(time),
        aborted: false,
    };
    bb.node(0, p, base);
    (bb.best_set, sign * bb.best, !bb.aborted)
}
