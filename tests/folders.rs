//! Folders from the page (`Dataset::from_files`): the same data set as the zip and folder
//! readers on the same files, since all three go through one function.

mod common;

use std::io::{Read, Write};

use downstream::data::{Dataset, MAX_FILE_BYTES};

/// The members of a zip archive as (path, bytes), in archive order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .filter_map(|i| {
            let mut f = archive.by_index(i).unwrap();
            if f.is_dir() {
                return None;
            }
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).unwrap();
            Some((f.name().unwrap().to_string(), buf))
        })
        .collect()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, bytes) in files {
        out.start_file(path.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(bytes).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn assert_same(a: &Dataset, b: &Dataset) {
    assert_eq!(a.classes, b.classes);
    assert_eq!(a.items.len(), b.items.len());
    for (x, y) in a.items.iter().zip(&b.items) {
        assert_eq!(
            (&x.path, x.label, &x.bytes, x.split),
            (&y.path, y.label, &y.bytes, y.split)
        );
    }
    assert_eq!(a.skipped, b.skipped);
    assert_eq!(a.split_source, b.split_source);
    assert_eq!(a.info().counts, b.info().counts);
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("downstream-folders-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn from_files_equals_from_zip_and_from_dir_on_tiny() {
    let zip_bytes = common::read("tests/fixtures/data/tiny.zip");
    let from_zip = Dataset::from_zip(&zip_bytes, "tiny.zip").unwrap();
    let mut files = unzip(&zip_bytes);
    files.push(("notes.txt".into(), b"not an image".to_vec()));
    files.push(("cat/readme.md".into(), b"# cats".to_vec()));
    files.push((".DS_Store".into(), vec![0; 8]));
    // The page sends files in whatever order the browser lists them.
    files.reverse();
    let from_files = Dataset::from_files(files.clone(), "tiny").unwrap();
    let from_zip_extra = Dataset::from_zip(&zip_of(&files), "tiny.zip").unwrap();
    assert_same(&from_files, &from_zip_extra);
    assert_eq!(from_files.classes, from_zip.classes);
    assert_eq!(from_files.items.len(), from_zip.items.len());
    assert_eq!(from_files.info().counts, vec![12, 12, 12]);
    assert_eq!(from_files.skipped.len(), 2);

    let dir = temp_dir("tiny");
    for (path, bytes) in &files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let from_dir = Dataset::from_dir(&dir).unwrap();
    assert_same(&from_files, &from_dir);
    // A folder picked on the page and the same folder given to the CLI have one SHA-256.
    assert_eq!(from_files.sha256, from_dir.sha256);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn from_files_reads_split_folders_and_manifests_like_zip() {
    let tiny = unzip(&common::read("tests/fixtures/data/tiny.zip"));
    let split: Vec<(String, Vec<u8>)> = tiny
        .iter()
        .enumerate()
        .map(|(i, (p, b))| {
            let part = if i % 4 == 0 { "test" } else { "train" };
            (format!("{part}/{p}"), b.clone())
        })
        .collect();
    let a = Dataset::from_files(split.clone(), "split").unwrap();
    let b = Dataset::from_zip(&zip_of(&split), "split.zip").unwrap();
    assert_same(&a, &b);
    assert_eq!(a.split_source.as_deref(), Some("folders train/ val/ test/"));

    let mut manifest = String::from("path,label,split\n");
    for (i, (p, _)) in tiny.iter().enumerate() {
        let label = if i % 2 == 0 { "even" } else { "odd" };
        let part = if i % 3 == 0 { "test" } else { "train" };
        manifest.push_str(&format!("{p},{label},{part}\n"));
    }
    let mut with_manifest = tiny.clone();
    with_manifest.push(("manifest.csv".into(), manifest.into_bytes()));
    let a = Dataset::from_files(with_manifest.clone(), "m").unwrap();
    let b = Dataset::from_zip(&zip_of(&with_manifest), "m.zip").unwrap();
    assert_same(&a, &b);
    assert_eq!(a.classes, vec!["even", "odd"]);
}

#[test]
fn from_files_skips_and_refuses_with_the_zip_messages() {
    let tiny = unzip(&common::read("tests/fixtures/data/tiny.zip"));
    let mut files = tiny.clone();
    files.push(("../evil/x.png".into(), vec![1]));
    files.push(("/abs/y.png".into(), vec![1]));
    files.push(("c:/z.png".into(), vec![1]));
    files.push(("cat/huge.png".into(), vec![0; MAX_FILE_BYTES as usize + 1]));
    let d = Dataset::from_files(files, "bad").unwrap();
    let reasons: Vec<(&str, &str)> = d
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    let unsafe_path = "unsafe path (absolute, a drive letter or with '..')";
    assert_eq!(
        reasons,
        vec![
            ("../evil/x.png", unsafe_path),
            ("/abs/y.png", unsafe_path),
            ("c:/z.png", unsafe_path),
            ("cat/huge.png", "larger than 67108864 bytes"),
        ]
    );
    assert_eq!(d.items.len(), 36);

    let one_class: Vec<_> = tiny
        .into_iter()
        .filter(|(p, _)| p.starts_with("cat/"))
        .collect();
    let files_err = Dataset::from_files(one_class.clone(), "one").unwrap_err();
    let zip_err = Dataset::from_zip(&zip_of(&one_class), "one").unwrap_err();
    assert_eq!(files_err, zip_err);
    assert_eq!(
        files_err.to_string(),
        "the data set has 1 class(es) ('cat'); a probe needs at least 2"
    );
    assert_eq!(
        Dataset::from_files(Vec::new(), "empty")
            .unwrap_err()
            .to_string(),
        "no images found in 'empty': put images in one folder per class (for example cats/001.png)"
    );
}
