//! Tile sources: the [`TileSource`] trait and [`LayerSource`], a layer
//! reprojected once to Web Mercator, indexed in an R-tree, with Douglas–Peucker
//! importances computed once per vertex and point clusters precomputed per zoom.

use crate::coord::{TileCoord, lonlat_to_mercator, tile_of, tile_size_m};
use crate::error::TileError;
use crate::geom::{self, TileBox};
use crate::mvt::{EXTENT, PropValue, TileGeometry, TileLayer};
use chaski_core::layer::{GeometryType, Layer};
use chaski_core::value::{Field, FieldType, Value};
use geo::Geometry;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::collections::{BTreeMap, HashMap};

/// Buffer around each tile, in tile units, within which lines and polygons are kept.
pub const BUFFER: u32 = 64;

/// Coarsest generalization level [`crate::render`] tries before giving up.
pub const MAX_LEVEL: u8 = 5;

/// Property added to every point feature of a clustered tile.
pub const COUNT_PROPERTY: &str = "count";

/// Property added (`true`) to every feature of a generalized tile.
pub const GENERALIZED_PROPERTY: &str = "generalized";

const POINT_EXTRA: &[(&str, &str)] = &[
    (
        COUNT_PROPERTY,
        "Number of source points aggregated into this feature; present on every point of a clustered (generalized) tile, absent (meaning 1) elsewhere",
    ),
    (
        GENERALIZED_PROPERTY,
        "true when the tile was generalized: points aggregated into clusters (count-like numeric fields summed), or geometry simplified harder to stay under the tile size budget",
    ),
];

const SHAPE_EXTRA: &[(&str, &str)] = &[(
    GENERALIZED_PROPERTY,
    "true when the tile's geometry was simplified harder than usual (small parts dropped) to stay under the tile size budget",
)];

/// How a tile is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderOptions {
    /// Generalization level: 0 is the normal rendering; each level simplifies
    /// four times coarser, clusters points in cells twice as wide and drops
    /// smaller parts. Used by [`crate::render`] to meet the size budget.
    pub level: u8,
}

/// Something that renders one layer of a vector tile. Object safe.
pub trait TileSource: Send + Sync {
    /// Layer name in tiles.
    fn name(&self) -> &str;
    /// Attribute fields of the features.
    fn fields(&self) -> &[Field];
    /// Properties the tiler may add, with a description: `(name, description)`.
    fn extra_fields(&self) -> &[(&'static str, &'static str)];
    /// Lowest zoom with data.
    fn minzoom(&self) -> u8;
    /// Highest zoom: tiles at this zoom or beyond are not simplified.
    fn maxzoom(&self) -> u8;
    /// Bounds in degrees `[west, south, east, north]` (None when empty).
    fn bounds(&self) -> Option<[f64; 4]>;
    /// Geometry type of the features.
    fn geometry_type(&self) -> GeometryType;
    /// Number of source features.
    fn feature_count(&self) -> usize;
    /// The layer's features in tile `coord` (None when there are none).
    fn layer_features(
        &self,
        coord: TileCoord,
        opts: &RenderOptions,
    ) -> Result<Option<TileLayer>, TileError>;
}

/// Options of a [`LayerSource`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceOptions {
    /// Lowest zoom served (default 0).
    pub minzoom: u8,
    /// Highest zoom (default 14): no simplification and no clustering there.
    pub maxzoom: u8,
    /// A tile below `maxzoom` holding more than this many points is clustered (default 2,000).
    pub cluster_threshold: usize,
    /// Cluster cell width in tile units at level 0 (default 64, so 64 × 64 cells a tile).
    pub cluster_cell: u32,
}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            minzoom: 0,
            maxzoom: 14,
            cluster_threshold: 2_000,
            cluster_cell: 64,
        }
    }
}

/// A path in Web Mercator metres with the Douglas–Peucker importance of each vertex.
#[derive(Debug, Clone)]
struct Path {
    pts: Vec<[f64; 2]>,
    imp: Vec<f64>,
}

impl Path {
    fn new(pts: Vec<[f64; 2]>) -> Self {
        let imp = geom::importance(&pts);
        Self { pts, imp }
    }
}

