//! Rasters as GeoPackage 2D gridded coverages (OGC 17-066r1, the
//! `gpkg_2d_gridded_coverage` extension), which GDAL and QGIS open directly
//! (`gdalinfo GPKG:store.gpkg:dem`).
//!
//! Each raster is a tile pyramid table named after the raster with one zoom
//! level (0) of 256 x 256 tiles, registered in `gpkg_contents` (data type
//! `2d-gridded-coverage`, bounds of the raster itself), `gpkg_tile_matrix_set`
//! (origin at the raster's top-left corner, extent padded to whole tiles),
//! `gpkg_tile_matrix`, `gpkg_2d_gridded_coverage_ancillary` (datatype `float`,
//! `data_null` = the nodata value, `grid-value-is-area`) and
//! `gpkg_2d_gridded_tile_ancillary` (min, max, mean and standard deviation of
//! each tile), in the raster's own CRS (`gpkg_spatial_ref_sys`, srs_id = the
//! EPSG code; -1, undefined, without one).
//!
//! Tiles are the extension's TIFF encoding: baseline TIFF, one band of IEEE
//! Float32 samples, LZW-compressed without predictor (the only encoding
//! extensions 17-066r1 allows; what GDAL itself writes for Float32
//! coverages). Cells round-trip bit for bit (NaN payloads included); the
//! 16-bit PNG encoding would have quantised elevations through a scale and
//! offset. Tiles are written with the pure-Rust `tiff` crate: GDAL is not
//! used to write the store.
//!
//! chaski's own bookkeeping is `chaski_coverages` (data version per raster,
//! and whether the nodata value is NaN, which `data_null` cannot hold).
//!
//! Stores written before kept rasters in `chaski_rasters` (zlib-compressed
//! little-endian `f32` cells, geotransform as JSON). They are moved into
//! coverages when the store is opened ([`migrate_legacy`]); a raster that
//! cannot be moved (a rotated grid, a damaged row, a read-only file) stays
//! there and is still read.

use super::error::GpkgError;
use super::meta::{bump_version, load_meta, table_exists, to_version};
use super::sql::q;
use super::srs::srs_id;
use chaski_core::raster::Raster;
use chaski_core::store::{RasterInfo, StoreError};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, TransactionBehavior, params};
use std::borrow::Cow;
use std::io::{Cursor, Read};

/// Width and height of every tile.
pub(super) const TILE: usize = 256;
/// The one zoom level chaski writes.
const ZOOM: i64 = 0;
/// The extension's name in `gpkg_extensions`.
const EXTENSION: &str = "gpkg_2d_gridded_coverage";
/// The extension's definition in `gpkg_extensions`.
const EXTENSION_URL: &str = "http://docs.opengeospatial.org/is/17-066r1/17-066r1.html";
/// The table of stores written before coverages.
const LEGACY_TABLE: &str = "chaski_rasters";

/// The GeoPackage tile tables and the extension's tables (created with the
/// first raster).
const COVERAGE_SCHEMA_SQL: &str = r"
CREATE TABLE IF NOT EXISTS gpkg_tile_matrix_set (
  table_name TEXT NOT NULL PRIMARY KEY,
  srs_id INTEGER NOT NULL,
  min_x DOUBLE NOT NULL, min_y DOUBLE NOT NULL, max_x DOUBLE NOT NULL, max_y DOUBLE NOT NULL,
  CONSTRAINT fk_gtms_table_name FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gtms_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
CREATE TABLE IF NOT EXISTS gpkg_tile_matrix (
  table_name TEXT NOT NULL,
  zoom_level INTEGER NOT NULL,
  matrix_width INTEGER NOT NULL,
  matrix_height INTEGER NOT NULL,
  tile_width INTEGER NOT NULL,
  tile_height INTEGER NOT NULL,
  pixel_x_size DOUBLE NOT NULL,
  pixel_y_size DOUBLE NOT NULL,
  CONSTRAINT pk_ttm PRIMARY KEY (table_name, zoom_level),
  CONSTRAINT fk_tmm_table_name FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name)
);
CREATE TABLE IF NOT EXISTS gpkg_2d_gridded_coverage_ancillary (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  tile_matrix_set_name TEXT NOT NULL UNIQUE,
  datatype TEXT NOT NULL DEFAULT 'integer',
  scale REAL NOT NULL DEFAULT 1.0,
  offset REAL NOT NULL DEFAULT 0.0,
  precision REAL DEFAULT 1.0,
  data_null REAL,
  grid_cell_encoding TEXT DEFAULT 'grid-value-is-center',
  uom TEXT,
  field_name TEXT DEFAULT 'Height',
  quantity_definition TEXT DEFAULT 'Height',
  CONSTRAINT fk_g2dgtct_name FOREIGN KEY (tile_matrix_set_name) REFERENCES gpkg_tile_matrix_set (table_name),
  CHECK (datatype IN ('integer', 'float'))
);
CREATE TABLE IF NOT EXISTS gpkg_2d_gridded_tile_ancillary (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  tpudt_name TEXT NOT NULL,
  tpudt_id INTEGER NOT NULL,
  scale REAL NOT NULL DEFAULT 1.0,
  offset REAL NOT NULL DEFAULT 0.0,
  min REAL DEFAULT NULL,
  max REAL DEFAULT NULL,
  mean REAL DEFAULT NULL,
  std_dev REAL DEFAULT NULL,
  CONSTRAINT fk_g2dgtat_name FOREIGN KEY (tpudt_name) REFERENCES gpkg_contents(table_name),
  UNIQUE (tpudt_name, tpudt_id)
);
";

fn conflict(name: &str, reason: impl Into<String>) -> GpkgError {
    GpkgError::Store(StoreError::Conflict {
        layer: name.to_owned(),
        reason: reason.into(),
    })
}

fn corrupt(name: &str, reason: impl std::fmt::Display) -> GpkgError {
    GpkgError::Corrupt(format!("raster '{name}': {reason}"))
}

// ---------------------------------------------------------------------------
// The grid as stored: north up, cells from the top-left corner
// ---------------------------------------------------------------------------

/// A raster checked and turned north up, ready to be tiled.
struct Grid<'a> {
    width: usize,
    height: usize,
    /// Top-left corner.
    min_x: f64,
    max_y: f64,
    /// Cell size along x and y (positive).
    px: f64,
    py: f64,
    epsg: Option<u32>,
    nodata: Option<f64>,
    data: Cow<'a, [f32]>,
}

