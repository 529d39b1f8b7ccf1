//! Same inputs and seed give a byte-identical report: `downstream eval` twice on the demo.

mod common;

use std::process::Command;

fn eval(out: &std::path::Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_downstream"))
        .args(["eval", "--model"])
        .arg(common::fixture("assets/demo/encoder.onnx"))
        .arg("--data")
        .arg(common::fixture("assets/demo/digits.zip"))
        .args(["--seed", "0", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn two_runs_on_the_demo_write_byte_identical_reports() {
    let dir = std::env::temp_dir().join(format!("downstream-determinism-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    eval(&a);
    eval(&b);
    let (a, b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    std::fs::remove_dir_all(&dir).ok();
    assert!(!a.is_empty());
    if a != b {
        let (ta, tb) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
        let first = ta
            .lines()
            .zip(tb.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| format!("line {}: {x} != {y}", i + 1));
        panic!("the reports differ: {}", first.unwrap_or_default());
    }
}
