//! Output files shared by the commands.

use anyhow::{Context, Result};
use std::path::Path;

/// A CSV file that Excel opens as UTF-8 (a byte-order mark first), so place
/// names keep their Ñ and accents.
pub fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, "\u{feff}".as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(csv::Writer::from_writer(file))
}

/// A spinner on stderr with `message` and the time elapsed, drawn only when
/// stderr is a terminal (hidden, and free, otherwise). Finish it with
/// `finish_and_clear`.
pub fn spinner(message: impl Into<std::borrow::Cow<'static, str>>) -> indicatif::ProgressBar {
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
        bar.set_style(style);
    }
    bar.set_message(message);
    if !bar.is_hidden() {
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
    }
    bar
}
