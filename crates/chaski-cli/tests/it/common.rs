//! Helpers shared by the end-to-end tests: running the `chaski` binary and
//! finding the real data of ../shared/data/peru.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run `chaski --store STORE ARGS...` and collect its output.
pub fn chaski(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chaski"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("run chaski")
}

/// Bytes as text, lossily.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A file of ../shared/data/peru, if present.
pub fn peru(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/peru")
        .join(rel);
    p.exists().then_some(p)
}

/// A temp dir with the demo region loaded into `demo.gpkg`.
pub fn demo_store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("demo.gpkg");
    let out = chaski(
        &store,
        &[
            "demo",
            "--out",
            dir.path().join("demo").to_str().unwrap(),
            "--load",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    (dir, store)
}
