//! Acceptance tests of monitoring: indicator tables (exact and protected) on a
//! small generated dataset, the difference in differences against an
//! independent OLS with community-clustered errors, the size of the
//! permutation test, the visit schedule per role.
//!
//! Reference values were computed with statsmodels (Python, from PyPI):
//! `proportion_confint(n, d, alpha=0.05, method="wilson")`,
//! `confint_proportions_2indep(14, 27, 12, 40, method="newcomb", compare="diff")`
//! and `OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": community})`
//! with X = (1, T, E, T·E) on one row per household.

use super::config::Indicators;
use super::data::Records;
use super::did::{CommunityCounts, did, did_from_counts};
use super::table::{By, IndicatorTable, Period, Row, indicator_table};
use super::visits::{Due, due_visits};
use chaski_core::auth::{Access, Role};
use chaski_core::disclosure::Shown;
use chaski_core::{Feature, Layer, LayerKind, Value};
use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A household record: community, sector, facility, round, date, fields.
struct H<'a> {
    community: &'a str,
    sector: &'a str,
    round: i64,
    date: &'a str,
    fields: Vec<(&'a str, Value)>,
}

fn layer(rows: &[H]) -> Layer {
    let mut layer = Layer::new("households", LayerKind::Households);
    let n = layer.fields.len();
    for (k, h) in rows.iter().enumerate() {
        let mut v = vec![Value::Null; n];
        let mut set = |f: &str, x: Value| v[layer.field_index(f).unwrap()] = x;
        set("code", format!("H{k}").into());
        set("community", h.community.into());
        set("cha_sector", h.sector.into());
        set("facility", format!("F-{}", h.community).into());
        set("visit_round", Value::Int(h.round));
        if !h.date.is_empty() {
            set("visit_date", h.date.into());
        }
        for (f, x) in &h.fields {
            set(f, x.clone());
        }
        layer.features.push(Feature {
            fid: k as i64 + 1,
            geometry: geo::Point::new(-74.0, -13.0).into(),
            values: v,
        });
    }
    layer
}

fn communities(rows: &[(&str, &str, &str)]) -> Layer {
    let mut layer = Layer::new("communities", LayerKind::Communities);
    layer.fields.push(chaski_core::value::Field::new(
        "group",
        chaski_core::value::FieldType::Text,
    ));
    let n = layer.fields.len();
    for (k, (code, ubigeo, group)) in rows.iter().enumerate() {
        let mut v = vec![Value::Null; n];
        v[layer.field_index("code").unwrap()] = (*code).into();
        v[layer.field_index("ubigeo").unwrap()] = (*ubigeo).into();
        if !group.is_empty() {
            v[layer.field_index("group").unwrap()] = (*group).into();
        }
        layer.features.push(Feature {
            fid: k as i64 + 1,
            geometry: geo::Point::new(-74.0, -13.0).into(),
            values: v,
        });
    }
    layer
}

/// `d` households of `community` in `round`, `n` of them with safe water.
fn safe_water<'a>(out: &mut Vec<H<'a>>, community: &'a str, round: i64, d: usize, n: usize) {
    for i in 0..d {
        out.push(H {
            community,
            sector: community,
            round,
            date: "",
            fields: vec![("safe_water", (i < n).into())],
        });
    }
}

/// Six communities in two districts, round 1; C1 again in round 2.
fn dataset() -> (Layer, Layer) {
    let mut rows = Vec::new();
    for (c, d, n) in [
        ("C1", 40, 12),
        ("C2", 25, 7),
        ("C3", 3, 1),
        ("C4", 30, 9),
        ("C5", 20, 20),
        ("C6", 20, 0),
    ] {
        safe_water(&mut rows, c, 1, d, n);
    }
    safe_water(&mut rows, "C1", 2, 27, 14);
    // Unknown answers are outside the denominator.
    rows.push(H {
        community: "C1",
        sector: "C1",
        round: 1,
        date: "",
        fields: vec![],
    });
    let comms = communities(&[
        ("C1", "D1", ""),
        ("C2", "D1", ""),
        ("C3", "D1", ""),
        ("C4", "D2", ""),
        ("C5", "D2", ""),
        ("C6", "D2", ""),
    ]);
    (layer(&rows), comms)
}

