//! Classification metrics with scikit-learn's definitions and conventions.
//!
//! Confusion matrix: rows are true labels, columns are predicted labels, in the order
//! of `labels` (scikit-learn's `confusion_matrix`). Zero division gives 0, never NaN.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// A confusion matrix with its labels; `matrix[true][predicted]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub labels: Vec<String>,
    pub matrix: Vec<Vec<u64>>,
}

/// Every metric of one evaluation, keyed as scikit-learn names them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    pub mcc: f64,
    pub cohen_kappa: f64,
    pub per_class: BTreeMap<String, ClassScores>,
    pub confusion_matrix: ConfusionMatrix,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roc_auc_ovr_macro: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub top_2_accuracy: Option<f64>,
    /// Top-5 accuracy, when there are more than 5 classes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub top_5_accuracy: Option<f64>,
    /// Average precision: of class index 1 for two classes, else the macro average of
    /// the one-vs-rest APs (scikit-learn's `average_precision_score`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub average_precision: Option<f64>,
    /// Expected calibration error of the top-label confidence (torchmetrics: 15
    /// equal-width bins, L1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ece: Option<f64>,
    /// Bootstrap confidence intervals of the headline metrics.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ci: Option<crate::stats::HeadlineCi>,
    /// PR, ROC and calibration curve points.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub curves: Option<Curves>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Class probabilities, one row per sample, columns in label order.
#[derive(Debug, Clone, Copy)]
pub struct Proba<'a> {
    pub values: &'a [f64],
    pub n_classes: usize,
}

/// The error for a label index outside the label list (the message of the up-front checks).
pub(crate) fn label_outside(label: usize) -> Error {
    Error::InvalidParameter {
        name: "label index",
        value: label.to_string(),
        why: "outside the label list",
    }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    ratio(sum, n as f64)
}

/// Computes the confusion matrix of label indices below `n_labels`.
pub fn confusion_matrix(y_true: &[usize], y_pred: &[usize], n_labels: usize) -> Vec<Vec<u64>> {
    let mut m = vec![vec![0u64; n_labels]; n_labels];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        if let Some(cell) = m.get_mut(t).and_then(|row| row.get_mut(p)) {
            *cell += 1;
        }
    }
    m
}

