//! `POST /api/households` through `app(state)`: authentication and roles,
//! scope of CHA and facility tokens, atomic uploads (422, nothing written),
//! `on_error=skip`, upserts on the submission id, the access log and the
//! catalog version. Bodies are small KoBoToolbox-layout CSV exports (`;`) and
//! GeoJSON with synthetic households; expectations are written by hand.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_core::auth::{Access, MemoryTokenStore, Role, TokenStore};
use chaski_core::household::places::Place;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_server::routes::households::UPLOAD_ENDPOINT as ENDPOINT;
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use tower::ServiceExt;

const SECTOR: &str = "SYN-CP01-S1";
const FACILITY: &str = "SYN-00001";

struct Fx {
    state: AppState,
    tokens: Arc<MemoryTokenStore>,
    admin: (String, String),
    analyst: String,
    cha: (String, String),
    facility: String,
}

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

fn fx() -> Fx {
    let store = MemoryStore::new();
    store
        .write_layer(
            &point_layer("communities", LayerKind::Communities, "SYN-CP01"),
            WriteMode::Replace,
        )
        .unwrap();
    store
        .write_layer(
            &point_layer("facilities", LayerKind::Facilities, FACILITY),
            WriteMode::Replace,
        )
        .unwrap();
    let config = ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        ..ServerConfig::default()
    };
    let tokens = Arc::new(MemoryTokenStore::new());
    let mk = |role, scope: Option<&str>| {
        let (t, secret) = tokens
            .create(
                &Access::new(role, scope.map(str::to_owned), false).unwrap(),
                Some("test"),
            )
            .unwrap();
        (t.id, secret)
    };
    // The CHA sector and the facility of the synthetic rows, in community SYN-CP01.
    tokens
        .add_places(&[Place::new(FACILITY, SECTOR, "SYN-CP01")])
        .unwrap();
    let admin = mk(Role::Admin, None);
    let analyst = mk(Role::Analyst, None).1;
    let cha = mk(Role::Cha, Some(SECTOR));
    let facility = mk(Role::Facility, Some(FACILITY)).1;
    let state = AppState::new(Arc::new(store), config)
        .unwrap()
        .with_tokens(tokens.clone());
    Fx {
        state,
        tokens,
        admin,
        analyst,
        cha,
        facility,
    }
}

/// One synthetic household row of a KoBo export.
struct Row {
    code: &'static str,
    sector: &'static str,
    facility: &'static str,
    consent: &'static str,
    lat: f64,
    lon: f64,
    accuracy: f64,
    members: u32,
    uuid: &'static str,
}

fn row(code: &'static str, uuid: &'static str) -> Row {
    Row {
        code,
        sector: SECTOR,
        facility: FACILITY,
        consent: "si",
        lat: -13.1584,
        lon: -74.2239,
        accuracy: 5.0,
        members: 4,
        uuid,
    }
}

fn kobo(rows: &[Row]) -> String {
    let mut s = String::from(
        "today;consentimiento/acepta;identificacion/codigo_hogar;identificacion/comunidad;\
         identificacion/establecimiento;identificacion/sector;gps;_gps_latitude;_gps_longitude;\
         _gps_altitude;_gps_precision;hogar/miembros;hogar/gestantes;salud/anemia;_id;_uuid;\
         _submission_time;_submitted_by\n",
    );
    for (i, r) in rows.iter().enumerate() {
        writeln!(
            s,
            "2026-04-10;{};{};SYN-CP01;{};{};{} {} 2760 {};{};{};2760;{};{};1;si;{};{};\
             2026-04-10T13:00:00;syntheticuser",
            r.consent,
            r.code,
            r.facility,
            r.sector,
            r.lat,
            r.lon,
            r.accuracy,
            r.lat,
            r.lon,
            r.accuracy,
            r.members,
            318_200 + i,
            r.uuid,
        )
        .unwrap();
    }
    s
}

struct Reply {
    status: StatusCode,
    json: Value,
}

