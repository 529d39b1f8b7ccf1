//! Evaluation protocols and the published presets (see `PROTOCOLS.md`): repeated
//! stratified hold-out, stratified k-fold, few-shot sampling, the CLIP and DINOv2
//! logistic-regression C searches, MTEB classification, SentEval's nested k-fold and
//! VTAB-1k. Each returns a [`ProtocolResult`] naming the preset and every deviation from
//! the reference.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::heads::{self, Fitted, ProbeSpec};
use crate::metrics;
use crate::probe::{self, Features, LogRegConfig};
use crate::split::{stratified_holdout, Split};
use crate::stats::MeanStd;

/// CLIP's starting grid of C (openai/CLIP, CoOp `lpclip/linear_probe.py`).
pub const CLIP_C_GRID: [f64; 7] = [1e6, 1e4, 1e2, 1.0, 1e-2, 1e-4, 1e-6];
/// CLIP's number of binary-search refinement steps.
pub const CLIP_STEPS: usize = 8;
/// SentEval's seed of the outer and inner `StratifiedKFold`.
pub const SENTEVAL_SEED: u64 = 1111;
/// SentEval's default number of folds (10 recommended).
pub const SENTEVAL_FOLDS: usize = 5;
/// MTEB's `samples_per_label` of [`ProtocolSpec::Mteb`].
pub const MTEB_SAMPLES_PER_LABEL: usize = 8;
/// MTEB's `n_experiments` of [`ProtocolSpec::Mteb`].
pub const MTEB_EXPERIMENTS: usize = 10;

/// Progress of a protocol's probe fits: after every fit, `on_fit(done, total)` with `done`
/// counting from 1 and `total` fixed up front ([`ProtocolSpec::fit_count`]); when it
/// returns `false` the protocol stops before the next fit with [`Error::Cancelled`].
struct FitProgress<'a> {
    done: usize,
    total: usize,
    on_fit: &'a mut dyn FnMut(usize, usize) -> bool,
}

impl<'a> FitProgress<'a> {
    /// Progress over `total` fits reported to `on_fit`.
    fn new(total: usize, on_fit: &'a mut dyn FnMut(usize, usize) -> bool) -> Self {
        FitProgress {
            done: 0,
            total,
            on_fit,
        }
    }

    /// Counts one finished fit; the cancelled error when the callback says stop.
    fn tick(&mut self) -> Result<()> {
        self.done += 1;
        if (self.on_fit)(self.done, self.total) {
            Ok(())
        } else {
            Err(Error::Cancelled {
                done: self.done,
                total: self.total,
            })
        }
    }
}

