//! `GET /`: the offline web viewer (MapLibre GL JS served by chaski itself, no CDN),
//! in Spanish with an English switch (the texts of both in `assets/i18n.js`).

use crate::error::ApiError;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("../../assets/index.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const I18N_JS: &str = include_str!("../../assets/i18n.js");
const APP_CSS: &str = include_str!("../../assets/app.css");
const MAPLIBRE_JS: &str = include_str!("../../assets/vendor/maplibre-gl.js");
const MAPLIBRE_CSS: &str = include_str!("../../assets/vendor/maplibre-gl.css");
const MAPLIBRE_LICENSE: &str = include_str!("../../assets/vendor/LICENSE.txt");

fn asset_response(body: &'static str, mime: &'static str, max_age: u32) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_str(&format!("public, max-age={max_age}"))
                    .unwrap_or(HeaderValue::from_static("no-cache")),
            ),
        ],
        body,
    )
        .into_response()
}

/// The viewer page.
pub async fn index() -> Response {
    asset_response(INDEX_HTML, "text/html; charset=utf-8", 0)
}

/// The viewer's static files.
pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    Ok(match file.as_str() {
        "app.js" => asset_response(APP_JS, "text/javascript; charset=utf-8", 0),
        "i18n.js" => asset_response(I18N_JS, "text/javascript; charset=utf-8", 0),
        "app.css" => asset_response(APP_CSS, "text/css; charset=utf-8", 0),
        "maplibre-gl.js" => asset_response(MAPLIBRE_JS, "text/javascript; charset=utf-8", 86_400),
        "maplibre-gl.css" => asset_response(MAPLIBRE_CSS, "text/css; charset=utf-8", 86_400),
        "maplibre-gl-LICENSE.txt" => {
            asset_response(MAPLIBRE_LICENSE, "text/plain; charset=utf-8", 86_400)
        }
        other => return Err(ApiError::NotFound(format!("no viewer file '{other}'"))),
    })
}
