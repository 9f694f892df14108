//! [`build_layer`]: a typed layer and its report from a source table, in
//! steps: the column plan ([`super::columns`]), the report, the join key, the
//! reprojection, then each record (a withdrawal, or a geometry checked and
//! shaped, values parsed, its key checked and, for households, the household
//! checks), and last the report's totals and file-level warnings.

use super::columns::{Target, plan_columns};
use super::error::ImportError;
use super::geometry::{CoordCheck, check_lonlat, first_coord, is_wgs84, shape};
use super::options::{ImportOptions, resolve_kind};
use super::report::{Action, ImportReport, Issue};
use super::source::{GeomError, SourceColumn, SourceRecord, SourceTable};
use super::values::{core_value, extra_value, to_text};
use super::warnings::{column_list, layer_warnings};
use chaski_core::household::write::Withdrawal;
use chaski_core::layer::{Feature, GeometryType, Layer, LayerKind};
use chaski_core::schema::normalize_name;
use chaski_core::value::Value;
use geo::{BoundingRect, Coord, Geometry, Point};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Build a typed layer from a source table. Only file-level problems are errors;
/// row problems go to the report.
///
/// The steps: 1. the column plan (module `columns`); 2. the report; 3. the
/// join key; 4. a note of dropped household columns; 5. the rows the reader
/// could not read, rejected; 6. the reprojection; 7. the check that
/// coordinates without a CRS are degrees; 8. each record; 9. the report's
/// totals and the file-level warnings.
pub fn build_layer(
    table: SourceTable,
    path: &Path,
    opts: &ImportOptions,
) -> Result<(Layer, ImportReport), ImportError> {
    let kind = resolve_kind(opts)?;
    let mut layer = Layer::new(opts.layer.clone(), kind);
    let plan = plan_columns(&table, path, opts.mapping.as_ref(), &mut layer)?;
    let mut report = new_report(&table, path, opts, kind);
    let joining = opts.join_key().is_some();
    let join_idx = join_index(&table, path, opts, &layer, &plan.targets)?;
    note_dropped_columns(&mut report, plan.dropped_columns);
    reject_problems(&mut report, &table.problems);
    #[cfg(feature = "proj")]
    let transformer = reprojection(&table, path, joining)?;
    #[cfg(not(feature = "proj"))]
    refuse_reprojection(&table, path, joining)?;
    check_degrees(&table, path, joining)?;

    let builder = RowBuilder {
        kind,
        layer: &layer,
        targets: &plan.targets,
        columns: &table.columns,
        opts,
        joining,
        join_idx,
        x_field: if table.row_label == "row" {
            "longitude"
        } else {
            "geometry"
        },
        #[cfg(feature = "proj")]
        source_crs: &report.source_crs,
        #[cfg(feature = "proj")]
        transformer,
    };
    let rows = builder.build_rows(table.records);
    finish(
        &mut layer,
        &mut report,
        rows,
        &table.columns,
        &plan.targets,
        opts,
    );
    Ok((layer, report))
}

/// Step 2: the report of the table before its records are built.
fn new_report(
    table: &SourceTable,
    path: &Path,
    opts: &ImportOptions,
    kind: LayerKind,
) -> ImportReport {
    ImportReport {
        file: path.to_owned(),
        layer: opts.layer.clone(),
        kind: Some(kind),
        row_label: table.row_label,
        read: table.records.len() + table.problems.len(),
        imported: 0,
        rejected: 0,
        issues: Vec::new(),
        notes: table.notes.clone(),
        source_crs: table.crs.clone().unwrap_or_else(|| "EPSG:4326".to_owned()),
        feature_rows: Vec::new(),
        withdrawals: Vec::new(),
        withdrawn: 0,
        dropped_columns: Vec::new(),
        warnings: Vec::new(),
        join: None,
    }
}

/// Step 3: the layer field of the join key, None without one. Household
/// records are never joined, and the key must be one of the table's columns.
fn join_index(
    table: &SourceTable,
    path: &Path,
    opts: &ImportOptions,
    layer: &Layer,
    targets: &[Target],
) -> Result<Option<usize>, ImportError> {
    let Some(key) = opts.join_key() else {
        return Ok(None);
    };
    if layer.kind == LayerKind::Households {
        return Err(ImportError::JoinHouseholds {
            path: path.to_owned(),
        });
    }
    let key = normalize_name(key);
    let found = layer.field_index(&key).filter(|&i| {
        targets
            .iter()
            .any(|t| matches!(t, Target::Core(j) | Target::Extra(j) if *j == i))
    });
    Ok(Some(found.ok_or_else(|| ImportError::JoinKey {
        path: path.to_owned(),
        key: key.clone(),
        columns: column_list(table.columns.iter().map(|c| c.name.as_str())),
    })?))
}

