//! The reference grid: columns lettered A, B, C... from the west, rows
//! numbered 1, 2, 3... from the north, so a household is found by its cell
//! ("B3") in the index.
//!
//! ```
//! use chaski_print::grid::RefGrid;
//! use chaski_print::page::Rect;
//! let g = RefGrid::new(Rect::new(10.0, 10.0, 180.0, 120.0), 30.0);
//! assert_eq!((g.cols, g.rows), (6, 4));
//! assert_eq!(g.cell_of(11.0, 11.0).as_deref(), Some("A1"));
//! assert_eq!(g.cell_of(189.0, 129.0).as_deref(), Some("F4"));
//! assert_eq!(g.cell_of(5.0, 50.0), None);
//! assert_eq!(RefGrid::column_name(26), "AA");
//! // Cells sort by column, then row.
//! assert!(g.sort_key("B2") < g.sort_key("B10") && g.sort_key("B10") < g.sort_key("C1"));
//! ```

use crate::font::Weight;
use crate::page::{GRID_BAND_MM, Rect};
use crate::svg::{line, text};

/// A lettered and numbered grid over the map frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefGrid {
    /// The map frame.
    pub rect: Rect,
    /// Columns.
    pub cols: usize,
    /// Rows.
    pub rows: usize,
}

impl RefGrid {
    /// A grid of cells about `target_mm` on a side over `rect`.
    pub fn new(rect: Rect, target_mm: f64) -> Self {
        let n = |len: f64| ((len / target_mm).round() as usize).clamp(1, 60);
        Self {
            rect,
            cols: n(rect.w),
            rows: n(rect.h),
        }
    }

    /// Width and height of a cell, mm.
    pub fn cell_mm(&self) -> (f64, f64) {
        (
            self.rect.w / self.cols as f64,
            self.rect.h / self.rows as f64,
        )
    }

    /// Letters of column `i` (0: A, 25: Z, 26: AA).
    pub fn column_name(i: usize) -> String {
        let mut i = i;
        let mut s = Vec::new();
        loop {
            s.push(b'A' + (i % 26) as u8);
            if i < 26 {
                break;
            }
            i = i / 26 - 1;
        }
        s.reverse();
        String::from_utf8(s).unwrap_or_default()
    }

    /// The cell holding page point (`x`, `y`), e.g. `B3`; None outside the frame.
    pub fn cell_of(&self, x: f64, y: f64) -> Option<String> {
        if !self.rect.contains(x, y) {
            return None;
        }
        let (cw, ch) = self.cell_mm();
        let c = (((x - self.rect.x) / cw) as usize).min(self.cols - 1);
        let r = (((y - self.rect.y) / ch) as usize).min(self.rows - 1);
        Some(format!("{}{}", Self::column_name(c), r + 1))
    }

    /// Sort key of a cell name: column, then row.
    pub fn sort_key(&self, cell: &str) -> (usize, String, usize) {
        let letters: String = cell.chars().take_while(char::is_ascii_uppercase).collect();
        let row = cell[letters.len()..].parse().unwrap_or(usize::MAX);
        (letters.len(), letters, row)
    }

    /// The grid as SVG: thin lines across the frame, letters above and below
    /// it, numbers left and right of it (in the band around the frame).
    pub fn svg(&self) -> String {
        let (cw, ch) = self.cell_mm();
        let style = "stroke=\"#555555\" stroke-width=\"0.15\" stroke-dasharray=\"1.2 0.8\"";
        let mut s = String::from("<g id=\"grid\">");
        for i in 1..self.cols {
            let x = self.rect.x + cw * i as f64;
            s.push_str(&line(x, self.rect.y, x, self.rect.bottom(), style));
        }
        for j in 1..self.rows {
            let y = self.rect.y + ch * j as f64;
            s.push_str(&line(self.rect.x, y, self.rect.right(), y, style));
        }
        let band = GRID_BAND_MM;
        for i in 0..self.cols {
            let x = self.rect.x + cw * (i as f64 + 0.5);
            let name = Self::column_name(i);
            s.push_str(&text(
                x,
                self.rect.y - band / 2.0 + 1.1,
                &name,
                7.0,
                Weight::Bold,
                "middle",
            ));
            s.push_str(&text(
                x,
                self.rect.bottom() + band / 2.0 + 1.1,
                &name,
                7.0,
                Weight::Bold,
                "middle",
            ));
        }
        for j in 0..self.rows {
            let y = self.rect.y + ch * (j as f64 + 0.5) + 1.1;
            let name = (j + 1).to_string();
            s.push_str(&text(
                self.rect.x - band / 2.0,
                y,
                &name,
                7.0,
                Weight::Bold,
                "middle",
            ));
            s.push_str(&text(
                self.rect.right() + band / 2.0,
                y,
                &name,
                7.0,
                Weight::Bold,
                "middle",
            ));
        }
        s.push_str("</g>");
        s
    }
}
