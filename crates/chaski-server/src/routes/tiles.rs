//! `GET /tiles/{layers}.json` (TileJSON 3.0.0) and `GET /tiles/{layers}/{z}/{x}/{y}[.mvt|.pbf]`.
//!
//! Per request: parse and check z/x/y → resolve the layers in the current
//! catalog → negotiate the encoding → the one cached render of
//! [`crate::render`] (base scope, keyed by the catalog's tiles version) → 304
//! when `If-None-Match` matches, else the body with `ETag`, `Cache-Control`
//! and `Vary`.
//!
//! The private layers `households` and `clusters` (see [`crate::clusters`])
//! resolve only for a token whose role may see them; for anyone else (no
//! token, a bad token, another role) they are unknown layers (404), exactly
//! as if they did not exist. Tiles holding a private layer are rendered per
//! request from the caller's own cached layer, never stored in the shared
//! tile cache, and sent with `Cache-Control: private, no-store` and
//! `Vary: Authorization`; each household tile with households in it is
//! written to the access log (token id, `/tiles/households`, feature count)
//! before it is sent.

use crate::auth::{Caller, OptionalCaller};
use crate::catalog::{Catalog, CatalogLayer};
use crate::clusters::HOUSEHOLDS_LAYER;
use crate::encoding::Encoding;
use crate::error::ApiError;
use crate::error::answers::{BadRequest, NotFound};
use crate::params::doc::TileCoordPath;
use crate::params::parse_coord;
use crate::render::{
    MVT_MIME, TileKey, TileScope, cached_tile, empty_status, etag_matches, negotiate,
    render_sources, tile_response,
};
use crate::routes::shared::{TileJson, base_url};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chaski_tiles::{RenderOptions, TileCoord, TileSource};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Endpoint name of household tiles in the access log.
pub const TILE_ENDPOINT: &str = "/tiles/households";

/// `Cache-Control` of every answer holding a private layer.
pub const PRIVATE_CACHE_CONTROL: &str = "private, no-store";

/// `Vary` of every answer holding a private layer.
pub const PRIVATE_VARY: &str = "Accept-Encoding, Authorization";

/// The private layers named in `spec` (and not in the public catalog) that
/// the caller may see, in request order. Empty for a public caller.
async fn resolve_private(
    state: &AppState,
    catalog: &Catalog,
    spec: &str,
    caller: &Caller,
) -> Result<Vec<(String, Arc<CatalogLayer>)>, ApiError> {
    let mut out: Vec<(String, Arc<CatalogLayer>)> = Vec::new();
    for name in spec.split(',').map(str::trim) {
        if catalog.layers.contains_key(name) || out.iter().any(|(n, _)| n == name) {
            continue;
        }
        if let Some(l) = state
            .private
            .layer(catalog.version, name, &caller.access)
            .await?
        {
            out.push((name.to_owned(), l));
        }
    }
    Ok(out)
}

/// Resolve `spec` against the public catalog and the caller's `private`
/// layers, in request order; unknown names give the catalog's 404.
fn resolve_mixed<'a>(
    catalog: &'a Catalog,
    spec: &str,
    private: &'a [(String, Arc<CatalogLayer>)],
) -> Result<Vec<(&'a str, &'a CatalogLayer)>, ApiError> {
    let mut out: Vec<(&'a str, &'a CatalogLayer)> = Vec::new();
    let mut unknown = Vec::new();
    for name in spec.split(',').map(str::trim) {
        if let Some((k, l)) = catalog.layers.get_key_value(name) {
            if !out.iter().any(|(n, _)| *n == k.as_str()) {
                out.push((k.as_str(), l));
            }
        } else if let Some((k, l)) = private.iter().find(|(n, _)| n == name) {
            if !out.iter().any(|(n, _)| *n == k.as_str()) {
                out.push((k.as_str(), l.as_ref()));
            }
        } else {
            unknown.push(name);
        }
    }
    if !unknown.is_empty() {
        // The catalog's own error (empty name: 400; unknown names: 404).
        catalog.resolve(&unknown.join(","))?;
    }
    Ok(out)
}

fn private_headers(h: &mut HeaderMap) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(PRIVATE_CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static(PRIVATE_VARY));
}

