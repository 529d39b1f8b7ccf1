//! `downstream eval` with a text encoder (all-MiniLM-L6-v2 + tokenizer.json) on a CSV and a
//! JSONL of 135 TREC-6 questions, against scikit-learn: `tests/fixtures/text-eval/reference.json`
//! is LogisticRegression(C=1, max_iter=1000) on onnxruntime + tokenizers embeddings
//! (sentence-transformers' recipe) with the CLI's own seed-0 split, written by
//! `tools/make_text_eval_fixture.py`. Needs `models/minilm/` (`make models`).

mod common;

use std::process::Command;

use serde_json::Value;

const MODEL: &str = "models/minilm/model.onnx";
const TOKENIZER: &str = "models/minilm/tokenizer.json";

fn eval(data: &str, extra: &[&str], tag: &str) -> Value {
    assert!(
        common::fixture(MODEL).exists(),
        "{MODEL} is missing: build it with `make models`"
    );
    let out_path = std::env::temp_dir().join(format!(
        "downstream-text-eval-{tag}-{}.json",
        std::process::id()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_downstream"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "eval",
            "--model",
            MODEL,
            "--tokenizer",
            TOKENIZER,
            "--data",
            data,
        ])
        .args(["--seed", "0", "--out"])
        .arg(&out_path)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let _ = std::fs::remove_file(&out_path);
    report
}

fn reference() -> Value {
    serde_json::from_slice(&common::read("tests/fixtures/text-eval/reference.json")).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn text_eval_matches_scikit_learn_on_csv_and_jsonl() {
    let want = reference();
    let csv = eval("tests/fixtures/text-eval/trec_small.csv", &[], "csv");
    assert_eq!(csv["data"]["classes"], want["classes"]);
    assert_eq!(csv["data"]["n"], want["n"]);
    assert_eq!(
        csv["data"]["counts"],
        serde_json::json!([10, 25, 25, 25, 25, 25])
    );
    assert_eq!(csv["model"]["embedding_dim"], 384);
    assert_eq!(
        csv["preprocessing"]["scale"],
        "pooling mean over the attention mask, L2-normalised"
    );
    assert_eq!(
        csv["preprocessing"]["resize"],
        "tokenizer.json, truncation at 256 word pieces"
    );
    let p = &csv["predictions"];
    assert_eq!(
        p["test_index"], want["test_index"],
        "the split the fixture used"
    );
    assert_eq!(p["y_true"], want["y_true"]);
    assert_eq!(p["y_pred"], want["y_pred"], "the probe's predictions");
    let m = &csv["metrics"];
    for key in ["accuracy", "balanced_accuracy", "macro_f1", "weighted_f1"] {
        assert!(
            (f(&m[key]) - f(&want[key])).abs() < 1e-12,
            "{key}: {} vs scikit-learn {}",
            m[key],
            want[key]
        );
    }
    assert_eq!(m["confusion_matrix"]["matrix"], want["confusion_matrix"]);
    // Float32 embeddings from tract vs onnxruntime and two L-BFGS runs to their tolerances.
    assert!(
        (f(&m["log_loss"]) - f(&want["log_loss"])).abs() < 2e-3,
        "log loss {} vs scikit-learn {}",
        m["log_loss"],
        want["log_loss"]
    );
    for (got, want) in p["confidence"]
        .as_array()
        .unwrap()
        .iter()
        .zip(want["confidence"].as_array().unwrap())
    {
        assert!(
            (f(got) - f(want)).abs() < 5e-3,
            "confidence {got} vs {want}"
        );
    }

    // The same rows as JSONL under other keys give the same report numbers.
    let jsonl = eval(
        "tests/fixtures/text-eval/trec_small.jsonl",
        &["--text-column", "question", "--label-column", "coarse"],
        "jsonl",
    );
    assert_eq!(jsonl["predictions"], csv["predictions"]);
    assert_eq!(jsonl["metrics"]["accuracy"], csv["metrics"]["accuracy"]);
}

#[test]
fn text_eval_options_reach_the_encoder() {
    // CLS pooling without normalisation is another embedding: the report says so, and the
    // probe sees other numbers than with the default mean pooling.
    let cls = eval(
        "tests/fixtures/text-eval/trec_small.csv",
        &["--pooling", "cls", "--no-normalize", "--ci-resamples", "0"],
        "cls",
    );
    assert_eq!(cls["preprocessing"]["scale"], "pooling CLS token");
    assert_eq!(cls["model"]["pooling"], "cls");
    let want = reference();
    assert_ne!(
        cls["predictions"]["confidence"], want["confidence"],
        "other pooling, other probabilities"
    );
    // A wrong column is a clear error, not a panic.
    let out = Command::new(env!("CARGO_BIN_EXE_downstream"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["eval", "--model", MODEL, "--tokenizer", TOKENIZER])
        .args([
            "--data",
            "tests/fixtures/text-eval/trec_small.csv",
            "--text-column",
            "sentence",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("trec_small.csv") && stderr.contains("sentence"),
        "{stderr}"
    );
}
