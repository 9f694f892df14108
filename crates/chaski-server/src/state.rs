//! Shared state of the server: the store, the settings, the catalog and the
//! caches every handler reads. Below every route module: it holds their
//! caches' types ([`crate::render`], [`crate::travel`], [`crate::whatifs`],
//! [`crate::clusters`], [`crate::write_limit`], [`crate::maps`], [`crate::limits`],
//! [`crate::indicator_tiles`]) and imports no handler.

use crate::catalog::Catalog;
use crate::clusters::{PrivateCache, tile_cluster_options};
use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::indicator_tiles::IndicatorLayers;
use crate::limits::Limiter;
use crate::maps::MapCache;
use crate::render::{TileCache, tile_cache};
use crate::travel::AccessCache;
use crate::whatifs::WhatIfs;
use crate::write_limit::WriteLimiter;
use chaski_core::auth::TokenStore;
use chaski_core::store::Store;
use chaski_io::tilepack::PmtilesArchive;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// State shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The layer store.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    catalog: Arc<RwLock<Arc<Catalog>>>,
    /// Cache of the base tiles (public layers), bounded in bytes, one entry
    /// per representation; private tiles never enter it.
    pub cache: TileCache,
    /// `Cache-Control` for tile URLs carrying the current data version.
    pub cache_control_versioned: axum::http::HeaderValue,
    /// `Cache-Control` for other tile URLs.
    pub cache_control: axum::http::HeaderValue,
    /// Travel-time inputs and searches of the analysis APIs.
    pub access: Arc<AccessCache>,
    /// Access tokens and the access log (None: no tokens, every caller is public).
    pub tokens: Option<Arc<dyn TokenStore>>,
    /// What-if edits and their tiles, in memory.
    pub whatifs: Arc<WhatIfs>,
    /// Cached cluster results and private tile layers (households, clusters) per scope.
    pub private: Arc<PrivateCache>,
    /// Household writes per token over the last hour.
    pub writes: Arc<WriteLimiter>,
    /// The layers of printed risk maps and the bound on renders.
    pub maps: Arc<MapCache>,
    /// Permits and queues of the heavy families ([`crate::limits`]).
    pub limits: Arc<Limiter>,
    /// Set when shutdown began: `/ready` answers 503 from then on.
    draining: Arc<AtomicBool>,
    /// The choropleth tile layers of the indicators, per caller's scope.
    pub indicator_layers: Arc<IndicatorLayers>,
    /// PMTiles archives served as tile sources (`chaski serve --pmtiles`), by name.
    pub archives: Arc<BTreeMap<String, Arc<PmtilesArchive>>>,
    /// Community and facility codes (and community locations) for household
    /// writes, with the (name, version) of the layers they were read from.
    known_codes: Arc<Mutex<Option<KnownCodesEntry>>>,
}

/// Cached codes and the layer versions they were read from.
type KnownCodesEntry = (Vec<(String, u64)>, Arc<chaski_io::households::KnownCodes>);

impl AppState {
    /// `Cache-Control` of a tile: long-lived when its URL carries the data
    /// version (`versioned`), short otherwise.
    pub fn tile_cache_control(&self, versioned: bool) -> axum::http::HeaderValue {
        if versioned {
            self.cache_control_versioned.clone()
        } else {
            self.cache_control.clone()
        }
    }

