//! Importers on real public data (../shared/data/peru: a failure under
//! `CHASKI_REQUIRE_DATA=1` when absent, else skipped saying so), and a vector
//! layer in UTM made here.

use chaski_core::domain::Category;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::value::Value;
use chaski_io::import::{ImportOptions, Imported, import_file};
use geo::Geometry;
use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{peru, require_tool};

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
    if !require_tool("ogr2ogr") {
        return;
    }
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

/// The data-free twin of `utm_shapefile_is_reprojected_with_proj`: a small
/// layer written here in UTM 18S (EPSG:32718, declared in the GeoJSON's `crs`
/// member as GDAL reads it), with coordinates projected by chaski-demo's own
/// Krüger series (not PROJ), imports back to the longitudes and latitudes it
/// was made from within 1e-7 degrees (about 1 cm).
#[test]
fn a_utm_layer_made_here_is_reprojected_with_proj() {
    // A district-like polygon with a hole around Torobamba, and a second one.
    // Code and rings (outer first) in longitude/latitude.
    type Shape = (&'static str, Vec<Vec<(f64, f64)>>);
    let shapes: [Shape; 2] = [
        (
            "050501",
            vec![
                vec![
                    (-74.10, -12.90),
                    (-73.95, -12.92),
                    (-73.96, -13.05),
                    (-74.12, -13.04),
                    (-74.10, -12.90),
                ],
                vec![
                    (-74.05, -12.96),
                    (-74.05, -12.99),
                    (-74.01, -12.99),
                    (-74.05, -12.96),
                ],
            ],
        ),
        (
            "050502",
            vec![vec![
                (-74.25, -13.10),
                (-74.18, -13.10),
                (-74.18, -13.16),
                (-74.25, -13.10),
            ]],
        ),
    ];
    let features: Vec<serde_json::Value> = shapes
        .iter()
        .map(|(code, rings)| {
            let rings: Vec<Vec<[f64; 2]>> = rings
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|&(lon, lat)| {
                            let (x, y) = chaski_demo::utm::forward(lon, lat);
                            [x, y]
                        })
                        .collect()
                })
                .collect();
            serde_json::json!({
                "type": "Feature",
                "properties": {"IDDIST": code, "NOMBDIST": format!("D{code}")},
                "geometry": {"type": "Polygon", "coordinates": rings},
            })
        })
        .collect();
    let doc = serde_json::json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32718"}},
        "features": features,
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("districts_utm.geojson");
    std::fs::write(&path, doc.to_string()).unwrap();
    // Metres, not degrees, in the file.
    assert!(
        doc["features"][0]["geometry"]["coordinates"][0][0][0]
            .as_f64()
            .unwrap()
            > 500_000.0
    );

    let l = layer(&path, "districts", LayerKind::Boundaries);
    assert_eq!(l.len(), shapes.len());
    use geo::CoordsIter;
    for (f, (code, rings)) in l.features.iter().zip(&shapes) {
        assert_eq!(l.value(f, "code").as_str(), Some(*code));
        let Geometry::MultiPolygon(mp) = &f.geometry else {
            panic!("{code}: {:?}", f.geometry)
        };
        assert_eq!(mp.0.len(), 1, "{code}");
        assert_eq!(mp.0[0].interiors().len(), rings.len() - 1, "{code}");
        let got: Vec<_> = f.geometry.coords_iter().collect();
        let mut want: Vec<(f64, f64)> = rings.iter().flatten().copied().collect();
        // The importer may orient rings its own way: compare as sets of vertices.
        let mut got: Vec<(f64, f64)> = got.iter().map(|c| (c.x, c.y)).collect();
        let key = |a: &(f64, f64), b: &(f64, f64)| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1));
        got.sort_by(key);
        want.sort_by(key);
        assert_eq!(got.len(), want.len(), "{code}");
        for (p, q) in got.iter().zip(&want) {
            assert!(
                (p.0 - q.0).abs() < 1e-7 && (p.1 - q.1).abs() < 1e-7,
                "{code}: {p:?} vs {q:?}"
            );
        }
    }
}
