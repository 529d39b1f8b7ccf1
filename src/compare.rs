//! Two reports on the same test items, side by side: McNemar's test, the paired bootstrap
//! interval of the accuracy difference, metric deltas and the difference of the confusion
//! matrices. The CLI's `compare` and the page's compare view both call [`compare_texts`].

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::stats::{self, BootstrapConfig, McNemar, PairedDifference};

/// The comparable parts of a report (from `eval` or `probe --json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    pub sha256: Option<String>,
    pub labels: Vec<String>,
    pub test_index: Vec<usize>,
    pub y_true: Vec<usize>,
    pub y_pred: Vec<usize>,
    /// Numeric top-level metrics (`accuracy`, `macro_f1`, …) as the report has them.
    pub metrics: Vec<(String, f64)>,
    /// The report's confusion matrix, when it has one of the labels' size.
    pub matrix: Option<Vec<Vec<u64>>>,
}

/// The value at a JSON pointer, or null (reports are untrusted input).
fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    v.pointer(pointer).unwrap_or(&NULL)
}

impl Compared {
    /// Reads the comparable parts of report JSON text; `what` names it in errors (a path,
    /// or "report A").
    pub fn from_json(text: &str, what: &str) -> Result<Self> {
        let bad = |detail: String| Error::InvalidReport {
            detail: format!("{what}: {detail}"),
        };
        let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let list = |key: &str| -> Result<Vec<usize>> {
            serde_json::from_value(at(&v, &format!("/predictions/{key}")).clone())
                .map_err(|e| bad(format!("predictions.{key} is missing or malformed: {e}")))
        };
        let labels: Vec<String> = serde_json::from_value(
            at(&v, "/metrics/confusion_matrix/labels").clone(),
        )
        .map_err(|e| {
            bad(format!(
                "metrics.confusion_matrix.labels is missing or malformed: {e}"
            ))
        })?;
        let matrix: Option<Vec<Vec<u64>>> =
            serde_json::from_value(at(&v, "/metrics/confusion_matrix/matrix").clone())
                .ok()
                .filter(|m: &Vec<Vec<u64>>| {
                    m.len() == labels.len() && m.iter().all(|r| r.len() == labels.len())
                });
        let metrics = at(&v, "/metrics")
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, x)| {
                        x.as_f64().filter(|f| f.is_finite()).map(|f| (k.clone(), f))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let c = Compared {
            sha256: at(&v, "/data/sha256").as_str().map(str::to_string),
            labels,
            test_index: list("test_index")?,
            y_true: list("y_true")?,
            y_pred: list("y_pred")?,
            metrics,
            matrix,
        };
        let n = c.test_index.len();
        if c.y_true.len() != n || c.y_pred.len() != n {
            return Err(bad("the prediction lists have different lengths".into()));
        }
        if c.y_true
            .iter()
            .chain(&c.y_pred)
            .any(|&l| l >= c.labels.len())
        {
            return Err(bad(
                "a prediction names a class index outside the labels".into()
            ));
        }
        Ok(c)
    }
}

/// One metric in both reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDelta {
    pub name: String,
    pub a: f64,
    pub b: f64,
    /// `b - a`.
    pub delta: f64,
}

/// The comparison of report A with report B on the same test items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub n_test: usize,
    pub mcnemar: McNemar,
    /// Interval of `accuracy(A) - accuracy(B)`.
    pub paired_bootstrap: PairedDifference,
    /// Metrics both reports have, in A's order.
    pub metrics: Vec<MetricDelta>,
    pub labels: Vec<String>,
    /// `B - A` confusion matrix counts (rows true, columns predicted), from the predictions.
    pub matrix_diff: Vec<Vec<i64>>,
    pub matrix_a: Vec<Vec<u64>>,
    pub matrix_b: Vec<Vec<u64>>,
}

