//! `POST /api/siting`: where to open maternity waiting homes, as `chaski site`
//! answers it (one pipeline, [`chaski_analysis::siting::plan`]), on the
//! store's DEM and its public layers (facilities and villages: every caller
//! may ask).
//!
//! The body is a JSON object whose members have the names of the command's
//! options with `_`: `model`, `homes`, `minutes`, `candidates` or
//! `candidate_points` (a GeoJSON FeatureCollection of Points with a `code`
//! and optionally a `name`, at most 5,000), `existing`
//! (array of codes), `birth_rate`, `demand_per_village` or
//! `demand_households` (a numeric household field such as `pregnant`), `matrix_minutes`,
//! `referral_minutes`, `referral_preset`, `beds`, `stay_days`, `preset`
//! (travel scenario of the villages, default walking), `heuristic` and
//! `time_limit` (seconds, at most [`MAX_TIME_LIMIT_S`]). An unknown member or a
//! bad value is a 400 naming it; a siting that cannot be posed (an unknown
//! existing home, no candidate, no demand) a 422.
//!
//! The answer is the `siting.json` of the command plus `homes` (GeoJSON of the
//! open homes) and `villages` (GeoJSON of the villages with their home,
//! minutes and births served). The work runs on the blocking pool. Answers
//! are cached per data version, body and (with household demand) the
//! caller's access; the candidates' matrix per data version, scenario,
//! candidates, matrix limit and referral, so that asking again with other
//! homes, another model objective or another demand only solves.
//!
//! **Household demand** (`demand_households`) follows the rules of
//! [`chaski_analysis::siting::households`]: a caller without a token gets 401;
//! an admin counts every household, a CHA or facility token only the
//! households of its own scope (exactly); an analyst counts every household
//! through the published table (cells under 5 suppressed). Such answers are
//! `Cache-Control: private, no-store`, and each is written to the access log
//! with the token id.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::answers::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized, Unprocessable,
};
use crate::guard::NO_STORE;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chaski_analysis::siting::SolveOptions;
use chaski_analysis::siting::households::HouseholdDemand;
use chaski_analysis::siting::plan::{
    CandidateKind, Candidates, DEFAULT_BIRTH_RATE, DEFAULT_STAY_DAYS, Demand, Model, PlanError,
    Referral, Request, Site, candidate_matrix, plan_with,
};
use chaski_analysis::travel::vocab::Preset;
use chaski_core::auth::{AccessRecord, Role};
use chaski_core::layer::LayerKind;
use chaski_core::store::Store;
use serde::Deserialize;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Largest solver time limit a request may ask, seconds.
pub const MAX_TIME_LIMIT_S: f64 = 60.0;

/// The endpoint, as the access log names it.
const ENDPOINT: &str = "POST /api/siting";

/// Largest body, bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body of a siting request.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SitingRequest)]
struct Body {
    /// The model (default `covering`).
    #[schema(schema_with = model_schema)]
    model: Option<String>,
    /// New homes to open (default 1; at least 1 except for `set-covering`).
    #[schema(minimum = 0)]
    homes: Option<usize>,
    /// Threshold, minutes (default 120).
    #[schema(exclusive_minimum = 0)]
    minutes: Option<f64>,
    /// Candidate sites (default `birth-care`); or give `candidate_points`.
    #[schema(schema_with = candidates_schema)]
    candidates: Option<String>,
    /// Candidate sites as a GeoJSON FeatureCollection of Points with a
    /// `code` and optionally a `name` (at most 5,000).
    candidate_points: Option<serde_json::Value>,
    /// Codes of candidates that are existing homes (always open).
    #[serde(default)]
    existing: Vec<String>,
    /// Births per person per year (default 0.020); one of `birth_rate`,
    /// `demand_per_village`, `demand_households`.
    #[schema(exclusive_minimum = 0, exclusive_maximum = 1)]
    birth_rate: Option<f64>,
    /// The same demand for every village.
    #[schema(exclusive_minimum = 0)]
    demand_per_village: Option<f64>,
    /// A numeric household field (such as `pregnant`) counted per village: needs a token.
    demand_households: Option<String>,
    /// Largest time kept in the candidates' matrix, minutes (at least `minutes`).
    matrix_minutes: Option<f64>,
    /// Two levels: homes within this many minutes of complete obstetric care.
    #[schema(exclusive_minimum = 0)]
    referral_minutes: Option<f64>,
    /// Travel scenario of the referral (default `motorised`).
    #[schema(schema_with = preset_schema)]
    referral_preset: Option<String>,
    /// Beds of each home (the capacitated model).
    beds: Option<u32>,
    /// Days a woman stays (default 14).
    #[schema(exclusive_minimum = 0, maximum = 365)]
    stay_days: Option<f64>,
    /// Travel scenario of the villages (default `walking`).
    #[schema(schema_with = preset_schema)]
    preset: Option<String>,
    /// Heuristics and bounds only, without the MILP solver.
    heuristic: Option<bool>,
    /// Solver time limit, seconds (default and most: 60).
    #[schema(exclusive_minimum = 0, maximum = 60)]
    time_limit: Option<f64>,
}

