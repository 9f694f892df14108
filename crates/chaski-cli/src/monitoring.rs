//! `chaski indicators`, `chaski did` and `chaski visits`: monitoring over time
//! (see `chaski_analysis::monitoring`).
//!
//! Whoever runs these holds the store file, but the default output is the
//! aggregate every caller of the server may have (protected tables, as
//! `chaski summary`); `--exact` gives exact counts over every household, for
//! the programme's own analysis.

use anyhow::{Context, Result, bail};
use chaski_analysis::monitoring::config::{Indicator, Indicators};
use chaski_analysis::monitoring::data::Records;
use chaski_analysis::monitoring::did::{DidRow, did};
use chaski_analysis::monitoring::table::{By, Period, indicator_table};
use chaski_analysis::monitoring::visits::{Due, due_visits};
use chaski_core::auth::{Access, Role};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// JSON.
    Json,
    /// A text table (`chaski did` only): the one-page summary.
    Text,
}

/// Arguments of `chaski indicators`.
#[derive(Debug, clap::Args)]
pub struct IndicatorsArgs {
    /// Indicator file (TOML) instead of the built-in indicators.
    #[arg(long, value_name = "FILE")]
    pub indicators: Option<PathBuf>,
    /// Only these indicators (comma-separated ids).
    #[arg(long, value_name = "IDS")]
    pub only: Option<String>,
    /// Rows per community, sector, facility or district (sector and facility need --exact).
    #[arg(long, default_value = "community")]
    pub by: String,
    /// Periods: survey round, or month or quarter of the visit date.
    #[arg(long, default_value = "round")]
    pub period: String,
    /// csv or json.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Exact counts over every household, nothing suppressed (never publish these).
    #[arg(long)]
    pub exact: bool,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `chaski did`.
#[derive(Debug, clap::Args)]
pub struct DidArgs {
    /// Indicator file (TOML) instead of the built-in indicators.
    #[arg(long, value_name = "FILE")]
    pub indicators: Option<PathBuf>,
    /// Only these indicators (comma-separated ids).
    #[arg(long, value_name = "IDS")]
    pub only: Option<String>,
    /// Baseline round (default: the indicator file's [design] baseline).
    #[arg(long)]
    pub baseline: Option<i64>,
    /// Endline round (default: the indicator file's [design] endline).
    #[arg(long)]
    pub endline: Option<i64>,
    /// Community attribute holding the group (default: [design] group_field).
    #[arg(long)]
    pub group_field: Option<String>,
    /// Random reassignments of the groups for the p-value.
    #[arg(long, default_value_t = 999)]
    pub permutations: usize,
    /// Seed of the reassignments (the same seed gives the same p-value).
    #[arg(long, default_value_t = 1997)]
    pub seed: u64,
    /// text (the one-page summary), csv or json.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exact counts (never publish these); otherwise withheld when a group total is suppressed.
    #[arg(long)]
    pub exact: bool,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `chaski visits`.
#[derive(Debug, clap::Args)]
pub struct VisitsArgs {
    /// Days after which an at-risk household is due a visit.
    #[arg(long, default_value_t = 30)]
    pub every: u32,
    /// Day of the schedule (YYYY-MM-DD; default today, Peru time).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Only this CHA sector.
    #[arg(long, value_name = "SECTOR")]
    pub sector: Option<String>,
    /// csv or json.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The indicator file of `--indicators`, or the built-in one.
pub fn load_indicators(path: Option<&Path>) -> Result<Indicators> {
    match path {
        None => Ok(Indicators::defaults()),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading the indicator file {}", p.display()))?;
            Indicators::parse(&text).with_context(|| format!("{}", p.display()))
        }
    }
}

fn write_out(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => Ok(std::io::stdout().write_all(text.as_bytes())?),
    }
}

/// The caller the command computes as: the public (protected aggregates), or
/// with `--exact` the store's owner (every household, the violence risk too).
/// Aggregates never read the violence risk.
fn access(
    exact: bool,
    indicators: &[&chaski_analysis::monitoring::config::Indicator],
) -> Result<Access> {
    if exact {
        return Ok(Access::new(Role::Admin, None, true)?);
    }
    if let Some(i) = indicators.iter().find(|i| i.reads_violence()) {
        bail!(
            "indicator '{}' reads violence_risk: restricted data, only with --exact",
            i.id
        );
    }
    Ok(Access::public())
}

pub fn run_indicators(store_path: &Path, args: &IndicatorsArgs) -> Result<ExitCode> {
    let ind = load_indicators(args.indicators.as_deref())?;
    let sel = ind
        .select(args.only.as_deref())
        .map_err(|e| anyhow::anyhow!("--only: {e}"))?;
    let by = By::parse(&args.by).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let period = Period::parse(&args.period).map_err(|e| anyhow::anyhow!("--{e}"))?;
    if args.format == Format::Text {
        bail!("--format: indicators are written as csv or json");
    }
    let store = crate::store::open(store_path)?;
    let t0 = std::time::Instant::now();
    let records = Records::from_store_reading(
        store.as_ref(),
        &access(args.exact, &sel)?,
        &ind.design.group_field,
        &Indicator::fields_of(&sel),
    )?;
    tracing::debug!(
        records = records.len(),
        seconds = t0.elapsed().as_secs_f64(),
        "records read"
    );
    let t0 = std::time::Instant::now();
    let table = indicator_table(&records, &sel, by, period, !args.exact)
        .map_err(|e| anyhow::anyhow!("--{e}{}", if args.exact { "" } else { " (or --exact)" }))?;
    tracing::debug!(
        rows = table.rows.len(),
        seconds = t0.elapsed().as_secs_f64(),
        "table computed"
    );
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&table)? + "\n",
        _ => table.to_csv(),
    };
    write_out(args.out.as_deref(), &text)?;
    // The process ends here: freeing hundreds of thousands of records (and
    // tens of thousands of rows) one by one took longer than the system
    // takes back the memory at exit.
    std::mem::forget(records);
    std::mem::forget(table);
    Ok(ExitCode::SUCCESS)
}

