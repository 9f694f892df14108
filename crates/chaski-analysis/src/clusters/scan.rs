//! Kulldorff's spatial scan statistic (circular windows), Bernoulli and
//! Poisson models, with Monte Carlo p-values.
//!
//! Kulldorff, M. (1997). *A spatial scan statistic.* Communications in
//! Statistics — Theory and Methods 26(6), 1481–1496. Secondary clusters follow
//! the non-overlap criterion of SaTScan (Kulldorff, *SaTScan User Guide*):
//! no shared household with a more likely reported cluster.
//!
//! **Windows.** Circles centred on each household, growing through its nearest
//! neighbours (households at the same distance enter together) while the window
//! holds at most `max_share` of all households (Bernoulli) or of the total
//! population (Poisson), and, if set, while its radius is at most `max_radius`
//! metres. Only high-rate windows (observed > expected) with at least
//! `min_cases` cases are scored.
//!
//! **Bernoulli model** (cases = households with the chosen flags, controls =
//! the others; N households, C cases; a window has n households, c cases):
//!
//! LLR = c·ln(c/n) + (n−c)·ln((n−c)/n) + (C−c)·ln((C−c)/(N−n)) +
//! ((N−n)−(C−c))·ln(((N−n)−(C−c))/(N−n)) − [C·ln(C/N) + (N−C)·ln((N−C)/N)],
//!
//! with 0·ln 0 = 0; expected = n·C/N; relative risk = (c/n)/((C−c)/(N−n)).
//! Replicates permute the case labels among the households.
//!
//! **Poisson model** (population per household, e.g. household size; cases =
//! people with a condition; total population P, C cases; a window has
//! population p, expected E = p·C/P): LLR = c·ln(c/E) + (C−c)·ln((C−c)/(C−E))
//! for c > E; relative risk = (c/E)/((C−c)/(C−E)). Replicates allocate the C
//! cases at random in proportion to population (multinomial), the usual
//! conditional Poisson null.
//!
//! **Inference.** `replicates` Monte Carlo replicates (seeded ChaCha8, stream
//! `r` for replicate `r`, so results do not depend on the number of threads);
//! each cluster's p-value is rank/(R+1) with rank = 1 + the number of
//! replicates whose maximum LLR is ≥ the cluster's LLR; secondary clusters are
//! compared with the same null distribution of the maximum (conservative).
//!
//! **Speed.** Each centre's neighbour order is computed once (capped by the
//! share and radius; module `windows`: nearest candidates selected and radix
//! sorted on f32 distances, then put in exact order) and reused for every
//! replicate: only the case labels change. For the Bernoulli model the
//! replicates run 64 at a time, one counter lane per replicate, walking each
//! centre's list once per batch and keeping, per window size n, the largest
//! case count of any window (for a fixed n the LLR of a high-rate window grows
//! with c), so the LLR is computed once per (n, replicate) instead of once per
//! window; batches run in parallel with rayon, and the walk uses the widest
//! vector instructions the processor has (module `null`). The observed data
//! are scored only at windows whose last tie group holds a case (for a fixed c
//! the LLR falls as n grows). Memory is 4 bytes per (centre, neighbour) pair:
//! N²·share·4 bytes without a radius, e.g. 200 MB for 10,000 households at
//! 50 % (inputs needing more than 2^30 pairs are refused: lower `max_share` or
//! set `max_radius`). The Poisson model walks every window of every replicate
//! (O(R·N²·share)); it suits community- or village-level data of a few
//! thousand points.
//!
//! Parameters: points in metres (`[x, y]` of a projected CRS), per-point data
//! and [`ScanOptions`]. Returns a [`ScanResult`]: clusters ordered by LLR (the
//! most likely first) and the null distribution.
//!
//! ```
//! use chaski_analysis::clusters::scan::{ScanOptions, bernoulli};
//! // 40 households on a line every 100 m, cases at 10–14 and two isolated ones.
//! let points: Vec<[f64; 2]> = (0..40).map(|i| [100.0 * f64::from(i), 0.0]).collect();
//! let cases: Vec<bool> = (0..40).map(|i| (10..=14).contains(&i) || i == 30 || i == 2).collect();
//! let opts = ScanOptions { replicates: 199, ..ScanOptions::default() };
//! let result = bernoulli(&points, &cases, &opts).unwrap();
//! let top = &result.clusters[0];
//! let mut members = top.members.clone();
//! members.sort();
//! assert_eq!(members, vec![10, 11, 12, 13, 14]);
//! assert_eq!((top.cases, top.households), (5, 5));
//! assert!((top.expected - 5.0 * 7.0 / 40.0).abs() < 1e-12);
//! assert!(top.p_value < 0.05);
//! ```

