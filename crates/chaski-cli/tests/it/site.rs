//! `chaski site` on the demo region: the optimum equals a brute force over
//! the matrix the command exported, the same run on that matrix
//! (`--matrix`, `--demand-file`) gives the same homes, and bad options are
//! named.

use crate::common::{chaski, demo_store, text};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn rows(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn demo_siting_equals_brute_force_and_its_own_matrix() {
    let (dir, store) = demo_store();
    let out = dir.path().join("site");
    ok(&chaski(
        &store,
        &[
            "site",
            "--out",
            out.to_str().unwrap(),
            "--homes",
            "2",
            "--minutes",
            "60",
            "--candidates",
            "facilities",
        ],
    ));
    // Independent optimum: every pair of candidates, demand within 60 min.
    let demand: BTreeMap<String, f64> = rows(&out.join("demand.csv"))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    let mut reach: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in rows(&out.join("matrix.csv")) {
        let minutes: f64 = r[2].parse().unwrap();
        assert!((0.0..=60.0).contains(&minutes), "{r:?}");
        reach.entry(r[1].clone()).or_default().insert(r[0].clone());
    }
    let sites: Vec<&String> = reach.keys().collect();
    assert!(
        sites.len() >= 3,
        "{} candidates reach a village",
        sites.len()
    );
    let mut best = 0.0f64;
    for (i, a) in sites.iter().enumerate() {
        for b in &sites[i + 1..] {
            let covered: f64 = reach[*a].union(&reach[*b]).map(|v| demand[v]).sum();
            best = best.max(covered);
        }
    }
    let answer = json(&out.join("siting.json"));
    let objective = answer["objective"].as_f64().unwrap();
    assert!(
        (objective - best).abs() < 1e-6 * best.max(1.0),
        "{objective} vs {best}"
    );
    assert_eq!(answer["status"], "optimal");
    assert!((answer["covered_after"].as_f64().unwrap() - best).abs() < 1e-6 * best);
    let chosen = |a: &Value| -> Vec<String> {
        a["chosen"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(chosen(&answer).len(), 2);
    // The curve adds up to the objective.
    let gains: f64 = rows(&out.join("curve.csv"))
        .iter()
        .map(|r| r[4].parse::<f64>().unwrap())
        .sum();
    assert!((gains - objective).abs() < 1e-6 * objective.max(1.0));
    // The same siting on the exported numbers.
    let again = dir.path().join("again");
    ok(&chaski(
        &store,
        &[
            "site",
            "--out",
            again.to_str().unwrap(),
            "--homes",
            "2",
            "--minutes",
            "60",
            "--matrix",
            out.join("matrix.csv").to_str().unwrap(),
            "--demand-file",
            out.join("demand.csv").to_str().unwrap(),
        ],
    ));
    let other = json(&again.join("siting.json"));
    assert_eq!(other["objective"].as_f64(), Some(objective));
    assert_eq!(chosen(&other).len(), 2);
    let covered = |codes: &[String]| -> f64 {
        let all: BTreeSet<&String> = codes.iter().flat_map(|c| &reach[c]).collect();
        all.into_iter().map(|v| demand[v]).sum()
    };
    assert!((covered(&chosen(&other)) - best).abs() < 1e-6 * best);
}

#[test]
fn siting_errors_name_what_is_wrong() {
    let (dir, store) = demo_store();
    let out = dir.path().join("site");
    let o = out.to_str().unwrap();
    for (args, expected) in [
        (vec!["--minutes", "-5"], "--minutes -5"),
        (vec!["--existing", "NOPE-1"], "existing home 'NOPE-1'"),
        (vec!["--model", "tsp"], "covering, p-median"),
        (vec!["--birth-rate", "2"], "--birth-rate 2"),
        (vec!["--homes", "0"], "--homes 0"),
    ] {
        let mut all = vec!["site", "--out", o, "--candidates", "facilities"];
        all.extend(args.iter().copied());
        let r = chaski(&store, &all);
        assert!(!r.status.success(), "{args:?} succeeded");
        let e = text(&r.stderr);
        assert!(e.contains(expected), "{args:?}: {e}");
    }
    let bad = dir.path().join("m.csv");
    std::fs::write(&bad, "village,candidate,minutes\nA,H,x\n").unwrap();
    let r = chaski(
        &store,
        &[
            "site",
            "--out",
            o,
            "--matrix",
            bad.to_str().unwrap(),
            "--demand-file",
            bad.to_str().unwrap(),
        ],
    );
    let e = text(&r.stderr);
    assert!(
        e.contains("row 2, column 'minutes'") && e.contains("m.csv"),
        "{e}"
    );
}

#[test]
// Shown demand is exact: 0, 2.5 or a multiple of 5.
#[allow(clippy::float_cmp)]
fn household_demand_is_the_published_table() {
    let (dir, store) = demo_store();
    let out = dir.path().join("site");
    let o = out.to_str().unwrap();
    let stdout = ok(&chaski(
        &store,
        &[
            "site",
            "--out",
            o,
            "--homes",
            "2",
            "--candidates",
            "facilities",
            "--demand-households",
            "pregnant",
        ],
    ));
    assert!(stdout.contains("2 new home(s)"), "{stdout}");
    // Pregnant women per community, by hand from the demo's households file.
    let mut exact: BTreeMap<String, u64> = BTreeMap::new();
    let mut r = csv::Reader::from_path(dir.path().join("demo/households.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (community, pregnant) = (col("community"), col("pregnant"));
    for rec in r.records() {
        let rec = rec.unwrap();
        *exact.entry(rec[community].to_owned()).or_default() +=
            rec[pregnant].parse::<u64>().unwrap_or(0);
    }
    let demand = rows(&out.join("demand.csv"));
    assert!(demand.len() > 10);
    let mut small = 0;
    for row in &demand {
        let n = exact.get(&row[0]).copied().unwrap_or(0);
        let shown: f64 = row[1].parse().unwrap();
        match n {
            0 => assert_eq!(shown, 0.0, "{row:?}"),
            1..=4 => {
                small += 1;
                assert_eq!(shown, 2.5, "{row:?}: {n} women must not show");
            }
            // Shown rounded to 5, or suppressed with the others.
            _ => assert!(
                shown == 2.5 || shown == (5 * ((n + 2) / 5)) as f64,
                "{row:?}: {n}"
            ),
        }
    }
    assert!(small > 0, "the demo has villages of 1 to 4 pregnant women");
    let j = json(&out.join("siting.json"));
    assert_eq!(j["demand"]["source"], "households");
    assert_eq!(j["demand"]["protected"], true);

    // A field that is not numeric, or one the command may not read.
    for (field, expected) in [
        ("community", "no numeric or yes/no field 'community'"),
        (
            "violence_risk",
            "no numeric or yes/no field 'violence_risk'",
        ),
    ] {
        let r = chaski(&store, &["site", "--out", o, "--demand-households", field]);
        assert!(!r.status.success());
        let e = text(&r.stderr);
        assert!(
            e.contains("--demand-households") && e.contains(expected),
            "{e}"
        );
    }
}

#[test]
fn underserved_villages_equal_those_of_catchments() {
    let (dir, store) = demo_store();
    let out = dir.path().join("site");
    let stdout = ok(&chaski(
        &store,
        &["site", "--out", out.to_str().unwrap(), "--minutes", "60"],
    ));
    // Independently: `chaski catchments --birth-care basic`, villages beyond 60
    // minutes or not reached.
    let c = dir.path().join("catchments");
    ok(&chaski(
        &store,
        &[
            "catchments",
            "--birth-care",
            "basic",
            "--out",
            c.to_str().unwrap(),
        ],
    ));
    let expected: BTreeMap<String, String> = rows(&c.join("villages.csv"))
        .into_iter()
        .filter(|r| {
            r[4] == "not reached" || (r[4] == "reached" && r[2].parse::<f64>().unwrap() > 60.0)
        })
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();
    assert!(expected.len() >= 5);
    let got = rows(&out.join("underserved.csv"));
    assert_eq!(
        got.iter().map(|r| &r[0]).collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for r in &got {
        let want: f64 = expected[&r[0]].parse().unwrap();
        let have: f64 = r[3].parse().unwrap();
        assert!((want - have).abs() <= 0.05, "{r:?} vs {want}");
    }
    let population: u64 = got.iter().map(|r| r[2].parse::<u64>().unwrap_or(0)).sum();
    let j = json(&out.join("underserved.geojson"));
    assert_eq!(j["features"].as_array().unwrap().len(), got.len());
    assert_eq!(j["population"], population);
    assert!(
        stdout.contains(&format!("{} villages, population {population}", got.len())),
        "{stdout}"
    );
}

#[test]
fn p_median_reports_the_births_within_the_threshold() {
    let (dir, store) = demo_store();
    let out = dir.path().join("site");
    ok(&chaski(
        &store,
        &[
            "site",
            "--out",
            out.to_str().unwrap(),
            "--model",
            "p-median",
            "--homes",
            "2",
            "--minutes",
            "60",
            "--candidates",
            "facilities",
        ],
    ));
    // By hand: each village's minutes to its (nearest open) home against 60.
    let within: f64 = rows(&out.join("villages.csv"))
        .iter()
        .filter(|r| r[4].parse::<f64>().is_ok_and(|m| m <= 60.0))
        .map(|r| r[2].parse::<f64>().unwrap())
        .sum();
    let j = json(&out.join("siting.json"));
    let after = j["covered_after"].as_f64().unwrap();
    assert!(
        (after - within).abs() < 1e-6 * within.max(1.0),
        "{after} vs {within}"
    );
    assert!(after < j["total_demand"].as_f64().unwrap());
    // No existing home: 0, not -0.
    assert_eq!(j["covered_before"].to_string(), "0.0");
}

#[test]
fn candidates_from_a_file_of_points() {
    let (dir, store) = demo_store();
    let site = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let mut args = vec!["site", "--out", out.to_str().unwrap(), "--homes", "2"];
        args.extend_from_slice(extra);
        ok(&chaski(&store, &args));
        json(&out.join("siting.json"))
    };
    // The facilities file of the demo as points: the same homes as the store's
    // facilities as candidates.
    let file = dir.path().join("demo/facilities.csv");
    let from_store = site("a", &["--candidates", "facilities"]);
    let from_file = site("b", &["--candidates-file", file.to_str().unwrap()]);
    assert_eq!(from_store["chosen"], from_file["chosen"]);
    assert_eq!(from_store["objective"], from_file["objective"]);
    // Two points with one code: named.
    let twice = dir.path().join("twice.csv");
    std::fs::write(
        &twice,
        "code,name,lon,lat\nA,x,-74.1,-12.95\nA,y,-74.12,-12.96\n",
    )
    .unwrap();
    let r = chaski(
        &store,
        &[
            "site",
            "--out",
            dir.path().join("c").to_str().unwrap(),
            "--candidates-file",
            twice.to_str().unwrap(),
        ],
    );
    assert!(!r.status.success());
    let e = text(&r.stderr);
    assert!(e.contains("point 2: code 'A' given twice"), "{e}");
}

#[test]
fn a_store_without_birth_care_still_gets_its_siting() {
    let (dir, store) = demo_store();
    // The demo's facilities, none with birth care recorded.
    let csv = std::fs::read_to_string(dir.path().join("demo/facilities.csv")).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let col = header
        .split(',')
        .position(|h| h == "atencion_parto")
        .unwrap();
    let mut none = vec![header.to_owned()];
    for l in lines {
        let mut v: Vec<&str> = l.split(',').collect();
        v[col] = "none";
        none.push(v.join(","));
    }
    let file = dir.path().join("none.csv");
    std::fs::write(&file, none.join("\n") + "\n").unwrap();
    ok(&chaski(
        &store,
        &["import", file.to_str().unwrap(), "--layer", "facilities"],
    ));
    let out = dir.path().join("site");
    let r = chaski(
        &store,
        &[
            "site",
            "--out",
            out.to_str().unwrap(),
            "--candidates",
            "facilities",
        ],
    );
    let stdout = ok(&r);
    assert!(stdout.contains("1 new home(s)"), "{stdout}");
    assert!(text(&r.stderr).contains("warning: no underserved.csv"));
    assert!(out.join("siting.json").exists() && !out.join("underserved.csv").exists());
}
