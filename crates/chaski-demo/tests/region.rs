//! Properties of the generated demo region and of the files written from it.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::float_cmp,
    clippy::many_single_char_names
)]

use chaski_core::domain::{BirthCare, Category, RiskLevel, WaterStatus};
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::schema::match_core_field;
use chaski_core::value::Value;
use chaski_demo::terrain::slope_deg;
use chaski_demo::{DemoOptions, DemoRegion, RiskInputs, generate, risk_level, utm, write_files};
use geo::{Contains, CoordsIter, Geometry, Intersects, Point, Validation, Winding};
use std::collections::BTreeSet;
use std::sync::OnceLock;

fn region() -> &'static DemoRegion {
    static REGION: OnceLock<DemoRegion> = OnceLock::new();
    REGION.get_or_init(|| generate(&DemoOptions::default()))
}

fn layer(name: &str) -> &'static Layer {
    region().layer(name).unwrap()
}

fn text<'a>(l: &Layer, f: &'a chaski_core::Feature, name: &str) -> &'a str {
    l.value(f, name).as_str().unwrap_or("")
}

fn int(l: &Layer, f: &chaski_core::Feature, name: &str) -> i64 {
    l.value(f, name).as_i64().unwrap()
}

fn point(g: &Geometry<f64>) -> Point<f64> {
    match g {
        Geometry::Point(p) => *p,
        other => panic!("not a point: {other:?}"),
    }
}

#[test]
fn same_seed_same_region_other_seed_other_region() {
    let a = generate(&DemoOptions::default());
    assert_eq!(&a, region());
    let b = generate(&DemoOptions {
        seed: 7,
        ..DemoOptions::default()
    });
    assert_eq!(b.seed, 7);
    assert_ne!(a.dem.data, b.dem.data);
    for name in [
        "communities",
        "facilities",
        "water_systems",
        "paths",
        "households",
    ] {
        assert_ne!(a.layer(name), b.layer(name), "{name}");
    }
    // Same grid whatever the seed.
    assert_eq!(a.dem.transform, b.dem.transform);
}

#[test]
fn layer_names_kinds_and_counts() {
    let r = region();
    let kinds: Vec<(&str, LayerKind)> =
        r.layers.iter().map(|l| (l.name.as_str(), l.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("communities", LayerKind::Communities),
            ("facilities", LayerKind::Facilities),
            ("water_systems", LayerKind::WaterSystems),
            ("districts", LayerKind::Boundaries),
            ("paths", LayerKind::Paths),
            ("roads", LayerKind::Roads),
            ("rivers", LayerKind::Rivers),
            ("households", LayerKind::Households),
        ]
    );
    assert!(layer("communities").len() >= 150);
    assert!(layer("facilities").len() >= 15);
    assert!(layer("water_systems").len() >= 40);
    assert!(layer("households").len() >= 2_000);
    assert!((3..=4).contains(&layer("districts").len()));
    assert_eq!(layer("roads").len(), 1);
    for l in &r.layers {
        assert_eq!(
            l.fields,
            chaski_core::schema::core_field_defs(l.kind),
            "{}",
            l.name
        );
        for (i, f) in l.features.iter().enumerate() {
            assert_eq!(f.fid, i as i64 + 1, "{}", l.name);
            assert_eq!(f.values.len(), l.fields.len(), "{}", l.name);
            // Types match the fields.
            for (v, field) in f.values.iter().zip(&l.fields) {
                let ok = matches!(
                    (v, field.ty),
                    (Value::Null, _)
                        | (
                            Value::Text(_),
                            chaski_core::FieldType::Text | chaski_core::FieldType::Date
                        )
                        | (Value::Int(_), chaski_core::FieldType::Int)
                        | (Value::Bool(_), chaski_core::FieldType::Bool)
                );
                assert!(ok, "{} {} {v:?}", l.name, field.name);
            }
            let expected = l.kind.geometry_type();
            let actual = match &f.geometry {
                Geometry::Point(_) => chaski_core::GeometryType::Point,
                Geometry::MultiLineString(_) => chaski_core::GeometryType::MultiLineString,
                Geometry::MultiPolygon(_) => chaski_core::GeometryType::MultiPolygon,
                g => panic!("unexpected geometry {g:?}"),
            };
            assert_eq!(actual, expected, "{}", l.name);
        }
    }
}