/// Runs `f` with a progress that reports to nobody (the public functions without one).
fn unwatched<T>(f: impl FnOnce(&mut FitProgress<'_>) -> T) -> T {
    let mut ignore = |_: usize, _: usize| true;
    f(&mut FitProgress::new(0, &mut ignore))
}

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
    pub fn subset(&self, rows: &[usize]) -> Result<(Vec<f32>, Vec<usize>)> {
        Ok((self.x.gather(rows)?, probe::pick(self.y, rows)?))
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
    /// Predictions behind a full report: the final fit's test predictions (CLIP, DINOv2,
    /// VTAB), the first run's (MTEB, few-shot, repeated hold-out), or every row's
    /// out-of-fold prediction in row order (k-fold, SentEval). [`ProtocolResult::detail_of`]
    /// says which.
    #[serde(skip)]
    pub detail: Option<Fitted>,
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
            detail: None,
        }
    }

    fn with_detail(mut self, fitted: Fitted) -> Self {
        self.detail = Some(fitted);
        self
    }

    /// Which predictions [`ProtocolResult::detail`] holds, in words for the report.
    pub fn detail_of(&self) -> String {
        match self.preset.as_str() {
            "stratified_kfold" | "senteval" => {
                "out-of-fold predictions of every item (each predicted by the fold that held it out)".into()
            }
            "clip_linear_probe" | "dinov2_linear_probe" | "vtab_1k" => {
                "the final fit with the chosen C on the test split".into()
            }
            _ => match self.runs.first() {
                Some(r) => format!("the first run ({}) on its test split", r.run),
                None => "no run".into(),
            },
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
    Ok(fit_run(spec, train, test, run)?.0)
}

/// [`fit_score`] that also returns the test predictions.
pub fn fit_run(
    spec: &ProbeSpec,
    train: Labelled<'_>,
    test: Labelled<'_>,
    run: String,
) -> Result<(RunScore, Fitted)> {
    if train.x.dim() != test.x.dim() {
        return Err(Error::LengthMismatch {
            what: "test feature dimension vs training".into(),
            expected: train.x.dim(),
            got: test.x.dim(),
        });
    }
    let k = train.n_classes.max(test.n_classes);
    let fitted = heads::fit_predict(spec, train.x, train.y, test.x, k, |_, _| true)?;
    let m = metrics::evaluate(test.y, &fitted.pred, &names(k), None)?;
    let score = RunScore {
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
    };
    Ok((score, fitted))
}

/// [`fit_run_rows`] counted as one fit of `fits`.
fn fit_run_rows_counted(
    spec: &ProbeSpec,
    data: Labelled<'_>,
    split: &Split,
    run: String,
    fits: &mut FitProgress<'_>,
) -> Result<(RunScore, Fitted)> {
    let out = fit_run_rows(spec, data, split, run)?;
    fits.tick()?;
    Ok(out)
}

/// [`fit_run`] counted as one fit of `fits`.
fn fit_run_counted(
    spec: &ProbeSpec,
    train: Labelled<'_>,
    test: Labelled<'_>,
    run: String,
    fits: &mut FitProgress<'_>,
) -> Result<(RunScore, Fitted)> {
    let out = fit_run(spec, train, test, run)?;
    fits.tick()?;
    Ok(out)
}

/// [`fit_run`] on the rows of `split`.
fn fit_run_rows(
    spec: &ProbeSpec,
    data: Labelled<'_>,
    split: &Split,
    run: String,
) -> Result<(RunScore, Fitted)> {
    let rows = SplitRows::of(data, split)?;
    let (train, test) = rows.parts()?;
    fit_run(spec, train, test, run)
}

fn row_outside(row: usize, n: usize) -> Error {
    Error::InvalidValue {
        name: "fold row",
        value: row.to_string(),
        why: format!("outside the {n} rows"),
    }
}

/// Checks that every row of `splits` is below `n`.
fn check_splits(splits: &[Split], n: usize) -> Result<()> {
    match splits
        .iter()
        .flat_map(|s| s.train.iter().chain(&s.test))
        .find(|&&r| r >= n)
    {
        Some(&r) => Err(row_outside(r, n)),
        None => Ok(()),
    }
}

/// Copies of the training and test rows of a split.
struct SplitRows {
    dim: usize,
    n_classes: usize,
    train: (Vec<f32>, Vec<usize>),
    test: (Vec<f32>, Vec<usize>),
}

impl SplitRows {
    fn of(data: Labelled<'_>, split: &Split) -> Result<Self> {
        Ok(SplitRows {
            dim: data.x.dim(),
            n_classes: data.n_classes,
            train: data.subset(&split.train)?,
            test: data.subset(&split.test)?,
        })
    }

    /// The training and test parts as labelled features.
    fn parts(&self) -> Result<(Labelled<'_>, Labelled<'_>)> {
        Ok((
            self.part(&self.train, ["training rows", "train"])?,
            self.part(&self.test, ["test rows", "test"])?,
        ))
    }

    fn part<'a>(
        &self,
        (x, y): &'a (Vec<f32>, Vec<usize>),
        [rows, name]: [&str; 2],
    ) -> Result<Labelled<'a>> {
        Labelled::new(Features::new(x, self.dim, rows)?, y, self.n_classes, name)
    }
}

/// Every row's prediction from the fold that held it out, in row order: `splits` are
/// folds whose test parts partition `0..n`, `fits` their test predictions.
fn out_of_fold(n: usize, k: usize, splits: &[Split], fits: Vec<Fitted>) -> Result<Fitted> {
    let mut pred = vec![0usize; n];
    let mut proba = vec![0.0; n * k];
    let mut seen = vec![false; n];
    let mut info = None;
    for (split, fit) in splits.iter().zip(fits) {
        for ((&r, &p), row) in split
            .test
            .iter()
            .zip(&fit.pred)
            .zip(fit.proba.chunks_exact(k.max(1)))
        {
            let (Some(slot), Some(dst), Some(s)) = (
                pred.get_mut(r),
                proba.get_mut(r * k..(r + 1) * k),
                seen.get_mut(r),
            ) else {
                return Err(row_outside(r, n));
            };
            *slot = p;
            dst.copy_from_slice(row);
            *s = true;
        }
        info = Some(fit.info);
    }
    match (seen.iter().all(|&s| s), info) {
        (true, Some(info)) => Ok(Fitted { pred, proba, info }),
        _ => Err(Error::InvalidValue {
            name: "folds",
            value: splits.len().to_string(),
            why: "the test folds do not cover every row".into(),
        }),
    }
}

/// Repeated stratified hold-out: one split per seed ([`stratified_holdout`]), mean ± std.
pub fn repeated_holdout(
    spec: &ProbeSpec,
    data: Labelled<'_>,
    test_fraction: f64,
    seeds: &[u64],
) -> Result<ProtocolResult> {
    unwatched(|fits| repeated_holdout_with(spec, data, test_fraction, seeds, fits))
}

