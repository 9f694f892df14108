//! The options of a run and the layers and rasters it reads from the store
//! (which raster is the DEM, which layers are burned), with errors that list
//! what the store holds.

use super::burn::derived_rivers;
use super::error::{TravelError, store_err};
use crate::travel::cost::Neighbourhood;
use crate::travel::vocab::{BirthCareFilter, CategoryFilter};
use chaski_core::Layer;
use chaski_core::raster::Raster;
use chaski_core::store::Store;

/// How the raster becomes a travel surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SurfaceModel {
    /// A DEM walked with the anisotropic Tobler model of a scenario, with
    /// paths, roads and rivers burned in.
    #[default]
    Terrain,
    /// A friction raster of speeds in km/h (0 or less: impassable).
    SpeedKmh,
    /// A friction raster of paces in seconds per metre.
    SecondsPerMetre,
}

/// What to read from the store and how.
#[derive(Debug, Clone, PartialEq)]
pub struct TravelOptions {
    /// DEM raster in the store (None: found by [`find_dem`]).
    pub dem: Option<String>,
    /// Facilities layer (default `facilities`).
    pub facilities: String,
    /// Villages layer (default `communities`; when it is the default and
    /// absent, there is no village table).
    pub villages: String,
    /// Also list villages outside the raster's extent (as outside the surface).
    pub all_villages: bool,
    /// District polygons layer.
    pub districts: Option<String>,
    /// Paths layer (None: `paths` when present; `none` to skip).
    pub paths: Option<String>,
    /// Roads layer (None: `roads` when present; `none` to skip).
    pub roads: Option<String>,
    /// Rivers layer (None: `rivers` when present; `none` to skip; `dem` or
    /// `dem:KM2` to derive streams from the DEM, see [`derived_rivers`]).
    pub rivers: Option<String>,
    /// Categories of the sources (e.g. `>=I-3`).
    pub category: Option<CategoryFilter>,
    /// Birth care of the sources.
    pub birth_care: Option<BirthCareFilter>,
    /// Cell size in metres when warping a geographic raster (default: its own resolution).
    pub cell: Option<f64>,
    /// Terrain model or friction raster.
    pub model: SurfaceModel,
    /// Refuse grids of more cells than this.
    pub max_cells: Option<usize>,
    /// Moves of the searches (default: 16, as GRASS `r.cost -k`).
    pub neighbourhood: Neighbourhood,
    /// Land-cover raster in the store (class codes; the scenario's
    /// `land_cover` table gives each class its off-path factor).
    pub land_cover: Option<String>,
}

impl Default for TravelOptions {
    fn default() -> Self {
        Self {
            dem: None,
            facilities: "facilities".to_owned(),
            villages: "communities".to_owned(),
            all_villages: false,
            districts: None,
            paths: None,
            roads: None,
            rivers: None,
            category: None,
            birth_care: None,
            cell: None,
            model: SurfaceModel::Terrain,
            max_cells: None,
            neighbourhood: Neighbourhood::default(),
            land_cover: None,
        }
    }
}

/// The store's layers a run reads.
#[derive(Debug, Clone)]
pub struct StoreLayers {
    /// Facilities.
    pub facilities: Layer,
    /// Villages, when present.
    pub villages: Option<Layer>,
    /// Districts, when asked for.
    pub districts: Option<Layer>,
    /// Paths, roads and rivers to burn (terrain model only).
    pub lines: Vec<Layer>,
    /// Land-cover classes (terrain model only), as stored.
    pub land_cover: Option<Raster<f32>>,
}