#[test]
fn dem_is_an_andean_valley() {
    let dem = &region().dem;
    assert_eq!((dem.width, dem.height), (480, 440));
    assert_eq!(dem.transform[1], 60.0);
    assert_eq!(dem.transform[5], -60.0);
    assert_eq!((dem.transform[2], dem.transform[4]), (0.0, 0.0));
    assert_eq!(dem.epsg, Some(32718));
    assert_eq!(dem.nodata, Some(-9999.0));
    assert_eq!(dem.data.len(), 480 * 440);
    let (mut min, mut max) = (f32::MAX, f32::MIN);
    for &z in &dem.data {
        assert!(!dem.is_nodata(z));
        assert!((2_300.0..=4_700.0).contains(&z), "{z}");
        min = min.min(z);
        max = max.max(z);
    }
    assert!(min < 2_800.0, "valley floor {min}");
    assert!(max > 4_000.0, "ridges {max}");
    // Along the main river the DEM stays on the valley floor.
    let rivers = layer("rivers");
    let main = rivers
        .features
        .iter()
        .find(|f| text(rivers, f, "class") == "river")
        .unwrap();
    for c in main.geometry.coords_iter() {
        let (x, y) = utm::forward(c.x, c.y);
        let Some((col, row)) = dem.cell_at(x, y) else {
            continue;
        };
        let z = dem.get(col, row).unwrap();
        assert!(z < 2_800.0, "river at {c:?} on {z} m");
    }
    // Realistic slopes: 0-40 degrees, with real relief on average.
    let mut slopes: Vec<f64> = (0..dem.height)
        .flat_map(|r| (0..dem.width).map(move |c| (c, r)))
        .map(|(c, r)| slope_deg(dem, c, r))
        .collect();
    slopes.sort_by(f64::total_cmp);
    let p99 = slopes[slopes.len() * 99 / 100];
    let mean = slopes.iter().sum::<f64>() / slopes.len() as f64;
    assert!(slopes[slopes.len() - 1] <= 45.0 && p99 <= 40.0, "p99 {p99}");
    assert!((5.0..25.0).contains(&mean), "mean slope {mean}");
}

#[test]
fn points_lie_on_the_dem_and_villages_on_valid_cells() {
    let r = region();
    let dem = &r.dem;
    let (x0, y0, x1, y1) = dem.bounds();
    for name in ["communities", "facilities", "water_systems", "households"] {
        for f in &layer(name).features {
            let p = point(&f.geometry);
            // In the announced box.
            assert!((-74.25..=-73.95).contains(&p.x()) && (-13.10..=-12.85).contains(&p.y()));
            let (x, y) = utm::forward(p.x(), p.y());
            assert!(x > x0 && x < x1 && y > y0 && y < y1, "{name} {p:?}");
        }
    }
    for name in ["paths", "roads", "rivers", "districts"] {
        for f in &layer(name).features {
            for c in f.geometry.coords_iter() {
                let (x, y) = utm::forward(c.x, c.y);
                assert!(
                    x >= x0 - 0.5 && x <= x1 + 0.5 && y >= y0 - 0.5 && y <= y1 + 0.5,
                    "{name} {c:?}"
                );
            }
        }
    }
    let communities = layer("communities");
    let mut below_4000 = 0;
    for f in &communities.features {
        let p = point(&f.geometry);
        let (x, y) = utm::forward(p.x(), p.y());
        let (c, row) = dem.cell_at(x, y).unwrap();
        let z = dem.get(c, row).unwrap();
        assert!(!dem.is_nodata(z));
        assert!(z < 4_200.0);
        if z < 4_000.0 {
            below_4000 += 1;
        }
    }
    assert!(below_4000 * 10 >= communities.len() * 9, "{below_4000}");
}

