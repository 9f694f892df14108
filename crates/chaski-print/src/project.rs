//! From longitude/latitude to millimetres on the page.
//!
//! # The projection
//!
//! [`LocalProjection`] is a local equirectangular projection on the WGS 84
//! ellipsoid about the centre (λ₀, φ₀) of the map: x = N(φ₀) cos φ₀ (λ − λ₀),
//! y = M(φ₀) (φ − φ₀), with N and M the ellipsoid's radii of curvature in the
//! prime vertical and the meridian at φ₀. Scale is exact at the centre, in
//! both directions. Away from it, east-west distances are off by the change
//! of N cos φ with latitude, a relative error of about |tan φ₀| · d / R for a
//! point d north or south of the centre (R ≈ 6,371 km), north-south
//! distances by the change of M (under 10⁻⁵ within 20 km). At 13° S (the
//! Andes of Ayacucho) a map 10 km from its centre is within 0.04 % of the
//! ellipsoidal distance; at 45° within 0.16 %: well inside the 1 % a scale
//! bar must hold, at any village or district scale. A regular
//! longitude/latitude grid maps to an axis-aligned rectangle, so a relief
//! grid becomes one image.
//!
//! [`MapFrame`] places the projected metres on the page at a scale 1 :
//! denominator, the denominator rounded up to a nice value by
//! [`nice_denominator`].
//!
//! ```
//! use chaski_print::project::{LocalProjection, MapFrame};
//! use chaski_print::page::Rect;
//! let p = LocalProjection::new(-74.0, -13.0);
//! let (x, y) = p.forward(-74.0, -12.99);
//! assert!(x.abs() < 1e-9 && (y - 1106.3).abs() < 0.1); // 0.01° of latitude is 1,106.3 m here
//! let (lon, lat) = p.inverse(x, y);
//! assert!((lon + 74.0).abs() < 1e-12 && (lat + 12.99).abs() < 1e-12);
//!
//! let frame = MapFrame::new(p, 5000.0, Rect::new(10.0, 10.0, 190.0, 200.0));
//! let (px, py) = frame.to_page(-74.0, -12.99);
//! // 1,106.3 m north of the centre at 1:5,000 is 221.26 mm above the frame's centre (y down).
//! assert!((px - 105.0).abs() < 1e-9 && (py - (110.0 - 221.26)).abs() < 0.01);
//! ```

use crate::page::Rect;

/// WGS 84 semi-major axis, metres.
const A: f64 = 6_378_137.0;
/// WGS 84 flattening.
const F: f64 = 1.0 / 298.257_223_563;

/// Local equirectangular projection on the WGS 84 ellipsoid. See the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalProjection {
    lon0: f64,
    lat0: f64,
    /// Metres per degree of longitude at the centre.
    kx: f64,
    /// Metres per degree of latitude at the centre.
    ky: f64,
}

impl LocalProjection {
    /// Centred on (`lon0`, `lat0`), degrees.
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let e2 = F * (2.0 - F);
        let phi = lat0.to_radians();
        let w = (1.0 - e2 * phi.sin().powi(2)).sqrt();
        let n = A / w;
        let m = A * (1.0 - e2) / (w * w * w);
        Self {
            lon0,
            lat0,
            kx: n * phi.cos() * std::f64::consts::PI / 180.0,
            ky: m * std::f64::consts::PI / 180.0,
        }
    }

    /// The centre, longitude and latitude.
    pub fn centre(&self) -> (f64, f64) {
        (self.lon0, self.lat0)
    }

    /// Longitude/latitude to metres east and north of the centre.
    pub fn forward(&self, lon: f64, lat: f64) -> (f64, f64) {
        ((lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky)
    }

    /// Metres east and north of the centre to longitude/latitude.
    pub fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        (x / self.kx + self.lon0, y / self.ky + self.lat0)
    }
}

/// Nice scale denominators, ascending.
const NICE: [f64; 20] = [
    500.0, 750.0, 1_000.0, 1_250.0, 1_500.0, 2_000.0, 2_500.0, 3_000.0, 4_000.0, 5_000.0, 7_500.0,
    10_000.0, 12_500.0, 15_000.0, 20_000.0, 25_000.0, 30_000.0, 40_000.0, 50_000.0, 75_000.0,
];