/// The line layer to use for `option`: the name given, or the default when present.
fn names_in_words(names: &[String]) -> String {
    if names.is_empty() {
        "no layers".to_owned()
    } else {
        format!(
            "layers {}",
            names
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn line_layer(
    names: &[String],
    given: Option<&str>,
    default: &str,
    option: &'static str,
) -> Result<Option<String>, TravelError> {
    match given {
        Some(n) if n.eq_ignore_ascii_case("none") => Ok(None),
        Some(n) if names.iter().any(|x| x == n) => Ok(Some(n.to_owned())),
        Some(n) => Err(TravelError::MissingLayer {
            layer: n.to_owned(),
            option,
            available: names_in_words(names),
        }),
        None if names.iter().any(|x| x == default) => Ok(Some(default.to_owned())),
        None => Ok(None),
    }
}

/// What a store holds, in words for error messages: its vector layers and rasters.
pub fn store_contents(store: &dyn Store) -> String {
    let layers: Vec<String> = store
        .layers()
        .map(|l| {
            l.into_iter()
                .map(|i| format!("'{}' ({})", i.name, i.kind))
                .collect()
        })
        .unwrap_or_default();
    let rasters: Vec<String> = store
        .rasters()
        .map(|r| r.into_iter().map(|i| format!("'{}'", i.name)).collect())
        .unwrap_or_default();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    format!("layers {} and rasters {}", list(&layers), list(&rasters))
}

/// The store's DEM: the raster `named` (`--dem`) when given; else the raster
/// called `dem`; else the store's only raster that is not `land_cover`.
/// Errors say why and list what the store holds.
pub fn find_dem(
    store: &dyn Store,
    named: Option<&str>,
    land_cover: Option<&str>,
) -> Result<String, TravelError> {
    let rasters: Vec<String> = store
        .rasters()
        .map_err(store_err("listing the store's rasters"))?
        .into_iter()
        .map(|r| r.name)
        .collect();
    let err = |reason: String| TravelError::Dem {
        reason,
        available: store_contents(store),
    };
    if let Some(n) = named {
        return if rasters.iter().any(|r| r == n) {
            Ok(n.to_owned())
        } else {
            Err(err(format!("no raster named '{n}' (the DEM named)")))
        };
    }
    if rasters.iter().any(|r| r == "dem") {
        return Ok("dem".to_owned());
    }
    let candidates: Vec<&String> = rasters
        .iter()
        .filter(|r| Some(r.as_str()) != land_cover)
        .collect();
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(err(
            "no elevation raster (DEM) in the store: import one with \
             `chaski import FILE.tif --layer dem`"
                .to_owned(),
        )),
        several => Err(err(format!(
            "{} rasters could be the DEM ({}): name the one to use",
            several.len(),
            several
                .iter()
                .map(|r| format!("'{r}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Read the layers `opts` names from `store`.
pub fn read_layers(store: &dyn Store, opts: &TravelOptions) -> Result<StoreLayers, TravelError> {
    let names: Vec<String> = store
        .layers()
        .map_err(store_err("listing the store's layers"))?
        .into_iter()
        .map(|l| l.name)
        .collect();
    let read = |name: &str, what: &str| {
        store
            .read_layer(name)
            .map_err(store_err(format!("reading the {what} layer '{name}'")))
    };
    let facilities = read(&opts.facilities, "facilities")?;
    let villages = if names.iter().any(|n| n == &opts.villages) {
        Some(read(&opts.villages, "villages")?)
    } else if opts.villages == "communities" {
        tracing::warn!("no 'communities' layer in the store: no village table");
        None
    } else {
        return Err(TravelError::MissingLayer {
            layer: opts.villages.clone(),
            option: "villages",
            available: store_contents(store),
        });
    };
    let districts = match &opts.districts {
        Some(d) if names.iter().any(|n| n == d) => {
            let layer = read(d, "districts")?;
            if !matches!(
                layer.kind.geometry_type(),
                chaski_core::layer::GeometryType::MultiPolygon
            ) {
                return Err(TravelError::NotPolygons {
                    layer: d.clone(),
                    option: "districts",
                    holds: format!(
                        "{} ({})",
                        layer.kind.geometry_type().ogc_name().to_ascii_lowercase(),
                        layer.kind
                    ),
                });
            }
            Some(layer)
        }
        Some(d) => {
            return Err(TravelError::MissingLayer {
                layer: d.clone(),
                option: "districts",
                available: store_contents(store),
            });
        }
        None => None,
    };
    let mut lines = Vec::new();
    if opts.model == SurfaceModel::Terrain {
        for (given, default, option) in [
            (opts.paths.as_deref(), "paths", "paths"),
            (opts.roads.as_deref(), "roads", "roads"),
            (opts.rivers.as_deref(), "rivers", "rivers"),
        ] {
            if option == "rivers" && derived_rivers(given)?.is_some() {
                continue;
            }
            if let Some(name) = line_layer(&names, given, default, option)? {
                lines.push(read(&name, option)?);
            }
        }
    }
    let land_cover = match &opts.land_cover {
        Some(name) if opts.model == SurfaceModel::Terrain => Some(
            store
                .read_raster(name)
                .map_err(store_err(format!("reading the land-cover raster '{name}'")))?,
        ),
        _ => None,
    };
    Ok(StoreLayers {
        facilities,
        villages,
        districts,
        lines,
        land_cover,
    })
}
