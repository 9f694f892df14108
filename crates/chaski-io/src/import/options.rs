//! How to import a file: [`ImportOptions`], the expected [`Region`], and the
//! layer kind they resolve to.

use super::error::ImportError;
use crate::mapping::Mapping;
use chaski_core::layer::LayerKind;
use serde::Serialize;

/// The area where valid data is expected, used to catch swapped coordinates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    /// Name used in messages.
    pub name: String,
    /// `[min_lon, min_lat, max_lon, max_lat]`.
    pub bounds: [f64; 4],
}

impl Region {
    /// Peru with a margin of about 50 km.
    pub fn peru() -> Self {
        Self {
            name: "Peru".to_owned(),
            bounds: [-81.9, -18.9, -68.2, 0.5],
        }
    }

    /// True when `(lon, lat)` is inside.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let [a, b, c, d] = self.bounds;
        lon >= a && lon <= c && lat >= b && lat <= d
    }

    /// Parse `min_lon,min_lat,max_lon,max_lat`.
    pub fn parse_bounds(s: &str) -> Option<Self> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()?;
        (v.len() == 4 && v[0] < v[2] && v[1] < v[3]).then(|| Self {
            name: format!("the region {s}"),
            bounds: [v[0], v[1], v[2], v[3]],
        })
    }
}

/// How to import a file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Store layer name.
    pub layer: String,
    /// Layer kind; otherwise from the mapping or the layer name.
    pub kind: Option<LayerKind>,
    /// Mapping file.
    pub mapping: Option<Mapping>,
    /// Layer of a multi-layer source.
    pub source_layer: Option<String>,
    /// Expected region (swap detection, outside warnings); `None` disables.
    pub region: Option<Region>,
    /// Swap coordinates that look swapped instead of rejecting the row.
    pub fix_swapped: bool,
    /// Community and facility codes to check household rows against (warnings);
    /// `None` checks nothing.
    pub known_codes: Option<std::sync::Arc<crate::households::KnownCodes>>,
    /// Household layers: longest text value accepted, in characters (a longer
    /// one rejects its row). Default [`MAX_FIELD_CHARS`].
    pub max_field_chars: usize,
    /// Join the file to the stored layer on this field (`code`) instead of
    /// adding features: rows need no coordinates (see [`crate::join`]). A
    /// mapping file's `[join] key` gives it too.
    pub join: Option<String>,
}

/// Default of [`ImportOptions::max_field_chars`]: codes, dates and categories
/// fit easily.
pub const MAX_FIELD_CHARS: usize = 256;

impl ImportOptions {
    /// Options for layer `layer` with defaults (region Peru).
    pub fn new(layer: impl Into<String>) -> Self {
        Self {
            layer: layer.into(),
            kind: None,
            mapping: None,
            source_layer: None,
            region: Some(Region::peru()),
            fix_swapped: false,
            known_codes: None,
            max_field_chars: MAX_FIELD_CHARS,
            join: None,
        }
    }

    /// The join key: [`ImportOptions::join`], else the mapping's `[join] key`.
    pub fn join_key(&self) -> Option<&str> {
        self.join
            .as_deref()
            .or_else(|| self.mapping.as_ref().and_then(Mapping::join_key))
    }
}

/// The layer kind for `opts`: `--kind`, the mapping's kind, or the layer name.
pub fn resolve_kind(opts: &ImportOptions) -> Result<LayerKind, ImportError> {
    opts.kind
        .or_else(|| opts.mapping.as_ref().and_then(Mapping::layer_kind))
        .or_else(|| opts.layer.parse().ok())
        .ok_or_else(|| ImportError::UnknownKind {
            layer: opts.layer.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_comes_from_option_mapping_or_name() {
        assert_eq!(
            resolve_kind(&ImportOptions::new("ipress")).unwrap(),
            LayerKind::Facilities
        );
        let e = resolve_kind(&ImportOptions::new("things")).unwrap_err();
        assert!(e.to_string().contains("--kind"));
    }
}
