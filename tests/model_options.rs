//! Output choice, pooling and model checks on tiny models made by
//! `tools/make_model_fixtures.py` (`tests/fixtures/models`), against onnxruntime's outputs
//! (and numpy's pooling of them) saved by the same script.

mod common;

use downstream::encoder::{Encoder, ModelOptions, Pooling};
use downstream::npy;

fn dir(file: &str) -> String {
    format!("tests/fixtures/models/{file}")
}

fn array(file: &str) -> npy::Array {
    npy::read(&common::read(&dir(file)), file).unwrap()
}

fn load(options: &ModelOptions) -> Result<Encoder, downstream::Error> {
    Encoder::load_with(
        &common::read(&dir("two_outputs.onnx")),
        "two_outputs.onnx",
        options,
    )
}

fn input() -> Vec<f32> {
    let x = array("two_outputs_input.npy");
    assert_eq!(x.shape, vec![3, 3, 8, 8]);
    x.data.iter().map(|&v| v as f32).collect()
}

#[test]
fn outputs_are_listed_and_the_first_is_the_default() {
    let enc = load(&ModelOptions::default()).unwrap();
    let info = enc.info();
    let listed: Vec<(String, String)> = info
        .outputs
        .iter()
        .map(|o| (o.name.clone(), serde_json::to_string(&o.shape).unwrap()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("pooled".to_string(), r#"["N",4]"#.to_string()),
            ("features".to_string(), r#"["N",4,4,4]"#.to_string())
        ]
    );
    assert_eq!(info.output, "pooled");
    assert_eq!((info.embedding_dim, info.pooling), (4, Pooling::Flatten));
    let want = array("two_outputs_pooled.npy");
    let got = enc.embed(&input()).unwrap();
    assert!(common::max_abs_diff(&got, &want.data) <= 1e-5);
}

#[test]
fn each_pooling_of_a_rank_4_output_matches_numpy_on_onnxruntime() {
    for (pooling, file, dim) in [
        (Pooling::Flatten, "two_outputs_features_flatten.npy", 64),
        (Pooling::Mean, "two_outputs_features_mean.npy", 4),
        (Pooling::Cls, "two_outputs_features_cls.npy", 4),
    ] {
        let enc = load(&ModelOptions {
            output: Some("features".into()),
            pooling,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(enc.info().output, "features");
        assert_eq!(enc.info().output_shape[1..], [4, 4, 4]);
        assert_eq!(
            (enc.info().embedding_dim, enc.info().pooling),
            (dim, pooling)
        );
        let want = array(file);
        assert_eq!(want.shape, vec![3, dim]);
        let got = enc.embed(&input()).unwrap();
        let err = common::max_abs_diff(&got, &want.data);
        assert!(err <= 1e-5, "{pooling:?}: max-abs {err}");
        // Two samples alone (another plan, as the last partial batch) agree too.
        let two = enc.embed(&input()[..2 * 3 * 64]).unwrap();
        assert_eq!(two[..], got[..2 * dim]);
    }
}

#[test]
fn pooling_a_rank_2_output_is_recorded_as_flatten() {
    let enc = load(&ModelOptions {
        pooling: Pooling::Mean,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        (enc.info().embedding_dim, enc.info().pooling),
        (4, Pooling::Flatten)
    );
}

#[test]
fn an_unknown_output_is_refused_with_the_outputs() {
    let err = load(&ModelOptions {
        output: Some("logits".into()),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "invalid output = 'logits': the model's outputs are 'pooled', 'features'"
    );
}

#[test]
fn a_runnable_quantised_model_loads_with_a_note() {
    let enc = Encoder::load(&common::read(&dir("quantised.onnx")), "quantised.onnx").unwrap();
    assert_eq!(
        enc.info().notes,
        vec![
            "quantised model (1 QuantizeLinear, 2 DequantizeLinear, 3 int8/uint8 initialisers): \
             tract runs these operators, but its embeddings may differ from onnxruntime's by more \
             than float rounding; compare them with reference embeddings (fidelity check)"
                .to_string()
        ]
    );
    let out = enc.embed(&[0.5; 2 * 16]).unwrap();
    assert_eq!(out.len(), 2 * 4);
    assert!(out.iter().all(|v| v.is_finite()));
}
