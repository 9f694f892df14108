//! Access to care per village and per district, read off a travel-time grid.
//!
//! [`village_access`] gives, for each village point, the travel time to (or
//! from) the nearest source and which source that is (the allocation of
//! [`super::cost::travel_time`]). A village that cannot be given a time is
//! never given one: it gets `None` and a [`AccessStatus`] saying why:
//!
//! - [`AccessStatus::OutsideSurface`]: the point is outside the grid, or on a
//!   cell without data in the input surface (DEM or friction nodata, e.g.
//!   outside the basin a DEM was clipped to);
//! - [`AccessStatus::Impassable`]: the cell has data but the scenario makes it
//!   impassable (a river without a bridge or ford, a land cover with factor 0);
//! - [`AccessStatus::NotReached`]: the cell is passable but no source reached
//!   it (beyond the search's time limit, or cut off by barriers).
//!
//! The time of a village is the time of the cell containing it (cell `(c, r)`
//! covers `[c, c+1) × [r, r+1)` in grid coordinates), in minutes as `f64`,
//! not rounded.
//!
//! [`district_summary`] counts villages and population per district polygon
//! within cumulative time thresholds (by default 60, 120 and 240 minutes),
//! beyond the last threshold (reached later or not reached at all), and without
//! a time (outside the surface or on an impassable cell). Villages are assigned
//! to the first district polygon that contains them (boundary included);
//! population is summed only over villages that have one, and villages without
//! are counted apart.
//!
//! Parameters: a [`TravelTimes`], the [`CostSurface`] it was searched on, a
//! test for "this cell has data", and the villages in the grid's CRS. Returns
//! one [`VillageAccess`] per village, in order.
//!
//! # Example
//! ```
//! use chaski_analysis::travel::village_access::{AccessStatus, Village, village_access};
//! use chaski_analysis::travel::cost::{CostSurface, SearchOptions, travel_time};
//! use chaski_core::raster::Raster;
//!
//! // 5 x 3 cells of 10 m at 3.6 km/h (1 m/s); the middle cell has no data.
//! let mut speed = Raster::filled(5, 3, [0.0, 10.0, 0.0, 30.0, 0.0, -10.0], None, 3.6f32);
//! speed.nodata = Some(-9999.0);
//! speed.data[7] = -9999.0;
//! let surface = CostSurface::from_speed_kmh(&speed).unwrap();
//! let tt = travel_time(&surface, &[(0, 1), (4, 1)], &SearchOptions::default());
//! let villages = [
//!     Village::new("A", "next to the first facility", 15.0, 15.0), // cell (1, 1)
//!     Village::new("B", "on the nodata cell", 25.0, 15.0),         // cell (2, 1)
//!     Village::new("C", "off the grid", 95.0, 15.0),
//! ];
//! let has_data = |c: usize, r: usize| !speed.is_nodata(speed.data[r * 5 + c]);
//! let codes = ["F1".to_owned(), "F2".to_owned()];
//! let out = village_access(&tt, &surface, has_data, &villages, &codes);
//! // One 10 m move at 1 m/s: 10 s.
//! assert!((out[0].minutes.unwrap() - 10.0 / 60.0).abs() < 1e-6);
//! assert_eq!(out[0].facility.as_deref(), Some("F1"));
//! assert_eq!(out[1].status, AccessStatus::OutsideSurface);
//! assert_eq!(out[1].minutes, None);
//! assert_eq!(out[2].status.reason(), "outside the surface");
//! ```

use super::cost::{CostSurface, TravelTimes};
use geo::{BoundingRect, Intersects, MultiPolygon, Point, Rect};

/// Inputs of an access summary are inconsistent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// Thresholds must be positive, finite and strictly ascending.
    #[error(
        "time thresholds {thresholds:?} (minutes) must be positive, finite and strictly ascending"
    )]
    Thresholds {
        /// The thresholds given.
        thresholds: Vec<f64>,
    },
    /// The per-village results do not line up with the villages.
    #[error("{access} access results for {villages} villages")]
    Mismatch {
        /// Number of villages.
        villages: usize,
        /// Number of results.
        access: usize,
    },
}

/// A village (populated place) located in the grid's CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Village {
    /// Village code (e.g. the INEI centro poblado code).
    pub code: String,
    /// Village name (may be empty).
    pub name: String,
    /// Inhabitants, when known.
    pub population: Option<u64>,
    /// Easting in the grid's CRS.
    pub x: f64,
    /// Northing in the grid's CRS.
    pub y: f64,
}

