//! The `downstream` binary end to end: embed, metrics and eval on committed fixtures.

mod common;

use std::process::Command;

use downstream::npy;
use serde_json::Value;

fn downstream(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_downstream"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("downstream-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn embed_npy_matches_onnxruntime() {
    let out = temp("golden.npy");
    let (ok, _, err) = downstream(&[
        "embed",
        "--model",
        "assets/demo/encoder.onnx",
        "--input",
        "tests/fixtures/golden/encoder_input.npy",
        "--out",
        &out,
    ]);
    assert!(ok, "{err}");
    let got = npy::read(&std::fs::read(&out).unwrap(), "out").unwrap();
    let want = npy::read(
        &common::read("tests/fixtures/golden/encoder_output.npy"),
        "want",
    )
    .unwrap();
    assert_eq!(got.shape, vec![16, 64]);
    let max_abs = common::max_abs_diff(&got.data, &want.data);
    assert!(max_abs <= 1e-4, "max-abs {max_abs}");
}

#[test]
fn embed_zip_writes_embeddings_and_labels() {
    let out = temp("tiny.npy");
    let (ok, _, err) = downstream(&[
        "embed",
        "--model",
        "assets/demo/encoder.onnx",
        "--input",
        "tests/fixtures/data/tiny.zip",
        "--out",
        &out,
    ]);
    assert!(ok, "{err}");
    let got = npy::read(&std::fs::read(&out).unwrap(), "out").unwrap();
    assert_eq!(got.shape, vec![36, 64]);
    let labels = std::fs::read_to_string(temp("tiny.labels.txt")).unwrap();
    let lines: Vec<&str> = labels.lines().collect();
    assert_eq!(lines.len(), 36);
    assert_eq!((lines[0], lines[12], lines[35]), ("cat", "dog", "fish"));
    let (ok, _, err) = downstream(&[
        "embed",
        "--model",
        "assets/demo/encoder.onnx",
        "--input",
        "tests/fixtures/probe/digits_X_test.npy",
        "--out",
        &out,
    ]);
    assert!(!ok);
    assert!(
        err.contains("error: input shape [360, 64] vs the model's [N, [1, 28, 28]]"),
        "{err}"
    );
}

#[test]
fn metrics_json_equals_scikit_learn() {
    let cases: Vec<Value> =
        serde_json::from_slice(&common::read("tests/fixtures/metrics/cases.json")).unwrap();
    let case = cases.iter().find(|c| c["name"] == "string_labels").unwrap();
    let write_lines = |name: &str, key: &str| {
        let text: String = case[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| format!("{}\n", v.as_str().unwrap()))
            .collect();
        let path = temp(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (t, p) = (
        write_lines("t.txt", "y_true"),
        write_lines("p.txt", "y_pred"),
    );
    let rows: Vec<f32> = case["proba"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
        })
        .collect();
    let k = case["labels"].as_array().unwrap().len();
    let proba = temp("proba.npy");
    let mut buf = Vec::new();
    npy::write_f32(&mut buf, &[rows.len() / k, k], &rows).unwrap();
    std::fs::write(&proba, buf).unwrap();
    let (ok, stdout, err) = downstream(&[
        "metrics", "--y-true", &t, "--y-pred", &p, "--proba", &proba, "--json",
    ]);
    assert!(ok, "{err}");
    let got: Value = serde_json::from_str(&stdout).unwrap();
    let e = &case["expected"];
    for key in [
        "accuracy",
        "balanced_accuracy",
        "macro_precision",
        "macro_recall",
        "macro_f1",
        "weighted_f1",
        "mcc",
        "cohen_kappa",
        "roc_auc_ovr_macro",
        "top_2_accuracy",
        "log_loss",
    ] {
        let (g, w) = (got[key].as_f64().unwrap(), e[key].as_f64().unwrap());
        // The probabilities are multiples of 1/1024, exact in float32.
        assert!(common::close(g, w, 1e-9), "{key}: {g} vs scikit-learn {w}");
    }
    assert_eq!(got["confusion_matrix"], e["confusion_matrix"]);
    assert_eq!(
        got["per_class"]["cat"]["support"],
        e["per_class"]["cat"]["support"]
    );

    let (ok, stdout, _) = downstream(&["metrics", "--y-true", &t, "--y-pred", &p]);
    assert!(ok);
    assert!(stdout.contains("weighted avg"), "{stdout}");
    let short = temp("short.txt");
    std::fs::write(&short, "cat\n").unwrap();
    let (ok, _, err) = downstream(&["metrics", "--y-true", &t, "--y-pred", &short]);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "error: lines in {short} vs {t}: expected 24, got 1"
        )),
        "{err}"
    );
}

