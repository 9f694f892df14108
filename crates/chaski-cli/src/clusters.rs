//! `chaski clusters`: clusters of at-risk households, by Kulldorff's spatial
//! scan (Bernoulli), DBSCAN or Getis–Ord Gi* hot spots.
//!
//! **Cases** are the households whose chosen flags hold (`--any`, the default:
//! any flag; `--all`: every flag). A flag is a boolean field name
//! (`anaemia`), or a simple predicate `field=value`, `field!=value`,
//! `field>N`, `field>=N`, `field<N`, `field<=N` (`risk_level=alto`,
//! `pregnant>0`). A flag on a household with no value (Null) is not true, so
//! households with Null for all chosen flags are controls. Flags may name
//! only risk fields ([`chaski_core::household::RISK_FIELDS`]).
//!
//! Coordinates are projected to the UTM zone of the layer
//! (the UTM zone of its centre, through PROJ) and all distances are in metres.
//!
//! **Privacy.** Household layers are private. Without `--with-members` no
//! single household's coordinates are printed: a cluster's centre is the mean
//! of its member households, and a cluster (or Gi* cell / community) with fewer
//! than 5 households or fewer than 5 cases is reported only as `<5` with its
//! centre rounded to 0.01°, no statistic and no polygon; the totals of
//! households and cases are `<5` when 1 to 4. `--with-members` adds the
//! member household codes and prints a warning on stderr.

use anyhow::{Context, Result};
use chaski_analysis::clusters::{self as lib, ClusterOptions, ClusterRow, Clusters, ClustersError};
use chaski_core::disclosure::Shown;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use lib::HEADER;

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

impl From<Method> for lib::Method {
    fn from(m: Method) -> Self {
        match m {
            Method::Scan => Self::Scan,
            Method::Dbscan => Self::Dbscan,
            Method::Gistar => Self::Gistar,
        }
    }
}

impl From<By> for lib::By {
    fn from(b: By) -> Self {
        match b {
            By::Grid => Self::Grid,
            By::Community => Self::Community,
        }
    }
}

impl From<GiValue> for lib::GiValue {
    fn from(v: GiValue) -> Self {
        match v {
            GiValue::Rate => Self::Rate,
            GiValue::Count => Self::Count,
        }
    }
}

impl Args {
    /// The library options of these arguments.
    pub fn options(&self) -> ClusterOptions {
        ClusterOptions {
            flags: self.flags.clone(),
            all: self.all,
            method: self.method.into(),
            with_members: self.with_members,
            max_share: self.max_share,
            max_radius_m: self.max_radius_m,
            replicates: self.replicates,
            seed: self.seed,
            max_clusters: self.max_clusters,
            eps_m: self.eps_m,
            min_points: self.min_points,
            k_distance: self.k_distance,
            by: self.by.into(),
            cell_m: self.cell_m,
            value: self.value.into(),
            k: self.k,
            alpha: self.alpha,
        }
    }
}

/// The library error with the option spelled as on the command line (`--max-share`).
fn cli_error(e: ClustersError) -> anyhow::Error {
    match e {
        ClustersError::Option {
            option,
            value,
            reason,
        } => anyhow::anyhow!("--{} {value}: {reason}", option.replace('_', "-")),
        ClustersError::UnknownField { .. }
        | ClustersError::NotRiskField { .. }
        | ClustersError::Flag { .. } => anyhow::anyhow!("--{e}"),
        ClustersError::GiStarTooFewUnits {
            need, got, units, ..
        } => anyhow::anyhow!(
            "--method gistar needs at least {need} units ({units}) holding households; the \
             households fall in {got}: use --method scan, a smaller --cell-m or --k, or \
             --by grid"
        ),
        ClustersError::GiStarFlat { .. } => {
            anyhow::anyhow!("{}", e.to_string().replace("method=scan", "--method scan"))
        }
        other => other.into(),
    }
}

fn write_outputs(dir: &Path, c: &Clusters, with_members: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let csv_path = dir.join("clusters.csv");
    let mut w = crate::output::csv_writer(&csv_path)?;
    let mut header: Vec<&str> = HEADER.to_vec();
    if with_members {
        header.push("members");
    }
    w.write_record(&header)?;
    for row in &c.rows {
        let mut rec = lib::cells(c.method, row);
        if with_members {
            rec.push(row.members.join(";"));
        }
        w.write_record(&rec)?;
    }
    w.flush()
        .with_context(|| format!("writing {}", csv_path.display()))?;
    let fc = lib::feature_collection(c.method, &c.rows, with_members);
    let gj = dir.join("clusters.geojson");
    std::fs::write(&gj, fc.to_string() + "\n")
        .with_context(|| format!("writing {}", gj.display()))?;
    Ok(())
}

