//! Table 3 of the district report: water systems (JASS) by status, and the
//! villages with no operational system within [`WATER_RADIUS_M`] metres.
//!
//! Distances are in metres in the UTM zone of the district's box
//! ([`Projections::for_bounds`]), to the nearest operational system found by
//! the metric R-tree of [`SpatialIndex`], wherever that system lies (a system
//! across the district's border serves a village all the same). Partial and
//! down systems do not count as working; a system whose status is unknown
//! neither.

use super::{DistrictIndex, ReportError, Tally, VillagePoint, WATER_RADIUS_M};
use crate::travel::features::point_of;
use crate::travel::village_access::District;
use chaski_core::crs::Projections;
use chaski_core::domain::WaterStatus;
use chaski_core::index::SpatialIndex;
use chaski_core::{Feature, Layer};
use geo::BoundingRect;
use serde::Serialize;

/// Statuses in table order (`unknown` last).
pub const STATUSES: [&str; 4] = ["operational", "partial", "down", "unknown"];

/// Degrees added around a district's box to find the systems that may lie
/// within [`WATER_RADIUS_M`] of its villages (0.02° is over 2 km).
const MARGIN_DEG: f64 = 0.02;

/// Systems of one status in a district.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusRow {
    /// `operational`, `partial`, `down` or `unknown`.
    pub status: String,
    /// Systems.
    pub systems: usize,
    /// Households served, summed over the systems that say (None: none says).
    pub households_served: Option<i64>,
}

/// A village with no operational system within the radius.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VillageWithoutWater {
    /// Village code.
    pub code: String,
    /// Village name.
    pub name: String,
    /// Population, when known.
    pub population: Option<u64>,
    /// Metres to the nearest operational system (None: there is none).
    pub nearest_operational_m: Option<f64>,
}

/// Table 3.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaterTable {
    /// Whether the store has a `water_systems` layer (else the table is empty).
    pub available: bool,
    /// The radius, metres.
    pub radius_m: f64,
    /// Systems inside the district.
    pub systems: usize,
    /// Systems inside the district per status, in [`STATUSES`] order.
    pub by_status: Vec<StatusRow>,
    /// Villages of the district with no operational system within the radius.
    pub villages_without: Tally,
    /// Those villages, most populous first (unknown population last), then by code.
    pub villages: Vec<VillageWithoutWater>,
}

/// The water systems with their location, status and district.
pub(crate) struct Placed<'a> {
    layer: Option<&'a Layer>,
    systems: Vec<System>,
}

/// One located water system.
struct System {
    /// Index in the layer's features.
    feature: usize,
    /// Longitude, latitude.
    lonlat: (f64, f64),
    /// Index of its status in [`STATUSES`].
    status: usize,
    /// The district holding it.
    district: Option<usize>,
}

fn status_of(layer: &Layer, f: &Feature) -> usize {
    let status = layer
        .value(f, "status")
        .as_str()
        .and_then(|s| s.parse::<WaterStatus>().ok());
    match status {
        Some(WaterStatus::Operational) => 0,
        Some(WaterStatus::Partial) => 1,
        Some(WaterStatus::Down) => 2,
        None => 3,
    }
}

impl<'a> Placed<'a> {
    pub(crate) fn new(layer: Option<&'a Layer>, index: &DistrictIndex<'_>) -> Self {
        let systems = layer.map_or_else(Vec::new, |l| {
            l.features
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let p = point_of(&f.geometry)?;
                    Some(System {
                        feature: i,
                        lonlat: p,
                        status: status_of(l, f),
                        district: index.locate(p),
                    })
                })
                .collect()
        });
        Self { layer, systems }
    }

    /// Table 3 of district `d` (number `i`) and its villages.
    pub(crate) fn table(
        &self,
        d: &District,
        i: usize,
        villages: &[&VillagePoint],
        projections: &dyn Projections,
    ) -> Result<WaterTable, ReportError> {
        let mut by_status: Vec<StatusRow> = STATUSES
            .iter()
            .map(|s| StatusRow {
                status: (*s).to_owned(),
                systems: 0,
                households_served: None,
            })
            .collect();
        let Some(layer) = self.layer else {
            return Ok(WaterTable {
                available: false,
                radius_m: WATER_RADIUS_M,
                systems: 0,
                by_status,
                villages_without: Tally::default(),
                villages: Vec::new(),
            });
        };
        let mut systems = 0;
        for system in self.systems.iter().filter(|s| s.district == Some(i)) {
            systems += 1;
            let row = &mut by_status[system.status];
            row.systems += 1;
            let f = &layer.features[system.feature];
            if let Some(n) = layer.value(f, "households_served").as_i64() {
                row.households_served = Some(row.households_served.unwrap_or(0) + n);
            }
        }
        let nearest = self.nearest_operational(d, villages, projections)?;
        let mut without: Vec<(&VillagePoint, Option<f64>)> = villages
            .iter()
            .zip(nearest)
            .filter(|(_, m)| !m.is_some_and(|m| m <= WATER_RADIUS_M))
            .map(|(v, m)| (*v, m))
            .collect();
        without.sort_by(|a, b| {
            b.0.population
                .cmp(&a.0.population)
                .then_with(|| a.0.code.cmp(&b.0.code))
        });
        Ok(WaterTable {
            available: true,
            radius_m: WATER_RADIUS_M,
            systems,
            by_status,
            villages_without: Tally::of(without.iter().map(|(v, _)| *v)),
            villages: without
                .into_iter()
                .map(|(v, m)| VillageWithoutWater {
                    code: v.code.clone(),
                    name: v.name.clone(),
                    population: v.population,
                    nearest_operational_m: m.map(f64::round),
                })
                .collect(),
        })
    }

    /// Metres from each village to the nearest operational system near the
    /// district (None: none within the district's box and its margin, so
    /// none within the radius).
    fn nearest_operational(
        &self,
        d: &District,
        villages: &[&VillagePoint],
        projections: &dyn Projections,
    ) -> Result<Vec<Option<f64>>, ReportError> {
        let (Some(layer), Some(rect)) = (self.layer, d.polygons.bounding_rect()) else {
            return Ok(vec![None; villages.len()]);
        };
        let (lo, hi) = (rect.min(), rect.max());
        let near = |(x, y): (f64, f64)| {
            x >= lo.x - MARGIN_DEG
                && x <= hi.x + MARGIN_DEG
                && y >= lo.y - MARGIN_DEG
                && y <= hi.y + MARGIN_DEG
        };
        let mut working = Layer {
            features: Vec::new(),
            ..Layer::new(layer.name.clone(), layer.kind)
        };
        working.fields.clone_from(&layer.fields);
        for s in &self.systems {
            if s.status == 0 && near(s.lonlat) {
                let mut feature = layer.features[s.feature].clone();
                feature.geometry = geo::Geometry::Point(s.lonlat.into());
                working.features.push(feature);
            }
        }
        if working.features.is_empty() || villages.is_empty() {
            return Ok(vec![None; villages.len()]);
        }
        let crs = |source| ReportError::Crs {
            what: format!("water systems near district {}", d.code),
            source,
        };
        let projection = projections.for_bounds(&rect).map_err(crs)?;
        let index = SpatialIndex::build(&working, projection).map_err(crs)?;
        villages
            .iter()
            .map(|v| {
                index
                    .nearest(v.lonlat.0, v.lonlat.1, 1)
                    .map(|n| n.first().map(|&(_, m)| m))
                    .map_err(crs)
            })
            .collect()
    }
}
