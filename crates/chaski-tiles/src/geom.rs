//! Geometry preparation in tile space: multi-resolution simplification
//! (Douglas–Peucker importance), clipping against the buffered tile box,
//! snapping to the integer grid, removal of repeated points and degenerate
//! parts, and ring orientation.
//!
//! Tile space has `x` to the right and `y` down, with the tile's area from 0 to
//! [`EXTENT`](crate::mvt::EXTENT). Ring orientation follows MVT 2.1 (4.3.4.4):
//! with `area = Σ (x_i·y_{i+1} − x_{i+1}·y_i) / 2`, exterior rings have a positive
//! area and holes a negative one.

/// An axis-aligned box in tile space: `[min_x, min_y, max_x, max_y]`.
pub type TileBox = [f64; 4];

/// The tile box grown by `buffer` units on every side.
pub fn buffered_box(extent: u32, buffer: u32) -> TileBox {
    let b = f64::from(buffer);
    let e = f64::from(extent);
    [-b, -b, e + b, e + b]
}

/// Douglas–Peucker importance of every vertex of `pts`: the squared tolerance
/// (in the units of `pts`, squared) below which the vertex is kept. Keeping the
/// vertices whose importance is at least `t²` gives exactly the Douglas–Peucker
/// simplification of `pts` at tolerance `t` (importances are clamped by their
/// parent's, so the selection is monotonic). The end points are always kept
/// (`f64::INFINITY`). Closed rings (first point = last point) work as they are:
/// the first split is at the vertex farthest from the start.
pub fn importance(pts: &[[f64; 2]]) -> Vec<f64> {
    let n = pts.len();
    let mut imp = vec![0.0; n];
    if n == 0 {
        return imp;
    }
    imp[0] = f64::INFINITY;
    imp[n - 1] = f64::INFINITY;
    let mut stack = vec![(0usize, n - 1, f64::INFINITY)];
    while let Some((first, last, parent)) = stack.pop() {
        if last <= first + 1 {
            continue;
        }
        let (a, b) = (pts[first], pts[last]);
        let mut max_d = -1.0;
        let mut index = first + 1;
        for (i, p) in pts.iter().enumerate().take(last).skip(first + 1) {
            let d = seg_dist_sq(*p, a, b);
            if d > max_d {
                max_d = d;
                index = i;
            }
        }
        let v = max_d.min(parent).max(0.0);
        imp[index] = v;
        stack.push((first, index, v));
        stack.push((index, last, v));
    }
    imp
}

/// Squared distance from `p` to the segment `a`–`b` (to `a` when `a = b`).
fn seg_dist_sq(pt: [f64; 2], start: [f64; 2], end: [f64; 2]) -> f64 {
    let mut foot = start;
    let (dx, dy) = (end[0] - start[0], end[1] - start[1]);
    if dx != 0.0 || dy != 0.0 {
        let along = ((pt[0] - start[0]) * dx + (pt[1] - start[1]) * dy) / (dx * dx + dy * dy);
        if along > 1.0 {
            foot = end;
        } else if along > 0.0 {
            foot = [start[0] + dx * along, start[1] + dy * along];
        }
    }
    let (ex, ey) = (pt[0] - foot[0], pt[1] - foot[1]);
    ex * ex + ey * ey
}

/// Bounding box of `pts` (`None` when empty).
pub fn bbox(pts: &[[f64; 2]]) -> Option<TileBox> {
    let first = pts.first()?;
    let mut b = [first[0], first[1], first[0], first[1]];
    for p in pts {
        b[0] = b[0].min(p[0]);
        b[1] = b[1].min(p[1]);
        b[2] = b[2].max(p[0]);
        b[3] = b[3].max(p[1]);
    }
    Some(b)
}

fn disjoint(a: &TileBox, b: &TileBox) -> bool {
    a[2] < b[0] || a[0] > b[2] || a[3] < b[1] || a[1] > b[3]
}

fn contains(outer: &TileBox, inner: &TileBox) -> bool {
    inner[0] >= outer[0] && inner[2] <= outer[2] && inner[1] >= outer[1] && inner[3] <= outer[3]
}

