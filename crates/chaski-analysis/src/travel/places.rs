//! Villages and districts on the metric grid: villages inside the raster's
//! extent, district polygons projected, districts found by code or name, and
//! the place filter (bounding box, district) of the answers.

use super::error::{TravelError, crs, store_err};
use super::features::{point_of, text};
use super::metric::Metric;
use crate::travel::village_access::{District, Village};
use chaski_core::crs::{CrsError, Projection};
use chaski_core::store::Store;
use chaski_core::{Layer, LayerKind};
use geo::{Geometry, MultiPolygon, Rect};

/// A village of the layer, with its place in both CRSs.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// The village in the grid's CRS (x, y NaN when it cannot be projected).
    pub village: Village,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
}

/// The villages (points) of `layer` on `metric`'s CRS, and how many lie
/// outside the raster's extent (left out unless `all`).
pub fn villages(
    layer: &Layer,
    metric: &Metric,
    all: bool,
) -> Result<(Vec<Place>, usize), TravelError> {
    let (b, extent_epsg) = metric.extent;
    let mut lonlats = Vec::new();
    let mut meta = Vec::new();
    for f in &layer.features {
        let Some(ll) = point_of(&f.geometry) else {
            continue;
        };
        lonlats.push(ll);
        let population = layer
            .value(f, "population")
            .as_i64()
            .and_then(|p| u64::try_from(p).ok());
        meta.push((text(layer, f, "code"), text(layer, f, "name"), population));
    }
    let projected = metric.projection.forward_each(&lonlats);
    let mut out = Vec::new();
    let mut outside_extent = 0;
    for ((ll, xy), (code, name, population)) in lonlats.into_iter().zip(projected).zip(meta) {
        let xy = xy.ok();
        let own = if extent_epsg == 4326 { Some(ll) } else { xy };
        let inside = own.is_some_and(|(x, y)| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]);
        if !inside {
            outside_extent += 1;
            if !all {
                continue;
            }
        }
        let (x, y) = xy.unwrap_or((f64::NAN, f64::NAN));
        out.push(Place {
            village: Village {
                code,
                name,
                population,
                x,
                y,
            },
            lonlat: ll,
        });
    }
    Ok((out, outside_extent))
}

fn project_multipolygon(
    mp: &MultiPolygon<f64>,
    forward: &dyn Projection,
) -> Result<MultiPolygon<f64>, CrsError> {
    use geo::MapCoords;
    mp.try_map_coords(|c| {
        forward
            .forward_one(c.x, c.y)
            .map(|(x, y)| geo::coord! {x: x, y: y})
    })
}

/// The district of feature `f` of `layer`, as stored (longitude/latitude);
/// None for a feature that is not a polygon.
fn district_of(layer: &Layer, f: &chaski_core::Feature) -> Option<District> {
    let polygons = match &f.geometry {
        Geometry::Polygon(p) => MultiPolygon::new(vec![p.clone()]),
        Geometry::MultiPolygon(mp) => mp.clone(),
        _ => return None,
    };
    Some(District {
        code: text(layer, f, "code"),
        name: text(layer, f, "name"),
        polygons,
    })
}

/// The district polygons of `layer` in the metric CRS.
pub fn districts_of(layer: &Layer, forward: &dyn Projection) -> Result<Vec<District>, TravelError> {
    let mut out = Vec::new();
    for f in &layer.features {
        let Some(mut d) = district_of(layer, f) else {
            continue;
        };
        d.polygons = project_multipolygon(&d.polygons, forward)
            .map_err(crs(format!("layer '{}', feature {}", layer.name, f.fid)))?;
        out.push(d);
    }
    Ok(out)
}

/// The district polygons of `layer` in longitude/latitude, in layer order
/// (features that are not polygons left out).
pub fn district_polygons(layer: &Layer) -> Vec<District> {
    layer
        .features
        .iter()
        .filter_map(|f| district_of(layer, f))
        .collect()
}

/// The store's layer of district polygons: `named` when given (a polygon
/// layer of the store), else its one boundaries layer of districts: the only
/// boundaries layer, or among several the only one whose name says so
/// (`district…`, `distrito…`). `option` names the option or parameter in
/// errors, which list the candidates.
pub fn district_layer(
    store: &dyn Store,
    named: Option<&str>,
    option: &'static str,
) -> Result<String, TravelError> {
    use chaski_core::layer::GeometryType;
    let layers = store
        .layers()
        .map_err(store_err("listing the store's layers"))?;
    let candidates: Vec<&str> = layers
        .iter()
        .filter(|l| {
            l.kind == LayerKind::Boundaries && l.geometry_type == GeometryType::MultiPolygon
        })
        .map(|l| l.name.as_str())
        .collect();
    let listed = || {
        if candidates.is_empty() {
            "the store has no boundaries layer (import one with `chaski import distritos.geojson --layer districts --kind boundaries`)".to_owned()
        } else {
            format!("boundaries layers: {}", candidates.join(", "))
        }
    };
    if let Some(name) = named.map(str::trim).filter(|n| !n.is_empty()) {
        return match layers.iter().find(|l| l.name == name) {
            Some(l) if l.geometry_type == GeometryType::MultiPolygon => Ok(name.to_owned()),
            Some(_) => Err(TravelError::Districts {
                option,
                reason: format!("layer '{name}' is not a layer of polygons ({})", listed()),
            }),
            None => Err(TravelError::Districts {
                option,
                reason: format!("no layer '{name}' in the store ({})", listed()),
            }),
        };
    }
    let pick = if let [one] = candidates.as_slice() {
        Some(*one)
    } else {
        let named: Vec<&str> = candidates
            .iter()
            .copied()
            .filter(|n| {
                let n = n.to_ascii_lowercase();
                n.contains("district") || n.contains("distrito")
            })
            .collect();
        if let [one] = named.as_slice() {
            Some(*one)
        } else {
            None
        }
    };
    pick.map(str::to_owned).ok_or_else(|| TravelError::Districts {
        option,
        reason: if candidates.is_empty() {
            listed()
        } else {
            format!(
                "cannot tell which layer holds the districts ({}): name it with districts=LAYER",
                listed()
            )
        },
    })
}

