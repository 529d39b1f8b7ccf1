//! Multinomial logistic-regression probe: L2 penalty, L-BFGS, f64 arithmetic.
//!
//! Minimises scikit-learn's objective `C * sum_i -log p(y_i | x_i) + 0.5 * ||W||^2`
//! (intercept not penalised), scaled by `1 / (C n)` as scikit-learn's lbfgs path does,
//! and stops when the largest gradient component of the scaled objective is below `tol`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Settings of the logistic-regression probe; defaults are scikit-learn's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogRegConfig {
    /// Inverse regularisation strength (default 1.0).
    pub c: f64,
    /// Iteration limit (default 1000, as in the CLIP linear-probe protocol).
    pub max_iter: usize,
    /// Gradient tolerance on the scaled objective (default 1e-4, scikit-learn's `tol`).
    pub tol: f64,
}

impl Default for LogRegConfig {
    fn default() -> Self {
        LogRegConfig {
            c: 1.0,
            max_iter: 1000,
            tol: 1e-4,
        }
    }
}

/// A fitted probe: `n_classes` rows of `dim` weights and one intercept each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogReg {
    pub n_classes: usize,
    pub dim: usize,
    /// Row-major `n_classes x dim`.
    pub coef: Vec<f64>,
    pub intercept: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
    /// scikit-learn's unscaled objective at the solution.
    pub objective: f64,
}

/// Features as one row-major matrix.
#[derive(Debug, Clone, Copy)]
pub struct Features<'a> {
    pub values: &'a [f32],
    pub dim: usize,
}

impl<'a> Features<'a> {
    /// Checks the shape and that every value is finite.
    pub fn new(values: &'a [f32], dim: usize, what: &str) -> Result<Self> {
        if dim == 0 || values.len() % dim != 0 {
            return Err(Error::LengthMismatch {
                what: format!("{what}: values per row"),
                expected: dim,
                got: values.len(),
            });
        }
        if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: what.to_string(),
                row: pos / dim,
                col: pos % dim,
                value: f64::from(values[pos]),
            });
        }
        Ok(Features { values, dim })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.dim
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }
}

fn check_config(cfg: &LogRegConfig) -> Result<()> {
    if !(cfg.c.is_finite() && cfg.c > 0.0) {
        return Err(Error::InvalidParameter {
            name: "C",
            value: cfg.c.to_string(),
            why: "must be a positive finite number",
        });
    }
    if !(cfg.tol.is_finite() && cfg.tol > 0.0) {
        return Err(Error::InvalidParameter {
            name: "tol",
            value: cfg.tol.to_string(),
            why: "must be a positive finite number",
        });
    }
    if cfg.max_iter == 0 {
        return Err(Error::InvalidParameter {
            name: "max_iter",
            value: "0".into(),
            why: "must be at least 1",
        });
    }
    Ok(())
}

struct Problem<'a> {
    x: Features<'a>,
    y: &'a [usize],
    k: usize,
    c: f64,
}

impl Problem<'_> {
    fn n_params(&self) -> usize {
        self.k * (self.x.dim + 1)
    }

    /// Scaled objective and its gradient at `w` (coefficients, then intercepts).
    fn eval(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        let (k, d) = (self.k, self.x.dim);
        let n = self.x.rows();
        let (coef, intercept) = w.split_at(k * d);
        grad.iter_mut().for_each(|g| *g = 0.0);
        let (g_coef, g_int) = grad.split_at_mut(k * d);
        let mut z = vec![0.0f64; k];
        let mut loss = 0.0;
        for i in 0..n {
            let xi = self.x.row(i);
            for (c, zc) in z.iter_mut().enumerate() {
                let wc = &coef[c * d..(c + 1) * d];
                *zc = intercept[c]
                    + wc.iter()
                        .zip(xi)
                        .map(|(a, &b)| a * f64::from(b))
                        .sum::<f64>();
            }
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
            let lse = max + sum.ln();
            loss += lse - z[self.y[i]];
            for (c, &zc) in z.iter().enumerate() {
                let delta = (zc - lse).exp() - if c == self.y[i] { 1.0 } else { 0.0 };
                g_int[c] += delta;
                g_coef[c * d..(c + 1) * d]
                    .iter_mut()
                    .zip(xi)
                    .for_each(|(g, &x)| *g += delta * f64::from(x));
            }
        }
        let nf = n as f64;
        let reg = 1.0 / (self.c * nf);
        let sq: f64 = coef.iter().map(|v| v * v).sum();
        g_coef
            .iter_mut()
            .zip(coef)
            .for_each(|(g, w)| *g = *g / nf + reg * w);
        g_int.iter_mut().for_each(|g| *g /= nf);
        loss / nf + 0.5 * reg * sq
    }
}

