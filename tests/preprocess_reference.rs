//! Every preprocessing option against numpy/PIL (`tests/fixtures/preprocess`, made by
//! `tools/make_preprocess_fixtures.py`): the model input of each case within 1e-6. The
//! cases need no interpolation (images already at the input size, or crops whose cover
//! size is the image's own), since PIL's and the `image` crate's bilinear filters differ;
//! the `image` crate's filter itself is what the golden encoder tests already exercise.

mod common;

use downstream::preprocess::{ColorOrder, ImageSpec, Layout, PreprocessOptions, ScalePreset};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    image: String,
    layout: Layout,
    channels: usize,
    height: usize,
    width: usize,
    options: PreprocessOptions,
    expected: String,
}

fn dir(file: &str) -> String {
    format!("tests/fixtures/preprocess/{file}")
}

#[test]
fn every_preset_matches_numpy_within_1e_6() {
    let cases: Vec<Case> = serde_json::from_slice(&common::read(&dir("cases.json"))).unwrap();
    assert!(cases.len() >= 15);
    for (i, case) in cases.iter().enumerate() {
        let spec = ImageSpec {
            layout: case.layout,
            channels: case.channels,
            height: case.height,
            width: case.width,
        };
        let pre = case.options.resolve(&spec).unwrap();
        let want =
            downstream::npy::read(&common::read(&dir(&case.expected)), &case.expected).unwrap();
        let mut got = vec![f32::NAN; spec.len()];
        spec.preprocess_with(
            &pre,
            &common::read(&dir(&case.image)),
            &case.image,
            &mut got,
        )
        .unwrap();
        let max_abs = common::max_abs_diff(&got, &want.data);
        assert!(
            max_abs <= 1e-6,
            "case {i} ({} {:?}): max-abs {max_abs}",
            case.image,
            case.options
        );
        // The report records the options in full: concrete colour, one mean/std per channel.
        let rec = spec.describe_with(&pre).options.unwrap();
        assert_ne!(rec.color, ColorOrder::Auto);
        assert_eq!(
            (rec.mean.len(), rec.std.len()),
            (spec.channels, spec.channels)
        );
    }
}

#[test]
fn default_options_are_the_old_preprocessing() {
    let spec = ImageSpec {
        layout: Layout::Nchw,
        channels: 3,
        height: 10,
        width: 12,
    };
    let bytes = common::read(&dir("rgb_w12_h10.png"));
    let mut old = vec![0.0; spec.len()];
    let mut new = vec![0.0; spec.len()];
    spec.preprocess(&bytes, "a.png", &mut old).unwrap();
    let pre = PreprocessOptions::default().resolve(&spec).unwrap();
    spec.preprocess_with(&pre, &bytes, "a.png", &mut new)
        .unwrap();
    assert_eq!(old, new);
    let d = spec.describe();
    assert_eq!(d.scale, "[0,1]: value = pixel / 255");
    assert_eq!(d.color, "RGB");
    assert!(d.resize.starts_with("to exactly 10x12 (height x width)"));
}

#[test]
fn bad_options_are_refused_with_the_value() {
    let gray = ImageSpec {
        layout: Layout::Nhw,
        channels: 1,
        height: 4,
        width: 4,
    };
    let rgb = ImageSpec {
        layout: Layout::Nchw,
        channels: 3,
        ..gray
    };
    let msg = |spec: &ImageSpec, o: PreprocessOptions| o.resolve(spec).unwrap_err().to_string();
    assert_eq!(
        msg(
            &gray,
            PreprocessOptions {
                scale: ScalePreset::Imagenet,
                ..Default::default()
            }
        ),
        "invalid scale = imagenet: ImageNet's mean and std are for 3 channels; the model takes 1"
    );
    assert_eq!(
        msg(
            &gray,
            PreprocessOptions {
                color: ColorOrder::Bgr,
                ..Default::default()
            }
        ),
        "invalid channel order = BGR: the model takes 1 channel (grayscale)"
    );
    assert_eq!(
        msg(
            &rgb,
            PreprocessOptions {
                scale: ScalePreset::Custom,
                mean: vec![0.5, 0.5],
                std: vec![0.5],
                ..Default::default()
            }
        ),
        "invalid mean = [0.5, 0.5]: give 1 value or 3 (one per model channel), not 2"
    );
    assert_eq!(
        msg(
            &rgb,
            PreprocessOptions {
                scale: ScalePreset::Custom,
                mean: vec![0.5],
                std: vec![0.0],
                ..Default::default()
            }
        ),
        "invalid std = [0.0]: a standard deviation cannot be 0"
    );
    assert_eq!(
        msg(
            &rgb,
            PreprocessOptions {
                crop_ratio: 1.5,
                ..Default::default()
            }
        ),
        "invalid crop ratio = 1.5: it must be in (0.1, 1], e.g. 0.875 for 224 of 256"
    );
}
