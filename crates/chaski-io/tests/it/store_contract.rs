//! The store contract, run on every backend (memory, GeoPackage, PostGIS):
//! layers written, upserted, appended, edited in a scope and deleted;
//! rasters; the data version; tokens, the access log and the register of
//! places. Every expected value is written out by hand from the writes.
//!
//! PostGIS runs against the cluster of `CHASKI_TEST_PG` (see
//! `scripts/pg-test-cluster.sh`), each run in a schema of its own.

use chaski_core::auth::{Access, AccessRecord, AuthError, MemoryTokenStore, Role, TokenStore};
use chaski_core::household::places::Place;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{EditScope, LayerEdit, Store, StoreError, WriteMode};
use chaski_core::value::{Field, FieldType, Value};
use chaski_io::store::gpkg::GpkgStore;
use chaski_io::store::postgis::{PostgisStore, PostgisTokenStore};
use chaski_io::store::tokens::GpkgTokenStore;
use geo::{Geometry, MultiPolygon, Point, polygon};
use rstest::rstest;

#[derive(Debug, Clone, Copy)]
enum Backend {
    Memory,
    Gpkg,
    Postgis,
}

/// A store, its tokens and the folder of its file.
type Opened = (
    Box<dyn Store>,
    Box<dyn TokenStore>,
    Option<tempfile::TempDir>,
);

/// A fresh store and its tokens (and what keeps them alive); None when the
/// backend is unavailable (a failure under CHASKI_REQUIRE_DATA=1).
fn open(backend: Backend) -> Option<Opened> {
    match backend {
        Backend::Memory => Some((
            Box::new(MemoryStore::new()),
            Box::new(MemoryTokenStore::new()),
            None,
        )),
        Backend::Gpkg => {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("contract.gpkg");
            let store = GpkgStore::open(&path).unwrap();
            let tokens = GpkgTokenStore::open(&path).unwrap();
            Some((Box::new(store), Box::new(tokens), Some(dir)))
        }
        Backend::Postgis => {
            let base = chaski_testing::require_postgres()?;
            let url = chaski_testing::pg_schema_url(&base, "contract");
            let store = PostgisStore::open(&url, true).unwrap();
            let tokens = PostgisTokenStore::open(&url).unwrap();
            Some((Box::new(store), Box::new(tokens), None))
        }
    }
}

fn community(code: &str, pop: i64, x: f64, y: f64) -> Feature {
    let l = Layer::new("communities", LayerKind::Communities);
    let mut values = vec![Value::Null; l.fields.len()];
    values[l.field_index("code").unwrap()] = code.into();
    values[l.field_index("population").unwrap()] = pop.into();
    Feature {
        fid: 0,
        geometry: Geometry::Point(Point::new(x, y)),
        values,
    }
}

fn household(code: &str, uuid: Option<&str>, sector: &str, members: i64) -> Feature {
    let l = Layer::new("households", LayerKind::Households);
    let mut values = vec![Value::Null; l.fields.len()];
    values[l.field_index("code").unwrap()] = code.into();
    values[l.field_index("submission_uuid").unwrap()] = uuid.into();
    values[l.field_index("cha_sector").unwrap()] = sector.into();
    values[l.field_index("members").unwrap()] = members.into();
    Feature {
        fid: 0,
        geometry: Geometry::Point(Point::new(-74.0, -13.0)),
        values,
    }
}

/// (fid, code, population) of every stored community.
fn communities(store: &dyn Store) -> Vec<(i64, String, Option<i64>)> {
    let l = store.read_layer("communities").unwrap();
    l.features
        .iter()
        .map(|f| {
            (
                f.fid,
                l.value(f, "code").as_str().unwrap().to_owned(),
                l.value(f, "population").as_i64(),
            )
        })
        .collect()
}

