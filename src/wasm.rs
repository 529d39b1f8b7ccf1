//! JavaScript bindings: the only module that touches `wasm_bindgen` and `js_sys`.
//! Bulk bytes come in as `Uint8Array`; small results go out as plain JS objects.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::session::{EvalConfig, Session as CoreSession};

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&e.to_string()))
}

fn js_err(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// Turns a Rust panic into a console message with its location (the worker then
/// reports the trap and restarts the instance).
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Which wasm build this is: "image" (common image-encoder operators, no tokenizer: the
/// page's first download) or "full" (every page operator and text encoders).
#[wasm_bindgen]
pub fn build_name() -> String {
    crate::encoder::build_name().to_string()
}

/// Compares the 4x8 f32 matrix kernel (src/gemm.rs) with tract-linalg's 8x8 wasm kernel, bit
/// for bit, on every operation a kernel program can hold, and checks that tract picks it:
/// the number of programs compared, or what differed (the browser tests call it).
#[wasm_bindgen]
pub fn gemm_self_check() -> Result<usize, JsError> {
    crate::gemm::self_check().map_err(|e| JsError::new(&e))
}

/// The operator types of an ONNX model (subgraphs included) this build does not register;
/// the page switches to the full build when the image build finds any.
#[wasm_bindgen]
pub fn unregistered_ops(bytes: &[u8], name: &str) -> Result<Vec<String>, JsError> {
    crate::encoder::unregistered_ops(bytes, name).map_err(js_err)
}

/// A page session: the loaded model, data, embeddings and last report.
#[wasm_bindgen]
pub struct Session {
    inner: CoreSession,
}

#[wasm_bindgen]
impl Session {
    /// An empty session.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Session {
        Session {
            inner: CoreSession::new(),
        }
    }

    /// Loads an ONNX encoder; returns its `ModelInfo`. A failure keeps the previous model.
    pub fn load_model(&mut self, bytes: &[u8], name: &str) -> Result<JsValue, JsError> {
        to_js(&self.inner.load_model(bytes, name).map_err(js_err)?)
    }

    /// Loads an ONNX encoder with options (`ModelOptions`: `preprocess`, `output`,
    /// `pooling`; every field optional); returns its `ModelInfo`. A failure keeps the
    /// previous model.
    pub fn load_model_with(
        &mut self,
        bytes: &[u8],
        name: &str,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let options: crate::encoder::ModelOptions = if options.is_undefined() || options.is_null() {
            Default::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| JsError::new(&format!("invalid model options: {e}")))?
        };
        to_js(
            &self
                .inner
                .load_model_with(bytes, name, &options)
                .map_err(js_err)?,
        )
    }

    /// The loaded model's preprocessing (`Preprocessing`, with its `options`), or null.
    pub fn model_preprocessing(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.model_preprocessing())
    }

    /// Compares the model's embeddings of the first N items with reference embeddings
    /// (`.npy` `[N, D]`); returns a `Fidelity` (max-abs, mean and min cosine).
    pub fn fidelity(&self, bytes: &[u8], name: &str) -> Result<JsValue, JsError> {
        to_js(&self.inner.fidelity(bytes, name).map_err(js_err)?)
    }

    /// Loads an ONNX head (embeddings `[N, D]` to class scores `[N, K]`) for the probe
    /// `{kind: "onnx_head"}`; returns its `HeadInfo`. A failure keeps the previous head.
    pub fn load_head(&mut self, bytes: &[u8], name: &str) -> Result<JsValue, JsError> {
        to_js(&self.inner.load_head(bytes, name).map_err(js_err)?)
    }

    /// Loads a zip of class folders; returns its `DataInfo`. With `manifest` (and its
    /// file name) a split manifest given beside the zip is used. A failure keeps the previous data.
    pub fn load_data_zip(
        &mut self,
        bytes: &[u8],
        name: &str,
        manifest: Option<Vec<u8>>,
        manifest_name: Option<String>,
    ) -> Result<JsValue, JsError> {
        match beside_manifest(manifest, manifest_name)? {
            Some(m) => to_js(
                &self
                    .inner
                    .load_data_with_manifest(crate::data::DataBytes::Zip(bytes), name, &m)
                    .map_err(js_err)?,
            ),
            None => to_js(&self.inner.load_data_zip(bytes, name).map_err(js_err)?),
        }
    }

    /// Loads a text encoder: ONNX model bytes and its `tokenizer.json`, with `options`
    /// (`TextOptions`: `max_length`, `pooling` mean|cls|none, `normalize`, …; null for
    /// sentence-transformers' defaults); returns its `ModelInfo`. It is used instead of an
    /// image model until one is loaded. A failure keeps the previous model.
    pub fn load_text_model(
        &mut self,
        model: &[u8],
        tokenizer: &[u8],
        name: &str,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let options: crate::text::TextOptions = if options.is_undefined() || options.is_null() {
            Default::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| JsError::new(&format!("invalid text model options: {e}")))?
        };
        to_js(
            &self
                .inner
                .load_text_model(model, tokenizer, name, options)
                .map_err(js_err)?,
        )
    }

    /// Loads a text data set (CSV with a header, or JSONL) with its text and label columns
    /// (default `text` and `label`); returns its `DataInfo`. A failure keeps the previous data.
    pub fn load_text_data(
        &mut self,
        bytes: &[u8],
        name: &str,
        text_column: Option<String>,
        label_column: Option<String>,
    ) -> Result<JsValue, JsError> {
        let defaults = crate::textdata::TextColumns::default();
        let columns = crate::textdata::TextColumns {
            text: text_column.unwrap_or(defaults.text),
            label: label_column.unwrap_or(defaults.label),
        };
        to_js(
            &self
                .inner
                .load_text_data(bytes, name, &columns)
                .map_err(js_err)?,
        )
    }

    /// Loads the files of a folder picked or dropped on the page: `paths` relative to the
    /// folder, their bytes one after another in `bytes`, `lengths[i]` bytes each; returns
    /// its `DataInfo`. A failure keeps the previous data.
    pub fn load_data_files(
        &mut self,
        paths: Vec<String>,
        bytes: &[u8],
        lengths: &[u32],
        name: &str,
        manifest: Option<Vec<u8>>,
        manifest_name: Option<String>,
    ) -> Result<JsValue, JsError> {
        let manifest = beside_manifest(manifest, manifest_name)?;
        if paths.len() != lengths.len() {
            return Err(js_err(crate::Error::LengthMismatch {
                what: "file lengths, one per path".into(),
                expected: paths.len(),
                got: lengths.len(),
            }));
        }
        let mut files = Vec::with_capacity(paths.len());
        let mut rest = bytes;
        for (path, &len) in paths.into_iter().zip(lengths) {
            let Some((head, tail)) = rest.split_at_checked(len as usize) else {
                return Err(js_err(crate::Error::LengthMismatch {
                    what: format!("bytes of '{path}' and the files after it"),
                    expected: len as usize,
                    got: rest.len(),
                }));
            };
            files.push((path, head.to_vec()));
            rest = tail;
        }
        match manifest {
            Some(m) => to_js(
                &self
                    .inner
                    .load_data_with_manifest(crate::data::DataBytes::Files(files), name, &m)
                    .map_err(js_err)?,
            ),
            None => to_js(&self.inner.load_data_files(files, name).map_err(js_err)?),
        }
    }

    /// Loads precomputed embeddings as the data set (`.npy` with a labels file, `.npz`
    /// with `X` and `y`, or `.csv` with a label column); returns its `DataInfo`. No encoder
    /// is needed: they are evaluated as they are. A failure keeps the previous data.
    pub fn load_embeddings(
        &mut self,
        bytes: &[u8],
        name: &str,
        labels: Option<Vec<u8>>,
        labels_name: Option<String>,
    ) -> Result<JsValue, JsError> {
        let labels = labels.as_deref().zip(labels_name.as_deref());
        to_js(
            &self
                .inner
                .load_embeddings(bytes, name, labels)
                .map_err(js_err)?,
        )
    }

    /// Starts embedding; returns the number of items.
    pub fn embed_begin(&mut self) -> Result<u32, JsError> {
        Ok(self.inner.embed_begin().map_err(js_err)? as u32)
    }

    /// Embeds up to `max_items` more items; returns how many are done.
    pub fn embed_step(&mut self, max_items: u32) -> Result<u32, JsError> {
        Ok(self.inner.embed_step(max_items as usize).map_err(js_err)? as u32)
    }

    /// Embeds items `[start, end)` without changing this session's state (for parallel
    /// workers); returns a `Float32Array` of `(end - start) x embedding_dim` values.
    pub fn embed_range(&self, start: u32, end: u32) -> Result<Vec<f32>, JsError> {
        self.inner
            .embed_range(start as usize, end as usize)
            .map_err(js_err)
    }

    /// Items of the loaded text data set, longest first in word pieces (ties in data-set
    /// order): the order the page's pool embeds texts in. A `Uint32Array`.
    pub fn text_order(&self) -> Result<Vec<u32>, JsError> {
        let order = self.inner.text_order().map_err(js_err)?;
        Ok(order
            .into_iter()
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect())
    }

    /// Embeds the given text items (an aligned piece of `text_order`) without changing this
    /// session's state; a `Float32Array` of `items.length x embedding_dim`, rows in the given
    /// order.
    pub fn embed_items(&self, items: &[u32]) -> Result<Vec<f32>, JsError> {
        let items: Vec<usize> = items.iter().map(|&i| i as usize).collect();
        self.inner.embed_items(&items).map_err(js_err)
    }

    /// Decodes and preprocesses items `[start, end)` into model input rows (benchmark).
    pub fn preprocess_range(&self, start: u32, end: u32) -> Result<Vec<f32>, JsError> {
        self.inner
            .preprocess_range(start as usize, end as usize)
            .map_err(js_err)
    }

    /// Installs embeddings of the loaded data set computed elsewhere (parallel workers or
    /// the cache); checked for shape and finiteness.
    pub fn set_embeddings(&mut self, embeddings: &[f32]) -> Result<(), JsError> {
        self.inner
            .set_embeddings(embeddings.to_vec())
            .map_err(js_err)
    }

    /// The embeddings so far, row-major, as a `Float32Array`.
    pub fn embeddings(&self) -> Vec<f32> {
        self.inner.embeddings().to_vec()
    }

    /// Splits, fits and scores; `config` is an `EvalConfig` object (every field optional).
    /// `progress`, when a function, is called as `progress(step, loss, max_steps)` after
    /// every L-BFGS iteration (loss: the scaled objective) or MLP epoch (mean training
    /// loss); `max_steps` is the probe's max_iter or epochs. Returning `false` from it stops
    /// the fit early. `fit_progress`, when a function, is called as `fit_progress(done,
    /// total)` after every probe fit of a protocol preset (`done` from 1 to `total`, known
    /// up front; not for the plain hold-out); returning `false` stops the protocol between
    /// fits with a "cancelled after …" error. Returns the report object.
    pub fn evaluate(
        &mut self,
        config: JsValue,
        progress: Option<js_sys::Function>,
        fit_progress: Option<js_sys::Function>,
    ) -> Result<JsValue, JsError> {
        let cfg: EvalConfig = if config.is_undefined() || config.is_null() {
            EvalConfig::default()
        } else {
            serde_wasm_bindgen::from_value(config)
                .map_err(|e| JsError::new(&format!("invalid settings: {e}")))?
        };
        let max_steps = JsValue::from(cfg.probe_spec().max_steps().map(|m| m as u32));
        let on_iter = |step: usize, loss: f64| match &progress {
            Some(f) => f
                .call3(
                    &JsValue::NULL,
                    &JsValue::from(step as u32),
                    &JsValue::from(loss),
                    &max_steps,
                )
                .map_or(true, |r| r.as_bool() != Some(false)),
            None => true,
        };
        let on_fit = |done: usize, total: usize| match &fit_progress {
            Some(f) => f
                .call2(
                    &JsValue::NULL,
                    &JsValue::from(done as u32),
                    &JsValue::from(total as u32),
                )
                .map_or(true, |r| r.as_bool() != Some(false)),
            None => true,
        };
        let report = self
            .inner
            .evaluate_with(&cfg, on_iter, on_fit)
            .map_err(js_err)?;
        to_js(report)
    }

    /// Path of item `index` of the loaded data set (as in `report.predictions.test_index`).
    pub fn item_path(&self, index: u32) -> Result<String, JsError> {
        Ok(self
            .inner
            .item(index as usize)
            .map_err(js_err)?
            .0
            .to_string())
    }

    /// Encoded image bytes of item `index`, as a `Uint8Array` (for thumbnails).
    pub fn item_bytes(&self, index: u32) -> Result<Vec<u8>, JsError> {
        Ok(self.inner.item(index as usize).map_err(js_err)?.1.to_vec())
    }

    /// The `k` nearest training items of test item `index` as the last evaluation's k-NN
    /// probe ranked them: `[{item_index, similarity, weight, label}]`, most similar first.
    /// Throws unless that evaluation was a hold-out with a k-NN probe.
    pub fn neighbours(&self, index: u32) -> Result<JsValue, JsError> {
        to_js(&self.inner.neighbours(index as usize).map_err(js_err)?)
    }

    /// The last report as pretty JSON, or an empty string.
    pub fn report_json(&self) -> String {
        self.inner.report().map(|r| r.to_json()).unwrap_or_default()
    }
}

