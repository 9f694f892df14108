//! Isochrone, time-band and catchment polygons from a travel-time grid.
//!
//! Cell-boundary polygonisation by boundary following (contour tracing on
//! cell edges; Rosenfeld & Kak, *Digital Picture Processing*, 2nd ed., 1982,
//! ch. 11, with 4-connected regions as GDAL's `GDALPolygonize`): the selected
//! cells (time within a band, or allocated to one source) are cut into runs
//! per row, runs sharing a column in consecutive rows are joined into
//! 4-connected components (union-find), and each component's rings are walked
//! along the cell edges with the component on one side. The time is linear in
//! the cells plus the rings' length; no polygon overlay is run.
//!
//! The polygons follow cell edges exactly, so their area is the selected
//! cells' area. They are OGC-valid MultiPolygons: one polygon per 4-connected
//! component, shells counter-clockwise and holes clockwise in the CRS (on
//! north-up grids), holes where unreached or slower cells are enclosed; holes
//! may touch their shell, and parts may touch one another, at a corner. The
//! tests hold them equal, as point sets, to a general polygon union of the
//! cells (`geo::unary_union`).
//!
//! Parameters: [`TravelTimes`] and thresholds in seconds. Returns one
//! MultiPolygon per band, in the grid CRS.
//!
//! ```
//! use chaski_analysis::travel::cost::{CostSurface, SearchOptions, travel_time};
//! use chaski_analysis::travel::isochrone::isochrones;
//! use chaski_core::raster::Raster;
//! use geo::Area;
//! // 1 m/s on 10 m cells: within 10 s of the centre of a 5 x 5 grid lie the
//! // centre and its four axis neighbours.
//! let speed = Raster::filled(5, 5, [0.0, 10.0, 0.0, 50.0, 0.0, -10.0], None, 3.6f32);
//! let tt = travel_time(&CostSurface::from_speed_kmh(&speed).unwrap(), &[(2, 2)], &SearchOptions::default());
//! let bands = isochrones(&tt, &[10.0]);
//! assert_eq!(bands[0].polygons.0.len(), 1);
//! assert!((bands[0].polygons.unsigned_area() - 500.0).abs() < 1e-6);
//! ```

use super::cost::{NO_SOURCE, TravelTimes};
use super::grid::Grid;
use geo::{LineString, MultiPolygon, Polygon};

/// Polygons of one time band.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Lower bound in seconds (exclusive, except 0 which includes sources).
    pub min_seconds: f64,
    /// Upper bound in seconds (inclusive).
    pub max_seconds: f64,
    /// Cells with a time in the band, dissolved.
    pub polygons: MultiPolygon<f64>,
}

/// Dissolve the cells where `select(index)` holds into polygons in the grid CRS.
pub fn polygonize(grid: &Grid, select: impl Fn(usize) -> bool) -> MultiPolygon<f64> {
    let mut parts = trace(grid, 1, |i| select(i).then_some(0));
    parts.pop().unwrap_or_else(|| MultiPolygon::new(Vec::new()))
}

/// Runs of cells of one class in one row, `[c0, c1)`, and the 4-connected
/// component each belongs to.
struct Components {
    /// Index of the first run of each row; `height + 1` entries.
    row_start: Vec<usize>,
    /// Per run: first column, end column, class.
    runs: Vec<(u32, u32, u32)>,
    /// Per run: its component (the index of one run of the component).
    comp: Vec<u32>,
}