/// Computes all metrics for label indices into `labels`.
pub fn evaluate(
    y_true: &[usize],
    y_pred: &[usize],
    labels: &[String],
    proba: Option<Proba<'_>>,
) -> Result<Metrics> {
    let n = y_true.len();
    let k = labels.len();
    if y_pred.len() != n {
        return Err(Error::LengthMismatch {
            what: "predicted labels vs true labels".into(),
            expected: n,
            got: y_pred.len(),
        });
    }
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "y_true",
            value: "[]".into(),
            why: "no samples to score",
        });
    }
    if let Some(&bad) = y_true.iter().chain(y_pred).find(|&&l| l >= k) {
        return Err(Error::InvalidParameter {
            name: "label index",
            value: bad.to_string(),
            why: "outside the label list",
        });
    }
    let mut warnings = Vec::new();
    let cm = confusion_matrix(y_true, y_pred, k);
    let support: Vec<u64> = cm.iter().map(|r| r.iter().sum()).collect();
    let predicted: Vec<u64> = cm.iter().fold(vec![0; k], |mut acc, r| {
        acc.iter_mut().zip(r).for_each(|(a, &c)| *a += c);
        acc
    });
    // The diagonal of the k x k matrix: every (k + 1)-th cell.
    let tp: Vec<u64> = cm.iter().flatten().step_by(k + 1).copied().collect();
    let correct: u64 = tp.iter().sum();

    let mut per_class = BTreeMap::new();
    let mut precisions = Vec::with_capacity(k);
    let mut recalls = Vec::with_capacity(k);
    let mut f1s = Vec::with_capacity(k);
    for (((label, &tp_i), &predicted_i), &support_i) in
        labels.iter().zip(&tp).zip(&predicted).zip(&support)
    {
        let (t, p, s) = (tp_i as f64, predicted_i as f64, support_i as f64);
        let precision = ratio(t, p);
        let recall = ratio(t, s);
        let f1 = ratio(2.0 * t, p + s);
        if predicted_i == 0 && support_i > 0 {
            warnings.push(format!(
                "class '{label}' is never predicted: its precision is set to 0"
            ));
        }
        if support_i == 0 {
            warnings.push(format!(
                "class '{label}' has no true samples: its recall is set to 0"
            ));
        }
        precisions.push(precision);
        recalls.push(recall);
        f1s.push(f1);
        per_class.insert(
            label.clone(),
            ClassScores {
                precision,
                recall,
                f1,
                support: support_i,
            },
        );
    }
    let total_support: f64 = support.iter().map(|&s| s as f64).sum();
    let weighted_f1 = ratio(
        f1s.iter().zip(&support).map(|(f, &s)| f * s as f64).sum(),
        total_support,
    );
    let balanced_accuracy = mean(
        support
            .iter()
            .zip(&recalls)
            .filter(|(&s, _)| s > 0)
            .map(|(_, &r)| r),
    );

    let nf = n as f64;
    let dot =
        |a: &[u64], b: &[u64]| -> f64 { a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum() };
    let cov_tp = correct as f64 * nf - dot(&support, &predicted);
    let cov_pp = nf * nf - dot(&predicted, &predicted);
    let cov_tt = nf * nf - dot(&support, &support);
    let mcc = if cov_pp * cov_tt == 0.0 {
        0.0
    } else {
        cov_tp / (cov_tt * cov_pp).sqrt()
    };

    let observed_disagreement = nf - correct as f64;
    let expected_disagreement = support
        .iter()
        .enumerate()
        .flat_map(|(i, &s)| {
            predicted
                .iter()
                .enumerate()
                .filter(move |&(j, _)| j != i)
                .map(move |(_, &p)| s as f64 * p as f64 / nf)
        })
        .sum::<f64>();
    let cohen_kappa = if expected_disagreement == 0.0 {
        warnings.push("Cohen's kappa is undefined (chance agreement is 1): set to 0".into());
        0.0
    } else {
        1.0 - observed_disagreement / expected_disagreement
    };

    let mut metrics = Metrics {
        accuracy: correct as f64 / nf,
        balanced_accuracy,
        macro_precision: mean(precisions.iter().copied()),
        macro_recall: mean(recalls.iter().copied()),
        macro_f1: mean(f1s.iter().copied()),
        weighted_f1,
        mcc,
        cohen_kappa,
        per_class,
        confusion_matrix: ConfusionMatrix {
            labels: labels.to_vec(),
            matrix: cm,
        },
        log_loss: None,
        roc_auc_ovr_macro: None,
        top_2_accuracy: None,
        top_5_accuracy: None,
        average_precision: None,
        ece: None,
        ci: None,
        curves: None,
        warnings,
    };
    if let Some(p) = proba {
        add_probability_metrics(&mut metrics, y_true, p)?;
    }
    Ok(metrics)
}

fn add_probability_metrics(m: &mut Metrics, y_true: &[usize], p: Proba<'_>) -> Result<()> {
    let n = y_true.len();
    let k = m.confusion_matrix.labels.len();
    if p.n_classes != k {
        return Err(Error::LengthMismatch {
            what: "probability columns vs labels".into(),
            expected: k,
            got: p.n_classes,
        });
    }
    if p.values.len() != n * k {
        return Err(Error::LengthMismatch {
            what: "probability rows vs samples".into(),
            expected: n,
            got: p.values.len() / k.max(1),
        });
    }
    if let Some((pos, &value)) = p.values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "probabilities".into(),
            row: pos / k,
            col: pos % k,
            value,
        });
    }
    let rows = p.values.chunks_exact(k);
    let eps = f64::EPSILON;
    let log_loss = rows
        .clone()
        .zip(y_true)
        .map(|(row, &t)| Ok(-at(row, t)?.clamp(eps, 1.0 - eps).ln()))
        .sum::<Result<f64>>()?
        / n as f64;
    m.log_loss = Some(log_loss);

    let top2 = rows
        .clone()
        .zip(y_true)
        .filter(|(row, &t)| in_top_k(row, t, 2))
        .count();
    m.top_2_accuracy = Some(top2 as f64 / n as f64);
    if k > 5 {
        m.top_5_accuracy = Some(top_k_accuracy(y_true, p, 5)?);
    }
    m.ece = Some(expected_calibration_error(y_true, p, ECE_BINS)?);
    let ap = average_precision(y_true, p)?;
    for (_, label) in m
        .confusion_matrix
        .labels
        .iter()
        .enumerate()
        .filter(|(j, _)| ap.no_positives.contains(j))
    {
        m.warnings.push(format!(
            "average precision of class '{label}' is 0: it has no positive test samples"
        ));
    }
    m.average_precision = Some(match ap.per_class.as_slice() {
        [_, positive] => *positive,
        _ => ap.macro_avg,
    });

    // Two classes: the AUC of class index 1 only; more: every class against the rest.
    let mut aucs = Vec::with_capacity(k);
    for (j, (scores, label)) in columns(p.values, k)
        .iter()
        .zip(&m.confusion_matrix.labels)
        .enumerate()
        .skip(usize::from(k == 2))
    {
        let positive: Vec<bool> = y_true.iter().map(|&t| t == j).collect();
        match binary_roc_auc(scores, &positive) {
            Some(a) => aucs.push(a),
            None => {
                m.warnings.push(format!(
                    "ROC AUC is undefined: class '{label}' has no positive or no negative test samples"
                ));
                return Ok(());
            }
        }
    }
    m.roc_auc_ovr_macro = Some(mean(aucs.into_iter()));
    Ok(())
}

