//! What-if edits: a bridge, a path or a facility that does not exist yet (or a
//! facility closed), with the travel times, allocation and catchments they
//! would give, at once and as tiles.
//!
//! - `POST /api/whatif[?scenario=][&category=][&birth_care=][&direction=]` with a
//!   GeoJSON FeatureCollection of edits (see below) answers 201 with the
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
//!   (e.g. `communities`) is served from the base catalog, so one URL can mix them.
//! - `GET /api/accessibility?lon=&lat=&whatif={id}`: minutes and route with the edits.
//!
//! Edits, by `properties.edit`:
//! - `bridge`: a LineString across a river: the rivers it crosses become
//!   passable along it, at the speed of its `class` (default `footpath`);
//! - `path`: a LineString with an optional `class`: `footpath` (default),
//!   `mule_track`, `track_road`, `gravel_road`, `paved_road` or `ford`;
//! - `facility`: a Point with a `category` (e.g. `I-3`) and optional
//!   `birth_care` (`none`, `basic`, `complete`), `code` and `name`;
//! - `remove_facility`: the `code` of a facility to close (no geometry needed).
//!
//! The store is never modified: edits apply to a copy of the prepared inputs.
//! When every edit makes travel cheaper (bridges, paths, new facilities) or
//! removes facilities, only the cells whose time changes are searched again
//! (see [`chaski_analysis::travel::cost::update_travel_time`]), which gives the same
//! times as a full search; otherwise the whole grid is searched again. The
//! CPU work runs on the blocking pool.
//!
//! Malformed edits are 400s naming the feature index and field (wrong
//! geometry type, unknown class or category, more than [`MAX_EDITS`] edits);
//! edits that cannot apply are 422s (a vertex off the DEM, a bridge over no
//! river, an unknown facility code); a body over [`MAX_BODY_BYTES`] is a 413.
//!
//! What-ifs live in memory only, the last [`MAX_WHATIFS`] used (least
//! recently used dropped first), under random 64-bit ids in hex: unguessable
//! enough that one user does not stumble on another's, not a secret.

use crate::api::{
    FilterEcho, LIST_PARAMS, ListParams, Page, Params, RunParams, direction_text, facility_json,
    json_bytes, page_url,
};
use crate::catalog::Catalog;
use crate::encoding::Encoding;
use crate::error::ApiError;
use crate::state::{AppState, CachedTile};
use crate::tiles::{base_url, parse_coord};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chaski_analysis::travel::scenario::{RouteClass, WaterClass};
use chaski_analysis::travel::village_access::AccessStatus;
use chaski_analysis::travel::{Edit, Facility, PlaceFilter, Recompute, TravelResult};
use chaski_core::Layer;
use chaski_core::domain::{BirthCare, Category};
use chaski_core::layer::{Feature, LayerKind};
use chaski_core::store::layer_bounds;
use chaski_core::value::{Field, FieldType, Value as CoreValue};
use chaski_tiles::{LayerSource, SourceOptions, TileCoord, TileSource};
use geo::{Geometry, LineString, Point};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Most edits in one what-if.
pub const MAX_EDITS: usize = 100;
/// Largest request body, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// What-ifs kept in memory.
pub const MAX_WHATIFS: usize = 32;
/// Weight limit of the what-if tile cache, in bytes (64 MiB).
const TILE_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// Thresholds of the population summary, in minutes.
pub const POPULATION_MINUTES: [f64; 3] = [60.0, 120.0, 240.0];
/// Name of the tile layer of the edits.
pub const EDITS_LAYER: &str = "whatif_edits";
/// Tiles at this zoom and above are rendered on the async worker itself.
const INLINE_RENDER_ZOOM: u8 = 12;

type ApiResult<T> = Result<T, ApiError>;

/// One tile layer of a what-if.
struct WhatIfLayer {
    name: String,
    kind: LayerKind,
    fields: Vec<Field>,
    bounds: Option<[f64; 4]>,
    source: Arc<dyn TileSource>,
}

/// A village whose time or facility a what-if changes (an index into the
/// villages of the search, shared with the base search).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedVillage {
    /// Index into [`TravelResult::places`].
    pub place: usize,
    /// Minutes before the edits (None: no time).
    pub before_min: Option<f64>,
    /// Minutes with the edits (None: no time).
    pub after_min: Option<f64>,
    /// Code of the facility reached before.
    pub facility_before: Option<String>,
    /// Code of the facility reached with the edits.
    pub facility_after: Option<String>,
}

