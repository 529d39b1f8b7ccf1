//! ONNX bytes as a user's model file: `Encoder::load`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = downstream::encoder::Encoder::load(data, "fuzz.onnx");
});
