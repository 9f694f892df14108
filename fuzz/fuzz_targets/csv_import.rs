#![no_main]
//! Fuzz target `csv_import`: see `chaski_fuzz::csv_import`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::csv_import(data));
