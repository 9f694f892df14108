//! Every tile of the demo region (chaski-demo, seed 2026) at z0–z14, all public
//! layers in one tile, decoded with the independent prost decoder:
//! - valid command streams, no zero-length LineTo, rings with ≥ 3 distinct points;
//! - each polygon starts with an exterior ring of positive area (y-down), and
//!   rings of negative area (holes) only follow an exterior;
//! - summed cluster `count` of the villages equals the number of villages whose
//!   location is in the tile (slippy-map formula), at every zoom;
//! - at z14 (maxzoom) the ids of each point layer equal a brute-force bbox query
//!   of the source, and line/polygon ids lie between the features intersecting
//!   the tile and those intersecting the buffered tile.

use crate::common;
use chaski_core::layer::Layer;
use chaski_tiles::{LayerSource, TileCoord, TileSource, render};
use geo::{BoundingRect, Intersects, Rect, coord};
use std::collections::BTreeSet;

fn tile_lonlat(z: u8, x: u32, y: u32, grow: f64) -> Rect<f64> {
    let n = f64::from(1u32 << z);
    let lon = |fx: f64| fx / n * 360.0 - 180.0;
    let lat = |fy: f64| {
        (std::f64::consts::PI * (1.0 - 2.0 * fy / n))
            .sinh()
            .atan()
            .to_degrees()
    };
    let (x, y) = (f64::from(x), f64::from(y));
    Rect::new(
        coord! { x: lon(x - grow), y: lat(y + 1.0 + grow) },
        coord! { x: lon(x + 1.0 + grow), y: lat(y - grow) },
    )
}

#[test]
fn demo_region_tiles_are_valid_and_complete_at_every_zoom() {
    let region = chaski_demo::generate(&chaski_demo::DemoOptions::default());
    let public: Vec<&Layer> = region
        .layers
        .iter()
        .filter(|l| !l.kind.is_private())
        .collect();
    let sources: Vec<LayerSource> = public
        .iter()
        .map(|l| LayerSource::new(l).unwrap())
        .collect();
    let dyn_sources: Vec<&dyn TileSource> = sources.iter().map(|s| s as &dyn TileSource).collect();
    let communities = public.iter().find(|l| l.name == "communities").unwrap();
    let bounds = region
        .layers
        .iter()
        .filter_map(Layer::bounds)
        .reduce(|a, b| {
            Rect::new(
                coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
                coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
            )
        })
        .unwrap();
    let mut tiles_checked = 0;
    let mut features_seen = 0;
    for z in 0..=14u8 {
        let (x0, y0) = common::slippy_tile(bounds.min().x, bounds.max().y, z);
        let (x1, y1) = common::slippy_tile(bounds.max().x, bounds.min().y, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                let coord = TileCoord::new(z, x, y).unwrap();
                let bytes = render(&dyn_sources, coord).unwrap();
                tiles_checked += 1;
                let tile = common::decode(&bytes);
                // Villages: summed counts equal the points in this tile.
                let expected = communities
                    .features
                    .iter()
                    .filter(|f| {
                        let geo::Geometry::Point(p) = f.geometry else {
                            return false;
                        };
                        common::slippy_tile(p.x(), p.y(), z) == (x, y)
                    })
                    .count() as u64;
                let mut counted = 0u64;
                for layer in &tile.layers {
                    assert_eq!(layer.extent, Some(4096));
                    for f in &layer.features {
                        features_seen += 1;
                        let ty = f.r#type.unwrap();
                        let parts = common::check_geometry(ty, &f.geometry);
                        if ty == 3 {
                            assert!(
                                common::area2(&parts[0]) > 0,
                                "{}: polygon must start with an exterior ring",
                                layer.name
                            );
                        }
                        if layer.name == "communities" {
                            counted += layer
                                .prop(f, "count")
                                .and_then(common::PValue::as_f64)
                                .map_or(1, |c| c as u64);
                        }
                    }
                }
                assert_eq!(counted, expected, "villages in tile {z}/{x}/{y}");
                if z == 14 {
                    for (src, layer) in public.iter().zip(&sources) {
                        let got: BTreeSet<u64> = tile
                            .layers
                            .iter()
                            .find(|l| l.name == layer.name())
                            .map(|l| l.features.iter().filter_map(|f| f.id).collect())
                            .unwrap_or_default();
                        let inner = tile_lonlat(z, x, y, 0.0);
                        let outer = tile_lonlat(z, x, y, 64.0 / 4096.0 + 1.0 / 4096.0);
                        let hits = |r: &Rect<f64>| -> BTreeSet<u64> {
                            src.features
                                .iter()
                                .filter(|f| match &f.geometry {
                                    geo::Geometry::Point(p) => {
                                        common::slippy_tile(p.x(), p.y(), z) == (x, y)
                                            && r == &inner
                                    }
                                    g => {
                                        g.bounding_rect().is_some_and(|b| b.intersects(r))
                                            && g.intersects(r)
                                    }
                                })
                                .map(|f| f.fid as u64)
                                .collect()
                        };
                        if matches!(
                            src.features.first().map(|f| &f.geometry),
                            Some(geo::Geometry::Point(_))
                        ) {
                            assert_eq!(got, hits(&inner), "{} at {z}/{x}/{y}", src.name);
                        } else {
                            let (lo, hi) =
                                (hits(&tile_lonlat(z, x, y, -1.0 / 4096.0)), hits(&outer));
                            assert!(
                                lo.is_subset(&got),
                                "{} at {z}/{x}/{y}: missing {:?}",
                                src.name,
                                lo.difference(&got).collect::<Vec<_>>()
                            );
                            assert!(
                                got.is_subset(&hi),
                                "{} at {z}/{x}/{y}: extra {:?}",
                                src.name,
                                got.difference(&hi).collect::<Vec<_>>()
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(tiles_checked > 150, "{tiles_checked}");
    assert!(features_seen > 1000, "{features_seen}");
}
