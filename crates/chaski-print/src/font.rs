//! The one font of every page: DejaVu Sans (regular and bold, Debian's
//! fonts-dejavu-core 2.37, license in `fonts/LICENSE-DejaVu.txt`), bundled in
//! the binary. It covers Spanish (á é í ó ú ñ ü ¿ ¡) and the symbols the
//! pages use. Rendering loads only this font, so no output depends on the
//! fonts of the machine; the PDF embeds the glyphs it uses.
//!
//! [`text_width_mm`] measures a line of text from the font's own advance
//! widths (no kerning: a label box is never narrower than its text).
//!
//! ```
//! use chaski_print::font::{Weight, line_height_mm, text_width_mm};
//! let w = text_width_mm("DEMO-H0001", 7.0, Weight::Regular);
//! assert!(w > 15.0 && w < 30.0);
//! assert!(text_width_mm("Ñuñoa", 7.0, Weight::Bold) > text_width_mm("Ñuñoa", 7.0, Weight::Regular));
//! assert!(line_height_mm(7.0) > 7.0 * 25.4 / 72.0);
//! ```

use std::sync::OnceLock;

/// DejaVu Sans, regular.
pub static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
/// DejaVu Sans, bold.
pub static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");
/// The family name SVG text uses.
pub const FAMILY: &str = "DejaVu Sans";

/// Millimetres per typographic point.
pub const MM_PER_PT: f64 = 25.4 / 72.0;

/// Weight of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Regular.
    Regular,
    /// Bold.
    Bold,
}

/// Advance widths of the characters of one face, in em.
struct Metrics {
    /// Advance of each char up to U+024F (Latin Extended-B), em; others looked up.
    table: Vec<f64>,
    units: f64,
    data: &'static [u8],
    ascender: f64,
    descender: f64,
}

impl Metrics {
    fn new(data: &'static [u8]) -> Option<Self> {
        let face = ttf_parser::Face::parse(data, 0).ok()?;
        let units = f64::from(face.units_per_em());
        let table = (0u32..0x250)
            .map(|c| advance(&face, char::from_u32(c).unwrap_or(' '), units))
            .collect();
        Some(Self {
            table,
            units,
            data,
            ascender: f64::from(face.ascender()) / units,
            descender: f64::from(face.descender()) / units,
        })
    }

    fn width_em(&self, text: &str) -> f64 {
        let mut face = None;
        text.chars()
            .map(|c| {
                self.table.get(c as usize).copied().unwrap_or_else(|| {
                    let f = face.get_or_insert_with(|| ttf_parser::Face::parse(self.data, 0).ok());
                    f.as_ref().map_or(0.6, |f| advance(f, c, self.units))
                })
            })
            .sum()
    }
}

fn advance(face: &ttf_parser::Face<'_>, c: char, units: f64) -> f64 {
    face.glyph_index(c)
        .or_else(|| face.glyph_index('?'))
        .and_then(|g| face.glyph_hor_advance(g))
        .map_or(0.6, |a| f64::from(a) / units)
}

fn metrics(weight: Weight) -> Option<&'static Metrics> {
    static R: OnceLock<Option<Metrics>> = OnceLock::new();
    static B: OnceLock<Option<Metrics>> = OnceLock::new();
    match weight {
        Weight::Regular => R.get_or_init(|| Metrics::new(REGULAR)).as_ref(),
        Weight::Bold => B.get_or_init(|| Metrics::new(BOLD)).as_ref(),
    }
}

/// Width of `text` set in `size_pt` points, mm.
pub fn text_width_mm(text: &str, size_pt: f64, weight: Weight) -> f64 {
    let em =
        metrics(weight).map_or_else(|| 0.62 * text.chars().count() as f64, |m| m.width_em(text));
    em * size_pt * MM_PER_PT
}

/// Height of a line of text of `size_pt` points (ascender to descender), mm.
pub fn line_height_mm(size_pt: f64) -> f64 {
    let em = metrics(Weight::Regular).map_or(1.17, |m| m.ascender - m.descender);
    em * size_pt * MM_PER_PT
}

/// Distance from the top of a line box to its baseline, mm.
pub fn ascent_mm(size_pt: f64) -> f64 {
    metrics(Weight::Regular).map_or(0.93, |m| m.ascender) * size_pt * MM_PER_PT
}
