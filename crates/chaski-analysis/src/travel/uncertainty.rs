//! Monte Carlo uncertainty of travel times over the scenario's speed parameters.
//!
//! Each run draws, uniformly and independently within the ranges of
//! [`MonteCarlo`] (seeded ChaCha8 generator, so runs are reproducible), a
//! multiplier of the walker factor, an off-path factor and a multiplier of
//! vehicle speeds; builds the terrain surface for that draw and runs the
//! search. Per query cell it reports empirical quantiles of the times over the
//! runs (a low and a high quantile and the median), the propagation of input
//! uncertainty by simulation recommended when parameters are only known as
//! ranges (e.g. JCGM 101:2008, *Evaluation of measurement data — Propagation
//! of distributions using a Monte Carlo method*).
//!
//! Parameters: [`TerrainInputs`], a [`Scenario`] (its `monte_carlo` ranges,
//! runs and seed), source cells, query cells, [`SearchOptions`] and the
//! quantiles. Returns one [`Interval`] per query, None for queries never reached.
//!
//! ```
//! use chaski_analysis::travel::cost::SearchOptions;
//! use chaski_analysis::travel::friction::TerrainInputs;
//! use chaski_analysis::travel::scenario::Scenario;
//! use chaski_analysis::travel::uncertainty::monte_carlo;
//! use chaski_core::raster::Raster;
//! let dem = Raster::filled(20, 1, [0.0, 30.0, 0.0, 30.0, 0.0, -30.0], None, 100f32);
//! let mut s = Scenario::walking();
//! s.monte_carlo.runs = 20;
//! let out = monte_carlo(&TerrainInputs::new(&dem), &s, &[(0, 0)], &[(19, 0)], &SearchOptions::default(), [0.05, 0.95]).unwrap();
//! let i = out[0].unwrap();
//! assert!(i.low < i.median && i.median < i.high);
//! ```

use super::cost::{SearchOptions, travel_time};
use super::friction::{FrictionError, TerrainInputs, terrain_surface};
use super::scenario::{MonteCarlo, Scenario};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Quantiles of one query cell's travel time over the runs, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Low quantile (e.g. 5 %).
    pub low: f32,
    /// Median.
    pub median: f32,
    /// High quantile (e.g. 95 %); infinite when more runs than that failed to reach the cell.
    pub high: f32,
    /// Runs in which the cell was reached.
    pub reached: u32,
}

/// The scenario of one Monte Carlo draw.
pub fn draw(base: &Scenario, rng: &mut impl Rng) -> Scenario {
    let mc: &MonteCarlo = &base.monte_carlo;
    let mut pick = |[lo, hi]: [f64; 2]| {
        if hi > lo {
            rng.random_range(lo..=hi)
        } else {
            lo
        }
    };
    let walker = pick(mc.walker_factor);
    let off_path = pick(mc.off_path_factor);
    let road = pick(mc.road_speed_factor);
    let mut s = base.clone();
    s.walker_factor *= walker;
    s.off_path_factor = off_path;
    s.road_speeds_kmh.track_road *= road;
    s.road_speeds_kmh.gravel_road *= road;
    s.road_speeds_kmh.paved_road *= road;
    s
}

