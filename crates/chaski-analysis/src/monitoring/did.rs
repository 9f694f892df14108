//! Difference in differences of an indicator between intervention and control
//! communities, baseline and endline rounds, with a standard error clustered
//! by community and a permutation p-value.
//!
//! The model is the household-level linear probability model
//! y = β₀ + β₁·T + β₂·E + δ·T·E + ε (T: the household's community is in the
//! intervention group; E: endline round; y: the household meets the
//! numerator, among those meeting the denominator). Saturated, so δ̂ is the
//! difference of the four raw means, (ȳ_T,E − ȳ_T,B) − (ȳ_C,E − ȳ_C,B)
//! (Angrist, J. D. & Pischke, J.-S. (2009), *Mostly Harmless Econometrics*,
//! ch. 5.2).
//!
//! Standard error: the cluster-robust sandwich with communities as clusters,
//! V = c·(X′X)⁻¹(Σ_g X_g′û_g û_g′X_g)(X′X)⁻¹ with the CR1 small-sample
//! factor c = G/(G−1)·(N−1)/(N−K), K = 4 — the default of Stata's
//! `regress …, vce(cluster community)` and of statsmodels'
//! `OLS(...).fit(cov_type="cluster", cov_kwds={"groups": community})`
//! (Cameron, A. C. & Miller, D. L. (2015). A practitioner's guide to
//! cluster-robust inference. *Journal of Human Resources* 50(2), 317–372).
//!
//! Permutation p-value: the group labels are reassigned at random across the
//! communities of the design (as many intervention communities as there
//! are), δ̂ recomputed, and p = (1 + #{|δ̂*| ≥ |δ̂|}) / (1 + R) over the R
//! reassignments in which every one of the four cells has households (a
//! ChaCha8 generator seeded with `seed`: the same seed gives the same p).
//!
//! Parameters: the records, the indicator, the design (group names, rounds),
//! the number of permutations and the seed. Returns a [`Did`], or an error
//! when a cell has no household or there are fewer than two communities in a
//! group.
//!
//! ```
//! use chaski_analysis::monitoring::did::{CommunityCounts, did_from_counts};
//! // Per community: intervention?, baseline (d, n), endline (d, n).
//! let c = |t, b: (u64, u64), e: (u64, u64)| CommunityCounts { intervention: t, baseline: b, endline: e };
//! let data = [
//!     c(true, (10, 5), (10, 2)), c(true, (10, 6), (10, 3)),
//!     c(false, (10, 5), (10, 5)), c(false, (10, 4), (10, 4)),
//! ];
//! let d = did_from_counts(&data, 99, 1).unwrap();
//! assert!((d.estimate - (-0.3)).abs() < 1e-12);
//! assert_eq!(d.means, [0.45, 0.45, 0.55, 0.25]);
//! assert_eq!(d, did_from_counts(&data, 99, 1).unwrap()); // reproducible
//! ```

// Statistics: d, n, g, x, e... are the names of the formulas above.
#![allow(clippy::many_single_char_names)]

use super::MonitoringError;
use super::config::{Design, Indicator};
use super::data::Records;
use super::table::{Period, cells, protect_period};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The counts of one community of the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommunityCounts {
    /// In the intervention group (else control).
    pub intervention: bool,
    /// Baseline (denominator, numerator).
    pub baseline: (u64, u64),
    /// Endline (denominator, numerator).
    pub endline: (u64, u64),
}

/// A difference in differences.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Did {
    /// δ̂ (proportion; × 100 for percentage points).
    pub estimate: f64,
    /// Cluster-robust (CR1) standard error of δ̂.
    pub std_error: f64,
    /// Permutation p-value (two-sided).
    pub p_value: f64,
    /// Reassignments the p-value counts.
    pub permutations: usize,
    /// Means: control baseline, control endline, intervention baseline,
    /// intervention endline.
    pub means: [f64; 4],
    /// Households of the four cells, same order.
    pub households: [u64; 4],
    /// Communities (clusters) with households: control, intervention.
    pub communities: [usize; 2],
}

/// Means of the four cells (control B, control E, intervention B, E) and
/// their households, None when a cell is empty.
fn four(data: &[CommunityCounts], labels: &[bool]) -> Option<([f64; 4], [u64; 4], [u64; 4])> {
    let mut d = [0_u64; 4];
    let mut n = [0_u64; 4];
    for (c, &t) in data.iter().zip(labels) {
        let base = if t { 2 } else { 0 };
        d[base] += c.baseline.0;
        n[base] += c.baseline.1;
        d[base + 1] += c.endline.0;
        n[base + 1] += c.endline.1;
    }
    if d.contains(&0) {
        return None;
    }
    let m = std::array::from_fn(|i| n[i] as f64 / d[i] as f64);
    Some((m, d, n))
}