fn table(access: &Access, by: By, protected: bool) -> IndicatorTable {
    let (h, c) = dataset();
    let records = Records::new(&[h], Some(&c), access, "group");
    let ind = Indicators::defaults();
    indicator_table(
        &records,
        &ind.select(Some("safe_water")).unwrap(),
        by,
        Period::Round,
        protected,
    )
    .unwrap()
}

fn row<'a>(t: &'a IndicatorTable, group: &str, period: &str) -> &'a Row {
    t.rows
        .iter()
        .find(|r| r.group == group && r.period == period)
        .unwrap_or_else(|| panic!("no row {group} {period}"))
}

/// statsmodels `proportion_confint(n, d, method="wilson")`.
const WILSON: [(u64, u64, f64, f64); 7] = [
    (12, 40, 0.180_748_452_297, 0.454_300_188_181),
    (7, 25, 0.142_838_538_510, 0.475_766_051_904),
    (1, 3, 0.061_491_944_720, 0.792_340_399_198),
    (9, 30, 0.166_647_482_682, 0.478_757_874_587),
    (20, 20, 0.838_874_841_947, 1.0),
    (0, 20, 0.0, 0.161_125_158_053),
    (14, 27, 0.339_856_157_550, 0.692_567_730_238),
];

#[test]
fn exact_table_matches_statsmodels() {
    let t = table(
        &Access::new(Role::Admin, None, false).unwrap(),
        By::Community,
        false,
    );
    assert_eq!(t.periods, vec!["1", "2"]);
    for ((group, period), (n, d, lo, hi)) in [
        ("C1", "1"),
        ("C2", "1"),
        ("C3", "1"),
        ("C4", "1"),
        ("C5", "1"),
        ("C6", "1"),
        ("C1", "2"),
    ]
    .into_iter()
    .zip(WILSON)
    {
        let r = row(&t, group, period);
        assert_eq!(
            (r.numerator, r.denominator),
            (Some(n), Some(d)),
            "{group} {period}"
        );
        assert!((r.low.unwrap() - lo).abs() < 1e-9, "{group}: {r:?}");
        assert!((r.high.unwrap() - hi).abs() < 1e-9, "{group}: {r:?}");
        assert!(!r.suppressed);
    }
    // Change of C1: 14/27 - 12/40, statsmodels' Newcombe interval.
    let r = row(&t, "C1", "2");
    assert!((r.change.unwrap() - (14.0 / 27.0 - 0.3)).abs() < 1e-12);
    assert!(
        (r.change_low.unwrap() - -0.017_550_935_880).abs() < 1e-9,
        "{r:?}"
    );
    assert!(
        (r.change_high.unwrap() - 0.429_502_071_739).abs() < 1e-9,
        "{r:?}"
    );
    assert_eq!(r.improved, None, "the interval holds 0");
    // By district (exact): D1 = 12+7+1 of 40+25+3.
    let t = table(
        &Access::new(Role::Admin, None, false).unwrap(),
        By::District,
        false,
    );
    let r = row(&t, "D1", "1");
    assert_eq!((r.numerator, r.denominator), (Some(20), Some(68)));
}

