//! Fuzz target `embeddings_file`: its body is `downstream::fuzzing::embeddings_file`, which
//! `tests/fuzz_regressions.rs` also runs on the saved crash inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| downstream::fuzzing::embeddings_file(data));
