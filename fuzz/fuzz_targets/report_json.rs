//! Fuzz target `report_json`: its body is `downstream::fuzzing::report_json`, which
//! `tests/fuzz_regressions.rs` also runs on the saved crash inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| downstream::fuzzing::report_json(data));