/// Closed vocabularies of the siting body, as the API description lists them.
pub(crate) mod words {
    use crate::params::doc::Words;
    use chaski_analysis::siting::plan::{CandidateKind, Model};

    /// `model`.
    pub(crate) const MODEL: Words = Words {
        words: &["covering", "p-median", "set-covering", "capacitated"],
        accepts: |w| w.parse::<Model>().is_ok(),
    };
    /// `candidates`.
    pub(crate) const CANDIDATES: Words = Words {
        words: &["birth-care", "facilities", "villages"],
        accepts: |w| w.parse::<CandidateKind>().is_ok(),
    };
}

fn model_schema() -> utoipa::openapi::schema::Object {
    crate::params::doc::described(&words::MODEL, "The model (default `covering`).")
}
fn candidates_schema() -> utoipa::openapi::schema::Object {
    crate::params::doc::described(
        &words::CANDIDATES,
        "Candidate sites (default `birth-care`); or give `candidate_points`.",
    )
}
fn preset_schema() -> utoipa::openapi::schema::Object {
    crate::params::doc::described(
        &crate::params::doc::PRESET,
        "Travel scenario (`preset`: of the villages, default `walking`; `referral_preset`: of the referral, default `motorised`).",
    )
}

/// The answer of `POST /api/siting`, as the API description shows it (the
/// `siting.json` of `chaski site`, with `homes` and `villages`).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = SitingAnswer)]
pub struct SitingAnswerDoc {
    /// The homes open, as GeoJSON.
    pub homes: serde_json::Value,
    /// The villages with their home, minutes and births served, as GeoJSON.
    pub villages: serde_json::Value,
}

fn word<T: FromStr>(member: &str, v: Option<&String>, default: T) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    v.map_or(Ok(default), |s| {
        s.parse()
            .map_err(|e| ApiError::BadRequest(format!("member '{member}': {e}")))
    })
}

/// The request, the scenario and whether to use the MILP solver.
fn request(b: &Body) -> Result<(Request, Preset, bool), ApiError> {
    let demands = [
        b.birth_rate.is_some(),
        b.demand_per_village.is_some(),
        b.demand_households.is_some(),
    ];
    if demands.iter().filter(|d| **d).count() > 1 {
        return Err(ApiError::BadRequest(
            "members 'birth_rate', 'demand_per_village' and 'demand_households': give one of them"
                .into(),
        ));
    }
    if b.demand_households
        .as_deref()
        .is_some_and(|f| f.trim().is_empty())
    {
        return Err(ApiError::BadRequest(
            "member 'demand_households': name a numeric household field, such as 'pregnant'".into(),
        ));
    }
    let limit = b.time_limit.unwrap_or(MAX_TIME_LIMIT_S);
    if !(limit > 0.0 && limit <= MAX_TIME_LIMIT_S) {
        return Err(ApiError::BadRequest(format!(
            "member 'time_limit' {limit}: must be a number of seconds in (0, {MAX_TIME_LIMIT_S}]"
        )));
    }
    let referral_preset = word(
        "referral_preset",
        b.referral_preset.as_ref(),
        Preset::Motorised,
    )?;
    let request = Request {
        model: word("model", b.model.as_ref(), Model::Covering)?,
        homes: b.homes.unwrap_or(1),
        minutes: b.minutes.unwrap_or(120.0),
        candidates: match &b.candidate_points {
            Some(points) => {
                if b.candidates.is_some() {
                    return Err(ApiError::BadRequest(
                        "members 'candidates' and 'candidate_points': give one of them".into(),
                    ));
                }
                Candidates::Points(candidate_points(points)?)
            }
            None => Candidates::Kind(word(
                "candidates",
                b.candidates.as_ref(),
                CandidateKind::BirthCare,
            )?),
        },
        existing: b.existing.clone(),
        demand: match b.demand_per_village {
            Some(d) => Demand::Uniform(d),
            None => Demand::BirthRate(b.birth_rate.unwrap_or(DEFAULT_BIRTH_RATE)),
        },
        matrix_minutes: b.matrix_minutes,
        referral: b.referral_minutes.map(|m| Referral {
            max_minutes: m,
            scenario: referral_preset.scenario(),
        }),
        beds: b.beds,
        stay_days: b.stay_days.unwrap_or(DEFAULT_STAY_DAYS),
        solve: SolveOptions {
            time_limit: Duration::from_secs_f64(limit),
            ..SolveOptions::default()
        },
    };
    let preset = word("preset", b.preset.as_ref(), Preset::Walking)?;
    Ok((request, preset, !b.heuristic.unwrap_or(false)))
}

