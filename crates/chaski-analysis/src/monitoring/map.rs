//! The choropleth of one indicator and survey round by community: one point
//! per community (its place in the `communities` layer) carrying the cell of
//! the indicator table by community and round, and the change between the
//! baseline and endline rounds with the community's group (intervention,
//! control), for the map of community-level changes coloured by group.
//!
//! The values are those of [`indicator_table`] for the same caller (protected
//! or exact, the same rows), so a map never shows more than the table: a
//! suppressed cell carries no count, proportion or interval, only
//! `suppressed = true`; a change is given only when both of its cells are
//! shown (else `change_suppressed = true`).
//!
//! Parameters: the caller's [`Records`], the `communities` layer (code, name
//! and geometry), the indicator, the design (baseline and endline rounds), the
//! round and whether the table is protected. Returns a point layer named
//! [`LAYER`] with the fields of [`fields`], one feature per community with a
//! row in the round, the baseline or the endline.
//!
//! ```
//! use chaski_analysis::monitoring::config::Indicators;
//! use chaski_analysis::monitoring::data::{Obs, Records};
//! use chaski_analysis::monitoring::map::indicator_map;
//! use chaski_analysis::monitoring::predicate::Record;
//! use chaski_core::{Feature, Layer, LayerKind, Value};
//! let mut r = Records::default();
//! let c = r.communities.id("C1");
//! r.district_of.push(r.districts.id("unknown"));
//! r.group_of.push(r.groups.id("unknown"));
//! let (s, f) = (r.sectors.id("S1"), r.facilities.id("F1"));
//! for k in 0..20 {
//!     let mut rec = Record::default();
//!     rec.set("safe_water", Some(i64::from(k < 12)));
//!     r.list.push(Obs { code: format!("H{k}"), community: c, sector: s, facility: f, round: Some(1), date: None, record: rec });
//! }
//! let mut communities = Layer::new("communities", LayerKind::Communities);
//! let mut v = vec![Value::Null; communities.fields.len()];
//! v[communities.field_index("code").unwrap()] = "C1".into();
//! communities.features.push(Feature { fid: 1, geometry: geo::Point::new(-74.0, -13.0).into(), values: v });
//! let ind = Indicators::defaults();
//! let map = indicator_map(&r, &communities, ind.find("safe_water").unwrap(), &ind.design, 1, false).unwrap();
//! assert_eq!(map.value(&map.features[0], "proportion"), &Value::Real(0.6));
//! ```

use super::MonitoringError;
use super::config::{Design, Indicator};
use super::data::{Records, UNKNOWN};
use super::table::{By, Period, Row, indicator_table};
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::value::{Field, FieldType, Value};
use std::collections::HashMap;

/// Name of the layer (and of its tile layer).
pub const LAYER: &str = "indicators";

/// The fields of the layer, in order.
pub fn fields() -> Vec<Field> {
    let f = Field::new;
    vec![
        f("code", FieldType::Text),
        f("name", FieldType::Text),
        f("group", FieldType::Text),
        f("indicator", FieldType::Text),
        f("round", FieldType::Int),
        f("numerator", FieldType::Int),
        f("denominator", FieldType::Int),
        f("proportion", FieldType::Real),
        f("low", FieldType::Real),
        f("high", FieldType::Real),
        f("suppressed", FieldType::Bool),
        f("baseline", FieldType::Real),
        f("endline", FieldType::Real),
        f("change", FieldType::Real),
        f("change_suppressed", FieldType::Bool),
    ]
}

fn count(v: Option<u64>) -> Value {
    v.and_then(|n| i64::try_from(n).ok())
        .map_or(Value::Null, Value::Int)
}

fn real(v: Option<f64>) -> Value {
    v.filter(|x| x.is_finite()).map_or(Value::Null, Value::Real)
}

/// The choropleth layer (see the module documentation).
pub fn indicator_map(
    records: &Records,
    communities: &Layer,
    indicator: &Indicator,
    design: &Design,
    round: i64,
    protected: bool,
) -> Result<Layer, MonitoringError> {
    let table = indicator_table(
        records,
        &[indicator],
        By::Community,
        Period::Round,
        protected,
    )?;
    let mut cells: HashMap<(&str, &str), &Row> = HashMap::new();
    for r in &table.rows {
        cells.insert((r.group.as_str(), r.period.as_str()), r);
    }
    let (now, base, end) = (
        round.to_string(),
        design.baseline.to_string(),
        design.endline.to_string(),
    );
    let mut layer = Layer::new(LAYER, LayerKind::Communities);
    layer.fields = fields();
    let code_at = communities.field_index("code");
    let name_at = communities.field_index("name");
    let mut seen = std::collections::HashSet::new();
    for f in &communities.features {
        let code = match code_at.and_then(|i| f.values.get(i)) {
            Some(Value::Text(t)) if !t.trim().is_empty() => t.trim().to_owned(),
            Some(Value::Int(i)) => i.to_string(),
            _ => continue,
        };
        let at = |p: &str| cells.get(&(code.as_str(), p)).copied();
        let (cell, b, e) = (at(&now), at(&base), at(&end));
        if (cell.is_none() && b.is_none() && e.is_none()) || !seen.insert(code.clone()) {
            continue;
        }
        let group = records
            .communities
            .get(&code)
            .and_then(|c| records.group_of.get(c as usize))
            .map(|&g| records.groups.name(g))
            .filter(|g| *g != UNKNOWN)
            .map_or(Value::Null, |g| Value::Text(g.to_owned()));
        let shown = |r: Option<&Row>| r.filter(|r| !r.suppressed).and_then(|r| r.proportion);
        let change = match (shown(b), shown(e)) {
            (Some(b), Some(e)) => Some(((e - b) * 1e6).round() / 1e6),
            _ => None,
        };
        let suppressed = cell.is_some_and(|r| r.suppressed);
        let values = vec![
            Value::Text(code.clone()),
            name_at
                .and_then(|i| f.values.get(i))
                .cloned()
                .unwrap_or(Value::Null),
            group,
            Value::Text(indicator.id.clone()),
            Value::Int(round),
            count(cell.and_then(|r| r.numerator)),
            count(cell.and_then(|r| r.denominator)),
            real(cell.and_then(|r| r.proportion)),
            real(cell.and_then(|r| r.low)),
            real(cell.and_then(|r| r.high)),
            Value::Bool(suppressed),
            real(shown(b)),
            real(shown(e)),
            real(change),
            Value::Bool(b.is_some_and(|r| r.suppressed) || e.is_some_and(|r| r.suppressed)),
        ];
        layer.features.push(Feature {
            fid: f.fid,
            geometry: f.geometry.clone(),
            values,
        });
    }
    Ok(layer)
}
