//! The HTTP API through `app(state)` with `oneshot`: catalog, TileJSON, tiles
//! (content type, empty tiles, ETag/304, gzip and brotli, versioned URLs, errors,
//! CORS), styles and the viewer, over the demo region in a memory store.
//! Tiles are decoded with the independent `mvt-reader` crate.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use http_body_util::BodyExt;
use serde_json::Value;
use std::io::Read;
use std::sync::Arc;
use tower::ServiceExt;

fn state() -> AppState {
    let store = MemoryStore::new();
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    for l in &region.layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    let config = ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        ..ServerConfig::default()
    };
    AppState::new(Arc::new(store), config).unwrap()
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap())
    }
}

async fn get(state: &AppState, uri: &str, headers: &[(header::HeaderName, &str)]) -> Reply {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    let res = app(state.clone())
        .oneshot(req.body(Body::empty()).unwrap())
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

/// A z12 tile with villages, facilities and paths of the demo region.
fn busy_tile(st: &AppState) -> (u8, u32, u32) {
    let cat = st.catalog();
    let b = cat.layers["communities"].info.bounds.unwrap();
    let (lon, lat) = (f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]));
    let n = 4096.0;
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let lr = lat.to_radians();
    let y =
        ((1.0 - (lr.tan() + 1.0 / lr.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (12, x, y)
}

#[tokio::test]
async fn catalog_lists_public_layers_only() {
    let st = state();
    let r = get(&st, "/catalog", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let j = r.json();
    let names: Vec<&str> = j["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "communities",
            "districts",
            "facilities",
            "paths",
            "rivers",
            "roads",
            "water_systems"
        ]
    );
    let c = &j["layers"][0];
    assert_eq!(c["feature_count"], 160);
    assert_eq!(c["geometry_type"], "POINT");
    assert_eq!(c["fields"]["population"], "int");
    assert!(c["bounds"].as_array().unwrap().len() == 4);
    assert!(j["version"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn households_are_never_served() {
    let st = state();
    for uri in [
        "/tiles/households.json",
        "/tiles/households/0/0/0",
        "/tiles/communities,households/12/1204/2196.mvt",
    ] {
        let r = get(&st, uri, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        let msg = r.json()["error"].as_str().unwrap().to_owned();
        assert!(msg.contains("'households'"), "{msg}");
    }
    // Not even through a style or the catalog.
    let s = String::from_utf8(get(&st, "/styles/default.json", &[]).await.body).unwrap();
    assert!(!s.contains("households"));
}

#[tokio::test]
async fn tilejson_3_with_fields_and_versioned_urls() {
    let st = state();
    let r = get(&st, "/tiles/communities,facilities.json", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header(header::CONTENT_TYPE)
            .starts_with("application/json")
    );
    let j = r.json();
    assert_eq!(j["tilejson"], "3.0.0");
    let v = st.catalog().tiles_version;
    assert_eq!(
        j["tiles"][0],
        format!("http://localhost/tiles/communities,facilities/{{z}}/{{x}}/{{y}}.mvt?v={v}")
    );
    assert_eq!(j["minzoom"], 0);
    assert_eq!(j["maxzoom"], 14);
    assert_eq!(j["vector_layers"][0]["id"], "communities");
    assert!(j["vector_layers"][0]["fields"]["population"].is_string());
    assert!(j["vector_layers"][1]["fields"]["category"].is_string());
    assert_eq!(j["bounds"].as_array().unwrap().len(), 4);
    assert_eq!(j["center"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn tiles_decode_with_an_independent_reader() {
    let st = state();
    let (z, x, y) = busy_tile(&st);
    for suffix in ["", ".mvt", ".pbf"] {
        let r = get(
            &st,
            &format!("/tiles/communities,facilities,paths/{z}/{x}/{y}{suffix}"),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{suffix}");
        assert_eq!(
            r.header(header::CONTENT_TYPE),
            "application/vnd.mapbox-vector-tile"
        );
        let reader = mvt_reader::Reader::new(r.body.clone()).unwrap();
        let names = reader.get_layer_names().unwrap();
        assert!(names.contains(&"communities".to_owned()), "{names:?}");
        let i = names.iter().position(|n| n == "communities").unwrap();
        let features = reader.get_features(i).unwrap();
        assert!(!features.is_empty());
    }
}

#[tokio::test]
async fn etag_304_and_cache_headers() {
    let st = state();
    let (z, x, y) = busy_tile(&st);
    let uri = format!("/tiles/communities/{z}/{x}/{y}.mvt");
    let r = get(&st, &uri, &[]).await;
    let etag = r.header(header::ETAG).to_owned();
    assert!(etag.starts_with('"') && etag.len() > 2);
    assert!(r.header(header::CACHE_CONTROL).contains("max-age"));
    assert!(
        r.headers
            .get_all(header::VARY)
            .iter()
            .any(|v| v.to_str().unwrap().contains("Accept-Encoding"))
    );
    let again = get(&st, &uri, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    // The versioned URL may be cached for long.
    let v = st.catalog().tiles_version;
    let r = get(&st, &format!("{uri}?v={v}"), &[]).await;
    assert!(
        r.header(header::CACHE_CONTROL).contains("max-age=86400"),
        "{}",
        r.header(header::CACHE_CONTROL)
    );
}

#[tokio::test]
async fn gzip_and_brotli_are_negotiated_and_decode_to_the_same_tile() {
    let st = state();
    let (z, x, y) = busy_tile(&st);
    let uri = format!("/tiles/communities,paths/{z}/{x}/{y}");
    let plain = get(&st, &uri, &[]).await;
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    let gz = get(&st, &uri, &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(gz.header(header::CONTENT_ENCODING), "gzip");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain.body);
    let br = get(&st, &uri, &[(header::ACCEPT_ENCODING, "gzip, deflate, br")]).await;
    assert_eq!(br.header(header::CONTENT_ENCODING), "br");
    let mut out = Vec::new();
    brotli::Decompressor::new(&br.body[..], 4096)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain.body);
    assert_ne!(
        gz.header(header::ETAG),
        br.header(header::ETAG),
        "one ETag per representation"
    );
}

#[tokio::test]
async fn empty_tiles_are_204_and_bad_requests_explain() {
    let st = state();
    let r = get(&st, "/tiles/communities/14/0/0", &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for (uri, status, needle) in [
        ("/tiles/communities/3/8/0", StatusCode::BAD_REQUEST, "x"),
        ("/tiles/communities/abc/0/0", StatusCode::BAD_REQUEST, "abc"),
        ("/tiles/communities/15/0/0", StatusCode::BAD_REQUEST, "zoom"),
        ("/tiles/nope/0/0/0", StatusCode::NOT_FOUND, "'nope'"),
        ("/tiles/nope.json", StatusCode::NOT_FOUND, "'nope'"),
        ("/styles/nope.json", StatusCode::NOT_FOUND, "nope"),
        ("/nowhere", StatusCode::NOT_FOUND, "/nowhere"),
    ] {
        let r = get(&st, uri, &[]).await;
        assert_eq!(r.status, status, "{uri}");
        let msg = r.json()["error"].as_str().unwrap().to_owned();
        assert!(msg.contains(needle), "{uri}: {msg}");
    }
}

#[tokio::test]
async fn cors_allows_any_origin() {
    let st = state();
    let r = get(
        &st,
        "/tiles/communities.json",
        &[(header::ORIGIN, "https://example.org")],
    )
    .await;
    assert_eq!(r.header(header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
}

#[tokio::test]
async fn style_urls_point_at_this_server_and_change_with_the_data() {
    let st = state();
    let host = [(header::HOST, "maps.example.org:8080")];
    let s = get(&st, "/styles/default.json", &host).await.json();
    assert_eq!(s["version"], 8);
    let url = s["sources"]["chaski"]["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("http://maps.example.org:8080/tiles/"),
        "{url}"
    );
    let layers: Vec<&str> = s["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["source-layer"].as_str())
        .collect();
    assert!(
        layers.contains(&"communities") && !layers.contains(&"boundaries"),
        "{layers:?}"
    );
    // After an import the data version, and so every tile URL, changes.
    let tj = get(&st, "/tiles/communities.json", &[]).await.json();
    let mut l = st.store.read_layer("facilities").unwrap();
    l.features.truncate(3);
    st.store.write_layer(&l, WriteMode::Replace).unwrap();
    assert!(st.refresh().unwrap());
    let tj2 = get(&st, "/tiles/communities.json", &[]).await.json();
    assert_ne!(tj["tiles"][0], tj2["tiles"][0]);
    assert_eq!(
        get(&st, "/catalog", &[]).await.json()["layers"][2]["feature_count"],
        3
    );
}

#[tokio::test]
async fn viewer_is_served_offline() {
    let st = state();
    let r = get(&st, "/", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = String::from_utf8(r.body).unwrap();
    assert!(html.contains("maplibre-gl.js"));
    assert!(
        !html.contains("https://"),
        "the viewer must not load anything from the internet"
    );
    let js = get(&st, "/viewer/maplibre-gl.js", &[]).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.header(header::CONTENT_TYPE).contains("javascript"));
    assert!(js.body.len() > 100_000);
}

/// With a DEM in the store, the walking travel-time bands and the facility
/// catchments are tile layers; a new facility shows in them after the refresh.
#[tokio::test]
async fn travel_time_and_catchments_are_tile_layers_that_follow_the_data() {
    let store = MemoryStore::new();
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    for l in &region.layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    store.write_raster("dem", &region.dem).unwrap();
    let st = AppState::new(Arc::new(store), ServerConfig::default()).unwrap();
    let cat = get(&st, "/catalog", &[]).await.json();
    let count = |cat: &Value, name: &str| {
        cat["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .map(|l| l["feature_count"].as_u64().unwrap())
    };
    let facilities = region.layer("facilities").unwrap();
    assert_eq!(count(&cat, "catchments"), Some(facilities.len() as u64));
    // Bands 0-30, 30-60, 60-120, 120-240 and beyond, as far as the valley needs them.
    let bands = count(&cat, "travel_time").unwrap();
    assert!((3..=5).contains(&bands), "{bands}");
    let tj = get(&st, "/tiles/travel_time,catchments.json", &[])
        .await
        .json();
    assert!(tj["vector_layers"][0]["fields"]["min_minutes"].is_string());
    // A what-if facility: one more catchment after the store changes.
    let mut more = facilities.clone();
    let mut extra = more.features[0].clone();
    extra.fid = 1000;
    if let geo::Geometry::Point(p) = &mut extra.geometry {
        *p = geo::Point::new(p.x() + 0.01, p.y() + 0.01);
    }
    extra.values[0] = chaski_core::value::Value::Text("WHAT-IF-1".into());
    more.features.push(extra);
    st.store.write_layer(&more, WriteMode::Replace).unwrap();
    let before = st.catalog();
    assert!(st.refresh().unwrap());
    let cat = get(&st, "/catalog", &[]).await.json();
    assert_eq!(count(&cat, "catchments"), Some(facilities.len() as u64 + 1));

    // Refreshes rebuild only what changed: the same tile source (pointer) for
    // layers whose data did not move, new ones for the facilities and the
    // travel-time layers computed from them.
    let same =
        |a: &chaski_server::catalog::Catalog, b: &chaski_server::catalog::Catalog, name: &str| {
            Arc::ptr_eq(&a.layers[name].source, &b.layers[name].source)
        };
    let after = st.catalog();
    assert!(same(&before, &after, "communities") && same(&before, &after, "districts"));
    assert!(!same(&before, &after, "facilities"));
    assert!(!same(&before, &after, "catchments") && !same(&before, &after, "travel_time"));
    // A household upload changes the store's version but nothing public.
    let households = region.layer("households").unwrap();
    st.store
        .write_layer(households, WriteMode::Replace)
        .unwrap();
    assert!(st.refresh().unwrap());
    let later = st.catalog();
    assert!(later.version > after.version);
    // Public tile URLs and cached tiles stay valid; a public change moves them.
    assert_eq!(later.tiles_version, after.tiles_version);
    assert!(after.tiles_version > before.tiles_version);
    for name in after.layers.keys() {
        assert!(same(&after, &later, name), "{name} was rebuilt");
    }
}

/// The `underserved` tile layer holds the villages beyond 120 minutes on foot
/// of birth care, the same ones `/api/villages/underserved` lists for that
/// threshold and filter, with their minutes.
#[tokio::test]
async fn underserved_villages_are_a_tile_layer() {
    let st = AppState::new(
        Arc::new(crate::support::demo_region_store()),
        ServerConfig::default(),
    )
    .unwrap();
    let api = get(
        &st,
        "/api/villages/underserved?minutes=120&birth_care=basic&limit=10000",
        &[],
    )
    .await
    .json();
    let expected = crate::support::number_by_code(&api, "minutes");
    assert!(expected.len() >= 5, "{}", expected.len());
    let cat = get(&st, "/catalog", &[]).await.json();
    let entry = cat["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "underserved")
        .expect("an underserved layer");
    assert_eq!(entry["feature_count"], expected.len());

    // One z6 tile holds the demo valley: its features are those villages.
    let tiles: std::collections::BTreeSet<(u32, u32)> = api["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            crate::support::tile_xy(c[0].as_f64().unwrap(), c[1].as_f64().unwrap(), 6)
        })
        .collect();
    assert_eq!(tiles.len(), 1, "{tiles:?}");
    let (x, y) = *tiles.first().unwrap();
    let r = get(&st, &format!("/tiles/underserved/6/{x}/{y}.mvt"), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let reader = mvt_reader::Reader::new(r.body.clone()).unwrap();
    assert_eq!(reader.get_layer_names().unwrap(), ["underserved"]);
    let mut seen = std::collections::BTreeMap::new();
    for f in reader.get_features(0).unwrap() {
        let props = f.properties.unwrap();
        let code = match &props["code"] {
            mvt_reader::feature::Value::String(s) => s.clone(),
            other => panic!("code {other:?}"),
        };
        let minutes = match props.get("minutes") {
            Some(mvt_reader::feature::Value::Double(m)) => Some(*m),
            Some(mvt_reader::feature::Value::Float(m)) => Some(f64::from(*m)),
            _ => None,
        };
        seen.insert(code, minutes);
    }
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (code, m) in &seen {
        match (m, expected[code]) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= 0.05 + 1e-9, "{code}: {a} vs {b}"),
            (None, None) => {}
            other => panic!("{code}: {other:?}"),
        }
        if let Some(a) = m {
            assert!(*a > 120.0, "{code}: {a}");
        }
    }
}
