//! What each fuzz target does with its input, in one file shared by the fuzz
//! targets (`fuzz/fuzz_targets/*.rs`, nightly, cargo-fuzz) and the stable
//! end-to-end tests (`tests/it/fuzz_inputs.rs` includes this file), which run
//! every committed corpus and regression input through the same functions.
//!
//! Each function calls the real public parser or encoder and asserts the
//! invariant that matters: no panic on any input; errors of the HTTP parsers
//! are 4xx; what an importer keeps has coordinates in range and a report that
//! adds up; MVT tiles decode with the tests' independent decoder and with
//! `mvt-reader`, every command stream is valid and rings are oriented as the
//! specification says (exterior positive, holes negative, y down).

use arbitrary::Unstructured;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{Request, Uri};
use axum::response::IntoResponse;
use chaski_core::Layer;
use chaski_core::layer::{Feature, LayerKind};
use chaski_core::store::memory::MemoryStore;
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value;
use chaski_io::households::KnownCodes;
use chaski_io::import::{ImportOptions, ImportReport, build_layer};
use chaski_server::error::ApiError;
use chaski_server::params;
use chaski_server::state::AppState;
use chaski_server::{ServerConfig, app};
use chaski_tiles::{BUFFER, EXTENT, LayerSource, TileCoord, TileSource};
use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use http_body_util::BodyExt;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

/// Every fuzz target, by name (the folders of `fuzz/corpus` and `fuzz/regressions`).
pub const TARGETS: [&str; 9] = [
    "csv_import",
    "odk_kobo_import",
    "geojson_import",
    "tile_path",
    "query_params",
    "whatif_geojson",
    "mvt_encode",
    "mapping_toml",
    "indicators_toml",
];

/// Run target `name` on `data`; false for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "csv_import" => csv_import(data),
        "odk_kobo_import" => odk_kobo_import(data),
        "geojson_import" => geojson_import(data),
        "tile_path" => tile_path(data),
        "query_params" => query_params(data),
        "whatif_geojson" => whatif_geojson(data),
        "mvt_encode" => mvt_encode(data),
        "mapping_toml" => mapping_toml(data),
        "indicators_toml" => indicators_toml(data),
        _ => return false,
    }
    true
}

// ---------------------------------------------------------------- importers

/// The point kinds a CSV file may be imported as.
const CSV_KINDS: [LayerKind; 4] = [
    LayerKind::Communities,
    LayerKind::Facilities,
    LayerKind::WaterSystems,
    LayerKind::Households,
];

/// What an import kept: features with coordinates in range, as many as the
/// report says, each with its source row.
fn check_import(layer: &Layer, report: &ImportReport, max_chars: Option<usize>) {
    assert_eq!(report.imported, layer.features.len(), "report.imported");
    assert_eq!(
        report.feature_rows.len(),
        layer.features.len(),
        "report.feature_rows"
    );
    for f in &layer.features {
        let Geometry::Point(p) = &f.geometry else {
            panic!("a CSV or household import kept a {:?}", f.geometry);
        };
        assert!(
            p.x().is_finite() && p.y().is_finite() && p.x().abs() <= 180.0 && p.y().abs() <= 90.0,
            "kept a point out of range: {p:?}"
        );
        assert_eq!(f.values.len(), layer.fields.len(), "values per field");
        if let Some(max) = max_chars {
            for v in &f.values {
                if let Value::Text(t) = v {
                    assert!(
                        t.chars().count() <= max,
                        "kept a value over {max} characters"
                    );
                }
            }
        }
    }
}

/// `chaski import FILE.csv`: the file's bytes (any encoding) read by
/// `chaski_io::csv::read_csv_bytes`, then typed by `build_layer`. The first
/// byte picks the layer kind and whether swapped coordinates are fixed.
pub fn csv_import(data: &[u8]) {
    let Some((&head, bytes)) = data.split_first() else {
        return;
    };
    let kind = CSV_KINDS[usize::from(head) % CSV_KINDS.len()];
    let path = Path::new("fuzz.csv");
    let Ok(table) = chaski_io::csv::read_csv_bytes(bytes, path, None) else {
        return;
    };
    let mut opts = ImportOptions::new("fuzz");
    opts.kind = Some(kind);
    opts.fix_swapped = head & 0x80 != 0;
    if let Ok((layer, report)) = build_layer(table, path, &opts) {
        check_import(&layer, &report, None);
    }
}

