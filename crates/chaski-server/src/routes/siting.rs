//! `POST /api/siting`: where to open maternity waiting homes, as `chaski site`
//! answers it (one pipeline, [`chaski_analysis::siting::plan`]), on the
//! store's DEM and its public layers (facilities and villages: no household
//! data, so every caller may ask).
//!
//! The body is a JSON object whose members have the names of the command's
//! options with `_`: `model`, `homes`, `minutes`, `candidates`, `existing`
//! (array of codes), `birth_rate` or `demand_per_village`, `matrix_minutes`,
//! `referral_minutes`, `referral_preset`, `beds`, `stay_days`, `preset`
//! (travel scenario of the villages, default walking), `heuristic` and
//! `time_limit` (seconds, at most [`MAX_TIME_LIMIT_S`]). An unknown member or a
//! bad value is a 400 naming it; a siting that cannot be posed (an unknown
//! existing home, no candidate, no demand) a 422.
//!
//! The answer is the `siting.json` of the command plus `homes` (GeoJSON of the
//! open homes) and `villages` (GeoJSON of the villages with their home,
//! minutes and births served). The work runs on the blocking pool, and
//! answers are cached per data version and body.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chaski_analysis::siting::SolveOptions;
use chaski_analysis::siting::plan::{
    CandidateKind, Candidates, DEFAULT_BIRTH_RATE, DEFAULT_STAY_DAYS, Demand, Model, PlanError,
    Referral, Request, plan,
};
use chaski_analysis::travel::vocab::Preset;
use serde::Deserialize;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Largest solver time limit a request may ask, seconds.
pub const MAX_TIME_LIMIT_S: f64 = 60.0;

/// Largest body, bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The body of a siting request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    model: Option<String>,
    homes: Option<usize>,
    minutes: Option<f64>,
    candidates: Option<String>,
    #[serde(default)]
    existing: Vec<String>,
    birth_rate: Option<f64>,
    demand_per_village: Option<f64>,
    matrix_minutes: Option<f64>,
    referral_minutes: Option<f64>,
    referral_preset: Option<String>,
    beds: Option<u32>,
    stay_days: Option<f64>,
    preset: Option<String>,
    heuristic: Option<bool>,
    time_limit: Option<f64>,
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
    if b.birth_rate.is_some() && b.demand_per_village.is_some() {
        return Err(ApiError::BadRequest(
            "members 'birth_rate' and 'demand_per_village': give one of them".into(),
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
        candidates: Candidates::Kind(word(
            "candidates",
            b.candidates.as_ref(),
            CandidateKind::BirthCare,
        )?),
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

impl From<PlanError> for ApiError {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Option { .. } => Self::BadRequest(format!("member {e}")),
            PlanError::Travel(t) => t.into(),
            other => Self::Unprocessable(other.to_string()),
        }
    }
}

/// `POST /api/siting`.
pub async fn siting(
    State(state): State<AppState>,
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
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("body: not a siting request: {e}")))?
    };
    let (request, preset, exact) = request(&parsed)?;
    let version = state.access.version().await?;
    let key = (version, format!("{parsed:?}"));
    let access = Arc::clone(&state.access);
    let answer = state
        .access
        .siting
        .try_get_with(key, async move {
            let inputs = access.inputs(version).await?;
            tokio::task::spawn_blocking(move || {
                let t0 = std::time::Instant::now();
                let milp = chaski_milp::Highs;
                let backend: Option<&dyn chaski_analysis::siting::milp::MilpBackend> =
                    exact.then_some(&milp as _);
                let p = plan(&inputs, &preset.scenario(), &request, backend)?;
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
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        answer.as_str().to_owned(),
    )
        .into_response())
}
