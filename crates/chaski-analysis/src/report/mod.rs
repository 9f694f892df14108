//! The district report planners take to the municipality's participatory
//! budget: per district, its villages and population, the population beyond
//! 1, 2 and 4 hours on foot of any facility and of birth care, its water
//! systems and the villages without a working one within 1 km, and the
//! households at risk as protected aggregates. One computation
//! ([`Reporter`]) serves `chaski report` and `GET /api/districts/{code}/report`;
//! [`render`] writes it as CSV and printable HTML (JSON is its serde form).
//!
//! # What goes in
//!
//! [`ReportData::from_store`] reads the district polygons (the store's one
//! layer of districts, or the one named), the `communities`, `water_systems`
//! and every private household layer. The travel times are not computed
//! here: the caller hands over two searches of the shared pipeline
//! ([`crate::travel`], run on [`travel_options`]: every village, in layer
//! order), one from every facility and one from the facilities with birth
//! care ([`BIRTH_CARE`]), both with the walking scenario to the facility, or
//! says why a search could not be made (no DEM, no facility with birth care):
//! then that table says so instead of giving figures.
//!
//! # How villages, systems and households are placed
//!
//! By location: a point belongs to the first district (in layer order) whose
//! polygon holds it, border included, as `/api/villages/underserved?district=`
//! and `chaski catchments --districts` place villages. District codes stored
//! on villages (`ubigeo`) are not used to place them (72,388 of IGN's villages
//! have none, and limits change); the report counts the villages whose code
//! names another district.
//!
//! # Tables
//!
//! 1. Villages and population: the villages inside, their known population and
//!    how many have none (unknown is never 0: a population with no known
//!    village is empty).
//! 2. Access (any facility; birth care): villages and population reached
//!    within and beyond 60, 120 and 240 minutes, and those without a time
//!    (off the travel-time surface), counted by
//!    [`district_summary`].
//! 3. Water systems by status, and the villages with no operational system
//!    within [`WATER_RADIUS_M`] metres (distances in the UTM zone of the
//!    district through [`Projections`], with [`chaski_core::index::SpatialIndex`]); a system in a
//!    neighbouring district counts.
//! 4. Households: the total, households per risk level (derived without the
//!    violence risk) and with anaemia, malnutrition or danger signs, protected
//!    by [`households`].
//!
//! The report is the same for every caller: it never holds a household's
//! code, place or row.

pub mod households;
pub mod render;
pub mod water;

#[cfg(test)]
mod tests;

use crate::travel::cost::Direction;
use crate::travel::features::point_of;
use crate::travel::scenario::Scenario;
use crate::travel::village_access::{
    Count, District, DistrictAccess, Village, VillageAccess, district_summary,
};
use crate::travel::vocab::BirthCareFilter;
use crate::travel::{
    RunSettings, SourceFilter, TravelError, TravelInputs, TravelOptions, TravelResult,
    district_layer, district_polygons,
};
use chaski_core::crs::{CrsError, Projections};
use chaski_core::disclosure::Shown;
use chaski_core::store::{Store, StoreError};
use chaski_core::{Layer, LayerKind};
use geo::{BoundingRect, Intersects, Point};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

pub use households::HouseholdTable;
pub use water::WaterTable;

/// Time thresholds of the access tables, minutes: 1, 2 and 4 hours.
pub const MINUTES: [f64; 3] = [60.0, 120.0, 240.0];

/// A village is served by a water system within this distance, metres.
pub const WATER_RADIUS_M: f64 = 1000.0;

/// The facilities of the birth-care table: basic or complete emergency
/// obstetric care (`--birth-care basic`, `birth_care=basic`).
pub const BIRTH_CARE: BirthCareFilter = BirthCareFilter::Basic;

/// The travel-time options of the report's searches: every village of the
/// layer (those off the DEM as "outside the surface"), so the searches' village
/// tables line up with the villages layer.
pub fn travel_options() -> TravelOptions {
    TravelOptions {
        all_villages: true,
        ..TravelOptions::default()
    }
}

