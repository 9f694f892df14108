//! The Bernoulli scan's null distribution: the maximum LLR of each Monte
//! Carlo replicate (the case labels permuted among the households).
//!
//! The replicates run 64 at a time, one counter lane per replicate, walking
//! each centre's list once per batch and keeping, per window size n, the
//! largest case count of any window (for a fixed n the LLR of a high-rate
//! window grows with c), so the LLR is computed once per (n, replicate)
//! instead of once per window; batches run in parallel with rayon. The walk
//! is branch-free across the lanes and vectorises: it is compiled for the
//! widest vector instructions the processor has, chosen when it runs (AVX2
//! on x86-64 when present, through [`pulp`]), and the integer counts are the
//! same whichever runs.

use super::stats::bernoulli_llr;
use super::windows::{IDX, LAST, Windows};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// The generator of replicate `r`.
pub(super) fn replicate_rng(seed: u64, r: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(r as u64);
    rng
}

/// Case households of Bernoulli replicate `r`: `big_c` of `n`, uniformly.
pub(super) fn bernoulli_replicate(seed: u64, r: usize, n: usize, big_c: usize) -> Vec<usize> {
    let mut rng = replicate_rng(seed, r);
    rand::seq::index::sample(&mut rng, n, big_c).into_vec()
}

/// What the null distribution of a Bernoulli scan depends on.
pub(super) struct NullDistribution {
    /// Households N.
    pub(super) n: usize,
    /// Cases C.
    pub(super) big_c: usize,
    /// Largest window, households.
    pub(super) cap: usize,
    /// Seed of the replicates.
    pub(super) seed: u64,
    /// Number of replicates.
    pub(super) replicates: usize,
    /// Fewest cases in a scored window.
    pub(super) min_cases: u32,
    /// The LLR's shared part ([`super::stats::bernoulli_null_term`]).
    pub(super) null_term: f64,
}

impl NullDistribution {
    /// Maximum LLR of each replicate (0 when it has no scored window).
    pub(super) fn max_llrs(&self, windows: &Windows) -> Vec<f64> {
        let batches: Vec<usize> = (0..self.replicates.div_ceil(64)).collect();
        batches
            .into_par_iter()
            .flat_map_iter(|b| {
                let first = b * 64;
                self.batch(windows, first, 64.min(self.replicates - first))
            })
            .collect()
    }

    /// Maximum LLR of replicates `first..first + count` (count ≤ 64).
    fn batch(&self, windows: &Windows, first: usize, count: usize) -> Vec<f64> {
        let labels = self.labels(first, count);
        let arch = pulp::Arch::new();
        if u16::try_from(self.cap).is_ok() {
            let mut maxc = vec![[0u16; 64]; self.cap + 1];
            arch.dispatch(WalkU16 {
                windows,
                labels: &labels,
                maxc: &mut maxc,
            });
            self.max_llr(&maxc, count)
        } else {
            let mut maxc = vec![[0u32; 64]; self.cap + 1];
            arch.dispatch(WalkU32 {
                windows,
                labels: &labels,
                maxc: &mut maxc,
            });
            self.max_llr(&maxc, count)
        }
    }

    /// Case labels of replicates `first..first + count` (count ≤ 64): one
    /// byte lane per replicate in a 64-byte label per household.
    fn labels(&self, first: usize, count: usize) -> Vec<[u8; 64]> {
        let mut labels = vec![[0u8; 64]; self.n];
        for (b, r) in (first..first + count).enumerate() {
            for i in bernoulli_replicate(self.seed, r, self.n, self.big_c) {
                labels[i][b] = 1;
            }
        }
        labels
    }

    /// Maximum LLR per replicate from `maxc[size][r]`.
    fn max_llr<T: Copy + Into<u32>>(&self, maxc: &[[T; 64]], count: usize) -> Vec<f64> {
        let (big_n, big_c) = (self.n as f64, self.big_c as f64);
        let mut out = vec![0.0f64; count];
        for (size, row) in maxc.iter().enumerate().skip(1) {
            for (o, &c) in out.iter_mut().zip(row) {
                let c: u32 = c.into();
                if c >= self.min_cases
                    && let Some(l) =
                        bernoulli_llr(f64::from(c), size as f64, big_c, big_n, self.null_term)
                {
                    *o = o.max(l);
                }
            }
        }
        out
    }
}

/// The walk of one batch: `maxc[size][r]` becomes the largest case count of
/// any window of `size` households in replicate `r` of the batch. Written for
/// `u16` lanes (windows of at most 65,535 households: half the cache traffic)
/// and `u32` lanes, with plain operators so that debug builds stay fast too;
/// run through [`pulp::Arch::dispatch`], which compiles it (inlined) once per
/// instruction set.
macro_rules! walk {
    ($name:ident, $lane:ty) => {
        struct $name<'a> {
            windows: &'a Windows,
            labels: &'a [[u8; 64]],
            maxc: &'a mut [[$lane; 64]],
        }

        impl pulp::WithSimd for $name<'_> {
            type Output = ();

            #[inline(always)]
            #[allow(clippy::needless_range_loop)]
            fn with_simd<S: pulp::Simd>(self, _simd: S) {
                let Self {
                    windows,
                    labels,
                    maxc,
                } = self;
                for centre in 0..labels.len() {
                    let mut cnt = [0 as $lane; 64];
                    for (pos, &e) in windows.list(centre).iter().enumerate() {
                        let lab: &[u8; 64] = &labels[(e & IDX) as usize];
                        for r in 0..64 {
                            cnt[r] += <$lane>::from(lab[r]);
                        }
                        if e & LAST != 0
                            && let Some(row) = maxc.get_mut(pos + 1)
                        {
                            for r in 0..64 {
                                // A select with an unconditional store: vectorises as max.
                                row[r] = if cnt[r] > row[r] { cnt[r] } else { row[r] };
                            }
                        }
                    }
                }
            }
        }
    };
}

walk!(WalkU16, u16);
walk!(WalkU32, u32);
