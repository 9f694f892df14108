//! What the unit tests need from outside the repository: the real data of
//! ../shared/data/peru and GDAL's command-line tools. When one is absent the
//! test fails under `CHASKI_REQUIRE_DATA=1` (as `make test` sets), else it is
//! skipped with one line saying what and why.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether absent reference data or tools fail the tests instead of skipping
/// them: `CHASKI_REQUIRE_DATA=1`.
pub(crate) fn data_required() -> bool {
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
pub(crate) fn require_data(path: impl AsRef<Path>) -> Option<PathBuf> {
    let path = path.as_ref();
    if path.exists() {
        return Some(path.to_path_buf());
    }
    unavailable(&format!("{} is absent", path.display()));
    None
}

/// A file of ../shared/data/peru (beside the repository), see [`require_data`].
#[track_caller]
pub(crate) fn peru(rel: &str) -> Option<PathBuf> {
    require_data(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/peru")
            .join(rel),
    )
}

/// Whether command `tool` runs (`tool --version`); else see [`unavailable`].
#[track_caller]
pub(crate) fn require_tool(tool: &str) -> bool {
    let runs = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        unavailable(&format!(
            "command {tool} is not available (Debian package gdal-bin; scripts/install-deps.sh)"
        ));
    }
    runs
}