/// The report's two searches on `inputs` (prepared with [`travel_options`]):
/// walking to the facility from every facility, and from the facilities with
/// birth care ([`BIRTH_CARE`]). `chaski report` runs them; the server takes
/// the same searches from its cache.
pub fn run_searches(
    inputs: &TravelInputs,
) -> (
    Result<TravelResult, TravelError>,
    Result<TravelResult, TravelError>,
) {
    let scenario = Scenario::walking();
    let surface = match inputs.surface(&scenario) {
        Ok(s) => s,
        Err(e) => {
            let again = TravelError::Sources {
                what: "the travel surface".to_owned(),
                reason: e.to_string(),
            };
            return (Err(e), Err(again));
        }
    };
    let name = inputs.scenario_name(&scenario);
    let settings = RunSettings {
        direction: Direction::ToSource,
        max_minutes: None,
        neighbourhood: inputs.neighbourhood,
    };
    let any = inputs.run_on(
        &surface,
        &name,
        &inputs.facilities,
        &format!("layer '{}'", inputs.facilities_layer),
        settings,
    );
    let filter = SourceFilter::new(None, Some(BIRTH_CARE));
    let birth = inputs.run_on(
        &surface,
        &name,
        &filter.select(&inputs.facilities),
        &format!(
            "layer '{}' ({})",
            inputs.facilities_layer,
            filter.describe()
        ),
        settings,
    );
    (any, birth)
}

/// A report cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The store could not be read.
    #[error("{what}: {source}")]
    Store {
        /// What was being read.
        what: String,
        /// The store's error.
        source: StoreError,
    },
    /// The layer of districts cannot be chosen.
    #[error(transparent)]
    Districts(#[from] crate::travel::TravelError),
    /// No district has this code.
    #[error("no district with code '{code}' in layer '{layer}' (codes: {known})")]
    UnknownDistrict {
        /// The code asked for.
        code: String,
        /// The layer of districts.
        layer: String,
        /// Some codes of the layer.
        known: String,
    },
    /// Points could not be projected to metres.
    #[error("{what}: {source}")]
    Crs {
        /// What was being projected.
        what: String,
        /// The projection's error.
        source: CrsError,
    },
}

/// A vocabulary word of the report is not one of its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not one of {expected}")]
pub struct ReportVocabError {
    /// The value given.
    pub value: String,
    /// The words accepted.
    pub expected: &'static str,
}

/// Language of the HTML report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Spanish (default).
    #[default]
    Es,
    /// English.
    En,
}

impl Lang {
    /// `es` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es => "es",
            Self::En => "en",
        }
    }
}

impl FromStr for Lang {
    type Err = ReportVocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "es" | "spa" | "spanish" | "español" => Ok(Self::Es),
            "en" | "eng" | "english" | "inglés" => Ok(Self::En),
            _ => Err(ReportVocabError {
                value: s.to_owned(),
                expected: "es, en",
            }),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Format of a written report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Printable page (A4).
    Html,
    /// One long table.
    Csv,
    /// The report's serde form.
    Json,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Self::Html, Self::Csv, Self::Json];

    /// `html`, `csv` or `json` (also the file extension).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Html => "html",
            Self::Csv => "csv",
            Self::Json => "json",
        }
    }

    /// The media type of the format (UTF-8).
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Html => "text/html; charset=utf-8",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }
}

impl FromStr for Format {
    type Err = ReportVocabError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "html" => Ok(Self::Html),
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            _ => Err(ReportVocabError {
                value: s.to_owned(),
                expected: "html, csv, json",
            }),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One layer a report read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceLayer {
    /// Layer name.
    pub name: String,
    /// Layer kind.
    pub kind: String,
    /// Features (None for private layers: their count is not published).
    pub features: Option<usize>,
}

/// The layers of a report, read from a store.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// Name of the layer of districts.
    pub districts_layer: String,
    /// District polygons (longitude/latitude), in layer order.
    pub districts: Vec<District>,
    /// The villages (`communities`), when the store has them.
    pub villages: Option<Layer>,
    /// The water systems (`water_systems`), when the store has them.
    pub water: Option<Layer>,
    /// Every private household layer.
    pub households: Vec<Layer>,
    /// The store's data version.
    pub version: u64,
    /// What was read (and the facilities the searches start from).
    pub sources: Vec<SourceLayer>,
}

