//! Tests of the travel-time pipeline on hand-computed grids (pure-Rust
//! projections; PROJ's are tested under the pipeline in `chaski-io`).

use super::burn::{DEFAULT_STREAM_KM2, dem_streams, derived_rivers, route_class};
use super::edits::{Edit, Recompute};
use super::error::TravelError;
use super::inputs::TravelInputs;
use super::layers::{SurfaceModel, TravelOptions};
use super::places::{PlaceFilter, find_district};
use super::results::RunSettings;
use super::sources::{Facility, SourceFilter};
use crate::testing::TestProjections;
use crate::travel::cost::Direction;
use crate::travel::scenario::{RouteClass, Scenario, WaterClass};
use crate::travel::village_access::{AccessStatus, District};
use crate::travel::vocab::BirthCareFilter;
use chaski_core::crs::{Projection, Projections};
use chaski_core::raster::Raster;
use chaski_core::store::Store;
use chaski_core::{Layer, LayerKind};
use geo::{Geometry, LineString, MultiPolygon};
use std::sync::Arc;

/// A store with a 20 x 10 speed raster of 30 m cells in UTM 18S at
/// 3.6 km/h (1 m/s) whose column 12 is nodata, facilities A (I-1) at cell
/// (2, 5) and B (I-3, complete birth care) at (16, 5), and villages.
fn synthetic() -> (chaski_core::store::memory::MemoryStore, Arc<dyn Projection>) {
    use chaski_core::store::WriteMode;
    let (x0, y0, cell) = (600_000.0, 8_560_000.0, 30.0);
    let mut speed = Raster::filled(20, 10, [x0, cell, 0.0, y0, 0.0, -cell], Some(32718), 3.6f32);
    speed.nodata = Some(-9999.0);
    for row in 0..10 {
        speed.data[row * 20 + 12] = -9999.0;
    }
    let p = TestProjections.metric(32718).unwrap();
    let centre = |c: usize, r: usize| {
        p.inverse_one(x0 + (c as f64 + 0.5) * cell, y0 - (r as f64 + 0.5) * cell)
            .unwrap()
    };
    let layer = |name: &str, kind: LayerKind, rows: &[(&str, &str, &str, (f64, f64))]| {
        let mut l = Layer::new(name, kind);
        for (i, (code, category, bc, (lon, lat))) in rows.iter().enumerate() {
            let mut values = vec![chaski_core::value::Value::Null; l.fields.len()];
            for (field, v) in [
                ("code", code),
                ("name", code),
                ("category", category),
                ("birth_care", bc),
            ] {
                if let Some(k) = l.field_index(field).filter(|_| !v.is_empty()) {
                    values[k] = (*v).into();
                }
            }
            l.features.push(chaski_core::Feature {
                fid: i as i64 + 1,
                geometry: Geometry::Point(geo::Point::new(*lon, *lat)),
                values,
            });
        }
        l
    };
    let store = chaski_core::store::memory::MemoryStore::new();
    store.write_raster("speed", &speed).unwrap();
    let facilities = layer(
        "facilities",
        LayerKind::Facilities,
        &[
            ("A", "I-1", "none", centre(2, 5)),
            ("B", "I-3", "complete", centre(16, 5)),
        ],
    );
    let outside = p.inverse_one(x0 - 1000.0, y0 - 100.0).unwrap();
    let villages = layer(
        "communities",
        LayerKind::Communities,
        &[
            ("V1", "", "", centre(7, 5)),
            ("V4", "", "", centre(12, 3)),
            ("V5", "", "", centre(19, 5)),
            ("V7", "", "", outside),
        ],
    );
    store.write_layer(&facilities, WriteMode::Replace).unwrap();
    store.write_layer(&villages, WriteMode::Replace).unwrap();
    (store, p)
}