#[test]
fn communities_have_plausible_attributes() {
    let l = layer("communities");
    let districts: BTreeSet<(String, String)> = layer("districts")
        .features
        .iter()
        .map(|f| {
            (
                text(layer("districts"), f, "code").to_owned(),
                text(layer("districts"), f, "name").to_owned(),
            )
        })
        .collect();
    let mut codes = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (i, f) in l.features.iter().enumerate() {
        assert_eq!(text(l, f, "code"), format!("DEMO-CP{:04}", i + 1));
        assert!(codes.insert(text(l, f, "code")));
        assert!(names.insert(text(l, f, "name")));
        let pop = int(l, f, "population");
        assert!((30..=2_000).contains(&pop));
        let hh = int(l, f, "households");
        assert!((hh as f64 - pop as f64 / 4.2).abs() <= 1.0, "{pop} {hh}");
        assert!(districts.contains(&(
            text(l, f, "ubigeo").to_owned(),
            text(l, f, "district").to_owned()
        )));
    }
    assert_eq!(text(l, &l.features[0], "name"), "Chaskipampa");
}

#[test]
fn districts_are_valid_ccw_and_cover_every_village_once() {
    let d = layer("districts");
    let mut total = 0.0;
    for f in &d.features {
        let Geometry::MultiPolygon(mp) = &f.geometry else {
            panic!()
        };
        assert!(mp.is_valid(), "{:?}", mp.validation_errors());
        for poly in &mp.0 {
            assert!(poly.exterior().is_ccw());
        }
        let code = text(d, f, "code");
        assert!(
            code.len() == 6
                && code.starts_with("05990")
                && code.bytes().all(|b| b.is_ascii_digit())
        );
        assert_eq!(text(d, f, "level"), "district");
        total += geo::Area::unsigned_area(mp);
    }
    // The districts tile the DEM extent: their areas add up to its area.
    let dem = &region().dem;
    let (x0, y0, x1, y1) = dem.bounds();
    let corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)];
    let ring: Vec<(f64, f64)> = corners.iter().map(|&(x, y)| utm::inverse(x, y)).collect();
    let extent = geo::Area::unsigned_area(&geo::Polygon::new(ring.into(), vec![]));
    assert!(
        (total - extent).abs() / extent < 1e-3,
        "{total} vs {extent}"
    );
    let c = layer("communities");
    for v in &c.features {
        let p = point(&v.geometry);
        let containing: Vec<&str> = d
            .features
            .iter()
            .filter(|f| f.geometry.contains(&p))
            .map(|f| text(d, f, "code"))
            .collect();
        assert_eq!(containing, [text(c, v, "ubigeo")], "{p:?}");
    }
}

#[test]
fn facilities_cover_the_categories() {
    let l = layer("facilities");
    let mut categories = BTreeSet::new();
    let mut complete = Vec::new();
    let mut maternity = 0;
    for (i, f) in l.features.iter().enumerate() {
        assert_eq!(text(l, f, "code"), format!("DEMO-{:05}", i + 1));
        let cat: Category = text(l, f, "category").parse().unwrap();
        categories.insert(cat);
        let bc: BirthCare = text(l, f, "birth_care").parse().unwrap();
        if bc == BirthCare::Complete {
            complete.push(f);
        }
        if l.value(f, "maternity_home").as_bool().unwrap() {
            maternity += 1;
        }
        assert!(["GOBIERNO REGIONAL", "MINSA"].contains(&text(l, f, "institution")));
        assert_eq!(text(l, f, "ubigeo").len(), 6);
    }
    assert_eq!(
        categories.into_iter().collect::<Vec<_>>(),
        [
            Category::I1,
            Category::I2,
            Category::I3,
            Category::I4,
            Category::II1
        ]
    );
    assert_eq!(complete.len(), 1);
    assert_eq!(text(l, complete[0], "category"), "II-1");
    assert!((1..=2).contains(&maternity));
    let basic = l
        .features
        .iter()
        .filter(|f| text(l, f, "birth_care") == "basic")
        .count();
    assert!(basic >= 2);
    // The hospital is in the main town (within 150 m).
    let town = point(&layer("communities").features[0].geometry);
    let h = point(&complete[0].geometry);
    let (a, b) = (utm::forward(town.x(), town.y()), utm::forward(h.x(), h.y()));
    assert!((a.0 - b.0).hypot(a.1 - b.1) < 150.0);
    let i1 = l
        .features
        .iter()
        .filter(|f| text(l, f, "category") == "I-1")
        .count();
    assert!(i1 * 3 >= l.len());
}

