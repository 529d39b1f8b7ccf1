//! Statistics on test predictions: seeded bootstrap confidence intervals (percentile and
//! BCa), McNemar's test and the paired bootstrap of an accuracy difference.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// scipy.stats.bootstrap's default number of resamples.
pub const DEFAULT_RESAMPLES: usize = 9_999;
/// The page's default number of resamples (fast enough for every metric change).
pub const PAGE_RESAMPLES: usize = 1_000;
/// McNemar uses the exact binomial test below this many discordant pairs.
pub const MCNEMAR_EXACT_BELOW: u64 = 25;

/// How a bootstrap interval is read off the resampled statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiMethod {
    /// The `(1 - level) / 2` and `(1 + level) / 2` percentiles (numpy's linear
    /// interpolation), as scipy.stats.bootstrap's `method="percentile"`.
    Percentile,
    /// Bias-corrected and accelerated (Efron), as scipy.stats.bootstrap's default.
    Bca,
}

impl CiMethod {
    /// The name written in reports.
    pub fn name(self) -> &'static str {
        match self {
            CiMethod::Percentile => "percentile",
            CiMethod::Bca => "bca",
        }
    }
}

/// Settings of a bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BootstrapConfig {
    pub resamples: usize,
    pub level: f64,
    pub method: CiMethod,
    pub seed: u64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: DEFAULT_RESAMPLES,
            level: 0.95,
            method: CiMethod::Percentile,
            seed: 0,
        }
    }
}

/// A statistic of the samples whose indices (with repeats) it is given.
pub type Statistic<'a> = &'a mut dyn FnMut(&[usize]) -> f64;

/// Intervals of the headline metrics, as written in `metrics.ci` of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadlineCi {
    pub method: String,
    pub resamples: usize,
    pub level: f64,
    pub seed: u64,
    pub accuracy: [f64; 2],
    pub macro_f1: [f64; 2],
}

fn check_config(n: usize, cfg: &BootstrapConfig) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "samples",
            value: "0".into(),
            why: "a bootstrap needs at least one sample",
        });
    }
    if cfg.resamples < 2 {
        return Err(Error::InvalidParameter {
            name: "resamples",
            value: cfg.resamples.to_string(),
            why: "a bootstrap needs at least 2 resamples",
        });
    }
    if !(cfg.level > 0.0 && cfg.level < 1.0) {
        return Err(Error::InvalidParameter {
            name: "confidence level",
            value: cfg.level.to_string(),
            why: "must be between 0 and 1 (exclusive)",
        });
    }
    Ok(())
}

/// numpy's `percentile(values, q)` (linear interpolation) of sorted values, `q` in [0, 100].
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let Some(&last) = sorted.last() else {
        return f64::NAN;
    };
    let h = (sorted.len() - 1) as f64 * q / 100.0;
    let lo = h.floor() as usize;
    match sorted.get(lo..) {
        Some([below, next, ..]) => below + (h - lo as f64) * (next - below),
        _ => last,
    }
}

/// A uniform index below `n`, drawn the same way on 32- and 64-bit targets so that the
/// page (wasm32) and the CLI resample identically: `gen_range` over `usize` is not portable.
pub fn portable_index(rng: &mut ChaCha8Rng, n: usize) -> usize {
    match u32::try_from(n) {
        Ok(m) => rng.gen_range(0..m) as usize,
        Err(_) => rng.gen_range(0..n as u64) as usize,
    }
}

