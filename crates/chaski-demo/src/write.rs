//! Writing the region's vector layers as the files our importer reads:
//! CSV with `lat`/`lon` for communities, facilities and water systems, a
//! KoBoToolbox-style CSV export for households, GeoJSON for the rest.

use crate::DemoRegion;
use crate::build::round6;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::value::Value;
use geo::{Coord, Geometry, LineString};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writing the demo files failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A CSV file could not be written.
    #[error("cannot write CSV {path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        source: csv::Error,
    },
    /// A feature's geometry does not fit its layer kind.
    #[error("layer {layer}, feature {fid}: expected a {expected} geometry")]
    Geometry {
        /// Layer name.
        layer: String,
        /// Feature id.
        fid: i64,
        /// The geometry type the layer kind needs.
        expected: &'static str,
    },
}

/// One written file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    /// Where it was written.
    pub path: PathBuf,
    /// Name of the store layer it holds.
    pub layer: String,
    /// The layer's kind.
    pub kind: LayerKind,
}

/// Column headers of the facilities CSV: Spanish source names, each an alias
/// of the core field at the same position (see `chaski_core::schema`).
pub const FACILITY_HEADERS: [&str; 7] = [
    "codigo",
    "nombre",
    "categoria",
    "institucion",
    "atencion_parto",
    "casa_materna",
    "ubigeo",
];

/// Household fields written through [`KOBO_COLUMNS`] (altitude, accuracy,
/// submission id) or set on import (`low_accuracy`), left out of the CSV's own columns.
const KOBO_FIELDS: [&str; 4] = [
    "altitude",
    "gps_accuracy",
    "submission_uuid",
    "low_accuracy",
];

/// KoBoToolbox metadata columns written after the household fields.
pub const KOBO_COLUMNS: [&str; 6] = [
    "_gps_latitude",
    "_gps_longitude",
    "_gps_altitude",
    "_gps_precision",
    "_uuid",
    "_submission_time",
];

