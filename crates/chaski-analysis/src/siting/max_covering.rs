//! Maximal covering location (Church & ReVelle 1974).
//!
//! Church, R. & ReVelle, C. (1974). *The maximal covering location problem.*
//! Papers of the Regional Science Association 32, 101–118.
//!
//! Choose `p` new eligible sites so that the most demand lies within
//! `threshold_min` minutes of an open site (existing sites fixed open).
//!
//! # Parameters
//! [`Objective::MaxCovering`](super::Objective::MaxCovering): `p` new sites
//! (at most the eligible, not existing candidates) and the threshold T in
//! minutes (a village at exactly T is covered).
//!
//! # Returns
//! A [`Solution`](super::Solution) whose objective is the covered demand and
//! whose bound is an upper bound on it.
//!
//! # Algorithm
//! Greedy (largest uncovered demand first), then Whitaker's fast
//! interchange: each chosen site in turn is removed and the best replacement
//! is found in one pass over the sparse matrix, by counting for every village
//! how many open sites cover it. The bound is the Lagrangian relaxation of the
//! coverage rows ([`super::lagrangian`]); the MILP is
//! max Σ d_i z_i  s.t.  z_i ≤ Σ_{j ∈ N_i} x_j,  Σ x_j = p,  x binary,  0 ≤ z ≤ 1,
//! over the villages not already covered by an existing site.
//!
//! # Examples
//! ```
//! use chaski_analysis::siting::{solve, Candidate, Objective, SitingProblem, SolveOptions, TravelMatrix};
//! // Site 0 already open reaches village 0; site 1 reaches villages 0 and 1;
//! // site 2 reaches village 2, the largest.
//! let matrix = TravelMatrix::from_entries(3, 3, [(0, 0, 10.0), (0, 1, 20.0), (1, 1, 40.0), (2, 2, 5.0)]).unwrap();
//! let c = |existing| Candidate { existing, eligible: true, beds: None };
//! let problem = SitingProblem { demand: vec![5.0, 3.0, 4.0], candidates: vec![c(true), c(false), c(false)], matrix };
//! let s = solve(&problem, &Objective::MaxCovering { p: 1, threshold_min: 60.0 }, &SolveOptions::default(), None).unwrap();
//! assert_eq!(s.chosen, vec![2]);
//! assert_eq!((s.covered_before, s.covered_after, s.objective), (5.0, 9.0, 9.0));
//! assert_eq!(s.open, vec![0, 2]);
//! ```

use crate::siting::lagrangian::{self, Savings};
use crate::siting::milp::{MilpColumn, MilpModel, MilpRow, MilpSense};
use crate::siting::search::scan_order;
use crate::siting::{Assignment, Ctx, SitingModel, SitingProblem};

/// The maximal covering model of a problem and threshold.
pub(crate) struct MaxCovering<'a> {
    pub(crate) demand: &'a [f64],
    /// Per candidate, the villages with demand > 0 within the threshold.
    pub(crate) cover: Vec<Vec<u32>>,
    pub(crate) reach: Vec<Vec<(u32, f32)>>,
}

impl<'a> MaxCovering<'a> {
    pub(crate) fn new(problem: &'a SitingProblem, threshold: f32) -> Self {
        let m = &problem.matrix;
        let mut cover = Vec::with_capacity(m.candidates());
        let mut reach = Vec::with_capacity(m.candidates());
        for j in 0..m.candidates() {
            let r: Vec<(u32, f32)> = m
                .reach(j)
                .iter()
                .copied()
                .filter(|&(i, t)| t <= threshold && problem.demand[i as usize] > 0.0)
                .collect();
            cover.push(r.iter().map(|e| e.0).collect());
            reach.push(r);
        }
        Self {
            demand: &problem.demand,
            cover,
            reach,
        }
    }

    fn counts(&self, open: &[bool]) -> Vec<u32> {
        let mut cnt = vec![0u32; self.demand.len()];
        for (j, list) in self.cover.iter().enumerate() {
            if open[j] {
                for &i in list {
                    cnt[i as usize] += 1;
                }
            }
        }
        cnt
    }

    fn gain(&self, cnt: &[u32], a: usize) -> f64 {
        self.cover[a]
            .iter()
            .filter(|&&i| cnt[i as usize] == 0)
            .map(|&i| self.demand[i as usize])
            .sum()
    }

    /// Villages with demand not covered by the existing sites but by some choosable one.
    fn open_villages(&self, ctx: &Ctx) -> (Vec<u32>, Vec<Option<u32>>) {
        let cnt = self.counts(&ctx.base);
        let mut col: Vec<Option<u32>> = vec![None; self.demand.len()];
        let mut list = Vec::new();
        for &a in &ctx.avail {
            for &i in &self.cover[a] {
                if cnt[i as usize] == 0 && col[i as usize].is_none() {
                    col[i as usize] = Some(list.len() as u32);
                    list.push(i);
                }
            }
        }
        (list, col)
    }
}