fn store_err(what: impl Into<String>) -> impl FnOnce(StoreError) -> ReportError {
    let what = what.into();
    move |source| ReportError::Store { what, source }
}

impl ReportData {
    /// Read the layers of a report from `store`: the districts of layer
    /// `districts` (else the store's one layer of districts; `option` names
    /// the option or parameter in errors), `communities`, `water_systems` and
    /// every household layer.
    pub fn from_store(
        store: &dyn Store,
        districts: Option<&str>,
        option: &'static str,
    ) -> Result<Self, ReportError> {
        let districts_layer = district_layer(store, districts, option)?;
        let infos = store
            .layers()
            .map_err(store_err("listing the store's layers"))?;
        let read = |name: &str| {
            store
                .read_layer(name)
                .map_err(store_err(format!("reading layer '{name}'")))
        };
        let layer = read(&districts_layer)?;
        let mut sources = vec![SourceLayer {
            name: districts_layer.clone(),
            kind: layer.kind.as_str().to_owned(),
            features: Some(layer.len()),
        }];
        let optional = |name: &str| -> Result<Option<Layer>, ReportError> {
            match infos.iter().find(|i| i.name == name) {
                Some(_) => read(name).map(Some),
                None => Ok(None),
            }
        };
        let villages = optional("communities")?;
        let water = optional("water_systems")?;
        let mut households = Vec::new();
        for info in &infos {
            if info.kind == LayerKind::Households {
                households.push(read(&info.name)?);
            }
        }
        for name in ["communities", "facilities", "water_systems"] {
            if let Some(i) = infos.iter().find(|i| i.name == name) {
                sources.push(SourceLayer {
                    name: i.name.clone(),
                    kind: i.kind.as_str().to_owned(),
                    features: Some(i.feature_count),
                });
            }
        }
        for h in &households {
            sources.push(SourceLayer {
                name: h.name.clone(),
                kind: h.kind.as_str().to_owned(),
                features: None,
            });
        }
        Ok(Self {
            districts_layer,
            districts: district_polygons(&layer),
            villages,
            water,
            households,
            version: store
                .version()
                .map_err(store_err("reading the data version"))?,
            sources,
        })
    }

    /// Index of the district with code `code` (exact, surrounding blanks
    /// ignored), or an error naming it and some codes of the layer.
    pub fn find(&self, code: &str) -> Result<usize, ReportError> {
        let code = code.trim();
        self.districts
            .iter()
            .position(|d| d.code == code)
            .ok_or_else(|| {
                let mut known: Vec<&str> = self
                    .districts
                    .iter()
                    .take(8)
                    .map(|d| d.code.as_str())
                    .collect();
                if self.districts.len() > 8 {
                    known.push("...");
                }
                ReportError::UnknownDistrict {
                    code: code.to_owned(),
                    layer: self.districts_layer.clone(),
                    known: known.join(", "),
                }
            })
    }
}

/// The district polygons, indexed by their boxes: a point belongs to the
/// first district (in layer order) whose polygon holds it, border included.
pub(crate) struct DistrictIndex<'a> {
    districts: &'a [District],
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl<'a> DistrictIndex<'a> {
    pub(crate) fn new(districts: &'a [District]) -> Self {
        let boxes = districts
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                let r = d.polygons.bounding_rect()?;
                Some(GeomWithData::new(
                    Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                    i,
                ))
            })
            .collect();
        Self {
            districts,
            tree: RTree::bulk_load(boxes),
        }
    }

    /// The district holding longitude/latitude `p`.
    pub(crate) fn locate(&self, (x, y): (f64, f64)) -> Option<usize> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let point = Point::new(x, y);
        self.tree
            .locate_in_envelope_intersecting(AABB::from_point([x, y]))
            .map(|e| e.data)
            .filter(|&i| self.districts[i].polygons.intersects(&point))
            .min()
    }
}

