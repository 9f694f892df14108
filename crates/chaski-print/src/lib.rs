#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod error;
pub mod font;
pub mod grid;
pub mod i18n;
pub mod labels;
pub mod legend;
pub mod map;
pub mod page;
pub mod project;
pub mod qr;
pub mod relief;
pub mod render;
pub mod scalebar;
pub mod svg;
pub mod symbols;

pub use error::{PrintError, Result};
pub use map::{PageInfo, PageKind, PrintedPage, compose};
pub use page::{Dpi, Lang, Orientation, PageSpec, PaperSize, PrintDate};
pub use render::Renderer;

use chaski_analysis::risk_map::RiskMap;
use std::fmt;
use std::str::FromStr;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Vector PDF, every page, fonts embedded.
    #[default]
    Pdf,
    /// PNG, one image per page.
    Png,
}

impl Format {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Png => "png",
        }
    }
}

impl FromStr for Format {
    type Err = PrintError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pdf" => Ok(Self::Pdf),
            "png" => Ok(Self::Png),
            _ => Err(PrintError::Option {
                option: "format",
                value: s.to_owned(),
                expected: "pdf or png",
            }),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.extension())
    }
}

/// The pages of several maps, one after the other (an atlas: each map with
/// its details and index).
pub fn compose_all(maps: &[RiskMap], spec: &PageSpec) -> Result<Vec<PrintedPage>> {
    let mut pages = Vec::new();
    for m in maps {
        pages.extend(compose(m, spec)?);
    }
    Ok(pages)
}

/// A PDF of `pages`, titled `title`, with the bundled font embedded.
pub fn pdf(pages: &[PrintedPage], title: &str) -> Result<Vec<u8>> {
    let svgs: Vec<String> = pages.iter().map(|p| p.svg.clone()).collect();
    Renderer::new().pdf(&svgs, title)
}

/// A PNG of each page at `dpi`.
pub fn png(pages: &[PrintedPage], dpi: f32) -> Result<Vec<Vec<u8>>> {
    let r = Renderer::new();
    pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            r.png(&p.svg, dpi).map_err(|e| match e {
                PrintError::Png { reason, .. } => PrintError::Png {
                    page: i + 1,
                    reason,
                },
                PrintError::Svg { reason, .. } => PrintError::Svg {
                    page: i + 1,
                    reason,
                },
                other => other,
            })
        })
        .collect()
}
