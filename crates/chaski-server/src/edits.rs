//! What-if edits read from the body of `POST /api/whatif`: a GeoJSON
//! FeatureCollection whose features are edits, by `properties.edit`:
//!
//! - `bridge`: a LineString across a river: the rivers it crosses become
//!   passable along it, at the speed of its `class` (default `footpath`);
//! - `path`: a LineString with an optional `class`: `footpath` (default),
//!   `mule_track`, `track_road`, `gravel_road`, `paved_road` or `ford`;
//! - `facility`: a Point with a `category` (e.g. `I-3`) and optional
//!   `birth_care` (`none`, `basic`, `complete`), `code` and `name`;
//! - `remove_facility`: the `code` of a facility to close (no geometry needed).
//!
//! Run parameters may be members of the FeatureCollection (`scenario` or
//! `preset`, `category`, `birth_care`, `direction`, `moves`). Malformed edits
//! are 400s naming the feature index and field (wrong geometry type, unknown
//! class or category, more than [`MAX_EDITS`] edits); a body over
//! [`MAX_BODY_BYTES`] is a 413.

use crate::error::ApiError;
use crate::params::doc::{BIRTH_CARE, DIRECTION, PRESET, Words, described};
use chaski_analysis::travel::scenario::{RouteClass, WaterClass};
use chaski_analysis::travel::{Edit, Facility};
use chaski_core::Layer;
use chaski_core::domain::{BirthCare, Category};
use chaski_core::layer::{Feature, LayerKind};
use chaski_core::value::{Field, FieldType, Value as CoreValue};
use geo::{Geometry, LineString, Point};
use serde_json::Value;
use utoipa::openapi::schema::Object;

/// Most edits in one what-if.
pub const MAX_EDITS: usize = 100;
/// Largest request body, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Name of the tile layer of the edits.
pub const EDITS_LAYER: &str = "whatif_edits";

type ApiResult<T> = Result<T, ApiError>;

/// An edit as parsed from the body, with what the edits layer shows of it.
pub struct ParsedEdit {
    /// The edit for the engine.
    pub(crate) edit: Edit,
    /// `bridge`, `path`, `facility` or `remove_facility`.
    pub(crate) kind: &'static str,
    /// Path class or facility category.
    pub(crate) class: String,
    /// Code given (or made up for a facility).
    pub(crate) code: String,
    /// Name given.
    pub(crate) name: String,
    /// Geometry shown in the edits layer.
    pub(crate) geometry: Option<Geometry<f64>>,
}

fn bad(index: usize, field: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("body: feature {index}: {field}: {reason}"))
}

/// Route and water classes of a path `class`.
pub(crate) fn path_class(class: &str) -> Option<(RouteClass, Option<WaterClass>)> {
    Some(match class {
        "" | "footpath" => (RouteClass::Footpath, None),
        "mule_track" => (RouteClass::MuleTrack, None),
        "track_road" => (RouteClass::TrackRoad, None),
        "gravel_road" => (RouteClass::GravelRoad, None),
        "paved_road" => (RouteClass::PavedRoad, None),
        "ford" => (RouteClass::Footpath, Some(WaterClass::Ford)),
        _ => return None,
    })
}

const PATH_CLASSES: &str = "footpath, mule_track, track_road, gravel_road, paved_road or ford";

fn position(index: usize, p: &geojson::Position) -> ApiResult<(f64, f64)> {
    let c = p.as_slice();
    match (c.first(), c.get(1)) {
        (Some(&lon), Some(&lat))
            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
        {
            Ok((lon, lat))
        }
        (Some(lon), Some(lat)) => Err(bad(
            index,
            "geometry",
            format!("({lon}, {lat}) is not a longitude/latitude"),
        )),
        _ => Err(bad(
            index,
            "geometry",
            "a position needs longitude and latitude",
        )),
    }
}

fn geometry_name(g: Option<&geojson::Geometry>) -> &'static str {
    match g.map(|g| &g.value) {
        None => "none",
        Some(geojson::GeometryValue::Point { .. }) => "a Point",
        Some(geojson::GeometryValue::MultiPoint { .. }) => "a MultiPoint",
        Some(geojson::GeometryValue::LineString { .. }) => "a LineString",
        Some(geojson::GeometryValue::MultiLineString { .. }) => "a MultiLineString",
        Some(geojson::GeometryValue::Polygon { .. }) => "a Polygon",
        Some(geojson::GeometryValue::MultiPolygon { .. }) => "a MultiPolygon",
        Some(geojson::GeometryValue::GeometryCollection { .. }) => "a GeometryCollection",
    }
}

