//! `chaski check`: a good store passes (and GDAL's validator and `ogrinfo`
//! agree), and each kind of damage done behind chaski's back gives exit 1
//! with a line naming the problem: a deleted R-tree row, a household stored
//! without consent, a broken geometry blob, a newer schema version, a
//! truncated file. An older schema version is reported, and any command
//! that opens the store upgrades it.

use crate::common::{chaski, demo_store, text};
use chaski_io::store::gpkg::blob_bounds;
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A connection to `path` with the SQL functions the GeoPackage R-tree
/// triggers call (as GDAL or any GeoPackage writer provides them), to damage
/// a store through plain SQL.
fn sql(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    let bounds = |v: ValueRef<'_>| match v {
        ValueRef::Blob(b) => blob_bounds(b).ok(),
        _ => None,
    };
    c.create_scalar_function("ST_IsEmpty", 1, flags, move |ctx| {
        Ok(bounds(ctx.get_raw(0)).map(|b| b.is_none()))
    })
    .unwrap();
    for (name, i) in [
        ("ST_MinX", 0),
        ("ST_MinY", 1),
        ("ST_MaxX", 2),
        ("ST_MaxY", 3),
    ] {
        c.create_scalar_function(name, 1, flags, move |ctx| {
            Ok(bounds(ctx.get_raw(0)).flatten().map(|b| b[i]))
        })
        .unwrap();
    }
    c
}

/// `chaski check FILE`: exit code and stdout.
fn check(path: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chaski"))
        .args(["check", path.to_str().unwrap()])
        .output()
        .unwrap();
    (out.status.code(), text(&out.stdout))
}

/// A copy of the demo store named `name`, beside it.
fn copy(store: &Path, name: &str) -> PathBuf {
    let to = store.with_file_name(name);
    std::fs::copy(store, &to).unwrap();
    to
}

/// `check` exits 1 and its output has a problem line containing every one of `expected`.
#[track_caller]
fn assert_problem(path: &Path, check_name: &str, expected: &[&str]) {
    let (code, out) = check(path);
    assert_eq!(code, Some(1), "{out}");
    let line = out
        .lines()
        .find(|l| {
            l.starts_with(&format!("problem  {check_name}: "))
                && expected.iter().all(|e| l.contains(e))
        })
        .unwrap_or_else(|| panic!("no problem line of {check_name} with {expected:?}:\n{out}"));
    assert!(!line.is_empty());
    assert!(out.contains("checks found problems in"), "{out}");
}

