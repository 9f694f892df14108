//! The scale bar: a round length in metres drawn at the map's scale, with
//! "1 cm = X m" beside the representative fraction.
//!
//! [`ScaleBar::new`] takes the largest length of 1, 2, 2.5 or 5 × 10ᵏ metres
//! whose bar fits in the room given; the bar is exactly
//! metres × 1000 / denominator millimetres long, so it matches the map's
//! scale to the precision of the drawing.
//!
//! ```
//! use chaski_print::scalebar::ScaleBar;
//! use chaski_print::page::Lang;
//! let bar = ScaleBar::new(5_000.0, 60.0);
//! assert_eq!(bar.metres, 250.0);              // 50 mm at 1:5,000; 500 m would need 100 mm
//! assert!((bar.length_mm - 50.0).abs() < 1e-9);
//! assert_eq!(bar.cm_text(Lang::Es), "1 cm = 50 m");
//! assert_eq!(ScaleBar::new(1_250.0, 60.0).cm_text(Lang::Es), "1 cm = 12,5 m");
//! assert_eq!(ScaleBar::new(1_250.0, 60.0).cm_text(Lang::En), "1 cm = 12.5 m");
//! ```

use crate::font::Weight;
use crate::i18n::{decimal, thousands};
use crate::page::Lang;
use crate::svg::{num, rect, text};
use std::fmt::Write;

/// A scale bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleBar {
    /// Scale denominator of the map.
    pub denominator: f64,
    /// Ground length of the bar, metres.
    pub metres: f64,
    /// Length of the bar on the page, mm.
    pub length_mm: f64,
    /// Alternating segments.
    pub segments: u32,
}

impl ScaleBar {
    /// The longest round bar up to `max_mm` long at 1 : `denominator`.
    pub fn new(denominator: f64, max_mm: f64) -> Self {
        let mm_per_m = 1000.0 / denominator;
        let mut best = (1.0, 4);
        let mut base = 1.0;
        while base < 1e7 {
            for (k, segments) in [(1.0, 5), (2.0, 4), (2.5, 5), (5.0, 5)] {
                let m = base * k;
                if m * mm_per_m <= max_mm {
                    best = (m, segments);
                }
            }
            base *= 10.0;
        }
        Self {
            denominator,
            metres: best.0,
            length_mm: best.0 * mm_per_m,
            segments: best.1,
        }
    }

    /// "1 cm = X m".
    pub fn cm_text(&self, lang: Lang) -> String {
        format!("1 cm = {} m", decimal(self.denominator / 100.0, lang))
    }

    /// "1:5 000" (Spanish groups thousands with a space, English with a comma).
    pub fn fraction_text(&self, lang: Lang) -> String {
        format!("1:{}", thousands(self.denominator.round() as u64, lang))
    }

    /// The length of the bar in words: "250 m", or "1,5 km" from 1 km up.
    pub fn length_text(&self, lang: Lang) -> String {
        if self.metres >= 1000.0 {
            format!("{} km", decimal(self.metres / 1000.0, lang))
        } else {
            format!("{} m", decimal(self.metres, lang))
        }
    }

    /// The bar with its left end at (`x`, `y`) (top of the bar), its labels
    /// above and the scale in words below; returns the SVG and the height used.
    pub fn svg(&self, x: f64, y: f64, lang: Lang, scale_word: &str) -> (String, f64) {
        let mut s = String::from("<g id=\"scale-bar\">");
        let seg = self.length_mm / f64::from(self.segments);
        let h = 1.6;
        let top = y + 3.2;
        for i in 0..self.segments {
            let fill = if i % 2 == 0 { "#000000" } else { "#ffffff" };
            s.push_str(&rect(
                x + f64::from(i) * seg,
                top,
                seg,
                h,
                &format!("fill=\"{fill}\" stroke=\"#000000\" stroke-width=\"0.2\""),
            ));
        }
        s.push_str(&text(x, top - 0.8, "0", 6.5, Weight::Regular, "middle"));
        s.push_str(&text(
            x + self.length_mm,
            top - 0.8,
            &self.length_text(lang),
            6.5,
            Weight::Regular,
            "middle",
        ));
        let _ = write!(
            s,
            "<desc>bar {} m = {} mm</desc>",
            num(self.metres),
            num(self.length_mm)
        );
        s.push_str(&text(
            x,
            top + h + 3.6,
            &format!(
                "{scale_word} {} · {}",
                self.fraction_text(lang),
                self.cm_text(lang)
            ),
            7.0,
            Weight::Regular,
            "start",
        ));
        s.push_str("</g>");
        (s, top + h + 4.5 - y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The bar is a round length, fits, and uses at least a third of the room.
        #[test]
        fn bars_are_round_and_fit(d in 300.0_f64..500_000.0, room in 30.0_f64..90.0) {
            let bar = ScaleBar::new(d, room);
            prop_assert!(bar.length_mm <= room + 1e-9);
            prop_assert!(bar.length_mm >= room / 2.5 - 1e-9, "{bar:?}");
            let lead = bar.metres / 10f64.powf(bar.metres.log10().floor());
            prop_assert!([1.0, 2.0, 2.5, 5.0].iter().any(|k| (lead - k).abs() < 1e-9), "{bar:?}");
            prop_assert!((bar.length_mm - bar.metres * 1000.0 / d).abs() < 1e-9);
        }
    }
}