#[derive(Debug, Clone)]
struct SourceFeature {
    id: Option<u64>,
    /// Layer properties (nulls skipped).
    props: Vec<(u16, PropValue)>,
    lines: Vec<Path>,
    polygons: Vec<Vec<Path>>,
}

#[derive(Debug, Clone, Copy)]
struct PointRec {
    xy: [f64; 2],
    feature: u32,
}

/// Aggregate of the points of one cluster cell.
#[derive(Debug, Clone)]
struct Cluster {
    sx: f64,
    sy: f64,
    count: u64,
    /// Smallest point index (points are in feature order): the cluster's id and,
    /// for a single point, the point itself.
    first: u32,
    /// Sums of the additive fields, `None` while every value was null.
    sums: Vec<Option<f64>>,
}

type Entry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// A layer prepared for tiling: every geometry reprojected once to Web
/// Mercator, shapes indexed by envelope and points by location in R-trees,
/// vertex importances for per-zoom simplification, and point clusters
/// precomputed for every dense tile below `maxzoom`.
pub struct LayerSource {
    name: String,
    fields: Vec<Field>,
    geometry_type: GeometryType,
    options: SourceOptions,
    bounds: Option<[f64; 4]>,
    features: Vec<SourceFeature>,
    points: Vec<PointRec>,
    point_tree: RTree<Entry>,
    shape_tree: RTree<Entry>,
    /// Indices (in `fields`) of the additive Int/Real fields summed in clusters.
    additive: Vec<u16>,
    /// Per zoom `minzoom..maxzoom`: clusters of the dense tiles, by (x, y).
    clusters: Vec<HashMap<(u32, u32), Vec<Cluster>>>,
    skipped: usize,
}

impl std::fmt::Debug for LayerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerSource")
            .field("name", &self.name)
            .field("features", &self.features.len())
            .field("points", &self.points.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Names of point attributes that usually repeat the point's own coordinates.
const COORDINATE_NAMES: [(&str, usize); 12] = [
    ("lon", 0),
    ("long", 0),
    ("lng", 0),
    ("longitude", 0),
    ("longitud", 0),
    ("x", 0),
    ("lat", 1),
    ("latitude", 1),
    ("latitud", 1),
    ("y", 1),
    ("coord_x", 0),
    ("coord_y", 1),
];

/// For each field of `layer`, its index among the fields tiles carry, or
/// `None` for a field dropped from tiles.
///
/// A point layer's Real field named like a coordinate (`lon`, `lat`,
/// `longitud`, `x`, …) whose every value equals the point's own longitude or
/// latitude (within 1e-6°) is dropped: the geometry already carries it, and
/// two unique doubles per point made up half of a dense village tile.
fn kept_fields(layer: &Layer) -> Vec<Option<u16>> {
    let duplicate = |i: usize, field: &Field| -> bool {
        if field.ty != FieldType::Real || layer.kind.geometry_type() != GeometryType::Point {
            return false;
        }
        let name = field.name.to_ascii_lowercase();
        let Some(&(_, axis)) = COORDINATE_NAMES.iter().find(|(n, _)| *n == name) else {
            return false;
        };
        let mut seen = false;
        for f in &layer.features {
            let Some(Value::Real(v)) = f.values.get(i) else {
                if matches!(f.values.get(i), None | Some(Value::Null)) {
                    continue;
                }
                return false;
            };
            let Geometry::Point(p) = &f.geometry else {
                return false;
            };
            let c = if axis == 0 { p.x() } else { p.y() };
            if (v - c).abs() > 1e-6 {
                return false;
            }
            seen = true;
        }
        seen
    };
    let mut next = 0u16;
    layer
        .fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            if duplicate(i, field) {
                None
            } else {
                next += 1;
                Some(next - 1)
            }
        })
        .collect()
}

