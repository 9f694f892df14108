//! Spatial reference systems: WGS 84 (the SRS of every layer), the built-in
//! definitions of its UTM zones, and the registration of a raster's CRS in
//! `gpkg_spatial_ref_sys`.

use super::error::GpkgError;
use rusqlite::{Connection, OptionalExtension, params};

/// The SRS of every layer (WGS 84 longitude/latitude).
pub(super) const SRS_ID: i32 = 4326;

/// OGC WKT 1 of WGS 84 (EPSG:4326), the definition stores register for it.
pub(super) const WGS84_WKT: &str = r#"GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]"#;

/// OGC WKT 1 of WGS 84 / UTM zone `zone` (north or south), as GDAL writes it.
fn utm_wkt(zone: u32, south: bool) -> String {
    let meridian = i64::from(zone) * 6 - 183;
    format!(
        r#"PROJCS["WGS 84 / UTM zone {zone}{hemi}",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",{meridian}],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",{north}],UNIT["metre",1,AUTHORITY["EPSG","9001"]],AXIS["Easting",EAST],AXIS["Northing",NORTH],AUTHORITY["EPSG","{code}"]]"#,
        hemi = if south { "S" } else { "N" },
        north = if south { 10_000_000 } else { 0 },
        code = if south { 32700 } else { 32600 } + zone,
    )
}

/// Name and WKT definition of EPSG:`code`: built in for WGS 84 and its UTM
/// zones (every DEM chaski has met), else looked up with [`lookup_epsg`].
/// None when the code is unknown.
fn crs_definition(code: u32) -> Option<(String, String)> {
    match code {
        4326 => Some(("WGS 84 geodetic".into(), WGS84_WKT.into())),
        32601..=32660 => Some((
            format!("WGS 84 / UTM zone {}N", code - 32600),
            utm_wkt(code - 32600, false),
        )),
        32701..=32760 => Some((
            format!("WGS 84 / UTM zone {}S", code - 32700),
            utm_wkt(code - 32700, true),
        )),
        _ => lookup_epsg(code),
    }
}

/// Name and WKT definition of EPSG:`code` from PROJ's database, through
/// GDAL's OSR (a read of the CRS database only; GDAL writes nothing).
#[cfg(feature = "gdal")]
fn lookup_epsg(code: u32) -> Option<(String, String)> {
    let sr = gdal::spatial_ref::SpatialRef::from_epsg(code).ok()?;
    let wkt = sr.to_wkt().ok().filter(|w| !w.is_empty())?;
    let name = sr.name().unwrap_or_else(|| format!("EPSG:{code}"));
    Some((name, wkt))
}

/// Without the `gdal` feature there is no CRS database to look codes up in:
/// codes other than WGS 84 and its UTM zones are registered without a
/// definition (GeoPackage's `undefined`).
#[cfg(not(feature = "gdal"))]
fn lookup_epsg(_code: u32) -> Option<(String, String)> {
    None
}

/// The `srs_id` for EPSG:`epsg` (-1, the undefined Cartesian SRS, for none),
/// registering it in `gpkg_spatial_ref_sys` when missing.
pub(super) fn srs_id(conn: &Connection, epsg: Option<u32>) -> Result<i64, GpkgError> {
    let Some(code) = epsg else { return Ok(-1) };
    let found: Option<i64> = conn
        .query_row(
            "SELECT srs_id FROM gpkg_spatial_ref_sys \
             WHERE upper(organization) = 'EPSG' AND organization_coordsys_id = ?1 \
             ORDER BY srs_id = ?1 DESC, srs_id LIMIT 1",
            [code],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM gpkg_spatial_ref_sys WHERE srs_id = ?1)",
        [code],
        |r| r.get(0),
    )?;
    let id = if taken {
        conn.query_row(
            "SELECT MAX(100000, MAX(srs_id) + 1) FROM gpkg_spatial_ref_sys",
            [],
            |r| r.get(0),
        )?
    } else {
        i64::from(code)
    };
    let (srs_name, definition) = crs_definition(code).unwrap_or_else(|| {
        tracing::warn!(
            epsg = code,
            "GeoPackage store: EPSG code unknown to PROJ, registered without a definition"
        );
        (format!("EPSG:{code}"), "undefined".to_owned())
    });
    conn.execute(
        "INSERT INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, organization_coordsys_id, definition) \
         VALUES (?1, ?2, 'EPSG', ?3, ?4)",
        params![srs_name, id, code, definition],
    )?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_definitions_need_no_crs_database() {
        let (name, wkt) = crs_definition(4326).unwrap();
        assert_eq!(
            (name.as_str(), wkt.as_str()),
            ("WGS 84 geodetic", WGS84_WKT)
        );
        let (name, wkt) = crs_definition(32718).unwrap();
        assert_eq!(name, "WGS 84 / UTM zone 18S");
        assert!(
            wkt.starts_with(r#"PROJCS["WGS 84 / UTM zone 18S""#),
            "{wkt}"
        );
        assert!(
            wkt.contains(r#"PARAMETER["central_meridian",-75]"#),
            "{wkt}"
        );
        assert!(wkt.ends_with(r#"AUTHORITY["EPSG","32718"]]"#), "{wkt}");
        let (name, _) = crs_definition(32601).unwrap();
        assert_eq!(name, "WGS 84 / UTM zone 1N");
    }

    /// Without GDAL, codes outside WGS 84 and its UTM zones have no definition.
    #[cfg(not(feature = "gdal"))]
    #[test]
    fn other_codes_are_unknown_without_gdal() {
        assert!(crs_definition(24878).is_none());
    }

    #[cfg(feature = "gdal")]
    #[test]
    fn utm_definitions_match_proj() {
        for code in [32617, 32618, 32619, 32718, 32719, 32601, 32760] {
            let (name, wkt) = crs_definition(code).unwrap();
            let ours = gdal::spatial_ref::SpatialRef::from_wkt(&wkt).unwrap();
            let proj = gdal::spatial_ref::SpatialRef::from_epsg(code).unwrap();
            assert!(ours == proj, "EPSG:{code}: {wkt}");
            assert_eq!(Some(name), proj.name(), "EPSG:{code}");
            assert_eq!(ours.auth_code().unwrap(), code as i32);
        }
        // Other codes come from PROJ's database.
        let (name, wkt) = crs_definition(24878).unwrap();
        assert_eq!(name, "PSAD56 / UTM zone 18S");
        assert!(
            wkt.contains("Provisional_South_American_Datum_1956"),
            "{wkt}"
        );
        assert!(crs_definition(999_999).is_none());
    }
}
