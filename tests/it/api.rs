//! The travel-time API (`/api/accessibility`, `/api/villages/underserved`,
//! `POST /api/catchments`) through `app(state)` with `oneshot`, over the demo
//! region (DEM and layers) in a memory store. Answers are checked against the
//! shared pipeline run directly (`chaski_analysis::travel`), against a physical
//! lower bound (nobody walks faster than Tobler's 6 km/h) and against geometry
//! (routes start at the point and end at the facility; an isochrone contains
//! its source).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chaski_analysis::travel::cost::{Direction, Neighbourhood};
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::village_access::AccessStatus;
use chaski_analysis::travel::{RunSettings, TravelInputs, TravelOptions, TravelResult};
use chaski_core::crs::Projection;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_io::crs::ProjProjection;
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use geo::{Contains, LineString, MultiPolygon, Point, Polygon};
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

fn region() -> &'static chaski_demo::DemoRegion {
    static REGION: OnceLock<chaski_demo::DemoRegion> = OnceLock::new();
    REGION.get_or_init(|| chaski_demo::generate(&chaski_demo::DemoOptions::default()))
}

fn store() -> Arc<MemoryStore> {
    let store = MemoryStore::new();
    let region = region();
    for l in &region.layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    store.write_raster("dem", &region.dem).unwrap();
    Arc::new(store)
}

fn state_with(store: Arc<MemoryStore>, max_grid_cells: usize) -> AppState {
    let config = ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        max_grid_cells,
        ..ServerConfig::default()
    };
    AppState::new(store, config).unwrap()
}

fn state() -> AppState {
    state_with(store(), ServerConfig::default().max_grid_cells)
}

/// The pipeline run directly on the same store, as the API should (walking, to the facility).
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