/// One what-if: its result, summary and tile layers.
pub struct WhatIf {
    /// Its id.
    pub id: String,
    /// The summary answered by `POST` and `GET /api/whatif/{id}` (without URLs
    /// and without the villages that change, which are paged from `changed`).
    pub summary: Value,
    /// The villages whose time or facility changes, most improved first.
    pub changed: Vec<ChangedVillage>,
    /// The search with the edits.
    pub result: Arc<TravelResult>,
    /// Data version of the store the edits were applied to.
    pub version: u64,
    layers: Vec<WhatIfLayer>,
}

impl std::fmt::Debug for WhatIf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatIf")
            .field("id", &self.id)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Key of one cached what-if tile.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TileKey {
    id: Arc<str>,
    catalog_version: u64,
    layers: Arc<str>,
    z: u8,
    x: u32,
    y: u32,
    encoding: Encoding,
}

/// The what-ifs in memory (the last [`MAX_WHATIFS`] used) and their tiles,
/// held by [`AppState`].
pub struct WhatIfs {
    entries: Mutex<VecDeque<Arc<WhatIf>>>,
    tiles: moka::future::Cache<TileKey, Arc<CachedTile>>,
}

impl Default for WhatIfs {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WhatIfs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatIfs")
            .field("entries", &self.len())
            .finish_non_exhaustive()
    }
}

impl WhatIfs {
    /// No what-if yet.
    pub fn new() -> Self {
        Self {
            entries: Mutex::new(VecDeque::new()),
            tiles: moka::future::Cache::builder()
                .max_capacity(TILE_CACHE_BYTES)
                .support_invalidation_closures()
                .weigher(|k: &TileKey, v: &Arc<CachedTile>| {
                    let bytes = v.body.len() + v.etag.len() + k.layers.len() + k.id.len() + 96;
                    u32::try_from(bytes).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<WhatIf>>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of what-ifs held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when none is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Keep `w`, dropping the least recently used beyond [`MAX_WHATIFS`].
    fn insert(&self, w: Arc<WhatIf>) {
        let dropped: Vec<Arc<WhatIf>> = {
            let mut e = self.lock();
            e.push_front(w);
            let keep = MAX_WHATIFS.min(e.len());
            e.drain(keep..).collect()
        };
        for d in dropped {
            self.forget_tiles(&d.id);
        }
    }

    /// Drop the cached tiles of what-if `id`.
    fn forget_tiles(&self, id: &str) {
        let id: Arc<str> = Arc::from(id);
        if let Err(e) = self.tiles.invalidate_entries_if(move |k, _| k.id == id) {
            tracing::debug!(error = %e, "what-if tiles not invalidated");
        }
    }

    /// The what-if `id` (now the most recently used).
    pub fn get(&self, id: &str) -> Option<Arc<WhatIf>> {
        let mut e = self.lock();
        let i = e.iter().position(|w| w.id == id)?;
        let w = e.remove(i)?;
        e.push_front(Arc::clone(&w));
        Some(w)
    }

    /// The what-if `id` or a 404 saying so.
    pub fn find(&self, id: &str) -> ApiResult<Arc<WhatIf>> {
        self.get(id).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no what-if '{id}' (what-ifs are kept in memory, the last {MAX_WHATIFS} used; POST /api/whatif makes one)"
            ))
        })
    }

    /// Drop the what-if `id`; false when there was none.
    pub fn remove(&self, id: &str) -> bool {
        let removed = {
            let mut e = self.lock();
            let before = e.len();
            e.retain(|w| w.id != id);
            e.len() != before
        };
        if removed {
            self.forget_tiles(id);
        }
        removed
    }
}

/// An edit as parsed from the body, with what the edits layer shows of it.
struct ParsedEdit {
    edit: Edit,
    kind: &'static str,
    class: String,
    code: String,
    name: String,
    geometry: Option<Geometry<f64>>,
}

fn bad(index: usize, field: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("body: feature {index}: {field}: {reason}"))
}

