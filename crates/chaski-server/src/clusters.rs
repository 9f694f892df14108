//! Clusters of at-risk households and the private tile layers.
//!
//! * `GET /api/clusters?method=scan|dbscan|gistar&flags=…`: clusters of the
//!   households the caller may see (see [`chaski_analysis::clusters`] for the
//!   methods, flags and rows), as a GeoJSON FeatureCollection: the polygon of
//!   each cluster with its row as properties; a cluster of fewer than 5
//!   households or fewer than 5 cases is only its centre rounded to 0.01°
//!   with `households: "<5"` and no statistic. The totals `households` and
//!   `cases` are `"<5"` when 1 to 4. Flags may name risk fields only (400
//!   otherwise, naming the field); Gi* on too few units or on equal values is
//!   422. Analysts and admins get clusters over every household, CHA and
//!   facility tokens over their own households only; public callers get 403
//!   (clusters are drawn from household points), a bad token 401. Member
//!   household codes (`members=true`) only for roles that may see household
//!   records (admin; CHA and facility for their own households), never for
//!   analysts. Every answer, for every role, is written to the access log
//!   (token, number of member codes, the canonical query) before it is sent;
//!   if it cannot be, the answer is 500 with no cluster data. Results are
//!   computed off the async runtime, at most [`MAX_RUNNING`] at a time, and
//!   cached per (data version, parameters, scope).
//! * The private tile layers: `households` (the caller's visible households,
//!   `violence_risk` removed unless granted) for admin, CHA and facility
//!   tokens, and `clusters` (the spatial scan of [`tile_cluster_options`] over
//!   the caller's households; polygons of the clusters of 5 households or
//!   more, no member codes) for analyst, admin, CHA and facility tokens.

use crate::auth::Caller;
use crate::catalog::CatalogLayer;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chaski_analysis::clusters::{self as engine, ClusterOptions, Clusters, ClustersError, Method};
use chaski_core::auth::{Access, AccessRecord, FIELD_VIOLENCE_RISK, Role, Visibility};
use chaski_core::disclosure::Shown;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::{LayerInfo, Store};
use chaski_core::value::{Field, FieldType, Value as FieldValue};
use chaski_io::crs::ProjProjections;
use chaski_tiles::{LayerSource, SourceOptions};
use geo::{Geometry, LineString, MultiPolygon, Polygon};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;

/// Endpoint name in the access log.
pub const ENDPOINT: &str = "/api/clusters";

/// Endpoint name of household tiles in the access log.
pub const TILE_ENDPOINT: &str = "/tiles/households";

/// Name of the private household tile layer (and of the store layer it shows).
pub const HOUSEHOLDS_LAYER: &str = "households";

/// Name of the private cluster tile layer.
pub const CLUSTERS_LAYER: &str = "clusters";

/// Most Monte Carlo replicates a request may ask for.
pub const MAX_REPLICATES: usize = 9_999;

/// Most cluster computations running at once (the rest wait their turn).
pub const MAX_RUNNING: usize = 2;

/// Flags of the `clusters` tile layer: a case is a household with any of them.
pub const TILE_FLAGS: &str = "anaemia,malnutrition,danger_signs";

/// Options of the `clusters` tile layer: the spatial scan of [`TILE_FLAGS`]
/// (any), 999 replicates, seed 1997.
pub fn tile_cluster_options() -> ClusterOptions {
    ClusterOptions {
        flags: TILE_FLAGS.to_owned(),
        method: Method::Scan,
        replicates: 999,
        seed: 1997,
        ..ClusterOptions::default()
    }
}

/// Whether `role` may see the private tile layer `name` (None: not a private layer).
pub fn may_see_layer(role: Role, name: &str) -> Option<bool> {
    match name {
        HOUSEHOLDS_LAYER => Some(matches!(role, Role::Admin | Role::Cha | Role::Facility)),
        CLUSTERS_LAYER => Some(matches!(
            role,
            Role::Analyst | Role::Admin | Role::Cha | Role::Facility
        )),
        _ => None,
    }
}

/// Whether `role` may receive member household codes.
pub fn may_see_members(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Cha | Role::Facility)
}

