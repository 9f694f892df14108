//! Tests of cluster detection on hand-built household layers.

#![allow(clippy::unwrap_used)]

use super::error::ClustersError;
use super::flags::{Flag, fields_used, holds, needed_fields, parse_flags};
use super::options::{By, ClusterOptions, GiValue, Method};
use super::rows::{ClusterRow, bernoulli_stats, cells, feature, properties, shown_polygon};
use super::run::find_clusters;
use crate::testing::TestProjections;
use chaski_core::layer::Layer;
use chaski_core::layer::{Feature, LayerKind};
use chaski_core::value::Field;
use chaski_core::value::{FieldType, Value};
use geo::{Geometry, Point};
use serde_json::json;

fn layer() -> Layer {
    let mut l = Layer::new("households", LayerKind::Households);
    l.fields = vec![
        Field::new("code", FieldType::Text),
        Field::new("pregnant", FieldType::Int),
        Field::new("anaemia", FieldType::Bool),
        Field::new("risk_level", FieldType::Text),
    ];
    for (k, (p, a, r)) in [
        (Value::Int(1), Value::Bool(true), "alto"),
        (Value::Int(0), Value::Null, "bajo"),
        (Value::Null, Value::Bool(false), "medio"),
    ]
    .into_iter()
    .enumerate()
    {
        l.features.push(Feature {
            fid: k as i64 + 1,
            geometry: Geometry::Point(Point::new(-74.0, -13.0)),
            values: vec![format!("H{k}").into(), p, a, r.into()],
        });
    }
    l
}

#[test]
fn flags_parse_and_hold() {
    let l = layer();
    let f = parse_flags(&l, "anaemia, pregnant>0,risk_level=ALTO,pregnant<=0").unwrap();
    assert_eq!(f.len(), 4);
    let got: Vec<Vec<bool>> = l
        .features
        .iter()
        .map(|feat| {
            f.iter()
                .map(|fl| holds(fl, &feat.values[fl.field]))
                .collect()
        })
        .collect();
    // Null never holds, for booleans and comparisons alike.
    assert_eq!(got[0], [true, true, true, false]);
    assert_eq!(got[1], [false, false, false, true]);
    assert_eq!(got[2], [false, false, false, false]);
    let e = parse_flags(&l, "anaemia,stunting").unwrap_err();
    assert_eq!(e.parameter(), Some("flags"));
    let e = e.to_string();
    // The list offers the risk fields only.
    assert!(
        e.contains("'stunting'") && e.contains("(valid fields: pregnant, anaemia, risk_level)"),
        "{e}"
    );
    assert!(parse_flags(&l, "pregnant").is_err());
    assert!(parse_flags(&l, "pregnant>x").is_err());
    assert!(parse_flags(&l, "anaemia=yes").is_ok());
    assert!(parse_flags(&l, "anaemia>yes").is_err());
    assert!(parse_flags(&l, " , ").is_err());
}

#[test]
fn the_needed_fields_give_the_same_flags_and_errors() {
    let mut l = layer();
    for f in ["community", "members", "cha"] {
        l.fields.push(Field::new(f, FieldType::Text));
    }
    for feat in &mut l.features {
        feat.values
            .extend(std::iter::repeat_n(Value::Text("X".into()), 3));
    }
    for spec in [
        "anaemia",
        "pregnant>0, risk_level=alto",
        "community=X",
        "cha=ACS1",
        "stunting",
        "anaemia,members",
    ] {
        let needed = needed_fields(spec);
        let needed: Vec<&str> = needed.iter().map(String::as_str).collect();
        let mut part = l.clone();
        let keep = chaski_core::store::FieldSelection::new(&part.fields, &needed);
        keep.apply(&mut part.fields);
        for feat in &mut part.features {
            keep.apply(&mut feat.values);
        }
        assert!(!part.fields.iter().any(|f| f.name == "cha") || spec.contains("cha"));
        let text = |r: Result<Vec<Flag>, ClustersError>| {
            r.map(|f| f.into_iter().map(|f| f.text).collect::<Vec<_>>())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            text(parse_flags(&part, spec)),
            text(parse_flags(&l, spec)),
            "{spec}"
        );
    }
}

