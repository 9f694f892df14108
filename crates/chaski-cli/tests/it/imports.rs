//! `chaski import` of real Peruvian tables: INEI and MINSA column names,
//! warnings for what would otherwise be lost silently, `--join` of census
//! tables by code, `--append` of stored codes, encodings, rasters without a CRS.

use crate::common::{chaski, peru, text};
use chaski_core::layer::Layer;
use chaski_core::store::Store as _;
use chaski_core::value::Value;
use std::path::Path;

fn layer(store: &Path, name: &str) -> Layer {
    chaski_io::store::gpkg::GpkgStore::open(store)
        .unwrap()
        .read_layer(name)
        .unwrap()
}

/// How many features have a value in `field`.
fn filled(l: &Layer, field: &str) -> usize {
    let i = l.field_index(field).unwrap();
    l.features.iter().filter(|f| !f.values[i].is_null()).count()
}

fn by_code<'a>(l: &'a Layer, code: &str) -> &'a chaski_core::layer::Feature {
    l.features
        .iter()
        .find(|f| l.value(f, "code") == &Value::Text(code.into()))
        .unwrap_or_else(|| panic!("no feature {code}"))
}

/// Text as Windows-1252 bytes (what Excel writes on Spanish Windows): Latin-1
/// characters as their byte, the en dash as 0x96.
fn windows_1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '–' => 0x96,
            c => u8::try_from(u32::from(c)).expect("a Latin-1 character"),
        })
        .collect()
}

