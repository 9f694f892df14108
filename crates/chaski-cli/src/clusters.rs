//! `chaski clusters`: clusters of at-risk households, by Kulldorff's spatial
//! scan (Bernoulli), DBSCAN or Getis–Ord Gi* hot spots.
//!
//! **Cases** are the households whose chosen flags hold (`--any`, the default:
//! any flag; `--all`: every flag). A flag is a boolean field name
//! (`anaemia`), or a simple predicate `field=value`, `field!=value`,
//! `field>N`, `field>=N`, `field<N`, `field<=N` (`risk_level=alto`,
//! `pregnant>0`). A flag on a household with no value (Null) is not true, so
//! households with Null for all chosen flags are controls.
//!
//! Coordinates are projected to the UTM zone of the layer
//! ([`chaski_io::crs::metric_projection`]) and all distances are in metres.
//!
//! **Privacy.** Household layers are private. Without `--with-members` no
//! single household's coordinates are printed: a cluster's centre is the mean
//! of its member households, and a cluster (or Gi* cell / community) with fewer
//! than 5 households is reported only as `<5` with its centre rounded to
//! 0.01° and no polygon. `--with-members` adds the member household codes and
//! prints a warning on stderr.

use anyhow::{Context, Result};
use chaski_core::analysis::dbscan::{dbscan, k_distance};
use chaski_core::analysis::gistar::{Spot, gi_star};
use chaski_core::analysis::scan::{ScanOptions, bernoulli};
use chaski_core::crs::Projection;
use chaski_core::layer::Layer;
use chaski_core::value::{FieldType, Value};
use geo::{ConvexHull, Geometry, MultiPoint, Point};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Fewest households shown with their figures and shape; smaller groups are `<5`.
pub const MIN_GROUP: usize = 5;

/// Errors of `chaski clusters` (each names the argument at fault).
#[derive(Debug, thiserror::Error)]
pub enum ClustersError {
    /// A flag names a field the layer does not have.
    #[error("--flags: unknown field '{field}' in layer '{layer}' (valid fields: {valid})")]
    UnknownField {
        /// The field named.
        field: String,
        /// The layer.
        layer: String,
        /// The layer's fields, comma-separated.
        valid: String,
    },
    /// A flag could not be read.
    #[error("--flags: '{flag}': {reason}")]
    Flag {
        /// The flag.
        flag: String,
        /// Why.
        reason: String,
    },
    /// An option has a value out of range.
    #[error("--{option} {value}: {reason}")]
    Option {
        /// Option name.
        option: &'static str,
        /// Its value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// The layer has no point features.
    #[error("layer '{0}' has no point features")]
    NoPoints(String),
}

/// Cluster detection method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Kulldorff's spatial scan statistic (Bernoulli), Monte Carlo p-values.
    Scan,
    /// DBSCAN of the case households.
    Dbscan,
    /// Getis–Ord Gi* hot spots of aggregated households, BH-corrected.
    Gistar,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Scan => "scan",
            Self::Dbscan => "dbscan",
            Self::Gistar => "gistar",
        }
    }
}

/// Aggregation units of Gi*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// Square grid cells of `--cell-m` metres.
    Grid,
    /// The household's community code.
    Community,
}

/// Value of each Gi* unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GiValue {
    /// Cases / households.
    Rate,
    /// Cases.
    Count,
}

