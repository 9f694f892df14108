//! `GET /styles/{name}.json`: MapLibre styles kept in the `styles/` folder, with
//! this server's URLs filled in.
//!
//! A template names one vector source whose `url` is `{{CHASKI_TILEJSON}}`; the
//! server replaces it with the TileJSON URL of the layers that the style's
//! layers use *and* the catalog serves (layers of absent source-layers are
//! dropped, so a style never points at a 404), and `{{CHASKI_URL}}` with the
//! server's base URL. The data version is part of the TileJSON's tile URLs, so
//! clients never show stale tiles after an import.

use crate::error::ApiError;
use crate::state::AppState;
use crate::tiles::base_url;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::Value;
use std::collections::BTreeSet;

/// Names of the styles in the styles folder.
pub fn style_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// `GET /styles/{name}`.
pub async fn style(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let name = file.strip_suffix(".json").unwrap_or(&file);
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::BadRequest(format!("invalid style name '{name}'")));
    }
    let path = state.config.styles_dir.join(format!("{name}.json"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Err(ApiError::NotFound(format!(
            "no style named '{name}' (available: {})",
            style_names(&state.config.styles_dir).join(", ")
        )));
    };
    let base = base_url(&state, &headers);
    let template: Value = serde_json::from_str(&text.replace("{{CHASKI_URL}}", &base))
        .map_err(|e| ApiError::internal(format!("style {}: {e}", path.display())))?;
    Ok(Json(fill_style(template, &state.catalog(), &base)))
}

/// Point the style's chaski source at the served layers it uses and drop
/// style layers whose source-layer is not served.
pub fn fill_style(mut style: Value, catalog: &crate::catalog::Catalog, base: &str) -> Value {
    let used: BTreeSet<String> = style["layers"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter_map(|l| l["source-layer"].as_str())
                .filter(|s| catalog.layers.contains_key(*s))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(layers) = style["layers"].as_array_mut() {
        layers.retain(|l| l["source-layer"].as_str().is_none_or(|s| used.contains(s)));
    }
    if style.get("center").is_none() {
        let mut b: Option<[f64; 4]> = None;
        for name in &used {
            if let Some(lb) = catalog.layers.get(name).and_then(|l| l.info.bounds) {
                b = Some(b.map_or(lb, |a| {
                    [
                        a[0].min(lb[0]),
                        a[1].min(lb[1]),
                        a[2].max(lb[2]),
                        a[3].max(lb[3]),
                    ]
                }));
            }
        }
        if let Some(b) = b {
            let span = (b[2] - b[0]).max((b[3] - b[1]) * 1.3).max(1e-4);
            let zoom = (360.0 / span).log2().clamp(0.0, 16.0).floor();
            style["center"] =
                serde_json::json!([f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3])]);
            style["zoom"] = Value::from(zoom);
        }
    }
    let joined = used.into_iter().collect::<Vec<_>>().join(",");
    if let Some(sources) = style["sources"].as_object_mut() {
        for src in sources.values_mut() {
            if src["url"].as_str() == Some("{{CHASKI_TILEJSON}}") {
                src["url"] = Value::from(format!(
                    "{base}/tiles/{joined}.json?v={}",
                    catalog.tiles_version
                ));
            }
        }
    }
    style
}
