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
use crate::error::answers::{BadRequest, Forbidden, NotFound, Unauthorized, Unprocessable};
use crate::guard::NO_STORE;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chaski_analysis::monitoring::config::{Indicator, Indicators};
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

pub(crate) fn indicators(state: &AppState) -> Result<Indicators, ApiError> {
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

/// Closed vocabularies of the monitoring endpoints, as the API description lists them.
pub(crate) mod words {
    use crate::params::doc::Words;
    use chaski_analysis::monitoring::table::{By, Period};

    /// `by` of the indicators.
    pub(crate) const BY: Words = Words {
        words: &["community", "sector", "facility", "district"],
        accepts: |w| By::parse(w).is_ok(),
    };
    /// `period` of the indicators.
    pub(crate) const PERIOD: Words = Words {
        words: &["round", "month", "quarter"],
        accepts: |w| Period::parse(w).is_ok(),
    };
    /// `format` of the indicators.
    pub(crate) const FORMAT: Words = Words {
        words: &["json", "csv"],
        accepts: |w| super::csv_format(Some(w)).is_ok(),
    };
}

/// Query parameters of `GET /api/indicators`.
const INDICATOR_PARAMS: [&str; 4] = ["by", "period", "indicators", "format"];
/// Query parameters of `GET /api/did`.
const DID_PARAMS: [&str; 5] = ["indicators", "baseline", "endline", "permutations", "seed"];
/// Query parameters of `GET /api/visits/due`.
const VISIT_PARAMS: [&str; 2] = ["every", "as_of"];

/// The query parameters of the monitoring endpoints: `/api/indicators` (0),
/// `/api/did` (1) and `/api/visits/due` (2).
pub(crate) struct MonitoringQuery<const WHICH: u8>;

impl<const WHICH: u8> utoipa::IntoParams for MonitoringQuery<WHICH> {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::params::doc::{integer, query, text, words};
        use serde_json::json;
        let names: &[&str] = match WHICH {
            0 => &INDICATOR_PARAMS,
            1 => &DID_PARAMS,
            _ => &VISIT_PARAMS,
        };
        let round = || {
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
        };
        names
            .iter()
            .map(|name| match *name {
                "by" => query(name, "Groups of the rows (default `community`; protected answers by community or district only).", words(&words::BY), None),
                "period" => query(name, "Periods of the rows (default `round`).", words(&words::PERIOD), None),
                "format" => query(name, "`json` (default) or `csv`.", words(&words::FORMAT), None),
                "indicators" => query(name, "Indicator ids, comma-separated (default: every indicator).", text(), Some(json!("anaemia,safe_water"))),
                "baseline" => query(name, "Survey round of the baseline (default: the design's).", round(), None),
                "endline" => query(name, "Survey round of the endline (default: the design's).", round(), None),
                "permutations" => query(name, &format!("Permutations of the p-value (default 999, at most {MAX_PERMUTATIONS})."), integer(0, MAX_PERMUTATIONS as u64), None),
                "seed" => query(name, "Seed of the permutations (default 1997).", integer(0, i64::MAX as u64), None),
                "every" => query(name, "Days between visits (default 30).", integer(1, 3650), None),
                "as_of" => query(
                    name,
                    "The day the list is for, `YYYY-MM-DD` (default: today in Peru).",
                    text().pattern(Some("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")),
                    Some(json!("2027-12-31")),
                ),
                other => query(other, "", text(), None),
            })
            .collect()
    }
}

/// An indicator table as the API description shows it (the table is
/// `chaski_analysis::monitoring`'s serde form).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = IndicatorTable)]
pub struct IndicatorTableDoc {
    /// Groups of the rows.
    pub by: String,
    /// Periods of the rows.
    pub period: String,
    /// Whether the figures are protected aggregates.
    pub protected: bool,
    /// The indicators.
    pub indicators: Vec<serde_json::Value>,
    /// The rows: indicator, group, period, numerator, denominator, proportion and its interval, change.
    pub rows: Vec<serde_json::Value>,
}