impl<'a> Grid<'a> {
    /// Check `raster` and turn it north up: a grid stored bottom-up or
    /// right-to-left is flipped (losslessly); a rotated one is refused.
    fn new(name: &str, raster: &'a Raster<f32>) -> Result<Self, GpkgError> {
        let cells = raster
            .width
            .checked_mul(raster.height)
            .ok_or_else(|| conflict(name, "raster size overflows"))?;
        if raster.data.len() != cells {
            return Err(conflict(
                name,
                format!(
                    "raster has {} cells but is {} x {} ({cells} cells)",
                    raster.data.len(),
                    raster.width,
                    raster.height
                ),
            ));
        }
        if cells == 0 {
            return Err(conflict(
                name,
                format!("raster is empty ({} x {})", raster.width, raster.height),
            ));
        }
        if raster.width > i32::MAX as usize || raster.height > i32::MAX as usize {
            return Err(conflict(name, "raster is too large"));
        }
        let t = raster.transform;
        if t.iter().any(|v| !v.is_finite()) {
            return Err(conflict(name, "raster transform has a non-finite value"));
        }
        if t[2] != 0.0 || t[4] != 0.0 || t[1] == 0.0 || t[5] == 0.0 {
            return Err(conflict(
                name,
                format!(
                    "raster geotransform {t:?} is rotated or degenerate: a GeoPackage coverage \
                     holds north-up grids (warp it first, e.g. gdalwarp)"
                ),
            ));
        }
        let (w, h) = (raster.width, raster.height);
        let mut data = Cow::Borrowed(raster.data.as_slice());
        let (mut min_x, mut max_y) = (t[0], t[3]);
        if t[1] < 0.0 {
            min_x = t[0] + w as f64 * t[1];
            for row in data.to_mut().chunks_exact_mut(w) {
                row.reverse();
            }
        }
        if t[5] > 0.0 {
            max_y = t[3] + h as f64 * t[5];
            let d = data.to_mut();
            for r in 0..h / 2 {
                let (top, bottom) = d.split_at_mut((h - 1 - r) * w);
                top[r * w..(r + 1) * w].swap_with_slice(&mut bottom[..w]);
            }
        }
        Ok(Self {
            width: w,
            height: h,
            min_x,
            max_y,
            px: t[1].abs(),
            py: t[5].abs(),
            epsg: raster.epsg,
            nodata: raster.nodata,
            data,
        })
    }

    fn matrix(&self) -> (usize, usize) {
        (self.width.div_ceil(TILE), self.height.div_ceil(TILE))
    }

    /// The value padding edge tiles beyond the raster, and filling tiles that are missing.
    fn fill(&self) -> f32 {
        self.nodata.map_or(0.0, |v| v as f32)
    }
}

/// One encoded tile with its statistics.
struct Tile {
    col: usize,
    row: usize,
    tiff: Vec<u8>,
    /// Min, max, mean and standard deviation of its valid cells.
    stats: Option<[f64; 4]>,
}

/// Cut `g` into 256 x 256 tiles encoded as Float32 LZW TIFF.
fn encode_tiles(name: &str, g: &Grid<'_>) -> Result<Vec<Tile>, GpkgError> {
    let (mw, mh) = g.matrix();
    let nodata = g.nodata.map(|v| v as f32);
    let mut buf = vec![0f32; TILE * TILE];
    let mut tiles = Vec::with_capacity(mw * mh);
    for row in 0..mh {
        for col in 0..mw {
            buf.fill(g.fill());
            let (x0, y0) = (col * TILE, row * TILE);
            let cols = TILE.min(g.width - x0);
            let mut acc = Stats::default();
            for r in 0..TILE.min(g.height - y0) {
                let src = &g.data[(y0 + r) * g.width + x0..][..cols];
                buf[r * TILE..r * TILE + cols].copy_from_slice(src);
                for &v in src {
                    if v.is_finite() && nodata.is_none_or(|nd| v.to_bits() != nd.to_bits()) {
                        acc.add(f64::from(v));
                    }
                }
            }
            let tiff = encode_tiff(&buf).map_err(|e| {
                GpkgError::Backend(format!(
                    "raster '{name}': encoding tile ({col}, {row}) as TIFF: {e}"
                ))
            })?;
            tiles.push(Tile {
                col,
                row,
                tiff,
                stats: acc.finish(),
            });
        }
    }
    Ok(tiles)
}

fn encode_tiff(cells: &[f32]) -> tiff::TiffResult<Vec<u8>> {
    let mut out = Cursor::new(Vec::with_capacity(cells.len() * 4 + 512));
    let mut enc = tiff::encoder::TiffEncoder::new(&mut out)?
        .with_compression(tiff::encoder::Compression::Lzw);
    enc.write_image::<tiff::encoder::colortype::Gray32Float>(TILE as u32, TILE as u32, cells)?;
    Ok(out.into_inner())
}

/// Decode one tile: `tw` x `th` Float32 samples.
fn decode_tiff(name: &str, bytes: &[u8], tw: usize, th: usize) -> Result<Vec<f32>, GpkgError> {
    let bad = |e: tiff::TiffError| corrupt(name, format!("unreadable TIFF tile: {e}"));
    let mut dec = tiff::decoder::Decoder::new(Cursor::new(bytes)).map_err(bad)?;
    let (w, h) = dec.dimensions().map_err(bad)?;
    if (w as usize, h as usize) != (tw, th) {
        return Err(corrupt(
            name,
            format!("a tile is {w} x {h}, expected {tw} x {th}"),
        ));
    }
    match dec.read_image().map_err(bad)? {
        tiff::decoder::DecodingResult::F32(v) if v.len() == tw * th => Ok(v),
        _ => Err(corrupt(name, "a tile is not one band of Float32 samples")),
    }
}

/// Running statistics of a tile's valid cells (Welford).
#[derive(Default)]
struct Stats {
    n: u64,
    min: f64,
    max: f64,
    mean: f64,
    m2: f64,
}

impl Stats {
    fn add(&mut self, v: f64) {
        if self.n == 0 {
            (self.min, self.max) = (v, v);
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.n += 1;
        let d = v - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (v - self.mean);
    }

    fn finish(&self) -> Option<[f64; 4]> {
        (self.n > 0).then(|| {
            [
                self.min,
                self.max,
                self.mean,
                (self.m2 / self.n as f64).sqrt(),
            ]
        })
    }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// True when `name` is a coverage chaski wrote.
fn is_coverage(conn: &Connection, name: &str) -> Result<bool, GpkgError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM chaski_coverages WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )?)
}

/// Register the extension's tables once.
fn ensure_coverage_schema(conn: &Connection) -> Result<(), GpkgError> {
    conn.execute_batch(COVERAGE_SCHEMA_SQL)?;
    super::schema::insert_wgs84_3d(conn)?;
    for table in [
        "gpkg_2d_gridded_coverage_ancillary",
        "gpkg_2d_gridded_tile_ancillary",
    ] {
        // (table_name, NULL, extension) is not caught by the UNIQUE constraint (NULLs differ).
        conn.execute(
            "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) \
             SELECT ?1, NULL, ?2, ?3, 'read-write' WHERE NOT EXISTS (SELECT 1 FROM gpkg_extensions \
             WHERE table_name = ?1 AND column_name IS NULL AND extension_name = ?2)",
            params![table, EXTENSION, EXTENSION_URL],
        )?;
    }
    Ok(())
}

/// Remove coverage `name` (its tile table and every registration).
fn drop_coverage(conn: &Connection, name: &str) -> Result<(), GpkgError> {
    conn.execute_batch(&format!("DROP TABLE IF EXISTS {};", q(name)))?;
    for sql in [
        "DELETE FROM gpkg_2d_gridded_tile_ancillary WHERE tpudt_name = ?1",
        "DELETE FROM gpkg_2d_gridded_coverage_ancillary WHERE tile_matrix_set_name = ?1",
        "DELETE FROM gpkg_tile_matrix WHERE table_name = ?1",
        "DELETE FROM gpkg_tile_matrix_set WHERE table_name = ?1",
        "DELETE FROM gpkg_extensions WHERE table_name = ?1",
        "DELETE FROM gpkg_contents WHERE table_name = ?1",
        "DELETE FROM chaski_coverages WHERE name = ?1",
    ] {
        conn.execute(sql, [name])?;
    }
    Ok(())
}

