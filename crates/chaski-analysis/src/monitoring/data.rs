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
use chaski_core::household::{LEVEL_FIELDS, RISK_FIELDS, RiskFieldsAt, Violence};
use chaski_core::{Feature, Layer, Value};
use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap as HashMap;

/// Label of records without a community, district, sector, facility or group.
pub const UNKNOWN: &str = "unknown";

/// Most parts [`Records::from_store`] reads a household layer in (one per
/// core up to this; the store reads small layers in one part).
const MAX_PARTS: usize = 4;

/// Records a [`Builder`] holds in one block before it starts the next: the
/// blocks are joined once at the end, where a list grown by doubling copied
/// its records again at every growth (half the page faults of a read of
/// 400,000 records).
const BLOCK: usize = 16_384;

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
    /// The names and the records of the current block (`out.list`).
    out: Records,
    /// The full blocks, in order, before `out.list`.
    blocks: Vec<Vec<Obs>>,
    access: &'a Access,
    /// Per community code: district and group ids.
    attrs: HashMap<String, (u32, u32)>,
    unknown: u32,
    level_at: usize,
    violence_at: usize,
    aggregates_only: bool,
    /// Whether `risk_level` is derived (else left empty).
    level: bool,
    /// The community, sector and facility of the previous record, with their ids.
    last: [Option<(String, u32)>; 3],
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
            blocks: Vec::new(),
            access,
            attrs,
            unknown,
            level_at: field_index("risk_level").unwrap_or(0),
            violence_at: field_index("violence_risk").unwrap_or(0),
            aggregates_only: matches!(access.role, Role::Public | Role::Analyst),
            level: true,
            last: [None, None, None],
        }
    }

    /// An empty builder for one part of a parallel read: the same
    /// communities' districts and groups (same ids), no record yet.
    fn part(&self) -> Self {
        Self {
            out: Records {
                districts: self.out.districts.clone(),
                groups: self.out.groups.clone(),
                ..Records::default()
            },
            blocks: Vec::new(),
            access: self.access,
            attrs: self.attrs.clone(),
            unknown: self.unknown,
            level_at: self.level_at,
            violence_at: self.violence_at,
            aggregates_only: self.aggregates_only,
            level: self.level,
            last: [None, None, None],
        }
    }

    /// Append the records of `part` (read after this builder's), its
    /// communities, sectors and facilities mapped to this builder's ids: the
    /// same records and names, in the same order, as one read of both.
    fn join(&mut self, part: Self) {
        let out = &mut self.out;
        let community: Vec<u32> = part
            .out
            .communities
            .list
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let id = out.communities.id(name);
                if out.district_of.len() <= id as usize {
                    out.district_of.push(part.out.district_of[i]);
                    out.group_of.push(part.out.group_of[i]);
                }
                id
            })
            .collect();
        let map = |from: &Names, to: &mut Names| -> Vec<u32> {
            from.list.iter().map(|n| to.id(n)).collect()
        };
        let sector = map(&part.out.sectors, &mut out.sectors);
        let facility = map(&part.out.facilities, &mut out.facilities);
        let mut blocks = part.blocks;
        blocks.push(part.out.list);
        for block in &mut blocks {
            for o in block.iter_mut() {
                o.community = community[o.community as usize];
                o.sector = sector[o.sector as usize];
                o.facility = facility[o.facility as usize];
            }
        }
        self.blocks.push(std::mem::take(&mut self.out.list));
        self.blocks.extend(blocks);
        self.last = [None, None, None];
    }

    /// The records: the blocks joined into one list, allocated once.
    fn finish(mut self) -> Records {
        if !self.blocks.is_empty() {
            let total = self.blocks.iter().map(Vec::len).sum::<usize>() + self.out.list.len();
            let mut list = Vec::with_capacity(total);
            for block in self.blocks {
                list.extend(block);
            }
            list.append(&mut self.out.list);
            self.out.list = list;
        }
        self.out
    }

    /// The id of `name` in `names`, `last` the previous one asked for.
    fn intern(names: &mut Names, last: &mut Option<(String, u32)>, name: &str) -> u32 {
        if let Some((n, id)) = last
            && n == name
        {
            return *id;
        }
        let id = names.id(name);
        *last = Some((name.to_owned(), id));
        id
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
            record.put(
                k,
                match get(*i) {
                    Some(Value::Bool(b)) => Some(i64::from(*b)),
                    Some(Value::Int(n)) => Some(*n),
                    Some(Value::Real(x)) if x.is_finite() => Some(*x as i64),
                    _ => None,
                },
            );
        }
        if !access.violence {
            record.put(self.violence_at, None);
        }
        if self.level {
            let level = if access.violence {
                get(at.risk[self.level_at])
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<RiskLevel>().ok())
                    .unwrap_or_else(|| at.rule.level(&f.values, Violence::Known))
            } else {
                at.rule.level(&f.values, Violence::Unknown)
            };
            record.put(self.level_at, Some(level_value(level)));
        }
        let community = text(get(at.community)).unwrap_or(std::borrow::Cow::Borrowed(UNKNOWN));
        let cid = match &self.last[0] {
            // Households come grouped by community, sector and facility: the
            // previous record's id saves a hash lookup most of the time.
            Some((name, id)) if name == community.as_ref() => *id,
            _ => {
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
                self.last[0] = Some((community.into_owned(), cid));
                cid
            }
        };
        let sector = Self::intern(
            &mut out.sectors,
            &mut self.last[1],
            text(get(at.sector)).as_deref().unwrap_or(UNKNOWN),
        );
        let facility = Self::intern(
            &mut out.facilities,
            &mut self.last[2],
            text(get(at.facility)).as_deref().unwrap_or(UNKNOWN),
        );
        if out.list.len() == BLOCK {
            self.blocks
                .push(std::mem::replace(&mut out.list, Vec::with_capacity(BLOCK)));
        }
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
        b.finish()
    }

    /// [`Self::new`] over every household layer of `store` and its
    /// `communities` layer (when there is one), read column by column without
    /// geometries, the household records one at a time
    /// ([`chaski_core::store::Store::scan_layer_columns`]) in as many parts
    /// as the machine has cores (up to four), read side by side where the
    /// store can ([`chaski_core::store::Store::scan_layer_columns_parts`])
    /// and joined in order.
    pub fn from_store(
        store: &dyn chaski_core::store::Store,
        access: &Access,
        group_field: &str,
    ) -> Result<Self, chaski_core::store::StoreError> {
        Self::from_store_reading(store, access, group_field, RISK_FIELDS)
    }

    /// [`Self::from_store`] reading only the risk fields in `risk` (the
    /// fields of the predicates the records will be given to, see
    /// [`super::predicate::Predicate::fields`]): the others are left empty,
    /// `risk_level` too unless asked for (then with the fields it is derived
    /// from). Fewer columns read, the same answer for those predicates.
    pub fn from_store_reading(
        store: &dyn chaski_core::store::Store,
        access: &Access,
        group_field: &str,
        risk: &[&str],
    ) -> Result<Self, chaski_core::store::StoreError> {
        let mut fields: Vec<&str> = vec![
            "code",
            "community",
            "cha_sector",
            "facility",
            "visit_round",
            "visit_date",
        ];
        let level = risk.contains(&"risk_level");
        fields.extend(RISK_FIELDS.iter().copied().filter(|f| {
            risk.contains(f) || (level && (LEVEL_FIELDS.contains(f) || *f == "risk_level"))
        }));
        let layers = store.layer_kinds()?;
        let communities = if layers.iter().any(|(n, _)| n == "communities") {
            Some(store.read_layer_columns("communities", &["code", "ubigeo", group_field])?)
        } else {
            None
        };
        let mut b = Builder::new(communities.as_ref(), access, group_field);
        b.level = level;
        let parts = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .clamp(1, MAX_PARTS);
        for (name, kind) in &layers {
            if *kind != chaski_core::LayerKind::Households {
                continue;
            }
            // Part 0 goes straight into `b`; the others are joined after it.
            let mut builders: Vec<Builder<'_>> = (1..parts).map(|_| b.part()).collect();
            let mut ats: Vec<Option<At>> = (0..parts).map(|_| None).collect();
            let mut fns: Vec<Box<chaski_core::store::PartFn<'_>>> = std::iter::once(&mut b)
                .chain(builders.iter_mut())
                .zip(ats.iter_mut())
                .map(|(pb, at)| {
                    Box::new(move |layer: &Layer, f: &Feature| {
                        let at = at.get_or_insert_with(|| At::new(layer, access));
                        pb.add(at, f);
                    }) as Box<chaski_core::store::PartFn<'_>>
                })
                .collect();
            let mut refs: Vec<&mut chaski_core::store::PartFn<'_>> =
                fns.iter_mut().map(|f| &mut **f).collect();
            store.scan_layer_columns_parts(name, &fields, &mut refs)?;
            drop(refs);
            drop(fns);
            b.last = [None, None, None];
            for pb in builders {
                b.join(pb);
            }
        }
        Ok(b.finish())
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
