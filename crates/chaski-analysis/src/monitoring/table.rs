//! Indicator tables: per indicator, group (community, CHA sector, facility or
//! district) and period (survey round, month or quarter of the visit date),
//! the numerator, denominator, proportion with its Wilson 95% interval
//! ([`super::wilson`]) and the change since the previous period with
//! Newcombe's interval.
//!
//! Callers that may not see household records (the public, analysts) get
//! protected tables ([`super::protect`]): grouped by community or district
//! only, with every numerator, denominator and their difference 0 or at least
//! 5, no suppressed cell recoverable from the community, district and group
//! (intervention/control) tables of the same indicator and period, the
//! contributor rule (one CHA sector or facility holding all but 1 to 4 of a
//! count hides it), counts rounded to 5 and proportions to 0.1 percentage
//! point. Callers that see households get exact tables of their own scope
//! (admin: every household) by any grouping.
//!
//! A household (code within its CHA sector, or its facility when it has no
//! sector) counts once per period, with its latest record; records without
//! the period (no round, no date) are left out.
//!
//! Parameters: the [`Records`], the indicators, the grouping, the period and
//! whether the table is protected. Returns an [`IndicatorTable`].
//!
//! ```
//! use chaski_analysis::monitoring::config::Indicators;
//! use chaski_analysis::monitoring::data::{Obs, Records};
//! use chaski_analysis::monitoring::predicate::Record;
//! use chaski_analysis::monitoring::table::{By, Period, indicator_table};
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
//! let ind = Indicators::defaults();
//! let t = indicator_table(&r, &ind.select(Some("safe_water")).unwrap(), By::Community, Period::Round, false).unwrap();
//! assert_eq!((t.rows[0].numerator, t.rows[0].denominator), (Some(12), Some(20)));
//! assert!((t.rows[0].low.unwrap() - 0.386_582).abs() < 1e-6);
//! ```

// Counts: d, n, t, j, c... are the names of the module documentation.
#![allow(clippy::many_single_char_names)]

use super::MonitoringError;

use super::config::{Better, Indicator};
use super::data::Records;
use super::protect::{Atom, Partition, Protection, protect};
use super::wilson::{newcombe, wilson};
use chaski_core::disclosure::{MIN_CELL, ROUND_TO, contributor_discloses, round_to_base};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use std::collections::BTreeMap;

/// What rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    /// Community code.
    Community,
    /// CHA sector.
    Sector,
    /// Facility (RENIPRESS code).
    Facility,
    /// District (`ubigeo` of the household's community).
    District,
}

impl By {
    /// Parse `community`, `sector` (`cha_sector`), `facility`, `district`.
    pub fn parse(s: &str) -> Result<Self, MonitoringError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "community" | "comunidad" => Self::Community,
            "sector" | "cha_sector" => Self::Sector,
            "facility" | "ipress" => Self::Facility,
            "district" | "distrito" => Self::District,
            _ => {
                return Err(MonitoringError::Vocabulary {
                    option: "by",
                    value: s.to_owned(),
                    expected: "community, sector, facility or district",
                });
            }
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Community => "community",
            Self::Sector => "sector",
            Self::Facility => "facility",
            Self::District => "district",
        }
    }
}

/// The period of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Survey round (`visit_round`).
    Round,
    /// Month of the visit date (`YYYY-MM`).
    Month,
    /// Quarter of the visit date (`YYYY-Qn`).
    Quarter,
}

impl Period {
    /// Parse `round`, `month`, `quarter`.
    pub fn parse(s: &str) -> Result<Self, MonitoringError> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "round" | "ronda" => Self::Round,
            "month" | "mes" => Self::Month,
            "quarter" | "trimestre" => Self::Quarter,
            _ => {
                return Err(MonitoringError::Vocabulary {
                    option: "period",
                    value: s.to_owned(),
                    expected: "round, month or quarter",
                });
            }
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Round => "round",
            Self::Month => "month",
            Self::Quarter => "quarter",
        }
    }
}

