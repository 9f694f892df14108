//! The spatial index of a layer (`gpkg_rtree_index`): its triggers, and its
//! bulk load for layers written whole.

use super::codec::blob_bounds;
use super::error::GpkgError;
use super::sql::{q, rtree_name, union};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};
use std::fmt::Write as _;

/// Writes of at least this many features rebuild the spatial index in bulk.
pub(super) const REBUILD_RTREE_AT: usize = 2000;

/// Drop a layer's spatial index and its triggers (to rebuild them).
pub(super) fn drop_rtree(conn: &Connection, name: &str) -> Result<(), GpkgError> {
    let mut sql = String::new();
    for t in [
        "insert", "update1", "update2", "update3", "update4", "delete",
    ] {
        let _ = write!(
            sql,
            "DROP TRIGGER IF EXISTS {};",
            q(&format!("rtree_{name}_geom_{t}"))
        );
    }
    let _ = write!(sql, "DROP TABLE IF EXISTS {};", q(&rtree_name(name)));
    conn.execute_batch(&sql)?;
    Ok(())
}

/// Create the `gpkg_rtree_index` triggers that keep a layer's index up to date.
pub(super) fn create_triggers(conn: &Connection, name: &str) -> Result<(), GpkgError> {
    let t = q(name);
    let rt = q(&rtree_name(name));
    let tn = |suffix: &str| q(&format!("rtree_{name}_geom_{suffix}"));
    let values = r#"(NEW."fid", ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"), ST_MinY(NEW."geom"), ST_MaxY(NEW."geom"))"#;
    conn.execute_batch(&format!(
        r#"
CREATE TRIGGER {ins} AFTER INSERT ON {t} WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN INSERT OR REPLACE INTO {rt} VALUES {values}; END;
CREATE TRIGGER {u1} AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN INSERT OR REPLACE INTO {rt} VALUES {values}; END;
CREATE TRIGGER {u2} AFTER UPDATE OF "geom" ON {t} WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; END;
CREATE TRIGGER {u3} AFTER UPDATE ON {t} WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; INSERT OR REPLACE INTO {rt} VALUES {values}; END;
CREATE TRIGGER {u4} AFTER UPDATE ON {t} WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom"))
BEGIN DELETE FROM {rt} WHERE id IN (OLD."fid", NEW."fid"); END;
CREATE TRIGGER {del} AFTER DELETE ON {t} WHEN old."geom" NOT NULL
BEGIN DELETE FROM {rt} WHERE id = OLD."fid"; END;
"#,
        ins = tn("insert"),
        u1 = tn("update1"),
        u2 = tn("update2"),
        u3 = tn("update3"),
        u4 = tn("update4"),
        del = tn("delete"),
    ))?;
    Ok(())
}

/// Sort index entries along a Hilbert curve over `bounds`: inserting nearby
/// boxes together keeps SQLite's rtree updates local (much faster, better tree).
fn sort_hilbert(entries: &mut [(i64, [f64; 4])], bounds: Option<[f64; 4]>) {
    let Some([x0, y0, x1, y1]) = bounds else {
        return;
    };
    let (w, h) = (
        (x1 - x0).max(f64::MIN_POSITIVE),
        (y1 - y0).max(f64::MIN_POSITIVE),
    );
    let scale = f64::from(u16::MAX);
    entries.sort_by_cached_key(|(_, b)| {
        let cx = (((b[0] + b[2]) * 0.5 - x0) / w * scale).clamp(0.0, scale) as u32;
        let cy = (((b[1] + b[3]) * 0.5 - y0) / h * scale).clamp(0.0, scale) as u32;
        hilbert_index(cx, cy)
    });
}

/// Position of (x, y) (16-bit each) along the Hilbert curve.
fn hilbert_index(mut x: u32, mut y: u32) -> u64 {
    let mut d = 0u64;
    let mut s = 1u32 << 15;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = (s - 1).wrapping_sub(x) & 0xFFFF;
                y = (s - 1).wrapping_sub(y) & 0xFFFF;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    d
}

/// Bytes of one 2-D rtree cell: an 8-byte id and four 4-byte floats.
const RTREE_CELL: usize = 24;

/// SQLite's RTREE_MAXCELLS.
const RTREE_MAX_CELLS: usize = 51;

/// SQLite's `rtreeValueDown`: the f32 at or below `d`.
fn rtree_down(d: f64) -> f32 {
    let f = d as f32;
    if f64::from(f) > d {
        (d * if d < 0.0 {
            1.0 + 1.0 / 8_388_608.0
        } else {
            1.0 - 1.0 / 8_388_608.0
        }) as f32
    } else {
        f
    }
}