/// The answer of `GET /api/did`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = DidAnswer)]
pub struct DidDoc {
    /// The design: baseline, endline, group field, intervention and control.
    pub design: serde_json::Value,
    /// Permutations of the p-values.
    pub permutations: i64,
    /// Seed of the permutations.
    pub seed: u64,
    /// Whether the figures are protected aggregates.
    pub protected: bool,
    /// How the standard errors are computed.
    pub std_error: String,
    /// One row per indicator.
    pub indicators: Vec<serde_json::Value>,
}

fn csv_format(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "format: '{other}' is not csv or json"
        ))),
    }
}

/// `GET /api/indicators?by=&period=&indicators=&format=csv|json`.
#[utoipa::path(
    get,
    path = "/api/indicators",
    operation_id = "indicators",
    tag = "monitoring",
    summary = "Indicator table",
    description = "Indicators per group and period with Wilson intervals: protected aggregates \
        (suppression of small and complementary cells, counts rounded to 5) for no token, \
        `public` and `analyst`; exact figures for `admin` (every household) and `cha` and \
        `facility` (their scope), answered `Cache-Control: private, no-store` and logged.",
    params(MonitoringQuery<0>),
    responses(
        (status = 200, description = "The table.", content(
            (IndicatorTableDoc = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
    ),
    security((), ("bearer" = [])),
)]
pub async fn indicators_table(
    State(state): State<AppState>,
    OptionalCaller(caller): OptionalCaller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = params(query, &INDICATOR_PARAMS)?;
    let ind = indicators(&state)?;
    let by = By::parse(p.get("by").map_or("community", String::as_str))?;
    let period = Period::parse(p.get("period").map_or("round", String::as_str))?;
    let csv = csv_format(p.get("format").map(String::as_str))?;
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
        let sel = ind.select(ids.as_deref()).map_err(ApiError::BadRequest)?;
        let records = Records::from_store_reading(
            st.store.as_ref(),
            &access,
            &design.group_field,
            &Indicator::fields_of(&sel),
        )?;
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
#[utoipa::path(
    get,
    path = "/api/did",
    operation_id = "did",
    tag = "monitoring",
    summary = "Difference in differences",
    description = "The difference in differences of each indicator between intervention and \
        control communities from baseline to endline, with a clustered standard error and a \
        permutation p-value; protected and exact answers as `/api/indicators`.",
    params(MonitoringQuery<1>),
    responses(
        (status = 200, description = "The estimates.", body = DidDoc),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden),
        (status = 422, response = Unprocessable),
    ),
    security((), ("bearer" = [])),
)]
pub async fn did_table(
    State(state): State<AppState>,
    OptionalCaller(caller): OptionalCaller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let p = params(query, &DID_PARAMS)?;
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
        let sel = ind.select(ids.as_deref()).map_err(ApiError::BadRequest)?;
        let records = Records::from_store_reading(
            st.store.as_ref(),
            &access,
            &d2.group_field,
            &Indicator::fields_of(&sel),
        )?;
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
#[utoipa::path(
    get,
    path = "/api/visits/due",
    operation_id = "visits_due",
    tag = "monitoring",
    summary = "CHA visits due",
    description = "The households due a visit: a CHA its sector's list (codes, never names), an \
        admin every list, a facility and an analyst counts per CHA sector (protected). No token is \
        401. Every answer is in the access log before it is sent.",
    params(MonitoringQuery<2>),
    responses(
        (status = 200, description = "The visits due (a list or counts per CHA sector).", body = Object),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = [])),
)]
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
    let p = params(query, &VISIT_PARAMS)?;
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

/// The choropleth layer a request of the indicator tiles asks for: the
/// indicator's id, the round, whether the answer is protected, the layer.
async fn indicator_layer(
    state: &AppState,
    caller: &Caller,
    query: Result<Query<IndicatorTileQuery>, QueryRejection>,
) -> Result<(String, i64, bool, Arc<crate::catalog::CatalogLayer>), ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ind = indicators(state)?;
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
    let prot = protected(caller);
    let layer = state
        .indicator_layers
        .layer(ind, &id, round, &caller.access, prot)
        .await?;
    Ok((id, round, prot, layer))
}

