//! A few helpers to write SVG by hand: escaping, numbers, text and shapes.
//! Every page is one SVG document in millimetres (`viewBox` in mm).
//!
//! ```
//! use chaski_print::svg::{esc, num, text};
//! use chaski_print::font::Weight;
//! assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
//! assert_eq!(num(1.23456), "1.235");
//! assert_eq!(num(-0.0001), "0");
//! let t = text(10.0, 20.0, "Año", 8.0, Weight::Bold, "start");
//! assert!(t.contains("font-weight=\"bold\"") && t.contains(">Año<"));
//! ```

use crate::font::{FAMILY, MM_PER_PT, Weight};
use std::fmt::Write;

/// `s` escaped for SVG text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A number with at most 3 decimals, without trailing zeros.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_owned();
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// A `<text>` element with its baseline at (`x`, `y`), mm; `anchor` is
/// `start`, `middle` or `end`.
pub fn text(x: f64, y: f64, s: &str, size_pt: f64, weight: Weight, anchor: &str) -> String {
    format!(
        "<text x=\"{}\" y=\"{}\" font-family=\"{FAMILY}\" font-size=\"{}\"{} text-anchor=\"{anchor}\">{}</text>",
        num(x),
        num(y),
        num(size_pt * MM_PER_PT),
        if weight == Weight::Bold {
            " font-weight=\"bold\""
        } else {
            ""
        },
        esc(s)
    )
}

/// A path `d` through page points.
pub fn path_d(points: &[(f64, f64)], close: bool) -> String {
    let mut d = String::with_capacity(points.len() * 14);
    for (i, (x, y)) in points.iter().enumerate() {
        let _ = write!(
            d,
            "{}{} {}",
            if i == 0 { "M" } else { "L" },
            num(*x),
            num(*y)
        );
    }
    if close {
        d.push('Z');
    }
    d
}

/// A rectangle.
pub fn rect(x: f64, y: f64, w: f64, h: f64, style: &str) -> String {
    format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {style}/>",
        num(x),
        num(y),
        num(w),
        num(h)
    )
}

/// A line.
pub fn line(x1: f64, y1: f64, x2: f64, y2: f64, style: &str) -> String {
    format!(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" {style}/>",
        num(x1),
        num(y1),
        num(x2),
        num(y2)
    )
}
