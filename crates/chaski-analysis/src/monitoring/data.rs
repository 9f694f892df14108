//! The household records an indicator table, a difference in differences or a
//! visit schedule is computed from, as one caller may use them.
//!
//! [`Records::new`] reads every household layer once: the records the caller's
//! [`Access`] admits (every record for the public and analysts, whose answers
//! are protected aggregates; the scope's records for CHA and facility tokens;
//! every record for an admin), their risk fields as a
//! [`Record`](super::predicate::Record) (`violence_risk` empty and
//! `risk_level` derived without it unless the caller holds the violence
//! grant), their community, CHA sector, facility, the community's district
//! (`ubigeo` of the communities layer) and group (an attribute of the
//! communities layer), survey round and visit date.
//!
//! Parameters: the household layers, the communities layer, the caller, the
//! group attribute. Returns the [`Records`].
//!
//! ```
//! use chaski_analysis::monitoring::data::Records;
//! use chaski_core::auth::Access;
//! use chaski_core::{Feature, Layer, LayerKind, Value};
//! let mut h = Layer::new("households", LayerKind::Households);
//! let mut v = vec![Value::Null; h.fields.len()];
//! v[h.field_index("code").unwrap()] = "H1".into();
//! v[h.field_index("visit_round").unwrap()] = Value::Int(1);
//! v[h.field_index("anaemia").unwrap()] = true.into();
//! h.features.push(Feature { fid: 1, geometry: geo::Point::new(-74.0, -13.0).into(), values: v });
//! let r = Records::new(&[h], None, &Access::public(), "group");
//! assert_eq!(r.len(), 1);
//! assert_eq!(r.list[0].record.get("anaemia"), Some(1));
//! ```

use super::predicate::{Record, field_index, level_value};
use chaski_core::auth::{Access, Role, Visibility};
use chaski_core::domain::RiskLevel;
use chaski_core::household::{RISK_FIELDS, RiskFieldsAt, Violence};
use chaski_core::{Feature, Layer, Value};
use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap as HashMap;

/// Label of records without a community, district, sector, facility or group.
pub const UNKNOWN: &str = "unknown";

/// Interned names.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// The names, by id.
    pub list: Vec<String>,
    index: HashMap<String, u32>,
}

impl Names {
    /// The id of `name`, added when new.
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// The name of id `i`.
    pub fn name(&self, i: u32) -> &str {
        &self.list[i as usize]
    }

    /// The id of `name`, if known.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// One household record.
#[derive(Debug, Clone)]
pub struct Obs {
    /// Household code.
    pub code: String,
    /// Community id ([`Records::communities`]).
    pub community: u32,
    /// CHA sector id ([`Records::sectors`]).
    pub sector: u32,
    /// Facility id ([`Records::facilities`]).
    pub facility: u32,
    /// Survey round (`visit_round`).
    pub round: Option<i64>,
    /// Visit date.
    pub date: Option<NaiveDate>,
    /// The risk fields as the caller may use them.
    pub record: Record,
}

/// The records of one caller (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// The records.
    pub list: Vec<Obs>,
    /// Community codes.
    pub communities: Names,
    /// CHA sectors.
    pub sectors: Names,
    /// Facilities.
    pub facilities: Names,
    /// Districts (`ubigeo`).
    pub districts: Names,
    /// Groups.
    pub groups: Names,
    /// Per community id: district id.
    pub district_of: Vec<u32>,
    /// Per community id: group id.
    pub group_of: Vec<u32>,
}

fn text(v: Option<&Value>) -> Option<std::borrow::Cow<'_, str>> {
    match v {
        Some(Value::Text(t)) if !t.trim().is_empty() => Some(std::borrow::Cow::Borrowed(t.trim())),
        Some(Value::Int(i)) => Some(std::borrow::Cow::Owned(i.to_string())),
        _ => None,
    }
}

