//! The 1,834 districts of Peru (INEI 2007, ../shared/data/peru/admin/distritos.geojson):
//! every tile at z0–z6 covering Peru stays under 500 KB gzip-compressed, decodes
//! into valid geometry, and at z6 every district appears in some tile.
//! A failure under `CHASKI_REQUIRE_DATA=1` when the file is absent, else
//! skipped saying so.

use crate::common;

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use chaski_tiles::{LayerSource, TileCoord, TileSource, render};
use std::collections::BTreeSet;

fn load() -> Option<Layer> {
    let text = std::fs::read_to_string(common::peru("admin/distritos.geojson")?).unwrap();
    let gj: geojson::GeoJson = text.parse().unwrap();
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        panic!("feature collection expected")
    };
    let mut layer = Layer::new("districts", LayerKind::Boundaries);
    for (i, f) in fc.features.into_iter().enumerate() {
        let prop = |k: &str| {
            f.property(k)
                .and_then(|v| v.as_str())
                .map_or(Value::Null, |s| Value::Text(s.to_owned()))
        };
        let values = vec![
            prop("IDDIST"),
            prop("NOMBDIST"),
            Value::Text("district".into()),
        ];
        // 8 districts have a null geometry in the source.
        let Some(g) = f.geometry.clone() else {
            continue;
        };
        let geometry: geo::Geometry<f64> = g.try_into().unwrap();
        layer.features.push(Feature {
            fid: i as i64 + 1,
            geometry,
            values,
        });
    }
    Some(layer)
}

#[test]
fn district_tiles_stay_under_budget() {
    let Some(layer) = load() else {
        return;
    };
    assert_eq!(layer.features.len(), 1826);
    let source = LayerSource::new(&layer).unwrap();
    assert_eq!(source.feature_count(), 1826);
    let [west, south, east, north] = source.bounds().unwrap();
    let mut largest = (0, String::new());
    for z in 0..=6u8 {
        let nw = TileCoord::containing(west, north, z).unwrap();
        let se = TileCoord::containing(east, south, z).unwrap();
        let mut ids = BTreeSet::new();
        for x in nw.x()..=se.x() {
            for y in nw.y()..=se.y() {
                let coord = TileCoord::new(z, x, y).unwrap();
                let bytes = render(&[&source], coord).unwrap();
                let gz = common::gzip_len(&bytes);
                assert!(gz < 500 * 1024, "tile {coord} is {gz} bytes gzip");
                if gz > largest.0 {
                    largest = (gz, coord.to_string());
                }
                let tile = common::decode(&bytes);
                for l in &tile.layers {
                    for f in &l.features {
                        let parts = common::check_geometry(f.r#type.unwrap(), &f.geometry);
                        assert!(common::area2(&parts[0]) > 0);
                        ids.insert(f.id.unwrap());
                        assert!(l.prop(f, "name").is_some());
                    }
                }
            }
        }
        if z == 6 {
            // At z6 a tile unit is about 150 m: every district appears (small ones
            // keep at least a triangle).
            eprintln!("districts at z6: {}", ids.len());
            assert_eq!(ids.len(), source.feature_count(), "districts at z6");
        }
    }
    eprintln!(
        "largest tile z0–z6: {} bytes gzip ({})",
        largest.0, largest.1
    );
}
