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
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Class probabilities, one row per sample, columns in label order.
#[derive(Debug, Clone, Copy)]
pub struct Proba<'a> {
    pub values: &'a [f64],
    pub n_classes: usize,
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
    let predicted: Vec<u64> = (0..k).map(|j| cm.iter().map(|r| r[j]).sum()).collect();
    let tp: Vec<u64> = (0..k).map(|i| cm[i][i]).collect();
    let correct: u64 = tp.iter().sum();

    let mut per_class = BTreeMap::new();
    let mut precisions = Vec::with_capacity(k);
    let mut recalls = Vec::with_capacity(k);
    let mut f1s = Vec::with_capacity(k);
    for i in 0..k {
        let (t, p, s) = (tp[i] as f64, predicted[i] as f64, support[i] as f64);
        let precision = ratio(t, p);
        let recall = ratio(t, s);
        let f1 = ratio(2.0 * t, p + s);
        if predicted[i] == 0 && support[i] > 0 {
            warnings.push(format!(
                "class '{}' is never predicted: its precision is set to 0",
                labels[i]
            ));
        }
        if support[i] == 0 {
            warnings.push(format!(
                "class '{}' has no true samples: its recall is set to 0",
                labels[i]
            ));
        }
        precisions.push(precision);
        recalls.push(recall);
        f1s.push(f1);
        per_class.insert(
            labels[i].clone(),
            ClassScores {
                precision,
                recall,
                f1,
                support: support[i],
            },
        );
    }
    let total_support: f64 = support.iter().map(|&s| s as f64).sum();
    let weighted_f1 = ratio(
        f1s.iter().zip(&support).map(|(f, &s)| f * s as f64).sum(),
        total_support,
    );
    let balanced_accuracy = mean((0..k).filter(|&i| support[i] > 0).map(|i| recalls[i]));

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
    let expected_disagreement = (0..k)
        .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| support[i] as f64 * predicted[j] as f64 / nf)
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
    if let Some(pos) = p.values.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "probabilities".into(),
            row: pos / k,
            col: pos % k,
            value: p.values[pos],
        });
    }
    let rows = p.values.chunks_exact(k);
    let eps = f64::EPSILON;
    let log_loss = rows
        .clone()
        .zip(y_true)
        .map(|(row, &t)| -row[t].clamp(eps, 1.0 - eps).ln())
        .sum::<f64>()
        / n as f64;
    m.log_loss = Some(log_loss);

    let top2 = rows
        .clone()
        .zip(y_true)
        .filter(|(row, &t)| in_top_k(row, t, 2))
        .count();
    m.top_2_accuracy = Some(top2 as f64 / n as f64);

    let columns: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
    let mut aucs = Vec::with_capacity(columns.len());
    for j in columns {
        let scores: Vec<f64> = rows.clone().map(|r| r[j]).collect();
        let positive: Vec<bool> = y_true.iter().map(|&t| t == j).collect();
        match binary_roc_auc(&scores, &positive) {
            Some(a) => aucs.push(a),
            None => {
                m.warnings.push(format!(
                    "ROC AUC is undefined: class '{}' has no positive or no negative test samples",
                    m.confusion_matrix.labels[j]
                ));
                return Ok(());
            }
        }
    }
    m.roc_auc_ovr_macro = Some(mean(aucs.into_iter()));
    Ok(())
}

/// Whether class `t` is among the `k` highest scores, ties broken as scikit-learn's
/// `top_k_accuracy_score` does (a stable ascending argsort read backwards).
pub fn in_top_k(row: &[f64], t: usize, k: usize) -> bool {
    if k >= row.len() {
        return true;
    }
    let s = row[t];
    let ahead = row
        .iter()
        .enumerate()
        .filter(|&(j, &v)| v > s || (v == s && j > t))
        .count();
    ahead < k
}

/// Area under the ROC curve (ties averaged, as the trapezoidal rule gives);
/// `None` when one of the two classes is absent.
pub fn binary_roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count();
    let n_neg = positive.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos += avg_rank * order[i..=j].iter().filter(|&&o| positive[o]).count() as f64;
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
