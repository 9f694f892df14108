//! What-if edits (a new facility, a closed one, a new path or bridge) applied
//! to prepared inputs, recomputing only what they change.

use super::error::TravelError;
use super::features::project_line;
use super::inputs::TravelInputs;
use super::layers::SurfaceModel;
use super::results::TravelResult;
use super::sources::{Facility, SourceFilter};
use crate::travel::cost::{SearchOptions, update_travel_time};
use crate::travel::rasterize::burn_line_string;
use crate::travel::scenario::{RouteClass, Scenario, WaterClass};
use geo::LineString;
use std::sync::Arc;
use std::time::Instant;

/// A what-if edit of the inputs; coordinates in longitude/latitude.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// A line burned into the class rasters as a feature of a paths or roads
    /// layer is: `route` on every cell it passes through, and `water` too
    /// (a [`WaterClass::Bridge`] makes the rivers it crosses passable at the
    /// route's speed; higher codes win, as in [`burn_layer`]).
    Line {
        /// The line (at least two vertices, each on the grid).
        line: LineString<f64>,
        /// Route class on it.
        route: RouteClass,
        /// Water class on it (None for a path or road).
        water: Option<WaterClass>,
    },
    /// A new facility, after the existing ones (it must lie on a cell with data).
    AddFacility(Facility),
    /// Remove every facility with this code.
    RemoveFacility(String),
}

/// What one edit did to the inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EditEffect {
    /// Grid cells the line passes through.
    pub cells: usize,
    /// Of those, cells of a river before the edit.
    pub river_cells: usize,
    /// Facilities removed.
    pub removed: usize,
}

/// Inputs with edits applied ([`TravelInputs::with_edits`]).
pub struct EditedInputs {
    /// The edited inputs.
    pub inputs: TravelInputs,
    /// For each of their facilities, its index among the unedited inputs' (None: added).
    pub origin: Vec<Option<usize>>,
    /// What each edit did, in order.
    pub effects: Vec<EditEffect>,
}

/// How a result with edits was computed ([`TravelInputs::run_edited`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recompute {
    /// Only cells whose time changed were searched again
    /// ([`update_travel_time`]): every edit made travel cheaper or removed sources.
    Incremental {
        /// Cells whose travel cost changed.
        changed_cells: usize,
    },
    /// The whole grid was searched again (an edit made some cell dearer).
    Full,
}