/// SQLite's `rtreeValueUp`: the f32 at or above `d`.
fn rtree_up(d: f64) -> f32 {
    let f = d as f32;
    if f64::from(f) < d {
        (d * if d < 0.0 {
            1.0 - 1.0 / 8_388_608.0
        } else {
            1.0 + 1.0 / 8_388_608.0
        }) as f32
    } else {
        f
    }
}

/// One node of a packed rtree: (id, [min x, max x, min y, max y]) cells.
type RtreeNode = Vec<(i64, [f32; 4])>;

fn node_box(node: &RtreeNode) -> [f32; 4] {
    node.iter().fold(
        [
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ],
        |a, (_, b)| {
            [
                a[0].min(b[0]),
                a[1].max(b[1]),
                a[2].min(b[2]),
                a[3].max(b[3]),
            ]
        },
    )
}

/// Create the layer's `gpkg_rtree_index` table and fill it with `entries`
/// (fid, [min x, min y, max x, max y]) in one pass: the boxes are sorted along
/// a Hilbert curve and packed bottom-up into full nodes, written straight into
/// the rtree's `_node`, `_parent` and `_rowid` tables in SQLite's format (as
/// GDAL's bulk loader does). Later inserts through the triggers split nodes as
/// usual.
pub(super) fn bulk_load_rtree(
    conn: &Connection,
    name: &str,
    mut entries: Vec<(i64, [f64; 4])>,
    bounds: Option<[f64; 4]>,
) -> Result<(), GpkgError> {
    let rt = rtree_name(name);
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE {} USING rtree(id, minx, maxx, miny, maxy)",
        q(&rt)
    ))?;
    if entries.is_empty() {
        return Ok(());
    }
    // SQLite sized the empty root node from the page size (at most
    // RTREE_MAXCELLS cells); every node must have that size.
    let root_len: i64 = conn.query_row(
        &format!(
            "SELECT length(data) FROM {} WHERE nodeno = 1",
            q(&format!("{rt}_node"))
        ),
        [],
        |r| r.get(0),
    )?;
    let node_size = usize::try_from(root_len).unwrap_or(0);
    let capacity = node_size.saturating_sub(4) / RTREE_CELL;
    if !(2..=RTREE_MAX_CELLS).contains(&capacity) {
        return Err(GpkgError::Backend(format!(
            "unexpected rtree node size {root_len}"
        )));
    }
    sort_hilbert(&mut entries, bounds);

    // Levels from the leaves up; each level's nodes hold `capacity` cells of the level below.
    let leaves: Vec<RtreeNode> = entries
        .chunks(capacity)
        .map(|c| {
            c.iter()
                .map(|&(fid, [x0, y0, x1, y1])| {
                    (
                        fid,
                        [rtree_down(x0), rtree_up(x1), rtree_down(y0), rtree_up(y1)],
                    )
                })
                .collect()
        })
        .collect();
    let mut levels = vec![leaves];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let below = levels.last().map_or(&[][..], Vec::as_slice);
        let parents: Vec<RtreeNode> = below
            .chunks(capacity)
            .map(|c| c.iter().map(|n| (0, node_box(n))).collect())
            .collect();
        levels.push(parents);
    }
    levels.reverse(); // root level first
    let height = levels.len();
    // Node numbers: the root is 1, then level by level.
    let mut first = Vec::with_capacity(height);
    let mut next = 1i64;
    for l in &levels {
        first.push(next);
        next += l.len() as i64;
    }
    let mut node_stmt = conn.prepare(&format!(
        "INSERT INTO {} (nodeno, data) VALUES (?1, ?2)",
        q(&format!("{rt}_node"))
    ))?;
    let mut parent_stmt = conn.prepare(&format!(
        "INSERT INTO {} (nodeno, parentnode) VALUES (?1, ?2)",
        q(&format!("{rt}_parent"))
    ))?;
    let mut rowid_stmt = conn.prepare(&format!(
        "INSERT INTO {} (rowid, nodeno) VALUES (?1, ?2)",
        q(&format!("{rt}_rowid"))
    ))?;
    conn.execute_batch(&format!("DELETE FROM {}", q(&format!("{rt}_node"))))?;
    let mut blob = vec![0u8; node_size];
    for (l, nodes) in levels.iter().enumerate() {
        let leaf = l + 1 == height;
        for (k, node) in nodes.iter().enumerate() {
            let nodeno = first[l] + k as i64;
            blob.fill(0);
            let depth = if l == 0 { (height - 1) as u16 } else { 0 };
            blob[0..2].copy_from_slice(&depth.to_be_bytes());
            blob[2..4].copy_from_slice(&(node.len() as u16).to_be_bytes());
            for (i, (id, b)) in node.iter().enumerate() {
                let id = if leaf {
                    *id
                } else {
                    first[l + 1] + (k * capacity + i) as i64
                };
                let at = 4 + i * RTREE_CELL;
                blob[at..at + 8].copy_from_slice(&id.to_be_bytes());
                for (j, v) in b.iter().enumerate() {
                    blob[at + 8 + 4 * j..at + 12 + 4 * j].copy_from_slice(&v.to_be_bytes());
                }
                if leaf {
                    rowid_stmt.execute(params![id, nodeno])?;
                }
            }
            node_stmt.execute(params![nodeno, blob.as_slice()])?;
            if l > 0 {
                parent_stmt.execute(params![nodeno, first[l - 1] + (k / capacity) as i64])?;
            }
        }
    }
    Ok(())
}

