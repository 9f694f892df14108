//! Household data behind access control: records, public aggregates and
//! writes. Who may do what is `chaski_core::auth`'s role policy; the query
//! strings are read by [`crate::params`].
//!
//! * `GET /api/households`: household records as GeoJSON. Admins see every
//!   household, a CHA token the households of its sector, a facility token
//!   those of its RENIPRESS code; public and analyst callers get 403 (analysts
//!   work with clusters and aggregates). `violence_risk` is removed unless the token holds the
//!   violence grant. Every answer is written to the token store's access log
//!   and to `tracing` (token id, endpoint, count; never the secret) before it
//!   is sent: if the log cannot be written, nothing is sent.
//! * `GET /api/households/summary?by=community`: public aggregates, household
//!   counts per community with counts under [`MIN_CELL`] suppressed (`null`,
//!   `suppressed: true`).
//! * `POST /api/households` (upload household records) and
//!   `DELETE /api/households/{code}` (a family withdraws its consent).
//!
//! The body of an upload is a CSV export of ODK Central or KoBoToolbox
//! (`Content-Type: text/csv`; `,` or `;` delimited, columns recognised as in
//! `chaski import`, see `chaski_io::households`) or GeoJSON points
//! (`application/geo+json` or `application/json`). Query parameters: `layer`
//! (default `households`; other layers for admin tokens only), `on_error=reject|skip`
//! and `drop=COLUMN,...` (columns to leave out).
//!
//! * No token or a wrong/revoked token: `401`. Analyst callers: `403`
//!   (analysts read aggregates, they do not write).
//! * Scoped writes (see `chaski_core::household::write`): a CHA token writes
//!   only rows of its own sector, a facility token rows of its own RENIPRESS
//!   code; for both, each row's (facility, sector, community) must be a
//!   registered place of the scope and its point lie near the community.
//!   Otherwise `403` naming the rows, and nothing is written. Rows update the
//!   record they match among the records the caller may see, else are added:
//!   a code or submission id that exists only outside the scope is a new
//!   record of the caller's scope, answered exactly as if it did not exist.
//! * Rows with `consent = no` withdraw the family's consent: its records in the
//!   caller's scope are deleted and the answer lists what was deleted.
//! * Limits (`ServerConfig`): body size (`max_upload_bytes`, 413), rows per
//!   upload (`max_upload_rows`, 413), field length (`max_field_chars`, the row
//!   is rejected), writes per token and hour (`writes_per_hour`, 429 with
//!   `Retry-After`). Every refusal is JSON naming the limit.
//! * Only the household schema is stored: other columns are dropped and
//!   listed (`dropped_columns`); columns that look like personal identifiers
//!   (names, DNI, phones, addresses) refuse the upload (422) unless left out
//!   with `drop=`.
//! * Every row is validated as on import. By default the upload is atomic:
//!   any rejected row gives `422` with every row error (`row`, `field`,
//!   `reason`) and nothing is written. With `on_error=skip` the valid rows are
//!   stored and the rejected ones listed.
//! * The answer (`201` when a record was inserted, else `200`; body
//!   `{layer, inserted, updated, deleted, rejected, warnings, dropped_columns}`)
//!   is sent only after the store write has committed, the write is in the
//!   access log (token id, endpoint, counts; never the body) and the catalog
//!   has moved to the new data version.

use crate::auth::{Caller, OptionalCaller};
use crate::error::ApiError;
use crate::error::answers::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized, Unprocessable,
};
use crate::params::doc::{DeleteQuery, SummaryQuery, UploadQuery};
use crate::params::{
    DEFAULT_HOUSEHOLD_LAYER, DeleteParams, ListParams, Params, UploadParams, summary_by,
};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chaski_core::auth::{Role, Visibility};
use chaski_core::household::write::{Deleted, Refusal, Withdrawal};
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::store::{Store, StoreError};
use chaski_core::value::Value as FieldValue;
use chaski_io::households::{
    HouseholdWriteError, HouseholdWriter, HouseholdWritten, KnownCodes, write_households,
};
use chaski_io::import::{Action, ImportError, ImportOptions, ImportReport, Issue, build_layer};
use chaski_io::mapping::Mapping;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// Smallest count shown in public aggregates; smaller ones are suppressed.
pub const MIN_CELL: u64 = 5;

