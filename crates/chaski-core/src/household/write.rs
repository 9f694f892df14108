//! Writes of household records that stay in the writer's scope.
//!
//! Two steps, both pure:
//!
//! 1. [`check_scope`], before anything is read from the store: every field that
//!    places a record must lie in the writer's scope. A `cha` token (scope: a
//!    CHA sector) writes rows of its own `cha_sector`; a `facility` token
//!    (scope: a RENIPRESS code) rows of its own `facility`. For both, the
//!    row's (facility, sector, community) must be a registered
//!    [`Place`] of the scope, and its point must lie
//!    within [`WriteRules::max_distance_m`] of the community's location in the
//!    store's communities layers. An empty `facility` is filled in when the
//!    register names exactly one facility for the row's sector and community.
//!    Admins have full rights: nothing is checked. The check reads only the
//!    row, the register and the public communities, never other households,
//!    so its answer cannot depend on records outside the scope.
//! 2. [`plan_edit`], inside the store's write transaction
//!    ([`crate::store::Store::edit_layer`]): each row updates the record it
//!    matches **among the records the writer may see in the row's unit** (its
//!    CHA sector, else its facility), or is added. A row with a
//!    `submission_uuid` matches the record with that id, a row without one the
//!    record with the same `code`: household codes and submission ids are
//!    unique per sector, not across the country. Only an admin's row matches a
//!    submission id in another unit (a correction that moves the household). Records outside the scope are never
//!    read, matched, updated or deleted, so a code or submission id that
//!    exists only elsewhere is answered exactly as one that does not exist.
//!    A [`Withdrawal`] (a row with `consent = no`, or
//!    `DELETE /api/households/{code}`) deletes every visible record of that
//!    household (same code and unit, or same submission id), including
//!    records added earlier in the same upload.
//!
//! ```
//! use chaski_core::auth::{Access, Role};
//! use chaski_core::household::places::{Place, Places};
//! use chaski_core::household::write::{WriteRules, check_scope, plan_edit};
//! use chaski_core::{Feature, Layer, LayerKind, Value};
//! use geo::{Geometry, Point};
//! use std::collections::HashMap;
//!
//! fn row(layer: &Layer, code: &str, sector: &str) -> Feature {
//!     let mut values = vec![Value::Null; layer.fields.len()];
//!     for (f, v) in [("code", code), ("cha_sector", sector), ("community", "CP01")] {
//!         values[layer.field_index(f).unwrap()] = v.into();
//!     }
//!     Feature { fid: 0, geometry: Geometry::Point(Point::new(-74.0, -13.0)), values }
//! }
//! let mut stored = Layer::new("households", LayerKind::Households);
//! // H1 exists in sector S2 only.
//! let mut other = row(&stored, "H1", "S2");
//! other.fid = 1;
//! stored.features.push(other);
//!
//! let places = Places::new([Place::new("0001", "S1", "CP01"), Place::new("0001", "S2", "CP01")]);
//! let points = HashMap::from([("CP01".to_owned(), (-74.0, -13.0))]);
//! let rules = WriteRules { places: &places, community_points: &points, max_distance_m: 5_000.0 };
//! let cha = Access::new(Role::Cha, Some("S1".into()), false).unwrap();
//!
//! // A CHA of S1 posts H1: a new record of S1 (facility filled in), S2's H1 untouched.
//! let mut incoming = Layer::new("households", LayerKind::Households);
//! incoming.features.push(row(&incoming, "H1", "S1"));
//! let repaired = check_scope(&cha, &mut incoming, &[2], &[], &rules).unwrap();
//! assert_eq!(repaired.len(), 1);
//! let plan = plan_edit(&cha, Some(&stored), &incoming, &[2], &[]);
//! assert_eq!((plan.inserted, plan.updated), (1, 0));
//! assert!(plan.edit.updates.is_empty() && plan.edit.deletes.is_empty());
//!
//! // A row for S2 is refused, naming the row and the field.
//! let mut foreign = Layer::new("households", LayerKind::Households);
//! foreign.features.push(row(&foreign, "H1", "S2"));
//! let refused = check_scope(&cha, &mut foreign, &[2], &[], &rules).unwrap_err();
//! assert_eq!((refused[0].row, refused[0].field), (2, "cha_sector"));
//! ```