/// `GET /tiles/{spec}`: TileJSON when `spec` ends in `.json`.
#[utoipa::path(
    get,
    path = "/tiles/{layers}.json",
    tag = "tiles",
    summary = "TileJSON of layers",
    description = "TileJSON 3.0.0 of one or more layers of the catalog. With a token whose role may \
        see them, the private layers `households` and `clusters` too (answered \
        `Cache-Control: private, no-store`); for anyone else they are unknown layers.",
    params(("layers" = String, Path, description = "Layer names, comma-separated (see `/catalog`).", example = "communities,facilities")),
    responses(
        (status = 200, description = "TileJSON of the layers.", body = TileJson),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
    security((), ("bearer" = [])),
)]
pub async fn tilejson(
    State(state): State<AppState>,
    Path(spec): Path<String>,
    caller: OptionalCaller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(layers) = spec.strip_suffix(".json") else {
        return Err(ApiError::NotFound(format!(
            "'/tiles/{spec}' is neither a TileJSON (/tiles/LAYERS.json) nor a tile (/tiles/LAYERS/Z/X/Y.mvt)"
        )));
    };
    let catalog = state.catalog();
    let private = resolve_private(&state, &catalog, layers, &caller.0).await?;
    let resolved = resolve_mixed(&catalog, layers, &private)?;
    let mut res = Json(tilejson_for(
        &catalog,
        &resolved,
        &base_url(&state, &headers),
    ))
    .into_response();
    if !private.is_empty() {
        private_headers(res.headers_mut());
    }
    Ok(res)
}

/// TileJSON 3.0.0 for a set of layers.
pub fn tilejson_for(catalog: &Catalog, layers: &[(&str, &CatalogLayer)], base: &str) -> Value {
    let joined = layers.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(",");
    let tiles = format!(
        "{base}/tiles/{joined}/{{z}}/{{x}}/{{y}}.mvt?v={}",
        catalog.tiles_version
    );
    tilejson_at(layers, &joined, &tiles)
}

/// TileJSON 3.0.0 named `name` for `layers` served at the tile URL template
/// `tiles`: their fields, zoom range, bounds and centre.
pub fn tilejson_at(layers: &[(&str, &CatalogLayer)], name: &str, tiles: &str) -> Value {
    let minzoom = layers.iter().map(|(_, l)| l.minzoom).min().unwrap_or(0);
    let maxzoom = layers.iter().map(|(_, l)| l.maxzoom).max().unwrap_or(14);
    let bounds = crate::catalog::bounds_of(layers);
    let bounds = bounds.unwrap_or([-180.0, -85.051_128_78, 180.0, 85.051_128_78]);
    let center_zoom = crate::catalog::center_zoom(&bounds).clamp(minzoom, maxzoom);
    let vector_layers = crate::catalog::vector_layers(layers);
    json!({
        "tilejson": "3.0.0",
        "name": name,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [tiles],
        "vector_layers": vector_layers,
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [f64::midpoint(bounds[0], bounds[2]), f64::midpoint(bounds[1], bounds[3]), center_zoom],
        "attribution": "chaski",
    })
}

/// `GET /tiles/{layers}/{z}/{x}/{y}`.
#[utoipa::path(
    get,
    path = "/tiles/{layers}/{z}/{x}/{y}.mvt",
    tag = "tiles",
    summary = "A vector tile",
    description = "A Mapbox Vector Tile of the layers, gzip or brotli as `Accept-Encoding` allows, \
        with a strong `ETag` (`If-None-Match` gives 304). An empty tile is 204 (or 200 or 404, \
        as `chaski serve --empty-tile` says). Private layers as in the TileJSON.",
    params(
        ("layers" = String, Path, description = "Layer names, comma-separated (see `/catalog`).", example = "communities,facilities"),
        TileCoordPath,
        ("v" = Option<u64>, Query, description = "Data version of the URL (from the TileJSON): a versioned URL may be cached for long."),
    ),
    responses(
        (status = 200, description = "The tile.", content_type = "application/vnd.mapbox-vector-tile", body = [u8],
            headers(("ETag" = String, description = "Strong validator of this representation."))),
        (status = 204, description = "The tile is empty."),
        (status = 304, description = "The tile has the `ETag` of `If-None-Match`."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
    security((), ("bearer" = [])),
)]
pub async fn tile(
    State(state): State<AppState>,
    Path((layers, z, x, y)): Path<(String, String, String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
    caller: OptionalCaller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let coord = parse_coord(&z, &x, &y, state.config.max_zoom)?;
    // A URL of a newer data version than this server's catalog (another
    // replica's write, seen by the client first): catch up before answering,
    // so no newer URL is answered with older data.
    let asked = query.get("v").and_then(|v| v.parse::<u64>().ok());
    let catalog = state.catalog_at_least(asked.unwrap_or(0)).await?;
    let private = resolve_private(&state, &catalog, &layers, &caller.0).await?;
    if !private.is_empty() {
        return private_tile(
            &state, &catalog, &layers, &private, coord, &caller.0, &headers,
        )
        .await;
    }
    let resolved = catalog.resolve(&layers)?;
    let names: Arc<str> = resolved
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
        .into();
    let encoding = negotiate(&headers);
    let key = TileKey {
        scope: TileScope::Base,
        version: catalog.tiles_version,
        layers: names,
        z: coord.z(),
        x: coord.x(),
        y: coord.y(),
        encoding,
    };
    let spec = Arc::clone(&key.layers);
    let render_catalog = Arc::clone(&catalog);
    let cached = cached_tile(
        &state.cache,
        state.config.cache_mb != 0,
        key,
        move |coord| render_catalog.render(&spec, coord),
    )
    .await?;
    let versioned = query
        .get("v")
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|v| v == catalog.tiles_version);
    Ok(tile_response(
        &headers,
        &cached,
        encoding,
        state.tile_cache_control(versioned),
        state.config.empty_tile,
    ))
}

