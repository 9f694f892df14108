//! One cached tile render, for the base tiles and the what-if tiles alike.
//!
//! A tile is looked up in a [`TileCache`] by its [`TileKey`] (whose
//! [`TileScope`] tells base tiles from the tiles of one what-if): an uncached
//! identity tile is rendered once (in `spawn_blocking` below
//! [`INLINE_RENDER_ZOOM`]) and given a strong ETag (xxh3 of the body); a
//! compressed representation is compressed once from the cached identity
//! tile, its ETag suffixed with the encoding. [`tile_response`] then answers
//! 304 when `If-None-Match` matches, the configured status for an empty tile,
//! else the body with `ETag`, `Cache-Control` and `Vary`.

use crate::config::EmptyTile;
use crate::encoding::Encoding;
use crate::error::ApiError;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chaski_tiles::{TileCoord, TileSource};
use std::sync::Arc;

/// MIME type of Mapbox Vector Tiles.
pub const MVT_MIME: &str = "application/vnd.mapbox-vector-tile";

/// Tiles at this zoom and above are rendered on the async worker itself:
/// they cover little ground and render in microseconds (no tile holds more
/// than the clustering threshold below the maximum zoom), cheaper than a
/// thread hand-off.
pub const INLINE_RENDER_ZOOM: u8 = 12;

/// Whose tiles a cache entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TileScope {
    /// The catalog's layers.
    Base,
    /// The layers of the what-if with this id (and catalog layers mixed in).
    WhatIf(Arc<str>),
    /// The tiles of the PMTiles archive served under this name.
    Archive(Arc<str>),
}

/// Key of one cached tile representation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// Base tiles or the tiles of one what-if.
    pub scope: TileScope,
    /// Version of the catalog data the tile was made from (0 for a what-if
    /// tile of the what-if's own layers only).
    pub version: u64,
    /// Requested layers, comma-joined in request order.
    pub layers: Arc<str>,
    /// Zoom.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
    /// Encoding of the body.
    pub encoding: Encoding,
}

impl TileKey {
    /// Bytes of the key counted in the cache's weight.
    fn weight(&self) -> usize {
        let id = match &self.scope {
            TileScope::Base => 0,
            TileScope::WhatIf(id) | TileScope::Archive(id) => id.len(),
        };
        self.layers.len() + id + 96
    }
}

/// A tile ready to send: body in one encoding and its ETag.
#[derive(Debug)]
pub struct CachedTile {
    /// Body (empty for an empty tile).
    pub body: Bytes,
    /// Strong ETag, quoted.
    pub etag: String,
    /// The ETag as a header value, validated once.
    pub etag_header: HeaderValue,
}

impl CachedTile {
    /// A tile with its ETag.
    pub fn new(body: Bytes, etag: String) -> Self {
        let etag_header =
            HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self {
            body,
            etag,
            etag_header,
        }
    }
}

/// Tile representations bounded in bytes, one entry per [`TileKey`].
pub type TileCache = moka::future::Cache<TileKey, Arc<CachedTile>>;

/// An empty tile cache of at most `max_bytes`; `invalidation` allows
/// dropping entries by predicate (the tiles of one what-if).
pub fn tile_cache(max_bytes: u64, invalidation: bool) -> TileCache {
    let builder = moka::future::Cache::builder()
        .max_capacity(max_bytes)
        .weigher(|k: &TileKey, v: &Arc<CachedTile>| {
            u32::try_from(v.body.len() + v.etag.len() + k.weight()).unwrap_or(u32::MAX)
        });
    if invalidation {
        builder.support_invalidation_closures().build()
    } else {
        builder.build()
    }
}

/// Render `sources` at `coord` into an MVT body.
pub fn render_sources(sources: &[&dyn TileSource], coord: TileCoord) -> Result<Vec<u8>, ApiError> {
    chaski_tiles::render(sources, coord).map_err(ApiError::internal)
}

