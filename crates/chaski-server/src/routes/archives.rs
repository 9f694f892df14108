//! `GET /archives/{name}.json` (TileJSON 3.0.0) and
//! `GET /archives/{name}/{z}/{x}/{y}[.mvt|.pbf]`: the PMTiles archives given
//! to `chaski serve --pmtiles FILE`, served as tile sources.
//!
//! Per request: parse z/x/y (up to the archive's maximum zoom) → the cached
//! representation when there is one → else the tile read from the archive
//! (memory-mapped, directories cached) and decompressed → the one cached
//! render path of [`crate::render`] (archive scope): the same strong ETag of
//! the uncompressed tile, gzip or brotli negotiated and compressed once, 304
//! on `If-None-Match`, the configured status for an absent (empty) tile.
//!
//! An archive is not a [`chaski_tiles::TileSource`]: a source renders one
//! layer's features into a tile the server encodes, while an archive holds
//! whole encoded tiles (several layers each), read asynchronously. Decoding
//! them to re-encode would cost time and could change their bytes, so an
//! archive is served as it is, through the same cache and answer path.

use crate::error::ApiError;
use crate::error::answers::{BadRequest, NotFound};
use crate::params::doc::TileCoordPath;
use crate::params::parse_coord;
use crate::render::{TileKey, TileScope, cached_tile, negotiate, tile_response};
use crate::routes::shared::{TileJson, base_url};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chaski_io::tilepack::PmtilesArchive;
use serde_json::{Value, json};
use std::sync::Arc;

fn archive<'a>(state: &'a AppState, name: &str) -> Result<&'a Arc<PmtilesArchive>, ApiError> {
    state.archives.get(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no archive '{name}': see /catalog for the archives served"
        ))
    })
}

/// TileJSON 3.0.0 of archive `name`, from its header and metadata.
pub fn tilejson_for(name: &str, a: &PmtilesArchive, base: &str) -> Value {
    let meta: Value = serde_json::from_str(a.metadata()).unwrap_or_else(|_| json!({}));
    let (minzoom, maxzoom) = a.zooms();
    let (lon, lat, zoom) = a.center();
    json!({
        "tilejson": "3.0.0",
        "name": meta.get("name").cloned().unwrap_or_else(|| Value::from(name)),
        "description": meta.get("description").cloned().unwrap_or(Value::Null),
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [format!("{base}/archives/{name}/{{z}}/{{x}}/{{y}}.mvt")],
        "vector_layers": meta.get("vector_layers").cloned().unwrap_or_else(|| json!([])),
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": a.bounds(),
        "center": [lon, lat, zoom],
        "attribution": meta.get("attribution").cloned().unwrap_or_else(|| Value::from("chaski")),
    })
}

/// `GET /archives/{spec}`: TileJSON when `spec` is `NAME.json`.
#[utoipa::path(
    get,
    path = "/archives/{name}.json",
    operation_id = "archive_tilejson",
    tag = "tiles",
    summary = "TileJSON of a PMTiles archive",
    description = "TileJSON 3.0.0 of a PMTiles archive given to `chaski serve --pmtiles` (see `/catalog`).",
    params(("name" = String, Path, description = "Archive name.", example = "demo")),
    responses(
        (status = 200, description = "TileJSON of the archive.", body = TileJson),
        (status = 404, response = NotFound),
    ),
)]
pub async fn tilejson(
    State(state): State<AppState>,
    Path(spec): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(name) = spec.strip_suffix(".json") else {
        return Err(ApiError::NotFound(format!(
            "'/archives/{spec}' is neither a TileJSON (/archives/NAME.json) nor a tile (/archives/NAME/Z/X/Y.mvt)"
        )));
    };
    let a = archive(&state, name)?;
    Ok(Json(tilejson_for(name, a, &base_url(&state, &headers))).into_response())
}

/// `GET /archives/{name}/{z}/{x}/{y}`.
#[utoipa::path(
    get,
    path = "/archives/{name}/{z}/{x}/{y}.mvt",
    operation_id = "archive_tile",
    tag = "tiles",
    summary = "A tile of a PMTiles archive",
    description = "A tile of the archive as it is stored, gzip or brotli as `Accept-Encoding` allows, \
        with a strong `ETag`; an absent tile is answered as an empty one.",
    params(
        ("name" = String, Path, description = "Archive name.", example = "demo"),
        TileCoordPath,
    ),
    responses(
        (status = 200, description = "The tile.", content_type = "application/vnd.mapbox-vector-tile", body = [u8]),
        (status = 204, description = "The tile is empty or absent."),
        (status = 304, description = "The tile has the `ETag` of `If-None-Match`."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
pub async fn tile(
    State(state): State<AppState>,
    Path((name, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let a = Arc::clone(archive(&state, &name)?);
    let coord = parse_coord(&z, &x, &y, a.zooms().1)?;
    let encoding = negotiate(&headers);
    let key = TileKey {
        scope: TileScope::Archive(Arc::from(name.as_str())),
        version: 0,
        layers: Arc::from(name.as_str()),
        z: coord.z(),
        x: coord.x(),
        y: coord.y(),
        encoding,
    };
    let caching = state.config.cache_mb != 0;
    let cached = if let Some(hit) = state.cache.get(&key).await.filter(|_| caching) {
        hit
    } else {
        let raw = a
            .tile(coord)
            .await
            .map_err(ApiError::internal)?
            .unwrap_or_default();
        cached_tile(&state.cache, caching, key, move |_| Ok(raw)).await?
    };
    Ok(tile_response(
        &headers,
        &cached,
        encoding,
        state.tile_cache_control(false),
        state.config.empty_tile,
    ))
}
