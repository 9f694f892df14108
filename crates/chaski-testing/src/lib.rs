//! What the tests need from outside the repository: the real data of
//! `../shared/data/peru` (beside the repository) and GDAL's command-line
//! tools (and poppler's PDF tools). When one is absent the test fails under `CHASKI_REQUIRE_DATA=1` (as
//! `make test` sets), else it is skipped with one line saying what and why.
//! Also an independent decoder of vector tiles ([`mvt_proto`]) for the tests
//! and benches that read tiles back. A dev-dependency only: no build of chaski
//! links it.

#![forbid(unsafe_code)]

pub mod mvt_proto;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether absent reference data or tools fail the tests instead of skipping
/// them: `CHASKI_REQUIRE_DATA=1`.
pub fn data_required() -> bool {
    std::env::var_os("CHASKI_REQUIRE_DATA").is_some_and(|v| v == "1")
}

/// The running test cannot run: `what` is absent. A failure when
/// [`data_required`], else one `SKIPPED` line written straight to stderr (the
/// test harness does not capture it, so `cargo test` shows it).
#[track_caller]
fn unavailable(what: &str) {
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    assert!(
        !data_required(),
        "{test}: {what}, and CHASKI_REQUIRE_DATA=1 requires it"
    );
    writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {what} (CHASKI_REQUIRE_DATA=1 makes this a failure)"
    )
    .ok();
}

/// `path` if it exists; else see [`unavailable`].
#[track_caller]
pub fn require_data(path: impl AsRef<Path>) -> Option<PathBuf> {
    let path = path.as_ref();
    if path.exists() {
        return Some(path.to_path_buf());
    }
    unavailable(&format!("{} is absent", path.display()));
    None
}

/// The folder of the real Peru data, `../shared/data/peru` beside the
/// repository (whether it exists or not).
pub fn peru_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/peru")
}

/// A file of `../shared/data/peru`, see [`require_data`].
#[track_caller]
pub fn peru(rel: &str) -> Option<PathBuf> {
    require_data(peru_dir().join(rel))
}

/// Whether command `tool` runs (`tool --version`); else see [`unavailable`].
#[track_caller]
pub fn require_tool(tool: &str) -> bool {
    require_command(tool, "--version", "gdal-bin")
}

/// Whether command `tool` of Debian package `package` runs (`tool ARG`,
/// e.g. `-v`, must succeed); else see [`unavailable`].
#[track_caller]
pub fn require_command(tool: &str, arg: &str, package: &str) -> bool {
    let runs = Command::new(tool)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        unavailable(&format!(
            "command {tool} is not available (Debian package {package}; scripts/install-deps.sh)"
        ));
    }
    runs
}

/// Whether poppler's `pdfinfo`, `pdffonts`, `pdftotext` and `pdftoppm` run
/// (Debian package poppler-utils), the independent readers of printed maps;
/// else see [`unavailable`].
#[track_caller]
pub fn require_poppler() -> bool {
    ["pdfinfo", "pdffonts", "pdftotext", "pdftoppm"]
        .into_iter()
        .all(|t| require_command(t, "-v", "poppler-utils"))
}

/// A Python interpreter that imports `module`: `CHASKI_PYTHON`, else the
/// virtual environment `target/pyenv` that `scripts/install-deps.sh` makes
/// (the `pmtiles` package from PyPI), else `python3`; see [`unavailable`]
/// when none does.
#[track_caller]
pub fn require_python_module(module: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("CHASKI_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python"));
    candidates.push(PathBuf::from("python3"));
    let found = candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        unavailable(&format!(
            "the Python module {module} is not importable (scripts/install-deps.sh installs it \
             in target/pyenv; or set CHASKI_PYTHON)"
        ));
    }
    found
}

/// Variable holding the URL of the throw-away PostgreSQL/PostGIS cluster of
/// the tests (`make test` starts one with `scripts/pg-test-cluster.sh` and
/// sets it).
pub const PG_VAR: &str = "CHASKI_TEST_PG";

/// The URL of the tests' PostgreSQL/PostGIS cluster ([`PG_VAR`]); else see
/// [`unavailable`] (a failure under `CHASKI_REQUIRE_DATA=1`).
#[track_caller]
pub fn require_postgres() -> Option<String> {
    match std::env::var(PG_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            unavailable(&format!(
                "{PG_VAR} is not set (start a cluster with `scripts/pg-test-cluster.sh start` \
                 and export its URL as {PG_VAR}; `make test` does both)"
            ));
            None
        }
    }
}

/// `url` with a PostgreSQL schema of its own for one test: `NAME_PID_NANOS`,
/// so tests (and reruns) never share a store.
pub fn pg_schema_url(url: &str, name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let schema: String = format!("t_{name}_{}_{nanos}", std::process::id())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}schema={schema}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn present_files_and_tools_are_given_back() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        assert_eq!(require_data(&manifest), Some(manifest));
        assert!(require_tool("cargo"));
        assert!(peru_dir().ends_with("shared/data/peru"));
    }

    #[test]
    fn an_absent_file_is_skipped_or_fails_as_the_variable_says() {
        let absent = Path::new(env!("CARGO_MANIFEST_DIR")).join("no such file");
        let got = std::panic::catch_unwind(|| require_data(&absent));
        if data_required() {
            assert!(got.is_err(), "CHASKI_REQUIRE_DATA=1 must fail the test");
        } else {
            assert_eq!(got.ok(), Some(None));
        }
    }
}