fn parse_edit(index: usize, f: &geojson::Feature) -> ApiResult<ParsedEdit> {
    let prop = |k: &str| -> ApiResult<Option<String>> {
        match f.properties.as_ref().and_then(|p| p.get(k)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(bad(
                index,
                &format!("properties.{k}"),
                format!("{other} is not a string"),
            )),
        }
    };
    let edit = prop("edit")?.ok_or_else(|| {
        bad(
            index,
            "properties.edit",
            "missing (bridge, path, facility or remove_facility)",
        )
    })?;
    let class = prop("class")?.unwrap_or_default().to_ascii_lowercase();
    let code = prop("code")?.unwrap_or_default();
    let name = prop("name")?.unwrap_or_default();
    let line = || -> ApiResult<LineString<f64>> {
        match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::LineString { coordinates }) => {
                if coordinates.len() < 2 {
                    return Err(bad(
                        index,
                        "geometry",
                        "a LineString needs two or more positions",
                    ));
                }
                let pts = coordinates
                    .iter()
                    .map(|p| position(index, p))
                    .collect::<ApiResult<Vec<_>>>()?;
                Ok(LineString::from(pts))
            }
            _ => Err(bad(
                index,
                "geometry",
                format!(
                    "a {edit} must be a LineString, not {}",
                    geometry_name(f.geometry.as_ref())
                ),
            )),
        }
    };
    let parsed = match edit.as_str() {
        "bridge" | "path" => {
            let (route, water) = if edit == "bridge" {
                path_class(&class)
                    .filter(|(_, w)| w.is_none())
                    .map(|(route, _)| (route, Some(WaterClass::Bridge)))
                    .ok_or_else(|| {
                        bad(
                            index,
                            "properties.class",
                            format!(
                                "'{class}' is not a class of bridge deck (footpath, mule_track, track_road, gravel_road or paved_road)"
                            ),
                        )
                    })?
            } else {
                path_class(&class).ok_or_else(|| {
                    bad(
                        index,
                        "properties.class",
                        format!("'{class}' is not a path class ({PATH_CLASSES})"),
                    )
                })?
            };
            let l = line()?;
            ParsedEdit {
                edit: Edit::Line {
                    line: l.clone(),
                    route,
                    water,
                },
                kind: if edit == "bridge" { "bridge" } else { "path" },
                class: if class.is_empty() {
                    "footpath".to_owned()
                } else {
                    class
                },
                code,
                name,
                geometry: Some(Geometry::LineString(l)),
            }
        }
        "facility" => {
            let lonlat = match f.geometry.as_ref().map(|g| &g.value) {
                Some(geojson::GeometryValue::Point { coordinates }) => {
                    position(index, coordinates)?
                }
                _ => {
                    return Err(bad(
                        index,
                        "geometry",
                        format!(
                            "a facility must be a Point, not {}",
                            geometry_name(f.geometry.as_ref())
                        ),
                    ));
                }
            };
            let category_text = prop("category")?.unwrap_or_default();
            if category_text.is_empty() {
                return Err(bad(
                    index,
                    "properties.category",
                    "missing (e.g. I-1, I-2, I-3, I-4, II-1)",
                ));
            }
            let category: Category = category_text
                .parse()
                .map_err(|e| bad(index, "properties.category", e))?;
            let birth_care = match prop("birth_care")? {
                None => None,
                Some(b) if b.is_empty() => None,
                Some(b) => Some(
                    b.parse::<BirthCare>()
                        .map_err(|e| bad(index, "properties.birth_care", e))?,
                ),
            };
            let code = if code.is_empty() {
                format!("WHATIF-{}", index + 1)
            } else {
                code
            };
            ParsedEdit {
                edit: Edit::AddFacility(Facility {
                    code: code.clone(),
                    name: name.clone(),
                    category: category.as_str().to_owned(),
                    birth_care,
                    lonlat,
                }),
                kind: "facility",
                class: category.as_str().to_owned(),
                code,
                name,
                geometry: Some(Geometry::Point(Point::new(lonlat.0, lonlat.1))),
            }
        }
        "remove_facility" => {
            if code.is_empty() {
                return Err(bad(
                    index,
                    "properties.code",
                    "missing: the code of the facility to remove",
                ));
            }
            ParsedEdit {
                edit: Edit::RemoveFacility(code.clone()),
                kind: "remove_facility",
                class: String::new(),
                code,
                name,
                geometry: None,
            }
        }
        other => {
            return Err(bad(
                index,
                "properties.edit",
                format!("'{other}' is not bridge, path, facility or remove_facility"),
            ));
        }
    };
    Ok(parsed)
}

