//! Placing villages, facilities, water systems, districts, paths, roads,
//! rivers and households on the valley.

// Geometry code: u, v, x, y, a, b... are the conventional names.
#![allow(clippy::many_single_char_names)]

use crate::terrain::{self, HEIGHT, Terrain, WIDTH};
use crate::{PlantedCluster, utm};
use chaski_core::domain::RiskLevel;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_core::value::Value;
use geo::{Contains, Coord, Geometry, LineString, MultiLineString, MultiPolygon, Point, Polygon};
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

fn line(points: &[(f64, f64)]) -> LineString<f64> {
    LineString::new(points.iter().map(|&(u, v)| lonlat(u, v)).collect())
}

/// Standard normal deviate (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

fn binomial(rng: &mut ChaCha8Rng, n: i64, p: f64) -> i64 {
    (0..n).filter(|_| rng.random_bool(p)).count() as i64
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> i64 {
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
    fn dist(&self, u: f64, v: f64) -> f64 {
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

/// Rivers as polylines in local metres, with name, class and code.
pub struct RiverLine {
    pub name: String,
    pub class: &'static str,
    pub code: String,
    pub points: Vec<(f64, f64)>,
    /// For tributaries, the tributary index.
    pub tributary: Option<usize>,
}

/// The main river and its tributaries.
pub fn rivers(terrain: &Terrain, tributaries: &[Vec<(f64, f64)>]) -> Vec<RiverLine> {
    let mut out = vec![RiverLine {
        name: "Río Chaski (synthetic)".to_owned(),
        class: "river",
        code: "DEMO-RIO01".to_owned(),
        points: terrain.main_line(),
        tributary: None,
    }];
    for (i, t) in terrain.tributaries.iter().enumerate() {
        out.push(RiverLine {
            name: format!("{} (synthetic)", t.name),
            class: "stream",
            code: format!("DEMO-RIO{:02}", i + 2),
            points: tributaries.get(i).cloned().unwrap_or_else(|| t.line()),
            tributary: Some(i),
        });
    }
    out
}

/// Intersection of segments p1-p2 and q1-q2: the parameter along p and the point.
fn seg_intersection(
    p1: (f64, f64),
    p2: (f64, f64),
    q1: (f64, f64),
    q2: (f64, f64),
) -> Option<(f64, (f64, f64))> {
    let r = (p2.0 - p1.0, p2.1 - p1.1);
    let s = (q2.0 - q1.0, q2.1 - q1.1);
    let denom = r.0 * s.1 - r.1 * s.0;
    if denom.abs() < 1e-12 {
        return None;
    }
    let qp = (q1.0 - p1.0, q1.1 - p1.1);
    let t = (qp.0 * s.1 - qp.1 * s.0) / denom;
    let w = (qp.0 * r.1 - qp.1 * r.0) / denom;
    ((0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&w))
        .then_some((t, (p1.0 + t * r.0, p1.1 + t * r.1)))
}

/// Where a straight segment crosses a river.
#[derive(Debug, Clone, Copy)]
struct Crossing {
    /// Fraction along the segment.
    t: f64,
    point: (f64, f64),
    /// River index in the `rivers` list.
    river: usize,
    /// Unit tangent of the river there.
    tangent: (f64, f64),
}

fn crossings(a: (f64, f64), b: (f64, f64), rivers: &[RiverLine]) -> Vec<Crossing> {
    let (minx, maxx) = (a.0.min(b.0), a.0.max(b.0));
    let (miny, maxy) = (a.1.min(b.1), a.1.max(b.1));
    let mut out = Vec::new();
    for (ri, river) in rivers.iter().enumerate() {
        for seg in river.points.windows(2) {
            let (q1, q2) = (seg[0], seg[1]);
            if q1.0.max(q2.0) < minx
                || q1.0.min(q2.0) > maxx
                || q1.1.max(q2.1) < miny
                || q1.1.min(q2.1) > maxy
            {
                continue;
            }
            if let Some((t, point)) = seg_intersection(a, b, q1, q2) {
                let (dx, dy) = (q2.0 - q1.0, q2.1 - q1.1);
                let len = dx.hypot(dy);
                out.push(Crossing {
                    t,
                    point,
                    river: ri,
                    tangent: (dx / len, dy / len),
                });
            }
        }
    }
    out.sort_by(|x, y| x.t.total_cmp(&y.t));
    out
}

/// A candidate path between two villages.
#[derive(Debug, Clone)]
struct Edge {
    a: usize,
    b: usize,
    weight: f64,
    length: f64,
    crossing: Option<Crossing>,
}

/// Check a straight link; None when it is unusable (two or more river
/// crossings, a crossing near a confluence or an end, or running along a river).
fn edge(
    villages: &[Village],
    near: &dyn Fn(f64, f64) -> f64,
    rivers: &[RiverLine],
    a: usize,
    b: usize,
) -> Option<Edge> {
    let (pa, pb) = (
        (villages[a].u, villages[a].v),
        (villages[b].u, villages[b].v),
    );
    let length = (pb.0 - pa.0).hypot(pb.1 - pa.1);
    let cs = crossings(pa, pb, rivers);
    if cs.len() > 1 {
        return None;
    }
    let crossing = cs.first().copied();
    let n = (length / 50.0).ceil() as usize;
    for i in 1..n {
        let t = i as f64 / n as f64;
        let (u, v) = (pa.0 + (pb.0 - pa.0) * t, pa.1 + (pb.1 - pa.1) * t);
        let d = near(u, v);
        let near_crossing = crossing.is_some_and(|c| (t - c.t).abs() * length < 200.0);
        if d < 90.0 && !near_crossing {
            return None;
        }
    }
    if let Some(c) = crossing {
        if c.t * length < 200.0 || (1.0 - c.t) * length < 200.0 {
            return None;
        }
        // Far from any other river (confluences).
        let others = rivers.iter().enumerate().filter(|(i, _)| *i != c.river);
        for (_, r) in others {
            if r.points
                .iter()
                .any(|p| (p.0 - c.point.0).hypot(p.1 - c.point.1) < 300.0)
            {
                return None;
            }
        }
    }
    let climb = (villages[a].elevation - villages[b].elevation).abs();
    let weight = length + 3.0 * climb + if crossing.is_some() { 1_500.0 } else { 0.0 };
    Some(Edge {
        a,
        b,
        weight,
        length,
        crossing,
    })
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// The path network: a minimum spanning forest of villages (weighted by
/// length, climb and river crossings), shortcuts from villages to their nearest
/// facility, and extra main-river crossings so that there are at least three.
/// Each crossing is its own `bridge` or `ford` feature, perpendicular to the river.
pub fn paths(
    villages: &[Village],
    facilities: &[Facility],
    nearest: &[usize],
    terrain: &Terrain,
    near: &dyn Fn(f64, f64) -> f64,
    rivers: &[RiverLine],
    rng: &mut ChaCha8Rng,
) -> Layer {
    let mut candidates = Vec::new();
    for a in 0..villages.len() {
        for b in a + 1..villages.len() {
            if villages[a].dist(villages[b].u, villages[b].v) <= 9_000.0 {
                if let Some(e) = edge(villages, near, rivers, a, b) {
                    candidates.push(e);
                }
            }
        }
    }
    candidates.sort_by(|x, y| {
        x.weight
            .total_cmp(&y.weight)
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    let mut parent: Vec<usize> = (0..villages.len()).collect();
    let mut chosen: Vec<Edge> = Vec::new();
    let mut adjacency: Vec<Vec<(usize, f64)>> = vec![Vec::new(); villages.len()];
    // Crossings already chosen, as (river, point): a new crossing of the same
    // river must keep its distance (800 m in the tree, 1.5 km for shortcuts).
    let far_from = |chosen: &[Edge], c: Option<Crossing>, min: f64| {
        c.is_none_or(|c| {
            chosen.iter().filter_map(|e| e.crossing).all(|o| {
                o.river != c.river || (o.point.0 - c.point.0).hypot(o.point.1 - c.point.1) >= min
            })
        })
    };
    // Kruskal, first with links up to 6 km and crossings 800 m apart, then
    // joining what is left with any valid link.
    for (max_len, spacing) in [(6_000.0, 800.0), (9_000.0, 0.0)] {
        for e in &candidates {
            if e.length > max_len {
                continue;
            }
            let (ra, rb) = (find(&mut parent, e.a), find(&mut parent, e.b));
            if ra != rb && far_from(&chosen, e.crossing, spacing) {
                parent[ra] = rb;
                adjacency[e.a].push((e.b, e.length));
                adjacency[e.b].push((e.a, e.length));
                chosen.push(e.clone());
            }
        }
    }
    // Shortcuts to the nearest facility where the tree detour is long.
    let tree_dist = |from: usize, adjacency: &Vec<Vec<(usize, f64)>>| -> Vec<f64> {
        let mut dist = vec![f64::INFINITY; villages.len()];
        dist[from] = 0.0;
        let mut stack = vec![from];
        while let Some(i) = stack.pop() {
            for &(j, l) in &adjacency[i] {
                if dist[j].is_infinite() {
                    dist[j] = dist[i] + l;
                    stack.push(j);
                }
            }
        }
        dist
    };
    for (i, &f) in nearest.iter().enumerate() {
        let host = facilities[f].village;
        if host == i {
            continue;
        }
        let straight = villages[i].dist(villages[host].u, villages[host].v);
        if straight > 7_000.0 {
            continue;
        }
        let along = tree_dist(i, &adjacency)[host];
        if along <= 1.6 * straight {
            continue;
        }
        let (a, b) = (i.min(host), i.max(host));
        if chosen.iter().any(|e| e.a == a && e.b == b) {
            continue;
        }
        if let Some(e) =
            edge(villages, near, rivers, a, b).filter(|e| far_from(&chosen, e.crossing, 1_500.0))
        {
            adjacency[a].push((b, e.length));
            adjacency[b].push((a, e.length));
            chosen.push(e);
        }
    }
    // At least three crossings of the main river (index 0), 2 km apart.
    let main_crossings = |chosen: &[Edge]| -> Vec<(f64, f64)> {
        chosen
            .iter()
            .filter_map(|e| e.crossing.filter(|c| c.river == 0).map(|c| c.point))
            .collect()
    };
    for e in &candidates {
        let existing = main_crossings(&chosen);
        if existing.len() >= 3 {
            break;
        }
        if let Some(c) = e.crossing.filter(|c| c.river == 0) {
            if e.length < 3_500.0
                && existing
                    .iter()
                    .all(|p| (p.0 - c.point.0).hypot(p.1 - c.point.1) > 2_000.0)
                && !chosen.iter().any(|x| x.a == e.a && x.b == e.b)
            {
                chosen.push(e.clone());
            }
        }
    }
    // The upstream-most main-river crossing is a ford; other main-river
    // crossings are bridges; stream crossings are fords in the upper half of the
    // stream, bridges lower down.
    let ford_u = main_crossings(&chosen)
        .iter()
        .map(|p| p.0)
        .fold(f64::INFINITY, f64::min);
    let mut layer = Layer::new("paths", LayerKind::Paths);
    let push =
        |layer: &mut Layer, code: String, name: String, class: &str, pts: Vec<(f64, f64)>| {
            let fid = layer.features.len() as i64 + 1;
            layer.features.push(Feature {
                fid,
                geometry: Geometry::MultiLineString(MultiLineString::new(vec![line(&pts)])),
                values: vec![code.into(), name.into(), class.into()],
            });
        };
    for (k, e) in chosen.iter().enumerate() {
        let (wa, wb) = (&villages[e.a], &villages[e.b]);
        let (pa, pb) = ((wa.u, wa.v), (wb.u, wb.v));
        let class = if e.a == 0 || e.b == 0 || (wa.population >= 250 && wb.population >= 250) {
            "mule_track"
        } else {
            "footpath"
        };
        let code = format!("DEMO-CAM{:03}", k + 1);
        let name = format!("Camino {} - {}", wa.name, wb.name);
        match e.crossing {
            None => {
                let pts = wiggle(pa, pb, near, rivers, rng);
                push(&mut layer, code, name, class, pts);
            }
            Some(c) => {
                let mut n = (-c.tangent.1, c.tangent.0);
                if n.0 * (pb.0 - pa.0) + n.1 * (pb.1 - pa.1) < 0.0 {
                    n = (-n.0, -n.1);
                }
                let start = (c.point.0 - 90.0 * n.0, c.point.1 - 90.0 * n.1);
                let end = (c.point.0 + 90.0 * n.0, c.point.1 + 90.0 * n.1);
                push(
                    &mut layer,
                    format!("{code}A"),
                    name.clone(),
                    class,
                    vec![pa, start],
                );
                let river = &rivers[c.river];
                let is_ford = match river.tributary {
                    None => (c.point.0 - ford_u).abs() < 1e-9,
                    Some(ti) => terrain.tributaries[ti].along(c.point.1) > 0.5,
                };
                let (cross_class, word) = if is_ford {
                    ("ford", "Vado")
                } else {
                    ("bridge", "Puente")
                };
                let river_name = river.name.trim_end_matches(" (synthetic)");
                push(
                    &mut layer,
                    format!("{code}B"),
                    format!("{word} {river_name} ({} - {})", wa.name, wb.name),
                    cross_class,
                    vec![start, end],
                );
                push(&mut layer, format!("{code}C"), name, class, vec![end, pb]);
            }
        }
    }
    layer
}

/// A gently winding polyline from a to b that crosses no river (falls back to
/// the straight line, which [`edge`] checked).
fn wiggle(
    a: (f64, f64),
    b: (f64, f64),
    near: &dyn Fn(f64, f64) -> f64,
    rivers: &[RiverLine],
    rng: &mut ChaCha8Rng,
) -> Vec<(f64, f64)> {
    let len = (b.0 - a.0).hypot(b.1 - a.1);
    let k = (len / 400.0).floor().clamp(1.0, 8.0) as usize;
    let (dx, dy) = ((b.0 - a.0) / len, (b.1 - a.1) / len);
    let amp = (0.05 * len).min(100.0);
    let mut pts = vec![a];
    for i in 1..=k {
        let t = i as f64 / (k + 1) as f64;
        let off = amp * rng.random_range(-1.0..1.0) * (std::f64::consts::PI * t).sin();
        pts.push((
            a.0 + (b.0 - a.0) * t - dy * off,
            a.1 + (b.1 - a.1) * t + dx * off,
        ));
    }
    pts.push(b);
    let ok = pts
        .windows(2)
        .all(|s| crossings(s[0], s[1], rivers).is_empty())
        && pts.iter().skip(1).take(k).all(|p| near(p.0, p.1) >= 90.0);
    if ok { pts } else { vec![a, b] }
}

/// The unpaved road: from the downstream (east) edge along the north bank,
/// 300 m from the river, to the main town.
pub fn roads(terrain: &Terrain, town: &Village) -> Layer {
    let mut pts = Vec::new();
    let mut u = WIDTH - 30.0;
    while u > town.u + 300.0 {
        let (nx, ny) = terrain.main_normal(u);
        pts.push((
            (u + 300.0 * nx).clamp(30.0, WIDTH - 30.0),
            terrain.main_v(u) + 300.0 * ny,
        ));
        u -= 150.0;
    }
    pts.push((town.u, town.v));
    let mut layer = Layer::new("roads", LayerKind::Roads);
    layer.features.push(Feature {
        fid: 1,
        geometry: Geometry::MultiLineString(MultiLineString::new(vec![line(&pts)])),
        values: vec![
            "DEMO-VIA01".into(),
            "Carretera vecinal Chaskipampa (synthetic)".into(),
            "unpaved".into(),
        ],
    });
    layer
}

/// The inputs of [`risk_level`]: one household's recorded flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RiskInputs {
    /// Pregnant women.
    pub pregnant: i64,
    /// Children under 2.
    pub under2: i64,
    /// Children under 5.
    pub under5: i64,
    /// Anaemia (None: not assessed).
    pub anaemia: Option<bool>,
    /// Child malnutrition (None: no child under 5).
    pub malnutrition: Option<bool>,
    /// Danger signs seen.
    pub danger_signs: bool,
    /// Safe water.
    pub safe_water: bool,
    /// Violence risk.
    pub violence_risk: bool,
}

/// The demo's household risk rule:
///
/// * **alto** when danger signs were seen, or a child is malnourished, or
///   there is a violence risk, or a pregnant woman lives in a household with
///   anaemia;
/// * otherwise **medio** when there is anaemia, a pregnancy, a child under 2,
///   or a child under 5 without safe water;
/// * otherwise **bajo**.
///
/// ```
/// use chaski_demo::{risk_level, RiskInputs};
/// use chaski_core::domain::RiskLevel;
/// let mut h = RiskInputs { under5: 1, safe_water: true, ..RiskInputs::default() };
/// assert_eq!(risk_level(&h), RiskLevel::Bajo);
/// h.safe_water = false;
/// assert_eq!(risk_level(&h), RiskLevel::Medio);
/// h.danger_signs = true;
/// assert_eq!(risk_level(&h), RiskLevel::Alto);
/// ```
pub fn risk_level(h: &RiskInputs) -> RiskLevel {
    let anaemia = h.anaemia == Some(true);
    if h.danger_signs
        || h.malnutrition == Some(true)
        || h.violence_risk
        || (h.pregnant > 0 && anaemia)
    {
        RiskLevel::Alto
    } else if anaemia || h.pregnant > 0 || h.under2 > 0 || (h.under5 > 0 && !h.safe_water) {
        RiskLevel::Medio
    } else {
        RiskLevel::Bajo
    }
}

const CUMULATIVE_DAYS: [u32; 13] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];

/// Day of year (1-based, 2026 is not a leap year) to `2026-MM-DD`.
pub fn date_2026(day: u32) -> String {
    let day = day.clamp(1, 365);
    let month = CUMULATIVE_DAYS.iter().rposition(|&c| c < day).unwrap_or(0);
    format!("2026-{:02}-{:02}", month + 1, day - CUMULATIVE_DAYS[month])
}

/// Households of every village, with the planted high-risk clusters.
pub fn households(
    villages: &[Village],
    facilities: &[Facility],
    nearest: &[usize],
    water: &[WaterSystem],
    rng: &mut ChaCha8Rng,
    target: usize,
) -> (Layer, Vec<PlantedCluster>) {
    let total: i64 = villages.iter().map(|w| w.households).sum();
    let coverage = (target as f64 / total.max(1) as f64).clamp(0.0, 1.0);
    let mapped: Vec<i64> = villages
        .iter()
        .map(|w| ((w.households as f64 * coverage).round() as i64).max(i64::from(target > 0)))
        .collect();
    // Cluster centres: the villages with the most mapped households within the
    // radius, among those over 2.5 km from their nearest facility; the second
    // at least 8 km beyond the first cluster's edge.
    let radius = 2_500.0;
    let remote = |i: usize| {
        let f = &facilities[nearest[i]];
        villages[i].dist(f.u, f.v) >= 2_500.0
    };
    let score = |i: usize| -> i64 {
        let w = &villages[i];
        (0..villages.len())
            .filter(|&j| villages[j].dist(w.u, w.v) <= radius)
            .map(|j| mapped[j])
            .sum()
    };
    let best = |ok: &dyn Fn(usize) -> bool| -> Option<usize> {
        (0..villages.len())
            .filter(|&i| ok(i))
            .max_by(|&a, &b| score(a).cmp(&score(b)).then(b.cmp(&a)))
    };
    let c1 = best(&|i| remote(i))
        .or_else(|| best(&|_| true))
        .unwrap_or(0);
    let apart =
        |i: usize| villages[i].dist(villages[c1].u, villages[c1].v) >= 2.0 * radius + 8_000.0;
    let c2 = best(&|i| remote(i) && apart(i))
        .or_else(|| best(&apart))
        .unwrap_or(0);
    let mut clusters: Vec<PlantedCluster> = [c1, c2]
        .iter()
        .map(|&i| {
            let w = &villages[i];
            let c = lonlat(w.u, w.v);
            PlantedCluster {
                village: w.code.clone(),
                village_name: w.name.clone(),
                lon: c.x,
                lat: c.y,
                radius_m: radius,
                households: 0,
            }
        })
        .collect();
    // Water quality per village: the best system in it.
    let water_p = |i: usize| -> f64 {
        water
            .iter()
            .filter(|s| s.village == i)
            .map(|s| match (s.status, s.chlorinated) {
                ("operational", true) => 0.9,
                ("operational", false) => 0.65,
                ("partial", _) => 0.4,
                _ => 0.12,
            })
            .fold(0.12, f64::max)
    };
    let mut layer = Layer::new("households", LayerKind::Households);
    let mut cha = 0;
    for (i, w) in villages.iter().enumerate() {
        let in_cluster = [c1, c2].iter().position(|&c| {
            let cw = &villages[c];
            cw.dist(w.u, w.v) <= radius
        });
        let p_water = water_p(i);
        let facility = &facilities[nearest[i]].code;
        for k in 0..mapped[i] {
            if k % 40 == 0 {
                cha += 1;
            }
            let sector = format!("{}-S{}", w.code, k / 40 + 1);
            let spread = (normal(rng) * 110.0).abs().min(300.0);
            let angle = rng.random_range(0.0..TAU);
            let (u, v) = (w.u + spread * angle.cos(), w.v + spread * angle.sin());
            let members = (1 + poisson(rng, 3.2)).min(11);
            let hot = in_cluster.is_some();
            let under5 = binomial(rng, members - 1, if hot { 0.28 } else { 0.17 }).min(3);
            let under2 = binomial(rng, under5, 0.45);
            let pregnant =
                i64::from(members >= 2 && rng.random_bool(if hot { 0.12 } else { 0.07 }));
            let safe_water = rng.random_bool(p_water);
            let anaemia = (under5 + pregnant > 0).then(|| {
                let p = if hot {
                    0.8
                } else if safe_water {
                    0.3
                } else {
                    0.4
                };
                rng.random_bool(p)
            });
            let sanitation = rng.random_bool(if safe_water { 0.6 } else { 0.3 });
            let malnutrition = (under5 > 0).then(|| {
                let p = 0.08
                    + if anaemia == Some(true) { 0.08 } else { 0.0 }
                    + if safe_water { 0.0 } else { 0.05 };
                rng.random_bool(p)
            });
            let danger_signs = (pregnant > 0 || under2 > 0) && {
                let p = if hot {
                    0.45
                } else if anaemia == Some(true) {
                    0.12
                } else {
                    0.06
                };
                rng.random_bool(p)
            };
            let violence_risk = rng.random_bool(0.05);
            let risk = risk_level(&RiskInputs {
                pregnant,
                under2,
                under5,
                anaemia,
                malnutrition,
                danger_signs,
                safe_water,
                violence_risk,
            });
            let day = rng.random_range(5..=300);
            if let Some(c) = in_cluster {
                clusters[c].households += 1;
            }
            let fid = layer.features.len() as i64 + 1;
            let date = date_2026(day);
            layer.features.push(Feature {
                fid,
                geometry: Geometry::Point(Point::from(lonlat(u, v))),
                values: vec![
                    format!("DEMO-H{fid:04}").into(),
                    w.code.clone().into(),
                    facility.clone().into(),
                    sector.into(),
                    format!("DEMO-ACS{cha:03}").into(),
                    date.clone().into(),
                    Value::Int(members),
                    Value::Int(pregnant),
                    Value::Int(under2),
                    Value::Int(under5),
                    anaemia.into(),
                    malnutrition.into(),
                    danger_signs.into(),
                    safe_water.into(),
                    sanitation.into(),
                    violence_risk.into(),
                    risk.as_str().into(),
                    // altitude, GPS accuracy and the submission id come with the
                    // KoBo export's own columns (see `write`)
                    Value::Null,
                    Value::Null,
                    "gps".into(),
                    Value::Int(1),
                    Value::Null,
                    if safe_water { "red_publica" } else { "rio" }.into(),
                    true.into(),
                    date.into(),
                    Value::Null,
                ],
            });
        }
    }
    (layer, clusters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_2026(1), "2026-01-01");
        assert_eq!(date_2026(31), "2026-01-31");
        assert_eq!(date_2026(32), "2026-02-01");
        assert_eq!(date_2026(59), "2026-02-28");
        assert_eq!(date_2026(60), "2026-03-01");
        assert_eq!(date_2026(365), "2026-12-31");
    }

    #[test]
    fn segment_intersection() {
        let (t, p) = seg_intersection((0.0, 0.0), (4.0, 0.0), (1.0, -1.0), (1.0, 1.0)).unwrap();
        assert!((t - 0.25).abs() < 1e-12);
        assert!((p.0 - 1.0).abs() < 1e-12 && p.1.abs() < 1e-12);
        assert!(seg_intersection((0.0, 0.0), (4.0, 0.0), (5.0, -1.0), (5.0, 1.0)).is_none());
        assert!(seg_intersection((0.0, 0.0), (4.0, 0.0), (0.0, 1.0), (4.0, 1.0)).is_none());
    }

    #[test]
    fn risk_rule() {
        let base = RiskInputs {
            safe_water: true,
            ..RiskInputs::default()
        };
        assert_eq!(risk_level(&base), RiskLevel::Bajo);
        let preg = RiskInputs {
            pregnant: 1,
            ..base
        };
        assert_eq!(risk_level(&preg), RiskLevel::Medio);
        let preg_anaemia = RiskInputs {
            anaemia: Some(true),
            ..preg
        };
        assert_eq!(risk_level(&preg_anaemia), RiskLevel::Alto);
        let child_anaemia = RiskInputs {
            under5: 1,
            anaemia: Some(true),
            ..base
        };
        assert_eq!(risk_level(&child_anaemia), RiskLevel::Medio);
        let malnourished = RiskInputs {
            under5: 1,
            malnutrition: Some(true),
            ..base
        };
        assert_eq!(risk_level(&malnourished), RiskLevel::Alto);
        let violence = RiskInputs {
            violence_risk: true,
            ..base
        };
        assert_eq!(risk_level(&violence), RiskLevel::Alto);
        let u2 = RiskInputs {
            under2: 1,
            under5: 1,
            ..base
        };
        assert_eq!(risk_level(&u2), RiskLevel::Medio);
    }
}