/// Step 4: a note of the household columns that were not stored.
fn note_dropped_columns(report: &mut ImportReport, dropped_columns: Vec<String>) {
    if !dropped_columns.is_empty() {
        report.notes.push(format!(
            "columns outside the household schema were not stored: {} (an admin keeps one \
             with [options] keep = [\"COLUMN\"] in a mapping file)",
            dropped_columns.join(", ")
        ));
        report.dropped_columns = dropped_columns;
    }
}

/// Step 5: the rows the reader could not make a record of, rejected.
fn reject_problems(report: &mut ImportReport, problems: &[(usize, GeomError)]) {
    for (row, e) in problems {
        report.issues.push(Issue {
            row: *row,
            field: (!e.field.is_empty()).then(|| e.field.clone()),
            reason: e.reason.clone(),
            action: Action::Rejected,
        });
        report.rejected += 1;
    }
}

/// Step 6: the transformation of the table's coordinates to EPSG:4326; None
/// when they are in it already, or for a joined table (its geometries are
/// not used). A CRS PROJ does not know fails the import.
#[cfg(feature = "proj")]
fn reprojection(
    table: &SourceTable,
    path: &Path,
    joining: bool,
) -> Result<Option<crate::crs::Transformer>, ImportError> {
    Ok(match &table.crs {
        Some(crs) if !is_wgs84(crs) && !joining => Some(
            crate::crs::Transformer::new(crs, "EPSG:4326").map_err(|e| ImportError::Crs {
                path: path.to_owned(),
                crs: crs.clone(),
                reason: e.to_string(),
            })?,
        ),
        _ => None,
    })
}

/// Step 6 without PROJ: a table in another CRS than EPSG:4326 is refused.
#[cfg(not(feature = "proj"))]
fn refuse_reprojection(table: &SourceTable, path: &Path, joining: bool) -> Result<(), ImportError> {
    if let Some(crs) = &table.crs
        && !is_wgs84(crs)
        && !joining
    {
        return Err(ImportError::Unsupported {
            path: path.to_owned(),
            what: "PROJ (reprojection)",
        });
    }
    Ok(())
}

/// Step 7: refuse a file without a CRS whose coordinates are clearly not
/// degrees (judged on the first coordinates of up to 50 records).
fn check_degrees(table: &SourceTable, path: &Path, joining: bool) -> Result<(), ImportError> {
    if table.crs.is_none() && !joining {
        let mut sample = table
            .records
            .iter()
            .filter_map(|r| r.geometry.as_ref().ok().and_then(first_coord))
            .take(50);
        let bad: Vec<Coord<f64>> = sample
            .by_ref()
            .filter(|c| c.x.abs() > 360.0 || c.y.abs() > 360.0)
            .collect();
        if bad.len() >= 10
            || (!bad.is_empty() && table.records.len() < 10 && bad.len() == table.records.len())
        {
            return Err(ImportError::NoCrs {
                path: path.to_owned(),
                x: bad[0].x,
                y: bad[0].y,
            });
        }
    }
    Ok(())
}

/// Step 9: the report's totals and issues in row order, the layer's
/// features, and the file-level warnings (not for households).
fn finish(
    layer: &mut Layer,
    report: &mut ImportReport,
    rows: Built,
    columns: &[SourceColumn],
    targets: &[Target],
    opts: &ImportOptions,
) {
    report.rejected += rows
        .issues
        .iter()
        .filter(|i| i.action == Action::Rejected)
        .count();
    report.issues.extend(rows.issues);
    report.issues.sort_by_key(|i| i.row);
    report.imported = rows.features.len();
    report.feature_rows = rows.feature_rows;
    report.withdrawals = rows.withdrawals;
    report.withdrawn = report.withdrawals.len();
    layer.features = rows.features;
    if layer.kind != LayerKind::Households {
        report.warnings = layer_warnings(
            layer,
            columns,
            targets,
            opts,
            opts.join_key().is_some(),
            rows.codes_assigned,
            report.row_label,
        );
    }
}

