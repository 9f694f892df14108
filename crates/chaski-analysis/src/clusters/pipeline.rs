//! Clusters of at-risk households from a household [`Layer`]: Kulldorff's
//! spatial scan (Bernoulli), DBSCAN or Getis–Ord Gi* hot spots, as rows ready
//! to print, write or serve (used by `chaski clusters` and `GET /api/clusters`).
//!
//! **Cases** are the households whose chosen flags hold (any flag by default;
//! every flag with [`ClusterOptions::all`]). A flag is a boolean field name
//! (`anaemia`), or a simple predicate `field=value`, `field!=value`,
//! `field>N`, `field>=N`, `field<N`, `field<=N` (`risk_level=alto`,
//! `pregnant>0`). A flag on a household with no value (Null) is not true, so
//! households with Null for all chosen flags are controls. Flags may name
//! only the [risk fields](chaski_core::household::RISK_FIELDS) of the layer:
//! a predicate on a code, a place or a date would single out households.
//!
//! Coordinates are projected to the UTM zone of the layer
//! ([`Projections::for_bounds`]) and all distances are in metres.
//!
//! **Privacy.** Household layers are private. A cluster's centre is the mean of
//! its member households, never one household's location; a cluster (or Gi*
//! cell / community) with fewer than [`MIN_GROUP`] households or fewer than
//! [`MIN_GROUP`] cases is reported only as `<5` with its centre rounded to
//! 0.01°, no statistic and no polygon ([`cells`], [`feature`]). Member
//! household codes are filled in only with [`ClusterOptions::with_members`].

use crate::clusters::dbscan::{DbscanError, dbscan, k_distance};
use crate::clusters::gistar::{GiStarError, Spot, gi_star};
use crate::clusters::scan::{ScanError, ScanOptions, bernoulli};
use chaski_core::crs::{CrsError, Projection, Projections};
use chaski_core::household::RISK_FIELDS;
use chaski_core::layer::Layer;
use chaski_core::value::{FieldType, Value};
use geo::{BoundingRect, ConvexHull, Geometry, MultiPoint, Point};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;

/// Fewest households, and fewest cases, of a row shown with its figures and
/// shape; smaller groups are `<5`.
pub const MIN_GROUP: usize = 5;

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

