//! The ONNX encoder: tract loads the model from bytes, fixes a concrete batch shape,
//! and turns batches of preprocessed images into embeddings.

use std::cell::RefCell;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tract_onnx::model::OnnxOpRegister;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;
use tract_onnx::tract_core::internal::TractErrorContext;
use tract_onnx::tract_hir::infer::{DimFact, Factoid};

use crate::data::sha256_hex;
use crate::error::{Error, Result};
use crate::preprocess::{ImageSpec, Layout, PreprocessOptions, Preprocessing, Resolved};

/// Largest batch Downstream picks when the model's batch dimension is symbolic.
pub const DEFAULT_BATCH: usize = 32;
/// Bytes one batch's largest activation may take when Downstream picks the batch for a model
/// without convolutions (an MLP): about a core's L2 cache. MLPs keep 32. Models with
/// convolutions run one sample at a time instead (see [`has_convolutions`]).
pub const BATCH_ACTIVATION_BYTES: usize = 512 * 1024;
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
    /// Every graph output with its declared shape (absent in older reports).
    #[serde(default)]
    pub outputs: Vec<OutputInfo>,
    /// The output used as the embedding.
    #[serde(default)]
    pub output: String,
    /// Its shape for one batch, as run.
    #[serde(default)]
    pub output_shape: Vec<usize>,
    /// How each sample's output becomes one vector (`flatten` when the output has rank 2).
    #[serde(default)]
    pub pooling: Pooling,
    /// Things to know about the model that do not stop it from running (quantisation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One graph output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputInfo {
    pub name: String,
    /// Declared dims: numbers, or symbol names for symbolic dims.
    pub shape: Vec<serde_json::Value>,
}

/// How an output of rank 3 or more becomes one vector per sample. The feature axis is
/// the last for rank 3 (`[N, T, D]`), the channel axis for rank 4 or more (1, or the last
/// when the model's input is NHWC).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    /// Every value of the sample, in order (the default).
    #[default]
    Flatten,
    /// The mean over every axis but the batch and the feature axis.
    Mean,
    /// The first position (CLS token) on every axis but the batch and the feature axis.
    Cls,
}

/// What the user chose about a model: its preprocessing, output and pooling. Every
/// default is Downstream's behaviour before these choices existed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelOptions {
    pub preprocess: PreprocessOptions,
    /// The output name; `None` for the first.
    pub output: Option<String>,
    pub pooling: Pooling,
}

/// A loaded encoder ready to run.
pub struct Encoder {
    info: ModelInfo,
    spec: ImageSpec,
    pre: Resolved,
    /// The chosen output's dims for one sample and the feature axis among them.
    sample_out: Vec<usize>,
    feature_axis: usize,
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
        .and_then(|mut m| crate::pool::fast_pools(&mut m).map(|_| m))
        .and_then(|m| m.into_runnable())
        .map_err(|e| Error::Inference(format!("{e:#}")))
}

/// Bytes of the largest value a node of `plan` (a plan for one sample) outputs.
fn largest_activation(plan: &TypedRunnableModel) -> usize {
    plan.model()
        .nodes()
        .iter()
        .flat_map(|n| n.outputs.iter())
        .filter_map(|o| {
            let shape = o.fact.shape.as_concrete()?;
            Some(
                shape
                    .iter()
                    .product::<usize>()
                    .saturating_mul(o.fact.datum_type.size_of()),
            )
        })
        .max()
        .unwrap_or(0)
}

/// Whether a plan convolves: a convolution node, or the im2col that tract lowers one to.
///
/// A convolution already multiplies matrices as wide as its output map (one column per output
/// position, 49 to 784 on the bench CNN), so a batch does not widen its products; it only
/// multiplies the im2col buffers (113 KB an image for the bench CNN's second convolution)
/// past the caches. Such models run one sample at a time (issue 6): on the bench CNN, one
/// image at a time embedded 1.17x as fast as the batch of 8 the activation rule gave it
/// (median of 17 interleaved passes over the 1,000 demo digits, relaxed-SIMD build in node;
/// 1.09-1.24x), and 1,707 against 1,622 images/s in headless Chromium. EfficientNet-Lite0
/// ran one at a time already (1.6 MB of activations an image), which also bounds its memory.
fn has_convolutions(plan: &TypedRunnableModel) -> bool {
    plan.model().nodes().iter().any(|n| {
        let name = n.op().name();
        name.contains("Conv") || name.to_ascii_lowercase().contains("im2col")
    })
}

