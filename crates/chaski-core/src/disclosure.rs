//! Statistical disclosure control of counts drawn from private household
//! records: primary and complementary (secondary) cell suppression of a
//! one-dimensional table, the contributor rule, rounding to base 5 and coarse
//! bounds.
//!
//! Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte
//! Nordholt, E., Spicer, K. & de Wolf, P.-P. (2012). *Statistical Disclosure
//! Control.* Wiley. Chapter 4 (magnitude and frequency tables): the threshold
//! rule and primary suppression, secondary (complementary) suppression, the
//! dominance of one contributor, and rounding to a base as national
//! statistics offices publish frequency tables.
//!
//! # Table protection
//!
//! [`protect_table`] takes the cells c₁ … cₙ of a table whose total T = Σ cᵢ
//! is published or can be derived, and suppresses:
//!
//! 1. **primary**: every cell with 0 < cᵢ < [`MIN_CELL`];
//! 2. (with [`protect_table_with`]) any cell the caller forces, such as one
//!    that fails the [contributor rule](contributor_discloses);
//! 3. **complementary**: while some cell is suppressed and *not*
//!    (k ≥ 2 and H ≥ k + 4), where k is the number of suppressed cells and H
//!    their sum, the smallest non-zero shown cell (the first of equals) is
//!    suppressed too. When no such cell is left, the table total must be
//!    suppressed as well ([`Protected::total_suppressed`]).
//!
//! Zero cells are shown as 0 (an empty cell discloses no household).
//!
//! Why this suffices: an attacker who knows the exact total, every shown cell
//! and that each suppressed cell is at least 1 can place a suppressed cell
//! only in [1, H − (k − 1)]. With k ≥ 2 and H ≥ k + 4 that interval always
//! holds 1 and a value ≥ 5, so no suppressed cell can be recovered by
//! subtraction, not even whether it is under 5.
//!
//! Parameters: the counts, in table order. Returns a [`Protected`] table:
//! which cells are suppressed (and why, for logs and tests; outputs must
//! show every suppressed cell alike), whether the total is, and the shown
//! values rounded with [`round_to_base`] ([`Protected::shown`]).
//!
//! # Rounding, single counts and bounds
//!
//! Shown counts are rounded to the nearest multiple of [`ROUND_TO`]
//! ([`round_to_base`]; halves up, though with an odd base and whole counts no
//! half occurs). A count standing alone (a layer's feature count, the
//! households or cases of a cluster answer) is [`Shown::count`]: `<5` for 1 to
//! 4, else rounded ([`Shown::unless_small`] keeps larger totals exact). A
//! bounding box is [`coarse_bounds`]: rounded outward to
//! [`COARSE_DEGREES`].
//!
//! ```
//! use chaski_core::disclosure::{MIN_CELL, Shown, protect_table};
//! // Households per risk level: alto 3, medio 40, bajo 0, unknown 7.
//! let p = protect_table(&[3, 40, 0, 7]);
//! // 3 is under 5 (primary); 7 is the smallest non-zero shown cell
//! // (complementary): k = 2, H = 10 ≥ k + 4, so each lies in [1, 9].
//! assert_eq!(p.suppressed_cells(), vec![0, 3]);
//! assert!(!p.total_suppressed());
//! assert_eq!(
//!     p.shown(),
//!     vec![Shown::Suppressed, Shown::Count(40), Shown::Count(0), Shown::Suppressed]
//! );
//! assert_eq!(Shown::count(3).to_string(), format!("<{MIN_CELL}"));
//! assert_eq!(Shown::count(43).to_string(), "45");
//! ```

use serde::{Serialize, Serializer};
use std::fmt;

/// Smallest count shown: cells of 1 to `MIN_CELL − 1` are suppressed.
pub const MIN_CELL: u64 = 5;

/// Base to which shown counts are rounded.
pub const ROUND_TO: u64 = 5;

/// Step, in degrees, to which [`coarse_bounds`] rounds outward.
pub const COARSE_DEGREES: f64 = 0.1;

/// Why a cell of a [`Protected`] table is suppressed. For logs and tests
/// only: an output must show every suppressed cell alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The cell is under [`MIN_CELL`].
    Primary,
    /// The caller forced it (for example the [contributor rule](contributor_discloses)).
    Forced,
    /// Suppressed to protect other suppressed cells.
    Complementary,
}

/// A count as it may be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// A count (0, or rounded to [`ROUND_TO`]).
    Count(u64),
    /// A count standing alone of 1 to `MIN_CELL − 1`: `<5`.
    Under,
    /// A cell of a protected table that is suppressed (for whatever
    /// [`Reason`]): `x` in text, `null` in JSON.
    Suppressed,
}

