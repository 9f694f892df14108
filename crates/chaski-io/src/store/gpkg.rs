//! The GeoPackage file store: the embedded default backend, a single `.gpkg`
//! file that QGIS and GDAL open directly.
//!
//! Every vector layer is a GeoPackage 1.3 feature table (`fid`, `geom`, one
//! column per field) registered in `gpkg_contents` and `gpkg_geometry_columns`,
//! with a `gpkg_rtree_index` spatial index (`rtree_<layer>_geom` and the
//! standard triggers; the `ST_*` functions they call are registered on our
//! connection). chaski's own metadata lives in `chaski_layers` (kind, fields,
//! version per layer) and `chaski_meta` (the store-wide data version). Rasters
//! are GeoPackage 2D gridded coverages (Float32 TIFF tiles, module `coverage`);
//! stores written before, with rasters in `chaski_rasters`, are migrated on open.
//!
//! The file runs in WAL mode with `synchronous=FULL`: every write is one
//! transaction, and once it returns `Ok` it survives a crash (also of the
//! operating system or a power cut: `NORMAL` would sync the WAL only at
//! checkpoints, and could lose the last acknowledged commits).
//!
//! The layout's version is stored in the file (`schema_version` in
//! `chaski_meta`, [`SCHEMA_VERSION`]); opening an older file runs the
//! migrations it lacks ([`MIGRATIONS`]) in one transaction, and a newer file is
//! refused before anything is written to it (module `schema`).
//! [`check_store`] is the read-only full check of a file (`chaski check`,
//! module `verify`). A layer written
//! whole (replace, or a write of 2,000 features or more) gets its rtree
//! bulk-loaded (Hilbert-sorted, packed nodes, as GDAL does); smaller writes go
//! through the triggers.
//!
//! Opening checks the file cheaply (SQLite header, declared size against the
//! file length, `application_id`) and runs `PRAGMA quick_check` up to 64 MiB
//! (in the background when opening writes nothing: reads return their data
//! only once it has passed, writes wait for it; module `check`): a damaged or
//! foreign file gives
//! [`StoreError::Corrupt`](chaski_core::store::StoreError::Corrupt) and is left untouched.
//!
//! Geometries are stored in the layer's geometry type when that is lossless
//! (GeoPackage requires a `MULTIPOLYGON` column to hold multi polygons): in
//! line layers a `LineString` is stored (and read back) as a one-part
//! `MultiLineString`, in polygon layers a `Polygon` as a `MultiPolygon`, and in
//! point layers a one-point `MultiPoint` as a `Point` (also when reading files
//! other tools wrote). Other geometries are stored as written.
//!
//! The parts: opening and creating a file (`open`), its layout and
//! migrations (`schema`), its integrity check on open (`check`) and the full
//! check (`verify`), the SQL functions the
//! rtree triggers call (`sql_functions`), the geometry codec (`codec`),
//! spatial reference systems (`srs`), the layer tables (`layers`, with their
//! SQL in `sql`, chaski's bookkeeping in `meta` and the spatial index in
//! `rtree`), rasters (`coverage`) and the [`Store`](chaski_core::store::Store)
//! implementation (`store_impl`).

mod check;
mod codec;
mod coverage;
mod error;
mod layers;
mod meta;
mod open;
mod rtree;
pub(super) mod schema;
mod sql;
mod sql_functions;
mod srs;
mod store_impl;
#[cfg(test)]
mod test_support;
mod verify;

pub use codec::{GeometryBlobError, blob_bounds, decode_gpkg_geometry, encode_gpkg_geometry};
pub use open::GpkgStore;
pub use schema::{MIGRATIONS, Migration, SCHEMA_VERSION, stored_version};
pub use verify::{CheckItem, StoreCheck, check_store};
