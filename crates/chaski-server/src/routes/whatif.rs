//! What-if edits: a bridge, a path or a facility that does not exist yet (or a
//! facility closed), with the travel times, allocation and catchments they
//! would give, at once and as tiles.
//!
//! - `POST /api/whatif[?scenario=][&category=][&birth_care=][&direction=]` with a
//!   GeoJSON FeatureCollection of edits (see [`crate::edits`]) answers 201 with the
//!   what-if's `id`, the villages whose time or facility changes, the
//!   population within 60, 120 and 240 minutes before and after, and the
//!   URLs of its tiles. `scenario` (alias `preset`), `category`, `birth_care`
//!   and `direction` are as in `GET /api/accessibility`, as query parameters
//!   or as members of the FeatureCollection.
//! - `GET /api/whatif/{id}`: the same summary; `DELETE /api/whatif/{id}`: 204.
//! - `GET /whatif/{id}/tiles/{layers}.json` (TileJSON) and
//!   `GET /whatif/{id}/tiles/{layers}/{z}/{x}/{y}[.mvt|.pbf]`: the what-if's
//!   `travel_time` bands and `catchments` (as the base layers of the same
//!   names), and `whatif_edits` (the edits); any other catalog layer name
//!   (e.g. `communities`) is served from the base catalog, so one URL can mix
//!   them. Tiles go through the one cached render of [`crate::render`], under
//!   keys of the what-if's scope.
//! - `GET /api/accessibility?lon=&lat=&whatif={id}`: minutes and route with the edits.
//!
//! The store is never modified: edits apply to a copy of the prepared inputs.
//! When every edit makes travel cheaper (bridges, paths, new facilities) or
//! removes facilities, only the cells whose time changes are searched again
//! (see [`chaski_analysis::travel::cost::update_travel_time`]), which gives the same
//! times as a full search; otherwise the whole grid is searched again. The
//! CPU work runs on the blocking pool.
//!
//! Malformed edits are 400s naming the feature index and field; edits that
//! cannot apply are 422s (a vertex off the DEM, a bridge over no river, an
//! unknown facility code); a body over [`crate::edits::MAX_BODY_BYTES`] is a 413.
//! What-ifs are kept in memory ([`crate::whatifs`]).

use crate::analysis_layers::layers_of;
use crate::edits::WhatIfBody;
use crate::edits::{EDITS_LAYER, MAX_BODY_BYTES, edits_layer, parse_body};
use crate::error::ApiError;
use crate::error::answers::{
    BadRequest, NotFound, PayloadTooLarge, TooManyRequests, Unprocessable,
};
use crate::params::doc::{ListQuery, TileCoordPath, WhatIfRunQuery};
use crate::params::{
    LIST_PARAMS, ListParams, Params, WHATIF_RUN_QUERY, page_url, parse_coord, whatif_run_params,
};
use crate::render::{TileKey, TileScope, cached_tile, negotiate, tile_response};
use crate::routes::shared::{
    FacilityRef, FilterEcho, Page, TileJson, base_url, facility_json, json_bytes,
};
use crate::state::AppState;
use crate::whatifs::{ChangedVillage, Resolved, WhatIf, WhatIfLayer};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chaski_analysis::travel::village_access::AccessStatus;
use chaski_analysis::travel::{Edit, PlaceFilter, Recompute, TravelResult};
use chaski_core::layer::LayerKind;
use chaski_core::value::{Field, FieldType};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Thresholds of the population summary, in minutes.
pub const POPULATION_MINUTES: [f64; 3] = [60.0, 120.0, 240.0];

type ApiResult<T> = Result<T, ApiError>;

