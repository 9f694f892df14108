//! `GET /styles/{name}.json`: MapLibre styles with this server's URLs filled in.
//!
//! The styles of the repository's `styles/` folder are built into the binary
//! ([`EMBEDDED`]), so `chaski serve` started from any folder serves them; a
//! folder given with `--styles` ([`crate::ServerConfig::styles_dir`]) replaces
//! them.
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
use std::borrow::Cow;
use std::collections::BTreeSet;

/// The styles built into the binary, by name: every file of the repository's
/// `styles/` folder (a unit test checks that none is missing).
pub const EMBEDDED: &[(&str, &str)] = &[("default", include_str!("../../../styles/default.json"))];

/// Where styles come from: the built-in ones when `dir` is empty (the default
/// of [`crate::ServerConfig::styles_dir`]), else the `*.json` files of `dir`.
fn embedded(dir: &std::path::Path) -> bool {
    dir.as_os_str().is_empty()
}

/// Names of the styles served with the styles folder `dir` (empty: the
/// built-in styles), sorted.
pub fn style_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = if embedded(dir) {
        EMBEDDED.iter().map(|(n, _)| (*n).to_owned()).collect()
    } else {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_file())
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".json"))
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
            })
            .collect()
    };
    names.sort();
    names
}

/// Check a styles folder given by the operator (`chaski serve --styles DIR`)
/// before serving: it must exist and hold at least one `*.json` style.
/// Returns the style names.
///
/// # Errors
/// A message naming the folder when it is missing, not a folder, or holds no style.
pub fn check_dir(dir: &std::path::Path) -> Result<Vec<String>, String> {
    let shown = dir.display();
    if !dir.is_dir() {
        return Err(if dir.exists() {
            format!("the styles folder {shown} is not a folder")
        } else {
            format!("the styles folder {shown} does not exist")
        });
    }
    if let Err(e) = std::fs::read_dir(dir) {
        return Err(format!("cannot read the styles folder {shown}: {e}"));
    }
    let names = style_names(dir);
    if names.is_empty() {
        return Err(format!(
            "the styles folder {shown} holds no style (NAME.json); leave out --styles to serve \
             the built-in styles"
        ));
    }
    Ok(names)
}

/// The template of style `name` and where it came from (for error messages),
/// or `None` when there is no such style.
fn template(dir: &std::path::Path, name: &str) -> Option<(Cow<'static, str>, String)> {
    if embedded(dir) {
        EMBEDDED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| (Cow::Borrowed(*text), format!("built-in style {n}")))
    } else {
        let path = dir.join(format!("{name}.json"));
        std::fs::read_to_string(&path)
            .ok()
            .map(|text| (Cow::Owned(text), path.display().to_string()))
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
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

    fn repo_styles() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../styles")
    }

    /// Every style of the repository's `styles/` folder is built in, unchanged.
    #[test]
    fn every_style_of_the_folder_is_built_in() {
        let names = style_names(&repo_styles());
        assert!(names.contains(&"default".to_owned()), "{names:?}");
        assert_eq!(style_names(std::path::Path::new("")), names);
        for name in &names {
            let file = std::fs::read_to_string(repo_styles().join(format!("{name}.json"))).unwrap();
            let (text, _) = template(std::path::Path::new(""), name)
                .unwrap_or_else(|| panic!("styles/{name}.json is not in styles::EMBEDDED"));
            assert_eq!(
                text, file,
                "the built-in {name} differs from styles/{name}.json"
            );
            let _: Value = serde_json::from_str(&file).unwrap();
        }
    }

    #[test]
    fn a_styles_folder_must_exist_and_hold_styles() {
        let dir = std::env::temp_dir().join(format!("chaski-styles-test-{}", std::process::id()));
        let missing = dir.join("nope");
        let e = check_dir(&missing).unwrap_err();
        assert!(e.contains("does not exist") && e.contains("nope"), "{e}");
        std::fs::create_dir_all(&dir).unwrap();
        let e = check_dir(&dir).unwrap_err();
        assert!(
            e.contains("holds no style") && e.contains(&dir.display().to_string()),
            "{e}"
        );
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        assert!(check_dir(&dir).is_err());
        std::fs::write(dir.join("mine.json"), "{}").unwrap();
        assert_eq!(check_dir(&dir).unwrap(), ["mine"]);
        let e = check_dir(&dir.join("mine.json")).unwrap_err();
        assert!(e.contains("not a folder"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
