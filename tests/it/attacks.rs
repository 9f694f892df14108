//! The household attacks of the privacy review, each tried as an attacker
//! would through `app(state)` on the demo region, and shown to fail: writes
//! into another scope by code, by submission id or by planting; violence risk
//! inferred from `risk_level`; the public summary moved by uploads; floods;
//! names and ID numbers stored; consent that cannot be withdrawn; cached
//! household answers; refusals without an audit row; a failing access log.
//! Plus a property test over random upload sequences by scoped tokens.
//! Expectations are computed from the demo layer in each test, not with the
//! server's own code.

use crate::support::{FailingLog, Reply, bearer, call, config, demo_store, get, tile_xy};
use axum::http::{StatusCode, header};
use chaski_core::auth::Access;
use chaski_core::auth::{AccessEntry, MemoryTokenStore, Role, Token, TokenStore};
use chaski_core::household::places::{Place, Places};
use chaski_core::household::{Violence, derive_risk_level};
use chaski_core::layer::{Feature, Layer};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_server::ServerConfig;
use chaski_server::state::AppState;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

async fn upload(state: &AppState, query: &str, token: &str, csv: String) -> Reply {
    call(
        state,
        "POST",
        &format!("/api/households{query}"),
        Some(&bearer(token)),
        Some(("text/csv", csv)),
    )
    .await
}

fn text(layer: &Layer, f: &Feature, field: &str) -> String {
    match layer.value(f, field) {
        FieldValue::Text(t) => t.clone(),
        FieldValue::Null => String::new(),
        other => other.to_string(),
    }
}

/// One household row of an upload.
#[derive(Clone, Debug)]
struct Row {
    code: String,
    sector: String,
    facility: String,
    community: String,
    lon: f64,
    lat: f64,
    consent: &'static str,
    members: i64,
    uuid: String,
}

fn csv(rows: &[Row], extra: &[(&str, &str)]) -> String {
    let mut s =
        String::from("code,community,facility,cha_sector,lat,lon,consent,members,submission_uuid");
    for (name, _) in extra {
        let _ = write!(s, ",{name}");
    }
    s.push('\n');
    for r in rows {
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{}",
            r.code, r.community, r.facility, r.sector, r.lat, r.lon, r.consent, r.members, r.uuid
        );
        for (_, v) in extra {
            let _ = write!(s, ",{v}");
        }
        s.push('\n');
    }
    s
}

/// Where a CHA sector's households are: its facility and community (from the data).
#[derive(Clone, Debug)]
struct Sector {
    code: String,
    facility: String,
    community: String,
    /// The community's location in the public communities layer.
    at: (f64, f64),
}

struct Demo {
    state: AppState,
    tokens: Arc<MemoryTokenStore>,
    households: Layer,
    a: Sector,
    b: Sector,
    admin: (Token, String),
    admin_violence: (Token, String),
    analyst: (Token, String),
    cha_a: (Token, String),
    cha_b: (Token, String),
    facility_a: (Token, String),
    /// A facility other than A's.
    facility_g: (Token, String),
    g: String,
}

fn demo_with(
    store: MemoryStore,
    households: Layer,
    communities: &Layer,
    cfg: ServerConfig,
) -> Demo {
    // Sectors by household count; A and B in different communities and facilities.
    let mut by_sector: BTreeMap<String, (usize, String, String)> = BTreeMap::new();
    for f in &households.features {
        let e = by_sector
            .entry(text(&households, f, "cha_sector"))
            .or_insert((
                0,
                text(&households, f, "facility"),
                text(&households, f, "community"),
            ));
        e.0 += 1;
    }
    let at = |community: &str| {
        let f = communities
            .features
            .iter()
            .find(|f| text(communities, f, "code") == community)
            .unwrap();
        let geo::Geometry::Point(p) = &f.geometry else {
            panic!("community not a point")
        };
        (p.x(), p.y())
    };
    let sector = |(code, (_, facility, community)): (&String, &(usize, String, String))| Sector {
        code: code.clone(),
        facility: facility.clone(),
        community: community.clone(),
        at: at(community),
    };
    let a = by_sector
        .iter()
        .find(|(_, (n, _, _))| *n >= 10)
        .map(sector)
        .unwrap();
    let b = by_sector
        .iter()
        .find(|(_, (n, f, c))| *n >= 5 && *f != a.facility && *c != a.community)
        .map(sector)
        .unwrap();
    let g = b.facility.clone();
    let tokens = Arc::new(MemoryTokenStore::new());
    // The places of the demo's households, as `chaski demo --load` registers them.
    tokens
        .add_places(&Places::default().missing_from(&households))
        .unwrap();
    let mk = |role, scope: Option<&str>, violence| {
        tokens
            .create(
                &Access::new(role, scope.map(str::to_owned), violence).unwrap(),
                Some("test"),
            )
            .unwrap()
    };
    Demo {
        admin: mk(Role::Admin, None, false),
        admin_violence: mk(Role::Admin, None, true),
        analyst: mk(Role::Analyst, None, false),
        cha_a: mk(Role::Cha, Some(&a.code), false),
        cha_b: mk(Role::Cha, Some(&b.code), false),
        facility_a: mk(Role::Facility, Some(&a.facility), false),
        facility_g: mk(Role::Facility, Some(&g), false),
        state: AppState::new(Arc::new(store), cfg)
            .unwrap()
            .with_tokens(tokens.clone())
            .with_cluster_tile_options(chaski_analysis::clusters::ClusterOptions {
                replicates: 99,
                ..chaski_server::clusters::tile_cluster_options()
            }),
        tokens,
        households,
        a,
        b,
        g,
    }
}