/// True for Int/Real fields that count things (summed when points are clustered):
/// `population`, `households`, `households_served`, `members`, and names
/// starting with `pop`, `tot_`, `total`, `num_`, `n_` or containing
/// `population`, `households`, `members`, or ending in `count` or `_served`.
pub fn is_additive(field: &Field) -> bool {
    if !matches!(field.ty, FieldType::Int | FieldType::Real) {
        return false;
    }
    let n = field.name.to_ascii_lowercase();
    if n == COUNT_PROPERTY {
        return false;
    }
    n.starts_with("pop")
        || n.starts_with("tot_")
        || n.starts_with("total")
        || n.starts_with("num_")
        || n.starts_with("n_")
        || n.contains("population")
        || n.contains("households")
        || n.contains("members")
        || n.ends_with("count")
        || n.ends_with("_served")
}

fn prop_value(v: &Value) -> Option<PropValue> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(PropValue::Bool(*b)),
        Value::Int(i) => Some(PropValue::int(*i)),
        Value::Real(r) => Some(PropValue::Double(*r)),
        Value::Text(s) => Some(PropValue::Text(std::sync::Arc::from(s.as_str()))),
    }
}

/// Project a coordinate sequence, dropping non-finite coordinates.
fn project(coords: impl Iterator<Item = geo::Coord<f64>>) -> Vec<[f64; 2]> {
    coords
        .filter(|c| c.x.is_finite() && c.y.is_finite())
        .map(|c| {
            let (x, y) = lonlat_to_mercator(c.x, c.y);
            [x, y]
        })
        .collect()
}

#[derive(Default)]
struct Parts {
    points: Vec<[f64; 2]>,
    lines: Vec<Vec<[f64; 2]>>,
    polygons: Vec<Vec<Vec<[f64; 2]>>>,
}

fn collect_parts(g: &Geometry<f64>, out: &mut Parts) {
    let polygon = |p: &geo::Polygon<f64>, out: &mut Parts| {
        let mut rings = vec![project(p.exterior().coords().copied())];
        rings.extend(p.interiors().iter().map(|r| project(r.coords().copied())));
        out.polygons.push(rings);
    };
    match g {
        Geometry::Point(p) => out.points.extend(project(std::iter::once(p.0))),
        Geometry::MultiPoint(mp) => out.points.extend(project(mp.iter().map(|p| p.0))),
        Geometry::Line(l) => out.lines.push(project([l.start, l.end].into_iter())),
        Geometry::LineString(l) => out.lines.push(project(l.coords().copied())),
        Geometry::MultiLineString(ml) => {
            out.lines
                .extend(ml.iter().map(|l| project(l.coords().copied())));
        }
        Geometry::Polygon(p) => polygon(p, out),
        Geometry::MultiPolygon(mp) => {
            for p in mp {
                polygon(p, out);
            }
        }
        Geometry::Rect(r) => polygon(&r.to_polygon(), out),
        Geometry::Triangle(t) => polygon(&t.to_polygon(), out),
        Geometry::GeometryCollection(gc) => {
            for g in gc {
                collect_parts(g, out);
            }
        }
    }
}

fn envelope(paths: impl Iterator<Item = [f64; 2]>) -> Option<AABB<[f64; 2]>> {
    let mut b: Option<[f64; 4]> = None;
    for p in paths {
        b = Some(match b {
            None => [p[0], p[1], p[0], p[1]],
            Some(b) => [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ],
        });
    }
    b.map(|b| AABB::from_corners([b[0], b[1]], [b[2], b[3]]))
}

/// How tile space maps to Web Mercator for one tile.
#[derive(Debug, Clone, Copy)]
struct Frame {
    x0: f64,
    y1: f64,
    scale: f64,
    unit_m: f64,
}

impl Frame {
    fn new(coord: TileCoord) -> Self {
        let [x0, _, _, y1] = coord.bounds_mercator();
        let size = tile_size_m(coord.z());
        Self {
            x0,
            y1,
            scale: f64::from(EXTENT) / size,
            unit_m: size / f64::from(EXTENT),
        }
    }

    fn tile_xy(self, p: [f64; 2]) -> [f64; 2] {
        [(p[0] - self.x0) * self.scale, (self.y1 - p[1]) * self.scale]
    }

