//! Benchmarks live in `benches/`; this library holds what several of them share.

use chaski_core::layer::{Layer, LayerKind};
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