/// Write coverage `name` in the caller's transaction, replacing one of that name.
fn store_coverage(
    conn: &Connection,
    name: &str,
    g: &Grid<'_>,
    tiles: &[Tile],
    version: u64,
) -> Result<(), GpkgError> {
    ensure_coverage_schema(conn)?;
    drop_coverage(conn, name)?;
    let srs = srs_id(conn, g.epsg)?;
    let (mw, mh) = g.matrix();
    let max_x = g.min_x + g.width as f64 * g.px;
    let min_y = g.max_y - g.height as f64 * g.py;
    conn.execute_batch(&format!(
        "CREATE TABLE {} (id INTEGER PRIMARY KEY AUTOINCREMENT, zoom_level INTEGER NOT NULL, \
         tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_data BLOB NOT NULL, \
         UNIQUE (zoom_level, tile_column, tile_row));",
        q(name)
    ))?;
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id) \
         VALUES (?1, '2d-gridded-coverage', CASE WHEN EXISTS (SELECT 1 FROM gpkg_contents WHERE identifier = ?1) \
         THEN NULL ELSE ?1 END, 'chaski raster', ?2, ?3, ?4, ?5, ?6)",
        params![name, g.min_x, min_y, max_x, g.max_y, srs],
    )?;
    conn.execute(
        "INSERT INTO gpkg_tile_matrix_set (table_name, srs_id, min_x, min_y, max_x, max_y) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            name,
            srs,
            g.min_x,
            g.max_y - (mh * TILE) as f64 * g.py,
            g.min_x + (mw * TILE) as f64 * g.px,
            g.max_y
        ],
    )?;
    conn.execute(
        "INSERT INTO gpkg_tile_matrix VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
        params![name, ZOOM, mw as i64, mh as i64, TILE as i64, g.px, g.py],
    )?;
    let data_null = g.nodata.filter(|v| !v.is_nan());
    conn.execute(
        "INSERT INTO gpkg_2d_gridded_coverage_ancillary (tile_matrix_set_name, datatype, scale, \
         offset, precision, data_null, grid_cell_encoding, uom, field_name, quantity_definition) \
         VALUES (?1, 'float', 1.0, 0.0, NULL, ?2, 'grid-value-is-area', NULL, ?1, ?1)",
        params![name, data_null],
    )?;
    {
        let mut put_tile = conn.prepare(&format!(
            "INSERT INTO {} (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)",
            q(name)
        ))?;
        let mut put_stats = conn.prepare(
            "INSERT INTO gpkg_2d_gridded_tile_ancillary (tpudt_name, tpudt_id, scale, offset, min, max, mean, std_dev) \
             VALUES (?1, ?2, 1.0, 0.0, ?3, ?4, ?5, ?6)",
        )?;
        for t in tiles {
            let id = put_tile.insert(params![ZOOM, t.col as i64, t.row as i64, t.tiff])?;
            let s = t.stats.map_or([None; 4], |s| s.map(Some));
            put_stats.execute(params![name, id, s[0], s[1], s[2], s[3]])?;
        }
    }
    conn.execute(
        "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) \
         VALUES (?1, 'tile_data', ?2, ?3, 'read-write')",
        params![name, EXTENSION, EXTENSION_URL],
    )?;
    conn.execute(
        "INSERT INTO chaski_coverages (name, version, nodata_nan) VALUES (?1, ?2, ?3)",
        params![name, version as i64, g.nodata.is_some_and(f64::is_nan)],
    )?;
    Ok(())
}

/// Refuse `name` when another table (a vector layer, a foreign table) holds it.
fn check_free(conn: &Connection, name: &str) -> Result<(), GpkgError> {
    if load_meta(conn, name)?.is_some() {
        return Err(conflict(
            name,
            "a vector layer of that name is in the store",
        ));
    }
    if !is_coverage(conn, name)? && table_exists(conn, name)? {
        return Err(conflict(
            name,
            "the GeoPackage already has a table of that name not managed by chaski",
        ));
    }
    Ok(())
}

/// Write (replace) raster `name` as a coverage in one transaction; returns the new data version.
pub(super) fn write_raster_tx(
    conn: &mut Connection,
    name: &str,
    raster: &Raster<f32>,
) -> Result<u64, GpkgError> {
    let grid = Grid::new(name, raster)?;
    let tiles = encode_tiles(name, &grid)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    check_free(&tx, name)?;
    let version = bump_version(&tx)?;
    store_coverage(&tx, name, &grid, &tiles, version)?;
    if table_exists(&tx, LEGACY_TABLE)? {
        tx.execute("DELETE FROM chaski_rasters WHERE name = ?1", [name])?;
    }
    tx.commit()?;
    Ok(version)
}

