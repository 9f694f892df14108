//! Monitoring over time: indicators by survey round or period, with Wilson
//! intervals, changes between rounds and disclosure control; the difference in
//! differences of intervention and control communities; the CHA visit
//! schedule.
//!
//! One module per job:
//!
//! - [`predicate`]: the vocabulary of household predicates (numerators and
//!   denominators), one parser for the indicator file, the command line and
//!   HTTP;
//! - [`config`]: the indicator file (TOML; built-in defaults);
//! - [`data`]: the household records a caller may use;
//! - [`wilson`]: Wilson and Newcombe intervals;
//! - [`protect`]: suppression in linked tables (communities, districts,
//!   groups);
//! - [`table`]: indicator tables (`chaski indicators`, `GET /api/indicators`);
//! - [`did`]: difference in differences with CR1 cluster-robust standard
//!   errors and a permutation p-value (`chaski did`, `GET /api/did`);
//! - [`map`]: the choropleth of one indicator and round by community, with
//!   the change between baseline and endline and the group (the
//!   `indicators` tiles);
//! - [`visits`]: households due a CHA visit (`chaski visits`,
//!   `GET /api/visits/due`).

pub mod config;
pub mod data;
pub mod did;
pub mod map;
pub mod predicate;
pub mod protect;
pub mod table;
pub mod visits;
pub mod wilson;

#[cfg(test)]
mod tests;

/// Errors of the monitoring computations, each naming the option at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MonitoringError {
    /// A value outside an option's vocabulary.
    #[error("{option}: '{value}' is not one of {expected}")]
    Vocabulary {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
    /// A grouping finer than communities asked for a protected table.
    #[error(
        "by: '{0}' tables are for callers who see household records (admin, or a CHA or facility \
         token for its own scope); aggregates are by community or district"
    )]
    ProtectedGrouping(&'static str),
    /// The evaluation design cannot be estimated.
    #[error("difference in differences: {0}")]
    Design(String),
}
