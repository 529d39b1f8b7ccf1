//! Evaluation protocols and the published presets (see `PROTOCOLS.md`): repeated
//! stratified hold-out, stratified k-fold, few-shot sampling, the CLIP and DINOv2
//! logistic-regression C searches, MTEB classification and VTAB-1k. Each returns a
//! [`ProtocolResult`] naming the preset and every deviation from the reference.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::heads::{self, ProbeSpec};
use crate::metrics;
use crate::probe::{Features, LogRegConfig};
use crate::split::{stratified_holdout, Split};
use crate::stats::MeanStd;

/// CLIP's starting grid of C (openai/CLIP, CoOp `lpclip/linear_probe.py`).
pub const CLIP_C_GRID: [f64; 7] = [1e6, 1e4, 1e2, 1.0, 1e-2, 1e-4, 1e-6];
/// CLIP's number of binary-search refinement steps.
pub const CLIP_STEPS: usize = 8;

/// Labelled features: rows of `x` with their class indices below `n_classes`.
#[derive(Debug, Clone, Copy)]
pub struct Labelled<'a> {
    pub x: Features<'a>,
    pub y: &'a [usize],
    pub n_classes: usize,
}

impl<'a> Labelled<'a> {
    /// Checks that there is one label per row and every label is below `n_classes`.
    pub fn new(x: Features<'a>, y: &'a [usize], n_classes: usize, what: &str) -> Result<Self> {
        if y.len() != x.rows() {
            return Err(Error::LengthMismatch {
                what: format!("{what}: labels vs feature rows"),
                expected: x.rows(),
                got: y.len(),
            });
        }
        if let Some(&bad) = y.iter().find(|&&l| l >= n_classes) {
            return Err(Error::InvalidParameter {
                name: "label index",
                value: bad.to_string(),
                why: "outside the class list",
            });
        }
        Ok(Labelled { x, y, n_classes })
    }

    /// Copies of the rows `rows` (features and labels).
    pub fn subset(&self, rows: &[usize]) -> (Vec<f32>, Vec<usize>) {
        let d = self.x.dim;
        let x = rows
            .iter()
            .flat_map(|&r| self.x.values[r * d..(r + 1) * d].iter().copied())
            .collect();
        (x, rows.iter().map(|&r| self.y[r]).collect())
    }
}

/// The scores of one run (one seed, fold or experiment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunScore {
    /// `seed 3`, `fold 2`, `experiment 7`, `test`.
    pub run: String,
    pub n_train: usize,
    pub n_test: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub weighted_f1: f64,
    /// The C the run used, when it was searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
}

/// One C tried on the validation split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CTrial {
    pub c: f64,
    pub val_accuracy: f64,
}

/// A C search: every trial in order and the chosen C.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CSearch {
    pub trials: Vec<CTrial>,
    pub chosen: f64,
}

/// What a protocol measured, with the preset's name and its deviations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtocolResult {
    pub preset: String,
    pub probe: String,
    pub runs: Vec<RunScore>,
    /// Mean and population standard deviation over the runs.
    pub accuracy: MeanStd,
    pub macro_f1: MeanStd,
    pub weighted_f1: MeanStd,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub c_searches: Vec<CSearch>,
    pub deviations: Vec<String>,
}

impl ProtocolResult {
    fn new(
        preset: &str,
        probe: &str,
        runs: Vec<RunScore>,
        c_searches: Vec<CSearch>,
        deviations: Vec<String>,
    ) -> Self {
        let of = |f: fn(&RunScore) -> f64| MeanStd::of(&runs.iter().map(f).collect::<Vec<_>>());
        ProtocolResult {
            preset: preset.into(),
            probe: probe.into(),
            accuracy: of(|r| r.accuracy),
            macro_f1: of(|r| r.macro_f1),
            weighted_f1: of(|r| r.weighted_f1),
            runs,
            c_searches,
            deviations,
        }
    }
}

fn names(k: usize) -> Vec<String> {
    (0..k).map(|i| i.to_string()).collect()
}

/// Fits `spec` on `train` and scores it on `test`.
pub fn fit_score(
    spec: &ProbeSpec,
    train: Labelled<'_>,
    test: Labelled<'_>,
    run: String,
) -> Result<RunScore> {
    if train.x.dim != test.x.dim {
        return Err(Error::LengthMismatch {
            what: "test feature dimension vs training".into(),
            expected: train.x.dim,
            got: test.x.dim,
        });
    }
    let k = train.n_classes.max(test.n_classes);
    let fitted = heads::fit_predict(spec, train.x, train.y, test.x, k, |_, _| true)?;
    let m = metrics::evaluate(test.y, &fitted.pred, &names(k), None)?;
    Ok(RunScore {
        run,
        n_train: train.x.rows(),
        n_test: test.x.rows(),
        accuracy: m.accuracy,
        macro_f1: m.macro_f1,
        weighted_f1: m.weighted_f1,
        c: match spec {
            ProbeSpec::LogisticRegression { c, .. } => Some(*c),
            _ => None,
        },
    })
}

