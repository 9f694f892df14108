//! `chaski serve`: the tile and API server.
//!
//! Every setting comes from, in this order of precedence: its flag, its
//! environment variable `CHASKI_<KEY>` (`CHASKI_CACHE_MB`), the config file
//! of `--config FILE` (TOML, the keys of [`Settings`]), its default. An
//! unknown key in the file is an error naming the key and the file.

use anyhow::{Context, Result, bail};
use chaski_server::ServerConfig;
use chaski_server::config::EmptyTile;
use chaski_server::state::AppState;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Format of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (fields, span with the request id).
    Json,
}

/// Arguments of `chaski serve`. Every setting but `--config` is optional
/// here: one not given comes from the environment, the config file or its
/// default (see [`Settings`]); the flags are serialized into the table of
/// settings given, under the config file's key names.
#[derive(Debug, Default, clap::Args, Serialize)]
pub struct Args {
    /// Config file (TOML; see chaski.example.toml): every setting below, under its name with
    /// `_` for `-`. Flags override the environment (CHASKI_<KEY>), which overrides the file.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Base URL clients use to reach this server (for TileJSON and styles behind a proxy).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Status for empty tiles: 204, 200 or 404 [default: 204].
    #[arg(long, value_parser = empty_tile_status)]
    pub empty_tile: Option<u16>,
    /// Size bound of the in-memory tile cache, in MB [default: 256].
    #[arg(long)]
    pub cache_mb: Option<u64>,
    /// Highest zoom served [default: 14].
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=22))]
    pub max_zoom: Option<u8>,
    /// Seconds a client may cache a tile URL carrying the data version [default: 86400].
    #[arg(long)]
    pub max_age_versioned: Option<u32>,
    /// Seconds a client may cache any other tile URL [default: 60].
    #[arg(long)]
    pub max_age: Option<u32>,
    /// Folder of MapLibre style templates (NAME.json) served instead of the built-in styles.
    #[arg(long, value_name = "DIR")]
    pub styles: Option<PathBuf>,
    /// Largest travel-time grid the analysis endpoints compute, in cells (bigger requests get
    /// 413) [default: 25000000].
    #[arg(long)]
    pub max_grid_cells: Option<usize>,
    /// Serve the travel-time, catchment and underserved tile layers when the store has a DEM
    /// and facilities [default: true].
    #[arg(long, value_name = "BOOL")]
    pub analysis_layers: Option<bool>,
    /// Seconds between checks of the store's data version (the catalog is rebuilt when it
    /// moves on) [default: 2].
    #[arg(long)]
    pub refresh_secs: Option<u64>,
    /// Largest household upload body, in bytes (larger ones get 413) [default: 5242880].
    #[arg(long)]
    pub max_upload_bytes: Option<usize>,
    /// Most household rows in one upload (more get 413) [default: 5000].
    #[arg(long)]
    pub max_upload_rows: Option<usize>,
    /// Longest text value of a household field, in characters (a longer one rejects its row)
    /// [default: 256].
    #[arg(long)]
    pub max_field_chars: Option<usize>,
    /// Household writes (uploads and deletions) one token may make per hour (more get 429)
    /// [default: 60].
    #[arg(long)]
    pub writes_per_hour: Option<u32>,
    /// How far from its community a CHA or facility token may place a household, in metres
    /// [default: 5000].
    #[arg(long)]
    pub max_household_distance_m: Option<f64>,
    /// Threshold of the `underserved` tile layer: villages beyond this many minutes on foot
    /// of a facility with birth care [default: 120].
    #[arg(long, value_parser = positive_minutes)]
    pub underserved_minutes: Option<f64>,
    /// DEM raster of the travel-time APIs and layers (default: the raster called `dem`, else
    /// the store's only raster).
    #[arg(long)]
    pub dem: Option<String>,
    /// A PMTiles archive of vector tiles (e.g. from `chaski export`) to serve as a tile source
    /// at /archives/NAME.json and /archives/NAME/{z}/{x}/{y}.mvt, NAME being its file name
    /// without .pmtiles; give it again for more archives.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pmtiles: Vec<PathBuf>,
    /// Indicator file (TOML) of /api/indicators and /api/did instead of the built-in indicators.
    #[arg(long, value_name = "FILE")]
    pub indicators: Option<PathBuf>,
    /// Largest request body of every route but the household upload, in bytes (larger ones
    /// get 413) [default: 1048576].
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
    /// Seconds a request may take before it is answered 503 [default: 30].
    #[arg(long)]
    pub request_timeout_secs: Option<u64>,
    /// Seconds a request of a heavy endpoint (catchments, what-if, clusters, siting, printed
    /// maps, report) may take before it is answered 503 [default: 120].
    #[arg(long)]
    pub heavy_timeout_secs: Option<u64>,
    /// POST /api/catchments running at once [default: 2].
    #[arg(long)]
    pub catchments_permits: Option<usize>,
    /// POST /api/whatif runs at once [default: 2].
    #[arg(long)]
    pub whatif_permits: Option<usize>,
    /// What-if tiles rendered at once [default: 8].
    #[arg(long)]
    pub whatif_tiles_permits: Option<usize>,
    /// Seconds a what-if is kept in memory after its last use [default: 1800].
    #[arg(long)]
    pub whatif_idle_secs: Option<u64>,
    /// Cluster computations at once [default: 2].
    #[arg(long)]
    pub clusters_permits: Option<usize>,
    /// POST /api/siting solves at once [default: 2].
    #[arg(long)]
    pub siting_permits: Option<usize>,
    /// Printed maps rendered at once [default: 2].
    #[arg(long)]
    pub print_permits: Option<usize>,
    /// District reports at once [default: 2].
    #[arg(long)]
    pub report_permits: Option<usize>,
    /// Requests of one heavy endpoint family that may wait for a permit; more get 429 with
    /// Retry-After [default: 8].
    #[arg(long)]
    pub heavy_queue: Option<usize>,
    /// Milliseconds a waiting heavy request waits for a permit before it gets 429
    /// [default: 2000].
    #[arg(long)]
    pub heavy_queue_wait_ms: Option<u64>,
    /// Most items of one page of a list answer (`limit`) [default: 10000].
    #[arg(long)]
    pub max_list_limit: Option<usize>,
    /// Largest `bbox` filter of a list answer, in square degrees [default: 1000].
    #[arg(long)]
    pub max_bbox_deg2: Option<f64>,
    /// Serve GET /metrics (Prometheus text format) [default: true]. Its bearer token,
    /// `metrics_token`, is set in the config file or CHASKI_METRICS_TOKEN only (never on a
    /// command line, which other users of the machine can read).
    #[arg(long, value_name = "BOOL")]
    pub metrics: Option<bool>,
    /// Seconds requests in flight may take to finish after SIGTERM or Ctrl-C before the
    /// server exits anyway [default: 30].
    #[arg(long)]
    pub shutdown_drain_secs: Option<u64>,
    /// Format of the log lines on stderr [default: text].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// Every setting of `chaski serve`: the keys of its config file (and of