/// Clip a line string to `bx` (Liang–Barsky on every segment), splitting it into
/// parts where it leaves and re-enters the box.
pub fn clip_line(pts: &[[f64; 2]], bx: &TileBox) -> Vec<Vec<[f64; 2]>> {
    let Some(bb) = bbox(pts) else {
        return Vec::new();
    };
    if disjoint(&bb, bx) {
        return Vec::new();
    }
    if contains(bx, &bb) {
        return vec![pts.to_vec()];
    }
    let mut parts = Vec::new();
    let mut current: Vec<[f64; 2]> = Vec::new();
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if let Some((p, q, t0, t1)) = liang_barsky(a, b, bx) {
            if current.is_empty() || t0 > 0.0 {
                if current.len() > 1 {
                    parts.push(std::mem::take(&mut current));
                }
                current.clear();
                current.push(p);
            }
            current.push(q);
            if t1 < 1.0 {
                parts.push(std::mem::take(&mut current));
            }
        } else {
            if current.len() > 1 {
                parts.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    if current.len() > 1 {
        parts.push(current);
    }
    parts
}

/// Liang–Barsky: the part of segment `a`–`b` inside `bx`, with its parameters.
fn liang_barsky(a: [f64; 2], b: [f64; 2], bx: &TileBox) -> Option<([f64; 2], [f64; 2], f64, f64)> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (p, q) in [
        (-dx, a[0] - bx[0]),
        (dx, bx[2] - a[0]),
        (-dy, a[1] - bx[1]),
        (dy, bx[3] - a[1]),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                if r > t1 {
                    return None;
                }
                t0 = t0.max(r);
            } else {
                if r < t0 {
                    return None;
                }
                t1 = t1.min(r);
            }
        }
    }
    let at = |t: f64| {
        if t <= 0.0 {
            a
        } else if t >= 1.0 {
            b
        } else {
            [a[0] + dx * t, a[1] + dy * t]
        }
    };
    Some((at(t0), at(t1), t0, t1))
}

