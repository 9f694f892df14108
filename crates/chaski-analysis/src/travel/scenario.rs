//! Travel scenarios: who travels, how, and in which season. Parsed by callers
//! from TOML (every field has a default, so a file only lists what it changes).
//!
//! Speeds start from Tobler's hiking function (Tobler 1993, see
//! [`super::cost::tobler_kmh`]), which describes walking on a footpath; every
//! other number is a multiplier of it or a vehicle speed. Values marked
//! *assumption* are starting points to be calibrated with local field data
//! (travel times reported by community health agents, GPS tracks); none comes
//! from a measurement in the study area.
//!
//! ```
//! use chaski_analysis::travel::scenario::{Mode, Scenario};
//! let s: Scenario = serde_json::from_str(r#"{"name": "lluvias", "fords_open": false, "season_walk_factor": 0.8}"#).unwrap();
//! assert_eq!(s.mode, Mode::Walking);
//! assert!(!s.fords_open);
//! assert_eq!(s.off_path_factor, 0.6); // default, Tobler 1993
//! assert!(s.validate().is_ok());
//! assert_eq!(Scenario::preset("rainy_season"), Some(Scenario::rainy_season()));
//! ```

use super::vocab::Preset;
use serde::{Deserialize, Serialize};

/// A scenario parameter is out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("scenario '{scenario}': {name} = {value} is invalid ({reason})")]
pub struct ScenarioError {
    /// Scenario name.
    pub scenario: String,
    /// Parameter.
    pub name: String,
    /// Its value.
    pub value: f64,
    /// The rule it breaks.
    pub reason: &'static str,
}

/// Class of a path or road burned into a grid cell (0 = none). Where lines of
/// several classes meet in one cell the higher code wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum RouteClass {
    /// Footpath (camino peatonal, sendero).
    Footpath = 1,
    /// Mule track (camino de herradura).
    MuleTrack = 2,
    /// Unpaved motorable track (trocha carrozable).
    TrackRoad = 3,
    /// Gravel road (afirmado).
    GravelRoad = 4,
    /// Paved road (asfaltado).
    PavedRoad = 5,
}

impl RouteClass {
    /// Every class.
    pub const ALL: [RouteClass; 5] = [
        Self::Footpath,
        Self::MuleTrack,
        Self::TrackRoad,
        Self::GravelRoad,
        Self::PavedRoad,
    ];

    /// Cell code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The class of a cell code; None for 0 and unknown codes.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// True for classes vehicles use.
    pub fn is_road(self) -> bool {
        matches!(self, Self::TrackRoad | Self::GravelRoad | Self::PavedRoad)
    }
}

/// Class of a water cell (0 = none). Bridges and fords (higher codes) override rivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum WaterClass {
    /// River or stream: a barrier.
    River = 1,
    /// Navigable river: travelled by boat when the scenario has a boat speed, else a barrier.
    NavigableRiver = 2,
    /// Bridge: crosses a river.
    Bridge = 3,
    /// Ford: crosses a river when fords are open.
    Ford = 4,
}

impl WaterClass {
    /// Every class.
    pub const ALL: [WaterClass; 4] = [Self::River, Self::NavigableRiver, Self::Bridge, Self::Ford];

    /// Cell code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The class of a cell code; None for 0 and unknown codes.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// How the traveller moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// On foot everywhere, roads included. Default.
    #[default]
    Walking,
    /// In a vehicle on roads at the road-class speed, on foot elsewhere.
    #[serde(alias = "motorized")]
    Motorised,
}

/// Walking-speed multipliers on each route class (1.0 = Tobler's footpath speed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PathFactors {
    /// Footpath: 1.0 (Tobler's function is for footpaths).
    pub footpath: f64,
    /// Mule track: 1.0 (assumption: a beaten track walks like a footpath).
    pub mule_track: f64,
    /// Unpaved motorable track: 1.0.
    pub track_road: f64,
    /// Gravel road: 1.0.
    pub gravel_road: f64,
    /// Paved road: 1.0.
    pub paved_road: f64,
}

impl Default for PathFactors {
    fn default() -> Self {
        Self {
            footpath: 1.0,
            mule_track: 1.0,
            track_road: 1.0,
            gravel_road: 1.0,
            paved_road: 1.0,
        }
    }
}

impl PathFactors {
    /// The factor of `class`.
    pub fn get(&self, class: RouteClass) -> f64 {
        match class {
            RouteClass::Footpath => self.footpath,
            RouteClass::MuleTrack => self.mule_track,
            RouteClass::TrackRoad => self.track_road,
            RouteClass::GravelRoad => self.gravel_road,
            RouteClass::PavedRoad => self.paved_road,
        }
    }
}

/// Vehicle speeds in km/h by road class, used by [`Mode::Motorised`].
///
/// Assumptions for mountain roads in the Peruvian Andes, of the order of the
/// design speeds of Peru's road manual (MTC, *Manual de Carreteras: Diseño
/// Geométrico DG-2018*) for steep terrain, to be calibrated.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoadSpeeds {
    /// Unpaved motorable track: 15 km/h.
    pub track_road: f64,
    /// Gravel road: 30 km/h.
    pub gravel_road: f64,
    /// Paved road: 50 km/h.
    pub paved_road: f64,
}