impl TravelInputs {
    /// A copy of these inputs with `edits` applied in order; the inputs
    /// themselves are left alone. Lines need the terrain model; each edit
    /// is checked: line vertices and facilities on the grid (facilities on a
    /// cell with data), bridges over at least one river cell, removed codes
    /// existing. Errors name the edit's index and field.
    pub fn with_edits(&self, edits: &[Edit]) -> Result<EditedInputs, TravelError> {
        let grid = self.grid();
        let raster = &self.metric.raster;
        let (mut routes, mut water) = (self.routes.clone(), self.water.clone());
        let mut facilities = self.facilities.clone();
        let mut origin: Vec<Option<usize>> = (0..facilities.len()).map(Some).collect();
        let mut effects = Vec::with_capacity(edits.len());
        let mut lines = 0;
        for (index, edit) in edits.iter().enumerate() {
            let fail = |field: &'static str, reason: String| TravelError::Edit {
                index,
                field,
                reason,
            };
            let mut effect = EditEffect::default();
            match edit {
                Edit::Line {
                    line,
                    route,
                    water: wclass,
                } => {
                    if self.model != SurfaceModel::Terrain {
                        return Err(fail(
                            "geometry",
                            "paths and bridges need the terrain model (the surface is a friction raster)"
                                .to_owned(),
                        ));
                    }
                    if line.0.len() < 2 {
                        return Err(fail(
                            "geometry",
                            "a line needs two or more vertices".to_owned(),
                        ));
                    }
                    let m = project_line(line, self.metric.projection.as_ref())
                        .map_err(|e| fail("geometry", e.to_string()))?;
                    for (k, (c, ll)) in m.0.iter().zip(&line.0).enumerate() {
                        if grid.cell_at(c.x, c.y).is_none() {
                            return Err(fail(
                                "geometry",
                                format!(
                                    "vertex {k} ({}, {}) is outside the travel-time grid (the DEM)",
                                    ll.x, ll.y
                                ),
                            ));
                        }
                    }
                    let mut mark = grid.raster(0u8);
                    burn_line_string(&mut mark, &m, 1)?;
                    let w = water.get_or_insert_with(|| grid.raster(0u8));
                    for (i, _) in mark.data.iter().enumerate().filter(|(_, v)| **v != 0) {
                        effect.cells += 1;
                        let code = WaterClass::from_code(w.data[i]);
                        if matches!(code, Some(WaterClass::River | WaterClass::NavigableRiver)) {
                            effect.river_cells += 1;
                        }
                    }
                    if *wclass == Some(WaterClass::Bridge) && effect.river_cells == 0 {
                        return Err(fail(
                            "geometry",
                            "the bridge crosses no river cell (draw it across a line of the rivers layer)"
                                .to_owned(),
                        ));
                    }
                    if let Some(wc) = wclass {
                        burn_line_string(w, &m, wc.code())?;
                    }
                    let r = routes.get_or_insert_with(|| grid.raster(0u8));
                    burn_line_string(r, &m, route.code())?;
                    lines += 1;
                }
                Edit::AddFacility(f) => {
                    let cell = self
                        .metric
                        .projection
                        .forward_one(f.lonlat.0, f.lonlat.1)
                        .ok()
                        .and_then(|(x, y)| grid.cell_at(x, y));
                    let on_data = cell.is_some_and(|(c, r)| {
                        let z = raster.data[r * grid.width + c];
                        z.is_finite() && !raster.is_nodata(z)
                    });
                    if !on_data {
                        return Err(fail(
                            "geometry",
                            format!(
                                "({}, {}) is outside the travel-time surface (off the DEM or on a cell without data)",
                                f.lonlat.0, f.lonlat.1
                            ),
                        ));
                    }
                    facilities.push(f.clone());
                    origin.push(None);
                }
                Edit::RemoveFacility(code) => {
                    let before = facilities.len();
                    let mut k = 0;
                    facilities.retain(|f| {
                        let keep = f.code != *code;
                        if keep {
                            k += 1;
                        } else {
                            origin.remove(k);
                        }
                        keep
                    });
                    effect.removed = before - facilities.len();
                    if effect.removed == 0 {
                        return Err(fail(
                            "code",
                            format!("no facility '{code}' in layer '{}'", self.facilities_layer),
                        ));
                    }
                }
            }
            effects.push(effect);
        }
        let mut burned = self.burned.clone();
        if lines > 0 {
            burned.push(("what-if".to_owned(), lines));
        }
        let inputs = Self {
            metric: Arc::clone(&self.metric),
            raster_name: self.raster_name.clone(),
            model: self.model,
            routes,
            water,
            burned,
            facilities_layer: self.facilities_layer.clone(),
            facilities,
            filter: self.filter.clone(),
            villages_layer: self.villages_layer.clone(),
            places: Arc::clone(&self.places),
            outside_extent: self.outside_extent,
            districts: self.districts.clone(),
            neighbourhood: self.neighbourhood,
            land_cover: self.land_cover.clone(),
        };
        Ok(EditedInputs {
            inputs,
            origin,
            effects,
        })
    }

    /// The search of `edited` (these inputs with edits) with `scenario`, from
    /// the facilities `filter` selects, reusing `base` (the search of these
    /// inputs with the same scenario, filter and direction): when the edits only
    /// make travel cheaper, add facilities or remove them, only the cells whose
    /// time changes are searched again ([`update_travel_time`]: the same times as
    /// a full search); otherwise the whole grid is.
    pub fn run_edited(
        &self,
        edited: &EditedInputs,
        base: &TravelResult,
        scenario: &Scenario,
        filter: &SourceFilter,
    ) -> Result<(TravelResult, Recompute), TravelError> {
        let accepted = |list: &[Facility]| -> Vec<usize> {
            list.iter()
                .enumerate()
                .filter(|(_, f)| filter.accepts(f.category.parse().ok(), f.birth_care))
                .map(|(i, _)| i)
                .collect()
        };
        let old_idx = accepted(&self.facilities);
        let new_idx = accepted(&edited.inputs.facilities);
        let sources: Vec<Facility> = new_idx
            .iter()
            .map(|&i| edited.inputs.facilities[i].clone())
            .collect();
        let what = format!("layer '{}' with the edits", self.facilities_layer);
        let name = edited.inputs.scenario_name(scenario);
        let surface = edited.inputs.surface(scenario)?;
        let same_base = base.sources.len() == old_idx.len()
            && old_idx
                .iter()
                .zip(&base.sources)
                .all(|(&i, s)| self.facilities[i] == *s);
        let change = if same_base && base.scenario == name {
            let before = self.surface(scenario)?;
            surface.changes_from(&before).filter(|c| c.cheaper_only)
        } else {
            None
        };
        let Some(change) = change else {
            let result = edited
                .inputs
                .run_on(&surface, &name, &sources, &what, base.settings())?;
            return Ok((result, Recompute::Full));
        };
        if sources.is_empty() {
            return Err(TravelError::Sources {
                what,
                reason: format!(
                    "no facility with a location matches the filter ({})",
                    filter.describe()
                ),
            });
        }
        // New index of each base source.
        let kept: Vec<Option<usize>> = old_idx
            .iter()
            .map(|&i| {
                new_idx
                    .iter()
                    .position(|&j| edited.origin.get(j).copied().flatten() == Some(i))
            })
            .collect();
        let cells = edited.inputs.source_cells(surface.grid(), &sources);
        let opts = SearchOptions {
            direction: base.direction,
            max_seconds: base.max_minutes.map(|m| m * 60.0),
            neighbourhood: base.neighbourhood,
        };
        let t0 = Instant::now();
        let times = update_travel_time(&surface, &base.times, &change.cells, &kept, &cells, &opts);
        tracing::debug!(elapsed = ?t0.elapsed(), cells = change.cells.len(), "update_travel_time");
        let result =
            edited
                .inputs
                .finish(times, &surface, &name, &sources, &what, base.settings())?;
        Ok((
            result,
            Recompute::Incremental {
                changed_cells: change.cells.len(),
            },
        ))
    }
}
