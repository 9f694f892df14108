//! p-median (Hakimi 1964; ReVelle & Swain 1970).
//!
//! Hakimi, S. L. (1964). *Optimum locations of switching centers and the
//! absolute centers and medians of a graph.* Operations Research 12, 450–459.
//! ReVelle, C. & Swain, R. (1970). *Central facilities location.*
//! Geographical Analysis 2, 30–42.
//!
//! Choose `p` new eligible sites (existing sites fixed open) minimising the
//! demand-weighted minutes from each village to its nearest open site.
//!
//! **Villages no open site reaches.** The matrix is sparse: a pair beyond the
//! matrix's maximum time is absent. Such a village is charged a penalty equal
//! to the largest minutes in the matrix (its limit: a lower bound of the true
//! time), reported as [`Solution::penalty_min`](super::Solution::penalty_min);
//! it has no assignment, is not counted in `covered_after`, and is listed in
//! `uncoverable` when no existing or eligible candidate reaches it at all.
//! The penalty keeps the objective finite and still rewards reaching it.
//!
//! # Parameters
//! [`Objective::PMedian`](super::Objective::PMedian): `p` new sites.
//!
//! # Returns
//! A [`Solution`](super::Solution) whose objective is Σ demand × minutes
//! (penalty included) and whose bound is a lower bound on it; `covered_*` is
//! the demand reached within the matrix.
//!
//! # Algorithm
//! Greedy (largest saving first), then fast interchange (Whitaker 1983; the
//! swap-based local search of Resende & Werneck 2004 in its simple form): each
//! chosen site is removed in turn, the villages it served fall back to their
//! next nearest open site, and the best replacement is found in one pass over
//! the matrix. The bound is the Lagrangian relaxation of the assignment rows
//! ([`super::lagrangian`]). The MILP is the strong formulation in savings form
//! over the pairs that improve on the existing sites:
//! min C0 − Σ s_ij y_ij  s.t.  Σ_j y_ij ≤ 1,  y_ij ≤ x_j,  Σ x_j = p.
//!
//! # Examples
//! ```
//! use chaski_analysis::siting::{solve, Candidate, Objective, SitingProblem, SolveOptions, TravelMatrix};
//! // Villages 0 and 1 near site 0, village 2 near site 1.
//! let matrix = TravelMatrix::from_entries(3, 2, [
//!     (0, 0, 10.0), (1, 0, 20.0), (2, 0, 90.0),
//!     (0, 1, 80.0), (1, 1, 70.0), (2, 1, 5.0),
//! ]).unwrap();
//! let c = Candidate { existing: false, eligible: true, beds: None };
//! let problem = SitingProblem { demand: vec![1.0, 1.0, 3.0], candidates: vec![c; 2], matrix };
//! let s = solve(&problem, &Objective::PMedian { p: 1 }, &SolveOptions::default(), None).unwrap();
//! // site 0: 10 + 20 + 3·90 = 300; site 1: 80 + 70 + 3·5 = 165.
//! assert_eq!(s.chosen, vec![1]);
//! assert_eq!(s.objective, 165.0);
//! assert_eq!(s.penalty_min, Some(90.0));
//! ```

#![expect(
    clippy::many_single_char_names,
    reason = "the notation of the algorithm: d demand, p sites, s savings, t minutes"
)]

use crate::siting::lagrangian::{self, Savings};
use crate::siting::milp::{MilpColumn, MilpModel, MilpRow, MilpSense};
use crate::siting::search::scan_order;
use crate::siting::{Assignment, Ctx, SitingModel, SitingProblem};

/// The p-median model of a problem.
pub(crate) struct PMedian<'a> {
    demand: &'a [f64],
    penalty: f32,
    /// Per candidate, `(village, minutes)` for villages with demand > 0.
    reach: Vec<Vec<(u32, f32)>>,
    /// Per village, `(minutes, candidate)` ascending.
    inv: Vec<Vec<(f32, u32)>>,
}

