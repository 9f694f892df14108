//! Facility siting for maternity waiting homes (*casas maternas*): where to
//! open `p` new homes so that the most births are within reach, the travel is
//! shortest, every reachable village is covered, or the most births fit in the
//! homes' beds.
//!
//! Four models, one module each, all solved by [`solve`]:
//!
//! | [`Objective`] | module | question |
//! |---|---|---|
//! | [`Objective::MaxCovering`] | [`max_covering`] | Church & ReVelle (1974): most demand within T minutes with `p` new homes |
//! | [`Objective::PMedian`] | [`p_median`] | Hakimi (1964), ReVelle & Swain (1970): least demand-weighted minutes with `p` new homes |
//! | [`Objective::SetCovering`] | [`set_covering`] | Toregas et al. (1971): fewest new homes so that all coverable demand is within T |
//! | [`Objective::CapacitatedCovering`] | [`capacitated`] | most births within T1 that the homes' beds can take, homes only within T2 of complete obstetric care |
//!
//! Existing sites (`Candidate::existing`) are always open; only candidates that
//! are `eligible` and not existing may be chosen. Every solve runs a greedy
//! construction and a vertex-substitution interchange (Teitz & Bart 1968;
//! Whitaker's fast interchange), then a bound (Lagrangian relaxation with
//! subgradient optimisation, Daskin, *Network and Discrete Location*, ch. 4–5)
//! so that the objective, the bound and the gap are always reported. When the
//! model has at most [`SolveOptions::exact_max_vars`] MILP variables, a
//! [`milp::MilpBackend`] (HiGHS in `chaski-milp`) solves it exactly, warm
//! started with the heuristic's solution; without a backend, instances with at
//! most 40 eligible new candidates are closed by a pure-Rust branch and bound
//! ([`search`]). [`brute_force`] enumerates every subset, for tests and tiny
//! instances.
//!
//! ```
//! use chaski_analysis::siting::{solve, Candidate, Objective, SitingProblem, SolveOptions, SolveStatus, TravelMatrix};
//! // Three villages on a line, a site at each; 30 minutes between neighbours.
//! let matrix = TravelMatrix::from_entries(3, 3, [
//!     (0, 0, 0.0), (1, 0, 30.0), (2, 0, 60.0),
//!     (0, 1, 30.0), (1, 1, 0.0), (2, 1, 30.0),
//!     (0, 2, 60.0), (1, 2, 30.0), (2, 2, 0.0),
//! ]).unwrap();
//! let open = Candidate { existing: false, eligible: true, beds: None };
//! let problem = SitingProblem { demand: vec![10.0, 5.0, 20.0], candidates: vec![open; 3], matrix };
//! let s = solve(&problem, &Objective::MaxCovering { p: 1, threshold_min: 30.0 }, &SolveOptions::default(), None).unwrap();
//! assert_eq!(s.chosen, vec![1]); // the middle site reaches all three villages within 30 min
//! assert_eq!(s.objective, 35.0);
//! assert_eq!(s.status, SolveStatus::Optimal);
//! ```

pub mod brute_force;
pub mod capacitated;
mod error;
pub(crate) mod flow;
pub mod generated;
pub mod households;
pub(crate) mod lagrangian;
mod matrix;
pub mod max_covering;
pub mod milp;
pub mod p_median;
pub mod plan;
pub mod search;
pub mod set_covering;

#[cfg(test)]
mod tests;

pub use brute_force::brute_force;
pub use error::SitingError;
pub use matrix::TravelMatrix;

use milp::{MilpBackend, MilpModel, MilpStatus};
use std::time::{Duration, Instant};

/// A candidate site for a maternity waiting home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Already open: always part of the solution, never counted in `p`.
    pub existing: bool,
    /// May be chosen (e.g. within T2 of complete obstetric care); an
    /// ineligible candidate is never chosen (an existing one stays open).
    pub eligible: bool,
    /// Beds of the home (capacitated model only); `None` is uncapacitated.
    pub beds: Option<u32>,
}

/// Villages, their demand, the candidate sites and the minutes between them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SitingProblem {
    /// Demand per village (e.g. expected births per year), each `>= 0`.
    pub demand: Vec<f64>,
    /// The candidate sites, as many as the matrix's candidates.
    pub candidates: Vec<Candidate>,
    /// Minutes from villages to candidates.
    pub matrix: TravelMatrix,
}

