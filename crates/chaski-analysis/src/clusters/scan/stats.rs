//! The scan's log-likelihood ratios.

/// x·ln(x/y) with 0·ln 0 = 0.
#[inline]
pub(super) fn xlog(x: f64, y: f64) -> f64 {
    if x > 0.0 { x * (x / y).ln() } else { 0.0 }
}

/// The part of the Bernoulli LLR every window shares,
/// C·ln(C/N) + (N−C)·ln((N−C)/N), computed once per scan.
pub(super) fn bernoulli_null_term(big_c: f64, big_n: f64) -> f64 {
    xlog(big_c, big_n) + xlog(big_n - big_c, big_n)
}

/// Bernoulli LLR of a window with `c` cases among `n` households (N, C
/// totals; `null_term` from [`bernoulli_null_term`]), or None when the window
/// is not high-rate.
#[inline]
pub(super) fn bernoulli_llr(c: f64, n: f64, big_c: f64, big_n: f64, null_term: f64) -> Option<f64> {
    if c * big_n <= n * big_c {
        return None;
    }
    let out_n = big_n - n;
    let out_c = big_c - c;
    let l =
        xlog(c, n) + xlog(n - c, n) + xlog(out_c, out_n) + xlog(out_n - out_c, out_n) - null_term;
    Some(l)
}

/// Poisson LLR of a window with `c` cases and expected `e` (C total cases).
#[inline]
pub(super) fn poisson_llr(c: f64, e: f64, big_c: f64) -> Option<f64> {
    if c <= e || e.is_nan() {
        return None;
    }
    Some(xlog(c, e) + xlog(big_c - c, big_c - e))
}