mod null;
mod stats;
mod windows;

use null::{NullDistribution, replicate_rng};
use rand::Rng;
use rayon::prelude::*;
use stats::{bernoulli_llr, bernoulli_null_term, poisson_llr};
use thiserror::Error;
use windows::{IDX, LAST, Windows};

/// Errors of the scan statistic.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ScanError {
    /// A per-point slice does not have one value per point.
    #[error("{what} has {got} values for {expected} points")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// Number of points.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// A coordinate is NaN or infinite.
    #[error("point {index} has a non-finite coordinate ({x}, {y})")]
    NonFinite {
        /// Index of the point.
        index: usize,
        /// Its x.
        x: f64,
        /// Its y.
        y: f64,
    },
    /// An option is out of range.
    #[error("option {name} = {value} is out of range")]
    InvalidOption {
        /// Option name.
        name: &'static str,
        /// Value given.
        value: f64,
    },
    /// A population is negative or not finite, or holds cases with no population.
    #[error("household {index}: population {population} cannot hold {cases} cases")]
    InvalidPopulation {
        /// Index of the point.
        index: usize,
        /// Its population.
        population: f64,
        /// Its cases.
        cases: u32,
    },
    /// The neighbour lists would be too large for memory.
    #[error(
        "{points} points with max_share {share} need {entries} neighbour entries; lower max_share or set max_radius"
    )]
    TooLarge {
        /// Number of points.
        points: usize,
        /// The share.
        share: f64,
        /// Entries needed.
        entries: u128,
    },
}

/// Options of the scan. See the [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanOptions {
    /// Largest window as a share of all households (Bernoulli) or of the total
    /// population (Poisson), in (0, 1]. Default 0.5.
    pub max_share: f64,
    /// Largest window radius in metres, if any. Default none.
    pub max_radius: Option<f64>,
    /// Monte Carlo replicates. Default 999.
    pub replicates: usize,
    /// Seed of the replicates. Default 1997.
    pub seed: u64,
    /// Fewest cases in a scored window. Default 2.
    pub min_cases: u32,
    /// Most clusters reported (the most likely plus secondary ones). Default 10.
    pub max_clusters: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_share: 0.5,
            max_radius: None,
            replicates: 999,
            seed: 1997,
            min_cases: 2,
            max_clusters: 10,
        }
    }
}

/// One reported cluster (a circular window).
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Index of the centre household.
    pub centre: usize,
    /// Coordinates of the centre, metres.
    pub centre_xy: [f64; 2],
    /// Radius: distance from the centre to the farthest member, metres.
    pub radius: f64,
    /// Member indices, nearest to the centre first.
    pub members: Vec<usize>,
    /// Observed cases in the window.
    pub cases: u64,
    /// Households in the window (n).
    pub households: usize,
    /// Population in the window (Poisson); equals `households` for Bernoulli.
    pub population: f64,
    /// Expected cases under the null: n·C/N (Bernoulli) or p·C/P (Poisson).
    pub expected: f64,
    /// Relative risk inside versus outside the window.
    pub relative_risk: f64,
    /// Log-likelihood ratio.
    pub llr: f64,
    /// Monte Carlo p-value, rank/(R+1).
    pub p_value: f64,
    /// 1 + replicates whose maximum LLR is ≥ this LLR.
    pub rank: usize,
}