/// A village of the villages layer, in layer order (as the travel pipeline
/// lists them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VillagePoint {
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) ubigeo: String,
    pub(crate) population: Option<u64>,
    pub(crate) lonlat: (f64, f64),
}

fn village_points(layer: &Layer) -> Vec<VillagePoint> {
    let text = |f: &chaski_core::Feature, name: &str| layer.value(f, name).to_string();
    layer
        .features
        .iter()
        .filter_map(|f| {
            let lonlat = point_of(&f.geometry)?;
            Some(VillagePoint {
                code: text(f, "code"),
                name: text(f, "name"),
                ubigeo: text(f, "ubigeo").trim().to_owned(),
                population: layer
                    .value(f, "population")
                    .as_i64()
                    .and_then(|p| u64::try_from(p).ok()),
                lonlat,
            })
        })
        .collect()
}

/// Villages, their known population and how many have none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Tally {
    /// Villages.
    pub villages: usize,
    /// Sum of their known populations; None when none of them has one (and
    /// there is at least one village): unknown is not 0.
    pub population: Option<u64>,
    /// Villages among them without a known population.
    pub villages_without_population: usize,
}

impl From<&Count> for Tally {
    fn from(c: &Count) -> Self {
        Self {
            villages: c.villages,
            population: c.known_population(),
            villages_without_population: c.villages - c.with_population,
        }
    }
}

impl Tally {
    fn of<'v>(villages: impl IntoIterator<Item = &'v VillagePoint>) -> Self {
        let mut c = Count::default();
        for v in villages {
            c.villages += 1;
            if let Some(p) = v.population {
                c.population += p;
                c.with_population += 1;
            }
        }
        Self::from(&c)
    }
}

/// Table 1: the villages of the district.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Villages {
    /// Every village inside, with its known population.
    #[serde(flatten)]
    pub total: Tally,
    /// Villages inside whose stored district code (`ubigeo`) names another
    /// district.
    pub with_other_district_code: usize,
    /// Villages whose stored district code is this district's but that lie
    /// outside its polygon (counted where they lie).
    pub outside_with_this_code: usize,
}

/// One threshold of an access table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// The threshold, minutes.
    pub minutes: f64,
    /// Reached within it.
    pub within: Tally,
    /// Reached after it, or not reached at all (on the surface).
    pub beyond: Tally,
}

/// Table 2: access on foot to a set of facilities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessTable {
    /// The facilities searched from, in words (`all`, `basic or complete birth care`).
    pub facilities: String,
    /// Why there are no figures (no DEM, no such facility), when there are none.
    pub unavailable: Option<String>,
    /// Scenario of the search (`walking`).
    pub scenario: Option<String>,
    /// Facilities the search started from.
    pub sources: Option<usize>,
    /// Per threshold (60, 120, 240 minutes): within and beyond.
    pub bands: Vec<Band>,
    /// Villages without a time: off the travel-time surface (outside the DEM
    /// or on its nodata cells) or on an impassable cell. Never counted as
    /// within or beyond.
    pub without_time: Tally,
}

/// The report of one district. The same for every caller: no household
/// code, place or row, household figures protected ([`households`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DistrictReport {
    /// District code.
    pub code: String,
    /// District name.
    pub name: String,
    /// Layer of the district polygons.
    pub layer: String,
    /// Date of the report (`YYYY-MM-DD`, given by the caller).
    pub date: String,
    /// The store's data version.
    pub data_version: u64,
    /// The layers read.
    pub sources: Vec<SourceLayer>,
    /// The travel-time surface, in words (None without one).
    pub surface: Option<String>,
    /// Table 1.
    pub villages: Villages,
    /// Table 2, from every facility.
    pub any_facility: AccessTable,
    /// Table 2, from the facilities with birth care ([`BIRTH_CARE`]).
    pub birth_care: AccessTable,
    /// Table 3.
    pub water: WaterTable,
    /// Table 4.
    pub households: HouseholdTable,
}