const LIST_ENDPOINT: &str = "/api/households";

/// Every household layer of the store.
fn household_layers(store: &dyn Store) -> Result<Vec<Layer>, ApiError> {
    let mut out = Vec::new();
    for info in store.layers()? {
        if info.kind.is_private() {
            out.push(store.read_layer(&info.name)?);
        }
    }
    Ok(out)
}

fn feature_json(layer: &Layer, f: &chaski_core::layer::Feature) -> Value {
    let mut props = Map::new();
    props.insert("layer".into(), Value::String(layer.name.clone()));
    for (field, v) in layer.fields.iter().zip(&f.values) {
        let v = match v {
            FieldValue::Real(x) if !x.is_finite() => Value::Null,
            other => serde_json::to_value(other).unwrap_or(Value::Null),
        };
        props.insert(field.name.clone(), v);
    }
    let geometry = serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(
        &f.geometry,
    )))
    .unwrap_or(Value::Null);
    json!({ "type": "Feature", "id": f.fid, "geometry": geometry, "properties": props })
}

/// Household records as answered by `GET /api/households`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HouseholdRecords {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Records answered (on this page).
    pub count: u64,
    /// Where this page is in the caller's records (`total`: all the records
    /// the caller may see).
    pub page: crate::routes::shared::Page,
    /// Fields removed for this caller (`violence_risk` without the violence grant).
    pub stripped_fields: Vec<String>,
    /// The records: GeoJSON Point features with the household fields and `layer`.
    pub features: Vec<Value>,
}

/// A group of `GET /api/households/summary`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SummaryGroup {
    /// Community code (or `unknown`).
    pub community: String,
    /// Households, rounded to 5; null when suppressed.
    pub households: Option<u64>,
    /// Whether the count is suppressed.
    pub suppressed: bool,
}

/// The answer of `GET /api/households/summary`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct HouseholdSummary {
    /// Always `community`.
    pub by: String,
    /// Smallest count shown.
    pub min_cell: u64,
    /// Counts are rounded to this.
    pub rounded_to: u64,
    /// One group per community.
    pub groups: Vec<SummaryGroup>,
}

/// A row problem of an upload.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RowIssue {
    /// Row (or feature) number; null for a note on the whole upload.
    pub row: Option<u64>,
    /// Field; null when the whole row is concerned.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// The answer of `POST /api/households`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UploadAnswer {
    /// Layer written.
    pub layer: String,
    /// Records added.
    pub inserted: u64,
    /// Records updated.
    pub updated: u64,
    /// Records deleted by consent withdrawals.
    pub deleted: Vec<Value>,
    /// Rows rejected (only with `on_error=skip`).
    pub rejected: Vec<RowIssue>,
    /// Warnings and repairs.
    pub warnings: Vec<RowIssue>,
    /// Columns left out.
    pub dropped_columns: Vec<String>,
}

/// The answer of `DELETE /api/households/{code}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeleteAnswer {
    /// Household code.
    pub code: String,
    /// Records deleted.
    pub deleted: u64,
    /// The records deleted: code, sector, community, submission, round, date.
    pub records: Vec<Value>,
}

