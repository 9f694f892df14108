//! Every input committed under `fuzz/` (the minimised corpus of each target
//! and each crash the fuzzer found, `fuzz/regressions/TARGET/`) run through
//! the very harness the fuzz targets call (`fuzz/src/harness.rs`, included
//! here), on stable, in `make test`: a crash fixed in the library stays fixed.

#[path = "../../fuzz/src/harness.rs"]
#[allow(dead_code)]
mod harness;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `fuzz/KIND/TARGET/`, sorted (none when the folder is absent).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(kind).join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Each folder under `fuzz/corpus` and `fuzz/regressions` is a target the harness knows.
#[test]
fn every_input_folder_is_a_target() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for e in entries {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                harness::TARGETS.contains(&name.as_str()),
                "fuzz/{kind}/{name} is not a fuzz target (targets: {:?})",
                harness::TARGETS
            );
        }
    }
}

/// Each target's corpus is committed, and every regression and corpus input
/// passes the target's checks.
#[test]
fn corpus_and_regressions_pass() {
    let mut total = 0;
    for target in harness::TARGETS {
        let corpus = inputs("corpus", target);
        assert!(!corpus.is_empty(), "no corpus committed for {target}");
        for path in inputs("regressions", target).into_iter().chain(corpus) {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| harness::run(target, &data));
            assert!(
                matches!(outcome, Ok(true)),
                "{target}: {} fails the target's checks",
                path.display()
            );
            total += 1;
        }
    }
    assert!(total >= harness::TARGETS.len());
}
