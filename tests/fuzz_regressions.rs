//! Replays every input the fuzzers found (`tests/fixtures/fuzz-regressions/<target>/`)
//! through the same entry points as `fuzz/fuzz_targets/<target>.rs`: each must give `Ok`
//! or `Err`, never a panic. A failure names every file that panicked.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use downstream::data::Dataset;
use downstream::encoder::Encoder;
use downstream::npy;
use downstream::preprocess::{ImageSpec, Layout};
use downstream::report::Report;
use downstream::textdata::{TextColumns, TextDataset, TextFormat};

/// The entry point a fuzz harness calls with its input.
type Target = fn(&[u8]);

/// The fuzz targets, each as the function its harness calls.
const TARGETS: [(&str, Target); 6] = [
    ("onnx_load", onnx_load),
    ("npy_read", npy_read),
    ("zip_dataset", zip_dataset),
    ("image_preprocess", image_preprocess),
    ("report_json", report_json),
    ("text_data", text_data),
];

fn onnx_load(data: &[u8]) {
    let _ = Encoder::load(data, "fuzz.onnx");
}

fn npy_read(data: &[u8]) {
    let _ = npy::read(data, "fuzz.npy");
}

fn zip_dataset(data: &[u8]) {
    if let Ok(d) = Dataset::from_zip(data, "fuzz.zip") {
        let _ = d.info();
    }
}

/// First byte: bits 0-1 layout, bit 2 RGB, bits 3-7 side - 1; the rest is the image.
fn image_preprocess(data: &[u8]) {
    let Some((&sel, image)) = data.split_first() else {
        return;
    };
    let layout = [Layout::Nchw, Layout::Nhwc, Layout::Nhw, Layout::Flat][usize::from(sel & 3)];
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

fn report_json(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(report) = Report::from_json(text) {
            let _ = report.to_json();
        }
    }
}

/// First byte: bit 0 JSONL (else CSV), bit 1 format from name and content, bit 2 `.tsv`.
fn text_data(data: &[u8]) {
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