/// `GET /api/households`: the household records the caller may see.
#[utoipa::path(
    get,
    path = "/api/households",
    tag = "households",
    summary = "Household records",
    operation_id = "households_list",
    description = "The household records the token may see, as GeoJSON: admins every household, a \
        CHA token its sector's, a facility token its own. `violence_risk` only with the violence \
        grant. Public and analyst callers get 403. Paged: ordered by code, submission and visit \
        date; `limit` records from `offset` (default every record up to `max_list_limit`, \
        10,000 unless configured); `page.total` counts all the caller may see. Every answer is in \
        the access log before it is sent; answers are `Cache-Control: private, no-store`.",
    params(
        ("limit" = Option<u64>, Query, description = "Most records of the page (0 to `max_list_limit`; default `max_list_limit`)."),
        ("offset" = Option<u64>, Query, description = "Records skipped before the page (default 0)."),
    ),
    responses(
        (status = 200, description = "The records.", body = HouseholdRecords),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = Params::new(query, &["limit", "offset"])?;
    let paging = ListParams::parse(&p)?;
    let limit = if p.get("limit").is_some_and(|v| !v.is_empty()) {
        paging.limit
    } else {
        state.config.max_list_limit
    };
    let offset = paging.offset;
    if !caller.role().sees_households() {
        return Err(ApiError::Forbidden(if caller.role() == Role::Public {
            "household records are private: only aggregates are public \
             (see /api/households/summary?by=community)"
                .into()
        } else {
            "the analyst role sees clusters (/api/clusters) and aggregates \
             (/api/households/summary), not household records"
                .into()
        }));
    }
    let st = state.clone();
    let access = caller.access.clone();
    let token_id = caller.token_id().map(str::to_owned);
    let role = caller.role();
    let (body, count) = tokio::task::spawn_blocking(move || -> Result<(Value, u64), ApiError> {
        let mut features = Vec::new();
        let stripped = Visibility::new(
            &access,
            &Layer::new(DEFAULT_HOUSEHOLD_LAYER, LayerKind::Households),
        )
        .stripped_fields();
        for layer in household_layers(st.store.as_ref())? {
            let vis = Visibility::new(&access, &layer);
            let mut seen = vis.apply(&layer);
            // By code, then submission and visit: the order tells nothing of
            // when records of other scopes were written.
            let key = |l: &Layer, f: &chaski_core::layer::Feature| {
                ["code", "submission_uuid", "visit_date"]
                    .map(|n| l.value(f, n).to_string())
                    .join("\u{0}")
            };
            let shape = Layer::new(&seen.name, seen.kind);
            let shape = Layer {
                fields: seen.fields.clone(),
                ..shape
            };
            seen.features.sort_by_cached_key(|f| key(&shape, f));
            for (fid, f) in (1..).zip(seen.features.iter_mut()) {
                f.fid = fid;
            }
            features.extend(seen.features.iter().map(|f| feature_json(&seen, f)));
        }
        let total = features.len();
        let features: Vec<Value> = features.into_iter().skip(offset).take(limit).collect();
        let count = features.len() as u64;
        // Log before answering: an unlogged release of household data must not happen.
        if let Some(tokens) = &st.tokens {
            tokens
                .log_access(token_id.as_deref(), LIST_ENDPOINT, count)
                .map_err(ApiError::internal)?;
        }
        let body = json!({
            "type": "FeatureCollection",
            "count": count,
            "page": { "offset": offset, "limit": limit, "returned": features.len(), "total": total },
            "stripped_fields": stripped,
            "features": features,
        });
        Ok((body, count))
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::info!(
        token_id = caller.token_id().unwrap_or("-"),
        role = %role,
        endpoint = LIST_ENDPOINT,
        count,
        "household records served"
    );
    Ok(Json(body))
}

/// `GET /api/households/summary?by=community`: household counts per community
/// (and an `unknown` group), public, protected by
/// [`chaski_core::household::community_counts`] (the figures printed maps
/// show without household rights): counts under [`MIN_CELL`] suppressed; a
/// community suppressed too when some CHA sector or some facility holds all
/// but 1 to 4 of its households (the contributor rule); then complementary
/// suppression across the communities, so that with the total known no
/// suppressed count can be recovered by subtraction; shown counts rounded to
/// 5. Suppressed groups are `households: null, suppressed: true`, whatever
/// the reason. Read from the store's committed data. A wrong or revoked token
/// is answered exactly as no token.
#[utoipa::path(
    get,
    path = "/api/households/summary",
    operation_id = "households_summary",
    tag = "households",
    summary = "Households per community (public, protected)",
    description = "Household counts per community for everyone: counts under 5 suppressed, \
        contributor and complementary suppression, shown counts rounded to 5.",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The protected counts.", body = HouseholdSummary),
        (status = 400, response = BadRequest),
    ),
)]
pub async fn summary(
    State(state): State<AppState>,
    OptionalCaller(caller): OptionalCaller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    use chaski_core::disclosure::{ROUND_TO, Shown};

    let Query(params) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    summary_by(params)?;
    let st = state.clone();
    let groups = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, ApiError> {
        let layers = household_layers(st.store.as_ref())?;
        Ok(chaski_core::household::community_counts(&layers)
            .into_iter()
            .map(|(community, shown)| {
                json!({
                    "community": community,
                    "households": shown.value(),
                    "suppressed": shown == Shown::Suppressed,
                })
            })
            .collect())
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::debug!(
        token_id = caller.token_id().unwrap_or("-"),
        groups = groups.len(),
        "household summary served"
    );
    Ok(Json(json!({
        "by": "community",
        "min_cell": MIN_CELL,
        "rounded_to": ROUND_TO,
        "groups": groups,
    })))
}

/// The upload endpoint, as written to the access log.
pub const UPLOAD_ENDPOINT: &str = "POST /api/households";

/// The deletion endpoint, as written to the access log.
pub const DELETE_ENDPOINT: &str = "DELETE /api/households/{code}";

/// What the body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    GeoJson,
}

