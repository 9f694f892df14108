//! `chaski catchments` end to end: a hand-computed synthetic grid, and the
//! real Torobamba basin (ALOS 30 m DEM, IGN villages, MINSA facilities).

use crate::common::{chaski, demo_data, peru};
use chaski_core::crs::Projection;
use chaski_core::raster::Raster;
use chaski_io::crs::ProjProjection;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;

fn ok(out: &Output) -> String {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout
}

/// One row of villages.csv.
#[derive(Debug, Clone)]
struct Row {
    code: String,
    minutes: Option<f64>,
    facility: String,
    status: String,
    lon: f64,
    lat: f64,
}

fn villages(dir: &Path) -> Vec<Row> {
    let mut r = csv::Reader::from_path(dir.join("villages.csv")).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "code", "name", "minutes", "facility", "status", "lon", "lat"
        ]
    );
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            Row {
                code: rec[0].to_owned(),
                minutes: (!rec[2].is_empty()).then(|| rec[2].parse().unwrap()),
                facility: rec[3].to_owned(),
                status: rec[4].to_owned(),
                lon: rec[5].parse().unwrap(),
                lat: rec[6].parse().unwrap(),
            }
        })
        .collect()
}

/// allocation.csv: code -> (index, status).
fn allocation(dir: &Path) -> BTreeMap<String, (usize, String)> {
    let mut r = csv::Reader::from_path(dir.join("allocation.csv")).unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (
                rec[1].to_owned(),
                (rec[0].parse().unwrap(), rec[6].to_owned()),
            )
        })
        .collect()
}

const CELL: f64 = 30.0;
const X0: f64 = 500_000.0;
const Y0: f64 = 8_600_000.0;

/// Centre of cell (col, row) of the synthetic grid, as lon/lat.
fn centre(p: &ProjProjection, col: usize, row: usize) -> (f64, f64) {
    p.inverse_one(
        X0 + (col as f64 + 0.5) * CELL,
        Y0 - (row as f64 + 0.5) * CELL,
    )
    .unwrap()
}