#[test]
fn pipeline_on_a_hand_computed_grid() {
    let (store, p) = synthetic();
    let opts = TravelOptions {
        dem: Some("speed".to_owned()),
        model: SurfaceModel::SpeedKmh,
        ..TravelOptions::default()
    };
    let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
    assert_eq!(inputs.facilities.len(), 2);
    // V7 is outside the raster's extent and not listed.
    assert_eq!((inputs.places.len(), inputs.outside_extent), (3, 1));
    let r = inputs
        .run(&Scenario::walking(), Direction::ToSource, None)
        .unwrap();
    assert_eq!(r.scenario, "friction raster (km/h)");
    assert_eq!(r.used, 2);
    assert_eq!(r.passable_cells, 190);
    // The village table: V1 five cells east of A (150 s), V4 on nodata, V5 three east of B.
    let table: Vec<(Option<f64>, Option<&str>, AccessStatus)> = r
        .access
        .iter()
        .map(|a| (a.minutes, a.facility.as_deref(), a.status))
        .collect();
    assert!((table[0].0.unwrap() - 2.5).abs() < 1e-5);
    assert_eq!(table[0].1, Some("A"));
    assert_eq!(table[1], (None, None, AccessStatus::OutsideSurface));
    assert!((table[2].0.unwrap() - 1.5).abs() < 1e-5);
    assert_eq!(table[2].1, Some("B"));
    // Any point: a knight's move from A is sqrt(5) x 30 m.
    let ll = |c: f64, r: f64| {
        p.inverse_one(600_000.0 + c * 30.0, 8_560_000.0 - r * 30.0)
            .unwrap()
    };
    let (lon, lat) = ll(4.3, 6.6);
    let m = r.minutes_at(lon, lat).unwrap();
    assert!((m * 60.0 - 5f64.sqrt() * 30.0).abs() < 1e-3, "{m}");
    let route = r.route_from(lon, lat).unwrap();
    assert_eq!(route.first(), Some(&(lon, lat)));
    assert_eq!(route.last(), Some(&inputs.facilities[0].lonlat));
    // The point, the centres of cells (4, 6) and (2, 5), the facility.
    assert_eq!(route.len(), 4, "{route:?}");
    let (cx, cy) = p.forward_one(route[1].0, route[1].1).unwrap();
    assert!((cx - 600_135.0).abs() < 0.02 && (cy - 8_559_805.0).abs() < 0.02);
    // Off the grid, on nodata: outside the surface.
    let (lon, lat) = ll(-3.0, 2.0);
    assert_eq!(r.point(lon, lat).status, AccessStatus::OutsideSurface);
    let (lon, lat) = ll(12.5, 2.5);
    assert_eq!(r.point(lon, lat).status, AccessStatus::OutsideSurface);
    assert_eq!(r.route_from(lon, lat), None);
    // Within a minute (60 m at 1 m/s) of a source: itself, 4 axis cells at
    // 30 m, 4 at 60 m and 4 diagonals (42.4 m), for each source.
    let iso = r.isochrone(1.0);
    assert!(
        (iso.area_km2 - 26.0 * 900.0 / 1e6).abs() < 1e-12,
        "{}",
        iso.area_km2
    );
    assert_eq!(iso.geometry["type"], "MultiPolygon");
    assert_eq!(iso.geometry["coordinates"].as_array().unwrap().len(), 2);

    // Only >= I-3: B alone, and the west half is cut off by the nodata column.
    let high = SourceFilter::new(Some(&">=I-3".parse().unwrap()), None);
    let sources = high.select(&inputs.facilities);
    assert_eq!(sources.len(), 1);
    let surface = inputs.surface(&Scenario::walking()).unwrap();
    let r = inputs
        .run_on(&surface, "x", &sources, "test", RunSettings::default())
        .unwrap();
    assert_eq!(r.access[0].status, AccessStatus::NotReached);
    assert_eq!(r.point(lon, lat).status, AccessStatus::OutsideSurface);
    let complete = SourceFilter::new(None, Some(BirthCareFilter::Complete));
    assert_eq!(complete.select(&inputs.facilities), sources);
    // No source on the surface: an error naming them.
    let nowhere = vec![Facility {
        lonlat: ll(12.5, 5.0),
        ..sources[0].clone()
    }];
    let e = inputs
        .run_on(
            &surface,
            "x",
            &nowhere,
            "the 1 point sources",
            RunSettings::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("the 1 point sources: none of the 1"), "{e}");
    // A cap below 200 cells refuses the raster before reading it.
    let capped = TravelOptions {
        max_cells: Some(199),
        ..opts
    };
    assert!(matches!(
        TravelInputs::from_store(&store, &capped, &TestProjections),
        Err(TravelError::TooLarge {
            width: 20,
            height: 10,
            max: 199,
            ..
        })
    ));
}