/// The batch for a symbolic batch dimension of a model without convolutions: the largest
/// power of two up to
/// `DEFAULT_BATCH` whose largest activation (`per_sample` bytes each) fits in
/// `BATCH_ACTIVATION_BYTES`; at least 1.
pub fn pick_batch(per_sample: usize) -> usize {
    let mut b = DEFAULT_BATCH;
    while b > 1 && b.saturating_mul(per_sample) > BATCH_ACTIVATION_BYTES {
        b /= 2;
    }
    b
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

/// The shape a graph output declares: numbers, symbol names, or `"?"`; empty when the
/// output declares no shape.
pub(crate) fn declared_shape(v: &tract_onnx::pb::ValueInfoProto) -> Vec<serde_json::Value> {
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    use tract_onnx::pb::type_proto::Value as Type;
    let Some(Type::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Vec::new();
    };
    t.shape
        .iter()
        .flat_map(|s| s.dim.iter())
        .map(|d| match &d.value {
            Some(Dim::DimValue(n)) => serde_json::Value::from(*n),
            Some(Dim::DimParam(p)) if !p.is_empty() => serde_json::Value::from(p.clone()),
            _ => serde_json::Value::from("?"),
        })
        .collect()
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
pub(crate) fn check_outputs_defined(
    graph: &tract_onnx::pb::GraphProto,
) -> std::result::Result<(), String> {
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
    /// Loads an ONNX model from bytes and prepares it for image batches, with the
    /// default options.
    pub fn load(bytes: &[u8], name: &str) -> Result<Self> {
        Self::load_with(bytes, name, &ModelOptions::default())
    }

    /// Loads an ONNX model with the user's choice of preprocessing, output and pooling.
    /// Operators tract cannot run, and inputs the page cannot feed, are refused with a
    /// message naming them before any data is processed.
    pub fn load_with(bytes: &[u8], name: &str, options: &ModelOptions) -> Result<Self> {
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
        let mut notes = Vec::new();
        if let Some(graph) = &proto.graph {
            check_outputs_defined(graph).map_err(|detail| Error::InvalidModel {
                name: name.into(),
                detail,
            })?;
            let scan = scan_ops(graph, &onnx.op_register, false);
            let quantised = scan.quantised_summary();
            if IMAGE_BUILD && !scan.unsupported.is_empty() {
                return Err(Error::NotInImageBuild {
                    name: name.into(),
                    ops: scan.op_names().join(", "),
                });
            }
            if !scan.unsupported.is_empty() {
                let page_build = cfg!(target_arch = "wasm32");
                let detail =
                    unsupported_detail(&scan.unsupported, quantised.as_deref(), page_build);
                return Err(
                    if page_build && scan.unsupported.iter().all(|(op, d, _)| left_out(op, d)) {
                        Error::NotInPageBuild {
                            name: name.into(),
                            detail,
                        }
                    } else {
                        Error::UnsupportedOp {
                            name: name.into(),
                            detail,
                        }
                    },
                );
            }
            if let Some(q) = quantised {
                notes.push(format!(
                    "quantised model ({q}): tract runs these operators, but its embeddings may \
                     differ from onnxruntime's by more than float rounding; compare them with \
                     reference embeddings (fidelity check)"
                ));
            }
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
        if let Some(axis) = values.iter().position(|v| *v == Some(0)) {
            return Err(unsupported(format!(
                "dimension {axis} is 0, so a sample holds no values"
            )));
        }
        let spec = spec_from_dims(&values, &input_name, &shape)?;
        let pre = options.preprocess.resolve(&spec)?;
        let declared_batch = values.first().copied().flatten();
        if let Some(b) = declared_batch.filter(|&b| b == 0 || b > MAX_BATCH) {
            return Err(unsupported(format!(
                "its batch dimension is {b}; Downstream runs batches of 1 to {MAX_BATCH}"
            )));
        }
        let shape_for = |batch: usize| -> Vec<usize> {
            match spec.layout {
                Layout::Nchw => vec![batch, spec.channels, spec.height, spec.width],
                Layout::Nhwc => vec![batch, spec.height, spec.width, spec.channels],
                Layout::Nhw => vec![batch, spec.height, spec.width],
                Layout::Flat => vec![batch, spec.len()],
            }
        };

        let output_outlets = model.output_outlets().map_err(invalid)?.to_vec();
        let proto_outputs: Vec<&tract_onnx::pb::ValueInfoProto> =
            proto.graph.iter().flat_map(|g| g.output.iter()).collect();
        let outputs: Vec<OutputInfo> = output_outlets
            .iter()
            .enumerate()
            .map(|(i, &o)| match proto_outputs.get(i) {
                Some(v) => OutputInfo {
                    name: v.name.clone(),
                    shape: declared_shape(v),
                },
                None => OutputInfo {
                    name: model
                        .outlet_label(o)
                        .map_or_else(|| model.node(o.node).name.clone(), String::from),
                    shape: Vec::new(),
                },
            })
            .collect();
        let chosen = match &options.output {
            None => 0,
            Some(want) => outputs
                .iter()
                .position(|o| &o.name == want)
                .ok_or_else(|| Error::InvalidValue {
                    name: "output",
                    value: format!("'{want}'"),
                    why: format!(
                        "the model's outputs are {}",
                        outputs
                            .iter()
                            .map(|o| format!("'{}'", o.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })?,
        };
        let (Some(&outlet), Some(out_info)) = (output_outlets.get(chosen), outputs.get(chosen))
        else {
            return Err(Error::Inference("the model has no output".into()));
        };
        let output_name = out_info.name.clone();
        let model = model.with_output_outlets(&[outlet]).map_err(invalid)?;
        let run_err = |e: TractError| Error::Inference(format!("{e:#}"));
        let source = declared_batch.is_none().then(|| model.clone());
        let prepare = |model: InferenceModel, shape: &[usize]| {
            optimize_for(model, shape).map_err(|e| match (&e, notes.is_empty()) {
                (Error::Inference(d), false) => Error::UnsupportedOp {
                    name: name.into(),
                    detail: format!("it is quantised and tract could not prepare it: {d}"),
                },
                _ => e,
            })
        };
        // A symbolic batch: a model with convolutions runs one sample at a time; for others
        // the plan for one sample tells how large its activations are, and the batch is the
        // largest that keeps them about cache-sized (issue 6).
        let mut extra_plans = Vec::new();
        let (batch, plan) = match declared_batch {
            Some(b) => (b, prepare(model, &shape_for(b))?),
            None => {
                let single = prepare(model.clone(), &shape_for(1))?;
                let picked = if has_convolutions(&single) {
                    1
                } else {
                    pick_batch(largest_activation(&single))
                };
                match picked {
                    1 => (1, single),
                    b => {
                        extra_plans.push((1, single));
                        (b, prepare(model, &shape_for(b))?)
                    }
                }
            }
        };
        let concrete = shape_for(batch);
        let out_fact = plan.model().output_fact(0).map_err(run_err)?;
        if out_fact.datum_type != DatumType::F32 {
            return Err(Error::Inference(format!(
                "output '{output_name}' has element type {:?}; Downstream needs float32 embeddings",
                out_fact.datum_type
            )));
        }
        let out_shape = match out_fact.shape.as_concrete().map(|s| s.to_vec()) {
            Some(s) => s,
            None => {
                let zeros = vec![0.0f32; batch.saturating_mul(spec.len())];
                run_batch(&plan, &concrete, &zeros)?.0
            }
        };
        let sample_out: Vec<usize> = match out_shape.split_first() {
            Some((&b, rest)) if b == batch && !rest.is_empty() => rest.to_vec(),
            _ => {
                return Err(Error::Inference(format!(
                    "output '{output_name}' has shape {out_shape:?}; expected the batch ({batch}) first and at least one more axis"
                )))
            }
        };
        let per_sample = sample_out
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| {
                Error::Inference(format!(
                    "output '{output_name}' has shape {out_shape:?}, too large"
                ))
            })?;
        if per_sample == 0 {
            return Err(Error::Inference(format!("output '{output_name}' is empty")));
        }
        if per_sample > MAX_INPUT_VALUES {
            return Err(Error::Inference(format!(
                "output '{output_name}' has {per_sample} values per sample, more than the limit of {MAX_INPUT_VALUES}"
            )));
        }
        let pooling = if sample_out.len() < 2 {
            Pooling::Flatten
        } else {
            options.pooling
        };
        let feature_axis = match sample_out.len() {
            0..=2 => sample_out.len().saturating_sub(1),
            r if spec.layout == Layout::Nhwc => r - 1,
            _ => 0,
        };
        let embedding_dim = match pooling {
            Pooling::Flatten => per_sample,
            Pooling::Mean | Pooling::Cls => sample_out.get(feature_axis).copied().unwrap_or(1),
        };
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
                outputs,
                output: output_name,
                output_shape: out_shape,
                pooling,
                notes,
            },
            spec,
            pre,
            sample_out,
            feature_axis,
            plan,
            source,
            extra_plans: RefCell::new(extra_plans),
        })
    }

    /// Changes the preprocessing (no reload needed); on error the previous one stays.
    pub fn set_preprocess(&mut self, options: &PreprocessOptions) -> Result<()> {
        self.pre = options.resolve(&self.spec)?;
        Ok(())
    }

    /// The preprocessing in use, resolved for this model's input.
    pub fn preprocessing(&self) -> &Resolved {
        &self.pre
    }

    /// The preprocessing in use, as recorded in reports.
    pub fn describe_preprocessing(&self) -> Preprocessing {
        self.spec.describe_with(&self.pre)
    }

    /// Decodes one image and writes its model input (`spec().len()` values) with the
    /// preprocessing in use.
    pub fn preprocess(&self, bytes: &[u8], path: &str, out: &mut [f32]) -> Result<()> {
        self.spec.preprocess_with(&self.pre, bytes, path, out)
    }

    /// Pools one batch of raw output (`rows x` the output's sample values) into
    /// `rows x embedding_dim` values.
    fn pool(&self, raw: &[f32], rows: usize) -> Vec<f32> {
        let per: usize = self.sample_out.iter().product();
        let d = self.info.embedding_dim;
        match self.info.pooling {
            Pooling::Flatten => raw.iter().take(rows * per).copied().collect(),
            pooling => {
                let f = self.feature_axis;
                let stride: usize = self.sample_out.iter().skip(f + 1).product();
                let count = (per / d.max(1)).max(1) as f64;
                let mut out = Vec::with_capacity(rows * d);
                for sample in raw.chunks_exact(per.max(1)).take(rows) {
                    match pooling {
                        Pooling::Cls => out
                            .extend((0..d).map(|j| sample.get(j * stride).copied().unwrap_or(0.0))),
                        _ => {
                            let mut acc = vec![0.0f64; d];
                            for (i, &v) in sample.iter().enumerate() {
                                if let Some(a) = acc.get_mut((i / stride.max(1)) % d.max(1)) {
                                    *a += f64::from(v);
                                }
                            }
                            out.extend(acc.iter().map(|&a| (a / count) as f32));
                        }
                    }
                }
                out
            }
        }
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
            let (_, raw) = run_batch(&plan, &shape, batch_in)?;
            let per_out: usize = self.sample_out.iter().product();
            if raw.len() != run_rows.saturating_mul(per_out) {
                return Err(Error::Inference(format!(
                    "the model returned {} values for a batch of {run_rows}; expected {}",
                    raw.len(),
                    run_rows * per_out
                )));
            }
            out.extend(self.pool(&raw, n));
        }
        Ok(out)
    }
}

/// How close embeddings are to reference embeddings of the same inputs (made in Python).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fidelity {
    /// The reference file.
    pub name: String,
    /// Rows compared: the first `n` items of the data set.
    pub n: usize,
    pub dim: usize,
    /// Largest absolute difference of any value.
    pub max_abs: f64,
    /// Cosine similarity of each row with its reference: mean and smallest.
    pub mean_cosine: f64,
    pub min_cosine: f64,
    /// The row with the smallest cosine similarity.
    pub worst_row: usize,
}

