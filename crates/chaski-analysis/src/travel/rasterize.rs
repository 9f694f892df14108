//! Rasterisation of line layers (paths, roads, rivers) and points (bridges,
//! fords) onto an analysis grid, for [`super::friction::TerrainInputs`].
//!
//! Lines are burned with a supercover traversal: every cell the segment
//! passes through, found by stepping from cell boundary to cell boundary
//! (Amanatides and Woo 1987, "A fast voxel traversal algorithm for ray
//! tracing", Eurographics '87), plus both side cells where it passes exactly
//! through a cell corner. A burned line is therefore 4-connected: a river
//! burned this way cannot be crossed by any move without entering it.
//!
//! Where several lines meet in one cell the higher class code wins (roads over
//! paths, bridges and fords over rivers; see [`super::scenario`]).
//!
//! Parameters: a `u8` raster on the grid (coordinates in its CRS), the
//! geometry, the class code. Segments are clipped to the grid first.
//!
//! ```
//! use chaski_analysis::travel::rasterize::burn_line_string;
//! use chaski_core::raster::Raster;
//! use geo::line_string;
//! let mut r = Raster::filled(4, 4, [0.0, 1.0, 0.0, 4.0, 0.0, -1.0], None, 0u8);
//! // From the top-left to the bottom-right corner: the diagonal plus its corner neighbours.
//! burn_line_string(&mut r, &line_string![(x: 0.0, y: 4.0), (x: 4.0, y: 0.0)], 3).unwrap();
//! let burned = r.data.iter().filter(|&&v| v == 3).count();
//! assert_eq!(burned, 4 + 2 * 3);
//! assert_eq!(r.get(0, 0), Some(3));
//! assert_eq!(r.get(3, 0), Some(0));
//! ```

use super::grid::{Grid, GridError};
use chaski_core::raster::Raster;
use geo::{LineString, MultiLineString};

/// Crossing parameters closer than this pass through a corner.
const CORNER_TOLERANCE: f64 = 1e-12;

