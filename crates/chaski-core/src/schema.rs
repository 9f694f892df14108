//! Core fields of each layer kind, with the source column names recognised for them.
//!
//! Source columns are matched case- and accent-insensitively (after a mapping
//! file, if any, has renamed them), strongest first:
//!
//! 1. the field's own name (`population`);
//! 2. one of its `aliases` (`poblacion`, `codigo_unico`, ...), earlier aliases first;
//! 3. except for households, the same *stem* as the field's name or one of its
//!    aliases ([`name_stem`]): words joined without separators, the connecting
//!    words `de`, `del`, `el`, `la`, `las`, `los`, `y` and the words `tot`/`total`
//!    dropped, and a trailing census year of 2 or 4 digits removed. One alias
//!    then covers a whole family of INEI and MINSA names: `nomccpp` matches
//!    `NOMCCPP02` and `NOMCCPP_17`, `idccpp` matches `IDCCPP02`, `pob` matches
//!    `POB07`, `TOT_POB99` and `POB_TOTAL_2017`, `viv` matches `VIV17` and
//!    `TOT_VIV99`, `nombre_establecimiento` matches MINSA's "Nombre del
//!    establecimiento".
//!
//! When several columns match one field, the strongest match wins, then the
//! first column (INEI's 10-digit `IDCCPP02` is the code of a village, not the
//! 4-digit `CODCCPP02` it ends with). Anything unmatched is kept as an extra
//! field of the layer.

use crate::layer::LayerKind;
use crate::value::{Field, FieldType};

/// A core field of a layer kind.
#[derive(Debug, Clone, Copy)]
pub struct CoreField {
    /// Our column name.
    pub name: &'static str,
    /// Column type.
    pub ty: FieldType,
    /// A row without a value here is rejected.
    pub required: bool,
    /// Source column names recognised for this field (lower-case, ASCII).
    pub aliases: &'static [&'static str],
    /// What the field means, for the README and the catalog.
    pub doc: &'static str,
}

const fn f(
    name: &'static str,
    ty: FieldType,
    required: bool,
    aliases: &'static [&'static str],
    doc: &'static str,
) -> CoreField {
    CoreField {
        name,
        ty,
        required,
        aliases,
        doc,
    }
}

use FieldType::{Bool, Date, Int, Real, Text};

const COMMUNITIES: &[CoreField] = &[
    f(
        "code",
        Text,
        true,
        // INEI's IDCCPP (ubigeo + 4 digits) before CODCCPP, which in INEI 2002
        // tables is only the 4 digits within the district.
        &[
            "codigo",
            "idccpp",
            "id_ccpp",
            "codigo_ccpp",
            "cod_ccpp",
            "codccpp",
            "ccpp",
            "cod",
            "id",
            "code",
        ],
        "community code (INEI centro poblado code or the source's id)",
    ),
    f(
        "name",
        Text,
        false,
        &[
            "nombre",
            "nom_ccpp",
            "nomccpp",
            "nombccpp",
            "name",
            "centro_poblado",
            "nombre_ccpp",
            "nombre_centro_poblado",
        ],
        "community name",
    ),
    f(
        "ubigeo",
        Text,
        false,
        &["ubigeo", "iddist", "ubigeo_dist", "cod_dist"],
        "district ubigeo (6 digits) when the source gives it",
    ),
    f(
        "population",
        Int,
        false,
        &[
            "poblacion",
            "population",
            "pob",
            "tot_pob",
            "tot_pob99",
            "pob_total",
            "poblacion_censada",
            "habitantes",
            "pop",
        ],
        "inhabitants, when known",
    ),
    f(
        "households",
        Int,
        false,
        &[
            "viviendas",
            "households",
            "hogares",
            "tot_viv",
            "tot_viv99",
            "viv",
            "num_viviendas",
            "viviendas_particulares",
        ],
        "households or dwellings, when known",
    ),
    f(
        "district",
        Text,
        false,
        &["distrito", "district", "nombdist", "nom_dist", "nombdi"],
        "district name",
    ),
];