/// Resampled values of every statistic: `out[s][b]` is statistic `s` on resample `b`.
/// A resample draws `n` indices with replacement from a ChaCha8 generator seeded with
/// `cfg.seed`.
fn resample(n: usize, cfg: &BootstrapConfig, stats: &mut [Statistic<'_>]) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut idx = vec![0usize; n];
    let mut out = vec![Vec::with_capacity(cfg.resamples); stats.len()];
    for _ in 0..cfg.resamples {
        idx.iter_mut()
            .for_each(|i| *i = portable_index(&mut rng, n));
        for (s, o) in stats.iter_mut().zip(out.iter_mut()) {
            o.push(s(&idx));
        }
    }
    out
}

/// Standard normal cumulative distribution.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// Standard normal quantile: Acklam's rational approximation refined by two Newton steps
/// on [`norm_cdf`] (about 1e-15 relative).
pub fn norm_ppf(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let mut x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    for _ in 0..2 {
        let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        if pdf > 0.0 {
            x -= (norm_cdf(x) - p) / pdf;
        }
    }
    x
}

/// The interval of one statistic from its resampled values (`theta_b`), its value on
/// the data (`theta_hat`) and, for BCa, its jackknife values.
fn interval(
    mut theta_b: Vec<f64>,
    theta_hat: f64,
    jackknife: Option<&[f64]>,
    level: f64,
) -> [f64; 2] {
    theta_b.sort_by(f64::total_cmp);
    let alpha = (1.0 - level) / 2.0;
    let (a_lo, a_hi) = match jackknife {
        None => (alpha, 1.0 - alpha),
        Some(jk) => {
            // scipy.stats.bootstrap's _bca_interval.
            let below = theta_b.iter().filter(|&&t| t < theta_hat).count();
            let at_or_below = theta_b.iter().filter(|&&t| t <= theta_hat).count();
            let z0 = norm_ppf((below + at_or_below) as f64 / (2 * theta_b.len()) as f64);
            let mean = jk.iter().sum::<f64>() / jk.len() as f64;
            let num: f64 = jk.iter().map(|t| (mean - t).powi(3)).sum();
            let den = 6.0 * jk.iter().map(|t| (mean - t).powi(2)).sum::<f64>().powf(1.5);
            let a = if den == 0.0 { 0.0 } else { num / den };
            let adj = |z: f64| norm_cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)));
            let (z_lo, z_hi) = (norm_ppf(alpha), norm_ppf(1.0 - alpha));
            (adj(z_lo), adj(z_hi))
        }
    };
    let q = |a: f64| {
        if a.is_finite() {
            percentile_sorted(&theta_b, a * 100.0)
        } else {
            theta_hat
        }
    };
    [q(a_lo), q(a_hi)]
}

