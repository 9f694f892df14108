//! SQL functions for the rtree triggers: `ST_IsEmpty`, `ST_MinX`, `ST_MaxX`,
//! `ST_MinY` and `ST_MaxY`, registered on the store's connection.

use super::codec::blob_bounds;
use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;

/// Register `ST_IsEmpty`, `ST_MinX`, `ST_MaxX`, `ST_MinY`, `ST_MaxY` (the
/// functions the `gpkg_rtree_index` triggers call) on `conn`. They return
/// NULL for NULL or malformed blobs.
pub(super) fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("ST_IsEmpty", 1, flags, |ctx| {
        Ok(match arg_envelope(ctx) {
            ArgEnvelope::Invalid => None,
            ArgEnvelope::Empty => Some(true),
            ArgEnvelope::Bounds(_) => Some(false),
        })
    })?;
    for (name, idx) in [
        ("ST_MinX", 0),
        ("ST_MinY", 1),
        ("ST_MaxX", 2),
        ("ST_MaxY", 3),
    ] {
        conn.create_scalar_function(name, 1, flags, move |ctx| {
            Ok(match arg_envelope(ctx) {
                ArgEnvelope::Bounds(b) => Some(b[idx]),
                _ => None,
            })
        })?;
    }
    Ok(())
}

/// The bounds of a geometry argument.
enum ArgEnvelope {
    /// NULL, not a blob, or a malformed blob.
    Invalid,
    /// An empty geometry.
    Empty,
    /// Min x, min y, max x, max y.
    Bounds([f64; 4]),
}

/// The bounds of the geometry blob in argument 0.
fn arg_envelope(ctx: &Context<'_>) -> ArgEnvelope {
    match ctx.get_raw(0) {
        ValueRef::Blob(b) => match blob_bounds(b) {
            Ok(Some(b)) => ArgEnvelope::Bounds(b),
            Ok(None) => ArgEnvelope::Empty,
            Err(_) => ArgEnvelope::Invalid,
        },
        _ => ArgEnvelope::Invalid,
    }
}
