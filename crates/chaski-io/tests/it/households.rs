//! Household imports from ODK Central and KoBoToolbox exports (synthetic
//! households written in those tools' CSV layouts, see `tests/fixtures`):
//! typed values, per-row problems with exact messages, and upserts on the
//! submission id. Expected values are read off the fixture rows by hand.

use chaski_core::layer::{Layer, LayerKind};
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value;
use chaski_io::households::KnownCodes;
use chaski_io::import::{Action, ImportOptions, ImportReport, Imported, import_file};
use chaski_io::store::gpkg::GpkgStore;
use geo::Geometry;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn options() -> ImportOptions {
    let mut o = ImportOptions::new("households");
    o.kind = Some(LayerKind::Households);
    let set = |v: &[&str]| Some(v.iter().map(|s| (*s).to_owned()).collect::<HashSet<_>>());
    o.known_codes = Some(std::sync::Arc::new(KnownCodes {
        communities: set(&["SYN-CP01", "SYN-CP02"]),
        facilities: set(&["SYN-00001", "SYN-00002"]),
        ..KnownCodes::default()
    }));
    o
}

fn import(path: &Path) -> (Layer, ImportReport) {
    match import_file(path, &options()).unwrap() {
        Imported::Layer(l, r) => (l, r),
        Imported::Raster(_) => panic!("not a raster"),
    }
}

fn issues(r: &ImportReport) -> Vec<(usize, String, String, Action)> {
    r.issues
        .iter()
        .map(|i| {
            (
                i.row,
                i.field.clone().unwrap_or_default(),
                i.reason.clone(),
                i.action,
            )
        })
        .collect()
}

fn row<'a>(l: &'a Layer, code: &str) -> &'a chaski_core::layer::Feature {
    l.features
        .iter()
        .find(|f| l.value(f, "code") == &Value::Text(code.into()))
        .unwrap_or_else(|| panic!("no household {code}"))
}

fn xy(f: &chaski_core::layer::Feature) -> (f64, f64) {
    match f.geometry {
        Geometry::Point(p) => (p.x(), p.y()),
        _ => panic!("not a point"),
    }
}

fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn extras(l: &Layer) -> Vec<&str> {
    let core = chaski_core::schema::core_fields(LayerKind::Households).len();
    l.fields[core..].iter().map(|f| f.name.as_str()).collect()
}

const CONSENT: &str = "household data are stored only with the family's consent";

