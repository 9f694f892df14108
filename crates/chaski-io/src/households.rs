//! Household records: ODK Central and KoBoToolbox exports, validation and the
//! derived risk level.
//!
//! # Source layouts (recognised without a mapping file)
//!
//! * **ODK Central** CSV export (`Submissions → Download → CSV`): one column per
//!   form field, named by its group path joined with `-` (`hogar-gestantes`);
//!   a geopoint `gps` in group `hogar` split into `hogar-gps-Latitude`,
//!   `hogar-gps-Longitude`, `hogar-gps-Altitude`, `hogar-gps-Accuracy`; then
//!   `meta-instanceID` (`uuid:…`), `KEY` (the same id), `SubmitterID`,
//!   `SubmitterName`, `AttachmentsPresent`, `AttachmentsExpected`, `Status`,
//!   `ReviewState`, `DeviceID`, `Edits`, `FormVersion`; `SubmissionDate` comes first.
//! * **KoBoToolbox** CSV export (`;` by default, `,` on request): columns named
//!   by group path joined with `/` (`hogar/gestantes`); the raw geopoint column
//!   (`lat lon alt precision`) followed by `_gps_latitude`, `_gps_longitude`,
//!   `_gps_altitude`, `_gps_precision`; then `meta/instanceID`, `_id`, `_uuid`,
//!   `_submission_time`, `_validation_status`, `_notes`, `_status`,
//!   `_submitted_by`, `__version__`, `_tags`, `_index`.
//! * A single geopoint column holding `"lat lon [alt [accuracy]]"`, GeoJSON
//!   (points, properties as columns) and GeoPackage layers.
//!
//! A column is matched to a core field by its full name, then by the part after
//! each group separator (`-`, `/`, `.`, `:`), then `…altitude` → `altitude` and
//! `…accuracy`/`…precision` → `gps_accuracy`. A mapping file's renames win over
//! all of this. Export bookkeeping (submitter name and id, device id, review
//! state, attachments, KoBo `_id`/`_index`/`_tags`...) and the raw geopoint
//! column duplicated by its split columns are not stored: a household layer
//! keeps no name of a person. The `uuid:` prefix of submission ids is removed.
//!
//! Yes/no fields accept `si`/`sí`/`yes`/`1`/`true`, `no`/`0`/`false`, and
//! `unknown`/`no_sabe`/`ns`/empty for unknown (`Null`).
//!
//! # Validation (per row)
//!
//! Rejected: no point, coordinates `0,0`, out of range, outside the expected
//! region (Peru by default) or swapped (unless `--fix-swapped`), missing
//! household code, missing, unreadable or negative consent (private data is
//! stored only with the family's consent). Kept with a warning: GPS accuracy
//! over [`MAX_ACCURACY_M`] (also stored as `low_accuracy = true`), community or
//! facility codes unknown to the store's communities/facilities layers, a
//! submission id seen twice in one file, unreadable values (left empty).
//!
//! # Derived values
//!
//! `location_source` is `gps` when empty and the row has a GPS accuracy.
//! `risk_level`, when the source leaves it empty, is derived with the rule of
//! [`chaski_core::household::derive_risk_level`] (violence risk included).

use crate::import::report::ImportReport;
use crate::import::source::{GeomError, SourceColumn, SourceRecord, SourceTable};
use chaski_core::auth::{
    Access, AccessRecord, AuthError, FIELD_CHA_SECTOR, FIELD_FACILITY, Role, TokenStore,
};
use chaski_core::household::places::Places;
use chaski_core::household::write::{Deleted, Refusal, Repair, WriteRules, check_scope, plan_edit};
use chaski_core::household::{Violence, derive_risk_level};
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::schema::{CoreField, core_fields, match_core_field, normalize_name};
use chaski_core::store::EditScope;
use chaski_core::store::{Store, StoreError};
use chaski_core::value::{FieldType, Value};
use geo::{Geometry, Point};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// GPS accuracy (m) above which a household point is flagged.
pub const MAX_ACCURACY_M: f64 = 25.0;

/// A household source could not be read as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HouseholdError {
    /// The GeoJSON text is not GeoJSON.
    #[error("{path}: not GeoJSON: {reason}")]
    GeoJson {
        /// The file (or `upload.geojson` for a request body).
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The GeoJSON names a CRS other than WGS 84 longitude/latitude.
    #[error("{path}: {reason}")]
    Crs {
        /// The file (or `upload.geojson` for a request body).
        path: PathBuf,
        /// Which CRS, and what to do.
        reason: String,
    },
}

