//! Joining a table to a stored layer by a key: a census table (code,
//! population, households; no coordinates needed) fills in the attributes of
//! the villages already stored.
//!
//! `chaski import TABLE --layer communities --join code` (or a mapping file's
//! `[join] key = "code"`) reads the table with [`crate::import::build_layer`]
//! (columns matched to core fields as in any import, rows without a key
//! rejected), then [`join_into`] reads the stored layer and writes the changes
//! in one store transaction ([`Store::edit_layer`]):
//!
//! - keys compare without surrounding blanks or case, and all-digit keys
//!   without their leading zeros (spreadsheets drop them: `0101010001` and
//!   `101010001` are one code);
//! - a row updates every stored feature with its key: each non-empty value of
//!   the row replaces the stored value of its field (converted to the stored
//!   field's type), empty cells leave the stored value as it was, the geometry
//!   and the other fields are kept, and fields the layer lacks are added;
//!   when several rows have one key the last one's values win;
//! - rows whose key is stored nowhere are listed with their row numbers
//!   ([`JoinSummary::unmatched`]), and the stored features that no row
//!   reached are counted.

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::{EditScope, LayerEdit, Store, StoreError};
use chaski_core::value::{Field, FieldType, Value};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// A row of the table whose key is not stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedRow {
    /// Row (CSV, header = 1) or feature number.
    pub row: usize,
    /// Its key, as written.
    pub key: String,
}

/// Values of a table field that could not take the stored field's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotConverted {
    /// The field.
    pub field: String,
    /// Its type in the store.
    pub stored_type: String,
    /// How many values were left as stored.
    pub count: usize,
    /// The first such value.
    pub example: String,
}

/// What a join did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JoinSummary {
    /// The stored layer.
    pub layer: String,
    /// The field joined on.
    pub key: String,
    /// Table rows with a key.
    pub rows: usize,
    /// Rows whose key is stored.
    pub matched: usize,
    /// Rows whose key is stored nowhere, all of them, in row order.
    pub unmatched: Vec<UnmatchedRow>,
    /// Rows matched only once leading zeros were ignored.
    pub matched_without_zeros: usize,
    /// Stored features reached by a row.
    pub features_matched: usize,
    /// Stored features whose values changed.
    pub features_updated: usize,
    /// Stored features no row reached.
    pub features_without_row: usize,
    /// Stored features.
    pub stored: usize,
    /// Fields given a value by at least one row.
    pub fields: Vec<String>,
    /// Values that could not take the stored field's type (left as stored).
    pub not_converted: Vec<NotConverted>,
    /// Communities: stored villages whose population is still unknown.
    pub population_unknown: Option<usize>,
    /// The store's data version after the join.
    pub version: u64,
}

/// A join could not be made (nothing was written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// There is no stored layer to join to.
    #[error(
        "{file}: no layer '{layer}' in the store to join to: import the layer first \
         (chaski import FILE --layer {layer}), then join the table"
    )]
    NoLayer {
        /// The table file.
        file: PathBuf,
        /// The layer.
        layer: String,
    },
    /// The stored layer has no field of the key's name.
    #[error("{file}: layer '{layer}' has no field '{key}' to join on (its fields: {fields})")]
    NoKey {
        /// The table file.
        file: PathBuf,
        /// The layer.
        layer: String,
        /// The key.
        key: String,
        /// The layer's fields.
        fields: String,
    },
    /// The store refused the write.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A key as compared: trimmed, upper case, and without leading zeros when it
/// is all digits.
pub fn normalize_key(key: &str) -> String {
    let k = key.trim();
    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) {
        let z = k.trim_start_matches('0');
        if z.is_empty() { "0" } else { z }.to_owned()
    } else {
        k.to_uppercase()
    }
}

/// A value as key text.
fn key_text(v: &Value) -> Option<String> {
    let t = match v {
        Value::Null => return None,
        Value::Text(s) => s.trim().to_owned(),
        Value::Int(i) => i.to_string(),
        Value::Real(r) if r.fract() == 0.0 && r.abs() < 1e15 => format!("{}", *r as i64),
        Value::Real(r) => r.to_string(),
        Value::Bool(b) => b.to_string(),
    };
    (!t.is_empty()).then_some(t)
}

