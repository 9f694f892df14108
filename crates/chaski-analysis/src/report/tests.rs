//! The district report on a hand-built store: every figure below is worked
//! out by hand from the layout, not with the report's code.
//!
//! A speed raster of 40 x 5 cells of 60 m (UTM 18S through the tests'
//! projection) at 0.36 km/h, so one axis move costs 600 s = 10 min and a
//! village k cells east or west of a facility on its row is 10 k minutes
//! away. Facility A (no birth care) is in cell (0, 2), B (basic birth care)
//! in (30, 2). Villages on row 2 (x from the grid's west edge, metres):
//!
//! | village | x | pop. | any facility | birth care | district |
//! |---|---|---|---|---|---|
//! | V1 | 210 (col 3) | 100 | 30 (A) | 270 | D1 |
//! | V2 | 510 (col 8) | 200 | 80 (A) | 220 | D1 |
//! | V7 | 660 (col 11, on the D1/D2 border) | 70 | 110 (A) | 190 | D1 (first) |
//! | V3 | 870 (col 14) | unknown | 140 (A) | 160 | D2 |
//! | V4 | 1230 (col 20) | 400 | 100 (B) | 100 | D2 |
//! | V5 | 1650 (col 27) | 500 | 30 (B) | 30 | D2 |
//! | V6 | 2730 (off the grid) | 600 | no time | no time | D2 |
//!
//! D1 spans x −600..660, D2 660..3000, D3 3600..4200 (no village).

#![allow(clippy::many_single_char_names)]

use super::households::FLAGS;
use super::render;
use super::*;
use crate::testing::TestProjections;
use crate::travel::layers::SurfaceModel;
use chaski_core::crs::Projection;
use chaski_core::disclosure::{MIN_CELL, Shown};
use chaski_core::raster::Raster;
use chaski_core::store::WriteMode;
use chaski_core::store::memory::MemoryStore;
use chaski_core::value::Value;
use chaski_core::{Feature, Layer, LayerKind};
use geo::{Geometry, LineString, MultiPolygon, Polygon};
use std::sync::Arc;

const X0: f64 = 600_000.0;
const Y0: f64 = 8_560_000.0;
const CELL: f64 = 60.0;
/// Row 2's centre line.
const ROW2: f64 = Y0 - 2.5 * CELL;

fn projection() -> Arc<dyn Projection> {
    TestProjections.metric(32718).unwrap()
}

/// Longitude/latitude of the point `dx`, `dy` metres from the grid's north-west corner.
fn at(dx: f64, y: f64) -> (f64, f64) {
    projection().inverse_one(X0 + dx, y).unwrap()
}

fn feature(
    layer: &Layer,
    fid: usize,
    geometry: Geometry<f64>,
    values: &[(&str, Value)],
) -> Feature {
    let mut v = vec![Value::Null; layer.fields.len()];
    for (name, value) in values {
        v[layer.field_index(name).unwrap()] = value.clone();
    }
    Feature {
        fid: fid as i64 + 1,
        geometry,
        values: v,
    }
}

fn point(p: (f64, f64)) -> Geometry<f64> {
    Geometry::Point(p.into())
}

fn rect(x0: f64, x1: f64) -> Geometry<f64> {
    let (y0, y1) = (Y0 - 5.0 * CELL - 600.0, Y0 + 600.0);
    let ring: Vec<(f64, f64)> = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        .into_iter()
        .map(|(x, y)| at(x, y))
        .collect();
    Geometry::MultiPolygon(MultiPolygon::new(vec![Polygon::new(
        LineString::from(ring),
        Vec::new(),
    )]))
}

/// A household of sector `sector` at `x` (row 2) with these flags
/// (`a`: danger signs, so alto; `m`: anaemia, so medio; `b`: bajo; `v`: bajo
/// but with a violence risk and a stored level `alto`).
fn households(rows: &[(f64, &str, &str)]) -> Layer {
    let mut l = Layer::new("households", LayerKind::Households);
    let mut n = 0;
    for &(x, sector, levels) in rows {
        for c in levels.chars() {
            let mut values = vec![
                ("code", Value::from(format!("H{n}"))),
                ("cha_sector", Value::from(sector)),
                ("facility", Value::from("A")),
                ("danger_signs", Value::Bool(c == 'a')),
                ("anaemia", Value::Bool(c == 'm')),
                ("malnutrition", Value::Bool(false)),
            ];
            if c == 'v' {
                values.push(("violence_risk", Value::Bool(true)));
                values.push(("risk_level", Value::from("alto")));
            }
            let f = feature(&l, n, point(at(x, ROW2 + n as f64)), &values);
            l.features.push(f);
            n += 1;
        }
    }
    l
}

