//! Reading the features of a layer: a point for each, text fields, lines projected.

use chaski_core::Layer;
use chaski_core::crs::{CrsError, Projection};
use geo::{Centroid, Geometry, LineString};

pub(crate) fn point_of(g: &Geometry<f64>) -> Option<(f64, f64)> {
    match g {
        Geometry::Point(p) => Some((p.x(), p.y())),
        Geometry::MultiPoint(mp) => mp.0.first().map(|p| (p.x(), p.y())),
        other => other.centroid().map(|p| (p.x(), p.y())),
    }
}

pub(crate) fn text(layer: &Layer, f: &chaski_core::Feature, field: &str) -> String {
    layer.value(f, field).to_string()
}

pub(crate) fn project_line(
    line: &LineString<f64>,
    p: &dyn Projection,
) -> Result<LineString<f64>, CrsError> {
    let mut coords: Vec<(f64, f64)> = line.0.iter().map(|c| (c.x, c.y)).collect();
    p.forward(&mut coords)?;
    Ok(LineString::from(coords))
}
