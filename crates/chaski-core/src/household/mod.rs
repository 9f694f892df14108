//! Rules of household records that every reader and writer shares: the
//! derived risk level and the fields that may define a case.
//!
//! # Risk level
//!
//! [`derive_risk_level`] is the rule of the CHA risk screening (and of the demo
//! generator):
//!
//! * **alto** when danger signs were seen, or a child is malnourished, or there
//!   is a violence risk, or a pregnant woman lives in a household with anaemia;
//! * otherwise **medio** when there is anaemia, a pregnancy, a child under 2,
//!   or a child under 5 without safe water (`safe_water = no`);
//! * otherwise **bajo**.
//!
//! Unknown flags count as "not seen". For callers without the violence grant
//! the level is derived with [`Violence::Unknown`]: violence risk then never
//! raises a level, so `risk_level` tells nothing about it
//! ([`crate::auth::Visibility`] applies this to every record it
//! shows).
//!
//! # Risk fields
//!
//! [`RISK_FIELDS`] are the only fields a case definition (cluster flags) may
//! name: the booleans and counts of the household schema and the derived
//! level. Identifiers (`code`, `submission_uuid`, `cha`), placing fields
//! (`community`, `facility`, `cha_sector`, the point), dates and free text
//! are not risk fields: a predicate on them would single out households.
//!
//! ```
//! use chaski_core::household::{Violence, derive_risk_level, is_risk_field};
//! use chaski_core::domain::RiskLevel;
//! use chaski_core::{Layer, LayerKind, Value};
//!
//! let layer = Layer::new("households", LayerKind::Households);
//! let mut values = vec![Value::Null; layer.fields.len()];
//! values[layer.field_index("violence_risk").unwrap()] = Value::Bool(true);
//! assert_eq!(derive_risk_level(&layer, &values, Violence::Known), RiskLevel::Alto);
//! // Without the grant the same record is bajo: nothing reveals the violence risk.
//! assert_eq!(derive_risk_level(&layer, &values, Violence::Unknown), RiskLevel::Bajo);
//! assert!(is_risk_field("anaemia") && !is_risk_field("code"));
//! ```

pub mod places;
pub mod write;

use crate::domain::RiskLevel;
use crate::layer::Layer;
use crate::value::Value;

/// Fields a case definition may name (booleans, counts and the risk level).
pub const RISK_FIELDS: &[&str] = &[
    "members",
    "pregnant",
    "under2",
    "under5",
    "anaemia",
    "malnutrition",
    "danger_signs",
    "safe_water",
    "sanitation",
    "violence_risk",
    "risk_level",
];

/// Whether `name` is one of [`RISK_FIELDS`].
pub fn is_risk_field(name: &str) -> bool {
    RISK_FIELDS.contains(&name)
}

/// Whether the violence risk may count in a derived risk level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violence {
    /// Use `violence_risk` (callers with the violence grant, imports).
    Known,
    /// Treat `violence_risk` as unknown (every other caller).
    Unknown,
}

/// The risk level of a household record (see the module documentation), from
/// the layer's fields; missing fields count as unknown.
pub fn derive_risk_level(layer: &Layer, values: &[Value], violence: Violence) -> RiskLevel {
    RiskFieldsAt::new(layer).level(values, violence)
}

/// The fields the risk rule ([`derive_risk_level`]) reads.
pub const LEVEL_FIELDS: &[&str] = &[
    "danger_signs",
    "malnutrition",
    "violence_risk",
    "anaemia",
    "pregnant",
    "under2",
    "under5",
    "safe_water",
];

/// The positions in one layer of the fields the risk rule reads, looked up
/// once: [`RiskFieldsAt::level`] is [`derive_risk_level`] for many records
/// of the layer without a field look-up per record.
///
/// ```
/// use chaski_core::household::{RiskFieldsAt, Violence, derive_risk_level};
/// use chaski_core::{Layer, LayerKind, Value};
/// let layer = Layer::new("households", LayerKind::Households);
/// let mut values = vec![Value::Null; layer.fields.len()];
/// values[layer.field_index("pregnant").unwrap()] = Value::Int(1);
/// let at = RiskFieldsAt::new(&layer);
/// assert_eq!(at.level(&values, Violence::Unknown), derive_risk_level(&layer, &values, Violence::Unknown));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskFieldsAt {
    danger_signs: Option<usize>,
    malnutrition: Option<usize>,
    violence_risk: Option<usize>,
    anaemia: Option<usize>,
    pregnant: Option<usize>,
    under2: Option<usize>,
    under5: Option<usize>,
    safe_water: Option<usize>,
}

impl RiskFieldsAt {
    /// The positions of `layer`'s fields.
    pub fn new(layer: &Layer) -> Self {
        let at = |name: &str| layer.field_index(name);
        Self {
            danger_signs: at("danger_signs"),
            malnutrition: at("malnutrition"),
            violence_risk: at("violence_risk"),
            anaemia: at("anaemia"),
            pregnant: at("pregnant"),
            under2: at("under2"),
            under5: at("under5"),
            safe_water: at("safe_water"),
        }
    }