/// `GET /tiles/indicators.json?indicator=ID&round=N`: the TileJSON of the
/// choropleth tiles of one indicator and round, for QGIS and web maps.
#[utoipa::path(
    get,
    path = "/tiles/indicators.json",
    operation_id = "indicator_tilejson",
    tag = "monitoring",
    summary = "TileJSON of an indicator's choropleth",
    description = "TileJSON 3.0.0 of `/tiles/indicators/{z}/{x}/{y}.mvt` for one indicator and \
        round: the tile URL with both parameters, the layer `indicators` and its fields, the \
        communities' bounds and the zoom range. The same rights as the tiles (exact figures \
        for `admin`, `cha` and `facility`, then `Cache-Control: private, no-store`).",
    params(
        ("indicator" = String, Query, description = "Indicator id (see `/api/indicators`).", example = "safe_water"),
        ("round" = Option<i64>, Query, description = "Survey round (default: the design's endline)."),
        ("v" = Option<u64>, Query, description = "Data version of the URL (ignored: the layer follows the store)."),
    ),
    responses(
        (status = 200, description = "The TileJSON.", body = Object),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security((), ("bearer" = [])),
)]
pub async fn indicator_tilejson(
    State(state): State<AppState>,
    OptionalCaller(caller): OptionalCaller,
    headers: axum::http::HeaderMap,
    query: Result<Query<IndicatorTileQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (id, round, prot, layer) = indicator_layer(&state, &caller, query).await?;
    let base = crate::routes::shared::base_url(&state, &headers);
    let tiles = format!(
        "{base}/tiles/indicators/{{z}}/{{x}}/{{y}}.mvt?indicator={id}&round={round}&v={}",
        layer.info.version
    );
    let mut res = Json(crate::routes::tiles::tilejson_at(
        &[("indicators", layer.as_ref())],
        &format!("indicators: {id}, round {round}"),
        &tiles,
    ))
    .into_response();
    res.headers_mut().insert(
        header::VARY,
        HeaderValue::from_static("Accept-Encoding, Authorization"),
    );
    if prot {
        return Ok(res);
    }
    Ok(private(res))
}

/// `GET /tiles/indicators/{z}/{x}/{y}[.mvt|.pbf]?indicator=ID&round=N`: one
/// MVT layer `indicators`, a point per community with the cell of the
/// indicator table by community and round (`/api/indicators` for the same
/// caller), the change between baseline and endline and the group.
#[utoipa::path(
    get,
    path = "/tiles/indicators/{z}/{x}/{y}.mvt",
    operation_id = "indicator_tile",
    tag = "monitoring",
    summary = "Choropleth tile of an indicator",
    description = "One MVT layer `indicators`: a point per community with the cell of the \
        indicator table by community for the round (`/api/indicators` for the same caller: \
        protected and suppressed for no token, `public` and `analyst`; exact in their scope for \
        `admin`, `cha` and `facility`, then `Cache-Control: private, no-store` and logged), the \
        baseline, endline and change, and the community's group. An empty tile is 204 (or as \
        `chaski serve --empty-tile` says).",
    params(
        crate::params::doc::TileCoordPath,
        ("indicator" = String, Query, description = "Indicator id (see `/api/indicators`).", example = "safe_water"),
        ("round" = Option<i64>, Query, description = "Survey round (default: the design's endline)."),
        ("v" = Option<u64>, Query, description = "Data version of the URL (ignored: the layer follows the store)."),
    ),
    responses(
        (status = 200, description = "The tile.", content_type = "application/vnd.mapbox-vector-tile", body = [u8]),
        (status = 204, description = "The tile is empty."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
    ),
    security((), ("bearer" = [])),
)]
pub async fn indicator_tile(
    State(state): State<AppState>,
    axum::extract::Path((z, x, y)): axum::extract::Path<(String, String, String)>,
    OptionalCaller(caller): OptionalCaller,
    query: Result<Query<IndicatorTileQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let coord = crate::params::parse_coord(&z, &x, &y, state.config.max_zoom)?;
    let (id, round, prot, layer) = indicator_layer(&state, &caller, query).await?;
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
