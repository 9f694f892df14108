//! Clusters of at-risk households and the private tile layers, computed for
//! one caller's rights and cached (see `routes::clusters` for the endpoint).
//!
//! * Cluster results (see [`chaski_analysis::clusters`] for the methods) are
//!   computed from the households the caller may see (`chaski_core::auth`'s
//!   [`Visibility`]), off the async runtime, at most `clusters_permits` at a
//!   time (the `clusters` family of [`crate::limits`]: a full family answers
//!   429), and cached per (data version, layer, options, scope) with the
//!   member codes included (the endpoint strips them for roles that may not
//!   see them).
//! * The private tile layers, for the roles `chaski_core::auth`'s policy lets
//!   see them: `households` (the caller's visible households,
//!   `violence_risk` removed unless granted) and `clusters` (the spatial scan
//!   of [`tile_cluster_options`] over the caller's households; polygons of
//!   the clusters of 5 households or more, no member codes). Built once per
//!   (data version, scope), never part of the public catalog.

use crate::catalog::CatalogLayer;
use crate::error::ApiError;
use crate::limits::{Family, Limiter};
use chaski_analysis::clusters::{self as engine, ClusterOptions, Clusters, ClustersError, Method};
use chaski_core::auth::{Access, FIELD_VIOLENCE_RISK, PrivateLayer, Visibility, reads_violence};
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::{LayerInfo, Store};
use chaski_core::value::{Field, FieldType, Value as FieldValue};
use chaski_io::crs::ProjProjections;
use chaski_tiles::{LayerSource, SourceOptions};
use geo::{Geometry, LineString, MultiPolygon, Polygon};
use serde_json::Value;
use std::sync::Arc;

/// Name of the private household tile layer (and of the store layer it shows).
pub const HOUSEHOLDS_LAYER: &str = PrivateLayer::Households.name();

/// Name of the private cluster tile layer.
pub const CLUSTERS_LAYER: &str = PrivateLayer::Clusters.name();

/// Most work of one spatial scan over HTTP, in window entries × replicates:
/// households × (households × `max_share`) × (replicates + 1), the neighbour
/// entries the scan walks for each replicate (fewer with `max_radius_m`, not
/// counted). The demo region's 5,198 household records with the default
/// `max_share` 0.5 and 999 replicates are 1.35e10; over this a request asks
/// for fewer replicates or a smaller `max_share` (413 naming `replicates`),
/// so that it is answered within the server's time limit rather than cut off
/// by it while its computation goes on (`chaski clusters` has no limit).
pub const MAX_SCAN_WORK: f64 = 2e10;

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

/// Refuse a spatial scan of `households` over `max_work` (413 naming
/// `replicates` and the most this server allows for them).
fn check_scan_work(
    opts: &ClusterOptions,
    households: usize,
    max_work: f64,
) -> Result<(), ApiError> {
    let n = households as f64;
    let entries = n * (n * opts.max_share).floor();
    let work = entries * (opts.replicates as f64 + 1.0);
    if opts.method != Method::Scan || work <= max_work {
        return Ok(());
    }
    let most = ((max_work / entries.max(1.0)).floor() - 1.0).max(0.0);
    Err(ApiError::TooLarge(format!(
        "parameter 'replicates': a scan with {} replicates and max_share {} over the households \
         you may see is more than this server computes in one request: ask for at most {most} \
         replicates (or a smaller max_share), or run `chaski clusters`",
        opts.replicates, opts.max_share
    )))
}

