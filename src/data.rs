//! Labelled data sets: images from a zip archive, a folder or a folder's files with one
//! sub-folder per class (or explicit splits), and text data sets as items.

use std::io::{Cursor, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::textdata::TextDataset;

/// Largest total uncompressed size an archive may declare (1 GiB).
pub const MAX_ARCHIVE_BYTES: u64 = 1 << 30;
/// Largest single file accepted from an archive or folder (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "bmp", "gif"];

/// One labelled image, still encoded.
#[derive(Debug, Clone)]
pub struct Item {
    pub path: String,
    pub label: usize,
    pub bytes: Vec<u8>,
    /// The part of an explicit split the item belongs to (`None` without one).
    pub split: Option<Part>,
}

/// A part of an explicit split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Train,
    Val,
    Test,
}

impl Part {
    /// The part a folder or manifest value names: `train`, `val` (`valid`, `validation`)
    /// or `test`, in any case.
    pub fn parse(name: &str) -> Option<Part> {
        match name.trim().to_ascii_lowercase().as_str() {
            "train" => Some(Part::Train),
            "val" | "valid" | "validation" => Some(Part::Val),
            "test" => Some(Part::Test),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Val => "val",
            Part::Test => "test",
        }
    }
}

/// File names of a split manifest at the top of an archive or folder.
pub const MANIFEST_NAMES: [&str; 4] = ["manifest.csv", "manifest.json", "splits.csv", "split.csv"];

/// A file that was not used, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// A loaded data set; items are sorted by path, classes by name.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: String,
    pub sha256: String,
    pub classes: Vec<String>,
    pub items: Vec<Item>,
    pub skipped: Vec<Skipped>,
    /// Where an explicit train/val/test split came from (`folders train/ val/ test/` or
    /// `manifest 'name'`); `None` for a seeded stratified split.
    pub split_source: Option<String>,
    /// Whether the items are texts (UTF-8 `bytes`, from [`Dataset::from_texts`]), not images.
    pub text: bool,
}

/// What the page and the report show of a data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataInfo {
    pub name: String,
    pub sha256: String,
    pub n: usize,
    pub classes: Vec<String>,
    pub counts: Vec<usize>,
    pub skipped: Vec<Skipped>,
    /// Where an explicit split came from (see [`Dataset::split_source`]); absent without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_source: Option<String>,
    /// Items per class (in class order) of each part of an explicit split; absent without one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub split_counts: Vec<SplitCounts>,
}

/// The items per class of one part of an explicit split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitCounts {
    pub split: Part,
    pub counts: Vec<usize>,
}

/// A split manifest given beside the data instead of inside it (CSV or JSON
/// `path,label,split`, read by [`parse_manifest`]): its file name and text.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub name: String,
    pub text: String,
}

/// The bytes of a data set as they arrive: a zip archive, or a folder's files (paths
/// relative to it, with their bytes).
#[derive(Debug)]
pub enum DataBytes<'a> {
    Zip(&'a [u8]),
    Files(Vec<(String, Vec<u8>)>),
}

