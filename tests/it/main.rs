//! chaski integration tests, built as one binary.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names,
    clippy::items_after_statements
)]

mod answers;
mod api;
mod attacks;
mod crs;
mod disclosure;
mod fuzz_inputs;
mod household_upload;
mod import;
mod malformed;
mod maps;
mod monitoring;
mod openapi;
mod ops;
mod replicas;
mod report;
mod security;
mod server;
mod siting;
mod store;
mod support;
mod tile_budget;
mod whatif;
