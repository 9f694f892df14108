//! CSV tables with point coordinates: spreadsheets, ODK Central and KoBoToolbox exports.
//!
//! Coordinates are found by column name (case and accents ignored), in this order:
//! a mapping file's `[coordinates]`; pairs `longitude/latitude`, `lon/lat`,
//! `lng/lat`, `longitud/latitud`, `x/y`; any pair of columns sharing a prefix and
//! ending in `latitude`/`longitude` (KoBo `_gps_latitude`, ODK Central
//! `location-Latitude`); finally a `geopoint` column holding ODK's
//! `"lat lon altitude accuracy"`. The delimiter (`,`, `;` or tab) is detected
//! from the header.
//!
//! Encodings: UTF-8, with or without a byte-order mark; UTF-16 with a
//! byte-order mark (Excel's "Unicode text"); lines that are not valid UTF-8
//! are decoded as Windows-1252, the Latin-1 superset Excel uses for CSV on
//! Spanish Windows (Ñ, á, the en dash `–`), with a note in the report.
//!
//! Rows are numbered as a spreadsheet shows them: the header is row 1.

use crate::import::source::{GeomError, SourceColumn, SourceRecord, SourceTable};
use crate::mapping::Mapping;
use chaski_core::schema::normalize_name;
use chaski_core::value::{FieldType, Value};
use geo::{Geometry, Point};
use std::path::{Path, PathBuf};

/// A CSV file could not be read as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has no header row.
    #[error("{path}: the file is empty (no header row)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// No coordinate columns were found.
    #[error(
        "{path}: not a geographic table: no coordinate columns among [{columns}] \
         (looked for lat/lon, latitud/longitud, latitude/longitude, y/x, _gps_latitude/_gps_longitude, \
         *-Latitude/*-Longitude and geopoint); name them in a mapping file under [coordinates]"
    )]
    NoCoordinates {
        /// The file.
        path: PathBuf,
        /// The header's columns.
        columns: String,
    },
    /// A column named by the mapping file is not in the header.
    #[error("{path}: the mapping names coordinate column '{column}', which is not in the header")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
    },
    /// The CSV parser failed on the header.
    #[error("{path}: cannot read the header: {reason}")]
    Header {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Where a row's point comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Coordinates {
    XY { x: usize, y: usize },
    Geopoint(usize),
}

/// Read a CSV file into a source table. Geometry problems are kept per row.
pub fn read_csv(path: &Path, mapping: Option<&Mapping>) -> Result<SourceTable, CsvError> {
    read_file(path, mapping, true)
}

/// Read a CSV file whose rows need no coordinates (a table joined to a stored
/// layer by a key): coordinate columns, when found, are left out of the
/// attributes; without them every record's geometry is an error that the
/// join ignores.
pub fn read_table(path: &Path, mapping: Option<&Mapping>) -> Result<SourceTable, CsvError> {
    read_file(path, mapping, false)
}

fn read_file(
    path: &Path,
    mapping: Option<&Mapping>,
    need_coordinates: bool,
) -> Result<SourceTable, CsvError> {
    let bytes = std::fs::read(path).map_err(|source| CsvError::Io {
        path: path.to_owned(),
        source,
    })?;
    read_bytes(&bytes, path, mapping, need_coordinates)
}

/// Read a CSV file's bytes (as [`read_csv`] does after reading the file:
/// byte-order mark, UTF-16 and Windows-1252 lines handled); `path` names the
/// file in messages.
pub fn read_csv_bytes(
    bytes: &[u8],
    path: &Path,
    mapping: Option<&Mapping>,
) -> Result<SourceTable, CsvError> {
    read_bytes(bytes, path, mapping, true)
}

fn read_bytes(
    bytes: &[u8],
    path: &Path,
    mapping: Option<&Mapping>,
    need_coordinates: bool,
) -> Result<SourceTable, CsvError> {
    let (text, note) = decode(bytes);
    let mut table = read_text(&text, path, mapping, need_coordinates)?;
    table.notes.extend(note);
    Ok(table)
}