fn delta(m: &[f64; 4]) -> f64 {
    (m[3] - m[2]) - (m[1] - m[0])
}

/// Inverse of a symmetric positive definite 4×4 matrix (Gauss–Jordan).
fn invert(a: [[f64; 4]; 4]) -> Option<[[f64; 4]; 4]> {
    let mut m = a;
    let mut inv = [[0.0; 4]; 4];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for col in 0..4 {
        let piv = (col..4).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))?;
        if m[piv][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, piv);
        inv.swap(col, piv);
        let p = m[col][col];
        for k in 0..4 {
            m[col][k] /= p;
            inv[col][k] /= p;
        }
        for r in 0..4 {
            if r != col {
                let f = m[r][col];
                for k in 0..4 {
                    m[r][k] -= f * m[col][k];
                    inv[r][k] -= f * inv[col][k];
                }
            }
        }
    }
    Some(inv)
}

/// The difference in differences of per-community counts (see the module
/// documentation).
pub fn did_from_counts(
    data: &[CommunityCounts],
    permutations: usize,
    seed: u64,
) -> Result<Did, MonitoringError> {
    let data: Vec<CommunityCounts> = data
        .iter()
        .copied()
        .filter(|c| c.baseline.0 + c.endline.0 > 0)
        .collect();
    let labels: Vec<bool> = data.iter().map(|c| c.intervention).collect();
    let g = [
        labels.iter().filter(|&&t| !t).count(),
        labels.iter().filter(|&&t| t).count(),
    ];
    if g[0] < 2 || g[1] < 2 {
        return Err(MonitoringError::Design(format!(
            "{} control and {} intervention communities have households: at least 2 of each are needed",
            g[0], g[1]
        )));
    }
    let Some((means, d, _)) = four(&data, &labels) else {
        return Err(MonitoringError::Design(
            "a group has no household in the baseline or the endline round".into(),
        ));
    };
    let estimate = delta(&means);
    // X'X: per cell (T, E) the regressors x = (1, T, E, TE), weight d.
    let x = |t: bool, e: bool| {
        let (t, e) = (f64::from(u8::from(t)), f64::from(u8::from(e)));
        [1.0, t, e, t * e]
    };
    let cells = [(false, false), (false, true), (true, false), (true, true)];
    let mut xtx = [[0.0; 4]; 4];
    for (c, &(t, e)) in cells.iter().enumerate() {
        let v = x(t, e);
        for i in 0..4 {
            for j in 0..4 {
                xtx[i][j] += d[c] as f64 * v[i] * v[j];
            }
        }
    }
    let inv = invert(xtx).ok_or_else(|| MonitoringError::Design("singular design".into()))?;
    let mut meat = [[0.0; 4]; 4];
    for c in &data {
        let base = if c.intervention { 2 } else { 0 };
        let mut score = [0.0; 4];
        for (e, (dd, nn)) in [(false, c.baseline), (true, c.endline)] {
            let r = nn as f64 - dd as f64 * means[base + usize::from(e)];
            let v = x(c.intervention, e);
            for k in 0..4 {
                score[k] += v[k] * r;
            }
        }
        for i in 0..4 {
            for j in 0..4 {
                meat[i][j] += score[i] * score[j];
            }
        }
    }
    // (X'X)^-1 M (X'X)^-1, element (3, 3).
    let mut var = 0.0;
    for i in 0..4 {
        for j in 0..4 {
            var += inv[3][i] * meat[i][j] * inv[j][3];
        }
    }
    let nobs: u64 = d.iter().sum();
    let clusters = data.len() as f64;
    let factor = clusters / (clusters - 1.0) * (nobs as f64 - 1.0) / (nobs as f64 - 4.0);
    let std_error = (var * factor).max(0.0).sqrt();
    // Permutations.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut perm = labels.clone();
    let (mut extreme, mut counted) = (0_usize, 0_usize);
    let target = estimate.abs() - 1e-12;
    for _ in 0..permutations {
        perm.shuffle(&mut rng);
        if let Some((m, _, _)) = four(&data, &perm) {
            counted += 1;
            if delta(&m).abs() >= target {
                extreme += 1;
            }
        }
    }
    Ok(Did {
        estimate,
        std_error,
        p_value: (1 + extreme) as f64 / (1 + counted) as f64,
        permutations: counted,
        means,
        households: d,
        communities: g,
    })
}

