//! Coordinate transformations through PROJ.
//!
//! [`Transformer`] converts between any two CRSs PROJ knows ("EPSG:32718", a PROJ
//! string, WKT or PROJJSON), always with the traditional GIS axis order
//! (longitude/easting first). [`ProjProjection`] implements
//! [`chaski_core::crs::Projection`] between EPSG:4326 and a metric CRS, and
//! [`metric_projection`] picks the UTM zone of the data automatically.
//!
//! PROJ objects are not thread-safe, so each thread keeps its own instances,
//! created on first use from the CRS definitions; the types here are
//! `Send + Sync` and cheap to clone.

use chaski_core::crs::{CrsError, PointResult, Projection, Projections};
use geo::Rect;
use proj::Proj;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

thread_local! {
    static PROJ_CACHE: RefCell<HashMap<(String, String), Proj>> = RefCell::new(HashMap::new());
}

fn create(from: &str, to: &str) -> Result<Proj, CrsError> {
    Proj::new_known_crs(from, to, None).map_err(|e| CrsError::Create {
        from: from.to_owned(),
        to: to.to_owned(),
        reason: e.to_string(),
    })
}

/// A transformation between two CRSs (axis order: x/longitude first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transformer {
    from: String,
    to: String,
}

impl Transformer {
    /// A transformation from `from` to `to`; fails when PROJ does not know either CRS.
    pub fn new(from: &str, to: &str) -> Result<Self, CrsError> {
        let t = Self {
            from: from.to_owned(),
            to: to.to_owned(),
        };
        t.with_proj(|_| Ok(()))?;
        Ok(t)
    }

    /// Source CRS definition.
    pub fn from_crs(&self) -> &str {
        &self.from
    }

    /// Target CRS definition.
    pub fn to_crs(&self) -> &str {
        &self.to
    }

    fn with_proj<R>(&self, f: impl FnOnce(&Proj) -> Result<R, CrsError>) -> Result<R, CrsError> {
        PROJ_CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            let key = (self.from.clone(), self.to.clone());
            if !cache.contains_key(&key) {
                let p = create(&self.from, &self.to)?;
                cache.insert(key.clone(), p);
            }
            match cache.get(&key) {
                Some(p) => f(p),
                None => Err(CrsError::Create {
                    from: self.from.clone(),
                    to: self.to.clone(),
                    reason: "PROJ cache lost the transformation".to_owned(),
                }),
            }
        })
    }

    /// Transform coordinates in place. A point PROJ cannot transform (outside the
    /// CRS's domain) is an error naming it; use [`Transformer::transform_each`] to
    /// keep going past bad points.
    pub fn transform(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError> {
        self.with_proj(|p| {
            for c in coords.iter_mut() {
                *c = convert(p, *c)?;
            }
            Ok(())
        })
    }

    /// Transform each coordinate, returning per point the result or why it failed.
    pub fn transform_each(&self, coords: &[(f64, f64)]) -> Result<Vec<PointResult>, CrsError> {
        self.with_proj(|p| Ok(coords.iter().map(|c| convert(p, *c)).collect()))
    }

    /// Run `f` with a point transformation function, avoiding a cache lookup per point.
    pub fn run<R>(
        &self,
        f: impl FnOnce(&dyn Fn(f64, f64) -> Result<(f64, f64), CrsError>) -> R,
    ) -> Result<R, CrsError> {
        self.with_proj(|p| Ok(f(&|x, y| convert(p, (x, y)))))
    }

    /// Transform one point.
    pub fn transform_one(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        let mut c = [(x, y)];
        self.transform(&mut c)?;
        Ok(c[0])
    }
}

fn convert(p: &Proj, (x, y): (f64, f64)) -> Result<(f64, f64), CrsError> {
    let fail = |reason: String| CrsError::Transform { x, y, reason };
    if !x.is_finite() || !y.is_finite() {
        return Err(fail("not a finite number".to_owned()));
    }
    let (ox, oy) = p.convert((x, y)).map_err(|e| fail(e.to_string()))?;
    if ox.is_finite() && oy.is_finite() {
        Ok((ox, oy))
    } else {
        Err(fail("outside the area where the CRS is defined".to_owned()))
    }
}

/// PROJ-backed [`Projection`] between EPSG:4326 and a projected CRS in metres.
#[derive(Debug, Clone)]
pub struct ProjProjection {
    epsg: u32,
    forward: Transformer,
    inverse: Transformer,
}

impl ProjProjection {
    /// Projection to `EPSG:{epsg}`, which must be a projected CRS in metres.
    pub fn new(epsg: u32) -> Result<Self, CrsError> {
        let target = format!("EPSG:{epsg}");
        Ok(Self {
            epsg,
            forward: Transformer::new("EPSG:4326", &target)?,
            inverse: Transformer::new(&target, "EPSG:4326")?,
        })
    }
}

impl Projection for ProjProjection {
    fn epsg(&self) -> u32 {
        self.epsg
    }
    fn forward(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError> {
        self.forward.transform(coords)
    }
    fn inverse(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError> {
        self.inverse.transform(coords)
    }
    fn forward_each(&self, coords: &[(f64, f64)]) -> Vec<PointResult> {
        self.forward
            .transform_each(coords)
            .unwrap_or_else(|e| vec![Err(e); coords.len()])
    }
}

/// The [`Projections`] of chaski's engine, through PROJ: any projected CRS in
/// metres PROJ knows by its EPSG code.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProjProjections;

impl Projections for ProjProjections {
    fn metric(&self, epsg: u32) -> Result<Arc<dyn Projection>, CrsError> {
        Ok(Arc::new(ProjProjection::new(epsg)?))
    }
}

/// The metric projection chaski uses for data within `bounds` (lon/lat): the UTM
/// zone (WGS 84) containing the centre of the bounds, through PROJ.
pub fn metric_projection(bounds: &Rect<f64>) -> Result<Arc<dyn Projection>, CrsError> {
    ProjProjections.for_bounds(bounds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm_18s_matches_known_values() {
        // Central meridian of zone 18 (-75°) on the equator: false easting 500 km,
        // false northing 10,000 km in the south.
        let p = ProjProjection::new(32718).unwrap();
        let (x, y) = p.forward_one(-75.0, 0.0).unwrap();
        assert!((x - 500_000.0).abs() < 1e-6, "{x}");
        assert!((y - 10_000_000.0).abs() < 1e-6, "{y}");
    }

    #[test]
    fn round_trip_within_a_millimetre() {
        let p = ProjProjection::new(32718).unwrap();
        let (lon, lat) = (-73.95, -13.0);
        let (x, y) = p.forward_one(lon, lat).unwrap();
        let (lon2, lat2) = p.inverse_one(x, y).unwrap();
        // 1 mm is about 9e-9 degrees.
        assert!((lon - lon2).abs() < 9e-9 && (lat - lat2).abs() < 9e-9);
    }

    #[test]
    fn unknown_crs_is_an_error_naming_it() {
        let e = Transformer::new("EPSG:999999", "EPSG:4326").unwrap_err();
        assert!(e.to_string().contains("EPSG:999999"), "{e}");
    }

    #[test]
    fn works_from_other_threads() {
        let p: Arc<dyn Projection> = Arc::new(ProjProjection::new(32718).unwrap());
        let a = p.forward_one(-74.0, -13.0).unwrap();
        let b = std::thread::spawn(move || p.forward_one(-74.0, -13.0).unwrap())
            .join()
            .unwrap();
        assert_eq!(a, b);
    }
}
