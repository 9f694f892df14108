//! `chaski indicators`, `chaski did` and `chaski visits` on the demo region
//! with its endline survey (`chaski demo --load --endline`), and their errors.

use crate::common::{chaski, text};

#[test]
fn monitoring_commands_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("demo.gpkg");
    let out = chaski(
        &store,
        &[
            "demo",
            "--out",
            dir.path().join("demo").to_str().unwrap(),
            "--load",
            "--endline",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("households_round2.csv: 2599 rows read"),
        "{}",
        text(&out.stdout)
    );
    // The round-2 CSV is the round-1 households a year later: its exact
    // indicator over every household equals a count of the files' columns.
    let count = |file: &str, col: &str| -> (u64, u64) {
        let mut r = csv::Reader::from_path(dir.path().join("demo").join(file)).unwrap();
        let h = r.headers().unwrap().clone();
        let i = h.iter().position(|c| c == col).unwrap();
        let (mut n, mut d) = (0, 0);
        for row in r.records() {
            match &row.unwrap()[i] {
                "yes" => {
                    n += 1;
                    d += 1;
                }
                "no" => d += 1,
                _ => {}
            }
        }
        (n, d)
    };
    let out = chaski(
        &store,
        &[
            "indicators",
            "--exact",
            "--by",
            "district",
            "--only",
            "sanitation",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sum = |round: &str| -> (u64, u64) {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["period"] == round)
            .fold((0, 0), |(n, d), r| {
                (
                    n + r["numerator"].as_u64().unwrap(),
                    d + r["denominator"].as_u64().unwrap(),
                )
            })
    };
    assert_eq!(sum("1"), count("households.csv", "sanitation"));
    assert_eq!(sum("2"), count("households_round2.csv", "sanitation"));
    // Protected by default: counts rounded to 5 or suppressed.
    let out = chaski(&store, &["indicators"]);
    let csv = text(&out.stdout);
    assert!(csv.starts_with("indicator,group,period,numerator,denominator,proportion,low,high"));
    for line in csv.lines().skip(1) {
        let n = line.split(',').nth(3).unwrap();
        assert!(n == "x" || n.parse::<u64>().unwrap() % 5 == 0, "{line}");
    }
    // DiD: the demo's intervention communities improved sanitation.
    let out = chaski(
        &store,
        &[
            "did",
            "--format",
            "json",
            "--only",
            "sanitation",
            "--permutations",
            "199",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v["indicators"][0];
    assert!(d["estimate"].as_f64().unwrap() > 0.05, "{d}");
    assert!(d["p_value"].as_f64().unwrap() < 0.05, "{d}");
    let again = chaski(
        &store,
        &[
            "did",
            "--format",
            "json",
            "--only",
            "sanitation",
            "--permutations",
            "199",
        ],
    );
    assert_eq!(
        out.stdout, again.stdout,
        "the same seed gives the same answer"
    );
    let out = chaski(&store, &["did"]);
    assert!(text(&out.stdout).contains("indicator") && text(&out.stdout).contains("sanitation"));
    // Visits of one sector: codes of that sector only, with a tick box.
    let out = chaski(
        &store,
        &[
            "visits",
            "--sector",
            "DEMO-CP0001-S1",
            "--as-of",
            "2028-01-01",
        ],
    );
    let list = text(&out.stdout);
    assert!(list.lines().count() > 1, "{list}");
    for line in list.lines().skip(1) {
        assert!(
            line.starts_with("DEMO-CP0001-S1,DEMO-H") && line.ends_with(",[ ]"),
            "{line}"
        );
    }
}

#[test]
fn monitoring_errors_name_the_option_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let out = chaski(
        &store,
        &[
            "import",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/communities.csv"),
            "--layer",
            "communities",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = |args: &[&str]| {
        let out = chaski(&store, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        text(&out.stderr)
    };
    assert!(err(&["indicators", "--by", "village"]).contains("--by: 'village' is not one of"));
    assert!(err(&["indicators", "--by", "sector"]).contains("(or --exact)"));
    assert!(err(&["indicators", "--only", "nope"]).contains("--only: unknown indicator 'nope'"));
    assert!(err(&["visits", "--as-of", "01/02/2026"]).contains("--as-of"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[indicator]]\nid = \"x\"\nnumerator = \"dni\"\ndenominator = \"all\"\n",
    )
    .unwrap();
    let e = err(&["indicators", "--indicators", bad.to_str().unwrap()]);
    assert!(
        e.contains("bad.toml") && e.contains("indicator 'x': numerator: 'dni' is not a field"),
        "{e}"
    );
    std::fs::write(&bad, "[[indicator]]\nid = \"x\"\nnumeratr = \"anaemia\"\n").unwrap();
    let e = err(&["indicators", "--indicators", bad.to_str().unwrap()]);
    assert!(e.contains("bad.toml") && e.contains("numeratr"), "{e}");
}