/// What to optimise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Most demand within `threshold_min` minutes of an open site with `p` new sites.
    MaxCovering {
        /// New sites to open.
        p: usize,
        /// Coverage threshold T, minutes.
        threshold_min: f32,
    },
    /// Least demand-weighted minutes to the nearest open site with `p` new sites.
    PMedian {
        /// New sites to open.
        p: usize,
    },
    /// Fewest new sites so that all coverable demand is within `threshold_min`.
    SetCovering {
        /// Coverage threshold T, minutes.
        threshold_min: f32,
    },
    /// Most births within `threshold_min` (T1) of an open home that its beds
    /// can take: a home of `b` beds takes `b · 365 / stay_days` births a year.
    CapacitatedCovering {
        /// New homes to open.
        p: usize,
        /// Threshold T1, minutes from village to home.
        threshold_min: f32,
        /// Mean stay of a mother in the home, days.
        stay_days: f64,
    },
}

/// Limits of a solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolveOptions {
    /// Wall-clock limit of the exact phase (the heuristic and bound always run).
    pub time_limit: Duration,
    /// Relative gap at which the exact phase may stop, e.g. `1e-4`.
    pub gap_tolerance: f64,
    /// Above this many MILP variables, heuristics and bound only.
    pub exact_max_vars: usize,
    /// Seed of the interchange's scan order (results are deterministic given it).
    pub seed: u64,
}

impl Default for SolveOptions {
    fn default() -> Self {
        Self {
            time_limit: Duration::from_secs(60),
            gap_tolerance: 1e-4,
            exact_max_vars: 200_000,
            seed: 0,
        }
    }
}

/// How far the solution is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolveStatus {
    /// Proven optimal (the bound meets the objective).
    Optimal,
    /// Within `gap_tolerance` of the bound.
    GapLimit,
    /// The exact phase stopped at the time limit (objective, bound and gap as far as it got).
    TimeLimit,
    /// No exact phase (too many variables or no solver): heuristic with its bound.
    HeuristicOnly,
}

/// One point of the coverage curve: the objective with the first `k` homes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Number of new homes, 1-based.
    pub k: usize,
    /// The k-th home (candidate index).
    pub site: usize,
    /// Objective with existing sites and the first `k` homes (for set
    /// covering: the covered demand).
    pub objective: f64,
    /// What the k-th home adds (for the p-median: minutes saved, positive).
    pub gain: f64,
}

/// The result of a solve.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// New sites chosen, in the order of the coverage curve.
    pub chosen: Vec<usize>,
    /// Existing sites (ascending) then the chosen ones.
    pub open: Vec<usize>,
    /// Objective: covered demand (max covering, capacitated), demand-weighted
    /// minutes (p-median, unreached villages charged [`Solution::penalty_min`])
    /// or the number of new sites (set covering).
    pub objective: f64,
    /// Proven bound: upper when maximising, lower when minimising.
    pub bound: f64,
    /// `|bound - objective| / max(|objective|, |bound|)`, 0 when both are 0.
    pub gap: f64,
    /// How far the solution is proven.
    pub status: SolveStatus,
    /// How it was found (`"greedy+interchange"`, `"greedy+interchange+highs"`, ...).
    pub method: String,
    /// Demand within the threshold of the existing sites (capacity-limited for
    /// the capacitated model; within the matrix for the p-median).
    pub covered_before: f64,
    /// Demand within the threshold of the open sites (same rules).
    pub covered_after: f64,
    /// Total demand.
    pub total_demand: f64,
    /// Demand-weighted minutes of the assigned demand (Σ served × minutes).
    pub weighted_minutes: f64,
    /// p-median only: the minutes charged to a village that no open site
    /// reaches within the matrix (the matrix's largest minutes).
    pub penalty_min: Option<f32>,
    /// Per village: `(candidate, minutes, demand served)` of the open site
    /// serving it (nearest within the threshold; for the capacitated model
    /// the home serving the largest share, and the demand served by all
    /// homes), `None` when not served.
    pub assignment: Vec<Option<(usize, f32, f64)>>,
    /// Capacitated model only: every `(village, home, demand)` flow of the
    /// split assignment.
    pub flows: Vec<(usize, usize, f64)>,
    /// Coverage curve, k = 1..=chosen.len(), greedy order of the chosen set.
    pub curve: Vec<CurvePoint>,
    /// Villages with demand > 0 that no existing or eligible candidate reaches
    /// within the threshold (within the matrix for the p-median).
    pub uncoverable: Vec<usize>,
}

