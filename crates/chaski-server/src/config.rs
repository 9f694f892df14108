//! Server settings, with documented defaults.

use serde::{Deserialize, Serialize};

/// What an empty tile is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum EmptyTile {
    /// 204 No Content (the default; MapLibre and QGIS treat it as an empty tile).
    #[default]
    NoContent,
    /// 200 with an empty body.
    Ok,
    /// 404 Not Found.
    NotFound,
}

impl std::str::FromStr for EmptyTile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "204" => Ok(Self::NoContent),
            "200" => Ok(Self::Ok),
            "404" => Ok(Self::NotFound),
            _ => Err(format!(
                "empty-tile status must be 204, 200 or 404, not '{s}'"
            )),
        }
    }
}

/// Settings of the HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Base URL clients reach this server at, used in TileJSON and styles
    /// (default: taken from each request's `Host` header).
    pub public_url: Option<String>,
    /// Status for empty tiles.
    pub empty_tile: EmptyTile,
    /// Size bound of the in-memory tile cache, in megabytes (default 256).
    pub cache_mb: u64,
    /// Highest zoom served (default 14; deeper requests are overzoomed by clients).
    pub max_zoom: u8,
    /// Seconds a client may cache a versioned tile URL (default one day).
    pub max_age_versioned: u32,
    /// Seconds a client may cache an unversioned tile URL (default 60).
    pub max_age: u32,
    /// Folder of MapLibre style templates (`NAME.json`) that replaces the styles
    /// built into the binary. Empty (the default): the built-in styles, those
    /// of the repository's `styles/` folder ([`crate::styles::EMBEDDED`]), so
    /// the server does not depend on the folder it is started from.
    pub styles_dir: std::path::PathBuf,
    /// Largest travel-time grid the analysis APIs compute, in cells (default
    /// 25,000,000, e.g. 5000 x 5000 cells of 30 m); larger ones answer 413.
    pub max_grid_cells: usize,
    /// Serve the walking travel-time bands and facility catchments as tile layers
    /// (`travel_time`, `catchments`) when the store has a DEM and facilities.
    pub analysis_layers: bool,
    /// Threshold of the `underserved` tile layer: villages beyond this many
    /// minutes on foot of a facility with birth care (default 120).
    pub underserved_minutes: f64,
    /// Largest household upload body, in bytes (default 5 MiB: a CHA's month of
    /// visits is a few kilobytes); larger ones answer 413.
    pub max_upload_bytes: usize,
    /// Most household rows (and withdrawals) in one upload (default 5,000);
    /// more answer 413.
    pub max_upload_rows: usize,
    /// Longest text value of a household field, in characters (default 256);
    /// a longer one rejects its row.
    pub max_field_chars: usize,
    /// Household writes (uploads and deletions) one token may make per hour
    /// (default 60); more answer 429 with `Retry-After`.
    pub writes_per_hour: u32,
    /// How far from its community's location a CHA or facility token may
    /// place a household, in metres (default 5,000).
    pub max_household_distance_m: f64,
    /// The DEM raster of the analysis APIs (None: the raster called `dem`, else
    /// the store's only raster).
    pub dem: Option<String>,
    /// The indicator file (TOML text) of `/api/indicators` and `/api/did`
    /// (None: the built-in indicators; `chaski serve --indicators FILE`).
    pub indicators: Option<String>,
    /// Largest request body of every route but the household upload, in
    /// bytes (default 1 MiB); larger ones answer 413.
    pub max_body_bytes: usize,
    /// Seconds a request may take before it is answered 503 (default 30).
    pub request_timeout_secs: u64,
    /// Seconds a request of a heavy family (catchments, what-if, clusters,
    /// siting, printed maps, report) may take before it is answered 503 (default 120).
    pub heavy_timeout_secs: u64,
    /// `POST /api/catchments` running at once (default 2).
    pub catchments_permits: usize,
    /// `POST /api/whatif` runs at once (default 2).
    pub whatif_permits: usize,
    /// What-if tiles rendered at once (default 8).
    pub whatif_tiles_permits: usize,
    /// Seconds a what-if is kept in memory after its last use (default 1800).
    pub whatif_idle_secs: u64,
    /// Cluster computations at once (default 2).
    pub clusters_permits: usize,
    /// `POST /api/siting` solves at once (default 2).
    pub siting_permits: usize,
    /// Printed maps laid out and rendered at once (default 2).
    pub print_permits: usize,
    /// District reports at once (default 2).
    pub report_permits: usize,
    /// Requests of one heavy family that may wait for a permit (default 8);
    /// more answer 429 at once.
    pub heavy_queue: usize,
    /// Milliseconds a waiting request waits for a permit before it is
    /// answered 429 (default 2,000).
    pub heavy_queue_wait_ms: u64,
    /// Most items of one page of a list answer (`limit`, default 10,000).
    pub max_list_limit: usize,
    /// Largest `bbox` filter of a list answer, in square degrees (default 1,000).
    pub max_bbox_deg2: f64,
    /// Serve `GET /metrics` (default true).
    pub metrics: bool,
    /// Bearer token `GET /metrics` requires (default none: open to whoever
    /// reaches the port).
    pub metrics_token: Option<String>,
    /// Seconds in-flight requests may take to finish after SIGTERM or Ctrl-C
    /// before the server exits anyway (default 30).
    pub shutdown_drain_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            empty_tile: EmptyTile::NoContent,
            cache_mb: 256,
            max_zoom: 14,
            max_age_versioned: 86_400,
            max_age: 60,
            styles_dir: std::path::PathBuf::new(),
            max_grid_cells: 25_000_000,
            analysis_layers: true,
            underserved_minutes: 120.0,
            max_upload_bytes: 5 * 1024 * 1024,
            max_upload_rows: 5_000,
            max_field_chars: chaski_io::import::MAX_FIELD_CHARS,
            writes_per_hour: 60,
            max_household_distance_m: chaski_core::household::write::DEFAULT_MAX_DISTANCE_M,
            dem: None,
            indicators: None,
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            heavy_timeout_secs: 120,
            catchments_permits: 2,
            whatif_permits: 2,
            whatif_tiles_permits: 8,
            whatif_idle_secs: 1800,
            clusters_permits: 2,
            siting_permits: 2,
            print_permits: 2,
            report_permits: 2,
            heavy_queue: 8,
            heavy_queue_wait_ms: 2_000,
            max_list_limit: crate::params::MAX_LIMIT,
            max_bbox_deg2: 1_000.0,
            metrics: true,
            metrics_token: None,
            shutdown_drain_secs: 30,
        }
    }
}

