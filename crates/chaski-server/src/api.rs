//! Travel time to care over HTTP, on the store's DEM, facilities, villages,
//! paths, roads and rivers (the pipeline of [`chaski_analysis::travel`], as
//! `chaski catchments` runs it):
//!
//! - `GET /api/accessibility?lon=&lat=[&category=][&birth_care=][&preset=][&direction=]`:
//!   minutes from the point to the nearest facility (not rounded), that
//!   facility and the route to it as a GeoJSON LineString. A point outside the
//!   travel-time surface is a 422; one on an impassable cell (a river) or that
//!   no facility reaches is a 200 with `minutes: null` and its `status`.
//!   With `whatif=ID` (here and on the next endpoint) the answer is for a
//!   what-if of [`crate::whatif`] (its scenario and sources; the other run
//!   parameters cannot be given then).
//! - `GET /api/villages/underserved?minutes=[&category=][&birth_care=][&preset=][&direction=]`:
//!   the villages beyond `minutes` (or not reached at all) as a GeoJSON
//!   FeatureCollection with counts and population totals; villages outside the
//!   surface (or on an impassable cell) are listed apart and never given a time.
//! - `POST /api/catchments[?preset=][&bands=30,60,120,240][&max_minutes=][&direction=]`
//!   with a GeoJSON body of point sources (what-if facilities): the isochrone
//!   polygons of the bands.
//!
//! `category` is an expression such as `>=I-3` or `I-3,I-4`; `birth_care` is
//! `basic` (basic or complete) or `complete`; `preset` is `walking` (default),
//! `motorised`, `rainy`, `pregnant` or `stretcher`; `direction` is `to` (default:
//! patients travelling to the facility) or `from` (staff visiting).
//!
//! Searches run on the blocking pool. Each search over the store's facilities
//! is cached per (data version, category, birth care, preset, direction), and
//! the prepared inputs (DEM on a metric grid, burned lines) per data version,
//! so repeated clicks are answered from memory; both caches are emptied when
//! the store's data version changes. Grids of more than
//! [`ServerConfig::max_grid_cells`](crate::config::ServerConfig::max_grid_cells)
//! cells are refused with 413.

use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chaski_analysis::travel::cost::{Direction, Neighbourhood};
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::village_access::AccessStatus;
use chaski_analysis::travel::village_access::District;
use chaski_analysis::travel::vocab::{BirthCareFilter, CategoryFilter, Preset};
use chaski_analysis::travel::{
    Facility, PlaceFilter, RunSettings, SourceFilter, TravelError, TravelInputs, TravelOptions,
    TravelResult, deg, district_layer, district_polygons, find_district,
};
use chaski_core::store::StoreError;
use chaski_io::crs::ProjProjections;
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Weight limit of the results cache, in KiB (1 GiB).
const RESULTS_CACHE_KIB: u64 = 1024 * 1024;
/// Most isochrone bands per request.
const MAX_BANDS: usize = 16;
/// Default isochrone bands, minutes.
const DEFAULT_BANDS: [f64; 4] = [30.0, 60.0, 120.0, 240.0];
/// Villages (or other items) per page of a list answer unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 1000;
/// Most items per page of a list answer.
pub const MAX_LIMIT: usize = 10_000;