    /// Mercator box of the tile grown by `units` tile units.
    fn mercator_box(&self, units: f64) -> AABB<[f64; 2]> {
        let m = units * self.unit_m;
        let e = f64::from(EXTENT) * self.unit_m;
        AABB::from_corners(
            [self.x0 - m, self.y1 - e - m],
            [self.x0 + e + m, self.y1 + m],
        )
    }
}

impl LayerSource {
    /// Prepare `layer` with the default [`SourceOptions`] (zooms 0–14).
    pub fn new(layer: &Layer) -> Result<Self, TileError> {
        Self::with_options(layer, SourceOptions::default())
    }

    /// Prepare `layer` with `options`.
    pub fn with_options(layer: &Layer, options: SourceOptions) -> Result<Self, TileError> {
        if options.minzoom > options.maxzoom || options.maxzoom > crate::coord::MAX_ZOOM {
            return Err(TileError::ZoomRange {
                layer: layer.name.clone(),
                minzoom: options.minzoom,
                maxzoom: options.maxzoom,
                reason: format!(
                    "minzoom must not exceed maxzoom, and maxzoom must be at most {}",
                    crate::coord::MAX_ZOOM
                ),
            });
        }
        let options = SourceOptions {
            cluster_cell: options.cluster_cell.clamp(1, EXTENT),
            ..options
        };
        let kept = kept_fields(layer);
        let fields: Vec<Field> = layer
            .fields
            .iter()
            .zip(&kept)
            .filter(|(_, k)| k.is_some())
            .map(|(f, _)| f.clone())
            .collect();
        let mut features = Vec::with_capacity(layer.features.len());
        let mut points = Vec::new();
        let mut shape_entries = Vec::new();
        let mut skipped = 0usize;
        for f in &layer.features {
            let mut parts = Parts::default();
            collect_parts(&f.geometry, &mut parts);
            let lines: Vec<Path> = parts
                .lines
                .into_iter()
                .filter(|l| l.len() >= 2)
                .map(Path::new)
                .collect();
            let polygons: Vec<Vec<Path>> = parts
                .polygons
                .into_iter()
                .filter(|rings| rings.first().is_some_and(|r| r.len() >= 3))
                .map(|rings| {
                    rings
                        .into_iter()
                        .filter(|r| r.len() >= 3)
                        .map(|mut r| {
                            if r.first() != r.last() {
                                let first = r[0];
                                r.push(first);
                            }
                            Path::new(r)
                        })
                        .collect()
                })
                .collect();
            if parts.points.is_empty() && lines.is_empty() && polygons.is_empty() {
                skipped += 1;
                continue;
            }
            let index = features.len() as u32;
            for p in parts.points {
                points.push(PointRec {
                    xy: p,
                    feature: index,
                });
            }
            let env = envelope(
                lines.iter().flat_map(|l| l.pts.iter().copied()).chain(
                    polygons
                        .iter()
                        .filter_map(|p| p.first())
                        .flat_map(|r| r.pts.iter().copied()),
                ),
            );
            if let Some(env) = env {
                shape_entries.push(Entry::new(
                    Rectangle::from_corners(env.lower(), env.upper()),
                    index,
                ));
            }
            let props = f
                .values
                .iter()
                .zip(&kept)
                .filter_map(|(v, k)| Some((k.as_ref().copied()?, prop_value(v)?)))
                .collect();
            features.push(SourceFeature {
                id: u64::try_from(f.fid).ok(),
                props,
                lines,
                polygons,
            });
        }
        let point_tree = RTree::bulk_load(
            points
                .iter()
                .enumerate()
                .map(|(i, p)| Entry::new(Rectangle::from_corners(p.xy, p.xy), i as u32))
                .collect(),
        );
        let additive = fields
            .iter()
            .enumerate()
            .filter(|(_, f)| is_additive(f))
            .map(|(i, _)| i as u16)
            .collect();
        let bounds = layer
            .bounds()
            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y]);
        let mut source = Self {
            name: layer.name.clone(),
            fields,
            geometry_type: layer.kind.geometry_type(),
            options,
            bounds,
            features,
            points,
            point_tree,
            shape_tree: RTree::bulk_load(shape_entries),
            additive,
            clusters: Vec::new(),
            skipped,
        };
        source.clusters = (options.minzoom..options.maxzoom)
            .map(|z| source.precompute_clusters(z))
            .collect();
        Ok(source)
    }

    /// Number of source features left out because they had no usable geometry.
    pub fn skipped_features(&self) -> usize {
        self.skipped
    }

    /// The options the source was built with.
    pub fn options(&self) -> SourceOptions {
        self.options
    }

    /// Clusters of every tile at zoom `z` holding more than the threshold.
    fn precompute_clusters(&self, z: u8) -> HashMap<(u32, u32), Vec<Cluster>> {
        let mut per_tile: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
        for (i, p) in self.points.iter().enumerate() {
            per_tile
                .entry(tile_of(p.xy[0], p.xy[1], z))
                .or_default()
                .push(i as u32);
        }
        per_tile
            .into_iter()
            .filter(|(_, pts)| pts.len() > self.options.cluster_threshold)
            .filter_map(|((x, y), pts)| {
                let coord = TileCoord::new(z, x, y).ok()?;
                Some(((x, y), self.cluster(coord, &pts, self.options.cluster_cell)))
            })
            .collect()
    }

    /// Aggregate `pts` (point indices, all inside tile `coord`) in cells `cell` units wide.
    fn cluster(&self, coord: TileCoord, pts: &[u32], cell: u32) -> Vec<Cluster> {
        let frame = Frame::new(coord);
        let cells = (EXTENT / cell.max(1)).max(1);
        let cell_f = f64::from(cell.max(1));
        let mut by_cell: BTreeMap<(u32, u32), Cluster> = BTreeMap::new();
        for &i in pts {
            let p = self.points[i as usize];
            let t = frame.tile_xy(p.xy);
            let cx = ((t[0] / cell_f).floor().max(0.0) as u32).min(cells - 1);
            let cy = ((t[1] / cell_f).floor().max(0.0) as u32).min(cells - 1);
            let c = by_cell.entry((cy, cx)).or_insert_with(|| Cluster {
                sx: 0.0,
                sy: 0.0,
                count: 0,
                first: i,
                sums: vec![None; self.additive.len()],
            });
            c.sx += p.xy[0];
            c.sy += p.xy[1];
            c.count += 1;
            c.first = c.first.min(i);
            let feature = &self.features[p.feature as usize];
            for (k, field) in self.additive.iter().enumerate() {
                if let Some((_, v)) = feature.props.iter().find(|(f, _)| f == field) {
                    let x = match v {
                        PropValue::Uint(u) => *u as f64,
                        PropValue::Sint(s) => *s as f64,
                        PropValue::Double(d) => *d,
                        _ => continue,
                    };
                    c.sums[k] = Some(c.sums[k].unwrap_or(0.0) + x);
                }
            }
        }
        by_cell.into_values().collect()
    }

    /// Indices of the points inside tile `coord` (each point is in exactly one tile per zoom).
    fn points_in(&self, coord: TileCoord, frame: &Frame) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .point_tree
            .locate_in_envelope_intersecting(frame.mercator_box(0.5))
            .map(|e| e.data)
            .filter(|i| {
                let p = self.points[*i as usize].xy;
                tile_of(p[0], p[1], coord.z()) == (coord.x(), coord.y())
            })
            .collect();
        out.sort_unstable();
        out
    }

    fn feature_props(&self, feature: &SourceFeature) -> Vec<(&str, PropValue)> {
        let mut out = Vec::with_capacity(feature.props.len() + 2);
        self.feature_props_into(feature, &mut out);
        out
    }

    /// The feature's properties, appended to `out` (reused across features).
    fn feature_props_into<'a>(
        &'a self,
        feature: &SourceFeature,
        out: &mut Vec<(&'a str, PropValue)>,
    ) {
        out.extend(feature.props.iter().filter_map(|(i, v)| {
            let name = self.fields.get(usize::from(*i))?.name.as_str();
            Some((name, v.clone()))
        }));
    }

    fn add_points(
        &self,
        layer: &mut TileLayer,
        coord: TileCoord,
        frame: &Frame,
        opts: RenderOptions,
    ) {
        let z = coord.z();
        let dense = z >= self.options.minzoom && z < self.options.maxzoom;
        let precomputed = if dense && opts.level == 0 {
            self.clusters
                .get(usize::from(z - self.options.minzoom))
                .and_then(|m| m.get(&(coord.x(), coord.y())))
        } else {
            None
        };
        let computed;
        let clusters: Option<&[Cluster]> = if let Some(c) = precomputed {
            Some(c)
        } else if opts.level > 0 {
            let pts = self.points_in(coord, frame);
            if pts.is_empty() {
                return;
            }
            let cell = self
                .options
                .cluster_cell
                .saturating_mul(1 << opts.level.min(12));
            computed = self.cluster(coord, &pts, cell.min(EXTENT));
            Some(&computed)
        } else {
            None
        };
        if let Some(clusters) = clusters {
            layer.set_generalized(true);
            let mut props: Vec<(&str, PropValue)> = Vec::new();
            for c in clusters {
                let rec = self.points[c.first as usize];
                let feature = &self.features[rec.feature as usize];
                let n = c.count as f64;
                let xy = frame.tile_xy([c.sx / n, c.sy / n]);
                let geometry = TileGeometry::Points(geom::snap(&[xy]));
                props.clear();
                if c.count == 1 {
                    self.feature_props_into(feature, &mut props);
                } else {
                    props.extend(self.additive.iter().zip(&c.sums).filter_map(|(f, s)| {
                        let field = self.fields.get(usize::from(*f))?;
                        let s = (*s)?;
                        let v = if field.ty == FieldType::Int {
                            PropValue::int(s.round() as i64)
                        } else {
                            PropValue::Double(s)
                        };
                        Some((field.name.as_str(), v))
                    }));
                }
                props.retain(|(k, _)| *k != COUNT_PROPERTY && *k != GENERALIZED_PROPERTY);
                props.push((COUNT_PROPERTY, PropValue::Uint(c.count)));
                props.push((GENERALIZED_PROPERTY, PropValue::Bool(true)));
                layer.add_feature(feature.id, &geometry, &props);
            }
            return;
        }
        let mut props: Vec<(&str, PropValue)> = Vec::new();
        for i in self.points_in(coord, frame) {
            let rec = self.points[i as usize];
            let feature = &self.features[rec.feature as usize];
            let geometry = TileGeometry::Points(geom::snap(&[frame.tile_xy(rec.xy)]));
            props.clear();
            self.feature_props_into(feature, &mut props);
            layer.add_feature(feature.id, &geometry, &props);
        }
    }

    fn add_shapes(
        &self,
        layer: &mut TileLayer,
        coord: TileCoord,
        frame: &Frame,
        opts: RenderOptions,
    ) {
        let simplify = coord.z() < self.options.maxzoom || opts.level > 0;
        let eps_units = f64::from(1u32 << (2 * u32::from(opts.level.min(10))));
        let threshold = if simplify {
            let e = eps_units * frame.unit_m;
            e * e
        } else {
            0.0
        };
        let (min_area2, min_length) = if opts.level > 0 {
            ((eps_units * eps_units / 2.0) as i64, eps_units)
        } else {
            (0, 0.0)
        };
        let bx: TileBox = geom::buffered_box(EXTENT, BUFFER);
        let mut hits: Vec<u32> = self
            .shape_tree
            .locate_in_envelope_intersecting(frame.mercator_box(f64::from(BUFFER)))
            .map(|e| e.data)
            .collect();
        hits.sort_unstable();
        let path_xy = |p: &Path| -> Vec<[f64; 2]> {
            p.pts
                .iter()
                .zip(&p.imp)
                .filter(|(_, imp)| **imp >= threshold)
                .map(|(xy, _)| frame.tile_xy(*xy))
                .collect()
        };
        // Rings keep at least 4 points (3 distinct + closing): when the
        // simplification would collapse one, its two most important interior
        // vertices stay (the ring is then dropped only if it snaps to zero area).
        let ring_xy = |p: &Path| -> Vec<[f64; 2]> {
            let pts = path_xy(p);
            if pts.len() >= 4 || p.pts.len() < 4 {
                return pts;
            }
            let interior = &p.imp[1..p.imp.len() - 1];
            let mut top = [f64::NEG_INFINITY; 2];
            for &v in interior {
                if v > top[0] {
                    top = [v, top[0]];
                } else if v > top[1] {
                    top[1] = v;
                }
            }
            let keep = threshold.min(top[1]);
            p.pts
                .iter()
                .zip(&p.imp)
                .filter(|(_, imp)| **imp >= keep)
                .map(|(xy, _)| frame.tile_xy(*xy))
                .collect()
        };
        for i in hits {
            let feature = &self.features[i as usize];
            let mut props: Option<Vec<(&str, PropValue)>> = None;
            let mut props_of = |layer: &TileLayer| {
                props
                    .get_or_insert_with(|| {
                        let mut p = self.feature_props(feature);
                        if layer.is_generalized() {
                            p.retain(|(k, _)| *k != GENERALIZED_PROPERTY);
                            p.push((GENERALIZED_PROPERTY, PropValue::Bool(true)));
                        }
                        p
                    })
                    .clone()
            };
            if !feature.lines.is_empty() {
                let parts: Vec<Vec<[i32; 2]>> = feature
                    .lines
                    .iter()
                    .flat_map(|l| geom::clip_line(&path_xy(l), &bx))
                    .filter_map(|part| geom::finish_line(&part, min_length))
                    .collect();
                if !parts.is_empty() {
                    let p = props_of(layer);
                    layer.add_feature(feature.id, &TileGeometry::Lines(parts), &p);
                }
            }
            if !feature.polygons.is_empty() {
                let mut polys = Vec::new();
                for rings in &feature.polygons {
                    let Some((ext, holes)) = rings.split_first() else {
                        continue;
                    };
                    let Some(ext) =
                        geom::finish_ring(&geom::clip_ring(&ring_xy(ext), &bx), true, min_area2)
                    else {
                        continue;
                    };
                    let holes: Vec<Vec<[i32; 2]>> = holes
                        .iter()
                        .filter_map(|h| {
                            geom::finish_ring(&geom::clip_ring(&ring_xy(h), &bx), false, min_area2)
                        })
                        .collect();
                    if let Some(poly) = geom::assemble_polygon(ext, holes) {
                        polys.push(poly);
                    }
                }
                if !polys.is_empty() {
                    let p = props_of(layer);
                    layer.add_feature(feature.id, &TileGeometry::Polygons(polys), &p);
                }
            }
        }
    }
}