fn bad_option(
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

/// Comparison of a predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One parsed flag.
#[derive(Debug, Clone, PartialEq)]
struct Flag {
    field: usize,
    /// None: a boolean field that must be true.
    cmp: Option<(Op, String)>,
    ty: FieldType,
    text: String,
}

/// A flag as written: the field's name and the comparison, if any
/// (`pregnant>0` is `pregnant`, `>`, `0`).
fn split_flag(raw: &str) -> (&str, Option<(Op, String)>) {
    let ops = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    let found = ops
        .iter()
        .filter_map(|&(s, op)| raw.find(s).map(|at| (at, s, op)))
        .min_by_key(|&(at, s, _)| (at, std::cmp::Reverse(s.len())));
    match found {
        Some((at, s, op)) => (
            raw[..at].trim(),
            Some((op, raw[at + s.len()..].trim().to_owned())),
        ),
        None => (raw, None),
    }
}

/// The fields [`find_clusters`] reads for the flags `spec`: every risk
/// field, the code and community, and each field the flags name (so that a
/// layer read with only these fields, e.g. with
/// [`chaski_core::store::Store::read_layer_fields`], gives the same answer and
/// the same errors as the whole layer).
pub fn needed_fields(spec: &str) -> Vec<String> {
    let mut names: Vec<String> = RISK_FIELDS
        .iter()
        .chain(&["code", "community"])
        .map(|&s| s.to_owned())
        .collect();
    for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = split_flag(raw).0.to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

fn parse_flags(layer: &Layer, spec: &str) -> Result<Vec<Flag>, ClustersError> {
    let mut flags = Vec::new();
    for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, cmp) = split_flag(raw);
        let risk_fields = || {
            RISK_FIELDS
                .iter()
                .copied()
                .filter(|f| layer.field_index(f).is_some())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let field = layer
            .field_index(name)
            .ok_or_else(|| ClustersError::UnknownField {
                field: name.to_owned(),
                layer: layer.name.clone(),
                valid: risk_fields(),
            })?;
        if !RISK_FIELDS.contains(&layer.fields[field].name.as_str()) {
            return Err(ClustersError::NotRiskField {
                field: name.to_owned(),
                layer: layer.name.clone(),
                valid: risk_fields(),
            });
        }
        let ty = layer.fields[field].ty;
        let bad = |reason: String| ClustersError::Flag {
            flag: raw.to_owned(),
            reason,
        };
        match (&cmp, ty) {
            (None, FieldType::Bool) | (Some(_), FieldType::Text | FieldType::Date) => {}
            (None, _) => {
                return Err(bad(format!(
                    "field '{name}' is {}, not yes/no: use a comparison such as {name}>0 or {name}=VALUE",
                    ty.as_str()
                )));
            }
            (Some((_, v)), _) if v.is_empty() => {
                return Err(bad("no value after the operator".into()));
            }
            (Some((_, v)), FieldType::Int | FieldType::Real) => {
                if v.parse::<f64>().is_err() {
                    return Err(bad(format!(
                        "'{v}' is not a number ({name} is {})",
                        ty.as_str()
                    )));
                }
            }
            (Some((op, v)), FieldType::Bool) => {
                if !matches!(op, Op::Eq | Op::Ne) || parse_bool(v).is_none() {
                    return Err(bad(format!(
                        "{name} is yes/no: use {name}=yes or {name}=no"
                    )));
                }
            }
        }
        flags.push(Flag {
            field,
            cmp,
            ty,
            text: raw.to_owned(),
        });
    }
    if flags.is_empty() {
        return Err(ClustersError::Flag {
            flag: spec.to_owned(),
            reason: "no flag given".into(),
        });
    }
    Ok(flags)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "si" | "sí" => Some(true),
        "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Whether the flag holds: Null never does.
fn holds(flag: &Flag, v: &Value) -> bool {
    if v.is_null() {
        return false;
    }
    let Some((op, want)) = &flag.cmp else {
        return v.as_bool() == Some(true);
    };
    let ord = match flag.ty {
        FieldType::Int | FieldType::Real => match (v.as_f64(), want.parse::<f64>()) {
            (Some(a), Ok(b)) => a.partial_cmp(&b),
            _ => None,
        },
        FieldType::Bool => match (v.as_bool(), parse_bool(want)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
        FieldType::Text | FieldType::Date => {
            Some(v.to_string().to_lowercase().cmp(&want.to_lowercase()))
        }
    };
    let Some(ord) = ord else { return false };
    match op {
        Op::Eq => ord.is_eq(),
        Op::Ne => ord.is_ne(),
        Op::Gt => ord.is_gt(),
        Op::Ge => ord.is_ge(),
        Op::Lt => ord.is_lt(),
        Op::Le => ord.is_le(),
    }
}

/// One reported cluster.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterRow {
    /// `S1`, `S2`… (scan), `D1`… (DBSCAN), `G1`… or the community code (Gi*).
    pub id: String,
    /// 1 for the strongest.
    pub rank: usize,
    /// Centre longitude (the mean of the member households, or the cell centre).
    pub lon: f64,
    /// Centre latitude.
    pub lat: f64,
    /// Radius, metres.
    pub radius_m: Option<f64>,
    /// Outline ring in lon/lat.
    pub polygon: Option<Vec<(f64, f64)>>,
    /// Households in the cluster.
    pub households: usize,
    /// Case households in it.
    pub cases: usize,
    /// Expected cases at the overall rate.
    pub expected: f64,
    /// Relative risk (inside vs outside; infinite when no case lies outside).
    pub relative_risk: f64,
    /// Bernoulli log-likelihood ratio.
    pub llr: f64,
    /// Gi* z-score.
    pub z: Option<f64>,
    /// p-value (Monte Carlo for the scan, normal for Gi*).
    pub p_value: Option<f64>,
    /// Benjamini–Hochberg q-value (Gi*).
    pub q_value: Option<f64>,
    /// Member household codes (empty unless asked for). Restricted.
    pub members: Vec<String>,
}

impl ClusterRow {
    /// Whether the row is reported only as `<5`: fewer than [`MIN_GROUP`]
    /// households or fewer than [`MIN_GROUP`] cases.
    pub fn suppressed(&self) -> bool {
        self.households < MIN_GROUP || self.cases < MIN_GROUP
    }
}

/// The outcome of [`find_clusters`].
#[derive(Debug, Clone, PartialEq)]
pub struct Clusters {
    /// Method used.
    pub method: Method,
    /// Rows by rank.
    pub rows: Vec<ClusterRow>,
    /// Households (point features) analysed.
    pub households: usize,
    /// Case households among them.
    pub cases: usize,
    /// The flags as written, in order.
    pub flags: Vec<String>,
    /// dbscan with [`ClusterOptions::k_distance`]: distances to the k-th
    /// nearest other case, largest first.
    pub k_distances: Option<Vec<f64>>,
}

/// x·ln(x/y) with 0·ln 0 = 0.
fn xlog(x: f64, y: f64) -> f64 {
    if x > 0.0 { x * (x / y).ln() } else { 0.0 }
}

/// Expected cases, relative risk and Bernoulli LLR (0 when not high-rate) of
/// `c` cases among `n` households, with `big_c` cases among `big_n` in all.
pub fn bernoulli_stats(c: usize, n: usize, big_c: usize, big_n: usize) -> (f64, f64, f64) {
    let (c, n, bc, bn) = (c as f64, n as f64, big_c as f64, big_n as f64);
    let expected = if bn > 0.0 { n * bc / bn } else { 0.0 };
    let (oc, on) = (bc - c, bn - n);
    let rr = if n > 0.0 && on > 0.0 && oc > 0.0 {
        (c / n) / (oc / on)
    } else {
        f64::INFINITY
    };
    let llr = if n > 0.0 && c * bn > n * bc {
        xlog(c, n) + xlog(n - c, n) + xlog(oc, on) + xlog(on - oc, on)
            - (xlog(bc, bn) + xlog(bn - bc, bn))
    } else {
        0.0
    };
    (expected, rr, llr)
}

/// The households: projected points, case labels and codes.
struct Data {
    name: String,
    xy: Vec<[f64; 2]>,
    case: Vec<bool>,
    codes: Vec<String>,
    community: Vec<String>,
    proj: Arc<dyn Projection>,
}

impl Data {
    fn cases(&self) -> usize {
        self.case.iter().filter(|&&c| c).count()
    }

    fn crs_error(&self, source: CrsError) -> ClustersError {
        ClustersError::Projection {
            layer: self.name.clone(),
            source,
        }
    }

    fn lonlat(&self, x: f64, y: f64) -> Result<(f64, f64), ClustersError> {
        self.proj.inverse_one(x, y).map_err(|e| self.crs_error(e))
    }

    fn ring(&self, pts: &[[f64; 2]]) -> Result<Vec<(f64, f64)>, ClustersError> {
        let mut c: Vec<(f64, f64)> = pts.iter().map(|p| (p[0], p[1])).collect();
        self.proj.inverse(&mut c).map_err(|e| self.crs_error(e))?;
        Ok(c)
    }

    /// Row of a group of households: centre = their mean, radius = farthest one.
    fn group_row(
        &self,
        members: &[usize],
        with_members: bool,
    ) -> Result<ClusterRow, ClustersError> {
        let n = members.len().max(1) as f64;
        let cx = members.iter().map(|&i| self.xy[i][0]).sum::<f64>() / n;
        let cy = members.iter().map(|&i| self.xy[i][1]).sum::<f64>() / n;
        let radius = members
            .iter()
            .map(|&i| (self.xy[i][0] - cx).hypot(self.xy[i][1] - cy))
            .fold(0.0, f64::max);
        let (lon, lat) = self.lonlat(cx, cy)?;
        let cases = members.iter().filter(|&&i| self.case[i]).count();
        let (expected, relative_risk, llr) =
            bernoulli_stats(cases, members.len(), self.cases(), self.xy.len());
        Ok(ClusterRow {
            lon,
            lat,
            radius_m: Some(radius),
            households: members.len(),
            cases,
            expected,
            relative_risk,
            llr,
            members: if with_members {
                members.iter().map(|&i| self.codes[i].clone()).collect()
            } else {
                Vec::new()
            },
            ..ClusterRow::default()
        })
    }
}

fn read_data(
    layer: &Layer,
    flags: &[Flag],
    all: bool,
    projections: &dyn Projections,
) -> Result<Data, ClustersError> {
    let bounds = layer
        .bounds()
        .ok_or_else(|| ClustersError::NoPoints(layer.name.clone()))?;
    let proj = projections
        .for_bounds(&bounds)
        .map_err(|source| ClustersError::Projection {
            layer: layer.name.clone(),
            source,
        })?;
    let code_idx = layer.field_index("code");
    let comm_idx = layer.field_index("community");
    let mut lonlat = Vec::new();
    let mut case = Vec::new();
    let mut codes = Vec::new();
    let mut community = Vec::new();
    let mut skipped = 0usize;
    for f in &layer.features {
        let Geometry::Point(p) = &f.geometry else {
            skipped += 1;
            continue;
        };
        if !p.x().is_finite() || !p.y().is_finite() {
            skipped += 1;
            continue;
        }
        lonlat.push((p.x(), p.y()));
        let mut hits = flags
            .iter()
            .map(|fl| holds(fl, f.values.get(fl.field).unwrap_or(&Value::Null)));
        case.push(if all {
            hits.all(|h| h)
        } else {
            hits.any(|h| h)
        });
        codes.push(
            code_idx
                .and_then(|i| f.values.get(i))
                .filter(|v| !v.is_null())
                .map_or_else(|| format!("fid {}", f.fid), ToString::to_string),
        );
        community.push(
            comm_idx
                .and_then(|i| f.values.get(i))
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
    }
    if skipped > 0 {
        tracing::warn!(layer = %layer.name, skipped, "features without a point geometry skipped");
    }
    if lonlat.is_empty() {
        return Err(ClustersError::NoPoints(layer.name.clone()));
    }
    proj.forward(&mut lonlat)
        .map_err(|source| ClustersError::Projection {
            layer: layer.name.clone(),
            source,
        })?;
    Ok(Data {
        name: layer.name.clone(),
        xy: lonlat.iter().map(|&(x, y)| [x, y]).collect(),
        case,
        codes,
        community,
        proj,
    })
}

fn circle(c: [f64; 2], r: f64, n: usize) -> Vec<[f64; 2]> {
    let mut v: Vec<[f64; 2]> = (0..n)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / n as f64;
            [c[0] + r * a.cos(), c[1] + r * a.sin()]
        })
        .collect();
    if let Some(&first) = v.first() {
        v.push(first);
    }
    v
}

/// Detect the clusters of `layer`'s case households with `opts`, in the
/// metric CRS `projections` gives for the layer's area; rows are ranked.
pub fn find_clusters(
    layer: &Layer,
    opts: &ClusterOptions,
    projections: &dyn Projections,
) -> Result<Clusters, ClustersError> {
    opts.validate()?;
    let flags = parse_flags(layer, &opts.flags)?;
    let data = read_data(layer, &flags, opts.all, projections)?;
    let mut k_distances = None;
    let mut rows = match opts.method {
        Method::Scan => run_scan(&data, opts)?,
        Method::Dbscan => {
            if let Some(k) = opts.k_distance {
                let pts: Vec<[f64; 2]> = (0..data.xy.len())
                    .filter(|&i| data.case[i])
                    .map(|i| data.xy[i])
                    .collect();
                k_distances = Some(k_distance(&pts, k)?);
            }
            let mut rows = run_dbscan(&data, opts)?;
            // By LLR, groups under MIN_GROUP last.
            rows.sort_by(|a, b| {
                a.suppressed()
                    .cmp(&b.suppressed())
                    .then(b.llr.total_cmp(&a.llr))
                    .then(a.id.cmp(&b.id))
            });
            rows
        }
        Method::Gistar => run_gistar(&data, opts)?,
    };
    for (k, r) in rows.iter_mut().enumerate() {
        r.rank = k + 1;
    }
    Ok(Clusters {
        method: opts.method,
        rows,
        households: data.xy.len(),
        cases: data.cases(),
        flags: flags.into_iter().map(|f| f.text).collect(),
        k_distances,
    })
}

fn run_scan(d: &Data, o: &ClusterOptions) -> Result<Vec<ClusterRow>, ClustersError> {
    let opts = ScanOptions {
        max_share: o.max_share,
        max_radius: o.max_radius_m,
        replicates: o.replicates,
        seed: o.seed,
        max_clusters: o.max_clusters,
        ..ScanOptions::default()
    };
    let res = bernoulli(&d.xy, &d.case, &opts)?;
    let mut rows = Vec::new();
    for (k, c) in res.clusters.iter().enumerate() {
        let mut row = d.group_row(&c.members, o.with_members)?;
        // The scan's own figures (identical to the recount).
        row.expected = c.expected;
        row.relative_risk = c.relative_risk;
        row.llr = c.llr;
        row.p_value = Some(c.p_value);
        row.id = format!("S{}", k + 1);
        if let Some(r) = row.radius_m.filter(|&r| r > 0.0) {
            let (cx, cy) = d
                .proj
                .forward_one(row.lon, row.lat)
                .map_err(|e| d.crs_error(e))?;
            row.polygon = Some(d.ring(&circle([cx, cy], r, 64))?);
        }
        rows.push(row);
    }
    Ok(rows)
}

fn run_dbscan(d: &Data, o: &ClusterOptions) -> Result<Vec<ClusterRow>, ClustersError> {
    let idx: Vec<usize> = (0..d.xy.len()).filter(|&i| d.case[i]).collect();
    let pts: Vec<[f64; 2]> = idx.iter().map(|&i| d.xy[i]).collect();
    let labels = dbscan(&pts, o.eps_m, o.min_points)?;
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (j, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            groups.entry(*l).or_default().push(j);
        }
    }
    let r = o.eps_m / 2.0;
    // Every household (cases and controls), indexed once: each cluster's
    // shape is tested only against those inside its bounding box.
    let all: RTree<GeomWithData<[f64; 2], usize>> = RTree::bulk_load(
        d.xy.iter()
            .enumerate()
            .map(|(i, &xy)| GeomWithData::new(xy, i))
            .collect(),
    );
    let mut rows = Vec::new();
    for (label, members) in groups {
        // Buffered hull: hull of 32-gons of radius eps/2 around the hull vertices.
        let mp: MultiPoint<f64> = members
            .iter()
            .map(|&j| Point::new(pts[j][0], pts[j][1]))
            .collect();
        let hull = mp.convex_hull();
        let buffered: MultiPoint<f64> = hull
            .exterior()
            .points()
            .flat_map(|p| circle([p.x(), p.y()], r, 32))
            .map(|q| Point::new(q[0], q[1]))
            .collect();
        let shape = buffered.convex_hull();
        // Households inside the shape (cases and controls).
        let inside: Vec<usize> = shape.bounding_rect().map_or_else(Vec::new, |b| {
            let envelope = AABB::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]);
            let mut inside: Vec<usize> = all
                .locate_in_envelope(envelope)
                .filter(|h| geo::Contains::contains(&shape, &Point::new(h.geom()[0], h.geom()[1])))
                .map(|h| h.data)
                .collect();
            inside.sort_unstable();
            inside
        });
        let case_members: Vec<usize> = members.iter().map(|&j| idx[j]).collect();
        let mut row = d.group_row(&case_members, o.with_members)?;
        let cases_in = inside.iter().filter(|&&i| d.case[i]).count();
        let (expected, rr, llr) = bernoulli_stats(cases_in, inside.len(), d.cases(), d.xy.len());
        // households/cases of the area; a small cluster is judged by its members.
        if case_members.len() >= MIN_GROUP {
            row.households = inside.len();
            row.cases = cases_in;
            row.expected = expected;
            row.relative_risk = rr;
            row.llr = llr;
        } else {
            row.households = case_members.len();
        }
        row.radius_m = row.radius_m.map(|x| x + r);
        let ring: Vec<[f64; 2]> = shape.exterior().points().map(|p| [p.x(), p.y()]).collect();
        row.polygon = Some(d.ring(&ring)?);
        row.id = format!("D{}", label + 1);
        rows.push(row);
    }
    Ok(rows)
}

