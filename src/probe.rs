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
    /// Gradient tolerance on the scaled objective (default 1e-6: tighter than
    /// scikit-learn's 1e-4, so that the optimum, not the solver path, sets the result and
    /// the page and the CLI agree although wasm and native embeddings differ in the last bits).
    pub tol: f64,
}

impl Default for LogRegConfig {
    fn default() -> Self {
        LogRegConfig {
            c: 1.0,
            max_iter: 1000,
            tol: 1e-6,
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
    /// scikit-learn's unscaled objective after each iteration (`iterations` values; the
    /// loss curve of the fit).
    pub loss_per_iteration: Vec<f64>,
}

/// Features as one row-major matrix.
#[derive(Debug, Clone, Copy)]
pub struct Features<'a> {
    values: &'a [f32],
    dim: usize,
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
        if let Some((pos, &bad)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: what.to_string(),
                row: pos / dim,
                col: pos % dim,
                value: f64::from(bad),
            });
        }
        Ok(Features { values, dim })
    }

    /// The values, row-major.
    pub fn values(&self) -> &'a [f32] {
        self.values
    }

    /// Values per row (at least 1).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.dim
    }

    /// The rows, in order.
    pub fn row_iter(&self) -> std::slice::ChunksExact<'a, f32> {
        self.values.chunks_exact(self.dim)
    }

    /// Copies of the rows `rows`, row-major; a row outside the matrix is an error.
    pub fn gather(&self, rows: &[usize]) -> Result<Vec<f32>> {
        gather_rows(self.values, self.dim, rows)
    }
}

/// Copies of the rows `rows` of the row-major matrix `values` (`dim` values a row); a
/// row outside the matrix is an error.
pub fn gather_rows(values: &[f32], dim: usize, rows: &[usize]) -> Result<Vec<f32>> {
    let n = values.len().checked_div(dim).unwrap_or(0);
    let mut out = Vec::with_capacity(rows.len().saturating_mul(dim));
    for &r in rows {
        let row = r
            .checked_mul(dim)
            .and_then(|start| values.get(start..start.checked_add(dim)?))
            .ok_or_else(|| row_outside(r, n))?;
        out.extend_from_slice(row);
    }
    Ok(out)
}

/// `values[r]` for every `r` in `rows`; a row outside is an error.
pub fn pick<T: Copy>(values: &[T], rows: &[usize]) -> Result<Vec<T>> {
    rows.iter()
        .map(|&r| {
            values
                .get(r)
                .copied()
                .ok_or_else(|| row_outside(r, values.len()))
        })
        .collect()
}

fn row_outside(row: usize, n: usize) -> Error {
    Error::InvalidValue {
        name: "row",
        value: row.to_string(),
        why: format!("outside the {n} rows"),
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

/// The optimisation problem, with features centred on their mean: the intercept is
/// not penalised, so `W (x - mean) + b` has the same optimum as `W x + b'` with
/// `b' = b - W mean`, and L-BFGS converges in far fewer iterations.
struct Problem<'a> {
    x: Features<'a>,
    mean: Vec<f64>,
    y: &'a [usize],
    k: usize,
    c: f64,
}

impl Problem<'_> {
    fn n_params(&self) -> usize {
        self.k * (self.x.dim + 1)
    }

    /// Scaled objective and its gradient at `w` (coefficients, then intercepts).
    ///
    /// The rows are taken `ROWS` at a time, straight from the f32 features (each value is
    /// widened to f64 in a register where it is used; products and sums are f64): the block's
    /// `k x ROWS` logits come from [`block_logits`], four rows and two classes at a time, and
    /// each gradient row is updated once per four rows ([`block_gradient`]).
    fn eval(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        let (k, d) = (self.k, self.x.dim);
        let n = self.x.rows();
        let (coef, intercept_c) = w.split_at(k * d);
        let intercept: Vec<f64> = intercept_c
            .iter()
            .zip(coef.chunks_exact(d))
            .map(|(b, wc)| b - dot(wc, &self.mean))
            .collect();
        grad.iter_mut().for_each(|g| *g = 0.0);
        let (g_coef, g_int) = grad.split_at_mut(k * d);
        // `z[c][r]`: the logit of class `c` for row `r` of the block, then `p - onehot(y)`.
        let mut z = vec![[0.0f64; ROWS]; k];
        // A short last block is copied here, followed by zero rows.
        let mut padded: Vec<f32>;
        let mut loss = 0.0;
        let blocks = self.x.values().chunks(ROWS * d).zip(self.y.chunks(ROWS));
        for (mut block, labels) in blocks {
            if labels.len() < ROWS {
                padded = block.to_vec();
                padded.resize(ROWS * d, 0.0);
                block = &padded;
            }
            block_logits(coef, &intercept, block, d, &mut z);
            for (r, &yi) in labels.iter().enumerate() {
                loss += softmax_delta(&mut z, r, yi);
            }
            // The zero rows past the end of a short last block add nothing to the gradient.
            for zc in z.iter_mut() {
                zc.iter_mut().skip(labels.len()).for_each(|v| *v = 0.0);
            }
            block_gradient(&z, block, d, g_coef, g_int);
        }
        let nf = n as f64;
        let reg = 1.0 / (self.c * nf);
        let sq: f64 = coef.iter().map(|v| v * v).sum();
        for (gc, &gi) in g_coef.chunks_exact_mut(d).zip(g_int.iter()) {
            gc.iter_mut()
                .zip(&self.mean)
                .for_each(|(g, m)| *g -= gi * m);
        }
        g_coef
            .iter_mut()
            .zip(coef)
            .for_each(|(g, w)| *g = *g / nf + reg * w);
        g_int.iter_mut().for_each(|g| *g /= nf);
        loss / nf + 0.5 * reg * sq
    }
}

