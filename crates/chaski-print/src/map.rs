//! The pages of a map: the map page, detail (inset) pages where households
//! are too dense to label at the map's scale, and the household index by
//! grid cell.
//!
//! # Steps
//!
//! 1. **Frame.** The [`LocalProjection`] is centred on the focus of the
//!    [`RiskMap`]; the scale is the smallest nice denominator
//!    ([`nice_denominator`]) at which the focus fits the map frame with a
//!    12 mm margin for labels.
//! 2. **Map.** Inside the frame, bottom to top: shaded relief and contours,
//!    risk zones, rivers, roads and paths, the walking route, water systems,
//!    facilities, communities and households ([`crate::symbols`]).
//! 3. **Labels.** Communities, facilities, risk zones and household codes
//!    (each with its visit tick box) are placed by [`place_labels`], clear of
//!    every symbol and of each other; a household label that finds no place
//!    is dropped.
//! 4. **Details.** While household labels are dropped (at most
//!    [`MAX_DETAILS`] times), a detail page zooms on the densest group of
//!    them (a window a third of the map's ground size) and labels the
//!    households there.
//! 5. **Index.** When household points are shown, index pages list every
//!    household by grid cell with its marks and a tick box; `*` marks a
//!    household labelled on no page, `D1`, `D2`... the detail page holding its label.
//! 6. **Panel and footer.** Title block, legend, scale bar, north arrow and
//!    QR code; the footer says `CONFIDENCIAL — datos de salud` on every page
//!    of a map that shows household points.
//!
//! Everything drawn is measured in [`PageInfo`] (scale, scale bar, label
//! boxes, symbol sizes, household codes labelled and dropped), which the
//! readability tests check.

use crate::error::PrintError;
use crate::font::{Weight, ascent_mm, line_height_mm, text_width_mm};
use crate::grid::RefGrid;
use crate::i18n::{Texts, minutes, texts};
use crate::labels::{LabelRequest, place_labels};
use crate::legend::{Item, legend_svg};
use crate::page::{Orientation, PageLayout, PageSpec, PaperSize, Rect};
use crate::project::{LocalProjection, MapFrame, nice_denominator};
use crate::qr::{qr_svg, viewer_link, zoom_for};
use crate::relief::{
    base64, bilinear, contour_interval, contours, hillshade, shadow_alpha, shadow_png,
};
use crate::scalebar::ScaleBar;
use crate::svg::{num, path_d, rect, text};
use crate::symbols::{
    COMMUNITY_MM, FACILITY_MM, Mark, WATER_MM, cluster_svg, community_svg, contour_svg,
    facility_svg, household_symbol, line_svg, route_svg, tick_box_svg, water_svg,
};
use chaski_analysis::risk_map::{
    HouseholdMarks, LineKind, MapArea, MapHousehold, RiskMap, WaterState,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Most detail pages of one map.
pub const MAX_DETAILS: usize = 8;

/// Margin kept inside the frame around the focus, mm.
const FOCUS_MARGIN_MM: f64 = 12.0;
/// Household code labels, pt.
const CODE_PT: f64 = 6.5;
/// Side of the visit tick box, mm.
const TICK_MM: f64 = 2.6;
/// Sun azimuth and altitude of the shading, degrees (the cartographic north-west light).
const SUN: (f64, f64) = (315.0, 45.0);

/// What a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// The map of the area.
    Map,
    /// Detail page `n` (from 1).
    Detail(usize),
    /// Household index page.
    Index,
    /// The CHA sector's visit schedule (households due a visit).
    Due,
}

/// What was drawn on a page, for checks.
#[derive(Debug, Clone, PartialEq)]
pub struct PageInfo {
    /// What the page is.
    pub kind: PageKind,
    /// Width and height of the page, mm.
    pub size_mm: (f64, f64),
    /// The map frame (map and detail pages).
    pub frame: Option<MapFrame>,
    /// The scale bar (map and detail pages).
    pub scale_bar: Option<ScaleBar>,
    /// Every label box placed.
    pub label_boxes: Vec<Rect>,
    /// The smallest size of every symbol drawn in the frame, mm.
    pub symbol_sizes: Vec<f64>,
    /// The box of every symbol drawn in the frame (labels keep clear of them).
    pub symbol_boxes: Vec<Rect>,
    /// Household codes labelled on the page.
    pub labelled: Vec<String>,
    /// Household codes drawn whose label found no place.
    pub dropped: Vec<String>,
    /// Households drawn: code and page position of the symbol's centre, mm.
    pub households_at: Vec<(String, (f64, f64))>,
    /// Household codes listed (index pages).
    pub listed: Vec<String>,
    /// The link the QR code opens.
    pub link: Option<String>,
    /// The footer says the page holds confidential health data.
    pub confidential: bool,
}

impl PageInfo {
    fn new(kind: PageKind, size_mm: (f64, f64)) -> Self {
        Self {
            kind,
            size_mm,
            frame: None,
            scale_bar: None,
            label_boxes: Vec::new(),
            symbol_sizes: Vec::new(),
            symbol_boxes: Vec::new(),
            labelled: Vec::new(),
            dropped: Vec::new(),
            households_at: Vec::new(),
            listed: Vec::new(),
            link: None,
            confidential: false,
        }
    }
}

/// One laid-out page: its SVG (millimetres) and what is on it.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintedPage {
    /// The page as an SVG document.
    pub svg: String,
    /// What was drawn.
    pub info: PageInfo,
}

