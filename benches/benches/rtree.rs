//! R-tree benchmarks on the 136,587 villages of ../shared/data/peru: bulk load of a
//! layer's indexes (lon/lat envelopes plus the metric tree in UTM, including the
//! PROJ projection of every point), bounding-box queries of three sizes and
//! k-nearest queries in metres.
//!
//! Run with `cargo bench -p chaski-benches --bench rtree`.

#![allow(missing_docs)]

use chaski_core::index::SpatialIndex;
use chaski_core::layer::LayerKind;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let Some(layer) = chaski_benches::peru_layer(
        "villages/ccpp_ign100k.gpkg",
        "communities",
        LayerKind::Communities,
    ) else {
        return;
    };
    assert_eq!(layer.len(), 136_587);
    let bounds = layer.bounds().expect("extent");
    let projection = chaski_io::crs::metric_projection(&bounds).expect("UTM zone");

    let mut g = c.benchmark_group("rtree");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("bulk_load_136587_villages", |b| {
        b.iter(|| SpatialIndex::build(black_box(&layer), projection.clone()).expect("index"));
    });
    let index = SpatialIndex::build(&layer, projection).expect("index");
    // La Mar / VRAEM box (2,791 villages), a district-sized box, all of Peru.
    for (name, bbox) in [
        ("bbox_vraem", [-74.5, -13.3, -73.3, -12.3]),
        ("bbox_district_0.1deg", [-74.05, -13.05, -73.95, -12.95]),
        ("bbox_peru", [-82.0, -19.0, -68.0, 1.0]),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| index.bbox(bbox[0], bbox[1], bbox[2], bbox[3]).len());
        });
    }
    g.bench_function("nearest_10_metres", |b| {
        b.iter(|| {
            index
                .nearest(black_box(-74.0), black_box(-13.0), 10)
                .expect("nearest")
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
