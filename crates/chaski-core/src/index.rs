//! R-tree indexes over a layer, bulk-loaded (OMT packing, as in `rstar::RTree::bulk_load`).
//!
//! Two trees per layer: one over longitude/latitude envelopes for bounding-box
//! queries, and one over geometries projected to a metric CRS (the UTM zone of
//! the data, through a [`Projection`]) for k-nearest and within-distance queries
//! in metres. Distances to lines and polygons are to the nearest point of the
//! geometry (zero inside a polygon).
//!
//! # Examples
//! ```
//! use chaski_core::{Feature, Layer, LayerKind, Value, crs::LocalEquirectangular, index::SpatialIndex};
//! use geo::{Geometry, point};
//! use std::sync::Arc;
//!
//! let mut layer = Layer::new("facilities", LayerKind::Facilities);
//! for (i, lon) in [-74.00, -73.99, -73.90].into_iter().enumerate() {
//!     let mut values = vec![Value::Null; layer.fields.len()];
//!     values[0] = format!("F{i}").into();
//!     layer.features.push(Feature { fid: i as i64 + 1, geometry: Geometry::Point(point! { x: lon, y: -13.0 }), values });
//! }
//! let index = SpatialIndex::build(&layer, Arc::new(LocalEquirectangular::new(-74.0, -13.0))).unwrap();
//! // 0.01 degrees of longitude at 13 degrees south is about 1,083 m.
//! let near = index.nearest(-74.0, -13.0, 2).unwrap();
//! assert_eq!(near[0].0, 0);
//! assert_eq!(near[1].0, 1);
//! assert!((near[1].1 - 1083.4).abs() < 1.0);
//! assert_eq!(index.within_distance(-74.0, -13.0, 2_000.0).unwrap().len(), 2);
//! assert_eq!(index.bbox(-74.05, -13.1, -73.95, -12.9), vec![0, 1]);
//! ```

use crate::crs::{CrsError, Projection};
use crate::layer::Layer;
use geo::{BoundingRect, Distance, Euclidean, Geometry, MapCoords, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, PointDistance, RTree, RTreeObject};
use std::sync::Arc;

/// A feature's geometry in metric coordinates, as stored in the metric tree.
#[derive(Debug, Clone)]
enum MetricGeom {
    Point([f64; 2]),
    Other(Box<Geometry<f64>>),
}

/// One entry of the metric tree: feature position and projected geometry.
#[derive(Debug, Clone)]
pub struct MetricEntry {
    idx: u32,
    env: AABB<[f64; 2]>,
    geom: MetricGeom,
}

impl RTreeObject for MetricEntry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.env
    }
}

impl PointDistance for MetricEntry {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        match &self.geom {
            MetricGeom::Point(q) => (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2),
            MetricGeom::Other(g) => Euclidean
                .distance(g.as_ref(), &Point::new(p[0], p[1]))
                .powi(2),
        }
    }
}

type GeoEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Bulk-loaded R-trees over one layer. Results are positions in `layer.features`.
pub struct SpatialIndex {
    geo_tree: RTree<GeoEntry>,
    metric_tree: RTree<MetricEntry>,
    projection: Arc<dyn Projection>,
}

impl std::fmt::Debug for SpatialIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpatialIndex")
            .field("features", &self.geo_tree.size())
            .field("epsg", &self.projection.epsg())
            .finish_non_exhaustive()
    }
}

