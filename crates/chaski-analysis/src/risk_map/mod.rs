//! What a printed risk map shows, gathered from the store under the access
//! rules of the household layer: the content `chaski print` and
//! `GET /maps/risk.pdf` hand to `chaski-print`, which lays it out and renders
//! it.
//!
//! # What goes in
//!
//! [`MapSource::read`] reads the store once (communities, facilities, water
//! systems, paths, roads, rivers, districts and the household layer); each
//! [`MapSource::gather`] then builds the [`RiskMap`] of one [`MapArea`] (a
//! community, a CHA sector or a facility's area) for one caller's
//! [`Access`]. The travel times are not computed here: the caller hands over
//! a search of the shared pipeline ([`crate::travel`], walking to the
//! facility, every village: `chaski print` runs it, the server takes it from
//! its cache), whose surface also gives the relief; and, optionally, the
//! spatial-scan clusters over the caller's households
//! ([`cluster_options`], run by the caller on [`MapSource::visible_households`]).
//!
//! # Who sees what
//!
//! The rules are [`chaski_core::auth`]'s, applied through [`Visibility`]:
//!
//! - **Household points** (codes, marks) only for the roles that see
//!   household records (admin; CHA and facility within their scope), and only
//!   the households of the area the caller may see. The marks are read from
//!   the values [`Visibility::values`] gives: without the violence grant,
//!   `violence_risk` is gone and `risk_level` is derived as if it were
//!   unknown. The violence risk therefore shows only as
//!   [`HouseholdMarks::priority`] ("visita prioritaria": risk level *alto* as
//!   the caller may see it), never as a mark of its own.
//! - **Everyone else** (public, analyst) gets no household point and no code:
//!   each community's label carries its household count as
//!   [`chaski_core::household::community_counts`] publishes it (suppressed
//!   under 5, complementary suppression, rounded to 5), the figures of
//!   `/api/households/summary`.
//! - **Clusters** ("Zona de riesgo") for the roles that may ask for clusters
//!   (never the public): significant scan clusters (p ≤ 0.05) of 5
//!   households or more, outline only, never their members.
//!
//! # The frame
//!
//! [`RiskMap::focus`] is what the page must show: the area's communities and
//! the households the caller sees there (a facility's area also the
//! facility). [`RiskMap::context`] is wider (the focus grown by its own size,
//! at least [`CONTEXT_MARGIN_M`] on each side): lines, water systems,
//! facilities and relief are gathered over it so a page of any shape around
//! the focus is filled.

#[cfg(test)]
mod tests;

use crate::clusters::{ClusterOptions, Clusters, Method};
use crate::travel::features::point_of;
use crate::travel::village_access::District;
use crate::travel::{TravelResult, district_polygons};
use chaski_core::auth::{Access, Role, Visibility};
use chaski_core::disclosure::Shown;
use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::store::{Store, StoreError};
use chaski_core::value::Value;
use geo::{Contains, Geometry, Point};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// The context of a map extends at least this far beyond its focus, metres.
pub const CONTEXT_MARGIN_M: f64 = 1_500.0;

/// The smallest focus, metres on a side: a community with one household
/// still gets a readable neighbourhood.
pub const MIN_FOCUS_M: f64 = 400.0;

/// Largest side of the relief grid, in samples.
pub const MAX_RELIEF_SAMPLES: usize = 400;

/// Clusters shown are those with a p-value at most this.
pub const CLUSTER_ALPHA: f64 = 0.05;

/// Metres per degree of latitude (mean), for sizes of frames only.
const M_PER_DEG: f64 = 111_195.0;

/// Household layer read by default.
pub const DEFAULT_HOUSEHOLD_LAYER: &str = "households";

/// A map cannot be gathered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RiskMapError {
    /// The store could not be read.
    #[error("{what}: {source}")]
    Store {
        /// What was being read.
        what: String,
        /// The store's error.
        source: StoreError,
    },
    /// The store has no layer the map needs.
    #[error("the store has no {kind} layer (import one with `chaski import FILE --layer {kind}`)")]
    MissingLayer {
        /// Kind of layer missing.
        kind: LayerKind,
    },
    /// No community, sector or facility has this code.
    #[error("no {what} with code '{code}' ({known})")]
    UnknownArea {
        /// `community`, `CHA sector` or `facility`.
        what: &'static str,
        /// The code asked for.
        code: String,
        /// Some codes that exist, or why there are none.
        known: String,
    },
    /// No district has this code or name.
    #[error("no district '{key}' in layer '{layer}' ({known})")]
    UnknownDistrict {
        /// The code or name asked for.
        key: String,
        /// The layer of districts.
        layer: String,
        /// Some codes of the layer.
        known: String,
    },
    /// The store has no layer of district polygons, needed for an atlas.
    #[error("an atlas needs a layer of district polygons: {0}")]
    NoDistricts(String),
    /// A vocabulary word is not one of its words.
    #[error("'{value}' is not {expected}")]
    Vocabulary {
        /// The value given.
        value: String,
        /// The words accepted.
        expected: &'static str,
    },
}

fn store_err(what: impl Into<String>) -> impl FnOnce(StoreError) -> RiskMapError {
    let what = what.into();
    move |source| RiskMapError::Store { what, source }
}

/// The area a map is printed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MapArea {
    /// A community (centro poblado), by code.
    Community(String),
    /// A CHA sector, by code.
    Sector(String),
    /// The area of a health facility (its communities), by RENIPRESS code.
    Facility(String),
}