/// [`repeated_holdout`] counting one fit per seed.
fn repeated_holdout_with(
    spec: &ProbeSpec,
    data: Labelled<'_>,
    test_fraction: f64,
    seeds: &[u64],
    fits: &mut FitProgress<'_>,
) -> Result<ProtocolResult> {
    if seeds.is_empty() {
        return Err(Error::InvalidParameter {
            name: "seeds",
            value: "[]".into(),
            why: "repeated hold-out needs at least one seed",
        });
    }
    let classes = names(data.n_classes);
    let mut runs = Vec::with_capacity(seeds.len());
    let mut first = None;
    for &s in seeds {
        let split = stratified_holdout(data.y, &classes, test_fraction, s)?;
        let (run, fitted) = fit_run_rows_counted(spec, data, &split, format!("seed {s}"), fits)?;
        runs.push(run);
        first.get_or_insert(fitted);
    }
    let result = ProtocolResult::new(
        "repeated_stratified_holdout",
        spec.kind(),
        runs,
        Vec::new(),
        Vec::new(),
    );
    Ok(match first {
        Some(f) => result.with_detail(f),
        None => result,
    })
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
            // `i` enumerates `labels`, as `fold_of` does.
            if let Some(slot) = fold_of.get_mut(i) {
                *slot = next;
            }
            next = (next + 1) % folds;
        }
    }
    Ok((0..folds)
        .map(|f| {
            let (test, train) = (0..labels.len()).partition(|&i| fold_of.get(i) == Some(&f));
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
    unwatched(|fits| kfold_with(spec, data, folds, seed, fits))
}

/// [`kfold`] counting one fit per fold.
fn kfold_with(
    spec: &ProbeSpec,
    data: Labelled<'_>,
    folds: usize,
    seed: u64,
    fits: &mut FitProgress<'_>,
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
    let (mut runs, mut fitted) = (Vec::new(), Vec::new());
    for (f, s) in splits.iter().enumerate() {
        let (run, fit) = fit_run_rows_counted(spec, data, s, format!("fold {}", f + 1), fits)?;
        runs.push(run);
        fitted.push(fit);
    }
    let oof = out_of_fold(data.x.rows(), data.n_classes, &splits, fitted)?;
    Ok(ProtocolResult::new(
        "stratified_kfold",
        spec.kind(),
        runs,
        Vec::new(),
        deviations,
    )
    .with_detail(oof))
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
        rows.extend(idx.iter().take(shots));
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
    unwatched(|fits| few_shot_with(spec, train, test, shots, seeds, fits))
}

/// [`few_shot`] counting one fit per seed.
fn few_shot_with(
    spec: &ProbeSpec,
    train: Labelled<'_>,
    test: Labelled<'_>,
    shots: usize,
    seeds: &[u64],
    fits: &mut FitProgress<'_>,
) -> Result<ProtocolResult> {
    let mut runs = Vec::with_capacity(seeds.len());
    let mut first = None;
    for &s in seeds {
        let rows = few_shot_rows(train.y, train.n_classes, shots, s)?;
        let (x, y) = train.subset(&rows)?;
        let sub = Labelled::new(
            Features::new(&x, train.x.dim(), "few-shot rows")?,
            &y,
            train.n_classes,
            "few-shot",
        )?;
        let (run, fitted) = fit_run_counted(spec, sub, test, format!("seed {s}"), fits)?;
        runs.push(run);
        first.get_or_insert(fitted);
    }
    let result = ProtocolResult::new(
        &format!("few_shot_{shots}"),
        spec.kind(),
        runs,
        Vec::new(),
        Vec::new(),
    );
    Ok(match first {
        Some(f) => result.with_detail(f),
        None => result,
    })
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
    let peak = CLIP_C_GRID.get(best.0).copied().unwrap_or(1.0);
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

/// Validation accuracy of logistic regression with `c` fit on `fit_train`, counted as
/// one fit of `fits`.
fn val_accuracy(
    fit_train: Labelled<'_>,
    val: Labelled<'_>,
    (c, max_iter, tol): (f64, usize, f64),
    fits: &mut FitProgress<'_>,
) -> Result<f64> {
    let spec = ProbeSpec::logistic(LogRegConfig { c, max_iter, tol });
    let acc = fit_score(&spec, fit_train, val, String::new())?.accuracy;
    fits.tick()?;
    Ok(acc)
}

/// Features and labels of the fitting part, then of the validation part.
type TrainVal = (Vec<f32>, Vec<usize>, Vec<f32>, Vec<usize>);

/// Splits `train` into a fitting part and a stratified validation part of `val_fraction`.
fn train_val(train: Labelled<'_>, val_fraction: f64, seed: u64) -> Result<TrainVal> {
    let split = stratified_holdout(train.y, &names(train.n_classes), val_fraction, seed)?;
    let (xf, yf) = train.subset(&split.train)?;
    let (xv, yv) = train.subset(&split.test)?;
    Ok((xf, yf, xv, yv))
}

/// One part of a split: features, labels, and the names its errors use.
type Part<'a> = (&'a [f32], &'a [usize], [&'static str; 2]);

/// The CLIP C search (CoOp's settings: max_iter 1000, tol 1e-4) fitting on `fit` and
/// scoring on `val`; returns the search and the logistic-regression probe with the chosen C.
fn search_c<'a>(
    train: Labelled<'_>,
    fit: Part<'a>,
    val: Part<'a>,
    fits: &mut FitProgress<'_>,
) -> Result<(CSearch, ProbeSpec)> {
    let (max_iter, tol) = (1000, 1e-4);
    let d = train.x.dim();
    let part = |(x, y, [rows, name]): Part<'a>| -> Result<Labelled<'a>> {
        Labelled::new(Features::new(x, d, rows)?, y, train.n_classes, name)
    };
    let (fit, val) = (part(fit)?, part(val)?);
    let search = clip_c_search(|c| val_accuracy(fit, val, (c, max_iter, tol), fits))?;
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
    unwatched(|fits| clip_linear_probe_with(train, test, val_fraction, seed, fits))
}

