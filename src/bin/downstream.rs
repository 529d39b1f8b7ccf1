//! The `downstream` command line: the same core as the page, for batch work and tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use downstream::data::{Dataset, Manifest};
use downstream::encoder::{self, Encoder, ModelOptions, Pooling};
use downstream::heads::{self, ProbeSpec};
use downstream::metrics::{self, Proba};
use downstream::mlp::MlpConfig;
use downstream::preprocess::{ColorOrder, PreprocessOptions, ResizeMode, ScalePreset};
use downstream::probe::{Features, LogRegConfig};
use downstream::protocol::{self, Labelled, ProtocolSpec};
use downstream::session::{CiSettings, EvalConfig, Session};
use downstream::split::Split;
use downstream::stats::{self, BootstrapConfig, CiMethod};
use downstream::textdata::TextColumns;
use downstream::{embfile, knn, npy, text, Error, Result};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "downstream",
    version,
    about = "Evaluate ONNX encoders on labelled data with probes and faithful metrics"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an encoder: a preprocessed float32 .npy batch [N, ...], or an image folder / zip, to [N, D] embeddings.
    Embed {
        #[arg(long)]
        model: PathBuf,
        /// A .npy batch matching the model input, or a folder / .zip of class folders of images.
        #[arg(long)]
        input: PathBuf,
        /// Output .npy ([N, D] float32). For image input, labels go to <out>.labels.txt.
        #[arg(long)]
        out: PathBuf,
    },
    /// Score predictions against true labels (one label per line, any string).
    Metrics {
        #[arg(long)]
        y_true: PathBuf,
        #[arg(long)]
        y_pred: PathBuf,
        /// Class probabilities [N, K] (.npy), columns in sorted label order.
        #[arg(long)]
        proba: Option<PathBuf>,
        /// Print JSON instead of a text report.
        #[arg(long)]
        json: bool,
    },
    /// The page's pipeline: embed, stratified split, probe (logistic regression by default), report.
    Eval {
        #[arg(long)]
        model: PathBuf,
        /// A folder or .zip with one folder of images per class; with --tokenizer, a text
        /// CSV (header with --text-column and --label-column) or JSONL.
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// Inverse L2 regularisation strength of the probe.
        #[arg(long = "c", default_value_t = 1.0)]
        c: f64,
        #[arg(long, default_value_t = 1000)]
        max_iter: usize,
        /// Gradient tolerance of the probe's L-BFGS (largest gradient component).
        #[arg(long, default_value_t = EvalConfig::default().tol)]
        tol: f64,
        #[command(flatten)]
        probe: ProbeArgs,
        /// The protocol: one stratified hold-out split (default), a preset run on its
        /// training part (clip, dinov2, mteb, vtab) or over every item (kfold, senteval),
        /// repeated splits, or a few-shot curve.
        #[arg(long, value_enum, default_value_t = ProtocolName::Holdout)]
        protocol: ProtocolName,
        /// An ONNX head (embeddings [N, D] to class logits or probabilities [N, K]) scored on
        /// the test split instead of training a probe (overrides --probe).
        #[arg(long, value_name = "HEAD.onnx")]
        head: Option<PathBuf>,
        /// Folds of --protocol kfold (default 5) and senteval (default 5).
        #[arg(long)]
        folds: Option<usize>,
        /// Splits of --protocol repeated (seeds seed, seed + 1, …; default 10).
        #[arg(long)]
        repeats: Option<usize>,
        /// Shots per class of --protocol few-shot (default 1,2,4,8,16).
        #[arg(long, value_delimiter = ',')]
        shots: Option<Vec<usize>>,
        /// Seeds 1..=N of --protocol few-shot (default 10).
        #[arg(long)]
        seeds: Option<usize>,
        /// Bootstrap resamples of the accuracy and macro-F1 intervals (0: none).
        #[arg(long, default_value_t = stats::PAGE_RESAMPLES)]
        ci_resamples: usize,
        #[arg(long, value_enum, default_value_t = CiArg::Percentile)]
        ci_method: CiArg,
        #[command(flatten)]
        model_args: ModelArgs,
        /// Reference embeddings (.npy [N, D], made in Python) of the first N items in
        /// data-set order: max-abs and cosine differences are printed before evaluating.
        #[arg(long)]
        fidelity: Option<PathBuf>,
        /// A split manifest (CSV or JSON: path,label,split) for a --data folder or .zip
        /// that has none inside (one inside is then skipped); paths relative to the data.
        #[arg(long, value_name = "FILE", conflicts_with = "tokenizer")]
        manifest: Option<PathBuf>,
        /// Write the report JSON here (otherwise only a summary is printed).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Train and score a probe on precomputed embeddings: [N, D] .npy with labels one per
    /// line, .npz with arrays X and y, or .csv with a label column; a given train/test pair,
    /// or one file (--data) split like the page.
    Probe {
        /// Training embeddings (.npy needs --train-y; .npz and .csv carry their labels).
        #[arg(long, required_unless_present = "data", requires = "test_x")]
        train_x: Option<PathBuf>,
        #[arg(long)]
        train_y: Option<PathBuf>,
        #[arg(long, requires = "train_x")]
        test_x: Option<PathBuf>,
        #[arg(long)]
        test_y: Option<PathBuf>,
        /// One embeddings file, split with the page's seeded stratified hold-out (the report is the page's).
        #[arg(long, conflicts_with_all = ["train_x", "test_x", "preset"])]
        data: Option<PathBuf>,
        /// Labels of a --data .npy (one per line, or a 1-D .npy).
        #[arg(long, requires = "data")]
        labels: Option<PathBuf>,
        /// --data and --repeats: fraction of each class held out for testing.
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// --data: write the report JSON here.
        #[arg(long, requires = "data")]
        out: Option<PathBuf>,
        #[command(flatten)]
        probe: ProbeArgs,
        /// A published protocol instead of one fit (logistic regression presets ignore --probe).
        #[arg(long, value_enum, conflicts_with_all = ["kfold", "few_shot", "repeats"])]
        preset: Option<Preset>,
        /// Stratified k-fold cross-validation with K folds over the training and test rows together.
        #[arg(long, value_name = "K", conflicts_with_all = ["few_shot", "repeats"])]
        kfold: Option<usize>,
        /// Few-shot curve: these shots per class from the training rows, scored on the test rows.
        #[arg(
            long,
            value_name = "SHOTS",
            value_delimiter = ',',
            conflicts_with = "repeats"
        )]
        few_shot: Option<Vec<usize>>,
        /// Seeds 1..=N of --few-shot (default 10).
        #[arg(long, value_name = "N", requires = "few_shot")]
        seeds: Option<usize>,
        /// N repeated stratified hold-out splits (seeds seed, seed + 1, …) over the training
        /// and test rows together (or --data), test fraction --test-fraction.
        #[arg(long, value_name = "N")]
        repeats: Option<usize>,
        /// Seed of validation splits, resampling and the bootstrap.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Bootstrap resamples of the intervals (0: none).
        #[arg(long, default_value_t = stats::DEFAULT_RESAMPLES)]
        ci_resamples: usize,
        #[arg(long, value_enum, default_value_t = CiArg::Percentile)]
        ci_method: CiArg,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// 2-D map of embeddings, as the page's embedding map draws it: PCA or t-SNE coordinates
    /// to a CSV (one row per embedding, in input order).
    Map {
        /// Embeddings: a .npy [N, D], or a .npz (X, y) / CSV with a label column (labels unused).
        embeddings: PathBuf,
        #[arg(long, value_enum, default_value_t = MapMethod::Pca)]
        method: MapMethod,
        /// t-SNE perplexity (clamped to (N - 1) / 3 for small sets).
        #[arg(long, default_value_t = downstream::tsne::DEFAULT_PERPLEXITY)]
        perplexity: f32,
        /// Output CSV: a header (pc1,pc2 or tsne1,tsne2), then one "x,y" line per row.
        #[arg(long)]
        output: PathBuf,
    },
    /// Compare two reports on the same test items: McNemar and the paired bootstrap.
    Compare {
        #[arg(long)]
        report_a: PathBuf,
        #[arg(long)]
        report_b: PathBuf,
        #[arg(long, default_value_t = stats::DEFAULT_RESAMPLES)]
        resamples: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum MapMethod {
    /// scikit-learn's PCA(n_components=2).
    Pca,
    /// t-SNE (Barnes-Hut, scikit-learn's settings, PCA start; the page's numbers bit for bit).
    Tsne,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum ProbeKind {
    /// Multinomial L2 logistic regression (L-BFGS).
    Logreg,
    /// DINO's weighted k-NN (cosine, exp(sim / T); k 20).
    Knn,
    /// Plain k-NN vote (Teachable Machine; k 3).
    KnnVote,
    /// Nearest centroid, SimpleShot CL2N.
    Centroid,
    /// Dense(100, ReLU) -> softmax, Adam, 50 epochs.
    Mlp,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum Preset {
    /// CLIP linear probe: C grid + 8 refinement steps on a 20 % validation split.
    Clip,
    /// DINOv2: C = 10^linspace(-6, 5, 45) on a 10 % validation split.
    Dinov2,
    /// MTEB classification: 8 samples per label, 10 experiments.
    Mteb,
    /// VTAB-1k: 800 / 200 tuning, retrain on 1,000.
    Vtab,
    /// SentEval: nested stratified 5-fold (seed 1111), C in 2^-2..2^3, over every row.
    Senteval,
}

impl Preset {
    fn spec(self) -> ProtocolSpec {
        match self {
            Preset::Clip => ProtocolSpec::Clip,
            Preset::Dinov2 => ProtocolSpec::Dinov2,
            Preset::Mteb => ProtocolSpec::Mteb,
            Preset::Vtab => ProtocolSpec::Vtab,
            Preset::Senteval => ProtocolSpec::Senteval {
                folds: protocol::SENTEVAL_FOLDS,
            },
        }
    }
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum ProtocolName {
    /// One seeded stratified hold-out split.
    Holdout,
    /// CLIP linear probe on the training part (C search on a 20 % validation split).
    Clip,
    /// DINOv2's 45-point C grid on a 10 % validation split of the training part.
    Dinov2,
    /// MTEB classification (8 per label, 10 experiments) on the training part.
    Mteb,
    /// VTAB-1k (800 / 200) on the training part.
    Vtab,
    /// Stratified k-fold over every item (--folds).
    Kfold,
    /// Repeated stratified hold-out (--repeats).
    Repeated,
    /// Few-shot curve (--shots, --seeds) on the hold-out split.
    FewShot,
    /// SentEval's nested k-fold over every item (--folds).
    Senteval,
}

/// The protocol of `probe --preset`, `--kfold`, `--few-shot` or `--repeats`, if any.
fn probe_protocol_spec(
    preset: Option<Preset>,
    kfold: Option<usize>,
    few_shot: Option<&[usize]>,
    seeds: Option<usize>,
    repeats: Option<usize>,
) -> Option<ProtocolSpec> {
    if let Some(p) = preset {
        return Some(p.spec());
    }
    let name = match (kfold, few_shot, repeats) {
        (Some(_), _, _) => ProtocolName::Kfold,
        (_, Some(_), _) => ProtocolName::FewShot,
        (_, _, Some(_)) => ProtocolName::Repeated,
        _ => return None,
    };
    Some(protocol_spec(name, kfold, repeats, few_shot, seeds))
}

/// The protocol of `eval --protocol NAME` and its parameters (defaults where not given).
fn protocol_spec(
    name: ProtocolName,
    folds: Option<usize>,
    repeats: Option<usize>,
    shots: Option<&[usize]>,
    seeds: Option<usize>,
) -> ProtocolSpec {
    match name {
        ProtocolName::Holdout => ProtocolSpec::Holdout,
        ProtocolName::Clip => ProtocolSpec::Clip,
        ProtocolName::Dinov2 => ProtocolSpec::Dinov2,
        ProtocolName::Mteb => ProtocolSpec::Mteb,
        ProtocolName::Vtab => ProtocolSpec::Vtab,
        ProtocolName::Kfold => ProtocolSpec::Kfold {
            folds: folds.unwrap_or(protocol::DEFAULT_FOLDS),
        },
        ProtocolName::Repeated => ProtocolSpec::Repeated {
            repeats: repeats.unwrap_or(protocol::DEFAULT_REPEATS),
        },
        ProtocolName::FewShot => ProtocolSpec::FewShot {
            shots: shots.map_or_else(|| protocol::DEFAULT_SHOTS.to_vec(), <[usize]>::to_vec),
            seeds: seeds.unwrap_or(protocol::DEFAULT_REPEATS),
        },
        ProtocolName::Senteval => ProtocolSpec::Senteval {
            folds: folds.unwrap_or(protocol::SENTEVAL_FOLDS),
        },
    }
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum CiArg {
    Percentile,
    Bca,
}

impl From<CiArg> for CiMethod {
    fn from(c: CiArg) -> Self {
        match c {
            CiArg::Percentile => CiMethod::Percentile,
            CiArg::Bca => CiMethod::Bca,
        }
    }
}

#[derive(clap::Args)]
struct ProbeArgs {
    #[arg(long, value_enum, default_value_t = ProbeKind::Logreg)]
    probe: ProbeKind,
    /// Neighbours of a k-NN probe (default 20 weighted, 3 vote).
    #[arg(long)]
    k: Option<usize>,
    /// Temperature of the weighted k-NN.
    #[arg(long, default_value_t = knn::DINO_TEMPERATURE)]
    temperature: f64,
    /// Seed of the MLP's initial weights and shuffles.
    #[arg(long, default_value_t = 0)]
    mlp_seed: u64,
}

impl ProbeArgs {
    fn spec(&self, lr: LogRegConfig) -> ProbeSpec {
        match self.probe {
            ProbeKind::Logreg => ProbeSpec::logistic(lr),
            ProbeKind::Knn => ProbeSpec::KnnWeighted {
                k: self.k.unwrap_or(knn::DINO_K),
                temperature: self.temperature,
            },
            ProbeKind::KnnVote => ProbeSpec::KnnVote {
                k: self.k.unwrap_or(knn::VOTE_K),
            },
            ProbeKind::Centroid => ProbeSpec::NearestCentroid,
            ProbeKind::Mlp => ProbeSpec::Mlp {
                config: MlpConfig {
                    seed: self.mlp_seed,
                    ..Default::default()
                },
            },
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io(path.display(), e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| Error::io(path.display(), e))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn read_labels(path: &Path) -> Result<Vec<String>> {
    let bytes = read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::io(path.display(), format!("not UTF-8 text: {e}")))?;
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    Ok(lines)
}

fn embed(model: &Path, input: &Path, out: &Path) -> Result<()> {
    let is_npy = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if !is_npy {
        let mut session = Session::new();
        session.load_model(&read(model)?, &file_name(model))?;
        let dataset = Dataset::from_path(input)?;
        let labels: String = dataset
            .items
            .iter()
            .map(|i| {
                let class = dataset.classes.get(i.label).map_or("", String::as_str);
                format!("{class}\n")
            })
            .collect();
        let data = session.set_data(dataset)?;
        session.embed_all(256, |done, total| eprint!("\rembedded {done}/{total}"))?;
        eprintln!();
        let emb = session.embeddings();
        let dim = emb.len() / data.n.max(1);
        let mut buf = Vec::new();
        npy::write_f32(&mut buf, &[data.n, dim], emb)?;
        write(out, &buf)?;
        write(&out.with_extension("labels.txt"), labels.as_bytes())?;
        println!(
            "wrote {} embeddings of dimension {dim} to {}",
            data.n,
            out.display()
        );
        return Ok(());
    }
    let encoder = Encoder::load(&read(model)?, &file_name(model))?;
    let arr = npy::read(&read(input)?, &file_name(input))?;
    let want = encoder.sample_shape();
    let Some(&n) = arr
        .shape
        .split_first()
        .filter(|(_, s)| *s == &want[..])
        .map(|(n, _)| n)
    else {
        return Err(Error::LengthMismatch {
            what: format!("input shape {:?} vs the model's [N, {want:?}]", arr.shape),
            expected: want.iter().product(),
            got: arr.shape.iter().skip(1).product(),
        });
    };
    let x: Vec<f32> = arr.data.iter().map(|&v| v as f32).collect();
    let emb = encoder.embed(&x)?;
    let d = encoder.info().embedding_dim;
    let mut buf = Vec::new();
    npy::write_f32(&mut buf, &[n, d], &emb)?;
    write(out, &buf)?;
    println!("wrote {n} embeddings of dimension {d} to {}", out.display());
    Ok(())
}

fn score(y_true: &Path, y_pred: &Path, proba: Option<&Path>, json: bool) -> Result<()> {
    let t = read_labels(y_true)?;
    let p = read_labels(y_pred)?;
    if t.len() != p.len() {
        return Err(Error::LengthMismatch {
            what: format!("lines in {} vs {}", y_pred.display(), y_true.display()),
            expected: t.len(),
            got: p.len(),
        });
    }
    let (labels, ti, pi) = metrics::encode_labels(&t, &p);
    let proba_arr = match proba {
        Some(path) => {
            let a = npy::read(&read(path)?, &file_name(path))?;
            if a.shape != [t.len(), labels.len()] {
                return Err(Error::LengthMismatch {
                    what: format!(
                        "probability array shape {:?} vs [{} samples, {} labels]",
                        a.shape,
                        t.len(),
                        labels.len()
                    ),
                    expected: t.len() * labels.len(),
                    got: a.data.len(),
                });
            }
            Some(a)
        }
        None => None,
    };
    let m = metrics::evaluate(
        &ti,
        &pi,
        &labels,
        proba_arr.as_ref().map(|a| Proba {
            values: &a.data,
            n_classes: labels.len(),
        }),
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
    } else {
        print!("{}", metrics::classification_report(&m));
        println!();
        println!("balanced accuracy {:.4}", m.balanced_accuracy);
        println!("MCC               {:.4}", m.mcc);
        println!("Cohen kappa       {:.4}", m.cohen_kappa);
        if let (Some(ll), Some(t2)) = (m.log_loss, m.top_2_accuracy) {
            println!("log loss          {ll:.4}");
            println!("top-2 accuracy    {t2:.4}");
        }
        if let Some(auc) = m.roc_auc_ovr_macro {
            println!("ROC AUC (ovr)     {auc:.4}");
        }
        for w in &m.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(())
}

/// `eval`'s model options: preprocessing, output and pooling (defaults: the model's
/// proposal, as the page).
#[derive(clap::Args)]
struct ModelArgs {
    /// Scale preset: zero-one (pixel / 255, default), minus-one-one, zero-255, imagenet, or
    /// custom (with --mean and --std).
    #[arg(long, value_parser = kebab::<ScalePreset>)]
    preprocess: Option<ScalePreset>,
    /// Custom per-channel mean of pixel / 255 (one value, or one per model channel).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    mean: Option<Vec<f32>>,
    /// Custom per-channel standard deviation (one value, or one per model channel).
    #[arg(long, value_delimiter = ',')]
    std: Option<Vec<f32>>,
    /// stretch (to the input size, default) or crop (keep the aspect ratio, centre crop).
    #[arg(long, value_parser = kebab::<ResizeMode>)]
    resize: Option<ResizeMode>,
    /// Fraction kept by --resize crop (default 0.875 = 224/256).
    #[arg(long)]
    crop_ratio: Option<f64>,
    /// Channel order: rgb, bgr or gray (default: gray for 1 channel, rgb for 3).
    #[arg(long, value_parser = kebab::<ColorOrder>)]
    color: Option<ColorOrder>,
    /// The model output used as the embedding (default: the first).
    #[arg(long)]
    output: Option<String>,
    /// Pooling of an output of rank 3 or more: flatten (default), mean or cls. With
    /// --tokenizer: mean over the attention mask (default), cls, or none (= flatten: the
    /// output is already [N, D]).
    #[arg(long, value_parser = pooling_arg)]
    pooling: Option<Pooling>,
    #[command(flatten)]
    text: TextArgs,
}

/// `--pooling`: a kebab-case [`Pooling`], or `none` (the text encoders' name for flatten).
fn pooling_arg(s: &str) -> std::result::Result<Pooling, String> {
    match s {
        "none" => Ok(Pooling::Flatten),
        _ => kebab::<Pooling>(s),
    }
}

/// `eval`'s text options: --model is a text encoder (ONNX with `input_ids`, optionally
/// `attention_mask` and `token_type_ids`) run with its tokenizer.json on a text --data.
#[derive(clap::Args)]
struct TextArgs {
    /// The model's tokenizer.json (Hugging Face tokenizers): makes --model a text encoder
    /// and --data a CSV or JSONL of texts and labels.
    #[arg(long, value_name = "tokenizer.json")]
    tokenizer: Option<PathBuf>,
    /// The CSV column or JSONL key of the texts.
    #[arg(long, default_value = "text")]
    text_column: String,
    /// The CSV column or JSONL key of the labels.
    #[arg(long, default_value = "label")]
    label_column: String,
    /// Truncation in word pieces, special tokens included (sentence-transformers' 256).
    #[arg(long, default_value_t = text::DEFAULT_MAX_LENGTH)]
    max_length: usize,
    /// L2-normalise each text's vector (the default, as sentence-transformers' Normalize).
    #[arg(long, overrides_with = "no_normalize")]
    normalize: bool,
    /// Keep each text's pooled vector as it is.
    #[arg(long, overrides_with = "normalize")]
    no_normalize: bool,
}

impl TextArgs {
    fn options(&self, pooling: Option<Pooling>) -> text::TextOptions {
        text::TextOptions {
            max_length: self.max_length,
            pooling: match pooling {
                None | Some(Pooling::Mean) => text::Pooling::Mean,
                Some(Pooling::Cls) => text::Pooling::Cls,
                Some(Pooling::Flatten) => text::Pooling::None,
            },
            normalize: !self.no_normalize,
            ..Default::default()
        }
    }

    fn columns(&self) -> TextColumns {
        TextColumns {
            text: self.text_column.clone(),
            label: self.label_column.clone(),
        }
    }
}

/// Parses a kebab-case name of one of the core's option enums.
fn kebab<T: serde::de::DeserializeOwned>(s: &str) -> std::result::Result<T, String> {
    serde_json::from_value(json!(s)).map_err(|e| e.to_string())
}

impl ModelArgs {
    fn options(&self) -> Result<ModelOptions> {
        let custom = self.mean.is_some() || self.std.is_some();
        let scale = self.preprocess.unwrap_or(if custom {
            ScalePreset::Custom
        } else {
            ScalePreset::ZeroOne
        });
        if custom != (scale == ScalePreset::Custom) {
            return Err(Error::InvalidParameter {
                name: "--preprocess",
                value: kebab_name(&scale),
                why: "--mean and --std go with --preprocess custom, which needs both",
            });
        }
        let mut pre = PreprocessOptions {
            scale,
            mean: self.mean.clone().unwrap_or_default(),
            std: self.std.clone().unwrap_or_default(),
            ..Default::default()
        };
        if let Some(r) = self.resize {
            pre.resize = r;
        }
        if let Some(r) = self.crop_ratio {
            pre.crop_ratio = r;
        }
        if let Some(c) = self.color {
            pre.color = c;
        }
        Ok(ModelOptions {
            preprocess: pre,
            output: self.output.clone(),
            pooling: self.pooling.unwrap_or_default(),
        })
    }
}

fn kebab_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Where `eval` reads its data: a folder, zip or text file, and a manifest beside it.
struct DataSource<'a> {
    path: &'a Path,
    manifest: Option<&'a Path>,
}

fn eval(
    model: &Path,
    source: DataSource<'_>,
    model_args: &ModelArgs,
    fidelity_ref: Option<&Path>,
    head: Option<&Path>,
    mut cfg: EvalConfig,
    out: Option<&Path>,
) -> Result<()> {
    let data = source.path;
    let manifest = match source.manifest {
        Some(path) => Some(Manifest::new(&file_name(path), &read(path)?)?),
        None => None,
    };
    let text = &model_args.text;
    let mut session = Session::new();
    let info = match &text.tokenizer {
        Some(tokenizer) => session.load_text_model(
            &read(model)?,
            &read(tokenizer)?,
            &file_name(model),
            text.options(model_args.pooling),
        )?,
        None => {
            let model_options = model_args.options()?;
            session.load_model_with(&read(model)?, &file_name(model), &model_options)?
        }
    };
    if let Some(h) = head {
        session.load_head(&read(h)?, &file_name(h))?;
        cfg.probe = Some(ProbeSpec::OnnxHead);
    }
    for note in &info.notes {
        eprintln!("note: {note}");
    }
    let data_info = match &text.tokenizer {
        Some(_) => session.load_text_data(&read(data)?, &file_name(data), &text.columns())?,
        None => session.set_data(Dataset::from_path_with(data, manifest.as_ref())?)?,
    };
    if let Some(path) = fidelity_ref {
        let name = file_name(path);
        let reference =
            encoder::read_reference(&read(path)?, &name, data_info.n, info.embedding_dim)?;
        let n = reference.shape.first().copied().unwrap_or_default();
        let f = encoder::fidelity(&session.embed_range(0, n)?, &reference, &name)?;
        println!(
            "fidelity vs {name}: {} items x {}, max-abs {:.3e}, cosine mean {:.8} min {:.8} (item {})",
            f.n, f.dim, f.max_abs, f.mean_cosine, f.min_cosine, f.worst_row
        );
    }
    eprintln!(
        "model {}: input {:?}, {}-d embeddings; data {}: {} images in {} classes",
        info.name,
        info.input_shape,
        info.embedding_dim,
        data_info.name,
        data_info.n,
        data_info.classes.len()
    );
    for s in &data_info.skipped {
        eprintln!("skipped {}: {}", s.path, s.reason);
    }
    session.embed_all(256, |done, total| eprint!("\rembedded {done}/{total}"))?;
    eprintln!();
    let report = session.evaluate_with(&cfg, |_, _| true, print_fit_progress)?;
    print!("{}", metrics::classification_report(&report.metrics));
    let fit = match (report.probe.iterations, report.probe.converged) {
        (Some(i), Some(true)) => format!(", {i} iterations"),
        (Some(i), _) => format!(", {i} iterations, not converged"),
        _ => String::new(),
    };
    print_headline(report, &fit);
    let p = &report.protocol;
    if let (Some(from), Some(acc), Some(f1)) = (&p.metrics_from, &p.accuracy, &p.macro_f1) {
        println!("protocol {}: the metrics above are of {from}", p.name);
        if let Some(c) = p.chosen_c {
            println!("C chosen {c:e}");
        }
        for pt in &p.few_shot {
            println!(
                "{:>3} shots per class: accuracy {:.4} ± {:.4} over {} seeds",
                pt.shots, pt.mean, pt.std, pt.seeds
            );
        }
        let over = match p.few_shot.last() {
            Some(pt) => format!("at {} shots over {} seeds", pt.shots, pt.seeds),
            None => format!("over {} runs", p.runs.len()),
        };
        println!(
            "{over}: accuracy {:.4} ± {:.4}  macro F1 {:.4} ± {:.4}  (mean ± population std)",
            acc.mean, acc.std, f1.mean, f1.std
        );
        for dev in &p.deviations {
            println!("deviation: {dev}");
        }
    }
    for w in &report.metrics.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(b) = &report.baselines {
        println!(
            "baselines: majority class '{}' accuracy {:.4} (macro F1 {:.4}); chance {:.4}, with class frequencies {:.4}",
            b.majority_class,
            b.majority_accuracy,
            b.majority_macro_f1,
            b.chance_accuracy,
            b.stratified_chance_accuracy
        );
    }
    if let Some(path) = out {
        write(path, report.to_json().as_bytes())?;
        println!("report written to {}", path.display());
    }
    Ok(())
}

/// The report's headline (accuracy, macro F1, split, probe and `probe_note`) and its
/// confidence intervals.
fn print_headline(report: &downstream::report::Report, probe_note: &str) {
    println!(
        "\naccuracy {:.4}  macro F1 {:.4}  (seed {}, {} train / {} test, probe {}{probe_note})",
        report.metrics.accuracy,
        report.metrics.macro_f1,
        report.protocol.seed,
        report.protocol.n_train,
        report.protocol.n_test,
        report.probe.kind,
    );
    if let Some(ci) = &report.metrics.ci {
        println!("{}", ci_line(ci));
    }
}

fn ci_line(ci: &stats::HeadlineCi) -> String {
    format!(
        "{:.0} % bootstrap CI ({}, {} resamples, seed {}): accuracy [{:.4}, {:.4}]  macro F1 [{:.4}, {:.4}]",
        ci.level * 100.0,
        ci.method,
        ci.resamples,
        ci.seed,
        ci.accuracy[0],
        ci.accuracy[1],
        ci.macro_f1[0],
        ci.macro_f1[1]
    )
}

fn read_matrix(path: &Path) -> Result<(Vec<f32>, usize)> {
    let a = npy::read(&read(path)?, &file_name(path))?;
    match a.shape[..] {
        [_, d] if d > 0 => Ok((a.data.iter().map(|&v| v as f32).collect(), d)),
        _ => Err(Error::Array {
            name: file_name(path),
            detail: format!("expected a 2-D array [N, D], got shape {:?}", a.shape),
        }),
    }
}

struct ProbeCmd<'a> {
    train_x: &'a Path,
    train_y: Option<&'a Path>,
    test_x: &'a Path,
    test_y: Option<&'a Path>,
    spec: ProbeSpec,
    /// A preset or --kfold / --few-shot / --repeats instead of one fit.
    protocol: Option<ProtocolSpec>,
    test_fraction: f64,
    seed: u64,
    boot: Option<BootstrapConfig>,
    json: bool,
}

/// Embeddings and labels: a `.npy` matrix with a labels file (lengths checked by the
/// probe), or any file `embfile` reads.
fn read_embeddings(x: &Path, y: Option<&Path>) -> Result<(Vec<f32>, usize, Vec<String>)> {
    if let (Some(embfile::Kind::Npy), Some(y)) = (embfile::Kind::of(&file_name(x)), y) {
        let (m, d) = read_matrix(x)?;
        let labels = if embfile::Kind::of(&file_name(y)) == Some(embfile::Kind::Npy) {
            npy::read_labels(&read(y)?, &file_name(y))?
        } else {
            read_labels(y)?
        };
        return Ok((m, d, labels));
    }
    let labels = match y {
        Some(y) => Some((read(y)?, file_name(y))),
        None => None,
    };
    let e = embfile::read(
        &read(x)?,
        &file_name(x),
        labels.as_ref().map(|(b, n)| (b.as_slice(), n.as_str())),
    )?;
    Ok((e.x, e.dim, e.labels))
}

/// `probe --data`: the page's pipeline on precomputed embeddings (seeded stratified
/// hold-out, the page's report).
fn probe_split_cmd(
    data: &Path,
    labels: Option<&Path>,
    cfg: EvalConfig,
    out: Option<&Path>,
    json: bool,
) -> Result<()> {
    let mut session = Session::new();
    let labels = match labels {
        Some(y) => Some((read(y)?, file_name(y))),
        None => None,
    };
    let info = session.load_embeddings(
        &read(data)?,
        &file_name(data),
        labels.as_ref().map(|(b, n)| (b.as_slice(), n.as_str())),
    )?;
    eprintln!(
        "embeddings {}: {} rows in {} classes",
        info.name,
        info.n,
        info.classes.len()
    );
    let report = session.evaluate(&cfg, |_, _| true)?;
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", metrics::classification_report(&report.metrics));
        print_headline(report, "");
        for w in &report.metrics.warnings {
            eprintln!("warning: {w}");
        }
    }
    if let Some(path) = out {
        write(path, report.to_json().as_bytes())?;
        eprintln!("report written to {}", path.display());
    }
    Ok(())
}

/// Fit progress of a protocol on stderr (`probe fits 3/24`, a line end after the last).
fn print_fit_progress(done: usize, total: usize) -> bool {
    eprint!("\rprobe fits {done}/{total}");
    if done >= total {
        eprintln!();
    }
    true
}

/// Runs a protocol on a given train / test pair: the presets and the few-shot curve use
/// the pair as their training and test parts; k-fold, repeated splits and SentEval use
/// every row of both.
fn probe_protocol(
    a: &ProbeCmd<'_>,
    spec: &ProtocolSpec,
    train: Labelled<'_>,
    test: Labelled<'_>,
) -> Result<()> {
    let (n_train, n) = (train.y.len(), train.y.len() + test.y.len());
    let x: Vec<f32> = [train.x.values(), test.x.values()].concat();
    let y: Vec<usize> = [train.y, test.y].concat();
    let all = Labelled::new(
        Features::new(&x, train.x.dim(), "training and test rows")?,
        &y,
        train.n_classes,
        "training and test rows",
    )?;
    let split = Split {
        train: (0..n_train).collect(),
        test: (n_train..n).collect(),
    };
    let Some(run) = spec.run_with(
        &a.spec,
        all,
        &split,
        a.test_fraction,
        a.seed,
        &mut print_fit_progress,
    )?
    else {
        return Err(Error::NotReady("the hold-out is not a protocol of probe"));
    };
    let result = &run.result;
    if a.json {
        let mut v = serde_json::to_value(result).map_err(|e| Error::io("JSON", e))?;
        if let Some(o) = v.as_object_mut() {
            if !run.few_shot.is_empty() {
                o.insert("few_shot".into(), json!(run.few_shot));
            }
            o.insert("settings".into(), json!(spec));
        }
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    println!(
        "preset {}  probe {}  runs {}",
        result.preset,
        result.probe,
        result.runs.len()
    );
    for s in &result.c_searches {
        println!(
            "C chosen {:e} after {} validation fits",
            s.chosen,
            s.trials.len()
        );
    }
    for p in &run.few_shot {
        println!(
            "{:>3} shots per class: accuracy {:.4} ± {:.4} over {} seeds",
            p.shots, p.mean, p.std, p.seeds
        );
    }
    println!(
        "accuracy {:.4} ± {:.4}  macro F1 {:.4} ± {:.4}  (mean ± population std{})",
        result.accuracy.mean,
        result.accuracy.std,
        result.macro_f1.mean,
        result.macro_f1.std,
        if run.few_shot.is_empty() {
            ""
        } else {
            ", largest shot count"
        }
    );
    for dev in &result.deviations {
        println!("deviation: {dev}");
    }
    Ok(())
}

fn probe_cmd(a: &ProbeCmd<'_>) -> Result<()> {
    let (xtr, d, ytr_s) = read_embeddings(a.train_x, a.train_y)?;
    let (xte, dte, yte_s) = read_embeddings(a.test_x, a.test_y)?;
    let (labels, ytr, yte) = metrics::encode_labels(&ytr_s, &yte_s);
    let k = labels.len();
    let train_f = Features::new(&xtr, d, &file_name(a.train_x))?;
    let test_f = Features::new(&xte, dte, &file_name(a.test_x))?;
    let train = Labelled::new(train_f, &ytr, k, "training set")?;
    let test = Labelled::new(test_f, &yte, k, "test set")?;
    if d != dte {
        return Err(Error::LengthMismatch {
            what: "test feature dimension vs training".into(),
            expected: d,
            got: dte,
        });
    }
    if let Some(spec) = &a.protocol {
        return probe_protocol(a, spec, train, test);
    }
    let fitted = heads::fit_predict(&a.spec, train_f, &ytr, test_f, k, |_, _| true)?;
    let proba = Proba {
        values: &fitted.proba,
        n_classes: k,
    };
    let mut m = metrics::evaluate(&yte, &fitted.pred, &labels, Some(proba))?;
    if let Some(boot) = &a.boot {
        m.ci = Some(stats::headline_ci(&yte, &fitted.pred, k, boot)?);
    }
    if a.json {
        m.curves = Some(metrics::curves(&yte, &labels, proba)?);
        let confidence: Vec<f64> = fitted
            .proba
            .chunks_exact(k)
            .zip(&fitted.pred)
            .map(|(r, &p)| r.get(p).copied().unwrap_or(0.0))
            .collect();
        let out = json!({
            "probe": fitted.info,
            "protocol": {"name": "given_split", "n_train": ytr.len(), "n_test": yte.len()},
            "metrics": m,
            "predictions": {
                "test_index": (0..yte.len()).collect::<Vec<_>>(),
                "y_true": yte,
                "y_pred": fitted.pred,
                "confidence": confidence,
            },
        });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        print!("{}", metrics::classification_report(&m));
        println!(
            "\naccuracy {:.4}  macro F1 {:.4}  (probe {}, {} train / {} test)",
            m.accuracy,
            m.macro_f1,
            fitted.info.kind,
            ytr.len(),
            yte.len()
        );
        if let Some(ci) = &m.ci {
            println!("{}", ci_line(ci));
        }
        for w in &m.warnings {
            eprintln!("warning: {w}");
        }
    }
    Ok(())
}

/// Reads a report file for `compare`.
fn load_compared(path: &Path) -> Result<downstream::compare::Compared> {
    let text = String::from_utf8(read(path)?).map_err(|e| Error::InvalidReport {
        detail: format!("{}: not UTF-8: {e}", path.display()),
    })?;
    downstream::compare::Compared::from_json(&text, &path.display().to_string())
}

/// `map`: PCA or t-SNE coordinates of embeddings to a CSV. Values are written in Rust's
/// shortest round-trip form, so reading them back gives the same floats.
fn map(embeddings: &Path, method: MapMethod, perplexity: f32, output: &Path) -> Result<()> {
    let (x, dim) = if embfile::Kind::of(&file_name(embeddings)) == Some(embfile::Kind::Npy) {
        read_matrix(embeddings)?
    } else {
        let (x, dim, _) = read_embeddings(embeddings, None)?;
        (x, dim)
    };
    let mut csv = String::new();
    match method {
        MapMethod::Pca => {
            let p = downstream::pca::pca2(&x, dim)?;
            csv.push_str("pc1,pc2\n");
            for r in p.coords.chunks_exact(2) {
                if let [a, b] = r {
                    csv.push_str(&format!("{a},{b}\n"));
                }
            }
            eprintln!(
                "PCA of {} rows of {dim}: {:.1} % and {:.1} % of the variance",
                p.n,
                p.explained_variance_ratio[0] * 100.0,
                p.explained_variance_ratio[1] * 100.0
            );
        }
        MapMethod::Tsne => {
            let opts = downstream::tsne::TsneOptions {
                perplexity,
                ..Default::default()
            };
            let t = downstream::tsne::tsne2(&x, dim, &opts)?;
            csv.push_str("tsne1,tsne2\n");
            for r in t.coords.chunks_exact(2) {
                if let [a, b] = r {
                    csv.push_str(&format!("{a},{b}\n"));
                }
            }
            eprintln!(
                "t-SNE of {} rows of {dim}: perplexity {}, {} iterations, KL divergence {:.4}",
                t.n,
                t.perplexity,
                t.iterations,
                t.kl_divergence.unwrap_or(f64::NAN)
            );
        }
    }
    write(output, csv.as_bytes())?;
    eprintln!("coordinates written to {}", output.display());
    Ok(())
}

fn compare(path_a: &Path, path_b: &Path, boot: &BootstrapConfig, json: bool) -> Result<()> {
    let a = load_compared(path_a)?;
    let b = load_compared(path_b)?;
    let cmp = downstream::compare::compare(&a, &b, boot)?;
    let (mc, diff) = (cmp.mcnemar, cmp.paired_bootstrap);
    if json {
        let out = json!({"n_test": a.y_true.len(), "mcnemar": mc, "paired_bootstrap": diff});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!(
            "{} test items: accuracy A {:.4}, B {:.4}, A - B {:+.4}",
            a.y_true.len(),
            diff.accuracy_a,
            diff.accuracy_b,
            diff.difference
        );
        let p = if mc.p_value < 1e-4 {
            format!("{:.2e}", mc.p_value)
        } else {
            format!("{:.4}", mc.p_value)
        };
        println!(
            "McNemar ({}): only A right {}, only B right {}, statistic {:.4}, p = {p}",
            mc.method, mc.b, mc.c, mc.statistic
        );
        println!(
            "paired bootstrap {:.0} % CI of A - B ({}, {} resamples, seed {}): [{:+.4}, {:+.4}]",
            diff.level * 100.0,
            diff.method,
            diff.resamples,
            diff.seed,
            diff.ci[0],
            diff.ci[1]
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Embed { model, input, out } => embed(model, input, out),
        Command::Metrics {
            y_true,
            y_pred,
            proba,
            json,
        } => score(y_true, y_pred, proba.as_deref(), *json),
        Command::Eval {
            model,
            data,
            seed,
            test_fraction,
            c,
            max_iter,
            tol,
            probe,
            head,
            protocol,
            folds,
            repeats,
            shots,
            seeds,
            ci_resamples,
            ci_method,
            model_args,
            fidelity,
            manifest,
            out,
        } => {
            let lr = LogRegConfig {
                c: *c,
                max_iter: *max_iter,
                tol: *tol,
            };
            let spec = probe.spec(lr);
            eval(
                model,
                DataSource {
                    path: data,
                    manifest: manifest.as_deref(),
                },
                model_args,
                fidelity.as_deref(),
                head.as_deref(),
                EvalConfig {
                    seed: *seed,
                    test_fraction: *test_fraction,
                    c: *c,
                    max_iter: *max_iter,
                    tol: *tol,
                    probe: (probe.probe != ProbeKind::Logreg).then_some(spec),
                    ci: (*ci_resamples > 0).then(|| CiSettings {
                        resamples: *ci_resamples,
                        method: (*ci_method).into(),
                        ..Default::default()
                    }),
                    protocol: protocol_spec(*protocol, *folds, *repeats, shots.as_deref(), *seeds),
                },
                out.as_deref(),
            )
        }
        Command::Probe {
            data: Some(data),
            labels,
            test_fraction,
            out,
            probe,
            kfold,
            few_shot,
            seeds,
            repeats,
            seed,
            ci_resamples,
            ci_method,
            json,
            ..
        } => probe_split_cmd(
            data,
            labels.as_deref(),
            EvalConfig {
                seed: *seed,
                test_fraction: *test_fraction,
                probe: (probe.probe != ProbeKind::Logreg)
                    .then(|| probe.spec(LogRegConfig::default())),
                ci: (*ci_resamples > 0).then(|| CiSettings {
                    resamples: *ci_resamples,
                    method: (*ci_method).into(),
                    ..Default::default()
                }),
                protocol: probe_protocol_spec(None, *kfold, few_shot.as_deref(), *seeds, *repeats)
                    .unwrap_or_default(),
                ..Default::default()
            },
            out.as_deref(),
            *json,
        ),
        Command::Probe {
            train_x: Some(train_x),
            train_y,
            test_x: Some(test_x),
            test_y,
            probe,
            preset,
            kfold,
            few_shot,
            seeds,
            repeats,
            test_fraction,
            seed,
            ci_resamples,
            ci_method,
            json,
            ..
        } => probe_cmd(&ProbeCmd {
            train_x,
            train_y: train_y.as_deref(),
            test_x,
            test_y: test_y.as_deref(),
            spec: probe.spec(LogRegConfig::default()),
            protocol: probe_protocol_spec(*preset, *kfold, few_shot.as_deref(), *seeds, *repeats),
            test_fraction: *test_fraction,
            seed: *seed,
            boot: (*ci_resamples > 0).then(|| BootstrapConfig {
                resamples: *ci_resamples,
                method: (*ci_method).into(),
                seed: *seed,
                ..Default::default()
            }),
            json: *json,
        }),
        Command::Probe { .. } => Err(Error::NotReady(
            "probe needs --train-x and --test-x, or --data",
        )),
        Command::Map {
            embeddings,
            method,
            perplexity,
            output,
        } => map(embeddings, *method, *perplexity, output),
        Command::Compare {
            report_a,
            report_b,
            resamples,
            seed,
            json,
        } => compare(
            report_a,
            report_b,
            &BootstrapConfig {
                resamples: *resamples,
                seed: *seed,
                ..Default::default()
            },
            *json,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