#[rstest]
#[case::memory(Backend::Memory)]
#[case::gpkg(Backend::Gpkg)]
#[case::postgis(Backend::Postgis)]
fn layers_follow_the_store_contract(#[case] backend: Backend) {
    let Some((store, _tokens, _keep)) = open(backend) else {
        return;
    };
    let store = store.as_ref();
    assert_eq!(store.version().unwrap(), 0);
    assert!(store.layers().unwrap().is_empty());
    assert!(matches!(
        store.read_layer("communities"),
        Err(StoreError::NotFound(_))
    ));

    // Replace: fids 1..3, exact bounds, version 1.
    let mut l = Layer::new("communities", LayerKind::Communities);
    l.features = vec![
        community("a", 10, -74.5, -13.25),
        community("b", 20, -74.0, -13.0),
        community("c", 30, -73.75, -12.5),
    ];
    let w = store.write_layer(&l, WriteMode::Replace).unwrap();
    assert_eq!((w.inserted, w.updated, w.removed, w.version), (3, 0, 0, 1));
    let info = store.layer_info("communities").unwrap();
    assert_eq!(
        (info.kind, info.feature_count, info.version),
        (LayerKind::Communities, 3, 1)
    );
    assert_eq!(info.bounds, Some([-74.5, -13.25, -73.75, -12.5]));
    assert_eq!(info.fields, l.fields);
    assert_eq!(
        communities(store),
        vec![
            (1, "a".into(), Some(10)),
            (2, "b".into(), Some(20)),
            (3, "c".into(), Some(30))
        ]
    );
    let back = store.read_layer("communities").unwrap();
    assert_eq!(
        back.features[2].geometry,
        Geometry::Point(Point::new(-73.75, -12.5))
    );

    // Upsert on code: b updated, d added (fid 4, bounds grow); version 2.
    l.features = vec![
        community("b", 25, -74.0, -13.0),
        community("d", 40, -73.5, -12.75),
    ];
    let w = store.write_layer(&l, WriteMode::Upsert).unwrap();
    assert_eq!((w.inserted, w.updated, w.version), (1, 1, 2));
    assert_eq!(
        communities(store),
        vec![
            (1, "a".into(), Some(10)),
            (2, "b".into(), Some(25)),
            (3, "c".into(), Some(30)),
            (4, "d".into(), Some(40))
        ]
    );
    let info = store.layer_info("communities").unwrap();
    assert_eq!((info.feature_count, info.version), (4, 2));
    let b = info.bounds.unwrap();
    for (got, want) in b.iter().zip([-74.5, -13.25, -73.5, -12.5]) {
        assert!((got - want).abs() < 1e-9, "bounds {b:?}");
    }

    // Append with a new field: old rows hold null in it.
    let mut extra = Layer::new("communities", LayerKind::Communities);
    extra.fields.push(Field::new("altitude_m", FieldType::Real));
    let mut e = community("e", 5, -74.25, -13.0);
    e.values.push(Value::Real(3210.5));
    extra.features = vec![e];
    let w = store.write_layer(&extra, WriteMode::Append).unwrap();
    assert_eq!((w.inserted, w.version), (1, 3));
    let back = store.read_layer("communities").unwrap();
    assert_eq!(back.fields.last().unwrap().name, "altitude_m");
    let alt: Vec<Value> = back
        .features
        .iter()
        .map(|f| back.value(f, "altitude_m").clone())
        .collect();
    assert_eq!(
        alt,
        vec![
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Real(3210.5)
        ]
    );
    // Fewer columns: every feature, only the fields asked for.
    let some = store
        .read_layer_fields("communities", &["population", "nope"])
        .unwrap();
    assert_eq!(some.fields, vec![Field::new("population", FieldType::Int)]);
    assert_eq!(some.features.len(), 5);
    assert_eq!(some.features[4].values, vec![Value::Int(5)]);
    // Columns only: the same fids and values, no geometry read.
    let cols = store
        .read_layer_columns("communities", &["code", "altitude_m", "nope"])
        .unwrap();
    assert_eq!(
        cols.fields,
        vec![
            Field::new("code", FieldType::Text),
            Field::new("altitude_m", FieldType::Real)
        ]
    );
    assert_eq!(cols.kind, LayerKind::Communities);
    let rows: Vec<(i64, Vec<Value>)> = cols
        .features
        .iter()
        .map(|f| (f.fid, f.values.clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, vec!["a".into(), Value::Null]),
            (2, vec!["b".into(), Value::Null]),
            (3, vec!["c".into(), Value::Null]),
            (4, vec!["d".into(), Value::Null]),
            (5, vec!["e".into(), Value::Real(3210.5)]),
        ]
    );
    assert!(
        cols.features
            .iter()
            .all(|f| f.geometry == chaski_core::store::no_geometry())
    );
    assert!(matches!(
        store.read_layer_columns("nowhere", &["code"]),
        Err(StoreError::NotFound(_))
    ));
    // The same rows one at a time, with the header of the selected fields.
    let mut scanned = Vec::new();
    let n = store
        .scan_layer_columns(
            "communities",
            &["code", "altitude_m", "nope"],
            &mut |h, f| {
                assert_eq!(h.fields, cols.fields);
                assert!(h.features.is_empty());
                assert_eq!(f.geometry, chaski_core::store::no_geometry());
                scanned.push((f.fid, f.values.clone()));
            },
        )
        .unwrap();
    assert_eq!((n, scanned), (5, rows));
    assert!(matches!(
        store.scan_layer_columns("nowhere", &["code"], &mut |_, _| {}),
        Err(StoreError::NotFound(_))
    ));

    // A write of another kind is a conflict and changes nothing.
    let mut wrong = Layer::new("communities", LayerKind::Facilities);
    wrong.features = vec![];
    assert!(matches!(
        store.write_layer(&wrong, WriteMode::Append),
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.write_layer(
            &Layer::new("Bad-Name", LayerKind::Roads),
            WriteMode::Replace
        ),
        Err(StoreError::InvalidName(_))
    ));
    assert_eq!(store.version().unwrap(), 3);

    // Multi polygons round-trip.
    let mut d = Layer::new("districts", LayerKind::Boundaries);
    let poly = polygon![(x: -74.0, y: -13.0), (x: -73.0, y: -13.0), (x: -73.0, y: -12.0), (x: -74.0, y: -13.0)];
    d.features = vec![Feature {
        fid: 0,
        geometry: Geometry::MultiPolygon(MultiPolygon::new(vec![poly])),
        values: vec![Value::Null; d.fields.len()],
    }];
    assert_eq!(
        store.write_layer(&d, WriteMode::Replace).unwrap().version,
        4
    );
    assert_eq!(
        store.read_layer("districts").unwrap().features[0].geometry,
        d.features[0].geometry
    );
    let names: Vec<String> = store
        .layers()
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, vec!["communities", "districts"]);

    // Delete: true once (version 5), then false (no new version).
    assert!(store.delete_layer("districts").unwrap());
    assert!(!store.delete_layer("districts").unwrap());
    assert_eq!(store.version().unwrap(), 5);
    assert!(matches!(
        store.read_layer("districts"),
        Err(StoreError::NotFound(_))
    ));

    // Replace again: fids renumbered, removed counted.
    l.features = vec![community("z", 1, -74.0, -13.0)];
    let w = store.write_layer(&l, WriteMode::Replace).unwrap();
    assert_eq!((w.inserted, w.removed, w.version), (1, 5, 6));
    assert_eq!(communities(store), vec![(1, "z".into(), Some(1))]);
}