/// A stored date (`YYYY-MM-DD`, or the date part of a date-time).
pub fn parse_date(v: &Value) -> Option<NaiveDate> {
    let t = v.as_str()?.trim().as_bytes();
    // `YYYY-MM-DD` read by hand: chrono's format parser cost more than the
    // rest of a record's preparation.
    let d = t.get(..10)?;
    if d[4] != b'-' || d[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        d[r].iter().try_fold(0_u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)
}

/// `YYYY-MM` of a date.
pub fn month_of(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// `YYYY-Qn` of a date.
pub fn quarter_of(d: NaiveDate) -> String {
    format!("{:04}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

/// Field positions of one household layer, looked up once.
struct At {
    vis: Visibility,
    rule: RiskFieldsAt,
    community: Option<usize>,
    sector: Option<usize>,
    facility: Option<usize>,
    round: Option<usize>,
    date: Option<usize>,
    code: Option<usize>,
    risk: Vec<Option<usize>>,
}

impl At {
    fn new(layer: &Layer, access: &Access) -> Self {
        let idx = |n: &str| layer.field_index(n);
        Self {
            vis: Visibility::new(access, layer),
            rule: RiskFieldsAt::new(layer),
            community: idx("community"),
            sector: idx("cha_sector"),
            facility: idx("facility"),
            round: idx("visit_round"),
            date: idx("visit_date"),
            code: idx("code"),
            risk: RISK_FIELDS.iter().map(|f| idx(f)).collect(),
        }
    }
}

/// [`Records`] built one household record at a time.
struct Builder<'a> {
    out: Records,
    access: &'a Access,
    /// Per community code: district and group ids.
    attrs: HashMap<String, (u32, u32)>,
    unknown: u32,
    level_at: usize,
    violence_at: usize,
    aggregates_only: bool,
}

impl<'a> Builder<'a> {
    fn new(communities: Option<&Layer>, access: &'a Access, group_field: &str) -> Self {
        let mut out = Records::default();
        let unknown = out.districts.id(UNKNOWN);
        out.groups.id(UNKNOWN);
        // Communities: district and group of each code.
        let mut attrs: HashMap<String, (u32, u32)> = HashMap::default();
        if let Some(c) = communities {
            let code = c.field_index("code");
            let ubigeo = c.field_index("ubigeo");
            let group = c.field_index(group_field);
            for f in &c.features {
                let Some(k) = text(code.and_then(|i| f.values.get(i))) else {
                    continue;
                };
                let d = text(ubigeo.and_then(|i| f.values.get(i)))
                    .map_or(unknown, |d| out.districts.id(&d));
                let g = text(group.and_then(|i| f.values.get(i)))
                    .map(|g| g.to_lowercase())
                    .map_or(0, |g| out.groups.id(&g));
                attrs.entry(k.into_owned()).or_insert((d, g));
            }
        }
        Self {
            out,
            access,
            attrs,
            unknown,
            level_at: field_index("risk_level").unwrap_or(0),
            violence_at: field_index("violence_risk").unwrap_or(0),
            aggregates_only: matches!(access.role, Role::Public | Role::Analyst),
        }
    }

    fn add(&mut self, at: &At, f: &Feature) {
        let access = self.access;
        if !self.aggregates_only && !at.vis.may_see(f) {
            return;
        }
        let out = &mut self.out;
        let get = |i: Option<usize>| i.and_then(|i| f.values.get(i));
        let mut record = Record::default();
        for (k, i) in at.risk.iter().enumerate() {
            record.0[k] = match get(*i) {
                Some(Value::Bool(b)) => Some(i64::from(*b)),
                Some(Value::Int(n)) => Some(*n),
                Some(Value::Real(x)) if x.is_finite() => Some(*x as i64),
                _ => None,
            };
        }
        let level = if access.violence {
            get(at.risk[self.level_at])
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<RiskLevel>().ok())
                .unwrap_or_else(|| at.rule.level(&f.values, Violence::Known))
        } else {
            record.0[self.violence_at] = None;
            at.rule.level(&f.values, Violence::Unknown)
        };
        record.0[self.level_at] = Some(level_value(level));
        let community = text(get(at.community)).unwrap_or(std::borrow::Cow::Borrowed(UNKNOWN));
        let (district, group) = self
            .attrs
            .get(community.as_ref())
            .copied()
            .unwrap_or((self.unknown, 0));
        let cid = out.communities.id(&community);
        if out.district_of.len() <= cid as usize {
            out.district_of.push(district);
            out.group_of.push(group);
        }
        let sector = out
            .sectors
            .id(text(get(at.sector)).as_deref().unwrap_or(UNKNOWN));
        let facility = out
            .facilities
            .id(text(get(at.facility)).as_deref().unwrap_or(UNKNOWN));
        let round = get(at.round).and_then(Value::as_i64);
        let date = get(at.date).and_then(parse_date);
        let code = text(get(at.code))
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default();
        out.list.push(Obs {
            code,
            community: cid,
            sector,
            facility,
            round,
            date,
            record,
        });
    }
}

impl Records {
    /// Read the records (see the module documentation).
    pub fn new(
        households: &[Layer],
        communities: Option<&Layer>,
        access: &Access,
        group_field: &str,
    ) -> Self {
        let mut b = Builder::new(communities, access, group_field);
        for layer in households {
            let at = At::new(layer, access);
            for f in &layer.features {
                b.add(&at, f);
            }
        }
        b.out
    }

    /// [`Self::new`] over every household layer of `store` and its
    /// `communities` layer (when there is one), read column by column without
    /// geometries, the household records one at a time
    /// ([`chaski_core::store::Store::scan_layer_columns`]).
    pub fn from_store(
        store: &dyn chaski_core::store::Store,
        access: &Access,
        group_field: &str,
    ) -> Result<Self, chaski_core::store::StoreError> {
        let mut fields: Vec<&str> = vec![
            "code",
            "community",
            "cha_sector",
            "facility",
            "visit_round",
            "visit_date",
        ];
        fields.extend(RISK_FIELDS);
        let infos = store.layers()?;
        let communities = match infos.iter().find(|i| i.name == "communities") {
            Some(i) => Some(store.read_layer_columns(&i.name, &["code", "ubigeo", group_field])?),
            None => None,
        };
        let mut b = Builder::new(communities.as_ref(), access, group_field);
        for info in &infos {
            if info.kind != chaski_core::LayerKind::Households {
                continue;
            }
            let mut at: Option<At> = None;
            store.scan_layer_columns(&info.name, &fields, &mut |layer, f| {
                let at = at.get_or_insert_with(|| At::new(layer, access));
                b.add(at, f);
            })?;
        }
        Ok(b.out)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
