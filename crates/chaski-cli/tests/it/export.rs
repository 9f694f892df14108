//! `chaski export` end to end on the demo region (which holds private
//! households): the PMTiles archive read back with the independent `pmtiles`
//! package from PyPI, every tile equal, decompressed, to the tile the server
//! serves for the same z/x/y (through `app(state)` with `oneshot`), and every
//! tile the server serves with content in the archive; no private layer in
//! the package; the MBTiles file read with Python's sqlite3 (TMS rows) and
//! listed by `ogrinfo`; the archive served by `chaski serve --pmtiles`; and
//! each bad input a clear error naming its flag or file.

use crate::common::{chaski, demo_store, require_tool, text};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chaski_server::ServerConfig;
use chaski_server::state::AppState;
use chaski_tiles::TileCoord;
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

/// The private layers that must never be in a package.
const PRIVATE: [&str; 2] = ["households", "clusters"];

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Dump a package with `read_package.py` (`kind`: pmtiles or mbtiles) into
/// `out`; None when the Python `pmtiles` package is absent (and the test may skip).
fn dump(kind: &str, file: &Path, out: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    let python = chaski_testing::require_python_module("pmtiles")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/read_package.py");
    let run = std::process::Command::new(python)
        .arg(script)
        .arg(kind)
        .arg(file)
        .arg(out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    let mut tiles = BTreeMap::new();
    for e in std::fs::read_dir(out.join("tiles")).unwrap() {
        let e = e.unwrap();
        let name = e
            .file_name()
            .to_str()
            .unwrap()
            .trim_end_matches(".bin")
            .to_owned();
        tiles.insert(name, std::fs::read(e.path()).unwrap());
    }
    assert_eq!(
        text(&run.stdout).trim(),
        tiles.len().to_string(),
        "every tile dumped once"
    );
    Some(tiles)
}

fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The server over `store`, as `chaski serve` builds it.
fn server(store: &Path) -> AppState {
    let store = chaski_io::store::gpkg::GpkgStore::open(store).unwrap();
    AppState::new(Arc::new(store), ServerConfig::default()).unwrap()
}

/// `GET uri` through the router: status, headers and body.
async fn get(
    st: &AppState,
    uri: &str,
    extra: &[(header::HeaderName, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in extra {
        req = req.header(k, *v);
    }
    let res = chaski_server::app(st.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

/// Every tile of zooms `zooms` over `bounds`.
fn candidates(bounds: [f64; 4], zooms: std::ops::RangeInclusive<u8>) -> Vec<TileCoord> {
    let mut out = Vec::new();
    for z in zooms {
        let (x0, y0, x1, y1) = TileCoord::range(bounds, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                out.push(TileCoord::new(z, x, y).unwrap());
            }
        }
    }
    out
}

/// The layer names of an uncompressed tile, read with `mvt-reader`.
fn layer_names(mvt: &[u8]) -> Vec<String> {
    mvt_reader::Reader::new(mvt.to_vec())
        .unwrap()
        .get_layer_names()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pmtiles_archive_reads_back_independently_and_equals_the_served_tiles() {
    let (dir, store) = demo_store();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let archive = pkg.join("demo.pmtiles");
    let out = chaski(&store, &["export", "--out", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains("wrote") && said.contains("demo.pmtiles"),
        "{said}"
    );
    assert!(!archive.with_extension("pmtiles.partial").exists());
    for f in [
        "style.json",
        "index.html",
        "offline.js",
        "maplibre-gl.js",
        "pmtiles.js",
    ] {
        assert!(pkg.join(f).is_file(), "{f} is not beside the archive");
    }

    let Some(tiles) = dump("pmtiles", &archive, &dir.path().join("dump")) else {
        return;
    };
    let head = json_file(&dir.path().join("dump/header.json"));
    assert_eq!(head["version"], 3);
    assert_eq!(head["tile_type"], "MVT");
    assert_eq!(head["tile_compression"], "GZIP");
    assert_eq!(head["clustered"], true, "tiles in Hilbert order");
    assert_eq!(
        (head["min_zoom"].as_u64(), head["max_zoom"].as_u64()),
        (Some(0), Some(14))
    );
    assert_eq!(
        head["addressed_tiles_count"].as_u64(),
        Some(tiles.len() as u64)
    );
    let meta = json_file(&dir.path().join("dump/metadata.json"));
    let spec = meta["name"].as_str().unwrap().to_owned();
    let ids: Vec<&str> = meta["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.join(","), spec);
    for p in PRIVATE {
        assert!(!ids.contains(&p), "private layer {p} packaged: {ids:?}");
    }

    // The public catalog, as a caller without a token sees it.
    let st = server(&store);
    let (status, _, body) = get(&st, "/catalog", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let catalog: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let public: Vec<&str> = catalog["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        public.join(","),
        spec,
        "the package holds every public layer"
    );
    assert!(public.contains(&"travel_time") && public.contains(&"communities"));

    // Every tile the server serves over the data, z0-z14, is in the archive with
    // the same content; every tile of the archive is one of them.
    let b = meta["bounds"].as_array().unwrap();
    let bounds = [0, 1, 2, 3].map(|i| b[i].as_f64().unwrap());
    let mut served = 0usize;
    for c in candidates(bounds, 0..=14) {
        let uri = format!("/tiles/{spec}/{}/{}/{}.mvt", c.z(), c.x(), c.y());
        let (status, _, body) = get(&st, &uri, &[]).await;
        let key = format!("{}-{}-{}", c.z(), c.x(), c.y());
        match status {
            StatusCode::OK => {
                served += 1;
                let stored = tiles
                    .get(&key)
                    .unwrap_or_else(|| panic!("{key} served, not packaged"));
                let tile = gunzip(stored);
                assert_eq!(
                    tile, body,
                    "{key}: the packaged tile differs from the served one"
                );
                let names = layer_names(&tile);
                for p in PRIVATE {
                    assert!(!names.iter().any(|n| n == p), "{key} holds {p}");
                }
            }
            StatusCode::NO_CONTENT => {
                assert!(!tiles.contains_key(&key), "{key}: empty, yet packaged");
            }
            other => panic!("{uri}: {other}"),
        }
    }
    assert_eq!(
        served,
        tiles.len(),
        "the archive holds exactly the served tiles"
    );
    assert!(served > 100, "{served} tiles");

    // The style reads the archive beside it through pmtiles://, without text.
    let style = json_file(&pkg.join("style.json"));
    assert_eq!(style["sources"]["chaski"]["url"], "pmtiles://demo.pmtiles");
    assert!(style.get("glyphs").is_none());
    let html = std::fs::read_to_string(pkg.join("index.html")).unwrap();
    assert!(
        html.contains("pmtiles.js") && !html.contains("https://"),
        "{html}"
    );

    // The same archive served by `chaski serve --pmtiles` (the server's tile headers).
    let opened = chaski_io::tilepack::PmtilesArchive::open(&archive)
        .await
        .unwrap();
    let st = st.with_archives(BTreeMap::from([("demo".to_owned(), Arc::new(opened))]));
    let (status, _, body) = get(&st, "/archives/demo.json", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let tj: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(tj["vector_layers"], meta["vector_layers"]);
    assert!(
        tj["tiles"][0]
            .as_str()
            .unwrap()
            .ends_with("/archives/demo/{z}/{x}/{y}.mvt")
    );
    let (key, stored) = tiles.iter().next_back().unwrap();
    let zxy: Vec<&str> = key.split('-').collect();
    let uri = format!("/archives/demo/{}/{}/{}.mvt", zxy[0], zxy[1], zxy[2]);
    let (status, h, body) = get(&st, &uri, &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gunzip(&body), gunzip(stored));
    let etag = h[header::ETAG].to_str().unwrap().to_owned();
    let served_uri = format!("/tiles/{spec}/{}/{}/{}.mvt", zxy[0], zxy[1], zxy[2]);
    let (_, served_h, _) = get(&st, &served_uri, &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(
        etag,
        served_h[header::ETAG].to_str().unwrap(),
        "the same ETag as /tiles"
    );
    let (status, _, _) = get(
        &st,
        &uri,
        &[
            (header::ACCEPT_ENCODING, "gzip"),
            (header::IF_NONE_MATCH, &etag),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    let (status, _, _) = get(&st, "/archives/demo/0/0/0.mvt", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = get(&st, "/archives/demo/14/0/0.mvt", &[]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = get(&st, "/archives/nope.json", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn a_district_mbtiles_reads_back_with_tms_rows_and_opens_in_ogrinfo() {
    let (dir, store) = demo_store();
    let file = dir.path().join("chaski-alto.mbtiles");
    let out = chaski(
        &store,
        &[
            "export",
            "--out",
            file.to_str().unwrap(),
            "--district",
            "059901",
            "--maxzoom",
            "12",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("district 059901"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !dir.path().join("index.html").exists(),
        "no viewer for MBTiles"
    );
    // The whole-region export at z12, to compare: the district's is a part of it.
    let all = dir.path().join("all.pmtiles");
    let out = chaski(
        &store,
        &[
            "export",
            "--out",
            all.to_str().unwrap(),
            "--maxzoom",
            "12",
            "--no-viewer",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!dir.path().join("style.json").exists());

    let Some(rows) = dump("mbtiles", &file, &dir.path().join("mb")) else {
        return;
    };
    let Some(every) = dump("pmtiles", &all, &dir.path().join("pm")) else {
        return;
    };
    let meta = json_file(&dir.path().join("mb/metadata.json"));
    assert_eq!(meta["format"], "pbf");
    assert_eq!(
        (meta["minzoom"].as_str(), meta["maxzoom"].as_str()),
        (Some("0"), Some("12"))
    );
    let json: serde_json::Value = serde_json::from_str(meta["json"].as_str().unwrap()).unwrap();
    let ids: Vec<String> = json["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&"communities".to_owned()), "{ids:?}");
    assert!(!ids.iter().any(|i| PRIVATE.contains(&i.as_str())));
    assert!(
        !rows.is_empty() && rows.len() < every.len(),
        "{} of {}",
        rows.len(),
        every.len()
    );
    for (key, data) in &rows {
        let v: Vec<u32> = key.split('-').map(|p| p.parse().unwrap()).collect();
        let (z, x, row) = (v[0], v[1], v[2]);
        let y = (1u32 << z) - 1 - row;
        let same = every.get(&format!("{z}-{x}-{y}")).unwrap_or_else(|| {
            panic!("MBTiles {z}/{x}/row {row} is no tile {z}/{x}/{y} of the region")
        });
        assert_eq!(gunzip(data), gunzip(same), "{z}/{x}/{y}");
    }

    if !require_tool("ogrinfo") {
        return;
    }
    let info = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", "-q"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(info.status.success(), "{}", text(&info.stderr));
    let listed = text(&info.stdout);
    // Layer lines: "N: name" or "N: name (Geometry)".
    let layers: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .map(|(_, rest)| rest.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(layers, ids, "ogrinfo's layers: {listed}");
}

#[test]
fn bad_export_inputs_are_clear_errors() {
    let (dir, store) = demo_store();
    let d = dir.path();
    let good = d.join("x.pmtiles");
    let g = good.to_str().unwrap();
    let a_file = d.join("plain.txt");
    std::fs::write(&a_file, "x").unwrap();
    let under_file = a_file.join("x.pmtiles");
    let missing_dir = d.join("no/such/dir/x.pmtiles");
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (vec!["--bbox", "1,2,3"], &["--bbox", "four numbers"]),
        (vec!["--bbox", "a,b,c,d"], &["--bbox", "four numbers"]),
        (
            vec!["--bbox", "-73,-13,-74,-12"],
            &["--bbox", "minimum above its maximum"],
        ),
        (
            vec!["--bbox", "200,0,201,1"],
            &["--bbox", "longitudes and latitudes"],
        ),
        (
            vec!["--bbox", "0,0,1,1"],
            &["--bbox", "bounding box 0,0,1,1", "none of the layers"],
        ),
        (vec!["--district", "999999"], &["--district", "999999"]),
        (
            vec!["--district", "059901", "--districts", "nope"],
            &["--districts", "nope"],
        ),
        (
            vec!["--minzoom", "9", "--maxzoom", "3"],
            &["--minzoom 9", "--maxzoom 3"],
        ),
        (vec!["--maxzoom", "23"], &["--maxzoom 23"]),
        (vec!["--layers", "households"], &["--layers", "households"]),
        (
            vec!["--layers", "communities,clusters"],
            &["--layers", "clusters"],
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["export", "--out", g];
        args.extend(&extra);
        check_error(&store, &args, expected);
    }
    let path_cases: Vec<(PathBuf, &[&str])> = vec![
        (under_file.clone(), &["--out", "plain.txt"]),
        (missing_dir.clone(), &["--out", "does not exist"]),
        (d.to_path_buf(), &["--out", "is a folder"]),
        (d.join("x.geojson"), &["--out", "--format"]),
    ];
    for (path, expected) in path_cases {
        check_error(
            &store,
            &["export", "--out", path.to_str().unwrap()],
            expected,
        );
    }
    assert!(!good.exists(), "a failed export left {}", good.display());
    // A missing store is refused, as by every command but import and demo.
    check_error(
        &d.join("none.gpkg"),
        &["export", "--out", g],
        &["no store at", "none.gpkg"],
    );
    // A bad archive for `chaski serve --pmtiles` is an error at start.
    check_error(
        &store,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--pmtiles",
            a_file.to_str().unwrap(),
        ],
        &["--pmtiles", "plain.txt"],
    );
}

/// `chaski --store STORE ARGS` fails (exit 2, no panic) with every string of
/// `expected` in its message.
fn check_error(store: &Path, args: &[&str], expected: &[&str]) {
    let out = chaski(store, args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?} should fail: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for e in expected {
        assert!(
            err.contains(e),
            "{args:?}: the error does not say '{e}': {err}"
        );
    }
}