/// The design's counts of `indicator` per community of the intervention and
/// control groups.
pub fn community_counts(
    records: &Records,
    indicator: &Indicator,
    design: &Design,
) -> Result<Vec<CommunityCounts>, MonitoringError> {
    let (rounds, rows) = round_cells(records, indicator, design)?;
    let _ = rounds;
    Ok(rows)
}

type Rounds = (u32, u32);

fn round_cells(
    records: &Records,
    indicator: &Indicator,
    design: &Design,
) -> Result<(Rounds, Vec<CommunityCounts>), MonitoringError> {
    let cells = cells(records, &[indicator], Period::Round);
    let find = |r: i64, which: &str| {
        cells
            .periods
            .iter()
            .position(|p| *p == r.to_string())
            .map(|p| p as u32)
            .ok_or_else(|| {
                MonitoringError::Design(format!(
                    "no household record of the {which} round {r} (rounds: {})",
                    if cells.periods.is_empty() {
                        "none".to_owned()
                    } else {
                        cells.periods.join(", ")
                    }
                ))
            })
    };
    let (b, e) = (
        find(design.baseline, "baseline")?,
        find(design.endline, "endline")?,
    );
    let ig = records.groups.get(&design.intervention.to_lowercase());
    let cg = records.groups.get(&design.control.to_lowercase());
    let mut out: Vec<Option<CommunityCounts>> = vec![None; records.communities.len()];
    for (s, &(t, c, _, _)) in cells.keys.iter().enumerate() {
        if t != b && t != e {
            continue;
        }
        let g = Some(records.group_of[c as usize]);
        let intervention = if g == ig {
            true
        } else if g == cg {
            false
        } else {
            continue;
        };
        let (dd, nn) = cells.counts[s];
        let cc = out[c as usize].get_or_insert(CommunityCounts {
            intervention,
            baseline: (0, 0),
            endline: (0, 0),
        });
        let slot = if t == b {
            &mut cc.baseline
        } else {
            &mut cc.endline
        };
        slot.0 += dd;
        slot.1 += nn;
    }
    Ok(((b, e), out.into_iter().flatten().collect()))
}

/// A difference in differences as a caller may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DidRow {
    /// Indicator id.
    pub indicator: String,
    /// The estimate, or None when suppressed.
    #[serde(flatten)]
    pub did: Option<Did>,
    /// Whether the answer is withheld (protected callers: a cell of the
    /// four, or a group, is suppressed in the indicator tables).
    pub suppressed: bool,
    /// Why no estimate could be made (too few communities, an empty cell).
    pub problem: Option<String>,
}

/// The difference in differences of `indicator` for one caller: protected
/// callers get it only when the four group totals are published by the
/// indicator tables' protection (else the four means and δ̂ would reveal a
/// suppressed total), with households rounded to 5.
pub fn did(
    records: &Records,
    indicator: &Indicator,
    design: &Design,
    permutations: usize,
    seed: u64,
    protected: bool,
) -> DidRow {
    let mut row = DidRow {
        indicator: indicator.id.clone(),
        did: None,
        suppressed: false,
        problem: None,
    };
    let ((b, e), data) = match round_cells(records, indicator, design) {
        Ok(x) => x,
        Err(err) => {
            row.problem = Some(err.to_string());
            return row;
        }
    };
    if protected {
        let c = cells(records, &[indicator], Period::Round);
        let groups = [
            records.groups.get(&design.intervention.to_lowercase()),
            records.groups.get(&design.control.to_lowercase()),
        ];
        for t in [b, e] {
            let (_, prot) = protect_period(records, &c, 0, t);
            if !prot.total
                || groups
                    .iter()
                    .any(|g| g.is_none_or(|g| !prot.parts[1][g as usize]))
            {
                row.suppressed = true;
                return row;
            }
        }
    }
    match did_from_counts(&data, permutations, seed) {
        Ok(mut d) => {
            if protected {
                d.households = d.households.map(chaski_core::disclosure::round_to_base);
            }
            row.did = Some(d);
        }
        Err(err) => row.problem = Some(err.to_string()),
    }
    row
}
