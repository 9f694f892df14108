//! The `chaski` binary end to end: exit codes and messages of `import`, `demo` and `summary`.

use std::fmt::Write as _;

use crate::common::{chaski, demo_data, demo_store, peru, require_tool, text};
use chaski_core::auth::TokenStore as _;
use std::path::Path;
use std::process::Command;

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
    let out = chaski(
        &store,
        &["import", csv.to_str().unwrap(), "--layer", "facilities"],
    );
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
        assert!(
            stderr.contains(expected),
            "missing '{expected}' in:\n{stderr}"
        );
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
    let out = chaski(
        &src,
        &["import", csv.to_str().unwrap(), "--layer", "communities"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path().join("cut.gpkg");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let out = chaski(
        &store,
        &["import", cut.to_str().unwrap(), "--layer", "communities"],
    );
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
        let out = chaski(
            &store,
            &["import", file.to_str().unwrap(), "--layer", "communities"],
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(
            stderr.contains(file.file_name().unwrap().to_str().unwrap()),
            "{stderr}"
        );
        assert_eq!(
            stderr.lines().filter(|l| l.contains("error")).count(),
            1,
            "{stderr}"
        );
    }
}

#[test]
fn real_villages_and_facilities_import_completely() {
    let (Some(villages), Some(gpkg), Some(csv)) = (
        peru("villages/ccpp_ign100k.gpkg"),
        peru("health/ipress_minsa.gpkg"),
        peru("health/ipress_minsa.csv"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let out = chaski(
        &store,
        &[
            "import",
            villages.to_str().unwrap(),
            "--layer",
            "communities",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("136587 features read, 136587 imported"),
        "{}",
        text(&out.stdout)
    );
    for (file, layer) in [(&gpkg, "facilities"), (&csv, "ipress_csv")] {
        let out = chaski(
            &store,
            &[
                "import",
                file.to_str().unwrap(),
                "--layer",
                layer,
                "--kind",
                "facilities",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("7951 imported"),
            "{}",
            text(&out.stdout)
        );
    }
    let out = chaski(&store, &["summary"]);
    let s = text(&out.stdout);
    assert!(s.contains("136587") || s.contains("136,587"), "{s}");
}

/// The files of the committed demo region: every file of `data/` but its
/// documentation (`*.md`) and the store `make demo` loads them into
/// (`chaski.gpkg` and its journal files, ignored by git).
fn committed_demo_files(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| {
            !Path::new(n)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("md"))
                && !n.starts_with("chaski.gpkg")
        })
        .collect();
    names.sort();
    names
}

/// `make demo` regenerates `data/` byte for byte (README): a fresh `chaski demo`
/// writes every committed file of `data/` (documentation aside) with the same
/// bytes, and no file that is not committed. On a difference the first
/// differing file and byte offset are named.
#[test]
fn demo_regenerates_the_committed_data_and_loads_every_layer() {
    let Some(data) = demo_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("data");
    let store = dir.path().join("demo.gpkg");
    let out = chaski(
        &store,
        &["demo", "--out", fresh.to_str().unwrap(), "--load"],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let committed = committed_demo_files(&data);
    assert!(committed.len() >= 9, "{committed:?}");
    assert_eq!(
        committed_demo_files(&fresh),
        committed,
        "the files chaski demo writes (left) and those committed in data/ (right)"
    );
    for name in &committed {
        let (want, got) = (
            std::fs::read(data.join(name)).unwrap(),
            std::fs::read(fresh.join(name)).unwrap(),
        );
        if let Some(at) = want.iter().zip(&got).position(|(a, b)| a != b) {
            panic!(
                "data/{name} differs from a fresh `chaski demo` at byte {at} \
                 (committed {:#04x}, fresh {:#04x}): run `make demo` and commit data/",
                want[at], got[at]
            );
        }
        assert_eq!(
            want.len(),
            got.len(),
            "data/{name}: committed {} bytes, a fresh `chaski demo` {} (first differing byte {})",
            want.len(),
            got.len(),
            want.len().min(got.len())
        );
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

/// A served tile read by GDAL's MVT driver over HTTP lists the fields TileJSON announces.
#[test]
fn gdal_reads_served_tiles_with_the_tilejson_fields() {
    if !require_tool("ogrinfo") {
        return;
    }
    let (_dir, store) = demo_store();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_chaski"))
        .arg("--store")
        .arg(&store)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let fetch = |path: &str| -> Option<Vec<u8>> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).ok()?;
        let at = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        Some(buf[at + 4..].to_vec())
    };
    let mut tilejson = None;
    for _ in 0..100 {
        if let Some(b) = fetch("/tiles/communities,facilities.json") {
            tilejson = serde_json::from_slice::<serde_json::Value>(&b).ok();
            if tilejson.is_some() {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let tilejson = tilejson.expect("server answered");
    // A z12 tile in the middle of the villages.
    let b = tilejson["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect::<Vec<_>>();
    let (lon, lat) = (f64::midpoint(b[0], b[2]), f64::midpoint(b[1], b[3]));
    let x = ((lon + 180.0) / 360.0 * 4096.0).floor();
    let lr = lat.to_radians();
    let y =
        ((1.0 - (lr.tan() + 1.0 / lr.cos()).ln() / std::f64::consts::PI) / 2.0 * 4096.0).floor();
    let url = format!("/vsicurl/{base}/tiles/communities,facilities/12/{x}/{y}.mvt");
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-al", &url])
        .output()
        .unwrap();
    server.kill().ok();
    server.wait().ok();
    let info = text(&out.stdout);
    assert!(out.status.success(), "{info}\n{}", text(&out.stderr));
    for (i, layer) in ["communities", "facilities"].iter().enumerate() {
        let section = info
            .split("Layer name: ")
            .find(|s| s.starts_with(layer))
            .unwrap_or_else(|| panic!("{layer} missing:\n{info}"));
        let announced = tilejson["vector_layers"][i]["fields"].as_object().unwrap();
        let mut seen = 0;
        for line in section.lines() {
            if let Some((name, ty)) = line.split_once(": ")
                && ["String", "Integer", "Integer64", "Real"]
                    .contains(&ty.split(' ').next().unwrap_or(""))
                && name != "mvt_id"
            {
                assert!(
                    announced.contains_key(name),
                    "{layer}: GDAL field '{name}' not in TileJSON {announced:?}"
                );
                seen += 1;
            }
        }
        assert!(seen >= 4, "{layer}: GDAL listed {seen} fields:\n{section}");
    }
}

/// A KoBoToolbox household export (chaski-io's test fixture) imported twice
/// (households are upserted by default): the second import updates the same
/// submissions instead of adding them; bad rows are reported with row, field
/// and reason; `--replace` starts the layer over.
#[test]
fn household_export_reimport_updates_by_submission() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let kobo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../chaski-io/tests/fixtures/kobo_hogares.csv"
    );
    let args = [
        "import",
        kobo,
        "--layer",
        "households",
        "--kind",
        "households",
    ];
    let out = chaski(&store, &args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "6 rows read, 4 imported into 'households' (4 inserted, 0 updated, 0 deleted by \
             consent withdrawal), 2 rejected"
        ),
        "{stdout}"
    );
    for expected in [
        "kobo_hogares.csv: row 4: field 'consent': missing consent: household data are stored \
         only with the family's consent (row skipped)",
        "kobo_hogares.csv: row 6: field 'gps_accuracy': GPS accuracy 40 m is over 25 m; kept and \
         flagged low_accuracy (warning)",
    ] {
        assert!(
            stderr.contains(expected),
            "missing '{expected}' in:\n{stderr}"
        );
    }
    let out = chaski(&store, &args);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("(0 inserted, 4 updated, 0 deleted by consent withdrawal)"),
        "{stdout}"
    );
    let summary = chaski(&store, &["summary", "--json"]);
    let layers: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    // Four households: a private count under 5 is never printed.
    assert_eq!(layers[0]["feature_count"], "<5");
    let mut replace = args.to_vec();
    replace.push("--replace");
    let out = chaski(&store, &replace);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("(4 inserted, 0 updated)"), "{stdout}");
}

/// Consent withdrawal and the register of places from the command line: an
/// import registers its places; `households delete` removes every record of
/// a household (printing what, without health data) and logs it without the
/// code; `places add/remove/derive` manage the register.
#[test]
fn households_delete_and_places() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let kobo = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../chaski-io/tests/fixtures/kobo_hogares.csv"
    );
    let out = chaski(
        &store,
        &[
            "import",
            kobo,
            "--layer",
            "households",
            "--kind",
            "households",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = chaski(&store, &["places", "list"]);
    let list = text(&out.stdout);
    assert!(out.status.success(), "{list}");
    // The fixture's households: SYN-00001 / SYN-CP01-S2 / SYN-CP01 among them.
    assert!(list.contains("SYN-00001  SYN-CP01-S2  SYN-CP01"), "{list}");

    let out = chaski(&store, &["households", "delete", "KH-01"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("deleted 1 record(s) of household 'KH-01'"),
        "{stdout}"
    );
    assert!(
        stdout.contains("sector SYN-CP01-S2  community SYN-CP01"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("alto") && !stdout.contains("anaemia"),
        "{stdout}"
    );
    let out = chaski(&store, &["households", "delete", "KH-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("nothing deleted"));
    // The deletion is in the access log, without the code.
    let log = chaski_io::store::tokens::GpkgTokenStore::open(&store)
        .unwrap()
        .access_log()
        .unwrap();
    let deletions: Vec<_> = log
        .iter()
        .filter(|e| e.what == "chaski households delete")
        .collect();
    assert_eq!(deletions.len(), 2, "{log:?}");
    assert_eq!((deletions[0].count, deletions[1].count), (1, 0));
    assert!(deletions[0].who.as_deref().unwrap().starts_with("cli:"));
    assert!(!format!("{log:?}").contains("KH-01"));
    // The places survive deletions; add and remove by hand.
    let out = chaski(
        &store,
        &[
            "places",
            "add",
            "--facility",
            "F9",
            "--sector",
            "S9",
            "--community",
            "C9",
        ],
    );
    assert_eq!(text(&out.stdout).trim(), "registered");
    let out = chaski(
        &store,
        &[
            "places",
            "remove",
            "--facility",
            "F9",
            "--sector",
            "S9",
            "--community",
            "C9",
        ],
    );
    assert_eq!(text(&out.stdout).trim(), "removed");
    let out = chaski(
        &store,
        &[
            "places",
            "add",
            "--facility",
            "F9",
            "--sector",
            "S9",
            "--community",
            "",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--community is empty"));
    let out = chaski(&store, &["places", "derive"]);
    assert!(
        text(&out.stdout).contains("0 places registered from 'households'"),
        "{}",
        text(&out.stdout)
    );
}

/// Issue 11, first-day problem 5: `summary` gives a geographic DEM's cells in
/// metres (it said "cells of 0.0 x 0.0").
#[test]
fn summary_gives_a_geographic_dem_in_metres() {
    let Some(dem) = peru("elevation/torobamba_alos_1s.tif") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let out = chaski(&store, &["import", dem.to_str().unwrap(), "--layer", "dem"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&chaski(&store, &["summary"]).stdout);
    // 1 arc-second: 30.1 m east-west and 30.9 m north-south at 13° S.
    assert!(
        s.contains("cells of 30.1 x 30.9 m (1.00\" x 1.00\" at latitude -13.0), EPSG:4326"),
        "{s}"
    );
}
