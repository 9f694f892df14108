//! `GET /maps/risk.pdf` and `GET /maps/risk.png`: the printed risk map of
//! `chaski print` for a community, a CHA sector or a facility's area.
//!
//! Query parameters (the options of `chaski print`, read by the same parsers:
//! [`MapArea::new`], [`PaperSize`], [`Orientation`], [`Lang`], [`Dpi`],
//! [`PrintDate`]): exactly one of `community=CODE`, `sector=CODE`,
//! `facility=CODE`; `size=a4|a3` (default a4), `orientation=portrait|landscape`,
//! `lang=es|en`, `date=YYYY-MM-DD` (default today in Peru), `no_clusters=true`
//! (no risk zones); for the PNG only, `dpi` (10 to [`MAX_HTTP_DPI`], default
//! 150) and `page` (from 1, default 1: one page per answer; the answer's
//! `X-Chaski-Pages` says how many the map has). The PDF holds every page (the
//! map, its detail pages, the household index). The QR code opens the map's
//! area in this server's viewer.
//!
//! Who sees what is the household layer's rule (`chaski_core::auth`, applied
//! by `chaski_analysis::risk_map`): household points and codes only for the
//! roles that see household records (admin; CHA and facility tokens within
//! their scope), the "visita prioritaria" mark reflecting the violence risk
//! only with the violence grant; every other caller (no token, analyst) gets
//! the aggregate map (community household counts as
//! `/api/households/summary` publishes them, risk-zone outlines for tokens).
//! The routes sit behind [`crate::guard::household_guard`]: a malformed,
//! unknown or revoked token is 401 (logged), every answer is
//! `Cache-Control: private, no-store`. A map with household points is written
//! to the access log (token id, endpoint, households printed, area and
//! scope) before it is sent; if it cannot be, nothing is.
//!
//! Errors: 400 naming a bad, unknown or repeated parameter (a bad paper,
//! a dpi out of bounds, a page the map does not have), 404 naming an unknown
//! community, sector or facility, 422 for an area with nothing located.
//! The work runs on the blocking pool, at most `print_permits` maps at a
//! time (429 with `Retry-After` beyond, see [`crate::limits`]).

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::answers::{BadRequest, NotFound, TooManyRequests, Unauthorized, Unprocessable};
use crate::limits::Family;
use crate::maps::{MAX_HTTP_DPI, map_error, print_error};
use crate::params::{DEFAULT_HOUSEHOLD_LAYER, Params, RunParams};
use crate::routes::shared::base_url;
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chaski_analysis::risk_map::{self, AREA_KINDS, MapArea};
use chaski_core::auth::AccessRecord;
use chaski_print::{Dpi, Format, Lang, Orientation, PageSpec, PaperSize, PrintDate};

type ApiResult<T> = Result<T, ApiError>;

/// The PDF endpoint, as written to the access log.
pub const PDF_ENDPOINT: &str = "GET /maps/risk.pdf";
/// The PNG endpoint, as written to the access log.
pub const PNG_ENDPOINT: &str = "GET /maps/risk.png";

/// Query parameters of both endpoints.
const PDF_PARAMS: [&str; 9] = [
    "community",
    "sector",
    "facility",
    "size",
    "orientation",
    "lang",
    "date",
    "no_clusters",
    "every",
];
/// Query parameters of the PNG endpoint.
const PNG_PARAMS: [&str; 11] = [
    "community",
    "sector",
    "facility",
    "size",
    "orientation",
    "lang",
    "date",
    "no_clusters",
    "every",
    "dpi",
    "page",
];

/// Most pages a PNG request may name.
const MAX_PAGE: f64 = 1000.0;

/// Closed vocabularies of the printed maps, as the API description lists them.
pub(crate) mod words {
    use crate::params::doc::Words;
    use chaski_print::{Lang, Orientation, PaperSize};

    /// `size`.
    pub(crate) const SIZE: Words = Words {
        words: &["a4", "a3"],
        accepts: |w| w.parse::<PaperSize>().is_ok(),
    };
    /// `orientation`.
    pub(crate) const ORIENTATION: Words = Words {
        words: &["portrait", "landscape"],
        accepts: |w| w.parse::<Orientation>().is_ok(),
    };
    /// `lang`.
    pub(crate) const LANG: Words = Words {
        words: &["es", "en"],
        accepts: |w| w.parse::<Lang>().is_ok(),
    };
}

/// The query parameters of the printed maps ([`PDF_PARAMS`], [`PNG_PARAMS`]).
pub(crate) struct MapQuery<const PNG: bool>;

