//! `chaski check [STORE]`: the full, read-only check of a store file (SQLite
//! integrity, GeoPackage rules, geometry blobs, R-tree counts, the household
//! consent rule, the schema version), one line per check, `ok` or `problem`.
//! Exit 0 when every check passed, 1 when one found a problem, 2 when there
//! is no file to check.

use anyhow::Result;
use chaski_io::store::gpkg::check_store;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `chaski check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The store file to check (default: `--store`).
    pub file: Option<PathBuf>,
    /// Print the result as JSON (`{store, ok, checks: [{name, ok, detail, problems}]}`).
    #[arg(long)]
    pub json: bool,
}

pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let path = args.file.as_deref().unwrap_or(store_path);
    if crate::store::postgres_url(path).is_some() {
        anyhow::bail!(
            "chaski check reads GeoPackage store files; a PostGIS store's integrity is \
             PostgreSQL's to keep (its WAL, constraints and `amcheck`), and its layers are \
             checked when each command opens it"
        );
    }
    if !path.exists() {
        anyhow::bail!(
            "no store at {} (check the path, --store or CHASKI_STORE)",
            path.display()
        );
    }
    let report = check_store(path);
    let text = if args.json {
        let checks: Vec<serde_json::Value> = report
            .items
            .iter()
            .map(|i| {
                serde_json::json!({
                    "name": i.name,
                    "ok": i.ok(),
                    "detail": i.detail,
                    "problems": i.problems,
                })
            })
            .collect();
        serde_json::to_string_pretty(&serde_json::json!({
            "store": path.display().to_string(),
            "ok": report.ok(),
            "checks": checks,
        }))? + "\n"
    } else {
        let mut s = format!("checking {}\n", path.display());
        for i in &report.items {
            if i.ok() {
                let _ = writeln!(s, "ok       {}: {}", i.name, i.detail);
            } else {
                for p in &i.problems {
                    let _ = writeln!(s, "problem  {}: {p}", i.name);
                }
            }
        }
        let bad = report.items.iter().filter(|i| !i.ok()).count();
        if bad == 0 {
            s.push_str("the store passed every check\n");
        } else {
            let _ = writeln!(
                s,
                "{bad} of {} checks found problems in {}",
                report.items.len(),
                path.display()
            );
        }
        s
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