impl From<TravelError> for ApiError {
    fn from(e: TravelError) -> Self {
        match e {
            TravelError::TooLarge { .. } => Self::TooLarge(e.to_string()),
            TravelError::Option { .. } | TravelError::Districts { .. } => {
                Self::BadRequest(e.to_string())
            }
            TravelError::Sources { .. } | TravelError::Edit { .. } => {
                Self::Unprocessable(e.to_string())
            }
            TravelError::Store {
                source: StoreError::NotFound(name),
                ..
            } => Self::NotFound(format!(
                "no travel-time surface: the store has no '{name}' (import a DEM with `chaski import FILE.tif --layer dem`)"
            )),
            TravelError::Dem { .. } | TravelError::MissingLayer { .. } => {
                Self::NotFound(format!("no travel-time surface: {e}"))
            }
            other => Self::internal(other),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Key of one cached search.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ResultKey {
    version: u64,
    /// Categories selected, canonical and sorted ("" for all).
    category: String,
    birth_care: Option<BirthCareFilter>,
    preset: &'static str,
    /// Travel from the facility (staff) rather than to it.
    from_source: bool,
    /// Moves of the search.
    neighbourhood: Neighbourhood,
}

/// Cached travel-time inputs and searches, held by [`AppState`].
pub struct AccessCache {
    inputs: moka::future::Cache<u64, Arc<TravelInputs>>,
    results: moka::future::Cache<ResultKey, Arc<TravelResult>>,
    /// District polygons (longitude/latitude) per (data version, layer).
    districts: moka::future::Cache<(u64, String), Arc<[District]>>,
    version: AtomicU64,
}

impl Default for AccessCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache")
            .field("inputs", &self.inputs.entry_count())
            .field("results", &self.results.entry_count())
            .finish_non_exhaustive()
    }
}

impl AccessCache {
    /// Empty caches: inputs of two data versions, searches up to 1 GiB.
    pub fn new() -> Self {
        Self {
            inputs: moka::future::Cache::builder().max_capacity(2).build(),
            results: moka::future::Cache::builder()
                .max_capacity(RESULTS_CACHE_KIB)
                .weigher(|_k: &ResultKey, v: &Arc<TravelResult>| {
                    u32::try_from(v.size_bytes() / 1024 + 1).unwrap_or(u32::MAX)
                })
                .build(),
            districts: moka::future::Cache::builder().max_capacity(4).build(),
            version: AtomicU64::new(u64::MAX),
        }
    }

    /// Number of cached searches (after pending maintenance).
    pub async fn cached_results(&self) -> u64 {
        self.results.run_pending_tasks().await;
        self.results.entry_count()
    }

    /// The store's data version; empties the caches when it moved on.
    pub(crate) async fn version(&self, state: &AppState) -> ApiResult<u64> {
        let store = Arc::clone(&state.store);
        let v = tokio::task::spawn_blocking(move || store.version())
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        let before = self.version.swap(v, Ordering::AcqRel);
        if before != v && before != u64::MAX {
            tracing::info!(before, now = v, "store changed: travel-time caches emptied");
            self.inputs.invalidate_all();
            self.results.invalidate_all();
            self.districts.invalidate_all();
        }
        Ok(v)
    }

    /// The prepared inputs of data version `version` (every facility, every village).
    ///
    /// Work runs in a detached task: a client that gives up (or the request
    /// timeout) does not cancel it, and its result still lands in the cache.
    pub(crate) async fn inputs(
        &self,
        state: &AppState,
        version: u64,
    ) -> ApiResult<Arc<TravelInputs>> {
        let state = state.clone();
        let task = tokio::spawn(async move {
            let store = Arc::clone(&state.store);
            let opts = TravelOptions {
                all_villages: true,
                max_cells: Some(state.config.max_grid_cells),
                dem: state.config.dem.clone(),
                ..TravelOptions::default()
            };
            let init = async move {
                tokio::task::spawn_blocking(move || {
                    TravelInputs::from_store(store.as_ref(), &opts, &ProjProjections).map(Arc::new)
                })
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::from)
            };
            state
                .access
                .inputs
                .try_get_with(version, init)
                .await
                .map_err(|e| (*e).clone())
        });
        task.await.map_err(ApiError::internal)?
    }

    /// The search of the store's facilities selected by `run`, cached (in a
    /// detached task, as [`AccessCache::inputs`]).
    pub(crate) async fn result(
        &self,
        state: &AppState,
        run: &RunParams,
    ) -> ApiResult<(u64, Arc<TravelResult>)> {
        let version = self.version(state).await?;
        let key = ResultKey {
            version,
            category: run
                .filter
                .categories()
                .map(|c| c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","))
                .unwrap_or_default(),
            birth_care: run.filter.birth_care(),
            preset: run.preset,
            from_source: run.direction == Direction::FromSource,
            neighbourhood: run.neighbourhood,
        };
        let (state, filter, scenario, direction, neighbourhood) = (
            state.clone(),
            run.filter.clone(),
            run.scenario.clone(),
            run.direction,
            run.neighbourhood,
        );
        let task = tokio::spawn(async move {
            let init = async {
                let inputs = state.access.inputs(&state, version).await?;
                tokio::task::spawn_blocking(move || {
                    let t0 = std::time::Instant::now();
                    let sources = filter.select(&inputs.facilities);
                    let surface = inputs.surface(&scenario)?;
                    let what = format!("layer '{}'", inputs.facilities_layer);
                    let result = inputs.run_on(
                        &surface,
                        &inputs.scenario_name(&scenario),
                        &sources,
                        &what,
                        RunSettings {
                            direction,
                            max_minutes: None,
                            neighbourhood,
                        },
                    )?;
                    tracing::info!(elapsed = ?t0.elapsed(), scenario = scenario.name, "travel time searched");
                    Ok::<_, TravelError>(Arc::new(result))
                })
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::from)
            };
            state
                .access
                .results
                .try_get_with(key, init)
                .await
                .map_err(|e| (*e).clone())
        });
        let result = task.await.map_err(ApiError::internal)??;
        Ok((version, result))
    }
}

