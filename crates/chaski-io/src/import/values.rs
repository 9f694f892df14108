//! Source values turned into layer values: core fields parsed to their types
//! and domains, extra fields named and typed.

use super::parse::{looks_int, parse_bool, parse_date};
use chaski_core::domain::{BirthCare, Category, RiskLevel, WaterStatus};
use chaski_core::layer::LayerKind;
use chaski_core::schema::normalize_name;
use chaski_core::value::{FieldType, Value};
use std::collections::HashSet;

/// The field name of an extra column: normalised, not starting with a
/// digit, at most 60 bytes, and distinct from the names in `taken`.
pub(super) fn extra_name(raw: &str, taken: &HashSet<String>) -> String {
    let mut n = normalize_name(raw).trim_matches('_').to_owned();
    while n.contains("__") {
        n = n.replace("__", "_");
    }
    if n.is_empty() {
        "field".clone_into(&mut n);
    }
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        n = format!("f_{n}");
    }
    if n.len() > 60 {
        n.truncate(60);
    }
    let mut candidate = n.clone();
    let mut i = 2;
    while taken.contains(&candidate) {
        candidate = format!("{n}_{i}");
        i += 1;
    }
    candidate
}

/// The type of a text column from its values: Int, Real, else Text.
pub(super) fn infer_type(values: impl Iterator<Item = Option<String>>) -> FieldType {
    let mut int = true;
    let mut real = true;
    let mut any = false;
    for v in values.flatten() {
        any = true;
        if int && !looks_int(&v) {
            int = false;
        }
        if real
            && (v.parse::<f64>().map_or(true, |f| !f.is_finite())
                || v.starts_with('0') && v.len() > 1 && !v.starts_with("0."))
        {
            real = false;
        }
        if !int && !real {
            break;
        }
    }
    if !any {
        FieldType::Text
    } else if int {
        FieldType::Int
    } else if real {
        FieldType::Real
    } else {
        FieldType::Text
    }
}

/// A value as text, None for null (whole reals without a decimal part,
/// booleans as yes/no).
pub(super) fn to_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Real(r) if r.fract() == 0.0 && r.abs() < 1e15 => Some(format!("{}", *r as i64)),
        Value::Real(r) => Some(r.to_string()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_owned()),
    }
}

/// Convert a raw value to a core field's type; `Err` explains why it could not be.
pub(super) fn core_value(
    kind: LayerKind,
    name: &str,
    ty: FieldType,
    raw: &Value,
) -> Result<Value, String> {
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let text = to_text(raw).unwrap_or_default();
    let domain = |r: Result<&'static str, chaski_core::domain::ParseDomainError>| {
        r.map(|s| Value::Text(s.to_owned()))
            .map_err(|e| e.to_string())
    };
    match (kind, name) {
        (LayerKind::Facilities, "category") => {
            // MINSA writes "Sin Categoría" for facilities not yet categorised: known, not an error.
            if normalize_name(&text).starts_with("sin_categ") {
                return Ok(Value::Null);
            }
            return domain(text.parse::<Category>().map(Category::as_str));
        }
        (LayerKind::Facilities, "birth_care") => {
            return domain(text.parse::<BirthCare>().map(BirthCare::as_str));
        }
        (LayerKind::WaterSystems, "status") => {
            return domain(text.parse::<WaterStatus>().map(WaterStatus::as_str));
        }
        (LayerKind::Households, "risk_level") => {
            return domain(text.parse::<RiskLevel>().map(RiskLevel::as_str));
        }
        (LayerKind::Households, "submission_uuid") => {
            let u = crate::households::normalize_uuid(&text);
            return Ok(if u.is_empty() {
                Value::Null
            } else {
                Value::Text(u)
            });
        }
        (LayerKind::Households, "location_source") => {
            return crate::households::parse_location_source(&text)
                .map(|s| Value::Text(s.to_owned()));
        }
        _ => {}
    }
    match ty {
        FieldType::Text => Ok(Value::Text(text)),
        FieldType::Int => {
            let t = text.trim();
            let v = t.parse::<i64>().ok().or_else(|| {
                crate::csv::parse_number(t)
                    .filter(|f| f.fract() == 0.0)
                    .map(|f| f as i64)
            });
            match v {
                Some(v) if v >= 0 => Ok(Value::Int(v)),
                Some(v) => Err(format!("{v} is negative")),
                None => Err(format!("'{t}' is not a whole number")),
            }
        }
        FieldType::Real => crate::csv::parse_number(&text)
            .map(Value::Real)
            .ok_or_else(|| format!("'{text}' is not a number")),
        FieldType::Bool => match raw {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            _ => parse_bool(&text)
                .map(|b| b.map_or(Value::Null, Value::Bool))
                .map_err(|()| {
                    format!("'{text}' is not yes/no (si, no, yes, 1, 0, true, false or unknown)")
                }),
        },
        FieldType::Date => parse_date(&text)
            .map(Value::Text)
            .ok_or_else(|| format!("'{text}' is not a date (YYYY-MM-DD or DD/MM/YYYY)")),
    }
}

/// A raw value of an extra field, converted to the field's inferred type.
pub(super) fn extra_value(ty: FieldType, raw: &Value) -> Value {
    match (ty, raw) {
        (FieldType::Int, Value::Text(s)) => s.parse().map_or(Value::Null, Value::Int),
        (FieldType::Real, Value::Text(s)) => s.parse().map_or(Value::Null, Value::Real),
        (FieldType::Real, Value::Int(i)) => Value::Real(*i as f64),
        _ => raw.clone(),
    }
}