/// Run parameters given as members of the FeatureCollection, (name, value).
pub type Members = Vec<(String, String)>;

/// The edits of a body and its run parameters (FeatureCollection members).
pub fn parse_body(body: &[u8]) -> ApiResult<(Vec<ParsedEdit>, Members)> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(format!(
            "body: {} bytes, more than the {MAX_BODY_BYTES} allowed",
            body.len()
        )));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::BadRequest(format!("body is not UTF-8: {e}")))?;
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| ApiError::BadRequest(format!("body: {e}")))?;
    let geojson::GeoJson::FeatureCollection(fc) = gj else {
        return Err(ApiError::BadRequest(
            "body: must be a GeoJSON FeatureCollection of edits".to_owned(),
        ));
    };
    if fc.features.is_empty() {
        return Err(ApiError::BadRequest(
            "body: no edits (features with properties.edit bridge, path, facility or remove_facility)"
                .to_owned(),
        ));
    }
    if fc.features.len() > MAX_EDITS {
        return Err(ApiError::BadRequest(format!(
            "body: {} edits, more than the {MAX_EDITS} allowed",
            fc.features.len()
        )));
    }
    let mut members = Vec::new();
    for (k, v) in fc.foreign_members.iter().flatten() {
        let name = if k == "scenario" {
            "preset"
        } else {
            k.as_str()
        };
        if !["preset", "category", "birth_care", "direction", "moves"].contains(&name) {
            continue;
        }
        match v {
            Value::String(s) => members.push((name.to_owned(), s.clone())),
            Value::Number(n) if name == "moves" => members.push((name.to_owned(), n.to_string())),
            Value::Null => {}
            other => {
                return Err(ApiError::BadRequest(format!(
                    "body: member '{k}': {other} is not a string"
                )));
            }
        }
    }
    let edits = fc
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| parse_edit(i, f))
        .collect::<ApiResult<Vec<_>>>()?;
    // A code names one facility: two new facilities, or two closures, with
    // the same code are a mistake in the body, not two edits.
    for (i, e) in edits.iter().enumerate() {
        if matches!(e.kind, "facility" | "remove_facility")
            && let Some(first) = edits[..i]
                .iter()
                .position(|o| o.kind == e.kind && o.code == e.code)
        {
            return Err(bad(
                i,
                "properties.code",
                format!("'{}' is the code of feature {first} too", e.code),
            ));
        }
    }
    Ok((edits, members))
}

/// The body of `POST /api/whatif` as the API description shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "FeatureCollection",
    "scenario": "walking",
    "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-74.06, -12.96]},
         "properties": {"edit": "facility", "category": "I-3", "birth_care": "basic", "name": "P.S. nuevo"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[-74.10, -12.95], [-74.09, -12.94]]},
         "properties": {"edit": "path", "class": "mule_track"}}
    ]
}))]
pub struct WhatIfBody {
    /// `FeatureCollection`.
    #[serde(rename = "type")]
    #[schema(pattern = "^FeatureCollection$")]
    pub kind: String,
    /// The edits (1 to 100).
    #[schema(min_items = 1, max_items = 100)]
    pub features: Vec<EditFeature>,
    /// Travel scenario (alias `preset`), as the query parameter.
    #[schema(schema_with = preset_schema)]
    pub scenario: Option<String>,
    /// Facility categories searched from, as the query parameter.
    pub category: Option<String>,
    /// Birth care of the facilities searched from, as the query parameter.
    #[schema(schema_with = birth_care_schema)]
    pub birth_care: Option<String>,
    /// `to` or `from` the facility, as the query parameter.
    #[schema(schema_with = direction_schema)]
    pub direction: Option<String>,
}