impl Manifest {
    /// A manifest file's name and bytes (UTF-8; a BOM is allowed).
    pub fn new(name: &str, bytes: &[u8]) -> Result<Self> {
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| Error::BadTextFile {
            name: name.into(),
            detail: format!("not UTF-8 text: {e}"),
        })?;
        parse_manifest(&text, name)?;
        Ok(Manifest {
            name: name.into(),
            text,
        })
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A relative path without `..`, a root or a drive letter, judged on the name as stored
/// (`/` or `\\` separators). Zip names are never used as file-system paths, but they
/// name classes and appear on the page, so an unsafe one is skipped, not cleaned up.
fn is_safe_path(raw: &str) -> bool {
    let mut parts = raw.split(['/', '\\']);
    let first = parts.next().unwrap_or_default();
    !first.is_empty() && !first.ends_with(':') && first != ".." && parts.all(|p| p != "..")
}

fn is_ignored(path: &str) -> bool {
    path.split('/')
        .any(|part| part.starts_with('.') || part == "__MACOSX")
}

/// SHA-256 of a folder's files: path, a zero byte, then the bytes, for each file in path order.
fn files_sha256(files: &[(String, Vec<u8>)]) -> String {
    let mut hasher = Sha256::new();
    for (p, b) in files {
        hasher.update(p.as_bytes());
        hasher.update([0]);
        hasher.update(b);
    }
    format!("{:x}", hasher.finalize())
}

/// The one way files become a data set, for zip archives, folders and files from the
/// page: paths use `/`; unsafe paths and files over [`MAX_FILE_BYTES`] are skipped, more
/// than [`MAX_ARCHIVE_BYTES`] in all is refused; files are sorted by path and, without
/// `sha256` (the archive's), hashed with [`files_sha256`]; then [`assemble`].
fn build(
    name: &str,
    sha256: Option<String>,
    files: Files,
    mut skipped: Vec<Skipped>,
    beside: Option<&Manifest>,
) -> Result<Dataset> {
    let mut kept: Files = Vec::with_capacity(files.len());
    let mut total: u64 = 0;
    for (raw, bytes) in files {
        if !is_safe_path(&raw) {
            skipped.push(Skipped {
                path: raw,
                reason: "unsafe path (absolute, a drive letter or with '..')".into(),
            });
            continue;
        }
        let path = raw.replace('\\', "/");
        let size = bytes.len() as u64;
        if size > MAX_FILE_BYTES {
            skipped.push(Skipped {
                path,
                reason: format!("larger than {MAX_FILE_BYTES} bytes"),
            });
            continue;
        }
        total = total.saturating_add(size);
        if total > MAX_ARCHIVE_BYTES {
            return Err(Error::InvalidValue {
                name: "data size",
                value: format!("more than {MAX_ARCHIVE_BYTES} bytes"),
                why: format!("the files of '{name}' pass the limit of {MAX_ARCHIVE_BYTES} bytes"),
            });
        }
        kept.push((path, bytes));
    }
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let sha256 = sha256.unwrap_or_else(|| files_sha256(&kept));
    assemble(name, sha256, kept, skipped, beside)
}

/// Sorts files into classes by their parent folder; files that are not images, or
/// not inside a folder, are listed as skipped. A manifest given `beside` the data is used
/// instead of one inside it (which is then listed as skipped).
fn assemble(
    name: &str,
    sha256: String,
    files: Vec<(String, Vec<u8>)>,
    mut skipped: Vec<Skipped>,
    beside: Option<&Manifest>,
) -> Result<Dataset> {
    let (files, manifest) = take_manifest(files);
    if let Some(m) = beside {
        if let Some((inside, _)) = manifest {
            skipped.push(Skipped {
                path: inside,
                reason: format!(
                    "the manifest '{}' given beside the data is used instead",
                    m.name
                ),
            });
        }
        let rows = parse_manifest(&m.text, &m.name)?;
        // The labels come from the manifest, so the data set's SHA-256 covers it too (caches
        // and reports keyed by it must not mix the data with and without it).
        let mut hasher = Sha256::new();
        hasher.update(sha256.as_bytes());
        hasher.update([0]);
        hasher.update(m.text.as_bytes());
        let sha256 = format!("{:x}", hasher.finalize());
        let mut data = assemble_manifest(name, sha256, files, skipped, &m.name, rows)?;
        data.split_source = Some(format!(
            "manifest '{}' beside the data (SHA-256 {})",
            m.name,
            sha256_hex(m.text.as_bytes())
        ));
        return Ok(data);
    }
    if let Some((manifest_name, text)) = manifest {
        let rows = parse_manifest(&text, &manifest_name)?;
        return assemble_manifest(name, sha256, files, skipped, &manifest_name, rows);
    }
    let folders = split_folders(&files);
    let mut labelled: Vec<(String, String, Vec<u8>)> = Vec::new();
    for (path, bytes) in files {
        if is_ignored(&path) {
            continue;
        }
        if folders && is_image(&path) && path.split('/').count() < 3 {
            skipped.push(Skipped {
                path,
                reason: "not inside a class folder of train/, val/ or test/".into(),
            });
            continue;
        }
        let ext = path
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let parent = path
            .rsplit_once('/')
            .and_then(|(dir, _)| dir.rsplit('/').next())
            .filter(|d| !d.is_empty());
        match parent {
            _ if !IMAGE_EXTENSIONS.contains(&ext.as_str()) => skipped.push(Skipped {
                path,
                reason: "not an image file (expected .png, .jpg, .jpeg, .webp, .bmp or .gif)"
                    .into(),
            }),
            None => skipped.push(Skipped {
                path,
                reason: "not inside a class folder".into(),
            }),
            Some(class) => labelled.push((class.to_string(), path, bytes)),
        }
    }
    if labelled.is_empty() {
        return Err(Error::NoImages { name: name.into() });
    }
    let mut classes: Vec<String> = labelled.iter().map(|(c, _, _)| c.clone()).collect();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(Error::too_few_classes(&classes));
    }
    labelled.sort_by(|a, b| a.1.cmp(&b.1));
    let items = labelled
        .into_iter()
        .map(|(class, path, bytes)| Item {
            label: classes.binary_search(&class).unwrap_or_default(),
            split: if folders {
                path.split('/').next().and_then(Part::parse)
            } else {
                None
            },
            path,
            bytes,
        })
        .collect();
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Dataset {
        name: name.into(),
        sha256,
        classes,
        items,
        skipped,
        split_source: folders.then(|| "folders train/ val/ test/".to_string()),
        text: false,
    })
}