/// Fits the probe. `on_iter(iteration, scaled_objective)` is called after every
/// iteration; return `false` from it to stop early (cancel).
pub fn fit(
    x: Features<'_>,
    y: &[usize],
    n_classes: usize,
    cfg: &LogRegConfig,
    mut on_iter: impl FnMut(usize, f64) -> bool,
) -> Result<LogReg> {
    check_config(cfg)?;
    let n = x.rows();
    if y.len() != n {
        return Err(Error::LengthMismatch {
            what: "labels vs feature rows".into(),
            expected: n,
            got: y.len(),
        });
    }
    if n_classes < 2 {
        return Err(Error::TooFewClasses {
            count: n_classes,
            classes: String::new(),
        });
    }
    if let Some(&bad) = y.iter().find(|&&l| l >= n_classes) {
        return Err(Error::InvalidParameter {
            name: "label index",
            value: bad.to_string(),
            why: "outside the class list",
        });
    }
    let problem = Problem {
        x,
        y,
        k: n_classes,
        c: cfg.c,
    };
    let p = problem.n_params();
    let mut w = vec![0.0; p];
    let mut g = vec![0.0; p];
    let mut f = problem.eval(&w, &mut g);
    const M: usize = 10;
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(M);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(M);
    let mut rho_hist: Vec<f64> = Vec::with_capacity(M);
    let mut converged = max_abs(&g) <= cfg.tol;
    let mut iterations = 0;
    let mut w_new = vec![0.0; p];
    let mut g_new = vec![0.0; p];
    while !converged && iterations < cfg.max_iter {
        // Two-loop recursion: direction = -H g.
        let mut q = g.clone();
        let mut alpha = vec![0.0; s_hist.len()];
        for i in (0..s_hist.len()).rev() {
            alpha[i] = rho_hist[i] * dot(&s_hist[i], &q);
            axpy(-alpha[i], &y_hist[i], &mut q);
        }
        if let (Some(s), Some(yv)) = (s_hist.last(), y_hist.last()) {
            let gamma = dot(s, yv) / dot(yv, yv);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..s_hist.len() {
            let beta = rho_hist[i] * dot(&y_hist[i], &q);
            axpy(alpha[i] - beta, &s_hist[i], &mut q);
        }
        let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&dir, &g);
        if slope >= 0.0 {
            dir = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
            s_hist.clear();
            y_hist.clear();
            rho_hist.clear();
        }
        let mut step = if s_hist.is_empty() {
            (1.0 / max_abs(&g)).min(1.0)
        } else {
            1.0
        };
        let mut accepted = false;
        for _ in 0..60 {
            w_new
                .iter_mut()
                .zip(&w)
                .zip(&dir)
                .for_each(|((n, &o), &d)| *n = o + step * d);
            let f_new = problem.eval(&w_new, &mut g_new);
            if f_new.is_finite() && f_new <= f + 1e-4 * step * slope {
                accepted = true;
                let s: Vec<f64> = w_new.iter().zip(&w).map(|(a, b)| a - b).collect();
                let yv: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &yv);
                if sy > 1e-12 * dot(&yv, &yv).max(f64::MIN_POSITIVE) {
                    if s_hist.len() == M {
                        s_hist.remove(0);
                        y_hist.remove(0);
                        rho_hist.remove(0);
                    }
                    s_hist.push(s);
                    y_hist.push(yv);
                    rho_hist.push(1.0 / sy);
                }
                let f_old = f;
                std::mem::swap(&mut w, &mut w_new);
                std::mem::swap(&mut g, &mut g_new);
                f = f_new;
                iterations += 1;
                converged = max_abs(&g) <= cfg.tol
                    || (f_old - f) <= 64.0 * f64::EPSILON * f_old.abs().max(f.abs()).max(1.0);
                break;
            }
            step *= 0.5;
        }
        if !on_iter(iterations, f) || !accepted {
            break;
        }
    }
    let (k, d) = (n_classes, x.dim);
    let coef = w[..k * d].to_vec();
    let intercept = w[k * d..].to_vec();
    let sq: f64 = coef.iter().map(|v| v * v).sum();
    let objective = cfg.c * n as f64 * (f - 0.5 * sq / (cfg.c * n as f64)) + 0.5 * sq;
    Ok(LogReg {
        n_classes: k,
        dim: d,
        coef,
        intercept,
        iterations,
        converged,
        objective,
    })
}

impl LogReg {
    /// Class probabilities, row-major `rows x n_classes`.
    pub fn predict_proba(&self, x: Features<'_>) -> Result<Vec<f64>> {
        if x.dim != self.dim {
            return Err(Error::LengthMismatch {
                what: "feature dimension vs fitted probe".into(),
                expected: self.dim,
                got: x.dim,
            });
        }
        let k = self.n_classes;
        let mut out = vec![0.0; x.rows() * k];
        for (i, row) in out.chunks_exact_mut(k).enumerate() {
            let xi = x.row(i);
            for (c, v) in row.iter_mut().enumerate() {
                let wc = &self.coef[c * self.dim..(c + 1) * self.dim];
                *v = self.intercept[c]
                    + wc.iter()
                        .zip(xi)
                        .map(|(a, &b)| a * f64::from(b))
                        .sum::<f64>();
            }
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            row.iter_mut().for_each(|v| *v = (*v - max).exp());
            let sum: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        Ok(out)
    }
}

/// Index of the largest value of each row (first one on ties, as numpy's argmax).
pub fn argmax_rows(values: &[f64], n_cols: usize) -> Vec<usize> {
    values
        .chunks_exact(n_cols)
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(yi, xi)| *yi += a * xi);
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separable_points_are_learned() {
        let x = [0.0f32, 0.0, 0.1, 0.0, 1.0, 1.0, 0.9, 1.0];
        let feats = Features::new(&x, 2, "x").unwrap();
        let model = fit(feats, &[0, 0, 1, 1], 2, &LogRegConfig::default(), |_, _| {
            true
        })
        .unwrap();
        let p = model.predict_proba(feats).unwrap();
        assert_eq!(argmax_rows(&p, 2), vec![0, 0, 1, 1]);
        assert!(model.converged);
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let x = [0.0f32, 1.0];
        let feats = Features::new(&x, 1, "x").unwrap();
        let cfg = LogRegConfig {
            c: -1.0,
            ..Default::default()
        };
        assert!(matches!(
            fit(feats, &[0, 1], 2, &cfg, |_, _| true),
            Err(Error::InvalidParameter { name: "C", .. })
        ));
        assert!(matches!(
            Features::new(&[f32::NAN, 0.0], 1, "x"),
            Err(Error::NonFinite { row: 0, .. })
        ));
    }
}