/// The marks of a household, in drawing order.
///
/// ```
/// use chaski_analysis::risk_map::HouseholdMarks;
/// use chaski_print::map::marks_of;
/// use chaski_print::symbols::Mark;
/// let m = HouseholdMarks { pregnant: true, child_under5: false, anaemia_malnutrition: false,
///     danger_signs: true, priority: true };
/// assert_eq!(marks_of(&m), vec![Mark::DangerSigns, Mark::Pregnant]);
/// ```
pub fn marks_of(m: &HouseholdMarks) -> Vec<Mark> {
    let mut v = Vec::new();
    if m.danger_signs {
        v.push(Mark::DangerSigns);
    }
    if m.anaemia_malnutrition {
        v.push(Mark::AnaemiaMalnutrition);
    }
    if m.pregnant {
        v.push(Mark::Pregnant);
    }
    if m.child_under5 {
        v.push(Mark::ChildUnder5);
    }
    v
}

/// The letters of a household's marks in the index (`S A G N P` in Spanish).
fn mark_letters(m: &HouseholdMarks, t: &Texts) -> String {
    let flags = [
        m.danger_signs,
        m.anaemia_malnutrition,
        m.pregnant,
        m.child_under5,
        m.priority,
    ];
    flags
        .iter()
        .zip(t.mark_letters)
        .filter(|(on, _)| **on)
        .map(|(_, l)| l)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `s` shortened with an ellipsis to fit `max_w` mm at `size_pt`.
pub(crate) fn fit(s: &str, max_w: f64, size_pt: f64, weight: Weight) -> String {
    if text_width_mm(s, size_pt, weight) <= max_w {
        return s.to_owned();
    }
    let mut chars: Vec<char> = s.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let t: String = chars.iter().collect::<String>() + "…";
        if text_width_mm(&t, size_pt, weight) <= max_w {
            return t;
        }
    }
    String::new()
}

/// "Name (CODE)", or the code alone when the name is empty.
fn named(name: &str, code: &str) -> String {
    if name.trim().is_empty() {
        code.to_owned()
    } else {
        format!("{name} ({code})")
    }
}

/// The pages of `map` printed with `spec`. See the [module documentation](self).
pub fn compose(map: &RiskMap, spec: &PageSpec) -> Result<Vec<PrintedPage>, PrintError> {
    if map.focus.iter().any(|v| !v.is_finite()) {
        return Err(PrintError::Empty {
            area: map.area.to_string(),
        });
    }
    let layout = spec.layout();
    let mut bodies: Vec<(String, PageInfo)> = Vec::new();
    let main = map_page(map, spec, &layout, map.focus, PageKind::Map, None)?;
    let grid = main.2;
    let main_frame = main.1.frame;
    let mut dropped: Vec<String> = main.1.dropped.clone();
    bodies.push((main.0, main.1));

    // Detail pages while household labels are dropped.
    let mut detail_of: BTreeMap<String, usize> = BTreeMap::new();
    if let (Some(frame), Some(households)) = (main_frame, &map.households) {
        let by_code: BTreeMap<&str, &MapHousehold> =
            households.iter().map(|h| (h.code.as_str(), h)).collect();
        let window_m = frame.rect.w.min(frame.rect.h) / frame.mm_per_m() / 3.0;
        let mut n = 0;
        while !dropped.is_empty() && n < MAX_DETAILS {
            let pts: Vec<(f64, f64)> = dropped
                .iter()
                .filter_map(|c| {
                    by_code
                        .get(c.as_str())
                        .map(|h| frame.projection.forward(h.lonlat.0, h.lonlat.1))
                })
                .collect();
            // The dropped household with the most dropped neighbours within half a window.
            let near = |a: (f64, f64), b: (f64, f64)| {
                (a.0 - b.0).abs() <= window_m / 2.0 && (a.1 - b.1).abs() <= window_m / 2.0
            };
            let Some(seed) = pts
                .iter()
                .copied()
                .max_by_key(|&p| pts.iter().filter(|&&q| near(p, q)).count())
            else {
                break;
            };
            let group: Vec<(f64, f64)> = pts.iter().copied().filter(|&q| near(seed, q)).collect();
            let (mut w, mut s, mut e, mut nn) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for (x, y) in &group {
                let (lon, lat) = frame.projection.inverse(*x, *y);
                w = w.min(lon);
                e = e.max(lon);
                s = s.min(lat);
                nn = nn.max(lat);
            }
            n += 1;
            let (body, info, _) = map_page(
                map,
                spec,
                &layout,
                [w, s, e, nn],
                PageKind::Detail(n),
                Some(&grid),
            )?;
            let labelled: BTreeSet<String> = info.labelled.iter().cloned().collect();
            let before = dropped.len();
            for c in dropped.iter().filter(|c| labelled.contains(*c)) {
                detail_of.insert(c.clone(), n);
            }
            dropped.retain(|c| !labelled.contains(c));
            bodies.push((body, info));
            if dropped.len() == before {
                break;
            }
        }
    }

    // Index pages.
    if let (Some(households), Some(frame)) = (&map.households, main_frame)
        && !households.is_empty()
    {
        let unlabelled: BTreeSet<&str> = dropped.iter().map(String::as_str).collect();
        let mut rows: Vec<IndexRow> = households
            .iter()
            .map(|h| {
                let (x, y) = frame.to_page(h.lonlat.0, h.lonlat.1);
                IndexRow {
                    cell: grid.cell_of(x, y).unwrap_or_else(|| "–".to_owned()),
                    code: h.code.clone(),
                    marks: mark_letters(&h.marks, texts(spec.lang)),
                    detail: detail_of.get(&h.code).copied(),
                    unlabelled: unlabelled.contains(h.code.as_str()),
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            grid.sort_key(&a.cell)
                .cmp(&grid.sort_key(&b.cell))
                .then(a.code.cmp(&b.code))
        });
        bodies.extend(index_pages(map, spec, &layout, &rows));
    }

    // The visit schedule of a sector's map, with a tick box per household.
    if let Some(due) = &map.due {
        bodies.extend(due_pages(map, due, spec, &layout));
    }

    let total = bodies.len();
    let confidential = map.shows_households();
    let t = texts(spec.lang);
    Ok(bodies
        .into_iter()
        .enumerate()
        .map(|(i, (body, mut info))| {
            info.confidential = confidential;
            let (w, h) = spec.page_mm();
            let mut svg = format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}mm\" height=\"{h}mm\" viewBox=\"0 0 {w} {h}\">\
                 <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>"
            );
            svg.push_str(&body);
            let f = layout.footer;
            let baseline = f.y + ascent_mm(8.0) + 0.6;
            if confidential {
                svg.push_str(&text(f.x, baseline, t.confidential, 8.0, Weight::Bold, "start"));
            }
            svg.push_str(&text(
                f.right(),
                baseline,
                &format!("{} · {} {}/{}", map.area.code(), t.page, i + 1, total),
                7.0,
                Weight::Regular,
                "end",
            ));
            svg.push_str("</svg>");
            PrintedPage { svg, info }
        })
        .collect())
}

