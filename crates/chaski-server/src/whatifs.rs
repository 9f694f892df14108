//! The what-ifs in memory: each one's search with the edits, its summary, the
//! villages that change and its tile layers, and the cache of their tiles.
//!
//! What-ifs live in memory only, the last [`MAX_WHATIFS`] used (least
//! recently used dropped first, with their cached tiles) and none longer than
//! `whatif_idle_secs` after its last use, under random 64-bit
//! ids in hex: unguessable enough that one user does not stumble on
//! another's, not a secret. See `routes::whatif` for the endpoints.

use crate::catalog::{Catalog, CatalogLayer};
use crate::error::ApiError;
use crate::render::{TileCache, TileScope, render_sources, tile_cache};
use chaski_analysis::travel::TravelResult;
use chaski_core::Layer;
use chaski_core::layer::LayerKind;
use chaski_core::store::layer_bounds;
use chaski_core::value::Field;
use chaski_tiles::{LayerSource, SourceOptions, TileCoord, TileSource};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What-ifs kept in memory.
pub const MAX_WHATIFS: usize = 32;
/// Weight limit of the what-if tile cache, in bytes (64 MiB).
const TILE_CACHE_BYTES: u64 = 64 * 1024 * 1024;

type ApiResult<T> = Result<T, ApiError>;

/// One tile layer of a what-if.
pub(crate) struct WhatIfLayer {
    pub(crate) name: String,
    pub(crate) kind: LayerKind,
    pub(crate) fields: Vec<Field>,
    pub(crate) bounds: Option<[f64; 4]>,
    pub(crate) source: Arc<dyn TileSource>,
}

impl WhatIfLayer {
    /// `layer` indexed for tiles up to `max_zoom`.
    pub(crate) fn new(layer: &Layer, max_zoom: u8) -> ApiResult<Self> {
        let options = SourceOptions {
            maxzoom: max_zoom,
            ..SourceOptions::default()
        };
        let source = LayerSource::with_options(layer, options).map_err(ApiError::internal)?;
        Ok(Self {
            name: layer.name.clone(),
            kind: layer.kind,
            fields: layer.fields.clone(),
            bounds: layer_bounds(layer),
            source: Arc::new(source),
        })
    }
}

/// A village whose time or facility a what-if changes (an index into the
/// villages of the search, shared with the base search).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedVillage {
    /// Index into [`TravelResult::places`].
    pub place: usize,
    /// Minutes before the edits (None: no time).
    pub before_min: Option<f64>,
    /// Minutes with the edits (None: no time).
    pub after_min: Option<f64>,
    /// Code of the facility reached before.
    pub facility_before: Option<String>,
    /// Code of the facility reached with the edits.
    pub facility_after: Option<String>,
}

/// One what-if: its result, summary and tile layers.
pub struct WhatIf {
    /// Its id.
    pub id: String,
    /// The summary answered by `POST` and `GET /api/whatif/{id}` (without URLs
    /// and without the villages that change, which are paged from `changed`).
    pub summary: Value,
    /// The villages whose time or facility changes, most improved first.
    pub changed: Vec<ChangedVillage>,
    /// The search with the edits.
    pub result: Arc<TravelResult>,
    /// Data version of the store the edits were applied to.
    pub version: u64,
    pub(crate) layers: Vec<WhatIfLayer>,
}

impl std::fmt::Debug for WhatIf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatIf")
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A layer of a what-if tile request: the what-if's own, or the base catalog's.
pub(crate) enum Resolved<'a> {
    /// A layer of the what-if.
    Own(&'a WhatIfLayer),
    /// A layer of the catalog, by name.
    Base(&'a str, &'a CatalogLayer),
}

impl Resolved<'_> {
    /// Its tile source.
    pub(crate) fn source(&self) -> &dyn TileSource {
        match self {
            Self::Own(l) => l.source.as_ref(),
            Self::Base(_, l) => l.source.as_ref(),
        }
    }

    /// Its name.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Own(l) => &l.name,
            Self::Base(n, _) => n,
        }
    }
}

