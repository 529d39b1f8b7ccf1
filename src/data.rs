//! Labelled image data sets: a zip archive or a folder with one sub-folder per class.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::io::{Cursor, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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
}

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

/// Sorts files into classes by their parent folder; files that are not images, or
/// not inside a folder, are listed as skipped.
fn assemble(
    name: &str,
    sha256: String,
    files: Vec<(String, Vec<u8>)>,
    mut skipped: Vec<Skipped>,
) -> Result<Dataset> {
    let mut labelled: Vec<(String, String, Vec<u8>)> = Vec::new();
    for (path, bytes) in files {
        if is_ignored(&path) {
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
        return Err(Error::TooFewClasses {
            count: classes.len(),
            classes: classes
                .iter()
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    labelled.sort_by(|a, b| a.1.cmp(&b.1));
    let items = labelled
        .into_iter()
        .map(|(class, path, bytes)| Item {
            label: classes.binary_search(&class).unwrap_or_default(),
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
    })
}

impl Dataset {
    /// Reads a zip archive of class folders.
    pub fn from_zip(bytes: &[u8], name: &str) -> Result<Self> {
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
        assemble(name, sha256_hex(bytes), files, skipped)
    }

    /// Reads a folder of class folders (images one level below a class folder).
    pub fn from_dir(dir: &Path) -> Result<Self> {
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
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut hasher = Sha256::new();
        for (p, b) in &files {
            hasher.update(p.as_bytes());
            hasher.update([0]);
            hasher.update(b);
        }
        let sha = format!("{:x}", hasher.finalize());
        assemble(&name, sha, files, skipped)
    }

    /// Reads a path that is a zip file or a folder.
    pub fn from_path(path: &Path) -> Result<Self> {
        if path.is_dir() {
            Self::from_dir(path)
        } else {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Self::from_zip(&bytes, &name)
        }
    }

    /// A data set of precomputed embeddings: one item per row (`row 0`, `row 1`, …,
    /// without image bytes) labelled with `labels`; classes are the sorted distinct labels.
    pub fn from_labels(name: &str, sha256: String, labels: &[String]) -> Result<Self> {
        let mut classes: Vec<String> = labels.to_vec();
        classes.sort();
        classes.dedup();
        if classes.len() < 2 {
            return Err(Error::TooFewClasses {
                count: classes.len(),
                classes: classes
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let items = labels
            .iter()
            .enumerate()
            .map(|(i, l)| Item {
                path: format!("row {i}"),
                label: classes.binary_search(l).unwrap_or_default(),
                bytes: Vec::new(),
            })
            .collect();
        Ok(Dataset {
            name: name.into(),
            sha256,
            classes,
            items,
            skipped: Vec::new(),
        })
    }

    /// Label index of every item.
    pub fn labels(&self) -> Vec<usize> {
        self.items.iter().map(|i| i.label).collect()
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
        }
    }
}
