//! Explicit splits (`tests/fixtures/splits`, made by `tools/make_split_fixtures.py` from
//! tiny.zip): top-level train/ val/ test/ folders and a path,label,split manifest load the
//! counts per class per part the script wrote, and `eval` fits on train and scores on test
//! only, naming the split's source in the report.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use downstream::data::{parse_manifest, Dataset};
use serde_json::Value;

use common::split_counts as counts;

fn expected() -> BTreeMap<String, BTreeMap<String, usize>> {
    serde_json::from_slice(&common::read("tests/fixtures/splits/counts.json")).unwrap()
}

#[test]
fn folders_and_manifests_load_their_parts() {
    let d = Dataset::from_zip(
        &common::read("tests/fixtures/splits/folders.zip"),
        "folders.zip",
    )
    .unwrap();
    assert_eq!(d.split_source.as_deref(), Some("folders train/ val/ test/"));
    assert_eq!(d.classes, ["cat", "dog", "fish"]);
    assert_eq!(counts(&d), expected());
    let skipped: Vec<(&str, &str)> = d
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "train/loose.png",
                "not inside a class folder of train/, val/ or test/"
            ),
            (
                "train/readme.txt",
                "not an image file (expected .png, .jpg, .jpeg, .webp, .bmp or .gif)"
            )
        ]
    );

    let m = Dataset::from_zip(
        &common::read("tests/fixtures/splits/manifest.zip"),
        "manifest.zip",
    )
    .unwrap();
    assert_eq!(m.split_source.as_deref(), Some("manifest 'manifest.csv'"));
    assert_eq!(counts(&m), expected());
    let skipped: Vec<(&str, &str)> = m
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("images/extra.png", "not listed in manifest.csv"),
            (
                "images/missing.png",
                "listed in manifest.csv but not in the data"
            )
        ]
    );
    // The JSON form reads as the CSV form.
    let json = String::from_utf8(common::read("tests/fixtures/splits/manifest.json")).unwrap();
    let rows = parse_manifest(&json, "manifest.json").unwrap();
    assert_eq!(rows.len(), 36);
    assert_eq!(
        m.items
            .iter()
            .map(|i| (i.path.clone(), m.classes[i.label].clone(), i.split))
            .collect::<Vec<_>>(),
        {
            let mut r: Vec<_> = rows
                .into_iter()
                .map(|r| (r.path, r.label, Some(r.split)))
                .collect();
            r.sort();
            r
        }
    );
    // A plain zip has no explicit split.
    let tiny =
        Dataset::from_zip(&common::read("tests/fixtures/data/tiny.zip"), "tiny.zip").unwrap();
    assert_eq!(tiny.split_source, None);
    assert!(tiny.split_counts().is_empty());
}

#[test]
fn bad_manifests_say_where() {
    let msg = |text: &str| parse_manifest(text, "m.csv").unwrap_err().to_string();
    assert_eq!(
        msg("path,label\na.png,x\n"),
        "'m.csv': the header (path,label) has no 'split' column; a manifest has path,label,split"
    );
    assert_eq!(
        msg("path,label,split\na.png,x,train\nb.png,y,holdout\n"),
        "'m.csv' line 3: split 'holdout' is not train, val or test"
    );
}

fn eval(data: &str, seed: &str) -> Value {
    let dir = std::env::temp_dir().join(format!("downstream-splits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{}-{seed}.json", data.replace('/', "_")));
    let run = Command::new(env!("CARGO_BIN_EXE_downstream"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "eval",
            "--model",
            "assets/demo/encoder.onnx",
            "--data",
            data,
        ])
        .args(["--seed", seed, "--ci-resamples", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

#[test]
fn eval_fits_on_train_and_scores_on_test_only() {
    for (file, source) in [
        (
            "tests/fixtures/splits/folders.zip",
            "folders train/ val/ test/",
        ),
        (
            "tests/fixtures/splits/manifest.zip",
            "manifest 'manifest.csv'",
        ),
    ] {
        let d = Dataset::from_path(&common::fixture(file)).unwrap();
        let r = eval(file, "0");
        assert_eq!(r["protocol"]["name"], "given_split", "{file}");
        assert_eq!(r["protocol"]["split_source"], source, "{file}");
        assert_eq!(r["protocol"]["n_train"], 21, "{file}");
        assert_eq!(r["protocol"]["n_test"], 9, "{file}");
        let test_index: Vec<usize> =
            serde_json::from_value(r["predictions"]["test_index"].clone()).unwrap();
        let parts: Vec<_> = test_index
            .iter()
            .map(|&i| d.items[i].split.map(|p| p.name()))
            .collect();
        assert_eq!(parts, vec![Some("test"); 9], "{file}");
        // Another seed does not move an explicit split.
        let again = eval(file, "3");
        assert_eq!(again["predictions"], r["predictions"]);
    }
}
