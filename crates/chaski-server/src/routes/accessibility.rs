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
//!   what-if of [`crate::routes::whatif`] (its scenario and sources; the other run
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
//! Searches and their inputs are cached ([`crate::travel`]), so repeated
//! clicks are answered from memory. Grids of more than
//! [`ServerConfig::max_grid_cells`](crate::config::ServerConfig::max_grid_cells)
//! cells are refused with 413.

use crate::error::ApiError;
use crate::error::answers::{
    BadRequest, NotFound, PayloadTooLarge, TooManyRequests, Unprocessable,
};
use crate::params::doc::{CatchmentsQuery, ListQuery, OutsideQuery, RunQuery};
use crate::params::{
    CATCHMENTS_PARAMS, LIST_PARAMS, ListParams, Params, RUN_PARAMS, RunParams, page_url,
    parse_bands, parse_outside,
};
use crate::routes::shared::{
    FacilityRef, FilterEcho, LineStringGeometry, Page, base_url, facility_json, json_bytes,
};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chaski_analysis::travel::village_access::AccessStatus;
use chaski_analysis::travel::{Facility, PlaceFilter, RunSettings, TravelError, TravelResult, deg};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

type ApiResult<T> = Result<T, ApiError>;

/// The search `run` selects, or with `whatif=ID` the what-if's search (its
/// scenario and sources); with the data version, the sources in words and the id.
async fn search_or_whatif<'a>(
    state: &AppState,
    p: &'a Params,
    run: &RunParams,
) -> ApiResult<(u64, Arc<TravelResult>, String, Option<&'a str>)> {
    let Some(id) = p.get("whatif").filter(|w| !w.is_empty()) else {
        let (version, result) = state.access.result(run).await?;
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

/// The answer of `GET /api/accessibility`, as the API description shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessibilityAnswer {
    /// Longitude asked.
    pub lon: f64,
    /// Latitude asked.
    pub lat: f64,
    /// Minutes to the nearest facility (not rounded); null when not reached.
    pub minutes: Option<f64>,
    /// `reached`, `on an impassable cell` or `not reached`.
    pub status: String,
    /// The nearest facility.
    pub facility: Option<FacilityRef>,
    /// The route from the point to the facility.
    pub route: Option<LineStringGeometry>,
    /// Name of the scenario.
    pub scenario: String,
    /// `to the facility` or `from the facility`.
    pub direction: String,
    /// Moves of the search (8, 16 or 24).
    pub moves: usize,
    /// The facilities searched from, in words.
    pub sources: String,
    /// The store's data version of the search.
    pub version: u64,
    /// The what-if answered for, if any.
    pub whatif: Option<String>,
}

/// `GET /api/accessibility`: minutes from a point to the nearest facility, which
/// one, and the route there.
#[utoipa::path(
    get,
    path = "/api/accessibility",
    tag = "accessibility",
    summary = "Minutes from a point to care",
    description = "Minutes from the point to the nearest facility (of the category and birth care \
        asked), that facility and the route, on the store's DEM, paths, roads and rivers. A point \
        on an impassable cell or that no facility reaches is answered with `minutes: null` and its \
        `status`; a point off the travel-time surface is a 422. With `whatif`, the answer is for \
        that what-if (whose scenario and sources are fixed: the run parameters cannot be given).",
    params(
        ("lon" = f64, Query, description = "Longitude, degrees.", minimum = -180, maximum = 180, example = -74.1),
        ("lat" = f64, Query, description = "Latitude, degrees.", minimum = -90, maximum = 90, example = -12.9),
        ("whatif" = Option<String>, Query, description = "Id of a what-if (`POST /api/whatif`)."),
        RunQuery,
    ),
    responses(
        (status = 200, description = "Minutes, facility and route.", body = AccessibilityAnswer),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
    ),
)]
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
                "direction": result.direction.describe(),
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
        "direction": result.direction.describe(),
        "moves": result.neighbourhood.moves(),
        "sources": sources,
        "version": version,
        "whatif": whatif,
    })))
}

/// A GeoJSON Point.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PointGeometry {
    #[serde(rename = "type")]
    kind: &'static str,
    coordinates: [f64; 2],
}

/// Properties of a village in a list answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VillageProperties<'a> {
    code: &'a str,
    name: &'a str,
    population: Option<u64>,
    minutes: Option<f64>,
    facility: Option<&'a str>,
    facility_name: Option<&'a str>,
    status: &'static str,
}

/// A village as a GeoJSON Feature, borrowing from the search.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VillageFeature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: PointGeometry,
    properties: VillageProperties<'a>,
}

