//! Travel-time results served as tile layers, next to the store's layers.
//!
//! When the store holds a DEM (the raster `dem`, the one `--dem` names, or its
//! only raster) and a `facilities` layer, the catalog adds
//! two computed layers for the walking scenario (to the facility, all facilities):
//! - `travel_time`: disjoint bands 0–30, 30–60, 60–120, 120–240 minutes and
//!   beyond (the travel-time surface as contour polygons), with `min_minutes`,
//!   `max_minutes` and a `band` label;
//! - `catchments`: each facility's catchment (the cells that reach it first),
//!   with the facility's `code`, `name` and `category`;
//! - `underserved`: the villages beyond
//!   [`ServerConfig::underserved_minutes`](crate::config::ServerConfig::underserved_minutes)
//!   (default 120) on foot of a facility with birth care (basic or complete),
//!   or that none reaches, with `code`, `name`, `population`, `minutes`,
//!   `status` and `facility` ([`chaski_analysis::travel::underserved`]).
//!
//! They are rebuilt with the catalog whenever the store's data version changes
//! (an import, a new facility), so the tiles show the new catchments at once.
//! Any problem (no DEM, a grid too large) leaves them out with a log line; it
//! never stops the server.

use chaski_analysis::report::run_searches;
use chaski_analysis::travel::isochrone::{catchments, time_bands};
use chaski_analysis::travel::underserved::{self, underserved};
use chaski_analysis::travel::{TravelInputs, TravelOptions, TravelResult};
use chaski_core::Layer;
use chaski_core::layer::{Feature, LayerKind};
use chaski_core::store::Store;
use chaski_core::value::{Field, FieldType, Value};
use chaski_io::crs::ProjProjections;
use geo::{Geometry, MapCoords, MultiPolygon};

/// Band limits of the `travel_time` layer, in minutes.
pub const BANDS: [f64; 4] = [30.0, 60.0, 120.0, 240.0];

/// The computed layers for `store`, or none when it has no DEM or facilities;
/// `underserved_minutes` is the threshold of the `underserved` layer.
pub fn build(
    store: &dyn Store,
    max_cells: usize,
    dem: Option<&str>,
    underserved_minutes: f64,
) -> Vec<Layer> {
    let has_dem = chaski_analysis::travel::find_dem(store, dem, None).is_ok();
    let has_facilities = store
        .layers()
        .is_ok_and(|l| l.iter().any(|l| l.name == "facilities"));
    if !has_dem || !has_facilities {
        return Vec::new();
    }
    match compute(store, max_cells, dem, underserved_minutes) {
        Ok(layers) => layers,
        Err(e) => {
            tracing::warn!(error = %e, "travel-time tile layers left out");
            Vec::new()
        }
    }
}

fn compute(
    store: &dyn Store,
    max_cells: usize,
    dem: Option<&str>,
    underserved_minutes: f64,
) -> Result<Vec<Layer>, String> {
    let opts = TravelOptions {
        max_cells: Some(max_cells),
        dem: dem.map(str::to_owned),
        ..TravelOptions::default()
    };
    let inputs =
        TravelInputs::from_store(store, &opts, &ProjProjections).map_err(|e| e.to_string())?;
    // Walking to any facility and to birth care, on one surface.
    let (any, birth) = run_searches(&inputs);
    let mut layers = layers_of(&any.map_err(|e| e.to_string())?);
    match birth {
        Ok(b) => {
            let villages = underserved(&b.places, &b.access, underserved_minutes);
            if !villages.is_empty() {
                layers.push(underserved::layer(&villages, "underserved"));
            }
        }
        // No facility with birth care: no underserved layer, the others stay.
        Err(e) => tracing::info!(error = %e, "underserved layer left out"),
    }
    Ok(layers)
}

/// The `travel_time` bands and `catchments` of a search, in longitude/latitude
/// (empty layers left out). The what-if tiles use them too.
pub fn layers_of(result: &TravelResult) -> Vec<Layer> {
    let projection = &result.metric.projection;
    let to_lonlat = |mp: &MultiPolygon<f64>| -> MultiPolygon<f64> {
        mp.map_coords(|c| {
            projection
                .inverse_one(c.x, c.y)
                .map_or(c, |(x, y)| geo::coord! { x: x, y: y })
        })
    };

    let mut limits: Vec<f64> = BANDS.iter().map(|m| m * 60.0).collect();
    limits.push(f64::INFINITY);
    let mut bands = Layer::new("travel_time", LayerKind::Boundaries);
    bands.fields = vec![
        Field::new("band", FieldType::Text),
        Field::new("min_minutes", FieldType::Int),
        Field::new("max_minutes", FieldType::Int),
    ];
    for (i, band) in time_bands(&result.times, &limits).into_iter().enumerate() {
        if band.polygons.0.is_empty() {
            continue;
        }
        let lo = (band.min_seconds / 60.0).round() as i64;
        let (label, hi) = if band.max_seconds.is_finite() {
            let hi = (band.max_seconds / 60.0).round() as i64;
            (format!("{lo}-{hi} min"), Value::Int(hi))
        } else {
            (format!("over {lo} min"), Value::Null)
        };
        bands.features.push(Feature {
            fid: i as i64 + 1,
            geometry: Geometry::MultiPolygon(to_lonlat(&band.polygons)),
            values: vec![Value::Text(label), Value::Int(lo), hi],
        });
    }

    let mut areas = Layer::new("catchments", LayerKind::Boundaries);
    areas.fields = vec![
        Field::new("code", FieldType::Text),
        Field::new("name", FieldType::Text),
        Field::new("category", FieldType::Text),
    ];
    for (i, (mp, facility)) in catchments(&result.times, result.sources.len(), None)
        .iter()
        .zip(&result.sources)
        .enumerate()
    {
        if mp.0.is_empty() {
            continue;
        }
        areas.features.push(Feature {
            fid: i as i64 + 1,
            geometry: Geometry::MultiPolygon(to_lonlat(mp)),
            values: vec![
                Value::Text(facility.code.clone()),
                Value::Text(facility.name.clone()),
                Value::Text(facility.category.clone()),
            ],
        });
    }
    [bands, areas]
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect()
}
