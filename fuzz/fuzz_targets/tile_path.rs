#![no_main]
//! Fuzz target `tile_path`: see `chaski_fuzz::tile_path`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::tile_path(data));