impl Village {
    /// A village without a known population.
    pub fn new(code: impl Into<String>, name: impl Into<String>, x: f64, y: f64) -> Self {
        Self {
            code: code.into(),
            name: name.into(),
            population: None,
            x,
            y,
        }
    }
}

/// Why a village has, or has not, a travel time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessStatus {
    /// Reached: it has a time and a nearest source.
    Reached,
    /// Outside the grid or on a cell without data: no time.
    OutsideSurface,
    /// On a cell with data that the scenario makes impassable: no time.
    Impassable,
    /// On a passable cell that no source reached (time limit, barriers): no time.
    NotReached,
}

impl AccessStatus {
    /// Every status, in output order.
    pub const ALL: [AccessStatus; 4] = [
        Self::Reached,
        Self::OutsideSurface,
        Self::Impassable,
        Self::NotReached,
    ];

    /// The status as written in tables: `reached`, `outside the surface`,
    /// `on an impassable cell` or `not reached`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Reached => "reached",
            Self::OutsideSurface => "outside the surface",
            Self::Impassable => "on an impassable cell",
            Self::NotReached => "not reached",
        }
    }
}

impl std::fmt::Display for AccessStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.reason())
    }
}

/// Access of one village.
#[derive(Debug, Clone, PartialEq)]
pub struct VillageAccess {
    /// Cell (col, row) containing the village; None outside the grid.
    pub cell: Option<(usize, usize)>,
    /// Minutes to (or from) the nearest source; None unless reached.
    pub minutes: Option<f64>,
    /// Index of the nearest source; None unless reached.
    pub source: Option<usize>,
    /// Code of the nearest source (from the codes given); None unless reached.
    pub facility: Option<String>,
    /// Why there is or is not a time.
    pub status: AccessStatus,
}

/// Travel time and nearest source of each village. See the [module documentation](self).
///
/// `has_data(col, row)` tells whether the input surface (DEM or friction
/// raster) has data at a cell of the grid; `source_codes[i]` names source `i`
/// (a missing code leaves [`VillageAccess::facility`] empty).
pub fn village_access(
    times: &TravelTimes,
    surface: &CostSurface,
    has_data: impl Fn(usize, usize) -> bool,
    villages: &[Village],
    source_codes: &[String],
) -> Vec<VillageAccess> {
    let grid = &times.grid;
    villages
        .iter()
        .map(|v| {
            let cell = grid.cell_at(v.x, v.y);
            let Some((c, r)) = cell else {
                return VillageAccess {
                    cell,
                    minutes: None,
                    source: None,
                    facility: None,
                    status: AccessStatus::OutsideSurface,
                };
            };
            let (minutes, source) = match (times.time(c, r), times.source(c, r)) {
                (Some(t), Some(s)) => (Some(f64::from(t) / 60.0), Some(s)),
                _ => (None, None),
            };
            let status = if minutes.is_some() {
                AccessStatus::Reached
            } else if !has_data(c, r) {
                AccessStatus::OutsideSurface
            } else if !surface.passable(c, r) {
                AccessStatus::Impassable
            } else {
                AccessStatus::NotReached
            };
            VillageAccess {
                cell,
                minutes,
                source,
                facility: source.and_then(|s| source_codes.get(s).cloned()),
                status,
            }
        })
        .collect()
}

/// A district (or any planning unit) polygon in the villages' CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct District {
    /// District code (ubigeo).
    pub code: String,
    /// District name.
    pub name: String,
    /// Its area.
    pub polygons: MultiPolygon<f64>,
}

/// Villages and the population they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count {
    /// Villages.
    pub villages: usize,
    /// Sum of the known populations of those villages.
    pub population: u64,
    /// Villages among them whose population is known.
    pub with_population: usize,
}

impl Count {
    fn add(&mut self, v: &Village) {
        self.villages += 1;
        if let Some(p) = v.population {
            self.population += p;
            self.with_population += 1;
        }
    }

    /// The population: None when the count holds villages and none of them
    /// has a known one (unknown is not zero); 0 for no village.
    pub fn known_population(&self) -> Option<u64> {
        (self.with_population > 0 || self.villages == 0).then_some(self.population)
    }
}