#[test]
fn edits_on_a_hand_computed_grid() {
    let (store, p) = synthetic();
    let opts = TravelOptions {
        dem: Some("speed".to_owned()),
        model: SurfaceModel::SpeedKmh,
        ..TravelOptions::default()
    };
    let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
    let base = inputs
        .run(&Scenario::walking(), Direction::ToSource, None)
        .unwrap();
    let centre = |c: f64, r: f64| {
        p.inverse_one(600_000.0 + (c + 0.5) * 30.0, 8_560_000.0 - (r + 0.5) * 30.0)
            .unwrap()
    };
    // A post C two cells east of V1 (60 s at 1 m/s), A closed.
    let c = Facility {
        code: "C".to_owned(),
        name: "C".to_owned(),
        category: "I-2".to_owned(),
        birth_care: None,
        lonlat: centre(9.0, 5.0),
    };
    let edits = [Edit::AddFacility(c), Edit::RemoveFacility("A".to_owned())];
    let edited = inputs.with_edits(&edits).unwrap();
    assert_eq!(edited.origin, vec![Some(1), None]);
    assert_eq!(edited.effects[1].removed, 1);
    // The inputs themselves are untouched.
    assert_eq!(inputs.facilities.len(), 2);
    let all = SourceFilter::default();
    let (r, how) = inputs
        .run_edited(&edited, &base, &Scenario::walking(), &all)
        .unwrap();
    assert!(matches!(how, Recompute::Incremental { .. }), "{how:?}");
    let codes: Vec<&str> = r.sources.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, ["B", "C"]);
    assert!((r.access[0].minutes.unwrap() - 1.0).abs() < 1e-5);
    assert_eq!(r.access[0].facility.as_deref(), Some("C"));
    assert!((r.access[2].minutes.unwrap() - 1.5).abs() < 1e-5);
    // Bit for bit what a full search of the edited inputs gives.
    let full = edited
        .inputs
        .run(&Scenario::walking(), Direction::ToSource, None)
        .unwrap();
    assert_eq!(full.times.seconds, r.times.seconds);
    // Only A closed: V1's side of the nodata column is cut off.
    let closed = inputs
        .with_edits(&[Edit::RemoveFacility("A".to_owned())])
        .unwrap();
    let (r, _) = inputs
        .run_edited(&closed, &base, &Scenario::walking(), &all)
        .unwrap();
    assert_eq!(r.access[0].status, AccessStatus::NotReached);
    // Errors name the edit and field.
    let line = Edit::Line {
        line: LineString::from(vec![centre(1.0, 1.0), centre(5.0, 1.0)]),
        route: RouteClass::Footpath,
        water: None,
    };
    let e = inputs.with_edits(&[line]).err().unwrap().to_string();
    assert!(
        e.starts_with("feature 0: geometry: paths and bridges need the terrain model"),
        "{e}"
    );
    let off = Facility {
        code: "X".to_owned(),
        name: String::new(),
        category: "I-1".to_owned(),
        birth_care: None,
        lonlat: centre(12.0, 3.0),
    };
    let e = inputs
        .with_edits(&[Edit::RemoveFacility("B".to_owned()), Edit::AddFacility(off)])
        .err()
        .unwrap()
        .to_string();
    assert!(e.starts_with("feature 1: geometry: ("), "{e}");
    assert!(e.contains("outside the travel-time surface"), "{e}");
    let e = inputs
        .with_edits(&[Edit::RemoveFacility("Z".to_owned())])
        .err()
        .unwrap()
        .to_string();
    assert_eq!(e, "feature 0: code: no facility 'Z' in layer 'facilities'");
}

