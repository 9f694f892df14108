//! Plain tables of siting: a travel-time matrix (`village,candidate,minutes`)
//! and a demand table (`village,demand`), so that a siting can be run on the
//! numbers of another tool (or a matrix chaski exported) and compared.
//!
//! Columns are found by name (case ignored, any order, other columns ignored);
//! the delimiter is `,`, `;` or tab, detected from the header. Rows are
//! numbered as a spreadsheet shows them: the header is row 1. A bad value is
//! an error naming the file, row and column; nothing is half-read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A siting table could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The file could not be opened or read.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O or CSV error.
        reason: String,
    },
    /// A required column is missing from the header.
    #[error("{path}: no '{column}' column in the header (it has: {header})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column looked for.
        column: &'static str,
        /// The header's columns.
        header: String,
    },
    /// A value is empty, not a number, negative or not finite.
    #[error("{path}: row {row}, column '{column}': {reason} (got '{value}')")]
    Value {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row (header = 1).
        row: u64,
        /// The column.
        column: &'static str,
        /// The text found.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The same key appears twice with different values.
    #[error("{path}: row {row}: '{key}' already appears in row {first}")]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// Spreadsheet row (header = 1).
        row: u64,
        /// Row of the first occurrence.
        first: u64,
        /// The repeated key.
        key: String,
    },
    /// The table has a header and no row.
    #[error("{path}: the table has no rows")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// One cell of a travel-time matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixRow {
    /// Village (demand point) code.
    pub village: String,
    /// Candidate site code.
    pub candidate: String,
    /// Minutes from the village to the candidate.
    pub minutes: f64,
}

/// Read a matrix with columns `village`, `candidate`, `minutes`. A pair given
/// twice is an error (two tools disagreeing is worth a look, not a silent pick).
pub fn read_matrix(path: &Path) -> Result<Vec<MatrixRow>, TableError> {
    let mut table = Table::open(path, &["village", "candidate", "minutes"])?;
    let mut out = Vec::new();
    let mut seen: HashMap<(String, String), u64> = HashMap::new();
    while let Some((row, cells)) = table.next_row()? {
        let village = table.text(row, &cells, 0)?;
        let candidate = table.text(row, &cells, 1)?;
        let minutes = table.number(row, &cells, 2)?;
        if let Some(&first) = seen.get(&(village.clone(), candidate.clone())) {
            return Err(TableError::Duplicate {
                path: path.to_owned(),
                row,
                first,
                key: format!("{village} → {candidate}"),
            });
        }
        seen.insert((village.clone(), candidate.clone()), row);
        out.push(MatrixRow {
            village,
            candidate,
            minutes,
        });
    }
    table.finish(out)
}

/// Read a demand table with columns `village`, `demand` (expected births per
/// year, or any non-negative weight), in file order.
pub fn read_demand(path: &Path) -> Result<Vec<(String, f64)>, TableError> {
    let mut table = Table::open(path, &["village", "demand"])?;
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    while let Some((row, cells)) = table.next_row()? {
        let village = table.text(row, &cells, 0)?;
        let demand = table.number(row, &cells, 1)?;
        if let Some(&first) = seen.get(&village) {
            return Err(TableError::Duplicate {
                path: path.to_owned(),
                row,
                first,
                key: village,
            });
        }
        seen.insert(village.clone(), row);
        out.push((village, demand));
    }
    table.finish(out)
}

/// A CSV file with the columns a reader needs located.
struct Table {
    path: PathBuf,
    reader: csv::Reader<std::fs::File>,
    names: &'static [&'static str],
    columns: Vec<usize>,
}

