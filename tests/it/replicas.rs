//! Two replicas on one PostGIS database (`CHASKI_TEST_PG`, see
//! `scripts/pg-test-cluster.sh`): two server states, each with its own store
//! connections and its own change listener, as two `chaski serve` processes
//! behind a load balancer would have. A household upload through replica A
//! appears in B's household tile for a granted token and in B's public
//! aggregates within 5 s; a facility added through A changes B's travel-time
//! tiles (its catchment appears) within 5 s; another scope's token and no
//! token on B do not see A's upload.

use crate::support::{bearer, config, get};
use axum::http::StatusCode;
use chaski_core::auth::{Access, Role, TokenStore};
use chaski_core::household::places::Place;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value;
use chaski_io::store::postgis::PostgisStore;
use chaski_server::state::AppState;
use chaski_testing::mvt_proto;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a change may take to reach the other replica.
const WITHIN: Duration = Duration::from_secs(5);

/// A replica: its own store connections (and listener) on the shared database.
fn replica(url: &str) -> (AppState, Arc<dyn TokenStore>) {
    let store = PostgisStore::open(url, false).unwrap();
    let tokens: Arc<dyn TokenStore> = Arc::new(store.tokens());
    let state = AppState::new(Arc::new(store), config())
        .unwrap()
        .with_tokens(tokens.clone());
    (state, tokens)
}

/// Run blocking store work off the async runtime (the PostGIS store blocks).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// KoBoToolbox CSV export (`;`) of `n` households of `community` in `sector`,
/// at (lon, lat), codes `PREFIX-1..n`.
fn kobo(
    prefix: &str,
    n: usize,
    community: &str,
    facility: &str,
    sector: &str,
    lon: f64,
    lat: f64,
) -> String {
    let mut s = String::from(
        "today;consentimiento/acepta;identificacion/codigo_hogar;identificacion/comunidad;\
         identificacion/establecimiento;identificacion/sector;gps;_gps_latitude;_gps_longitude;\
         _gps_altitude;_gps_precision;hogar/miembros;hogar/gestantes;salud/anemia;_id;_uuid;\
         _submission_time;_submitted_by\n",
    );
    for i in 1..=n {
        writeln!(
            s,
            "2026-04-10;si;{prefix}-{i};{community};{facility};{sector};{lat} {lon} 2760 5;{lat};{lon};\
             2760;5;4;1;si;{};{prefix}-uuid-{i};2026-04-10T13:00:00;syntheticuser",
            900_000 + i,
        )
        .unwrap();
    }
    s
}

/// The string property `key` of every feature of layer `layer` in an MVT
/// (none for a body that is not a tile, e.g. a JSON error).
fn tile_values(body: &[u8], layer: &str, key: &str) -> Vec<String> {
    if body.first() == Some(&b'{') {
        return Vec::new();
    }
    let tile = mvt_proto::decode(body);
    tile.layers
        .iter()
        .filter(|l| l.name == layer)
        .flat_map(|l| {
            l.features
                .iter()
                .filter_map(move |f| l.prop(f, key).and_then(|v| v.string_value.clone()))
        })
        .collect()
}