/// Export bookkeeping columns never stored in a household layer (normalised names).
const EXPORT_METADATA: &[&str] = &[
    // ODK Central
    "submitterid",
    "submittername",
    "attachmentspresent",
    "attachmentsexpected",
    "status",
    "reviewstate",
    "deviceid",
    "edits",
    "formversion",
    // XLSForm metadata, in both
    "start",
    "end",
    "username",
    "phonenumber",
    "simserial",
    "subscriberid",
    "email",
    "audit",
    // KoBoToolbox
    "_id",
    "_index",
    "_parent_index",
    "_parent_table_name",
    "__version__",
    "_version_",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "_tags",
    "_attachments",
    "_geolocation",
    "_xform_id_string",
    "_media_count",
    "_total_media",
    "_media_all_received",
    "_submission_time",
    "submissiondate",
    "_submissiondate",
    "updatedat",
    "deletedat",
];

/// What kind of personal identifier a column name looks like, if any.
///
/// Household layers hold codes, never names or ID numbers (Ley 29733 treats
/// health data as sensitive personal data). The last part of the column name
/// (after any ODK or KoBo group separator) is split into words, Spanish and
/// English spellings: names (`nombre`, `apellido`, `name`...), identity
/// documents (`dni`, `documento`, `carnet`, `pasaporte`, `sis`...), phones
/// (`telefono`, `celular`, `whatsapp`...), addresses (`direccion`,
/// `domicilio`...), e-mail (`correo`, `email`) and dates of birth
/// (`fecha_nacimiento`, `dob`...). The name of a place (`nombre_comunidad`,
/// `nombre_establecimiento`) is not a person's name.
///
/// ```
/// use chaski_io::households::personal_identifier;
/// assert_eq!(personal_identifier("hogar/nombre_jefe_hogar"), Some("a person's name"));
/// assert_eq!(personal_identifier("DNI"), Some("an identity document number"));
/// assert_eq!(personal_identifier("telefono2"), Some("a phone number"));
/// assert_eq!(personal_identifier("nombre_comunidad"), None);
/// assert_eq!(personal_identifier("hogar-gestantes"), None);
/// ```
pub fn personal_identifier(header: &str) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "nombre",
        "nombres",
        "apellido",
        "apellidos",
        "name",
        "names",
        "surname",
        "firstname",
        "lastname",
        "fullname",
        "nombrecompleto",
        "apellidopaterno",
        "apellidomaterno",
    ];
    const PLACES: &[&str] = &[
        "establecimiento",
        "eess",
        "ipress",
        "renipress",
        "comunidad",
        "ccpp",
        "centro",
        "poblado",
        "caserio",
        "anexo",
        "community",
        "facility",
        "village",
        "distrito",
        "district",
        "provincia",
        "province",
        "departamento",
        "region",
        "sector",
        "sistema",
        "jass",
        "rio",
        "river",
        "form",
        "formulario",
        "file",
        "archivo",
        "proyecto",
        "project",
        "layer",
        "capa",
    ];
    const IDS: &[&str] = &[
        "dni",
        "documento",
        "doc",
        "nrodoc",
        "numdoc",
        "cedula",
        "carnet",
        "pasaporte",
        "passport",
        "ssn",
        "sis",
        "ruc",
        "historiaclinica",
        "nationalid",
        "idnumber",
    ];
    const PHONES: &[&str] = &[
        "telefono",
        "telf",
        "tel",
        "phone",
        "celular",
        "cel",
        "movil",
        "mobile",
        "whatsapp",
        "telephone",
        "fono",
    ];
    const ADDRESSES: &[&str] = &["direccion", "address", "domicilio", "calle", "jiron"];
    const EMAILS: &[&str] = &["email", "correo", "mail", "correoelectronico"];
    const BIRTHS: &[&str] = &["nacimiento", "birth", "dob", "birthdate", "fechanac"];
    let t = header.trim();
    let last = t.rsplit(['-', '/', '.', ':']).next().unwrap_or(t);
    let n = normalize_name(last);
    // Words without digits ("telefono2" is a phone), and each adjacent pair
    // joined ("historia_clinica", "fecha_nac").
    let words: Vec<String> = n
        .split('_')
        .map(|w| w.trim_matches(|c: char| c.is_ascii_digit()).to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    let mut terms: Vec<String> = words.clone();
    terms.extend(words.windows(2).map(|p| format!("{}{}", p[0], p[1])));
    terms.push(words.concat());
    let has = |set: &[&str]| terms.iter().any(|w| set.contains(&w.as_str()));
    if has(IDS) {
        Some("an identity document number")
    } else if has(PHONES) {
        Some("a phone number")
    } else if has(EMAILS) {
        Some("an e-mail address")
    } else if has(BIRTHS) {
        Some("a date of birth")
    } else if has(ADDRESSES) {
        Some("an address")
    } else if has(NAMES) && !has(PLACES) {
        Some("a person's name")
    } else {
        None
    }
}

