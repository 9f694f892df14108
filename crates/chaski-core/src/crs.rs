//! Coordinate reference systems: the [`Projection`] trait (implemented with PROJ in
//! `chaski-io`) and the automatic choice of a metric CRS (the UTM zone of the data).

use geo::Rect;
use std::sync::Arc;

/// A coordinate transformation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CrsError {
    /// The CRS could not be created.
    #[error("cannot create CRS transformation {from} -> {to}: {reason}")]
    Create {
        /// Source CRS.
        from: String,
        /// Target CRS.
        to: String,
        /// What PROJ said.
        reason: String,
    },
    /// A coordinate could not be transformed.
    #[error("cannot transform ({x}, {y}): {reason}")]
    Transform {
        /// Input x (longitude for geographic input).
        x: f64,
        /// Input y.
        y: f64,
        /// Why.
        reason: String,
    },
}

/// The outcome of transforming one point.
pub type PointResult = Result<(f64, f64), CrsError>;

/// A two-way transformation between EPSG:4326 (longitude, latitude in degrees,
/// always in that order) and a projected CRS in metres.
pub trait Projection: Send + Sync {
    /// EPSG code of the projected CRS.
    fn epsg(&self) -> u32;
    /// Longitude/latitude to projected metres, in place.
    fn forward(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError>;
    /// Projected metres to longitude/latitude, in place.
    fn inverse(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError>;

    /// One point, forward.
    fn forward_one(&self, lon: f64, lat: f64) -> Result<(f64, f64), CrsError> {
        let mut c = [(lon, lat)];
        self.forward(&mut c)?;
        Ok(c[0])
    }

    /// One point, inverse.
    fn inverse_one(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        let mut c = [(x, y)];
        self.inverse(&mut c)?;
        Ok(c[0])
    }

    /// Each point forward, with per point its result or why it failed: a bad
    /// point does not stop the others.
    fn forward_each(&self, coords: &[(f64, f64)]) -> Vec<PointResult> {
        coords
            .iter()
            .map(|&(x, y)| self.forward_one(x, y))
            .collect()
    }
}

/// Where the engine gets its projections: an adapter (PROJ in `chaski-io`)
/// makes the projection to a metric CRS named by its EPSG code, so the engine
/// itself links no C library.
pub trait Projections: Send + Sync {
    /// EPSG:4326 to and from `EPSG:{epsg}`, which must be a projected CRS in
    /// metres; an error names the code when the adapter does not know it.
    fn metric(&self, epsg: u32) -> Result<Arc<dyn Projection>, CrsError>;

    /// The metric projection chaski uses for data within `bounds`
    /// (longitude/latitude): the UTM zone (WGS 84) of the bounds' centre.
    fn for_bounds(&self, bounds: &Rect<f64>) -> Result<Arc<dyn Projection>, CrsError> {
        self.metric(UtmZone::for_bounds(bounds).epsg())
    }
}

/// A UTM zone on the WGS 84 datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UtmZone {
    /// Zone number 1..=60.
    pub zone: u8,
    /// Southern hemisphere.
    pub south: bool,
}

impl UtmZone {
    /// The zone containing (lon, lat).
    ///
    /// ```
    /// use chaski_core::crs::UtmZone;
    /// let z = UtmZone::containing(-73.95, -13.0); // Torobamba, Ayacucho
    /// assert_eq!((z.zone, z.south, z.epsg()), (18, true, 32718));
    /// ```
    pub fn containing(lon: f64, lat: f64) -> Self {
        let lon = if lon.is_finite() { lon } else { 0.0 };
        let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u8 + 1;
        Self {
            zone,
            south: lat < 0.0,
        }
    }

    /// The zone of the centre of `bounds` (longitude/latitude): the metric CRS
    /// chaski uses for a layer or an analysis over that area.
    pub fn for_bounds(bounds: &Rect<f64>) -> Self {
        let c = bounds.center();
        Self::containing(c.x, c.y)
    }

    /// EPSG code: 326zz north, 327zz south.
    pub fn epsg(self) -> u32 {
        (if self.south { 32700 } else { 32600 }) + u32::from(self.zone)
    }

    /// Longitude of the central meridian.
    pub fn central_meridian(self) -> f64 {
        f64::from(self.zone) * 6.0 - 183.0
    }
}

/// A local equirectangular approximation around a reference latitude, exact
/// enough (well under 0.5% within a few hundred km) for tests and for code
/// that must run without PROJ. Real work uses PROJ's UTM through `chaski-io`.
#[derive(Debug, Clone, Copy)]
pub struct LocalEquirectangular {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalEquirectangular {
    /// Mean radius of the WGS 84 ellipsoid in metres.
    const R: f64 = 6_371_008.8;

    /// Centred on (lon0, lat0).
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let ky = Self::R.to_radians();
        Self {
            lon0,
            lat0,
            kx: ky * lat0.to_radians().cos(),
            ky,
        }
    }
}

impl Projection for LocalEquirectangular {
    fn epsg(&self) -> u32 {
        0
    }
    fn forward(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError> {
        for c in coords {
            *c = ((c.0 - self.lon0) * self.kx, (c.1 - self.lat0) * self.ky);
        }
        Ok(())
    }
    fn inverse(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError> {
        for c in coords {
            *c = (c.0 / self.kx + self.lon0, c.1 / self.ky + self.lat0);
        }
        Ok(())
    }
}