fn store() -> MemoryStore {
    let store = MemoryStore::new();
    let speed = Raster::filled(40, 5, [X0, CELL, 0.0, Y0, 0.0, -CELL], Some(32718), 0.36f32);
    store.write_raster("speed", &speed).unwrap();
    let mut f = Layer::new("facilities", LayerKind::Facilities);
    for (i, (code, cat, bc, col)) in [("A", "I-1", "none", 0.0), ("B", "I-3", "basic", 30.0)]
        .into_iter()
        .enumerate()
    {
        let p = point(at((col + 0.5) * CELL, ROW2));
        let values = [
            ("code", Value::from(code)),
            ("name", Value::from(code)),
            ("category", Value::from(cat)),
            ("birth_care", Value::from(bc)),
        ];
        f.features.push(feature(&f, i, p, &values));
    }
    let mut v = Layer::new("communities", LayerKind::Communities);
    let villages: [(&str, f64, Option<i64>, &str); 7] = [
        ("V1", 210.0, Some(100), "010101"),
        ("V2", 510.0, Some(200), "010102"),
        ("V3", 870.0, None, "010101"),
        ("V4", 1230.0, Some(400), ""),
        ("V5", 1650.0, Some(500), "010102"),
        ("V6", 2730.0, Some(600), "010102"),
        ("V7", 660.0, Some(70), "010101"),
    ];
    for (i, (code, x, pop, ubigeo)) in villages.into_iter().enumerate() {
        let mut values = vec![
            ("code", Value::from(code)),
            ("name", Value::from(format!("Pueblo {code}"))),
            ("ubigeo", Value::from(ubigeo)),
        ];
        if let Some(p) = pop {
            values.push(("population", Value::Int(p)));
        }
        v.features.push(feature(&v, i, point(at(x, ROW2)), &values));
    }
    let mut w = Layer::new("water_systems", LayerKind::WaterSystems);
    let systems: [(&str, f64, f64, &str, Option<i64>); 5] = [
        ("W1", 210.0, ROW2 + 500.0, "operational", Some(50)),
        ("W2", 1230.0, ROW2, "partial", Some(20)),
        ("W3", 2000.0, ROW2, "down", None),
        ("W4", -30.0, ROW2, "operativo", Some(30)),
        ("W5", 2500.0, ROW2, "", Some(10)),
    ];
    for (i, (code, x, y, status, served)) in systems.into_iter().enumerate() {
        let mut values = vec![("code", Value::from(code))];
        if !status.is_empty() {
            values.push(("status", Value::from(status)));
        }
        if let Some(n) = served {
            values.push(("households_served", Value::Int(n)));
        }
        w.features.push(feature(&w, i, point(at(x, y)), &values));
    }
    let mut d = Layer::new("districts", LayerKind::Boundaries);
    for (i, (code, x0, x1)) in [
        ("010101", -600.0, 660.0),
        ("010102", 660.0, 3000.0),
        ("010103", 3600.0, 4200.0),
    ]
    .into_iter()
    .enumerate()
    {
        let values = [
            ("code", Value::from(code)),
            ("name", Value::from(format!("Distrito {code}"))),
            ("level", Value::from("district")),
        ];
        d.features.push(feature(&d, i, rect(x0, x1), &values));
    }
    // D1: 12 households of one sector, alto 3, medio 4, bajo 5 (one bajo
    // with a violence risk and a stored "alto"); D3: 20 of one sector.
    let h = households(&[
        (300.0, "S1", "aaammmmbbbbv"),
        (3900.0, "S3", &"b".repeat(20)),
    ]);
    for l in [&f, &v, &w, &d, &h] {
        store.write_layer(l, WriteMode::Replace).unwrap();
    }
    store
}

struct World {
    data: ReportData,
    any: TravelResult,
    birth: TravelResult,
}

fn world() -> World {
    let store = store();
    let data = ReportData::from_store(&store, None, "--districts").unwrap();
    let opts = TravelOptions {
        dem: Some("speed".to_owned()),
        model: SurfaceModel::SpeedKmh,
        ..travel_options()
    };
    let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
    let (any, birth) = run_searches(&inputs);
    World {
        data,
        any: any.unwrap(),
        birth: birth.unwrap(),
    }
}

