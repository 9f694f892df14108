//! Wilson score interval of a binomial proportion, and Newcombe's hybrid score
//! interval of a difference of two proportions built from it.
//!
//! Wilson, E. B. (1927). Probable inference, the law of succession, and
//! statistical inference. *Journal of the American Statistical Association*
//! 22(158), 209–212. Newcombe, R. G. (1998). Interval estimation for the
//! difference between independent proportions: comparison of eleven methods.
//! *Statistics in Medicine* 17(8), 873–890 (method 10).
//!
//! For `n` successes of `d` trials, p̂ = n/d and z = Φ⁻¹(0.975):
//! centre (p̂ + z²/2d) / (1 + z²/d), half-width
//! z·√(p̂(1−p̂)/d + z²/4d²) / (1 + z²/d) — the interval of statsmodels'
//! `proportion_confint(n, d, alpha=0.05, method="wilson")`.
//!
//! Parameters: successes and trials. Returns `(low, high)` in \[0, 1\], or
//! None for `d = 0`.
//!
//! ```
//! use chaski_analysis::monitoring::wilson::wilson;
//! // statsmodels: proportion_confint(12, 40, method="wilson")
//! let (lo, hi) = wilson(12, 40).unwrap();
//! assert!((lo - 0.180_748_452_297).abs() < 1e-9 && (hi - 0.454_300_188_181).abs() < 1e-9, "{lo} {hi}");
//! assert_eq!(wilson(0, 0), None);
//! ```

/// Φ⁻¹(0.975), the z of a 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson 95% interval of `n` of `d` (None when `d` is 0).
pub fn wilson(n: u64, d: u64) -> Option<(f64, f64)> {
    if d == 0 {
        return None;
    }
    let (n, d) = (n.min(d) as f64, d as f64);
    let p = n / d;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / d;
    let centre = (p + z2 / (2.0 * d)) / denom;
    let half = Z95 * (p * (1.0 - p) / d + z2 / (4.0 * d * d)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Newcombe's hybrid score 95% interval of p₂ − p₁ (`n2/d2 − n1/d1`), None
/// when a denominator is 0. It assumes independent samples; for the same
/// households surveyed twice it is conservative when answers correlate
/// positively.
pub fn newcombe(n1: u64, d1: u64, n2: u64, d2: u64) -> Option<(f64, f64)> {
    let (l1, u1) = wilson(n1, d1)?;
    let (l2, u2) = wilson(n2, d2)?;
    let (p1, p2) = (n1 as f64 / d1 as f64, n2 as f64 / d2 as f64);
    let diff = p2 - p1;
    let low = diff - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt();
    let high = diff + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt();
    Some((low, high))
}
