//! The catalogue of malformed requests: files uploaded and requests sent
//! through `app(state)`, each answered with a 4xx whose JSON names the
//! problem (the `error` text, or the `rejected` row and field of an upload),
//! and nothing written to the store (its data version and layers unchanged).
//!
//! Cases tried elsewhere are not repeated here: the what-if body's edits
//! (`whatif.rs`), the accessibility parameters (`api.rs`), unknown or
//! out-of-range siting members (`siting.rs`), tile z/x beyond
//! range and unknown layers or styles (`server.rs`), household rows outside
//! the caller's scope, at 0,0 or with personal identifiers (`household_upload.rs`,
//! `attacks.rs`), printed-map parameters (`maps.rs`). The malformed files of
//! `chaski import` are in `crates/chaski-cli/tests/it/malformed.rs`.

use crate::support::config;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_core::auth::{Access, MemoryTokenStore, Role, TokenStore};
use chaski_core::household::places::Place;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_server::app;
use chaski_server::state::AppState;
use http_body_util::BodyExt;
use rstest::rstest;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

const SECTOR: &str = "SYN-CP01-S1";
const FACILITY: &str = "SYN-00001";
const COMMUNITY: &str = "SYN-CP01";

fn point_layer(name: &str, kind: LayerKind, code: &str) -> Layer {
    let mut l = Layer::new(name, kind);
    let mut values = vec![FieldValue::Null; l.fields.len()];
    values[0] = code.into();
    l.features.push(Feature {
        fid: 1,
        geometry: geo::Geometry::Point(geo::Point::new(-74.22, -13.15)),
        values,
    });
    l
}

/// A store with one community and one facility, and an admin token.
fn fixture() -> (AppState, String) {
    let store = MemoryStore::new();
    store
        .write_layer(
            &point_layer("communities", LayerKind::Communities, COMMUNITY),
            WriteMode::Replace,
        )
        .unwrap();
    store
        .write_layer(
            &point_layer("facilities", LayerKind::Facilities, FACILITY),
            WriteMode::Replace,
        )
        .unwrap();
    let tokens = Arc::new(MemoryTokenStore::new());
    tokens
        .add_places(&[Place::new(FACILITY, SECTOR, COMMUNITY)])
        .unwrap();
    let (_, secret) = tokens
        .create(&Access::new(Role::Admin, None, false).unwrap(), Some("t"))
        .unwrap();
    let state = AppState::new(Arc::new(store), config())
        .unwrap()
        .with_tokens(tokens);
    (state, secret)
}

/// The header of a KoBoToolbox export (`;`-delimited).
const HEADER: &str = "consentimiento/acepta;identificacion/codigo_hogar;identificacion/comunidad;\
     identificacion/establecimiento;identificacion/sector;_gps_latitude;_gps_longitude;\
     _gps_precision;hogar/miembros;_uuid;today";

/// One household row: `lat`, `lon` and `today` as given, the rest valid.
fn row(code: &str, lat: &str, lon: &str, today: &str) -> String {
    format!("si;{code};{COMMUNITY};{FACILITY};{SECTOR};{lat};{lon};5;4;uuid-{code};{today}")
}

/// A KoBo export of a valid row followed by `rows`.
fn csv(rows: &[String]) -> Vec<u8> {
    let mut s = format!(
        "{HEADER}\n{}\n",
        row("H-1", "-13.1584", "-74.2239", "2026-04-10")
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

/// A valid export whose second row is `lat`, `lon`, `today`.
fn bad_row(lat: &str, lon: &str, today: &str) -> Vec<u8> {
    csv(&[row("H-2", lat, lon, today)])
}

/// A FeatureCollection of household features with `geometry`.
fn households_geojson(geometry: &str, extra: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"FeatureCollection"{extra},"features":[{{"type":"Feature","geometry":{geometry},
        "properties":{{"code":"H-1","community":"{COMMUNITY}","facility":"{FACILITY}",
        "cha_sector":"{SECTOR}","consent":"si","members":4,"gps_accuracy":5}}}}]}}"#
    )
    .into_bytes()
}

