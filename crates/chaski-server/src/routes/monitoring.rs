//! Monitoring over time: `GET /api/indicators`, `GET /api/did` and
//! `GET /api/visits/due` (see `chaski_analysis::monitoring`).
//!
//! Indicators and the difference in differences follow the roles of the
//! household aggregates: no token, a wrong token, `public` and `analyst` get
//! protected aggregates over every household (by community or district;
//! suppression of small and complementary cells in linked tables, counts
//! rounded to 5); `admin` exact figures over every household; `cha` and
//! `facility` exact figures over their own scope. Exact answers carry
//! `Cache-Control: private, no-store` and are written to the access log.
//!
//! The visit schedule is behind the household guard: no token or a wrong
//! one is 401; a CHA gets its own sector's list (codes, never names), an
//! admin every list, a facility and an analyst counts per CHA sector
//! (protected). Every answer is written to the access log before it is sent.

use crate::auth::{Caller, OptionalCaller};
use crate::error::ApiError;
use crate::guard::NO_STORE;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chaski_analysis::monitoring::config::Indicators;
use chaski_analysis::monitoring::data::Records;
use chaski_analysis::monitoring::did::did;
use chaski_analysis::monitoring::table::{By, Period, indicator_table};
use chaski_analysis::monitoring::visits::{Due, due_visits};
use chaski_core::auth::{AccessRecord, Role};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Endpoint names in the access log.
pub const INDICATORS: &str = "/api/indicators";
/// See [`INDICATORS`].
pub const DID: &str = "/api/did";
/// See [`INDICATORS`].
pub const VISITS: &str = "/api/visits/due";
/// See [`INDICATORS`].
pub const INDICATOR_TILES: &str = "/tiles/indicators";

const MAX_PERMUTATIONS: usize = 9_999;

fn params(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    known: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let Query(list) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut out = HashMap::new();
    for (k, v) in list {
        if !known.contains(&k.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown parameter '{k}' (known: {})",
                known.join(", ")
            )));
        }
        out.insert(k, v);
    }
    Ok(out)
}

fn indicators(state: &AppState) -> Result<Indicators, ApiError> {
    match &state.config.indicators {
        None => Ok(Indicators::defaults()),
        Some(text) => Indicators::parse(text).map_err(ApiError::internal),
    }
}

/// Whether the caller's answer is a protected aggregate.
fn protected(caller: &Caller) -> bool {
    !caller.access.role.sees_households()
}

async fn log(
    state: &AppState,
    caller: &Caller,
    what: &'static str,
    count: u64,
    detail: String,
) -> Result<(), ApiError> {
    let Some(tokens) = state.tokens.clone() else {
        return Err(ApiError::internal(
            "household data answered without a token store to log them in",
        ));
    };
    let who = caller.token_id().map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        tokens.log(&AccessRecord {
            who: who.as_deref(),
            what,
            count,
            status: 200,
            detail: Some(&detail),
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

fn private(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    res
}

/// `GET /api/indicators?by=&period=&indicators=&format=csv|json`.
pub async fn indicators_table(
    State(state): State<AppState>,
    OptionalCaller(caller): OptionalCaller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = params(query, &["by", "period", "indicators", "format"])?;
    let ind = indicators(&state)?;
    let by = By::parse(p.get("by").map_or("community", String::as_str))?;
    let period = Period::parse(p.get("period").map_or("round", String::as_str))?;
    let csv = match p.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format: '{other}' is not csv or json"
            )));
        }
    };
    let ids = p.get("indicators").cloned();
    if let Err(e) = ind.select(ids.as_deref()) {
        return Err(ApiError::BadRequest(format!("indicators: {e}")));
    }
    let prot = protected(&caller);
    if !caller.access.violence
        && ind
            .select(ids.as_deref())
            .is_ok_and(|s| s.iter().any(|i| i.reads_violence()))
    {
        return Err(ApiError::Forbidden(
            "indicators: an indicator reads violence_risk, which needs a token with the violence grant".into(),
        ));
    }
    let st = state.clone();
    let access = caller.access.clone();
    let design = ind.design.clone();
    let table = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let records = Records::from_store(st.store.as_ref(), &access, &design.group_field)?;
        let sel = ind.select(ids.as_deref()).map_err(ApiError::BadRequest)?;
        Ok(indicator_table(&records, &sel, by, period, prot)?)
    })
    .await
    .map_err(ApiError::internal)??;
    let res = if csv {
        (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            table.to_csv(),
        )
            .into_response()
    } else {
        Json(&table).into_response()
    };
    if prot {
        return Ok(res);
    }
    log(
        &state,
        &caller,
        INDICATORS,
        table.rows.len() as u64,
        format!("by={} period={}", by.as_str(), period.as_str()),
    )
    .await?;
    Ok(private(res))
}