/// An encoder on its own, for preprocessed inputs: the fidelity check and the benchmark.
#[wasm_bindgen]
pub struct Encoder {
    inner: crate::encoder::Encoder,
}

#[wasm_bindgen]
impl Encoder {
    /// Loads an ONNX encoder from bytes.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8], name: &str) -> Result<Encoder, JsError> {
        Ok(Encoder {
            inner: crate::encoder::Encoder::load(bytes, name).map_err(js_err)?,
        })
    }

    /// Model summary (`ModelInfo`).
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(self.inner.info())
    }

    /// Embeds preprocessed inputs (`rows x` one sample's values, row-major) into
    /// `rows x embedding_dim` values.
    pub fn embed(&self, inputs: &[f32]) -> Result<Vec<f32>, JsError> {
        self.inner.embed(inputs).map_err(js_err)
    }
}

/// A text encoder on its own (tokenizer and model, the page's default `TextOptions`), for
/// the benchmark: tokenise once, then embed the same ids repeatedly. Named `TextEmbedder`
/// because an exported `TextEncoder` would shadow the global that wasm-bindgen's glue uses.
#[wasm_bindgen]
pub struct TextEmbedder {
    inner: crate::text::TextEncoder,
}

/// A padded batch of token ids, `rows x len` row-major (`BigInt64Array`s).
#[wasm_bindgen]
pub struct TokenBatch {
    inner: crate::text::TokenBatch,
}

