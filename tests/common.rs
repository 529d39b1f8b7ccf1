//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A JSON array of numbers (from a reference fixture) as f64s.
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not an array of numbers: {e}"))
}

/// The largest absolute difference between two sequences of the same length (checked),
/// in f64. A NaN on either side makes it NaN, so a `<=` tolerance check fails on it.
pub fn max_abs_diff<A: Copy + Into<f64>, B: Copy + Into<f64>>(got: &[A], want: &[B]) -> f64 {
    assert_eq!(got.len(), want.len(), "lengths differ");
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (g.into() - w.into()).abs())
        .fold(0.0, |m: f64, d| if d.is_nan() || d > m { d } else { m })
}

pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// A float `.npy` fixture as f32 rows and its row length.
pub fn matrix(rel: &str) -> (Vec<f32>, usize) {
    let a = downstream::npy::read(&read(rel), rel).unwrap();
    (a.data.iter().map(|&v| v as f32).collect(), a.shape[1])
}

/// Integer labels, one per line.
pub fn labels(rel: &str) -> Vec<usize> {
    String::from_utf8(read(rel))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// Items per class per split part: part name -> class -> count.
pub type Counts = std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>;

/// A data set's per-part class counts.
pub fn split_counts(d: &downstream::data::Dataset) -> Counts {
    d.split_counts()
        .into_iter()
        .map(|(part, c)| {
            (
                part.name().to_string(),
                d.classes.iter().cloned().zip(c).collect(),
            )
        })
        .collect()
}
