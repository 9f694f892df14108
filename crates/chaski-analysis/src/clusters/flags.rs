//! Case flags: which households are cases. A flag is a boolean risk field
//! (`anaemia`) or a predicate on one (`risk_level=alto`, `pregnant>0`); a flag
//! on a household with no value is not true.

use super::error::ClustersError;
use super::options::{By, ClusterOptions, Method};
use chaski_core::household::RISK_FIELDS;
use chaski_core::layer::Layer;
use chaski_core::value::{FieldType, Value};

/// Comparison of a predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One parsed flag.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Flag {
    pub(crate) field: usize,
    /// None: a boolean field that must be true.
    cmp: Option<(Op, String)>,
    ty: FieldType,
    pub(crate) text: String,
}

/// A flag as written: the field's name and the comparison, if any
/// (`pregnant>0` is `pregnant`, `>`, `0`).
fn split_flag(raw: &str) -> (&str, Option<(Op, String)>) {
    let ops = [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("!=", Op::Ne),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    let found = ops
        .iter()
        .filter_map(|&(s, op)| raw.find(s).map(|at| (at, s, op)))
        .min_by_key(|&(at, s, _)| (at, std::cmp::Reverse(s.len())));
    match found {
        Some((at, s, op)) => (
            raw[..at].trim(),
            Some((op, raw[at + s.len()..].trim().to_owned())),
        ),
        None => (raw, None),
    }
}

/// The fields [`find_clusters`] reads for the flags `spec`: every risk
/// field, the code and community, and each field the flags name (so that a
/// layer read with only these fields, e.g. with
/// [`chaski_core::store::Store::read_layer_fields`], gives the same answer and
/// the same errors as the whole layer).
pub fn needed_fields(spec: &str) -> Vec<String> {
    let mut names: Vec<String> = RISK_FIELDS
        .iter()
        .chain(&["code", "community"])
        .map(|&s| s.to_owned())
        .collect();
    for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = split_flag(raw).0.to_owned();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The fields a run with `opts` reads: each field the flags name, the code
/// with [`ClusterOptions::with_members`] and the community for Gi* by
/// community. A layer read with only these gives the same clusters as the
/// whole layer; a flag error, though, lists the layer's risk fields, so
/// report it from a layer read with [`needed_fields`] (as `chaski clusters`
/// does).
pub fn fields_used(opts: &ClusterOptions) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    };
    for raw in opts
        .flags
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        add(split_flag(raw).0);
    }
    if opts.with_members {
        add("code");
    }
    if opts.method == Method::Gistar && opts.by == By::Community {
        add("community");
    }
    names
}

pub(crate) fn parse_flags(layer: &Layer, spec: &str) -> Result<Vec<Flag>, ClustersError> {
    let mut flags = Vec::new();
    for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, cmp) = split_flag(raw);
        let risk_fields = || {
            RISK_FIELDS
                .iter()
                .copied()
                .filter(|f| layer.field_index(f).is_some())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let field = layer
            .field_index(name)
            .ok_or_else(|| ClustersError::UnknownField {
                field: name.to_owned(),
                layer: layer.name.clone(),
                valid: risk_fields(),
            })?;
        if !RISK_FIELDS.contains(&layer.fields[field].name.as_str()) {
            return Err(ClustersError::NotRiskField {
                field: name.to_owned(),
                layer: layer.name.clone(),
                valid: risk_fields(),
            });
        }
        let ty = layer.fields[field].ty;
        let bad = |reason: String| ClustersError::Flag {
            flag: raw.to_owned(),
            reason,
        };
        match (&cmp, ty) {
            (None, FieldType::Bool) | (Some(_), FieldType::Text | FieldType::Date) => {}
            (None, _) => {
                return Err(bad(format!(
                    "field '{name}' is {}, not yes/no: use a comparison such as {name}>0 or {name}=VALUE",
                    ty.as_str()
                )));
            }
            (Some((_, v)), _) if v.is_empty() => {
                return Err(bad("no value after the operator".into()));
            }
            (Some((_, v)), FieldType::Int | FieldType::Real) => {
                if v.parse::<f64>().is_err() {
                    return Err(bad(format!(
                        "'{v}' is not a number ({name} is {})",
                        ty.as_str()
                    )));
                }
            }
            (Some((op, v)), FieldType::Bool) => {
                if !matches!(op, Op::Eq | Op::Ne) || parse_bool(v).is_none() {
                    return Err(bad(format!(
                        "{name} is yes/no: use {name}=yes or {name}=no"
                    )));
                }
            }
        }
        flags.push(Flag {
            field,
            cmp,
            ty,
            text: raw.to_owned(),
        });
    }
    if flags.is_empty() {
        return Err(ClustersError::Flag {
            flag: spec.to_owned(),
            reason: "no flag given".into(),
        });
    }
    Ok(flags)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "1" | "si" | "sí" => Some(true),
        "no" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Whether the flag holds: Null never does.
pub(crate) fn holds(flag: &Flag, v: &Value) -> bool {
    if v.is_null() {
        return false;
    }
    let Some((op, want)) = &flag.cmp else {
        return v.as_bool() == Some(true);
    };
    let ord = match flag.ty {
        FieldType::Int | FieldType::Real => match (v.as_f64(), want.parse::<f64>()) {
            (Some(a), Ok(b)) => a.partial_cmp(&b),
            _ => None,
        },
        FieldType::Bool => match (v.as_bool(), parse_bool(want)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => None,
        },
        FieldType::Text | FieldType::Date => {
            Some(v.to_string().to_lowercase().cmp(&want.to_lowercase()))
        }
    };
    let Some(ord) = ord else { return false };
    match op {
        Op::Eq => ord.is_eq(),
        Op::Ne => ord.is_ne(),
        Op::Gt => ord.is_gt(),
        Op::Ge => ord.is_ge(),
        Op::Lt => ord.is_lt(),
        Op::Le => ord.is_le(),
    }
}
