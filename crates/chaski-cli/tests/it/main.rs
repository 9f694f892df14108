//! The `chaski` binary end to end, built as one test binary: `import`, `demo`,
//! `summary` and `serve` (commands) and `catchments`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod catchments;
mod clusters;
mod commands;
mod common;
