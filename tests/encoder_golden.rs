//! The demo encoder in tract against onnxruntime's outputs for the same inputs
//! (`tests/fixtures/golden`, made by `tools/make_demo_assets.py`).

mod common;

use downstream::data::Dataset;
use downstream::encoder::Encoder;
use downstream::npy;

#[test]
fn embeddings_match_onnxruntime_within_1e_4() {
    let encoder = Encoder::load(&common::read("assets/demo/encoder.onnx"), "encoder.onnx").unwrap();
    let input = npy::read(
        &common::read("tests/fixtures/golden/encoder_input.npy"),
        "input",
    )
    .unwrap();
    let want = npy::read(
        &common::read("tests/fixtures/golden/encoder_output.npy"),
        "output",
    )
    .unwrap();
    assert_eq!(input.shape, vec![16, 1, 28, 28]);
    let x: Vec<f32> = input.data.iter().map(|&v| v as f32).collect();
    let got = encoder.embed(&x).unwrap();
    let max_abs = common::max_abs_diff(&got, &want.data);
    assert!(max_abs <= 1e-4, "max-abs difference {max_abs}");

    // The same images through the page's path: zip -> PNG decode -> [0,1] -> encoder.
    let data = Dataset::from_zip(&common::read("assets/demo/digits.zip"), "digits.zip").unwrap();
    let spec = *encoder.spec();
    let mut pre = vec![0.0f32; 16 * spec.len()];
    for (item, out) in data.items.iter().zip(pre.chunks_exact_mut(spec.len())) {
        spec.preprocess(&item.bytes, &item.path, out).unwrap();
    }
    assert_eq!(pre, x, "preprocessing differs from PIL's decode / 255");
}