fn whatif(geometry: &str, props: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{props},"geometry":{geometry}}}]}}"#
    )
    .into_bytes()
}

const CSV: Option<&str> = Some("text/csv");
const GEOJSON: Option<&str> = Some("application/geo+json");
const JSON: Option<&str> = Some("application/json");
const UPLOAD: &str = "/api/households";

/// Answer of one request: status and JSON body.
async fn send(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    ct: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = ct {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let res = app(state.clone())
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{method} {uri}: {status} not JSON ({e}): {text}"));
    (status, json, text)
}

/// What the store holds: its data version and each layer with its feature count.
fn holdings(state: &AppState) -> (u64, Vec<(String, usize)>) {
    let store = state.store.as_ref();
    let layers = store
        .layers()
        .unwrap()
        .into_iter()
        .map(|i| {
            let n = store.read_layer(&i.name).unwrap().features.len();
            (i.name, n)
        })
        .collect();
    (store.version().unwrap(), layers)
}

#[rstest]
// Household uploads (an admin token): files.
#[case::truncated_csv(
    "POST", UPLOAD, true, CSV,
    csv(&["si;H-2;SYN-CP01;SYN-00001;SYN-CP01-S1;-13.15".to_owned()]),
    422, &[r#""reason":"has 6 fields but the header has 11","row":3"#]
)]
#[case::wrong_delimiter(
    "POST", UPLOAD, true, CSV,
    String::from_utf8(csv(&[])).unwrap().replace(';', "|").into_bytes(),
    400, &["upload.csv: not a geographic table: no coordinate columns"]
)]
#[case::missing_code_column(
    "POST", UPLOAD, true, CSV,
    String::from_utf8(csv(&[])).unwrap().replace("identificacion/codigo_hogar", "notes").into_bytes(),
    422, &[r#""field":"code""#, "missing household code"]
)]
#[case::latitude_nan(
    "POST", UPLOAD, true, CSV, bad_row("NaN", "-74.2239", "2026-04-10"),
    422, &[r#""field":"_gps_latitude","reason":"latitude (y) 'NaN' is not a number","row":3"#]
)]
#[case::latitude_out_of_range(
    "POST", UPLOAD, true, CSV, bad_row("-95.5", "-74.2239", "2026-04-10"),
    422, &["latitude -95.5 is outside -90..90", r#""row":3"#]
)]
#[case::coordinates_swapped(
    "POST", UPLOAD, true, CSV, bad_row("-74.2239", "-13.1584", "2026-04-10"),
    422, &["look swapped", r#""row":3"#]
)]
#[case::not_utf8(
    "POST", UPLOAD, true, CSV,
    [csv(&[]), b"si;H-\xd1;SYN-CP01;SYN-00001;SYN-CP01-S1;-13.1;-74.2;5;4;u;2026-04-10\n".to_vec()].concat(),
    400, &["body is not UTF-8"]
)]
#[case::utf16_bom(
    "POST", UPLOAD, true, CSV,
    [vec![0xff, 0xfe], HEADER.encode_utf16().flat_map(u16::to_le_bytes).collect()].concat(),
    400, &["body is not UTF-8"]
)]
#[case::huge_field(
    "POST", UPLOAD, true, CSV,
    csv(&[row(&"X".repeat(5000), "-13.1584", "-74.2239", "2026-04-10")]),
    422, &[r#""field":"code","reason":"5000 characters long"#, r#""row":3"#]
)]
#[case::empty_body("POST", UPLOAD, true, CSV, Vec::new(), 400, &["upload.csv: the file is empty"])]
#[case::wrong_content_type(
    "POST", UPLOAD, true, Some("text/plain"), csv(&[]), 400, &["unsupported Content-Type 'text/plain'"]
)]
#[case::geojson_not_a_feature_collection(
    "POST", UPLOAD, true, GEOJSON, br#"{"type":"Topology","objects":{}}"#.to_vec(), 400,
    &["upload.geojson: not GeoJSON", "Topology"]
)]
#[case::household_not_a_point(
    "POST", UPLOAD, true, GEOJSON,
    households_geojson(r#"{"type":"LineString","coordinates":[[-74.22,-13.15],[-74.21,-13.15]]}"#, ""),
    422, &[r#""field":"geometry","reason":"expected a point","row":1"#]
)]
#[case::geojson_wrong_crs_member(
    "POST", UPLOAD, true, GEOJSON,
    households_geojson(
        r#"{"type":"Point","coordinates":[-74.22,-13.15]}"#,
        r#","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32718"}}"#
    ),
    400, &["member 'crs' names 'urn:ogc:def:crs:EPSG::32718'"]
)]
#[case::json_nested_too_deep(
    "POST", UPLOAD, true, JSON,
    households_geojson(r#"{"type":"Point","coordinates":[-74.22,-13.15]}"#, &format!(r#","x":{}0{}"#, "[".repeat(5000), "]".repeat(5000))),
    400, &["upload.geojson: not GeoJSON", "recursion limit exceeded"]
)]
#[case::on_error_unknown(
    "POST", "/api/households?on_error=maybe", true, CSV, csv(&[]), 400, &["on_error=maybe"]
)]
#[case::visit_date_impossible(
    "GET", "/api/visits/due?as_of=2026-02-30", true, None, Vec::new(), 400,
    &["as_of: '2026-02-30' is not a date"]
)]
// Tiles.
#[case::tile_x_negative("GET", "/tiles/communities/3/-1/0", false, None, Vec::new(), 400, &["tile x '-1'"])]
#[case::tile_y_not_a_number(
    "GET", "/tiles/communities/3/1/2.png", false, None, Vec::new(), 400, &["tile y '2.png'"]
)]
#[case::tile_y_out_of_range(
    "GET", "/tiles/communities/3/0/8.mvt", false, None, Vec::new(), 400,
    &["invalid tile 3/0/8: x and y must be below 2^3 = 8"]
)]
#[case::tile_z_overflow(
    "GET", "/tiles/communities/4294967296/0/0", false, None, Vec::new(), 400, &["tile z '4294967296'"]
)]
#[case::tile_layer_unknown_in_list(
    "GET", "/tiles/communities,nope/0/0/0", false, None, Vec::new(), 404, &["'nope'"]
)]
#[case::tile_layer_not_utf8(
    "GET", "/tiles/%FF%FE/0/0/0", false, None, Vec::new(), 400, &["Invalid UTF-8 in `layers`"]
)]
// Query parameters.
#[case::bbox_inverted(
    "GET", "/api/villages/underserved?minutes=60&bbox=-74,-12,-75,-13", false, None, Vec::new(),
    400, &["'bbox': '-74,-12,-75,-13' has a minimum above its maximum"]
)]
#[case::bbox_not_finite(
    "GET", "/api/villages/underserved?minutes=60&bbox=NaN,-13,-74,inf", false, None, Vec::new(),
    400, &["'bbox': 'NaN,-13,-74,inf' is not longitudes and latitudes"]
)]
#[case::bbox_three_numbers(
    "GET", "/api/villages/underserved?minutes=60&bbox=-75,-13,-74", false, None, Vec::new(),
    400, &["'bbox': '-75,-13,-74' is not four numbers"]
)]
#[case::limit_negative(
    "GET", "/api/villages/underserved?minutes=60&limit=-5", false, None, Vec::new(), 400,
    &["'limit': '-5' is not a whole number"]
)]
#[case::bands_not_positive(
    "POST", "/api/catchments?bands=30,-60", false, JSON, b"{}".to_vec(), 400,
    &["'bands': '-60' is not a positive number"]
)]
#[case::cluster_replicates_not_a_number(
    "GET", "/api/clusters?flags=anaemia&replicates=ten", true, None, Vec::new(), 400,
    &["parameter 'replicates': 'ten' is not a valid number"]
)]
// Siting bodies.
#[case::siting_negative_homes(
    "POST", "/api/siting", false, JSON, br#"{"homes": -1}"#.to_vec(), 400,
    &["member 'homes': invalid value: integer `-1`"]
)]
#[case::siting_truncated_json(
    "POST", "/api/siting", false, JSON, br#"{"homes": 2, "minutes""#.to_vec(), 400,
    &["body: not a siting request: EOF"]
)]
// What-if bodies.
#[case::whatif_self_intersecting_polygon(
    "POST", "/api/whatif", false, GEOJSON,
    whatif(
        r#"{"type":"Polygon","coordinates":[[[-74.2,-13.1],[-74.1,-13.0],[-74.1,-13.1],[-74.2,-13.0],[-74.2,-13.1]]]}"#,
        r#"{"edit":"path"}"#
    ),
    400, &["body: feature 0: geometry: a path must be a LineString, not a Polygon"]
)]
#[case::whatif_ring_not_closed(
    "POST", "/api/whatif", false, GEOJSON,
    whatif(
        r#"{"type":"Polygon","coordinates":[[[-74.2,-13.1],[-74.1,-13.1],[-74.1,-13.0]]]}"#,
        r#"{"edit":"facility","category":"I-1"}"#
    ),
    400, &["body: feature 0: geometry"]
)]
#[case::whatif_position_without_latitude(
    "POST", "/api/whatif", false, GEOJSON,
    whatif(r#"{"type":"LineString","coordinates":[[-74.2],[-74.1,-13.0]]}"#, r#"{"edit":"path"}"#),
    400, &["body: feature 0: geometry: a position needs longitude and latitude"]
)]
#[case::whatif_facility_off_the_globe(
    "POST", "/api/whatif", false, GEOJSON,
    whatif(r#"{"type":"Point","coordinates":[-74.2,95.0]}"#, r#"{"edit":"facility","category":"I-1"}"#),
    400, &["body: feature 0: geometry: (-74.2, 95) is not a longitude/latitude"]
)]
#[case::whatif_duplicate_facility_codes(
    "POST", "/api/whatif", false, GEOJSON,
    format!(
        r#"{{"type":"FeatureCollection","features":[{f},{f}]}}"#,
        f = r#"{"type":"Feature","properties":{"edit":"facility","category":"I-1","code":"N-1"},"geometry":{"type":"Point","coordinates":[-74.2,-13.1]}}"#
    ).into_bytes(),
    400, &["body: feature 1: properties.code: 'N-1' is the code of feature 0 too"]
)]
#[tokio::test]
async fn malformed_requests_are_4xx_json_naming_the_problem_and_write_nothing(
    #[case] method: &str,
    #[case] uri: &str,
    #[case] admin: bool,
    #[case] content_type: Option<&str>,
    #[case] body: Vec<u8>,
    #[case] status: u16,
    #[case] needles: &[&str],
) {
    let (state, secret) = fixture();
    let before = holdings(&state);
    let token = admin.then_some(secret.as_str());
    let (got, json, text) = send(&state, method, uri, token, content_type, body).await;
    assert_eq!(got.as_u16(), status, "{method} {uri}: {text}");
    assert!(
        json["error"].is_string(),
        "{method} {uri}: no 'error' in {text}"
    );
    for needle in needles {
        assert!(
            text.contains(needle),
            "{method} {uri}: the answer does not name the problem ({needle}): {text}"
        );
    }
    assert_eq!(
        holdings(&state),
        before,
        "{method} {uri} wrote to the store"
    );
}