impl<const PNG: bool> utoipa::IntoParams for MapQuery<PNG> {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use crate::params::doc::{boolean, integer, number, query, text, words};
        let names: &[&str] = if PNG { &PNG_PARAMS } else { &PDF_PARAMS };
        names
            .iter()
            .map(|name| match *name {
                "community" | "sector" | "facility" => query(
                    name,
                    &format!("The area of the map: the {name} of this code (give exactly one of community, sector, facility)."),
                    text().min_length(Some(1)),
                    None,
                ),
                "size" => query(name, "Paper: `a4` (default) or `a3`.", words(&words::SIZE), None),
                "orientation" => query(name, "`portrait` (default) or `landscape`.", words(&words::ORIENTATION), None),
                "lang" => query(name, "Language of the map: `es` (default) or `en`.", words(&words::LANG), None),
                "date" => query(
                    name,
                    "Date of the title block, `YYYY-MM-DD` (default: today in Peru).",
                    text().pattern(Some("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")),
                    Some(serde_json::json!("2026-12-05")),
                ),
                "no_clusters" => query(name, "Leave out the risk zones.", boolean(), None),
                "dpi" => query(
                    name,
                    &format!("Resolution, dots per inch (default 150, at most {MAX_HTTP_DPI})."),
                    number(f64::from(chaski_print::page::MIN_DPI), f64::from(MAX_HTTP_DPI)),
                    None,
                ),
                "page" => query(
                    name,
                    "The page (from 1, default 1): one page per answer; `X-Chaski-Pages` says how many the map has.",
                    integer(1, MAX_PAGE as u64),
                    None,
                ),
                other => query(other, "", text(), None),
            })
            .collect()
    }
}

