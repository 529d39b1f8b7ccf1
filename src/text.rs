//! The text encoder: a Hugging Face `tokenizer.json` and an ONNX transformer run by tract,
//! pooled (mean over the attention mask, CLS, or none) and optionally L2-normalised.

use std::cell::RefCell;
use std::sync::Arc;

#[cfg(not(feature = "text"))]
use no_tokenizer::{Encoding, Tokenizer};
use serde::{Deserialize, Serialize};
#[cfg(feature = "text")]
use tokenizers::{Encoding, Tokenizer};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use crate::data::sha256_hex;
use crate::error::{Error, Result};

/// Word pieces per text, special tokens included (sentence-transformers' `max_seq_length`
/// for all-MiniLM-L6-v2; its `tokenizer.json` says 128).
pub const DEFAULT_MAX_LENGTH: usize = 256;
/// Texts per model run.
pub const DEFAULT_TEXT_BATCH: usize = 32;
/// Padded sequence lengths are rounded up to a multiple of this, so that concrete plans
/// are reused across batches.
pub const LENGTH_STEP: usize = 16;
/// Concrete plans kept in memory.
const PLAN_CACHE: usize = 6;

/// How token vectors become one vector per text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean of the token vectors where the attention mask is 1 (sentence-transformers).
    Mean,
    /// The first token's vector (`[CLS]`).
    Cls,
    /// The output is already one vector per text (`[N, D]`), used as is.
    None,
}

/// How tract is given input shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shapes {
    /// One plan per (rows, padded length), optimised on first use and cached; lengths
    /// are rounded up to a multiple of [`LENGTH_STEP`] so that batches share plans.
    Concrete,
    /// One plan with symbolic batch and length, optimised once.
    Symbolic,
}

/// Settings of a text encoder; defaults reproduce sentence-transformers all-MiniLM-L6-v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextOptions {
    /// Truncation in word pieces, special tokens included (default 256).
    pub max_length: usize,
    /// Default [`Pooling::Mean`].
    pub pooling: Pooling,
    /// L2-normalise each pooled vector (default true).
    pub normalize: bool,
    /// Texts per model run (default 32).
    pub batch_size: usize,
    /// The output to pool; default `last_hidden_state` when present, else the first output.
    pub output: Option<String>,
    /// Default [`Shapes::Symbolic`]: for MiniLM it ran 1.4–1.9× faster natively than
    /// concrete plans (which pad lengths to buckets and optimise one plan per shape).
    pub shapes: Shapes,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            max_length: DEFAULT_MAX_LENGTH,
            pooling: Pooling::Mean,
            normalize: true,
            batch_size: DEFAULT_TEXT_BATCH,
            output: None,
            shapes: Shapes::Symbolic,
        }
    }
}

/// What the page and the report show of a text model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextModelInfo {
    pub name: String,
    pub sha256: String,
    pub tokenizer_sha256: String,
    /// The model's inputs, in order.
    pub inputs: Vec<String>,
    pub output: String,
    pub embedding_dim: usize,
    pub options: TextOptions,
}

/// Token ids of a padded batch: `rows × len`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBatch {
    pub rows: usize,
    pub len: usize,
    pub input_ids: Vec<i64>,
    pub attention_mask: Vec<i64>,
    pub token_type_ids: Vec<i64>,
}

