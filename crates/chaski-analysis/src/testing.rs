//! Projections for the engine's own tests, in pure Rust: the tests build their
//! data with the same projection the pipeline uses, so any exact two-way map
//! serves. PROJ's UTM is tested against these pipelines in `chaski-io`.

use chaski_core::crs::{CrsError, Projection, Projections, UtmZone};
use std::sync::Arc;

/// An equirectangular map standing in for UTM zone `zone` near 13° S: false
/// easting 500 km at the zone's central meridian, false northing 10,000 km in
/// the south; within a few per cent of UTM's scale over the tests' areas.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LikeUtm {
    epsg: u32,
    central_meridian: f64,
    false_northing: f64,
}

/// Metres per degree of latitude on the mean sphere.
const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;
/// The tests' latitude (Ayacucho).
const LAT0: f64 = -13.0;

impl Projection for LikeUtm {
    fn epsg(&self) -> u32 {
        self.epsg
    }
    fn forward(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError> {
        let kx = M_PER_DEG * LAT0.to_radians().cos();
        for c in coords {
            *c = (
                500_000.0 + (c.0 - self.central_meridian) * kx,
                self.false_northing + c.1 * M_PER_DEG,
            );
        }
        Ok(())
    }
    fn inverse(&self, coords: &mut [(f64, f64)]) -> Result<(), CrsError> {
        let kx = M_PER_DEG * LAT0.to_radians().cos();
        for c in coords {
            *c = (
                (c.0 - 500_000.0) / kx + self.central_meridian,
                (c.1 - self.false_northing) / M_PER_DEG,
            );
        }
        Ok(())
    }
}

/// [`Projections`] answering UTM codes (EPSG:326zz and 327zz) with [`LikeUtm`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TestProjections;

impl Projections for TestProjections {
    fn metric(&self, epsg: u32) -> Result<Arc<dyn Projection>, CrsError> {
        let (south, zone) = match epsg {
            32601..=32660 => (false, epsg - 32600),
            32701..=32760 => (true, epsg - 32700),
            _ => {
                return Err(CrsError::Create {
                    from: "EPSG:4326".to_owned(),
                    to: format!("EPSG:{epsg}"),
                    reason: "the tests know UTM zones only".to_owned(),
                });
            }
        };
        let zone = UtmZone {
            zone: zone as u8,
            south,
        };
        Ok(Arc::new(LikeUtm {
            epsg,
            central_meridian: zone.central_meridian(),
            false_northing: if south { 10_000_000.0 } else { 0.0 },
        }))
    }
}