/// Rows of one part of a parallel scan: (fid, values).
type PartRows = Vec<(i64, Vec<Value>)>;

#[rstest]
#[case::memory(Backend::Memory)]
#[case::gpkg(Backend::Gpkg)]
#[case::postgis(Backend::Postgis)]
fn parallel_scans_equal_one_scan(#[case] backend: Backend) {
    let Some((store, _tokens, _dir)) = open(backend) else {
        return;
    };
    // Enough rows for the GeoPackage to split them (20,000 a part at least).
    let mut layer = Layer::new("communities", LayerKind::Communities);
    layer.features = (0..90_000)
        .map(|i| {
            community(
                &format!("c{i}"),
                i64::from(i),
                -74.0 + f64::from(i % 300) * 0.001,
                -13.0 + f64::from(i / 300) * 0.001,
            )
        })
        .collect();
    store.write_layer(&layer, WriteMode::Replace).unwrap();
    let small = Layer {
        name: "small".into(),
        features: layer.features[..10].to_vec(),
        ..layer.clone()
    };
    store.write_layer(&small, WriteMode::Replace).unwrap();
    // The names and kinds without the counts.
    let kinds: Vec<(String, LayerKind)> = store
        .layers()
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.kind))
        .collect();
    assert_eq!(store.layer_kinds().unwrap(), kinds);

    let fields = ["code", "population"];
    for name in ["communities", "small"] {
        let mut one: PartRows = Vec::new();
        let n = store
            .scan_layer_columns(name, &fields, &mut |_, f| {
                one.push((f.fid, f.values.clone()));
            })
            .unwrap();
        assert_eq!(n, one.len());
        for parts in 1..=3 {
            let mut got: Vec<PartRows> = vec![Vec::new(); parts];
            let mut fns: Vec<Box<chaski_core::store::PartFn<'_>>> = got
                .iter_mut()
                .map(|rows| {
                    Box::new(move |h: &Layer, f: &Feature| {
                        assert_eq!(h.fields.len(), 2);
                        rows.push((f.fid, f.values.clone()));
                    }) as Box<chaski_core::store::PartFn<'_>>
                })
                .collect();
            let mut refs: Vec<&mut chaski_core::store::PartFn<'_>> =
                fns.iter_mut().map(|f| &mut **f).collect();
            let total = store
                .scan_layer_columns_parts(name, &fields, &mut refs)
                .unwrap();
            drop(refs);
            drop(fns);
            assert_eq!(total, n, "{backend:?} {name} in {parts} parts");
            // Each part in fid order, every part's fids below the next one's.
            for rows in &got {
                assert!(rows.windows(2).all(|w| w[0].0 < w[1].0));
            }
            let joined: PartRows = got.iter().flatten().cloned().collect();
            assert_eq!(joined, one, "{backend:?} {name} in {parts} parts");
            if matches!(backend, Backend::Gpkg) && name == "communities" {
                // The GeoPackage reads big layers in as many parts as asked.
                assert!(got.iter().all(|r| !r.is_empty()), "{parts} parts");
            }
        }
        let (mut a, mut b) = (|_: &Layer, _: &Feature| {}, |_: &Layer, _: &Feature| {});
        let mut refs: [&mut chaski_core::store::PartFn<'_>; 2] = [&mut a, &mut b];
        assert!(matches!(
            store.scan_layer_columns_parts("nowhere", &fields, &mut refs),
            Err(StoreError::NotFound(_))
        ));
    }
}