/// Arguments of `chaski clusters`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Households layer.
    #[arg(long, default_value = "households")]
    pub layer: String,

    /// Comma list of case flags: boolean fields (`anaemia`) or predicates (`risk_level=alto`, `pregnant>0`).
    #[arg(long, required = true)]
    pub flags: String,

    /// A case has any of the flags (default).
    #[arg(long, conflicts_with = "all")]
    pub any: bool,

    /// A case has all the flags.
    #[arg(long)]
    pub all: bool,

    /// Detection method.
    #[arg(long, value_enum, default_value = "scan")]
    pub method: Method,

    /// Folder for clusters.geojson and clusters.csv (created when missing).
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Include member household codes (restricted household-level data).
    #[arg(long)]
    pub with_members: bool,

    /// scan: largest window as a share of all households, in (0, 1].
    #[arg(long, default_value_t = 0.5)]
    pub max_share: f64,

    /// scan: largest window radius, metres.
    #[arg(long)]
    pub max_radius_m: Option<f64>,

    /// scan: Monte Carlo replicates.
    #[arg(long, default_value_t = 999)]
    pub replicates: usize,

    /// scan: seed of the replicates.
    #[arg(long, default_value_t = 1997)]
    pub seed: u64,

    /// scan: most clusters reported (the most likely and secondary ones).
    #[arg(long, default_value_t = 10)]
    pub max_clusters: usize,

    /// dbscan: neighbourhood radius, metres.
    #[arg(long, default_value_t = 150.0)]
    pub eps_m: f64,

    /// dbscan: fewest case households within eps (itself included) of a core household.
    #[arg(long, default_value_t = 4)]
    pub min_points: usize,

    /// dbscan: also print a summary of the sorted distances to the K-th nearest case (to choose eps).
    #[arg(long, value_name = "K")]
    pub k_distance: Option<usize>,

    /// gistar: aggregation units.
    #[arg(long, value_enum, default_value = "grid")]
    pub by: By,

    /// gistar: grid cell side, metres.
    #[arg(long, default_value_t = 500.0)]
    pub cell_m: f64,

    /// gistar: value of each unit.
    #[arg(long, value_enum, default_value = "rate")]
    pub value: GiValue,

    /// gistar: nearest neighbours of each unit (itself added).
    #[arg(long, default_value_t = 8)]
    pub k: usize,

    /// gistar: false discovery rate (Benjamini–Hochberg).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
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

