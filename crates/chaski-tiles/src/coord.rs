//! Tile addresses and Web Mercator (EPSG:3857) math.

use crate::error::TileError;
use std::f64::consts::PI;
use std::fmt;

/// Highest zoom a [`TileCoord`] may have.
pub const MAX_ZOOM: u8 = 24;

/// Earth radius of the spherical Web Mercator projection, in metres.
pub const EARTH_RADIUS: f64 = 6_378_137.0;

/// Half the width of the Web Mercator world, in metres (x and y span `-HALF..HALF`).
pub const HALF_WORLD: f64 = PI * EARTH_RADIUS;

/// Latitude limit of Web Mercator: latitudes are clamped to `±MAX_LATITUDE`.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// Longitude/latitude (degrees) to Web Mercator metres, clamping the latitude to
/// `±MAX_LATITUDE` and the longitude to `±180`.
///
/// ```
/// let (x, y) = chaski_tiles::lonlat_to_mercator(180.0, 90.0);
/// assert!((x - chaski_tiles::HALF_WORLD).abs() < 1e-6);
/// assert!((y - chaski_tiles::HALF_WORLD).abs() < 1e-3);
/// ```
pub fn lonlat_to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let lon = lon.clamp(-180.0, 180.0);
    let lat = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE);
    let x = EARTH_RADIUS * lon.to_radians();
    let y = EARTH_RADIUS * (PI / 4.0 + lat.to_radians() / 2.0).tan().ln();
    (x, y)
}

/// Web Mercator metres to longitude/latitude (degrees).
pub fn mercator_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = (x / EARTH_RADIUS).to_degrees();
    let lat = (2.0 * (y / EARTH_RADIUS).exp().atan() - PI / 2.0).to_degrees();
    (lon, lat)
}

/// Width of one tile at zoom `z`, in Web Mercator metres.
pub fn tile_size_m(z: u8) -> f64 {
    2.0 * HALF_WORLD / f64::from(1u32 << u32::from(z.min(MAX_ZOOM)))
}

/// The column and row of the tile at zoom `z` containing the Web Mercator point
/// `(x, y)`: tiles hold their west and north edges (`x` in `[west, east)`, `y` in
/// `(south, north]`); points on the world's east or south edge go to the last tile.
pub fn tile_of(x: f64, y: f64, z: u8) -> (u32, u32) {
    let n = 1u32 << u32::from(z.min(MAX_ZOOM));
    let size = tile_size_m(z);
    let col = ((x + HALF_WORLD) / size).floor();
    let row = ((HALF_WORLD - y) / size).floor();
    let clamp = |v: f64| {
        if v.is_nan() || v < 0.0 {
            0
        } else if v >= f64::from(n) {
            n - 1
        } else {
            v as u32
        }
    };
    (clamp(col), clamp(row))
}

/// A tile address in the XYZ scheme (row 0 at the north).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileCoord {
    z: u8,
    x: u32,
    y: u32,
}

impl TileCoord {
    /// A tile address, checking `z ≤ 24` and `x, y < 2^z`.
    pub fn new(z: u8, x: u32, y: u32) -> Result<Self, TileError> {
        if z > MAX_ZOOM {
            return Err(TileError::InvalidCoord {
                z: u32::from(z),
                x,
                y,
                reason: format!("zoom must be at most {MAX_ZOOM}"),
            });
        }
        let n = 1u32 << u32::from(z);
        if x >= n || y >= n {
            return Err(TileError::InvalidCoord {
                z: u32::from(z),
                x,
                y,
                reason: format!("x and y must be below 2^{z} = {n}"),
            });
        }
        Ok(Self { z, x, y })
    }

    /// Zoom.
    pub fn z(self) -> u8 {
        self.z
    }

    /// Column (0 at the west).
    pub fn x(self) -> u32 {
        self.x
    }

    /// Row (0 at the north).
    pub fn y(self) -> u32 {
        self.y
    }

    /// Bounds in Web Mercator metres: `[min_x, min_y, max_x, max_y]`.
    pub fn bounds_mercator(self) -> [f64; 4] {
        let size = tile_size_m(self.z);
        let min_x = -HALF_WORLD + f64::from(self.x) * size;
        let max_y = HALF_WORLD - f64::from(self.y) * size;
        [min_x, max_y - size, min_x + size, max_y]
    }