impl AccessCache {
    /// The villages `list` selects (`bbox`, `district` of the layer
    /// `districts` names or the store's one layer of districts), and the
    /// district chosen as (layer, code, name).
    pub(crate) async fn place_filter(
        &self,
        state: &AppState,
        list: &ListParams,
    ) -> ApiResult<(PlaceFilter, Option<DistrictRef>)> {
        let mut filter = PlaceFilter::all();
        if let Some(b) = list.bbox {
            filter = filter.with_bbox(b);
        }
        let Some(key) = list.district.clone() else {
            return Ok((filter, None));
        };
        let version = self.version(state).await?;
        let store = Arc::clone(&state.store);
        let named = list.districts.clone();
        let option = if named.is_some() {
            "query parameter 'districts'"
        } else {
            "query parameter 'district'"
        };
        let layer = tokio::task::spawn_blocking(move || {
            district_layer(store.as_ref(), named.as_deref(), option)
        })
        .await
        .map_err(ApiError::internal)??;
        let store = Arc::clone(&state.store);
        let name = layer.clone();
        let districts = self
            .districts
            .try_get_with((version, layer.clone()), async move {
                tokio::task::spawn_blocking(move || {
                    store
                        .read_layer(&name)
                        .map(|l| Arc::<[District]>::from(district_polygons(&l)))
                })
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::from)
            })
            .await
            .map_err(|e: Arc<ApiError>| (*e).clone())?;
        let i = find_district(&districts, &key, &layer, "query parameter 'district'")?;
        let d = &districts[i];
        let chosen = DistrictRef {
            layer,
            code: d.code.clone(),
            name: d.name.clone(),
        };
        Ok((filter.with_district(&districts, i), Some(chosen)))
    }
}

/// The district a list answer is filtered by.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DistrictRef {
    /// Layer of the district polygons.
    layer: String,
    code: String,
    name: String,
}

/// The filter of a list answer, as it is echoed back.
#[derive(Debug, Serialize)]
pub(crate) struct FilterEcho {
    /// min lon, min lat, max lon, max lat.
    bbox: Option<[f64; 4]>,
    district: Option<DistrictRef>,
}

impl FilterEcho {
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

/// Query parameters of list answers: filters and paging.
pub(crate) const LIST_PARAMS: [&str; 5] = ["bbox", "district", "districts", "limit", "offset"];

/// Filters and page of a list answer.
#[derive(Debug, Clone)]
pub(crate) struct ListParams {
    /// min lon, min lat, max lon, max lat.
    pub(crate) bbox: Option<[f64; 4]>,
    /// Code or name of a district.
    pub(crate) district: Option<String>,
    /// Layer of the district polygons.
    pub(crate) districts: Option<String>,
    pub(crate) limit: usize,
    pub(crate) offset: usize,
}

impl ListParams {
    pub(crate) fn parse(p: &Params) -> ApiResult<Self> {
        let bbox = match p.get("bbox").filter(|b| !b.is_empty()) {
            None => None,
            Some(text) => Some(parse_bbox(text)?),
        };
        let district = p
            .get("district")
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        let districts = p
            .get("districts")
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        if districts.is_some() && district.is_none() {
            return Err(ApiError::BadRequest(
                "query parameter 'districts' names the layer of 'district': give district=CODE_OR_NAME too"
                    .to_owned(),
            ));
        }
        let whole = |name: &str, max: usize, expected: &str| -> ApiResult<Option<usize>> {
            match p.get(name).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(text) => match text.parse::<usize>() {
                    Ok(v) if v <= max => Ok(Some(v)),
                    _ => Err(ApiError::BadRequest(format!(
                        "query parameter '{name}': '{text}' is not {expected}"
                    ))),
                },
            }
        };
        Ok(Self {
            bbox,
            district,
            districts,
            limit: whole(
                "limit",
                MAX_LIMIT,
                &format!("a whole number from 0 to {MAX_LIMIT}"),
            )?
            .unwrap_or(DEFAULT_LIMIT),
            offset: whole("offset", usize::MAX, "a whole number (0 or more)")?.unwrap_or(0),
        })
    }

