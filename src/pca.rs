//! Principal component analysis to two dimensions for the embedding map: scikit-learn's
//! `PCA(n_components=2)` (centred, no whitening), computed without forming the covariance:
//! subspace iteration on `Xcᵀ Xc` with a Rayleigh–Ritz step, in f64. Signs follow
//! scikit-learn's `svd_flip(u_based_decision=False)`: the entry of largest magnitude of each
//! component is positive.

use serde::Serialize;

use crate::error::{Error, Result};

/// Components computed.
pub const COMPONENTS: usize = 2;
/// Extra vectors iterated beside the two wanted (faster convergence when eigenvalues are close).
const OVERSAMPLE: usize = 8;
/// Stop when every wanted Ritz pair has `‖A v − θ v‖ ≤ TOL · θ₁`.
const TOL: f64 = 1e-13;
/// Iteration limit; the result is still returned, with `converged: false`.
const MAX_ITER: usize = 3000;

/// A two-component PCA of `n` rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pca {
    /// Projected rows, row-major `n x 2` (`x·c₁`, `x·c₂` of each centred row).
    pub coords: Vec<f64>,
    /// The two unit components, row-major `2 x dim`.
    pub components: Vec<f64>,
    /// Variance along each component (`ddof = 1`, scikit-learn's `explained_variance_`).
    pub explained_variance: [f64; 2],
    /// Share of the total variance along each component (`explained_variance_ratio_`).
    pub explained_variance_ratio: [f64; 2],
    pub n: usize,
    pub dim: usize,
    pub iterations: usize,
    pub converged: bool,
}