#[test]
fn protected_table_by_hand() {
    // Round 1: C3 (3 households) is under 5. With the store's total known,
    // one more community must go: the smallest denominator, C5 (20, first of
    // equals). Then households without safe water: C3 2, C5 0 — one non-zero
    // hidden cell, so C2 (18, the smallest) goes too. District D1 = C1 + C2 +
    // C3: its hidden C2, C3 hold 28, 8, 20 (fine). District D2 = C4 + C5 + C6:
    // C5 alone is hidden, so C6 (20) goes, then for the numerator (C5 20, C6
    // 0) C4 (9). Only C1 remains.
    for access in [
        Access::public(),
        Access::new(Role::Analyst, None, false).unwrap(),
    ] {
        let t = table(&access, By::Community, true);
        let shown: Vec<&str> = t
            .rows
            .iter()
            .filter(|r| r.period == "1" && !r.suppressed)
            .map(|r| r.group.as_str())
            .collect();
        assert_eq!(shown, vec!["C1"]);
        for r in t.rows.iter().filter(|r| r.suppressed) {
            assert!(r.numerator.is_none() && r.denominator.is_none() && r.proportion.is_none());
            assert!(r.low.is_none() && r.change.is_none());
        }
        let c1 = row(&t, "C1", "1");
        // Counts rounded to 5, proportions to 0.1 point.
        assert_eq!((c1.numerator, c1.denominator), (Some(10), Some(40)));
        assert_eq!(
            (c1.proportion, c1.low, c1.high),
            (Some(0.3), Some(0.181), Some(0.454))
        );
        // Round 2: C1 alone, 14 of 27.
        let c1 = row(&t, "C1", "2");
        assert_eq!(
            (c1.numerator, c1.denominator, c1.low),
            (Some(15), Some(25), Some(0.340))
        );
        assert_eq!(c1.change, Some(0.219));

        let t = table(&access, By::District, true);
        let (d1, d2) = (row(&t, "D1", "1"), row(&t, "D2", "1"));
        assert_eq!(
            (d1.numerator, d1.denominator, d1.low),
            (Some(20), Some(70), Some(0.199))
        );
        assert_eq!(
            (d2.numerator, d2.denominator, d2.high),
            (Some(30), Some(70), Some(0.531))
        );
        assert!(!d1.suppressed && !d2.suppressed);
    }
    // Sector tables are not for aggregates-only callers.
    let (h, c) = dataset();
    let records = Records::new(&[h], Some(&c), &Access::public(), "group");
    let ind = Indicators::defaults();
    let e = indicator_table(
        &records,
        &ind.list.iter().collect::<Vec<_>>(),
        By::Sector,
        Period::Round,
        true,
    )
    .unwrap_err();
    assert!(e.to_string().contains("by: 'sector'"), "{e}");
}

#[test]
fn scoped_tables_hold_only_the_scope() {
    let t = table(
        &Access::new(Role::Cha, Some("C2".into()), false).unwrap(),
        By::Community,
        false,
    );
    let groups: Vec<&str> = t.rows.iter().map(|r| r.group.as_str()).collect();
    assert_eq!(groups, vec!["C2"]);
    assert_eq!(row(&t, "C2", "1").numerator, Some(7));
    let t = table(
        &Access::new(Role::Facility, Some("F-C3".into()), false).unwrap(),
        By::Sector,
        false,
    );
    assert_eq!(t.rows.len(), 1);
    assert_eq!(
        (t.rows[0].numerator, t.rows[0].denominator),
        (Some(1), Some(3))
    );
}

#[test]
fn group_totals_protect_communities() {
    // Intervention C1 (40) and C3 (3); control C2 (25) and C4 (30). Hiding C3
    // and C2 protects the store's total, but the intervention total minus C1
    // would give C3: C1 is hidden too, then C4 for the control group's total.
    let mut rows = Vec::new();
    for (c, d, n) in [("C1", 40, 12), ("C2", 25, 7), ("C3", 3, 1), ("C4", 30, 9)] {
        safe_water(&mut rows, c, 1, d, n);
    }
    let comms = communities(&[
        ("C1", "D1", "intervention"),
        ("C2", "D1", "control"),
        ("C3", "D1", "Intervention"),
        ("C4", "D2", "control"),
    ]);
    let records = Records::new(&[layer(&rows)], Some(&comms), &Access::public(), "group");
    let ind = Indicators::defaults();
    let t = indicator_table(
        &records,
        &ind.select(Some("safe_water")).unwrap(),
        By::Community,
        Period::Round,
        true,
    )
    .unwrap();
    assert!(t.rows.iter().all(|r| r.suppressed), "{:?}", t.rows);
}