/// Names a source column may be known by: its full normalised name, the same
/// without leading/trailing `_`, and the part after each group separator.
pub fn column_candidates(header: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    let full = normalize_name(header);
    push(full.clone());
    push(full.trim_matches('_').to_owned());
    let t = header.trim();
    for (i, c) in t.char_indices() {
        if matches!(c, '-' | '/' | '.' | ':') {
            let rest = normalize_name(&t[i + c.len_utf8()..]);
            push(rest.clone());
            push(rest.trim_matches('_').to_owned());
        }
    }
    out
}

fn core(name: &str) -> Option<&'static CoreField> {
    core_fields(LayerKind::Households)
        .iter()
        .find(|c| c.name == name)
}

/// Rank of a name for a core field: 0 for the field's own name, 1 + the alias
/// position otherwise (earlier aliases are more specific).
fn alias_rank(c: &CoreField, name: &str) -> usize {
    if c.name == name {
        0
    } else {
        c.aliases
            .iter()
            .position(|a| *a == name)
            .map_or(usize::MAX, |p| p + 1)
    }
}

/// The household core field a source column stands for, if any, with the
/// strength of the match (lower is stronger: alias rank, then how the name was
/// found).
fn scored_match(header: &str) -> Option<(&'static CoreField, (usize, usize))> {
    let full = normalize_name(header);
    let candidates = column_candidates(header);
    let mut best: Option<(&'static CoreField, (usize, usize))> = None;
    for (level, n) in candidates.iter().enumerate() {
        if let Some(c) = match_core_field(LayerKind::Households, n) {
            // level 0/1: the whole name; later ones: the part after a group separator
            let score = (alias_rank(c, n), usize::from(level > 1));
            if best.is_none_or(|(_, b)| score < b) {
                best = Some((c, score));
            }
        }
    }
    if best.is_some() {
        return best;
    }
    let weak = (usize::MAX, 2);
    if full.ends_with("altitude") {
        core("altitude").map(|c| (c, weak))
    } else if full.ends_with("accuracy") || full.ends_with("precision") {
        core("gps_accuracy").map(|c| (c, weak))
    } else {
        None
    }
}

/// The household core field a source column stands for, if any.
pub fn match_column(header: &str) -> Option<&'static CoreField> {
    scored_match(header).map(|(c, _)| c)
}

