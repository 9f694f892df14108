//! Getis–Ord Gi* hot-spot statistic with k-nearest-neighbour weights and
//! Benjamini–Hochberg false-discovery-rate correction.
//!
//! Getis, A. & Ord, J. K. (1992). *The analysis of spatial association by use
//! of distance statistics.* Geographical Analysis 24(3), 189–206.
//! Ord, J. K. & Getis, A. (1995). *Local spatial autocorrelation statistics:
//! distributional issues and an application.* Geographical Analysis 27(4),
//! 286–306. Benjamini, Y. & Hochberg, Y. (1995). *Controlling the false
//! discovery rate.* JRSS B 57(1), 289–300.
//!
//! For feature i with binary weights w_ij = 1 for i itself and its `k` nearest
//! neighbours (ties broken by index), 0 otherwise, over n features with values
//! x, mean x̄ and S = √(Σx²/n − x̄²), the standardised statistic of Ord & Getis
//! (1995, eq. 14) is
//!
//! Gi* = (Σ_j w_ij x_j − x̄ W_i) / (S √((n S1_i − W_i²)/(n − 1))),
//! W_i = Σ_j w_ij = k + 1, S1_i = Σ_j w_ij² = k + 1,
//!
//! a z-score; the two-sided p-value is erfc(|z|/√2) (`libm`'s erfc, a port of
//! musl/FreeBSD msun, accurate to about 1 ulp). q-values are Benjamini–Hochberg
//! adjusted p-values: q_(i) = min_{j ≥ i} m·p_(j)/j over the p-values sorted
//! ascending, capped at 1; a feature is significant at FDR `alpha` when q ≤ alpha.
//!
//! Parameters: aggregated features (cells, communities) as points in metres
//! (`[x, y]` of a projected CRS), one value each, and `k`. Returns one
//! [`GiStar`] per feature.
//!
//! ```
//! use chaski_analysis::clusters::gistar::{gi_star, Spot};
//! // A row of cells: high values at the east end.
//! let pts: Vec<[f64; 2]> = (0..30).map(|i| [1000.0 * f64::from(i), 0.0]).collect();
//! let vals: Vec<f64> = (0..30).map(|i| if i >= 25 { 20.0 } else { 1.0 + f64::from(i % 3) }).collect();
//! let g = gi_star(&pts, &vals, 4).unwrap();
//! assert!(g[27].z > 3.0 && g[27].spot(0.05) == Spot::Hot);
//! assert_eq!(g[5].spot(0.05), Spot::None);
//! ```

use rstar::RTree;
use rstar::primitives::GeomWithData;
use thiserror::Error;

/// Errors of [`gi_star`] and [`benjamini_hochberg`].
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GiStarError {
    /// `values` does not have one value per point.
    #[error("{got} values for {expected} points")]
    LengthMismatch {
        /// Number of points.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A coordinate or value is NaN or infinite.
    #[error("feature {index}: non-finite {what}")]
    NonFinite {
        /// Index of the feature.
        index: usize,
        /// "coordinate" or "value".
        what: &'static str,
    },
    /// `k + 1` neighbours (self included) need more than `k + 1` features.
    #[error("k = {k} needs more than {} features, got {n}", k + 1)]
    TooFewFeatures {
        /// The k given.
        k: usize,
        /// Number of features.
        n: usize,
    },
    /// All values are equal: Gi* is undefined.
    #[error("all {n} values are equal: Gi* is undefined")]
    ZeroVariance {
        /// Number of features.
        n: usize,
    },
    /// A p-value is outside [0, 1].
    #[error("p-value {index} = {value} is not in [0, 1]")]
    InvalidPValue {
        /// Position in the list.
        index: usize,
        /// Its value.
        value: f64,
    },
}

/// Hot or cold spot at a false discovery rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spot {
    /// Significantly high values around the feature (z > 0, q ≤ alpha).
    Hot,
    /// Significantly low values around the feature (z < 0, q ≤ alpha).
    Cold,
    /// Not significant.
    None,
}

/// Gi* of one feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GiStar {
    /// z-score.
    pub z: f64,
    /// Two-sided p-value from the standard normal distribution.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value (FDR-adjusted p-value) over all features.
    pub q_value: f64,
}