/// The codes a household upload is checked against (one community, one facility).
fn known_codes() -> Arc<KnownCodes> {
    static KNOWN: OnceLock<Arc<KnownCodes>> = OnceLock::new();
    Arc::clone(KNOWN.get_or_init(|| {
        Arc::new(KnownCodes {
            communities: Some(HashSet::from(["SYN-CP01".to_owned()])),
            facilities: Some(HashSet::from(["SYN-00001".to_owned()])),
            community_points: HashMap::from([("SYN-CP01".to_owned(), (-74.22, -13.15))]),
        })
    }))
}

/// A household upload as `POST /api/households` reads it: UTF-8 text
/// without its byte-order mark, the reader of its format, then `build_layer`
/// with the household kind, known codes and the field length limit.
fn household_upload(data: &[u8], csv: bool) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (table, path) = if csv {
        let path = Path::new("upload.csv");
        let Ok(t) = chaski_io::csv::read_csv_str(text, path, None) else {
            return;
        };
        (t, path)
    } else {
        let path = Path::new("upload.geojson");
        let Ok(t) = chaski_io::households::read_geojson_str(text, path) else {
            return;
        };
        (t, path)
    };
    let mut opts = ImportOptions::new("households");
    opts.kind = Some(LayerKind::Households);
    opts.known_codes = Some(known_codes());
    opts.max_field_chars = 64;
    if let Ok((layer, report)) = build_layer(table, path, &opts) {
        check_import(&layer, &report, Some(opts.max_field_chars));
    }
}

/// An ODK Central or KoBoToolbox CSV export uploaded to `POST /api/households`.
pub fn odk_kobo_import(data: &[u8]) {
    household_upload(data, true);
}

/// GeoJSON household points uploaded to `POST /api/households`.
pub fn geojson_import(data: &[u8]) {
    household_upload(data, false);
}

/// A mapping file (`chaski import --mapping FILE.toml`) parsed by
/// `Mapping::parse`, then used to import a small CSV file (its `crs` left
/// out: reprojection is PROJ's, not ours to fuzz).
pub fn mapping_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let Ok(mut mapping) = chaski_io::mapping::Mapping::parse(text, path) else {
        return;
    };
    mapping.crs = None;
    let csv = "code;name;lon;lat;NORTE;ESTE;population\n\
               C1;Uno;-74.2;-13.1;-74.2;-13.1;120\n\
               C2;Dos;-74.3;-13.2;-74.3;-13.2;\n";
    let csv_path = Path::new("fuzz.csv");
    let Ok(table) = chaski_io::csv::read_csv_str(csv, csv_path, Some(&mapping)) else {
        return;
    };
    let mut opts = ImportOptions::new("communities");
    opts.mapping = Some(mapping);
    if let Ok((layer, report)) = build_layer(table, csv_path, &opts) {
        assert_eq!(report.imported, layer.features.len(), "report.imported");
    }
}

/// The indicator file (`--indicators FILE`) parsed by `Indicators::parse`,
/// then every indicator selected by id.
pub fn indicators_toml(data: &[u8]) {
    use chaski_analysis::monitoring::config::Indicators;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ind) = Indicators::parse(text) else {
        return;
    };
    let ids: Vec<String> = ind.list.iter().map(|i| i.id.clone()).collect();
    for id in &ids {
        assert!(
            ind.find(id).is_some(),
            "indicator '{id}' not found by its id"
        );
    }
    let _ = ind.select(Some(&ids.join(",")));
    let _ = ind.select(None);
}

// ---------------------------------------------------------------- HTTP parsers