/// What a source column of a household table becomes.
#[derive(Debug, Clone, Copy)]
pub enum ColumnUse {
    /// This core field.
    Core(&'static CoreField),
    /// Nothing: export bookkeeping, a raw geopoint duplicated by its split
    /// columns, or a second submission-id column.
    Skip,
    /// An extra field.
    Extra,
}

/// Assign the columns of a household table (`(name, renamed by a mapping file)`)
/// to core fields. When several columns could fill one field the most specific
/// name wins (a mapping rename, then the field's own name, then its aliases in
/// order: `fecha_visita` beats `today`, `meta-instanceID` beats `KEY`), then the
/// first column. Losers become extra fields, except submission ids, which are
/// skipped (ODK's `KEY` repeats `meta-instanceID`, KoBo's `_uuid` repeats
/// `meta/instanceID`).
pub fn plan_columns(columns: &[(String, bool)]) -> Vec<ColumnUse> {
    let headers: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
    let mut plan = vec![ColumnUse::Extra; columns.len()];
    let mut bids: Vec<((usize, usize, usize), usize, &'static CoreField)> = Vec::new();
    for (ci, (name, renamed)) in columns.iter().enumerate() {
        if *renamed {
            if let Some(c) = match_core_field(LayerKind::Households, name) {
                bids.push(((0, 0, 0), ci, c));
            }
            continue;
        }
        if is_dropped_column(name, &headers) {
            plan[ci] = ColumnUse::Skip;
            continue;
        }
        if let Some((c, (rank, how))) = scored_match(name) {
            bids.push(((1, rank, how), ci, c));
        }
    }
    bids.sort_by_key(|(score, ci, _)| (*score, *ci));
    let mut taken: HashSet<&'static str> = HashSet::new();
    for (_, ci, c) in bids {
        plan[ci] = if taken.insert(c.name) {
            ColumnUse::Core(c)
        } else if c.name == "submission_uuid" {
            ColumnUse::Skip
        } else {
            ColumnUse::Extra
        };
    }
    plan
}

/// True for export bookkeeping columns that a household layer never keeps
/// (submitter, device, review state, KoBo `_id`...), and for a raw geopoint
/// column whose split `…_latitude`, `…_altitude` or `…_precision` columns are also in `headers`.
pub fn is_dropped_column(header: &str, headers: &[String]) -> bool {
    let n = normalize_name(header);
    if EXPORT_METADATA.contains(&n.as_str()) {
        return true;
    }
    let bare = n.trim_matches('_');
    if bare.is_empty() {
        return false;
    }
    // The split columns of a geopoint `gps` (KoBo `_gps_latitude`, ODK `gps-Latitude`...);
    // the reader has taken latitude and longitude out, the others stay.
    headers.iter().any(|h| {
        normalize_name(h)
            .trim_matches('_')
            .strip_prefix(bare)
            .is_some_and(|rest| {
                matches!(
                    rest,
                    "_latitude" | "_longitude" | "_altitude" | "_precision" | "_accuracy"
                )
            })
    })
}

/// A submission id without its `uuid:` prefix.
pub fn normalize_uuid(text: &str) -> String {
    let t = text.trim();
    match t.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("uuid:") => t[5..].trim().to_owned(),
        _ => t.to_owned(),
    }
}

/// `gps`, `digitized` or `sketch` from the ways forms write them.
pub fn parse_location_source(text: &str) -> Result<&'static str, String> {
    match normalize_name(text).as_str() {
        "gps" | "gnss" | "gps_phone" | "celular" | "telefono" | "geopoint" => Ok("gps"),
        "digitized" | "digitised" | "digitalizado" | "digitizado" | "map" | "mapa" | "imagen"
        | "satellite" | "satelite" | "manual" => Ok("digitized"),
        "sketch" | "croquis" | "sketch_map" | "mapa_comunal" | "dibujo" => Ok("sketch"),
        _ => Err(format!(
            "'{}' is not a location source (gps, digitized or sketch)",
            text.trim()
        )),
    }
}

/// Community and facility codes the store knows, to warn about unknown ones,
/// and where each community is (to check the points of scoped writes).
/// `None` for a kind the store has no layer of (nothing to check against).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnownCodes {
    /// Codes of every communities layer.
    pub communities: Option<HashSet<String>>,
    /// Codes of every facilities layer.
    pub facilities: Option<HashSet<String>>,
    /// Location (lon, lat) of each community code (the first point seen).
    pub community_points: HashMap<String, (f64, f64)>,
}

impl KnownCodes {
    /// The codes of the store's communities and facilities layers.
    pub fn from_store(store: &dyn Store) -> Result<Self, StoreError> {
        let mut out = Self::default();
        for info in store.layers()? {
            let slot = match info.kind {
                LayerKind::Communities => &mut out.communities,
                LayerKind::Facilities => &mut out.facilities,
                _ => continue,
            };
            let layer = store.read_layer(&info.name)?;
            let set = slot.get_or_insert_with(HashSet::new);
            let Some(ci) = layer.field_index("code") else {
                continue;
            };
            for f in &layer.features {
                let code = match f.values.get(ci) {
                    Some(Value::Text(t)) => t.trim().to_owned(),
                    Some(Value::Int(i)) => i.to_string(),
                    _ => continue,
                };
                if info.kind == LayerKind::Communities
                    && let Geometry::Point(p) = &f.geometry
                {
                    out.community_points
                        .entry(code.clone())
                        .or_insert((p.x(), p.y()));
                }
                set.insert(code);
            }
        }
        Ok(out)
    }
}

