//! `chaski summary` on small household layers: no exact count, no exact
//! bounds, and no risk-level cell that can be recovered by subtraction.

use crate::common::{chaski, text};
use std::fmt::Write as _;
use std::path::PathBuf;

/// A store with households imported from a CSV: `levels` has one letter per
/// household, `a` (danger signs: alto), `m` (anaemia: medio) or `b` (bajo).
/// Returns the store and the households' points.
fn store(dir: &tempfile::TempDir, levels: &str) -> (PathBuf, Vec<(f64, f64)>) {
    let mut csv = String::from("household_code,lat,lon,consent,danger_signs,anaemia\n");
    let mut points = Vec::new();
    for (i, l) in levels.chars().enumerate() {
        let (lat, lon) = (
            -13.123_456 - i as f64 * 0.001_37,
            -74.234_567 + i as f64 * 0.002_11,
        );
        points.push((lon, lat));
        writeln!(
            csv,
            "SYN-{i},{lat},{lon},si,{},{}",
            if l == 'a' { "si" } else { "no" },
            if l == 'm' { "si" } else { "no" }
        )
        .unwrap();
    }
    let path = dir.path().join("hogares.csv");
    std::fs::write(&path, csv).unwrap();
    let store = dir.path().join("s.gpkg");
    let out = chaski(
        &store,
        &[
            "import",
            path.to_str().unwrap(),
            "--layer",
            "households",
            "--kind",
            "households",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    (store, points)
}

/// Every way the exact bounds (or a point) could be printed.
fn exact_marks(points: &[(f64, f64)]) -> Vec<String> {
    let mut marks = Vec::new();
    for &(x, y) in points {
        for v in [x, y] {
            marks.push(format!("{v:.4}"));
            marks.push(format!("{v:.3}"));
            marks.push(serde_json::to_string(&v).unwrap());
        }
    }
    marks
}

fn summary(store: &std::path::Path, json: bool) -> String {
    let args: &[&str] = if json {
        &["summary", "--json"]
    } else {
        &["summary"]
    };
    let out = chaski(store, args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The risk-level cells printed by the text summary (`x` → None).
fn risk_cells(s: &str) -> Vec<(String, Option<u64>)> {
    let line = s.lines().find(|l| l.contains("risk levels")).unwrap();
    let list = line
        .split(") ")
        .nth(1)
        .unwrap()
        .split(" (x:")
        .next()
        .unwrap();
    list.split(", ")
        .map(|c| {
            let (k, v) = c.split_once(' ').unwrap();
            (k.to_owned(), v.parse().ok())
        })
        .collect()
}

#[test]
fn summary_of_four_households_shows_no_count_and_no_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let (store, points) = store(&dir, "abbb");
    let j: serde_json::Value = serde_json::from_str(&summary(&store, true)).unwrap();
    let h = &j[0];
    assert_eq!(h["name"], "households");
    assert_eq!(h["feature_count"], "<5");
    assert!(h["bounds"].is_null());
    assert_eq!(h["rounded_to"], 5);
    let t = summary(&store, false);
    assert!(
        t.contains("households (households, point): <5 features\n"),
        "{t}"
    );
    for s in [j.to_string(), t.clone()] {
        for m in exact_marks(&points) {
            assert!(!s.contains(&m), "{m} in {s}");
        }
    }
    // alto 1, bajo 3: both suppressed, and nothing else printed as a count.
    let cells = risk_cells(&t);
    assert_eq!(
        cells,
        [
            ("alto".into(), None),
            ("medio".into(), Some(0)),
            ("bajo".into(), None)
        ]
    );
}

#[test]
fn summary_of_seven_households_hides_every_small_cell() {
    let dir = tempfile::tempdir().unwrap();
    let (store, points) = store(&dir, "aabmbbb");
    let j: serde_json::Value = serde_json::from_str(&summary(&store, true)).unwrap();
    let h = &j[0];
    // 7 rounds to 5; the bounds are rounded outward to 0.1°.
    assert_eq!(h["feature_count"], 5);
    assert_eq!(h["rounded_to"], 5);
    let b: Vec<f64> = h["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let (min_x, max_x) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, z), p| (a.min(p.0), z.max(p.0)));
    let (min_y, max_y) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, z), p| (a.min(p.1), z.max(p.1)));
    assert!(
        b[0] <= min_x && b[1] <= min_y && b[2] >= max_x && b[3] >= max_y,
        "{b:?}"
    );
    for v in &b {
        assert!(
            ((v * 10.0).round() - v * 10.0).abs() < 1e-9,
            "{v} not on 0.1°"
        );
    }
    let t = summary(&store, false);
    assert!(t.contains(": about 5 features, bounds about "), "{t}");
    assert!(!t.contains("7 features"), "{t}");
    for s in [j.to_string(), t.clone()] {
        for m in exact_marks(&points) {
            assert!(!s.contains(&m), "{m} in {s}");
        }
    }
    // Derived levels: alto 2, medio 1, bajo 4. An attacker knowing the total
    // (7) and the shown cells can place each hidden cell only in
    // [1, H − (k − 1)]: it must hold 1 and a value of 5 or more.
    let truth = [("alto", 2_u64), ("medio", 1), ("bajo", 4)];
    let cells = risk_cells(&t);
    assert_eq!(cells.len(), 3, "{t}");
    let mut h = 7_u64;
    let mut k = 0_u64;
    for ((name, shown), (want_name, n)) in cells.iter().zip(truth) {
        assert_eq!(name, want_name);
        match shown {
            None => k += 1,
            Some(v) => {
                assert!(n == 0 || n >= 5, "{name} {n} shown as {v}");
                h -= n;
            }
        }
    }
    assert!(k >= 2 && h - (k - 1) >= 5, "k = {k}, H = {h}: {t}");
}