/// A tile source that remembers how many features its last tile layer held.
struct Counting {
    inner: Arc<dyn TileSource>,
    count: Arc<AtomicUsize>,
}

impl TileSource for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn fields(&self) -> &[chaski_core::value::Field] {
        self.inner.fields()
    }
    fn extra_fields(&self) -> &[(&'static str, &'static str)] {
        self.inner.extra_fields()
    }
    fn minzoom(&self) -> u8 {
        self.inner.minzoom()
    }
    fn maxzoom(&self) -> u8 {
        self.inner.maxzoom()
    }
    fn bounds(&self) -> Option<[f64; 4]> {
        self.inner.bounds()
    }
    fn geometry_type(&self) -> chaski_core::layer::GeometryType {
        self.inner.geometry_type()
    }
    fn feature_count(&self) -> usize {
        self.inner.feature_count()
    }
    fn layer_features(
        &self,
        coord: TileCoord,
        opts: &RenderOptions,
    ) -> Result<Option<chaski_tiles::TileLayer>, chaski_tiles::TileError> {
        let layer = self.inner.layer_features(coord, opts)?;
        self.count.store(
            layer
                .as_ref()
                .map_or(0, chaski_tiles::TileLayer::feature_count),
            Ordering::Relaxed,
        );
        Ok(layer)
    }
}

/// A tile holding a private layer: rendered for this caller alone, never
/// cached in the shared tile cache, logged when it holds households.
async fn private_tile(
    state: &AppState,
    catalog: &Catalog,
    spec: &str,
    private: &[(String, Arc<CatalogLayer>)],
    coord: TileCoord,
    caller: &Caller,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let resolved = resolve_mixed(catalog, spec, private)?;
    let households = Arc::new(AtomicUsize::new(0));
    let sources: Vec<Arc<dyn TileSource>> = resolved
        .iter()
        .map(|(name, l)| -> Arc<dyn TileSource> {
            let is_private = private.iter().any(|(n, _)| n == name);
            if is_private && *name == HOUSEHOLDS_LAYER {
                Arc::new(Counting {
                    inner: l.source.clone(),
                    count: households.clone(),
                })
            } else {
                l.source.clone()
            }
        })
        .collect();
    let body = tokio::task::spawn_blocking(move || {
        let refs: Vec<&dyn TileSource> = sources.iter().map(AsRef::as_ref).collect();
        render_sources(&refs, coord)
    })
    .await
    .map_err(ApiError::internal)??;
    let count = households.load(Ordering::Relaxed) as u64;
    let encoding = negotiate(headers);
    let etag = format!(
        "\"{:016x}{}\"",
        xxhash_rust::xxh3::xxh3_64(&body),
        if body.is_empty() {
            ""
        } else {
            encoding.etag_suffix()
        }
    );
    let mut out_headers = HeaderMap::with_capacity(6);
    out_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT_MIME));
    private_headers(&mut out_headers);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        out_headers.insert(header::ETAG, v);
    }
    if etag_matches(headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, out_headers).into_response());
    }
    if body.is_empty() {
        out_headers.remove(header::CONTENT_TYPE);
        return Ok((empty_status(state.config.empty_tile), out_headers).into_response());
    }
    let body = if encoding == Encoding::Identity {
        body
    } else {
        tokio::task::spawn_blocking(move || encoding.compress(&body))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
    };
    if let Some(enc) = encoding.header() {
        out_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    if count > 0 {
        // Log before answering: household points are household-level data.
        if let Some(tokens) = state.tokens.clone() {
            let who = caller.token_id().map(str::to_owned);
            tokio::task::spawn_blocking(move || {
                tokens.log_access(who.as_deref(), TILE_ENDPOINT, count)
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        }
        tracing::info!(
            token_id = caller.token_id().unwrap_or("-"),
            role = %caller.role(),
            endpoint = TILE_ENDPOINT,
            z = coord.z(),
            count,
            "household tile served"
        );
    }
    Ok((StatusCode::OK, out_headers, Bytes::from(body)).into_response())
}
