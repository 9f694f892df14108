#![no_main]
//! Fuzz target `whatif_geojson`: see `chaski_fuzz::whatif_geojson`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::whatif_geojson(data));
