//! `GET /`: the offline web viewer (MapLibre GL JS served by chaski itself, no CDN),
//! in Spanish with an English switch (the texts of both in `assets/i18n.js`).

use crate::error::ApiError;
use crate::error::answers::NotFound;
use crate::params::doc::{Words, path, words};
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
#[utoipa::path(
    get,
    path = "/",
    operation_id = "viewer",
    tag = "viewer",
    summary = "The web viewer",
    description = "The offline web viewer (MapLibre GL JS served by chaski, no CDN), in Spanish with an English switch.",
    responses((status = 200, description = "The viewer page.", content_type = "text/html", body = String)),
)]
pub async fn index() -> Response {
    asset_response(INDEX_HTML, "text/html; charset=utf-8", 0)
}

/// The viewer's static files: name, text, media type and seconds a client may keep it.
pub(crate) const FILES: [(&str, &str, &str, u32); 6] = [
    ("app.js", APP_JS, "text/javascript; charset=utf-8", 0),
    ("i18n.js", I18N_JS, "text/javascript; charset=utf-8", 0),
    ("app.css", APP_CSS, "text/css; charset=utf-8", 0),
    (
        "maplibre-gl.js",
        MAPLIBRE_JS,
        "text/javascript; charset=utf-8",
        86_400,
    ),
    (
        "maplibre-gl.css",
        MAPLIBRE_CSS,
        "text/css; charset=utf-8",
        86_400,
    ),
    (
        "maplibre-gl-LICENSE.txt",
        MAPLIBRE_LICENSE,
        "text/plain; charset=utf-8",
        86_400,
    ),
];

/// The names of [`FILES`], as the API description lists them.
pub(crate) const FILE_NAMES: [&str; 6] = [
    FILES[0].0, FILES[1].0, FILES[2].0, FILES[3].0, FILES[4].0, FILES[5].0,
];

/// The viewer's static files.
#[utoipa::path(
    get,
    path = "/viewer/{file}",
    operation_id = "viewer_file",
    tag = "viewer",
    summary = "A file of the web viewer",
    params(FilePath),
    responses(
        (status = 200, description = "The file.", content(
            (String = "text/javascript"),
            (String = "text/css"),
            (String = "text/plain"),
        )),
        (status = 404, response = NotFound),
    ),
)]
pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    match FILES.iter().find(|(name, ..)| *name == file) {
        Some(&(_, body, mime, max_age)) => Ok(asset_response(body, mime, max_age)),
        None => Err(ApiError::NotFound(format!("no viewer file '{file}'"))),
    }
}

/// The files of [`FILES`], as the API description lists them.
pub(crate) const FILE_WORDS: Words = Words {
    words: &FILE_NAMES,
    accepts: |w| FILES.iter().any(|(name, ..)| *name == w),
};

/// The `file` of `GET /viewer/{file}`.
pub(crate) struct FilePath;
impl utoipa::IntoParams for FilePath {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        vec![path(
            "file",
            "The file.",
            words(&FILE_WORDS),
            "app.js".into(),
        )]
    }
}