/// `v` as a value of type `ty`, if it can be one.
fn convert(v: &Value, ty: FieldType) -> Option<Value> {
    match (ty, v) {
        (_, Value::Null) => None,
        (FieldType::Text, _) => key_text(v).map(Value::Text),
        (FieldType::Int, Value::Int(_))
        | (FieldType::Real, Value::Real(_))
        | (FieldType::Bool, Value::Bool(_)) => Some(v.clone()),
        (FieldType::Int, Value::Real(r)) if r.fract() == 0.0 && r.abs() < 1e15 => {
            Some(Value::Int(*r as i64))
        }
        (FieldType::Int, Value::Text(s)) => crate::csv::parse_number(s)
            .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
            .map(|f| Value::Int(f as i64)),
        (FieldType::Real, Value::Int(i)) => Some(Value::Real(*i as f64)),
        (FieldType::Real, Value::Text(s)) => crate::csv::parse_number(s).map(Value::Real),
        (FieldType::Date, Value::Text(s)) => crate::import::parse::parse_date(s).map(Value::Text),
        _ => None,
    }
}

/// The changes a join makes to `stored`: `table` (features with their source
/// `rows`) matched on field `key`. Pure: [`join_into`] writes them.
pub fn plan_join(
    stored: &Layer,
    table: &Layer,
    rows: &[usize],
    key: &str,
    file: &Path,
) -> Result<(LayerEdit, JoinSummary), JoinError> {
    let no_key = |layer: &Layer| JoinError::NoKey {
        file: file.to_owned(),
        layer: layer.name.clone(),
        key: key.to_owned(),
        fields: layer
            .fields
            .iter()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let ks = stored.field_index(key).ok_or_else(|| no_key(stored))?;
    let kt = table.field_index(key).ok_or_else(|| no_key(table))?;

    // Stored features by key: exact keys, and all-digit keys without leading zeros.
    let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
    let mut loose: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, f) in stored.features.iter().enumerate() {
        if let Some(k) = f.values.get(ks).and_then(key_text) {
            loose.entry(normalize_key(&k)).or_default().push(i);
            exact.entry(k.to_uppercase()).or_default().push(i);
        }
    }

    let mut fields = stored.fields.clone();
    // Where each table field goes among `fields` (added when first used).
    let mut target: Vec<Option<usize>> = vec![None; table.fields.len()];
    let mut new_values: HashMap<usize, Vec<Value>> = HashMap::new();
    let mut used = BTreeSet::new();
    let mut not_converted: Vec<NotConverted> = Vec::new();
    let mut summary = JoinSummary {
        layer: stored.name.clone(),
        key: key.to_owned(),
        stored: stored.features.len(),
        ..JoinSummary::default()
    };
    for (t, feature) in table.features.iter().enumerate() {
        let row = rows.get(t).copied().unwrap_or(t + 1);
        let Some(k) = feature.values.get(kt).and_then(key_text) else {
            continue;
        };
        summary.rows += 1;
        let found = if let Some(found) = exact.get(&k.to_uppercase()) {
            found
        } else if let Some(found) = loose.get(&normalize_key(&k)) {
            summary.matched_without_zeros += 1;
            found
        } else {
            summary.unmatched.push(UnmatchedRow { row, key: k });
            continue;
        };
        summary.matched += 1;
        for &fi in found {
            let values = new_values
                .entry(fi)
                .or_insert_with(|| stored.features[fi].values.clone());
            for (j, v) in feature.values.iter().enumerate() {
                if j == kt || v.is_null() {
                    continue;
                }
                let idx = *target[j].get_or_insert_with(|| {
                    let f = &table.fields[j];
                    fields
                        .iter()
                        .position(|s| s.name == f.name)
                        .unwrap_or_else(|| {
                            fields.push(Field::new(f.name.clone(), f.ty));
                            fields.len() - 1
                        })
                });
                let ty = fields[idx].ty;
                if let Some(c) = convert(v, ty) {
                    if values.len() <= idx {
                        values.resize(idx + 1, Value::Null);
                    }
                    values[idx] = c;
                    used.insert(idx);
                } else {
                    let name = &fields[idx].name;
                    match not_converted.iter_mut().find(|n| &n.field == name) {
                        Some(n) => n.count += 1,
                        None => not_converted.push(NotConverted {
                            field: name.clone(),
                            stored_type: ty.as_str().to_owned(),
                            count: 1,
                            example: key_text(v).unwrap_or_default(),
                        }),
                    }
                }
            }
        }
    }
    summary.features_matched = new_values.len();
    summary.features_without_row = stored.features.len() - new_values.len();
    summary.fields = used.iter().map(|&i| fields[i].name.clone()).collect();
    summary.not_converted = not_converted;

    let mut changed: Vec<(usize, Vec<Value>)> = new_values
        .into_iter()
        .filter_map(|(fi, mut values)| {
            values.resize(fields.len(), Value::Null);
            let old = &stored.features[fi].values;
            let same = values.len() >= old.len()
                && values[..old.len()] == old[..]
                && values[old.len()..].iter().all(Value::is_null);
            (!same).then_some((fi, values))
        })
        .collect();
    changed.sort_by_key(|(fi, _)| *fi);
    if stored.kind == LayerKind::Communities
        && let Some(p) = stored.field_index("population")
    {
        let by_fi: HashMap<usize, &Vec<Value>> = changed.iter().map(|(i, v)| (*i, v)).collect();
        summary.population_unknown = Some(
            stored
                .features
                .iter()
                .enumerate()
                .filter(|(i, f)| by_fi.get(i).map_or(&f.values, |v| *v)[p].is_null())
                .count(),
        );
    }
    summary.features_updated = changed.len();
    let updates = changed
        .into_iter()
        .map(|(fi, values)| Feature {
            fid: stored.features[fi].fid,
            geometry: stored.features[fi].geometry.clone(),
            values,
        })
        .collect();
    Ok((
        LayerEdit {
            fields,
            updates,
            inserts: Vec::new(),
            deletes: Vec::new(),
        },
        summary,
    ))
}