/// One row of an indicator table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Indicator id.
    pub indicator: String,
    /// Group (community code, sector, facility or district code).
    pub group: String,
    /// Period (round number, `YYYY-MM` or `YYYY-Qn`).
    pub period: String,
    /// Households counted (None: suppressed).
    pub numerator: Option<u64>,
    /// Households of the denominator (None: suppressed).
    pub denominator: Option<u64>,
    /// numerator / denominator.
    pub proportion: Option<f64>,
    /// Wilson 95% interval, low end.
    pub low: Option<f64>,
    /// Wilson 95% interval, high end.
    pub high: Option<f64>,
    /// Whether the cell is suppressed.
    pub suppressed: bool,
    /// The previous period of the table (None for the first).
    pub previous: Option<String>,
    /// Proportion minus that of the previous period (None when either is
    /// missing or suppressed).
    pub change: Option<f64>,
    /// Newcombe 95% interval of the change, low end.
    pub change_low: Option<f64>,
    /// Newcombe 95% interval of the change, high end.
    pub change_high: Option<f64>,
    /// Whether the change is an improvement (by the indicator's `better`),
    /// when its interval excludes 0.
    pub improved: Option<bool>,
}

/// An indicator's description in a table.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// Id.
    pub id: String,
    /// English label.
    pub label: String,
    /// Spanish label.
    pub label_es: String,
    /// Numerator predicate.
    pub numerator: String,
    /// Denominator predicate.
    pub denominator: String,
    /// Direction of improvement.
    pub better: Better,
}

/// An indicator table.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorTable {
    /// Grouping.
    pub by: By,
    /// Period.
    pub period: Period,
    /// Whether the table is protected (aggregates for callers who may not see
    /// households).
    pub protected: bool,
    /// Smallest count shown.
    pub min_cell: u64,
    /// Base counts are rounded to (protected tables).
    pub rounded_to: Option<u64>,
    /// The indicators.
    pub indicators: Vec<Meta>,
    /// The periods, in order.
    pub periods: Vec<String>,
    /// The rows: by indicator, group, period.
    pub rows: Vec<Row>,
}

/// Per period of a group: denominator, numerator, shown.
type PerPeriod = Vec<Option<(u64, u64, bool)>>;

/// Counts per (period, community, sector, facility) cell and indicator.
pub(crate) struct Cells {
    pub periods: Vec<String>,
    /// Cell keys.
    pub keys: Vec<(u32, u32, u32, u32)>,
    /// `counts[slot * k + i]`: (denominator, numerator) of indicator i.
    pub counts: Vec<(u64, u64)>,
    pub k: usize,
}

/// The period of a record as a number that sorts as the periods do: the
/// round, `YYYYMM` or `YYYYQ`.
fn period_key(o: &super::data::Obs, period: Period) -> Option<i64> {
    use chrono::Datelike;
    match period {
        Period::Round => o.round,
        Period::Month => o
            .date
            .map(|d| i64::from(d.year()) * 100 + i64::from(d.month())),
        Period::Quarter => o
            .date
            .map(|d| i64::from(d.year()) * 10 + i64::from((d.month() - 1) / 3 + 1)),
    }
}

fn period_label(key: i64, period: Period) -> String {
    match period {
        Period::Round => key.to_string(),
        Period::Month => format!("{:04}-{:02}", key / 100, key % 100),
        Period::Quarter => format!("{:04}-Q{}", key / 10, key % 10),
    }
}

/// A household and period: sector, place (the facility of records without
/// a sector), code, period id.
type HouseholdKey<'a> = (u32, u32, &'a str, u32);