/// Which households a caller's answers are computed from: a cache-key part.
pub fn scope_key(access: &Access) -> String {
    let scope = match access.role {
        Role::Public => "none".to_owned(),
        Role::Analyst | Role::Admin => "all".to_owned(),
        Role::Cha => format!("cha:{}", access.scope.as_deref().unwrap_or("")),
        Role::Facility => format!("facility:{}", access.scope.as_deref().unwrap_or("")),
    };
    if access.violence {
        format!("{scope}+violence")
    } else {
        scope
    }
}

/// Caches of the private answers, shared by every handler.
pub struct PrivateCache {
    /// Cluster results by (data version, layer, options, scope), member codes included.
    results: moka::future::Cache<String, Arc<Clusters>>,
    /// Private tile layers by (data version, name, scope).
    layers: moka::future::Cache<(u64, &'static str, String), Option<Arc<CatalogLayer>>>,
    running: tokio::sync::Semaphore,
    tile_options: ClusterOptions,
}

impl std::fmt::Debug for PrivateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateCache")
            .field("results", &self.results.entry_count())
            .field("layers", &self.layers.entry_count())
            .field("tile_options", &self.tile_options)
            .finish_non_exhaustive()
    }
}

impl Default for PrivateCache {
    fn default() -> Self {
        Self::new(tile_cluster_options())
    }
}

impl PrivateCache {
    /// Empty caches; the `clusters` tile layer uses `tile_options`.
    pub fn new(tile_options: ClusterOptions) -> Self {
        Self {
            results: moka::future::Cache::builder().max_capacity(64).build(),
            layers: moka::future::Cache::builder().max_capacity(32).build(),
            running: tokio::sync::Semaphore::new(MAX_RUNNING),
            tile_options,
        }
    }

    /// Options of the `clusters` tile layer.
    pub fn tile_options(&self) -> &ClusterOptions {
        &self.tile_options
    }

    /// How many cluster results are cached (after pending cache work is done).
    pub async fn cached_results(&self) -> u64 {
        self.results.run_pending_tasks().await;
        self.results.entry_count()
    }
}

/// `Err` of a cluster computation, ready to answer.
fn engine_error(e: ClustersError, access: &Access) -> ApiError {
    if let ClustersError::UnknownField { field, .. } = &e
        && field == FIELD_VIOLENCE_RISK
        && !access.violence
    {
        return ApiError::Forbidden(format!(
            "parameter 'flags': {FIELD_VIOLENCE_RISK} is restricted to tokens holding the violence grant"
        ));
    }
    if e.is_unprocessable() {
        return ApiError::Unprocessable(e.to_string());
    }
    match e.parameter() {
        Some(p) => ApiError::BadRequest(format!("parameter '{p}': {e}")),
        None => ApiError::internal(e),
    }
}

/// The part of store layer `name` the caller may see (blocking).
fn visible_layer(store: &dyn Store, name: &str, access: &Access) -> Result<Layer, ApiError> {
    let info = store
        .layers()?
        .into_iter()
        .find(|l| l.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no layer named '{name}'")))?;
    if !info.kind.is_private() {
        return Err(ApiError::BadRequest(format!(
            "parameter 'layer': '{name}' is not a household layer"
        )));
    }
    let layer = store.read_layer(name)?;
    Ok(Visibility::new(access, &layer).apply(&layer))
}

/// Clusters of the households of `layer` the caller may see, member codes
/// included (strip them before answering when not allowed). Cached.
pub async fn compute(
    state: &AppState,
    layer: &str,
    opts: &ClusterOptions,
    access: &Access,
) -> Result<Arc<Clusters>, ApiError> {
    let opts = ClusterOptions {
        with_members: true,
        k_distance: None,
        ..opts.clone()
    };
    opts.validate().map_err(|e| engine_error(e, access))?;
    let st = state.clone();
    let version = tokio::task::spawn_blocking(move || st.store.version())
        .await
        .map_err(ApiError::internal)??;
    // The violence grant changes the answer only when a flag reads violence_risk.
    let uses_violence = opts
        .flags
        .to_ascii_lowercase()
        .contains(FIELD_VIOLENCE_RISK);
    let scope = scope_key(&Access {
        violence: access.violence && uses_violence,
        ..access.clone()
    });
    let key = format!("{version}|{layer}|{scope}|{opts:?}");
    let cache = state.private.clone();
    let st = state.clone();
    let name = layer.to_owned();
    let who = access.clone();
    let fetch = async move {
        let _permit = cache.running.acquire().await.map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || -> Result<Arc<Clusters>, ApiError> {
            let seen = visible_layer(st.store.as_ref(), &name, &who)?;
            if seen.features.is_empty() {
                return Ok(Arc::new(Clusters {
                    method: opts.method,
                    rows: Vec::new(),
                    households: 0,
                    cases: 0,
                    flags: Vec::new(),
                    k_distances: None,
                }));
            }
            engine::find_clusters(&seen, &opts, &ProjProjections)
                .map(Arc::new)
                .map_err(|e| engine_error(e, &who))
        })
        .await
        .map_err(ApiError::internal)?
    };
    state
        .private
        .results
        .try_get_with(key, fetch)
        .await
        .map_err(|e: Arc<ApiError>| (*e).clone())
}

