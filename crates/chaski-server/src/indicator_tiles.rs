//! The `indicators` tile layers (`GET /tiles/indicators/{z}/{x}/{y}`, see
//! `routes::monitoring`): the choropleth of one indicator and survey round by
//! community ([`chaski_analysis::monitoring::map`]), built for one caller's
//! rights and cached per (data version, indicator, round, households the
//! caller's answers are computed from, protected or exact).

use crate::catalog::CatalogLayer;
use crate::clusters::catalog_layer;
use crate::error::ApiError;
use chaski_analysis::monitoring::config::{Indicator, Indicators};
use chaski_analysis::monitoring::data::Records;
use chaski_analysis::monitoring::map::indicator_map;
use chaski_core::auth::Access;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::store::Store;
use std::sync::Arc;

/// Cached choropleth layers of one store.
pub struct IndicatorLayers {
    store: Arc<dyn Store>,
    max_zoom: u8,
    layers: moka::future::Cache<String, Arc<CatalogLayer>>,
}

impl std::fmt::Debug for IndicatorLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndicatorLayers")
            .field("layers", &self.layers.entry_count())
            .finish_non_exhaustive()
    }
}

impl IndicatorLayers {
    /// An empty cache over `store`; layers indexed up to `max_zoom`.
    pub fn new(store: Arc<dyn Store>, max_zoom: u8) -> Self {
        Self {
            store,
            max_zoom,
            layers: moka::future::Cache::builder().max_capacity(64).build(),
        }
    }

    /// The layer of indicator `id` in `round` for `access` (`protected`: the
    /// aggregates of callers who may not see household records). The
    /// indicator must exist in `indicators` and be allowed to the caller
    /// (the handler checks both).
    pub async fn layer(
        &self,
        indicators: Indicators,
        id: &str,
        round: i64,
        access: &Access,
        protected: bool,
    ) -> Result<Arc<CatalogLayer>, ApiError> {
        let store = Arc::clone(&self.store);
        let version = tokio::task::spawn_blocking(move || store.version())
            .await
            .map_err(ApiError::internal)??;
        let reads_violence = indicators.find(id).is_some_and(Indicator::reads_violence);
        let scope = access.for_answer(reads_violence).scope_key();
        let key = format!("{version}|{id}|{round}|{scope}|{protected}");
        let store = Arc::clone(&self.store);
        let (id, access, maxzoom) = (id.to_owned(), access.clone(), self.max_zoom);
        let fetch = async move {
            tokio::task::spawn_blocking(move || -> Result<Arc<CatalogLayer>, ApiError> {
                let indicator = indicators.find(&id).ok_or_else(|| {
                    ApiError::BadRequest(format!("indicator: no indicator '{id}'"))
                })?;
                let design = &indicators.design;
                // Only the fields the indicator reads (the same map).
                let records = Records::from_store_reading(
                    store.as_ref(),
                    &access,
                    &design.group_field,
                    &Indicator::fields_of(&[indicator]),
                )?;
                let communities = if store
                    .layer_kinds()?
                    .iter()
                    .any(|(name, _)| name == "communities")
                {
                    store.read_layer_fields("communities", &["code", "name"])?
                } else {
                    Layer::new("communities", LayerKind::Communities)
                };
                // Named LAYER, the tiles' layer name.
                let layer =
                    indicator_map(&records, &communities, indicator, design, round, protected)?;
                catalog_layer(&layer, version, maxzoom).map(Arc::new)
            })
            .await
            .map_err(ApiError::internal)?
        };
        self.layers
            .try_get_with(key, fetch)
            .await
            .map_err(|e: Arc<ApiError>| (*e).clone())
    }
}
