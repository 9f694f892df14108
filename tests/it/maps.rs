//! `GET /maps/risk.pdf` and `GET /maps/risk.png` through `app(state)` as an
//! attacker would call them: the demo region (with its DEM) in a memory
//! store, tokens in a memory token store. The PDFs are read back with
//! poppler's `pdftotext` (independent of chaski), the PNGs decoded with the
//! `png` crate. Expected household codes are read straight from the demo's
//! household layer, not through the server's access-control code:
//!
//! - no token, an analyst, a CHA token of another community's sector: no
//!   household code anywhere in the PDF, not `CONFIDENCIAL`, nothing logged;
//! - a CHA token: exactly its sector's codes in the community; the admin:
//!   every code of the community; each such print in the access log with
//!   the number of households;
//! - the "visita prioritaria" mark (`P` in the household index) of a
//!   household whose only risk is violence: only with the violence grant;
//! - every answer `Cache-Control: private, no-store`; the PNG's pixel size
//!   is the page's at the dpi asked; bad parameters are 4xx JSON naming them.

use crate::support::{Reply, bearer, get};
use axum::http::{StatusCode, header};
use chaski_core::auth::{Access, MemoryTokenStore, Role, TokenStore};
use chaski_core::layer::{Feature, Layer};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value as FieldValue;
use chaski_server::state::AppState;
use rstest::rstest;
use std::collections::BTreeSet;
use std::sync::Arc;

const DATE: &str = "2026-12-05";

struct Fixture {
    state: AppState,
    tokens: Arc<MemoryTokenStore>,
    households: Layer,
    /// A household whose only risk is violence, its community and sector.
    violent: (String, String, String),
    admin_violence: String,
    analyst: String,
    cha: String,
    cha_violence: String,
    other_cha: String,
}

fn text(layer: &Layer, f: &Feature, field: &str) -> String {
    match layer.value(f, field) {
        FieldValue::Text(t) => t.clone(),
        other => panic!("{field}: {other:?}"),
    }
}

fn yes(layer: &Layer, f: &Feature, field: &str) -> bool {
    layer.value(f, field) == &FieldValue::Bool(true)
}

fn count(layer: &Layer, f: &Feature, field: &str) -> i64 {
    match layer.value(f, field) {
        FieldValue::Int(n) => *n,
        _ => 0,
    }
}

fn fixture() -> Fixture {
    let store = MemoryStore::new();
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    for l in &region.layers {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    store.write_raster("dem", &region.dem).unwrap();
    let households = region.layer("households").unwrap().clone();
    // Violence risk and nothing else: "alto" only through the violence risk.
    let v = households
        .features
        .iter()
        .find(|f| {
            let h = &households;
            yes(h, f, "violence_risk")
                && !yes(h, f, "danger_signs")
                && !yes(h, f, "anaemia")
                && !yes(h, f, "malnutrition")
                && count(h, f, "pregnant") == 0
                && count(h, f, "under5") == 0
                && count(h, f, "under2") == 0
        })
        .expect("the demo has a household at risk of violence only");
    let violent = (
        text(&households, v, "code"),
        text(&households, v, "community"),
        text(&households, v, "cha_sector"),
    );
    let other_sector = households
        .features
        .iter()
        .map(|f| text(&households, f, "cha_sector"))
        .find(|s| {
            !households.features.iter().any(|f| {
                text(&households, f, "cha_sector") == *s
                    && text(&households, f, "community") == violent.1
            })
        })
        .unwrap();
    let tokens = Arc::new(MemoryTokenStore::new());
    let mk = |role, scope: Option<&str>, violence| {
        tokens
            .create(
                &Access::new(role, scope.map(str::to_owned), violence).unwrap(),
                Some("test"),
            )
            .unwrap()
            .1
    };
    let fixture_tokens = (
        mk(Role::Admin, None, true),
        mk(Role::Analyst, None, false),
        mk(Role::Cha, Some(&violent.2), false),
        mk(Role::Cha, Some(&violent.2), true),
        mk(Role::Cha, Some(&other_sector), false),
    );
    // The scan of the risk zones with 99 replicates (999 by default) to keep debug tests quick.
    let state = AppState::new(Arc::new(store), crate::support::config())
        .unwrap()
        .with_tokens(tokens.clone())
        .with_cluster_tile_options(chaski_analysis::clusters::ClusterOptions {
            replicates: 99,
            ..chaski_server::clusters::tile_cluster_options()
        });
    Fixture {
        state,
        tokens,
        households,
        violent,
        admin_violence: fixture_tokens.0,
        analyst: fixture_tokens.1,
        cha: fixture_tokens.2,
        cha_violence: fixture_tokens.3,
        other_cha: fixture_tokens.4,
    }
}

/// Codes of the demo households where every `(field, value)` holds.
fn codes_where(layer: &Layer, conditions: &[(&str, &str)]) -> BTreeSet<String> {
    layer
        .features
        .iter()
        .filter(|f| conditions.iter().all(|(k, v)| text(layer, f, k) == *v))
        .map(|f| text(layer, f, "code"))
        .collect()
}

/// Household codes (`DEMO-H…`) in a text.
fn codes_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("DEMO-H"))
        .map(str::to_owned)
        .collect()
}

