//! The store opens in the GIS tools our analysts use: GDAL's `gdalinfo`,
//! `gdallocationinfo` and `ogrinfo`, and QGIS itself (headless, through its
//! Python API), on the demo region loaded by `chaski demo --load`. What they
//! report is checked against the store's own numbers. Missing tools fail the
//! tests: `scripts/install-deps.sh` installs them.

use crate::common::{demo_store, text};
use chaski_core::raster::Raster;
use chaski_core::store::Store;
use chaski_io::store::gpkg::GpkgStore;
use std::path::Path;
use std::process::{Command, Output};

/// Run a reference tool; a missing one fails with how to install it.
fn tool(cmd: &str, args: &[&str], package: &str) -> Output {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{cmd} is not available ({e}): scripts/install-deps.sh installs it (Debian package {package})"
        )
    });
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        text(&out.stderr)
    );
    out
}

/// The store's DEM, through chaski.
fn store_dem(store: &Path) -> Raster<f32> {
    GpkgStore::open(store).unwrap().read_raster("dem").unwrap()
}

/// Cells on both sides of tile edges (256 x 256 tiles), the corners and the middle.
const SAMPLE_CELLS: [(usize, usize); 7] = [
    (0, 0),
    (255, 255),
    (256, 256),
    (255, 256),
    (240, 220),
    (479, 0),
    (479, 439),
];

#[test]
fn gdal_lists_and_reads_the_dem_exactly() {
    let (_dir, store) = demo_store();
    let s = store.to_str().unwrap();
    let dem = store_dem(&store);
    assert_eq!((dem.width, dem.height, dem.epsg), (480, 440, Some(32718)));
    let nodata = dem.nodata.expect("the demo DEM has a nodata value");

    let info = text(&tool("gdalinfo", &[s], "gdal-bin").stdout);
    for expected in [
        "Driver: GPKG/GeoPackage".to_owned(),
        format!("Size is {}, {}", dem.width, dem.height),
        "WGS 84 / UTM zone 18S".to_owned(),
        "ID[\"EPSG\",32718]]".to_owned(),
        "Origin = (583200.000000000000000,8578680.000000000000000)".to_owned(),
        "Pixel Size = (60.000000000000000,-60.000000000000000)".to_owned(),
        "Type=Float32".to_owned(),
        format!("NoData Value={nodata}"),
        "Description = dem".to_owned(),
    ] {
        assert!(
            info.contains(&expected),
            "gdalinfo lacks {expected:?}:\n{info}"
        );
    }
    // The same through the raster's own subdataset name (needed once a store has several rasters).
    let named = text(&tool("gdalinfo", &[&format!("GPKG:{s}:dem")], "gdal-bin").stdout);
    assert!(named.contains("Size is 480, 440"), "{named}");

    for (col, row) in SAMPLE_CELLS {
        let out = tool(
            "gdallocationinfo",
            &["-valonly", s, &col.to_string(), &row.to_string()],
            "gdal-bin",
        );
        let value: f64 = text(&out.stdout).trim().parse().unwrap();
        let stored = dem.get(col, row).unwrap();
        assert_eq!(
            (value as f32).to_bits(),
            stored.to_bits(),
            "cell ({col}, {row}): gdallocationinfo {value}, store {stored}"
        );
    }

    // Every cell through GDAL's GeoPackage driver, bit for bit, and equal to the imported GeoTIFF.
    let through_gdal = chaski_io::raster::read_raster(Path::new(&format!("GPKG:{s}:dem"))).unwrap();
    assert_eq!(
        (
            through_gdal.transform,
            through_gdal.epsg,
            through_gdal.nodata
        ),
        (dem.transform, dem.epsg, dem.nodata)
    );
    let bits = |r: &Raster<f32>| r.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert!(bits(&through_gdal) == bits(&dem), "GDAL reads other cells");
    let source = store.parent().unwrap().join("demo").join("dem.tif");
    let source = chaski_io::raster::read_raster(&source).unwrap();
    assert!(
        bits(&source) == bits(&dem),
        "the store changed the imported cells"
    );

    // The vector layers are still there for ogrinfo.
    let layers = text(&tool("ogrinfo", &["-so", "-q", s], "gdal-bin").stdout);
    for layer in [
        "communities (Point)",
        "facilities (Point)",
        "districts (Multi Polygon)",
        "paths (Multi Line String)",
    ] {
        assert!(layers.contains(layer), "ogrinfo lacks {layer}:\n{layers}");
    }
}

/// Debian's QGIS Python: the system interpreter, not a pyenv `python3` on PATH.
const QGIS_PYTHON: &str = "/usr/bin/python3";

#[test]
fn qgis_opens_the_demo_store() {
    let probe = Command::new(QGIS_PYTHON)
        .args(["-c", "import qgis.core"])
        .env("QT_QPA_PLATFORM", "offscreen")
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "QGIS's Python API is missing ({QGIS_PYTHON} -c 'import qgis.core': {}): \
             scripts/install-deps.sh installs it (Debian package python3-qgis)",
            text(&o.stderr).trim()
        ),
        Err(e) => panic!(
            "{QGIS_PYTHON} is not available ({e}): scripts/install-deps.sh installs \
             QGIS's Python API (Debian package python3-qgis)"
        ),
    }
    let (dir, store) = demo_store();
    let s = GpkgStore::open(&store).unwrap();
    let communities = s.layer_info("communities").unwrap().feature_count;
    assert!(communities > 0);
    let dem = s.read_raster("dem").unwrap();
    drop(s);
    // A cell with data, near the middle.
    let (col, row) = (240..dem.width)
        .map(|c| (c, 220))
        .find(|&(c, r)| !dem.is_nodata(dem.get(c, r).unwrap()))
        .unwrap();
    let (x, y) = dem.cell_center(col, row);

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/qgis_open.py");
    let runtime = dir.path().join("xdg-runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let out = Command::new(QGIS_PYTHON)
        .arg(&script)
        .args([
            store.to_str().unwrap(),
            "communities",
            "dem",
            &x.to_string(),
            &y.to_string(),
        ])
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "QGIS script failed ({}): {}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let json = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON from the QGIS script: {stdout}"));
    let seen: serde_json::Value = serde_json::from_str(json).unwrap();

    assert_eq!(seen["vector_valid"], true, "{seen}");
    assert_eq!(seen["feature_count"], communities as u64, "{seen}");
    assert_eq!(seen["vector_crs"], "EPSG:4326", "{seen}");
    assert_eq!(seen["raster_valid"], true, "{seen}");
    assert_eq!(
        (&seen["width"], &seen["height"]),
        (&dem.width.into(), &dem.height.into()),
        "{seen}"
    );
    assert_eq!(seen["raster_crs"], "EPSG:32718", "{seen}");
    assert_eq!(seen["nodata"].as_f64(), dem.nodata, "{seen}");
    let (x0, y0, x1, y1) = dem.bounds();
    assert_eq!(
        seen["extent"],
        serde_json::json!([x0, y0, x1, y1]),
        "{seen}"
    );
    let stored = dem.get(col, row).unwrap();
    assert_eq!(
        seen["sample"].as_f64(),
        Some(f64::from(stored)),
        "cell ({col}, {row}) at ({x}, {y}): {seen}"
    );
}
