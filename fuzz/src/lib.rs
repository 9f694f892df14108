//! chaski fuzz targets: the harness each target runs (see `harness.rs`).
#![forbid(unsafe_code)]

mod harness;
pub use harness::*;
