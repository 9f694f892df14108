//! Errors of facility siting, each naming the village, candidate, entry or
//! value at fault.

/// Errors of facility siting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SitingError {
    /// A travel-matrix entry names a village outside the matrix.
    #[error(
        "travel matrix entry {entry}: village {village} is out of range (the matrix has {villages} villages)"
    )]
    VillageOutOfRange {
        /// Position of the entry in the input.
        entry: usize,
        /// The village index given.
        village: usize,
        /// Number of villages of the matrix.
        villages: usize,
    },
    /// A travel-matrix entry names a candidate outside the matrix.
    #[error(
        "travel matrix entry {entry}: candidate {candidate} is out of range (the matrix has {candidates} candidates)"
    )]
    CandidateOutOfRange {
        /// Position of the entry in the input.
        entry: usize,
        /// The candidate index given.
        candidate: usize,
        /// Number of candidates of the matrix.
        candidates: usize,
    },
    /// A travel-matrix entry has NaN, infinite or negative minutes.
    #[error(
        "travel matrix entry {entry} (village {village}, candidate {candidate}): minutes must be finite and >= 0, got {minutes}"
    )]
    InvalidMinutes {
        /// Position of the entry in the input.
        entry: usize,
        /// The village.
        village: usize,
        /// The candidate.
        candidate: usize,
        /// The minutes given.
        minutes: f32,
    },
    /// More villages than a `u32` can index.
    #[error("{villages} villages: at most 4294967295 are supported")]
    TooManyVillages {
        /// Number of villages given.
        villages: usize,
    },
    /// The demand vector and the matrix disagree on the number of villages.
    #[error("demand has {demand} villages but the travel matrix has {matrix}")]
    DemandLength {
        /// Length of the demand vector.
        demand: usize,
        /// Villages of the matrix.
        matrix: usize,
    },
    /// The candidate list and the matrix disagree on the number of candidates.
    #[error("{candidates} candidates given but the travel matrix has {matrix}")]
    CandidateCount {
        /// Length of the candidate list.
        candidates: usize,
        /// Candidates of the matrix.
        matrix: usize,
    },
    /// A village's demand is negative, NaN or infinite.
    #[error("village {village}: demand must be finite and >= 0, got {demand}")]
    InvalidDemand {
        /// The village.
        village: usize,
        /// Its demand.
        demand: f64,
    },
    /// A parameter of the objective or of the options is out of range.
    #[error("{name} = {value}: {reason}")]
    InvalidParameter {
        /// The parameter (`threshold_min`, `stay_days`, `gap_tolerance`, ...).
        name: &'static str,
        /// Its value as given.
        value: String,
        /// What it must be.
        reason: &'static str,
    },
    /// `p` is larger than the number of candidates that may be opened.
    #[error(
        "p = {p} new sites asked but only {available} candidates are eligible and not already open"
    )]
    TooManySites {
        /// The p given.
        p: usize,
        /// Eligible candidates that are not existing sites.
        available: usize,
    },
    /// Brute force would enumerate too many subsets.
    #[error("brute force would enumerate {subsets} subsets (limit {limit}); use solve")]
    TooLarge {
        /// Number of subsets (saturated at `u64::MAX`).
        subsets: u64,
        /// The limit.
        limit: u64,
    },
    /// The MILP model handed to a backend is malformed.
    #[error("MILP model: {0}")]
    InvalidModel(String),
    /// The MILP backend failed.
    #[error("MILP backend {backend}: {message}")]
    Milp {
        /// The backend's name.
        backend: String,
        /// What went wrong.
        message: String,
    },
}
