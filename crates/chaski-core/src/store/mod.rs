//! The layer store: where imported layers persist and where `serve` and the
//! analyses read them from.
//!
//! Every backend implements the object-safe [`Store`] trait and is held as
//! `Arc<dyn Store>`. Backends: [`memory::MemoryStore`] (tests, ephemeral runs)
//! here; the GeoPackage file store (the embedded default, which QGIS opens
//! directly) in `chaski-io` behind its `gpkg` feature, and the PostGIS store
//! several servers share, behind its `postgis` feature.
//!
//! Writes are transactional: a write either lands whole, and survives a crash
//! once it returns `Ok`, or leaves the store as it was.

pub mod memory;

use crate::layer::{Feature, GeometryType, Layer, LayerKind};
use crate::raster::Raster;
use crate::value::{Field, Value};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Errors of a store backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No layer or raster of that name.
    #[error("no layer named '{0}' in the store")]
    NotFound(String),
    /// The name cannot be used for a layer.
    #[error(
        "invalid layer name '{0}': use lower-case letters, digits and '_', starting with a letter (at most 63 characters)"
    )]
    InvalidName(String),
    /// A write does not fit the stored layer (other kind, conflicting field type).
    #[error("layer '{layer}': {reason}")]
    Conflict {
        /// Layer name.
        layer: String,
        /// What conflicts.
        reason: String,
    },
    /// The store file is not usable (not a GeoPackage, truncated, locked...).
    #[error("store {path}: {reason}")]
    Corrupt {
        /// Store path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An error of the backend's database or file layer.
    #[error("store backend error: {0}")]
    Backend(String),
    /// The store was written by a newer chaski: its schema version is greater
    /// than the one this chaski supports. Nothing is written to it.
    #[error(
        "store {store}: schema version {version} is newer than this chaski supports (schema \
         version {supported}): the store was written by a newer chaski; use that version or a \
         later one (the store was not modified)"
    )]
    NewerSchema {
        /// The store (file path or database URL without credentials).
        store: String,
        /// The schema version the store records.
        version: i64,
        /// The newest schema version this chaski reads and writes.
        supported: i64,
    },
}

/// A write must be of the kind of layer already stored under its name: a
/// [`StoreError::Conflict`] naming both kinds otherwise (`edit`: the write is
/// an edit rather than new data). Every backend checks with this one rule.
pub fn check_kind(
    layer: &str,
    stored: LayerKind,
    written: LayerKind,
    edit: bool,
) -> Result<(), StoreError> {
    if stored == written {
        return Ok(());
    }
    let reason = if edit {
        format!("the stored layer holds {stored} but the edit is for {written}")
    } else {
        format!("the stored layer holds {stored} but the new data holds {written}")
    };
    Err(StoreError::Conflict {
        layer: layer.to_owned(),
        reason,
    })
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How a write treats the features already in the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// Drop what was there and write the new features.
    #[default]
    Replace,
    /// Add the new features.
    Append,
    /// Update features whose key already exists, add the others
    /// (re-uploading a submission updates instead of duplicating). The key is
    /// chosen per layer kind by [`crate::schema::upsert_keys`]: households are
    /// matched on `submission_uuid` when the incoming feature has one, else on
    /// `code`; other kinds on `code`. A feature without any key is added.
    Upsert,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WriteSummary {
    /// Features inserted.
    pub inserted: usize,
    /// Features updated in place (upserts).
    pub updated: usize,
    /// Features removed (replace).
    pub removed: usize,
    /// The store's data version after the write.
    pub version: u64,
}

/// Changes to one layer, computed from its stored features by the closure
/// given to [`Store::edit_layer`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerEdit {
    /// Fields of `updates` and `inserts` (their values are in this order).
    /// Fields the stored layer lacks are added to it, as an upsert does; a
    /// field whose type differs from the stored one is a
    /// [`StoreError::Conflict`].
    pub fields: Vec<Field>,
    /// Stored features to overwrite (geometry and every value), by `fid`.
    pub updates: Vec<Feature>,
    /// Features to add (the store assigns their fids).
    pub inserts: Vec<Feature>,
    /// Fids of stored features to remove.
    pub deletes: Vec<i64>,
}

