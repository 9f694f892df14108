//! Opening the layer store named by `--store`.
//!
//! Only `import` and `demo --load` create a store ([`open_or_create`]); every
//! other command refuses a path where there is none ([`open`]), so a typo in
//! `--store` is an error instead of a new, empty store.

use anyhow::{Context, Result};
use chaski_core::store::Store;
use chaski_io::store::gpkg::GpkgStore;
use std::path::Path;
use std::sync::Arc;

/// Open the existing GeoPackage store at `path`; an error naming the path, and
/// how to create a store, when there is no file there.
pub fn open(path: &Path) -> Result<Arc<dyn Store>> {
    check_exists(path)?;
    let store =
        GpkgStore::open(path).with_context(|| format!("opening the store {}", path.display()))?;
    Ok(Arc::new(store))
}

/// The error of [`open`] when `path` does not exist (nothing is created).
fn check_exists(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let p = path.display();
    anyhow::bail!(
        "no store at {p} (check --store or CHASKI_STORE); create one by importing a file \
         (`chaski --store {p} import FILE --layer NAME`) or the demo region \
         (`chaski --store {p} demo --load`)"
    )
}

/// Open the GeoPackage store at `path`, creating it (and its folder) when
/// missing: for `import` and `demo --load` only.
pub fn open_or_create(path: &Path) -> Result<Arc<dyn Store>> {
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
