//! The synthetic valley: value noise, the main river and its tributaries as
//! analytic curves, and the elevation model sampled into the DEM.
//!
//! Coordinates here are local metres `(u, v)` from the south-west corner of the
//! DEM (`u` east, `v` north); [`to_utm`] turns them into UTM 18S.

// Geometry code: u, v, x, y, a, b... are the conventional names.
#![allow(clippy::many_single_char_names)]

use chaski_core::raster::Raster;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::TAU;

/// DEM cell size (m).
pub const CELL: f64 = 60.0;
/// DEM columns.
pub const COLS: usize = 480;
/// DEM rows.
pub const ROWS: usize = 440;
/// West edge of the DEM (UTM 18S easting, m).
pub const X0: f64 = 583_200.0;
/// North edge of the DEM (UTM 18S northing, m).
pub const Y_TOP: f64 = 8_578_680.0;
/// Width of the DEM (m).
pub const WIDTH: f64 = COLS as f64 * CELL;
/// Height of the DEM (m).
pub const HEIGHT: f64 = ROWS as f64 * CELL;
/// Nodata value of the DEM.
pub const NODATA: f64 = -9999.0;

/// Main-valley half width, river to ridge (m).
const MAIN_HALF_WIDTH: f64 = 9_000.0;
/// Tributary-valley half width (m).
const TRIB_HALF_WIDTH: f64 = 2_600.0;
/// Flat floodplain each side of the main river (m).
const FLOODPLAIN: f64 = 100.0;
/// Main river elevation at the upstream (west) and downstream (east) edges (m).
const FLOOR_WEST: f64 = 2_750.0;
const FLOOR_EAST: f64 = 2_450.0;

/// Local metres to UTM 18S.
pub fn to_utm(u: f64, v: f64) -> (f64, f64) {
    (X0 + u, Y_TOP - HEIGHT + v)
}

