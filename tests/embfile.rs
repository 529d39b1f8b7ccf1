//! Precomputed embeddings in every accepted format (`tests/fixtures/embeddings`, written by
//! `tools/make_embedding_fixtures.py` from scikit-learn's iris): the readers agree, the CLI's
//! `probe` gives the same numbers for .npy + labels, .npz and .csv, and those numbers are
//! scikit-learn's `LogisticRegression` on the same split (`iris_sklearn.json`).

mod common;

use std::process::Command;

use downstream::embfile;
use downstream::session::{EvalConfig, Session};
use serde_json::Value;

const DIR: &str = "tests/fixtures/embeddings";

fn path(file: &str) -> String {
    format!("{DIR}/{file}")
}

fn load(file: &str, labels: Option<&str>) -> embfile::Embeddings {
    let lb = labels.map(|l| common::read(&path(l)));
    embfile::read(&common::read(&path(file)), file, lb.as_deref().zip(labels))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn downstream(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_downstream"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn every_format_reads_the_same_embeddings() {
    let npz = load("iris.npz", None);
    assert_eq!((npz.n(), npz.dim), (150, 4));
    assert_eq!(npz.labels[0], "setosa");
    assert_eq!(npz.labels[149], "virginica");
    assert_eq!(npz, load("iris.csv", None));
    assert_eq!(npz, load("iris_X.npy", Some("iris_labels.txt")));
    // float64 X and integer y: the same values as float32, labels as integers.
    let int = load("iris_int.npz", None);
    assert_eq!(int.x, npz.x);
    assert_eq!(
        (int.labels[0].as_str(), int.labels[149].as_str()),
        ("0", "2")
    );
    // An .npz without y takes a labels file; one with y refuses a second one.
    let e = embfile::read(
        &common::read(&path("iris.npz")),
        "iris.npz",
        Some((b"a\n", "y.txt")),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "array file 'iris.npz': it has its own labels (y); 'y.txt' is not needed"
    );
}

fn probe_json(train: &str, test: &str, labels: Option<(&str, &str)>) -> Value {
    let (tr, te) = (path(train), path(test));
    let mut args = vec![
        "probe",
        "--train-x",
        &tr,
        "--test-x",
        &te,
        "--json",
        "--ci-resamples",
        "200",
    ];
    let ys = labels.map(|(a, b)| (path(a), path(b)));
    if let Some((a, b)) = &ys {
        args.extend(["--train-y", a, "--test-y", b]);
    }
    downstream(&args)
}

#[test]
fn probe_gives_the_same_numbers_in_every_format_and_equals_scikit_learn() {
    let npy = probe_json(
        "iris_X_train.npy",
        "iris_X_test.npy",
        Some(("iris_y_train.txt", "iris_y_test.txt")),
    );
    let npz = probe_json("iris_train.npz", "iris_test.npz", None);
    let csv = probe_json("iris_train.csv", "iris_test.csv", None);
    assert_eq!(npy, npz);
    assert_eq!(npy, csv);
    let sk: Value = serde_json::from_slice(&common::read(&path("iris_sklearn.json"))).unwrap();
    let m = &npz["metrics"];
    let labels = m["confusion_matrix"]["labels"].as_array().unwrap();
    assert_eq!(labels, sk["classes"].as_array().unwrap());
    let name = |v: &Value| labels[v.as_u64().unwrap() as usize].clone();
    let y_pred: Vec<Value> = npz["predictions"]["y_pred"]
        .as_array()
        .unwrap()
        .iter()
        .map(name)
        .collect();
    let y_true: Vec<Value> = npz["predictions"]["y_true"]
        .as_array()
        .unwrap()
        .iter()
        .map(name)
        .collect();
    assert_eq!(&y_true, sk["y_test"].as_array().unwrap());
    assert_eq!(&y_pred, sk["y_pred"].as_array().unwrap());
    assert_eq!(m["accuracy"], sk["accuracy"]);
    assert!(common::close(
        m["macro_f1"].as_f64().unwrap(),
        sk["macro_f1"].as_f64().unwrap(),
        1e-12
    ));
    let (ll, sk_ll) = (
        m["log_loss"].as_f64().unwrap(),
        sk["log_loss"].as_f64().unwrap(),
    );
    assert!(
        (ll - sk_ll).abs() <= 1e-4,
        "log loss {ll} vs scikit-learn {sk_ll}"
    );
}

fn split_report(args: &[&str]) -> Value {
    let mut all = vec!["probe", "--json", "--ci-resamples", "1000"];
    all.extend(args);
    downstream(&all)
}

/// The parts of a report that do not name the input file.
fn numbers(r: &Value) -> Value {
    serde_json::json!({
        "protocol": r["protocol"], "probe": r["probe"], "metrics": r["metrics"],
        "predictions": r["predictions"], "baselines": r["baselines"],
        "classes": r["data"]["classes"], "counts": r["data"]["counts"],
    })
}

#[test]
fn one_file_is_split_like_the_page_in_every_format() {
    let (npz, csv, npy, labels) = (
        path("iris.npz"),
        path("iris.csv"),
        path("iris_X.npy"),
        path("iris_labels.txt"),
    );
    let a = split_report(&["--data", &npz]);
    assert_eq!(a["protocol"]["name"], "stratified_holdout");
    assert_eq!(
        (&a["protocol"]["n_train"], &a["protocol"]["n_test"]),
        (&Value::from(120), &Value::from(30))
    );
    assert_eq!(a["data"]["counts"], serde_json::json!([50, 50, 50]));
    assert_eq!(a["model"]["name"], "iris.npz");
    assert_eq!(a["model"]["embedding_dim"], 4);
    assert_eq!(numbers(&a), numbers(&split_report(&["--data", &csv])));
    assert_eq!(
        numbers(&a),
        numbers(&split_report(&["--data", &npy, "--labels", &labels]))
    );
    // The session the page runs gives the same report.
    let mut s = Session::new();
    s.load_embeddings(&common::read(&npz), "iris.npz", None)
        .unwrap();
    let report = s.evaluate(&EvalConfig::default(), |_, _| true).unwrap();
    let page: Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(page, a);
    // Another seed is another split.
    let b = split_report(&["--data", &npz, "--seed", "3"]);
    assert_ne!(
        a["predictions"]["test_index"],
        b["predictions"]["test_index"]
    );
}

#[test]
fn a_session_switches_between_embeddings_and_images() {
    let mut s = Session::new();
    s.load_model(&common::read("assets/demo/encoder.onnx"), "encoder.onnx")
        .unwrap();
    s.load_embeddings(&common::read(&path("iris.npz")), "iris.npz", None)
        .unwrap();
    let r = s.evaluate(&EvalConfig::default(), |_, _| true).unwrap();
    assert_eq!(r.model.name, "iris.npz");
    assert_eq!(r.preprocessing.scale, "none (precomputed embeddings)");
    s.load_data_zip(&common::read("tests/fixtures/data/tiny.zip"), "tiny.zip")
        .unwrap();
    s.embed_all(64, |_, _| {}).unwrap();
    let r = s.evaluate(&EvalConfig::default(), |_, _| true).unwrap();
    assert_eq!((r.model.name.as_str(), r.data.n), ("encoder.onnx", 36));
}