/// A concrete plan and its (rows, length).
type PlanEntry = ((usize, usize), Arc<TypedRunnableModel>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Feed {
    Ids,
    Mask,
    Types,
}

/// A loaded tokenizer and text model ready to embed texts.
pub struct TextEncoder {
    info: TextModelInfo,
    tokenizer: Tokenizer,
    /// The model with only the chosen output; plans are made from it.
    source: InferenceModel,
    feeds: Vec<(Feed, DatumType)>,
    plans: RefCell<Vec<PlanEntry>>,
    symbolic: Option<Arc<TypedRunnableModel>>,
}

fn tract_err(e: TractError) -> Error {
    Error::Inference(format!("{e:#}"))
}

impl TextEncoder {
    /// Loads an ONNX text model (inputs `input_ids`, optionally `attention_mask` and
    /// `token_type_ids`, int64 or int32 `[N, L]`) and a `tokenizer.json`.
    pub fn load(
        model_bytes: &[u8],
        tokenizer_json: &[u8],
        name: &str,
        options: TextOptions,
    ) -> Result<Self> {
        check_options(&options)?;
        let unsupported = |detail: String| Error::UnsupportedTextModel {
            name: name.into(),
            detail,
        };
        let tokenizer = load_tokenizer(tokenizer_json, options.max_length)?;

        if model_bytes.is_empty() {
            return Err(Error::InvalidModel {
                name: name.into(),
                detail: "the file is empty".into(),
            });
        }
        let mut model = tract_onnx::onnx()
            .model_for_read(&mut &*model_bytes)
            .map_err(|e| Error::InvalidModel {
                name: name.into(),
                detail: format!("{e:#}"),
            })?;

        let inputs = model.input_outlets().map_err(tract_err)?.to_vec();
        let mut feeds = Vec::new();
        let mut input_names = Vec::new();
        for (i, outlet) in inputs.iter().enumerate() {
            let input = model.node(outlet.node).name.clone();
            let feed = match input.as_str() {
                "input_ids" => Feed::Ids,
                "attention_mask" => Feed::Mask,
                "token_type_ids" => Feed::Types,
                other => {
                    return Err(unsupported(format!(
                        "input '{other}' is not one of input_ids, attention_mask, token_type_ids"
                    )))
                }
            };
            let fact = model.input_fact(i).map_err(tract_err)?;
            let dt = match fact.datum_type.concretize() {
                Some(dt @ (DatumType::I64 | DatumType::I32)) => dt,
                None => DatumType::I64,
                Some(dt) => {
                    return Err(unsupported(format!(
                        "input '{input}' has element type {}; token inputs must be int64 or int32",
                        format!("{dt:?}").to_lowercase()
                    )))
                }
            };
            if let Some(rank) = fact.shape.rank().concretize() {
                if rank != 2 {
                    return Err(unsupported(format!(
                        "input '{input}' has rank {rank}; token inputs are [batch, sequence]"
                    )));
                }
            }
            feeds.push((feed, dt));
            input_names.push(input);
        }
        if !feeds.iter().any(|(f, _)| *f == Feed::Ids) {
            return Err(unsupported(format!(
                "it has no 'input_ids' input (inputs: {})",
                input_names.join(", ")
            )));
        }

        let outputs = model.output_outlets().map_err(tract_err)?.to_vec();
        let label = |o: OutletId| {
            model
                .outlet_label(o)
                .map(str::to_string)
                .unwrap_or_else(|| model.node(o.node).name.clone())
        };
        let names: Vec<String> = outputs.iter().map(|&o| label(o)).collect();
        let chosen = match &options.output {
            Some(want) => names.iter().position(|n| n == want).ok_or_else(|| {
                unsupported(format!(
                    "no output named '{want}' (outputs: {})",
                    names.join(", ")
                ))
            })?,
            None => names
                .iter()
                .position(|n| n == "last_hidden_state")
                .unwrap_or(0),
        };
        let (Some(&outlet), Some(output)) = (outputs.get(chosen), names.get(chosen).cloned())
        else {
            return Err(unsupported("the model has no output".into()));
        };
        model.select_output_outlets(&[outlet]).map_err(tract_err)?;

        let mut encoder = TextEncoder {
            info: TextModelInfo {
                name: name.into(),
                sha256: sha256_hex(model_bytes),
                tokenizer_sha256: sha256_hex(tokenizer_json),
                inputs: input_names,
                output,
                embedding_dim: 0,
                options,
            },
            tokenizer,
            source: model,
            feeds,
            plans: RefCell::new(Vec::new()),
            symbolic: None,
        };
        if encoder.info.options.shapes == Shapes::Symbolic {
            encoder.symbolic = Some(encoder.symbolic_plan()?);
        }
        // One short text tells the output's rank and width.
        let probe = encoder.tokenize(&["a".to_string()])?;
        let (shape, _) = encoder.run(&probe)?;
        let dim = match (shape.as_slice(), encoder.info.options.pooling) {
            ([_, _, d], Pooling::Mean | Pooling::Cls) => *d,
            ([_, d], Pooling::None) => *d,
            (s, Pooling::None) => {
                return Err(unsupported(format!(
                    "output '{}' has shape {s:?}; pooling 'none' needs [batch, dim]",
                    encoder.info.output
                )))
            }
            (s, p) => {
                return Err(unsupported(format!(
                    "output '{}' has shape {s:?}; pooling '{}' needs [batch, sequence, dim]",
                    encoder.info.output,
                    format!("{p:?}").to_lowercase()
                )))
            }
        };
        if dim == 0 {
            return Err(unsupported(format!(
                "output '{}' is empty",
                encoder.info.output
            )));
        }
        encoder.info.embedding_dim = dim;
        Ok(encoder)
    }

    /// Model summary.
    pub fn info(&self) -> &TextModelInfo {
        &self.info
    }

    fn encode_all(&self, texts: &[String]) -> Result<Vec<Encoding>> {
        texts
            .iter()
            .enumerate()
            .map(|(index, t)| {
                self.tokenizer
                    .encode(t.as_str(), true)
                    .map_err(|e| Error::Tokenize {
                        index,
                        detail: e.to_string(),
                    })
            })
            .collect()
    }

    /// Word pieces of each text after truncation (special tokens included): its row length
    /// in a batch before padding.
    pub fn token_counts(&self, texts: &[String]) -> Result<Vec<usize>> {
        Ok(self.encode_all(texts)?.iter().map(Encoding::len).collect())
    }

    /// Tokenises `texts` (truncated to `max_length`) and pads them to the longest.
    pub fn tokenize(&self, texts: &[String]) -> Result<TokenBatch> {
        let encodings = self.encode_all(texts)?;
        Ok(pad(&encodings.iter().collect::<Vec<_>>()))
    }

    /// Embeds `texts`: `texts.len() × embedding_dim` values, row-major, in input order.
    /// Texts are run in batches of similar length (longest first).
    pub fn embed(&self, texts: &[String]) -> Result<Vec<f32>> {
        let d = self.info.embedding_dim;
        let encodings = self.encode_all(texts)?;
        let mut order: Vec<(usize, &Encoding)> = encodings.iter().enumerate().collect();
        order.sort_by_key(|(_, e)| std::cmp::Reverse(e.len()));
        // Embeddings in `order`, then put back in input order.
        let mut sorted = Vec::with_capacity(texts.len() * d);
        for chunk in order.chunks(self.info.options.batch_size) {
            let batch = pad(&chunk.iter().map(|&(_, e)| e).collect::<Vec<_>>());
            sorted.extend(self.embed_tokens(&batch)?);
        }
        if sorted.len() != texts.len() * d {
            return Err(Error::LengthMismatch {
                what: format!("embedding values of {} texts", texts.len()),
                expected: texts.len() * d,
                got: sorted.len(),
            });
        }
        let mut rows: Vec<(usize, &[f32])> = order
            .iter()
            .map(|&(r, _)| r)
            .zip(sorted.chunks_exact(d))
            .collect();
        rows.sort_unstable_by_key(|&(r, _)| r);
        Ok(rows.into_iter().flat_map(|(_, row)| row).copied().collect())
    }

    /// Embeds an already tokenised batch: `rows × embedding_dim` values.
    pub fn embed_tokens(&self, batch: &TokenBatch) -> Result<Vec<f32>> {
        let n = batch.rows * batch.len;
        for (what, v) in [
            ("input_ids", &batch.input_ids),
            ("attention_mask", &batch.attention_mask),
            ("token_type_ids", &batch.token_type_ids),
        ] {
            if v.len() != n {
                return Err(Error::LengthMismatch {
                    what: format!("{what} values for {} × {}", batch.rows, batch.len),
                    expected: n,
                    got: v.len(),
                });
            }
        }
        if batch.rows == 0 {
            return Ok(Vec::new());
        }
        if batch.len == 0 {
            return Err(Error::InvalidParameter {
                name: "token batch length",
                value: "0".into(),
                why: "every text has at least one token (padded)",
            });
        }
        let (shape, hidden) = self.run(batch)?;
        let d = self.info.embedding_dim;
        let want: Vec<usize> = match self.info.options.pooling {
            Pooling::None => vec![batch.rows, d],
            _ => vec![batch.rows, batch.len, d],
        };
        let fits = match (shape.split_first(), want.split_first()) {
            (Some((&rows, rest)), Some((_, want_rest))) => rows >= batch.rows && rest == want_rest,
            _ => false,
        };
        // Values per text: [d] or [len, d].
        let row_len: usize = want.iter().skip(1).product();
        if !fits || d == 0 || hidden.len() < batch.rows * row_len {
            return Err(Error::Inference(format!(
                "output '{}' has shape {shape:?} ({} values) for {} texts of {} tokens; expected {want:?}",
                self.info.output,
                hidden.len(),
                batch.rows,
                batch.len
            )));
        }
        let mut out = vec![0.0f32; batch.rows * d];
        for ((dst, text), mask) in out
            .chunks_exact_mut(d)
            .zip(hidden.chunks_exact(row_len))
            .zip(batch.attention_mask.chunks_exact(batch.len))
        {
            match self.info.options.pooling {
                // [d] per text.
                Pooling::None => dst.copy_from_slice(text),
                // The first token's [d] of [len, d].
                Pooling::Cls => dst.iter_mut().zip(text).for_each(|(o, &h)| *o = h),
                Pooling::Mean => {
                    let mut acc = vec![0.0f64; d];
                    let mut count = 0.0f64;
                    for (token, &m) in text.chunks_exact(d).zip(mask) {
                        if m == 0 {
                            continue;
                        }
                        let m = m as f64;
                        count += m;
                        for (a, &h) in acc.iter_mut().zip(token) {
                            *a += m * f64::from(h);
                        }
                    }
                    let count = count.max(1e-9);
                    for (o, a) in dst.iter_mut().zip(&acc) {
                        *o = (a / count) as f32;
                    }
                }
            }
            if self.info.options.normalize {
                let norm = dst
                    .iter()
                    .map(|&v| f64::from(v) * f64::from(v))
                    .sum::<f64>()
                    .sqrt()
                    .max(1e-12);
                for v in dst.iter_mut() {
                    *v = (f64::from(*v) / norm) as f32;
                }
            }
        }
        Ok(out)
    }

    /// Runs the model on a batch (its length padded to the plan's when concrete); returns the
    /// output's shape and values.
    fn run(&self, batch: &TokenBatch) -> Result<(Vec<usize>, Vec<f32>)> {
        let (plan, rows, len) = match &self.symbolic {
            Some(p) => (p.clone(), batch.rows, batch.len),
            None => {
                let rows = batch.rows;
                let len = batch.len.div_ceil(LENGTH_STEP) * LENGTH_STEP;
                let len = len.min(self.info.options.max_length.max(batch.len));
                (self.concrete_plan(rows, len)?, rows, len)
            }
        };
        let mut inputs = TVec::new();
        for &(feed, dt) in &self.feeds {
            let src = match feed {
                Feed::Ids => &batch.input_ids,
                Feed::Mask => &batch.attention_mask,
                Feed::Types => &batch.token_type_ids,
            };
            // Each row of `batch.len` ids at the start of a row of `len >= batch.len`.
            let mut values = vec![0i64; rows * len];
            for (dst, src) in values
                .chunks_exact_mut(len)
                .zip(src.chunks_exact(batch.len))
            {
                dst.iter_mut().zip(src).for_each(|(d, &s)| *d = s);
            }
            let tensor = match dt {
                DatumType::I32 => {
                    let v: Vec<i32> = values
                        .iter()
                        .map(|&x| i32::try_from(x).unwrap_or(i32::MAX))
                        .collect();
                    Tensor::from_shape(&[rows, len], &v)
                }
                _ => Tensor::from_shape(&[rows, len], &values),
            }
            .map_err(tract_err)?;
            inputs.push(tensor.into_tvalue());
        }
        let outputs = plan.run(inputs).map_err(tract_err)?;
        let first = outputs
            .first()
            .ok_or_else(|| Error::Inference("the model has no output".into()))?;
        let shape = first.shape().to_vec();
        let view = first.try_as_plain_ram().map_err(tract_err)?;
        let values = view.as_slice::<f32>().map_err(|e| {
            Error::Inference(format!(
                "output '{}' is not float32: {e:#}",
                self.info.output
            ))
        })?;
        let short = || {
            Error::Inference(format!(
                "output '{}' has shape {shape:?} for {} texts of {} tokens",
                self.info.output, batch.rows, batch.len
            ))
        };
        // Cut the padding back off: [rows, len, d] -> [batch.rows, batch.len, d].
        let out = match shape.as_slice() {
            [_, l, d] if *l == len => {
                let (stride, keep) = (len * d, batch.len * d);
                let mut v = Vec::with_capacity(batch.rows * keep);
                for r in 0..batch.rows {
                    let at = r * stride;
                    v.extend_from_slice(values.get(at..at + keep).ok_or_else(short)?);
                }
                (vec![batch.rows, batch.len, *d], v)
            }
            [_, d] => (
                vec![batch.rows, *d],
                values.get(..batch.rows * d).ok_or_else(short)?.to_vec(),
            ),
            _ => (shape.clone(), values.to_vec()),
        };
        Ok(out)
    }

    fn concrete_plan(&self, rows: usize, len: usize) -> Result<Arc<TypedRunnableModel>> {
        if let Some((_, p)) = self.plans.borrow().iter().find(|(k, _)| *k == (rows, len)) {
            return Ok(p.clone());
        }
        let mut model = self.source.clone();
        for (i, &(_, dt)) in self.feeds.iter().enumerate() {
            model
                .set_input_fact(i, InferenceFact::dt_shape(dt, [rows, len]))
                .map_err(tract_err)?;
        }
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(tract_err)?;
        let mut cache = self.plans.borrow_mut();
        if cache.len() >= PLAN_CACHE {
            cache.remove(0);
        }
        cache.push(((rows, len), plan.clone()));
        Ok(plan)
    }

    fn symbolic_plan(&self) -> Result<Arc<TypedRunnableModel>> {
        let mut model = self.source.clone();
        let b = model.symbols.sym("batch");
        let l = model.symbols.sym("sequence");
        for (i, &(_, dt)) in self.feeds.iter().enumerate() {
            let shape: TVec<TDim> = tvec![b.clone().into(), l.clone().into()];
            model
                .set_input_fact(i, InferenceFact::dt_shape(dt, shape))
                .map_err(tract_err)?;
        }
        model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(tract_err)
    }
}

/// Pads encodings to the longest with zeros (id 0, mask 0, type 0).
fn pad(encodings: &[&Encoding]) -> TokenBatch {
    let len = encodings.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
    let rows = encodings.len();
    let mut batch = TokenBatch {
        rows,
        len,
        input_ids: vec![0; rows * len],
        attention_mask: vec![0; rows * len],
        token_type_ids: vec![0; rows * len],
    };
    let rows_out = batch
        .input_ids
        .chunks_exact_mut(len)
        .zip(batch.attention_mask.chunks_exact_mut(len))
        .zip(batch.token_type_ids.chunks_exact_mut(len));
    for (((ids, mask), types), e) in rows_out.zip(encodings) {
        let cells = e
            .get_ids()
            .iter()
            .zip(e.get_attention_mask())
            .zip(e.get_type_ids());
        let slots = ids.iter_mut().zip(mask.iter_mut()).zip(types.iter_mut());
        for (((id_out, m_out), t_out), ((&id, &m), &t)) in slots.zip(cells) {
            *id_out = i64::from(id);
            *m_out = i64::from(m);
            *t_out = i64::from(t);
        }
    }
    batch
}

/// Parses `tokenizer.json` and sets truncation to `max_length` (right side, longest first, as
/// sentence-transformers), without padding.
#[cfg(feature = "text")]
fn load_tokenizer(json: &[u8], max_length: usize) -> Result<Tokenizer> {
    use tokenizers::{TruncationDirection, TruncationParams, TruncationStrategy};
    let invalid = |e: tokenizers::Error| Error::InvalidTokenizer {
        name: "tokenizer.json".into(),
        detail: e.to_string(),
    };
    let mut tokenizer = Tokenizer::from_bytes(json).map_err(invalid)?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(invalid)?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

/// The page's image build (no `text` feature) has no tokenizer: text encoders are refused
/// here, and the page loads its full build (`pkg/downstream_full.js`) before it sends one.
#[cfg(not(feature = "text"))]
fn load_tokenizer(_json: &[u8], _max_length: usize) -> Result<Tokenizer> {
    Err(Error::NotInPageBuild {
        name: "tokenizer.json".into(),
        detail: "this build has no tokenizer; text encoders run in the page's full build (pkg/downstream_full.js) and the CLI".into(),
    })
}

/// Stand-ins for the `tokenizers` types in the image build: types without values, so the
/// code that tokenises compiles unchanged and can never run (`load_tokenizer` refuses).
#[cfg(not(feature = "text"))]
mod no_tokenizer {
    pub enum Tokenizer {}
    pub enum Encoding {}

    impl Tokenizer {
        pub fn encode(&self, _text: &str, _special: bool) -> Result<Encoding, String> {
            match *self {}
        }
    }

    impl Encoding {
        pub fn len(&self) -> usize {
            match *self {}
        }
        pub fn get_ids(&self) -> &[u32] {
            match *self {}
        }
        pub fn get_attention_mask(&self) -> &[u32] {
            match *self {}
        }
        pub fn get_type_ids(&self) -> &[u32] {
            match *self {}
        }
    }
}

fn check_options(o: &TextOptions) -> Result<()> {
    if !(2..=8192).contains(&o.max_length) {
        return Err(Error::InvalidParameter {
            name: "max_length",
            value: o.max_length.to_string(),
            why: "must be between 2 and 8192 tokens",
        });
    }
    if !(1..=1024).contains(&o.batch_size) {
        return Err(Error::InvalidParameter {
            name: "batch_size",
            value: o.batch_size.to_string(),
            why: "must be between 1 and 1024",
        });
    }
    Ok(())
}