/// Result of a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanResult {
    /// Clusters, the most likely first, then non-overlapping secondary ones
    /// by decreasing LLR (at most `max_clusters`).
    pub clusters: Vec<Cluster>,
    /// Maximum LLR of each replicate (0 when a replicate has no scored window).
    pub null_max_llr: Vec<f64>,
    /// Total cases C.
    pub total_cases: u64,
    /// Households N (Bernoulli) or total population P (Poisson).
    pub total: f64,
}

#[derive(Clone, Copy)]
enum Model {
    /// N households, C cases and the LLR's shared part.
    Bernoulli {
        n: f64,
        c: f64,
        null_term: f64,
    },
    Poisson {
        p: f64,
        c: f64,
    },
}

impl Model {
    fn llr(self, c: f64, w: f64) -> Option<f64> {
        match self {
            Model::Bernoulli {
                n,
                c: big_c,
                null_term,
            } => bernoulli_llr(c, w, big_c, n, null_term),
            Model::Poisson { p, c: big_c } => poisson_llr(c, w * big_c / p, big_c),
        }
    }
}

/// Best window of each centre: (llr, centre, length of its list prefix).
fn best_windows(
    windows: &Windows,
    cases: &[u32],
    weights: Option<&[f64]>,
    model: Model,
    min_cases: u32,
) -> Vec<(f64, usize, usize)> {
    (0..cases.len())
        .into_par_iter()
        .filter_map(|centre| {
            let mut c = 0u64;
            let mut w = 0.0;
            let mut grew = false;
            let mut best: Option<(f64, usize, usize)> = None;
            for (pos, &e) in windows.list(centre).iter().enumerate() {
                let j = (e & IDX) as usize;
                let cj = cases[j];
                c += u64::from(cj);
                grew |= cj > 0;
                w += weights.map_or(1.0, |ws| ws[j]);
                if e & LAST != 0 && grew {
                    grew = false;
                    if c >= u64::from(min_cases)
                        && let Some(l) = model.llr(c as f64, w)
                        && best.is_none_or(|b| l > b.0)
                    {
                        best = Some((l, centre, pos + 1));
                    }
                }
            }
            best
        })
        .collect()
}

/// Maximum LLR of one data set over all windows (generic path).
fn max_llr(
    windows: &Windows,
    cases: &[u32],
    weights: Option<&[f64]>,
    model: Model,
    min_cases: u32,
) -> f64 {
    let mut best = 0.0f64;
    for centre in 0..cases.len() {
        let mut c = 0u64;
        let mut w = 0.0;
        let mut grew = false;
        for &e in windows.list(centre) {
            let j = (e & IDX) as usize;
            let cj = cases[j];
            c += u64::from(cj);
            grew |= cj > 0;
            w += weights.map_or(1.0, |ws| ws[j]);
            if e & LAST != 0 && grew {
                grew = false;
                if c >= u64::from(min_cases)
                    && let Some(l) = model.llr(c as f64, w)
                {
                    best = best.max(l);
                }
            }
        }
    }
    best
}