/// Villages whose time or facility differs, most improved first.
fn villages_changed(base: &TravelResult, after: &TravelResult) -> Vec<ChangedVillage> {
    let mut out: Vec<(f64, ChangedVillage)> = Vec::new();
    for (i, (a, b)) in base.access.iter().zip(&after.access).enumerate() {
        let fa = a.source.and_then(|s| base.sources.get(s)).map(|f| &f.code);
        let fb = b.source.and_then(|s| after.sources.get(s)).map(|f| &f.code);
        let same_time = match (a.minutes, b.minutes) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.max(1.0),
            (None, None) => true,
            _ => false,
        };
        if same_time && fa == fb {
            continue;
        }
        let gain = match (a.minutes, b.minutes) {
            (Some(x), Some(y)) => x - y,
            (None, Some(_)) => f64::INFINITY,
            (Some(_), None) => f64::NEG_INFINITY,
            (None, None) => 0.0,
        };
        out.push((
            gain,
            ChangedVillage {
                place: i,
                before_min: a.minutes,
                after_min: b.minutes,
                facility_before: fa.cloned(),
                facility_after: fb.cloned(),
            },
        ));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, v)| v).collect()
}

/// A changed village as answered, borrowing from the what-if.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ChangedVillage)]
pub struct ChangedJson<'a> {
    code: &'a str,
    name: &'a str,
    population: Option<u64>,
    lon: f64,
    lat: f64,
    before_min: Option<f64>,
    after_min: Option<f64>,
    facility_before: Option<&'a str>,
    facility_after: Option<&'a str>,
}

/// A what-if's answer: its summary, URLs and a page of the villages that
/// change among those `filter` selects.
#[derive(Debug, Serialize)]
struct WhatIfAnswer<'a> {
    #[serde(flatten)]
    summary: &'a serde_json::Map<String, Value>,
    #[serde(flatten)]
    urls: serde_json::Map<String, Value>,
    filter: FilterEcho,
    /// Villages that change in the filter (all pages).
    villages_changed_count: usize,
    villages_changed_page: Page,
    next: Option<String>,
    villages_changed: Vec<ChangedJson<'a>>,
}

/// Population within a time before and after the edits.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PopulationWithin {
    /// Minutes.
    pub minutes: f64,
    /// Known population within them before the edits (null: none known).
    pub before: Option<u64>,
    /// And after.
    pub after: Option<u64>,
}

/// The answer of `POST /api/whatif` and `GET /api/whatif/{id}`, as the API
/// description shows it (its summary is built as JSON when it is computed).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WhatIfAnswer)]
pub struct WhatIfAnswerDoc<'a> {
    /// Id of the what-if.
    pub id: String,
    /// The store's data version it was computed on.
    pub version: u64,
    /// Name of the scenario.
    pub scenario: String,
    /// `to the facility` or `from the facility`.
    pub direction: String,
    /// The facilities searched from, in words.
    pub sources: String,
    /// Facilities before the edits.
    pub facilities_before: usize,
    /// Facilities after the edits.
    pub facilities_after: usize,
    /// The facilities the edits add.
    pub facilities_added: Vec<FacilityRef>,
    /// `incremental` (only the cells whose time changes searched again) or `full`.
    pub recompute: String,
    /// Cells searched again (incremental only).
    pub changed_cells: Option<u64>,
    /// Milliseconds of the search.
    pub search_ms: f64,
    /// Milliseconds of the computation.
    pub elapsed_ms: f64,
    /// Milliseconds of the request that made it.
    pub total_ms: f64,
    /// Milliseconds until the base search was ready.
    pub base_ready_ms: f64,
    /// Each edit: `index`, `edit`, `class`, `code`, `name`, `cells`, `river_cells`, `removed`.
    pub edits: Vec<Value>,
    /// Known population within 60, 120 and 240 minutes before and after.
    pub population_within: Vec<PopulationWithin>,
    /// Villages whose population is unknown.
    pub population_unknown: usize,
    /// URL of the TileJSON of its layers.
    pub tilejson: String,
    /// URL template of its tiles.
    pub tiles: String,
    /// URL of this summary.
    pub summary: String,
    /// The filter of `villages_changed`.
    pub filter: FilterEcho,
    /// Villages that change in the filter (all pages).
    pub villages_changed_count: usize,
    /// The page of `villages_changed`.
    pub villages_changed_page: Page,
    /// URL of the next page.
    pub next: Option<String>,
    /// Villages whose time or facility changes, most improved first.
    pub villages_changed: Vec<ChangedJson<'a>>,
}

