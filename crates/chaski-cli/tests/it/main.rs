//! The `chaski` binary end to end, built as one test binary: `import`, `demo`,
//! `summary` and `serve` (commands), `catchments`, `clusters`, a missing store
//! (store), `serve` from any folder (serve) and README's first day on the
//! real data (first_day), printed risk maps read back by poppler (print), tile
//! packages (export), `chaski check` on damaged stores (check) and uploads
//! surviving SIGKILL of the server (crash).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names
)]

mod catchments;
mod check;
mod clusters;
mod commands;
mod common;
mod crash;
mod export;
mod first_day;
mod gis_clients;
mod imports;
mod malformed;
mod monitoring;
mod postgis;
mod print;
mod report;
mod serve;
mod site;
mod store;
mod summary;
