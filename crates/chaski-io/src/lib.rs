#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "proj")]
pub mod crs;
pub mod csv;
#[cfg(feature = "gdal")]
pub mod gdal_vector;
pub mod households;
pub mod import;
pub mod join;
pub mod mapping;
#[cfg(feature = "gdal")]
pub mod raster;
pub mod store;
pub mod tables;
#[cfg(feature = "tilepack")]
pub mod tilepack;
