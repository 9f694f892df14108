//! Options of a search: direction of travel, time limit and move set.

use super::moves::Neighbourhood;

use serde::{Deserialize, Serialize};

/// Which way the traveller goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From each cell to the nearest source (patients going to a facility). Default.
    #[default]
    ToSource,
    /// From the sources out to each cell (staff visiting communities).
    FromSource,
}

/// Options of a search.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchOptions {
    /// Direction of travel (default: to the source).
    pub direction: Direction,
    /// Stop at this many seconds: cells farther away stay unreached. None: no limit.
    pub max_seconds: Option<f64>,
    /// Moves allowed (default: the 16 of GRASS `r.cost -k`).
    pub neighbourhood: Neighbourhood,
}

impl SearchOptions {
    /// The time limit in seconds (infinite without one, 0 for NaN).
    pub(crate) fn limit(&self) -> f32 {
        match self.max_seconds {
            Some(m) if m.is_nan() => 0.0,
            Some(m) => m.max(0.0) as f32,
            None => f32::INFINITY,
        }
    }

    /// Slope sign: the traveller walks from the settled cell to its neighbour
    /// when going away from the sources, from the neighbour to it when going to them.
    pub(crate) fn slope_sign(&self) -> f32 {
        match self.direction {
            Direction::FromSource => 1.0,
            Direction::ToSource => -1.0,
        }
    }
}