/// The words naming the kind of a map's area: the options `--community`,
/// `--sector` and `--facility` of `chaski print`, the query parameters of
/// `GET /maps/risk.pdf`.
pub const AREA_KINDS: [&str; 3] = ["community", "sector", "facility"];

const AREA_EXPECTED: &str = "community:CODE, sector:CODE or facility:CODE";

impl MapArea {
    /// The area of kind `kind` (one of [`AREA_KINDS`], or the Spanish
    /// `comunidad`, `establecimiento`) and code `code` (trimmed, not empty):
    /// the one parser of an area, for the command line and HTTP.
    ///
    /// ```
    /// use chaski_analysis::risk_map::MapArea;
    /// assert_eq!(MapArea::new("community", " DEMO-CP0001 ").unwrap(),
    ///            MapArea::Community("DEMO-CP0001".into()));
    /// assert!(MapArea::new("village", "X").is_err());
    /// assert!(MapArea::new("sector", "  ").is_err());
    /// ```
    pub fn new(kind: &str, code: &str) -> Result<Self, RiskMapError> {
        let code = code.trim();
        let bad = || RiskMapError::Vocabulary {
            value: format!("{kind}:{code}"),
            expected: AREA_EXPECTED,
        };
        if code.is_empty() {
            return Err(bad());
        }
        match kind.trim().to_ascii_lowercase().as_str() {
            "community" | "comunidad" => Ok(Self::Community(code.to_owned())),
            "sector" => Ok(Self::Sector(code.to_owned())),
            "facility" | "establecimiento" => Ok(Self::Facility(code.to_owned())),
            _ => Err(bad()),
        }
    }

    /// The code of the area.
    pub fn code(&self) -> &str {
        match self {
            Self::Community(c) | Self::Sector(c) | Self::Facility(c) => c,
        }
    }

    /// `community`, `sector` or `facility` (the word of [`fmt::Display`] and of file names).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Community(_) => "community",
            Self::Sector(_) => "sector",
            Self::Facility(_) => "facility",
        }
    }

    /// A file name for the area's map: `KIND-CODE` with anything but ASCII
    /// letters, digits, `-` and `_` replaced by `_`.
    ///
    /// ```
    /// use chaski_analysis::risk_map::MapArea;
    /// assert_eq!(MapArea::Community("DEMO-CP0001".into()).file_stem(), "community-DEMO-CP0001");
    /// assert_eq!(MapArea::Sector("S 1/2".into()).file_stem(), "sector-S_1_2");
    /// ```
    pub fn file_stem(&self) -> String {
        let code: String = self
            .code()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}-{code}", self.kind())
    }
}

impl fmt::Display for MapArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.code())
    }
}

impl FromStr for MapArea {
    type Err = RiskMapError;
    /// `community:CODE`, `sector:CODE` or `facility:CODE`.
    ///
    /// ```
    /// use chaski_analysis::risk_map::MapArea;
    /// let a: MapArea = "sector:DEMO-CP0001-S1".parse().unwrap();
    /// assert_eq!(a, MapArea::Sector("DEMO-CP0001-S1".into()));
    /// assert_eq!(a.to_string().parse::<MapArea>().unwrap(), a);
    /// assert!("village:X".parse::<MapArea>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, code) = s.split_once(':').ok_or_else(|| RiskMapError::Vocabulary {
            value: s.to_owned(),
            expected: AREA_EXPECTED,
        })?;
        Self::new(kind, code)
    }
}

/// What the pages of an atlas are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AtlasBy {
    /// One page per community of the district.
    #[default]
    Community,
    /// One page per CHA sector with households in the district's communities.
    Sector,
}

impl FromStr for AtlasBy {
    type Err = RiskMapError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "community" | "communities" => Ok(Self::Community),
            "sector" | "sectors" => Ok(Self::Sector),
            _ => Err(RiskMapError::Vocabulary {
                value: s.to_owned(),
                expected: "community or sector",
            }),
        }
    }
}

/// A code and a name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Named {
    /// Code.
    pub code: String,
    /// Name (may be empty).
    pub name: String,
}

/// The fields of a map's title block.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MapTitle {
    /// The community (for a community map; for a sector, its main community).
    pub community: Option<Named>,
    /// The CHA sector (sector maps).
    pub sector: Option<String>,
    /// The CHA's code, when the caller sees the sector's households (never a name).
    pub cha: Option<String>,
    /// The facility (nearest on foot, or the facility of a facility map).
    pub facility: Option<Named>,
    /// The district holding the focus, when the store has district polygons.
    pub district: Option<Named>,
}

/// A community on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapCommunity {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
    /// One of the communities the map is for.
    pub in_area: bool,
    /// Households as the public may see them (maps without household rights).
    pub households: Option<Shown>,
    /// Walking minutes to the nearest facility, when the search reached it.
    pub minutes: Option<f64>,
}

/// A health facility on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapFacility {
    /// RENIPRESS code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Category (I-1 ... III-E), as stored.
    pub category: String,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
}

/// Working state of a water system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaterState {
    /// Operational.
    Operational,
    /// Partially working.
    Partial,
    /// Not working.
    Down,
    /// Not recorded.
    Unknown,
}

/// A water system on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapWaterSystem {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// State.
    pub state: WaterState,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
}

/// What a line is, as the map draws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineKind {
    /// A river.
    River,
    /// A stream.
    Stream,
    /// A road (any class).
    Road,
    /// A mule track.
    MuleTrack,
    /// A footpath.
    Footpath,
    /// A bridge (a piece of path across water).
    Bridge,
    /// A ford.
    Ford,
}