fn pct(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

/// The one-page summary of `chaski did`.
fn did_text(
    rows: &[DidRow],
    ind: &Indicators,
    design: &chaski_analysis::monitoring::config::Design,
    permutations: usize,
    seed: u64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Difference in differences: {} vs {} communities, round {} (baseline) to round {} (endline)",
        design.intervention, design.control, design.baseline, design.endline
    );
    let _ = writeln!(
        s,
        "Proportions in %; DiD in percentage points; SE clustered by community (CR1, as Stata's vce(cluster));\np: {permutations} random reassignments of the groups across communities (seed {seed}).\n"
    );
    let _ = writeln!(
        s,
        "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>9}",
        "indicator", "ctrl B", "ctrl E", "int B", "int E", "DiD", "SE", "p", "n (C/I)"
    );
    for r in rows {
        let label = ind
            .find(&r.indicator)
            .map_or(r.indicator.as_str(), |i| i.id.as_str());
        match (&r.did, r.suppressed, &r.problem) {
            (Some(d), _, _) => {
                let _ = writeln!(
                    s,
                    "{:<28} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7.3} {:>9}",
                    label,
                    pct(d.means[0]),
                    pct(d.means[1]),
                    pct(d.means[2]),
                    pct(d.means[3]),
                    format!("{:+.1}", d.estimate * 100.0),
                    pct(d.std_error),
                    d.p_value,
                    format!("{}/{}", d.communities[0], d.communities[1]),
                );
            }
            (None, true, _) => {
                let _ = writeln!(s, "{label:<28} x (withheld: a group total is suppressed)");
            }
            (None, false, Some(p)) => {
                let _ = writeln!(s, "{label:<28} – ({p})");
            }
            (None, false, None) => {}
        }
    }
    s
}

