#![no_main]
//! Fuzz target `geojson_import`: see `chaski_fuzz::geojson_import`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::geojson_import(data));