/// A line on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapLine {
    /// What it is.
    pub kind: LineKind,
    /// Longitude, latitude vertices.
    pub points: Vec<(f64, f64)>,
}

/// A household the caller may see, as the map marks it. Codes only, never names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one flag per mark of the legend, each drawn independently"
)]
pub struct HouseholdMarks {
    /// A pregnant woman lives there.
    pub pregnant: bool,
    /// A child under 5 lives there.
    pub child_under5: bool,
    /// Anaemia or malnutrition.
    pub anaemia_malnutrition: bool,
    /// Danger signs seen.
    pub danger_signs: bool,
    /// Visita prioritaria: the risk level the caller may see is *alto* (for a
    /// caller with the violence grant this counts the violence risk too; for
    /// any other it never does).
    pub priority: bool,
}

impl HouseholdMarks {
    /// No risk flagged: none of the four flags.
    pub fn none_flagged(&self) -> bool {
        !(self.pregnant || self.child_under5 || self.anaemia_malnutrition || self.danger_signs)
    }
}

/// A household point.
#[derive(Debug, Clone, PartialEq)]
pub struct MapHousehold {
    /// Household code.
    pub code: String,
    /// Longitude, latitude.
    pub lonlat: (f64, f64),
    /// What the map marks.
    pub marks: HouseholdMarks,
}

/// The walking route from the map's community to its facility.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRoute {
    /// The facility reached.
    pub facility: Named,
    /// Walking minutes (walking scenario, to the facility).
    pub minutes: f64,
    /// Longitude, latitude vertices, from the community to the facility.
    pub points: Vec<(f64, f64)>,
}

/// A cluster outline ("Zona de riesgo").
#[derive(Debug, Clone, PartialEq)]
pub struct MapCluster {
    /// Outline, longitude/latitude, closed.
    pub ring: Vec<(f64, f64)>,
    /// Households in the cluster, as it may be published.
    pub households: Shown,
}

/// Elevations on a regular longitude/latitude grid (row 0 north), NaN where
/// there is no data.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliefGrid {
    /// West, south, east, north edges of the grid (cell edges), degrees.
    pub bounds: [f64; 4],
    /// Columns.
    pub cols: usize,
    /// Rows.
    pub rows: usize,
    /// Elevations in metres, row-major from the north-west cell.
    pub values: Vec<f32>,
}

/// The visit schedule printed on a CHA sector's map: the sector's households
/// due a visit ([`crate::monitoring::visits::due_list`]), for callers who see
/// them.
#[derive(Debug, Clone, PartialEq)]
pub struct MapDueList {
    /// The day of the schedule (`YYYY-MM-DD`).
    pub as_of: String,
    /// Days after which an at-risk household is due.
    pub every: u32,
    /// The due households, never visited first, then the longest since.
    pub households: Vec<crate::monitoring::visits::DueHousehold>,
}

/// Everything one printed map shows, in longitude/latitude. See the
/// [module documentation](self).
#[derive(Debug, Clone, PartialEq)]
pub struct RiskMap {
    /// What was asked for.
    pub area: MapArea,
    /// The title block's fields.
    pub title: MapTitle,
    /// What the page must show: west, south, east, north.
    pub focus: [f64; 4],
    /// Where context was gathered: west, south, east, north.
    pub context: [f64; 4],
    /// Communities in the context.
    pub communities: Vec<MapCommunity>,
    /// Facilities in the context (and the route's facility, wherever it is).
    pub facilities: Vec<MapFacility>,
    /// Water systems in the context.
    pub water_systems: Vec<MapWaterSystem>,
    /// Rivers, streams, roads and paths crossing the context.
    pub lines: Vec<MapLine>,
    /// The area's households, in code order, when the caller may see
    /// household points; None otherwise (the map shows aggregates only).
    pub households: Option<Vec<MapHousehold>>,
    /// The walking route from the community to the nearest facility.
    pub route: Option<MapRoute>,
    /// Cluster outlines over the caller's households.
    pub clusters: Vec<MapCluster>,
    /// Elevations over the context.
    pub relief: Option<ReliefGrid>,
    /// The store's data version.
    pub data_version: u64,
    /// Where the data comes from, in words.
    pub sources: Vec<String>,
    /// The sector's visit schedule (sector maps, callers who see its
    /// households; [`MapSource::due_visits`]); None otherwise.
    pub due: Option<MapDueList>,
}

impl RiskMap {
    /// Whether the map shows household points (the page is then marked
    /// confidential).
    pub fn shows_households(&self) -> bool {
        self.households.as_ref().is_some_and(|h| !h.is_empty())
    }

    /// Centre of the focus, longitude/latitude.
    pub fn centre(&self) -> (f64, f64) {
        (
            f64::midpoint(self.focus[0], self.focus[2]),
            f64::midpoint(self.focus[1], self.focus[3]),
        )
    }
}

/// The spatial scan the map's clusters come from: households with anaemia,
/// malnutrition or danger signs (any), 999 replicates, seed 1997 (the
/// options of the `clusters` tile layer).
pub fn cluster_options() -> ClusterOptions {
    ClusterOptions {
        flags: "anaemia,malnutrition,danger_signs".to_owned(),
        method: Method::Scan,
        replicates: 999,
        seed: 1997,
        ..ClusterOptions::default()
    }
}

/// The layers a map is drawn from, read once.
#[derive(Debug, Clone)]
pub struct MapSource {
    communities: Layer,
    facilities: Vec<Layer>,
    water: Vec<Layer>,
    lines: Vec<Layer>,
    districts: Option<Layer>,
    households: Option<Layer>,
    /// Households per community as the public may see them.
    counts: BTreeMap<String, Shown>,
    version: u64,
    sources: Vec<String>,
}