impl LayerEdit {
    /// Whether the edit changes nothing.
    pub fn is_empty(&self) -> bool {
        self.updates.is_empty() && self.inserts.is_empty() && self.deletes.is_empty()
    }
}

/// What [`Store::edit_layer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EditSummary {
    /// Features added.
    pub inserted: usize,
    /// Features overwritten.
    pub updated: usize,
    /// Features removed.
    pub deleted: usize,
    /// The store's data version after the edit (unchanged when nothing changed).
    pub version: u64,
}

/// Which stored features [`Store::edit_layer`] reads and may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EditScope<'a> {
    /// Every feature.
    #[default]
    All,
    /// The features whose text field `field`, trimmed, equals `value` (a
    /// caller's CHA sector or facility): the edit reads only them, so its
    /// cost follows the caller's records, not the whole layer.
    FieldEquals {
        /// Field name.
        field: &'a str,
        /// Value.
        value: &'a str,
    },
}

impl EditScope<'_> {
    /// Whether `feature` of `layer` is in the scope.
    pub fn contains(&self, layer: &Layer, feature: &Feature) -> bool {
        match self {
            Self::All => true,
            Self::FieldEquals { field, value } => {
                matches!(layer.value(feature, field), Value::Text(t) if t.trim() == *value)
            }
        }
    }
}

/// The closure of [`Store::edit_layer`]: it sees the stored layer (None when
/// there is none yet) and returns the changes, or None to write nothing.
pub type EditFn<'a> = dyn FnMut(Option<&Layer>) -> Option<LayerEdit> + 'a;

/// The closure of [`Store::scan_layer_columns`]: called with the layer's
/// header (no features) and one feature at a time.
pub type RowFn<'a> = dyn FnMut(&Layer, &Feature) + 'a;

/// One part of [`Store::scan_layer_columns_parts`]: a [`RowFn`] another
/// thread may call.
pub type PartFn<'a> = dyn FnMut(&Layer, &Feature) + Send + 'a;

/// What the store knows of a layer without reading its features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Layer name.
    pub name: String,
    /// Layer kind.
    pub kind: LayerKind,
    /// Geometry type.
    pub geometry_type: GeometryType,
    /// Fields, core first.
    pub fields: Vec<Field>,
    /// Number of features.
    pub feature_count: usize,
    /// Bounds (min lon, min lat, max lon, max lat), None when empty.
    pub bounds: Option<[f64; 4]>,
    /// Data version of the last write to this layer.
    pub version: u64,
}

/// What the store knows of a raster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RasterInfo {
    /// Raster name.
    pub name: String,
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// EPSG code of its CRS.
    pub epsg: Option<u32>,
    /// Bounds in its own CRS.
    pub bounds: [f64; 4],
    /// Data version of the last write.
    pub version: u64,
}

/// A layer store. Object safe: backends are used as `Arc<dyn Store>`.
pub trait Store: Send + Sync {
    /// Short backend name for logs (`gpkg`, `memory`, ...).
    fn backend(&self) -> &'static str;

    /// Vector layers, in name order.
    fn layers(&self) -> Result<Vec<LayerInfo>>;

    /// Read a whole vector layer.
    fn read_layer(&self, name: &str) -> Result<Layer>;

    /// Read a vector layer with only the fields named in `fields` (in the
    /// layer's order; names it lacks are ignored): every feature and its
    /// geometry, fewer columns. Backends that store columns read only these.
    fn read_layer_fields(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        let mut layer = self.read_layer(name)?;
        let keep = FieldSelection::new(&layer.fields, fields);
        keep.apply(&mut layer.fields);
        for feature in &mut layer.features {
            keep.apply(&mut feature.values);
        }
        Ok(layer)
    }

    /// Read only the columns named in `fields` of a vector layer (in the
    /// layer's order; names it lacks are ignored), **without geometries**:
    /// every feature's fid and values, its geometry an empty
    /// `GeometryCollection` (what a feature without geometry reads as). For
    /// tables of attributes (indicators, schedules) where decoding hundreds of
    /// thousands of geometries would cost more than the values. Backends read
    /// neither the geometry column nor the other columns; the default reads
    /// [`Store::read_layer_fields`] and drops the geometries.
    fn read_layer_columns(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        let mut layer = self.read_layer_fields(name, fields)?;
        for feature in &mut layer.features {
            feature.geometry = no_geometry();
        }
        Ok(layer)
    }