const FACILITIES: &[CoreField] = &[
    f(
        "code",
        Text,
        true,
        &[
            "codigo",
            "renipress",
            "cod_renipress",
            "codigo_renipress",
            "cod_ipress",
            "codigo_unico",
            "cod_unico",
            "codigo_ipress",
            "cod_renaes",
            "renaes",
            "code",
            "id",
        ],
        "RENIPRESS code",
    ),
    f(
        "name",
        Text,
        false,
        &[
            "nombre",
            "name",
            "nombre_establecimiento",
            "establecimiento",
            "nombre_ipress",
            "nombre_eess",
        ],
        "facility name",
    ),
    f(
        "category",
        Text,
        false,
        &["categoria", "category", "cat"],
        "category I-1, I-2, I-3, I-4, II-1, II-2, II-E, III-1, III-2, III-E",
    ),
    f(
        "institution",
        Text,
        false,
        &[
            "institucion",
            "institution",
            "entidad",
            "institucion_ipress",
        ],
        "managing institution (MINSA, GOBIERNO REGIONAL, ESSALUD, ...)",
    ),
    f(
        "birth_care",
        Text,
        false,
        &[
            "birth_care",
            "emergencia_obstetrica",
            "fon",
            "capacidad_resolutiva_obstetrica",
            "atencion_parto",
        ],
        "birth care: none, basic (basic emergency obstetric care) or complete (complete emergency obstetric care)",
    ),
    f(
        "maternity_home",
        Bool,
        false,
        &["maternity_home", "casa_materna", "casa_espera"],
        "has a maternity waiting home (casa materna)",
    ),
    f("ubigeo", Text, false, &["ubigeo"], "district ubigeo"),
];

const WATER_SYSTEMS: &[CoreField] = &[
    f(
        "code",
        Text,
        true,
        &["codigo", "code", "id", "cod_jass", "id_sistema"],
        "water system id",
    ),
    f(
        "name",
        Text,
        false,
        &["nombre", "name", "sistema", "nombre_sistema"],
        "water system name",
    ),
    f(
        "board",
        Text,
        false,
        &["jass", "board", "junta", "organizacion", "operador"],
        "managing board (JASS)",
    ),
    f(
        "status",
        Text,
        false,
        &["estado", "status", "funcionamiento"],
        "operational, partial or down",
    ),
    f(
        "chlorinated",
        Bool,
        false,
        &["clorado", "chlorinated", "cloracion", "cloro"],
        "water is chlorinated",
    ),
    f(
        "households_served",
        Int,
        false,
        &[
            "familias",
            "hogares",
            "households_served",
            "viviendas_servidas",
            "conexiones",
            "familias_beneficiarias",
        ],
        "households served",
    ),
];

const BOUNDARIES: &[CoreField] = &[
    f(
        "code",
        Text,
        true,
        &[
            "iddist", "idprov", "iddpto", "ubigeo", "code", "codigo", "id",
        ],
        "boundary code (ubigeo for administrative limits)",
    ),
    f(
        "name",
        Text,
        false,
        &["nombdist", "nombprov", "nombdep", "name", "nombre"],
        "boundary name",
    ),
    f(
        "level",
        Text,
        false,
        &["level", "nivel", "tipo"],
        "department, province, district or another planning unit",
    ),
];

const LINES: &[CoreField] = &[
    f(
        "code",
        Text,
        false,
        &["code", "codigo", "id", "osm_id"],
        "line id",
    ),
    f("name", Text, false, &["name", "nombre"], "name"),
    f(
        "class",
        Text,
        true,
        &[
            "class", "clase", "tipo", "type", "highway", "waterway", "fclass",
        ],
        "class (paths: footpath, mule_track, bridge, ford; roads: paved, unpaved, track; rivers: river, stream, navigable)",
    ),
];

