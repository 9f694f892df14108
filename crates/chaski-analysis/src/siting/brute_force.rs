//! Exhaustive enumeration of every set of new sites: the reference the
//! solvers are tested against, and a solver for tiny instances.
//!
//! Each subset is evaluated from the matrix directly (`TravelMatrix::minutes`
//! per village and open site), not with the solvers' incremental structures;
//! the capacitated model's covered demand is a maximum flow.
//!
//! # Parameters
//! The problem and objective of [`solve`](super::solve).
//!
//! # Returns
//! An optimal [`Solution`](super::Solution) (status `Optimal`, method
//! `"brute-force"`); [`SitingError::TooLarge`] beyond [`LIMIT`] subsets.
//!
//! # Examples
//! ```
//! use chaski_analysis::siting::{brute_force, Candidate, Objective, SitingProblem, TravelMatrix};
//! let matrix = TravelMatrix::from_entries(2, 2, [(0, 0, 10.0), (1, 1, 10.0)]).unwrap();
//! let c = Candidate { existing: false, eligible: true, beds: None };
//! let problem = SitingProblem { demand: vec![1.0, 2.0], candidates: vec![c; 2], matrix };
//! let s = brute_force(&problem, &Objective::MaxCovering { p: 1, threshold_min: 30.0 }).unwrap();
//! assert_eq!((s.chosen.clone(), s.objective), (vec![1], 2.0));
//! ```

use crate::siting::capacitated::Capacitated;
use crate::siting::max_covering::MaxCovering;
use crate::siting::p_median::PMedian;
use crate::siting::{
    Ctx, Objective, SitingError, SitingModel, SitingProblem, Solution, SolveStatus, finish,
    set_covering, validate,
};

/// Most subsets [`brute_force`] enumerates.
pub const LIMIT: u64 = 5_000_000;

fn binomial(n: usize, k: usize) -> u64 {
    let k = k.min(n - k.min(n));
    let mut r: u64 = 1;
    for i in 0..k {
        r = r.saturating_mul((n - i) as u64) / (i as u64 + 1);
    }
    r
}

/// Calls `f` with every `k`-subset of `items`; stops when `f` returns true.
fn for_each_subset(items: &[usize], k: usize, f: &mut dyn FnMut(&[usize]) -> bool) {
    let n = items.len();
    if k > n {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    let mut set: Vec<usize> = idx.iter().map(|&i| items[i]).collect();
    loop {
        if f(&set) {
            return;
        }
        let mut i = k;
        while i > 0 && idx[i - 1] == n - k + i - 1 {
            i -= 1;
        }
        if i == 0 {
            return;
        }
        i -= 1;
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
        for j in i..k {
            set[j] = items[idx[j]];
        }
    }
}

fn open_of(ctx: &Ctx, set: &[usize]) -> Vec<usize> {
    let mut open: Vec<usize> = (0..ctx.base.len()).filter(|&j| ctx.base[j]).collect();
    open.extend_from_slice(set);
    open
}

/// Demand within `t` of `open`, from `minutes` lookups.
fn covered(problem: &SitingProblem, open: &[usize], t: f32) -> f64 {
    (0..problem.demand.len())
        .filter(|&i| {
            open.iter()
                .any(|&j| problem.matrix.minutes(i, j).is_some_and(|m| m <= t))
        })
        .map(|i| problem.demand[i])
        .sum()
}

/// Demand-weighted minutes to the nearest of `open`, penalty beyond the matrix.
fn weighted(problem: &SitingProblem, open: &[usize]) -> f64 {
    let penalty = problem.matrix.max_minutes();
    (0..problem.demand.len())
        .map(|i| {
            let m = open
                .iter()
                .filter_map(|&j| problem.matrix.minutes(i, j))
                .fold(penalty, f32::min);
            problem.demand[i] * f64::from(m)
        })
        .sum()
}

/// Solves `objective` by enumerating every subset of the eligible new sites.
pub fn brute_force(
    problem: &SitingProblem,
    objective: &Objective,
) -> Result<Solution, SitingError> {
    validate(problem, objective)?;
    let ctx = Ctx::new(problem);
    let n = ctx.avail.len();
    let check = |k: usize| {
        let subsets = binomial(n, k);
        if subsets > LIMIT {
            Err(SitingError::TooLarge {
                subsets,
                limit: LIMIT,
            })
        } else {
            Ok(())
        }
    };
    let best_of = |p: usize,
                   max: bool,
                   eval: &dyn Fn(&[usize]) -> f64|
     -> Result<(Vec<usize>, f64), SitingError> {
        check(p)?;
        let mut best: Option<(Vec<usize>, f64)> = None;
        for_each_subset(&ctx.avail, p, &mut |set| {
            let v = eval(set);
            if best
                .as_ref()
                .is_none_or(|(_, b)| if max { v > *b } else { v < *b })
            {
                best = Some((set.to_vec(), v));
            }
            false
        });
        Ok(best.unwrap_or((Vec::new(), eval(&[]))))
    };
    let done = |model: &dyn SitingModel, set: Vec<usize>, v: f64, penalty| {
        finish(
            model,
            &ctx,
            problem,
            set,
            v,
            SolveStatus::Optimal,
            "brute-force".into(),
            penalty,
        )
    };
    match *objective {
        Objective::MaxCovering { p, threshold_min } => {
            let (set, v) = best_of(p, true, &|s| {
                covered(problem, &open_of(&ctx, s), threshold_min)
            })?;
            Ok(done(
                &MaxCovering::new(problem, threshold_min),
                set,
                v,
                None,
            ))
        }
        Objective::PMedian { p } => {
            let (set, v) = best_of(p, false, &|s| weighted(problem, &open_of(&ctx, s)))?;
            Ok(done(
                &PMedian::new(problem),
                set,
                v,
                Some(problem.matrix.max_minutes()),
            ))
        }
        Objective::CapacitatedCovering {
            p,
            threshold_min,
            stay_days,
        } => {
            let model = Capacitated::new(problem, threshold_min, stay_days);
            let (set, v) = best_of(p, true, &|s| model.value(&ctx.open_mask(s)))?;
            Ok(done(&model, set, v, None))
        }
        Objective::SetCovering { threshold_min } => {
            let mut all = open_of(&ctx, &[]);
            all.extend(&ctx.avail);
            let target = covered(problem, &all, threshold_min);
            for k in 0..=n {
                check(k)?;
                let mut found = None;
                for_each_subset(&ctx.avail, k, &mut |set| {
                    if covered(problem, &open_of(&ctx, set), threshold_min) >= target {
                        found = Some(set.to_vec());
                        true
                    } else {
                        false
                    }
                });
                if let Some(set) = found {
                    let mc = MaxCovering::new(problem, threshold_min);
                    return Ok(set_covering::finish(
                        &mc,
                        &ctx,
                        problem,
                        set,
                        k as f64,
                        SolveStatus::Optimal,
                        "brute-force".into(),
                    ));
                }
            }
            Ok(set_covering::finish(
                &MaxCovering::new(problem, threshold_min),
                &ctx,
                problem,
                Vec::new(),
                0.0,
                SolveStatus::Optimal,
                "brute-force".into(),
            ))
        }
    }
}
