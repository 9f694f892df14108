//! `GET /catalog`: every public layer (fields, geometry type, bounds, zoom
//! range, feature count, data version, TileJSON URL) and the styles served;
//! with a token, also the private layers its role may see.

use crate::auth::OptionalCaller;
use crate::catalog::{LayerEntry, entry};
use crate::routes::shared::base_url;
use crate::state::AppState;
use crate::styles::style_names;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The answer of `GET /catalog`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CatalogAnswer<'a> {
    /// The store's data version the catalog was built from.
    pub version: u64,
    /// The layers served as tiles (private ones only for tokens that may see them).
    pub layers: Vec<LayerEntry<'a>>,
    /// URLs of the MapLibre styles served.
    pub styles: Vec<String>,
    /// The PMTiles archives served (`chaski serve --pmtiles`).
    pub archives: Vec<ArchiveEntry>,
    /// The indicators' choropleth tiles (`/tiles/indicators`) the caller may
    /// ask for, one TileJSON each (the design's endline; `round=` for another).
    pub indicators: Vec<IndicatorEntry>,
}

/// An indicator's choropleth tiles in `GET /catalog`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IndicatorEntry {
    /// Indicator id (`indicator=` of the tiles).
    pub id: String,
    /// English label.
    pub label: String,
    /// Spanish label.
    pub label_es: String,
    /// URL of its TileJSON for the endline round.
    pub tilejson: String,
}

/// A PMTiles archive in `GET /catalog`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArchiveEntry {
    /// Name of the archive (the id in its URLs).
    pub name: String,
    /// Lowest zoom.
    pub minzoom: u8,
    /// Highest zoom.
    pub maxzoom: u8,
    /// west, south, east, north (degrees).
    pub bounds: [f64; 4],
    /// URL of its TileJSON.
    pub tilejson: String,
}

/// `GET /catalog`: every public layer with fields, geometry type, bounds, zoom range,
/// feature count and data version, plus the styles available.
#[utoipa::path(
    get,
    path = "/catalog",
    tag = "catalog",
    summary = "Layers, styles and archives served",
    description = "Every public layer (fields, geometry type, bounds, zoom range, feature count, \
        data version, TileJSON URL), the styles and the PMTiles archives; with a token, also \
        the private layers its role may see. A wrong token is served as no token.",
    responses((status = 200, description = "The catalog.", body = CatalogAnswer)),
    security((), ("bearer" = [])),
)]
pub async fn catalog(
    State(state): State<AppState>,
    caller: OptionalCaller,
    headers: HeaderMap,
) -> Response {
    let cat = state.catalog();
    let base = base_url(&state, &headers);
    // Private layers (households, clusters) only for tokens whose role may see them.
    let private = state.private.layers(cat.version, &caller.0.access).await;
    let mut layers: Vec<LayerEntry<'_>> = cat
        .layers
        .iter()
        .map(|(name, l)| entry(name, l, &base))
        .collect();
    layers.extend(private.iter().map(|(n, l)| entry(n, l, &base)));
    let styles: Vec<String> = style_names(&state.config.styles_dir)
        .into_iter()
        .map(|s| format!("{base}/styles/{s}.json"))
        .collect();
    let archives: Vec<ArchiveEntry> = state
        .archives
        .iter()
        .map(|(name, a)| {
            let (minzoom, maxzoom) = a.zooms();
            ArchiveEntry {
                name: name.clone(),
                minzoom,
                maxzoom,
                bounds: a.bounds(),
                tilejson: format!("{base}/archives/{name}.json"),
            }
        })
        .collect();
    // A broken indicator file is the API's 500; the catalog lists none then.
    let indicators = crate::routes::monitoring::indicators(&state)
        .map(|ind| {
            let round = ind.design.endline;
            ind.list
                .into_iter()
                .filter(|i| caller.0.access.violence || !i.reads_violence())
                .map(|i| IndicatorEntry {
                    tilejson: format!(
                        "{base}/tiles/indicators.json?indicator={}&round={round}",
                        i.id
                    ),
                    id: i.id,
                    label: i.label,
                    label_es: i.label_es,
                })
                .collect()
        })
        .unwrap_or_default();
    Json(CatalogAnswer {
        version: cat.version,
        layers,
        styles,
        archives,
        indicators,
    })
    .into_response()
}