impl GiStar {
    /// Hot or cold spot when `q_value <= alpha`.
    pub fn spot(&self, alpha: f64) -> Spot {
        if self.q_value > alpha {
            Spot::None
        } else if self.z > 0.0 {
            Spot::Hot
        } else if self.z < 0.0 {
            Spot::Cold
        } else {
            Spot::None
        }
    }
}

/// Two-sided p-value of a standard normal z-score: 2·(1 − Φ(|z|)) = erfc(|z|/√2).
pub fn two_sided_p(z: f64) -> f64 {
    libm::erfc(z.abs() / std::f64::consts::SQRT_2)
}

/// Benjamini–Hochberg q-values of p-values, in the input order.
pub fn benjamini_hochberg(p: &[f64]) -> Result<Vec<f64>, GiStarError> {
    if let Some(index) = p.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(GiStarError::InvalidPValue {
            index,
            value: p[index],
        });
    }
    let m = p.len() as f64;
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut q = vec![0.0; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank + 1) as f64);
        q[i] = running;
    }
    Ok(q)
}

/// Which q-values are significant at false discovery rate `alpha`.
pub fn significant(q: &[f64], alpha: f64) -> Vec<bool> {
    q.iter().map(|&v| v <= alpha).collect()
}

/// Gi* of every feature with `k` nearest neighbours plus itself.
/// See the [module documentation](self).
pub fn gi_star(points: &[[f64; 2]], values: &[f64], k: usize) -> Result<Vec<GiStar>, GiStarError> {
    let count = points.len();
    if values.len() != count {
        return Err(GiStarError::LengthMismatch {
            expected: count,
            got: values.len(),
        });
    }
    for (index, p) in points.iter().enumerate() {
        if !p[0].is_finite() || !p[1].is_finite() {
            return Err(GiStarError::NonFinite {
                index,
                what: "coordinate",
            });
        }
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(GiStarError::NonFinite {
            index,
            what: "value",
        });
    }
    if count <= k + 1 {
        return Err(GiStarError::TooFewFeatures { k, n: count });
    }
    let nf = count as f64;
    let mean = values.iter().sum::<f64>() / nf;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / nf;
    let sd = var.sqrt();
    if sd <= f64::EPSILON * mean.abs().max(1.0) * 16.0 {
        return Err(GiStarError::ZeroVariance { n: count });
    }
    let tree: RTree<GeomWithData<[f64; 2], usize>> = RTree::bulk_load(
        points
            .iter()
            .enumerate()
            .map(|(i, &p)| GeomWithData::new(p, i))
            .collect(),
    );
    let weight = (k + 1) as f64;
    let denom = sd * ((nf * weight - weight * weight) / (nf - 1.0)).sqrt();
    let mut zs = Vec::with_capacity(count);
    let mut near: Vec<(f64, usize)> = Vec::new();
    for (i, &pt) in points.iter().enumerate() {
        // The k nearest others, ties at the k-th distance broken by index.
        near.clear();
        let mut kth = f64::INFINITY;
        for (g, d2) in tree.nearest_neighbor_iter_with_distance_2(pt) {
            if g.data == i {
                continue;
            }
            if near.len() >= k && (k == 0 || d2 > kth) {
                break;
            }
            near.push((d2, g.data));
            if near.len() == k {
                kth = d2;
            }
        }
        near.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let sum = values[i] + near.iter().take(k).map(|&(_, j)| values[j]).sum::<f64>();
        zs.push((sum - mean * weight) / denom);
    }
    let ps: Vec<f64> = zs.iter().map(|&v| two_sided_p(v)).collect();
    let qs = benjamini_hochberg(&ps)?;
    Ok(zs
        .into_iter()
        .zip(ps)
        .zip(qs)
        .map(|((z, p_value), q_value)| GiStar {
            z,
            p_value,
            q_value,
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    #[test]
    fn gi_star_by_hand() {
        // Five features on a line at irregular spacing, so each nearest
        // neighbour is unique: 0→1, 1→0, 2→1, 3→2, 4→3.
        let pts = [
            [0.0, 0.0],
            [100.0, 0.0],
            [250.0, 0.0],
            [450.0, 0.0],
            [700.0, 0.0],
        ];
        let vals = [1.0, 2.0, 3.0, 10.0, 12.0];
        let g = gi_star(&pts, &vals, 1).unwrap();
        // n = 5, x̄ = 28/5 = 5.6, Σx² = 258, S = √(258/5 − 5.6²) = √20.24,
        // W = S1 = 2, denominator = S·√((5·2 − 4)/4) = √20.24·√1.5.
        let denom = 20.24f64.sqrt() * 1.5f64.sqrt();
        let sums = [1.0 + 2.0, 2.0 + 1.0, 3.0 + 2.0, 10.0 + 3.0, 12.0 + 10.0];
        for (gi, sum) in g.iter().zip(sums) {
            let z = (sum - 5.6 * 2.0) / denom;
            assert!((gi.z - z).abs() < 1e-12, "{} vs {z}", gi.z);
        }
        assert!((g[4].z - 1.960_08).abs() < 1e-5); // 10.8 / 5.50999…
        // Two-sided p of z = 1.96008: 0.049992… (normal tables: p(1.96) = 0.04999579)
        assert!((two_sided_p(1.959_963_984_540_054) - 0.05).abs() < 1e-12);
        assert!((two_sided_p(-1.0) - 0.317_310_507_862_914_1).abs() < 1e-14);
        assert!((two_sided_p(0.0) - 1.0).abs() < 1e-15);
        assert!(g[4].p_value > 0.0499 && g[4].p_value < 0.05);
    }

    #[test]
    fn ties_are_broken_by_index() {
        // Regular spacing: feature 1's neighbours 0 and 2 tie; k = 1 takes 0.
        let pts = [[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]];
        let vals = [0.0, 0.0, 8.0, 4.0];
        let g = gi_star(&pts, &vals, 1).unwrap();
        // x̄ = 3, S = √(80/4 − 9) = √11, denominator √11·√((8 − 4)/3)
        let denom = 11f64.sqrt() * (4.0f64 / 3.0).sqrt();
        assert!((g[1].z - (0.0 - 6.0) / denom).abs() < 1e-12);
        // Feature 2's neighbours 1 and 3 tie; k = 1 takes 1: sum 8 + 0.
        assert!((g[2].z - (8.0 - 6.0) / denom).abs() < 1e-12);
    }

    #[test]
    fn bh_by_hand() {
        // m = 5; sorted p: 0.005, 0.01, 0.03, 0.04, 0.20
        // m·p/rank: 0.025, 0.025, 0.05, 0.05, 0.2; running minimum from the top.
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, 0.20]).unwrap();
        let want = [0.025, 0.05, 0.05, 0.025, 0.2];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{q:?}");
        }
        assert_eq!(significant(&q, 0.05), vec![true, true, true, true, false]);
        // Monotonicity: 0.01·4/1 = 0.04, 0.02·4/2 = 0.04, 0.025·4/3 = 0.0333,
        // 0.5·4/4 = 0.5 → q = 0.0333 for the first three.
        let q = benjamini_hochberg(&[0.01, 0.02, 0.025, 0.5]).unwrap();
        let want = [0.1 / 3.0, 0.1 / 3.0, 0.1 / 3.0, 0.5];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{q:?}");
        }
        // Capped at 1.
        assert_eq!(benjamini_hochberg(&[0.9, 0.8]).unwrap(), vec![0.9, 0.9]);
        assert_eq!(benjamini_hochberg(&[1.0]).unwrap(), vec![1.0]);
        assert!(benjamini_hochberg(&[]).unwrap().is_empty());
        assert!(matches!(
            benjamini_hochberg(&[0.1, 1.5]),
            Err(GiStarError::InvalidPValue { index: 1, .. })
        ));
    }

    #[test]
    fn errors() {
        let pts = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]];
        assert!(matches!(
            gi_star(&pts, &[1.0, 1.0, 1.0], 1),
            Err(GiStarError::ZeroVariance { n: 3 })
        ));
        assert!(matches!(
            gi_star(&pts, &[1.0, 2.0, 3.0], 2),
            Err(GiStarError::TooFewFeatures { k: 2, n: 3 })
        ));
        assert!(matches!(
            gi_star(&pts, &[1.0, 2.0], 1),
            Err(GiStarError::LengthMismatch { .. })
        ));
        assert!(matches!(
            gi_star(&pts, &[1.0, f64::NAN, 2.0], 1),
            Err(GiStarError::NonFinite {
                index: 1,
                what: "value"
            })
        ));
    }
}
