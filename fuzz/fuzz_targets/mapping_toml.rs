#![no_main]
//! Fuzz target `mapping_toml`: see `chaski_fuzz::mapping_toml`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::mapping_toml(data));
