//! Travel-time matrices: minutes between each candidate site and the villages
//! within a time limit of it, one bounded search per candidate
//! ([`times_within`]: each touches only the cells within its reach), the
//! candidates searched in parallel. Siting reads them (a woman walks *to* a
//! maternity waiting home: [`Direction::ToSource`]).

use super::cost::{CostSurface, Direction, SearchOptions, times_within};
use super::error::TravelError;
use super::inputs::TravelInputs;
use rayon::prelude::*;

/// Minutes between candidates and the villages of [`TravelInputs::places`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReachMatrix {
    /// `(village, candidate, minutes)` for every pair within the limit:
    /// villages as indexes into the inputs' places, candidates into the list
    /// given; sorted by candidate, then village.
    pub entries: Vec<(usize, usize, f32)>,
    /// Candidates off the surface (outside the grid or on an impassable cell):
    /// they reach no village.
    pub off_surface: Vec<usize>,
    /// The time limit, minutes.
    pub max_minutes: f64,
}

impl TravelInputs {
    /// Minutes between each of `candidates` (longitude, latitude) and every
    /// village within `max_minutes` of it on `surface` (built by
    /// [`TravelInputs::surface`]), travelling `direction` (to the candidate by
    /// default). A village on the candidate's own cell is 0 minutes away.
    pub fn reach(
        &self,
        surface: &CostSurface,
        candidates: &[(f64, f64)],
        max_minutes: f64,
        direction: Direction,
    ) -> Result<ReachMatrix, TravelError> {
        if !(max_minutes.is_finite() && max_minutes > 0.0) {
            return Err(TravelError::Option {
                option: "max_minutes",
                value: max_minutes.to_string(),
                reason: "must be a positive number of minutes",
            });
        }
        let grid = surface.grid();
        let cell = |xy: Option<(f64, f64)>| xy.and_then(|(x, y)| grid.cell_at(x, y));
        let off = (usize::MAX, usize::MAX);
        let targets: Vec<(usize, usize)> = self
            .places
            .iter()
            .map(|p| cell(Some((p.village.x, p.village.y))).unwrap_or(off))
            .collect();
        let sites: Vec<Option<(usize, usize)>> = self
            .metric
            .projection
            .forward_each(candidates)
            .into_iter()
            .map(|xy| cell(xy.ok()).filter(|&(c, r)| surface.passable(c, r)))
            .collect();
        let opts = SearchOptions {
            direction,
            max_seconds: Some(max_minutes * 60.0),
            neighbourhood: self.neighbourhood,
        };
        let rows: Vec<Vec<(usize, usize, f32)>> = sites
            .par_iter()
            .enumerate()
            .map(|(k, site)| {
                let Some(site) = *site else {
                    return Vec::new();
                };
                times_within(surface, site, &opts, &targets)
                    .into_iter()
                    .enumerate()
                    .filter_map(|(v, t)| t.map(|s| (v, k, s / 60.0)))
                    .collect()
            })
            .collect();
        Ok(ReachMatrix {
            entries: rows.into_iter().flatten().collect(),
            off_surface: sites
                .iter()
                .enumerate()
                .filter_map(|(k, s)| s.is_none().then_some(k))
                .collect(),
            max_minutes,
        })
    }
}