#[test]
fn odk_central_export() {
    let (l, r) = import(&fixture("odk_central_hogares.csv"));
    assert_eq!((r.read, r.imported, r.rejected), (8, 3, 4));
    assert_eq!(r.feature_rows, [2, 3, 8]);
    // Row 6 (consent = no) is a withdrawal: its code, to delete the family's records.
    assert_eq!(r.withdrawals.len(), 1);
    assert_eq!(
        (r.withdrawals[0].row, r.withdrawals[0].code.as_str()),
        (6, "SYN-H005")
    );
    assert_eq!(r.withdrawn, 1);
    // Submitter names, device ids, review state, the submission date... are not
    // kept; KEY duplicates meta-instanceID; the form's fecha_visita beats the
    // automatic `today`, which is outside the schema: dropped, with a note.
    assert!(extras(&l).is_empty(), "{:?}", extras(&l));
    assert_eq!(r.dropped_columns, ["today"]);
    assert!(
        r.notes.iter().any(|n| n.contains("not stored: today")),
        "{:?}",
        r.notes
    );
    use Action::{Rejected, Warning};
    let s = |x: &str| x.to_owned();
    assert_eq!(
        issues(&r),
        [
            (
                3,
                s("gps_accuracy"),
                s("GPS accuracy 32.5 m is over 25 m; kept and flagged low_accuracy"),
                Warning
            ),
            (
                4,
                s("longitude"),
                s(
                    "latitude and longitude look swapped: lon -13.160002, lat -74.22511 is outside Peru \
                   but lon -74.22511, lat -13.160002 is inside (import with --fix-swapped to exchange them)"
                ),
                Rejected
            ),
            (
                5,
                s("longitude"),
                s("coordinates are 0,0 (a missing GPS fix)"),
                Rejected
            ),
            (7, s("code"), s("missing household code"), Rejected),
            (
                8,
                s("community"),
                s("unknown community code 'SYN-CP99' (not in the store's community layers)"),
                Warning
            ),
            (
                9,
                s("longitude"),
                s("outside Peru (lon -74.08175, lat 4.60971)"),
                Rejected
            ),
        ]
    );

    let h1 = row(&l, "SYN-H001");
    assert_eq!(xy(h1), (-74.223957, -13.158421));
    let expect: [(&str, Value); 23] = [
        ("community", t("SYN-CP01")),
        ("facility", t("SYN-00001")),
        ("cha_sector", t("SYN-CP01-S1")),
        ("cha", t("SYN-ACS01")),
        ("visit_date", t("2026-03-02")),
        ("members", Value::Int(5)),
        ("pregnant", Value::Int(1)),
        ("under2", Value::Int(0)),
        ("under5", Value::Int(1)),
        ("anaemia", Value::Bool(true)),
        ("malnutrition", Value::Bool(false)),
        ("danger_signs", Value::Bool(false)),
        ("safe_water", Value::Bool(false)),
        ("sanitation", Value::Bool(false)),
        ("violence_risk", Value::Bool(false)),
        // pregnant woman in a household with anaemia
        ("risk_level", t("alto")),
        ("altitude", Value::Real(2761.4)),
        ("gps_accuracy", Value::Real(4.8)),
        ("location_source", t("gps")),
        ("visit_round", Value::Int(1)),
        ("submission_uuid", t("6a1f4c2e-0b7d-4e55-9a01-3c2d8e9f0a11")),
        ("water_source", t("rio")),
        ("consent_date", t("2026-03-02")),
    ];
    for (field, v) in &expect {
        assert_eq!(l.value(h1, field), v, "SYN-H001 {field}");
    }
    assert_eq!(l.value(h1, "consent"), &Value::Bool(true));
    assert_eq!(l.value(h1, "low_accuracy"), &Value::Bool(false));

    let h2 = row(&l, "SYN-H002");
    assert_eq!(l.value(h2, "low_accuracy"), &Value::Bool(true));
    assert_eq!(l.value(h2, "gps_accuracy"), &Value::Real(32.5));
    assert_eq!(l.value(h2, "anaemia"), &Value::Null); // no_sabe
    assert_eq!(l.value(h2, "malnutrition"), &Value::Null);
    assert_eq!(l.value(h2, "location_source"), &t("gps")); // empty, has a GPS accuracy
    assert_eq!(l.value(h2, "risk_level"), &t("bajo"));

    let h7 = row(&l, "SYN-H007");
    assert_eq!(xy(h7), (-74.203005, -13.17254));
    assert_eq!(l.value(h7, "location_source"), &t("sketch")); // croquis
    assert_eq!(l.value(h7, "visit_round"), &Value::Int(2));
    assert_eq!(l.value(h7, "violence_risk"), &Value::Bool(true));
    assert_eq!(l.value(h7, "risk_level"), &t("alto"));
    assert_eq!(l.value(h7, "consent_date"), &t("2026-01-20"));
    assert_eq!(l.value(h7, "visit_date"), &t("2026-03-04"));
    assert_eq!(l.field_index("today"), None);
}

