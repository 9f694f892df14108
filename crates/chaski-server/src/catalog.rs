//! The catalog of public layers served as tiles, rebuilt when the store's data
//! version changes.
//!
//! Building a catalog reads every public layer once, reprojects it to Web
//! Mercator and indexes it (see `chaski_tiles`); tile requests then only query.
//! Private layers (households) are never part of it: the private tile layers
//! `households` and `clusters` are built per caller scope by
//! [`crate::clusters::PrivateCache::layer`] and listed (in `GET /catalog` and
//! TileJSON) only for tokens whose role may see them.

use crate::config::ServerConfig;
use crate::error::ApiError;
use chaski_core::Layer;
use chaski_core::store::{LayerInfo, Store};
use chaski_tiles::{LayerSource, SourceOptions, TileCoord, TileSource};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One servable layer (cheap to clone: the source is shared).
#[derive(Clone)]
pub struct CatalogLayer {
    /// What the store says of it.
    pub info: LayerInfo,
    /// Lowest zoom with data.
    pub minzoom: u8,
    /// Highest zoom served.
    pub maxzoom: u8,
    /// The tile source.
    pub source: Arc<dyn TileSource>,
}

/// Every servable layer at one data version.
#[derive(Default)]
pub struct Catalog {
    /// The store's data version this catalog was built from.
    pub version: u64,
    /// Version of what the public tiles show: the store's data version when a
    /// public layer (or an input of the computed ones) last changed. Public
    /// tile URLs and the shared tile cache follow it, so an upload of private
    /// data leaves clients' cached tiles valid.
    pub tiles_version: u64,
    /// Layers by name.
    pub layers: BTreeMap<String, CatalogLayer>,
    /// Data versions of what the computed layers were made from (the `dem`
    /// raster and the layers the travel-time search reads).
    analysis_inputs: Vec<(String, u64)>,
    /// Names of the computed layers.
    computed: Vec<String>,
}

/// What the computed travel-time layers read (see [`crate::analysis_layers`]).
const ANALYSIS_LAYERS: [&str; 5] = ["facilities", "communities", "paths", "roads", "rivers"];

/// The JSON form of one layer in `GET /catalog`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LayerEntry<'a> {
    /// Layer name (the id in tile URLs).
    pub name: &'a str,
    /// Layer kind (`communities`, `facilities`, `boundaries`, ...).
    #[schema(value_type = String)]
    pub kind: chaski_core::LayerKind,
    /// Geometry type (OGC name: `POINT`, `MULTIPOLYGON`, ...).
    pub geometry_type: &'static str,
    /// Fields with their types (`text`, `int`, `real`, `bool`, `date`).
    #[schema(value_type = BTreeMap<String, String>)]
    pub fields: BTreeMap<&'a str, &'static str>,
    /// Bounds (west, south, east, north).
    pub bounds: Option<[f64; 4]>,
    /// Lowest zoom.
    pub minzoom: u8,
    /// Highest zoom.
    pub maxzoom: u8,
    /// Number of features.
    pub feature_count: usize,
    /// Data version of the layer's last write.
    pub version: u64,
    /// TileJSON of this layer alone.
    pub tilejson: String,
}

/// The `GET /catalog` entry of layer `name`, with its TileJSON URL under `base`.
pub fn entry<'a>(name: &'a str, l: &'a CatalogLayer, base: &str) -> LayerEntry<'a> {
    LayerEntry {
        name,
        kind: l.info.kind,
        geometry_type: l.info.geometry_type.ogc_name(),
        fields: l
            .info
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.ty.as_str()))
            .collect(),
        bounds: l.info.bounds,
        minzoom: l.minzoom,
        maxzoom: l.maxzoom,
        feature_count: l.info.feature_count,
        version: l.info.version,
        tilejson: format!("{base}/tiles/{name}.json"),
    }
}

/// Whether `name` was a computed layer of `previous` (a store layer of the
/// same name must then be read, not taken from it).
fn previous_computed(previous: Option<&Catalog>, name: &str) -> bool {
    previous.is_some_and(|p| p.computed.iter().any(|c| c == name))
}