/// Route and water classes of a path `class`.
fn path_class(class: &str) -> Option<(RouteClass, Option<WaterClass>)> {
    Some(match class {
        "" | "footpath" => (RouteClass::Footpath, None),
        "mule_track" => (RouteClass::MuleTrack, None),
        "track_road" => (RouteClass::TrackRoad, None),
        "gravel_road" => (RouteClass::GravelRoad, None),
        "paved_road" => (RouteClass::PavedRoad, None),
        "ford" => (RouteClass::Footpath, Some(WaterClass::Ford)),
        _ => return None,
    })
}

const PATH_CLASSES: &str = "footpath, mule_track, track_road, gravel_road, paved_road or ford";

fn position(index: usize, p: &geojson::Position) -> ApiResult<(f64, f64)> {
    let c = p.as_slice();
    match (c.first(), c.get(1)) {
        (Some(&lon), Some(&lat))
            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
        {
            Ok((lon, lat))
        }
        (Some(lon), Some(lat)) => Err(bad(
            index,
            "geometry",
            format!("({lon}, {lat}) is not a longitude/latitude"),
        )),
        _ => Err(bad(
            index,
            "geometry",
            "a position needs longitude and latitude",
        )),
    }
}

fn geometry_name(g: Option<&geojson::Geometry>) -> &'static str {
    match g.map(|g| &g.value) {
        None => "none",
        Some(geojson::GeometryValue::Point { .. }) => "a Point",
        Some(geojson::GeometryValue::MultiPoint { .. }) => "a MultiPoint",
        Some(geojson::GeometryValue::LineString { .. }) => "a LineString",
        Some(geojson::GeometryValue::MultiLineString { .. }) => "a MultiLineString",
        Some(geojson::GeometryValue::Polygon { .. }) => "a Polygon",
        Some(geojson::GeometryValue::MultiPolygon { .. }) => "a MultiPolygon",
        Some(geojson::GeometryValue::GeometryCollection { .. }) => "a GeometryCollection",
    }
}

fn parse_edit(index: usize, f: &geojson::Feature) -> ApiResult<ParsedEdit> {
    let prop = |k: &str| -> ApiResult<Option<String>> {
        match f.properties.as_ref().and_then(|p| p.get(k)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(bad(
                index,
                &format!("properties.{k}"),
                format!("{other} is not a string"),
            )),
        }
    };
    let edit = prop("edit")?.ok_or_else(|| {
        bad(
            index,
            "properties.edit",
            "missing (bridge, path, facility or remove_facility)",
        )
    })?;
    let class = prop("class")?.unwrap_or_default().to_ascii_lowercase();
    let code = prop("code")?.unwrap_or_default();
    let name = prop("name")?.unwrap_or_default();
    let line = || -> ApiResult<LineString<f64>> {
        match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::LineString { coordinates }) => {
                if coordinates.len() < 2 {
                    return Err(bad(
                        index,
                        "geometry",
                        "a LineString needs two or more positions",
                    ));
                }
                let pts = coordinates
                    .iter()
                    .map(|p| position(index, p))
                    .collect::<ApiResult<Vec<_>>>()?;
                Ok(LineString::from(pts))
            }
            _ => Err(bad(
                index,
                "geometry",
                format!(
                    "a {edit} must be a LineString, not {}",
                    geometry_name(f.geometry.as_ref())
                ),
            )),
        }
    };
    let parsed = match edit.as_str() {
        "bridge" | "path" => {
            let (route, water) = if edit == "bridge" {
                path_class(&class)
                    .filter(|(_, w)| w.is_none())
                    .map(|(route, _)| (route, Some(WaterClass::Bridge)))
                    .ok_or_else(|| {
                        bad(
                            index,
                            "properties.class",
                            format!(
                                "'{class}' is not a class of bridge deck (footpath, mule_track, track_road, gravel_road or paved_road)"
                            ),
                        )
                    })?
            } else {
                path_class(&class).ok_or_else(|| {
                    bad(
                        index,
                        "properties.class",
                        format!("'{class}' is not a path class ({PATH_CLASSES})"),
                    )
                })?
            };
            let l = line()?;
            ParsedEdit {
                edit: Edit::Line {
                    line: l.clone(),
                    route,
                    water,
                },
                kind: if edit == "bridge" { "bridge" } else { "path" },
                class: if class.is_empty() {
                    "footpath".to_owned()
                } else {
                    class
                },
                code,
                name,
                geometry: Some(Geometry::LineString(l)),
            }
        }
        "facility" => {
            let lonlat = match f.geometry.as_ref().map(|g| &g.value) {
                Some(geojson::GeometryValue::Point { coordinates }) => {
                    position(index, coordinates)?
                }
                _ => {
                    return Err(bad(
                        index,
                        "geometry",
                        format!(
                            "a facility must be a Point, not {}",
                            geometry_name(f.geometry.as_ref())
                        ),
                    ));
                }
            };
            let category_text = prop("category")?.unwrap_or_default();
            if category_text.is_empty() {
                return Err(bad(
                    index,
                    "properties.category",
                    "missing (e.g. I-1, I-2, I-3, I-4, II-1)",
                ));
            }
            let category: Category = category_text
                .parse()
                .map_err(|e| bad(index, "properties.category", e))?;
            let birth_care = match prop("birth_care")? {
                None => None,
                Some(b) if b.is_empty() => None,
                Some(b) => Some(
                    b.parse::<BirthCare>()
                        .map_err(|e| bad(index, "properties.birth_care", e))?,
                ),
            };
            let code = if code.is_empty() {
                format!("WHATIF-{}", index + 1)
            } else {
                code
            };
            ParsedEdit {
                edit: Edit::AddFacility(Facility {
                    code: code.clone(),
                    name: name.clone(),
                    category: category.as_str().to_owned(),
                    birth_care,
                    lonlat,
                }),
                kind: "facility",
                class: category.as_str().to_owned(),
                code,
                name,
                geometry: Some(Geometry::Point(Point::new(lonlat.0, lonlat.1))),
            }
        }
        "remove_facility" => {
            if code.is_empty() {
                return Err(bad(
                    index,
                    "properties.code",
                    "missing: the code of the facility to remove",
                ));
            }
            ParsedEdit {
                edit: Edit::RemoveFacility(code.clone()),
                kind: "remove_facility",
                class: String::new(),
                code,
                name,
                geometry: None,
            }
        }
        other => {
            return Err(bad(
                index,
                "properties.edit",
                format!("'{other}' is not bridge, path, facility or remove_facility"),
            ));
        }
    };
    Ok(parsed)
}