fn parse_num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ApiError> {
    v.trim().parse::<T>().map_err(|_| {
        ApiError::BadRequest(format!("parameter '{name}': '{v}' is not a valid number"))
    })
}

fn parse_flag_bool(name: &str, v: &str) -> Result<bool, ApiError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::BadRequest(format!(
            "parameter '{name}': '{v}' is not true or false"
        ))),
    }
}

fn check_range(name: &str, ok: bool, v: &str, why: &str) -> Result<(), ApiError> {
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "parameter '{name}': {v} {why}"
        )))
    }
}

/// The parameters of `GET /api/clusters`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRequest {
    /// Household layer (default `households`).
    pub layer: String,
    /// What to compute.
    pub options: ClusterOptions,
    /// Whether member household codes are asked for.
    pub members: bool,
}

impl ClusterRequest {
    /// The request in one canonical form, for the access log:
    /// `method=scan&flags=anaemia,danger_signs&all=false&members=false`, then
    /// the layer when it is not `households` and the method's own settings.
    pub fn canonical(&self) -> String {
        let o = &self.options;
        let flags: Vec<&str> = o
            .flags
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        let mut q = format!(
            "method={}&flags={}&all={}&members={}",
            o.method.as_str(),
            flags.join(","),
            o.all,
            self.members
        );
        if self.layer != HOUSEHOLDS_LAYER {
            let _ = write!(q, "&layer={}", self.layer);
        }
        match o.method {
            Method::Scan => {
                let _ = write!(
                    q,
                    "&max_share={}&replicates={}&seed={}&max_clusters={}",
                    o.max_share, o.replicates, o.seed, o.max_clusters
                );
                if let Some(r) = o.max_radius_m {
                    let _ = write!(q, "&max_radius_m={r}");
                }
            }
            Method::Dbscan => {
                let _ = write!(q, "&eps_m={}&min_points={}", o.eps_m, o.min_points);
            }
            Method::Gistar => {
                let _ = write!(q, "&by={}", o.by.as_str());
                if o.by == engine::By::Grid {
                    let _ = write!(q, "&cell_m={}", o.cell_m);
                }
                let _ = write!(q, "&value={}&k={}&alpha={}", o.value.as_str(), o.k, o.alpha);
            }
        }
        q
    }
}