/// Bootstrap intervals of several statistics of the same `n` samples, from the same
/// resamples. Each statistic gets the indices of a resample (with repeats).
pub fn bootstrap_cis(
    n: usize,
    cfg: &BootstrapConfig,
    stats: &mut [Statistic<'_>],
) -> Result<Vec<[f64; 2]>> {
    check_config(n, cfg)?;
    let all: Vec<usize> = (0..n).collect();
    let theta_hat: Vec<f64> = stats.iter_mut().map(|s| s(&all)).collect();
    // Per statistic: its leave-one-out values (BCa only).
    let jackknife: Vec<Option<Vec<f64>>> = if cfg.method == CiMethod::Bca {
        let mut idx: Vec<usize> = Vec::with_capacity(n);
        let mut out = vec![Vec::with_capacity(n); stats.len()];
        for left_out in 0..n {
            idx.clear();
            idx.extend((0..n).filter(|&i| i != left_out));
            for (s, o) in stats.iter_mut().zip(out.iter_mut()) {
                o.push(s(&idx));
            }
        }
        out.into_iter().map(Some).collect()
    } else {
        vec![None; stats.len()]
    };
    let resampled = resample(n, cfg, stats);
    Ok(resampled
        .into_iter()
        .zip(theta_hat)
        .zip(&jackknife)
        .map(|((theta_b, theta_hat), jk)| interval(theta_b, theta_hat, jk.as_deref(), cfg.level))
        .collect())
}

/// Bootstrap interval of one statistic of `n` samples.
pub fn bootstrap_ci(
    n: usize,
    cfg: &BootstrapConfig,
    mut stat: impl FnMut(&[usize]) -> f64,
) -> Result<[f64; 2]> {
    let mut v = bootstrap_cis(n, cfg, &mut [&mut stat])?;
    v.pop().ok_or(Error::NotReady("no interval computed"))
}

/// Accuracy of the samples `idx`; NaN if an index is outside the labels.
pub fn accuracy_of(y_true: &[usize], y_pred: &[usize], idx: &[usize]) -> f64 {
    let mut right = 0usize;
    for &i in idx {
        match (y_true.get(i), y_pred.get(i)) {
            (Some(t), Some(p)) => right += usize::from(t == p),
            _ => return f64::NAN,
        }
    }
    right as f64 / idx.len().max(1) as f64
}

/// Macro F1 over `n_classes` classes of the samples `idx` (a class absent from both
/// the truth and the predictions of the resample scores 0, as scikit-learn's
/// `zero_division=0` with the full label list). Samples whose true or predicted class is
/// not below `n_classes` are left out; NaN if an index is outside the labels.
pub fn macro_f1_of(y_true: &[usize], y_pred: &[usize], n_classes: usize, idx: &[usize]) -> f64 {
    // Per class: (support, true positives); and predictions.
    let mut by_true = vec![(0u64, 0u64); n_classes];
    let mut predicted = vec![0u64; n_classes];
    for &i in idx {
        let (Some(&t), Some(&p)) = (y_true.get(i), y_pred.get(i)) else {
            return f64::NAN;
        };
        if let (Some((support, tp)), Some(pred)) = (by_true.get_mut(t), predicted.get_mut(p)) {
            *support += 1;
            *pred += 1;
            if t == p {
                *tp += 1;
            }
        }
    }
    let sum: f64 = by_true
        .iter()
        .zip(&predicted)
        .map(|(&(support, tp), &pred)| {
            let den = (pred + support) as f64;
            if den == 0.0 {
                0.0
            } else {
                2.0 * tp as f64 / den
            }
        })
        .sum();
    sum / n_classes.max(1) as f64
}

fn check_predictions(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<()> {
    if y_true.len() != y_pred.len() {
        return Err(Error::LengthMismatch {
            what: "predicted labels vs true labels".into(),
            expected: y_true.len(),
            got: y_pred.len(),
        });
    }
    if let Some(&bad) = y_true.iter().chain(y_pred).find(|&&l| l >= n_classes) {
        return Err(Error::InvalidParameter {
            name: "label index",
            value: bad.to_string(),
            why: "outside the label list",
        });
    }
    Ok(())
}

/// Bootstrap intervals of accuracy and macro F1 of test predictions.
pub fn headline_ci(
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    cfg: &BootstrapConfig,
) -> Result<HeadlineCi> {
    check_predictions(y_true, y_pred, n_classes)?;
    let mut acc = |idx: &[usize]| accuracy_of(y_true, y_pred, idx);
    let mut f1 = |idx: &[usize]| macro_f1_of(y_true, y_pred, n_classes, idx);
    let cis = bootstrap_cis(y_true.len(), cfg, &mut [&mut acc, &mut f1])?;
    let [accuracy, macro_f1]: [[f64; 2]; 2] = cis
        .try_into()
        .map_err(|_| Error::NotReady("not one interval per statistic"))?;
    Ok(HeadlineCi {
        method: cfg.method.name().into(),
        resamples: cfg.resamples,
        level: cfg.level,
        seed: cfg.seed,
        accuracy,
        macro_f1,
    })
}

/// McNemar's test of two classifiers on the same test items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McNemar {
    /// Items only A gets right.
    pub b: u64,
    /// Items only B gets right.
    pub c: u64,
    pub n: u64,
    /// `exact_binomial` (b + c < 25) or `chi_square_continuity_corrected`.
    pub method: String,
    /// The chi-square statistic `(|b - c| - 1)^2 / (b + c)`, or `min(b, c)` for the exact
    /// test (statsmodels' convention).
    pub statistic: f64,
    pub p_value: f64,
}

/// Binomial(n, 1/2) probability of `k` (log-gamma form).
fn binom_half_pmf(k: u64, n: u64) -> f64 {
    let (k, n) = (k as f64, n as f64);
    (libm::lgamma(n + 1.0)
        - libm::lgamma(k + 1.0)
        - libm::lgamma(n - k + 1.0)
        - n * std::f64::consts::LN_2)
        .exp()
}

/// Two-sided exact binomial test of `k` successes in `n` trials with p = 1/2
/// (scipy.stats.binomtest): `min(1, 2 P(X <= min(k, n - k)))`.
pub fn binomial_test_half(k: u64, n: u64) -> f64 {
    if n == 0 || 2 * k == n {
        return 1.0;
    }
    let m = k.min(n - k);
    let tail: f64 = (0..=m).map(|i| binom_half_pmf(i, n)).sum();
    (2.0 * tail).min(1.0)
}

/// Survival function of the chi-square distribution with one degree of freedom.
pub fn chi2_1_sf(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    libm::erfc((x / 2.0).sqrt())
}

/// McNemar's test from the discordant counts: exact binomial when `b + c < 25`, else
/// the continuity-corrected chi-square (mlxtend's rule).
pub fn mcnemar_counts(b: u64, c: u64, n: u64) -> McNemar {
    let d = b + c;
    if d < MCNEMAR_EXACT_BELOW {
        McNemar {
            b,
            c,
            n,
            method: "exact_binomial".into(),
            statistic: b.min(c) as f64,
            p_value: binomial_test_half(b, d),
        }
    } else {
        let diff = b.abs_diff(c) as f64 - 1.0;
        let statistic = diff * diff / d as f64;
        McNemar {
            b,
            c,
            n,
            method: "chi_square_continuity_corrected".into(),
            statistic,
            p_value: chi2_1_sf(statistic),
        }
    }
}

fn correctness(y_true: &[usize], y_pred: &[usize], what: &str) -> Result<Vec<bool>> {
    if y_true.len() != y_pred.len() {
        return Err(Error::LengthMismatch {
            what: format!("{what} predictions vs true labels"),
            expected: y_true.len(),
            got: y_pred.len(),
        });
    }
    Ok(y_true.iter().zip(y_pred).map(|(a, b)| a == b).collect())
}

/// McNemar's test of predictions A and B of the same items.
pub fn mcnemar(y_true: &[usize], pred_a: &[usize], pred_b: &[usize]) -> Result<McNemar> {
    let a = correctness(y_true, pred_a, "A")?;
    let b = correctness(y_true, pred_b, "B")?;
    if a.is_empty() {
        return Err(Error::InvalidParameter {
            name: "test items",
            value: "0".into(),
            why: "nothing to compare",
        });
    }
    let only_a = a.iter().zip(&b).filter(|(x, y)| **x && !**y).count() as u64;
    let only_b = a.iter().zip(&b).filter(|(x, y)| !**x && **y).count() as u64;
    Ok(mcnemar_counts(only_a, only_b, a.len() as u64))
}

/// Paired bootstrap interval of the accuracy difference A - B on the same items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    pub accuracy_a: f64,
    pub accuracy_b: f64,
    pub difference: f64,
    pub method: String,
    pub resamples: usize,
    pub level: f64,
    pub seed: u64,
    pub ci: [f64; 2],
}