/// Rows per block of `Problem::eval` (a multiple of 4: the kernels take rows four at a time).
const ROWS: usize = 8;

/// The four rows `r0..r0 + 4` of a block (row-major, `d` values a row).
fn quad(block: &[f32], d: usize, r0: usize) -> [&[f32]; 4] {
    std::array::from_fn(|i| {
        let start = (r0 + i) * d;
        block.get(start..start + d).unwrap_or(&[])
    })
}

/// `z[c][r] = intercept[c] + coef_c . x_r` for the `ROWS` rows of `block` (f32, row-major,
/// `d` values a row): four rows and two classes at a time, so each coefficient is read once
/// per four rows and each feature once per two classes.
fn block_logits(coef: &[f64], intercept: &[f64], block: &[f32], d: usize, z: &mut [[f64; ROWS]]) {
    for r0 in (0..ROWS).step_by(4) {
        let x = quad(block, d, r0);
        let mut w_pairs = coef.chunks_exact(2 * d);
        let mut z_pairs = z.chunks_exact_mut(2);
        let mut b_pairs = intercept.chunks_exact(2);
        for ((w, zs), bs) in (&mut w_pairs).zip(&mut z_pairs).zip(&mut b_pairs) {
            let (w0, w1) = w.split_at(d);
            let [a0, a1] = quad_pair_dots(w0, w1, x);
            if let ([z0, z1], [b0, b1]) = (zs, bs) {
                for (i, (&s0, &s1)) in a0.iter().zip(&a1).enumerate() {
                    if let (Some(v0), Some(v1)) = (z0.get_mut(r0 + i), z1.get_mut(r0 + i)) {
                        *v0 = b0 + s0;
                        *v1 = b1 + s1;
                    }
                }
            }
        }
        let rest = w_pairs.remainder().chunks_exact(d);
        for ((w0, zc), b) in rest.zip(z_pairs.into_remainder()).zip(b_pairs.remainder()) {
            for (i, &s) in quad_dots(w0, x).iter().enumerate() {
                if let Some(v) = zc.get_mut(r0 + i) {
                    *v = b + s;
                }
            }
        }
    }
}

// The kernels below are not inlined: inlined into `Problem::eval`, LLVM left such loops
// scalar in the wasm build.

/// Lanes of the dot-product accumulators along the features (one `f64x2` in wasm).
const LANES: usize = 2;

