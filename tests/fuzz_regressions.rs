//! Replays every input the fuzzers found (`tests/fixtures/fuzz-regressions/<target>/`)
//! through the functions the harnesses in `fuzz/fuzz_targets/` call
//! (`downstream::fuzzing`): each must give `Ok` or `Err`, never a panic. A failure names
//! every file that panicked.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use downstream::fuzzing::TARGETS;

#[test]
fn every_fuzz_crash_input_is_handled_without_a_panic() {
    let root = common::fixture("tests/fixtures/fuzz-regressions");
    let mut replayed = 0;
    let mut panicked = Vec::new();
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (target, run) in TARGETS {
        let Ok(entries) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for file in files.iter().filter(|f| f.is_file()) {
            let bytes = std::fs::read(file).unwrap();
            replayed += 1;
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(&bytes))) {
                let why = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panicked.push(format!("{target}/{}: {why}", file.display()));
            }
        }
    }
    std::panic::set_hook(quiet);
    assert!(panicked.is_empty(), "panicked:\n{}", panicked.join("\n"));
    eprintln!("replayed {replayed} fuzz regression inputs");
}

#[test]
fn every_regression_folder_names_a_fuzz_target() {
    let root = common::fixture("tests/fixtures/fuzz-regressions");
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "tests/fixtures/fuzz-regressions/{name} is not a fuzz target, so it is never replayed"
        );
    }
}

#[test]
fn every_fuzz_target_has_a_harness() {
    let dir = common::fixture("fuzz/fuzz_targets");
    for (target, _) in TARGETS {
        let harness = std::fs::read_to_string(dir.join(format!("{target}.rs"))).unwrap();
        assert!(
            harness.contains(&format!("downstream::fuzzing::{target}(")),
            "fuzz/fuzz_targets/{target}.rs does not call downstream::fuzzing::{target}"
        );
    }
}
