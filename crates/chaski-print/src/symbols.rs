//! Map symbols: households as large marks that read in black and white
//! (each mark has its own shape and its own colour, at least
//! [`MIN_SYMBOL_MM`] across), the neutral "visita prioritaria" ring, health
//! facilities, water systems by state and communities.
//!
//! | mark | shape | colour |
//! |---|---|---|
//! | danger signs | triangle | red |
//! | anaemia or malnutrition | diamond | orange |
//! | pregnant woman | circle | magenta |
//! | child under 5 | square | blue |
//! | no risk flagged | circle | white (outline only) |
//!
//! A household with several marks shows each, side by side (two), in a
//! triangle (three) or a 2 × 2 block (four), in that order; the priority
//! ring, when due, circles the whole group.
//!
//! ```
//! use chaski_print::symbols::{MIN_SYMBOL_MM, Mark, household_symbol};
//! let s = household_symbol(50.0, 50.0, &[Mark::DangerSigns, Mark::Pregnant], true);
//! assert_eq!(s.parts.len(), 2);
//! assert!(s.parts.iter().all(|p| p.size >= MIN_SYMBOL_MM));
//! // The box holds every part and the ring.
//! assert!(s.bbox.w > 2.0 * MIN_SYMBOL_MM && s.bbox.contains(50.0, 50.0));
//! assert!(s.svg().contains("<circle") && s.svg().contains("<path"));
//! ```

use crate::page::Rect;
use crate::svg::{num, path_d};
use chaski_analysis::risk_map::WaterState;

/// The smallest symbol printed, mm (readable on paper in the field).
pub const MIN_SYMBOL_MM: f64 = 3.0;
/// Size of one household mark, mm.
pub const MARK_MM: f64 = 3.4;
/// Size of a facility symbol, mm.
pub const FACILITY_MM: f64 = 5.0;
/// Size of a water system symbol, mm.
pub const WATER_MM: f64 = 3.6;
/// Size of a community symbol, mm.
pub const COMMUNITY_MM: f64 = 3.4;

const OUTLINE: &str = "stroke=\"#000000\" stroke-width=\"0.25\" stroke-linejoin=\"round\"";

/// A household mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mark {
    /// Danger signs seen: red triangle.
    DangerSigns,
    /// Anaemia or malnutrition: orange diamond.
    AnaemiaMalnutrition,
    /// A pregnant woman: magenta circle.
    Pregnant,
    /// A child under 5: blue square.
    ChildUnder5,
    /// No risk flagged: white circle.
    NoRisk,
}

impl Mark {
    /// Every mark, in the order a household shows them.
    pub const ALL: [Mark; 5] = [
        Self::DangerSigns,
        Self::AnaemiaMalnutrition,
        Self::Pregnant,
        Self::ChildUnder5,
        Self::NoRisk,
    ];

    /// Fill colour.
    pub fn colour(self) -> &'static str {
        match self {
            Self::DangerSigns => "#d7191c",
            Self::AnaemiaMalnutrition => "#f39c12",
            Self::Pregnant => "#c2185b",
            Self::ChildUnder5 => "#1f78b4",
            Self::NoRisk => "#ffffff",
        }
    }
}

/// One drawn mark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Part {
    /// The mark.
    pub mark: Mark,
    /// Centre, mm.
    pub cx: f64,
    /// Centre, mm.
    pub cy: f64,
    /// Width and height of its box, mm.
    pub size: f64,
}

/// A household's symbol: its marks and, when due, the priority ring.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdSymbol {
    /// The marks.
    pub parts: Vec<Part>,
    /// The priority ring: centre and radius, mm.
    pub ring: Option<(f64, f64, f64)>,
    /// The box of the whole symbol.
    pub bbox: Rect,
}

/// The SVG of `mark` centred on (`cx`, `cy`), `size` mm across.
pub fn mark_svg(mark: Mark, cx: f64, cy: f64, size: f64) -> String {
    let h = size / 2.0;
    let fill = format!("fill=\"{}\" {OUTLINE}", mark.colour());
    match mark {
        Mark::DangerSigns => format!(
            "<path d=\"{}\" {fill}/>",
            path_d(&[(cx, cy - h), (cx + h, cy + h), (cx - h, cy + h)], true)
        ),
        Mark::AnaemiaMalnutrition => format!(
            "<path d=\"{}\" {fill}/>",
            path_d(
                &[(cx, cy - h), (cx + h, cy), (cx, cy + h), (cx - h, cy)],
                true
            )
        ),
        Mark::Pregnant | Mark::NoRisk => format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" {fill}/>",
            num(cx),
            num(cy),
            num(h - 0.125)
        ),
        Mark::ChildUnder5 => format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" {fill}/>",
            num(cx - h + 0.125),
            num(cy - h + 0.125),
            num(size - 0.25),
            num(size - 0.25)
        ),
    }
}