/// Entry `t` of a probability row, `t` a label index.
fn at(row: &[f64], t: usize) -> Result<f64> {
    row.get(t).copied().ok_or_else(|| label_outside(t))
}

/// The columns of a row-major matrix with `k > 0` columns.
fn columns(values: &[f64], k: usize) -> Vec<Vec<f64>> {
    let mut cols = vec![Vec::with_capacity(values.len() / k); k];
    for row in values.chunks_exact(k) {
        cols.iter_mut().zip(row).for_each(|(c, &v)| c.push(v));
    }
    cols
}

/// Index and value of the largest entry of a row, the first on ties (as
/// [`crate::probe::argmax_rows`]); NaN entries are passed over.
pub(crate) fn argmax_value(row: &[f64]) -> (usize, f64) {
    row.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
}

/// Whether class `t` is among the `k` highest scores, ties broken as scikit-learn's
/// `top_k_accuracy_score` does (a stable ascending argsort read backwards). A class
/// outside the row is not among them (unless `k` covers the whole row).
pub fn in_top_k(row: &[f64], t: usize, k: usize) -> bool {
    if k >= row.len() {
        return true;
    }
    let Some(&s) = row.get(t) else {
        return false;
    };
    let ahead = row
        .iter()
        .enumerate()
        .filter(|&(j, &v)| v > s || (v == s && j > t))
        .count();
    ahead < k
}

/// Area under the ROC curve (ties averaged, as the trapezoidal rule gives);
/// `None` when one of the two classes is absent or the lengths differ.
pub fn binary_roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    if scores.len() != positive.len() {
        return None;
    }
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut ranked: Vec<(f64, bool)> = scores
        .iter()
        .copied()
        .zip(positive.iter().copied())
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    for tied in ranked.chunk_by(|a, b| a.0 == b.0) {
        let j = i + tied.len() - 1;
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += avg_rank * tied.iter().filter(|&&(_, p)| p).count() as f64;
        i = j + 1;
    }
    let (p, q) = (n_pos as f64, n_neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * q))
}

/// Maps string labels to indices into their sorted union (scikit-learn's label order).
pub fn encode_labels(
    y_true: &[String],
    y_pred: &[String],
) -> (Vec<String>, Vec<usize>, Vec<usize>) {
    let labels: Vec<String> = y_true
        .iter()
        .chain(y_pred)
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let index = |l: &String| labels.binary_search(l).unwrap_or_default();
    let t = y_true.iter().map(index).collect();
    let p = y_pred.iter().map(index).collect();
    (labels, t, p)
}

/// Number of bins of the expected calibration error (torchmetrics' default).
pub const ECE_BINS: usize = 15;
/// Number of bins of the calibration curve (scikit-learn's `calibration_curve` default).
pub const CALIBRATION_BINS: usize = 5;