use super::places::{Place, Places, text};
use crate::auth::{Access, Role, Visibility};
use crate::layer::{Feature, Layer};
use crate::store::LayerEdit;
use crate::value::Value;
use geo::{Distance, Geometry, Haversine, Point};
use std::collections::HashMap;

/// Default of [`WriteRules::max_distance_m`]: how far from its community's
/// location a scoped token may place a household, in metres.
pub const DEFAULT_MAX_DISTANCE_M: f64 = 5_000.0;

/// What a scoped write is checked against.
#[derive(Debug, Clone, Copy)]
pub struct WriteRules<'a> {
    /// The register of places.
    pub places: &'a Places,
    /// Location (lon, lat) of each community code of the store's communities layers.
    pub community_points: &'a HashMap<String, (f64, f64)>,
    /// How far from its community a household of a scoped write may lie, metres.
    pub max_distance_m: f64,
}

/// A row a scoped writer may not write (nothing of the upload is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Row (or feature) number of the source.
    pub row: usize,
    /// The field at fault.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

/// A value filled in by [`check_scope`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Row number.
    pub row: usize,
    /// The field filled in.
    pub field: &'static str,
    /// What was done.
    pub reason: String,
}

/// A family's withdrawal of consent: delete its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Withdrawal {
    /// Row number of the source (0 for a deletion by code).
    pub row: usize,
    /// Household code.
    pub code: String,
    /// Submission id of the row, if any.
    pub submission_uuid: Option<String>,
    /// CHA sector, if given (else every visible sector).
    pub cha_sector: Option<String>,
    /// Facility, if given (else every visible facility).
    pub facility: Option<String>,
}

/// One deleted record, described by fields the writer may see (never the
/// health data).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeletedRecord {
    /// Household code.
    pub code: String,
    /// CHA sector.
    pub cha_sector: Option<String>,
    /// Community.
    pub community: Option<String>,
    /// Submission id.
    pub submission_uuid: Option<String>,
    /// Visit round.
    pub visit_round: Option<i64>,
    /// Visit date.
    pub visit_date: Option<String>,
}

/// What a withdrawal deleted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deleted {
    /// Row number of the source (0 for a deletion by code).
    pub row: usize,
    /// Household code.
    pub code: String,
    /// The records deleted (empty: nothing of that household in the scope).
    pub records: Vec<DeletedRecord>,
}

/// The changes of one household write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WritePlan {
    /// What the store must write.
    pub edit: LayerEdit,
    /// Rows added as new records.
    pub inserted: usize,
    /// Rows that updated a record.
    pub updated: usize,
    /// What each withdrawal deleted, in row order.
    pub deleted: Vec<Deleted>,
}

impl WritePlan {
    /// Records deleted in all.
    pub fn deleted_records(&self) -> usize {
        self.deleted.iter().map(|d| d.records.len()).sum()
    }
}

/// The unit a household code is unique in: its CHA sector, else its facility.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Unit {
    Sector(String),
    Facility(String),
    None,
}

fn unit_of(sector: &str, facility: &str) -> Unit {
    if !sector.is_empty() {
        Unit::Sector(sector.to_owned())
    } else if !facility.is_empty() {
        Unit::Facility(facility.to_owned())
    } else {
        Unit::None
    }
}

fn set_text(layer: &Layer, values: &mut [Value], name: &str, v: &str) {
    if let Some(i) = layer.field_index(name)
        && let Some(slot) = values.get_mut(i)
    {
        *slot = Value::Text(v.to_owned());
    }
}

fn point_of(f: &Feature) -> Option<(f64, f64)> {
    match &f.geometry {
        Geometry::Point(p) => Some((p.x(), p.y())),
        _ => None,
    }
}

