//! The district report written out: one long CSV table ([`csv`],
//! [`index_csv`]) and a printable HTML page ([`html`], [`index_html`]) in
//! Spanish or English. JSON is the reports' serde form. Pure functions from a
//! report to text: the caller writes the file or the HTTP answer.
//!
//! The CSV is one long table with the columns `district_code`,
//! `district_name`, `table`, `row`, `column` and `value` (tables `villages`,
//! `any_facility`, `birth_care`, `water_systems`, `villages_without_water`,
//! `households`), UTF-8 with a byte-order mark so that Excel reads Ñ and
//! accents. Unknown populations are empty, suppressed household cells `x`.
//!
//! The HTML page holds its own CSS (A4 print layout, no script, no font,
//! image or other external asset), so it prints and works offline.

use super::{AccessTable, DistrictReport, Lang, ReportIndex, Tally};
use chaski_core::disclosure::Shown;
use std::fmt::Write as _;

/// The words of the HTML page in one language.
struct Texts {
    title: &'static str,
    index_title: &'static str,
    date: &'static str,
    version: &'static str,
    villages_h: &'static str,
    villages: &'static str,
    population: &'static str,
    without_population: &'static str,
    no_population_col: &'static str,
    scenario: &'static str,
    unknown: &'static str,
    other_code: &'static str,
    outside_with_code: &'static str,
    access_h: &'static str,
    any_facility: &'static str,
    birth_care: &'static str,
    threshold: &'static str,
    within: &'static str,
    beyond: &'static str,
    hours: &'static str,
    without_time: &'static str,
    unavailable: &'static str,
    facilities_used: &'static str,
    water_h: &'static str,
    status: &'static str,
    systems: &'static str,
    served: &'static str,
    statuses: [&'static str; 4],
    total: &'static str,
    no_water_layer: &'static str,
    without_water: &'static str,
    nearest: &'static str,
    none_near: &'static str,
    code: &'static str,
    name: &'static str,
    households_h: &'static str,
    households: &'static str,
    no_households: &'static str,
    risk_level: &'static str,
    levels: [&'static str; 3],
    flags: [&'static str; 3],
    suppression: &'static str,
    sources_h: &'static str,
    surface: &'static str,
    private_layer: &'static str,
    features: &'static str,
    method: &'static str,
    outside_districts: &'static str,
    beyond_2h_any: &'static str,
    beyond_2h_birth: &'static str,
}

const ES: Texts = Texts {
    title: "Informe distrital",
    index_title: "Informes distritales",
    date: "Fecha",
    version: "versión de los datos",
    villages_h: "1. Centros poblados y población",
    villages: "Centros poblados",
    population: "Población",
    without_population: "Centros poblados sin población conocida",
    no_population_col: "De ellos sin población conocida",
    scenario: "Escenario",
    unknown: "desconocida",
    other_code: "Centros poblados dentro del distrito con código (ubigeo) de otro distrito",
    outside_with_code: "Centros poblados con el código de este distrito fuera de su límite",
    access_h: "2. Acceso a pie a los servicios de salud",
    any_facility: "A cualquier establecimiento de salud",
    birth_care: "A un establecimiento con atención del parto (básica o completa)",
    threshold: "Tiempo a pie",
    within: "Hasta",
    beyond: "Más de",
    hours: "h",
    without_time: "Sin tiempo (fuera de la superficie de tiempo de viaje)",
    unavailable: "No disponible",
    facilities_used: "establecimientos de partida",
    water_h: "3. Sistemas de agua (JASS)",
    status: "Estado",
    systems: "Sistemas",
    served: "Hogares servidos",
    statuses: ["Operativo", "Parcial", "Inoperativo", "Sin dato"],
    total: "Total",
    no_water_layer: "No hay capa de sistemas de agua (water_systems) en el almacén.",
    without_water: "Centros poblados sin sistema operativo a 1 km o menos",
    nearest: "Sistema operativo más cercano (m)",
    none_near: "ninguno cerca",
    code: "Código",
    name: "Nombre",
    households_h: "4. Hogares en riesgo (datos agregados)",
    households: "Hogares",
    no_households: "No hay datos de hogares en el almacén.",
    risk_level: "Nivel de riesgo",
    levels: ["Alto", "Medio", "Bajo"],
    flags: ["Con anemia", "Con desnutrición", "Con signos de alarma"],
    suppression: "Datos de salud privados: solo agregados. Las cifras están redondeadas a 5; \
                  «x» oculta un grupo de menos de 5 hogares o una cifra que permitiría \
                  deducirlo por diferencia. El nivel de riesgo se deriva sin el riesgo de violencia.",
    sources_h: "Fuentes de datos y método",
    surface: "Superficie de tiempo de viaje",
    private_layer: "privada: solo agregados",
    features: "elementos",
    method: "Los centros poblados, sistemas de agua y hogares se ubican en el distrito por su \
             posición (el primer distrito que los contiene, borde incluido). Tiempo a pie hasta \
             el establecimiento (modelo de Tobler sobre el DEM, caminos y ríos incluidos); la \
             población cuenta solo los centros poblados con población conocida.",
    outside_districts: "Fuera de todo distrito",
    beyond_2h_any: "Población a más de 2 h de un establecimiento",
    beyond_2h_birth: "Población a más de 2 h de atención del parto",
};

const EN: Texts = Texts {
    title: "District report",
    index_title: "District reports",
    date: "Date",
    version: "data version",
    villages_h: "1. Villages and population",
    villages: "Villages",
    population: "Population",
    without_population: "Villages without a known population",
    no_population_col: "Of which without a known population",
    scenario: "Scenario",
    unknown: "unknown",
    other_code: "Villages inside the district whose code (ubigeo) names another district",
    outside_with_code: "Villages with this district's code outside its limits",
    access_h: "2. Access on foot to health care",
    any_facility: "To any health facility",
    birth_care: "To a facility with birth care (basic or complete)",
    threshold: "Time on foot",
    within: "Within",
    beyond: "Beyond",
    hours: "h",
    without_time: "Without a time (off the travel-time surface)",
    unavailable: "Not available",
    facilities_used: "facilities searched from",
    water_h: "3. Water systems (JASS)",
    status: "Status",
    systems: "Systems",
    served: "Households served",
    statuses: ["Operational", "Partial", "Down", "Unknown"],
    total: "Total",
    no_water_layer: "The store has no water systems layer (water_systems).",
    without_water: "Villages with no operational system within 1 km",
    nearest: "Nearest operational system (m)",
    none_near: "none near",
    code: "Code",
    name: "Name",
    households_h: "4. Households at risk (aggregates)",
    households: "Households",
    no_households: "The store holds no household data.",
    risk_level: "Risk level",
    levels: ["High (alto)", "Medium (medio)", "Low (bajo)"],
    flags: ["With anaemia", "With malnutrition", "With danger signs"],
    suppression: "Private health data: aggregates only. Counts are rounded to 5; «x» hides a \
                  group of fewer than 5 households or a count that would reveal one by \
                  subtraction. Risk levels are derived without the violence risk.",
    sources_h: "Data sources and method",
    surface: "Travel-time surface",
    private_layer: "private: aggregates only",
    features: "features",
    method: "Villages, water systems and households are placed in the district by location \
             (the first district holding them, border included). Time on foot to the facility \
             (Tobler's model on the DEM, paths and rivers included); population counts the \
             villages with a known population only.",
    outside_districts: "Outside every district",
    beyond_2h_any: "Population beyond 2 h of a facility",
    beyond_2h_birth: "Population beyond 2 h of birth care",
};

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Es => &ES,
        Lang::En => &EN,
    }
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// One CSV field, quoted when it must be. A field that a spreadsheet would
/// read as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '@']) || (s.starts_with('-') && s.parse::<f64>().is_err()) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A whole number with `,` between thousands.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn opt_text<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// CSV header of [`csv`].
pub const CSV_HEADER: [&str; 6] = [
    "district_code",
    "district_name",
    "table",
    "row",
    "column",
    "value",
];

struct Csv {
    out: String,
}

impl Csv {
    fn new() -> Self {
        let mut out = String::from("\u{feff}");
        out.push_str(&CSV_HEADER.join(","));
        out.push('\n');
        Self { out }
    }

    fn row(&mut self, fields: &[&str]) {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        self.out.push_str(&line.join(","));
        self.out.push('\n');
    }
}

fn tally_rows(c: &mut Csv, head: [&str; 4], t: &Tally) {
    let [code, name, table, row] = head;
    c.row(&[code, name, table, row, "villages", &t.villages.to_string()]);
    c.row(&[
        code,
        name,
        table,
        row,
        "population",
        &opt_text(t.population),
    ]);
    c.row(&[
        code,
        name,
        table,
        row,
        "villages_without_population",
        &t.villages_without_population.to_string(),
    ]);
}

fn access_rows(c: &mut Csv, r: &DistrictReport, table: &str, a: &AccessTable) {
    let (code, name) = (r.code.as_str(), r.name.as_str());
    c.row(&[code, name, table, "facilities", "value", &a.facilities]);
    if let Some(why) = &a.unavailable {
        c.row(&[code, name, table, "unavailable", "reason", why]);
        return;
    }
    c.row(&[
        code,
        name,
        table,
        "scenario",
        "value",
        &opt_text(a.scenario.as_deref()),
    ]);
    for b in &a.bands {
        let m = format!("{}", b.minutes);
        tally_rows(c, [code, name, table, &format!("within_{m}")], &b.within);
        tally_rows(c, [code, name, table, &format!("beyond_{m}")], &b.beyond);
    }
    tally_rows(c, [code, name, table, "without_time"], &a.without_time);
}

/// The report as one long CSV table (see the module documentation).
pub fn csv(r: &DistrictReport) -> String {
    let mut c = Csv::new();
    let (code, name) = (r.code.as_str(), r.name.as_str());
    tally_rows(&mut c, [code, name, "villages", "all"], &r.villages.total);
    c.row(&[
        code,
        name,
        "villages",
        "all",
        "with_other_district_code",
        &r.villages.with_other_district_code.to_string(),
    ]);
    c.row(&[
        code,
        name,
        "villages",
        "all",
        "outside_with_this_code",
        &r.villages.outside_with_this_code.to_string(),
    ]);
    access_rows(&mut c, r, "any_facility", &r.any_facility);
    access_rows(&mut c, r, "birth_care", &r.birth_care);
    let w = &r.water;
    if w.available {
        for s in &w.by_status {
            c.row(&[
                code,
                name,
                "water_systems",
                &s.status,
                "systems",
                &s.systems.to_string(),
            ]);
            c.row(&[
                code,
                name,
                "water_systems",
                &s.status,
                "households_served",
                &opt_text(s.households_served),
            ]);
        }
        c.row(&[
            code,
            name,
            "water_systems",
            "all",
            "systems",
            &w.systems.to_string(),
        ]);
        tally_rows(
            &mut c,
            [code, name, "villages_without_water", "all"],
            &w.villages_without,
        );
        for v in &w.villages {
            let t = "villages_without_water";
            c.row(&[code, name, t, &v.code, "name", &v.name]);
            c.row(&[
                code,
                name,
                t,
                &v.code,
                "population",
                &opt_text(v.population),
            ]);
            c.row(&[
                code,
                name,
                t,
                &v.code,
                "nearest_operational_m",
                &opt_text(v.nearest_operational_m),
            ]);
        }
    } else {
        c.row(&[
            code,
            name,
            "water_systems",
            "unavailable",
            "reason",
            "no water_systems layer",
        ]);
    }
    let h = &r.households;
    if h.available {
        c.row(&[
            code,
            name,
            "households",
            "all",
            "households",
            &h.households.to_string(),
        ]);
        for l in &h.risk_levels {
            c.row(&[
                code,
                name,
                "households",
                &l.level,
                "households",
                &l.households.to_string(),
            ]);
        }
        for f in &h.flags {
            c.row(&[
                code,
                name,
                "households",
                &f.flag,
                "households",
                &f.households.to_string(),
            ]);
        }
    } else {
        c.row(&[
            code,
            name,
            "households",
            "unavailable",
            "reason",
            "no household layer",
        ]);
    }
    c.out
}

/// The index of `--all` as CSV: one row per district (and one for what lies
/// in no district), UTF-8 with a byte-order mark.
pub fn index_csv(index: &ReportIndex) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(
        "code,name,report,villages,population,villages_without_population,\
         population_beyond_120_any_facility,population_beyond_120_birth_care,\
         villages_without_water,population_without_water,households\n",
    );
    let pop = |t: Option<Tally>| opt_text(t.and_then(|t| t.population));
    let villages = |t: Option<Tally>| opt_text(t.map(|t| t.villages));
    for d in &index.districts {
        let fields = [
            d.code.clone(),
            d.name.clone(),
            format!("{}.html", d.code),
            d.villages.villages.to_string(),
            opt_text(d.villages.population),
            d.villages.villages_without_population.to_string(),
            pop(d.beyond_2h_any_facility),
            pop(d.beyond_2h_birth_care),
            villages(d.without_water),
            pop(d.without_water),
            opt_text(d.households),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    let v = &index.villages_outside_districts;
    let fields = [
        String::new(),
        "outside every district".to_owned(),
        String::new(),
        v.villages.to_string(),
        opt_text(v.population),
        v.villages_without_population.to_string(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        opt_text(index.households_outside_districts),
    ];
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push('\n');
    out
}

const CSS: &str = "\
@page { size: A4; margin: 16mm 14mm; }
* { box-sizing: border-box; }
body { font-family: 'DejaVu Sans', Arial, Helvetica, sans-serif; font-size: 10.5pt; color: #111; margin: 0 auto; max-width: 190mm; padding: 8mm 0; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; border-bottom: 1px solid #555; padding-bottom: 1mm; }
h3 { font-size: 10.5pt; margin: 3mm 0 1mm; }
p.meta { margin: 0 0 3mm; color: #333; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 3mm; page-break-inside: auto; }
tr { page-break-inside: avoid; }
thead { display: table-header-group; }
th, td { border: 1px solid #999; padding: 1mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
p.note { font-size: 9pt; color: #333; margin: 1mm 0 3mm; }
section { page-break-inside: avoid; }
section.long { page-break-inside: auto; }
@media print { body { padding: 0; max-width: none; } a { color: inherit; text-decoration: none; } }
";

fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        lang.as_str(),
        escape_html(title)
    )
}

fn pop_cell(t: &T, p: Option<u64>) -> String {
    p.map_or_else(|| format!("<em>{}</em>", t.unknown), grouped)
}

type T = Texts;

fn shown_cell(s: Shown) -> String {
    match s {
        Shown::Count(n) => grouped(n),
        other => escape_html(&other.to_string()),
    }
}

fn access_html(out: &mut String, t: &T, heading: &str, a: &AccessTable) {
    let _ = writeln!(out, "<h3>{}</h3>", escape_html(heading));
    if let Some(why) = &a.unavailable {
        let _ = writeln!(
            out,
            "<p class=\"note\">{}: {}</p>",
            t.unavailable,
            escape_html(why)
        );
        return;
    }
    let _ = writeln!(
        out,
        "<table><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th>\
         <th class=\"n\">{}</th></tr></thead><tbody>",
        t.threshold, t.villages, t.population, t.no_population_col
    );
    for b in &a.bands {
        let h = b.minutes / 60.0;
        for (word, tally) in [(t.within, &b.within), (t.beyond, &b.beyond)] {
            let _ = writeln!(
                out,
                "<tr><td>{word} {h} {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td></tr>",
                t.hours,
                grouped(tally.villages as u64),
                pop_cell(t, tally.population),
                grouped(tally.villages_without_population as u64)
            );
        }
    }
    let w = &a.without_time;
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\
         </tbody></table>",
        t.without_time,
        grouped(w.villages as u64),
        pop_cell(t, w.population),
        grouped(w.villages_without_population as u64)
    );
    let _ = writeln!(
        out,
        "<p class=\"note\">{}: {} · {} {}.</p>",
        t.scenario,
        escape_html(a.scenario.as_deref().unwrap_or("")),
        opt_text(a.sources),
        t.facilities_used
    );
}

/// The report as a printable HTML page in `lang` (see the module documentation).
#[expect(
    clippy::many_single_char_names,
    reason = "t (the texts), r (the report) and b (the page) are on every line"
)]
pub fn html(r: &DistrictReport, lang: Lang) -> String {
    let t = texts(lang);
    let mut b = String::new();
    let title = format!("{}: {} ({})", t.title, r.name, r.code);
    let _ = writeln!(
        b,
        "<header><h1>{}</h1>\n<p class=\"meta\">{}: {} · {} {} · {}</p></header>",
        escape_html(&title),
        t.date,
        escape_html(&r.date),
        t.version,
        r.data_version,
        escape_html(&r.layer)
    );
    // 1. Villages.
    let v = &r.villages;
    let _ = writeln!(
        b,
        "<section><h2>{}</h2><table><tbody>\n\
         <tr><th>{}</th><td class=\"n\">{}</td></tr>\n\
         <tr><th>{}</th><td class=\"n\">{}</td></tr>\n\
         <tr><th>{}</th><td class=\"n\">{}</td></tr>\n\
         <tr><th>{}</th><td class=\"n\">{}</td></tr>\n\
         <tr><th>{}</th><td class=\"n\">{}</td></tr>\n\
         </tbody></table></section>",
        t.villages_h,
        t.villages,
        grouped(v.total.villages as u64),
        t.population,
        pop_cell(t, v.total.population),
        t.without_population,
        grouped(v.total.villages_without_population as u64),
        t.other_code,
        grouped(v.with_other_district_code as u64),
        t.outside_with_code,
        grouped(v.outside_with_this_code as u64),
    );
    // 2. Access.
    let _ = writeln!(b, "<section><h2>{}</h2>", t.access_h);
    access_html(&mut b, t, t.any_facility, &r.any_facility);
    access_html(&mut b, t, t.birth_care, &r.birth_care);
    b.push_str("</section>\n");
    // 3. Water.
    let w = &r.water;
    let _ = writeln!(b, "<section class=\"long\"><h2>{}</h2>", t.water_h);
    if w.available {
        let _ = writeln!(
            b,
            "<table><thead><tr><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
            t.status, t.systems, t.served
        );
        for (s, label) in w.by_status.iter().zip(t.statuses) {
            let _ = writeln!(
                b,
                "<tr><td>{label}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                grouped(s.systems as u64),
                s.households_served
                    .map(|n| grouped(n.max(0).unsigned_abs()))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(
            b,
            "<tr><th>{}</th><th class=\"n\">{}</th><th></th></tr></tbody></table>",
            t.total,
            grouped(w.systems as u64)
        );
        let vw = &w.villages_without;
        let _ = writeln!(
            b,
            "<h3>{}: {} ({}: {})</h3>",
            t.without_water,
            grouped(vw.villages as u64),
            t.population.to_lowercase(),
            pop_cell(t, vw.population)
        );
        if !w.villages.is_empty() {
            let _ = writeln!(
                b,
                "<table><thead><tr><th>{}</th><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
                t.code, t.name, t.population, t.nearest
            );
            for v in &w.villages {
                let _ = writeln!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    escape_html(&v.code),
                    escape_html(&v.name),
                    pop_cell(t, v.population),
                    v.nearest_operational_m
                        .map_or_else(|| t.none_near.to_owned(), |m| grouped(m.max(0.0) as u64))
                );
            }
            b.push_str("</tbody></table>\n");
        }
    } else {
        let _ = writeln!(b, "<p class=\"note\">{}</p>", t.no_water_layer);
    }
    b.push_str("</section>\n");
    // 4. Households.
    let h = &r.households;
    let _ = writeln!(b, "<section><h2>{}</h2>", t.households_h);
    if h.available {
        let _ = writeln!(
            b,
            "<table><thead><tr><th>{}</th><th class=\"n\">{}</th></tr></thead><tbody>\n\
             <tr><th>{}</th><th class=\"n\">{}</th></tr>",
            t.risk_level,
            t.households,
            t.total,
            shown_cell(h.households)
        );
        for (l, label) in h.risk_levels.iter().zip(t.levels) {
            let _ = writeln!(
                b,
                "<tr><td>{label}</td><td class=\"n\">{}</td></tr>",
                shown_cell(l.households)
            );
        }
        for (f, label) in h.flags.iter().zip(t.flags) {
            let _ = writeln!(
                b,
                "<tr><td>{label}</td><td class=\"n\">{}</td></tr>",
                shown_cell(f.households)
            );
        }
        b.push_str("</tbody></table>\n");
        let _ = writeln!(b, "<p class=\"note\">{}</p>", t.suppression);
    } else {
        let _ = writeln!(b, "<p class=\"note\">{}</p>", t.no_households);
    }
    b.push_str("</section>\n");
    // Sources.
    let _ = writeln!(b, "<section><h2>{}</h2><ul>", t.sources_h);
    for s in &r.sources {
        let count = s.features.map_or_else(
            || t.private_layer.to_owned(),
            |n| format!("{} {}", grouped(n as u64), t.features),
        );
        let _ = writeln!(
            b,
            "<li>{} ({}): {}</li>",
            escape_html(&s.name),
            escape_html(&s.kind),
            count
        );
    }
    if let Some(s) = &r.surface {
        let _ = writeln!(b, "<li>{}: {}</li>", t.surface, escape_html(s));
    }
    let _ = writeln!(b, "</ul><p class=\"note\">{}</p></section>", t.method);
    page(lang, &title, &b)
}

/// The index of `--all` as an HTML page linking each district's report
/// (`CODE.html` beside it).
pub fn index_html(index: &ReportIndex, lang: Lang) -> String {
    let t = texts(lang);
    let mut b = String::new();
    let _ = writeln!(
        b,
        "<header><h1>{}</h1>\n<p class=\"meta\">{}: {} · {} {} · {}</p></header>",
        t.index_title,
        t.date,
        escape_html(&index.date),
        t.version,
        index.data_version,
        escape_html(&index.layer)
    );
    let _ = writeln!(
        b,
        "<table><thead><tr><th>{}</th><th>{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th>\
         <th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></thead><tbody>",
        t.code,
        t.name,
        t.villages,
        t.population,
        t.beyond_2h_any,
        t.beyond_2h_birth,
        t.without_water,
        t.households
    );
    let pop = |v: Option<Tally>| v.map_or_else(String::new, |v| pop_cell(t, v.population));
    for d in &index.districts {
        let _ = writeln!(
            b,
            "<tr><td><a href=\"{}.html\">{}</a></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape_html(&d.code),
            escape_html(&d.code),
            escape_html(&d.name),
            grouped(d.villages.villages as u64),
            pop_cell(t, d.villages.population),
            pop(d.beyond_2h_any_facility),
            pop(d.beyond_2h_birth_care),
            d.without_water
                .map(|w| grouped(w.villages as u64))
                .unwrap_or_default(),
            d.households.map(shown_cell).unwrap_or_default()
        );
    }
    let v = &index.villages_outside_districts;
    let _ = writeln!(
        b,
        "<tr><td></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td></td><td></td><td></td>\
         <td class=\"n\">{}</td></tr></tbody></table>",
        t.outside_districts,
        grouped(v.villages as u64),
        pop_cell(t, v.population),
        index
            .households_outside_districts
            .map(shown_cell)
            .unwrap_or_default()
    );
    let _ = writeln!(b, "<p class=\"note\">{}</p>", t.suppression);
    page(lang, t.index_title, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formula_safe() {
        assert_eq!(csv_field("Ñuñoa, Alto"), "\"Ñuñoa, Alto\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-12.5"), "-12.5");
        assert_eq!(csv_field("-x"), "'-x");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234), "1,234");
        assert_eq!(grouped(123_456_789), "123,456,789");
        assert_eq!(
            escape_html("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