/// `[w0 . x_r, w1 . x_r]` for the four rows `x`: the partial sums run in `LANES` lanes along
/// the features (eight accumulators), each f32 widened where it is read, summed at the end.
#[inline(never)]
fn quad_pair_dots(w0: &[f64], w1: &[f64], x: [&[f32]; 4]) -> [[f64; 4]; 2] {
    let (mut a0, mut a1) = ([[0.0f64; LANES]; 4], [[0.0f64; LANES]; 4]);
    let [x0, x1, x2, x3] = x;
    let steps = w0
        .chunks_exact(LANES)
        .zip(w1.chunks_exact(LANES))
        .zip(x0.chunks_exact(LANES))
        .zip(x1.chunks_exact(LANES))
        .zip(x2.chunks_exact(LANES))
        .zip(x3.chunks_exact(LANES));
    for (((((p, q), e0), e1), e2), e3) in steps {
        for (e, (s0, s1)) in [e0, e1, e2, e3]
            .into_iter()
            .zip(a0.iter_mut().zip(a1.iter_mut()))
        {
            let lanes = e.iter().zip(s0.iter_mut()).zip(s1.iter_mut());
            for (((&v, t0), t1), (wp, wq)) in lanes.zip(p.iter().zip(q)) {
                let v = f64::from(v);
                *t0 += wp * v;
                *t1 += wq * v;
            }
        }
    }
    [finish_dots(&a0, w0, x), finish_dots(&a1, w1, x)]
}

/// `[w0 . x_r]` for the four rows `x`, as [`quad_pair_dots`] does for two classes.
#[inline(never)]
fn quad_dots(w0: &[f64], x: [&[f32]; 4]) -> [f64; 4] {
    let mut a0 = [[0.0f64; LANES]; 4];
    let [x0, x1, x2, x3] = x;
    let steps = w0
        .chunks_exact(LANES)
        .zip(x0.chunks_exact(LANES))
        .zip(x1.chunks_exact(LANES))
        .zip(x2.chunks_exact(LANES))
        .zip(x3.chunks_exact(LANES));
    for ((((p, e0), e1), e2), e3) in steps {
        for (e, s0) in [e0, e1, e2, e3].into_iter().zip(a0.iter_mut()) {
            for ((&v, t0), wp) in e.iter().zip(s0.iter_mut()).zip(p) {
                *t0 += wp * f64::from(v);
            }
        }
    }
    finish_dots(&a0, w0, x)
}

/// The four dot products from their lanes `acc[r]`, plus the features past the last whole
/// step of `LANES`.
fn finish_dots(acc: &[[f64; LANES]; 4], w: &[f64], x: [&[f32]; 4]) -> [f64; 4] {
    let done = w.len() / LANES * LANES;
    let w_tail = w.get(done..).unwrap_or(&[]);
    let mut out = [0.0f64; 4];
    for ((o, a), xr) in out.iter_mut().zip(acc).zip(x) {
        let x_tail = xr.get(done..).unwrap_or(&[]);
        let tail: f64 = w_tail
            .iter()
            .zip(x_tail)
            .map(|(w, &v)| w * f64::from(v))
            .sum();
        *o = a.iter().sum::<f64>() + tail;
    }
    out
}

/// For row `r` of the block: replaces the logits `z[c][r]` by `p_c - [c == y]` (the
/// softmax, from the same exponentials as the log-sum-exp) and returns the row's loss
/// `logsumexp(z) - z_y`.
fn softmax_delta(z: &mut [[f64; ROWS]], r: usize, y: usize) -> f64 {
    let at = |zc: &[f64; ROWS]| zc.get(r).copied().unwrap_or(f64::NAN);
    let max = z.iter().map(at).fold(f64::NEG_INFINITY, f64::max);
    // `check_labels` ran in `fit`: every label is a class index.
    let zy = z.get(y).map_or(f64::NAN, at);
    let mut sum = 0.0;
    for v in z.iter_mut().filter_map(|zc| zc.get_mut(r)) {
        *v = (*v - max).exp();
        sum += *v;
    }
    let lse = max + sum.ln();
    let inv = 1.0 / sum;
    for (c, v) in z.iter_mut().filter_map(|zc| zc.get_mut(r)).enumerate() {
        *v = *v * inv - if c == y { 1.0 } else { 0.0 };
    }
    lse - zy
}

