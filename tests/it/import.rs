//! Importers on real public data (skipped when ../shared/data/peru is absent).

use chaski_core::domain::Category;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::value::Value;
use chaski_io::import::{ImportOptions, Imported, import_file};
use geo::Geometry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn peru(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/peru")
        .join(rel);
    p.exists().then_some(p)
}

fn layer(path: &Path, name: &str, kind: LayerKind) -> Layer {
    let mut opts = ImportOptions::new(name);
    opts.kind = Some(kind);
    match import_file(path, &opts).unwrap() {
        Imported::Layer(l, _) => l,
        Imported::Raster(_) => panic!("expected a vector layer"),
    }
}

fn points_by_code(l: &Layer) -> BTreeMap<String, (f64, f64)> {
    l.features
        .iter()
        .map(|f| {
            let Geometry::Point(p) = f.geometry else {
                panic!("not a point")
            };
            let code = l.value(f, "code").as_str().unwrap().to_owned();
            (code, (p.x(), p.y()))
        })
        .collect()
}

#[test]
fn ipress_gpkg_and_csv_give_the_same_7951_points_with_categories() {
    let (Some(gpkg), Some(csv)) = (
        peru("health/ipress_minsa.gpkg"),
        peru("health/ipress_minsa.csv"),
    ) else {
        eprintln!("skipped: ../shared/data/peru is absent");
        return;
    };
    let a = layer(&gpkg, "facilities", LayerKind::Facilities);
    let b = layer(&csv, "facilities", LayerKind::Facilities);
    assert_eq!(a.len(), 7951);
    assert_eq!(b.len(), 7951);
    // Every facility has a parsed category, except those MINSA lists as "Sin Categoría".
    let uncategorised = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .filter(|l| l.contains("Sin Categor"))
        .count();
    assert!(uncategorised > 0);
    for l in [&a, &b] {
        let parsed = l
            .features
            .iter()
            .filter(|f| {
                l.value(f, "category")
                    .as_str()
                    .is_some_and(|c| c.parse::<Category>().is_ok())
            })
            .count();
        assert_eq!(parsed, 7951 - uncategorised);
    }
    let (pa, pb) = (points_by_code(&a), points_by_code(&b));
    assert_eq!(pa.len(), pb.len());
    for (code, (x, y)) in &pa {
        let (x2, y2) = pb[code];
        assert!((x - x2).abs() < 1e-6 && (y - y2).abs() < 1e-6, "{code}");
    }
    // Extra source columns are kept as properties.
    assert!(a.field_index("clasificacion").is_some());
}

#[test]
fn villages_all_imported_inside_peru() {
    let Some(path) = peru("villages/ccpp_ign100k.gpkg") else {
        return;
    };
    let l = layer(&path, "communities", LayerKind::Communities);
    assert_eq!(l.len(), 136_587);
    let r = l.bounds().unwrap();
    assert!(r.min().x > -82.0 && r.max().x < -68.0 && r.min().y > -19.0 && r.max().y < 1.0);
    // 72,388 villages have no ubigeo in the source.
    let missing = l
        .features
        .iter()
        .filter(|f| l.value(f, "ubigeo") == &Value::Null)
        .count();
    assert_eq!(missing, 72_388);
}

#[test]
fn districts_are_valid_multipolygons() {
    let Some(path) = peru("focus/lamar_districts.geojson") else {
        return;
    };
    let l = layer(&path, "districts", LayerKind::Boundaries);
    assert_eq!(l.len(), 8);
    use geo::Validation;
    for f in &l.features {
        let Geometry::MultiPolygon(mp) = &f.geometry else {
            panic!()
        };
        assert!(mp.is_valid());
        assert!(l.value(f, "code").as_str().is_some_and(|c| c.len() == 6));
    }
}

#[test]
fn dem_imports_as_a_raster() {
    let Some(path) = peru("elevation/torobamba_srtm90.tif") else {
        return;
    };
    let Imported::Raster(r) = import_file(&path, &ImportOptions::new("dem")).unwrap() else {
        panic!()
    };
    assert_eq!((r.width, r.height), (508, 473));
    assert_eq!(r.epsg, Some(4326));
}

/// A shapefile in UTM 18S (made with ogr2ogr from the La Mar districts) imports
/// back to the same longitude/latitude within 1e-7 degrees (about 1 cm).
#[test]
fn utm_shapefile_is_reprojected_with_proj() {
    let Some(src) = peru("focus/lamar_districts.geojson") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let shp = dir.path().join("lamar_utm.shp");
    let status = std::process::Command::new("ogr2ogr")
        .args(["-f", "ESRI Shapefile", "-t_srs", "EPSG:32718"])
        .arg(&shp)
        .arg(&src)
        .status()
        .expect("ogr2ogr (package gdal-bin) is required: run scripts/install-deps.sh");
    assert!(status.success());
    let original = layer(&src, "districts", LayerKind::Boundaries);
    let back = layer(&shp, "districts", LayerKind::Boundaries);
    assert_eq!(original.len(), back.len());
    use geo::CoordsIter;
    for (a, b) in original.features.iter().zip(&back.features) {
        assert_eq!(original.value(a, "code"), back.value(b, "code"));
        let (ca, cb): (Vec<_>, Vec<_>) = (
            a.geometry.coords_iter().collect(),
            b.geometry.coords_iter().collect(),
        );
        assert_eq!(ca.len(), cb.len());
        for (p, q) in ca.iter().zip(&cb) {
            assert!(
                (p.x - q.x).abs() < 1e-7 && (p.y - q.y).abs() < 1e-7,
                "{p:?} vs {q:?}"
            );
        }
    }
}