/// Reads reference embeddings (`.npy`, `[N, D]`) for the first `N` of `items` data-set
/// items, where `D` must be the model's `dim`.
pub fn read_reference(
    bytes: &[u8],
    name: &str,
    items: usize,
    dim: usize,
) -> Result<crate::npy::Array> {
    let arr = crate::npy::read(bytes, name)?;
    let ok = matches!(arr.shape.as_slice(), [n, d] if *n >= 1 && *n <= items && *d == dim);
    if !ok {
        return Err(Error::Array {
            name: name.into(),
            detail: format!(
                "reference embeddings have shape {:?}; expected [N, {dim}]: N rows for the first N of the data set's {items} items (1 to {items}), {dim} = the model's embedding dimension",
                arr.shape
            ),
        });
    }
    Ok(arr)
}

/// Compares `got` (row-major, the reference's shape) with `reference`.
pub fn fidelity(got: &[f32], reference: &crate::npy::Array, name: &str) -> Result<Fidelity> {
    let (n, dim) = match reference.shape.as_slice() {
        [n, d] => (*n, *d),
        _ => (0, 0),
    };
    if got.len() != reference.data.len() || n == 0 || dim == 0 {
        return Err(Error::LengthMismatch {
            what: format!("embedding values to compare with '{name}'"),
            expected: reference.data.len(),
            got: got.len(),
        });
    }
    let mut max_abs = 0.0f64;
    let (mut sum_cos, mut min_cos, mut worst_row) = (0.0f64, f64::INFINITY, 0);
    for (row, (g, r)) in got
        .chunks_exact(dim)
        .zip(reference.data.chunks_exact(dim))
        .enumerate()
    {
        let (mut dot, mut gg, mut rr) = (0.0f64, 0.0f64, 0.0f64);
        for (&a, &b) in g.iter().zip(r) {
            let a = f64::from(a);
            max_abs = max_abs.max((a - b).abs());
            dot += a * b;
            gg += a * a;
            rr += b * b;
        }
        let cos = if gg == 0.0 && rr == 0.0 {
            1.0
        } else if gg == 0.0 || rr == 0.0 {
            0.0
        } else {
            dot / (gg.sqrt() * rr.sqrt())
        };
        if !cos.is_finite() || !max_abs.is_finite() {
            return Err(Error::NonFinite {
                what: format!("the comparison with '{name}'"),
                row,
                col: 0,
                value: cos,
            });
        }
        sum_cos += cos;
        if cos < min_cos {
            (min_cos, worst_row) = (cos, row);
        }
    }
    Ok(Fidelity {
        name: name.into(),
        n,
        dim,
        max_abs,
        mean_cosine: sum_cos / n as f64,
        min_cosine: min_cos,
        worst_row,
    })
}