fn is_image(path: &str) -> bool {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    IMAGE_EXTENSIONS.contains(&ext.as_str())
}

/// Whether the images sit in top-level `train/`, `val/` and `test/` folders (every image
/// under one of them, with train and test both present).
fn split_folders(files: &[(String, Vec<u8>)]) -> bool {
    let mut parts = std::collections::BTreeSet::new();
    for (path, _) in files {
        if is_ignored(path) || !is_image(path) {
            continue;
        }
        let first = path.split_once('/').map(|(f, _)| f);
        match first.and_then(Part::parse) {
            Some(p) => parts.insert(p),
            None => return false,
        };
    }
    parts.contains(&Part::Train) && parts.contains(&Part::Test)
}

/// Paths and bytes of the files of an archive or folder.
type Files = Vec<(String, Vec<u8>)>;

/// Removes a top-level manifest file from `files` and returns it (name, text).
fn take_manifest(files: Files) -> (Files, Option<(String, String)>) {
    let mut manifest = None;
    let mut rest = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let lower = path.to_ascii_lowercase();
        if manifest.is_none() && MANIFEST_NAMES.contains(&lower.as_str()) {
            manifest = Some((path, String::from_utf8_lossy(&bytes).into_owned()));
        } else {
            rest.push((path, bytes));
        }
    }
    (rest, manifest)
}

/// One manifest row: a file, its label and its part; `line` is 1-based.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRow {
    pub line: u64,
    pub path: String,
    pub label: String,
    pub split: Part,
}

