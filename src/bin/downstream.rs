//! The `downstream` command line: the same core as the page, for batch work and tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use downstream::data::Dataset;
use downstream::encoder::Encoder;
use downstream::metrics::{self, Proba};
use downstream::session::{EvalConfig, Session};
use downstream::{npy, Error, Result};

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
    /// The page's pipeline: embed, stratified split, logistic-regression probe, report.
    Eval {
        #[arg(long)]
        model: PathBuf,
        /// A folder or .zip with one folder of images per class.
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
        /// Write the report JSON here (otherwise only a summary is printed).
        #[arg(long)]
        out: Option<PathBuf>,
    },
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
            .map(|i| format!("{}\n", dataset.classes[i.label]))
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
    if arr.shape.len() != want.len() + 1 || arr.shape[1..] != want[..] {
        return Err(Error::LengthMismatch {
            what: format!("input shape {:?} vs the model's [N, {want:?}]", arr.shape),
            expected: want.iter().product(),
            got: arr.shape.iter().skip(1).product(),
        });
    }
    let x: Vec<f32> = arr.data.iter().map(|&v| v as f32).collect();
    let emb = encoder.embed(&x)?;
    let n = arr.shape[0];
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
            if a.shape.len() != 2 || a.shape[0] != t.len() || a.shape[1] != labels.len() {
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

fn eval(model: &Path, data: &Path, cfg: EvalConfig, out: Option<&Path>) -> Result<()> {
    let mut session = Session::new();
    let info = session.load_model(&read(model)?, &file_name(model))?;
    let dataset = Dataset::from_path(data)?;
    let data_info = session.set_data(dataset)?;
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
    let report = session.evaluate(&cfg, |_, _| true)?;
    print!("{}", metrics::classification_report(&report.metrics));
    println!(
        "\naccuracy {:.4}  macro F1 {:.4}  (seed {}, {} train / {} test, probe {} iterations{})",
        report.metrics.accuracy,
        report.metrics.macro_f1,
        report.protocol.seed,
        report.protocol.n_train,
        report.protocol.n_test,
        report.probe.iterations,
        if report.probe.converged {
            ""
        } else {
            ", not converged"
        }
    );
    for w in &report.metrics.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(path) = out {
        write(path, report.to_json().as_bytes())?;
        println!("report written to {}", path.display());
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
            out,
        } => eval(
            model,
            data,
            EvalConfig {
                seed: *seed,
                test_fraction: *test_fraction,
                c: *c,
                max_iter: *max_iter,
                tol: *tol,
            },
            out.as_deref(),
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