const HOUSEHOLDS: &[CoreField] = &[
    f(
        "code",
        Text,
        true,
        &[
            "household_code",
            "codigo_hogar",
            "cod_hogar",
            "hogar",
            "code",
            "codigo",
        ],
        "household code (never a name)",
    ),
    f(
        "community",
        Text,
        false,
        &["community", "ccpp", "cod_ccpp", "codigo_ccpp", "comunidad"],
        "community code",
    ),
    f(
        "facility",
        Text,
        false,
        &["facility", "renipress", "ipress", "establecimiento"],
        "RENIPRESS code of the facility",
    ),
    f(
        "cha_sector",
        Text,
        false,
        &["cha_sector", "sector", "sector_acs"],
        "CHA sector",
    ),
    f(
        "cha",
        Text,
        false,
        &["cha", "acs", "agente", "cha_code", "codigo_acs"],
        "CHA code",
    ),
    f(
        "visit_date",
        Date,
        false,
        &["visit_date", "fecha_visita", "fecha", "today", "date"],
        "visit date",
    ),
    f(
        "members",
        Int,
        false,
        &["members", "miembros", "integrantes"],
        "household members",
    ),
    f(
        "pregnant",
        Int,
        false,
        &["pregnant", "gestantes", "embarazadas"],
        "pregnant women",
    ),
    f(
        "under2",
        Int,
        false,
        &["under2", "menores_2", "ninos_menores_2"],
        "children under 2",
    ),
    f(
        "under5",
        Int,
        false,
        &["under5", "menores_5", "ninos_menores_5"],
        "children under 5",
    ),
    f(
        "anaemia",
        Bool,
        false,
        &["anaemia", "anemia"],
        "anaemia in the household (yes/no/unknown)",
    ),
    f(
        "malnutrition",
        Bool,
        false,
        &["malnutrition", "desnutricion"],
        "child malnutrition",
    ),
    f(
        "danger_signs",
        Bool,
        false,
        &["danger_signs", "signos_alarma", "senales_peligro"],
        "danger signs seen",
    ),
    f(
        "safe_water",
        Bool,
        false,
        &["safe_water", "agua_segura"],
        "safe water",
    ),
    f(
        "sanitation",
        Bool,
        false,
        &["sanitation", "saneamiento"],
        "improved sanitation",
    ),
    f(
        "violence_risk",
        Bool,
        false,
        &["violence_risk", "riesgo_violencia"],
        "violence risk (restricted)",
    ),
    f(
        "risk_level",
        Text,
        false,
        &["risk_level", "nivel_riesgo", "riesgo"],
        "alto, medio or bajo; derived on import when absent (see `chaski_io::households`)",
    ),
    f(
        "altitude",
        Real,
        false,
        &[
            "altitude",
            "altitud",
            "gps_altitude",
            "elevation",
            "elevacion",
            "alt",
        ],
        "altitude of the GPS fix (m above sea level)",
    ),
    f(
        "gps_accuracy",
        Real,
        false,
        &[
            "gps_accuracy",
            "accuracy",
            "gps_precision",
            "precision",
            "precision_gps",
            "exactitud",
        ],
        "horizontal accuracy of the GPS fix (m); over 25 m is flagged",
    ),
    f(
        "location_source",
        Text,
        false,
        &[
            "location_source",
            "fuente_ubicacion",
            "origen_ubicacion",
            "metodo_ubicacion",
            "tipo_ubicacion",
        ],
        "how the location was taken: gps, digitized (placed on a map or image) or sketch (from a hand-drawn village map)",
    ),
    f(
        "visit_round",
        Int,
        false,
        &[
            "visit_round",
            "ronda",
            "ronda_visita",
            "numero_visita",
            "nro_visita",
            "round",
        ],
        "visit round (1 for the first census visit, 2, 3... for follow-ups)",
    ),
    f(
        "submission_uuid",
        Text,
        false,
        &[
            "submission_uuid",
            "instanceid",
            "meta_instanceid",
            "_uuid",
            "uuid",
            "key",
            "instance_id",
        ],
        "form submission id (ODK `meta-instanceID`/`KEY`, KoBo `_uuid`), without the `uuid:` prefix: re-uploads update by it",
    ),
    f(
        "water_source",
        Text,
        false,
        &[
            "water_source",
            "fuente_agua",
            "fuente_de_agua",
            "abastecimiento_agua",
        ],
        "main drinking-water source as recorded (red_publica, pileta, pozo, manantial, rio, lluvia, cisterna...)",
    ),
    f(
        "consent",
        Bool,
        false,
        &[
            "consent",
            "consentimiento",
            "consentimiento_informado",
            "acepta",
            "acepta_participar",
        ],
        "the family consented to its data being recorded; rows without a yes are rejected",
    ),
    f(
        "consent_date",
        Date,
        false,
        &["consent_date", "fecha_consentimiento"],
        "date of consent",
    ),
    f(
        "low_accuracy",
        Bool,
        false,
        &["low_accuracy"],
        "set on import: the GPS accuracy is over 25 m (the point is kept but doubtful)",
    ),
];

/// Fields that identify a feature of `kind` for an upsert, in order of preference:
/// an incoming feature is matched on the first of them it has a value for.
/// Households are matched on their form submission id, else on their code;
/// every other kind on its code.
pub fn upsert_keys(kind: LayerKind) -> &'static [&'static str] {
    match kind {
        LayerKind::Households => &["submission_uuid", "code"],
        _ => &["code"],
    }
}

/// Core fields of `kind`, in column order.
pub fn core_fields(kind: LayerKind) -> &'static [CoreField] {
    match kind {
        LayerKind::Communities => COMMUNITIES,
        LayerKind::Facilities => FACILITIES,
        LayerKind::WaterSystems => WATER_SYSTEMS,
        LayerKind::Boundaries => BOUNDARIES,
        LayerKind::Paths | LayerKind::Roads | LayerKind::Rivers => LINES,
        LayerKind::Households => HOUSEHOLDS,
    }
}

