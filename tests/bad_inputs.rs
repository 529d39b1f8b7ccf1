//! The bad-input corpus (`tests/fixtures/bad`, made by `tools/make_bad_inputs.py`): each
//! file is refused with the message kept in `expected.json` (or, for `data-ok`, loaded with
//! the skipped files and classes kept there), nothing panics, and what was loaded before
//! stays usable. The CLI exits non-zero with the same message.

mod common;

use std::process::Command;

use downstream::npy;
use downstream::probe::Features;
use downstream::protocol::Labelled;
use downstream::session::{EvalConfig, Session};
use downstream::textdata::{TextColumns, TextDataset};
use serde::Deserialize;

/// Labels of the test half of every `probe` case.
const PROBE_TEST_X: &str = "embeddings4.npy";
const PROBE_TEST_Y: &str = "labels4.txt";

#[derive(Deserialize)]
struct Case {
    file: String,
    /// `model`, `data`, `embed`, `evaluate` (through a session), `probe` (embeddings
    /// and labels files, as the CLI's `probe`), `text` (a text data file), `embeddings`
    /// (precomputed embeddings as the data set: `Session::load_embeddings`, the CLI's
    /// `probe --data`), `data-ok` (a zip that loads, with files skipped).
    kind: String,
    /// The error message; absent for `data-ok`.
    #[serde(default)]
    message: Option<String>,
    /// `probe`: the training labels file (default `labels4.txt`); `embeddings`: the
    /// labels file of a `.npy` (none by default).
    #[serde(default)]
    labels: Option<String>,
    /// `data-ok`: the classes found.
    #[serde(default)]
    classes: Vec<String>,
    /// `data-ok`: `[path, reason]` of every skipped file.
    #[serde(default)]
    skipped: Vec<(String, String)>,
}

fn cases() -> Vec<Case> {
    serde_json::from_slice(&common::read("tests/fixtures/bad/expected.json")).unwrap()
}

/// Where a case's file is: `tests/fixtures/bad/`, or `tests/fixtures/models/` for
/// `models/...` (the tiny models of `tools/make_model_fixtures.py`).
fn bad_path(file: &str) -> String {
    match file.strip_prefix("models/") {
        Some(model) => format!("tests/fixtures/models/{model}"),
        None => format!("tests/fixtures/bad/{file}"),
    }
}