#[test]
fn inei_huanuco_villages_get_names_codes_and_population() {
    let Some(huanuco) = peru("villages/ccpp_huanuco_population.gpkg") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let out = chaski(
        &store,
        &[
            "import",
            huanuco.to_str().unwrap(),
            "--layer",
            "communities",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("2400 features read, 2400 imported"),
        "{stdout}"
    );
    // Every column family recognised: nothing left empty, nothing to warn about.
    assert!(stdout.contains("0 warnings"), "{stdout}\n{stderr}");
    let l = layer(&store, "communities");
    for field in ["code", "name", "population", "households", "district"] {
        assert_eq!(filled(&l, field), 2400, "{field}");
    }
    // IDCCPP02 (the 10-digit code), not CODCCPP02 (its last 4 digits).
    let f = by_code(&l, "1001050067");
    assert_eq!(l.value(f, "name"), &Value::Text("RACCHAPAMPA".into()));
    assert_eq!(l.value(f, "population"), &Value::Int(227));
    assert_eq!(l.value(f, "households"), &Value::Int(45));
    assert_eq!(l.value(f, "district"), &Value::Text("MARGOS".into()));
    assert_eq!(l.value(f, "codccpp02"), &Value::Text("0067".into()));
}

#[test]
fn minsa_registry_headers_in_latin1_are_recognised() {
    let Some(csv) = peru("health/ipress_minsa.csv") else {
        return;
    };
    // The cleaned copy with the raw registry's column names, saved by Excel in Latin-1.
    let body = std::fs::read_to_string(&csv).unwrap();
    let (header, rows) = body.split_once('\n').unwrap();
    assert_eq!(
        header.trim_end(),
        "codigo,nombre,ubigeo,institucion,clasificacion,categoria,lat,lon"
    );
    let raw = format!(
        "Código Único,Nombre del establecimiento,UBIGEO,Institución,Clasificación,Categoría,\
         lat,lon\n{rows}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("RENIPRESS.csv");
    std::fs::write(&file, windows_1252(&raw)).unwrap();
    let store = dir.path().join("s.gpkg");
    let out = chaski(
        &store,
        &["import", file.to_str().unwrap(), "--layer", "facilities"],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("7951 rows read, 7951 imported"), "{stdout}");
    assert!(stdout.contains("0 warnings"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "RENIPRESS.csv: note: 351 lines are (first: line 1) not UTF-8: read as Windows-1252"
        ),
        "{stderr}"
    );
    let l = layer(&store, "facilities");
    // Every facility keeps its code, name, ubigeo and institution; the 154 listed
    // "Sin Categoría" have no category yet.
    for (field, n) in [
        ("code", 7951),
        ("name", 7951),
        ("ubigeo", 7951),
        ("institution", 7951),
        ("category", 7797),
    ] {
        assert_eq!(filled(&l, field), n, "{field}");
    }
    let ambato = by_code(&l, "7050");
    assert_eq!(l.value(ambato, "name"), &Value::Text("AMBATO".into()));
    assert_eq!(l.value(ambato, "category"), &Value::Text("I-1".into()));
    assert_eq!(l.fields.last().unwrap().name, "clasificacion");
}

#[test]
fn census_tables_join_the_stored_villages_by_code() {
    let (Some(ign), Some(huanuco)) = (
        peru("villages/ccpp_ign100k.gpkg"),
        peru("villages/ccpp_huanuco_population.gpkg"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    // IGN villages have no population: stored unknown (NULL, never 0), and said so.
    let out = chaski(
        &store,
        &["import", ign.to_str().unwrap(), "--layer", "communities"],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "warning: population unknown for 136,587 of 136,587 villages: join a census table \
             with `--join code`"
        ),
        "{stderr}"
    );
    let l = layer(&store, "communities");
    assert_eq!(filled(&l, "population"), 0);
    assert_eq!(filled(&l, "households"), 0);
    let before = by_code(&l, "1001050067").geometry.clone();

    // INEI's Huánuco table (it has coordinates, which a join does not use).
    let report = dir.path().join("join.json");
    let out = chaski(
        &store,
        &[
            "import",
            huanuco.to_str().unwrap(),
            "--layer",
            "communities",
            "--join",
            "code",
            "--report",
            report.to_str().unwrap(),
            "--show",
            "5",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("2,400 features read; joined to 'communities' by code: 2,339 matched"),
        "{stdout}"
    );
    assert!(stdout.contains("61 matched no feature"), "{stdout}");
    assert!(
        stdout.contains("134,246 of 136,587 stored features got no row"),
        "{stdout}"
    );
    assert!(
        stderr.contains("feature 21: code '1010030012' matches no feature of 'communities'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("... and 56 more unmatched features (see the report file)"),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["join"]["unmatched"].as_array().unwrap().len(), 61);
    assert_eq!(json["join"]["matched"], 2339);
    assert_eq!(json["join"]["population_unknown"], 134_246);
    let l = layer(&store, "communities");
    assert_eq!(l.len(), 136_587);
    // Two of the matched codes are stored twice in IGN's list: both are updated.
    assert_eq!(filled(&l, "population"), 2341);
    assert_eq!(filled(&l, "households"), 2341);
    let p = l.field_index("population").unwrap();
    assert!(!l.features.iter().any(|f| f.values[p] == Value::Int(0)));
    let f = by_code(&l, "1001050067");
    assert_eq!(l.value(f, "population"), &Value::Int(227));
    // The geometry stays IGN's, the name becomes INEI's.
    assert_eq!(f.geometry, before);
    assert_eq!(l.value(f, "name"), &Value::Text("RACCHAPAMPA".into()));

    // A census table without coordinates, its key given by a mapping file.
    let csv = dir.path().join("censo.csv");
    std::fs::write(
        &csv,
        "IDCCPP;POB_2017;VIV_2017\n1001050067;250;51\n1001050069;;\n999;1;1\n",
    )
    .unwrap();
    let mapping = dir.path().join("censo.toml");
    std::fs::write(&mapping, "[join]\nkey = \"code\"\n").unwrap();
    let out = chaski(
        &store,
        &[
            "import",
            csv.to_str().unwrap(),
            "--layer",
            "communities",
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("3 rows read; joined to 'communities' by code: 2 matched (1 features updated: population, households), 1 matched no feature"),
        "{stdout}"
    );
    assert!(
        stderr.contains("censo.csv: row 4: code '999' matches no feature of 'communities'"),
        "{stderr}"
    );
    let l = layer(&store, "communities");
    let f = by_code(&l, "1001050067");
    assert_eq!(l.value(f, "population"), &Value::Int(250));
    assert_eq!(l.value(f, "households"), &Value::Int(51));
    // Empty cells leave the stored values.
    let g = by_code(&l, "1001050069");
    assert_eq!(l.value(g, "population"), &Value::Int(227));
}

#[test]
fn a_table_without_coordinates_is_joined_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let villages = dir.path().join("ccpp.csv");
    std::fs::write(
        &villages,
        "codigo,nombre,lat,lon\n0501010001,Quinua,-13.05,-74.14\n0501010002,Tambo,-12.94,-74.02\n",
    )
    .unwrap();
    let censo = dir.path().join("censo.csv");
    std::fs::write(&censo, "codigo,poblacion\n501010001,812\n0501019999,5\n").unwrap();
    // Before the villages are stored there is nothing to join to.
    let out = chaski(
        &store,
        &[
            "import",
            censo.to_str().unwrap(),
            "--layer",
            "communities",
            "--join",
            "code",
        ],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("censo.csv: no layer 'communities' in the store to join to"),
        "{stderr}"
    );
    let out = chaski(
        &store,
        &[
            "import",
            villages.to_str().unwrap(),
            "--layer",
            "communities",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = chaski(
        &store,
        &[
            "import",
            censo.to_str().unwrap(),
            "--layer",
            "communities",
            "--join",
            "code",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 matched (1 features updated: population)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 of 2 stored features got no row"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: 1 rows matched only once leading zeros were ignored"),
        "{stderr}"
    );
    let l = layer(&store, "communities");
    assert_eq!(
        l.value(by_code(&l, "0501010001"), "population"),
        &Value::Int(812)
    );
    assert_eq!(
        l.value(by_code(&l, "0501010002"), "population"),
        &Value::Null
    );
    // A key no column holds is an error naming the file and the columns.
    let out = chaski(
        &store,
        &[
            "import",
            censo.to_str().unwrap(),
            "--layer",
            "communities",
            "--join",
            "ubigeo",
        ],
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "censo.csv: no column was recognised as the join key 'ubigeo'; columns were: codigo, poblacion"
        ),
        "{stderr}"
    );
}

#[test]
fn unrecognised_names_and_population_are_warnings_not_silence() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let csv = dir.path().join("lista.csv");
    std::fs::write(
        &csv,
        "codigo,LOCALIDAD,POBLAC_URB,lat,lon\n0001,Quinua,,-13.05,-74.14\n0002,Tambo,,-12.94,-74.02\n",
    )
    .unwrap();
    let out = chaski(
        &store,
        &["import", csv.to_str().unwrap(), "--layer", "communities"],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("3 warnings"), "{stdout}");
    for expected in [
        "lista.csv: warning: field 'name' is empty on all 2 rows: no column was recognised as \
         the name; columns were: codigo, LOCALIDAD, POBLAC_URB; map one with a mapping file \
         ([fields] COLUMN = \"name\")",
        "lista.csv: warning: no column was recognised as the population: 'POBLAC_URB' looks \
         like it: map it with a mapping file ([fields] POBLAC_URB = \"population\")",
        "lista.csv: warning: population unknown for 2 of 2 villages: join a census table with \
         `--join code`",
    ] {
        assert!(
            stderr.contains(expected),
            "missing '{expected}' in:\n{stderr}"
        );
    }
    let l = layer(&store, "communities");
    assert_eq!(filled(&l, "population"), 0);
}

#[test]
fn appending_stored_codes_warns_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let first = dir.path().join("a.csv");
    std::fs::write(
        &first,
        "codigo,nombre,lat,lon\n0001,Quinua,-13.05,-74.14\n0002,Tambo,-12.94,-74.02\n",
    )
    .unwrap();
    let second = dir.path().join("b.csv");
    std::fs::write(
        &second,
        "codigo,nombre,lat,lon\n0002,Tambo,-12.94,-74.02\n0003,Chilcas,-12.9,-73.9\n",
    )
    .unwrap();
    let out = chaski(
        &store,
        &["import", first.to_str().unwrap(), "--layer", "facilities"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = chaski(
        &store,
        &[
            "import",
            second.to_str().unwrap(),
            "--layer",
            "facilities",
            "--append",
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(
            "b.csv: warning: 1 of 2 rows have a code already in 'facilities': appended as \
             duplicates; use --upsert to update them"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("1 warnings"), "{stdout}");
    assert_eq!(layer(&store, "facilities").len(), 4);
}

#[test]
fn latin1_csv_keeps_its_characters_and_a_utf8_bom_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let latin = dir.path().join("latin.csv");
    std::fs::write(
        &latin,
        windows_1252("codigo;nombre;lat;lon\n0001;Peña – Ñuñoa;-13,05;-74,14\n"),
    )
    .unwrap();
    let bom = dir.path().join("bom.csv");
    std::fs::write(
        &bom,
        "\u{feff}codigo,nombre,lat,lon\n0002,Huamanguilla – Ñahuinpuquio,-13.0,-74.2\n",
    )
    .unwrap();
    for (file, layer_name) in [(&latin, "a"), (&bom, "b")] {
        let out = chaski(
            &store,
            &[
                "import",
                file.to_str().unwrap(),
                "--layer",
                layer_name,
                "--kind",
                "facilities",
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let a = layer(&store, "a");
    assert_eq!(
        a.value(&a.features[0], "name"),
        &Value::Text("Peña – Ñuñoa".into())
    );
    let b = layer(&store, "b");
    assert_eq!(b.value(&b.features[0], "code"), &Value::Text("0002".into()));
    assert_eq!(
        b.value(&b.features[0], "name"),
        &Value::Text("Huamanguilla – Ñahuinpuquio".into())
    );
}

#[test]
fn a_raster_without_a_crs_names_the_file_and_how_to_assign_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let tif = dir.path().join("dem_sin_crs.tif");
    let raster = chaski_core::raster::Raster::filled(
        4,
        3,
        [600_000.0, 30.0, 0.0, 8_560_000.0, 0.0, -30.0],
        None,
        3100.0f32,
    );
    chaski_io::raster::write_geotiff(&raster, &tif).unwrap();
    let out = chaski(&store, &["import", tif.to_str().unwrap(), "--layer", "dem"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(!stderr.contains("CPL error"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: the raster has no CRS", tif.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("gdal_edit.py -a_srs EPSG:32718 {}", tif.display())),
        "{stderr}"
    );
    assert!(stderr.contains("crs = \"EPSG:32718\""), "{stderr}");
    // A mapping file's crs assigns it.
    let mapping = dir.path().join("dem.toml");
    std::fs::write(&mapping, "crs = \"EPSG:32718\"\n").unwrap();
    let out = chaski(
        &store,
        &[
            "import",
            tif.to_str().unwrap(),
            "--layer",
            "dem",
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("raster 4 x 3 (EPSG:32718)"), "{stdout}");
}

/// INEI's 2007 district limits have features with `"geometry": null`: each is
/// reported by row as a missing geometry (not an "unsupported" type) and
/// skipped, and the others are stored.
#[test]
fn features_without_a_geometry_are_named_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let file = dir.path().join("distritos.geojson");
    std::fs::write(
        &file,
        r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"IDDIST":"050508","NOMBDIST":"TAMBO"},
 "geometry":{"type":"Polygon","coordinates":[[[-74.0,-13.0],[-73.9,-13.0],[-73.9,-12.9],[-74.0,-12.9],[-74.0,-13.0]]]}},
{"type":"Feature","properties":{"IDDIST":"021806","NOMBDIST":"AMANTANI"},"geometry":null}]}"#,
    )
    .unwrap();
    let out = chaski(
        &store,
        &["import", file.to_str().unwrap(), "--layer", "districts"],
    );
    let err = text(&out.stderr) + &text(&out.stdout);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "feature 2: field 'geometry': missing geometry (the feature has no coordinates)"
        ),
        "{err}"
    );
    assert!(err.contains("1 rejected"), "{err}");
    let l = layer(&store, "districts");
    assert_eq!(l.features.len(), 1);
    assert_eq!(
        l.value(&l.features[0], "name"),
        &Value::Text("TAMBO".into())
    );
}
