#![no_main]
//! Fuzz target `indicators_toml`: see `chaski_fuzz::indicators_toml`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::indicators_toml(data));