    /// Build the state and the first catalog (blocking: reads every public layer).
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> Result<Self, ApiError> {
        let catalog = Catalog::build(store.as_ref(), &config)?;
        let cache = tile_cache(config.cache_mb.saturating_mul(1024 * 1024), false);
        let access = AccessCache::new(
            Arc::clone(&store),
            config.max_grid_cells,
            config.dem.clone(),
        );
        let limits = Arc::new(Limiter::new(&config));
        let private = PrivateCache::new(
            Arc::clone(&store),
            config.max_zoom,
            tile_cluster_options(),
            Arc::clone(&limits),
        );
        let header = |v: String| {
            axum::http::HeaderValue::from_str(&v)
                .unwrap_or_else(|_| axum::http::HeaderValue::from_static("no-cache"))
        };
        let maps = Arc::new(MapCache::new(Arc::clone(&store)));
        let indicator_layers = Arc::new(IndicatorLayers::new(Arc::clone(&store), config.max_zoom));
        let whatif_idle = std::time::Duration::from_secs(config.whatif_idle_secs);
        Ok(Self {
            store,
            cache_control_versioned: header(format!(
                "public, max-age={}, immutable",
                config.max_age_versioned
            )),
            cache_control: header(format!("public, max-age={}", config.max_age)),
            config: Arc::new(config),
            catalog: Arc::new(RwLock::new(Arc::new(catalog))),
            cache,
            access: Arc::new(access),
            tokens: None,
            whatifs: Arc::new(WhatIfs::new(whatif_idle)),
            private: Arc::new(private),
            writes: Arc::new(WriteLimiter::default()),
            maps,
            limits,
            draining: Arc::new(AtomicBool::new(false)),
            indicator_layers,
            archives: Arc::new(BTreeMap::new()),
            known_codes: Arc::new(Mutex::new(None)),
        })
    }

    /// The same state checking bearer tokens against `tokens` (and logging household access there).
    #[must_use]
    pub fn with_tokens(mut self, tokens: Arc<dyn TokenStore>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The same state serving `archives` (PMTiles, by name) at
    /// `/archives/{name}.json` and `/archives/{name}/{z}/{x}/{y}.mvt`.
    #[must_use]
    pub fn with_archives(mut self, archives: BTreeMap<String, Arc<PmtilesArchive>>) -> Self {
        self.archives = Arc::new(archives);
        self
    }

    /// The same state with `options` for the `clusters` tile layer (and empty private caches).
    #[must_use]
    pub fn with_cluster_tile_options(
        mut self,
        options: chaski_analysis::clusters::ClusterOptions,
    ) -> Self {
        self.private = Arc::new(PrivateCache::new(
            Arc::clone(&self.store),
            self.config.max_zoom,
            options,
            Arc::clone(&self.limits),
        ));
        self
    }

    /// Whether shutdown began (`/ready` answers 503).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Mark the server as shutting down: `/ready` answers 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// The current catalog.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The store's community and facility codes for household writes, read
    /// again only when a communities or facilities layer changed (a household
    /// upload does not). Blocking: call from `spawn_blocking`.
    pub fn known_codes(&self) -> Result<Arc<chaski_io::households::KnownCodes>, ApiError> {
        use chaski_core::layer::LayerKind;
        let key: Vec<(String, u64)> = self
            .store
            .layers()?
            .into_iter()
            .filter(|l| matches!(l.kind, LayerKind::Communities | LayerKind::Facilities))
            .map(|l| (l.name, l.version))
            .collect();
        let mut slot = self
            .known_codes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((k, codes)) = slot.as_ref()
            && *k == key
        {
            return Ok(codes.clone());
        }
        let codes = Arc::new(chaski_io::households::KnownCodes::from_store(
            self.store.as_ref(),
        )?);
        *slot = Some((key, codes.clone()));
        Ok(codes)
    }

    /// The current catalog, rebuilt first when it is older than data version
    /// `version` (a tile URL of another replica's newer version): it then
    /// holds every change up to at least the store's version now.
    pub async fn catalog_at_least(&self, version: u64) -> Result<Arc<Catalog>, ApiError> {
        let catalog = self.catalog();
        if version <= catalog.version {
            return Ok(catalog);
        }
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.refresh())
            .await
            .map_err(ApiError::internal)??;
        Ok(self.catalog())
    }

    /// Rebuild the catalog if the store's data version moved on; returns true when it did.
    /// Blocking: call from `spawn_blocking`.
    pub fn refresh(&self) -> Result<bool, ApiError> {
        let current = self.catalog().version;
        if self.store.version()? == current {
            return Ok(false);
        }
        let previous = self.catalog();
        let fresh = Catalog::rebuild(self.store.as_ref(), &self.config, Some(&previous))?;
        *self
            .catalog
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(fresh);
        Ok(true)
    }
}
