//! Cluster-detection benchmarks on synthetic household data shaped like a
//! rural district:
//! - DBSCAN of 100,000 households in ~500 hamlets of 50–400 households with
//!   20–150 m spread across 40 × 40 km, eps 150 m, min 4 points
//!   (scikit-learn 0.42 s on the same kind of data);
//! - Kulldorff's Bernoulli scan of 10,000 households (10 % cases), windows up
//!   to 50 % of households, 999 replicates (SaTScan 70 s);
//! - Gi* of 10,000 cells with k = 8 and BH correction.
//!
//! Run with `cargo bench -p chaski-benches --bench clusters`.

#![allow(missing_docs)]

use chaski_analysis::clusters::dbscan::dbscan;
use chaski_analysis::clusters::gistar::gi_star;
use chaski_analysis::clusters::scan::{ScanOptions, bernoulli};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

// The engine's seeded generator (SplitMix64), so the bench needs no rand.
use chaski_analysis::siting::generated::Mix;

/// Households in hamlets: hamlet sizes 50–400, spread 20–150 m, until `n`.
fn district(n: usize, side: f64, seed: u64) -> Vec<[f64; 2]> {
    let mut rng = Mix(seed);
    let mut pts = Vec::with_capacity(n);
    while pts.len() < n {
        let centre = [rng.range(0.0, side), rng.range(0.0, side)];
        let size = 50 + (rng.next_u64() % 351) as usize;
        let spread = rng.range(20.0, 150.0);
        for _ in 0..size.min(n - pts.len()) {
            pts.push([
                centre[0] + spread * rng.normal(),
                centre[1] + spread * rng.normal(),
            ]);
        }
    }
    pts
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("clusters");

    let households = district(100_000, 40_000.0, 7);
    let labels = dbscan(&households, 150.0, 4).expect("dbscan");
    let clusters = labels.iter().flatten().max().map_or(0, |m| m + 1);
    let noise = labels.iter().filter(|l| l.is_none()).count();
    eprintln!("dbscan: {clusters} clusters, {noise} noise points");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("dbscan_100000_households_eps150_min4", |b| {
        b.iter(|| dbscan(black_box(&households), 150.0, 4).expect("dbscan"));
    });

    let pts = district(10_000, 20_000.0, 11);
    let mut rng = Mix(3);
    let cases: Vec<bool> = (0..pts.len()).map(|_| rng.unit() < 0.1).collect();
    let opts = ScanOptions::default();
    let res = bernoulli(&pts, &cases, &opts).expect("scan");
    if let Some(top) = res.clusters.first() {
        eprintln!(
            "scan: top cluster n = {}, c = {}, LLR = {:.3}, p = {}",
            top.households, top.cases, top.llr, top.p_value
        );
    }
    g.sample_size(10).measurement_time(Duration::from_secs(45));
    g.bench_function("scan_bernoulli_10000_households_999_replicates", |b| {
        b.iter(|| bernoulli(black_box(&pts), black_box(&cases), &opts).expect("scan"));
    });

    let mut rng = Mix(5);
    let cells: Vec<[f64; 2]> = (0..10_000)
        .map(|i| [f64::from(i % 100) * 500.0, f64::from(i / 100) * 500.0])
        .collect();
    let values: Vec<f64> = (0..10_000).map(|_| rng.unit() * 10.0).collect();
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("gistar_10000_cells_k8", |b| {
        b.iter(|| gi_star(black_box(&cells), black_box(&values), 8).expect("gi*"));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