fn body_format(headers: &HeaderMap, body: &[u8]) -> Result<Format, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match ct.as_deref() {
        Some("text/csv" | "application/csv" | "text/comma-separated-values") => Ok(Format::Csv),
        Some("application/geo+json" | "application/json") => Ok(Format::GeoJson),
        None | Some("") => {
            // No type given: GeoJSON starts with '{'.
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            Ok(if first == Some(&b'{') {
                Format::GeoJson
            } else {
                Format::Csv
            })
        }
        Some(other) => Err(ApiError::BadRequest(format!(
            "unsupported Content-Type '{other}': send text/csv (an ODK Central or KoBoToolbox \
             export) or application/geo+json"
        ))),
    }
}

fn issue_json(i: &Issue) -> Value {
    json!({ "row": i.row, "field": i.field, "reason": i.reason })
}

fn issues_json(report: &ImportReport, action: Action) -> Vec<Value> {
    report
        .issues
        .iter()
        .filter(|i| i.action == action)
        .map(issue_json)
        .collect()
}

/// Row numbers written as `2, 5 and 9`.
fn row_list(rows: &[usize]) -> String {
    let mut s = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            s.push_str(if i + 1 == rows.len() { " and " } else { ", " });
        }
        let _ = write!(s, "{r}");
    }
    s
}

fn refused_rows(caller: &Caller, label: &str, refused: &[Refusal]) -> ApiError {
    let rows: Vec<usize> = refused.iter().map(|r| r.row).collect();
    let details: Vec<String> = refused
        .iter()
        .map(|r| format!("{label} {}: field '{}': {}", r.row, r.field, r.reason))
        .collect();
    ApiError::Forbidden(format!(
        "{label}{} {} {} outside your scope ({} token '{}'): nothing was written. {}",
        if rows.len() > 1 { "s" } else { "" },
        row_list(&rows),
        if rows.len() > 1 { "are" } else { "is" },
        caller.role(),
        caller.access.scope.as_deref().unwrap_or(""),
        details.join("; ")
    ))
}

