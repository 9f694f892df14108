//! `chaski`: geospatial analysis and vector tiles for rural community-health planning.

mod catchments;
mod check;
mod clusters;
mod demo;
mod export;
mod households;
mod import;
mod monitoring;
mod output;
mod print;
mod report;
mod serve;
mod site;
mod store;
mod summary;
mod surface;
mod tokens;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// chaski: travel time to care, at-risk household clusters and vector tiles
/// for rural community-health planning.
#[derive(Debug, Parser)]
#[command(name = "chaski", version, about, long_about = None)]
struct Cli {
    /// The layer store: a GeoPackage file (QGIS opens it directly), or a PostgreSQL/PostGIS
    /// database shared by several servers (`postgresql://USER@HOST[:PORT]/DB[?schema=NAME]`).
    /// `import` and `demo --load` create it when missing; every other command refuses a path
    /// (or database) where there is none.
    #[arg(
        long,
        global = true,
        env = "CHASKI_STORE",
        default_value = "chaski.gpkg"
    )]
    store: PathBuf,

    /// Log level filter (error, warn, info, debug, trace or a tracing filter).
    #[arg(long, global = true, env = "CHASKI_LOG", default_value = "warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import a vector or raster file into a layer of the store.
    Import(import::Args),
    /// Generate the deterministic demo region (files in a folder, ready to import).
    Demo(demo::Args),
    /// Serve the store's public layers: vector tiles, TileJSON, styles, catalog and a web viewer.
    Serve(Box<serve::Args>),
    /// A tile package of the public layers (PMTiles or MBTiles) for a district, a box or everything, with a style and an offline viewer.
    Export(export::Args),
    /// Print a summary of every layer in the store.
    Summary(summary::Args),
    /// Travel time to the nearest health facility: rasters, isochrones, catchments, villages and districts.
    Catchments(Box<catchments::Args>),
    /// At-risk household clusters: spatial scan, DBSCAN or Gi* hot spots (private data: aggregates only unless --with-members).
    Clusters(clusters::Args),
    /// Access tokens for private household data: create (prints the secret once), list, revoke.
    Tokens(tokens::Args),
    /// Household records: delete a household whose family withdrew its consent.
    Households(households::Args),
    /// The register of places (facility, CHA sector, community) that CHA and facility tokens write in.
    Places(households::PlacesArgs),
    /// District report for the participatory budget: villages, access to care, water, households at risk (HTML, CSV, JSON).
    Report(report::Args),
    /// Printed risk maps for community health agents (vector PDF or PNG; a community, a CHA sector, a facility's area or a district atlas).
    Print(Box<print::Args>),
    /// Where to open maternity waiting homes: maximal covering, p-median, set covering or capacitated two-level siting.
    Site(Box<site::Args>),
    /// Check a store file: SQLite integrity, GeoPackage rules, spatial indexes, household consent, schema version (exit 1 on a problem).
    Check(check::Args),
    /// Indicators by survey round or period (Wilson intervals, change between rounds), protected unless --exact.
    Indicators(monitoring::IndicatorsArgs),
    /// Difference in differences of intervention and control communities (clustered SE, permutation p-value).
    Did(monitoring::DidArgs),
    /// CHA visit schedule: at-risk households not visited for --every days (checklist per sector).
    Visits(monitoring::VisitsArgs),
}

/// jemalloc rather than glibc's allocator: after a burst of requests on many
/// threads glibc keeps the freed memory in its per-thread arenas (a server
/// that served 256 connections stayed at 10 times its starting size);
/// jemalloc's background threads give it back to the system within seconds.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_))
        && let Err(e) = tikv_jemalloc_ctl::background_thread::write(true)
    {
        eprintln!("warning: jemalloc background purging not enabled: {e}");
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let format = match &cli.command {
        Command::Serve(args) => serve::log_format(args),
        _ => serve::LogFormat::Text,
    };
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // One JSON object a line, with the fields of the request's span (its id).
        serve::LogFormat::Json => log.json().with_current_span(true).init(),
        // Colour codes only for a terminal, never in a redirected log file.
        serve::LogFormat::Text => log
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    match run(cli) {
        Ok(code) => code,
        // The reader of our output went away (`chaski places list | head`): not an error.
        Err(err)
            if err.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("chaski: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Import(args) => import::run(&cli.store, &args),
        Command::Demo(args) => demo::run(&cli.store, &args),
        Command::Serve(args) => serve::run(&cli.store, &args),
        Command::Export(args) => export::run(&cli.store, &args),
        Command::Summary(args) => summary::run(&cli.store, &args),
        Command::Catchments(args) => catchments::run(&cli.store, &args),
        Command::Clusters(args) => clusters::run(&cli.store, &args),
        Command::Tokens(args) => tokens::run(&cli.store, args),
        Command::Households(args) => households::run(&cli.store, args),
        Command::Places(args) => households::run_places(&cli.store, args),
        Command::Report(args) => report::run(&cli.store, &args),
        Command::Site(args) => site::run(&cli.store, &args),
        Command::Print(args) => print::run(&cli.store, &args),
        Command::Check(args) => check::run(&cli.store, &args),
        Command::Indicators(args) => monitoring::run_indicators(&cli.store, &args),
        Command::Did(args) => monitoring::run_did(&cli.store, &args),
        Command::Visits(args) => monitoring::run_visits(&cli.store, &args),
    }
}
