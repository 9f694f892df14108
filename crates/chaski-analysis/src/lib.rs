#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod clusters;
pub mod monitoring;
pub mod report;
pub mod risk_map;
pub mod siting;
pub mod travel;

#[cfg(test)]
pub(crate) mod testing;