/// The answer of `POST /api/whatif` and `GET /api/whatif/{id}`, serialized.
fn answer_body(
    w: &WhatIf,
    base: &str,
    list: &ListParams,
    filter: &PlaceFilter,
    echo: FilterEcho,
    pairs: &[(String, String)],
) -> ApiResult<Vec<u8>> {
    let places = &w.result.places;
    let selected: Vec<&ChangedVillage> = w
        .changed
        .iter()
        .filter(|c| {
            places
                .get(c.place)
                .is_some_and(|p| filter.accepts(p.lonlat))
        })
        .collect();
    let total = selected.len();
    let page: Vec<ChangedJson<'_>> = selected
        .iter()
        .enumerate()
        .filter(|(k, _)| list.on_page(*k))
        .filter_map(|(_, c)| {
            let p = places.get(c.place)?;
            Some(ChangedJson {
                code: &p.village.code,
                name: &p.village.name,
                population: p.village.population,
                lon: p.lonlat.0,
                lat: p.lonlat.1,
                before_min: c.before_min,
                after_min: c.after_min,
                facility_before: c.facility_before.as_deref(),
                facility_after: c.facility_after.as_deref(),
            })
        })
        .collect();
    let empty = serde_json::Map::new();
    let urls = match urls(base, &w.id) {
        Value::Object(u) => u,
        _ => serde_json::Map::new(),
    };
    let answer = WhatIfAnswer {
        summary: w.summary.as_object().unwrap_or(&empty),
        urls,
        filter: echo,
        villages_changed_count: total,
        villages_changed_page: Page {
            offset: list.offset,
            limit: list.limit,
            returned: page.len(),
            total,
        },
        next: list
            .next_offset(total)
            .map(|o| page_url(base, &format!("/api/whatif/{}", w.id), pairs, o)),
        villages_changed: page,
    };
    serde_json::to_vec(&answer).map_err(ApiError::internal)
}

/// Known population of the villages within `minutes`: `None` when no
/// village of the result has a known population (unknown is not zero).
fn population_within(r: &TravelResult, minutes: f64) -> Option<u64> {
    r.places
        .iter()
        .zip(&r.access)
        .filter(|(_, a)| {
            a.status == AccessStatus::Reached && a.minutes.is_some_and(|m| m <= minutes)
        })
        .filter_map(|(p, _)| p.village.population)
        .fold(None, |acc, p| Some(acc.unwrap_or(0) + p))
        .or_else(|| {
            r.places
                .iter()
                .any(|p| p.village.population.is_some())
                .then_some(0)
        })
}

/// URLs of a what-if's tiles.
fn urls(base: &str, id: &str) -> Value {
    let layers = format!("travel_time,catchments,{EDITS_LAYER}");
    json!({
        "tilejson": format!("{base}/whatif/{id}/tiles/{layers}.json"),
        "tiles": format!("{base}/whatif/{id}/tiles/{layers}/{{z}}/{{x}}/{{y}}.mvt"),
        "summary": format!("{base}/api/whatif/{id}"),
    })
}

fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// `POST /api/whatif`: apply edits to a copy of the inputs and recompute.
#[utoipa::path(
    post,
    path = "/api/whatif",
    operation_id = "whatif_create",
    tag = "what-if",
    summary = "Compute a what-if",
    description = "Apply edits (a bridge, a path, a new facility, a facility closed) to a copy of \
        the travel-time inputs and search again: the villages whose time or facility changes, the \
        population within 60, 120 and 240 minutes before and after, and the URLs of its tiles. \
        The store is never modified; what-ifs are kept in memory. Malformed edits are 400s naming \
        the feature and field; edits that cannot apply are 422s.",
    params(WhatIfRunQuery, ListQuery),
    request_body(content = WhatIfBody, content_type = "application/geo+json",
        description = "GeoJSON FeatureCollection of edits; run parameters may be its members."),
    responses(
        (status = 201, description = "The what-if.", body = WhatIfAnswerDoc,
            headers(("Location" = String, description = "`/api/whatif/{id}`."))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let t0 = Instant::now();
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "body: more than the {MAX_BODY_BYTES} bytes allowed"
            ))
        } else {
            ApiError::BadRequest(format!("body: {}", e.body_text()))
        }
    })?;
    let (edits, members) = parse_body(&body)?;
    let mut allowed = WHATIF_RUN_QUERY.to_vec();
    allowed.extend(LIST_PARAMS);
    let p = Params::new(query, &allowed)?;
    let list = ListParams::parse(&p)?;
    let run = whatif_run_params(&p, members)?;
    let (version, base) = state.access.result(&run).await?;
    let inputs = state.access.inputs(version).await?;
    let max_zoom = state.config.max_zoom;
    let t_ready = t0.elapsed();
    let id = new_id();
    let whatif_id = id.clone();
    let whatif = tokio::task::spawn_blocking(move || -> ApiResult<WhatIf> {
        let t1 = Instant::now();
        let list: Vec<Edit> = edits.iter().map(|e| e.edit.clone()).collect();
        let edited = inputs.with_edits(&list)?;
        let (result, method) = inputs.run_edited(&edited, &base, &run.scenario, &run.filter)?;
        let searched = t1.elapsed();
        let changed = villages_changed(&base, &result);
        let population: Vec<Value> = POPULATION_MINUTES
            .iter()
            .map(|&m| {
                json!({
                    "minutes": m,
                    "before": population_within(&base, m),
                    "after": population_within(&result, m),
                })
            })
            .collect();
        let mut layers = Vec::new();
        for layer in layers_of(&result)
            .iter()
            .chain(std::iter::once(&edits_layer(&edits)))
        {
            layers.push(WhatIfLayer::new(layer, max_zoom)?);
        }
        let elapsed = t1.elapsed();
        let (recompute, changed_cells) = match method {
            Recompute::Incremental { changed_cells } => ("incremental", Some(changed_cells)),
            Recompute::Full => ("full", None),
        };
        let edit_list: Vec<Value> = edits
            .iter()
            .zip(&edited.effects)
            .enumerate()
            .map(|(i, (e, fx))| {
                json!({
                    "index": i,
                    "edit": e.kind,
                    "class": e.class,
                    "code": e.code,
                    "name": e.name,
                    "cells": fx.cells,
                    "river_cells": fx.river_cells,
                    "removed": fx.removed,
                })
            })
            .collect();
        let added: Vec<Value> = result
            .sources
            .iter()
            .filter(|s| {
                edits
                    .iter()
                    .any(|e| matches!(&e.edit, Edit::AddFacility(f) if f == *s))
            })
            .map(facility_json)
            .collect();
        let summary = json!({
            "id": whatif_id,
            "version": version,
            "scenario": result.scenario,
            "direction": result.direction.describe(),
            "sources": run.filter.describe(),
            "facilities_before": base.sources.len(),
            "facilities_after": result.sources.len(),
            "facilities_added": added,
            "recompute": recompute,
            "changed_cells": changed_cells,
            "search_ms": searched.as_secs_f64() * 1000.0,
            "elapsed_ms": elapsed.as_secs_f64() * 1000.0,
            "edits": edit_list,
            "population_within": population,
            "population_unknown": result
                .places
                .iter()
                .filter(|p| p.village.population.is_none())
                .count(),
        });
        Ok(WhatIf {
            id: whatif_id,
            summary,
            changed,
            result: Arc::new(result),
            version,
            layers,
        })
    })
    .await
    .map_err(ApiError::internal)??;
    let mut summary = whatif.summary.clone();
    if let Some(o) = summary.as_object_mut() {
        o.insert(
            "total_ms".to_owned(),
            json!(t0.elapsed().as_secs_f64() * 1000.0),
        );
        o.insert(
            "base_ready_ms".to_owned(),
            json!(t_ready.as_secs_f64() * 1000.0),
        );
    }
    let whatif = Arc::new(WhatIf { summary, ..whatif });
    tracing::info!(id, elapsed = ?t0.elapsed(), "what-if computed");
    state.whatifs.insert(Arc::clone(&whatif));
    let base = base_url(&state, &headers);
    let body = paged_answer(&state, whatif, base, list, p.0).await?;
    let location =
        HeaderValue::from_str(&format!("/api/whatif/{id}")).map_err(ApiError::internal)?;
    let mut res = json_bytes(body);
    *res.status_mut() = StatusCode::CREATED;
    res.headers_mut().insert(header::LOCATION, location);
    Ok(res)
}