/// `CHASKI_<KEY>`), with their defaults. See `chaski.example.toml` and the
/// README's table for their meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub empty_tile: u16,
    pub cache_mb: u64,
    pub max_zoom: u8,
    pub max_age_versioned: u32,
    pub max_age: u32,
    pub styles: Option<PathBuf>,
    pub max_grid_cells: usize,
    pub analysis_layers: bool,
    pub refresh_secs: u64,
    pub max_upload_bytes: usize,
    pub max_upload_rows: usize,
    pub max_field_chars: usize,
    pub writes_per_hour: u32,
    pub max_household_distance_m: f64,
    pub underserved_minutes: f64,
    pub dem: Option<String>,
    pub pmtiles: Vec<PathBuf>,
    pub indicators: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    pub heavy_timeout_secs: u64,
    pub catchments_permits: usize,
    pub whatif_permits: usize,
    pub whatif_tiles_permits: usize,
    pub whatif_idle_secs: u64,
    pub clusters_permits: usize,
    pub siting_permits: usize,
    pub print_permits: usize,
    pub report_permits: usize,
    pub heavy_queue: usize,
    pub heavy_queue_wait_ms: u64,
    pub max_list_limit: usize,
    pub max_bbox_deg2: f64,
    pub metrics: bool,
    pub metrics_token: Option<String>,
    pub shutdown_drain_secs: u64,
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        let c = ServerConfig::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: c.public_url,
            empty_tile: 204,
            cache_mb: c.cache_mb,
            max_zoom: c.max_zoom,
            max_age_versioned: c.max_age_versioned,
            max_age: c.max_age,
            styles: None,
            max_grid_cells: c.max_grid_cells,
            analysis_layers: c.analysis_layers,
            refresh_secs: 2,
            max_upload_bytes: c.max_upload_bytes,
            max_upload_rows: c.max_upload_rows,
            max_field_chars: c.max_field_chars,
            writes_per_hour: c.writes_per_hour,
            max_household_distance_m: c.max_household_distance_m,
            underserved_minutes: c.underserved_minutes,
            dem: c.dem,
            pmtiles: Vec::new(),
            indicators: None,
            max_body_bytes: c.max_body_bytes,
            request_timeout_secs: c.request_timeout_secs,
            heavy_timeout_secs: c.heavy_timeout_secs,
            catchments_permits: c.catchments_permits,
            whatif_permits: c.whatif_permits,
            whatif_tiles_permits: c.whatif_tiles_permits,
            whatif_idle_secs: c.whatif_idle_secs,
            clusters_permits: c.clusters_permits,
            siting_permits: c.siting_permits,
            print_permits: c.print_permits,
            report_permits: c.report_permits,
            heavy_queue: c.heavy_queue,
            heavy_queue_wait_ms: c.heavy_queue_wait_ms,
            max_list_limit: c.max_list_limit,
            max_bbox_deg2: c.max_bbox_deg2,
            metrics: c.metrics,
            metrics_token: c.metrics_token,
            shutdown_drain_secs: c.shutdown_drain_secs,
            log_format: LogFormat::Text,
        }
    }
}