/// The sites of an instance: who is fixed open and who may be chosen.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// Existing sites, fixed open.
    pub base: Vec<bool>,
    /// Eligible, not existing: the sites that may be chosen, ascending.
    pub avail: Vec<usize>,
}

impl Ctx {
    pub(crate) fn new(problem: &SitingProblem) -> Self {
        let base = problem.candidates.iter().map(|c| c.existing).collect();
        let avail = (0..problem.candidates.len())
            .filter(|&j| problem.candidates[j].eligible && !problem.candidates[j].existing)
            .collect();
        Self { base, avail }
    }
    /// Existing sites plus `chosen` as an open mask.
    pub(crate) fn open_mask(&self, chosen: &[usize]) -> Vec<bool> {
        let mut open = self.base.clone();
        for &c in chosen {
            open[c] = true;
        }
        open
    }
}

/// Per-village `(candidate, minutes, demand served)` and `(village, home, demand)` flows.
pub(crate) type Assignment = (Vec<Option<(usize, f32, f64)>>, Vec<(usize, usize, f64)>);

/// What [`solve`] needs of a model with a fixed number of new sites.
pub(crate) trait SitingModel {
    /// Maximise (covering) or minimise (p-median).
    fn maximise(&self) -> bool;
    /// Objective of an open mask.
    fn value(&self, open: &[bool]) -> f64;
    /// Demand "covered" by an open mask (see [`Solution::covered_after`]).
    fn covered(&self, open: &[bool]) -> f64;
    /// Per-village assignment and flows of an open mask.
    fn assignment(&self, open: &[bool]) -> Assignment;
    /// Villages with demand that no openable site serves.
    fn uncoverable(&self, ctx: &Ctx) -> Vec<usize>;
    /// Greedy + interchange: `p` sites of `ctx.avail`.
    fn heuristic(&self, ctx: &Ctx, p: usize, seed: u64) -> Vec<usize>;
    /// A valid bound on the optimum, and possibly a better solution found on
    /// the way (Lagrangian heuristic).
    fn bound(&self, ctx: &Ctx, p: usize, incumbent: (f64, &[usize])) -> (f64, Option<Vec<usize>>);
    /// Number of MILP variables.
    fn milp_vars(&self, ctx: &Ctx) -> usize;
    /// The MILP; its first `ctx.avail.len()` columns are the sites of `ctx.avail`.
    fn milp(&self, ctx: &Ctx, p: usize, warm: &[usize]) -> MilpModel;
    /// Short name for `method`.
    fn heuristic_name(&self) -> &'static str {
        "greedy+interchange"
    }
}

/// Relative gap `|bound - objective| / max(|objective|, |bound|)`.
pub(crate) fn rel_gap(objective: f64, bound: f64) -> f64 {
    let den = objective.abs().max(bound.abs());
    if den == 0.0 {
        0.0
    } else if !den.is_finite() {
        1.0
    } else {
        (bound - objective).abs() / den
    }
}

/// The objective at which a solution is within `tolerance` of `bound` by
/// [`rel_gap`] (our bound, which the MILP solver does not know): at least
/// `bound × (1 − tolerance)` when maximising, at most `bound / (1 − tolerance)`
/// when minimising. `None` when the bound cannot give one (not positive and
/// finite, or no tolerance).
///
/// ```
/// # use chaski_analysis::siting::gap_target;
/// let t = gap_target(true, 1000.0, 0.01).unwrap();
/// assert!((t - 990.0).abs() < 1e-9);
/// let t = gap_target(false, 990.0, 0.01).unwrap();
/// assert!((t - 1000.0).abs() < 1e-9);
/// assert_eq!(gap_target(true, 0.0, 0.01), None);
/// ```
pub fn gap_target(maximise: bool, bound: f64, tolerance: f64) -> Option<f64> {
    if !(bound.is_finite() && bound > 0.0 && tolerance > 0.0 && tolerance < 1.0) {
        return None;
    }
    Some(if maximise {
        bound * (1.0 - tolerance)
    } else {
        bound / (1.0 - tolerance)
    })
}