#[test]
fn water_systems_have_boards_and_status() {
    let l = layer("water_systems");
    for f in &l.features {
        assert!(text(l, f, "board").starts_with("JASS "));
        let s: WaterStatus = text(l, f, "status").parse().unwrap();
        let chlorinated = l.value(f, "chlorinated").as_bool().unwrap();
        assert!(!(s == WaterStatus::Down && chlorinated));
        assert!(int(l, f, "households_served") >= 1);
    }
    let statuses: BTreeSet<&str> = l.features.iter().map(|f| text(l, f, "status")).collect();
    assert_eq!(statuses.len(), 3);
}

fn lines(g: &Geometry<f64>) -> &geo::MultiLineString<f64> {
    match g {
        Geometry::MultiLineString(m) => m,
        other => panic!("not a multilinestring: {other:?}"),
    }
}

#[test]
fn paths_cross_rivers_only_on_bridges_and_fords_and_connect_every_village() {
    let p = layer("paths");
    let rivers: Vec<&geo::MultiLineString<f64>> = layer("rivers")
        .features
        .iter()
        .map(|f| lines(&f.geometry))
        .collect();
    let main = lines(&layer("rivers").features[0].geometry);
    assert_eq!(
        text(layer("rivers"), &layer("rivers").features[0], "class"),
        "river"
    );
    let mut main_bridges = 0;
    let mut fords = 0;
    for f in &p.features {
        let class = text(p, f, "class");
        let g = lines(&f.geometry);
        let crossed = rivers.iter().filter(|r| r.intersects(g)).count();
        match class {
            "footpath" | "mule_track" => assert_eq!(crossed, 0, "{}", text(p, f, "code")),
            "bridge" | "ford" => {
                assert_eq!(crossed, 1, "{}", text(p, f, "code"));
                if class == "ford" {
                    fords += 1;
                } else if main.intersects(g) {
                    main_bridges += 1;
                }
            }
            other => panic!("class {other}"),
        }
    }
    assert!(main_bridges >= 2 && fords >= 1, "{main_bridges} {fords}");
    // Every village is an end of some path, and the network is connected.
    let key = |c: geo::Coord<f64>| ((c.x * 1e6).round() as i64, (c.y * 1e6).round() as i64);
    let mut nodes: Vec<(i64, i64)> = Vec::new();
    let mut links = Vec::new();
    for f in &p.features {
        let cs: Vec<_> = f.geometry.coords_iter().collect();
        let (a, b) = (key(cs[0]), key(cs[cs.len() - 1]));
        for k in [a, b] {
            if !nodes.contains(&k) {
                nodes.push(k);
            }
        }
        links.push((a, b));
    }
    let mut reached = BTreeSet::from([key(layer("communities").features[0]
        .geometry
        .coords_iter()
        .next()
        .unwrap())]);
    loop {
        let before = reached.len();
        for (a, b) in &links {
            if reached.contains(a) || reached.contains(b) {
                reached.insert(*a);
                reached.insert(*b);
            }
        }
        if reached.len() == before {
            break;
        }
    }
    for v in &layer("communities").features {
        let k = key(v.geometry.coords_iter().next().unwrap());
        assert!(reached.contains(&k), "{k:?} not reached");
    }
    // The road is unpaved and ends at the main town.
    let roads = layer("roads");
    assert_eq!(text(roads, &roads.features[0], "class"), "unpaved");
    let last = roads.features[0].geometry.coords_iter().last().unwrap();
    assert_eq!(
        last,
        layer("communities").features[0]
            .geometry
            .coords_iter()
            .next()
            .unwrap()
    );
}