/// Core fields of `kind` as [`Field`]s.
pub fn core_field_defs(kind: LayerKind) -> Vec<Field> {
    core_fields(kind)
        .iter()
        .map(|c| Field::new(c.name, c.ty))
        .collect()
}

/// Normalise a source column name for matching: lower case, accents folded
/// (precomposed, or as combining marks, as macOS writes them), anything but
/// letters and digits turned into `_`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        let c = match c {
            // Combining diacritical marks: the letter before them is kept.
            '\u{300}'..='\u{36f}' => continue,
            'á' | 'à' | 'ä' | 'â' | 'Á' | 'À' | 'Ä' | 'Â' => 'a',
            'é' | 'è' | 'ë' | 'ê' | 'É' | 'È' | 'Ë' | 'Ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' | 'Í' | 'Ì' | 'Ï' | 'Î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' | 'Ó' | 'Ò' | 'Ö' | 'Ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' | 'Ú' | 'Ù' | 'Ü' | 'Û' => 'u',
            'ñ' | 'Ñ' => 'n',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => '_',
        };
        out.push(c);
    }
    out
}

/// Words left out of a [`name_stem`]: Spanish connectors and totals.
const STEM_DROPPED_WORDS: &[&str] = &["de", "del", "el", "la", "las", "los", "y", "tot", "total"];

/// The stem of a column name, for matching families of names by one rule
/// instead of many aliases: the name is normalised ([`normalize_name`]) and
/// split into words at `_`; the words `de`, `del`, `el`, `la`, `las`, `los`,
/// `y`, `tot` and `total` are dropped and the rest joined without separators;
/// then a trailing census year of 2 or 4 digits is removed, and then a
/// trailing `total` or `tot`.
///
/// `NOMCCPP02` → `nomccpp`, `TOT_POB99` → `pob`, `POB_TOTAL_2017` → `pob`,
/// `POBTOTAL17` → `pob`, `VIV17` → `viv`, "Nombre del establecimiento" →
/// `nombreestablecimiento`, "Código Único" → `codigounico`.
pub fn name_stem(name: &str) -> String {
    let n = normalize_name(name);
    let mut s: String = n
        .split('_')
        .filter(|w| !w.is_empty() && !STEM_DROPPED_WORDS.contains(w))
        .collect();
    let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if (digits == 2 || digits == 4) && digits < s.len() {
        s.truncate(s.len() - digits);
    }
    for total in ["total", "tot"] {
        if s.len() > total.len() && s.ends_with(total) {
            s.truncate(s.len() - total.len());
            break;
        }
    }
    s
}

/// How strongly a source column name matches a core field: lower is stronger.
/// `(0, 0)` the field's own name; `(1, i)` alias `i`; `(2, i)` the stem of the
/// field's name (`i = 0`) or of alias `i - 1`.
pub type MatchRank = (u8, usize);

/// The core field of `kind` that a source column called `source` maps to, if
/// any (see the module documentation for the rule).
pub fn match_core_field(kind: LayerKind, source: &str) -> Option<&'static CoreField> {
    match_core_field_ranked(kind, source).map(|(c, _)| c)
}

/// [`match_core_field`] with the strength of the match, to choose among
/// several columns that match one field.
pub fn match_core_field_ranked(
    kind: LayerKind,
    source: &str,
) -> Option<(&'static CoreField, MatchRank)> {
    let n = normalize_name(source);
    let fields = core_fields(kind);
    if let Some(c) = fields.iter().find(|c| c.name == n) {
        return Some((c, (0, 0)));
    }
    if let Some(found) = fields
        .iter()
        .find_map(|c| c.aliases.iter().position(|a| *a == n).map(|p| (c, (1, p))))
    {
        return Some(found);
    }
    // Household exports have their own column rules (chaski_io::households).
    if kind == LayerKind::Households {
        return None;
    }
    let stem = name_stem(source);
    if stem.is_empty() {
        return None;
    }
    fields.iter().find_map(|c| {
        if name_stem(c.name) == stem {
            return Some((c, (2, 0)));
        }
        c.aliases
            .iter()
            .position(|a| name_stem(a) == stem)
            .map(|p| (c, (2, p + 1)))
    })
}