/// The answer of what-if `w` with the page and filter of `list` (`pairs`:
/// the request's list parameters, for the URL of the next page).
async fn paged_answer(
    state: &AppState,
    w: Arc<WhatIf>,
    base: String,
    list: ListParams,
    pairs: Vec<(String, String)>,
) -> ApiResult<Vec<u8>> {
    let (filter, district) = state.access.place_filter(&list).await?;
    let pairs: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| LIST_PARAMS.contains(&k.as_str()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let echo = FilterEcho::new(&list, district);
        answer_body(&w, &base, &list, &filter, echo, &pairs)
    })
    .await
    .map_err(ApiError::internal)?
}

/// `GET /api/whatif/{id}[?bbox=][&district=][&districts=][&limit=][&offset=]`:
/// the summary of a what-if and a page of the villages that change.
#[utoipa::path(
    get,
    path = "/api/whatif/{id}",
    operation_id = "whatif_summary",
    tag = "what-if",
    summary = "A what-if's summary",
    description = "The summary of a what-if and a page of the villages that change.",
    params(("id" = String, Path, description = "Id of the what-if.", example = "9f86d081884c7d65"), ListQuery),
    responses(
        (status = 200, description = "The what-if.", body = WhatIfAnswerDoc),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
pub async fn summary(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let p = Params::new(query, &LIST_PARAMS)?;
    let list = ListParams::parse(&p)?;
    let w = state.whatifs.find(&id)?;
    let base = base_url(&state, &headers);
    let body = paged_answer(&state, w, base, list, p.0).await?;
    Ok(json_bytes(body))
}

/// `DELETE /api/whatif/{id}`: forget a what-if (204).
#[utoipa::path(
    delete,
    path = "/api/whatif/{id}",
    operation_id = "whatif_delete",
    tag = "what-if",
    summary = "Forget a what-if",
    params(("id" = String, Path, description = "Id of the what-if.", example = "9f86d081884c7d65")),
    responses(
        (status = 204, description = "Forgotten."),
        (status = 404, response = NotFound),
    ),
)]
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.whatifs.remove(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(state
            .whatifs
            .find(&id)
            .err()
            .unwrap_or_else(|| ApiError::NotFound(format!("no what-if '{id}'"))))
    }
}