/// A 20 x 10 DEM of 30 m cells in UTM 18S: a V valley along column 12
/// (5 m per cell up the sides) falling 0.5 m per row to the south, a
/// facility at cell (2, 5), a village at (16, 5), and a footpath from
/// (10, 5) to (14, 5) when `path`.
fn valley(path: bool) -> (chaski_core::store::memory::MemoryStore, Arc<dyn Projection>) {
    use chaski_core::store::WriteMode;
    use chaski_core::value::Value;
    let (x0, y0, cell) = (600_000.0, 8_560_000.0, 30.0);
    let mut dem = Raster::filled(20, 10, [x0, cell, 0.0, y0, 0.0, -cell], Some(32718), 0f32);
    for row in 0..10 {
        for col in 0..20 {
            dem.data[row * 20 + col] =
                100.0 + 5.0 * (col as f32 - 12.0).abs() + 0.5 * (9 - row) as f32;
        }
    }
    let p = TestProjections.metric(32718).unwrap();
    let centre = |c: usize, r: usize| {
        p.inverse_one(x0 + (c as f64 + 0.5) * cell, y0 - (r as f64 + 0.5) * cell)
            .unwrap()
    };
    let point = |name: &str, kind: LayerKind, code: &str, (lon, lat): (f64, f64)| {
        let mut l = Layer::new(name, kind);
        let mut values = vec![Value::Null; l.fields.len()];
        values[l.field_index("code").unwrap()] = code.into();
        l.features.push(chaski_core::Feature {
            fid: 1,
            geometry: Geometry::Point(geo::Point::new(lon, lat)),
            values,
        });
        l
    };
    let store = chaski_core::store::memory::MemoryStore::new();
    store.write_raster("dem", &dem).unwrap();
    let facilities = point("facilities", LayerKind::Facilities, "F", centre(2, 5));
    let villages = point("communities", LayerKind::Communities, "V", centre(16, 5));
    store.write_layer(&facilities, WriteMode::Replace).unwrap();
    store.write_layer(&villages, WriteMode::Replace).unwrap();
    if path {
        let mut l = Layer::new("paths", LayerKind::Paths);
        let mut values = vec![Value::Null; l.fields.len()];
        values[l.field_index("class").unwrap()] = "footpath".into();
        let (a, b) = (centre(10, 5), centre(14, 5));
        l.features.push(chaski_core::Feature {
            fid: 1,
            geometry: Geometry::LineString(LineString::from(vec![a, b])),
            values,
        });
        store.write_layer(&l, WriteMode::Replace).unwrap();
    }
    (store, p)
}

#[test]
fn streams_derived_from_the_dem() {
    assert_eq!(derived_rivers(None).unwrap(), None);
    assert_eq!(derived_rivers(Some("rios")).unwrap(), None);
    assert_eq!(
        derived_rivers(Some("DEM")).unwrap(),
        Some(DEFAULT_STREAM_KM2)
    );
    assert_eq!(derived_rivers(Some("dem:0.036")).unwrap(), Some(0.036));
    for bad in ["dem:0", "dem:-1", "dem:x", "dem:inf"] {
        let e = derived_rivers(Some(bad)).unwrap_err().to_string();
        assert!(e.starts_with(&format!("rivers {bad}: expected dem")), "{e}");
    }
    let minutes = |rivers: Option<&str>, path: bool, scenario: &Scenario| {
        let (store, p) = valley(path);
        let opts = TravelOptions {
            rivers: rivers.map(str::to_owned),
            ..TravelOptions::default()
        };
        let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
        let r = inputs.run(scenario, Direction::ToSource, None).unwrap();
        let (lon, lat) = inputs.places[0].lonlat;
        // Northernmost row the route reaches.
        let top = r
            .route_from(lon, lat)
            .unwrap()
            .iter()
            .map(|&(lon, lat)| p.forward_one(lon, lat).unwrap().1)
            .fold(f64::NEG_INFINITY, f64::max);
        #[allow(clippy::cast_possible_truncation)]
        let row = ((8_560_000.0 - top) / 30.0).floor() as i64;
        (r.access[0].minutes, row, inputs)
    };
    // Each row's cells drain sideways into column 12, which drains south:
    // 20 (r + 1) cells, 0.018 (r + 1) km², flow through (12, r). With
    // 0.036 km² the stream is column 12 from row 1 down; row 0 is its source.
    let (store, _) = valley(false);
    let inputs =
        TravelInputs::from_store(&store, &TravelOptions::default(), &TestProjections).unwrap();
    let streams = dem_streams(&inputs.metric, 0.036).unwrap();
    let cells: Vec<usize> = (0..200).filter(|&i| streams.data[i] != 0).collect();
    assert_eq!(cells, (1..10).map(|r| r * 20 + 12).collect::<Vec<_>>());

    let walking = Scenario::walking();
    let (free, free_row, _) = minutes(None, false, &walking);
    let (around, around_row, inputs) = minutes(Some("dem:0.036"), false, &walking);
    assert_eq!(
        inputs.burned,
        vec![("streams from the DEM (cells)".to_owned(), 9)]
    );
    // Without rivers the route stays on row 5 or close; with the stream it
    // goes round its source on row 0.
    assert!(free_row >= 4, "{free_row}");
    assert_eq!(around_row, 0);
    assert!(around.unwrap() > free.unwrap() + 1.0, "{around:?} {free:?}");
    // A mapped footpath over the stream crosses it as a ford...
    let (ford, ford_row, _) = minutes(Some("dem:0.036"), true, &walking);
    assert!(ford_row >= 4, "{ford_row}");
    assert!(ford.unwrap() < around.unwrap(), "{ford:?} {around:?}");
    // ... which the rainy season closes: round the source again.
    let rainy = Scenario::rainy_season();
    let (_, wet_row, _) = minutes(Some("dem:0.036"), true, &rainy);
    assert_eq!(wet_row, 0);

    // A village on the stream itself keeps its cell and gets a time.
    let (store, p) = valley(false);
    let mut villages = store.read_layer("communities").unwrap();
    let mut on_stream = villages.features[0].clone();
    let (lon, lat) = p
        .inverse_one(600_000.0 + 12.5 * 30.0, 8_560_000.0 - 5.5 * 30.0)
        .unwrap();
    on_stream.fid = 2;
    on_stream.geometry = Geometry::Point(geo::Point::new(lon, lat));
    villages.features.push(on_stream);
    store
        .write_layer(&villages, chaski_core::store::WriteMode::Replace)
        .unwrap();
    let opts = TravelOptions {
        rivers: Some("dem:0.036".to_owned()),
        ..TravelOptions::default()
    };
    let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
    let r = inputs.run(&walking, Direction::ToSource, None).unwrap();
    assert_eq!(r.access[1].status, AccessStatus::Reached);
    assert!(r.access[1].minutes.is_some());
    // The other stream cells stay impassable.
    assert_eq!(
        r.passable_cells,
        200 - 8,
        "9 stream cells, one of them the village's"
    );
}

