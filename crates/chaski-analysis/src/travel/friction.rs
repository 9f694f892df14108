//! Friction surfaces from terrain: anisotropic walking by Tobler's hiking
//! function, land cover, paths and roads, rivers, bridges, fords and boats.
//!
//! Each cell gets a walking multiplier `k` (speed = `k · tobler(slope)`) or a
//! fixed speed (vehicles on roads in [`Mode::Motorised`], boats), or is
//! impassable. The slope of a move is taken between the two cell centres, so
//! uphill and downhill moves differ ([`super::cost`] applies it).
//!
//! Rules per cell, in order:
//! 1. nodata in the DEM: impassable;
//! 2. water: a river is impassable unless a road crosses it and
//!    `roads_bridge_rivers`; a navigable river is travelled at the boat speed
//!    when there is one, else treated as a river; a bridge is walked (or driven)
//!    like the route on it, a footpath when none; a ford is impassable when
//!    fords are closed, else walked at `ford_factor`;
//! 3. a road in motorised mode: the class speed (× `season_unpaved_factor`
//!    on unpaved classes);
//! 4. a path or road on foot: `walker · season · path_factors[class]`;
//! 5. off path: `walker · season · off_path_factor · land_cover[class]`
//!    (a land-cover factor of 0 makes the cell impassable).
//!
//! Parameters: [`TerrainInputs`] (DEM in a metric CRS and optional class
//! rasters on the same grid) and a [`Scenario`]. Returns a [`CostSurface`].
//!
//! ```
//! use chaski_analysis::travel::cost::{travel_time, tobler_kmh, Direction, SearchOptions};
//! use chaski_analysis::travel::friction::{terrain_surface, TerrainInputs};
//! use chaski_analysis::travel::grid::Grid;
//! use chaski_analysis::travel::scenario::{RouteClass, Scenario};
//! use chaski_core::raster::Raster;
//!
//! // Ten 100 m cells rising 10 m per cell (10 %), a footpath along the row.
//! let mut dem = Raster::filled(10, 1, [0.0, 100.0, 0.0, 100.0, 0.0, -100.0], None, 0.0f32);
//! for (i, z) in dem.data.iter_mut().enumerate() { *z = 10.0 * i as f32; }
//! let routes = Grid::of(&dem).unwrap().raster(RouteClass::Footpath.code());
//! let inputs = TerrainInputs { routes: Some(&routes), ..TerrainInputs::new(&dem) };
//! let surface = terrain_surface(&inputs, &Scenario::walking()).unwrap();
//! // Walking up from the source at column 0 to column 9: 900 m at tobler(+0.1).
//! let up = SearchOptions { direction: Direction::FromSource, ..SearchOptions::default() };
//! let t = travel_time(&surface, &[(0, 0)], &up).time(9, 0).unwrap();
//! assert!((f64::from(t) - 900.0 / (tobler_kmh(0.1) / 3.6)).abs() < 0.01);
//! ```

use super::cost::CostSurface;
use super::grid::{Grid, GridError};
use super::scenario::{Mode, RouteClass, Scenario, ScenarioError, WaterClass};
use chaski_core::raster::Raster;
use std::collections::HashMap;

/// A friction surface could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrictionError {
    /// The grid or an input raster is unusable.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// The scenario has an invalid parameter.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
}

/// Inputs of [`terrain_surface`], all on the DEM's grid.
#[derive(Debug, Clone, Copy)]
pub struct TerrainInputs<'a> {
    /// Elevation in metres, in a metric CRS (the cell size comes from its transform).
    pub dem: &'a Raster<f32>,
    /// Land-cover class codes (rounded to integers; nodata means "no class").
    pub land_cover: Option<&'a Raster<f32>>,
    /// [`RouteClass`] codes per cell (0 = none), e.g. from [`super::rasterize`].
    pub routes: Option<&'a Raster<u8>>,
    /// [`WaterClass`] codes per cell (0 = none), from a river layer or
    /// [`super::hydrology::FlowGrid::streams`].
    pub water: Option<&'a Raster<u8>>,
}

impl<'a> TerrainInputs<'a> {
    /// Only a DEM.
    pub fn new(dem: &'a Raster<f32>) -> Self {
        Self {
            dem,
            land_cover: None,
            routes: None,
            water: None,
        }
    }
}

/// What one cell is.
enum CellKind {
    Blocked,
    /// Walking multiplier of Tobler's speed.
    Walk(f64),
    /// Fixed speed in km/h.
    Fixed(f64),
}