/// Empirical quantile `q` (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[f32], q: f64) -> f32 {
    if sorted.is_empty() {
        return f32::INFINITY;
    }
    let rank = (q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Run the simulation. See the [module documentation](self).
pub fn monte_carlo(
    inputs: &TerrainInputs<'_>,
    scenario: &Scenario,
    sources: &[(usize, usize)],
    queries: &[(usize, usize)],
    options: &SearchOptions,
    quantiles: [f64; 2],
) -> Result<Vec<Option<Interval>>, FrictionError> {
    monte_carlo_observed(
        inputs,
        scenario,
        sources,
        queries,
        options,
        quantiles,
        &|_, _| {},
    )
}

/// [`monte_carlo`], calling `on_run(done, total)` after each run (for a
/// progress bar).
pub fn monte_carlo_observed(
    inputs: &TerrainInputs<'_>,
    scenario: &Scenario,
    sources: &[(usize, usize)],
    queries: &[(usize, usize)],
    options: &SearchOptions,
    [q_low, q_high]: [f64; 2],
    on_run: &dyn Fn(usize, usize),
) -> Result<Vec<Option<Interval>>, FrictionError> {
    scenario.validate()?;
    let runs = scenario.monte_carlo.runs.max(1) as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.monte_carlo.seed);
    let mut samples: Vec<Vec<f32>> = vec![Vec::with_capacity(runs); queries.len()];
    for run in 0..runs {
        let s = draw(scenario, &mut rng);
        let surface = terrain_surface(inputs, &s)?;
        let tt = travel_time(&surface, sources, options);
        for (acc, &(c, r)) in samples.iter_mut().zip(queries) {
            acc.push(tt.time(c, r).unwrap_or(f32::INFINITY));
        }
        on_run(run + 1, runs);
    }
    Ok(samples
        .into_iter()
        .map(|mut v| {
            v.sort_by(f32::total_cmp);
            let reached = v.iter().filter(|t| t.is_finite()).count() as u32;
            (reached > 0).then(|| Interval {
                low: quantile(&v, q_low),
                median: quantile(&v, 0.5),
                high: quantile(&v, q_high),
                reached,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::cost::tobler_kmh;
    use chaski_core::raster::Raster;

    fn flat() -> Raster<f32> {
        Raster::filled(30, 3, [0.0, 30.0, 0.0, 90.0, 0.0, -30.0], None, 500f32)
    }

    #[test]
    fn seeded_and_bounded() {
        let dem = flat();
        let mut s = Scenario::walking();
        s.monte_carlo.runs = 40;
        let inputs = TerrainInputs::new(&dem);
        let opts = SearchOptions::default();
        let run = |s: &Scenario| {
            monte_carlo(
                &inputs,
                s,
                &[(0, 1)],
                &[(29, 1), (10, 1)],
                &opts,
                [0.05, 0.95],
            )
            .unwrap()
        };
        let a = run(&s);
        assert_eq!(a, run(&s));
        // Flat, off path: time = 870 m / (tobler(0) * walker * off_path) with walker
        // in [0.8, 1.2] and off-path in [0.5, 0.7].
        let base = 870.0 / (tobler_kmh(0.0) / 3.6);
        let i = a[0].unwrap();
        assert_eq!(i.reached, 40);
        assert!(i.low <= i.median && i.median <= i.high);
        assert!(f64::from(i.low) >= base / (1.2 * 0.7) * 0.999);
        assert!(f64::from(i.high) <= base / (0.8 * 0.5) * 1.001);
        assert!(f64::from(i.high) > base / 0.6 && f64::from(i.low) < base / 0.6);
        // Another seed gives other draws.
        s.monte_carlo.seed = 7;
        assert_ne!(run(&s), a);
    }

    #[test]
    fn degenerate_ranges_give_the_deterministic_time() {
        let dem = flat();
        let mut s = Scenario::walking();
        s.monte_carlo.runs = 5;
        s.monte_carlo.walker_factor = [1.0, 1.0];
        s.monte_carlo.off_path_factor = [0.6, 0.6];
        let out = monte_carlo(
            &TerrainInputs::new(&dem),
            &s,
            &[(0, 1)],
            &[(29, 1), (50, 1)],
            &SearchOptions::default(),
            [0.05, 0.95],
        )
        .unwrap();
        let t = 870.0 / (tobler_kmh(0.0) / 3.6) / 0.6;
        let i = out[0].unwrap();
        for v in [i.low, i.median, i.high] {
            assert!((f64::from(v) - t).abs() < t * 1e-5);
        }
        assert_eq!(out[1], None);
    }
}
