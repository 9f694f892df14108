//! Hand-computed cases of every model, errors, and property tests against
//! brute force (the HiGHS path is tested in `chaski-milp`).

use super::*;
use approx::assert_relative_eq;
use proptest::prelude::*;
use rstest::rstest;

fn cand(existing: bool, eligible: bool, beds: Option<u32>) -> Candidate {
    Candidate {
        existing,
        eligible,
        beds,
    }
}

/// Four villages (demand 1, 2, 3, 4), four candidates; candidate 0 is open.
///
/// | site | reaches (village: minutes) |
/// |---|---|
/// | 0 (existing) | v0: 10, v1: 40 |
/// | 1 | v1: 5, v2: 30 |
/// | 2 | v2: 10, v3: 20 |
/// | 3 | v3: 5, v0: 50 |
fn four() -> SitingProblem {
    let matrix = TravelMatrix::from_entries(
        4,
        4,
        [
            (0, 0, 10.0),
            (1, 0, 40.0),
            (1, 1, 5.0),
            (2, 1, 30.0),
            (2, 2, 10.0),
            (3, 2, 20.0),
            (3, 3, 5.0),
            (0, 3, 50.0),
        ],
    )
    .unwrap();
    SitingProblem {
        demand: vec![1.0, 2.0, 3.0, 4.0],
        candidates: vec![
            cand(true, false, None),
            cand(false, true, None),
            cand(false, true, None),
            cand(false, true, None),
        ],
        matrix,
    }
}

fn exact() -> SolveOptions {
    SolveOptions {
        gap_tolerance: 0.0,
        ..SolveOptions::default()
    }
}

fn heuristic_only() -> SolveOptions {
    SolveOptions {
        gap_tolerance: 0.0,
        exact_max_vars: 0,
        ..SolveOptions::default()
    }
}

// Max covering, T = 30: the existing site covers v0 (1). Adding site 1 covers
// v1, v2 (+5 → 6); site 2 covers v2, v3 (+7 → 8); site 3 covers v3 (+4 → 5).
// p = 1: site 2, 8. p = 2: {1, 2} covers all, 10.
#[rstest]
#[case(0, vec![], 1.0)]
#[case(1, vec![2], 8.0)]
#[case(2, vec![2, 1], 10.0)]
fn max_covering_hand(#[case] p: usize, #[case] chosen: Vec<usize>, #[case] covered: f64) {
    let s = solve(
        &four(),
        &Objective::MaxCovering {
            p,
            threshold_min: 30.0,
        },
        &exact(),
        None,
    )
    .unwrap();
    assert_eq!(s.chosen, chosen);
    assert_relative_eq!(s.objective, covered);
    assert_relative_eq!(s.covered_before, 1.0);
    assert_relative_eq!(s.covered_after, covered);
    assert_relative_eq!(s.total_demand, 10.0);
    assert_eq!(s.status, SolveStatus::Optimal);
    assert_eq!(s.curve.len(), p);
    if p == 2 {
        // greedy order: site 2 first (+7), then site 1 (+2: v1 only, v2 already covered)
        assert_relative_eq!(s.curve[0].gain, 7.0);
        assert_relative_eq!(s.curve[1].gain, 2.0);
        assert_eq!(s.open, vec![0, 2, 1]);
        assert_eq!(s.assignment[2], Some((2, 10.0, 3.0)));
    }
}

// p-median: penalty = largest minutes = 50. With the existing site only:
// 1·10 + 2·40 + 3·50 + 4·50 = 440. Adding 1: 10 + 2·5 + 3·30 + 4·50 = 310;
// 2: 10 + 80 + 3·10 + 4·20 = 200; 3: 10 + 80 + 150 + 4·5 = 260.
// p = 2: {1, 2} = 10 + 10 + 30 + 80 = 130 = {1, 3} = 10 + 10 + 90 + 20.
#[rstest]
#[case(0, 440.0)]
#[case(1, 200.0)]
#[case(2, 130.0)]
#[case(3, 10.0 + 10.0 + 30.0 + 20.0)]
fn p_median_hand(#[case] p: usize, #[case] cost: f64) {
    for options in [exact(), heuristic_only()] {
        let s = solve(&four(), &Objective::PMedian { p }, &options, None).unwrap();
        assert_relative_eq!(s.objective, cost);
        assert!(s.bound <= cost + 1e-9);
        assert_eq!(s.penalty_min, Some(50.0));
    }
    let s = solve(&four(), &Objective::PMedian { p: 1 }, &exact(), None).unwrap();
    assert_eq!(s.chosen, vec![2]);
    assert_eq!(s.assignment[3], Some((2, 20.0, 4.0)));
    assert_relative_eq!(s.weighted_minutes, 200.0);
}