/// Reads a manifest: CSV with a header naming `path`, `label` and `split`, or JSON (an
/// array of `{"path", "label", "split"}` objects).
pub fn parse_manifest(text: &str, name: &str) -> Result<Vec<ManifestRow>> {
    let row_err = |line: u64, detail: String| Error::BadTextRow {
        name: name.into(),
        line,
        detail,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let part = |line: u64, v: &str| {
        Part::parse(v)
            .ok_or_else(|| row_err(line, format!("split '{v}' is not train, val or test")))
    };
    if name.to_ascii_lowercase().ends_with(".json") {
        #[derive(Deserialize)]
        struct Entry {
            path: String,
            label: String,
            split: String,
        }
        let entries: Vec<Entry> = serde_json::from_str(text).map_err(|e| Error::BadTextFile {
            name: name.into(),
            detail: format!("not a JSON array of {{\"path\", \"label\", \"split\"}} objects: {e}"),
        })?;
        return entries
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                Ok(ManifestRow {
                    line: i as u64 + 1,
                    split: part(i as u64 + 1, &e.split)?,
                    path: e.path,
                    label: e.label,
                })
            })
            .collect();
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| row_err(1, e.to_string()))?
        .clone();
    let col = |want: &str| {
        header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(want))
            .ok_or_else(|| Error::BadTextFile {
                name: name.into(),
                detail: format!(
                    "the header ({}) has no '{want}' column; a manifest has path,label,split",
                    header.iter().collect::<Vec<_>>().join(",")
                ),
            })
    };
    let (pc, lc, sc) = (col("path")?, col("label")?, col("split")?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record =
            record.map_err(|e| row_err(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |j: usize| record.get(j).unwrap_or_default().to_string();
        rows.push(ManifestRow {
            line,
            split: part(line, &field(sc))?,
            path: field(pc),
            label: field(lc),
        });
    }
    Ok(rows)
}

/// Labels and parts from a manifest; images it does not list are skipped, and so are
/// listed paths that are not in the data.
fn assemble_manifest(
    name: &str,
    sha256: String,
    files: Vec<(String, Vec<u8>)>,
    mut skipped: Vec<Skipped>,
    manifest_name: &str,
    rows: Vec<ManifestRow>,
) -> Result<Dataset> {
    let mut by_path: std::collections::BTreeMap<String, ManifestRow> =
        std::collections::BTreeMap::new();
    for row in rows {
        if row.label.is_empty() {
            return Err(Error::BadTextRow {
                name: manifest_name.into(),
                line: row.line,
                detail: format!("the label of '{}' is empty", row.path),
            });
        }
        by_path.insert(row.path.trim_start_matches("./").to_string(), row);
    }
    let mut classes: Vec<String> = by_path.values().map(|r| r.label.clone()).collect();
    classes.sort();
    classes.dedup();
    let mut items = Vec::new();
    for (path, bytes) in files {
        if is_ignored(&path) {
            continue;
        }
        match by_path.remove(&path) {
            Some(row) if is_image(&path) => items.push(Item {
                label: classes.binary_search(&row.label).unwrap_or_default(),
                split: Some(row.split),
                path,
                bytes,
            }),
            Some(_) => skipped.push(Skipped {
                path,
                reason: "not an image file (expected .png, .jpg, .jpeg, .webp, .bmp or .gif)"
                    .into(),
            }),
            None => skipped.push(Skipped {
                path,
                reason: format!("not listed in {manifest_name}"),
            }),
        }
    }
    for (path, _) in by_path {
        skipped.push(Skipped {
            path,
            reason: format!("listed in {manifest_name} but not in the data"),
        });
    }
    if items.is_empty() {
        return Err(Error::NoImages { name: name.into() });
    }
    let mut present: Vec<usize> = items.iter().map(|i| i.label).collect();
    present.sort_unstable();
    present.dedup();
    if present.len() < 2 {
        return Err(Error::too_few_classes(
            present.iter().filter_map(|&c| classes.get(c)),
        ));
    }
    items.sort_by(|a, b| a.path.cmp(&b.path));
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Dataset {
        name: name.into(),
        sha256,
        classes,
        items,
        skipped,
        split_source: Some(format!("manifest '{manifest_name}'")),
        text: false,
    })
}

impl Dataset {
    /// Reads a zip archive of class folders.
    pub fn from_zip(bytes: &[u8], name: &str) -> Result<Self> {
        Self::from_zip_with(bytes, name, None)
    }

