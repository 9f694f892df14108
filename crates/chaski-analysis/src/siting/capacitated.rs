//! Capacitated two-level covering of maternity waiting homes.
//!
//! A new model for casas maternas, after the capacitated maximal covering of
//! Current & Storbeck (1988, *Capacitated covering models*, Environment and
//! Planning B 15, 153–163) with the two-level structure of hierarchical
//! covering (Moore & ReVelle 1982): a home serves the villages within T1
//! minutes (`threshold_min`); only candidates within T2 of complete obstetric
//! care may hold one (the caller marks them `eligible`); a home of `b` beds
//! takes `b · 365 / stay_days` births a year (`beds: None` is uncapacitated);
//! a village's demand may be split between homes, and demand beyond the beds
//! is not covered.
//!
//! # Parameters
//! [`Objective::CapacitatedCovering`](super::Objective::CapacitatedCovering):
//! `p` new homes, T1 in minutes, the mean stay in days (> 0).
//!
//! # Returns
//! A [`Solution`](super::Solution) whose objective is the births the open
//! homes can take; `flows` lists the split assignment, `assignment` the home
//! serving the largest share of each village and the demand served in all.
//!
//! # Algorithm
//! For a set of open homes the covered demand is a maximum flow (source →
//! village, capacity its demand → home within T1 → sink, capacity the beds'
//! births; [`Dinic`](super::flow)). Greedy and interchange evaluate it
//! directly (O(p · n) flows a pass: meant for up to a few hundred
//! candidates). The bound is the smallest of: the uncapacitated maximal
//! covering bound at T1 (Lagrangian), the existing homes' flow plus the `p`
//! largest `min(capacity, demand within T1)` of the candidates, and all
//! demand within T1 of any openable home. The MILP is
//! max Σ y_ic  s.t.  Σ_c y_ic ≤ d_i,  Σ_i y_ic ≤ cap_c · x_c,  y_ic ≤ d_i · x_c,  Σ new x = p.
//!
//! # Examples
//! ```
//! use chaski_analysis::siting::{solve, Candidate, Objective, SitingProblem, SolveOptions, TravelMatrix};
//! // One village of 100 births a year within 60 min of both candidates; a
//! // 2-bed home takes 2 · 365 / 14.6 = 50 births, a 10-bed home 250.
//! let matrix = TravelMatrix::from_entries(1, 2, [(0, 0, 10.0), (0, 1, 50.0)]).unwrap();
//! let c = |beds| Candidate { existing: false, eligible: true, beds: Some(beds) };
//! let problem = SitingProblem { demand: vec![100.0], candidates: vec![c(2), c(10)], matrix };
//! let obj = Objective::CapacitatedCovering { p: 1, threshold_min: 60.0, stay_days: 14.6 };
//! let s = solve(&problem, &obj, &SolveOptions::default(), None).unwrap();
//! assert_eq!(s.chosen, vec![1]); // farther, but it has the beds
//! assert!((s.objective - 100.0).abs() < 1e-9);
//! ```

#![expect(
    clippy::many_single_char_names,
    reason = "the notation of the algorithm: d demand, p sites, s savings, t minutes"
)]

use crate::siting::flow::Network;
use crate::siting::max_covering::MaxCovering;
use crate::siting::milp::{MilpColumn, MilpModel, MilpRow, MilpSense};
use crate::siting::{Assignment, Ctx, SitingModel, SitingProblem, search};

/// The capacitated covering model.
pub(crate) struct Capacitated<'a> {
    problem: &'a SitingProblem,
    threshold: f32,
    /// Births a year each candidate takes; `None` uncapacitated.
    cap: Vec<Option<f64>>,
    /// Per candidate, `(village, minutes)` within T1 for villages with demand.
    cover: Vec<Vec<(u32, f32)>>,
}

impl<'a> Capacitated<'a> {
    pub(crate) fn new(problem: &'a SitingProblem, threshold: f32, stay_days: f64) -> Self {
        let cap = problem
            .candidates
            .iter()
            .map(|c| c.beds.map(|b| f64::from(b) * 365.0 / stay_days))
            .collect();
        let cover = (0..problem.matrix.candidates())
            .map(|j| {
                problem
                    .matrix
                    .reach(j)
                    .iter()
                    .copied()
                    .filter(|&(i, t)| t <= threshold && problem.demand[i as usize] > 0.0)
                    .collect()
            })
            .collect();
        Self {
            problem,
            threshold,
            cap,
            cover,
        }
    }

    fn demand(&self) -> &[f64] {
        &self.problem.demand
    }

    /// Maximum flow for an open mask: value and `(village, home, flow)`.
    fn flow(&self, open: &[bool], with_flows: bool) -> (f64, Vec<(usize, usize, f64)>) {
        let d = self.demand();
        let n = d.len();
        let homes: Vec<usize> = (0..open.len())
            .filter(|&j| open[j] && !self.cover[j].is_empty())
            .collect();
        let s = n + homes.len();
        let t = s + 1;
        let mut net = Network::new(t + 1);
        let mut arcs = Vec::new();
        let mut used = vec![false; n];
        for (h, &j) in homes.iter().enumerate() {
            for &(i, _) in &self.cover[j] {
                let e = net.add(i as usize, n + h, d[i as usize]);
                arcs.push((i as usize, j, e));
                used[i as usize] = true;
            }
            net.add(n + h, t, self.cap[j].unwrap_or(f64::INFINITY));
        }
        for i in (0..n).filter(|&i| used[i]) {
            net.add(s, i, d[i]);
        }
        let value = net.max_flow(s, t);
        let flows = if with_flows {
            arcs.into_iter()
                .map(|(i, j, e)| (i, j, net.flow(e)))
                .filter(|f| f.2 > 1e-9)
                .collect()
        } else {
            Vec::new()
        };
        (value, flows)
    }
}

