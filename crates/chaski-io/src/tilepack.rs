//! Tile packages on disk: PMTiles v3 archives (written and read with the
//! `pmtiles` crate) and MBTiles 1.3 files (SQLite), for `chaski export` and
//! `chaski serve --pmtiles`.
//!
//! Both writers take gzip-compressed Mapbox Vector Tiles through
//! [`chaski_tiles::TileSink`] and write to `FILE.partial` beside the target,
//! renamed to the target only when the package is complete, so a failed or
//! interrupted export never leaves a half-written archive under the real name.
//!
//! - **PMTiles**: tiles stored as given (gzip), directories and metadata
//!   gzip-compressed; identical tiles stored once (by content hash), runs of
//!   identical consecutive tiles as one entry (run length), leaf directories
//!   when the root would pass 16 KiB; tiles added in Hilbert id order, so the
//!   archive is *clustered*. Metadata: TileJSON-like JSON with `vector_layers`.
//! - **MBTiles**: the 1.3 schema (`metadata`, `tiles` with a unique index), rows
//!   in TMS order (`tile_row = 2^z - 1 - y`), gzip-compressed `pbf` tiles as
//!   GDAL, QGIS and tile servers expect; `metadata.json` holds `vector_layers`.

use chaski_tiles::{PackageInfo, TileCoord, TileSink};
use std::path::{Path, PathBuf};

/// Errors of tile packages, each naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TilePackError {
    /// The file (or its `.partial` companion) cannot be created or written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The PMTiles writer or reader failed.
    #[error("PMTiles archive {path}: {reason}")]
    Pmtiles {
        /// The archive.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// SQLite failed on an MBTiles file.
    #[error("MBTiles file {path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
}

/// `FILE.partial`, where a package is written before it is complete.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// The metadata object both formats describe a package with.
fn metadata_json(info: &PackageInfo) -> serde_json::Value {
    let layers: serde_json::Value =
        serde_json::from_str(&info.vector_layers).unwrap_or_else(|_| serde_json::json!([]));
    serde_json::json!({
        "name": info.name,
        "description": info.description,
        "attribution": info.attribution,
        "version": "1.0.0",
        "type": "overlay",
        "format": "pbf",
        "generator": concat!("chaski ", env!("CARGO_PKG_VERSION")),
        "minzoom": info.minzoom,
        "maxzoom": info.maxzoom,
        "bounds": info.bounds,
        "center": [info.center.0, info.center.1, info.center.2],
        "vector_layers": layers,
    })
}

fn rename_into_place(partial: &Path, path: &Path) -> Result<(), TilePackError> {
    std::fs::rename(partial, path).map_err(|source| TilePackError::Write {
        path: path.to_owned(),
        source,
    })
}

/// A PMTiles v3 archive being written.
pub struct PmtilesWriter {
    path: PathBuf,
    partial: PathBuf,
    inner: pmtiles::PmTilesStreamWriter<std::fs::File>,
    tiles: u64,
}

impl std::fmt::Debug for PmtilesWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PmtilesWriter")
            .field("path", &self.path)
            .field("tiles", &self.tiles)
            .finish_non_exhaustive()
    }
}

impl PmtilesWriter {
    /// Start an archive at `path` (written to `path.partial` until [`Self::finish`]).
    pub fn create(path: &Path, info: &PackageInfo) -> Result<Self, TilePackError> {
        let partial = partial_path(path);
        let file = std::fs::File::create(&partial).map_err(|source| TilePackError::Write {
            path: path.to_owned(),
            source,
        })?;
        let [w, s, e, n] = info.bounds;
        let inner = pmtiles::PmTilesWriter::new(pmtiles::TileType::Mvt)
            .precompressed(pmtiles::Compression::Gzip)
            .internal_compression(pmtiles::Compression::Gzip)
            .min_zoom(info.minzoom)
            .max_zoom(info.maxzoom)
            .bounds(w, s, e, n)
            .center(info.center.0, info.center.1)
            .center_zoom(info.center.2)
            .metadata(metadata_json(info).to_string())
            .create(file)
            .map_err(|e| TilePackError::Pmtiles {
                path: partial.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            path: path.to_owned(),
            partial,
            inner,
            tiles: 0,
        })
    }