impl Catalog {
    /// Build from the store's public layers (CPU and I/O heavy: call off the async runtime).
    pub fn build(store: &dyn Store, config: &ServerConfig) -> Result<Self, ApiError> {
        Self::rebuild(store, config, None)
    }

    /// Build again after the store changed, reusing from `previous` every
    /// layer whose own data version did not move and the computed layers when
    /// none of their inputs did: a household upload rebuilds nothing public.
    pub fn rebuild(
        store: &dyn Store,
        config: &ServerConfig,
        previous: Option<&Catalog>,
    ) -> Result<Self, ApiError> {
        let max_zoom = config.max_zoom;
        let version = store.version()?;
        let mut layers = BTreeMap::new();
        let options = SourceOptions {
            maxzoom: max_zoom,
            ..SourceOptions::default()
        };
        let make = |info: LayerInfo, layer: &Layer| -> Result<(String, CatalogLayer), ApiError> {
            let source = LayerSource::with_options(layer, options).map_err(ApiError::internal)?;
            Ok((
                info.name.clone(),
                CatalogLayer {
                    info,
                    minzoom: 0,
                    maxzoom: max_zoom,
                    source: Arc::new(source),
                },
            ))
        };
        let infos = store.layers()?;
        let mut reused = 0usize;
        for info in &infos {
            if info.kind.is_private() {
                continue;
            }
            let kept = previous.and_then(|p| p.layers.get(&info.name)).filter(|l| {
                l.info.version == info.version && !previous_computed(previous, &info.name)
            });
            if let Some(l) = kept {
                reused += 1;
                layers.insert(info.name.clone(), l.clone());
                continue;
            }
            let layer = store.read_layer(&info.name)?;
            let (name, l) = make(info.clone(), &layer)?;
            layers.insert(name, l);
        }
        // Every raster: the DEM is found among them (a new or renamed one may change it).
        let mut analysis_inputs: Vec<(String, u64)> = store
            .rasters()?
            .into_iter()
            .map(|r| (r.name, r.version))
            .collect();
        analysis_inputs.extend(
            infos
                .iter()
                .filter(|i| ANALYSIS_LAYERS.contains(&i.name.as_str()))
                .map(|i| (i.name.clone(), i.version)),
        );
        let mut computed = Vec::new();
        let same_inputs = previous.filter(|p| p.analysis_inputs == analysis_inputs);
        if let Some(p) = same_inputs.filter(|_| config.analysis_layers) {
            for name in &p.computed {
                if let Some(l) = p.layers.get(name)
                    && !infos.iter().any(|i| &i.name == name)
                {
                    layers.insert(name.clone(), l.clone());
                    computed.push(name.clone());
                    reused += 1;
                }
            }
        } else if config.analysis_layers {
            for layer in crate::analysis_layers::build(
                store,
                config.max_grid_cells,
                config.dem.as_deref(),
                config.underserved_minutes,
            ) {
                if infos.iter().any(|i| i.name == layer.name) {
                    continue;
                }
                computed.push(layer.name.clone());
                let info = LayerInfo {
                    name: layer.name.clone(),
                    kind: layer.kind,
                    geometry_type: layer.kind.geometry_type(),
                    fields: layer.fields.clone(),
                    feature_count: layer.len(),
                    bounds: chaski_core::store::layer_bounds(&layer),
                    version,
                };
                let (name, l) = make(info, &layer)?;
                layers.insert(name, l);
            }
        }
        if previous.is_some() {
            tracing::info!(
                version,
                reused,
                rebuilt = layers.len() - reused,
                "catalog refreshed"
            );
        }
        let unchanged = previous.filter(|p| {
            p.analysis_inputs == analysis_inputs
                && p.layers.len() == layers.len()
                && p.layers.iter().zip(&layers).all(|((na, a), (nb, b))| {
                    na == nb
                        && a.info.version == b.info.version
                        && Arc::ptr_eq(&a.source, &b.source)
                })
        });
        let tiles_version = unchanged.map_or(version, |p| p.tiles_version);
        Ok(Self {
            version,
            tiles_version,
            layers,
            analysis_inputs,
            computed,
        })
    }

