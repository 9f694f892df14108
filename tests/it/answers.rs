//! Big answers are bounded and cheap: filters (`bbox`, `district`), pages
//! (`limit`, `offset`, `next`) and `outside=list` on
//! `/api/villages/underserved` and the what-if village lists, and gzip or
//! brotli on every JSON answer (tiles keep their own encoding and ETags).
//! Through `app(state)` with `oneshot`, over the demo region in a memory store;
//! every page and filter is checked against the pipeline run directly.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_analysis::travel::cost::Direction;
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::village_access::AccessStatus;
use chaski_analysis::travel::{TravelInputs, TravelOptions, TravelResult, district_polygons};
use chaski_core::layer::Layer;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use geo::{Contains, Intersects, Point};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Read as _;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

fn region() -> &'static chaski_demo::DemoRegion {
    static REGION: OnceLock<chaski_demo::DemoRegion> = OnceLock::new();
    REGION.get_or_init(|| chaski_demo::generate(&chaski_demo::DemoOptions::default()))
}

/// Villages added off the DEM (a degree east of the first ones).
const OFF_DEM: usize = 5;

/// The demo region, with [`OFF_DEM`] villages off the DEM; `districts`
/// written under each of the names given.
fn store_with(district_layers: &[&str]) -> Arc<MemoryStore> {
    let store = MemoryStore::new();
    for l in &region().layers {
        if l.name == "communities" {
            let mut copy = l.clone();
            let code = copy.field_index("code").unwrap();
            let last = copy.features.iter().map(|f| f.fid).max().unwrap();
            for (k, f) in l.features.iter().take(OFF_DEM).enumerate() {
                let mut f = f.clone();
                f.fid = last + 1 + k as i64;
                let geo::Geometry::Point(p) = f.geometry else {
                    panic!("not a point")
                };
                f.geometry = geo::Geometry::Point(Point::new(p.x() + 1.0, p.y()));
                f.values[code] = format!("OFF-{k}").into();
                copy.features.push(f);
            }
            store.write_layer(&copy, WriteMode::Replace).unwrap();
        } else if l.name == "districts" {
            for name in district_layers {
                let mut copy = l.clone();
                (*name).clone_into(&mut copy.name);
                store.write_layer(&copy, WriteMode::Replace).unwrap();
            }
        } else {
            store.write_layer(l, WriteMode::Replace).unwrap();
        }
    }
    store.write_raster("dem", &region().dem).unwrap();
    Arc::new(store)
}

fn state(store: Arc<MemoryStore>) -> AppState {
    let config = ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        ..ServerConfig::default()
    };
    AppState::new(store, config).unwrap()
}

fn reference(store: &MemoryStore) -> TravelResult {
    let opts = TravelOptions {
        all_villages: true,
        ..TravelOptions::default()
    };
    TravelInputs::from_store(store, &opts, &chaski_io::crs::ProjProjections)
        .unwrap()
        .run(&Scenario::walking(), Direction::ToSource, None)
        .unwrap()
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

async fn send(st: &AppState, req: Request<Body>) -> Reply {
    let res = app(st.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(body)))
}

async fn get(st: &AppState, uri: &str) -> (StatusCode, Value) {
    let r = send(st, Request::get(uri).body(Body::empty()).unwrap()).await;
    (r.status, json(&r.body))
}

async fn get_encoded(st: &AppState, uri: &str, accept: &str) -> Reply {
    let req = Request::get(uri)
        .header(header::ACCEPT_ENCODING, accept)
        .body(Body::empty())
        .unwrap();
    send(st, req).await
}

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(b)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn codes(features: &Value) -> Vec<String> {
    features
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["code"].as_str().unwrap().to_owned())
        .collect()
}

/// The path and query of an absolute `next` URL.
fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").unwrap().1;
    &rest[rest.find('/').unwrap()..]
}

