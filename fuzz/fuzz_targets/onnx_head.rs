//! Fuzz target `onnx_head`: its body is `downstream::fuzzing::onnx_head`, which
//! `tests/fuzz_regressions.rs` also runs on the saved crash inputs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| downstream::fuzzing::onnx_head(data));