fn fit_score_rows(
    spec: &ProbeSpec,
    data: Labelled<'_>,
    split: &Split,
    run: String,
) -> Result<RunScore> {
    let (xtr, ytr) = data.subset(&split.train);
    let (xte, yte) = data.subset(&split.test);
    let d = data.x.dim;
    let train = Labelled::new(
        Features::new(&xtr, d, "training rows")?,
        &ytr,
        data.n_classes,
        "train",
    )?;
    let test = Labelled::new(
        Features::new(&xte, d, "test rows")?,
        &yte,
        data.n_classes,
        "test",
    )?;
    fit_score(spec, train, test, run)
}

/// Repeated stratified hold-out: one split per seed ([`stratified_holdout`]), mean ± std.
pub fn repeated_holdout(
    spec: &ProbeSpec,
    data: Labelled<'_>,
    test_fraction: f64,
    seeds: &[u64],
) -> Result<ProtocolResult> {
    if seeds.is_empty() {
        return Err(Error::InvalidParameter {
            name: "seeds",
            value: "[]".into(),
            why: "repeated hold-out needs at least one seed",
        });
    }
    let classes = names(data.n_classes);
    let runs = seeds
        .iter()
        .map(|&s| {
            let split = stratified_holdout(data.y, &classes, test_fraction, s)?;
            fit_score_rows(spec, data, &split, format!("seed {s}"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ProtocolResult::new(
        "repeated_stratified_holdout",
        spec.kind(),
        runs,
        Vec::new(),
        Vec::new(),
    ))
}

/// Stratified k-fold splits: each class's rows are shuffled by a ChaCha8 generator seeded
/// with `seed` and dealt to the folds in turn, continuing where the previous class
/// stopped, so fold sizes differ by at most one. Test indices of fold `f` are ascending.
pub fn stratified_kfold_splits(
    labels: &[usize],
    n_classes: usize,
    folds: usize,
    seed: u64,
) -> Result<Vec<Split>> {
    if folds < 2 {
        return Err(Error::InvalidParameter {
            name: "folds",
            value: folds.to_string(),
            why: "k-fold needs at least 2 folds",
        });
    }
    if folds > labels.len() {
        return Err(Error::InvalidValue {
            name: "folds",
            value: folds.to_string(),
            why: format!("more folds than the {} samples", labels.len()),
        });
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class
            .get_mut(l)
            .ok_or(Error::InvalidParameter {
                name: "label index",
                value: l.to_string(),
                why: "outside the class list",
            })?
            .push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of = vec![0usize; labels.len()];
    let mut next = 0;
    for idx in &mut by_class {
        idx.shuffle(&mut rng);
        for &i in idx.iter() {
            fold_of[i] = next;
            next = (next + 1) % folds;
        }
    }
    Ok((0..folds)
        .map(|f| {
            let (test, train) = (0..labels.len()).partition(|&i| fold_of[i] == f);
            Split { train, test }
        })
        .collect())
}

/// Stratified k-fold cross-validation, mean ± std over the folds.
pub fn kfold(
    spec: &ProbeSpec,
    data: Labelled<'_>,
    folds: usize,
    seed: u64,
) -> Result<ProtocolResult> {
    let splits = stratified_kfold_splits(data.y, data.n_classes, folds, seed)?;
    let mut deviations = Vec::new();
    let counts = class_counts(data.y, data.n_classes);
    if let Some(min) = counts.iter().copied().filter(|&c| c > 0).min() {
        if min < folds {
            deviations.push(format!(
                "the smallest class has {min} sample(s), fewer than the {folds} folds: some test folds miss it"
            ));
        }
    }
    let runs = splits
        .iter()
        .enumerate()
        .map(|(f, s)| fit_score_rows(spec, data, s, format!("fold {}", f + 1)))
        .collect::<Result<Vec<_>>>()?;
    Ok(ProtocolResult::new(
        "stratified_kfold",
        spec.kind(),
        runs,
        Vec::new(),
        deviations,
    ))
}

fn class_counts(y: &[usize], k: usize) -> Vec<usize> {
    let mut c = vec![0; k];
    for &l in y {
        if let Some(v) = c.get_mut(l) {
            *v += 1;
        }
    }
    c
}

/// Class-balanced sample: `shots` rows of every class present, without replacement,
/// chosen by a ChaCha8 generator seeded with `seed`; ascending row indices.
pub fn few_shot_rows(
    labels: &[usize],
    n_classes: usize,
    shots: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    if shots == 0 {
        return Err(Error::InvalidParameter {
            name: "shots",
            value: "0".into(),
            why: "few-shot sampling needs at least 1 shot per class",
        });
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        if let Some(v) = by_class.get_mut(l) {
            v.push(i);
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(shots * n_classes);
    for (c, idx) in by_class.iter_mut().enumerate() {
        if idx.is_empty() {
            continue;
        }
        if idx.len() < shots {
            return Err(Error::InvalidValue {
                name: "shots",
                value: shots.to_string(),
                why: format!("class {c} has only {} training sample(s)", idx.len()),
            });
        }
        idx.shuffle(&mut rng);
        rows.extend_from_slice(&idx[..shots]);
    }
    rows.sort_unstable();
    Ok(rows)
}

/// Few-shot evaluation: for every seed, `shots` training rows per class, fit, score on
/// the whole test set; mean ± std over the seeds (CLIP / CoOp use seeds 1..=10).
pub fn few_shot(
    spec: &ProbeSpec,
    train: Labelled<'_>,
    test: Labelled<'_>,
    shots: usize,
    seeds: &[u64],
) -> Result<ProtocolResult> {
    let mut runs = Vec::with_capacity(seeds.len());
    for &s in seeds {
        let rows = few_shot_rows(train.y, train.n_classes, shots, s)?;
        let (x, y) = train.subset(&rows);
        let sub = Labelled::new(
            Features::new(&x, train.x.dim, "few-shot rows")?,
            &y,
            train.n_classes,
            "few-shot",
        )?;
        runs.push(fit_score(spec, sub, test, format!("seed {s}"))?);
    }
    Ok(ProtocolResult::new(
        &format!("few_shot_{shots}"),
        spec.kind(),
        runs,
        Vec::new(),
        Vec::new(),
    ))
}

/// CLIP's C search (CoOp `lpclip/linear_probe.py`): validation accuracy of every C of
/// [`CLIP_C_GRID`], then from the best (first on ties) `[c/10, 10c]`, 8 steps that fit
/// both ends and keep the better (the left on ties), halving the range in log10 space
/// towards it. The chosen C is the last step's better end. `val_accuracy(c)` fits and
/// scores one C.
pub fn clip_c_search(mut val_accuracy: impl FnMut(f64) -> Result<f64>) -> Result<CSearch> {
    let mut trials = Vec::new();
    let mut best = (0usize, f64::NEG_INFINITY);
    for (i, &c) in CLIP_C_GRID.iter().enumerate() {
        let acc = val_accuracy(c)?;
        trials.push(CTrial {
            c,
            val_accuracy: acc,
        });
        if acc > best.1 {
            best = (i, acc);
        }
    }
    let peak = CLIP_C_GRID[best.0];
    let (mut left, mut right) = (1e-1 * peak, 1e1 * peak);
    let mut chosen = peak;
    for _ in 0..CLIP_STEPS {
        let acc_left = val_accuracy(left)?;
        let acc_right = val_accuracy(right)?;
        trials.push(CTrial {
            c: left,
            val_accuracy: acc_left,
        });
        trials.push(CTrial {
            c: right,
            val_accuracy: acc_right,
        });
        let (l, r) = (left.log10(), right.log10());
        if acc_left < acc_right {
            chosen = right;
            left = 10f64.powf(0.5 * (r + l));
            right = 10f64.powf(r);
        } else {
            chosen = left;
            right = 10f64.powf(0.5 * (r + l));
            left = 10f64.powf(l);
        }
    }
    Ok(CSearch { trials, chosen })
}

/// DINOv2's grid: C = 10^linspace(-6, 5, 45).
pub fn dinov2_c_grid() -> Vec<f64> {
    (0..45)
        .map(|i| 10f64.powf(-6.0 + 0.25 * i as f64))
        .collect()
}

fn val_accuracy_fn<'a>(
    fit_train: Labelled<'a>,
    val: Labelled<'a>,
    max_iter: usize,
    tol: f64,
) -> impl FnMut(f64) -> Result<f64> + 'a {
    move |c| {
        let spec = ProbeSpec::logistic(LogRegConfig { c, max_iter, tol });
        Ok(fit_score(&spec, fit_train, val, String::new())?.accuracy)
    }
}

/// Features and labels of the fitting part, then of the validation part.
type TrainVal = (Vec<f32>, Vec<usize>, Vec<f32>, Vec<usize>);

/// Splits `train` into a fitting part and a stratified validation part of `val_fraction`.
fn train_val(train: Labelled<'_>, val_fraction: f64, seed: u64) -> Result<TrainVal> {
    let split = stratified_holdout(train.y, &names(train.n_classes), val_fraction, seed)?;
    let (xf, yf) = train.subset(&split.train);
    let (xv, yv) = train.subset(&split.test);
    Ok((xf, yf, xv, yv))
}

/// One part of a split: features, labels, and the names its errors use.
type Part<'a> = (&'a [f32], &'a [usize], [&'static str; 2]);

/// The CLIP C search (CoOp's settings: max_iter 1000, tol 1e-4) fitting on `fit` and
/// scoring on `val`; returns the search and the logistic-regression probe with the chosen C.
fn search_c<'a>(train: Labelled<'_>, fit: Part<'a>, val: Part<'a>) -> Result<(CSearch, ProbeSpec)> {
    let (max_iter, tol) = (1000, 1e-4);
    let d = train.x.dim;
    let part = |(x, y, [rows, name]): Part<'a>| -> Result<Labelled<'a>> {
        Labelled::new(Features::new(x, d, rows)?, y, train.n_classes, name)
    };
    let search = clip_c_search(val_accuracy_fn(part(fit)?, part(val)?, max_iter, tol))?;
    let spec = ProbeSpec::logistic(LogRegConfig {
        c: search.chosen,
        max_iter,
        tol,
    });
    Ok((search, spec))
}

/// The CLIP linear probe: C searched with [`clip_c_search`] (L-BFGS, max_iter 1000,
/// tol 1e-4 as scikit-learn's default) on a stratified `val_fraction` of `train`, then
/// refit on all of `train` with the chosen C and scored on `test`.
pub fn clip_linear_probe(
    train: Labelled<'_>,
    test: Labelled<'_>,
    val_fraction: f64,
    seed: u64,
) -> Result<ProtocolResult> {
    let (xf, yf, xv, yv) = train_val(train, val_fraction, seed)?;
    let (search, spec) = search_c(
        train,
        (&xf, &yf, ["fitting rows", "fit"]),
        (&xv, &yv, ["validation rows", "val"]),
    )?;
    let run = fit_score(&spec, train, test, "test".into())?;
    Ok(ProtocolResult::new(
        "clip_linear_probe",
        spec.kind(),
        vec![run],
        vec![search],
        vec![
            format!("validation split: a stratified {val_fraction} of the training set (seed {seed}), not the data set's own"),
            "solver: Downstream's L-BFGS (stopping rule as scikit-learn's lbfgs, tol 1e-4)".into(),
        ],
    ))
}

/// DINOv2's logistic regression: C from [`dinov2_c_grid`] by accuracy on a stratified
/// 10 % of `train` (the first best on ties), max_iter 1000, tol 1e-12, f64; refit on
/// all of `train` and scored on `test`.
pub fn dinov2_linear_probe(
    train: Labelled<'_>,
    test: Labelled<'_>,
    seed: u64,
) -> Result<ProtocolResult> {
    let (max_iter, tol) = (1000, 1e-12);
    let (xf, yf, xv, yv) = train_val(train, 0.1, seed)?;
    let d = train.x.dim;
    let fit_part = Labelled::new(
        Features::new(&xf, d, "fitting rows")?,
        &yf,
        train.n_classes,
        "fit",
    )?;
    let val = Labelled::new(
        Features::new(&xv, d, "validation rows")?,
        &yv,
        train.n_classes,
        "val",
    )?;
    let mut acc = val_accuracy_fn(fit_part, val, max_iter, tol);
    let mut trials = Vec::new();
    let mut best = CTrial {
        c: 1.0,
        val_accuracy: f64::NEG_INFINITY,
    };
    for c in dinov2_c_grid() {
        let t = CTrial {
            c,
            val_accuracy: acc(c)?,
        };
        if t.val_accuracy > best.val_accuracy {
            best = t;
        }
        trials.push(t);
    }
    let spec = ProbeSpec::logistic(LogRegConfig {
        c: best.c,
        max_iter,
        tol,
    });
    let run = fit_score(&spec, train, test, "test".into())?;
    Ok(ProtocolResult::new(
        "dinov2_linear_probe",
        spec.kind(),
        vec![run],
        vec![CSearch {
            trials,
            chosen: best.c,
        }],
        vec![
            format!("validation split: a stratified 10 % of the training set (seed {seed})"),
            "solver: Downstream's L-BFGS on the CPU instead of cuML's".into(),
        ],
    ))
}

/// MTEB classification: `n_experiments` times, undersample `train` to at most
/// `samples_per_label` rows per label (in a seeded shuffled order, as MTEB's
/// `_undersample_data`), fit `LogisticRegression(max_iter=100)` (tol 1e-4), score on
/// `test`; mean accuracy (the main score) and F1.
pub fn mteb(
    train: Labelled<'_>,
    test: Labelled<'_>,
    samples_per_label: usize,
    n_experiments: usize,
    seed: u64,
) -> Result<ProtocolResult> {
    if samples_per_label == 0 || n_experiments == 0 {
        return Err(Error::InvalidParameter {
            name: "MTEB samples per label / experiments",
            value: format!("{samples_per_label} / {n_experiments}"),
            why: "both must be at least 1",
        });
    }
    let spec = ProbeSpec::logistic(LogRegConfig {
        c: 1.0,
        max_iter: 100,
        tol: 1e-4,
    });
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..train.x.rows()).collect();
    let mut runs = Vec::with_capacity(n_experiments);
    for e in 0..n_experiments {
        order.shuffle(&mut rng);
        let mut taken = vec![0usize; train.n_classes];
        let mut rows: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&r| {
                taken.get_mut(train.y[r]).is_some_and(|t| {
                    *t += 1;
                    *t <= samples_per_label
                })
            })
            .collect();
        rows.sort_unstable();
        let (x, y) = train.subset(&rows);
        let sub = Labelled::new(
            Features::new(&x, train.x.dim, "undersampled rows")?,
            &y,
            train.n_classes,
            "train",
        )?;
        runs.push(fit_score(
            &spec,
            sub,
            test,
            format!("experiment {}", e + 1),
        )?);
    }
    Ok(ProtocolResult::new(
        "mteb_classification",
        spec.kind(),
        runs,
        Vec::new(),
        vec![format!(
            "undersampling order from ChaCha8 (seed {seed}), not numpy's RandomState(42)"
        )],
    ))
}

