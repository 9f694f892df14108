//! The grid an analysis runs on: size and north-up affine transform in a metric CRS.

use chaski_core::raster::{GeoTransform, Raster};

/// The grid of an analysis could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GridError {
    /// The transform is rotated or sheared, or its cell size is not positive and finite.
    #[error("grid transform {transform:?} is not north-up with a positive, finite cell size")]
    NotNorthUp {
        /// The offending transform.
        transform: GeoTransform,
    },
    /// The grid has no cells or too many for 32-bit cell indexes.
    #[error("grid {width} x {height} is empty or too large (at most {max} cells)")]
    Size {
        /// Columns.
        width: usize,
        /// Rows.
        height: usize,
        /// Largest number of cells allowed.
        max: usize,
    },
    /// An input raster does not have the grid's size.
    #[error("raster '{what}' is {width} x {height}, expected {expected_width} x {expected_height}")]
    Mismatch {
        /// Which input.
        what: &'static str,
        /// Its columns.
        width: usize,
        /// Its rows.
        height: usize,
        /// The grid's columns.
        expected_width: usize,
        /// The grid's rows.
        expected_height: usize,
    },
}

/// Size and georeference of a north-up grid in a metric CRS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Affine transform (GDAL order); `t[2]` and `t[4]` must be zero.
    pub transform: GeoTransform,
    /// EPSG code of the CRS, when known.
    pub epsg: Option<u32>,
}

impl Grid {
    /// Largest grid handled: cell indexes (with a two-cell border) must fit in a `u32`.
    pub const MAX_CELLS: usize = (u32::MAX as usize) / 2;

    /// The grid of `raster`, checked.
    pub fn of<T>(raster: &Raster<T>) -> Result<Self, GridError> {
        let grid = Self {
            width: raster.width,
            height: raster.height,
            transform: raster.transform,
            epsg: raster.epsg,
        };
        grid.check()?;
        if raster.data.len() != grid.len() {
            return Err(GridError::Mismatch {
                what: "data",
                width: raster.data.len(),
                height: 1,
                expected_width: grid.width,
                expected_height: grid.height,
            });
        }
        Ok(grid)
    }

    /// Check size and transform.
    pub fn check(&self) -> Result<(), GridError> {
        let t = &self.transform;
        let ok = t.iter().all(|v| v.is_finite())
            && t[2] == 0.0
            && t[4] == 0.0
            && t[1] != 0.0
            && t[5] != 0.0;
        if !ok {
            return Err(GridError::NotNorthUp { transform: *t });
        }
        let padded = (self.width.saturating_add(4)).saturating_mul(self.height.saturating_add(4));
        if self.width == 0 || self.height == 0 || padded > Self::MAX_CELLS {
            return Err(GridError::Size {
                width: self.width,
                height: self.height,
                max: Self::MAX_CELLS,
            });
        }
        Ok(())
    }

    /// Check that `raster` has this grid's size.
    pub fn expect_same<T>(&self, what: &'static str, raster: &Raster<T>) -> Result<(), GridError> {
        if raster.width == self.width
            && raster.height == self.height
            && raster.data.len() == self.len()
        {
            Ok(())
        } else {
            Err(GridError::Mismatch {
                what,
                width: raster.width,
                height: raster.height,
                expected_width: self.width,
                expected_height: self.height,
            })
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.width * self.height
    }

    /// True when the grid has no cells.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cell size (x, y) in CRS units, absolute.
    pub fn cell_size(&self) -> (f64, f64) {
        (self.transform[1].abs(), self.transform[5].abs())
    }

    /// Centre of cell (col, row) in CRS coordinates.
    pub fn cell_center(&self, col: usize, row: usize) -> (f64, f64) {
        let t = &self.transform;
        (
            t[0] + (col as f64 + 0.5) * t[1],
            t[3] + (row as f64 + 0.5) * t[5],
        )
    }

    /// Fractional grid coordinates (col, row) of CRS point (x, y); cell (c, r)
    /// covers `[c, c+1) x [r, r+1)`.
    pub fn to_grid(&self, x: f64, y: f64) -> (f64, f64) {
        let t = &self.transform;
        ((x - t[0]) / t[1], (y - t[3]) / t[5])
    }

    /// CRS coordinates of fractional grid position (col, row).
    pub fn to_crs(&self, col: f64, row: f64) -> (f64, f64) {
        let t = &self.transform;
        (t[0] + col * t[1], t[3] + row * t[5])
    }

    /// The cell containing CRS point (x, y); None outside.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let (c, r) = self.to_grid(x, y);
        let (c, r) = (c.floor(), r.floor());
        (c >= 0.0 && r >= 0.0 && c < self.width as f64 && r < self.height as f64)
            .then_some((c as usize, r as usize))
    }

    /// An empty raster of this grid filled with `fill`.
    pub fn raster<T: Copy>(&self, fill: T) -> Raster<T> {
        Raster::filled(self.width, self.height, self.transform, self.epsg, fill)
    }
}
