//! Core fields of each layer kind, with the source column names recognised for them.
//!
//! Source columns are matched case- and accent-insensitively against `aliases`
//! (after a mapping file, if any, has renamed them); anything unmatched is kept
//! as an extra field of the layer.

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
        &[
            "codigo",
            "cod_ccpp",
            "codccpp",
            "id",
            "id_ccpp",
            "ccpp",
            "codigo_ccpp",
            "cod",
            "idccpp",
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
            "num_viviendas",
        ],
        "households or dwellings, when known",
    ),
    f(
        "district",
        Text,
        false,
        &["distrito", "district", "nombdist", "nom_dist"],
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
        &["institucion", "institution", "entidad"],
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

/// Normalise a source column name for matching: lower case, accents folded,
/// anything but letters and digits turned into `_`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        let c = match c {
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

/// The core field of `kind` that a source column called `source` maps to, if any.
pub fn match_core_field(kind: LayerKind, source: &str) -> Option<&'static CoreField> {
    let n = normalize_name(source);
    core_fields(kind).iter().find(|c| c.name == n).or_else(|| {
        core_fields(kind)
            .iter()
            .find(|c| c.aliases.contains(&n.as_str()))
    })
}
