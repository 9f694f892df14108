#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod auth;
pub mod crs;
pub mod disclosure;
pub mod domain;
pub mod household;
pub mod index;
pub mod layer;
pub mod raster;
pub mod schema;
pub mod store;
pub mod value;

pub use layer::{Feature, GeometryType, Layer, LayerKind};
pub use value::{Field, FieldType, Value};