/// A row of the household index.
struct IndexRow {
    cell: String,
    code: String,
    marks: String,
    detail: Option<usize>,
    unlabelled: bool,
}

/// A map or detail page: its SVG body, what is on it and its grid.
#[expect(
    clippy::many_single_char_names,
    reason = "page geometry reads as its formulas: x, y, w, h, r(ect), s(vg), t(exts)"
)]
fn map_page(
    map: &RiskMap,
    spec: &PageSpec,
    layout: &PageLayout,
    focus: [f64; 4],
    kind: PageKind,
    main_grid: Option<&RefGrid>,
) -> Result<(String, PageInfo, RefGrid), PrintError> {
    let t = texts(spec.lang);
    let mut info = PageInfo::new(kind, spec.page_mm());
    let centre = (
        f64::midpoint(focus[0], focus[2]),
        f64::midpoint(focus[1], focus[3]),
    );
    let projection = LocalProjection::new(centre.0, centre.1);
    let (x0, y0) = projection.forward(focus[0], focus[1]);
    let (x1, y1) = projection.forward(focus[2], focus[3]);
    let room = (
        (layout.map.w - 2.0 * FOCUS_MARGIN_MM).max(10.0),
        (layout.map.h - 2.0 * FOCUS_MARGIN_MM).max(10.0),
    );
    let need = ((x1 - x0).abs() * 1000.0 / room.0).max((y1 - y0).abs() * 1000.0 / room.1);
    let denominator = nice_denominator(need.max(400.0));
    let frame = MapFrame::new(projection, denominator, layout.map);
    info.frame = Some(frame);
    let r = layout.map;
    let inside = |p: (f64, f64)| r.contains(p.0, p.1);
    let mut s = String::new();
    let _ = write!(
        s,
        "<defs><clipPath id=\"map-clip\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs><g clip-path=\"url(#map-clip)\">",
        num(r.x),
        num(r.y),
        num(r.w),
        num(r.h)
    );

    // Relief.
    let mut contour_step = None;
    if let Some(relief) = &map.relief {
        let (shade_svg, step) = relief_svg(relief, &frame, spec)?;
        s.push_str(&shade_svg);
        contour_step = step;
    }
    // Risk zones, lines, route.
    let mut clusters_drawn = false;
    for c in &map.clusters {
        let pts: Vec<(f64, f64)> = c.ring.iter().map(|&(x, y)| frame.to_page(x, y)).collect();
        let polygon = geo::Polygon::new(geo::LineString::from(pts.clone()), vec![]);
        let frame_rect = geo::Rect::new((r.x, r.y), (r.right(), r.bottom()));
        if geo::Intersects::intersects(&polygon, &frame_rect) {
            clusters_drawn = true;
            s.push_str(&cluster_svg(&path_d(&pts, true)));
        }
    }
    let mut kinds: BTreeSet<LineKind> = BTreeSet::new();
    for l in &map.lines {
        let pts: Vec<(f64, f64)> = l.points.iter().map(|&(x, y)| frame.to_page(x, y)).collect();
        if pts.iter().any(|&p| r.grown(20.0).contains(p.0, p.1)) {
            kinds.insert(l.kind);
            s.push_str(&line_svg(l.kind, &path_d(&pts, false)));
        }
    }
    let route_pts: Option<Vec<(f64, f64)>> = map.route.as_ref().map(|rt| {
        rt.points
            .iter()
            .map(|&(x, y)| frame.to_page(x, y))
            .collect()
    });
    if let Some(pts) = &route_pts {
        s.push_str(&route_svg(&path_d(pts, false)));
    }

    // Symbols, and the obstacles they make for labels.
    let mut obstacles: Vec<Rect> = Vec::new();
    let mut requests: Vec<LabelRequest> = Vec::new();
    let mut label_text: Vec<LabelText> = Vec::new();
    let mut request = |anchor: Rect, lt: LabelText, priority: i32| -> usize {
        let id = label_text.len();
        requests.push(LabelRequest {
            id,
            anchor,
            width: lt.width(),
            height: lt.height(),
            priority,
            // The main labels may sit farther out, with a leader line.
            leader: priority >= 7,
        });
        label_text.push(lt);
        id
    };
    let mut waters: BTreeSet<WaterState> = BTreeSet::new();
    for w in &map.water_systems {
        let p = frame.to_page(w.lonlat.0, w.lonlat.1);
        if inside(p) {
            waters.insert(w.state);
            s.push_str(&water_svg(w.state, p.0, p.1, WATER_MM));
            obstacles.push(Rect::centred(p.0, p.1, WATER_MM, WATER_MM));
            info.symbol_sizes.push(WATER_MM);
        }
    }
    let route_code = map.route.as_ref().map(|rt| rt.facility.code.as_str());
    let mut facility_drawn = false;
    for f in &map.facilities {
        let p = frame.to_page(f.lonlat.0, f.lonlat.1);
        if !inside(p) {
            continue;
        }
        facility_drawn = true;
        s.push_str(&facility_svg(p.0, p.1, FACILITY_MM));
        let b = Rect::centred(p.0, p.1, FACILITY_MM, FACILITY_MM);
        obstacles.push(b);
        info.symbol_sizes.push(FACILITY_MM);
        let mut label = named(&f.name, &f.category);
        if route_code == Some(f.code.as_str())
            && let Some(rt) = &map.route
        {
            label = format!("{label} · {}", minutes(rt.minutes, spec.lang));
        }
        request(b, LabelText::plain(label, 7.0, Weight::Bold), 9);
    }
    let mut community_drawn = false;
    for c in &map.communities {
        let p = frame.to_page(c.lonlat.0, c.lonlat.1);
        if !inside(p) {
            continue;
        }
        community_drawn = true;
        s.push_str(&community_svg(p.0, p.1, COMMUNITY_MM));
        let b = Rect::centred(p.0, p.1, COMMUNITY_MM, COMMUNITY_MM);
        obstacles.push(b);
        info.symbol_sizes.push(COMMUNITY_MM);
        let mut label = if c.name.is_empty() {
            c.code.clone()
        } else {
            c.name.clone()
        };
        if let Some(n) = c.households {
            label = format!("{label} · {n} {}", t.households);
        }
        if !c.in_area
            && let Some(m) = c.minutes
        {
            label = format!("{label} · {}", minutes(m, spec.lang));
        }
        let (size, priority) = if c.in_area { (8.5, 10) } else { (7.0, 6) };
        request(b, LabelText::plain(label, size, Weight::Bold), priority);
    }
    let mut marks_used: BTreeSet<Mark> = BTreeSet::new();
    let mut priority_used = false;
    let mut household_ids: Vec<(usize, String)> = Vec::new();
    if let Some(households) = &map.households {
        for h in households {
            let p = frame.to_page(h.lonlat.0, h.lonlat.1);
            if !inside(p) {
                continue;
            }
            let marks = marks_of(&h.marks);
            let sym = household_symbol(p.0, p.1, &marks, h.marks.priority);
            for part in &sym.parts {
                marks_used.insert(part.mark);
            }
            priority_used |= h.marks.priority;
            s.push_str(&sym.svg());
            obstacles.push(sym.bbox);
            info.symbol_sizes.push(sym.min_size_mm());
            info.households_at.push((h.code.clone(), p));
            let id = request(sym.bbox, LabelText::code(h.code.clone()), 5);
            household_ids.push((id, h.code.clone()));
        }
    }
    for c in &map.clusters {
        let pts: Vec<(f64, f64)> = c.ring.iter().map(|&(x, y)| frame.to_page(x, y)).collect();
        let top = pts
            .iter()
            .copied()
            .filter(|&p| inside(p))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        // A zone holding the whole frame is labelled at the frame's top.
        let top = top.or_else(|| {
            let (cx, cy) = r.centre();
            geo::Contains::contains(
                &geo::Polygon::new(geo::LineString::from(pts.clone()), vec![]),
                &geo::Point::new(cx, cy),
            )
            .then_some((cx, r.y + 2.0))
        });
        if let Some(p) = top {
            request(
                Rect::centred(p.0, p.1, 0.1, 0.1),
                LabelText::plain(
                    format!("{} · {} {}", t.risk_zone, c.households, t.households),
                    7.0,
                    Weight::Bold,
                ),
                7,
            );
        }
    }
    // Where the route leaves the frame towards a facility off the map.
    if let (Some(pts), Some(rt)) = (&route_pts, &map.route)
        && let Some(last) = pts.last()
        && !inside(*last)
        && let Some(exit) = pts
            .windows(2)
            .find_map(|w| (inside(w[0]) && !inside(w[1])).then(|| edge_point(&r, w[0], w[1])))
    {
        request(
            Rect::centred(exit.0, exit.1, 0.1, 0.1),
            LabelText::plain(
                format!(
                    "→ {} · {}",
                    rt.facility.name,
                    minutes(rt.minutes, spec.lang)
                ),
                7.0,
                Weight::Bold,
            ),
            8,
        );
    }
    s.push_str("</g>");

    info.symbol_boxes.clone_from(&obstacles);
    // Labels, with leader lines to those placed away from their symbol.
    let placement = place_labels(&requests, &obstacles, r.grown(-0.5));
    for (id, b) in &placement.placed {
        let a = requests[*id].anchor;
        let (ax, ay) = a.centre();
        let (nx, ny) = (ax.clamp(b.x, b.right()), ay.clamp(b.y, b.bottom()));
        let gap = (nx - ax).abs().max((ny - ay).abs()) - a.w.max(a.h) / 2.0;
        if gap > crate::labels::GAP_MM + 1.7 {
            s.push_str(&crate::svg::line(
                ax,
                ay,
                nx,
                ny,
                "stroke=\"#000000\" stroke-width=\"0.2\"",
            ));
        }
        s.push_str(&label_text[*id].svg(*b));
        info.label_boxes.push(*b);
    }
    let placed: BTreeSet<usize> = placement.placed.iter().map(|(id, _)| *id).collect();
    for (id, code) in household_ids {
        if placed.contains(&id) {
            info.labelled.push(code);
        } else {
            info.dropped.push(code);
        }
    }

    // Frame and grid.
    s.push_str(&rect(
        r.x,
        r.y,
        r.w,
        r.h,
        "fill=\"none\" stroke=\"#000000\" stroke-width=\"0.4\"",
    ));
    let grid = match main_grid {
        None => RefGrid::new(
            r,
            if spec.size == PaperSize::A3 {
                45.0
            } else {
                35.0
            },
        ),
        Some(g) => *g,
    };
    if main_grid.is_none() {
        s.push_str(&grid.svg());
    }

    // Panel.
    let mut legend: Vec<Item> = Vec::new();
    if map.households.is_some() {
        for m in Mark::ALL {
            if marks_used.contains(&m) {
                legend.push(Item::Mark(m));
            }
        }
        if priority_used {
            legend.push(Item::Priority);
        }
        if !info.households_at.is_empty() {
            legend.push(Item::CodeTick);
        }
    }
    if community_drawn {
        legend.push(Item::Community);
    }
    if facility_drawn {
        legend.push(Item::Facility);
    }
    if route_pts.is_some() {
        legend.push(Item::Route);
    }
    for w in waters {
        legend.push(Item::Water(w));
    }
    let mut rivers_done = false;
    for k in kinds {
        if matches!(k, LineKind::River | LineKind::Stream) {
            if rivers_done {
                continue;
            }
            rivers_done = true;
        }
        legend.push(Item::Line(k));
    }
    if clusters_drawn {
        legend.push(Item::Cluster);
    }
    if let Some(step) = contour_step {
        legend.push(Item::Contours(step));
    }
    let bar_room = match spec.orientation {
        Orientation::Portrait => 60.0,
        Orientation::Landscape => layout.panel.w - 6.0,
    };
    let bar = ScaleBar::new(denominator, bar_room);
    info.scale_bar = Some(bar);
    let (lat_c, lon_c) = (centre.1, centre.0);
    let link = viewer_link(&spec.viewer_url, zoom_for(denominator, lat_c), lat_c, lon_c);
    info.link = Some(link.clone());
    s.push_str(&panel_svg(map, spec, layout, kind, &bar, &legend, &link)?);
    Ok((s, info, grid))
}