/// Runs one batch; returns the (single) output's shape and values.
fn run_batch(
    plan: &Arc<TypedRunnableModel>,
    shape: &[usize],
    data: &[f32],
) -> Result<(Vec<usize>, Vec<f32>)> {
    let err = |e: TractError| Error::Inference(format!("{e:#}"));
    let input = Tensor::from_shape(shape, data).map_err(err)?;
    let outputs = plan.run(tvec!(input.into_tvalue())).map_err(err)?;
    let first = outputs
        .first()
        .ok_or_else(|| Error::Inference("the model has no output".into()))?;
    let view = first.try_as_plain_ram().map_err(err)?;
    Ok((
        first.shape().to_vec(),
        view.as_slice::<f32>().map_err(err)?.to_vec(),
    ))
}

/// Operators found in a graph (subgraphs included).
#[derive(Default)]
struct OpScan {
    /// `(op, domain, node)` of every node tract cannot run.
    unsupported: Vec<(String, String, String)>,
    /// Quantisation operators and how often each occurs, in order of appearance.
    quant_ops: Vec<(String, usize)>,
    /// Initialisers stored as int8 or uint8.
    int8_inits: usize,
}

const QUANT_OPS: [&str; 5] = [
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "MatMulInteger",
    "ConvInteger",
];