/// Build the anisotropic terrain surface for `scenario`.
pub fn terrain_surface(
    inputs: &TerrainInputs<'_>,
    scenario: &Scenario,
) -> Result<CostSurface, FrictionError> {
    scenario.validate()?;
    let dem = inputs.dem;
    let grid = Grid::of(dem)?;
    if let Some(r) = inputs.land_cover {
        grid.expect_same("land_cover", r)?;
    }
    if let Some(r) = inputs.routes {
        grid.expect_same("routes", r)?;
    }
    if let Some(r) = inputs.water {
        grid.expect_same("water", r)?;
    }
    let land: HashMap<i64, f64> = scenario
        .land_cover
        .iter()
        .map(|l| (l.code, l.factor))
        .collect();
    let mut surface = CostSurface::blank(grid, true)?;
    surface.max_slope = scenario.max_slope.map_or(f32::INFINITY, |m| m as f32);
    let walker = scenario.walker_factor * scenario.season_walk_factor;
    for row in 0..grid.height {
        for col in 0..grid.width {
            let i = row * grid.width + col;
            let z = dem.data[i];
            let kind = if dem.is_nodata(z) || !z.is_finite() {
                CellKind::Blocked
            } else {
                let route = inputs
                    .routes
                    .and_then(|r| r.data.get(i))
                    .and_then(|&c| RouteClass::from_code(c));
                let water = inputs
                    .water
                    .and_then(|r| r.data.get(i))
                    .and_then(|&c| WaterClass::from_code(c));
                let land_factor = inputs
                    .land_cover
                    .and_then(|r| {
                        let v = *r.data.get(i)?;
                        if r.is_nodata(v) {
                            None
                        } else {
                            land.get(&(f64::from(v).round() as i64)).copied()
                        }
                    })
                    .unwrap_or(scenario.land_cover_default);
                cell_kind(scenario, walker, route, water, land_factor)
            };
            let p = surface.pidx(col, row);
            match kind {
                CellKind::Blocked => {}
                CellKind::Walk(k) => {
                    surface.fixed[p] = 0.0;
                    surface.walk[p] = (1.0 / k) as f32;
                    surface.z[p] = z;
                }
                CellKind::Fixed(kmh) => {
                    surface.fixed[p] = (3.6 / kmh) as f32;
                    surface.walk[p] = 0.0;
                    surface.z[p] = z;
                }
            }
        }
    }
    surface.finish();
    Ok(surface)
}

