//! Benchmarks live in `benches/`; this library holds what several of them share.

use chaski_core::layer::{Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_io::import::{ImportOptions, Imported, import_file};
use std::path::Path;

/// A layer of the real data of `../shared/data/peru` (`rel` below it), read
/// with chaski's importer as layer `name` of `kind`; None (with a line saying
/// so) when the file is absent, so a bench is skipped rather than failed.
///
/// # Panics
/// When the file is present but cannot be read.
pub fn peru_layer(rel: &str, name: &str, kind: LayerKind) -> Option<Layer> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/peru")
        .join(rel);
    if !path.exists() {
        eprintln!("skipped: {} is absent", path.display());
        return None;
    }
    let mut opts = ImportOptions::new(name);
    opts.kind = Some(kind);
    match import_file(&path, &opts) {
        Ok(Imported::Layer(l, _)) => Some(l),
        other => panic!("cannot read {}: {other:?}", path.display()),
    }
}

/// Andean-like terrain of 30 m cells in UTM 18S: long ridges and valleys plus shorter
/// relief, 1.5-4.5 km; with `basin`, nodata outside an ellipse.
pub fn andean_dem(width: usize, height: usize, basin: bool) -> Raster<f32> {
    let mut r = Raster::filled(
        width,
        height,
        [560_000.0, 30.0, 0.0, 8_560_000.0, 0.0, -30.0],
        Some(32718),
        0f32,
    );
    r.nodata = Some(-9999.0);
    let (cx, cy) = (width as f64 / 2.0, height as f64 / 2.0);
    for row in 0..height {
        for col in 0..width {
            let (x, y) = (col as f64, row as f64);
            let inside = ((x - cx) / cx).powi(2) + ((y - cy) / cy).powi(2) <= 0.9;
            r.data[row * width + col] = if basin && !inside {
                -9999.0
            } else {
                (3000.0
                    + 900.0 * (x / 310.0).sin() * (y / 270.0).cos()
                    + 250.0 * (x / 41.0 + y / 57.0).sin()
                    + 60.0 * (x / 9.0).cos() * (y / 11.0).sin()) as f32
            };
        }
    }
    r
}
