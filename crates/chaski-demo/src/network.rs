//! The demo region's networks: rivers along the drainage lines, the footpath
//! network (a minimum spanning tree of the villages plus shortcuts to the
//! nearest facility, each river crossing its own bridge or ford piece) and the
//! road up the valley.

// Geometry code: u, v, x, y, a, b... are the conventional names.
#![allow(clippy::many_single_char_names)]

use crate::build::{Facility, Village, line};
use crate::terrain::{Terrain, WIDTH};
use chaski_core::layer::{Feature, Layer, LayerKind};
use geo::{Geometry, MultiLineString};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

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
pub(crate) fn seg_intersection(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_intersection() {
        let (t, p) = seg_intersection((0.0, 0.0), (4.0, 0.0), (1.0, -1.0), (1.0, 1.0)).unwrap();
        assert!((t - 0.25).abs() < 1e-12);
        assert!((p.0 - 1.0).abs() < 1e-12 && p.1.abs() < 1e-12);
        assert!(seg_intersection((0.0, 0.0), (4.0, 0.0), (5.0, -1.0), (5.0, 1.0)).is_none());
        assert!(seg_intersection((0.0, 0.0), (4.0, 0.0), (0.0, 1.0), (4.0, 1.0)).is_none());
    }
}