impl WhatIf {
    /// The layers of a comma list `spec`: the what-if's own first, then the
    /// catalog's; an unknown name is a 404 naming the what-if's layers.
    pub(crate) fn resolve<'a>(
        &'a self,
        catalog: &'a Catalog,
        spec: &str,
    ) -> ApiResult<Vec<Resolved<'a>>> {
        let mut out: Vec<Resolved<'a>> = Vec::new();
        for name in spec.split(',').map(str::trim) {
            if out.iter().any(|r| r.name() == name) {
                continue;
            }
            if let Some(l) = self.layers.iter().find(|l| l.name == name) {
                out.push(Resolved::Own(l));
                continue;
            }
            match catalog.resolve(name) {
                Ok(found) => out.extend(found.into_iter().map(|(n, l)| Resolved::Base(n, l))),
                Err(ApiError::NotFound(_)) => {
                    let own: Vec<&str> = self.layers.iter().map(|l| l.name.as_str()).collect();
                    return Err(ApiError::NotFound(format!(
                        "unknown layer '{name}': this what-if has {} (and the layers of /catalog)",
                        own.join(", ")
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The identity MVT of layers `spec` at `coord`.
    pub(crate) fn render(
        &self,
        catalog: &Catalog,
        spec: &str,
        coord: TileCoord,
    ) -> ApiResult<Vec<u8>> {
        let layers = self.resolve(catalog, spec)?;
        let sources: Vec<&dyn TileSource> = layers.iter().map(Resolved::source).collect();
        render_sources(&sources, coord)
    }
}

/// The what-ifs in memory (the last [`MAX_WHATIFS`] used) and their tiles,
/// held by the server state.
pub struct WhatIfs {
    /// Most recently used first, each with the time of its last use.
    entries: Mutex<VecDeque<(Arc<WhatIf>, Instant)>>,
    tiles: TileCache,
    /// How long a what-if is kept after its last use.
    idle: Duration,
}

impl Default for WhatIfs {
    fn default() -> Self {
        Self::new(DEFAULT_IDLE)
    }
}

/// How long a what-if is kept after its last use unless configured (30 min).
pub const DEFAULT_IDLE: Duration = Duration::from_secs(30 * 60);

impl std::fmt::Debug for WhatIfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatIfs")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl WhatIfs {
    /// No what-if yet; each kept `idle` after its last use.
    pub fn new(idle: Duration) -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            tiles: tile_cache(TILE_CACHE_BYTES, true),
            idle,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Arc<WhatIf>, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cache of what-if tiles (keys of [`TileScope::WhatIf`]).
    pub fn tiles(&self) -> &TileCache {
        &self.tiles
    }

    /// Number of what-ifs held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when none is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Keep `w`, dropping the least recently used beyond [`MAX_WHATIFS`].
    pub(crate) fn insert(&self, w: Arc<WhatIf>) {
        let dropped: Vec<(Arc<WhatIf>, Instant)> = {
            let mut e = self.lock();
            e.push_front((w, Instant::now()));
            let keep = MAX_WHATIFS.min(e.len());
            e.drain(keep..).collect()
        };
        for (d, _) in dropped {
            self.forget_tiles(&d.id);
        }
        self.expire();
    }

    /// Drop the what-ifs unused for longer than the idle time, with their
    /// tiles; returns how many. The server calls it every few seconds.
    pub fn expire(&self) -> usize {
        let now = Instant::now();
        let dropped: Vec<Arc<str>> = {
            let mut e = self.lock();
            let mut gone = Vec::new();
            e.retain(|(w, used)| {
                let keep = now.saturating_duration_since(*used) <= self.idle;
                if !keep {
                    gone.push(Arc::from(w.id.as_str()));
                }
                keep
            });
            gone
        };
        for id in &dropped {
            self.forget_tiles(id);
        }
        dropped.len()
    }

    /// Drop the cached tiles of what-if `id`.
    fn forget_tiles(&self, id: &str) {
        let id: Arc<str> = Arc::from(id);
        if let Err(e) = self
            .tiles
            .invalidate_entries_if(move |k, _| matches!(&k.scope, TileScope::WhatIf(w) if *w == id))
        {
            tracing::debug!(error = %e, "what-if tiles not invalidated");
        }
    }

    /// The what-if `id` (now the most recently used).
    pub fn get(&self, id: &str) -> Option<Arc<WhatIf>> {
        let mut e = self.lock();
        let i = e.iter().position(|(w, _)| w.id == id)?;
        let (w, used) = e.remove(i)?;
        if Instant::now().saturating_duration_since(used) > self.idle {
            drop(e);
            self.forget_tiles(id);
            return None;
        }
        e.push_front((Arc::clone(&w), Instant::now()));
        Some(w)
    }

    /// The what-if `id` or a 404 saying so.
    pub fn find(&self, id: &str) -> ApiResult<Arc<WhatIf>> {
        self.get(id).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no what-if '{id}' (what-ifs are kept in memory, the last {MAX_WHATIFS} used, each {} s after its last use (whatif_idle_secs); POST /api/whatif makes one)",
                self.idle.as_secs()
            ))
        })
    }

    /// Drop the what-if `id`; false when there was none.
    pub fn remove(&self, id: &str) -> bool {
        let removed = {
            let mut e = self.lock();
            let before = e.len();
            e.retain(|(w, _)| w.id != id);
            e.len() != before
        };
        if removed {
            self.forget_tiles(id);
        }
        removed
    }
}
