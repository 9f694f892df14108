//! Table 4 of the district report: households at risk, as aggregates
//! protected with [`chaski_core::disclosure`] (as `chaski summary` and
//! `/api/households/summary` are).
//!
//! Every household of every private layer is placed in the district whose
//! polygon holds its point (or in none). The figures published per district
//! are its households, its households per risk level (derived without the
//! violence risk, never the stored level) and its households with anaemia,
//! malnutrition and danger signs. They are protected in two steps, so that
//! nothing is recoverable by subtraction, neither between a district's total
//! and its parts nor between the districts and the store's total (`chaski
//! summary`), and every district's report can be asked for:
//!
//! 1. **Across districts.** The households per district, with a last cell for
//!    the households in no district, form one table whose total is known:
//!    [`protect_table_with`] suppresses cells under 5, cells failing the
//!    contributor rule (one CHA sector or one facility holds all but 1 to 4 of
//!    them) and complementary cells. A district whose total is suppressed
//!    shows no household figure at all (its zeros neither: a zero beside a
//!    hidden total of 1 to 4 would tell what those households have).
//! 2. **Within a district.** Its risk levels (alto, medio, bajo) form a table
//!    of the district's total, and each flag a table of two cells (with, without
//!    the flag, of which only the first is published), each protected the same
//!    way (contributor rule per cell). When such a table cannot be protected
//!    without hiding the district's total, the district is suppressed in step 1
//!    and step 1 runs again (until nothing changes).
//!
//! Shown counts are rounded to 5; suppressed ones are `x` (`null` in JSON),
//! whatever the reason.

use super::DistrictIndex;
use crate::travel::features::point_of;
use chaski_core::Layer;
use chaski_core::disclosure::{
    MIN_CELL, Protected as Table, ROUND_TO, Shown, contributor_discloses, protect_table_with,
};
use chaski_core::domain::RiskLevel;
use chaski_core::household::{Violence, derive_risk_level};
use chaski_core::value::Value;
use serde::Serialize;
use std::collections::BTreeMap;

/// Risk levels in table order.
pub const LEVELS: [RiskLevel; 3] = [RiskLevel::Alto, RiskLevel::Medio, RiskLevel::Bajo];

/// Flags counted: households where the flag is `yes`.
pub const FLAGS: [&str; 3] = ["anaemia", "malnutrition", "danger_signs"];

/// A count and who contributes to it.
#[derive(Debug, Clone, Default)]
struct Part {
    n: u64,
    sectors: BTreeMap<Option<String>, u64>,
    facilities: BTreeMap<Option<String>, u64>,
}

impl Part {
    fn add(&mut self, sector: Option<&str>, facility: Option<&str>) {
        self.n += 1;
        *self.sectors.entry(sector.map(str::to_owned)).or_default() += 1;
        *self
            .facilities
            .entry(facility.map(str::to_owned))
            .or_default() += 1;
    }

    /// The contributor rule ([`contributor_discloses`]) by CHA sector and by facility.
    fn discloses(&self) -> bool {
        contributor_discloses(self.n, self.sectors.values().copied())
            || contributor_discloses(self.n, self.facilities.values().copied())
    }
}

/// Households of one district (or of no district).
#[derive(Debug, Clone, Default)]
struct Cell {
    all: Part,
    levels: [Part; 3],
    /// Per flag: with it, without it (no or unknown).
    flags: [(Part, Part); 3],
}

impl Cell {
    fn protect(parts: &[&Part]) -> Table {
        let counts: Vec<u64> = parts.iter().map(|p| p.n).collect();
        protect_table_with(&counts, |i| parts[i].discloses())
    }

    fn levels(&self) -> Table {
        Self::protect(&self.levels.iter().collect::<Vec<_>>())
    }

    fn flag(&self, i: usize) -> Table {
        let (with, without) = &self.flags[i];
        Self::protect(&[with, without])
    }

    /// Whether some table of the district cannot be protected without
    /// hiding its total.
    fn needs_hidden_total(&self) -> bool {
        self.levels().total_suppressed()
            || (0..FLAGS.len()).any(|i| self.flag(i).total_suppressed())
    }
}

/// Households of one flag, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagRow {
    /// The flag (`anaemia`, `malnutrition`, `danger_signs`).
    pub flag: String,
    /// Households where it is `yes`.
    pub households: Shown,
}

