//! `chaski report` end to end on the demo region (`chaski demo --load`): the
//! files it writes, their totals against `chaski summary` of the same store,
//! its access bands against `chaski catchments --districts`, its villages
//! against the demo's own district codes and its water table against
//! distances computed here on the sphere.

use crate::common::{chaski, demo_store, text};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const DISTRICT: &str = "059903";
const CODES: [&str; 4] = ["059901", "059902", "059903", "059904"];

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The long CSV as (table, row, column) -> value, checking its header.
fn long_csv(path: &Path) -> BTreeMap<(String, String, String), String> {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "district_code",
            "district_name",
            "table",
            "row",
            "column",
            "value"
        ]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            assert_eq!(&rec[0], DISTRICT);
            (
                (rec[2].to_owned(), rec[3].to_owned(), rec[4].to_owned()),
                rec[5].to_owned(),
            )
        })
        .collect()
}

/// A number of `chaski summary`'s text: the word after `key` in `line`.
fn summary_number(summary: &str, layer: &str, key: &str) -> u64 {
    let block = summary
        .split("\n\n")
        .find(|b| b.starts_with(&format!("{layer} (")))
        .unwrap_or_else(|| panic!("no {layer} in {summary}"));
    let at = block
        .find(key)
        .unwrap_or_else(|| panic!("{key} in {block}"))
        + key.len();
    block[at..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_008.8_f64;
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.0 - a.0).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

/// Rows of a demo CSV as maps of column to value.
fn demo_rows(dir: &Path, file: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("demo").join(file)).unwrap();
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

fn lonlat(row: &BTreeMap<String, String>) -> (f64, f64) {
    (row["lon"].parse().unwrap(), row["lat"].parse().unwrap())
}

#[test]
fn demo_district_report_matches_summary_catchments_and_the_demo_files() {
    let (dir, store) = demo_store();
    let out = dir.path().join("one");
    let o = out.to_str().unwrap();
    ok(&chaski(
        &store,
        &["report", "--district", DISTRICT, "--out", o],
    ));
    for ext in ["html", "csv", "json"] {
        assert!(out.join(format!("{DISTRICT}.{ext}")).is_file(), "{ext}");
    }
    assert!(!out.join("index.html").exists());
    let j = json(&out.join(format!("{DISTRICT}.json")));
    let csv = long_csv(&out.join(format!("{DISTRICT}.csv")));
    let html = std::fs::read_to_string(out.join(format!("{DISTRICT}.html"))).unwrap();
    let cell = |t: &str, r: &str, c: &str| csv[&(t.to_owned(), r.to_owned(), c.to_owned())].clone();

    // Villages: the demo gives each village its district's code (ubigeo).
    let villages = demo_rows(dir.path(), "communities.csv");
    let mine: Vec<&BTreeMap<String, String>> = villages
        .iter()
        .filter(|v| v["ubigeo"] == DISTRICT)
        .collect();
    let population: u64 = mine
        .iter()
        .map(|v| v["population"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(j["villages"]["villages"], mine.len());
    assert_eq!(j["villages"]["population"], population);
    assert_eq!(j["villages"]["with_other_district_code"], 0);
    assert_eq!(cell("villages", "all", "villages"), mine.len().to_string());
    assert_eq!(
        cell("villages", "all", "population"),
        population.to_string()
    );
    assert!(html.contains("<title>Informe distrital: Chaskipampa (synthetic) (059903)</title>"));
    let grouped = |n: u64| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    assert!(html.contains(&format!("<td class=\"n\">{}</td>", grouped(population))));

    // Access: the same bands as `chaski catchments --districts districts`,
    // walking from every facility and from those with birth care.
    for (table, extra) in [
        ("any_facility", vec![]),
        ("birth_care", vec!["--birth-care", "basic"]),
    ] {
        let c = dir.path().join(table);
        let mut args = vec![
            "catchments",
            "--out",
            c.to_str().unwrap(),
            "--districts",
            "districts",
        ];
        args.extend(extra);
        ok(&chaski(&store, &args));
        let mut r = csv::Reader::from_path(c.join("districts.csv")).unwrap();
        let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
        let row = r
            .records()
            .map(Result::unwrap)
            .find(|rec| &rec[0] == DISTRICT)
            .unwrap();
        let get = |name: &str| row[headers.iter().position(|h| h == name).unwrap()].to_owned();
        for (i, m) in ["60", "120", "240"].into_iter().enumerate() {
            let band = &j[table]["bands"][i];
            for (side, what) in [
                ("within", "villages"),
                ("beyond", "villages"),
                ("within", "population"),
                ("beyond", "population"),
            ] {
                let want = get(&format!("{what}_{side}_{m}"));
                assert_eq!(
                    band[side][what].to_string(),
                    want,
                    "{table} {side} {m} {what}"
                );
                assert_eq!(cell(table, &format!("{side}_{m}"), what), want);
            }
        }
        assert_eq!(
            j[table]["without_time"]["villages"].to_string(),
            get("villages_without_time")
        );
    }
    assert_eq!(
        j["birth_care"]["facilities"],
        "basic or complete birth care"
    );

    // Water: systems by status over the four districts add up to the
    // summary's; the villages without an operational system within 1 km are
    // those this test finds on the sphere (none lies within 5 m of 1 km).
    let all = dir.path().join("all");
    ok(&chaski(
        &store,
        &[
            "report",
            "--all",
            "--out",
            all.to_str().unwrap(),
            "--lang",
            "en",
        ],
    ));
    let summary = ok(&chaski(&store, &["summary"]));
    let reports: Vec<Value> = CODES
        .iter()
        .map(|c| json(&all.join(format!("{c}.json"))))
        .collect();
    for status in ["operational", "partial", "down"] {
        let k = ["operational", "partial", "down"]
            .iter()
            .position(|s| *s == status)
            .unwrap();
        let sum: u64 = reports
            .iter()
            .map(|r| r["water"]["by_status"][k]["systems"].as_u64().unwrap())
            .sum();
        assert_eq!(
            sum,
            summary_number(&summary, "water_systems", &format!("{status} ")),
            "{status}"
        );
    }
    let systems = demo_rows(dir.path(), "water_systems.csv");
    let working: Vec<(f64, f64)> = systems
        .iter()
        .filter(|s| s["status"] == "operational")
        .map(lonlat)
        .collect();
    let mut dry: Vec<String> = Vec::new();
    for v in &mine {
        let d = working
            .iter()
            .map(|&w| haversine_m(lonlat(v), w))
            .fold(f64::INFINITY, f64::min);
        assert!(
            (d - 1000.0).abs() > 5.0,
            "{} is {d} m from water",
            v["code"]
        );
        if d > 1000.0 {
            dry.push(v["code"].clone());
        }
    }
    let mut listed: Vec<String> = j["water"]["villages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["code"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    dry.sort();
    assert_eq!(listed, dry);
    assert_eq!(j["water"]["villages_without"]["villages"], dry.len());

    // --all: the districts hold every village, and their population and
    // households add up to the summary's (households rounded to 5 each).
    let index = json(&all.join("index.json"));
    let rows = index["districts"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let villages_sum: u64 = rows
        .iter()
        .map(|r| r["villages"]["villages"].as_u64().unwrap())
        .sum();
    let population_sum: u64 = rows
        .iter()
        .map(|r| r["villages"]["population"].as_u64().unwrap())
        .sum();
    assert_eq!(villages_sum, summary_number(&summary, "communities", "): "));
    assert_eq!(
        population_sum,
        summary_number(&summary, "communities", "population ")
    );
    assert_eq!(index["villages_outside_districts"]["villages"], 0);
    let households: u64 = rows.iter().map(|r| r["households"].as_u64().unwrap()).sum();
    let about = summary_number(&summary, "households", "about ");
    assert!(
        households.abs_diff(about) <= 2 * 4 + 2,
        "{households} vs about {about}"
    );
    // The single report and the --all one say the same (but the language).
    let mut single = j.clone();
    let mut again = reports[2].clone();
    single["date"] = Value::Null;
    again["date"] = Value::Null;
    assert_eq!(single, again);
    let index_html = std::fs::read_to_string(all.join("index.html")).unwrap();
    assert!(index_html.contains("<html lang=\"en\">"));
    for c in CODES {
        assert!(index_html.contains(&format!("<a href=\"{c}.html\">{c}</a>")));
        let page = std::fs::read_to_string(all.join(format!("{c}.html"))).unwrap();
        assert!(page.contains("District report:") && !page.contains("http"));
    }
    // Household codes and sectors never appear.
    for file in std::fs::read_dir(&all).unwrap() {
        let t = std::fs::read_to_string(file.unwrap().path()).unwrap();
        assert!(!t.contains("DEMO-H") && !t.contains("-S1") && !t.contains("DEMO-ACS"));
    }
}

#[test]
fn report_errors_name_what_is_wrong() {
    let (dir, store) = demo_store();
    let o = dir.path().join("r");
    let out = chaski(
        &store,
        &[
            "report",
            "--district",
            "999999",
            "--out",
            o.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no district with code '999999' in layer 'districts'"),
        "{}",
        text(&out.stderr)
    );
    let out = chaski(&store, &["report", "--out", o.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "neither --district nor --all");
    let out = chaski(&store, &["report", "--all", "--format", "pdf"]);
    assert!(
        text(&out.stderr).contains("'pdf' is not one of html, csv, json"),
        "{}",
        text(&out.stderr)
    );
    let out = chaski(&store, &["report", "--all", "--lang", "fr"]);
    assert!(text(&out.stderr).contains("es, en"));
    // Only what was asked for.
    ok(&chaski(
        &store,
        &[
            "report",
            "--district",
            "059901",
            "--format",
            "csv",
            "--out",
            o.to_str().unwrap(),
        ],
    ));
    assert!(o.join("059901.csv").is_file() && !o.join("059901.html").exists());
}
