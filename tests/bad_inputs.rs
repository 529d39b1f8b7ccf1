//! The bad-input corpus (`tests/fixtures/bad`, made by `tools/make_bad_inputs.py`): each
//! file is refused with the message kept in `expected.json`, nothing panics, and what was
//! loaded before stays usable. The CLI exits non-zero with the same message.

mod common;

use std::process::Command;

use downstream::session::{EvalConfig, Session};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    file: String,
    kind: String,
    message: String,
}

fn cases() -> Vec<Case> {
    serde_json::from_slice(&common::read("tests/fixtures/bad/expected.json")).unwrap()
}

fn loaded_session() -> Session {
    let mut s = Session::new();
    s.load_model(&common::read("assets/demo/encoder.onnx"), "encoder.onnx")
        .unwrap();
    s.load_data_zip(&common::read("tests/fixtures/data/tiny.zip"), "tiny.zip")
        .unwrap();
    s
}

fn run_case(s: &mut Session, case: &Case) -> Result<(), downstream::Error> {
    let bytes = common::read(&format!("tests/fixtures/bad/{}", case.file));
    match case.kind.as_str() {
        "model" => s.load_model(&bytes, &case.file).map(drop),
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
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn every_bad_input_gets_its_message_and_keeps_the_session() {
    for case in cases() {
        let mut s = loaded_session();
        let err = run_case(&mut s, &case).expect_err(&case.file);
        assert_eq!(err.to_string(), case.message, "{}", case.file);
        if case.kind == "model" || case.kind == "data" {
            s.embed_all(64, |_, _| {}).unwrap();
            let report = s.evaluate(&EvalConfig::default(), |_, _| true).unwrap();
            assert_eq!(
                report.data.n, 36,
                "{}: the previous data set is kept",
                case.file
            );
        }
    }
}

#[test]
fn the_cli_exits_non_zero_with_the_same_message() {
    for case in cases() {
        let bad = common::fixture(&format!("tests/fixtures/bad/{}", case.file));
        let (model, data) = if case.file.ends_with(".onnx") {
            (bad, common::fixture("tests/fixtures/data/tiny.zip"))
        } else {
            (common::fixture("assets/demo/encoder.onnx"), bad)
        };
        let out = Command::new(env!("CARGO_BIN_EXE_downstream"))
            .args(["eval", "--model"])
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", case.file);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("error: {}", case.message)),
            "{}: {stderr}",
            case.file
        );
    }
}