/// The point where segment `a`–`b` (from inside `r` to outside) crosses `r`'s edge.
fn edge_point(r: &Rect, a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..40 {
        let mid = f64::midpoint(lo, hi);
        let p = (a.0 + mid * (b.0 - a.0), a.1 + mid * (b.1 - a.1));
        if r.contains(p.0, p.1) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (a.0 + lo * (b.0 - a.0), a.1 + lo * (b.1 - a.1))
}

/// A label's text: plain, or a household code with its tick box.
struct LabelText {
    text: String,
    size_pt: f64,
    weight: Weight,
    tick: bool,
}

impl LabelText {
    fn plain(text: String, size_pt: f64, weight: Weight) -> Self {
        Self {
            text,
            size_pt,
            weight,
            tick: false,
        }
    }

    fn code(code: String) -> Self {
        Self {
            text: code,
            size_pt: CODE_PT,
            weight: Weight::Regular,
            tick: true,
        }
    }

    fn text_w(&self) -> f64 {
        text_width_mm(&self.text, self.size_pt, self.weight)
    }

    fn width(&self) -> f64 {
        self.text_w() + 0.8 + if self.tick { TICK_MM + 0.6 } else { 0.0 }
    }

    fn height(&self) -> f64 {
        line_height_mm(self.size_pt).max(if self.tick { TICK_MM + 0.4 } else { 0.0 })
    }

    /// The label drawn in box `b`: a white backing, the text, the tick box.
    fn svg(&self, b: Rect) -> String {
        let mut s = rect(b.x, b.y, b.w, b.h, "fill=\"#ffffff\" fill-opacity=\"0.8\"");
        let lh = line_height_mm(self.size_pt);
        let baseline = b.y + (b.h - lh) / 2.0 + ascent_mm(self.size_pt);
        s.push_str(&text(
            b.x + 0.4,
            baseline,
            &self.text,
            self.size_pt,
            self.weight,
            "start",
        ));
        if self.tick {
            s.push_str(&tick_box_svg(
                b.right() - TICK_MM - 0.3,
                b.y + (b.h - TICK_MM) / 2.0,
                TICK_MM,
            ));
        }
        s
    }
}

/// Shaded relief and contours over the frame; the contour interval drawn.
#[expect(
    clippy::many_single_char_names,
    reason = "page geometry reads as its formulas: x, y, w, h, r(ect), s(vg), t(exts)"
)]
fn relief_svg(
    relief: &chaski_analysis::risk_map::ReliefGrid,
    frame: &MapFrame,
    spec: &PageSpec,
) -> Result<(String, Option<f64>), PrintError> {
    let [w, s_, e, n] = relief.bounds;
    let (cols, rows) = (relief.cols, relief.rows);
    if cols < 2 || rows < 2 || relief.values.len() != cols * rows {
        return Ok((String::new(), None));
    }
    let dlon = (e - w) / cols as f64;
    let dlat = (n - s_) / rows as f64;
    let p = &frame.projection;
    let dx = (p.forward(w + dlon, s_).0 - p.forward(w, s_).0).abs();
    let dy = (p.forward(w, s_ + dlat).1 - p.forward(w, s_).1).abs();
    let shade = hillshade(&relief.values, cols, rows, dx, dy, SUN.0, SUN.1);
    // Shadows as an image over the frame, 0.5 mm pixels (0.6 on A3).
    let r = frame.rect;
    let px = if spec.size == PaperSize::A3 { 0.6 } else { 0.5 };
    let (iw, ih) = ((r.w / px).ceil() as usize, (r.h / px).ceil() as usize);
    let mut alpha = Vec::with_capacity(iw * ih);
    for j in 0..ih {
        for i in 0..iw {
            let (lon, lat) =
                frame.to_lonlat(r.x + (i as f64 + 0.5) * px, r.y + (j as f64 + 0.5) * px);
            let u = (lon - w) / dlon;
            let v = (n - lat) / dlat;
            alpha.push(shadow_alpha(bilinear(&shade, cols, rows, u, v)));
        }
    }
    let png = shadow_png(&alpha, iw, ih)?;
    let mut s = format!(
        "<image x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" href=\"data:image/png;base64,{}\"/>",
        num(r.x),
        num(r.y),
        num(iw as f64 * px),
        num(ih as f64 * px),
        base64(&png)
    );
    // Contours over the part of the grid in the frame.
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for v in &relief.values {
        if v.is_finite() {
            lo = lo.min(f64::from(*v));
            hi = hi.max(f64::from(*v));
        }
    }
    if lo > hi {
        return Ok((s, None));
    }
    let step = contour_interval(lo, hi, frame.denominator);
    let mut level = (lo / step).ceil() * step;
    let clip = r.grown(5.0);
    while level <= hi {
        let index = ((level / step).round() as i64) % 5 == 0;
        for line in contours(&relief.values, cols, rows, level) {
            let pts: Vec<(f64, f64)> = line
                .iter()
                .map(|&(x, y)| frame.to_page(w + x * dlon, n - y * dlat))
                .collect();
            if pts.iter().any(|q| clip.contains(q.0, q.1)) {
                s.push_str(&contour_svg(&path_d(&pts, false), index));
            }
        }
        level += step;
    }
    Ok((s, Some(step)))
}