impl World {
    fn reporter(&self) -> Reporter<'_> {
        Reporter::new(
            &self.data,
            Searches {
                any_facility: Ok(&self.any),
                birth_care: Ok(&self.birth),
            },
            &TestProjections,
        )
    }
}

fn tally(villages: usize, population: Option<u64>, without: usize) -> Tally {
    Tally {
        villages,
        population,
        villages_without_population: without,
    }
}

/// (within, beyond) per band of an access table.
fn bands(a: &AccessTable) -> Vec<(f64, Tally, Tally)> {
    a.bands
        .iter()
        .map(|b| (b.minutes, b.within, b.beyond))
        .collect()
}

#[test]
fn villages_and_bands_match_the_hand_computation() {
    let w = world();
    let r = w.reporter();
    let d1 = r
        .report(w.data.find("010101").unwrap(), "2026-12-05")
        .unwrap();
    assert_eq!(
        (d1.code.as_str(), d1.name.as_str()),
        ("010101", "Distrito 010101")
    );
    // V1, V2 and V7 (on the border: the first district has it).
    assert_eq!(d1.villages.total, tally(3, Some(370), 0));
    // V2's code names D2; V3 carries D1's code but lies in D2.
    assert_eq!(d1.villages.with_other_district_code, 1);
    assert_eq!(d1.villages.outside_with_this_code, 1);
    // Any facility: 30, 80, 110 minutes.
    assert_eq!(
        bands(&d1.any_facility),
        vec![
            (60.0, tally(1, Some(100), 0), tally(2, Some(270), 0)),
            (120.0, tally(3, Some(370), 0), tally(0, Some(0), 0)),
            (240.0, tally(3, Some(370), 0), tally(0, Some(0), 0)),
        ]
    );
    assert_eq!(d1.any_facility.without_time, tally(0, Some(0), 0));
    assert_eq!(d1.any_facility.sources, Some(2));
    // Birth care (B only): 270, 220, 190 minutes.
    assert_eq!(
        bands(&d1.birth_care),
        vec![
            (60.0, tally(0, Some(0), 0), tally(3, Some(370), 0)),
            (120.0, tally(0, Some(0), 0), tally(3, Some(370), 0)),
            (240.0, tally(2, Some(270), 0), tally(1, Some(100), 0)),
        ]
    );
    assert_eq!(d1.birth_care.sources, Some(1));

    let d2 = r.report(1, "2026-12-05").unwrap();
    assert_eq!(d2.villages.total, tally(4, Some(1500), 1));
    // V3 carries D1's code; V4 carries none.
    assert_eq!(d2.villages.with_other_district_code, 1);
    // Any facility: V3 140 (population unknown), V4 100, V5 30; V6 off the grid.
    let want = vec![
        (60.0, tally(1, Some(500), 0), tally(2, Some(400), 1)),
        // Beyond 2 hours: only V3, whose population is unknown: empty, not 0.
        (120.0, tally(2, Some(900), 0), tally(1, None, 1)),
        (240.0, tally(3, Some(900), 1), tally(0, Some(0), 0)),
    ];
    assert_eq!(bands(&d2.any_facility), want);
    assert_eq!(d2.any_facility.without_time, tally(1, Some(600), 0));
    // Birth care: V3 160, V4 100, V5 30: the same bands.
    assert_eq!(bands(&d2.birth_care), want);
    // Every village is within the last band, beyond it or without a time.
    for d in [&d1, &d2] {
        for a in [&d.any_facility, &d.birth_care] {
            let last = a.bands.last().unwrap();
            assert_eq!(
                last.within.villages + last.beyond.villages + a.without_time.villages,
                d.villages.total.villages
            );
        }
    }
    let d3 = r.report(2, "2026-12-05").unwrap();
    assert_eq!(d3.villages.total, tally(0, Some(0), 0));
    assert!(matches!(
        w.data.find("999999"),
        Err(ReportError::UnknownDistrict { code, .. }) if code == "999999"
    ));
}