/// VTAB-1k: 1,000 training rows drawn with a seeded shuffle, split 800 / 200; C tuned
/// on the 200 with [`clip_c_search`], then refit on all 1,000 and scored on `test`.
pub fn vtab_1k(train: Labelled<'_>, test: Labelled<'_>, seed: u64) -> Result<ProtocolResult> {
    if train.x.rows() < 1000 {
        return Err(Error::InvalidValue {
            name: "training rows",
            value: train.x.rows().to_string(),
            why: "VTAB-1k needs at least 1,000 training samples".into(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..train.x.rows()).collect();
    order.shuffle(&mut rng);
    let d = train.x.dim;
    let (x800, y800) = train.subset(&order[..800]);
    let (x200, y200) = train.subset(&order[800..1000]);
    let (x1000, y1000) = train.subset(&order[..1000]);
    let (search, spec) = search_c(
        train,
        (&x800, &y800, ["train800", "train800"]),
        (&x200, &y200, ["val200", "val200"]),
    )?;
    let all = Labelled::new(
        Features::new(&x1000, d, "train1000")?,
        &y1000,
        train.n_classes,
        "train1000",
    )?;
    let run = fit_score(&spec, all, test, "test".into())?;
    Ok(ProtocolResult::new(
        "vtab_1k",
        spec.kind(),
        vec![run],
        vec![search],
        vec![
            format!("the 1,000 training rows are a seeded random draw (seed {seed}), not the first 1,000 of the split"),
            "VTAB tunes fine-tuning settings; here the logistic-regression C, with the CLIP search".into(),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kfold_folds_partition_and_stratify() {
        let labels: Vec<usize> = (0..50).map(|i| usize::from(i >= 30)).collect();
        let splits = stratified_kfold_splits(&labels, 2, 5, 1).unwrap();
        let mut seen = [0; 50];
        for s in &splits {
            assert_eq!(s.test.len(), 10);
            assert_eq!(s.test.iter().filter(|&&i| labels[i] == 1).count(), 4);
            s.test.iter().for_each(|&i| seen[i] += 1);
            assert_eq!(s.train.len() + s.test.len(), 50);
        }
        assert!(seen.iter().all(|&c| c == 1));
        assert_eq!(splits, stratified_kfold_splits(&labels, 2, 5, 1).unwrap());
    }

    #[test]
    fn dinov2_grid_ends() {
        let g = dinov2_c_grid();
        assert_eq!((g.len(), g[0], g[44]), (45, 1e-6, 1e5));
    }
}