/// `text` as URI characters: bytes outside the unreserved and sub-delimiter
/// sets (and `/`, `?`, `&`, `=`, `%`, `:`, `@`) percent-encoded, so any input
/// makes a URI and the server decodes it back.
fn uri_text(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text {
        if b.is_ascii_alphanumeric() || b"-._~!$'()*+,;=:@/?&%".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An HTTP error must be a 4xx.
fn assert_client_error(e: &ApiError) {
    let status = e.clone().into_response().status();
    assert!(status.is_client_error(), "{status} for {e:?}");
}

/// A small store: villages, a road and a district around (-74.2, -13.1).
fn tile_state() -> &'static (tokio::runtime::Runtime, AppState) {
    static STATE: OnceLock<(tokio::runtime::Runtime, AppState)> = OnceLock::new();
    STATE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let store = MemoryStore::new();
        let layer = |name: &str, kind: LayerKind, geoms: Vec<Geometry<f64>>| {
            let mut l = Layer::new(name, kind);
            for (i, g) in geoms.into_iter().enumerate() {
                let mut values = vec![Value::Null; l.fields.len()];
                values[0] = Value::Text(format!("{name}-{i}"));
                l.features.push(Feature {
                    fid: i as i64 + 1,
                    geometry: g,
                    values,
                });
            }
            l
        };
        let villages = (0..40)
            .map(|i| {
                let t = f64::from(i);
                Geometry::Point(Point::new(-74.2 + t * 0.003, -13.1 + t * 0.002))
            })
            .collect();
        let road = LineString::from(vec![(-74.3, -13.2), (-74.2, -13.1), (-74.1, -13.05)]);
        let district = Polygon::new(
            LineString::from(vec![
                (-74.4, -13.3),
                (-74.0, -13.3),
                (-74.0, -12.9),
                (-74.4, -12.9),
                (-74.4, -13.3),
            ]),
            vec![],
        );
        for l in [
            layer("communities", LayerKind::Communities, villages),
            layer("roads", LayerKind::Roads, vec![Geometry::LineString(road)]),
            layer(
                "districts",
                LayerKind::Boundaries,
                vec![Geometry::Polygon(district)],
            ),
        ] {
            store
                .write_layer(&l, WriteMode::Replace)
                .expect("the memory store takes the layer");
        }
        let config = ServerConfig {
            styles_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../styles").into(),
            cache_mb: 16,
            ..ServerConfig::default()
        };
        let state = AppState::new(Arc::new(store), config).expect("the app state");
        (rt, state)
    })
}

/// Prefixes of tile and map-style paths; the first input byte picks one.
const TILE_PREFIXES: [&str; 5] = [
    "/tiles/",
    "/archives/",
    "/styles/",
    "/whatif/0123456789abcdef/tiles/",
    "/tiles/communities,roads,districts/",
];

/// `GET` of a tile path through `app(state)`: never a 5xx; every 4xx JSON
/// with an `error` text.
pub fn tile_path(data: &[u8]) {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let prefix = TILE_PREFIXES[usize::from(head) % TILE_PREFIXES.len()];
    let Ok(uri) = format!("{prefix}{}", uri_text(rest)).parse::<Uri>() else {
        return;
    };
    let (rt, state) = tile_state();
    let req = Request::get(uri).body(Body::empty()).expect("a request");
    let (status, body) = rt.block_on(async {
        let res = app(state.clone())
            .oneshot(req)
            .await
            .expect("the router is infallible");
        let status = res.status();
        let body = res.into_body().collect().await.expect("a body").to_bytes();
        (status, body)
    });
    assert!(!status.is_server_error(), "{status}: {body:?}");
    if status.is_client_error() {
        let json: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{status} with a body that is not JSON ({e}): {body:?}"));
        assert!(
            json["error"].is_string(),
            "{status} without 'error': {json}"
        );
    }
}

/// Every query parameter name of the endpoints.
const ALL_PARAMS: [&str; 40] = [
    "category",
    "birth_care",
    "preset",
    "scenario",
    "direction",
    "moves",
    "bbox",
    "district",
    "districts",
    "limit",
    "offset",
    "lon",
    "lat",
    "whatif",
    "minutes",
    "outside",
    "bands",
    "max_minutes",
    "method",
    "flags",
    "all",
    "any",
    "members",
    "layer",
    "max_share",
    "max_radius_m",
    "replicates",
    "seed",
    "max_clusters",
    "eps_m",
    "min_points",
    "by",
    "cell_m",
    "value",
    "k",
    "alpha",
    "on_error",
    "drop",
    "sector",
    "facility",
];