    /// Write the directories and header, and move the archive to its name.
    pub fn finish(self) -> Result<PathBuf, TilePackError> {
        self.inner.finalize().map_err(|e| TilePackError::Pmtiles {
            path: self.partial.clone(),
            reason: e.to_string(),
        })?;
        rename_into_place(&self.partial, &self.path)?;
        Ok(self.path)
    }
}

impl TileSink for PmtilesWriter {
    fn add_tile(&mut self, coord: TileCoord, gzipped: &[u8]) -> std::io::Result<()> {
        let at = pmtiles::TileCoord::new(coord.z(), coord.x(), coord.y())
            .map_err(|e| std::io::Error::other(format!("tile {coord}: {e}")))?;
        self.inner.add_tile(at, gzipped).map_err(|e| {
            std::io::Error::other(format!("writing {}: {e}", self.partial.display()))
        })?;
        self.tiles += 1;
        Ok(())
    }
}

/// An MBTiles 1.3 file being written.
#[derive(Debug)]
pub struct MbtilesWriter {
    path: PathBuf,
    partial: PathBuf,
    conn: rusqlite::Connection,
}

impl MbtilesWriter {
    /// Start an MBTiles file at `path` (written to `path.partial` until [`Self::finish`]).
    pub fn create(path: &Path, info: &PackageInfo) -> Result<Self, TilePackError> {
        let partial = partial_path(path);
        // A stale partial file from an interrupted run: start over.
        if partial.exists() {
            std::fs::remove_file(&partial).map_err(|source| TilePackError::Write {
                path: partial.clone(),
                source,
            })?;
        }
        // Created first so a folder that cannot be written says so plainly.
        std::fs::File::create(&partial).map_err(|source| TilePackError::Write {
            path: path.to_owned(),
            source,
        })?;
        let sql = |source| TilePackError::Sqlite {
            path: partial.clone(),
            source,
        };
        let conn = rusqlite::Connection::open(&partial).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA application_id = 0x4d504258;
             CREATE TABLE metadata (name TEXT, value TEXT);
             CREATE UNIQUE INDEX name ON metadata (name);
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
             CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);",
        )
        .map_err(sql)?;
        let meta = metadata_json(info);
        let [w, s, e, n] = info.bounds;
        let json = serde_json::json!({ "vector_layers": meta["vector_layers"] }).to_string();
        let rows: [(&str, String); 11] = [
            ("name", info.name.clone()),
            ("description", info.description.clone()),
            ("attribution", info.attribution.clone()),
            ("type", "overlay".to_owned()),
            ("version", "1.0.0".to_owned()),
            ("format", "pbf".to_owned()),
            ("minzoom", info.minzoom.to_string()),
            ("maxzoom", info.maxzoom.to_string()),
            ("bounds", format!("{w},{s},{e},{n}")),
            (
                "center",
                format!("{},{},{}", info.center.0, info.center.1, info.center.2),
            ),
            ("json", json),
        ];
        for (k, v) in rows {
            conn.execute("INSERT INTO metadata (name, value) VALUES (?1, ?2)", (k, v))
                .map_err(sql)?;
        }
        conn.execute_batch("BEGIN").map_err(sql)?;
        Ok(Self {
            path: path.to_owned(),
            partial,
            conn,
        })
    }

    /// Commit the tiles and move the file to its name.
    pub fn finish(self) -> Result<PathBuf, TilePackError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(|source| TilePackError::Sqlite {
                path: self.partial.clone(),
                source,
            })?;
        self.conn
            .close()
            .map_err(|(_, source)| TilePackError::Sqlite {
                path: self.partial.clone(),
                source,
            })?;
        rename_into_place(&self.partial, &self.path)?;
        Ok(self.path)
    }
}