    /// The rows of [`Store::read_layer_columns`] one at a time, in fid order,
    /// without holding the layer in memory: `row` is called with the layer's
    /// header (name, kind, the selected fields; no features) and each feature
    /// (fid, values of the selected fields, no geometry). Returns the number
    /// of rows. For reads of hundreds of thousands of records whose caller
    /// keeps a few values of each (indicator tables); backends reuse one
    /// feature's buffers from row to row. The default calls
    /// [`Store::read_layer_columns`].
    fn scan_layer_columns(
        &self,
        name: &str,
        fields: &[&str],
        row: &mut RowFn<'_>,
    ) -> Result<usize> {
        let mut layer = self.read_layer_columns(name, fields)?;
        let features = std::mem::take(&mut layer.features);
        for f in &features {
            row(&layer, f);
        }
        Ok(features.len())
    }

    /// [`Store::scan_layer_columns`] in `parts.len()` parts read side by
    /// side: the rows split into as many consecutive fid ranges, part `k`'s
    /// rows given to `parts[k]` in fid order (every fid of part `k` below
    /// every fid of part `k + 1`), all from the same data version. For reads
    /// of hundreds of thousands of rows on a machine with cores to spare;
    /// each part keeps its own state, which the caller joins in part order
    /// to get what one scan would have given. Returns the number of rows.
    /// The default reads every row into the first part on the caller's
    /// thread (the others get none).
    fn scan_layer_columns_parts(
        &self,
        name: &str,
        fields: &[&str],
        parts: &mut [&mut PartFn<'_>],
    ) -> Result<usize> {
        match parts.first_mut() {
            Some(first) => self.scan_layer_columns(name, fields, &mut **first),
            None => Ok(0),
        }
    }

    /// Write a vector layer in one transaction.
    fn write_layer(&self, layer: &Layer, mode: WriteMode) -> Result<WriteSummary>;

    /// Read layer `name` and write the changes `edit` computes from it as one
    /// transaction: no other write to the store comes between the read and the
    /// write, so decisions taken on the stored features (which record a key
    /// matches, whether it is in the caller's scope) still hold when the
    /// changes land. `edit` sees only the features of `scope` (all fields),
    /// and may update or delete only those. A missing layer is created with
    /// `kind` from the inserts. `edit` returning None, or an empty edit,
    /// writes nothing and leaves the data version as it was (`Ok(None)` for
    /// None). An update or delete of a fid that is not stored, or not in
    /// `scope`, is a [`StoreError::Conflict`] and nothing is written.
    fn edit_layer(
        &self,
        name: &str,
        kind: LayerKind,
        scope: EditScope<'_>,
        edit: &mut EditFn<'_>,
    ) -> Result<Option<EditSummary>>;

    /// Remove a layer; false when it did not exist.
    fn delete_layer(&self, name: &str) -> Result<bool>;

    /// Rasters, in name order.
    fn rasters(&self) -> Result<Vec<RasterInfo>>;

    /// Read a raster.
    fn read_raster(&self, name: &str) -> Result<Raster<f32>>;

    /// Write (replace) a raster in one transaction.
    fn write_raster(&self, name: &str, raster: &Raster<f32>) -> Result<u64>;

    /// The store's data version: it grows with every successful write, so caches
    /// keyed on it never show stale data.
    fn version(&self) -> Result<u64>;

    /// Wait until the data version may have moved past `since`, for at most
    /// `timeout`, and return the version then (blocking). A store shared by
    /// several processes wakes up as soon as another one writes (PostGIS:
    /// LISTEN/NOTIFY, with a poll as the fallback); the default sleeps
    /// `timeout` and reads the version, a plain poll.
    fn wait_for_change(&self, since: u64, timeout: std::time::Duration) -> Result<u64> {
        let _ = since;
        std::thread::sleep(timeout);
        self.version()
    }

    /// The vector layers' names and kinds, in name order, without reading
    /// their features (where [`Store::layers`] counts them). The default
    /// calls [`Store::layers`].
    fn layer_kinds(&self) -> Result<Vec<(String, LayerKind)>> {
        Ok(self
            .layers()?
            .into_iter()
            .map(|l| (l.name, l.kind))
            .collect())
    }

    /// Info on one layer.
    fn layer_info(&self, name: &str) -> Result<LayerInfo> {
        self.layers()?
            .into_iter()
            .find(|l| l.name == name)
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))
    }
}

