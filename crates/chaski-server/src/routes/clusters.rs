//! `GET /api/clusters?method=scan|dbscan|gistar&flags=…`: clusters of the
//! households the caller may see (see [`chaski_analysis::clusters`] for the
//! methods, flags and rows; the query is read by [`ClusterRequest`]), as a
//! GeoJSON FeatureCollection: the polygon of each cluster with its row as
//! properties; a cluster of fewer than 5 households or fewer than 5 cases is
//! only its centre rounded to 0.01° with `households: "<5"` and no
//! statistic. The totals `households` and `cases` are `"<5"` when 1 to 4.
//! Flags may name risk fields only (400 otherwise, naming the field); Gi* on
//! too few units or on equal values is 422; a scan over the server's work
//! bound ([`crate::clusters::MAX_SCAN_WORK`]) is 413 before it starts.
//!
//! Who may ask what is `chaski_core::auth`'s role policy: analysts and admins
//! get clusters over every household, CHA and facility tokens over their own
//! households only; public callers get 403 (clusters are drawn from household
//! points), a bad token 401. Member household codes (`members=true`) only for
//! roles that may see household records (admin; CHA and facility for their
//! own households), never for analysts. Every answer, for every role, is
//! written to the access log (token, number of member codes, the canonical
//! query) before it is sent; if it cannot be, the answer is 500 with no
//! cluster data. Results are computed and cached by [`crate::clusters`].

use crate::auth::Caller;
use crate::error::ApiError;
use crate::error::answers::{
    BadRequest, Forbidden, NotFound, PayloadTooLarge, TooManyRequests, Unauthorized, Unprocessable,
};
use crate::params::ClusterRequest;
use crate::params::doc::ClusterQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chaski_analysis::clusters as engine;
use chaski_core::auth::AccessRecord;
use chaski_core::disclosure::Shown;
use serde_json::{Value, json};

/// Endpoint name in the access log.
pub const ENDPOINT: &str = "/api/clusters";

/// The answer of `GET /api/clusters`, as the API description shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ClustersAnswer {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: String,
    /// One feature per cluster: its polygon and row; a cluster under 5
    /// households or cases is only its centre rounded to 0.01° with
    /// `households: "<5"` and no statistic.
    pub features: Vec<Value>,
    /// Household layer.
    pub layer: String,
    /// `scan`, `dbscan` or `gistar`.
    pub method: String,
    /// The case flags.
    pub flags: Vec<String>,
    /// Whether a case has every flag.
    pub all: bool,
    /// The method's settings in words.
    pub settings: String,
    /// Households searched: a number, or `"<5"`.
    pub households: Value,
    /// Cases: a number, or `"<5"`.
    pub cases: Value,
    /// Whether member codes are given.
    pub members: bool,
    /// Smallest group shown.
    pub min_group: usize,
}

/// `GET /api/clusters`: clusters of the caller's households as GeoJSON.
#[utoipa::path(
    get,
    path = "/api/clusters",
    tag = "clusters",
    summary = "Clusters of at-risk households",
    description = "Clusters of the households the token may see (analysts and admins every \
        household, CHA and facility tokens their own): Kulldorff's spatial scan, DBSCAN or Gi* \
        hot spots, as GeoJSON, aggregates only unless `members=true` (roles that see household \
        records). Flags may name risk fields only. Public callers get 403. Every answer is in the \
        access log before it is sent.",
    params(ClusterQuery),
    responses(
        (status = 200, description = "The clusters.", body = ClustersAnswer),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
    ),
    security(("bearer" = [])),
)]
pub async fn clusters(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let role = caller.role();
    if !role.may_ask_clusters() {
        return Err(ApiError::Forbidden(
            "clusters are computed from household points: they need a token \
             (only aggregates are public, see /api/households/summary?by=community)"
                .into(),
        ));
    }
    let Query(params) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let req = ClusterRequest::parse(&params)?;
    if req.members && !role.may_see_cluster_members() {
        return Err(ApiError::Forbidden(format!(
            "parameter 'members': member household codes are household-level data, \
             not available to the {role} role"
        )));
    }
    let found = state
        .private
        .compute_requested(&req.layer, &req.options, &caller.access)
        .await?;
    let mut fc = engine::feature_collection(found.method, &found.rows, req.members);
    let count: u64 = if req.members {
        found.rows.iter().map(|r| r.members.len() as u64).sum()
    } else {
        0
    };
    if let Some(obj) = fc.as_object_mut() {
        obj.insert("layer".into(), json!(req.layer));
        obj.insert("method".into(), json!(found.method.as_str()));
        obj.insert("flags".into(), json!(found.flags));
        obj.insert("all".into(), json!(req.options.all));
        obj.insert("settings".into(), json!(req.options.describe()));
        obj.insert(
            "households".into(),
            json!(Shown::unless_small(found.households as u64)),
        );
        obj.insert(
            "cases".into(),
            json!(Shown::unless_small(found.cases as u64)),
        );
        obj.insert("members".into(), json!(req.members));
        obj.insert("min_group".into(), json!(engine::MIN_GROUP));
    }
    // Every answer is logged before it is sent, for every role: a series of
    // aggregate queries can single out households too. No log, no answer.
    let Some(tokens) = state.tokens.clone() else {
        return Err(ApiError::internal(
            "clusters answered without a token store to log them in",
        ));
    };
    let who = caller.token_id().map(str::to_owned);
    let detail = req.canonical();
    let logged = detail.clone();
    tokio::task::spawn_blocking(move || {
        tokens.log(&AccessRecord {
            who: who.as_deref(),
            what: ENDPOINT,
            count,
            status: 200,
            detail: Some(&logged),
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    if req.members {
        tracing::info!(
            token_id = caller.token_id().unwrap_or("-"),
            role = %role,
            endpoint = ENDPOINT,
            count,
            query = %detail,
            "cluster member codes served"
        );
    } else {
        tracing::info!(
            token_id = caller.token_id().unwrap_or("-"),
            role = %role,
            endpoint = ENDPOINT,
            clusters = found.rows.len(),
            query = %detail,
            "clusters served"
        );
    }
    Ok(Json(fc))
}