#[test]
fn contributor_rule_hides_a_community() {
    // C1: 30 households, 27 of sector A and 3 of sector B: sector A's CHA
    // would learn B's 3 by subtraction.
    let mut rows = Vec::new();
    safe_water(&mut rows, "C1", 1, 30, 10);
    for r in rows.iter_mut().skip(27) {
        r.sector = "B";
    }
    safe_water(&mut rows, "C2", 1, 30, 10);
    safe_water(&mut rows, "C3", 1, 30, 10);
    let records = Records::new(&[layer(&rows)], None, &Access::public(), "group");
    let ind = Indicators::defaults();
    let t = indicator_table(
        &records,
        &ind.select(Some("safe_water")).unwrap(),
        By::Community,
        Period::Round,
        true,
    )
    .unwrap();
    let hidden: Vec<&str> = t
        .rows
        .iter()
        .filter(|r| r.suppressed)
        .map(|r| r.group.as_str())
        .collect();
    assert_eq!(hidden, vec!["C1", "C2"]);
}

#[test]
fn months_and_quarters() {
    let mut rows = Vec::new();
    for (i, date) in ["2026-01-10", "2026-02-03", "2026-04-30"]
        .iter()
        .enumerate()
    {
        for k in 0..10 {
            rows.push(H {
                community: "C1",
                sector: "S",
                round: 1,
                date,
                fields: vec![("sanitation", (k < 2 + 2 * i).into())],
            });
        }
    }
    let records = Records::new(
        &[layer(&rows)],
        None,
        &Access::new(Role::Admin, None, false).unwrap(),
        "group",
    );
    let ind = Indicators::defaults();
    let sel = ind.select(Some("sanitation")).unwrap();
    let t = indicator_table(&records, &sel, By::Community, Period::Month, false).unwrap();
    assert_eq!(t.periods, vec!["2026-01", "2026-02", "2026-04"]);
    assert_eq!(t.rows[2].numerator, Some(6));
    let t = indicator_table(&records, &sel, By::Community, Period::Quarter, false).unwrap();
    assert_eq!(t.periods, vec!["2026-Q1", "2026-Q2"]);
    assert_eq!(
        (t.rows[0].numerator, t.rows[0].denominator),
        (Some(6), Some(20))
    );
}

/// The DiD panel of the module documentation's reference (statsmodels):
/// community, intervention, baseline (d, n), endline (d, n).
/// Intervention, baseline (d, n), endline (d, n).
type Community = (bool, (u64, u64), (u64, u64));

const PANEL: [Community; 14] = [
    (true, (20, 6), (23, 5)),
    (true, (27, 9), (30, 7)),
    (true, (23, 8), (26, 7)),
    (true, (30, 12), (33, 10)),
    (true, (26, 11), (29, 9)),
    (true, (22, 7), (25, 5)),
    (true, (29, 10), (32, 7)),
    (false, (25, 9), (28, 11)),
    (false, (21, 8), (24, 11)),
    (false, (28, 12), (31, 15)),
    (false, (24, 7), (27, 9)),
    (false, (20, 7), (23, 9)),
    (false, (27, 10), (30, 12)),
    (false, (23, 9), (26, 11)),
];

fn panel() -> Vec<CommunityCounts> {
    PANEL
        .iter()
        .map(|&(intervention, baseline, endline)| CommunityCounts {
            intervention,
            baseline,
            endline,
        })
        .collect()
}