#[test]
fn water_systems_and_distances_match_the_hand_computation() {
    let w = world();
    let r = w.reporter();
    let d1 = r.report(0, "d").unwrap().water;
    assert!(d1.available);
    // W1 and W4 (operativo) lie in D1.
    let rows: Vec<(&str, usize, Option<i64>)> = d1
        .by_status
        .iter()
        .map(|s| (s.status.as_str(), s.systems, s.households_served))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("operational", 2, Some(80)),
            ("partial", 0, None),
            ("down", 0, None),
            ("unknown", 0, None),
        ]
    );
    // W1 is 500 m north of V1, 583 m from V2 and 673 m from V7: all served.
    assert_eq!(d1.villages_without, tally(0, Some(0), 0));
    let d2 = r.report(1, "d").unwrap().water;
    let rows: Vec<(usize, Option<i64>)> = d2
        .by_status
        .iter()
        .map(|s| (s.systems, s.households_served))
        .collect();
    assert_eq!(
        rows,
        vec![(0, None), (1, Some(20)), (1, None), (1, Some(10))]
    );
    assert_eq!(d2.systems, 3);
    // V3 is 900 m from W4 (in D1): served. V4 stands on W2, but W2 is only
    // partial: its nearest operational system is W1, hypot(1020, 500) m away.
    let listed: Vec<(&str, Option<u64>, Option<f64>)> = d2
        .villages
        .iter()
        .map(|v| (v.code.as_str(), v.population, v.nearest_operational_m))
        .collect();
    let m = |dx: f64| Some(dx.hypot(500.0).round());
    assert_eq!(
        listed,
        vec![
            ("V6", Some(600), m(2730.0 - 210.0)),
            ("V5", Some(500), m(1650.0 - 210.0)),
            ("V4", Some(400), m(1230.0 - 210.0)),
        ]
    );
    assert_eq!(d2.villages_without, tally(3, Some(1500), 0));
    assert!((d2.radius_m - 1000.0).abs() < f64::EPSILON);
}

#[test]
fn households_are_protected_across_and_within_districts() {
    let mut w = world();
    let h = w.reporter().report(0, "d").unwrap().households;
    // D1: 12 households, alto 3, medio 4, bajo 5 (the violence risk is not
    // counted): alto and medio are under 5 (k = 2, H = 7 ≥ 6); the total
    // rounds to 10, bajo 5 to 5. Anaemia 4 of 12: hidden with its
    // complement; danger signs 3 of 12: hidden; malnutrition 0: shown.
    assert_eq!(h.households, Shown::Count(10));
    let levels: Vec<Shown> = h.risk_levels.iter().map(|l| l.households).collect();
    assert_eq!(
        levels,
        vec![Shown::Suppressed, Shown::Suppressed, Shown::Count(5)]
    );
    let flags: Vec<(&str, Shown)> = h
        .flags
        .iter()
        .map(|f| (f.flag.as_str(), f.households))
        .collect();
    assert_eq!(
        flags,
        vec![
            ("anaemia", Shown::Suppressed),
            ("malnutrition", Shown::Count(0)),
            ("danger_signs", Shown::Suppressed),
        ]
    );
    assert_eq!(
        w.reporter().report(2, "d").unwrap().households.households,
        Shown::Count(20)
    );
    assert_eq!(
        w.reporter().report(1, "d").unwrap().households.households,
        Shown::Count(0)
    );

    // Two households in D2: under 5. Knowing the store's total (32), D1 and
    // D3 would give D2 by subtraction: the smallest other district, D1 (12),
    // is hidden too (k = 2, H = 14), with every figure of it.
    w.data.households = vec![households(&[
        (300.0, "S1", "aaammmmbbbbb"),
        (1230.0, "S2", "bb"),
        (3900.0, "S3", &"b".repeat(20)),
    ])];
    let r = w.reporter();
    for i in [0, 1] {
        let h = r.report(i, "d").unwrap().households;
        assert_eq!(h.households, Shown::Suppressed, "district {i}");
        assert!(
            h.risk_levels
                .iter()
                .all(|l| l.households == Shown::Suppressed)
        );
        assert!(h.flags.iter().all(|f| f.households == Shown::Suppressed));
    }
    assert_eq!(
        r.report(2, "d").unwrap().households.households,
        Shown::Count(20)
    );

    // The contributor rule: in D3, sector S3 holds 17 of 20 households and
    // would learn that S4 holds 3: D3 is hidden, and D1 with it (complementary).
    w.data.households = vec![households(&[
        (300.0, "S1", "aaammmmbbbbb"),
        (3900.0, "S3", &"b".repeat(17)),
        (3950.0, "S4", "bbb"),
    ])];
    let r = w.reporter();
    assert_eq!(
        r.report(2, "d").unwrap().households.households,
        Shown::Suppressed
    );
    assert_eq!(
        r.report(0, "d").unwrap().households.households,
        Shown::Suppressed
    );

    // Within a district: 5 households, alto 1 and medio 4. The levels table
    // cannot hide them without its total (k = 2, H = 5 < 6), so D1's total is
    // hidden, and D3 with it across districts.
    w.data.households = vec![households(&[
        (300.0, "S1", "ammmm"),
        (3900.0, "S3", &"b".repeat(20)),
    ])];
    let r = w.reporter();
    let h = r.report(0, "d").unwrap().households;
    assert_eq!(h.households, Shown::Suppressed);
    assert!(
        h.risk_levels
            .iter()
            .all(|l| l.households == Shown::Suppressed)
    );
    assert_eq!(
        r.report(2, "d").unwrap().households.households,
        Shown::Suppressed
    );
    let index = r.index(
        &(0..3)
            .map(|i| r.report(i, "d").unwrap())
            .collect::<Vec<_>>(),
        "d",
    );
    assert_eq!(index.households_outside_districts, Some(Shown::Count(0)));
}