/// The hash [`keep_latest`] keys households by.
fn fx_hash(key: &HouseholdKey<'_>) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// The record kept for each household and period (the latest by visit
/// date; every record without a code), with its period id, in the order the
/// households first appear; `periods` gives each record's period id (None:
/// the record counts in no period).
///
/// Households are found by `hash` of their [`HouseholdKey`]: small
/// entries, sized for every record at once. Two households with one hash
/// meet in `spill`, keyed by the whole key, so the answer never depends on
/// the hash (a test gives every household the same one). `capacity`: the
/// records expected to count (the table is sized for them).
pub(crate) fn keep_latest(
    records: &Records,
    periods: impl Iterator<Item = Option<u32>>,
    hash: impl Fn(&HouseholdKey<'_>) -> u64,
    capacity: usize,
) -> Vec<(usize, u32)> {
    let unknown_sector = records.sectors.get(super::data::UNKNOWN);
    let mut kept: HashMap<u64, u32> =
        HashMap::with_capacity_and_hasher(capacity, rustc_hash::FxBuildHasher);
    let mut spill: HashMap<HouseholdKey<'_>, usize> = HashMap::default();
    let mut out: Vec<(usize, u32)> = Vec::with_capacity(capacity);
    let key_of = |o: &'_ super::data::Obs, t: u32| -> (u32, u32, u32) {
        let place = if Some(o.sector) == unknown_sector {
            o.facility
        } else {
            u32::MAX
        };
        (o.sector, place, t)
    };
    // Keep the later of two records of one household and period.
    let later = |out: &mut Vec<(usize, u32)>, at: usize, i: usize, t: u32| {
        if records.list[i].date >= records.list[out[at].0].date {
            out[at] = (i, t);
        }
    };
    for (i, (o, t)) in records.list.iter().zip(periods).enumerate() {
        let Some(t) = t else { continue };
        if o.code.is_empty() {
            out.push((i, t));
            continue;
        }
        let (sector, place, _) = key_of(o, t);
        let full = (sector, place, o.code.as_str(), t);
        match kept.entry(hash(&full)) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(u32::try_from(out.len()).unwrap_or(u32::MAX));
                out.push((i, t));
            }
            std::collections::hash_map::Entry::Occupied(e) => {
                let at = *e.get() as usize;
                let (j, tj) = out[at];
                let p = &records.list[j];
                if key_of(p, tj) == (sector, place, t) && p.code == o.code {
                    later(&mut out, at, i, t);
                } else {
                    match spill.entry(full) {
                        std::collections::hash_map::Entry::Occupied(e) => {
                            later(&mut out, *e.get(), i, t);
                        }
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(out.len());
                            out.push((i, t));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The positions of the records that count: one per household and period
/// (its latest), with the period id of each.
pub(crate) fn latest_per_period(
    records: &Records,
    period: Period,
) -> (Vec<String>, Vec<(usize, u32)>) {
    let keys: Vec<Option<i64>> = records.list.iter().map(|o| period_key(o, period)).collect();
    // The distinct periods, in order (a set: there are few, and records come
    // in runs of one).
    let mut distinct = std::collections::BTreeSet::new();
    let mut previous = None;
    for &key in keys.iter().flatten() {
        if previous != Some(key) {
            distinct.insert(key);
            previous = Some(key);
        }
    }
    let labels: Vec<i64> = distinct.into_iter().collect();
    let id: HashMap<i64, u32> = labels.iter().copied().zip(0..).collect();
    // The period ids of the last key seen (records come in runs of a round).
    let mut last: Option<(i64, u32)> = None;
    let periods = keys.iter().map(|key| {
        key.map(|key| match last {
            Some((k, t)) if k == key => t,
            _ => {
                let t = id[&key];
                last = Some((key, t));
                t
            }
        })
    });
    let groups = rayon::current_num_threads().min(labels.len()).max(1);
    let out = if records.len() >= PARALLEL_RECORDS && groups > 1 {
        use rayon::prelude::*;
        // Records of different periods are never one household's: each
        // thread keeps the latest records of its own periods.
        let periods: Vec<Option<u32>> = periods.collect();
        let capacity = records.len() / groups + 1;
        (0..groups)
            .into_par_iter()
            .map(|g| {
                let mine = periods
                    .iter()
                    .map(|t| t.filter(|t| *t as usize % groups == g));
                keep_latest(records, mine, fx_hash, capacity)
            })
            .reduce_with(|mut a, b| {
                a.extend(b);
                a
            })
            .unwrap_or_default()
    } else {
        keep_latest(records, periods, fx_hash, records.len())
    };
    (
        labels
            .into_iter()
            .map(|k| period_label(k, period))
            .collect(),
        out,
    )
}

/// Fewest records whose tables are worked out on several threads (the
/// latest records of each period in [`latest_per_period`], the counts of
/// [`cells`]): below, one thread is done before threads would start.
const PARALLEL_RECORDS: usize = 50_000;

pub(crate) fn cells(records: &Records, indicators: &[&Indicator], period: Period) -> Cells {
    let (periods, kept) = latest_per_period(records, period);
    let k = indicators.len();
    let mut slot: HashMap<(u32, u32, u32, u32), u32> = HashMap::default();
    let mut keys = Vec::new();
    // The cell of each kept record.
    let mut slots: Vec<u32> = Vec::with_capacity(kept.len());
    // The slot of the previous record: households of one cell come together.
    let mut last: Option<((u32, u32, u32, u32), u32)> = None;
    for &(i, t) in &kept {
        let o = &records.list[i];
        let key = (t, o.community, o.sector, o.facility);
        let s = match last {
            Some((k, s)) if k == key => s,
            _ => {
                let s = *slot.entry(key).or_insert_with(|| {
                    keys.push(key);
                    u32::try_from(keys.len() - 1).unwrap_or(u32::MAX)
                });
                last = Some((key, s));
                s
            }
        };
        slots.push(s);
    }
    // The counts of the records of `kept` and their `slots`.
    let count = |kept: &[(usize, u32)], slots: &[u32]| -> Vec<(u64, u64)> {
        let mut counts = vec![(0_u64, 0_u64); keys.len() * k];
        for (&(i, _), &s) in kept.iter().zip(slots) {
            let record = &records.list[i].record;
            let at = s as usize * k;
            for (j, ind) in indicators.iter().enumerate() {
                if ind.denominator.eval(record) {
                    let c = &mut counts[at + j];
                    c.0 += 1;
                    if ind.numerator.eval(record) {
                        c.1 += 1;
                    }
                }
            }
        }
        counts
    };
    let counts = if kept.len() >= PARALLEL_RECORDS {
        use rayon::prelude::*;
        // One block of records a thread, their counts added up.
        let block = kept.len().div_ceil(rayon::current_num_threads().max(1));
        kept.par_chunks(block)
            .zip(slots.par_chunks(block))
            .map(|(kept, slots)| count(kept, slots))
            .reduce_with(|mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    x.0 += y.0;
                    x.1 += y.1;
                }
                a
            })
            .unwrap_or_default()
    } else {
        count(&kept, &slots)
    };
    Cells {
        periods,
        keys,
        counts,
        k,
    }
}

/// Whether a count split into `parts` (by CHA sector or by facility) fails
/// the contributor rule in its denominator, numerator or their difference.
fn discloses(parts: &BTreeMap<u32, (u64, u64)>) -> bool {
    let (d, n) = parts
        .values()
        .fold((0, 0), |(d, n), &(a, b)| (d + a, n + b));
    contributor_discloses(d, parts.values().map(|p| p.0))
        || contributor_discloses(n, parts.values().map(|p| p.1))
        || contributor_discloses(d - n, parts.values().map(|p| p.0 - p.1))
}

/// Per community: (d, n) and the protection of indicator `j` in period `t`,
/// with the partitions districts (0) and groups (1).
pub(crate) fn protect_period(
    records: &Records,
    cells: &Cells,
    j: usize,
    t: u32,
) -> (Vec<Atom>, Protection) {
    let nc = records.communities.len();
    let mut atoms = vec![Atom::default(); nc];
    // Contributions by sector and facility: per community, per district, per group.
    let mut by_sector: Vec<BTreeMap<u32, (u64, u64)>> = vec![BTreeMap::new(); nc];
    let mut by_facility: Vec<BTreeMap<u32, (u64, u64)>> = vec![BTreeMap::new(); nc];
    for (s, &(tt, c, sec, fac)) in cells.keys.iter().enumerate() {
        if tt != t {
            continue;
        }
        let (d, n) = cells.counts[s * cells.k + j];
        if d == 0 {
            continue;
        }
        let a = &mut atoms[c as usize];
        a.d += d;
        a.n += n;
        for (m, key) in [
            (&mut by_sector[c as usize], sec),
            (&mut by_facility[c as usize], fac),
        ] {
            let e = m.entry(key).or_default();
            e.0 += d;
            e.1 += n;
        }
    }
    for c in 0..nc {
        atoms[c].force = discloses(&by_sector[c]) || discloses(&by_facility[c]);
    }
    let partition = |of: &[u32], nparts: usize| {
        let mut sec: Vec<BTreeMap<u32, (u64, u64)>> = vec![BTreeMap::new(); nparts];
        let mut fac = sec.clone();
        for c in 0..nc {
            let q = of[c] as usize;
            for (into, from) in [(&mut sec[q], &by_sector[c]), (&mut fac[q], &by_facility[c])] {
                for (key, (d, n)) in from {
                    let e = into.entry(*key).or_default();
                    e.0 += d;
                    e.1 += n;
                }
            }
        }
        Partition {
            part_of: of.iter().map(|&q| q as usize).collect(),
            force: (0..nparts)
                .map(|q| discloses(&sec[q]) || discloses(&fac[q]))
                .collect(),
        }
    };
    let partitions = [
        partition(&records.district_of, records.districts.len()),
        partition(&records.group_of, records.groups.len()),
    ];
    let p = protect(&atoms, &partitions);
    (atoms, p)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// An indicator table (see the module documentation).
pub fn indicator_table(
    records: &Records,
    indicators: &[&Indicator],
    by: By,
    period: Period,
    protected: bool,
) -> Result<IndicatorTable, MonitoringError> {
    if protected && matches!(by, By::Sector | By::Facility) {
        return Err(MonitoringError::ProtectedGrouping(by.as_str()));
    }
    let cells = cells(records, indicators, period);
    let np = cells.periods.len();
    // The protection of every indicator and period, side by side: each reads
    // only the cells.
    let protections: Vec<(Vec<Atom>, Protection)> = if protected {
        use rayon::prelude::*;
        (0..indicators.len() * np)
            .into_par_iter()
            .map(|jt| protect_period(records, &cells, jt / np, (jt % np) as u32))
            .collect()
    } else {
        Vec::new()
    };
    let mut rows = Vec::new();
    for (j, ind) in indicators.iter().enumerate() {
        // (group name) -> per period: (d, n, shown).
        let mut groups: BTreeMap<String, PerPeriod> = BTreeMap::new();
        if protected {
            for (t, (atoms, prot)) in (0..np as u32).zip(&protections[j * np..(j + 1) * np]) {
                if by == By::Community {
                    for (c, a) in atoms.iter().enumerate() {
                        if a.d > 0 {
                            groups
                                .entry(records.communities.name(c as u32).to_owned())
                                .or_insert_with(|| vec![None; np])[t as usize] =
                                Some((a.d, a.n, prot.atoms[c]));
                        }
                    }
                } else {
                    {
                        let mut sums = vec![(0_u64, 0_u64); records.districts.len()];
                        for (c, a) in atoms.iter().enumerate() {
                            let q = records.district_of[c] as usize;
                            sums[q].0 += a.d;
                            sums[q].1 += a.n;
                        }
                        for (q, &(d, n)) in sums.iter().enumerate() {
                            if d > 0 {
                                groups
                                    .entry(records.districts.name(q as u32).to_owned())
                                    .or_insert_with(|| vec![None; np])
                                    [t as usize] = Some((d, n, prot.parts[0][q]));
                            }
                        }
                    }
                }
            }
        } else {
            for (s, &(t, c, sec, fac)) in cells.keys.iter().enumerate() {
                let (d, n) = cells.counts[s * cells.k + j];
                if d == 0 {
                    continue;
                }
                let name = match by {
                    By::Community => records.communities.name(c),
                    By::Sector => records.sectors.name(sec),
                    By::Facility => records.facilities.name(fac),
                    By::District => records.districts.name(records.district_of[c as usize]),
                };
                let e = groups
                    .entry(name.to_owned())
                    .or_insert_with(|| vec![None; np]);
                let cell = e[t as usize].get_or_insert((0, 0, true));
                cell.0 += d;
                cell.1 += n;
            }
        }
        for (group, per) in groups {
            for t in 0..np {
                let Some((d, n, shown)) = per[t] else {
                    continue;
                };
                let prev = (t > 0).then(|| per[t - 1]).flatten();
                let (lo, hi) = wilson(n, d).unwrap_or((0.0, 0.0));
                let mut row = Row {
                    indicator: ind.id.clone(),
                    group: group.clone(),
                    period: cells.periods[t].clone(),
                    numerator: None,
                    denominator: None,
                    proportion: None,
                    low: None,
                    high: None,
                    suppressed: !shown,
                    previous: (t > 0).then(|| cells.periods[t - 1].clone()),
                    change: None,
                    change_low: None,
                    change_high: None,
                    improved: None,
                };
                if shown {
                    let p = n as f64 / d as f64;
                    let fix = |x: f64| if protected { round3(x) } else { x };
                    let count = |x: u64| if protected { round_to_base(x) } else { x };
                    row.numerator = Some(count(n));
                    row.denominator = Some(count(d));
                    row.proportion = Some(fix(p));
                    row.low = Some(fix(lo));
                    row.high = Some(fix(hi));
                    if let Some((d0, n0, true)) = prev {
                        if let Some((clo, chi)) = newcombe(n0, d0, n, d) {
                            let change = p - n0 as f64 / d0 as f64;
                            row.change = Some(fix(change));
                            row.change_low = Some(fix(clo));
                            row.change_high = Some(fix(chi));
                            row.improved = (clo > 0.0 || chi < 0.0)
                                .then(|| (change > 0.0) == (ind.better == Better::Higher));
                        }
                    }
                }
                rows.push(row);
            }
        }
    }
    Ok(IndicatorTable {
        by,
        period,
        protected,
        min_cell: MIN_CELL,
        rounded_to: protected.then_some(ROUND_TO),
        indicators: indicators
            .iter()
            .map(|i| Meta {
                id: i.id.clone(),
                label: i.label.clone(),
                label_es: i.label_es.clone(),
                numerator: i.numerator.to_string(),
                denominator: i.denominator.to_string(),
                better: i.better,
            })
            .collect(),
        periods: cells.periods,
        rows,
    })
}

/// Append `s` to `out` as a CSV field (quoted when it holds a separator).
fn push_csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// Append `x` as `format!("{x:.4}")` writes it. Most values take a short
/// way: `x` times 10,000 in floating point is within 10⁻⁶ of the exact
/// product for any |x| below 10⁵, so when that product is not within 10⁻⁵
/// of a tie (a half) and does not round to zero, rounding it gives the
/// digits the exact value rounds to; other values go through the general
/// formatter. A table of 40,000 rows has 240,000 numbers to write.
pub(crate) fn push_fixed4(out: &mut String, x: f64) {
    use std::fmt::Write as _;
    let scaled = x * 10_000.0;
    let (abs, rounded) = (scaled.abs(), scaled.abs().round());
    if x.is_finite() && abs < 1e9 && rounded >= 1.0 && (abs - abs.floor() - 0.5).abs() > 1e-5 {
        // Below 10⁹, an exact integer in an f64 and a u64.
        let n = rounded as u64;
        if scaled < 0.0 {
            out.push('-');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{}.{:04}", n / 10_000, n % 10_000);
    } else {
        let _ = write!(out, "{x:.4}");
    }
}

impl IndicatorTable {
    /// The table as CSV (UTF-8, header row; suppressed cells `x`; proportions
    /// as fractions).
    pub fn to_csv(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(64 + 96 * self.rows.len());
        out.push_str(
            "indicator,group,period,numerator,denominator,proportion,low,high,previous,change,change_low,change_high,improved\n",
        );
        let num = |out: &mut String, v: Option<f64>| {
            if let Some(x) = v {
                push_fixed4(out, x);
            }
        };
        for r in &self.rows {
            let count = |out: &mut String, v: Option<u64>| match v {
                Some(v) => {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "{v}");
                }
                None if r.suppressed => out.push('x'),
                None => {}
            };
            push_csv_field(&mut out, &r.indicator);
            out.push(',');
            push_csv_field(&mut out, &r.group);
            out.push(',');
            push_csv_field(&mut out, &r.period);
            out.push(',');
            count(&mut out, r.numerator);
            out.push(',');
            count(&mut out, r.denominator);
            out.push(',');
            if r.suppressed {
                out.push('x');
            } else {
                num(&mut out, r.proportion);
            }
            for v in [r.low, r.high] {
                out.push(',');
                num(&mut out, v);
            }
            out.push(',');
            out.push_str(r.previous.as_deref().unwrap_or_default());
            for v in [r.change, r.change_low, r.change_high] {
                out.push(',');
                num(&mut out, v);
            }
            out.push(',');
            if let Some(b) = r.improved {
                out.push_str(if b { "yes" } else { "no" });
            }
            out.push('\n');
        }
        out
    }
}
