//! Lagrangian relaxation with subgradient optimisation of the "savings"
//! location problem shared by the maximal covering and p-median models:
//!
//! max Σ s_ia y_ia  s.t.  Σ_a y_ia ≤ 1 (each village once),  y_ia ≤ x_a,
//! Σ_a x_a = p,  x binary,
//!
//! where `s_ia ≥ 0` is what village `i` gains from site `a` over the existing
//! sites (its demand for covering; demand × minutes saved for the p-median).
//! Relaxing the assignment rows with multipliers μ ≥ 0 gives
//! L(μ) = Σ_i μ_i + (sum of the p largest w_a), w_a = Σ_i max(0, s_ia − μ_i),
//! an upper bound for every μ ≥ 0 (Daskin, *Network and Discrete Location*,
//! 2nd ed., §5.2 and §6.2). The subgradient method (Held, Wolfe & Crowder 1974)
//! lowers it; each relaxed solution's sites are evaluated, which gives
//! feasible solutions too (the Lagrangian heuristic).

#![expect(
    clippy::many_single_char_names,
    reason = "the notation of the algorithm: d demand, p sites, s savings, t minutes"
)]

/// Per site `a` (position in the list of choosable sites), its `(village, saving)` pairs.
pub(crate) struct Savings {
    pub villages: usize,
    pub lists: Vec<Vec<(u32, f64)>>,
}

/// Result of [`bound`].
pub(crate) struct LagrangianBound {
    /// Upper bound on the savings optimum.
    pub upper: f64,
    /// Best feasible savings found and its sites (positions), if it beat the incumbent.
    pub best: Option<(f64, Vec<usize>)>,
}

fn top_p(w: &[f64], p: usize, idx: &mut Vec<usize>) -> f64 {
    idx.clear();
    idx.extend(0..w.len());
    if p < idx.len() {
        idx.select_nth_unstable_by(p, |&a, &b| w[b].total_cmp(&w[a]).then(a.cmp(&b)));
        idx.truncate(p);
    }
    idx.iter().map(|&a| w[a]).sum()
}

/// Savings of a set of sites: Σ_i max_{a ∈ set} s_ia.
pub(crate) fn evaluate(s: &Savings, set: &[usize], scratch: &mut [f64]) -> f64 {
    let mut total = 0.0;
    for &a in set {
        for &(i, v) in &s.lists[a] {
            let b = &mut scratch[i as usize];
            if v > *b {
                total += v - *b;
                *b = v;
            }
        }
    }
    for &a in set {
        for &(i, _) in &s.lists[a] {
            scratch[i as usize] = 0.0;
        }
    }
    total
}

/// Subgradient optimisation of L(μ) from μ_i = max_a s_ia, stopping when the
/// bound meets `incumbent` (savings of the best known solution), after
/// `max_iter` iterations or when the step has shrunk below use.
pub(crate) fn bound(s: &Savings, p: usize, incumbent: f64, max_iter: usize) -> LagrangianBound {
    let n_sites = s.lists.len();
    if p == 0 || n_sites == 0 {
        return LagrangianBound {
            upper: 0.0,
            best: None,
        };
    }
    let mut mu = vec![0.0f64; s.villages];
    let mut relevant = Vec::new();
    for list in &s.lists {
        for &(i, v) in list {
            if mu[i as usize] == 0.0 && v > 0.0 {
                relevant.push(i);
            }
            mu[i as usize] = mu[i as usize].max(v);
        }
    }
    relevant.sort_unstable();
    relevant.dedup();
    let mut w = vec![0.0f64; n_sites];
    let mut idx = Vec::with_capacity(n_sites);
    let mut count = vec![0u32; s.villages];
    let mut scratch = vec![0.0f64; s.villages];
    let mut lower = incumbent;
    let mut best = None;
    let mut upper = f64::INFINITY;
    let mut alpha = 2.0;
    let mut stall = 0;
    for _ in 0..max_iter {
        for (a, list) in s.lists.iter().enumerate() {
            w[a] = list
                .iter()
                .map(|&(i, v)| (v - mu[i as usize]).max(0.0))
                .sum();
        }
        let l = relevant.iter().map(|&i| mu[i as usize]).sum::<f64>() + top_p(&w, p, &mut idx);
        if !upper.is_finite() || l < upper - 1e-12 * upper.abs().max(1.0) {
            upper = l;
            stall = 0;
        } else {
            stall += 1;
            if stall >= 20 {
                alpha /= 2.0;
                stall = 0;
            }
        }
        let v = evaluate(s, &idx, &mut scratch);
        if v > lower + 1e-12 * lower.abs().max(1.0) {
            lower = v;
            best = Some((v, idx.clone()));
        }
        if upper - lower <= 1e-10 * upper.abs().max(1.0) || alpha < 2e-3 {
            break;
        }
        for &a in &idx {
            for &(i, v) in &s.lists[a] {
                if v > mu[i as usize] {
                    count[i as usize] += 1;
                }
            }
        }
        let mut norm = 0.0;
        for &i in &relevant {
            let g = 1.0 - f64::from(count[i as usize]);
            if !(mu[i as usize] <= 0.0 && g > 0.0) {
                norm += g * g;
            }
        }
        if norm == 0.0 {
            for &i in &relevant {
                count[i as usize] = 0;
            }
            break;
        }
        let t = alpha * (l - lower).max(1e-12 * l.abs().max(1.0)) / norm;
        for &i in &relevant {
            let g = 1.0 - f64::from(count[i as usize]);
            count[i as usize] = 0;
            mu[i as usize] = (mu[i as usize] - t * g).max(0.0);
        }
    }
    LagrangianBound {
        upper: upper.max(lower),
        best,
    }
}
