//! In-memory store: for tests and runs that need no persistence.

use super::{
    EditFn, EditScope, EditSummary, LayerInfo, RasterInfo, Result, Store, StoreError, UpsertKeys,
    WriteMode, WriteSummary, check_kind, check_name, layer_bounds, merge_fields,
};
use crate::layer::{Feature, Layer, LayerKind};
use crate::raster::Raster;
use crate::value::Value;
use std::collections::BTreeMap;
use std::sync::RwLock;

#[derive(Default)]
struct Inner {
    version: u64,
    layers: BTreeMap<String, (Layer, u64)>,
    rasters: BTreeMap<String, (Raster<f32>, u64)>,
}

/// A store that keeps everything in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The columns `names` of layer `name`, with the geometries or without
    /// them (only the kept values are cloned).
    fn read_selected(&self, name: &str, names: &[&str], geometry: bool) -> Result<Layer> {
        let inner = self.read();
        let (l, _) = inner
            .layers
            .get(name)
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))?;
        let keep: Vec<usize> = l
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| names.contains(&f.name.as_str()))
            .map(|(i, _)| i)
            .collect();
        Ok(Layer {
            name: l.name.clone(),
            kind: l.kind,
            fields: keep.iter().map(|&i| l.fields[i].clone()).collect(),
            features: l
                .features
                .iter()
                .map(|f| Feature {
                    fid: f.fid,
                    geometry: if geometry {
                        f.geometry.clone()
                    } else {
                        super::no_geometry()
                    },
                    values: keep
                        .iter()
                        .map(|&i| f.values.get(i).cloned().unwrap_or(Value::Null))
                        .collect(),
                })
                .collect(),
        })
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Re-align a feature's values from `from` fields to `to` fields.
fn realign(f: &Feature, from: &[crate::Field], to: &[crate::Field]) -> Vec<Value> {
    to.iter()
        .map(|t| {
            from.iter()
                .position(|x| x.name == t.name)
                .and_then(|i| f.values.get(i).cloned())
                .unwrap_or(Value::Null)
        })
        .collect()
}

impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn layers(&self) -> Result<Vec<LayerInfo>> {
        Ok(self
            .read()
            .layers
            .values()
            .map(|(l, v)| LayerInfo {
                name: l.name.clone(),
                kind: l.kind,
                geometry_type: l.kind.geometry_type(),
                fields: l.fields.clone(),
                feature_count: l.features.len(),
                bounds: layer_bounds(l),
                version: *v,
            })
            .collect())
    }

    fn read_layer(&self, name: &str) -> Result<Layer> {
        self.read()
            .layers
            .get(name)
            .map(|(l, _)| l.clone())
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))
    }

    fn read_layer_fields(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        self.read_selected(name, fields, true)
    }

    fn read_layer_columns(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        self.read_selected(name, fields, false)
    }

    fn scan_layer_columns(
        &self,
        name: &str,
        fields: &[&str],
        row: &mut super::RowFn<'_>,
    ) -> Result<usize> {
        let inner = self.read();
        let (l, _) = inner
            .layers
            .get(name)
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))?;
        let keep: Vec<usize> = (0..l.fields.len())
            .filter(|&i| fields.contains(&l.fields[i].name.as_str()))
            .collect();
        let mut header = Layer::new(&l.name, l.kind);
        header.fields = keep.iter().map(|&i| l.fields[i].clone()).collect();
        let mut f = Feature {
            fid: 0,
            geometry: super::no_geometry(),
            values: Vec::with_capacity(keep.len()),
        };
        for stored in &l.features {
            f.fid = stored.fid;
            f.values.clear();
            f.values.extend(
                keep.iter()
                    .map(|&i| stored.values.get(i).cloned().unwrap_or(Value::Null)),
            );
            row(&header, &f);
        }
        Ok(l.features.len())
    }

    fn write_layer(&self, layer: &Layer, mode: WriteMode) -> Result<WriteSummary> {
        check_name(&layer.name)?;
        let mut inner = self.write();
        let version = inner.version + 1;
        let mut summary = WriteSummary {
            version,
            ..WriteSummary::default()
        };
        let new = match (mode, inner.layers.get(&layer.name)) {
            (WriteMode::Replace, old) | (_, old @ None) => {
                summary.removed = old.map_or(0, |(l, _)| l.features.len());
                summary.inserted = layer.features.len();
                let mut l = layer.clone();
                for (i, f) in l.features.iter_mut().enumerate() {
                    f.fid = i as i64 + 1;
                }
                l
            }
            (mode, Some((old, _))) => {
                check_kind(&layer.name, old.kind, layer.kind, false)?;
                let fields = merge_fields(&layer.name, &old.fields, &layer.fields)?;
                let mut out = Layer {
                    name: old.name.clone(),
                    kind: old.kind,
                    fields: fields.clone(),
                    features: old
                        .features
                        .iter()
                        .map(|f| Feature {
                            fid: f.fid,
                            geometry: f.geometry.clone(),
                            values: realign(f, &old.fields, &fields),
                        })
                        .collect(),
                };
                let keys = UpsertKeys::new(out.kind, &fields);
                let mut next_fid = out.features.iter().map(|f| f.fid).max().unwrap_or(0) + 1;
                for f in &layer.features {
                    let values = realign(f, &layer.fields, &fields);
                    let existing = match (mode, keys.key_of(&values)) {
                        (WriteMode::Upsert, Some((rank, key))) => {
                            let ki = keys.positions()[rank];
                            out.features.iter().position(|o| o.values[ki] == *key)
                        }
                        _ => None,
                    };
                    if let Some(pos) = existing {
                        out.features[pos].geometry = f.geometry.clone();
                        out.features[pos].values = values;
                        summary.updated += 1;
                    } else {
                        out.features.push(Feature {
                            fid: next_fid,
                            geometry: f.geometry.clone(),
                            values,
                        });
                        next_fid += 1;
                        summary.inserted += 1;
                    }
                }
                out
            }
        };
        inner.layers.insert(layer.name.clone(), (new, version));
        inner.version = version;
        Ok(summary)
    }

    fn edit_layer(
        &self,
        name: &str,
        kind: LayerKind,
        scope: EditScope<'_>,
        edit: &mut EditFn<'_>,
    ) -> Result<Option<EditSummary>> {
        check_name(name)?;
        let mut inner = self.write();
        let old = inner.layers.get(name).map(|(l, _)| l);
        if let Some(o) = old {
            check_kind(name, o.kind, kind, true)?;
        }
        let seen = old.map(|o| Layer {
            features: o
                .features
                .iter()
                .filter(|f| scope.contains(o, f))
                .cloned()
                .collect(),
            ..o.clone()
        });
        let Some(ed) = edit(seen.as_ref()) else {
            return Ok(None);
        };
        let in_scope = |fid: i64| {
            seen.as_ref()
                .is_some_and(|s| s.features.iter().any(|f| f.fid == fid))
        };
        if let Some(fid) = ed
            .updates
            .iter()
            .map(|f| f.fid)
            .chain(ed.deletes.iter().copied())
            .find(|&fid| !in_scope(fid))
        {
            return Err(StoreError::Conflict {
                layer: name.to_owned(),
                reason: format!("feature {fid} is not stored or not in the edit's scope"),
            });
        }
        if ed.is_empty() {
            return Ok(Some(EditSummary {
                version: inner.version,
                ..EditSummary::default()
            }));
        }
        let base = old.cloned().unwrap_or_else(|| Layer {
            name: name.to_owned(),
            kind,
            fields: Vec::new(),
            features: Vec::new(),
        });
        let fields = merge_fields(name, &base.fields, &ed.fields)?;
        let mut features: Vec<Feature> = base
            .features
            .iter()
            .map(|f| Feature {
                fid: f.fid,
                geometry: f.geometry.clone(),
                values: realign(f, &base.fields, &fields),
            })
            .collect();
        let missing = |fid: i64| StoreError::Conflict {
            layer: name.to_owned(),
            reason: format!("feature {fid} is not stored"),
        };
        for u in &ed.updates {
            let f = features
                .iter_mut()
                .find(|f| f.fid == u.fid)
                .ok_or_else(|| missing(u.fid))?;
            f.geometry = u.geometry.clone();
            f.values = realign(u, &ed.fields, &fields);
        }
        for &fid in &ed.deletes {
            let at = features
                .iter()
                .position(|f| f.fid == fid)
                .ok_or_else(|| missing(fid))?;
            features.remove(at);
        }
        let first_fid = base.features.iter().map(|f| f.fid).max().unwrap_or(0) + 1;
        for (fid, f) in (first_fid..).zip(&ed.inserts) {
            features.push(Feature {
                fid,
                geometry: f.geometry.clone(),
                values: realign(f, &ed.fields, &fields),
            });
        }
        let version = inner.version + 1;
        inner.layers.insert(
            name.to_owned(),
            (
                Layer {
                    name: name.to_owned(),
                    kind,
                    fields,
                    features,
                },
                version,
            ),
        );
        inner.version = version;
        Ok(Some(EditSummary {
            inserted: ed.inserts.len(),
            updated: ed.updates.len(),
            deleted: ed.deletes.len(),
            version,
        }))
    }

    fn delete_layer(&self, name: &str) -> Result<bool> {
        let mut inner = self.write();
        let existed = inner.layers.remove(name).is_some() || inner.rasters.remove(name).is_some();
        if existed {
            inner.version += 1;
        }
        Ok(existed)
    }

    fn rasters(&self) -> Result<Vec<RasterInfo>> {
        Ok(self
            .read()
            .rasters
            .iter()
            .map(|(name, (r, v))| {
                let (a, b, c, d) = r.bounds();
                RasterInfo {
                    name: name.clone(),
                    width: r.width,
                    height: r.height,
                    epsg: r.epsg,
                    bounds: [a, b, c, d],
                    version: *v,
                }
            })
            .collect())
    }

    fn read_raster(&self, name: &str) -> Result<Raster<f32>> {
        self.read()
            .rasters
            .get(name)
            .map(|(r, _)| r.clone())
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))
    }

    fn write_raster(&self, name: &str, raster: &Raster<f32>) -> Result<u64> {
        check_name(name)?;
        let mut inner = self.write();
        inner.version += 1;
        let v = inner.version;
        inner.rasters.insert(name.to_owned(), (raster.clone(), v));
        Ok(v)
    }

    fn version(&self) -> Result<u64> {
        Ok(self.read().version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::LayerKind;
    use geo::{Geometry, point};

    fn community(code: &str, pop: i64) -> Feature {
        Feature {
            fid: 0,
            geometry: Geometry::Point(point! { x: -74.0, y: -13.0 }),
            values: vec![
                code.into(),
                "x".into(),
                Value::Null,
                pop.into(),
                Value::Null,
                Value::Null,
            ],
        }
    }

    #[test]
    fn upsert_updates_by_code_and_append_adds() {
        let s = MemoryStore::new();
        let mut l = Layer::new("communities", LayerKind::Communities);
        l.features = vec![community("a", 1), community("b", 2)];
        let w = s.write_layer(&l, WriteMode::Replace).unwrap();
        assert_eq!((w.inserted, w.version), (2, 1));
        l.features = vec![community("b", 20), community("c", 3)];
        let w = s.write_layer(&l, WriteMode::Upsert).unwrap();
        assert_eq!((w.inserted, w.updated), (1, 1));
        let back = s.read_layer("communities").unwrap();
        let pops: Vec<_> = back
            .features
            .iter()
            .map(|f| back.value(f, "population").as_i64().unwrap())
            .collect();
        assert_eq!(pops, vec![1, 20, 3]);
        assert_eq!(s.version().unwrap(), 2);
        assert!(matches!(s.read_layer("nope"), Err(StoreError::NotFound(_))));
    }

    fn household(code: &str, uuid: Option<&str>, members: i64) -> Feature {
        let l = Layer::new("households", LayerKind::Households);
        let mut values = vec![Value::Null; l.fields.len()];
        values[l.field_index("code").unwrap()] = code.into();
        values[l.field_index("members").unwrap()] = members.into();
        values[l.field_index("submission_uuid").unwrap()] = uuid.into();
        Feature {
            fid: 0,
            geometry: Geometry::Point(point! { x: -74.0, y: -13.0 }),
            values,
        }
    }

    #[test]
    fn households_upsert_on_submission_uuid_then_code() {
        let s = MemoryStore::new();
        let mut l = Layer::new("households", LayerKind::Households);
        l.features = vec![
            household("h1", Some("u1"), 1),
            household("h1", Some("u2"), 2), // same household, second visit
            household("h3", None, 3),
        ];
        let w = s.write_layer(&l, WriteMode::Upsert).unwrap();
        assert_eq!((w.inserted, w.updated), (3, 0));
        l.features = vec![
            household("h1", Some("u2"), 20), // re-upload of submission u2
            household("h3", None, 30),       // no uuid: matched on code
            household("h3", Some("u9"), 9),  // a new submission of h3
        ];
        let w = s.write_layer(&l, WriteMode::Upsert).unwrap();
        assert_eq!((w.inserted, w.updated), (1, 2));
        let back = s.read_layer("households").unwrap();
        let rows: Vec<(i64, i64)> = back
            .features
            .iter()
            .map(|f| (f.fid, back.value(f, "members").as_i64().unwrap()))
            .collect();
        assert_eq!(rows, vec![(1, 1), (2, 20), (3, 30), (4, 9)]);
    }
}