/// Who writes household records, and where the write is logged.
#[derive(Clone, Copy)]
pub struct HouseholdWriter<'a> {
    /// The writer's rights (admin: full rights; cha and facility: their scope).
    pub access: &'a Access,
    /// Token id (or `cli:USER`) for the access log.
    pub who: Option<&'a str>,
    /// Endpoint or command for the access log.
    pub what: &'a str,
    /// Tokens, access log and the register of places (None: no log, no
    /// register; scoped writes are then refused, admin writes register nothing).
    pub tokens: Option<&'a dyn TokenStore>,
    /// How far from its community a scoped write may place a household, metres.
    pub max_distance_m: f64,
}

/// What a household write did.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdWritten {
    /// Records added.
    pub inserted: usize,
    /// Records updated.
    pub updated: usize,
    /// What each withdrawal deleted.
    pub deleted: Vec<Deleted>,
    /// Values filled in by the scope check.
    pub repaired: Vec<Repair>,
    /// Places newly registered (admin writes).
    pub new_places: usize,
    /// The store's data version after the write.
    pub version: u64,
}

impl HouseholdWritten {
    /// Records deleted in all.
    pub fn deleted_records(&self) -> usize {
        self.deleted.iter().map(|d| d.records.len()).sum()
    }
}

/// A household write that did not happen (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HouseholdWriteError {
    /// Rows outside the writer's scope.
    #[error("{} row(s) outside the writer's scope", .0.len())]
    OutOfScope(Vec<Refusal>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The token store (register of places, access log) failed.
    #[error("token store: {0}")]
    Tokens(#[from] AuthError),
}

/// Write household rows (and withdrawals) of `report` into layer
/// `layer_name` as `writer` may: scoped writers are checked against the
/// register of places and the communities' locations, rows are matched among
/// the records the writer may see, everything lands in one store transaction
/// ([`chaski_core::household::write`]). Admin writes register the places of
/// their rows. The write is then logged (writer, endpoint, records written
/// and deleted; never household data). Used by `chaski import` and
/// `POST /api/households`.
pub fn write_households(
    store: &dyn Store,
    writer: &HouseholdWriter<'_>,
    layer_name: &str,
    mut layer: Layer,
    report: &ImportReport,
    known: &KnownCodes,
) -> Result<HouseholdWritten, HouseholdWriteError> {
    let places = Places::new(match writer.tokens {
        Some(t) => t.places()?,
        None => Vec::new(),
    });
    let rules = WriteRules {
        places: &places,
        community_points: &known.community_points,
        max_distance_m: writer.max_distance_m,
    };
    let repaired = check_scope(
        writer.access,
        &mut layer,
        &report.feature_rows,
        &report.withdrawals,
        &rules,
    )
    .map_err(HouseholdWriteError::OutOfScope)?;
    let mut plan = None;
    // A scoped writer's transaction reads its own records only.
    let scope = match (writer.access.role, writer.access.scope.as_deref()) {
        (Role::Cha, Some(s)) => EditScope::FieldEquals {
            field: FIELD_CHA_SECTOR,
            value: s,
        },
        (Role::Facility, Some(f)) => EditScope::FieldEquals {
            field: FIELD_FACILITY,
            value: f,
        },
        _ => EditScope::All,
    };
    let summary = store.edit_layer(layer_name, LayerKind::Households, scope, &mut |stored| {
        let p = plan_edit(
            writer.access,
            stored,
            &layer,
            &report.feature_rows,
            &report.withdrawals,
        );
        let edit = p.edit.clone();
        plan = Some(p);
        Some(edit)
    })?;
    let plan = plan.unwrap_or_default();
    let version = match summary {
        Some(s) => s.version,
        None => store.version()?,
    };
    let mut new_places = 0;
    if writer.access.role == Role::Admin
        && let Some(tokens) = writer.tokens
    {
        new_places = tokens.add_places(&places.missing_from(&layer))?;
    }
    let done = HouseholdWritten {
        inserted: plan.inserted,
        updated: plan.updated,
        repaired,
        new_places,
        version,
        deleted: plan.deleted,
    };
    if let Some(tokens) = writer.tokens {
        let detail = format!(
            "inserted {}, updated {}, deleted {}",
            done.inserted,
            done.updated,
            done.deleted_records()
        );
        tokens.log(&AccessRecord {
            who: writer.who,
            what: writer.what,
            count: (done.inserted + done.updated + done.deleted_records()) as u64,
            status: 200,
            detail: Some(&detail),
        })?;
    }
    Ok(done)
}

/// Row-level outcome of the household checks that follow typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RowCheck {
    /// Keep the row, with these warnings (field, reason).
    Keep(Vec<(String, String)>),
    /// Reject the row (field, reason).
    Reject(String, String),
}

