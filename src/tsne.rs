//! t-SNE to two dimensions for the embedding map: the Barnes-Hut fit of the `bhtsne` crate with
//! scikit-learn's `TSNE(n_components=2, init='pca')` settings where the crate allows, and no
//! randomness, so the same embeddings give the same bytes natively and in wasm.
//!
//! What follows scikit-learn: Euclidean distances on the embeddings, the `k = min(n − 1,
//! ⌊3·perplexity + 1⌋)` exact nearest neighbours of each row (found here by brute force, ties to
//! the lower row), perplexity 30, 1000 iterations, early exaggeration 12 for the first 250 with
//! momentum 0.5 then 0.8, θ = 0.5, and `init='pca'`: the two-component PCA of the rows
//! ([`crate::pca::pca2`]) scaled so that column 0 has standard deviation 1e-4. The learning rate is
//! scikit-learn's `'auto'`, `max(n / 12 / 4, 50)`, applied to its gradient, which carries a factor
//! 4 that bhtsne's does not: bhtsne gets `4 · max(n / 48, 50)`, the same steps.
//!
//! Differences: bhtsne requires `3·⌊perplexity⌋ ≤ n − 1`, so the perplexity is clamped to
//! `(n − 1) / 3` for small sets (scikit-learn only requires `perplexity < n`), and it always runs
//! the full number of iterations (scikit-learn may stop early when the gradient stalls).
//!
//! Same bytes in wasm and natively: no RNG (PCA start, brute-force neighbours), bhtsne runs on an
//! `f32` whose `exp`/`ln` are the `libm` crate's (the system libm differs from wasm's in the last
//! bit, which t-SNE amplifies to different maps), and natively in a one-thread rayon pool, so its
//! parallel sums add in the order of the wasm build. The PCA start is computed in f64 (its `sin`
//! start vectors may differ in the last bit between targets) and rounded to f32, which absorbs
//! that. A browser test checks the page's numbers against the CLI's bit for bit.

use serde::Serialize;

use crate::error::{Error, Result};
use lf32::Lf32;

/// Fewest rows t-SNE accepts.
pub const MIN_ROWS: usize = 4;
/// scikit-learn's default perplexity.
pub const DEFAULT_PERPLEXITY: f32 = 30.0;
/// scikit-learn's default number of iterations (`max_iter`).
pub const DEFAULT_ITERATIONS: usize = 1000;
/// Iterations with early exaggeration (scikit-learn's `_EXPLORATION_MAX_ITER`).
pub const EXPLORATION_ITERATIONS: usize = 250;
/// scikit-learn's default early exaggeration.
pub const EARLY_EXAGGERATION: f32 = 12.0;
/// scikit-learn's default Barnes-Hut angle.
pub const THETA: f32 = 0.5;

/// Settings of a t-SNE fit; [`TsneOptions::default`] is scikit-learn's.
#[derive(Debug, Clone, PartialEq)]
pub struct TsneOptions {
    /// Wanted perplexity (clamped to `(n − 1) / 3`, see the module documentation).
    pub perplexity: f32,
    /// Gradient-descent iterations, early exaggeration included.
    pub iterations: usize,
}

impl Default for TsneOptions {
    fn default() -> Self {
        Self {
            perplexity: DEFAULT_PERPLEXITY,
            iterations: DEFAULT_ITERATIONS,
        }
    }
}

/// A two-dimensional t-SNE embedding of `n` rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tsne {
    /// Embedded rows, row-major `n x 2`.
    pub coords: Vec<f32>,
    /// Perplexity used (the wanted one, or `(n − 1) / 3` when that is smaller).
    pub perplexity: f32,
    /// Nearest neighbours per row in the affinities.
    pub neighbours: usize,
    /// Iterations run.
    pub iterations: usize,
    /// Learning rate given to bhtsne (see the module documentation).
    pub learning_rate: f32,
    /// Kullback-Leibler divergence `KL(P ‖ Q)` of the result, computed exactly (all pairs for
    /// `Q`, in f64 with libm's `log`, so the same in wasm) over bhtsne's sparse affinities `P`.
    pub kl_divergence: Option<f64>,
    /// Always `"barnes-hut"`.
    pub method: &'static str,
    pub n: usize,
    pub dim: usize,
}

