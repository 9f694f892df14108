//! `chaski clusters` end to end on the demo region, whose households hold two
//! planted clusters of anaemia and danger signs.

use crate::common::{chaski, demo_store, text};
use chaski_core::value::Value;
use chaski_demo::{DemoOptions, PlantedCluster, generate};
use std::collections::BTreeSet;
use std::path::Path;

/// Great-circle distance in metres (haversine, mean Earth radius 6,371,008.8 m).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

fn planted() -> Vec<PlantedCluster> {
    let c = generate(&DemoOptions::default()).clusters;
    assert_eq!(c.len(), 2);
    c
}

/// Codes of the demo households with anaemia or danger signs.
fn demo_cases() -> BTreeSet<String> {
    let region = generate(&DemoOptions::default());
    let l = region.layer("households").unwrap();
    l.features
        .iter()
        .filter(|f| {
            l.value(f, "anaemia") == &Value::Bool(true)
                || l.value(f, "danger_signs") == &Value::Bool(true)
        })
        .map(|f| l.value(f, "code").to_string())
        .collect()
}

/// clusters.csv as maps from column name to cell.
fn rows(dir: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("clusters.csv")).unwrap();
    let head: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records()
        .map(|rec| {
            head.iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn num(row: &std::collections::BTreeMap<String, String>, k: &str) -> Option<f64> {
    row.get(k).and_then(|v| v.parse().ok())
}

fn run_ok(store: &Path, args: &[&str]) -> (String, String) {
    let out = chaski(store, args);
    let (o, e) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{o}\n{e}");
    (o, e)
}

#[test]
fn scan_finds_a_planted_cluster() {
    let (dir, store) = demo_store();
    let out = dir.path().join("scan");
    let (stdout, stderr) = run_ok(
        &store,
        &[
            "clusters",
            "--flags",
            "anaemia,danger_signs",
            "--method",
            "scan",
            "--replicates",
            "99",
            "--seed",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(!stderr.contains("household-level"), "{stderr}");
    let planted = planted();
    let rows = rows(&out);
    let hit = rows.iter().find(|r| {
        let (Some(p), Some(rad), Some(lon), Some(lat)) = (
            num(r, "p_value"),
            num(r, "radius_m"),
            num(r, "lon"),
            num(r, "lat"),
        ) else {
            return false;
        };
        p <= 0.01
            && planted
                .iter()
                .any(|c| metres((lon, lat), (c.lon, c.lat)) <= rad + 500.0)
    });
    let hit = hit.unwrap_or_else(|| panic!("no significant cluster near {planted:?}:\n{stdout}"));
    // The most likely cluster has the smallest p-value (1/(99+1) at best).
    assert_eq!(num(&rows[0], "p_value"), Some(0.01), "{stdout}");
    // A high-rate window: observed > expected, RR > 1, LLR > 0.
    let (cases, expected) = (num(hit, "cases").unwrap(), num(hit, "expected").unwrap());
    assert!(cases > expected && num(hit, "relative_risk").unwrap() > 1.0);
    assert!(num(hit, "llr").unwrap() > 0.0);
    assert!(stdout.contains(&hit["id"]), "{stdout}");
    // The GeoJSON has a 64-vertex circle (65 with the closing point) for it.
    let gj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("clusters.geojson")).unwrap())
            .unwrap();
    let f = gj["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["id"] == hit["id"].as_str())
        .unwrap();
    assert_eq!(f["geometry"]["type"], "Polygon");
    let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
    assert_eq!(ring.len(), 65);
    // Every vertex is `radius_m` from the centre (within 0.5 %: UTM scale and rounding).
    let centre = (num(hit, "lon").unwrap(), num(hit, "lat").unwrap());
    let rad = num(hit, "radius_m").unwrap();
    for v in ring {
        let d = metres((v[0].as_f64().unwrap(), v[1].as_f64().unwrap()), centre);
        assert!((d - rad).abs() < rad * 0.005 + 1.0, "{d} vs {rad}");
    }
    // No household codes without --with-members.
    assert!(!stdout.contains("DEMO-H"));
}

#[test]
fn dbscan_hides_members_unless_asked() {
    let (dir, store) = demo_store();
    let plain = dir.path().join("plain");
    let (stdout, stderr) = run_ok(
        &store,
        &[
            "clusters",
            "--flags",
            "anaemia,danger_signs",
            "--method",
            "dbscan",
            "--out",
            plain.to_str().unwrap(),
        ],
    );
    let rows_plain = rows(&plain);
    assert!(!rows_plain.is_empty(), "{stdout}");
    assert!(!rows_plain[0].contains_key("members"));
    for text in [
        &stdout,
        &stderr,
        &std::fs::read_to_string(plain.join("clusters.csv")).unwrap(),
        &std::fs::read_to_string(plain.join("clusters.geojson")).unwrap(),
    ] {
        assert!(!text.contains("DEMO-H"), "{text}");
    }
    // Groups under 5 households: "<5", centre rounded to 0.01°, no figures.
    for r in &rows_plain {
        if r["households"] == "<5" {
            assert!(r["cases"].is_empty() && r["radius_m"].is_empty());
            for k in ["lon", "lat"] {
                let v = num(r, k).unwrap();
                assert!(((v * 100.0).round() - v * 100.0).abs() < 1e-6, "{v}");
            }
        } else {
            assert!(num(r, "households").unwrap() >= 5.0);
        }
    }

    let with = dir.path().join("with");
    let (stdout, stderr) = run_ok(
        &store,
        &[
            "clusters",
            "--flags",
            "anaemia,danger_signs",
            "--method",
            "dbscan",
            "--with-members",
            "--out",
            with.to_str().unwrap(),
        ],
    );
    assert!(stderr.contains("household-level data"), "{stderr}");
    assert!(stdout.contains("DEMO-H"));
    assert!(
        std::fs::read_to_string(with.join("clusters.geojson"))
            .unwrap()
            .contains("DEMO-H")
    );
    let rows_with = rows(&with);
    assert_eq!(rows_with.len(), rows_plain.len());
    // Members are case households (anaemia or danger signs, read from the
    // generator), at least --min-points 4 per cluster, none in two clusters.
    let cases = demo_cases();
    let mut seen = BTreeSet::new();
    for r in &rows_with {
        let members: Vec<&str> = r["members"].split(';').collect();
        assert!(members.len() >= 4, "{r:?}");
        for m in members {
            assert!(cases.contains(m), "{m} is not a case");
            assert!(seen.insert(m.to_owned()), "{m} twice");
        }
    }
}

#[test]
fn unknown_flag_is_named() {
    let (_dir, store) = demo_store();
    let out = chaski(&store, &["clusters", "--flags", "anaemia,stunting"]);
    assert_eq!(out.status.code(), Some(2));
    let e = text(&out.stderr);
    assert!(e.contains("'stunting'"), "{e}");
    assert!(
        e.contains("danger_signs") && e.contains("risk_level"),
        "{e}"
    );
    // A non-boolean field needs a comparison; predicates work.
    let out = chaski(&store, &["clusters", "--flags", "pregnant"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("pregnant>0"));
    let (stdout, _) = run_ok(
        &store,
        &[
            "clusters",
            "--flags",
            "risk_level=alto,pregnant>0",
            "--all",
            "--method",
            "dbscan",
        ],
    );
    // Cases = alto households with a pregnancy, counted from the generator.
    let region = generate(&DemoOptions::default());
    let l = region.layer("households").unwrap();
    let want = l
        .features
        .iter()
        .filter(|f| {
            l.value(f, "risk_level").as_str() == Some("alto")
                && l.value(f, "pregnant").as_i64().is_some_and(|p| p > 0)
        })
        .count();
    assert!(
        stdout.contains(&format!(" {want} cases (all of:")),
        "{stdout}"
    );
}

#[test]
fn gistar_reports_hot_spots_near_the_planted_clusters() {
    let (dir, store) = demo_store();
    let out = dir.path().join("gi");
    let (stdout, _) = run_ok(
        &store,
        &[
            "clusters",
            "--flags",
            "anaemia,danger_signs",
            "--method",
            "gistar",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let all_rows = rows(&out);
    // Cells of under 5 households or cases are "<5", with no statistic.
    for r in all_rows.iter().filter(|r| r["households"] == "<5") {
        for k in ["z", "p_value", "q_value", "cases", "radius_m"] {
            assert!(r[k].is_empty(), "{r:?}");
        }
    }
    let rows: Vec<_> = all_rows
        .iter()
        .filter(|r| r["households"] != "<5")
        .cloned()
        .collect();
    assert!(!rows.is_empty(), "{stdout}");
    let planted = planted();
    for r in &rows {
        let (z, p, q) = (
            num(r, "z").unwrap(),
            num(r, "p_value").unwrap(),
            num(r, "q_value").unwrap(),
        );
        // Hot spots only; BH q-values are never below the p-values.
        assert!(z > 0.0 && q <= 0.05 && q >= p, "{r:?}");
    }
    // Most hot cells lie within a planted cluster (radius + 500 m).
    let near = rows
        .iter()
        .filter(|r| {
            let c = (num(r, "lon").unwrap(), num(r, "lat").unwrap());
            planted
                .iter()
                .any(|pc| metres(c, (pc.lon, pc.lat)) <= pc.radius_m + 500.0)
        })
        .count();
    assert!(
        near >= 1 && 2 * near > rows.len(),
        "{near} of {}: {stdout}",
        rows.len()
    );
    // Both planted clusters are found.
    for pc in &planted {
        assert!(
            rows.iter().any(|r| {
                let c = (num(r, "lon").unwrap(), num(r, "lat").unwrap());
                metres(c, (pc.lon, pc.lat)) <= pc.radius_m + 500.0
            }),
            "{pc:?}\n{stdout}"
        );
    }
}
