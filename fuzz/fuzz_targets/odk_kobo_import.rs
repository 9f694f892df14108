#![no_main]
//! Fuzz target `odk_kobo_import`: see `chaski_fuzz::odk_kobo_import`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| chaski_fuzz::odk_kobo_import(data));