/// Adds the block's share to the gradient: `g_c += sum_r delta[c][r] x_r` and
/// `g_int[c] += sum_r delta[c][r]`; `block` is the `ROWS` rows, f32 row-major. Two classes
/// and four rows at a time, so each gradient row is read and written once per four rows and
/// each feature widened once per two classes.
fn block_gradient(
    delta: &[[f64; ROWS]],
    block: &[f32],
    d: usize,
    g_coef: &mut [f64],
    g_int: &mut [f64],
) {
    for (gi, dc) in g_int.iter_mut().zip(delta) {
        *gi += dc.iter().sum::<f64>();
    }
    for r0 in (0..ROWS).step_by(4) {
        let x = quad(block, d, r0);
        let coefs = |dc: &[f64; ROWS]| -> [f64; 4] {
            std::array::from_fn(|i| dc.get(r0 + i).copied().unwrap_or(0.0))
        };
        let mut g_pairs = g_coef.chunks_exact_mut(2 * d);
        let mut d_pairs = delta.chunks_exact(2);
        for (g, ds) in (&mut g_pairs).zip(&mut d_pairs) {
            let (g0, g1) = g.split_at_mut(d);
            if let [d0, d1] = ds {
                quad_pair_update(g0, g1, coefs(d0), coefs(d1), x);
            }
        }
        let rest = g_pairs.into_remainder().chunks_exact_mut(d);
        for (g0, d0) in rest.zip(d_pairs.remainder()) {
            quad_update(g0, coefs(d0), x);
        }
    }
}

/// `g0 += sum_r a[r] x_r` and `g1 += sum_r b[r] x_r` over the four rows `x`.
#[inline(never)]
fn quad_pair_update(g0: &mut [f64], g1: &mut [f64], a: [f64; 4], b: [f64; 4], x: [&[f32]; 4]) {
    let ([a0, a1, a2, a3], [b0, b1, b2, b3]) = (a, b);
    let [x0, x1, x2, x3] = x;
    let terms = g0
        .iter_mut()
        .zip(g1.iter_mut())
        .zip(x0)
        .zip(x1)
        .zip(x2)
        .zip(x3);
    for (((((s, t), &p), &q), &u), &v) in terms {
        let (p, q, u, v) = (f64::from(p), f64::from(q), f64::from(u), f64::from(v));
        *s += (a0 * p + a1 * q) + (a2 * u + a3 * v);
        *t += (b0 * p + b1 * q) + (b2 * u + b3 * v);
    }
}

/// `g0 += sum_r a[r] x_r` over the four rows `x`.
#[inline(never)]
fn quad_update(g0: &mut [f64], a: [f64; 4], x: [&[f32]; 4]) {
    let [a0, a1, a2, a3] = a;
    let [x0, x1, x2, x3] = x;
    let terms = g0.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3);
    for ((((s, &p), &q), &u), &v) in terms {
        let (p, q, u, v) = (f64::from(p), f64::from(q), f64::from(u), f64::from(v));
        *s += (a0 * p + a1 * q) + (a2 * u + a3 * v);
    }
}