/// Every published household figure over many random layouts: no count of
/// 1 to 4 is ever shown, and with the store's total, the shown districts and
/// the shown parts of a district known, no hidden cell is pinned below 5.
#[test]
fn no_household_figure_under_five_is_recoverable() {
    use rand::{Rng, SeedableRng};
    let mut w = world();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(29_733);
    let xs = [300.0, 1230.0, 3900.0, 9_000.0];
    for _ in 0..300 {
        let mut rows = Vec::new();
        let mut per_cell = [0_u64; 4];
        for (cell, &x) in xs.iter().enumerate() {
            for sector in ["S1", "S2"] {
                let n = rng.random_range(0..9);
                let levels: String = (0..n)
                    .map(|_| ['a', 'm', 'b', 'v'][rng.random_range(0..4)])
                    .collect();
                per_cell[cell] += n as u64;
                rows.push((x, sector, levels));
            }
        }
        let rows: Vec<(f64, &str, &str)> =
            rows.iter().map(|(x, s, l)| (*x, *s, l.as_str())).collect();
        w.data.households = vec![households(&rows)];
        let r = w.reporter();
        let reports: Vec<DistrictReport> = (0..3).map(|i| r.report(i, "d").unwrap()).collect();
        let index = r.index(&reports, "d");
        let mut shown = Vec::new();
        let mut hidden = Vec::new();
        for (i, rep) in reports.iter().enumerate() {
            let h = &rep.households;
            let all: Vec<Shown> = std::iter::once(h.households)
                .chain(h.risk_levels.iter().map(|l| l.households))
                .chain(h.flags.iter().map(|f| f.households))
                .collect();
            for s in &all {
                assert!(
                    !matches!(s, Shown::Under) && s.value().is_none_or(|v| v == 0 || v >= MIN_CELL),
                    "{s:?} in {rows:?}"
                );
            }
            if h.households == Shown::Suppressed {
                assert!(all.iter().all(|s| *s == Shown::Suppressed), "{all:?}");
                hidden.push(per_cell[i]);
            } else {
                shown.push(per_cell[i]);
                // The levels of a shown district: hidden cells two or more,
                // adding up to at least their number plus 4.
                let exact = level_counts(&rows, xs[i]);
                let hid: Vec<u64> = h
                    .risk_levels
                    .iter()
                    .zip(exact)
                    .filter(|(l, _)| l.households == Shown::Suppressed)
                    .map(|(_, c)| c)
                    .collect();
                let k = hid.len() as u64;
                assert!(
                    k == 0 || (k >= 2 && hid.iter().sum::<u64>() >= k + 4),
                    "{hid:?}"
                );
            }
            assert_eq!(h.flags.len(), FLAGS.len());
        }
        if index.households_outside_districts == Some(Shown::Suppressed) {
            hidden.push(per_cell[3]);
        }
        // Across districts: what is hidden, two cells or more, adds up to at
        // least their number plus 4 (so no one of them is pinned under 5).
        let k = hidden.iter().filter(|&&n| n > 0).count() as u64;
        let h: u64 = hidden.iter().sum();
        assert!(
            k == 0 || (k >= 2 && h >= k + 4),
            "{hidden:?} hidden, {shown:?} shown"
        );
    }
}