/// UTM 18S to local metres.
pub fn from_utm(x: f64, y: f64) -> (f64, f64) {
    (x - X0, y - (Y_TOP - HEIGHT))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Seeded 2-D value noise in [-1, 1] with quintic interpolation.
#[derive(Debug, Clone, Copy)]
struct Noise {
    salt: u64,
}

impl Noise {
    fn lattice(self, ix: i64, iy: i64) -> f64 {
        let h = splitmix(
            self.salt
                ^ (ix as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ (iy as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        );
        (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    fn at(self, x: f64, y: f64) -> f64 {
        let (fx, fy) = (x.floor(), y.floor());
        let (ix, iy) = (fx as i64, fy as i64);
        let fade = |t: f64| t * t * t * (t * (t * 6.0 - 15.0) + 10.0);
        let (tx, ty) = (fade(x - fx), fade(y - fy));
        let a = self.lattice(ix, iy);
        let b = self.lattice(ix + 1, iy);
        let c = self.lattice(ix, iy + 1);
        let d = self.lattice(ix + 1, iy + 1);
        let ab = a + (b - a) * tx;
        let cd = c + (d - c) * tx;
        ab + (cd - ab) * ty
    }
}

/// A tributary: the curve `u = base + amp * sin(TAU * v / wavelength + phase)`
/// from its head down to the confluence with the main river.
#[derive(Debug, Clone)]
pub struct Tributary {
    /// Stream name.
    pub name: String,
    base: f64,
    amp: f64,
    wavelength: f64,
    phase: f64,
    /// Northing (local) of the confluence.
    pub conf_v: f64,
    /// Northing (local) of the head.
    pub head_v: f64,
    /// Valley-floor elevation at the head.
    head_floor: f64,
    /// Main-river floor elevation at the confluence.
    conf_floor: f64,
}

impl Tributary {
    /// Easting (local) of the stream at northing `v`.
    pub fn u_at(&self, v: f64) -> f64 {
        self.base + self.amp * (TAU * v / self.wavelength + self.phase).sin()
    }

    fn du_dv(&self, v: f64) -> f64 {
        self.amp * TAU / self.wavelength * (TAU * v / self.wavelength + self.phase).cos()
    }

    /// Fraction of the way from the confluence (0) to the head (1) at northing `v`.
    pub fn along(&self, v: f64) -> f64 {
        (v - self.conf_v) / (self.head_v - self.conf_v)
    }

    /// Distance from (u, v) to the stream and the along fraction, clamped.
    fn distance(&self, u: f64, v: f64) -> (f64, f64) {
        // Beyond either end, the across distance at that end combined with the
        // distance past it, so the field is continuous at both ends.
        let a = self.along(v);
        let end_v = if a > 1.0 {
            self.head_v
        } else if a < 0.0 {
            self.conf_v
        } else {
            v
        };
        let across = (u - self.u_at(end_v)).abs() / (1.0 + self.du_dv(end_v).powi(2)).sqrt();
        (across.hypot(v - end_v), a.clamp(0.0, 1.0))
    }

    fn floor(&self, a: f64) -> f64 {
        self.conf_floor + (self.head_floor - self.conf_floor) * a.clamp(0.0, 1.0).powf(1.3)
    }

    /// The stream line from head to confluence, one vertex per ~100 m of northing.
    pub fn line(&self) -> Vec<(f64, f64)> {
        let len = (self.head_v - self.conf_v).abs();
        let n = (len / 100.0).ceil().max(2.0) as usize;
        (0..=n)
            .map(|i| {
                let v = self.head_v + (self.conf_v - self.head_v) * i as f64 / n as f64;
                (self.u_at(v), v)
            })
            .collect()
    }
}

/// The valley model.
#[derive(Debug, Clone)]
pub struct Terrain {
    y0: f64,
    meanders: [(f64, f64, f64); 2],
    /// Tributaries, north side first.
    pub tributaries: Vec<Tributary>,
    ridge: Noise,
    fine: [(Noise, f64, f64); 3],
}

const TRIB_NAMES: [&str; 6] = [
    "Quebrada Huaycco",
    "Quebrada Ccollpa",
    "Quebrada Yanamayu",
    "Quebrada Puquio",
    "Quebrada Chacamayu",
    "Quebrada Uchuymayu",
];

impl Terrain {
    /// A valley drawn from `rng`.
    pub fn new(rng: &mut ChaCha8Rng) -> Self {
        let y0 = HEIGHT / 2.0 + rng.random_range(-800.0..800.0);
        let meanders = [
            (
                rng.random_range(1_400.0..1_900.0),
                rng.random_range(14_000.0..18_000.0),
                rng.random_range(0.0..TAU),
            ),
            (
                rng.random_range(350.0..600.0),
                rng.random_range(5_500.0..7_500.0),
                rng.random_range(0.0..TAU),
            ),
        ];
        let ridge = Noise { salt: rng.random() };
        let fine = [
            (Noise { salt: rng.random() }, 3_500.0, 150.0),
            (Noise { salt: rng.random() }, 1_200.0, 50.0),
            (Noise { salt: rng.random() }, 400.0, 10.0),
        ];
        let mut t = Self {
            y0,
            meanders,
            tributaries: Vec::new(),
            ridge,
            fine,
        };
        let spots = [
            (1.0, 0.14),
            (1.0, 0.47),
            (1.0, 0.80),
            (-1.0, 0.30),
            (-1.0, 0.63),
            (-1.0, 0.90),
        ];
        for (i, (side, frac)) in spots.into_iter().enumerate() {
            let base = frac * WIDTH + rng.random_range(-600.0..600.0);
            let amp = rng.random_range(250.0..650.0);
            let wavelength = rng.random_range(5_000.0..8_000.0);
            let phase = rng.random_range(0.0..TAU);
            let len = rng.random_range(6_500.0..8_500.0);
            let head_floor = rng.random_range(3_850.0..4_000.0);
            let mut trib = Tributary {
                name: TRIB_NAMES[i].to_owned(),
                base,
                amp,
                wavelength,
                phase,
                conf_v: 0.0,
                head_v: 0.0,
                head_floor,
                conf_floor: 0.0,
            };
            trib.conf_v = t.confluence(&trib, side);
            trib.head_v = if side > 0.0 {
                (trib.conf_v + len).min(HEIGHT - 1_500.0)
            } else {
                (trib.conf_v - len).max(1_500.0)
            };
            trib.conf_floor = Self::floor(trib.u_at(trib.conf_v));
            t.tributaries.push(trib);
        }
        t
    }

    /// Northing where the tributary meets the main river, coming from `side`
    /// (+1 north, -1 south): the first sign change of `v - main_v(u(v))` met
    /// walking from that edge, refined by bisection.
    fn confluence(&self, trib: &Tributary, side: f64) -> f64 {
        let g = |v: f64| v - self.main_v(trib.u_at(v));
        let (mut hi, step) = if side > 0.0 {
            (HEIGHT, -20.0)
        } else {
            (0.0, 20.0)
        };
        let mut lo = hi;
        while (0.0..=HEIGHT).contains(&(hi + step)) {
            lo = hi + step;
            if g(lo).signum() != g(hi).signum() {
                break;
            }
            hi = lo;
        }
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if g(mid).signum() == g(lo).signum() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// Northing (local) of the main river at easting `u`.
    pub fn main_v(&self, u: f64) -> f64 {
        self.y0
            + self
                .meanders
                .iter()
                .map(|&(a, l, p)| a * (TAU * u / l + p).sin())
                .sum::<f64>()
    }

    fn main_dv(&self, u: f64) -> f64 {
        self.meanders
            .iter()
            .map(|&(a, l, p)| a * TAU / l * (TAU * u / l + p).cos())
            .sum()
    }

    /// Main-river floor elevation at easting `u` (flowing west to east).
    pub fn floor(u: f64) -> f64 {
        FLOOR_WEST + (FLOOR_EAST - FLOOR_WEST) * (u / WIDTH).clamp(0.0, 1.0)
    }

    /// Distance to the main river (m), measured across its local direction.
    pub fn main_distance(&self, u: f64, v: f64) -> f64 {
        (v - self.main_v(u)).abs() / (1.0 + self.main_dv(u).powi(2)).sqrt()
    }

    /// Distance to the nearest river or stream (m).
    pub fn river_distance(&self, u: f64, v: f64) -> f64 {
        self.tributaries
            .iter()
            .map(|t| t.distance(u, v).0)
            .fold(self.main_distance(u, v), f64::min)
    }

    /// Unit normal of the main river at `u`, pointing north.
    pub fn main_normal(&self, u: f64) -> (f64, f64) {
        let d = self.main_dv(u);
        let n = (1.0 + d * d).sqrt();
        (-d / n, 1.0 / n)
    }

    /// Elevation (m) at (u, v).
    pub fn elevation(&self, u: f64, v: f64) -> f64 {
        let ridge = 4_250.0 + 230.0 * self.ridge.at(u / 9_000.0, v / 9_000.0);
        let floor = Self::floor(u);
        let dm = self.main_distance(u, v);
        let t = ((dm - FLOODPLAIN) / (MAIN_HALF_WIDTH - FLOODPLAIN)).clamp(0.0, 1.0);
        let main = floor + (ridge - floor) * (1.0 - (1.0 - t) * (1.0 - t));
        let mut h = main;
        let mut dmin = dm;
        for trib in &self.tributaries {
            let (d, a) = trib.distance(u, v);
            dmin = dmin.min(d);
            let tf = trib.floor(a);
            let s = (d / TRIB_HALF_WIDTH).clamp(0.0, 1.0);
            let surface = tf + (main - tf) * (1.0 - (1.0 - s) * (1.0 - s));
            // A plain minimum: the tributary surface already meets the main
            // surface smoothly at the edge of its valley, and a smooth minimum
            // would dig a pit where the two floors meet.
            h = h.min(surface);
        }
        let gate = {
            let x = (dmin / 900.0).clamp(0.0, 1.0);
            x * x * (3.0 - 2.0 * x)
        };
        let noise: f64 = self
            .fine
            .iter()
            .map(|&(n, l, amp)| amp * n.at(u / l, v / l))
            .sum();
        (h + gate * noise).clamp(2_350.0, 4_650.0)
    }

    /// The main river from west (upstream) to east, one vertex per 120 m of easting.
    pub fn main_line(&self) -> Vec<(f64, f64)> {
        let n = (WIDTH / 120.0) as usize;
        (0..=n)
            .map(|i| {
                let u = WIDTH * i as f64 / n as f64;
                (u, self.main_v(u))
            })
            .collect()
    }

    /// Sample the DEM: cell centres, UTM 18S, GDAL north-up transform.
    pub fn dem(&self) -> Raster<f32> {
        let mut data = Vec::with_capacity(COLS * ROWS);
        for r in 0..ROWS {
            let v = HEIGHT - (r as f64 + 0.5) * CELL;
            for c in 0..COLS {
                let u = (c as f64 + 0.5) * CELL;
                data.push(self.elevation(u, v) as f32);
            }
        }
        Raster {
            width: COLS,
            height: ROWS,
            transform: [X0, CELL, 0.0, Y_TOP, 0.0, -CELL],
            epsg: Some(crate::utm::EPSG),
            nodata: Some(NODATA),
            data,
        }
    }
}

/// Slope in degrees at cell (c, r) of `dem` by central differences (edges clamp).
pub fn slope_deg(dem: &Raster<f32>, c: usize, r: usize) -> f64 {
    let (w, h) = (dem.width, dem.height);
    let z = |c: usize, r: usize| f64::from(dem.data[r * w + c]);
    let (c0, c1) = (c.saturating_sub(1), (c + 1).min(w - 1));
    let (r0, r1) = (r.saturating_sub(1), (r + 1).min(h - 1));
    let (cell_x, cell_y) = dem.cell_size();
    let dzdx = (z(c1, r) - z(c0, r)) / ((c1 - c0) as f64 * cell_x);
    let dzdy = (z(c, r1) - z(c, r0)) / ((r1 - r0) as f64 * cell_y);
    dzdx.hypot(dzdy).atan().to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_bounded_and_continuous() {
        let n = Noise { salt: 7 };
        let mut prev = n.at(0.0, 0.3);
        for i in 1..2000 {
            let x = f64::from(i) * 0.005;
            let v = n.at(x, 0.3);
            assert!((-1.0..=1.0).contains(&v));
            assert!((v - prev).abs() < 0.05, "jump at {x}");
            prev = v;
        }
        // Lattice points take the lattice values.
        assert!((n.at(3.0, 4.0) - n.lattice(3, 4)).abs() < 1e-12);
    }

    #[test]
    fn slope_of_a_plane() {
        // z = 0.5 x: atan(0.5) = 26.565 degrees everywhere.
        let mut dem = Raster::filled(5, 5, [0.0, 10.0, 0.0, 50.0, 0.0, -10.0], None, 0.0f32);
        for r in 0..5 {
            for c in 0..5 {
                dem.data[r * 5 + c] = 5.0 * c as f32;
            }
        }
        for (c, r) in [(0, 0), (2, 2), (4, 3)] {
            assert!((slope_deg(&dem, c, r) - 26.565_051).abs() < 1e-4);
        }
    }
}