fn table(method: lib::Method, rows: &[ClusterRow], with_members: bool) -> String {
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
        let mut c = lib::cells(method, row);
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

/// The k-distance summary printed before a DBSCAN table.
fn k_distance_text(k: usize, kd: &[f64]) -> String {
    let Some(last) = kd.len().checked_sub(1) else {
        return format!("k-distance (k = {k}): no cases\n\n");
    };
    let q = |f: f64| kd[((last as f64) * f).round() as usize];
    let mut s = format!(
        "k-distance (k = {k}, {} cases): metres to the k-th nearest other case, largest first:\n",
        kd.len()
    );
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
    let _ = writeln!(
        s,
        "{line}\n  choose eps near the knee, with --min-points {}\n",
        k + 1
    );
    s
}

/// Run `chaski clusters`.
pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let opts = args.options();
    opts.validate().map_err(cli_error)?;
    let store = crate::store::open(store_path)?;
    let read = |fields: Vec<String>| {
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        store
            .read_layer_fields(&args.layer, &fields)
            .with_context(|| format!("reading layer '{}'", args.layer))
    };
    // Only the fields this run uses: households carry many more.
    let layer = read(lib::fields_used(&opts))?;
    if args.with_members {
        eprintln!(
            "chaski: warning: the output contains household-level data (member household codes of layer '{}'): restricted, do not share",
            layer.name
        );
    }
    let started = std::time::Instant::now();
    let bar = crate::output::spinner(format!(
        "{}: looking for clusters of {} households",
        opts.method.as_str(),
        layer.len()
    ));
    let mut found = lib::find_clusters(&layer, &opts, &chaski_io::crs::ProjProjections);
    if found
        .as_ref()
        .is_err_and(|e| e.parameter() == Some("flags"))
    {
        // A flag error lists the layer's risk fields: give it from all of them.
        let every = read(lib::needed_fields(&opts.flags))?;
        found = lib::find_clusters(&every, &opts, &chaski_io::crs::ProjProjections);
    }
    bar.finish_and_clear();
    let found = found.map_err(cli_error)?;
    let elapsed = started.elapsed();
    let mut out = std::io::stdout().lock();
    if let (Some(k), Some(kd)) = (args.k_distance, &found.k_distances) {
        out.write_all(k_distance_text(k, kd).as_bytes())?;
    }
    writeln!(
        out,
        "{} clusters ({}) of '{}': {} households, {} cases ({} of: {}); {} cluster(s) in {:.2} s",
        found.method.as_str(),
        opts.describe(),
        layer.name,
        Shown::unless_small(found.households as u64),
        Shown::unless_small(found.cases as u64),
        if args.all { "all" } else { "any" },
        found.flags.join(", "),
        found.rows.len(),
        elapsed.as_secs_f64()
    )?;
    out.write_all(table(found.method, &found.rows, args.with_members).as_bytes())?;
    if let Some(dir) = &args.out {
        write_outputs(dir, &found, args.with_members)?;
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

    #[test]
    fn options_are_named_as_on_the_command_line() {
        let e = cli_error(lib::ClustersError::Option {
            option: "max_share",
            value: "2".into(),
            reason: "must be in (0, 1]",
        });
        assert_eq!(e.to_string(), "--max-share 2: must be in (0, 1]");
        let e = cli_error(lib::ClustersError::GiStarTooFewUnits {
            need: 10,
            got: 4,
            units: "grid cells",
            hint: "",
        });
        assert!(
            e.to_string().contains("at least 10 units (grid cells)")
                && e.to_string().contains("fall in 4"),
            "{e}"
        );
    }

    #[test]
    fn k_distance_summary_quantiles() {
        // Sorted largest first: max 90, median 50 (index 4 of 0..=8), min 10.
        let kd: Vec<f64> = (1..=9).rev().map(|k| f64::from(k) * 10.0).collect();
        let t = k_distance_text(3, &kd);
        assert!(t.contains("k = 3, 9 cases"), "{t}");
        assert!(
            t.contains("max 90") && t.contains("50% 50") && t.contains("min 10"),
            "{t}"
        );
        assert!(t.contains("--min-points 4"), "{t}");
    }
}
