//! The content of a map on a hand-built store, for every role: which
//! households (and which marks) each caller gets, the aggregates of callers
//! without household rights, areas, the atlas and errors.
//!
//! Community C1 holds 12 households: H01–H06 in sector S1 (facility F1),
//! H07–H12 in sector S2 (facility F2). H01 has danger signs, H02 a pregnant
//! woman with anaemia, H03 a child under 5, H04 a violence risk and nothing
//! else, H05–H12 no flag. Community C2 holds 3 households of sector S3.

#![allow(clippy::many_single_char_names)]

use super::*;
use chaski_core::auth::{Access, Role};
use chaski_core::store::WriteMode;
use chaski_core::store::memory::MemoryStore;
use chaski_core::value::Value;
use chaski_core::{Feature, Layer, LayerKind};
use geo::{Geometry, LineString, MultiLineString, MultiPolygon, Polygon};

fn feature(
    layer: &Layer,
    fid: usize,
    geometry: Geometry<f64>,
    values: &[(&str, Value)],
) -> Feature {
    let mut v = vec![Value::Null; layer.fields.len()];
    for (name, value) in values {
        v[layer.field_index(name).unwrap()] = value.clone();
    }
    Feature {
        fid: fid as i64 + 1,
        geometry,
        values: v,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn store() -> MemoryStore {
    let store = MemoryStore::new();
    let mut c = Layer::new("communities", LayerKind::Communities);
    for (k, (code, name, lon)) in [("C1", "Chaskipampa", -74.0), ("C2", "Urapampa", -73.9)]
        .into_iter()
        .enumerate()
    {
        let f = feature(
            &c,
            k,
            Geometry::Point((lon, -13.0).into()),
            &[("code", text(code)), ("name", text(name))],
        );
        c.features.push(f);
    }
    store.write_layer(&c, WriteMode::Replace).unwrap();

    let mut f = Layer::new("facilities", LayerKind::Facilities);
    let p = feature(
        &f,
        0,
        Geometry::Point((-74.001, -13.001).into()),
        &[
            ("code", text("F1")),
            ("name", text("P.S. Chaskipampa")),
            ("category", text("I-2")),
        ],
    );
    f.features.push(p);
    store.write_layer(&f, WriteMode::Replace).unwrap();

    let mut w = Layer::new("water_systems", LayerKind::WaterSystems);
    let p = feature(
        &w,
        0,
        Geometry::Point((-74.002, -13.0).into()),
        &[("code", text("W1")), ("status", text("partial"))],
    );
    w.features.push(p);
    store.write_layer(&w, WriteMode::Replace).unwrap();

    let mut paths = Layer::new("paths", LayerKind::Paths);
    let line = MultiLineString::new(vec![LineString::from(vec![
        (-74.01, -13.0),
        (-73.99, -13.0),
    ])]);
    let p = feature(
        &paths,
        0,
        Geometry::MultiLineString(line),
        &[("class", text("bridge"))],
    );
    paths.features.push(p);
    store.write_layer(&paths, WriteMode::Replace).unwrap();

    let mut d = Layer::new("districts", LayerKind::Boundaries);
    let ring = LineString::from(vec![
        (-74.05, -13.05),
        (-73.85, -13.05),
        (-73.85, -12.95),
        (-74.05, -12.95),
        (-74.05, -13.05),
    ]);
    let p = feature(
        &d,
        0,
        Geometry::MultiPolygon(MultiPolygon::new(vec![Polygon::new(ring, vec![])])),
        &[("code", text("059901")), ("name", text("Chaski Alto"))],
    );
    d.features.push(p);
    store.write_layer(&d, WriteMode::Replace).unwrap();

    let mut h = Layer::new("households", LayerKind::Households);
    for k in 1..=15_usize {
        let (community, sector, facility, lon) = match k {
            1..=6 => ("C1", "S1", "F1", -74.0),
            7..=12 => ("C1", "S2", "F2", -74.0),
            _ => ("C2", "S3", "F2", -73.9),
        };
        let mut values = vec![
            ("code", text(&format!("H{k:02}"))),
            ("community", text(community)),
            ("cha_sector", text(sector)),
            ("facility", text(facility)),
            ("cha", text(&format!("CHA-{sector}"))),
            ("consent", Value::Bool(true)),
        ];
        match k {
            1 => values.extend([
                ("danger_signs", Value::Bool(true)),
                ("risk_level", text("alto")),
            ]),
            2 => values.extend([
                ("pregnant", Value::Int(1)),
                ("anaemia", Value::Bool(true)),
                ("risk_level", text("alto")),
            ]),
            3 => values.extend([("under5", Value::Int(2)), ("risk_level", text("bajo"))]),
            4 => values.extend([
                ("violence_risk", Value::Bool(true)),
                ("risk_level", text("alto")),
            ]),
            _ => values.push(("risk_level", text("bajo"))),
        }
        let at = (lon + 0.0002 * k as f64, -13.0 + 0.0001 * k as f64);
        let p = feature(&h, k - 1, Geometry::Point(at.into()), &values);
        h.features.push(p);
    }
    store.write_layer(&h, WriteMode::Replace).unwrap();
    store
}

fn access(role: Role, scope: Option<&str>, violence: bool) -> Access {
    Access::new(role, scope.map(str::to_owned), violence).unwrap()
}

fn codes(map: &RiskMap) -> Vec<String> {
    map.households
        .as_ref()
        .map(|h| h.iter().map(|h| h.code.clone()).collect())
        .unwrap_or_default()
}

fn community(code: &str) -> MapArea {
    MapArea::Community(code.to_owned())
}

#[test]
fn each_role_gets_the_households_it_may_see() {
    let s = store();
    let src = MapSource::read(&s, "households").unwrap();
    let c1: Vec<String> = (1..=12).map(|k| format!("H{k:02}")).collect();
    let admin = src
        .gather(
            &access(Role::Admin, None, false),
            &community("C1"),
            None,
            None,
        )
        .unwrap();
    assert_eq!(codes(&admin), c1);
    assert!(admin.shows_households());
    let cha = src
        .gather(
            &access(Role::Cha, Some("S1"), false),
            &community("C1"),
            None,
            None,
        )
        .unwrap();
    assert_eq!(codes(&cha), c1[..6].to_vec());
    let fac = src
        .gather(
            &access(Role::Facility, Some("F2"), false),
            &community("C1"),
            None,
            None,
        )
        .unwrap();
    assert_eq!(codes(&fac), c1[6..].to_vec());
    // No household rights: no point, no code, only the published counts.
    for a in [Access::public(), access(Role::Analyst, None, false)] {
        let m = src.gather(&a, &community("C1"), None, None).unwrap();
        assert!(m.households.is_none() && !m.shows_households(), "{a:?}");
        assert!(m.title.cha.is_none());
        let c = m.communities.iter().find(|c| c.code == "C1").unwrap();
        // C2's 3 households are under 5; C1 is hidden with it (complementary suppression).
        assert_eq!(c.households, Some(Shown::Suppressed));
        assert!(!format!("{m:?}").contains("H01"));
    }
}

#[test]
fn violence_shows_only_as_a_priority_visit_and_only_with_the_grant() {
    let s = store();
    let src = MapSource::read(&s, "households").unwrap();
    let marks = |a: &Access| -> Vec<(String, HouseholdMarks)> {
        let m = src.gather(a, &community("C1"), None, None).unwrap();
        m.households
            .unwrap()
            .into_iter()
            .map(|h| (h.code, h.marks))
            .collect()
    };
    let granted = marks(&access(Role::Admin, None, true));
    let plain = marks(&access(Role::Admin, None, false));
    let h04 = |list: &[(String, HouseholdMarks)]| {
        list.iter().find(|(c, _)| c == "H04").unwrap().1.clone()
    };
    assert!(h04(&granted).priority && h04(&granted).none_flagged());
    assert!(!h04(&plain).priority && h04(&plain).none_flagged());
    // Other alto households are priority visits for both: the mark says nothing of why.
    for list in [&granted, &plain] {
        let h01 = &list.iter().find(|(c, _)| c == "H01").unwrap().1;
        assert!(h01.priority && h01.danger_signs);
        let h02 = &list.iter().find(|(c, _)| c == "H02").unwrap().1;
        assert!(h02.priority && h02.pregnant && h02.anaemia_malnutrition);
        let h03 = &list.iter().find(|(c, _)| c == "H03").unwrap().1;
        assert!(!h03.priority && h03.child_under5);
    }
}

#[test]
fn sectors_facilities_and_the_title() {
    let s = store();
    let src = MapSource::read(&s, "households").unwrap();
    let admin = access(Role::Admin, None, false);
    let m = src
        .gather(&admin, &MapArea::Sector("S3".into()), None, None)
        .unwrap();
    assert_eq!(codes(&m), vec!["H13", "H14", "H15"]);
    assert_eq!(
        m.title.community.as_ref().map(|c| c.code.as_str()),
        Some("C2")
    );
    assert_eq!(m.title.cha.as_deref(), Some("CHA-S3"));
    assert_eq!(
        m.title.district.as_ref().map(|d| d.code.as_str()),
        Some("059901")
    );
    let m = src
        .gather(&admin, &MapArea::Facility("F1".into()), None, None)
        .unwrap();
    assert_eq!(
        codes(&m),
        (1..=6).map(|k| format!("H{k:02}")).collect::<Vec<_>>()
    );
    assert_eq!(
        m.title.facility.as_ref().map(|f| f.code.as_str()),
        Some("F1")
    );
    // Context: the water system (partial) and the bridge.
    let m = src.gather(&admin, &community("C1"), None, None).unwrap();
    assert_eq!(m.water_systems.len(), 1);
    assert_eq!(m.water_systems[0].state, WaterState::Partial);
    assert_eq!(
        m.lines.iter().map(|l| l.kind).collect::<Vec<_>>(),
        vec![LineKind::Bridge]
    );
    // The focus holds the community and its households, and is at least MIN_FOCUS_M wide.
    let (lon, lat) = m.centre();
    assert!(m.focus[0] <= -74.0 && m.focus[2] >= -74.0 + 0.0002 * 12.0 && lat < -12.99);
    assert!(
        (m.focus[2] - m.focus[0]) * 111_195.0 * lon.to_radians().cos().abs().max(0.97)
            >= MIN_FOCUS_M * 0.9
    );
}

#[test]
fn unknown_areas_and_atlases() {
    let s = store();
    let src = MapSource::read(&s, "households").unwrap();
    let admin = access(Role::Admin, None, false);
    let err = src
        .gather(&admin, &community("C9"), None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no community with code 'C9'") && err.contains("C1"),
        "{err}"
    );
    let err = src
        .gather(&admin, &MapArea::Sector("S9".into()), None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("CHA sector") && err.contains("S1"), "{err}");
    // Sector codes come from household records: not listed to the public.
    let err = src
        .gather(&Access::public(), &MapArea::Sector("S9".into()), None, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("CHA sector with code 'S9'") && !err.contains("S1"),
        "{err}"
    );
    let (d, areas) = src.atlas("059901", AtlasBy::Community).unwrap();
    assert_eq!(d.name, "Chaski Alto");
    assert_eq!(areas, vec![community("C1"), community("C2")]);
    let (_, areas) = src.atlas("chaski alto", AtlasBy::Sector).unwrap();
    assert_eq!(areas.len(), 3);
    let err = src
        .atlas("059999", AtlasBy::Community)
        .unwrap_err()
        .to_string();
    assert!(err.contains("059901 Chaski Alto"), "{err}");
    assert!("town:X".parse::<MapArea>().is_err());
    assert_eq!("sectors".parse::<AtlasBy>().unwrap(), AtlasBy::Sector);
}
