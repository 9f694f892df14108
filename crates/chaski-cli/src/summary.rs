//! `chaski summary`: what the store holds, per layer.
//!
//! Household counts are private health data: only aggregates are printed, and
//! any group under 5 households is shown as `<5`.

use anyhow::{Context, Result};
use chaski_core::domain::{Category, RiskLevel};
use chaski_core::store::Store;
use chaski_core::{Layer, LayerKind};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// Smallest group of households shown in any public output.
pub const MIN_GROUP: usize = 5;

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
        serde_json::to_string_pretty(&store.layers()?)? + "\n"
    } else {
        summarize(store.as_ref())?
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn count(n: usize) -> String {
    if n > 0 && n < MIN_GROUP {
        format!("<{MIN_GROUP}")
    } else {
        n.to_string()
    }
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
        write!(
            out,
            "\n{} ({}, {}): {} features",
            info.name,
            info.kind,
            info.geometry_type.ogc_name().to_ascii_lowercase(),
            if info.kind.is_private() {
                count(info.feature_count)
            } else {
                info.feature_count.to_string()
            }
        )?;
        if let Some(b) = info.bounds {
            write!(
                out,
                ", bounds {:.4},{:.4},{:.4},{:.4}",
                b[0], b[1], b[2], b[3]
            )?;
        }
        writeln!(out)?;
        for line in details(&layer) {
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
        let (cx, cy) = raster.cell_size();
        writeln!(
            out,
            "\n{} (raster): {} x {} cells of {cx:.1} x {cy:.1}, EPSG:{}, {valid} valid cells, values {lo:.1} to {hi:.1}",
            r.name,
            r.width,
            r.height,
            r.epsg.map_or_else(|| "?".to_owned(), |e| e.to_string()),
        )?;
    }
    Ok(out)
}

fn tally<'a>(layer: &'a Layer, field: &str) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for f in &layer.features {
        *m.entry(layer.value(f, field).as_str().unwrap_or("unknown"))
            .or_insert(0) += 1;
    }
    m
}

fn join_tally(m: &BTreeMap<&str, usize>, private: bool) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {}", if private { count(*v) } else { v.to_string() }))
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
            lines.push(format!(
                "population {pop} (known for {n} of {})",
                layer.len()
            ));
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
                join_tally(&tally(layer, "birth_care"), false)
            ));
        }
        LayerKind::WaterSystems => {
            lines.push(format!(
                "status: {}",
                join_tally(&tally(layer, "status"), false)
            ));
            let (hh, _) = sum(layer, "households_served");
            lines.push(format!("households served {hh}"));
        }
        LayerKind::Boundaries => {
            lines.push(format!(
                "levels: {}",
                join_tally(&tally(layer, "level"), false)
            ));
        }
        LayerKind::Paths | LayerKind::Roads | LayerKind::Rivers => {
            lines.push(format!(
                "classes: {}",
                join_tally(&tally(layer, "class"), false)
            ));
        }
        LayerKind::Households => {
            let levels = tally(layer, "risk_level");
            let ordered: BTreeMap<&str, usize> =
                [RiskLevel::Alto, RiskLevel::Medio, RiskLevel::Bajo]
                    .iter()
                    .map(|r| (r.as_str(), levels.get(r.as_str()).copied().unwrap_or(0)))
                    .collect();
            lines.push(format!(
                "private: risk levels {} (groups under {MIN_GROUP} suppressed)",
                join_tally(&ordered, true)
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use chaski_core::store::{WriteMode, memory::MemoryStore};
    use chaski_core::{Feature, Value};
    use geo::{Geometry, point};

    #[test]
    fn households_under_five_are_suppressed() {
        let store = MemoryStore::new();
        let mut l = Layer::new("households", LayerKind::Households);
        let ri = l.field_index("risk_level").unwrap();
        for (i, level) in ["alto", "alto", "bajo", "bajo", "bajo", "bajo", "bajo"]
            .iter()
            .enumerate()
        {
            let mut values = vec![Value::Null; l.fields.len()];
            values[0] = format!("SYN-{i}").into();
            values[ri] = (*level).into();
            l.features.push(Feature {
                fid: 0,
                geometry: Geometry::Point(point! { x: -73.6, y: -13.6 }),
                values,
            });
        }
        store.write_layer(&l, WriteMode::Replace).unwrap();
        let s = summarize(&store).unwrap();
        assert!(
            s.contains("households (households, point): 7 features"),
            "{s}"
        );
        assert!(s.contains("risk levels alto <5, bajo 5, medio 0"), "{s}");
    }
}
