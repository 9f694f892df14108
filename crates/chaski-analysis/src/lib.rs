#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod clusters;
pub mod report;
pub mod siting;
pub mod travel;

#[cfg(test)]
pub(crate) mod testing;
