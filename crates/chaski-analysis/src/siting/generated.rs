//! Generated siting instances, deterministic from a seed, for the tests of
//! the solvers and the MILP backends and for the benchmarks: one generator
//! (SplitMix64, Steele, Lea & Flood 2014, as `java.util.SplittableRandom`),
//! so every suite and bench poses the same problems from the same seed.
//!
//! - [`small`]: up to tens of villages and candidates with random minutes,
//!   existing homes, ineligible candidates and beds: every feature of the
//!   models, small enough for [`super::brute_force`].
//! - [`square`]: villages and candidates scattered in a square walked at
//!   4 km/h, demand skewed like births of small villages: the instances of
//!   the quality tests and the benchmarks.
//!
//! ```
//! use chaski_analysis::siting::generated::{Mix, square};
//! let mut a = Mix(7);
//! let mut b = Mix(7);
//! assert_eq!(a.next_u64(), b.next_u64());
//! assert!((0.0..1.0).contains(&a.unit()));
//! // 50 villages, 10 candidates in a 20 km square, pairs within 60 minutes:
//! // 4 km an hour, so no pair is more than 4 km apart.
//! let p = square(1, 50, 10, 20.0, 60.0);
//! assert_eq!((p.demand.len(), p.candidates.len()), (50, 10));
//! assert!(p.demand.iter().all(|d| (1.0..=200.0).contains(d)));
//! assert_eq!(p, square(1, 50, 10, 20.0, 60.0));
//! ```

use super::{Candidate, Objective, SitingProblem, TravelMatrix};

/// The SplitMix64 generator: a 64-bit state advanced by the golden ratio and
/// mixed.
#[derive(Debug, Clone)]
pub struct Mix(pub u64);

impl Mix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.unit()).cos()
    }
}

/// `villages` × `candidates` with 60 % of pairs at 0–100 whole minutes,
/// demand 0 (15 %) or 0–50, candidates existing (15 %), ineligible (15 %)
/// and with 0–11 beds (80 %, else unlimited).
pub fn small(seed: u64, villages: usize, candidates: usize) -> SitingProblem {
    let mut r = Mix(seed);
    let mut entries = Vec::new();
    for i in 0..villages {
        for j in 0..candidates {
            if r.unit() < 0.6 {
                entries.push((i, j, (r.unit() * 100.0).round() as f32));
            }
        }
    }
    let demand = (0..villages)
        .map(|_| {
            if r.unit() < 0.15 {
                0.0
            } else {
                (r.unit() * 50.0).round()
            }
        })
        .collect();
    let sites = (0..candidates)
        .map(|_| Candidate {
            existing: r.unit() < 0.15,
            eligible: r.unit() < 0.85,
            beds: if r.unit() < 0.2 {
                None
            } else {
                Some((r.next_u64() % 12) as u32)
            },
        })
        .collect();
    SitingProblem {
        demand,
        candidates: sites,
        matrix: TravelMatrix::from_entries(villages, candidates, entries)
            .expect("generated pairs are in range"),
    }
}

/// Villages and candidates as points in a `side` km square, walking at
/// 4 km/h; pairs up to `max_min` minutes; demand 1–200 births, skewed
/// (1 + 199 u³); every candidate new and eligible, without beds.
pub fn square(
    seed: u64,
    villages: usize,
    candidates: usize,
    side: f64,
    max_min: f32,
) -> SitingProblem {
    let mut r = Mix(seed);
    let vp: Vec<(f64, f64)> = (0..villages)
        .map(|_| (r.unit() * side, r.unit() * side))
        .collect();
    let cp: Vec<(f64, f64)> = (0..candidates)
        .map(|_| (r.unit() * side, r.unit() * side))
        .collect();
    let demand = (0..villages)
        .map(|_| (1.0 + 199.0 * r.unit().powi(3)).round())
        .collect();
    let mut entries = Vec::new();
    for (j, c) in cp.iter().enumerate() {
        for (i, v) in vp.iter().enumerate() {
            let minutes = ((c.0 - v.0).hypot(c.1 - v.1) / 4.0 * 60.0) as f32;
            if minutes <= max_min {
                entries.push((i, j, minutes));
            }
        }
    }
    let open = Candidate {
        existing: false,
        eligible: true,
        beds: None,
    };
    SitingProblem {
        demand,
        candidates: vec![open; candidates],
        matrix: TravelMatrix::from_entries(villages, candidates, entries)
            .expect("generated pairs are in range"),
    }
}

/// One of the four models by `kind % 4` (covering, p-median, set covering,
/// capacitated with 20-day stays), with `p` homes and threshold `t`.
pub fn objective_for(kind: u8, p: usize, t: f32) -> Objective {
    match kind % 4 {
        0 => Objective::MaxCovering {
            p,
            threshold_min: t,
        },
        1 => Objective::PMedian { p },
        2 => Objective::SetCovering { threshold_min: t },
        _ => Objective::CapacitatedCovering {
            p,
            threshold_min: t,
            stay_days: 20.0,
        },
    }
}