/// One row of the index of `--all`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexRow {
    /// District code (also the report's file name).
    pub code: String,
    /// District name.
    pub name: String,
    /// Villages and population.
    pub villages: Tally,
    /// Population beyond 2 hours of any facility (None: unknown or no search).
    pub beyond_2h_any_facility: Option<Tally>,
    /// Population beyond 2 hours of birth care.
    pub beyond_2h_birth_care: Option<Tally>,
    /// Villages without an operational water system within 1 km.
    pub without_water: Option<Tally>,
    /// Households (protected as one table over every district); None when
    /// the store holds no household data.
    pub households: Option<Shown>,
}

/// The index of every district's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportIndex {
    /// Layer of the district polygons.
    pub layer: String,
    /// Date of the reports.
    pub date: String,
    /// The store's data version.
    pub data_version: u64,
    /// One row per district, in layer order.
    pub districts: Vec<IndexRow>,
    /// Households inside no district polygon (protected with the districts);
    /// None when the store holds no household data.
    pub households_outside_districts: Option<Shown>,
    /// Villages inside no district polygon.
    pub villages_outside_districts: Tally,
}

/// The two searches of a report: from every facility and from the
/// facilities with birth care ([`BIRTH_CARE`]), each a result of the shared
/// pipeline run on [`travel_options`], or why there is none.
pub struct Searches<'a> {
    /// From every facility.
    pub any_facility: Result<&'a TravelResult, String>,
    /// From the facilities with birth care.
    pub birth_care: Result<&'a TravelResult, String>,
}

/// Everything a report needs, prepared once for every district: villages,
/// water systems and households placed in districts, household tables
/// protected over all districts.
pub struct Reporter<'a> {
    data: &'a ReportData,
    searches: Searches<'a>,
    projections: &'a dyn Projections,
    villages: Vec<VillagePoint>,
    /// District of each village.
    village_district: Vec<Option<usize>>,
    water: water::Placed<'a>,
    households: households::Protected,
}

impl<'a> Reporter<'a> {
    /// Place everything and protect the household tables.
    pub fn new(
        data: &'a ReportData,
        searches: Searches<'a>,
        projections: &'a dyn Projections,
    ) -> Self {
        let index = DistrictIndex::new(&data.districts);
        let villages = data
            .villages
            .as_ref()
            .map(village_points)
            .unwrap_or_default();
        let village_district = villages.iter().map(|v| index.locate(v.lonlat)).collect();
        Self {
            water: water::Placed::new(data.water.as_ref(), &index),
            households: households::Protected::new(&data.households, &index),
            data,
            searches,
            projections,
            villages,
            village_district,
        }
    }

    /// The report of district `i` (as [`ReportData::find`] gives it), dated `date`.
    pub fn report(&self, i: usize, date: &str) -> Result<DistrictReport, ReportError> {
        let d = &self.data.districts[i];
        let inside: Vec<usize> = (0..self.villages.len())
            .filter(|&v| self.village_district[v] == Some(i))
            .collect();
        let villages = Villages {
            total: Tally::of(inside.iter().map(|&v| &self.villages[v])),
            with_other_district_code: inside
                .iter()
                .filter(|&&v| {
                    let u = &self.villages[v].ubigeo;
                    !u.is_empty() && *u != d.code
                })
                .count(),
            outside_with_this_code: (0..self.villages.len())
                .filter(|&v| {
                    self.village_district[v] != Some(i) && self.villages[v].ubigeo == d.code
                })
                .count(),
        };
        let surface = self.searches.any_facility.as_ref().ok().map(|r| {
            format!(
                "DEM on EPSG:{}, cells of {} m; {}; {} moves; to the facility",
                r.metric.epsg,
                r.metric.raster.cell_size().0,
                r.scenario,
                r.neighbourhood.moves()
            )
        });
        Ok(DistrictReport {
            code: d.code.clone(),
            name: d.name.clone(),
            layer: self.data.districts_layer.clone(),
            date: date.to_owned(),
            data_version: self.data.version,
            sources: self.data.sources.clone(),
            surface,
            any_facility: self.access(&self.searches.any_facility, "all", d, &inside),
            birth_care: self.access(
                &self.searches.birth_care,
                "basic or complete birth care",
                d,
                &inside,
            ),
            water: self.water.table(
                d,
                i,
                &inside
                    .iter()
                    .map(|&v| &self.villages[v])
                    .collect::<Vec<_>>(),
                self.projections,
            )?,
            households: self.households.table(i),
            villages,
        })
    }