/// Gap at which a bound is taken to meet the objective (float noise).
pub(crate) const PROVEN_GAP: f64 = 1e-9;

/// Solves `objective` on `problem`: heuristic and bound always, then the
/// MILP through `milp` (or the built-in branch and bound for small instances)
/// when the model has at most `options.exact_max_vars` variables.
///
/// Errors name the village, candidate or value at fault (see [`SitingError`]);
/// no input panics. `p` larger than the eligible new candidates is
/// [`SitingError::TooManySites`]; an empty problem gives an empty solution.
pub fn solve(
    problem: &SitingProblem,
    objective: &Objective,
    options: &SolveOptions,
    milp: Option<&dyn MilpBackend>,
) -> Result<Solution, SitingError> {
    validate(problem, objective)?;
    validate_options(options)?;
    let ctx = Ctx::new(problem);
    match *objective {
        Objective::MaxCovering { p, threshold_min } => {
            let m = max_covering::MaxCovering::new(problem, threshold_min);
            solve_p(&m, &ctx, p, options, milp, problem, None)
        }
        Objective::PMedian { p } => {
            let m = p_median::PMedian::new(problem);
            let penalty = m.penalty();
            solve_p(&m, &ctx, p, options, milp, problem, Some(penalty))
        }
        Objective::CapacitatedCovering {
            p,
            threshold_min,
            stay_days,
        } => {
            let m = capacitated::Capacitated::new(problem, threshold_min, stay_days);
            solve_p(&m, &ctx, p, options, milp, problem, None)
        }
        Objective::SetCovering { threshold_min } => {
            set_covering::solve(problem, &ctx, threshold_min, options, milp)
        }
    }
}

/// The MILP of `objective` on `problem`, as [`solve`] hands it to a backend
/// but without warm start: its first columns are the binary site variables
/// of the eligible, not existing candidates in ascending order. For
/// exporting a model or solving it with a backend directly (the objective
/// includes the constant `offset`, so it equals [`Solution::objective`]).
pub fn milp_model(
    problem: &SitingProblem,
    objective: &Objective,
) -> Result<MilpModel, SitingError> {
    validate(problem, objective)?;
    let ctx = Ctx::new(problem);
    let mut m = match *objective {
        Objective::MaxCovering { p, threshold_min } => {
            max_covering::MaxCovering::new(problem, threshold_min).milp(&ctx, p, &[])
        }
        Objective::PMedian { p } => p_median::PMedian::new(problem).milp(&ctx, p, &[]),
        Objective::CapacitatedCovering {
            p,
            threshold_min,
            stay_days,
        } => capacitated::Capacitated::new(problem, threshold_min, stay_days).milp(&ctx, p, &[]),
        Objective::SetCovering { threshold_min } => {
            set_covering::model(problem, &ctx, threshold_min)
        }
    };
    m.initial = None;
    Ok(m)
}

pub(crate) fn validate(problem: &SitingProblem, objective: &Objective) -> Result<(), SitingError> {
    let villages = problem.matrix.villages();
    if problem.demand.len() != villages {
        return Err(SitingError::DemandLength {
            demand: problem.demand.len(),
            matrix: villages,
        });
    }
    if problem.candidates.len() != problem.matrix.candidates() {
        return Err(SitingError::CandidateCount {
            candidates: problem.candidates.len(),
            matrix: problem.matrix.candidates(),
        });
    }
    if let Some((village, &demand)) = problem
        .demand
        .iter()
        .enumerate()
        .find(|(_, d)| !d.is_finite() || **d < 0.0)
    {
        return Err(SitingError::InvalidDemand { village, demand });
    }
    let threshold = |t: f32| {
        if t.is_finite() && t >= 0.0 {
            Ok(())
        } else {
            Err(SitingError::InvalidParameter {
                name: "threshold_min",
                value: t.to_string(),
                reason: "must be finite minutes >= 0",
            })
        }
    };
    let p = match *objective {
        Objective::MaxCovering { p, threshold_min } => {
            threshold(threshold_min)?;
            Some(p)
        }
        Objective::PMedian { p } => Some(p),
        Objective::SetCovering { threshold_min } => {
            threshold(threshold_min)?;
            None
        }
        Objective::CapacitatedCovering {
            p,
            threshold_min,
            stay_days,
        } => {
            threshold(threshold_min)?;
            if !(stay_days.is_finite() && stay_days > 0.0) {
                return Err(SitingError::InvalidParameter {
                    name: "stay_days",
                    value: stay_days.to_string(),
                    reason: "must be finite days > 0",
                });
            }
            Some(p)
        }
    };
    if let Some(p) = p {
        let available = problem
            .candidates
            .iter()
            .filter(|c| c.eligible && !c.existing)
            .count();
        if p > available {
            return Err(SitingError::TooManySites { p, available });
        }
    }
    Ok(())
}

