//! Paper, orientation and language of a print, and where the map, the panel
//! (title block, legend, scale bar, north arrow, QR code) and the footer sit
//! on the page. Everything on a page is in millimetres from its top-left
//! corner, y down (as SVG draws it).
//!
//! ```
//! use chaski_print::page::{Orientation, PageSpec, PaperSize};
//! let spec = PageSpec { size: PaperSize::A4, orientation: Orientation::Portrait, ..PageSpec::default() };
//! assert_eq!(spec.page_mm(), (210.0, 297.0));
//! let l = spec.layout();
//! // The map lies inside the page's margins, above the panel, and they do not overlap.
//! assert!(l.map.x >= 10.0 && l.map.bottom() <= l.panel.y && l.panel.bottom() <= l.footer.y);
//! let a3 = PageSpec { size: PaperSize::A3, orientation: Orientation::Landscape, ..PageSpec::default() };
//! assert_eq!(a3.page_mm(), (420.0, 297.0));
//! assert!(a3.layout().map.right() <= a3.layout().panel.x);
//! ```

use crate::error::PrintError;
use std::fmt;
use std::str::FromStr;

/// Margin around everything, mm.
pub const MARGIN_MM: f64 = 10.0;
/// Height of the footer strip, mm.
pub const FOOTER_MM: f64 = 6.0;
/// Band outside the map frame holding the grid's letters and numbers, mm.
pub const GRID_BAND_MM: f64 = 4.0;

/// An axis-aligned rectangle on the page, mm (x right, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// A rectangle from its left, top, width and height.
    pub const fn new(x: f64, y: f64, w: f64, h: f64) -> Self {
        Self { x, y, w, h }
    }

    /// A rectangle of `w` x `h` centred on (`cx`, `cy`).
    pub fn centred(cx: f64, cy: f64, w: f64, h: f64) -> Self {
        Self::new(cx - w / 2.0, cy - h / 2.0, w, h)
    }

    /// Right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    /// Bottom edge.
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// Centre.
    pub fn centre(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// Whether the two rectangles share interior area (touching edges do not).
    ///
    /// ```
    /// use chaski_print::page::Rect;
    /// let a = Rect::new(0.0, 0.0, 10.0, 5.0);
    /// assert!(a.intersects(&Rect::new(9.0, 4.0, 3.0, 3.0)));
    /// assert!(!a.intersects(&Rect::new(10.0, 0.0, 3.0, 3.0)));
    /// ```
    pub fn intersects(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    /// Whether `other` lies wholly inside.
    pub fn contains_rect(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// Whether the point lies inside (edges included).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.x && x <= self.right() && y >= self.y && y <= self.bottom()
    }

    /// The rectangle grown by `d` on every side (shrunk for negative `d`).
    #[must_use]
    pub fn grown(&self, d: f64) -> Self {
        Self::new(self.x - d, self.y - d, self.w + 2.0 * d, self.h + 2.0 * d)
    }

    /// The smallest rectangle holding both.
    #[must_use]
    pub fn union(&self, other: &Rect) -> Self {
        let x = self.x.min(other.x);
        let y = self.y.min(other.y);
        Self::new(
            x,
            y,
            self.right().max(other.right()) - x,
            self.bottom().max(other.bottom()) - y,
        )
    }
}

/// Paper size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaperSize {
    /// ISO A4, 210 x 297 mm.
    #[default]
    A4,
    /// ISO A3, 297 x 420 mm.
    A3,
}

impl PaperSize {
    /// Short and long side, mm.
    pub fn sides_mm(self) -> (f64, f64) {
        match self {
            Self::A4 => (210.0, 297.0),
            Self::A3 => (297.0, 420.0),
        }
    }
}

impl FromStr for PaperSize {
    type Err = PrintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a4" => Ok(Self::A4),
            "a3" => Ok(Self::A3),
            _ => Err(PrintError::Option {
                option: "size",
                value: s.to_owned(),
                expected: "a4 or a3",
            }),
        }
    }
}

impl fmt::Display for PaperSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::A4 => "a4",
            Self::A3 => "a3",
        })
    }
}

/// Page orientation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    /// Taller than wide.
    #[default]
    Portrait,
    /// Wider than tall.
    Landscape,
}

