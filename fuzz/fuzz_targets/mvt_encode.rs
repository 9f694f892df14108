#![no_main]
//! Fuzz target `mvt_encode`: see `chaski_fuzz::mvt_encode`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::mvt_encode(data));
