//! Store backends that need file or database libraries (the trait and the
//! in-memory backend live in `chaski_core::store`).

#[cfg(feature = "gpkg")]
pub mod gpkg;
#[cfg(feature = "postgis")]
pub mod postgis;
#[cfg(feature = "gpkg")]
pub mod tokens;
