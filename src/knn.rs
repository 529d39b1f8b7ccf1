//! k-nearest-neighbour probes on cosine similarity: DINO's weighted vote and the plain
//! vote of tfjs / Teachable Machine (= scikit-learn's `KNeighborsClassifier(metric="cosine",
//! algorithm="brute")`).
//!
//! Neighbours are ranked by similarity, highest first; equal similarities are ranked by
//! training-row index, lowest first (a stable sort). Rows are L2-normalised; an all-zero
//! row stays zero (scikit-learn's `normalize`), so its similarity to everything is 0.

use crate::error::{Error, Result};
use crate::probe::{check_labels, Features};

/// DINO's default number of neighbours.
pub const DINO_K: usize = 20;
/// DINO's temperature of the neighbour weights `exp(sim / T)`.
pub const DINO_TEMPERATURE: f64 = 0.07;
/// Teachable Machine's default number of neighbours.
pub const VOTE_K: usize = 3;
/// Test rows per block of the brute-force similarity computation.
const BLOCK: usize = 256;

/// Predictions of a k-NN probe.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnPrediction {
    /// Predicted class of each test row (ties go to the lowest class index).
    pub pred: Vec<usize>,
    /// Normalised class scores, row-major `n_test x n_classes`, each row summing to 1:
    /// weight sums (weighted) or votes / k (plain vote).
    pub scores: Vec<f64>,
    pub n_classes: usize,
}

impl KnnPrediction {
    /// Score of each row's predicted class (the vote's confidence = votes / k).
    pub fn confidence(&self) -> Vec<f64> {
        self.scores
            .chunks_exact(self.n_classes)
            .zip(&self.pred)
            .map(|(row, &p)| row[p])
            .collect()
    }

    /// Fraction of rows whose true class is among the `m` highest scores, classes
    /// ranked by score, then by lowest index (DINO's top-5 uses `m = min(5, k)`).
    pub fn top_m_accuracy(&self, y_true: &[usize], m: usize) -> Result<f64> {
        check_len("true labels vs test rows", self.pred.len(), y_true.len())?;
        if y_true.is_empty() {
            return Ok(0.0);
        }
        let hits = self
            .scores
            .chunks_exact(self.n_classes)
            .zip(y_true)
            .filter(|(row, &t)| {
                let s = row.get(t).copied().unwrap_or(f64::NEG_INFINITY);
                let ahead = row
                    .iter()
                    .enumerate()
                    .filter(|&(j, &v)| v > s || (v == s && j < t))
                    .count();
                t < row.len() && ahead < m
            })
            .count();
        Ok(hits as f64 / y_true.len() as f64)
    }
}

fn check_len(what: &str, expected: usize, got: usize) -> Result<()> {
    if expected != got {
        return Err(Error::LengthMismatch {
            what: what.into(),
            expected,
            got,
        });
    }
    Ok(())
}

/// L2-normalised copy of the rows (norms in f64); zero rows stay zero.
pub fn l2_normalise(x: Features<'_>) -> Vec<f32> {
    let mut out = x.values.to_vec();
    for row in out.chunks_exact_mut(x.dim) {
        let norm = row
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt();
        if norm > 0.0 {
            row.iter_mut()
                .for_each(|v| *v = (f64::from(*v) / norm) as f32);
        }
    }
    out
}

fn check_inputs(
    train: Features<'_>,
    y_train: &[usize],
    test: Features<'_>,
    n_classes: usize,
    k: usize,
) -> Result<()> {
    check_labels(y_train, train.rows(), n_classes, "labels vs training rows")?;
    if test.dim != train.dim {
        return Err(Error::LengthMismatch {
            what: "test feature dimension vs training".into(),
            expected: train.dim,
            got: test.dim,
        });
    }
    if k == 0 {
        return Err(Error::InvalidParameter {
            name: "k",
            value: "0".into(),
            why: "a k-NN probe needs at least 1 neighbour",
        });
    }
    if k > train.rows() {
        return Err(Error::InvalidValue {
            name: "k",
            value: k.to_string(),
            why: format!("more neighbours than the {} training samples", train.rows()),
        });
    }
    Ok(())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for (a, (u, v)) in acc.iter_mut().zip(x.iter().zip(y)) {
            *a += u * v;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Calls `visit(test_row, neighbours)` with the `k` most similar training rows of every
/// test row, as (training index, cosine similarity), most similar first.
fn for_each_neighbours(
    train: Features<'_>,
    test: Features<'_>,
    k: usize,
    mut visit: impl FnMut(usize, &[(usize, f32)]),
) {
    let (tr, te) = (l2_normalise(train), l2_normalise(test));
    let d = train.dim;
    let n_train = train.rows();
    let mut sims = vec![0.0f32; BLOCK * n_train];
    let mut order: Vec<(usize, f32)> = Vec::with_capacity(n_train);
    let rank = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    for (b, block) in te.chunks(BLOCK * d).enumerate() {
        let rows = block.len() / d;
        for (q, s) in block.chunks_exact(d).zip(sims.chunks_exact_mut(n_train)) {
            for (t, out) in tr.chunks_exact(d).zip(s.iter_mut()) {
                *out = dot(q, t);
            }
        }
        for (r, s) in sims.chunks_exact(n_train).take(rows).enumerate() {
            order.clear();
            order.extend(s.iter().copied().enumerate());
            if k < n_train {
                order.select_nth_unstable_by(k - 1, rank);
                order.truncate(k);
            }
            order.sort_unstable_by(rank);
            visit(b * BLOCK + r, &order);
        }
    }
}

fn argmax_lowest(row: &[f64]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
            if v > bv {
                (i, v)
            } else {
                (bi, bv)
            }
        })
        .0
}