#[wasm_bindgen]
impl TokenBatch {
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> usize {
        self.inner.rows
    }

    /// Padded length (tokens per row).
    #[wasm_bindgen(getter = len)]
    pub fn padded_len(&self) -> usize {
        self.inner.len
    }

    #[wasm_bindgen(getter)]
    pub fn input_ids(&self) -> Vec<i64> {
        self.inner.input_ids.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn attention_mask(&self) -> Vec<i64> {
        self.inner.attention_mask.clone()
    }

    #[wasm_bindgen(getter)]
    pub fn token_type_ids(&self) -> Vec<i64> {
        self.inner.token_type_ids.clone()
    }
}

#[wasm_bindgen]
impl TextEmbedder {
    /// Loads an ONNX text model and its `tokenizer.json` with the default `TextOptions`
    /// (truncation 256, mean pooling over the attention mask, L2-normalised).
    #[wasm_bindgen(constructor)]
    pub fn new(model: &[u8], tokenizer: &[u8], name: &str) -> Result<TextEmbedder, JsError> {
        Ok(TextEmbedder {
            inner: crate::text::TextEncoder::load(model, tokenizer, name, Default::default())
                .map_err(js_err)?,
        })
    }

    /// Model summary (`TextModelInfo`).
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(self.inner.info())
    }