/// Text of a field, trimmed; None when empty.
fn text<'a>(layer: &Layer, f: &'a Feature, field: &str) -> Option<&'a str> {
    match layer.value(f, field) {
        Value::Text(t) if !t.trim().is_empty() => Some(t.trim()),
        _ => None,
    }
}

fn owned_text(layer: &Layer, f: &Feature, field: &str) -> String {
    text(layer, f, field).unwrap_or_default().to_owned()
}

impl MapSource {
    /// Read the layers of `store`: every layer of the kinds a map draws (the
    /// communities layer named `communities`, else the store's only one), the
    /// districts (the only boundaries layer, or the one named `districts`)
    /// and the household layer `households` (when the store has one).
    pub fn read(store: &dyn Store, households: &str) -> Result<Self, RiskMapError> {
        let infos = store
            .layers()
            .map_err(store_err("listing the store's layers"))?;
        let read = |name: &str| {
            store
                .read_layer(name)
                .map_err(store_err(format!("reading layer '{name}'")))
        };
        let of_kind = |kind: LayerKind| -> Vec<&str> {
            infos
                .iter()
                .filter(|i| i.kind == kind)
                .map(|i| i.name.as_str())
                .collect()
        };
        let pick = |kind: LayerKind, preferred: &str| -> Option<String> {
            let names = of_kind(kind);
            if names.contains(&preferred) {
                Some(preferred.to_owned())
            } else {
                names.first().map(|n| (*n).to_owned())
            }
        };
        let communities = match pick(LayerKind::Communities, "communities") {
            Some(n) => read(&n)?,
            None => {
                return Err(RiskMapError::MissingLayer {
                    kind: LayerKind::Communities,
                });
            }
        };
        let read_all = |kind: LayerKind| -> Result<Vec<Layer>, RiskMapError> {
            of_kind(kind).into_iter().map(read).collect()
        };
        let facilities = read_all(LayerKind::Facilities)?;
        let water = read_all(LayerKind::WaterSystems)?;
        let mut lines = read_all(LayerKind::Rivers)?;
        lines.extend(read_all(LayerKind::Roads)?);
        lines.extend(read_all(LayerKind::Paths)?);
        let districts = match pick(LayerKind::Boundaries, "districts") {
            Some(n) => Some(read(&n)?),
            None => None,
        };
        let households = if infos
            .iter()
            .any(|i| i.name == households && i.kind.is_private())
        {
            Some(read(households)?)
        } else {
            None
        };
        let counts = community_counts_of(store)?;
        let version = store
            .version()
            .map_err(store_err("reading the store's data version"))?;
        let mut sources = vec![format!(
            "{} ({} communities)",
            communities.name,
            communities.features.len()
        )];
        for l in facilities.iter().chain(&water).chain(&lines) {
            sources.push(format!("{} ({})", l.name, l.features.len()));
        }
        Ok(Self {
            communities,
            facilities,
            water,
            lines,
            districts,
            households,
            counts,
            version,
            sources,
        })
    }

    /// The households of the household layer `access` may see, as it may see
    /// them ([`Visibility::apply`]): what the caller runs [`cluster_options`]
    /// on. None when the store has no household layer or the role may not ask
    /// for clusters.
    pub fn visible_households(&self, access: &Access) -> Option<Layer> {
        let layer = self.households.as_ref()?;
        if !access.role.may_ask_clusters() {
            return None;
        }
        Some(Visibility::new(access, layer).apply(layer))
    }