/// 240 households in three hamlets of a few hundred metres, with every kind
/// of field a run may read and some it never does.
fn hamlets() -> Layer {
    let mut l = Layer::new("households", LayerKind::Households);
    l.fields = ["code", "community", "cha", "risk_level"]
        .into_iter()
        .map(|f| Field::new(f, FieldType::Text))
        .chain([
            Field::new("members", FieldType::Int),
            Field::new("pregnant", FieldType::Int),
            Field::new("anaemia", FieldType::Bool),
        ])
        .collect();
    for k in 0..240_i32 {
        let hamlet = k % 3;
        let (dx, dy) = (f64::from(k % 7) * 3e-4, f64::from(k % 11) * 2e-4);
        let lon = -74.0 + f64::from(hamlet) * 0.02 + dx;
        let lat = -13.0 + f64::from(hamlet) * 0.01 + dy;
        let anaemia = if k % 13 == 0 {
            Value::Null
        } else {
            Value::Bool(hamlet == 1 || k % 5 == 0)
        };
        l.features.push(Feature {
            fid: i64::from(k) + 1,
            geometry: Geometry::Point(Point::new(lon, lat)),
            values: vec![
                format!("H{k}").into(),
                format!("C{hamlet}").into(),
                "ACS1".into(),
                (if k % 4 == 0 { "alto" } else { "bajo" }).into(),
                Value::Int(i64::from(1 + k % 6)),
                Value::Int(i64::from(k % 2)),
                anaemia,
            ],
        });
    }
    l
}

#[test]
fn a_layer_of_the_fields_used_gives_the_same_clusters() {
    let l = hamlets();
    let base = ClusterOptions {
        flags: "anaemia".into(),
        replicates: 99,
        ..ClusterOptions::default()
    };
    for opts in [
        base.clone(),
        ClusterOptions {
            flags: "anaemia,risk_level=alto".into(),
            all: true,
            with_members: true,
            ..base.clone()
        },
        ClusterOptions {
            method: Method::Dbscan,
            eps_m: 120.0,
            k_distance: Some(3),
            ..base.clone()
        },
        ClusterOptions {
            method: Method::Dbscan,
            flags: "pregnant>0, members>=3".into(),
            with_members: true,
            ..base.clone()
        },
        ClusterOptions {
            method: Method::Gistar,
            cell_m: 100.0,
            k: 4,
            alpha: 0.9,
            value: GiValue::Count,
            ..base.clone()
        },
        ClusterOptions {
            method: Method::Gistar,
            by: By::Community,
            k: 1,
            alpha: 0.99,
            with_members: true,
            ..base.clone()
        },
    ] {
        let used = fields_used(&opts);
        let used: Vec<&str> = used.iter().map(String::as_str).collect();
        let mut part = l.clone();
        let keep = chaski_core::store::FieldSelection::new(&part.fields, &used);
        keep.apply(&mut part.fields);
        for feat in &mut part.features {
            keep.apply(&mut feat.values);
        }
        assert!(part.fields.len() < l.fields.len(), "{used:?}");
        let whole = find_clusters(&l, &opts, &TestProjections);
        let partial = find_clusters(&part, &opts, &TestProjections);
        assert!(whole.as_ref().is_ok_and(|c| !c.rows.is_empty()), "{opts:?}");
        assert_eq!(
            partial.as_ref().map_err(ToString::to_string),
            whole.as_ref().map_err(ToString::to_string),
            "{opts:?}"
        );
    }
}

#[test]
fn flags_name_risk_fields_only() {
    let mut l = layer();
    for f in [
        "community",
        "submission_uuid",
        "cha",
        "visit_date",
        "altura_casa",
    ] {
        l.fields.push(Field::new(f, FieldType::Text));
    }
    for feat in &mut l.features {
        feat.values
            .extend(std::iter::repeat_n(Value::Text("X".into()), 5));
    }
    for (flag, field) in [
        ("code=H0", "code"),
        ("anaemia,code!=H0", "code"),
        ("community=C1", "community"),
        ("submission_uuid=abc", "submission_uuid"),
        ("cha=ACS1", "cha"),
        ("visit_date>2024-01-01", "visit_date"),
        ("altura_casa=X", "altura_casa"),
    ] {
        let e = parse_flags(&l, flag).unwrap_err();
        assert!(
            matches!(e, ClustersError::NotRiskField { .. }),
            "{flag}: {e:?}"
        );
        assert_eq!(e.parameter(), Some("flags"));
        let m = e.to_string();
        assert!(
            m.contains(&format!("'{field}' is not a risk field"))
                && m.contains("(pregnant, anaemia, risk_level)"),
            "{m}"
        );
    }
    assert!(parse_flags(&l, "risk_level=alto,pregnant>0,anaemia").is_ok());
}