/// The edits of a body and its run parameters (FeatureCollection members).
/// Run parameters given as members of the FeatureCollection, (name, value).
type Members = Vec<(String, String)>;

fn parse_body(body: &[u8]) -> ApiResult<(Vec<ParsedEdit>, Members)> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(format!(
            "body: {} bytes, more than the {MAX_BODY_BYTES} allowed",
            body.len()
        )));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not UTF-8: {e}")))?;
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| ApiError::BadRequest(format!("body: {e}")))?;
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        return Err(ApiError::BadRequest(
            "body: must be a GeoJSON FeatureCollection of edits".to_owned(),
        ));
    };
    if fc.features.is_empty() {
        return Err(ApiError::BadRequest(
            "body: no edits (features with properties.edit bridge, path, facility or remove_facility)"
                .to_owned(),
        ));
    }
    if fc.features.len() > MAX_EDITS {
        return Err(ApiError::BadRequest(format!(
            "body: {} edits, more than the {MAX_EDITS} allowed",
            fc.features.len()
        )));
    }
    let mut members = Vec::new();
    for (k, v) in fc.foreign_members.iter().flatten() {
        let name = if k == "scenario" {
            "preset"
        } else {
            k.as_str()
        };
        if !["preset", "category", "birth_care", "direction", "moves"].contains(&name) {
            continue;
        }
        match v {
            Value::String(s) => members.push((name.to_owned(), s.clone())),
            Value::Number(n) if name == "moves" => members.push((name.to_owned(), n.to_string())),
            Value::Null => {}
            other => {
                return Err(ApiError::BadRequest(format!(
                    "body: member '{k}': {other} is not a string"
                )));
            }
        }
    }
    let edits = fc
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| parse_edit(i, f))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((edits, members))
}

/// Names of the run parameters in the query of `POST /api/whatif`.
const RUN_QUERY: [&str; 6] = [
    "scenario",
    "preset",
    "category",
    "birth_care",
    "direction",
    "moves",
];