/// Clip a ring to `bx` (Sutherland–Hodgman). The ring may be open or closed;
/// the result is open (first point not repeated), possibly empty.
pub fn clip_ring(ring: &[[f64; 2]], bx: &TileBox) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = ring.to_vec();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    let Some(bb) = bbox(&pts) else {
        return Vec::new();
    };
    if disjoint(&bb, bx) {
        return Vec::new();
    }
    if contains(bx, &bb) {
        return pts;
    }
    // (axis, bound, keep when coordinate >= bound?)
    for (axis, bound, keep_ge) in [
        (0usize, bx[0], true),
        (0, bx[2], false),
        (1, bx[1], true),
        (1, bx[3], false),
    ] {
        if pts.is_empty() {
            break;
        }
        let is_in = |p: &[f64; 2]| {
            if keep_ge {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let mut out = Vec::with_capacity(pts.len() + 4);
        let mut prev = pts[pts.len() - 1];
        let mut prev_in = is_in(&prev);
        for &cur in &pts {
            let cur_in = is_in(&cur);
            if cur_in != prev_in {
                let t = (bound - prev[axis]) / (cur[axis] - prev[axis]);
                let mut p = [
                    prev[0] + (cur[0] - prev[0]) * t,
                    prev[1] + (cur[1] - prev[1]) * t,
                ];
                p[axis] = bound;
                out.push(p);
            }
            if cur_in {
                out.push(cur);
            }
            prev = cur;
            prev_in = cur_in;
        }
        pts = out;
    }
    pts
}

/// Round to the integer grid (saturating at the `i32` range) and drop repeated
/// consecutive points.
pub fn snap(pts: &[[f64; 2]]) -> Vec<[i32; 2]> {
    let mut out: Vec<[i32; 2]> = Vec::with_capacity(pts.len());
    for p in pts {
        let q = [round_i32(p[0]), round_i32(p[1])];
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    out
}

fn round_i32(v: f64) -> i32 {
    // `as` saturates and maps NaN to 0.
    v.round() as i32
}

/// Twice the signed area of an open or closed ring (`Σ x_i·y_{i+1} − x_{i+1}·y_i`),
/// positive for exterior rings in tile space (y down).
pub fn ring_area2(ring: &[[i32; 2]]) -> i64 {
    let n = ring.len();
    if n < 3 {
        return 0;
    }
    let mut s = 0i64;
    for i in 0..n {
        let a = ring[i];
        let b = ring[(i + 1) % n];
        s += i64::from(a[0]) * i64::from(b[1]) - i64::from(b[0]) * i64::from(a[1]);
    }
    s
}

/// Snap a clipped ring, drop repeated points (including a closing duplicate), drop
/// it when it has fewer than 3 distinct points, a zero area or twice its area
/// below `min_area2`, and orient it: positive area for an exterior ring,
/// negative for a hole.
pub fn finish_ring(ring: &[[f64; 2]], exterior: bool, min_area2: i64) -> Option<Vec<[i32; 2]>> {
    let mut pts = snap(ring);
    while pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    if pts.len() < 3 {
        return None;
    }
    let a2 = ring_area2(&pts);
    if a2 == 0 || a2.abs() < min_area2 {
        return None;
    }
    if (a2 > 0) != exterior {
        pts.reverse();
    }
    Some(pts)
}

/// Snap a clipped line part and drop it when it has fewer than 2 distinct points
/// or is shorter than `min_length` tile units.
pub fn finish_line(part: &[[f64; 2]], min_length: f64) -> Option<Vec<[i32; 2]>> {
    let pts = snap(part);
    if pts.len() < 2 {
        return None;
    }
    if min_length > 0.0 {
        let len: f64 = pts
            .windows(2)
            .map(|w| {
                let dx = f64::from(w[1][0]) - f64::from(w[0][0]);
                let dy = f64::from(w[1][1]) - f64::from(w[0][1]);
                dx.hypot(dy)
            })
            .sum();
        if len < min_length {
            return None;
        }
    }
    Some(pts)
}

/// Prepare line strings given in tile space: clip to `bx`, snap, drop degenerate parts.
pub fn prepare_lines(lines: &[Vec<[f64; 2]>], bx: &TileBox) -> Vec<Vec<[i32; 2]>> {
    lines
        .iter()
        .flat_map(|l| clip_line(l, bx))
        .filter_map(|p| finish_line(&p, 0.0))
        .collect()
}

/// Prepare one polygon given in tile space (exterior ring first, then holes):
/// clip every ring to `bx`, snap, drop degenerate rings and orient. `None` when
/// the exterior ring vanishes.
pub fn prepare_polygon(rings: &[Vec<[f64; 2]>], bx: &TileBox) -> Option<Vec<Vec<[i32; 2]>>> {
    let (ext, holes) = rings.split_first()?;
    let ext = finish_ring(&clip_ring(ext, bx), true, 0)?;
    let holes = holes
        .iter()
        .filter_map(|h| finish_ring(&clip_ring(h, bx), false, 0))
        .collect();
    assemble_polygon(ext, holes)
}

/// A polygon from its prepared exterior ring and holes; `None` when a hole
/// covers the whole clipped exterior (the box lies inside a hole: as holes lie
/// inside their exterior, a clipped hole can only match the clipped exterior's
/// area by covering all of it).
pub fn assemble_polygon(
    ext: Vec<[i32; 2]>,
    holes: Vec<Vec<[i32; 2]>>,
) -> Option<Vec<Vec<[i32; 2]>>> {
    let a = ring_area2(&ext);
    if holes.iter().any(|h| -ring_area2(h) >= a) {
        return None;
    }
    let mut out = Vec::with_capacity(1 + holes.len());
    out.push(ext);
    out.extend(holes);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dp_importance_selects_like_douglas_peucker() {
        // A zig-zag: the middle vertex is 5 units off the chord, the others 1.
        let pts = [[0.0, 0.0], [2.0, 1.0], [5.0, 5.0], [8.0, 1.0], [10.0, 0.0]];
        let imp = importance(&pts);
        assert!(imp[0].is_infinite() && imp[4].is_infinite());
        assert!((imp[2] - 25.0).abs() < 1e-12);
        let keep = |t: f64| (0..5).filter(|i| imp[*i] >= t * t).count();
        assert_eq!(keep(6.0), 2);
        assert_eq!(keep(4.0), 3);
        assert_eq!(keep(0.5), 5);
    }

    #[test]
    fn line_clip_splits() {
        let bx = [0.0, 0.0, 10.0, 10.0];
        // In, out through the right edge, back in.
        let parts = clip_line(&[[5.0, 2.0], [15.0, 2.0], [15.0, 8.0], [5.0, 8.0]], &bx);
        assert_eq!(
            parts,
            vec![vec![[5.0, 2.0], [10.0, 2.0]], vec![[10.0, 8.0], [5.0, 8.0]]]
        );
        // Crossing the box entirely.
        let parts = clip_line(&[[-5.0, 5.0], [15.0, 5.0]], &bx);
        assert_eq!(parts, vec![vec![[0.0, 5.0], [10.0, 5.0]]]);
    }

    #[test]
    fn ring_clip_and_orientation() {
        let bx = [0.0, 0.0, 10.0, 10.0];
        // Counter-clockwise in y-down space (negative area) square overlapping the corner.
        let ring = [
            [5.0, 5.0],
            [5.0, 15.0],
            [15.0, 15.0],
            [15.0, 5.0],
            [5.0, 5.0],
        ];
        let r = finish_ring(&clip_ring(&ring, &bx), true, 0).unwrap();
        assert_eq!(ring_area2(&r), 50);
        let h = finish_ring(&clip_ring(&ring, &bx), false, 0).unwrap();
        assert_eq!(ring_area2(&h), -50);
        // A sliver collapsing on the grid disappears.
        assert!(finish_ring(&[[1.0, 1.0], [5.0, 1.2], [9.0, 1.1]], true, 0).is_none());
    }
}
