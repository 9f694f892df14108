//! The `chaski` binary end to end, built as one test binary: `import`, `demo`,
//! `summary` and `serve` (commands), `catchments`, `clusters`, a missing store
//! (store) and `serve` from any folder (serve).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names
)]

mod catchments;
mod clusters;
mod commands;
mod common;
mod gis_clients;
mod imports;
mod serve;
mod store;
mod summary;