fn validate_options(options: &SolveOptions) -> Result<(), SitingError> {
    if !(options.gap_tolerance.is_finite() && options.gap_tolerance >= 0.0) {
        return Err(SitingError::InvalidParameter {
            name: "gap_tolerance",
            value: options.gap_tolerance.to_string(),
            reason: "must be a finite relative gap >= 0",
        });
    }
    Ok(())
}

/// Whether `a` is strictly better than `b` in the model's sense (beyond noise).
pub(crate) fn better(maximise: bool, a: f64, b: f64) -> bool {
    let tol = 1e-9 * (1.0 + a.abs().max(b.abs()));
    if maximise { a > b + tol } else { a < b - tol }
}

/// Clamps a bound to the right side of the objective.
pub(crate) fn clamp_bound(maximise: bool, objective: f64, bound: f64) -> f64 {
    if maximise {
        bound.max(objective)
    } else {
        bound.min(objective)
    }
}

/// Tighter of two bounds.
pub(crate) fn tighter(maximise: bool, a: f64, b: f64) -> f64 {
    if maximise { a.min(b) } else { a.max(b) }
}

/// Decodes the chosen sites from MILP values (first `avail.len()` columns).
pub(crate) fn decode(ctx: &Ctx, values: &[f64]) -> Vec<usize> {
    ctx.avail
        .iter()
        .zip(values)
        .filter(|&(_, &v)| v > 0.5)
        .map(|(&j, _)| j)
        .collect()
}

/// Runs a MILP backend and maps its failures to `None` results.
pub(crate) fn run_milp(
    backend: &dyn MilpBackend,
    model: &MilpModel,
) -> Result<milp::MilpResult, SitingError> {
    model.check()?;
    backend.solve(model)
}

fn solve_p(
    model: &dyn SitingModel,
    ctx: &Ctx,
    p: usize,
    options: &SolveOptions,
    backend: Option<&dyn MilpBackend>,
    problem: &SitingProblem,
    penalty: Option<f32>,
) -> Result<Solution, SitingError> {
    let start = Instant::now();
    let max = model.maximise();
    let mut chosen = model.heuristic(ctx, p, options.seed);
    let mut objective = model.value(&ctx.open_mask(&chosen));
    let mut method = model.heuristic_name().to_string();
    let (bound, improved) = model.bound(ctx, p, (objective, &chosen));
    if let Some(better_set) = improved {
        let v = model.value(&ctx.open_mask(&better_set));
        if better(max, v, objective) && better_set.len() == p {
            chosen = better_set;
            objective = v;
            method.push_str("+lagrangian");
        }
    }
    let mut bound = clamp_bound(max, objective, bound);
    let mut status = SolveStatus::HeuristicOnly;
    if rel_gap(objective, bound) > PROVEN_GAP && model.milp_vars(ctx) <= options.exact_max_vars {
        let remaining = options.time_limit.saturating_sub(start.elapsed());
        if let Some(backend) = backend {
            let mut m = model.milp(ctx, p, &chosen);
            m.time_limit = remaining.max(Duration::from_millis(100));
            m.rel_gap = options.gap_tolerance;
            m.objective_target = gap_target(max, bound, options.gap_tolerance);
            let res = run_milp(backend, &m)?;
            method = format!("{method}+{}", backend.name());
            if let Some(values) = &res.values {
                let set = decode(ctx, values);
                if set.len() == p {
                    let v = model.value(&ctx.open_mask(&set));
                    if better(max, v, objective) {
                        chosen = set;
                        objective = v;
                    }
                }
            }
            if let Some(b) = res.bound
                && b.is_finite()
            {
                bound = clamp_bound(max, objective, tighter(max, bound, b));
            }
            status = match res.status {
                MilpStatus::Optimal | MilpStatus::Infeasible | MilpStatus::Target => {
                    SolveStatus::GapLimit
                }
                MilpStatus::TimeLimit | MilpStatus::Stopped => SolveStatus::TimeLimit,
            };
        } else if ctx.avail.len() <= search::MAX_BRANCH_CANDIDATES {
            let (set, v, proven) = search::branch_and_bound(
                max,
                &|open| model.value(open),
                ctx,
                p,
                (objective, &chosen),
                remaining,
            );
            method.push_str("+branch-and-bound");
            if better(max, v, objective) {
                chosen = set;
                objective = v;
            }
            if proven {
                bound = objective;
                status = SolveStatus::GapLimit;
            } else {
                status = SolveStatus::TimeLimit;
            }
        }
    }
    let gap = rel_gap(objective, bound);
    if gap <= PROVEN_GAP {
        status = SolveStatus::Optimal;
    } else if gap <= options.gap_tolerance && status != SolveStatus::TimeLimit {
        status = SolveStatus::GapLimit;
    }
    Ok(finish(
        model, ctx, problem, chosen, bound, status, method, penalty,
    ))
}

