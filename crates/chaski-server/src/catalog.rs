//! The catalog of public layers served as tiles, rebuilt when the store's data
//! version changes.
//!
//! Building a catalog reads every public layer once, reprojects it to Web
//! Mercator and indexes it (see `chaski_tiles`); tile requests then only query.
//! Private layers (households) are never part of it: the private tile layers
//! `households` and `clusters` are built per caller scope by
//! [`crate::clusters::private_layer`] and listed (in `GET /catalog` and
//! TileJSON) only for tokens whose role may see them.

use crate::config::ServerConfig;
use crate::error::ApiError;
use chaski_core::Layer;
use chaski_core::store::{LayerInfo, Store};
use chaski_tiles::{LayerSource, SourceOptions, TileSource};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One servable layer.
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
    /// Layers by name.
    pub layers: BTreeMap<String, CatalogLayer>,
}

/// The JSON form of one layer in `GET /catalog`.
#[derive(Debug, Serialize)]
pub struct LayerEntry<'a> {
    /// Layer name (the id in tile URLs).
    pub name: &'a str,
    /// Layer kind.
    pub kind: chaski_core::LayerKind,
    /// Geometry type.
    pub geometry_type: &'static str,
    /// Fields with their types.
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

impl Catalog {
    /// Build from the store's public layers (CPU and I/O heavy: call off the async runtime).
    pub fn build(store: &dyn Store, config: &ServerConfig) -> Result<Self, ApiError> {
        let max_zoom = config.max_zoom;
        let version = store.version()?;
        let mut layers = BTreeMap::new();
        let options = SourceOptions {
            maxzoom: max_zoom,
            ..SourceOptions::default()
        };
        let mut add = |info: LayerInfo, layer: &Layer| -> Result<(), ApiError> {
            let source = LayerSource::with_options(layer, options).map_err(ApiError::internal)?;
            layers.insert(
                info.name.clone(),
                CatalogLayer {
                    info,
                    minzoom: 0,
                    maxzoom: max_zoom,
                    source: Arc::new(source),
                },
            );
            Ok(())
        };
        let infos = store.layers()?;
        for info in &infos {
            if info.kind.is_private() {
                continue;
            }
            let layer = store.read_layer(&info.name)?;
            add(info.clone(), &layer)?;
        }
        if config.analysis_layers {
            for layer in crate::analysis_layers::build(store, config.max_grid_cells) {
                if infos.iter().any(|i| i.name == layer.name) {
                    continue;
                }
                let info = LayerInfo {
                    name: layer.name.clone(),
                    kind: layer.kind,
                    geometry_type: layer.kind.geometry_type(),
                    fields: layer.fields.clone(),
                    feature_count: layer.len(),
                    bounds: chaski_core::store::layer_bounds(&layer),
                    version,
                };
                add(info, &layer)?;
            }
        }
        Ok(Self { version, layers })
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
