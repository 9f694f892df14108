//! The [`Store`] trait implemented on [`GpkgStore`].

use super::coverage;
use super::error::GpkgError;
use super::layers::{
    PartsScan, drop_layer, edit_layer_tx, layer_infos, layer_kinds, read_layer_tx,
    scan_layer_parts_tx, scan_layer_tx, write_layer_tx,
};
use super::meta::{bump_version, load_meta, to_version};
use super::open::GpkgStore;
use chaski_core::layer::{Layer, LayerKind};
use chaski_core::raster::Raster;
use chaski_core::store::{
    EditFn, EditScope, EditSummary, LayerInfo, RasterInfo, Result, Store, StoreError, WriteMode,
    WriteSummary, check_name,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

fn delete_tx(conn: &mut Connection, name: &str) -> Result<bool, GpkgError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existed = if load_meta(&tx, name)?.is_some() {
        drop_layer(&tx, name)?;
        true
    } else {
        coverage::delete_raster(&tx, name)?
    };
    if existed {
        bump_version(&tx)?;
    }
    tx.commit()?;
    Ok(existed)
}

impl Store for GpkgStore {
    fn backend(&self) -> &'static str {
        "gpkg"
    }

    fn layers(&self) -> Result<Vec<LayerInfo>> {
        self.read(|c| layer_infos(c, None))
    }

    fn layer_kinds(&self) -> Result<Vec<(String, LayerKind)>> {
        self.read(layer_kinds)
    }

    fn layer_info(&self, name: &str) -> Result<LayerInfo> {
        self.read(|c| layer_infos(c, Some(name)))?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NotFound(name.to_owned()))
    }

    fn read_layer(&self, name: &str) -> Result<Layer> {
        self.read(|c| read_layer_tx(c, name, None, true))
    }

    fn read_layer_fields(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        self.read(|c| read_layer_tx(c, name, Some(fields), true))
    }

    fn read_layer_columns(&self, name: &str, fields: &[&str]) -> Result<Layer> {
        self.read(|c| read_layer_tx(c, name, Some(fields), false))
    }

    fn scan_layer_columns(
        &self,
        name: &str,
        fields: &[&str],
        row: &mut chaski_core::store::RowFn<'_>,
    ) -> Result<usize> {
        self.read(|c| scan_layer_tx(c, name, fields, row))
    }

    fn scan_layer_columns_parts(
        &self,
        name: &str,
        fields: &[&str],
        parts: &mut [&mut chaski_core::store::PartFn<'_>],
    ) -> Result<usize> {
        if parts.len() > 1 {
            // A write between the connections' snapshots: try again, then
            // read on one connection (as small layers are).
            for _ in 0..3 {
                match self.read(|c| scan_layer_parts_tx(c, self.path(), name, fields, parts))? {
                    PartsScan::Done(n) => return Ok(n),
                    PartsScan::Small => break,
                    PartsScan::NotStarted => {}
                }
            }
        }
        match parts.first_mut() {
            Some(first) => self.scan_layer_columns(name, fields, &mut **first),
            None => Ok(0),
        }
    }

    fn write_layer(&self, layer: &Layer, mode: WriteMode) -> Result<WriteSummary> {
        check_name(&layer.name)?;
        self.run(|c| write_layer_tx(c, layer, mode))
    }

    fn edit_layer(
        &self,
        name: &str,
        kind: LayerKind,
        scope: EditScope<'_>,
        edit: &mut EditFn<'_>,
    ) -> Result<Option<EditSummary>> {
        check_name(name)?;
        self.run(|c| edit_layer_tx(c, name, kind, scope, edit))
    }

    fn delete_layer(&self, name: &str) -> Result<bool> {
        self.run(|c| delete_tx(c, name))
    }

    fn rasters(&self) -> Result<Vec<RasterInfo>> {
        self.read(|c| coverage::raster_infos(c))
    }

    fn read_raster(&self, name: &str) -> Result<Raster<f32>> {
        self.read(|c| coverage::read_raster_conn(c, name))
    }

    fn write_raster(&self, name: &str, raster: &Raster<f32>) -> Result<u64> {
        check_name(name)?;
        self.run(|c| coverage::write_raster_tx(c, name, raster))
    }

    fn version(&self) -> Result<u64> {
        self.read(|c| {
            let v: Option<i64> = c
                .query_row(
                    "SELECT value FROM chaski_meta WHERE key = 'version'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            to_version(v.unwrap_or(0))
        })
    }
}