/// The symbol of a household at (`cx`, `cy`) with `marks` (none: no risk
/// flagged) and the priority ring when `priority`.
pub fn household_symbol(cx: f64, cy: f64, marks: &[Mark], priority: bool) -> HouseholdSymbol {
    let mut marks: Vec<Mark> = marks
        .iter()
        .copied()
        .filter(|m| *m != Mark::NoRisk)
        .collect();
    marks.sort();
    marks.dedup();
    if marks.is_empty() {
        marks.push(Mark::NoRisk);
    }
    let s = MARK_MM;
    let step = s + 0.2;
    let half = step / 2.0;
    let offsets: Vec<(f64, f64)> = match marks.len() {
        1 => vec![(0.0, 0.0)],
        2 => vec![(-half, 0.0), (half, 0.0)],
        3 => vec![(-half, -half), (half, -half), (0.0, half)],
        _ => vec![(-half, -half), (half, -half), (-half, half), (half, half)],
    };
    let parts: Vec<Part> = marks
        .iter()
        .zip(offsets)
        .map(|(&mark, (dx, dy))| Part {
            mark,
            cx: cx + dx,
            cy: cy + dy,
            size: s,
        })
        .collect();
    let mut bbox = parts
        .iter()
        .map(|p| Rect::centred(p.cx, p.cy, p.size, p.size))
        .reduce(|a, b| a.union(&b))
        .unwrap_or(Rect::centred(cx, cy, s, s));
    let ring = priority.then(|| {
        let (rx, ry) = bbox.centre();
        let r = (bbox.w.hypot(bbox.h) / 2.0).max(s * 0.75) + 0.55;
        (rx, ry, r)
    });
    if let Some((rx, ry, r)) = ring {
        bbox = Rect::centred(rx, ry, 2.0 * r + 0.5, 2.0 * r + 0.5);
    }
    HouseholdSymbol { parts, ring, bbox }
}

impl HouseholdSymbol {
    /// The symbol as SVG.
    pub fn svg(&self) -> String {
        let mut s = String::new();
        if let Some((x, y, r)) = self.ring {
            s.push_str(&priority_ring_svg(x, y, r));
        }
        for p in &self.parts {
            s.push_str(&mark_svg(p.mark, p.cx, p.cy, p.size));
        }
        s
    }

    /// The smallest part, mm.
    pub fn min_size_mm(&self) -> f64 {
        self.parts
            .iter()
            .map(|p| p.size)
            .fold(f64::INFINITY, f64::min)
    }
}

/// The neutral priority ring: a thick black circle, white inside.
pub fn priority_ring_svg(cx: f64, cy: f64, r: f64) -> String {
    format!(
        "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"#ffffff\" stroke=\"#000000\" stroke-width=\"0.5\"/>",
        num(cx),
        num(cy),
        num(r)
    )
}

/// A health facility: a white square with a red cross, black outline.
pub fn facility_svg(cx: f64, cy: f64, size: f64) -> String {
    let h = size / 2.0;
    let a = size * 0.16;
    let b = size * 0.36;
    let cross = [
        (cx - a, cy - b),
        (cx + a, cy - b),
        (cx + a, cy - a),
        (cx + b, cy - a),
        (cx + b, cy + a),
        (cx + a, cy + a),
        (cx + a, cy + b),
        (cx - a, cy + b),
        (cx - a, cy + a),
        (cx - b, cy + a),
        (cx - b, cy - a),
        (cx - a, cy - a),
    ];
    format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" stroke=\"#000000\" stroke-width=\"0.35\"/><path d=\"{}\" fill=\"#d7191c\" stroke=\"#000000\" stroke-width=\"0.15\"/>",
        num(cx - h),
        num(cy - h),
        num(size),
        num(size),
        path_d(&cross, true)
    )
}

/// A water system: a drop, filled by state (full: working; left half: partly
/// working; white with a cross: not working; grey: unknown).
pub fn water_svg(state: WaterState, cx: f64, cy: f64, size: f64) -> String {
    let h = size / 2.0;
    // The drop: a point on top, a round bottom.
    let drop = format!(
        "M{} {}C{} {} {} {} {} {}A{} {} 0 1 1 {} {}C{} {} {} {} {} {}Z",
        num(cx),
        num(cy - h),
        num(cx + h * 0.15),
        num(cy - h * 0.55),
        num(cx + h * 0.78),
        num(cy - h * 0.15),
        num(cx + h * 0.78),
        num(cy + h * 0.2),
        num(h * 0.78),
        num(h * 0.78),
        num(cx - h * 0.78),
        num(cy + h * 0.2),
        num(cx - h * 0.78),
        num(cy - h * 0.15),
        num(cx - h * 0.15),
        num(cy - h * 0.55),
        num(cx),
        num(cy - h)
    );
    let blue = "#2b83ba";
    let outline = format!("stroke=\"{blue}\" stroke-width=\"0.35\"");
    match state {
        WaterState::Operational => format!("<path d=\"{drop}\" fill=\"{blue}\" {outline}/>"),
        WaterState::Partial => format!(
            "<path d=\"{drop}\" fill=\"#ffffff\" {outline}/>{}",
            half_drop(&drop, cx, cy, h, blue)
        ),
        WaterState::Down => format!(
            "<path d=\"{drop}\" fill=\"#ffffff\" {outline}/><path d=\"M{} {}L{} {}M{} {}L{} {}\" stroke=\"#000000\" stroke-width=\"0.4\"/>",
            num(cx - h * 0.45),
            num(cy - h * 0.05),
            num(cx + h * 0.45),
            num(cy + h * 0.75),
            num(cx + h * 0.45),
            num(cy - h * 0.05),
            num(cx - h * 0.45),
            num(cy + h * 0.75)
        ),
        WaterState::Unknown => format!("<path d=\"{drop}\" fill=\"#bdbdbd\" {outline}/>"),
    }
}