#[test]
fn did_equals_clustered_ols() {
    let d = did_from_counts(&panel(), 999, 2026).unwrap();
    // statsmodels OLS, cov_type="cluster" (CR1: G/(G-1)·(N-1)/(N-K)).
    assert!((d.estimate - -0.147_057_744_515).abs() < 1e-9, "{d:?}");
    assert!((d.std_error - 0.008_552_241_416).abs() < 1e-9, "{d:?}");
    assert_eq!(d.communities, [7, 7]);
    // Reproducible with the seed; a strong effect: no reassignment as extreme
    // except the observed one and its mirror image.
    let again = did_from_counts(&panel(), 999, 2026).unwrap();
    assert_eq!(d, again);
    assert!(d.p_value < 0.01, "{d:?}");
    assert_eq!(d.permutations, 999);
}

#[test]
fn did_through_records_and_protection() {
    // The same panel as household records: the estimate is the same; the
    // public gets it only when the group totals are published.
    let names = [
        "K0", "K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9", "K10", "K11", "K12", "K13",
    ];
    let mut rows = Vec::new();
    let mut comms = Vec::new();
    for (k, &(t, b, e)) in PANEL.iter().enumerate() {
        safe_water(&mut rows, names[k], 1, b.0 as usize, b.1 as usize);
        safe_water(&mut rows, names[k], 2, e.0 as usize, e.1 as usize);
        comms.push((names[k], "D1", if t { "intervention" } else { "control" }));
    }
    let c = communities(&comms);
    let ind = Indicators::defaults();
    let sw = ind.find("safe_water").unwrap();
    let records = Records::new(&[layer(&rows)], Some(&c), &Access::public(), "group");
    let row = did(&records, sw, &ind.design, 199, 7, true);
    assert!(!row.suppressed, "{row:?}");
    let d = row.did.unwrap();
    assert!((d.estimate - -0.147_057_744_515).abs() < 1e-9);
    assert_eq!(d.households, [170, 190, 175, 200]); // 168, 189, 177, 198 rounded to 5
    // An endline without one of the groups: no estimate, the reason given.
    let mut design = ind.design.clone();
    design.endline = 3;
    let row = did(&records, sw, &design, 199, 7, false);
    assert!(row.problem.unwrap().contains("endline round 3"));
}

#[test]
fn permutation_test_size_under_no_effect() {
    // 200 seeded panels of 31 communities (17 intervention, 14 control, as in
    // the VRAEM evaluation) with no effect: community-level random effects,
    // a common time trend. 199 permutations each (fewer than the 999 of
    // `chaski did`, to keep the test fast).
    let mut rejections = 0;
    for seed in 0..200_u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let data: Vec<CommunityCounts> = (0..31)
            .map(|g| {
                let base: f64 = rng.random_range(0.2..0.6);
                let mut draw = |p: f64, d: u64| {
                    (
                        d,
                        (0..d)
                            .filter(|_| rng.random_bool(p.clamp(0.0, 1.0)))
                            .count() as u64,
                    )
                };
                let d = 15 + (g % 7) as u64 * 3;
                let b = draw(base, d);
                let e = draw(base - 0.05, d);
                CommunityCounts {
                    intervention: g < 17,
                    baseline: b,
                    endline: e,
                }
            })
            .collect();
        let d = did_from_counts(&data, 199, seed).unwrap();
        if d.p_value < 0.05 {
            rejections += 1;
        }
    }
    eprintln!("permutation test under no effect: {rejections} of 200 datasets gave p < 0.05");
    assert!(
        rejections <= 10,
        "{rejections} of 200 datasets gave p < 0.05"
    );
}