    /// Tokenises `texts` and pads them to the longest.
    pub fn tokenize(&self, texts: Vec<String>) -> Result<TokenBatch, JsError> {
        Ok(TokenBatch {
            inner: self.inner.tokenize(&texts).map_err(js_err)?,
        })
    }

    /// Embeds a padded batch of `rows x len` ids: `rows x embedding_dim` pooled values.
    pub fn embed_tokens(
        &self,
        input_ids: &[i64],
        attention_mask: &[i64],
        token_type_ids: &[i64],
        rows: usize,
        len: usize,
    ) -> Result<Vec<f32>, JsError> {
        if rows.checked_mul(len).is_none() {
            return Err(js_err(crate::Error::InvalidParameter {
                name: "token batch shape",
                value: format!("{rows} x {len}"),
                why: "rows x len overflows",
            }));
        }
        let batch = crate::text::TokenBatch {
            rows,
            len,
            input_ids: input_ids.to_vec(),
            attention_mask: attention_mask.to_vec(),
            token_type_ids: token_type_ids.to_vec(),
        };
        self.inner.embed_tokens(&batch).map_err(js_err)
    }
}

/// Fits the logistic-regression probe on row-major features (`y.len()` rows of `dim`)
/// and returns `{iterations, converged, objective, train_accuracy}`; for the benchmark.
#[wasm_bindgen]
pub fn fit_logreg(
    x: &[f32],
    dim: usize,
    y: &[u32],
    n_classes: usize,
    c: f64,
    tol: f64,
    max_iter: usize,
) -> Result<JsValue, JsError> {
    use crate::probe::{argmax_rows, fit, Features, LogRegConfig};
    let labels: Vec<usize> = y.iter().map(|&v| v as usize).collect();
    let feats = Features::new(x, dim, "features").map_err(js_err)?;
    let cfg = LogRegConfig { c, max_iter, tol };
    let model = fit(feats, &labels, n_classes, &cfg, |_, _| true).map_err(js_err)?;
    let proba = model.predict_proba(feats).map_err(js_err)?;
    let pred = argmax_rows(&proba, n_classes);
    let correct = pred.iter().zip(&labels).filter(|(a, b)| a == b).count();
    #[derive(Serialize)]
    struct Fit {
        iterations: usize,
        converged: bool,
        objective: f64,
        train_accuracy: f64,
        coef: Vec<f64>,
        intercept: Vec<f64>,
    }
    to_js(&Fit {
        iterations: model.iterations,
        converged: model.converged,
        objective: model.objective,
        train_accuracy: correct as f64 / labels.len().max(1) as f64,
        coef: model.coef,
        intercept: model.intercept,
    })
}