/// An edit.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EditFeature {
    /// `Feature`.
    #[serde(rename = "type")]
    #[schema(pattern = "^Feature$")]
    pub kind: String,
    /// A LineString (`bridge`, `path`), a Point (`facility`) or none (`remove_facility`).
    pub geometry: Option<serde_json::Value>,
    /// What the edit is.
    pub properties: EditProperties,
}

/// The properties of an edit.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EditProperties {
    /// The kind of edit.
    #[schema(schema_with = edit_schema)]
    pub edit: String,
    /// Path class (`bridge`: the class of its deck; default `footpath`).
    #[schema(schema_with = class_schema)]
    pub class: Option<String>,
    /// `facility`: its MINSA category (e.g. `I-3`).
    pub category: Option<String>,
    /// `facility`: its birth care.
    #[schema(schema_with = facility_birth_care_schema)]
    pub birth_care: Option<String>,
    /// `facility`: its code; `remove_facility`: the code of the facility to close.
    pub code: Option<String>,
    /// Its name.
    pub name: Option<String>,
}

/// `properties.edit`, as the API description lists it.
pub(crate) const EDIT_KINDS: Words = Words {
    words: &["bridge", "path", "facility", "remove_facility"],
    // Known kinds fail on something else than `properties.edit` (the geometry here).
    accepts: |w| {
        let body = serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": null, "properties": {"edit": w, "code": "X", "category": "I-1"}}
        ]});
        match parse_body(body.to_string().as_bytes()) {
            Ok(_) => true,
            Err(e) => !e.to_string().contains("properties.edit"),
        }
    },
};

/// `properties.class`, as the API description lists it.
pub(crate) const PATH_CLASSES_WORDS: Words = Words {
    words: &[
        "footpath",
        "mule_track",
        "track_road",
        "gravel_road",
        "paved_road",
        "ford",
    ],
    accepts: |w| path_class(w).is_some(),
};

/// `properties.birth_care` of a new facility, as the API description lists it.
pub(crate) const FACILITY_BIRTH_CARE: Words = Words {
    words: &["none", "basic", "complete"],
    accepts: |w| w.parse::<BirthCare>().is_ok(),
};

fn edit_schema() -> Object {
    described(&EDIT_KINDS, "The kind of edit.")
}
fn class_schema() -> Object {
    described(
        &PATH_CLASSES_WORDS,
        "Path class (`bridge`: the class of its deck, not `ford`; default `footpath`).",
    )
}
fn facility_birth_care_schema() -> Object {
    described(&FACILITY_BIRTH_CARE, "`facility`: its birth care.")
}
fn preset_schema() -> Object {
    described(
        &PRESET,
        "Travel scenario (alias `preset`), as the query parameter.",
    )
}
fn birth_care_schema() -> Object {
    described(
        &BIRTH_CARE,
        "Birth care of the facilities searched from, as the query parameter.",
    )
}
fn direction_schema() -> Object {
    described(
        &DIRECTION,
        "`to` or `from` the facility, as the query parameter.",
    )
}

/// The `whatif_edits` layer.
pub fn edits_layer(edits: &[ParsedEdit]) -> Layer {
    let mut layer = Layer::new(EDITS_LAYER, LayerKind::Paths);
    layer.fields = vec![
        Field::new("index", FieldType::Int),
        Field::new("edit", FieldType::Text),
        Field::new("class", FieldType::Text),
        Field::new("code", FieldType::Text),
        Field::new("name", FieldType::Text),
    ];
    for (i, e) in edits.iter().enumerate() {
        let Some(g) = &e.geometry else { continue };
        layer.features.push(Feature {
            fid: i as i64 + 1,
            geometry: g.clone(),
            values: vec![
                CoreValue::Int(i as i64),
                CoreValue::Text(e.kind.to_owned()),
                CoreValue::Text(e.class.clone()),
                CoreValue::Text(e.code.clone()),
                CoreValue::Text(e.name.clone()),
            ],
        });
    }
    layer
}