    /// Bounds in degrees: `[west, south, east, north]`.
    pub fn bounds_lonlat(self) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.bounds_mercator();
        let (w, s) = mercator_to_lonlat(x0, y0);
        let (e, n) = mercator_to_lonlat(x1, y1);
        [w, s, e, n]
    }

    /// The tile's id on the PMTiles v3 Hilbert curve: the number of tiles of
    /// every lower zoom (`(4^z - 1) / 3`) plus the tile's distance along the
    /// Hilbert curve over the `2^z × 2^z` grid. Ids grow with zoom, and
    /// neighbouring tiles of one zoom get near ids, so an archive written in
    /// id order keeps tiles close on the map close in the file.
    ///
    /// ```
    /// use chaski_tiles::TileCoord;
    /// let id = |z, x, y| TileCoord::new(z, x, y).unwrap().hilbert_id();
    /// assert_eq!(id(0, 0, 0), 0);
    /// assert_eq!([id(1, 0, 0), id(1, 0, 1), id(1, 1, 1), id(1, 1, 0)], [1, 2, 3, 4]);
    /// assert_eq!(id(2, 0, 0), 5);
    /// ```
    pub fn hilbert_id(self) -> u64 {
        let zoom = u32::from(self.z);
        let before = ((1u64 << (2 * zoom)) - 1) / 3;
        let (mut col, mut row) = (u64::from(self.x), u64::from(self.y));
        let mut dist = 0u64;
        let mut half = (1u64 << zoom) >> 1;
        while half > 0 {
            let rx = u64::from(col & half != 0);
            let ry = u64::from(row & half != 0);
            dist += half * half * ((3 * rx) ^ ry);
            // Rotate the quadrant so the curve's sub-squares line up.
            col &= half - 1;
            row &= half - 1;
            if ry == 0 {
                if rx == 1 {
                    col = half - 1 - col;
                    row = half - 1 - row;
                }
                std::mem::swap(&mut col, &mut row);
            }
            half >>= 1;
        }
        before + dist
    }

    /// Columns and rows `(min_x, min_y, max_x, max_y)`, inclusive, of the
    /// tiles at zoom `z` that hold some of `bounds` (`[west, south, east,
    /// north]` in degrees; latitudes clamped to Web Mercator's).
    ///
    /// ```
    /// use chaski_tiles::TileCoord;
    /// assert_eq!(TileCoord::range([-180.0, -85.0, 180.0, 85.0], 2), (0, 0, 3, 3));
    /// assert_eq!(TileCoord::range([-77.1, -12.1, -77.0, -12.0], 10), (292, 546, 292, 546));
    /// ```
    pub fn range(bounds: [f64; 4], z: u8) -> (u32, u32, u32, u32) {
        let z = z.min(MAX_ZOOM);
        let (x0, y1) = lonlat_to_mercator(bounds[0], bounds[1]);
        let (x1, y0) = lonlat_to_mercator(bounds[2], bounds[3]);
        let (min_x, min_y) = tile_of(x0.min(x1), y0.max(y1), z);
        let (max_x, max_y) = tile_of(x0.max(x1), y0.min(y1), z);
        (min_x, min_y, max_x, max_y)
    }

    /// The tile at zoom `z` containing the point `(lon, lat)` (degrees).
    pub fn containing(lon: f64, lat: f64, z: u8) -> Result<Self, TileError> {
        let (mx, my) = lonlat_to_mercator(lon, lat);
        let (x, y) = tile_of(mx, my, z.min(MAX_ZOOM));
        Self::new(z, x, y)
    }
}

impl fmt::Display for TileCoord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.z, self.x, self.y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert!(TileCoord::new(0, 0, 0).is_ok());
        assert!(TileCoord::new(0, 1, 0).is_err());
        assert!(TileCoord::new(3, 7, 7).is_ok());
        assert!(TileCoord::new(3, 8, 0).is_err());
        assert!(TileCoord::new(24, (1 << 24) - 1, 0).is_ok());
        assert!(TileCoord::new(25, 0, 0).is_err());
    }

    #[test]
    fn bounds() {
        let tile = TileCoord::new(1, 0, 0).unwrap();
        let [x0, y0, x1, y1] = tile.bounds_mercator();
        assert!((x0 + HALF_WORLD).abs() < 1e-6 && x1.abs() < 1e-6);
        assert!(y0.abs() < 1e-6 && (y1 - HALF_WORLD).abs() < 1e-6);
        let [west, south, east, north] = tile.bounds_lonlat();
        assert!((west + 180.0).abs() < 1e-9 && east.abs() < 1e-9 && south.abs() < 1e-9);
        assert!((north - MAX_LATITUDE).abs() < 1e-9);
        // Lima (-77.03, -12.05) at z10: x = floor((lon+180)/360*1024) = 292,
        // y = floor((1 - ln(tan + sec)/pi)/2 * 1024) = 546.
        let lima = TileCoord::containing(-77.03, -12.05, 10).unwrap();
        assert_eq!((lima.x(), lima.y()), (292, 546));
    }

    /// Hilbert ids are a bijection onto `0..(4^(z+1) - 1) / 3` zoom by zoom,
    /// and consecutive ids of one zoom are neighbouring tiles.
    #[test]
    fn hilbert_ids_walk_the_grid() {
        for z in 0..=6u8 {
            let n = 1u32 << z;
            let first = ((1u64 << (2 * u32::from(z))) - 1) / 3;
            let mut by_id = vec![None; (n * n) as usize];
            for x in 0..n {
                for y in 0..n {
                    let id = TileCoord::new(z, x, y).unwrap().hilbert_id();
                    let i = usize::try_from(id - first).unwrap();
                    assert!(by_id[i].is_none(), "id {id} given twice at z{z}");
                    by_id[i] = Some((x, y));
                }
            }
            let walk: Vec<(u32, u32)> = by_id.into_iter().map(Option::unwrap).collect();
            for w in walk.windows(2) {
                let step = w[0].0.abs_diff(w[1].0) + w[0].1.abs_diff(w[1].1);
                assert_eq!(step, 1, "z{z}: {:?} then {:?}", w[0], w[1]);
            }
        }
    }
}
