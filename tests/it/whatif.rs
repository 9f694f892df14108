//! What-if edits (`POST /api/whatif`, its summary, tiles and `whatif=` on
//! `/api/accessibility`) through `app(state)` with `oneshot`, over the demo
//! region in a memory store. Each what-if is checked against the shared
//! pipeline run from scratch on a store where the edit was made for real (the
//! bridge added to the `paths` layer, the facility to `facilities`): the
//! what-if must give the same minutes; and the store itself must be left alone.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chaski_analysis::travel::cost::Direction;
use chaski_analysis::travel::scenario::Scenario;
use chaski_analysis::travel::village_access::AccessStatus;
use chaski_analysis::travel::{TravelInputs, TravelOptions, TravelResult};
use chaski_core::Feature;
use chaski_core::crs::Projection;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as CoreValue;
use chaski_io::crs::ProjProjection;
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use geo::{Geometry, LineString, Point};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

fn region() -> &'static chaski_demo::DemoRegion {
    static REGION: OnceLock<chaski_demo::DemoRegion> = OnceLock::new();
    REGION.get_or_init(|| chaski_demo::generate(&chaski_demo::DemoOptions::default()))
}

fn store() -> Arc<MemoryStore> {
    let store = MemoryStore::new();
    for l in &region().layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    store.write_raster("dem", &region().dem).unwrap();
    Arc::new(store)
}

fn state(store: Arc<MemoryStore>) -> AppState {
    let config = ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        max_grid_cells: 25_000_000,
        ..ServerConfig::default()
    };
    AppState::new(store, config).unwrap()
}

/// The pipeline from scratch on `store` (walking, to the facility, every village).
fn pipeline(store: &MemoryStore) -> TravelResult {
    let opts = TravelOptions {
        all_villages: true,
        ..TravelOptions::default()
    };
    TravelInputs::from_store(store, &opts, &chaski_io::crs::ProjProjections)
        .unwrap()
        .run(&Scenario::walking(), Direction::ToSource, None)
        .unwrap()
}

async fn send(st: &AppState, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let res = app(st.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

fn json_of(status: StatusCode, body: &[u8]) -> (StatusCode, Value) {
    let v = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(body)));
    (status, v)
}

async fn get(st: &AppState, uri: &str) -> (StatusCode, Value) {
    let (s, b) = send(st, Request::get(uri).body(Body::empty()).unwrap()).await;
    json_of(s, &b)
}