/// Orders `chosen` greedily (curve), fills the report.
#[expect(
    clippy::too_many_arguments,
    reason = "internal driver: the parts of one solve"
)]
pub(crate) fn finish(
    model: &dyn SitingModel,
    ctx: &Ctx,
    problem: &SitingProblem,
    chosen: Vec<usize>,
    bound: f64,
    status: SolveStatus,
    method: String,
    penalty_min: Option<f32>,
) -> Solution {
    let max = model.maximise();
    let (chosen, curve) = curve(ctx, chosen, max, |open| model.value(open));
    let open_mask = ctx.open_mask(&chosen);
    let objective = model.value(&open_mask);
    let bound = clamp_bound(max, objective, bound);
    let mut open: Vec<usize> = (0..ctx.base.len()).filter(|&j| ctx.base[j]).collect();
    open.extend(&chosen);
    let (assignment, flows) = model.assignment(&open_mask);
    let weighted_minutes = flows_or_assignment_minutes(&assignment, &flows, problem);
    Solution {
        objective,
        bound,
        gap: rel_gap(objective, bound),
        status,
        method,
        covered_before: model.covered(&ctx.base),
        covered_after: model.covered(&open_mask),
        total_demand: problem.demand.iter().sum(),
        weighted_minutes,
        penalty_min,
        assignment,
        flows,
        curve,
        uncoverable: model.uncoverable(ctx),
        chosen,
        open,
    }
}

fn flows_or_assignment_minutes(
    assignment: &[Option<(usize, f32, f64)>],
    flows: &[(usize, usize, f64)],
    problem: &SitingProblem,
) -> f64 {
    if flows.is_empty() {
        assignment
            .iter()
            .flatten()
            .map(|&(_, m, d)| f64::from(m) * d)
            .sum()
    } else {
        flows
            .iter()
            .map(|&(i, c, d)| f64::from(problem.matrix.minutes(i, c).unwrap_or(0.0)) * d)
            .sum()
    }
}

/// Greedy order of `chosen` from the existing sites, and the curve of `score`
/// (maximised when `max`).
pub(crate) fn curve(
    ctx: &Ctx,
    chosen: Vec<usize>,
    max: bool,
    score: impl Fn(&[bool]) -> f64,
) -> (Vec<usize>, Vec<CurvePoint>) {
    let mut open = ctx.base.clone();
    let mut prev = score(&open);
    let mut rest = chosen;
    rest.sort_unstable();
    let mut order = Vec::with_capacity(rest.len());
    let mut curve = Vec::with_capacity(rest.len());
    while !rest.is_empty() {
        let mut best: Option<(usize, f64)> = None;
        for (k, &c) in rest.iter().enumerate() {
            open[c] = true;
            let v = score(&open);
            open[c] = false;
            if best.is_none_or(|(_, b)| better(max, v, b)) {
                best = Some((k, v));
            }
        }
        let Some((k, v)) = best else { break };
        let c = rest.remove(k);
        open[c] = true;
        order.push(c);
        curve.push(CurvePoint {
            k: order.len(),
            site: c,
            objective: v,
            gain: if max { v - prev } else { prev - v },
        });
        prev = v;
    }
    (order, curve)
}