/// Join `table` (read from `file`; `rows` are its features' source rows) to
/// the stored layer of the same name on field `key`, in one store transaction.
pub fn join_into(
    store: &dyn Store,
    table: &Layer,
    rows: &[usize],
    key: &str,
    file: &Path,
) -> Result<JoinSummary, JoinError> {
    let mut outcome: Option<Result<JoinSummary, JoinError>> = None;
    let edited = store.edit_layer(&table.name, table.kind, EditScope::All, &mut |stored| {
        let stored = stored?;
        match plan_join(stored, table, rows, key, file) {
            Ok((edit, summary)) => {
                outcome = Some(Ok(summary));
                Some(edit)
            }
            Err(e) => {
                outcome = Some(Err(e));
                None
            }
        }
    })?;
    match outcome {
        None => Err(JoinError::NoLayer {
            file: file.to_owned(),
            layer: table.name.clone(),
        }),
        Some(Err(e)) => Err(e),
        Some(Ok(mut summary)) => {
            summary.version = match edited {
                Some(e) => e.version,
                None => store.version()?,
            };
            Ok(summary)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaski_core::store::WriteMode;
    use chaski_core::store::memory::MemoryStore;
    use geo::{Geometry, Point};

    fn village(code: &str, name: &str, lon: f64) -> Feature {
        Feature {
            fid: 0,
            geometry: Geometry::Point(Point::new(lon, -13.0)),
            values: vec![
                code.into(),
                name.into(),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        }
    }

    fn stored() -> Layer {
        let mut l = Layer::new("communities", LayerKind::Communities);
        l.features = vec![
            village("0501010001", "Quinua", -74.1),
            village("0501010002", "Tambo", -74.0),
            village("0501010003", "Chilcas", -73.9),
        ];
        l
    }

    fn census(rows: &[(&str, Option<i64>, Option<&str>)]) -> Layer {
        let mut l = Layer::new("communities", LayerKind::Communities);
        l.fields.push(Field::new("area", FieldType::Text));
        l.features = rows
            .iter()
            .map(|(code, pop, area)| Feature {
                fid: 0,
                geometry: Geometry::Point(Point::new(0.0, 0.0)),
                values: vec![
                    (*code).into(),
                    Value::Null,
                    Value::Null,
                    pop.map_or(Value::Null, Value::Int),
                    Value::Null,
                    Value::Null,
                    area.map_or(Value::Null, |a| Value::Text(a.to_owned())),
                ],
            })
            .collect();
        l
    }

    #[test]
    fn rows_update_only_their_values_of_the_features_with_their_key() {
        let store = MemoryStore::new();
        store.write_layer(&stored(), WriteMode::Replace).unwrap();
        let table = census(&[
            ("0501010001", Some(812), Some("rural")),
            ("501010003", Some(95), None), // Excel dropped the leading zero
            ("0599999999", Some(10), None),
        ]);
        let s = join_into(&store, &table, &[2, 3, 4], "code", Path::new("censo.csv")).unwrap();
        assert_eq!((s.rows, s.matched, s.matched_without_zeros), (3, 2, 1));
        assert_eq!(
            s.unmatched,
            [UnmatchedRow {
                row: 4,
                key: "0599999999".into()
            }]
        );
        assert_eq!((s.features_updated, s.features_without_row), (2, 1));
        assert_eq!(s.fields, ["population", "area"]);
        assert_eq!(s.population_unknown, Some(1));
        let l = store.read_layer("communities").unwrap();
        let by_code = |c: &str| {
            l.features
                .iter()
                .find(|f| l.value(f, "code") == &Value::Text(c.into()))
                .unwrap()
        };
        let q = by_code("0501010001");
        assert_eq!(l.value(q, "population"), &Value::Int(812));
        assert_eq!(l.value(q, "name"), &Value::Text("Quinua".into()));
        assert_eq!(l.value(q, "area"), &Value::Text("rural".into()));
        assert_eq!(q.geometry, Geometry::Point(Point::new(-74.1, -13.0)));
        assert_eq!(
            l.value(by_code("0501010003"), "population"),
            &Value::Int(95)
        );
        // Not in the table: unknown stays unknown (null, never 0).
        assert_eq!(l.value(by_code("0501010002"), "population"), &Value::Null);
        // The same table again changes nothing.
        let again = join_into(&store, &table, &[2, 3, 4], "code", Path::new("censo.csv")).unwrap();
        assert_eq!((again.matched, again.features_updated), (2, 0));
        assert_eq!(again.version, s.version);
    }

    #[test]
    fn a_missing_layer_or_key_is_an_error_naming_the_file() {
        let store = MemoryStore::new();
        let table = census(&[("1", Some(1), None)]);
        let e = join_into(&store, &table, &[2], "code", Path::new("censo.csv")).unwrap_err();
        assert!(matches!(e, JoinError::NoLayer { .. }), "{e}");
        assert!(e.to_string().contains("censo.csv"), "{e}");
        store.write_layer(&stored(), WriteMode::Replace).unwrap();
        let e = join_into(&store, &table, &[2], "area", Path::new("censo.csv")).unwrap_err();
        assert!(e.to_string().contains("no field 'area'"), "{e}");
    }

    #[test]
    fn values_take_the_stored_type() {
        assert_eq!(
            convert(&Value::Text("1.234".into()), FieldType::Real),
            Some(Value::Real(1.234))
        );
        assert_eq!(
            convert(&Value::Real(12.0), FieldType::Int),
            Some(Value::Int(12))
        );
        assert_eq!(convert(&Value::Text("x".into()), FieldType::Int), None);
        assert_eq!(
            convert(&Value::Int(7), FieldType::Text),
            Some(Value::Text("7".into()))
        );
        assert_eq!(normalize_key(" 0067 "), "67");
        assert_eq!(normalize_key("abc-1"), "ABC-1");
    }
}
