//! The HiGHS path equals brute force on random small instances.

use crate::instances::{objective_for, small};
use chaski_analysis::siting::{Objective, SolveOptions, SolveStatus, brute_force, solve};
use chaski_milp::Highs;
use proptest::prelude::*;

fn options() -> SolveOptions {
    SolveOptions {
        gap_tolerance: 0.0,
        ..SolveOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]
    #[test]
    fn highs_matches_brute_force(seed: u64, v in 1usize..=30, c in 1usize..=10, kind in 0u8..4, p in 0usize..=5, t in 5.0f32..80.0) {
        let problem = small(seed, v, c);
        let avail = problem.candidates.iter().filter(|c| c.eligible && !c.existing).count();
        let objective = objective_for(kind, p.min(avail), t.round());
        let best = brute_force(&problem, &objective).unwrap();
        let s = solve(&problem, &objective, &options(), Some(&Highs)).unwrap();
        let tol = 1e-6 * (1.0 + best.objective.abs());
        prop_assert!((s.objective - best.objective).abs() <= tol, "{:?}: {} vs {} ({})", objective, s.objective, best.objective, s.method);
        prop_assert!(s.gap >= 0.0);
        match objective {
            Objective::MaxCovering { .. } | Objective::CapacitatedCovering { .. } => prop_assert!(s.bound >= best.objective - tol),
            _ => prop_assert!(s.bound <= best.objective + tol),
        }
        prop_assert!(matches!(s.status, SolveStatus::Optimal | SolveStatus::GapLimit), "{:?}", s.status);
    }
}

/// The MILP is really used: heuristic forced off the optimum is not needed,
/// the method names HiGHS whenever the bound did not close the gap.
#[test]
fn method_names_highs_when_it_ran() {
    let mut ran = 0;
    for seed in 0..200 {
        let problem = small(seed, 30, 10);
        let avail = problem
            .candidates
            .iter()
            .filter(|c| c.eligible && !c.existing)
            .count();
        let objective = Objective::CapacitatedCovering {
            p: avail.min(3),
            threshold_min: 50.0,
            stay_days: 20.0,
        };
        let s = solve(&problem, &objective, &options(), Some(&Highs)).unwrap();
        if s.method.ends_with("highs") {
            ran += 1;
        }
    }
    eprintln!("HiGHS ran on {ran} of 200 capacitated instances");
    assert!(ran > 0);
}