/// The panel: title block, legend, scale bar, north arrow, QR code.
#[expect(
    clippy::many_single_char_names,
    reason = "page geometry reads as its formulas: x, y, w, h, r(ect), s(vg), t(exts)"
)]
fn panel_svg(
    map: &RiskMap,
    spec: &PageSpec,
    layout: &PageLayout,
    kind: PageKind,
    bar: &ScaleBar,
    legend: &[Item],
    link: &str,
) -> Result<String, PrintError> {
    let t = texts(spec.lang);
    let p = layout.panel;
    let mut s = String::from("<g id=\"panel\">");
    s.push_str(&rect(
        p.x,
        p.y,
        p.w,
        p.h,
        "fill=\"#ffffff\" stroke=\"#000000\" stroke-width=\"0.3\"",
    ));
    let qr_size = if spec.size == PaperSize::A3 {
        30.0
    } else {
        24.0
    };
    let (title_box, legend_box, side_box) = match spec.orientation {
        Orientation::Portrait => {
            let side_w = qr_size + 4.0;
            let title_w = (p.w * 0.4).max(74.0);
            (
                Rect::new(p.x + 2.5, p.y + 2.5, title_w, p.h - 5.0),
                Rect::new(
                    p.x + title_w + 5.0,
                    p.y + 2.5,
                    p.w - title_w - side_w - 7.5,
                    p.h - 5.0,
                ),
                Rect::new(p.right() - side_w, p.y + 2.5, side_w - 2.5, p.h - 5.0),
            )
        }
        Orientation::Landscape => {
            let title_h = 52.0;
            let side_h = qr_size + 16.0;
            (
                Rect::new(p.x + 2.5, p.y + 2.5, p.w - 5.0, title_h),
                Rect::new(
                    p.x + 2.5,
                    p.y + title_h + 20.0,
                    p.w - 5.0,
                    p.h - title_h - side_h - 22.5,
                ),
                Rect::new(p.x + 2.5, p.bottom() - side_h, p.w - 5.0, side_h - 2.5),
            )
        }
    };

    // Title block.
    let mut y = title_box.y + ascent_mm(11.0);
    let title = match kind {
        PageKind::Detail(n) => format!("{} — {} {n}", t.title, t.detail),
        _ => t.title.to_owned(),
    };
    s.push_str(&text(
        title_box.x,
        y,
        &fit(&title, title_box.w, 11.0, Weight::Bold),
        11.0,
        Weight::Bold,
        "start",
    ));
    y += 5.2;
    let mut lines: Vec<(String, String)> = Vec::new();
    if let Some(c) = &map.title.community {
        lines.push((t.community.to_owned(), named(&c.name, &c.code)));
    }
    if let Some(sct) = &map.title.sector {
        lines.push((t.sector.to_owned(), sct.clone()));
    }
    if let Some(cha) = &map.title.cha {
        lines.push((t.cha.to_owned(), cha.clone()));
    }
    if let Some(f) = &map.title.facility {
        let mut v = named(&f.name, &f.code);
        if let Some(rt) = &map.route {
            v = format!("{v} · {}", minutes(rt.minutes, spec.lang));
        }
        lines.push((t.facility.to_owned(), v));
    }
    if let MapArea::Facility(code) = &map.area
        && map.title.facility.is_none()
    {
        lines.push((t.facility.to_owned(), code.clone()));
    }
    if let Some(d) = &map.title.district {
        lines.push((t.district.to_owned(), named(&d.name, &d.code)));
    }
    lines.push((t.date.to_owned(), spec.date.clone()));
    lines.push((
        t.data.to_owned(),
        format!("chaski · {} {}", t.data_version, map.data_version),
    ));
    let label_w = lines
        .iter()
        .map(|(k, _)| text_width_mm(&format!("{k}:"), 7.0, Weight::Bold))
        .fold(0.0, f64::max)
        + 1.2;
    let value_w = title_box.w - label_w;
    for (k, v) in &lines {
        s.push_str(&text(
            title_box.x,
            y,
            &format!("{k}:"),
            7.0,
            Weight::Bold,
            "start",
        ));
        let mut parts = wrap(v, value_w, 7.0);
        if parts.len() > 2 {
            let rest = parts[1..].join(" ");
            parts.truncate(1);
            parts.push(fit(&rest, value_w, 7.0, Weight::Regular));
        }
        for part in parts {
            s.push_str(&text(
                title_box.x + label_w,
                y,
                &fit(&part, value_w, 7.0, Weight::Regular),
                7.0,
                Weight::Regular,
                "start",
            ));
            y += 3.3;
        }
    }
    if map.households.is_none() {
        for part in wrap(t.aggregates_note, title_box.w, 6.0) {
            s.push_str(&text(title_box.x, y, &part, 6.0, Weight::Regular, "start"));
            y += 2.8;
        }
    }
    // Scale bar: under the title block in portrait, below it in landscape.
    let bar_y = match spec.orientation {
        Orientation::Portrait => title_box.bottom() - 11.0,
        Orientation::Landscape => title_box.bottom() + 2.0,
    };
    s.push_str(
        &bar.svg(title_box.x + 1.5, bar_y.max(y), spec.lang, t.scale)
            .0,
    );

    // Legend.
    s.push_str(
        &legend_svg(
            legend,
            spec.lang,
            legend_box.x,
            legend_box.y,
            legend_box.w,
            legend_box.h,
        )
        .0,
    );

    // North arrow and QR code.
    let (qx, qy) = (
        side_box.right() - qr_size,
        side_box.bottom() - qr_size - 3.0,
    );
    let (ax, ay) = match spec.orientation {
        Orientation::Portrait => (side_box.x + side_box.w / 2.0, side_box.y + 2.0),
        Orientation::Landscape => (side_box.x + 8.0, side_box.y + 2.0),
    };
    s.push_str(&north_arrow(ax, ay, t.north));
    let (qr, _) = qr_svg(link, qx, qy, qr_size)?;
    s.push_str(&qr);
    for (k, part) in wrap(t.qr_caption, qr_size + 2.0, 5.5).iter().enumerate() {
        s.push_str(&text(
            qx + qr_size / 2.0,
            qy + qr_size + 2.0 + k as f64 * 2.3,
            part,
            5.5,
            Weight::Regular,
            "middle",
        ));
    }
    s.push_str("</g>");
    Ok(s)
}

