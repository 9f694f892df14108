//! Location set covering (Toregas, Swain, ReVelle & Bergman 1971).
//!
//! Toregas, C., Swain, R., ReVelle, C. & Bergman, L. (1971). *The location of
//! emergency service facilities.* Operations Research 19, 1363–1373.
//!
//! The fewest new eligible sites so that every village with demand that any
//! existing or eligible candidate reaches within `threshold_min` is covered.
//! Villages no candidate can reach are listed in `uncoverable` and left out
//! of the requirement (a planner must see them, not get an infeasible model).
//!
//! # Parameters
//! [`Objective::SetCovering`](super::Objective::SetCovering): the threshold T
//! in minutes.
//!
//! # Returns
//! A [`Solution`](super::Solution) whose objective is the number of new
//! sites and whose bound is a lower bound on it; the curve gives the covered
//! demand with the first `k` of them.
//!
//! # Algorithm
//! Chvátal's greedy (most uncovered villages first) with removal of redundant
//! sites; the bound is the Lagrangian relaxation of the covering rows
//! (Beasley 1990), rounded up; the MILP is min Σ x_j s.t. Σ_{j ∈ N_i} x_j ≥ 1.
//!
//! # Examples
//! ```
//! use chaski_analysis::siting::{solve, Candidate, Objective, SitingProblem, SolveOptions, TravelMatrix};
//! // Sites 0 and 1 together cover villages 0–3; site 2 covers 1 and 2 only;
//! // village 4 is beyond every candidate.
//! let matrix = TravelMatrix::from_entries(5, 3, [
//!     (0, 0, 10.0), (1, 0, 20.0), (2, 1, 20.0), (3, 1, 10.0), (1, 2, 5.0), (2, 2, 5.0),
//! ]).unwrap();
//! let c = Candidate { existing: false, eligible: true, beds: None };
//! let problem = SitingProblem { demand: vec![1.0; 5], candidates: vec![c; 3], matrix };
//! let s = solve(&problem, &Objective::SetCovering { threshold_min: 30.0 }, &SolveOptions::default(), None).unwrap();
//! assert_eq!(s.objective, 2.0);
//! let mut chosen = s.chosen.clone();
//! chosen.sort();
//! assert_eq!(chosen, vec![0, 1]);
//! assert_eq!(s.uncoverable, vec![4]);
//! assert_eq!(s.covered_after, 4.0);
//! ```

use crate::siting::max_covering::MaxCovering;
use crate::siting::milp::{MilpBackend, MilpColumn, MilpModel, MilpRow, MilpSense, MilpStatus};
use crate::siting::{
    Ctx, PROVEN_GAP, SitingError, SitingModel, SitingProblem, Solution, SolveOptions, SolveStatus,
    curve, rel_gap, run_milp, search,
};
use std::time::{Duration, Instant};

/// Must-cover villages (covered by some choosable site, not by an existing
/// one) and, per choosable site, the must-cover villages it covers (indices
/// into the first list).
fn must_cover(mc: &MaxCovering<'_>, ctx: &Ctx) -> (usize, Vec<Vec<u32>>) {
    let mut cnt = vec![0u32; mc.demand.len()];
    for (j, list) in mc.cover.iter().enumerate() {
        if ctx.base[j] {
            for &i in list {
                cnt[i as usize] += 1;
            }
        }
    }
    let mut idx: Vec<Option<u32>> = vec![None; mc.demand.len()];
    let mut n = 0u32;
    let lists = ctx
        .avail
        .iter()
        .map(|&a| {
            mc.cover[a]
                .iter()
                .filter(|&&i| cnt[i as usize] == 0)
                .map(|&i| {
                    *idx[i as usize].get_or_insert_with(|| {
                        n += 1;
                        n - 1
                    })
                })
                .collect()
        })
        .collect();
    (n as usize, lists)
}