/// Panics with `message`: the page calls it only with `?test-hooks=1`, to test that a trap
/// in the worker is reported and recovered from.
#[wasm_bindgen]
pub fn panic_for_tests(message: &str) {
    #[allow(clippy::panic)]
    {
        panic!("{message}");
    }
}

/// Reads and validates report JSON (a downloaded file or a shared link's payload);
/// returns the report object or throws with what is wrong.
#[wasm_bindgen]
pub fn parse_report(text: &str) -> Result<JsValue, JsError> {
    to_js(&crate::report::Report::from_json(text).map_err(js_err)?)
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

// ---- Results view: embedding map and comparison (free functions) ----

/// Two-component PCA (scikit-learn's `PCA(2)`, signs by its `svd_flip`) of row-major
/// embeddings `x` with `dim` columns; returns `{coords, explained_variance_ratio, ...}`
/// with `coords` row-major `n x 2`.
#[wasm_bindgen]
pub fn pca_2d(x: &[f32], dim: usize) -> Result<JsValue, JsError> {
    to_js(&crate::pca::pca2(x, dim).map_err(js_err)?)
}

/// Two-dimensional t-SNE (bhtsne's Barnes-Hut fit with scikit-learn's settings, PCA start, no
/// randomness; see `crate::tsne`) of row-major embeddings `x` with `dim` columns; `perplexity`
/// defaults to 30. `progress`, when a function, is called as `progress(done, total)` after each
/// iteration. Returns `{coords, perplexity, iterations, kl_divergence, method, ...}` with `coords`
/// row-major `n x 2`.
#[wasm_bindgen]
pub fn tsne_2d(
    x: &[f32],
    dim: usize,
    perplexity: Option<f32>,
    progress: Option<js_sys::Function>,
) -> Result<JsValue, JsError> {
    let opts = crate::tsne::TsneOptions {
        perplexity: perplexity.unwrap_or(crate::tsne::DEFAULT_PERPLEXITY),
        ..Default::default()
    };
    let on_epoch = |done: usize, total: usize| {
        if let Some(f) = &progress {
            // A throwing progress function does not stop the fit.
            let _ = f.call2(
                &JsValue::NULL,
                &JsValue::from(done as u32),
                &JsValue::from(total as u32),
            );
        }
    };
    to_js(&crate::tsne::tsne2_with_progress(x, dim, &opts, on_epoch).map_err(js_err)?)
}

/// Compares two reports on the same test items with the CLI's `compare` code: McNemar,
/// the paired bootstrap CI of accuracy(A) − accuracy(B) (`resamples`, `seed`: a whole
/// number below 2^53), metric deltas and the B − A confusion matrix.
#[wasm_bindgen]
pub fn compare_reports(
    a_json: &str,
    b_json: &str,
    resamples: usize,
    seed: f64,
) -> Result<JsValue, JsError> {
    if !(seed >= 0.0 && seed.fract() == 0.0 && seed < 9_007_199_254_740_992.0) {
        return Err(JsError::new(&format!(
            "invalid seed = {seed}: must be a whole number from 0 to 2^53"
        )));
    }
    let boot = crate::stats::BootstrapConfig {
        resamples,
        seed: seed as u64,
        ..Default::default()
    };
    to_js(&crate::compare::compare_texts(a_json, b_json, &boot).map_err(js_err)?)
}

/// A split manifest given beside the data on the page (bytes and file name), checked.
fn beside_manifest(
    bytes: Option<Vec<u8>>,
    name: Option<String>,
) -> Result<Option<crate::data::Manifest>, JsError> {
    bytes
        .map(|b| {
            crate::data::Manifest::new(name.as_deref().unwrap_or("manifest.csv"), &b)
                .map_err(js_err)
        })
        .transpose()
}