/// Reject row `row`: an issue with [`Action::Rejected`].
fn reject(issues: &mut Vec<Issue>, row: usize, field: Option<String>, reason: String) {
    issues.push(Issue {
        row,
        field,
        reason,
        action: Action::Rejected,
    });
}

/// What the records of a table became.
#[derive(Default)]
struct Built {
    /// The features, numbered from 1.
    features: Vec<Feature>,
    /// The row of each feature.
    feature_rows: Vec<usize>,
    /// Household withdrawals (`consent = no`).
    withdrawals: Vec<Withdrawal>,
    /// Row issues, in the order found.
    issues: Vec<Issue>,
    /// Built whose missing code was assigned.
    codes_assigned: usize,
    /// Codes (or join keys) seen so far.
    seen_codes: HashSet<String>,
    /// Household submission ids seen so far, with their row.
    seen_uuids: HashMap<String, usize>,
}

/// Step 8: builds each record of a table into a feature (or a withdrawal, or
/// a rejected row).
struct RowBuilder<'a> {
    kind: LayerKind,
    /// The layer, with its fields (extra fields included) and no features yet.
    layer: &'a Layer,
    targets: &'a [Target],
    columns: &'a [SourceColumn],
    opts: &'a ImportOptions,
    /// The rows update stored features by key: their geometry is not used.
    joining: bool,
    /// The layer field of the join key.
    join_idx: Option<usize>,
    /// The field named in coordinate problems (`longitude` for CSV rows).
    x_field: &'static str,
    /// The source CRS, for messages.
    #[cfg(feature = "proj")]
    source_crs: &'a str,
    #[cfg(feature = "proj")]
    transformer: Option<crate::crs::Transformer>,
}