/// `GET /maps/risk.pdf`.
#[utoipa::path(
    get,
    path = "/maps/risk.pdf",
    tag = "maps",
    summary = "Printed risk map (PDF)",
    description = "The printed risk map of `chaski print` for a community, a CHA sector or a \
        facility's area: every page (the map, its detail pages, the household index). Household \
        points and codes only for roles that see household records (within their scope); every \
        other caller gets the aggregate map. Answers are `Cache-Control: private, no-store`; a map \
        with household points is in the access log before it is sent.",
    params(MapQuery<false>),
    responses(
        (status = 200, description = "The map.", content_type = "application/pdf", body = [u8],
            headers(("X-Chaski-Pages" = u32, description = "Pages of the map."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
    ),
    security((), ("bearer" = [])),
)]
pub async fn pdf(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let p = Params::new(query, &PDF_PARAMS)?;
    print(state, caller, &headers, &p, Format::Pdf).await
}

/// `GET /maps/risk.png`.
#[utoipa::path(
    get,
    path = "/maps/risk.png",
    tag = "maps",
    summary = "Printed risk map (PNG page)",
    description = "One page of the printed risk map as PNG (see `/maps/risk.pdf`).",
    params(MapQuery<true>),
    responses(
        (status = 200, description = "The page.", content_type = "image/png", body = [u8],
            headers(("X-Chaski-Pages" = u32, description = "Pages of the map."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
    ),
    security((), ("bearer" = [])),
)]
pub async fn png(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let p = Params::new(query, &PNG_PARAMS)?;
    print(state, caller, &headers, &p, Format::Png).await
}

/// The one area the query names.
fn area_of(p: &Params) -> ApiResult<MapArea> {
    let given: Vec<(&str, &str)> = AREA_KINDS
        .iter()
        .filter_map(|k| p.get(k).map(|v| (*k, v)))
        .collect();
    match given.as_slice() {
        [(kind, code)] => MapArea::new(kind, code).map_err(|_| {
            ApiError::BadRequest(format!("query parameter '{kind}': a code is needed"))
        }),
        [] => Err(ApiError::BadRequest(
            "give the area of the map: query parameter 'community', 'sector' or 'facility'"
                .to_owned(),
        )),
        _ => Err(ApiError::BadRequest(format!(
            "query parameters {}: give only one area",
            given
                .iter()
                .map(|(k, _)| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`).
fn flag(p: &Params, name: &str) -> ApiResult<bool> {
    match p.get(name).map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => Err(ApiError::BadRequest(format!(
            "query parameter '{name}': '{other}' is not true or false"
        ))),
    }
}

async fn print(
    state: AppState,
    caller: Caller,
    headers: &HeaderMap,
    p: &Params,
    format: Format,
) -> ApiResult<Response> {
    let area = area_of(p)?;
    let spec = PageSpec {
        size: p.parsed::<PaperSize>("size")?.unwrap_or_default(),
        orientation: p.parsed::<Orientation>("orientation")?.unwrap_or_default(),
        lang: p.parsed::<Lang>("lang")?.unwrap_or_default(),
        date: match p.parsed::<PrintDate>("date")? {
            Some(d) => d.as_str().to_owned(),
            None => chaski_analysis::report::peru_date(chaski_core::auth::now_unix()),
        },
        viewer_url: base_url(&state, headers),
    };
    let dpi = p.parsed::<Dpi>("dpi")?.unwrap_or_default();
    if dpi.get() > MAX_HTTP_DPI {
        return Err(ApiError::BadRequest(format!(
            "query parameter 'dpi': {dpi} is over {MAX_HTTP_DPI}, the most this server renders \
             (`chaski print --format png --dpi {dpi}` prints more)"
        )));
    }
    let page = p
        .number("page", 1.0..=MAX_PAGE, "a page number from 1")?
        .map_or(Ok(1), |n| {
            if n.fract() == 0.0 {
                Ok(n as usize)
            } else {
                Err(ApiError::BadRequest(format!(
                    "query parameter 'page': '{n}' is not a page number from 1"
                )))
            }
        })?;
    let no_clusters = flag(p, "no_clusters")?;
    // The visit schedule of a sector's map: at-risk households last visited
    // more than `every` days before the map's date.
    let every = p
        .number("every", 1.0..=3650.0, "a number of days from 1 to 3650")?
        .map_or(Ok(30), |n| {
            if n.fract() == 0.0 {
                Ok(n as u32)
            } else {
                Err(ApiError::BadRequest(format!(
                    "query parameter 'every': '{n}' is not a number of days from 1 to 3650"
                )))
            }
        })?;
    let as_of = chrono::NaiveDate::parse_from_str(&spec.date, "%Y-%m-%d").map_err(|_| {
        ApiError::BadRequest(format!(
            "query parameter 'date': '{}' is not a date YYYY-MM-DD",
            spec.date
        ))
    })?;

    let source = state.maps.source(DEFAULT_HOUSEHOLD_LAYER).await?;
    // The walking search of the accessibility API (cached): route, minutes, relief.
    let travel = match state
        .access
        .result(&RunParams::parse(&Params(Vec::new()))?)
        .await
    {
        Ok((_, t)) => Some(t),
        Err(e @ ApiError::Internal(_)) => return Err(e),
        Err(e) => {
            tracing::info!(error = %e, "risk map without walking route, minutes or relief");
            None
        }
    };
    // Risk zones over the caller's households (the tile layer's scan, cached per scope).
    let clusters = if no_clusters
        || !caller.role().may_ask_clusters()
        || source.visible_households(&caller.access).is_none()
    {
        None
    } else {
        match state
            .private
            .compute(
                DEFAULT_HOUSEHOLD_LAYER,
                &risk_map::cluster_options(),
                &caller.access,
            )
            .await
        {
            Ok(c) => Some(c),
            Err(e @ ApiError::Internal(_)) => return Err(e),
            Err(e) => {
                tracing::info!(error = %e, "risk map without risk zones");
                None
            }
        }
    };

    let permit = state.limits.acquire(Family::Print).await?;
    let access = caller.access.clone();
    let who = caller.token_id().map(str::to_owned);
    let tokens = state.tokens.clone();
    let endpoint = match format {
        Format::Pdf => PDF_ENDPOINT,
        Format::Png => PNG_ENDPOINT,
    };
    let stem = area.file_stem();
    let (body, count, pages) = tokio::task::spawn_blocking(move || {
        // Held until the render ends, even when the request is gone: at most
        // the print family's permits bound the renders using the CPU at once.
        let _permit = permit;
        let mut map = source
            .gather(&access, &area, travel.as_deref(), clusters.as_deref())
            .map_err(map_error)?;
        map.due = source.due_visits(&access, &area, as_of, every);
        let count = map.households.as_ref().map_or(0, Vec::len);
        let pages = chaski_print::compose(&map, &spec).map_err(print_error)?;
        if format == Format::Png && page > pages.len() {
            return Err(ApiError::BadRequest(format!(
                "query parameter 'page': the map of {area} has {} page{}, not {page}",
                pages.len(),
                if pages.len() == 1 { "" } else { "s" }
            )));
        }
        // A release of household data is logged before it is made; no log, no map.
        if count > 0 {
            let Some(tokens) = tokens else {
                return Err(ApiError::internal(
                    "a map with household points without a token store to log it in",
                ));
            };
            let detail = format!(
                "{area}; {} {} {}; access {}",
                spec.size,
                spec.orientation,
                spec.lang,
                access.scope_key()
            );
            tokens
                .log(&AccessRecord {
                    who: who.as_deref(),
                    what: endpoint,
                    count: count as u64,
                    status: 200,
                    detail: Some(&detail),
                })
                .map_err(ApiError::internal)?;
        }
        let body = match format {
            Format::Pdf => chaski_print::pdf(&pages, &format!("chaski · {area}")),
            Format::Png => chaski_print::png(&pages[page - 1..page], dpi.get())
                .map(|mut v| v.pop().unwrap_or_default()),
        }
        .map_err(print_error)?;
        Ok::<_, ApiError>((body, count, pages.len()))
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::info!(
        token_id = caller.token_id().unwrap_or("-"),
        role = %caller.role(),
        endpoint,
        households = count,
        bytes = body.len(),
        "risk map printed"
    );
    let (mime, file) = match format {
        Format::Pdf => ("application/pdf", format!("risk-{stem}.pdf")),
        Format::Png => ("image/png", format!("risk-{stem}-{page}.png")),
    };
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{file}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("inline"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::HeaderName::from_static("x-chaski-pages"),
                HeaderValue::from(pages),
            ),
        ],
        body,
    )
        .into_response())
}