impl Components {
    /// Cut every row into runs of one class and join runs of one class that
    /// share a column in consecutive rows (union-find over runs).
    fn new(grid: &Grid, class: &impl Fn(usize) -> Option<u32>) -> Self {
        let (w, h) = (grid.width, grid.height);
        let mut row_start = Vec::with_capacity(h + 1);
        let mut runs: Vec<(u32, u32, u32)> = Vec::new();
        for row in 0..h {
            row_start.push(runs.len());
            let mut col = 0;
            while col < w {
                let Some(k) = class(row * w + col) else {
                    col += 1;
                    continue;
                };
                let start = col;
                col += 1;
                while col < w && class(row * w + col) == Some(k) {
                    col += 1;
                }
                // Grids fit u32 cell indexes (`Grid::MAX_CELLS`).
                runs.push((start as u32, col as u32, k));
            }
        }
        row_start.push(runs.len());
        let mut parent: Vec<u32> = (0..runs.len() as u32).collect();
        for row in 1..h {
            let (mut a, a_end) = (row_start[row - 1], row_start[row]);
            let (mut b, b_end) = (row_start[row], row_start[row + 1]);
            while a < a_end && b < b_end {
                let (a0, a1, ka) = runs[a];
                let (b0, b1, kb) = runs[b];
                if a0 < b1 && b0 < a1 && ka == kb {
                    let (ra, rb) = (find(&mut parent, a as u32), find(&mut parent, b as u32));
                    if ra != rb {
                        // The earlier run stays the root: components are
                        // numbered in scan order.
                        parent[ra.max(rb) as usize] = ra.min(rb);
                    }
                }
                if a1 <= b1 {
                    a += 1;
                } else {
                    b += 1;
                }
            }
        }
        let comp = (0..runs.len() as u32)
            .map(|i| find(&mut parent, i))
            .collect();
        Self {
            row_start,
            runs,
            comp,
        }
    }

    /// Runs of `row`.
    fn row(&self, row: usize) -> std::ops::Range<usize> {
        self.row_start[row]..self.row_start[row + 1]
    }

    /// Whether cell (`col`, `row`), which may lie off the grid, is in component `k`.
    fn member(&self, col: i64, row: i64, k: u32) -> bool {
        let (Ok(c), Ok(r)) = (u32::try_from(col), usize::try_from(row)) else {
            return false;
        };
        if r + 1 >= self.row_start.len() {
            return false;
        }
        let range = self.row(r);
        let runs = &self.runs[range.clone()];
        let i = runs.partition_point(|&(_, c1, _)| c1 <= c);
        i < runs.len() && runs[i].0 <= c && self.comp[range.start + i] == k
    }
}

/// The root of run `i` in a union-find forest (with path halving).
fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let up = parent[parent[i as usize] as usize];
        parent[i as usize] = up;
        i = up;
    }
    i
}

/// Directions of travel along cell edges: east, south, west, north, as
/// (column, row) steps (rows grow downwards).
const STEPS: [(i64, i64); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

/// Boundary polygons of the cells of each class `0..classes` (`class(index)`;
/// None: no class), in the grid CRS.
///
/// Each 4-connected component of one class becomes one polygon. Its rings are
/// traced along cell edges with the component on the right (rows growing
/// downwards), so the outer ring and the holes come out with opposite turns
/// and every hole is known to belong to the component it was traced from; no
/// polygon overlay is needed. Where two cells of the component touch at a
/// corner only, the ring passes between them through the corner, and where
/// cells of different components do, it turns around its own: rings stay
/// simple, holes may touch their shell at a corner, and parts of one class
/// may touch at a corner (OGC-valid, as GDAL's polygonize with 4-connectivity).
/// Vertices are kept only where a ring turns.
fn trace(
    grid: &Grid,
    classes: usize,
    class: impl Fn(usize) -> Option<u32>,
) -> Vec<MultiPolygon<f64>> {
    let mut out: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); classes];
    if grid.width == 0 || grid.height == 0 {
        return out.into_iter().map(MultiPolygon::new).collect();
    }
    let runs = Components::new(grid, &class);
    // East edges already traced (the top edge of the cell below), one bit per cell.
    let mut seen = vec![0u64; (grid.width * grid.height).div_ceil(64)];
    // Polygon of each component: (class, index in `out[class]`), by root run.
    let mut polygon_of: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    // North-up grids mirror rows: rings are reversed so that shells run
    // counter-clockwise in the CRS and holes clockwise.
    let mirror = grid.transform[1] * grid.transform[5] < 0.0;
    let max_steps = 4 * grid.width * grid.height + 4;
    for row in 0..grid.height {
        for ri in runs.row(row) {
            let (c0, c1, k) = runs.runs[ri];
            let comp = runs.comp[ri];
            if k as usize >= classes {
                continue;
            }
            // The run's top edge where the row above is not the same component.
            let mut top: Vec<(u32, u32)> = Vec::new();
            let mut x = c0;
            if row > 0 {
                let above = runs.row(row - 1);
                let first =
                    above.start + runs.runs[above.clone()].partition_point(|&(_, e, _)| e <= c0);
                for ai in first..above.end {
                    let (a0, a1, _) = runs.runs[ai];
                    if a0 >= c1 {
                        break;
                    }
                    if runs.comp[ai] == comp {
                        if a0 > x {
                            top.push((x, a0));
                        }
                        x = x.max(a1);
                    }
                }
            }
            if x < c1 {
                top.push((x, c1));
            }
            for (s0, s1) in top {
                for col in s0..s1 {
                    let bit = row * grid.width + col as usize;
                    if seen[bit / 64] >> (bit % 64) & 1 == 1 {
                        continue;
                    }
                    let ring =
                        trace_ring(&runs, &mut seen, grid.width, (col, row), comp, max_steps);
                    let area2: i64 = ring
                        .iter()
                        .zip(ring.iter().cycle().skip(1))
                        .map(|(&(x0, y0), &(x1, y1))| x0 * y1 - x1 * y0)
                        .sum();
                    let mut coords: Vec<(f64, f64)> = ring
                        .iter()
                        .map(|&(c, r)| grid.to_crs(c as f64, r as f64))
                        .collect();
                    if mirror {
                        coords.reverse();
                    }
                    if let Some(&first) = coords.first() {
                        coords.push(first);
                    }
                    let line = LineString::from(coords);
                    let polygons = &mut out[k as usize];
                    match polygon_of.get(&comp) {
                        // The first ring met of a component is its outer
                        // ring (its topmost row has nothing of it above).
                        Some(&p) if area2 < 0 => polygons[p].interiors_push(line),
                        _ => {
                            debug_assert!(area2 > 0, "an outer ring turns the wrong way");
                            polygon_of.insert(comp, polygons.len());
                            polygons.push(Polygon::new(line, Vec::new()));
                        }
                    }
                }
            }
        }
    }
    out.into_iter().map(MultiPolygon::new).collect()
}