fn visits_layer() -> (Layer, Layer) {
    let mut rows = Vec::new();
    // Sector S1 (facility F-C1): 6 alto households never visited or long ago,
    // one alto visited recently, one bajo long ago.
    for k in 0..6 {
        rows.push(H {
            community: "C1",
            sector: "S1",
            round: 1,
            date: if k < 3 { "" } else { "2026-01-05" },
            fields: vec![("danger_signs", true.into())],
        });
    }
    rows.push(H {
        community: "C1",
        sector: "S1",
        round: 1,
        date: "2026-04-01",
        fields: vec![("danger_signs", true.into())],
    });
    rows.push(H {
        community: "C1",
        sector: "S1",
        round: 1,
        date: "2026-01-01",
        fields: vec![],
    });
    // Sector S2: 2 medio households due (a pregnancy).
    for _ in 0..2 {
        rows.push(H {
            community: "C1",
            sector: "S2",
            round: 1,
            date: "2026-02-01",
            fields: vec![("pregnant", Value::Int(1))],
        });
    }
    // Sector S3 (facility F-C2): 7 due.
    for _ in 0..7 {
        rows.push(H {
            community: "C2",
            sector: "S3",
            round: 1,
            date: "2026-02-01",
            fields: vec![("under2", Value::Int(1))],
        });
    }
    (
        layer(&rows),
        communities(&[("C1", "D1", ""), ("C2", "D1", "")]),
    )
}

fn due(access: &Access) -> Due {
    let (h, c) = visits_layer();
    let records = Records::new(&[h], Some(&c), access, "group");
    due_visits(
        &records,
        access.role,
        NaiveDate::from_ymd_opt(2026, 4, 15).unwrap(),
        30,
    )
}

#[test]
fn visit_schedule_per_role() {
    // A CHA: its own sector's list, never visited first.
    let Due::List(list) = due(&Access::new(Role::Cha, Some("S1".into()), false).unwrap()) else {
        panic!("a CHA gets a list")
    };
    assert_eq!(list.len(), 6);
    assert!(
        list.iter()
            .all(|h| h.cha_sector == "S1" && h.risk_level == "alto")
    );
    assert_eq!(list[0].last_visit, None);
    assert_eq!(list[5].days_since, Some(100));
    // Another sector's CHA sees none of S1.
    let Due::List(list) = due(&Access::new(Role::Cha, Some("S2".into()), false).unwrap()) else {
        panic!()
    };
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .all(|h| h.cha_sector == "S2" && h.risk_level == "medio")
    );
    // A CHA of a sector with no household: an empty list.
    let Due::List(list) = due(&Access::new(Role::Cha, Some("S9".into()), false).unwrap()) else {
        panic!()
    };
    assert!(list.is_empty());
    // Analyst: counts per sector, S2's 2 suppressed and S1's 6 with it
    // (complementary), S3's 7 shown rounded to 5.
    let Due::Counts(c) = due(&Access::new(Role::Analyst, None, false).unwrap()) else {
        panic!("an analyst gets counts")
    };
    let got: Vec<(&str, Shown)> = c.iter().map(|c| (c.cha_sector.as_str(), c.due)).collect();
    assert_eq!(
        got,
        vec![
            ("S1", Shown::Suppressed),
            ("S2", Shown::Suppressed),
            ("S3", Shown::Count(5))
        ]
    );
    // Facility F-C1 (sectors S1 and S2): counts of its own households only.
    let Due::Counts(c) = due(&Access::new(Role::Facility, Some("F-C1".into()), false).unwrap())
    else {
        panic!("a facility gets counts")
    };
    let got: Vec<(&str, Shown)> = c.iter().map(|c| (c.cha_sector.as_str(), c.due)).collect();
    assert_eq!(
        got,
        vec![("S1", Shown::Suppressed), ("S2", Shown::Suppressed)]
    );
    // Admin: every list; the public: nothing.
    let Due::List(list) = due(&Access::new(Role::Admin, None, false).unwrap()) else {
        panic!()
    };
    assert_eq!(list.len(), 15);
    assert_eq!(due(&Access::public()), Due::Refused);
}