/// `GET /api/did?indicators=&baseline=&endline=&permutations=&seed=`.
pub async fn did_table(
    State(state): State<AppState>,
    OptionalCaller(caller): OptionalCaller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = params(
        query,
        &["indicators", "baseline", "endline", "permutations", "seed"],
    )?;
    let ind = indicators(&state)?;
    let mut design = ind.design.clone();
    let int = |name: &str| -> Result<Option<i64>, ApiError> {
        p.get(name)
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| {
                    ApiError::BadRequest(format!("{name}: '{v}' is not a whole number"))
                })
            })
            .transpose()
    };
    if let Some(b) = int("baseline")? {
        design.baseline = b;
    }
    if let Some(e) = int("endline")? {
        design.endline = e;
    }
    if design.baseline == design.endline {
        return Err(ApiError::BadRequest(format!(
            "baseline and endline are both round {}",
            design.baseline
        )));
    }
    let permutations = int("permutations")?.unwrap_or(999);
    if !(0..=MAX_PERMUTATIONS as i64).contains(&permutations) {
        return Err(ApiError::BadRequest(format!(
            "permutations: {permutations} is not between 0 and {MAX_PERMUTATIONS}"
        )));
    }
    let seed = int("seed")?.unwrap_or(1997) as u64;
    let ids = p.get("indicators").cloned();
    let sel_ok = ind
        .select(ids.as_deref())
        .map_err(|e| ApiError::BadRequest(format!("indicators: {e}")))?;
    if !caller.access.violence && sel_ok.iter().any(|i| i.reads_violence()) {
        return Err(ApiError::Forbidden(
            "indicators: an indicator reads violence_risk, which needs a token with the violence grant".into(),
        ));
    }
    let prot = protected(&caller);
    let st = state.clone();
    let access = caller.access.clone();
    let d2 = design.clone();
    let rows = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let records = Records::from_store(st.store.as_ref(), &access, &d2.group_field)?;
        let sel = ind.select(ids.as_deref()).map_err(ApiError::BadRequest)?;
        Ok(sel
            .iter()
            .map(|i| did(&records, i, &d2, permutations as usize, seed, prot))
            .collect::<Vec<_>>())
    })
    .await
    .map_err(ApiError::internal)??;
    let res = Json(json!({
        "design": design,
        "permutations": permutations,
        "seed": seed,
        "protected": prot,
        "std_error": "CR1 (G/(G-1)·(N-1)/(N-K)), clustered by community",
        "indicators": rows,
    }))
    .into_response();
    if prot {
        return Ok(res);
    }
    log(
        &state,
        &caller,
        DID,
        rows.len() as u64,
        format!("baseline={} endline={}", design.baseline, design.endline),
    )
    .await?;
    Ok(private(res))
}