impl Default for RoadSpeeds {
    fn default() -> Self {
        Self {
            track_road: 15.0,
            gravel_road: 30.0,
            paved_road: 50.0,
        }
    }
}

impl RoadSpeeds {
    /// Speed on `class`; None for classes vehicles do not use.
    pub fn get(&self, class: RouteClass) -> Option<f64> {
        match class {
            RouteClass::TrackRoad => Some(self.track_road),
            RouteClass::GravelRoad => Some(self.gravel_road),
            RouteClass::PavedRoad => Some(self.paved_road),
            RouteClass::Footpath | RouteClass::MuleTrack => None,
        }
    }
}

/// Walking-speed multiplier off path for one land-cover class code.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandCoverFactor {
    /// Class code in the land-cover raster.
    pub code: i64,
    /// Multiplier of off-path walking speed; 0 makes the class impassable (lakes, glaciers).
    pub factor: f64,
}

/// Ranges (uniform, `[low, high]`) of the parameters drawn in Monte Carlo runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonteCarlo {
    /// Number of runs: 100.
    pub runs: u32,
    /// Seed of the random generator: 1.
    pub seed: u64,
    /// Multiplier of the walker factor: [0.8, 1.2] (assumption: ±20 % between walkers).
    pub walker_factor: [f64; 2],
    /// Off-path factor: [0.5, 0.7] (assumption, around Tobler's 0.6).
    pub off_path_factor: [f64; 2],
    /// Multiplier of vehicle speeds: [0.7, 1.1] (assumption).
    pub road_speed_factor: [f64; 2],
}

impl Default for MonteCarlo {
    fn default() -> Self {
        Self {
            runs: 100,
            seed: 1,
            walker_factor: [0.8, 1.2],
            off_path_factor: [0.5, 0.7],
            road_speed_factor: [0.7, 1.1],
        }
    }
}

/// A travel scenario. Defaults (the [`Scenario::walking`] scenario) are given per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Name: `walking`.
    pub name: String,
    /// Mode: walking.
    pub mode: Mode,
    /// Multiplier of every walking speed for this traveller: 1.0 (a healthy adult
    /// used to the terrain, the population Tobler's function was fitted on).
    pub walker_factor: f64,
    /// Walking off paths and roads: 0.6 (Tobler 1993: "off path travel, multiply by 0.6").
    pub off_path_factor: f64,
    /// Walking on paths and roads, by class (1.0 each).
    pub path_factors: PathFactors,
    /// Vehicle speeds on roads ([`Mode::Motorised`] only).
    pub road_speeds_kmh: RoadSpeeds,
    /// Off-path multipliers by land-cover class: none (all 1.0).
    pub land_cover: Vec<LandCoverFactor>,
    /// Multiplier for land-cover codes not in the table and for cells without a class: 1.0.
    pub land_cover_default: f64,
    /// Fords can be crossed: true (false in the rainy season).
    pub fords_open: bool,
    /// Walking multiplier on a ford cell: 0.5 (assumption: wading is about half speed).
    pub ford_factor: f64,
    /// Multiplier of all walking speeds for the season: 1.0 (rainy season 0.8, assumption: mud).
    pub season_walk_factor: f64,
    /// Multiplier of vehicle speeds on unpaved roads for the season: 1.0 (rainy season 0.7, assumption).
    pub season_unpaved_factor: f64,
    /// Boat speed on navigable rivers in km/h: none (navigable rivers are barriers).
    pub boat_speed_kmh: Option<f64>,
    /// A road crossing a river cell crosses on a bridge: true (a road over a river
    /// without a mapped bridge almost always has one).
    pub roads_bridge_rivers: bool,
    /// Steepest slope (rise over run) walked; steeper moves are refused: none
    /// (Tobler's function already slows steep moves to a crawl).
    pub max_slope: Option<f64>,
    /// Monte Carlo parameter ranges.
    pub monte_carlo: MonteCarlo,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::walking()
    }
}

impl Scenario {
    /// A built-in scenario by name (or a short word of [`Preset`]).
    pub fn preset(name: &str) -> Option<Self> {
        name.parse::<Preset>().ok().map(Preset::scenario)
    }

    /// On foot (all defaults).
    pub fn walking() -> Self {
        Self {
            name: "walking".to_owned(),
            mode: Mode::Walking,
            walker_factor: 1.0,
            off_path_factor: 0.6,
            path_factors: PathFactors::default(),
            road_speeds_kmh: RoadSpeeds::default(),
            land_cover: Vec::new(),
            land_cover_default: 1.0,
            fords_open: true,
            ford_factor: 0.5,
            season_walk_factor: 1.0,
            season_unpaved_factor: 1.0,
            boat_speed_kmh: None,
            roads_bridge_rivers: true,
            max_slope: None,
            monte_carlo: MonteCarlo::default(),
        }
    }

    /// Vehicles on roads at the class speed, walking elsewhere.
    pub fn motorised() -> Self {
        Self {
            name: "motorised".to_owned(),
            mode: Mode::Motorised,
            ..Self::walking()
        }
    }

