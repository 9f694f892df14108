//! Facility-siting benchmarks on villages and candidates as points in a
//! 100 km square, walking at 4 km/h (deterministic, seeded):
//! - maximal covering, 10,000 villages × 500 candidates, T = 120 min (each
//!   candidate reaches ~1–3 % of the villages; the matrix holds the pairs
//!   within T), p = 25, to proven optimum or gap < 1 % (target ≤ 10 s);
//! - p-median, 2,000 villages × 200 candidates, pairs within 240 min,
//!   p = 20, with HiGHS, the gap reported (target ≤ 30 s).
//!
//! Run with `cargo bench -p chaski-benches --bench siting`.

#![allow(missing_docs)]

use chaski_analysis::siting::{
    Candidate, Objective, SitingProblem, SolveOptions, TravelMatrix, generated, solve,
};
use chaski_milp::Highs;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

/// Villages and candidates in a 100 km square ([`generated::square`]).
fn square(seed: u64, villages: usize, candidates: usize, max_min: f32) -> SitingProblem {
    generated::square(seed, villages, candidates, 100.0, max_min)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("siting");
    g.sample_size(10).measurement_time(Duration::from_secs(20));

    let cover = square(7, 10_000, 500, 120.0);
    let share = cover.matrix.entries() as f64 / (500.0 * 10_000.0);
    let objective = Objective::MaxCovering {
        p: 25,
        threshold_min: 120.0,
    };
    let options = SolveOptions {
        gap_tolerance: 0.01,
        time_limit: Duration::from_secs(10),
        ..SolveOptions::default()
    };
    let s = solve(&cover, &objective, &options, Some(&Highs)).expect("solve");
    eprintln!(
        "max covering 10000 x 500 (each candidate reaches {:.2}% of villages), p = 25: {:.0} of {:.0} covered, bound {:.0}, gap {:.4}%, {:?}, {}",
        100.0 * share,
        s.objective,
        s.total_demand,
        s.bound,
        100.0 * s.gap,
        s.status,
        s.method
    );
    g.bench_function("max_covering_10000_villages_500_candidates_p25", |b| {
        b.iter(|| solve(black_box(&cover), &objective, &options, Some(&Highs)).expect("solve"));
    });

    let median = square(11, 2_000, 200, 240.0);
    let objective = Objective::PMedian { p: 20 };
    let options = SolveOptions {
        gap_tolerance: 1e-4,
        time_limit: Duration::from_secs(30),
        ..SolveOptions::default()
    };
    let s = solve(&median, &objective, &options, Some(&Highs)).expect("solve");
    eprintln!(
        "p-median 2000 x 200 ({} pairs), p = 20: {:.0} demand-minutes, bound {:.0}, gap {:.4}%, {:?}, {}",
        median.matrix.entries(),
        s.objective,
        s.bound,
        100.0 * s.gap,
        s.status,
        s.method
    );
    g.bench_function("p_median_2000_villages_200_candidates_p20", |b| {
        b.iter(|| solve(black_box(&median), &objective, &options, Some(&Highs)).expect("solve"));
    });
    // The MILP itself on the same p-median (no heuristic bound to stop early).
    let model = chaski_analysis::siting::milp_model(&median, &objective).expect("model");
    g.bench_function(
        "p_median_2000_villages_200_candidates_p20_highs_only",
        |b| {
            b.iter(|| {
                chaski_analysis::siting::milp::MilpBackend::solve(&Highs, black_box(&model))
                    .expect("highs")
            });
        },
    );
    g.finish();
}

/// What `chaski site` waits for on a large area: the matrix (one bounded
/// search per candidate, towards it, in parallel, as `TravelInputs::reach`)
/// and the solve, 300 candidates and 5,000 villages on 4 M cells of generated
/// Andean terrain walked with the Tobler model, 120 minutes.
fn with_matrix(c: &mut Criterion) {
    use chaski_analysis::travel::cost::{Direction, SearchOptions, times_within};
    use chaski_analysis::travel::friction::{TerrainInputs, terrain_surface};
    use chaski_analysis::travel::scenario::Scenario;
    use rayon::prelude::*;
    let mut g = c.benchmark_group("siting_with_matrix");
    g.sample_size(10).measurement_time(Duration::from_mins(1));
    let dem = chaski_benches::andean_dem(2000, 2000, false);
    let surface =
        terrain_surface(&TerrainInputs::new(&dem), &Scenario::walking()).expect("surface");
    let mut r = generated::Mix(3);
    let mut cell = || {
        (
            (r.next_u64() % 2000) as usize,
            (r.next_u64() % 2000) as usize,
        )
    };
    let villages: Vec<(usize, usize)> = (0..5000).map(|_| cell()).collect();
    let candidates: Vec<(usize, usize)> = (0..300).map(|_| cell()).collect();
    let demand: Vec<f64> = (0..5000u32).map(|i| 1.0 + f64::from(i % 17)).collect();
    let opts = SearchOptions {
        direction: Direction::ToSource,
        max_seconds: Some(120.0 * 60.0),
        ..SearchOptions::default()
    };
    let objective = Objective::MaxCovering {
        p: 10,
        threshold_min: 120.0,
    };
    let run = || {
        let entries: Vec<(usize, usize, f32)> = candidates
            .par_iter()
            .enumerate()
            .flat_map_iter(|(k, &site)| {
                times_within(&surface, site, &opts, &villages)
                    .into_iter()
                    .enumerate()
                    .filter_map(move |(v, t)| t.map(|s| (v, k, s / 60.0)))
            })
            .collect();
        let open = Candidate {
            existing: false,
            eligible: true,
            beds: None,
        };
        let problem = SitingProblem {
            demand: demand.clone(),
            candidates: vec![open; candidates.len()],
            matrix: TravelMatrix::from_entries(5000, 300, entries).expect("matrix"),
        };
        solve(&problem, &objective, &SolveOptions::default(), Some(&Highs)).expect("solve")
    };
    let s = run();
    eprintln!(
        "matrix + max covering, 300 x 5000 on 4 M cells, p = 10: {:.0} of {:.0}, gap {:.4}%, {:?}",
        s.objective,
        s.total_demand,
        100.0 * s.gap,
        s.status
    );
    g.bench_function(
        "matrix_and_max_covering_300_candidates_5000_villages_4M_cells",
        |b| {
            b.iter(run);
        },
    );
    g.finish();
}

criterion_group!(benches, bench, with_matrix);
criterion_main!(benches);
