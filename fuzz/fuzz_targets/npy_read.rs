//! Fuzz target `npy_read`: its body is `downstream::fuzzing::npy_read`, which
//! `tests/fuzz_regressions.rs` also runs on the saved crash inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| downstream::fuzzing::npy_read(data));
