//! Demand counted from the household records: the pregnant women (or any
//! numeric or yes/no field) of each village, under the access rules of the
//! household layer.
//!
//! Each household counts in the village whose code equals its `community`;
//! its value of the field (a count such as `pregnant`, or 1 for a `yes`) is
//! added to that village. Households with no community, or one that is not a
//! village of the surface, count in a last cell ("in no village").
//!
//! Who gets what ([`HouseholdDemand::of`]):
//!
//! - **Roles that see household records** (admin, CHA, facility) count the
//!   households they may see: all of them for an admin, those of the
//!   caller's own sector or facility for a scoped role. The counts are
//!   exact: the caller can read those records anyway.
//! - **Analysts** (and `chaski site`, whose files leave the office) count
//!   every household, and the siting sees only the table of village counts
//!   as it may be published ([`chaski_core::disclosure`]): cells of 1 to 4
//!   and cells failing the contributor rule (one CHA sector or one facility
//!   holds all but 1 to 4 of them) are suppressed, with complementary cells
//!   so that none is recoverable from the total; shown cells are rounded to
//!   5. Every suppressed cell weighs [`SUPPRESSED_DEMAND`], whatever its
//!   count. The solver, and so every site, gain and total it answers, is a
//!   function of that published table alone: asking again with other
//!   candidates or thresholds cannot tell a village of 1 pregnant woman from
//!   one of 4.
//! - **The public** may not use household demand.
//!
//! A field the caller may not read (`violence_risk` without the grant) is
//! refused like an unknown one.
//!
//! ```
//! use chaski_analysis::siting::households::{HouseholdDemand, SUPPRESSED_DEMAND};
//! use chaski_core::auth::{Access, Role};
//! use chaski_core::layer::{Feature, Layer, LayerKind};
//! use chaski_core::value::{Field, FieldType, Value};
//! use geo::{Geometry, point};
//!
//! let mut h = Layer::new("households", LayerKind::Households);
//! h.fields = vec![
//!     Field::new("code", FieldType::Text),
//!     Field::new("community", FieldType::Text),
//!     Field::new("cha_sector", FieldType::Text),
//!     Field::new("pregnant", FieldType::Int),
//! ];
//! // Village A: 7 pregnant women in sectors S1 and S2; village B: 1.
//! let rows = [("A", "S1", 3), ("A", "S2", 4), ("B", "S1", 1)];
//! for (i, (village, sector, n)) in rows.into_iter().enumerate() {
//!     h.features.push(Feature {
//!         fid: i as i64 + 1,
//!         geometry: Geometry::Point(point!(x: -74.0, y: -13.0)),
//!         values: vec![
//!             Value::Text(format!("H{i}")),
//!             Value::Text(village.into()),
//!             Value::Text(sector.into()),
//!             Value::Int(n),
//!         ],
//!     });
//! }
//! let villages = ["A".to_owned(), "B".to_owned()];
//! let admin = Access::new(Role::Admin, None, false).unwrap();
//! let exact = HouseholdDemand::of(&[h.clone()], "pregnant", &admin, &villages).unwrap();
//! assert_eq!((exact.values["A"], exact.values["B"]), (7.0, 1.0));
//! assert!(!exact.protected);
//!
//! // An analyst: B (1) is under 5 and A is its complementary cell.
//! let analyst = Access::new(Role::Analyst, None, false).unwrap();
//! let shown = HouseholdDemand::of(&[h], "pregnant", &analyst, &villages).unwrap();
//! assert!(shown.protected);
//! assert_eq!(shown.values["A"], SUPPRESSED_DEMAND);
//! assert_eq!(shown.values["B"], SUPPRESSED_DEMAND);
//! ```

use super::plan::PlanError;
use chaski_core::auth::{Access, Role, Visibility};
use chaski_core::disclosure::{Shown, contributor_discloses, protect_table_with};
use chaski_core::household::places::text;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::value::{FieldType, Value};
use std::collections::{BTreeMap, HashMap};

/// The weight of a suppressed village in a protected demand table: the
/// middle of 1 to 4.
pub const SUPPRESSED_DEMAND: f64 = 2.5;

/// Demand per village counted from household records.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdDemand {
    /// The field counted.
    pub field: String,
    /// Demand per village code (villages with none are absent).
    pub values: HashMap<String, f64>,
    /// Whether `values` is the published table ([`SUPPRESSED_DEMAND`] for
    /// suppressed villages, others rounded to 5) rather than exact counts.
    pub protected: bool,
    /// Households counted (`Shown::count` when protected).
    pub households: Shown,
    /// The demand of households in no village of the surface, as shown.
    pub outside: Shown,
}

