//! Deterministic instances.

use chaski_analysis::siting::{Candidate, Objective, SitingProblem, TravelMatrix};

/// SplitMix64.
pub struct Mix(pub u64);

impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Up to 30 villages and 10 candidates, dense-ish random minutes.
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
    let cands = (0..candidates)
        .map(|_| Candidate {
            existing: r.unit() < 0.15,
            eligible: r.unit() < 0.85,
            beds: if r.unit() < 0.2 {
                None
            } else {
                Some((r.next() % 12) as u32)
            },
        })
        .collect();
    SitingProblem {
        demand,
        candidates: cands,
        matrix: TravelMatrix::from_entries(villages, candidates, entries).expect("matrix"),
    }
}

/// Villages and candidates as points in a `side` km square, walking at
/// 4 km/h; pairs up to `max_min` minutes; demand 1–200 births, skewed.
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
        matrix: TravelMatrix::from_entries(villages, candidates, entries).expect("matrix"),
    }
}

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
