//! Labelled text data sets: `text,label` CSV (header detected) or JSONL (`{"text": …, "label": …}`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::{sha256_hex, DataInfo};
use crate::error::{Error, Result};

/// Largest text file accepted (256 MiB).
pub const MAX_TEXT_FILE_BYTES: usize = 256 << 20;

/// The file format of a text data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextFormat {
    /// Comma-separated values (tab-separated for `.tsv` names).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Which columns (CSV header names, JSONL keys) hold the text and the label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextColumns {
    /// Default `text`.
    pub text: String,
    /// Default `label`.
    pub label: String,
}

impl Default for TextColumns {
    fn default() -> Self {
        TextColumns {
            text: "text".into(),
            label: "label".into(),
        }
    }
}

/// A loaded text data set: texts in file order, classes sorted, `labels[i]` indexes `classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct TextDataset {
    pub name: String,
    pub sha256: String,
    pub format: TextFormat,
    pub texts: Vec<String>,
    pub labels: Vec<usize>,
    pub classes: Vec<String>,
}

impl TextDataset {
    /// Loads a CSV or JSONL file: `.jsonl` / `.ndjson` names are JSONL, `.csv` / `.tsv` /
    /// `.txt` CSV; other names are JSONL when the first non-blank character is `{`.
    pub fn from_bytes(bytes: &[u8], name: &str, columns: &TextColumns) -> Result<Self> {
        let lower = name.to_ascii_lowercase();
        let format = if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            TextFormat::Jsonl
        } else if lower.ends_with(".csv") || lower.ends_with(".tsv") || lower.ends_with(".txt") {
            TextFormat::Csv
        } else if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            TextFormat::Jsonl
        } else {
            TextFormat::Csv
        };
        Self::parse(bytes, name, format, columns)
    }

    /// Loads `bytes` in the given format.
    pub fn parse(
        bytes: &[u8],
        name: &str,
        format: TextFormat,
        columns: &TextColumns,
    ) -> Result<Self> {
        if bytes.len() > MAX_TEXT_FILE_BYTES {
            return Err(file_err(
                name,
                format!(
                    "the file has {} bytes; the limit is {MAX_TEXT_FILE_BYTES}",
                    bytes.len()
                ),
            ));
        }
        let text = utf8(bytes, name)?;
        let rows = match format {
            TextFormat::Csv => {
                let tab = name.to_ascii_lowercase().ends_with(".tsv");
                parse_csv(text, name, columns, if tab { b'\t' } else { b',' })?
            }
            TextFormat::Jsonl => parse_jsonl(text, name, columns)?,
        };
        if rows.is_empty() {
            return Err(file_err(name, "the file has no data rows".into()));
        }
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, label) in &rows {
            index.entry(label.as_str()).or_insert(0);
        }
        let classes: Vec<String> = index.keys().map(|s| s.to_string()).collect();
        if classes.len() < 2 {
            return Err(Error::TooFewClasses {
                count: classes.len(),
                classes: classes.join(", "),
            });
        }
        for (i, v) in index.values_mut().enumerate() {
            *v = i;
        }
        let labels = rows
            .iter()
            .map(|(_, l)| index.get(l.as_str()).copied().unwrap_or(0))
            .collect();
        let texts = rows.into_iter().map(|(t, _)| t).collect();
        Ok(TextDataset {
            name: name.into(),
            sha256: sha256_hex(bytes),
            format,
            texts,
            labels,
            classes,
        })
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether there are no texts (never true for a loaded set).
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Texts per class, in class order.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }

    /// What the page and the report show of the data set.
    pub fn info(&self) -> DataInfo {
        DataInfo {
            name: self.name.clone(),
            sha256: self.sha256.clone(),
            n: self.len(),
            classes: self.classes.clone(),
            counts: self.counts(),
            skipped: Vec::new(),
            split_source: None,
            split_counts: Vec::new(),
        }
    }
}

fn file_err(name: &str, detail: String) -> Error {
    Error::BadTextFile {
        name: name.into(),
        detail,
    }
}

fn row_err(name: &str, line: u64, detail: String) -> Error {
    Error::BadTextRow {
        name: name.into(),
        line,
        detail,
    }
}