/// The geometry of a feature read without one ([`Store::read_layer_columns`]):
/// an empty `GeometryCollection` (no allocation).
pub fn no_geometry() -> geo::Geometry<f64> {
    geo::Geometry::GeometryCollection(geo::GeometryCollection::default())
}

/// Check a layer name, for backends.
pub fn check_name(name: &str) -> Result<()> {
    if crate::layer::valid_layer_name(name) {
        Ok(())
    } else {
        Err(StoreError::InvalidName(name.to_owned()))
    }
}

/// Which of a layer's fields a [`Store::read_layer_fields`] keeps, applied to
/// anything kept in field order (the fields, a feature's values, column names).
#[derive(Debug, Clone)]
pub struct FieldSelection(Vec<bool>);

impl FieldSelection {
    /// The fields of `fields` named in `names`.
    pub fn new(fields: &[Field], names: &[&str]) -> Self {
        Self(
            fields
                .iter()
                .map(|f| names.contains(&f.name.as_str()))
                .collect(),
        )
    }

    /// Keep the items of `items` (one per field, in field order) of the kept fields.
    pub fn apply<T>(&self, items: &mut Vec<T>) {
        let mut keep = self.0.iter();
        items.retain(|_| keep.next().copied().unwrap_or(false));
    }
}

/// Merge `incoming` fields into `existing` for an append or upsert: fields
/// present in both must have the same type; new fields are added at the end.
/// Returns the merged field list.
pub fn merge_fields(layer: &str, existing: &[Field], incoming: &[Field]) -> Result<Vec<Field>> {
    let mut merged = existing.to_vec();
    for f in incoming {
        match existing.iter().find(|e| e.name == f.name) {
            Some(e) if e.ty != f.ty => {
                return Err(StoreError::Conflict {
                    layer: layer.to_owned(),
                    reason: format!(
                        "field '{}' is {} in the store but {} in the new data",
                        f.name,
                        e.ty.as_str(),
                        f.ty.as_str()
                    ),
                });
            }
            Some(_) => {}
            None => merged.push(f.clone()),
        }
    }
    Ok(merged)
}

/// Bounds of a layer as an array, for [`LayerInfo`].
pub fn layer_bounds(layer: &Layer) -> Option<[f64; 4]> {
    layer
        .bounds()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// Where the upsert keys of a layer kind ([`crate::schema::upsert_keys`]) sit
/// among a layer's fields, for backends implementing [`WriteMode::Upsert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertKeys {
    positions: Vec<usize>,
}

impl UpsertKeys {
    /// The key fields of `kind` found in `fields`, in order of preference.
    pub fn new(kind: LayerKind, fields: &[Field]) -> Self {
        Self {
            positions: crate::schema::upsert_keys(kind)
                .iter()
                .filter_map(|k| fields.iter().position(|f| f.name == *k))
                .collect(),
        }
    }

    /// Positions (in the fields given to [`UpsertKeys::new`]) of the key fields,
    /// in order of preference.
    pub fn positions(&self) -> &[usize] {
        &self.positions
    }

    /// The key a feature is matched on: the rank of the first key field (in
    /// [`UpsertKeys::positions`]) holding a value, and that value. `None` when
    /// every key field is empty.
    pub fn key_of<'a>(&self, values: &'a [Value]) -> Option<(usize, &'a Value)> {
        self.positions
            .iter()
            .enumerate()
            .find_map(|(rank, &i)| values.get(i).filter(|v| !v.is_null()).map(|v| (rank, v)))
    }
}