fn level_counts(rows: &[(f64, &str, &str)], x: f64) -> [u64; 3] {
    let mut c = [0; 3];
    for (rx, _, levels) in rows {
        if (rx - x).abs() < 1e-9 {
            for l in levels.chars() {
                c[match l {
                    'a' => 0,
                    'm' => 1,
                    _ => 2,
                }] += 1;
            }
        }
    }
    c
}

#[test]
fn without_a_search_the_access_tables_say_why() {
    let w = world();
    let r = Reporter::new(
        &w.data,
        Searches {
            any_facility: Err("no DEM in the store".to_owned()),
            birth_care: Err("no facility with birth care".to_owned()),
        },
        &TestProjections,
    );
    let rep = r.report(0, "d").unwrap();
    assert_eq!(
        rep.any_facility.unavailable.as_deref(),
        Some("no DEM in the store")
    );
    assert!(rep.any_facility.bands.is_empty());
    assert_eq!(rep.villages.total, tally(3, Some(370), 0));
    let html = render::html(&rep, Lang::Es);
    assert!(
        html.contains("No disponible: no DEM in the store"),
        "{html}"
    );
}

#[test]
fn renders_csv_html_and_json_from_the_same_report() {
    let w = world();
    let r = w.reporter();
    let rep = r.report(1, "2026-12-05").unwrap();
    let csv = render::csv(&rep);
    assert!(csv.starts_with("\u{feff}district_code,district_name,table,row,column,value\n"));
    for line in [
        "010102,Distrito 010102,villages,all,villages,4",
        "010102,Distrito 010102,villages,all,population,1500",
        "010102,Distrito 010102,any_facility,beyond_120,population,\n",
        "010102,Distrito 010102,any_facility,beyond_120,villages_without_population,1",
        "010102,Distrito 010102,birth_care,within_240,villages,3",
        "010102,Distrito 010102,water_systems,partial,systems,1",
        "010102,Distrito 010102,villages_without_water,V6,nearest_operational_m,2569",
        "010102,Distrito 010102,households,all,households,0",
    ] {
        assert!(csv.contains(line), "{line} not in\n{csv}");
    }
    let es = render::html(&rep, Lang::Es);
    assert!(es.starts_with("<!DOCTYPE html>\n<html lang=\"es\">"));
    assert!(es.contains("<title>Informe distrital: Distrito 010102 (010102)</title>"));
    assert!(es.contains("@page { size: A4;"));
    assert!(es.contains("Fecha: 2026-12-05"));
    assert!(es.contains("Pueblo V6"));
    // Offline: no external asset, no script.
    for bad in ["http://", "https://", "<script", "<link", "src="] {
        assert!(!es.contains(bad), "{bad}");
    }
    let en = render::html(&rep, Lang::En);
    assert!(en.contains("<html lang=\"en\">") && en.contains("District report: Distrito 010102"));
    let json = serde_json::to_value(&rep).unwrap();
    assert_eq!(json["villages"]["villages"], 4);
    assert_eq!(
        json["any_facility"]["bands"][1]["beyond"]["population"],
        serde_json::Value::Null
    );
    assert_eq!(json["households"]["households"], 0);
    let reports: Vec<DistrictReport> = (0..3).map(|i| r.report(i, "d").unwrap()).collect();
    let index = r.index(&reports, "d");
    let csv = render::index_csv(&index);
    assert!(
        csv.contains("010101,Distrito 010101,010101.html,3,370,0,0,370,0,0,10\n"),
        "{csv}"
    );
    assert!(render::index_html(&index, Lang::Es).contains("<a href=\"010102.html\">010102</a>"));
}

#[test]
fn vocabulary_and_dates() {
    assert_eq!("ES".parse::<Lang>(), Ok(Lang::Es));
    assert_eq!(" en ".parse::<Lang>(), Ok(Lang::En));
    assert!(
        "fr".parse::<Lang>()
            .unwrap_err()
            .to_string()
            .contains("es, en")
    );
    assert_eq!("CSV".parse::<Format>(), Ok(Format::Csv));
    assert!("pdf".parse::<Format>().is_err());
    // 2026-12-05 04:59 UTC is still 2026-12-04 in Peru.
    assert_eq!(peru_date(1_796_446_740), "2026-12-04");
    assert_eq!(peru_date(1_796_446_800), "2026-12-05");
    assert_eq!(peru_date(0), "1969-12-31");
}