/// `Xcᵀ (Xc q)` for each of the `p` column vectors in `q` (`dim x p`, column-major).
fn apply(xc: &[f64], n: usize, dim: usize, q: &[f64], p: usize) -> Vec<f64> {
    let mut out = vec![0.0; dim * p];
    for row in xc.chunks_exact(dim).take(n) {
        for (col, o) in q.chunks_exact(dim).zip(out.chunks_exact_mut(dim)).take(p) {
            let s: f64 = row.iter().zip(col).map(|(a, b)| a * b).sum();
            if s != 0.0 {
                for (o, a) in o.iter_mut().zip(row) {
                    *o += s * a;
                }
            }
        }
    }
    out
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Orthonormalises the `p` columns (`dim` long) in place by modified Gram–Schmidt, twice.
/// A column that vanishes is replaced by a unit vector not yet spanned.
fn orthonormalise(q: &mut [f64], dim: usize, p: usize) {
    for j in 0..p {
        let (done, rest) = q.split_at_mut((j * dim).min(q.len()));
        let Some(qj) = rest.get_mut(..dim) else {
            return;
        };
        for _pass in 0..2 {
            for qk in done.chunks_exact(dim) {
                let r = dot(qk, qj);
                for (a, b) in qj.iter_mut().zip(qk) {
                    *a -= r * b;
                }
            }
        }
        let norm = dot(qj, qj).sqrt();
        if norm > 1e-300 {
            for v in qj.iter_mut() {
                *v /= norm;
            }
        } else {
            // Rank-deficient: continue with a basis vector orthogonal to the others.
            for e in 0..dim {
                let mut cand = vec![0.0; dim];
                if let Some(c) = cand.get_mut(e) {
                    *c = 1.0;
                }
                for qk in done.chunks_exact(dim) {
                    let r = dot(qk, &cand);
                    for (a, b) in cand.iter_mut().zip(qk) {
                        *a -= r * b;
                    }
                }
                let nn = dot(&cand, &cand).sqrt();
                if nn > 1e-8 {
                    for (d, c) in qj.iter_mut().zip(&cand) {
                        *d = c / nn;
                    }
                    break;
                }
            }
        }
    }
}

/// Eigen-decomposition of a symmetric `p x p` matrix (row-major) by cyclic Jacobi rotations:
/// eigenvalues in decreasing order and the matching eigenvectors as columns (row-major `p x p`).
/// The matrix is symmetrised first (`(B + Bᵀ) / 2`). Indexing is kept here, the textbook form
/// of the rotation: every index is below `p` by the loop bounds and `a` is `p x p` (checked).
#[allow(clippy::indexing_slicing)]
fn symmetric_eigen(a: &[f64], p: usize) -> (Vec<f64>, Vec<f64>) {
    if a.len() != p * p {
        return (vec![0.0; p], vec![0.0; p * p]);
    }
    let mut m = a.to_vec();
    for i in 0..p {
        for j in i + 1..p {
            let s = 0.5 * (m[i * p + j] + m[j * p + i]);
            m[i * p + j] = s;
            m[j * p + i] = s;
        }
    }
    let mut v = vec![0.0; p * p];
    for i in 0..p {
        v[i * p + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..p)
            .flat_map(|i| (0..p).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * p + j] * m[i * p + j])
            .sum();
        let diag: f64 = (0..p).map(|i| m[i * p + i] * m[i * p + i]).sum();
        if off <= 1e-30 * diag.max(f64::MIN_POSITIVE) {
            break;
        }
        for i in 0..p {
            for j in i + 1..p {
                let aij = m[i * p + j];
                if aij == 0.0 {
                    continue;
                }
                let theta = (m[j * p + j] - m[i * p + i]) / (2.0 * aij);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..p {
                    let (mki, mkj) = (m[k * p + i], m[k * p + j]);
                    m[k * p + i] = c * mki - s * mkj;
                    m[k * p + j] = s * mki + c * mkj;
                }
                for k in 0..p {
                    let (mik, mjk) = (m[i * p + k], m[j * p + k]);
                    m[i * p + k] = c * mik - s * mjk;
                    m[j * p + k] = s * mik + c * mjk;
                }
                for k in 0..p {
                    let (vki, vkj) = (v[k * p + i], v[k * p + j]);
                    v[k * p + i] = c * vki - s * vkj;
                    v[k * p + j] = s * vki + c * vkj;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|&a, &b| m[b * p + b].total_cmp(&m[a * p + a]));
    let values = order.iter().map(|&i| m[i * p + i]).collect();
    let mut vectors = vec![0.0; p * p];
    for (new, &old) in order.iter().enumerate() {
        for k in 0..p {
            vectors[k * p + new] = v[k * p + old];
        }
    }
    (values, vectors)
}

/// `q · w` for `q` (`dim x p`, column-major) and column `col` of `w` (`p x p`, row-major).
fn combine(q: &[f64], dim: usize, p: usize, w: &[f64], col: usize) -> Vec<f64> {
    let mut out = vec![0.0; dim];
    for (qk, wk) in q.chunks_exact(dim).zip(w.chunks_exact(p)) {
        let c = wk.get(col).copied().unwrap_or(0.0);
        for (o, a) in out.iter_mut().zip(qk) {
            *o += c * a;
        }
    }
    out
}

/// The number of rows of `dim` values in row-major `x`; an error when they do not divide.
pub(crate) fn whole_rows(x: &[f32], dim: usize) -> Result<usize> {
    if dim == 0 || x.len() % dim != 0 {
        return Err(Error::InvalidValue {
            name: "embedding dimension",
            value: dim.to_string(),
            why: format!("{} values do not make whole rows of {dim}", x.len()),
        });
    }
    Ok(x.len() / dim)
}

/// An error naming the first non-finite value of row-major `x` (rows of `dim`), if any.
pub(crate) fn all_finite(x: &[f32], dim: usize, what: &str) -> Result<()> {
    match x.iter().position(|v| !v.is_finite()) {
        Some(pos) => Err(Error::NonFinite {
            what: what.into(),
            row: pos / dim.max(1),
            col: pos % dim.max(1),
            value: x.get(pos).map_or(f64::NAN, |&v| f64::from(v)),
        }),
        None => Ok(()),
    }
}

/// Two-component PCA of `x` (row-major, `x.len() / dim` rows), like scikit-learn's
/// `PCA(n_components=2).fit_transform(x)` up to floating-point rounding.
pub fn pca2(x: &[f32], dim: usize) -> Result<Pca> {
    let n = whole_rows(x, dim)?;
    if n < 2 {
        return Err(Error::InvalidValue {
            name: "rows",
            value: n.to_string(),
            why: "PCA needs at least 2 rows".into(),
        });
    }
    all_finite(x, dim, "embeddings")?;
    let mut mean = vec![0.0f64; dim];
    for row in x.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let xc: Vec<f64> = x
        .chunks_exact(dim)
        .flat_map(|row| row.iter().zip(&mean).map(|(&v, m)| f64::from(v) - m))
        .collect();
    let total_var = xc.iter().map(|v| v * v).sum::<f64>() / (n - 1) as f64;

    // Subspace iteration on A = Xcᵀ Xc with p vectors, started from a fixed deterministic block.
    let p = (COMPONENTS + OVERSAMPLE).min(dim).min(n);
    let mut q: Vec<f64> = (0..p * dim)
        .map(|i| {
            let (j, k) = (i / dim, i % dim);
            // A fixed pseudo-random start (no RNG: the same on every platform).
            ((k as f64 + 1.0) * (j as f64 * 0.618_033_988_75 + 0.414_213_562_37)).sin()
        })
        .collect();
    orthonormalise(&mut q, dim, p);
    let want = COMPONENTS.min(p);
    let mut iterations = 0;
    let mut converged = false;
    let mut ritz_values = vec![0.0; p];
    let mut ritz_vectors = vec![0.0; p * p];
    while iterations < MAX_ITER {
        iterations += 1;
        let y = apply(&xc, n, dim, &q, p);
        let b: Vec<f64> = q
            .chunks_exact(dim)
            .flat_map(|qi| y.chunks_exact(dim).map(move |yj| dot(qi, yj)))
            .collect();
        let (vals, vecs) = symmetric_eigen(&b, p);
        ritz_values = vals;
        ritz_vectors = vecs;
        let scale = ritz_values.first().copied().unwrap_or(0.0).abs();
        let done = scale == 0.0
            || (0..want).zip(&ritz_values).all(|(c, &theta)| {
                let av = combine(&y, dim, p, &ritz_vectors, c);
                let v = combine(&q, dim, p, &ritz_vectors, c);
                let r: f64 = av
                    .iter()
                    .zip(&v)
                    .map(|(a, b)| (a - theta * b).powi(2))
                    .sum::<f64>()
                    .sqrt();
                r <= TOL * scale
            });
        if done {
            converged = true;
            // Keep q: the Ritz vectors of this q are the answer.
            break;
        }
        q = y;
        orthonormalise(&mut q, dim, p);
    }

    let mut components = vec![0.0; COMPONENTS * dim];
    let mut explained_variance = [0.0; 2];
    let slots = components
        .chunks_exact_mut(dim)
        .zip(explained_variance.iter_mut())
        .zip(&ritz_values);
    for (c, ((component, variance), &theta)) in slots.enumerate().take(want) {
        let mut v = combine(&q, dim, p, &ritz_vectors, c);
        let norm = dot(&v, &v).sqrt();
        if norm > 0.0 {
            for a in &mut v {
                *a /= norm;
            }
        }
        // svd_flip(u_based_decision=False): the largest |entry| (first on ties) is positive.
        let (mut best, mut arg) = (-1.0, 0);
        for (i, a) in v.iter().enumerate() {
            if a.abs() > best {
                best = a.abs();
                arg = i;
            }
        }
        if v.get(arg).is_some_and(|&a| a < 0.0) {
            for a in &mut v {
                *a = -*a;
            }
        }
        component.copy_from_slice(&v);
        *variance = theta.max(0.0) / (n - 1) as f64;
    }
    let mut coords = Vec::with_capacity(n * COMPONENTS);
    for row in xc.chunks_exact(dim) {
        for component in components.chunks_exact(dim) {
            coords.push(dot(row, component));
        }
    }
    let ratio = |v: f64| if total_var > 0.0 { v / total_var } else { 0.0 };
    Ok(Pca {
        coords,
        components,
        explained_variance,
        explained_variance_ratio: [ratio(explained_variance[0]), ratio(explained_variance[1])],
        n,
        dim,
        iterations,
        converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_are_errors() {
        assert!(pca2(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(pca2(&[1.0, 2.0], 2).is_err());
        assert!(pca2(&[1.0, f32::NAN, 0.0, 1.0], 2).is_err());
        assert!(pca2(&[], 0).is_err());
    }

    #[test]
    fn one_dimensional_and_constant_data_do_not_fail() {
        let p = pca2(&[1.0, 2.0, 4.0], 1).unwrap();
        assert_eq!(p.coords.len(), 6);
        assert!(p.coords.iter().skip(1).step_by(2).all(|v| *v == 0.0));
        let c = pca2(&[3.0; 8], 2).unwrap();
        assert!(c.coords.iter().all(|v| *v == 0.0));
    }
}