/// Refuses reports that are not on the same test items.
fn check_comparable(a: &Compared, b: &Compared) -> Result<()> {
    let refuse = |detail: String| Err(Error::NotComparable { detail });
    if let (Some(x), Some(y)) = (&a.sha256, &b.sha256) {
        if x != y {
            return refuse(format!(
                "they are on different data sets (SHA-256 {x} vs {y})"
            ));
        }
    }
    if a.labels != b.labels {
        return refuse(format!(
            "their class labels differ ({} vs {})",
            a.labels.join(", "),
            b.labels.join(", ")
        ));
    }
    if a.test_index.len() != b.test_index.len() {
        return refuse(format!(
            "their test sets differ in size ({} vs {} items)",
            a.test_index.len(),
            b.test_index.len()
        ));
    }
    if let Some((i, ((ai, at), (bi, bt)))) = (a.test_index.iter().zip(&a.y_true))
        .zip(b.test_index.iter().zip(&b.y_true))
        .enumerate()
        .find(|(_, (x, y))| x != y)
    {
        return refuse(format!(
            "their test items differ (position {i}: item {ai} labelled {at} vs item {bi} labelled {bt}); use the same seed and test fraction"
        ));
    }
    Ok(())
}

/// Compares two reports on the same test items.
pub fn compare(a: &Compared, b: &Compared, boot: &BootstrapConfig) -> Result<Comparison> {
    check_comparable(a, b)?;
    let mcnemar = stats::mcnemar(&a.y_true, &a.y_pred, &b.y_pred)?;
    let paired_bootstrap = stats::paired_bootstrap(&a.y_true, &a.y_pred, &b.y_pred, boot)?;
    let k = a.labels.len();
    let matrix_a = crate::metrics::confusion_matrix(&a.y_true, &a.y_pred, k);
    let matrix_b = crate::metrics::confusion_matrix(&b.y_true, &b.y_pred, k);
    let matrix_diff = matrix_a
        .iter()
        .zip(&matrix_b)
        .map(|(ra, rb)| {
            ra.iter()
                .zip(rb)
                .map(|(&x, &y)| y as i64 - x as i64)
                .collect()
        })
        .collect();
    let metrics = a
        .metrics
        .iter()
        .filter_map(|(name, va)| {
            b.metrics
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, vb)| MetricDelta {
                    name: name.clone(),
                    a: *va,
                    b: *vb,
                    delta: vb - va,
                })
        })
        .collect();
    Ok(Comparison {
        n_test: a.y_true.len(),
        mcnemar,
        paired_bootstrap,
        metrics,
        labels: a.labels.clone(),
        matrix_diff,
        matrix_a,
        matrix_b,
    })
}

/// [`compare`] of two report texts.
pub fn compare_texts(a: &str, b: &str, boot: &BootstrapConfig) -> Result<Comparison> {
    compare(
        &Compared::from_json(a, "report A")?,
        &Compared::from_json(b, "report B")?,
        boot,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(pred: &[usize], sha: &str) -> String {
        serde_json::json!({
            "data": {"sha256": sha},
            "metrics": {"accuracy": 0.5, "confusion_matrix": {"labels": ["a", "b"], "matrix": [[1, 1], [1, 1]]}},
            "predictions": {"test_index": [0, 1, 2, 3], "y_true": [0, 0, 1, 1], "y_pred": pred},
        })
        .to_string()
    }

    #[test]
    fn difference_matrix_and_refusals() {
        let boot = BootstrapConfig {
            resamples: 50,
            ..Default::default()
        };
        let c = compare_texts(
            &report(&[0, 1, 1, 0], "x"),
            &report(&[0, 0, 1, 1], "x"),
            &boot,
        )
        .unwrap();
        assert_eq!(c.matrix_diff, vec![vec![1, -1], vec![-1, 1]]);
        assert_eq!((c.mcnemar.b, c.mcnemar.c), (0, 2));
        assert_eq!(c.metrics[0].name, "accuracy");
        let err = compare_texts(
            &report(&[0, 1, 1, 0], "x"),
            &report(&[0, 0, 1, 1], "y"),
            &boot,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("different data sets"), "{err}");
        let err = compare_texts("{}", &report(&[0, 0, 1, 1], "y"), &boot)
            .unwrap_err()
            .to_string();
        assert!(err.contains("report A"), "{err}");
    }
}