impl SpatialIndex {
    /// Build both trees for `layer`, projecting with `projection`.
    ///
    /// Features without a bounding box (empty geometries) are left out.
    pub fn build(layer: &Layer, projection: Arc<dyn Projection>) -> Result<Self, CrsError> {
        let n = layer.features.len();
        let mut geo_entries = Vec::with_capacity(n);
        let mut metric_entries = Vec::with_capacity(n);
        // Points are projected in one batch; other geometries one by one.
        let mut point_idx = Vec::with_capacity(n);
        let mut point_coords = Vec::with_capacity(n);
        for (i, f) in layer.features.iter().enumerate() {
            let Some(r) = f.geometry.bounding_rect() else {
                continue;
            };
            geo_entries.push(GeoEntry::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                i as u32,
            ));
            if let Geometry::Point(p) = &f.geometry {
                point_idx.push(i as u32);
                point_coords.push((p.x(), p.y()));
            } else {
                let g = f.geometry.try_map_coords(|c| {
                    projection
                        .forward_one(c.x, c.y)
                        .map(|(x, y)| geo::coord! { x: x, y: y })
                })?;
                if let Some(mr) = g.bounding_rect() {
                    metric_entries.push(MetricEntry {
                        idx: i as u32,
                        env: AABB::from_corners([mr.min().x, mr.min().y], [mr.max().x, mr.max().y]),
                        geom: MetricGeom::Other(Box::new(g)),
                    });
                }
            }
        }
        projection.forward(&mut point_coords)?;
        for (i, (x, y)) in point_idx.into_iter().zip(point_coords) {
            metric_entries.push(MetricEntry {
                idx: i,
                env: AABB::from_point([x, y]),
                geom: MetricGeom::Point([x, y]),
            });
        }
        Ok(Self {
            geo_tree: RTree::bulk_load(geo_entries),
            metric_tree: RTree::bulk_load(metric_entries),
            projection,
        })
    }

    /// Number of indexed features.
    pub fn len(&self) -> usize {
        self.geo_tree.size()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.geo_tree.size() == 0
    }

    /// EPSG code of the metric CRS used for distances.
    pub fn metric_epsg(&self) -> u32 {
        self.projection.epsg()
    }

    /// Features whose bounding box intersects the longitude/latitude box
    /// (points: inside it, edges included), in ascending feature order.
    pub fn bbox(&self, min_lon: f64, min_lat: f64, max_lon: f64, max_lat: f64) -> Vec<usize> {
        let env = AABB::from_corners([min_lon, min_lat], [max_lon, max_lat]);
        let mut out: Vec<usize> = self
            .geo_tree
            .locate_in_envelope_intersecting(env)
            .map(|e| e.data as usize)
            .collect();
        out.sort_unstable();
        out
    }

    /// The `k` features nearest to (lon, lat), with distances in metres, nearest first.
    pub fn nearest(&self, lon: f64, lat: f64, k: usize) -> Result<Vec<(usize, f64)>, CrsError> {
        let (x, y) = self.projection.forward_one(lon, lat)?;
        Ok(self
            .metric_tree
            .nearest_neighbor_iter_with_distance_2([x, y])
            .take(k)
            .map(|(e, d2)| (e.idx as usize, d2.sqrt()))
            .collect())
    }

    /// Every feature within `metres` of (lon, lat), nearest first.
    pub fn within_distance(
        &self,
        lon: f64,
        lat: f64,
        metres: f64,
    ) -> Result<Vec<(usize, f64)>, CrsError> {
        let (x, y) = self.projection.forward_one(lon, lat)?;
        let mut out: Vec<(usize, f64)> = self
            .metric_tree
            .locate_within_distance([x, y], metres * metres)
            .map(|e| (e.idx as usize, e.distance_2(&[x, y]).sqrt()))
            .collect();
        out.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::LocalEquirectangular;
    use crate::layer::{Feature, LayerKind};
    use crate::value::Value;
    use geo::{LineString, MultiLineString, point};
    use proptest::prelude::*;

    fn layer_of(points: &[(f64, f64)]) -> Layer {
        let mut l = Layer::new("communities", LayerKind::Communities);
        for (i, &(x, y)) in points.iter().enumerate() {
            l.features.push(Feature {
                fid: i as i64 + 1,
                geometry: Geometry::Point(point! { x: x, y: y }),
                values: vec![Value::Null; l.fields.len()],
            });
        }
        l
    }

    fn proj() -> Arc<dyn Projection> {
        Arc::new(LocalEquirectangular::new(-74.0, -13.0))
    }

    fn metric(p: &dyn Projection, a: (f64, f64), b: (f64, f64)) -> f64 {
        let a = p.forward_one(a.0, a.1).unwrap();
        let b = p.forward_one(b.0, b.1).unwrap();
        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
    }

    // Points on a 0.001-degree lattice, so duplicates and ties occur, as in real data.
    fn points() -> impl Strategy<Value = Vec<(f64, f64)>> {
        prop::collection::vec(
            (0i32..400, 0i32..400)
                .prop_map(|(a, b)| (-74.2 + f64::from(a) * 0.001, -13.2 + f64::from(b) * 0.001)),
            0..400,
        )
    }

    proptest! {
        #[test]
        fn bbox_equals_brute_force(pts in points(), a in 0.0f64..0.4, b in 0.0f64..0.4, w in 0.0f64..0.3, h in 0.0f64..0.3) {
            let l = layer_of(&pts);
            let idx = SpatialIndex::build(&l, proj()).unwrap();
            let (x0, y0) = (-74.2 + a, -13.2 + b);
            let (x1, y1) = (x0 + w, y0 + h);
            let expected: Vec<usize> = pts.iter().enumerate()
                .filter(|(_, p)| p.0 >= x0 && p.0 <= x1 && p.1 >= y0 && p.1 <= y1)
                .map(|(i, _)| i).collect();
            prop_assert_eq!(idx.bbox(x0, y0, x1, y1), expected);
        }

        #[test]
        fn nearest_equals_brute_force(pts in points(), qa in 0.0f64..0.4, qb in 0.0f64..0.4, k in 1usize..20) {
            let l = layer_of(&pts);
            let p = proj();
            let idx = SpatialIndex::build(&l, p.clone()).unwrap();
            let q = (-74.2 + qa, -13.2 + qb);
            let mut brute: Vec<f64> = pts.iter().map(|&x| metric(p.as_ref(), q, x)).collect();
            brute.sort_by(f64::total_cmp);
            brute.truncate(k);
            let got = idx.nearest(q.0, q.1, k).unwrap();
            prop_assert_eq!(got.len(), brute.len());
            for ((i, d), e) in got.iter().zip(&brute) {
                prop_assert!((d - e).abs() < 1e-6, "{} vs {}", d, e);
                // the reported distance is the real distance of that feature
                prop_assert!((metric(p.as_ref(), q, pts[*i]) - d).abs() < 1e-6);
            }
        }

        #[test]
        fn within_distance_equals_brute_force(pts in points(), qa in 0.0f64..0.4, qb in 0.0f64..0.4, r in 0.0f64..8000.0) {
            let l = layer_of(&pts);
            let p = proj();
            let idx = SpatialIndex::build(&l, p.clone()).unwrap();
            let q = (-74.2 + qa, -13.2 + qb);
            let mut expected: Vec<usize> = pts.iter().enumerate()
                .filter(|(_, x)| metric(p.as_ref(), q, **x) <= r)
                .map(|(i, _)| i).collect();
            let mut got: Vec<usize> = idx.within_distance(q.0, q.1, r).unwrap().into_iter().map(|x| x.0).collect();
            expected.sort_unstable();
            got.sort_unstable();
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn distance_to_a_line_is_to_its_nearest_point() {
        let mut l = Layer::new("rivers", LayerKind::Rivers);
        l.features.push(Feature {
            fid: 1,
            geometry: Geometry::MultiLineString(MultiLineString::new(vec![LineString::from(
                vec![(-74.01, -13.0), (-73.99, -13.0)],
            )])),
            values: vec![Value::Null; l.fields.len()],
        });
        let idx = SpatialIndex::build(&l, proj()).unwrap();
        // 0.001 degree of latitude north of the middle of the line: about 111.2 m.
        let near = idx.nearest(-74.0, -12.999, 1).unwrap();
        assert_eq!(near[0].0, 0);
        assert!((near[0].1 - 111.195).abs() < 0.01, "{}", near[0].1);
    }
}
