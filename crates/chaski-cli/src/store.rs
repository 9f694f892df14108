//! Opening the layer store named by `--store`.

use anyhow::{Context, Result};
use chaski_core::store::Store;
use chaski_io::store::gpkg::GpkgStore;
use std::path::Path;
use std::sync::Arc;

/// Open (or create) the GeoPackage store at `path`.
pub fn open(path: &Path) -> Result<Arc<dyn Store>> {
    if let Some(parent) = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !p.exists())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder of the store {}", path.display()))?;
    }
    let store =
        GpkgStore::open(path).with_context(|| format!("opening the store {}", path.display()))?;
    Ok(Arc::new(store))
}