/// A GeoJSON FeatureCollection of villages.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VillageCollection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<VillageFeature<'a>>,
}

/// Counts and population of an underserved answer, for the whole filter.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct UnderservedCounts {
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
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnderservedAnswer<'a> {
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
#[utoipa::path(
    get,
    path = "/api/villages/underserved",
    tag = "accessibility",
    summary = "Villages beyond a travel time",
    description = "The villages beyond `minutes` of the nearest facility (or not reached at all), \
        as a GeoJSON FeatureCollection a page at a time, with counts and known population for the \
        whole filter; villages off the surface (or on an impassable cell) are counted apart and \
        never given a time. Population unknown is never counted as zero.",
    params(
        ("minutes" = f64, Query, description = "Threshold, minutes.", minimum = 0, example = 120),
        ("whatif" = Option<String>, Query, description = "Id of a what-if (`POST /api/whatif`)."),
        OutsideQuery,
        RunQuery,
        ListQuery,
    ),
    responses(
        (status = 200, description = "The underserved villages.", body = UnderservedAnswer),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
    ),
)]
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
    let list_outside = parse_outside(&p)?;
    let list = ListParams::parse(&p)?;
    let run = RunParams::parse(&p)?;
    let (version, result, sources, whatif) = search_or_whatif(&state, &p, &run).await?;
    let whatif = whatif.map(str::to_owned);
    let (filter, district) = state.access.place_filter(&list).await?;
    let base = base_url(&state, &headers);
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
        direction: result.direction.describe(),
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

/// Point sources in the body of `POST /api/catchments`: a GeoJSON
/// FeatureCollection of Points (a Feature, a Point or a MultiPoint also do).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "FeatureCollection",
    "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-74.06, -12.96]},
                  "properties": {"code": "NEW-1", "name": "P.S. nuevo"}}]
}))]
pub struct PointSources {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    #[schema(pattern = "^FeatureCollection$")]
    pub kind: String,
    /// The sources.
    #[schema(min_items = 1)]
    pub features: Vec<PointSource>,
}

/// A point source.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PointSource {
    /// `Feature`.
    #[serde(rename = "type")]
    #[schema(pattern = "^Feature$")]
    pub kind: String,
    /// The source.
    pub geometry: PointGeometry,
    /// `code`, `name` and `category`, all optional.
    pub properties: Option<BTreeMap<String, String>>,
}

/// An isochrone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Isochrone {
    /// `Feature`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The area within the band (GeoJSON MultiPolygon or Polygon).
    pub geometry: Value,
    /// `minutes`, `area_km2`, `scenario`, `direction`.
    pub properties: BTreeMap<String, Value>,
}

/// A source as answered by `POST /api/catchments`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceStatus {
    /// Code given (or `source-N`).
    pub code: String,
    /// Name given.
    pub name: String,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// `source`, or `outside the surface` (then not searched from).
    pub status: String,
}

/// The answer of `POST /api/catchments`, as the API description shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CatchmentsAnswer {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name of the scenario.
    pub scenario: String,
    /// `to the facility` or `from the facility`.
    pub direction: String,
    /// Moves of the search.
    pub moves: usize,
    /// The search's limit, minutes.
    pub max_minutes: Option<f64>,
    /// The store's data version.
    pub version: u64,
    /// The sources read from the body.
    pub sources: Vec<SourceStatus>,
    /// One isochrone per band.
    pub features: Vec<Isochrone>,
}

/// `POST /api/catchments`: isochrones around what-if point sources.
#[utoipa::path(
    post,
    path = "/api/catchments",
    tag = "accessibility",
    summary = "Isochrones around point sources",
    description = "The isochrone polygons of the bands around point sources given in the body \
        (facilities that do not exist yet), on the store's travel-time inputs.",
    params(CatchmentsQuery),
    request_body(content = PointSources, content_type = "application/geo+json",
        description = "GeoJSON FeatureCollection of Points (with optional `code`, `name`, `category`)."),
    responses(
        (status = 200, description = "The isochrones.", body = CatchmentsAnswer),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
    ),
)]
pub async fn catchments(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let p = Params::new(query, &CATCHMENTS_PARAMS)?;
    let run = RunParams::parse(&p)?;
    let bands = parse_bands(&p)?;
    let max_minutes = p.number(
        "max_minutes",
        f64::MIN_POSITIVE..=f64::MAX,
        "a positive number of minutes",
    )?;
    let sources = point_sources(&body)?;
    let version = state.access.version().await?;
    let inputs = state.access.inputs(version).await?;
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
        let direction = result.direction.describe();
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
