//! Errors of the tile engine.

/// Something went wrong building a tile source or rendering a tile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// The tile address is outside the tile pyramid.
    #[error("invalid tile {z}/{x}/{y}: {reason}")]
    InvalidCoord {
        /// Zoom.
        z: u32,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
        /// Why it is invalid.
        reason: String,
    },
    /// A zoom range that does not make sense.
    #[error("invalid zoom range {minzoom}..={maxzoom} for layer '{layer}': {reason}")]
    ZoomRange {
        /// Layer name.
        layer: String,
        /// Lowest zoom.
        minzoom: u8,
        /// Highest zoom.
        maxzoom: u8,
        /// Why it is invalid.
        reason: String,
    },
    /// The tile stays over the size budget even at the coarsest generalization.
    #[error(
        "tile {z}/{x}/{y} is {bytes} bytes compressed even at the coarsest generalization (budget {budget} bytes)"
    )]
    OverBudget {
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
        /// Compressed size of the last attempt.
        bytes: usize,
        /// Budget.
        budget: usize,
    },
    /// Compressing a tile to measure it failed.
    #[error("cannot compress tile {z}/{x}/{y} to measure its size: {reason}")]
    Compress {
        /// Zoom.
        z: u8,
        /// Column.
        x: u32,
        /// Row.
        y: u32,
        /// What the compressor said.
        reason: String,
    },
}
