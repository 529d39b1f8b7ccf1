//! The fuzz targets' bodies, one function per target taking the fuzzer's bytes: called by
//! `fuzz/fuzz_targets/<target>.rs` and replayed on the crash inputs in
//! `tests/fixtures/fuzz-regressions/<target>/` by `tests/fuzz_regressions.rs`. Each must
//! return (an `Ok` or an `Err` inside), never panic or hang.

use crate::data::Dataset;
use crate::embfile;
use crate::encoder::Encoder;
use crate::npy;
use crate::onnx_head::OnnxHead;
use crate::preprocess::{ImageSpec, Layout};
use crate::probe::Features;
use crate::report::Report;
use crate::textdata::{TextColumns, TextDataset, TextFormat};

/// The entry point a fuzz harness calls with its input.
pub type Target = fn(&[u8]);

/// Every fuzz target by name (the name of its harness in `fuzz/fuzz_targets/`).
pub const TARGETS: [(&str, Target); 8] = [
    ("onnx_load", onnx_load),
    ("npy_read", npy_read),
    ("zip_dataset", zip_dataset),
    ("image_preprocess", image_preprocess),
    ("report_json", report_json),
    ("text_data", text_data),
    ("embeddings_file", embeddings_file),
    ("onnx_head", onnx_head),
];

/// ONNX bytes as a user's model file: `Encoder::load`.
pub fn onnx_load(data: &[u8]) {
    let _ = Encoder::load(data, "fuzz.onnx");
}

/// ONNX bytes as a user's head file: `OnnxHead::load`, then scoring two rows of its
/// declared input dimension (at most 256; 4 when it declares none) into its declared
/// classes (2 when none).
pub fn onnx_head(data: &[u8]) {
    let Ok(head) = OnnxHead::load(data, "fuzz-head.onnx") else {
        return;
    };
    let dim = head.info().input_dim.unwrap_or(4);
    if dim == 0 || dim > 256 {
        return;
    }
    let k = head.info().n_classes.unwrap_or(2).clamp(2, 256);
    let values = vec![0.5f32; 2 * dim];
    if let Ok(x) = Features::new(&values, dim, "fuzz rows") {
        let _ = head.predict(x, k);
    }
}

/// `.npy` bytes as a user's array file: `npy::read`.
pub fn npy_read(data: &[u8]) {
    let _ = npy::read(data, "fuzz.npy");
}

/// Zip bytes as a user's data set: `Dataset::from_zip`, then its summary.
pub fn zip_dataset(data: &[u8]) {
    if let Ok(d) = Dataset::from_zip(data, "fuzz.zip") {
        let _ = d.info();
    }
}

/// Image bytes through decode + preprocess. The first byte picks the spec (bits 0-1 the
/// layout, bit 2 RGB, bits 3-7 the side 1..=32); the rest is the image file.
pub fn image_preprocess(data: &[u8]) {
    let Some((&sel, image)) = data.split_first() else {
        return;
    };
    let layout = match sel & 3 {
        0 => Layout::Nchw,
        1 => Layout::Nhwc,
        2 => Layout::Nhw,
        _ => Layout::Flat,
    };
    let channels = if layout != Layout::Nhw && sel & 4 != 0 {
        3
    } else {
        1
    };
    let side = 1 + usize::from(sel >> 3);
    let spec = ImageSpec {
        layout,
        channels,
        height: side,
        width: side,
    };
    let mut out = vec![0.0f32; spec.len()];
    let _ = spec.preprocess(image, "fuzz.png", &mut out);
}

/// Text as a report file or a share link's payload: `Report::from_json`, then back to JSON.
pub fn report_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(report) = Report::from_json(text) {
        let _ = report.to_json();
    }
}

/// Bytes as a user's text data set. The first byte picks the loader: bit 0 CSV or JSONL
/// through `TextDataset::parse`, bit 1 `TextDataset::from_bytes` (format from the name and
/// content), bit 2 a `.tsv` name; the rest is the file.
pub fn text_data(data: &[u8]) {
    let Some((&sel, file)) = data.split_first() else {
        return;
    };
    let columns = TextColumns::default();
    let name = if sel & 4 != 0 {
        "fuzz.tsv"
    } else if sel & 1 != 0 {
        "fuzz.jsonl"
    } else {
        "fuzz.csv"
    };
    let loaded = if sel & 2 != 0 {
        TextDataset::from_bytes(file, "fuzz", &columns)
    } else {
        let format = if sel & 1 != 0 {
            TextFormat::Jsonl
        } else {
            TextFormat::Csv
        };
        TextDataset::parse(file, name, format, &columns)
    };
    if let Ok(d) = loaded {
        let _ = (d.counts(), d.info());
    }
}

/// Bytes as a user's precomputed embeddings: `embfile::read`. The first byte picks the
/// file kind (bits 0-1: `.npz`, `.csv`, `.npy` with a labels file, `.npz` with a labels
/// file) and, with a labels file, bit 2 whether it is text or a 1-D `.npy`. With a
/// labels file the second byte is the length of the labels (up to 255 bytes, cut at
/// the end of the input), which follow; the rest is the embeddings file.
pub fn embeddings_file(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (name, with_labels) = match sel & 3 {
        0 => ("fuzz.npz", false),
        1 => ("fuzz.csv", false),
        2 => ("fuzz.npy", true),
        _ => ("fuzz.npz", true),
    };
    if !with_labels {
        let _ = embfile::read(rest, name, None);
        return;
    }
    let Some((&len, rest)) = rest.split_first() else {
        return;
    };
    let (labels, file) = rest.split_at(usize::from(len).min(rest.len()));
    let labels_name = if sel & 4 != 0 {
        "labels.npy"
    } else {
        "labels.txt"
    };
    let _ = embfile::read(file, name, Some((labels, labels_name)));
}
