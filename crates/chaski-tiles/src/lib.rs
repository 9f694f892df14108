#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod coord;
pub mod error;
pub mod geom;
pub mod mvt;
pub mod package;
pub mod source;

/// The `geo` crate this crate builds on (re-exported so callers build
/// geometries with the same version).
pub use geo;

pub use coord::{
    EARTH_RADIUS, HALF_WORLD, MAX_LATITUDE, MAX_ZOOM, TileCoord, lonlat_to_mercator,
    mercator_to_lonlat, tile_of, tile_size_m,
};
pub use error::TileError;
pub use mvt::{EXTENT, TileLayer};
pub use package::{PackageInfo, TileSink};
pub use source::{BUFFER, LayerSource, RenderOptions, SourceOptions, TileSource};

use std::io::Write;

/// Size budget of one tile, gzip-compressed, in bytes.
pub const TILE_BUDGET: usize = 500 * 1024;

/// Render one Mapbox Vector Tile (uncompressed protobuf) with one layer per source
/// (named after the source), in order. Returns an empty `Vec` when no source has
/// a feature in the tile.
///
/// When the tile would exceed [`TILE_BUDGET`] bytes gzip-compressed, it is
/// rendered again with coarser generalization (see [`RenderOptions::level`]) up
/// to [`source::MAX_LEVEL`]; its features then carry `generalized = true`.
pub fn render(sources: &[&dyn TileSource], coord: TileCoord) -> Result<Vec<u8>, TileError> {
    render_with_budget(sources, coord, TILE_BUDGET)
}

/// [`render`] with a custom budget in compressed bytes.
pub fn render_with_budget(
    sources: &[&dyn TileSource],
    coord: TileCoord,
    budget: usize,
) -> Result<Vec<u8>, TileError> {
    let mut last = 0;
    for level in 0..=source::MAX_LEVEL {
        let opts = RenderOptions { level };
        let mut layers = Vec::with_capacity(sources.len());
        for s in sources {
            if let Some(layer) = s.layer_features(coord, &opts)? {
                layers.push(layer);
            }
        }
        let bytes = mvt::encode_tile(&layers);
        if bytes.len() <= budget {
            return Ok(bytes);
        }
        last = gzip_len(&bytes).map_err(|e| TileError::Compress {
            z: coord.z(),
            x: coord.x(),
            y: coord.y(),
            reason: e.to_string(),
        })?;
        if last <= budget {
            return Ok(bytes);
        }
    }
    Err(TileError::OverBudget {
        z: coord.z(),
        x: coord.x(),
        y: coord.y(),
        bytes: last,
        budget,
    })
}

/// Length of `bytes` gzip-compressed (fast level: an upper bound of what a
/// server compressing harder sends).
pub fn gzip_len(bytes: &[u8]) -> std::io::Result<usize> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes)?;
    Ok(enc.finish()?.len())
}