fn check_proba(n: usize, p: Proba<'_>) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "y_true",
            value: "[]".into(),
            why: "no samples to score",
        });
    }
    if p.n_classes == 0 || p.values.len() != n * p.n_classes {
        return Err(Error::LengthMismatch {
            what: "probability values vs samples x classes".into(),
            expected: n * p.n_classes,
            got: p.values.len(),
        });
    }
    if let Some((pos, &value)) = p.values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "probabilities".into(),
            row: pos / p.n_classes,
            col: pos % p.n_classes,
            value,
        });
    }
    Ok(())
}

fn check_labels(y_true: &[usize], k: usize) -> Result<()> {
    match y_true.iter().find(|&&l| l >= k) {
        Some(&bad) => Err(Error::InvalidParameter {
            name: "label index",
            value: bad.to_string(),
            why: "outside the label list",
        }),
        None => Ok(()),
    }
}

/// scikit-learn's `top_k_accuracy_score`: the fraction of samples whose true class is
/// among the `k` highest scores (ties as [`in_top_k`]); 1 when `k >= n_classes`.
pub fn top_k_accuracy(y_true: &[usize], p: Proba<'_>, k: usize) -> Result<f64> {
    check_proba(y_true.len(), p)?;
    check_labels(y_true, p.n_classes)?;
    if k == 0 {
        return Err(Error::InvalidParameter {
            name: "k",
            value: "0".into(),
            why: "top-k accuracy needs k >= 1",
        });
    }
    let hits = p
        .values
        .chunks_exact(p.n_classes)
        .zip(y_true)
        .filter(|(row, &t)| in_top_k(row, t, k))
        .count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// Cumulative true and false positives at each distinct score, highest first
/// (scikit-learn's `_binary_clf_curve`), with the thresholds.
fn binary_clf_curve(scores: &[f64], positive: &[bool]) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    if scores.len() != positive.len() {
        return Err(Error::LengthMismatch {
            what: "scores vs labels".into(),
            expected: positive.len(),
            got: scores.len(),
        });
    }
    if scores.is_empty() {
        return Err(Error::InvalidParameter {
            name: "scores",
            value: "[]".into(),
            why: "no samples to score",
        });
    }
    if let Some((pos, &value)) = scores.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "scores".into(),
            row: pos,
            col: 0,
            value,
        });
    }
    let mut ranked: Vec<(f64, bool)> = scores
        .iter()
        .copied()
        .zip(positive.iter().copied())
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tps, mut fps, mut thresholds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut ranked = ranked.iter().peekable();
    while let Some(&(score, pos)) = ranked.next() {
        if pos {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if ranked.peek().is_none_or(|next| next.0 != score) {
            tps.push(tp);
            fps.push(fp);
            thresholds.push(score);
        }
    }
    Ok((fps, tps, thresholds))
}

/// Precision-recall curve points (scikit-learn's `precision_recall_curve`):
/// `precision` and `recall` have one more point than `thresholds`, the final
/// (precision 1, recall 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrCurve {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    /// Increasing scores; `thresholds[i]` gives point `i`.
    pub thresholds: Vec<f64>,
}

/// ROC curve points (scikit-learn's `roc_curve(drop_intermediate=True)`). scikit-learn's
/// first threshold is +infinity (the point (0, 0)); JSON has no infinity, so
/// `thresholds[i]` gives point `i + 1` and there is one threshold fewer than points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocCurve {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    /// Decreasing scores.
    pub thresholds: Vec<f64>,
}

/// Precision-recall curve of a binary problem. With no positive sample, recall is 1 at
/// every threshold (scikit-learn's convention, with a warning there).
pub fn precision_recall_curve(scores: &[f64], positive: &[bool]) -> Result<PrCurve> {
    let (fps, tps, thr) = binary_clf_curve(scores, positive)?;
    let total_pos = tps.last().copied().unwrap_or(0.0);
    let mut precision: Vec<f64> = tps
        .iter()
        .zip(&fps)
        .rev()
        .map(|(t, f)| ratio(*t, t + f))
        .collect();
    let mut recall: Vec<f64> = tps
        .iter()
        .rev()
        .map(|t| if total_pos == 0.0 { 1.0 } else { t / total_pos })
        .collect();
    precision.push(1.0);
    recall.push(0.0);
    Ok(PrCurve {
        precision,
        recall,
        thresholds: thr.into_iter().rev().collect(),
    })
}