/// The file as UTF-8 without a byte-order mark; the error names the line of the first bad byte.
fn utf8<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let mut valid = bytes.iter().take(at);
        let line = valid.clone().filter(|&&b| b == b'\n').count() as u64 + 1;
        let column = at - valid.rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        row_err(
            name,
            line,
            format!("byte {column} is not valid UTF-8; save the file as UTF-8"),
        )
    })
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn parse_csv(
    text: &str,
    name: &str,
    columns: &TextColumns,
    delimiter: u8,
) -> Result<Vec<(String, String)>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let mut rows = Vec::new();
    let csv_err = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        row_err(name, line, format!("not valid CSV: {e}"))
    };
    let Some(first) = records.next() else {
        return Err(file_err(name, "the file is empty".into()));
    };
    let first = first.map_err(csv_err)?;
    let find = |col: &str| first.iter().position(|f| same_name(f, col));
    let (text_col, label_col, width, first_is_data) =
        match (find(&columns.text), find(&columns.label)) {
            (Some(t), Some(l)) if t != l => (t, l, first.len(), false),
            (t, l) if t.is_some() || l.is_some() || first.len() != 2 => {
                let missing = if t.is_none() {
                    &columns.text
                } else {
                    &columns.label
                };
                let header: Vec<&str> = first.iter().collect();
                let line = first.position().map_or(1, |p| p.line());
                return Err(row_err(
                    name,
                    line,
                    format!(
                        "no '{missing}' column in the header ({}); expected columns '{}' and '{}', \
                         or exactly 2 columns (text, label) without a header",
                        header.join(", "),
                        columns.text,
                        columns.label
                    ),
                ));
            }
            _ => (0, 1, 2, true),
        };
    let mut push = |record: &csv::StringRecord| -> Result<()> {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            return Ok(());
        }
        if record.len() != width {
            return Err(row_err(
                name,
                line,
                format!(
                    "{} field(s), expected {width}{}",
                    record.len(),
                    if first_is_data {
                        " like the first row"
                    } else {
                        " like the header"
                    }
                ),
            ));
        }
        let text = record.get(text_col).unwrap_or_default();
        let label = record.get(label_col).unwrap_or_default().trim();
        if label.is_empty() {
            return Err(row_err(name, line, "the label is empty".into()));
        }
        rows.push((text.to_string(), label.to_string()));
        Ok(())
    };
    if first_is_data {
        push(&first)?;
    }
    for record in records {
        push(&record.map_err(csv_err)?)?;
    }
    Ok(rows)
}

