//! Precomputed embeddings with their labels: `.npy` plus a labels file, `.npz` with arrays
//! `X` and `y`, or CSV with a label column. Every reader returns the same [`Embeddings`].

use std::io::{Cursor, Read};

use crate::data::MAX_ARCHIVE_BYTES;
use crate::error::{Error, Result};
use crate::npy;

/// Names a CSV header may give the label column (compared without case).
pub const LABEL_COLUMNS: [&str; 4] = ["label", "y", "class", "target"];
/// Array names tried for the embeddings and the labels in an `.npz`, in order.
const NPZ_X: [&str; 4] = ["X", "x", "embeddings", "features"];
const NPZ_Y: [&str; 3] = ["y", "Y", "labels"];

/// Embeddings (float32, row-major `n x dim`) and one label per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    pub x: Vec<f32>,
    pub dim: usize,
    pub labels: Vec<String>,
}

impl Embeddings {
    /// Number of rows.
    pub fn n(&self) -> usize {
        self.labels.len()
    }
}

/// The kinds of embedding files, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Npy,
    Npz,
    Csv,
}

impl Kind {
    /// The kind of `name` from its extension (case-insensitive), if it is one.
    pub fn of(name: &str) -> Option<Kind> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "npy" => Some(Kind::Npy),
            "npz" => Some(Kind::Npz),
            "csv" => Some(Kind::Csv),
            _ => None,
        }
    }
}

/// Reads an embeddings file chosen by its extension. `labels` (bytes and name: one
/// label per line, or a 1-D `.npy`) is required for `.npy`, allowed for an `.npz`
/// without `y`, and refused for CSV, whose labels are a column.
pub fn read(bytes: &[u8], name: &str, labels: Option<(&[u8], &str)>) -> Result<Embeddings> {
    match Kind::of(name) {
        Some(Kind::Npy) => {
            let Some((lb, ln)) = labels else {
                return Err(Error::Array {
                    name: name.into(),
                    detail: "a .npy file holds embeddings only; give its labels file too (one label per line)".into(),
                });
            };
            let arr = npy::read(bytes, name)?;
            let (x, dim) = matrix(arr, name, "")?;
            with_labels(x, dim, name, read_labels_file(lb, ln)?, ln)
        }
        Some(Kind::Npz) => read_npz(bytes, name, labels),
        Some(Kind::Csv) => match labels {
            Some((_, ln)) => Err(Error::BadTextFile {
                name: name.into(),
                detail: format!(
                    "a CSV file carries its labels in a column; '{ln}' is not needed"
                ),
            }),
            None => read_csv(bytes, name),
        },
        None => Err(Error::Array {
            name: name.into(),
            detail: "not an embeddings file: use .npy (with a labels file), .npz (arrays X and y) or .csv (with a label column)".into(),
        }),
    }
}

/// Labels one per line (a trailing empty line is ignored), or a 1-D `.npy` array.
pub fn read_labels_file(bytes: &[u8], name: &str) -> Result<Vec<String>> {
    if Kind::of(name) == Some(Kind::Npy) {
        return npy::read_labels(bytes, name);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| Error::BadTextFile {
        name: name.into(),
        detail: format!(
            "byte {} is not valid UTF-8; save the file as UTF-8",
            e.valid_up_to()
        ),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if let Some(i) = lines.iter().position(|l| l.trim().is_empty()) {
        return Err(Error::BadTextRow {
            name: name.into(),
            line: i as u64 + 1,
            detail: "the label is empty".into(),
        });
    }
    Ok(lines)
}

/// A 2-D array as float32 rows; `what` names the array inside its file ("" for a `.npy`).
fn matrix(arr: npy::Array, name: &str, what: &str) -> Result<(Vec<f32>, usize)> {
    let label = if what.is_empty() {
        format!("'{name}'")
    } else {
        format!("'{name}' array {what}")
    };
    let (n, dim) = match arr.shape.as_slice() {
        &[n, d] if n > 0 && d > 0 => (n, d),
        shape => {
            return Err(Error::Array {
                name: name.into(),
                detail: format!(
                    "expected embeddings of shape [N, D] with N, D > 0{}, got {shape:?}",
                    if what.is_empty() {
                        String::new()
                    } else {
                        format!(" in {what}")
                    }
                ),
            })
        }
    };
    if let Some(pos) = arr.data.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: label,
            row: pos / dim,
            col: pos % dim,
            value: arr.data.get(pos).copied().unwrap_or(f64::NAN),
        });
    }
    debug_assert_eq!(arr.data.len(), n * dim);
    Ok((arr.data.iter().map(|&v| v as f32).collect(), dim))
}