fn run_gistar(d: &Data, o: &ClusterOptions) -> Result<Vec<ClusterRow>, ClustersError> {
    // Units: key -> member households.
    let mut units: BTreeMap<(String, i64, i64), Vec<usize>> = BTreeMap::new();
    for (i, p) in d.xy.iter().enumerate() {
        let key = match o.by {
            By::Grid => (
                String::new(),
                (p[0] / o.cell_m).floor() as i64,
                (p[1] / o.cell_m).floor() as i64,
            ),
            By::Community => (d.community[i].clone(), 0, 0),
        };
        units.entry(key).or_default().push(i);
    }
    let units: Vec<((String, i64, i64), Vec<usize>)> = units.into_iter().collect();
    let centres: Vec<[f64; 2]> = units
        .iter()
        .map(|((_, ix, iy), m)| match o.by {
            By::Grid => [(*ix as f64 + 0.5) * o.cell_m, (*iy as f64 + 0.5) * o.cell_m],
            By::Community => {
                let n = m.len() as f64;
                [
                    m.iter().map(|&i| d.xy[i][0]).sum::<f64>() / n,
                    m.iter().map(|&i| d.xy[i][1]).sum::<f64>() / n,
                ]
            }
        })
        .collect();
    let values: Vec<f64> = units
        .iter()
        .map(|(_, m)| {
            let c = m.iter().filter(|&&i| d.case[i]).count() as f64;
            match o.value {
                GiValue::Rate => c / m.len() as f64,
                GiValue::Count => c,
            }
        })
        .collect();
    let g = gi_star(&centres, &values, o.k).map_err(|e| match e {
        GiStarError::TooFewFeatures { k, n } => ClustersError::GiStarTooFewUnits {
            need: k + 2,
            got: n,
            units: match o.by {
                By::Grid => "grid cells",
                By::Community => "communities",
            },
            hint: match o.by {
                By::Grid => "use method=scan, a smaller cell_m or a smaller k",
                By::Community => "use method=scan, by=grid or a smaller k",
            },
        },
        GiStarError::ZeroVariance { n } => ClustersError::GiStarFlat {
            units: n,
            value: o.value.as_str(),
        },
        other => other.into(),
    })?;
    let mut rows = Vec::new();
    for (u, (((name, ix, iy), members), gi)) in units.iter().zip(&g).enumerate() {
        if gi.spot(o.alpha) != Spot::Hot {
            continue;
        }
        let mut row = d.group_row(members, o.with_members)?;
        row.z = Some(gi.z);
        row.p_value = Some(gi.p_value);
        row.q_value = Some(gi.q_value);
        match o.by {
            By::Grid => {
                let (x0, y0) = (*ix as f64 * o.cell_m, *iy as f64 * o.cell_m);
                let s = o.cell_m;
                let (lon, lat) = d.lonlat(centres[u][0], centres[u][1])?;
                row.lon = lon;
                row.lat = lat;
                row.radius_m = Some(s / std::f64::consts::SQRT_2);
                row.polygon = Some(d.ring(&[
                    [x0, y0],
                    [x0 + s, y0],
                    [x0 + s, y0 + s],
                    [x0, y0 + s],
                    [x0, y0],
                ])?);
                // Numbered after sorting: a cell index would place a suppressed
                // cell more finely than its rounded centre.
                row.id = String::new();
            }
            By::Community => {
                row.id = if name.is_empty() {
                    "(no community)".into()
                } else {
                    name.clone()
                };
            }
        }
        rows.push(row);
    }
    rows.sort_by(|a, b| {
        b.z.unwrap_or(0.0)
            .total_cmp(&a.z.unwrap_or(0.0))
            .then(a.id.cmp(&b.id))
    });
    for (k, row) in rows.iter_mut().enumerate() {
        if row.id.is_empty() {
            row.id = format!("G{}", k + 1);
        }
    }
    Ok(rows)
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite())
        .map_or_else(String::new, |x| format!("{x:.digits$}"))
}