    /// Whether the item at `index` of the whole list is on this page.
    pub(crate) fn on_page(&self, index: usize) -> bool {
        index >= self.offset && index - self.offset < self.limit
    }

    /// The offset of the next page when the list goes on after this one.
    pub(crate) fn next_offset(&self, total: usize) -> Option<usize> {
        let end = self.offset.saturating_add(self.limit);
        (self.limit > 0 && end < total).then_some(end)
    }
}

/// `minlon,minlat,maxlon,maxlat` in degrees.
fn parse_bbox(text: &str) -> ApiResult<[f64; 4]> {
    let bad = |why: &str| {
        ApiError::BadRequest(format!(
            "query parameter 'bbox': '{text}' {why} (expected minlon,minlat,maxlon,maxlat in degrees)"
        ))
    };
    let parts: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad("is not four numbers"))?;
    let [x0, y0, x1, y1] = parts[..] else {
        return Err(bad("is not four numbers"));
    };
    let lon = -180.0..=180.0;
    let lat = -90.0..=90.0;
    if !(lon.contains(&x0) && lon.contains(&x1) && lat.contains(&y0) && lat.contains(&y1)) {
        return Err(bad("is not longitudes and latitudes"));
    }
    if x0 > x1 || y0 > y1 {
        return Err(bad("has a minimum above its maximum"));
    }
    Ok([x0, y0, x1, y1])
}

/// A query-string component, percent-encoded (RFC 3986 unreserved characters kept).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The URL of the page at `offset`: `base` and `path` with `pairs` (the
/// request's query, any `offset` replaced).
pub(crate) fn page_url(
    base: &str,
    path: &str,
    pairs: &[(String, String)],
    offset: usize,
) -> String {
    let mut query: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k != "offset")
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect();
    query.push(format!("offset={offset}"));
    format!("{base}{path}?{}", query.join("&"))
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

/// Query parameters as given, checked for unknown and repeated names.
pub(crate) struct Params(pub(crate) Vec<(String, String)>);

impl Params {
    pub(crate) fn new(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
        allowed: &[&str],
    ) -> ApiResult<Self> {
        let Query(pairs) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !allowed.contains(&k.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "unknown query parameter '{k}' (expected {})",
                    allowed.join(", ")
                )));
            }
            if pairs[..i].iter().any(|(j, _)| j == k) {
                return Err(ApiError::BadRequest(format!(
                    "query parameter '{k}' is given more than once"
                )));
            }
        }
        Ok(Self(pairs))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    /// Parameter `name` read by the engine's parser of its vocabulary
    /// (`chaski_analysis::travel::vocab`); absent or empty: None.
    pub(crate) fn parsed<T>(&self, name: &str) -> ApiResult<Option<T>>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| ApiError::BadRequest(format!("query parameter '{name}': {e}"))),
        }
    }

    fn required(&self, name: &str) -> ApiResult<&str> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::BadRequest(format!(
                "missing query parameter '{name}'"
            ))),
        }
    }

    /// A finite number within `range` (`expected` says what in errors).
    fn number(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<f64>,
        expected: &str,
    ) -> ApiResult<Option<f64>> {
        let Some(text) = self.get(name).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && range.contains(&v) => Ok(Some(v)),
            _ => Err(ApiError::BadRequest(format!(
                "query parameter '{name}': '{text}' is not {expected}"
            ))),
        }
    }
}

/// Scenario, sources and direction of a request.
pub(crate) struct RunParams {
    pub(crate) filter: SourceFilter,
    pub(crate) preset: &'static str,
    pub(crate) scenario: Scenario,
    pub(crate) direction: Direction,
    pub(crate) neighbourhood: Neighbourhood,
}

