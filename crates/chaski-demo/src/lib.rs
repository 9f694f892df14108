#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod build;
mod drainage;
mod households;
pub mod monitoring;
mod network;
pub mod terrain;
pub mod utm;
mod write;

pub use households::{RiskInputs, risk_level};
pub use write::{
    DemoError, DemoFile, FACILITY_HEADERS, KOBO_COLUMNS, write_files, write_monitoring_files,
};

use chaski_core::layer::{Feature, Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_core::value::Value;
use geo::{Geometry, Point};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Name of the demo region.
pub const REGION_NAME: &str = "Valle de Chaski (synthetic)";

/// What to generate. Every field has a default; change the seed for another valley.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Seed of the ChaCha8 generator: the same seed always gives the same region.
    pub seed: u64,
    /// Villages (communities), the main town included.
    pub villages: usize,
    /// About how many synthetic households CHAs have mapped (spread over the
    /// villages in proportion to their size, at least one per village unless 0).
    pub households: usize,
    /// Water systems (one per village, two in the main town, largest villages first).
    pub water_systems: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 2026,
            villages: 160,
            households: 2_600,
            water_systems: 46,
        }
    }
}

/// A spatial cluster of high anaemia and danger-sign risk planted in the
/// households, for cluster detection to find.
#[derive(Debug, Clone, PartialEq)]
pub struct PlantedCluster {
    /// Code of the village at its centre.
    pub village: String,
    /// Name of that village.
    pub village_name: String,
    /// Longitude of the centre.
    pub lon: f64,
    /// Latitude of the centre.
    pub lat: f64,
    /// Radius (m): households of every village whose centre lies within it are affected.
    pub radius_m: f64,
    /// Households affected.
    pub households: usize,
}

/// The generated region: a DEM and the vector layers.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoRegion {
    /// Region name.
    pub name: String,
    /// Seed it was generated from.
    pub seed: u64,
    /// Elevation in metres, EPSG:32718 (UTM 18S), 60 m cells, north-up, nodata -9999.
    pub dem: Raster<f32>,
    /// communities, facilities, water_systems, districts, paths, roads, rivers,
    /// households (in that order), geometries in EPSG:4326 rounded to 6 decimals.
    pub layers: Vec<Layer>,
    /// The planted high-risk household clusters.
    pub clusters: Vec<PlantedCluster>,
}

impl DemoRegion {
    /// The layer called `name`.
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }
}

fn point(u: f64, v: f64) -> Geometry<f64> {
    Geometry::Point(Point::from(build::lonlat(u, v)))
}

fn push(layer: &mut Layer, geometry: Geometry<f64>, values: Vec<Value>) {
    let fid = layer.features.len() as i64 + 1;
    layer.features.push(Feature {
        fid,
        geometry,
        values,
    });
}

/// Generate the demo region: a synthetic Andean valley in Ayacucho
/// (about lon -74.23..-73.97, lat -13.09..-12.85) with a main river and six
/// tributaries, four districts, villages, health facilities, water systems,
/// footpaths with bridges and fords, an unpaved road and synthetic households.
/// Fully deterministic for a given [`DemoOptions`].
///
/// ```
/// use chaski_demo::{generate, DemoOptions};
/// let region = generate(&DemoOptions::default());
/// let names: Vec<&str> = region.layers.iter().map(|l| l.name.as_str()).collect();
/// assert_eq!(names, ["communities", "facilities", "water_systems", "districts",
///                    "paths", "roads", "rivers", "households"]);
/// assert!(region.layer("communities").unwrap().len() >= 150);
/// assert_eq!((region.dem.width, region.dem.height, region.dem.epsg), (480, 440, Some(32718)));
/// // The same seed gives the same region.
/// assert_eq!(region, generate(&DemoOptions::default()));
/// ```
pub fn generate(opts: &DemoOptions) -> DemoRegion {
    let rng = |stream: u64| {
        let mut r = ChaCha8Rng::seed_from_u64(opts.seed);
        r.set_stream(stream);
        r
    };
    let terrain = terrain::Terrain::new(&mut rng(1));
    let dem = terrain.dem();
    let drainage = drainage::Drainage::new(&terrain, &dem);
    let near = |u: f64, v: f64| drainage.distance(&dem, u, v);
    let districts = build::districts(&mut rng(2));
    let mut villages = build::villages(&terrain, &dem, &near, &mut rng(3), opts.villages.max(1));
    build::assign_districts(&mut villages, &districts);
    let facilities = build::facilities(&villages, &mut rng(4));
    let nearest = build::nearest_facility(&villages, &facilities);
    let water = build::water_systems(&villages, &terrain, &mut rng(5), opts.water_systems);
    let rivers = network::rivers(&terrain, &drainage.tributaries);
    let paths = network::paths(
        &villages,
        &facilities,
        &nearest,
        &terrain,
        &near,
        &rivers,
        &mut rng(6),
    );
    let roads = network::roads(&terrain, &villages[0]);
    let (households, clusters) = households::households(
        &villages,
        &facilities,
        &nearest,
        &water,
        &mut rng(7),
        opts.households,
    );

    let mut communities = Layer::new("communities", LayerKind::Communities);
    for w in &villages {
        let d = &districts[w.district];
        push(
            &mut communities,
            point(w.u, w.v),
            vec![
                w.code.clone().into(),
                w.name.clone().into(),
                d.code.clone().into(),
                Value::Int(w.population),
                Value::Int(w.households),
                d.name.clone().into(),
            ],
        );
    }
    let mut facility_layer = Layer::new("facilities", LayerKind::Facilities);
    for f in &facilities {
        push(
            &mut facility_layer,
            point(f.u, f.v),
            vec![
                f.code.clone().into(),
                f.name.clone().into(),
                f.category.into(),
                f.institution.into(),
                f.birth_care.into(),
                f.maternity_home.into(),
                districts[villages[f.village].district].code.clone().into(),
            ],
        );
    }
    let mut water_layer = Layer::new("water_systems", LayerKind::WaterSystems);
    for s in &water {
        push(
            &mut water_layer,
            point(s.u, s.v),
            vec![
                s.code.clone().into(),
                s.name.clone().into(),
                s.board.clone().into(),
                s.status.into(),
                s.chlorinated.into(),
                Value::Int(s.households_served),
            ],
        );
    }
    let mut district_layer = Layer::new("districts", LayerKind::Boundaries);
    for d in &districts {
        push(
            &mut district_layer,
            Geometry::MultiPolygon(d.polygon.clone()),
            vec![
                d.code.clone().into(),
                d.name.clone().into(),
                "district".into(),
            ],
        );
    }
    let mut river_layer = Layer::new("rivers", LayerKind::Rivers);
    for r in &rivers {
        let line =
            geo::LineString::new(r.points.iter().map(|&(u, v)| build::lonlat(u, v)).collect());
        push(
            &mut river_layer,
            Geometry::MultiLineString(geo::MultiLineString::new(vec![line])),
            vec![r.code.clone().into(), r.name.clone().into(), r.class.into()],
        );
    }
    DemoRegion {
        name: REGION_NAME.to_owned(),
        seed: opts.seed,
        dem,
        layers: vec![
            communities,
            facility_layer,
            water_layer,
            district_layer,
            paths,
            roads,
            river_layer,
            households,
        ],
        clusters,
    }
}
