//! chaski integration tests, built as one binary.

mod crs;
mod import;