/// scikit-learn's `average_precision_score` of a binary problem:
/// `sum_n (R_n - R_{n-1}) P_n`; 0 when there is no positive sample.
pub fn binary_average_precision(scores: &[f64], positive: &[bool]) -> Result<f64> {
    let pr = precision_recall_curve(scores, positive)?;
    let ap = pr
        .recall
        .iter()
        .zip(pr.recall.iter().skip(1))
        .zip(&pr.precision)
        .map(|((r0, r1), p)| (r1 - r0) * p)
        .sum::<f64>();
    Ok(-ap)
}

/// ROC curve of a binary problem; `None` when one of the two classes is absent.
pub fn roc_curve(scores: &[f64], positive: &[bool]) -> Result<Option<RocCurve>> {
    let (fps, tps, thr) = binary_clf_curve(scores, positive)?;
    // Drop the points where neither curve bends (a zero second difference); keep the ends.
    let bends = |v: &[f64]| -> Vec<bool> {
        v.iter()
            .zip(v.iter().skip(1))
            .zip(v.iter().skip(2))
            .map(|((a, b), c)| a - 2.0 * b + c != 0.0)
            .collect()
    };
    let keep: Vec<bool> = if fps.len() > 2 {
        std::iter::once(true)
            .chain(bends(&fps).iter().zip(bends(&tps)).map(|(&f, t)| f || t))
            .chain(std::iter::once(true))
            .collect()
    } else {
        vec![true; fps.len()]
    };
    let (n_fp, n_tp) = (
        fps.last().copied().unwrap_or(0.0),
        tps.last().copied().unwrap_or(0.0),
    );
    if n_fp == 0.0 || n_tp == 0.0 {
        return Ok(None);
    }
    let kept = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(&keep)
            .filter(|&(_, &k)| k)
            .map(|(&x, _)| x)
            .collect()
    };
    let mut fpr = vec![0.0];
    let mut tpr = vec![0.0];
    fpr.extend(kept(&fps).iter().map(|f| f / n_fp));
    tpr.extend(kept(&tps).iter().map(|t| t / n_tp));
    Ok(Some(RocCurve {
        fpr,
        tpr,
        thresholds: kept(&thr),
    }))
}

/// One-vs-rest average precision of every class and their unweighted mean.
#[derive(Debug, Clone, PartialEq)]
pub struct AveragePrecision {
    pub per_class: Vec<f64>,
    pub macro_avg: f64,
    /// Classes with no positive sample (AP 0, as scikit-learn sets it).
    pub no_positives: Vec<usize>,
}

/// Average precision of each class against the rest, from the probability columns
/// (scikit-learn's `average_precision_score(label_binarize(y), proba, average=None)`).
pub fn average_precision(y_true: &[usize], p: Proba<'_>) -> Result<AveragePrecision> {
    check_proba(y_true.len(), p)?;
    check_labels(y_true, p.n_classes)?;
    let k = p.n_classes;
    let mut per_class = Vec::with_capacity(k);
    let mut no_positives = Vec::new();
    for (j, scores) in columns(p.values, k).iter().enumerate() {
        let positive: Vec<bool> = y_true.iter().map(|&t| t == j).collect();
        if !positive.contains(&true) {
            no_positives.push(j);
        }
        per_class.push(binary_average_precision(scores, &positive)?);
    }
    let macro_avg = mean(per_class.iter().copied());
    Ok(AveragePrecision {
        per_class,
        macro_avg,
        no_positives,
    })
}

/// The bin edges torch's `linspace(0, 1, n + 1)` gives (the first half counted up from 0,
/// the second half down from 1).
fn torch_linspace_01(n_bins: usize) -> Vec<f64> {
    let steps = n_bins + 1;
    let step = 1.0 / n_bins as f64;
    let half = steps / 2;
    (0..steps)
        .map(|i| {
            if i < half {
                step * i as f64
            } else {
                1.0 - step * (steps - i - 1) as f64
            }
        })
        .collect()
}