/// `GET /api/visits/due?every=30&as_of=YYYY-MM-DD`.
pub async fn visits_due(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if caller.access.role == Role::Public {
        return Err(ApiError::Unauthorized(
            "the visit schedule needs a token (CHA: its sector's list; facility and analyst: counts per CHA)".into(),
        ));
    }
    let p = params(query, &["every", "as_of"])?;
    let every: u32 = match p.get("every") {
        None => 30,
        Some(v) => v
            .trim()
            .parse()
            .ok()
            .filter(|&d| (1..=3650).contains(&d))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "every: '{v}' is not a number of days from 1 to 3650"
                ))
            })?,
    };
    let as_of = match p.get("as_of") {
        Some(v) => chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
            .map_err(|_| ApiError::BadRequest(format!("as_of: '{v}' is not a date YYYY-MM-DD")))?,
        None => chrono::NaiveDate::parse_from_str(
            &chaski_analysis::report::peru_date(chaski_core::auth::now_unix()),
            "%Y-%m-%d",
        )
        .map_err(ApiError::internal)?,
    };
    let st = state.clone();
    let access = caller.access.clone();
    let due = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let records = Records::from_store(st.store.as_ref(), &access, "group")?;
        Ok(due_visits(&records, access.role, as_of, every))
    })
    .await
    .map_err(ApiError::internal)??;
    let count = match &due {
        Due::List(l) => l.len() as u64,
        _ => 0,
    };
    log(
        &state,
        &caller,
        VISITS,
        count,
        format!("every={every} as_of={as_of}"),
    )
    .await?;
    Ok(Json(due.to_json(as_of, every)))
}

/// The query of `GET /tiles/indicators/{z}/{x}/{y}`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorTileQuery {
    /// Indicator id (one of the indicator file's).
    pub indicator: String,
    /// Survey round (default: the design's endline).
    pub round: Option<i64>,
    /// Data version of the URL (ignored: the layer follows the store).
    pub v: Option<u64>,
}

/// `GET /tiles/indicators/{z}/{x}/{y}[.mvt|.pbf]?indicator=ID&round=N`: one
/// MVT layer `indicators`, a point per community with the cell of the
/// indicator table by community and round (`/api/indicators` for the same
/// caller), the change between baseline and endline and the group.
pub async fn indicator_tile(
    State(state): State<AppState>,
    axum::extract::Path((z, x, y)): axum::extract::Path<(String, String, String)>,
    OptionalCaller(caller): OptionalCaller,
    query: Result<Query<IndicatorTileQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let coord = crate::params::parse_coord(&z, &x, &y, state.config.max_zoom)?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ind = indicators(&state)?;
    let Some(indicator) = ind.find(q.indicator.trim()) else {
        return Err(ApiError::BadRequest(format!(
            "indicator: no indicator '{}' (known: {})",
            q.indicator,
            ind.list
                .iter()
                .map(|i| i.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    if !caller.access.violence && indicator.reads_violence() {
        return Err(ApiError::Forbidden(
            "indicator: it reads violence_risk, which needs a token with the violence grant".into(),
        ));
    }
    let id = indicator.id.clone();
    let round = q.round.unwrap_or(ind.design.endline);
    let prot = protected(&caller);
    let layer = state
        .indicator_layers
        .layer(ind, &id, round, &caller.access, prot)
        .await?;
    let source = Arc::clone(&layer.source);
    let (body, count) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let count = source
            .layer_features(coord, &chaski_tiles::RenderOptions::default())
            .map_err(ApiError::internal)?
            .map_or(0, |l| l.feature_count());
        Ok((
            crate::render::render_sources(&[source.as_ref()], coord)?,
            count,
        ))
    })
    .await
    .map_err(ApiError::internal)??;
    let mut res = if body.is_empty() {
        crate::render::empty_status(state.config.empty_tile).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, crate::render::MVT_MIME)],
            bytes::Bytes::from(body),
        )
            .into_response()
    };
    res.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Authorization"),
    );
    if prot {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, state.tile_cache_control(false));
        return Ok(res);
    }
    if count > 0 {
        log(
            &state,
            &caller,
            INDICATOR_TILES,
            count as u64,
            format!("indicator={id} round={round} z={}", coord.z()),
        )
        .await?;
    }
    Ok(private(res))
}
