//! Errors of cluster detection, each naming the parameter at fault.

use crate::clusters::dbscan::DbscanError;
use crate::clusters::gistar::GiStarError;
use crate::clusters::scan::ScanError;
use chaski_core::crs::CrsError;

/// Errors of cluster detection (each names the parameter at fault).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClustersError {
    /// A flag names a field the layer does not have.
    #[error("flags: unknown field '{field}' in layer '{layer}' (valid fields: {valid})")]
    UnknownField {
        /// The field named.
        field: String,
        /// The layer.
        layer: String,
        /// The layer's fields, comma-separated.
        valid: String,
    },
    /// A flag names a field of the layer that is not a risk field (a code, a
    /// place, a date, an extra field): it could single out households.
    #[error(
        "flags: '{field}' is not a risk field: a case may be defined only by the risk fields \
         of layer '{layer}' ({valid})"
    )]
    NotRiskField {
        /// The field named.
        field: String,
        /// The layer.
        layer: String,
        /// The risk fields the layer has, comma-separated.
        valid: String,
    },
    /// A flag could not be read.
    #[error("flags: '{flag}': {reason}")]
    Flag {
        /// The flag.
        flag: String,
        /// Why.
        reason: String,
    },
    /// An option has a value out of range or unreadable.
    #[error("{option} {value}: {reason}")]
    Option {
        /// Option name (as in the API query string; the CLI spells it `--max-share`).
        option: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The layer has no point features.
    #[error("layer '{0}' has no point features")]
    NoPoints(String),
    /// The layer could not be projected to metres.
    #[error("projecting layer '{layer}': {source}")]
    Projection {
        /// The layer.
        layer: String,
        /// The PROJ failure.
        source: CrsError,
    },
    /// The spatial scan failed.
    #[error("spatial scan: {0}")]
    Scan(#[from] ScanError),
    /// DBSCAN (or the k-distance helper) failed.
    #[error("dbscan: {0}")]
    Dbscan(#[from] DbscanError),
    /// Gi* on too few units holding households (it needs `k + 2`).
    #[error(
        "method gistar needs at least {need} units ({units}) holding households; the \
         households you may see fall in {got}: {hint}"
    )]
    GiStarTooFewUnits {
        /// Fewest units Gi* needs with this `k`.
        need: usize,
        /// Units holding households.
        got: usize,
        /// What the units are.
        units: &'static str,
        /// What to change.
        hint: &'static str,
    },
    /// Gi* on units whose values are all equal (no variance).
    #[error(
        "method gistar: all {units} units have the same {value} of cases, so no unit stands \
         out (Gi* is undefined): use method=scan or other flags"
    )]
    GiStarFlat {
        /// Number of units.
        units: usize,
        /// `rate` or `count`.
        value: &'static str,
    },
    /// Gi* failed.
    #[error("Gi*: {0}")]
    GiStar(#[from] GiStarError),
}

impl ClustersError {
    /// The parameter at fault, when the request is to blame (`flags`,
    /// `max_share`, ...); None for failures of the data or the engines.
    pub fn parameter(&self) -> Option<&'static str> {
        match self {
            Self::UnknownField { .. } | Self::NotRiskField { .. } | Self::Flag { .. } => {
                Some("flags")
            }
            Self::Option { option, .. } => Some(option),
            Self::Scan(ScanError::TooLarge { .. }) => Some("max_share"),
            Self::Dbscan(DbscanError::InvalidEps(_)) => Some("eps_m"),
            Self::Dbscan(DbscanError::InvalidMinPoints) => Some("min_points"),
            _ => None,
        }
    }

    /// Whether the request is well formed but the caller's households cannot
    /// answer it (Gi* on too few units or on equal values): HTTP 422.
    pub fn is_unprocessable(&self) -> bool {
        matches!(
            self,
            Self::GiStarTooFewUnits { .. } | Self::GiStarFlat { .. }
        )
    }
}

pub(crate) fn bad_option(
    option: &'static str,
    value: impl std::fmt::Display,
    reason: &'static str,
) -> ClustersError {
    ClustersError::Option {
        option,
        value: value.to_string(),
        reason,
    }
}
