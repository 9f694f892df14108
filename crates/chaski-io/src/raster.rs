//! Raster input and output through GDAL (GeoTIFF and every raster format GDAL reads).

use chaski_core::raster::Raster;
use gdal::raster::Buffer;
use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, DriverManager};
use std::path::{Path, PathBuf};

/// Errors reading or writing rasters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RasterError {
    /// GDAL could not open or read the file.
    #[error("{path}: cannot read raster: {reason}")]
    Read {
        /// File (or GDAL dataset name).
        path: PathBuf,
        /// What GDAL said.
        reason: String,
    },
    /// The raster has no CRS (or none GDAL identifies with an EPSG code).
    #[error(
        "{path}: the raster has no CRS (none that GDAL identifies with an EPSG code), so its cells \
         cannot be placed on the map; assign one with `gdal_edit.py -a_srs EPSG:32718 {path}` \
         (UTM 18S; 32717 and 32719 for zones 17S and 19S, 4326 for longitude/latitude), or give it \
         in a mapping file (crs = \"EPSG:32718\") passed with --mapping"
    )]
    NoCrs {
        /// The file.
        path: PathBuf,
    },
    /// The raster has no geotransform: its cells are not placed anywhere.
    #[error(
        "{path}: the raster has no georeferencing (no geotransform{crs}), so its cells cannot be \
         placed on the map; assign it with `gdal_edit.py -a_srs EPSG:32718 -a_ullr ULX ULY LRX LRY \
         {path}` (the CRS and its upper-left and lower-right corners), or georeference it in QGIS \
         (Raster > Georeferencer)"
    )]
    NoGeoreference {
        /// The file.
        path: PathBuf,
        /// ", no CRS" when it has no CRS either.
        crs: &'static str,
    },
    /// GDAL could not write the file.
    #[error("{path}: cannot write raster: {reason}")]
    Write {
        /// File.
        path: PathBuf,
        /// What GDAL said.
        reason: String,
    },
}

