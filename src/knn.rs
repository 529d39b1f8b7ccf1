//! k-nearest-neighbour probes on cosine similarity: DINO's weighted vote and the plain
//! vote of tfjs / Teachable Machine (= scikit-learn's `KNeighborsClassifier(metric="cosine",
//! algorithm="brute")`).
//!
//! Neighbours are ranked by similarity, highest first; equal similarities are ranked by
//! training-row index, lowest first (a stable sort). Rows are L2-normalised; an all-zero
//! row stays zero (scikit-learn's `normalize`), so its similarity to everything is 0.

use crate::error::{Error, Result};
use crate::metrics::{argmax_value, label_outside};
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
    /// Score of each row's predicted class (the vote's confidence = votes / k); a class
    /// outside the score rows scores 0, as in [`KnnPrediction::top_m_accuracy`].
    pub fn confidence(&self) -> Vec<f64> {
        self.scores
            .chunks_exact(self.n_classes)
            .zip(&self.pred)
            .map(|(row, &p)| row.get(p).copied().unwrap_or(0.0))
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
    let mut out = x.values().to_vec();
    for row in out.chunks_exact_mut(x.dim()) {
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
    if test.dim() != train.dim() {
        return Err(Error::LengthMismatch {
            what: "test feature dimension vs training".into(),
            expected: train.dim(),
            got: test.dim(),
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

/// A training row among a test row's neighbours.
#[derive(Debug, Clone, Copy)]
struct Neighbour {
    /// Training row index (breaks ties of similarity, lowest first).
    index: usize,
    label: usize,
    sim: f32,
}

/// Calls `visit(scores_row, neighbours)` with the `n_classes` scores of every test row
/// (row-major in `scores`, which has one row per test row) and its `k` most similar
/// training rows, most similar first. Inputs are checked by [`check_inputs`].
fn for_each_neighbours(
    train: Features<'_>,
    y_train: &[usize],
    test: Features<'_>,
    k: usize,
    scores: &mut [f64],
    n_classes: usize,
    mut visit: impl FnMut(&mut [f64], &[Neighbour]) -> Result<()>,
) -> Result<()> {
    let (tr, te) = (l2_normalise(train), l2_normalise(test));
    let d = train.dim();
    let n_train = train.rows();
    let mut sims = vec![0.0f32; BLOCK * n_train];
    let mut order: Vec<Neighbour> = Vec::with_capacity(n_train);
    let rank = |a: &Neighbour, b: &Neighbour| b.sim.total_cmp(&a.sim).then(a.index.cmp(&b.index));
    let mut out_rows = scores.chunks_exact_mut(n_classes);
    for block in te.chunks(BLOCK * d) {
        let rows = block.len() / d;
        for (q, s) in block.chunks_exact(d).zip(sims.chunks_exact_mut(n_train)) {
            for (t, out) in tr.chunks_exact(d).zip(s.iter_mut()) {
                *out = dot(q, t);
            }
        }
        for (s, out) in sims.chunks_exact(n_train).take(rows).zip(out_rows.by_ref()) {
            order.clear();
            order.extend(
                s.iter()
                    .zip(y_train)
                    .enumerate()
                    .map(|(index, (&sim, &label))| Neighbour { index, label, sim }),
            );
            if k < n_train {
                order.select_nth_unstable_by(k - 1, rank);
                order.truncate(k);
            }
            order.sort_unstable_by(rank);
            visit(out, &order)?;
        }
    }
    Ok(())
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
    neighbour_scores(train, y_train, test, n_classes, k, |sim| {
        (f64::from(sim) / temperature).exp()
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
    // The k votes sum to exactly k, so the scores are votes / k.
    neighbour_scores(train, y_train, test, n_classes, k, |_| 1.0)
}

/// Scores each test row by the summed `weight(similarity)` of its `k` nearest training
/// rows per class, divided by their total, and predicts the highest (ties to the lowest
/// class index). Inputs are checked by [`check_inputs`].
fn neighbour_scores(
    train: Features<'_>,
    y_train: &[usize],
    test: Features<'_>,
    n_classes: usize,
    k: usize,
    weight: impl Fn(f32) -> f64,
) -> Result<KnnPrediction> {
    let mut scores = vec![0.0f64; test.rows() * n_classes];
    for_each_neighbours(
        train,
        y_train,
        test,
        k,
        &mut scores,
        n_classes,
        |row, nb| {
            for n in nb {
                *row.get_mut(n.label).ok_or_else(|| label_outside(n.label))? += weight(n.sim);
            }
            let total: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= total);
            Ok(())
        },
    )?;
    let pred = scores
        .chunks_exact(n_classes)
        .map(|row| argmax_value(row).0)
        .collect();
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