impl<'a> PMedian<'a> {
    pub(crate) fn new(problem: &'a SitingProblem) -> Self {
        let m = &problem.matrix;
        let d = &problem.demand;
        let reach: Vec<Vec<(u32, f32)>> = (0..m.candidates())
            .map(|j| {
                m.reach(j)
                    .iter()
                    .copied()
                    .filter(|&(i, _)| d[i as usize] > 0.0)
                    .collect()
            })
            .collect();
        let mut inv: Vec<Vec<(f32, u32)>> = vec![Vec::new(); d.len()];
        for (j, list) in reach.iter().enumerate() {
            for &(i, t) in list {
                inv[i as usize].push((t, j as u32));
            }
        }
        for l in &mut inv {
            l.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        Self {
            demand: d,
            penalty: m.max_minutes(),
            reach,
            inv,
        }
    }

    pub(crate) fn penalty(&self) -> f32 {
        self.penalty
    }

    /// Minutes to the nearest open site, capped at the penalty.
    fn nearest(&self, open: &[bool]) -> Vec<f32> {
        let mut cur = vec![self.penalty; self.demand.len()];
        for (j, list) in self.reach.iter().enumerate() {
            if open[j] {
                for &(i, t) in list {
                    let c = &mut cur[i as usize];
                    *c = c.min(t);
                }
            }
        }
        cur
    }

    fn saving(&self, cur: &[f32], a: usize) -> f64 {
        self.reach[a]
            .iter()
            .filter(|&&(i, t)| t < cur[i as usize])
            .map(|&(i, t)| self.demand[i as usize] * f64::from(cur[i as usize] - t))
            .sum()
    }

    /// Savings of each choosable site over the existing ones.
    fn savings(&self, ctx: &Ctx) -> (f64, Savings) {
        let cur = self.nearest(&ctx.base);
        let base = cost(self.demand, &cur);
        let lists = ctx
            .avail
            .iter()
            .map(|&a| {
                self.reach[a]
                    .iter()
                    .filter(|&&(i, t)| t < cur[i as usize])
                    .map(|&(i, t)| (i, self.demand[i as usize] * f64::from(cur[i as usize] - t)))
                    .collect()
            })
            .collect();
        (
            base,
            Savings {
                villages: self.demand.len(),
                lists,
            },
        )
    }
}

fn cost(demand: &[f64], cur: &[f32]) -> f64 {
    demand.iter().zip(cur).map(|(d, &t)| d * f64::from(t)).sum()
}

impl SitingModel for PMedian<'_> {
    fn maximise(&self) -> bool {
        false
    }

    fn value(&self, open: &[bool]) -> f64 {
        cost(self.demand, &self.nearest(open))
    }

    fn covered(&self, open: &[bool]) -> f64 {
        let mut reached = vec![false; self.demand.len()];
        for (j, list) in self.reach.iter().enumerate() {
            if open[j] {
                for &(i, _) in list {
                    reached[i as usize] = true;
                }
            }
        }
        reached
            .iter()
            .zip(self.demand)
            .filter(|(r, _)| **r)
            .map(|(_, d)| d)
            .sum()
    }

    fn assignment(&self, open: &[bool]) -> Assignment {
        let a = self
            .inv
            .iter()
            .enumerate()
            .map(|(i, list)| {
                list.iter()
                    .find(|&&(_, j)| open[j as usize])
                    .map(|&(t, j)| (j as usize, t, self.demand[i]))
            })
            .collect();
        (a, Vec::new())
    }

    fn uncoverable(&self, ctx: &Ctx) -> Vec<usize> {
        (0..self.demand.len())
            .filter(|&i| {
                self.demand[i] > 0.0
                    && !self.inv[i].iter().any(|&(_, j)| {
                        ctx.base[j as usize] || ctx.avail.binary_search(&(j as usize)).is_ok()
                    })
            })
            .collect()
    }