    /// [`Dataset::from_zip`] with an optional split manifest given beside the archive; with
    /// one, the SHA-256 is that of the archive's SHA-256 (hex), a zero byte and the manifest.
    pub fn from_zip_with(bytes: &[u8], name: &str, manifest: Option<&Manifest>) -> Result<Self> {
        let bad = |detail: String| Error::InvalidArchive {
            name: name.into(),
            detail,
        };
        let mut archive =
            zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(e.to_string()))?;
        let declared: u64 = (0..archive.len())
            .filter_map(|i| archive.by_index_raw(i).ok().map(|f| f.size()))
            .fold(0u64, u64::saturating_add);
        if declared > MAX_ARCHIVE_BYTES {
            return Err(bad(format!(
                "it declares {declared} bytes uncompressed, more than the limit of {MAX_ARCHIVE_BYTES}"
            )));
        }
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        for i in 0..archive.len() {
            let mut file = archive
                .by_index(i)
                .map_err(|e| bad(format!("entry {i}: {e}")))?;
            if file.is_dir() {
                continue;
            }
            let raw_name = String::from_utf8_lossy(file.name_raw()).into_owned();
            let Some(path) = file
                .enclosed_name()
                .filter(|_| is_safe_path(&raw_name))
                .map(|p| p.to_string_lossy().replace('\\', "/"))
            else {
                skipped.push(Skipped {
                    path: raw_name,
                    reason: "unsafe path (absolute, a drive letter or with '..')".into(),
                });
                continue;
            };
            let declared = file.size();
            if declared > MAX_FILE_BYTES {
                skipped.push(Skipped {
                    path,
                    reason: format!("larger than {MAX_FILE_BYTES} bytes"),
                });
                continue;
            }
            // Never trust the declared size for more than a first buffer, and never read
            // past it: a member that inflates beyond what it declares is refused.
            let mut buf = Vec::with_capacity(declared.min(1 << 20) as usize);
            (&mut file)
                .take(declared.saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(|e| bad(format!("'{path}': {e}")))?;
            if buf.len() as u64 > declared {
                return Err(bad(format!(
                    "'{path}' inflates to more than the {declared} bytes it declares"
                )));
            }
            files.push((path, buf));
        }
        build(name, Some(sha256_hex(bytes)), files, skipped, manifest)
    }

