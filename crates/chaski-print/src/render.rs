//! Pages (SVG) to a vector PDF, with the bundled font embedded, and to PNG.
//!
//! SVG is read by `usvg` with a font database holding only the bundled font
//! ([`crate::font`]); `krilla` with `krilla-svg` writes the PDF (text kept
//! as text, so it can be searched and copied; the glyphs used are embedded
//! as a subset of the font), `resvg` rasterises a page to PNG at the dpi
//! asked for. No system font is ever looked up.
//!
//! ```
//! use chaski_print::render::Renderer;
//! let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297">
//!   <text x="20" y="30" font-family="DejaVu Sans" font-size="6">Señal de alarma</text></svg>"#;
//! let r = Renderer::new();
//! let pdf = r.pdf(&[svg.to_owned()], "prueba").unwrap();
//! assert!(pdf.starts_with(b"%PDF-"));
//! let png = r.png(svg, 50.0).unwrap();
//! assert!(png.starts_with(b"\x89PNG"));
//! ```

use crate::error::PrintError;
use crate::font::{BOLD, FAMILY, REGULAR};
use krilla::Document;
use krilla::geom::Size;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla_svg::{SurfaceExt, SvgSettings};
use std::sync::Arc;

/// Points per millimetre.
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Reads page SVG with the bundled font only and renders it.
#[derive(Debug, Clone)]
pub struct Renderer {
    fontdb: Arc<usvg::fontdb::Database>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// A renderer whose font database holds DejaVu Sans (regular and bold) only.
    pub fn new() -> Self {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_source(usvg::fontdb::Source::Binary(Arc::new(REGULAR)));
        db.load_font_source(usvg::fontdb::Source::Binary(Arc::new(BOLD)));
        db.set_sans_serif_family(FAMILY);
        db.set_serif_family(FAMILY);
        db.set_monospace_family(FAMILY);
        Self {
            fontdb: Arc::new(db),
        }
    }

    /// The families of the font database (for tests: only the bundled one).
    pub fn families(&self) -> Vec<String> {
        let mut f: Vec<String> = self
            .fontdb
            .faces()
            .flat_map(|face| face.families.iter().map(|(n, _)| n.clone()))
            .collect();
        f.sort();
        f.dedup();
        f
    }

    fn tree(&self, svg: &str, page: usize) -> Result<usvg::Tree, PrintError> {
        let options = usvg::Options {
            font_family: FAMILY.to_owned(),
            fontdb: Arc::clone(&self.fontdb),
            // No file is ever read: images come as data URLs.
            resources_dir: None,
            ..usvg::Options::default()
        };
        usvg::Tree::from_str(svg, &options).map_err(|e| PrintError::Svg {
            page,
            reason: e.to_string(),
        })
    }

    /// A PDF of `pages` (each one SVG page in millimetres), titled `title`.
    pub fn pdf(&self, pages: &[String], title: &str) -> Result<Vec<u8>, PrintError> {
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new()
                .title(title.to_owned())
                .creator("chaski".to_owned())
                .producer("chaski-print (krilla)".to_owned()),
        );
        for (i, svg) in pages.iter().enumerate() {
            let tree = self.tree(svg, i + 1)?;
            // usvg sizes pages in CSS pixels (96 per inch); the PDF page is in points.
            let w_mm = tree.size().width() * 25.4 / 96.0;
            let h_mm = tree.size().height() * 25.4 / 96.0;
            let size = Size::from_wh(w_mm * PT_PER_MM, h_mm * PT_PER_MM)
                .ok_or_else(|| PrintError::Pdf(format!("page {} has no size", i + 1)))?;
            let mut page = document.start_page_with(PageSettings::new(size));
            let mut surface = page.surface();
            surface
                .draw_svg(&tree, size, SvgSettings::default())
                .ok_or_else(|| PrintError::Pdf(format!("page {} could not be drawn", i + 1)))?;
            surface.finish();
            page.finish();
        }
        document
            .finish()
            .map_err(|e| PrintError::Pdf(format!("{e:?}")))
    }

    /// A PNG of one SVG page at `dpi` dots per inch.
    pub fn png(&self, svg: &str, dpi: f32) -> Result<Vec<u8>, PrintError> {
        let bad = |reason: String| PrintError::Png { page: 1, reason };
        let dpi = crate::page::Dpi::new(dpi)?.get();
        let tree = self.tree(svg, 1)?;
        let scale = dpi / 96.0;
        let w = (tree.size().width() * scale).ceil() as u32;
        let h = (tree.size().height() * scale).ceil() as u32;
        let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)
            .ok_or_else(|| bad(format!("a page of {w} x {h} pixels is too large")))?;
        pixmap.fill(resvg::tiny_skia::Color::WHITE);
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::from_scale(scale, scale),
            &mut pixmap.as_mut(),
        );
        pixmap.encode_png().map_err(|e| bad(e.to_string()))
    }
}
