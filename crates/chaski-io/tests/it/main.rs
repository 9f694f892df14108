//! Integration tests of chaski-io: household imports and the PROJ adapter under
//! the engine's pipelines.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::float_cmp,
    clippy::unreadable_literal,
    clippy::items_after_statements,
    clippy::many_single_char_names
)]

mod households;
mod metric;
mod store_contract;