/// The representation for `key` from `cache`, made once: the identity tile
/// by `render` (called with the key's coordinate), any other encoding
/// compressed from the cached identity tile. With `caching` false nothing is
/// kept (every request renders and compresses).
pub async fn cached_tile<F>(
    cache: &TileCache,
    caching: bool,
    key: TileKey,
    render: F,
) -> Result<Arc<CachedTile>, ApiError>
where
    F: FnOnce(TileCoord) -> Result<Vec<u8>, ApiError> + Send + 'static,
{
    let which = match key.scope {
        TileScope::Base => "base",
        TileScope::WhatIf(_) => "whatif",
        TileScope::Archive(_) => "archive",
    };
    // Fast path: a cached representation, without building the render future.
    if let Some(hit) = cache.get(&key).await {
        metrics::counter!("chaski_tile_cache_hits_total", "cache" => which).increment(1);
        return Ok(hit);
    }
    metrics::counter!("chaski_tile_cache_misses_total", "cache" => which).increment(1);
    let fetch = {
        let key = key.clone();
        async move {
            if key.encoding == Encoding::Identity {
                let coord = TileCoord::new(key.z, key.x, key.y)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
                let body = if coord.z() >= INLINE_RENDER_ZOOM {
                    render(coord)?
                } else {
                    tokio::task::spawn_blocking(move || render(coord))
                        .await
                        .map_err(ApiError::internal)??
                };
                let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body));
                Ok(Arc::new(CachedTile::new(Bytes::from(body), etag)))
            } else {
                let identity = Box::pin(cached_tile(
                    cache,
                    caching,
                    TileKey {
                        encoding: Encoding::Identity,
                        ..key.clone()
                    },
                    render,
                ))
                .await?;
                encoded(identity, key.encoding).await
            }
        }
    };
    if !caching {
        return fetch.await;
    }
    cache
        .try_get_with(key, fetch)
        .await
        .map_err(|e| ApiError::from_shared(&e))
}

/// `identity` compressed once in `enc` (off the async runtime), its ETag
/// suffixed with the encoding; an empty tile stays as it is.
pub async fn encoded(
    identity: Arc<CachedTile>,
    enc: Encoding,
) -> Result<Arc<CachedTile>, ApiError> {
    if identity.body.is_empty() {
        return Ok(identity);
    }
    let raw = identity.body.clone();
    let body = tokio::task::spawn_blocking(move || enc.compress(&raw))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let base = identity.etag.trim_end_matches('"');
    Ok(Arc::new(CachedTile::new(
        Bytes::from(body),
        format!("{base}{}\"", enc.etag_suffix()),
    )))
}

/// The encoding the request's `Accept-Encoding` allows best.
pub fn negotiate(headers: &HeaderMap) -> Encoding {
    Encoding::negotiate(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|h| h.to_str().ok()),
    )
}

/// Whether the request's `If-None-Match` names `etag` (or `*`).
pub fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|inm| {
            inm.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}

/// The status of an empty tile, as configured.
pub fn empty_status(empty: EmptyTile) -> StatusCode {
    match empty {
        EmptyTile::NoContent => StatusCode::NO_CONTENT,
        EmptyTile::Ok => StatusCode::OK,
        EmptyTile::NotFound => StatusCode::NOT_FOUND,
    }
}

/// The answer for a public tile ready in `cached`: 304 when `If-None-Match`
/// matches its ETag, the `empty` status for an empty tile, else the body in
/// `encoding`; with `ETag`, `Cache-Control` and `Vary: Accept-Encoding`.
pub fn tile_response(
    headers: &HeaderMap,
    cached: &CachedTile,
    encoding: Encoding,
    cache_control: HeaderValue,
    empty: EmptyTile,
) -> Response {
    let mut out_headers = HeaderMap::with_capacity(6);
    out_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT_MIME));
    out_headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    out_headers.insert(header::ETAG, cached.etag_header.clone());
    out_headers.insert(header::CACHE_CONTROL, cache_control);
    if etag_matches(headers, &cached.etag) {
        return (StatusCode::NOT_MODIFIED, out_headers).into_response();
    }
    if cached.body.is_empty() {
        out_headers.remove(header::CONTENT_TYPE);
        return (empty_status(empty), out_headers).into_response();
    }
    if let Some(enc) = encoding.header() {
        out_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    (StatusCode::OK, out_headers, cached.body.clone()).into_response()
}