/// Poll `check` every 50 ms until it holds; the time it took, or None after [`WITHIN`].
async fn within<F, Fut>(mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < WITHIN {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_uploads_aggregates_and_facilities() {
    let Some(base) = chaski_testing::require_postgres() else {
        return;
    };
    let url = chaski_testing::pg_schema_url(&base, "replicas");

    // The demo region (no households yet) in a fresh PostGIS store.
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    let homes = region.layer("households").unwrap();
    let first = &homes.features[0];
    let text = |f: &str| homes.value(first, f).as_str().unwrap().to_owned();
    let (community, facility, sector) = (text("community"), text("facility"), text("cha_sector"));
    let communities = region.layer("communities").unwrap();
    let at = communities
        .features
        .iter()
        .find(|f| communities.value(f, "code").as_str() == Some(community.as_str()))
        .unwrap();
    let geo::Geometry::Point(p) = at.geometry else {
        panic!("community {community} is not a point")
    };
    let place = Place::new(&facility, &sector, &community);
    let (a, tokens_a, b) = {
        let (url, region) = (url.clone(), region.clone());
        blocking(move || {
            let setup = PostgisStore::open(&url, true).unwrap();
            for l in region
                .layers
                .iter()
                .filter(|l| l.kind != LayerKind::Households)
            {
                setup.write_layer(l, WriteMode::Replace).unwrap();
            }
            setup.write_raster("dem", &region.dem).unwrap();
            setup.tokens().add_places(&[place]).unwrap();
            let (a, tokens_a) = replica(&url);
            let (b, _) = replica(&url);
            (a, tokens_a, b)
        })
        .await
    };
    let refresh = Duration::from_secs(2);
    let tasks = [
        chaski_server::spawn_refresher(a.clone(), refresh),
        chaski_server::spawn_refresher(b.clone(), refresh),
    ];
    // Tokens made on A are valid on B: they live in the shared database.
    let (cha, other_cha, analyst) = {
        let sector = sector.clone();
        blocking(move || {
            let mk = |role, scope: Option<&str>| {
                let access = Access::new(role, scope.map(str::to_owned), false).unwrap();
                bearer(&tokens_a.create(&access, Some("replica test")).unwrap().1)
            };
            (
                mk(Role::Cha, Some(&sector)),
                mk(Role::Cha, Some("SECTOR-ELSEWHERE")),
                mk(Role::Analyst, None),
            )
        })
        .await
    };

    // Before: B's household tile of the community is empty, no aggregates.
    let z = 14;
    let (x, y) = crate::support::tile_xy(p.x(), p.y(), z);
    let tile_uri = format!("/tiles/households/{z}/{x}/{y}.mvt");
    let before = get(&b, &tile_uri, Some(&cha)).await;
    assert!(
        before.status == StatusCode::NO_CONTENT
            || tile_values(&before.body, "households", "code").is_empty(),
        "{}",
        before.status
    );
    let summary_uri = "/api/households/summary?by=community";
    let groups = |v: serde_json::Value| v["groups"].as_array().cloned().unwrap_or_default();
    assert!(groups(get(&b, summary_uri, None).await.json()).is_empty());

    // Ten households uploaded through A (acknowledged after commit).
    let body = kobo("REPL", 10, &community, &facility, &sector, p.x(), p.y());
    let r = crate::support::call(
        &a,
        "POST",
        "/api/households",
        Some(&cha),
        Some(("text/csv", body)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["inserted"], 10);

    // B's household tile shows them to the CHA token of the sector within 5 s.
    let want: Vec<String> = (1..=10).map(|i| format!("REPL-{i}")).collect();
    let took = within(|| {
        let (b, uri, cha, want) = (b.clone(), tile_uri.clone(), cha.clone(), want.clone());
        async move {
            let r = get(&b, &uri, Some(&cha)).await;
            let mut codes = tile_values(&r.body, "households", "code");
            codes.sort();
            let mut want = want;
            want.sort();
            r.status == StatusCode::OK && codes == want
        }
    })
    .await;
    let took = took.expect("the upload through A did not reach B's household tile within 5 s");
    eprintln!("upload through A reached B's household tile in {took:?}");

    // And B's public aggregates: 10 households in the community.
    let took = within(|| {
        let (b, community) = (b.clone(), community.clone());
        async move {
            groups(get(&b, summary_uri, None).await.json())
                .iter()
                .any(|g| g["community"] == community.as_str() && g["households"] == 10)
        }
    })
    .await;
    assert!(
        took.is_some(),
        "B's aggregates did not count the upload within 5 s"
    );

    // Attackers on B: another sector's CHA token sees none of them; no token
    // and an analyst token do not have the layer at all.
    let r = get(&b, &tile_uri, Some(&other_cha)).await;
    assert!(
        tile_values(&r.body, "households", "code").is_empty(),
        "another scope's token saw A's upload"
    );
    assert!(!String::from_utf8_lossy(&r.body).contains("REPL-"));
    for auth in [None, Some(analyst.as_str()), Some("Bearer chk_wrong")] {
        let r = get(&b, &tile_uri, auth).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{auth:?}");
        assert!(!String::from_utf8_lossy(&r.body).contains("REPL-"));
    }
    let r = get(&b, "/api/households", Some(&other_cha)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        !r.text().contains("REPL-"),
        "another scope's token listed A's upload"
    );

    // A facility added through A: B's catchments tile at its place names it within 5 s.
    let store_a = a.store.clone();
    let facilities = blocking(move || store_a.read_layer("facilities").unwrap()).await;
    let mut added = Layer::new("facilities", LayerKind::Facilities);
    added.fields.clone_from(&facilities.fields);
    let mut f = facilities.features[0].clone();
    let code_at = facilities.field_index("code").unwrap();
    f.values[code_at] = Value::Text("REPL-F1".into());
    f.geometry = geo::Geometry::Point(p);
    added.features = vec![f];
    let catch_uri = format!("/tiles/catchments/{z}/{x}/{y}.mvt");
    let codes_before = tile_values(&get(&b, &catch_uri, None).await.body, "catchments", "code");
    assert!(!codes_before.contains(&"REPL-F1".to_owned()));
    let version_before = b.catalog().tiles_version;
    let store_a = a.store.clone();
    blocking(move || store_a.write_layer(&added, WriteMode::Upsert).unwrap()).await;
    let took = within(|| {
        let (b, uri) = (b.clone(), catch_uri.clone());
        async move {
            tile_values(&get(&b, &uri, None).await.body, "catchments", "code")
                .contains(&"REPL-F1".to_owned())
        }
    })
    .await;
    let took =
        took.expect("the facility added through A did not reach B's travel-time tiles within 5 s");
    eprintln!("facility added through A reached B's catchments tile in {took:?}");
    assert!(b.catalog().tiles_version > version_before);
    for t in tasks {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_tile_url_makes_a_replica_catch_up() {
    let Some(base) = chaski_testing::require_postgres() else {
        return;
    };
    let url = chaski_testing::pg_schema_url(&base, "catchup");
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    let communities = region.layer("communities").unwrap();
    let mut one = Layer::new("communities", LayerKind::Communities);
    one.fields.clone_from(&communities.fields);
    one.features = vec![communities.features[0].clone()];
    let all = communities.clone();
    let (b, w, v0) = {
        let one = one.clone();
        blocking(move || {
            let setup = PostgisStore::open(&url, true).unwrap();
            setup.write_layer(&all, WriteMode::Replace).unwrap();
            // B runs no refresher: only the versioned URL can make it look.
            let (b, _) = replica(&url);
            let v0 = b.catalog().version;
            let w = setup.write_layer(&one, WriteMode::Replace).unwrap();
            (b, w, v0)
        })
        .await
    };
    assert!(w.version > v0);
    let geo::Geometry::Point(p) = one.features[0].geometry else {
        panic!()
    };
    let (x, y) = crate::support::tile_xy(p.x(), p.y(), 10);
    let r = get(
        &b,
        &format!("/tiles/communities/10/{x}/{y}.mvt?v={}", w.version),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(b.catalog().version, w.version);
    let tile = mvt_proto::decode(&r.body);
    let n: usize = tile.layers.iter().map(|l| l.features.len()).sum();
    assert_eq!(
        n, 1,
        "the tile of the new version holds the one community left"
    );
}