/// [`clip_linear_probe`] counting every validation fit and the refit.
fn clip_linear_probe_with(
    train: Labelled<'_>,
    test: Labelled<'_>,
    val_fraction: f64,
    seed: u64,
    fits: &mut FitProgress<'_>,
) -> Result<ProtocolResult> {
    let (xf, yf, xv, yv) = train_val(train, val_fraction, seed)?;
    let (search, spec) = search_c(
        train,
        (&xf, &yf, ["fitting rows", "fit"]),
        (&xv, &yv, ["validation rows", "val"]),
        fits,
    )?;
    let (run, fitted) = fit_run_counted(&spec, train, test, "test".into(), fits)?;
    Ok(ProtocolResult::new(
        "clip_linear_probe",
        spec.kind(),
        vec![run],
        vec![search],
        vec![
            format!("validation split: a stratified {val_fraction} of the training set (seed {seed}), not the data set's own"),
            "solver: Downstream's L-BFGS (stopping rule as scikit-learn's lbfgs, tol 1e-4)".into(),
        ],
    )
    .with_detail(fitted))
}

/// DINOv2's logistic regression: C from [`dinov2_c_grid`] by accuracy on a stratified
/// 10 % of `train` (the first best on ties), max_iter 1000, tol 1e-12, f64; refit on
/// all of `train` and scored on `test`.
pub fn dinov2_linear_probe(
    train: Labelled<'_>,
    test: Labelled<'_>,
    seed: u64,
) -> Result<ProtocolResult> {
    unwatched(|fits| dinov2_linear_probe_with(train, test, seed, fits))
}

/// [`dinov2_linear_probe`] counting every grid fit and the refit.
fn dinov2_linear_probe_with(
    train: Labelled<'_>,
    test: Labelled<'_>,
    seed: u64,
    fits: &mut FitProgress<'_>,
) -> Result<ProtocolResult> {
    let (max_iter, tol) = (1000, 1e-12);
    let (xf, yf, xv, yv) = train_val(train, 0.1, seed)?;
    let d = train.x.dim();
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
    let mut trials = Vec::new();
    let mut best = CTrial {
        c: 1.0,
        val_accuracy: f64::NEG_INFINITY,
    };
    for c in dinov2_c_grid() {
        let t = CTrial {
            c,
            val_accuracy: val_accuracy(fit_part, val, (c, max_iter, tol), fits)?,
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
    let (run, fitted) = fit_run_counted(&spec, train, test, "test".into(), fits)?;
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
    )
    .with_detail(fitted))
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
    unwatched(|fits| mteb_with(train, test, samples_per_label, n_experiments, seed, fits))
}

/// [`mteb`] counting one fit per experiment.
fn mteb_with(
    train: Labelled<'_>,
    test: Labelled<'_>,
    samples_per_label: usize,
    n_experiments: usize,
    seed: u64,
    fits: &mut FitProgress<'_>,
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
    let mut first = None;
    for e in 0..n_experiments {
        order.shuffle(&mut rng);
        let mut taken = vec![0usize; train.n_classes];
        let mut rows: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&r| {
                let label = train.y.get(r).copied().unwrap_or(usize::MAX);
                taken.get_mut(label).is_some_and(|t| {
                    *t += 1;
                    *t <= samples_per_label
                })
            })
            .collect();
        rows.sort_unstable();
        let (x, y) = train.subset(&rows)?;
        let sub = Labelled::new(
            Features::new(&x, train.x.dim(), "undersampled rows")?,
            &y,
            train.n_classes,
            "train",
        )?;
        let (run, fitted) =
            fit_run_counted(&spec, sub, test, format!("experiment {}", e + 1), fits)?;
        runs.push(run);
        first.get_or_insert(fitted);
    }
    let result = ProtocolResult::new(
        "mteb_classification",
        spec.kind(),
        runs,
        Vec::new(),
        vec![format!(
            "undersampling order from ChaCha8 (seed {seed}), not numpy's RandomState(42)"
        )],
    );
    Ok(match first {
        Some(f) => result.with_detail(f),
        None => result,
    })
}

/// VTAB-1k: 1,000 training rows drawn with a seeded shuffle, split 800 / 200; C tuned
/// on the 200 with [`clip_c_search`], then refit on all 1,000 and scored on `test`.
pub fn vtab_1k(train: Labelled<'_>, test: Labelled<'_>, seed: u64) -> Result<ProtocolResult> {
    unwatched(|fits| vtab_1k_with(train, test, seed, fits))
}

/// [`vtab_1k`] counting every validation fit and the refit.
fn vtab_1k_with(
    train: Labelled<'_>,
    test: Labelled<'_>,
    seed: u64,
    fits: &mut FitProgress<'_>,
) -> Result<ProtocolResult> {
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
    let d = train.x.dim();
    order.truncate(1000);
    let (first800, next200) = order.split_at(800);
    let (x800, y800) = train.subset(first800)?;
    let (x200, y200) = train.subset(next200)?;
    let (x1000, y1000) = train.subset(&order)?;
    let (search, spec) = search_c(
        train,
        (&x800, &y800, ["train800", "train800"]),
        (&x200, &y200, ["val200", "val200"]),
        fits,
    )?;
    let all = Labelled::new(
        Features::new(&x1000, d, "train1000")?,
        &y1000,
        train.n_classes,
        "train1000",
    )?;
    let (run, fitted) = fit_run_counted(&spec, all, test, "test".into(), fits)?;
    Ok(ProtocolResult::new(
        "vtab_1k",
        spec.kind(),
        vec![run],
        vec![search],
        vec![
            format!("the 1,000 training rows are a seeded random draw (seed {seed}), not the first 1,000 of the split"),
            "VTAB tunes fine-tuning settings; here the logistic-regression C, with the CLIP search".into(),
        ],
    )
    .with_detail(fitted))
}