/// Read the query string of `GET /api/clusters`; errors name the parameter.
pub fn parse_request(params: &[(String, String)]) -> Result<ClusterRequest, ApiError> {
    let mut o = ClusterOptions::default();
    let mut layer = HOUSEHOLDS_LAYER.to_owned();
    let mut members = false;
    let mut flags = None;
    let mut any = None;
    for (k, v) in params {
        let v = v.as_str();
        match k.as_str() {
            "layer" => v.trim().clone_into(&mut layer),
            "method" => {
                o.method = v.parse().map_err(|e: ClustersError| {
                    ApiError::BadRequest(format!("parameter 'method': {e}"))
                })?;
            }
            "flags" => flags = Some(v.to_owned()),
            "all" => o.all = parse_flag_bool(k, v)?,
            "any" => any = Some(parse_flag_bool(k, v)?),
            "members" => members = parse_flag_bool(k, v)?,
            "max_share" => o.max_share = parse_num(k, v)?,
            "max_radius" | "max_radius_m" => o.max_radius_m = Some(parse_num(k, v)?),
            "replicates" => {
                o.replicates = parse_num(k, v)?;
                check_range(
                    k,
                    o.replicates <= MAX_REPLICATES,
                    v,
                    &format!("is too many: at most {MAX_REPLICATES} replicates"),
                )?;
            }
            "seed" => o.seed = parse_num(k, v)?,
            "max_clusters" => {
                o.max_clusters = parse_num(k, v)?;
                check_range(
                    k,
                    (1..=100).contains(&o.max_clusters),
                    v,
                    "must be 1 to 100",
                )?;
            }
            "eps" | "eps_m" => {
                o.eps_m = parse_num(k, v)?;
                check_range(
                    k,
                    o.eps_m.is_finite() && o.eps_m > 0.0 && o.eps_m <= 10_000.0,
                    v,
                    "must be a distance in (0, 10000] m",
                )?;
            }
            "min_points" => {
                o.min_points = parse_num(k, v)?;
                check_range(
                    k,
                    (1..=10_000).contains(&o.min_points),
                    v,
                    "must be 1 to 10000",
                )?;
            }
            "by" => {
                o.by = v.parse().map_err(|e: ClustersError| {
                    ApiError::BadRequest(format!("parameter 'by': {e}"))
                })?;
            }
            "cell" | "cell_m" => {
                o.cell_m = parse_num(k, v)?;
                check_range(
                    k,
                    o.cell_m.is_finite() && (50.0..=50_000.0).contains(&o.cell_m),
                    v,
                    "must be a cell side of 50 to 50000 m",
                )?;
            }
            "value" => {
                o.value = v.parse().map_err(|e: ClustersError| {
                    ApiError::BadRequest(format!("parameter 'value': {e}"))
                })?;
            }
            "k" => {
                o.k = parse_num(k, v)?;
                check_range(k, (1..=64).contains(&o.k), v, "must be 1 to 64")?;
            }
            "alpha" => o.alpha = parse_num(k, v)?,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter '{other}': expected method, flags, all, members, layer, \
                     max_share, max_radius_m, replicates, seed, max_clusters (scan), eps_m, \
                     min_points (dbscan), by, cell_m, value, k, alpha (gistar)"
                )));
            }
        }
    }
    let Some(flags) = flags.filter(|f| !f.trim().is_empty()) else {
        return Err(ApiError::BadRequest(
            "parameter 'flags' is required: a comma list such as flags=anaemia,danger_signs \
             or flags=risk_level=alto"
                .into(),
        ));
    };
    if any == Some(true) && o.all {
        return Err(ApiError::BadRequest(
            "parameters 'any' and 'all' contradict each other".into(),
        ));
    }
    if layer.is_empty() {
        return Err(ApiError::BadRequest("parameter 'layer' is empty".into()));
    }
    o.flags = flags;
    o.validate().map_err(|e| match e.parameter() {
        Some(p) => ApiError::BadRequest(format!("parameter '{p}': {e}")),
        None => ApiError::BadRequest(e.to_string()),
    })?;
    Ok(ClusterRequest {
        layer,
        options: o,
        members,
    })
}