/// One ring of component `comp`, from the top edge of cell `start`: its
/// corners as (column, row) vertices, not closed; marks the east edges it
/// runs along in `seen`.
fn trace_ring(
    runs: &Components,
    seen: &mut [u64],
    width: usize,
    start: (u32, usize),
    comp: u32,
    max_steps: usize,
) -> Vec<(i64, i64)> {
    let start = (i64::from(start.0), start.1 as i64, 0usize);
    let (mut x, mut y, mut d) = start;
    let mut ring: Vec<(i64, i64)> = Vec::new();
    let mut last: Option<usize> = None;
    for _ in 0..max_steps {
        if d == 0 {
            // Inside the grid: the cell on the right is in the component.
            let bit = y as usize * width + x as usize;
            seen[bit / 64] |= 1 << (bit % 64);
        }
        if last != Some(d) {
            ring.push(match d {
                0 => (x, y),
                1 => (x + 1, y),
                2 => (x + 1, y + 1),
                _ => (x, y + 1),
            });
        }
        last = Some(d);
        let (dx, dy) = STEPS[d];
        let (ax, ay) = (x + dx, y + dy);
        // Ahead on the left: ahead plus the left of the direction, (dy, -dx).
        let (lx, ly) = (ax + dy, ay - dx);
        if runs.member(lx, ly, comp) {
            (x, y, d) = (lx, ly, (d + 3) % 4);
        } else if runs.member(ax, ay, comp) {
            (x, y) = (ax, ay);
        } else {
            d = (d + 1) % 4;
        }
        if (x, y, d) == start {
            break;
        }
    }
    // The start is a corner unless the ring came back to it going east.
    if last == Some(0) && ring.len() > 1 {
        ring.remove(0);
    }
    ring
}

/// Cumulative isochrones: for each threshold, the area reached within it.
pub fn isochrones(tt: &TravelTimes, thresholds: &[f64]) -> Vec<Band> {
    thresholds
        .iter()
        .map(|&max| Band {
            min_seconds: 0.0,
            max_seconds: max,
            polygons: polygonize(&tt.grid, |i| {
                tt.seconds.get(i).is_some_and(|&t| f64::from(t) <= max)
            }),
        })
        .collect()
}