/// Delete raster `name` (coverage or old-format row) in the caller's
/// transaction; false when there was none.
pub(super) fn delete_raster(conn: &Connection, name: &str) -> Result<bool, GpkgError> {
    let mut existed = false;
    if is_coverage(conn, name)? {
        drop_coverage(conn, name)?;
        existed = true;
    }
    if table_exists(conn, LEGACY_TABLE)? {
        existed |= conn.execute("DELETE FROM chaski_rasters WHERE name = ?1", [name])? > 0;
    }
    Ok(existed)
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// A coverage's registration, as read from the GeoPackage tables.
struct CoverageMeta {
    name: String,
    version: u64,
    width: usize,
    height: usize,
    transform: [f64; 6],
    epsg: Option<u32>,
    nodata: Option<f64>,
    tile_width: usize,
    tile_height: usize,
    matrix_width: usize,
    matrix_height: usize,
}

impl CoverageMeta {
    fn info(&self) -> RasterInfo {
        let shape = Raster::<f32> {
            width: self.width,
            height: self.height,
            transform: self.transform,
            epsg: self.epsg,
            nodata: None,
            data: Vec::new(),
        };
        let (a, b, c, d) = shape.bounds();
        RasterInfo {
            name: self.name.clone(),
            width: self.width,
            height: self.height,
            epsg: self.epsg,
            bounds: [a, b, c, d],
            version: self.version,
        }
    }
}

const META_SQL: &str = "SELECT k.name, k.version, k.nodata_nan, \
     c.min_x, c.min_y, c.max_x, c.max_y, s.organization, s.organization_coordsys_id, \
     t.min_x, t.max_y, m.pixel_x_size, m.pixel_y_size, m.tile_width, m.tile_height, \
     m.matrix_width, m.matrix_height, a.datatype, a.data_null, a.scale, a.offset \
     FROM chaski_coverages k \
     LEFT JOIN gpkg_contents c ON c.table_name = k.name \
     LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = c.srs_id \
     LEFT JOIN gpkg_tile_matrix_set t ON t.table_name = k.name \
     LEFT JOIN gpkg_tile_matrix m ON m.table_name = k.name AND m.zoom_level = 0 \
     LEFT JOIN gpkg_2d_gridded_coverage_ancillary a ON a.tile_matrix_set_name = k.name \
     WHERE ?1 IS NULL OR k.name = ?1 ORDER BY k.name";

fn size(name: &str, v: Option<i64>) -> Result<usize, GpkgError> {
    v.and_then(|v| usize::try_from(v).ok())
        .filter(|v| (1..=1 << 24).contains(v))
        .ok_or_else(|| corrupt(name, "invalid tile matrix in gpkg_tile_matrix"))
}

fn meta_from_row(r: &rusqlite::Row<'_>) -> Result<CoverageMeta, GpkgError> {
    let name: String = r.get(0)?;
    let version = to_version(r.get(1)?)?;
    let nodata_nan: bool = r.get(2)?;
    let num = |i: usize| -> Result<Option<f64>, GpkgError> { Ok(r.get::<_, Option<f64>>(i)?) };
    let (Some(min_x), Some(min_y), Some(max_x), Some(max_y)) = (num(3)?, num(4)?, num(5)?, num(6)?)
    else {
        return Err(corrupt(&name, "missing or incomplete gpkg_contents row"));
    };
    let (Some(tms_x), Some(tms_y), Some(px), Some(py)) = (num(9)?, num(10)?, num(11)?, num(12)?)
    else {
        return Err(corrupt(
            &name,
            "missing gpkg_tile_matrix_set or zoom level 0 in gpkg_tile_matrix",
        ));
    };
    let datatype: Option<String> = r.get(17)?;
    if datatype.as_deref() != Some("float") || num(19)? != Some(1.0) || num(20)? != Some(0.0) {
        return Err(corrupt(
            &name,
            "not a Float32 coverage (gpkg_2d_gridded_coverage_ancillary)",
        ));
    }
    // chaski writes the tile matrix origin as the raster's corner, exactly.
    if min_x.to_bits() != tms_x.to_bits() || max_y.to_bits() != tms_y.to_bits() {
        return Err(corrupt(
            &name,
            "the coverage does not start at its tile matrix origin",
        ));
    }
    if !(px > 0.0 && py > 0.0 && max_x > min_x && max_y > min_y)
        || [min_x, min_y, max_x, max_y, px, py]
            .iter()
            .any(|v| !v.is_finite())
    {
        return Err(corrupt(&name, "invalid bounds or cell size"));
    }
    let (tile_width, tile_height) = (size(&name, r.get(13)?)?, size(&name, r.get(14)?)?);
    let (matrix_width, matrix_height) = (size(&name, r.get(15)?)?, size(&name, r.get(16)?)?);
    let width = ((max_x - min_x) / px).round();
    let height = ((max_y - min_y) / py).round();
    let fits = |cells: f64, tiles: usize, tile: usize| {
        cells >= 1.0 && cells <= (tiles * tile) as f64 && cells > ((tiles - 1) * tile) as f64
    };
    if !fits(width, matrix_width, tile_width) || !fits(height, matrix_height, tile_height) {
        return Err(corrupt(
            &name,
            format!(
                "{width} x {height} cells do not fit a matrix of {matrix_width} x {matrix_height} tiles"
            ),
        ));
    }
    let org: Option<String> = r.get(7)?;
    let epsg = match (org, r.get::<_, Option<i64>>(8)?) {
        (Some(o), Some(code)) if o.eq_ignore_ascii_case("EPSG") => Some(
            u32::try_from(code).map_err(|_| corrupt(&name, format!("invalid EPSG code {code}")))?,
        ),
        _ => None,
    };
    let nodata = if nodata_nan {
        Some(f64::NAN)
    } else {
        match r.get_ref(18)? {
            ValueRef::Null => None,
            ValueRef::Real(v) => Some(v),
            ValueRef::Integer(v) => Some(v as f64),
            _ => return Err(corrupt(&name, "invalid data_null")),
        }
    };
    Ok(CoverageMeta {
        version,
        width: width as usize,
        height: height as usize,
        transform: [min_x, px, 0.0, max_y, 0.0, -py],
        epsg,
        nodata,
        tile_width,
        tile_height,
        matrix_width,
        matrix_height,
        name,
    })
}

fn coverage_metas(conn: &Connection, only: Option<&str>) -> Result<Vec<CoverageMeta>, GpkgError> {
    let any: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM chaski_coverages WHERE ?1 IS NULL OR name = ?1)",
        [only],
        |r| r.get(0),
    )?;
    if !any {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(META_SQL)?;
    let mut rows = stmt.query([only])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(meta_from_row(r)?);
    }
    Ok(out)
}

/// Read every tile of coverage `m`.
fn read_coverage(conn: &Connection, m: &CoverageMeta) -> Result<Raster<f32>, GpkgError> {
    let name = m.name.as_str();
    let cells = m.width * m.height;
    let fill = m.nodata.map_or(0.0, |v| v as f32);
    // A damaged registration must not abort the process with a huge allocation.
    let mut data = Vec::new();
    data.try_reserve_exact(cells).map_err(|_| {
        corrupt(
            name,
            format!("{} x {} cells do not fit in memory", m.width, m.height),
        )
    })?;
    data.resize(cells, fill);
    let mut seen = vec![false; m.matrix_width * m.matrix_height];
    let mut stmt = conn.prepare(&format!(
        "SELECT tile_column, tile_row, tile_data FROM {} WHERE zoom_level = ?1",
        q(name)
    ))?;
    let mut rows = stmt.query([ZOOM])?;
    while let Some(r) = rows.next()? {
        let (col, row): (i64, i64) = (r.get(0)?, r.get(1)?);
        let (Ok(col), Ok(row)) = (usize::try_from(col), usize::try_from(row)) else {
            return Err(corrupt(
                name,
                format!("tile ({col}, {row}) is outside the matrix"),
            ));
        };
        if col >= m.matrix_width || row >= m.matrix_height {
            return Err(corrupt(
                name,
                format!("tile ({col}, {row}) is outside the matrix"),
            ));
        }
        let ValueRef::Blob(bytes) = r.get_ref(2)? else {
            return Err(corrupt(name, "tile data is not a blob"));
        };
        let tile = decode_tiff(name, bytes, m.tile_width, m.tile_height)?;
        seen[row * m.matrix_width + col] = true;
        let (x0, y0) = (col * m.tile_width, row * m.tile_height);
        if x0 >= m.width || y0 >= m.height {
            continue;
        }
        let n = m.tile_width.min(m.width - x0);
        for r in 0..m.tile_height.min(m.height - y0) {
            data[(y0 + r) * m.width + x0..][..n]
                .copy_from_slice(&tile[r * m.tile_width..r * m.tile_width + n]);
        }
    }
    // A missing tile holds only nodata (GeoPackage tile sets may be sparse).
    let missing = seen.iter().filter(|s| !**s).count();
    if missing > 0 && m.nodata.is_none() {
        return Err(corrupt(
            name,
            format!("{missing} tiles are missing and the raster has no nodata value"),
        ));
    }
    Ok(Raster {
        width: m.width,
        height: m.height,
        transform: m.transform,
        epsg: m.epsg,
        nodata: m.nodata,
        data,
    })
}

/// Read raster `name`: a coverage, else an old-format row.
pub(super) fn read_raster_conn(conn: &Connection, name: &str) -> Result<Raster<f32>, GpkgError> {
    if let Some(m) = coverage_metas(conn, Some(name))?.into_iter().next() {
        return read_coverage(conn, &m);
    }
    match legacy_read(conn, name)? {
        Some((raster, _)) => Ok(raster),
        None => Err(StoreError::NotFound(name.to_owned()).into()),
    }
}

