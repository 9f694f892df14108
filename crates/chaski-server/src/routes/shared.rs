//! What several route families answer alike: the server's base URL, JSON
//! written from bytes, and the filter echo and page of list answers.

use crate::params::ListParams;
use crate::state::AppState;
use crate::travel::DistrictRef;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chaski_analysis::travel::Facility;
use serde::Serialize;
use serde_json::{Value, json};

/// The base URL clients reach this server at: the configured public URL,
/// else `X-Forwarded-Proto` (default `http`) and `Host`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    format!("{proto}://{host}")
}

/// A JSON answer from bytes serialized already (no intermediate `Value`).
pub(crate) fn json_bytes(body: Vec<u8>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A facility as answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FacilityRef {
    /// RENIPRESS code.
    pub code: String,
    /// Name.
    pub name: String,
    /// MINSA category (`I-1` to `III-E`).
    pub category: String,
}

/// A GeoJSON LineString.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineStringGeometry {
    /// `LineString`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Longitude, latitude of each vertex.
    pub coordinates: Vec<[f64; 2]>,
}

/// A facility as answered: code, name and category.
pub(crate) fn facility_json(f: &Facility) -> Value {
    json!({ "code": f.code, "name": f.name, "category": f.category })
}

/// The filter of a list answer, as it is echoed back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FilterEcho {
    /// min lon, min lat, max lon, max lat.
    pub(crate) bbox: Option<[f64; 4]>,
    /// The district chosen.
    pub(crate) district: Option<DistrictRef>,
}

impl FilterEcho {
    /// The echo of `list` with the district it chose.
    pub(crate) fn new(list: &ListParams, district: Option<DistrictRef>) -> Self {
        Self {
            bbox: list.bbox,
            district,
        }
    }
}

/// Where a page of a list answer is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page {
    /// Items skipped before this page.
    pub(crate) offset: usize,
    /// Most items of a page.
    pub(crate) limit: usize,
    /// Items on this page.
    pub(crate) returned: usize,
    /// Items of the whole list (for the filter).
    pub(crate) total: usize,
}

/// TileJSON 3.0.0 of a set of layers (`GET /tiles/{layers}.json`,
/// `GET /whatif/{id}/tiles/{layers}.json`, `GET /archives/{name}.json`), as
/// the API description shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(title = "TileJSON")]
pub struct TileJson {
    /// Always `3.0.0`.
    pub tilejson: String,
    /// Name of the tile set.
    pub name: Value,
    /// Version of the tile set.
    pub version: String,
    /// Always `xyz`.
    pub scheme: String,
    /// The tile URL template (`{z}/{x}/{y}.mvt`).
    pub tiles: Vec<String>,
    /// The layers in the tiles: `id`, `fields` (name to type), zoom range.
    pub vector_layers: Vec<Value>,
    /// Lowest zoom.
    #[schema(minimum = 0, maximum = 30)]
    pub minzoom: u8,
    /// Highest zoom.
    #[schema(minimum = 0, maximum = 30)]
    pub maxzoom: u8,
    /// west, south, east, north (degrees).
    pub bounds: [f64; 4],
    /// longitude, latitude, zoom.
    pub center: [f64; 3],
    /// Attribution.
    pub attribution: Value,
}