fn with_labels(
    x: Vec<f32>,
    dim: usize,
    x_name: &str,
    labels: Vec<String>,
    labels_name: &str,
) -> Result<Embeddings> {
    let n = x.len() / dim.max(1);
    if labels.len() != n {
        return Err(Error::LengthMismatch {
            what: format!("labels in '{labels_name}' vs rows of '{x_name}'"),
            expected: n,
            got: labels.len(),
        });
    }
    Ok(Embeddings { x, dim, labels })
}

/// Reads an `.npz` (numpy's zip of `.npy` members, as `np.savez` writes) with the
/// embeddings in `X` and the labels in `y`.
pub fn read_npz(bytes: &[u8], name: &str, labels: Option<(&[u8], &str)>) -> Result<Embeddings> {
    let bad = |detail: String| Error::Array {
        name: name.into(),
        detail,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable .npz (zip) file: {e}")))?;
    let members: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let find = |names: &[&str]| {
        names
            .iter()
            .find(|n| members.iter().any(|m| m == &format!("{n}.npy")))
            .map(|n| n.to_string())
    };
    let arrays = || {
        let mut list: Vec<&str> = members
            .iter()
            .map(|m| m.strip_suffix(".npy").unwrap_or(m))
            .collect();
        list.sort_unstable();
        if list.is_empty() {
            "no arrays".to_string()
        } else {
            format!("arrays {}", list.join(", "))
        }
    };
    let (Some(x_key), y_key) = (find(&NPZ_X), find(&NPZ_Y)) else {
        return Err(bad(format!(
            "it has {}; expected X (embeddings [N, D]) and y (labels [N]), as np.savez(path, X=X, y=y) writes",
            arrays()
        )));
    };
    let mut member = |key: &str| -> Result<Vec<u8>> {
        let mut file = archive
            .by_name(&format!("{key}.npy"))
            .map_err(|e| bad(format!("array {key}: {e}")))?;
        let declared = file.size();
        if declared > MAX_ARCHIVE_BYTES {
            return Err(bad(format!(
                "array {key} declares {declared} bytes, more than the limit of {MAX_ARCHIVE_BYTES}"
            )));
        }
        let mut buf = Vec::with_capacity(declared.min(1 << 20) as usize);
        (&mut file)
            .take(declared.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| bad(format!("array {key}: {e}")))?;
        if buf.len() as u64 > declared {
            return Err(bad(format!(
                "array {key} inflates to more than the {declared} bytes it declares"
            )));
        }
        Ok(buf)
    };
    let x_bytes = member(&x_key)?;
    let member_name = |key: &str| format!("{name}:{key}.npy");
    let arr = npy::read(&x_bytes, &member_name(&x_key))?;
    let (x, dim) = matrix(arr, name, &x_key)?;
    match (y_key, labels) {
        (Some(y_key), None) => {
            let y = npy::read_labels(&member(&y_key)?, &member_name(&y_key))?;
            with_labels(x, dim, name, y, &member_name(&y_key))
        }
        (None, Some((lb, ln))) => with_labels(x, dim, name, read_labels_file(lb, ln)?, ln),
        (Some(y_key), Some((_, ln))) => Err(bad(format!(
            "it has its own labels ({y_key}); '{ln}' is not needed"
        ))),
        (None, None) => Err(bad(format!(
            "it has {} but no labels: add y (np.savez(path, X=X, y=y)) or give a labels file",
            arrays()
        ))),
    }
}

/// Parses a CSV field as a number (`nan`, `inf` included, so they can be refused by name).
fn number(field: &str) -> Option<f64> {
    field.parse::<f64>().ok()
}

fn is_label_name(field: &str) -> bool {
    LABEL_COLUMNS
        .iter()
        .any(|l| l.eq_ignore_ascii_case(field.trim()))
}

/// Reads CSV embeddings with a label column. The first row is a header when it names a
/// label column (`label`, `y`, `class`, `target`) or has text where the next row has a
/// number. The label column is the named one, else the one column whose values are not
/// all numbers (the last such column wins only if it is the only one). With a header, a
/// first column with an empty name (pandas' index) is left out. Every other column is a
/// feature and must hold finite numbers.
pub fn read_csv(bytes: &[u8], name: &str) -> Result<Embeddings> {
    let file_err = |detail: String| Error::BadTextFile {
        name: name.into(),
        detail,
    };
    let row_err = |line: u64, detail: String| Error::BadTextRow {
        name: name.into(),
        line,
        detail,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
                    continue;
                }
                rows.push((line, record.iter().map(str::to_string).collect()));
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                return Err(match e.kind() {
                    csv::ErrorKind::Utf8 { err, .. } => row_err(
                        line,
                        format!(
                            "byte {} of field {} is not valid UTF-8; save the file as UTF-8",
                            err.valid_up_to() + 1,
                            err.field() + 1
                        ),
                    ),
                    _ => row_err(line, e.to_string()),
                });
            }
        }
    }
    let Some((_, first)) = rows.first() else {
        return Err(file_err("the file is empty".into()));
    };
    let second = rows.get(1).map(|(_, r)| r);
    let has_header = first.iter().any(|f| is_label_name(f))
        || second.is_some_and(|next| {
            first
                .iter()
                .zip(next)
                .any(|(a, b)| number(a).is_none() && number(b).is_some())
        });
    let width = first.len();
    let (header, data) = if has_header {
        (Some(first.clone()), rows.get(1..).unwrap_or_default())
    } else {
        (None, rows.as_slice())
    };
    if data.is_empty() {
        return Err(file_err("it has a header but no rows".into()));
    }
    let like = if has_header { "the header" } else { "line 1" };
    for (line, row) in data {
        if row.len() != width {
            return Err(row_err(
                *line,
                format!("{} field(s), expected {width} like {like}", row.len()),
            ));
        }
    }
    let column_name = |j: usize| match &header {
        Some(h) => format!(
            "column {} ('{}')",
            j + 1,
            h.get(j).map(String::as_str).unwrap_or_default()
        ),
        None => format!("column {}", j + 1),
    };
    let index_column = header
        .as_ref()
        .is_some_and(|h| h.first().is_some_and(String::is_empty) && width > 2);
    let label = match header
        .as_ref()
        .and_then(|h| h.iter().position(|f| is_label_name(f)))
    {
        Some(j) => j,
        None => {
            let text_columns: Vec<usize> = (0..width)
                .filter(|&j| {
                    data.iter().any(|(_, r)| {
                        r.get(j)
                            .is_some_and(|f| number(f).is_none() && !f.is_empty())
                    })
                })
                .collect();
            match text_columns.as_slice() {
                [j] => *j,
                [] => {
                    return Err(file_err(format!(
                        "no label column: every column holds numbers; name the label column {} in a header row",
                        LABEL_COLUMNS.join(", ")
                    )))
                }
                many => {
                    return Err(file_err(format!(
                        "{} hold text; name the label column {} in a header row",
                        many.iter()
                            .map(|&j| column_name(j))
                            .collect::<Vec<_>>()
                            .join(", "),
                        LABEL_COLUMNS.join(", ")
                    )))
                }
            }
        }
    };
    let features: Vec<usize> = (0..width)
        .filter(|&j| j != label && !(index_column && j == 0))
        .collect();
    if features.is_empty() {
        return Err(file_err(
            "it has a label column but no feature columns".into(),
        ));
    }
    let dim = features.len();
    let mut x = Vec::with_capacity(data.len() * dim);
    let mut labels = Vec::with_capacity(data.len());
    for (line, row) in data {
        let cell = |j: usize| row.get(j).map(String::as_str).unwrap_or_default();
        let y = cell(label);
        if y.is_empty() {
            return Err(row_err(
                *line,
                format!("the label ({}) is empty", column_name(label)),
            ));
        }
        labels.push(y.to_string());
        for &j in &features {
            let field = cell(j);
            match number(field) {
                Some(v) if v.is_finite() => x.push(v as f32),
                Some(_) => {
                    return Err(row_err(
                        *line,
                        format!("{}: '{field}' is not a finite number", column_name(j)),
                    ))
                }
                None => {
                    return Err(row_err(
                        *line,
                        format!("{}: '{field}' is not a number", column_name(j)),
                    ))
                }
            }
        }
    }
    Ok(Embeddings { x, dim, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Embeddings> {
        read_csv(text.as_bytes(), "e.csv")
    }

    #[test]
    fn csv_header_and_label_column_are_found() {
        let e = csv("a,b,label\n1,2,cat\n3,4.5,dog\n").unwrap();
        assert_eq!(
            (e.x, e.dim, e.labels),
            (
                vec![1.0, 2.0, 3.0, 4.5],
                2,
                vec!["cat".into(), "dog".into()]
            )
        );
        let e = csv("cat,1,2\ndog,3,4\n").unwrap();
        assert_eq!(
            (e.x, e.labels),
            (vec![1.0, 2.0, 3.0, 4.0], vec!["cat".into(), "dog".into()])
        );
        let e = csv(",f0,f1,y\n0,1,2,0\n1,3,4,1\n").unwrap();
        assert_eq!(
            (e.x, e.dim, e.labels),
            (vec![1.0, 2.0, 3.0, 4.0], 2, vec!["0".into(), "1".into()])
        );
    }

    #[test]
    fn csv_errors_name_the_line_and_column() {
        let msg = |t: &str| csv(t).unwrap_err().to_string();
        assert_eq!(
            msg("a,b,label\n1,2,x\n1,x\n"),
            "'e.csv' line 3: 2 field(s), expected 3 like the header"
        );
        assert_eq!(
            msg("a,b,label\n1,2,x\n1,nan,y\n"),
            "'e.csv' line 3: column 2 ('b'): 'nan' is not a finite number"
        );
        assert_eq!(
            msg("a,b,label\n1,2,x\n1,two,y\n"),
            "'e.csv' line 3: column 2 ('b'): 'two' is not a number"
        );
        assert_eq!(msg("1,2\n3,4\n"), "'e.csv': no label column: every column holds numbers; name the label column label, y, class, target in a header row");
        assert_eq!(msg(""), "'e.csv': the file is empty");
    }

    #[test]
    fn npy_needs_labels_of_the_same_length() {
        let mut buf = Vec::new();
        npy::write_f32(&mut buf, &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let e = read(&buf, "x.npy", Some((b"a\nb\na\n", "y.txt"))).unwrap();
        assert_eq!(e.n(), 3);
        assert_eq!(
            read(&buf, "x.npy", Some((b"a\nb\n", "y.txt")))
                .unwrap_err()
                .to_string(),
            "labels in 'y.txt' vs rows of 'x.npy': expected 3, got 2"
        );
        assert!(read(&buf, "x.npy", None).is_err());
    }
}
