//! Rasters as rows of `chaski_rasters`: size, geotransform, EPSG code,
//! nodata, bounds and the Float32 cells (little-endian, row-major) in a `bytea`.

use super::error::{PgResult, PostgisError};
use super::{Names, bump_version};
use chaski_core::raster::Raster;
use chaski_core::store::{RasterInfo, StoreError};

/// Every raster, in name order.
pub(super) fn raster_infos(c: &mut postgres::Client, n: &Names) -> PgResult<Vec<RasterInfo>> {
    c.query(
        &format!(
            "SELECT name, width, height, epsg, bounds, version FROM {} ORDER BY name",
            n.rasters()
        ),
        &[],
    )?
    .iter()
    .map(|r| {
        let name: String = r.try_get(0)?;
        let bounds: Vec<f64> = r.try_get(4)?;
        Ok(RasterInfo {
            width: usize::try_from(r.try_get::<_, i32>(1)?).unwrap_or(0),
            height: usize::try_from(r.try_get::<_, i32>(2)?).unwrap_or(0),
            epsg: r
                .try_get::<_, Option<i32>>(3)?
                .and_then(|e| u32::try_from(e).ok()),
            bounds: <[f64; 4]>::try_from(bounds).map_err(|_| {
                PostgisError::Corrupt(format!("raster '{name}': bounds are not 4 numbers"))
            })?,
            version: u64::try_from(r.try_get::<_, i64>(5)?).unwrap_or(0),
            name,
        })
    })
    .collect()
}

/// Read a raster.
pub(super) fn read_raster(
    c: &mut postgres::Client,
    n: &Names,
    name: &str,
) -> PgResult<Raster<f32>> {
    let row = c
        .query_opt(
            &format!(
                "SELECT width, height, transform, epsg, nodata, data FROM {} WHERE name = $1",
                n.rasters()
            ),
            &[&name],
        )?
        .ok_or_else(|| StoreError::NotFound(name.to_owned()))?;
    let width = usize::try_from(row.try_get::<_, i32>(0)?).unwrap_or(0);
    let height = usize::try_from(row.try_get::<_, i32>(1)?).unwrap_or(0);
    let transform: Vec<f64> = row.try_get(2)?;
    let bytes: &[u8] = row.try_get(5)?;
    let bad = |what: &str| PostgisError::Corrupt(format!("raster '{name}': {what}"));
    if bytes.len() != width * height * 4 {
        return Err(bad("the cells do not fill width × height"));
    }
    Ok(Raster {
        width,
        height,
        transform: <[f64; 6]>::try_from(transform)
            .map_err(|_| bad("the geotransform is not 6 numbers"))?,
        epsg: row
            .try_get::<_, Option<i32>>(3)?
            .and_then(|e| u32::try_from(e).ok()),
        nodata: row.try_get(4)?,
        data: bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    })
}

/// Write (replace) a raster; the new data version.
pub(super) fn write_raster(
    c: &mut postgres::Client,
    n: &Names,
    name: &str,
    raster: &Raster<f32>,
) -> PgResult<u64> {
    if raster.data.len() != raster.width * raster.height {
        return Err(StoreError::Conflict {
            layer: name.to_owned(),
            reason: "the raster's cells do not fill width × height".into(),
        }
        .into());
    }
    let too_big = || StoreError::Conflict {
        layer: name.to_owned(),
        reason: "the raster is too large for the store".into(),
    };
    let width = i32::try_from(raster.width).map_err(|_| too_big())?;
    let height = i32::try_from(raster.height).map_err(|_| too_big())?;
    let mut data = Vec::with_capacity(raster.data.len() * 4);
    for v in &raster.data {
        data.extend_from_slice(&v.to_le_bytes());
    }
    let (x0, y0, x1, y1) = raster.bounds();
    let mut tx = c.transaction()?;
    let version = bump_version(&mut tx, n)?;
    tx.execute(
        &format!(
            "INSERT INTO {} (name, width, height, transform, epsg, nodata, bounds, data, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO UPDATE SET \
             width = EXCLUDED.width, height = EXCLUDED.height, transform = EXCLUDED.transform, \
             epsg = EXCLUDED.epsg, nodata = EXCLUDED.nodata, bounds = EXCLUDED.bounds, \
             data = EXCLUDED.data, version = EXCLUDED.version",
            n.rasters()
        ),
        &[
            &name,
            &width,
            &height,
            &raster.transform.to_vec(),
            &raster.epsg.and_then(|e| i32::try_from(e).ok()),
            &raster.nodata,
            &vec![x0, y0, x1, y1],
            &data,
            &i64::try_from(version).unwrap_or(i64::MAX),
        ],
    )?;
    tx.commit()?;
    Ok(version)
}