impl SitingModel for MaxCovering<'_> {
    fn maximise(&self) -> bool {
        true
    }

    fn value(&self, open: &[bool]) -> f64 {
        let cnt = self.counts(open);
        cnt.iter()
            .zip(self.demand)
            .filter(|(c, _)| **c > 0)
            .map(|(_, d)| d)
            .sum()
    }

    fn covered(&self, open: &[bool]) -> f64 {
        self.value(open)
    }

    fn assignment(&self, open: &[bool]) -> Assignment {
        let mut a: Vec<Option<(usize, f32, f64)>> = vec![None; self.demand.len()];
        for (j, list) in self.reach.iter().enumerate() {
            if open[j] {
                for &(i, t) in list {
                    let slot = &mut a[i as usize];
                    if slot.is_none_or(|(_, best, _)| t < best) {
                        *slot = Some((j, t, self.demand[i as usize]));
                    }
                }
            }
        }
        (a, Vec::new())
    }

    fn uncoverable(&self, ctx: &Ctx) -> Vec<usize> {
        let mut mask = ctx.base.clone();
        for &a in &ctx.avail {
            mask[a] = true;
        }
        let cnt = self.counts(&mask);
        (0..self.demand.len())
            .filter(|&i| self.demand[i] > 0.0 && cnt[i] == 0)
            .collect()
    }

    fn heuristic(&self, ctx: &Ctx, p: usize, seed: u64) -> Vec<usize> {
        let mut cnt = self.counts(&ctx.base);
        let mut open = ctx.base.clone();
        let mut chosen = Vec::with_capacity(p);
        for _ in 0..p {
            let mut best: Option<(usize, f64)> = None;
            for &a in &ctx.avail {
                if !open[a] {
                    let g = self.gain(&cnt, a);
                    if best.is_none_or(|(_, b)| g > b) {
                        best = Some((a, g));
                    }
                }
            }
            let Some((a, _)) = best else { break };
            open[a] = true;
            chosen.push(a);
            for &i in &self.cover[a] {
                cnt[i as usize] += 1;
            }
        }
        // Fast interchange: remove one chosen site, find the best site to put back.
        for _pass in 0..100 {
            let mut improved = false;
            for slot in scan_order(chosen.len(), seed) {
                let r = chosen[slot];
                for &i in &self.cover[r] {
                    cnt[i as usize] -= 1;
                }
                open[r] = false;
                let loss = self.gain(&cnt, r);
                let mut best: Option<(usize, f64)> = None;
                for &a in &ctx.avail {
                    if !open[a] && a != r {
                        let g = self.gain(&cnt, a);
                        if best.is_none_or(|(_, b)| g > b) {
                            best = Some((a, g));
                        }
                    }
                }
                let put = match best {
                    Some((a, g)) if g > loss + 1e-9 * (1.0 + loss) => {
                        improved = true;
                        chosen[slot] = a;
                        a
                    }
                    _ => r,
                };
                open[put] = true;
                for &i in &self.cover[put] {
                    cnt[i as usize] += 1;
                }
            }
            if !improved {
                break;
            }
        }
        chosen
    }

    fn bound(&self, ctx: &Ctx, p: usize, incumbent: (f64, &[usize])) -> (f64, Option<Vec<usize>>) {
        let base = self.value(&ctx.base);
        let (villages, col) = self.open_villages(ctx);
        let lists = ctx
            .avail
            .iter()
            .map(|&a| {
                self.cover[a]
                    .iter()
                    .filter_map(|&i| col[i as usize].map(|k| (k, self.demand[i as usize])))
                    .collect()
            })
            .collect();
        let s = Savings {
            villages: villages.len(),
            lists,
        };
        let lb = lagrangian::bound(&s, p, incumbent.0 - base, 600);
        let improved = lb
            .best
            .map(|(_, set)| set.into_iter().map(|k| ctx.avail[k]).collect());
        (base + lb.upper, improved)
    }

    fn milp_vars(&self, ctx: &Ctx) -> usize {
        ctx.avail.len() + self.open_villages(ctx).0.len()
    }

    fn milp(&self, ctx: &Ctx, p: usize, warm: &[usize]) -> MilpModel {
        let base = self.value(&ctx.base);
        let (villages, col) = self.open_villages(ctx);
        let nx = ctx.avail.len();
        let mut columns = vec![MilpColumn::binary(0.0); nx];
        columns.extend(
            villages
                .iter()
                .map(|&i| MilpColumn::continuous(self.demand[i as usize], 0.0, 1.0)),
        );
        let mut rows: Vec<MilpRow> = villages
            .iter()
            .enumerate()
            .map(|(k, _)| MilpRow {
                lower: f64::NEG_INFINITY,
                upper: 0.0,
                entries: vec![(nx + k, 1.0)],
            })
            .collect();
        for (q, &a) in ctx.avail.iter().enumerate() {
            for &i in &self.cover[a] {
                if let Some(k) = col[i as usize] {
                    rows[k as usize].entries.push((q, -1.0));
                }
            }
        }
        rows.push(MilpRow::exactly(p, nx));
        let mut init = vec![0.0; nx + villages.len()];
        let open = ctx.open_mask(warm);
        let cnt = self.counts(&open);
        for (q, &a) in ctx.avail.iter().enumerate() {
            if open[a] {
                init[q] = 1.0;
            }
        }
        for (k, &i) in villages.iter().enumerate() {
            if cnt[i as usize] > 0 {
                init[nx + k] = 1.0;
            }
        }
        MilpModel {
            sense: MilpSense::Maximise,
            columns,
            rows,
            offset: base,
            initial: Some(init),
            ..MilpModel::default()
        }
    }
}