/// A north arrow, its tip at (`x`, `y`).
fn north_arrow(x: f64, y: f64, n: &str) -> String {
    let h = 9.0;
    format!(
        "<g id=\"north\"><path d=\"{}\" fill=\"#000000\"/><path d=\"{}\" fill=\"#ffffff\" stroke=\"#000000\" stroke-width=\"0.25\"/>{}</g>",
        path_d(
            &[
                (x, y + 3.5),
                (x + 2.6, y + 3.5 + h),
                (x, y + 3.5 + h * 0.72)
            ],
            true
        ),
        path_d(
            &[
                (x, y + 3.5),
                (x - 2.6, y + 3.5 + h),
                (x, y + 3.5 + h * 0.72)
            ],
            true
        ),
        text(x, y + 2.6, n, 8.0, Weight::Bold, "middle")
    )
}

/// `s` broken into lines of at most `max_w` mm at `size_pt`.
fn wrap(s: &str, max_w: f64, size_pt: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if text_width_mm(&candidate, size_pt, Weight::Regular) > max_w && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            word.clone_into(&mut line);
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The household index: as many pages as the rows need.
#[expect(
    clippy::many_single_char_names,
    reason = "page geometry reads as its formulas: x, y, w, h, r(ect), s(vg), t(exts)"
)]
fn index_pages(
    map: &RiskMap,
    spec: &PageSpec,
    layout: &PageLayout,
    rows: &[IndexRow],
) -> Vec<(String, PageInfo)> {
    let t = texts(spec.lang);
    let page = layout.page.grown(-crate::page::MARGIN_MM);
    let header_h = 16.0;
    let row_h = 4.4;
    let col_w = 62.0;
    let columns = ((page.w + 4.0) / col_w).floor().max(1.0) as usize;
    let per_column = (((layout.footer.y - 3.0 - page.y - header_h) / row_h)
        .floor()
        .max(1.0)) as usize;
    let per_page = columns * per_column;
    let title = match &map.title.community {
        Some(c) => format!("{} — {}", t.index_title, named(&c.name, &c.code)),
        None => format!("{} — {}", t.index_title, map.area.code()),
    };
    let mut out = Vec::new();
    for chunk in rows.chunks(per_page.max(1)) {
        let mut info = PageInfo::new(PageKind::Index, spec.page_mm());
        let mut s = String::from("<g id=\"index\">");
        s.push_str(&text(
            page.x,
            page.y + ascent_mm(11.0),
            &fit(&title, page.w, 11.0, Weight::Bold),
            11.0,
            Weight::Bold,
            "start",
        ));
        let mut ny = page.y + 8.5;
        for part in wrap(t.index_note, page.w, 6.5) {
            s.push_str(&text(page.x, ny, &part, 6.5, Weight::Regular, "start"));
            ny += 2.9;
        }
        let top = page.y + header_h;
        for c in 0..columns {
            let x = page.x + c as f64 * col_w;
            let heads = [
                (t.cell, 0.0),
                (t.code, 9.0),
                (t.visited, 28.5),
                (t.marks, 35.5),
                (t.detail_short, 52.0),
            ];
            for (h, dx) in heads {
                s.push_str(&text(x + dx, top - 1.2, h, 6.0, Weight::Bold, "start"));
            }
        }
        for (k, row) in chunk.iter().enumerate() {
            let (c, j) = (k / per_column, k % per_column);
            let x = page.x + c as f64 * col_w;
            let y = top + j as f64 * row_h;
            if j % 2 == 0 {
                s.push_str(&rect(x - 0.5, y, col_w - 2.0, row_h, "fill=\"#f0f0f0\""));
            }
            let base = y + row_h - 1.2;
            s.push_str(&text(x, base, &row.cell, 7.0, Weight::Bold, "start"));
            let code = if row.unlabelled && row.detail.is_none() {
                format!("{}*", row.code)
            } else {
                row.code.clone()
            };
            s.push_str(&text(x + 9.0, base, &code, 7.0, Weight::Regular, "start"));
            s.push_str(&tick_box_svg(
                x + 29.5,
                y + (row_h - TICK_MM) / 2.0,
                TICK_MM,
            ));
            s.push_str(&text(
                x + 35.5,
                base,
                &row.marks,
                7.0,
                Weight::Regular,
                "start",
            ));
            if let Some(d) = row.detail {
                s.push_str(&text(
                    x + 52.0,
                    base,
                    &format!("D{d}"),
                    7.0,
                    Weight::Regular,
                    "start",
                ));
            }
            info.listed.push(row.code.clone());
        }
        s.push_str("</g>");
        out.push((s, info));
    }
    out
}

