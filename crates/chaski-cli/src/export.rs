//! `chaski export`: a tile package of the store's public layers (PMTiles or
//! MBTiles) for tablets without a connection and for object storage or a CDN,
//! with, beside a PMTiles archive, its style and an offline viewer page.
//!
//! Everything but the flags is a library's: the tiles are the server's
//! (`chaski_server::package`, the catalog's render), the files are written by
//! `chaski_io::tilepack`.

use anyhow::{Context, Result};
use chaski_io::tilepack::{MbtilesWriter, PmtilesWriter};
use chaski_server::ServerConfig;
use chaski_server::catalog::Catalog;
use chaski_server::package::{self, Area, Progress, Request};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Package formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// PMTiles v3: one file read with HTTP range requests (CDN, object storage) or from disk.
    Pmtiles,
    /// MBTiles 1.3: SQLite (GDAL, QGIS, tile servers).
    Mbtiles,
}

/// Arguments of `chaski export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The package file to write (e.g. `ayacucho.pmtiles`); its folder must exist.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// pmtiles or mbtiles (default: from the extension of --out).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Only the tiles touching this district (a code, or a name only one district bears).
    #[arg(long, value_name = "CODE", conflicts_with = "bbox")]
    pub district: Option<String>,
    /// Layer of district polygons for --district (default: the store's one layer of districts).
    #[arg(long, value_name = "LAYER", requires = "district")]
    pub districts: Option<String>,
    /// Only the tiles touching this box: minlon,minlat,maxlon,maxlat in degrees.
    #[arg(long, value_name = "BBOX", allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// Lowest zoom.
    #[arg(long, default_value_t = 0)]
    pub minzoom: u8,
    /// Highest zoom.
    #[arg(long, default_value_t = 14)]
    pub maxzoom: u8,
    /// Public layers to package, a comma list (default: every public layer, as /catalog lists them).
    #[arg(long, value_name = "LAYERS")]
    pub layers: Option<String>,
    /// Write the archive only: no style.json, index.html or viewer files beside it.
    #[arg(long)]
    pub no_viewer: bool,
    /// DEM raster of the computed travel-time layers (as `chaski serve --dem`).
    #[arg(long)]
    pub dem: Option<String>,
}

fn format_of(args: &Args) -> Result<Format> {
    if let Some(f) = args.format {
        return Ok(f);
    }
    match args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pmtiles") => Ok(Format::Pmtiles),
        Some("mbtiles") => Ok(Format::Mbtiles),
        _ => anyhow::bail!(
            "--out {}: cannot tell the format from the extension; name it .pmtiles or .mbtiles, or give --format pmtiles|mbtiles",
            args.out.display()
        ),
    }
}

pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    if args.out.is_dir() {
        anyhow::bail!("--out {}: is a folder, not a file", args.out.display());
    }
    let format = format_of(args)?;
    let bbox = args
        .bbox
        .as_deref()
        .map(|b| chaski_server::params::bbox_of(b, "--bbox"))
        .transpose()
        .map_err(|e| anyhow::anyhow!(e))?;
    if args.minzoom > args.maxzoom {
        anyhow::bail!(
            "--minzoom {} is above --maxzoom {}",
            args.minzoom,
            args.maxzoom
        );
    }
    if args.maxzoom > package::MAX_PACKAGE_ZOOM {
        anyhow::bail!(
            "--maxzoom {}: packages go up to zoom {} (maps zoom further in on the last tiles)",
            args.maxzoom,
            package::MAX_PACKAGE_ZOOM
        );
    }
    if let Some(dir) = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && !p.is_dir())
    {
        anyhow::bail!(
            "--out {}: the folder {} does not exist",
            args.out.display(),
            dir.display()
        );
    }
    let store = crate::store::open(store_path)?;
    let area = match (&args.district, bbox) {
        (Some(code), _) => Area::district(store.as_ref(), code, args.districts.as_deref())?,
        (None, Some(b)) => Area::Bbox(b),
        (None, None) => Area::All,
    };
    // The server's settings, so the tiles are those `chaski serve` serves
    // (with --max-zoom M for M = max(14, --maxzoom)).
    let config = ServerConfig {
        max_zoom: args.maxzoom.max(ServerConfig::default().max_zoom),
        dem: args.dem.clone(),
        ..ServerConfig::default()
    };
    let spinner = crate::output::spinner("reading the public layers");
    let catalog = Catalog::build(store.as_ref(), &config).map_err(|e| anyhow::anyhow!("{e}"))?;
    spinner.finish_and_clear();
    let plan = package::plan(
        &catalog,
        &Request {
            layers: args.layers.clone(),
            minzoom: args.minzoom,
            maxzoom: args.maxzoom,
            area: area.clone(),
        },
    )?;
    eprintln!(
        "chaski: exporting {} ({}), zooms {}-{}: {} candidate tiles",
        plan.spec,
        area.describe(),
        args.minzoom,
        args.maxzoom,
        plan.tiles.len()
    );
    let started = std::time::Instant::now();
    let bar = progress_bar(plan.tiles.len());
    let report = |p: Progress| {
        bar.set_position(p.done as u64);
        bar.set_message(format!("{} tiles, {}", p.written, size(p.bytes)));
    };
    let (done, path) = match format {
        Format::Pmtiles => {
            let mut w = PmtilesWriter::create(&args.out, &plan.info)?;
            let done = package::write_tiles(&catalog, &plan, &mut w, &report)?;
            (done, w.finish()?)
        }
        Format::Mbtiles => {
            let mut w = MbtilesWriter::create(&args.out, &plan.info)?;
            let done = package::write_tiles(&catalog, &plan, &mut w, &report)?;
            (done, w.finish()?)
        }
    };
    bar.finish_and_clear();
    let file_size = std::fs::metadata(&path).map_or(0, |m| m.len());
    eprintln!(
        "chaski: wrote {} ({} tiles of {} candidates, {} on disk, {} of gzip tiles, {:.1} s)",
        path.display(),
        done.written,
        done.total,
        size(file_size),
        size(done.bytes),
        started.elapsed().as_secs_f64()
    );
    if format == Format::Pmtiles && !args.no_viewer {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("the archive's file name is not UTF-8")?;
        let style = package::style(&plan, name, None);
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        for (file, body) in package::viewer_files(name, &style) {
            let target = dir.join(file);
            std::fs::write(&target, body)
                .with_context(|| format!("writing {}", target.display()))?;
        }
        eprintln!(
            "chaski: style.json and the offline viewer index.html (with maplibre-gl.js, pmtiles.js) in {}",
            dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on stderr (drawn only on a terminal).
fn progress_bar(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:30} {pos}/{len} tiles rendered {elapsed:>4} {msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Bytes as KB or MB.
fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}