/// The PDF's text as poppler reads it (layout kept: index rows stay on a line).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("map.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The marks of `code` in the household index (`S`, `A`, `G`, `N`, `P`
/// letters after the code; empty when none).
fn index_marks(text: &str, code: &str) -> String {
    let marks = text.lines().find_map(|l| {
        let words: Vec<&str> = l.split_whitespace().collect();
        let i = words.iter().position(|w| *w == code)?;
        // An index row: the grid cell before the code.
        let cell = i.checked_sub(1).map(|j| words[j])?;
        if !(cell.len() >= 2 && cell.as_bytes()[0].is_ascii_uppercase()) {
            return None;
        }
        Some(
            words
                .get(i + 1)
                .filter(|w| w.chars().all(|c| "SAGNP".contains(c)))
                .map_or_else(String::new, |w| (*w).to_owned()),
        )
    });
    marks.unwrap_or_else(|| panic!("{code} not in the household index"))
}

fn pdf_of(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "private, no-store");
    assert!(reply.body.starts_with(b"%PDF-"));
    pdf_text(&reply.body)
}

/// The access-log entries of maps served: (who, endpoint, households).
fn printed(tokens: &MemoryTokenStore) -> Vec<(Option<String>, String, u64)> {
    tokens
        .access_log()
        .unwrap()
        .into_iter()
        .filter(|e| e.what.starts_with("GET /maps/"))
        .map(|e| (e.who, e.what, e.count))
        .collect()
}

#[tokio::test]
async fn household_codes_only_for_a_granted_caller_in_scope() {
    if !chaski_testing::require_poppler() {
        return;
    }
    let fx = fixture();
    let (code, community, sector) = fx.violent.clone();
    let uri = format!("/maps/risk.pdf?community={community}&date={DATE}");
    let id_of = |secret: &str| fx.tokens.verify(secret).unwrap().unwrap().id;

    // No token, an analyst, another community's CHA: aggregates only.
    for auth in [None, Some(bearer(&fx.analyst)), Some(bearer(&fx.other_cha))] {
        let t = pdf_of(&get(&fx.state, &uri, auth.as_deref()).await);
        assert!(codes_in(&t).is_empty(), "{auth:?}: {:?}", codes_in(&t));
        assert!(!t.contains("CONFIDENCIAL"), "{auth:?}");
        assert!(!t.contains("Visita prioritaria"), "{auth:?}");
        assert!(t.contains(&community), "{auth:?}: {t}");
        // Without household rights, the published counts (a CHA out of scope sees none).
        if auth.as_deref() != Some(&bearer(&fx.other_cha)) {
            assert!(t.contains("hogares"), "{auth:?}: {t}");
        }
    }
    // The other CHA asking for the sector outright gets no household either.
    let t = pdf_of(
        &get(
            &fx.state,
            &format!("/maps/risk.pdf?sector={sector}&date={DATE}"),
            Some(&bearer(&fx.other_cha)),
        )
        .await,
    );
    assert!(codes_in(&t).is_empty(), "{:?}", codes_in(&t));
    assert!(printed(&fx.tokens).is_empty(), "no household, no log entry");

    // The sector's CHA: its own households in the community, violence not reflected.
    let own = codes_where(
        &fx.households,
        &[("community", &community), ("cha_sector", &sector)],
    );
    assert!(own.contains(&code) && own.len() >= 5);
    let t = pdf_of(&get(&fx.state, &uri, Some(&bearer(&fx.cha))).await);
    assert_eq!(codes_in(&t), own);
    assert!(t.contains("CONFIDENCIAL — datos de salud"));
    assert!(
        !index_marks(&t, &code).contains('P'),
        "no grant, no priority mark"
    );
    // With the violence grant: the neutral "visita prioritaria" mark, never the word violence.
    let t = pdf_of(&get(&fx.state, &uri, Some(&bearer(&fx.cha_violence))).await);
    assert_eq!(codes_in(&t), own);
    assert_eq!(index_marks(&t, &code), "P");
    assert!(t.contains("Visita prioritaria") && !t.to_lowercase().contains("violencia"));
    // The admin: every household of the community.
    let all = codes_where(&fx.households, &[("community", &community)]);
    assert!(all.len() > own.len());
    let t = pdf_of(&get(&fx.state, &uri, Some(&bearer(&fx.admin_violence))).await);
    assert_eq!(codes_in(&t), all);
    assert_eq!(index_marks(&t, &code), "P");

    // Each release in the access log, with its count, before it was sent.
    let endpoint = "GET /maps/risk.pdf".to_owned();
    assert_eq!(
        printed(&fx.tokens),
        vec![
            (Some(id_of(&fx.cha)), endpoint.clone(), own.len() as u64),
            (
                Some(id_of(&fx.cha_violence)),
                endpoint.clone(),
                own.len() as u64
            ),
            (Some(id_of(&fx.admin_violence)), endpoint, all.len() as u64),
        ]
    );
}

