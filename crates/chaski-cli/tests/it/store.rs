//! A `--store` that names no file: only `import` and `demo --load` create a
//! store; every other command refuses the path (exit 2, naming it and saying
//! how to create a store) and creates nothing.

use crate::common::text;
use std::process::Command;

/// Run `chaski ARGS...` in `cwd`.
fn chaski_in(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_chaski"))
        .current_dir(cwd)
        .env_remove("CHASKI_STORE")
        .args(args)
        .output()
        .expect("run chaski")
}

#[test]
fn a_store_typo_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = chaski_in(dir.path(), &["--store", "typo.gpkg", "summary"]);
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}\n{stderr}",
        text(&out.stdout)
    );
    assert!(
        stderr.starts_with("chaski: error: no store at typo.gpkg"),
        "{stderr}"
    );
    assert!(stderr.contains("import FILE --layer NAME"), "{stderr}");
    assert!(stderr.contains("demo --load"), "{stderr}");
    assert!(text(&out.stdout).is_empty());
    assert!(!dir.path().join("typo.gpkg").exists());

    // Every command but import and demo --load, with a missing file or folder.
    let sub = "missing/folder/typo.gpkg";
    for args in [
        &["summary", "--json"][..],
        &["serve", "--listen", "127.0.0.1:0"],
        &["catchments", "--out", "out"],
        &["clusters", "--flags", "anaemia"],
        &["tokens", "list"],
        &["tokens", "create", "--role", "admin"],
        &["households", "delete", "H-1"],
        &["places", "list"],
        &["check"],
    ] {
        for store in ["typo.gpkg", sub] {
            let mut all = vec!["--store", store];
            all.extend_from_slice(args);
            let out = chaski_in(dir.path(), &all);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("no store at {store}")),
                "{args:?}: {stderr}"
            );
        }
    }
    // CHASKI_STORE is refused the same way.
    let out = Command::new(env!("CARGO_BIN_EXE_chaski"))
        .current_dir(dir.path())
        .env("CHASKI_STORE", "other.gpkg")
        .arg("summary")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no store at other.gpkg"));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "files created: {left:?}");
}

#[test]
fn import_creates_the_store_and_its_folder_then_summary_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("f.csv"),
        "codigo,nombre,categoria,lat,lon\nA,Posta A,I-1,-13.0,-74.0\n",
    )
    .unwrap();
    let store = "new/folder/s.gpkg";
    let out = chaski_in(
        dir.path(),
        &["--store", store, "import", "f.csv", "--layer", "facilities"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join(store).is_file());
    let out = chaski_in(dir.path(), &["--store", store, "summary"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("facilities"),
        "{}",
        text(&out.stdout)
    );
}
