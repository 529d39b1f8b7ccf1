//! The evaluation workflow behind the page and the CLI: load a model and a data set,
//! embed in steps (so callers can show progress and cancel), then fit and score.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::{DataBytes, DataInfo, Dataset, Manifest};
use crate::embfile;
use crate::encoder::{self, Encoder, Fidelity, ModelInfo, ModelOptions, Pooling};
use crate::error::{Error, Result};
use crate::heads::{self, ProbeSpec};
use crate::knn::{self, KnnRule};
use crate::metrics::{self, Proba};
use crate::onnx_head::{HeadInfo, OnnxHead};
use crate::preprocess::{Layout, Preprocessing};
use crate::probe::{self, Features, LogRegConfig};
use crate::protocol::{Labelled, ProtocolSpec, SENTEVAL_SEED};
use crate::report::{Baselines, Predictions, Protocol, Report, Tool, SCHEMA, VERSION};
use crate::split;
use crate::stats::{self, BootstrapConfig, CiMethod, PAGE_RESAMPLES};
use crate::text::{self, TextEncoder, TextOptions};
use crate::textdata::{TextColumns, TextDataset};

/// Evaluation settings; every field has the page's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalConfig {
    pub seed: u64,
    pub test_fraction: f64,
    /// C, max_iter and tol of the default probe (logistic regression).
    pub c: f64,
    pub max_iter: usize,
    pub tol: f64,
    /// The probe; `None` (the default) is logistic regression with `c`, `max_iter`, `tol`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeSpec>,
    /// Bootstrap intervals of accuracy and macro F1 in `metrics.ci`, seeded with `seed`;
    /// `None` for none. Default: 1,000 resamples, 95 %, percentile.
    pub ci: Option<CiSettings>,
    /// The protocol (JSON `{"name": "kfold", "folds": 5}`); the default is one seeded
    /// stratified hold-out split of `test_fraction`.
    pub protocol: ProtocolSpec,
}

/// How the report's bootstrap intervals are made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CiSettings {
    /// Resamples (the page's default 1,000; scipy's default is 9,999).
    pub resamples: usize,
    pub level: f64,
    pub method: CiMethod,
}

impl Default for CiSettings {
    fn default() -> Self {
        CiSettings {
            resamples: PAGE_RESAMPLES,
            level: 0.95,
            method: CiMethod::Percentile,
        }
    }
}

impl Default for EvalConfig {
    fn default() -> Self {
        let lr = LogRegConfig::default();
        EvalConfig {
            seed: 0,
            test_fraction: 0.2,
            c: lr.c,
            max_iter: lr.max_iter,
            tol: lr.tol,
            probe: None,
            ci: Some(CiSettings::default()),
            protocol: ProtocolSpec::Holdout,
        }
    }
}

impl EvalConfig {
    /// The probe to train.
    pub fn probe_spec(&self) -> ProbeSpec {
        self.probe.unwrap_or(ProbeSpec::LogisticRegression {
            c: self.c,
            max_iter: self.max_iter,
            tol: self.tol,
        })
    }
}

/// Texts that `embed_range` sorts by length together before batching (the whole data set
/// goes through [`Session::text_order`] instead): the page's `EMBED_STEP` (www/worker.js).
pub const TEXT_WINDOW: usize = 64;
const NO_HEAD: &str = "load an ONNX head (embeddings [N, D] to class scores [N, K]) first";

/// Loaded model, data and embeddings. A failed load keeps what was loaded before.
#[derive(Default)]
pub struct Session {
    encoder: Option<Encoder>,
    data: Option<Dataset>,
    /// Set when `data` are precomputed embeddings: what the report says made them.
    precomputed: Option<(ModelInfo, Preprocessing)>,
    embeddings: Vec<f32>,
    embedded: usize,
    report: Option<Report>,
    /// An uploaded ONNX head, used when the probe is `onnx_head`.
    head: Option<OnnxHead>,
    /// A text encoder, used instead of `encoder` when loaded last.
    text: Option<TextModel>,
    /// While a text data set is embedded step by step: [`Session::text_order`], whose
    /// positions `embed_step` walks.
    text_order: Option<Vec<usize>>,
    /// The last report's k-NN probe and training rows, for [`Session::neighbours`].
    knn: Option<KnnFit>,
}