impl SitingModel for Capacitated<'_> {
    fn maximise(&self) -> bool {
        true
    }

    fn value(&self, open: &[bool]) -> f64 {
        self.flow(open, false).0
    }

    fn covered(&self, open: &[bool]) -> f64 {
        self.value(open)
    }

    fn assignment(&self, open: &[bool]) -> Assignment {
        let (_, flows) = self.flow(open, true);
        let n = self.demand().len();
        let mut best: Vec<Option<(usize, f64)>> = vec![None; n];
        let mut served = vec![0.0; n];
        for &(i, j, f) in &flows {
            served[i] += f;
            if best[i].is_none_or(|(_, b)| f > b) {
                best[i] = Some((j, f));
            }
        }
        let a = best
            .iter()
            .enumerate()
            .map(|(i, b)| {
                b.map(|(j, _)| {
                    (
                        j,
                        self.problem.matrix.minutes(i, j).unwrap_or(0.0),
                        served[i],
                    )
                })
            })
            .collect();
        (a, flows)
    }

    fn uncoverable(&self, ctx: &Ctx) -> Vec<usize> {
        MaxCovering::new(self.problem, self.threshold).uncoverable(ctx)
    }

    fn heuristic(&self, ctx: &Ctx, p: usize, seed: u64) -> Vec<usize> {
        search::greedy_interchange(self, ctx, p, seed)
    }

    fn bound(&self, ctx: &Ctx, p: usize, incumbent: (f64, &[usize])) -> (f64, Option<Vec<usize>>) {
        let uncap = MaxCovering::new(self.problem, self.threshold);
        let (a, _) = uncap.bound(ctx, p, incumbent);
        let base = self.value(&ctx.base);
        let mut adds: Vec<f64> = ctx
            .avail
            .iter()
            .map(|&j| {
                let reach: f64 = self.cover[j]
                    .iter()
                    .map(|&(i, _)| self.demand()[i as usize])
                    .sum();
                self.cap[j].map_or(reach, |c| c.min(reach))
            })
            .collect();
        adds.sort_unstable_by(|x, y| y.total_cmp(x));
        let b = base + adds.iter().take(p).sum::<f64>();
        let mut all = ctx.base.clone();
        for &j in &ctx.avail {
            all[j] = true;
        }
        let c = uncap.value(&all);
        (a.min(b).min(c), None)
    }

    fn milp_vars(&self, ctx: &Ctx) -> usize {
        ctx.avail.len()
            + (0..self.cover.len())
                .filter(|&j| ctx.base[j] || ctx.avail.binary_search(&j).is_ok())
                .map(|j| self.cover[j].len())
                .sum::<usize>()
    }

    fn milp(&self, ctx: &Ctx, p: usize, warm: &[usize]) -> MilpModel {
        let d = self.demand();
        let nx = ctx.avail.len();
        let mut columns = vec![MilpColumn::binary(0.0); nx];
        let mut rows = Vec::new();
        let mut village_rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); d.len()];
        let mut pair_col = std::collections::HashMap::new();
        for j in 0..self.cover.len() {
            let x = ctx.avail.binary_search(&j).ok();
            if !ctx.base[j] && x.is_none() {
                continue;
            }
            let mut home_row = Vec::new();
            for &(i, _) in &self.cover[j] {
                let di = d[i as usize];
                let col = columns.len();
                columns.push(MilpColumn::continuous(1.0, 0.0, di));
                pair_col.insert((i as usize, j), col);
                village_rows[i as usize].push((col, 1.0));
                home_row.push((col, 1.0));
                if let (Some(q), false) = (x, ctx.base[j]) {
                    rows.push(MilpRow {
                        lower: f64::NEG_INFINITY,
                        upper: 0.0,
                        entries: vec![(col, 1.0), (q, -di)],
                    });
                }
            }
            if let Some(cap) = self.cap[j] {
                match (x, ctx.base[j]) {
                    (Some(q), false) => {
                        home_row.push((q, -cap));
                        rows.push(MilpRow {
                            lower: f64::NEG_INFINITY,
                            upper: 0.0,
                            entries: home_row,
                        });
                    }
                    _ => rows.push(MilpRow {
                        lower: f64::NEG_INFINITY,
                        upper: cap,
                        entries: home_row,
                    }),
                }
            }
        }
        for (i, entries) in village_rows.into_iter().enumerate() {
            if entries.len() > 1 {
                rows.push(MilpRow {
                    lower: f64::NEG_INFINITY,
                    upper: d[i],
                    entries,
                });
            }
        }
        rows.push(MilpRow::exactly(p, nx));
        let open = ctx.open_mask(warm);
        let mut init = vec![0.0; columns.len()];
        for (q, &a) in ctx.avail.iter().enumerate() {
            if open[a] {
                init[q] = 1.0;
            }
        }
        for (i, j, f) in self.flow(&open, true).1 {
            if let Some(&col) = pair_col.get(&(i, j)) {
                init[col] = f.min(d[i]);
            }
        }
        MilpModel {
            sense: MilpSense::Maximise,
            columns,
            rows,
            offset: 0.0,
            initial: Some(init),
            ..MilpModel::default()
        }
    }
}