/// The bounds of list answers, as the request's middleware (`limits::middleware`) set them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Most items of one page (`limit`).
    pub max_list_limit: usize,
    /// Largest `bbox` filter, in square degrees.
    pub max_bbox_deg2: f64,
}

impl Bounds {
    /// The bounds of `config`.
    pub fn of(config: &ServerConfig) -> Self {
        Self {
            max_list_limit: config.max_list_limit,
            max_bbox_deg2: config.max_bbox_deg2,
        }
    }
}

tokio::task_local! {
    static BOUNDS: Bounds;
}

/// Run `fut` with `bounds` as the bounds of its request (see [`bounds`]).
pub async fn with_bounds<F: std::future::Future>(bounds: Bounds, fut: F) -> F::Output {
    BOUNDS.scope(bounds, fut).await
}

/// The bounds of the request being served (those of the default config
/// outside a request, as in unit tests of the parsers).
pub fn bounds() -> Bounds {
    BOUNDS
        .try_with(|b| *b)
        .unwrap_or_else(|_| Bounds::of(&ServerConfig::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounds_are_those_of_the_request_else_the_defaults() {
        assert_eq!(bounds(), Bounds::of(&ServerConfig::default()));
        let tight = Bounds {
            max_list_limit: 3,
            max_bbox_deg2: 1.0,
        };
        assert_eq!(with_bounds(tight, async { bounds() }).await, tight);
    }
}