/// What [`Session::neighbours`] needs of a hold-out evaluation with a k-NN probe.
struct KnnFit {
    rule: KnnRule,
    /// Data-set items of the training rows, in the order the probe saw them.
    train_rows: Vec<usize>,
}

/// One of a test item's `k` nearest training items, as the k-NN probe ranked it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NeighbourItem {
    /// The training item's index in the data set.
    pub item_index: usize,
    /// Cosine similarity to the test item.
    pub similarity: f32,
    /// Its vote: `exp(similarity / T)` (weighted k-NN) or 1 (plain vote).
    pub weight: f64,
    /// Its class index.
    pub label: usize,
}

/// A loaded text encoder (ONNX + `tokenizer.json`) and what the report says made the embeddings.
struct TextModel {
    encoder: TextEncoder,
    info: ModelInfo,
    preprocessing: Preprocessing,
}

impl Session {
    /// An empty session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads an ONNX encoder; on error the previous one stays.
    pub fn load_model(&mut self, bytes: &[u8], name: &str) -> Result<ModelInfo> {
        self.load_model_with(bytes, name, &ModelOptions::default())
    }

    /// Loads an ONNX encoder with the user's preprocessing, output and pooling; on error
    /// the previous one stays.
    pub fn load_model_with(
        &mut self,
        bytes: &[u8],
        name: &str,
        options: &ModelOptions,
    ) -> Result<ModelInfo> {
        let encoder = Encoder::load_with(bytes, name, options)?;
        let info = encoder.info().clone();
        self.encoder = Some(encoder);
        self.text = None;
        if self.precomputed.take().is_some() {
            self.data = None;
        }
        self.reset_embeddings();
        Ok(info)
    }

    /// The loaded encoder's preprocessing, as a report records it.
    pub fn model_preprocessing(&self) -> Option<Preprocessing> {
        self.encoder.as_ref().map(Encoder::describe_preprocessing)
    }

    /// Compares the encoder's embeddings of the first N data-set items with reference
    /// embeddings (`.npy`, `[N, D]`, made in Python for the same items in data-set order).
    pub fn fidelity(&self, bytes: &[u8], name: &str) -> Result<Fidelity> {
        let (encoder, data) = self.parts()?;
        let reference =
            encoder::read_reference(bytes, name, data.items.len(), encoder.info().embedding_dim)?;
        let n = reference.shape.first().copied().unwrap_or_default();
        encoder::fidelity(&self.embed_range(0, n)?, &reference, name)
    }

    /// Loads a zip archive of class folders; on error the previous data stay.
    pub fn load_data_zip(&mut self, bytes: &[u8], name: &str) -> Result<DataInfo> {
        self.set_data(Dataset::from_zip(bytes, name)?)
    }

    /// Loads the files of a folder (paths relative to it, with their bytes): class
    /// folders, `train/ val/ test/` folders or a manifest, as [`Dataset::from_files`];
    /// on error the previous data stay.
    pub fn load_data_files(
        &mut self,
        files: Vec<(String, Vec<u8>)>,
        name: &str,
    ) -> Result<DataInfo> {
        self.set_data(Dataset::from_files(files, name)?)
    }

    /// [`Session::load_data_zip`] (no `paths`) or [`Session::load_data_files`] with a split
    /// manifest given beside the data (`Dataset::from_zip_with` / `from_files_with`);
    /// on error the previous data stay.
    pub fn load_data_with_manifest(
        &mut self,
        data: DataBytes<'_>,
        name: &str,
        manifest: &Manifest,
    ) -> Result<DataInfo> {
        let dataset = match data {
            DataBytes::Zip(bytes) => Dataset::from_zip_with(bytes, name, Some(manifest))?,
            DataBytes::Files(files) => Dataset::from_files_with(files, name, Some(manifest))?,
        };
        self.set_data(dataset)
    }