async fn post(st: &AppState, uri: &str, auth: Option<&str>, ct: &str, body: String) -> Reply {
    let mut req = Request::post(uri).header(header::CONTENT_TYPE, ct);
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, format!("Bearer {a}"));
    }
    let res = app(st.clone())
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    Reply { status, json }
}

fn households(st: &AppState) -> Option<Layer> {
    st.store.read_layer("households").ok()
}

fn value<'a>(l: &'a Layer, code: &str, field: &str) -> &'a FieldValue {
    let f = l
        .features
        .iter()
        .find(|f| l.value(f, "code") == &FieldValue::Text(code.into()))
        .unwrap();
    l.value(f, field)
}

#[tokio::test]
async fn tokens_and_roles() {
    let fx = fx();
    let st = &fx.state;
    let body = kobo(&[row("U-1", "u-1")]);
    let r = post(st, "/api/households", None, "text/csv", body.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.json);
    let r = post(
        st,
        "/api/households",
        Some("not-a-token"),
        "text/csv",
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.json);
    assert_eq!(r.json["error"], "invalid or revoked token");
    let r = post(
        st,
        "/api/households",
        Some(&fx.analyst),
        "text/csv",
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(
        r.json["error"],
        "a analyst token cannot write household records (admin, cha or facility only)"
    );
    let r = post(
        st,
        "/api/households?layer=hogares_x",
        Some(&fx.cha.1),
        "text/csv",
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    let r = post(
        st,
        "/api/households?layer=communities",
        Some(&fx.admin.1),
        "text/csv",
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    assert_eq!(
        r.json["error"],
        "layer 'communities' holds communities, not households"
    );
    let r = post(
        st,
        "/api/households?on_error=maybe",
        Some(&fx.admin.1),
        "text/csv",
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    assert!(households(st).is_none(), "nothing written");
    // Refused attempts are logged (token id if any, endpoint, status, reason), nothing served.
    let log = fx.tokens.access_log().unwrap();
    let seen: Vec<(bool, u16, u64)> = log
        .iter()
        .map(|e| (e.who.is_some(), e.status, e.count))
        .collect();
    // No token, a wrong token (no id), the analyst, the CHA choosing a layer.
    assert_eq!(
        seen,
        [
            (false, 401, 0),
            (false, 401, 0),
            (true, 403, 0),
            (true, 403, 0)
        ]
    );
    assert_eq!(log[3].who.as_deref(), Some(fx.cha.0.as_str()));
    assert!(
        log[2]
            .detail
            .as_deref()
            .unwrap()
            .contains("analyst token cannot write")
    );
}

#[tokio::test]
async fn admin_upload_then_reupload_updates() {
    let fx = fx();
    let st = &fx.state;
    let v0 = st.catalog().version;
    let rows = [row("U-1", "uuid-1"), row("U-2", "uuid-2")];
    let r = post(
        st,
        "/api/households",
        Some(&fx.admin.1),
        "text/csv",
        kobo(&rows),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(r.json["inserted"], 2);
    assert_eq!(r.json["updated"], 0);
    assert_eq!(r.json["rejected"], json!([]));
    assert_eq!(r.json["warnings"], json!([]));
    let l = households(st).unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(value(&l, "U-1", "members"), &FieldValue::Int(4));
    assert_eq!(
        value(&l, "U-1", "submission_uuid"),
        &FieldValue::Text("uuid-1".into())
    );
    // pregnant woman with anaemia → alto
    assert_eq!(
        value(&l, "U-2", "risk_level"),
        &FieldValue::Text("alto".into())
    );
    // The catalog follows the store's new version before the answer (which
    // does not show it: the version counts every scope's writes).
    assert!(r.json.get("version").is_none());
    assert_eq!(st.catalog().version, st.store.version().unwrap());
    assert!(st.catalog().version > v0);

    // The same submissions again, corrected: updated, not duplicated.
    let mut again = [row("U-1", "uuid-1"), row("U-2", "uuid-2")];
    again[0].members = 6;
    let r = post(
        st,
        "/api/households",
        Some(&fx.admin.1),
        "text/csv",
        kobo(&again),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(
        (r.json["inserted"].clone(), r.json["updated"].clone()),
        (json!(0), json!(2))
    );
    let l = households(st).unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(value(&l, "U-1", "members"), &FieldValue::Int(6));

    // Both uploads are in the access log: token id, endpoint, count.
    let log: Vec<(Option<String>, String, u64)> = fx
        .tokens
        .access_log()
        .unwrap()
        .into_iter()
        .map(|e| (e.who, e.what, e.count))
        .collect();
    let who = Some(fx.admin.0.clone());
    assert_eq!(
        log,
        [
            (who.clone(), ENDPOINT.to_owned(), 2),
            (who, ENDPOINT.to_owned(), 2)
        ]
    );
}

#[tokio::test]
async fn cha_uploads_only_its_sector() {
    let fx = fx();
    let st = &fx.state;
    let mut other = row("U-3", "uuid-3");
    other.sector = "SYN-CP02-S1";
    let mut other2 = row("U-4", "uuid-4");
    other2.sector = "SYN-CP02-S4";
    let body = kobo(&[row("U-1", "uuid-1"), other, other2]);
    let r = post(st, "/api/households", Some(&fx.cha.1), "text/csv", body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(
        r.json["error"],
        "rows 3 and 4 are outside your scope (cha token 'SYN-CP01-S1'): nothing was written. \
         row 3: field 'cha_sector': not your CHA sector 'SYN-CP01-S1': a cha token writes only \
         its own sector's households; row 4: field 'cha_sector': not your CHA sector \
         'SYN-CP01-S1': a cha token writes only its own sector's households"
    );
    assert!(households(st).is_none());
    let r = post(
        st,
        "/api/households",
        Some(&fx.cha.1),
        "text/csv",
        kobo(&[row("U-1", "uuid-1")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(households(st).unwrap().len(), 1);
    let log = fx.tokens.access_log().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].status, log[1].status), (403, 200));
    assert_eq!(log[1].who.as_deref(), Some(fx.cha.0.as_str()));
}

#[tokio::test]
async fn facility_uploads_only_its_facility() {
    let fx = fx();
    let st = &fx.state;
    let mut other = row("U-2", "uuid-2");
    other.facility = "SYN-00002";
    let body = kobo(&[row("U-1", "uuid-1"), other]);
    let r = post(st, "/api/households", Some(&fx.facility), "text/csv", body).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert_eq!(
        r.json["error"],
        "row 3 is outside your scope (facility token 'SYN-00001'): nothing was written. row 3: \
         field 'facility': not your facility 'SYN-00001': a facility token writes only its own \
         households"
    );
    assert!(households(st).is_none());
    let body = kobo(&[row("U-1", "uuid-1")]);
    let r = post(st, "/api/households", Some(&fx.facility), "text/csv", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
}

fn mixed() -> String {
    let mut no = row("U-2", "uuid-2");
    no.consent = "no";
    let mut zero = row("U-3", "uuid-3");
    zero.lat = 0.0;
    zero.lon = 0.0;
    let mut vague = row("U-4", "uuid-4");
    vague.accuracy = 30.0;
    kobo(&[row("U-1", "uuid-1"), no, zero, vague])
}

fn expected_rejected() -> Value {
    json!([
        {"row": 4, "field": "longitude", "reason": "coordinates are 0,0 (a missing GPS fix)"},
    ])
}

#[tokio::test]
async fn any_invalid_row_rejects_the_whole_upload() {
    let fx = fx();
    let st = &fx.state;
    let v0 = st.store.version().unwrap();
    let r = post(
        st,
        "/api/households",
        Some(&fx.admin.1),
        "text/csv",
        mixed(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.json);
    assert_eq!(r.json["rejected"], expected_rejected());
    assert_eq!(
        r.json["error"],
        "1 of 4 rows are invalid: nothing was written (fix them, or send ?on_error=skip to \
         store the valid ones)"
    );
    assert_eq!(
        r.json["warnings"],
        json!([{"row": 5, "field": "gps_accuracy",
                "reason": "GPS accuracy 30 m is over 25 m; kept and flagged low_accuracy"}])
    );
    assert!(households(st).is_none());
    assert_eq!(st.store.version().unwrap(), v0);
    assert!(fx.tokens.access_log().unwrap().is_empty());
}

#[tokio::test]
async fn on_error_skip_stores_the_valid_rows() {
    let fx = fx();
    let st = &fx.state;
    let r = post(
        st,
        "/api/households?on_error=skip",
        Some(&fx.admin.1),
        "text/csv",
        mixed(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(r.json["inserted"], 2);
    assert_eq!(r.json["rejected"], expected_rejected());
    // Row 3 (consent = no) is a withdrawal: nothing of U-2 was stored to delete.
    assert_eq!(
        r.json["deleted"],
        json!([{"row": 3, "code": "U-2", "records": []}])
    );
    let l = households(st).unwrap();
    let codes: Vec<&FieldValue> = l.features.iter().map(|f| l.value(f, "code")).collect();
    assert_eq!(codes, [&FieldValue::from("U-1"), &FieldValue::from("U-4")]);
    assert_eq!(value(&l, "U-4", "low_accuracy"), &FieldValue::Bool(true));
    assert_eq!(value(&l, "U-1", "low_accuracy"), &FieldValue::Bool(false));
    let log = fx.tokens.access_log().unwrap();
    assert_eq!((log[0].what.as_str(), log[0].count), (ENDPOINT, 2));
}

#[tokio::test]
async fn geojson_upload() {
    let fx = fx();
    let st = &fx.state;
    let feature = |code: &str, community: &str| {
        json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-74.2239, -13.1584]},
             "properties": {"code": code, "cha_sector": SECTOR, "facility": FACILITY,
                            "community": community, "consent": "si", "members": 3,
                            "submission_uuid": format!("uuid:{}", code.to_lowercase())}}]})
        .to_string()
    };
    // An admin may write a community the store does not know (with a warning).
    let r = post(
        st,
        "/api/households",
        Some(&fx.admin.1),
        "application/geo+json",
        feature("A-1", "SYN-CP77"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(
        r.json["warnings"],
        json!([{"row": 1, "field": "community",
                "reason": "unknown community code 'SYN-CP77' (not in the store's community layers)"}])
    );
    // A CHA writes its registered community, then updates by the submission id.
    let body = feature("G-1", "SYN-CP01");
    let r = post(
        st,
        "/api/households",
        Some(&fx.cha.1),
        "application/geo+json",
        body.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!(r.json["warnings"], json!([]));
    let r = post(
        st,
        "/api/households",
        Some(&fx.cha.1),
        "application/json",
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["updated"], 1);
    let l = households(st).unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(
        value(&l, "G-1", "submission_uuid"),
        &FieldValue::from("g-1")
    );
    // Unsupported body types are refused before anything is read.
    let r = post(
        st,
        "/api/households",
        Some(&fx.admin.1),
        "image/png",
        "x".into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
}

/// With the GeoPackage store, the records are committed when the 2xx arrives:
/// a second connection to the file sees them.
#[tokio::test]
async fn committed_before_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.gpkg");
    let store = chaski_io::store::gpkg::GpkgStore::open(&path).unwrap();
    store
        .write_layer(
            &point_layer("communities", LayerKind::Communities, "SYN-CP01"),
            WriteMode::Replace,
        )
        .unwrap();
    let tokens = Arc::new(MemoryTokenStore::new());
    let (_, secret) = tokens
        .create(&Access::new(Role::Admin, None, false).unwrap(), None)
        .unwrap();
    let config = ServerConfig {
        styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
        ..ServerConfig::default()
    };
    let state = AppState::new(Arc::new(store), config)
        .unwrap()
        .with_tokens(tokens);
    let body = kobo(&[row("U-1", "uuid-1"), row("U-2", "uuid-2")]);
    let r = post(&state, "/api/households", Some(&secret), "text/csv", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let other = chaski_io::store::gpkg::GpkgStore::open(&path).unwrap();
    let l = other.read_layer("households").unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!(
        value(&l, "U-2", "submission_uuid"),
        &FieldValue::from("uuid-2")
    );
}
