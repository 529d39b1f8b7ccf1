//! Fuzz target `text_data`: its body is `downstream::fuzzing::text_data`, which
//! `tests/fuzz_regressions.rs` also runs on the saved crash inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| downstream::fuzzing::text_data(data));