fn fmt_rr(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "inf".into()
    }
}

/// Columns of a cluster table (CSV header, GeoJSON properties), before `members`.
pub const HEADER: [&str; 14] = [
    "id",
    "rank",
    "method",
    "lon",
    "lat",
    "radius_m",
    "households",
    "cases",
    "expected",
    "relative_risk",
    "llr",
    "z",
    "p_value",
    "q_value",
];

/// The cells of a row in [`HEADER`] order; suppressed rows
/// ([`ClusterRow::suppressed`]) keep only the id, rank, method, centre
/// rounded to 0.01° and `<5`: no radius, count, expectation or statistic.
pub fn cells(method: Method, row: &ClusterRow) -> Vec<String> {
    let hidden = row.suppressed();
    let (lon, lat, digits) = if hidden {
        (
            (row.lon * 100.0).round() / 100.0,
            (row.lat * 100.0).round() / 100.0,
            2,
        )
    } else {
        (row.lon, row.lat, 6)
    };
    let shown = |s: String| if hidden { String::new() } else { s };
    vec![
        row.id.clone(),
        row.rank.to_string(),
        method.as_str().into(),
        format!("{lon:.digits$}"),
        format!("{lat:.digits$}"),
        shown(fmt_opt(row.radius_m, 0)),
        if hidden {
            format!("<{MIN_GROUP}")
        } else {
            row.households.to_string()
        },
        shown(row.cases.to_string()),
        shown(format!("{:.2}", row.expected)),
        shown(fmt_rr(row.relative_risk)),
        shown(format!("{:.3}", row.llr)),
        shown(fmt_opt(row.z, 3)),
        shown(row.p_value.map_or_else(String::new, |p| format!("{p:.4}"))),
        shown(row.q_value.map_or_else(String::new, |q| format!("{q:.4}"))),
    ]
}