/// A query string read by every query parser of `chaski_server::params`:
/// each either parses or answers a 4xx naming the problem.
pub fn query_params(data: &[u8]) {
    let Ok(uri) = format!("/?{}", uri_text(data)).parse::<Uri>() else {
        return;
    };
    let query = Query::<Vec<(String, String)>>::try_from_uri(&uri);
    let pairs = query.as_ref().map(|Query(p)| p.clone()).unwrap_or_default();
    match params::Params::new(query, &ALL_PARAMS) {
        Err(e) => assert_client_error(&e),
        Ok(p) => {
            if let Err(e) = params::RunParams::parse(&p) {
                assert_client_error(&e);
            }
            if let Err(e) = params::ListParams::parse(&p) {
                assert_client_error(&e);
            }
            match params::parse_bands(&p) {
                Err(e) => assert_client_error(&e),
                Ok(bands) => {
                    assert!(bands.len() <= params::MAX_BANDS);
                    assert!(bands.iter().all(|b| b.is_finite() && *b > 0.0));
                }
            }
            if let Err(e) = params::whatif_run_params(&p, Vec::new()) {
                assert_client_error(&e);
            }
            for name in ["lon", "lat", "minutes"] {
                match p.number(name, -180.0..=180.0, "a number") {
                    Err(e) => assert_client_error(&e),
                    Ok(v) => assert!(v.is_none_or(f64::is_finite)),
                }
            }
        }
    }
    match params::ClusterRequest::parse(&pairs) {
        Err(e) => assert_client_error(&e),
        Ok(r) => {
            let _ = r.canonical();
        }
    }
    if let Err(e) = params::UploadParams::parse(pairs.clone()) {
        assert_client_error(&e);
    }
    if let Err(e) = params::DeleteParams::parse(pairs.clone()) {
        assert_client_error(&e);
    }
    if let Err(e) = params::summary_by(pairs.clone()) {
        assert_client_error(&e);
    }
    for (_, v) in &pairs {
        if let Ok([x0, y0, x1, y1]) = params::bbox_of(v, "bbox") {
            assert!([x0, y0, x1, y1].iter().all(|c| c.is_finite()));
            assert!(x0 <= x1 && y0 <= y1);
        }
    }
    if let [(_, z), (_, x), (_, y), ..] = &pairs[..]
        && let Err(e) = params::parse_coord(z, x, y, 22)
    {
        assert_client_error(&e);
    }
}

/// A `POST /api/whatif` body read by `chaski_server::edits::parse_body`,
/// its edits layer built and its members read as run parameters.
pub fn whatif_geojson(data: &[u8]) {
    use chaski_server::edits::{MAX_EDITS, edits_layer, parse_body};
    match parse_body(data) {
        Err(e) => assert_client_error(&e),
        Ok((edits, members)) => {
            assert!(!edits.is_empty() && edits.len() <= MAX_EDITS);
            let layer = edits_layer(&edits);
            for f in &layer.features {
                for c in geo::CoordsIter::coords_iter(&f.geometry) {
                    assert!(c.x.abs() <= 180.0 && c.y.abs() <= 90.0, "edit at {c:?}");
                }
            }
            let p = params::Params::new(Ok(Query(Vec::new())), &[]).expect("no parameters");
            if let Err(e) = params::whatif_run_params(&p, members) {
                assert_client_error(&e);
            }
        }
    }
}

// ---------------------------------------------------------------- MVT encoder

/// Arbitrary coordinates: mostly near `centre` (within a few tiles at zoom
/// `z`), sometimes any `f64` (NaN, infinities, huge values).
struct Coords {
    centre: (f64, f64),
    step: f64,
}