impl OpScan {
    /// The distinct op types of the unsupported nodes, in order of first use.
    fn op_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (op, _, _) in &self.unsupported {
            if !names.contains(op) {
                names.push(op.clone());
            }
        }
        names
    }

    fn quantised_summary(&self) -> Option<String> {
        if self.quant_ops.is_empty() && self.int8_inits == 0 {
            return None;
        }
        let mut parts: Vec<String> = self
            .quant_ops
            .iter()
            .map(|(op, n)| format!("{n} {op}"))
            .collect();
        if self.int8_inits > 0 {
            parts.push(format!("{} int8/uint8 initialisers", self.int8_inits));
        }
        Some(parts.join(", "))
    }
}

/// `any_domain`: count a node as runnable when its op type is registered, whatever its
/// domain (tract's registry is keyed by op type only; ai.onnx.ml heads are registered so).
fn scan_ops(
    graph: &tract_onnx::pb::GraphProto,
    register: &OnnxOpRegister,
    any_domain: bool,
) -> OpScan {
    let mut scan = OpScan::default();
    scan_graph(graph, register, &mut scan, any_domain);
    scan
}

fn scan_graph(
    graph: &tract_onnx::pb::GraphProto,
    register: &OnnxOpRegister,
    scan: &mut OpScan,
    any_domain: bool,
) {
    // TensorProto.DataType: UINT8 = 2, INT8 = 3.
    scan.int8_inits += graph
        .initializer
        .iter()
        .filter(|t| matches!(t.data_type, 2 | 3))
        .count();
    for node in &graph.node {
        let op = node.op_type.as_str();
        let standard = matches!(node.domain.as_str(), "" | "ai.onnx");
        if QUANT_OPS.contains(&op) || op.starts_with("QLinear") {
            match scan.quant_ops.iter_mut().find(|(o, _)| o == op) {
                Some((_, n)) => *n += 1,
                None => scan.quant_ops.push((op.to_string(), 1)),
            }
        }
        if !(standard || any_domain) || !register.0.contains_key(op) {
            let node_name = if node.name.is_empty() {
                node.output.first().cloned().unwrap_or_default()
            } else {
                node.name.clone()
            };
            let domain = if node.domain.is_empty() {
                "ai.onnx".to_string()
            } else {
                node.domain.clone()
            };
            scan.unsupported.push((op.to_string(), domain, node_name));
        }
        for attr in &node.attribute {
            for sub in attr.g.iter().chain(&attr.graphs) {
                scan_graph(sub, register, scan, any_domain);
            }
        }
    }
}