/// The properties of a row: the [`cells`] as JSON (numbers as numbers, counts
/// as integers, empty cells as null, `<5` and `inf` as text), plus `members`
/// when `with_members`.
pub fn properties(
    method: Method,
    row: &ClusterRow,
    with_members: bool,
) -> serde_json::Map<String, Json> {
    let rec = cells(method, row);
    let mut props = serde_json::Map::new();
    for (k, v) in HEADER.iter().zip(rec) {
        let j = match *k {
            "id" | "method" => Json::from(v),
            "rank" | "households" | "cases" => v.parse::<u64>().map_or_else(
                |_| {
                    if v.is_empty() {
                        Json::Null
                    } else {
                        Json::from(v)
                    }
                },
                Json::from,
            ),
            _ => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Json::from(x),
                _ if v.is_empty() => Json::Null,
                _ => Json::from(v),
            },
        };
        props.insert((*k).to_owned(), j);
    }
    if with_members {
        props.insert("members".into(), json!(row.members));
    }
    props
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The outline of a row for display: its polygon, or None when it is
/// suppressed (fewer than [`MIN_GROUP`] households or cases) or has none.
pub fn shown_polygon(row: &ClusterRow) -> Option<&[(f64, f64)]> {
    row.polygon
        .as_deref()
        .filter(|r| !row.suppressed() && r.len() >= 4)
}

