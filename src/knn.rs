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

/// Which k-NN probe ranks and weighs the neighbours, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KnnRule {
    /// DINO's weighted vote: weight `exp(sim / temperature)` ([`weighted`]).
    Weighted { k: usize, temperature: f64 },
    /// The plain vote: weight 1 ([`vote`]).
    Vote { k: usize },
}

impl KnnRule {
    /// Neighbours per test row.
    pub fn k(&self) -> usize {
        match *self {
            KnnRule::Weighted { k, .. } | KnnRule::Vote { k } => k,
        }
    }

    /// A neighbour's vote for its class given its similarity.
    fn weight(&self, sim: f32) -> f64 {
        match *self {
            KnnRule::Weighted { temperature, .. } => (f64::from(sim) / temperature).exp(),
            KnnRule::Vote { .. } => 1.0,
        }
    }

    fn check(
        &self,
        train: Features<'_>,
        y_train: &[usize],
        test: Features<'_>,
        n_classes: usize,
    ) -> Result<()> {
        check_inputs(train, y_train, test, n_classes, self.k())?;
        if let KnnRule::Weighted { temperature, .. } = *self {
            if !(temperature.is_finite() && temperature > 0.0) {
                return Err(Error::InvalidParameter {
                    name: "temperature",
                    value: temperature.to_string(),
                    why: "must be a positive finite number",
                });
            }
        }
        Ok(())
    }
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
    let rule = KnnRule::Weighted { k, temperature };
    rule.check(train, y_train, test, n_classes)?;
    neighbour_scores(train, y_train, test, n_classes, rule)
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
    let rule = KnnRule::Vote { k };
    rule.check(train, y_train, test, n_classes)?;
    // The k votes sum to exactly k, so the scores are votes / k.
    neighbour_scores(train, y_train, test, n_classes, rule)
}

/// One of a test row's `k` nearest training rows, as the probe ranked and weighed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedNeighbour {
    /// Training row index (into the `train` rows).
    pub row: usize,
    /// Cosine similarity to the test row (f32, as ranked).
    pub similarity: f32,
    /// Its class index.
    pub label: usize,
    /// Its vote for `label`: `exp(similarity / T)` for the weighted k-NN, 1 for the plain
    /// vote. A test row's scores are its class weight sums divided by their total.
    pub weight: f64,
}

/// The `k` nearest training rows of every test row (one list per test row, most similar
/// first, equal similarities by lowest training row), exactly as [`weighted`] or
/// [`vote`] rank them and with the weight each votes with. Inputs are checked as there.
pub fn neighbours(
    train: Features<'_>,
    y_train: &[usize],
    test: Features<'_>,
    n_classes: usize,
    rule: KnnRule,
) -> Result<Vec<Vec<RankedNeighbour>>> {
    rule.check(train, y_train, test, n_classes)?;
    let mut out = Vec::with_capacity(test.rows());
    // One unused score per row: the ranking does not depend on the score rows.
    let mut scratch = vec![0.0f64; test.rows()];
    for_each_neighbours(train, y_train, test, rule.k(), &mut scratch, 1, |_, nb| {
        out.push(
            nb.iter()
                .map(|n| RankedNeighbour {
                    row: n.index,
                    similarity: n.sim,
                    label: n.label,
                    weight: rule.weight(n.sim),
                })
                .collect(),
        );
        Ok(())
    })?;
    Ok(out)
}

