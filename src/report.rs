//! The versioned evaluation report, the same from the page and the CLI.

use serde::{Deserialize, Serialize};

use crate::data::DataInfo;
use crate::encoder::ModelInfo;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::onnx_head::HeadInfo;
use crate::preprocess::Preprocessing;
use crate::protocol::{CSearch, FewShotPoint, ProtocolSpec, RunScore};
use crate::stats::MeanStd;

/// Report schema name.
pub const SCHEMA: &str = "downstream-report";
/// Report schema version.
pub const VERSION: u32 = 1;

/// Name and version of the tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// How the data were split and, for a protocol other than the plain hold-out, what it
/// measured. `name` is `stratified_holdout` or the preset (`clip_linear_probe`,
/// `dinov2_linear_probe`, `mteb_classification`, `vtab_1k`, `stratified_kfold`,
/// `repeated_stratified_holdout`, `few_shot`, `senteval`); `n_train` / `n_test` and the
/// report's metrics and predictions are those of the fit named in `metrics_from`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    pub name: String,
    pub seed: u64,
    pub test_fraction: f64,
    pub n_train: usize,
    pub n_test: usize,
    /// Where the data set's explicit train/val/test split came from (`folders train/ val/
    /// test/` or `manifest 'name'`); absent when the split is drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_source: Option<String>,
    /// The protocol's settings as asked (folds, repeats, shots, seeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<ProtocolSpec>,
    /// Which fit the report's metrics, matrix and predictions come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_from: Option<String>,
    /// Where the run departs from the reference protocol.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deviations: Vec<String>,
    /// The C a single search chose (CLIP, DINOv2, VTAB); SentEval's per fold are in `runs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen_c: Option<f64>,
    /// Every C tried and its validation accuracy, per search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub c_searches: Vec<CSearch>,
    /// Scores of every run (fold, seed, experiment).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunScore>,
    /// Mean ± population std over `runs` (few-shot: over the largest shot count's seeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<MeanStd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub macro_f1: Option<MeanStd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighted_f1: Option<MeanStd>,
    /// Few-shot curve: mean ± std accuracy per shot count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub few_shot: Vec<FewShotPoint>,
}

/// The probe, its parameters and how its fit went. `kind` names it
/// (`logistic_regression`, `knn_weighted`, `knn_vote`, `nearest_centroid`, `mlp`); the
/// other fields are those of that kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iter: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tol: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<f64>,
    /// Neighbours of a k-NN probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// Temperature of the weights `exp(sim / T)` of the weighted k-NN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Similarity or distance (`cosine`, `euclidean`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// Feature transform before the probe (nearest centroid: `cl2n`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Mean training loss of each epoch (MLP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_per_epoch: Option<Vec<f64>>,
    /// scikit-learn's objective after each L-BFGS iteration (logistic regression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_per_iteration: Option<Vec<f64>>,
    /// The uploaded ONNX head (`onnx_head`): its file name, SHA-256 and declared shapes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<HeadInfo>,
    /// What the class scores behind the probability metrics are, when they are not a
    /// fitted model's probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<String>,
}

/// Per-sample test predictions (indices into the data set's items and classes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    pub test_index: Vec<usize>,
    pub y_true: Vec<usize>,
    pub y_pred: Vec<usize>,
    pub confidence: Vec<f64>,
}

/// One evaluation, everything needed to read and reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub version: u32,
    pub tool: Tool,
    pub model: ModelInfo,
    pub data: DataInfo,
    pub preprocessing: Preprocessing,
    pub protocol: Protocol,
    pub probe: ProbeInfo,
    pub metrics: Metrics,
    pub predictions: Predictions,
    /// What the probe must beat on the same split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baselines: Option<Baselines>,
}

/// Trivial predictors on the same split, always reported beside the probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    /// The most frequent training class (the lowest index on ties), predicted for every test item.
    pub majority_class: String,
    pub majority_accuracy: f64,
    pub majority_macro_f1: f64,
    /// Expected accuracy of a uniform random guess: 1 / number of classes.
    pub chance_accuracy: f64,
    /// Expected accuracy of guessing with the training class frequencies.
    pub stratified_chance_accuracy: f64,
}

