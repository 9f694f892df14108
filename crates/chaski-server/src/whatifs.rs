//! The what-ifs in memory: each one's search with the edits, its summary, the
//! villages that change and its tile layers, and the cache of their tiles.
//!
//! What-ifs live in memory only, the last [`MAX_WHATIFS`] used (least
//! recently used dropped first, with their cached tiles), under random 64-bit
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
    entries: Mutex<VecDeque<Arc<WhatIf>>>,
    tiles: TileCache,
}

impl Default for WhatIfs {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WhatIfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatIfs")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl WhatIfs {
    /// No what-if yet.
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            tiles: tile_cache(TILE_CACHE_BYTES, true),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<WhatIf>>> {
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
        let dropped: Vec<Arc<WhatIf>> = {
            let mut e = self.lock();
            e.push_front(w);
            let keep = MAX_WHATIFS.min(e.len());
            e.drain(keep..).collect()
        };
        for d in dropped {
            self.forget_tiles(&d.id);
        }
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
        let i = e.iter().position(|w| w.id == id)?;
        let w = e.remove(i)?;
        e.push_front(Arc::clone(&w));
        Some(w)
    }

    /// The what-if `id` or a 404 saying so.
    pub fn find(&self, id: &str) -> ApiResult<Arc<WhatIf>> {
        self.get(id).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no what-if '{id}' (what-ifs are kept in memory, the last {MAX_WHATIFS} used; POST /api/whatif makes one)"
            ))
        })
    }

    /// Drop the what-if `id`; false when there was none.
    pub fn remove(&self, id: &str) -> bool {
        let removed = {
            let mut e = self.lock();
            let before = e.len();
            e.retain(|w| w.id != id);
            e.len() != before
        };
        if removed {
            self.forget_tiles(id);
        }
        removed
    }
}