    /// Rainy season (December–March in the Andes): fords closed, walking 0.8
    /// and unpaved roads 0.7 of their dry-season speed (assumptions).
    pub fn rainy_season() -> Self {
        Self {
            name: "rainy_season".to_owned(),
            fords_open: false,
            season_walk_factor: 0.8,
            season_unpaved_factor: 0.7,
            ..Self::walking()
        }
    }

    /// A woman in labour walking with company: walker factor 0.7 (assumption, to
    /// be calibrated; no published walking speed for labouring women on mountain
    /// paths was found to base it on).
    pub fn pregnant_woman() -> Self {
        Self {
            name: "pregnant_woman".to_owned(),
            walker_factor: 0.7,
            ..Self::walking()
        }
    }

    /// A patient carried on a stretcher by relays of bearers: walker factor 0.5
    /// (assumption, to be calibrated with community stretcher-transfer records).
    pub fn stretcher() -> Self {
        Self {
            name: "stretcher".to_owned(),
            walker_factor: 0.5,
            ..Self::walking()
        }
    }

    /// Check every parameter (positive finite factors and speeds, ordered ranges).
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let err = |name: &str, value: f64, reason: &'static str| ScenarioError {
            scenario: self.name.clone(),
            name: name.to_owned(),
            value,
            reason,
        };
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(err(name, v, "must be positive and finite"))
            }
        };
        positive("walker_factor", self.walker_factor)?;
        positive("off_path_factor", self.off_path_factor)?;
        for c in RouteClass::ALL {
            positive("path_factors", self.path_factors.get(c))?;
            if let Some(v) = self.road_speeds_kmh.get(c) {
                positive("road_speeds_kmh", v)?;
            }
        }
        for lc in &self.land_cover {
            if !(lc.factor.is_finite() && lc.factor >= 0.0) {
                return Err(err(
                    "land_cover.factor",
                    lc.factor,
                    "must be zero or positive",
                ));
            }
        }
        positive("land_cover_default", self.land_cover_default)?;
        positive("ford_factor", self.ford_factor)?;
        positive("season_walk_factor", self.season_walk_factor)?;
        positive("season_unpaved_factor", self.season_unpaved_factor)?;
        if let Some(b) = self.boat_speed_kmh {
            positive("boat_speed_kmh", b)?;
        }
        if let Some(m) = self.max_slope {
            positive("max_slope", m)?;
        }
        let mc = &self.monte_carlo;
        for (name, [lo, hi]) in [
            ("monte_carlo.walker_factor", mc.walker_factor),
            ("monte_carlo.off_path_factor", mc.off_path_factor),
            ("monte_carlo.road_speed_factor", mc.road_speed_factor),
        ] {
            positive(name, lo)?;
            positive(name, hi)?;
            if lo > hi {
                return Err(err(name, lo, "low end above high end"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_named() {
        for name in Preset::ALL.map(Preset::name) {
            let s = Scenario::preset(name).unwrap();
            assert_eq!(s.name, name);
            s.validate().unwrap();
        }
        assert!(Scenario::preset("flying").is_none());
    }

    #[test]
    fn toml_overrides_defaults() {
        let s: Scenario = toml::from_str(
            r#"
            name = "dry motorised"
            mode = "motorized"
            boat_speed_kmh = 8.0
            [road_speeds_kmh]
            paved_road = 70.0
            [[land_cover]]
            code = 40
            factor = 0.3
            [monte_carlo]
            runs = 10
            "#,
        )
        .unwrap();
        assert_eq!(s.mode, Mode::Motorised);
        assert!((s.road_speeds_kmh.paved_road - 70.0).abs() < 1e-12);
        assert!((s.road_speeds_kmh.gravel_road - 30.0).abs() < 1e-12);
        assert_eq!(
            s.land_cover,
            vec![LandCoverFactor {
                code: 40,
                factor: 0.3
            }]
        );
        assert_eq!(s.monte_carlo.runs, 10);
        assert_eq!(s.monte_carlo.seed, 1);
        assert_eq!(s.boat_speed_kmh, Some(8.0));
        s.validate().unwrap();
        assert!(toml::from_str::<Scenario>("walkr_factor = 1.0").is_err());
    }

    #[test]
    fn validation_rejects_bad_values() {
        let mut s = Scenario::walking();
        s.walker_factor = 0.0;
        assert_eq!(s.validate().unwrap_err().name, "walker_factor");
        let mut s = Scenario::walking();
        s.monte_carlo.off_path_factor = [0.7, 0.5];
        assert!(s.validate().is_err());
        let mut s = Scenario::walking();
        s.boat_speed_kmh = Some(f64::NAN);
        assert!(s.validate().is_err());
    }

    #[test]
    fn class_codes_round_trip() {
        for c in RouteClass::ALL {
            assert_eq!(RouteClass::from_code(c.code()), Some(c));
        }
        for c in WaterClass::ALL {
            assert_eq!(WaterClass::from_code(c.code()), Some(c));
        }
        assert_eq!(RouteClass::from_code(0), None);
        assert_eq!(WaterClass::from_code(9), None);
    }
}