#[rstest]
#[case::memory(Backend::Memory)]
#[case::gpkg(Backend::Gpkg)]
#[case::postgis(Backend::Postgis)]
fn households_are_edited_in_scope(#[case] backend: Backend) {
    let Some((store, _tokens, _keep)) = open(backend) else {
        return;
    };
    let store = store.as_ref();
    let mut l = Layer::new("households", LayerKind::Households);
    l.features = vec![
        household("h1", Some("u1"), "S1", 1),
        household("h1", Some("u2"), "S1", 2),
        household("h3", None, "S2", 3),
    ];
    assert_eq!(
        store.write_layer(&l, WriteMode::Upsert).unwrap().inserted,
        3
    );
    // Upsert on the submission id, else on the code.
    l.features = vec![
        household("h1", Some("u2"), "S1", 20),
        household("h3", None, "S2", 30),
        household("h3", Some("u9"), "S2", 9),
    ];
    let w = store.write_layer(&l, WriteMode::Upsert).unwrap();
    assert_eq!((w.inserted, w.updated, w.version), (1, 2, 2));
    let members = |s: &dyn Store| -> Vec<(i64, i64)> {
        let l = s.read_layer("households").unwrap();
        l.features
            .iter()
            .map(|f| (f.fid, l.value(f, "members").as_i64().unwrap()))
            .collect()
    };
    assert_eq!(members(store), vec![(1, 1), (2, 20), (3, 30), (4, 9)]);

    // An edit in sector S1 sees fids 1 and 2 only; updates 1, deletes 2, adds one.
    let scope = EditScope::FieldEquals {
        field: "cha_sector",
        value: "S1",
    };
    let mut seen = Vec::new();
    let s = store
        .edit_layer("households", LayerKind::Households, scope, &mut |stored| {
            let stored = stored.unwrap();
            seen = stored.features.iter().map(|f| f.fid).collect();
            let mut up = stored.features[0].clone();
            let i = stored.field_index("members").unwrap();
            up.values[i] = Value::Int(100);
            Some(LayerEdit {
                fields: stored.fields.clone(),
                updates: vec![up],
                inserts: vec![household("h5", Some("u5"), "S1", 5)],
                deletes: vec![2],
            })
        })
        .unwrap()
        .unwrap();
    assert_eq!(seen, vec![1, 2]);
    assert_eq!((s.inserted, s.updated, s.deleted, s.version), (1, 1, 1, 3));
    assert_eq!(members(store), vec![(1, 100), (3, 30), (4, 9), (5, 5)]);
    assert_eq!(store.layer_info("households").unwrap().feature_count, 4);

    // Touching a fid outside the scope is a conflict; nothing is written.
    let err = store
        .edit_layer("households", LayerKind::Households, scope, &mut |_| {
            Some(LayerEdit {
                deletes: vec![3],
                ..LayerEdit::default()
            })
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    // Nothing to write: no new version.
    assert!(
        store
            .edit_layer("households", LayerKind::Households, scope, &mut |_| None)
            .unwrap()
            .is_none()
    );
    let empty = store
        .edit_layer("households", LayerKind::Households, scope, &mut |_| {
            Some(LayerEdit::default())
        })
        .unwrap()
        .unwrap();
    assert_eq!(empty.version, 3);
    assert_eq!(store.version().unwrap(), 3);
    assert_eq!(members(store), vec![(1, 100), (3, 30), (4, 9), (5, 5)]);
    // An edit of another kind is a conflict.
    assert!(
        store
            .edit_layer(
                "households",
                LayerKind::Communities,
                EditScope::All,
                &mut |_| None
            )
            .is_err()
    );
    // An edit creates a missing layer.
    let s = store
        .edit_layer(
            "visits",
            LayerKind::Households,
            EditScope::All,
            &mut |stored| {
                assert!(stored.is_none());
                Some(LayerEdit {
                    fields: Layer::new("visits", LayerKind::Households).fields,
                    inserts: vec![household("v1", None, "S1", 2)],
                    ..LayerEdit::default()
                })
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!((s.inserted, s.version), (1, 4));
    assert_eq!(store.layer_info("visits").unwrap().feature_count, 1);
}

#[rstest]
#[case::memory(Backend::Memory)]
#[case::gpkg(Backend::Gpkg)]
#[case::postgis(Backend::Postgis)]
fn rasters_round_trip(#[case] backend: Backend) {
    let Some((store, _tokens, _keep)) = open(backend) else {
        return;
    };
    let r = Raster {
        width: 3,
        height: 2,
        transform: [500_000.0, 30.0, 0.0, 8_600_000.0, 0.0, -30.0],
        epsg: Some(32718),
        nodata: Some(-9999.0),
        data: vec![1.5, 2.5, -9999.0, 4.0, 5.0, 6.25],
    };
    let v = store.write_raster("dem", &r).unwrap();
    assert_eq!(v, 1);
    assert_eq!(store.read_raster("dem").unwrap(), r);
    let info = &store.rasters().unwrap()[0];
    assert_eq!(
        (info.name.as_str(), info.width, info.height, info.epsg),
        ("dem", 3, 2, Some(32718))
    );
    assert_eq!(
        info.bounds,
        [500_000.0, 8_599_940.0, 500_090.0, 8_600_000.0]
    );
    assert!(matches!(
        store.read_raster("nope"),
        Err(StoreError::NotFound(_))
    ));
    assert!(store.delete_layer("dem").unwrap());
    assert!(store.rasters().unwrap().is_empty());
    assert_eq!(store.version().unwrap(), 2);
}

#[rstest]
#[case::memory(Backend::Memory)]
#[case::gpkg(Backend::Gpkg)]
#[case::postgis(Backend::Postgis)]
fn tokens_log_and_places(#[case] backend: Backend) {
    let Some((_store, tokens, _keep)) = open(backend) else {
        return;
    };
    let tokens = tokens.as_ref();
    let cha = Access::new(Role::Cha, Some("S1".into()), true).unwrap();
    let (t1, secret1) = tokens.create(&cha, Some("Rosa")).unwrap();
    let (t2, secret2) = tokens
        .create(&Access::new(Role::Analyst, None, false).unwrap(), None)
        .unwrap();
    assert_eq!(tokens.verify(&secret1).unwrap().unwrap(), t1);
    assert_eq!(tokens.verify(&secret2).unwrap().unwrap().id, t2.id);
    assert!(tokens.verify("chk_wrong").unwrap().is_none());
    let listed = tokens.list().unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id.clone()).collect::<Vec<_>>(),
        vec![t1.id.clone(), t2.id.clone()]
    );
    assert!(!format!("{listed:?}").contains(&secret1[4..]));
    tokens.revoke(&t1.id).unwrap();
    tokens.revoke(&t1.id).unwrap();
    assert!(tokens.verify(&secret1).unwrap().is_none());
    assert!(tokens.list().unwrap()[0].revoked.is_some());
    assert!(matches!(
        tokens.revoke("missing"),
        Err(AuthError::NotFound(_))
    ));

    tokens.log_access(Some(&t2.id), "/api/clusters", 7).unwrap();
    tokens
        .log(&AccessRecord {
            who: None,
            what: "/api/households",
            count: 0,
            status: 401,
            detail: Some("no token"),
        })
        .unwrap();
    let log = tokens.access_log().unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (
            log[0].who.as_deref(),
            log[0].what.as_str(),
            log[0].count,
            log[0].status
        ),
        (Some(t2.id.as_str()), "/api/clusters", 7, 200)
    );
    assert_eq!(
        (
            log[1].who.as_deref(),
            log[1].status,
            log[1].detail.as_deref()
        ),
        (None, 401, Some("no token"))
    );

    let a = Place::new("0001", "S1", "CP01");
    let b = Place::new("0001", "", "CP02");
    let none = Place::new("0001", "S1", "");
    assert_eq!(
        tokens
            .add_places(&[a.clone(), b.clone(), a.clone(), none])
            .unwrap(),
        2
    );
    assert_eq!(tokens.places().unwrap(), vec![b.clone(), a.clone()]);
    assert_eq!(
        tokens
            .remove_places(&[a, Place::new("9", "9", "9")])
            .unwrap(),
        1
    );
    assert_eq!(tokens.places().unwrap(), vec![b]);
}
