//! Opening the layer store named by `--store`: a GeoPackage file, or a
//! PostgreSQL/PostGIS database given as a `postgresql://` URL (the one place
//! where the backend is chosen).
//!
//! Only `import` and `demo --load` create a store ([`open_or_create`]); every
//! other command refuses a path (or database) where there is none ([`open`]),
//! so a typo in `--store` is an error instead of a new, empty store.

use anyhow::{Context, Result};
use chaski_core::auth::TokenStore;
use chaski_core::store::Store;
use chaski_io::store::gpkg::GpkgStore;
use chaski_io::store::tokens::GpkgTokenStore;
use std::path::Path;
use std::sync::Arc;

/// The `postgresql://` URL `path` holds, if it is one.
pub fn postgres_url(path: &Path) -> Option<&str> {
    path.to_str().filter(|s| is_url(s))
}

#[cfg(feature = "postgis")]
fn is_url(s: &str) -> bool {
    chaski_io::store::postgis::is_postgres_url(s)
}

#[cfg(not(feature = "postgis"))]
fn is_url(s: &str) -> bool {
    s.starts_with("postgresql://") || s.starts_with("postgres://")
}

/// The store at a `postgresql://` URL.
#[cfg(feature = "postgis")]
fn open_postgis(url: &str, create: bool) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(
        chaski_io::store::postgis::PostgisStore::open(url, create)
            .context("opening the PostGIS store")?,
    ))
}

#[cfg(not(feature = "postgis"))]
fn open_postgis(url: &str, _create: bool) -> Result<Arc<dyn Store>> {
    anyhow::bail!(
        "--store {url}: this chaski was built without the PostGIS store (feature postgis)"
    )
}

/// Open the existing store at `path` (a GeoPackage file or a
/// `postgresql://` URL); an error naming it, and how to create a store, when
/// there is none.
pub fn open(path: &Path) -> Result<Arc<dyn Store>> {
    if let Some(url) = postgres_url(path) {
        return open_postgis(url, false);
    }
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

/// Open the store at `path`, creating it (and its folder, or its schema in
/// the database) when missing: for `import` and `demo --load` only.
pub fn open_or_create(path: &Path) -> Result<Arc<dyn Store>> {
    if let Some(url) = postgres_url(path) {
        return open_postgis(url, true);
    }
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

/// The tokens, access log and places of the store at `path` (open the layer
/// store first: it creates and checks the file or schema).
pub fn open_tokens(path: &Path) -> Result<Box<dyn TokenStore>> {
    #[cfg(feature = "postgis")]
    if let Some(url) = postgres_url(path) {
        return Ok(Box::new(
            chaski_io::store::postgis::PostgisTokenStore::open(url)
                .context("opening the tokens of the PostGIS store")?,
        ));
    }
    Ok(Box::new(GpkgTokenStore::open(path).with_context(|| {
        format!("opening the tokens of {}", path.display())
    })?))
}
