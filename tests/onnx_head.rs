//! Uploaded ONNX heads (`src/onnx_head.rs`): the heads in tests/fixtures/head/ are
//! scikit-learn's LogisticRegression on the digits split exported as Gemm (+ Softmax) by
//! tools/make_onnx_head.py, which also wrote scikit-learn's predictions and metrics of them
//! (expected.json). Scored by Downstream they must give the same predictions and metrics.

mod common;

use downstream::data::Dataset;
use downstream::heads::ProbeSpec;
use downstream::metrics::{self, Proba};
use downstream::npy;
use downstream::onnx_head::OnnxHead;
use downstream::probe::Features;
use downstream::protocol::ProtocolSpec;
use downstream::session::{EvalConfig, Session};
use downstream::Error;
use serde_json::Value;

fn expected() -> Value {
    serde_json::from_slice(&common::read("tests/fixtures/head/expected.json")).unwrap()
}

fn digits_test() -> (Vec<f32>, usize, Vec<usize>) {
    let a = npy::read(&common::read("tests/fixtures/probe/digits_X_test.npy"), "x").unwrap();
    let y = String::from_utf8(common::read("tests/fixtures/probe/digits_y_test.txt"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    (a.data.iter().map(|&v| v as f32).collect(), a.shape[1], y)
}

fn head(file: &str) -> OnnxHead {
    OnnxHead::load(&common::read(&format!("tests/fixtures/head/{file}")), file).unwrap()
}

#[test]
fn heads_give_scikit_learns_predictions_and_metrics() {
    let want = expected();
    let (x, d, y) = digits_test();
    let classes: Vec<String> = serde_json::from_value(want["classes"].clone()).unwrap();
    let want_pred: Vec<usize> = serde_json::from_value(want["y_pred"].clone()).unwrap();
    let want_proba: Vec<Vec<f64>> = serde_json::from_value(want["proba"].clone()).unwrap();
    for (file, output) in [
        ("digits_head_proba.onnx", "probabilities"),
        ("digits_head_logits.onnx", "logits"),
    ] {
        let h = head(file);
        assert_eq!(
            (h.info().input_dim, h.info().n_classes),
            (Some(64), Some(10))
        );
        let s = h
            .predict(Features::new(&x, d, "x").unwrap(), classes.len())
            .unwrap();
        assert_eq!(s.output, output, "{file}");
        let flat: Vec<f64> = want_proba.iter().flatten().copied().collect();
        let worst = common::max_abs_diff(&s.proba, &flat);
        assert!(
            worst < 1e-5,
            "{file}: probabilities differ by {worst} (float32 head)"
        );
        let pred = downstream::probe::argmax_rows(&s.proba, 10);
        assert_eq!(pred, want_pred, "{file}");
        let proba = Proba {
            values: &s.proba,
            n_classes: 10,
        };
        let m = metrics::evaluate(&y, &pred, &classes, Some(proba)).unwrap();
        assert_eq!(m.accuracy, want["accuracy"].as_f64().unwrap());
        assert!(common::close(
            m.macro_f1,
            want["macro_f1"].as_f64().unwrap(),
            1e-12
        ));
        let ll = m.log_loss.unwrap();
        assert!(
            common::close(ll, want["log_loss"].as_f64().unwrap(), 1e-5),
            "{file}: {ll}"
        );
        let auc = m.roc_auc_ovr_macro.unwrap();
        let want_auc = want["roc_auc_ovr_macro"].as_f64().unwrap();
        assert!(common::close(auc, want_auc, 1e-6), "{file}: {auc}");
    }
}

#[test]
fn mismatched_heads_are_refused_with_their_dimensions() {
    let (x, d, _) = digits_test();
    let feats = Features::new(&x, d, "x").unwrap();
    let e = head("dim32_head.onnx").predict(feats, 10).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the head 'dim32_head.onnx' takes inputs of dimension 32, but the embeddings have dimension 64: expected 64, got 32"
    );
    let e = head("k3_head.onnx").predict(feats, 10).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the head 'k3_head.onnx' outputs 3 class scores, but the data set has 10 classes: expected 10, got 3"
    );
    for bytes in [
        &b""[..],
        b"not an onnx file",
        &common::read("tests/fixtures/probe/digits_X_test.npy"),
    ] {
        assert!(matches!(
            OnnxHead::load(bytes, "bad.onnx"),
            Err(Error::InvalidModel { .. })
        ));
    }
}

/// In a session the head scores the hold-out test split like a probe (here the digits
/// head on the demo's 64-d embeddings: meaningless scores, the same pipeline).
#[test]
fn a_session_scores_the_head_on_its_split() {
    let mut s = Session::new();
    s.load_model(&common::read("assets/demo/encoder.onnx"), "encoder.onnx")
        .unwrap();
    s.set_data(Dataset::from_path(&common::fixture("assets/demo/digits.zip")).unwrap())
        .unwrap();
    s.embed_all(256, |_, _| {}).unwrap();
    let cfg = EvalConfig {
        probe: Some(ProbeSpec::OnnxHead),
        ..Default::default()
    };
    assert!(matches!(
        s.evaluate(&cfg, |_, _| true),
        Err(Error::NotReady(_))
    ));
    assert!(s.load_head(b"junk", "junk.onnx").is_err());
    let info = s
        .load_head(
            &common::read("tests/fixtures/head/digits_head_logits.onnx"),
            "digits_head_logits.onnx",
        )
        .unwrap();
    assert_eq!(info.input_dim, Some(64));
    let emb = s.embeddings().to_vec();
    let report = s.evaluate(&cfg, |_, _| true).unwrap().clone();
    assert_eq!(report.probe.kind, "onnx_head");
    assert_eq!(
        report.probe.head.as_ref().unwrap().name,
        "digits_head_logits.onnx"
    );
    // The same numbers as the head on the gathered test rows, scored directly.
    let rows = &report.predictions.test_index;
    let x: Vec<f32> = rows
        .iter()
        .flat_map(|&r| emb[r * 64..(r + 1) * 64].iter().copied())
        .collect();
    let direct = head("digits_head_logits.onnx")
        .predict(Features::new(&x, 64, "x").unwrap(), 10)
        .unwrap();
    let pred = downstream::probe::argmax_rows(&direct.proba, 10);
    assert_eq!(report.predictions.y_pred, pred);
    let m = metrics::evaluate(
        &report.predictions.y_true,
        &pred,
        &report.metrics.confusion_matrix.labels,
        Some(Proba {
            values: &direct.proba,
            n_classes: 10,
        }),
    )
    .unwrap();
    assert_eq!(report.metrics.accuracy, m.accuracy);
    assert_eq!(report.metrics.log_loss, m.log_loss);
    // A head is not trained: protocols that fit are refused.
    let kfold = EvalConfig {
        protocol: ProtocolSpec::Kfold { folds: 5 },
        ..cfg
    };
    assert!(matches!(
        s.evaluate(&kfold, |_, _| true),
        Err(Error::NotReady(_))
    ));
}