#[test]
fn kobo_export_semicolons() {
    let (l, r) = import(&fixture("kobo_hogares.csv"));
    assert_eq!((r.read, r.imported, r.rejected), (6, 4, 2));
    // the raw geopoint column, _id, _uuid (same as meta/instanceID), _submitted_by,
    // _submission_time... are dropped
    assert!(extras(&l).is_empty(), "{:?}", extras(&l));
    assert!(r.dropped_columns.is_empty(), "{:?}", r.dropped_columns);
    use Action::{Rejected, Warning};
    let s = |x: &str| x.to_owned();
    assert_eq!(
        issues(&r),
        [
            (
                4,
                s("consent"),
                format!("missing consent: {CONSENT}"),
                Rejected
            ),
            (
                5,
                s("consentimiento/acepta"),
                format!(
                    "'quizas' is not yes/no (si, no, yes, 1, 0, true, false or unknown): {CONSENT}"
                ),
                Rejected
            ),
            (
                6,
                s("gps_accuracy"),
                s("GPS accuracy 40 m is over 25 m; kept and flagged low_accuracy"),
                Warning
            ),
            (
                7,
                s("facility"),
                s("unknown facility code 'SYN-09999' (not in the store's facility layers)"),
                Warning
            ),
        ]
    );
    let k1 = row(&l, "KH-01");
    assert_eq!(xy(k1), (-74.21988, -13.15512));
    for (field, v) in [
        ("community", t("SYN-CP01")),
        ("facility", t("SYN-00001")),
        ("cha_sector", t("SYN-CP01-S2")),
        ("cha", t("SYN-ACS03")),
        ("visit_date", t("2026-04-10")),
        ("members", Value::Int(4)),
        ("pregnant", Value::Int(1)),
        ("under2", Value::Int(1)),
        ("under5", Value::Int(1)),
        ("anaemia", Value::Bool(true)),
        ("malnutrition", Value::Bool(false)),
        ("danger_signs", Value::Bool(true)),
        ("safe_water", Value::Bool(true)),
        ("water_source", t("pileta")),
        ("sanitation", Value::Bool(true)),
        ("violence_risk", Value::Bool(false)),
        ("risk_level", t("alto")),
        ("altitude", Value::Real(2770.2)),
        ("gps_accuracy", Value::Real(3.5)),
        ("low_accuracy", Value::Bool(false)),
        ("location_source", t("gps")),
        ("visit_round", Value::Int(1)),
        ("submission_uuid", t("c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e01")),
        ("consent", Value::Bool(true)),
        ("consent_date", t("2026-04-10")),
    ] {
        assert_eq!(l.value(k1, field), &v, "KH-01 {field}");
    }
    // KH-02: consent "sí"; anaemia unknown; a child under 5 without safe water → medio
    let k2 = row(&l, "KH-02");
    assert_eq!(l.value(k2, "consent"), &Value::Bool(true));
    assert_eq!(l.value(k2, "anaemia"), &Value::Null);
    assert_eq!(l.value(k2, "risk_level"), &t("medio"));
    assert_eq!(l.value(k2, "gps_accuracy"), &Value::Real(8.0));
    // KH-05: a pregnancy → medio; 40 m accuracy kept and flagged
    let k5 = row(&l, "KH-05");
    assert_eq!(l.value(k5, "risk_level"), &t("medio"));
    assert_eq!(l.value(k5, "low_accuracy"), &Value::Bool(true));
    assert_eq!(l.value(k5, "visit_round"), &Value::Int(2));
    assert_eq!(l.value(row(&l, "KH-06"), "risk_level"), &t("bajo"));
}

#[test]
fn raw_geopoint_column() {
    let (l, r) = import(&fixture("geopoint_hogares.csv"));
    assert_eq!((r.imported, r.rejected), (2, 0), "{:?}", r.issues);
    let g1 = row(&l, "GP-1");
    assert_eq!(xy(g1), (-74.224, -13.158));
    assert_eq!(l.value(g1, "altitude"), &Value::Real(2760.0));
    assert_eq!(l.value(g1, "gps_accuracy"), &Value::Real(4.5));
    assert_eq!(l.value(g1, "location_source"), &t("gps"));
    assert_eq!(l.value(g1, "risk_level"), &t("medio"));
    let g2 = row(&l, "GP-2");
    assert_eq!(l.value(g2, "altitude"), &Value::Null);
    assert_eq!(l.value(g2, "location_source"), &Value::Null);
    assert_eq!(l.value(g2, "low_accuracy"), &Value::Null);
    assert_eq!(l.value(g2, "risk_level"), &t("bajo"));
    assert!(extras(&l).is_empty(), "{:?}", extras(&l));
}

#[test]
fn geojson_body_is_read_as_households() {
    let text = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","geometry":{"type":"Point","coordinates":[-74.2,-13.1,2750]},
       "properties":{"code":"GJ-1","consent":true,"members":3,"pregnant":1,"anaemia":"si",
                     "gps_accuracy":4,"submission_uuid":"uuid:abc"}},
      {"type":"Feature","geometry":{"type":"LineString","coordinates":[[-74.2,-13.1],[-74.1,-13.0]]},
       "properties":{"code":"GJ-2","consent":true}}]}"#;
    let table = chaski_io::households::read_geojson_str(text, Path::new("upload.geojson")).unwrap();
    let (l, r) =
        chaski_io::import::build_layer(table, Path::new("upload.geojson"), &options()).unwrap();
    assert_eq!(l.len(), 1);
    let f = row(&l, "GJ-1");
    assert_eq!(l.value(f, "gps_accuracy"), &Value::Real(4.0));
    assert_eq!(l.value(f, "submission_uuid"), &t("abc"));
    assert_eq!(l.value(f, "risk_level"), &t("alto"));
    assert_eq!(
        issues(&r),
        [(
            2,
            "geometry".to_owned(),
            "expected a point".to_owned(),
            Action::Rejected
        )]
    );
}