#[test]
fn households_are_consistent_and_clusters_stand_out() {
    let l = layer("households");
    let communities: BTreeSet<&str> = layer("communities")
        .features
        .iter()
        .map(|f| text(layer("communities"), f, "code"))
        .collect();
    let facilities: BTreeSet<&str> = layer("facilities")
        .features
        .iter()
        .map(|f| text(layer("facilities"), f, "code"))
        .collect();
    let b = |f: &chaski_core::Feature, n: &str| l.value(f, n).as_bool();
    let mut levels = BTreeSet::new();
    for (i, f) in l.features.iter().enumerate() {
        assert_eq!(text(l, f, "code"), format!("DEMO-H{:04}", i + 1));
        assert!(communities.contains(text(l, f, "community")));
        assert!(facilities.contains(text(l, f, "facility")));
        assert!(text(l, f, "cha").starts_with("DEMO-ACS"));
        assert!(text(l, f, "cha_sector").starts_with(text(l, f, "community")));
        let date = text(l, f, "visit_date");
        assert!(date.starts_with("2026-") && date.len() == 10);
        let (members, under2, under5, pregnant) = (
            int(l, f, "members"),
            int(l, f, "under2"),
            int(l, f, "under5"),
            int(l, f, "pregnant"),
        );
        assert!(members >= 1 && under2 <= under5 && under5 < members.max(2) && pregnant <= 1);
        let inputs = RiskInputs {
            pregnant,
            under2,
            under5,
            anaemia: b(f, "anaemia"),
            malnutrition: b(f, "malnutrition"),
            danger_signs: b(f, "danger_signs").unwrap(),
            safe_water: b(f, "safe_water").unwrap(),
            violence_risk: b(f, "violence_risk").unwrap(),
        };
        let level: RiskLevel = text(l, f, "risk_level").parse().unwrap();
        assert_eq!(level, risk_level(&inputs));
        levels.insert(level);
        // Anaemia is assessed exactly where there is a child under 5 or a pregnancy.
        assert_eq!(inputs.anaemia.is_some(), under5 + pregnant > 0);
    }
    assert_eq!(levels.len(), 3);
    // Anaemia rate among assessed households inside the planted clusters and outside.
    let r = region();
    assert_eq!(r.clusters.len(), 2);
    let centre = |i: usize| utm::forward(r.clusters[i].lon, r.clusters[i].lat);
    let (mut inside, mut outside) = ((0usize, 0usize), (0usize, 0usize));
    for f in &l.features {
        let Some(a) = b(f, "anaemia") else { continue };
        let p = point(&f.geometry);
        let (x, y) = utm::forward(p.x(), p.y());
        let near = (0..2).any(|i| {
            let c = centre(i);
            (x - c.0).hypot(y - c.1) < r.clusters[i].radius_m - 400.0
        });
        let acc = if near { &mut inside } else { &mut outside };
        acc.0 += usize::from(a);
        acc.1 += 1;
    }
    let rate_in = inside.0 as f64 / inside.1 as f64;
    let rate_out = outside.0 as f64 / outside.1 as f64;
    assert!(
        inside.1 >= 40 && rate_in > 0.65 && rate_out < 0.5,
        "{inside:?} {outside:?}"
    );
    for c in &r.clusters {
        assert!(c.households >= 50);
    }
}