    /// The areas of an atlas of district `key` (code or name): its
    /// communities (by location: the first district polygon holding the
    /// point) or the CHA sectors with households in them, in code order.
    pub fn atlas(&self, key: &str, by: AtlasBy) -> Result<(Named, Vec<MapArea>), RiskMapError> {
        let layer = self.districts.as_ref().ok_or_else(|| {
            RiskMapError::NoDistricts(
                "the store has no boundaries layer (import one with `chaski import distritos.geojson --layer districts`)"
                    .to_owned(),
            )
        })?;
        let districts = district_polygons(layer);
        let key = key.trim();
        let i = districts
            .iter()
            .position(|d| d.code == key)
            .or_else(|| {
                let folded = key.to_lowercase();
                let by_name: Vec<usize> = (0..districts.len())
                    .filter(|&i| districts[i].name.to_lowercase() == folded)
                    .collect();
                (by_name.len() == 1).then(|| by_name[0])
            })
            .ok_or_else(|| RiskMapError::UnknownDistrict {
                key: key.to_owned(),
                layer: layer.name.clone(),
                known: districts
                    .iter()
                    .take(12)
                    .map(|d| format!("{} {}", d.code, d.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let d = &districts[i];
        let inside: BTreeSet<String> = self
            .communities
            .features
            .iter()
            .filter(|f| {
                point_of(&f.geometry)
                    .is_some_and(|(x, y)| first_district(&districts, x, y) == Some(i))
            })
            .filter_map(|f| text(&self.communities, f, "code").map(str::to_owned))
            .collect();
        let areas = match by {
            AtlasBy::Community => inside.into_iter().map(MapArea::Community).collect(),
            AtlasBy::Sector => {
                let mut sectors = BTreeSet::new();
                if let Some(h) = &self.households {
                    for f in &h.features {
                        if text(h, f, "community").is_some_and(|c| inside.contains(c))
                            && let Some(s) = text(h, f, "cha_sector")
                        {
                            sectors.insert(s.to_owned());
                        }
                    }
                }
                sectors.into_iter().map(MapArea::Sector).collect()
            }
        };
        Ok((
            Named {
                code: d.code.clone(),
                name: d.name.clone(),
            },
            areas,
        ))
    }

    fn community_by_code(&self, code: &str) -> Option<&Feature> {
        self.communities
            .features
            .iter()
            .find(|f| text(&self.communities, f, "code") == Some(code))
    }

    fn some_codes(layer: &Layer, field: &str) -> String {
        let codes: BTreeSet<&str> = layer
            .features
            .iter()
            .filter_map(|f| text(layer, f, field))
            .collect();
        if codes.is_empty() {
            return format!("layer '{}' has none", layer.name);
        }
        let mut list: Vec<&str> = codes.iter().take(8).copied().collect();
        if codes.len() > 8 {
            list.push("...");
        }
        format!("e.g. {}", list.join(", "))
    }

    fn facility_by_code(&self, code: &str) -> Option<MapFacility> {
        self.facilities.iter().find_map(|l| {
            l.features
                .iter()
                .find(|f| text(l, f, "code") == Some(code))
                .and_then(|f| facility_of(l, f))
        })
    }

    /// The map of `area` for `access`. See the [module documentation](self).
    ///
    /// `travel` is a walking search to the facilities over every village
    /// (None: no route, no minutes, no relief); `clusters` the scan of
    /// [`cluster_options`] over [`MapSource::visible_households`] (ignored for
    /// roles that may not ask for clusters).
    pub fn gather(
        &self,
        access: &Access,
        area: &MapArea,
        travel: Option<&TravelResult>,
        clusters: Option<&Clusters>,
    ) -> Result<RiskMap, RiskMapError> {
        let visibility = self
            .households
            .as_ref()
            .map(|l| (l, Visibility::new(access, l)));
        let sees = access.role.sees_households();
        // The area's communities, and which households belong to it.
        let (area_communities, belongs): (Vec<String>, Belongs) = match area {
            MapArea::Community(code) => {
                if self.community_by_code(code).is_none() {
                    return Err(RiskMapError::UnknownArea {
                        what: "community",
                        code: code.clone(),
                        known: Self::some_codes(&self.communities, "code"),
                    });
                }
                let c = code.clone();
                (
                    vec![code.clone()],
                    Box::new(move |l, f| text(l, f, "community") == Some(c.as_str())),
                )
            }
            MapArea::Sector(code) => {
                let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                if let Some(h) = &self.households {
                    for f in &h.features {
                        if text(h, f, "cha_sector") == Some(code.as_str())
                            && let Some(c) = text(h, f, "community")
                        {
                            *counts.entry(c.to_owned()).or_default() += 1;
                        }
                    }
                }
                if counts.is_empty() {
                    return Err(RiskMapError::UnknownArea {
                        what: "CHA sector",
                        code: code.clone(),
                        // Sector codes come from household records: listed only
                        // to callers who may see them.
                        known: match &self.households {
                            None => "the store has no household layer".to_owned(),
                            Some(h) if sees => Self::some_codes(h, "cha_sector"),
                            Some(_) => "no household is recorded in it".to_owned(),
                        },
                    });
                }
                // The main community first.
                let mut list: Vec<(String, usize)> = counts.into_iter().collect();
                list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let c = code.clone();
                (
                    list.into_iter().map(|(c, _)| c).collect(),
                    Box::new(move |l, f| text(l, f, "cha_sector") == Some(c.as_str())),
                )
            }
            MapArea::Facility(code) => {
                if self.facility_by_code(code).is_none() {
                    return Err(RiskMapError::UnknownArea {
                        what: "facility",
                        code: code.clone(),
                        known: self.facilities.first().map_or_else(
                            || "the store has no facilities layer".to_owned(),
                            |l| Self::some_codes(l, "code"),
                        ),
                    });
                }
                let mut set: BTreeSet<String> = BTreeSet::new();
                if let Some(t) = travel {
                    for (p, a) in t.places.iter().zip(&t.access) {
                        if a.facility.as_deref() == Some(code.as_str()) {
                            set.insert(p.village.code.clone());
                        }
                    }
                }
                if let Some(h) = &self.households {
                    for f in &h.features {
                        if text(h, f, "facility") == Some(code.as_str())
                            && let Some(c) = text(h, f, "community")
                        {
                            set.insert(c.to_owned());
                        }
                    }
                }
                let c = code.clone();
                (
                    set.into_iter().collect(),
                    Box::new(move |l, f| text(l, f, "facility") == Some(c.as_str())),
                )
            }
        };
        let main = area_communities
            .first()
            .and_then(|c| self.community_by_code(c));

        // The households shown: only for roles that see records, only those
        // the caller may see, only the area's.
        let mut households: Option<Vec<MapHousehold>> = None;
        let mut cha: BTreeSet<String> = BTreeSet::new();
        if sees {
            let mut list = Vec::new();
            if let Some((layer, vis)) = &visibility {
                for f in &layer.features {
                    if !(vis.may_see(f) && belongs(layer, f)) {
                        continue;
                    }
                    let Some(lonlat) = point_of(&f.geometry) else {
                        continue;
                    };
                    let values = vis.values(layer, f);
                    if let Some(c) = text_of(layer, &values, "cha") {
                        cha.insert(c);
                    }
                    list.push(MapHousehold {
                        code: text_of(layer, &values, "code").unwrap_or_default(),
                        lonlat,
                        marks: marks_of(layer, &values),
                    });
                }
            }
            list.sort_by(|a, b| a.code.cmp(&b.code));
            households = Some(list);
        }

        // The focus: the area's communities, its households, a facility's own point.
        let mut pts: Vec<(f64, f64)> = area_communities
            .iter()
            .filter_map(|c| self.community_by_code(c))
            .filter_map(|f| point_of(&f.geometry))
            .collect();
        if let Some(h) = &households {
            pts.extend(h.iter().map(|h| h.lonlat));
        }
        let area_facility = match area {
            MapArea::Facility(code) => self.facility_by_code(code),
            _ => None,
        };
        if let Some(f) = &area_facility {
            pts.push(f.lonlat);
        }
        let focus = grow_to(bounds_of(&pts), MIN_FOCUS_M);
        let context = {
            let (w, h) = size_m(&focus);
            let margin = w.max(h).max(CONTEXT_MARGIN_M);
            grow_by(focus, margin)
        };
        let inside = |p: (f64, f64)| {
            p.0 >= context[0] && p.0 <= context[2] && p.1 >= context[1] && p.1 <= context[3]
        };

        // The route from the main community to its nearest facility.
        let route = match (travel, main) {
            (Some(t), Some(m)) if !matches!(area, MapArea::Facility(_)) => point_of(&m.geometry)
                .and_then(|(lon, lat)| {
                    let at = t.point(lon, lat);
                    let minutes = at.minutes?;
                    let f = t.sources.get(at.source?)?;
                    Some(MapRoute {
                        facility: Named {
                            code: f.code.clone(),
                            name: f.name.clone(),
                        },
                        minutes,
                        points: t.route_from(lon, lat)?,
                    })
                }),
            _ => None,
        };

        let minutes_of: BTreeMap<&str, f64> = travel
            .map(|t| {
                t.places
                    .iter()
                    .zip(&t.access)
                    .filter_map(|(p, a)| a.minutes.map(|m| (p.village.code.as_str(), m)))
                    .collect()
            })
            .unwrap_or_default();
        let area_set: BTreeSet<&str> = area_communities.iter().map(String::as_str).collect();
        let communities: Vec<MapCommunity> = self
            .communities
            .features
            .iter()
            .filter_map(|f| {
                let lonlat = point_of(&f.geometry)?;
                let code = owned_text(&self.communities, f, "code");
                let in_area = area_set.contains(code.as_str());
                if !(in_area || inside(lonlat)) {
                    return None;
                }
                Some(MapCommunity {
                    households: if sees {
                        None
                    } else {
                        Some(self.counts.get(&code).copied().unwrap_or(Shown::Count(0)))
                    },
                    minutes: minutes_of.get(code.as_str()).copied(),
                    name: owned_text(&self.communities, f, "name"),
                    code,
                    lonlat,
                    in_area,
                })
            })
            .collect();

        let mut facilities: Vec<MapFacility> = self
            .facilities
            .iter()
            .flat_map(|l| l.features.iter().filter_map(move |f| facility_of(l, f)))
            .filter(|f| inside(f.lonlat))
            .collect();
        for extra in route
            .as_ref()
            .and_then(|r| self.facility_by_code(&r.facility.code))
            .into_iter()
            .chain(area_facility.clone())
        {
            if !facilities.iter().any(|f| f.code == extra.code) {
                facilities.push(extra);
            }
        }

        let water_systems = self
            .water
            .iter()
            .flat_map(|l| {
                l.features.iter().filter_map(move |f| {
                    let lonlat = point_of(&f.geometry)?;
                    Some(MapWaterSystem {
                        code: owned_text(l, f, "code"),
                        name: owned_text(l, f, "name"),
                        state: match text(l, f, "status").map(str::to_ascii_lowercase).as_deref() {
                            Some("operational" | "operativo" | "funciona") => {
                                WaterState::Operational
                            }
                            Some("partial" | "parcial") => WaterState::Partial,
                            Some("down" | "inoperativo" | "no funciona") => WaterState::Down,
                            _ => WaterState::Unknown,
                        },
                        lonlat,
                    })
                })
            })
            .filter(|w| inside(w.lonlat))
            .collect();

        let lines = self.lines_in(context);

        let clusters = match clusters {
            Some(c) if access.role.may_ask_clusters() => c
                .rows
                .iter()
                .filter(|r| !r.suppressed() && r.p_value.is_some_and(|p| p <= CLUSTER_ALPHA))
                .filter_map(|r| {
                    let ring = r.polygon.clone()?;
                    ring.iter().any(|&p| inside(p)).then(|| MapCluster {
                        ring,
                        households: Shown::unless_small(r.households as u64),
                    })
                })
                .collect(),
            _ => Vec::new(),
        };

        let relief = travel.and_then(|t| relief_of(t, context));

        let title = MapTitle {
            community: main.map(|f| Named {
                code: owned_text(&self.communities, f, "code"),
                name: owned_text(&self.communities, f, "name"),
            }),
            sector: match area {
                MapArea::Sector(s) => Some(s.clone()),
                _ => None,
            },
            cha: (matches!(area, MapArea::Sector(_)) && cha.len() == 1)
                .then(|| cha.into_iter().next())
                .flatten(),
            facility: match (&area_facility, &route) {
                (Some(f), _) => Some(Named {
                    code: f.code.clone(),
                    name: f.name.clone(),
                }),
                (None, Some(r)) => Some(r.facility.clone()),
                _ => None,
            },
            district: self.district_at(
                f64::midpoint(focus[0], focus[2]),
                f64::midpoint(focus[1], focus[3]),
            ),
        };
        let mut sources = self.sources.clone();
        if let Some((layer, _)) = &visibility {
            sources.push(if sees {
                format!(
                    "{} (household points, access: {})",
                    layer.name,
                    role_words(access)
                )
            } else {
                format!("{} (aggregates only, counts rounded to 5)", layer.name)
            });
        }
        if let Some(t) = travel {
            sources.push(format!(
                "travel time: {} scenario, {} moves, DEM {} m",
                t.scenario,
                t.neighbourhood.moves(),
                t.metric.raster.cell_size().0.abs().round()
            ));
        }
        Ok(RiskMap {
            area: area.clone(),
            title,
            focus,
            context,
            communities,
            facilities,
            water_systems,
            lines,
            households,
            route,
            clusters,
            relief,
            data_version: self.version,
            sources,
            due: None,
        })
    }

    /// The visit schedule of a CHA sector's map (`area` a sector): the
    /// households of the sector the caller may see that are at risk and were
    /// last visited more than `every` days before `as_of`, or never
    /// ([`crate::monitoring::visits`]). None for another area, a caller who
    /// does not see household records (public, analyst) or who sees none of
    /// the sector's (a CHA of another sector): they get no list.
    pub fn due_visits(
        &self,
        access: &Access,
        area: &MapArea,
        as_of: chrono::NaiveDate,
        every: u32,
    ) -> Option<MapDueList> {
        let MapArea::Sector(sector) = area else {
            return None;
        };
        if !access.role.sees_households() {
            return None;
        }
        let layer = self.households.as_ref()?;
        // Records::new keeps only what `access` may see.
        let records = crate::monitoring::data::Records::new(
            std::slice::from_ref(layer),
            None,
            access,
            "group",
        );
        // A caller who sees none of the sector's households (a CHA of another
        // sector, a facility without households there) gets no list.
        let in_sector = records.sectors.get(sector)?;
        if !records.list.iter().any(|o| o.sector == in_sector) {
            return None;
        }
        let households = crate::monitoring::visits::due_list(&records, as_of, every)
            .into_iter()
            .filter(|h| h.cha_sector == *sector)
            .collect();
        Some(MapDueList {
            as_of: as_of.to_string(),
            every,
            households,
        })
    }

    fn district_at(&self, lon: f64, lat: f64) -> Option<Named> {
        let layer = self.districts.as_ref()?;
        let districts = district_polygons(layer);
        let i = first_district(&districts, lon, lat)?;
        Some(Named {
            code: districts[i].code.clone(),
            name: districts[i].name.clone(),
        })
    }

    fn lines_in(&self, context: [f64; 4]) -> Vec<MapLine> {
        let mut out = Vec::new();
        for layer in &self.lines {
            for f in &layer.features {
                let class = text(layer, f, "class").map(str::to_ascii_lowercase);
                let kind = match (layer.kind, class.as_deref()) {
                    (LayerKind::Rivers, Some("river" | "rio" | "río")) => LineKind::River,
                    (LayerKind::Rivers, _) => LineKind::Stream,
                    (LayerKind::Roads, _) => LineKind::Road,
                    (_, Some("bridge" | "puente")) => LineKind::Bridge,
                    (_, Some("ford" | "vado")) => LineKind::Ford,
                    (_, Some("mule_track" | "camino_herradura")) => LineKind::MuleTrack,
                    (_, Some(c)) if c.contains("road") || c.contains("carretera") => LineKind::Road,
                    _ => LineKind::Footpath,
                };
                let parts: Vec<Vec<(f64, f64)>> = match &f.geometry {
                    Geometry::LineString(l) => vec![l.0.iter().map(|c| (c.x, c.y)).collect()],
                    Geometry::MultiLineString(m) => {
                        m.0.iter()
                            .map(|l| l.0.iter().map(|c| (c.x, c.y)).collect())
                            .collect()
                    }
                    _ => continue,
                };
                for points in parts {
                    let b = bounds_of(&points);
                    let crosses = b[0] <= context[2]
                        && b[2] >= context[0]
                        && b[1] <= context[3]
                        && b[3] >= context[1];
                    if crosses && points.len() >= 2 {
                        out.push(MapLine { kind, points });
                    }
                }
            }
        }
        // Water below roads below paths, as drawn.
        out.sort_by_key(|l| l.kind);
        out
    }
}

/// Whether a household (of the household layer) belongs to the map's area.
type Belongs = Box<dyn Fn(&Layer, &Feature) -> bool>;

/// The protected household counts per community of every private layer.
fn community_counts_of(store: &dyn Store) -> Result<BTreeMap<String, Shown>, RiskMapError> {
    let mut layers = Vec::new();
    for info in store
        .layers()
        .map_err(store_err("listing the store's layers"))?
    {
        if info.kind.is_private() {
            layers.push(
                store
                    .read_layer(&info.name)
                    .map_err(store_err(format!("reading layer '{}'", info.name)))?,
            );
        }
    }
    Ok(chaski_core::household::community_counts(&layers)
        .into_iter()
        .collect())
}

fn role_words(access: &Access) -> String {
    match (&access.role, &access.scope) {
        (Role::Cha | Role::Facility, Some(s)) => format!("{} {s}", access.role),
        (r, _) => r.to_string(),
    }
}

fn first_district(districts: &[District], lon: f64, lat: f64) -> Option<usize> {
    let p = Point::new(lon, lat);
    districts
        .iter()
        .position(|d| d.polygons.contains(&p) || geo::Intersects::intersects(&d.polygons, &p))
}

fn facility_of(l: &Layer, f: &Feature) -> Option<MapFacility> {
    Some(MapFacility {
        code: owned_text(l, f, "code"),
        name: owned_text(l, f, "name"),
        category: owned_text(l, f, "category"),
        lonlat: point_of(&f.geometry)?,
    })
}

fn text_of(layer: &Layer, values: &[Value], field: &str) -> Option<String> {
    match layer.field_index(field).and_then(|i| values.get(i)) {
        Some(Value::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_owned()),
        _ => None,
    }
}

/// The marks of a household from the values the caller sees.
fn marks_of(layer: &Layer, values: &[Value]) -> HouseholdMarks {
    let get = |name: &str| layer.field_index(name).and_then(|i| values.get(i));
    let yes = |name: &str| get(name).and_then(Value::as_bool) == Some(true);
    let count = |name: &str| get(name).and_then(Value::as_i64).unwrap_or(0);
    HouseholdMarks {
        pregnant: count("pregnant") > 0,
        child_under5: count("under5") > 0,
        anaemia_malnutrition: yes("anaemia") || yes("malnutrition"),
        danger_signs: yes("danger_signs"),
        priority: text_of(layer, values, "risk_level").as_deref() == Some("alto"),
    }
}

/// West, south, east, north of points (a degenerate box for one point;
/// NaNs when none).
fn bounds_of(pts: &[(f64, f64)]) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for &(x, y) in pts {
        if x.is_finite() && y.is_finite() {
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
    }
    if b[0] > b[2] { [f64::NAN; 4] } else { b }
}

/// Width and height of a box in metres (approximate: frame sizes only).
fn size_m(b: &[f64; 4]) -> (f64, f64) {
    let lat = f64::midpoint(b[1], b[3]).to_radians();
    (
        (b[2] - b[0]) * M_PER_DEG * lat.cos(),
        (b[3] - b[1]) * M_PER_DEG,
    )
}

/// The box grown about its centre to at least `min_m` metres on each side.
fn grow_to(b: [f64; 4], min_m: f64) -> [f64; 4] {
    if b.iter().any(|v| !v.is_finite()) {
        return b;
    }
    let (w, h) = size_m(&b);
    let lat = f64::midpoint(b[1], b[3]).to_radians();
    let dx = ((min_m - w).max(0.0) / 2.0) / (M_PER_DEG * lat.cos());
    let dy = ((min_m - h).max(0.0) / 2.0) / M_PER_DEG;
    [b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy]
}

/// The box grown by `m` metres on each side.
fn grow_by(b: [f64; 4], m: f64) -> [f64; 4] {
    let lat = f64::midpoint(b[1], b[3]).to_radians();
    let dx = m / (M_PER_DEG * lat.cos());
    let dy = m / M_PER_DEG;
    [b[0] - dx, b[1] - dy, b[2] + dx, b[3] + dy]
}

/// Elevations of the search's surface over `context`, at about the
/// surface's own resolution (at most [`MAX_RELIEF_SAMPLES`] a side),
/// bilinear between cell centres; None where the context misses the surface.
fn relief_of(search: &TravelResult, context: [f64; 4]) -> Option<ReliefGrid> {
    if context.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let raster = &search.metric.raster;
    let cell = raster.cell_size().0.abs().max(1.0);
    let (width_m, height_m) = size_m(&context);
    let cols = ((width_m / cell).ceil() as usize).clamp(2, MAX_RELIEF_SAMPLES);
    let rows = ((height_m / cell).ceil() as usize).clamp(2, MAX_RELIEF_SAMPLES);
    let dlon = (context[2] - context[0]) / cols as f64;
    let dlat = (context[3] - context[1]) / rows as f64;
    let mut pts = Vec::with_capacity(cols * rows);
    for r in 0..rows {
        for c in 0..cols {
            pts.push((
                context[0] + (c as f64 + 0.5) * dlon,
                context[3] - (r as f64 + 0.5) * dlat,
            ));
        }
    }
    search.metric.projection.forward(&mut pts).ok()?;
    let tr = raster.transform;
    let value = |c: isize, r: isize| -> Option<f64> {
        if c < 0 || r < 0 {
            return None;
        }
        let z = raster.get(c as usize, r as usize)?;
        (z.is_finite() && !raster.is_nodata(z)).then_some(f64::from(z))
    };
    let values: Vec<f32> = pts
        .iter()
        .map(|&(x, y)| {
            // Fractional cell position, relative to cell centres.
            let u = (x - tr[0]) / tr[1] - 0.5;
            let v = (y - tr[3]) / tr[5] - 0.5;
            if !(u.is_finite() && v.is_finite()) {
                return f32::NAN;
            }
            let (c0, r0) = (u.floor() as isize, v.floor() as isize);
            let (fu, fv) = (u - u.floor(), v - v.floor());
            let mut sum = 0.0;
            let mut weight = 0.0;
            for (dc, dr, wgt) in [
                (0, 0, (1.0 - fu) * (1.0 - fv)),
                (1, 0, fu * (1.0 - fv)),
                (0, 1, (1.0 - fu) * fv),
                (1, 1, fu * fv),
            ] {
                if let Some(z) = value(c0 + dc, r0 + dr) {
                    sum += z * wgt;
                    weight += wgt;
                }
            }
            if weight > 1e-6 {
                (sum / weight) as f32
            } else {
                f32::NAN
            }
        })
        .collect();
    if values.iter().all(|v| v.is_nan()) {
        return None;
    }
    Some(ReliefGrid {
        bounds: context,
        cols,
        rows,
        values,
    })
}