#[test]
fn land_cover_scales_and_blocks_walking() {
    use crate::travel::scenario::LandCoverFactor;
    let (store, p) = valley(false);
    // Class 5 everywhere (a grid in the DEM's CRS) but class 9 on columns 8 and 9.
    let (x0, y0) = (600_000.0, 8_560_000.0);
    let mut lc = Raster::filled(20, 10, [x0, 30.0, 0.0, y0, 0.0, -30.0], Some(32718), 5f32);
    for row in 0..10 {
        lc.data[row * 20 + 8] = 9.0;
        lc.data[row * 20 + 9] = 9.0;
    }
    store.write_raster("lc", &lc).unwrap();
    // The same classes on a geographic grid of 1e-4 degrees around the valley.
    let (w0, n0) = p.inverse_one(x0 - 100.0, y0 + 100.0).unwrap();
    let mut geo = Raster::filled(90, 60, [w0, 1e-4, 0.0, n0, 0.0, -1e-4], Some(4326), 5f32);
    geo.nodata = Some(-1.0);
    store.write_raster("lc_geo", &geo).unwrap();
    let minutes = |land_cover: Option<&str>, scenario: &Scenario| {
        let opts = TravelOptions {
            rivers: Some("none".to_owned()),
            land_cover: land_cover.map(str::to_owned),
            ..TravelOptions::default()
        };
        let inputs = TravelInputs::from_store(&store, &opts, &TestProjections).unwrap();
        let r = inputs.run(scenario, Direction::ToSource, None).unwrap();
        (r.access[0].minutes, r.access[0].status)
    };
    let walking = Scenario::walking();
    let mut slow = Scenario::walking();
    slow.land_cover = vec![LandCoverFactor {
        code: 5,
        factor: 0.5,
    }];
    let mut lake = Scenario::walking();
    lake.land_cover = vec![LandCoverFactor {
        code: 9,
        factor: 0.0,
    }];
    let (base, _) = minutes(None, &walking);
    let base = base.unwrap();
    // Without a table entry for their class, cells keep the default factor 1.
    assert_eq!(minutes(Some("lc"), &walking).0, Some(base));
    // Half the off-path speed on every cell of the route: twice the time.
    let (geo_slow, _) = minutes(Some("lc_geo"), &slow);
    assert!(
        (geo_slow.unwrap() / base - 2.0).abs() < 1e-4,
        "{geo_slow:?} {base}"
    );
    // Class 9 impassable: the village across columns 8-9 cannot reach the facility.
    let (none, status) = minutes(Some("lc"), &lake);
    assert_eq!((none, status), (None, AccessStatus::NotReached));
    // A land cover in another projected CRS is refused with the way out.
    let mut other = lc.clone();
    other.epsg = Some(32717);
    store.write_raster("lc17", &other).unwrap();
    let opts = TravelOptions {
        land_cover: Some("lc17".to_owned()),
        ..TravelOptions::default()
    };
    let e = TravelInputs::from_store(&store, &opts, &TestProjections)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("EPSG:32717: reproject it to EPSG:4326 or EPSG:32718"),
        "{e}"
    );
}

