//! Standard operators the page build leaves out (vendor/tract-onnx/PATCH.diff) still run
//! natively: the CLI's build has every tract-onnx operator. `lstm.onnx` and its
//! onnxruntime output come from `tools/make_model_fixtures.py`.

mod common;

use downstream::encoder::Encoder;

#[test]
fn an_lstm_model_loads_and_matches_onnxruntime_natively() {
    let enc = Encoder::load(
        &common::read("tests/fixtures/models/lstm.onnx"),
        "lstm.onnx",
    )
    .unwrap();
    assert_eq!(enc.info().embedding_dim, 4);
    let (x, dim) = common::matrix("tests/fixtures/models/lstm_input.npy");
    assert_eq!(dim, 16);
    let (want, out_dim) = common::matrix("tests/fixtures/models/lstm_output.npy");
    assert_eq!(out_dim, 4);
    let got = enc.embed(&x).unwrap();
    assert_eq!(got.len(), want.len());
    let max_abs = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0f32, f32::max);
    assert!(max_abs <= 1e-5, "max abs difference {max_abs}");
}
