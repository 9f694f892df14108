//! A synthetic village: a community, its households (a loose ring and a
//! dense knot that cannot all be labelled at the page's scale), a facility
//! with the walking route to it, water systems in every state, a river with
//! a bridge and a ford, paths, a road, a risk zone and a conical hill.

use chaski_analysis::risk_map::{
    HouseholdMarks, LineKind, MapArea, MapCluster, MapCommunity, MapFacility, MapHousehold,
    MapLine, MapRoute, MapTitle, MapWaterSystem, Named, ReliefGrid, RiskMap, WaterState,
};
use chaski_core::disclosure::Shown;
use std::process::Command;

/// Centre of the village.
pub const LON: f64 = -74.0;
/// Centre of the village.
pub const LAT: f64 = -13.0;
/// Degrees per metre, roughly (layout of test data only).
const DEG: f64 = 1.0 / 111_000.0;

/// Households: `ring` on a loose ring of 250 m, `knot` within 15 m of the centre.
pub fn households(ring: usize, knot: usize) -> Vec<MapHousehold> {
    let mut out = Vec::new();
    for k in 0..ring + knot {
        let (r, a) = if k < ring {
            (250.0, k as f64 / ring as f64 * std::f64::consts::TAU)
        } else {
            (
                15.0 * ((k - ring) as f64 / knot as f64).sqrt(),
                k as f64 * 2.4,
            )
        };
        out.push(MapHousehold {
            code: format!("SYN-H{k:03}"),
            lonlat: (LON + r * a.cos() * DEG, LAT + r * a.sin() * DEG),
            marks: HouseholdMarks {
                pregnant: k % 5 == 0,
                child_under5: k % 3 == 0,
                anaemia_malnutrition: k % 7 == 0,
                danger_signs: k % 11 == 0,
                priority: k % 11 == 0 || k % 13 == 0,
            },
        });
    }
    out
}

fn line(kind: LineKind, pts: &[(f64, f64)]) -> MapLine {
    MapLine {
        kind,
        points: pts
            .iter()
            .map(|&(x, y)| (LON + x * DEG, LAT + y * DEG))
            .collect(),
    }
}

/// The village's map, with household points when `households` is given.
pub fn map(households: Option<Vec<MapHousehold>>) -> RiskMap {
    let focus = [
        LON - 300.0 * DEG,
        LAT - 300.0 * DEG,
        LON + 300.0 * DEG,
        LAT + 300.0 * DEG,
    ];
    let context = [
        LON - 2000.0 * DEG,
        LAT - 2000.0 * DEG,
        LON + 2000.0 * DEG,
        LAT + 2000.0 * DEG,
    ];
    let (cols, rows) = (60, 60);
    let values = (0..cols * rows)
        .map(|i| {
            let (c, r) = ((i % cols) as f32 - 40.0, (i / cols) as f32 - 20.0);
            3000.0 + 200.0 - 4.0 * (c * c + r * r).sqrt()
        })
        .collect();
    let sees = households.is_some();
    let facility = MapFacility {
        code: "SYN-F1".into(),
        name: "P.S. Sintético".into(),
        category: "I-2".into(),
        lonlat: (LON + 180.0 * DEG, LAT - 120.0 * DEG),
    };
    RiskMap {
        area: MapArea::Community("SYN-CP1".into()),
        title: MapTitle {
            community: Some(Named {
                code: "SYN-CP1".into(),
                name: "Ñawpa Llaqta".into(),
            }),
            sector: None,
            cha: None,
            facility: Some(Named {
                code: "SYN-F1".into(),
                name: "P.S. Sintético".into(),
            }),
            district: Some(Named {
                code: "059999".into(),
                name: "Distrito de prueba".into(),
            }),
        },
        focus,
        context,
        communities: vec![MapCommunity {
            code: "SYN-CP1".into(),
            name: "Ñawpa Llaqta".into(),
            lonlat: (LON, LAT),
            in_area: true,
            households: (!sees).then_some(Shown::Count(45)),
            minutes: Some(12.0),
        }],
        facilities: vec![facility.clone()],
        water_systems: [
            WaterState::Operational,
            WaterState::Partial,
            WaterState::Down,
            WaterState::Unknown,
        ]
        .into_iter()
        .enumerate()
        .map(|(k, state)| MapWaterSystem {
            code: format!("SYN-W{k}"),
            name: String::new(),
            state,
            lonlat: (LON - 200.0 * DEG + 60.0 * k as f64 * DEG, LAT + 290.0 * DEG),
        })
        .collect(),
        lines: vec![
            line(
                LineKind::River,
                &[(-900.0, -200.0), (0.0, -190.0), (900.0, -210.0)],
            ),
            line(LineKind::Bridge, &[(100.0, -180.0), (100.0, -220.0)]),
            line(LineKind::Ford, &[(-150.0, -175.0), (-150.0, -225.0)]),
            line(
                LineKind::Footpath,
                &[(0.0, 0.0), (100.0, -180.0), (180.0, -120.0)],
            ),
            line(LineKind::MuleTrack, &[(0.0, 0.0), (-300.0, 300.0)]),
            line(LineKind::Road, &[(-900.0, 400.0), (900.0, 350.0)]),
        ],
        households,
        route: Some(MapRoute {
            facility: Named {
                code: facility.code.clone(),
                name: facility.name.clone(),
            },
            minutes: 12.0,
            points: [(0.0, 0.0), (100.0, -180.0), (180.0, -120.0)]
                .iter()
                .map(|&(x, y)| (LON + x * DEG, LAT + y * DEG))
                .collect(),
        }),
        clusters: vec![MapCluster {
            ring: (0..=64)
                .map(|k| {
                    let a = f64::from(k) / 64.0 * std::f64::consts::TAU;
                    (
                        LON + (120.0 + 90.0 * a.cos()) * DEG,
                        LAT + (90.0 + 90.0 * a.sin()) * DEG,
                    )
                })
                .collect(),
            households: Shown::unless_small(12),
        }],
        relief: Some(ReliefGrid {
            bounds: context,
            cols,
            rows,
            values,
        }),
        data_version: 7,
        sources: vec!["synthetic".into()],
        due: None,
    }
}

/// The page spec of the tests (a fixed date).
pub fn spec(size: &str, orientation: &str, lang: &str) -> chaski_print::PageSpec {
    chaski_print::PageSpec {
        size: size.parse().unwrap(),
        orientation: orientation.parse().unwrap(),
        lang: lang.parse().unwrap(),
        date: "2026-12-05".into(),
        viewer_url: "https://chaski.example.org".into(),
    }
}

/// Run `tool ARGS` and return its stdout; panics naming it on failure.
pub fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().expect(tool);
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The household codes (`SYN-H…`) in a text, sorted, each once.
pub fn codes_in(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("SYN-H"))
        .map(str::to_owned)
        .collect();
    v.sort();
    v.dedup();
    v
}
