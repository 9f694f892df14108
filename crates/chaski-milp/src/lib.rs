#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "highs")]
pub mod highs;

#[cfg(feature = "highs")]
pub use crate::highs::Highs;