fn check_inputs(points: &[[f64; 2]], opts: &ScanOptions) -> Result<(), ScanError> {
    if let Some(index) = points
        .iter()
        .position(|p| !p[0].is_finite() || !p[1].is_finite())
    {
        return Err(ScanError::NonFinite {
            index,
            x: points[index][0],
            y: points[index][1],
        });
    }
    if !(opts.max_share > 0.0 && opts.max_share <= 1.0) {
        return Err(ScanError::InvalidOption {
            name: "max_share",
            value: opts.max_share,
        });
    }
    if let Some(r) = opts.max_radius
        && !(r >= 0.0 && r.is_finite())
    {
        return Err(ScanError::InvalidOption {
            name: "max_radius",
            value: r,
        });
    }
    if points.len() >= IDX as usize {
        return Err(ScanError::TooLarge {
            points: points.len(),
            share: opts.max_share,
            entries: points.len() as u128,
        });
    }
    if opts.max_radius.is_none() {
        let entries = (points.len() as u128) * ((points.len() as f64 * opts.max_share) as u128);
        if entries > 1 << 30 {
            return Err(ScanError::TooLarge {
                points: points.len(),
                share: opts.max_share,
                entries,
            });
        }
    }
    Ok(())
}

/// Pick the clusters from each centre's best window and attach p-values.
#[allow(clippy::too_many_arguments)]
fn report(
    points: &[[f64; 2]],
    windows: &Windows,
    cases: &[u32],
    weights: Option<&[f64]>,
    model: Model,
    opts: &ScanOptions,
    null: Vec<f64>,
    total_cases: u64,
    total: f64,
) -> ScanResult {
    let mut best = best_windows(windows, cases, weights, model, opts.min_cases);
    best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut taken = vec![false; points.len()];
    let mut clusters = Vec::new();
    let big_c = total_cases as f64;
    for (llr, centre, len) in best {
        if clusters.len() >= opts.max_clusters {
            break;
        }
        let members: Vec<usize> = windows.list(centre)[..len]
            .iter()
            .map(|&e| (e & IDX) as usize)
            .collect();
        if members.iter().any(|&j| taken[j]) {
            continue;
        }
        for &j in &members {
            taken[j] = true;
        }
        let c: u64 = members.iter().map(|&j| u64::from(cases[j])).sum();
        let w: f64 = members
            .iter()
            .map(|&j| weights.map_or(1.0, |ws| ws[j]))
            .sum();
        let p = points[centre];
        let radius = members
            .iter()
            .map(|&j| ((points[j][0] - p[0]).powi(2) + (points[j][1] - p[1]).powi(2)).sqrt())
            .fold(0.0, f64::max);
        let cf = c as f64;
        let (expected, relative_risk) = match model {
            Model::Bernoulli { n, .. } => (w * big_c / n, (cf / w) / ((big_c - cf) / (n - w))),
            Model::Poisson { p, .. } => {
                let e = w * big_c / p;
                (e, (cf / e) / ((big_c - cf) / (big_c - e)))
            }
        };
        let rank = 1 + null.iter().filter(|&&x| x >= llr).count();
        clusters.push(Cluster {
            centre,
            centre_xy: p,
            radius,
            households: members.len(),
            members,
            cases: c,
            population: w,
            expected,
            relative_risk,
            llr,
            p_value: rank as f64 / (null.len() + 1) as f64,
            rank,
        });
    }
    ScanResult {
        clusters,
        null_max_llr: null,
        total_cases,
        total,
    }
}

/// Bernoulli scan: `cases[i]` tells whether household `i` is a case.
/// See the [module documentation](self).
pub fn bernoulli(
    points: &[[f64; 2]],
    cases: &[bool],
    opts: &ScanOptions,
) -> Result<ScanResult, ScanError> {
    if cases.len() != points.len() {
        return Err(ScanError::LengthMismatch {
            what: "cases",
            expected: points.len(),
            got: cases.len(),
        });
    }
    check_inputs(points, opts)?;
    let n = points.len();
    let big_c = cases.iter().filter(|&&c| c).count();
    let cap = ((n as f64) * opts.max_share).floor() as usize;
    let windows = Windows::build(points, None, cap as f64, opts.max_radius);
    let counts: Vec<u32> = cases.iter().map(|&c| u32::from(c)).collect();
    let (big_n, big_cf) = (n as f64, big_c as f64);
    let null_term = bernoulli_null_term(big_cf, big_n);
    let model = Model::Bernoulli {
        n: big_n,
        c: big_cf,
        null_term,
    };
    let null = NullDistribution {
        n,
        big_c,
        cap,
        seed: opts.seed,
        replicates: opts.replicates,
        min_cases: opts.min_cases,
        null_term,
    }
    .max_llrs(&windows);
    Ok(report(
        points,
        &windows,
        &counts,
        None,
        model,
        opts,
        null,
        big_c as u64,
        n as f64,
    ))
}

