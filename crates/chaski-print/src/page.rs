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

/// Fewest dots per inch of a PNG page.
pub const MIN_DPI: f32 = 10.0;
/// Most dots per inch of a PNG page (an A3 page at 1200 dpi is 278
/// megapixels: a caller serving others bounds it lower, see the server).
pub const MAX_DPI: f32 = 1200.0;

/// Resolution of a PNG page, dots per inch, from [`MIN_DPI`] to [`MAX_DPI`]:
/// the one parser of `--dpi` (`chaski print`) and `dpi=` (`GET /maps/risk.png`).
///
/// ```
/// use chaski_print::page::{Dpi, PaperSize, Orientation, PageSpec};
/// let dpi: Dpi = "150".parse().unwrap();
/// assert_eq!(dpi.get(), 150.0);
/// // A4 portrait at 150 dpi: 210 mm and 297 mm at 150 / 25.4 dots per mm (1240.2, 1753.9), rounded up.
/// assert_eq!(dpi.pixels(&PageSpec::default()), (1241, 1754));
/// assert_eq!("5".parse::<Dpi>().unwrap_err().to_string(),
///            "dpi: '5' is not a number of dots per inch from 10 to 1200");
/// assert!("NaN".parse::<Dpi>().is_err() && "abc".parse::<Dpi>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Dpi(f32);

impl Dpi {
    /// `dpi` when within [`MIN_DPI`]..=[`MAX_DPI`].
    pub fn new(dpi: f32) -> Result<Self, PrintError> {
        if dpi.is_finite() && (MIN_DPI..=MAX_DPI).contains(&dpi) {
            Ok(Self(dpi))
        } else {
            Err(Self::error(dpi.to_string()))
        }
    }

    fn error(value: String) -> PrintError {
        PrintError::Option {
            option: "dpi",
            value,
            expected: "a number of dots per inch from 10 to 1200",
        }
    }

    /// Dots per inch.
    pub fn get(self) -> f32 {
        self.0
    }

    /// Width and height in pixels of a page of `spec` at this resolution (as
    /// [`crate::png`] draws it).
    pub fn pixels(self, spec: &PageSpec) -> (u32, u32) {
        let (w, h) = spec.page_mm();
        let px = |mm: f64| (mm / 25.4 * f64::from(self.0)).ceil() as u32;
        (px(w), px(h))
    }
}

impl Default for Dpi {
    fn default() -> Self {
        Self(150.0)
    }
}

impl FromStr for Dpi {
    type Err = PrintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<f32>()
            .map_err(|_| Self::error(s.to_owned()))
            .and_then(|v| Self::new(v).map_err(|_| Self::error(s.to_owned())))
    }
}

impl fmt::Display for Dpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The date of the title block, `YYYY-MM-DD` (a real calendar date): the one
/// parser of `--date` (`chaski print`) and `date=` (`GET /maps/risk.pdf`).
///
/// ```
/// use chaski_print::page::PrintDate;
/// assert_eq!("2026-12-05".parse::<PrintDate>().unwrap().as_str(), "2026-12-05");
/// assert!("2026-02-30".parse::<PrintDate>().is_err());
/// assert!("<b>".parse::<PrintDate>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintDate(String);

impl PrintDate {
    /// The date, `YYYY-MM-DD`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PrintDate {
    type Err = PrintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let bad = || PrintError::Option {
            option: "date",
            value: s.to_owned(),
            expected: "a date YYYY-MM-DD",
        };
        let bytes = text.as_bytes();
        if bytes.len() != 10
            || bytes[4] != b'-'
            || bytes[7] != b'-'
            || !bytes
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| text[r].parse::<u32>().map_err(|_| bad());
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return Err(bad()),
        };
        if day == 0 || day > days {
            return Err(bad());
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for PrintDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
