//! Single-band rasters (elevation, friction, travel time) with an affine geotransform.

use serde::{Deserialize, Serialize};

/// GDAL-style affine transform: `x = t[0] + col * t[1] + row * t[2]`,
/// `y = t[3] + col * t[4] + row * t[5]`, for the top-left corner of a cell.
pub type GeoTransform = [f64; 6];

/// A single-band raster held in memory, row-major from the top-left cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raster<T = f32> {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Affine transform from cell (col, row) to CRS coordinates.
    pub transform: GeoTransform,
    /// EPSG code of the CRS, when it has one.
    pub epsg: Option<u32>,
    /// Value marking cells without data.
    pub nodata: Option<f64>,
    /// `width * height` values, row-major.
    pub data: Vec<T>,
}

impl<T: Copy> Raster<T> {
    /// A raster filled with `fill`.
    pub fn filled(
        width: usize,
        height: usize,
        transform: GeoTransform,
        epsg: Option<u32>,
        fill: T,
    ) -> Self {
        Self {
            width,
            height,
            transform,
            epsg,
            nodata: None,
            data: vec![fill; width * height],
        }
    }

    /// Value at (col, row), None outside the grid.
    pub fn get(&self, col: usize, row: usize) -> Option<T> {
        (col < self.width && row < self.height).then(|| self.data[row * self.width + col])
    }

    /// Cell size along x and y (absolute values, north-up rasters).
    pub fn cell_size(&self) -> (f64, f64) {
        (self.transform[1].abs(), self.transform[5].abs())
    }

    /// Centre of cell (col, row) in CRS coordinates.
    pub fn cell_center(&self, col: usize, row: usize) -> (f64, f64) {
        let (c, r) = (col as f64 + 0.5, row as f64 + 0.5);
        let t = &self.transform;
        (t[0] + c * t[1] + r * t[2], t[3] + c * t[4] + r * t[5])
    }

    /// The cell containing CRS point (x, y), for north-up rasters; None outside.
    pub fn cell_at(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let t = &self.transform;
        let col = ((x - t[0]) / t[1]).floor();
        let row = ((y - t[3]) / t[5]).floor();
        (col >= 0.0 && row >= 0.0 && (col as usize) < self.width && (row as usize) < self.height)
            .then_some((col as usize, row as usize))
    }

    /// Bounds as (min x, min y, max x, max y), for north-up rasters.
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        let t = &self.transform;
        let x1 = t[0] + self.width as f64 * t[1];
        let y1 = t[3] + self.height as f64 * t[5];
        (t[0].min(x1), t[3].min(y1), t[0].max(x1), t[3].max(y1))
    }
}

impl Raster<f32> {
    /// True when `v` is this raster's nodata value (or NaN).
    pub fn is_nodata(&self, v: f32) -> bool {
        v.is_nan()
            || self
                .nodata
                .is_some_and(|nd| (f64::from(v) - nd).abs() <= nd.abs() * 1e-6)
    }
}