/// Lower case without the accents of Spanish and Quechua place names, for
/// matching names as people type them.
fn fold(s: &str) -> String {
    s.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

/// Index of the district whose code is `key` or, failing that, whose name is
/// `key` (ignoring case and accents) in `districts` (of layer `layer`). A name
/// shared by several districts is an error listing their codes.
pub fn find_district(
    districts: &[District],
    key: &str,
    layer: &str,
    option: &'static str,
) -> Result<usize, TravelError> {
    let key = key.trim();
    if let Some(i) = districts.iter().position(|d| d.code == key) {
        return Ok(i);
    }
    let folded = fold(key);
    let by_name: Vec<usize> = (0..districts.len())
        .filter(|&i| fold(&districts[i].name) == folded)
        .collect();
    let show = |list: &[usize]| {
        let mut out: Vec<String> = list
            .iter()
            .take(12)
            .map(|&i| format!("{} {}", districts[i].code, districts[i].name))
            .collect();
        if list.len() > 12 {
            out.push(format!("and {} more", list.len() - 12));
        }
        out.join(", ")
    };
    match by_name.as_slice() {
        [one] => Ok(*one),
        [] => {
            let like: Vec<usize> = (0..districts.len())
                .filter(|&i| !folded.is_empty() && fold(&districts[i].name).contains(&folded))
                .collect();
            Err(TravelError::Districts {
                option,
                reason: if like.is_empty() {
                    format!("no district with code or name '{key}' in layer '{layer}'")
                } else {
                    format!(
                        "no district with code or name '{key}' in layer '{layer}'; similar: {}",
                        show(&like)
                    )
                },
            })
        }
        several => Err(TravelError::Districts {
            option,
            reason: format!(
                "{} districts of layer '{layer}' are named '{key}': give the code of one ({})",
                several.len(),
                show(several)
            ),
        }),
    }
}

/// One district as a filter: its polygons and box, and the districts before
/// it in the layer that touch its box (a village on a shared border belongs to
/// the first district, as in [`TravelResult::district_summary`]).
#[derive(Debug, Clone)]
struct DistrictArea {
    polygons: MultiPolygon<f64>,
    rect: Rect<f64>,
    earlier: Vec<MultiPolygon<f64>>,
}

/// Which villages an answer counts and lists: those inside a
/// longitude/latitude box and in a district (both when both are given).
/// Villages without a location are never selected by a box or a district.
#[derive(Debug, Clone, Default)]
pub struct PlaceFilter {
    bbox: Option<[f64; 4]>,
    district: Option<DistrictArea>,
}

impl PlaceFilter {
    /// Every village.
    pub fn all() -> Self {
        Self::default()
    }

    /// True when it selects every village.
    pub fn is_all(&self) -> bool {
        self.bbox.is_none() && self.district.is_none()
    }

    /// Only the villages within `bbox` (min lon, min lat, max lon, max lat;
    /// edges included).
    #[must_use]
    pub fn with_bbox(mut self, bbox: [f64; 4]) -> Self {
        self.bbox = Some(bbox);
        self
    }

    /// Only the villages in district `index` of `districts` (longitude/latitude,
    /// as [`district_polygons`] reads them); a district without area selects none.
    #[must_use]
    pub fn with_district(mut self, districts: &[District], index: usize) -> Self {
        use geo::{BoundingRect, Intersects};
        let Some(d) = districts.get(index) else {
            return self;
        };
        let rect = d
            .polygons
            .bounding_rect()
            .unwrap_or_else(|| Rect::new((f64::NAN, f64::NAN), (f64::NAN, f64::NAN)));
        let earlier = districts[..index]
            .iter()
            .filter(|e| {
                e.polygons
                    .bounding_rect()
                    .is_some_and(|r| r.intersects(&rect))
            })
            .map(|e| e.polygons.clone())
            .collect();
        self.district = Some(DistrictArea {
            polygons: d.polygons.clone(),
            rect,
            earlier,
        });
        self
    }

    /// Whether the village at longitude/latitude `lonlat` is selected.
    pub fn accepts(&self, lonlat: (f64, f64)) -> bool {
        use geo::{Contains, Intersects};
        let (x, y) = lonlat;
        if let Some([x0, y0, x1, y1]) = self.bbox {
            if !(x >= x0 && x <= x1 && y >= y0 && y <= y1) {
                return false;
            }
        }
        let Some(d) = &self.district else {
            return true;
        };
        let (lo, hi) = (d.rect.min(), d.rect.max());
        if !(x >= lo.x && x <= hi.x && y >= lo.y && y <= hi.y) {
            return false;
        }
        let p = geo::Point::new(x, y);
        if d.polygons.contains(&p) {
            return true;
        }
        // On its border: the first district touching the point has it.
        d.polygons.intersects(&p) && !d.earlier.iter().any(|e| e.intersects(&p))
    }
}
