//! The `chaski` binary end to end: exit codes and messages of `import`, `demo` and `summary`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn chaski(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chaski"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("run chaski")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn peru(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/peru").join(rel);
    p.exists().then_some(p)
}

#[test]
fn csv_with_bad_rows_imports_the_good_ones_and_reports_each_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ipress.csv");
    std::fs::write(
        &csv,
        "codigo,nombre,categoria,lat,lon\n\
         0001,Quinua,I-3,-13.0533,-74.1389\n\
         0002,Texto,I-1,abc,-74.10\n\
         0003,Norte,I-1,95,-74.10\n\
         0004,Volteado,I-2,-74.2093,-13.0011\n\
         \n\
         ,,,,\n\
         0005,Tambo,I-4,-12.9424,-74.0211\n",
    )
    .unwrap();
    let store = dir.path().join("s.gpkg");
    let out = chaski(&store, &["import", csv.to_str().unwrap(), "--layer", "facilities"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("7 rows read, 2 imported"), "{stdout}");
    assert!(stdout.contains("5 rejected"), "{stdout}");
    for expected in [
        "row 3: field 'lat': latitude (y) 'abc' is not a number (row skipped)",
        "row 4: field 'longitude': latitude 95 is outside -90..90 (row skipped)",
        "row 5: field 'longitude': latitude and longitude look swapped",
        "row 6: empty line (row skipped)",
        "row 7: empty row (row skipped)",
    ] {
        assert!(stderr.contains(expected), "missing '{expected}' in:\n{stderr}");
    }
    assert!(stderr.contains("ipress.csv: row"), "{stderr}");
    let summary = chaski(&store, &["summary", "--json"]);
    let layers: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    assert_eq!(layers[0]["feature_count"], 2);
}

#[test]
fn truncated_geopackage_fails_with_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    // A valid file first, then cut.
    let csv = dir.path().join("v.csv");
    let mut rows = String::from("code,lat,lon\n");
    for i in 0..2000 {
        writeln!(rows, "C{i},{},{}", -13.0 + f64::from(i) * 1e-4, -74.0).unwrap();
    }
    std::fs::write(&csv, rows).unwrap();
    let src = dir.path().join("src.gpkg");
    let out = chaski(&src, &["import", csv.to_str().unwrap(), "--layer", "communities"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path().join("cut.gpkg");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let out = chaski(&store, &["import", cut.to_str().unwrap(), "--layer", "communities"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.starts_with("chaski: error:"), "{stderr}");
    assert!(stderr.contains("cut.gpkg"), "{stderr}");
}

#[test]
fn non_geographic_files_fail_with_one_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let table = dir.path().join("table.csv");
    std::fs::write(&table, "a,b\n1,2\n").unwrap();
    let junk = dir.path().join("notes.pdf");
    std::fs::write(&junk, b"%PDF-1.4 not a map \x00\x01\x02").unwrap();
    for (file, expected) in [
        (&table, "not a geographic table: no coordinate columns"),
        (&junk, "not a geographic file GDAL can read"),
    ] {
        let out = chaski(&store, &["import", file.to_str().unwrap(), "--layer", "communities"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains(file.file_name().unwrap().to_str().unwrap()), "{stderr}");
        assert_eq!(stderr.lines().filter(|l| l.contains("error")).count(), 1, "{stderr}");
    }
}

#[test]
fn real_villages_and_facilities_import_completely() {
    let (Some(villages), Some(gpkg), Some(csv)) = (
        peru("villages/ccpp_ign100k.gpkg"),
        peru("health/ipress_minsa.gpkg"),
        peru("health/ipress_minsa.csv"),
    ) else {
        eprintln!("skipped: ../shared/data/peru is absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let out = chaski(&store, &["import", villages.to_str().unwrap(), "--layer", "communities"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("136587 features read, 136587 imported"), "{}", text(&out.stdout));
    for (file, layer) in [(&gpkg, "facilities"), (&csv, "ipress_csv")] {
        let out = chaski(
            &store,
            &["import", file.to_str().unwrap(), "--layer", layer, "--kind", "facilities"],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("7951 imported"), "{}", text(&out.stdout));
    }
    let out = chaski(&store, &["summary"]);
    let s = text(&out.stdout);
    assert!(s.contains("136587") || s.contains("136,587"), "{s}");
}

#[test]
fn demo_is_deterministic_and_loads_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let store = dir.path().join("demo.gpkg");
    let out = chaski(&store, &["demo", "--out", a.to_str().unwrap(), "--load"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let out = chaski(&store, &["demo", "--out", b.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Same seed, same bytes, file by file.
    let mut names: Vec<_> = std::fs::read_dir(&a).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for n in &names {
        assert_eq!(std::fs::read(a.join(n)).unwrap(), std::fs::read(b.join(n)).unwrap(), "{n:?} differs");
    }
    // Every layer landed with no row rejected, and the raster too.
    let summary = chaski(&store, &["summary", "--json"]);
    let layers: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    let count = |name: &str| {
        layers
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == name)
            .map_or(0, |l| l["feature_count"].as_u64().unwrap())
    };
    assert!(count("communities") >= 150);
    assert!(count("facilities") >= 15);
    assert!(count("water_systems") >= 40);
    assert!(count("households") >= 2000);
    for l in ["districts", "paths", "roads", "rivers"] {
        assert!(count(l) > 0, "{l}");
    }
    assert!(!stdout.contains(" 0 imported"), "{stdout}");
    assert!(stdout.contains("raster"), "{stdout}");
}