/// Poisson scan: `cases[i]` people with the condition among `population[i]`
/// people of household `i`. See the [module documentation](self).
pub fn poisson(
    points: &[[f64; 2]],
    cases: &[u32],
    population: &[f64],
    opts: &ScanOptions,
) -> Result<ScanResult, ScanError> {
    for (what, got) in [("cases", cases.len()), ("population", population.len())] {
        if got != points.len() {
            return Err(ScanError::LengthMismatch {
                what,
                expected: points.len(),
                got,
            });
        }
    }
    check_inputs(points, opts)?;
    for (index, (&p, &c)) in population.iter().zip(cases).enumerate() {
        if !(p.is_finite() && p >= 0.0) || (p == 0.0 && c > 0) {
            return Err(ScanError::InvalidPopulation {
                index,
                population: p,
                cases: c,
            });
        }
    }
    let total_p: f64 = population.iter().sum();
    let big_c: u64 = cases.iter().map(|&c| u64::from(c)).sum();
    let model = Model::Poisson {
        p: total_p,
        c: big_c as f64,
    };
    let windows = Windows::build(
        points,
        Some(population),
        total_p * opts.max_share,
        opts.max_radius,
    );
    let mut cum = Vec::with_capacity(population.len());
    let mut acc = 0.0;
    for &p in population {
        acc += p;
        cum.push(acc);
    }
    let null: Vec<f64> = (0..opts.replicates)
        .into_par_iter()
        .map(|r| {
            let mut rng = replicate_rng(opts.seed, r);
            let mut counts = vec![0u32; points.len()];
            for _ in 0..big_c {
                let u = rng.random::<f64>() * acc;
                let i = cum.partition_point(|&x| x <= u).min(points.len() - 1);
                counts[i] += 1;
            }
            max_llr(&windows, &counts, Some(population), model, opts.min_cases)
        })
        .collect();
    Ok(report(
        points,
        &windows,
        cases,
        Some(population),
        model,
        opts,
        null,
        big_c,
        total_p,
    ))
}

#[cfg(test)]
#[allow(clippy::float_cmp)]
mod tests {
    use super::null::bernoulli_replicate;
    use super::stats::xlog;
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn line(n: usize) -> Vec<[f64; 2]> {
        (0..n).map(|i| [100.0 * i as f64, 0.0]).collect()
    }