impl TileSource for LayerSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn fields(&self) -> &[Field] {
        &self.fields
    }

    fn extra_fields(&self) -> &[(&'static str, &'static str)] {
        if self.points.is_empty() {
            SHAPE_EXTRA
        } else {
            POINT_EXTRA
        }
    }

    fn minzoom(&self) -> u8 {
        self.options.minzoom
    }

    fn maxzoom(&self) -> u8 {
        self.options.maxzoom
    }

    fn bounds(&self) -> Option<[f64; 4]> {
        self.bounds
    }

    fn geometry_type(&self) -> GeometryType {
        self.geometry_type
    }

    fn feature_count(&self) -> usize {
        self.features.len()
    }

    fn layer_features(
        &self,
        coord: TileCoord,
        opts: &RenderOptions,
    ) -> Result<Option<TileLayer>, TileError> {
        if coord.z() < self.options.minzoom {
            return Ok(None);
        }
        let frame = Frame::new(coord);
        let mut layer = TileLayer::new(self.name.clone());
        if opts.level > 0 {
            layer.set_generalized(true);
        }
        if !self.points.is_empty() {
            self.add_points(&mut layer, coord, &frame, *opts);
        }
        if self.shape_tree.size() > 0 {
            self.add_shapes(&mut layer, coord, &frame, *opts);
        }
        Ok((layer.feature_count() > 0).then_some(layer))
    }
}
