//! [`build_layer`]: a typed layer and its report from a source table.

use super::columns::Target;
use super::error::ImportError;
use super::geometry::{CoordCheck, check_lonlat, first_coord, is_wgs84, shape};
use super::options::{ImportOptions, resolve_kind};
use super::report::{Action, ImportReport, Issue};
use super::source::{SourceRecord, SourceTable};
use super::values::{core_value, extra_name, extra_value, infer_type, to_text};
use super::warnings::{column_list, layer_warnings};
use chaski_core::layer::{Feature, GeometryType, Layer, LayerKind};
use chaski_core::schema::{match_core_field_ranked, normalize_name};
use chaski_core::value::{Field, FieldType, Value};
use geo::{BoundingRect, Coord, Geometry, Point};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Build a typed layer from a source table. Only file-level problems are errors;
/// row problems go to the report.
pub fn build_layer(
    table: SourceTable,
    path: &Path,
    opts: &ImportOptions,
) -> Result<(Layer, ImportReport), ImportError> {
    let kind = resolve_kind(opts)?;
    let mut layer = Layer::new(opts.layer.clone(), kind);
    let core_count = layer.fields.len();
    let mut taken: HashSet<String> = layer.fields.iter().map(|f| f.name.clone()).collect();
    let mut core_taken = vec![false; core_count];
    let mapping = opts.mapping.as_ref();

    // Column plan.
    let is_households = kind == LayerKind::Households;
    let household_plan = is_households.then(|| {
        crate::households::plan_columns(
            &table
                .columns
                .iter()
                .map(|c| match mapping.and_then(|m| m.rename(&c.name)) {
                    Some(r) => (r.to_owned(), true),
                    None => (c.name.clone(), false),
                })
                .collect::<Vec<_>>(),
        )
    });
    let mut targets = Vec::with_capacity(table.columns.len());
    let mut extra_types: Vec<(usize, FieldType)> = Vec::new(); // (source column, type)
    let mut dropped_columns = Vec::new();
    if is_households {
        // Personal identifiers are refused, even renamed by a mapping file,
        // unless an admin's mapping allows the column by name.
        let personal: Vec<(String, &'static str)> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(ci, c)| {
                !mapping.is_some_and(|m| m.drops(&c.name) || m.allows_personal(&c.name))
                    && !matches!(
                        household_plan.as_ref().map(|p| p[*ci]),
                        Some(crate::households::ColumnUse::Skip)
                    )
            })
            .filter_map(|(_, c)| {
                crate::households::personal_identifier(&c.name)
                    .or_else(|| {
                        mapping
                            .and_then(|m| m.rename(&c.name))
                            .and_then(crate::households::personal_identifier)
                    })
                    .map(|what| (c.name.clone(), what))
            })
            .collect();
        if !personal.is_empty() {
            return Err(ImportError::PersonalData {
                path: path.to_owned(),
                columns: personal,
            });
        }
    }
    // Other kinds: each core field goes to the column that matches it best (a
    // mapping file's rename, then the field's own name, its aliases in order,
    // then their stems: see chaski_core::schema), then to the first such column.
    let mut column_core: Vec<Option<usize>> = vec![None; table.columns.len()];
    if !is_households {
        let mut best: HashMap<usize, ((bool, chaski_core::schema::MatchRank), usize)> =
            HashMap::new();
        for (ci, col) in table.columns.iter().enumerate() {
            if mapping.is_some_and(|m| m.drops(&col.name)) {
                continue;
            }
            let renamed = mapping.and_then(|m| m.rename(&col.name));
            let Some((c, rank)) = match_core_field_ranked(kind, renamed.unwrap_or(&col.name))
            else {
                continue;
            };
            let Some(i) = layer.fields.iter().position(|f| f.name == c.name) else {
                continue;
            };
            let bid = ((renamed.is_none(), rank), ci);
            best.entry(i)
                .and_modify(|b| {
                    if bid < *b {
                        *b = bid;
                    }
                })
                .or_insert(bid);
        }
        for (i, (_, ci)) in best {
            column_core[ci] = Some(i);
        }
    }
    for (ci, col) in table.columns.iter().enumerate() {
        if mapping.is_some_and(|m| m.drops(&col.name)) {
            targets.push(Target::Skip);
            continue;
        }
        let name = mapping
            .and_then(|m| m.rename(&col.name))
            .unwrap_or(&col.name);
        let core = match household_plan.as_ref().map(|p| p[ci]) {
            Some(crate::households::ColumnUse::Skip) => {
                targets.push(Target::Skip);
                continue;
            }
            Some(crate::households::ColumnUse::Core(c)) => layer
                .fields
                .iter()
                .position(|f| f.name == c.name)
                .filter(|&i| !core_taken[i]),
            Some(crate::households::ColumnUse::Extra) => None,
            None => column_core[ci],
        };
        if let Some(i) = core {
            core_taken[i] = true;
            targets.push(Target::Core(i));
        } else if is_households
            && !mapping.is_some_and(|m| m.keeps(&col.name) || m.allows_personal(&col.name))
        {
            // Only the household schema is stored.
            dropped_columns.push(col.name.clone());
            targets.push(Target::Skip);
        } else {
            let ty = if table.infer_types && col.ty == FieldType::Text {
                infer_type(
                    table
                        .records
                        .iter()
                        .map(|r| r.values.get(ci).and_then(to_text)),
                )
            } else {
                col.ty
            };
            let n = extra_name(name, &taken);
            taken.insert(n.clone());
            layer.fields.push(Field::new(n, ty));
            extra_types.push((ci, ty));
            targets.push(Target::Extra(layer.fields.len() - 1));
        }
    }

    let mut report = ImportReport {
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
    };
    // A joined table: its key must be one of its columns.
    let join_key = opts.join_key();
    let joining = join_key.is_some();
    if joining && is_households {
        return Err(ImportError::JoinHouseholds {
            path: path.to_owned(),
        });
    }
    let join_idx = match join_key {
        Some(key) => {
            let key = normalize_name(key);
            let found = layer.field_index(&key).filter(|&i| {
                targets
                    .iter()
                    .any(|t| matches!(t, Target::Core(j) | Target::Extra(j) if *j == i))
            });
            Some(found.ok_or_else(|| ImportError::JoinKey {
                path: path.to_owned(),
                key: key.clone(),
                columns: column_list(table.columns.iter().map(|c| c.name.as_str())),
            })?)
        }
        None => None,
    };
    if !dropped_columns.is_empty() {
        report.notes.push(format!(
            "columns outside the household schema were not stored: {} (an admin keeps one \
             with [options] keep = [\"COLUMN\"] in a mapping file)",
            dropped_columns.join(", ")
        ));
        report.dropped_columns = dropped_columns;
    }
    // Household rows with consent = no are withdrawals: they need only a code.
    let withdrawal_of =
        |rec: &SourceRecord| -> Option<Result<chaski_core::household::write::Withdrawal, String>> {
            if !is_households {
                return None;
            }
            let core = |name: &str| -> Value {
                targets
                    .iter()
                    .enumerate()
                    .find_map(|(ci, t)| match *t {
                        Target::Core(i) if layer.fields[i].name == name => Some((ci, i)),
                        _ => None,
                    })
                    .and_then(|(ci, i)| {
                        core_value(
                            kind,
                            name,
                            layer.fields[i].ty,
                            rec.values.get(ci).unwrap_or(&Value::Null),
                        )
                        .ok()
                    })
                    .unwrap_or(Value::Null)
            };
            if core("consent") != Value::Bool(false) {
                return None;
            }
            let text = |name: &str| match core(name) {
                Value::Text(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
                Value::Int(n) => Some(n.to_string()),
                _ => None,
            };
            Some(
                text("code")
                    .map(|code| chaski_core::household::write::Withdrawal {
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
        };
    for (row, e) in &table.problems {
        report.issues.push(Issue {
            row: *row,
            field: (!e.field.is_empty()).then(|| e.field.clone()),
            reason: e.reason.clone(),
            action: Action::Rejected,
        });
        report.rejected += 1;
    }

    // Reprojection.
    #[cfg(feature = "proj")]
    let transformer = match &table.crs {
        Some(crs) if !is_wgs84(crs) && !joining => Some(
            crate::crs::Transformer::new(crs, "EPSG:4326").map_err(|e| ImportError::Crs {
                path: path.to_owned(),
                crs: crs.clone(),
                reason: e.to_string(),
            })?,
        ),
        _ => None,
    };
    #[cfg(not(feature = "proj"))]
    if let Some(crs) = &table.crs
        && !is_wgs84(crs)
        && !joining
    {
        return Err(ImportError::Unsupported {
            path: path.to_owned(),
            what: "PROJ (reprojection)",
        });
    }
    // A file without a CRS whose coordinates are clearly not degrees.
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

    let x_field = if table.row_label == "row" {
        "longitude"
    } else {
        "geometry"
    };
    let want = kind.geometry_type();
    let is_point = want == GeometryType::Point;
    let mut seen_codes: HashSet<String> = HashSet::new();
    let mut seen_uuids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let code_idx = layer.field_index("code");
    let code_required = kind
        .core_fields()
        .iter()
        .any(|c| c.name == "code" && c.required);
    let mut issues: Vec<Issue> = Vec::new();
    let mut features = Vec::with_capacity(table.records.len());
    let mut codes_assigned = 0usize;

    for rec in table.records {
        let reject = |issues: &mut Vec<Issue>, field: Option<String>, reason: String| {
            issues.push(Issue {
                row: rec.row,
                field,
                reason,
                action: Action::Rejected,
            });
        };
        match withdrawal_of(&rec) {
            Some(Ok(w)) => {
                report.withdrawals.push(w);
                continue;
            }
            Some(Err(reason)) => {
                reject(&mut issues, Some("code".to_owned()), reason);
                continue;
            }
            None => {}
        }
        // A joined table's rows update stored features: their geometry is not used.
        let geom = if joining {
            Geometry::Point(Point::new(0.0, 0.0))
        } else {
            let mut geom = match rec.geometry {
                Ok(g) => g,
                Err(e) => {
                    reject(
                        &mut issues,
                        (!e.field.is_empty()).then_some(e.field),
                        e.reason,
                    );
                    continue;
                }
            };
            #[cfg(feature = "proj")]
            if let Some(t) = &transformer {
                use geo::MapCoordsInPlace;
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
                if let Some(e) = r.err().or_else(|| failed.into_inner()) {
                    reject(
                        &mut issues,
                        Some(x_field.to_owned()),
                        format!("outside the area of {}: {e}", report.source_crs),
                    );
                    continue;
                }
            }
            // Coordinate checks.
            let mut verdict = CoordCheck::Ok;
            {
                use geo::CoordsIter;
                for c in geom.coords_iter() {
                    match check_lonlat(c.x, c.y, opts.region.as_ref(), is_point) {
                        CoordCheck::Ok => {}
                        v => {
                            verdict = v;
                            break;
                        }
                    }
                }
            }
            match verdict {
                CoordCheck::Ok => {}
                CoordCheck::Bad(reason) => {
                    reject(&mut issues, Some(x_field.to_owned()), reason);
                    continue;
                }
                CoordCheck::Swapped => {
                    let (x, y) = first_coord(&geom).map_or((0.0, 0.0), |c| (c.x, c.y));
                    let region = opts
                        .region
                        .as_ref()
                        .map_or("the region", |r| r.name.as_str());
                    if opts.fix_swapped {
                        use geo::MapCoordsInPlace;
                        geom.map_coords_in_place(|c| Coord { x: c.y, y: c.x });
                        issues.push(Issue {
                            row: rec.row,
                            field: Some(x_field.to_owned()),
                            reason: format!(
                                "latitude and longitude were swapped (lon {x}, lat {y} is outside {region}); exchanged"
                            ),
                            action: Action::Repaired,
                        });
                    } else {
                        reject(
                            &mut issues,
                            Some(x_field.to_owned()),
                            format!(
                                "latitude and longitude look swapped: lon {x}, lat {y} is outside {region} but \
                                 lon {y}, lat {x} is inside (import with --fix-swapped to exchange them)"
                            ),
                        );
                        continue;
                    }
                }
            }
            if let Some(region) = &opts.region
                && let Some(r) = geom.bounding_rect()
            {
                let [a, b, c, d] = region.bounds;
                if r.max().x < a || r.min().x > c || r.max().y < b || r.min().y > d {
                    // A household outside the region cannot belong to any CHA sector in it.
                    if is_households {
                        reject(
                            &mut issues,
                            Some(x_field.to_owned()),
                            format!(
                                "outside {} (lon {:.5}, lat {:.5})",
                                region.name,
                                r.min().x,
                                r.min().y
                            ),
                        );
                        continue;
                    }
                    issues.push(Issue {
                        row: rec.row,
                        field: Some(x_field.to_owned()),
                        reason: format!(
                            "outside {} (lon {:.5}, lat {:.5})",
                            region.name,
                            r.min().x,
                            r.min().y
                        ),
                        action: Action::Warning,
                    });
                }
            }
            match shape(geom, want) {
                Ok((g, None)) => g,
                Ok((g, Some(note))) => {
                    issues.push(Issue {
                        row: rec.row,
                        field: Some("geometry".to_owned()),
                        reason: note,
                        action: Action::Repaired,
                    });
                    g
                }
                Err(reason) => {
                    reject(&mut issues, Some("geometry".to_owned()), reason);
                    continue;
                }
            }
        };

        // Values.
        let mut values = vec![Value::Null; layer.fields.len()];
        let mut consent_error: Option<(String, String)> = None;
        for (ci, target) in targets.iter().enumerate() {
            let raw = rec.values.get(ci).unwrap_or(&Value::Null);
            match *target {
                Target::Skip => {}
                Target::Core(i) => {
                    let f = &layer.fields[i];
                    match core_value(kind, &f.name, f.ty, raw) {
                        Ok(v) => values[i] = v,
                        Err(reason) if is_households && f.name == "consent" => {
                            consent_error = Some((table.columns[ci].name.clone(), reason));
                        }
                        Err(reason) if is_households && f.name == "risk_level" => {
                            issues.push(Issue {
                                row: rec.row,
                                field: Some(table.columns[ci].name.clone()),
                                reason: format!("{reason}; derived from the flags instead"),
                                action: Action::Warning,
                            });
                        }
                        Err(reason) => issues.push(Issue {
                            row: rec.row,
                            field: Some(table.columns[ci].name.clone()),
                            reason: format!("{reason}; left empty"),
                            action: Action::Warning,
                        }),
                    }
                }
                Target::Extra(i) => values[i] = extra_value(layer.fields[i].ty, raw),
            }
        }
        if is_households
            && let Some((i, n)) = values.iter().enumerate().find_map(|(i, v)| match v {
                Value::Text(t) if t.chars().count() > opts.max_field_chars => {
                    Some((i, t.chars().count()))
                }
                _ => None,
            })
        {
            reject(
                &mut issues,
                Some(layer.fields[i].name.clone()),
                format!(
                    "{n} characters long: a household field holds at most {} (max_field_chars)",
                    opts.max_field_chars
                ),
            );
            continue;
        }
        if let Some(ki) = join_idx {
            let key = &layer.fields[ki].name;
            match to_text(&values[ki]).filter(|k| !k.trim().is_empty()) {
                None => {
                    reject(
                        &mut issues,
                        Some(key.clone()),
                        format!("no {key}: the row cannot be joined"),
                    );
                    continue;
                }
                Some(k) if !seen_codes.insert(crate::join::normalize_key(&k)) => {
                    issues.push(Issue {
                        row: rec.row,
                        field: Some(key.clone()),
                        reason: format!(
                            "{key} '{k}' appears more than once: the last row's values win"
                        ),
                        action: Action::Warning,
                    });
                }
                Some(_) => {}
            }
        } else if let Some(ci) = code_idx {
            match &values[ci] {
                Value::Null if code_required && kind.is_private() => {
                    reject(
                        &mut issues,
                        Some("code".to_owned()),
                        "missing household code".to_owned(),
                    );
                    continue;
                }
                Value::Null if code_required => {
                    codes_assigned += 1;
                    let code = format!("{}-{}", opts.layer, rec.row);
                    issues.push(Issue {
                        row: rec.row,
                        field: Some("code".to_owned()),
                        reason: format!("missing code; assigned '{code}'"),
                        action: Action::Repaired,
                    });
                    values[ci] = Value::Text(code);
                }
                // Households repeat their code once per visit: submissions are checked instead.
                Value::Text(c) if !is_households && !seen_codes.insert(c.clone()) => {
                    issues.push(Issue {
                        row: rec.row,
                        field: Some("code".to_owned()),
                        reason: format!("code '{c}' appears more than once"),
                        action: Action::Warning,
                    });
                }
                _ => {}
            }
        }
        if is_households {
            match crate::households::finish_row(
                &layer,
                &mut values,
                opts.known_codes.as_deref(),
                &mut seen_uuids,
                rec.row,
            ) {
                crate::households::RowCheck::Reject(field, reason) => {
                    let (field, reason) = match (field.as_str(), consent_error) {
                        ("consent", Some((column, e))) => (
                            column,
                            format!(
                                "{e}: household data are stored only with the family's consent"
                            ),
                        ),
                        _ => (field, reason),
                    };
                    reject(&mut issues, Some(field), reason);
                    continue;
                }
                crate::households::RowCheck::Keep(warnings) => {
                    for (field, reason) in warnings {
                        issues.push(Issue {
                            row: rec.row,
                            field: Some(field),
                            reason,
                            action: Action::Warning,
                        });
                    }
                }
            }
        }
        report.feature_rows.push(rec.row);
        features.push(Feature {
            fid: features.len() as i64 + 1,
            geometry: geom,
            values,
        });
    }
    report.rejected += issues
        .iter()
        .filter(|i| i.action == Action::Rejected)
        .count();
    report.issues.extend(issues);
    report.issues.sort_by_key(|i| i.row);
    report.imported = features.len();
    report.withdrawn = report.withdrawals.len();
    layer.features = features;
    if !is_households {
        report.warnings = layer_warnings(
            &layer,
            &table.columns,
            &targets,
            opts,
            joining,
            codes_assigned,
            table.row_label,
        );
    }
    Ok((layer, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::point;
    use crate::import::source::{GeomError, SourceColumn};

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