/// Run parameters from the query (its run parameters, list parameters
/// left out), completed by the body's members.
fn run_params(p: &Params, members: Vec<(String, String)>) -> ApiResult<RunParams> {
    let p = Params(
        p.0.iter()
            .filter(|(k, _)| RUN_QUERY.contains(&k.as_str()))
            .cloned()
            .collect(),
    );
    let mut pairs: Vec<(String, String)> =
        p.0.into_iter()
            .map(|(k, v)| {
                if k == "scenario" {
                    ("preset".to_owned(), v)
                } else {
                    (k, v)
                }
            })
            .collect();
    for i in 0..pairs.len() {
        if pairs[..i].iter().any(|(k, _)| *k == pairs[i].0) {
            return Err(ApiError::BadRequest(
                "query parameters 'scenario' and 'preset' are the same: give one".to_owned(),
            ));
        }
    }
    for (k, v) in members {
        match pairs.iter().find(|(q, _)| *q == k) {
            Some((_, qv)) if qv.trim() != v.trim() => {
                return Err(ApiError::BadRequest(format!(
                    "'{k}' is '{qv}' in the query but '{v}' in the body"
                )));
            }
            Some(_) => {}
            None => pairs.push((k, v)),
        }
    }
    RunParams::parse(&Params(pairs)).map_err(|e| match e {
        ApiError::BadRequest(m) => ApiError::BadRequest(m.replace("'preset'", "'scenario'")),
        other => other,
    })
}

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
#[derive(Debug, Serialize)]
struct ChangedJson<'a> {
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

/// The `whatif_edits` layer.
fn edits_layer(edits: &[ParsedEdit]) -> Layer {
    let mut layer = Layer::new(EDITS_LAYER, LayerKind::Paths);
    layer.fields = vec![
        Field::new("index", FieldType::Int),
        Field::new("edit", FieldType::Text),
        Field::new("class", FieldType::Text),
        Field::new("code", FieldType::Text),
        Field::new("name", FieldType::Text),
    ];
    for (i, e) in edits.iter().enumerate() {
        let Some(g) = &e.geometry else { continue };
        layer.features.push(Feature {
            fid: i as i64 + 1,
            geometry: g.clone(),
            values: vec![
                CoreValue::Int(i as i64),
                CoreValue::Text(e.kind.to_owned()),
                CoreValue::Text(e.class.clone()),
                CoreValue::Text(e.code.clone()),
                CoreValue::Text(e.name.clone()),
            ],
        });
    }
    layer
}

