//! What the printed risk maps of `GET /maps/risk.pdf` and `GET /maps/risk.png`
//! share between requests (see `routes::maps` for the endpoints): the store's
//! layers a map is drawn from ([`MapSource`]), read once per data version, and
//! the bounds that keep a request from exhausting memory: at most
//! [`MAX_RENDERING`] maps laid out and rendered at once, PNG pages at most
//! [`MAX_HTTP_DPI`] (an A3 page at 300 dpi is 4961 x 3508 pixels, 70 MB of
//! pixels while it is drawn), paper A4 or A3 only.

use crate::error::ApiError;
use chaski_analysis::risk_map::{MapSource, RiskMapError};
use chaski_core::store::{Store, StoreError};
use chaski_print::PrintError;
use std::sync::Arc;

/// Most dots per inch of a PNG page served (`chaski print` goes to 1200).
pub const MAX_HTTP_DPI: f32 = 300.0;

/// Most maps laid out and rendered at once (the rest wait their turn).
pub const MAX_RENDERING: usize = 2;

/// Shared state of the printed maps.
pub struct MapCache {
    store: Arc<dyn Store>,
    /// The layers of a map by (data version, household layer).
    sources: moka::future::Cache<(u64, String), Arc<MapSource>>,
    /// Renders running (a render keeps its permit until it ends, even when
    /// its request has gone).
    pub(crate) rendering: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for MapCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapCache")
            .field("sources", &self.sources.entry_count())
            .finish_non_exhaustive()
    }
}

impl MapCache {
    /// An empty cache over `store` (the sources of two data versions).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            sources: moka::future::Cache::builder().max_capacity(2).build(),
            rendering: Arc::new(tokio::sync::Semaphore::new(MAX_RENDERING)),
        }
    }

    /// The layers of a map with household layer `households`, as the store
    /// holds them now (read off the runtime, cached per data version).
    pub(crate) async fn source(&self, households: &str) -> Result<Arc<MapSource>, ApiError> {
        let store = Arc::clone(&self.store);
        let version = tokio::task::spawn_blocking(move || store.version())
            .await
            .map_err(ApiError::internal)??;
        let store = Arc::clone(&self.store);
        let name = households.to_owned();
        let read = async move {
            tokio::task::spawn_blocking(move || {
                MapSource::read(store.as_ref(), &name)
                    .map(Arc::new)
                    .map_err(map_error)
            })
            .await
            .map_err(ApiError::internal)?
        };
        self.sources
            .try_get_with((version, households.to_owned()), read)
            .await
            .map_err(|e: Arc<ApiError>| (*e).clone())
    }
}

/// A map that cannot be gathered, answered: 404 for what the store lacks or
/// an unknown area, 400 for a bad word, 500 (hidden) for a store failure.
pub(crate) fn map_error(e: RiskMapError) -> ApiError {
    match e {
        RiskMapError::UnknownArea { .. }
        | RiskMapError::UnknownDistrict { .. }
        | RiskMapError::MissingLayer { .. }
        | RiskMapError::NoDistricts(_)
        | RiskMapError::Store {
            source: StoreError::NotFound(_),
            ..
        } => ApiError::NotFound(e.to_string()),
        RiskMapError::Vocabulary { .. } => ApiError::BadRequest(e.to_string()),
        other => ApiError::internal(other),
    }
}

/// A map that cannot be laid out or rendered, answered: 400 for a bad
/// option, 422 for an area with nothing located to show, 500 otherwise.
pub(crate) fn print_error(e: PrintError) -> ApiError {
    match e {
        PrintError::Option { .. } => ApiError::BadRequest(format!("query parameter {e}")),
        PrintError::Empty { .. } => ApiError::Unprocessable(e.to_string()),
        other => ApiError::internal(other),
    }
}
