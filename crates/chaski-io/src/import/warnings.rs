//! File-level warnings of a built layer: core fields empty on every row,
//! columns that look like an unrecognised core field, villages without a
//! population.

use super::columns::Target;
use super::options::ImportOptions;
use super::report::thousands;
use super::source::SourceColumn;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::schema::is_candidate;
use std::fmt::Write as _;

/// A column name as a TOML key of a mapping file's `[fields]`: bare when it
/// can be, else quoted.
fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// Column names for a message, at most 30.
pub(super) fn column_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut out = names
        .iter()
        .take(30)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 30 {
        let _ = write!(out, ", ... ({} in all)", names.len());
    }
    out
}

/// File-level warnings of a built layer (not households): core fields empty on
/// every row, columns that look like an unrecognised core field, villages
/// without a population.
pub(super) fn layer_warnings(
    layer: &Layer,
    columns: &[SourceColumn],
    targets: &[Target],
    opts: &ImportOptions,
    joining: bool,
    codes_assigned: usize,
    row_label: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let n = layer.features.len();
    if n == 0 {
        return warnings;
    }
    let kind = layer.kind;
    let column_of = |i: usize| {
        targets
            .iter()
            .position(|t| matches!(t, Target::Core(j) if *j == i))
            .map(|ci| columns[ci].name.as_str())
    };
    let unmatched: Vec<&str> = targets
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, Target::Extra(_)))
        .map(|(ci, _)| columns[ci].name.as_str())
        .collect();
    let lines = matches!(
        kind,
        LayerKind::Paths | LayerKind::Roads | LayerKind::Rivers
    );
    for (i, c) in kind.core_fields().iter().enumerate() {
        let column = column_of(i);
        let candidates: Vec<&str> = if column.is_none() {
            unmatched
                .iter()
                .copied()
                .filter(|col| is_candidate(c.name, col))
                .collect()
        } else {
            Vec::new()
        };
        let suggestion = |cols: &[&str]| {
            let quoted: Vec<String> = cols.iter().map(|c| format!("'{c}'")).collect();
            format!(
                "{} {} like {}: map it with a mapping file ([fields] {} = \"{}\")",
                quoted.join(", "),
                if cols.len() == 1 { "looks" } else { "look" },
                if cols.len() == 1 { "it" } else { "one" },
                toml_key(cols[0]),
                c.name
            )
        };
        let essential = c.required || (c.name == "name" && !lines);
        // Missing codes were filled with LAYER-ROW: count those, not the values.
        let empty = if c.name == "code" && codes_assigned > 0 {
            codes_assigned == n
        } else {
            layer.features.iter().all(|f| f.values[i].is_null())
        };
        if essential && empty && !joining {
            let all = format!(
                "field '{}' is empty on all {} {row_label}s",
                c.name,
                thousands(n)
            );
            let assigned = if c.name == "code" && codes_assigned == n {
                format!(" (each got the code {}-ROW)", opts.layer)
            } else {
                String::new()
            };
            warnings.push(if let Some(col) = column {
                format!("{all}: column '{col}' holds no value{assigned}")
            } else {
                let mut w = format!(
                    "{all}: no column was recognised as the {}{assigned}; columns were: {}; \
                     map one with a mapping file ([fields] COLUMN = \"{}\")",
                    c.name,
                    column_list(columns.iter().map(|c| c.name.as_str())),
                    c.name
                );
                if !candidates.is_empty() {
                    let _ = write!(w, "; {}", suggestion(&candidates));
                }
                w
            });
        } else if !candidates.is_empty() {
            warnings.push(format!(
                "no column was recognised as the {}: {}",
                c.name,
                suggestion(&candidates)
            ));
        }
    }
    if kind == LayerKind::Communities
        && !joining
        && let Some(p) = layer.field_index("population")
    {
        let unknown = layer
            .features
            .iter()
            .filter(|f| f.values[p].is_null())
            .count();
        if unknown > 0 {
            warnings.push(format!(
                "population unknown for {} of {} villages: join a census table with `--join code`",
                thousands(unknown),
                thousands(n)
            ));
        }
    }
    warnings
}