/// SentEval's C grid: 2^-2, 2^-1, …, 2^3.
pub fn senteval_c_grid() -> Vec<f64> {
    (-2..=3).map(|e| 2f64.powi(e)).collect()
}

/// SentEval's nested stratified k-fold (`senteval/tools/validation.py`,
/// `InnerKFoldClassifier`, scikit-learn path): `folds` outer folds and, inside each outer
/// training part, `folds` inner folds (both seeded with `seed`; SentEval's is
/// [`SENTEVAL_SEED`]); the C of [`senteval_c_grid`] with the best mean inner validation
/// accuracy is refit on the outer training part and scored on the outer test part. The
/// logistic regression is scikit-learn's default as SentEval uses it (max_iter 100, tol
/// 1e-4). Mean ± std over the outer folds; the detail is every row's out-of-fold prediction.
pub fn senteval(data: Labelled<'_>, folds: usize, seed: u64) -> Result<ProtocolResult> {
    unwatched(|fits| senteval_with(data, folds, seed, fits))
}

/// [`senteval`] counting every inner fit and every outer refit.
fn senteval_with(
    data: Labelled<'_>,
    folds: usize,
    seed: u64,
    fits: &mut FitProgress<'_>,
) -> Result<ProtocolResult> {
    let outer = stratified_kfold_splits(data.y, data.n_classes, folds, seed)?;
    let lr = LogRegConfig {
        c: 1.0,
        max_iter: 100,
        tol: 1e-4,
    };
    let mut result = senteval_counted(
        data,
        &outer,
        |_, y| stratified_kfold_splits(y, data.n_classes, folds, seed),
        lr,
        fits,
    )?;
    result.deviations = vec![
        format!("folds from Downstream's stratified k-fold (ChaCha8, seed {seed}), not scikit-learn's StratifiedKFold(shuffle=True, random_state=1111)"),
        "solver: Downstream's L-BFGS with scikit-learn's defaults (max_iter 100, tol 1e-4)".into(),
    ];
    Ok(result)
}

/// [`senteval`] on given folds: `outer` splits of `data`'s rows (test parts partitioning
/// them), `inner(f, y)` the splits of outer fold `f`'s training rows (labels `y`; indices
/// into those rows); `lr` gives max_iter and tol. Every C's inner score is the mean
/// validation accuracy in percent rounded to 2 decimals, and the first best C wins
/// (SentEval's `round(100 * np.mean(regscores), 2)` and `np.argmax`).
pub fn senteval_with_splits(
    data: Labelled<'_>,
    outer: &[Split],
    inner: impl FnMut(usize, &[usize]) -> Result<Vec<Split>>,
    lr: LogRegConfig,
) -> Result<ProtocolResult> {
    unwatched(|fits| senteval_counted(data, outer, inner, lr, fits))
}

/// [`senteval_with_splits`] counting every inner fit and every outer refit.
fn senteval_counted(
    data: Labelled<'_>,
    outer: &[Split],
    mut inner: impl FnMut(usize, &[usize]) -> Result<Vec<Split>>,
    lr: LogRegConfig,
    fits: &mut FitProgress<'_>,
) -> Result<ProtocolResult> {
    let d = data.x.dim();
    let spec = |c| {
        ProbeSpec::logistic(LogRegConfig {
            c,
            max_iter: lr.max_iter,
            tol: lr.tol,
        })
    };
    check_splits(outer, data.x.rows())?;
    let (mut runs, mut searches, mut fitted_folds) = (Vec::new(), Vec::new(), Vec::new());
    for (f, split) in outer.iter().enumerate() {
        let (xtr, ytr) = data.subset(&split.train)?;
        let train = Labelled::new(
            Features::new(&xtr, d, "outer training rows")?,
            &ytr,
            data.n_classes,
            "outer train",
        )?;
        let inner_splits = inner(f, &ytr)?;
        check_splits(&inner_splits, ytr.len())?;
        if inner_splits.is_empty() {
            return Err(Error::InvalidParameter {
                name: "inner folds",
                value: "0".into(),
                why: "the nested k-fold needs at least one inner fold",
            });
        }
        let mut trials = Vec::new();
        let mut best = (f64::NEG_INFINITY, 1.0);
        for c in senteval_c_grid() {
            let mut sum = 0.0;
            for s in &inner_splits {
                sum += fit_run_rows_counted(&spec(c), train, s, String::new(), fits)?
                    .0
                    .accuracy;
            }
            let mean = sum / inner_splits.len() as f64;
            let score = (100.0 * mean * 100.0).round_ties_even() / 100.0;
            if score > best.0 {
                best = (score, c);
            }
            trials.push(CTrial {
                c,
                val_accuracy: mean,
            });
        }
        let (run, fitted) =
            fit_run_rows_counted(&spec(best.1), data, split, format!("fold {}", f + 1), fits)?;
        runs.push(run);
        fitted_folds.push(fitted);
        searches.push(CSearch {
            trials,
            chosen: best.1,
        });
    }
    let oof = out_of_fold(data.x.rows(), data.n_classes, outer, fitted_folds)?;
    Ok(ProtocolResult::new(
        "senteval",
        "logistic_regression",
        runs,
        searches,
        Vec::new(),
    )
    .with_detail(oof))
}

