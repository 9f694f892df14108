//! Geometries to and from PostGIS: EWKB (WKB with the SRID 4326) written
//! with the `wkb` crate, WKB read back with it (`ST_AsBinary`).

use super::error::{PgResult, PostgisError};
use geo::Geometry;
use geo_traits::to_geo::ToGeoGeometry;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// EPSG code of every stored geometry.
pub const SRID: u32 = 4326;

/// The EWKB flag saying an SRID follows the geometry type.
const EWKB_SRID_FLAG: u32 = 0x2000_0000;

/// `geometry` as little-endian EWKB with SRID 4326: the WKB the `wkb` crate
/// writes, its type flagged as carrying an SRID and the SRID inserted after
/// it (PostGIS's extended WKB; only the outer geometry carries it).
pub fn to_ewkb(geometry: &Geometry<f64>) -> PgResult<Vec<u8>> {
    let mut wkb = Vec::with_capacity(64);
    wkb::writer::write_geometry(&mut wkb, geometry, &wkb::writer::WriteOptions::default())
        .map_err(|e| PostgisError::Corrupt(format!("geometry cannot be written as WKB: {e}")))?;
    if wkb.len() < 5 || wkb[0] != 1 {
        return Err(PostgisError::Corrupt(
            "geometry cannot be written as WKB: unexpected header".into(),
        ));
    }
    let ty = u32::from_le_bytes([wkb[1], wkb[2], wkb[3], wkb[4]]) | EWKB_SRID_FLAG;
    let mut out = Vec::with_capacity(wkb.len() + 4);
    out.push(1);
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&SRID.to_le_bytes());
    out.extend_from_slice(&wkb[5..]);
    Ok(out)
}

/// A geometry from WKB (`ST_AsBinary`).
pub fn from_wkb(bytes: &[u8]) -> Result<Geometry<f64>, String> {
    let parsed = wkb::reader::read_wkb(bytes).map_err(|e| e.to_string())?;
    Ok(parsed.to_geometry())
}

/// EWKB bytes bound to a `geometry` parameter or COPY column (binary format).
#[derive(Debug)]
pub struct Ewkb(pub Vec<u8>);

impl ToSql for Ewkb {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.0);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "geometry"
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Point, polygon};

    #[test]
    fn ewkb_of_a_point_carries_the_srid() {
        let e = to_ewkb(&Geometry::Point(Point::new(2.0, 4.0))).unwrap();
        // byte order, type 1 | SRID flag, 4326, then x and y.
        assert_eq!(&e[..9], &[1, 1, 0, 0, 0x20, 0xE6, 0x10, 0, 0]);
        assert_eq!(&e[9..17], &2.0_f64.to_le_bytes());
        assert_eq!(e.len(), 25);
    }

    #[test]
    fn wkb_round_trips() {
        let g = Geometry::Polygon(polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)]);
        let mut wkb = Vec::new();
        wkb::writer::write_geometry(&mut wkb, &g, &wkb::writer::WriteOptions::default()).unwrap();
        assert_eq!(from_wkb(&wkb).unwrap(), g);
    }
}
