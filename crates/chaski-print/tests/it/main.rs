//! chaski-print end to end on synthetic maps, as one test binary: the
//! readability rules on every page size (readability), the PDF and PNG read
//! back with poppler's tools (output) and the label rules on random
//! villages (properties).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod output;
mod properties;
mod readability;