    #[test]
    fn bernoulli_hand_checked() {
        // 10 households on a line every 100 m; cases at 3, 4, 5 and 8.
        // N = 10, C = 4, windows up to 5 households. The window centred on 4
        // with radius 100 m holds {3, 4, 5} (3 and 5 tie, so {4, 3} is not a
        // window): n = 3, c = 3.
        let pts = line(10);
        let cases: Vec<bool> = (0..10).map(|i| [3, 4, 5, 8].contains(&i)).collect();
        let opts = ScanOptions {
            replicates: 99,
            ..ScanOptions::default()
        };
        let res = bernoulli(&pts, &cases, &opts).unwrap();
        let top = &res.clusters[0];
        // LLR = 3·ln(3/3) + 0 + 1·ln(1/7) + 6·ln(6/7) − [4·ln(4/10) + 6·ln(6/10)]
        let hand =
            3.0 * (3.0f64 / 3.0).ln() + 1.0 * (1.0f64 / 7.0).ln() + 6.0 * (6.0f64 / 7.0).ln()
                - (4.0 * (0.4f64).ln() + 6.0 * (0.6f64).ln());
        assert!((top.llr - hand).abs() < 1e-9, "{} vs {hand}", top.llr);
        assert!((hand - 3.8593).abs() < 1e-4); // 3.85930… by calculator
        assert_eq!(top.centre, 4);
        assert_eq!(top.members, vec![4, 3, 5]);
        assert_eq!((top.cases, top.households), (3, 3));
        assert!((top.radius - 100.0).abs() < 1e-12);
        assert!((top.expected - 1.2).abs() < 1e-12);
        assert!((top.relative_risk - 7.0).abs() < 1e-12);
        assert_eq!(top.centre_xy, [400.0, 0.0]);
        assert!(top.p_value > 0.0 && top.p_value <= 1.0);
        assert_eq!(res.null_max_llr.len(), 99);
        assert_eq!(top.p_value, top.rank as f64 / 100.0);
        // Only {8} is left: one case, below min_cases, so no secondary cluster.
        assert!(res.clusters.iter().skip(1).all(|c| c.cases >= 2));
        for (a, b) in res.clusters.iter().zip(res.clusters.iter().skip(1)) {
            assert!(a.llr >= b.llr);
            assert!(a.members.iter().all(|m| !b.members.contains(m)));
        }
    }

    #[test]
    fn poisson_hand_checked() {
        // 6 households every 100 m with 4 people each (P = 24); 5 cases at
        // household 1 and 2 at household 2, none elsewhere (C = 7).
        // Window centred on 1 with radius 0 (n = 1, p = 4): c = 5, E = 4·7/24.
        let pts = line(6);
        let pop = [4.0; 6];
        let cases = [0, 5, 2, 0, 0, 0];
        let opts = ScanOptions {
            replicates: 99,
            ..ScanOptions::default()
        };
        let res = poisson(&pts, &cases, &pop, &opts).unwrap();
        let top = &res.clusters[0];
        // Candidates: {1}: c=5, E=7/6; {1,0,2}: c=7, E=3.5; {2,1,3}: c=7, E=3.5;
        // LLR({1}) = 5·ln(5/(7/6)) + 2·ln(2/(7−7/6)) = 5·ln(30/7) + 2·ln(12/35)
        let llr_1 = 5.0 * (30.0f64 / 7.0).ln() + 2.0 * (12.0f64 / 35.0).ln();
        // LLR({0,1,2}) = 7·ln(7/3.5) + 0
        let llr_3 = 7.0 * 2.0f64.ln();
        // {1, 2}: centre 1 at radius 100 takes 0 and 2 together; centre 2 takes 1 and 3.
        assert!(llr_1 > llr_3);
        assert!((top.llr - llr_1).abs() < 1e-9, "{} vs {llr_1}", top.llr);
        assert_eq!(top.members, vec![1]);
        assert!((top.expected - 7.0 / 6.0).abs() < 1e-12);
        assert!(
            (top.relative_risk - (5.0 / (7.0 / 6.0)) / (2.0 / (7.0 - 7.0 / 6.0))).abs() < 1e-12
        );
        assert_eq!(top.population, 4.0);
    }

    /// Maximum Bernoulli LLR over all windows, naively: sort all households by
    /// distance from each centre, score every tie-group end.
    fn naive_max(pts: &[[f64; 2]], case: &[bool], share: f64, min_cases: u64) -> f64 {
        let n = pts.len();
        let big_c = case.iter().filter(|&&c| c).count() as f64;
        let cap = (n as f64 * share).floor() as usize;
        let mut best = 0.0f64;
        for p in pts {
            let mut order: Vec<(f64, usize)> = pts
                .iter()
                .enumerate()
                .map(|(j, q)| ((q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2), j))
                .collect();
            order.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut c = 0u64;
            for k in 0..cap.min(n) {
                c += u64::from(case[order[k].1]);
                if k + 1 < n && order[k + 1].0 == order[k].0 {
                    continue;
                }
                let (cf, nf) = (c as f64, (k + 1) as f64);
                if c >= min_cases && cf / nf > big_c / n as f64 {
                    let l = xlog(cf, nf)
                        + xlog(nf - cf, nf)
                        + xlog(big_c - cf, n as f64 - nf)
                        + xlog(n as f64 - nf - (big_c - cf), n as f64 - nf)
                        - xlog(big_c, n as f64)
                        - xlog(n as f64 - big_c, n as f64);
                    best = best.max(l);
                }
            }
        }
        best
    }