/// `GET /whatif/{id}/tiles/{layers}.json`: TileJSON of a what-if's layers.
#[utoipa::path(
    get,
    path = "/whatif/{id}/tiles/{layers}.json",
    operation_id = "whatif_tilejson",
    tag = "what-if",
    summary = "TileJSON of a what-if",
    description = "TileJSON of a what-if's layers: `travel_time`, `catchments` and `whatif_edits` \
        are the what-if's own; any other catalog layer is the base layer.",
    params(
        ("id" = String, Path, description = "Id of the what-if.", example = "9f86d081884c7d65"),
        ("layers" = String, Path, description = "Layer names, comma-separated.", example = "travel_time,catchments,whatif_edits"),
    ),
    responses(
        (status = 200, description = "TileJSON of the layers.", body = TileJson),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
pub async fn tilejson(
    State(state): State<AppState>,
    Path((id, spec)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let w = state.whatifs.find(&id)?;
    let Some(spec) = spec.strip_suffix(".json") else {
        return Err(ApiError::NotFound(format!(
            "'/whatif/{id}/tiles/{spec}' is neither a TileJSON (LAYERS.json) nor a tile (LAYERS/Z/X/Y.mvt)"
        )));
    };
    let catalog = state.catalog();
    let layers = w.resolve(&catalog, spec)?;
    let names: Vec<&str> = layers.iter().map(Resolved::name).collect();
    let joined = names.join(",");
    let mut bounds: Option<[f64; 4]> = None;
    let mut vector_layers = Vec::new();
    for l in &layers {
        let (b, kind, fields): (Option<[f64; 4]>, LayerKind, &[Field]) = match l {
            Resolved::Own(o) => (o.bounds, o.kind, &o.fields),
            Resolved::Base(_, c) => (c.info.bounds, c.info.kind, &c.info.fields),
        };
        if let Some(b) = b {
            bounds = Some(bounds.map_or(b, |a| {
                [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ]
            }));
        }
        let f: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| {
                let ty = match f.ty {
                    FieldType::Int | FieldType::Real => "Number",
                    FieldType::Bool => "Boolean",
                    FieldType::Text | FieldType::Date => "String",
                };
                (f.name.clone(), Value::from(ty))
            })
            .collect();
        vector_layers.push(json!({
            "id": l.name(),
            "description": format!("{} ({kind}, what-if {id})", l.name()),
            "fields": f,
            "minzoom": 0,
            "maxzoom": state.config.max_zoom,
        }));
    }
    let bounds = bounds.unwrap_or([-180.0, -85.051_128_78, 180.0, 85.051_128_78]);
    let base = base_url(&state, &headers);
    Ok(Json(json!({
        "tilejson": "3.0.0",
        "name": format!("what-if {id}: {joined}"),
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [format!("{base}/whatif/{id}/tiles/{joined}/{{z}}/{{x}}/{{y}}.mvt")],
        "vector_layers": vector_layers,
        "minzoom": 0,
        "maxzoom": state.config.max_zoom,
        "bounds": bounds,
        "center": [f64::midpoint(bounds[0], bounds[2]), f64::midpoint(bounds[1], bounds[3]), 10],
        "attribution": "chaski",
    })))
}

/// `GET /whatif/{id}/tiles/{layers}/{z}/{x}/{y}`: a tile of a what-if.
#[utoipa::path(
    get,
    path = "/whatif/{id}/tiles/{layers}/{z}/{x}/{y}.mvt",
    operation_id = "whatif_tile",
    tag = "what-if",
    summary = "A tile of a what-if",
    params(
        ("id" = String, Path, description = "Id of the what-if.", example = "9f86d081884c7d65"),
        ("layers" = String, Path, description = "Layer names, comma-separated.", example = "travel_time,catchments,whatif_edits"),
        TileCoordPath,
    ),
    responses(
        (status = 200, description = "The tile.", content_type = "application/vnd.mapbox-vector-tile", body = [u8]),
        (status = 204, description = "The tile is empty."),
        (status = 304, description = "The tile has the `ETag` of `If-None-Match`."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    ),
)]
pub async fn tile(
    State(state): State<AppState>,
    Path((id, spec, z, x, y)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let w = state.whatifs.find(&id)?;
    let coord = parse_coord(&z, &x, &y, state.config.max_zoom)?;
    let catalog = state.catalog();
    let (names, own_only) = {
        let layers = w.resolve(&catalog, &spec)?;
        let names: Vec<&str> = layers.iter().map(Resolved::name).collect();
        (
            names.join(","),
            layers.iter().all(|l| matches!(l, Resolved::Own(_))),
        )
    };
    let encoding = negotiate(&headers);
    let key = TileKey {
        scope: TileScope::WhatIf(Arc::from(id.as_str())),
        version: if own_only { 0 } else { catalog.tiles_version },
        layers: names.into(),
        z: coord.z(),
        x: coord.x(),
        y: coord.y(),
        encoding,
    };
    let spec = Arc::clone(&key.layers);
    let render_catalog = Arc::clone(&catalog);
    let cached = cached_tile(state.whatifs.tiles(), true, key, move |coord| {
        w.render(&render_catalog, &spec, coord)
    })
    .await?;
    Ok(tile_response(
        &headers,
        &cached,
        encoding,
        state.tile_cache_control(own_only),
        state.config.empty_tile,
    ))
}