/// Clip segment (x0, y0)–(x1, y1) to `[0, w] × [0, h]` (Liang–Barsky).
fn clip(p: [f64; 4], w: f64, h: f64) -> Option<[f64; 4]> {
    let [x0, y0, x1, y1] = p;
    let (dx, dy) = (x1 - x0, y1 - y0);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (pk, qk) in [(-dx, x0), (dx, w - x0), (-dy, y0), (dy, h - y0)] {
        if pk == 0.0 {
            if qk < 0.0 {
                return None;
            }
        } else {
            let t = qk / pk;
            if pk < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then_some([x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy])
}

/// Visit every cell (col, row) of a `width × height` grid that the segment
/// from (x0, y0) to (x1, y1), in fractional grid coordinates, passes through
/// (cell (c, r) covers `[c, c+1) × [r, r+1)`), in order; corner passages
/// visit both side cells. Cells may be visited twice at corners.
#[expect(clippy::many_single_char_names, reason = "grid traversal notation")]
pub fn supercover(
    [x0, y0, x1, y1]: [f64; 4],
    width: usize,
    height: usize,
    mut visit: impl FnMut(usize, usize),
) {
    if !(x0.is_finite() && y0.is_finite() && x1.is_finite() && y1.is_finite()) {
        return;
    }
    let (w, h) = (width as f64, height as f64);
    let Some([x0, y0, x1, y1]) = clip([x0, y0, x1, y1], w, h) else {
        return;
    };
    let cell = |v: f64, n: usize| (v.floor().max(0.0) as usize).min(n.saturating_sub(1));
    let (mut c, mut r) = (cell(x0, width), cell(y0, height));
    let (ce, re) = (cell(x1, width), cell(y1, height));
    let (dx, dy) = (x1 - x0, y1 - y0);
    let axis = |d: f64, p: f64, i: usize| -> (f64, f64) {
        if d > 0.0 {
            ((i as f64 + 1.0 - p) / d, 1.0 / d)
        } else if d < 0.0 {
            ((p - i as f64) / -d, -1.0 / d)
        } else {
            (f64::INFINITY, f64::INFINITY)
        }
    };
    let (mut tx, ddx) = axis(dx, x0, c);
    let (mut ty, ddy) = axis(dy, y0, r);
    let step = |i: usize, d: f64, n: usize| -> Option<usize> {
        if d > 0.0 {
            (i + 1 < n).then_some(i + 1)
        } else {
            i.checked_sub(1)
        }
    };
    let steps = ce.abs_diff(c) + re.abs_diff(r);
    visit(c, r);
    for _ in 0..steps {
        if (c, r) == (ce, re) {
            break;
        }
        if tx < ty - CORNER_TOLERANCE {
            let Some(n) = step(c, dx, width) else { break };
            c = n;
            tx += ddx;
        } else if ty < tx - CORNER_TOLERANCE {
            let Some(n) = step(r, dy, height) else { break };
            r = n;
            ty += ddy;
        } else {
            // Through a corner: the supercover takes both side cells.
            let nc = step(c, dx, width);
            let nr = step(r, dy, height);
            if let Some(nc) = nc {
                visit(nc, r);
            }
            if let Some(nr) = nr {
                visit(c, nr);
            }
            let (Some(nc), Some(nr)) = (nc, nr) else {
                break;
            };
            c = nc;
            r = nr;
            tx += ddx;
            ty += ddy;
        }
        visit(c, r);
    }
}

fn burn(raster: &mut Raster<u8>, col: usize, row: usize, code: u8) {
    if col < raster.width && row < raster.height {
        if let Some(v) = raster.data.get_mut(row * raster.width + col) {
            *v = (*v).max(code);
        }
    }
}

/// Burn `line` (CRS coordinates) into `raster` with `code` (higher codes win).
pub fn burn_line_string(
    raster: &mut Raster<u8>,
    line: &LineString<f64>,
    code: u8,
) -> Result<(), GridError> {
    let grid = Grid::of(raster)?;
    let (w, h) = (grid.width, grid.height);
    for seg in line.lines() {
        let (x0, y0) = grid.to_grid(seg.start.x, seg.start.y);
        let (x1, y1) = grid.to_grid(seg.end.x, seg.end.y);
        supercover([x0, y0, x1, y1], w, h, |c, r| burn(raster, c, r, code));
    }
    if line.0.len() == 1 {
        let p = line.0[0];
        burn_point(raster, p.x, p.y, code)?;
    }
    Ok(())
}

/// Burn every part of `lines` (CRS coordinates) into `raster` with `code`.
pub fn burn_lines(
    raster: &mut Raster<u8>,
    lines: &MultiLineString<f64>,
    code: u8,
) -> Result<(), GridError> {
    for line in lines {
        burn_line_string(raster, line, code)?;
    }
    Ok(())
}

/// Burn the cell containing CRS point (x, y) with `code`; nothing outside the grid.
pub fn burn_point(raster: &mut Raster<u8>, x: f64, y: f64, code: u8) -> Result<(), GridError> {
    let grid = Grid::of(raster)?;
    if let Some((c, r)) = grid.cell_at(x, y) {
        burn(raster, c, r, code);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::line_string;
    use proptest::prelude::*;

    fn cells(seg: [f64; 4], w: usize, h: usize) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        supercover(seg, w, h, |c, r| v.push((c, r)));
        v.dedup();
        v
    }

    #[test]
    fn straight_and_clipped() {
        assert_eq!(
            cells([0.5, 1.5, 3.5, 1.5], 5, 5),
            vec![(0, 1), (1, 1), (2, 1), (3, 1)]
        );
        assert_eq!(
            cells([2.5, 4.5, 2.5, 2.2], 5, 5),
            vec![(2, 4), (2, 3), (2, 2)]
        );
        // Clipped at the grid edge, and entirely outside.
        assert_eq!(cells([-10.0, 0.5, 1.5, 0.5], 3, 3), vec![(0, 0), (1, 0)]);
        assert!(cells([-10.0, -1.0, -2.0, -5.0], 3, 3).is_empty());
        assert!(cells([f64::NAN, 0.0, 1.0, 1.0], 3, 3).is_empty());
    }

    #[test]
    fn shallow_line_cells() {
        // From (0.5, 0.5) to (4.5, 2.5): slope 1/2 crosses y = 1 at x = 1.5 and y = 2 at x = 3.5.
        assert_eq!(
            cells([0.5, 0.5, 4.5, 2.5], 5, 5),
            vec![(0, 0), (1, 0), (1, 1), (2, 1), (3, 1), (3, 2), (4, 2)]
        );
    }

    #[test]
    fn burns_in_crs_with_priority() {
        let mut r = Raster::filled(10, 10, [1000.0, 10.0, 0.0, 2000.0, 0.0, -10.0], None, 0u8);
        burn_line_string(
            &mut r,
            &line_string![(x: 1005.0, y: 1955.0), (x: 1095.0, y: 1955.0)],
            1,
        )
        .unwrap();
        burn_line_string(
            &mut r,
            &line_string![(x: 1055.0, y: 1995.0), (x: 1055.0, y: 1905.0)],
            3,
        )
        .unwrap();
        burn_line_string(
            &mut r,
            &line_string![(x: 1005.0, y: 1955.0), (x: 1025.0, y: 1955.0)],
            2,
        )
        .unwrap();
        assert!((0..10).all(|c| r.get(c, 4).unwrap() >= 1));
        assert_eq!(r.get(5, 4), Some(3));
        assert_eq!(r.get(0, 4), Some(2));
        assert_eq!(r.get(9, 4), Some(1));
        assert_eq!(r.get(5, 0), Some(3));
        assert_eq!(r.get(0, 0), Some(0));
        burn_point(&mut r, 1095.0, 1995.0, 4).unwrap();
        burn_point(&mut r, 0.0, 0.0, 4).unwrap();
        assert_eq!(r.get(9, 0), Some(4));
        assert_eq!(
            r.data.iter().map(|&v| usize::from(v == 4)).sum::<usize>(),
            1
        );
    }

    proptest! {
        #[test]
        fn supercover_is_4_connected_and_exact(
            x0 in 0.0f64..20.0, y0 in 0.0f64..20.0, x1 in 0.0f64..20.0, y1 in 0.0f64..20.0,
        ) {
            let v = cells([x0, y0, x1, y1], 20, 20);
            prop_assert_eq!(v.first().copied(), Some((x0 as usize, y0 as usize)));
            prop_assert_eq!(v.last().copied(), Some((x1 as usize, y1 as usize)));
            for pair in v.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                prop_assert!(a.0.abs_diff(b.0) + a.1.abs_diff(b.1) <= 2);
            }
            // 4-connected as a set (corner passages add both side cells).
            let set: std::collections::HashSet<_> = v.iter().copied().collect();
            for &(c, r) in &set {
                if set.len() > 1 {
                    let near = [(c + 1, r), (c.wrapping_sub(1), r), (c, r + 1), (c, r.wrapping_sub(1))];
                    prop_assert!(near.iter().any(|n| set.contains(n)));
                }
            }
            // Every sampled point of the segment lies in a listed cell.
            for k in 0..=200 {
                let f = f64::from(k) / 200.0;
                let (x, y) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
                let cell = (x.floor() as usize, y.floor() as usize);
                let on_edge = (x - x.round()).abs() < 1e-9 || (y - y.round()).abs() < 1e-9;
                prop_assert!(on_edge || set.contains(&cell), "{:?} missing", cell);
            }
        }
    }
}
