//! The legend: the symbols of the map, drawn by the same functions, with
//! their meaning in the page's language. Only what the map shows is listed.
//!
//! ```
//! use chaski_print::legend::{Item, legend_svg};
//! use chaski_print::page::Lang;
//! use chaski_print::symbols::Mark;
//! let items = [Item::Mark(Mark::DangerSigns), Item::Priority, Item::Facility];
//! let (svg, height, shown) = legend_svg(&items, Lang::Es, 0.0, 0.0, 60.0, 50.0);
//! assert_eq!(shown, 3);
//! assert!(svg.contains("Signos de alarma") && svg.contains("Visita prioritaria"));
//! assert!(height > 0.0 && height <= 50.0);
//! ```

use crate::font::{Weight, ascent_mm};
use crate::i18n::texts;
use crate::page::Lang;
use crate::svg::{path_d, text};
use crate::symbols::{
    COMMUNITY_MM, MARK_MM, Mark, WATER_MM, cluster_svg, community_svg, contour_svg, facility_svg,
    line_svg, mark_svg, priority_ring_svg, route_svg, tick_box_svg, water_svg,
};
use chaski_analysis::risk_map::{LineKind, WaterState};

/// One entry of the legend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Item {
    /// A household mark.
    Mark(Mark),
    /// The priority ring.
    Priority,
    /// A household code and its tick box.
    CodeTick,
    /// A community.
    Community,
    /// A health facility.
    Facility,
    /// The walking route.
    Route,
    /// A water system in a state.
    Water(WaterState),
    /// A kind of line.
    Line(LineKind),
    /// A risk zone.
    Cluster,
    /// Contours every so many metres.
    Contours(f64),
}

/// Height of one row, mm.
const ROW_MM: f64 = 4.3;
/// Size of the legend's text, pt.
const TEXT_PT: f64 = 6.3;

fn words(item: Item, lang: Lang) -> String {
    let t = texts(lang);
    match item {
        Item::Mark(Mark::DangerSigns) => t.danger_signs.to_owned(),
        Item::Mark(Mark::AnaemiaMalnutrition) => t.anaemia.to_owned(),
        Item::Mark(Mark::Pregnant) => t.pregnant.to_owned(),
        Item::Mark(Mark::ChildUnder5) => t.child.to_owned(),
        Item::Mark(Mark::NoRisk) => t.no_risk.to_owned(),
        Item::Priority => t.priority.to_owned(),
        Item::CodeTick => t.code_tick.to_owned(),
        Item::Community => t.community_symbol.to_owned(),
        Item::Facility => t.facility_symbol.to_owned(),
        Item::Route => t.route.to_owned(),
        Item::Water(WaterState::Operational) => t.water_ok.to_owned(),
        Item::Water(WaterState::Partial) => t.water_partial.to_owned(),
        Item::Water(WaterState::Down) => t.water_down.to_owned(),
        Item::Water(WaterState::Unknown) => t.water_unknown.to_owned(),
        Item::Line(LineKind::River | LineKind::Stream) => t.river.to_owned(),
        Item::Line(LineKind::Road) => t.road.to_owned(),
        Item::Line(LineKind::Footpath) => t.footpath.to_owned(),
        Item::Line(LineKind::MuleTrack) => t.mule_track.to_owned(),
        Item::Line(LineKind::Bridge) => t.bridge.to_owned(),
        Item::Line(LineKind::Ford) => t.ford.to_owned(),
        Item::Cluster => t.risk_zone.to_owned(),
        Item::Contours(m) => format!("{} ({} m)", t.contours, crate::i18n::decimal(m, lang)),
    }
}

/// The swatch of `item` centred on (`cx`, `cy`), 7 mm wide.
fn swatch(item: Item, cx: f64, cy: f64) -> String {
    let line = [(cx - 3.5, cy), (cx + 3.5, cy)];
    match item {
        Item::Mark(m) => mark_svg(m, cx, cy, MARK_MM),
        Item::Priority => format!(
            "{}{}",
            priority_ring_svg(cx, cy, MARK_MM * 0.75 + 0.55),
            mark_svg(Mark::NoRisk, cx, cy, MARK_MM)
        ),
        Item::CodeTick => tick_box_svg(cx - 1.5, cy - 1.5, 3.0),
        Item::Community => community_svg(cx, cy, COMMUNITY_MM),
        Item::Facility => facility_svg(cx, cy, 4.0),
        Item::Route => route_svg(&path_d(&line, false)),
        Item::Water(s) => water_svg(s, cx, cy, WATER_MM),
        Item::Line(k) => line_svg(k, &path_d(&line, false)),
        Item::Cluster => cluster_svg(&path_d(
            &[
                (cx - 3.0, cy - 1.6),
                (cx + 3.0, cy - 1.6),
                (cx + 3.0, cy + 1.6),
                (cx - 3.0, cy + 1.6),
            ],
            true,
        )),
        Item::Contours(_) => format!(
            "{}{}",
            contour_svg(
                &path_d(&[(cx - 3.5, cy - 0.8), (cx + 3.5, cy - 0.8)], false),
                false
            ),
            contour_svg(
                &path_d(&[(cx - 3.5, cy + 0.8), (cx + 3.5, cy + 0.8)], false),
                true
            )
        ),
    }
}

/// The legend of `items` in a box at (`x`, `y`) of `w` × `max_h` mm, in one
/// column or, when `w` allows and one does not fit, two; returns the SVG,
/// the height used and how many items fit.
#[expect(
    clippy::many_single_char_names,
    reason = "page geometry reads as its formulas: x, y, w, h, r(ect), s(vg), t(exts)"
)]
pub fn legend_svg(
    items: &[Item],
    lang: Lang,
    x: f64,
    y: f64,
    w: f64,
    max_h: f64,
) -> (String, f64, usize) {
    let t = texts(lang);
    let mut s = String::from("<g id=\"legend\">");
    s.push_str(&text(
        x,
        y + ascent_mm(8.0),
        t.legend,
        8.0,
        Weight::Bold,
        "start",
    ));
    let top = y + 4.5;
    let rows_fit = (((max_h - 4.5) / ROW_MM).floor().max(0.0)) as usize;
    let columns = if items.len() > rows_fit && w >= 70.0 {
        2
    } else {
        1
    };
    let per_column = rows_fit.max(1);
    let col_w = w / columns as f64;
    let mut shown = 0;
    for (i, item) in items.iter().enumerate() {
        let (col, row) = (i / per_column, i % per_column);
        if col >= columns || rows_fit == 0 {
            break;
        }
        let cx = x + col as f64 * col_w + 3.8;
        let cy = top + row as f64 * ROW_MM + ROW_MM / 2.0;
        s.push_str(&swatch(*item, cx, cy));
        let words = crate::map::fit(&words(*item, lang), col_w - 10.0, TEXT_PT, Weight::Regular);
        s.push_str(&text(
            cx + 5.2,
            cy + 1.1,
            &words,
            TEXT_PT,
            Weight::Regular,
            "start",
        ));
        shown += 1;
    }
    s.push_str("</g>");
    let rows_used = shown.min(per_column);
    (s, 4.5 + rows_used as f64 * ROW_MM, shown)
}