impl RowBuilder<'_> {
    /// True for a household layer.
    fn is_households(&self) -> bool {
        self.kind == LayerKind::Households
    }

    /// Build every record, in order.
    fn build_rows(&self, records: Vec<SourceRecord>) -> Built {
        let mut rows = Built {
            features: Vec::with_capacity(records.len()),
            ..Built::default()
        };
        for rec in records {
            self.build_row(rec, &mut rows);
        }
        rows
    }

    /// One record: a withdrawal, a rejected row, or a feature.
    fn build_row(&self, rec: SourceRecord, rows: &mut Built) {
        let row = rec.row;
        match self.withdrawal(&rec) {
            Some(Ok(w)) => {
                rows.withdrawals.push(w);
                return;
            }
            Some(Err(reason)) => {
                reject(&mut rows.issues, row, Some("code".to_owned()), reason);
                return;
            }
            None => {}
        }
        let geometry = if self.joining {
            Geometry::Point(Point::new(0.0, 0.0))
        } else {
            let Some(g) = self.geometry(row, rec.geometry, &mut rows.issues) else {
                return;
            };
            g
        };
        let (mut values, consent_error) = self.values(row, &rec.values, &mut rows.issues);
        if !self.check_lengths(row, &values, &mut rows.issues)
            || !self.check_key(row, &mut values, rows)
            || !self.check_household(row, &mut values, consent_error, rows)
        {
            return;
        }
        rows.feature_rows.push(row);
        rows.features.push(Feature {
            fid: rows.features.len() as i64 + 1,
            geometry,
            values,
        });
    }

    /// The value of core field `name` in `rec`, null when absent or unreadable.
    fn core(&self, rec: &SourceRecord, name: &str) -> Value {
        self.targets
            .iter()
            .enumerate()
            .find_map(|(ci, t)| match *t {
                Target::Core(i) if self.layer.fields[i].name == name => Some((ci, i)),
                _ => None,
            })
            .and_then(|(ci, i)| {
                core_value(
                    self.kind,
                    name,
                    self.layer.fields[i].ty,
                    rec.values.get(ci).unwrap_or(&Value::Null),
                )
                .ok()
            })
            .unwrap_or(Value::Null)
    }

    /// A household row with `consent = no` is a withdrawal: it needs only a
    /// code (an error without one). None for any other row.
    fn withdrawal(&self, rec: &SourceRecord) -> Option<Result<Withdrawal, String>> {
        if !self.is_households() {
            return None;
        }
        if self.core(rec, "consent") != Value::Bool(false) {
            return None;
        }
        let text = |name: &str| match self.core(rec, name) {
            Value::Text(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
            Value::Int(n) => Some(n.to_string()),
            _ => None,
        };
        Some(
            text("code")
                .map(|code| Withdrawal {
                    row: rec.row,
                    code,
                    submission_uuid: text("submission_uuid"),
                    cha_sector: text("cha_sector"),
                    facility: text("facility"),
                })
                .ok_or_else(|| {
                    "consent = no (a withdrawal) but no household code: nothing to delete"
                        .to_owned()
                }),
        )
    }

    /// The record's geometry in EPSG:4326, its coordinates checked, shaped to
    /// the layer's geometry type; None when the row is rejected.
    fn geometry(
        &self,
        row: usize,
        geometry: Result<Geometry<f64>, GeomError>,
        issues: &mut Vec<Issue>,
    ) -> Option<Geometry<f64>> {
        let mut geom = match geometry {
            Ok(g) => g,
            Err(e) => {
                reject(
                    issues,
                    row,
                    (!e.field.is_empty()).then_some(e.field),
                    e.reason,
                );
                return None;
            }
        };
        #[cfg(feature = "proj")]
        if let Err(reason) = self.reproject(&mut geom) {
            reject(issues, row, Some(self.x_field.to_owned()), reason);
            return None;
        }
        if !self.check_coordinates(row, &mut geom, issues) || !self.check_region(row, &geom, issues)
        {
            return None;
        }
        match shape(geom, self.kind.geometry_type()) {
            Ok((g, None)) => Some(g),
            Ok((g, Some(note))) => {
                issues.push(Issue {
                    row,
                    field: Some("geometry".to_owned()),
                    reason: note,
                    action: Action::Repaired,
                });
                Some(g)
            }
            Err(reason) => {
                reject(issues, row, Some("geometry".to_owned()), reason);
                None
            }
        }
    }

    /// Transform `geom` to EPSG:4326 (nothing to do without a transformer);
    /// `Err` says why a coordinate could not be.
    #[cfg(feature = "proj")]
    fn reproject(&self, geom: &mut Geometry<f64>) -> Result<(), String> {
        use geo::MapCoordsInPlace;
        let Some(t) = &self.transformer else {
            return Ok(());
        };
        let failed: std::cell::RefCell<Option<chaski_core::crs::CrsError>> =
            std::cell::RefCell::new(None);
        let r = t.run(|f| {
            let failed = &failed;
            geom.map_coords_in_place(|c| match f(c.x, c.y) {
                Ok((x, y)) => Coord { x, y },
                Err(e) => {
                    failed.borrow_mut().get_or_insert(e);
                    c
                }
            });
        });
        match r.err().or_else(|| failed.into_inner()) {
            Some(e) => Err(format!("outside the area of {}: {e}", self.source_crs)),
            None => Ok(()),
        }
    }

    /// Check every coordinate (see [`check_lonlat`]): a bad one rejects the
    /// row; swapped ones are exchanged with `fix_swapped` (repaired), else
    /// reject it. False when the row is rejected.
    fn check_coordinates(
        &self,
        row: usize,
        geom: &mut Geometry<f64>,
        issues: &mut Vec<Issue>,
    ) -> bool {
        let is_point = self.kind.geometry_type() == GeometryType::Point;
        let mut verdict = CoordCheck::Ok;
        {
            use geo::CoordsIter;
            for c in geom.coords_iter() {
                match check_lonlat(c.x, c.y, self.opts.region.as_ref(), is_point) {
                    CoordCheck::Ok => {}
                    v => {
                        verdict = v;
                        break;
                    }
                }
            }
        }
        match verdict {
            CoordCheck::Ok => true,
            CoordCheck::Bad(reason) => {
                reject(issues, row, Some(self.x_field.to_owned()), reason);
                false
            }
            CoordCheck::Swapped => {
                let (x, y) = first_coord(geom).map_or((0.0, 0.0), |c| (c.x, c.y));
                let region = self
                    .opts
                    .region
                    .as_ref()
                    .map_or("the region", |r| r.name.as_str());
                if self.opts.fix_swapped {
                    use geo::MapCoordsInPlace;
                    geom.map_coords_in_place(|c| Coord { x: c.y, y: c.x });
                    issues.push(Issue {
                        row,
                        field: Some(self.x_field.to_owned()),
                        reason: format!(
                            "latitude and longitude were swapped (lon {x}, lat {y} is outside {region}); exchanged"
                        ),
                        action: Action::Repaired,
                    });
                    true
                } else {
                    reject(
                        issues,
                        row,
                        Some(self.x_field.to_owned()),
                        format!(
                            "latitude and longitude look swapped: lon {x}, lat {y} is outside {region} but \
                             lon {y}, lat {x} is inside (import with --fix-swapped to exchange them)"
                        ),
                    );
                    false
                }
            }
        }
    }

    /// A geometry entirely outside the region: a household cannot belong to
    /// any CHA sector in it and is rejected; other rows get a warning. False
    /// when the row is rejected.
    fn check_region(&self, row: usize, geom: &Geometry<f64>, issues: &mut Vec<Issue>) -> bool {
        if let Some(region) = &self.opts.region
            && let Some(r) = geom.bounding_rect()
        {
            let [a, b, c, d] = region.bounds;
            if r.max().x < a || r.min().x > c || r.max().y < b || r.min().y > d {
                let reason = format!(
                    "outside {} (lon {:.5}, lat {:.5})",
                    region.name,
                    r.min().x,
                    r.min().y
                );
                if self.is_households() {
                    reject(issues, row, Some(self.x_field.to_owned()), reason);
                    return false;
                }
                issues.push(Issue {
                    row,
                    field: Some(self.x_field.to_owned()),
                    reason,
                    action: Action::Warning,
                });
            }
        }
        true
    }

    /// The layer values of a record: core values parsed (one that cannot be
    /// is left empty, with a warning), extra values converted. Also, for a
    /// household, why its consent could not be read (column, reason).
    fn values(
        &self,
        row: usize,
        raw_values: &[Value],
        issues: &mut Vec<Issue>,
    ) -> (Vec<Value>, Option<(String, String)>) {
        let is_households = self.is_households();
        let mut values = vec![Value::Null; self.layer.fields.len()];
        let mut consent_error: Option<(String, String)> = None;
        for (ci, target) in self.targets.iter().enumerate() {
            let raw = raw_values.get(ci).unwrap_or(&Value::Null);
            match *target {
                Target::Skip => {}
                Target::Core(i) => {
                    let f = &self.layer.fields[i];
                    match core_value(self.kind, &f.name, f.ty, raw) {
                        Ok(v) => values[i] = v,
                        Err(reason) if is_households && f.name == "consent" => {
                            consent_error = Some((self.columns[ci].name.clone(), reason));
                        }
                        Err(reason) if is_households && f.name == "risk_level" => {
                            issues.push(Issue {
                                row,
                                field: Some(self.columns[ci].name.clone()),
                                reason: format!("{reason}; derived from the flags instead"),
                                action: Action::Warning,
                            });
                        }
                        Err(reason) => issues.push(Issue {
                            row,
                            field: Some(self.columns[ci].name.clone()),
                            reason: format!("{reason}; left empty"),
                            action: Action::Warning,
                        }),
                    }
                }
                Target::Extra(i) => values[i] = extra_value(self.layer.fields[i].ty, raw),
            }
        }
        (values, consent_error)
    }

    /// Households: a text value longer than `max_field_chars` rejects the
    /// row. False when the row is rejected.
    fn check_lengths(&self, row: usize, values: &[Value], issues: &mut Vec<Issue>) -> bool {
        let max = self.opts.max_field_chars;
        if self.is_households()
            && let Some((i, n)) = values.iter().enumerate().find_map(|(i, v)| match v {
                Value::Text(t) if t.chars().count() > max => Some((i, t.chars().count())),
                _ => None,
            })
        {
            reject(
                issues,
                row,
                Some(self.layer.fields[i].name.clone()),
                format!(
                    "{n} characters long: a household field holds at most {max} (max_field_chars)"
                ),
            );
            return false;
        }
        true
    }

    /// The row's key. Joined: a row without the key is rejected, a repeated
    /// key warned of (the last row wins). Otherwise a missing required code
    /// rejects a private row and is assigned (`LAYER-ROW`, repaired) to
    /// others, and a repeated code is warned of (not for households, which
    /// repeat their code once per visit). False when the row is rejected.
    fn check_key(&self, row: usize, values: &mut [Value], rows: &mut Built) -> bool {
        if let Some(ki) = self.join_idx {
            let key = &self.layer.fields[ki].name;
            match to_text(&values[ki]).filter(|k| !k.trim().is_empty()) {
                None => {
                    reject(
                        &mut rows.issues,
                        row,
                        Some(key.clone()),
                        format!("no {key}: the row cannot be joined"),
                    );
                    return false;
                }
                Some(k) if !rows.seen_codes.insert(crate::join::normalize_key(&k)) => {
                    rows.issues.push(Issue {
                        row,
                        field: Some(key.clone()),
                        reason: format!(
                            "{key} '{k}' appears more than once: the last row's values win"
                        ),
                        action: Action::Warning,
                    });
                }
                Some(_) => {}
            }
        } else if let Some(ci) = self.layer.field_index("code") {
            let code_required = self
                .kind
                .core_fields()
                .iter()
                .any(|c| c.name == "code" && c.required);
            match &values[ci] {
                Value::Null if code_required && self.kind.is_private() => {
                    reject(
                        &mut rows.issues,
                        row,
                        Some("code".to_owned()),
                        "missing household code".to_owned(),
                    );
                    return false;
                }
                Value::Null if code_required => {
                    rows.codes_assigned += 1;
                    let code = format!("{}-{}", self.opts.layer, row);
                    rows.issues.push(Issue {
                        row,
                        field: Some("code".to_owned()),
                        reason: format!("missing code; assigned '{code}'"),
                        action: Action::Repaired,
                    });
                    values[ci] = Value::Text(code);
                }
                // Households repeat their code once per visit: submissions are checked instead.
                Value::Text(c) if !self.is_households() && !rows.seen_codes.insert(c.clone()) => {
                    rows.issues.push(Issue {
                        row,
                        field: Some("code".to_owned()),
                        reason: format!("code '{c}' appears more than once"),
                        action: Action::Warning,
                    });
                }
                _ => {}
            }
        }
        true
    }

    /// Households: the checks and derived values of
    /// [`crate::households::finish_row`]; its warnings are recorded, a
    /// refusal rejects the row (a refusal for consent says why the consent
    /// could not be read, when it could not). False when the row is rejected.
    fn check_household(
        &self,
        row: usize,
        values: &mut [Value],
        consent_error: Option<(String, String)>,
        rows: &mut Built,
    ) -> bool {
        if !self.is_households() {
            return true;
        }
        match crate::households::finish_row(
            self.layer,
            values,
            self.opts.known_codes.as_deref(),
            &mut rows.seen_uuids,
            row,
        ) {
            crate::households::RowCheck::Reject(field, reason) => {
                let (field, reason) = match (field.as_str(), consent_error) {
                    ("consent", Some((column, e))) => (
                        column,
                        format!("{e}: household data are stored only with the family's consent"),
                    ),
                    _ => (field, reason),
                };
                reject(&mut rows.issues, row, Some(field), reason);
                false
            }
            crate::households::RowCheck::Keep(warnings) => {
                for (field, reason) in warnings {
                    rows.issues.push(Issue {
                        row,
                        field: Some(field),
                        reason,
                        action: Action::Warning,
                    });
                }
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::point;
    use chaski_core::value::{Field, FieldType};

    type Row<'a> = (&'a str, Result<(f64, f64), &'a str>);

    fn table(rows: &[Row<'_>]) -> SourceTable {
        SourceTable {
            columns: vec![
                SourceColumn::new("codigo", FieldType::Text),
                SourceColumn::new("categoria", FieldType::Text),
                SourceColumn::new("CAMAS", FieldType::Text),
            ],
            records: rows
                .iter()
                .enumerate()
                .map(|(i, (cat, xy))| SourceRecord {
                    row: i + 2,
                    geometry: xy
                        .map(|(x, y)| point(x, y))
                        .map_err(|e| GeomError::new("lat", e)),
                    values: vec![
                        Value::Text(format!("000{i}")),
                        Value::Text((*cat).to_owned()),
                        Value::Text(format!("{i}")),
                    ],
                })
                .collect(),
            problems: vec![],
            crs: None,
            row_label: "row",
            notes: vec![],
            infer_types: true,
        }
    }

    #[test]
    fn typed_facilities_with_extra_fields() {
        let t = table(&[
            ("I-3", Ok((-74.2, -13.1))),
            ("ii e", Ok((-74.0, -13.0))),
            ("X", Ok((-74.0, -13.0))),
        ]);
        let opts = ImportOptions::new("facilities");
        let (layer, report) = build_layer(t, Path::new("f.csv"), &opts).unwrap();
        assert_eq!(layer.len(), 3);
        assert_eq!(
            layer.value(&layer.features[0], "category"),
            &Value::Text("I-3".into())
        );
        assert_eq!(
            layer.value(&layer.features[1], "category"),
            &Value::Text("II-E".into())
        );
        assert_eq!(layer.value(&layer.features[2], "category"), &Value::Null);
        // codes keep their leading zeros; CAMAS becomes an integer extra field "camas"
        assert_eq!(
            layer.value(&layer.features[0], "code"),
            &Value::Text("0000".into())
        );
        assert_eq!(
            layer.fields.last().unwrap(),
            &Field::new("camas", FieldType::Int)
        );
        assert_eq!(layer.value(&layer.features[2], "camas"), &Value::Int(2));
        assert_eq!(report.count(Action::Warning), 1);
        assert!(
            report
                .issue_line(&report.issues[0])
                .starts_with("f.csv: row 4: field 'categoria': ")
        );
    }

    #[test]
    fn bad_coordinates_are_rejected_with_reasons() {
        let t = table(&[
            ("I-1", Ok((-74.0, 95.0))),
            ("I-1", Ok((-13.1, -74.2))),
            ("I-1", Ok((0.0, 0.0))),
            ("I-1", Err("'abc' is not a number")),
            ("I-1", Ok((-74.0, -13.0))),
        ]);
        let (layer, report) =
            build_layer(t, Path::new("f.csv"), &ImportOptions::new("facilities")).unwrap();
        assert_eq!(layer.len(), 1);
        assert_eq!(report.rejected, 4);
        let reasons: Vec<&str> = report.issues.iter().map(|i| i.reason.as_str()).collect();
        assert!(
            reasons[0].contains("latitude 95 is outside -90..90"),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("look swapped"), "{reasons:?}");
        assert!(reasons[2].contains("0,0"), "{reasons:?}");
        assert!(reasons[3].contains("'abc' is not a number"), "{reasons:?}");
        let rows: Vec<usize> = report.issues.iter().map(|i| i.row).collect();
        assert_eq!(rows, [2, 3, 4, 5]);
    }

    #[test]
    fn swapped_points_can_be_fixed() {
        let t = table(&[("I-1", Ok((-13.1, -74.2)))]);
        let mut opts = ImportOptions::new("facilities");
        opts.fix_swapped = true;
        let (layer, report) = build_layer(t, Path::new("f.csv"), &opts).unwrap();
        assert_eq!(layer.features[0].geometry, point(-74.2, -13.1));
        assert_eq!(report.count(Action::Repaired), 1);
    }

    #[test]
    fn the_closest_name_wins_a_core_field_whatever_the_column_order() {
        let t = SourceTable {
            columns: vec![
                SourceColumn::new("CODCCPP02", FieldType::Text),
                SourceColumn::new("NOMCCPP02", FieldType::Text),
                SourceColumn::new("IDCCPP02", FieldType::Text),
                SourceColumn::new("TOT_POB99", FieldType::Real),
            ],
            records: vec![SourceRecord {
                row: 1,
                geometry: Ok(point(-76.56, -10.05)),
                values: vec![
                    Value::Text("0067".into()),
                    Value::Text("RACCHAPAMPA".into()),
                    Value::Text("1001050067".into()),
                    Value::Real(227.0),
                ],
            }],
            problems: vec![],
            crs: None,
            row_label: "feature",
            notes: vec![],
            infer_types: false,
        };
        let (layer, report) =
            build_layer(t, Path::new("v.gpkg"), &ImportOptions::new("communities")).unwrap();
        let f = &layer.features[0];
        assert_eq!(layer.value(f, "code"), &Value::Text("1001050067".into()));
        assert_eq!(layer.value(f, "name"), &Value::Text("RACCHAPAMPA".into()));
        assert_eq!(layer.value(f, "population"), &Value::Int(227));
        assert_eq!(layer.value(f, "codccpp02"), &Value::Text("0067".into()));
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
}