/// How a key's value is read from its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Whole,
    Number,
    Bool,
    List,
}

/// Every key of [`Settings`] with how its environment variable is read,
/// from the default settings' own form (so the list never drifts from the struct).
fn keys() -> Vec<(String, Kind)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(Settings::default()) else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(k, v)| {
            let kind = match v {
                serde_json::Value::Bool(_) => Kind::Bool,
                serde_json::Value::Number(n) if n.is_f64() => Kind::Number,
                serde_json::Value::Number(_) => Kind::Whole,
                serde_json::Value::Array(_) => Kind::List,
                _ => Kind::Text,
            };
            (k, kind)
        })
        .collect()
}

/// The environment variable of `key`: `CHASKI_` and the key in capitals.
pub fn env_name(key: &str) -> String {
    format!("CHASKI_{}", key.to_ascii_uppercase())
}

/// The value of environment variable `var` for a key of `kind`.
fn env_value(var: &str, raw: &str, kind: Kind) -> Result<toml::Value> {
    let text = raw.trim();
    Ok(match kind {
        Kind::Text => toml::Value::String(raw.to_owned()),
        Kind::Whole => toml::Value::Integer(
            text.parse()
                .with_context(|| format!("{var}: '{raw}' is not a whole number"))?,
        ),
        Kind::Number => toml::Value::Float(
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .with_context(|| format!("{var}: '{raw}' is not a number"))?,
        ),
        Kind::Bool => toml::Value::Boolean(match text.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => bail!("{var}: '{raw}' is not true or false"),
        }),
        Kind::List => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
    })
}

impl Settings {
    /// The settings of `args` over the environment `env` (a lookup of a
    /// variable by name) over the config file of `--config` over the defaults.
    pub fn resolve(args: &Args, env: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut table = match &args.config {
            Some(path) => read_file(path)?,
            None => toml::Table::new(),
        };
        for (key, kind) in keys() {
            let var = env_name(&key);
            if let Some(raw) = env(&var) {
                table.insert(key, env_value(&var, &raw, kind)?);
            }
        }
        let flags = toml::Table::try_from(args).context("reading the flags")?;
        table.extend(flags);
        let settings: Self = toml::Value::Table(table)
            .try_into()
            .context("a setting of the environment (CHASKI_<KEY>) has the wrong type")?;
        settings.check()?;
        Ok(settings)
    }

    /// Bounds the flags' parsers check, for values from the file or the environment too.
    fn check(&self) -> Result<()> {
        if self.max_zoom > 22 {
            bail!("max_zoom: {} is beyond 22", self.max_zoom);
        }
        empty_tile_status(&self.empty_tile.to_string()).map_err(anyhow::Error::msg)?;
        positive_minutes(&self.underserved_minutes.to_string())
            .map_err(|e| anyhow::anyhow!("underserved_minutes: {e}"))?;
        if !(self.max_bbox_deg2.is_finite() && self.max_bbox_deg2 > 0.0) {
            bail!(
                "max_bbox_deg2: {} is not a positive number",
                self.max_bbox_deg2
            );
        }
        if self.request_timeout_secs == 0 || self.heavy_timeout_secs == 0 {
            bail!("request_timeout_secs and heavy_timeout_secs must be 1 or more");
        }
        Ok(())
    }