fn cell_kind(
    s: &Scenario,
    walker: f64,
    route: Option<RouteClass>,
    water: Option<WaterClass>,
    land_factor: f64,
) -> CellKind {
    let on_road = route.is_some_and(RouteClass::is_road);
    let route_kind = |route: RouteClass| {
        if s.mode == Mode::Motorised {
            if let Some(v) = s.road_speeds_kmh.get(route) {
                let season = if route == RouteClass::PavedRoad {
                    1.0
                } else {
                    s.season_unpaved_factor
                };
                return CellKind::Fixed(v * season);
            }
        }
        CellKind::Walk(walker * s.path_factors.get(route))
    };
    match water {
        Some(WaterClass::River) if !(on_road && s.roads_bridge_rivers) => {
            return CellKind::Blocked;
        }
        Some(WaterClass::NavigableRiver) => {
            if let Some(b) = s.boat_speed_kmh {
                return CellKind::Fixed(b);
            }
            if !(on_road && s.roads_bridge_rivers) {
                return CellKind::Blocked;
            }
        }
        Some(WaterClass::Bridge) => {
            return route_kind(route.unwrap_or(RouteClass::Footpath));
        }
        Some(WaterClass::Ford) => {
            return if s.fords_open {
                CellKind::Walk(walker * s.ford_factor)
            } else {
                CellKind::Blocked
            };
        }
        _ => {}
    }
    match route {
        Some(r) => route_kind(r),
        None if land_factor > 0.0 => CellKind::Walk(walker * s.off_path_factor * land_factor),
        None => CellKind::Blocked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::cost::{Direction, SearchOptions, tobler_kmh, travel_time};
    use approx::assert_relative_eq;
    use rstest::rstest;

    const CELL: f64 = 30.0;

    fn plane(w: usize, h: usize, sx: f64, sy: f64) -> Raster<f32> {
        let mut dem = Raster::filled(w, h, [0.0, CELL, 0.0, 0.0, 0.0, -CELL], None, 0f32);
        for row in 0..h {
            for col in 0..w {
                dem.data[row * w + col] =
                    (1000.0 + sx * col as f64 * CELL + sy * row as f64 * CELL) as f32;
            }
        }
        dem
    }

    fn pace(s: f64) -> f64 {
        3.6 / tobler_kmh(s)
    }

    #[rstest]
    #[case::x_up_from(0.1, 0.0, Direction::FromSource, 0.1)]
    #[case::x_to_source_is_downhill(0.1, 0.0, Direction::ToSource, -0.1)]
    #[case::x_steep(0.25, 0.0, Direction::FromSource, 0.25)]
    #[case::x_down(-0.15, 0.0, Direction::FromSource, -0.15)]
    #[case::y_up(0.0, 0.08, Direction::FromSource, 0.08)]
    #[case::y_down(0.0, 0.08, Direction::ToSource, -0.08)]
    fn constant_slope_follows_tobler(
        #[case] sx: f64,
        #[case] sy: f64,
        #[case] dir: Direction,
        #[case] walked: f64,
    ) {
        // Source at (0, 0) of a tilted plane; a target 40 cells along the slope.
        let dem = plane(41, 41, sx, sy);
        let scenario = Scenario {
            off_path_factor: 1.0,
            ..Scenario::walking()
        };
        let surface = terrain_surface(&TerrainInputs::new(&dem), &scenario).unwrap();
        assert!(surface.is_anisotropic());
        let opts = SearchOptions {
            direction: dir,
            ..SearchOptions::default()
        };
        let tt = travel_time(&surface, &[(0, 0)], &opts);
        let target = if sx == 0.0 { (0, 40) } else { (40, 0) };
        let t = f64::from(tt.time(target.0, target.1).unwrap());
        assert_relative_eq!(t, 40.0 * CELL * pace(walked), max_relative = 0.01);
    }

    #[test]
    fn uphill_and_downhill_differ_by_direction() {
        // Source at the bottom of a 10 % slope: walking to it from the top is downhill.
        let dem = plane(30, 3, 0.1, 0.0);
        let surface = terrain_surface(&TerrainInputs::new(&dem), &Scenario::walking()).unwrap();
        let to = travel_time(&surface, &[(0, 1)], &SearchOptions::default());
        let from = travel_time(
            &surface,
            &[(0, 1)],
            &SearchOptions {
                direction: Direction::FromSource,
                ..SearchOptions::default()
            },
        );
        let (t_to, t_from) = (to.time(29, 1).unwrap(), from.time(29, 1).unwrap());
        assert!(t_from > t_to);
        assert_relative_eq!(
            f64::from(t_from / t_to),
            pace(0.1) / pace(-0.1),
            max_relative = 1e-3
        );
        // Off path: 0.6 of Tobler's speed (Tobler 1993).
        assert_relative_eq!(
            f64::from(t_to),
            29.0 * CELL * pace(-0.1) / 0.6,
            max_relative = 1e-4
        );
    }

    fn river_grid() -> (Raster<f32>, Raster<u8>, Raster<u8>) {
        // Flat 21 x 21, a river along row 10, a footpath along column 5 with a ford at
        // (5, 10), a gravel road along column 15 crossing the river without a bridge.
        let dem = plane(21, 21, 0.0, 0.0);
        let mut water = Grid::of(&dem).unwrap().raster(0u8);
        let mut routes = Grid::of(&dem).unwrap().raster(0u8);
        for c in 0..21 {
            water.data[10 * 21 + c] = WaterClass::River.code();
        }
        water.data[10 * 21 + 5] = WaterClass::Ford.code();
        for r in 0..21 {
            routes.data[r * 21 + 5] = RouteClass::Footpath.code();
            routes.data[r * 21 + 15] = RouteClass::GravelRoad.code();
        }
        (dem, routes, water)
    }

    #[test]
    fn fords_bridges_and_roads() {
        let (dem, routes, water) = river_grid();
        let inputs = TerrainInputs {
            routes: Some(&routes),
            water: Some(&water),
            ..TerrainInputs::new(&dem)
        };
        let opts = SearchOptions::default();
        let walking = terrain_surface(&inputs, &Scenario::walking()).unwrap();
        let flat = pace(0.0);
        // Along the footpath over the ford: 18 path moves and two moves half on the ford.
        let tt = travel_time(&walking, &[(5, 0)], &opts);
        let expected = CELL * flat * (9.0 + 2.0 * (1.0 + 1.0 / 0.5) / 2.0 + 9.0);
        assert_relative_eq!(
            f64::from(tt.time(5, 20).unwrap()),
            expected,
            max_relative = 1e-4
        );
        assert!(tt.route_cells(5, 20).unwrap().contains(&(5, 10)));
        // River cells are barriers.
        assert!(!walking.passable(0, 10));
        assert!(walking.passable(15, 10));
        // Rainy season: the ford closes; the way over is the road's implicit bridge.
        let rainy = terrain_surface(&inputs, &Scenario::rainy_season()).unwrap();
        assert!(!rainy.passable(5, 10));
        let tt = travel_time(&rainy, &[(5, 0)], &opts);
        assert!(tt.route_cells(5, 20).unwrap().contains(&(15, 10)));
        // Without implicit road bridges the river splits the grid in two.
        let no_bridges = Scenario {
            roads_bridge_rivers: false,
            ..Scenario::rainy_season()
        };
        let s = terrain_surface(&inputs, &no_bridges).unwrap();
        assert_eq!(travel_time(&s, &[(5, 0)], &opts).time(5, 20), None);
        // Motorised: 30 km/h on the gravel road, regardless of slope.
        let motor = terrain_surface(&inputs, &Scenario::motorised()).unwrap();
        let tt = travel_time(&motor, &[(15, 0)], &opts);
        assert_relative_eq!(
            f64::from(tt.time(15, 20).unwrap()),
            20.0 * CELL * 3.6 / 30.0,
            max_relative = 1e-4
        );
    }

    #[test]
    fn boats_on_navigable_rivers_and_land_cover() {
        let dem = plane(20, 3, 0.0, 0.0);
        let mut water = Grid::of(&dem).unwrap().raster(0u8);
        water.data[20..40].fill(WaterClass::NavigableRiver.code());
        let inputs = TerrainInputs {
            water: Some(&water),
            ..TerrainInputs::new(&dem)
        };
        let opts = SearchOptions::default();
        let s = terrain_surface(&inputs, &Scenario::walking()).unwrap();
        assert!(!s.passable(3, 1));
        let boat = Scenario {
            boat_speed_kmh: Some(10.0),
            ..Scenario::walking()
        };
        let s = terrain_surface(&inputs, &boat).unwrap();
        let tt = travel_time(&s, &[(0, 1)], &opts);
        assert_relative_eq!(
            f64::from(tt.time(19, 1).unwrap()),
            19.0 * CELL * 0.36,
            max_relative = 1e-4
        );
        // Land cover class 7 is impassable, class 3 halves off-path speed.
        let mut lc = dem.clone();
        lc.data.fill(3.0);
        lc.data[20..40].fill(7.0);
        let scenario = Scenario {
            land_cover: vec![
                super::super::scenario::LandCoverFactor {
                    code: 3,
                    factor: 0.5,
                },
                super::super::scenario::LandCoverFactor {
                    code: 7,
                    factor: 0.0,
                },
            ],
            ..Scenario::walking()
        };
        let inputs = TerrainInputs {
            land_cover: Some(&lc),
            ..TerrainInputs::new(&dem)
        };
        let s = terrain_surface(&inputs, &scenario).unwrap();
        assert!(!s.passable(5, 1));
        let tt = travel_time(&s, &[(0, 0)], &opts);
        assert_relative_eq!(
            f64::from(tt.time(19, 0).unwrap()),
            19.0 * CELL * pace(0.0) / 0.3,
            max_relative = 1e-4
        );
        assert_eq!(tt.time(0, 2), None);
    }

    #[test]
    fn walker_factor_and_max_slope() {
        let dem = plane(10, 1, 0.3, 0.0);
        let slow = Scenario::stretcher();
        let s = terrain_surface(&TerrainInputs::new(&dem), &slow).unwrap();
        let tt = travel_time(&s, &[(0, 0)], &SearchOptions::default());
        assert_relative_eq!(
            f64::from(tt.time(9, 0).unwrap()),
            9.0 * CELL * pace(-0.3) / (0.6 * 0.5),
            max_relative = 1e-4
        );
        let capped = Scenario {
            max_slope: Some(0.2),
            ..Scenario::walking()
        };
        let s = terrain_surface(&TerrainInputs::new(&dem), &capped).unwrap();
        assert_eq!(
            travel_time(&s, &[(0, 0)], &SearchOptions::default()).time(1, 0),
            None
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        let dem = plane(10, 10, 0.0, 0.0);
        let small = Raster::filled(5, 5, dem.transform, None, 0u8);
        let inputs = TerrainInputs {
            routes: Some(&small),
            ..TerrainInputs::new(&dem)
        };
        assert!(matches!(
            terrain_surface(&inputs, &Scenario::walking()),
            Err(FrictionError::Grid(GridError::Mismatch {
                what: "routes",
                ..
            }))
        ));
        let mut rotated = dem.clone();
        rotated.transform[2] = 1.0;
        assert!(terrain_surface(&TerrainInputs::new(&rotated), &Scenario::walking()).is_err());
        let bad = Scenario {
            off_path_factor: -1.0,
            ..Scenario::walking()
        };
        assert!(matches!(
            terrain_surface(&TerrainInputs::new(&dem), &bad),
            Err(FrictionError::Scenario(_))
        ));
    }
}