fn parse_flags(layer: &Layer, spec: &str) -> Result<Vec<Flag>, ClustersError> {
    let mut flags = Vec::new();
    for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
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
        let (name, cmp) = match found {
            Some((at, s, op)) => (
                raw[..at].trim(),
                Some((op, raw[at + s.len()..].trim().to_owned())),
            ),
            None => (raw, None),
        };
        let field = layer
            .field_index(name)
            .ok_or_else(|| ClustersError::UnknownField {
                field: name.to_owned(),
                layer: layer.name.clone(),
                valid: layer
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let ty = layer.fields[field].ty;
        let bad = |reason: String| ClustersError::Flag {
            flag: raw.to_owned(),
            reason,
        };
        match (&cmp, ty) {
            (None, FieldType::Bool) => {}
            (None, _) => {
                return Err(bad(format!(
                    "field '{name}' is {}, not yes/no: use a comparison such as {name}>0 or {name}=VALUE",
                    ty.as_str()
                )));
            }
            (Some((_, v)), _) if v.is_empty() => {
                return Err(bad("no value after the operator".into()));
            }
            (Some((op, v)), FieldType::Int | FieldType::Real) => {
                if v.parse::<f64>().is_err() {
                    return Err(bad(format!(
                        "'{v}' is not a number ({name} is {})",
                        ty.as_str()
                    )));
                }
                let _ = op;
            }
            (Some((op, v)), FieldType::Bool) => {
                if !matches!(op, Op::Eq | Op::Ne) || parse_bool(v).is_none() {
                    return Err(bad(format!(
                        "{name} is yes/no: use {name}=yes or {name}=no"
                    )));
                }
            }
            (Some(_), FieldType::Text | FieldType::Date) => {}
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
#[derive(Debug, Clone, Default)]
struct Row {
    id: String,
    rank: usize,
    /// Centre lon/lat (rounded to 0.01° when suppressed).
    lon: f64,
    lat: f64,
    radius_m: Option<f64>,
    /// Ring in lon/lat.
    polygon: Option<Vec<(f64, f64)>>,
    households: usize,
    cases: usize,
    expected: f64,
    relative_risk: f64,
    llr: f64,
    z: Option<f64>,
    p_value: Option<f64>,
    q_value: Option<f64>,
    members: Vec<String>,
}

impl Row {
    fn suppressed(&self) -> bool {
        self.households < MIN_GROUP
    }
}

/// x·ln(x/y) with 0·ln 0 = 0.
fn xlog(x: f64, y: f64) -> f64 {
    if x > 0.0 { x * (x / y).ln() } else { 0.0 }
}

/// Expected cases, relative risk and Bernoulli LLR (0 when not high-rate) of
/// `c` cases among `n` households, with `big_c` cases among `big_n` in all.
fn bernoulli_stats(c: usize, n: usize, big_c: usize, big_n: usize) -> (f64, f64, f64) {
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
    xy: Vec<[f64; 2]>,
    case: Vec<bool>,
    codes: Vec<String>,
    community: Vec<String>,
    proj: std::sync::Arc<dyn Projection>,
}

impl Data {
    fn cases(&self) -> usize {
        self.case.iter().filter(|&&c| c).count()
    }

    fn lonlat(&self, x: f64, y: f64) -> Result<(f64, f64)> {
        Ok(self.proj.inverse_one(x, y)?)
    }

    fn ring(&self, pts: &[[f64; 2]]) -> Result<Vec<(f64, f64)>> {
        let mut c: Vec<(f64, f64)> = pts.iter().map(|p| (p[0], p[1])).collect();
        self.proj.inverse(&mut c)?;
        Ok(c)
    }

    /// Row of a group of households: centre = their mean, radius = farthest one.
    fn group_row(&self, members: &[usize], with_members: bool) -> Result<Row> {
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
        Ok(Row {
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
            ..Row::default()
        })
    }
}

fn read_data(layer: &Layer, flags: &[Flag], all: bool) -> Result<Data> {
    let bounds = layer
        .bounds()
        .ok_or_else(|| ClustersError::NoPoints(layer.name.clone()))?;
    let proj = chaski_io::crs::metric_projection(&bounds)
        .with_context(|| format!("projecting layer '{}'", layer.name))?;
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
        return Err(ClustersError::NoPoints(layer.name.clone()).into());
    }
    proj.forward(&mut lonlat)
        .with_context(|| format!("projecting layer '{}'", layer.name))?;
    Ok(Data {
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

fn run_scan(d: &Data, args: &Args) -> Result<Vec<Row>> {
    let opts = ScanOptions {
        max_share: args.max_share,
        max_radius: args.max_radius_m,
        replicates: args.replicates,
        seed: args.seed,
        max_clusters: args.max_clusters,
        ..ScanOptions::default()
    };
    let res = bernoulli(&d.xy, &d.case, &opts).context("spatial scan")?;
    let mut rows = Vec::new();
    for (k, c) in res.clusters.iter().enumerate() {
        let mut row = d.group_row(&c.members, args.with_members)?;
        // The scan's own figures (identical to the recount).
        row.expected = c.expected;
        row.relative_risk = c.relative_risk;
        row.llr = c.llr;
        row.p_value = Some(c.p_value);
        row.id = format!("S{}", k + 1);
        if let Some(r) = row.radius_m.filter(|&r| r > 0.0) {
            let (cx, cy) = d.proj.forward_one(row.lon, row.lat)?;
            row.polygon = Some(d.ring(&circle([cx, cy], r, 64))?);
        }
        rows.push(row);
    }
    Ok(rows)
}

fn run_dbscan(d: &Data, args: &Args, out: &mut impl std::io::Write) -> Result<Vec<Row>> {
    let idx: Vec<usize> = (0..d.xy.len()).filter(|&i| d.case[i]).collect();
    let pts: Vec<[f64; 2]> = idx.iter().map(|&i| d.xy[i]).collect();
    if let Some(k) = args.k_distance {
        let kd = k_distance(&pts, k).context("--k-distance")?;
        let q = |f: f64| kd[((kd.len() - 1) as f64 * f).round() as usize];
        writeln!(
            out,
            "k-distance (k = {k}, {} cases): metres to the k-th nearest other case, largest first:",
            kd.len()
        )?;
        let mut line = String::new();
        for (label, f) in [
            ("max", 0.0),
            ("1%", 0.01),
            ("5%", 0.05),
            ("10%", 0.10),
            ("25%", 0.25),
            ("50%", 0.5),
            ("75%", 0.75),
            ("90%", 0.9),
            ("min", 1.0),
        ] {
            let _ = write!(line, "  {label} {:.0}", q(f));
        }
        writeln!(
            out,
            "{line}\n  choose eps near the knee, with --min-points {}\n",
            k + 1
        )?;
    }
    let labels = dbscan(&pts, args.eps_m, args.min_points).context("dbscan")?;
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (j, l) in labels.iter().enumerate() {
        if let Some(l) = l {
            groups.entry(*l).or_default().push(j);
        }
    }
    let r = args.eps_m / 2.0;
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
        let inside: Vec<usize> = (0..d.xy.len())
            .filter(|&i| geo::Contains::contains(&shape, &Point::new(d.xy[i][0], d.xy[i][1])))
            .collect();
        let case_members: Vec<usize> = members.iter().map(|&j| idx[j]).collect();
        let mut row = d.group_row(&case_members, args.with_members)?;
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

fn run_gistar(d: &Data, args: &Args) -> Result<Vec<Row>> {
    if !(args.cell_m.is_finite() && args.cell_m > 0.0) {
        return Err(ClustersError::Option {
            option: "cell-m",
            value: args.cell_m.to_string(),
            reason: "must be a distance > 0 m",
        }
        .into());
    }
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        return Err(ClustersError::Option {
            option: "alpha",
            value: args.alpha.to_string(),
            reason: "must be in (0, 1)",
        }
        .into());
    }
    // Units: key -> member households.
    let mut units: BTreeMap<(String, i64, i64), Vec<usize>> = BTreeMap::new();
    for (i, p) in d.xy.iter().enumerate() {
        let key = match args.by {
            By::Grid => (
                String::new(),
                (p[0] / args.cell_m).floor() as i64,
                (p[1] / args.cell_m).floor() as i64,
            ),
            By::Community => (d.community[i].clone(), 0, 0),
        };
        units.entry(key).or_default().push(i);
    }
    let units: Vec<((String, i64, i64), Vec<usize>)> = units.into_iter().collect();
    let centres: Vec<[f64; 2]> = units
        .iter()
        .map(|((_, ix, iy), m)| match args.by {
            By::Grid => [
                (*ix as f64 + 0.5) * args.cell_m,
                (*iy as f64 + 0.5) * args.cell_m,
            ],
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
            match args.value {
                GiValue::Rate => c / m.len() as f64,
                GiValue::Count => c,
            }
        })
        .collect();
    let g = gi_star(&centres, &values, args.k).context("Gi*")?;
    let mut rows = Vec::new();
    for (u, (((name, ix, iy), members), gi)) in units.iter().zip(&g).enumerate() {
        if gi.spot(args.alpha) != Spot::Hot {
            continue;
        }
        let mut row = d.group_row(members, args.with_members)?;
        row.z = Some(gi.z);
        row.p_value = Some(gi.p_value);
        row.q_value = Some(gi.q_value);
        match args.by {
            By::Grid => {
                let (x0, y0) = (*ix as f64 * args.cell_m, *iy as f64 * args.cell_m);
                let s = args.cell_m;
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

fn check_args(args: &Args) -> Result<(), ClustersError> {
    let opt = |option, value: f64, reason| ClustersError::Option {
        option,
        value: value.to_string(),
        reason,
    };
    if !(args.max_share > 0.0 && args.max_share <= 1.0) {
        return Err(opt("max-share", args.max_share, "must be in (0, 1]"));
    }
    if let Some(r) = args.max_radius_m
        && !(r.is_finite() && r > 0.0)
    {
        return Err(opt("max-radius-m", r, "must be a distance > 0 m"));
    }
    if !(args.eps_m.is_finite() && args.eps_m > 0.0) {
        return Err(opt("eps-m", args.eps_m, "must be a distance > 0 m"));
    }
    if args.min_points == 0 {
        return Err(opt("min-points", 0.0, "must be at least 1"));
    }
    Ok(())
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

/// The cells of a row in CSV order (see [`HEADER`]); suppressed rows keep
/// only the id, rank, rounded centre, `<5` and the Gi* statistics.
fn cells(method: Method, row: &Row) -> Vec<String> {
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
        fmt_opt(row.z, 3),
        row.p_value.map_or_else(String::new, |p| format!("{p:.4}")),
        row.q_value.map_or_else(String::new, |q| format!("{q:.4}")),
    ]
}

/// Columns of clusters.csv (and the properties of clusters.geojson), before `members`.
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

fn write_outputs(dir: &Path, method: Method, rows: &[Row], with_members: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let csv_path = dir.join("clusters.csv");
    let mut w = csv::Writer::from_path(&csv_path)
        .with_context(|| format!("creating {}", csv_path.display()))?;
    let mut header: Vec<&str> = HEADER.to_vec();
    if with_members {
        header.push("members");
    }
    w.write_record(&header)?;
    let mut features = Vec::new();
    for row in rows {
        let mut rec = cells(method, row);
        if with_members {
            rec.push(row.members.join(";"));
        }
        w.write_record(&rec)?;
        let mut props = serde_json::Map::new();
        for (k, v) in header.iter().zip(&rec) {
            let j = match *k {
                "id" | "method" | "members" => Json::from(v.clone()),
                _ => v.parse::<f64>().ok().filter(|x| x.is_finite()).map_or_else(
                    || {
                        if v.is_empty() {
                            Json::Null
                        } else {
                            Json::from(v.clone())
                        }
                    },
                    Json::from,
                ),
            };
            props.insert((*k).to_owned(), j);
        }
        if with_members {
            props.insert("members".into(), json!(row.members));
        }
        // Suppressed groups: only the rounded centre of the CSV, never a shape.
        let geometry = if let (Some(ring), false) = (&row.polygon, row.suppressed()) {
            json!({
                "type": "Polygon",
                "coordinates": [ring.iter().map(|&(x, y)| [round6(x), round6(y)]).collect::<Vec<_>>()],
            })
        } else {
            let (lon, lat) = (
                rec[3].parse::<f64>().unwrap_or(row.lon),
                rec[4].parse::<f64>().unwrap_or(row.lat),
            );
            json!({"type": "Point", "coordinates": [lon, lat]})
        };
        features.push(json!({"type": "Feature", "properties": props, "geometry": geometry}));
    }
    w.flush()
        .with_context(|| format!("writing {}", csv_path.display()))?;
    let fc = json!({"type": "FeatureCollection", "features": features});
    let gj = dir.join("clusters.geojson");
    std::fs::write(&gj, fc.to_string() + "\n")
        .with_context(|| format!("writing {}", gj.display()))?;
    Ok(())
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn table(method: Method, rows: &[Row], with_members: bool) -> String {
    let mut s = String::new();
    let head = [
        "id",
        "rank",
        "lon",
        "lat",
        "radius_m",
        "households",
        "cases",
        "expected",
        "RR",
        "LLR",
        "z",
        "p",
        "q",
    ];
    let mut lines: Vec<Vec<String>> = vec![head.iter().map(|h| (*h).to_owned()).collect()];
    for row in rows {
        let mut c = cells(method, row);
        c.remove(2);
        lines.push(c);
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|k| {
            lines
                .iter()
                .map(|l| l[k].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in &lines {
        let mut line = String::new();
        for (k, cell) in l.iter().enumerate() {
            let _ = write!(line, "{cell:>w$}  ", w = widths[k]);
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
    if with_members {
        for row in rows {
            let _ = writeln!(s, "{} members: {}", row.id, row.members.join(" "));
        }
    }
    s
}

/// Run `chaski clusters`.
pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    check_args(args)?;
    let store = crate::store::open(store_path)?;
    let layer = store
        .read_layer(&args.layer)
        .with_context(|| format!("reading layer '{}'", args.layer))?;
    let flags = parse_flags(&layer, &args.flags)?;
    let data = read_data(&layer, &flags, args.all)?;
    if args.with_members {
        eprintln!(
            "chaski: warning: the output contains household-level data (member household codes of layer '{}'): restricted, do not share",
            layer.name
        );
    }
    let mut out = std::io::stdout().lock();
    let started = std::time::Instant::now();
    let mut rows = match args.method {
        Method::Scan => run_scan(&data, args)?,
        Method::Dbscan => run_dbscan(&data, args, &mut out)?,
        Method::Gistar => run_gistar(&data, args)?,
    };
    let elapsed = started.elapsed();
    if args.method == Method::Dbscan {
        // By LLR, groups under MIN_GROUP last.
        rows.sort_by(|a, b| {
            a.suppressed()
                .cmp(&b.suppressed())
                .then(b.llr.total_cmp(&a.llr))
                .then(a.id.cmp(&b.id))
        });
    }
    for (k, r) in rows.iter_mut().enumerate() {
        r.rank = k + 1;
    }
    let flag_text: Vec<&str> = flags.iter().map(|f| f.text.as_str()).collect();
    writeln!(
        out,
        "{} clusters ({}) of '{}': {} households, {} cases ({} of: {}); {} cluster(s) in {:.2} s",
        args.method.as_str(),
        match args.method {
            Method::Scan => format!(
                "Bernoulli, {} replicates, seed {}",
                args.replicates, args.seed
            ),
            Method::Dbscan => format!("eps {} m, min points {}", args.eps_m, args.min_points),
            Method::Gistar => format!(
                "{}, {:?} values, k {}, FDR {}",
                match args.by {
                    By::Grid => format!("{} m cells", args.cell_m),
                    By::Community => "communities".to_owned(),
                },
                args.value,
                args.k,
                args.alpha
            )
            .to_lowercase(),
        },
        layer.name,
        data.xy.len(),
        data.cases(),
        if args.all { "all" } else { "any" },
        flag_text.join(", "),
        rows.len(),
        elapsed.as_secs_f64()
    )?;
    out.write_all(table(args.method, &rows, args.with_members).as_bytes())?;
    if let Some(dir) = &args.out {
        write_outputs(dir, args.method, &rows, args.with_members)?;
        writeln!(
            out,
            "wrote {} and {}",
            dir.join("clusters.csv").display(),
            dir.join("clusters.geojson").display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
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
        let e = parse_flags(&l, "anaemia,stunting").unwrap_err().to_string();
        assert!(
            e.contains("'stunting'") && e.contains("code, pregnant, anaemia, risk_level"),
            "{e}"
        );
        assert!(parse_flags(&l, "pregnant").is_err());
        assert!(parse_flags(&l, "pregnant>x").is_err());
        assert!(parse_flags(&l, "anaemia=yes").is_ok());
        assert!(parse_flags(&l, " , ").is_err());
    }

    #[test]
    fn bernoulli_stats_by_hand() {
        // 3 cases in 3 households, 4 cases in 10 (see scan.rs's hand check): LLR 3.8593.
        let (e, rr, llr) = bernoulli_stats(3, 3, 4, 10);
        assert!((e - 1.2).abs() < 1e-12);
        assert!((rr - 7.0).abs() < 1e-12);
        assert!((llr - 3.859_30).abs() < 1e-4, "{llr}");
        assert!(bernoulli_stats(0, 3, 4, 10).2.abs() < f64::EPSILON);
    }

    #[test]
    fn small_groups_are_suppressed() {
        let row = Row {
            id: "D1".into(),
            lon: -74.123_456,
            lat: -13.987_654,
            radius_m: Some(80.0),
            households: 4,
            cases: 4,
            ..Row::default()
        };
        let c = cells(Method::Dbscan, &row);
        assert_eq!(&c[3..8], ["-74.12", "-13.99", "", "<5", ""]);
    }
}
