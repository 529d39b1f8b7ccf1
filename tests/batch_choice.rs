//! The batch Downstream picks for a model with a symbolic batch dimension (issue 6): one
//! sample at a time for a model with convolutions, else the largest power of two up to 32
//! whose largest activation stays within `BATCH_ACTIVATION_BYTES`; and embeddings that do
//! not depend on it (both compared with onnxruntime elsewhere: encoder_golden,
//! image_models_golden, src/pool.rs).

mod common;

use downstream::encoder::{pick_batch, Encoder, BATCH_ACTIVATION_BYTES, DEFAULT_BATCH};

#[test]
fn pick_batch_keeps_one_batch_of_activations_within_the_budget() {
    assert_eq!(BATCH_ACTIVATION_BYTES, 512 * 1024);
    assert_eq!(pick_batch(0), DEFAULT_BATCH);
    // The demo MLP's input, 784 floats: 32 of them are 100 KB.
    assert_eq!(pick_batch(784 * 4), 32);
    assert_eq!(pick_batch(16 * 1024), 32);
    assert_eq!(pick_batch(16 * 1024 + 1), 16);
    // A 16 x 28 x 28 float feature map: 8 of them fit (models with convolutions do not ask).
    assert_eq!(pick_batch(16 * 28 * 28 * 4), 8);
    assert_eq!(pick_batch(BATCH_ACTIVATION_BYTES), 1);
    assert_eq!(pick_batch(usize::MAX), 1);
}

#[test]
fn mlps_keep_batches_of_32_and_models_with_convolutions_run_one_image_at_a_time() {
    let demo = Encoder::load(&common::read("assets/demo/encoder.onnx"), "encoder.onnx").unwrap();
    assert_eq!(demo.info().batch, 32);
    // tools/make_pool_fixture.py: two convolutions. Its largest activation (8 x 28 x 28
    // floats, 25 KB an image) would have given it 16 by the activation rule.
    let cnn = Encoder::load(
        &common::read("tests/fixtures/pool/cnn_pools.onnx"),
        "cnn_pools.onnx",
    )
    .unwrap();
    assert_eq!(cnn.info().batch, 1);
    const EFFICIENTNET: &str = "models/efficientnet-lite0/model.onnx";
    assert!(
        common::fixture(EFFICIENTNET).exists(),
        "{EFFICIENTNET} is missing: build it with `make models`"
    );
    let big = Encoder::load(&common::read(EFFICIENTNET), "model.onnx").unwrap();
    // Its first convolution alone is 32 x 112 x 112 floats (1.6 MB) an image: one at a time
    // by either rule.
    assert_eq!(big.info().batch, 1);
}

#[test]
fn embeddings_do_not_depend_on_how_many_rows_a_call_holds() {
    // 37 rows: the demo MLP's batch of 32 plus a partial one, against one row at a time.
    let mlp = Encoder::load(&common::read("assets/demo/encoder.onnx"), "encoder.onnx").unwrap();
    assert_eq!(mlp.info().batch, 32);
    let per = mlp.spec().len();
    let x: Vec<f32> = (0..37 * per)
        .map(|i| ((i * 7919) % 255) as f32 / 255.0)
        .collect();
    let all = mlp.embed(&x).unwrap();
    let one: Vec<f32> = x.chunks(per).flat_map(|r| mlp.embed(r).unwrap()).collect();
    let max = common::max_abs_diff(&all, &one);
    assert!(max < 1e-5, "max-abs {max}");
}
