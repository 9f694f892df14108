//! The catalogue of malformed files given to the `chaski` binary: each is
//! refused with one error naming the file (and the row and field when a row
//! is at fault, with `--strict`: all or nothing), exit code 1 or 2, and
//! nothing written to the store (its summary is unchanged).
//!
//! Cases tried elsewhere are not repeated: rows skipped by a lenient import
//! and files that are not tables (`commands.rs`), a raster without a CRS
//! (`imports.rs`), unknown indicator keys and fields (`monitoring.rs`). The
//! malformed HTTP requests are in the end-to-end tests (`tests/it/malformed.rs`).

use crate::common::{chaski, text};
use rstest::rstest;
use std::path::Path;

/// The header of a KoBoToolbox household export (`;`-delimited).
const KOBO: &str = "consentimiento/acepta;identificacion/codigo_hogar;identificacion/comunidad;\
     identificacion/establecimiento;identificacion/sector;_gps_latitude;_gps_longitude;\
     _gps_precision;hogar/miembros;_uuid;today\n\
     si;H-1;C-1;F-1;S-1;-13.1584;-74.2239;5;4;uuid-1;2026-04-10\n";

const FACILITIES: &str = "codigo,nombre,categoria,lat,lon\n0001,Quinua,I-3,-13.0533,-74.1389\n";

/// What the store holds, as `chaski summary --json` says.
fn summary(store: &Path) -> String {
    let out = chaski(store, &["summary", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The first rows of a facilities table (MINSA's column names).
fn facilities(more: &str) -> String {
    format!("{FACILITIES}{more}")
}

/// A KoBo export with one more row: `rest` after the code, community, facility and sector.
fn kobo(rest: &str) -> String {
    format!("{KOBO}si;H-2;C-1;F-1;S-1;{rest}\n")
}

#[rstest]
#[case::empty_file(
    &[("f.csv", String::new())], &["import", "f.csv", "--layer", "facilities"],
    &["f.csv: the file is empty"]
)]
#[case::header_only(
    &[("f.csv", "codigo,nombre,categoria,lat,lon\n".to_owned())],
    &["import", "f.csv", "--layer", "facilities"], &["f.csv: nothing imported"]
)]
#[case::wrong_delimiter(
    &[("f.csv", "codigo|nombre|lat|lon\n0001|Quinua|-13.05|-74.13\n".to_owned())],
    &["import", "f.csv", "--layer", "facilities"],
    &["f.csv: not a geographic table: no coordinate columns among [codigo|nombre|lat|lon]"]
)]
#[case::truncated_row(
    &[("f.csv", facilities("0002,Tambo,I-1,-12.94"))],
    &["import", "f.csv", "--layer", "facilities", "--strict"],
    &["f.csv: row 3", "has 4 fields but the header has 5", "--strict is set: nothing imported"]
)]
#[case::longitude_nan(
    &[("f.csv", facilities("0002,Tambo,I-1,-12.94,NaN\n"))],
    &["import", "f.csv", "--layer", "facilities", "--strict"],
    &["f.csv: row 3: field 'lon'", "--strict is set: nothing imported"]
)]
#[case::household_huge_field(
    &[("h.csv", kobo(&format!("-13.15;-74.22;5;4;{};2026-04-10", "u".repeat(100_000))))],
    &["import", "h.csv", "--layer", "households", "--strict"],
    &["h.csv: row 3: field 'submission_uuid'", "100000 characters long"]
)]
#[case::household_without_consent(
    &[("h.csv", kobo("-13.15;-74.22;5;4;uuid-2;2026-04-10").replace("\nsi;H-2", "\n;H-2"))],
    &["import", "h.csv", "--layer", "households", "--strict"],
    &["h.csv: row 3: field 'consent'", "missing consent"]
)]
#[case::household_not_a_point(
    &[("h.geojson", r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"H-1","consent":"si"},"geometry":{"type":"LineString","coordinates":[[-74.22,-13.15],[-74.21,-13.15]]}}]}"#.to_owned())],
    &["import", "h.geojson", "--layer", "households", "--strict"],
    &["h.geojson", "feature 1: field 'geometry'"]
)]
#[case::mapping_syntax_error(
    &[("f.csv", facilities("")), ("m.toml", "[fields\ncodigo = \"code\"\n".to_owned())],
    &["import", "f.csv", "--layer", "facilities", "--mapping", "m.toml"], &["m.toml", "line 1"]
)]
#[case::mapping_unknown_key(
    &[("f.csv", facilities("")), ("m.toml", "[options]\ndelimter = \";\"\n".to_owned())],
    &["import", "f.csv", "--layer", "facilities", "--mapping", "m.toml"],
    &["m.toml", "unknown field `delimter`"]
)]
#[case::mapping_missing_column(
    &[("f.csv", facilities("")), ("m.toml", "[coordinates]\nx = \"NORTE\"\ny = \"ESTE\"\n".to_owned())],
    &["import", "f.csv", "--layer", "facilities", "--mapping", "m.toml"],
    &["f.csv: the mapping names coordinate column 'NORTE', which is not in the header"]
)]
#[case::indicators_syntax_error(
    &[("i.toml", "[[indicator]]\nid = \"x\nnumerator = \"anaemia\"\n".to_owned())],
    &["indicators", "--indicators", "i.toml"], &["i.toml", "line 2"]
)]
#[case::indicators_none(
    &[("i.toml", "[design]\nbaseline = 1\n".to_owned())],
    &["indicators", "--indicators", "i.toml"], &["i.toml", "indicator"]
)]
fn malformed_files_are_refused_naming_file_row_and_field(
    #[case] files: &[(&str, String)],
    #[case] args: &[&str],
    #[case] needles: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let villages = dir.path().join("communities.csv");
    std::fs::write(&villages, "code,name,lat,lon\nC-1,Uno,-13.15,-74.22\n").unwrap();
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
    let before = summary(&store);
    for (name, contents) in files {
        std::fs::write(dir.path().join(name), contents).unwrap();
    }
    let paths: Vec<String> = args
        .iter()
        .map(|a| match files.iter().find(|(n, _)| n == a) {
            Some((n, _)) => dir.path().join(n).to_string_lossy().into_owned(),
            None => (*a).to_owned(),
        })
        .collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let out = chaski(&store, &paths);
    let stderr = text(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "{args:?}: {:?} {stderr}",
        out.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: no '{needle}' in {stderr}"
        );
    }
    assert_eq!(summary(&store), before, "{args:?} wrote to the store");
}
