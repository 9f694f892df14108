//! Layers: typed collections of features in EPSG:4326 (longitude, latitude).

use crate::schema;
use crate::value::{Field, Value};
use geo::{BoundingRect, Geometry, Rect};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a layer holds. The kind fixes the geometry type and the core fields
/// (see [`crate::schema`]); any other source attribute is kept as an extra field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// Populated places (centros poblados).
    Communities,
    /// Health facilities (IPRESS).
    Facilities,
    /// Rural water systems (JASS).
    WaterSystems,
    /// Districts and other administrative or planning boundaries.
    Boundaries,
    /// Footpaths, mule tracks, bridges and fords.
    Paths,
    /// Roads.
    Roads,
    /// Rivers and streams.
    Rivers,
    /// Households mapped by community health agents. **Private health data.**
    Households,
}

impl LayerKind {
    /// Every kind, in catalog order.
    pub const ALL: [LayerKind; 8] = [
        Self::Communities,
        Self::Facilities,
        Self::WaterSystems,
        Self::Boundaries,
        Self::Paths,
        Self::Roads,
        Self::Rivers,
        Self::Households,
    ];

    /// The kind's name, which is also the default layer name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Communities => "communities",
            Self::Facilities => "facilities",
            Self::WaterSystems => "water_systems",
            Self::Boundaries => "boundaries",
            Self::Paths => "paths",
            Self::Roads => "roads",
            Self::Rivers => "rivers",
            Self::Households => "households",
        }
    }

    /// The geometry type every feature of this kind has.
    pub fn geometry_type(self) -> GeometryType {
        match self {
            Self::Communities | Self::Facilities | Self::WaterSystems | Self::Households => {
                GeometryType::Point
            }
            Self::Boundaries => GeometryType::MultiPolygon,
            Self::Paths | Self::Roads | Self::Rivers => GeometryType::MultiLineString,
        }
    }

    /// True for layers holding private health data, never served without authorization.
    pub fn is_private(self) -> bool {
        matches!(self, Self::Households)
    }

    /// The core fields of this kind, in column order.
    pub fn core_fields(self) -> &'static [schema::CoreField] {
        schema::core_fields(self)
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of the layer kinds.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "unknown layer kind '{0}' (expected one of: communities, facilities, water_systems, boundaries, paths, roads, rivers, households)"
)]
pub struct UnknownKind(pub String);

impl FromStr for LayerKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        let kind = match norm.as_str() {
            "communities" | "community" | "villages" | "centros_poblados" | "ccpp" => {
                Self::Communities
            }
            "facilities" | "facility" | "ipress" | "health_facilities" => Self::Facilities,
            "water_systems" | "water" | "jass" => Self::WaterSystems,
            "boundaries" | "districts" | "distritos" | "provinces" | "departments" => {
                Self::Boundaries
            }
            "paths" | "footpaths" | "trails" => Self::Paths,
            "roads" => Self::Roads,
            "rivers" | "streams" => Self::Rivers,
            "households" | "hogares" | "viviendas" => Self::Households,
            _ => return Err(UnknownKind(s.to_owned())),
        };
        Ok(kind)
    }
}

/// Geometry type of a layer, as stored (lines and polygons are always multi-part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GeometryType {
    /// Points.
    Point,
    /// Multi line strings.
    MultiLineString,
    /// Multi polygons.
    MultiPolygon,
}

impl GeometryType {
    /// OGC name, as in GeoPackage's `gpkg_geometry_columns`.
    pub fn ogc_name(self) -> &'static str {
        match self {
            Self::Point => "POINT",
            Self::MultiLineString => "MULTILINESTRING",
            Self::MultiPolygon => "MULTIPOLYGON",
        }
    }
}

/// One feature: a stable id, a geometry in EPSG:4326 and one value per layer field.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Feature id, unique and stable within its layer (the GeoPackage `fid`).
    pub fid: i64,
    /// Geometry in longitude/latitude (EPSG:4326).
    pub geometry: Geometry<f64>,
    /// One value per [`Layer::fields`] entry, in the same order.
    pub values: Vec<Value>,
}

/// A typed layer: every feature's `values` line up with `fields`, whose first
/// entries are the kind's core fields followed by extra fields kept from the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Layer name (a table name: lower-case ASCII letters, digits and `_`).
    pub name: String,
    /// What the layer holds.
    pub kind: LayerKind,
    /// Columns: core fields first, then extra source fields.
    pub fields: Vec<Field>,
    /// Features.
    pub features: Vec<Feature>,
}

impl Layer {
    /// An empty layer of `kind` with only the core fields.
    pub fn new(name: impl Into<String>, kind: LayerKind) -> Self {
        Self {
            name: name.into(),
            kind,
            fields: schema::core_field_defs(kind),
            features: Vec::new(),
        }
    }

    /// Index of the field called `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The value of field `name` in `feature` (`Null` when the field does not exist).
    pub fn value<'a>(&self, feature: &'a Feature, name: &str) -> &'a Value {
        static NULL: Value = Value::Null;
        self.field_index(name)
            .and_then(|i| feature.values.get(i))
            .unwrap_or(&NULL)
    }

    /// Bounding box of all features (None when empty).
    pub fn bounds(&self) -> Option<Rect<f64>> {
        let mut acc: Option<Rect<f64>> = None;
        for f in &self.features {
            if let Some(r) = f.geometry.bounding_rect() {
                acc = Some(match acc {
                    None => r,
                    Some(a) => Rect::new(
                        geo::coord! { x: a.min().x.min(r.min().x), y: a.min().y.min(r.min().y) },
                        geo::coord! { x: a.max().x.max(r.max().x), y: a.max().y.max(r.max().y) },
                    ),
                });
            }
        }
        acc
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// True when the layer has no features.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }
}

/// Check that `name` can be used as a layer (table) name.
pub fn valid_layer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with("gpkg")
        && !name.starts_with("rtree")
        && !name.starts_with("chaski_")
        && !name.starts_with("sqlite")
}
