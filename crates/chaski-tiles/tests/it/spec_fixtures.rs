//! The encoder reproduces the geometry command integers of the MVT 2.1
//! specification examples (section 4.3.5), which are also the mapbox/mvt-fixtures
//! 017 (valid point), 018 (multipoint), 019 (linestring), 020 (multilinestring),
//! 021 (polygon) and 022 (multipolygon with a hole). The expected arrays are
//! copied from the specification; the tiles are decoded with prost (protobuf
//! only) and with the independent `mvt-reader` crate, which also reads back layers (order, empty
//! ones left out, version, extent), feature ids and the property value types.

use crate::common;

use chaski_tiles::geom::{buffered_box, prepare_lines, prepare_polygon};
use chaski_tiles::mvt::{PropValue, TileGeometry, TileLayer, encode_tile};
use geo::{Coord, Geometry, LineString, MultiLineString, MultiPolygon, Polygon};

fn f(v: &[[i32; 2]]) -> Vec<[f64; 2]> {
    v.iter()
        .map(|p| [f64::from(p[0]), f64::from(p[1])])
        .collect()
}

/// Encode one feature in a one-layer tile, decode it with prost and return
/// (type, geometry integers), checking the stream with the strict checker.
fn roundtrip(geom: &TileGeometry) -> (i32, Vec<u32>, Vec<u8>) {
    let mut layer = TileLayer::new("fixture");
    layer.add_feature(Some(1), geom, &[("name", PropValue::Text("x".into()))]);
    let bytes = encode_tile(&[layer]);
    let tile = common::decode(&bytes);
    assert_eq!(tile.layers.len(), 1);
    let l = &tile.layers[0];
    assert_eq!(
        (l.version, l.name.as_str(), l.extent),
        (2, "fixture", Some(4096))
    );
    let feat = &l.features[0];
    assert_eq!(feat.id, Some(1));
    assert_eq!(
        l.prop(feat, "name").unwrap().string_value.as_deref(),
        Some("x")
    );
    let ty = feat.r#type.unwrap();
    common::check_geometry(ty, &feat.geometry);
    (ty, feat.geometry.clone(), bytes)
}

fn reader_geometry(bytes: Vec<u8>) -> Geometry<f32> {
    let reader = mvt_reader::Reader::new(bytes).unwrap();
    let feats = reader.get_features(0).unwrap();
    assert_eq!(feats.len(), 1);
    feats[0].get_geometry().clone()
}

fn ls(v: &[[f32; 2]]) -> LineString<f32> {
    LineString(v.iter().map(|p| Coord { x: p[0], y: p[1] }).collect())
}

