//! `chaski demo`: generate the deterministic demo region into a folder and,
//! with `--load`, import every file into the store the way a user would.

use anyhow::{Context, Result};
use chaski_core::store::WriteMode;
use chaski_demo::{DemoOptions, generate, write_files, write_monitoring_files};
use chaski_io::import::ImportOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `chaski demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the generated files (CSV, GeoJSON, GeoTIFF and a README).
    #[arg(long, default_value = "data")]
    pub out: PathBuf,

    /// Random seed; the same seed always gives the same region, byte for byte.
    #[arg(long, default_value_t = DemoOptions::default().seed)]
    pub seed: u64,

    /// Import the generated files into the store (replacing layers of the same name)
    /// and print a summary of every layer.
    #[arg(long)]
    pub load: bool,

    /// With --load, also the monitoring data: the endline survey (round 2) appended to
    /// `households` and each community's group (intervention/control) joined onto `communities`.
    #[arg(long, requires = "load")]
    pub endline: bool,
}

/// The file name of the demo DEM.
pub const DEM_FILE: &str = "dem.tif";

pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let opts = DemoOptions {
        seed: args.seed,
        ..DemoOptions::default()
    };
    let region = generate(&opts);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut files = write_files(&region, &args.out)?;
    let monitoring = write_monitoring_files(&region, &args.out)?;
    let dem = args.out.join(DEM_FILE);
    chaski_io::raster::write_geotiff(&region.dem, &dem)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "demo region '{}' (seed {}): {} files written to {}",
        region.name,
        region.seed,
        files.len() + monitoring.len() + 1,
        args.out.display()
    )?;
    if !args.load {
        return Ok(ExitCode::SUCCESS);
    }
    let store = crate::store::open_or_create(store_path)?;
    let tokens = crate::import::open_tokens(store_path)?;
    files.sort_by(|a, b| a.layer.cmp(&b.layer));
    let mut jobs: Vec<(PathBuf, ImportOptions)> = vec![(dem, ImportOptions::new("dem"))];
    for f in files {
        let mut o = ImportOptions::new(f.layer.clone());
        o.kind = Some(f.kind);
        jobs.push((f.path, o));
    }
    for (path, opts) in jobs {
        let outcome = crate::import::import_into(
            store.as_ref(),
            Some(tokens.as_ref()),
            &path,
            &opts,
            WriteMode::Replace,
            true,
        )
        .with_context(|| format!("loading {}", path.display()))?;
        writeln!(out, "{}", outcome.summary)?;
    }
    if args.endline {
        for f in monitoring {
            let mut o = ImportOptions::new(f.layer.clone());
            let mode = if f.kind == chaski_core::LayerKind::Communities {
                o.join = Some("code".into());
                WriteMode::Replace
            } else {
                o.kind = Some(f.kind);
                WriteMode::Upsert
            };
            let outcome = crate::import::import_into(
                store.as_ref(),
                Some(tokens.as_ref()),
                &f.path,
                &o,
                mode,
                true,
            )
            .with_context(|| format!("loading {}", f.path.display()))?;
            writeln!(out, "{}", outcome.summary)?;
        }
    }
    writeln!(out)?;
    out.write_all(crate::summary::summarize(store.as_ref())?.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