/// Household checks and derived values on one typed row (after the code check).
pub(crate) fn finish_row(
    layer: &Layer,
    values: &mut [Value],
    known: Option<&KnownCodes>,
    seen_uuids: &mut HashMap<String, usize>,
    row: usize,
) -> RowCheck {
    let idx = |name: &str| layer.field_index(name);
    let get = |values: &[Value], name: &str| -> Value {
        idx(name)
            .and_then(|i| values.get(i).cloned())
            .unwrap_or(Value::Null)
    };
    match get(values, "consent") {
        Value::Bool(true) => {}
        Value::Bool(false) => {
            return RowCheck::Reject(
                "consent".to_owned(),
                "the family did not consent (consent = no): not stored".to_owned(),
            );
        }
        _ => {
            return RowCheck::Reject(
                "consent".to_owned(),
                "missing consent: household data are stored only with the family's consent"
                    .to_owned(),
            );
        }
    }
    let mut warnings = Vec::new();
    let accuracy = get(values, "gps_accuracy").as_f64();
    if let Some(i) = idx("low_accuracy") {
        values[i] = accuracy.map_or(Value::Null, |a| Value::Bool(a > MAX_ACCURACY_M));
    }
    if let Some(a) = accuracy.filter(|a| *a > MAX_ACCURACY_M) {
        warnings.push((
            "gps_accuracy".to_owned(),
            format!("GPS accuracy {a} m is over {MAX_ACCURACY_M} m; kept and flagged low_accuracy"),
        ));
    }
    if let Some(i) = idx("location_source")
        && values[i].is_null()
        && accuracy.is_some()
    {
        values[i] = Value::Text("gps".to_owned());
    }
    if let Some(i) = idx("risk_level")
        && values[i].is_null()
    {
        values[i] = Value::Text(
            derive_risk_level(layer, values, Violence::Known)
                .as_str()
                .to_owned(),
        );
    }
    if let Some(known) = known {
        for (field, set, what) in [
            ("community", &known.communities, "community"),
            ("facility", &known.facilities, "facility"),
        ] {
            if let (Some(set), Value::Text(code)) = (set, get(values, field))
                && !set.contains(code.trim())
            {
                warnings.push((
                    field.to_owned(),
                    format!("unknown {what} code '{code}' (not in the store's {what} layers)"),
                ));
            }
        }
    }
    if let Value::Text(u) = get(values, "submission_uuid")
        && let Some(first) = seen_uuids.insert(u.clone(), row)
    {
        seen_uuids.insert(u.clone(), first);
        warnings.push((
            "submission_uuid".to_owned(),
            format!("submission '{u}' already appears in row {first}; the later row wins"),
        ));
    }
    RowCheck::Keep(warnings)
}

fn json_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| n.as_f64().map(Value::Real))
            .unwrap_or(Value::Null),
        serde_json::Value::String(s) if s.trim().is_empty() => Value::Null,
        serde_json::Value::String(s) => Value::Text(s.trim().to_owned()),
        other => Value::Text(other.to_string()),
    }
}

fn json_type(v: &serde_json::Value) -> Option<FieldType> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::Bool(_) => Some(FieldType::Bool),
        serde_json::Value::Number(n) if n.is_i64() => Some(FieldType::Int),
        serde_json::Value::Number(_) => Some(FieldType::Real),
        _ => Some(FieldType::Text),
    }
}

/// Names of WGS 84 longitude/latitude in a GeoJSON `crs` member.
const WGS84_NAMES: [&str; 5] = [
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
];

