//! `GET /api/districts/{code}/report[?format=json|csv|html][&lang=es|en][&districts=LAYER]`:
//! the district report of `chaski report` (`chaski_analysis::report`), as
//! JSON (default), one long CSV table or a printable HTML page (Spanish by
//! default, English with `lang=en`).
//!
//! The travel times are the cached searches of the accessibility API
//! ([`crate::travel`]): walking to any facility, and to the facilities with
//! birth care (`birth_care=basic`); when one cannot be made (no DEM, no
//! facility with birth care) its table says why instead of failing the
//! report. Household figures are the protected aggregates every caller gets,
//! whatever its token (a token is not read here at all): the answer is the
//! same for every caller and never holds a household's code, place or row.
//!
//! Errors: 404 naming an unknown district code (or a store without
//! districts), 400 naming a bad or unknown parameter.

use crate::error::ApiError;
use crate::error::answers::{BadRequest, NotFound, TooManyRequests};
use crate::params::{Params, RunParams};
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chaski_analysis::report::{
    self, Format, Lang, ReportData, ReportError, Reporter, Searches, render,
};
use chaski_analysis::travel::TravelResult;
use chaski_io::crs::ProjProjections;
use serde_json::Value;
use std::sync::Arc;

type ApiResult<T> = Result<T, ApiError>;

/// Query parameters of the report.
const PARAMS: [&str; 3] = ["format", "lang", "districts"];

fn report_error(e: ReportError, layer_given: bool) -> ApiError {
    match e {
        ReportError::UnknownDistrict { .. } => ApiError::NotFound(e.to_string()),
        // No layer of districts at all: the district does not exist here.
        ReportError::Districts(t) if !layer_given => ApiError::NotFound(t.to_string()),
        ReportError::Districts(t) => ApiError::from(t),
        other => ApiError::internal(other),
    }
}

/// A cached search, or why the report goes without it (internal failures
/// fail the answer, without detail).
async fn search(
    state: &AppState,
    query: Vec<(String, String)>,
) -> ApiResult<Result<Arc<TravelResult>, String>> {
    let run = RunParams::parse(&Params(query))?;
    match state.access.result(&run).await {
        Ok((_, r)) => Ok(Ok(r)),
        Err(e @ ApiError::Internal(_)) => Err(e),
        Err(e) => Ok(Err(e.to_string())),
    }
}

/// Closed vocabularies of the report, as the API description lists them.
pub(crate) mod words {
    use crate::params::doc::Words;
    use chaski_analysis::report::{Format, Lang};

    /// `format`.
    pub(crate) const FORMAT: Words = Words {
        words: &["json", "csv", "html"],
        accepts: |w| w.parse::<Format>().is_ok(),
    };
    /// `lang`.
    pub(crate) const LANG: Words = Words {
        words: &["es", "en"],
        accepts: |w| w.parse::<Lang>().is_ok(),
    };
}

/// The query parameters of the report ([`PARAMS`]).
pub(crate) struct ReportQuery;

impl utoipa::IntoParams for ReportQuery {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::params::doc::{query, text, words};
        PARAMS
            .iter()
            .map(|name| match *name {
                "format" => query(
                    name,
                    "`json` (default), `csv` (one long table) or `html` (a printable page).",
                    words(&words::FORMAT),
                    None,
                ),
                "lang" => query(
                    name,
                    "Language of the HTML page: `es` (default) or `en`.",
                    words(&words::LANG),
                    None,
                ),
                "districts" => query(
                    name,
                    "The layer of the district polygons (default: the store's districts).",
                    text(),
                    None,
                ),
                other => query(other, "", text(), None),
            })
            .collect()
    }
}

/// The JSON report, as the API description shows it (the report is
/// `chaski_analysis::report`'s serde form).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = DistrictReport)]
pub struct ReportDoc {
    /// District code.
    pub code: String,
    /// District name.
    pub name: String,
    /// Layer of the district polygons.
    pub layer: String,
    /// Date of the report (`YYYY-MM-DD`).
    pub date: String,
    /// The store's data version.
    pub data_version: u64,
    /// Table 1: villages and population.
    pub villages: Value,
    /// Table 2, from every facility.
    pub any_facility: Value,
    /// Table 2, from the facilities with birth care.
    pub birth_care: Value,
    /// Table 3: water systems.
    pub water: Value,
    /// Table 4: protected household aggregates.
    pub households: Value,
}

/// `GET /api/districts/{code}/report`.
#[utoipa::path(
    get,
    path = "/api/districts/{code}/report",
    tag = "reports",
    summary = "District report",
    description = "The district report of `chaski report`: villages and population within and \
        beyond 1, 2 and 4 hours of any facility and of birth care, facilities, water systems and \
        the protected household aggregates every caller gets (the same answer for every caller).",
    params(("code" = String, Path, description = "District code (ubigeo).", example = "059901"), ReportQuery),
    responses(
        (status = 200, description = "The report.", content(
            (ReportDoc = "application/json"),
            (String = "text/csv"),
            (String = "text/html"),
        )),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    ),
)]
pub async fn report(
    State(state): State<AppState>,
    Path(code): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let p = Params::new(query, &PARAMS)?;
    let format = p.parsed::<Format>("format")?.unwrap_or(Format::Json);
    let lang = p.parsed::<Lang>("lang")?.unwrap_or_default();
    let layer = p
        .get("districts")
        .filter(|l| !l.is_empty())
        .map(str::to_owned);
    let layer_given = layer.is_some();
    let store = Arc::clone(&state.store);
    let data = tokio::task::spawn_blocking(move || {
        ReportData::from_store(
            store.as_ref(),
            layer.as_deref(),
            "query parameter 'districts'",
        )
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| report_error(e, layer_given))?;
    let index = data.find(&code).map_err(|e| report_error(e, layer_given))?;
    let any = search(&state, Vec::new()).await?;
    let birth = search(
        &state,
        vec![(
            "birth_care".to_owned(),
            report::BIRTH_CARE.as_str().to_owned(),
        )],
    )
    .await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let (body, code) = tokio::task::spawn_blocking(move || -> ApiResult<(String, String)> {
        let searches = Searches {
            any_facility: any.as_deref().map_err(Clone::clone),
            birth_care: birth.as_deref().map_err(Clone::clone),
        };
        let reporter = Reporter::new(&data, searches, &ProjProjections);
        let r = reporter
            .report(index, &report::peru_date(now))
            .map_err(|e| report_error(e, layer_given))?;
        let body = match format {
            Format::Json => serde_json::to_string(&r).map_err(ApiError::internal)?,
            Format::Csv => render::csv(&r),
            Format::Html => render::html(&r, lang),
        };
        Ok((body, r.code))
    })
    .await
    .map_err(ApiError::internal)??;
    let file: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{file}.{format}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("inline"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.media_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response())
}
