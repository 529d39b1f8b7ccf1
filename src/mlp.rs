//! Teachable Machine's small head: Dense(hidden, ReLU) -> Dense(softmax), cross-entropy,
//! Adam, mini-batches shuffled every epoch by a seeded ChaCha8 generator.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::metrics::label_outside;
use crate::probe::{check_labels, Features};

/// Settings of the MLP head; defaults are Teachable Machine's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MlpConfig {
    /// Hidden units (100).
    pub hidden: usize,
    /// Passes over the training set (50).
    pub epochs: usize,
    /// Mini-batch size (16).
    pub batch_size: usize,
    /// Adam learning rate (1e-3; beta1 0.9, beta2 0.999, epsilon 1e-7 as tfjs).
    pub learning_rate: f64,
    /// Seed of the initial weights (Glorot uniform, zero biases) and the shuffles.
    pub seed: u64,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            hidden: 100,
            epochs: 50,
            batch_size: 16,
            learning_rate: 1e-3,
            seed: 0,
        }
    }
}

/// A trained head (f64 weights, row-major).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    pub dim: usize,
    pub hidden: usize,
    pub n_classes: usize,
    w1: Vec<f64>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: Vec<f64>,
    /// Mean training cross-entropy of each epoch (the loss curve).
    pub loss_per_epoch: Vec<f64>,
}

struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    fn new(n: usize) -> Self {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }
}

fn adam_step(params: &mut [&mut [f64]], grads: &[&[f64]], opt: &mut [Adam], lr: f64) {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;
    const EPS: f64 = 1e-7;
    for ((p, g), o) in params.iter_mut().zip(grads).zip(opt.iter_mut()) {
        o.t += 1;
        let (c1, c2) = (1.0 - B1.powi(o.t), 1.0 - B2.powi(o.t));
        for (((w, &gi), m), v) in p.iter_mut().zip(*g).zip(&mut o.m).zip(&mut o.v) {
            *m = B1 * *m + (1.0 - B1) * gi;
            *v = B2 * *v + (1.0 - B2) * gi * gi;
            *w -= lr * (*m / c1) / ((*v / c2).sqrt() + EPS);
        }
    }
}

fn glorot(rng: &mut ChaCha8Rng, fan_in: usize, fan_out: usize) -> Vec<f64> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
    (0..fan_in * fan_out)
        .map(|_| rng.gen_range(-limit..limit))
        .collect()
}

impl Mlp {
    /// Checks that the weights have the shapes `dim`, `hidden` and `n_classes` say (a head
    /// read from a file might not).
    fn check_shapes(&self) -> Result<()> {
        let (d, h, k) = (self.dim, self.hidden, self.n_classes);
        for (what, got, expected) in [
            ("hidden weights", self.w1.len(), d * h),
            ("hidden biases", self.b1.len(), h),
            ("output weights", self.w2.len(), h * k),
            ("output biases", self.b2.len(), k),
        ] {
            if got != expected || expected == 0 {
                return Err(Error::LengthMismatch {
                    what: format!("MLP head {what} ({d} inputs, {h} hidden, {k} classes)"),
                    expected,
                    got,
                });
            }
        }
        Ok(())
    }

    /// Hidden activations and class probabilities of one row (shapes checked by
    /// [`Mlp::check_shapes`]: `h` has `hidden` values, `p` has `n_classes`).
    fn forward(&self, x: &[f32], h: &mut [f64], p: &mut [f64]) {
        for ((hj, w), b) in h
            .iter_mut()
            .zip(self.w1.chunks_exact(self.dim))
            .zip(&self.b1)
        {
            let z = b + w.iter().zip(x).map(|(a, &b)| a * f64::from(b)).sum::<f64>();
            *hj = z.max(0.0);
        }
        for ((pc, w), b) in p
            .iter_mut()
            .zip(self.w2.chunks_exact(self.hidden))
            .zip(&self.b2)
        {
            *pc = b + w.iter().zip(h.iter()).map(|(a, b)| a * b).sum::<f64>();
        }
        let max = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        p.iter_mut().for_each(|v| *v = (*v - max).exp());
        let sum: f64 = p.iter().sum();
        p.iter_mut().for_each(|v| *v /= sum);
    }

    /// Class probabilities, row-major `rows x n_classes`.
    pub fn predict_proba(&self, x: Features<'_>) -> Result<Vec<f64>> {
        if x.dim() != self.dim {
            return Err(Error::LengthMismatch {
                what: "feature dimension vs trained head".into(),
                expected: self.dim,
                got: x.dim(),
            });
        }
        self.check_shapes()?;
        let mut h = vec![0.0; self.hidden];
        let mut out = vec![0.0; x.rows() * self.n_classes];
        for (row, p) in x
            .values()
            .chunks_exact(self.dim)
            .zip(out.chunks_exact_mut(self.n_classes))
        {
            self.forward(row, &mut h, p);
        }
        Ok(out)
    }
}