async fn call(state: &AppState, req: Request<Body>) -> (StatusCode, Value) {
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&body)));
    (status, json)
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    call(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(state: &AppState, uri: &str, body: &str) -> (StatusCode, Value) {
    let req = Request::post(uri)
        .header("content-type", "application/geo+json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    call(state, req).await
}

fn lonlat(v: &Value) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

fn points(layer: &str) -> Vec<(String, (f64, f64))> {
    let l = region().layer(layer).unwrap();
    l.features
        .iter()
        .map(|f| {
            let geo::Geometry::Point(p) = &f.geometry else {
                panic!("not a point")
            };
            (l.value(f, "code").to_string(), (p.x(), p.y()))
        })
        .collect()
}

fn multipolygon(v: &Value) -> MultiPolygon<f64> {
    assert_eq!(v["type"], "MultiPolygon");
    let ring = |r: &Value| -> LineString<f64> {
        r.as_array()
            .unwrap()
            .iter()
            .map(lonlat)
            .collect::<Vec<_>>()
            .into()
    };
    MultiPolygon::new(
        v["coordinates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let rings = p.as_array().unwrap();
                Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
            })
            .collect(),
    )
}

fn uri(path: &str, (lon, lat): (f64, f64)) -> String {
    format!("{path}?lon={lon}&lat={lat}")
}

#[tokio::test]
async fn a_facility_is_zero_minutes_from_itself() {
    let st = state();
    let facilities = points("facilities");
    let utm = ProjProjection::new(32718).unwrap();
    let xy: Vec<(f64, f64)> = facilities
        .iter()
        .map(|(_, (lon, lat))| utm.forward_one(*lon, *lat).unwrap())
        .collect();
    let mut checked = 0;
    for (i, (code, ll)) in facilities.iter().enumerate() {
        let (status, j) = get(&st, &uri("/api/accessibility", *ll)).await;
        assert_eq!(status, StatusCode::OK, "{j}");
        assert_eq!(j["minutes"].as_f64(), Some(0.0), "{code}: {j}");
        assert_eq!(j["status"], "reached");
        assert_eq!(j["scenario"], "walking");
        // Two facilities within a cell (60 m) of each other share a source cell.
        let alone = xy
            .iter()
            .enumerate()
            .all(|(k, p)| k == i || (p.0 - xy[i].0).hypot(p.1 - xy[i].1) > 90.0);
        if alone {
            assert_eq!(j["facility"]["code"], code.as_str(), "{j}");
            checked += 1;
        }
        // The route of a source cell: the point, then the facility itself.
        let route = j["route"]["coordinates"].as_array().unwrap();
        assert_eq!(lonlat(&route[0]), *ll);
    }
    assert!(checked >= facilities.len() - 2, "{checked}");
}

#[tokio::test]
async fn village_minutes_and_routes_match_the_pipeline() {
    let store = store();
    let st = state_with(Arc::clone(&store), 25_000_000);
    let reference = reference(&store);
    let facilities = points("facilities");
    let utm = ProjProjection::new(32718).unwrap();
    let fac_xy: Vec<(f64, f64)> = facilities
        .iter()
        .map(|(_, (lon, lat))| utm.forward_one(*lon, *lat).unwrap())
        .collect();
    let (mut reached, mut outside) = (0, 0);
    for (place, a) in reference.places.iter().zip(&reference.access) {
        let (status, j) = get(&st, &uri("/api/accessibility", place.lonlat)).await;
        match a.status {
            AccessStatus::Reached => {
                assert_eq!(status, StatusCode::OK, "{j}");
                let m = j["minutes"].as_f64().unwrap();
                // The same number, not rounded (serde_json's default parser
                // may read the last bit differently).
                let expected = a.minutes.unwrap();
                assert!(
                    (m - expected).abs() <= 1e-12 * expected.max(1.0),
                    "{}: {m} {expected}",
                    place.village.code
                );
                assert_eq!(j["facility"]["code"].as_str(), a.facility.as_deref());
                // No faster than 6 km/h (100 m/min) in a straight line, less
                // the two half-cell diagonals between points and cell centres.
                let (x, y) = utm.forward_one(place.lonlat.0, place.lonlat.1).unwrap();
                let nearest = fac_xy
                    .iter()
                    .map(|f| (f.0 - x).hypot(f.1 - y))
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    m >= (nearest - 2.0 * 42.5) / 100.0,
                    "{}: {m} min for {nearest} m",
                    place.village.code
                );
                // The route: from the village to its facility, in steps of at
                // most a knight's move (sqrt(5) cells of 60 m; coordinates to 1 cm).
                let route: Vec<(f64, f64)> = j["route"]["coordinates"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(lonlat)
                    .collect();
                assert_eq!(route[0], place.lonlat);
                let code = j["facility"]["code"].as_str().unwrap();
                let fac = facilities.iter().find(|(c, _)| c == code).unwrap().1;
                assert_eq!(*route.last().unwrap(), fac);
                let steps: Vec<(f64, f64)> = route
                    .iter()
                    .map(|(lon, lat)| utm.forward_one(*lon, *lat).unwrap())
                    .collect();
                for w in steps[1..steps.len() - 1].windows(2) {
                    let d = (w[0].0 - w[1].0).hypot(w[0].1 - w[1].1);
                    assert!(d < 5f64.sqrt() * 60.0 + 0.05, "step of {d} m");
                }
                reached += 1;
            }
            AccessStatus::OutsideSurface => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
                assert!(
                    j["error"]
                        .as_str()
                        .unwrap()
                        .contains("outside the travel-time surface")
                );
                outside += 1;
            }
            AccessStatus::Impassable | AccessStatus::NotReached => {
                assert_eq!(status, StatusCode::OK, "{j}");
                assert!(j["minutes"].is_null());
                assert_eq!(j["status"], a.status.reason());
            }
        }
    }
    assert!(reached > 100, "{reached} reached, {outside} outside");
    // One search, cached.
    assert_eq!(st.access.cached_results().await, 1);
}

