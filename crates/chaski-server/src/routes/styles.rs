//! `GET /styles/{name}.json`: a MapLibre style of [`crate::styles`] with this
//! server's URLs filled in.

use crate::error::ApiError;
use crate::error::answers::{BadRequest, NotFound};
use crate::routes::shared::base_url;
use crate::state::AppState;
use crate::styles::{fill_style, style_names, template};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde_json::Value;

/// `GET /styles/{name}`.
#[utoipa::path(
    get,
    path = "/styles/{name}.json",
    operation_id = "style",
    tag = "catalog",
    summary = "A MapLibre style",
    description = "A MapLibre style (built in, or from `chaski serve --styles DIR`) with this server's \
        tile and TileJSON URLs filled in; `/catalog` lists the styles.",
    params(("name" = String, Path, description = "Style name: letters, digits, `-` and `_`.", example = "default")),
    responses(
        (status = 200, description = "The style (MapLibre style specification, version 8).", body = StyleDoc),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
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
    let dir = &state.config.styles_dir;
    let Some((text, origin)) = template(dir, name) else {
        return Err(ApiError::NotFound(format!(
            "no style named '{name}' (available: {})",
            style_names(dir).join(", ")
        )));
    };
    let base = base_url(&state, &headers);
    let template: Value = serde_json::from_str(&text.replace("{{CHASKI_URL}}", &base))
        .map_err(|e| ApiError::internal(format!("style {origin}: {e}")))?;
    Ok(Json(fill_style(template, &state.catalog(), &base)))
}

/// A MapLibre style as the API description shows it (the style itself is
/// the template's JSON with this server's URLs).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Style)]
#[schema(title = "MapLibre style")]
pub struct StyleDoc {
    /// Always 8.
    pub version: u8,
    /// Name of the style.
    pub name: Option<String>,
    /// The sources, by id.
    pub sources: std::collections::BTreeMap<String, Value>,
    /// The layers drawn, in order.
    pub layers: Vec<Value>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::styles::EMBEDDED;
    use crate::{ServerConfig, app};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use chaski_core::Layer;
    use chaski_core::layer::{Feature, LayerKind};
    use chaski_core::store::memory::MemoryStore;
    use chaski_core::store::{Store as _, WriteMode};
    use chaski_core::value::{Field, FieldType, Value as CoreValue};
    use http_body_util::BodyExt;
    use std::sync::Arc;
    use tower::ServiceExt;

    async fn get(state: &AppState, uri: &str) -> (StatusCode, Vec<u8>) {
        let res = app(state.clone())
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        (
            status,
            res.into_body().collect().await.unwrap().to_bytes().to_vec(),
        )
    }

    /// With no styles folder configured (the default), the built-in styles are
    /// served and listed, whatever the working folder (tests run in the crate's
    /// folder, which has no `styles/`).
    #[tokio::test]
    async fn built_in_styles_are_served_without_a_styles_folder() {
        assert!(!std::path::Path::new("styles/default.json").exists());
        let store = MemoryStore::new();
        let mut paths = Layer::new("paths", LayerKind::Paths);
        paths.fields = vec![Field::new("class", FieldType::Text)];
        paths.features.push(Feature {
            fid: 1,
            geometry: geo::Geometry::LineString(geo::LineString::from(vec![
                (-74.12, -12.93),
                (-74.10, -12.91),
            ])),
            values: vec![CoreValue::Text("footpath".into())],
        });
        store.write_layer(&paths, WriteMode::Replace).unwrap();
        let config = ServerConfig::default();
        assert!(config.styles_dir.as_os_str().is_empty());
        let state = AppState::new(Arc::new(store), config).unwrap();

        let (status, body) = get(&state, "/styles/default.json").await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let style: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(style["version"], 8);
        let url = style["sources"]["chaski"]["url"].as_str().unwrap();
        assert!(url.contains("/tiles/paths.json?v="), "{url}");
        let (status, body) = get(&state, "/catalog").await;
        assert_eq!(status, StatusCode::OK);
        let catalog: Value = serde_json::from_slice(&body).unwrap();
        let styles: Vec<&str> = catalog["styles"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            styles.len() == EMBEDDED.len()
                && styles.iter().any(|s| s.ends_with("/styles/default.json")),
            "{styles:?}"
        );
        let (status, body) = get(&state, "/styles/nope.json").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(String::from_utf8_lossy(&body).contains("available: default"));
        for uri in ["/", "/viewer/app.js", "/viewer/i18n.js", "/viewer/app.css"] {
            let (status, body) = get(&state, uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            assert!(!body.is_empty(), "{uri}");
        }
    }

    /// A folder given with `--styles` replaces the built-in styles.
    #[tokio::test]
    async fn a_styles_folder_replaces_the_built_in_styles() {
        let dir = std::env::temp_dir().join(format!("chaski-styles-own-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("mine.json"),
            r#"{"version": 8, "name": "mine", "sources": {}, "layers": []}"#,
        )
        .unwrap();
        let config = ServerConfig {
            styles_dir: dir.clone(),
            ..ServerConfig::default()
        };
        let state = AppState::new(Arc::new(MemoryStore::new()), config).unwrap();
        let (status, body) = get(&state, "/styles/mine.json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            serde_json::from_slice::<Value>(&body).unwrap()["name"],
            "mine"
        );
        assert_eq!(
            get(&state, "/styles/default.json").await.0,
            StatusCode::NOT_FOUND
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