#[test]
fn eval_writes_a_versioned_report() {
    let out = temp("report.json");
    let (ok, stdout, err) = downstream(&[
        "eval",
        "--model",
        "assets/demo/encoder.onnx",
        "--data",
        "tests/fixtures/data/tiny.zip",
        "--seed",
        "3",
        "--out",
        &out,
    ]);
    assert!(ok, "{err}");
    assert!(stdout.contains("accuracy"), "{stdout}");
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["schema"], "downstream-report");
    assert_eq!(report["version"], 1);
    assert_eq!(report["protocol"]["seed"], 3);
    assert_eq!(report["data"]["counts"], serde_json::json!([12, 12, 12]));
    let n_test = report["protocol"]["n_test"].as_u64().unwrap();
    let cells: u64 = report["metrics"]["confusion_matrix"]["matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .sum();
    assert_eq!((n_test, cells), (6, 6));
    assert_eq!(report["model"]["sha256"].as_str().unwrap().len(), 64);
    // Baselines on the same split: 3 balanced classes, 2 test items each.
    let b = &report["baselines"];
    assert_eq!(b["majority_class"], "cat");
    assert_eq!(b["majority_accuracy"].as_f64(), Some(2.0 / 6.0));
    // scikit-learn: f1_score([0,0,1,1,2,2], [0]*6, average="macro") == 0.1666…
    assert!((b["majority_macro_f1"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-12);
    assert_eq!(b["chance_accuracy"].as_f64(), Some(1.0 / 3.0));
    assert!((b["stratified_chance_accuracy"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn reports_round_trip_and_bad_ones_are_refused() {
    use downstream::report::Report;
    let out = temp("rt.json");
    let (ok, _, err) = downstream(&[
        "eval",
        "--model",
        "assets/demo/encoder.onnx",
        "--data",
        "tests/fixtures/data/tiny.zip",
        "--out",
        &out,
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let report = Report::from_json(&text).unwrap();
    assert_eq!(report.to_json(), text);
    let cases = [
        ("{", "not a readable Downstream report: not JSON: EOF while parsing an object at line 1 column 1"),
        ("{\"schema\": \"other\"}", "not a readable Downstream report: its schema is not 'downstream-report'"),
        ("{\"schema\": \"downstream-report\", \"version\": 9}", "not a readable Downstream report: version 9 is not supported (this page reads version 1)"),
    ];
    for (input, message) in cases {
        assert_eq!(Report::from_json(input).unwrap_err().to_string(), message);
    }
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["predictions"]["y_pred"][0] = serde_json::json!(7);
    let err = Report::from_json(&v.to_string()).unwrap_err().to_string();
    assert_eq!(
        err,
        "not a readable Downstream report: a prediction names a class index outside the labels"
    );
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["metrics"]["confusion_matrix"]["matrix"][0] = serde_json::json!([1]);
    let err = Report::from_json(&v.to_string()).unwrap_err().to_string();
    assert_eq!(
        err,
        "not a readable Downstream report: the confusion matrix is not 3 x 3 like its labels"
    );
}

#[test]
fn probe_and_compare_on_precomputed_embeddings() {
    let f = "tests/fixtures/probe";
    let (xtr, ytr) = (
        format!("{f}/digits_X_train.npy"),
        format!("{f}/digits_y_train.txt"),
    );
    let (xte, yte) = (
        format!("{f}/digits_X_test.npy"),
        format!("{f}/digits_y_test.txt"),
    );
    let base = [
        "probe",
        "--train-x",
        &xtr,
        "--train-y",
        &ytr,
        "--test-x",
        &xte,
        "--test-y",
        &yte,
    ];
    let run = |extra: &[&str], out: &str| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let (ok, stdout, err) = downstream(&args);
        assert!(ok, "{err}");
        std::fs::write(temp(out), &stdout).unwrap();
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    let vote = run(
        &["--probe", "knn-vote", "--json", "--ci-resamples", "500"],
        "vote.json",
    );
    assert_eq!(vote["probe"]["kind"], "knn_vote");
    assert_eq!(vote["probe"]["k"], 3);
    assert_eq!(vote["metrics"]["ci"]["resamples"], 500);
    // Same predictions as scikit-learn's KNeighborsClassifier (tests/probes_sklearn.rs).
    let fixture: Value =
        serde_json::from_slice(&common::read("tests/fixtures/probes/knn.json")).unwrap();
    assert_eq!(vote["predictions"]["y_pred"], fixture["vote"][1]["pred"]);
    run(
        &["--probe", "centroid", "--json", "--ci-resamples", "0"],
        "centroid.json",
    );
    let (ok, stdout, err) = downstream(&[
        "compare",
        "--report-a",
        &temp("vote.json"),
        "--report-b",
        &temp("centroid.json"),
        "--resamples",
        "500",
    ]);
    assert!(ok, "{err}");
    assert!(
        stdout.contains("McNemar (chi_square_continuity_corrected)"),
        "{stdout}"
    );
    // Reports on different test items are refused.
    let out = temp("report_seed1.json");
    let (ok, _, err) = downstream(&[
        "eval",
        "--model",
        "assets/demo/encoder.onnx",
        "--data",
        "tests/fixtures/data/tiny.zip",
        "--seed",
        "1",
        "--probe",
        "knn-vote",
        "--out",
        &out,
    ]);
    assert!(ok, "{err}");
    let report: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(report["probe"]["kind"], "knn_vote");
    assert_eq!(report["metrics"]["ci"]["resamples"], 1000);
    let (ok, _, err) = downstream(&[
        "compare",
        "--report-a",
        &out,
        "--report-b",
        &temp("vote.json"),
    ]);
    assert!(!ok);
    assert!(
        err.contains("error: the two reports cannot be compared: their class labels differ (cat, dog, fish vs 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)"),
        "{err}"
    );
    let out2 = temp("report_seed2.json");
    let (ok, _, err) = downstream(&[
        "eval",
        "--model",
        "assets/demo/encoder.onnx",
        "--data",
        "tests/fixtures/data/tiny.zip",
        "--seed",
        "2",
        "--out",
        &out2,
    ]);
    assert!(ok, "{err}");
    let (ok, _, err) = downstream(&["compare", "--report-a", &out, "--report-b", &out2]);
    assert!(!ok);
    assert!(
        err.contains(
            "error: the two reports cannot be compared: their test items differ (position 0: item"
        ),
        "{err}"
    );
    let (ok, _, err) = downstream(&[&base[..], &["--probe", "knn", "--k", "2000"]].concat());
    assert!(!ok);
    assert!(
        err.contains("error: invalid k = 2000: more neighbours than the 1437 training samples"),
        "{err}"
    );
}

#[test]
fn ranges_embedded_apart_equal_the_stepwise_embeddings() {
    use downstream::session::{EvalConfig, Session};
    let mut s = Session::new();
    s.load_model(&common::read("assets/demo/encoder.onnx"), "encoder.onnx")
        .unwrap();
    s.load_data_zip(&common::read("tests/fixtures/data/tiny.zip"), "tiny.zip")
        .unwrap();
    s.embed_all(8, |_, _| {}).unwrap();
    let whole = s.embeddings().to_vec();
    let mut parts = s.embed_range(0, 8).unwrap();
    parts.extend(s.embed_range(8, 16).unwrap());
    parts.extend(s.embed_range(16, 36).unwrap());
    let a = s
        .evaluate(&EvalConfig::default(), |_, _| true)
        .unwrap()
        .clone();
    // The ranges 0..8 and 8..16 are the same batches as embed_all(8): bit-identical.
    assert_eq!(parts[..16 * 64], whole[..16 * 64]);
    let mut t = Session::new();
    t.load_model(&common::read("assets/demo/encoder.onnx"), "encoder.onnx")
        .unwrap();
    t.load_data_zip(&common::read("tests/fixtures/data/tiny.zip"), "tiny.zip")
        .unwrap();
    t.set_embeddings(whole.clone()).unwrap();
    assert_eq!(t.evaluate(&EvalConfig::default(), |_, _| true).unwrap(), &a);
    let err = t.embed_range(30, 40).unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid item range = 30..40: outside the data set's 36 items"
    );
    let err = t
        .set_embeddings(whole[..10].to_vec())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "embedding values for 36 items of dimension 64: expected 2304, got 10"
    );
    let mut bad = whole;
    bad[70] = f32::NAN;
    let err = t.set_embeddings(bad).unwrap_err().to_string();
    assert_eq!(
        err,
        "the installed embeddings contains a non-finite value (NaN) at row 1, column 6"
    );
}

fn eval_report(extra: &[&str], name: &str) -> Value {
    let out = temp(name);
    let mut args = vec![
        "eval",
        "--model",
        "assets/demo/encoder.onnx",
        "--data",
        "assets/demo/digits.zip",
        "--ci-resamples",
        "0",
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    let (ok, _, err) = downstream(&args);
    assert!(ok, "{err}");
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// `eval --protocol`: each protocol is named with its settings, and its numbers agree with
/// the plain hold-out runs they are made of (no external reference exists for Downstream's
/// seeded splits; SentEval and the CLIP search are checked against scikit-learn in
/// src/protocol.rs and tests/probes_sklearn.rs).
#[test]
fn eval_protocols_agree_with_the_hold_outs_they_are_made_of() {
    let plain: Vec<Value> = (0..2)
        .map(|s| eval_report(&["--seed", &s.to_string()], &format!("holdout{s}.json")))
        .collect();
    let rep = eval_report(
        &["--protocol", "repeated", "--repeats", "2"],
        "repeated.json",
    );
    let p = &rep["protocol"];
    assert_eq!(p["name"], "repeated_stratified_holdout");
    assert_eq!(
        p["settings"],
        serde_json::json!({"name": "repeated", "repeats": 2})
    );
    for (s, h) in plain.iter().enumerate() {
        assert_eq!(p["runs"][s]["run"], format!("seed {s}"));
        assert_eq!(p["runs"][s]["accuracy"], h["metrics"]["accuracy"]);
        assert_eq!(p["runs"][s]["macro_f1"], h["metrics"]["macro_f1"]);
    }
    let accs = [&plain[0], &plain[1]].map(|h| h["metrics"]["accuracy"].as_f64().unwrap());
    assert_eq!(
        p["accuracy"]["mean"].as_f64().unwrap(),
        (accs[0] + accs[1]) / 2.0
    );
    // The full metrics and predictions are those of the first run: the seed-0 hold-out.
    assert_eq!(rep["predictions"], plain[0]["predictions"]);
    assert_eq!(
        rep["metrics"]["confusion_matrix"],
        plain[0]["metrics"]["confusion_matrix"]
    );

    let kf = eval_report(&["--protocol", "kfold", "--folds", "4"], "kfold.json");
    let p = &kf["protocol"];
    assert_eq!(p["name"], "stratified_kfold");
    assert_eq!(p["runs"].as_array().unwrap().len(), 4);
    // Out-of-fold predictions: every item once, so the pooled accuracy is the size-weighted
    // mean of the folds' accuracies.
    let index: Vec<u64> = kf["predictions"]["test_index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(index, (0..1000).collect::<Vec<u64>>());
    let pooled: f64 = p["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["accuracy"].as_f64().unwrap() * r["n_test"].as_f64().unwrap())
        .sum::<f64>()
        / 1000.0;
    assert!((kf["metrics"]["accuracy"].as_f64().unwrap() - pooled).abs() < 1e-12);

    let fs = eval_report(
        &["--protocol", "few-shot", "--shots", "1,4", "--seeds", "3"],
        "few-shot.json",
    );
    let p = &fs["protocol"];
    assert_eq!(p["name"], "few_shot");
    let runs = p["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6);
    for (i, pt) in p["few_shot"].as_array().unwrap().iter().enumerate() {
        let accs: Vec<f64> = runs[3 * i..3 * i + 3]
            .iter()
            .map(|r| r["accuracy"].as_f64().unwrap())
            .collect();
        let mean = accs.iter().sum::<f64>() / 3.0;
        let std = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        assert_eq!(pt["shots"], [1, 4][i]);
        assert_eq!(pt["seeds"], 3);
        assert!((pt["mean"].as_f64().unwrap() - mean).abs() < 1e-12);
        assert!((pt["std"].as_f64().unwrap() - std).abs() < 1e-12);
        assert_eq!(runs[3 * i]["n_train"], 10 * [1, 4][i]);
    }
    assert_eq!(
        fs["metrics"]["accuracy"], runs[3]["accuracy"],
        "detail: 4 shots, seed 1"
    );
    assert_eq!(fs["protocol"]["n_test"], 200);

    let clip = eval_report(&["--protocol", "clip"], "clip.json");
    let p = &clip["protocol"];
    assert_eq!(p["name"], "clip_linear_probe");
    let chosen = p["chosen_c"].as_f64().unwrap();
    assert_eq!(p["c_searches"][0]["chosen"].as_f64().unwrap(), chosen);
    assert_eq!(
        p["c_searches"][0]["trials"].as_array().unwrap().len(),
        7 + 2 * 8
    );
    assert_eq!(clip["probe"]["c"].as_f64().unwrap(), chosen);
    assert_eq!(p["runs"][0]["accuracy"], clip["metrics"]["accuracy"]);
    assert!(!f64s(&clip["probe"]["loss_per_iteration"]).is_empty());
    assert!(p["deviations"].as_array().unwrap().len() >= 2);
    // The plain hold-out's report has none of the protocol fields.
    assert!(plain[0]["protocol"].get("runs").is_none());
    assert_eq!(plain[0]["protocol"]["name"], "stratified_holdout");

    let (ok, _, err) = downstream(&[
        "eval",
        "--model",
        "assets/demo/encoder.onnx",
        "--data",
        "assets/demo/digits.zip",
        "--protocol",
        "vtab",
    ]);
    assert!(!ok);
    assert!(
        err.contains("VTAB-1k needs at least 1,000 training samples"),
        "{err}"
    );
}

/// `probe --kfold`, `--few-shot --seeds` and `--repeats` on the digits embeddings.
#[test]
fn probe_protocol_flags() {
    let f = "tests/fixtures/probe";
    let run = |extra: &[&str]| {
        let (xtr, ytr) = (
            format!("{f}/digits_X_train.npy"),
            format!("{f}/digits_y_train.txt"),
        );
        let (xte, yte) = (
            format!("{f}/digits_X_test.npy"),
            format!("{f}/digits_y_test.txt"),
        );
        let mut args = vec![
            "probe",
            "--train-x",
            &xtr,
            "--train-y",
            &ytr,
            "--test-x",
            &xte,
            "--test-y",
            &yte,
            "--json",
        ];
        args.extend_from_slice(extra);
        let (ok, stdout, err) = downstream(&args);
        assert!(ok, "{err}");
        serde_json::from_str::<Value>(&stdout).unwrap()
    };
    let kf = run(&["--kfold", "3", "--probe", "centroid"]);
    assert_eq!(
        (kf["preset"].as_str(), kf["probe"].as_str()),
        (Some("stratified_kfold"), Some("nearest_centroid"))
    );
    let runs = kf["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let n: u64 = runs.iter().map(|r| r["n_test"].as_u64().unwrap()).sum();
    assert_eq!(n, 1437 + 360, "the folds cover the training and test rows");

    let fs = run(&["--few-shot", "1,2", "--seeds", "4", "--probe", "centroid"]);
    let points = fs["few_shot"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[1]["shots"], 2);
    assert_eq!(points[1]["seeds"], 4);
    assert_eq!(fs["runs"].as_array().unwrap().len(), 8);
    assert!(fs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["n_test"] == 360));

    let rep = run(&["--repeats", "2", "--probe", "knn-vote"]);
    assert_eq!(rep["preset"], "repeated_stratified_holdout");
    assert_eq!(
        rep["settings"],
        serde_json::json!({"name": "repeated", "repeats": 2})
    );
    assert_eq!(rep["runs"][1]["run"], "seed 1");
}

/// `eval --head`: the uploaded head is scored on the hold-out test split (the head's own
/// numbers against scikit-learn are checked in tests/onnx_head.rs); a head whose class
/// count does not fit the data is refused with both counts.
#[test]
fn eval_scores_an_onnx_head() {
    let head = "tests/fixtures/head/digits_head_proba.onnx";
    let report = eval_report(&["--head", head], "head.json");
    assert_eq!(report["probe"]["kind"], "onnx_head");
    assert_eq!(report["probe"]["head"]["name"], "digits_head_proba.onnx");
    assert_eq!(
        report["probe"]["head"]["sha256"],
        downstream::data::sha256_hex(&common::read(head))
    );
    assert_eq!(
        report["probe"]["scores"],
        "the head's outputs, which are probabilities"
    );
    assert_eq!(report["protocol"]["n_test"], 200);
    let plain = eval_report(&[], "plain-for-head.json");
    assert_eq!(
        report["predictions"]["test_index"],
        plain["predictions"]["test_index"]
    );
    let (ok, _, err) = downstream(&[
        "eval",
        "--model",
        "assets/demo/encoder.onnx",
        "--data",
        "assets/demo/digits.zip",
        "--head",
        "tests/fixtures/head/k3_head.onnx",
    ]);
    assert!(!ok);
    assert!(err.contains("error: the head 'k3_head.onnx' outputs 3 class scores, but the data set has 10 classes"), "{err}");
}
