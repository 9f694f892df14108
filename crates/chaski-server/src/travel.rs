//! Cached travel-time inputs and searches of the analysis APIs (the engine's
//! [`chaski_analysis::travel`] pipeline on the store's DEM, facilities,
//! villages, paths, roads and rivers).
//!
//! Each search over the store's facilities is cached per (data version,
//! category, birth care, preset, direction, moves), the prepared inputs (DEM
//! on a metric grid, burned lines) per data version and district polygons per
//! (data version, layer); every cache is emptied when the store's data
//! version changes. The CPU work runs on the blocking pool, in detached tasks:
//! a client that gives up does not cancel a search others may wait for.

use crate::error::ApiError;
use crate::params::{ListParams, RunParams};
use chaski_analysis::siting::plan::CandidateMatrix;
use chaski_analysis::travel::cost::{Direction, Neighbourhood};
use chaski_analysis::travel::village_access::District;
use chaski_analysis::travel::vocab::BirthCareFilter;
use chaski_analysis::travel::{
    PlaceFilter, RunSettings, TravelError, TravelInputs, TravelOptions, TravelResult,
    district_layer, district_polygons, find_district,
};
use chaski_core::store::Store;
use chaski_io::crs::ProjProjections;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Weight limit of the results cache, in KiB (1 GiB).
const RESULTS_CACHE_KIB: u64 = 1024 * 1024;

type ApiResult<T> = Result<T, ApiError>;

/// Key of one cached search.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ResultKey {
    version: u64,
    /// Categories selected, canonical and sorted ("" for all).
    category: String,
    birth_care: Option<BirthCareFilter>,
    preset: &'static str,
    /// Travel from the facility (staff) rather than to it.
    from_source: bool,
    /// Moves of the search.
    neighbourhood: Neighbourhood,
}

/// Cached travel-time inputs and searches of one store, held by the server state.
pub struct AccessCache {
    store: Arc<dyn Store>,
    max_grid_cells: usize,
    dem: Option<String>,
    inputs: moka::future::Cache<u64, Arc<TravelInputs>>,
    results: moka::future::Cache<ResultKey, Arc<TravelResult>>,
    /// District polygons (longitude/latitude) per (data version, layer).
    districts: moka::future::Cache<(u64, String), Arc<[District]>>,
    /// Answers of `POST /api/siting` per data version and request.
    pub(crate) siting: moka::future::Cache<(u64, String), Arc<String>>,
    /// Candidate matrices of `POST /api/siting` per data version, scenario,
    /// candidates, matrix limit and referral (any number of homes, model
    /// objective or demand is solved on them).
    pub(crate) siting_matrices: moka::future::Cache<(u64, String), Arc<CandidateMatrix>>,
    version: AtomicU64,
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache")
            .field("inputs", &self.inputs.entry_count())
            .field("results", &self.results.entry_count())
            .finish_non_exhaustive()
    }
}

impl AccessCache {
    /// Empty caches for `store` (inputs of two data versions, searches up to
    /// 1 GiB); grids over `max_grid_cells` are refused, `dem` names the DEM.
    pub fn new(store: Arc<dyn Store>, max_grid_cells: usize, dem: Option<String>) -> Self {
        Self {
            store,
            max_grid_cells,
            dem,
            inputs: moka::future::Cache::builder().max_capacity(2).build(),
            results: moka::future::Cache::builder()
                .max_capacity(RESULTS_CACHE_KIB)
                .weigher(|_k: &ResultKey, v: &Arc<TravelResult>| {
                    u32::try_from(v.size_bytes() / 1024 + 1).unwrap_or(u32::MAX)
                })
                .build(),
            districts: moka::future::Cache::builder().max_capacity(4).build(),
            siting: moka::future::Cache::builder().max_capacity(16).build(),
            siting_matrices: moka::future::Cache::builder().max_capacity(8).build(),
            version: AtomicU64::new(u64::MAX),
        }
    }

    /// Number of cached siting matrices (after pending maintenance).
    pub async fn cached_siting_matrices(&self) -> u64 {
        self.siting_matrices.run_pending_tasks().await;
        self.siting_matrices.entry_count()
    }

    /// Number of cached searches (after pending maintenance).
    pub async fn cached_results(&self) -> u64 {
        self.results.run_pending_tasks().await;
        self.results.entry_count()
    }

    /// The store's data version; empties the caches when it moved on.
    pub(crate) async fn version(&self) -> ApiResult<u64> {
        let store = Arc::clone(&self.store);
        let v = tokio::task::spawn_blocking(move || store.version())
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        let before = self.version.swap(v, Ordering::AcqRel);
        if before != v && before != u64::MAX {
            tracing::info!(before, now = v, "store changed: travel-time caches emptied");
            self.inputs.invalidate_all();
            self.results.invalidate_all();
            self.districts.invalidate_all();
            self.siting.invalidate_all();
            self.siting_matrices.invalidate_all();
        }
        Ok(v)
    }