    #[expect(
        clippy::float_cmp,
        reason = "minutes copied from the same matrix: equal means served by that site"
    )]
    fn heuristic(&self, ctx: &Ctx, p: usize, seed: u64) -> Vec<usize> {
        let mut open = ctx.base.clone();
        let mut cur = self.nearest(&open);
        let mut chosen = Vec::with_capacity(p);
        for _ in 0..p {
            let mut best: Option<(usize, f64)> = None;
            for &a in &ctx.avail {
                if !open[a] {
                    let s = self.saving(&cur, a);
                    if best.is_none_or(|(_, b)| s > b) {
                        best = Some((a, s));
                    }
                }
            }
            let Some((a, _)) = best else { break };
            open[a] = true;
            chosen.push(a);
            for &(i, t) in &self.reach[a] {
                let c = &mut cur[i as usize];
                *c = c.min(t);
            }
        }
        let mut saved: Vec<(u32, f32)> = Vec::new();
        for _pass in 0..100 {
            let mut improved = false;
            for slot in scan_order(chosen.len(), seed) {
                let r = chosen[slot];
                open[r] = false;
                saved.clear();
                let mut loss = 0.0;
                for &(i, t) in &self.reach[r] {
                    let iu = i as usize;
                    if cur[iu] == t {
                        let next = self.inv[iu]
                            .iter()
                            .find(|&&(_, j)| open[j as usize])
                            .map_or(self.penalty, |&(m, _)| m.min(self.penalty));
                        if next != cur[iu] {
                            loss += self.demand[iu] * f64::from(next - cur[iu]);
                            saved.push((i, cur[iu]));
                            cur[iu] = next;
                        }
                    }
                }
                let mut best: Option<(usize, f64)> = None;
                for &a in &ctx.avail {
                    if !open[a] && a != r {
                        let s = self.saving(&cur, a);
                        if best.is_none_or(|(_, b)| s > b) {
                            best = Some((a, s));
                        }
                    }
                }
                match best {
                    Some((a, s)) if s > loss + 1e-9 * (1.0 + loss) => {
                        improved = true;
                        chosen[slot] = a;
                        open[a] = true;
                        for &(i, t) in &self.reach[a] {
                            let c = &mut cur[i as usize];
                            *c = c.min(t);
                        }
                    }
                    _ => {
                        open[r] = true;
                        for &(i, old) in &saved {
                            cur[i as usize] = old;
                        }
                    }
                }
            }
            if !improved {
                break;
            }
        }
        chosen
    }

    fn bound(&self, ctx: &Ctx, p: usize, incumbent: (f64, &[usize])) -> (f64, Option<Vec<usize>>) {
        let (base, s) = self.savings(ctx);
        let lb = lagrangian::bound(&s, p, base - incumbent.0, 600);
        let improved = lb
            .best
            .map(|(_, set)| set.into_iter().map(|k| ctx.avail[k]).collect());
        (base - lb.upper, improved)
    }

    fn milp_vars(&self, ctx: &Ctx) -> usize {
        let (_, s) = self.savings(ctx);
        ctx.avail.len() + s.lists.iter().map(Vec::len).sum::<usize>()
    }

    fn milp(&self, ctx: &Ctx, p: usize, warm: &[usize]) -> MilpModel {
        let (base, s) = self.savings(ctx);
        let nx = ctx.avail.len();
        let mut columns = vec![MilpColumn::binary(0.0); nx];
        let mut village_rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); self.demand.len()];
        let mut rows = Vec::new();
        let mut pairs = Vec::new();
        for (q, list) in s.lists.iter().enumerate() {
            for &(i, v) in list {
                let col = columns.len();
                columns.push(MilpColumn::continuous(-v, 0.0, 1.0));
                village_rows[i as usize].push((col, 1.0));
                rows.push(MilpRow {
                    lower: f64::NEG_INFINITY,
                    upper: 0.0,
                    entries: vec![(col, 1.0), (q, -1.0)],
                });
                pairs.push((q, i, v));
            }
        }
        rows.extend(
            village_rows
                .into_iter()
                .filter(|r| r.len() > 1)
                .map(|entries| MilpRow {
                    lower: f64::NEG_INFINITY,
                    upper: 1.0,
                    entries,
                }),
        );
        rows.push(MilpRow::exactly(p, nx));
        // Warm start: each village's best saving among the warm sites.
        let open = ctx.open_mask(warm);
        let mut init = vec![0.0; columns.len()];
        let mut best: Vec<Option<(usize, f64)>> = vec![None; self.demand.len()];
        for (k, &(q, i, v)) in pairs.iter().enumerate() {
            if open[ctx.avail[q]] {
                init[q] = 1.0;
                let b = &mut best[i as usize];
                if b.is_none_or(|(_, bv)| v > bv) {
                    *b = Some((nx + k, v));
                }
            }
        }
        for (q, &a) in ctx.avail.iter().enumerate() {
            if open[a] {
                init[q] = 1.0;
            }
        }
        for (col, _) in best.into_iter().flatten() {
            init[col] = 1.0;
        }
        MilpModel {
            sense: MilpSense::Minimise,
            columns,
            rows,
            offset: base,
            initial: Some(init),
            ..MilpModel::default()
        }
    }
}