/// Disjoint time bands between consecutive thresholds (sorted ascending):
/// `[0, t1]`, `(t1, t2]`, ...
pub fn time_bands(tt: &TravelTimes, thresholds: &[f64]) -> Vec<Band> {
    let mut sorted: Vec<f64> = thresholds.iter().copied().filter(|t| !t.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut lower = f64::NEG_INFINITY;
    sorted
        .into_iter()
        .map(|max| {
            let min = lower;
            lower = max;
            Band {
                min_seconds: min.max(0.0),
                max_seconds: max,
                polygons: polygonize(&tt.grid, |i| {
                    tt.seconds.get(i).is_some_and(|&t| {
                        let t = f64::from(t);
                        t > min && t <= max
                    })
                }),
            }
        })
        .collect()
}

/// Catchment of each source (cells allocated to it), optionally only within
/// `max_seconds`; index `i` is source `i` (empty when it reached no cell).
/// One pass over the grid cuts every row into runs of one source, then each
/// source's runs are dissolved: the same polygons as [`polygonize`] per source,
/// for one scan of the grid instead of one per source.
pub fn catchments(
    tt: &TravelTimes,
    sources: usize,
    max_seconds: Option<f64>,
) -> Vec<MultiPolygon<f64>> {
    let max = max_seconds.unwrap_or(f64::INFINITY);
    let grid = &tt.grid;
    let source_of = |i: usize| -> Option<usize> {
        let a = *tt.allocation.get(i)?;
        let t = *tt.seconds.get(i)?;
        (a != NO_SOURCE && (a as usize) < sources && f64::from(t) <= max).then_some(a as usize)
    };
    trace(grid, sources, |i| {
        source_of(i).and_then(|s| u32::try_from(s).ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::cost::{CostSurface, SearchOptions, travel_time};
    use approx::assert_relative_eq;
    use chaski_core::raster::Raster;
    use geo::{Area, BooleanOps, Contains, Point, Validation, unary_union};
    use proptest::prelude::*;

    fn grid(w: usize, h: usize) -> Grid {
        Grid {
            width: w,
            height: h,
            transform: [500_000.0, 30.0, 0.0, 8_600_000.0, 0.0, -30.0],
            epsg: Some(32718),
        }
    }

    /// The reference: every run of selected cells as a rectangle, dissolved
    /// by a general polygon union (i_overlay through geo).
    fn union_of_runs(grid: &Grid, select: impl Fn(usize) -> bool) -> MultiPolygon<f64> {
        let mut rects: Vec<Polygon<f64>> = Vec::new();
        for row in 0..grid.height {
            let mut col = 0;
            while col < grid.width {
                if !select(row * grid.width + col) {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < grid.width && select(row * grid.width + col) {
                    col += 1;
                }
                let (x0, y0) = grid.to_crs(start as f64, row as f64);
                let (x1, y1) = grid.to_crs(col as f64, row as f64 + 1.0);
                rects.push(Polygon::new(
                    LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
                    Vec::new(),
                ));
            }
        }
        if rects.is_empty() {
            return MultiPolygon::new(Vec::new());
        }
        unary_union(&rects)
    }

    fn mask(g: &Grid, cells: &[(usize, usize)]) -> MultiPolygon<f64> {
        polygonize(g, |i| cells.contains(&(i % g.width, i / g.width)))
    }

    #[test]
    fn shapes() {
        let g = grid(6, 6);
        assert!(mask(&g, &[]).0.is_empty());
        // One cell.
        let one = mask(&g, &[(1, 1)]);
        assert_eq!(one.0.len(), 1);
        assert_relative_eq!(one.unsigned_area(), 900.0);
        // An L: one polygon of three cells.
        let l = mask(&g, &[(1, 1), (1, 2), (2, 2)]);
        assert_eq!(l.0.len(), 1);
        assert_relative_eq!(l.unsigned_area(), 2700.0);
        assert!(l.is_valid());
        // A ring of 8 cells: one polygon with one hole.
        let ring: Vec<(usize, usize)> = (1..4)
            .flat_map(|c| (1..4).map(move |r| (c, r)))
            .filter(|&cell| cell != (2, 2))
            .collect();
        let donut = mask(&g, &ring);
        assert_eq!(donut.0.len(), 1);
        assert_eq!(donut.0[0].interiors().len(), 1);
        assert_relative_eq!(donut.unsigned_area(), 8.0 * 900.0);
        assert!(donut.is_valid());
        let (cx, cy) = g.cell_center(2, 2);
        assert!(!donut.contains(&Point::new(cx, cy)));
        // Cells touching at a corner only: valid, area of two cells.
        let pinch = mask(&g, &[(1, 1), (2, 2)]);
        assert!(pinch.is_valid());
        assert_relative_eq!(pinch.unsigned_area(), 1800.0);
    }

    #[test]
    fn isochrone_areas_match_cell_counts() {
        let speed = Raster::filled(41, 41, grid(41, 41).transform, Some(32718), 4.0f32);
        let tt = travel_time(
            &CostSurface::from_speed_kmh(&speed).unwrap(),
            &[(10, 20), (30, 20)],
            &SearchOptions::default(),
        );
        let thresholds = [200.0, 600.0, 900.0];
        let iso = isochrones(&tt, &thresholds);
        let bands = time_bands(&tt, &[900.0, 200.0, 600.0]);
        for (k, t) in thresholds.iter().enumerate() {
            let n = tt.seconds.iter().filter(|&&s| f64::from(s) <= *t).count();
            assert_relative_eq!(
                iso[k].polygons.unsigned_area(),
                n as f64 * 900.0,
                max_relative = 1e-9
            );
            assert!(iso[k].polygons.is_valid());
            assert_relative_eq!(bands[k].max_seconds, *t);
        }
        let total: f64 = bands.iter().map(|b| b.polygons.unsigned_area()).sum();
        assert_relative_eq!(total, iso[2].polygons.unsigned_area(), max_relative = 1e-9);
        // Two separate blobs within 200 s (222 m), merged by 900 s.
        assert_eq!(iso[0].polygons.0.len(), 2);
        assert_eq!(iso[2].polygons.0.len(), 1);
        // Catchments split the grid.
        let parts = catchments(&tt, 2, None);
        let sum: f64 = parts.iter().map(Area::unsigned_area).sum();
        assert_relative_eq!(sum, 41.0 * 41.0 * 900.0, max_relative = 1e-9);
        let (x, y) = speed.cell_center(5, 5);
        assert!(parts[0].contains(&Point::new(x, y)));
        assert!(!parts[1].contains(&Point::new(x, y)));
    }

    #[test]
    fn catchments_equal_one_polygonisation_per_source() {
        // Five sources on a speed raster with holes, limited to 10 minutes.
        let (w, h) = (57usize, 43usize);
        let mut speed = Raster::filled(w, h, grid(w, h).transform, Some(32718), 4.0f32);
        for (i, v) in speed.data.iter_mut().enumerate() {
            if (i * 7919) % 11 == 0 {
                *v = f32::NAN;
            } else {
                *v = 2.0 + (i % 5) as f32;
            }
        }
        let sources = [(3, 3), (50, 5), (28, 21), (6, 40), (45, 38)];
        let tt = travel_time(
            &CostSurface::from_speed_kmh(&speed).unwrap(),
            &sources,
            &SearchOptions::default(),
        );
        for max in [None, Some(600.0)] {
            let limit = max.unwrap_or(f64::INFINITY);
            let parts = catchments(&tt, sources.len(), max);
            assert_eq!(parts.len(), sources.len());
            let mut reached = 0;
            for (s, part) in parts.iter().enumerate() {
                let naive = polygonize(&tt.grid, |i| {
                    tt.allocation[i] as usize == s && f64::from(tt.seconds[i]) <= limit
                });
                assert_eq!(part, &naive, "source {s}, max {max:?}");
                assert!(part.is_valid());
                let n = (0..w * h)
                    .filter(|&i| {
                        tt.allocation[i] as usize == s && f64::from(tt.seconds[i]) <= limit
                    })
                    .count();
                reached += usize::from(n > 0);
                assert_relative_eq!(part.unsigned_area(), n as f64 * 900.0, max_relative = 1e-9);
            }
            // Sources on nodata cells are skipped; the others have a catchment.
            assert_eq!(reached, sources.len() - tt.skipped_sources.len());
        }
        // A source index past `sources` is left out, not a panic.
        assert_eq!(catchments(&tt, 2, None).len(), 2);
    }

    /// Signed area of a ring: positive counter-clockwise.
    fn ring_area(ring: &LineString<f64>) -> f64 {
        Polygon::new(ring.clone(), Vec::new()).signed_area()
    }

    /// The area where `a` and `b` differ.
    fn difference_area(a: &MultiPolygon<f64>, b: &MultiPolygon<f64>) -> f64 {
        a.difference(b).unsigned_area() + b.difference(a).unsigned_area()
    }

    #[test]
    fn rings_keep_only_corners_and_turn_the_right_way() {
        let g = grid(6, 6);
        // A 3 x 2 block: one ring of 4 corners, counter-clockwise in the CRS.
        let block = mask(&g, &[(1, 1), (2, 1), (3, 1), (1, 2), (2, 2), (3, 2)]);
        let ring = block.0[0].exterior();
        assert_eq!(ring.0.len(), 5);
        assert!(block.0[0].signed_area() > 0.0);
        let (x0, y0) = g.to_crs(1.0, 1.0);
        assert!(ring.0.contains(&geo::coord! { x: x0, y: y0 }));
        // The donut's hole runs clockwise.
        let donut: Vec<(usize, usize)> = (1..4)
            .flat_map(|c| (1..4).map(move |r| (c, r)))
            .filter(|&cell| cell != (2, 2))
            .collect();
        let d = mask(&g, &donut);
        assert!(ring_area(&d.0[0].interiors()[0]) < 0.0);
        assert_eq!(d.0[0].interiors()[0].0.len(), 5);
    }

    #[test]
    fn corners_split_components_and_pinch_holes() {
        let g = grid(7, 7);
        // Two cells touching at a corner only: two polygons.
        assert_eq!(mask(&g, &[(1, 1), (2, 2)]).0.len(), 2);
        // A ring of cells closed through a corner: one polygon whose hole
        // touches the shell at that corner.
        let pinched = [
            (1, 1),
            (2, 1),
            (3, 1),
            (3, 2),
            (3, 3),
            (2, 3),
            (1, 2),
            (0, 3),
        ];
        // (1, 2) and (0, 3) are not 4-connected to (2, 3): (0, 3) is its own part.
        let parts = mask(&g, &pinched);
        assert!(parts.is_valid());
        assert_relative_eq!(parts.unsigned_area(), 8.0 * 900.0);
        let closed = [(1, 1), (2, 1), (3, 1), (3, 2), (3, 3), (2, 3), (1, 2)];
        let ring = mask(&g, &closed);
        assert_eq!(ring.0.len(), 1);
        assert_eq!(ring.0[0].interiors().len(), 1, "{ring:?}");
        assert!(ring.is_valid());
        let (x, y) = g.cell_center(2, 2);
        assert!(!ring.contains(&Point::new(x, y)));
    }

    fn masks() -> impl Strategy<Value = (usize, usize, Vec<bool>)> {
        (1usize..14, 1usize..14).prop_flat_map(|(w, h)| {
            (
                Just(w),
                Just(h),
                prop::collection::vec(prop::bool::weighted(0.55), w * h),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// On random masks the traced polygons are valid, cover exactly the
        /// selected cells and equal the general union of the cells.
        #[test]
        fn tracing_equals_the_union_of_the_cells((w, h, cells) in masks()) {
            let g = grid(w, h);
            let traced = polygonize(&g, |i| cells[i]);
            let reference = union_of_runs(&g, |i| cells[i]);
            let n = cells.iter().filter(|&&c| c).count();
            prop_assert!(traced.is_valid(), "{traced:?}");
            prop_assert!((traced.unsigned_area() - n as f64 * 900.0).abs() < 1e-6);
            prop_assert!(difference_area(&traced, &reference) < 1e-6);
            for p in &traced.0 {
                prop_assert!(ring_area(p.exterior()) > 0.0);
                for hole in p.interiors() {
                    prop_assert!(ring_area(hole) < 0.0);
                }
            }
        }

        /// Catchments: each class traced in one pass equals its own polygonisation.
        #[test]
        fn classes_traced_together_equal_each_alone((w, h, cells) in masks(), k in 2u32..4) {
            let g = grid(w, h);
            let class = |i: usize| (cells[i]).then_some((i as u32 * 7 + i as u32 / 3) % k);
            let all = trace(&g, k as usize, class);
            for (c, part) in all.iter().enumerate() {
                let alone = polygonize(&g, |i| class(i) == Some(c as u32));
                prop_assert_eq!(part, &alone);
            }
        }
    }
}