// Set covering. T = 30: v1 needs site 1; v3 needs 2 or 3; no single site
// covers both, so 2 sites. T = 4: nothing is reachable, 0 sites, all four
// villages uncoverable.
#[rstest]
#[case(30.0, 2.0, vec![])]
#[case(20.0, 2.0, vec![])]
#[case(4.0, 0.0, vec![0, 1, 2, 3])]
fn set_covering_hand(#[case] t: f32, #[case] sites: f64, #[case] uncoverable: Vec<usize>) {
    let s = solve(
        &four(),
        &Objective::SetCovering { threshold_min: t },
        &exact(),
        None,
    )
    .unwrap();
    assert_relative_eq!(s.objective, sites);
    assert_eq!(s.uncoverable, uncoverable);
    assert_eq!(s.status, SolveStatus::Optimal);
    let b = brute_force(&four(), &Objective::SetCovering { threshold_min: t }).unwrap();
    assert_relative_eq!(b.objective, sites);
}

/// Capacity changes the best site.
///
/// Villages A = 60, B = 40, C = 30 births a year; stay 14.6 days, so a bed
/// takes 365 / 14.6 = 25 births a year. Home 0 (2 beds: 50 births) reaches
/// A, B and C within T1 = 60; home 1 (10 beds: 250 births) reaches A and B.
/// Uncapacitated: home 0 covers 60 + 40 + 30 = 130 > home 1's 60 + 40 = 100.
/// Capacitated: home 0 takes min(50, 130) = 50 < home 1's min(250, 100) = 100.
#[test]
fn capacity_changes_the_best_site() {
    let matrix = TravelMatrix::from_entries(
        3,
        2,
        [
            (0, 0, 10.0),
            (1, 0, 20.0),
            (2, 0, 30.0),
            (0, 1, 40.0),
            (1, 1, 50.0),
        ],
    )
    .unwrap();
    let problem = SitingProblem {
        demand: vec![60.0, 40.0, 30.0],
        candidates: vec![cand(false, true, Some(2)), cand(false, true, Some(10))],
        matrix,
    };
    let uncap = solve(
        &problem,
        &Objective::MaxCovering {
            p: 1,
            threshold_min: 60.0,
        },
        &exact(),
        None,
    )
    .unwrap();
    assert_eq!((uncap.chosen.clone(), uncap.objective), (vec![0], 130.0));
    let obj = Objective::CapacitatedCovering {
        p: 1,
        threshold_min: 60.0,
        stay_days: 14.6,
    };
    let cap = solve(&problem, &obj, &exact(), None).unwrap();
    assert_eq!(cap.chosen, vec![1]);
    assert_relative_eq!(cap.objective, 100.0, epsilon = 1e-9);
    assert_eq!(cap.status, SolveStatus::Optimal);
    // p = 2: home 0 takes 50 of C and B's rest; home 1 takes A and B: all 130.
    let both = solve(
        &problem,
        &Objective::CapacitatedCovering {
            p: 2,
            threshold_min: 60.0,
            stay_days: 14.6,
        },
        &exact(),
        None,
    )
    .unwrap();
    assert_relative_eq!(both.objective, 130.0, epsilon = 1e-9);
    let served: f64 = both.flows.iter().filter(|f| f.1 == 0).map(|f| f.2).sum();
    assert!(served <= 50.0 + 1e-9);
}

#[test]
fn split_demand_between_homes() {
    // One village of 80 births, two 1-bed homes of 36.5 births each (stay 10 days).
    let matrix = TravelMatrix::from_entries(1, 2, [(0, 0, 5.0), (0, 1, 6.0)]).unwrap();
    let problem = SitingProblem {
        demand: vec![80.0],
        candidates: vec![cand(true, false, Some(1)), cand(false, true, Some(1))],
        matrix,
    };
    let s = solve(
        &problem,
        &Objective::CapacitatedCovering {
            p: 1,
            threshold_min: 10.0,
            stay_days: 10.0,
        },
        &exact(),
        None,
    )
    .unwrap();
    assert_relative_eq!(s.covered_before, 36.5, epsilon = 1e-9);
    assert_relative_eq!(s.objective, 73.0, epsilon = 1e-9);
    assert_eq!(s.flows.len(), 2);
    assert_relative_eq!(s.assignment[0].unwrap().2, 73.0, epsilon = 1e-9);
}