/// Counts of one cell and who contributes to them.
#[derive(Debug, Default)]
struct Cell {
    n: u64,
    sectors: BTreeMap<String, u64>,
    facilities: BTreeMap<String, u64>,
}

impl HouseholdDemand {
    /// The demand `field` of every household layer in `layers` counted per
    /// village of `villages` (codes in the surface's order), as `access` may
    /// know it (see the module documentation).
    pub fn of(
        layers: &[Layer],
        field: &str,
        access: &Access,
        villages: &[String],
    ) -> Result<Self, PlanError> {
        if access.role == Role::Public {
            return Err(PlanError::Households(
                "demand from households needs a token (admin, CHA, facility or analyst); \
                 without one, use births from population"
                    .into(),
            ));
        }
        let layers: Vec<&Layer> = layers
            .iter()
            .filter(|l| l.kind == LayerKind::Households)
            .collect();
        if layers.is_empty() {
            return Err(PlanError::Households(
                "the store has no household layer to count demand from".into(),
            ));
        }
        let index: HashMap<&str, usize> = villages
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i))
            .collect();
        // One cell per village, then the households in no village.
        let mut cells: Vec<Cell> = (0..=villages.len()).map(|_| Cell::default()).collect();
        let mut households = 0_u64;
        for layer in layers {
            let visibility = Visibility::new(access, layer);
            let column = layer
                .field_index(field)
                .filter(|&i| !visibility.strips(i))
                .filter(|&i| {
                    matches!(
                        layer.fields[i].ty,
                        FieldType::Int | FieldType::Real | FieldType::Bool
                    )
                })
                .ok_or_else(|| {
                    PlanError::Households(format!(
                        "household layer '{}' has no numeric or yes/no field '{field}' \
                         the caller may read; numeric fields: {}",
                        layer.name,
                        readable_numbers(layer, &visibility).join(", ")
                    ))
                })?;
            for f in &layer.features {
                if !visibility.may_see(f) {
                    continue;
                }
                households += 1;
                let n = match f.values.get(column) {
                    Some(Value::Bool(b)) => u64::from(*b),
                    Some(v) => v
                        .as_f64()
                        .filter(|v| v.is_finite() && *v > 0.0)
                        .map_or(0, |v| v.round() as u64),
                    None => 0,
                };
                if n == 0 {
                    continue;
                }
                let community = text(layer, &f.values, "community");
                let cell = &mut cells[index
                    .get(community.as_str())
                    .copied()
                    .unwrap_or(villages.len())];
                cell.n += n;
                *cell
                    .sectors
                    .entry(text(layer, &f.values, "cha_sector"))
                    .or_default() += n;
                *cell
                    .facilities
                    .entry(text(layer, &f.values, "facility"))
                    .or_default() += n;
            }
        }
        let counts: Vec<u64> = cells.iter().map(|c| c.n).collect();
        let protected = !access.role.sees_households();
        let (shown, outside): (Vec<Option<f64>>, Shown) = if protected {
            let table = protect_table_with(&counts, |i| {
                contributor_discloses(cells[i].n, cells[i].sectors.values().copied())
                    || contributor_discloses(cells[i].n, cells[i].facilities.values().copied())
            });
            let shown = table.shown();
            let outside = shown[villages.len()];
            let values = shown[..villages.len()]
                .iter()
                .map(|s| match s {
                    Shown::Count(0) => None,
                    Shown::Count(n) => Some(*n as f64),
                    Shown::Under | Shown::Suppressed => Some(SUPPRESSED_DEMAND),
                })
                .collect();
            (values, outside)
        } else {
            let values = counts[..villages.len()]
                .iter()
                .map(|&n| (n > 0).then_some(n as f64))
                .collect();
            (values, Shown::Count(counts[villages.len()]))
        };
        let values = villages
            .iter()
            .zip(shown)
            .filter_map(|(code, v)| v.map(|v| (code.clone(), v)))
            .collect();
        Ok(Self {
            field: field.to_owned(),
            values,
            protected,
            households: if protected {
                Shown::count(households)
            } else {
                Shown::Count(households)
            },
            outside,
        })
    }
}

/// The numeric and yes/no fields of `layer` the caller may read.
fn readable_numbers<'a>(layer: &'a Layer, visibility: &Visibility) -> Vec<&'a str> {
    layer
        .fields
        .iter()
        .enumerate()
        .filter(|(i, f)| {
            !visibility.strips(*i)
                && matches!(f.ty, FieldType::Int | FieldType::Real | FieldType::Bool)
        })
        .map(|(_, f)| f.name.as_str())
        .collect()
}