/// Scores each test row by the summed `rule.weight(similarity)` of its `k` nearest training
/// rows per class, divided by their total, and predicts the highest (ties to the lowest
/// class index). Inputs are checked by [`KnnRule::check`].
fn neighbour_scores(
    train: Features<'_>,
    y_train: &[usize],
    test: Features<'_>,
    n_classes: usize,
    rule: KnnRule,
) -> Result<KnnPrediction> {
    let mut scores = vec![0.0f64; test.rows() * n_classes];
    for_each_neighbours(
        train,
        y_train,
        test,
        rule.k(),
        &mut scores,
        n_classes,
        |row, nb| {
            for n in nb {
                *row.get_mut(n.label).ok_or_else(|| label_outside(n.label))? += rule.weight(n.sim);
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

    /// Deterministic rows in [-1, 1) with every third training row repeated, so that
    /// neighbours tie on similarity.
    fn rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let mut out: Vec<f32> = (0..n * dim)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect();
        for r in (3..n).step_by(3) {
            let (head, tail) = out.split_at_mut(r * dim);
            tail[..dim].copy_from_slice(&head[(r - 1) * dim..r * dim]);
        }
        out
    }

    #[test]
    fn neighbours_votes_reproduce_the_probe_scores() {
        let (dim, n_classes) = (5, 4);
        let train = rows(60, dim, 1);
        let y: Vec<usize> = (0..60).map(|i| (i * 7 + i / 5) % n_classes).collect();
        // The test rows include copies of training rows (similarity 1, ties with repeats).
        let mut test = rows(25, dim, 2);
        test.extend_from_slice(&train[..3 * dim]);
        let tr = Features::new(&train, dim, "train").unwrap();
        let te = Features::new(&test, dim, "test").unwrap();
        let rules = [
            KnnRule::Vote { k: VOTE_K },
            KnnRule::Vote { k: 60 },
            KnnRule::Weighted {
                k: DINO_K,
                temperature: DINO_TEMPERATURE,
            },
        ];
        for rule in rules {
            let p = match rule {
                KnnRule::Vote { k } => vote(tr, &y, te, n_classes, k).unwrap(),
                KnnRule::Weighted { k, temperature } => {
                    weighted(tr, &y, te, n_classes, k, temperature).unwrap()
                }
            };
            let nbs = neighbours(tr, &y, te, n_classes, rule).unwrap();
            assert_eq!(nbs.len(), te.rows());
            let (tr_n, te_n) = (l2_normalise(tr), l2_normalise(te));
            for ((nb, scores), q) in nbs
                .iter()
                .zip(p.scores.chunks_exact(n_classes))
                .zip(te_n.chunks_exact(dim))
            {
                assert_eq!(nb.len(), rule.k(), "{rule:?}");
                // The neighbours' votes, summed per class in rank order and normalised,
                // are the probe's scores bit for bit.
                let mut votes = vec![0.0f64; n_classes];
                for n in nb {
                    assert_eq!(n.label, y[n.row]);
                    assert_eq!(n.similarity, dot(q, &tr_n[n.row * dim..(n.row + 1) * dim]));
                    let w = match rule {
                        KnnRule::Vote { .. } => 1.0,
                        KnnRule::Weighted { temperature, .. } => {
                            (f64::from(n.similarity) / temperature).exp()
                        }
                    };
                    assert_eq!(n.weight, w);
                    votes[n.label] += n.weight;
                }
                let total: f64 = votes.iter().sum();
                votes.iter_mut().for_each(|v| *v /= total);
                assert_eq!(votes, scores, "{rule:?}");
                // Ranked by similarity, then by lowest row; nobody left out ranks higher.
                for pair in nb.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    assert!(
                        a.similarity > b.similarity
                            || (a.similarity == b.similarity && a.row < b.row)
                    );
                }
                let last = nb[nb.len() - 1];
                for (row, t) in tr_n.chunks_exact(dim).enumerate() {
                    if nb.iter().any(|n| n.row == row) {
                        continue;
                    }
                    let sim = dot(q, t);
                    assert!(sim < last.similarity || (sim == last.similarity && row > last.row));
                }
            }
        }
        // The copied training rows find themselves (or an equal earlier copy) first.
        let vote3 = neighbours(tr, &y, te, n_classes, KnnRule::Vote { k: 3 }).unwrap();
        assert_eq!(vote3[25][0].row, 0);
        assert_eq!(vote3[27][0].row, 2);
        assert!((vote3[25][0].similarity - 1.0).abs() < 1e-6);
    }

    #[test]
    fn neighbours_refuse_what_the_probes_refuse() {
        let train = [1.0f32, 0.0, 0.0, 1.0];
        let tr = Features::new(&train, 2, "train").unwrap();
        let te = Features::new(&train[..2], 2, "test").unwrap();
        for rule in [
            KnnRule::Vote { k: 0 },
            KnnRule::Vote { k: 3 },
            KnnRule::Weighted {
                k: 1,
                temperature: 0.0,
            },
        ] {
            assert!(neighbours(tr, &[0, 1], te, 2, rule).is_err(), "{rule:?}");
        }
        assert!(neighbours(tr, &[0, 2], te, 2, KnnRule::Vote { k: 1 }).is_err());
    }
}
