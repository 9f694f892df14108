//! Rasters put on a metric grid by the engine ([`to_metric`]) with PROJ's
//! UTM: the warp from EPSG:4326 reproduces a linear terrain and its nodata,
//! the interpolation lattice stays within a millimetre of PROJ, and the grid
//! caps and CRS checks hold.

use chaski_analysis::travel::{Lattice, TravelError, to_metric};
use chaski_core::crs::Projection;
use chaski_core::raster::Raster;
use chaski_io::crs::{ProjProjection, ProjProjections};

/// 1 arc-second raster over (-74.2, -13.0) with z linear in lon and lat.
fn geographic(width: usize, height: usize) -> Raster<f32> {
    let d = 1.0 / 3600.0;
    let t = [-74.2, d, 0.0, -13.0, 0.0, -d];
    let mut r = Raster::filled(width, height, t, Some(4326), 0f32);
    r.nodata = Some(-9999.0);
    for row in 0..height {
        for col in 0..width {
            let (lon, lat) = r.cell_center(col, row);
            r.data[row * width + col] = linear(lon, lat) as f32;
        }
    }
    r
}

fn linear(lon: f64, lat: f64) -> f64 {
    3000.0 + 20_000.0 * (lon + 74.2) - 30_000.0 * (lat + 13.0)
}

#[test]
#[expect(clippy::many_single_char_names, reason = "raster notation")]
fn warp_reproduces_linear_terrain_and_nodata() {
    let (w, h) = (200, 150);
    let mut src = geographic(w, h);
    // A nodata block.
    for row in 50..60 {
        for col in 80..100 {
            src.data[row * w + col] = -9999.0;
        }
    }
    let m = to_metric(src.clone(), "test", None, None, &ProjProjections).unwrap();
    assert!(m.warped);
    assert_eq!(m.epsg, 32718);
    // 1 arc-second at 13 S is 30.1 m east-west, 30.7 m north-south: 30 m.
    assert_eq!(m.raster.cell_size(), (30.0, 30.0));
    let exact = ProjProjection::new(32718).unwrap();
    let (mut inside, mut nodata, mut worst) = (0, 0, 0f64);
    for row in 0..m.raster.height {
        for col in 0..m.raster.width {
            let (x, y) = m.raster.cell_center(col, row);
            let (lon, lat) = exact.inverse_one(x, y).unwrap();
            let z = m.raster.data[row * m.raster.width + col];
            // Cells whose centre is within 1/1000 of a pixel (3 cm) of a
            // source cell edge may fall either side of it.
            let (u, v) = (
                (lon - src.transform[0]) * 3600.0,
                (src.transform[3] - lat) * 3600.0,
            );
            let near_edge = |f: f64| (f - f.round()).abs() < 1e-3;
            if near_edge(u) || near_edge(v) {
                continue;
            }
            let under = src.cell_at(lon, lat).map(|(c, r)| src.data[r * w + c]);
            match under {
                Some(value) if !src.is_nodata(value) => {
                    assert!(!m.raster.is_nodata(z), "({col}, {row})");
                    inside += 1;
                    // Away from nodata and the edges bilinear is exact on a plane.
                    let (c, r) = src.cell_at(lon, lat).unwrap();
                    let clear = (c.saturating_sub(1)..=(c + 1).min(w - 1)).all(|cc| {
                        (r.saturating_sub(1)..=(r + 1).min(h - 1))
                            .all(|rr| !src.is_nodata(src.data[rr * w + cc]))
                    });
                    if clear && c > 0 && r > 0 && c + 1 < w && r + 1 < h {
                        worst = worst.max((f64::from(z) - linear(lon, lat)).abs());
                    }
                }
                _ => {
                    assert!(m.raster.is_nodata(z), "({col}, {row})");
                    nodata += 1;
                }
            }
        }
    }
    // f32 on values of a few thousand: within a milli-unit.
    assert!(worst < 2e-3, "{worst}");
    assert!(inside > 25_000 && nodata > 200, "{inside} {nodata}");
}

#[test]
#[expect(clippy::many_single_char_names, reason = "raster notation")]
fn lattice_is_within_a_millimetre_of_proj() {
    let t = [590_000.0, 30.0, 0.0, 8_584_000.0, 0.0, -30.0];
    let lattice = Lattice::new(1537, 1459, t, &ProjProjection::new(32718).unwrap()).unwrap();
    let exact = ProjProjection::new(32718).unwrap();
    let mut state = 7u64;
    for _ in 0..500 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 1537.0;
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let v = (state >> 11) as f64 / (1u64 << 53) as f64 * 1459.0;
        let (x, y) = (t[0] + u * t[1], t[3] + v * t[5]);
        let a = lattice.lonlat(x, y);
        let b = exact.inverse_one(x, y).unwrap();
        assert!(
            (a.0 - b.0).abs() < 1e-8 && (a.1 - b.1).abs() < 1e-8,
            "{a:?} {b:?}"
        );
    }
}

#[test]
fn grid_cap_is_checked_before_warping() {
    // 200 x 150 arc-seconds warp to about 203 x 156 cells of 30 m.
    let e = to_metric(
        geographic(200, 150),
        "big",
        None,
        Some(10_000),
        &ProjProjections,
    )
    .err()
    .unwrap();
    assert!(
        matches!(e, TravelError::TooLarge { max: 10_000, width, height, .. } if width * height > 30_000),
        "{e}"
    );
    assert!(
        to_metric(
            geographic(200, 150),
            "ok",
            None,
            Some(40_000),
            &ProjProjections
        )
        .is_ok()
    );
    let utm = Raster::filled(
        300,
        300,
        [500_000.0, 30.0, 0.0, 8_600_000.0, 0.0, -30.0],
        Some(32718),
        1f32,
    );
    assert!(matches!(
        to_metric(utm, "utm", None, Some(89_999), &ProjProjections),
        Err(TravelError::TooLarge {
            width: 300,
            height: 300,
            ..
        })
    ));
}

#[test]
fn rasters_in_other_geographic_crs_are_refused() {
    let mut r = geographic(10, 10);
    r.epsg = Some(4269);
    let e = to_metric(r.clone(), "nad83", None, None, &ProjProjections)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("only EPSG:4326"), "{e}");
    r.epsg = None;
    assert!(to_metric(r, "nocrs", None, None, &ProjProjections).is_err());
    let utm = Raster::filled(
        3,
        3,
        [500_000.0, 30.0, 0.0, 8_600_000.0, 0.0, -30.0],
        None,
        1f32,
    );
    let e = to_metric(utm, "utm", None, None, &ProjProjections)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("has no CRS"), "{e}");
}