proptest::proptest! {
    /// The hand-written date reader agrees with chrono's `%Y-%m-%d` parser:
    /// on every `DDDD-DD-DD` text (what imports store) and on every text it
    /// accepts.
    #[test]
    fn dates_read_as_chrono_reads_them(
        s in "[0-9]{4}-[0-9]{2}-[0-9]{2}(T10:00)?|[0-9/ -]{0,12}|.{0,12}"
    ) {
        let chrono = s
            .trim()
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let got = super::data::parse_date(&Value::Text(s.clone()));
        let stored_form = s.trim().as_bytes().get(..10).is_some_and(|d| {
            d.iter()
                .enumerate()
                .all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
        });
        if stored_form || got.is_some() {
            proptest::prop_assert_eq!(got, chrono);
        }
    }
}

proptest::proptest! {
    /// The CSV writer's short way of writing numbers with four decimals
    /// writes what `format!("{x:.4}")` writes: on any number, on
    /// proportions and their differences, and on the ties of binary
    /// fractions (1/32 = 0.03125).
    #[test]
    fn four_decimals_as_the_formatter_writes_them(
        x in proptest::num::f64::ANY,
        n in 0_u32..5_000,
        d in 1_u32..5_000,
        m in 0_u32..5_000,
        e in 1_u32..5_000,
        tie in -4096_i32..4096,
    ) {
        let p = f64::from(n.min(d)) / f64::from(d);
        let q = f64::from(m.min(e)) / f64::from(e);
        for v in [x, p, q, p - q, -p, f64::from(tie) / 32.0 / 1000.0, f64::from(tie) / 2e4] {
            let mut got = String::new();
            super::table::push_fixed4(&mut got, v);
            proptest::prop_assert_eq!(got, format!("{v:.4}"));
        }
    }
}

/// The latest record of each household and period is the same whatever the
/// hash households are found by: every household given one hash (all in
/// the collision path) and the real hash agree with a direct search.
#[test]
fn latest_records_do_not_depend_on_the_hash() {
    use super::data::Obs;
    use super::predicate::Record;
    use super::table::keep_latest;
    let mut r = Records::default();
    let unknown = r.sectors.id(super::data::UNKNOWN);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut periods = Vec::new();
    for _ in 0..600 {
        let sector = if rng.random_bool(0.2) {
            unknown
        } else {
            r.sectors.id(&format!("S{}", rng.random_range(0..4)))
        };
        let facility = r.facilities.id(&format!("F{}", rng.random_range(0..3)));
        let community = r.communities.id("C1");
        let code = if rng.random_bool(0.05) {
            String::new()
        } else {
            format!("H{}", rng.random_range(0..40))
        };
        let date = NaiveDate::from_ymd_opt(2026, 1, rng.random_range(1..=28));
        r.list.push(Obs {
            code,
            community,
            sector,
            facility,
            round: None,
            date,
            record: Record::default(),
        });
        periods.push(if rng.random_bool(0.05) {
            None
        } else {
            Some(rng.random_range(0..3_u32))
        });
    }
    // Directly: per household and period, the last record of the latest date.
    let place = |o: &Obs| {
        if o.sector == unknown {
            o.facility
        } else {
            u32::MAX
        }
    };
    let mut want: Vec<(usize, u32)> = Vec::new();
    for (i, (o, t)) in r.list.iter().zip(&periods).enumerate() {
        let Some(t) = *t else { continue };
        if o.code.is_empty() {
            want.push((i, t));
            continue;
        }
        let same = |&(j, tj): &(usize, u32)| {
            let p: &Obs = &r.list[j];
            tj == t && p.sector == o.sector && place(p) == place(o) && p.code == o.code
        };
        match want.iter().position(same) {
            Some(at) if o.date >= r.list[want[at].0].date => want[at] = (i, t),
            Some(_) => {}
            None => want.push((i, t)),
        }
    }
    assert!(want.len() < 500, "duplicates present: {}", want.len());
    let real = keep_latest(
        &r,
        periods.iter().copied(),
        |k| {
            use std::hash::{Hash, Hasher};
            let mut h = rustc_hash::FxHasher::default();
            k.hash(&mut h);
            h.finish()
        },
        r.len(),
    );
    let one_hash = keep_latest(&r, periods.iter().copied(), |_| 7, 1);
    let two_hashes = keep_latest(&r, periods.iter().copied(), |k| u64::from(k.3 % 2), 0);
    assert_eq!(real, want);
    assert_eq!(one_hash, want);
    assert_eq!(two_hashes, want);
}

