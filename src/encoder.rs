//! The ONNX encoder: tract loads the model from bytes, fixes a concrete batch shape,
//! and turns batches of preprocessed images into embeddings.
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

use std::cell::RefCell;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;
use tract_onnx::tract_core::internal::TractErrorContext;
use tract_onnx::tract_hir::infer::{DimFact, Factoid};

use crate::data::sha256_hex;
use crate::error::{Error, Result};
use crate::preprocess::{ImageSpec, Layout};

/// Batch size used when the model's batch dimension is symbolic.
pub const DEFAULT_BATCH: usize = 32;
/// Side used for a symbolic image height or width.
pub const DEFAULT_SIDE: usize = 224;
/// Largest batch a model may fix in its input shape.
pub const MAX_BATCH: usize = 4096;
/// Most values one image may become (64 Mi).
pub const MAX_INPUT_VALUES: usize = 1 << 26;

/// What the page and the report show of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub sha256: String,
    pub input_name: String,
    /// Declared input dims: numbers, or symbol names for symbolic dims.
    pub input_shape: Vec<serde_json::Value>,
    pub layout: Layout,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub batch: usize,
    pub embedding_dim: usize,
}

/// A loaded encoder ready to run.
pub struct Encoder {
    info: ModelInfo,
    spec: ImageSpec,
    plan: Arc<TypedRunnableModel>,
    /// The model as loaded, when its batch is symbolic: plans for other batch sizes (a
    /// last partial batch, a single image) are built from it on first use.
    source: Option<InferenceModel>,
    extra_plans: RefCell<Vec<(usize, Arc<TypedRunnableModel>)>>,
}

fn optimize_for(model: InferenceModel, shape: &[usize]) -> Result<Arc<TypedRunnableModel>> {
    model
        .with_input_fact(0, f32::fact(shape).into())
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(|e| Error::Inference(format!("{e:#}")))
}

fn dim_value(d: &DimFact) -> Option<usize> {
    d.concretize().and_then(|t| t.to_usize().ok())
}

fn dim_json(d: &DimFact) -> serde_json::Value {
    match d.concretize() {
        Some(t) => match t.to_usize() {
            Ok(v) => serde_json::Value::from(v),
            Err(_) => serde_json::Value::from(t.to_string()),
        },
        None => serde_json::Value::from("?"),
    }
}