/// A GeoJSON feature of a row: the polygon (coordinates rounded to 6
/// decimals), or for a suppressed row only its rounded centre as a point.
pub fn feature(method: Method, row: &ClusterRow, with_members: bool) -> Json {
    let props = properties(method, row, with_members);
    let geometry = if let Some(ring) = shown_polygon(row) {
        json!({
            "type": "Polygon",
            "coordinates": [ring.iter().map(|&(x, y)| [round6(x), round6(y)]).collect::<Vec<_>>()],
        })
    } else {
        let lon = props.get("lon").and_then(Json::as_f64).unwrap_or(f64::NAN);
        let lat = props.get("lat").and_then(Json::as_f64).unwrap_or(f64::NAN);
        if lon.is_finite() && lat.is_finite() {
            json!({"type": "Point", "coordinates": [lon, lat]})
        } else {
            Json::Null
        }
    };
    json!({"type": "Feature", "properties": props, "geometry": geometry})
}

/// A GeoJSON FeatureCollection of the rows (see [`feature`]).
pub fn feature_collection(method: Method, rows: &[ClusterRow], with_members: bool) -> Json {
    let features: Vec<Json> = rows
        .iter()
        .map(|r| feature(method, r, with_members))
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::TestProjections;
    use chaski_core::layer::{Feature, LayerKind};
    use chaski_core::value::Field;

    fn layer() -> Layer {
        let mut l = Layer::new("households", LayerKind::Households);
        l.fields = vec![
            Field::new("code", FieldType::Text),
            Field::new("pregnant", FieldType::Int),
            Field::new("anaemia", FieldType::Bool),
            Field::new("risk_level", FieldType::Text),
        ];
        for (k, (p, a, r)) in [
            (Value::Int(1), Value::Bool(true), "alto"),
            (Value::Int(0), Value::Null, "bajo"),
            (Value::Null, Value::Bool(false), "medio"),
        ]
        .into_iter()
        .enumerate()
        {
            l.features.push(Feature {
                fid: k as i64 + 1,
                geometry: Geometry::Point(Point::new(-74.0, -13.0)),
                values: vec![format!("H{k}").into(), p, a, r.into()],
            });
        }
        l
    }

    #[test]
    fn flags_parse_and_hold() {
        let l = layer();
        let f = parse_flags(&l, "anaemia, pregnant>0,risk_level=ALTO,pregnant<=0").unwrap();
        assert_eq!(f.len(), 4);
        let got: Vec<Vec<bool>> = l
            .features
            .iter()
            .map(|feat| {
                f.iter()
                    .map(|fl| holds(fl, &feat.values[fl.field]))
                    .collect()
            })
            .collect();
        // Null never holds, for booleans and comparisons alike.
        assert_eq!(got[0], [true, true, true, false]);
        assert_eq!(got[1], [false, false, false, true]);
        assert_eq!(got[2], [false, false, false, false]);
        let e = parse_flags(&l, "anaemia,stunting").unwrap_err();
        assert_eq!(e.parameter(), Some("flags"));
        let e = e.to_string();
        // The list offers the risk fields only.
        assert!(
            e.contains("'stunting'") && e.contains("(valid fields: pregnant, anaemia, risk_level)"),
            "{e}"
        );
        assert!(parse_flags(&l, "pregnant").is_err());
        assert!(parse_flags(&l, "pregnant>x").is_err());
        assert!(parse_flags(&l, "anaemia=yes").is_ok());
        assert!(parse_flags(&l, "anaemia>yes").is_err());
        assert!(parse_flags(&l, " , ").is_err());
    }

    #[test]
    fn the_needed_fields_give_the_same_flags_and_errors() {
        let mut l = layer();
        for f in ["community", "members", "cha"] {
            l.fields.push(Field::new(f, FieldType::Text));
        }
        for feat in &mut l.features {
            feat.values
                .extend(std::iter::repeat_n(Value::Text("X".into()), 3));
        }
        for spec in [
            "anaemia",
            "pregnant>0, risk_level=alto",
            "community=X",
            "cha=ACS1",
            "stunting",
            "anaemia,members",
        ] {
            let needed = needed_fields(spec);
            let needed: Vec<&str> = needed.iter().map(String::as_str).collect();
            let mut part = l.clone();
            let keep = chaski_core::store::FieldSelection::new(&part.fields, &needed);
            keep.apply(&mut part.fields);
            for feat in &mut part.features {
                keep.apply(&mut feat.values);
            }
            assert!(!part.fields.iter().any(|f| f.name == "cha") || spec.contains("cha"));
            let text = |r: Result<Vec<Flag>, ClustersError>| {
                r.map(|f| f.into_iter().map(|f| f.text).collect::<Vec<_>>())
                    .map_err(|e| e.to_string())
            };
            assert_eq!(
                text(parse_flags(&part, spec)),
                text(parse_flags(&l, spec)),
                "{spec}"
            );
        }
    }

    #[test]
    fn flags_name_risk_fields_only() {
        let mut l = layer();
        for f in [
            "community",
            "submission_uuid",
            "cha",
            "visit_date",
            "altura_casa",
        ] {
            l.fields.push(Field::new(f, FieldType::Text));
        }
        for feat in &mut l.features {
            feat.values
                .extend(std::iter::repeat_n(Value::Text("X".into()), 5));
        }
        for (flag, field) in [
            ("code=H0", "code"),
            ("anaemia,code!=H0", "code"),
            ("community=C1", "community"),
            ("submission_uuid=abc", "submission_uuid"),
            ("cha=ACS1", "cha"),
            ("visit_date>2024-01-01", "visit_date"),
            ("altura_casa=X", "altura_casa"),
        ] {
            let e = parse_flags(&l, flag).unwrap_err();
            assert!(
                matches!(e, ClustersError::NotRiskField { .. }),
                "{flag}: {e:?}"
            );
            assert_eq!(e.parameter(), Some("flags"));
            let m = e.to_string();
            assert!(
                m.contains(&format!("'{field}' is not a risk field"))
                    && m.contains("(pregnant, anaemia, risk_level)"),
                "{m}"
            );
        }
        assert!(parse_flags(&l, "risk_level=alto,pregnant>0,anaemia").is_ok());
    }

    #[test]
    fn rows_with_few_cases_carry_no_statistic() {
        // 12 households but 3 cases: suppressed like a small group.
        let row = ClusterRow {
            id: "G1".into(),
            rank: 1,
            lon: -74.123_456,
            lat: -13.987_654,
            radius_m: Some(350.0),
            polygon: Some(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            households: 12,
            cases: 3,
            expected: 1.2,
            relative_risk: 3.0,
            llr: 2.5,
            z: Some(3.1),
            p_value: Some(0.002),
            q_value: Some(0.01),
            members: Vec::new(),
        };
        assert!(row.suppressed());
        let p = properties(Method::Gistar, &row, false);
        assert_eq!(p["households"], "<5");
        assert_eq!(
            (p["lon"].as_f64(), p["lat"].as_f64()),
            (Some(-74.12), Some(-13.99))
        );
        for k in [
            "radius_m",
            "cases",
            "expected",
            "relative_risk",
            "llr",
            "z",
            "p_value",
            "q_value",
        ] {
            assert!(p[k].is_null(), "{k}: {}", p[k]);
        }
        assert!(shown_polygon(&row).is_none());
        // Five cases among 12: shown with every figure.
        let shown = ClusterRow { cases: 5, ..row };
        let p = properties(Method::Gistar, &shown, false);
        assert_eq!(
            (p["households"].as_u64(), p["cases"].as_u64()),
            (Some(12), Some(5))
        );
        assert!((p["z"].as_f64().unwrap() - 3.1).abs() < 1e-9);
        assert!(shown_polygon(&shown).is_some());
    }

    #[test]
    fn gistar_on_too_few_units_or_equal_values_is_unprocessable() {
        // Three households 100 m apart, in 500 m cells; Gi* needs k + 2 = 10.
        let mut l = layer();
        for (k, f) in l.features.iter_mut().enumerate() {
            f.geometry = Geometry::Point(Point::new(-74.0 + k as f64 * 0.000_9, -13.0));
        }
        let opts = ClusterOptions {
            flags: "anaemia".into(),
            method: Method::Gistar,
            ..ClusterOptions::default()
        };
        let e = find_clusters(&l, &opts, &TestProjections).unwrap_err();
        assert!(e.is_unprocessable(), "{e:?}");
        // One or two cells (the households may straddle a cell edge).
        let ClustersError::GiStarTooFewUnits { need, got, .. } = e else {
            panic!("{e:?}")
        };
        assert_eq!(need, 10);
        assert!((1..=2).contains(&got), "{got}");
        let m = e.to_string();
        assert!(
            m.contains("at least 10 units (grid cells)") && m.contains(&format!("fall in {got}:")),
            "{m}"
        );
        // 50 m cells hold one household each; with k = 1 three cells of equal
        // rate 0 (no case): all equal.
        let e = find_clusters(
            &l,
            &ClusterOptions {
                flags: "pregnant>5".into(),
                cell_m: 50.0,
                k: 1,
                ..opts
            },
            &TestProjections,
        )
        .unwrap_err();
        assert!(
            matches!(e, ClustersError::GiStarFlat { units: 3, .. }),
            "{e:?}"
        );
        assert!(e.is_unprocessable());
    }

    #[test]
    fn bernoulli_stats_by_hand() {
        // 3 cases in 3 households, 4 cases in 10 (see scan.rs's hand check):
        // LLR = [3 ln(3/3) + 1 ln(1/7) + 6 ln(6/7)] − [4 ln 0.4 + 6 ln 0.6] = 3.8593.
        let (e, rr, llr) = bernoulli_stats(3, 3, 4, 10);
        assert!((e - 1.2).abs() < 1e-12);
        assert!((rr - 7.0).abs() < 1e-12);
        assert!((llr - 3.859_30).abs() < 1e-4, "{llr}");
        assert!(bernoulli_stats(0, 3, 4, 10).2.abs() < f64::EPSILON);
    }

    #[test]
    fn small_groups_are_suppressed() {
        let row = ClusterRow {
            id: "D1".into(),
            lon: -74.123_456,
            lat: -13.987_654,
            radius_m: Some(80.0),
            polygon: Some(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
            households: 4,
            cases: 4,
            members: vec!["H1".into()],
            ..ClusterRow::default()
        };
        let c = cells(Method::Dbscan, &row);
        assert_eq!(&c[3..8], ["-74.12", "-13.99", "", "<5", ""]);
        let f = feature(Method::Dbscan, &row, false);
        assert_eq!(
            f["geometry"],
            json!({"type": "Point", "coordinates": [-74.12, -13.99]})
        );
        assert_eq!(f["properties"]["households"], "<5");
        assert_eq!(f["properties"]["rank"], 0);
        assert!(f["properties"]["cases"].is_null());
        assert!(f["properties"].get("members").is_none());
        assert!(shown_polygon(&row).is_none());
    }

    #[test]
    fn options_are_checked_and_named() {
        let bad = |o: ClusterOptions| o.validate().unwrap_err().parameter();
        let d = ClusterOptions::default;
        assert!(d().validate().is_ok());
        assert_eq!(
            bad(ClusterOptions {
                max_share: 1.5,
                ..d()
            }),
            Some("max_share")
        );
        assert_eq!(
            bad(ClusterOptions {
                max_radius_m: Some(-1.0),
                ..d()
            }),
            Some("max_radius_m")
        );
        assert_eq!(bad(ClusterOptions { eps_m: 0.0, ..d() }), Some("eps_m"));
        assert_eq!(
            bad(ClusterOptions {
                min_points: 0,
                ..d()
            }),
            Some("min_points")
        );
        assert_eq!(
            bad(ClusterOptions {
                method: Method::Gistar,
                alpha: 1.0,
                ..d()
            }),
            Some("alpha")
        );
        assert_eq!("DBSCAN".parse::<Method>().unwrap(), Method::Dbscan);
        assert_eq!(
            "x".parse::<Method>().unwrap_err().parameter(),
            Some("method")
        );
        assert_eq!("community".parse::<By>().unwrap(), By::Community);
        assert_eq!("count".parse::<GiValue>().unwrap(), GiValue::Count);
    }

    /// Ten households on a line 100 m apart at the equator-ish (Peru),
    /// cases at the first three and the last one: the scan's most likely
    /// cluster is the first three, LLR 3.8593 (the hand check above).
    #[test]
    fn scan_on_a_hand_checkable_line() {
        let mut l = Layer::new("households", LayerKind::Households);
        l.fields = vec![
            Field::new("code", FieldType::Text),
            Field::new("anaemia", FieldType::Bool),
        ];
        for k in 0..10 {
            // ~100 m steps in longitude at 13° S.
            let lon = -74.0 + f64::from(k) * 0.000_923;
            l.features.push(Feature {
                fid: i64::from(k) + 1,
                geometry: Geometry::Point(Point::new(lon, -13.0)),
                values: vec![format!("H{k}").into(), Value::Bool(k < 3 || k == 9)],
            });
        }
        let opts = ClusterOptions {
            flags: "anaemia".into(),
            replicates: 99,
            seed: 7,
            with_members: true,
            ..ClusterOptions::default()
        };
        let c = find_clusters(&l, &opts, &TestProjections).unwrap();
        assert_eq!((c.households, c.cases), (10, 4));
        let top = &c.rows[0];
        assert_eq!((top.id.as_str(), top.rank), ("S1", 1));
        assert_eq!(top.members.len(), 3);
        let mut m = top.members.clone();
        m.sort();
        assert_eq!(m, ["H0", "H1", "H2"]);
        assert!((top.llr - 3.859_30).abs() < 1e-4, "{}", top.llr);
        assert!((top.expected - 1.2).abs() < 1e-9);
        // Three households: suppressed in every output.
        assert!(top.suppressed());
        assert!(shown_polygon(top).is_none());
        // No members unless asked.
        let c = find_clusters(
            &l,
            &ClusterOptions {
                with_members: false,
                ..opts
            },
            &TestProjections,
        )
        .unwrap();
        assert!(c.rows.iter().all(|r| r.members.is_empty()));
    }
}