    /// Uses an already loaded data set.
    pub fn set_data(&mut self, data: Dataset) -> Result<DataInfo> {
        let info = data.info();
        self.data = Some(data);
        self.precomputed = None;
        self.reset_embeddings();
        Ok(info)
    }

    /// Loads precomputed embeddings (`.npy` with `labels`, `.npz` or CSV; see
    /// [`embfile::read`]) as the data set, already embedded: no encoder is needed and the
    /// report's model names the file. On error the previous data stay.
    pub fn load_embeddings(
        &mut self,
        bytes: &[u8],
        name: &str,
        labels: Option<(&[u8], &str)>,
    ) -> Result<DataInfo> {
        let emb = embfile::read(bytes, name, labels)?;
        let mut hasher = Sha256::new();
        hasher.update(bytes);
        if let Some((lb, _)) = labels {
            hasher.update(lb);
        }
        let sha256 = format!("{:x}", hasher.finalize());
        let data = Dataset::from_labels(name, sha256.clone(), &emb.labels)?;
        let model = ModelInfo {
            name: name.into(),
            sha256,
            input_name: "precomputed embeddings".into(),
            input_shape: Vec::new(),
            layout: Layout::Flat,
            channels: 0,
            height: 0,
            width: 0,
            batch: 0,
            embedding_dim: emb.dim,
            outputs: Vec::new(),
            output: String::new(),
            output_shape: Vec::new(),
            pooling: Pooling::Flatten,
            notes: Vec::new(),
        };
        let none = || "none (precomputed embeddings)".to_string();
        let preprocessing = Preprocessing {
            layout: Layout::Flat,
            channels: 0,
            height: 0,
            width: 0,
            color: none(),
            resize: none(),
            scale: none(),
            options: None,
        };
        let info = data.info();
        self.data = Some(data);
        self.precomputed = Some((model, preprocessing));
        self.knn = None;
        self.embedded = emb.n();
        self.embeddings = emb.x;
        Ok(info)
    }

    /// What made the embeddings (the encoder, or the precomputed file) and the data set.
    fn described(&self) -> Result<(ModelInfo, Preprocessing, &Dataset)> {
        let data = self
            .data
            .as_ref()
            .ok_or(Error::NotReady("load a data set first"))?;
        if let Some((model, pre)) = &self.precomputed {
            return Ok((model.clone(), pre.clone(), data));
        }
        if let Some(t) = &self.text {
            return Ok((t.info.clone(), t.preprocessing.clone(), data));
        }
        let (encoder, data) = self.parts()?;
        Ok((
            encoder.info().clone(),
            encoder.describe_preprocessing(),
            data,
        ))
    }

    fn reset_embeddings(&mut self) {
        self.embeddings.clear();
        self.embedded = 0;
        self.text_order = None;
        self.knn = None;
    }

    fn parts(&self) -> Result<(&Encoder, &Dataset)> {
        let encoder = self
            .encoder
            .as_ref()
            .ok_or(Error::NotReady("load a model first"))?;
        let data = self
            .data
            .as_ref()
            .ok_or(Error::NotReady("load a data set first"))?;
        Ok((encoder, data))
    }

    /// Starts (or restarts) embedding; returns the number of items to embed.
    pub fn embed_begin(&mut self) -> Result<usize> {
        if self.precomputed.is_some() {
            return Ok(self.embedded);
        }
        let total = self.embedder()?.1.items.len();
        self.reset_embeddings();
        Ok(total)
    }

    /// Embeds up to `max_items` more items; returns how many are embedded so far. Images go
    /// in data-set order; texts in [`Session::text_order`].
    pub fn embed_step(&mut self, max_items: usize) -> Result<usize> {
        let (dim, data) = self.embedder()?;
        let total = data.items.len();
        let start = self.embedded;
        let end = (start + max_items.max(1)).min(total);
        if start >= end {
            return Ok(start);
        }
        if self.text.is_some() && data.text {
            // Texts go in [`Session::text_order`] (longest first), as the page's pool sends
            // them (`embed_items`); each row lands at its item's place.
            if self.text_order.is_none() {
                let order = self.text_order()?;
                self.embeddings = vec![0.0; total * dim];
                self.text_order = Some(order);
            }
            let items = self
                .text_order
                .as_ref()
                .and_then(|order| order.get(start..end))
                .unwrap_or_default()
                .to_vec();
            let emb = self.embed_items(&items)?;
            for (&item, row) in items.iter().zip(emb.chunks_exact(dim)) {
                if let Some(dst) = self.embeddings.get_mut(item * dim..(item + 1) * dim) {
                    dst.copy_from_slice(row);
                }
            }
            self.embedded = end;
            return Ok(end);
        }
        let emb = self.embed_range(start, end)?;
        self.embeddings.extend_from_slice(&emb);
        self.embedded = end;
        Ok(end)
    }

