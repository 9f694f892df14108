//! The underserved layer: the villages beyond a travel time from care, with
//! their population, as a table (CSV), GeoJSON or a point layer (tiles).
//!
//! A village is underserved by a search when it was reached in more than
//! `minutes`, or not reached at all (a time limit, barriers); a village off
//! the surface or on an impassable cell has no time and is left out (the
//! answers of `/api/villages/underserved` count those apart). `chaski site`
//! writes it for the facilities with birth care and the siting threshold;
//! the server serves it as the tile layer `underserved`.
//!
//! Parameters: the places and their access, as a [`TravelResult`] holds
//! them (`&result.places`, `&result.access` of a
//! [`TravelResult`](super::TravelResult)), and the threshold in minutes.
//! Returns the villages in the order of the places, each with its minutes
//! (`None` when not reached), status, nearest source and population.
//!
//! ```
//! use chaski_analysis::travel::underserved::{population, underserved};
//! use chaski_analysis::travel::village_access::{AccessStatus, Village, VillageAccess};
//! use chaski_analysis::travel::Place;
//!
//! let place = |code: &str, people| Place {
//!     village: Village { population: people, ..Village::new(code, "", 0.0, 0.0) },
//!     lonlat: (-74.0, -13.0),
//! };
//! let access = |minutes: Option<f64>, status| VillageAccess {
//!     cell: Some((0, 0)), minutes, source: None, facility: None, status,
//! };
//! use AccessStatus::*;
//! // 10, 50 and 200 minutes, one no source reaches, one off the surface.
//! let places = [place("A", Some(80)), place("B", None), place("C", Some(40)),
//!               place("D", Some(15)), place("E", Some(99))];
//! let access = [access(Some(10.0), Reached), access(Some(50.0), Reached),
//!               access(Some(200.0), Reached), access(None, NotReached),
//!               access(None, OutsideSurface)];
//! let beyond = underserved(&places, &access, 60.0);
//! let codes: Vec<&str> = beyond.iter().map(|u| u.code.as_str()).collect();
//! assert_eq!(codes, ["C", "D"]);
//! assert_eq!(beyond[1].minutes, None);
//! assert_eq!(population(&beyond), Some(55));
//! ```

use super::places::Place;
use super::village_access::{AccessStatus, VillageAccess};
use super::vocab::BirthCareFilter;
use chaski_core::Layer;
use chaski_core::layer::{Feature, LayerKind};
use chaski_core::value::{Field, FieldType, Value};
use geo::{Geometry, point};
use serde_json::{Value as Json, json};

/// One underserved village.
#[derive(Debug, Clone, PartialEq)]
pub struct Underserved {
    /// Village code.
    pub code: String,
    /// Village name.
    pub name: String,
    /// Population, when known.
    pub population: Option<u64>,
    /// Minutes to the nearest source (None: not reached).
    pub minutes: Option<f64>,
    /// `reached` (beyond the threshold) or `not reached`.
    pub status: AccessStatus,
    /// Code of the nearest source, when reached.
    pub facility: Option<String>,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
}

/// The villages of `result` beyond `minutes` or not reached (see the
/// [module documentation](self)).
pub fn underserved(places: &[Place], access: &[VillageAccess], minutes: f64) -> Vec<Underserved> {
    places
        .iter()
        .zip(access)
        .filter(|(_, a)| match a.status {
            AccessStatus::Reached => a.minutes.is_some_and(|m| m > minutes),
            AccessStatus::NotReached => true,
            AccessStatus::OutsideSurface | AccessStatus::Impassable => false,
        })
        .map(|(p, a)| Underserved {
            code: p.village.code.clone(),
            name: p.village.name.clone(),
            population: p.village.population,
            minutes: a.minutes,
            status: a.status,
            facility: a.facility.clone(),
            lonlat: p.lonlat,
        })
        .collect()
}

/// Columns of [`table`].
pub const COLUMNS: [&str; 8] = [
    "code",
    "name",
    "population",
    "minutes",
    "status",
    "facility",
    "lon",
    "lat",
];