/// Decode a CSV file's bytes, with a note when it was not plain UTF-8.
///
/// A byte-order mark names the encoding (UTF-8, UTF-16LE, UTF-16BE). Otherwise
/// each line that is valid UTF-8 is kept as it is and each line that is not is
/// decoded as Windows-1252: a file saved by Excel in Latin-1 keeps its Ñ, á and
/// en dashes, and a UTF-8 file with a few pasted Latin-1 lines loses nothing.
fn decode(bytes: &[u8]) -> (String, Option<String>) {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        if encoding != encoding_rs::UTF_8 {
            let (text, _) = encoding.decode_without_bom_handling(&bytes[bom..]);
            return (
                text.into_owned(),
                Some(format!(
                    "read as {} (the file starts with its byte-order mark)",
                    encoding.name()
                )),
            );
        }
        return decode_lines(&bytes[bom..]);
    }
    decode_lines(bytes)
}

fn decode_lines(bytes: &[u8]) -> (String, Option<String>) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.to_owned(), None);
    }
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 8);
    let mut latin = Vec::new();
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        if let Ok(s) = std::str::from_utf8(line) {
            text.push_str(s);
        } else {
            let (s, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(line);
            text.push_str(&s);
            latin.push(i + 1);
        }
    }
    let lines = if latin.len() == 1 {
        format!("line {} is", latin[0])
    } else {
        format!("{} lines are (first: line {})", latin.len(), latin[0])
    };
    let note = format!(
        "{lines} not UTF-8: read as Windows-1252 (Latin-1, as Excel saves CSV on Spanish \
         Windows); save as \"CSV UTF-8\" to avoid this note"
    );
    (text, Some(note))
}

/// The delimiter used in the header line: the most frequent of `,`, `;` and tab.
pub(crate) fn detect_delimiter(text: &str) -> u8 {
    let header = text.lines().next().unwrap_or("");
    let count = |c: char| header.chars().filter(|&h| h == c).count();
    let (comma, semi, tab) = (count(','), count(';'), count('\t'));
    if semi > comma && semi >= tab {
        b';'
    } else if tab > comma && tab > semi {
        b'\t'
    } else {
        b','
    }
}

fn find(names: &[String], wanted: &[&str]) -> Option<usize> {
    wanted
        .iter()
        .find_map(|w| names.iter().position(|n| n == w))
}

fn detect_coordinates(names: &[String]) -> Option<Coordinates> {
    const PAIRS: &[(&str, &str)] = &[
        ("longitude", "latitude"),
        ("lon", "lat"),
        ("lng", "lat"),
        ("long", "lat"),
        ("longitud", "latitud"),
        ("x", "y"),
        ("coord_x", "coord_y"),
        ("gps_longitude", "gps_latitude"),
    ];
    for (x, y) in PAIRS {
        if let (Some(x), Some(y)) = (find(names, &[x]), find(names, &[y])) {
            return Some(Coordinates::XY { x, y });
        }
    }
    // Same prefix, ending in latitude/longitude (KoBo `_gps_latitude`, ODK `location-Latitude`).
    for (yi, n) in names.iter().enumerate() {
        for (ylat, xlon) in [("latitude", "longitude"), ("latitud", "longitud")] {
            if let Some(prefix) = n.strip_suffix(ylat) {
                let want = format!("{prefix}{xlon}");
                if let Some(xi) = names.iter().position(|m| *m == want) {
                    return Some(Coordinates::XY { x: xi, y: yi });
                }
            }
        }
    }
    find(
        names,
        &[
            "geopoint",
            "gps",
            "location",
            "ubicacion",
            "coordenadas",
            "punto_gps",
        ],
    )
    .or_else(|| names.iter().position(|n| n.ends_with("geopoint")))
    .map(Coordinates::Geopoint)
}

/// Parse a number as written in spreadsheets: surrounding blanks, a Unicode minus,
/// a decimal comma.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim().replace('\u{2212}', "-");
    if t.is_empty() {
        return None;
    }
    let t = if t.contains(',') && !t.contains('.') {
        t.replace(',', ".")
    } else {
        t
    };
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn coordinate(raw: &str, column: &str, what: &str) -> Result<f64, GeomError> {
    if raw.trim().is_empty() {
        return Err(GeomError::new(column, format!("missing {what}")));
    }
    parse_number(raw)
        .ok_or_else(|| GeomError::new(column, format!("{what} '{}' is not a number", raw.trim())))
}