/// Check that every row and withdrawal of a scoped writer lies in its scope
/// (see the module documentation); fill in an empty `facility` where the
/// register names exactly one. `rows[i]` is the source row of
/// `incoming.features[i]`. Admins pass unchecked. Returns the values filled
/// in, or every refused row.
pub fn check_scope(
    writer: &Access,
    incoming: &mut Layer,
    rows: &[usize],
    withdrawals: &[Withdrawal],
    rules: &WriteRules<'_>,
) -> Result<Vec<Repair>, Vec<Refusal>> {
    let scope = writer.scope.as_deref().unwrap_or("");
    let mut refused = Vec::new();
    let mut repaired = Vec::new();
    match writer.role {
        Role::Admin => return Ok(repaired),
        Role::Cha | Role::Facility => {}
        Role::Public | Role::Analyst => {
            for (i, _) in incoming.features.iter().enumerate() {
                refused.push(Refusal {
                    row: rows.get(i).copied().unwrap_or(i + 1),
                    field: "code",
                    reason: format!("a {} token writes no household records", writer.role),
                });
            }
            return Err(refused);
        }
    }
    let cha = writer.role == Role::Cha;
    let layer_shape = Layer {
        name: incoming.name.clone(),
        kind: incoming.kind,
        fields: incoming.fields.clone(),
        features: Vec::new(),
    };
    for (i, f) in incoming.features.iter_mut().enumerate() {
        let row = rows.get(i).copied().unwrap_or(i + 1);
        let mut refuse = |field: &'static str, reason: String| {
            refused.push(Refusal { row, field, reason });
        };
        let sector = text(&layer_shape, &f.values, "cha_sector");
        let mut facility = text(&layer_shape, &f.values, "facility");
        let community = text(&layer_shape, &f.values, "community");
        if cha && sector != scope {
            refuse(
                "cha_sector",
                format!(
                    "not your CHA sector '{scope}': a cha token writes only its own sector's households"
                ),
            );
            continue;
        }
        if !cha && !facility.is_empty() && facility != scope {
            refuse(
                "facility",
                format!(
                    "not your facility '{scope}': a facility token writes only its own households"
                ),
            );
            continue;
        }
        if community.is_empty() {
            refuse(
                "community",
                "is empty: a scoped token writes households of its registered communities only"
                    .to_owned(),
            );
            continue;
        }
        if facility.is_empty() {
            let options: Vec<&str> = rules
                .places
                .facilities_of(&sector, &community)
                .into_iter()
                .filter(|fa| cha || *fa == scope)
                .collect();
            if let [only] = options.as_slice() {
                (*only).clone_into(&mut facility);
                set_text(&layer_shape, &mut f.values, "facility", &facility);
                repaired.push(Repair {
                    row,
                    field: "facility",
                    reason: format!(
                        "empty; filled in with '{facility}' from the register of places"
                    ),
                });
            }
        }
        let place = Place::new(&facility, &sector, &community);
        if !rules.places.contains(&place) {
            let reason = if cha {
                let known = rules.places.communities_of_sector(scope);
                format!(
                    "community '{community}' with facility '{facility}' is not a registered place of \
                     sector '{scope}' (its communities: {}); an admin registers places",
                    if known.is_empty() {
                        "none registered".to_owned()
                    } else {
                        known.join(", ")
                    }
                )
            } else {
                format!(
                    "sector '{sector}' in community '{community}' is not a registered place of \
                     facility '{scope}'; an admin registers places"
                )
            };
            refuse("community", reason);
            continue;
        }
        let Some(&(lon, lat)) = rules.community_points.get(&community) else {
            refuse(
                "community",
                format!(
                    "community '{community}' has no location in the store's communities layers, so \
                     the point cannot be checked; an admin imports the communities first"
                ),
            );
            continue;
        };
        let Some((x, y)) = point_of(f) else {
            refuse("geometry", "a household is one point".to_owned());
            continue;
        };
        let d = Haversine.distance(Point::new(lon, lat), Point::new(x, y));
        if d.is_nan() || d > rules.max_distance_m {
            refuse(
                "longitude",
                format!(
                    "the point is {:.1} km from community '{community}': households of a scoped \
                     write lie within {:.1} km of their community",
                    d / 1000.0,
                    rules.max_distance_m / 1000.0
                ),
            );
        }
    }
    for w in withdrawals {
        let bad = match (cha, w.cha_sector.as_deref(), w.facility.as_deref()) {
            (true, Some(s), _) if s != scope => {
                Some(("cha_sector", format!("not your CHA sector '{scope}'")))
            }
            (false, _, Some(fa)) if fa != scope => {
                Some(("facility", format!("not your facility '{scope}'")))
            }
            _ => None,
        };
        if let Some((field, reason)) = bad {
            refused.push(Refusal {
                row: w.row,
                field,
                reason,
            });
        }
    }
    if refused.is_empty() {
        Ok(repaired)
    } else {
        Err(refused)
    }
}