#[test]
fn fixture_017_point() {
    let g = TileGeometry::Points(vec![[25, 17]]);
    let (ty, ints, bytes) = roundtrip(&g);
    assert_eq!((ty, ints), (1, vec![9, 50, 34]));
    match reader_geometry(bytes) {
        Geometry::Point(p) => assert_eq!((p.x(), p.y()), (25.0, 17.0)),
        Geometry::MultiPoint(mp) => assert_eq!((mp.0[0].x(), mp.0[0].y()), (25.0, 17.0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fixture_018_multipoint() {
    let g = TileGeometry::Points(vec![[5, 7], [3, 2]]);
    let (ty, ints, bytes) = roundtrip(&g);
    assert_eq!((ty, ints), (1, vec![17, 10, 14, 3, 9]));
    let Geometry::MultiPoint(mp) = reader_geometry(bytes) else {
        panic!("multipoint expected")
    };
    let got: Vec<(f32, f32)> = mp.iter().map(|p| (p.x(), p.y())).collect();
    assert_eq!(got, vec![(5.0, 7.0), (3.0, 2.0)]);
}

#[test]
fn fixture_019_linestring() {
    let line = [[2, 2], [2, 10], [10, 10]];
    // Through the preparation pipeline (clip to the buffered box, snap), then encode.
    let lines = prepare_lines(&[f(&line)], &buffered_box(4096, 64));
    assert_eq!(lines, vec![line.to_vec()]);
    let (ty, ints, bytes) = roundtrip(&TileGeometry::Lines(lines));
    assert_eq!((ty, ints), (2, vec![9, 4, 4, 18, 0, 16, 16, 0]));
    let g = reader_geometry(bytes);
    let want = ls(&[[2.0, 2.0], [2.0, 10.0], [10.0, 10.0]]);
    match g {
        Geometry::LineString(l) => assert_eq!(l, want),
        Geometry::MultiLineString(ml) => assert_eq!(ml.0, vec![want]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fixture_020_multilinestring() {
    let a = [[2, 2], [2, 10], [10, 10]];
    let b = [[1, 1], [3, 5]];
    let lines = prepare_lines(&[f(&a), f(&b)], &buffered_box(4096, 64));
    let (ty, ints, bytes) = roundtrip(&TileGeometry::Lines(lines));
    assert_eq!(
        (ty, ints),
        (2, vec![9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8])
    );
    let Geometry::MultiLineString(ml) = reader_geometry(bytes) else {
        panic!("multilinestring expected")
    };
    assert_eq!(
        ml,
        MultiLineString(vec![
            ls(&[[2.0, 2.0], [2.0, 10.0], [10.0, 10.0]]),
            ls(&[[1.0, 1.0], [3.0, 5.0]])
        ])
    );
}

#[test]
fn fixture_021_polygon() {
    // Closed input ring; the pipeline drops the closing point and keeps the
    // (already positive) orientation.
    let ring = [[3, 6], [8, 12], [20, 34], [3, 6]];
    let poly = prepare_polygon(&[f(&ring)], &buffered_box(4096, 64)).unwrap();
    assert_eq!(poly, vec![vec![[3, 6], [8, 12], [20, 34]]]);
    let (ty, ints, bytes) = roundtrip(&TileGeometry::Polygons(vec![poly]));
    assert_eq!((ty, ints), (3, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]));
    let want = Polygon::new(
        ls(&[[3.0, 6.0], [8.0, 12.0], [20.0, 34.0], [3.0, 6.0]]),
        vec![],
    );
    match reader_geometry(bytes) {
        Geometry::Polygon(p) => assert_eq!(p, want),
        Geometry::MultiPolygon(mp) => assert_eq!(mp.0, vec![want]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fixture_021_polygon_reversed_input_is_reoriented() {
    // The same triangle given counter-clockwise (negative area in y-down space)
    // comes out with positive area: the same ring, walked the other way.
    let ring = [[3, 6], [20, 34], [8, 12]];
    let poly = prepare_polygon(&[f(&ring)], &buffered_box(4096, 64)).unwrap();
    assert_eq!(poly, vec![vec![[8, 12], [20, 34], [3, 6]]]);
    assert!(chaski_tiles::geom::ring_area2(&poly[0]) > 0);
}

#[test]
fn fixture_022_multipolygon_with_hole() {
    let p1 = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]];
    let p2 = [[11, 11], [20, 11], [20, 20], [11, 20], [11, 11]];
    let hole = [[13, 13], [13, 17], [17, 17], [17, 13], [13, 13]];
    let bx = buffered_box(4096, 64);
    let polys = vec![
        prepare_polygon(&[f(&p1)], &bx).unwrap(),
        prepare_polygon(&[f(&p2), f(&hole)], &bx).unwrap(),
    ];
    let (ty, ints, bytes) = roundtrip(&TileGeometry::Polygons(polys));
    assert_eq!(
        (ty, ints),
        (
            3,
            vec![
                9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15, 9, 22, 2, 26, 18, 0, 0, 18, 17, 0, 15, 9, 4,
                13, 26, 0, 8, 8, 0, 0, 7, 15
            ]
        )
    );
    let Geometry::MultiPolygon(mp) = reader_geometry(bytes) else {
        panic!("multipolygon expected")
    };
    let want = MultiPolygon(vec![
        Polygon::new(
            ls(&[
                [0.0, 0.0],
                [10.0, 0.0],
                [10.0, 10.0],
                [0.0, 10.0],
                [0.0, 0.0],
            ]),
            vec![],
        ),
        Polygon::new(
            ls(&[
                [11.0, 11.0],
                [20.0, 11.0],
                [20.0, 20.0],
                [11.0, 20.0],
                [11.0, 11.0],
            ]),
            vec![ls(&[
                [13.0, 13.0],
                [13.0, 17.0],
                [17.0, 17.0],
                [17.0, 13.0],
                [13.0, 13.0],
            ])],
        ),
    ]);
    assert_eq!(mp, want);
}

#[test]
fn property_values_roundtrip() {
    let mut layer = TileLayer::new("props");
    let g = TileGeometry::Points(vec![[1, 1]]);
    layer.add_feature(
        Some(7),
        &g,
        &[
            ("t", PropValue::Text("Quinua".into())),
            ("u", PropValue::int(42)),
            ("s", PropValue::int(-5)),
            ("d", PropValue::Double(2.5)),
            ("b", PropValue::Bool(true)),
        ],
    );
    layer.add_feature(Some(8), &g, &[("u", PropValue::int(42))]);
    let tile = common::decode(&encode_tile(&[layer]));
    let l = &tile.layers[0];
    // Keys and values are deduplicated.
    assert_eq!(l.keys, vec!["t", "u", "s", "d", "b"]);
    assert_eq!(l.values.len(), 5);
    let f0 = &l.features[0];
    assert_eq!(l.prop(f0, "u").unwrap().uint_value, Some(42));
    assert_eq!(l.prop(f0, "s").unwrap().sint_value, Some(-5));
    assert_eq!(l.prop(f0, "d").unwrap().double_value, Some(2.5));
    assert_eq!(l.prop(f0, "b").unwrap().bool_value, Some(true));
    assert_eq!(l.features[1].tags, vec![1, 1]);
}

#[test]
fn layers_ids_and_value_types_with_mvt_reader() {
    use mvt_reader::feature::Value;
    let g = TileGeometry::Points(vec![[1, 1]]);
    let mut a = TileLayer::new("a");
    a.add_feature(
        Some(7),
        &g,
        &[
            ("t", PropValue::Text("Quinua".into())),
            ("u", PropValue::int(42)),
            ("s", PropValue::int(-5)),
            ("d", PropValue::Double(2.5)),
            ("b", PropValue::Bool(false)),
        ],
    );
    a.add_feature(None, &g, &[("u", PropValue::Uint(u64::MAX))]);
    // An empty geometry adds nothing; a layer without features is left out.
    a.add_feature(Some(9), &TileGeometry::Lines(vec![]), &[]);
    let empty = TileLayer::new("empty");
    let mut b = TileLayer::new("b");
    b.add_feature(Some(0), &g, &[]);
    let reader = mvt_reader::Reader::new(encode_tile(&[a, empty, b])).unwrap();
    let meta: Vec<(String, u32, u32, usize)> = reader
        .get_layer_metadata()
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.version, l.extent, l.feature_count))
        .collect();
    assert_eq!(
        meta,
        vec![("a".into(), 2, 4096, 2), ("b".into(), 2, 4096, 1)]
    );
    let fa = reader.get_features(0).unwrap();
    assert_eq!((fa[0].id, fa[1].id), (Some(7), None));
    let props = fa[0].properties.clone().unwrap();
    assert_eq!(props["t"], Value::String("Quinua".into()));
    assert_eq!(props["u"], Value::UInt(42));
    assert_eq!(props["s"], Value::SInt(-5));
    assert_eq!(props["d"], Value::Double(2.5));
    assert_eq!(props["b"], Value::Bool(false));
    assert_eq!(
        fa[1].properties.clone().unwrap()["u"],
        Value::UInt(u64::MAX)
    );
    let fb = reader.get_features(1).unwrap();
    assert_eq!(fb[0].id, Some(0));
    assert!(
        fb[0]
            .properties
            .as_ref()
            .is_none_or(std::collections::HashMap::is_empty)
    );
}
