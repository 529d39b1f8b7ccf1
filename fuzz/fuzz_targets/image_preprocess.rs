//! Fuzz target `image_preprocess`: its body is `downstream::fuzzing::image_preprocess`, which
//! `tests/fuzz_regressions.rs` also runs on the saved crash inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| downstream::fuzzing::image_preprocess(data));