#[tokio::test]
async fn png_pages_at_the_dpi_asked() {
    let fx = fixture();
    let (_, community, _) = fx.violent.clone();
    let base = format!("/maps/risk.png?community={community}&date={DATE}");
    for (query, mm) in [
        ("&dpi=50", (210.0, 297.0)),
        ("&dpi=72&size=a3&orientation=landscape", (420.0, 297.0)),
    ] {
        let r = get(&fx.state, &format!("{base}{query}"), Some(&bearer(&fx.cha))).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.headers[header::CONTENT_TYPE], "image/png");
        assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
        let dpi: f64 = query[5..].split('&').next().unwrap().parse().unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&r.body));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        // Millimetres at dpi / 25.4 dots per millimetre, rounded up.
        let px = |mm: f64| (mm / 25.4 * dpi).ceil() as u32;
        assert_eq!((frame.width, frame.height), (px(mm.0), px(mm.1)), "{query}");
        // Something is drawn: not a blank page.
        assert!(buf.iter().any(|&b| b < 128));
    }
    // A granted map has several pages (map, details, index): each one by `page`.
    let r = get(&fx.state, &format!("{base}&dpi=20"), Some(&bearer(&fx.cha))).await;
    let pages: usize = r.headers["x-chaski-pages"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pages >= 2);
    let last = get(
        &fx.state,
        &format!("{base}&dpi=20&page={pages}"),
        Some(&bearer(&fx.cha)),
    )
    .await;
    assert_eq!(last.status, StatusCode::OK);
    assert_ne!(last.body, r.body);
    let beyond = get(
        &fx.state,
        &format!("{base}&dpi=20&page={}", pages + 1),
        Some(&bearer(&fx.cha)),
    )
    .await;
    assert_eq!(beyond.status, StatusCode::BAD_REQUEST);
    assert!(beyond.json()["error"].as_str().unwrap().contains("'page'"));
    // Logged as PNG prints.
    assert!(
        printed(&fx.tokens)
            .iter()
            .all(|(_, what, n)| what == "GET /maps/risk.png" && *n > 0)
    );
}