/// Checks the input and returns the number of rows.
fn check(x: &[f32], dim: usize, opts: &TsneOptions) -> Result<usize> {
    let n = crate::pca::whole_rows(x, dim)?;
    if n < MIN_ROWS {
        return Err(Error::InvalidValue {
            name: "rows",
            value: n.to_string(),
            why: format!("t-SNE needs at least {MIN_ROWS} rows"),
        });
    }
    if u32::try_from(n).is_err() {
        return Err(Error::InvalidValue {
            name: "rows",
            value: n.to_string(),
            why: "t-SNE takes at most 4294967295 rows".into(),
        });
    }
    if !(opts.perplexity.is_finite() && opts.perplexity >= 1.0) {
        return Err(Error::InvalidParameter {
            name: "perplexity",
            value: opts.perplexity.to_string(),
            why: "must be a number of at least 1 (scikit-learn's default is 30)",
        });
    }
    if opts.iterations < EXPLORATION_ITERATIONS || opts.iterations > 100_000 {
        return Err(Error::InvalidParameter {
            name: "iterations",
            value: opts.iterations.to_string(),
            why: "must be between 250 and 100000 (scikit-learn's default is 1000)",
        });
    }
    crate::pca::all_finite(x, dim, "embeddings")?;
    Ok(n)
}

/// The `k` nearest other rows of every row by Euclidean distance (computed in f64), nearest
/// first, ties to the lower row index.
fn nearest_neighbours(x: &[f32], dim: usize, k: usize) -> Vec<Vec<bhtsne::Neighbor<Lf32>>> {
    let rows: Vec<&[f32]> = x.chunks_exact(dim).collect();
    let mut sq = vec![0.0f64; rows.len()];
    rows.iter()
        .enumerate()
        .map(|(i, a)| {
            for (j, (b, d)) in rows.iter().zip(sq.iter_mut()).enumerate() {
                *d = if i == j {
                    f64::INFINITY
                } else {
                    a.iter()
                        .zip(b.iter())
                        .map(|(&p, &q)| {
                            let t = f64::from(p) - f64::from(q);
                            t * t
                        })
                        .sum()
                };
            }
            let mut order: Vec<usize> = (0..rows.len()).filter(|&j| j != i).collect();
            let by = |a: &usize, b: &usize| {
                let da = sq.get(*a).copied().unwrap_or(f64::INFINITY);
                let db = sq.get(*b).copied().unwrap_or(f64::INFINITY);
                da.total_cmp(&db).then(a.cmp(b))
            };
            if k < order.len() {
                order.select_nth_unstable_by(k, by);
                order.truncate(k);
            }
            order.sort_unstable_by(by);
            order
                .into_iter()
                .map(|j| bhtsne::Neighbor {
                    index: j,
                    distance: Lf32(sq.get(j).copied().unwrap_or(0.0).sqrt() as f32),
                })
                .collect()
        })
        .collect()
}

/// scikit-learn's `init='pca'`: PCA to two components, scaled so column 0 has standard deviation
/// 1e-4 (population standard deviation, as numpy's `std`).
fn pca_init(x: &[f32], dim: usize, n: usize) -> Result<Vec<Lf32>> {
    let pca = crate::pca::pca2(x, dim)?;
    let col0: Vec<f64> = pca
        .coords
        .chunks_exact(2)
        .filter_map(|r| r.first().copied())
        .collect();
    let mean = col0.iter().sum::<f64>() / n as f64;
    let std = (col0.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64).sqrt();
    if !(std.is_finite() && std > 0.0) {
        return Err(Error::InvalidValue {
            name: "embeddings",
            value: format!("{n} identical rows"),
            why: "t-SNE needs at least two different rows".into(),
        });
    }
    let scale = 1e-4 / std;
    Ok(pca
        .coords
        .iter()
        .map(|&v| Lf32((v * scale) as f32))
        .collect())
}