/// On enough records to be counted on several threads (the latest records
/// of each period found side by side, the counts added up by blocks), the
/// cells equal a count done directly: per household and round the latest
/// record, its indicators tested one by one.
#[test]
fn cells_counted_in_parallel_equal_a_direct_count() {
    use super::data::Obs;
    use super::predicate::Record;
    use std::collections::HashMap;
    // Per cell (period, community, sector, facility): (d, n) per indicator.
    type Counts = HashMap<(u32, u32, u32, u32), Vec<(u64, u64)>>;
    let mut r = Records::default();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let fields = [
        "under5",
        "malnutrition",
        "anaemia",
        "pregnant",
        "safe_water",
        "sanitation",
    ];
    for _ in 0..70_000 {
        let c = rng.random_range(0..50_u32);
        let community = r.communities.id(&format!("C{c}"));
        if r.district_of.len() < r.communities.len() {
            r.district_of.push(r.districts.id(&format!("D{}", c % 4)));
            r.group_of.push(r.groups.id("unknown"));
        }
        let sector = r
            .sectors
            .id(&format!("S{}", c * 2 + rng.random_range(0..2)));
        let facility = r.facilities.id(&format!("F{}", c % 7));
        let mut record = Record::default();
        for f in fields {
            let v = rng.random_range(-1..3_i64);
            record.set(f, (v >= 0).then_some(v.min(1)));
        }
        r.list.push(Obs {
            // 20,000 households over 50 communities: repeated within a round.
            code: format!("H{}", rng.random_range(0..400)),
            community,
            sector,
            facility,
            round: rng.random_bool(0.98).then(|| rng.random_range(1..=4)),
            date: NaiveDate::from_ymd_opt(2026, rng.random_range(1..=12), rng.random_range(1..=28)),
            record,
        });
    }
    let ind = Indicators::defaults();
    let sel = ind.select(None).unwrap();
    let cells = super::table::cells(&r, &sel, Period::Round);
    let got: Counts = cells
        .keys
        .iter()
        .enumerate()
        .map(|(s, &key)| (key, cells.counts[s * cells.k..(s + 1) * cells.k].to_vec()))
        .collect();
    // Directly: the latest record (last of the latest date) of each
    // household (code, sector) and round.
    let mut latest: HashMap<(&str, u32, i64), usize> = HashMap::new();
    for (i, o) in r.list.iter().enumerate() {
        let Some(round) = o.round else { continue };
        let e = latest
            .entry((o.code.as_str(), o.sector, round))
            .or_insert(i);
        if o.date >= r.list[*e].date {
            *e = i;
        }
    }
    assert!(
        latest.len() > 50_000 && latest.len() < 68_000,
        "{}",
        latest.len()
    );
    let mut want: Counts = HashMap::new();
    for (&(_, _, round), &i) in &latest {
        let o = &r.list[i];
        let t = u32::try_from(round - 1).unwrap();
        let c = want
            .entry((t, o.community, o.sector, o.facility))
            .or_insert_with(|| vec![(0, 0); sel.len()]);
        for (j, indicator) in sel.iter().enumerate() {
            if indicator.denominator.eval(&o.record) {
                c[j].0 += 1;
                c[j].1 += u64::from(indicator.numerator.eval(&o.record));
            }
        }
    }
    assert_eq!(cells.periods, ["1", "2", "3", "4"]);
    assert_eq!(got, want);
}