    /// Table 2 of the villages `inside` district `d` from `search`.
    fn access(
        &self,
        search: &Result<&TravelResult, String>,
        facilities: &str,
        d: &District,
        inside: &[usize],
    ) -> AccessTable {
        let unavailable = |reason: String| AccessTable {
            facilities: facilities.to_owned(),
            unavailable: Some(reason),
            scenario: None,
            sources: None,
            bands: Vec::new(),
            without_time: Tally::default(),
        };
        let r = match search {
            Ok(r) => *r,
            Err(reason) => return unavailable(reason.clone()),
        };
        if r.access.len() != self.villages.len() {
            return unavailable(format!(
                "the search lists {} villages, the villages layer {}: search every village \
                 (all_villages)",
                r.access.len(),
                self.villages.len()
            ));
        }
        // Longitude/latitude as the villages' coordinates: district_summary
        // compares them with the district's polygon in the same CRS.
        let list: Vec<Village> = inside
            .iter()
            .map(|&v| {
                let p = &self.villages[v];
                Village {
                    code: p.code.clone(),
                    name: p.name.clone(),
                    population: p.population,
                    x: p.lonlat.0,
                    y: p.lonlat.1,
                }
            })
            .collect();
        let access: Vec<VillageAccess> = inside.iter().map(|&v| r.access[v].clone()).collect();
        let summary = match district_summary(std::slice::from_ref(d), &list, &access, &MINUTES) {
            Ok(s) => s,
            Err(e) => return unavailable(e.to_string()),
        };
        let a: &DistrictAccess = &summary.districts[0];
        debug_assert_eq!(a.total.villages, inside.len());
        AccessTable {
            facilities: facilities.to_owned(),
            unavailable: None,
            scenario: Some(r.scenario.clone()),
            sources: Some(r.used),
            bands: a
                .within
                .iter()
                .zip(&a.beyond_each)
                .map(|((t, within), (_, beyond))| Band {
                    minutes: *t,
                    within: within.into(),
                    beyond: beyond.into(),
                })
                .collect(),
            without_time: (&a.no_time).into(),
        }
    }

    /// The index of `reports` (one per district, in layer order).
    pub fn index(&self, reports: &[DistrictReport], date: &str) -> ReportIndex {
        let beyond_2h = |t: &AccessTable| {
            t.bands
                .iter()
                .find(|b| (b.minutes - 120.0).abs() < f64::EPSILON)
                .map(|b| b.beyond)
        };
        ReportIndex {
            layer: self.data.districts_layer.clone(),
            date: date.to_owned(),
            data_version: self.data.version,
            districts: reports
                .iter()
                .map(|r| IndexRow {
                    code: r.code.clone(),
                    name: r.name.clone(),
                    villages: r.villages.total,
                    beyond_2h_any_facility: beyond_2h(&r.any_facility),
                    beyond_2h_birth_care: beyond_2h(&r.birth_care),
                    without_water: r.water.available.then_some(r.water.villages_without),
                    households: r.households.available.then_some(r.households.households),
                })
                .collect(),
            households_outside_districts: (!self.data.households.is_empty())
                .then(|| self.households.outside()),
            villages_outside_districts: Tally::of(
                self.villages
                    .iter()
                    .zip(&self.village_district)
                    .filter(|(_, d)| d.is_none())
                    .map(|(v, _)| v),
            ),
        }
    }

    /// Number of districts.
    pub fn len(&self) -> usize {
        self.data.districts.len()
    }

    /// Whether there is no district.
    pub fn is_empty(&self) -> bool {
        self.data.districts.is_empty()
    }
}

/// The date (`YYYY-MM-DD`) of `unix_seconds` in Peru (UTC−5, no daylight
/// saving), for [`Reporter::report`]; the caller reads the clock.
pub fn peru_date(unix_seconds: i64) -> String {
    let days = (unix_seconds - 5 * 3600).div_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