/// Expected calibration error of the top-label confidence, torchmetrics'
/// `multiclass_calibration_error(norm="l1")`: confidence = largest probability (first on
/// ties), bins `[b_i, b_{i+1})` on `n_bins + 1` edges (a confidence of exactly 1 gets a
/// bin of its own), `sum_bins |accuracy - mean confidence| * fraction of samples`.
pub fn expected_calibration_error(y_true: &[usize], p: Proba<'_>, n_bins: usize) -> Result<f64> {
    check_proba(y_true.len(), p)?;
    check_labels(y_true, p.n_classes)?;
    if n_bins == 0 {
        return Err(Error::InvalidParameter {
            name: "number of bins",
            value: "0".into(),
            why: "must be at least 1",
        });
    }
    let edges = torch_linspace_01(n_bins);
    // (bin, confidence, right) of every sample.
    let samples: Vec<(usize, f64, bool)> = p
        .values
        .chunks_exact(p.n_classes)
        .zip(y_true)
        .map(|(row, &t)| {
            let (pred, c) = argmax_value(row);
            let bin = edges.iter().filter(|&&e| e <= c).count().saturating_sub(1);
            (bin, c, pred == t)
        })
        .collect();
    let bins: Vec<[f64; 3]> = (0..edges.len())
        .map(|b| {
            samples.iter().filter(|s| s.0 == b).fold(
                [0.0; 3],
                |[count, conf, acc], &(_, c, right)| {
                    [count + 1.0, conf + c, acc + if right { 1.0 } else { 0.0 }]
                },
            )
        })
        .collect();
    let total: f64 = bins.iter().map(|[count, _, _]| count).sum();
    Ok(bins
        .iter()
        .filter(|[count, _, _]| *count > 0.0)
        .map(|[count, conf, acc]| (acc / count - conf / count).abs() * count / total)
        .sum())
}

/// Calibration curve points (scikit-learn's `calibration_curve(strategy="uniform")`):
/// for each non-empty bin, the fraction of positives and the mean predicted probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationCurve {
    /// `positive_class` (two classes: probability of class index 1) or `top_label`
    /// (probability of the predicted class vs whether it is right).
    pub of: String,
    pub n_bins: usize,
    pub prob_true: Vec<f64>,
    pub prob_pred: Vec<f64>,
}

/// scikit-learn's `calibration_curve(y, prob, n_bins, strategy="uniform")`.
pub fn calibration_curve(
    positive: &[bool],
    prob: &[f64],
    n_bins: usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    if positive.len() != prob.len() {
        return Err(Error::LengthMismatch {
            what: "probabilities vs labels".into(),
            expected: positive.len(),
            got: prob.len(),
        });
    }
    if n_bins == 0 {
        return Err(Error::InvalidParameter {
            name: "number of bins",
            value: "0".into(),
            why: "must be at least 1",
        });
    }
    if let Some((pos, v)) = prob
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        return Err(Error::InvalidValue {
            name: "probability",
            value: v.to_string(),
            why: format!("at row {pos}: must be in [0, 1]"),
        });
    }
    let step = 1.0 / n_bins as f64;
    let inner: Vec<f64> = (1..n_bins).map(|i| i as f64 * step).collect();
    let bin_of: Vec<usize> = prob
        .iter()
        .map(|&p| inner.iter().filter(|&&e| e < p).count())
        .collect();
    // (sum of probabilities, positives, samples) of every non-empty bin.
    let bins: Vec<[f64; 3]> = (0..n_bins)
        .map(|b| {
            bin_of
                .iter()
                .zip(prob.iter().zip(positive))
                .filter(|&(&bin, _)| bin == b)
                .fold([0.0; 3], |[sum, trues, total], (_, (&p, &pos))| {
                    [sum + p, trues + if pos { 1.0 } else { 0.0 }, total + 1.0]
                })
        })
        .filter(|[_, _, total]| *total > 0.0)
        .collect();
    Ok((
        bins.iter().map(|[_, trues, total]| trues / total).collect(),
        bins.iter().map(|[sum, _, total]| sum / total).collect(),
    ))
}

/// Curves of one class against the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassCurves {
    pub label: String,
    pub average_precision: f64,
    pub pr: PrCurve,
    /// `None` when the class has no positive or no negative test sample.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub roc: Option<RocCurve>,
}

/// Per-class PR and ROC curves and the calibration curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    pub per_class: Vec<ClassCurves>,
    pub calibration: CalibrationCurve,
}