fn demo() -> Demo {
    let (store, households, communities) = demo_store();
    demo_with(store, households, &communities, config())
}

fn row(code: &str, s: &Sector, consent: &'static str) -> Row {
    Row {
        code: code.to_owned(),
        sector: s.code.clone(),
        facility: s.facility.clone(),
        community: s.community.clone(),
        lon: s.at.0 + 0.0004,
        lat: s.at.1 - 0.0003,
        consent,
        members: 4,
        uuid: String::new(),
    }
}

fn stored(st: &AppState) -> Layer {
    st.store.read_layer("households").unwrap()
}

/// The stored records outside a scope, by fid (geometry and values as stored).
fn outside(layer: &Layer, keep: impl Fn(&Feature) -> bool) -> BTreeMap<i64, String> {
    layer
        .features
        .iter()
        .filter(|f| !keep(f))
        .map(|f| (f.fid, format!("{:?} {:?}", f.geometry, f.values)))
        .collect()
}

fn first_of(layer: &Layer, sector: &str) -> Feature {
    layer
        .features
        .iter()
        .find(|f| text(layer, f, "cha_sector") == sector)
        .unwrap()
        .clone()
}

/// Foreign code, foreign submission id, a facility overwriting or planting:
/// each is a new record of the caller's scope or a 403, answered exactly as
/// a code that exists nowhere, and nothing outside the scope changes.
#[tokio::test]
async fn writes_by_foreign_code_uuid_or_planting_change_nothing_outside() {
    let fx = demo();
    let st = &fx.state;
    // The victim: a household of sector B with a submission id, as an admin import leaves it.
    let victim_code = "VICTIM-1".to_owned();
    let victim_uuid = "victim-uuid-1".to_owned();
    let mut seed = row(&victim_code, &fx.b, "si");
    seed.uuid.clone_from(&victim_uuid);
    let r = upload(st, "", &fx.admin.1, csv(&[seed], &[])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let before = stored(st);
    let victim = before
        .features
        .iter()
        .find(|f| text(&before, f, "code") == victim_code)
        .unwrap()
        .clone();
    let in_a = |f: &Feature| text(&before, f, "cha_sector") == fx.a.code;
    let foreign = outside(&before, in_a);

    // 1. A CHA posts another sector's household code: a new record of its own.
    let r1 = upload(
        st,
        "",
        &fx.cha_a.1,
        csv(&[row(&victim_code, &fx.a, "si")], &[]),
    )
    .await;
    let r2 = upload(
        st,
        "",
        &fx.cha_a.1,
        csv(&[row("NEVER-SEEN-1", &fx.a, "si")], &[]),
    )
    .await;
    assert_eq!(r1.status, StatusCode::CREATED, "{}", r1.text());
    assert_eq!((r1.status, r1.json()), (r2.status, r2.json()));
    assert_eq!(r1.json()["inserted"], 1);
    assert_eq!(r1.json()["updated"], 0);
    // 2. Another sector's submission id with a new code: a new record too.
    let mut by_uuid = row("NEW-BY-UUID", &fx.a, "si");
    by_uuid.uuid.clone_from(&victim_uuid);
    let mut fresh_uuid = row("NEW-BY-UUID-2", &fx.a, "si");
    fresh_uuid.uuid = "never-seen-uuid".into();
    let r1 = upload(st, "", &fx.cha_a.1, csv(&[by_uuid], &[])).await;
    let r2 = upload(st, "", &fx.cha_a.1, csv(&[fresh_uuid], &[])).await;
    assert_eq!(r1.status, StatusCode::CREATED, "{}", r1.text());
    assert_eq!((r1.status, r1.json()), (r2.status, r2.json()));
    let after = stored(st);
    assert_eq!(
        outside(&after, |f| text(&after, f, "cha_sector") == fx.a.code),
        foreign
    );

    // 3. A facility token: overwriting another facility's household by code, or
    // planting rows into another facility's CHA sector.
    let g_sector = fx.b.clone();
    let mut over = row(&victim_code, &g_sector, "si");
    over.facility.clone_from(&fx.a.facility);
    let r = upload(st, "", &fx.facility_a.1, csv(&[over], &[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("field 'community'"),
        "{}",
        r.text()
    );
    let mut planted = row("PLANTED-1", &g_sector, "si");
    planted.facility = String::new();
    let r = upload(st, "", &fx.facility_a.1, csv(&[planted], &[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let mut other_facility = row("PLANTED-2", &fx.a, "si");
    other_facility.facility.clone_from(&fx.g);
    let r = upload(st, "", &fx.facility_a.1, csv(&[other_facility], &[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("field 'facility'")
    );
    // The victim's own facility writing the same code in its own sector updates it.
    let r = upload(
        st,
        "",
        &fx.facility_g.1,
        csv(&[row(&victim_code, &fx.b, "si")], &[]),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["updated"].clone()),
        (StatusCode::OK, json!(1))
    );

    // Nothing outside sector A changed through A's or facility A's writes.
    let after = stored(st);
    let mut foreign_after = outside(&after, |f| text(&after, f, "cha_sector") == fx.a.code);
    let mut foreign_before = foreign;
    // ...except the victim, which its own facility updated last.
    foreign_after.remove(&victim.fid);
    foreign_before.remove(&victim.fid);
    assert_eq!(foreign_after, foreign_before);
    // Codes are unique per sector: the victim's code now exists in both sectors.
    let holders: BTreeSet<String> = after
        .features
        .iter()
        .filter(|f| text(&after, f, "code") == victim_code)
        .map(|f| text(&after, f, "cha_sector"))
        .collect();
    assert_eq!(
        holders,
        BTreeSet::from([fx.a.code.clone(), fx.b.code.clone()])
    );
}

/// The demo with every household's violence risk flipped, and its stored
/// level derived again with it, as the source would have recorded it.
fn flipped(households: &Layer) -> Layer {
    let mut out = households.clone();
    let vi = out.field_index("violence_risk").unwrap();
    let ri = out.field_index("risk_level").unwrap();
    let shape = out.clone();
    for f in &mut out.features {
        let v = f.values[vi].as_bool().unwrap_or(false);
        f.values[vi] = FieldValue::Bool(!v);
        f.values[ri] = derive_risk_level(&shape, &f.values, Violence::Known)
            .as_str()
            .into();
    }
    out
}

/// `risk_level` told violence risk apart (alto with no other reason); for
/// callers without the grant it is now derived as if violence risk were
/// unknown. Shown over every demo household: flipping every violence risk
/// changes nothing any caller without the grant sees (records, tiles,
/// clusters), while the granted admin sees the change.
#[tokio::test]
async fn risk_level_reveals_no_violence_risk() {
    let (store, households, communities) = demo_store();
    // The attack on the stored data: alto with no other reason picks out violence risk.
    let vi = |l: &Layer, f: &Feature| l.value(f, "violence_risk") == &FieldValue::Bool(true);
    let picked: Vec<bool> = households
        .features
        .iter()
        .filter(|f| {
            let l = &households;
            let yes = |n: &str| l.value(f, n) == &FieldValue::Bool(true);
            let pregnant = l.value(f, "pregnant").as_i64().unwrap_or(0) > 0;
            let other_reason =
                yes("danger_signs") || yes("malnutrition") || (pregnant && yes("anaemia"));
            text(l, f, "risk_level") == "alto" && !other_reason
        })
        .map(|f| vi(&households, f))
        .collect();
    assert!(picked.len() > 100, "{}", picked.len());
    assert!(
        picked.iter().all(|&v| v),
        "the stored level exposes violence risk exactly"
    );

    let one = demo_with(store, households.clone(), &communities, config());
    let store2 = MemoryStore::new();
    for info in one.state.store.layers().unwrap() {
        let l = one.state.store.read_layer(&info.name).unwrap();
        let l = if info.name == "households" {
            flipped(&l)
        } else {
            l
        };
        store2.write_layer(&l, WriteMode::Replace).unwrap();
    }
    let two = AppState::new(Arc::new(store2), config())
        .unwrap()
        .with_tokens(one.tokens.clone())
        .with_cluster_tile_options(chaski_analysis::clusters::ClusterOptions {
            replicates: 99,
            ..chaski_server::clusters::tile_cluster_options()
        });
    let (x, y) = {
        let f = first_of(&households, &one.a.code);
        let geo::Geometry::Point(p) = f.geometry else {
            panic!()
        };
        tile_xy(p.x(), p.y(), 14)
    };
    let plain = [
        (&one.admin.1, "/api/households".to_owned()),
        (&one.cha_a.1, "/api/households".to_owned()),
        (&one.facility_a.1, "/api/households".to_owned()),
        (&one.cha_a.1, format!("/tiles/households/14/{x}/{y}")),
        (&one.admin.1, format!("/tiles/households/14/{x}/{y}")),
        (
            &one.analyst.1,
            "/api/clusters?method=dbscan&flags=risk_level=alto&eps_m=300&min_points=4".to_owned(),
        ),
        (
            &one.cha_a.1,
            "/api/clusters?method=dbscan&flags=risk_level=alto&eps_m=300&min_points=2&members=true"
                .to_owned(),
        ),
    ];
    for (token, uri) in plain {
        let r1 = get(&one.state, &uri, Some(&bearer(token))).await;
        let r2 = get(&two, &uri, Some(&bearer(token))).await;
        assert_eq!(r1.status, StatusCode::OK, "{uri}: {}", r1.text());
        assert!(!r1.body.is_empty(), "{uri}");
        assert!(
            r1.body == r2.body,
            "{uri}: the answer depends on violence risk"
        );
        assert!(!r1.text().contains("\"violence_risk\":"), "{uri}");
    }
    // The granted admin sees the flip (the test would catch a no-op).
    let r1 = get(
        &one.state,
        "/api/households",
        Some(&bearer(&one.admin_violence.1)),
    )
    .await;
    let r2 = get(
        &two,
        "/api/households",
        Some(&bearer(&one.admin_violence.1)),
    )
    .await;
    assert_ne!(r1.body, r2.body);
    // Every record a caller without the grant sees has the level of its visible flags.
    let r = get(&one.state, "/api/households", Some(&bearer(&one.admin.1)))
        .await
        .json();
    let shape = Layer::new("households", chaski_core::LayerKind::Households);
    for f in r["features"].as_array().unwrap() {
        let p = &f["properties"];
        let mut values = vec![FieldValue::Null; shape.fields.len()];
        for (i, field) in shape.fields.iter().enumerate() {
            values[i] = match &p[&field.name] {
                Value::Bool(b) => FieldValue::Bool(*b),
                Value::Number(n) => FieldValue::Int(n.as_i64().unwrap_or(0)),
                _ => FieldValue::Null,
            };
        }
        let want = derive_risk_level(&shape, &values, Violence::Unknown);
        assert_eq!(p["risk_level"], want.as_str(), "{p}");
    }
}

/// A CHA cannot write households into another sector's community, so the
/// public summary cannot be moved (3 + 2 = 5) by its uploads.
#[tokio::test]
async fn uploads_cannot_move_the_summary_of_other_communities() {
    let fx = demo();
    let st = &fx.state;
    let summary = "/api/households/summary?by=community";
    let before = get(st, summary, None).await;
    assert_eq!(before.status, StatusCode::OK);
    // Communities with households, none of them the CHA's.
    let theirs: BTreeSet<String> = fx
        .households
        .features
        .iter()
        .map(|f| text(&fx.households, f, "community"))
        .filter(|c| *c != fx.a.community)
        .collect();
    for community in theirs.iter().take(5) {
        let mut rows = vec![row("DIFF-1", &fx.a, "si"), row("DIFF-2", &fx.a, "si")];
        for r in &mut rows {
            r.community.clone_from(community);
        }
        let r = upload(st, "", &fx.cha_a.1, csv(&rows, &[])).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{community}: {}", r.text());
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("field 'community'")
        );
        let after = get(st, summary, None).await;
        assert_eq!(after.body, before.body, "{community}");
    }
}

/// Floods: every limit refuses with a JSON 4xx naming it, and nothing is written.
#[tokio::test]
async fn floods_are_refused_with_json_naming_the_limit() {
    let (store, households, communities) = demo_store();
    let fx = demo_with(
        store,
        households,
        &communities,
        ServerConfig {
            writes_per_hour: 6,
            ..config()
        },
    );
    let st = &fx.state;
    let v0 = st.store.version().unwrap();
    // 300,000 rows (about 14 MB).
    let big: Vec<Row> = (0..300_000)
        .map(|i| row(&format!("F-{i}"), &fx.a, "si"))
        .collect();
    let body = csv(&big, &[]);
    assert!(body.len() > 10_000_000);
    let r = upload(st, "", &fx.cha_a.1, body).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "application/json",
        "{}",
        r.text()
    );
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("max_upload_bytes")
    );
    // 6,000 small rows fit the body limit but not the row limit.
    let r = upload(st, "", &fx.cha_a.1, csv(&big[..6_000], &[])).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains("6000 rows") && e.contains("max_upload_rows"),
        "{e}"
    );
    // A 2 MB household code: the row is rejected, naming the field and the limit.
    let long = row(&"X".repeat(2 * 1024 * 1024), &fx.a, "si");
    let r = upload(st, "", &fx.cha_a.1, csv(&[long], &[])).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:.300}",
        r.text()
    );
    let rej = &r.json()["rejected"][0];
    assert_eq!(rej["field"], "code");
    assert!(rej["reason"].as_str().unwrap().contains("max_field_chars"));
    assert!(r.text().len() < 2000, "the long value is not echoed");
    assert_eq!(st.store.version().unwrap(), v0, "nothing written");
    // Writes per token and hour: the 7th write of the hour is a 429 with Retry-After.
    for i in 0..3 {
        let r = upload(
            st,
            "",
            &fx.cha_a.1,
            csv(&[row(&format!("R-{i}"), &fx.a, "si")], &[]),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = upload(st, "", &fx.cha_a.1, csv(&[row("R-9", &fx.a, "si")], &[])).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("writes_per_hour")
    );
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&wait), "{wait}");
    // Another token is not held back.
    let r = upload(st, "", &fx.cha_b.1, csv(&[row("R-B", &fx.b, "si")], &[])).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// Names, DNI, phones: refused (422 naming each column) unless left out;
/// other columns outside the schema are dropped with a warning.
#[tokio::test]
async fn personal_identifiers_are_never_stored() {
    let fx = demo();
    let st = &fx.state;
    let pii = [
        ("nombre_jefe_hogar", "Maria Quispe Huaman"),
        ("dni", "41234567"),
        ("telefono", "987654321"),
        ("name", "Maria"),
    ];
    let v0 = st.store.version().unwrap();
    let r = upload(st, "", &fx.cha_a.1, csv(&[row("P-1", &fx.a, "si")], &pii)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap().to_owned();
    for (col, what) in [
        ("nombre_jefe_hogar", "a person's name"),
        ("dni", "an identity document number"),
        ("telefono", "a phone number"),
        ("name", "a person's name"),
    ] {
        assert!(e.contains(&format!("'{col}' ({what})")), "{e}");
    }
    assert!(!r.text().contains("Quispe") && !r.text().contains("41234567"));
    assert_eq!(st.store.version().unwrap(), v0);
    // Left out explicitly: stored without them.
    let r = upload(
        st,
        "?drop=nombre_jefe_hogar,dni,telefono,name",
        &fx.cha_a.1,
        csv(&[row("P-1", &fx.a, "si")], &pii),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // A column outside the schema: dropped, with a warning that lists it.
    let r = upload(
        st,
        "",
        &fx.cha_a.1,
        csv(
            &[row("P-2", &fx.a, "si")],
            &[("observacion_libre", "vive con su suegra")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["dropped_columns"], json!(["observacion_libre"]));
    assert!(r.text().contains("observacion_libre"));
    let l = stored(st);
    for f in [
        "nombre_jefe_hogar",
        "dni",
        "telefono",
        "name",
        "observacion_libre",
    ] {
        assert!(l.field_index(f).is_none(), "{f} stored");
    }
    let all = get(st, "/api/households", Some(&bearer(&fx.admin.1)))
        .await
        .text();
    assert!(!all.contains("Quispe") && !all.contains("987654321") && !all.contains("suegra"));
}

/// Consent withdrawal: a re-upload with consent = no and `DELETE` delete the
/// household in the caller's scope, say what was deleted, and are logged
/// without the deleted data; another scope's household is answered as one
/// that does not exist.
#[tokio::test]
async fn consent_withdrawal_deletes_in_scope_only() {
    let fx = demo();
    let st = &fx.state;
    let l = stored(st);
    let mine: Vec<&Feature> = l
        .features
        .iter()
        .filter(|f| text(&l, f, "cha_sector") == fx.a.code)
        .collect();
    let (c1, c2) = (text(&l, mine[0], "code"), text(&l, mine[1], "code"));
    let theirs = text(&l, &first_of(&l, &fx.b.code), "code");
    let n0 = l.len();

    // Re-upload with consent = no: the record is deleted (no point needed).
    let mut no = row(&c1, &fx.a, "no");
    (no.lon, no.lat) = (0.0, 0.0);
    let r = upload(st, "", &fx.cha_a.1, csv(&[no], &[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let d = &r.json()["deleted"][0];
    assert_eq!(
        (d["row"].clone(), d["code"].clone()),
        (json!(2), json!(c1.clone()))
    );
    assert_eq!(d["records"].as_array().unwrap().len(), 1);
    assert_eq!(d["records"][0]["cha_sector"], fx.a.code.as_str());
    assert!(
        d["records"][0].get("anaemia").is_none(),
        "no health data in the answer"
    );
    assert_eq!(stored(st).len(), n0 - 1);

    // DELETE in scope.
    let r = call(
        st,
        "DELETE",
        &format!("/api/households/{c2}"),
        Some(&bearer(&fx.cha_a.1)),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["deleted"], 1);
    assert_eq!(r.json()["records"][0]["code"], c2.as_str());
    assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
    assert_eq!(stored(st).len(), n0 - 2);

    // Another sector's household: 404, as a code that exists nowhere.
    let foreign = call(
        st,
        "DELETE",
        &format!("/api/households/{theirs}"),
        Some(&bearer(&fx.cha_a.1)),
        None,
    )
    .await;
    let none = call(
        st,
        "DELETE",
        "/api/households/NOWHERE-1",
        Some(&bearer(&fx.cha_a.1)),
        None,
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(
        foreign.text().replace(&theirs, "CODE"),
        none.text().replace("NOWHERE-1", "CODE")
    );
    // So is a consent = no row naming it from another sector: refused, nothing deleted.
    let r = upload(st, "", &fx.cha_a.1, csv(&[row(&theirs, &fx.b, "no")], &[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(stored(st).len(), n0 - 2);
    // The analyst deletes nothing.
    let r = call(
        st,
        "DELETE",
        &format!("/api/households/{theirs}"),
        Some(&bearer(&fx.analyst.1)),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Logged by token id and count, never with the code.
    let log = fx.tokens.access_log().unwrap();
    let deletions: Vec<&AccessEntry> = log
        .iter()
        .filter(|e| e.status == 200 && e.count > 0)
        .collect();
    let seen: Vec<(&str, u64)> = deletions
        .iter()
        .map(|e| (e.what.as_str(), e.count))
        .collect();
    assert_eq!(
        seen,
        [
            ("POST /api/households", 1),
            ("DELETE /api/households/{code}", 1)
        ]
    );
    assert!(
        deletions
            .iter()
            .all(|e| e.who.as_deref() == Some(fx.cha_a.0.id.as_str()))
    );
    assert!(
        deletions
            .iter()
            .all(|e| e.detail.as_deref().unwrap().ends_with("deleted 1"))
    );
    for e in &log {
        let line = format!("{e:?}");
        for code in [&c1, &c2, &theirs] {
            assert!(!line.contains(code.as_str()), "{line}");
        }
    }
}

/// Every household answer, errors included, is `private, no-store`, and every
/// refused attempt is in the access log with the token id (if any) and reason.
#[tokio::test]
async fn household_answers_are_not_cached_and_refusals_are_audited() {
    let fx = demo();
    let st = &fx.state;
    let wrong = "chk_0000000000000000000000000000000000000000000000000000000000000000";
    let body = || Some(("text/csv", csv(&[row("C-1", &fx.a, "si")], &[])));
    let mut expected_refusals = Vec::new();
    for (who, token) in [
        (None, None),
        (None, Some(wrong)),
        (Some(&fx.analyst.0.id), Some(fx.analyst.1.as_str())),
        (Some(&fx.cha_b.0.id), Some(fx.cha_b.1.as_str())),
    ] {
        for (method, uri, with_body) in [
            ("GET", "/api/households", false),
            ("POST", "/api/households", true),
            ("DELETE", "/api/households/C-1", false),
            (
                "GET",
                "/api/clusters?flags=anaemia&members=true&method=dbscan",
                false,
            ),
        ] {
            let r = call(
                st,
                method,
                uri,
                token.map(bearer).as_deref(),
                if with_body { body() } else { None },
            )
            .await;
            assert_eq!(
                r.headers[header::CACHE_CONTROL],
                "private, no-store",
                "{method} {uri} {token:?}"
            );
            if matches!(r.status.as_u16(), 401 | 403) {
                expected_refusals.push((who.cloned(), r.status.as_u16()));
            }
        }
    }
    // No token and a wrong token: 401 everywhere but GET households (403: aggregates only).
    let log = fx.tokens.access_log().unwrap();
    let refusals: Vec<(Option<String>, u16)> = log
        .iter()
        .filter(|e| e.status != 200)
        .map(|e| (e.who.clone(), e.status))
        .collect();
    assert_eq!(refusals, expected_refusals);
    assert!(refusals.len() >= 12, "{refusals:?}");
    for e in log.iter().filter(|e| e.status != 200) {
        assert!(!e.detail.as_deref().unwrap_or("").is_empty(), "{e:?}");
        assert!(
            !e.detail.as_deref().unwrap_or("").contains(wrong),
            "token logged"
        );
        assert_eq!(e.count, 0);
    }
    // A served answer is not cached either.
    let r = get(st, "/api/households", Some(&bearer(&fx.cha_a.1))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
}

/// If the access log cannot be written, no household byte is sent.
#[tokio::test]
async fn a_failing_access_log_sends_no_household_byte() {
    let (store, households, _) = demo_store();
    let tokens = FailingLog(MemoryTokenStore::new());
    tokens
        .add_places(&Places::default().missing_from(&households))
        .unwrap();
    let (_, admin) = tokens
        .create(&Access::new(Role::Admin, None, true).unwrap(), None)
        .unwrap();
    let st = AppState::new(Arc::new(store), config())
        .unwrap()
        .with_tokens(Arc::new(tokens));
    let marks: Vec<String> = std::iter::once("DEMO-H".to_owned())
        .chain(households.features.iter().take(50).flat_map(|f| {
            let geo::Geometry::Point(p) = f.geometry else {
                panic!()
            };
            [
                serde_json::to_string(&p.x()).unwrap(),
                serde_json::to_string(&p.y()).unwrap(),
            ]
        }))
        .collect();
    let f = &households.features[0];
    let geo::Geometry::Point(p) = f.geometry else {
        panic!()
    };
    let (x, y) = tile_xy(p.x(), p.y(), 12);
    for uri in [
        "/api/households".to_owned(),
        format!("/tiles/households/12/{x}/{y}"),
    ] {
        let r = get(&st, &uri, Some(&bearer(&admin))).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        assert_eq!(r.json()["error"], "internal server error");
        for m in &marks {
            assert!(!r.text().contains(m.as_str()), "{uri}: {m}");
        }
    }
}

mod property {
    //! Random upload sequences by scoped tokens, run twice: once on a store
    //! that also holds records outside the subject token's scope with the same
    //! codes and submission ids, once without them.
    use super::*;
    use proptest::prelude::*;

    const UNITS: [(&str, &str, &str); 4] = [
        ("F1", "S1", "CP01"),
        ("F1", "S2", "CP01"),
        ("F2", "S3", "CP02"),
        ("F2", "", "CP02"),
    ];
    /// Tokens: cha S1, cha S2, cha S3, facility F1, facility F2.
    const TOKENS: usize = 5;

    fn own_units(t: usize) -> Vec<usize> {
        match t {
            0..=2 => vec![t],
            3 => vec![0, 1],
            _ => vec![2, 3],
        }
    }

    fn in_scope(t: usize, l: &Layer, f: &Feature) -> bool {
        match t {
            0..=2 => text(l, f, "cha_sector") == UNITS[t].1,
            3 => text(l, f, "facility") == "F1",
            _ => text(l, f, "facility") == "F2",
        }
    }

    fn unit_row(unit: usize, code: usize, uuid: usize, members: i64, consent: &'static str) -> Row {
        let (facility, sector, community) = UNITS[unit];
        Row {
            code: format!("H{code}"),
            sector: sector.into(),
            facility: facility.into(),
            community: community.into(),
            lon: -74.0005,
            lat: -13.0004,
            consent,
            members,
            uuid: if uuid < 3 {
                format!("u-{uuid}")
            } else {
                String::new()
            },
        }
    }

    fn world(foreign_of: Option<usize>) -> (AppState, Vec<String>, String) {
        let store = MemoryStore::new();
        let mut communities = Layer::new("communities", chaski_core::LayerKind::Communities);
        for code in ["CP01", "CP02"] {
            let mut values = vec![FieldValue::Null; communities.fields.len()];
            values[0] = code.into();
            communities.features.push(Feature {
                fid: 0,
                geometry: geo::Geometry::Point(geo::Point::new(-74.0, -13.0)),
                values,
            });
        }
        store.write_layer(&communities, WriteMode::Replace).unwrap();
        let tokens = Arc::new(MemoryTokenStore::new());
        tokens
            .add_places(
                &UNITS
                    .iter()
                    .map(|(f, s, c)| Place::new(f, s, c))
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        let mk = |role, scope: &str| {
            tokens
                .create(
                    &Access::new(role, Some(scope.to_owned()), false).unwrap(),
                    None,
                )
                .unwrap()
                .1
        };
        let secrets = vec![
            mk(Role::Cha, "S1"),
            mk(Role::Cha, "S2"),
            mk(Role::Cha, "S3"),
            mk(Role::Facility, "F1"),
            mk(Role::Facility, "F2"),
        ];
        let admin = tokens
            .create(&Access::new(Role::Admin, None, false).unwrap(), None)
            .unwrap()
            .1;
        let st = AppState::new(Arc::new(store), config())
            .unwrap()
            .with_tokens(tokens);
        // Foreign records: every code and submission id the sequences use, in
        // every unit outside the subject's scope.
        if let Some(t) = foreign_of {
            let rows: Vec<Row> = (0..4)
                .filter(|u| !own_units(t).contains(u))
                .flat_map(|u| (0..4).map(move |c| unit_row(u, c, c.min(3), 9, "si")))
                .collect();
            let (st2, admin2) = (st.clone(), admin.clone());
            futures_block(async move {
                let r = upload(&st2, "", &admin2, csv(&rows, &[])).await;
                assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
            });
        }
        (st, secrets, admin)
    }

    fn futures_block<F: std::future::Future<Output = ()>>(f: F) {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f);
    }

    /// One upload: the token, its rows (own unit index, code, uuid, members,
    /// withdraw) and whether one row is moved out of scope.
    type Step = (usize, Vec<(usize, usize, usize, i64, bool)>, bool);

    fn arb_steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            (
                0..TOKENS,
                proptest::collection::vec(
                    (
                        0..2_usize,
                        0..4_usize,
                        0..4_usize,
                        1..9_i64,
                        proptest::bool::weighted(0.15),
                    ),
                    1..4,
                ),
                proptest::bool::weighted(0.1),
            ),
            1..7,
        )
    }

    fn body_of(step: &Step) -> String {
        let (t, rows, stray) = step;
        let own = own_units(*t);
        let mut out: Vec<Row> = rows
            .iter()
            .map(|&(u, c, uuid, m, withdraw)| {
                unit_row(
                    own[u % own.len()],
                    c,
                    uuid,
                    m,
                    if withdraw { "no" } else { "si" },
                )
            })
            .collect();
        if *stray {
            // A row placed in a unit that is not the token's.
            let other = (0..4).find(|u| !own.contains(u)).unwrap();
            out.push(unit_row(other, 0, 3, 1, "si"));
        }
        csv(&out, &[])
    }

    /// One upload of `body` by token `t`; returns its answer and whether a
    /// record outside `t`'s scope changed.
    async fn step(st: &AppState, secret: &str, t: usize, body: &str) -> ((u16, String), bool) {
        let before = st.store.read_layer("households").ok();
        let r = upload(st, "", secret, body.to_owned()).await;
        let after = st.store.read_layer("households").ok();
        let changed = match (&before, &after) {
            (Some(b), Some(a)) => {
                outside(b, |f| in_scope(t, b, f)) != outside(a, |f| in_scope(t, a, f))
            }
            (None, Some(a)) => a.features.iter().any(|f| !in_scope(t, a, f)),
            _ => false,
        };
        ((r.status.as_u16(), r.text()), changed)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// No record outside the writing token's scope ever changes, and the
        /// subject token's answers (every upload and its final view) are the
        /// same whether or not foreign records with the same codes exist.
        #[test]
        fn scoped_writes_ignore_foreign_records(subject in 0..TOKENS, steps in arb_steps()) {
            let (with, secrets_a, _) = world(Some(subject));
            let (without, secrets_b, _) = world(None);
            let mut failures: Vec<String> = Vec::new();
            futures_block(async {
                for (k, s) in steps.iter().enumerate() {
                    let t = s.0;
                    let body = body_of(s);
                    let (a, changed_a) = step(&with, &secrets_a[t], t, &body).await;
                    let (b, changed_b) = step(&without, &secrets_b[t], t, &body).await;
                    if changed_a || changed_b {
                        failures.push(format!("step {k}: token {t} changed a record outside its scope"));
                    }
                    if t == subject && a != b {
                        failures.push(format!("step {k}: answers differ:\n{a:?}\n{b:?}"));
                    }
                }
                let a = get(&with, "/api/households", Some(&bearer(&secrets_a[subject]))).await;
                let b = get(&without, "/api/households", Some(&bearer(&secrets_b[subject]))).await;
                if (a.status, a.text()) != (b.status, b.text()) {
                    failures.push(format!("final views differ:\n{}\n{}", a.text(), b.text()));
                }
            });
            prop_assert!(failures.is_empty(), "{}", failures.join("\n"));
        }
    }
}