impl Table {
    fn open(path: &Path, names: &'static [&'static str]) -> Result<Self, TableError> {
        let io = |e: &dyn std::fmt::Display| TableError::Io {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let mut line = Vec::new();
        std::io::BufRead::read_until(
            &mut std::io::BufReader::new(std::fs::File::open(path).map_err(|e| io(&e))?),
            b'\n',
            &mut line,
        )
        .map_err(|e| io(&e))?;
        let delimiter = crate::csv::detect_delimiter(&String::from_utf8_lossy(&line));
        let file = std::fs::File::open(path).map_err(|e| io(&e))?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(file);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| io(&e))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
            .collect();
        let columns = names
            .iter()
            .map(|&name| {
                header
                    .iter()
                    .position(|h| h == name)
                    .ok_or_else(|| TableError::MissingColumn {
                        path: path.to_owned(),
                        column: name,
                        header: header.join(", "),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            path: path.to_owned(),
            reader,
            names,
            columns,
        })
    }

    /// The next row and its spreadsheet number.
    fn next_row(&mut self) -> Result<Option<(u64, csv::StringRecord)>, TableError> {
        let mut record = csv::StringRecord::new();
        match self.reader.read_record(&mut record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let row = record.position().map_or(0, csv::Position::line);
                Ok(Some((row, record)))
            }
            Err(e) => Err(TableError::Io {
                path: self.path.clone(),
                reason: e.to_string(),
            }),
        }
    }

    fn cell<'a>(&self, cells: &'a csv::StringRecord, k: usize) -> &'a str {
        cells.get(self.columns[k]).unwrap_or("").trim()
    }

    fn text(&self, row: u64, cells: &csv::StringRecord, k: usize) -> Result<String, TableError> {
        let v = self.cell(cells, k);
        if v.is_empty() {
            return Err(self.bad(row, k, v, "empty"));
        }
        Ok(v.to_owned())
    }

    fn number(&self, row: u64, cells: &csv::StringRecord, k: usize) -> Result<f64, TableError> {
        let v = self.cell(cells, k);
        let n: f64 = v.parse().map_err(|_| self.bad(row, k, v, "not a number"))?;
        if !n.is_finite() || n < 0.0 {
            return Err(self.bad(row, k, v, "must be a finite number ≥ 0"));
        }
        Ok(n)
    }

    fn bad(&self, row: u64, k: usize, value: &str, reason: &'static str) -> TableError {
        TableError::Value {
            path: self.path.clone(),
            row,
            column: self.names[k],
            value: value.to_owned(),
            reason,
        }
    }

    fn finish<T>(self, rows: Vec<T>) -> Result<Vec<T>, TableError> {
        if rows.is_empty() {
            Err(TableError::Empty { path: self.path })
        } else {
            Ok(rows)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn reads_a_matrix_in_any_column_order() {
        let f = file("Minutes;Candidate;village;note\n12.5;H1;V1;x\n0;H1;V2;\n");
        let rows = read_matrix(f.path()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            MatrixRow {
                village: "V1".into(),
                candidate: "H1".into(),
                minutes: 12.5
            }
        );
    }

    #[test]
    fn errors_name_file_row_and_column() {
        let f = file("village,candidate,minutes\nV1,H1,3\nV2,H1,-4\n");
        let e = read_matrix(f.path()).unwrap_err().to_string();
        assert!(e.contains("row 3, column 'minutes'"), "{e}");
        assert!(e.contains(&f.path().display().to_string()), "{e}");
        let f = file("village,candidate,minutes\nV1,H1,3\nV1,H1,4\n");
        let e = read_matrix(f.path()).unwrap_err().to_string();
        assert!(e.contains("row 3") && e.contains("row 2"), "{e}");
        let f = file("village,minutes\nV1,3\n");
        let e = read_matrix(f.path()).unwrap_err().to_string();
        assert!(e.contains("no 'candidate' column"), "{e}");
        let f = file("village,demand\nV1,abc\n");
        let e = read_demand(f.path()).unwrap_err().to_string();
        assert!(e.contains("row 2, column 'demand': not a number"), "{e}");
        let f = file("village,demand\n");
        assert!(matches!(
            read_demand(f.path()),
            Err(TableError::Empty { .. })
        ));
        let f = file("village,demand\n,3\n");
        let e = read_demand(f.path()).unwrap_err().to_string();
        assert!(e.contains("column 'village': empty"), "{e}");
    }
}
