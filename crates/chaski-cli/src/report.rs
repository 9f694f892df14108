//! `chaski report`: the district report for the municipality's participatory
//! budget, for one district (`--district CODE`) or every district (`--all`,
//! with an index), as printable HTML, CSV and JSON.
//!
//! The figures are `chaski_analysis::report`'s (the same as
//! `GET /api/districts/{code}/report`): this module only opens the store,
//! runs the report's two travel-time searches and writes the files. Household
//! figures are the protected aggregates every caller gets; the report never
//! holds a household's code, place or row.

use anyhow::{Context, Result};
use chaski_analysis::report::{
    self, DistrictReport, Format, Lang, ReportData, Reporter, Searches, render,
};
use chaski_analysis::travel::{TravelInputs, TravelResult};
use chaski_io::crs::ProjProjections;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `chaski report`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["district", "all"])))]
pub struct Args {
    /// The district's code (as in the districts layer, e.g. 050508).
    #[arg(long)]
    pub district: Option<String>,

    /// Every district: one report per district (files named by code) and an index.
    #[arg(long)]
    pub all: bool,

    /// Folder for the reports (created when missing).
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,

    /// Formats to write: html, csv, json (comma list; default all three).
    #[arg(long, value_delimiter = ',', default_value = "html,csv,json")]
    pub format: Vec<Format>,

    /// Language of the HTML page: es (Spanish) or en (English).
    #[arg(long, default_value = "es")]
    pub lang: Lang,

    /// Layer of district polygons (default: the store's one layer of districts).
    #[arg(long)]
    pub districts: Option<String>,
}

/// A search's outcome as the report takes it: the result, or why there is none.
fn searched(r: &Result<TravelResult, String>) -> Result<&TravelResult, String> {
    r.as_ref().map_err(Clone::clone)
}

pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let store = crate::store::open(store_path)?;
    let data = ReportData::from_store(store.as_ref(), args.districts.as_deref(), "--districts")?;
    let chosen = match &args.district {
        Some(code) => vec![data.find(code)?],
        None => (0..data.districts.len()).collect(),
    };
    let spinner = crate::output::spinner("travel times to care");
    let (any, birth) =
        match TravelInputs::from_store(store.as_ref(), &report::travel_options(), &ProjProjections)
        {
            Ok(inputs) => {
                let (a, b) = report::run_searches(&inputs);
                (a.map_err(|e| e.to_string()), b.map_err(|e| e.to_string()))
            }
            Err(e) => (Err(e.to_string()), Err(e.to_string())),
        };
    spinner.finish_and_clear();
    for (what, r) in [("any facility", &any), ("birth care", &birth)] {
        if let Err(e) = r {
            eprintln!("chaski: warning: no travel times to {what}: {e}");
        }
    }
    let reporter = Reporter::new(
        &data,
        Searches {
            any_facility: searched(&any),
            birth_care: searched(&birth),
        },
        &ProjProjections,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let date = report::peru_date(now);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut reports = Vec::with_capacity(chosen.len());
    for i in chosen {
        let r = reporter.report(i, &date)?;
        write_report(&r, args)?;
        reports.push(r);
    }
    let mut written = reports.len();
    if args.all {
        let index = reporter.index(&reports, &date);
        for f in &args.format {
            let text = match f {
                Format::Html => render::index_html(&index, args.lang),
                Format::Csv => render::index_csv(&index),
                Format::Json => serde_json::to_string_pretty(&index)? + "\n",
            };
            write_text(&args.out.join(format!("index.{f}")), &text)?;
        }
        written += 1;
    }
    eprintln!(
        "chaski: {} district report{} ({}) in {}{}",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        args.format
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display(),
        if written > reports.len() {
            ", with index.*"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn write_report(r: &DistrictReport, args: &Args) -> Result<()> {
    for f in &args.format {
        let text = match f {
            Format::Html => render::html(r, args.lang),
            Format::Csv => render::csv(r),
            Format::Json => serde_json::to_string_pretty(r)? + "\n",
        };
        write_text(&args.out.join(file_name(&r.code, *f)), &text)?;
    }
    Ok(())
}

/// `CODE.EXT`, with any character that is not a letter, digit, `-` or `_`
/// replaced (a code is never a path).
fn file_name(code: &str, f: Format) -> String {
    let safe: String = code
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() {
        "district".to_owned()
    } else {
        safe
    };
    format!("{safe}.{f}")
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
