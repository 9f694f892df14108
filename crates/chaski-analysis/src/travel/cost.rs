//! Multi-source shortest travel time over a raster (cost distance) with
//! allocation and back-pointers for routes.
//!
//! Dijkstra's algorithm (Dijkstra 1959) run from every source at once over a
//! 16-move neighbourhood: the 8 neighbours plus the 8 knight's moves, as GRASS
//! `r.cost -k` / `r.walk -k` do (Xu and Lathrop 1994 discuss the error of
//! 8 vs 16 moves). On a flat uniform grid the longest detour of the 16-move
//! lattice over the straight line is 2.75 % (at about 14° from an axis), 1.3 %
//! between 27° and 45°; with 8 moves ([`Neighbourhood::Queen8`], GRASS
//! `r.cost` without `-k`) it is 8.2 %. [`Neighbourhood::Extended24`] adds the
//! 8 moves of three cells by one, which bring the longest detour down to
//! 1.3 % in every direction, for about 1.5 times the work.
//!
//! **What a move costs.** A move costs the integral of pace along its straight
//! segment from cell centre to cell centre, for a pace that is constant within
//! each cell: the length `L` times the share of `L` in each cell it crosses
//! times that cell's pace ([`shares`]). Axis and diagonal moves lie half in
//! each end cell (`L/2 · (pace_a + pace_b)`, as `r.cost` costs them); a
//! knight's move lies a quarter in each of four cells, its two ends and the
//! two it passes between (`L/4 · Σ pace`, as `r.cost -k` averages them); a
//! three-by-one move lies 1/6 in each end cell and 1/3 in each of the two
//! cells it crosses. So no move hops over a slow cell (a steep step, a bog, a
//! slow land-cover class) at less than its share. A cell's pace is
//! `fixed + walk · p(s)` seconds per metre, `p` the inverse of Tobler's hiking
//! function (see [`tobler_kmh`]) and `s` the signed slope of the whole move,
//! from the elevation of the cell the traveller leaves to that of the cell
//! they enter over `L`; isotropic surfaces (a user's friction or speed raster)
//! have `walk = 0`.
//!
//! Impassable cells (nodata, barriers) are never entered, and a diagonal or
//! knight's move is refused when a cell it passes through is impassable (the
//! two orthogonal neighbours for a diagonal, the two intermediate cells for a
//! knight's move), so no move jumps over nodata or slips between the corners
//! of a river.
//!
//! By default ([`Direction::ToSource`]) times are for travel *from* each cell
//! *to* its nearest source (a facility), so the search, which grows from the
//! sources, costs each move with the slope the traveller meets walking towards
//! the source. [`Direction::FromSource`] gives travel away from the sources.
//!
//! Parameters: a [`CostSurface`], source cells `(col, row)`, and
//! [`SearchOptions`] (direction, optional maximum time in seconds).
//! Returns [`TravelTimes`]: seconds per cell (`f32`, `INFINITY` when
//! unreachable), the index of the nearest source, a back-pointer per cell and
//! the number of cells settled.
//!
//! Implementation: the queue is a radix heap over times quantised to just
//! under the cheapest possible move (cells sharing a key cannot improve one
//! another, so the result is exact); settled cells store their time negated
//! instead of using a separate flag; surfaces carry a three-cell impassable
//! border and a precomputed mask of allowed moves per cell, so the inner loop
//! has no bounds or barrier tests; each cell's time and costs sit together (8
//! bytes isotropic, 16 anisotropic). Large anisotropic grids are searched on
//! every core, with the same result (see `cost/parallel.rs`).
//!
//! # Example
//! ```
//! use chaski_analysis::travel::cost::{CostSurface, SearchOptions, travel_time};
//! use chaski_core::raster::Raster;
//!
//! // 5 x 3 cells of 10 m, walking at 3.6 km/h = 1 m/s; the middle of column 2
//! // is nodata.
//! let mut speed = Raster::filled(5, 3, [0.0, 10.0, 0.0, 30.0, 0.0, -10.0], None, 3.6f32);
//! speed.nodata = Some(-9999.0);
//! speed.data[7] = -9999.0;
//! let surface = CostSurface::from_speed_kmh(&speed).unwrap();
//! let tt = travel_time(&surface, &[(0, 1), (4, 1)], &SearchOptions::default());
//! assert!((tt.time(1, 1).unwrap() - 10.0).abs() < 1e-4);
//! assert_eq!(tt.time(2, 1), None);
//! assert_eq!(tt.source(3, 1), Some(1));
//! // (2, 0) is one knight's move from either source; (2, 2) likewise.
//! assert!((tt.time(2, 0).unwrap() - 500f32.sqrt()).abs() < 1e-3);
//! let route = tt.route(1, 0).unwrap();
//! assert_eq!(route.first(), Some(&(15.0, 25.0)));
//! assert_eq!(route.last(), Some(&(5.0, 15.0)));
//! ```

mod moves;
mod options;
mod parallel;
mod search;
mod surface;
mod times;
mod update;
mod window;

#[cfg(test)]
mod tests;

pub use moves::{MOVES, NO_MOVE, Neighbourhood, crossed, intermediates, opposite, shares};
pub use options::{Direction, SearchOptions};
pub use search::travel_time;
pub use surface::{CostSurface, NO_SOURCE, SurfaceChange, tobler_kmh};
pub use times::TravelTimes;
pub use update::update_travel_time;
pub use window::times_within;
