//! chaski-tiles integration tests, built as one binary: the vector-tile spec
//! examples, property tests of the geometry pipeline, generated and real data.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::struct_field_names,
    missing_docs
)]

mod common;
mod coordinate_fields;
mod dataset;
mod demo_region;
mod districts;
mod properties;
mod real_villages;
mod spec_fixtures;
mod villages_budget;