#[test]
fn a_good_store_passes_and_each_damage_is_named() {
    let (_dir, store) = demo_store();
    let (code, out) = check(&store);
    assert_eq!(code, Some(0), "{out}");
    for name in [
        "file",
        "sqlite integrity",
        "geopackage",
        "geometries",
        "spatial indexes",
        "household consent",
        "schema version",
    ] {
        assert!(
            out.contains(&format!("\nok       {name}: ")),
            "{name}: {out}"
        );
    }
    assert!(out.contains("schema version 3"), "{out}");
    assert!(out.ends_with("the store passed every check\n"), "{out}");
    // --json and --store say the same.
    let json = chaski(&store, &["check", "--json"]);
    assert!(json.status.success());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["checks"].as_array().unwrap().len(), 7);

    // The independent readers agree: GDAL's GeoPackage validator passes, and
    // ogrinfo counts as many features per layer as the R-trees hold.
    let validator = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py";
    if chaski_testing::require_tool("ogrinfo") && chaski_testing::require_data(validator).is_some()
    {
        let v = Command::new("python3")
            .args([validator, store.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(v.status.success(), "{}{}", text(&v.stdout), text(&v.stderr));
        let c = Connection::open(&store).unwrap();
        for layer in ["communities", "facilities", "households"] {
            let n: i64 = c
                .query_row(
                    &format!("SELECT count(*) FROM rtree_{layer}_geom"),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            let info = Command::new("ogrinfo")
                .args(["-ro", "-so", store.to_str().unwrap(), layer])
                .output()
                .unwrap();
            let info = text(&info.stdout);
            assert!(
                info.contains(&format!("Feature Count: {n}\n")),
                "{layer}: {n}: {info}"
            );
        }
    }

    // A deleted R-tree row.
    let p = copy(&store, "rtree.gpkg");
    let c = sql(&p);
    let fid: i64 = c
        .query_row("SELECT min(id) FROM rtree_communities_geom", [], |r| {
            r.get(0)
        })
        .unwrap();
    c.execute("DELETE FROM rtree_communities_geom WHERE id = ?1", [fid])
        .unwrap();
    drop(c);
    assert_problem(
        &p,
        "spatial indexes",
        &[
            "layer 'communities'",
            "rtree_communities_geom",
            &format!("not indexed: feature {fid}"),
        ],
    );

    // A household of a family that did not consent, and one without an
    // answer, inserted with SQL (the triggers index them as GDAL would).
    let p = copy(&store, "consent.gpkg");
    let c = sql(&p);
    let cols = "geom, code, community, facility, cha_sector, consent";
    let no: i64 = c
        .query_row(
            &format!(
                "INSERT INTO households ({cols}) SELECT geom, 'ROGUE-1', community, facility, \
                 cha_sector, 0 FROM households LIMIT 1 RETURNING fid"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    let missing: i64 = c
        .query_row(
            &format!(
                "INSERT INTO households ({cols}) SELECT geom, 'ROGUE-2', community, facility, \
                 cha_sector, NULL FROM households LIMIT 1 RETURNING fid"
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(c);
    assert_problem(
        &p,
        "household consent",
        &["'households'", "consent no", &format!("feature {no})")],
    );
    assert_problem(
        &p,
        "household consent",
        &["consent missing", &format!("feature {missing})")],
    );
    // ... indexed as they should be: only the consent rule catches them.
    let (_, out) = check(&p);
    assert!(out.contains("ok       spatial indexes"), "{out}");

    // A broken geometry blob.
    let p = copy(&store, "blob.gpkg");
    let fid: i64 = sql(&p)
        .query_row(
            "UPDATE facilities SET geom = x'4750000001020304' WHERE fid = (SELECT min(fid) FROM facilities) RETURNING fid",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_problem(
        &p,
        "geometries",
        &[
            &format!("layer 'facilities' feature {fid}: broken geometry blob"),
            "truncated",
        ],
    );

    // A store of a newer chaski: check names it, every command refuses it
    // (naming the file, its version and ours) and nothing is written.
    let p = copy(&store, "newer.gpkg");
    sql(&p)
        .execute_batch("UPDATE chaski_meta SET value = 9 WHERE key = 'schema_version'")
        .unwrap();
    let before = std::fs::read(&p).unwrap();
    assert_problem(
        &p,
        "schema version",
        &["schema version 9 is newer", "(schema version 3)"],
    );
    let out = chaski(&p, &["summary"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(p.to_str().unwrap()), "{err}");
    assert!(
        err.contains("schema version 9 is newer than this chaski supports (schema version 3)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&p).unwrap(),
        before,
        "a refused store was written to"
    );

    // A truncated file.
    let p = copy(&store, "truncated.gpkg");
    let len = std::fs::metadata(&p).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_problem(&p, "file", &["truncated", &format!("{} bytes", len / 2)]);

    // An older schema: reported; any command upgrades it, then it passes.
    let p = copy(&store, "older.gpkg");
    sql(&p)
        .execute_batch(
            "DELETE FROM chaski_meta WHERE key = 'schema_version'; DROP TABLE chaski_places;",
        )
        .unwrap();
    assert_problem(
        &p,
        "schema version",
        &["schema version 0 is older than this chaski's (3)"],
    );
    let out = chaski(&p, &["summary"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (code, out) = check(&p);
    assert_eq!(code, Some(0), "{out}");

    // No file: exit 2, naming the path.
    let out = chaski(&store, &["check", "/nonexistent/x.gpkg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no store at /nonexistent/x.gpkg"));
}
