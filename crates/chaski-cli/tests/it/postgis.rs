//! `--store postgresql://…`: every command opens the PostGIS store from the
//! URL (the cluster of `CHASKI_TEST_PG`, a schema of its own per test). The
//! demo region loaded there reads back as from a GeoPackage (the same
//! summary, line for line); tokens are made, listed and revoked in the
//! database; a URL with no store is an error that creates nothing; a
//! password never shows in a message.

use crate::common::{chaski, text};
use std::path::Path;

fn url(name: &str) -> Option<String> {
    let base = chaski_testing::require_postgres()?;
    Some(chaski_testing::pg_schema_url(&base, name))
}

#[test]
fn the_demo_region_reads_back_from_postgis_as_from_a_geopackage() {
    let Some(url) = url("cli_demo") else { return };
    let store = Path::new(&url);
    // Nothing there yet: an error naming how to create one, and nothing is created.
    for _ in 0..2 {
        let out = chaski(store, &["summary"]);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(
            err.contains("no chaski store in schema") && err.contains("import"),
            "{err}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("demo.gpkg");
    for s in [store, gpkg.as_path()] {
        let out = chaski(
            s,
            &[
                "demo",
                "--out",
                dir.path().join("demo").to_str().unwrap(),
                "--load",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let summary = |s: &Path| {
        let out = chaski(s, &["summary"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let (pg, gp) = (summary(store), summary(&gpkg));
    assert!(pg.starts_with("store (postgis)"), "{pg}");
    assert!(gp.starts_with("store (gpkg)"), "{gp}");
    let body = |s: &str| s.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(body(&pg), body(&gp));
    assert!(pg.contains("households (households, point)"));

    // Tokens live in the database.
    let out = chaski(
        store,
        &[
            "tokens", "create", "--role", "cha", "--scope", "S1", "--label", "Rosa",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&chaski(store, &["tokens", "list"]).stdout);
    assert!(
        listed.contains("cha") && listed.contains("scope=S1") && listed.contains("active"),
        "{listed}"
    );
    let id = listed.split_whitespace().next().unwrap().to_owned();
    assert!(chaski(store, &["tokens", "revoke", &id]).status.success());
    assert!(text(&chaski(store, &["tokens", "list"]).stdout).contains("revoked="));
}

#[test]
fn a_password_never_shows_in_errors() {
    if chaski_testing::require_postgres().is_none() {
        return;
    }
    // Port 1 on loopback: nothing listens there.
    let out = chaski(
        Path::new("postgresql://chaski:s3cr3t-pw@127.0.0.1:1/chaski"),
        &["summary"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("postgresql://chaski:***@127.0.0.1:1/chaski"),
        "{err}"
    );
    assert!(!err.contains("s3cr3t-pw"), "{err}");
}