/// Most candidate points one request may give.
const MAX_POINTS: usize = 5_000;

/// The candidate points of a GeoJSON FeatureCollection of Points with a
/// `code` (and optionally a `name`) in their properties.
fn candidate_points(v: &serde_json::Value) -> Result<Vec<Site>, ApiError> {
    let bad = |what: String| ApiError::BadRequest(format!("member 'candidate_points': {what}"));
    let fc = match v.to_string().parse::<geojson::GeoJson>() {
        Ok(geojson::GeoJson::FeatureCollection(fc)) => fc,
        Ok(_) => return Err(bad("not a GeoJSON FeatureCollection".into())),
        Err(e) => return Err(bad(format!("not a GeoJSON FeatureCollection: {e}"))),
    };
    if fc.features.len() > MAX_POINTS {
        return Err(bad(format!(
            "{} points; at most {MAX_POINTS}",
            fc.features.len()
        )));
    }
    fc.features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let point = match f.geometry.as_ref().map(|g| &g.value) {
                Some(geojson::GeometryValue::Point { coordinates }) if coordinates.len() >= 2 => {
                    (coordinates[0], coordinates[1])
                }
                _ => return Err(bad(format!("feature {i}: not a Point"))),
            };
            if !(-180.0..=180.0).contains(&point.0) || !(-90.0..=90.0).contains(&point.1) {
                return Err(bad(format!(
                    "feature {i}: [{}, {}] is not a longitude and latitude",
                    point.0, point.1
                )));
            }
            let prop = |name: &str| {
                f.property(name).and_then(|p| match p {
                    serde_json::Value::String(s) => Some(s.trim().to_owned()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            let code = prop("code")
                .filter(|c| !c.is_empty())
                .ok_or_else(|| bad(format!("feature {i}: properties.code missing")))?;
            Ok(Site {
                code,
                name: prop("name").unwrap_or_default(),
                lonlat: Some(point),
            })
        })
        .collect()
}

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Option { .. } => Self::BadRequest(format!("member {e}")),
            PlanError::Travel(t) => t.into(),
            other => Self::Unprocessable(other.to_string()),
        }
    }
}

/// A row of the access log for a siting on household demand (served or
/// refused). A refusal whose row cannot be written is logged and still
/// refused; an answer whose row cannot be written is not given (500).
async fn audit(
    state: &AppState,
    who: Option<&str>,
    status: u16,
    field: &str,
) -> Result<(), ApiError> {
    let Some(tokens) = state.tokens.clone() else {
        return Ok(());
    };
    let who = who.map(str::to_owned);
    let detail = format!("demand_households={field}");
    let written = tokio::task::spawn_blocking(move || {
        tokens.log(&AccessRecord {
            who: who.as_deref(),
            what: ENDPOINT,
            count: 0,
            status,
            detail: Some(&detail),
        })
    })
    .await;
    if matches!(written, Ok(Ok(()))) {
        return Ok(());
    }
    tracing::error!(endpoint = ENDPOINT, status, "access log row not written");
    Err(ApiError::internal("access log row not written"))
}

/// The household layers of the store.
fn household_layers(store: &dyn Store) -> Result<Vec<chaski_core::Layer>, ApiError> {
    let mut layers = Vec::new();
    for info in store.layers().map_err(ApiError::internal)? {
        if info.kind == LayerKind::Households {
            layers.push(store.read_layer(&info.name).map_err(ApiError::internal)?);
        }
    }
    Ok(layers)
}

