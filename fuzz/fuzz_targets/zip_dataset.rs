//! Fuzz target `zip_dataset`: its body is `downstream::fuzzing::zip_dataset`, which
//! `tests/fuzz_regressions.rs` also runs on the saved crash inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| downstream::fuzzing::zip_dataset(data));