/// The evaluation protocol of a page or `eval` run (JSON `{"name": "kfold", "folds": 5}`);
/// a missing parameter takes its default. Presets that define their own probe (CLIP,
/// DINOv2, MTEB, VTAB, SentEval) train logistic regression whatever the probe setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum ProtocolSpec {
    /// One seeded stratified hold-out split (the default).
    #[default]
    Holdout,
    /// [`clip_linear_probe`] on the hold-out training part (20 % validation), scored on its test part.
    Clip,
    /// [`dinov2_linear_probe`] on the hold-out split.
    Dinov2,
    /// [`mteb`] (8 samples per label, 10 experiments) on the hold-out split.
    Mteb,
    /// [`vtab_1k`] on the hold-out split (needs 1,000 training items).
    Vtab,
    /// [`kfold`] over every item.
    Kfold {
        #[serde(default = "default_folds")]
        folds: usize,
    },
    /// [`repeated_holdout`] with seeds `seed, seed + 1, …`.
    Repeated {
        #[serde(default = "default_repeats")]
        repeats: usize,
    },
    /// [`few_shot`] for every shot count, seeds `1..=seeds` (CLIP / CoOp), scored on the
    /// hold-out test part.
    FewShot {
        #[serde(default = "default_shots")]
        shots: Vec<usize>,
        #[serde(default = "default_repeats")]
        seeds: usize,
    },
    /// [`senteval`] over every item, seed [`SENTEVAL_SEED`].
    Senteval {
        #[serde(default = "default_senteval_folds")]
        folds: usize,
    },
}

/// Folds of [`ProtocolSpec::Kfold`] by default.
pub const DEFAULT_FOLDS: usize = 5;
/// Splits of [`ProtocolSpec::Repeated`] and seeds of [`ProtocolSpec::FewShot`] by default
/// (CLIP / CoOp: seeds 1..=10).
pub const DEFAULT_REPEATS: usize = 10;
/// Shots per class of [`ProtocolSpec::FewShot`] by default.
pub const DEFAULT_SHOTS: [usize; 5] = [1, 2, 4, 8, 16];

fn default_folds() -> usize {
    DEFAULT_FOLDS
}
fn default_repeats() -> usize {
    DEFAULT_REPEATS
}
fn default_shots() -> Vec<usize> {
    DEFAULT_SHOTS.to_vec()
}
fn default_senteval_folds() -> usize {
    SENTEVAL_FOLDS
}

/// Mean ± std accuracy of one shot count of a few-shot curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FewShotPoint {
    pub shots: usize,
    pub mean: f64,
    pub std: f64,
    /// Seeds averaged.
    pub seeds: usize,
}

/// A protocol run on a whole data set: the result and the fit behind a full report.
#[derive(Debug, Clone, PartialEq)]
pub struct ProtocolRun {
    /// The result (few-shot: of the largest shot count, with every run).
    pub result: ProtocolResult,
    /// Few-shot curve points, one per shot count.
    pub few_shot: Vec<FewShotPoint>,
    /// Rows the detailed predictions were trained on / are for, in prediction order.
    pub train_rows: Vec<usize>,
    pub test_rows: Vec<usize>,
    pub fitted: Fitted,
    /// Which fit the detailed predictions come from.
    pub detail_of: String,
}