/// Greedy cover then redundancy removal; positions into `lists`.
fn greedy(n: usize, lists: &[Vec<u32>]) -> Vec<usize> {
    let mut covered = vec![0u32; n];
    let mut left = n;
    let mut chosen = Vec::new();
    while left > 0 {
        let best = (0..lists.len())
            .map(|q| {
                (
                    q,
                    lists[q]
                        .iter()
                        .filter(|&&k| covered[k as usize] == 0)
                        .count(),
                )
            })
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((q, gain)) = best else { break };
        if gain == 0 {
            break;
        }
        for &k in &lists[q] {
            if covered[k as usize] == 0 {
                left -= 1;
            }
            covered[k as usize] += 1;
        }
        chosen.push(q);
    }
    for slot in (0..chosen.len()).rev() {
        let q = chosen[slot];
        if lists[q].iter().all(|&k| covered[k as usize] >= 2) {
            for &k in &lists[q] {
                covered[k as usize] -= 1;
            }
            chosen.remove(slot);
        }
    }
    chosen
}

/// Lagrangian lower bound (covering rows relaxed), rounded up.
fn lower_bound(n: usize, lists: &[Vec<u32>], upper: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let mut lam = vec![0.0f64; n];
    let mut best = 0.0f64;
    let mut alpha = 2.0;
    let mut stall = 0;
    let mut count = vec![0u32; n];
    for _ in 0..600 {
        let mut l: f64 = lam.iter().sum();
        let mut xs = Vec::new();
        for (q, list) in lists.iter().enumerate() {
            let r = 1.0 - list.iter().map(|&k| lam[k as usize]).sum::<f64>();
            if r < 0.0 {
                l += r;
                xs.push(q);
            }
        }
        if l > best + 1e-12 {
            best = l;
            stall = 0;
        } else {
            stall += 1;
            if stall >= 20 {
                alpha /= 2.0;
                stall = 0;
            }
        }
        if (best - 1e-6).ceil() >= upper as f64 || alpha < 2e-3 {
            break;
        }
        for &q in &xs {
            for &k in &lists[q] {
                count[k as usize] += 1;
            }
        }
        let g: Vec<f64> = (0..n).map(|k| 1.0 - f64::from(count[k])).collect();
        count.fill(0);
        let norm: f64 = (0..n)
            .filter(|&k| !(lam[k] <= 0.0 && g[k] < 0.0))
            .map(|k| g[k] * g[k])
            .sum();
        if norm == 0.0 {
            break;
        }
        let t = alpha * (upper as f64 - l).max(1e-9) / norm;
        for k in 0..n {
            lam[k] = (lam[k] + t * g[k]).max(0.0);
        }
    }
    ((best - 1e-6).ceil().max(1.0) as usize).min(upper)
}

fn covers_all(n: usize, lists: &[Vec<u32>], set: &[usize]) -> bool {
    let mut c = vec![false; n];
    for &q in set {
        for &k in &lists[q] {
            c[k as usize] = true;
        }
    }
    c.iter().all(|&x| x)
}

/// The set-covering MILP over `lists`, warm started with `warm` (positions).
fn milp_of(n: usize, lists: &[Vec<u32>], warm: &[usize]) -> MilpModel {
    let nx = lists.len();
    let mut rows: Vec<MilpRow> = (0..n)
        .map(|_| MilpRow {
            lower: 1.0,
            upper: f64::INFINITY,
            entries: Vec::new(),
        })
        .collect();
    for (q, list) in lists.iter().enumerate() {
        for &k in list {
            rows[k as usize].entries.push((q, 1.0));
        }
    }
    let mut init = vec![0.0; nx];
    for &q in warm {
        init[q] = 1.0;
    }
    MilpModel {
        sense: MilpSense::Minimise,
        columns: vec![MilpColumn::binary(1.0); nx],
        rows,
        initial: Some(init),
        ..MilpModel::default()
    }
}

/// The MILP of a problem (no warm start).
pub(crate) fn model(problem: &SitingProblem, ctx: &Ctx, threshold: f32) -> MilpModel {
    let mc = MaxCovering::new(problem, threshold);
    let (n, lists) = must_cover(&mc, ctx);
    let mut m = milp_of(n, &lists, &[]);
    m.initial = None;
    m
}