/// A GeoJSON `crs` member (GeoJSON 2008; RFC 7946 dropped it) must name WGS 84
/// longitude/latitude: coordinates are read as degrees, so any other CRS
/// (a UTM zone) refuses the file rather than misplace every household.
fn check_crs_member(crs: &serde_json::Value) -> Result<(), String> {
    let name = crs
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(serde_json::Value::as_str);
    match name {
        Some(n) if WGS84_NAMES.contains(&n.trim().to_ascii_lowercase().as_str()) => Ok(()),
        Some(n) => Err(format!(
            "member 'crs' names '{n}': coordinates must be WGS 84 longitude/latitude \
             (RFC 7946); reproject the file or leave the member out"
        )),
        None => Err(format!(
            "member 'crs' is {crs}, not a named CRS: coordinates must be WGS 84 \
             longitude/latitude (RFC 7946); leave the member out"
        )),
    }
}

/// Read GeoJSON text (a FeatureCollection, a Feature or a bare Point) of
/// household points into a source table; features are numbered from 1.
/// Geometry problems are kept per feature.
pub fn read_geojson_str(text: &str, path: &Path) -> Result<SourceTable, HouseholdError> {
    let gj: geojson::GeoJson =
        text.parse()
            .map_err(|e: geojson::Error| HouseholdError::GeoJson {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
    let crs = match &gj {
        geojson::GeoJson::FeatureCollection(fc) => fc.foreign_members.as_ref(),
        geojson::GeoJson::Feature(f) => f.foreign_members.as_ref(),
        geojson::GeoJson::Geometry(g) => g.foreign_members.as_ref(),
    }
    .and_then(|m| m.get("crs"));
    if let Some(crs) = crs.filter(|c| !c.is_null()) {
        check_crs_member(crs).map_err(|reason| HouseholdError::Crs {
            path: path.to_owned(),
            reason,
        })?;
    }
    let features: Vec<geojson::Feature> = match gj {
        geojson::GeoJson::FeatureCollection(fc) => fc.features,
        geojson::GeoJson::Feature(f) => vec![f],
        geojson::GeoJson::Geometry(g) => vec![geojson::Feature::from(g)],
    };
    // Columns: every property name in first-seen order; type from the values
    // (mixed types fall back to text).
    let mut columns: Vec<SourceColumn> = Vec::new();
    let mut types: Vec<Option<FieldType>> = Vec::new();
    for f in &features {
        for (k, v) in f.properties.iter().flatten() {
            let i = columns
                .iter()
                .position(|c| c.name == *k)
                .unwrap_or_else(|| {
                    columns.push(SourceColumn::new(k.clone(), FieldType::Text));
                    types.push(None);
                    columns.len() - 1
                });
            types[i] = match (types[i], json_type(v)) {
                (t, None) | (None, t) => t,
                (Some(FieldType::Real), Some(FieldType::Int))
                | (Some(FieldType::Int), Some(FieldType::Real)) => Some(FieldType::Real),
                (Some(a), Some(b)) if a == b => Some(a),
                _ => Some(FieldType::Text),
            };
        }
    }
    for (c, t) in columns.iter_mut().zip(&types) {
        c.ty = t.unwrap_or(FieldType::Text);
    }
    let records = features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let values = columns
                .iter()
                .map(|c| {
                    let v = f
                        .properties
                        .as_ref()
                        .and_then(|p| p.get(&c.name))
                        .map_or(Value::Null, json_value);
                    match (c.ty, v) {
                        (FieldType::Real, Value::Int(n)) => Value::Real(n as f64),
                        (FieldType::Text, Value::Int(n)) => Value::Text(n.to_string()),
                        (FieldType::Text, Value::Real(x)) => Value::Text(x.to_string()),
                        (FieldType::Text, Value::Bool(b)) => Value::Text(b.to_string()),
                        (_, v) => v,
                    }
                })
                .collect();
            let geometry = match f.geometry.as_ref().map(|g| &g.value) {
                Some(geojson::GeometryValue::Point { coordinates }) => {
                    let c = coordinates.as_slice();
                    match (c.first(), c.get(1)) {
                        (Some(&x), Some(&y)) => Ok(Geometry::Point(Point::new(x, y))),
                        _ => Err(GeomError::new(
                            "geometry",
                            "a point needs longitude and latitude",
                        )),
                    }
                }
                Some(geojson::GeometryValue::MultiPoint { coordinates })
                    if coordinates.len() == 1 =>
                {
                    let c = coordinates[0].as_slice();
                    match (c.first(), c.get(1)) {
                        (Some(&x), Some(&y)) => Ok(Geometry::Point(Point::new(x, y))),
                        _ => Err(GeomError::new(
                            "geometry",
                            "a point needs longitude and latitude",
                        )),
                    }
                }
                Some(_) => Err(GeomError::new("geometry", "expected a point")),
                None => Err(GeomError::new("geometry", "missing geometry")),
            };
            SourceRecord {
                row: i + 1,
                geometry,
                values,
            }
        })
        .collect();
    Ok(SourceTable {
        columns,
        records,
        problems: Vec::new(),
        crs: None,
        row_label: "feature",
        notes: Vec::new(),
        infer_types: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crs_member_other_than_wgs84_refuses_the_geojson() {
        let read = |crs: &str| {
            let text = format!(
                r#"{{"type":"FeatureCollection","crs":{crs},"features":[{{"type":"Feature",
                "geometry":{{"type":"Point","coordinates":[-74.2,-13.1]}},"properties":{{}}}}]}}"#
            );
            read_geojson_str(&text, Path::new("h.geojson")).map(|t| t.records.len())
        };
        let named = |n: &str| format!(r#"{{"type":"name","properties":{{"name":"{n}"}}}}"#);
        for ok in [
            named("urn:ogc:def:crs:OGC:1.3:CRS84"),
            named("EPSG:4326"),
            named("urn:ogc:def:crs:EPSG::4326"),
            "null".to_owned(),
        ] {
            assert_eq!(read(&ok).unwrap(), 1, "{ok}");
        }
        let e = read(&named("EPSG:32718")).unwrap_err().to_string();
        assert_eq!(
            e,
            "h.geojson: member 'crs' names 'EPSG:32718': coordinates must be WGS 84 \
             longitude/latitude (RFC 7946); reproject the file or leave the member out"
        );
        let e = read(r#"{"type":"link"}"#).unwrap_err().to_string();
        assert!(e.contains("not a named CRS"), "{e}");
    }

    #[test]
    fn odk_and_kobo_columns_match_core_fields() {
        let m = |h: &str| match_column(h).map(|c| c.name);
        assert_eq!(m("hogar-gestantes"), Some("pregnant"));
        assert_eq!(m("hogar/menores_5"), Some("under5"));
        assert_eq!(m("ubicacion-gps-Accuracy"), Some("gps_accuracy"));
        assert_eq!(m("ubicacion-gps-Altitude"), Some("altitude"));
        assert_eq!(m("_gps_precision"), Some("gps_accuracy"));
        assert_eq!(m("_gps_altitude"), Some("altitude"));
        assert_eq!(m("meta-instanceID"), Some("submission_uuid"));
        assert_eq!(m("_uuid"), Some("submission_uuid"));
        assert_eq!(m("KEY"), Some("submission_uuid"));
        assert_eq!(m("SubmissionDate"), None);
        assert_eq!(m("consentimiento/acepta"), Some("consent"));
        let plan = plan_columns(&[
            ("today".to_owned(), false),
            ("KEY".to_owned(), false),
            ("datos-fecha_visita".to_owned(), false),
            ("meta-instanceID".to_owned(), false),
            ("SubmitterName".to_owned(), false),
            ("fecha".to_owned(), false),
            ("FECHA_X".to_owned(), true),
        ]);
        let names: Vec<&str> = plan
            .iter()
            .map(|u| match u {
                ColumnUse::Core(c) => c.name,
                ColumnUse::Skip => "-",
                ColumnUse::Extra => "+",
            })
            .collect();
        // FECHA_X is renamed to nothing the schema knows: an extra field.
        assert_eq!(
            names,
            ["+", "-", "visit_date", "submission_uuid", "-", "+", "+"]
        );
        let headers = vec!["gps".to_owned(), "_gps_latitude".to_owned()];
        assert!(is_dropped_column("gps", &headers));
        assert!(is_dropped_column("SubmitterName", &headers));
        assert!(is_dropped_column("_submitted_by", &headers));
        assert!(!is_dropped_column("hogar-gestantes", &headers));
    }

    #[test]
    fn uuid_prefix_and_location_sources() {
        assert_eq!(normalize_uuid(" uuid:ABC-1 "), "ABC-1");
        assert_eq!(normalize_uuid("abc"), "abc");
        assert_eq!(parse_location_source("Croquis"), Ok("sketch"));
        assert_eq!(parse_location_source("GPS"), Ok("gps"));
        assert!(parse_location_source("drone").is_err());
    }
}
