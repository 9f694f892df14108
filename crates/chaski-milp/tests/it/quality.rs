//! Heuristics alone within 2 % of the HiGHS proven optimum on 200 candidates
//! × 2,000 villages (points in a 100 km square, walking at 4 km/h).

use crate::instances::square;
use chaski_analysis::siting::milp::{MilpBackend, MilpStatus};
use chaski_analysis::siting::{Objective, SolveOptions, milp_model, solve};
use chaski_milp::Highs;
use std::time::{Duration, Instant};

fn check(objective: Objective, problem: &chaski_analysis::siting::SitingProblem) -> f64 {
    let heur_opts = SolveOptions {
        exact_max_vars: 0,
        gap_tolerance: 0.0,
        ..SolveOptions::default()
    };
    let t0 = Instant::now();
    let h = solve(problem, &objective, &heur_opts, None).expect("heuristic");
    let th = t0.elapsed();
    // HiGHS alone on the model, without the heuristic's warm start or bound.
    let mut model = milp_model(problem, &objective).expect("model");
    model.rel_gap = 1e-6;
    model.time_limit = Duration::from_secs(60);
    let t1 = Instant::now();
    let r = Highs.solve(&model).expect("highs");
    let te = t1.elapsed();
    assert_eq!(r.status, MilpStatus::Optimal, "{objective:?}");
    let optimum = r.objective.expect("a solution");
    let gap = (h.objective - optimum).abs() / optimum.abs().max(1e-12);
    eprintln!(
        "{objective:?}: heuristic {:.1} in {th:.2?} ({}, own bound gap {:.4}%); HiGHS optimum {optimum:.1} in {te:.2?}: heuristic within {:.4}%",
        h.objective,
        h.method,
        100.0 * h.gap,
        100.0 * gap
    );
    let e_objective = optimum;
    // The heuristic's own bound is valid against the proven optimum.
    match objective {
        Objective::PMedian { .. } => assert!(
            h.bound <= e_objective * (1.0 + 1e-6) && h.objective >= e_objective * (1.0 - 1e-6)
        ),
        _ => assert!(
            h.bound >= e_objective * (1.0 - 1e-6) && h.objective <= e_objective * (1.0 + 1e-6)
        ),
    }
    gap
}

#[test]
fn heuristics_within_two_percent_of_highs() {
    let problem = square(2024, 2_000, 200, 100.0, 240.0);
    eprintln!("200 x 2000: {} matrix entries", problem.matrix.entries());
    for p in [5, 10, 20] {
        let g = check(
            Objective::MaxCovering {
                p,
                threshold_min: 120.0,
            },
            &problem,
        );
        assert!(g <= 0.02, "max covering p = {p}: {:.3}%", 100.0 * g);
    }
    for p in [5, 10, 20] {
        let g = check(Objective::PMedian { p }, &problem);
        assert!(g <= 0.02, "p-median p = {p}: {:.3}%", 100.0 * g);
    }
}