pub(crate) fn solve(
    problem: &SitingProblem,
    ctx: &Ctx,
    threshold: f32,
    options: &SolveOptions,
    backend: Option<&dyn MilpBackend>,
) -> Result<Solution, SitingError> {
    let start = Instant::now();
    let mc = MaxCovering::new(problem, threshold);
    let (n, lists) = must_cover(&mc, ctx);
    let mut best = greedy(n, &lists);
    let mut method = "greedy".to_string();
    let lb = lower_bound(n, &lists, best.len());
    let mut bound = lb as f64;
    let mut status = SolveStatus::HeuristicOnly;
    if lb < best.len() && ctx.avail.len() <= options.exact_max_vars {
        let remaining = options.time_limit.saturating_sub(start.elapsed());
        if let Some(backend) = backend {
            let nx = ctx.avail.len();
            let mut model = milp_of(n, &lists, &best);
            model.time_limit = remaining.max(Duration::from_millis(100));
            model.rel_gap = options.gap_tolerance;
            let res = run_milp(backend, &model)?;
            method = format!("{method}+{}", backend.name());
            if let Some(values) = &res.values {
                let set: Vec<usize> = (0..nx).filter(|&q| values[q] > 0.5).collect();
                if set.len() < best.len() && covers_all(n, &lists, &set) {
                    best = set;
                }
            }
            if let Some(b) = res.bound
                && b.is_finite()
            {
                bound = bound.max((b - 1e-6).ceil());
            }
            status = match res.status {
                MilpStatus::Optimal | MilpStatus::Infeasible | MilpStatus::Target => {
                    SolveStatus::GapLimit
                }
                MilpStatus::TimeLimit | MilpStatus::Stopped => SolveStatus::TimeLimit,
            };
        } else if ctx.avail.len() <= search::MAX_BRANCH_CANDIDATES {
            method.push_str("+branch-and-bound");
            let deadline = start.checked_add(options.time_limit);
            let value = |open: &[bool]| -> f64 {
                let mut c = vec![false; n];
                for (q, &a) in ctx.avail.iter().enumerate() {
                    if open[a] {
                        for &k in &lists[q] {
                            c[k as usize] = true;
                        }
                    }
                }
                c.iter().filter(|&&x| x).count() as f64
            };
            status = SolveStatus::GapLimit;
            for k in lb..best.len() {
                let left = deadline.map_or(Duration::MAX, |d| {
                    d.saturating_duration_since(Instant::now())
                });
                let (set, v, proven) =
                    search::branch_and_bound(true, &value, ctx, k, (0.0, &[]), left);
                if v >= n as f64 - 0.5 {
                    best = set
                        .iter()
                        .filter_map(|a| ctx.avail.binary_search(a).ok())
                        .collect();
                    break;
                }
                if !proven {
                    status = SolveStatus::TimeLimit;
                    bound = k as f64;
                    break;
                }
                bound = (k + 1) as f64;
            }
            if status != SolveStatus::TimeLimit {
                bound = best.len() as f64;
            }
        }
    }
    let objective = best.len() as f64;
    let bound = bound.min(objective);
    let gap = rel_gap(objective, bound);
    if gap <= PROVEN_GAP {
        status = SolveStatus::Optimal;
    } else if gap <= options.gap_tolerance && status != SolveStatus::TimeLimit {
        status = SolveStatus::GapLimit;
    }
    let chosen: Vec<usize> = best.iter().map(|&q| ctx.avail[q]).collect();
    Ok(finish(&mc, ctx, problem, chosen, bound, status, method))
}

/// The report of a set of new sites (objective: their number).
pub(crate) fn finish(
    mc: &MaxCovering<'_>,
    ctx: &Ctx,
    problem: &SitingProblem,
    chosen: Vec<usize>,
    bound: f64,
    status: SolveStatus,
    method: String,
) -> Solution {
    let (chosen, curve) = curve(ctx, chosen, true, |open| mc.value(open));
    let mask = ctx.open_mask(&chosen);
    let mut open: Vec<usize> = (0..ctx.base.len()).filter(|&j| ctx.base[j]).collect();
    open.extend(&chosen);
    let (assignment, flows) = mc.assignment(&mask);
    let objective = chosen.len() as f64;
    Solution {
        objective,
        bound,
        gap: rel_gap(objective, bound),
        status,
        method,
        covered_before: mc.value(&ctx.base),
        covered_after: mc.value(&mask),
        total_demand: problem.demand.iter().sum(),
        weighted_minutes: assignment
            .iter()
            .flatten()
            .map(|&(_, m, d)| f64::from(m) * d)
            .sum(),
        penalty_min: None,
        assignment,
        flows,
        curve,
        uncoverable: mc.uncoverable(ctx),
        chosen,
        open,
    }
}
