//! Writes the store of the whole-process siting benchmark
//! (`benches/process/siting.sh`): the generated Andean DEM of 2000 × 2000
//! cells of 30 m (4 M cells, UTM 18S), 5,000 villages with population and
//! 300 facilities with basic birth care at seeded random cells, the same
//! placement as the criterion bench `siting_with_matrix`.
//!
//! Usage: `siting_store OUT.gpkg` (the file must not exist).

use chaski_analysis::siting::generated::Mix;
use chaski_core::crs::Projections;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::{Store, WriteMode};
use chaski_core::value::Value;
use chaski_io::crs::ProjProjections;
use chaski_io::store::gpkg::GpkgStore;
use geo::{Geometry, point};
use std::process::ExitCode;

const SIDE: usize = 2000;

fn main() -> ExitCode {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: siting_store OUT.gpkg");
        return ExitCode::from(2);
    };
    match write(std::path::Path::new(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("siting_store: {out}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    if out.exists() {
        return Err("exists already".into());
    }
    let dem = chaski_benches::andean_dem(SIDE, SIDE, false);
    let utm = ProjProjections.metric(32718)?;
    let mut r = Mix(3);
    let mut cell = || {
        let (col, row) = (r.next_u64() % SIDE as u64, r.next_u64() % SIDE as u64);
        let t = dem.transform;
        // The cell's centre.
        let x = t[0] + (col as f64 + 0.5) * t[1];
        let y = t[3] + (row as f64 + 0.5) * t[5];
        utm.inverse_one(x, y)
    };
    let mut villages = Layer::new("communities", LayerKind::Communities);
    for i in 0..5000u32 {
        let (lon, lat) = cell()?;
        add(
            &mut villages,
            (lon, lat),
            &[
                ("code", Value::Text(format!("V{i:05}"))),
                ("name", Value::Text(format!("Village {i}"))),
                ("population", Value::Int(i64::from(50 + 50 * (i % 17)))),
            ],
        );
    }
    let mut facilities = Layer::new("facilities", LayerKind::Facilities);
    for i in 0..300u32 {
        let (lon, lat) = cell()?;
        add(
            &mut facilities,
            (lon, lat),
            &[
                ("code", Value::Text(format!("F{i:03}"))),
                ("name", Value::Text(format!("Puesto {i}"))),
                ("category", Value::Text("I-2".into())),
                ("birth_care", Value::Text("basic".into())),
            ],
        );
    }
    let store = GpkgStore::open(out)?;
    store.write_raster("dem", &dem)?;
    store.write_layer(&villages, WriteMode::Replace)?;
    store.write_layer(&facilities, WriteMode::Replace)?;
    Ok(())
}

/// A point feature with the given fields set (the others Null).
fn add(layer: &mut Layer, (lon, lat): (f64, f64), set: &[(&str, Value)]) {
    let mut values = vec![Value::Null; layer.fields.len()];
    for (name, v) in set {
        let i = layer.field_index(name).expect("a core field");
        values[i] = v.clone();
    }
    layer.features.push(Feature {
        fid: layer.features.len() as i64 + 1,
        geometry: Geometry::Point(point!(x: lon, y: lat)),
        values,
    });
}
