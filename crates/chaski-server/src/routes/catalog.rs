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
use serde_json::{Value, json};

/// `GET /catalog`: every public layer with fields, geometry type, bounds, zoom range,
/// feature count and data version, plus the styles available.
pub async fn catalog(
    State(state): State<AppState>,
    caller: OptionalCaller,
    headers: HeaderMap,
) -> Json<Value> {
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
    let archives: Vec<Value> = state
        .archives
        .iter()
        .map(|(name, a)| {
            let (minzoom, maxzoom) = a.zooms();
            json!({
                "name": name,
                "minzoom": minzoom,
                "maxzoom": maxzoom,
                "bounds": a.bounds(),
                "tilejson": format!("{base}/archives/{name}.json"),
            })
        })
        .collect();
    Json(
        json!({ "version": cat.version, "layers": layers, "styles": styles, "archives": archives }),
    )
}
