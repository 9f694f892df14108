//! The QR code that opens the map's area in the web viewer.
//!
//! The link is opaque: the viewer's address and a position and zoom
//! (`BASE/#ZOOM/LAT/LON`, the viewer's own URL form), the position being the
//! centre of the map frame rounded to 0.001° (about 100 m). It carries no
//! household code, no token and nothing drawn from household records beyond
//! what the frame itself shows.
//!
//! [`qr_svg`] draws the symbol with error correction level M, one `<path>`
//! of dark modules merged along rows, with the four-module quiet zone the
//! standard asks for (ISO/IEC 18004) inside the size given.
//!
//! ```
//! use chaski_print::qr::{qr_svg, viewer_link};
//! let link = viewer_link("https://chaski.example.org/", 16.2, -12.98583, -74.06513);
//! assert_eq!(link, "https://chaski.example.org/#16.2/-12.986/-74.065");
//! let (svg, modules) = qr_svg(&link, 0.0, 0.0, 25.0).unwrap();
//! assert!(modules >= 21 && (modules - 17) % 4 == 0); // versions are 21, 25, 29... modules wide
//! assert!(svg.starts_with("<g") && svg.contains("<path"));
//! ```

use crate::error::PrintError;
use crate::svg::num;
use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write;

/// The viewer link of a map: `BASE/#ZOOM/LAT/LON`, the position rounded to
/// 0.001°, the zoom to 0.1.
pub fn viewer_link(base: &str, zoom: f64, lat: f64, lon: f64) -> String {
    format!(
        "{}/#{}/{}/{}",
        base.trim_end_matches('/'),
        (zoom * 10.0).round() / 10.0,
        (lat * 1000.0).round() / 1000.0,
        (lon * 1000.0).round() / 1000.0
    )
}

/// The web map zoom whose scale on a screen (0.28 mm pixels, 512-pixel
/// tiles as MapLibre draws them) is about 1 : `denominator` at `lat`.
///
/// ```
/// use chaski_print::qr::zoom_for;
/// let z = zoom_for(5_000.0, -13.0);
/// assert!((z - 15.7).abs() < 0.1);
/// ```
pub fn zoom_for(denominator: f64, lat: f64) -> f64 {
    let metres_per_pixel = denominator * 0.000_28;
    let z = (40_075_016.686 * lat.to_radians().cos() / (512.0 * metres_per_pixel)).log2();
    z.clamp(0.0, 22.0)
}

/// The QR code of `link` as SVG, its top-left corner at (`x`, `y`), `size`
/// mm wide and tall (quiet zone included); also the number of modules across
/// the symbol (without the quiet zone).
#[expect(
    clippy::many_single_char_names,
    reason = "page geometry reads as its formulas: x, y, w, h, r(ect), s(vg), t(exts)"
)]
pub fn qr_svg(link: &str, x: f64, y: f64, size: f64) -> Result<(String, usize), PrintError> {
    let code = QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M).map_err(|e| {
        PrintError::Qr {
            link: link.to_owned(),
            reason: e.to_string(),
        }
    })?;
    let n = code.width();
    let colors = code.to_colors();
    let quiet = 4;
    let m = size / (n + 2 * quiet) as f64;
    let mut d = String::new();
    for row in 0..n {
        let mut col = 0;
        while col < n {
            if colors[row * n + col] == Color::Dark {
                let start = col;
                while col < n && colors[row * n + col] == Color::Dark {
                    col += 1;
                }
                let _ = write!(
                    d,
                    "M{} {}h{}v{}h-{}Z",
                    num(x + (start + quiet) as f64 * m),
                    num(y + (row + quiet) as f64 * m),
                    num((col - start) as f64 * m),
                    num(m),
                    num((col - start) as f64 * m)
                );
            } else {
                col += 1;
            }
        }
    }
    Ok((
        format!(
            "<g id=\"qr\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/><path d=\"{d}\" fill=\"#000000\" shape-rendering=\"crispEdges\"/></g>",
            num(x),
            num(y),
            num(size),
            num(size)
        ),
        n,
    ))
}