#[test]
fn rows_with_few_cases_carry_no_statistic() {
    // 12 households but 3 cases: suppressed like a small group.
    let row = ClusterRow {
        id: "G1".into(),
        rank: 1,
        lon: -74.123_456,
        lat: -13.987_654,
        radius_m: Some(350.0),
        polygon: Some(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
        households: 12,
        cases: 3,
        expected: 1.2,
        relative_risk: 3.0,
        llr: 2.5,
        z: Some(3.1),
        p_value: Some(0.002),
        q_value: Some(0.01),
        members: Vec::new(),
    };
    assert!(row.suppressed());
    let p = properties(Method::Gistar, &row, false);
    assert_eq!(p["households"], "<5");
    assert_eq!(
        (p["lon"].as_f64(), p["lat"].as_f64()),
        (Some(-74.12), Some(-13.99))
    );
    for k in [
        "radius_m",
        "cases",
        "expected",
        "relative_risk",
        "llr",
        "z",
        "p_value",
        "q_value",
    ] {
        assert!(p[k].is_null(), "{k}: {}", p[k]);
    }
    assert!(shown_polygon(&row).is_none());
    // Five cases among 12: shown with every figure.
    let shown = ClusterRow { cases: 5, ..row };
    let p = properties(Method::Gistar, &shown, false);
    assert_eq!(
        (p["households"].as_u64(), p["cases"].as_u64()),
        (Some(12), Some(5))
    );
    assert!((p["z"].as_f64().unwrap() - 3.1).abs() < 1e-9);
    assert!(shown_polygon(&shown).is_some());
}

#[test]
fn gistar_on_too_few_units_or_equal_values_is_unprocessable() {
    // Three households 100 m apart, in 500 m cells; Gi* needs k + 2 = 10.
    let mut l = layer();
    for (k, f) in l.features.iter_mut().enumerate() {
        f.geometry = Geometry::Point(Point::new(-74.0 + k as f64 * 0.000_9, -13.0));
    }
    let opts = ClusterOptions {
        flags: "anaemia".into(),
        method: Method::Gistar,
        ..ClusterOptions::default()
    };
    let e = find_clusters(&l, &opts, &TestProjections).unwrap_err();
    assert!(e.is_unprocessable(), "{e:?}");
    // One or two cells (the households may straddle a cell edge).
    let ClustersError::GiStarTooFewUnits { need, got, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(need, 10);
    assert!((1..=2).contains(&got), "{got}");
    let m = e.to_string();
    assert!(
        m.contains("at least 10 units (grid cells)") && m.contains(&format!("fall in {got}:")),
        "{m}"
    );
    // 50 m cells hold one household each; with k = 1 three cells of equal
    // rate 0 (no case): all equal.
    let e = find_clusters(
        &l,
        &ClusterOptions {
            flags: "pregnant>5".into(),
            cell_m: 50.0,
            k: 1,
            ..opts
        },
        &TestProjections,
    )
    .unwrap_err();
    assert!(
        matches!(e, ClustersError::GiStarFlat { units: 3, .. }),
        "{e:?}"
    );
    assert!(e.is_unprocessable());
}

#[test]
fn bernoulli_stats_by_hand() {
    // 3 cases in 3 households, 4 cases in 10 (see scan.rs's hand check):
    // LLR = [3 ln(3/3) + 1 ln(1/7) + 6 ln(6/7)] − [4 ln 0.4 + 6 ln 0.6] = 3.8593.
    let (e, rr, llr) = bernoulli_stats(3, 3, 4, 10);
    assert!((e - 1.2).abs() < 1e-12);
    assert!((rr - 7.0).abs() < 1e-12);
    assert!((llr - 3.859_30).abs() < 1e-4, "{llr}");
    assert!(bernoulli_stats(0, 3, 4, 10).2.abs() < f64::EPSILON);
}

#[test]
fn small_groups_are_suppressed() {
    let row = ClusterRow {
        id: "D1".into(),
        lon: -74.123_456,
        lat: -13.987_654,
        radius_m: Some(80.0),
        polygon: Some(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
        households: 4,
        cases: 4,
        members: vec!["H1".into()],
        ..ClusterRow::default()
    };
    let c = cells(Method::Dbscan, &row);
    assert_eq!(&c[3..8], ["-74.12", "-13.99", "", "<5", ""]);
    let f = feature(Method::Dbscan, &row, false);
    assert_eq!(
        f["geometry"],
        json!({"type": "Point", "coordinates": [-74.12, -13.99]})
    );
    assert_eq!(f["properties"]["households"], "<5");
    assert_eq!(f["properties"]["rank"], 0);
    assert!(f["properties"]["cases"].is_null());
    assert!(f["properties"].get("members").is_none());
    assert!(shown_polygon(&row).is_none());
}

#[test]
fn options_are_checked_and_named() {
    let bad = |o: ClusterOptions| o.validate().unwrap_err().parameter();
    let d = ClusterOptions::default;
    assert!(d().validate().is_ok());
    assert_eq!(
        bad(ClusterOptions {
            max_share: 1.5,
            ..d()
        }),
        Some("max_share")
    );
    assert_eq!(
        bad(ClusterOptions {
            max_radius_m: Some(-1.0),
            ..d()
        }),
        Some("max_radius_m")
    );
    assert_eq!(bad(ClusterOptions { eps_m: 0.0, ..d() }), Some("eps_m"));
    assert_eq!(
        bad(ClusterOptions {
            min_points: 0,
            ..d()
        }),
        Some("min_points")
    );
    assert_eq!(
        bad(ClusterOptions {
            method: Method::Gistar,
            alpha: 1.0,
            ..d()
        }),
        Some("alpha")
    );
    assert_eq!("DBSCAN".parse::<Method>().unwrap(), Method::Dbscan);
    assert_eq!(
        "x".parse::<Method>().unwrap_err().parameter(),
        Some("method")
    );
    assert_eq!("community".parse::<By>().unwrap(), By::Community);
    assert_eq!("count".parse::<GiValue>().unwrap(), GiValue::Count);
}

/// Ten households on a line 100 m apart at the equator-ish (Peru),
/// cases at the first three and the last one: the scan's most likely
/// cluster is the first three, LLR 3.8593 (the hand check above).
#[test]
fn scan_on_a_hand_checkable_line() {
    let mut l = Layer::new("households", LayerKind::Households);
    l.fields = vec![
        Field::new("code", FieldType::Text),
        Field::new("anaemia", FieldType::Bool),
    ];
    for k in 0..10 {
        // ~100 m steps in longitude at 13° S.
        let lon = -74.0 + f64::from(k) * 0.000_923;
        l.features.push(Feature {
            fid: i64::from(k) + 1,
            geometry: Geometry::Point(Point::new(lon, -13.0)),
            values: vec![format!("H{k}").into(), Value::Bool(k < 3 || k == 9)],
        });
    }
    let opts = ClusterOptions {
        flags: "anaemia".into(),
        replicates: 99,
        seed: 7,
        with_members: true,
        ..ClusterOptions::default()
    };
    let c = find_clusters(&l, &opts, &TestProjections).unwrap();
    assert_eq!((c.households, c.cases), (10, 4));
    let top = &c.rows[0];
    assert_eq!((top.id.as_str(), top.rank), ("S1", 1));
    assert_eq!(top.members.len(), 3);
    let mut m = top.members.clone();
    m.sort();
    assert_eq!(m, ["H0", "H1", "H2"]);
    assert!((top.llr - 3.859_30).abs() < 1e-4, "{}", top.llr);
    assert!((top.expected - 1.2).abs() < 1e-9);
    // Three households: suppressed in every output.
    assert!(top.suppressed());
    assert!(shown_polygon(top).is_none());
    // No members unless asked.
    let c = find_clusters(
        &l,
        &ClusterOptions {
            with_members: false,
            ..opts
        },
        &TestProjections,
    )
    .unwrap();
    assert!(c.rows.iter().all(|r| r.members.is_empty()));
}