/// Households of one risk level, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelRow {
    /// `alto`, `medio` or `bajo`.
    pub level: String,
    /// Households.
    pub households: Shown,
}

/// Table 4, as published: counts rounded to [`ROUND_TO`], suppressed cells
/// `null` in JSON and `x` in CSV and HTML.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdTable {
    /// Whether the store has household data.
    pub available: bool,
    /// Smallest count shown.
    pub min_cell: u64,
    /// Base of the rounding.
    pub rounded_to: u64,
    /// Households in the district.
    pub households: Shown,
    /// Per derived risk level (without the violence risk).
    pub risk_levels: Vec<LevelRow>,
    /// Per flag.
    pub flags: Vec<FlagRow>,
}

/// The households of every district, protected (see the module documentation).
pub(crate) struct Protected {
    available: bool,
    cells: Vec<Cell>,
    districts: Table,
}

fn text(layer: &Layer, f: &chaski_core::Feature, name: &str) -> Option<String> {
    match layer.value(f, name) {
        Value::Text(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
        _ => None,
    }
}

impl Protected {
    pub(crate) fn new(layers: &[Layer], index: &DistrictIndex<'_>) -> Self {
        let n = index.districts.len();
        // One cell per district and a last one for households in none.
        let mut cells = vec![Cell::default(); n + 1];
        for layer in layers {
            for f in &layer.features {
                let district = point_of(&f.geometry)
                    .and_then(|p| index.locate(p))
                    .unwrap_or(n);
                let (sector, facility) = (text(layer, f, "cha_sector"), text(layer, f, "facility"));
                let cell = &mut cells[district];
                let (sector, facility) = (sector.as_deref(), facility.as_deref());
                cell.all.add(sector, facility);
                let level = derive_risk_level(layer, &f.values, Violence::Unknown);
                if let Some(k) = LEVELS.iter().position(|&l| l == level) {
                    cell.levels[k].add(sector, facility);
                }
                for (k, flag) in FLAGS.iter().enumerate() {
                    let (with, without) = &mut cell.flags[k];
                    if layer.value(f, flag).as_bool() == Some(true) {
                        with.add(sector, facility);
                    } else {
                        without.add(sector, facility);
                    }
                }
            }
        }
        let totals: Vec<u64> = cells.iter().map(|c| c.all.n).collect();
        let mut forced = vec![false; cells.len()];
        let districts = loop {
            let table = protect_table_with(&totals, |i| forced[i] || cells[i].all.discloses());
            let mut changed = false;
            if !table.total_suppressed() {
                for (i, cell) in cells.iter().enumerate().take(n) {
                    if !table.is_suppressed(i)
                        && !forced[i]
                        && cell.all.n > 0
                        && cell.needs_hidden_total()
                    {
                        forced[i] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break table;
            }
        };
        Self {
            available: !layers.is_empty(),
            cells,
            districts,
        }
    }

    /// Whether the households of cell `i` are hidden.
    fn hidden(&self, i: usize) -> bool {
        self.districts.total_suppressed() || self.districts.is_suppressed(i)
    }

    /// Households in no district, as published.
    pub(crate) fn outside(&self) -> Shown {
        let i = self.cells.len() - 1;
        if self.hidden(i) {
            Shown::Suppressed
        } else {
            self.districts.shown()[i]
        }
    }

    /// Table 4 of district `i`.
    pub(crate) fn table(&self, i: usize) -> HouseholdTable {
        let cell = &self.cells[i];
        let hidden = self.hidden(i);
        let (households, levels, flags) = if hidden {
            (
                Shown::Suppressed,
                vec![Shown::Suppressed; LEVELS.len()],
                vec![Shown::Suppressed; FLAGS.len()],
            )
        } else {
            (
                self.districts.shown()[i],
                cell.levels().shown(),
                (0..FLAGS.len()).map(|k| cell.flag(k).shown()[0]).collect(),
            )
        };
        HouseholdTable {
            available: self.available,
            min_cell: MIN_CELL,
            rounded_to: ROUND_TO,
            households,
            risk_levels: LEVELS
                .iter()
                .zip(levels)
                .map(|(l, s)| LevelRow {
                    level: l.as_str().to_owned(),
                    households: s,
                })
                .collect(),
            flags: FLAGS
                .iter()
                .zip(flags)
                .map(|(f, s)| FlagRow {
                    flag: (*f).to_owned(),
                    households: s,
                })
                .collect(),
        }
    }
}
