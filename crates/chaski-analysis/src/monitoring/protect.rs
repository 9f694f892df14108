//! Disclosure control of indicator tables: every published numerator,
//! denominator and their difference (households without the indicator) is 0
//! or at least 5, and no suppressed community, district or group follows by
//! subtraction from the tables published beside it.
//!
//! Hundepool et al. (2012), *Statistical Disclosure Control* (Wiley), ch. 4:
//! primary suppression, the dominance (contributor) rule and secondary
//! suppression in linked hierarchical tables; the condition is
//! [`chaski_core::disclosure`]'s (k ≥ 2 suppressed non-zero cells holding
//! H ≥ k + 4 households between them).
//!
//! The atoms are communities. For one indicator and one period, each atom has
//! three counts — denominator d, numerator n and d − n — and each is a cell of
//! a table whose total is known. Published sums are: the atoms that are shown,
//! the store's total, and the parts of each partition of the atoms (districts;
//! intervention and control groups) that are shown. For each such sum, the
//! suppressed atoms it holds must meet the condition in each of the three
//! counts; so must the parts of a partition that are hidden, taken together
//! (their sum is the total minus the shown parts). [`protect`] suppresses atoms
//! (the smallest non-zero count first) and hides parts until every sum meets
//! it; when even the total cannot be protected, everything is hidden.
//!
//! Sums that mix two partitions (a district's share of one group) are not
//! audited by linear programming: a residual risk the rounding of published
//! counts to 5 reduces, and which disappears when one partition nests in the
//! other.
//!
//! Parameters: per atom its counts and whether it must be hidden anyway (the
//! contributor rule), and the partitions (part of each atom, parts that must
//! be hidden). Returns which atoms and parts are published.
//!
//! ```
//! use chaski_analysis::monitoring::protect::{Atom, Partition, protect};
//! // Three communities of one district: 40 (10 cases), 3 (1), 30 (6).
//! let atoms = [Atom::new(40, 10), Atom::new(3, 1), Atom::new(30, 6)];
//! let district = Partition { part_of: vec![0, 0, 0], force: vec![false] };
//! let p = protect(&atoms, &[district]);
//! // The small community is hidden, and the next smallest with it: the
//! // district total minus the shown community would give it otherwise.
//! assert_eq!(p.atoms, vec![true, false, false]);
//! assert_eq!(p.parts, vec![vec![true]]);
//! ```

// Table cells: d, n, k, h, t, p, q... are the names of the module documentation.
#![allow(clippy::many_single_char_names)]

use chaski_core::disclosure::MIN_CELL;

/// The counts of one atom (community) for one indicator and period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Atom {
    /// Denominator.
    pub d: u64,
    /// Numerator (at most `d`).
    pub n: u64,
    /// Hidden whatever its counts (the contributor rule).
    pub force: bool,
}

impl Atom {
    /// An atom of `d` households, `n` of them counted.
    pub fn new(d: u64, n: u64) -> Self {
        Self { d, n, force: false }
    }

    fn counts(self) -> [u64; 3] {
        [self.d, self.n, self.d.saturating_sub(self.n)]
    }
}

/// A partition of the atoms into parts whose totals are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Part of each atom.
    pub part_of: Vec<usize>,
    /// Per part: hidden whatever its counts (the contributor rule).
    pub force: Vec<bool>,
}

/// What may be published: `atoms[i]` and `parts[p][q]` are `true` when
/// published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// Per atom, whether it is published.
    pub atoms: Vec<bool>,
    /// Per partition and part, whether its total is published.
    pub parts: Vec<Vec<bool>>,
    /// Whether the total of every atom is published.
    pub total: bool,
}

fn small(v: u64) -> bool {
    v > 0 && v < MIN_CELL
}

/// Whether the suppressed atoms among `members` are safe in every count; if
/// not, the count at fault.
fn unsafe_count(atoms: &[Atom], hidden: &[bool], members: &[usize]) -> Option<usize> {
    (0..3).find(|&t| {
        let (k, h) = members
            .iter()
            .filter(|&&i| hidden[i])
            .map(|&i| atoms[i].counts()[t])
            .filter(|&v| v > 0)
            .fold((0_u64, 0_u64), |(k, h), v| (k + 1, h + v));
        k > 0 && !(k >= 2 && h >= k + MIN_CELL - 1)
    })
}

/// The smallest non-zero count `t` among the shown atoms of `members`.
fn next_atom(atoms: &[Atom], hidden: &[bool], members: &[usize], t: usize) -> Option<usize> {
    members
        .iter()
        .copied()
        .filter(|&i| !hidden[i] && atoms[i].counts()[t] > 0)
        .min_by_key(|&i| (atoms[i].counts()[t], i))
}

