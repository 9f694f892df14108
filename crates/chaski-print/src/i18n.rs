//! Every word printed on a page, in Spanish (default) and English, and the
//! number formats of each language.
//!
//! ```
//! use chaski_print::i18n::{decimal, texts, thousands};
//! use chaski_print::page::Lang;
//! assert_eq!(texts(Lang::Es).confidential, "CONFIDENCIAL — datos de salud");
//! assert_eq!(texts(Lang::En).confidential, "CONFIDENTIAL — health data");
//! assert_eq!(thousands(25_000, Lang::Es), "25 000");
//! assert_eq!(thousands(25_000, Lang::En), "25,000");
//! assert_eq!(decimal(2.5, Lang::Es), "2,5");
//! assert_eq!(decimal(40.0, Lang::En), "40");
//! ```

use crate::page::Lang;

/// The words of one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Texts {
    /// Title of a map page.
    pub title: &'static str,
    /// Title of an inset (detail) page.
    pub detail: &'static str,
    /// Title of the household index.
    pub index_title: &'static str,
    /// "Community".
    pub community: &'static str,
    /// "CHA sector".
    pub sector: &'static str,
    /// "CHA".
    pub cha: &'static str,
    /// "Health facility".
    pub facility: &'static str,
    /// "District".
    pub district: &'static str,
    /// "Date".
    pub date: &'static str,
    /// "Data".
    pub data: &'static str,
    /// "data version".
    pub data_version: &'static str,
    /// "Scale".
    pub scale: &'static str,
    /// "Legend".
    pub legend: &'static str,
    /// "min on foot".
    pub minutes_walk: &'static str,
    /// Footer of pages with household points.
    pub confidential: &'static str,
    /// "Page".
    pub page: &'static str,
    /// Household marks.
    pub danger_signs: &'static str,
    /// Anaemia or malnutrition.
    pub anaemia: &'static str,
    /// Pregnant woman.
    pub pregnant: &'static str,
    /// Child under 5.
    pub child: &'static str,
    /// No risk flagged.
    pub no_risk: &'static str,
    /// Priority visit.
    pub priority: &'static str,
    /// Household code and visit box.
    pub code_tick: &'static str,
    /// Community (map symbol).
    pub community_symbol: &'static str,
    /// Health facility (map symbol).
    pub facility_symbol: &'static str,
    /// Walking route to the facility.
    pub route: &'static str,
    /// Water systems by state.
    pub water_ok: &'static str,
    /// Partially working.
    pub water_partial: &'static str,
    /// Not working.
    pub water_down: &'static str,
    /// State unknown.
    pub water_unknown: &'static str,
    /// River.
    pub river: &'static str,
    /// Road.
    pub road: &'static str,
    /// Footpath.
    pub footpath: &'static str,
    /// Mule track.
    pub mule_track: &'static str,
    /// Bridge.
    pub bridge: &'static str,
    /// Ford.
    pub ford: &'static str,
    /// Contours.
    pub contours: &'static str,
    /// Cluster label.
    pub risk_zone: &'static str,
    /// "households" (aggregates).
    pub households: &'static str,
    /// Note on maps without household rights.
    pub aggregates_note: &'static str,
    /// Note under the index.
    pub index_note: &'static str,
    /// Index column: grid cell.
    pub cell: &'static str,
    /// Index column: household code.
    pub code: &'static str,
    /// Index column: visited.
    pub visited: &'static str,
    /// Title of the visit schedule page.
    pub due_title: &'static str,
    /// Note under it: `{every}` days, `{date}` the day of the schedule.
    pub due_note: &'static str,
    /// Schedule columns: community, last visit, days since, risk level.
    pub due_columns: [&'static str; 4],
    /// A household never visited (or without a visit date).
    pub never: &'static str,
    /// No household is due.
    pub due_none: &'static str,
    /// Index column: marks.
    pub marks: &'static str,
    /// Index column: detail page.
    pub detail_short: &'static str,
    /// "not labelled on the map".
    pub unlabelled: &'static str,
    /// QR caption.
    pub qr_caption: &'static str,
    /// North.
    pub north: &'static str,
    /// "contours every".
    pub contour_every: &'static str,
    /// Letters of the marks in the index: danger, anaemia, pregnant, child, priority.
    pub mark_letters: [&'static str; 5],
}

const ES: Texts = Texts {
    title: "Mapa de riesgo familiar",
    detail: "Detalle",
    index_title: "Índice de hogares por cuadrícula",
    community: "Comunidad",
    sector: "Sector ACS",
    cha: "ACS",
    facility: "Establecimiento",
    district: "Distrito",
    date: "Fecha",
    data: "Datos",
    data_version: "versión de datos",
    scale: "Escala",
    legend: "Leyenda",
    minutes_walk: "min a pie",
    confidential: "CONFIDENCIAL — datos de salud",
    page: "Página",
    danger_signs: "Signos de alarma",
    anaemia: "Anemia o desnutrición",
    pregnant: "Gestante",
    child: "Niña o niño menor de 5",
    no_risk: "Sin riesgo marcado",
    priority: "Visita prioritaria",
    code_tick: "Código y visita",
    community_symbol: "Centro poblado",
    facility_symbol: "Establecimiento de salud",
    route: "Ruta a pie",
    water_ok: "Agua: funciona",
    water_partial: "Agua: funciona en parte",
    water_down: "Agua: no funciona",
    water_unknown: "Agua: estado desconocido",
    river: "Río, quebrada",
    road: "Carretera, trocha",
    footpath: "Camino peatonal",
    mule_track: "Camino de herradura",
    bridge: "Puente",
    ford: "Vado",
    contours: "Curvas de nivel",
    risk_zone: "Zona de riesgo",
    households: "hogares",
    aggregates_note: "Sin puntos de hogares: solo totales por centro poblado (menos de 5 no se muestra; redondeado a 5).",
    index_note: "* sin etiqueta en el mapa: búsquelo por su cuadrícula. Marcas: S signos de alarma, A anemia o desnutrición, G gestante, N menor de 5, P visita prioritaria.",
    cell: "Cuadr.",
    code: "Código",
    visited: "Visita",
    due_title: "Visitas pendientes",
    due_note: "Hogares en riesgo (alto o medio) cuya última visita fue hace más de {every} días al {date}, o nunca visitados. Marque la casilla al visitar.",
    due_columns: ["Comunidad", "Última visita", "Días", "Riesgo"],
    never: "nunca",
    due_none: "Ningún hogar tiene visita pendiente.",
    marks: "Marcas",
    detail_short: "Detalle",
    unlabelled: "sin etiqueta",
    qr_caption: "Ver esta zona en el visor web",
    north: "N",
    contour_every: "Curvas cada",
    mark_letters: ["S", "A", "G", "N", "P"],
};

const EN: Texts = Texts {
    title: "Family risk map",
    detail: "Detail",
    index_title: "Households by grid cell",
    community: "Community",
    sector: "CHA sector",
    cha: "CHA",
    facility: "Health facility",
    district: "District",
    date: "Date",
    data: "Data",
    data_version: "data version",
    scale: "Scale",
    legend: "Legend",
    minutes_walk: "min on foot",
    confidential: "CONFIDENTIAL — health data",
    page: "Page",
    danger_signs: "Danger signs",
    anaemia: "Anaemia or malnutrition",
    pregnant: "Pregnant woman",
    child: "Child under 5",
    no_risk: "No risk flagged",
    priority: "Priority visit",
    code_tick: "Code and visit",
    community_symbol: "Community",
    facility_symbol: "Health facility",
    route: "Walking route",
    water_ok: "Water: working",
    water_partial: "Water: partly working",
    water_down: "Water: not working",
    water_unknown: "Water: state unknown",
    river: "River, stream",
    road: "Road, track",
    footpath: "Footpath",
    mule_track: "Mule track",
    bridge: "Bridge",
    ford: "Ford",
    contours: "Contours",
    risk_zone: "Risk zone",
    households: "households",
    aggregates_note: "No household points: totals per community only (under 5 not shown; rounded to 5).",
    index_note: "* not labelled on the map: find it by its grid cell. Marks: D danger signs, A anaemia or malnutrition, P pregnant, C child under 5, V priority visit.",
    cell: "Cell",
    code: "Code",
    visited: "Visit",
    due_title: "Visits due",
    due_note: "At-risk households (high or medium) last visited more than {every} days before {date}, or never visited. Tick the box when visited.",
    due_columns: ["Community", "Last visit", "Days", "Risk"],
    never: "never",
    due_none: "No household is due a visit.",
    marks: "Marks",
    detail_short: "Detail",
    unlabelled: "not labelled",
    qr_caption: "Open this area in the web viewer",
    north: "N",
    contour_every: "Contours every",
    mark_letters: ["D", "A", "P", "C", "V"],
};

/// The words of `lang`.
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Es => &ES,
        Lang::En => &EN,
    }
}

