//! `chaski serve`: the tile and API server.

use anyhow::{Context, Result};
use chaski_server::ServerConfig;
use chaski_server::config::EmptyTile;
use chaski_server::state::AppState;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `chaski serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000", env = "CHASKI_LISTEN")]
    pub listen: SocketAddr,
    /// Base URL clients use to reach this server (for TileJSON and styles behind a proxy).
    #[arg(long, env = "CHASKI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Status for empty tiles: 204, 200 or 404.
    #[arg(long, default_value = "204")]
    pub empty_tile: EmptyTile,
    /// Size bound of the in-memory tile cache, in MB.
    #[arg(long, default_value_t = 256)]
    pub cache_mb: u64,
    /// Highest zoom served.
    #[arg(long, default_value_t = 14, value_parser = clap::value_parser!(u8).range(0..=22))]
    pub max_zoom: u8,
    /// Folder of MapLibre style templates (NAME.json) served instead of the built-in styles.
    #[arg(long, value_name = "DIR")]
    pub styles: Option<PathBuf>,
    /// Largest travel-time grid the analysis endpoints compute, in cells (bigger requests get 413).
    #[arg(long, default_value_t = ServerConfig::default().max_grid_cells)]
    pub max_grid_cells: usize,
    /// Seconds between checks of the store's data version (the catalog is rebuilt when it moves on).
    #[arg(long, default_value_t = 2)]
    pub refresh_secs: u64,
    /// Largest household upload body, in bytes (larger ones get 413).
    #[arg(long, default_value_t = ServerConfig::default().max_upload_bytes)]
    pub max_upload_bytes: usize,
    /// Most household rows in one upload (more get 413).
    #[arg(long, default_value_t = ServerConfig::default().max_upload_rows)]
    pub max_upload_rows: usize,
    /// Longest text value of a household field, in characters (a longer one rejects its row).
    #[arg(long, default_value_t = ServerConfig::default().max_field_chars)]
    pub max_field_chars: usize,
    /// Household writes (uploads and deletions) one token may make per hour (more get 429).
    #[arg(long, default_value_t = ServerConfig::default().writes_per_hour)]
    pub writes_per_hour: u32,
    /// How far from its community a CHA or facility token may place a household, in metres.
    #[arg(long, default_value_t = ServerConfig::default().max_household_distance_m)]
    pub max_household_distance_m: f64,
    /// Threshold of the `underserved` tile layer: villages beyond this many minutes on foot
    /// of a facility with birth care.
    #[arg(long, default_value_t = ServerConfig::default().underserved_minutes, value_parser = positive_minutes)]
    pub underserved_minutes: f64,
    /// DEM raster of the travel-time APIs and layers (default: the raster called `dem`, else
    /// the store's only raster).
    #[arg(long)]
    pub dem: Option<String>,
    /// A PMTiles archive of vector tiles (e.g. from `chaski export`) to serve as a tile source
    /// at /archives/NAME.json and /archives/NAME/{z}/{x}/{y}.mvt, NAME being its file name
    /// without .pmtiles; give it again for more archives.
    #[arg(long, value_name = "FILE")]
    pub pmtiles: Vec<PathBuf>,
    /// Indicator file (TOML) of /api/indicators and /api/did instead of the built-in indicators.
    #[arg(long, value_name = "FILE")]
    pub indicators: Option<PathBuf>,
}

/// A number of minutes above 0.
fn positive_minutes(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 => Ok(m),
        _ => Err(format!("'{s}' is not a number of minutes above 0")),
    }
}

pub fn run(store_path: &Path, args: Args) -> Result<ExitCode> {
    // A folder given with --styles must hold styles: checked before anything is served.
    let styles = if let Some(dir) = &args.styles {
        let names = chaski_server::styles::check_dir(dir).map_err(|e| anyhow::anyhow!(e))?;
        format!("styles {} from {}", names.join(", "), dir.display())
    } else {
        let names: Vec<&str> = chaski_server::styles::EMBEDDED
            .iter()
            .map(|(n, _)| *n)
            .collect();
        format!("built-in styles {}", names.join(", "))
    };
    let store = crate::store::open(store_path)?;
    let tokens: std::sync::Arc<dyn chaski_core::auth::TokenStore> =
        std::sync::Arc::from(crate::store::open_tokens(store_path)?);
    let config = ServerConfig {
        public_url: args.public_url,
        empty_tile: args.empty_tile,
        cache_mb: args.cache_mb,
        max_zoom: args.max_zoom,
        styles_dir: args.styles.unwrap_or_default(),
        max_grid_cells: args.max_grid_cells,
        max_upload_bytes: args.max_upload_bytes,
        max_upload_rows: args.max_upload_rows,
        max_field_chars: args.max_field_chars,
        writes_per_hour: args.writes_per_hour,
        max_household_distance_m: args.max_household_distance_m,
        indicators: match &args.indicators {
            Some(p) => {
                crate::monitoring::load_indicators(Some(p))?;
                Some(std::fs::read_to_string(p)?)
            }
            None => None,
        },
        dem: args.dem.clone(),
        underserved_minutes: args.underserved_minutes,
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let mut archives = std::collections::BTreeMap::new();
        for path in &args.pmtiles {
            let name =
                chaski_server::package::archive_name(path).map_err(|e| anyhow::anyhow!(e))?;
            let archive = chaski_io::tilepack::PmtilesArchive::open(path)
                .await
                .with_context(|| format!("--pmtiles {}", path.display()))?;
            if archives
                .insert(name.clone(), std::sync::Arc::new(archive))
                .is_some()
            {
                anyhow::bail!(
                    "--pmtiles {}: two archives are named '{name}' (name them apart)",
                    path.display()
                );
            }
        }
        let served_archives = archives.len();
        let state = tokio::task::spawn_blocking(move || AppState::new(store, config))
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .with_tokens(tokens)
            .with_archives(archives);
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let catalog = state.catalog();
        tracing::info!(
            "serving {} layers (data version {}) on http://{}",
            catalog.layers.len(),
            catalog.version,
            args.listen
        );
        eprintln!(
            "chaski: serving {} layers{} on http://{} (viewer at /, catalog at /catalog; {styles})",
            catalog.layers.len(),
            match served_archives {
                0 => String::new(),
                1 => " and 1 PMTiles archive".to_owned(),
                n => format!(" and {n} PMTiles archives"),
            },
            args.listen
        );
        chaski_server::serve(
            listener,
            state,
            Duration::from_secs(args.refresh_secs.max(1)),
        )
        .await
        .context("serving")?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
