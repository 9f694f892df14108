//! Mapbox Vector Tile 2.1 encoding: the protobuf writer, geometry command
//! streams and layers with deduplicated keys and values.
//!
//! Geometry is taken as already prepared in integer tile coordinates (see
//! [`crate::geom`]): this module writes exactly what it is given, so the
//! command integers can be checked against the specification's examples.
//!
//! This is the crate's one encoder, kept over the `mvt` crate after a side-by-side
//! bench (figures in the crate README).

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

/// Tile extent: coordinates of a tile's area run from 0 to `EXTENT`.
pub const EXTENT: u32 = 4096;

const CMD_MOVE_TO: u32 = 1;
const CMD_LINE_TO: u32 = 2;
const CMD_CLOSE_PATH: u32 = 7;

/// A geometry in integer tile coordinates, ready to encode.
///
/// Rings are stored open (the first point is not repeated at the end) and
/// already oriented; lines have at least two points with no repeated
/// consecutive point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TileGeometry {
    /// One or more points.
    Points(Vec<[i32; 2]>),
    /// One or more line strings.
    Lines(Vec<Vec<[i32; 2]>>),
    /// One or more polygons, each an exterior ring followed by its holes.
    Polygons(Vec<Vec<Vec<[i32; 2]>>>),
}

impl TileGeometry {
    /// The MVT `GeomType` number: 1 point, 2 line string, 3 polygon.
    pub fn type_code(&self) -> u32 {
        match self {
            Self::Points(_) => 1,
            Self::Lines(_) => 2,
            Self::Polygons(_) => 3,
        }
    }

    /// True when there is nothing to draw.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Points(p) => p.is_empty(),
            Self::Lines(l) => l.is_empty(),
            Self::Polygons(p) => p.is_empty(),
        }
    }

    /// The geometry command integers (MVT spec 4.3).
    ///
    /// ```
    /// use chaski_tiles::mvt::TileGeometry;
    /// // MVT spec 4.3.5.1: a point at (25, 17).
    /// assert_eq!(TileGeometry::Points(vec![[25, 17]]).commands(), vec![9, 50, 34]);
    /// ```
    pub fn commands(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cursor = [0i32, 0i32];
        match self {
            Self::Points(points) => {
                if !points.is_empty() {
                    out.push(command(CMD_MOVE_TO, points.len()));
                    for p in points {
                        push_delta(&mut out, &mut cursor, *p);
                    }
                }
            }
            Self::Lines(lines) => {
                for line in lines {
                    push_path(&mut out, &mut cursor, line, false);
                }
            }
            Self::Polygons(polygons) => {
                for ring in polygons.iter().flatten() {
                    push_path(&mut out, &mut cursor, ring, true);
                }
            }
        }
        out
    }
}

fn command(id: u32, count: usize) -> u32 {
    (id & 0x7) | ((count as u32) << 3)
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

fn push_delta(out: &mut Vec<u32>, cursor: &mut [i32; 2], p: [i32; 2]) {
    out.push(zigzag(p[0].wrapping_sub(cursor[0])));
    out.push(zigzag(p[1].wrapping_sub(cursor[1])));
    *cursor = p;
}

fn push_path(out: &mut Vec<u32>, cursor: &mut [i32; 2], path: &[[i32; 2]], close: bool) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    out.push(command(CMD_MOVE_TO, 1));
    push_delta(out, cursor, *first);
    if !rest.is_empty() {
        out.push(command(CMD_LINE_TO, rest.len()));
        for p in rest {
            push_delta(out, cursor, *p);
        }
    }
    if close {
        out.push(command(CMD_CLOSE_PATH, 1));
    }
}

/// A property value as MVT stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// `string_value` (shared: cloning a property is a reference-count increment).
    Text(Arc<str>),
    /// `double_value`.
    Double(f64),
    /// `uint_value` (non-negative integers).
    Uint(u64),
    /// `sint_value` (negative integers).
    Sint(i64),
    /// `bool_value`.
    Bool(bool),
}

impl PropValue {
    /// An integer, as `uint_value` when non-negative, else `sint_value`.
    pub fn int(v: i64) -> Self {
        u64::try_from(v).map_or(Self::Sint(v), Self::Uint)
    }