/// Re-importing the same export updates in place; a corrected export updates values.
#[test]
fn reupload_updates_instead_of_duplicating() {
    let dir = tempfile::tempdir().unwrap();
    let store = GpkgStore::open(dir.path().join("s.gpkg")).unwrap();
    let (l, _) = import(&fixture("odk_central_hogares.csv"));
    let w = store.write_layer(&l, WriteMode::Upsert).unwrap();
    assert_eq!((w.inserted, w.updated), (3, 0));
    let w = store.write_layer(&l, WriteMode::Upsert).unwrap();
    assert_eq!((w.inserted, w.updated), (0, 3));
    assert_eq!(store.layer_info("households").unwrap().feature_count, 3);
    // The same submission, corrected: 6 members instead of 5.
    let text = std::fs::read_to_string(fixture("odk_central_hogares.csv")).unwrap();
    let fixed = text.replace("gps,5,1,0,1,si,no,no,no,rio", "gps,6,1,0,1,si,no,no,no,rio");
    assert_ne!(fixed, text);
    let path = dir.path().join("fixed.csv");
    std::fs::write(&path, fixed).unwrap();
    let (l2, _) = import(&path);
    let w = store.write_layer(&l2, WriteMode::Upsert).unwrap();
    assert_eq!((w.inserted, w.updated), (0, 3));
    let back = store.read_layer("households").unwrap();
    assert_eq!(back.len(), 3);
    assert_eq!(
        back.value(row(&back, "SYN-H001"), "members"),
        &Value::Int(6)
    );
    assert_eq!(
        back.value(row(&back, "SYN-H002"), "members"),
        &Value::Int(3)
    );
}

/// GeoJSON and GeoPackage files (read through GDAL) import like the CSV exports:
/// the ODK layer written to a GeoPackage and to GeoJSON reads back with the
/// same records.
#[test]
fn geopackage_and_geojson_files() {
    let dir = tempfile::tempdir().unwrap();
    let (l, _) = import(&fixture("odk_central_hogares.csv"));
    let gpkg = dir.path().join("hogares.gpkg");
    GpkgStore::open(&gpkg)
        .unwrap()
        .write_layer(&l, WriteMode::Replace)
        .unwrap();
    let mut o = options();
    o.source_layer = Some("households".to_owned());
    let Imported::Layer(back, r) = import_file(&gpkg, &o).unwrap() else {
        panic!("not a layer")
    };
    assert_eq!((r.imported, r.rejected), (3, 0), "{:?}", r.issues);
    assert_eq!(back.features.len(), l.features.len());
    for (a, b) in l.features.iter().zip(&back.features) {
        assert_eq!(xy(a), xy(b));
        for f in chaski_core::schema::core_fields(LayerKind::Households) {
            assert_eq!(l.value(a, f.name), back.value(b, f.name), "{}", f.name);
        }
    }

    let mut features = Vec::new();
    for f in &l.features {
        let (x, y) = xy(f);
        let mut props = serde_json::Map::new();
        for (field, v) in l.fields.iter().zip(&f.values) {
            props.insert(field.name.clone(), serde_json::to_value(v).unwrap());
        }
        features.push(serde_json::json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": props,
        }));
    }
    let path = dir.path().join("hogares.geojson");
    let fc = serde_json::json!({"type": "FeatureCollection", "features": features});
    std::fs::write(&path, fc.to_string()).unwrap();
    let (back, r) = import(&path);
    assert_eq!((r.imported, r.rejected), (3, 0), "{:?}", r.issues);
    for (a, b) in l.features.iter().zip(&back.features) {
        assert_eq!(xy(a), xy(b));
        for f in chaski_core::schema::core_fields(LayerKind::Households) {
            assert_eq!(l.value(a, f.name), back.value(b, f.name), "{}", f.name);
        }
    }
}