impl RunParams {
    pub(crate) fn parse(p: &Params) -> ApiResult<Self> {
        let birth_care = p.parsed::<BirthCareFilter>("birth_care")?;
        let category = p.parsed::<CategoryFilter>("category")?;
        let filter = SourceFilter::new(category.as_ref(), birth_care);
        let preset = p.parsed::<Preset>("preset")?.unwrap_or(Preset::Walking);
        let (scenario, preset) = (preset.scenario(), preset.name());
        let direction = p.parsed::<Direction>("direction")?.unwrap_or_default();
        let neighbourhood = p.parsed::<Neighbourhood>("moves")?.unwrap_or_default();
        Ok(Self {
            filter,
            preset,
            scenario,
            direction,
            neighbourhood,
        })
    }
}

pub(crate) fn direction_text(d: Direction) -> &'static str {
    d.describe()
}

pub(crate) fn facility_json(f: &Facility) -> Value {
    json!({ "code": f.code, "name": f.name, "category": f.category })
}

pub(crate) const RUN_PARAMS: [&str; 5] = ["category", "birth_care", "preset", "direction", "moves"];

/// The search `run` selects, or with `whatif=ID` the what-if's search (its
/// scenario and sources); with the data version, the sources in words and the id.
async fn search_or_whatif<'a>(
    state: &AppState,
    p: &'a Params,
    run: &RunParams,
) -> ApiResult<(u64, Arc<TravelResult>, String, Option<&'a str>)> {
    let Some(id) = p.get("whatif").filter(|w| !w.is_empty()) else {
        let (version, result) = state.access.result(state, run).await?;
        return Ok((version, result, run.filter.describe(), None));
    };
    if let Some(k) = RUN_PARAMS.iter().find(|k| p.get(k).is_some()) {
        return Err(ApiError::BadRequest(format!(
            "query parameter '{k}' cannot be combined with 'whatif' (the what-if fixes the scenario and sources)"
        )));
    }
    let w = state.whatifs.find(id)?;
    let sources = w.summary["sources"].as_str().unwrap_or_default().to_owned();
    Ok((w.version, Arc::clone(&w.result), sources, Some(id)))
}

/// `GET /api/accessibility`: minutes from a point to the nearest facility, which
/// one, and the route there.
pub async fn accessibility(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let mut allowed = vec!["lon", "lat", "whatif"];
    allowed.extend(RUN_PARAMS);
    let p = Params::new(query, &allowed)?;
    p.required("lon")?;
    p.required("lat")?;
    let lon = p
        .number("lon", -180.0..=180.0, "a longitude (-180 to 180)")?
        .unwrap_or(f64::NAN);
    let lat = p
        .number("lat", -90.0..=90.0, "a latitude (-90 to 90)")?
        .unwrap_or(f64::NAN);
    let run = RunParams::parse(&p)?;
    let (version, result, sources, whatif) = search_or_whatif(&state, &p, &run).await?;
    let at = result.point(lon, lat);
    match at.status {
        AccessStatus::OutsideSurface => {
            return Err(ApiError::Unprocessable(format!(
                "({lon}, {lat}) is outside the travel-time surface (off the DEM or on a cell without data)"
            )));
        }
        AccessStatus::Reached => {}
        AccessStatus::Impassable | AccessStatus::NotReached => {
            return Ok(Json(json!({
                "lon": lon,
                "lat": lat,
                "minutes": null,
                "status": at.status.reason(),
                "facility": null,
                "route": null,
                "scenario": result.scenario,
                "direction": direction_text(result.direction),
                "moves": result.neighbourhood.moves(),
                "sources": sources,
                "version": version,
                "whatif": whatif,
            })));
        }
    }
    let facility = at.source.and_then(|s| result.sources.get(s));
    let route = result.route_from(lon, lat).map(|r| {
        let coords: Vec<[f64; 2]> = r.into_iter().map(|(x, y)| [x, y]).collect();
        json!({ "type": "LineString", "coordinates": coords })
    });
    Ok(Json(json!({
        "lon": lon,
        "lat": lat,
        "minutes": at.minutes,
        "status": at.status.reason(),
        "facility": facility.map(facility_json),
        "route": route,
        "scenario": result.scenario,
        "direction": direction_text(result.direction),
        "moves": result.neighbourhood.moves(),
        "sources": sources,
        "version": version,
        "whatif": whatif,
    })))
}