    /// The server's settings (`indicators` read from its file).
    pub fn server_config(&self) -> Result<ServerConfig> {
        Ok(ServerConfig {
            public_url: self.public_url.clone(),
            empty_tile: self
                .empty_tile
                .to_string()
                .parse::<EmptyTile>()
                .map_err(anyhow::Error::msg)?,
            cache_mb: self.cache_mb,
            max_zoom: self.max_zoom,
            max_age_versioned: self.max_age_versioned,
            max_age: self.max_age,
            styles_dir: self.styles.clone().unwrap_or_default(),
            max_grid_cells: self.max_grid_cells,
            analysis_layers: self.analysis_layers,
            underserved_minutes: self.underserved_minutes,
            max_upload_bytes: self.max_upload_bytes,
            max_upload_rows: self.max_upload_rows,
            max_field_chars: self.max_field_chars,
            writes_per_hour: self.writes_per_hour,
            max_household_distance_m: self.max_household_distance_m,
            dem: self.dem.clone(),
            indicators: match &self.indicators {
                Some(p) => {
                    crate::monitoring::load_indicators(Some(p))?;
                    Some(
                        std::fs::read_to_string(p)
                            .with_context(|| format!("indicators: {}", p.display()))?,
                    )
                }
                None => None,
            },
            max_body_bytes: self.max_body_bytes,
            request_timeout_secs: self.request_timeout_secs,
            heavy_timeout_secs: self.heavy_timeout_secs,
            catchments_permits: self.catchments_permits,
            whatif_permits: self.whatif_permits,
            whatif_tiles_permits: self.whatif_tiles_permits,
            whatif_idle_secs: self.whatif_idle_secs,
            clusters_permits: self.clusters_permits,
            siting_permits: self.siting_permits,
            print_permits: self.print_permits,
            report_permits: self.report_permits,
            heavy_queue: self.heavy_queue,
            heavy_queue_wait_ms: self.heavy_queue_wait_ms,
            max_list_limit: self.max_list_limit,
            max_bbox_deg2: self.max_bbox_deg2,
            metrics: self.metrics,
            metrics_token: self.metrics_token.clone().filter(|t| !t.is_empty()),
            shutdown_drain_secs: self.shutdown_drain_secs,
        })
    }
}

/// The keys of config file `path`: every key must be a setting (else an
/// error naming the key, its line and the file), with a value of its type.
fn read_file(path: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    if let Err(e) = toml::from_str::<Settings>(&text) {
        bail!("config file {}: {e}", path.display());
    }
    toml::from_str::<toml::Table>(&text).with_context(|| format!("config file {}", path.display()))
}

/// The log format `chaski serve ARGS` asks for (flag, environment, config
/// file), for setting up the log before anything else; text when the
/// settings cannot be read (the error is reported when they are read again).
pub fn log_format(args: &Args) -> LogFormat {
    Settings::resolve(args, |v| std::env::var(v).ok()).map_or(LogFormat::Text, |s| s.log_format)
}

/// A status for empty tiles: 204, 200 or 404.
fn empty_tile_status(s: &str) -> Result<u16, String> {
    s.parse::<EmptyTile>()?;
    s.trim()
        .parse()
        .map_err(|_| format!("empty_tile: '{s}' is not 204, 200 or 404"))
}

/// A number of minutes above 0.
fn positive_minutes(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 => Ok(m),
        _ => Err(format!("'{s}' is not a number of minutes above 0")),
    }
}

pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let settings = Settings::resolve(args, |v| std::env::var(v).ok())?;
    // A folder given with --styles must hold styles: checked before anything is served.
    let styles = if let Some(dir) = &settings.styles {
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
    let config = settings.server_config()?;
    let listen = settings.listen;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = runtime.block_on(async move {
        let mut archives = std::collections::BTreeMap::new();
        for path in &settings.pmtiles {
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
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let catalog = state.catalog();
        tracing::info!(
            "serving {} layers (data version {}) on http://{}",
            catalog.layers.len(),
            catalog.version,
            listen
        );
        eprintln!(
            "chaski: serving {} layers{} on http://{} (viewer at /, catalog at /catalog; {styles})",
            catalog.layers.len(),
            match served_archives {
                0 => String::new(),
                1 => " and 1 PMTiles archive".to_owned(),
                n => format!(" and {n} PMTiles archives"),
            },
            listen
        );
        chaski_server::serve(
            listener,
            state,
            Duration::from_secs(settings.refresh_secs.max(1)),
        )
        .await
        .context("serving")?;
        anyhow::Ok(ExitCode::SUCCESS)
    });
    // Blocking work cut by the drain deadline is not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chaski.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file_which_beats_the_defaults() {
        let (_dir, path) =
            file("cache_mb = 10\nmax_zoom = 12\nheavy_queue = 3\nlisten = \"127.0.0.1:9000\"\n");
        let args = Args {
            config: Some(path),
            cache_mb: Some(30),
            ..Args::default()
        };
        let s = Settings::resolve(
            &args,
            env(&[
                ("CHASKI_CACHE_MB", "20"),
                ("CHASKI_MAX_ZOOM", "13"),
                ("CHASKI_STORE", "elsewhere.gpkg"),
                ("CHASKI_METRICS", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(s.cache_mb, 30, "flag over env and file");
        assert_eq!(s.max_zoom, 13, "env over file");
        assert_eq!(s.heavy_queue, 3, "file over default");
        assert_eq!(s.listen, "127.0.0.1:9000".parse().unwrap());
        assert!(!s.metrics);
        assert_eq!(s.max_upload_rows, ServerConfig::default().max_upload_rows);
        let config = s.server_config().unwrap();
        assert_eq!(config.cache_mb, 30);
        assert_eq!(config.heavy_queue, 3);
    }

    #[test]
    fn no_file_and_no_environment_are_the_defaults() {
        let s = Settings::resolve(&Args::default(), env(&[])).unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn an_unknown_key_names_the_key_and_the_file() {
        let (_dir, path) = file("cache_mb = 10\ncache_size = 3\n");
        let args = Args {
            config: Some(path.clone()),
            ..Args::default()
        };
        let err = format!("{:#}", Settings::resolve(&args, env(&[])).unwrap_err());
        assert!(err.contains("cache_size"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn wrong_types_and_bounds_are_errors_naming_the_setting() {
        let (_dir, path) = file("max_zoom = \"high\"\n");
        let args = Args {
            config: Some(path),
            ..Args::default()
        };
        let err = format!("{:#}", Settings::resolve(&args, env(&[])).unwrap_err());
        assert!(err.contains("max_zoom"), "{err}");
        let err = format!(
            "{:#}",
            Settings::resolve(&Args::default(), env(&[("CHASKI_CACHE_MB", "lots")])).unwrap_err()
        );
        assert!(err.contains("CHASKI_CACHE_MB"), "{err}");
        let err = format!(
            "{:#}",
            Settings::resolve(&Args::default(), env(&[("CHASKI_EMPTY_TILE", "500")])).unwrap_err()
        );
        assert!(err.contains("empty"), "{err}");
        let err = format!(
            "{:#}",
            Settings::resolve(&Args::default(), env(&[("CHASKI_MAX_ZOOM", "30")])).unwrap_err()
        );
        assert!(err.contains("max_zoom"), "{err}");
    }

    #[test]
    fn lists_and_text_from_the_environment() {
        let s = Settings::resolve(
            &Args::default(),
            env(&[
                ("CHASKI_PMTILES", "a.pmtiles, b.pmtiles"),
                ("CHASKI_DEM", "123"),
                ("CHASKI_METRICS_TOKEN", "s3cret"),
                ("CHASKI_LOG_FORMAT", "json"),
                ("CHASKI_MAX_BBOX_DEG2", "50"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.pmtiles,
            vec![PathBuf::from("a.pmtiles"), PathBuf::from("b.pmtiles")]
        );
        assert_eq!(s.dem.as_deref(), Some("123"));
        assert_eq!(s.metrics_token.as_deref(), Some("s3cret"));
        assert_eq!(s.log_format, LogFormat::Json);
        assert!((s.max_bbox_deg2 - 50.0).abs() < f64::EPSILON);
    }

    /// The example file of the repository sets every key, each to its
    /// default (so it documents them), and parses.
    #[test]
    fn the_example_file_sets_every_key_to_its_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../chaski.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let args = Args {
            config: Some(path),
            ..Args::default()
        };
        // Keys without a default value are shown commented out.
        assert_eq!(
            Settings::resolve(&args, env(&[])).unwrap(),
            Settings::default()
        );
        for (key, _) in keys() {
            let set = table.contains_key(&key) || text.contains(&format!("# {key} = "));
            assert!(set, "chaski.example.toml does not show '{key}'");
        }
    }

    /// The README's table of settings names every key with its variable.
    #[test]
    fn the_readme_documents_every_key() {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
                .unwrap();
        for (key, _) in keys() {
            assert!(
                readme.contains(&format!("| `{key}` |")),
                "README.md has no row for setting '{key}'"
            );
        }
    }
}