/// `POST /api/siting`.
#[utoipa::path(
    post,
    path = "/api/siting",
    tag = "siting",
    summary = "Where to open maternity waiting homes",
    description = "Where to open maternity waiting homes (casas maternas), as `chaski site` \
        answers it: the homes chosen, births within reach before and after, the gain of each \
        home, objective, bound and gap. An unknown member or a bad value is a 400 naming it; a \
        siting that cannot be posed is a 422. Demand from households needs a token (401 \
        without); such answers are `Cache-Control: private, no-store` and logged.",
    request_body(content = Body, content_type = "application/json",
        description = "The options of `chaski site`, with `_` (every member optional; an empty body is the defaults)."),
    responses(
        (status = 200, description = "The plan.", body = SitingAnswerDoc),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
    ),
    security((), ("bearer" = [])),
)]
pub async fn siting(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::BadRequest(format!("body: {}", e.body_text())))?;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(format!(
            "body: more than the {MAX_BODY_BYTES} bytes allowed"
        )));
    }
    let parsed: Body = if body.iter().all(u8::is_ascii_whitespace) {
        Body::default()
    } else {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body)).map_err(
            |e| match e.path().iter().next() {
                Some(serde_path_to_error::Segment::Map { .. }) => {
                    ApiError::BadRequest(format!("body: member '{}': {}", e.path(), e.inner()))
                }
                _ => ApiError::BadRequest(format!("body: not a siting request: {}", e.inner())),
            },
        )?
    };
    let (mut request, preset, exact) = request(&parsed)?;
    let households = parsed.demand_households.clone();
    let caller = match (&households, caller) {
        (None, _) => None,
        (Some(field), Err(e)) => {
            let _refused_anyway = audit(&state, None, e.status().as_u16(), field).await;
            return Err(e);
        }
        (Some(field), Ok(c)) if c.role() == Role::Public => {
            let _refused_anyway = audit(&state, None, 401, field).await;
            return Err(ApiError::Unauthorized(
                "member 'demand_households': demand from households needs a token \
                 (admin, CHA, facility or analyst); without one, use births from population"
                    .into(),
            ));
        }
        (Some(_), Ok(c)) => Some(c),
    };
    let version = state.access.version().await?;
    let scope = caller
        .as_ref()
        .map(|c| format!("{} {}", c.role(), c.access.scope_key()))
        .unwrap_or_default();
    let key = (version, format!("{parsed:?} {scope}"));
    let access = Arc::clone(&state.access);
    let store = Arc::clone(&state.store);
    let who = caller
        .as_ref()
        .and_then(|c| c.token_id().map(str::to_owned));
    let rights = caller.as_ref().map(|c| c.access.clone());
    let answer =
        state
            .access
            .siting
            .try_get_with(key, async move {
                request.check()?;
                let inputs = access.inputs(version).await?;
                // The matrix, kept for any number of homes, objective or demand.
                let matrix_key = (
                    version,
                    format!(
                        "{preset:?} {:?} {} {:?}",
                        request.candidates,
                        request.matrix_limit(),
                        request.referral
                    ),
                );
                let (for_matrix, matrix_inputs) = (request.clone(), Arc::clone(&inputs));
                let matrix = access
                    .siting_matrices
                    .try_get_with(matrix_key, async move {
                        tokio::task::spawn_blocking(move || {
                            let t0 = std::time::Instant::now();
                            let surface = matrix_inputs.surface(&preset.scenario())?;
                            let m = candidate_matrix(&matrix_inputs, &surface, &for_matrix)?;
                            tracing::info!(elapsed = ?t0.elapsed(), candidates = m.candidates.len(), "siting matrix");
                            Ok::<_, ApiError>(Arc::new(m))
                        })
                        .await
                        .map_err(ApiError::internal)?
                    })
                    .await
                    .map_err(|e: Arc<ApiError>| (*e).clone())?;
                tokio::task::spawn_blocking(move || {
                    let t0 = std::time::Instant::now();
                    if let (Some(field), Some(rights)) = (&households, &rights) {
                        let villages: Vec<String> =
                            inputs.places.iter().map(|p| p.village.code.clone()).collect();
                        let layers = household_layers(store.as_ref())?;
                        request.demand = Demand::Households(HouseholdDemand::of(
                            &layers, field, rights, &villages,
                        )?);
                    }
                    let milp = chaski_milp::Highs;
                    let backend: Option<&dyn chaski_analysis::siting::milp::MilpBackend> =
                        exact.then_some(&milp as _);
                    let p = plan_with(&inputs, &request, &matrix, backend)?;
                    let mut json = p.to_json();
                    json["homes"] = p.sites_geojson();
                    json["villages"] = p.villages_geojson();
                    tracing::info!(elapsed = ?t0.elapsed(), model = %request.model, "siting solved");
                    Ok::<_, ApiError>(Arc::new(json.to_string()))
                })
                .await
                .map_err(ApiError::internal)?
            })
            .await
            .map_err(|e: Arc<ApiError>| (*e).clone())?;
    if let Some(field) = &parsed.demand_households {
        audit(&state, who.as_deref(), 200, field).await?;
        return Ok((
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, NO_STORE),
            ],
            answer.as_str().to_owned(),
        )
            .into_response());
    }
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        answer.as_str().to_owned(),
    )
        .into_response())
}
