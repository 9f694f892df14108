//! Transverse Mercator on WGS 84 for UTM zone 18 south (EPSG:32718), by the
//! Krüger series to third order in the third flattening `n` (Karney 2011,
//! "Transverse Mercator with an accuracy of a few nanometers", J. Geodesy 85),
//! exact to well under a millimetre within the zone.

/// WGS 84 semi-major axis (m).
const A_AXIS: f64 = 6_378_137.0;
/// WGS 84 flattening.
const FLATTENING: f64 = 1.0 / 298.257_223_563;
/// UTM scale factor on the central meridian.
const K0: f64 = 0.9996;
/// False easting (m).
const FALSE_EASTING: f64 = 500_000.0;
/// False northing of southern zones (m).
const FALSE_NORTHING: f64 = 10_000_000.0;
/// Central meridian of zone 18 (degrees).
const LON0: f64 = -75.0;

/// EPSG code of the projection implemented here.
pub const EPSG: u32 = 32718;

struct Series {
    /// Rectifying radius times k0.
    k0a: f64,
    alpha: [f64; 3],
    beta: [f64; 3],
    delta: [f64; 3],
    /// 2 sqrt(n) / (1 + n).
    e_term: f64,
}

fn series() -> Series {
    let n = FLATTENING / (2.0 - FLATTENING);
    let (n2, n3) = (n * n, n * n * n);
    let big_a = A_AXIS / (1.0 + n) * (1.0 + n2 / 4.0 + n2 * n2 / 64.0);
    Series {
        k0a: K0 * big_a,
        alpha: [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0,
            61.0 * n3 / 240.0,
        ],
        beta: [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0,
            n2 / 48.0 + n3 / 15.0,
            17.0 * n3 / 480.0,
        ],
        delta: [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0,
            56.0 * n3 / 15.0,
        ],
        e_term: 2.0 * n.sqrt() / (1.0 + n),
    }
}

/// Longitude/latitude (degrees) to UTM 18S easting/northing (metres).
pub fn forward(lon: f64, lat: f64) -> (f64, f64) {
    let s = series();
    let phi = lat.to_radians();
    let dl = (lon - LON0).to_radians();
    let sin_phi = phi.sin();
    let t = (sin_phi.atanh() - s.e_term * (s.e_term * sin_phi).atanh()).sinh();
    let xi_p = t.atan2(dl.cos());
    let eta_p = (dl.sin() / (1.0 + t * t).sqrt()).atanh();
    let mut xi = xi_p;
    let mut eta = eta_p;
    for (j, a) in s.alpha.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi += a * (k * xi_p).sin() * (k * eta_p).cosh();
        eta += a * (k * xi_p).cos() * (k * eta_p).sinh();
    }
    (FALSE_EASTING + s.k0a * eta, FALSE_NORTHING + s.k0a * xi)
}

/// UTM 18S easting/northing (metres) to longitude/latitude (degrees).
pub fn inverse(x: f64, y: f64) -> (f64, f64) {
    let s = series();
    let xi = (y - FALSE_NORTHING) / s.k0a;
    let eta = (x - FALSE_EASTING) / s.k0a;
    let mut xi_p = xi;
    let mut eta_p = eta;
    for (j, b) in s.beta.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi_p -= b * (k * xi).sin() * (k * eta).cosh();
        eta_p -= b * (k * xi).cos() * (k * eta).sinh();
    }
    let chi = (xi_p.sin() / eta_p.cosh()).asin();
    let mut phi = chi;
    for (j, d) in s.delta.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        phi += d * (k * chi).sin();
    }
    let lon = LON0 + eta_p.sinh().atan2(xi_p.cos()).to_degrees();
    (lon, phi.to_degrees())
}

/// [`forward`] and [`inverse`] as a [`chaski_core::crs::Projection`], for code
/// that must run without PROJ.
#[derive(Debug, Clone, Copy, Default)]
pub struct Utm18S;

impl chaski_core::crs::Projection for Utm18S {
    fn epsg(&self) -> u32 {
        EPSG
    }
    fn forward(&self, coords: &mut [(f64, f64)]) -> Result<(), chaski_core::crs::CrsError> {
        for c in coords {
            *c = forward(c.0, c.1);
        }
        Ok(())
    }
    fn inverse(&self, coords: &mut [(f64, f64)]) -> Result<(), chaski_core::crs::CrsError> {
        for c in coords {
            *c = inverse(c.0, c.1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from PROJ 9 (`cs2cs +proj=longlat +datum=WGS84 +to
    /// +proj=utm +zone=18 +south +datum=WGS84`).
    const REFERENCE: [(f64, f64, f64, f64); 6] = [
        (-74.10, -12.975, 597_610.619_4, 8_565_456.791_9),
        (-74.25, -13.10, 581_300.432_4, 8_551_685.003_3),
        (-73.95, -12.85, 613_937.210_3, 8_579_219.912_6),
        (-75.0, -0.5, 500_000.0, 9_944_734.962_9),
        (-72.5, -15.3, 768_464.112_5, 8_306_946.025_8),
        (-77.9, -5.0, 178_386.220_9, 9_446_625.868_4),
    ];

    #[test]
    fn forward_matches_proj() {
        for (lon, lat, x, y) in REFERENCE {
            let (fx, fy) = forward(lon, lat);
            assert!((fx - x).abs() < 1e-3, "{lon},{lat}: x {fx} vs {x}");
            assert!((fy - y).abs() < 1e-3, "{lon},{lat}: y {fy} vs {y}");
        }
    }

    #[test]
    fn projection_trait_round_trips() {
        use chaski_core::crs::{Projection, UtmZone};
        assert_eq!(Utm18S.epsg(), UtmZone::containing(-74.1, -13.0).epsg());
        let (x, y) = Utm18S.forward_one(-74.1, -12.975).unwrap();
        let (lon, lat) = Utm18S.inverse_one(x, y).unwrap();
        assert!((lon + 74.1).abs() < 1e-9 && (lat + 12.975).abs() < 1e-9);
    }

    #[test]
    fn inverse_matches_proj() {
        for (lon, lat, x, y) in REFERENCE {
            let (ilon, ilat) = inverse(x, y);
            // 1e-8 degrees is about a millimetre.
            assert!((ilon - lon).abs() < 1e-8, "{x},{y}: lon {ilon} vs {lon}");
            assert!((ilat - lat).abs() < 1e-8, "{x},{y}: lat {ilat} vs {lat}");
        }
    }
}
