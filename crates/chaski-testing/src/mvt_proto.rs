//! An independent decoding of Mapbox Vector Tiles for tests and benches: the
//! messages of `vector_tile.proto` 2.1 decoded with prost, so a tile is read
//! back by code that shares nothing with chaski's encoder.

#![allow(missing_docs, reason = "fields as named in vector_tile.proto")]

use prost::Message;

#[derive(Clone, PartialEq, prost::Message)]
/// Tile of vector_tile.proto 2.1.
pub struct Tile {
    #[prost(message, repeated, tag = "3")]
    pub layers: Vec<Layer>,
}

#[derive(Clone, PartialEq, prost::Message)]
/// Layer of vector_tile.proto 2.1.
pub struct Layer {
    #[prost(uint32, required, tag = "15")]
    pub version: u32,
    #[prost(string, required, tag = "1")]
    pub name: String,
    #[prost(message, repeated, tag = "2")]
    pub features: Vec<Feature>,
    #[prost(string, repeated, tag = "3")]
    pub keys: Vec<String>,
    #[prost(message, repeated, tag = "4")]
    pub values: Vec<PValue>,
    #[prost(uint32, optional, tag = "5")]
    pub extent: Option<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
/// Feature of vector_tile.proto 2.1.
pub struct Feature {
    #[prost(uint64, optional, tag = "1")]
    pub id: Option<u64>,
    #[prost(uint32, repeated, tag = "2")]
    pub tags: Vec<u32>,
    #[prost(int32, optional, tag = "3")]
    pub r#type: Option<i32>,
    #[prost(uint32, repeated, tag = "4")]
    pub geometry: Vec<u32>,
}

#[derive(Clone, PartialEq, prost::Message)]
/// PValue of vector_tile.proto 2.1.
pub struct PValue {
    #[prost(string, optional, tag = "1")]
    pub string_value: Option<String>,
    #[prost(float, optional, tag = "2")]
    pub float_value: Option<f32>,
    #[prost(double, optional, tag = "3")]
    pub double_value: Option<f64>,
    #[prost(int64, optional, tag = "4")]
    pub int_value: Option<i64>,
    #[prost(uint64, optional, tag = "5")]
    pub uint_value: Option<u64>,
    #[prost(sint64, optional, tag = "6")]
    pub sint_value: Option<i64>,
    #[prost(bool, optional, tag = "7")]
    pub bool_value: Option<bool>,
}

impl PValue {
    /// The value as a number, whichever numeric type it has.
    pub fn as_f64(&self) -> Option<f64> {
        self.double_value
            .or(self.float_value.map(f64::from))
            .or(self.int_value.map(|v| v as f64))
            .or(self.uint_value.map(|v| v as f64))
            .or(self.sint_value.map(|v| v as f64))
    }
}

impl Layer {
    /// The value of property `key` of `f`.
    pub fn prop<'a>(&'a self, f: &Feature, key: &str) -> Option<&'a PValue> {
        f.tags
            .chunks(2)
            .find_map(|kv| (self.keys[kv[0] as usize] == key).then(|| &self.values[kv[1] as usize]))
    }
}

/// Decode a tile (uncompressed protobuf); panics on bytes that are not one.
#[allow(clippy::missing_panics_doc)]
pub fn decode(bytes: &[u8]) -> Tile {
    Tile::decode(bytes).expect("valid protobuf")
}