    /// The prepared inputs of data version `version` (every facility, every village).
    ///
    /// Work runs in a detached task: a client that gives up (or the request
    /// timeout) does not cancel it, and its result still lands in the cache.
    pub(crate) async fn inputs(self: &Arc<Self>, version: u64) -> ApiResult<Arc<TravelInputs>> {
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            let store = Arc::clone(&this.store);
            let opts = TravelOptions {
                all_villages: true,
                max_cells: Some(this.max_grid_cells),
                dem: this.dem.clone(),
                ..TravelOptions::default()
            };
            let init = async move {
                tokio::task::spawn_blocking(move || {
                    TravelInputs::from_store(store.as_ref(), &opts, &ProjProjections).map(Arc::new)
                })
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::from)
            };
            this.inputs
                .try_get_with(version, init)
                .await
                .map_err(|e| (*e).clone())
        });
        task.await.map_err(ApiError::internal)?
    }

    /// The search of the store's facilities selected by `run`, cached (in a
    /// detached task, as [`AccessCache::inputs`]).
    pub(crate) async fn result(
        self: &Arc<Self>,
        run: &RunParams,
    ) -> ApiResult<(u64, Arc<TravelResult>)> {
        let version = self.version().await?;
        let key = ResultKey {
            version,
            category: run
                .filter
                .categories()
                .map(|c| c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","))
                .unwrap_or_default(),
            birth_care: run.filter.birth_care(),
            preset: run.preset,
            from_source: run.direction == Direction::FromSource,
            neighbourhood: run.neighbourhood,
        };
        let (this, filter, scenario, direction, neighbourhood) = (
            Arc::clone(self),
            run.filter.clone(),
            run.scenario.clone(),
            run.direction,
            run.neighbourhood,
        );
        let task = tokio::spawn(async move {
            let init = async {
                let inputs = this.inputs(version).await?;
                tokio::task::spawn_blocking(move || {
                    let t0 = std::time::Instant::now();
                    let sources = filter.select(&inputs.facilities);
                    let surface = inputs.surface(&scenario)?;
                    let what = format!("layer '{}'", inputs.facilities_layer);
                    let result = inputs.run_on(
                        &surface,
                        &inputs.scenario_name(&scenario),
                        &sources,
                        &what,
                        RunSettings {
                            direction,
                            max_minutes: None,
                            neighbourhood,
                        },
                    )?;
                    tracing::info!(elapsed = ?t0.elapsed(), scenario = scenario.name, "travel time searched");
                    Ok::<_, TravelError>(Arc::new(result))
                })
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::from)
            };
            this.results
                .try_get_with(key, init)
                .await
                .map_err(|e| (*e).clone())
        });
        let result = task.await.map_err(ApiError::internal)??;
        Ok((version, result))
    }

    /// The villages `list` selects (`bbox`, `district` of the layer
    /// `districts` names or the store's one layer of districts), and the
    /// district chosen as (layer, code, name).
    pub(crate) async fn place_filter(
        &self,
        list: &ListParams,
    ) -> ApiResult<(PlaceFilter, Option<DistrictRef>)> {
        let mut filter = PlaceFilter::all();
        if let Some(b) = list.bbox {
            filter = filter.with_bbox(b);
        }
        let Some(key) = list.district.clone() else {
            return Ok((filter, None));
        };
        let version = self.version().await?;
        let store = Arc::clone(&self.store);
        let named = list.districts.clone();
        let option = if named.is_some() {
            "query parameter 'districts'"
        } else {
            "query parameter 'district'"
        };
        let layer = tokio::task::spawn_blocking(move || {
            district_layer(store.as_ref(), named.as_deref(), option)
        })
        .await
        .map_err(ApiError::internal)??;
        let store = Arc::clone(&self.store);
        let name = layer.clone();
        let districts = self
            .districts
            .try_get_with((version, layer.clone()), async move {
                tokio::task::spawn_blocking(move || {
                    store
                        .read_layer(&name)
                        .map(|l| Arc::<[District]>::from(district_polygons(&l)))
                })
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::from)
            })
            .await
            .map_err(|e: Arc<ApiError>| (*e).clone())?;
        let i = find_district(&districts, &key, &layer, "query parameter 'district'")?;
        let d = &districts[i];
        let chosen = DistrictRef {
            layer,
            code: d.code.clone(),
            name: d.name.clone(),
        };
        Ok((filter.with_district(&districts, i), Some(chosen)))
    }
}

/// The district a list answer is filtered by.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DistrictRef {
    /// Layer of the district polygons.
    layer: String,
    /// Code of the district.
    code: String,
    /// Name of the district.
    name: String,
}