impl ProtocolSpec {
    /// The name written in reports.
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolSpec::Holdout => "stratified_holdout",
            ProtocolSpec::Clip => "clip_linear_probe",
            ProtocolSpec::Dinov2 => "dinov2_linear_probe",
            ProtocolSpec::Mteb => "mteb_classification",
            ProtocolSpec::Vtab => "vtab_1k",
            ProtocolSpec::Kfold { .. } => "stratified_kfold",
            ProtocolSpec::Repeated { .. } => "repeated_stratified_holdout",
            ProtocolSpec::FewShot { .. } => "few_shot",
            ProtocolSpec::Senteval { .. } => "senteval",
        }
    }

    /// Probe fits the protocol makes, known before it runs: the C searches' validation
    /// fits plus the refit (CLIP and VTAB-1k: 7 + 2 × 8 + 1; DINOv2: 45 + 1), one per
    /// experiment, fold, seed or (few-shot) shot count and seed, and SentEval's
    /// `folds` × (6 C × `folds` inner fits + 1 refit). 0 for the plain hold-out, whose one
    /// fit reports iterations instead.
    pub fn fit_count(&self) -> usize {
        let clip = CLIP_C_GRID.len() + 2 * CLIP_STEPS + 1;
        match self {
            ProtocolSpec::Holdout => 0,
            ProtocolSpec::Clip | ProtocolSpec::Vtab => clip,
            ProtocolSpec::Dinov2 => dinov2_c_grid().len() + 1,
            ProtocolSpec::Mteb => MTEB_EXPERIMENTS,
            ProtocolSpec::Kfold { folds } => *folds,
            ProtocolSpec::Repeated { repeats } => *repeats,
            ProtocolSpec::FewShot { shots, seeds } => shots.len().saturating_mul(*seeds),
            ProtocolSpec::Senteval { folds } => folds.saturating_mul(
                senteval_c_grid()
                    .len()
                    .saturating_mul(*folds)
                    .saturating_add(1),
            ),
        }
    }

    fn own_probe(&self) -> bool {
        matches!(
            self,
            ProtocolSpec::Clip
                | ProtocolSpec::Dinov2
                | ProtocolSpec::Mteb
                | ProtocolSpec::Vtab
                | ProtocolSpec::Senteval { .. }
        )
    }

    /// Runs the protocol on every row of `data`, with `split` the seeded hold-out of
    /// `test_fraction` (the training and test parts of the presets that take a split) and
    /// `probe` the probe of the protocols that take one. `None` for the plain hold-out,
    /// which the caller fits itself.
    pub fn run(
        &self,
        probe: &ProbeSpec,
        data: Labelled<'_>,
        split: &Split,
        test_fraction: f64,
        seed: u64,
    ) -> Result<Option<ProtocolRun>> {
        self.run_with(probe, data, split, test_fraction, seed, &mut |_, _| true)
    }

    /// [`ProtocolSpec::run`] calling `on_fit(done, total)` after every probe fit, `done`
    /// from 1 to `total` = [`ProtocolSpec::fit_count`]; when it returns `false` the run
    /// stops there with [`Error::Cancelled`] and no result. Results are those of `run`.
    pub fn run_with(
        &self,
        probe: &ProbeSpec,
        data: Labelled<'_>,
        split: &Split,
        test_fraction: f64,
        seed: u64,
        on_fit: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Result<Option<ProtocolRun>> {
        let fits = &mut FitProgress::new(self.fit_count(), on_fit);
        let rows = SplitRows::of(data, split)?;
        let (train, test) = rows.parts()?;
        let all_rows: Vec<usize> = (0..data.x.rows()).collect();
        let mut few_shot_points = Vec::new();
        let mut detail_of = None;
        let (mut result, whole) = match self {
            ProtocolSpec::Holdout => return Ok(None),
            ProtocolSpec::Clip => (clip_linear_probe_with(train, test, 0.2, seed, fits)?, false),
            ProtocolSpec::Dinov2 => (dinov2_linear_probe_with(train, test, seed, fits)?, false),
            ProtocolSpec::Mteb => (
                mteb_with(
                    train,
                    test,
                    MTEB_SAMPLES_PER_LABEL,
                    MTEB_EXPERIMENTS,
                    seed,
                    fits,
                )?,
                false,
            ),
            ProtocolSpec::Vtab => (vtab_1k_with(train, test, seed, fits)?, false),
            ProtocolSpec::Kfold { folds } => (kfold_with(probe, data, *folds, seed, fits)?, true),
            ProtocolSpec::Senteval { folds } => {
                (senteval_with(data, *folds, SENTEVAL_SEED, fits)?, true)
            }
            ProtocolSpec::Repeated { repeats } => {
                let seeds: Vec<u64> = (0..*repeats as u64).map(|i| seed + i).collect();
                (
                    repeated_holdout_with(probe, data, test_fraction, &seeds, fits)?,
                    false,
                )
            }
            ProtocolSpec::FewShot { shots, seeds } => {
                if shots.is_empty() || *seeds == 0 {
                    return Err(Error::InvalidParameter {
                        name: "few-shot shots / seeds",
                        value: format!("{shots:?} / {seeds}"),
                        why: "a few-shot curve needs at least one shot count and one seed",
                    });
                }
                let seed_list: Vec<u64> = (1..=*seeds as u64).collect();
                let mut runs = Vec::new();
                let mut last = None;
                for &k in shots {
                    let r = few_shot_with(probe, train, test, k, &seed_list, fits)?;
                    few_shot_points.push(FewShotPoint {
                        shots: k,
                        mean: r.accuracy.mean,
                        std: r.accuracy.std,
                        seeds: r.runs.len(),
                    });
                    runs.extend(r.runs.iter().map(|run| RunScore {
                        run: format!("{k} shots, {}", run.run),
                        ..run.clone()
                    }));
                    last = Some((k, r));
                }
                let (k, mut r) = last.ok_or(Error::NotReady("no few-shot run"))?;
                detail_of = Some(format!("{k} shots per class: {}", r.detail_of()));
                r.preset = "few_shot".into();
                r.runs = runs;
                (r, false)
            }
        };
        if self.own_probe() && probe.kind() != "logistic_regression" {
            result.deviations.push(format!(
                "the preset trains its own logistic regression; the chosen probe ({}) is not used",
                probe.kind()
            ));
        }
        let detail_of = detail_of.unwrap_or_else(|| result.detail_of());
        let fitted = result
            .detail
            .take()
            .ok_or(Error::NotReady("the protocol made no predictions"))?;
        let (train_rows, test_rows) = if whole {
            (all_rows.clone(), all_rows)
        } else {
            (split.train.clone(), split.test.clone())
        };
        Ok(Some(ProtocolRun {
            result,
            few_shot: few_shot_points,
            train_rows,
            test_rows,
            fitted,
            detail_of,
        }))
    }
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

    /// tests/fixtures/probes/senteval.json: SentEval's nested k-fold with scikit-learn
    /// (tools/make_probe_suite_fixtures.py), folds from StratifiedKFold(5, shuffle=True,
    /// random_state=1111), fits to the optimum (tol 1e-10). Same folds here: every C's inner
    /// accuracy, the chosen C and the test accuracy of every outer fold must equal it.
    #[test]
    fn senteval_matches_scikit_learn_on_its_folds() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/probes/senteval.json"
        );
        let f: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let usizes = |v: &serde_json::Value| -> Vec<usize> {
            serde_json::from_value::<Vec<usize>>(v.clone()).unwrap()
        };
        let rows: Vec<Vec<f64>> = serde_json::from_value(f["x"].clone()).unwrap();
        let x: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
        let y = usizes(&f["y"]);
        let data =
            Labelled::new(Features::new(&x, rows[0].len(), "x").unwrap(), &y, 3, "y").unwrap();
        let complement = |n: usize, test: &[usize]| Split {
            train: (0..n).filter(|i| test.binary_search(i).is_err()).collect(),
            test: test.to_vec(),
        };
        let folds = f["folds"].as_array().unwrap();
        let outer: Vec<Split> = folds
            .iter()
            .map(|fo| complement(y.len(), &usizes(&fo["test_index"])))
            .collect();
        let lr = LogRegConfig {
            c: 1.0,
            max_iter: f["max_iter"].as_u64().unwrap() as usize,
            tol: f["tol"].as_f64().unwrap(),
        };
        let result = senteval_with_splits(
            data,
            &outer,
            |i, yi| {
                Ok(folds[i]["inner_test_index"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| complement(yi.len(), &usizes(t)))
                    .collect())
            },
            lr,
        )
        .unwrap();
        let grid: Vec<f64> = serde_json::from_value(f["c_grid"].clone()).unwrap();
        assert_eq!(senteval_c_grid(), grid);
        assert_eq!(result.runs.len(), folds.len());
        for (i, fo) in folds.iter().enumerate() {
            let want: Vec<f64> = serde_json::from_value(fo["inner_mean_accuracy"].clone()).unwrap();
            let got: Vec<f64> = result.c_searches[i]
                .trials
                .iter()
                .map(|t| t.val_accuracy)
                .collect();
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-12,
                    "fold {i}: inner accuracies {got:?} vs {want:?}"
                );
            }
            assert_eq!(
                result.c_searches[i].chosen,
                fo["chosen"].as_f64().unwrap(),
                "fold {i}"
            );
            assert_eq!(result.runs[i].c, Some(fo["chosen"].as_f64().unwrap()));
            let acc = fo["test_accuracy"].as_f64().unwrap();
            assert!((result.runs[i].accuracy - acc).abs() < 1e-12, "fold {i}");
        }
        let mean = f["test_accuracy_mean"].as_f64().unwrap();
        assert!((result.accuracy.mean - mean).abs() < 1e-12);
        // The detail holds every row's out-of-fold prediction; its accuracy pools the folds.
        let detail = result.detail.unwrap();
        let correct = detail.pred.iter().zip(&y).filter(|(p, t)| p == t).count();
        let pooled: f64 = folds
            .iter()
            .map(|fo| {
                fo["test_accuracy"].as_f64().unwrap() * usizes(&fo["test_index"]).len() as f64
            })
            .sum();
        assert_eq!(correct as f64, pooled.round());
    }

    #[test]
    fn senteval_preset_runs_and_names_itself() {
        let x: Vec<f32> = (0..60)
            .map(|i| ((i * 7) % 11) as f32 + (i / 20) as f32 * 5.0)
            .collect();
        let y: Vec<usize> = (0..30).map(|i| i / 10).collect();
        let data = Labelled::new(Features::new(&x, 2, "x").unwrap(), &y, 3, "y").unwrap();
        let r = senteval(data, SENTEVAL_FOLDS, SENTEVAL_SEED).unwrap();
        assert_eq!(
            (r.preset.as_str(), r.runs.len(), r.c_searches.len()),
            ("senteval", 5, 5)
        );
        assert_eq!(r.detail.unwrap().pred.len(), 30);
        assert!(!r.deviations.is_empty());
        assert!(senteval(data, 1, 0).is_err());
        let bad = [Split {
            train: (0..29).collect(),
            test: vec![30],
        }];
        let lr = LogRegConfig::default();
        let e = senteval_with_splits(data, &bad, |_, _| Ok(Vec::new()), lr).unwrap_err();
        assert_eq!(e.to_string(), "invalid fold row = 30: outside the 30 rows");
    }

    #[test]
    fn dinov2_grid_ends() {
        let g = dinov2_c_grid();
        assert_eq!((g.len(), g[0], g[44]), (45, 1e-6, 1e5));
    }
}
