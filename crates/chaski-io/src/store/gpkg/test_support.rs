//! Helpers of the store's unit tests: sample layers, a store in a temporary
//! directory, and queries of the spatial index.

use super::open::GpkgStore;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use geo::{Geometry, GeometryCollection, MultiLineString, MultiPoint, MultiPolygon};
use geo::{line_string, point, polygon};
use rusqlite::params;
use std::path::PathBuf;
use std::process::Command;

/// A community feature at (x, y) with code `code` and population `pop`.
pub(super) fn community(code: Option<&str>, pop: i64, x: f64, y: f64) -> Feature {
    Feature {
        fid: 0,
        geometry: Geometry::Point(point! { x: x, y: y }),
        values: vec![
            code.into(),
            format!("village {}", code.unwrap_or("?")).into(),
            Value::Null,
            pop.into(),
            Value::Null,
            "La Mar".into(),
        ],
    }
}

/// A `communities` layer of `features`.
pub(super) fn communities(features: Vec<Feature>) -> Layer {
    let mut l = Layer::new("communities", LayerKind::Communities);
    l.features = features;
    l
}

/// A new store in a temporary directory (kept while the `TempDir` lives).
pub(super) fn tmp_store() -> (tempfile::TempDir, PathBuf, GpkgStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.gpkg");
    let store = GpkgStore::open(&path).unwrap();
    (dir, path, store)
}

/// Every geometry type, each with a hole, several parts or a nested member.
pub(super) fn all_geometries() -> Vec<Geometry<f64>> {
    let square = polygon!(
        exterior: [(x: 0.0, y: 0.0), (x: 4.0, y: 0.0), (x: 4.0, y: 4.0), (x: 0.0, y: 4.0), (x: 0.0, y: 0.0)],
        interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 1.0)]],
    );
    let tri =
        polygon![(x: 10.0, y: 10.0), (x: 11.0, y: 10.0), (x: 10.5, y: 11.0), (x: 10.0, y: 10.0)];
    let ls = line_string![(x: -74.1, y: -13.1), (x: -74.0, y: -13.0), (x: -73.9, y: -13.05)];
    vec![
        Geometry::Point(point! { x: -74.25, y: -13.5 }),
        Geometry::MultiPoint(MultiPoint::new(vec![
            point! { x: 1.0, y: 2.0 },
            point! { x: 3.0, y: -4.5 },
        ])),
        Geometry::LineString(ls.clone()),
        Geometry::MultiLineString(MultiLineString::new(vec![
            ls,
            line_string![(x: 5.0, y: 5.0), (x: 6.0, y: 7.0)],
        ])),
        Geometry::Polygon(square.clone()),
        Geometry::MultiPolygon(MultiPolygon::new(vec![square.clone(), tri])),
        Geometry::GeometryCollection(GeometryCollection::new_from(vec![
            Geometry::Point(point! { x: 0.5, y: 0.5 }),
            Geometry::Polygon(square),
        ])),
        Geometry::MultiPoint(MultiPoint::new(vec![])),
    ]
}

/// Fids the spatial index returns for a window, sorted.
pub(super) fn rtree_window(store: &GpkgStore, layer: &str, w: [f64; 4]) -> Vec<i64> {
    let c = store.conn.lock().unwrap();
    let mut ids: Vec<i64> = c
        .prepare(&format!(
            "SELECT id FROM rtree_{layer}_geom WHERE maxx >= ?1 AND minx <= ?3 AND maxy >= ?2 AND miny <= ?4"
        ))
        .unwrap()
        .query_map(params![w[0], w[1], w[2], w[3]], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    ids.sort_unstable();
    ids
}

/// The number of entries of a layer's spatial index, after SQLite's `rtreecheck`.
pub(super) fn rtree_count(store: &GpkgStore, layer: &str) -> i64 {
    let c = store.conn.lock().unwrap();
    let check: String = c
        .query_row(
            &format!("SELECT rtreecheck('rtree_{layer}_geom')"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(check, "ok");
    c.query_row(
        &format!("SELECT COUNT(*) FROM rtree_{layer}_geom"),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// `ogrinfo ARGS` (tests check [`chaski_testing::require_tool`] first).
pub(super) fn ogrinfo(args: &[&str]) -> String {
    let out = Command::new("ogrinfo")
        .args(args)
        .output()
        .expect("run ogrinfo");
    assert!(
        out.status.success(),
        "ogrinfo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