#[test]
fn errors_name_what_is_wrong() {
    let e = TravelMatrix::from_entries(2, 2, [(0, 0, 1.0), (1, 1, f32::NAN)]).unwrap_err();
    assert!(
        matches!(
            e,
            SitingError::InvalidMinutes {
                entry: 1,
                village: 1,
                candidate: 1,
                ..
            }
        ),
        "{e}"
    );
    let e = TravelMatrix::from_entries(2, 2, [(0, 0, -1.0)]).unwrap_err();
    assert!(e.to_string().contains("entry 0"), "{e}");
    assert!(matches!(
        TravelMatrix::from_entries(2, 2, [(2, 0, 1.0)]),
        Err(SitingError::VillageOutOfRange { village: 2, .. })
    ));
    assert!(matches!(
        TravelMatrix::from_entries(2, 2, [(0, 5, 1.0)]),
        Err(SitingError::CandidateOutOfRange { candidate: 5, .. })
    ));
    let mut p = four();
    p.demand[2] = -1.0;
    let e = solve(&p, &Objective::PMedian { p: 1 }, &exact(), None).unwrap_err();
    assert!(
        matches!(e, SitingError::InvalidDemand { village: 2, .. }),
        "{e}"
    );
    p.demand[2] = f64::NAN;
    assert!(solve(&p, &Objective::PMedian { p: 1 }, &exact(), None).is_err());
    let e = solve(
        &four(),
        &Objective::MaxCovering {
            p: 4,
            threshold_min: 30.0,
        },
        &exact(),
        None,
    )
    .unwrap_err();
    assert_eq!(e, SitingError::TooManySites { p: 4, available: 3 });
    assert!(
        solve(
            &four(),
            &Objective::MaxCovering {
                p: 1,
                threshold_min: f32::NAN
            },
            &exact(),
            None
        )
        .is_err()
    );
    assert!(
        solve(
            &four(),
            &Objective::CapacitatedCovering {
                p: 1,
                threshold_min: 1.0,
                stay_days: 0.0
            },
            &exact(),
            None
        )
        .is_err()
    );
    let mut p = four();
    p.demand.pop();
    assert!(matches!(
        solve(&p, &Objective::PMedian { p: 1 }, &exact(), None),
        Err(SitingError::DemandLength { .. })
    ));
    let bad = SolveOptions {
        gap_tolerance: f64::NAN,
        ..exact()
    };
    assert!(solve(&four(), &Objective::PMedian { p: 1 }, &bad, None).is_err());
}

#[rstest]
#[case(Objective::MaxCovering { p: 0, threshold_min: 10.0 })]
#[case(Objective::PMedian { p: 0 })]
#[case(Objective::SetCovering { threshold_min: 10.0 })]
#[case(Objective::CapacitatedCovering { p: 0, threshold_min: 10.0, stay_days: 7.0 })]
fn empty_problem(#[case] objective: Objective) {
    let s = solve(&SitingProblem::default(), &objective, &exact(), None).unwrap();
    assert_eq!(
        (s.objective, s.gap, s.status),
        (0.0, 0.0, SolveStatus::Optimal)
    );
    assert!(s.chosen.is_empty() && s.assignment.is_empty());
}

use super::generated::{objective_for, small as random_problem};

fn maximise(o: &Objective) -> bool {
    matches!(
        o,
        Objective::MaxCovering { .. } | Objective::CapacitatedCovering { .. }
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]
    #[test]
    fn solvers_match_brute_force(seed: u64, v in 1usize..=30, c in 1usize..=10, kind in 0u8..4, p in 0usize..=5, t in 5.0f32..80.0) {
        let problem = random_problem(seed, v, c);
        let avail = problem.candidates.iter().filter(|c| c.eligible && !c.existing).count();
        let objective = objective_for(kind, p.min(avail), t.round());
        let best = brute_force(&problem, &objective).unwrap();
        let tol = 1e-6 * (1.0 + best.objective.abs());
        let max = maximise(&objective);
        // exact path (built-in branch and bound): equals brute force
        let s = solve(&problem, &objective, &exact(), None).unwrap();
        prop_assert!((s.objective - best.objective).abs() <= tol, "{:?}: {} vs {}", objective, s.objective, best.objective);
        prop_assert_eq!(s.status, SolveStatus::Optimal);
        prop_assert!(s.gap >= 0.0);
        // heuristic + bound only: the bound is valid, the gap consistent
        let h = solve(&problem, &objective, &heuristic_only(), None).unwrap();
        prop_assert!(h.gap >= 0.0 && h.bound.is_finite());
        if max {
            prop_assert!(h.bound >= best.objective - tol, "bound {} < optimum {}", h.bound, best.objective);
            prop_assert!(h.objective <= best.objective + tol);
        } else {
            prop_assert!(h.bound <= best.objective + tol, "bound {} > optimum {}", h.bound, best.objective);
            prop_assert!(h.objective >= best.objective - tol);
        }
        if h.status == SolveStatus::Optimal {
            prop_assert!((h.objective - best.objective).abs() <= tol);
        }
        // the report agrees with itself
        prop_assert_eq!(s.open.len(), s.chosen.len() + problem.candidates.iter().filter(|c| c.existing).count());
        prop_assert!(s.chosen.iter().all(|&j| problem.candidates[j].eligible && !problem.candidates[j].existing));
        prop_assert!(s.covered_after >= s.covered_before - tol);
        if let Some(last) = s.curve.last() {
            if !matches!(objective, Objective::SetCovering { .. }) {
                prop_assert!((last.objective - s.objective).abs() <= tol);
            }
        }
    }
}

#[test]
fn deterministic_given_seed() {
    let problem = random_problem(42, 30, 10);
    let o = Objective::PMedian { p: 3 };
    let opts = SolveOptions {
        seed: 9,
        ..heuristic_only()
    };
    assert_eq!(
        solve(&problem, &o, &opts, None).unwrap(),
        solve(&problem, &o, &opts, None).unwrap()
    );
}