/// Protect one indicator table (see the module documentation).
pub fn protect(atoms: &[Atom], partitions: &[Partition]) -> Protection {
    let mut hidden: Vec<bool> = atoms
        .iter()
        .map(|a| a.d > 0 && (a.force || a.counts().into_iter().any(small)))
        .collect();
    let members: Vec<Vec<Vec<usize>>> = partitions
        .iter()
        .map(|p| {
            let mut m = vec![Vec::new(); p.force.len()];
            for (i, &q) in p.part_of.iter().enumerate() {
                m[q].push(i);
            }
            m
        })
        .collect();
    let mut part_hidden: Vec<Vec<bool>> = partitions
        .iter()
        .zip(&members)
        .map(|(p, m)| {
            m.iter()
                .zip(&p.force)
                .map(|(atoms_of, &force)| {
                    let mut sum = [0_u64; 3];
                    for &i in atoms_of {
                        for (s, v) in sum.iter_mut().zip(atoms[i].counts()) {
                            *s += v;
                        }
                    }
                    sum[0] > 0 && (force || sum.into_iter().any(small))
                })
                .collect()
        })
        .collect();
    let all: Vec<usize> = (0..atoms.len()).collect();
    let hide_everything = |n: usize, parts: &[Vec<bool>]| Protection {
        atoms: vec![false; n],
        parts: parts.iter().map(|p| vec![false; p.len()]).collect(),
        total: false,
    };
    loop {
        let mut changed = false;
        // The store's total.
        while let Some(t) = unsafe_count(atoms, &hidden, &all) {
            match next_atom(atoms, &hidden, &all, t) {
                Some(i) => hidden[i] = true,
                None => return hide_everything(atoms.len(), &part_hidden),
            }
            changed = true;
        }
        for (p, parts) in members.iter().enumerate() {
            // Each shown part.
            for (q, m) in parts.iter().enumerate() {
                if part_hidden[p][q] {
                    continue;
                }
                while let Some(t) = unsafe_count(atoms, &hidden, m) {
                    changed = true;
                    if let Some(i) = next_atom(atoms, &hidden, m, t) {
                        hidden[i] = true;
                    } else {
                        part_hidden[p][q] = true;
                        break;
                    }
                }
            }
            // The hidden parts together (the total minus the shown parts).
            loop {
                let union: Vec<usize> = parts
                    .iter()
                    .enumerate()
                    .filter(|(q, _)| part_hidden[p][*q])
                    .flat_map(|(_, m)| m.iter().copied())
                    .collect();
                let Some(t) = unsafe_count(atoms, &hidden, &union) else {
                    break;
                };
                changed = true;
                if let Some(i) = next_atom(atoms, &hidden, &union, t) {
                    hidden[i] = true;
                    continue;
                }
                // Hide one more part: the shown one with the fewest households.
                let next = parts
                    .iter()
                    .enumerate()
                    .filter(|(q, m)| !part_hidden[p][*q] && m.iter().any(|&i| atoms[i].d > 0))
                    .min_by_key(|(q, m)| (m.iter().map(|&i| atoms[i].d).sum::<u64>(), *q))
                    .map(|(q, _)| q);
                match next {
                    Some(q) => part_hidden[p][q] = true,
                    None => return hide_everything(atoms.len(), &part_hidden),
                }
            }
        }
        if !changed {
            break;
        }
    }
    Protection {
        atoms: hidden.iter().map(|h| !h).collect(),
        parts: part_hidden
            .iter()
            .map(|p| p.iter().map(|h| !h).collect())
            .collect(),
        total: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whether the published sums place every hidden non-zero count of some
    /// atom or hidden part below 5 or at a single value: brute force over the
    /// sums the module documentation lists.
    fn check(atoms: &[Atom], partitions: &[Partition], p: &Protection) {
        let mut sets: Vec<Vec<usize>> = vec![(0..atoms.len()).collect()];
        for (pi, part) in partitions.iter().enumerate() {
            let nparts = part.force.len();
            let mut hidden_union = Vec::new();
            for q in 0..nparts {
                let m: Vec<usize> = (0..atoms.len()).filter(|&i| part.part_of[i] == q).collect();
                if p.parts[pi][q] {
                    sets.push(m);
                } else {
                    hidden_union.extend(m);
                }
            }
            sets.push(hidden_union);
        }
        for s in &sets {
            for t in 0..3 {
                let vals: Vec<u64> = s
                    .iter()
                    .filter(|&&i| !p.atoms[i])
                    .map(|&i| atoms[i].counts()[t])
                    .filter(|&v| v > 0)
                    .collect();
                let k = vals.len() as u64;
                let h: u64 = vals.iter().sum();
                assert!(
                    k == 0 || (k >= 2 && h >= k + 4),
                    "{atoms:?} {p:?} set {s:?} t {t}"
                );
            }
        }
        for (i, a) in atoms.iter().enumerate() {
            if p.atoms[i] && a.d > 0 {
                assert!(a.counts().iter().all(|&v| !small(v)) && !a.force);
            }
        }
    }

    proptest! {
        #[test]
        fn nothing_recoverable(
            cells in proptest::collection::vec((0_u64..30, 0_u64..30, proptest::bool::weighted(0.05)), 1..12),
            parts in proptest::collection::vec(0_usize..3, 12),
        ) {
            let atoms: Vec<Atom> = cells.iter().map(|&(d, n, force)| Atom { d, n: n.min(d), force }).collect();
            let partition = Partition { part_of: parts[..atoms.len()].to_vec(), force: vec![false; 3] };
            let p = protect(&atoms, std::slice::from_ref(&partition));
            if p.total {
                check(&atoms, &[partition], &p);
            } else {
                prop_assert!(p.atoms.iter().all(|s| !s));
            }
        }
    }

    #[test]
    fn hidden_part_is_protected_by_another() {
        // District 0: one community of 3; district 1: 50 and 60. The total minus
        // district 1 would give district 0 (and so its one community): district
        // 1 is hidden too. The 50 goes with the 3 for the store's total, then
        // the 60 for the numerator (the 3 has none: one non-zero hidden cell).
        let atoms = [Atom::new(3, 0), Atom::new(50, 10), Atom::new(60, 30)];
        let p = protect(
            &atoms,
            &[Partition {
                part_of: vec![0, 1, 1],
                force: vec![false, false],
            }],
        );
        assert_eq!(p.atoms, vec![false, false, false]);
        assert_eq!(p.parts, vec![vec![false, false]]);
    }
}
