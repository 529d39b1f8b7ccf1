//! Every probe head behind one settings enum: fit on training features, predict the
//! test features, and describe what was done for the report.

use serde::{Deserialize, Serialize};

use crate::centroid;
use crate::error::{Error, Result};
use crate::knn;
use crate::mlp::{self, MlpConfig};
use crate::onnx_head::OnnxHead;
use crate::probe::{self, Features, LogRegConfig};
use crate::report::ProbeInfo;

/// Which probe to train, with its parameters (JSON: `{"kind": "knn_vote", "k": 3}`);
/// a missing parameter takes its default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeSpec {
    /// Multinomial L2 logistic regression, L-BFGS ([`probe::fit`]).
    LogisticRegression {
        #[serde(default = "default_c")]
        c: f64,
        #[serde(default = "default_max_iter")]
        max_iter: usize,
        #[serde(default = "default_tol")]
        tol: f64,
    },
    /// DINO's weighted k-NN (k = 20, T = 0.07).
    KnnWeighted {
        #[serde(default = "default_dino_k")]
        k: usize,
        #[serde(default = "default_temperature")]
        temperature: f64,
    },
    /// Plain k-NN vote (Teachable Machine, k = 3).
    KnnVote {
        #[serde(default = "default_vote_k")]
        k: usize,
    },
    /// Nearest class mean of SimpleShot's CL2N features.
    NearestCentroid,
    /// Dense(hidden, ReLU) -> softmax, Adam.
    Mlp {
        #[serde(flatten)]
        config: MlpConfig,
    },
    /// An uploaded ONNX head ([`OnnxHead`]), not trained: scored with [`head_predict`].
    OnnxHead,
}

fn default_c() -> f64 {
    LogRegConfig::default().c
}
fn default_max_iter() -> usize {
    LogRegConfig::default().max_iter
}
fn default_tol() -> f64 {
    LogRegConfig::default().tol
}
fn default_dino_k() -> usize {
    knn::DINO_K
}
fn default_temperature() -> f64 {
    knn::DINO_TEMPERATURE
}
fn default_vote_k() -> usize {
    knn::VOTE_K
}

impl Default for ProbeSpec {
    fn default() -> Self {
        ProbeSpec::logistic(LogRegConfig::default())
    }
}

impl ProbeSpec {
    /// Logistic regression with these settings.
    pub fn logistic(cfg: LogRegConfig) -> Self {
        ProbeSpec::LogisticRegression {
            c: cfg.c,
            max_iter: cfg.max_iter,
            tol: cfg.tol,
        }
    }

    /// The most progress steps a fit reports: L-BFGS iterations or MLP epochs.
    pub fn max_steps(&self) -> Option<usize> {
        match self {
            ProbeSpec::LogisticRegression { max_iter, .. } => Some(*max_iter),
            ProbeSpec::Mlp { config } => Some(config.epochs),
            _ => None,
        }
    }

    /// The `kind` name written in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeSpec::LogisticRegression { .. } => "logistic_regression",
            ProbeSpec::KnnWeighted { .. } => "knn_weighted",
            ProbeSpec::KnnVote { .. } => "knn_vote",
            ProbeSpec::NearestCentroid => "nearest_centroid",
            ProbeSpec::Mlp { .. } => "mlp",
            ProbeSpec::OnnxHead => "onnx_head",
        }
    }
}

/// Test predictions of a fitted probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub pred: Vec<usize>,
    /// Class scores, row-major `n_test x n_classes`, rows summing to 1.
    pub proba: Vec<f64>,
    pub info: ProbeInfo,
}

/// Fits `spec` on the training rows and predicts the test rows. `on_iter(step, loss)`
/// reports L-BFGS iterations or MLP epochs; return `false` from it to stop early.
pub fn fit_predict(
    spec: &ProbeSpec,
    train: Features<'_>,
    y_train: &[usize],
    test: Features<'_>,
    n_classes: usize,
    on_iter: impl FnMut(usize, f64) -> bool,
) -> Result<Fitted> {
    let mut info = ProbeInfo {
        kind: spec.kind().into(),
        ..Default::default()
    };
    let (pred, proba) = match *spec {
        ProbeSpec::LogisticRegression { c, max_iter, tol } => {
            let cfg = LogRegConfig { c, max_iter, tol };
            let model = probe::fit(train, y_train, n_classes, &cfg, on_iter)?;
            let proba = model.predict_proba(test)?;
            info.c = Some(c);
            info.penalty = Some("l2".into());
            info.solver = Some("lbfgs".into());
            info.max_iter = Some(max_iter);
            info.tol = Some(tol);
            info.iterations = Some(model.iterations);
            info.converged = Some(model.converged);
            info.objective = Some(model.objective);
            info.loss_per_iteration = Some(model.loss_per_iteration);
            (probe::argmax_rows(&proba, n_classes), proba)
        }
        ProbeSpec::KnnWeighted { k, temperature } => {
            let p = knn::weighted(train, y_train, test, n_classes, k, temperature)?;
            info.k = Some(k);
            info.temperature = Some(temperature);
            info.metric = Some("cosine".into());
            info.scores =
                Some("class sums of the neighbour weights exp(sim / T), normalised".into());
            (p.pred, p.scores)
        }
        ProbeSpec::KnnVote { k } => {
            let p = knn::vote(train, y_train, test, n_classes, k)?;
            info.k = Some(k);
            info.metric = Some("cosine".into());
            info.scores = Some("votes / k".into());
            (p.pred, p.scores)
        }
        ProbeSpec::NearestCentroid => {
            let model = centroid::fit(train, y_train, n_classes)?;
            let (pred, scores) = model.predict(test)?;
            info.metric = Some("euclidean".into());
            info.features = Some("cl2n".into());
            info.scores = Some("softmax of the negative centroid distances".into());
            (pred, scores)
        }
        ProbeSpec::Mlp { config } => {
            let model = mlp::fit(train, y_train, n_classes, &config, on_iter)?;
            let proba = model.predict_proba(test)?;
            info.hidden = Some(config.hidden);
            info.epochs = Some(config.epochs);
            info.batch_size = Some(config.batch_size);
            info.learning_rate = Some(config.learning_rate);
            info.seed = Some(config.seed);
            info.loss_per_epoch = Some(model.loss_per_epoch);
            (probe::argmax_rows(&proba, n_classes), proba)
        }
        ProbeSpec::OnnxHead => {
            return Err(Error::NotReady(
                "an ONNX head is not trained, so it is scored on the hold-out split only (no k-fold, few-shot or preset)",
            ))
        }
    };
    Ok(Fitted { pred, proba, info })
}

/// The test predictions of an uploaded head, described like a probe's.
pub fn head_predict(head: &OnnxHead, test: Features<'_>, n_classes: usize) -> Result<Fitted> {
    let scores = head.predict(test, n_classes)?;
    let info = ProbeInfo {
        kind: ProbeSpec::OnnxHead.kind().into(),
        head: Some(head.info().clone()),
        scores: Some(match scores.output {
            "probabilities" => "the head's outputs, which are probabilities".into(),
            _ => "softmax of the head's outputs (logits)".into(),
        }),
        ..Default::default()
    };
    Ok(Fitted {
        pred: probe::argmax_rows(&scores.proba, n_classes),
        proba: scores.proba,
        info,
    })
}