/// Parse an ODK geopoint "lat lon [altitude [accuracy]]".
fn geopoint(raw: &str, column: &str) -> Result<(f64, f64, Option<f64>, Option<f64>), GeomError> {
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if parts.is_empty() {
        return Err(GeomError::new(column, "missing geopoint"));
    }
    if parts.len() < 2 || parts.len() > 4 {
        return Err(GeomError::new(
            column,
            format!(
                "geopoint '{}' is not \"latitude longitude [altitude [accuracy]]\"",
                raw.trim()
            ),
        ));
    }
    let lat = coordinate(parts[0], column, "geopoint latitude")?;
    let lon = coordinate(parts[1], column, "geopoint longitude")?;
    let alt = parts.get(2).and_then(|s| parse_number(s));
    let acc = parts.get(3).and_then(|s| parse_number(s));
    Ok((lon, lat, alt, acc))
}

/// Blank lines outside quoted fields (1-based line numbers).
fn blank_lines(text: &str, quote: char) -> Vec<usize> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    for (i, line) in text.lines().enumerate() {
        if !in_quotes && line.trim().is_empty() && i > 0 {
            out.push(i + 1);
        }
        if line.chars().filter(|&c| c == quote).count() % 2 == 1 {
            in_quotes = !in_quotes;
        }
    }
    // A final newline does not make a blank line; trailing blank lines are still reported.
    out
}

/// Read CSV text; `path` names the file in messages.
pub fn read_csv_str(
    text: &str,
    path: &Path,
    mapping: Option<&Mapping>,
) -> Result<SourceTable, CsvError> {
    read_text(text, path, mapping, true)
}