/// True in the page's image build (wasm without the `full` feature): it registers only the
/// ONNX operators of common image encoders (`tools/vendor_page_ops.py`) and has no
/// tokenizer. The page loads its full build for models that need more.
pub const IMAGE_BUILD: bool = cfg!(all(target_arch = "wasm32", not(feature = "full")));

/// Which build this is: "image" or "full" (the page's two wasm builds; natively "full").
pub fn build_name() -> &'static str {
    if IMAGE_BUILD {
        "image"
    } else {
        "full"
    }
}

/// The distinct operator types of an ONNX model (subgraphs included) that this build does
/// not register, in order of first use: empty when it can run every node. In the page's
/// image build a non-empty answer means "try the full build"; the full build then says
/// whether it runs them.
pub fn unregistered_ops(bytes: &[u8], name: &str) -> Result<Vec<String>> {
    let onnx = tract_onnx::onnx();
    let proto = onnx
        .proto_model_for_read(&mut &*bytes)
        .map_err(|e| Error::InvalidModel {
            name: name.into(),
            detail: format!("{e:#}"),
        })?;
    Ok(proto
        .graph
        .as_ref()
        .map(|graph| scan_ops(graph, &onnx.op_register, true).op_names())
        .unwrap_or_default())
}

/// Standard operators tract runs that the page build leaves out to keep the download small
/// (`vendor/tract-onnx/PATCH.diff`, `tools/vendor_tract_onnx.sh`); the command line runs them.
pub const LEFT_OUT_OF_PAGE: [&str; 17] = [
    "BlackmanWindow",
    "DFT",
    "GRU",
    "GridSample",
    "HammingWindow",
    "HannWindow",
    "LSTM",
    "MelWeightMatrix",
    "Multinomial",
    "NonMaxSuppression",
    "RNN",
    "RandomNormal",
    "RandomNormalLike",
    "RandomUniform",
    "RandomUniformLike",
    "STFT",
    "Scan",
];

fn left_out(op: &str, domain: &str) -> bool {
    domain == "ai.onnx" && LEFT_OUT_OF_PAGE.contains(&op)
}