/// DINO's weighted k-NN (`dino/eval_knn.py`): each of the `k` most similar training rows
/// votes for its class with weight `exp(sim / temperature)`; scores are the class weight
/// sums divided by their total.
pub fn weighted(
    train: Features<'_>,
    y_train: &[usize],
    test: Features<'_>,
    n_classes: usize,
    k: usize,
    temperature: f64,
) -> Result<KnnPrediction> {
    check_inputs(train, y_train, test, n_classes, k)?;
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(Error::InvalidParameter {
            name: "temperature",
            value: temperature.to_string(),
            why: "must be a positive finite number",
        });
    }
    let n_test = test.rows();
    let mut scores = vec![0.0f64; n_test * n_classes];
    for_each_neighbours(train, test, k, |i, nb| {
        let row = &mut scores[i * n_classes..(i + 1) * n_classes];
        for &(j, sim) in nb {
            row[y_train[j]] += (f64::from(sim) / temperature).exp();
        }
        let total: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= total);
    });
    let pred = scores.chunks_exact(n_classes).map(argmax_lowest).collect();
    Ok(KnnPrediction {
        pred,
        scores,
        n_classes,
    })
}

/// The plain k-NN vote (tfjs KNN classifier / Teachable Machine; scikit-learn's
/// `KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")`): the most
/// frequent class among the `k` most similar training rows, ties to the lowest class
/// index; scores are votes / k.
pub fn vote(
    train: Features<'_>,
    y_train: &[usize],
    test: Features<'_>,
    n_classes: usize,
    k: usize,
) -> Result<KnnPrediction> {
    check_inputs(train, y_train, test, n_classes, k)?;
    let n_test = test.rows();
    let mut scores = vec![0.0f64; n_test * n_classes];
    for_each_neighbours(train, test, k, |i, nb| {
        let row = &mut scores[i * n_classes..(i + 1) * n_classes];
        for &(j, _) in nb {
            row[y_train[j]] += 1.0;
        }
        row.iter_mut().for_each(|v| *v /= k as f64);
    });
    let pred = scores.chunks_exact(n_classes).map(argmax_lowest).collect();
    Ok(KnnPrediction {
        pred,
        scores,
        n_classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_ties_go_to_the_lowest_class_and_neighbour_ties_to_the_lowest_row() {
        // Four training rows at the same angle from the query: rows 0 and 1 are the two
        // neighbours (index order), one vote each for classes 2 and 1 -> class 1 wins.
        let train = [1.0f32, 0.0, 2.0, 0.0, 3.0, 0.0, 4.0, 0.0];
        let y = [2, 1, 0, 0];
        let test = [5.0f32, 0.0];
        let tr = Features::new(&train, 2, "train").unwrap();
        let te = Features::new(&test, 2, "test").unwrap();
        let p = vote(tr, &y, te, 3, 2).unwrap();
        assert_eq!(p.pred, vec![1]);
        assert_eq!(p.scores, vec![0.0, 0.5, 0.5]);
        assert_eq!(p.confidence(), vec![0.5]);
    }

    #[test]
    fn weighted_scores_sum_to_one() {
        let train = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
        let te = [1.0f32, 0.1];
        let p = weighted(
            Features::new(&train, 2, "train").unwrap(),
            &[0, 1, 1],
            Features::new(&te, 2, "test").unwrap(),
            2,
            3,
            DINO_TEMPERATURE,
        )
        .unwrap();
        assert_eq!(p.pred, vec![0]);
        assert!((p.scores.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