pub fn run_did(store_path: &Path, args: &DidArgs) -> Result<ExitCode> {
    let ind = load_indicators(args.indicators.as_deref())?;
    let sel = ind
        .select(args.only.as_deref())
        .map_err(|e| anyhow::anyhow!("--only: {e}"))?;
    let mut design = ind.design.clone();
    if let Some(b) = args.baseline {
        design.baseline = b;
    }
    if let Some(e) = args.endline {
        design.endline = e;
    }
    if let Some(g) = &args.group_field {
        design.group_field.clone_from(g);
    }
    if design.baseline == design.endline {
        bail!(
            "--baseline and --endline are both round {}",
            design.baseline
        );
    }
    let store = crate::store::open(store_path)?;
    let records = Records::from_store_reading(
        store.as_ref(),
        &access(args.exact, &sel)?,
        &design.group_field,
        &Indicator::fields_of(&sel),
    )?;
    let rows: Vec<DidRow> = sel
        .iter()
        .map(|i| {
            did(
                &records,
                i,
                &design,
                args.permutations,
                args.seed,
                !args.exact,
            )
        })
        .collect();
    let text = match args.format {
        Format::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "design": design,
                "permutations": args.permutations,
                "seed": args.seed,
                "std_error": "CR1 (G/(G-1)·(N-1)/(N-K)), clustered by community",
                "indicators": rows,
            }))? + "\n"
        }
        Format::Csv => {
            let mut s = String::from(
                "indicator,control_baseline,control_endline,intervention_baseline,intervention_endline,did,std_error,p_value,permutations,communities_control,communities_intervention,households_control_baseline,households_control_endline,households_intervention_baseline,households_intervention_endline,note\n",
            );
            for r in &rows {
                if let Some(d) = &r.did {
                    {
                        let _ = writeln!(
                            s,
                            "{},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{},{},{},{},{},",
                            r.indicator,
                            d.means[0],
                            d.means[1],
                            d.means[2],
                            d.means[3],
                            d.estimate,
                            d.std_error,
                            d.p_value,
                            d.permutations,
                            d.communities[0],
                            d.communities[1],
                            d.households[0],
                            d.households[1],
                            d.households[2],
                            d.households[3]
                        );
                    }
                } else {
                    {
                        let note = if r.suppressed {
                            "suppressed".to_owned()
                        } else {
                            r.problem.clone().unwrap_or_default().replace(',', ";")
                        };
                        let _ = writeln!(s, "{},,,,,,,,,,,,,,,{note}", r.indicator);
                    }
                }
            }
            s
        }
        Format::Text => did_text(&rows, &ind, &design, args.permutations, args.seed),
    };
    write_out(args.out.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn run_visits(store_path: &Path, args: &VisitsArgs) -> Result<ExitCode> {
    let as_of = if let Some(d) = &args.as_of {
        chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
            .with_context(|| format!("--as-of: '{d}' is not a date YYYY-MM-DD"))?
    } else {
        let today = chaski_analysis::report::peru_date(chaski_core::auth::now_unix());
        chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d")?
    };
    let store = crate::store::open(store_path)?;
    let access = match &args.sector {
        Some(s) => Access::new(Role::Cha, Some(s.clone()), false)?,
        None => Access::new(Role::Admin, None, false)?,
    };
    let records = Records::from_store(store.as_ref(), &access, "group")?;
    let due = due_visits(&records, access.role, as_of, args.every);
    let text = match (&due, args.format) {
        (_, Format::Json) => serde_json::to_string_pretty(&due.to_json(as_of, args.every))? + "\n",
        (Due::List(list), _) => {
            let mut s = String::from(
                "cha_sector,code,community,risk_level,last_visit,days_since,visited\n",
            );
            for h in list {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{},{},[ ]",
                    h.cha_sector,
                    h.code,
                    h.community,
                    h.risk_level,
                    h.last_visit.clone().unwrap_or_default(),
                    h.days_since.map(|d| d.to_string()).unwrap_or_default()
                );
            }
            s
        }
        _ => String::new(),
    };
    write_out(args.out.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