/// Exact `KL(P ‖ Q) = Σ pᵢⱼ log(pᵢⱼ / qᵢⱼ)` with `qᵢⱼ = (1 + ‖yᵢ − yⱼ‖²)⁻¹ / Σₖ≠ₗ (1 + ‖yₖ − yₗ‖²)⁻¹`
/// over the stored (non-zero) entries of the sparse `P`.
fn kl_divergence(p: &bhtsne::SparseAffinities<Lf32>, y: &[f32]) -> f64 {
    let pts: Vec<(f64, f64)> = y
        .chunks_exact(2)
        .map(|r| match r {
            [a, b] => (f64::from(*a), f64::from(*b)),
            _ => (0.0, 0.0),
        })
        .collect();
    let w = |a: (f64, f64), b: (f64, f64)| {
        let (dx, dy) = (a.0 - b.0, a.1 - b.1);
        1.0 / (1.0 + dx * dx + dy * dy)
    };
    let mut z = 0.0;
    for (i, &a) in pts.iter().enumerate() {
        for &b in pts.iter().skip(i + 1) {
            z += 2.0 * w(a, b);
        }
    }
    let mut kl = 0.0;
    for (i, bounds) in p.rows().windows(2).enumerate() {
        let (Some(&lo), Some(&hi), Some(&a)) = (bounds.first(), bounds.get(1), pts.get(i)) else {
            continue;
        };
        let cols = p.columns().get(lo..hi).unwrap_or_default();
        let vals = p.values().get(lo..hi).unwrap_or_default();
        for (&j, &pij) in cols.iter().zip(vals) {
            if let (Some(&b), true) = (pts.get(j as usize), pij.0 > 0.0) {
                let pij = f64::from(pij.0);
                kl += pij * libm::log(pij * z / w(a, b));
            }
        }
    }
    kl
}