#[test]
fn written_files_read_back() {
    let r = region();
    let dir = tempfile::tempdir().unwrap();
    let files = write_files(r, dir.path()).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.layer.as_str()).collect();
    assert_eq!(
        names,
        [
            "communities",
            "facilities",
            "water_systems",
            "districts",
            "paths",
            "roads",
            "rivers",
            "households"
        ]
    );
    let mut total = 0;
    for file in &files {
        let l = r.layer(&file.layer).unwrap();
        assert_eq!(file.kind, l.kind);
        total += std::fs::metadata(&file.path).unwrap().len();
        let ext = file.path.extension().unwrap().to_str().unwrap();
        match l.kind {
            LayerKind::Communities
            | LayerKind::Facilities
            | LayerKind::WaterSystems
            | LayerKind::Households => {
                assert_eq!(ext, "csv");
                let mut rd = csv::Reader::from_path(&file.path).unwrap();
                let headers: Vec<String> =
                    rd.headers().unwrap().iter().map(str::to_owned).collect();
                // Household altitude, accuracy and submission id travel in the KoBo
                // columns; low_accuracy is set on import.
                let written: Vec<usize> = (0..l.fields.len())
                    .filter(|&i| {
                        l.kind != LayerKind::Households
                            || !matches!(
                                l.fields[i].name.as_str(),
                                "altitude" | "gps_accuracy" | "submission_uuid" | "low_accuracy"
                            )
                    })
                    .collect();
                // Every core field is recognised by our importer's aliases, in order.
                for (h, &fi) in headers.iter().zip(&written) {
                    let field = &l.fields[fi];
                    assert_eq!(match_core_field(l.kind, h).unwrap().name, field.name, "{h}");
                }
                let (lat_col, lon_col) = if l.kind == LayerKind::Households {
                    assert_eq!(&headers[written.len()..], chaski_demo::KOBO_COLUMNS);
                    ("_gps_latitude", "_gps_longitude")
                } else {
                    assert_eq!(&headers[l.fields.len()..], ["lat", "lon"]);
                    ("lat", "lon")
                };
                let lat_i = headers.iter().position(|h| h == lat_col).unwrap();
                let lon_i = headers.iter().position(|h| h == lon_col).unwrap();
                let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
                assert_eq!(rows.len(), l.len(), "{}", l.name);
                for (row, f) in rows.iter().zip(&l.features) {
                    let p = point(&f.geometry);
                    assert_eq!(row[lat_i].parse::<f64>().unwrap(), p.y());
                    assert_eq!(row[lon_i].parse::<f64>().unwrap(), p.x());
                    assert_eq!(&row[0], l.value(f, "code").as_str().unwrap());
                    for (i, &fi) in written.iter().enumerate() {
                        assert_eq!(row[i], f.values[fi].to_string());
                    }
                }
                if l.kind == LayerKind::Households {
                    let uuids: BTreeSet<&str> =
                        rows.iter().map(|r| r.get(lat_i + 4).unwrap()).collect();
                    assert_eq!(uuids.len(), rows.len());
                    for row in &rows {
                        let alt: f64 = row[lat_i + 2].parse().unwrap();
                        assert!((2_300.0..4_700.0).contains(&alt));
                        assert!(row[lat_i + 5].starts_with(&row[5]));
                    }
                }
            }
            _ => {
                assert_eq!(ext, "geojson");
                let text = std::fs::read_to_string(&file.path).unwrap();
                let fc: geojson::FeatureCollection = text.parse().unwrap();
                assert_eq!(fc.features.len(), l.len(), "{}", l.name);
                for (gf, f) in fc.features.iter().zip(&l.features) {
                    let g: Geometry<f64> = gf.geometry.clone().unwrap().try_into().unwrap();
                    assert_eq!(g, f.geometry);
                    let props = gf.properties.as_ref().unwrap();
                    let keys: Vec<&String> = props.keys().collect();
                    assert_eq!(keys.len(), l.fields.len());
                    for (field, v) in l.fields.iter().zip(&f.values) {
                        assert_eq!(props[&field.name].as_str(), v.as_str());
                    }
                }
            }
        }
    }
    let readme = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(
        readme.contains("synthetic") && readme.contains("2026") && readme.contains("make demo")
    );
    for c in &r.clusters {
        assert!(readme.contains(&c.village));
    }
    // Everything, with the DEM as an uncompressed Float32 GeoTIFF, under 5 MB.
    total += (r.dem.data.len() * 4) as u64;
    assert!(total < 5_000_000, "{total}");
}

#[test]
fn writing_a_point_layer_with_lines_fails_with_context() {
    let mut r = region().clone();
    let geom = r.layers[4].features[0].geometry.clone();
    r.layers[0].features[2].geometry = geom;
    let dir = tempfile::tempdir().unwrap();
    let err = write_files(&r, dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer communities, feature 3: expected a point geometry"
    );
}