/// Write every vector layer of `region` into `dir` (created if missing), plus
/// `README.md` describing the region. The DEM is not written (the caller
/// writes it as `dem.tif` with GDAL). Returns the layer files in layer order.
pub fn write_files(region: &DemoRegion, dir: &Path) -> Result<Vec<DemoFile>, DemoError> {
    std::fs::create_dir_all(dir).map_err(|source| DemoError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    for layer in &region.layers {
        let path = match layer.kind {
            LayerKind::Communities | LayerKind::Facilities | LayerKind::WaterSystems => {
                let path = dir.join(format!("{}.csv", layer.name));
                write_points_csv(layer, &path)?;
                path
            }
            LayerKind::Households => {
                let path = dir.join(format!("{}.csv", layer.name));
                write_kobo_csv(region, layer, &path)?;
                path
            }
            LayerKind::Boundaries | LayerKind::Paths | LayerKind::Roads | LayerKind::Rivers => {
                let path = dir.join(format!("{}.geojson", layer.name));
                let text = geojson_text(layer)?;
                write_text(&path, &text)?;
                path
            }
        };
        files.push(DemoFile {
            path,
            layer: layer.name.clone(),
            kind: layer.kind,
        });
    }
    write_text(&dir.join("README.md"), &readme(region))?;
    Ok(files)
}

fn write_text(path: &Path, text: &str) -> Result<(), DemoError> {
    std::fs::write(path, text).map_err(|source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn point_of(layer: &Layer, fid: i64, g: &Geometry<f64>) -> Result<(f64, f64), DemoError> {
    match g {
        Geometry::Point(p) => Ok((p.x(), p.y())),
        _ => Err(DemoError::Geometry {
            layer: layer.name.clone(),
            fid,
            expected: "point",
        }),
    }
}

fn csv_writer(path: &Path) -> Result<csv::Writer<std::fs::File>, DemoError> {
    csv::Writer::from_path(path).map_err(|source| DemoError::Csv {
        path: path.to_path_buf(),
        source,
    })
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> DemoError + '_ {
    move |source| DemoError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

fn write_points_csv(layer: &Layer, path: &Path) -> Result<(), DemoError> {
    let mut w = csv_writer(path)?;
    let mut header: Vec<String> = layer.fields.iter().map(|f| f.name.clone()).collect();
    if layer.kind == LayerKind::Facilities {
        for (h, spanish) in header.iter_mut().zip(FACILITY_HEADERS) {
            spanish.clone_into(h);
        }
    }
    header.push("lat".to_owned());
    header.push("lon".to_owned());
    w.write_record(&header).map_err(csv_err(path))?;
    for f in &layer.features {
        let (lon, lat) = point_of(layer, f.fid, &f.geometry)?;
        let mut row: Vec<String> = f.values.iter().map(ToString::to_string).collect();
        row.push(format!("{lat:.6}"));
        row.push(format!("{lon:.6}"));
        w.write_record(&row).map_err(csv_err(path))?;
    }
    w.flush().map_err(|source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// A version-4-style UUID from 128 random bits.
fn uuid(rng: &mut ChaCha8Rng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = b.iter().fold(String::with_capacity(32), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn write_kobo_csv(region: &DemoRegion, layer: &Layer, path: &Path) -> Result<(), DemoError> {
    write_kobo_csv_stream(region, layer, path, 99)
}

/// The monitoring files of the demo ([`crate::monitoring::endline`]):
/// `households_round2.csv` (the endline survey, KoBoToolbox layout, new
/// submission ids: appended to layer `households`) and
/// `community_groups.csv` (`code`, `group`: joined onto `communities` by
/// code). Returns them in that order.
pub fn write_monitoring_files(region: &DemoRegion, dir: &Path) -> Result<Vec<DemoFile>, DemoError> {
    let (round2, groups) = crate::monitoring::endline(region);
    let households = dir.join("households_round2.csv");
    write_kobo_csv_stream(region, &round2, &households, 98)?;
    let path = dir.join("community_groups.csv");
    let mut w = csv_writer(&path)?;
    w.write_record(["code", "group"]).map_err(csv_err(&path))?;
    for (code, group) in &groups {
        w.write_record([code.as_str(), group])
            .map_err(csv_err(&path))?;
    }
    w.flush().map_err(|source| DemoError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(vec![
        DemoFile {
            path: households,
            layer: "households".into(),
            kind: LayerKind::Households,
        },
        DemoFile {
            path,
            layer: "communities".into(),
            kind: LayerKind::Communities,
        },
    ])
}

fn write_kobo_csv_stream(
    region: &DemoRegion,
    layer: &Layer,
    path: &Path,
    stream: u64,
) -> Result<(), DemoError> {
    let mut rng = ChaCha8Rng::seed_from_u64(region.seed);
    rng.set_stream(stream);
    let mut w = csv_writer(path)?;
    // Fields the KoBo columns carry (or that import sets) are not written twice.
    let keep: Vec<usize> = (0..layer.fields.len())
        .filter(|&i| !KOBO_FIELDS.contains(&layer.fields[i].name.as_str()))
        .collect();
    let mut header: Vec<&str> = keep
        .iter()
        .map(|&i| layer.fields[i].name.as_str())
        .collect();
    header.extend(KOBO_COLUMNS);
    w.write_record(&header).map_err(csv_err(path))?;
    let date_idx = layer.field_index("visit_date");
    for f in &layer.features {
        let (lon, lat) = point_of(layer, f.fid, &f.geometry)?;
        let mut row: Vec<String> = keep
            .iter()
            .map(|&i| f.values.get(i).map(ToString::to_string).unwrap_or_default())
            .collect();
        let (x, y) = crate::utm::forward(lon, lat);
        let altitude = region
            .dem
            .cell_at(x, y)
            .and_then(|(c, r)| region.dem.get(c, r))
            .filter(|z| !region.dem.is_nodata(*z))
            .map(|z| f64::from(z) + rng.random_range(-8.0..8.0));
        let precision: f64 = rng.random_range(3.0..15.0);
        let date = date_idx
            .and_then(|i| f.values.get(i))
            .and_then(Value::as_str)
            .unwrap_or("2026-01-01");
        let time = format!(
            "{date}T{:02}:{:02}:{:02}",
            rng.random_range(8..18),
            rng.random_range(0..60),
            rng.random_range(0..60)
        );
        row.push(format!("{lat:.6}"));
        row.push(format!("{lon:.6}"));
        row.push(altitude.map_or_else(String::new, |a| format!("{a:.1}")));
        row.push(format!("{precision:.1}"));
        row.push(uuid(&mut rng));
        row.push(time);
        w.write_record(&row).map_err(csv_err(path))?;
    }
    w.flush().map_err(|source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn json_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Real(r) if r.is_finite() => r.to_string(),
        Value::Null | Value::Real(_) => "null".to_owned(),
        Value::Text(s) => serde_json::Value::String(s.clone()).to_string(),
    }
}

fn ring_text(out: &mut String, ring: &LineString<f64>) {
    out.push('[');
    for (i, c) in ring.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        coord_text(out, *c);
    }
    out.push(']');
}

fn coord_text(out: &mut String, c: Coord<f64>) {
    let _ = write!(out, "[{:.6},{:.6}]", round6(c.x), round6(c.y));
}

fn geometry_text(layer: &Layer, fid: i64, g: &Geometry<f64>) -> Result<String, DemoError> {
    let mut out = String::new();
    match (layer.kind, g) {
        (LayerKind::Boundaries, Geometry::MultiPolygon(mp)) => {
            out.push_str(r#"{"type":"MultiPolygon","coordinates":["#);
            for (i, poly) in mp.0.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('[');
                ring_text(&mut out, poly.exterior());
                for hole in poly.interiors() {
                    out.push(',');
                    ring_text(&mut out, hole);
                }
                out.push(']');
            }
            out.push_str("]}");
        }
        (
            LayerKind::Paths | LayerKind::Roads | LayerKind::Rivers,
            Geometry::MultiLineString(ml),
        ) => {
            out.push_str(r#"{"type":"MultiLineString","coordinates":["#);
            for (i, l) in ml.0.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ring_text(&mut out, l);
            }
            out.push_str("]}");
        }
        (LayerKind::Boundaries, _) => {
            return Err(DemoError::Geometry {
                layer: layer.name.clone(),
                fid,
                expected: "multipolygon",
            });
        }
        _ => {
            return Err(DemoError::Geometry {
                layer: layer.name.clone(),
                fid,
                expected: "multilinestring",
            });
        }
    }
    Ok(out)
}

/// The layer as a GeoJSON FeatureCollection (EPSG:4326, 6 decimals), one
/// feature per line, properties in field order.
fn geojson_text(layer: &Layer) -> Result<String, DemoError> {
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"name\":");
    out.push_str(&json_value(&Value::Text(layer.name.clone())));
    out.push_str(",\"features\":[\n");
    for (k, f) in layer.features.iter().enumerate() {
        if k > 0 {
            out.push_str(",\n");
        }
        let _ = write!(
            out,
            "{{\"type\":\"Feature\",\"id\":{},\"properties\":{{",
            f.fid
        );
        for (i, (field, v)) in layer.fields.iter().zip(&f.values).enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&json_value(&Value::Text(field.name.clone())));
            out.push(':');
            out.push_str(&json_value(v));
        }
        out.push_str("},\"geometry\":");
        out.push_str(&geometry_text(layer, f.fid, &f.geometry)?);
        out.push('}');
    }
    out.push_str("\n]}\n");
    Ok(out)
}

fn count(region: &DemoRegion, name: &str) -> usize {
    region.layer(name).map_or(0, Layer::len)
}

fn count_where(region: &DemoRegion, layer: &str, field: &str, value: &str) -> usize {
    region.layer(layer).map_or(0, |l| {
        l.features
            .iter()
            .filter(|f| l.value(f, field).to_string() == value)
            .count()
    })
}

/// `data/README.md`.
fn readme(region: &DemoRegion) -> String {
    let dem = &region.dem;
    let (minz, maxz) = dem
        .data
        .iter()
        .filter(|z| !dem.is_nodata(**z))
        .fold((f32::MAX, f32::MIN), |(a, b), &z| (a.min(z), b.max(z)));
    let bounds = region
        .layer("districts")
        .and_then(Layer::bounds)
        .map(|r| {
            format!(
                "lon {:.3}..{:.3}, lat {:.3}..{:.3}",
                r.min().x,
                r.max().x,
                r.min().y,
                r.max().y
            )
        })
        .unwrap_or_default();
    let mut s = String::new();
    let _ = writeln!(s, "# {} — chaski demo data\n", region.name);
    s.push_str(
        "**Everything in this folder is synthetic.** It is a made-up Andean valley placed in\n\
         Ayacucho, Peru, so that maps look familiar; no village, facility, water system, road,\n\
         district or household here exists. Households are entirely fake (codes `DEMO-H0001`,\n\
         ...; no names); all codes start with `DEMO-`, and district ubigeos `05990x` are not real.\n\n",
    );
    let _ = writeln!(
        s,
        "Generated by the `chaski-demo` crate with seed **{}**; regenerate with `make demo`\n\
         (or `chaski demo --out data`). The same seed always gives identical files.\n",
        region.seed
    );
    let _ = writeln!(s, "Extent: {bounds}.\n");
    s.push_str("| file | layer | contents |\n|---|---|---|\n");
    let _ = writeln!(
        s,
        "| `dem.tif` | (raster) | elevation, EPSG:32718 (UTM 18S), {} x {} cells of {} m, {:.0}–{:.0} m, nodata -9999 |",
        dem.width, dem.height, dem.transform[1], minz, maxz
    );
    let _ = writeln!(
        s,
        "| `communities.csv` | communities | {} villages (`DEMO-CP0001`...), population and households, district; `lat`,`lon` |",
        count(region, "communities")
    );
    let _ = writeln!(
        s,
        "| `facilities.csv` | facilities | {} health facilities (`DEMO-00001`...; {} I-1, {} I-2, {} I-3, {} I-4, {} II-1) with Spanish headers (`codigo`, `nombre`, `categoria`, `institucion`, `atencion_parto`, `casa_materna`, `ubigeo`); `lat`,`lon` |",
        count(region, "facilities"),
        count_where(region, "facilities", "category", "I-1"),
        count_where(region, "facilities", "category", "I-2"),
        count_where(region, "facilities", "category", "I-3"),
        count_where(region, "facilities", "category", "I-4"),
        count_where(region, "facilities", "category", "II-1"),
    );
    let _ = writeln!(
        s,
        "| `water_systems.csv` | water_systems | {} water systems (JASS board, status operational/partial/down, chlorination, households served); `lat`,`lon` |",
        count(region, "water_systems")
    );
    let _ = writeln!(
        s,
        "| `households.csv` | households | {} synthetic households in the layout of a KoBoToolbox CSV export (`_gps_latitude`, `_gps_longitude`, `_gps_altitude`, `_gps_precision`, `_uuid`, `_submission_time`) |",
        count(region, "households")
    );
    let _ = writeln!(
        s,
        "| `households_round2.csv` | households | the endline survey (`visit_round` 2): the same {} households a year later, intervention communities improved more (see `chaski_demo::monitoring`); appended by `chaski demo --load --endline` |",
        count(region, "households")
    );
    let _ = writeln!(
        s,
        "| `community_groups.csv` | communities | `code`, `group` (`intervention` or `control`) of every village, joined onto `communities` by code |"
    );
    let _ = writeln!(
        s,
        "| `districts.geojson` | districts | {} district polygons tiling the region (level `district`) |",
        count(region, "districts")
    );
    let _ = writeln!(
        s,
        "| `paths.geojson` | paths | {} pieces: {} footpath, {} mule_track, {} bridge and {} ford (every river crossing is a bridge or ford piece) |",
        count(region, "paths"),
        count_where(region, "paths", "class", "footpath"),
        count_where(region, "paths", "class", "mule_track"),
        count_where(region, "paths", "class", "bridge"),
        count_where(region, "paths", "class", "ford"),
    );
    let _ = writeln!(
        s,
        "| `roads.geojson` | roads | the unpaved road from the east edge up the valley to the main town |"
    );
    let _ = writeln!(
        s,
        "| `rivers.geojson` | rivers | the main river (class `river`, flowing west to east) and {} tributaries (class `stream`) |\n",
        count(region, "rivers").saturating_sub(1)
    );
    s.push_str(
        "GeoJSON files are EPSG:4326 with 6 decimals. Boolean CSV columns hold `yes`/`no`,\n\
         empty when unknown.\n\n\
         ## Terrain\n\n\
         A main river winds west to east through the middle of the DEM, its floor falling\n\
         from 2,750 m to 2,450 m; the valley walls rise to ridges of 4,000–4,500 m about 9 km\n\
         from the river; six tributaries cut side valleys whose floors climb to ~3,900 m at their\n\
         heads (their lines in `rivers.geojson` are traced down the DEM's own drainage); seeded value noise roughens the slopes away from the valley floors. Villages sit\n\
         mostly below 4,000 m, near rivers, on slopes under 28°. The main town, Chaskipampa, is on\n\
         the north bank with the II-1 hospital (complete birth care, maternity home).\n\n\
         ## Household risk rule\n\n\
         `risk_level` is `alto` when danger signs were seen, a child is malnourished, there is a\n\
         violence risk, or a pregnant woman lives in a household with anaemia; otherwise `medio`\n\
         when there is anaemia, a pregnancy, a child under 2, or a child under 5 without safe\n\
         water; otherwise `bajo`. `anaemia` is empty (unknown) in households with no child under 5\n\
         and no pregnancy; `malnutrition` is empty in households with no child under 5.\n\
         Every demo household was located by GPS (`location_source` `gps`) on a first visit\n\
         (`visit_round` 1) and consented on the visit date; `water_source` is `red_publica` where\n\
         the household has safe water and `rio` otherwise.\n\n\
         ## Planted clusters\n\n\
         Two clusters of high anaemia (80 % of assessed households, against 30–40 % elsewhere)\n\
         and danger signs (45 % of households with a pregnancy or a child under 2, against 6–12 %)\n\
         are planted, for cluster detection to find. Each covers the households of every village\n\
         whose centre lies within the radius:\n\n\
         | centre village | lon | lat | radius | households |\n|---|---|---|---|---|\n",
    );
    for c in &region.clusters {
        let _ = writeln!(
            s,
            "| {} `{}` | {:.6} | {:.6} | {:.0} m | {} |",
            c.village_name, c.village, c.lon, c.lat, c.radius_m, c.households
        );
    }
    s
}