/// KoBo's comma-delimited export reads like its default `;` export.
#[test]
fn kobo_comma_export_matches_semicolon_export() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("kobo_hogares.csv")).unwrap();
    assert!(!text.contains(','));
    let path = dir.path().join("kobo_comma.csv");
    std::fs::write(&path, text.replace(';', ",")).unwrap();
    let (a, ra) = import(&fixture("kobo_hogares.csv"));
    let (b, rb) = import(&path);
    assert_eq!(a, b);
    assert_eq!(issues(&ra), issues(&rb));
}

/// A mapping file overrides the automatic choice: `today` named as the visit
/// date wins over the form's `fecha_visita`, which an admin keeps as an extra
/// field (`keep`; else it would be dropped).
#[test]
fn mapping_file_overrides_detection() {
    let mut o = options();
    o.mapping = Some(
        chaski_io::mapping::Mapping::parse(
            "[fields]\ntoday = \"visit_date\"\n[options]\ndrop = [\"SubmissionDate\"]\n\
             keep = [\"datos-fecha_visita\"]\n",
            Path::new("m.toml"),
        )
        .unwrap(),
    );
    let Imported::Layer(l, _) = import_file(&fixture("odk_central_hogares.csv"), &o).unwrap()
    else {
        panic!("not a layer")
    };
    let h7 = row(&l, "SYN-H007");
    assert_eq!(l.value(h7, "visit_date"), &t("2026-03-05"));
    assert_eq!(l.value(h7, "datos_fecha_visita"), &t("2026-03-04"));
    assert_eq!(extras(&l), ["datos_fecha_visita"]);
}

/// Columns that look like personal identifiers are refused, even renamed by a
/// mapping file, unless the admin's mapping allows each by name; dropping them
/// imports the rest.
#[test]
fn personal_identifiers_are_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hogares.csv");
    std::fs::write(
        &path,
        "code,cha_sector,community,facility,lat,lon,consent,nombre_jefe_hogar,DNI,celular,hogar/direccion\n\
         H-1,SYN-CP01-S1,SYN-CP01,SYN-00001,-13.1584,-74.2239,si,Rosa Huaman,41234567,987654321,Jr. Lima 123\n",
    )
    .unwrap();
    let run = |mapping: &str| {
        let mut o = options();
        o.mapping = Some(chaski_io::mapping::Mapping::parse(mapping, Path::new("m.toml")).unwrap());
        import_file(&path, &o)
    };
    let e = run("").unwrap_err().to_string();
    for (col, what) in [
        ("nombre_jefe_hogar", "a person's name"),
        ("DNI", "an identity document number"),
        ("celular", "a phone number"),
        ("hogar/direccion", "an address"),
    ] {
        assert!(e.contains(&format!("'{col}' ({what})")), "{e}");
    }
    assert!(e.contains("hogares.csv") && !e.contains("Rosa"), "{e}");
    // Renaming a name column to a schema field does not launder it.
    let e = run("[fields]\nnombre_jefe_hogar = \"cha\"\n[options]\ndrop = [\"DNI\", \"celular\", \"hogar/direccion\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'nombre_jefe_hogar'") && !e.contains("DNI"),
        "{e}"
    );
    // Dropped: imported without them.
    let Imported::Layer(l, r) = run(
        "[options]\ndrop = [\"nombre_jefe_hogar\", \"DNI\", \"celular\", \"hogar/direccion\"]\n",
    )
    .unwrap() else {
        panic!("not a layer")
    };
    assert_eq!(r.imported, 1);
    assert!(extras(&l).is_empty());
    // Allowed by name (an admin's decision): kept as extra fields.
    let Imported::Layer(l, _) = run(
        "[options]\nallow_personal = [\"celular\"]\ndrop = [\"nombre_jefe_hogar\", \"DNI\", \"hogar/direccion\"]\n",
    )
    .unwrap() else {
        panic!("not a layer")
    };
    assert_eq!(extras(&l), ["celular"]);
    // The detector spares every column the household schema knows.
    for c in chaski_core::schema::core_fields(LayerKind::Households) {
        for name in std::iter::once(c.name).chain(c.aliases.iter().copied()) {
            assert_eq!(
                chaski_io::households::personal_identifier(name),
                None,
                "{name}"
            );
        }
    }
}
