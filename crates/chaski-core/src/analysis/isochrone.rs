//! Isochrone, time-band and catchment polygons from a travel-time grid.
//!
//! Cell-boundary polygonisation: the cells selected (time within a band, or
//! allocated to one source) are merged row by row into runs, each run becomes
//! a rectangle in the grid's CRS, and the rectangles are dissolved with an
//! OGC-valid polygon union (`geo::unary_union`, backed by the i_overlay crate).
//! The polygons follow cell edges exactly, so their area is the selected cells'
//! area; they are valid MultiPolygons (holes where unreached or slower cells
//! are enclosed; parts may touch at a corner).
//!
//! Parameters: [`TravelTimes`] and thresholds in seconds. Returns one
//! MultiPolygon per band, in the grid CRS.
//!
//! ```
//! use chaski_core::analysis::cost::{CostSurface, SearchOptions, travel_time};
//! use chaski_core::analysis::isochrone::isochrones;
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
use geo::{LineString, MultiPolygon, Polygon, unary_union};

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
            rects.push(rectangle(grid, start, col, row));
        }
    }
    dissolve(&rects)
}

/// Dissolve cell-run rectangles into valid polygons.
fn dissolve(rects: &[Polygon<f64>]) -> MultiPolygon<f64> {
    if rects.is_empty() {
        return MultiPolygon::new(Vec::new());
    }
    unary_union(rects)
}

/// Cells `[c0, c1)` of `row` as a counter-clockwise rectangle in CRS coordinates.
fn rectangle(grid: &Grid, c0: usize, c1: usize, row: usize) -> Polygon<f64> {
    let (x0, y0) = grid.to_crs(c0 as f64, row as f64);
    let (x1, y1) = grid.to_crs(c1 as f64, row as f64 + 1.0);
    let (xa, xb) = (x0.min(x1), x0.max(x1));
    let (ya, yb) = (y0.min(y1), y0.max(y1));
    Polygon::new(
        LineString::from(vec![(xa, ya), (xb, ya), (xb, yb), (xa, yb), (xa, ya)]),
        Vec::new(),
    )
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
    let mut rects: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); sources];
    for row in 0..grid.height {
        let mut col = 0;
        while col < grid.width {
            let Some(s) = source_of(row * grid.width + col) else {
                col += 1;
                continue;
            };
            let start = col;
            while col < grid.width && source_of(row * grid.width + col) == Some(s) {
                col += 1;
            }
            if let Some(r) = rects.get_mut(s) {
                r.push(rectangle(grid, start, col, row));
            }
        }
    }
    rects.iter().map(|r| dissolve(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::cost::{CostSurface, SearchOptions, travel_time};
    use crate::raster::Raster;
    use approx::assert_relative_eq;
    use geo::{Area, Contains, Point, Validation};

    fn grid(w: usize, h: usize) -> Grid {
        Grid {
            width: w,
            height: h,
            transform: [500_000.0, 30.0, 0.0, 8_600_000.0, 0.0, -30.0],
            epsg: Some(32718),
        }
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
}