/// A GeoJSON Point.
#[derive(Debug, Serialize)]
struct PointGeometry {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

/// Properties of a village in a list answer.
#[derive(Debug, Serialize)]
struct VillageProperties<'a> {
    code: &'a str,
    name: &'a str,
    population: Option<u64>,
    minutes: Option<f64>,
    facility: Option<&'a str>,
    facility_name: Option<&'a str>,
    status: &'static str,
}

/// A village as a GeoJSON Feature, borrowing from the search.
#[derive(Debug, Serialize)]
struct VillageFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: PointGeometry,
    properties: VillageProperties<'a>,
}

/// A GeoJSON FeatureCollection of villages.
#[derive(Debug, Serialize)]
struct VillageCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<VillageFeature<'a>>,
}

/// Counts and population of an underserved answer, for the whole filter.
#[derive(Debug, Default, Serialize)]
struct UnderservedCounts {
    villages: usize,
    /// Known population of the villages; `null` when none is known.
    population: Option<u64>,
    /// Villages whose population is unknown (counted in no total).
    population_unknown: usize,
    within: usize,
    within_population: Option<u64>,
    underserved: usize,
    underserved_population: Option<u64>,
    not_reached: usize,
    outside_surface: usize,
    outside_surface_population: Option<u64>,
}

/// Adds a village's population to a total that stays `None` (unknown) until
/// a known population is added: unknown is never counted as zero.
fn add_population(total: &mut Option<u64>, population: Option<u64>) {
    if let Some(p) = population {
        *total = Some(total.unwrap_or(0) + p);
    }
}

/// The answer of `GET /api/villages/underserved`.
#[derive(Debug, Serialize)]
struct UnderservedAnswer<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    minutes: f64,
    scenario: &'a str,
    direction: &'static str,
    moves: usize,
    sources: &'a str,
    version: u64,
    whatif: Option<&'a str>,
    filter: FilterEcho,
    /// `count` (villages off the surface counted only) or `list`.
    outside: &'static str,
    counts: UnderservedCounts,
    page: Page,
    next: Option<String>,
    features: Vec<VillageFeature<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outside_surface: Option<VillageCollection<'a>>,
}

/// `GET /api/villages/underserved`: villages beyond a travel time, in the
/// filter (`bbox`, `district`), a page at a time; villages off the surface
/// counted, and listed after the underserved ones with `outside=list`.
pub async fn underserved(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let mut allowed = vec!["minutes", "whatif", "outside"];
    allowed.extend(RUN_PARAMS);
    allowed.extend(LIST_PARAMS);
    let p = Params::new(query, &allowed)?;
    p.required("minutes")?;
    let minutes = p
        .number("minutes", 0.0..=f64::MAX, "zero or more minutes")?
        .unwrap_or(0.0);
    let list_outside = match p.get("outside").map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "count") => false,
        Some("list") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "query parameter 'outside': '{other}' is not count or list"
            )));
        }
    };
    let list = ListParams::parse(&p)?;
    let run = RunParams::parse(&p)?;
    let (version, result, sources, whatif) = search_or_whatif(&state, &p, &run).await?;
    let whatif = whatif.map(str::to_owned);
    let (filter, district) = state.access.place_filter(&state, &list).await?;
    let base = crate::tiles::base_url(&state, &headers);
    let pairs = p.0.clone();
    let body = tokio::task::spawn_blocking(move || {
        underserved_body(&UnderservedRequest {
            minutes,
            list_outside,
            list: &list,
            filter: &filter,
            echo: FilterEcho::new(&list, district),
            result: &result,
            sources: &sources,
            version,
            whatif: whatif.as_deref(),
            next: &|offset| page_url(&base, "/api/villages/underserved", &pairs, offset),
        })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(json_bytes(body))
}

/// What an underserved answer is made of.
struct UnderservedRequest<'a> {
    minutes: f64,
    list_outside: bool,
    list: &'a ListParams,
    filter: &'a PlaceFilter,
    echo: FilterEcho,
    result: &'a TravelResult,
    sources: &'a str,
    version: u64,
    whatif: Option<&'a str>,
    next: &'a dyn Fn(usize) -> String,
}

