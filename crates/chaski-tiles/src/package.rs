//! Tile packages: a set of rendered tiles written to one file (PMTiles,
//! MBTiles) for tablets without a connection and for object storage or a CDN.
//!
//! This crate only says what a package holds ([`PackageInfo`]) and what a
//! package writer does ([`TileSink`]); the writers themselves (files, SQLite)
//! are `chaski-io`'s, and the choice of tiles and their rendering is the
//! caller's (`chaski_server::package`).

use crate::coord::TileCoord;

/// What a package says about itself, besides its tiles.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageInfo {
    /// Name of the tile set (the layers, comma-joined).
    pub name: String,
    /// One line saying what it holds.
    pub description: String,
    /// Attribution to show on maps.
    pub attribution: String,
    /// Lowest zoom written.
    pub minzoom: u8,
    /// Highest zoom written.
    pub maxzoom: u8,
    /// Bounds of what was exported, `[west, south, east, north]` in degrees.
    pub bounds: [f64; 4],
    /// Where a map opens: longitude, latitude and zoom.
    pub center: (f64, f64, u8),
    /// The TileJSON `vector_layers` of the tiles (a JSON array, as text).
    pub vector_layers: String,
}

/// A package writer: takes tiles one at a time, gzip-compressed Mapbox Vector
/// Tiles, in ascending [`TileCoord::hilbert_id`] order (PMTiles readers find
/// tiles fastest that way; MBTiles ignores the order). Finishing the file is
/// the writer's own method, after the last tile.
pub trait TileSink {
    /// Add the tile at `coord`; `gzipped` is never empty.
    ///
    /// # Errors
    /// When the file cannot be written; the message names it.
    fn add_tile(&mut self, coord: TileCoord, gzipped: &[u8]) -> std::io::Result<()>;
}
