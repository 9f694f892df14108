//! The column plan: what each source column feeds in the layer (a core
//! field, a new extra field, or nothing), made in three steps: household
//! sources are checked for personal identifiers, core fields are matched to
//! their best columns, then each column gets its [`Target`].

use super::error::ImportError;
use super::source::SourceTable;
use super::values::{extra_name, infer_type, to_text};
use crate::households::ColumnUse;
use crate::mapping::Mapping;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::schema::{MatchRank, match_core_field_ranked};
use chaski_core::value::{Field, FieldType};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Where a source column's values go.
pub(super) enum Target {
    /// The layer's field of this index, a core field.
    Core(usize),
    /// The layer's field of this index, an extra field.
    Extra(usize),
    /// Not stored.
    Skip,
}

/// The column plan of a table.
pub(super) struct ColumnPlan {
    /// One per source column.
    pub(super) targets: Vec<Target>,
    /// Household sources: columns outside the household schema, not stored.
    pub(super) dropped_columns: Vec<String>,
}

/// Step 1 of [`super::build_layer`]: plan the columns of `table` for `layer`
/// (a new, empty layer of its kind), adding a field to `layer` for each extra
/// column kept. A household source with a column that looks like a personal
/// identifier is refused.
pub(super) fn plan_columns(
    table: &SourceTable,
    path: &Path,
    mapping: Option<&Mapping>,
    layer: &mut Layer,
) -> Result<ColumnPlan, ImportError> {
    let household_plan = (layer.kind == LayerKind::Households)
        .then(|| household_columns(table, mapping))
        .map(|plan| refuse_personal_data(table, path, mapping, plan))
        .transpose()?;
    let column_core = match household_plan {
        Some(_) => vec![None; table.columns.len()],
        None => match_core_columns(table, mapping, layer),
    };
    Ok(assign_targets(
        table,
        mapping,
        household_plan.as_deref(),
        &column_core,
        layer,
    ))
}

/// Plan step 1 (households): each column's use in the household schema, under
/// the mapping file's renames (see [`crate::households::plan_columns`]).
fn household_columns(table: &SourceTable, mapping: Option<&Mapping>) -> Vec<ColumnUse> {
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
}

/// Plan step 2 (households): refuse columns that look like personal identifiers,
/// even renamed by a mapping file, unless an admin's mapping allows the
/// column by name (or drops it). Returns `plan` when none is left.
fn refuse_personal_data(
    table: &SourceTable,
    path: &Path,
    mapping: Option<&Mapping>,
    plan: Vec<ColumnUse>,
) -> Result<Vec<ColumnUse>, ImportError> {
    let personal: Vec<(String, &'static str)> = table
        .columns
        .iter()
        .enumerate()
        .filter(|(ci, c)| {
            !mapping.is_some_and(|m| m.drops(&c.name) || m.allows_personal(&c.name))
                && !matches!(plan[*ci], ColumnUse::Skip)
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
    if personal.is_empty() {
        Ok(plan)
    } else {
        Err(ImportError::PersonalData {
            path: path.to_owned(),
            columns: personal,
        })
    }
}

/// Plan step 2 (other kinds): the core field each column feeds, if any. Each core
/// field goes to the column that matches it best (a mapping file's rename,
/// then the field's own name, its aliases in order, then their stems: see
/// [`chaski_core::schema`]), then to the first such column.
fn match_core_columns(
    table: &SourceTable,
    mapping: Option<&Mapping>,
    layer: &Layer,
) -> Vec<Option<usize>> {
    let mut column_core: Vec<Option<usize>> = vec![None; table.columns.len()];
    let mut best: HashMap<usize, ((bool, MatchRank), usize)> = HashMap::new();
    for (ci, col) in table.columns.iter().enumerate() {
        if mapping.is_some_and(|m| m.drops(&col.name)) {
            continue;
        }
        let renamed = mapping.and_then(|m| m.rename(&col.name));
        let Some((c, rank)) = match_core_field_ranked(layer.kind, renamed.unwrap_or(&col.name))
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
    column_core
}

/// Plan step 3: each column's target, in column order. A core field goes to one
/// column only; household sources keep only the household schema (and the
/// columns a mapping file keeps or allows); other columns become extra
/// fields, added to `layer` (CSV text columns with an inferred type).
fn assign_targets(
    table: &SourceTable,
    mapping: Option<&Mapping>,
    household_plan: Option<&[ColumnUse]>,
    column_core: &[Option<usize>],
    layer: &mut Layer,
) -> ColumnPlan {
    let is_households = layer.kind == LayerKind::Households;
    let mut taken: HashSet<String> = layer.fields.iter().map(|f| f.name.clone()).collect();
    let mut core_taken = vec![false; layer.fields.len()];
    let mut targets = Vec::with_capacity(table.columns.len());
    let mut dropped_columns = Vec::new();
    for (ci, col) in table.columns.iter().enumerate() {
        if mapping.is_some_and(|m| m.drops(&col.name)) {
            targets.push(Target::Skip);
            continue;
        }
        let name = mapping
            .and_then(|m| m.rename(&col.name))
            .unwrap_or(&col.name);
        let core = match household_plan.map(|p| p[ci]) {
            Some(ColumnUse::Skip) => {
                targets.push(Target::Skip);
                continue;
            }
            Some(ColumnUse::Core(c)) => layer
                .fields
                .iter()
                .position(|f| f.name == c.name)
                .filter(|&i| !core_taken[i]),
            Some(ColumnUse::Extra) => None,
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
            targets.push(Target::Extra(layer.fields.len() - 1));
        }
    }
    ColumnPlan {
        targets,
        dropped_columns,
    }
}