fn write_error(caller: &Caller, label: &str, e: HouseholdWriteError) -> ApiError {
    match e {
        HouseholdWriteError::OutOfScope(r) => refused_rows(caller, label, &r),
        HouseholdWriteError::Store(StoreError::Conflict { .. }) => {
            ApiError::Unprocessable(e.to_string())
        }
        HouseholdWriteError::Store(other) => other.into(),
        other => ApiError::internal(other),
    }
}

fn deleted_json(deleted: &[Deleted]) -> Value {
    json!(deleted)
}

/// Refuse callers that may not write households; count the write against the token's rate.
fn writer_checks(state: &AppState, caller: &Caller, what: &str) -> Result<(), ApiError> {
    let Some(token) = &caller.token else {
        return Err(ApiError::Unauthorized(format!(
            "{what} needs a bearer token (admin, cha or facility)"
        )));
    };
    let role = caller.role();
    if !role.may_write_households() {
        return Err(ApiError::Forbidden(format!(
            "a {role} token cannot write household records (admin, cha or facility only)"
        )));
    }
    state.writes.check(&token.id, state.config.writes_per_hour)
}

/// What the blocking part decided.
enum Outcome {
    /// Written (or nothing to write with `on_error=skip`).
    Done(Value, bool),
    /// Rejected rows in an atomic upload.
    Invalid(Value),
}

/// An upload of one household of the demo region, as ODK Central exports it.
const UPLOAD_CSV_EXAMPLE: &str = "code,community,facility,cha_sector,cha,visit_date,members,pregnant,under2,under5,anaemia,malnutrition,danger_signs,safe_water,sanitation,violence_risk,risk_level,location_source,visit_round,water_source,consent,consent_date,_gps_latitude,_gps_longitude,_gps_altitude,_gps_precision,_uuid,_submission_time
DEMO-H0001,DEMO-CP0001,DEMO-00001,DEMO-CP0001-S1,DEMO-ACS001,2026-05-16,7,0,0,2,yes,no,no,yes,yes,no,medio,gps,1,red_publica,yes,2026-05-16,-12.985661,-74.065282,2657.9,8.3,750f8e01-5fa4-46c7-8b60-089b0c0b2836,2026-05-16T13:27:27
";

