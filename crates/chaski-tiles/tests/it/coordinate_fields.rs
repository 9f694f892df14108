//! Point attributes that repeat the point's own coordinates are left out of
//! tiles; the same names with other values are kept.

use crate::common;

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::{Field, FieldType, Value};
use chaski_tiles::{LayerSource, TileCoord, TileSource, render};
use geo::{Geometry, Point};

fn villages(lat_offset: f64) -> Layer {
    let mut layer = Layer::new("v", LayerKind::Communities);
    layer.fields = vec![
        Field::new("code", FieldType::Text),
        Field::new("lon", FieldType::Real),
        Field::new("LAT", FieldType::Real),
        Field::new("population", FieldType::Int),
    ];
    for (i, (x, y)) in [(-74.1, -12.9), (-74.05, -12.95), (-74.0, -13.0)]
        .into_iter()
        .enumerate()
    {
        layer.features.push(Feature {
            fid: i as i64 + 1,
            geometry: Geometry::Point(Point::new(x, y)),
            values: vec![
                Value::Text(format!("c{i}")),
                Value::Real(x),
                if i == 1 {
                    Value::Null
                } else {
                    Value::Real(y + lat_offset)
                },
                Value::Int(100),
            ],
        });
    }
    layer
}

fn keys(layer: &Layer) -> Vec<String> {
    let source = LayerSource::new(layer).unwrap();
    let tile = render(
        &[&source as &dyn TileSource],
        TileCoord::new(10, 301, 549).unwrap(),
    );
    let mut fields: Vec<String> = source.fields().iter().map(|f| f.name.clone()).collect();
    let decoded = common::decode(&tile.unwrap());
    for l in &decoded.layers {
        fields.extend(l.keys.iter().map(|k| format!("tile:{k}")));
    }
    fields
}

#[test]
fn coordinate_copies_are_dropped_from_tiles() {
    let k = keys(&villages(0.0));
    assert!(k.contains(&"code".to_owned()) && k.contains(&"population".to_owned()));
    assert!(
        !k.iter().any(|f| f.ends_with("lon") || f.ends_with("LAT")),
        "{k:?}"
    );
}

#[test]
fn fields_that_differ_from_the_geometry_are_kept() {
    // LAT is 0.01° off the point: it is data, not a copy.
    let k = keys(&villages(0.01));
    assert!(k.contains(&"LAT".to_owned()), "{k:?}");
    assert!(!k.contains(&"lon".to_owned()), "{k:?}");
}