    /// Reads a folder of class folders (images one level below a class folder).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        Self::from_dir_with(dir, None)
    }

    /// [`Dataset::from_dir`] with an optional split manifest given beside the folder.
    pub fn from_dir_with(dir: &Path, manifest: Option<&Manifest>) -> Result<Self> {
        let name = dir.display().to_string();
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            // A symbolic link back up the tree must not make the walk endless.
            if !seen.insert(std::fs::canonicalize(&d).map_err(|e| Error::io(d.display(), e))?) {
                continue;
            }
            let entries = std::fs::read_dir(&d).map_err(|e| Error::io(d.display(), e))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io(d.display(), e))?;
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if size > MAX_FILE_BYTES {
                    skipped.push(Skipped {
                        path: rel,
                        reason: format!("larger than {MAX_FILE_BYTES} bytes"),
                    });
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
                files.push((rel, bytes));
            }
        }
        build(&name, None, files, skipped, manifest)
    }

    /// Reads the files of a folder picked or dropped on the page: paths relative to the
    /// folder (`cat/001.png`, `train/dog/002.jpg`, `manifest.csv`) with their bytes. The
    /// same rules, limits and messages as [`Dataset::from_dir`] and [`Dataset::from_zip`],
    /// and the same SHA-256 as `from_dir` on that folder.
    pub fn from_files(files: Vec<(String, Vec<u8>)>, name: &str) -> Result<Self> {
        Self::from_files_with(files, name, None)
    }

    /// [`Dataset::from_files`] with an optional split manifest given beside the files.
    pub fn from_files_with(
        files: Vec<(String, Vec<u8>)>,
        name: &str,
        manifest: Option<&Manifest>,
    ) -> Result<Self> {
        build(name, None, files, Vec::new(), manifest)
    }

    /// Reads a path that is a zip file or a folder.
    pub fn from_path(path: &Path) -> Result<Self> {
        Self::from_path_with(path, None)
    }

    /// [`Dataset::from_path`] with an optional split manifest given beside the data.
    pub fn from_path_with(path: &Path, manifest: Option<&Manifest>) -> Result<Self> {
        if path.is_dir() {
            Self::from_dir_with(path, manifest)
        } else {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Self::from_zip_with(&bytes, &name, manifest)
        }
    }

    /// A data set of precomputed embeddings: one item per row (`row 0`, `row 1`, …,
    /// without image bytes) labelled with `labels`; classes are the sorted distinct labels.
    pub fn from_labels(name: &str, sha256: String, labels: &[String]) -> Result<Self> {
        let mut classes: Vec<String> = labels.to_vec();
        classes.sort();
        classes.dedup();
        if classes.len() < 2 {
            return Err(Error::too_few_classes(&classes));
        }
        let items = labels
            .iter()
            .enumerate()
            .map(|(i, l)| Item {
                path: format!("row {i}"),
                label: classes.binary_search(l).unwrap_or_default(),
                bytes: Vec::new(),
                split: None,
            })
            .collect();
        Ok(Dataset {
            name: name.into(),
            sha256,
            classes,
            items,
            skipped: Vec::new(),
            split_source: None,
            text: false,
        })
    }

    /// A text data set (CSV or JSONL) as items `text 0`, `text 1`, … in file order, each
    /// holding its text as UTF-8 bytes; classes and labels as the text data set has them.
    pub fn from_texts(texts: TextDataset) -> Self {
        let items = texts
            .texts
            .into_iter()
            .zip(texts.labels)
            .enumerate()
            .map(|(i, (text, label))| Item {
                path: format!("text {i}"),
                label,
                bytes: text.into_bytes(),
                split: None,
            })
            .collect();
        Dataset {
            name: texts.name,
            sha256: texts.sha256,
            classes: texts.classes,
            items,
            skipped: Vec::new(),
            split_source: None,
            text: true,
        }
    }

    /// Label index of every item.
    pub fn labels(&self) -> Vec<usize> {
        self.items.iter().map(|i| i.label).collect()
    }

    /// Items per class (in class order) of each part of an explicit split; empty without one.
    pub fn split_counts(&self) -> Vec<(Part, Vec<usize>)> {
        let mut out: Vec<(Part, Vec<usize>)> = Vec::new();
        for item in &self.items {
            let Some(part) = item.split else { continue };
            let pos = match out.iter().position(|(p, _)| *p == part) {
                Some(pos) => pos,
                None => {
                    out.push((part, vec![0; self.classes.len()]));
                    out.len() - 1
                }
            };
            if let Some(c) = out.get_mut(pos).and_then(|(_, c)| c.get_mut(item.label)) {
                *c += 1;
            }
        }
        out.sort_by_key(|(p, _)| *p);
        out
    }

    /// Summary for the page and the report.
    pub fn info(&self) -> DataInfo {
        let mut counts = vec![0; self.classes.len()];
        for item in &self.items {
            if let Some(c) = counts.get_mut(item.label) {
                *c += 1;
            }
        }
        DataInfo {
            name: self.name.clone(),
            sha256: self.sha256.clone(),
            n: self.items.len(),
            classes: self.classes.clone(),
            counts,
            skipped: self.skipped.clone(),
            split_source: self.split_source.clone(),
            split_counts: self
                .split_counts()
                .into_iter()
                .map(|(split, counts)| SplitCounts { split, counts })
                .collect(),
        }
    }
}