#[rstest]
#[case("/maps/risk.pdf?community=NOPE", 404, "no community with code 'NOPE'")]
#[case("/maps/risk.pdf?sector=NOPE", 404, "no CHA sector with code 'NOPE'")]
#[case("/maps/risk.pdf?facility=NOPE", 404, "no facility with code 'NOPE'")]
#[case("/maps/risk.pdf", 400, "'community', 'sector' or 'facility'")]
#[case("/maps/risk.pdf?community=", 400, "'community'")]
#[case("/maps/risk.pdf?community=DEMO-CP0016&sector=X", 400, "only one area")]
#[case("/maps/risk.pdf?community=DEMO-CP0016&size=a5", 400, "a4 or a3")]
#[case(
    "/maps/risk.pdf?community=DEMO-CP0016&orientation=diagonal",
    400,
    "portrait or landscape"
)]
#[case("/maps/risk.pdf?community=DEMO-CP0016&lang=fr", 400, "es or en")]
#[case(
    "/maps/risk.pdf?community=DEMO-CP0016&date=2026-02-30",
    400,
    "YYYY-MM-DD"
)]
#[case(
    "/maps/risk.pdf?community=DEMO-CP0016&dpi=150",
    400,
    "unknown query parameter 'dpi'"
)]
#[case(
    "/maps/risk.pdf?community=DEMO-CP0016&lang=es&lang=en",
    400,
    "more than once"
)]
#[case(
    "/maps/risk.pdf?community=DEMO-CP0016&no_clusters=maybe",
    400,
    "true or false"
)]
#[case("/maps/risk.png?community=DEMO-CP0016&dpi=5", 400, "from 10 to 1200")]
#[case(
    "/maps/risk.png?community=DEMO-CP0016&dpi=1200",
    400,
    "the most this server renders"
)]
#[case("/maps/risk.png?community=DEMO-CP0016&dpi=NaN", 400, "'dpi'")]
#[case("/maps/risk.png?community=DEMO-CP0016&page=0", 400, "'page'")]
#[case("/maps/risk.png?community=DEMO-CP0016&page=1.5", 400, "'page'")]
#[tokio::test]
async fn bad_parameters_are_4xx_naming_the_problem(
    #[case] uri: &str,
    #[case] status: u16,
    #[case] needle: &str,
) {
    let (store, _, _) = crate::support::demo_store();
    let state = AppState::new(Arc::new(store), crate::support::config())
        .unwrap()
        .with_tokens(Arc::new(MemoryTokenStore::new()));
    let r = get(&state, uri, None).await;
    assert_eq!(r.status.as_u16(), status, "{uri}: {}", r.text());
    let j = r.json();
    let msg = j["error"].as_str().unwrap();
    assert!(msg.contains(needle), "{uri}: {msg}");
    assert_eq!(r.headers[header::CACHE_CONTROL], "private, no-store");
}