/// Trains the head. `on_epoch(epoch, mean_loss)` is called after every epoch; return
/// `false` from it to stop early (cancel).
pub fn fit(
    x: Features<'_>,
    y: &[usize],
    n_classes: usize,
    cfg: &MlpConfig,
    mut on_epoch: impl FnMut(usize, f64) -> bool,
) -> Result<Mlp> {
    let n = x.rows();
    check_labels(y, n, n_classes, "labels vs feature rows")?;
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "training rows",
            value: "0".into(),
            why: "an MLP head needs training samples",
        });
    }
    for (name, v) in [
        ("hidden units", cfg.hidden),
        ("epochs", cfg.epochs),
        ("batch size", cfg.batch_size),
    ] {
        if v == 0 {
            return Err(Error::InvalidParameter {
                name,
                value: "0".into(),
                why: "must be at least 1",
            });
        }
    }
    if !(cfg.learning_rate.is_finite() && cfg.learning_rate > 0.0) {
        return Err(Error::InvalidParameter {
            name: "learning rate",
            value: cfg.learning_rate.to_string(),
            why: "must be a positive finite number",
        });
    }
    let (d, hdim, k) = (x.dim(), cfg.hidden, n_classes);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut model = Mlp {
        dim: d,
        hidden: hdim,
        n_classes: k,
        w1: glorot(&mut rng, d, hdim),
        b1: vec![0.0; hdim],
        w2: glorot(&mut rng, hdim, k),
        b2: vec![0.0; k],
        loss_per_epoch: Vec::with_capacity(cfg.epochs),
    };
    let mut opt: Vec<Adam> = [d * hdim, hdim, hdim * k, k]
        .iter()
        .map(|&n| Adam::new(n))
        .collect();
    let (mut gw1, mut gb1) = (vec![0.0; d * hdim], vec![0.0; hdim]);
    let (mut gw2, mut gb2) = (vec![0.0; hdim * k], vec![0.0; k]);
    let (mut h, mut p, mut dh) = (vec![0.0; hdim], vec![0.0; k], vec![0.0; hdim]);
    // (row, label) pairs, shuffled in place: the same permutation as shuffling indices.
    let mut order: Vec<(&[f32], usize)> =
        x.values().chunks_exact(d).zip(y.iter().copied()).collect();
    for epoch in 0..cfg.epochs {
        order.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        for batch in order.chunks(cfg.batch_size) {
            for g in [&mut gw1, &mut gb1, &mut gw2, &mut gb2] {
                g.iter_mut().for_each(|v| *v = 0.0);
            }
            let scale = 1.0 / batch.len() as f64;
            for &(xi, yi) in batch {
                model.forward(xi, &mut h, &mut p);
                let py = p.get_mut(yi).ok_or_else(|| label_outside(yi))?;
                loss_sum -= py.max(f64::MIN_POSITIVE).ln();
                *py -= 1.0;
                dh.iter_mut().for_each(|v| *v = 0.0);
                for (((&pc, gb), w), gw) in p
                    .iter()
                    .zip(gb2.iter_mut())
                    .zip(model.w2.chunks_exact(hdim))
                    .zip(gw2.chunks_exact_mut(hdim))
                {
                    let dz = pc * scale;
                    *gb += dz;
                    for ((g, hj), (dhj, wj)) in gw.iter_mut().zip(&h).zip(dh.iter_mut().zip(w)) {
                        *g += dz * hj;
                        *dhj += dz * wj;
                    }
                }
                for (((&hj, &dhj), gb), gw) in h
                    .iter()
                    .zip(&dh)
                    .zip(gb1.iter_mut())
                    .zip(gw1.chunks_exact_mut(d))
                {
                    if hj <= 0.0 {
                        continue;
                    }
                    *gb += dhj;
                    gw.iter_mut()
                        .zip(xi)
                        .for_each(|(g, &xv)| *g += dhj * f64::from(xv));
                }
            }
            adam_step(
                &mut [&mut model.w1, &mut model.b1, &mut model.w2, &mut model.b2],
                &[&gw1, &gb1, &gw2, &gb2],
                &mut opt,
                cfg.learning_rate,
            );
        }
        let loss = loss_sum / n as f64;
        model.loss_per_epoch.push(loss);
        if !on_epoch(epoch + 1, loss) {
            break;
        }
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_xor_and_is_seeded() {
        let x = [0.0f32, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
        let y = [0, 1, 1, 0];
        let feats = Features::new(&x, 2, "x").unwrap();
        let cfg = MlpConfig {
            epochs: 1500,
            batch_size: 4,
            learning_rate: 0.01,
            ..Default::default()
        };
        let a = fit(feats, &y, 2, &cfg, |_, _| true).unwrap();
        let b = fit(feats, &y, 2, &cfg, |_, _| true).unwrap();
        assert_eq!(a, b);
        let first = a.loss_per_epoch[0];
        let last = a.loss_per_epoch[a.loss_per_epoch.len() - 1];
        assert!(last < 0.1 * first, "loss {first} -> {last}");
        let p = a.predict_proba(feats).unwrap();
        assert_eq!(crate::probe::argmax_rows(&p, 2), vec![0, 1, 1, 0]);
    }
}