/// Codes of the villages the reference puts beyond `minutes` (or not
/// reached), in village order, among those `keep` selects.
fn beyond(r: &TravelResult, minutes: f64, keep: &dyn Fn((f64, f64)) -> bool) -> Vec<String> {
    r.places
        .iter()
        .zip(&r.access)
        .filter(|(p, a)| {
            keep(p.lonlat)
                && match a.status {
                    AccessStatus::Reached => a.minutes.is_some_and(|m| m > minutes),
                    AccessStatus::NotReached => true,
                    _ => false,
                }
        })
        .map(|(p, _)| p.village.code.clone())
        .collect()
}

#[tokio::test]
async fn underserved_pages_through_the_whole_list() {
    let store = store_with(&["districts"]);
    let st = state(Arc::clone(&store));
    let r = reference(&store);
    let all = beyond(&r, 30.0, &|_| true);
    assert!(all.len() > 40, "{}", all.len());

    let (status, first) = get(&st, "/api/villages/underserved?minutes=30&limit=15").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(
        first["page"],
        json!({"offset": 0, "limit": 15, "returned": 15, "total": all.len()})
    );
    assert_eq!(first["counts"]["underserved"], all.len());
    // Villages off the surface are counted, not listed, by default.
    assert_eq!(first["outside"], "count");
    assert!(first["counts"]["outside_surface"].as_u64().unwrap() >= OFF_DEM as u64);
    assert!(first.get("outside_surface").is_none());

    // Following `next` gives every underserved village once, in order, and
    // the totals stay those of the whole list on every page.
    let mut listed = codes(&first["features"]);
    let mut next = first["next"].as_str().map(str::to_owned);
    let mut pages = 1;
    while let Some(url) = next {
        assert!(
            url.starts_with("http://localhost/api/villages/underserved?"),
            "{url}"
        );
        assert!(
            url.contains("minutes=30") && url.contains("limit=15"),
            "{url}"
        );
        let (status, page) = get(&st, path_of(&url)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["counts"], first["counts"]);
        assert!(page["page"]["returned"].as_u64().unwrap() <= 15);
        listed.extend(codes(&page["features"]));
        next = page["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(listed, all);
    assert_eq!(pages, all.len().div_ceil(15));

    // The default page is 1,000; limit=0 gives the counts alone.
    let (_, whole) = get(&st, "/api/villages/underserved?minutes=30").await;
    assert_eq!(whole["page"]["limit"], 1000);
    assert_eq!(codes(&whole["features"]), all);
    assert!(whole["next"].is_null());
    let (_, none) = get(&st, "/api/villages/underserved?minutes=30&limit=0").await;
    assert_eq!(none["features"], json!([]));
    assert_eq!(none["counts"], whole["counts"]);
    assert!(none["next"].is_null());
    // An offset past the end is an empty page.
    let (_, past) = get(&st, "/api/villages/underserved?minutes=30&offset=100000").await;
    assert_eq!(past["features"], json!([]));

    // outside=list: the outside villages follow the underserved ones in the
    // same pages, as their own FeatureCollection.
    let outside: Vec<String> = r
        .places
        .iter()
        .zip(&r.access)
        .filter(|(_, a)| {
            matches!(
                a.status,
                AccessStatus::OutsideSurface | AccessStatus::Impassable
            )
        })
        .map(|(p, _)| p.village.code.clone())
        .collect();
    let limit = all.len() + 2;
    let (_, j) = get(
        &st,
        &format!("/api/villages/underserved?minutes=30&outside=list&limit={limit}"),
    )
    .await;
    assert_eq!(j["outside"], "list");
    assert_eq!(j["page"]["total"], all.len() + outside.len());
    assert_eq!(codes(&j["features"]), all);
    assert_eq!(codes(&j["outside_surface"]["features"]), outside[..2]);
    let (_, j2) = get(&st, path_of(j["next"].as_str().unwrap())).await;
    assert_eq!(j2["features"], json!([]));
    assert_eq!(codes(&j2["outside_surface"]["features"]), outside[2..]);
    for f in j2["outside_surface"]["features"].as_array().unwrap() {
        assert!(f["properties"]["minutes"].is_null());
    }
}

#[tokio::test]
async fn underserved_by_bbox_and_district() {
    let store = store_with(&["districts"]);
    let st = state(Arc::clone(&store));
    let r = reference(&store);
    let minutes = 20.0;

    // A box over the western half of the villages.
    let on_dem: Vec<(f64, f64)> = r
        .places
        .iter()
        .filter(|p| !p.village.code.starts_with("OFF-"))
        .map(|p| p.lonlat)
        .collect();
    let lons: Vec<f64> = on_dem.iter().map(|p| p.0).collect();
    let lats: Vec<f64> = on_dem.iter().map(|p| p.1).collect();
    let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mid = f64::midpoint(min(&lons), max(&lons));
    let bbox = [min(&lons) - 0.01, min(&lats) - 0.01, mid, max(&lats) + 0.01];
    let in_box = |(x, y): (f64, f64)| x >= bbox[0] && x <= bbox[2] && y >= bbox[1] && y <= bbox[3];
    let want = beyond(&r, minutes, &in_box);
    let everywhere = beyond(&r, minutes, &|_| true);
    assert!(!want.is_empty() && want.len() < everywhere.len());
    let q = format!(
        "/api/villages/underserved?minutes={minutes}&bbox={},{},{},{}",
        bbox[0], bbox[1], bbox[2], bbox[3]
    );
    let (status, j) = get(&st, &q).await;
    assert_eq!(status, StatusCode::OK, "{j}");
    assert_eq!(codes(&j["features"]), want);
    assert_eq!(j["filter"]["bbox"], json!(bbox));
    let villages_in_box = r.places.iter().filter(|p| in_box(p.lonlat)).count();
    assert_eq!(j["counts"]["villages"], villages_in_box);
    let pop: u64 = r
        .places
        .iter()
        .filter(|p| in_box(p.lonlat))
        .map(|p| p.village.population.unwrap_or(0))
        .sum();
    assert_eq!(j["counts"]["population"], pop);

    // Each district (by code, and by name in other case): only its villages,
    // and the four districts together hold every village exactly once (but
    // those added off the DEM, outside them all).
    let districts = district_polygons(region().layer("districts").unwrap());
    assert_eq!(districts.len(), 4);
    let (mut sum_villages, mut sum_underserved, mut seen) = (0, 0, BTreeSet::new());
    for (i, d) in districts.iter().enumerate() {
        let (status, j) = get(
            &st,
            &format!(
                "/api/villages/underserved?minutes={minutes}&district={}",
                d.code
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{j}");
        assert_eq!(
            j["filter"]["district"],
            json!({"layer": "districts", "code": d.code, "name": d.name})
        );
        let inside = |(x, y): (f64, f64)| {
            let p = Point::new(x, y);
            d.polygons.contains(&p)
                || (d.polygons.intersects(&p)
                    && !districts[..i].iter().any(|e| e.polygons.intersects(&p)))
        };
        assert_eq!(codes(&j["features"]), beyond(&r, minutes, &inside));
        for f in j["features"].as_array().unwrap() {
            let c = &f["geometry"]["coordinates"];
            let p = Point::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            assert!(d.polygons.intersects(&p), "{f}");
            assert!(seen.insert(f["properties"]["code"].as_str().unwrap().to_owned()));
        }
        sum_villages += j["counts"]["villages"].as_u64().unwrap();
        sum_underserved += j["counts"]["underserved"].as_u64().unwrap();
        let by_name = format!(
            "/api/villages/underserved?minutes={minutes}&district={}&districts=districts",
            d.name.to_lowercase().replace(' ', "%20")
        );
        let (status, j2) = get(&st, &by_name).await;
        assert_eq!(status, StatusCode::OK, "{j2}");
        assert_eq!(j2["counts"], j["counts"]);
    }
    assert_eq!(sum_villages, (r.places.len() - OFF_DEM) as u64);
    assert_eq!(sum_underserved, everywhere.len() as u64);

    // bbox and district together: both hold.
    let d = &districts[0];
    let (_, j) = get(&st, &format!("{q}&district={}", d.code)).await;
    for f in j["features"].as_array().unwrap() {
        let c = &f["geometry"]["coordinates"];
        let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        assert!(in_box((x, y)) && d.polygons.intersects(&Point::new(x, y)));
    }
}

#[tokio::test]
async fn list_parameters_are_checked() {
    let st = state(store_with(&["districts"]));
    let u = "/api/villages/underserved?minutes=60";
    for (q, expected) in [
        ("&limit=10001", "'limit'"),
        ("&limit=-1", "'limit'"),
        ("&offset=x", "'offset'"),
        ("&bbox=1,2,3", "'bbox'"),
        ("&bbox=-74,-12,-75,-13", "minimum above its maximum"),
        ("&bbox=-200,-12,-75,-13", "'bbox'"),
        ("&outside=all", "'outside'"),
        ("&districts=districts", "give district"),
        (
            "&district=nowhere",
            "no district with code or name 'nowhere'",
        ),
        ("&district=x&districts=nope", "no layer 'nope'"),
        (
            "&district=x&districts=communities",
            "not a layer of polygons",
        ),
    ] {
        let (status, j) = get(&st, &format!("{u}{q}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {j}");
        assert!(j["error"].as_str().unwrap().contains(expected), "{q}: {j}");
    }

    // Two boundaries layers and neither named for districts: the error lists them.
    let st = state(store_with(&["zones_a", "zones_b"]));
    let code = &district_polygons(region().layer("districts").unwrap())[0].code;
    let (status, j) = get(&st, &format!("{u}&district={code}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{j}");
    let e = j["error"].as_str().unwrap();
    assert!(
        e.contains("zones_a, zones_b") && e.contains("districts=LAYER"),
        "{e}"
    );
    let (status, j) = get(&st, &format!("{u}&district={code}&districts=zones_b")).await;
    assert_eq!(status, StatusCode::OK, "{j}");
    assert_eq!(j["filter"]["district"]["layer"], "zones_b");
    // One boundaries layer, whatever its name, is the districts.
    let st = state(store_with(&["zones"]));
    let (status, j) = get(&st, &format!("{u}&district={code}")).await;
    assert_eq!(status, StatusCode::OK, "{j}");
    // Two districts with one name: give the code.
    let store = store_with(&["districts"]);
    let mut layer: Layer = store.read_layer("districts").unwrap();
    let name = layer.field_index("name").unwrap();
    let shared = layer.features[0].values[name].clone();
    layer.features[1].values[name] = shared.clone();
    store.write_layer(&layer, WriteMode::Replace).unwrap();
    let st = state(store);
    let shared = shared.to_string().replace(' ', "%20");
    let (status, j) = get(&st, &format!("{u}&district={shared}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{j}");
    assert!(
        j["error"].as_str().unwrap().contains("give the code"),
        "{j}"
    );
}

#[tokio::test]
async fn what_if_villages_are_paged_and_filtered() {
    let store = store_with(&["districts"]);
    let st = state(Arc::clone(&store));
    let r = reference(&store);
    // Closing the facility most villages reach changes many of them.
    let mut served: Vec<(usize, String)> = Vec::new();
    for a in &r.access {
        if let Some(code) = &a.facility {
            match served.iter_mut().find(|(_, c)| c == code) {
                Some((n, _)) => *n += 1,
                None => served.push((1, code.clone())),
            }
        }
    }
    served.sort();
    let (_, closed) = served.last().unwrap();
    let body = json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": {"edit": "remove_facility", "code": closed},
        "geometry": null,
    }]})
    .to_string();
    let post = |uri: &'static str| {
        let body = body.clone();
        let st = st.clone();
        async move {
            let req = Request::post(uri)
                .header("content-type", "application/geo+json")
                .body(Body::from(body))
                .unwrap();
            let r = send(&st, req).await;
            (r.status, json(&r.body))
        }
    };
    let (status, all) = post("/api/whatif?limit=10000").await;
    assert_eq!(status, StatusCode::CREATED, "{all}");
    let changed: Vec<Value> = all["villages_changed"].as_array().unwrap().clone();
    let n = changed.len();
    assert!(n > 5, "{n}");
    assert_eq!(all["villages_changed_count"], n);
    assert!(all["next"].is_null());

    let (status, first) = post("/api/whatif?limit=2").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["villages_changed"].as_array().unwrap().len(), 2);
    assert_eq!(first["villages_changed_count"], n);
    assert_eq!(first["population_within"], all["population_within"]);
    let id = first["id"].as_str().unwrap();
    let next = first["next"].as_str().unwrap();
    assert!(
        next.contains(&format!("/api/whatif/{id}?limit=2&offset=2")),
        "{next}"
    );
    let mut listed = first["villages_changed"].as_array().unwrap().clone();
    let mut next = Some(next.to_owned());
    while let Some(url) = next {
        let (status, page) = get(&st, path_of(&url)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["villages_changed_count"], n);
        listed.extend(page["villages_changed"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(listed, changed);

    // By district: the changed villages in it, in the same order.
    let v0 = &changed[0];
    let d = &district_polygons(region().layer("districts").unwrap())
        .into_iter()
        .find(|d| {
            d.polygons.contains(&Point::new(
                v0["lon"].as_f64().unwrap(),
                v0["lat"].as_f64().unwrap(),
            ))
        })
        .unwrap();
    let (status, j) = get(&st, &format!("/api/whatif/{id}?district={}", d.code)).await;
    assert_eq!(status, StatusCode::OK, "{j}");
    let want: Vec<&Value> = changed
        .iter()
        .filter(|v| {
            d.polygons.intersects(&Point::new(
                v["lon"].as_f64().unwrap(),
                v["lat"].as_f64().unwrap(),
            ))
        })
        .collect();
    let got: Vec<&Value> = j["villages_changed"].as_array().unwrap().iter().collect();
    assert!(!got.is_empty());
    assert_eq!(got, want);
    assert_eq!(j["villages_changed_count"], want.len());
    let (status, _) = get(&st, &format!("/api/whatif/{id}?limit=x")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn json_answers_are_compressed_and_tiles_are_not_twice() {
    let st = state(store_with(&["districts"]));
    let village = region().layer("communities").unwrap().features[0]
        .geometry
        .clone();
    let geo::Geometry::Point(p) = village else {
        panic!("not a point")
    };
    for uri in [
        "/catalog".to_owned(),
        "/api/villages/underserved?minutes=30".to_owned(),
        "/api/villages/underserved?minutes=30&outside=list&limit=10000".to_owned(),
        format!("/api/accessibility?lon={}&lat={}", p.x(), p.y()),
    ] {
        let plain = get_encoded(&st, &uri, "identity").await;
        assert_eq!(plain.status, StatusCode::OK);
        assert!(
            plain.headers.get(header::CONTENT_ENCODING).is_none(),
            "{uri}"
        );
        let gz = get_encoded(&st, &uri, "gzip").await;
        assert_eq!(gz.status, StatusCode::OK, "{uri}");
        assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip", "{uri}");
        let vary: Vec<String> = gz
            .headers
            .get_all(header::VARY)
            .iter()
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect();
        assert!(
            vary.iter().any(|v| v.contains("accept-encoding")),
            "{uri}: {vary:?}"
        );
        assert!(gz.headers.get(header::ETAG).is_none(), "{uri}");
        assert_eq!(json(&gunzip(&gz.body)), json(&plain.body), "{uri}");
        if plain.body.len() > 2000 {
            assert!(gz.body.len() * 3 < plain.body.len(), "{uri}");
        }
        let br = get_encoded(&st, &uri, "br").await;
        assert_eq!(br.headers[header::CONTENT_ENCODING], "br", "{uri}");
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br.body[..], &mut back).unwrap();
        assert_eq!(json(&back), json(&plain.body), "{uri}");
    }

    // A tile: gzip once (by the tile cache, under its own ETag), not again.
    let (x, y) = crate::support::tile_xy(p.x(), p.y(), 12);
    let uri = format!("/tiles/communities/12/{x}/{y}.mvt");
    let plain = get_encoded(&st, &uri, "identity").await;
    let gz = get_encoded(&st, &uri, "gzip").await;
    assert_eq!(gz.status, StatusCode::OK);
    assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gunzip(&gz.body), plain.body);
    let etag = gz.headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.ends_with("-gz\""), "{etag}");
    assert_ne!(
        Some(&gz.headers[header::ETAG]),
        plain.headers.get(header::ETAG)
    );
    let req = Request::get(&uri)
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&st, req).await.status, StatusCode::NOT_MODIFIED);
}