/// `POST /api/households`: validate and write household records (see the module docs).
#[utoipa::path(
    post,
    path = "/api/households",
    tag = "households",
    summary = "Upload household records",
    operation_id = "households_upload",
    description = "Validate and write household records (admin, CHA and facility tokens; CHA and \
        facility tokens within their scope only). Atomic by default: any invalid row gives 422 \
        with every row error and nothing is written. Rows with `consent = no` delete the family's \
        records. Columns that look like personal identifiers refuse the upload (422) unless \
        dropped. Limits: body size and rows (413), writes per token and hour (429).",
    params(UploadQuery),
    request_body(
        description = "A CSV export of ODK Central or KoBoToolbox, or GeoJSON points.",
        content(
            (String = "text/csv", example = json!(UPLOAD_CSV_EXAMPLE)),
            (Value = "application/geo+json", example = json!({
                "type": "FeatureCollection",
                "features": [{
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [-74.065_282, -12.985_661]},
                    "properties": {
                        "code": "DEMO-H0001", "community": "DEMO-CP0001", "facility": "DEMO-00001",
                        "cha_sector": "DEMO-CP0001-S1", "cha": "DEMO-ACS001",
                        "visit_date": "2026-05-16", "visit_round": 1, "members": 7,
                        "pregnant": 0, "under2": 0, "under5": 2, "anaemia": true,
                        "malnutrition": false, "danger_signs": false, "safe_water": true,
                        "sanitation": true, "risk_level": "medio", "consent": true,
                        "consent_date": "2026-05-16",
                        "submission_uuid": "750f8e01-5fa4-46c7-8b60-089b0c0b2836"
                    }
                }]
            })),
        ),
    ),
    responses(
        (status = 200, description = "Written; no record was added.", body = UploadAnswer),
        (status = 201, description = "Written; records were added.", body = UploadAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
    ),
    security(("bearer" = [])),
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    writer_checks(&state, &caller, "uploading household records")?;
    let limit = state.config.max_upload_bytes;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!(
                "the body is larger than {limit} bytes, the most one upload may hold \
                 (max_upload_bytes): split the export into several uploads"
            ))
        } else {
            ApiError::BadRequest(format!("cannot read the body: {}", e.body_text()))
        }
    })?;
    let Query(params) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let UploadParams {
        skip,
        layer: layer_name,
        drop,
    } = UploadParams::parse(params)?;
    chaski_core::store::check_name(&layer_name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if layer_name != DEFAULT_HOUSEHOLD_LAYER && !caller.role().may_choose_household_layer() {
        return Err(ApiError::Forbidden(format!(
            "only admin tokens choose the layer: a {} token uploads to 'households'",
            caller.role()
        )));
    }
    let format = body_format(&headers, &body)?;
    let st = state.clone();
    let who = caller.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<Outcome, ApiError> {
        process(&st, &who, &layer_name, format, &body, skip, drop)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(match outcome {
        Outcome::Done(body, inserted) => {
            let status = if inserted {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(body)).into_response()
        }
        Outcome::Invalid(body) => (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response(),
    })
}

/// `DELETE /api/households/{code}`: delete every record of household `code`
/// in the caller's scope (a family withdraws its consent). Query: `layer`,
/// `sector` and `facility` to narrow it (a CHA token's sector is its scope).
/// The answer lists the deleted records (code, sector, community, submission,
/// round, date); none in scope is a 404, the same whether the code exists
/// elsewhere or nowhere.
#[utoipa::path(
    delete,
    path = "/api/households/{code}",
    operation_id = "households_delete",
    tag = "households",
    summary = "Delete a household (consent withdrawn)",
    description = "Delete every record of a household in the token's scope. None in scope is a \
        404, the same whether the code exists elsewhere or nowhere.",
    params(("code" = String, Path, description = "Household code.", example = "HH-0001"), DeleteQuery),
    responses(
        (status = 200, description = "What was deleted.", body = DeleteAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyRequests),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    writer_checks(&state, &caller, "deleting household records")?;
    let Query(params) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let DeleteParams {
        layer: layer_name,
        cha_sector,
        facility,
    } = DeleteParams::parse(params)?;
    let mut w = Withdrawal {
        row: 0,
        code: code.trim().to_owned(),
        cha_sector,
        facility,
        ..Withdrawal::default()
    };
    if w.code.is_empty() || w.code.chars().count() > state.config.max_field_chars {
        return Err(ApiError::BadRequest(format!(
            "household code: 1 to {} characters (max_field_chars)",
            state.config.max_field_chars
        )));
    }
    chaski_core::store::check_name(&layer_name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if layer_name != DEFAULT_HOUSEHOLD_LAYER && !caller.role().may_choose_household_layer() {
        return Err(ApiError::Forbidden(format!(
            "only admin tokens choose the layer: a {} token deletes from 'households'",
            caller.role()
        )));
    }
    match caller.role() {
        Role::Cha => {
            w.cha_sector = w.cha_sector.or_else(|| caller.access.scope.clone());
        }
        Role::Facility => w.facility = w.facility.or_else(|| caller.access.scope.clone()),
        _ => {}
    }
    let st = state.clone();
    let who = caller.clone();
    let written = tokio::task::spawn_blocking(move || -> Result<HouseholdWritten, ApiError> {
        let store = st.store.as_ref();
        match store.layer_info(&layer_name) {
            Ok(info) if info.kind != LayerKind::Households => {
                return Err(ApiError::BadRequest(format!(
                    "layer '{layer_name}' holds {}, not households",
                    info.kind
                )));
            }
            Ok(_) => {}
            Err(StoreError::NotFound(_)) => {
                return Err(ApiError::NotFound(format!(
                    "no household '{}' in your scope",
                    w.code
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let report = ImportReport::of_withdrawals(&layer_name, vec![w]);
        let written = write(
            &st,
            &who,
            DELETE_ENDPOINT,
            &layer_name,
            Layer::new(&layer_name, LayerKind::Households),
            &report,
            &KnownCodes::default(),
        )?;
        if written.deleted_records() > 0 {
            refresh(&st);
        }
        Ok(written)
    })
    .await
    .map_err(ApiError::internal)??;
    let code = code.trim();
    if written.deleted_records() == 0 {
        return Err(ApiError::NotFound(format!(
            "no household '{code}' in your scope"
        )));
    }
    tracing::info!(
        token_id = caller.token_id().unwrap_or("-"),
        role = %caller.role(),
        endpoint = DELETE_ENDPOINT,
        deleted = written.deleted_records(),
        "household records deleted (consent withdrawn)"
    );
    Ok(Json(json!({
        "code": code,
        "deleted": written.deleted_records(),
        "records": written.deleted.iter().flat_map(|d| d.records.iter()).collect::<Vec<_>>(),
    })))
}

/// One household write of `caller` (blocking).
fn write(
    state: &AppState,
    caller: &Caller,
    what: &str,
    layer_name: &str,
    layer: Layer,
    report: &ImportReport,
    known: &KnownCodes,
) -> Result<HouseholdWritten, ApiError> {
    let writer = HouseholdWriter {
        access: &caller.access,
        who: caller.token_id(),
        what,
        tokens: state.tokens.as_deref(),
        max_distance_m: state.config.max_household_distance_m,
    };
    write_households(
        state.store.as_ref(),
        &writer,
        layer_name,
        layer,
        report,
        known,
    )
    .map_err(|e| write_error(caller, report.row_label, e))
}

/// New data version: rebuild the catalog now so tiles and aggregates refresh.
fn refresh(state: &AppState) {
    if let Err(e) = state.refresh() {
        tracing::warn!(error = %e, "catalog refresh after a household write failed");
    }
}

/// Parse, validate, check scope, write, log and refresh. Blocking.
fn process(
    state: &AppState,
    caller: &Caller,
    layer_name: &str,
    format: Format,
    body: &[u8],
    skip: bool,
    drop: Vec<String>,
) -> Result<Outcome, ApiError> {
    let store = state.store.as_ref();
    match store.layer_info(layer_name) {
        Ok(info) if info.kind != LayerKind::Households => {
            return Err(ApiError::BadRequest(format!(
                "layer '{layer_name}' holds {}, not households",
                info.kind
            )));
        }
        Ok(_) | Err(StoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (table, path) = match format {
        Format::Csv => {
            let path = std::path::Path::new("upload.csv");
            let t = chaski_io::csv::read_csv_str(text, path, None)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            (t, path)
        }
        Format::GeoJson => {
            let path = std::path::Path::new("upload.geojson");
            let t = chaski_io::households::read_geojson_str(text, path)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            (t, path)
        }
    };
    let rows = table.records.len() + table.problems.len();
    let max_rows = state.config.max_upload_rows;
    if rows > max_rows {
        return Err(ApiError::TooLarge(format!(
            "the upload holds {rows} {}s: at most {max_rows} per upload (max_upload_rows); \
             split it into several uploads",
            table.row_label
        )));
    }
    let known = state.known_codes()?;
    let mut opts = ImportOptions::new(layer_name);
    opts.kind = Some(LayerKind::Households);
    opts.known_codes = Some(known.clone());
    opts.max_field_chars = state.config.max_field_chars;
    if !drop.is_empty() {
        opts.mapping = Some(Mapping {
            options: chaski_io::mapping::MappingOptions {
                drop,
                ..chaski_io::mapping::MappingOptions::default()
            },
            ..Mapping::default()
        });
    }
    let (layer, report) = build_layer(table, path, &opts).map_err(|e| match e {
        ImportError::PersonalData { .. } => ApiError::Unprocessable(e.to_string()),
        other => ApiError::BadRequest(other.to_string()),
    })?;
    let rejected = issues_json(&report, Action::Rejected);
    let mut warnings = issues_json(&report, Action::Warning);
    warnings.extend(issues_json(&report, Action::Repaired));
    warnings.extend(
        report
            .notes
            .iter()
            .map(|n| json!({ "row": null, "field": null, "reason": n })),
    );
    if !rejected.is_empty() && !skip {
        // The scope comes first: rows outside it are refused even when others are invalid.
        let places = chaski_core::household::places::Places::new(match &state.tokens {
            Some(t) => t.places().map_err(ApiError::internal)?,
            None => Vec::new(),
        });
        let mut probe = layer.clone();
        chaski_core::household::write::check_scope(
            &caller.access,
            &mut probe,
            &report.feature_rows,
            &report.withdrawals,
            &chaski_core::household::write::WriteRules {
                places: &places,
                community_points: &known.community_points,
                max_distance_m: state.config.max_household_distance_m,
            },
        )
        .map_err(|r| refused_rows(caller, report.row_label, &r))?;
        return Ok(Outcome::Invalid(json!({
            "error": format!(
                "{} of {} {}s are invalid: nothing was written (fix them, or send \
                 ?on_error=skip to store the valid ones)",
                rejected.len(), report.read, report.row_label
            ),
            "status": 422,
            "rejected": rejected,
            "warnings": warnings,
            "dropped_columns": report.dropped_columns,
        })));
    }
    if layer.is_empty() && rejected.is_empty() && report.withdrawals.is_empty() {
        return Err(ApiError::BadRequest(
            "the body holds no household rows".into(),
        ));
    }
    let written = write(
        state,
        caller,
        UPLOAD_ENDPOINT,
        layer_name,
        layer,
        &report,
        &known,
    )?;
    for r in &written.repaired {
        warnings.push(json!({ "row": r.row, "field": r.field, "reason": r.reason }));
    }
    tracing::info!(
        token_id = caller.token_id().unwrap_or("-"),
        role = %caller.role(),
        endpoint = UPLOAD_ENDPOINT,
        inserted = written.inserted,
        updated = written.updated,
        deleted = written.deleted_records(),
        rejected = rejected.len(),
        "household records uploaded"
    );
    refresh(state);
    Ok(Outcome::Done(
        json!({
            "layer": layer_name,
            "inserted": written.inserted,
            "updated": written.updated,
            "deleted": deleted_json(&written.deleted),
            "rejected": rejected,
            "warnings": warnings,
            "dropped_columns": report.dropped_columns,
        }),
        written.inserted > 0,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_lists_read_naturally() {
        assert_eq!(row_list(&[2]), "2");
        assert_eq!(row_list(&[2, 5]), "2 and 5");
        assert_eq!(row_list(&[2, 5, 9]), "2, 5 and 9");
    }

    #[test]
    fn content_types() {
        let mut h = HeaderMap::new();
        assert_eq!(body_format(&h, b" {\"type\"").unwrap(), Format::GeoJson);
        assert_eq!(body_format(&h, b"a,b").unwrap(), Format::Csv);
        h.insert(
            header::CONTENT_TYPE,
            "text/csv; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(body_format(&h, b"{").unwrap(), Format::Csv);
        h.insert(
            header::CONTENT_TYPE,
            "application/geo+json".parse().unwrap(),
        );
        assert_eq!(body_format(&h, b"a").unwrap(), Format::GeoJson);
        h.insert(header::CONTENT_TYPE, "image/png".parse().unwrap());
        assert!(body_format(&h, b"a").is_err());
    }
}