#[test]
fn line_classes() {
    use LayerKind::{Paths, Rivers, Roads};
    assert_eq!(
        route_class(Roads, "paved"),
        (Some(RouteClass::PavedRoad), None)
    );
    assert_eq!(
        route_class(Roads, "unpaved"),
        (Some(RouteClass::GravelRoad), None)
    );
    assert_eq!(
        route_class(Roads, "Trocha"),
        (Some(RouteClass::TrackRoad), None)
    );
    assert_eq!(
        route_class(Paths, "mule_track"),
        (Some(RouteClass::MuleTrack), None)
    );
    assert_eq!(
        route_class(Paths, "ford"),
        (Some(RouteClass::Footpath), Some(WaterClass::Ford))
    );
    assert_eq!(
        route_class(Paths, "bridge"),
        (Some(RouteClass::Footpath), Some(WaterClass::Bridge))
    );
    assert_eq!(
        route_class(Rivers, "stream"),
        (None, Some(WaterClass::River))
    );
    assert_eq!(
        route_class(Rivers, "navigable"),
        (None, Some(WaterClass::NavigableRiver))
    );
}

fn square(code: &str, name: &str, x0: f64, x1: f64) -> District {
    let poly = geo::Polygon::new(
        LineString::from(vec![(x0, 0.0), (x1, 0.0), (x1, 1.0), (x0, 1.0), (x0, 0.0)]),
        vec![],
    );
    District {
        code: code.to_owned(),
        name: name.to_owned(),
        polygons: MultiPolygon::new(vec![poly]),
    }
}

#[test]
fn districts_by_code_or_name_and_their_villages() {
    let d = vec![
        square("050501", "San Miguel", 0.0, 1.0),
        square("050508", "Tambo", 1.0, 2.0),
        square("150136", "SAN MIGUEL", 5.0, 6.0),
        square("090616", "Ñahuimpuquio", 6.0, 7.0),
    ];
    let find = |k: &str| find_district(&d, k, "districts", "district");
    assert_eq!(find("050508").unwrap(), 1);
    assert_eq!(find(" tambo ").unwrap(), 1);
    assert_eq!(find("nahuimpuquio").unwrap(), 3);
    let e = find("san miguel").unwrap_err().to_string();
    assert!(
        e.contains("2 districts") && e.contains("050501 San Miguel, 150136 SAN MIGUEL"),
        "{e}"
    );
    let e = find("Miguel").unwrap_err().to_string();
    assert!(
        e.contains("no district") && e.contains("similar: 050501"),
        "{e}"
    );

    // A village on the shared border belongs to the first district only.
    let first = PlaceFilter::all().with_district(&d, 0);
    let second = PlaceFilter::all().with_district(&d, 1);
    assert!(first.accepts((0.5, 0.5)) && !second.accepts((0.5, 0.5)));
    assert!(first.accepts((1.0, 0.5)) && !second.accepts((1.0, 0.5)));
    assert!(second.accepts((2.0, 0.5)) && !first.accepts((2.0, 0.5)));
    assert!(!first.accepts((f64::NAN, 0.5)));
    let boxed = second.with_bbox([1.5, 0.0, 3.0, 1.0]);
    assert!(boxed.accepts((1.6, 0.5)) && !boxed.accepts((1.4, 0.5)));
    assert!(PlaceFilter::all().is_all() && !boxed.is_all());
}