#[test]
fn other_seeds_keep_the_invariants() {
    for seed in [1, 99, 123_456_789] {
        let r = generate(&DemoOptions {
            seed,
            ..DemoOptions::default()
        });
        let l = |n: &str| r.layer(n).unwrap();
        assert!(l("communities").len() >= 150, "seed {seed}");
        assert!(l("facilities").len() >= 15, "seed {seed}");
        assert!(l("water_systems").len() >= 40, "seed {seed}");
        assert!(l("households").len() >= 2_000, "seed {seed}");
        let (min, max) = r
            .dem
            .data
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &z| (a.min(z), b.max(z)));
        assert!(
            (2_300.0..2_800.0).contains(&min) && (4_000.0..=4_700.0).contains(&max),
            "seed {seed}: {min} {max}"
        );
        let d = l("districts");
        for f in &l("communities").features {
            let p = point(&f.geometry);
            assert_eq!(
                d.features
                    .iter()
                    .filter(|x| x.geometry.contains(&p))
                    .count(),
                1,
                "seed {seed}"
            );
        }
        let rivers: Vec<&geo::MultiLineString<f64>> = l("rivers")
            .features
            .iter()
            .map(|f| lines(&f.geometry))
            .collect();
        let p = l("paths");
        for f in &p.features {
            let crossed = rivers
                .iter()
                .filter(|r| r.intersects(lines(&f.geometry)))
                .count();
            let expected = usize::from(matches!(text(p, f, "class"), "bridge" | "ford"));
            assert_eq!(crossed, expected, "seed {seed} {}", text(p, f, "code"));
        }
        assert!(
            p.features.iter().any(|f| text(p, f, "class") == "ford"),
            "seed {seed}"
        );
        assert!(
            p.features
                .iter()
                .filter(|f| text(p, f, "class") == "bridge")
                .count()
                >= 2,
            "seed {seed}"
        );
        assert!(r.clusters.iter().all(|c| c.households >= 50), "seed {seed}");
    }
}

#[test]
fn tiny_options_do_not_panic() {
    let r = generate(&DemoOptions {
        seed: 3,
        villages: 1,
        households: 0,
        water_systems: 0,
    });
    assert_eq!(r.layer("communities").unwrap().len(), 1);
    assert_eq!(r.layer("facilities").unwrap().len(), 1);
    assert_eq!(r.layer("water_systems").unwrap().len(), 1);
    assert_eq!(r.layer("households").unwrap().len(), 0);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(write_files(&r, dir.path()).unwrap().len(), 8);
}

#[test]
fn files_are_byte_identical_for_a_seed() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fa = write_files(region(), a.path()).unwrap();
    let fb = write_files(&generate(&DemoOptions::default()), b.path()).unwrap();
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(
            std::fs::read(&x.path).unwrap(),
            std::fs::read(&y.path).unwrap(),
            "{}",
            x.layer
        );
    }
    assert_eq!(
        std::fs::read(a.path().join("README.md")).unwrap(),
        std::fs::read(b.path().join("README.md")).unwrap()
    );
}

#[test]
fn dem_drains_along_the_river_layer() {
    // D8 flow over the filled DEM (chaski-core's hydrology) must gather the valley
    // into the mapped rivers: near every vertex of the lower main river there is
    // a cell draining a large share of the grid, and near the lower half of every
    // tributary a cell draining a side valley.
    let r = region();
    let dem = &r.dem;
    let flow = chaski_analysis::travel::hydrology::flow_grid(dem).unwrap();
    let max_near = |lon: f64, lat: f64| -> u32 {
        let (x, y) = utm::forward(lon, lat);
        let (c, row) = dem.cell_at(x, y).unwrap();
        let mut best = 0;
        for rr in row.saturating_sub(2)..=(row + 2).min(dem.height - 1) {
            for cc in c.saturating_sub(2)..=(c + 2).min(dem.width - 1) {
                best = best.max(flow.accumulation[rr * dem.width + cc]);
            }
        }
        best
    };
    let rivers = layer("rivers");
    let total = (dem.width * dem.height) as u32;
    for f in &rivers.features {
        let coords: Vec<_> = f.geometry.coords_iter().collect();
        let main = text(rivers, f, "class") == "river";
        // Main river: west to east, check the eastern half. Streams: head to
        // confluence, check the half next to the confluence.
        let skip = 2;
        let lower = &coords[coords.len() / 2..coords.len() - skip];
        for c in lower {
            let acc = max_near(c.x, c.y);
            if main {
                assert!(acc > total / 10, "main river at {c:?}: {acc}");
            } else {
                assert!(acc > 1_000, "{} at {c:?}: {acc}", text(rivers, f, "name"));
            }
        }
    }
}