/// The left half of a drop, filled (the partly working state).
fn half_drop(drop: &str, cx: f64, cy: f64, h: f64, blue: &str) -> String {
    let id = format!(
        "half{}{}",
        (cx * 100.0).round() as i64,
        (cy * 100.0).round() as i64
    );
    format!(
        "<clipPath id=\"{id}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath><path d=\"{drop}\" fill=\"{blue}\" clip-path=\"url(#{id})\"/>",
        num(cx - h),
        num(cy - h),
        num(h),
        num(2.0 * h)
    )
}

/// A community (centro poblado): a black ring with a black centre.
pub fn community_svg(cx: f64, cy: f64, size: f64) -> String {
    format!(
        "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"#ffffff\" stroke=\"#000000\" stroke-width=\"0.45\"/><circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"#000000\"/>",
        num(cx),
        num(cy),
        num(size / 2.0 - 0.225),
        num(cx),
        num(cy),
        num(size * 0.2)
    )
}

/// A line of the map drawn with its kind's style, `d` a path's data.
///
/// ```
/// use chaski_analysis::risk_map::LineKind;
/// use chaski_print::symbols::line_svg;
/// assert!(line_svg(LineKind::Footpath, "M0 0L10 0").contains("stroke-dasharray"));
/// // Roads and bridges are cased: two strokes.
/// assert_eq!(line_svg(LineKind::Road, "M0 0L10 0").matches("<path").count(), 2);
/// ```
pub fn line_svg(kind: chaski_analysis::risk_map::LineKind, d: &str) -> String {
    use chaski_analysis::risk_map::LineKind;
    let one = |style: &str| {
        format!(
            "<path d=\"{d}\" fill=\"none\" stroke-linecap=\"round\" stroke-linejoin=\"round\" {style}/>"
        )
    };
    match kind {
        LineKind::River => one("stroke=\"#4a90d9\" stroke-width=\"0.8\""),
        LineKind::Stream => one("stroke=\"#4a90d9\" stroke-width=\"0.45\""),
        LineKind::Road => format!(
            "{}{}",
            one("stroke=\"#000000\" stroke-width=\"1.2\""),
            one("stroke=\"#ffd27f\" stroke-width=\"0.75\"")
        ),
        LineKind::MuleTrack => {
            one("stroke=\"#8c510a\" stroke-width=\"0.5\" stroke-dasharray=\"1.6 0.8\"")
        }
        LineKind::Footpath => {
            one("stroke=\"#000000\" stroke-width=\"0.35\" stroke-dasharray=\"1 0.7\"")
        }
        LineKind::Bridge => format!(
            "{}{}",
            one("stroke=\"#000000\" stroke-width=\"1.4\""),
            one("stroke=\"#ffffff\" stroke-width=\"0.6\"")
        ),
        LineKind::Ford => one("stroke=\"#1f4e9c\" stroke-width=\"1\" stroke-dasharray=\"0.3 0.6\""),
    }
}

/// The walking route's style.
pub fn route_svg(d: &str) -> String {
    format!(
        "<path d=\"{d}\" fill=\"none\" stroke=\"#e66101\" stroke-width=\"1.6\" stroke-opacity=\"0.8\" stroke-linecap=\"round\" stroke-linejoin=\"round\"/>"
    )
}

/// A cluster outline ("Zona de riesgo"): a light red fill, a dashed red edge.
pub fn cluster_svg(d: &str) -> String {
    format!(
        "<path d=\"{d}\" fill=\"#d7191c\" fill-opacity=\"0.07\" stroke=\"#b2182b\" stroke-width=\"0.5\" stroke-dasharray=\"2 1\"/>"
    )
}

/// A contour line's style (`index`: every fifth line, thicker).
pub fn contour_svg(d: &str, index: bool) -> String {
    format!(
        "<path d=\"{d}\" fill=\"none\" stroke=\"#a6761d\" stroke-opacity=\"0.6\" stroke-width=\"{}\"/>",
        if index { "0.3" } else { "0.12" }
    )
}

/// The visit tick box, `size` mm.
pub fn tick_box_svg(x: f64, y: f64, size: f64) -> String {
    format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" stroke=\"#000000\" stroke-width=\"0.25\"/>",
        num(x),
        num(y),
        num(size),
        num(size)
    )
}