/// The underserved answer, serialized: one pass over the villages counts
/// those the filter selects and notes the underserved (and, when listed, the
/// outside) ones; only the page's features are then built, borrowing from the
/// search, and written out without an intermediate `Value` tree.
fn underserved_body(r: &UnderservedRequest<'_>) -> ApiResult<Vec<u8>> {
    let result = r.result;
    let mut counts = UnderservedCounts::default();
    let (mut beyond, mut outside) = (Vec::new(), Vec::new());
    for (i, (place, a)) in result.places.iter().zip(&result.access).enumerate() {
        if !r.filter.accepts(place.lonlat) {
            continue;
        }
        let population = place.village.population;
        counts.villages += 1;
        counts.population_unknown += usize::from(population.is_none());
        add_population(&mut counts.population, population);
        match (a.status, a.minutes) {
            (AccessStatus::Reached, Some(m)) if m <= r.minutes => {
                counts.within += 1;
                add_population(&mut counts.within_population, population);
            }
            (AccessStatus::Reached | AccessStatus::NotReached, _) => {
                counts.not_reached += usize::from(a.status == AccessStatus::NotReached);
                counts.underserved += 1;
                add_population(&mut counts.underserved_population, population);
                beyond.push(i);
            }
            (AccessStatus::OutsideSurface | AccessStatus::Impassable, _) => {
                counts.outside_surface += 1;
                add_population(&mut counts.outside_surface_population, population);
                if r.list_outside {
                    outside.push(i);
                }
            }
        }
    }
    // A group without villages holds no one: zero, not unknown.
    for (n, total) in [
        (counts.villages, &mut counts.population),
        (counts.within, &mut counts.within_population),
        (counts.underserved, &mut counts.underserved_population),
        (
            counts.outside_surface,
            &mut counts.outside_surface_population,
        ),
    ] {
        if n == 0 {
            *total = Some(0);
        }
    }
    let feature = |i: usize| {
        let place = &result.places[i];
        let a = &result.access[i];
        let v = &place.village;
        let facility = a.source.and_then(|s| result.sources.get(s));
        VillageFeature {
            kind: "Feature",
            geometry: PointGeometry {
                kind: "Point",
                coordinates: [place.lonlat.0, place.lonlat.1],
            },
            properties: VillageProperties {
                code: &v.code,
                name: &v.name,
                population: v.population,
                minutes: a.minutes,
                facility: facility.map(|f| f.code.as_str()),
                facility_name: facility.map(|f| f.name.as_str()),
                status: a.status.reason(),
            },
        }
    };
    let total = beyond.len() + outside.len();
    let page_of = |list: &[usize], first: usize| -> Vec<VillageFeature<'_>> {
        list.iter()
            .enumerate()
            .filter(|(k, _)| r.list.on_page(first + k))
            .map(|(_, &i)| feature(i))
            .collect()
    };
    let features = page_of(&beyond, 0);
    let outside_page = page_of(&outside, beyond.len());
    let returned = features.len() + outside_page.len();
    let answer = UnderservedAnswer {
        kind: "FeatureCollection",
        minutes: r.minutes,
        scenario: &result.scenario,
        direction: direction_text(result.direction),
        moves: result.neighbourhood.moves(),
        sources: r.sources,
        version: r.version,
        whatif: r.whatif,
        filter: FilterEcho {
            bbox: r.echo.bbox,
            district: r.echo.district.clone(),
        },
        outside: if r.list_outside { "list" } else { "count" },
        counts,
        page: Page {
            offset: r.list.offset,
            limit: r.list.limit,
            returned,
            total,
        },
        next: r.list.next_offset(total).map(r.next),
        features,
        outside_surface: r.list_outside.then_some(VillageCollection {
            kind: "FeatureCollection",
            features: outside_page,
        }),
    };
    serde_json::to_vec(&answer).map_err(ApiError::internal)
}

