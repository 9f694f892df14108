//! The 2,791 real villages (IGN centros poblados) of the VRAEM box
//! (lon -74.5..-73.3, lat -13.3..-12.3, ../shared/data/peru/focus/vraem_box_villages.geojson),
//! with a low clustering threshold so that z0–z11 are clustered: at every zoom
//! z0–z14, in every tile holding villages, the summed `count` equals the number
//! of villages in the tile (slippy-map formula), and at z14 the ids are exactly
//! the villages' fids. A failure under `CHASKI_REQUIRE_DATA=1` when the file is
//! absent, else skipped saying so.

use crate::common;

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use chaski_tiles::{LayerSource, SourceOptions, TileCoord, render};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn real_village_counts_at_every_zoom() {
    let Some(path) = common::peru("focus/vraem_box_villages.geojson") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let geojson::GeoJson::FeatureCollection(fc) = text.parse().unwrap() else {
        panic!("feature collection expected")
    };
    let mut layer = Layer::new("villages", LayerKind::Communities);
    for (i, f) in fc.features.iter().enumerate() {
        let g: geo::Geometry<f64> = f.geometry.clone().unwrap().try_into().unwrap();
        let text = |k: &str| {
            f.property(k)
                .and_then(|v| v.as_str())
                .map_or(Value::Null, |s| Value::Text(s.to_owned()))
        };
        layer.features.push(Feature {
            fid: i as i64 + 1,
            geometry: g,
            values: vec![
                text("codigo"),
                text("nombre"),
                text("ubigeo"),
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        });
    }
    assert_eq!(layer.features.len(), 2791);
    let opts = SourceOptions {
        cluster_threshold: 100,
        ..SourceOptions::default()
    };
    let source = LayerSource::with_options(&layer, opts).unwrap();
    for z in 0..=14u8 {
        let mut want: BTreeMap<(u32, u32), BTreeSet<u64>> = BTreeMap::new();
        for f in &layer.features {
            let geo::Geometry::Point(p) = &f.geometry else {
                unreachable!()
            };
            want.entry(common::slippy_tile(p.x(), p.y(), z))
                .or_default()
                .insert(f.fid as u64);
        }
        let mut clustered = 0;
        for (&(x, y), fids) in &want {
            let coord = TileCoord::new(z, x, y).unwrap();
            let tile = common::decode(&render(&[&source], coord).unwrap());
            let l = &tile.layers[0];
            let count: u64 = l
                .features
                .iter()
                .map(|f| l.prop(f, "count").map_or(1, |v| v.uint_value.unwrap()))
                .sum();
            assert_eq!(count, fids.len() as u64, "{coord}");
            let ids: BTreeSet<u64> = l.features.iter().map(|f| f.id.unwrap()).collect();
            if z == 14 {
                assert_eq!(&ids, fids, "{coord}");
            }
            if ids.len() < fids.len() {
                clustered += 1;
            }
        }
        if z <= 8 {
            assert!(clustered > 0, "z{z}: nothing clustered");
        }
    }
}
