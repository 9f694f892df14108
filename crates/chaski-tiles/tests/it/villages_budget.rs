//! 136,587 synthetic villages over Peru (as many as the IGN 1:100k centros
//! poblados, whose GeoPackage needs GDAL to read), clumped like the real ones
//! with some very dense spots: every tile z0–z10 holding points and the densest
//! tiles at z11–z14 stay under 500 KB gzip-compressed, and at every zoom z0–z10
//! the counts of all tiles add up to the number of villages (each point is
//! counted once).

use crate::common;

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::Value;
use chaski_tiles::{LayerSource, TileCoord, render};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

const N: usize = 136_587;

fn villages() -> Layer {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut layer = Layer::new("villages", LayerKind::Communities);
    // 400 clumps across Peru's box, a few of them very tight.
    let clumps: Vec<(f64, f64, f64)> = (0..400)
        .map(|i| {
            let spread = if i % 50 == 0 {
                0.01
            } else {
                rng.random_range(0.05..0.6)
            };
            (
                rng.random_range(-80.5..-69.0),
                rng.random_range(-18.0..-1.0),
                spread,
            )
        })
        .collect();
    for i in 0..N {
        let (cx, cy, s) = clumps[i % clumps.len()];
        let dx: f64 = (0..3).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>() * s;
        let dy: f64 = (0..3).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>() * s;
        layer.features.push(Feature {
            fid: i as i64 + 1,
            geometry: geo::Geometry::Point(geo::Point::new(cx + dx, cy + dy)),
            values: vec![
                Value::Text(format!("{:010}", 100_000_000 + i)),
                Value::Text(format!("CENTRO POBLADO NUMERO {i}")),
                if i % 2 == 0 {
                    Value::Null
                } else {
                    Value::Text(format!("{:06}", 10_000 + i % 1800))
                },
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        });
    }
    layer
}

#[test]
fn dense_points_stay_under_budget_and_counted_once() {
    let layer = villages();
    let source = LayerSource::new(&layer).unwrap();
    let mut per_zoom_tiles: Vec<HashMap<(u32, u32), usize>> = vec![HashMap::new(); 15];
    for f in &layer.features {
        let geo::Geometry::Point(p) = &f.geometry else {
            unreachable!()
        };
        for (z, tiles) in per_zoom_tiles.iter_mut().enumerate() {
            *tiles
                .entry(common::slippy_tile(p.x(), p.y(), z as u8))
                .or_default() += 1;
        }
    }
    let mut largest = (0usize, String::new());
    for (z, tiles) in per_zoom_tiles.iter().enumerate() {
        let z = z as u8;
        let mut list: Vec<(&(u32, u32), &usize)> = tiles.iter().collect();
        if z > 10 {
            // The 40 densest tiles.
            list.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            list.truncate(40);
        }
        let mut total = 0u64;
        for (&(x, y), &n) in list {
            let coord = TileCoord::new(z, x, y).unwrap();
            let bytes = render(&[&source], coord).unwrap();
            let gz = common::gzip_len(&bytes);
            assert!(gz < 500 * 1024, "{coord}: {gz} bytes gzip");
            if gz > largest.0 {
                largest = (gz, coord.to_string());
            }
            let tile = common::decode(&bytes);
            let l = &tile.layers[0];
            let count: u64 = l
                .features
                .iter()
                .map(|f| l.prop(f, "count").map_or(1, |v| v.uint_value.unwrap()))
                .sum();
            assert_eq!(count, n as u64, "{coord}");
            total += count;
        }
        if z <= 10 {
            assert_eq!(total, N as u64, "z{z}");
        }
    }
    eprintln!(
        "largest village tile: {} bytes gzip ({})",
        largest.0, largest.1
    );
}