impl Shown {
    /// A count standing alone: 0 as 0, 1 to 4 as [`Shown::Under`], larger
    /// counts rounded with [`round_to_base`].
    pub fn count(n: u64) -> Self {
        if n > 0 && n < MIN_CELL {
            Self::Under
        } else {
            Self::Count(round_to_base(n))
        }
    }

    /// A count shown exactly unless it is 1 to 4 ([`Shown::Under`]): for
    /// totals that are published unrounded (the households and cases a
    /// cluster answer was computed from).
    pub fn unless_small(n: u64) -> Self {
        if n > 0 && n < MIN_CELL {
            Self::Under
        } else {
            Self::Count(n)
        }
    }

    /// The number shown, if any.
    pub fn value(self) -> Option<u64> {
        match self {
            Self::Count(n) => Some(n),
            Self::Under | Self::Suppressed => None,
        }
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Under => write!(f, "<{MIN_CELL}"),
            Self::Suppressed => f.write_str("x"),
        }
    }
}

impl Serialize for Shown {
    /// A JSON number, the string `"<5"`, or `null` for a suppressed cell.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Count(n) => s.serialize_u64(*n),
            Self::Under => s.collect_str(self),
            Self::Suppressed => s.serialize_none(),
        }
    }
}

/// `n` rounded to the nearest multiple of [`ROUND_TO`] (halves up).
pub fn round_to_base(n: u64) -> u64 {
    n.saturating_add(ROUND_TO / 2) / ROUND_TO * ROUND_TO
}

/// A table after [`protect_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    counts: Vec<u64>,
    reasons: Vec<Option<Reason>>,
    total_suppressed: bool,
}

impl Protected {
    /// Number of cells.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether the table has no cell.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Whether cell `i` is suppressed (false for a cell out of range).
    pub fn is_suppressed(&self, i: usize) -> bool {
        self.reason(i).is_some()
    }

    /// Why cell `i` is suppressed (None: shown, or out of range).
    pub fn reason(&self, i: usize) -> Option<Reason> {
        self.reasons.get(i).copied().flatten()
    }

    /// Positions of the suppressed cells, ascending.
    pub fn suppressed_cells(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| self.is_suppressed(i)).collect()
    }

    /// Whether the table total must be suppressed too (its suppressed cells
    /// could not be protected by complementary suppression).
    pub fn total_suppressed(&self) -> bool {
        self.total_suppressed
    }

    /// The cells as they may be published: suppressed cells as
    /// [`Shown::Suppressed`], the others rounded with [`round_to_base`].
    pub fn shown(&self) -> Vec<Shown> {
        self.counts
            .iter()
            .zip(&self.reasons)
            .map(|(&c, r)| {
                if r.is_some() {
                    Shown::Suppressed
                } else {
                    Shown::Count(round_to_base(c))
                }
            })
            .collect()
    }

    /// The total as it may be published: [`Shown::Suppressed`] when
    /// [`Self::total_suppressed`], else [`Shown::count`] of the sum.
    pub fn shown_total(&self) -> Shown {
        if self.total_suppressed {
            Shown::Suppressed
        } else {
            Shown::count(self.counts.iter().sum())
        }
    }
}

/// Primary and complementary suppression of `counts` (see the module
/// documentation).
pub fn protect_table(counts: &[u64]) -> Protected {
    protect_table_with(counts, |_| false)
}

/// [`protect_table`] with the cells for which `force(i)` holds suppressed as
/// well (before complementary suppression), e.g. cells failing the
/// [contributor rule](contributor_discloses).
pub fn protect_table_with(counts: &[u64], force: impl Fn(usize) -> bool) -> Protected {
    let mut reasons: Vec<Option<Reason>> = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if c > 0 && c < MIN_CELL {
                Some(Reason::Primary)
            } else if c > 0 && force(i) {
                Some(Reason::Forced)
            } else {
                None
            }
        })
        .collect();
    let mut total_suppressed = false;
    loop {
        let (k, h) = counts
            .iter()
            .zip(&reasons)
            .filter(|(_, r)| r.is_some())
            .fold((0_u64, 0_u64), |(k, h), (&c, _)| {
                (k + 1, h.saturating_add(c))
            });
        if k == 0 || (k >= 2 && h >= k + MIN_CELL - 1) {
            break;
        }
        // The smallest non-zero shown cell, the first of equals.
        let next = counts
            .iter()
            .enumerate()
            .filter(|&(i, &c)| c > 0 && reasons[i].is_none())
            .min_by_key(|&(i, &c)| (c, i))
            .map(|(i, _)| i);
        let Some(i) = next else {
            total_suppressed = true;
            break;
        };
        reasons[i] = Some(Reason::Complementary);
    }
    Protected {
        counts: counts.to_vec(),
        reasons,
        total_suppressed,
    }
}