#[tokio::test]
async fn filters_and_presets_change_the_answer() {
    let st = state();
    let village = points("communities")[40].1;
    let base = get(&st, &uri("/api/accessibility", village)).await.1;
    let m = base["minutes"].as_f64().unwrap();
    // A pregnant woman walks at 0.7 of the speed everywhere: 1/0.7 longer, same facility.
    let slow = get(
        &st,
        &format!("{}&preset=pregnant", uri("/api/accessibility", village)),
    )
    .await
    .1;
    assert_eq!(slow["scenario"], "pregnant_woman");
    assert_eq!(slow["facility"], base["facility"]);
    let s = slow["minutes"].as_f64().unwrap();
    assert!((s - m / 0.7).abs() <= 1e-4 * s.max(1.0), "{m} {s}");
    // Only >= I-3: never faster, and to such a facility.
    let (status, high) = get(
        &st,
        &format!("{}&category=%3E%3DI-3", uri("/api/accessibility", village)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{high}");
    assert!(high["minutes"].as_f64().unwrap() >= m - 1e-9);
    let cat = high["facility"]["category"].as_str().unwrap();
    assert!(
        cat.parse::<chaski_core::domain::Category>().unwrap() >= chaski_core::domain::Category::I3,
        "{cat}"
    );
    assert_eq!(st.access.cached_results().await, 3);
}

/// `moves=8|16|24` (the `--moves` of `chaski catchments`) changes the search:
/// each answer matches the pipeline run with those moves, and a bad value is
/// a 400 naming the parameter.
#[tokio::test]
async fn moves_choose_the_neighbourhood() {
    let store = store();
    let st = state_with(store.clone(), ServerConfig::default().max_grid_cells);
    let opts = TravelOptions {
        all_villages: true,
        ..TravelOptions::default()
    };
    let inputs =
        TravelInputs::from_store(store.as_ref(), &opts, &chaski_io::crs::ProjProjections).unwrap();
    let surface = inputs.surface(&Scenario::walking()).unwrap();
    let villages = points("communities");
    for (moves, n) in [
        (8, Neighbourhood::Queen8),
        (16, Neighbourhood::Knight16),
        (24, Neighbourhood::Extended24),
    ] {
        let reference = inputs
            .run_on(
                &surface,
                "walking",
                &inputs.facilities,
                "facilities",
                RunSettings {
                    neighbourhood: n,
                    ..RunSettings::default()
                },
            )
            .unwrap();
        for (i, (_, at)) in villages.iter().enumerate().step_by(37) {
            let (status, v) = get(
                &st,
                &format!("{}&moves={moves}", uri("/api/accessibility", *at)),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{v}");
            assert_eq!(v["moves"], moves);
            let want = reference.access[i].minutes;
            match (want, v["minutes"].as_f64()) {
                (Some(w), Some(got)) => assert!((w - got).abs() <= 1e-3, "{moves}: {w} {got}"),
                (w, got) => assert_eq!(w, got, "{moves}"),
            }
        }
    }
    // Fewer moves never find a faster route.
    let at = villages[40].1;
    let m = |v: &Value| v["minutes"].as_f64().unwrap();
    let m8 = m(
        &get(&st, &format!("{}&moves=8", uri("/api/accessibility", at)))
            .await
            .1,
    );
    let m16 = m(&get(&st, &uri("/api/accessibility", at)).await.1);
    assert!(m8 >= m16 - 1e-6, "{m8} {m16}");
    let (status, e) = get(&st, &format!("{}&moves=12", uri("/api/accessibility", at))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("'moves'"), "{e}");
}

/// Issue 11, first-day problem 1: a DEM stored under another name serves
/// `/api/accessibility`; without any raster the 404 lists what the store has.
#[tokio::test]
async fn a_dem_under_any_name_serves_accessibility() {
    let store = MemoryStore::new();
    for l in &region().layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    store.write_raster("elevation", &region().dem).unwrap();
    let st = state_with(Arc::new(store), ServerConfig::default().max_grid_cells);
    let village = points("communities")[40].1;
    let (status, v) = get(&st, &uri("/api/accessibility", village)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["minutes"].as_f64().unwrap() > 0.0);
    let empty = MemoryStore::new();
    for l in &region().layers {
        empty.write_layer(l, WriteMode::Replace).unwrap();
    }
    let st = state_with(Arc::new(empty), ServerConfig::default().max_grid_cells);
    let (status, v) = get(&st, &uri("/api/accessibility", village)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    let e = v["error"].as_str().unwrap();
    assert!(
        e.contains("no elevation raster (DEM)") && e.contains("'communities'"),
        "{e}"
    );
}

#[tokio::test]
async fn underserved_villages() {
    let store = store();
    let st = state_with(Arc::clone(&store), 25_000_000);
    let reference = reference(&store);
    let count = |f: &dyn Fn(&AccessStatus, Option<f64>) -> bool| {
        reference
            .access
            .iter()
            .filter(|a| f(&a.status, a.minutes))
            .count()
    };
    let not_reached = count(&|s, _| *s == AccessStatus::NotReached);
    let without_time =
        count(&|s, _| matches!(s, AccessStatus::OutsideSurface | AccessStatus::Impassable));
    let total_population: u64 = {
        let l = region().layer("communities").unwrap();
        l.features
            .iter()
            .map(|f| l.value(f, "population").as_i64().unwrap() as u64)
            .sum()
    };

    // Nobody is beyond a billion minutes (except villages no facility reaches);
    // villages off the surface are listed apart when asked (`outside=list`).
    let (status, j) = get(&st, "/api/villages/underserved?minutes=1e9&outside=list").await;
    assert_eq!(status, StatusCode::OK, "{j}");
    assert_eq!(j["type"], "FeatureCollection");
    assert_eq!(j["features"].as_array().unwrap().len(), not_reached);
    assert_eq!(not_reached, 0, "the demo region has no cut-off village");
    assert_eq!(
        j["outside_surface"]["features"].as_array().unwrap().len(),
        without_time
    );
    for f in j["outside_surface"]["features"].as_array().unwrap() {
        assert!(f["properties"]["minutes"].is_null());
    }
    assert_eq!(j["counts"]["villages"], reference.places.len());
    assert_eq!(j["counts"]["population"], total_population);

    // Beyond 0 minutes: every village reached, except those on a facility's cell.
    let (_, j) = get(&st, "/api/villages/underserved?minutes=0").await;
    let beyond_zero = count(&|s, m| *s == AccessStatus::Reached && m.is_some_and(|m| m > 0.0));
    let features = j["features"].as_array().unwrap();
    assert_eq!(features.len(), beyond_zero + not_reached);
    assert!(beyond_zero > 100);
    for f in features {
        assert!(f["properties"]["minutes"].as_f64().unwrap() > 0.0);
        assert!(f["properties"]["facility"].is_string());
    }

    // Beyond 2 hours: exactly those the pipeline times over 120 minutes.
    let (_, j) = get(&st, "/api/villages/underserved?minutes=120").await;
    let over = count(&|_, m| m.is_some_and(|m| m > 120.0));
    assert_eq!(j["counts"]["underserved"], over);
    let pop: u64 = reference
        .places
        .iter()
        .zip(&reference.access)
        .filter(|(_, a)| a.minutes.is_some_and(|m| m > 120.0))
        .map(|(p, _)| p.village.population.unwrap())
        .sum();
    assert_eq!(j["counts"]["underserved_population"], pop);
    let c = &j["counts"];
    assert_eq!(
        c["within"].as_u64().unwrap()
            + c["underserved"].as_u64().unwrap()
            + c["outside_surface"].as_u64().unwrap(),
        reference.places.len() as u64
    );
}

#[tokio::test]
async fn what_if_catchments_contain_their_source() {
    let store = store();
    let st = state_with(Arc::clone(&store), 25_000_000);
    let reference = reference(&store);
    // A village on the surface, far from every facility: the what-if site.
    let (place, _) = reference
        .places
        .iter()
        .zip(&reference.access)
        .filter(|(_, a)| a.status == AccessStatus::Reached)
        .max_by(|a, b| a.1.minutes.partial_cmp(&b.1.minutes).unwrap())
        .unwrap();
    let (lon, lat) = place.lonlat;
    let body = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"code":"NEW","name":"New post"}},"geometry":{{"type":"Point","coordinates":[{lon},{lat}]}}}}]}}"#
    );
    let (status, j) = post(&st, "/api/catchments?bands=30,60&preset=walking", &body).await;
    assert_eq!(status, StatusCode::OK, "{j}");
    let features = j["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    assert_eq!(features[0]["properties"]["minutes"], 30.0);
    let band30 = multipolygon(&features[0]["geometry"]);
    let band60 = multipolygon(&features[1]["geometry"]);
    assert!(band30.contains(&Point::new(lon, lat)));
    // 30 minutes at no more than 100 m/min: within 3 km (plus a cell) of the source.
    let utm = ProjProjection::new(32718).unwrap();
    let (x0, y0) = utm.forward_one(lon, lat).unwrap();
    for p in &band30.0 {
        for c in &p.exterior().0 {
            let (x, y) = utm.forward_one(c.x, c.y).unwrap();
            assert!((x - x0).hypot(y - y0) < 3000.0 + 2.0 * 85.0);
        }
    }
    let a30 = features[0]["properties"]["area_km2"].as_f64().unwrap();
    let a60 = features[1]["properties"]["area_km2"].as_f64().unwrap();
    assert!(a30 > 0.0 && a60 > a30, "{a30} {a60}");
    assert!(geo::Area::unsigned_area(&band60) > geo::Area::unsigned_area(&band30));
    assert_eq!(j["sources"][0]["code"], "NEW");
    assert_eq!(j["sources"][0]["status"], "source");

    // max_minutes bounds the search: the 60-minute band stops at 30.
    let (_, j) = post(&st, "/api/catchments?bands=30,60&max_minutes=30", &body).await;
    let f = j["features"].as_array().unwrap();
    assert!(
        (f[0]["properties"]["area_km2"].as_f64().unwrap()
            - f[1]["properties"]["area_km2"].as_f64().unwrap())
        .abs()
            < 1e-9
    );

    // A bare Point body works too; a source off the surface is a 422.
    let (status, _) = post(
        &st,
        "/api/catchments",
        &format!(r#"{{"type":"Point","coordinates":[{lon},{lat}]}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, j) = post(
        &st,
        "/api/catchments",
        r#"{"type":"Point","coordinates":[-70.0,-10.0]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
}

#[tokio::test]
async fn new_data_empties_the_cache() {
    let store = store();
    let st = state_with(Arc::clone(&store), 25_000_000);
    let reference = reference(&store);
    let (place, before) = reference
        .places
        .iter()
        .zip(&reference.access)
        .filter(|(_, a)| a.status == AccessStatus::Reached)
        .max_by(|a, b| a.1.minutes.partial_cmp(&b.1.minutes).unwrap())
        .unwrap();
    let u = uri("/api/accessibility", place.lonlat);
    let j = get(&st, &u).await.1;
    let m = j["minutes"].as_f64().unwrap();
    assert!((m - before.minutes.unwrap()).abs() < 1e-9, "{j}");
    assert!(m > 0.0);
    // A new health post in that village.
    let mut facilities = store.read_layer("facilities").unwrap();
    let mut f = facilities.features[0].clone();
    f.fid = 10_000;
    f.geometry = geo::Geometry::Point(Point::new(place.lonlat.0, place.lonlat.1));
    let code = facilities.field_index("code").unwrap();
    f.values[code] = "NEW".into();
    facilities.features.push(f);
    store.write_layer(&facilities, WriteMode::Replace).unwrap();
    let j = get(&st, &u).await.1;
    assert_eq!(j["minutes"].as_f64(), Some(0.0), "{j}");
    assert_eq!(j["facility"]["code"], "NEW");
    assert_eq!(st.access.cached_results().await, 1);
}

#[tokio::test]
async fn errors_are_json_and_name_the_parameter() {
    let st = state();
    let village = points("communities")[0].1;
    let cases: &[(&str, StatusCode, &str)] = &[
        (
            "/api/accessibility?lat=-12.9",
            StatusCode::BAD_REQUEST,
            "'lon'",
        ),
        (
            "/api/accessibility?lon=abc&lat=-12.9",
            StatusCode::BAD_REQUEST,
            "'lon'",
        ),
        (
            "/api/accessibility?lon=-74.1&lat=-95",
            StatusCode::BAD_REQUEST,
            "'lat'",
        ),
        (
            "/api/accessibility?lon=-74.1&lat=-12.9&x=1",
            StatusCode::BAD_REQUEST,
            "'x'",
        ),
        (
            "/api/accessibility?lon=-74.1&lat=-12.9&category=I-9",
            StatusCode::BAD_REQUEST,
            "category",
        ),
        (
            "/api/accessibility?lon=-74.1&lat=-12.9&preset=flying",
            StatusCode::BAD_REQUEST,
            "'preset'",
        ),
        (
            "/api/accessibility?lon=-74.1&lat=-12.9&birth_care=some",
            StatusCode::BAD_REQUEST,
            "'birth_care'",
        ),
        (
            "/api/accessibility?lon=-70&lat=-10",
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside the travel-time surface",
        ),
        (
            "/api/accessibility?lon=10&lat=50",
            StatusCode::UNPROCESSABLE_ENTITY,
            "outside the travel-time surface",
        ),
        (
            "/api/villages/underserved",
            StatusCode::BAD_REQUEST,
            "'minutes'",
        ),
        (
            "/api/villages/underserved?minutes=-1",
            StatusCode::BAD_REQUEST,
            "'minutes'",
        ),
    ];
    for (u, code, needle) in cases {
        let (status, j) = get(&st, u).await;
        assert_eq!(status, *code, "{u}: {j}");
        assert_eq!(j["status"], code.as_u16());
        assert!(j["error"].as_str().unwrap().contains(needle), "{u}: {j}");
    }
    for (body, needle) in [
        ("{not json", "body"),
        (r#"{"type":"FeatureCollection"}"#, "body"),
        (
            r#"{"type":"LineString","coordinates":[[0,0],[1,1]]}"#,
            "Point",
        ),
        (
            r#"{"type":"FeatureCollection","features":[]}"#,
            "no point sources",
        ),
    ] {
        let (status, j) = post(&st, "/api/catchments", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {j}");
        assert!(j["error"].as_str().unwrap().contains(needle), "{j}");
    }
    for (q, name) in [
        ("bands=30,x", "'bands'"),
        ("max_minutes=0", "'max_minutes'"),
        ("preset=boat", "'preset'"),
        ("category=I-3", "'category'"),
    ] {
        let (status, j) = post(&st, &format!("/api/catchments?{q}"), "{}").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {j}");
        assert!(j["error"].as_str().unwrap().contains(name), "{j}");
    }

    // A grid over the server's cap: 413 on every endpoint, before any search.
    let small = state_with(store(), 1000);
    let body = format!(
        r#"{{"type":"Point","coordinates":[{},{}]}}"#,
        village.0, village.1
    );
    for (status, j) in [
        get(&small, &uri("/api/accessibility", village)).await,
        get(&small, "/api/villages/underserved?minutes=60").await,
        post(&small, "/api/catchments", &body).await,
    ] {
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{j}");
        let e = j["error"].as_str().unwrap();
        assert!(e.contains("480 x 440") && e.contains("1000"), "{e}");
    }
    // No DEM in the store: 404 saying how to import one.
    let bare = MemoryStore::new();
    for l in &region().layers {
        bare.write_layer(l, WriteMode::Replace).unwrap();
    }
    let bare = state_with(Arc::new(bare), 25_000_000);
    let (status, j) = get(&bare, &uri("/api/accessibility", village)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{j}");
    assert!(
        j["error"].as_str().unwrap().contains("chaski import"),
        "{j}"
    );
}

/// Unknown population is not zero: villages without a population are counted
/// apart (`population_unknown`) and left out of every total, and a total over
/// villages none of which has a known population is `null`.
#[tokio::test]
async fn unknown_population_is_not_zero() {
    let base = region().layer("communities").unwrap().clone();
    let pop = base.field_index("population").unwrap();
    let with_unknown = |keep: &dyn Fn(usize) -> bool| {
        let mut layer = base.clone();
        for (i, f) in layer.features.iter_mut().enumerate() {
            if !keep(i) {
                f.values[pop] = chaski_core::value::Value::Null;
            }
        }
        let store = store();
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        let known: u64 = layer
            .features
            .iter()
            .filter_map(|f| f.values[pop].as_i64())
            .map(|p| p as u64)
            .sum();
        (
            state_with(store, ServerConfig::default().max_grid_cells),
            known,
        )
    };

    // Every other village without a population: totals count the others.
    let (st, known) = with_unknown(&|i| i % 2 == 0);
    let (status, j) = get(&st, "/api/villages/underserved?minutes=0").await;
    assert_eq!(status, StatusCode::OK, "{j}");
    let n = base.features.len() as u64;
    assert_eq!(j["counts"]["villages"], n);
    assert_eq!(j["counts"]["population_unknown"], n / 2);
    assert_eq!(j["counts"]["population"], known);
    let unknown_listed = j["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["population"].is_null())
        .count();
    assert!(unknown_listed > 0, "unknown population is listed as null");

    // No population known at all: the totals are null, never 0.
    let (st, known) = with_unknown(&|_| false);
    assert_eq!(known, 0);
    let (_, j) = get(&st, "/api/villages/underserved?minutes=0").await;
    let c = &j["counts"];
    assert_eq!(c["population_unknown"], n);
    assert!(c["population"].is_null(), "{c}");
    assert!(c["underserved_population"].is_null(), "{c}");
    assert!(c["underserved"].as_u64().unwrap() > 0);
}