fn shape_text(dims: &[serde_json::Value]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Reads the image layout from a declared input shape (batch first).
fn spec_from_dims(dims: &[Option<usize>], input: &str, shape: &str) -> Result<ImageSpec> {
    let unsupported = |why: String| Error::UnsupportedInput {
        input: input.into(),
        shape: shape.into(),
        why,
    };
    let side = |d: Option<usize>| d.unwrap_or(DEFAULT_SIDE);
    let channels_ok = |c: Option<usize>| matches!(c, Some(1) | Some(3));
    let spec = match dims {
        [_, c, h, w] if channels_ok(*c) => ImageSpec {
            layout: Layout::Nchw,
            channels: c.unwrap_or(1),
            height: side(*h),
            width: side(*w),
        },
        [_, h, w, c] if channels_ok(*c) => ImageSpec {
            layout: Layout::Nhwc,
            channels: c.unwrap_or(1),
            height: side(*h),
            width: side(*w),
        },
        [_, _, _, _] => {
            return Err(unsupported(
                "a 4-D image input needs 1 or 3 channels, in position 1 (NCHW) or 3 (NHWC)".into(),
            ))
        }
        [_, h, w] => ImageSpec {
            layout: Layout::Nhw,
            channels: 1,
            height: side(*h),
            width: side(*w),
        },
        [_, Some(d)] => {
            let (channels, pixels) = if d % 3 == 0 && is_square(d / 3) && !is_square(*d) {
                (3, d / 3)
            } else {
                (1, *d)
            };
            if !is_square(pixels) {
                return Err(unsupported(format!(
                    "a flat input of {d} values is not a square grayscale or RGB image"
                )));
            }
            let s = (pixels as f64).sqrt().round() as usize;
            ImageSpec {
                layout: Layout::Flat,
                channels,
                height: s,
                width: s,
            }
        }
        [_, None] => return Err(unsupported("a flat input needs a fixed number of values".into())),
        _ => {
            return Err(unsupported(format!(
                "rank {} is not an image batch (expected [N, C, H, W], [N, H, W, C], [N, H, W] or [N, D])",
                dims.len()
            )))
        }
    };
    let values = spec
        .channels
        .checked_mul(spec.height)
        .and_then(|v| v.checked_mul(spec.width));
    if spec.height == 0 || spec.width == 0 || values.is_none_or(|v| v > MAX_INPUT_VALUES) {
        return Err(unsupported(format!(
            "image size {}x{} is out of range",
            spec.height, spec.width
        )));
    }
    Ok(spec)
}

/// tract indexes its name table with each graph output (and panics, which traps the wasm
/// module, on a name that nothing defines): check every graph, subgraphs included, first.
fn check_outputs_defined(graph: &tract_onnx::pb::GraphProto) -> std::result::Result<(), String> {
    let mut defined: std::collections::HashSet<&str> = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .collect();
    for node in &graph.node {
        defined.extend(node.input.iter().chain(&node.output).map(String::as_str));
        for attr in &node.attribute {
            for sub in attr.g.iter().chain(&attr.graphs) {
                check_outputs_defined(sub)?;
            }
        }
    }
    match graph
        .output
        .iter()
        .find(|o| !defined.contains(o.name.as_str()))
    {
        Some(o) => Err(format!(
            "graph '{}' has an output '{}' that no input, initializer or node defines",
            graph.name, o.name
        )),
        None => Ok(()),
    }
}

fn is_square(n: usize) -> bool {
    let s = (n as f64).sqrt().round() as usize;
    s * s == n && n > 0
}

impl Encoder {
    /// Loads an ONNX model from bytes and prepares it for image batches.
    pub fn load(bytes: &[u8], name: &str) -> Result<Self> {
        let invalid = |e: TractError| Error::InvalidModel {
            name: name.into(),
            detail: format!("{e:#}"),
        };
        if bytes.is_empty() {
            return Err(Error::InvalidModel {
                name: name.into(),
                detail: "the file is empty".into(),
            });
        }
        let onnx = tract_onnx::onnx();
        let proto = onnx
            .proto_model_for_read(&mut &*bytes)
            .context("Reading proto model")
            .map_err(invalid)?;
        if let Some(graph) = &proto.graph {
            check_outputs_defined(graph).map_err(|detail| Error::InvalidModel {
                name: name.into(),
                detail,
            })?;
        }
        let model = onnx
            .model_for_proto_model(&proto)
            .context("Translating proto model to model")
            .map_err(invalid)?;
        let inputs = model.input_outlets().map_err(invalid)?.to_vec();
        let input_names: Vec<String> = inputs
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        let [input_name] = input_names.as_slice() else {
            return Err(Error::ModelInputCount {
                name: name.into(),
                count: inputs.len(),
                inputs: if input_names.is_empty() {
                    "none".into()
                } else {
                    input_names
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            });
        };
        let input_name = input_name.clone();
        let fact = model.input_fact(0).map_err(invalid)?.clone();
        let dims: Vec<&DimFact> = fact.shape.dims().collect();
        let shape_json: Vec<serde_json::Value> = dims.iter().map(|d| dim_json(d)).collect();
        let shape = shape_text(&shape_json);
        let unsupported = |why: String| Error::UnsupportedInput {
            input: input_name.clone(),
            shape: shape.clone(),
            why,
        };
        if fact.shape.is_open() || dims.is_empty() {
            return Err(unsupported(
                "the model does not declare the rank of its input".into(),
            ));
        }
        if let Some(dt) = fact.datum_type.concretize() {
            if dt != DatumType::F32 {
                return Err(unsupported(format!(
                    "its element type is {}; Downstream feeds float32",
                    format!("{dt:?}").to_lowercase()
                )));
            }
        }
        let values: Vec<Option<usize>> = dims.iter().map(|d| dim_value(d)).collect();
        let spec = spec_from_dims(&values, &input_name, &shape)?;
        let declared_batch = values.first().copied().flatten();
        let batch = declared_batch.unwrap_or(DEFAULT_BATCH);
        if batch == 0 || batch > MAX_BATCH {
            return Err(unsupported(format!(
                "its batch dimension is {batch}; Downstream runs batches of 1 to {MAX_BATCH}"
            )));
        }
        let concrete: Vec<usize> = match spec.layout {
            Layout::Nchw => vec![batch, spec.channels, spec.height, spec.width],
            Layout::Nhwc => vec![batch, spec.height, spec.width, spec.channels],
            Layout::Nhw => vec![batch, spec.height, spec.width],
            Layout::Flat => vec![batch, spec.len()],
        };
        let run_err = |e: TractError| Error::Inference(format!("{e:#}"));
        let source = declared_batch.is_none().then(|| model.clone());
        let plan = optimize_for(model, &concrete)?;
        let out_fact = plan.model().output_fact(0).map_err(run_err)?;
        let out_shape = out_fact.shape.as_concrete().map(|s| s.to_vec());
        if out_fact.datum_type != DatumType::F32 {
            return Err(Error::Inference(format!(
                "the first output has element type {:?}; Downstream needs float32 embeddings",
                out_fact.datum_type
            )));
        }
        let embedding_dim = match out_shape {
            Some(s) if s.first() == Some(&batch) && s.len() >= 2 => s
                .iter()
                .skip(1)
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| {
                    Error::Inference(format!("the first output has shape {s:?}, too large"))
                })?,
            Some(s) => {
                return Err(Error::Inference(format!(
                    "the first output has shape {s:?}; expected the batch ({batch}) first"
                )))
            }
            None => {
                let zeros = vec![0.0f32; batch.saturating_mul(spec.len())];
                let out = run_batch(&plan, &concrete, &zeros)?;
                out.len() / batch
            }
        };
        if embedding_dim == 0 {
            return Err(Error::Inference("the first output is empty".into()));
        }
        if embedding_dim > MAX_INPUT_VALUES {
            return Err(Error::Inference(format!(
                "the first output has {embedding_dim} values per sample, more than the limit of {MAX_INPUT_VALUES}"
            )));
        }
        Ok(Encoder {
            info: ModelInfo {
                name: name.into(),
                sha256: sha256_hex(bytes),
                input_name,
                input_shape: shape_json,
                layout: spec.layout,
                channels: spec.channels,
                height: spec.height,
                width: spec.width,
                batch,
                embedding_dim,
            },
            spec,
            plan,
            source,
            extra_plans: RefCell::new(Vec::new()),
        })
    }

    /// The plan for `rows` inputs and the batch it runs: the main plan (padding when
    /// `rows` is smaller and the batch is fixed by the model), or one built for `rows`.
    fn plan_for(&self, rows: usize) -> Result<(Arc<TypedRunnableModel>, usize)> {
        let Some(source) = self.source.as_ref().filter(|_| rows != self.info.batch) else {
            return Ok((self.plan.clone(), self.info.batch));
        };
        if let Some((_, p)) = self.extra_plans.borrow().iter().find(|(b, _)| *b == rows) {
            return Ok((p.clone(), rows));
        }
        let mut shape = vec![rows];
        shape.extend(self.sample_shape());
        let plan = optimize_for(source.clone(), &shape)?;
        let mut cache = self.extra_plans.borrow_mut();
        if cache.len() >= 4 {
            cache.remove(0);
        }
        cache.push((rows, plan.clone()));
        Ok((plan, rows))
    }

    /// Model summary.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The input one image must become.
    pub fn spec(&self) -> &ImageSpec {
        &self.spec
    }

    /// Dims of one sample of model input (without the batch).
    pub fn sample_shape(&self) -> Vec<usize> {
        let s = &self.spec;
        match s.layout {
            Layout::Nchw => vec![s.channels, s.height, s.width],
            Layout::Nhwc => vec![s.height, s.width, s.channels],
            Layout::Nhw => vec![s.height, s.width],
            Layout::Flat => vec![s.len()],
        }
    }

    /// Embeds `rows` preprocessed inputs (`rows * spec.len()` values), padding the last
    /// batch; returns `rows * embedding_dim` values.
    pub fn embed(&self, inputs: &[f32]) -> Result<Vec<f32>> {
        let per = self.spec.len();
        if inputs.len() % per != 0 {
            return Err(Error::LengthMismatch {
                what: "input values per sample".into(),
                expected: per,
                got: inputs.len(),
            });
        }
        let rows = inputs.len() / per;
        let b = self.info.batch;
        let d = self.info.embedding_dim;
        let mut out = Vec::with_capacity(rows.saturating_mul(d).min(1 << 24));
        let mut padded = Vec::new();
        for chunk in inputs.chunks(b * per) {
            let n = chunk.len() / per;
            let (plan, run_rows) = self.plan_for(n)?;
            let batch_in: &[f32] = if n == run_rows {
                chunk
            } else {
                padded.clear();
                padded.extend_from_slice(chunk);
                padded.resize(run_rows * per, 0.0);
                &padded
            };
            let mut shape = vec![run_rows];
            shape.extend(self.sample_shape());
            let emb = run_batch(&plan, &shape, batch_in)?;
            if emb.len() != run_rows.saturating_mul(d) {
                return Err(Error::Inference(format!(
                    "the model returned {} values for a batch of {run_rows}; expected {}",
                    emb.len(),
                    run_rows * d
                )));
            }
            out.extend(emb.iter().take(n * d));
        }
        Ok(out)
    }
}

fn run_batch(plan: &Arc<TypedRunnableModel>, shape: &[usize], data: &[f32]) -> Result<Vec<f32>> {
    let err = |e: TractError| Error::Inference(format!("{e:#}"));
    let input = Tensor::from_shape(shape, data).map_err(err)?;
    let outputs = plan.run(tvec!(input.into_tvalue())).map_err(err)?;
    let first = outputs
        .first()
        .ok_or_else(|| Error::Inference("the model has no output".into()))?;
    let view = first.try_as_plain_ram().map_err(err)?;
    Ok(view.as_slice::<f32>().map_err(err)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_are_read_from_shapes() {
        let s = spec_from_dims(&[None, Some(3), Some(32), Some(32)], "x", "").unwrap();
        assert_eq!((s.layout, s.channels, s.height), (Layout::Nchw, 3, 32));
        let s = spec_from_dims(&[None, None, None, Some(3)], "x", "").unwrap();
        assert_eq!(
            (s.layout, s.height, s.width),
            (Layout::Nhwc, DEFAULT_SIDE, DEFAULT_SIDE)
        );
        let s = spec_from_dims(&[Some(1), Some(784)], "x", "").unwrap();
        assert_eq!((s.layout, s.channels, s.height), (Layout::Flat, 1, 28));
        assert!(spec_from_dims(&[None, Some(10)], "x", "").is_err());
        assert!(spec_from_dims(&[None, Some(5), Some(7), Some(9)], "x", "").is_err());
    }
}