impl Coords {
    fn coord(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Coord<f64>> {
        if u.ratio(1u8, 16u8)? {
            return Ok(Coord {
                x: u.arbitrary()?,
                y: u.arbitrary()?,
            });
        }
        let dx: i16 = u.arbitrary()?;
        let dy: i16 = u.arbitrary()?;
        Ok(Coord {
            x: self.centre.0 + f64::from(dx) * self.step,
            y: self.centre.1 + f64::from(dy) * self.step,
        })
    }

    fn line(&self, u: &mut Unstructured<'_>, max: usize) -> arbitrary::Result<LineString<f64>> {
        let n = u.int_in_range(0..=max)?;
        let mut pts = Vec::with_capacity(n);
        for _ in 0..n {
            // Repeated points now and then.
            let c = match pts.last() {
                Some(&last) if u.ratio(1u8, 8u8)? => last,
                _ => self.coord(u)?,
            };
            pts.push(c);
        }
        Ok(LineString(pts))
    }

    fn polygon(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<Polygon<f64>> {
        let exterior = self.line(u, 12)?;
        let holes = (0..u.int_in_range(0..=2)?)
            .map(|_| self.line(u, 8))
            .collect::<arbitrary::Result<_>>()?;
        Ok(Polygon::new(exterior, holes))
    }

    fn geometry(&self, u: &mut Unstructured<'_>, kind: u8) -> arbitrary::Result<Geometry<f64>> {
        Ok(match kind % 6 {
            0 => Geometry::Point(Point(self.coord(u)?)),
            1 => Geometry::MultiPoint(MultiPoint(
                (0..u.int_in_range(0..=6)?)
                    .map(|_| self.coord(u).map(Point))
                    .collect::<arbitrary::Result<_>>()?,
            )),
            2 => Geometry::LineString(self.line(u, 16)?),
            3 => Geometry::MultiLineString(MultiLineString(
                (0..u.int_in_range(0..=3)?)
                    .map(|_| self.line(u, 8))
                    .collect::<arbitrary::Result<_>>()?,
            )),
            4 => Geometry::Polygon(self.polygon(u)?),
            _ => Geometry::MultiPolygon(MultiPolygon(
                (0..u.int_in_range(0..=3)?)
                    .map(|_| self.polygon(u))
                    .collect::<arbitrary::Result<_>>()?,
            )),
        })
    }
}

/// The kinds of the fuzzed layers: points, lines, polygons.
const MVT_KINDS: [LayerKind; 3] = [
    LayerKind::Communities,
    LayerKind::Roads,
    LayerKind::Boundaries,
];

fn unzig(v: u32) -> i64 {
    i64::from((v >> 1) as i32 ^ -((v & 1) as i32))
}

/// Twice the shoelace area of a ring in y-down tile coordinates.
fn area2(ring: &[[i64; 2]]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum()
}

/// The parts of one feature's command stream, checked: points one MoveTo
/// with their count; lines and rings MoveTo(1) then LineTo(n > 0) with no
/// zero-length step; rings closed, with 3 distinct points and an area.
fn geometry_parts(ty: i32, geom: &[u32]) -> Vec<Vec<[i64; 2]>> {
    let mut parts = Vec::new();
    let (mut i, mut x, mut y) = (0usize, 0i64, 0i64);
    let mut read = |i: &mut usize| {
        assert!(*i + 1 < geom.len(), "truncated parameters in {geom:?}");
        x += unzig(geom[*i]);
        y += unzig(geom[*i + 1]);
        *i += 2;
        [x, y]
    };
    match ty {
        1 => {
            assert_eq!(
                geom.first().map(|c| c & 7),
                Some(1),
                "points start with MoveTo"
            );
            let n = (geom[0] >> 3) as usize;
            assert!(n > 0, "MoveTo count 0");
            i = 1;
            let pts: Vec<_> = (0..n).map(|_| read(&mut i)).collect();
            assert_eq!(i, geom.len(), "trailing integers after points");
            parts.push(pts);
        }
        2 | 3 => {
            assert!(!geom.is_empty(), "empty geometry");
            while i < geom.len() {
                assert_eq!(geom[i], 9, "each part starts with MoveTo(1): {geom:?}");
                i += 1;
                let mut part = vec![read(&mut i)];
                assert!(i < geom.len(), "MoveTo without LineTo");
                assert_eq!(geom[i] & 7, 2, "LineTo after MoveTo");
                let n = (geom[i] >> 3) as usize;
                assert!(n > 0, "LineTo count 0");
                i += 1;
                for _ in 0..n {
                    assert!(i + 1 < geom.len(), "truncated LineTo in {geom:?}");
                    assert!(
                        (geom[i], geom[i + 1]) != (0, 0),
                        "zero-length LineTo in {geom:?}"
                    );
                    part.push(read(&mut i));
                }
                if ty == 3 {
                    assert!(i < geom.len() && geom[i] == 15, "ring without ClosePath(1)");
                    i += 1;
                    let mut distinct = part.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    assert!(distinct.len() >= 3, "ring with < 3 distinct points");
                    assert!(area2(&part) != 0, "zero-area ring");
                }
                parts.push(part);
            }
        }
        other => panic!("unexpected geometry type {other}"),
    }
    parts
}

/// Arbitrary geometry in one to three layers rendered by `chaski_tiles::render`
/// at an arbitrary zoom near it; the tile must decode with the tests'
/// decoder (`chaski_testing::mvt_proto`) and with `mvt-reader`, each command
/// stream be valid, rings oriented (first ring of a polygon positive, holes
/// negative) and coordinates inside the buffered tile.
pub fn mvt_encode(data: &[u8]) {
    let _ = mvt_encode_inner(&mut Unstructured::new(data));
}

fn mvt_encode_inner(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let z = u.int_in_range(0u8..=22)?;
    let coords = Coords {
        centre: (-74.2, -13.1),
        step: 360.0 / f64::from(1u32 << z) / 2048.0,
    };
    let mut layers = Vec::new();
    for (li, kind) in MVT_KINDS.iter().enumerate() {
        if !u.arbitrary::<bool>()? {
            continue;
        }
        let mut layer = Layer::new(format!("l{li}"), *kind);
        for fid in 1..=u.int_in_range(0..=8)? {
            let shape: u8 = u.arbitrary()?;
            // Mostly the layer's own type; now and then any.
            let shape = if u.ratio(1u8, 8u8)? {
                shape
            } else {
                shape % 2 + 2 * li as u8
            };
            let geometry = coords.geometry(u, shape)?;
            let mut values = vec![Value::Null; layer.fields.len()];
            if let Some(v) = values.get_mut(0) {
                *v = Value::Text(u.arbitrary::<String>()?);
            }
            layer.features.push(Feature {
                fid,
                geometry,
                values,
            });
        }
        layers.push(layer);
    }
    let sources: Vec<LayerSource> = layers
        .iter()
        .filter_map(|l| LayerSource::new(l).ok())
        .collect();
    let refs: Vec<&dyn TileSource> = sources.iter().map(|s| s as &dyn TileSource).collect();
    let (dx, dy) = (u.int_in_range(-1i8..=1)?, u.int_in_range(-1i8..=1)?);
    let Ok(centre) = TileCoord::containing(coords.centre.0, coords.centre.1, z) else {
        return Ok(());
    };
    let n = 1i64 << z;
    let (x, y) = (
        (i64::from(centre.x()) + i64::from(dx)).rem_euclid(n),
        (i64::from(centre.y()) + i64::from(dy)).clamp(0, n - 1),
    );
    let coord = TileCoord::new(z, x as u32, y as u32).expect("a tile in range");
    let Ok(bytes) = chaski_tiles::render(&refs, coord) else {
        return Ok(());
    };
    if bytes.is_empty() {
        return Ok(());
    }
    check_tile(&bytes);
    Ok(())
}

/// The checks of a rendered tile (see [`mvt_encode`]).
fn check_tile(bytes: &[u8]) {
    let tile = chaski_testing::mvt_proto::decode(bytes);
    let lo = -i64::from(BUFFER) - 1;
    let hi = i64::from(EXTENT + BUFFER) + 1;
    for layer in &tile.layers {
        assert_eq!(layer.version, 2);
        assert!(
            !layer.features.is_empty(),
            "layer '{}' without features",
            layer.name
        );
        for f in &layer.features {
            let ty = f.r#type.unwrap_or(0);
            let parts = geometry_parts(ty, &f.geometry);
            for p in parts.iter().flatten() {
                assert!(
                    (lo..=hi).contains(&p[0]) && (lo..=hi).contains(&p[1]),
                    "{p:?} outside the buffered tile"
                );
            }
            if ty == 3 {
                assert!(area2(&parts[0]) > 0, "first ring of a polygon not exterior");
            }
            assert!(f.tags.len() % 2 == 0, "odd tags");
            for kv in f.tags.chunks(2) {
                assert!((kv[0] as usize) < layer.keys.len(), "tag key out of range");
                assert!(
                    (kv[1] as usize) < layer.values.len(),
                    "tag value out of range"
                );
            }
        }
    }
    let reader = mvt_reader::Reader::new(bytes.to_vec()).expect("mvt-reader reads the tile");
    let names = reader.get_layer_names().expect("mvt-reader lists layers");
    assert_eq!(names.len(), tile.layers.len());
    for i in 0..names.len() {
        reader
            .get_features(i)
            .expect("mvt-reader reads the features");
    }
}