/// `GET /api/clusters`: clusters of the caller's households as GeoJSON.
pub async fn clusters(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let role = caller.role();
    if role == Role::Public {
        return Err(ApiError::Forbidden(
            "clusters are computed from household points: they need a token \
             (only aggregates are public, see /api/households/summary?by=community)"
                .into(),
        ));
    }
    let Query(params) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let req = parse_request(&params)?;
    if req.members && !may_see_members(role) {
        return Err(ApiError::Forbidden(format!(
            "parameter 'members': member household codes are household-level data, \
             not available to the {role} role"
        )));
    }
    let found = compute(&state, &req.layer, &req.options, &caller.access).await?;
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

/// Fields of the `clusters` tile layer (the row columns, no members).
fn cluster_fields() -> Vec<Field> {
    engine::HEADER
        .iter()
        .map(|&h| {
            let ty = match h {
                "id" | "method" => FieldType::Text,
                "rank" | "households" | "cases" => FieldType::Int,
                _ => FieldType::Real,
            };
            Field::new(h, ty)
        })
        .collect()
}

/// The `clusters` tile layer of a result: the polygons of the clusters shown
/// (5 households or more), with their row properties.
pub fn cluster_layer(found: &Clusters) -> Layer {
    let mut layer = Layer::new(CLUSTERS_LAYER, LayerKind::Boundaries);
    layer.fields = cluster_fields();
    for row in &found.rows {
        let Some(ring) = engine::shown_polygon(row) else {
            continue;
        };
        let props = engine::properties(found.method, row, false);
        let values = layer
            .fields
            .iter()
            .map(|f| match (props.get(&f.name), f.ty) {
                (Some(Value::String(s)), FieldType::Text) => FieldValue::Text(s.clone()),
                (Some(Value::Number(n)), FieldType::Int) => n
                    .as_f64()
                    .map_or(FieldValue::Null, |x| FieldValue::Int(x as i64)),
                (Some(Value::Number(n)), FieldType::Real) => {
                    n.as_f64().map_or(FieldValue::Null, FieldValue::Real)
                }
                _ => FieldValue::Null,
            })
            .collect();
        let poly = Polygon::new(LineString::from(ring.to_vec()), Vec::new());
        layer.features.push(Feature {
            fid: row.rank as i64,
            geometry: Geometry::MultiPolygon(MultiPolygon(vec![poly])),
            values,
        });
    }
    layer
}

fn catalog_layer(layer: &Layer, version: u64, maxzoom: u8) -> Result<CatalogLayer, ApiError> {
    let options = SourceOptions {
        maxzoom,
        ..SourceOptions::default()
    };
    let source = LayerSource::with_options(layer, options).map_err(ApiError::internal)?;
    Ok(CatalogLayer {
        info: LayerInfo {
            name: layer.name.clone(),
            kind: layer.kind,
            geometry_type: layer.kind.geometry_type(),
            fields: layer.fields.clone(),
            feature_count: layer.len(),
            bounds: chaski_core::store::layer_bounds(layer),
            version,
        },
        minzoom: 0,
        maxzoom,
        source: Arc::new(source),
    })
}

/// The private tile layer `name` as the caller may see it, or None when it is
/// not a private layer the caller may see (or the store has no households).
/// Built once per (data version, scope).
pub async fn private_layer(
    state: &AppState,
    version: u64,
    name: &str,
    caller: &Caller,
) -> Result<Option<Arc<CatalogLayer>>, ApiError> {
    let (name, is_clusters): (&'static str, bool) = match name {
        HOUSEHOLDS_LAYER => (HOUSEHOLDS_LAYER, false),
        CLUSTERS_LAYER => (CLUSTERS_LAYER, true),
        _ => return Ok(None),
    };
    if may_see_layer(caller.role(), name) != Some(true) {
        return Ok(None);
    }
    let access = caller.access.clone();
    let key = (version, name, scope_key(&access));
    let maxzoom = state.config.max_zoom;
    let st = state.clone();
    let fetch = async move {
        let s2 = st.clone();
        let has_households = tokio::task::spawn_blocking(move || -> Result<bool, ApiError> {
            Ok(s2
                .store
                .layers()?
                .iter()
                .any(|l| l.name == HOUSEHOLDS_LAYER && l.kind.is_private()))
        })
        .await
        .map_err(ApiError::internal)??;
        if !has_households {
            return Ok(None);
        }
        let layer = if is_clusters {
            let opts = st.private.tile_options.clone();
            let found = compute(&st, HOUSEHOLDS_LAYER, &opts, &access).await?;
            cluster_layer(&found)
        } else {
            let s2 = st.clone();
            let a = access.clone();
            tokio::task::spawn_blocking(move || {
                visible_layer(s2.store.as_ref(), HOUSEHOLDS_LAYER, &a)
            })
            .await
            .map_err(ApiError::internal)??
        };
        tokio::task::spawn_blocking(move || {
            catalog_layer(&layer, version, maxzoom).map(|l| Some(Arc::new(l)))
        })
        .await
        .map_err(ApiError::internal)?
    };
    state
        .private
        .layers
        .try_get_with(key, fetch)
        .await
        .map_err(|e: Arc<ApiError>| (*e).clone())
}

/// Every private tile layer the caller may see (for the catalog); a layer
/// that cannot be built is left out with a log line.
pub async fn private_layers(
    state: &AppState,
    version: u64,
    caller: &Caller,
) -> Vec<(&'static str, Arc<CatalogLayer>)> {
    let mut out = Vec::new();
    for name in [HOUSEHOLDS_LAYER, CLUSTERS_LAYER] {
        match private_layer(state, version, name, caller).await {
            Ok(Some(l)) => out.push((name, l)),
            Ok(None) => {}
            Err(e) => tracing::warn!(layer = name, error = %e, "private tile layer left out"),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn err(s: &[(&str, &str)]) -> String {
        match parse_request(&q(s)).unwrap_err() {
            ApiError::BadRequest(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn requests_parse_and_bad_parameters_are_named() {
        let r = parse_request(&q(&[
            ("method", "dbscan"),
            ("flags", "anaemia,danger_signs"),
            ("eps", "200"),
            ("min_points", "3"),
            ("members", "true"),
        ]))
        .unwrap();
        assert_eq!(r.options.method, Method::Dbscan);
        assert!((r.options.eps_m - 200.0).abs() < f64::EPSILON);
        assert_eq!(r.options.min_points, 3);
        assert!(r.members);
        assert_eq!(r.layer, "households");
        assert!(err(&[]).contains("'flags'"));
        assert!(err(&[("flags", "a"), ("replicates", "10000")]).contains("'replicates'"));
        assert!(err(&[("flags", "a"), ("replicates", "-1")]).contains("'replicates'"));
        assert!(err(&[("flags", "a"), ("max_share", "2")]).contains("'max_share'"));
        assert!(err(&[("flags", "a"), ("method", "kmeans")]).contains("'method'"));
        assert!(err(&[("flags", "a"), ("eps", "0")]).contains("'eps'"));
        assert!(err(&[("flags", "a"), ("k", "1000")]).contains("'k'"));
        assert!(err(&[("flags", "a"), ("members", "maybe")]).contains("'members'"));
        assert!(err(&[("flags", "a"), ("zoom", "3")]).contains("'zoom'"));
        assert!(err(&[("flags", "a"), ("method", "gistar"), ("alpha", "1")]).contains("'alpha'"));
    }

    #[test]
    fn canonical_queries_for_the_access_log() {
        let c = |s: &[(&str, &str)]| parse_request(&q(s)).unwrap().canonical();
        assert_eq!(
            c(&[("flags", " anaemia, danger_signs ,"), ("seed", "7")]),
            "method=scan&flags=anaemia,danger_signs&all=false&members=false\
             &max_share=0.5&replicates=999&seed=7&max_clusters=10"
        );
        assert_eq!(
            c(&[
                ("members", "true"),
                ("method", "dbscan"),
                ("flags", "risk_level=alto"),
                ("all", "true"),
                ("eps", "200"),
            ]),
            "method=dbscan&flags=risk_level=alto&all=true&members=true&eps_m=200&min_points=4"
        );
        assert_eq!(
            c(&[
                ("method", "gistar"),
                ("flags", "anaemia"),
                ("by", "community")
            ]),
            "method=gistar&flags=anaemia&all=false&members=false&by=community\
             &value=rate&k=8&alpha=0.05"
        );
    }

    #[test]
    fn roles_and_scopes() {
        assert_eq!(may_see_layer(Role::Analyst, "households"), Some(false));
        assert_eq!(may_see_layer(Role::Analyst, "clusters"), Some(true));
        assert_eq!(may_see_layer(Role::Public, "clusters"), Some(false));
        assert_eq!(may_see_layer(Role::Cha, "households"), Some(true));
        assert_eq!(may_see_layer(Role::Admin, "communities"), None);
        assert!(!may_see_members(Role::Analyst) && may_see_members(Role::Facility));
        let cha = Access::new(Role::Cha, Some("S1".into()), true).unwrap();
        assert_eq!(scope_key(&cha), "cha:S1+violence");
        let an = Access::new(Role::Analyst, None, false).unwrap();
        let ad = Access::new(Role::Admin, None, false).unwrap();
        assert_eq!(scope_key(&an), scope_key(&ad));
    }
}