    #[test]
    fn fast_null_matches_naive() {
        // Lattice points (many distance ties) and random ones.
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut pts: Vec<[f64; 2]> = (0..60)
            .map(|i| [f64::from(i % 8) * 10.0, f64::from(i / 8) * 10.0])
            .collect();
        pts.extend((0..70).map(|_| [rng.random_range(0.0..200.0), rng.random_range(0.0..200.0)]));
        let cases: Vec<bool> = (0..pts.len()).map(|i| i % 7 == 0 || i % 11 == 0).collect();
        let opts = ScanOptions {
            replicates: 130, // three batches, the last partial
            max_share: 0.3,
            ..ScanOptions::default()
        };
        let res = bernoulli(&pts, &cases, &opts).unwrap();
        let big_c = cases.iter().filter(|&&c| c).count();
        for (r, &got) in res.null_max_llr.iter().enumerate() {
            let mut rep = vec![false; pts.len()];
            for i in bernoulli_replicate(opts.seed, r, pts.len(), big_c) {
                rep[i] = true;
            }
            let want = naive_max(&pts, &rep, 0.3, 2);
            assert!((got - want).abs() < 1e-9, "replicate {r}: {got} vs {want}");
        }
        let want = naive_max(&pts, &cases, 0.3, 2);
        assert!((res.clusters[0].llr - want).abs() < 1e-9);
    }

    fn uniform(rng: &mut ChaCha8Rng, n: usize, side: f64) -> Vec<[f64; 2]> {
        (0..n)
            .map(|_| [rng.random_range(0.0..side), rng.random_range(0.0..side)])
            .collect()
    }

    #[test]
    fn planted_cluster_is_found() {
        // 1,200 households over 7.75 × 7.75 km (20 per km²); 3 % cases, 50 %
        // within 1 km of (3000, 5000) (about 63 households there).
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        let pts = uniform(&mut rng, 1200, 7750.0);
        let planted = [3000.0, 5000.0];
        let cases: Vec<bool> = pts
            .iter()
            .map(|p| {
                let near = (p[0] - planted[0]).hypot(p[1] - planted[1]) < 1000.0;
                rng.random_bool(if near { 0.5 } else { 0.03 })
            })
            .collect();
        let opts = ScanOptions {
            max_share: 0.1,
            ..ScanOptions::default()
        };
        let res = bernoulli(&pts, &cases, &opts).unwrap();
        let top = &res.clusters[0];
        assert!(top.p_value < 0.01, "p = {}", top.p_value);
        let off = (top.centre_xy[0] - planted[0]).hypot(top.centre_xy[1] - planted[1]);
        assert!(off < 400.0, "centre {:?} is {off} m away", top.centre_xy);
        assert!(top.relative_risk > 3.0);
        // Same seed, same answer.
        assert_eq!(bernoulli(&pts, &cases, &opts).unwrap(), res);

        // The same planted cluster with the Poisson model (household sizes 1–8).
        let pop: Vec<f64> = (0..pts.len()).map(|i| 1.0 + (i % 8) as f64).collect();
        let counts: Vec<u32> = cases
            .iter()
            .zip(&pop)
            .map(|(&c, &p)| if c { (p / 2.0).ceil() as u32 } else { 0 })
            .collect();
        let opts = ScanOptions {
            replicates: 199,
            ..opts
        };
        let res = poisson(&pts, &counts, &pop, &opts).unwrap();
        let top = &res.clusters[0];
        assert!(top.p_value < 0.01, "p = {}", top.p_value);
        let off = (top.centre_xy[0] - planted[0]).hypot(top.centre_xy[1] - planted[1]);
        assert!(off < 400.0, "centre {:?} is {off} m away", top.centre_xy);
    }

