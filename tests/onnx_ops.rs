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
    let max_abs = common::max_abs_diff(&got, &want);
    assert!(max_abs <= 1e-5, "max abs difference {max_abs}");
}

/// `unregistered_ops` is what the page's image build asks before it sends a model on to the
/// full build. Natively (the full operator set) only operators tract lacks are listed: the
/// onnxruntime contrib ops of contrib_ops.onnx, in order of first use.
#[test]
fn unregistered_ops_lists_only_what_this_build_lacks() {
    let ops = |name: &str| {
        downstream::encoder::unregistered_ops(
            &common::read(&format!("tests/fixtures/models/{name}")),
            name,
        )
        .unwrap()
    };
    assert_eq!(ops("full_only.onnx"), Vec::<String>::new());
    assert_eq!(ops("lstm.onnx"), Vec::<String>::new());
    assert_eq!(ops("contrib_ops.onnx"), vec!["FusedMatMul", "Attention"]);
    assert_eq!(downstream::encoder::build_name(), "full");
    let err = downstream::encoder::unregistered_ops(b"not an onnx model", "x.onnx").unwrap_err();
    assert!(
        matches!(err, downstream::Error::InvalidModel { .. }),
        "{err}"
    );
}

/// full_only.onnx (Sin: the page runs it in its full build) equals onnxruntime natively on
/// the first 16 demo digits (tools/make_model_fixtures.py).
#[test]
fn the_full_build_fixture_matches_onnxruntime_natively() {
    let mut session = downstream::session::Session::new();
    session
        .load_model(
            &common::read("tests/fixtures/models/full_only.onnx"),
            "full_only.onnx",
        )
        .unwrap();
    session
        .load_data_zip(&common::read("assets/demo/digits.zip"), "digits.zip")
        .unwrap();
    let reference = common::read("tests/fixtures/models/full_only_reference.npy");
    let fidelity = session
        .fidelity(&reference, "full_only_reference.npy")
        .unwrap();
    assert_eq!((fidelity.n, fidelity.dim), (16, 8));
    assert!(
        fidelity.max_abs <= 1e-5,
        "max abs difference {}",
        fidelity.max_abs
    );
}
