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