/// Point sources of a GeoJSON body (FeatureCollection, Feature, Point or MultiPoint).
fn point_sources(body: &[u8]) -> ApiResult<Vec<Facility>> {
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not UTF-8: {e}")))?;
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| ApiError::BadRequest(format!("body: {e}")))?;
    let features: Vec<geojson::Feature> = match gj {
        geojson::GeoJson::FeatureCollection(fc) => fc.features,
        geojson::GeoJson::Feature(f) => vec![f],
        geojson::GeoJson::Geometry(g) => vec![geojson::Feature::from(g)],
    };
    let mut out = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let prop = |k: &str| {
            f.properties
                .as_ref()
                .and_then(|p| p.get(k))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        let points: Vec<&geojson::Position> = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::Point { coordinates }) => vec![coordinates],
            Some(geojson::GeometryValue::MultiPoint { coordinates }) => {
                coordinates.iter().collect()
            }
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "body: feature {i}: geometry must be a Point or MultiPoint"
                )));
            }
        };
        for pos in points {
            let c = pos.as_slice();
            let (lon, lat) = (c.first().copied(), c.get(1).copied());
            let (Some(lon), Some(lat)) = (lon, lat) else {
                return Err(ApiError::BadRequest(format!(
                    "body: feature {i}: a point needs longitude and latitude"
                )));
            };
            if !((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)) {
                return Err(ApiError::BadRequest(format!(
                    "body: feature {i}: ({lon}, {lat}) is not a longitude/latitude"
                )));
            }
            let code = prop("code");
            out.push(Facility {
                code: if code.is_empty() {
                    format!("source-{}", out.len() + 1)
                } else {
                    code
                },
                name: prop("name"),
                category: prop("category"),
                birth_care: None,
                lonlat: (lon, lat),
            });
        }
    }
    if out.is_empty() {
        return Err(ApiError::BadRequest(
            "body: no point sources (send a GeoJSON FeatureCollection of Points)".to_owned(),
        ));
    }
    Ok(out)
}

/// Isochrone bands of `bands=30,60,...` (minutes), sorted.
fn parse_bands(p: &Params) -> ApiResult<Vec<f64>> {
    let Some(text) = p.get("bands").filter(|t| !t.is_empty()) else {
        return Ok(DEFAULT_BANDS.to_vec());
    };
    let mut bands = Vec::new();
    for part in text.split(',') {
        match part.trim().parse::<f64>() {
            Ok(b) if b.is_finite() && b > 0.0 => bands.push(b),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "query parameter 'bands': '{}' is not a positive number of minutes",
                    part.trim()
                )));
            }
        }
    }
    bands.sort_by(f64::total_cmp);
    bands.dedup();
    if bands.len() > MAX_BANDS {
        return Err(ApiError::BadRequest(format!(
            "query parameter 'bands': at most {MAX_BANDS} bands"
        )));
    }
    Ok(bands)
}

/// `POST /api/catchments`: isochrones around what-if point sources.
pub async fn catchments(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let p = Params::new(
        query,
        &["preset", "bands", "max_minutes", "direction", "moves"],
    )?;
    let run = RunParams::parse(&p)?;
    let bands = parse_bands(&p)?;
    let max_minutes = p.number(
        "max_minutes",
        f64::MIN_POSITIVE..=f64::MAX,
        "a positive number of minutes",
    )?;
    let sources = point_sources(&body)?;
    let version = state.access.version(&state).await?;
    let inputs = state.access.inputs(&state, version).await?;
    let out = tokio::task::spawn_blocking(move || -> Result<Value, TravelError> {
        let surface = inputs.surface(&run.scenario)?;
        let result = inputs.run_on(
            &surface,
            &inputs.scenario_name(&run.scenario),
            &sources,
            &format!("the {} point sources", sources.len()),
            RunSettings {
                direction: run.direction,
                max_minutes,
                neighbourhood: run.neighbourhood,
            },
        )?;
        drop(surface);
        let direction = direction_text(result.direction);
        let features: Vec<Value> = bands
            .iter()
            .map(|&m| {
                let iso = result.isochrone(m);
                json!({
                    "type": "Feature",
                    "geometry": iso.geometry,
                    "properties": {
                        "minutes": m,
                        "area_km2": iso.area_km2,
                        "scenario": result.scenario,
                        "direction": direction,
                    },
                })
            })
            .collect();
        let listed: Vec<Value> = result
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let skipped = result.times.skipped_sources.contains(&i);
                json!({
                    "code": s.code,
                    "name": s.name,
                    "lon": deg(s.lonlat.0),
                    "lat": deg(s.lonlat.1),
                    "status": if skipped { "outside the surface" } else { "source" },
                })
            })
            .collect();
        Ok(json!({
            "type": "FeatureCollection",
            "scenario": result.scenario,
            "direction": direction,
            "moves": result.neighbourhood.moves(),
            "max_minutes": max_minutes,
            "version": version,
            "sources": listed,
            "features": features,
        }))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(out))
}