/// Checks the labels of a fit: one per row, at least two classes, every label index
/// below `n_classes`. `what` names the length pair in the error.
pub fn check_labels(y: &[usize], rows: usize, n_classes: usize, what: &str) -> Result<()> {
    if y.len() != rows {
        return Err(Error::LengthMismatch {
            what: what.into(),
            expected: rows,
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
    Ok(())
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
    check_labels(y, n, n_classes, "labels vs feature rows")?;
    let mut mean = vec![0.0; x.dim];
    for row in x.row_iter() {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, &v)| *m += f64::from(v));
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
    let problem = Problem {
        x,
        mean,
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
    let unscaled = cfg.c * n as f64;
    let mut loss_per_iteration = Vec::new();
    while !converged && iterations < cfg.max_iter {
        // Two-loop recursion: direction = -H g.
        let mut q = g.clone();
        let mut alpha = vec![0.0; s_hist.len()];
        let pairs = || s_hist.iter().zip(&y_hist).zip(&rho_hist);
        for (a, ((s, yv), rho)) in alpha.iter_mut().zip(pairs()).rev() {
            *a = rho * dot(s, &q);
            axpy(-*a, yv, &mut q);
        }
        if let (Some(s), Some(yv)) = (s_hist.last(), y_hist.last()) {
            let gamma = dot(s, yv) / dot(yv, yv);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for (a, ((s, yv), rho)) in alpha.iter().zip(pairs()) {
            let beta = rho * dot(yv, &q);
            axpy(a - beta, s, &mut q);
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
        let step0 = if s_hist.is_empty() {
            (1.0 / max_abs(&g)).min(1.0)
        } else {
            1.0
        };
        let Some(found) = wolfe_search(&problem, &w, f, slope, &dir, step0) else {
            on_iter(iterations, f);
            break;
        };
        let s: Vec<f64> = found.w.iter().zip(&w).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = found.g.iter().zip(&g).map(|(a, b)| a - b).collect();
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
        w = found.w;
        g = found.g;
        f = found.f;
        iterations += 1;
        loss_per_iteration.push(unscaled * f);
        converged = max_abs(&g) <= cfg.tol
            || (f_old - f) <= 64.0 * f64::EPSILON * f_old.abs().max(f.abs()).max(1.0);
        if !on_iter(iterations, f) {
            break;
        }
    }
    let (k, d) = (n_classes, x.dim);
    let (coef, b) = w.split_at((k * d).min(w.len()));
    let intercept: Vec<f64> = b
        .iter()
        .zip(coef.chunks_exact(d))
        .map(|(bc, wc)| bc - dot(wc, &problem.mean))
        .collect();
    let coef = coef.to_vec();
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
        loss_per_iteration,
    })
}

/// A trial point of the line search.
struct Trial {
    step: f64,
    f: f64,
    slope: f64,
    w: Vec<f64>,
    g: Vec<f64>,
}

fn trial(problem: &Problem<'_>, w0: &[f64], dir: &[f64], step: f64) -> Trial {
    let w: Vec<f64> = w0.iter().zip(dir).map(|(o, d)| o + step * d).collect();
    let mut g = vec![0.0; w.len()];
    let f = problem.eval(&w, &mut g);
    let slope = dot(&g, dir);
    Trial {
        step,
        f,
        slope,
        w,
        g,
    }
}

/// Line search for a step meeting the strong Wolfe conditions (Nocedal & Wright,
/// algorithms 3.5 and 3.6, with safeguarded cubic interpolation); `None` if none is
/// found in 40 evaluations.
fn wolfe_search(
    problem: &Problem<'_>,
    w0: &[f64],
    f0: f64,
    slope0: f64,
    dir: &[f64],
    step0: f64,
) -> Option<Trial> {
    const C1: f64 = 1e-4;
    const C2: f64 = 0.9;
    let armijo = |t: &Trial| t.f.is_finite() && t.f <= f0 + C1 * t.step * slope0;
    let curvature = |t: &Trial| t.slope.abs() <= -C2 * slope0;
    let mut prev = Trial {
        step: 0.0,
        f: f0,
        slope: slope0,
        w: w0.to_vec(),
        g: Vec::new(),
    };
    let mut step = step0;
    let mut evals = 0;
    let (mut lo, mut hi) = loop {
        let t = trial(problem, w0, dir, step);
        evals += 1;
        if !armijo(&t) || (prev.step > 0.0 && t.f >= prev.f) {
            break (prev, t);
        }
        if curvature(&t) {
            return Some(t);
        }
        if t.slope >= 0.0 {
            break (t, prev);
        }
        if evals >= 40 {
            return None;
        }
        step = t.step * 2.0;
        prev = t;
    };
    while evals < 40 {
        let (a, b) = (lo.step.min(hi.step), lo.step.max(hi.step));
        let mut step = cubic_min(&lo, &hi).unwrap_or(0.5 * (lo.step + hi.step));
        let margin = 0.1 * (b - a);
        if !(step > a + margin && step < b - margin) {
            step = 0.5 * (lo.step + hi.step);
        }
        let t = trial(problem, w0, dir, step);
        evals += 1;
        if !armijo(&t) || t.f >= lo.f {
            hi = t;
        } else {
            if curvature(&t) {
                return Some(t);
            }
            if t.slope * (hi.step - lo.step) >= 0.0 {
                hi = lo;
            }
            lo = t;
        }
        if (hi.step - lo.step).abs() <= 1e-16 * lo.step.abs().max(1.0) {
            break;
        }
    }
    (lo.step > 0.0 && armijo(&lo)).then_some(lo)
}

/// Minimiser of the cubic through two trial points with their slopes, if it exists.
fn cubic_min(p: &Trial, q: &Trial) -> Option<f64> {
    let d1 = p.slope + q.slope - 3.0 * (p.f - q.f) / (p.step - q.step);
    let disc = d1 * d1 - p.slope * q.slope;
    if disc.is_nan() || disc < 0.0 {
        return None;
    }
    let d2 = (q.step - p.step).signum() * disc.sqrt();
    let step = q.step - (q.step - p.step) * (q.slope + d2 - d1) / (q.slope - p.slope + 2.0 * d2);
    step.is_finite().then_some(step)
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
        for (row, xi) in out.chunks_exact_mut(k).zip(x.row_iter()) {
            let weights = self.intercept.iter().zip(self.coef.chunks_exact(self.dim));
            for (v, (b, wc)) in row.iter_mut().zip(weights) {
                *v = b + dot_f32(wc, xi);
            }
            softmax(row);
        }
        Ok(out)
    }
}

/// Replaces class scores (logits) by their softmax, in place (max subtracted first).
pub fn softmax(row: &mut [f64]) {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    row.iter_mut().for_each(|v| *v = (*v - max).exp());
    let sum: f64 = row.iter().sum();
    row.iter_mut().for_each(|v| *v /= sum);
}

/// Index of the largest value of each row (first one on ties, as numpy's argmax).
pub fn argmax_rows(values: &[f64], n_cols: usize) -> Vec<usize> {
    values
        .chunks_exact(n_cols)
        .map(|r| crate::metrics::argmax_value(r).0)
        .collect()
}

/// `w . x` with x widened to f64, in four running sums (so the loop vectorises).
fn dot_f32(w: &[f64], x: &[f32]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (wb, xb) = (w.chunks_exact(4), x.chunks_exact(4));
    let tail: f64 = wb
        .remainder()
        .iter()
        .zip(xb.remainder())
        .map(|(a, &b)| a * f64::from(b))
        .sum();
    for (wc, xc) in wb.zip(xb) {
        for ((a, w), &x) in acc.iter_mut().zip(wc).zip(xc) {
            *a += w * f64::from(x);
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
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
    fn loss_curve_has_one_decreasing_value_per_iteration() {
        let x = [
            0.5f32, 2.0, 1.5, 3.0, 4.0, 1.0, 2.5, 0.5, 3.5, 2.0, 0.0, 1.0, 1.0, 1.0, 3.0, 3.0,
        ];
        let y = [0, 1, 2, 1, 0, 2, 0, 1];
        let feats = Features::new(&x, 2, "x").unwrap();
        let mut seen = Vec::new();
        let model = fit(feats, &y, 3, &LogRegConfig::default(), |i, f| {
            seen.push((i, f));
            true
        })
        .unwrap();
        let curve = &model.loss_per_iteration;
        assert_eq!(curve.len(), model.iterations);
        assert!(curve.len() > 2);
        assert!(curve.windows(2).all(|w| w[1] <= w[0]), "{curve:?}");
        // The reported values are the progress callback's scaled objective times C n,
        // and the last is the objective at the solution.
        let scale = LogRegConfig::default().c * y.len() as f64;
        for (i, &(step, f)) in seen.iter().take(curve.len()).enumerate() {
            assert_eq!((step, curve[i]), (i + 1, scale * f));
        }
        let last = curve[curve.len() - 1];
        assert!((last - model.objective).abs() <= 1e-9 * model.objective.abs());
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let x = [
            0.5f32, 2.0, 1.5, 3.0, 4.0, 1.0, 2.5, 0.5, 3.5, 2.0, 0.0, 1.0,
        ];
        let y = [0, 1, 2, 1, 0, 2];
        let feats = Features::new(&x, 2, "x").unwrap();
        let problem = Problem {
            x: feats,
            mean: vec![1.5, 1.2],
            y: &y,
            k: 3,
            c: 0.7,
        };
        let w: Vec<f64> = (0..problem.n_params())
            .map(|i| (i as f64 * 0.37).sin())
            .collect();
        let mut g = vec![0.0; w.len()];
        problem.eval(&w, &mut g);
        for i in 0..w.len() {
            let (mut a, mut b) = (w.clone(), w.clone());
            a[i] += 1e-6;
            b[i] -= 1e-6;
            let mut scratch = vec![0.0; w.len()];
            let fd = (problem.eval(&a, &mut scratch) - problem.eval(&b, &mut scratch)) / 2e-6;
            assert!(
                (fd - g[i]).abs() < 1e-6,
                "param {i}: analytic {} vs numeric {fd}",
                g[i]
            );
        }
    }

    /// The objective and gradient as the definition reads, one row at a time with plain
    /// loops (the formulation `eval` had before it was blocked: intercepts shifted by
    /// `-w . mean`, the mean taken off the gradient at the end).
    fn reference_eval(p: &Problem<'_>, w: &[f64]) -> (f64, Vec<f64>) {
        let (k, d, n) = (p.k, p.x.dim, p.x.rows());
        let b: Vec<f64> = (0..k)
            .map(|c| w[k * d + c] - (0..d).map(|j| w[c * d + j] * p.mean[j]).sum::<f64>())
            .collect();
        let mut g = vec![0.0; w.len()];
        let mut loss = 0.0;
        for (row, &y) in p.x.row_iter().zip(p.y) {
            let z: Vec<f64> = (0..k)
                .map(|c| {
                    b[c] + (0..d)
                        .map(|j| w[c * d + j] * f64::from(row[j]))
                        .sum::<f64>()
                })
                .collect();
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            loss += lse - z[y];
            for c in 0..k {
                let delta = (z[c] - lse).exp() - if c == y { 1.0 } else { 0.0 };
                for j in 0..d {
                    g[c * d + j] += delta * f64::from(row[j]);
                }
                g[k * d + c] += delta;
            }
        }
        let nf = n as f64;
        let reg = 1.0 / (p.c * nf);
        let mut sq = 0.0;
        for c in 0..k {
            for j in 0..d {
                let i = c * d + j;
                g[i] = (g[i] - g[k * d + c] * p.mean[j]) / nf + reg * w[i];
                sq += w[i] * w[i];
            }
        }
        for gi in &mut g[k * d..] {
            *gi /= nf;
        }
        (loss / nf + 0.5 * reg * sq, g)
    }

    #[test]
    fn blocked_eval_equals_the_row_by_row_reference() {
        // xorshift64: random data, no fixture needed (both sides compute the same sums).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        // Row counts below, not a multiple of and equal to a multiple of the block.
        for (n, d) in [(3, 5), (29, 7), (37, 12), (2 * ROWS, 3), (4 * ROWS + 1, 1)] {
            for k in [2usize, 3, 10] {
                let x: Vec<f32> = (0..n * d).map(|_| (4.0 * next() - 2.0) as f32).collect();
                let y: Vec<usize> = (0..n)
                    .map(|_| ((next() * k as f64) as usize).min(k - 1))
                    .collect();
                let feats = Features::new(&x, d, "x").unwrap();
                let mut mean = vec![0.0; d];
                for row in feats.row_iter() {
                    mean.iter_mut()
                        .zip(row)
                        .for_each(|(m, &v)| *m += f64::from(v) / n as f64);
                }
                let problem = Problem {
                    x: feats,
                    mean,
                    y: &y,
                    k,
                    c: 0.3 + next(),
                };
                let w: Vec<f64> = (0..problem.n_params())
                    .map(|_| 2.0 * next() - 1.0)
                    .collect();
                let mut g = vec![f64::NAN; w.len()];
                let f = problem.eval(&w, &mut g);
                let (f_ref, g_ref) = reference_eval(&problem, &w);
                let scale = max_abs(&g_ref);
                assert!(f_ref > 0.0 && scale > 0.0);
                assert!(
                    (f - f_ref).abs() <= 1e-12 * f_ref,
                    "n {n} d {d} k {k}: objective {f} vs {f_ref}"
                );
                // Relative to the largest component: components near zero are differences
                // of larger sums, and any summation order moves them by that sum's rounding.
                for (i, (a, b)) in g.iter().zip(&g_ref).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-12 * scale,
                        "n {n} d {d} k {k}: gradient {i}: {a} vs {b}"
                    );
                }
            }
        }
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