    /// The public tile of the layers of `spec` (a comma list, in that order)
    /// at `coord`, uncompressed: what `GET /tiles/{spec}/{z}/{x}/{y}` serves
    /// and what `chaski export` packages (an empty `Vec` for an empty tile).
    /// CPU work: call off the async runtime.
    pub fn render(&self, spec: &str, coord: TileCoord) -> Result<Vec<u8>, ApiError> {
        render_layers(&self.resolve(spec)?, coord)
    }

    /// Resolve a comma list of layer names; unknown names give a 404 naming them.
    pub fn resolve<'a>(&'a self, spec: &str) -> Result<Vec<(&'a str, &'a CatalogLayer)>, ApiError> {
        let mut out = Vec::new();
        let mut unknown = Vec::new();
        for name in spec.split(',').map(str::trim) {
            if name.is_empty() {
                return Err(ApiError::BadRequest(format!(
                    "empty layer name in '{spec}': use a layer name or a comma list of names"
                )));
            }
            match self.layers.get_key_value(name) {
                Some((k, l)) => {
                    if !out.iter().any(|(n, _)| *n == k.as_str()) {
                        out.push((k.as_str(), l));
                    }
                }
                None => unknown.push(name.to_owned()),
            }
        }
        if !unknown.is_empty() {
            return Err(ApiError::NotFound(format!(
                "unknown layer{} {}: see /catalog for the layers served",
                if unknown.len() > 1 { "s" } else { "" },
                unknown
                    .iter()
                    .map(|u| format!("'{u}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(out)
    }
}

/// The tile of resolved `layers` at `coord` (one MVT layer each, in order):
/// the one render of public tiles ([`Catalog::render`]).
pub fn render_layers(
    layers: &[(&str, &CatalogLayer)],
    coord: TileCoord,
) -> Result<Vec<u8>, ApiError> {
    let sources: Vec<&dyn TileSource> = layers.iter().map(|(_, l)| l.source.as_ref()).collect();
    chaski_tiles::render(&sources, coord).map_err(ApiError::internal)
}

/// The union of the bounds of `layers` (None when none has bounds).
pub fn bounds_of(layers: &[(&str, &CatalogLayer)]) -> Option<[f64; 4]> {
    let mut bounds: Option<[f64; 4]> = None;
    for (_, l) in layers {
        if let Some(b) = l.info.bounds {
            bounds = Some(match bounds {
                None => b,
                Some(a) => [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ],
            });
        }
    }
    bounds
}

/// The TileJSON `vector_layers` of `layers`: id, description, fields (the
/// layer's and those the tiler adds), zooms.
pub fn vector_layers(layers: &[(&str, &CatalogLayer)]) -> Vec<Value> {
    layers
        .iter()
        .map(|(name, l)| {
            let fields: serde_json::Map<String, Value> = l
                .info
                .fields
                .iter()
                .map(|f| (f.name.clone(), Value::from(field_description(f.ty))))
                .chain(
                    l.source
                        .extra_fields()
                        .iter()
                        .map(|(n, d)| ((*n).to_owned(), Value::from(*d))),
                )
                .collect();
            json!({
                "id": name,
                "description": format!("{} ({})", name, l.info.kind),
                "fields": fields,
                "minzoom": l.minzoom,
                "maxzoom": l.maxzoom,
            })
        })
        .collect()
}

fn field_description(ty: chaski_core::FieldType) -> &'static str {
    match ty {
        chaski_core::FieldType::Text | chaski_core::FieldType::Date => "String",
        chaski_core::FieldType::Int | chaski_core::FieldType::Real => "Number",
        chaski_core::FieldType::Bool => "Boolean",
    }
}

/// A zoom at which `bounds` fits in about one 512 px view.
pub fn center_zoom(b: &[f64; 4]) -> u8 {
    let span = (b[2] - b[0]).max((b[3] - b[1]) * 1.5).max(1e-6);
    (360.0 / span).log2().floor().clamp(0.0, 22.0) as u8 + 1
}