    /// The risk level of one record of the layer (see the module documentation).
    pub fn level(&self, values: &[Value], violence: Violence) -> RiskLevel {
        let get = |i: Option<usize>| i.and_then(|i| values.get(i));
        let yes = |i: Option<usize>| get(i).and_then(Value::as_bool) == Some(true);
        let no = |i: Option<usize>| get(i).and_then(Value::as_bool) == Some(false);
        let count = |i: Option<usize>| get(i).and_then(Value::as_i64).unwrap_or(0);
        let anaemia = yes(self.anaemia);
        let pregnant = count(self.pregnant) > 0;
        let violent = violence == Violence::Known && yes(self.violence_risk);
        if yes(self.danger_signs) || yes(self.malnutrition) || violent || (pregnant && anaemia) {
            RiskLevel::Alto
        } else if anaemia
            || pregnant
            || count(self.under2) > 0
            || (count(self.under5) > 0 && no(self.safe_water))
        {
            RiskLevel::Medio
        } else {
            RiskLevel::Bajo
        }
    }
}

/// Households per community as the public may see them (the figures of
/// `GET /api/households/summary?by=community` and of printed maps without
/// household rights), over every household of `layers`, by community code in
/// key order, households without a community in a group `unknown`.
///
/// Protected with [`crate::disclosure`]: counts under
/// [`MIN_CELL`](crate::disclosure::MIN_CELL) suppressed; a community
/// suppressed too when one CHA sector or one facility holds all but 1 to 4 of
/// its households ([`contributor_discloses`](crate::disclosure::contributor_discloses));
/// then complementary suppression across the communities, so that with the
/// total known no suppressed count follows by subtraction; shown counts
/// rounded to 5. Every caller computes these figures with this one function,
/// so two outputs never publish different tables of the same households.
///
/// ```
/// use chaski_core::disclosure::Shown;
/// use chaski_core::household::community_counts;
/// use chaski_core::{Feature, Layer, LayerKind, Value};
///
/// let mut layer = Layer::new("households", LayerKind::Households);
/// let (c, s) = (layer.field_index("community").unwrap(), layer.field_index("cha_sector").unwrap());
/// for (k, (community, sector)) in [("A", "S1"), ("A", "S2")].iter().cycle().take(12).chain([("B", "S3"); 3].iter()).enumerate() {
///     let mut values = vec![Value::Null; layer.fields.len()];
///     values[c] = Value::Text((*community).into());
///     values[s] = Value::Text((*sector).into());
///     layer.features.push(Feature { fid: k as i64 + 1, geometry: geo::Point::new(-74.0, -13.0).into(), values });
/// }
/// let counts = community_counts(&[layer]);
/// // B (3 households) is under 5; A is suppressed too, so B cannot be had by subtraction.
/// assert_eq!(counts, vec![("A".to_owned(), Shown::Suppressed), ("B".to_owned(), Shown::Suppressed)]);
/// ```
pub fn community_counts(layers: &[Layer]) -> Vec<(String, crate::disclosure::Shown)> {
    use crate::disclosure::{contributor_discloses, protect_table_with};
    use std::collections::BTreeMap;

    /// Households of one community: all, by CHA sector, by facility.
    #[derive(Default)]
    struct Cell {
        total: u64,
        sectors: BTreeMap<Option<String>, u64>,
        facilities: BTreeMap<Option<String>, u64>,
    }

    let mut cells: BTreeMap<String, Cell> = BTreeMap::new();
    for layer in layers {
        let idx = |name: &str| layer.field_index(name);
        let (community, sector, facility) = (idx("community"), idx("cha_sector"), idx("facility"));
        let text =
            |f: &crate::layer::Feature, i: Option<usize>| match i.and_then(|i| f.values.get(i)) {
                Some(Value::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_owned()),
                _ => None,
            };
        for f in &layer.features {
            let key = text(f, community).unwrap_or_else(|| "unknown".to_owned());
            let cell = cells.entry(key).or_default();
            cell.total += 1;
            *cell.sectors.entry(text(f, sector)).or_default() += 1;
            *cell.facilities.entry(text(f, facility)).or_default() += 1;
        }
    }
    let cells: Vec<(String, Cell)> = cells.into_iter().collect();
    let counts: Vec<u64> = cells.iter().map(|(_, c)| c.total).collect();
    let protected = protect_table_with(&counts, |i| {
        let c = &cells[i].1;
        contributor_discloses(c.total, c.sectors.values().copied())
            || contributor_discloses(c.total, c.facilities.values().copied())
    });
    cells
        .into_iter()
        .zip(protected.shown())
        .map(|((community, _), shown)| (community, shown))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::LayerKind;

    #[test]
    fn risk_rule_by_hand() {
        let layer = Layer::new("h", LayerKind::Households);
        let mut v = vec![Value::Null; layer.fields.len()];
        let set = |v: &mut Vec<Value>, f: &str, x: Value| {
            let i = layer.field_index(f).unwrap();
            v[i] = x;
        };
        let level = |v: &[Value]| derive_risk_level(&layer, v, Violence::Known);
        assert_eq!(level(&v), RiskLevel::Bajo);
        set(&mut v, "under5", Value::Int(1));
        assert_eq!(level(&v), RiskLevel::Bajo);
        set(&mut v, "safe_water", Value::Bool(false));
        assert_eq!(level(&v), RiskLevel::Medio);
        set(&mut v, "pregnant", Value::Int(1));
        assert_eq!(level(&v), RiskLevel::Medio);
        set(&mut v, "anaemia", Value::Bool(true));
        assert_eq!(level(&v), RiskLevel::Alto);
    }

    #[test]
    fn risk_fields_are_schema_fields() {
        let layer = Layer::new("h", LayerKind::Households);
        for f in RISK_FIELDS {
            assert!(layer.field_index(f).is_some(), "{f}");
        }
        for f in [
            "code",
            "submission_uuid",
            "cha",
            "cha_sector",
            "community",
            "facility",
        ] {
            assert!(!is_risk_field(f), "{f}");
        }
    }
}
