//! Checks of a record's geometry: coordinates in range and not swapped, and
//! the geometry coerced to the layer's type, cleaned and validated.

use super::options::Region;
use chaski_core::layer::GeometryType;
use geo::{
    BooleanOps, Coord, Geometry, LineString, MultiLineString, MultiPolygon, Polygon,
    RemoveRepeatedPoints, Validation,
};

/// The first coordinate of `g`, if it has any.
pub(super) fn first_coord(g: &Geometry<f64>) -> Option<Coord<f64>> {
    use geo::CoordsIter;
    g.coords_iter().next()
}

/// Coerce a geometry to the layer's geometry type, clean it and check it.
/// Returns the geometry and whether it was repaired.
pub(super) fn shape(
    g: Geometry<f64>,
    want: GeometryType,
) -> Result<(Geometry<f64>, Option<String>), String> {
    match want {
        GeometryType::Point => match g {
            Geometry::Point(p) => Ok((Geometry::Point(p), None)),
            Geometry::MultiPoint(mp) if mp.0.len() == 1 => Ok((Geometry::Point(mp.0[0]), None)),
            other => Err(format!("expected a point, found {}", type_name(&other))),
        },
        GeometryType::MultiLineString => {
            let parts: Vec<LineString<f64>> = match g {
                Geometry::LineString(l) => vec![l],
                Geometry::MultiLineString(m) => m.0,
                other => return Err(format!("expected a line, found {}", type_name(&other))),
            };
            let before: usize = parts.iter().map(|l| l.0.len()).sum();
            let kept: Vec<LineString<f64>> = parts
                .into_iter()
                .map(|l| l.remove_repeated_points())
                .filter(|l| l.0.len() >= 2)
                .collect();
            if kept.is_empty() {
                return Err("line has fewer than 2 distinct points".to_owned());
            }
            let after: usize = kept.iter().map(|l| l.0.len()).sum();
            let note = (after != before).then(|| "repeated points removed".to_owned());
            Ok((Geometry::MultiLineString(MultiLineString::new(kept)), note))
        }
        GeometryType::MultiPolygon => {
            let polys: Vec<Polygon<f64>> = match g {
                Geometry::Polygon(p) => vec![p],
                Geometry::MultiPolygon(m) => m.0,
                other => return Err(format!("expected a polygon, found {}", type_name(&other))),
            };
            let mp = MultiPolygon::new(polys);
            if mp.is_valid() {
                return Ok((Geometry::MultiPolygon(mp), None));
            }
            let reason = mp
                .check_validation()
                .err()
                .map_or_else(|| "invalid".to_owned(), |e| e.to_string());
            // Clean: repeated points, rings under 3 distinct points; then let the
            // overlay engine resolve self-intersections (even-odd).
            let cleaned: Vec<Polygon<f64>> =
                mp.0.into_iter()
                    .map(|p| p.remove_repeated_points())
                    .filter(|p| p.exterior().0.len() >= 4)
                    .map(|p| {
                        let (ext, holes) = p.into_inner();
                        Polygon::new(ext, holes.into_iter().filter(|h| h.0.len() >= 4).collect())
                    })
                    .collect();
            if cleaned.is_empty() {
                return Err("polygon has no ring with 3 distinct points".to_owned());
            }
            let mut cleaned = MultiPolygon::new(cleaned);
            if !cleaned.is_valid() {
                cleaned = cleaned.union(&MultiPolygon::new(Vec::new()));
            }
            if cleaned.0.is_empty() || !cleaned.is_valid() {
                return Err(format!(
                    "invalid polygon that could not be repaired ({reason})"
                ));
            }
            Ok((
                Geometry::MultiPolygon(cleaned),
                Some(format!("invalid polygon repaired ({reason})")),
            ))
        }
    }
}

fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "a point",
        Geometry::Line(_) | Geometry::LineString(_) => "a line",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "a polygon",
        Geometry::MultiPoint(_) => "several points",
        Geometry::MultiLineString(_) => "a multi-line",
        Geometry::MultiPolygon(_) => "a multi-polygon",
        Geometry::GeometryCollection(_) => "a geometry collection",
    }
}

/// Coordinate check: finite, in range, not 0,0, not swapped.
pub(super) enum CoordCheck {
    Ok,
    Swapped,
    Bad(String),
}

/// Check one longitude/latitude pair (`region`: where data are expected;
/// `is_point`: 0,0 is refused as a missing GPS fix).
pub(super) fn check_lonlat(
    lon: f64,
    lat: f64,
    region: Option<&Region>,
    is_point: bool,
) -> CoordCheck {
    if !lon.is_finite() || !lat.is_finite() {
        return CoordCheck::Bad("coordinates are not finite numbers".to_owned());
    }
    let in_range = |x: f64, y: f64| x.abs() <= 180.0 && y.abs() <= 90.0;
    let swapped_inside = region.is_some_and(|r| r.contains(lat, lon)) && in_range(lat, lon);
    if !in_range(lon, lat) {
        if swapped_inside {
            return CoordCheck::Swapped;
        }
        return CoordCheck::Bad(if lat.abs() > 90.0 {
            format!("latitude {lat} is outside -90..90")
        } else {
            format!("longitude {lon} is outside -180..180")
        });
    }
    if is_point && lon == 0.0 && lat == 0.0 {
        return CoordCheck::Bad("coordinates are 0,0 (a missing GPS fix)".to_owned());
    }
    if let Some(r) = region
        && !r.contains(lon, lat)
        && swapped_inside
    {
        return CoordCheck::Swapped;
    }
    CoordCheck::Ok
}

/// True when `crs` names WGS 84 longitude/latitude (no reprojection needed).
pub(super) fn is_wgs84(crs: &str) -> bool {
    let c = crs.trim().to_ascii_uppercase();
    matches!(c.as_str(), "EPSG:4326" | "OGC:CRS84" | "CRS84" | "WGS84")
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, line_string, polygon};

    #[test]
    fn self_intersecting_polygon_is_repaired() {
        // A bow-tie: two triangles touching at (1, 1).
        let bow = polygon![(x: -74.0, y: -13.0), (x: -73.0, y: -12.0), (x: -73.0, y: -13.0), (x: -74.0, y: -12.0), (x: -74.0, y: -13.0)];
        let (g, note) = shape(Geometry::Polygon(bow), GeometryType::MultiPolygon).unwrap();
        assert!(note.is_some());
        let Geometry::MultiPolygon(mp) = g else {
            panic!()
        };
        assert!(mp.is_valid());
        assert!(
            (mp.unsigned_area() - 0.5).abs() < 1e-9,
            "{}",
            mp.unsigned_area()
        );
    }

    #[test]
    fn wrong_geometry_type_is_rejected() {
        let line = Geometry::LineString(line_string![(x: -74.0, y: -13.0), (x: -73.0, y: -12.0)]);
        assert!(
            shape(line, GeometryType::Point)
                .unwrap_err()
                .contains("expected a point")
        );
    }
}