/// A whole number with thousands grouped: `25 000` (Spanish), `25,000` (English).
pub fn thousands(n: u64, lang: Lang) -> String {
    let digits = n.to_string();
    let sep = match lang {
        Lang::Es => ' ',
        Lang::En => ',',
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A number with up to 2 decimals and no trailing zeros, with the
/// language's decimal mark and thousands grouped.
pub fn decimal(v: f64, lang: Lang) -> String {
    let v = (v * 100.0).round() / 100.0;
    let whole = v.trunc();
    let frac = ((v - whole).abs() * 100.0).round() as u64;
    let mut s = thousands(whole.abs() as u64, lang);
    if v < 0.0 {
        s.insert(0, '-');
    }
    if frac > 0 {
        let mark = match lang {
            Lang::Es => ',',
            Lang::En => '.',
        };
        let f = format!("{frac:02}");
        s.push(mark);
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

/// Minutes in words: `35 min a pie`, `2 h 05 min a pie` from an hour up,
/// `< 1 min a pie` under half a minute.
///
/// ```
/// use chaski_print::i18n::minutes;
/// use chaski_print::page::Lang;
/// assert_eq!(minutes(34.6, Lang::Es), "35 min a pie");
/// assert_eq!(minutes(125.0, Lang::En), "2 h 05 min on foot");
/// ```
pub fn minutes(m: f64, lang: Lang) -> String {
    let t = texts(lang);
    let total = m.round().max(0.0) as u64;
    if m < 0.5 {
        format!("< 1 {}", t.minutes_walk)
    } else if total >= 60 {
        format!("{} h {:02} {}", total / 60, total % 60, t.minutes_walk)
    } else {
        format!("{total} {}", t.minutes_walk)
    }
}