/// Curve points of every class (one-vs-rest) and the calibration curve
/// ([`CALIBRATION_BINS`] bins; of the positive class for two classes, else top-label).
pub fn curves(y_true: &[usize], labels: &[String], p: Proba<'_>) -> Result<Curves> {
    check_proba(y_true.len(), p)?;
    let k = p.n_classes;
    if labels.len() != k {
        return Err(Error::LengthMismatch {
            what: "probability columns vs labels".into(),
            expected: labels.len(),
            got: k,
        });
    }
    check_labels(y_true, k)?;
    let mut per_class = Vec::with_capacity(k);
    for (j, (label, scores)) in labels.iter().zip(columns(p.values, k)).enumerate() {
        let positive: Vec<bool> = y_true.iter().map(|&t| t == j).collect();
        per_class.push(ClassCurves {
            label: label.clone(),
            average_precision: binary_average_precision(&scores, &positive)?,
            pr: precision_recall_curve(&scores, &positive)?,
            roc: roc_curve(&scores, &positive)?,
        });
    }
    let (of, positive, prob): (&str, Vec<bool>, Vec<f64>) = if k == 2 {
        (
            "positive_class",
            y_true.iter().map(|&t| t == 1).collect(),
            // Column 1 of two.
            p.values.iter().skip(1).step_by(2).copied().collect(),
        )
    } else {
        let top: Vec<(usize, f64)> = p.values.chunks_exact(k).map(argmax_value).collect();
        (
            "top_label",
            top.iter().zip(y_true).map(|(&(a, _), &b)| a == b).collect(),
            top.iter().map(|&(_, c)| c).collect(),
        )
    };
    let (prob_true, prob_pred) = calibration_curve(&positive, &prob, CALIBRATION_BINS)?;
    Ok(Curves {
        per_class,
        calibration: CalibrationCurve {
            of: of.into(),
            n_bins: CALIBRATION_BINS,
            prob_true,
            prob_pred,
        },
    })
}

/// Plain-text report in the layout of scikit-learn's `classification_report`.
pub fn classification_report(m: &Metrics) -> String {
    let width = m
        .confusion_matrix
        .labels
        .iter()
        .map(|l| l.chars().count())
        .chain(["weighted avg".len()])
        .max()
        .unwrap_or(12);
    let mut s = format!(
        "{:>width$} {:>9} {:>9} {:>9} {:>9}\n\n",
        "", "precision", "recall", "f1-score", "support"
    );
    for label in &m.confusion_matrix.labels {
        if let Some(c) = m.per_class.get(label) {
            s += &format!(
                "{label:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
                c.precision, c.recall, c.f1, c.support
            );
        }
    }
    let total: u64 = m.per_class.values().map(|c| c.support).sum();
    let weighted = |f: fn(&ClassScores) -> f64| {
        ratio(
            m.per_class.values().map(|c| f(c) * c.support as f64).sum(),
            total as f64,
        )
    };
    s += &format!(
        "\n{:>width$} {:>9} {:>9} {:>9.4} {:>9}\n",
        "accuracy", "", "", m.accuracy, total
    );
    s += &format!(
        "{:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
        "macro avg", m.macro_precision, m.macro_recall, m.macro_f1, total
    );
    s += &format!(
        "{:>width$} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
        "weighted avg",
        weighted(|c| c.precision),
        weighted(|c| c.recall),
        m.weighted_f1,
        total
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_rows_are_true_labels() {
        // scikit-learn: confusion_matrix([0, 0, 1], [1, 1, 1]) == [[0, 2], [0, 1]]
        assert_eq!(
            confusion_matrix(&[0, 0, 1], &[1, 1, 1], 2),
            vec![vec![0, 2], vec![0, 1]]
        );
    }

    #[test]
    fn top_k_ties_favour_the_higher_index() {
        // np.argsort([.5, .25, .25], kind="mergesort")[::-1] == [0, 2, 1]
        assert!(in_top_k(&[0.5, 0.25, 0.25], 2, 2));
        assert!(!in_top_k(&[0.5, 0.25, 0.25], 1, 2));
    }

    #[test]
    fn auc_with_ties() {
        // scikit-learn: roc_auc_score([0, 1, 0, 1], [0.1, 0.4, 0.4, 0.8]) == 0.875
        let auc = binary_roc_auc(&[0.1, 0.4, 0.4, 0.8], &[false, true, false, true]);
        assert_eq!(auc, Some(0.875));
    }
}