/// Runs bhtsne's Barnes-Hut fit on the checked input; `progress(epoch, total)` after each epoch.
fn fit(
    x: &[f32],
    dim: usize,
    n: usize,
    opts: &TsneOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Tsne> {
    // bhtsne panics unless 3·⌊perplexity⌋ ≤ n − 1.
    let perplexity = opts.perplexity.min((n - 1) as f32 / 3.0);
    // scikit-learn's neighbour count: min(n − 1, int(3·perplexity + 1)).
    let k = ((3.0 * perplexity + 1.0).floor() as usize)
        .min(n - 1)
        .max(1);
    let init = pca_init(x, dim, n)?;
    let neighbours = nearest_neighbours(x, dim, k);
    let learning_rate = 4.0 * (n as f32 / EARLY_EXAGGERATION / 4.0).max(50.0);
    let iterations = opts.iterations;
    let rows: Vec<&[f32]> = x.chunks_exact(dim).collect();
    let mut tsne: bhtsne::tSNE<Lf32, &[f32], 2> = bhtsne::tSNE::new(&rows);
    tsne.perplexity(Lf32(perplexity))
        .epochs(iterations)
        .learning_rate(Lf32(learning_rate))
        .early_exaggeration(Lf32(EARLY_EXAGGERATION))
        .stop_lying_epoch(EXPLORATION_ITERATIONS)
        .momentum_switch_epoch(EXPLORATION_ITERATIONS)
        .momentum(Lf32(0.5))
        .final_momentum(Lf32(0.8))
        .initial_embedding(init)
        .epoch_callback(|epoch, _| progress(epoch + 1, iterations));
    tsne.barnes_hut_with_neighbors(Lf32(THETA), &neighbours);
    let coords: Vec<f32> = tsne.embedding().into_iter().map(|v| v.0).collect();
    crate::pca::all_finite(&coords, 2, "the t-SNE result")?;
    Ok(Tsne {
        kl_divergence: tsne.affinities().map(|p| kl_divergence(&p, &coords)),
        coords,
        perplexity,
        neighbours: k,
        iterations,
        learning_rate,
        method: "barnes-hut",
        n,
        dim,
    })
}

/// Two-dimensional t-SNE of the row-major `x` with `dim` columns (see the module documentation);
/// `progress(done, total)` is called after every iteration.
///
/// Natively the fit runs in a one-thread rayon pool: bhtsne's parallel sums then add in the same
/// order on every run and as in the wasm build (where rayon runs on the calling thread).
#[cfg(not(target_arch = "wasm32"))]
pub fn tsne2_with_progress(
    x: &[f32],
    dim: usize,
    opts: &TsneOptions,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<Tsne> {
    let n = check(x, dim, opts)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::InvalidValue {
            name: "t-SNE thread pool",
            value: "1 thread".into(),
            why: e.to_string(),
        })?;
    pool.install(|| fit(x, dim, n, opts, &mut progress))
}

/// Two-dimensional t-SNE of the row-major `x` with `dim` columns (see the module documentation);
/// `progress(done, total)` is called after every iteration.
#[cfg(target_arch = "wasm32")]
pub fn tsne2_with_progress(
    x: &[f32],
    dim: usize,
    opts: &TsneOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Tsne> {
    let n = check(x, dim, opts)?;
    fit(x, dim, n, opts, &mut progress)
}

/// [`tsne2_with_progress`] without progress reports.
pub fn tsne2(x: &[f32], dim: usize, opts: &TsneOptions) -> Result<Tsne> {
    tsne2_with_progress(x, dim, opts, |_, _| {})
}

/// `f32` for bhtsne with every transcendental function from the `libm` crate (the code the wasm
/// build links for `f32::exp` and friends), so the affinities (`exp`, `ln` in bhtsne's bandwidth
/// search) are the same bits natively, where `f32::exp` would be the system's libm, and in wasm.
/// Arithmetic, `sqrt`, rounding and comparisons are IEEE operations, identical everywhere.
mod lf32 {
    use std::iter::Sum;
    use std::num::FpCategory;
    use std::ops::{
        Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
    };

    use num_traits::{
        float::FloatCore, AsPrimitive, Float, Num, NumCast, One, ParseFloatError, ToPrimitive, Zero,
    };

    #[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
    #[repr(transparent)]
    pub struct Lf32(pub f32);

    macro_rules! binop {
        ($tr:ident, $m:ident, $atr:ident, $am:ident, $op:tt) => {
            impl $tr for Lf32 {
                type Output = Self;
                #[inline]
                fn $m(self, o: Self) -> Self {
                    Lf32(self.0 $op o.0)
                }
            }
            impl $atr for Lf32 {
                #[inline]
                fn $am(&mut self, o: Self) {
                    self.0 = self.0 $op o.0;
                }
            }
        };
    }
    binop!(Add, add, AddAssign, add_assign, +);
    binop!(Sub, sub, SubAssign, sub_assign, -);
    binop!(Mul, mul, MulAssign, mul_assign, *);
    binop!(Div, div, DivAssign, div_assign, /);
    binop!(Rem, rem, RemAssign, rem_assign, %);

    impl Neg for Lf32 {
        type Output = Self;
        #[inline]
        fn neg(self) -> Self {
            Lf32(-self.0)
        }
    }

    impl Sum for Lf32 {
        fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
            Lf32(iter.fold(0.0, |a, b| a + b.0))
        }
    }

    impl<'a> Sum<&'a Lf32> for Lf32 {
        fn sum<I: Iterator<Item = &'a Lf32>>(iter: I) -> Self {
            Lf32(iter.fold(0.0, |a, b| a + b.0))
        }
    }

    impl Zero for Lf32 {
        fn zero() -> Self {
            Lf32(0.0)
        }
        fn is_zero(&self) -> bool {
            self.0 == 0.0
        }
    }

    impl One for Lf32 {
        fn one() -> Self {
            Lf32(1.0)
        }
    }

    impl Num for Lf32 {
        type FromStrRadixErr = ParseFloatError;
        fn from_str_radix(s: &str, radix: u32) -> Result<Self, ParseFloatError> {
            <f32 as Num>::from_str_radix(s, radix).map(Lf32)
        }
    }

    impl ToPrimitive for Lf32 {
        fn to_i64(&self) -> Option<i64> {
            self.0.to_i64()
        }
        fn to_u64(&self) -> Option<u64> {
            self.0.to_u64()
        }
        fn to_i32(&self) -> Option<i32> {
            self.0.to_i32()
        }
        fn to_u32(&self) -> Option<u32> {
            self.0.to_u32()
        }
        fn to_isize(&self) -> Option<isize> {
            self.0.to_isize()
        }
        fn to_usize(&self) -> Option<usize> {
            self.0.to_usize()
        }
        fn to_f32(&self) -> Option<f32> {
            Some(self.0)
        }
        fn to_f64(&self) -> Option<f64> {
            Some(<f64 as From<f32>>::from(self.0))
        }
    }

    impl NumCast for Lf32 {
        fn from<T: ToPrimitive>(n: T) -> Option<Self> {
            n.to_f32().map(Lf32)
        }
    }

    impl AsPrimitive<usize> for Lf32 {
        #[inline]
        fn as_(self) -> usize {
            self.0 as usize
        }
    }

    /// `x^n` by binary powering, the same on every target.
    fn powi(x: f32, n: i32) -> f32 {
        let mut base = x;
        let mut e = n.unsigned_abs();
        let mut r = 1.0f32;
        while e > 0 {
            if e & 1 == 1 {
                r *= base;
            }
            base *= base;
            e >>= 1;
        }
        if n < 0 {
            1.0 / r
        } else {
            r
        }
    }

    macro_rules! unary {
        ($($m:ident => $f:path),* $(,)?) => {
            $(
                #[inline]
                fn $m(self) -> Self {
                    Lf32($f(self.0))
                }
            )*
        };
    }

    /// The methods `FloatCore` and `Float` both declare, the same in each impl.
    macro_rules! shared_float_methods {
        () => {
        fn nan() -> Self {
            Lf32(f32::NAN)
        }
        fn infinity() -> Self {
            Lf32(f32::INFINITY)
        }
        fn neg_infinity() -> Self {
            Lf32(f32::NEG_INFINITY)
        }
        fn neg_zero() -> Self {
            Lf32(-0.0)
        }
        fn min_value() -> Self {
            Lf32(f32::MIN)
        }
        fn min_positive_value() -> Self {
            Lf32(f32::MIN_POSITIVE)
        }
        fn epsilon() -> Self {
            Lf32(f32::EPSILON)
        }
        fn max_value() -> Self {
            Lf32(f32::MAX)
        }
        fn is_nan(self) -> bool {
            self.0.is_nan()
        }
        fn is_infinite(self) -> bool {
            self.0.is_infinite()
        }
        fn is_finite(self) -> bool {
            self.0.is_finite()
        }
        fn classify(self) -> FpCategory {
            self.0.classify()
        }
        fn max(self, o: Self) -> Self {
            Lf32(self.0.max(o.0))
        }
        fn min(self, o: Self) -> Self {
            Lf32(self.0.min(o.0))
        }
        fn recip(self) -> Self {
            Lf32(1.0 / self.0)
        }
        fn powi(self, n: i32) -> Self {
            Lf32(powi(self.0, n))
        }
        fn integer_decode(self) -> (u64, i16, i8) {
            FloatCore::integer_decode(self.0)
        }
        unary!(
            floor => f32::floor, ceil => f32::ceil, round => f32::round, trunc => f32::trunc,
            abs => f32::abs, signum => f32::signum,
        );
        };
    }

    impl FloatCore for Lf32 {
        shared_float_methods!();
        fn to_degrees(self) -> Self {
            Lf32(self.0.to_degrees())
        }
        fn to_radians(self) -> Self {
            Lf32(self.0.to_radians())
        }
    }

    impl Float for Lf32 {
        shared_float_methods!();
        fn is_normal(self) -> bool {
            self.0.is_normal()
        }
        fn is_sign_positive(self) -> bool {
            self.0.is_sign_positive()
        }
        fn is_sign_negative(self) -> bool {
            self.0.is_sign_negative()
        }
        fn fract(self) -> Self {
            Lf32(self.0 - self.0.trunc())
        }
        fn mul_add(self, a: Self, b: Self) -> Self {
            Lf32(libm::fmaf(self.0, a.0, b.0))
        }
        fn powf(self, n: Self) -> Self {
            Lf32(libm::powf(self.0, n.0))
        }
        fn log(self, base: Self) -> Self {
            Lf32(libm::logf(self.0) / libm::logf(base.0))
        }
        fn abs_sub(self, o: Self) -> Self {
            Lf32(libm::fdimf(self.0, o.0))
        }
        fn hypot(self, o: Self) -> Self {
            Lf32(libm::hypotf(self.0, o.0))
        }
        fn atan2(self, o: Self) -> Self {
            Lf32(libm::atan2f(self.0, o.0))
        }
        fn sin_cos(self) -> (Self, Self) {
            let (s, c) = libm::sincosf(self.0);
            (Lf32(s), Lf32(c))
        }
        unary!(
            sqrt => f32::sqrt,
            exp => libm::expf, exp2 => libm::exp2f, ln => libm::logf, log2 => libm::log2f,
            log10 => libm::log10f, cbrt => libm::cbrtf, sin => libm::sinf, cos => libm::cosf,
            tan => libm::tanf, asin => libm::asinf, acos => libm::acosf, atan => libm::atanf,
            exp_m1 => libm::expm1f, ln_1p => libm::log1pf, sinh => libm::sinhf,
            cosh => libm::coshf, tanh => libm::tanhf, asinh => libm::asinhf,
            acosh => libm::acoshf, atanh => libm::atanhf,
        );
    }
}