/// Every raster, coverages and old-format rows, in name order.
pub(super) fn raster_infos(conn: &Connection) -> Result<Vec<RasterInfo>, GpkgError> {
    let mut out: Vec<RasterInfo> = coverage_metas(conn, None)?
        .iter()
        .map(CoverageMeta::info)
        .collect();
    for info in legacy_infos(conn)? {
        if !out.iter().any(|i| i.name == info.name) {
            out.push(info);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

// ---------------------------------------------------------------------------
// Stores written before: `chaski_rasters`
// ---------------------------------------------------------------------------

fn decompress_cells(name: &str, blob: &[u8], cells: usize) -> Result<Vec<f32>, GpkgError> {
    let expected = cells
        .checked_mul(4)
        .ok_or_else(|| corrupt(name, "size overflows"))?;
    let mut bytes = Vec::with_capacity(expected.min(blob.len().saturating_mul(1100)));
    flate2::read::ZlibDecoder::new(blob)
        .take(expected as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| corrupt(name, format!("cells do not decompress: {e}")))?;
    if bytes.len() != expected {
        return Err(corrupt(
            name,
            format!(
                "{} bytes of cells{}, expected {expected} ({cells} cells)",
                bytes.len().min(expected),
                if bytes.len() > expected {
                    " or more"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn legacy_dims(name: &str, w: i64, h: i64) -> Result<(usize, usize), GpkgError> {
    match (usize::try_from(w), usize::try_from(h)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(corrupt(name, format!("invalid size {w} x {h}"))),
    }
}

fn legacy_transform(name: &str, s: &str) -> Result<[f64; 6], GpkgError> {
    serde_json::from_str(s).map_err(|e| corrupt(name, format!("unreadable transform: {e}")))
}

fn legacy_epsg(name: &str, v: Option<i64>) -> Result<Option<u32>, GpkgError> {
    v.map(|e| u32::try_from(e).map_err(|_| corrupt(name, format!("invalid EPSG code {e}"))))
        .transpose()
}

/// An old-format raster and its data version, None when there is none.
fn legacy_read(conn: &Connection, name: &str) -> Result<Option<(Raster<f32>, u64)>, GpkgError> {
    if !table_exists(conn, LEGACY_TABLE)? {
        return Ok(None);
    }
    let mut stmt = conn.prepare(
        "SELECT width, height, transform, epsg, nodata, data, version FROM chaski_rasters WHERE name = ?1",
    )?;
    let mut rows = stmt.query([name])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let (width, height) = legacy_dims(name, row.get(0)?, row.get(1)?)?;
    let transform = legacy_transform(name, &row.get::<_, String>(2)?)?;
    let epsg = legacy_epsg(name, row.get(3)?)?;
    let nodata = match row.get_ref(4)? {
        ValueRef::Null => None,
        ValueRef::Real(v) => Some(v),
        ValueRef::Integer(v) => Some(v as f64),
        ValueRef::Text(t) if t.eq_ignore_ascii_case(b"nan") => Some(f64::NAN),
        _ => return Err(corrupt(name, "invalid nodata value")),
    };
    let cells = width
        .checked_mul(height)
        .ok_or_else(|| corrupt(name, "size overflows"))?;
    let data = match row.get_ref(5)? {
        ValueRef::Blob(b) => decompress_cells(name, b, cells)?,
        _ => return Err(corrupt(name, "cell data is not a blob")),
    };
    let version = to_version(row.get(6)?)?;
    Ok(Some((
        Raster {
            width,
            height,
            transform,
            epsg,
            nodata,
            data,
        },
        version,
    )))
}

fn legacy_infos(conn: &Connection) -> Result<Vec<RasterInfo>, GpkgError> {
    if !table_exists(conn, LEGACY_TABLE)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT name, width, height, transform, epsg, version FROM chaski_rasters ORDER BY name",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let (width, height) = legacy_dims(&name, r.get(1)?, r.get(2)?)?;
        let transform = legacy_transform(&name, &r.get::<_, String>(3)?)?;
        let epsg = legacy_epsg(&name, r.get(4)?)?;
        let version = to_version(r.get(5)?)?;
        let shape = Raster::<f32> {
            width,
            height,
            transform,
            epsg,
            nodata: None,
            data: Vec::new(),
        };
        let (a, b, c, d) = shape.bounds();
        out.push(RasterInfo {
            name,
            width,
            height,
            epsg,
            bounds: [a, b, c, d],
            version,
        });
    }
    Ok(out)
}

/// Move one old-format raster into a coverage, keeping its data version.
fn migrate_one(conn: &mut Connection, name: &str) -> Result<(), GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some((raster, version)) = legacy_read(&tx, name)? else {
        return Ok(()); // another process moved it meanwhile
    };
    check_free(&tx, name)?;
    let newer = coverage_metas(&tx, Some(name))?
        .first()
        .is_some_and(|m| m.version > version);
    if !newer {
        let grid = Grid::new(name, &raster)?;
        let tiles = encode_tiles(name, &grid)?;
        store_coverage(&tx, name, &grid, &tiles, version)?;
    }
    tx.execute("DELETE FROM chaski_rasters WHERE name = ?1", [name])?;
    tx.commit()?;
    Ok(())
}

/// Whether the store still has rasters of the old format (`chaski_rasters`),
/// which opening converts.
pub(super) fn has_legacy_rasters(conn: &Connection) -> Result<bool, GpkgError> {
    table_exists(conn, LEGACY_TABLE)
}

/// Move the rasters of a store written before coverages (`chaski_rasters`)
/// into coverages, one transaction each, and drop the emptied table. Best
/// effort: a raster that cannot be moved stays where it is (and is still
/// read), with a warning.
pub(super) fn migrate_legacy(conn: &mut Connection) {
    let list = || -> Result<Option<Vec<String>>, GpkgError> {
        if !table_exists(conn, LEGACY_TABLE)? {
            return Ok(None);
        }
        let mut stmt = conn.prepare("SELECT name FROM chaski_rasters ORDER BY name")?;
        let names = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(Some(names))
    };
    let names = match list() {
        Ok(Some(n)) => n,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "GeoPackage store: cannot list old-format rasters");
            return;
        }
    };
    let mut left = 0usize;
    for name in &names {
        match migrate_one(conn, name) {
            Ok(()) => tracing::info!(
                raster = %name,
                "GeoPackage store: raster moved to a GeoPackage 2D gridded coverage"
            ),
            Err(e) => {
                left += 1;
                tracing::warn!(
                    raster = %name,
                    error = %e,
                    "GeoPackage store: raster kept in the old format (chaski_rasters); it is still read"
                );
            }
        }
    }
    if left == 0 {
        let mut drop_table = || -> Result<(), GpkgError> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let empty: bool = tx.query_row(
                "SELECT NOT EXISTS (SELECT 1 FROM chaski_rasters)",
                [],
                |r| r.get(0),
            )?;
            if empty {
                tx.execute_batch("DROP TABLE chaski_rasters;")?;
            }
            tx.commit()?;
            Ok(())
        };
        if let Err(e) = drop_table() {
            tracing::warn!(error = %e, "GeoPackage store: cannot drop the emptied chaski_rasters table");
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact, representable values
mod tests {
    use super::*;
    use crate::store::gpkg::GpkgStore;
    use crate::store::gpkg::test_support::tmp_store;
    use chaski_core::layer::{Layer, LayerKind};
    use chaski_core::store::{Store, WriteMode};
    use std::io::Write as _;
    use std::path::Path;

    /// A 600 x 300 UTM 18S raster (3 x 2 tiles, partial edge tiles) whose
    /// cells include every awkward Float32 value.
    fn awkward_dem() -> Raster<f32> {
        let (w, h) = (600, 300);
        let mut r = Raster::filled(
            w,
            h,
            [583_200.0, 30.0, 0.0, 8_578_680.0, 0.0, -30.0],
            Some(32718),
            0.0f32,
        );
        r.nodata = Some(-9999.0);
        for (i, v) in r.data.iter_mut().enumerate() {
            let (c, row) = ((i % w) as f32, (i / w) as f32);
            *v = 2000.0 + c * 1.37 - row * 0.731 + (c * 0.1).sin() * 13.3;
        }
        let specials = [
            f32::from_bits(0x7fc0_1234), // NaN with a payload
            f32::from_bits(0xffc0_0001), // negative NaN
            -0.0,
            f32::MIN_POSITIVE / 8.0, // subnormal
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            -9999.0,
            1e-30,
        ];
        for (k, v) in specials.iter().enumerate() {
            r.data[k * 7919 % (w * h)] = *v;
        }
        r.data[w * h - 1] = -9999.0; // last cell, in the last (partial) tile
        r
    }

    fn bits(d: &[f32]) -> Vec<u32> {
        d.iter().map(|v| v.to_bits()).collect()
    }

    fn sql<T: rusqlite::types::FromSql>(store: &GpkgStore, query: &str) -> T {
        let c = store.conn.lock().unwrap();
        c.query_row(query, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn cells_round_trip_bit_for_bit_across_tiles() {
        let (_dir, _path, store) = tmp_store();
        let dem = awkward_dem();
        assert_eq!(store.write_raster("dem", &dem).unwrap(), 1);
        let back = store.read_raster("dem").unwrap();
        assert_eq!(
            (
                back.width,
                back.height,
                back.transform,
                back.epsg,
                back.nodata
            ),
            (dem.width, dem.height, dem.transform, dem.epsg, dem.nodata)
        );
        assert_eq!(bits(&back.data), bits(&dem.data));
        // The GeoPackage registrations.
        assert_eq!(
            sql::<String>(
                &store,
                "SELECT data_type FROM gpkg_contents WHERE table_name = 'dem'"
            ),
            "2d-gridded-coverage"
        );
        assert_eq!(sql::<i64>(&store, "SELECT COUNT(*) FROM dem"), 6);
        assert_eq!(
            sql::<i64>(
                &store,
                "SELECT COUNT(*) FROM gpkg_2d_gridded_tile_ancillary WHERE tpudt_name = 'dem' \
                 AND tpudt_id IN (SELECT id FROM dem)"
            ),
            6
        );
        assert_eq!(
            sql::<String>(
                &store,
                "SELECT matrix_width || 'x' || matrix_height || ' ' || tile_width || 'x' || tile_height \
                 || ' ' || pixel_x_size || ' ' || pixel_y_size FROM gpkg_tile_matrix WHERE table_name = 'dem'"
            ),
            "3x2 256x256 30.0 30.0"
        );
        assert_eq!(
            sql::<f64>(
                &store,
                "SELECT data_null FROM gpkg_2d_gridded_coverage_ancillary WHERE tile_matrix_set_name = 'dem'"
            ),
            -9999.0
        );
        assert_eq!(
            sql::<String>(
                &store,
                "SELECT srs_name FROM gpkg_spatial_ref_sys WHERE srs_id = 32718"
            ),
            "WGS 84 / UTM zone 18S"
        );
        assert_eq!(
            sql::<i64>(
                &store,
                "SELECT COUNT(*) FROM gpkg_extensions WHERE extension_name = 'gpkg_2d_gridded_coverage'"
            ),
            3
        );
        // Tile statistics leave out nodata, NaN and infinities.
        let (min, max): (f64, f64) = {
            let c = store.conn.lock().unwrap();
            c.query_row(
                "SELECT MIN(min), MAX(max) FROM gpkg_2d_gridded_tile_ancillary WHERE tpudt_name = 'dem'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        assert_eq!((min, max), (f64::from(f32::MIN), f64::from(f32::MAX)));
        // A tile is a baseline Float32 TIFF, LZW, no predictor, one strip.
        let tile: Vec<u8> = sql(
            &store,
            "SELECT tile_data FROM dem WHERE tile_column = 2 AND tile_row = 1",
        );
        let mut d = tiff::decoder::Decoder::new(Cursor::new(tile)).unwrap();
        let tag = |d: &mut tiff::decoder::Decoder<_>, t| d.get_tag_u32(t).unwrap();
        assert_eq!(tag(&mut d, tiff::tags::Tag::Compression), 5);
        assert_eq!(tag(&mut d, tiff::tags::Tag::SampleFormat), 3);
        assert_eq!(tag(&mut d, tiff::tags::Tag::BitsPerSample), 32);
        assert_eq!(tag(&mut d, tiff::tags::Tag::SamplesPerPixel), 1);
        assert_eq!(d.strip_count().unwrap(), 1);
        assert!(!d.more_images());
    }

    #[test]
    fn rewrite_and_delete_leave_no_registration_behind() {
        let (_dir, path, store) = tmp_store();
        store.write_raster("dem", &awkward_dem()).unwrap();
        let mut small = Raster::filled(
            3,
            2,
            [-74.0, 0.5, 0.0, -12.0, 0.0, -0.25],
            Some(4326),
            1.5f32,
        );
        small.nodata = Some(f64::NAN);
        assert_eq!(store.write_raster("dem", &small).unwrap(), 2);
        let back = store.read_raster("dem").unwrap();
        assert!(back.nodata.unwrap().is_nan());
        assert_eq!((back.epsg, back.data), (Some(4326), vec![1.5; 6]));
        for (table, column) in [
            ("dem", "1"),
            ("gpkg_2d_gridded_tile_ancillary", "tpudt_name"),
            ("gpkg_tile_matrix", "table_name"),
        ] {
            assert_eq!(
                sql::<i64>(
                    &store,
                    &format!("SELECT COUNT(*) FROM {table} WHERE {column} IN ('dem', 1)")
                ),
                1,
                "{table}"
            );
        }
        assert!(store.delete_layer("dem").unwrap());
        assert!(!store.delete_layer("dem").unwrap());
        for (table, column) in [
            ("gpkg_contents", "table_name"),
            ("gpkg_tile_matrix_set", "table_name"),
            ("gpkg_tile_matrix", "table_name"),
            ("gpkg_2d_gridded_coverage_ancillary", "tile_matrix_set_name"),
            ("gpkg_2d_gridded_tile_ancillary", "tpudt_name"),
            ("gpkg_extensions", "table_name"),
            ("chaski_coverages", "name"),
        ] {
            assert_eq!(
                sql::<i64>(
                    &store,
                    &format!("SELECT COUNT(*) FROM {table} WHERE {column} = 'dem'")
                ),
                0,
                "{table}"
            );
        }
        assert_eq!(store.version().unwrap(), 3);
        assert!(store.rasters().unwrap().is_empty());
        drop(store);
        assert!(
            GpkgStore::open(&path)
                .unwrap()
                .rasters()
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn flipped_grids_are_stored_north_up_and_rotated_ones_refused() {
        let (_dir, _path, store) = tmp_store();
        // Bottom-up and right-to-left: 3 x 2 cells, values = 10 * row + col.
        let mut r = Raster::filled(3, 2, [3.0, -1.0, 0.0, 10.0, 0.0, 1.0], None, 0.0f32);
        r.data = vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        store.write_raster("flip", &r).unwrap();
        let back = store.read_raster("flip").unwrap();
        assert_eq!(back.transform, [0.0, 1.0, 0.0, 12.0, 0.0, -1.0]);
        for (c, row) in [(0, 0), (1, 0), (2, 1)] {
            let (x, y) = r.cell_center(c, row);
            let (bc, br) = back.cell_at(x, y).unwrap();
            assert_eq!(back.get(bc, br), r.get(c, row), "cell ({c}, {row})");
        }
        let rotated = Raster::filled(2, 2, [0.0, 1.0, 0.1, 0.0, 0.0, -1.0], None, 1.0f32);
        let empty = Raster::filled(0, 4, [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], None, 1.0f32);
        for (name, bad, why) in [("rot", &rotated, "north-up"), ("empty", &empty, "empty")] {
            match store.write_raster(name, bad) {
                Err(StoreError::Conflict { reason, .. }) => {
                    assert!(reason.contains(why), "{reason}");
                }
                other => panic!("expected Conflict, got {other:?}"),
            }
        }
        assert_eq!(store.rasters().unwrap().len(), 1);
    }

    #[test]
    fn rasters_and_vector_layers_do_not_share_names() {
        let (_dir, _path, store) = tmp_store();
        let layer = Layer::new("communities", LayerKind::Communities);
        store.write_layer(&layer, WriteMode::Replace).unwrap();
        let r = Raster::filled(1, 1, [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], None, 1.0f32);
        assert!(matches!(
            store.write_raster("communities", &r),
            Err(StoreError::Conflict { .. })
        ));
        store.write_raster("dem", &r).unwrap();
        let dem_layer = Layer::new("dem", LayerKind::Communities);
        assert!(matches!(
            store.write_layer(&dem_layer, WriteMode::Replace),
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(store.read_raster("dem").unwrap(), r);
        assert_eq!(store.layers().unwrap().len(), 1);
    }

    #[test]
    fn raster_round_trip_and_validation() {
        let (_dir, path, store) = tmp_store();
        let mut r = Raster::filled(
            3,
            2,
            [-74.0, 0.5, 0.0, -12.0, 0.0, -0.25],
            Some(4326),
            0.0f32,
        );
        r.data = vec![1.0, -2.5, 3.25, f32::MAX, -0.0, 1e-30];
        r.nodata = Some(-9999.0);
        assert_eq!(store.write_raster("dem", &r).unwrap(), 1);
        let mut nan = Raster::filled(1, 1, [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], None, 7.0f32);
        nan.nodata = Some(f64::NAN);
        assert_eq!(store.write_raster("cost", &nan).unwrap(), 2);
        assert_eq!(store.read_raster("dem").unwrap(), r);
        let back = store.read_raster("cost").unwrap();
        assert!(back.nodata.unwrap().is_nan());
        assert_eq!((back.data, back.epsg), (vec![7.0], None));
        let infos = store.rasters().unwrap();
        assert_eq!(
            infos.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(),
            ["cost", "dem"]
        );
        assert_eq!(infos[1].bounds, [-74.0, -12.5, -72.5, -12.0]);
        assert_eq!(
            (infos[1].width, infos[1].height, infos[1].version),
            (3, 2, 1)
        );
        assert!(matches!(
            store.read_raster("nope"),
            Err(StoreError::NotFound(_))
        ));
        // Wrong cell count is refused.
        let mut bad = r.clone();
        bad.data.pop();
        assert!(matches!(
            store.write_raster("bad", &bad),
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(store.version().unwrap(), 2);
        // Damaged cells are reported as corrupt.
        {
            let c = store.conn.lock().unwrap();
            c.execute("UPDATE dem SET tile_data = x'49492a00'", [])
                .unwrap();
        }
        match store.read_raster("dem") {
            Err(StoreError::Corrupt { reason, .. }) => {
                assert!(
                    reason.contains("raster 'dem': unreadable TIFF tile"),
                    "{reason}"
                );
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        // Deleting a raster by name bumps the version.
        assert!(store.delete_layer("cost").unwrap());
        assert_eq!(store.version().unwrap(), 3);
        drop(store);
        let again = GpkgStore::open(&path).unwrap();
        assert_eq!(again.rasters().unwrap().len(), 1);
    }

    /// Open raster `name` of `store` with GDAL (the GeoPackage driver).
    #[cfg(feature = "gdal")]
    fn gdal_open(store: &Path, name: &str) -> gdal::Dataset {
        gdal::Dataset::open(format!("GPKG:{}:{name}", store.display())).unwrap()
    }

    #[cfg(feature = "gdal")]
    #[test]
    fn gdal_reads_the_cells_bit_for_bit() {
        let (_dir, path, store) = tmp_store();
        let dem = awkward_dem();
        store.write_raster("dem", &dem).unwrap();
        let mut geo = Raster::filled(
            5,
            4,
            [-74.2, 0.001, 0.0, -12.8, 0.0, -0.001],
            Some(4326),
            0.0f32,
        );
        geo.data = (0..20u8).map(f32::from).collect();
        store.write_raster("geo", &geo).unwrap();
        let mut psad = Raster::filled(
            2,
            2,
            [600_000.0, 90.0, 0.0, 8_600_000.0, 0.0, -90.0],
            Some(24878),
            5.5f32,
        );
        psad.nodata = None;
        store.write_raster("psad", &psad).unwrap();

        let ds = gdal_open(&path, "dem");
        assert_eq!(ds.raster_size(), (600, 300));
        assert_eq!(ds.geo_transform().unwrap(), dem.transform);
        assert_eq!(ds.spatial_ref().unwrap().auth_code().unwrap(), 32718);
        let band = ds.rasterband(1).unwrap();
        assert_eq!(band.band_type(), gdal::raster::GdalDataType::Float32);
        assert_eq!(band.no_data_value(), Some(-9999.0));
        let cells: gdal::raster::Buffer<f32> =
            band.read_as((0, 0), (600, 300), (600, 300), None).unwrap();
        assert_eq!(bits(&cells.into_shape_and_vec().1), bits(&dem.data));

        let ds = gdal_open(&path, "geo");
        assert_eq!(
            (ds.raster_size(), ds.geo_transform().unwrap()),
            ((5, 4), geo.transform)
        );
        assert_eq!(ds.spatial_ref().unwrap().auth_code().unwrap(), 4326);
        let band = ds.rasterband(1).unwrap();
        assert_eq!(band.no_data_value(), None);
        let cells: gdal::raster::Buffer<f32> = band.read_as((0, 0), (5, 4), (5, 4), None).unwrap();
        assert_eq!(cells.into_shape_and_vec().1, geo.data);

        let ds = gdal_open(&path, "psad");
        assert_eq!(ds.spatial_ref().unwrap().auth_code().unwrap(), 24878);
        assert_eq!(store.read_raster("psad").unwrap(), psad);
    }

    /// Add a raster to `path` the way stores written before coverages kept
    /// them: a row of `chaski_rasters` (zlib-compressed little-endian cells).
    fn write_old_format(path: &Path, name: &str, r: &Raster<f32>, version: i64) {
        let c = Connection::open(path).unwrap();
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS chaski_rasters (
               name TEXT PRIMARY KEY NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
               transform TEXT NOT NULL, epsg INTEGER, nodata REAL, version INTEGER NOT NULL,
               data BLOB NOT NULL);",
        )
        .unwrap();
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        for v in &r.data {
            enc.write_all(&v.to_le_bytes()).unwrap();
        }
        let nodata = match r.nodata {
            None => rusqlite::types::Value::Null,
            Some(v) if v.is_nan() => rusqlite::types::Value::Text("nan".into()),
            Some(v) => rusqlite::types::Value::Real(v),
        };
        c.execute(
            "INSERT INTO chaski_rasters VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                name,
                r.width as i64,
                r.height as i64,
                serde_json::to_string(&r.transform).unwrap(),
                r.epsg,
                nodata,
                version,
                enc.finish().unwrap()
            ],
        )
        .unwrap();
        c.execute(
            "UPDATE chaski_meta SET value = MAX(value, ?1) WHERE key = 'version'",
            [version],
        )
        .unwrap();
    }

    #[test]
    fn stores_of_the_old_format_are_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.gpkg");
        // An old store: chaski_rasters and no chaski_coverages.
        drop(GpkgStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .execute_batch("DROP TABLE chaski_coverages;")
            .unwrap();
        let dem = awkward_dem();
        let mut cost = Raster::filled(2, 1, [0.0, 1.0, 0.0, 0.0, 0.0, -1.0], None, 7.0f32);
        cost.nodata = Some(f64::NAN);
        let rotated = Raster::filled(2, 2, [0.0, 1.0, 0.5, 0.0, 0.0, -1.0], Some(32718), 3.0f32);
        write_old_format(&path, "dem", &dem, 3);
        write_old_format(&path, "cost", &cost, 5);
        write_old_format(&path, "rot", &rotated, 6);

        let store = GpkgStore::open(&path).unwrap();
        let infos = store.rasters().unwrap();
        assert_eq!(
            infos
                .iter()
                .map(|i| (i.name.as_str(), i.version, i.width, i.height, i.epsg))
                .collect::<Vec<_>>(),
            [
                ("cost", 5, 2, 1, None),
                ("dem", 3, 600, 300, Some(32718)),
                ("rot", 6, 2, 2, Some(32718)),
            ]
        );
        assert_eq!(
            store.version().unwrap(),
            6,
            "migrating is not a new version"
        );
        // dem and cost are coverages now; the rotated grid cannot be one and
        // stays in the old table, still read.
        assert_eq!(
            sql::<String>(
                &store,
                "SELECT group_concat(name) FROM (SELECT name FROM chaski_coverages ORDER BY name)"
            ),
            "cost,dem"
        );
        assert_eq!(
            sql::<String>(&store, "SELECT group_concat(name) FROM chaski_rasters"),
            "rot"
        );
        let back = store.read_raster("dem").unwrap();
        assert_eq!((back.transform, back.nodata), (dem.transform, dem.nodata));
        assert_eq!(bits(&back.data), bits(&dem.data));
        let back = store.read_raster("cost").unwrap();
        assert!(back.nodata.unwrap().is_nan());
        assert_eq!(back.data, cost.data);
        assert_eq!(store.read_raster("rot").unwrap(), rotated);
        // GDAL sees the migrated DEM.
        #[cfg(feature = "gdal")]
        assert_eq!(gdal_open(&path, "dem").raster_size(), (600, 300));

        // Deleting the last old-format raster empties the old table, which
        // goes at the next open.
        assert!(store.delete_layer("rot").unwrap());
        assert_eq!(store.version().unwrap(), 7);
        drop(store);
        let store = GpkgStore::open(&path).unwrap();
        assert!(!sql::<bool>(
            &store,
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'chaski_rasters')"
        ));
        assert_eq!(store.rasters().unwrap().len(), 2);
    }

    #[test]
    fn old_rasters_are_read_when_they_cannot_be_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.gpkg");
        drop(GpkgStore::open(&path).unwrap());
        let dem = Raster::filled(
            3,
            2,
            [-74.0, 0.5, 0.0, -12.0, 0.0, -0.25],
            Some(4326),
            2.5f32,
        );
        write_old_format(&path, "dem", &dem, 1);
        // While another process holds the write lock the raster cannot be
        // moved (after the 10 s busy timeout): the store opens and reads it all the same.
        let mut other = Connection::open(&path).unwrap();
        let lock = other
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let store = GpkgStore::open(&path).unwrap();
        assert_eq!(store.read_raster("dem").unwrap(), dem);
        assert_eq!(store.rasters().unwrap()[0].version, 1);
        assert_eq!(sql::<i64>(&store, "SELECT COUNT(*) FROM chaski_rasters"), 1);
        drop(store);
        lock.rollback().unwrap();
        // Unlocked: migrated at the next open.
        let store = GpkgStore::open(&path).unwrap();
        assert_eq!(store.read_raster("dem").unwrap(), dem);
        assert_eq!(
            sql::<i64>(&store, "SELECT COUNT(*) FROM chaski_coverages"),
            1
        );
    }

    #[test]
    fn damaged_coverages_are_corrupt_not_panics() {
        let (_dir, _path, store) = tmp_store();
        store.write_raster("dem", &awkward_dem()).unwrap();
        for (damage, expected) in [
            (
                "DELETE FROM dem WHERE tile_row = 0 AND tile_column = 1",
                None,
            ),
            (
                "UPDATE dem SET tile_data = x'00'",
                Some("unreadable TIFF tile"),
            ),
            (
                "UPDATE dem SET tile_column = 7 WHERE id = (SELECT MIN(id) FROM dem)",
                Some("outside the matrix"),
            ),
            (
                "UPDATE gpkg_tile_matrix SET matrix_width = 1",
                Some("do not fit"),
            ),
            (
                "DELETE FROM gpkg_tile_matrix_set",
                Some("gpkg_tile_matrix_set"),
            ),
            (
                "UPDATE gpkg_2d_gridded_coverage_ancillary SET datatype = 'integer'",
                Some("Float32"),
            ),
        ] {
            store.write_raster("dem", &awkward_dem()).unwrap();
            store.conn.lock().unwrap().execute_batch(damage).unwrap();
            match (store.read_raster("dem"), expected) {
                // A missing tile reads as nodata.
                (Ok(r), None) => assert_eq!(r.get(300, 10), Some(-9999.0)),
                (Err(StoreError::Corrupt { reason, .. }), Some(e)) => {
                    assert!(reason.contains(e), "{damage}: {reason}");
                }
                (other, _) => panic!("{damage}: got {other:?}"),
            }
        }
    }
}
