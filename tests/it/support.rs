//! What several integration tests share: the server config, requests through
//! `app(state)` with `oneshot`, the demo region in a memory store, a token
//! store whose access log cannot be written, and the real data of
//! ../shared/data/peru (or a failure, or a line saying what is skipped, when it
//! is absent: [`require_data`]).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_core::auth::{
    Access, AccessEntry, AccessRecord, AuthError, MemoryTokenStore, Token, TokenStore,
};
use chaski_core::household::places::Place;
use chaski_core::layer::Layer;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The default server config with the repository's styles.
pub fn config() -> ServerConfig {
    ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        ..ServerConfig::default()
    }
}

/// An answer: status, headers and body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `Authorization` header value of a token secret.
pub fn bearer(secret: &str) -> String {
    format!("Bearer {secret}")
}

/// One request; `auth` is the whole `Authorization` header value, `body` its
/// content type and text.
pub async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    auth: Option<&str>,
    body: Option<(&str, String)>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let body = match body {
        Some((ct, b)) => {
            req = req.header(header::CONTENT_TYPE, ct);
            Body::from(b)
        }
        None => Body::empty(),
    };
    let res = app(state.clone())
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// `GET uri` with an optional `Authorization` header value.
pub async fn get(state: &AppState, uri: &str, auth: Option<&str>) -> Reply {
    call(state, "GET", uri, auth, None).await
}

/// The demo region in a memory store, with its households and communities layers.
pub fn demo_store() -> (MemoryStore, Layer, Layer) {
    let store = MemoryStore::new();
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    for l in &region.layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    let households = region.layer("households").unwrap().clone();
    assert!(households.len() > 100);
    (
        store,
        households,
        region.layer("communities").unwrap().clone(),
    )
}

/// The whole demo region (every layer, households too, and its DEM as
/// `dem`) in a memory store.
pub fn demo_region_store() -> MemoryStore {
    let store = MemoryStore::new();
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    for l in &region.layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    store.write_raster("dem", &region.dem).unwrap();
    store
}

/// A numeric property of every feature of a GeoJSON FeatureCollection, by
/// the feature's `code` (None where it is null).
pub fn number_by_code(fc: &Value, key: &str) -> std::collections::BTreeMap<String, Option<f64>> {
    fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (p["code"].as_str().unwrap().to_owned(), p[key].as_f64())
        })
        .collect()
}

/// Tokens as usual, but the access log cannot be written.
pub struct FailingLog(pub MemoryTokenStore);

impl TokenStore for FailingLog {
    fn create(&self, a: &Access, l: Option<&str>) -> Result<(Token, String), AuthError> {
        self.0.create(a, l)
    }
    fn verify(&self, s: &str) -> Result<Option<Token>, AuthError> {
        self.0.verify(s)
    }
    fn list(&self) -> Result<Vec<Token>, AuthError> {
        self.0.list()
    }
    fn revoke(&self, id: &str) -> Result<(), AuthError> {
        self.0.revoke(id)
    }
    fn log(&self, _: &AccessRecord<'_>) -> Result<(), AuthError> {
        Err(AuthError::Backend("disk full".into()))
    }
    fn access_log(&self) -> Result<Vec<AccessEntry>, AuthError> {
        self.0.access_log()
    }
    fn places(&self) -> Result<Vec<Place>, AuthError> {
        self.0.places()
    }
    fn add_places(&self, p: &[Place]) -> Result<usize, AuthError> {
        self.0.add_places(p)
    }
    fn remove_places(&self, p: &[Place]) -> Result<usize, AuthError> {
        self.0.remove_places(p)
    }
}

/// The z/x/y tile (Web Mercator) holding a point.
pub fn tile_xy(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = 2_f64.powi(i32::from(z));
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor()
        as u32;
    (x, y)
}

pub use chaski_testing::{peru, require_tool};