#[test]
fn synthetic_grid_matches_hand_computed_times() {
    // 20 x 10 cells of 30 m in UTM 18S at 1 m/s; column 12 is nodata.
    let dir = tempfile::tempdir().unwrap();
    let mut speed = Raster::filled(20, 10, [X0, CELL, 0.0, Y0, 0.0, -CELL], Some(32718), 3.6f32);
    speed.nodata = Some(-9999.0);
    for row in 0..10 {
        speed.data[row * 20 + 12] = -9999.0;
    }
    let friction = dir.path().join("speed.tif");
    chaski_io::raster::write_geotiff(&speed, &friction).unwrap();
    let p = ProjProjection::new(32718).unwrap();
    let (fac_a, fac_b) = (centre(&p, 2, 5), centre(&p, 16, 5));
    let facilities = dir.path().join("facilities.csv");
    std::fs::write(
        &facilities,
        format!(
            "codigo,nombre,categoria,lat,lon\nA,Posta A,I-1,{},{}\nB,Centro B,I-3,{},{}\n",
            fac_a.1, fac_a.0, fac_b.1, fac_b.0
        ),
    )
    .unwrap();
    let mut csv = String::from("codigo,nombre,lat,lon\n");
    let places = [
        ("V1", (7, 5)),  // 5 cells east of A
        ("V2", (2, 9)),  // 4 cells south of A
        ("V3", (4, 6)),  // one knight's move from A
        ("V4", (12, 3)), // on the nodata column
        ("V5", (19, 5)), // 3 cells east of B
        ("V6", (2, 5)),  // on A's own cell
    ];
    for (code, (c, r)) in places {
        let (lon, lat) = centre(&p, c, r);
        writeln!(csv, "{code},{code},{lat},{lon}").unwrap();
    }
    // 1 km west of the grid.
    let (lon, lat) = p.inverse_one(X0 - 1000.0, Y0 - 100.0).unwrap();
    writeln!(csv, "V7,V7,{lat},{lon}").unwrap();
    let communities = dir.path().join("communities.csv");
    std::fs::write(&communities, csv).unwrap();
    let store = dir.path().join("s.gpkg");
    for (file, layer) in [(&facilities, "facilities"), (&communities, "communities")] {
        ok(&chaski(
            &store,
            &["import", file.to_str().unwrap(), "--layer", layer],
        ));
    }
    let out = dir.path().join("out");
    let summary = ok(&chaski(
        &store,
        &[
            "catchments",
            "--friction",
            friction.to_str().unwrap(),
            "--friction-unit",
            "kmh",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert!(summary.contains("2 used as sources"), "{summary}");
    assert!(
        summary.contains("6 listed (1 outside the raster's extent not listed)"),
        "{summary}"
    );
    let rows = villages(&out);
    let by: BTreeMap<&str, &Row> = rows.iter().map(|r| (r.code.as_str(), r)).collect();
    let expect = |code: &str, seconds: f64, facility: &str| {
        let r = by[code];
        assert_eq!(r.status, "reached", "{r:?}");
        assert_eq!(r.facility, facility, "{r:?}");
        let m = r.minutes.unwrap();
        assert!(
            (m - seconds / 60.0).abs() < 1e-4,
            "{code}: {m} min, expected {seconds} s"
        );
    };
    expect("V1", 150.0, "A");
    expect("V2", 120.0, "A");
    expect("V3", 5f64.sqrt() * 30.0, "A");
    expect("V5", 90.0, "B");
    expect("V6", 0.0, "A");
    assert_eq!(by["V4"].status, "outside the surface");
    assert_eq!((by["V4"].minutes, by["V4"].facility.as_str()), (None, ""));
    // The raster: minutes, nodata -1 on the nodata column, 0 on the facilities.
    let tt = chaski_io::raster::read_raster(&out.join("travel_time.tif")).unwrap();
    assert_eq!((tt.width, tt.height, tt.epsg), (20, 10, Some(32718)));
    assert_eq!(tt.nodata, Some(-1.0));
    assert_eq!(tt.get(12, 0), Some(-1.0));
    assert_eq!(tt.get(2, 5), Some(0.0));
    assert_eq!(tt.get(16, 5), Some(0.0));
    assert!((f64::from(tt.get(19, 5).unwrap()) - 1.5).abs() < 1e-5);
    let alloc = chaski_io::raster::read_raster(&out.join("allocation.tif")).unwrap();
    assert_eq!(alloc.get(0, 0), Some(0.0));
    assert_eq!(alloc.get(19, 9), Some(1.0));
    // Isochrones: within 1 minute (60 m at 1 m/s) of either facility.
    let iso: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("isochrones.geojson")).unwrap())
            .unwrap();
    let minutes: Vec<f64> = iso["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["minutes"].as_f64().unwrap())
        .collect();
    assert_eq!(minutes, vec![30.0, 60.0, 120.0, 240.0]);
    // Everything is within 30 min; the area is every passable cell.
    let area = iso["features"][0]["properties"]["area_km2"]
        .as_f64()
        .unwrap();
    assert!((area - 190.0 * 900.0 / 1e6).abs() < 1e-9, "{area}");

    // Only category >= I-3: B alone, and the west half is cut off by the nodata column.
    let out3 = dir.path().join("out3");
    ok(&chaski(
        &store,
        &[
            "catchments",
            "--friction",
            friction.to_str().unwrap(),
            "--category",
            ">=I-3",
            "--all-villages",
            "--out",
            out3.to_str().unwrap(),
        ],
    ));
    let rows = villages(&out3);
    let status: BTreeMap<&str, &str> = rows
        .iter()
        .map(|r| (r.code.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(status["V1"], "not reached");
    assert_eq!(status["V4"], "outside the surface");
    assert_eq!(status["V5"], "reached");
    assert_eq!(status["V7"], "outside the surface");
    assert!(
        rows.iter()
            .all(|r| r.minutes.is_some() == (r.status == "reached"))
    );
}

#[test]
fn bad_arguments_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let facilities = dir.path().join("f.csv");
    std::fs::write(
        &facilities,
        "codigo,nombre,categoria,lat,lon\nA,A,I-1,-13.0,-74.0\n",
    )
    .unwrap();
    ok(&chaski(
        &store,
        &[
            "import",
            facilities.to_str().unwrap(),
            "--layer",
            "facilities",
        ],
    ));
    let out = dir.path().join("o");
    let run = |extra: &[&str]| {
        let mut args = vec!["catchments", "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = chaski(&store, &args);
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(run(&[]).contains("chaski import FILE.tif --layer dem"));
    let e = run(&["--category", ">=I-9"]);
    assert!(e.contains("--category") && e.contains("'>=I-9'"), "{e}");
    assert!(run(&["--max-minutes", "-5"]).contains("--max-minutes"));
    assert!(
        run(&["--districts", "nope"]).contains("layer 'nope' (--districts) is not in the store")
    );
}

/// Villages in the README's extent of the Torobamba DEM.
fn in_readme_extent(r: &Row) -> bool {
    (-74.162..=-73.738).contains(&r.lon) && (-13.198..=-12.804).contains(&r.lat)
}

#[test]
fn torobamba_walking_times() {
    let (Some(villages_file), Some(facilities_file), Some(dem)) = (
        peru("focus/vraem_box_villages.geojson"),
        peru("focus/vraem_box_facilities.geojson"),
        peru("elevation/torobamba_alos_1s.tif"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    for (file, layer) in [
        (&villages_file, "communities"),
        (&facilities_file, "facilities"),
        (&dem, "dem"),
    ] {
        ok(&chaski(
            &store,
            &["import", file.to_str().unwrap(), "--layer", layer],
        ));
    }
    let run = |name: &str, extra: &[&str]| -> PathBuf {
        let out = dir.path().join(name);
        let mut args = vec![
            "catchments",
            "--all-villages",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let summary = ok(&chaski(&store, &args));
        assert!(summary.contains("warped from EPSG:4326"), "{summary}");
        assert!(summary.contains("cells of 30 m (EPSG:32718"), "{summary}");
        out
    };
    let walk = run("walk", &[]);
    let rows = villages(&walk);
    let inside: Vec<&Row> = rows.iter().filter(|r| in_readme_extent(r)).collect();
    // The README: 485 villages in the extent, 275 on valid cells (UTM 18S, 30 m).
    assert_eq!(inside.len(), 485);
    let count = |s: &str| inside.iter().filter(|r| r.status == s).count();
    assert_eq!(count("reached"), 275);
    assert_eq!(count("outside the surface"), 210);
    for r in &rows {
        assert_eq!(r.minutes.is_some(), r.status == "reached", "{r:?}");
        assert_eq!(r.facility.is_empty(), r.status != "reached", "{r:?}");
    }
    // And 24 facilities, 16 on valid cells.
    let alloc = allocation(&walk);
    let mut fac = csv::Reader::from_path(walk.join("allocation.csv")).unwrap();
    let fac_rows: Vec<csv::StringRecord> = fac.records().map(Result::unwrap).collect();
    let in_extent: Vec<&csv::StringRecord> = fac_rows
        .iter()
        .filter(|r| {
            let (lon, lat): (f64, f64) = (r[4].parse().unwrap(), r[5].parse().unwrap());
            (-74.162..=-73.738).contains(&lon) && (-13.198..=-12.804).contains(&lat)
        })
        .collect();
    assert_eq!(in_extent.len(), 24);
    let sources: BTreeSet<&str> = in_extent
        .iter()
        .filter(|r| &r[6] == "source")
        .map(|r| &r[1])
        .collect();
    assert_eq!(sources.len(), 16);
    assert_eq!(
        fac_rows.iter().filter(|r| &r[6] == "source").count(),
        16,
        "no source outside the extent"
    );

    // One catchment per source: valid polygons, holding every village the
    // villages table allocates to that facility, with the counts of that table.
    let fc: geojson::FeatureCollection = std::fs::read_to_string(walk.join("catchments.geojson"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(fc.features.len(), 16);
    let mut served = 0;
    for f in &fc.features {
        let props = f.properties.as_ref().unwrap();
        let code = props["code"].as_str().unwrap();
        assert_eq!(alloc[code].1, "source", "{code}");
        let mp: geo::MultiPolygon<f64> =
            geo::MultiPolygon::try_from(f.geometry.clone().unwrap()).unwrap();
        assert!(geo::Validation::is_valid(&mp), "{code}");
        assert!(props["area_km2"].as_f64().unwrap() > 0.0);
        let mine: Vec<&Row> = rows.iter().filter(|r| r.facility == code).collect();
        assert_eq!(
            props["villages"].as_u64().unwrap(),
            mine.len() as u64,
            "{code}"
        );
        for r in mine {
            // Inside, to 1e-7 degrees (the polygon's vertices are rounded to 7 decimals).
            let near = geo::Rect::new(
                geo::coord! { x: r.lon - 1e-7, y: r.lat - 1e-7 },
                geo::coord! { x: r.lon + 1e-7, y: r.lat + 1e-7 },
            );
            assert!(
                geo::Intersects::intersects(&mp, &near),
                "{r:?} outside {code}"
            );
        }
        served += props["villages"].as_u64().unwrap();
    }
    assert_eq!(
        served,
        rows.iter().filter(|r| r.status == "reached").count() as u64
    );

    // Repeatable run to run, to the bit.
    let again = run("again", &[]);
    assert_eq!(
        std::fs::read(walk.join("villages.csv")).unwrap(),
        std::fs::read(again.join("villages.csv")).unwrap()
    );
    let tt = chaski_io::raster::read_raster(&walk.join("travel_time.tif")).unwrap();
    let tt2 = chaski_io::raster::read_raster(&again.join("travel_time.tif")).unwrap();
    assert_eq!(tt, tt2);

    // Plausibility. Source cells are 0; a neighbour is at least its distance at
    // the fastest walk of the model (6 km/h x 0.6 off path = 1 m/s) away.
    let p = ProjProjection::new(32718).unwrap();
    let source_xy: Vec<(f64, f64)> = fac_rows
        .iter()
        .filter(|r| &r[6] == "source")
        .map(|r| {
            p.forward_one(r[4].parse().unwrap(), r[5].parse().unwrap())
                .unwrap()
        })
        .collect();
    for &(x, y) in &source_xy {
        let (c, r) = tt.cell_at(x, y).unwrap();
        assert_eq!(tt.get(c, r), Some(0.0));
        for (dc, dr) in [(1i64, 0i64), (0, 1), (-1, 0), (0, -1), (1, 1), (-1, -1)] {
            let (nc, nr) = ((c as i64 + dc) as usize, (r as i64 + dr) as usize);
            let t = f64::from(tt.get(nc, nr).unwrap());
            if t < 0.0 {
                continue; // nodata
            }
            let metres = 30.0 * ((dc * dc + dr * dr) as f64).sqrt();
            assert!(
                t >= metres / 60.0 - 1e-4 && t < 10.0,
                "neighbour of a source: {t} min"
            );
        }
    }
    // Every village: no faster than 1 m/s in a straight line to the nearest source.
    for r in inside.iter().filter(|r| r.status == "reached") {
        let (x, y) = p.forward_one(r.lon, r.lat).unwrap();
        let nearest = source_xy
            .iter()
            .map(|s| (s.0 - x).hypot(s.1 - y))
            .fold(f64::INFINITY, f64::min);
        let m = r.minutes.unwrap();
        assert!(m >= nearest / 60.0 - 1e-3, "{r:?}: {m} min for {nearest} m");
        assert!(m < 12.0 * 60.0, "{r:?}");
        assert!(alloc.contains_key(&r.facility));
    }

    // To the nearest >= I-3: the three such facilities on valid cells, and never faster.
    let i3 = run("i3", &["--category", ">=I-3"]);
    let alloc3 = allocation(&i3);
    let used: BTreeSet<&str> = alloc3
        .iter()
        .filter(|(_, (_, s))| s == "source")
        .map(|(c, _)| c.as_str())
        .collect();
    // Sacharaccay (I-3), Tambo (I-4), Hospital de Apoyo San Miguel (II-E).
    assert_eq!(used, BTreeSet::from(["3790", "3792", "3797"]));
    let rows3 = villages(&i3);
    assert_eq!(rows3.len(), rows.len());
    for (a, b) in rows.iter().zip(&rows3) {
        assert_eq!((&a.code, &a.status), (&b.code, &b.status));
        if let (Some(all), Some(higher)) = (a.minutes, b.minutes) {
            assert!(higher >= all - 1e-9, "{b:?} faster than {a:?}");
            assert!(used.contains(b.facility.as_str()));
        }
    }

    // A pregnant woman walks at 0.7 of the speed everywhere: times are 1/0.7 longer.
    let slow = run("pregnant", &["--preset", "pregnant"]);
    for (a, b) in rows.iter().zip(&villages(&slow)) {
        assert_eq!(a.facility, b.facility);
        if let (Some(m), Some(s)) = (a.minutes, b.minutes) {
            assert!((s - m / 0.7).abs() <= 1e-4 * s.max(1.0), "{a:?} {b:?}");
        }
    }
}

/// The demo region shipped in `data/`: paths, roads, rivers and districts.
#[test]
fn demo_region_districts_and_rivers() {
    let Some(data) = demo_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    for (file, layer, kind) in [
        ("communities.csv", "communities", None),
        ("facilities.csv", "facilities", None),
        ("paths.geojson", "paths", None),
        ("roads.geojson", "roads", None),
        ("rivers.geojson", "rivers", None),
        ("districts.geojson", "districts", Some("boundaries")),
        ("dem.tif", "dem", None),
    ] {
        let path = data.join(file);
        let mut args = vec!["import", path.to_str().unwrap(), "--layer", layer];
        if let Some(k) = kind {
            args.extend(["--kind", k]);
        }
        ok(&chaski(&store, &args));
    }
    let run = |name: &str, extra: &[&str]| -> (PathBuf, usize) {
        let out = dir.path().join(name);
        let mut args = vec!["catchments", "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let summary = ok(&chaski(&store, &args));
        // "grid: 480 x 440 cells of 60 m (EPSG:32718), N passable, ..."
        let passable = summary
            .split(", ")
            .find_map(|p| p.strip_suffix(" passable"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{summary}"));
        (out, passable)
    };
    let (walk, with_rivers) = run("walk", &["--districts", "districts"]);
    let (_, without_rivers) = run("dry", &["--rivers", "none"]);
    // Rivers are barriers (except at bridges, fords and road crossings).
    assert!(
        with_rivers + 500 < without_rivers,
        "{with_rivers} {without_rivers}"
    );
    // Districts: villages and population per district polygon equal those of
    // the communities' own ubigeo column.
    let mut expected: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    let mut r = csv::Reader::from_path(data.join("communities.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let (ub, pop) = (
        h.iter().position(|c| c == "ubigeo").unwrap(),
        h.iter().position(|c| c == "population").unwrap(),
    );
    for rec in r.records() {
        let rec = rec.unwrap();
        let e = expected.entry(rec[ub].to_owned()).or_default();
        e.0 += 1;
        e.1 += rec[pop].parse::<u64>().unwrap();
    }
    let mut got: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    let mut r = csv::Reader::from_path(walk.join("districts.csv")).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let (villages, population): (usize, u64) =
            (rec[2].parse().unwrap(), rec[3].parse().unwrap());
        // Columns per threshold: villages and population within, villages and
        // population beyond. Cumulative bands never shrink; within plus beyond
        // plus no time is every village, at each threshold.
        let n = |i: usize| rec[i].parse::<u64>().unwrap();
        assert!(n(5) <= n(9) && n(9) <= n(13), "{rec:?}");
        for within in [5, 9, 13] {
            assert_eq!(
                n(within) + n(within + 2) + n(17),
                villages as u64,
                "{rec:?}"
            );
        }
        assert!(
            villages > 0,
            "districts without villages are not listed: {rec:?}"
        );
        got.insert(rec[0].to_owned(), (villages, population));
    }
    assert_eq!(got, expected);
    // The rainy season (fords closed, slower walking) is never faster.
    let (rain, _) = run("rain", &["--preset", "rainy"]);
    let (dry_rows, wet_rows) = (villages(&walk), villages(&rain));
    assert_eq!(dry_rows.len(), 160);
    for (d, w) in dry_rows.iter().zip(&wet_rows) {
        if let (Some(a), Some(b)) = (d.minutes, w.minutes) {
            assert!(b >= a / 0.8 - 1e-3, "{d:?} {w:?}");
        }
    }
}

/// `--uncertainty`: seeded Monte Carlo bands per village, repeatable, ordered,
/// and holding the central scenario's time.
#[test]
fn demo_region_uncertainty_bands() {
    let Some(data) = demo_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    for (file, layer) in [
        ("communities.csv", "communities"),
        ("facilities.csv", "facilities"),
        ("dem.tif", "dem"),
    ] {
        ok(&chaski(
            &store,
            &[
                "import",
                data.join(file).to_str().unwrap(),
                "--layer",
                layer,
            ],
        ));
    }
    let run = |name: &str| -> String {
        let out = dir.path().join(name);
        ok(&chaski(
            &store,
            &[
                "catchments",
                "--out",
                out.to_str().unwrap(),
                "--uncertainty",
                "8",
            ],
        ));
        std::fs::read_to_string(out.join("villages.csv")).unwrap()
    };
    let (a, b) = (run("a"), run("b"));
    assert_eq!(a, b, "seeded runs must repeat");
    let mut r = csv::Reader::from_reader(a.as_bytes());
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (m, lo, me, hi) = (
        col("minutes"),
        col("minutes_low"),
        col("minutes_median"),
        col("minutes_high"),
    );
    let mut n = 0;
    for rec in r.records() {
        let rec = rec.unwrap();
        let f = |i: usize| rec[i].parse::<f64>().unwrap();
        assert!(f(lo) <= f(me) && f(me) <= f(hi), "{rec:?}");
        assert!(f(lo) <= f(m) * 1.0001 && f(m) <= f(hi) * 1.0001, "{rec:?}");
        n += 1;
    }
    assert_eq!(n, 160);
}

/// Run a reference tool; its failure is the test's failure.
fn tool(cmd: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{cmd} is needed by this test (scripts/install-deps.sh installs it): {e}")
        });
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Quantile `p` of sorted values.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// chaski's move costs against GRASS `r.cost` on the same friction, grid and
/// facilities: the Torobamba basin at 30 m, a friction raster made from slope
/// as an analyst would (`gdaldem slope -p`, Tobler's speed for that slope, in
/// seconds per metre; GRASS gets it per cell, times 30 m). `--moves 16` is
/// compared with `r.cost -k` and `--moves 8` with `r.cost`. The two agree to
/// float precision wherever GRASS's route does not cut the corner of a nodata
/// cell (chaski refuses such moves, so it is never faster): at most villages
/// and most cells exactly, and nowhere faster. Before move costs were
/// integrated, chaski/GRASS had median 0.956 (5th–95th percentile 0.91–0.99).
#[test]
fn move_costs_match_grass_r_cost() {
    let (Some(villages_file), Some(facilities_file), Some(dem)) = (
        peru("focus/vraem_box_villages.geojson"),
        peru("focus/vraem_box_facilities.geojson"),
        peru("elevation/torobamba_alos_1s.tif"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    tool(
        "gdalwarp",
        &[
            "-q",
            "-t_srs",
            "EPSG:32718",
            "-tr",
            "30",
            "30",
            "-r",
            "bilinear",
            "-dstnodata",
            "-9999",
            dem.to_str().unwrap(),
            &p("utm.tif"),
        ],
    );
    tool(
        "gdaldem",
        &["slope", "-q", "-p", &p("utm.tif"), &p("slope.tif")],
    );
    let slope = chaski_io::raster::read_raster(dir.path().join("slope.tif").as_path()).unwrap();
    let mut friction = slope.clone();
    friction.nodata = Some(-9999.0);
    let mut per_cell = friction.clone();
    for ((f, c), &s) in friction
        .data
        .iter_mut()
        .zip(per_cell.data.iter_mut())
        .zip(&slope.data)
    {
        if slope.is_nodata(s) || !s.is_finite() {
            (*f, *c) = (-9999.0, -9999.0);
        } else {
            // Tobler's speed for the slope, as seconds per metre.
            let pace = 3.6 / (6.0 * (-3.5 * (f64::from(s) / 100.0).abs()).exp());
            (*f, *c) = (pace as f32, (pace * 30.0) as f32);
        }
    }
    chaski_io::raster::write_geotiff(&friction, dir.path().join("friction.tif").as_path()).unwrap();
    chaski_io::raster::write_geotiff(&per_cell, dir.path().join("cellcost.tif").as_path()).unwrap();

    let store = dir.path().join("s.gpkg");
    for (file, layer) in [
        (&villages_file, "communities"),
        (&facilities_file, "facilities"),
        (&dem, "dem"),
    ] {
        ok(&chaski(
            &store,
            &["import", file.to_str().unwrap(), "--layer", layer],
        ));
    }
    for moves in ["16", "8"] {
        ok(&chaski(
            &store,
            &[
                "catchments",
                "--friction",
                &p("friction.tif"),
                "--friction-unit",
                "s_per_m",
                "--moves",
                moves,
                "--out",
                &p(&format!("chaski{moves}")),
            ],
        ));
    }
    tool(
        "ogr2ogr",
        &[
            "-t_srs",
            "EPSG:32718",
            &p("facilities.gpkg"),
            facilities_file.to_str().unwrap(),
        ],
    );
    tool("grass", &["-c", "EPSG:32718", &p("grassdb/loc"), "-e"]);
    let script = format!(
        "set -e
         r.in.gdal --quiet input={cost} output=cellcost
         g.region raster=cellcost
         v.in.ogr --quiet input={fac} output=facilities
         r.cost -k -n --quiet input=cellcost start_points=facilities output=cost16
         r.cost -n --quiet input=cellcost start_points=facilities output=cost8
         r.out.gdal --quiet input=cost16 output={g16} format=GTiff type=Float64
         r.out.gdal --quiet input=cost8 output={g8} format=GTiff type=Float64",
        cost = p("cellcost.tif"),
        fac = p("facilities.gpkg"),
        g16 = p("grass16.tif"),
        g8 = p("grass8.tif"),
    );
    tool(
        "grass",
        &[&p("grassdb/loc/PERMANENT"), "--exec", "bash", "-c", &script],
    );

    let metric = ProjProjection::new(32718).unwrap();
    for moves in ["16", "8"] {
        let grass =
            chaski_io::raster::read_raster(dir.path().join(format!("grass{moves}.tif")).as_path())
                .unwrap();
        let out = dir.path().join(format!("chaski{moves}"));
        let ours = chaski_io::raster::read_raster(out.join("travel_time.tif").as_path()).unwrap();
        assert_eq!((ours.width, ours.height), (grass.width, grass.height));
        // Cells both reach, over a minute from a facility.
        let mut cells: Vec<f64> = ours
            .data
            .iter()
            .zip(&grass.data)
            .filter(|&(&c, &g)| {
                !ours.is_nodata(c) && !grass.is_nodata(g) && g.is_finite() && g > 60.0
            })
            .map(|(&c, &g)| f64::from(c) * 60.0 / f64::from(g))
            .collect();
        cells.sort_by(f64::total_cmp);
        assert!(cells.len() > 1_000_000, "{moves}: {} cells", cells.len());
        // Never faster than GRASS; equal at the median and at most cells.
        assert!(cells[0] > 1.0 - 1e-5, "{moves}: min {}", cells[0]);
        assert!((quantile(&cells, 0.5) - 1.0).abs() < 1e-5, "{moves}");
        assert!(
            quantile(&cells, 0.80) < 1.0 + 1e-5,
            "{moves}: p80 {}",
            quantile(&cells, 0.8)
        );
        // At the villages both reach.
        let (gt, w) = (grass.transform, grass.width);
        let mut at: Vec<f64> = villages(&out)
            .iter()
            .filter_map(|r| {
                let m = r.minutes?;
                let (x, y) = metric.forward_one(r.lon, r.lat).ok()?;
                let col = ((x - gt[0]) / gt[1]).floor() as usize;
                let row = ((y - gt[3]) / gt[5]).floor() as usize;
                let g = f64::from(*grass.data.get(row * w + col)?);
                (g.is_finite() && g > 60.0 && !grass.is_nodata(g as f32)).then(|| m * 60.0 / g)
            })
            .collect();
        at.sort_by(f64::total_cmp);
        assert!(at.len() > 250, "{moves}: {} villages", at.len());
        assert!(at[0] > 1.0 - 1e-5, "{moves}: min {}", at[0]);
        assert!(
            quantile(&at, 0.9) < 1.0 + 1e-5,
            "{moves}: p90 {}",
            quantile(&at, 0.9)
        );
    }
}

/// Issue 11, first-day problem 1: a DEM imported under another name than
/// `dem` (README's examples said `--layer elevation`) is found; with two
/// candidate rasters the error names them and `--dem` chooses; a missing
/// layer's error lists what the store has.
#[test]
fn a_dem_under_any_name_is_found() {
    let Some(data) = demo_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    for (file, layer) in [
        ("communities.csv", "communities"),
        ("facilities.csv", "facilities"),
        ("dem.tif", "elevation"),
    ] {
        let path = data.join(file);
        ok(&chaski(
            &store,
            &["import", path.to_str().unwrap(), "--layer", layer],
        ));
    }
    let out = dir.path().join("out");
    let summary = ok(&chaski(
        &store,
        &[
            "catchments",
            "--rivers",
            "none",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    assert!(summary.contains("'elevation'"), "{summary}");
    assert!(out.join("travel_time.tif").exists());
    // A second raster: which is the DEM is asked, naming both.
    let dem = data.join("dem.tif");
    ok(&chaski(
        &store,
        &["import", dem.to_str().unwrap(), "--layer", "srtm"],
    ));
    let e = chaski(&store, &["catchments", "--out", out.to_str().unwrap()]);
    assert_eq!(e.status.code(), Some(2));
    let err = String::from_utf8_lossy(&e.stderr);
    assert!(
        err.contains("2 rasters could be the DEM ('elevation', 'srtm'): name the one to use")
            && err.contains("(--dem)"),
        "{err}"
    );
    ok(&chaski(
        &store,
        &[
            "catchments",
            "--dem",
            "srtm",
            "--rivers",
            "none",
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    // A layer that is not there: the error lists the store's layers and rasters.
    let e = chaski(
        &store,
        &[
            "catchments",
            "--dem",
            "srtm",
            "--villages",
            "aldeas",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&e.stderr);
    assert!(
        err.contains("layer 'aldeas' (--villages) is not in the store; it has layers 'communities' (communities), 'facilities' (facilities) and rasters 'elevation', 'srtm'"),
        "{err}"
    );
}

/// Issue 11, first-day problems 4 to 7 on the real data (IGN villages without
/// population, La Mar districts, Torobamba DEM, MINSA facilities): unknown
/// population stays empty, never 0, and is warned; what was missing is said
/// and written (`run.json`, GeoTIFF metadata); `--districts` on a point layer
/// is an error; districts.csv lists only districts with villages and the
/// villages beyond each threshold; CSVs open in Excel (BOM); no colour codes
/// in a redirected log.
#[test]
fn first_day_outputs_say_what_they_assume() {
    let (Some(villages_file), Some(facilities_file), Some(dem), Some(districts)) = (
        peru("focus/vraem_box_villages.geojson"),
        peru("focus/vraem_box_facilities.geojson"),
        peru("elevation/torobamba_alos_1s.tif"),
        peru("focus/lamar_districts.geojson"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    for (file, layer, kind) in [
        (&villages_file, "communities", None),
        (&facilities_file, "facilities", None),
        (&districts, "districts", Some("boundaries")),
        (&dem, "elevation", None),
    ] {
        let mut args = vec!["import", file.to_str().unwrap(), "--layer", layer];
        if let Some(k) = kind {
            args.extend(["--kind", k]);
        }
        ok(&chaski(&store, &args));
    }
    let out = dir.path().join("out");
    let run = chaski(
        &store,
        &[
            "--log",
            "info",
            "catchments",
            "--districts",
            "districts",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let summary = ok(&run);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a redirected log: {stderr:.300}"
    );
    assert!(stderr.contains("INFO"), "{stderr:.300}");
    // What was missing, said on the terminal...
    let listed: usize = summary
        .split("villages of 'communities': ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(listed > 400, "{summary}");
    for said in [
        "surface: 'elevation' (Tobler's hiking function on the DEM's slopes), EPSG:32718 warped from EPSG:4326, cells of 30 m; walking; 16 moves".to_owned(),
        "assumed: no paths or roads in the store: every cell is walked off path, at most 3.0 km/h on the flat".to_owned(),
        "assumed: no rivers in the store".to_owned(),
        format!("assumed: population unknown for {listed} of {listed} villages"),
    ] {
        assert!(summary.contains(&said), "missing '{said}' in:\n{summary}");
    }
    // ...and written beside the outputs.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(report["moves"], 16);
    assert_eq!(report["villages_without_population"], listed);
    assert!(report["assumptions"].as_array().unwrap().len() >= 3);
    let info = tool(
        "gdalinfo",
        &["-json", out.join("travel_time.tif").to_str().unwrap()],
    );
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let band = &info["bands"][0];
    assert_eq!(
        band["description"],
        "travel time to the facility (minutes; nodata: not reached)"
    );
    assert_eq!(band["metadata"][""]["UNITS"], "minutes");
    assert_eq!(info["metadata"][""]["CHASKI_MOVES"], "16");
    // Unknown population is empty, never 0; only districts holding villages.
    let text = std::fs::read_to_string(out.join("districts.csv")).unwrap();
    assert!(text.starts_with('\u{feff}'), "no BOM");
    let mut r = csv::Reader::from_path(out.join("districts.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    assert!(
        header.iter().any(|h| h == "villages_beyond_120"),
        "{header:?}"
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert!(!rows.is_empty() && rows.len() <= 8, "{}", rows.len());
    let pop = header.iter().position(|h| h == "population").unwrap();
    for row in &rows {
        assert!(row[2].parse::<u64>().unwrap() > 0, "{row:?}");
        assert_eq!(
            &row[pop], "",
            "unknown population written as a number: {row:?}"
        );
    }
    let catchments: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("catchments.geojson")).unwrap())
            .unwrap();
    for f in catchments["features"].as_array().unwrap() {
        let p = &f["properties"];
        if p["villages"].as_u64().unwrap() > 0 {
            assert!(p["population"].is_null(), "{p}");
            assert_eq!(p["villages_without_population"], p["villages"]);
        }
    }
    assert!(
        std::fs::read_to_string(out.join("villages.csv"))
            .unwrap()
            .starts_with('\u{feff}')
    );
    // Districts from a point layer: an error naming the layer and what it holds.
    let e = chaski(
        &store,
        &[
            "catchments",
            "--districts",
            "communities",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(e.status.code(), Some(2));
    let err = String::from_utf8_lossy(&e.stderr);
    assert!(
        err.contains("layer 'communities' (--districts) holds point (communities), not polygons"),
        "{err}"
    );
}

/// Issue 11, first-day problem 6: long steps show progress on a terminal
/// (here a pseudo-terminal made by `script`), and nothing of it when the
/// output is redirected.
#[test]
fn long_steps_show_progress_on_a_terminal_only() {
    let Some(data) = demo_data() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    for (file, layer) in [
        ("communities.csv", "communities"),
        ("facilities.csv", "facilities"),
        ("dem.tif", "dem"),
    ] {
        ok(&chaski(
            &store,
            &[
                "import",
                data.join(file).to_str().unwrap(),
                "--layer",
                layer,
            ],
        ));
    }
    let out = dir.path().join("out");
    let args = format!(
        "{} --store {} catchments --uncertainty 4 --out {}",
        env!("CARGO_BIN_EXE_chaski"),
        store.display(),
        out.display()
    );
    let tty = tool("script", &["-q", "-e", "-c", &args, "/dev/null"]);
    for k in 1..=4 {
        assert!(
            tty.contains(&format!("uncertainty: Monte Carlo run {k} of 4")),
            "run {k} not shown: {tty:.500}"
        );
    }
    // Redirected: the summary only.
    let piped = chaski(
        &store,
        &[
            "catchments",
            "--uncertainty",
            "4",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(piped.status.success());
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains("Monte Carlo run"), "{stderr}");
}