/// Where a row's record lives: a stored fid or a new record of this write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Stored(i64),
    New(usize),
}

/// Keys and description of one record the writer may see.
#[derive(Debug, Clone)]
struct Known {
    unit: Unit,
    code: String,
    uuid: Option<String>,
    sector: String,
    facility: String,
    record: DeletedRecord,
}

fn known(layer: &Layer, values: &[Value]) -> Known {
    let t = |name: &str| text(layer, values, name);
    let opt = |s: String| (!s.is_empty()).then_some(s);
    let sector = t("cha_sector");
    let facility = t("facility");
    let code = t("code");
    let uuid = opt(t("submission_uuid"));
    let round = layer
        .field_index("visit_round")
        .and_then(|i| values.get(i))
        .and_then(Value::as_i64);
    Known {
        unit: unit_of(&sector, &facility),
        record: DeletedRecord {
            code: code.clone(),
            cha_sector: opt(sector.clone()),
            community: opt(t("community")),
            submission_uuid: uuid.clone(),
            visit_round: round,
            visit_date: opt(t("visit_date")),
        },
        code,
        uuid,
        sector,
        facility,
    }
}

/// One thing to do, in source row order.
enum Event<'a> {
    Row(&'a Feature),
    Withdraw(&'a Withdrawal),
}

/// The records a write may match, indexed by submission uuid and by code, so
/// that each incoming row looks up its few candidates instead of scanning
/// every record.
#[derive(Default)]
struct Current {
    records: HashMap<Target, Known>,
    by_uuid: HashMap<String, Vec<Target>>,
    by_code: HashMap<String, Vec<Target>>,
}

impl Current {
    fn insert(&mut self, t: Target, k: Known) {
        self.remove(t);
        if let Some(u) = &k.uuid {
            self.by_uuid.entry(u.clone()).or_default().push(t);
        }
        self.by_code.entry(k.code.clone()).or_default().push(t);
        self.records.insert(t, k);
    }

    fn remove(&mut self, t: Target) -> Option<Known> {
        let k = self.records.remove(&t)?;
        let unlink = |index: &mut HashMap<String, Vec<Target>>, key: &str| {
            if let Some(ts) = index.get_mut(key) {
                ts.retain(|x| *x != t);
                if ts.is_empty() {
                    index.remove(key);
                }
            }
        };
        if let Some(u) = &k.uuid {
            unlink(&mut self.by_uuid, u);
        }
        unlink(&mut self.by_code, &k.code);
        Some(k)
    }

    fn get(&self, t: Target) -> Option<&Known> {
        self.records.get(&t)
    }

    /// Records with submission uuid `uuid` and/or code `code` for which
    /// `pred` holds, lowest target first (stored fids, then new records in
    /// order), so matches do not depend on hash order.
    fn matching(
        &self,
        uuid: Option<&str>,
        code: Option<&str>,
        pred: &dyn Fn(&Known) -> bool,
    ) -> Vec<Target> {
        let lists = [
            uuid.and_then(|u| self.by_uuid.get(u)),
            code.and_then(|c| self.by_code.get(c)),
        ];
        let mut hits: Vec<Target> = lists
            .into_iter()
            .flatten()
            .flatten()
            .copied()
            .filter(|t| self.records.get(t).is_some_and(pred))
            .collect();
        hits.sort_by_key(|t| match t {
            Target::Stored(fid) => (0, *fid, 0),
            Target::New(i) => (1, 0, *i),
        });
        hits.dedup();
        hits
    }
}

/// The edit of a household write (see the module documentation): rows of
/// `incoming` (already through [`check_scope`]) update or add records, and
/// `withdrawals` delete them, all matched among the records of `stored` that
/// `writer` may see. Events run in source row order (`rows[i]` is the row of
/// `incoming.features[i]`); the later of two rows for one record wins.
pub fn plan_edit(
    writer: &Access,
    stored: Option<&Layer>,
    incoming: &Layer,
    rows: &[usize],
    withdrawals: &[Withdrawal],
) -> WritePlan {
    let admin = writer.role == Role::Admin;
    let mut current = Current::default();
    if let Some(stored) = stored {
        let vis = Visibility::new(writer, stored);
        for f in stored.features.iter().filter(|f| vis.may_see(f)) {
            current.insert(Target::Stored(f.fid), known(stored, &f.values));
        }
    }
    let mut events: Vec<(usize, usize, Event<'_>)> = incoming
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| (rows.get(i).copied().unwrap_or(i + 1), 0, Event::Row(f)))
        .chain(withdrawals.iter().map(|w| (w.row, 1, Event::Withdraw(w))))
        .collect();
    events.sort_by_key(|(row, order, _)| (*row, *order));

    let mut updates: HashMap<i64, &Feature> = HashMap::new();
    let mut inserts: Vec<Option<&Feature>> = Vec::new();
    let mut deletes: Vec<i64> = Vec::new();
    let mut plan = WritePlan::default();
    for (row, _, event) in events {
        match event {
            Event::Row(f) => {
                let k = known(incoming, &f.values);
                let hit = match &k.uuid {
                    Some(u) => {
                        let hits = current.matching(Some(u), None, &|c| c.uuid.as_ref() == Some(u));
                        let same_unit = hits
                            .iter()
                            .find(|t| current.get(**t).is_some_and(|c| c.unit == k.unit));
                        // Only an admin moves a submission to another unit.
                        if admin {
                            same_unit.or(hits.first())
                        } else {
                            same_unit
                        }
                        .copied()
                    }
                    None => current
                        .matching(None, Some(&k.code), &|c| {
                            c.unit == k.unit && c.code == k.code
                        })
                        .first()
                        .copied(),
                };
                if let Some(t) = hit {
                    plan.updated += 1;
                    match t {
                        Target::Stored(fid) => {
                            updates.insert(fid, f);
                        }
                        Target::New(i) => inserts[i] = Some(f),
                    }
                    current.insert(t, k);
                } else {
                    plan.inserted += 1;
                    inserts.push(Some(f));
                    current.insert(Target::New(inserts.len() - 1), k);
                }
            }
            Event::Withdraw(w) => {
                let hits = current.matching(w.submission_uuid.as_deref(), Some(&w.code), &|c| {
                    let same_uuid = w.submission_uuid.is_some() && c.uuid == w.submission_uuid;
                    let same_household = c.code == w.code
                        && w.cha_sector.as_deref().is_none_or(|s| s == c.sector)
                        && w.facility
                            .as_deref()
                            .is_none_or(|fa| fa == c.facility || w.cha_sector.as_deref().is_some());
                    same_uuid || same_household
                });
                let mut records = Vec::new();
                for t in hits {
                    if let Some(k) = current.remove(t) {
                        records.push(k.record);
                    }
                    match t {
                        Target::Stored(fid) => {
                            updates.remove(&fid);
                            deletes.push(fid);
                        }
                        Target::New(i) => inserts[i] = None,
                    }
                }
                plan.deleted.push(Deleted {
                    row,
                    code: w.code.clone(),
                    records,
                });
            }
        }
    }
    let mut updates: Vec<(i64, &Feature)> = updates.into_iter().collect();
    updates.sort_by_key(|(fid, _)| *fid);
    deletes.sort_unstable();
    plan.edit = LayerEdit {
        fields: incoming.fields.clone(),
        updates: updates
            .into_iter()
            .map(|(fid, f)| Feature {
                fid,
                geometry: f.geometry.clone(),
                values: f.values.clone(),
            })
            .collect(),
        inserts: inserts
            .into_iter()
            .flatten()
            .map(|f| Feature {
                fid: 0,
                geometry: f.geometry.clone(),
                values: f.values.clone(),
            })
            .collect(),
        deletes,
    };
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::LayerKind;
    use proptest::prelude::*;

    const SECTORS: [(&str, &str); 3] = [("S1", "F1"), ("S2", "F1"), ("S3", "F2")];

    fn places() -> Places {
        let mut p: Vec<Place> = SECTORS
            .iter()
            .map(|(s, f)| Place::new(f, s, "CP01"))
            .collect();
        p.push(Place::new("F2", "", "CP01"));
        Places::new(p)
    }

    fn points() -> HashMap<String, (f64, f64)> {
        HashMap::from([
            ("CP01".to_owned(), (-74.0, -13.0)),
            ("CP02".to_owned(), (-74.0, -13.0)),
        ])
    }

    /// A record: code, sector, facility, uuid, members (a value to see updates by).
    fn rec(
        layer: &Layer,
        code: &str,
        sector: &str,
        facility: &str,
        uuid: &str,
        members: i64,
    ) -> Feature {
        let mut values = vec![Value::Null; layer.fields.len()];
        let mut set = |f: &str, v: Value| values[layer.field_index(f).unwrap()] = v;
        set("code", code.into());
        if !sector.is_empty() {
            set("cha_sector", sector.into());
        }
        if !facility.is_empty() {
            set("facility", facility.into());
        }
        if !uuid.is_empty() {
            set("submission_uuid", uuid.into());
        }
        set("community", "CP01".into());
        set("members", Value::Int(members));
        Feature {
            fid: 0,
            geometry: Geometry::Point(Point::new(-74.001, -13.001)),
            values,
        }
    }

    fn layer(records: Vec<Feature>) -> Layer {
        let mut l = Layer::new("households", LayerKind::Households);
        l.features = records;
        for (i, f) in l.features.iter_mut().enumerate() {
            f.fid = i as i64 + 1;
        }
        l
    }

    fn shape() -> Layer {
        Layer::new("households", LayerKind::Households)
    }

    fn cha(s: &str) -> Access {
        Access::new(Role::Cha, Some(s.into()), false).unwrap()
    }

    fn fac(f: &str) -> Access {
        Access::new(Role::Facility, Some(f.into()), false).unwrap()
    }

    fn admin() -> Access {
        Access::new(Role::Admin, None, false).unwrap()
    }

    fn check(writer: &Access, incoming: &mut Layer) -> Result<Vec<Repair>, Vec<Refusal>> {
        let (p, pts) = (places(), points());
        let rules = WriteRules {
            places: &p,
            community_points: &pts,
            max_distance_m: DEFAULT_MAX_DISTANCE_M,
        };
        let rows: Vec<usize> = (2..2 + incoming.features.len()).collect();
        check_scope(writer, incoming, &rows, &[], &rules)
    }

    fn plan(writer: &Access, stored: &Layer, rows: Vec<Feature>, w: &[Withdrawal]) -> WritePlan {
        let mut incoming = shape();
        incoming.features = rows;
        let n: Vec<usize> = (2..2 + incoming.features.len()).collect();
        plan_edit(writer, Some(stored), &incoming, &n, w)
    }

    #[test]
    fn foreign_codes_and_uuids_are_new_records() {
        let s = shape();
        let stored = layer(vec![rec(&s, "H1", "S2", "F1", "u-2", 3)]);
        // Another sector's code: a new record of S1; S2's record is not touched.
        let p = plan(
            &cha("S1"),
            &stored,
            vec![rec(&s, "H1", "S1", "F1", "", 9)],
            &[],
        );
        assert_eq!((p.inserted, p.updated), (1, 0));
        assert!(p.edit.updates.is_empty() && p.edit.deletes.is_empty());
        // Another sector's submission id with a new code: a new record too.
        let p = plan(
            &cha("S1"),
            &stored,
            vec![rec(&s, "H9", "S1", "F1", "u-2", 9)],
            &[],
        );
        assert_eq!((p.inserted, p.updated), (1, 0));
        assert!(p.edit.updates.is_empty());
        // The same requests by the owner update the record.
        let p = plan(
            &cha("S2"),
            &stored,
            vec![rec(&s, "H1", "S2", "F1", "", 9)],
            &[],
        );
        assert_eq!((p.inserted, p.updated, p.edit.updates[0].fid), (0, 1, 1));
        let p = plan(
            &cha("S2"),
            &stored,
            vec![rec(&s, "H9", "S2", "F1", "u-2", 9)],
            &[],
        );
        assert_eq!((p.inserted, p.updated), (0, 1));
        // A facility over S1 and S2 matches S2's record only by its own unit.
        let p = plan(
            &fac("F1"),
            &stored,
            vec![rec(&s, "H1", "S1", "F1", "", 9)],
            &[],
        );
        assert_eq!((p.inserted, p.updated), (1, 0));
        // Another facility never reaches it.
        let p = plan(
            &fac("F2"),
            &stored,
            vec![rec(&s, "H1", "S3", "F2", "u-2", 9)],
            &[],
        );
        assert_eq!((p.inserted, p.updated), (1, 0));
        // An admin matches the submission id anywhere.
        let p = plan(
            &admin(),
            &stored,
            vec![rec(&s, "H1", "S3", "F2", "u-2", 9)],
            &[],
        );
        assert_eq!((p.inserted, p.updated), (0, 1));
    }

    #[test]
    fn scope_checks_name_rows_and_fields() {
        let s = shape();
        let refused = |w: &Access, f: Feature| {
            let mut l = shape();
            l.features.push(f);
            let e = check(w, &mut l).unwrap_err();
            (e[0].row, e[0].field, e[0].reason.clone())
        };
        // A CHA row of another sector.
        assert_eq!(
            refused(&cha("S1"), rec(&s, "H1", "S2", "F1", "", 1)).1,
            "cha_sector"
        );
        // A facility planting a row into another facility's sector (facility left empty,
        // or its own code with a foreign sector).
        assert_eq!(
            refused(&fac("F2"), rec(&s, "H1", "S1", "", "", 1)).1,
            "community"
        );
        assert_eq!(
            refused(&fac("F2"), rec(&s, "H1", "S1", "F2", "", 1)).1,
            "community"
        );
        assert_eq!(
            refused(&fac("F2"), rec(&s, "H1", "S3", "F1", "", 1)).1,
            "facility"
        );
        // Community not registered for the sector, and one with no location.
        let mut other = rec(&s, "H1", "S1", "F1", "", 1);
        other.values[s.field_index("community").unwrap()] = "CP02".into();
        let (_, field, reason) = refused(&cha("S1"), other);
        assert_eq!(field, "community");
        assert!(reason.contains("its communities: CP01"), "{reason}");
        // Too far from the community.
        let mut far = rec(&s, "H1", "S1", "F1", "", 1);
        far.geometry = Geometry::Point(Point::new(-73.9, -13.0));
        let (row, field, reason) = refused(&cha("S1"), far);
        assert_eq!((row, field), (2, "longitude"));
        assert!(reason.contains("10.8 km"), "{reason}");
        // In scope: the facility is filled in from the register.
        let mut l = shape();
        l.features.push(rec(&s, "H1", "S1", "", "", 1));
        let repaired = check(&cha("S1"), &mut l).unwrap();
        assert_eq!(repaired.len(), 1);
        assert_eq!(
            l.value(&l.features[0], "facility"),
            &Value::Text("F1".into())
        );
        // Admins are not checked.
        let mut l = shape();
        l.features.push(rec(&s, "H1", "S9", "F9", "", 1));
        assert!(check(&admin(), &mut l).unwrap().is_empty());
    }

    #[test]
    fn withdrawals_delete_the_household_in_scope_only() {
        let s = shape();
        let stored = layer(vec![
            rec(&s, "H1", "S1", "F1", "u-1", 3),
            rec(&s, "H1", "S1", "F1", "u-2", 3), // a second visit
            rec(&s, "H1", "S2", "F1", "u-3", 3), // same code, other sector
            rec(&s, "H2", "S1", "F1", "u-4", 3),
        ]);
        let w = Withdrawal {
            row: 5,
            code: "H1".into(),
            cha_sector: Some("S1".into()),
            ..Withdrawal::default()
        };
        let p = plan(&cha("S1"), &stored, vec![], std::slice::from_ref(&w));
        assert_eq!(p.edit.deletes, vec![1, 2]);
        assert_eq!(p.deleted_records(), 2);
        assert_eq!(
            p.deleted[0].records[1].submission_uuid.as_deref(),
            Some("u-2")
        );
        // The CHA of S2 asking for H1 of S1 deletes its own H1 only.
        let w2 = Withdrawal {
            cha_sector: Some("S2".into()),
            ..w.clone()
        };
        assert_eq!(
            plan(&cha("S2"), &stored, vec![], &[w2]).edit.deletes,
            vec![3]
        );
        // A facility deletes the household in every sector of its own.
        let wf = Withdrawal {
            cha_sector: None,
            facility: Some("F1".into()),
            ..w.clone()
        };
        assert_eq!(
            plan(&fac("F1"), &stored, vec![], std::slice::from_ref(&wf))
                .edit
                .deletes,
            vec![1, 2, 3]
        );
        assert!(
            plan(&fac("F2"), &stored, vec![], &[wf])
                .edit
                .deletes
                .is_empty()
        );
        // A row and then its withdrawal in one upload: nothing is added.
        let p = plan(
            &cha("S1"),
            &stored,
            vec![rec(&s, "H7", "S1", "F1", "", 3)],
            &[Withdrawal {
                row: 9,
                code: "H7".into(),
                cha_sector: Some("S1".into()),
                ..Withdrawal::default()
            }],
        );
        assert!(p.edit.is_empty(), "{p:?}");
        assert_eq!((p.inserted, p.deleted_records()), (1, 1));
    }

    /// Stored records spread over every unit, some sharing codes and submission ids.
    fn arb_stored() -> impl Strategy<Value = Vec<(usize, usize, usize, i64)>> {
        // (unit 0..4, code 0..4, uuid 0..5 (4 = none), members)
        proptest::collection::vec((0..4_usize, 0..4_usize, 0..5_usize, 0..9_i64), 0..12)
    }

    fn unit_fields(unit: usize) -> (&'static str, &'static str) {
        match unit {
            0..=2 => SECTORS[unit],
            _ => ("", "F2"),
        }
    }

    fn make(records: &[(usize, usize, usize, i64)]) -> Vec<Feature> {
        let s = shape();
        records
            .iter()
            .map(|&(unit, code, uuid, members)| {
                let (sector, facility) = unit_fields(unit);
                let uuid = if uuid < 4 {
                    format!("u-{uuid}")
                } else {
                    String::new()
                };
                rec(&s, &format!("H{code}"), sector, facility, &uuid, members)
            })
            .collect()
    }

    proptest! {
        /// Whatever the stored records, a scoped writer's plan touches only
        /// records it may see, and is the same (counts, deleted records,
        /// updated and deleted fids) when every record it may not see is gone.
        #[test]
        fn scoped_plans_ignore_foreign_records(
            stored in arb_stored(),
            writer in 0..5_usize,
            rows in proptest::collection::vec((0..4_usize, 0..5_usize, 0..9_i64), 0..6),
            withdraw in proptest::collection::vec((0..4_usize, 0..7_usize), 0..3),
        ) {
            let access = match writer {
                0..=2 => cha(SECTORS[writer].0),
                3 => fac("F1"),
                _ => fac("F2"),
            };
            // The writer's own units.
            let own: Vec<usize> = (0..4).filter(|&u| match writer {
                0..=2 => u == writer,
                3 => u <= 1,
                _ => u >= 2,
            }).collect();
            let all = layer(make(&stored));
            let vis = Visibility::new(&access, &all);
            let mut mine = all.clone();
            mine.features.retain(|f| vis.may_see(f));
            let incoming: Vec<(usize, usize, usize, i64)> = rows
                .iter()
                .map(|&(code, uuid, m)| (own[code % own.len()], code, uuid, m))
                .collect();
            let ws: Vec<Withdrawal> = withdraw
                .iter()
                .map(|&(code, row)| {
                    let (sector, facility) = unit_fields(own[code % own.len()]);
                    Withdrawal {
                        row,
                        code: format!("H{code}"),
                        cha_sector: (!sector.is_empty()).then(|| sector.to_owned()),
                        facility: Some(facility.to_owned()),
                        ..Withdrawal::default()
                    }
                })
                .collect();
            let a = plan(&access, &all, make(&incoming), &ws);
            let b = plan(&access, &mine, make(&incoming), &ws);
            prop_assert_eq!(&a, &b);
            let visible: Vec<i64> = mine.features.iter().map(|f| f.fid).collect();
            for f in &a.edit.updates {
                prop_assert!(visible.contains(&f.fid));
            }
            for fid in &a.edit.deletes {
                prop_assert!(visible.contains(fid));
            }
        }
    }
}
