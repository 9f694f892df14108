#![no_main]
//! Fuzz target `query_params`: see `chaski_fuzz::query_params`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::query_params(data));