/// The visit schedule of a CHA sector: as many pages as the due households
/// need, one row each (code, community, last visit, days since, risk level)
/// with a tick box for the visit.
fn due_pages(
    map: &RiskMap,
    due: &chaski_analysis::risk_map::MapDueList,
    spec: &PageSpec,
    layout: &PageLayout,
) -> Vec<(String, PageInfo)> {
    let t = texts(spec.lang);
    let page = layout.page.grown(-crate::page::MARGIN_MM);
    let header_h = 18.0;
    let row_h = 5.0;
    let per_page = (((layout.footer.y - 3.0 - page.y - header_h) / row_h)
        .floor()
        .max(1.0)) as usize;
    let title = format!(
        "{} — {}",
        t.due_title,
        map.title.sector.as_deref().unwrap_or(map.area.code())
    );
    let note = t
        .due_note
        .replace("{every}", &due.every.to_string())
        .replace("{date}", &due.as_of);
    // Columns: tick box, code, community, last visit, days, risk.
    let cols = [0.0, 10.0, 42.0, 82.0, 110.0, 126.0];
    let chunks: Vec<&[chaski_analysis::monitoring::visits::DueHousehold]> =
        if due.households.is_empty() {
            vec![&[]]
        } else {
            due.households.chunks(per_page).collect()
        };
    let mut out = Vec::new();
    for chunk in chunks {
        let mut info = PageInfo::new(PageKind::Due, spec.page_mm());
        let mut s = String::from("<g id=\"due\">");
        s.push_str(&text(
            page.x,
            page.y + ascent_mm(11.0),
            &fit(&title, page.w, 11.0, Weight::Bold),
            11.0,
            Weight::Bold,
            "start",
        ));
        let mut ny = page.y + 8.5;
        for part in wrap(&note, page.w, 7.0) {
            s.push_str(&text(page.x, ny, &part, 7.0, Weight::Regular, "start"));
            ny += 3.1;
        }
        let top = page.y + header_h;
        let heads = [
            t.visited,
            t.code,
            t.due_columns[0],
            t.due_columns[1],
            t.due_columns[2],
            t.due_columns[3],
        ];
        for (h, dx) in heads.iter().zip(cols) {
            s.push_str(&text(page.x + dx, top - 1.2, h, 6.5, Weight::Bold, "start"));
        }
        if chunk.is_empty() {
            s.push_str(&text(
                page.x,
                top + row_h - 1.2,
                t.due_none,
                8.0,
                Weight::Regular,
                "start",
            ));
        }
        for (j, h) in chunk.iter().enumerate() {
            let y = top + j as f64 * row_h;
            if j % 2 == 0 {
                s.push_str(&rect(page.x - 0.5, y, page.w, row_h, "fill=\"#f0f0f0\""));
            }
            let base = y + row_h - 1.4;
            s.push_str(&tick_box_svg(
                page.x + 1.0,
                y + (row_h - TICK_MM - 0.6) / 2.0,
                TICK_MM + 0.6,
            ));
            let cells = [
                h.code.clone(),
                fit(&h.community, 38.0, 7.5, Weight::Regular),
                h.last_visit.clone().unwrap_or_else(|| t.never.to_owned()),
                h.days_since
                    .map_or_else(|| "–".to_owned(), |d| d.to_string()),
                h.risk_level.clone(),
            ];
            for (k, (c, dx)) in cells.iter().zip(&cols[1..]).enumerate() {
                // The code in bold, as on the map.
                let weight = if k == 0 {
                    Weight::Bold
                } else {
                    Weight::Regular
                };
                s.push_str(&text(page.x + dx, base, c, 7.5, weight, "start"));
            }
            info.listed.push(h.code.clone());
        }
        s.push_str("</g>");
        out.push((s, info));
    }
    out
}