#[tokio::test]
async fn a_bad_token_is_refused_and_logged_and_no_log_no_map() {
    let (store, _, _) = crate::support::demo_store();
    let tokens = Arc::new(MemoryTokenStore::new());
    let state = AppState::new(Arc::new(store), crate::support::config())
        .unwrap()
        .with_tokens(tokens.clone());
    let r = get(
        &state,
        "/maps/risk.pdf?community=DEMO-CP0016",
        Some("Bearer chk_wrong"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(!r.text().contains("chk_wrong"));
    let log = tokens.access_log().unwrap();
    assert!(
        log.iter()
            .any(|e| e.what == "GET /maps/risk.pdf" && e.status == 401),
        "{log:?}"
    );

    // An admin whose print cannot be logged gets no map.
    let (store, _, _) = crate::support::demo_store();
    let failing = Arc::new(crate::support::FailingLog(MemoryTokenStore::new()));
    let (_, secret) = failing
        .create(&Access::new(Role::Admin, None, false).unwrap(), None)
        .unwrap();
    let state = AppState::new(Arc::new(store), crate::support::config())
        .unwrap()
        .with_tokens(failing);
    let r = get(
        &state,
        "/maps/risk.pdf?community=DEMO-CP0016&no_clusters=true",
        Some(&bearer(&secret)),
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.body.starts_with(b"%PDF") && !r.text().contains("DEMO-H"));
}

/// The pages of a PDF's text (poppler separates them with a form feed)
/// holding the visit schedule.
fn due_pages(text: &str) -> String {
    text.split('\u{c}')
        .filter(|p| p.contains("Visitas pendientes"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The households of `sector` due a visit on `as_of` (`every` days), from
/// the demo layer: at risk (alto or medio by the household rule, the
/// violence risk unknown) on their latest record, last visited more than
/// `every` days before or never.
fn expected_due(layer: &Layer, sector: &str, as_of: &str, every: i64) -> BTreeSet<String> {
    use chaski_core::domain::RiskLevel;
    use chaski_core::household::{Violence, derive_risk_level};
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let as_of = day(as_of).unwrap();
    let mut by_code: std::collections::BTreeMap<String, Vec<&Feature>> =
        std::collections::BTreeMap::new();
    for f in &layer.features {
        if text(layer, f, "cha_sector") == sector {
            by_code.entry(text(layer, f, "code")).or_default().push(f);
        }
    }
    by_code
        .into_iter()
        .filter(|(_, records)| {
            let date = |f: &&Feature| match layer.value(f, "visit_date") {
                FieldValue::Text(t) => day(t),
                _ => None,
            };
            let latest = records.iter().max_by_key(|f| date(f)).unwrap();
            let last = records.iter().filter_map(date).max();
            let level = derive_risk_level(layer, &latest.values, Violence::Unknown);
            matches!(level, RiskLevel::Alto | RiskLevel::Medio)
                && last.is_none_or(|d| (as_of - d).num_days() > every)
        })
        .map(|(code, _)| code)
        .collect()
}

#[tokio::test]
async fn sector_maps_print_the_visit_schedule_for_its_cha_only() {
    if !chaski_testing::require_poppler() {
        return;
    }
    let fx = fixture();
    let sector = fx.violent.2.clone();
    let own = codes_where(&fx.households, &[("cha_sector", &sector)]);
    // The demo's visits are in 2026: 30 days before the map's date leaves
    // some at-risk households due, and the low-risk ones off the list.
    let due = expected_due(&fx.households, &sector, DATE, 30);
    assert!(
        !due.is_empty() && due.len() < own.len(),
        "{} of {}",
        due.len(),
        own.len()
    );
    let uri = format!("/maps/risk.pdf?sector={sector}&date={DATE}&every=30");

    // The sector's CHA: exactly the due households on the schedule pages, tick boxes and all.
    let t = pdf_of(&get(&fx.state, &uri, Some(&bearer(&fx.cha))).await);
    let pages = due_pages(&t);
    assert!(
        pages.contains(&format!("Visitas pendientes — {sector}")),
        "{t}"
    );
    assert!(pages.contains("más de 30 días al 2026-12-05"), "{pages}");
    assert_eq!(codes_in(&pages), due);
    // The admin gets the same list for this sector.
    let t = pdf_of(&get(&fx.state, &uri, Some(&bearer(&fx.admin_violence))).await);
    let admin_due = codes_in(&due_pages(&t));
    assert!(admin_due.is_superset(&due), "{admin_due:?}");
    // A longer interval: fewer due (none visited within it is left off).
    let t = pdf_of(
        &get(
            &fx.state,
            &format!("/maps/risk.pdf?sector={sector}&date={DATE}&every=3000"),
            Some(&bearer(&fx.cha)),
        )
        .await,
    );
    assert_eq!(
        codes_in(&due_pages(&t)),
        expected_due(&fx.households, &sector, DATE, 3000)
    );

    // No token, an analyst, another sector's CHA: no schedule, no code at all.
    for (who, auth) in [
        ("no token", None),
        ("analyst", Some(bearer(&fx.analyst))),
        ("another sector's CHA", Some(bearer(&fx.other_cha))),
    ] {
        let t = pdf_of(&get(&fx.state, &uri, auth.as_deref()).await);
        assert!(!t.contains("Visitas pendientes"), "{who}");
        assert!(codes_in(&t).is_empty(), "{who}: {:?}", codes_in(&t));
    }
    // A community map carries no schedule.
    let t = pdf_of(
        &get(
            &fx.state,
            &format!("/maps/risk.pdf?community={}&date={DATE}", fx.violent.1),
            Some(&bearer(&fx.cha)),
        )
        .await,
    );
    assert!(!t.contains("Visitas pendientes"));
    // A bad interval is 400 naming it.
    let r = get(
        &fx.state,
        &format!("/maps/risk.pdf?sector={sector}&every=0"),
        Some(&bearer(&fx.cha)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("every"), "{}", r.text());
}
