//! Placing villages, facilities, water systems and districts on the valley
//! (the networks are in `network`, the households in `households`).

// Geometry code: u, v, x, y, a, b... are the conventional names.
#![allow(clippy::many_single_char_names)]

use crate::terrain::{self, HEIGHT, Terrain, WIDTH};
use crate::utm;
use chaski_core::raster::Raster;
use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeSet;
use std::f64::consts::TAU;

/// Round to 6 decimals (about 0.1 m), the precision every written file keeps.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Local metres to rounded longitude/latitude.
pub fn lonlat(u: f64, v: f64) -> Coord<f64> {
    let (x, y) = terrain::to_utm(u, v);
    let (lon, lat) = utm::inverse(x, y);
    Coord {
        x: round6(lon),
        y: round6(lat),
    }
}

pub(crate) fn line(points: &[(f64, f64)]) -> LineString<f64> {
    LineString::new(points.iter().map(|&(u, v)| lonlat(u, v)).collect())
}

/// Standard normal deviate (Box–Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

pub(crate) fn binomial(rng: &mut ChaCha8Rng, n: i64, p: f64) -> i64 {
    (0..n).filter(|_| rng.random_bool(p)).count() as i64
}

pub(crate) fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> i64 {
    // Knuth's multiplication method; fine for small means.
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = rng.random::<f64>();
    while p > limit && k < 30 {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

/// A village while the region is built.
#[derive(Debug, Clone)]
pub struct Village {
    pub code: String,
    pub name: String,
    pub u: f64,
    pub v: f64,
    pub elevation: f64,
    pub population: i64,
    pub households: i64,
    pub district: usize,
}

impl Village {
    pub(crate) fn dist(&self, u: f64, v: f64) -> f64 {
        (self.u - u).hypot(self.v - v)
    }
}

/// A district while the region is built.
#[derive(Debug, Clone)]
pub struct District {
    pub code: String,
    pub name: String,
    pub polygon: MultiPolygon<f64>,
}

const DISTRICT_NAMES: [&str; 4] = [
    "Chaski Alto (synthetic)",
    "Huancapata (synthetic)",
    "Chaskipampa (synthetic)",
    "Chaski Bajo (synthetic)",
];

/// Four districts tiling the DEM extent, west to east, split by three wavy
/// north–south boundaries that share their vertices exactly.
pub fn districts(rng: &mut ChaCha8Rng) -> Vec<District> {
    let dividers: Vec<(f64, f64, f64, f64)> = [0.27, 0.52, 0.76]
        .iter()
        .map(|f| {
            (
                f * WIDTH + rng.random_range(-500.0..500.0),
                rng.random_range(300.0..600.0),
                rng.random_range(6_000.0..9_000.0),
                rng.random_range(0.0..TAU),
            )
        })
        .collect();
    let steps = (HEIGHT / 400.0).round() as usize;
    let vs: Vec<f64> = (0..=steps)
        .map(|i| HEIGHT * i as f64 / steps as f64)
        .collect();
    // Boundary k as a list of (u, v) from south to north; 0 and 4 are the DEM edges.
    let boundary = |k: usize| -> Vec<(f64, f64)> {
        vs.iter()
            .map(|&v| {
                let u = match k {
                    0 => 0.0,
                    4 => WIDTH,
                    _ => {
                        let (b, a, l, p) = dividers[k - 1];
                        b + a * (TAU * v / l + p).sin()
                    }
                };
                (u, v)
            })
            .collect()
    };
    let edge = |from: (f64, f64), to: (f64, f64)| -> Vec<(f64, f64)> {
        let n = ((to.0 - from.0).abs() / 600.0).ceil().max(1.0) as usize;
        (1..n)
            .map(|i| {
                let t = i as f64 / n as f64;
                (from.0 + (to.0 - from.0) * t, from.1)
            })
            .collect()
    };
    (0..4)
        .map(|k| {
            let left = boundary(k);
            let right = boundary(k + 1);
            let mut ring: Vec<(f64, f64)> = Vec::new();
            // Counterclockwise: south edge west to east, east side up, north edge
            // east to west, west side down.
            ring.push(left[0]);
            ring.extend(edge(left[0], right[0]));
            ring.extend(right.iter().copied());
            ring.extend(edge(right[right.len() - 1], left[left.len() - 1]));
            ring.extend(left.iter().rev().copied());
            let exterior = line(&ring);
            District {
                code: format!("05990{}", k + 1),
                name: DISTRICT_NAMES[k].to_owned(),
                polygon: MultiPolygon::new(vec![Polygon::new(exterior, vec![])]),
            }
        })
        .collect()
}

const PREFIXES: [&str; 24] = [
    "Huanca", "Ccollpa", "Yana", "Rumi", "Quispi", "Chaca", "Huaylla", "Sacsa", "Tocto", "Ayllu",
    "Ccasa", "Llaqta", "Ura", "Hatun", "Uchuy", "Wari", "Pucyu", "Tambo", "Kiswar", "Ccochac",
    "Paccha", "Soccos", "Anta", "Ichu",
];

const SUFFIXES: [&str; 14] = [
    "pata", "bamba", "marca", "huasi", "cocha", "pampa", "orcco", "huaycco", "rumi", "puquio",
    "chaca", "ccota", "pucro", "llacta",
];

fn village_name(rng: &mut ChaCha8Rng, used: &mut BTreeSet<String>) -> String {
    for _ in 0..100 {
        let p = PREFIXES[rng.random_range(0..PREFIXES.len())];
        let s = SUFFIXES[rng.random_range(0..SUFFIXES.len())];
        let mut name = format!("{p}{s}");
        if rng.random_bool(0.12) {
            name.push_str(if rng.random_bool(0.5) {
                " Alto"
            } else {
                " Bajo"
            });
        }
        if used.insert(name.clone()) {
            return name;
        }
    }
    let name = format!("Anexo {}", used.len() + 1);
    used.insert(name.clone());
    name
}

/// The DEM value at local (u, v), if on a valid cell.
pub fn dem_at(dem: &Raster<f32>, u: f64, v: f64) -> Option<(usize, usize, f64)> {
    let (x, y) = terrain::to_utm(u, v);
    let (c, r) = dem.cell_at(x, y)?;
    let z = dem.get(c, r)?;
    (!dem.is_nodata(z)).then_some((c, r, f64::from(z)))
}

/// Main town (first) and `n - 1` villages, by weighted rejection sampling:
/// on slopes under 28°, mostly below 4,000 m, at least 150 m from any river
/// and more likely the closer they are to one.
pub fn villages(
    terrain: &Terrain,
    dem: &Raster<f32>,
    near: &dyn Fn(f64, f64) -> f64,
    rng: &mut ChaCha8Rng,
    n: usize,
) -> Vec<Village> {
    let mut used = BTreeSet::new();
    let mut out: Vec<Village> = Vec::with_capacity(n);
    // The main town on a terrace north of the river, 62 % of the way downstream.
    let tu = 0.62 * WIDTH + rng.random_range(-400.0..400.0);
    let (nx, ny) = terrain.main_normal(tu);
    let (tu, tv) = (tu + 550.0 * nx, terrain.main_v(tu) + 550.0 * ny);
    used.insert("Chaskipampa".to_owned());
    let town_elev = dem_at(dem, tu, tv).map_or(terrain.elevation(tu, tv), |d| d.2);
    out.push(Village {
        code: String::new(),
        name: "Chaskipampa".to_owned(),
        u: tu,
        v: tv,
        elevation: town_elev,
        population: 1_950 + rng.random_range(0..50),
        households: 0,
        district: 0,
    });
    let margin = 600.0;
    let mut tries = 0;
    while out.len() < n && tries < 400_000 {
        tries += 1;
        let u = rng.random_range(margin..WIDTH - margin);
        let v = rng.random_range(margin..HEIGHT - margin);
        let Some((c, r, h)) = dem_at(dem, u, v) else {
            continue;
        };
        let dr = near(u, v);
        if dr < 150.0 || h > 4_150.0 {
            continue;
        }
        let slope = terrain::slope_deg(dem, c, r);
        if slope > 28.0 {
            continue;
        }
        let mut p = (-dr / 1_800.0).exp();
        if h > 4_000.0 {
            p *= 0.08;
        } else if h > 3_700.0 {
            p *= 0.5;
        }
        if slope > 20.0 {
            p *= 0.5;
        }
        if !rng.random_bool(p.clamp(0.0, 1.0)) {
            continue;
        }
        if out[0].dist(u, v) < 900.0 || out.iter().any(|w| w.dist(u, v) < 450.0) {
            continue;
        }
        let pop = (170f64.ln() + 0.85 * normal(rng))
            .exp()
            .round()
            .clamp(30.0, 2_000.0) as i64;
        out.push(Village {
            code: String::new(),
            name: village_name(rng, &mut used),
            u,
            v,
            elevation: h,
            population: pop,
            households: 0,
            district: 0,
        });
    }
    for (i, w) in out.iter_mut().enumerate() {
        w.code = format!("DEMO-CP{:04}", i + 1);
        w.households = ((w.population as f64 / 4.2).round() as i64).max(1);
    }
    out
}

/// Set each village's district to the polygon containing it.
pub fn assign_districts(villages: &mut [Village], districts: &[District]) {
    for w in villages {
        let p = Point::from(lonlat(w.u, w.v));
        w.district = districts
            .iter()
            .position(|d| d.polygon.contains(&p))
            .unwrap_or_else(|| {
                // On a shared edge (never seen in practice): the nearest by longitude.
                let lon = p.x();
                districts
                    .iter()
                    .position(|d| {
                        d.polygon.0.first().is_some_and(|poly| {
                            let xs = poly.exterior().0.iter().map(|c| c.x);
                            let (lo, hi) =
                                xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
                            (lo..=hi).contains(&lon)
                        })
                    })
                    .unwrap_or(0)
            });
    }
}

/// A health facility while the region is built.
#[derive(Debug, Clone)]
pub struct Facility {
    pub code: String,
    pub name: String,
    pub category: &'static str,
    pub institution: &'static str,
    pub birth_care: &'static str,
    pub maternity_home: bool,
    pub village: usize,
    pub u: f64,
    pub v: f64,
}

/// One II-1 hospital in the main town, then I-4, I-3, I-2 and I-1 in the
/// largest villages, kept apart.
pub fn facilities(villages: &[Village], rng: &mut ChaCha8Rng) -> Vec<Facility> {
    let categories = [
        "II-1", "I-4", "I-4", "I-3", "I-3", "I-3", "I-2", "I-2", "I-2", "I-2", "I-1", "I-1", "I-1",
        "I-1", "I-1", "I-1", "I-1", "I-1", "I-1",
    ];
    let mut order: Vec<usize> = (1..villages.len()).collect();
    order.sort_by(|&a, &b| {
        villages[b]
            .population
            .cmp(&villages[a].population)
            .then(a.cmp(&b))
    });
    let mut hosts = vec![0usize];
    for spacing in [3_000.0, 2_000.0, 1_000.0, 0.0] {
        for &i in &order {
            if hosts.len() == categories.len() {
                break;
            }
            let w = &villages[i];
            if !hosts.contains(&i) && hosts.iter().all(|&h| villages[h].dist(w.u, w.v) >= spacing) {
                hosts.push(i);
            }
        }
    }
    let mut out = Vec::new();
    let mut basic_i3 = false;
    for (k, (&host, &category)) in hosts.iter().zip(categories.iter()).enumerate() {
        let w = &villages[host];
        let angle = rng.random_range(0.0..TAU);
        let off = rng.random_range(40.0..90.0);
        let (birth_care, maternity_home) = match category {
            "II-1" => ("complete", true),
            "I-4" => ("basic", k == 1),
            "I-3" if !basic_i3 => {
                basic_i3 = true;
                ("basic", false)
            }
            _ => ("none", false),
        };
        let name = match category {
            "II-1" => format!("Hospital de Apoyo {}", w.name),
            "I-3" | "I-4" => format!("C.S. {}", w.name),
            _ => format!("P.S. {}", w.name),
        };
        let institution = if category != "II-1" && rng.random_bool(0.2) {
            "MINSA"
        } else {
            "GOBIERNO REGIONAL"
        };
        out.push(Facility {
            code: format!("DEMO-{:05}", k + 1),
            name,
            category,
            institution,
            birth_care,
            maternity_home,
            village: host,
            u: w.u + off * angle.cos(),
            v: w.v + off * angle.sin(),
        });
    }
    out
}

/// Index of the facility nearest each village (straight line).
pub fn nearest_facility(villages: &[Village], facilities: &[Facility]) -> Vec<usize> {
    villages
        .iter()
        .map(|w| {
            let mut best = (f64::MAX, 0);
            for (i, f) in facilities.iter().enumerate() {
                let d = w.dist(f.u, f.v);
                if d < best.0 {
                    best = (d, i);
                }
            }
            best.1
        })
        .collect()
}

/// A water system while the region is built.
#[derive(Debug, Clone)]
pub struct WaterSystem {
    pub code: String,
    pub name: String,
    pub board: String,
    pub status: &'static str,
    pub chlorinated: bool,
    pub households_served: i64,
    pub village: usize,
    pub u: f64,
    pub v: f64,
}

/// `n` water systems: one in each of the largest villages (two in the main
/// town), the intake reservoir ~250 m upslope.
pub fn water_systems(
    villages: &[Village],
    terrain: &Terrain,
    rng: &mut ChaCha8Rng,
    n: usize,
) -> Vec<WaterSystem> {
    let mut order: Vec<usize> = (0..villages.len()).collect();
    order.sort_by(|&a, &b| {
        villages[b]
            .population
            .cmp(&villages[a].population)
            .then(a.cmp(&b))
    });
    let mut hosts: Vec<usize> = vec![0];
    hosts.extend(order.iter().copied().take(n.saturating_sub(1)));
    hosts.sort_unstable();
    let systems_in = |host: usize| hosts.iter().filter(|&&h| h == host).count().max(1);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (k, &host) in hosts.iter().enumerate() {
        let w = &villages[host];
        let second = !seen.insert(host);
        let (gx, gy) = (
            terrain.elevation(w.u + 30.0, w.v) - terrain.elevation(w.u - 30.0, w.v),
            terrain.elevation(w.u, w.v + 30.0) - terrain.elevation(w.u, w.v - 30.0),
        );
        let norm = gx.hypot(gy);
        let (dx, dy) = if norm > 1e-6 {
            (gx / norm, gy / norm)
        } else {
            let a = rng.random_range(0.0..TAU);
            (a.cos(), a.sin())
        };
        let dist = rng.random_range(180.0..320.0) * if second { 0.6 } else { 1.0 };
        let side = if second { 0.8 } else { 0.0 };
        let u = (w.u + dist * (dx - side * dy)).clamp(300.0, WIDTH - 300.0);
        let v = (w.v + dist * (dy + side * dx)).clamp(300.0, HEIGHT - 300.0);
        let roll: f64 = rng.random();
        let (status, p_chlor, share) = if roll < 0.55 {
            ("operational", 0.6, rng.random_range(0.7..1.0))
        } else if roll < 0.85 {
            ("partial", 0.3, rng.random_range(0.4..0.8))
        } else {
            ("down", 0.0, rng.random_range(0.3..0.7))
        };
        let chlorinated = p_chlor > 0.0 && rng.random_bool(p_chlor);
        let suffix = if second { " II" } else { "" };
        out.push(WaterSystem {
            code: format!("DEMO-AG{:03}", k + 1),
            name: format!("Sistema de agua {}{suffix}", w.name),
            board: format!("JASS {}{suffix}", w.name),
            status,
            chlorinated,
            households_served: ((w.households as f64 * share / systems_in(host) as f64).round()
                as i64)
                .max(1),
            village: host,
            u,
            v,
        });
    }
    out
}