/// The villages as table rows under [`COLUMNS`] (empty cells for unknowns).
pub fn table(villages: &[Underserved]) -> Vec<Vec<String>> {
    villages
        .iter()
        .map(|u| {
            vec![
                u.code.clone(),
                u.name.clone(),
                u.population.map(|p| p.to_string()).unwrap_or_default(),
                u.minutes.map(|m| format!("{m:.1}")).unwrap_or_default(),
                u.status.reason().to_owned(),
                u.facility.clone().unwrap_or_default(),
                u.lonlat.0.to_string(),
                u.lonlat.1.to_string(),
            ]
        })
        .collect()
}

/// The villages as a GeoJSON FeatureCollection of points, with the
/// threshold and the population total (`null` when no population is known).
pub fn geojson(villages: &[Underserved], minutes: f64) -> Json {
    let features: Vec<Json> = villages
        .iter()
        .map(|u| {
            json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [u.lonlat.0, u.lonlat.1]},
                "properties": {
                    "code": u.code,
                    "name": u.name,
                    "population": u.population,
                    "minutes": u.minutes,
                    "status": u.status.reason(),
                    "facility": u.facility,
                },
            })
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "minutes": minutes,
        "villages": villages.len(),
        "population": population(villages),
        "features": features,
    })
}

/// The population of the villages whose population is known (None when
/// none is).
pub fn population(villages: &[Underserved]) -> Option<u64> {
    villages
        .iter()
        .filter_map(|u| u.population)
        .fold(None, |t, p| Some(t.unwrap_or(0) + p))
}

/// The villages as a point layer called `name` (longitude, latitude) with
/// the fields `code`, `name`, `population`, `minutes` (one decimal; Null
/// when not reached), `status` and `facility`.
pub fn layer(villages: &[Underserved], name: &str) -> Layer {
    let mut l = Layer::new(name, LayerKind::Communities);
    l.fields = vec![
        Field::new("code", FieldType::Text),
        Field::new("name", FieldType::Text),
        Field::new("population", FieldType::Int),
        Field::new("minutes", FieldType::Real),
        Field::new("status", FieldType::Text),
        Field::new("facility", FieldType::Text),
    ];
    let opt_text = |t: &Option<String>| t.clone().map_or(Value::Null, Value::Text);
    l.features = villages
        .iter()
        .enumerate()
        .map(|(i, u)| Feature {
            fid: i as i64 + 1,
            geometry: Geometry::Point(point!(x: u.lonlat.0, y: u.lonlat.1)),
            values: vec![
                Value::Text(u.code.clone()),
                Value::Text(u.name.clone()),
                u.population
                    .and_then(|p| i64::try_from(p).ok())
                    .map_or(Value::Null, Value::Int),
                u.minutes
                    .map_or(Value::Null, |m| Value::Real((m * 10.0).round() / 10.0)),
                Value::Text(u.status.reason().to_owned()),
                opt_text(&u.facility),
            ],
        })
        .collect();
    l
}

/// The villages of `inputs` beyond `minutes` of a facility with birth care
/// (basic or complete) on `surface` (of `scenario`), travelling to the
/// facility: the underserved layer `chaski site` writes beside its answer.
pub fn beyond_birth_care(
    inputs: &super::TravelInputs,
    surface: &super::cost::CostSurface,
    scenario: &super::scenario::Scenario,
    minutes: f64,
) -> Result<Vec<Underserved>, super::TravelError> {
    let filter = super::SourceFilter::new(None, Some(BirthCareFilter::Basic));
    let result = inputs.run_on(
        surface,
        &inputs.scenario_name(scenario),
        &filter.select(&inputs.facilities),
        &format!(
            "layer '{}' ({})",
            inputs.facilities_layer,
            filter.describe()
        ),
        super::RunSettings {
            direction: super::cost::Direction::ToSource,
            max_minutes: None,
            neighbourhood: inputs.neighbourhood,
        },
    )?;
    Ok(underserved(&result.places, &result.access, minutes))
}
