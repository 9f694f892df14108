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

/// A facility as answered: code, name and category.
pub(crate) fn facility_json(f: &Facility) -> Value {
    json!({ "code": f.code, "name": f.name, "category": f.category })
}

/// The filter of a list answer, as it is echoed back.
#[derive(Debug, Serialize)]
pub(crate) struct FilterEcho {
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
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    /// Items skipped before this page.
    pub(crate) offset: usize,
    /// Most items of a page.
    pub(crate) limit: usize,
    /// Items on this page.
    pub(crate) returned: usize,
    /// Items of the whole list (for the filter).
    pub(crate) total: usize,
}