/// Access summary of one district.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictAccess {
    /// District code.
    pub code: String,
    /// District name.
    pub name: String,
    /// Every village in the district.
    pub total: Count,
    /// Villages in the district without a known population.
    pub without_population: usize,
    /// For each threshold (minutes): villages reached within it (cumulative).
    pub within: Vec<(f64, Count)>,
    /// For each threshold (minutes): villages reached after it, or not reached.
    pub beyond_each: Vec<(f64, Count)>,
    /// Villages reached after the last threshold, or not reached at all.
    pub beyond: Count,
    /// Villages without a time (outside the surface or on an impassable cell).
    pub no_time: Count,
}

/// Access per district, plus the villages inside no district.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictSummary {
    /// One entry per district, in input order.
    pub districts: Vec<DistrictAccess>,
    /// Villages inside no district polygon.
    pub unassigned: Count,
}

/// Count villages and population per district within `thresholds` minutes.
/// See the [module documentation](self).
pub fn district_summary(
    districts: &[District],
    villages: &[Village],
    access: &[VillageAccess],
    thresholds: &[f64],
) -> Result<DistrictSummary, SummaryError> {
    if villages.len() != access.len() {
        return Err(SummaryError::Mismatch {
            villages: villages.len(),
            access: access.len(),
        });
    }
    let ascending = thresholds.windows(2).all(|w| w[0] < w[1]);
    if !ascending || thresholds.iter().any(|t| !t.is_finite() || *t <= 0.0) {
        return Err(SummaryError::Thresholds {
            thresholds: thresholds.to_vec(),
        });
    }
    let bounds: Vec<Option<Rect<f64>>> = districts
        .iter()
        .map(|d| d.polygons.bounding_rect())
        .collect();
    let mut out: Vec<DistrictAccess> = districts
        .iter()
        .map(|d| DistrictAccess {
            code: d.code.clone(),
            name: d.name.clone(),
            total: Count::default(),
            without_population: 0,
            within: thresholds.iter().map(|&t| (t, Count::default())).collect(),
            beyond_each: thresholds.iter().map(|&t| (t, Count::default())).collect(),
            beyond: Count::default(),
            no_time: Count::default(),
        })
        .collect();
    let mut unassigned = Count::default();
    for (v, a) in villages.iter().zip(access) {
        let p = Point::new(v.x, v.y);
        let inside = |r: &Rect<f64>| {
            let (lo, hi) = (r.min(), r.max());
            v.x >= lo.x && v.x <= hi.x && v.y >= lo.y && v.y <= hi.y
        };
        // Interior or boundary: the first district wins on shared borders.
        let found = districts
            .iter()
            .zip(&bounds)
            .position(|(d, b)| b.as_ref().is_some_and(inside) && d.polygons.intersects(&p));
        let Some(entry) = found.and_then(|i| out.get_mut(i)) else {
            unassigned.add(v);
            continue;
        };
        entry.total.add(v);
        if v.population.is_none() {
            entry.without_population += 1;
        }
        match (a.status, a.minutes) {
            (AccessStatus::Reached, Some(m)) => {
                let mut any = false;
                for ((t, within), (_, beyond)) in
                    entry.within.iter_mut().zip(&mut entry.beyond_each)
                {
                    if m <= *t {
                        within.add(v);
                        any = true;
                    } else {
                        beyond.add(v);
                    }
                }
                if !any {
                    entry.beyond.add(v);
                }
            }
            (AccessStatus::NotReached, _) => {
                entry.beyond.add(v);
                for (_, beyond) in &mut entry.beyond_each {
                    beyond.add(v);
                }
            }
            _ => entry.no_time.add(v),
        }
    }
    Ok(DistrictSummary {
        districts: out,
        unassigned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::travel::cost::{SearchOptions, travel_time};
    use approx::assert_relative_eq;
    use chaski_core::raster::Raster;
    use geo::{LineString, Polygon};

    const NODATA: f32 = -9999.0;

    /// 5 x 3 cells of 10 m at 1 m/s, origin (0, 30); cell (2, 1) is nodata.
    fn speed() -> Raster<f32> {
        let mut r = Raster::filled(5, 3, [0.0, 10.0, 0.0, 30.0, 0.0, -10.0], None, 3.6f32);
        r.nodata = Some(f64::from(NODATA));
        r.data[7] = NODATA;
        r
    }

    fn at(c: usize, r: usize, code: &str) -> Village {
        Village::new(
            code,
            code,
            10.0 * c as f64 + 5.0,
            30.0 - 10.0 * r as f64 - 5.0,
        )
    }

    fn run(
        raster: &Raster<f32>,
        surface: &CostSurface,
        max_seconds: Option<f64>,
        villages: &[Village],
    ) -> Vec<VillageAccess> {
        let opts = SearchOptions {
            max_seconds,
            ..SearchOptions::default()
        };
        let tt = travel_time(surface, &[(0, 1), (4, 1)], &opts);
        let codes = vec!["WEST".to_owned(), "EAST".to_owned()];
        village_access(
            &tt,
            surface,
            |c, r| !raster.is_nodata(raster.data[r * raster.width + c]),
            villages,
            &codes,
        )
    }

    #[test]
    fn times_and_nearest_facility_match_hand_computation() {
        let raster = speed();
        let surface = CostSurface::from_speed_kmh(&raster).unwrap();
        let villages = [
            at(0, 1, "on-west"),
            at(1, 1, "one-east-of-west"),
            at(3, 0, "diagonal-of-east"),
            at(1, 2, "diagonal-of-west"),
            at(2, 0, "knight-of-both"),
        ];
        let out = run(&raster, &surface, None, &villages);
        // A facility's own cell: 0.
        assert_eq!(out[0].minutes, Some(0.0));
        assert_eq!(out[0].facility.as_deref(), Some("WEST"));
        // One axis move of 10 m at 1 m/s.
        assert_relative_eq!(out[1].minutes.unwrap(), 10.0 / 60.0, max_relative = 1e-6);
        // One diagonal move: 10 sqrt 2 m.
        assert_relative_eq!(
            out[2].minutes.unwrap(),
            200f64.sqrt() / 60.0,
            max_relative = 1e-6
        );
        assert_eq!(out[2].facility.as_deref(), Some("EAST"));
        assert_eq!(out[2].source, Some(1));
        assert_eq!(out[3].facility.as_deref(), Some("WEST"));
        // (2, 0) is one knight's move (10 sqrt 5 m) from either; the first source wins ties.
        assert_relative_eq!(
            out[4].minutes.unwrap(),
            500f64.sqrt() / 60.0,
            max_relative = 1e-6
        );
        assert!(out.iter().all(|a| a.status == AccessStatus::Reached));
    }

    #[test]
    fn no_time_is_ever_given_off_the_surface() {
        let raster = speed();
        let mut surface = CostSurface::from_speed_kmh(&raster).unwrap();
        // A barrier on a cell with data (as a river would be).
        surface.block(1, 0);
        let villages = [
            at(2, 1, "nodata"),
            Village::new("west-of-grid", "", -0.001, 15.0),
            Village::new("top-edge", "", 45.0, 30.0),
            Village::new("south-edge", "", 15.0, 0.0),
            at(1, 0, "river"),
            at(3, 2, "far"),
            at(1, 1, "near"),
        ];
        // At most 12 s: (3, 2) is 14.1 s from the east facility.
        let out = run(&raster, &surface, Some(12.0), &villages);
        let status: Vec<AccessStatus> = out.iter().map(|a| a.status).collect();
        assert_eq!(
            status,
            vec![
                AccessStatus::OutsideSurface,
                AccessStatus::OutsideSurface,
                // y = 30 is the top edge, in row 0: cell (4, 0), 10 s from the east.
                AccessStatus::Reached,
                // y = 0 is the bottom edge, just below row 2.
                AccessStatus::OutsideSurface,
                AccessStatus::Impassable,
                AccessStatus::NotReached,
                AccessStatus::Reached,
            ]
        );
        for a in &out {
            assert_eq!(a.minutes.is_some(), a.status == AccessStatus::Reached);
            assert_eq!(a.facility.is_some(), a.status == AccessStatus::Reached);
        }
        assert_eq!(out[1].cell, None);
        assert_eq!(out[0].cell, Some((2, 1)));
        assert_eq!(out[2].cell, Some((4, 0)));
        assert_relative_eq!(out[2].minutes.unwrap(), 10.0 / 60.0, max_relative = 1e-6);
        assert_eq!(out[2].facility.as_deref(), Some("EAST"));
    }

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
        MultiPolygon::new(vec![Polygon::new(
            LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            Vec::new(),
        )])
    }

    fn access(minutes: Option<f64>, status: AccessStatus) -> VillageAccess {
        VillageAccess {
            cell: None,
            minutes,
            source: minutes.map(|_| 0),
            facility: None,
            status,
        }
    }

    #[test]
    fn district_counts_by_band() {
        let districts = [
            District {
                code: "050501".into(),
                name: "San Miguel".into(),
                polygons: square(0.0, 0.0, 100.0, 100.0),
            },
            District {
                code: "050508".into(),
                name: "Tambo".into(),
                polygons: square(100.0, 0.0, 200.0, 100.0),
            },
        ];
        let v = |x: f64, pop: Option<u64>| Village {
            population: pop,
            ..Village::new("v", "v", x, 50.0)
        };
        let villages = [
            v(10.0, Some(100)),   // 30 min
            v(20.0, Some(50)),    // 60 min exactly: within 60
            v(30.0, None),        // 90 min, population unknown
            v(40.0, Some(7)),     // 300 min: beyond
            v(50.0, Some(11)),    // not reached: beyond
            v(60.0, Some(13)),    // outside the surface: no time
            v(150.0, Some(1000)), // 200 min, second district
            v(100.0, Some(5)),    // on the shared border: the first district
            v(500.0, Some(9)),    // in no district
        ];
        let acc = [
            access(Some(30.0), AccessStatus::Reached),
            access(Some(60.0), AccessStatus::Reached),
            access(Some(90.0), AccessStatus::Reached),
            access(Some(300.0), AccessStatus::Reached),
            access(None, AccessStatus::NotReached),
            access(None, AccessStatus::OutsideSurface),
            access(Some(200.0), AccessStatus::Reached),
            access(Some(1.0), AccessStatus::Reached),
            access(Some(1.0), AccessStatus::Reached),
        ];
        let s = district_summary(&districts, &villages, &acc, &[60.0, 120.0, 240.0]).unwrap();
        let a = &s.districts[0];
        assert_eq!(
            a.total,
            Count {
                villages: 7,
                population: 100 + 50 + 7 + 11 + 13 + 5,
                with_population: 6,
            }
        );
        assert_eq!(a.without_population, 1);
        let within: Vec<(usize, u64)> = a
            .within
            .iter()
            .map(|(_, c)| (c.villages, c.population))
            .collect();
        assert_eq!(within, vec![(3, 155), (4, 155), (4, 155)]);
        // Beyond each threshold: reached later, or not reached.
        let beyond: Vec<(usize, u64)> = a
            .beyond_each
            .iter()
            .map(|(_, c)| (c.villages, c.population))
            .collect();
        assert_eq!(beyond, vec![(3, 7 + 11), (2, 18), (2, 18)]);
        assert_eq!(
            a.beyond,
            Count {
                villages: 2,
                population: 18,
                with_population: 2,
            }
        );
        assert_eq!(
            a.no_time,
            Count {
                villages: 1,
                population: 13,
                with_population: 1,
            }
        );
        // Unknown is not zero: a count of villages without population has none.
        let unknown = Count {
            villages: 3,
            ..Count::default()
        };
        assert_eq!(unknown.known_population(), None);
        assert_eq!(a.total.known_population(), Some(186));
        let b = &s.districts[1];
        assert_eq!(b.total.population, 1000);
        assert_eq!(b.within[0].1.villages, 0);
        assert_eq!(b.within[1].1.villages, 0);
        assert_eq!(
            b.within[2].1,
            Count {
                villages: 1,
                population: 1000,
                with_population: 1,
            }
        );
        assert_eq!(
            s.unassigned,
            Count {
                villages: 1,
                population: 9,
                with_population: 1,
            }
        );
        // Every village of a district is in exactly one of: within the last band, beyond, no time.
        for d in &s.districts {
            let last = d.within.last().unwrap().1;
            assert_eq!(
                last.villages + d.beyond.villages + d.no_time.villages,
                d.total.villages
            );
        }
    }

    #[test]
    fn bad_summary_inputs_are_errors() {
        let villages = [Village::new("v", "", 0.0, 0.0)];
        assert!(matches!(
            district_summary(&[], &villages, &[], &[60.0]),
            Err(SummaryError::Mismatch {
                villages: 1,
                access: 0
            })
        ));
        let acc = [access(None, AccessStatus::NotReached)];
        for bad in [vec![120.0, 60.0], vec![0.0, 60.0], vec![f64::NAN]] {
            assert!(matches!(
                district_summary(&[], &villages, &acc, &bad),
                Err(SummaryError::Thresholds { .. })
            ));
        }
        let ok = district_summary(&[], &villages, &acc, &[]).unwrap();
        assert_eq!(ok.unassigned.villages, 1);
    }
}
