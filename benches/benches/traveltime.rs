//! Travel-time engine benchmarks: multi-source search with allocation on
//! generated terrain at 1 M, 4 M and 16 M cells (isotropic user friction and
//! the anisotropic Tobler terrain model), and on a grid the size of the
//! Torobamba 30 m DEM (1525 x 1419, basin mask, 16 facilities).

#![allow(missing_docs)]

use chaski_analysis::travel::cost::{CostSurface, SearchOptions, travel_time};
use chaski_analysis::travel::friction::{TerrainInputs, terrain_surface};
use chaski_analysis::travel::hydrology::flow_grid;
use chaski_analysis::travel::scenario::Scenario;
use chaski_benches::andean_dem as dem;
use chaski_core::raster::Raster;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

const NODATA: f32 = -9999.0;

/// `n` sources on passable cells spread over the grid (deterministic).
fn sources(surface: &CostSurface, n: usize) -> Vec<(usize, usize)> {
    let g = surface.grid();
    let mut out = Vec::new();
    let mut state = 12_345u64;
    while out.len() < n {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let c = ((state >> 33) as usize) % g.width;
        let r = ((state >> 13) as usize) % g.height;
        if surface.passable(c, r) {
            out.push((c, r));
        }
    }
    out
}

fn speed_raster(dem: &Raster<f32>) -> Raster<f32> {
    let mut speed = dem.clone();
    for (i, v) in speed.data.iter_mut().enumerate() {
        if *v != NODATA {
            *v = 3.0 + (i % 7) as f32 * 0.5;
        }
    }
    speed
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("traveltime_20_sources");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.warm_up_time(Duration::from_secs(1));
    for side in [1000usize, 2000, 4000] {
        let dem = dem(side, side, false);
        let iso = CostSurface::from_speed_kmh(&speed_raster(&dem)).expect("surface");
        let src = sources(&iso, 20);
        let cells = format!("{}M", side * side / 1_000_000);
        group.bench_with_input(BenchmarkId::new("isotropic", &cells), &src, |b, src| {
            b.iter(|| travel_time(black_box(&iso), src, &SearchOptions::default()));
        });
        drop(iso);
        let aniso =
            terrain_surface(&TerrainInputs::new(&dem), &Scenario::walking()).expect("surface");
        group.bench_with_input(BenchmarkId::new("anisotropic", &cells), &src, |b, src| {
            b.iter(|| travel_time(black_box(&aniso), src, &SearchOptions::default()));
        });
    }
    group.finish();
}

fn torobamba(c: &mut Criterion) {
    let mut group = c.benchmark_group("torobamba_size");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.warm_up_time(Duration::from_secs(1));
    let dem = dem(1525, 1419, true);
    let iso = CostSurface::from_speed_kmh(&speed_raster(&dem)).expect("surface");
    let src = sources(&iso, 16);
    group.bench_function("isotropic_search", |b| {
        b.iter(|| travel_time(black_box(&iso), &src, &SearchOptions::default()));
    });
    let speed = speed_raster(&dem);
    group.bench_function("isotropic_surface_and_search", |b| {
        b.iter(|| {
            let s = CostSurface::from_speed_kmh(black_box(&speed)).expect("surface");
            travel_time(&s, &src, &SearchOptions::default())
        });
    });
    let aniso = terrain_surface(&TerrainInputs::new(&dem), &Scenario::walking()).expect("surface");
    group.bench_function("anisotropic_search", |b| {
        b.iter(|| travel_time(black_box(&aniso), &src, &SearchOptions::default()));
    });
    group.bench_function("anisotropic_surface_and_search", |b| {
        b.iter(|| {
            let s = terrain_surface(&TerrainInputs::new(black_box(&dem)), &Scenario::walking())
                .expect("surface");
            travel_time(&s, &src, &SearchOptions::default())
        });
    });
    let limited = SearchOptions {
        max_seconds: Some(3600.0),
        ..SearchOptions::default()
    };
    group.bench_function("anisotropic_search_max_1h", |b| {
        b.iter(|| travel_time(black_box(&aniso), &src, &limited));
    });
    group.bench_function("flow_accumulation", |b| {
        b.iter(|| flow_grid(black_box(&dem)).expect("flow"));
    });
    group.finish();
}

criterion_group!(benches, torobamba, scaling);
criterion_main!(benches);