    #[test]
    fn null_data_rarely_significant() {
        // 100 seeded null data sets of 300 households with 10 % cases; 99
        // replicates each (not 999) to keep the test short: p-values then take
        // steps of 0.01, enough to test the 5 % level.
        let significant = (0..100u64)
            .into_par_iter()
            .filter(|&seed| {
                let mut rng = ChaCha8Rng::seed_from_u64(1000 + seed);
                let pts = uniform(&mut rng, 300, 5_000.0);
                let mut cases = vec![false; 300];
                for i in rand::seq::index::sample(&mut rng, 300, 30) {
                    cases[i] = true;
                }
                let opts = ScanOptions {
                    replicates: 99,
                    seed,
                    ..ScanOptions::default()
                };
                let res = bernoulli(&pts, &cases, &opts).unwrap();
                res.clusters.first().is_some_and(|c| c.p_value < 0.05)
            })
            .count();
        assert!(significant <= 10, "{significant} of 100 null data sets");
    }

    #[test]
    fn radius_cap_and_edge_cases() {
        let pts = line(10);
        let cases: Vec<bool> = (0..10).map(|i| [3, 4, 5, 8].contains(&i)).collect();
        // Radius 50 m: only single-household windows, all with c < 2.
        let opts = ScanOptions {
            max_radius: Some(50.0),
            replicates: 9,
            ..ScanOptions::default()
        };
        let res = bernoulli(&pts, &cases, &opts).unwrap();
        assert!(res.clusters.is_empty());
        // With a 150 m radius the window {4,3,5} is found again.
        let opts = ScanOptions {
            max_radius: Some(150.0),
            ..opts
        };
        let res = bernoulli(&pts, &cases, &opts).unwrap();
        assert_eq!(res.clusters[0].members, vec![4, 3, 5]);
        // No cases, all cases, no points, zero replicates.
        assert!(
            bernoulli(&pts, &[false; 10], &opts)
                .unwrap()
                .clusters
                .is_empty()
        );
        assert!(
            bernoulli(&pts, &[true; 10], &opts)
                .unwrap()
                .clusters
                .is_empty()
        );
        assert!(bernoulli(&[], &[], &opts).unwrap().clusters.is_empty());
        let zero = ScanOptions {
            replicates: 0,
            ..ScanOptions::default()
        };
        let res = bernoulli(&pts, &cases, &zero).unwrap();
        assert_eq!(res.clusters[0].p_value, 1.0);
        // Errors.
        assert!(matches!(
            bernoulli(&pts, &cases[..3], &opts),
            Err(ScanError::LengthMismatch { what: "cases", .. })
        ));
        let bad = ScanOptions {
            max_share: 1.5,
            ..ScanOptions::default()
        };
        assert!(matches!(
            bernoulli(&pts, &cases, &bad),
            Err(ScanError::InvalidOption {
                name: "max_share",
                ..
            })
        ));
        let mut nan = pts.clone();
        nan[2][1] = f64::NAN;
        assert!(matches!(
            bernoulli(&nan, &cases, &opts),
            Err(ScanError::NonFinite { index: 2, .. })
        ));
        let any = ScanOptions {
            min_cases: 0,
            ..opts.clone()
        };
        assert!(
            poisson(&pts, &[0; 10], &[0.0; 10], &any)
                .unwrap()
                .clusters
                .is_empty()
        );
        assert!(matches!(
            poisson(&pts, &[1; 10], &[0.0; 10], &opts),
            Err(ScanError::InvalidPopulation { index: 0, .. })
        ));
    }
}
