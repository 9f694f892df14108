//! Vector-tile generation on the real data of ../shared/data/peru: the 1,826
//! districts with geometry (admin/distritos.geojson) and the 136,587 villages
//! (villages/ccpp_ign100k.gpkg), both read with the chaski importer.
//!
//! For each layer: building the tile source (reprojection to Web Mercator,
//! importances, R-tree, clusters of dense tiles), then rendering the 3 × 3 block
//! of tiles around (-74.0, -13.0) (Ayacucho) at each zoom z6–z14 (throughput is
//! per tile). Skipped when the data is absent.
//!
//! Run with `cargo bench -p chaski-benches --bench tiles`.

#![allow(missing_docs)]

use chaski_core::layer::{Layer, LayerKind};
use chaski_tiles::{LayerSource, TileCoord, TileSource, render};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn bench_layer(c: &mut Criterion, group: &str, layer: &Layer) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("build_source", |b| {
        b.iter(|| LayerSource::new(black_box(layer)).map(|s| s.feature_count()));
    });
    let source = LayerSource::new(layer).expect("tile source");
    for z in 6..=14u8 {
        let centre = TileCoord::containing(-74.0, -13.0, z).expect("tile");
        let sample: Vec<TileCoord> = (0..9)
            .filter_map(|k| TileCoord::new(z, centre.x() + k % 3 - 1, centre.y() + k / 3 - 1).ok())
            .collect();
        g.throughput(Throughput::Elements(sample.len() as u64));
        g.bench_with_input(BenchmarkId::new("render_3x3", z), &sample, |b, sample| {
            b.iter(|| {
                sample
                    .iter()
                    .map(|t| render(&[&source], *t).map_or(0, |v| v.len()))
                    .sum::<usize>()
            });
        });
    }
    g.finish();
}

fn tiles(c: &mut Criterion) {
    if let Some(districts) = chaski_benches::peru_layer(
        "admin/distritos.geojson",
        "districts",
        LayerKind::Boundaries,
    ) {
        bench_layer(c, "tiles_districts", &districts);
    }
    if let Some(villages) = chaski_benches::peru_layer(
        "villages/ccpp_ign100k.gpkg",
        "communities",
        LayerKind::Communities,
    ) {
        bench_layer(c, "tiles_villages", &villages);
    }
}

criterion_group!(benches, tiles);
criterion_main!(benches);