impl Baselines {
    /// Baselines for the class indices of a train / test split over `classes`.
    pub fn compute(y_train: &[usize], y_test: &[usize], classes: &[String]) -> Result<Self> {
        let k = classes.len();
        let counts = |ys: &[usize]| {
            let mut c = vec![0usize; k];
            for &y in ys {
                if let Some(v) = c.get_mut(y) {
                    *v += 1;
                }
            }
            c
        };
        let (train_counts, test_counts) = (counts(y_train), counts(y_test));
        let majority = train_counts
            .iter()
            .enumerate()
            .fold(
                (0, 0),
                |(bi, bc), (i, &c)| if c > bc { (i, c) } else { (bi, bc) },
            )
            .0;
        let m = crate::metrics::evaluate(y_test, &vec![majority; y_test.len()], classes, None)?;
        let (nt, ns) = (y_train.len().max(1) as f64, y_test.len().max(1) as f64);
        Ok(Baselines {
            majority_class: classes.get(majority).cloned().unwrap_or_default(),
            majority_accuracy: m.accuracy,
            majority_macro_f1: m.macro_f1,
            chance_accuracy: 1.0 / k.max(1) as f64,
            stratified_chance_accuracy: train_counts
                .iter()
                .zip(&test_counts)
                .map(|(&a, &b)| a as f64 / nt * (b as f64 / ns))
                .sum(),
        })
    }
}

/// Largest report text accepted from a file or a link (64 MiB).
pub const MAX_REPORT_BYTES: usize = 64 << 20;

impl Report {
    /// Reads and validates a report (from a file or a shared link): schema and version,
    /// size, and that the matrix, per-class scores and predictions fit the labels.
    pub fn from_json(text: &str) -> Result<Self> {
        let bad = |detail: String| Error::InvalidReport { detail };
        if text.len() > MAX_REPORT_BYTES {
            return Err(bad(format!(
                "it is {} bytes, more than the limit of {MAX_REPORT_BYTES}",
                text.len()
            )));
        }
        let head: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        if head.get("schema").and_then(|s| s.as_str()) != Some(SCHEMA) {
            return Err(bad(format!("its schema is not '{SCHEMA}'")));
        }
        let version = head.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(VERSION)) {
            return Err(bad(format!(
                "version {} is not supported (this page reads version {VERSION})",
                version.map_or_else(|| "missing".to_string(), |v| v.to_string())
            )));
        }
        let report: Report = serde_json::from_value(head)
            .map_err(|e| bad(format!("a field is missing or malformed: {e}")))?;
        report.validate().map_err(bad)?;
        Ok(report)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        let cm = &self.metrics.confusion_matrix;
        let k = cm.labels.len();
        if cm.matrix.len() != k || cm.matrix.iter().any(|r| r.len() != k) {
            return Err(format!(
                "the confusion matrix is not {k} x {k} like its labels"
            ));
        }
        if self.metrics.per_class.len() > k
            || self
                .metrics
                .per_class
                .keys()
                .any(|l| !cm.labels.contains(l))
        {
            return Err("per-class scores name labels the confusion matrix does not have".into());
        }
        let p = &self.predictions;
        let n = p.test_index.len();
        if p.y_true.len() != n
            || p.y_pred.len() != n
            || (!p.confidence.is_empty() && p.confidence.len() != n)
        {
            return Err("the prediction lists have different lengths".into());
        }
        if p.y_true.iter().chain(&p.y_pred).any(|&l| l >= k) {
            return Err("a prediction names a class index outside the labels".into());
        }
        let numbers = [
            self.metrics.accuracy,
            self.metrics.macro_f1,
            self.metrics.balanced_accuracy,
        ];
        if numbers.iter().any(|v| !v.is_finite()) {
            return Err("a headline metric is not a finite number".into());
        }
        Ok(())
    }

    /// Pretty JSON text of the report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
