//! The CHA visit schedule: per CHA sector, the at-risk households whose last
//! visit is more than `every` days before `as_of`, or that have no visit date.
//!
//! A household is its code within its CHA sector (the unit a CHA visits); its
//! last visit is the latest `visit_date` of its records, and it is **at risk**
//! when its latest record (by visit date) has the risk level `alto` or
//! `medio` (the rule of [`chaski_core::household`], derived without the
//! violence risk unless the caller holds the violence grant). Households
//! without a CHA sector are not on any CHA's list.
//!
//! Who gets what: a CHA token the list of its own sector (codes, community,
//! last visit, days since, risk level — never names); an admin every
//! sector's list; a facility token and an analyst the number of due
//! households per CHA sector (a facility: of its own households), protected
//! as every published count ([`chaski_core::disclosure::protect_table`]:
//! 1 to 4 suppressed, complementary suppression, rounded to 5). The public
//! gets nothing (the server answers 401).
//!
//! Parameters: the records the caller's access admits ([`Records::new`]), the
//! role, the day of the schedule and the interval in days. Returns [`Due`].
//!
//! ```
//! use chaski_analysis::monitoring::data::{Obs, Records};
//! use chaski_analysis::monitoring::predicate::Record;
//! use chaski_analysis::monitoring::visits::{Due, due_visits};
//! use chaski_core::auth::Role;
//! use chrono::NaiveDate;
//! let mut r = Records::default();
//! let (c, s, f) = (r.communities.id("C1"), r.sectors.id("S1"), r.facilities.id("F1"));
//! let mut rec = Record::default();
//! rec.set("risk_level", Some(2)); // alto
//! let day = |d| NaiveDate::from_ymd_opt(2026, 3, d);
//! r.list.push(Obs { code: "H1".into(), community: c, sector: s, facility: f, round: Some(1), date: day(1), record: rec });
//! let as_of = NaiveDate::from_ymd_opt(2026, 4, 15).unwrap();
//! let Due::List(list) = due_visits(&r, Role::Cha, as_of, 30) else { panic!() };
//! assert_eq!((list[0].code.as_str(), list[0].days_since), ("H1", Some(45)));
//! ```

use super::data::{Records, UNKNOWN};
use super::predicate::field_index;
use chaski_core::auth::Role;
use chaski_core::disclosure::{MIN_CELL, ROUND_TO, Shown, protect_table};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One due household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueHousehold {
    /// CHA sector.
    pub cha_sector: String,
    /// Household code.
    pub code: String,
    /// Community code.
    pub community: String,
    /// Last visit date (None: never visited, or no date recorded).
    pub last_visit: Option<String>,
    /// Days from the last visit to the schedule's day.
    pub days_since: Option<i64>,
    /// `alto` or `medio`.
    pub risk_level: String,
}

/// Due households per CHA sector, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueCount {
    /// CHA sector.
    pub cha_sector: String,
    /// Due households (None: suppressed).
    pub due: Shown,
}

/// The answer for one caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// The households, by sector, never visited first, then the longest
    /// since the last visit.
    List(Vec<DueHousehold>),
    /// Counts per sector (protected).
    Counts(Vec<DueCount>),
    /// Nothing (public callers).
    Refused,
}

impl Due {
    /// The answer as JSON fields.
    pub fn to_json(&self, as_of: NaiveDate, every: u32) -> serde_json::Value {
        let mut v = serde_json::json!({
            "as_of": as_of.to_string(),
            "every_days": every,
        });
        match self {
            Self::List(list) => {
                v["households"] = serde_json::to_value(list).unwrap_or_default();
                v["count"] = list.len().into();
            }
            Self::Counts(c) => {
                v["sectors"] = serde_json::to_value(c).unwrap_or_default();
                v["min_cell"] = MIN_CELL.into();
                v["rounded_to"] = ROUND_TO.into();
            }
            Self::Refused => {}
        }
        v
    }
}

/// The due households of `records` (every sector of them), by sector,
/// never visited first, then the longest since the last visit: the list of
/// [`due_visits`] before the role decides what is shown of it. For callers
/// who may see the records (the printed map of a CHA sector).
pub fn due_list(records: &Records, as_of: NaiveDate, every: u32) -> Vec<DueHousehold> {
    let mut due = due_households(records, as_of, every);
    due.sort_by(|a, b| {
        a.cha_sector
            .cmp(&b.cha_sector)
            .then(a.days_since.is_some().cmp(&b.days_since.is_some()))
            .then(b.days_since.cmp(&a.days_since))
            .then(a.code.cmp(&b.code))
    });
    due
}

/// The due households, unsorted.
fn due_households(records: &Records, as_of: NaiveDate, every: u32) -> Vec<DueHousehold> {
    let Some(level_at) = field_index("risk_level") else {
        return Vec::new();
    };
    let unknown = records.sectors.get(UNKNOWN);
    // Household (sector, code) -> (latest record, last visit date).
    let mut last: HashMap<(u32, &str), (usize, Option<NaiveDate>)> = HashMap::new();
    for (i, o) in records.list.iter().enumerate() {
        if Some(o.sector) == unknown || o.code.is_empty() {
            continue;
        }
        let e = last
            .entry((o.sector, o.code.as_str()))
            .or_insert((i, o.date));
        if o.date > records.list[e.0].date {
            e.0 = i;
        }
        e.1 = e.1.max(o.date);
    }
    last.into_iter()
        .filter_map(|((s, code), (i, date))| {
            let o = &records.list[i];
            let level = o.record.at(level_at)?;
            if level < 1 {
                return None;
            }
            let days = date.map(|d| (as_of - d).num_days());
            if days.is_some_and(|d| d <= i64::from(every)) {
                return None;
            }
            Some(DueHousehold {
                cha_sector: records.sectors.name(s).to_owned(),
                code: code.to_owned(),
                community: records.communities.name(o.community).to_owned(),
                last_visit: date.map(|d| d.to_string()),
                days_since: days,
                risk_level: if level >= 2 { "alto" } else { "medio" }.to_owned(),
            })
        })
        .collect()
}

/// The schedule (see the module documentation).
pub fn due_visits(records: &Records, role: Role, as_of: NaiveDate, every: u32) -> Due {
    match role {
        Role::Public => Due::Refused,
        Role::Cha | Role::Admin => Due::List(due_list(records, as_of, every)),
        _ => {
            let unknown = records.sectors.get(UNKNOWN);
            let mut per: BTreeMap<String, u64> = BTreeMap::new();
            for s in records
                .list
                .iter()
                .map(|o| o.sector)
                .filter(|&s| Some(s) != unknown)
            {
                per.entry(records.sectors.name(s).to_owned()).or_default();
            }
            for h in &due_households(records, as_of, every) {
                *per.entry(h.cha_sector.clone()).or_default() += 1;
            }
            let counts: Vec<u64> = per.values().copied().collect();
            let shown = protect_table(&counts).shown();
            Due::Counts(
                per.into_keys()
                    .zip(shown)
                    .map(|(cha_sector, due)| DueCount { cha_sector, due })
                    .collect(),
            )
        }
    }
}
