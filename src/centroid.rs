//! Nearest-centroid probe with SimpleShot's CL2N features: subtract the training mean,
//! L2-normalise, average per class, predict the class mean nearest in Euclidean distance.

use crate::error::{Error, Result};
use crate::metrics::label_outside;
use crate::probe::{check_labels, Features};

/// A fitted nearest-centroid probe (f64).
#[derive(Debug, Clone, PartialEq)]
pub struct NearestCentroid {
    pub dim: usize,
    pub n_classes: usize,
    /// Mean of the training features.
    pub mean: Vec<f64>,
    /// Mean of the CL2N training features of each class; `None` for a class with no
    /// training sample (it is never predicted).
    pub centroids: Vec<Option<Vec<f64>>>,
}

fn cl2n(row: &[f32], mean: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = row
        .iter()
        .zip(mean)
        .map(|(&x, m)| f64::from(x) - m)
        .collect();
    let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|a| *a /= norm);
    }
    v
}

/// Fits the centroids.
pub fn fit(train: Features<'_>, y: &[usize], n_classes: usize) -> Result<NearestCentroid> {
    let n = train.rows();
    check_labels(y, n, n_classes, "labels vs training rows")?;
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "training rows",
            value: "0".into(),
            why: "a nearest-centroid probe needs training samples",
        });
    }
    let d = train.dim();
    let mut mean = vec![0.0; d];
    for row in train.values().chunks_exact(d) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, &v)| *m += f64::from(v));
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut sums = vec![vec![0.0; d]; n_classes];
    let mut counts = vec![0usize; n_classes];
    for (row, &label) in train.values().chunks_exact(d).zip(y) {
        let (Some(sum), Some(count)) = (sums.get_mut(label), counts.get_mut(label)) else {
            return Err(label_outside(label));
        };
        let v = cl2n(row, &mean);
        sum.iter_mut().zip(&v).for_each(|(s, a)| *s += a);
        *count += 1;
    }
    let centroids = sums
        .into_iter()
        .zip(counts)
        .map(|(s, c)| (c > 0).then(|| s.into_iter().map(|v| v / c as f64).collect()))
        .collect();
    Ok(NearestCentroid {
        dim: d,
        n_classes,
        mean,
        centroids,
    })
}

impl NearestCentroid {
    /// Euclidean distances of the CL2N test rows to every centroid, row-major
    /// `n_test x n_classes` (infinite for a class without centroid).
    pub fn distances(&self, test: Features<'_>) -> Result<Vec<f64>> {
        if test.dim() != self.dim {
            return Err(Error::LengthMismatch {
                what: "test feature dimension vs training".into(),
                expected: self.dim,
                got: test.dim(),
            });
        }
        let mut out = Vec::with_capacity(test.rows() * self.n_classes);
        for row in test.values().chunks_exact(self.dim) {
            let v = cl2n(row, &self.mean);
            out.extend(self.centroids.iter().map(|c| {
                match c {
                    Some(c) => c
                        .iter()
                        .zip(&v)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt(),
                    None => f64::INFINITY,
                }
            }));
        }
        Ok(out)
    }

    /// Nearest class of each test row (ties to the lowest class index) and scores
    /// `softmax(-distance)` per row: a ranking score for AUC and AP, not a calibrated
    /// probability.
    pub fn predict(&self, test: Features<'_>) -> Result<(Vec<usize>, Vec<f64>)> {
        let dist = self.distances(test)?;
        let k = self.n_classes;
        let pred = dist
            .chunks_exact(k)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold(
                        (0, f64::INFINITY),
                        |(bi, bv), (i, &v)| {
                            if v < bv {
                                (i, v)
                            } else {
                                (bi, bv)
                            }
                        },
                    )
                    .0
            })
            .collect();
        let mut scores = dist;
        for row in scores.chunks_exact_mut(k) {
            let min = row.iter().copied().fold(f64::INFINITY, f64::min);
            row.iter_mut().for_each(|v| *v = (min - *v).exp());
            let sum: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        Ok((pred, scores))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_mean_after_centring_and_normalising() {
        let x = [0.0f32, 1.0, 0.1, 1.0, 1.0, 0.0, 1.0, 0.1];
        let model = fit(Features::new(&x, 2, "train").unwrap(), &[0, 0, 1, 1], 3).unwrap();
        assert!(model.centroids[2].is_none());
        let test = [0.2f32, 0.9, 0.9, 0.2];
        let (pred, scores) = model
            .predict(Features::new(&test, 2, "test").unwrap())
            .unwrap();
        assert_eq!(pred, vec![0, 1]);
        assert_eq!(scores[2], 0.0);
    }
}
