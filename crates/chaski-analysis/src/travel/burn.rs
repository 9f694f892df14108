//! Burning paths, roads and rivers (and bridges and fords) into the class
//! rasters of the terrain model, streams derived from the DEM, and land cover
//! on the metric grid.

use super::error::{TravelError, crs};
use super::features::{project_line, text};
use super::metric::{Metric, is_geographic};
use crate::travel::hydrology::flow_grid;
use crate::travel::rasterize::{burn_line_string, burn_point};
use crate::travel::scenario::{RouteClass, WaterClass};
use chaski_core::crs::Projection;
use chaski_core::raster::Raster;
use chaski_core::{Layer, LayerKind};
use geo::{Geometry, LineString};

/// Route and water classes of a line of a paths, roads or rivers layer from its `class`.
pub fn route_class(kind: LayerKind, class: &str) -> (Option<RouteClass>, Option<WaterClass>) {
    let c = class.trim().to_ascii_lowercase();
    match kind {
        LayerKind::Roads => (
            Some(match c.as_str() {
                "paved" | "asfaltado" | "pavimentado" | "primary" | "trunk" => {
                    RouteClass::PavedRoad
                }
                "track" | "trocha" | "trocha_carrozable" | "track_road" => RouteClass::TrackRoad,
                _ => RouteClass::GravelRoad,
            }),
            None,
        ),
        LayerKind::Rivers => (
            None,
            Some(if c.contains("navig") {
                WaterClass::NavigableRiver
            } else {
                WaterClass::River
            }),
        ),
        _ => match c.as_str() {
            "mule_track" | "herradura" | "camino_de_herradura" => {
                (Some(RouteClass::MuleTrack), None)
            }
            "bridge" | "puente" => (Some(RouteClass::Footpath), Some(WaterClass::Bridge)),
            "ford" | "vado" => (Some(RouteClass::Footpath), Some(WaterClass::Ford)),
            _ => (Some(RouteClass::Footpath), None),
        },
    }
}

/// Burn a paths, roads or rivers layer into the class rasters; returns the
/// number of features burned.
pub fn burn_layer(
    layer: &Layer,
    projection: &dyn Projection,
    routes: &mut Raster<u8>,
    water: &mut Raster<u8>,
) -> Result<usize, TravelError> {
    let mut burned = 0;
    for f in &layer.features {
        let (route, wclass) = route_class(layer.kind, &text(layer, f, "class"));
        let what = || format!("layer '{}', feature {}", layer.name, f.fid);
        let lines: Vec<&LineString<f64>> = match &f.geometry {
            Geometry::LineString(l) => vec![l],
            Geometry::MultiLineString(m) => m.0.iter().collect(),
            Geometry::Point(p) => {
                let (x, y) = projection.forward_one(p.x(), p.y()).map_err(crs(what()))?;
                if let Some(w) = wclass {
                    burn_point(water, x, y, w.code())?;
                }
                burned += 1;
                continue;
            }
            _ => continue,
        };
        for l in lines {
            let m = project_line(l, projection).map_err(crs(what()))?;
            if let Some(r) = route {
                burn_line_string(routes, &m, r.code())?;
            }
            if let Some(w) = wclass {
                burn_line_string(water, &m, w.code())?;
            }
        }
        burned += 1;
    }
    Ok(burned)
}

/// Default drainage area (km²) above which a DEM cell is a stream, for `--rivers dem`.
pub const DEFAULT_STREAM_KM2: f64 = 1.0;

/// The drainage-area threshold in km² when `rivers` asks for streams derived
/// from the DEM (`dem`, or `dem:KM2`); `None` for a layer name or `none`.
pub fn derived_rivers(rivers: Option<&str>) -> Result<Option<f64>, TravelError> {
    let Some(spec) = rivers.map(str::trim) else {
        return Ok(None);
    };
    let lower = spec.to_ascii_lowercase();
    if lower == "dem" {
        return Ok(Some(DEFAULT_STREAM_KM2));
    }
    let Some(km2) = lower.strip_prefix("dem:") else {
        return Ok(None);
    };
    match km2.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        _ => Err(TravelError::Option {
            option: "rivers",
            value: spec.to_owned(),
            reason: "expected dem or dem:KM2 with a drainage area in km² above 0 (e.g. dem:1.5)",
        }),
    }
}

/// Streams of the DEM on `metric`'s grid: [`WaterClass::River`] where at
/// least `km2` km² drain through a cell (Priority-Flood, D8 and flow
/// accumulation, see [`crate::travel::hydrology`]), 0 elsewhere.
pub fn dem_streams(metric: &Metric, km2: f64) -> Result<Raster<u8>, TravelError> {
    let flow = flow_grid(&metric.raster)?;
    let t = metric.raster.transform;
    let cell_m2 = (t[1] * t[5]).abs().max(f64::MIN_POSITIVE);
    // Saturating float-to-int cast: a threshold beyond u32 cells means no streams.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let cells = (km2 * 1e6 / cell_m2).ceil().max(1.0) as u32;
    Ok(flow.streams(cells))
}

/// Land-cover classes of `lc` (the store's raster `name`) at the centres of
/// `metric`'s cells, by nearest cell; NaN (no class: the scenario's
/// `land_cover_default`) outside `lc` and on its nodata. `lc` must be in
/// EPSG:4326 or in the grid's own CRS.
pub fn land_cover_on(
    metric: &Metric,
    lc: &Raster<f32>,
    name: &str,
) -> Result<Raster<f32>, TravelError> {
    let bad = |reason: String| TravelError::Raster {
        what: format!("'{name}' (land cover)"),
        reason,
    };
    let lt = lc.transform;
    if lt[2] != 0.0 || lt[4] != 0.0 || lt[1] <= 0.0 || lt[5] >= 0.0 {
        return Err(bad(format!("is not north-up (transform {lt:?})")));
    }
    let same_crs = lc.epsg == Some(metric.epsg);
    if !same_crs && !is_geographic(lc) {
        return Err(bad(format!(
            "is in {}: reproject it to EPSG:4326 or EPSG:{} (e.g. gdalwarp -r near)",
            lc.epsg
                .map_or_else(|| "an unknown CRS".to_owned(), |e| format!("EPSG:{e}")),
            metric.epsg
        )));
    }
    let grid = &metric.raster;
    let gt = grid.transform;
    let mut out = Raster::filled(grid.width, grid.height, gt, grid.epsg, f32::NAN);
    for row in 0..grid.height {
        for col in 0..grid.width {
            let (u, v) = (col as f64 + 0.5, row as f64 + 0.5);
            let (x, y) = if same_crs {
                (gt[0] + u * gt[1], gt[3] + v * gt[5])
            } else {
                metric.lattice.at(u, v)
            };
            let (fc, fr) = ((x - lt[0]) / lt[1], (y - lt[3]) / lt[5]);
            if fc < 0.0 || fr < 0.0 {
                continue;
            }
            // Floor of a non-negative finite position; NaN and beyond the raster skip.
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked non-negative"
            )]
            let (lc_col, lc_row) = (fc as usize, fr as usize);
            if let Some(v) = lc
                .get(lc_col, lc_row)
                .filter(|v| !lc.is_nodata(*v) && v.is_finite())
            {
                out.data[row * grid.width + col] = v;
            }
        }
    }
    Ok(out)
}