fn parse_jsonl(text: &str, name: &str, columns: &TextColumns) -> Result<Vec<(String, String)>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| row_err(name, n, format!("not valid JSON: {e}")))?;
        let serde_json::Value::Object(obj) = value else {
            return Err(row_err(
                name,
                n,
                format!(
                    "expected a JSON object with '{}' and '{}'",
                    columns.text, columns.label
                ),
            ));
        };
        let text = match obj.get(&columns.text) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(row_err(
                    name,
                    n,
                    format!("'{}' must be a string, got {other}", columns.text),
                ))
            }
            None => return Err(row_err(name, n, format!("no '{}' key", columns.text))),
        };
        let label = match obj.get(&columns.label) {
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
            Some(other) => {
                return Err(row_err(
                    name,
                    n,
                    format!(
                        "'{}' must be a string, number or boolean, got {other}",
                        columns.label
                    ),
                ))
            }
            None => return Err(row_err(name, n, format!("no '{}' key", columns.label))),
        };
        if label.is_empty() {
            return Err(row_err(name, n, "the label is empty".into()));
        }
        rows.push((text, label));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(bytes: &[u8], name: &str) -> Result<TextDataset> {
        TextDataset::from_bytes(bytes, name, &TextColumns::default())
    }

    #[test]
    fn csv_with_header_quotes_and_crlf() {
        let csv =
            "\u{feff}id,Label,text\r\n1,spam,\"Win, now\"\r\n2,ham,\"multi\nline\"\r\n3,ham,ok\r\n";
        let d = load(csv.as_bytes(), "a.csv").unwrap();
        assert_eq!(d.format, TextFormat::Csv);
        assert_eq!(d.texts, ["Win, now", "multi\nline", "ok"]);
        assert_eq!(d.classes, ["ham", "spam"]);
        assert_eq!(d.labels, [1, 0, 0]);
        assert_eq!(d.counts(), [2, 1]);
        assert_eq!(d.info().n, 3);
    }

    #[test]
    fn csv_without_header_is_text_then_label() {
        let d = load(b"hello there,a\nbye,b\n\n", "x.csv").unwrap();
        assert_eq!(d.texts, ["hello there", "bye"]);
        assert_eq!(d.labels, [0, 1]);
    }

    #[test]
    fn tsv_and_custom_columns() {
        let cols = TextColumns {
            text: "sentence".into(),
            label: "y".into(),
        };
        let d = TextDataset::from_bytes(b"y\tsentence\n0\ta b\n1\tc, d\n", "x.tsv", &cols).unwrap();
        assert_eq!(d.texts, ["a b", "c, d"]);
        assert_eq!(d.classes, ["0", "1"]);
    }

    #[test]
    fn jsonl_with_string_and_number_labels() {
        let j = "{\"text\": \"a\", \"label\": \"x\"}\n\n{\"text\": \"b\", \"label\": 2}\n";
        let d = load(j.as_bytes(), "d.jsonl").unwrap();
        assert_eq!(d.format, TextFormat::Jsonl);
        assert_eq!(d.classes, ["2", "x"]);
        assert_eq!(d.labels, [1, 0]);
        let sniffed = load(j.as_bytes(), "upload").unwrap();
        assert_eq!(sniffed.format, TextFormat::Jsonl);
    }

    #[test]
    fn demo_samples_load_with_their_readme_counts() {
        let trec = load(
            include_bytes!("../assets/text-demo/trec6_sample.csv"),
            "trec6_sample.csv",
        )
        .unwrap();
        assert_eq!(trec.classes, ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]);
        assert_eq!(trec.counts(), [10, 128, 139, 135, 92, 96]);
        let sms = load(
            include_bytes!("../assets/text-demo/sms_spam_sample.csv"),
            "sms_spam_sample.csv",
        )
        .unwrap();
        assert_eq!(sms.classes, ["ham", "spam"]);
        assert_eq!(sms.counts(), [437, 63]);
    }

    #[test]
    fn bad_inputs_have_exact_messages() {
        let cases: &[(&[u8], &str, &str)] = &[
            (b"", "e.csv", "'e.csv': the file is empty"),
            (b"text,label\n", "h.csv", "'h.csv': the file has no data rows"),
            (
                b"text,label\na,x\nb,y,z\n",
                "r.csv",
                "'r.csv' line 3: 3 field(s), expected 2 like the header",
            ),
            (
                b"a,x\nb\n",
                "r2.csv",
                "'r2.csv' line 2: 1 field(s), expected 2 like the first row",
            ),
            (
                b"text,category\na,x\n",
                "m.csv",
                "'m.csv' line 1: no 'label' column in the header (text, category); expected columns \
                 'text' and 'label', or exactly 2 columns (text, label) without a header",
            ),
            (
                b"a,b,c\n",
                "w.csv",
                "'w.csv' line 1: no 'text' column in the header (a, b, c); expected columns \
                 'text' and 'label', or exactly 2 columns (text, label) without a header",
            ),
            (
                b"text,label\nok,a\nbad \xff here,b\n",
                "u.csv",
                "'u.csv' line 3: byte 5 is not valid UTF-8; save the file as UTF-8",
            ),
            (
                b"text,label\na,x\nb,x\n",
                "one.csv",
                "the data set has 1 class(es) (x); a probe needs at least 2",
            ),
            (
                b"text,label\na, \n",
                "el.csv",
                "'el.csv' line 2: the label is empty",
            ),
            (
                b"{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\"\n",
                "j.jsonl",
                "'j.jsonl' line 2: not valid JSON: EOF while parsing an object at line 1 column 11",
            ),
            (
                b"{\"text\":\"a\",\"label\":\"x\"}\n{\"label\":\"y\"}\n",
                "k.jsonl",
                "'k.jsonl' line 2: no 'text' key",
            ),
            (
                b"{\"text\":1,\"label\":\"x\"}\n",
                "t.jsonl",
                "'t.jsonl' line 1: 'text' must be a string, got 1",
            ),
            (
                b"[1,2]\n",
                "a.jsonl",
                "'a.jsonl' line 1: expected a JSON object with 'text' and 'label'",
            ),
            (
                b"{\"text\":\"a\",\"label\":null}\n",
                "n.jsonl",
                "'n.jsonl' line 1: 'label' must be a string, number or boolean, got null",
            ),
            (
                b"text,label\n\"unterminated,x\n",
                "q.csv",
                "'q.csv' line 2: 1 field(s), expected 2 like the header",
            ),
        ];
        for (bytes, name, want) in cases {
            match load(bytes, name) {
                Ok(d) => panic!("{name}: loaded {} rows, expected error {want:?}", d.len()),
                Err(e) => assert_eq!(e.to_string(), *want, "{name}"),
            }
        }
    }
}
