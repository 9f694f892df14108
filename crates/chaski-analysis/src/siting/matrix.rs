//! The sparse travel-time matrix between villages and candidate sites.

use crate::siting::SitingError;

/// Travel minutes from villages to candidate sites, sparse: per candidate,
/// the `(village, minutes)` pairs within the matrix's maximum time, sorted by
/// village. A pair that is absent means "beyond the matrix's limit".
///
/// ```
/// use chaski_analysis::siting::TravelMatrix;
/// let m = TravelMatrix::from_entries(3, 2, [(0, 0, 10.0), (2, 0, 5.0), (0, 0, 8.0), (1, 1, 0.0)]).unwrap();
/// assert_eq!(m.reach(0), &[(0, 8.0), (2, 5.0)]); // the duplicate kept its minimum
/// assert_eq!(m.minutes(1, 1), Some(0.0));
/// assert_eq!(m.minutes(1, 0), None);
/// assert!(TravelMatrix::from_entries(1, 1, [(0, 0, f32::NAN)]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TravelMatrix {
    villages: usize,
    reach: Vec<Vec<(u32, f32)>>,
    max_minutes: f32,
}

impl TravelMatrix {
    /// Builds the matrix from `(village, candidate, minutes)` entries in any
    /// order. Duplicated pairs keep their minimum. An index out of range or
    /// minutes that are NaN, infinite or negative are an error naming the
    /// entry (its position in the input).
    pub fn from_entries(
        villages: usize,
        candidates: usize,
        entries: impl IntoIterator<Item = (usize, usize, f32)>,
    ) -> Result<Self, SitingError> {
        if u32::try_from(villages).is_err() {
            return Err(SitingError::TooManyVillages { villages });
        }
        let mut reach: Vec<Vec<(u32, f32)>> = vec![Vec::new(); candidates];
        let mut max_minutes = 0.0f32;
        for (entry, (village, candidate, minutes)) in entries.into_iter().enumerate() {
            if village >= villages {
                return Err(SitingError::VillageOutOfRange {
                    entry,
                    village,
                    villages,
                });
            }
            if candidate >= candidates {
                return Err(SitingError::CandidateOutOfRange {
                    entry,
                    candidate,
                    candidates,
                });
            }
            if !minutes.is_finite() || minutes < 0.0 {
                return Err(SitingError::InvalidMinutes {
                    entry,
                    village,
                    candidate,
                    minutes,
                });
            }
            max_minutes = max_minutes.max(minutes);
            reach[candidate].push((village as u32, minutes));
        }
        for list in &mut reach {
            list.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            list.dedup_by_key(|e| e.0);
        }
        Ok(Self {
            villages,
            reach,
            max_minutes,
        })
    }

    /// Number of villages.
    pub fn villages(&self) -> usize {
        self.villages
    }

    /// Number of candidate sites.
    pub fn candidates(&self) -> usize {
        self.reach.len()
    }

    /// The `(village, minutes)` pairs of a candidate, sorted by village; empty
    /// for a candidate out of range.
    pub fn reach(&self, candidate: usize) -> &[(u32, f32)] {
        self.reach.get(candidate).map_or(&[], Vec::as_slice)
    }

    /// Minutes from `village` to `candidate`, `None` beyond the matrix.
    pub fn minutes(&self, village: usize, candidate: usize) -> Option<f32> {
        let list = self.reach(candidate);
        let v = u32::try_from(village).ok()?;
        list.binary_search_by_key(&v, |e| e.0)
            .ok()
            .map(|k| list[k].1)
    }

    /// The largest minutes of any entry (0 for an empty matrix): the
    /// penalty the p-median charges a village no open site reaches.
    pub fn max_minutes(&self) -> f32 {
        self.max_minutes
    }

    /// Number of stored pairs.
    pub fn entries(&self) -> usize {
        self.reach.iter().map(Vec::len).sum()
    }
}