/// The contributor rule: whether a cell of `total` made of `parts` (e.g. one
/// community's households split by CHA sector, or by facility; every part,
/// including one for records without a value) must be suppressed because for
/// some part p, 0 < total − p < [`MIN_CELL`]. A CHA or facility knows its own
/// part exactly and would learn the small count of the others by subtraction,
/// even after uploading households of its own to move the total.
pub fn contributor_discloses(total: u64, parts: impl IntoIterator<Item = u64>) -> bool {
    parts.into_iter().any(|p| {
        let rest = total.saturating_sub(p);
        rest > 0 && rest < MIN_CELL
    })
}

/// `[min_x, min_y, max_x, max_y]` (degrees) rounded outward to
/// [`COARSE_DEGREES`]: the minima down to the grid of 0.1°, the maxima up to
/// the far edge of the grid cell holding them (so the box never collapses
/// onto a point that lies on a grid line).
pub fn coarse_bounds(b: [f64; 4]) -> [f64; 4] {
    let steps = (1.0 / COARSE_DEGREES).round();
    let down = |v: f64| (v * steps).floor() / steps;
    let up = |v: f64| ((v * steps).floor() + 1.0) / steps;
    [down(b[0]), down(b[1]), up(b[2]), up(b[3])]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cells(counts: &[u64]) -> (Vec<usize>, bool) {
        let p = protect_table(counts);
        (p.suppressed_cells(), p.total_suppressed())
    }

    #[test]
    fn tables_worked_by_hand() {
        // [3, 40, 0, 7]: 3 < 5 (primary); k = 1, so the smallest non-zero
        // shown cell, 7, goes too: k = 2, H = 10 ≥ 6. 40 and 0 are shown.
        assert_eq!(cells(&[3, 40, 0, 7]), (vec![0, 3], false));
        // [2, 1, 50]: 2 and 1 primary; k = 2, H = 3 < 6: 50 goes too,
        // k = 3, H = 53 ≥ 7; each cell could be anything in [1, 51].
        assert_eq!(cells(&[2, 1, 50]), (vec![0, 1, 2], false));
        // [4, 4, 30]: k = 2, H = 8 ≥ 6: done (each in [1, 7]).
        assert_eq!(cells(&[4, 4, 30]), (vec![0, 1], false));
        // [1, 1, 9, 6]: k = 2, H = 2 < 6; add 6 (smallest shown): k = 3,
        // H = 8 ≥ 7; 9 shown.
        assert_eq!(cells(&[1, 1, 9, 6]), (vec![0, 1, 3], false));
        // [2, 8, 8]: add the first 8 (tie): k = 2, H = 10 ≥ 6.
        assert_eq!(cells(&[2, 8, 8]), (vec![0, 1], false));
        // [3, 0]: no other non-zero cell: the total must go.
        assert_eq!(cells(&[3, 0]), (vec![0], true));
        // [1, 4]: k = 2, H = 5 < 6 and nothing left to add: total suppressed.
        assert_eq!(cells(&[1, 4]), (vec![0, 1], true));
        // Nothing under 5: nothing suppressed; zeros shown.
        assert_eq!(cells(&[0, 5, 12]), (vec![], false));
        assert_eq!(cells(&[]), (vec![], false));
        // A forced cell of 40 (contributor rule) needs a partner: 12 (the
        // smallest shown), k = 2, H = 52.
        let p = protect_table_with(&[40, 12, 30, 0], |i| i == 0);
        assert_eq!(p.suppressed_cells(), vec![0, 1]);
        assert_eq!(p.reason(0), Some(Reason::Forced));
        assert_eq!(p.reason(1), Some(Reason::Complementary));
        // Forcing a zero cell suppresses nothing; forcing the only
        // non-zero cell leaves no partner: the total goes.
        assert_eq!(
            protect_table_with(&[0, 12], |i| i == 0).suppressed_cells(),
            Vec::<usize>::new()
        );
        let p = protect_table_with(&[0, 12], |_| true);
        assert_eq!(
            (p.suppressed_cells(), p.total_suppressed()),
            (vec![1], true)
        );
    }

    #[test]
    fn the_seven_household_table() {
        // alto 2, medio 0, bajo 5: alto primary, bajo complementary
        // (k = 2, H = 7 ≥ 6), medio 0 shown; the total 7 rounds to 5.
        let p = protect_table(&[2, 0, 5]);
        assert_eq!(
            p.shown(),
            vec![Shown::Suppressed, Shown::Count(0), Shown::Suppressed]
        );
        assert_eq!(p.shown_total(), Shown::Count(5));
    }

    #[test]
    fn rounding_and_single_counts() {
        let r: Vec<u64> = [0, 1, 2, 3, 5, 7, 8, 12, 13, 2017]
            .iter()
            .map(|&n| round_to_base(n))
            .collect();
        assert_eq!(r, [0, 0, 0, 5, 5, 5, 10, 10, 15, 2015]);
        assert_eq!(Shown::count(0), Shown::Count(0));
        assert_eq!(Shown::count(4), Shown::Under);
        assert_eq!(Shown::count(5), Shown::Count(5));
        assert_eq!(Shown::count(8), Shown::Count(10));
        assert_eq!(Shown::Under.to_string(), "<5");
        assert_eq!(Shown::Suppressed.to_string(), "x");
        assert_eq!(
            serde_json::to_string(&[Shown::Count(10), Shown::Under, Shown::Suppressed]).unwrap(),
            r#"[10,"<5",null]"#
        );
        assert_eq!(Shown::count(12).value(), Some(10));
        assert_eq!(Shown::unless_small(12), Shown::Count(12));
        assert_eq!(Shown::unless_small(3), Shown::Under);
        assert_eq!(Shown::unless_small(0), Shown::Count(0));
        assert_eq!(Shown::Under.value(), None);
    }

    #[test]
    fn contributor_rule_by_hand() {
        // 40 of sector A and 3 of B: A learns B = 43 − 40 = 3.
        assert!(contributor_discloses(43, [40, 3]));
        // Adding households to A does not help: 44 − 41 = 3.
        assert!(contributor_discloses(44, [41, 3]));
        // 40 and 5: 45 − 40 = 5 is not under 5; 45 − 5 = 40 neither.
        assert!(!contributor_discloses(45, [40, 5]));
        // A single part: total − p = 0, nothing to learn.
        assert!(!contributor_discloses(12, [12]));
        // Three parts 10, 2, 1: 13 − 10 = 3.
        assert!(contributor_discloses(13, [10, 2, 1]));
    }

    #[test]
    fn bounds_round_outward() {
        let b = coarse_bounds([-73.6123, -13.6789, -73.4501, -13.3001]);
        let want = [-73.7, -13.7, -73.4, -13.3];
        for (g, w) in b.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "{b:?}");
        }
        // A single point on the grid: a box of one step, not a point.
        let p = coarse_bounds([-73.6, -13.6, -73.6, -13.6]);
        assert!(p[2] - p[0] > 0.05 && p[3] - p[1] > 0.05, "{p:?}");
        // Outward: the coarse box holds the exact one.
        let exact = [-75.05, -12.01, -74.999, -11.95];
        let c = coarse_bounds(exact);
        assert!(c[0] <= exact[0] && c[1] <= exact[1] && c[2] >= exact[2] && c[3] >= exact[3]);
    }

    proptest! {
        #[test]
        fn no_cell_is_recoverable(
            counts in prop::collection::vec(prop_oneof![Just(0_u64), 1_u64..5, 0_u64..60], 0..12),
            forced in prop::collection::vec(any::<bool>(), 12),
        ) {
            let p = protect_table_with(&counts, |i| forced[i]);
            let sup = p.suppressed_cells();
            let k = sup.len() as u64;
            let h: u64 = sup.iter().map(|&i| counts[i]).sum();
            if k > 0 && !p.total_suppressed() {
                prop_assert!(k >= 2, "{counts:?}: one suppressed cell");
                prop_assert!(h - (k - 1) >= MIN_CELL, "{counts:?}: H = {h}, k = {k}");
            }
            let shown = p.shown();
            for (i, &c) in counts.iter().enumerate() {
                if c > 0 && c < MIN_CELL {
                    prop_assert!(p.is_suppressed(i));
                    prop_assert_eq!(p.reason(i), Some(Reason::Primary));
                }
                if c == 0 {
                    prop_assert!(!p.is_suppressed(i));
                }
                if p.is_suppressed(i) {
                    prop_assert_eq!(shown[i], Shown::Suppressed);
                } else {
                    // Shown cells are untouched apart from the rounding.
                    prop_assert_eq!(shown[i], Shown::Count(round_to_base(c)));
                    prop_assert!(c == 0 || c >= MIN_CELL);
                }
            }
            // Complementary cells are only added when needed: a table with
            // nothing under 5 and nothing forced keeps every cell.
            if counts.iter().enumerate().all(|(i, &c)| (c == 0 || c >= MIN_CELL) && !(forced[i] && c > 0)) {
                prop_assert!(sup.is_empty());
            }
        }
    }
}