    /// Hash key for deduplication (doubles by bit pattern).
    fn key(&self) -> ValueKey {
        match self {
            Self::Text(s) => ValueKey::Text(s.clone()),
            Self::Double(d) => ValueKey::Double(d.to_bits()),
            Self::Uint(u) => ValueKey::Uint(*u),
            Self::Sint(i) => ValueKey::Sint(*i),
            Self::Bool(b) => ValueKey::Bool(*b),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ValueKey {
    Text(Arc<str>),
    Double(u64),
    Uint(u64),
    Sint(i64),
    Bool(bool),
}

/// One layer of a tile being built: features with deduplicated keys and values.
#[derive(Debug, Clone)]
pub struct TileLayer {
    name: String,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    values: Vec<PropValue>,
    value_index: HashMap<ValueKey, u32>,
    features: Vec<u8>,
    feature_count: usize,
    generalized: bool,
    scratch_tags: Vec<u32>,
    scratch_feature: Vec<u8>,
}

impl TileLayer {
    /// An empty layer called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            keys: Vec::new(),
            key_index: HashMap::default(),
            values: Vec::new(),
            value_index: HashMap::default(),
            features: Vec::new(),
            feature_count: 0,
            generalized: false,
            scratch_tags: Vec::new(),
            scratch_feature: Vec::new(),
        }
    }

    /// Layer name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of features added.
    pub fn feature_count(&self) -> usize {
        self.feature_count
    }

    /// True when the layer's features were aggregated or generalized beyond the
    /// standard per-zoom simplification (they carry `generalized = true`).
    pub fn is_generalized(&self) -> bool {
        self.generalized
    }

    /// Mark the layer as generalized.
    pub fn set_generalized(&mut self, generalized: bool) {
        self.generalized = generalized;
    }

    /// Add one feature. Empty geometries are skipped. `id` is written only when given.
    pub fn add_feature(
        &mut self,
        id: Option<u64>,
        geometry: &TileGeometry,
        properties: &[(&str, PropValue)],
    ) {
        if geometry.is_empty() {
            return;
        }
        let mut tags = std::mem::take(&mut self.scratch_tags);
        tags.clear();
        for (k, v) in properties {
            let ki = if let Some(i) = self.key_index.get(*k) {
                *i
            } else {
                let i = self.keys.len() as u32;
                self.keys.push((*k).to_owned());
                self.key_index.insert((*k).to_owned(), i);
                i
            };
            let vk = v.key();
            let vi = if let Some(i) = self.value_index.get(&vk) {
                *i
            } else {
                let i = self.values.len() as u32;
                self.values.push(v.clone());
                self.value_index.insert(vk, i);
                i
            };
            tags.push(ki);
            tags.push(vi);
        }
        let mut feature = std::mem::take(&mut self.scratch_feature);
        feature.clear();
        if let Some(id) = id {
            write_varint_field(&mut feature, 1, id);
        }
        write_packed(&mut feature, 2, &tags);
        write_varint_field(&mut feature, 3, u64::from(geometry.type_code()));
        write_packed(&mut feature, 4, &geometry.commands());
        write_bytes_field(&mut self.features, 2, &feature);
        self.feature_count += 1;
        self.scratch_tags = tags;
        self.scratch_feature = feature;
    }

    /// The encoded `Layer` message (without the enclosing tile field).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.features.len() + 64);
        write_varint_field(&mut out, 15, 2);
        write_bytes_field(&mut out, 1, self.name.as_bytes());
        out.extend_from_slice(&self.features);
        for k in &self.keys {
            write_bytes_field(&mut out, 3, k.as_bytes());
        }
        for v in &self.values {
            let mut value = Vec::new();
            match v {
                PropValue::Text(s) => write_bytes_field(&mut value, 1, s.as_bytes()),
                PropValue::Double(d) => {
                    write_tag(&mut value, 3, 1);
                    value.extend_from_slice(&d.to_le_bytes());
                }
                PropValue::Uint(u) => write_varint_field(&mut value, 5, *u),
                PropValue::Sint(i) => {
                    write_varint_field(&mut value, 6, ((*i << 1) ^ (*i >> 63)) as u64);
                }
                PropValue::Bool(b) => write_varint_field(&mut value, 7, u64::from(*b)),
            }
            write_bytes_field(&mut out, 4, &value);
        }
        write_varint_field(&mut out, 5, u64::from(EXTENT));
        out
    }
}

/// Encode a tile from its layers (layers without features are left out).
pub fn encode_tile(layers: &[TileLayer]) -> Vec<u8> {
    let mut out = Vec::new();
    for layer in layers.iter().filter(|l| l.feature_count > 0) {
        write_bytes_field(&mut out, 3, &layer.encode());
    }
    out
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn write_tag(out: &mut Vec<u8>, field: u32, wire: u32) {
    write_varint(out, u64::from((field << 3) | wire));
}

fn write_varint_field(out: &mut Vec<u8>, field: u32, v: u64) {
    write_tag(out, field, 0);
    write_varint(out, v);
}

fn write_bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_tag(out, field, 2);
    write_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn write_packed(out: &mut Vec<u8>, field: u32, values: &[u32]) {
    if values.is_empty() {
        return;
    }
    let mut body = Vec::with_capacity(values.len() * 2);
    for v in values {
        write_varint(&mut body, u64::from(*v));
    }
    write_bytes_field(out, field, &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_matches_spec() {
        // MVT spec 4.3.2: 0→0, -1→1, 1→2, -2→3, 2→4.
        let got: Vec<u32> = [0, -1, 1, -2, 2].iter().map(|v| zigzag(*v)).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        assert_eq!(zigzag(i32::MIN), u32::MAX);
    }

    #[test]
    fn varint_bytes() {
        let mut v = Vec::new();
        write_varint(&mut v, 300);
        assert_eq!(v, vec![0xAC, 0x02]);
    }
}