fn tile_layer(layer: &Layer, max_zoom: u8) -> Result<WhatIfLayer, ApiError> {
    let options = SourceOptions {
        maxzoom: max_zoom,
        ..SourceOptions::default()
    };
    let source = LayerSource::with_options(layer, options).map_err(ApiError::internal)?;
    Ok(WhatIfLayer {
        name: layer.name.clone(),
        kind: layer.kind,
        fields: layer.fields.clone(),
        bounds: layer_bounds(layer),
        source: Arc::new(source),
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
    let mut allowed = RUN_QUERY.to_vec();
    allowed.extend(LIST_PARAMS);
    let p = Params::new(query, &allowed)?;
    let list = ListParams::parse(&p)?;
    let run = run_params(&p, members)?;
    let (version, base) = state.access.result(&state, &run).await?;
    let inputs = state.access.inputs(&state, version).await?;
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
        for layer in crate::analysis_layers::layers_of(&result)
            .iter()
            .chain(std::iter::once(&edits_layer(&edits)))
        {
            layers.push(tile_layer(layer, max_zoom)?);
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
            "direction": direction_text(result.direction),
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
    let (filter, district) = state.access.place_filter(state, &list).await?;
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

/// A layer of a tile request: the what-if's own, or the base catalog's.
enum Resolved<'a> {
    Own(&'a WhatIfLayer),
    Base(&'a str, &'a crate::catalog::CatalogLayer),
}

impl Resolved<'_> {
    fn source(&self) -> &dyn TileSource {
        match self {
            Self::Own(l) => l.source.as_ref(),
            Self::Base(_, l) => l.source.as_ref(),
        }
    }

    fn name(&self) -> &str {
        match self {
            Self::Own(l) => &l.name,
            Self::Base(n, _) => n,
        }
    }
}

fn resolve<'a>(w: &'a WhatIf, catalog: &'a Catalog, spec: &str) -> ApiResult<Vec<Resolved<'a>>> {
    let mut out: Vec<Resolved<'a>> = Vec::new();
    for name in spec.split(',').map(str::trim) {
        if out.iter().any(|r| r.name() == name) {
            continue;
        }
        if let Some(l) = w.layers.iter().find(|l| l.name == name) {
            out.push(Resolved::Own(l));
            continue;
        }
        match catalog.resolve(name) {
            Ok(found) => out.extend(found.into_iter().map(|(n, l)| Resolved::Base(n, l))),
            Err(ApiError::NotFound(_)) => {
                let own: Vec<&str> = w.layers.iter().map(|l| l.name.as_str()).collect();
                return Err(ApiError::NotFound(format!(
                    "unknown layer '{name}': this what-if has {} (and the layers of /catalog)",
                    own.join(", ")
                )));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// `GET /whatif/{id}/tiles/{layers}.json`: TileJSON of a what-if's layers.
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
    let layers = resolve(&w, &catalog, spec)?;
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
pub async fn tile(
    State(state): State<AppState>,
    Path((id, spec, z, x, y)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let w = state.whatifs.find(&id)?;
    let coord = parse_coord(&z, &x, &y, state.config.max_zoom)?;
    let catalog = state.catalog();
    let (names, own_only) = {
        let layers = resolve(&w, &catalog, &spec)?;
        let names: Vec<&str> = layers.iter().map(Resolved::name).collect();
        (
            names.join(","),
            layers.iter().all(|l| matches!(l, Resolved::Own(_))),
        )
    };
    let encoding = Encoding::negotiate(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|h| h.to_str().ok()),
    );
    let key = TileKey {
        id: Arc::from(id.as_str()),
        catalog_version: if own_only { 0 } else { catalog.tiles_version },
        layers: names.into(),
        z: coord.z(),
        x: coord.x(),
        y: coord.y(),
        encoding,
    };
    let cached = get_tile(&state, &w, &catalog, key).await?;
    let cache_control = if own_only {
        state.cache_control_versioned.clone()
    } else {
        state.cache_control.clone()
    };
    Ok(crate::tiles::cached_response(
        &state,
        &headers,
        &cached,
        encoding,
        cache_control,
    ))
}

fn render(w: &WhatIf, catalog: &Catalog, spec: &str, coord: TileCoord) -> ApiResult<Vec<u8>> {
    let layers = resolve(w, catalog, spec)?;
    let sources: Vec<&dyn TileSource> = layers.iter().map(Resolved::source).collect();
    chaski_tiles::render(&sources, coord).map_err(ApiError::internal)
}

/// The cached representation for `key`, rendering or compressing it once.
async fn get_tile(
    state: &AppState,
    w: &Arc<WhatIf>,
    catalog: &Arc<Catalog>,
    key: TileKey,
) -> ApiResult<Arc<CachedTile>> {
    if let Some(hit) = state.whatifs.tiles.get(&key).await {
        return Ok(hit);
    }
    let fetch = {
        let (key, w, catalog, state) = (
            key.clone(),
            Arc::clone(w),
            Arc::clone(catalog),
            state.clone(),
        );
        async move {
            let coord = TileCoord::new(key.z, key.x, key.y)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            let identity = if key.encoding == Encoding::Identity {
                None
            } else {
                Some(
                    Box::pin(get_tile(
                        &state,
                        &w,
                        &catalog,
                        TileKey {
                            encoding: Encoding::Identity,
                            ..key.clone()
                        },
                    ))
                    .await?,
                )
            };
            match identity {
                None => {
                    let spec = key.layers.clone();
                    let body = if coord.z() >= INLINE_RENDER_ZOOM {
                        render(&w, &catalog, &spec, coord)?
                    } else {
                        tokio::task::spawn_blocking(move || render(&w, &catalog, &spec, coord))
                            .await
                            .map_err(ApiError::internal)??
                    };
                    let etag = format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&body));
                    Ok(Arc::new(CachedTile::new(Bytes::from(body), etag)))
                }
                Some(identity) => crate::tiles::encoded(identity, key.encoding).await,
            }
        }
    };
    state
        .whatifs
        .tiles
        .try_get_with(key, fetch)
        .await
        .map_err(|e: Arc<ApiError>| match e.as_ref() {
            ApiError::BadRequest(m) => ApiError::BadRequest(m.clone()),
            ApiError::NotFound(m) => ApiError::NotFound(m.clone()),
            other => ApiError::Internal(other.to_string()),
        })
}