impl FromStr for Orientation {
    type Err = PrintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "portrait" | "vertical" => Ok(Self::Portrait),
            "landscape" | "horizontal" => Ok(Self::Landscape),
            _ => Err(PrintError::Option {
                option: "orientation",
                value: s.to_owned(),
                expected: "portrait or landscape",
            }),
        }
    }
}

impl fmt::Display for Orientation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Portrait => "portrait",
            Self::Landscape => "landscape",
        })
    }
}

/// Language of every text on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Spanish (default).
    #[default]
    Es,
    /// English.
    En,
}

impl FromStr for Lang {
    type Err = PrintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "es" | "spa" | "spanish" | "español" => Ok(Self::Es),
            "en" | "eng" | "english" => Ok(Self::En),
            _ => Err(PrintError::Option {
                option: "lang",
                value: s.to_owned(),
                expected: "es or en",
            }),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Es => "es",
            Self::En => "en",
        })
    }
}

/// How a map is printed: paper, orientation, language, the date in the title
/// block (given by the caller: the library reads no clock) and the web
/// viewer the QR code opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSpec {
    /// Paper size.
    pub size: PaperSize,
    /// Orientation.
    pub orientation: Orientation,
    /// Language.
    pub lang: Lang,
    /// Date printed in the title block (e.g. `2026-12-05`).
    pub date: String,
    /// Base URL of the web viewer (e.g. `https://chaski.example.org`); the QR
    /// code opens the map's area there.
    pub viewer_url: String,
}

impl Default for PageSpec {
    fn default() -> Self {
        Self {
            size: PaperSize::A4,
            orientation: Orientation::Portrait,
            lang: Lang::Es,
            date: String::new(),
            viewer_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

/// Where things sit on a page.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageLayout {
    /// The whole page.
    pub page: Rect,
    /// The map frame (inside the grid band).
    pub map: Rect,
    /// The panel: title block, legend, scale bar, north arrow, QR code.
    pub panel: Rect,
    /// The footer strip.
    pub footer: Rect,
}

impl PageSpec {
    /// Width and height of the page, mm.
    pub fn page_mm(&self) -> (f64, f64) {
        let (short, long) = self.size.sides_mm();
        match self.orientation {
            Orientation::Portrait => (short, long),
            Orientation::Landscape => (long, short),
        }
    }

    /// The panel's size across the page: its height below the map in
    /// portrait, its width beside the map in landscape, mm.
    pub fn panel_mm(&self) -> f64 {
        match (self.size, self.orientation) {
            (PaperSize::A4, Orientation::Portrait) => 66.0,
            (PaperSize::A3, Orientation::Portrait) | (PaperSize::A4, Orientation::Landscape) => {
                78.0
            }
            (PaperSize::A3, Orientation::Landscape) => 96.0,
        }
    }

    /// Where the map, the panel and the footer go.
    pub fn layout(&self) -> PageLayout {
        let (w, h) = self.page_mm();
        let page = Rect::new(0.0, 0.0, w, h);
        let footer = Rect::new(
            MARGIN_MM,
            h - MARGIN_MM - FOOTER_MM,
            w - 2.0 * MARGIN_MM,
            FOOTER_MM,
        );
        let body = Rect::new(
            MARGIN_MM,
            MARGIN_MM,
            w - 2.0 * MARGIN_MM,
            footer.y - 2.0 - MARGIN_MM,
        );
        let band = GRID_BAND_MM;
        let (map, panel) = match self.orientation {
            Orientation::Portrait => {
                let p = self.panel_mm();
                let map = Rect::new(
                    body.x + band,
                    body.y + band,
                    body.w - 2.0 * band,
                    body.h - p - 2.0 * band - 3.0,
                );
                let panel = Rect::new(body.x, body.bottom() - p, body.w, p);
                (map, panel)
            }
            Orientation::Landscape => {
                let p = self.panel_mm();
                let map = Rect::new(
                    body.x + band,
                    body.y + band,
                    body.w - p - 2.0 * band - 3.0,
                    body.h - 2.0 * band,
                );
                let panel = Rect::new(body.right() - p, body.y, p, body.h);
                (map, panel)
            }
        };
        PageLayout {
            page,
            map,
            panel,
            footer,
        }
    }
}