async fn get_bytes(st: &AppState, uri: &str) -> (StatusCode, Vec<u8>) {
    send(st, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(st: &AppState, uri: &str, body: &str) -> (StatusCode, Value) {
    let req = Request::post(uri)
        .header("content-type", "application/geo+json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let (s, b) = send(st, req).await;
    json_of(s, &b)
}

fn collection(features: &[Value]) -> String {
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn line_feature(edit: &str, class: &str, line: &[(f64, f64)]) -> Value {
    let coords: Vec<[f64; 2]> = line.iter().map(|&(x, y)| [x, y]).collect();
    json!({
        "type": "Feature",
        "properties": {"edit": edit, "class": class},
        "geometry": {"type": "LineString", "coordinates": coords},
    })
}

fn utm() -> ProjProjection {
    ProjProjection::new(32718).unwrap()
}

/// `store` with `features` (lon/lat lines and their `class`) added to its paths layer.
fn with_paths(store: &MemoryStore, lines: &[(&str, Vec<(f64, f64)>)]) -> Arc<MemoryStore> {
    let out = store_copy(store);
    let mut paths = out.read_layer("paths").unwrap();
    let class = paths.field_index("class").unwrap();
    let last = paths.features.iter().map(|f| f.fid).max().unwrap_or(0);
    for (fid, (c, line)) in (last + 1..).zip(lines) {
        let mut values = vec![CoreValue::Null; paths.fields.len()];
        values[class] = (*c).into();
        paths.features.push(Feature {
            fid,
            geometry: Geometry::LineString(LineString::from(line.clone())),
            values,
        });
    }
    out.write_layer(&paths, WriteMode::Replace).unwrap();
    out
}

fn store_copy(store: &MemoryStore) -> Arc<MemoryStore> {
    let out = MemoryStore::new();
    for info in store.layers().unwrap() {
        out.write_layer(&store.read_layer(&info.name).unwrap(), WriteMode::Replace)
            .unwrap();
    }
    out.write_raster("dem", &store.read_raster("dem").unwrap())
        .unwrap();
    Arc::new(out)
}

/// Minutes of each village code.
fn minutes(r: &TravelResult) -> HashMap<String, Option<f64>> {
    r.places
        .iter()
        .zip(&r.access)
        .map(|(p, a)| (p.village.code.clone(), a.minutes))
        .collect()
}

/// River vertices in UTM.
fn river_points() -> Vec<(f64, f64)> {
    let p = utm();
    let mut out = Vec::new();
    for f in &region().layer("rivers").unwrap().features {
        let lines: Vec<&LineString<f64>> = match &f.geometry {
            Geometry::LineString(l) => vec![l],
            Geometry::MultiLineString(m) => m.0.iter().collect(),
            _ => continue,
        };
        for l in lines {
            // Densify to 10 m so the nearest point is close to the true foot.
            for s in l.lines() {
                let a = p.forward_one(s.start.x, s.start.y).unwrap();
                let b = p.forward_one(s.end.x, s.end.y).unwrap();
                let n = ((b.0 - a.0).hypot(b.1 - a.1) / 10.0).ceil().max(1.0) as usize;
                for k in 0..=n {
                    let t = k as f64 / n as f64;
                    out.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
                }
            }
        }
    }
    out
}

/// A path from a village to the nearest river and a bridge across it: for each
/// village (farthest first) within 150-600 m of a river, the footpath to 40 m
/// short of the river and the bridge from there to 60 m beyond it.
/// A village code, the footpath from it and the bridge, in longitude/latitude.
type Crossing = (String, Vec<(f64, f64)>, Vec<(f64, f64)>);

fn crossings(base: &TravelResult) -> Vec<Crossing> {
    let p = utm();
    let river = river_points();
    let mut villages: Vec<(&chaski_analysis::travel::Place, f64)> = base
        .places
        .iter()
        .zip(&base.access)
        .filter_map(|(pl, a)| a.minutes.map(|m| (pl, m)))
        .filter(|(_, m)| *m > 20.0)
        .collect();
    villages.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out = Vec::new();
    for (place, _) in villages {
        let v = p.forward_one(place.lonlat.0, place.lonlat.1).unwrap();
        let (r, d) = river
            .iter()
            .map(|&r| (r, (r.0 - v.0).hypot(r.1 - v.1)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        if !(150.0..600.0).contains(&d) {
            continue;
        }
        let (ux, uy) = ((r.0 - v.0) / d, (r.1 - v.1) / d);
        let at = |s: f64| {
            let (lon, lat) = p.inverse_one(v.0 + ux * s, v.1 + uy * s).unwrap();
            ((lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7)
        };
        let path = vec![place.lonlat, at(d - 40.0)];
        let bridge = vec![at(d - 40.0), at(d + 60.0)];
        out.push((place.village.code.clone(), path, bridge));
    }
    out
}

#[tokio::test]
async fn a_bridge_equals_the_pipeline_with_the_bridge_in_the_store() {
    let store = store();
    let st = state(Arc::clone(&store));
    let base = pipeline(&store);
    let before = minutes(&base);
    let version = store.version().unwrap();
    // The first crossing that shortens its village's trip by 5 minutes or more,
    // by the pipeline run from scratch with the path and bridge in the store.
    let mut chosen = None;
    for (code, path, bridge) in crossings(&base).into_iter().take(6) {
        let edited = with_paths(
            &store,
            &[("footpath", path.clone()), ("bridge", bridge.clone())],
        );
        let expected = pipeline(&edited);
        let after = minutes(&expected)[&code].unwrap();
        if after < before[&code].unwrap() - 5.0 {
            chosen = Some((code, path, bridge, expected));
            break;
        }
    }
    let (code, path, bridge, expected) = chosen.expect("a village that a bridge helps");
    let after = minutes(&expected);
    eprintln!(
        "bridge for {code}: {:?} -> {:?} min",
        before[&code], after[&code]
    );

    let body = collection(&[
        line_feature("path", "footpath", &path),
        line_feature("bridge", "", &bridge),
    ]);
    let (status, j) = post(&st, "/api/whatif", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{j}");
    assert_eq!(j["recompute"], "incremental", "{j}");
    assert_eq!(j["scenario"], "walking");
    eprintln!(
        "what-if: {} villages changed, {} cells, {} ms (debug build)",
        j["villages_changed"].as_array().unwrap().len(),
        j["changed_cells"],
        j["elapsed_ms"]
    );
    assert!(j["edits"][1]["river_cells"].as_u64().unwrap() >= 1, "{j}");
    let id = j["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);

    // To the bit (README): the incremental search's seconds in every cell and
    // minutes of every village are those of the full search with the bridge in
    // the store, compared as IEEE bit patterns (no tolerance).
    let w = st.whatifs.get(&id).expect("the what-if is kept");
    let (got, want) = (&w.result.times, &expected.times);
    assert_eq!(got.grid, want.grid);
    assert_eq!(got.seconds.len(), want.seconds.len());
    let differing: Vec<usize> = (0..want.seconds.len())
        .filter(|&i| got.seconds[i].to_bits() != want.seconds[i].to_bits())
        .collect();
    assert!(
        differing.is_empty(),
        "{} of {} cells differ from the full search, first cell {}: {} s vs {} s",
        differing.len(),
        want.seconds.len(),
        differing[0],
        got.seconds[differing[0]],
        want.seconds[differing[0]]
    );
    // The edit reached cells: some cell is faster than without it.
    assert!(
        base.times
            .seconds
            .iter()
            .zip(&want.seconds)
            .any(|(b, a)| a < b),
        "the bridge changed no cell"
    );
    assert_eq!(w.result.places.len(), expected.places.len());
    for ((p, g), e) in w
        .result
        .places
        .iter()
        .zip(&w.result.access)
        .zip(&expected.access)
    {
        assert_eq!(
            g.minutes.map(f64::to_bits),
            e.minutes.map(f64::to_bits),
            "{}: {:?} vs {:?} min",
            p.village.code,
            g.minutes,
            e.minutes
        );
        assert_eq!(g.status, e.status, "{}", p.village.code);
    }

    // Every village whose minutes differ in the pipeline is listed, with the
    // same minutes, to the bit (serde_json's exact float parsing, float_roundtrip).
    let changed: HashMap<String, &Value> = j["villages_changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["code"].as_str().unwrap().to_owned(), v))
        .collect();
    let mut differ = 0;
    for (c, b) in &before {
        let a = after[c];
        if a == *b {
            continue;
        }
        differ += 1;
        let v = changed.get(c).unwrap_or_else(|| panic!("{c} not listed"));
        let got = v["after_min"].as_f64().unwrap();
        let want = a.unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "{c}: {got} vs {want}");
        let got_before = v["before_min"].as_f64().unwrap();
        assert_eq!(
            got_before.to_bits(),
            b.unwrap().to_bits(),
            "{c}: {got_before} vs {b:?}"
        );
        assert!(got < b.unwrap());
    }
    assert!(
        differ >= 1 && changed.len() >= differ,
        "{differ} {}",
        changed.len()
    );
    let v = changed[&code];
    assert!(v["after_min"].as_f64().unwrap() < v["before_min"].as_f64().unwrap() - 5.0);

    // Population within 60/120/240 minutes, after as the pipeline counts it.
    let pop = |r: &TravelResult, m: f64| -> u64 {
        r.places
            .iter()
            .zip(&r.access)
            .filter(|(_, a)| a.status == AccessStatus::Reached && a.minutes.unwrap() <= m)
            .map(|(p, _)| p.village.population.unwrap_or(0))
            .sum()
    };
    for (k, m) in [60.0, 120.0, 240.0].into_iter().enumerate() {
        let row = &j["population_within"][k];
        assert_eq!(row["minutes"].as_f64(), Some(m));
        assert_eq!(row["before"].as_u64(), Some(pop(&base, m)));
        assert_eq!(row["after"].as_u64(), Some(pop(&expected, m)));
    }

    // The village's minutes through /api/accessibility?whatif=, and without it unchanged.
    let place = base.places.iter().find(|p| p.village.code == code).unwrap();
    let (lon, lat) = place.lonlat;
    let (_, w) = get(
        &st,
        &format!("/api/accessibility?lon={lon}&lat={lat}&whatif={id}"),
    )
    .await;
    let m = w["minutes"].as_f64().unwrap();
    assert!((m - after[&code].unwrap()).abs() <= 1e-9 * m, "{w}");
    assert_eq!(w["whatif"], id.as_str());
    let (_, plain) = get(&st, &format!("/api/accessibility?lon={lon}&lat={lat}")).await;
    let m0 = plain["minutes"].as_f64().unwrap();
    assert!((m0 - before[&code].unwrap()).abs() <= 1e-9 * m0, "{plain}");
    // The underserved villages of the what-if, counted as the pipeline does.
    let (status, u) = get(
        &st,
        &format!("/api/villages/underserved?minutes=60&whatif={id}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{u}");
    assert_eq!(
        u["counts"]["within_population"].as_u64(),
        Some(pop(&expected, 60.0))
    );
    let (_, u0) = get(&st, "/api/villages/underserved?minutes=60").await;
    assert_eq!(
        u0["counts"]["within_population"].as_u64(),
        Some(pop(&base, 60.0))
    );
    let (status, e) = get(
        &st,
        &format!("/api/villages/underserved?minutes=60&preset=rainy&whatif={id}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("'preset'"), "{e}");
    // The store is untouched.
    assert_eq!(store.version().unwrap(), version);
    assert_eq!(
        store.read_layer("paths").unwrap().features.len(),
        region().layer("paths").unwrap().features.len()
    );

    // The summary, then gone after DELETE.
    let (status, s) = get(&st, &format!("/api/whatif/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["villages_changed"], j["villages_changed"]);
    assert!(s["tilejson"].as_str().unwrap().ends_with(&format!(
        "/whatif/{id}/tiles/travel_time,catchments,whatif_edits.json"
    )));
    let req = Request::delete(format!("/api/whatif/{id}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&st, req).await.0, StatusCode::NO_CONTENT);
    let (status, e) = get(&st, &format!("/api/whatif/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    assert!(e["error"].as_str().unwrap().contains(&id));
    let (status, _) = get(
        &st,
        &format!("/api/accessibility?lon={lon}&lat={lat}&whatif={id}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The village with the longest trip, its place and minutes.
fn farthest(base: &TravelResult) -> (&chaski_analysis::travel::Place, f64) {
    base.places
        .iter()
        .zip(&base.access)
        .filter_map(|(p, a)| a.minutes.map(|m| (p, m)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

#[tokio::test]
async fn a_new_facility_serves_its_neighbours_and_a_closed_one_loses_them() {
    let store = store();
    let st = state(Arc::clone(&store));
    let base = pipeline(&store);
    let before = minutes(&base);
    let (place, far) = farthest(&base);
    let (lon, lat) = place.lonlat;
    let body = collection(&[json!({
        "type": "Feature",
        "properties": {"edit": "facility", "category": "I-3", "code": "NEW", "name": "Nuevo", "birth_care": "basic"},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    })]);
    let (status, j) = post(&st, "/api/whatif", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{j}");
    assert_eq!(j["recompute"], "incremental");
    assert_eq!(j["facilities_added"][0]["code"], "NEW");
    assert_eq!(
        j["facilities_after"].as_u64(),
        j["facilities_before"].as_u64().map(|n| n + 1)
    );
    // The same minutes as the pipeline with the facility in the store.
    let edited = store_copy(&store);
    let mut fac = edited.read_layer("facilities").unwrap();
    let mut f = fac.features[0].clone();
    f.fid = 100_000;
    f.geometry = Geometry::Point(Point::new(lon, lat));
    for (field, v) in [
        ("code", "NEW"),
        ("name", "Nuevo"),
        ("category", "I-3"),
        ("birth_care", "basic"),
    ] {
        let k = fac.field_index(field).unwrap();
        f.values[k] = v.into();
    }
    fac.features.push(f);
    edited.write_layer(&fac, WriteMode::Replace).unwrap();
    let expected = pipeline(&edited);
    let after = minutes(&expected);
    let changed = j["villages_changed"].as_array().unwrap();
    let p = utm();
    let site = p.forward_one(lon, lat).unwrap();
    let mut served = 0;
    for v in changed {
        let c = v["code"].as_str().unwrap();
        let got = v["after_min"].as_f64().unwrap();
        let want = after[c].unwrap();
        assert!(
            (got - want).abs() <= 1e-9 * want.max(1.0),
            "{c}: {got} {want}"
        );
        assert!(got <= before[c].unwrap());
        // Every change is the new facility's doing: it serves them now, and
        // no one walks faster than 6 km/h (100 m/min) less two half-cell diagonals.
        assert_eq!(v["facility_after"], "NEW", "{v}");
        let (vx, vy) = p
            .forward_one(v["lon"].as_f64().unwrap(), v["lat"].as_f64().unwrap())
            .unwrap();
        let d = (vx - site.0).hypot(vy - site.1);
        assert!(got >= (d - 2.0 * 42.5) / 100.0, "{c}: {got} min for {d} m");
        served += 1;
    }
    assert!(served >= 1);
    // The farthest village is now on the facility's cell: 0 minutes.
    let own = changed
        .iter()
        .find(|v| v["code"] == place.village.code.as_str())
        .unwrap();
    assert_eq!(own["after_min"].as_f64(), Some(0.0));
    assert!((own["before_min"].as_f64().unwrap() - far).abs() < 1e-9);
    for (c, b) in &before {
        if changed.iter().all(|v| v["code"] != c.as_str()) {
            assert_eq!(after[c], *b, "{c} changed but is not listed");
        }
    }
    // Sources of category >= I-4 only: an I-3 post changes nothing.
    let (status, j4) = post(&st, "/api/whatif?category=%3E%3DI-4", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{j4}");
    assert_eq!(j4["villages_changed"].as_array().unwrap().len(), 0);
    assert_eq!(j4["facilities_added"].as_array().unwrap().len(), 0);

    // Closing the facility that serves the most villages: they all lose time,
    // and only they, as in the pipeline with the facility left out of the store.
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for a in &base.access {
        if let Some(f) = &a.facility {
            *counts.entry(f.as_str()).or_default() += 1;
        }
    }
    let (closed, n) = counts.into_iter().max_by_key(|(c, n)| (*n, *c)).unwrap();
    let body = collection(&[
        json!({"type": "Feature", "properties": {"edit": "remove_facility", "code": closed}, "geometry": null}),
    ]);
    let (status, j) = post(&st, "/api/whatif", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{j}");
    assert_eq!(j["edits"][0]["removed"].as_u64(), Some(1));
    let without = store_copy(&store);
    let mut fac = without.read_layer("facilities").unwrap();
    let code = fac.field_index("code").unwrap();
    fac.features
        .retain(|f| f.values[code].to_string() != closed);
    without.write_layer(&fac, WriteMode::Replace).unwrap();
    let expected = minutes(&pipeline(&without));
    let changed = j["villages_changed"].as_array().unwrap();
    assert!(changed.len() >= n.min(3), "{} of {n}", changed.len());
    for v in changed {
        let c = v["code"].as_str().unwrap();
        assert_eq!(v["facility_before"], closed);
        assert_ne!(v["facility_after"], closed);
        let got = v["after_min"].as_f64().unwrap();
        assert!(got >= v["before_min"].as_f64().unwrap());
        let want = expected[c].unwrap();
        assert!(
            (got - want).abs() <= 1e-9 * want.max(1.0),
            "{c}: {got} {want}"
        );
    }
    let raised = changed
        .iter()
        .filter(|v| v["after_min"].as_f64() > v["before_min"].as_f64())
        .count();
    assert!(raised >= 1);
}

fn decode(body: &[u8]) -> HashMap<String, Vec<mvt_reader::feature::Feature>> {
    let reader = mvt_reader::Reader::new(body.to_vec()).unwrap();
    let names = reader.get_layer_names().unwrap();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), reader.get_features(i).unwrap()))
        .collect()
}

fn text(f: &mvt_reader::feature::Feature, key: &str) -> Option<String> {
    match f.properties.as_ref()?.get(key)? {
        mvt_reader::feature::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn whatif_tiles_show_the_edits_and_the_base_tiles_do_not() {
    let store = store();
    let st = state(Arc::clone(&store));
    let base = pipeline(&store);
    let (place, _) = farthest(&base);
    let (lon, lat) = place.lonlat;
    let (tx, ty) = {
        let z = 12;
        let n = f64::from(1u32 << z);
        let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
        let lr = lat.to_radians();
        let y = ((1.0 - (lr.tan() + 1.0 / lr.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor()
            as u32;
        (x, y)
    };
    let base_tile = |layers: &str| format!("/tiles/{layers}/12/{tx}/{ty}.mvt");
    let (status, base_before) = get_bytes(&st, &base_tile("catchments,travel_time")).await;
    assert_eq!(status, StatusCode::OK);

    let body = collection(&[json!({
        "type": "Feature",
        "properties": {"edit": "facility", "category": "I-2", "code": "NEW"},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    })]);
    let (status, j) = post(&st, "/api/whatif", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{j}");
    let id = j["id"].as_str().unwrap();
    // TileJSON at the URL given, pointing at the what-if's tiles.
    let tilejson = j["tilejson"].as_str().unwrap();
    let path = &tilejson[tilejson.find("/whatif/").unwrap()..];
    let (status, tj) = get(&st, path).await;
    assert_eq!(status, StatusCode::OK, "{tj}");
    assert_eq!(tj["tilejson"], "3.0.0");
    let ids: Vec<&str> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["travel_time", "catchments", "whatif_edits"]);
    let template = tj["tiles"][0].as_str().unwrap();
    assert!(
        template.contains(&format!("/whatif/{id}/tiles/")),
        "{template}"
    );
    assert_eq!(template, j["tiles"].as_str().unwrap());

    // The tile under the new facility: its catchment, 0-30 minute band and the edit.
    let uri = format!(
        "/whatif/{id}/tiles/travel_time,catchments,whatif_edits,communities/12/{tx}/{ty}.mvt"
    );
    let (status, tile) = get_bytes(&st, &uri).await;
    assert_eq!(status, StatusCode::OK);
    let layers = decode(&tile);
    assert!(
        layers["catchments"]
            .iter()
            .any(|f| text(f, "code").as_deref() == Some("NEW"))
    );
    let edits = &layers["whatif_edits"];
    assert_eq!(edits.len(), 1);
    assert_eq!(text(&edits[0], "edit").as_deref(), Some("facility"));
    assert!(
        layers["travel_time"]
            .iter()
            .any(|f| text(f, "band").as_deref() == Some("0-30 min"))
    );
    assert!(!layers["communities"].is_empty());
    // The same place in the base tiles: no such catchment, and they are unchanged.
    let (_, base_after) = get_bytes(&st, &base_tile("catchments,travel_time")).await;
    assert_eq!(base_before, base_after);
    let base_layers = decode(&base_after);
    assert!(
        !base_layers["catchments"]
            .iter()
            .any(|f| text(f, "code").as_deref() == Some("NEW"))
    );
    let (_, own) = get_bytes(
        &st,
        &format!("/whatif/{id}/tiles/catchments,travel_time/12/{tx}/{ty}"),
    )
    .await;
    assert_ne!(own, base_after);
    // Gzip on request.
    let req = Request::get(&uri)
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .unwrap();
    let res = app(st.clone()).oneshot(req).await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");

    // Unknown ids and layers: 404 JSON.
    for u in [
        format!("/whatif/0000000000000000/tiles/catchments/12/{tx}/{ty}.mvt"),
        "/whatif/0000000000000000/tiles/catchments.json".to_owned(),
        format!("/whatif/{id}/tiles/nothing/12/{tx}/{ty}.mvt"),
        "/api/whatif/0000000000000000".to_owned(),
    ] {
        let (status, e) = get(&st, &u).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{u}: {e}");
        assert!(e["error"].is_string());
    }
}

#[tokio::test]
async fn bad_edits_name_the_feature_and_field() {
    let st = state(store());
    let base = pipeline(&store());
    let (place, _) = farthest(&base);
    let (lon, lat) = place.lonlat;
    let ok = json!({"type": "Feature", "properties": {"edit": "facility", "category": "I-1"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}});
    let feature = |props: Value, geometry: Value| json!({"type": "Feature", "properties": props, "geometry": geometry});
    let point = json!({"type": "Point", "coordinates": [lon, lat]});
    let line = json!({"type": "LineString", "coordinates": [[lon, lat], [lon + 0.001, lat]]});
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (
            collection(&[
                ok.clone(),
                feature(json!({"edit": "bridge"}), point.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "feature 1: geometry",
        ),
        (
            collection(&[feature(
                json!({"edit": "facility", "category": "I-1"}),
                line.clone(),
            )]),
            StatusCode::BAD_REQUEST,
            "feature 0: geometry",
        ),
        (
            collection(&[feature(
                json!({"edit": "path", "class": "highway"}),
                line.clone(),
            )]),
            StatusCode::BAD_REQUEST,
            "feature 0: properties.class",
        ),
        (
            collection(&[feature(
                json!({"edit": "facility", "category": "I-9"}),
                point.clone(),
            )]),
            StatusCode::BAD_REQUEST,
            "feature 0: properties.category",
        ),
        (
            collection(&[feature(json!({"edit": "facility"}), point.clone())]),
            StatusCode::BAD_REQUEST,
            "feature 0: properties.category",
        ),
        (
            collection(&[feature(
                json!({"edit": "facility", "category": "I-1", "birth_care": "maybe"}),
                point.clone(),
            )]),
            StatusCode::BAD_REQUEST,
            "feature 0: properties.birth_care",
        ),
        (
            collection(&[
                ok.clone(),
                feature(json!({"edit": "teleport"}), point.clone()),
            ]),
            StatusCode::BAD_REQUEST,
            "feature 1: properties.edit",
        ),
        (
            collection(&[feature(json!({"class": "footpath"}), line.clone())]),
            StatusCode::BAD_REQUEST,
            "feature 0: properties.edit",
        ),
        (
            collection(&[feature(json!({"edit": "remove_facility"}), Value::Null)]),
            StatusCode::BAD_REQUEST,
            "feature 0: properties.code",
        ),
        (
            collection(&vec![ok.clone(); 101]),
            StatusCode::BAD_REQUEST,
            "101 edits",
        ),
        (collection(&[]), StatusCode::BAD_REQUEST, "no edits"),
        (
            r#"{"type":"Point","coordinates":[0,0]}"#.to_owned(),
            StatusCode::BAD_REQUEST,
            "FeatureCollection",
        ),
        ("{nope".to_owned(), StatusCode::BAD_REQUEST, "body"),
        // Well-formed but cannot apply: 422.
        (
            collection(&[
                ok.clone(),
                feature(
                    json!({"edit": "path"}),
                    json!({"type": "LineString", "coordinates": [[lon, lat], [-70.0, -10.0]]}),
                ),
            ]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "feature 1: geometry: vertex 1",
        ),
        (
            collection(&[feature(
                json!({"edit": "facility", "category": "I-1"}),
                json!({"type": "Point", "coordinates": [-70.0, -10.0]}),
            )]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "feature 0: geometry",
        ),
        (
            collection(&[feature(
                json!({"edit": "remove_facility", "code": "NO-SUCH"}),
                Value::Null,
            )]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "feature 0: code",
        ),
    ];
    for (body, code, needle) in &cases {
        let (status, j) = post(&st, "/api/whatif", body).await;
        assert_eq!(status, *code, "{needle}: {j}");
        assert_eq!(j["status"], code.as_u16());
        assert!(
            j["error"].as_str().unwrap().contains(needle),
            "{needle}: {j}"
        );
    }
    // A bridge over no river: a short line around the farthest village that
    // crosses no river cell (checked against the pipeline's rivers below).
    let p = utm();
    let river = river_points();
    let v = p.forward_one(lon, lat).unwrap();
    let d = river
        .iter()
        .map(|r| (r.0 - v.0).hypot(r.1 - v.1))
        .fold(f64::INFINITY, f64::min);
    assert!(d > 120.0, "{d}");
    let end = p.inverse_one(v.0 + 30.0, v.1).unwrap();
    let bridge = collection(&[line_feature("bridge", "", &[(lon, lat), end])]);
    let (status, j) = post(&st, "/api/whatif", &bridge).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{j}");
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains("feature 0: geometry: the bridge crosses no river"),
        "{j}"
    );
    // Query and body members.
    let body = collection(std::slice::from_ref(&ok));
    let (status, j) = post(&st, "/api/whatif?scenario=flying", &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(j["error"].as_str().unwrap().contains("'scenario'"), "{j}");
    let (status, j) = post(&st, "/api/whatif?colour=red", &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(j["error"].as_str().unwrap().contains("'colour'"), "{j}");
    let mut fc: Value = serde_json::from_str(&body).unwrap();
    fc["scenario"] = "rainy".into();
    let (status, j) = post(&st, "/api/whatif", &fc.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{j}");
    assert_eq!(j["scenario"], "rainy_season");
    let (status, j) = post(&st, "/api/whatif?scenario=walking", &fc.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{j}");
    // Too large a body: 413.
    let big = format!("{}{}", " ".repeat(1024 * 1024 + 1), body);
    let (status, j) = post(&st, "/api/whatif", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{j}");
    // Nothing was kept but the what-if that worked.
    assert_eq!(st.whatifs.len(), 1);
}

#[tokio::test]
async fn only_the_last_32_whatifs_are_kept() {
    let st = state(store());
    let base = pipeline(&store());
    let (place, _) = farthest(&base);
    let (lon, lat) = place.lonlat;
    let body = collection(&[
        json!({"type": "Feature", "properties": {"edit": "facility", "category": "I-1"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}),
    ]);
    let mut ids = Vec::new();
    for _ in 0..34 {
        let (status, j) = post(&st, "/api/whatif", &body).await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(j["id"].as_str().unwrap().to_owned());
        if ids.len() == 32 {
            // Using the oldest makes it the most recently used.
            assert_eq!(
                get(&st, &format!("/api/whatif/{}", ids[0])).await.0,
                StatusCode::OK
            );
        }
    }
    assert_eq!(st.whatifs.len(), 32);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 34);
    // The two least recently used went: the second and third made.
    for (k, code) in [
        (0, StatusCode::OK),
        (1, StatusCode::NOT_FOUND),
        (2, StatusCode::NOT_FOUND),
        (3, StatusCode::OK),
        (33, StatusCode::OK),
    ] {
        assert_eq!(
            get(&st, &format!("/api/whatif/{}", ids[k])).await.0,
            code,
            "{k}"
        );
    }
}

/// A what-if unused for longer than `whatif_idle_secs` is dropped with its
/// tiles: at once by the sweep the server runs, or when it is asked for.
#[tokio::test]
async fn idle_whatifs_are_dropped() {
    let base = pipeline(&store());
    let (place, _) = farthest(&base);
    let (lon, lat) = place.lonlat;
    let body = collection(&[
        json!({"type": "Feature", "properties": {"edit": "facility", "category": "I-1"}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}),
    ]);
    let config = |idle| ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        max_grid_cells: 25_000_000,
        whatif_idle_secs: idle,
        ..ServerConfig::default()
    };
    // Kept for an hour: there, and the sweep leaves it.
    let st = AppState::new(store(), config(3600)).unwrap();
    let (status, j) = post(&st, "/api/whatif", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = j["id"].as_str().unwrap().to_owned();
    assert_eq!(st.whatifs.expire(), 0);
    assert_eq!(
        get(&st, &format!("/api/whatif/{id}")).await.0,
        StatusCode::OK
    );
    // Kept 0 s: gone once idle, the 404 naming the setting.
    let st = AppState::new(store(), config(0)).unwrap();
    let (status, j) = post(&st, "/api/whatif", &body).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = j["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, j) = get(&st, &format!("/api/whatif/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        j["error"].as_str().unwrap().contains("whatif_idle_secs"),
        "{j}"
    );
    assert_eq!(st.whatifs.len(), 0);
}