    fn check_range(&self, start: usize, end: usize) -> Result<(&Encoder, &Dataset)> {
        let (encoder, data) = self.parts()?;
        if data.text {
            return Err(Error::NotReady(
                "the data set is text: load a text model (ONNX with its tokenizer.json)",
            ));
        }
        if start > end || end > data.items.len() {
            return Err(Error::InvalidValue {
                name: "item range",
                value: format!("{start}..{end}"),
                why: format!("outside the data set's {} items", data.items.len()),
            });
        }
        Ok((encoder, data))
    }

    /// Decodes and preprocesses items `[start, end)` into model input rows.
    pub fn preprocess_range(&self, start: usize, end: usize) -> Result<Vec<f32>> {
        let (encoder, data) = self.check_range(start, end)?;
        let spec = *encoder.spec();
        let mut inputs = vec![0.0f32; (end - start) * spec.len()];
        // `check_range` checked start <= end <= items.
        for (item, out) in data
            .items
            .iter()
            .skip(start)
            .take(end - start)
            .zip(inputs.chunks_exact_mut(spec.len()))
        {
            encoder.preprocess(&item.bytes, &item.path, out)?;
        }
        Ok(inputs)
    }

    /// Embeds items `[start, end)` (row-major, `(end - start) x dim`) without touching the
    /// session's own embeddings: several workers can embed disjoint ranges in parallel.
    /// Ranges that match `embed_step`'s chunks give bit-identical embeddings.
    pub fn embed_range(&self, start: usize, end: usize) -> Result<Vec<f32>> {
        if let Some(t) = &self.text {
            return self.embed_texts(t, start, end);
        }
        let inputs = self.preprocess_range(start, end)?;
        let (encoder, data) = self.parts()?;
        let emb = encoder.embed(&inputs)?;
        let dim = encoder.info().embedding_dim;
        if let Some((pos, &bad)) = emb.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            let row = start + pos / dim;
            let path = data.items.get(row).map_or("?", |i| i.path.as_str());
            return Err(Error::NonFinite {
                what: format!("the embedding of '{path}'"),
                row,
                col: pos % dim,
                value: f64::from(bad),
            });
        }
        Ok(emb)
    }

    /// Installs precomputed embeddings of the loaded data set (row-major `n x dim`, from
    /// parallel workers or a cache), as if every item had been embedded here.
    pub fn set_embeddings(&mut self, embeddings: Vec<f32>) -> Result<()> {
        let (dim, data) = self.embedder()?;
        let n = data.items.len();
        if embeddings.len() != n * dim {
            return Err(Error::LengthMismatch {
                what: format!("embedding values for {n} items of dimension {dim}"),
                expected: n * dim,
                got: embeddings.len(),
            });
        }
        if let Some((pos, &bad)) = embeddings.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: "the installed embeddings".into(),
                row: pos / dim,
                col: pos % dim,
                value: f64::from(bad),
            });
        }
        self.embeddings = embeddings;
        self.embedded = n;
        Ok(())
    }

    /// Embeds everything, calling `progress(done, total)` after each step.
    pub fn embed_all(&mut self, step: usize, mut progress: impl FnMut(usize, usize)) -> Result<()> {
        let total = self.embed_begin()?;
        while self.embedded < total {
            let done = self.embed_step(step)?;
            progress(done, total);
        }
        Ok(())
    }

    /// The embeddings computed so far, row-major: the first rows for images; for texts,
    /// every row, zero where a text is not embedded yet.
    pub fn embeddings(&self) -> &[f32] {
        &self.embeddings
    }

    /// Splits, fits the probe and scores it (or runs `cfg.protocol`); `on_iter` as in
    /// [`probe::fit`], for the plain hold-out's one fit.
    pub fn evaluate(
        &mut self,
        cfg: &EvalConfig,
        on_iter: impl FnMut(usize, f64) -> bool,
    ) -> Result<&Report> {
        self.evaluate_with(cfg, on_iter, |_, _| true)
    }

    /// [`Session::evaluate`] that also calls `on_fit(done, total)` after every probe fit of
    /// a protocol ([`ProtocolSpec::run_with`]; not for the plain hold-out); returning
    /// `false` stops the protocol with [`Error::Cancelled`] and keeps the last report.
    pub fn evaluate_with(
        &mut self,
        cfg: &EvalConfig,
        on_iter: impl FnMut(usize, f64) -> bool,
        mut on_fit: impl FnMut(usize, usize) -> bool,
    ) -> Result<&Report> {
        self.knn = None;
        let (model, preprocessing, data) = self.described()?;
        if self.embedded != data.items.len() || data.items.is_empty() {
            return Err(Error::NotReady("embed the data set before evaluating"));
        }
        let dim = model.embedding_dim;
        let labels = data.labels();
        let split = split::for_data(data, cfg.test_fraction, cfg.seed)?;
        let k = data.classes.len();
        let probe = cfg.probe_spec();
        let all = Labelled::new(
            Features::new(&self.embeddings, dim, "embeddings")?,
            &labels,
            k,
            "labels",
        )?;
        let run = cfg.protocol.run_with(
            &probe,
            all,
            &split,
            cfg.test_fraction,
            cfg.seed,
            &mut on_fit,
        )?;
        let knn_rule = match (&run, probe) {
            (None, ProbeSpec::KnnWeighted { k, temperature }) => {
                Some(KnnRule::Weighted { k, temperature })
            }
            (None, ProbeSpec::KnnVote { k }) => Some(KnnRule::Vote { k }),
            _ => None,
        };
        let mut protocol = Protocol {
            name: cfg.protocol.name().into(),
            seed: match cfg.protocol {
                ProtocolSpec::Senteval { .. } => SENTEVAL_SEED,
                _ => cfg.seed,
            },
            test_fraction: cfg.test_fraction,
            ..Default::default()
        };
        if let (Some(source), ProtocolSpec::Holdout) = (&data.split_source, &cfg.protocol) {
            protocol.name = split::protocol_name(data);
            protocol.split_source = Some(source.clone());
        }
        let (train_rows, test_rows, fitted) = match run {
            Some(run) => {
                let r = run.result;
                protocol.settings = Some(cfg.protocol.clone());
                protocol.metrics_from = Some(run.detail_of);
                protocol.chosen_c = match r.c_searches.as_slice() {
                    [one] => Some(one.chosen),
                    _ => None,
                };
                protocol.deviations = r.deviations;
                protocol.c_searches = r.c_searches;
                protocol.runs = r.runs;
                protocol.accuracy = Some(r.accuracy);
                protocol.macro_f1 = Some(r.macro_f1);
                protocol.weighted_f1 = Some(r.weighted_f1);
                protocol.few_shot = run.few_shot;
                (run.train_rows, run.test_rows, run.fitted)
            }
            None => {
                let y_train = probe::pick(&labels, &split.train)?;
                let x_train = probe::gather_rows(&self.embeddings, dim, &split.train)?;
                let x_test = probe::gather_rows(&self.embeddings, dim, &split.test)?;
                let train = Features::new(&x_train, dim, "training embeddings")?;
                let test = Features::new(&x_test, dim, "test embeddings")?;
                let fitted = match (&probe, &self.head) {
                    (ProbeSpec::OnnxHead, Some(head)) => heads::head_predict(head, test, k)?,
                    (ProbeSpec::OnnxHead, None) => return Err(Error::NotReady(NO_HEAD)),
                    _ => heads::fit_predict(&probe, train, &y_train, test, k, on_iter)?,
                };
                (split.train, split.test, fitted)
            }
        };
        protocol.n_train = train_rows.len();
        protocol.n_test = test_rows.len();
        let y_train = probe::pick(&labels, &train_rows)?;
        let y_test = probe::pick(&labels, &test_rows)?;
        let (y_pred, proba) = (fitted.pred, fitted.proba);
        let confidence = proba
            .chunks_exact(k)
            .zip(&y_pred)
            .map(|(row, &p)| row.get(p).copied().unwrap_or(0.0))
            .collect();
        let proba = Proba {
            values: &proba,
            n_classes: k,
        };
        let mut metrics = metrics::evaluate(&y_test, &y_pred, &data.classes, Some(proba))?;
        metrics.curves = Some(metrics::curves(&y_test, &data.classes, proba)?);
        if let Some(ci) = cfg.ci {
            let boot = BootstrapConfig {
                resamples: ci.resamples,
                level: ci.level,
                method: ci.method,
                seed: cfg.seed,
            };
            metrics.ci = Some(stats::headline_ci(&y_test, &y_pred, k, &boot)?);
        }
        if fitted.info.converged == Some(false) {
            metrics.warnings.push(format!(
                "the probe did not converge in {} iterations; raise max_iter or lower C",
                fitted.info.iterations.unwrap_or_default()
            ));
        }
        let baselines = Baselines::compute(&y_train, &y_test, &data.classes)?;
        let report = Report {
            schema: SCHEMA.into(),
            version: VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME").into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            model,
            data: data.info(),
            preprocessing,
            protocol,
            probe: fitted.info,
            metrics,
            predictions: Predictions {
                test_index: test_rows,
                y_true: y_test,
                y_pred,
                confidence,
            },
            baselines: Some(baselines),
        };
        self.knn = knn_rule.map(|rule| KnnFit { rule, train_rows });
        Ok(self.report.insert(report))
    }

    /// The `k` nearest training items of test item `test_item` (a data-set index in the
    /// last report's `predictions.test_index`), most similar first, exactly as the last
    /// evaluation's k-NN probe ranked and weighed them. An error unless that evaluation
    /// was a hold-out with a k-NN probe on the embeddings still loaded.
    pub fn neighbours(&self, test_item: usize) -> Result<Vec<NeighbourItem>> {
        let fit = self.knn.as_ref().ok_or(Error::NotReady(
            "neighbours are kept only after a hold-out evaluation with a k-NN probe (knn_weighted or knn_vote)",
        ))?;
        let report = self
            .report
            .as_ref()
            .ok_or(Error::NotReady("evaluate first"))?;
        let test_index = &report.predictions.test_index;
        if !test_index.contains(&test_item) {
            return Err(Error::InvalidValue {
                name: "test item",
                value: test_item.to_string(),
                why: format!(
                    "not among the last report's {} test items",
                    test_index.len()
                ),
            });
        }
        let data = self
            .data
            .as_ref()
            .ok_or(Error::NotReady("load a data set first"))?;
        let n = data.items.len();
        if n == 0 || self.embedded != n {
            return Err(Error::NotReady(
                "the evaluated embeddings are gone: evaluate again",
            ));
        }
        let dim = self.embeddings.len() / n;
        let labels = data.labels();
        let y_train = probe::pick(&labels, &fit.train_rows)?;
        let x_train = probe::gather_rows(&self.embeddings, dim, &fit.train_rows)?;
        let x_test = probe::gather_rows(&self.embeddings, dim, &[test_item])?;
        let ranked = knn::neighbours(
            Features::new(&x_train, dim, "training embeddings")?,
            &y_train,
            Features::new(&x_test, dim, "test embeddings")?,
            data.classes.len(),
            fit.rule,
        )?;
        ranked
            .into_iter()
            .flatten()
            .map(|nb| {
                let item_index = *fit.train_rows.get(nb.row).ok_or(Error::InvalidValue {
                    name: "training row",
                    value: nb.row.to_string(),
                    why: format!("outside the {} training rows", fit.train_rows.len()),
                })?;
                Ok(NeighbourItem {
                    item_index,
                    similarity: nb.similarity,
                    weight: nb.weight,
                    label: nb.label,
                })
            })
            .collect()
    }

    /// Loads an ONNX head for the `onnx_head` probe; on error the previous head stays.
    /// Its dimensions are checked against the embeddings and classes when it is used.
    pub fn load_head(&mut self, bytes: &[u8], name: &str) -> Result<HeadInfo> {
        let head = OnnxHead::load(bytes, name)?;
        let info = head.info().clone();
        self.head = Some(head);
        Ok(info)
    }

    /// Loads a text encoder: an ONNX transformer with inputs `input_ids` (and optionally
    /// `attention_mask`, `token_type_ids`) and its `tokenizer.json`, with pooling,
    /// normalisation and truncation in `options` (defaults: sentence-transformers'). It is
    /// used instead of an image model until one is loaded; on error the previous stays.
    pub fn load_text_model(
        &mut self,
        model: &[u8],
        tokenizer: &[u8],
        name: &str,
        options: TextOptions,
    ) -> Result<ModelInfo> {
        let encoder = TextEncoder::load(model, tokenizer, name, options)?;
        let t = encoder.info();
        let pooling = match t.options.pooling {
            text::Pooling::Mean => "mean over the attention mask",
            text::Pooling::Cls => "CLS token",
            text::Pooling::None => "none (the output is one vector per text)",
        };
        let info = ModelInfo {
            name: t.name.clone(),
            sha256: t.sha256.clone(),
            input_name: t.inputs.join(", "),
            input_shape: vec!["batch".into(), "sequence".into()],
            layout: Layout::Flat,
            channels: 0,
            height: 0,
            width: 0,
            batch: t.options.batch_size,
            embedding_dim: t.embedding_dim,
            outputs: Vec::new(),
            output: t.output.clone(),
            output_shape: Vec::new(),
            pooling: match t.options.pooling {
                text::Pooling::Mean => Pooling::Mean,
                text::Pooling::Cls => Pooling::Cls,
                text::Pooling::None => Pooling::Flatten,
            },
            notes: vec![format!(
                "text encoder with tokenizer.json SHA-256 {}",
                t.tokenizer_sha256
            )],
        };
        let none = || "none (text)".to_string();
        let preprocessing = Preprocessing {
            layout: Layout::Flat,
            channels: 0,
            height: 0,
            width: 0,
            color: none(),
            resize: format!(
                "tokenizer.json, truncation at {} word pieces",
                t.options.max_length
            ),
            scale: format!(
                "pooling {pooling}{}",
                if t.options.normalize {
                    ", L2-normalised"
                } else {
                    ""
                }
            ),
            options: None,
        };
        self.text = Some(TextModel {
            encoder,
            info: info.clone(),
            preprocessing,
        });
        if self.precomputed.take().is_some() {
            self.data = None;
        }
        self.reset_embeddings();
        Ok(info)
    }

    /// Loads a text data set (`text,label` CSV or JSONL, see [`TextDataset::from_bytes`]);
    /// on error the previous data stay.
    pub fn load_text_data(
        &mut self,
        bytes: &[u8],
        name: &str,
        columns: &TextColumns,
    ) -> Result<DataInfo> {
        self.set_data(Dataset::from_texts(TextDataset::from_bytes(
            bytes, name, columns,
        )?))
    }

    /// The loaded data and the embedding width of the loaded encoder (image or text).
    fn embedder(&self) -> Result<(usize, &Dataset)> {
        let dim = match (&self.text, &self.encoder) {
            (Some(t), _) => t.info.embedding_dim,
            (None, Some(e)) => e.info().embedding_dim,
            (None, None) => return Err(Error::NotReady("load a model first")),
        };
        let data = self
            .data
            .as_ref()
            .ok_or(Error::NotReady("load a data set first"))?;
        Ok((dim, data))
    }

    /// The text data set's items, longest first in word pieces (ties in data-set order):
    /// batches cut from this order pad least. The page's pool embeds positions of it in
    /// aligned pieces (`embed_items`), and `embed_step`/`embed_all` (the CLI) walk it too, so
    /// both run the same batches when the batch size divides the pieces (64 on the page, 256
    /// in the CLI). On the 600 Text-demo questions: 8,704 token rows against 14,328 for
    /// batches of consecutive texts.
    pub fn text_order(&self) -> Result<Vec<usize>> {
        let model = self.text_model()?;
        let texts = (0..self.embedder()?.1.items.len())
            .map(|i| self.item_text(i))
            .collect::<Result<Vec<_>>>()?;
        let counts = model.encoder.token_counts(&texts)?;
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(counts.get(i).copied().unwrap_or_default()));
        Ok(order)
    }

    /// Embeds the given text items, in batches of the encoder's batch size cut from the list
    /// as given (pass pieces of [`Session::text_order`]); rows in the list's order.
    pub fn embed_items(&self, items: &[usize]) -> Result<Vec<f32>> {
        let model = self.text_model()?;
        let dim = self.embedder()?.0;
        let texts = items
            .iter()
            .map(|&i| self.item_text(i))
            .collect::<Result<Vec<_>>>()?;
        let out = model.encoder.embed(&texts)?;
        if let Some(pos) = out.iter().position(|v| !v.is_finite()) {
            let row = items.get(pos / dim).copied().unwrap_or_default();
            return Err(Error::NonFinite {
                what: format!("the embedding of text {row}"),
                row,
                col: pos % dim,
                value: out.get(pos).copied().map_or(f64::NAN, f64::from),
            });
        }
        Ok(out)
    }

    /// The loaded text encoder, when the loaded data are text.
    fn text_model(&self) -> Result<&TextModel> {
        let model = self.text.as_ref().ok_or(Error::NotReady(
            "the data set is text: load a text model (ONNX with its tokenizer.json)",
        ))?;
        if !self.embedder()?.1.text {
            return Err(Error::NotReady(
                "a text model embeds a text data set: load a CSV or JSONL of text,label",
            ));
        }
        Ok(model)
    }

    /// The text of item `index` of a text data set.
    fn item_text(&self, index: usize) -> Result<String> {
        let data = self.embedder()?.1;
        let item = data.items.get(index).ok_or(Error::InvalidValue {
            name: "item",
            value: index.to_string(),
            why: format!("outside the data set's {} items", data.items.len()),
        })?;
        Ok(String::from_utf8_lossy(&item.bytes).into_owned())
    }

    /// Embeds texts `[start, end)` in windows of [`TEXT_WINDOW`] texts (or the encoder's
    /// batch size when larger) aligned to multiples of it; `TextEncoder::embed` sorts each
    /// window by length before cutting it into batches, so batches pad less than batches of
    /// consecutive texts (on the 600 demo questions, 11,832 instead of 14,328 token rows).
    /// Any split into aligned ranges runs the same batches, so gives the same embeddings.
    fn embed_texts(&self, model: &TextModel, start: usize, end: usize) -> Result<Vec<f32>> {
        let n = self.embedder()?.1.items.len();
        if start > end || end > n {
            return Err(Error::InvalidValue {
                name: "item range",
                value: format!("{start}..{end}"),
                why: format!("outside the data set's {n} items"),
            });
        }
        let step = TEXT_WINDOW.max(model.encoder.info().options.batch_size);
        let mut out = Vec::new();
        let mut at = start;
        while at < end {
            let next = ((at / step + 1) * step).min(end);
            out.extend(self.embed_items(&(at..next).collect::<Vec<_>>())?);
            at = next;
        }
        Ok(out)
    }

    /// One loaded item: its path in the data set and its encoded image bytes.
    pub fn item(&self, index: usize) -> Result<(&str, &[u8])> {
        let data = self
            .data
            .as_ref()
            .ok_or(Error::NotReady("load a data set first"))?;
        let item = data.items.get(index).ok_or(Error::InvalidParameter {
            name: "item index",
            value: index.to_string(),
            why: "outside the data set",
        })?;
        Ok((&item.path, &item.bytes))
    }

    /// The last report, if any.
    pub fn report(&self) -> Option<&Report> {
        self.report.as_ref()
    }
}