/// Caches of the private answers of one store, shared by every handler.
pub struct PrivateCache {
    store: Arc<dyn Store>,
    max_zoom: u8,
    /// Cluster results by (data version, layer, options, scope), member codes included.
    results: moka::future::Cache<String, Arc<Clusters>>,
    /// Private tile layers by (data version, name, scope).
    layers: moka::future::Cache<(u64, &'static str, String), Option<Arc<CatalogLayer>>>,
    limits: Arc<Limiter>,
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

/// `Err` of a cluster computation, ready to answer.
fn engine_error(e: ClustersError, access: &Access) -> ApiError {
    if let ClustersError::UnknownField { field, .. } = &e
        && !access.may_read_field(field)
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

impl PrivateCache {
    /// Empty caches over `store`; tile layers indexed up to `max_zoom`, the
    /// `clusters` tile layer computed with `tile_options`; computations take
    /// a permit of the `clusters` family of `limits`.
    pub fn new(
        store: Arc<dyn Store>,
        max_zoom: u8,
        tile_options: ClusterOptions,
        limits: Arc<Limiter>,
    ) -> Self {
        Self {
            store,
            max_zoom,
            results: moka::future::Cache::builder().max_capacity(64).build(),
            layers: moka::future::Cache::builder().max_capacity(32).build(),
            limits,
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

    /// Clusters of the households of `layer` the caller may see, member codes
    /// included (strip them before answering when not allowed). Cached.
    pub async fn compute(
        &self,
        layer: &str,
        opts: &ClusterOptions,
        access: &Access,
    ) -> Result<Arc<Clusters>, ApiError> {
        self.compute_within(layer, opts, access, f64::INFINITY)
            .await
    }

    /// [`Self::compute`] for a request of `GET /api/clusters`: a scan over
    /// [`MAX_SCAN_WORK`] is refused (413) before it starts.
    pub async fn compute_requested(
        &self,
        layer: &str,
        opts: &ClusterOptions,
        access: &Access,
    ) -> Result<Arc<Clusters>, ApiError> {
        self.compute_within(layer, opts, access, MAX_SCAN_WORK)
            .await
    }

    async fn compute_within(
        &self,
        layer: &str,
        opts: &ClusterOptions,
        access: &Access,
        max_work: f64,
    ) -> Result<Arc<Clusters>, ApiError> {
        let opts = ClusterOptions {
            with_members: true,
            k_distance: None,
            ..opts.clone()
        };
        opts.validate().map_err(|e| engine_error(e, access))?;
        let store = Arc::clone(&self.store);
        let version = tokio::task::spawn_blocking(move || store.version())
            .await
            .map_err(ApiError::internal)??;
        // The violence grant changes the answer only when a flag reads violence_risk.
        let scope = access.for_answer(reads_violence(&opts.flags)).scope_key();
        let key = format!("{version}|{layer}|{scope}|{opts:?}");
        let store = Arc::clone(&self.store);
        let name = layer.to_owned();
        let who = access.clone();
        let fetch = async move {
            let permit = self.limits.acquire(Family::Clusters).await?;
            tokio::task::spawn_blocking(move || -> Result<Arc<Clusters>, ApiError> {
                // Held until the computation ends, even when the request
                // that started it is gone.
                let _permit = permit;
                let seen = visible_layer(store.as_ref(), &name, &who)?;
                check_scan_work(&opts, seen.features.len(), max_work)?;
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
        self.results
            .try_get_with(key, fetch)
            .await
            .map_err(|e: Arc<ApiError>| (*e).clone())
    }

    /// The private tile layer `name` as the caller with `access` may see it,
    /// or None when it is not a private layer the caller may see (or the
    /// store has no households). Built once per (data version, scope).
    pub async fn layer(
        &self,
        version: u64,
        name: &str,
        access: &Access,
    ) -> Result<Option<Arc<CatalogLayer>>, ApiError> {
        let Some(private) = PrivateLayer::from_name(name) else {
            return Ok(None);
        };
        if !access.role.may_see_layer(private) {
            return Ok(None);
        }
        let name = private.name();
        let access = access.clone();
        let key = (version, name, access.scope_key());
        let maxzoom = self.max_zoom;
        let fetch = async move {
            let store = Arc::clone(&self.store);
            let has_households = tokio::task::spawn_blocking(move || -> Result<bool, ApiError> {
                Ok(store
                    .layers()?
                    .iter()
                    .any(|l| l.name == HOUSEHOLDS_LAYER && l.kind.is_private()))
            })
            .await
            .map_err(ApiError::internal)??;
            if !has_households {
                return Ok(None);
            }
            let layer = match private {
                PrivateLayer::Clusters => {
                    let found = self
                        .compute(HOUSEHOLDS_LAYER, &self.tile_options, &access)
                        .await?;
                    cluster_layer(&found)
                }
                PrivateLayer::Households => {
                    let store = Arc::clone(&self.store);
                    let a = access.clone();
                    tokio::task::spawn_blocking(move || {
                        visible_layer(store.as_ref(), HOUSEHOLDS_LAYER, &a)
                    })
                    .await
                    .map_err(ApiError::internal)??
                }
            };
            tokio::task::spawn_blocking(move || {
                catalog_layer(&layer, version, maxzoom).map(|l| Some(Arc::new(l)))
            })
            .await
            .map_err(ApiError::internal)?
        };
        self.layers
            .try_get_with(key, fetch)
            .await
            .map_err(|e: Arc<ApiError>| (*e).clone())
    }

    /// Every private tile layer the caller may see (for the catalog); a layer
    /// that cannot be built is left out with a log line.
    pub async fn layers(
        &self,
        version: u64,
        access: &Access,
    ) -> Vec<(&'static str, Arc<CatalogLayer>)> {
        let mut out = Vec::new();
        for name in [HOUSEHOLDS_LAYER, CLUSTERS_LAYER] {
            match self.layer(version, name, access).await {
                Ok(Some(l)) => out.push((name, l)),
                Ok(None) => {}
                Err(e) => tracing::warn!(layer = name, error = %e, "private tile layer left out"),
            }
        }
        out
    }
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

/// A catalog layer (tile source indexed up to `maxzoom`) of a computed layer.
pub(crate) fn catalog_layer(
    layer: &Layer,
    version: u64,
    maxzoom: u8,
) -> Result<CatalogLayer, ApiError> {
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

#[cfg(test)]
mod work_tests {
    use super::*;

    #[test]
    fn the_scan_work_bound_admits_exactly_the_replicates_it_names() {
        let households = 5_198;
        let entries = 5_198.0 * 2_599.0;
        let most = (MAX_SCAN_WORK / entries).floor() as usize - 1;
        let scan = |replicates, max_share| ClusterOptions {
            replicates,
            max_share,
            ..ClusterOptions::default()
        };
        assert!(check_scan_work(&scan(999, 0.5), households, MAX_SCAN_WORK).is_ok());
        assert!(check_scan_work(&scan(most, 0.5), households, MAX_SCAN_WORK).is_ok());
        let e = check_scan_work(&scan(most + 1, 0.5), households, MAX_SCAN_WORK).unwrap_err();
        assert!(
            matches!(&e, ApiError::TooLarge(m) if m.contains(&format!("at most {most} replicates"))),
            "{e:?}"
        );
        // Other methods, and the tile layer's unbounded computations, are not bounded.
        let dbscan = ClusterOptions {
            method: Method::Dbscan,
            ..scan(9_999, 1.0)
        };
        assert!(check_scan_work(&dbscan, households, MAX_SCAN_WORK).is_ok());
        assert!(check_scan_work(&scan(9_999, 1.0), households, f64::INFINITY).is_ok());
        assert!(check_scan_work(&scan(9_999, 1.0), 0, MAX_SCAN_WORK).is_ok());
    }
}
