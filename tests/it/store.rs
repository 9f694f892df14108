//! The GeoPackage store through the `Store` trait object, as `serve` uses it.

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, StoreError, WriteMode};
use chaski_core::value::{Field, FieldType, Value};
use chaski_io::store::gpkg::GpkgStore;
use geo::{Geometry, LineString, MultiLineString, point};
use std::path::Path;
use std::sync::Arc;

fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(GpkgStore::open(path).expect("open the GeoPackage store"))
}

fn facility(code: &str, x: f64, y: f64, maternity: Option<bool>) -> Feature {
    Feature {
        fid: 0,
        geometry: Geometry::Point(point! { x: x, y: y }),
        values: vec![
            code.into(),
            format!("Puesto {code}").into(),
            "I-2".into(),
            "MINSA".into(),
            "basic".into(),
            maternity.into(),
            "050501".into(),
        ],
    }
}

fn facilities() -> Layer {
    let mut l = Layer::new("facilities", LayerKind::Facilities);
    l.fields.push(Field::new("opened", FieldType::Date));
    l.features = vec![
        facility("00001", -74.05, -13.02, Some(true)),
        facility("00002", -73.98, -12.91, None),
        facility("00003", -74.11, -13.15, Some(false)),
    ];
    for (f, d) in l.features.iter_mut().zip(["1998-03-01", "", "2011-11-30"]) {
        f.values
            .push(if d.is_empty() { Value::Null } else { d.into() });
    }
    l
}

fn trail() -> Layer {
    let mut l = Layer::new("trails", LayerKind::Paths);
    l.features =
        vec![Feature {
            fid: 0,
            geometry: Geometry::MultiLineString(MultiLineString::new(vec![LineString::from(
                vec![(-74.05, -13.02), (-74.0, -13.0), (-73.98, -12.91)],
            )])),
            values: vec!["t1".into(), "Camino a Tambo".into(), "mule_track".into()],
        }];
    l
}

/// Write through the trait object, drop the store, reopen the file: everything
/// reads back equal, and equal to the in-memory reference store.
#[test]
fn gpkg_store_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chaski.gpkg");
    let reference: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let dem = Raster {
        width: 2,
        height: 2,
        transform: [-74.2, 0.1, 0.0, -12.8, 0.0, -0.1],
        epsg: Some(4326),
        nodata: Some(-9999.0),
        data: vec![2800.5, 3100.0, -9999.0, 4012.25],
    };
    let mut updated = facilities();
    updated.features = vec![facility("00002", -73.97, -12.90, Some(true))];
    {
        let store = open(&path);
        assert_eq!(store.backend(), "gpkg");
        for s in [&store, &reference] {
            s.write_layer(&facilities(), WriteMode::Replace).unwrap();
            s.write_layer(&trail(), WriteMode::Replace).unwrap();
            let w = s.write_layer(&updated, WriteMode::Upsert).unwrap();
            assert_eq!((w.inserted, w.updated, w.version), (0, 1, 3));
            assert_eq!(s.write_raster("dem", &dem).unwrap(), 4);
        }
    }
    let store = open(&path);
    assert_eq!(store.version().unwrap(), 4);
    assert_eq!(store.layers().unwrap(), reference.layers().unwrap());
    for name in ["facilities", "trails"] {
        assert_eq!(
            store.read_layer(name).unwrap(),
            reference.read_layer(name).unwrap()
        );
    }
    let back = store.read_layer("facilities").unwrap();
    let f2 = &back.features[1];
    assert_eq!(f2.fid, 2);
    assert_eq!(back.value(f2, "maternity_home"), &Value::Bool(true));
    assert_eq!(
        f2.geometry,
        Geometry::Point(point! { x: -73.97, y: -12.90 })
    );
    assert_eq!(
        back.value(&back.features[2], "opened"),
        &Value::Text("2011-11-30".into())
    );
    let info = store.layer_info("facilities").unwrap();
    assert_eq!(info.feature_count, 3);
    assert_eq!(info.bounds, Some([-74.11, -13.15, -73.97, -12.90]));
    assert_eq!(store.read_raster("dem").unwrap(), dem);
    assert_eq!(store.rasters().unwrap(), reference.rasters().unwrap());
    assert!(matches!(
        store.read_layer("roads"),
        Err(StoreError::NotFound(_))
    ));
}

/// The store is shared between threads as `Arc<dyn Store>`: concurrent
/// appends all land, each with its own version.
#[test]
fn gpkg_store_is_shared_between_threads() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("shared.gpkg"));
    store
        .write_layer(&facilities(), WriteMode::Replace)
        .unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut versions = Vec::new();
                for i in 0..5 {
                    let mut l = facilities();
                    l.features.truncate(1);
                    l.features[0].values[0] = format!("t{t}-{i}").into();
                    versions.push(store.write_layer(&l, WriteMode::Append).unwrap().version);
                    assert!(store.read_layer("facilities").unwrap().len() >= 4);
                }
                versions
            })
        })
        .collect();
    let mut versions: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (2..=21).collect::<Vec<u64>>());
    assert_eq!(store.version().unwrap(), 21);
    let l = store.read_layer("facilities").unwrap();
    assert_eq!(l.len(), 23);
    let fids: Vec<i64> = l.features.iter().map(|f| f.fid).collect();
    assert_eq!(fids, (1..=23).collect::<Vec<i64>>());
}

/// A damaged file is reported, never a panic.
#[test]
fn gpkg_store_reports_damaged_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.gpkg");
    GpkgStore::open(&path)
        .unwrap()
        .write_layer(&facilities(), WriteMode::Replace)
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    match GpkgStore::open(&path) {
        Err(StoreError::Corrupt { path: p, reason }) => {
            assert_eq!(p, path);
            assert!(reason.contains("truncated"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
