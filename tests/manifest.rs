//! A split manifest given beside the data (`eval --manifest FILE`, the page's manifest
//! input): the images of `tests/fixtures/splits/manifest.zip` without its manifest.csv, as a
//! zip, a folder and a folder's files, with that manifest.csv (or manifest.json) beside them,
//! load the counts per class per part that `tools/make_split_fixtures.py` wrote (counts.json)
//! and the same items, parts and predictions as the zip with the manifest inside.

mod common;

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use downstream::data::{Dataset, Manifest};
use serde_json::Value;

use common::{split_counts as counts, Counts};

fn expected() -> Counts {
    serde_json::from_slice(&common::read("tests/fixtures/splits/counts.json")).unwrap()
}

/// The files of manifest.zip, and its manifest.csv apart.
fn split_files() -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let bytes = common::read("tests/fixtures/splits/manifest.zip");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut files = Vec::new();
    let mut manifest = None;
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        if name == "manifest.csv" {
            manifest = Some(buf);
        } else {
            files.push((name, buf));
        }
    }
    (files, manifest.unwrap())
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (path, bytes) in files {
        w.start_file(path.as_str(), options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("downstream-manifest-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_folder(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (path, bytes) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// (path, label name, part) of every item.
fn items(d: &Dataset) -> Vec<(String, String, &'static str)> {
    d.items
        .iter()
        .map(|i| {
            (
                i.path.clone(),
                d.classes[i.label].clone(),
                i.split.map_or("none", |p| p.name()),
            )
        })
        .collect()
}

#[test]
fn a_manifest_beside_a_zip_a_folder_or_files_gives_the_inside_manifest_counts() {
    let inside = Dataset::from_zip(
        &common::read("tests/fixtures/splits/manifest.zip"),
        "manifest.zip",
    )
    .unwrap();
    assert_eq!(counts(&inside), expected());
    let (files, csv) = split_files();
    let manifest = Manifest::new("labels.csv", &csv).unwrap();
    let sha = downstream::data::sha256_hex(&csv);

    let zip = zip_of(&files);
    // Without the manifest the flat images/ folder is one class: refused.
    assert!(Dataset::from_zip(&zip, "flat.zip").is_err());
    let from_zip = Dataset::from_zip_with(&zip, "flat.zip", Some(&manifest)).unwrap();
    let dir = temp_dir("dir");
    write_folder(&dir, &files);
    let from_dir = Dataset::from_path_with(&dir, Some(&manifest)).unwrap();
    let from_files = Dataset::from_files_with(files.clone(), "flat", Some(&manifest)).unwrap();
    // With the manifest beside, the data set's SHA-256 covers it: the zip's SHA-256 (hex),
    // a zero byte, then the manifest.
    let mut joined = downstream::data::sha256_hex(&zip).into_bytes();
    joined.push(0);
    joined.extend_from_slice(&csv);
    assert_eq!(from_zip.sha256, downstream::data::sha256_hex(&joined));
    assert_eq!(from_dir.sha256, from_files.sha256);
    for d in [&from_zip, &from_dir, &from_files] {
        assert_eq!(counts(d), expected(), "{}", d.name);
        assert_eq!(items(d), items(&inside), "{}", d.name);
        assert_eq!(
            d.split_source.as_deref(),
            Some(format!("manifest 'labels.csv' beside the data (SHA-256 {sha})").as_str())
        );
        let skipped: Vec<(&str, &str)> = d
            .skipped
            .iter()
            .map(|s| (s.path.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                ("images/extra.png", "not listed in labels.csv"),
                (
                    "images/missing.png",
                    "listed in labels.csv but not in the data"
                )
            ]
        );
        let info = d.info();
        assert_eq!(info.split_source, d.split_source);
        assert_eq!(
            serde_json::to_value(&info.split_counts).unwrap(),
            serde_json::json!([
                {"split": "train", "counts": [7, 7, 7]},
                {"split": "val", "counts": [2, 2, 2]},
                {"split": "test", "counts": [3, 3, 3]}
            ])
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_manifest_beside_wins_over_one_inside_which_is_listed_as_skipped() {
    let json = common::read("tests/fixtures/splits/manifest.json");
    let manifest = Manifest::new("manifest.json", &json).unwrap();
    let d = Dataset::from_zip_with(
        &common::read("tests/fixtures/splits/manifest.zip"),
        "manifest.zip",
        Some(&manifest),
    )
    .unwrap();
    assert_eq!(counts(&d), expected());
    let skipped: Vec<(&str, &str)> = d
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("images/extra.png", "not listed in manifest.json"),
            (
                "manifest.csv",
                "the manifest 'manifest.json' given beside the data is used instead"
            )
        ]
    );
}

#[test]
fn a_bad_manifest_beside_is_refused_with_its_name() {
    let msg = |bytes: &[u8]| Manifest::new("m.csv", bytes).unwrap_err().to_string();
    assert_eq!(
        msg(b"path,label\na.png,x\n"),
        "'m.csv': the header (path,label) has no 'split' column; a manifest has path,label,split"
    );
    assert!(msg(b"path,label,split\n\xff,x,train\n").starts_with("'m.csv': not UTF-8 text"));
    // Every listed file missing: no images.
    let manifest = Manifest::new("m.csv", b"path,label,split\nnope.png,x,train\n").unwrap();
    let (files, _) = split_files();
    let err = Dataset::from_files_with(files, "flat", Some(&manifest)).unwrap_err();
    assert!(err.to_string().contains("flat"), "{err}");
}

fn eval(args: &[&str], out: &Path) -> Value {
    let run = Command::new(env!("CARGO_BIN_EXE_downstream"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["eval", "--model", "assets/demo/encoder.onnx", "--seed", "0"])
        .args(args)
        .args(["--ci-resamples", "0", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

#[test]
fn eval_manifest_on_a_folder_and_a_zip_equals_the_manifest_inside() {
    let dir = temp_dir("cli");
    let (files, csv) = split_files();
    write_folder(&dir.join("flat"), &files);
    std::fs::write(dir.join("flat.zip"), zip_of(&files)).unwrap();
    let manifest = dir.join("labels.csv");
    std::fs::write(&manifest, &csv).unwrap();
    let inside = eval(
        &["--data", "tests/fixtures/splits/manifest.zip"],
        &dir.join("inside.json"),
    );
    for data in ["flat", "flat.zip"] {
        let r = eval(
            &[
                "--data",
                dir.join(data).to_str().unwrap(),
                "--manifest",
                manifest.to_str().unwrap(),
            ],
            &dir.join(format!("{data}.json")),
        );
        assert_eq!(r["protocol"]["name"], "given_split", "{data}");
        assert_eq!(r["protocol"]["n_train"], 21, "{data}");
        assert_eq!(r["protocol"]["n_test"], 9, "{data}");
        assert!(r["protocol"]["split_source"]
            .as_str()
            .unwrap()
            .starts_with("manifest 'labels.csv' beside the data (SHA-256 "));
        assert_eq!(r["data"]["split_counts"], inside["data"]["split_counts"]);
        assert_eq!(r["data"]["counts"], inside["data"]["counts"]);
        assert_eq!(r["predictions"], inside["predictions"], "{data}");
        assert_eq!(r["metrics"]["accuracy"], inside["metrics"]["accuracy"]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