impl TileSink for MbtilesWriter {
    fn add_tile(&mut self, coord: TileCoord, gzipped: &[u8]) -> std::io::Result<()> {
        let tms_row = (1u32 << coord.z()) - 1 - coord.y();
        self.conn
            .prepare_cached(
                "INSERT INTO tiles (zoom_level, tile_column, tile_row, tile_data) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut st| st.execute((coord.z(), coord.x(), tms_row, gzipped)))
            .map_err(|e| {
                std::io::Error::other(format!("writing {}: {e}", self.partial.display()))
            })?;
        Ok(())
    }
}

/// A PMTiles archive opened for reading (memory-mapped; directories cached).
pub struct PmtilesArchive {
    path: PathBuf,
    reader: pmtiles::AsyncPmTilesReader<pmtiles::MmapBackend, pmtiles::HashMapCache>,
    metadata: String,
}

impl std::fmt::Debug for PmtilesArchive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PmtilesArchive")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl PmtilesArchive {
    /// Open the archive at `path`: its header, root directory and metadata.
    /// Only archives of vector tiles (MVT) are accepted.
    pub async fn open(path: &Path) -> Result<Self, TilePackError> {
        let err = |reason: String| TilePackError::Pmtiles {
            path: path.to_owned(),
            reason,
        };
        if !path.is_file() {
            return Err(err(if path.exists() {
                "not a file".to_owned()
            } else {
                "no such file".to_owned()
            }));
        }
        let reader = pmtiles::AsyncPmTilesReader::new_with_cached_path(
            pmtiles::HashMapCache::default(),
            path,
        )
        .await
        .map_err(|e| err(format!("not a readable PMTiles v3 archive ({e})")))?;
        if reader.get_header().tile_type != pmtiles::TileType::Mvt {
            return Err(err(format!(
                "holds {:?} tiles, not vector tiles (MVT)",
                reader.get_header().tile_type
            )));
        }
        let metadata = reader
            .get_metadata()
            .await
            .unwrap_or_else(|_| "{}".to_owned());
        Ok(Self {
            path: path.to_owned(),
            reader,
            metadata,
        })
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The metadata JSON, as stored (`{}` when there is none).
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// Lowest and highest zoom of the header.
    pub fn zooms(&self) -> (u8, u8) {
        let h = self.reader.get_header();
        (h.min_zoom, h.max_zoom)
    }

    /// Bounds of the header, `[west, south, east, north]`.
    pub fn bounds(&self) -> [f64; 4] {
        let h = self.reader.get_header();
        [
            h.min_longitude,
            h.min_latitude,
            h.max_longitude,
            h.max_latitude,
        ]
    }

    /// Centre of the header: longitude, latitude, zoom.
    pub fn center(&self) -> (f64, f64, u8) {
        let h = self.reader.get_header();
        (h.center_longitude, h.center_latitude, h.center_zoom)
    }

    /// The tile at `coord`, decompressed (an uncompressed MVT), or None when
    /// the archive has none there.
    pub async fn tile(&self, coord: TileCoord) -> Result<Option<Vec<u8>>, TilePackError> {
        let err = |e: pmtiles::PmtError| TilePackError::Pmtiles {
            path: self.path.clone(),
            reason: format!("tile {coord}: {e}"),
        };
        let at = pmtiles::TileCoord::new(coord.z(), coord.x(), coord.y()).map_err(err)?;
        Ok(self
            .reader
            .get_tile_decompressed(at)
            .await
            .map_err(err)?
            .map(|b| b.to_vec()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// chaski's Hilbert ids are the `pmtiles` crate's.
    #[test]
    fn hilbert_ids_match_the_pmtiles_crate() {
        for z in 0..=14u8 {
            let n = 1u32 << z;
            for k in 0..64u32 {
                let x = (k.wrapping_mul(2_654_435_761)) % n;
                let y = (k.wrapping_mul(40_503).wrapping_add(7)) % n;
                let ours = TileCoord::new(z, x, y).unwrap().hilbert_id();
                let theirs = pmtiles::TileId::from(pmtiles::TileCoord::new(z, x, y).unwrap());
                assert_eq!(ours, theirs.value(), "{z}/{x}/{y}");
            }
        }
    }
}
