//! `chaski summary`: what the store holds, per layer.
//!
//! Household counts are private health data (see [`chaski_core::disclosure`]):
//! for a private layer no exact count or bounds are printed. Its feature count
//! is `<5` or rounded to 5 (`about N`), its bounds are rounded outward to 0.1°
//! (none under 5 households), and its risk levels (derived from the records
//! without the violence risk, never the stored level) are a protected table:
//! cells under 5 suppressed, complementary cells suppressed so that none can
//! be recovered by subtraction from the total (`x`), shown cells rounded to 5.
//! `--json` carries the same values for private layers (`feature_count` a
//! number rounded to 5, `"<5"`, or null when suppressed; coarse `bounds`;
//! `"rounded_to": 5`); public layers are printed exactly.

use anyhow::{Context, Result};
use chaski_core::disclosure::{self, MIN_CELL, ROUND_TO, Shown};
use chaski_core::domain::{Category, RiskLevel};
use chaski_core::household::{Violence, derive_risk_level};
use chaski_core::store::{LayerInfo, Store};
use chaski_core::{Layer, LayerKind};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `chaski summary`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the summary as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(store_path: &Path, args: &Args) -> Result<ExitCode> {
    let store = crate::store::open(store_path)?;
    let text = if args.json {
        serde_json::to_string_pretty(&summarize_json(store.as_ref())?)? + "\n"
    } else {
        summarize(store.as_ref())?
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// What may be published of a private layer: its feature count, bounds and
/// households per derived risk level (alto, medio, bajo), protected.
struct Private {
    count: Shown,
    bounds: Option<[f64; 4]>,
    levels: Vec<(RiskLevel, Shown)>,
}

impl Private {
    fn of(layer: &Layer, info: &LayerInfo) -> Self {
        const LEVELS: [RiskLevel; 3] = [RiskLevel::Alto, RiskLevel::Medio, RiskLevel::Bajo];
        let mut cells = [0_u64; 3];
        for f in &layer.features {
            // Derived without the violence risk: a stored level may hold it.
            let level = derive_risk_level(layer, &f.values, Violence::Unknown);
            if let Some(k) = LEVELS.iter().position(|&l| l == level) {
                cells[k] += 1;
            }
        }
        let table = disclosure::protect_table(&cells);
        let n = info.feature_count as u64;
        let count = if n < MIN_CELL || !table.total_suppressed() {
            Shown::count(n)
        } else {
            Shown::Suppressed
        };
        Self {
            count,
            bounds: info
                .bounds
                .filter(|_| n >= MIN_CELL)
                .map(disclosure::coarse_bounds),
            levels: LEVELS.into_iter().zip(table.shown()).collect(),
        }
    }

    /// `<5`, `about N` or `x` (suppressed).
    fn count_text(&self) -> String {
        match self.count {
            Shown::Count(n) => format!("about {n}"),
            other => other.to_string(),
        }
    }
}

/// The layers as JSON (`chaski summary --json`): public layers as the store
/// describes them, private ones with the published count and coarse bounds.
pub fn summarize_json(store: &dyn Store) -> Result<serde_json::Value> {
    let mut out = Vec::new();
    for info in store.layers()? {
        let mut v = serde_json::to_value(&info)?;
        if info.kind.is_private() {
            let layer = store
                .read_layer(&info.name)
                .with_context(|| format!("reading layer '{}'", info.name))?;
            let p = Private::of(&layer, &info);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("feature_count".into(), serde_json::to_value(p.count)?);
                obj.insert("bounds".into(), serde_json::to_value(p.bounds)?);
                obj.insert("rounded_to".into(), ROUND_TO.into());
            }
        }
        out.push(v);
    }
    Ok(serde_json::Value::Array(out))
}

/// One block of text per layer and raster of `store`.
pub fn summarize(store: &dyn Store) -> Result<String> {
    let mut out = String::new();
    let layers = store.layers()?;
    let rasters = store.rasters()?;
    writeln!(
        out,
        "store ({}), data version {}: {} layers, {} rasters",
        store.backend(),
        store.version()?,
        layers.len(),
        rasters.len()
    )?;
    for info in &layers {
        let layer = store
            .read_layer(&info.name)
            .with_context(|| format!("reading layer '{}'", info.name))?;
        let kind = format!(
            "\n{} ({}, {})",
            info.name,
            info.kind,
            info.geometry_type.ogc_name().to_ascii_lowercase(),
        );
        let lines = if info.kind.is_private() {
            let p = Private::of(&layer, info);
            write!(out, "{kind}: {} features", p.count_text())?;
            if let Some(b) = p.bounds {
                write!(
                    out,
                    ", bounds about {:.1},{:.1},{:.1},{:.1}",
                    b[0], b[1], b[2], b[3]
                )?;
            }
            vec![format!(
                "private: risk levels (derived, violence risk not counted) {} \
                 (x: suppressed, under {MIN_CELL} or hiding one that is; counts rounded to {ROUND_TO})",
                p.levels
                    .iter()
                    .map(|(l, s)| format!("{} {s}", l.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )]
        } else {
            write!(out, "{kind}: {} features", info.feature_count)?;
            if let Some(b) = info.bounds {
                write!(
                    out,
                    ", bounds {:.4},{:.4},{:.4},{:.4}",
                    b[0], b[1], b[2], b[3]
                )?;
            }
            details(&layer)
        };
        writeln!(out)?;
        for line in lines {
            writeln!(out, "  {line}")?;
        }
        let extra: Vec<&str> = layer.fields[info.kind.core_fields().len()..]
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        if !extra.is_empty() {
            writeln!(
                out,
                "  extra fields kept from the source: {}",
                extra.join(", ")
            )?;
        }
    }
    for r in &rasters {
        let raster = store.read_raster(&r.name)?;
        let (mut lo, mut hi, mut valid) = (f32::INFINITY, f32::NEG_INFINITY, 0usize);
        for &v in &raster.data {
            if !raster.is_nodata(v) {
                lo = lo.min(v);
                hi = hi.max(v);
                valid += 1;
            }
        }
        writeln!(
            out,
            "\n{} (raster): {} x {} cells of {}, EPSG:{}, {valid} valid cells, values {lo:.1} to {hi:.1}",
            r.name,
            r.width,
            r.height,
            cell_size_text(&raster),
            r.epsg.map_or_else(|| "?".to_owned(), |e| e.to_string()),
        )?;
    }
    Ok(out)
}

/// A raster's cell size in metres; for a geographic raster (degrees), also
/// the size in arc-seconds and the metres it spans at its centre latitude.
fn cell_size_text(raster: &chaski_core::raster::Raster<f32>) -> String {
    let (cx, cy) = raster.cell_size();
    if raster.epsg == Some(4326) {
        let (_, lat) = raster.cell_center(raster.width / 2, raster.height / 2);
        // Metres per degree (mean Earth radius 6,371,008.8 m).
        let m = 6_371_008.8 * std::f64::consts::PI / 180.0;
        format!(
            "{:.1} x {:.1} m ({:.2}\" x {:.2}\" at latitude {lat:.1})",
            cx * m * lat.to_radians().cos(),
            cy * m,
            cx * 3600.0,
            cy * 3600.0
        )
    } else {
        format!("{cx:.1} x {cy:.1} m")
    }
}

fn tally<'a>(layer: &'a Layer, field: &str) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for f in &layer.features {
        *m.entry(layer.value(f, field).as_str().unwrap_or("unknown"))
            .or_insert(0) += 1;
    }
    m
}

fn join_tally(m: &BTreeMap<&str, usize>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sum(layer: &Layer, field: &str) -> (i64, usize) {
    layer
        .features
        .iter()
        .filter_map(|f| layer.value(f, field).as_i64())
        .fold((0, 0), |(s, n), v| (s + v, n + 1))
}

/// Kind-specific lines: totals and breakdowns.
fn details(layer: &Layer) -> Vec<String> {
    let mut lines = Vec::new();
    match layer.kind {
        LayerKind::Communities => {
            let (pop, n) = sum(layer, "population");
            lines.push(if n == 0 {
                format!(
                    "population unknown for all {} villages (join a census table: \
                     chaski import TABLE.csv --layer {} --join code)",
                    layer.len(),
                    layer.name
                )
            } else {
                format!("population {pop} (known for {n} of {})", layer.len())
            });
            let (hh, n) = sum(layer, "households");
            if n > 0 {
                lines.push(format!("households {hh} (known for {n})"));
            }
        }
        LayerKind::Facilities => {
            let cats = tally(layer, "category");
            let mut ordered: Vec<(String, usize)> = Category::ALL
                .iter()
                .filter_map(|c| cats.get(c.as_str()).map(|n| (c.as_str().to_owned(), *n)))
                .collect();
            if let Some(n) = cats.get("unknown") {
                ordered.push(("unknown".to_owned(), *n));
            }
            lines.push(format!(
                "categories: {}",
                ordered
                    .iter()
                    .map(|(c, n)| format!("{c} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            lines.push(format!(
                "birth care: {}",
                join_tally(&tally(layer, "birth_care"))
            ));
        }
        LayerKind::WaterSystems => {
            lines.push(format!("status: {}", join_tally(&tally(layer, "status"))));
            let (hh, _) = sum(layer, "households_served");
            lines.push(format!("households served {hh}"));
        }
        LayerKind::Boundaries => {
            lines.push(format!("levels: {}", join_tally(&tally(layer, "level"))));
        }
        LayerKind::Paths | LayerKind::Roads | LayerKind::Rivers => {
            lines.push(format!("classes: {}", join_tally(&tally(layer, "class"))));
        }
        // Private layers are described by `Private`, never here.
        LayerKind::Households => {}
    }
    lines
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chaski_core::store::{WriteMode, memory::MemoryStore};
    use chaski_core::{Feature, Value};
    use geo::{Geometry, point};

    /// A store of households with danger signs (`a`: alto), anaemia (`m`:
    /// medio) or nothing (`b`: bajo); the first bajo one has a stored level
    /// `alto` and a violence risk, which the summary must not count.
    fn store(levels: &str) -> MemoryStore {
        let store = MemoryStore::new();
        let mut l = Layer::new("households", LayerKind::Households);
        let idx = |f: &str| l.field_index(f).unwrap();
        let (ri, di, ai, vi) = (
            idx("risk_level"),
            idx("danger_signs"),
            idx("anaemia"),
            idx("violence_risk"),
        );
        let mut first_bajo = true;
        for (i, level) in levels.chars().enumerate() {
            let mut values = vec![Value::Null; l.fields.len()];
            values[0] = format!("SYN-{i}").into();
            values[di] = Value::Bool(level == 'a');
            values[ai] = Value::Bool(level == 'm');
            if level == 'b' && first_bajo {
                first_bajo = false;
                values[ri] = "alto".into();
                values[vi] = Value::Bool(true);
            }
            l.features.push(Feature {
                fid: 0,
                geometry: Geometry::Point(point! { x: -73.6123 - i as f64 * 1e-4, y: -13.6123 }),
                values,
            });
        }
        store.write_layer(&l, WriteMode::Replace).unwrap();
        store
    }

    #[test]
    fn households_show_no_cell_recoverable_by_subtraction() {
        // alto 2, medio 0, bajo 5 (derived; the stored alto of a bajo
        // household is ignored). alto is under 5; bajo is suppressed with it
        // (k = 2, H = 7): knowing the total 7, each lies in [1, 6], which
        // holds 1 and 5. The total is printed rounded: about 5.
        let s = summarize(&store("aabbbbb")).unwrap();
        assert!(
            s.contains("households (households, point): about 5 features, bounds about -73.7,-13.7,-73.6,-13.6\n"),
            "{s}"
        );
        assert!(
            s.contains("risk levels (derived, violence risk not counted) alto x, medio 0, bajo x"),
            "{s}"
        );
        assert!(!s.contains("7 features") && !s.contains("-73.61"), "{s}");
        let j = summarize_json(&store("aabbbbb")).unwrap();
        assert_eq!(j[0]["feature_count"], 5);
        assert_eq!(j[0]["rounded_to"], 5);
        assert_eq!(
            j[0]["bounds"],
            serde_json::json!([-73.7, -13.7, -73.6, -13.6])
        );
    }

    #[test]
    fn under_five_households_show_neither_count_nor_bounds() {
        let s = summarize(&store("abbb")).unwrap();
        assert!(
            s.contains("households (households, point): <5 features\n"),
            "{s}"
        );
        // alto 1, bajo 3: both under 5, k = 2, H = 4 < 6: the total goes too.
        assert!(s.contains("alto x, medio 0, bajo x"), "{s}");
        let j = summarize_json(&store("abbb")).unwrap();
        assert_eq!(j[0]["feature_count"], "<5");
        assert!(j[0]["bounds"].is_null());
        // Six households, alto 1, bajo 5: k = 2, H = 6 ≥ 6: total shown, about 5.
        let j = summarize_json(&store("abbbbb")).unwrap();
        assert_eq!(j[0]["feature_count"], 5);
        // alto 1, medio 4: k = 2, H = 5 < 6 and no cell left to add: the
        // total is suppressed, so even the rounded count is not printed.
        let s = summarize(&store("ammmm")).unwrap();
        assert!(
            s.contains("households (households, point): x features, bounds about"),
            "{s}"
        );
        assert!(s.contains("alto x, medio x, bajo 0"), "{s}");
        assert!(summarize_json(&store("ammmm")).unwrap()[0]["feature_count"].is_null());
    }
}