/// The smallest nice scale denominator at least `needed` (500, 750, 1,000,
/// 1,250, 1,500, 2,000, 2,500, 3,000, 4,000, 5,000, 7,500, 10,000, ... then
/// 100,000, 150,000, 200,000, 250,000, ...).
///
/// ```
/// use chaski_print::project::nice_denominator;
/// assert_eq!(nice_denominator(3_100.0), 4_000.0);
/// assert_eq!(nice_denominator(10.0), 500.0);
/// assert_eq!(nice_denominator(160_000.0), 200_000.0);
/// ```
pub fn nice_denominator(needed: f64) -> f64 {
    if let Some(&d) = NICE.iter().find(|&&d| d >= needed) {
        return d;
    }
    let mut base = 100_000.0;
    loop {
        for k in [1.0, 1.5, 2.0, 2.5, 5.0, 7.5] {
            if base * k >= needed || !needed.is_finite() {
                return base * k;
            }
        }
        base *= 10.0;
    }
}

/// Projected metres placed in a page rectangle at 1 : `denominator`, the
/// projection's centre at the rectangle's centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapFrame {
    /// The projection.
    pub projection: LocalProjection,
    /// Scale denominator (1 : denominator).
    pub denominator: f64,
    /// The map frame on the page.
    pub rect: Rect,
}

impl MapFrame {
    /// A frame.
    pub fn new(projection: LocalProjection, denominator: f64, rect: Rect) -> Self {
        Self {
            projection,
            denominator,
            rect,
        }
    }

    /// Millimetres on the page per metre on the ground.
    pub fn mm_per_m(&self) -> f64 {
        1000.0 / self.denominator
    }

    /// Longitude/latitude to page millimetres.
    pub fn to_page(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (x, y) = self.projection.forward(lon, lat);
        let (cx, cy) = self.rect.centre();
        (cx + x * self.mm_per_m(), cy - y * self.mm_per_m())
    }

    /// Page millimetres to longitude/latitude.
    pub fn to_lonlat(&self, px: f64, py: f64) -> (f64, f64) {
        let (cx, cy) = self.rect.centre();
        self.projection
            .inverse((px - cx) / self.mm_per_m(), (cy - py) / self.mm_per_m())
    }

    /// The frame's west, south, east, north edges.
    pub fn bounds_lonlat(&self) -> [f64; 4] {
        let (w, n) = self.to_lonlat(self.rect.x, self.rect.y);
        let (e, s) = self.to_lonlat(self.rect.right(), self.rect.bottom());
        [w, s, e, n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Distance, Geodesic, Point};
    use proptest::prelude::*;

    proptest! {
        /// Distances on the page agree with geodesic distances on WGS 84 within
        /// 0.1 % for points up to about 10 km from the centre, in the Andes.
        #[test]
        fn distances_within_a_tenth_of_a_percent(
            lat0 in -18.0_f64..-3.0, lon0 in -80.0_f64..-69.0,
            a in (-0.09_f64..0.09, -0.09_f64..0.09), b in (-0.09_f64..0.09, -0.09_f64..0.09),
        ) {
            let p = LocalProjection::new(lon0, lat0);
            let (pa, pb) = ((lon0 + a.0, lat0 + a.1), (lon0 + b.0, lat0 + b.1));
            let geodesic = Geodesic.distance(Point::new(pa.0, pa.1), Point::new(pb.0, pb.1));
            prop_assume!(geodesic > 50.0);
            let (xa, ya) = p.forward(pa.0, pa.1);
            let (xb, yb) = p.forward(pb.0, pb.1);
            let planar = (xa - xb).hypot(ya - yb);
            prop_assert!((planar / geodesic - 1.0).abs() < 1e-3, "{planar} vs {geodesic}");
        }
    }

    #[test]
    fn nice_denominators_grow() {
        let mut last = 0.0;
        for k in 1..400 {
            let d = nice_denominator(f64::from(k) * 997.0);
            assert!(d >= f64::from(k) * 997.0 && d >= last);
            last = d;
        }
    }
}