fn read_err(path: &Path, e: impl std::fmt::Display) -> RasterError {
    RasterError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> RasterError {
    RasterError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Read band 1 of a raster as `f32`, with its geotransform, EPSG code and nodata value.
///
/// The CRS is resolved (PROJ looks it up in its database, the slow part of
/// opening a GeoTIFF) through a second handle on another thread while the
/// cells are read; uncompressed GeoTIFF cells are read straight into the
/// buffer, past GDAL's block cache.
pub fn read_raster(path: &Path) -> Result<Raster<f32>, RasterError> {
    std::thread::scope(|s| {
        let georeference = s.spawn(|| {
            let ds = Dataset::open(path).map_err(|e| read_err(path, e))?;
            georeference(&ds, path)
        });
        let cells = (|| {
            let ds = Dataset::open(path).map_err(|e| read_err(path, e))?;
            // Thread-local: other threads' reads keep GDAL's defaults.
            let direct = gdal::config::set_thread_local_config_option("GTIFF_DIRECT_IO", "YES");
            let cells = cells(&ds, path);
            if direct.is_ok() {
                let _ = gdal::config::clear_thread_local_config_option("GTIFF_DIRECT_IO");
            }
            cells
        })();
        let georeference = georeference
            .join()
            .map_err(|_| read_err(path, "reading the georeferencing panicked"))?;
        Ok(assemble(cells?, georeference?))
    })
}

/// A raster from its cells and its georeferencing.
fn assemble(
    (width, height, nodata, data): (usize, usize, Option<f64>, Vec<f32>),
    (transform, epsg): (chaski_core::raster::GeoTransform, Option<u32>),
) -> Raster<f32> {
    Raster {
        width,
        height,
        transform,
        epsg,
        nodata,
        data,
    }
}

/// Read band 1 of an open dataset.
pub fn raster_from_dataset(ds: &Dataset, path: &Path) -> Result<Raster<f32>, RasterError> {
    Ok(assemble(cells(ds, path)?, georeference(ds, path)?))
}

/// Width, height, nodata and cells of band 1.
fn cells(ds: &Dataset, path: &Path) -> Result<(usize, usize, Option<f64>, Vec<f32>), RasterError> {
    if ds.raster_count() < 1 {
        return Err(read_err(path, "the file has no raster band"));
    }
    let band = ds.rasterband(1).map_err(|e| read_err(path, e))?;
    let (width, height) = ds.raster_size();
    let nodata = band.no_data_value();
    let buf: Buffer<f32> = band
        .read_as((0, 0), (width, height), (width, height), None)
        .map_err(|e| read_err(path, e))?;
    Ok((width, height, nodata, buf.into_shape_and_vec().1))
}

/// Geotransform and EPSG code (None: no CRS GDAL identifies with one).
fn georeference(
    ds: &Dataset,
    path: &Path,
) -> Result<(chaski_core::raster::GeoTransform, Option<u32>), RasterError> {
    let srs = ds.spatial_ref().ok();
    let transform = ds
        .geo_transform()
        .map_err(|_| RasterError::NoGeoreference {
            path: path.to_owned(),
            crs: if srs.is_some() { "" } else { ", no CRS" },
        })?;
    let epsg = srs
        .and_then(|mut sr| {
            let _ = sr.auto_identify_epsg();
            sr.auth_code().ok()
        })
        .and_then(|c| u32::try_from(c).ok());
    Ok((transform, epsg))
}

/// Write `raster` as a single-band Float32 file with `driver` (e.g. `GTiff`)
/// and creation options (e.g. `COMPRESS=DEFLATE`).
pub fn write_raster(
    raster: &Raster<f32>,
    path: &Path,
    driver: &str,
    options: &[&str],
) -> Result<(), RasterError> {
    write_raster_owned(raster.clone(), path, driver, options)
}

/// [`write_raster`] for a raster the caller no longer needs: its cells go to
/// GDAL without a copy.
pub fn write_raster_owned(
    raster: Raster<f32>,
    path: &Path,
    driver: &str,
    options: &[&str],
) -> Result<(), RasterError> {
    write_described(raster, path, driver, options, None)
}

/// What a written band is: its description and unit, and metadata items of
/// the file (GDAL keeps them in GeoTIFF's `GDAL_METADATA` tag; QGIS and
/// `gdalinfo` show them).
#[derive(Debug, Clone, Copy, Default)]
pub struct BandInfo<'a> {
    /// Band description (`travel time to the nearest facility`).
    pub description: &'a str,
    /// Unit of the values (`minutes`), as the band's `UNITS` item.
    pub unit: &'a str,
    /// Dataset metadata items (key, value).
    pub metadata: &'a [(&'a str, &'a str)],
}

/// [`write_raster_owned`] with a band description, unit and file metadata.
pub fn write_raster_described(
    raster: Raster<f32>,
    path: &Path,
    driver: &str,
    options: &[&str],
    info: &BandInfo<'_>,
) -> Result<(), RasterError> {
    write_described(raster, path, driver, options, Some(info))
}

fn write_described(
    raster: Raster<f32>,
    path: &Path,
    driver: &str,
    options: &[&str],
    info: Option<&BandInfo<'_>>,
) -> Result<(), RasterError> {
    use gdal::Metadata as _;
    let drv = DriverManager::get_driver_by_name(driver).map_err(|e| write_err(path, e))?;
    let opts: gdal::cpl::CslStringList = options.iter().copied().collect();
    let mut ds = drv
        .create_with_band_type_with_options::<f32, _>(path, raster.width, raster.height, 1, &opts)
        .map_err(|e| write_err(path, e))?;
    ds.set_geo_transform(&raster.transform)
        .map_err(|e| write_err(path, e))?;
    if let Some(epsg) = raster.epsg {
        let sr = SpatialRef::from_epsg(epsg).map_err(|e| write_err(path, e))?;
        ds.set_spatial_ref(&sr).map_err(|e| write_err(path, e))?;
    }
    if let Some(info) = info {
        for (k, v) in info.metadata {
            ds.set_metadata_item(k, v, "")
                .map_err(|e| write_err(path, e))?;
        }
    }
    let mut band = ds.rasterband(1).map_err(|e| write_err(path, e))?;
    if let Some(info) = info {
        band.set_description(info.description)
            .map_err(|e| write_err(path, e))?;
        if !info.unit.is_empty() {
            band.set_metadata_item("UNITS", info.unit, "")
                .map_err(|e| write_err(path, e))?;
        }
    }
    if let Some(nd) = raster.nodata {
        band.set_no_data_value(Some(nd))
            .map_err(|e| write_err(path, e))?;
    }
    let mut buf = Buffer::new((raster.width, raster.height), raster.data);
    band.write((0, 0), (raster.width, raster.height), &mut buf)
        .map_err(|e| write_err(path, e))?;
    ds.flush_cache().map_err(|e| write_err(path, e))?;
    Ok(())
}

/// Write a deflate-compressed, tiled GeoTIFF (QGIS opens it directly).
pub fn write_geotiff(raster: &Raster<f32>, path: &Path) -> Result<(), RasterError> {
    write_raster(
        raster,
        path,
        "GTiff",
        &["COMPRESS=DEFLATE", "PREDICTOR=3", "TILED=YES"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geotiff_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.tif");
        let mut r = Raster::filled(
            3,
            2,
            [500_000.0, 30.0, 0.0, 8_600_000.0, 0.0, -30.0],
            Some(32718),
            1.5f32,
        );
        r.nodata = Some(-9999.0);
        r.data[4] = -9999.0;
        write_geotiff(&r, &path).unwrap();
        let back = read_raster(&path).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn a_raster_without_georeferencing_says_how_to_assign_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.tif");
        let drv = DriverManager::get_driver_by_name("GTiff").unwrap();
        let ds = drv.create_with_band_type::<f32, _>(&path, 4, 3, 1).unwrap();
        drop(ds);
        let e = read_raster(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}: ", path.display())), "{e}");
        assert!(
            e.contains("no georeferencing (no geotransform, no CRS)"),
            "{e}"
        );
        assert!(e.contains("gdal_edit.py -a_srs EPSG:32718"), "{e}");
        assert!(!e.contains("CPL error"), "{e}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = read_raster(Path::new("/nonexistent/x.tif")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.tif"), "{e}");
    }
}