/// The bounds of every stored geometry of a layer (fid, [min x, min y, max
/// x, max y]) and their union. Empty and unreadable geometries are left out,
/// as the rtree triggers do.
pub(super) fn scan_bounds(conn: &Connection, name: &str) -> Result<IndexEntries, GpkgError> {
    let mut entries = Vec::new();
    let mut bounds = None;
    let mut stmt = conn.prepare(&format!("SELECT \"fid\", \"geom\" FROM {}", q(name)))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        if let ValueRef::Blob(b) = row.get_ref(1)? {
            if let Ok(Some(b)) = blob_bounds(b) {
                entries.push((row.get(0)?, b));
                bounds = union(bounds, Some(b));
            }
        }
    }
    Ok((entries, bounds))
}

/// Spatial index entries and their overall bounds.
pub(super) type IndexEntries = (Vec<(i64, [f64; 4])>, Option<[f64; 4]>);

#[cfg(test)]
#[allow(clippy::float_cmp)] // exact, representable coordinates
mod tests {
    use crate::store::gpkg::GpkgStore;
    use crate::store::gpkg::test_support::*;
    use chaski_core::store::{Store, WriteMode};
    use geo::{Geometry, point};

    #[test]
    fn bulk_loaded_index_answers_like_brute_force() {
        let (_dir, _path, store) = tmp_store();
        // 10,000 points on a skewed grid: three rtree levels.
        let pt = |i: i64| {
            (
                -76.0 + (i % 97) as f64 * 0.013,
                -14.0 + (i / 97) as f64 * 0.007 + (i % 7) as f64 * 0.001,
            )
        };
        let make = |range: std::ops::Range<i64>| {
            communities(
                range
                    .map(|i| {
                        let (x, y) = pt(i);
                        community(Some(&format!("k{i}")), i, x, y)
                    })
                    .collect(),
            )
        };
        let windows = [
            [-75.5005, -13.7005, -75.0005, -13.3005],
            [-76.1, -14.1, -74.0, -13.0],
            [-74.9995, -13.9995, -74.9985, -13.9985],
        ];
        let check = |store: &GpkgStore, n: i64| {
            assert_eq!(rtree_count(store, "communities"), n);
            let layer = store.read_layer("communities").unwrap();
            for w in windows {
                let expected: Vec<i64> = layer
                    .features
                    .iter()
                    .filter(|f| {
                        let Geometry::Point(p) = f.geometry else {
                            unreachable!()
                        };
                        p.x() >= w[0] && p.x() <= w[2] && p.y() >= w[1] && p.y() <= w[3]
                    })
                    .map(|f| f.fid)
                    .collect();
                assert_eq!(rtree_window(store, "communities", w), expected, "{w:?}");
            }
        };
        store
            .write_layer(&make(0..10_000), WriteMode::Replace)
            .unwrap();
        check(&store, 10_000);
        // Small append: triggers insert into full bulk-loaded nodes (splits).
        store
            .write_layer(&make(10_000..10_700), WriteMode::Append)
            .unwrap();
        check(&store, 10_700);
        // Small upsert moving features: update triggers.
        let mut moved = make(0..300);
        for f in &mut moved.features {
            f.geometry = Geometry::Point(point! { x: -70.0, y: -10.0 });
        }
        store.write_layer(&moved, WriteMode::Upsert).unwrap();
        check(&store, 10_700);
        // Large upsert: the index is rebuilt in bulk.
        let w = store
            .write_layer(&make(5_000..12_000), WriteMode::Upsert)
            .unwrap();
        assert_eq!((w.inserted, w.updated), (1_300, 5_700));
        check(&store, 12_000);
        let info = store.layer_info("communities").unwrap();
        // Features 0..300 moved away: the south-west corner is now feature 388 / 301.
        let layer = store.read_layer("communities").unwrap();
        assert_eq!(info.bounds, chaski_core::store::layer_bounds(&layer));
        let b = info.bounds.unwrap();
        assert_eq!((b[0], b[2], b[3]), (-76.0, -70.0, -10.0));
        assert!((b[1] + 13.979).abs() < 1e-9, "{b:?}");
    }
}