fn read_text(
    text: &str,
    path: &Path,
    mapping: Option<&Mapping>,
    need_coordinates: bool,
) -> Result<SourceTable, CsvError> {
    if text.trim().is_empty() {
        return Err(CsvError::Empty {
            path: path.to_owned(),
        });
    }
    let delimiter = mapping
        .and_then(Mapping::delimiter)
        .unwrap_or_else(|| detect_delimiter(text));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| CsvError::Header {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let normalized: Vec<String> = headers.iter().map(|h| normalize_name(h)).collect();

    let coords = match mapping.map(|m| &m.coordinates) {
        Some(c) if c.x.is_some() || c.y.is_some() || c.geopoint.is_some() => {
            let col = |name: &str| {
                let n = normalize_name(name);
                normalized
                    .iter()
                    .position(|h| *h == n)
                    .ok_or_else(|| CsvError::MissingColumn {
                        path: path.to_owned(),
                        column: name.to_owned(),
                    })
            };
            if let Some(g) = &c.geopoint {
                Some(Coordinates::Geopoint(col(g)?))
            } else {
                let (Some(x), Some(y)) = (&c.x, &c.y) else {
                    return Err(CsvError::MissingColumn {
                        path: path.to_owned(),
                        column: c.x.clone().or_else(|| c.y.clone()).map_or_else(
                            || "x/y".to_owned(),
                            |given| format!("{given}'s partner (give both x and y)"),
                        ),
                    });
                };
                Some(Coordinates::XY {
                    x: col(x)?,
                    y: col(y)?,
                })
            }
        }
        _ => match detect_coordinates(&normalized) {
            None if need_coordinates => {
                return Err(CsvError::NoCoordinates {
                    path: path.to_owned(),
                    columns: headers.join(", "),
                });
            }
            found => found,
        },
    };

    // Attribute columns: everything but the coordinates; a geopoint adds altitude and accuracy.
    let coord_cols: Vec<usize> = match coords {
        Some(Coordinates::XY { x, y }) => vec![x, y],
        Some(Coordinates::Geopoint(g)) => vec![g],
        None => Vec::new(),
    };
    let attr_cols: Vec<usize> = (0..headers.len())
        .filter(|i| !coord_cols.contains(i))
        .collect();
    let mut columns: Vec<SourceColumn> = attr_cols
        .iter()
        .map(|&i| SourceColumn::new(headers[i].clone(), FieldType::Text))
        .collect();
    let geopoint_extra = matches!(coords, Some(Coordinates::Geopoint(_)));
    if geopoint_extra {
        columns.push(SourceColumn::new("gps_altitude", FieldType::Real));
        columns.push(SourceColumn::new("gps_accuracy", FieldType::Real));
    }

    // Line numbers from byte offsets (the parser's own line count skips blank lines).
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter_map(|(i, b)| (b == b'\n').then_some(i))
        .collect();
    let bytes = text.as_bytes();
    let line_of = |byte: u64| {
        // A record's position may point at blank lines the parser skipped before it.
        let mut b = byte as usize;
        while b < bytes.len() && matches!(bytes[b], b'\n' | b'\r') {
            b += 1;
        }
        newlines.partition_point(|&nl| nl < b) + 1
    };
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for line in blank_lines(text, '"') {
        problems.push((line, GeomError::new("", "empty line")));
    }
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_of(p.byte()));
                problems.push((line, GeomError::new("", format!("unreadable row: {e}"))));
                continue;
            }
        };
        let row = record.position().map_or(0, |p| line_of(p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            problems.push((row, GeomError::new("", "empty row")));
            continue;
        }
        if record.len() != headers.len() {
            problems.push((
                row,
                GeomError::new(
                    "",
                    format!(
                        "has {} fields but the header has {}",
                        record.len(),
                        headers.len()
                    ),
                ),
            ));
            continue;
        }
        let mut values: Vec<Value> = attr_cols
            .iter()
            .map(|&i| {
                let v = record.get(i).unwrap_or("").trim();
                if v.is_empty() {
                    Value::Null
                } else {
                    Value::Text(v.to_owned())
                }
            })
            .collect();
        let geometry = match coords {
            None => Err(GeomError::new("", "no coordinates")),
            Some(Coordinates::XY { x, y }) => {
                let xs = record.get(x).unwrap_or("");
                let ys = record.get(y).unwrap_or("");
                coordinate(ys, &headers[y], "latitude (y)").and_then(|lat| {
                    coordinate(xs, &headers[x], "longitude (x)")
                        .map(|lon| Geometry::Point(Point::new(lon, lat)))
                })
            }
            Some(Coordinates::Geopoint(g)) => geopoint(record.get(g).unwrap_or(""), &headers[g])
                .map(|(lon, lat, alt, acc)| {
                    values.push(alt.map_or(Value::Null, Value::Real));
                    values.push(acc.map_or(Value::Null, Value::Real));
                    Geometry::Point(Point::new(lon, lat))
                }),
        };
        if geopoint_extra && values.len() < columns.len() {
            values.resize(columns.len(), Value::Null);
        }
        records.push(SourceRecord {
            row,
            geometry,
            values,
        });
    }
    Ok(SourceTable {
        columns,
        records,
        problems,
        crs: mapping.and_then(|m| m.crs.clone()),
        row_label: "row",
        notes: Vec::new(),
        infer_types: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> SourceTable {
        read_csv_str(text, Path::new("t.csv"), None).unwrap()
    }

    fn point(r: &SourceRecord) -> (f64, f64) {
        match &r.geometry {
            Ok(Geometry::Point(p)) => (p.x(), p.y()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finds_common_coordinate_names() {
        for (header, row) in [
            ("name,lat,lon", "a,-13.1,-74.2"),
            ("name;Latitud;Longitud", "a;-13,1;-74,2"),
            ("name,Y,X", "a,-13.1,-74.2"),
            (
                "name,_gps_latitude,_gps_longitude,_gps_precision",
                "a,-13.1,-74.2,5",
            ),
            (
                "name,grp-location-Latitude,grp-location-Longitude,grp-location-Altitude",
                "a,-13.1,-74.2,3000",
            ),
            ("name,geopoint", "a,-13.1 -74.2 3100 4.5"),
        ] {
            let t = read(&format!("{header}\n{row}\n"));
            assert_eq!(t.records.len(), 1, "{header}");
            let (x, y) = point(&t.records[0]);
            assert!(
                (x + 74.2).abs() < 1e-12 && (y + 13.1).abs() < 1e-12,
                "{header}: {x} {y}"
            );
            assert_eq!(t.records[0].row, 2);
        }
    }

    #[test]
    fn geopoint_keeps_altitude_and_accuracy() {
        let t = read("id,geopoint\n1,-13.1 -74.2 3100 4.5\n");
        let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["id", "gps_altitude", "gps_accuracy"]);
        assert_eq!(t.records[0].values[1], Value::Real(3100.0));
        assert_eq!(t.records[0].values[2], Value::Real(4.5));
    }

    #[test]
    fn bad_rows_are_kept_with_their_row_numbers() {
        let t = read("name,lat,lon\na,abc,-74\n\nb,,-74\n,,\nc,-13,-74\n");
        // row 2: text in latitude; line 3 blank; row 4: missing latitude; row 5: empty row
        let errs: Vec<(usize, String)> = t
            .records
            .iter()
            .filter_map(|r| r.geometry.as_ref().err().map(|e| (r.row, e.to_string())))
            .collect();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].0, 2);
        assert!(errs[0].1.contains("'abc' is not a number"), "{}", errs[0].1);
        assert_eq!(errs[1].0, 4);
        assert!(errs[1].1.contains("missing latitude"));
        let problems: Vec<(usize, String)> = t
            .problems
            .iter()
            .map(|(r, e)| (*r, e.reason.clone()))
            .collect();
        assert!(
            problems.contains(&(3, "empty line".to_owned())),
            "{problems:?}"
        );
        assert!(
            problems.contains(&(5, "empty row".to_owned())),
            "{problems:?}"
        );
        assert_eq!(point(t.records.last().unwrap()), (-74.0, -13.0));
    }

    #[test]
    fn latin1_and_bom_are_read() {
        let mut bytes = b"\xEF\xBB\xBFnombre,lat,lon\n".to_vec();
        bytes.extend_from_slice(b"Cc,-13,-74\n");
        let (text, note) = decode(&bytes);
        assert!(text.starts_with("nombre"));
        assert_eq!(note, None);
        // Windows-1252: \xf1 is ñ, \x96 the en dash, \xe1 á.
        let latin1 =
            b"nombre,lat,lon\nPe\xf1a \x96 Mar\xeda,-13,-74\nAya,-13,-74\nJ\xe1n,-13,-74\n";
        let (text, note) = decode(latin1);
        assert!(text.contains("Peña – María,-13"), "{text}");
        assert!(text.contains("Ján"), "{text}");
        let note = note.unwrap();
        assert!(
            note.contains("2 lines are (first: line 2) not UTF-8"),
            "{note}"
        );
        assert!(note.contains("Windows-1252"), "{note}");
        // A UTF-8 file with one pasted Latin-1 line keeps its UTF-8 lines.
        let (text, note) = decode(
            "nombre\nÑaña\n"
                .bytes()
                .chain(*b"Pe\xf1a\n")
                .collect::<Vec<u8>>()
                .as_slice(),
        );
        assert_eq!(text, "nombre\nÑaña\nPeña\n");
        assert!(note.unwrap().contains("line 3 is not UTF-8"));
        // UTF-16LE with its byte-order mark (Excel's "Unicode text").
        let utf16: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain(
                "nombre\tlat\tlon\nÑuñoa\t-13\t-74\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        let (text, note) = decode(&utf16);
        assert!(text.contains("Ñuñoa"), "{text}");
        assert!(note.unwrap().contains("UTF-16LE"));
    }

    #[test]
    fn a_table_to_join_needs_no_coordinates() {
        let t = read_text(
            "codigo,TOT_POB99\n0101,120\n",
            Path::new("t.csv"),
            None,
            false,
        )
        .unwrap();
        assert_eq!(t.columns.len(), 2);
        assert_eq!(t.records[0].values[1], Value::Text("120".into()));
        assert!(t.records[0].geometry.is_err());
    }

    #[test]
    fn a_table_without_coordinates_is_not_geographic() {
        let e = read_csv_str("a,b\n1,2\n", Path::new("t.csv"), None).unwrap_err();
        assert!(matches!(e, CsvError::NoCoordinates { .. }));
        assert!(e.to_string().contains("t.csv"));
    }

    #[test]
    fn mapping_names_swapped_minsa_columns() {
        let m = Mapping::parse(
            "[coordinates]\nx = \"NORTE\"\ny = \"ESTE\"\n",
            Path::new("m.toml"),
        )
        .unwrap();
        let t = read_csv_str(
            "COD,NORTE,ESTE\n1,-74.2,-13.1\n",
            Path::new("t.csv"),
            Some(&m),
        )
        .unwrap();
        assert_eq!(point(&t.records[0]), (-74.2, -13.1));
    }
}