/// The file name a user's file is known by (as the CLI names it).
fn base(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

fn bad(file: &str) -> Vec<u8> {
    common::read(&bad_path(file))
}

fn loaded_session() -> Session {
    let mut s = Session::new();
    s.load_model(&common::read("assets/demo/encoder.onnx"), "encoder.onnx")
        .unwrap();
    s.load_data_zip(&common::read("tests/fixtures/data/tiny.zip"), "tiny.zip")
        .unwrap();
    s
}

fn labels(file: &str) -> Vec<usize> {
    String::from_utf8(bad(file))
        .unwrap()
        .lines()
        .map(|l| usize::from(l != "a"))
        .collect()
}

/// The CLI's `probe` reading: embeddings, then features, then one label per row.
fn run_probe(case: &Case) -> Result<(), downstream::Error> {
    let train = npy::read(&bad(&case.file), &case.file)?;
    let test = npy::read(&bad(PROBE_TEST_X), PROBE_TEST_X)?;
    let to_f32 = |a: &npy::Array| a.data.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let (xtr, xte) = (to_f32(&train), to_f32(&test));
    let ytr = labels(case.labels.as_deref().unwrap_or(PROBE_TEST_Y));
    let yte = labels(PROBE_TEST_Y);
    let train_f = Features::new(&xtr, train.shape[1], &case.file)?;
    let test_f = Features::new(&xte, test.shape[1], PROBE_TEST_X)?;
    Labelled::new(train_f, &ytr, 2, "training set")?;
    Labelled::new(test_f, &yte, 2, "test set")?;
    Ok(())
}

fn run_case(s: &mut Session, case: &Case) -> Result<(), downstream::Error> {
    let bytes = bad(&case.file);
    match case.kind.as_str() {
        "model" => s.load_model(&bytes, base(&case.file)).map(drop),
        "data" => s.load_data_zip(&bytes, &case.file).map(drop),
        "embed" if case.file.ends_with(".onnx") => {
            s.load_model(&bytes, &case.file)?;
            s.embed_all(64, |_, _| {})
        }
        "embed" => {
            s.load_data_zip(&bytes, &case.file)?;
            s.embed_all(64, |_, _| {})
        }
        "evaluate" => {
            s.load_data_zip(&bytes, &case.file)?;
            s.embed_all(64, |_, _| {})?;
            s.evaluate(&EvalConfig::default(), |_, _| true).map(drop)
        }
        "probe" => run_probe(case),
        "text" => TextDataset::from_bytes(&bytes, &case.file, &TextColumns::default()).map(drop),
        "embeddings" => {
            let labels = case.labels.as_deref().map(|l| (bad(l), l));
            s.load_embeddings(
                &bytes,
                &case.file,
                labels.as_ref().map(|(b, l)| (b.as_slice(), *l)),
            )
            .map(drop)
        }
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn every_bad_input_gets_its_message_and_keeps_the_session() {
    let mut failures = Vec::new();
    for case in cases().iter().filter(|c| c.kind != "data-ok") {
        let mut s = loaded_session();
        let got = match run_case(&mut s, case) {
            Ok(()) => "(no error)".to_string(),
            Err(e) => e.to_string(),
        };
        let want = case.message.as_deref().unwrap_or_default();
        if got != want {
            failures.push(format!("{}:\n  want {want}\n  got  {got}", case.file));
            continue;
        }
        if case.kind == "model" || case.kind == "data" || case.kind == "embeddings" {
            s.embed_all(64, |_, _| {}).unwrap();
            let report = s.evaluate(&EvalConfig::default(), |_, _| true).unwrap();
            assert_eq!(
                report.data.n, 36,
                "{}: the previous data set is kept",
                case.file
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unsafe_and_odd_names_are_skipped_or_kept_as_text() {
    for case in cases().iter().filter(|c| c.kind == "data-ok") {
        let mut s = Session::new();
        let info = s.load_data_zip(&bad(&case.file), &case.file).unwrap();
        let skipped: Vec<(String, String)> = info
            .skipped
            .iter()
            .map(|k| (k.path.clone(), k.reason.clone()))
            .collect();
        assert_eq!(skipped, case.skipped, "{}", case.file);
        assert_eq!(info.classes, case.classes, "{}", case.file);
    }
}

fn cli(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_downstream"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_cli_exits_non_zero_with_the_same_message() {
    let dir = std::env::temp_dir().join(format!("downstream-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for case in cases().iter().filter(|c| c.kind != "text") {
        let path = |f: &str| common::fixture(&bad_path(f));
        let file = path(&case.file);
        let out = if case.kind == "embeddings" {
            let mut args = vec!["probe".as_ref(), "--data".as_ref(), file.as_os_str()];
            let labels = case.labels.as_deref().map(path);
            if let Some(l) = &labels {
                args.extend(["--labels".as_ref(), l.as_os_str()]);
            }
            cli(&args)
        } else if case.kind == "probe" {
            let y = path(case.labels.as_deref().unwrap_or(PROBE_TEST_Y));
            let (tx, ty) = (path(PROBE_TEST_X), path(PROBE_TEST_Y));
            cli(&[
                "probe".as_ref(),
                "--train-x".as_ref(),
                file.as_os_str(),
                "--train-y".as_ref(),
                y.as_os_str(),
                "--test-x".as_ref(),
                tx.as_os_str(),
                "--test-y".as_ref(),
                ty.as_os_str(),
            ])
        } else {
            let (model, data) = if case.file.ends_with(".onnx") {
                (file, common::fixture("tests/fixtures/data/tiny.zip"))
            } else {
                (common::fixture("assets/demo/encoder.onnx"), file)
            };
            let report = dir.join(format!("{}.json", case.file));
            cli(&[
                "eval".as_ref(),
                "--model".as_ref(),
                model.as_os_str(),
                "--data".as_ref(),
                data.as_os_str(),
                "--ci-resamples".as_ref(),
                "0".as_ref(),
                "--out".as_ref(),
                report.as_os_str(),
            ])
        };
        let stderr = String::from_utf8_lossy(&out.stderr);
        match &case.message {
            Some(message) => {
                assert!(!out.status.success(), "{}", case.file);
                assert!(
                    stderr.contains(&format!("error: {message}")),
                    "{}: {stderr}",
                    case.file
                );
            }
            None => {
                assert!(out.status.success(), "{}: {stderr}", case.file);
                let report: serde_json::Value = serde_json::from_slice(
                    &std::fs::read(dir.join(format!("{}.json", case.file))).unwrap(),
                )
                .unwrap();
                let skipped: Vec<(String, String)> =
                    serde_json::from_value(report["data"]["skipped"].clone())
                        .map(|v: Vec<serde_json::Value>| {
                            v.iter()
                                .map(|k| {
                                    (
                                        k["path"].as_str().unwrap_or_default().to_string(),
                                        k["reason"].as_str().unwrap_or_default().to_string(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap();
                assert_eq!(skipped, case.skipped, "{}", case.file);
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
