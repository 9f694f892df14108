//! Test helpers: the independent MVT decoding of `chaski_testing::mvt_proto`
//! (prost, with the messages of vector_tile.proto 2.1), a strict checker of
//! geometry command streams, and the real data of ../shared/data/peru (or a
//! failure, or a line saying what is skipped, when it is absent:
//! [`require_data`]).

pub use chaski_testing::mvt_proto::{PValue, Tile, decode};

fn unzig(v: u32) -> i64 {
    i64::from((v >> 1) as i32 ^ -((v & 1) as i32))
}

/// Parts of a decoded geometry: for points one part with every point; for
/// lines one part per line; for polygons one part per ring (open).
///
/// Panics (test failure) on any violation: wrong command for the type, MoveTo
/// count other than 1 for lines/polygons, LineTo count 0, zero-length LineTo,
/// missing ClosePath, a ring with fewer than 3 distinct points or zero area, a
/// line with fewer than 2 points.
pub fn check_geometry(ty: i32, geom: &[u32]) -> Vec<Vec<[i64; 2]>> {
    let mut parts: Vec<Vec<[i64; 2]>> = Vec::new();
    let mut i = 0;
    let (mut x, mut y) = (0i64, 0i64);
    let read = |i: &mut usize, x: &mut i64, y: &mut i64| {
        assert!(*i + 1 < geom.len(), "truncated parameters in {geom:?}");
        *x += unzig(geom[*i]);
        *y += unzig(geom[*i + 1]);
        *i += 2;
        [*x, *y]
    };
    match ty {
        1 => {
            assert_eq!(geom[0] & 7, 1, "points start with MoveTo");
            let n = (geom[0] >> 3) as usize;
            assert!(n > 0);
            i = 1;
            let pts: Vec<_> = (0..n).map(|_| read(&mut i, &mut x, &mut y)).collect();
            assert_eq!(i, geom.len(), "trailing integers after points");
            parts.push(pts);
        }
        2 | 3 => {
            while i < geom.len() {
                assert_eq!(geom[i], 9, "each part starts with MoveTo(1): {geom:?}");
                i += 1;
                let mut part = vec![read(&mut i, &mut x, &mut y)];
                assert!(i < geom.len(), "MoveTo without LineTo");
                assert_eq!(geom[i] & 7, 2, "LineTo after MoveTo");
                let n = (geom[i] >> 3) as usize;
                assert!(n > 0, "LineTo count 0");
                i += 1;
                for _ in 0..n {
                    let before = (geom[i], geom[i + 1]);
                    assert!(before != (0, 0), "zero-length LineTo in {geom:?}");
                    part.push(read(&mut i, &mut x, &mut y));
                }
                if ty == 3 {
                    assert!(
                        i < geom.len() && geom[i] == 15,
                        "ring must end with ClosePath(1)"
                    );
                    i += 1;
                    assert!(part.len() >= 3, "ring with {} points", part.len());
                    let mut distinct = part.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    assert!(distinct.len() >= 3, "ring with < 3 distinct points");
                    assert!(area2(&part) != 0, "zero-area ring");
                } else {
                    assert!(part.len() >= 2);
                }
                parts.push(part);
            }
        }
        other => panic!("unexpected geometry type {other}"),
    }
    parts
}

/// Twice the shoelace area in y-down tile coordinates.
pub fn area2(ring: &[[i64; 2]]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

pub fn gzip_len(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap().len()
}

/// Fractional tile coordinates of (lon, lat) at zoom z (slippy-map formula).
pub fn slippy_fraction(lon: f64, lat: f64, z: u8) -> (f64, f64) {
    let n = f64::from(1u32 << z);
    let lat_r = lat.to_radians();
    let x = (lon + 180.0) / 360.0 * n;
    let y = (1.0 - (lat_r.tan() + 1.0 / lat_r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (x, y)
}

/// The tile (x, y) at zoom z containing (lon, lat), by the usual slippy-map formula.
pub fn slippy_tile(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let (x, y) = slippy_fraction(lon, lat, z);
    (
        x.floor().clamp(0.0, n - 1.0) as u32,
        y.floor().clamp(0.0, n - 1.0) as u32,
    )
}
pub use chaski_testing::peru;