/// The message for operators tract cannot run: each distinct `(op, domain)` with its
/// first node and how many nodes use it. In the page build (`page_build`), standard
/// operators left out of it are named apart, with the command line as the way to run them.
fn unsupported_detail(
    ops: &[(String, String, String)],
    quantised: Option<&str>,
    page_build: bool,
) -> String {
    let (absent, missing): (Vec<_>, Vec<_>) = ops
        .iter()
        .cloned()
        .partition(|(op, domain, _)| page_build && left_out(op, domain));
    let mut detail = String::new();
    if let Some(q) = quantised {
        detail.push_str(&format!("it is a quantised model ({q}) and "));
    }
    if !missing.is_empty() {
        detail.push_str(&missing_detail(&missing));
    }
    if !absent.is_empty() {
        let list: Vec<String> = distinct_ops(&absent)
            .iter()
            .map(|(op, _, node, n)| format!("{op} (node '{node}'{})", more(*n)))
            .collect();
        let (it, them) = if list.len() == 1 {
            ("this op is", "it")
        } else {
            ("these ops are", "them")
        };
        detail.push_str(&format!(
            "{} {}: {it} not compiled into the page build (it keeps the download small); \
             the command-line tool `downstream` supports {them}",
            if missing.is_empty() {
                "it uses"
            } else {
                "; it also uses"
            },
            list.join(", ")
        ));
    }
    detail
}

fn more(n: usize) -> String {
    if n > 1 {
        format!(" and {} more", n - 1)
    } else {
        String::new()
    }
}

/// Each distinct `(op, domain)` with its first node and how many nodes use it.
fn distinct_ops(ops: &[(String, String, String)]) -> Vec<(&str, &str, &str, usize)> {
    let mut distinct: Vec<(&str, &str, &str, usize)> = Vec::new();
    for (op, domain, node) in ops {
        match distinct
            .iter_mut()
            .find(|(o, d, _, _)| o == op && d == domain)
        {
            Some(entry) => entry.3 += 1,
            None => distinct.push((op, domain, node, 1)),
        }
    }
    distinct
}

/// The part of the message for operators tract does not implement at all.
fn missing_detail(ops: &[(String, String, String)]) -> String {
    let distinct = distinct_ops(ops);
    let list: Vec<String> = distinct
        .iter()
        .map(|(op, domain, node, n)| format!("{op} (domain {domain}, node '{node}'{})", more(*n)))
        .collect();
    let contrib = distinct.iter().any(|(_, d, _, _)| *d == "com.microsoft");
    let mut detail = String::new();
    detail.push_str(&format!(
        "it uses operators tract does not implement: {}",
        list.join(", ")
    ));
    if contrib {
        detail.push_str(
            "; com.microsoft operators are onnxruntime's own contrib ops, added by its graph \
             optimisations: export the model with standard ONNX operators only",
        );
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_left_out_of_the_page_are_in_the_native_build() {
        let register = tract_onnx::onnx().op_register;
        for op in LEFT_OUT_OF_PAGE {
            assert!(register.0.contains_key(op), "{op}");
        }
    }

    #[test]
    fn ops_left_out_of_the_page_are_named_apart_in_the_page_build() {
        let node = |op: &str, domain: &str, node: &str| (op.into(), domain.into(), node.into());
        let lstm = [
            node("LSTM", "ai.onnx", "lstm_0"),
            node("LSTM", "ai.onnx", "lstm_1"),
        ];
        assert_eq!(
            unsupported_detail(&lstm, None, true),
            "it uses LSTM (node 'lstm_0' and 1 more): this op is not compiled into the page \
             build (it keeps the download small); the command-line tool `downstream` supports it"
        );
        assert_eq!(
            unsupported_detail(&lstm, None, false),
            "it uses operators tract does not implement: LSTM (domain ai.onnx, node 'lstm_0' \
             and 1 more)"
        );
        let mixed = [
            node("DFT", "ai.onnx", "dft"),
            node("Attention", "com.microsoft", "att"),
            node("GRU", "ai.onnx", "gru"),
            node("LSTM", "custom.domain", "mine"),
        ];
        assert_eq!(
            unsupported_detail(&mixed, Some("1 QuantizeLinear"), true),
            "it is a quantised model (1 QuantizeLinear) and it uses operators tract does not \
             implement: Attention (domain com.microsoft, node 'att'), LSTM (domain custom.domain, \
             node 'mine'); com.microsoft operators are onnxruntime's own contrib ops, added by \
             its graph optimisations: export the model with standard ONNX operators only; it \
             also uses DFT (node 'dft'), GRU (node 'gru'): these ops are not compiled into the \
             page build (it keeps the download small); the command-line tool `downstream` \
             supports them"
        );
    }

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
