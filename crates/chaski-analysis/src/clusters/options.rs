//! The options of a cluster request: method (`scan`, `dbscan`, `gistar`), Gi* units and values, and their parameters, each word parsed once for the command line and the HTTP API.

use super::error::{ClustersError, bad_option};
use std::str::FromStr;

/// Cluster detection method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Method {
    /// Kulldorff's spatial scan statistic (Bernoulli), Monte Carlo p-values.
    #[default]
    Scan,
    /// DBSCAN of the case households.
    Dbscan,
    /// Getis–Ord Gi* hot spots of aggregated households, BH-corrected.
    Gistar,
}

impl Method {
    /// Lower-case name (`scan`, `dbscan`, `gistar`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scan => "scan",
            Self::Dbscan => "dbscan",
            Self::Gistar => "gistar",
        }
    }
}

impl FromStr for Method {
    type Err = ClustersError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scan" => Ok(Self::Scan),
            "dbscan" => Ok(Self::Dbscan),
            "gistar" | "gi*" => Ok(Self::Gistar),
            _ => Err(bad_option("method", s, "expected scan, dbscan or gistar")),
        }
    }
}

/// Aggregation units of Gi*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum By {
    /// Square grid cells of [`ClusterOptions::cell_m`] metres.
    #[default]
    Grid,
    /// The household's community code.
    Community,
}

impl By {
    /// Lower-case name (`grid`, `community`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grid => "grid",
            Self::Community => "community",
        }
    }
}

impl FromStr for By {
    type Err = ClustersError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "grid" => Ok(Self::Grid),
            "community" => Ok(Self::Community),
            _ => Err(bad_option("by", s, "expected grid or community")),
        }
    }
}

/// Value of each Gi* unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GiValue {
    /// Cases / households.
    #[default]
    Rate,
    /// Cases.
    Count,
}

impl GiValue {
    /// Lower-case name (`rate`, `count`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::Count => "count",
        }
    }
}

impl FromStr for GiValue {
    type Err = ClustersError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rate" => Ok(Self::Rate),
            "count" => Ok(Self::Count),
            _ => Err(bad_option("value", s, "expected rate or count")),
        }
    }
}

/// What to detect and how. The defaults are those of `chaski clusters`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// Comma list of case flags: boolean fields (`anaemia`) or predicates (`risk_level=alto`, `pregnant>0`).
    pub flags: String,
    /// A case has all the flags (default: any of them).
    pub all: bool,
    /// Detection method.
    pub method: Method,
    /// Fill in the member household codes of each row (restricted household-level data).
    pub with_members: bool,
    /// scan: largest window as a share of all households, in (0, 1]. Default 0.5.
    pub max_share: f64,
    /// scan: largest window radius, metres.
    pub max_radius_m: Option<f64>,
    /// scan: Monte Carlo replicates. Default 999.
    pub replicates: usize,
    /// scan: seed of the replicates. Default 1997.
    pub seed: u64,
    /// scan: most clusters reported (the most likely and secondary ones). Default 10.
    pub max_clusters: usize,
    /// dbscan: neighbourhood radius, metres. Default 150.
    pub eps_m: f64,
    /// dbscan: fewest case households within eps (itself included) of a core household. Default 4.
    pub min_points: usize,
    /// dbscan: also compute the sorted distances to the K-th nearest case (to choose eps).
    pub k_distance: Option<usize>,
    /// gistar: aggregation units.
    pub by: By,
    /// gistar: grid cell side, metres. Default 500.
    pub cell_m: f64,
    /// gistar: value of each unit.
    pub value: GiValue,
    /// gistar: nearest neighbours of each unit (itself added). Default 8.
    pub k: usize,
    /// gistar: false discovery rate (Benjamini–Hochberg). Default 0.05.
    pub alpha: f64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            flags: String::new(),
            all: false,
            method: Method::Scan,
            with_members: false,
            max_share: 0.5,
            max_radius_m: None,
            replicates: 999,
            seed: 1997,
            max_clusters: 10,
            eps_m: 150.0,
            min_points: 4,
            k_distance: None,
            by: By::Grid,
            cell_m: 500.0,
            value: GiValue::Rate,
            k: 8,
            alpha: 0.05,
        }
    }
}

impl ClusterOptions {
    /// Check the ranges of the options (every option, whatever the method).
    pub fn validate(&self) -> Result<(), ClustersError> {
        if !(self.max_share > 0.0 && self.max_share <= 1.0) {
            return Err(bad_option("max_share", self.max_share, "must be in (0, 1]"));
        }
        if let Some(r) = self.max_radius_m
            && !(r.is_finite() && r > 0.0)
        {
            return Err(bad_option("max_radius_m", r, "must be a distance > 0 m"));
        }
        if !(self.eps_m.is_finite() && self.eps_m > 0.0) {
            return Err(bad_option("eps_m", self.eps_m, "must be a distance > 0 m"));
        }
        if self.min_points == 0 {
            return Err(bad_option("min_points", 0, "must be at least 1"));
        }
        if self.method == Method::Gistar {
            if !(self.cell_m.is_finite() && self.cell_m > 0.0) {
                return Err(bad_option(
                    "cell_m",
                    self.cell_m,
                    "must be a distance > 0 m",
                ));
            }
            if !(self.alpha > 0.0 && self.alpha < 1.0) {
                return Err(bad_option("alpha", self.alpha, "must be in (0, 1)"));
            }
            if self.k == 0 {
                return Err(bad_option("k", 0, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// A one-line description of the method's settings.
    pub fn describe(&self) -> String {
        match self.method {
            Method::Scan => format!(
                "Bernoulli, {} replicates, seed {}",
                self.replicates, self.seed
            ),
            Method::Dbscan => format!("eps {} m, min points {}", self.eps_m, self.min_points),
            Method::Gistar => format!(
                "{}, {} values, k {}, FDR {}",
                match self.by {
                    By::Grid => format!("{} m cells", self.cell_m),
                    By::Community => "communities".to_owned(),
                },
                self.value.as_str(),
                self.k,
                self.alpha
            ),
        }
    }
}