/// Resamples test items (the same items for A and B) and reads the interval of
/// `accuracy(A) - accuracy(B)`.
pub fn paired_bootstrap(
    y_true: &[usize],
    pred_a: &[usize],
    pred_b: &[usize],
    cfg: &BootstrapConfig,
) -> Result<PairedDifference> {
    let a = correctness(y_true, pred_a, "A")?;
    let b = correctness(y_true, pred_b, "B")?;
    let diff: Vec<f64> = a
        .iter()
        .zip(&b)
        .map(|(&x, &y)| f64::from(u8::from(x)) - f64::from(u8::from(y)))
        .collect();
    let ci = bootstrap_ci(diff.len(), cfg, |idx| {
        idx.iter()
            .map(|&i| diff.get(i).copied())
            .sum::<Option<f64>>()
            .map_or(f64::NAN, |s| s / idx.len().max(1) as f64)
    })?;
    let n = a.len() as f64;
    let accuracy_a = a.iter().filter(|&&x| x).count() as f64 / n;
    let accuracy_b = b.iter().filter(|&&x| x).count() as f64 / n;
    Ok(PairedDifference {
        accuracy_a,
        accuracy_b,
        difference: accuracy_a - accuracy_b,
        method: cfg.method.name().into(),
        resamples: cfg.resamples,
        level: cfg.level,
        seed: cfg.seed,
        ci,
    })
}

/// Mean and population standard deviation (numpy's `std`, ddof = 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    /// Of the values (0 ± 0 when empty).
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return MeanStd {
                mean: 0.0,
                std: 0.0,
            };
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        MeanStd {
            mean,
            std: var.sqrt(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_inverts_the_cdf() {
        for p in [1e-10, 0.001, 0.025, 0.3, 0.5, 0.975, 0.999999] {
            let x = norm_ppf(p);
            assert!((norm_cdf(x) - p).abs() <= 1e-14 * p.max(1e-3), "{p}");
        }
        // scipy.stats.norm.ppf(0.975)
        assert!((norm_ppf(0.975) - 1.959963984540054).abs() < 1e-14);
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        // np.percentile([1, 2, 3, 4], [25, 50, 97.5]) == [1.75, 2.5, 3.925]
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile_sorted(&v, 25.0), 1.75);
        assert_eq!(percentile_sorted(&v, 50.0), 2.5);
        assert!((percentile_sorted(&v, 97.5) - 3.925).abs() < 1e-15);
    }
}