/// Word beginnings of a source column name that suggest it may hold core
/// field `field` when no column was recognised as it (`POBLACION_URBANA` for
/// the population, `NOM_LOCALIDAD` for the name): the importer then names the
/// column in a warning instead of staying silent. Empty for fields without hints.
pub fn candidate_hints(field: &str) -> &'static [&'static str] {
    match field {
        "code" => &["cod", "id"],
        "name" => &["nom", "name"],
        "population" => &["pob", "hab", "pop"],
        "households" | "households_served" => &["viv", "hog", "famil"],
        "district" => &["dist"],
        "ubigeo" => &["ubig"],
        "category" => &["categ"],
        "institution" => &["instit", "entidad"],
        _ => &[],
    }
}

/// Whether source column `source` looks like it might hold core field `field`
/// ([`candidate_hints`]: one of its words starts with a hint).
pub fn is_candidate(field: &str, source: &str) -> bool {
    let hints = candidate_hints(field);
    normalize_name(source)
        .split('_')
        .any(|w| hints.iter().any(|h| w.starts_with(h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(kind: LayerKind, source: &str) -> Option<&'static str> {
        match_core_field(kind, source).map(|c| c.name)
    }

    #[test]
    fn inei_families_match_by_stem() {
        use LayerKind::Communities as C;
        for (source, field) in [
            ("NOMCCPP02", "name"),
            ("NOMCCPP_17", "name"),
            ("IDCCPP02", "code"),
            ("CODCCPP", "code"),
            ("CODCCPP02", "code"),
            ("TOT_POB99", "population"),
            ("POB07", "population"),
            ("POB_2017", "population"),
            ("POB_TOTAL_2017", "population"),
            ("POBTOTAL", "population"),
            ("Población censada", "population"),
            ("VIV17", "households"),
            ("TOT_VIV99", "households"),
            ("NOMBDI02", "district"),
            ("UBIGEO", "ubigeo"),
        ] {
            assert_eq!(matched(C, source), Some(field), "{source}");
        }
        for other in [
            "NOMBPV02", "CLASIF02", "NOMCAT02", "POBREZA", "POB_H", "X_COORD",
        ] {
            assert_eq!(matched(C, other), None, "{other}");
        }
        // IDCCPP (the whole code) is a stronger match than CODCCPP (its last 4 digits).
        let id = match_core_field_ranked(C, "IDCCPP02").unwrap().1;
        let cod = match_core_field_ranked(C, "CODCCPP02").unwrap().1;
        assert!(id < cod, "{id:?} {cod:?}");
    }

    #[test]
    fn minsa_headers_match() {
        use LayerKind::Facilities as F;
        for (source, field) in [
            ("Nombre del establecimiento", "name"),
            ("Código Único", "code"),
            ("Co\u{301}digo U\u{301}nico", "code"),
            ("Categoría", "category"),
            ("Institución", "institution"),
            ("UBIGEO", "ubigeo"),
        ] {
            assert_eq!(matched(F, source), Some(field), "{source}");
        }
        assert_eq!(matched(F, "Clasificación"), None);
    }

    #[test]
    fn stems() {
        assert_eq!(name_stem("NOMCCPP02"), "nomccpp");
        assert_eq!(name_stem("TOT_POB99"), "pob");
        assert_eq!(name_stem("POBTOTAL17"), "pob");
        assert_eq!(
            name_stem("Nombre del establecimiento"),
            "nombreestablecimiento"
        );
        assert_eq!(name_stem("under2"), "under2");
        assert_eq!(name_stem("y"), "");
        assert_eq!(name_stem("2017"), "2017");
    }

    #[test]
    fn no_two_fields_of_a_kind_share_a_stem() {
        for kind in [
            LayerKind::Communities,
            LayerKind::Facilities,
            LayerKind::WaterSystems,
            LayerKind::Boundaries,
            LayerKind::Paths,
        ] {
            let mut seen: std::collections::HashMap<String, &str> =
                std::collections::HashMap::new();
            for c in core_fields(kind) {
                for a in std::iter::once(&c.name).chain(c.aliases) {
                    let s = name_stem(a);
                    if let Some(other) = seen.insert(s.clone(), c.name) {
                        assert_eq!(other, c.name, "{kind:?}: stem '{s}' of '{a}'");
                    }
                }
            }
        }
    }

    #[test]
    fn households_keep_exact_matching() {
        assert_eq!(matched(LayerKind::Households, "members_2017"), None);
        assert_eq!(matched(LayerKind::Households, "miembros"), Some("members"));
    }

    #[test]
    fn candidates_by_word_beginnings() {
        assert!(is_candidate("population", "POBLACION_URBANA"));
        assert!(is_candidate("name", "NOM_LOCALIDAD"));
        assert!(!is_candidate("population", "categoria"));
    }
}
