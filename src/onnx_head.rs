//! An uploaded ONNX head: a model from embeddings `[N, D]` to class logits or
//! probabilities `[N, K]`. It is not trained; its test predictions are scored with the
//! same metrics, on the same split, as a trained probe's.

use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{DimLike, TractErrorContext};
use tract_onnx::tract_hir::infer::Factoid;

use crate::data::sha256_hex;
use crate::encoder::{check_outputs_defined, declared_shape};
use crate::error::{Error, Result};
use crate::probe::{self, Features};

/// Largest deviation of a row sum from 1 for the outputs to count as probabilities.
pub const PROBABILITY_SUM_TOL: f64 = 1e-4;

/// What a loaded head declares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadInfo {
    pub name: String,
    pub sha256: String,
    /// The input's feature dimension, when the model declares it.
    pub input_dim: Option<usize>,
    /// The output's class count, when the model declares it.
    pub n_classes: Option<usize>,
}

/// A loaded head.
#[derive(Debug, Clone)]
pub struct OnnxHead {
    info: HeadInfo,
    model: InferenceModel,
}

/// A head's scores of some rows.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadScores {
    /// Row-major `rows x n_classes`, rows summing to 1.
    pub proba: Vec<f64>,
    /// `probabilities` (the outputs were used as they are, renormalised) or `logits`
    /// (softmax applied).
    pub output: &'static str,
}

fn declared(dim: Option<&tract_onnx::tract_hir::infer::DimFact>) -> Option<usize> {
    dim.and_then(|d| d.concretize())
        .and_then(|t| t.to_usize().ok())
}

impl OnnxHead {
    /// Loads a head: exactly one input of rank 2 (`[N, D]`) and a rank-2 output.
    pub fn load(bytes: &[u8], name: &str) -> Result<Self> {
        let invalid = |detail: String| Error::InvalidModel {
            name: name.into(),
            detail,
        };
        if bytes.is_empty() {
            return Err(invalid("the file is empty".into()));
        }
        let onnx = tract_onnx::onnx();
        let proto = onnx
            .proto_model_for_read(&mut &*bytes)
            .context("Reading proto model")
            .map_err(|e| invalid(format!("{e:#}")))?;
        if let Some(graph) = &proto.graph {
            check_outputs_defined(graph).map_err(invalid)?;
        }
        let model = onnx
            .model_for_proto_model(&proto)
            .context("Translating proto model to model")
            .map_err(|e| invalid(format!("{e:#}")))?;
        let inputs = model
            .input_outlets()
            .map_err(|e| invalid(format!("{e:#}")))?;
        if inputs.len() != 1 {
            return Err(invalid(format!(
                "a head takes exactly one input (the embeddings [N, D]), this one has {}",
                inputs.len()
            )));
        }
        let fact = model
            .input_fact(0)
            .map_err(|e| invalid(format!("{e:#}")))?
            .clone();
        let dims: Vec<_> = fact.shape.dims().collect();
        if !fact.shape.is_open() && dims.len() != 2 {
            return Err(invalid(format!(
                "a head's input must be [N, D] (embeddings), this one has rank {}",
                dims.len()
            )));
        }
        let out_shape = proto
            .graph
            .as_ref()
            .and_then(|g| g.output.first())
            .map(declared_shape)
            .unwrap_or_default();
        if !out_shape.is_empty() && out_shape.len() != 2 {
            return Err(invalid(format!(
                "a head's output must be [N, K] (class scores), this one declares rank {}",
                out_shape.len()
            )));
        }
        let n_classes = out_shape
            .get(1)
            .and_then(serde_json::Value::as_u64)
            .and_then(|k| usize::try_from(k).ok());
        Ok(OnnxHead {
            info: HeadInfo {
                name: name.into(),
                sha256: sha256_hex(bytes),
                input_dim: declared(dims.get(1).copied()),
                n_classes,
            },
            model,
        })
    }

    /// What the head declares.
    pub fn info(&self) -> &HeadInfo {
        &self.info
    }

    /// Class probabilities of the rows of `x`: the head's outputs when every row is
    /// non-negative and sums to 1 (within [`PROBABILITY_SUM_TOL`]; renormalised), else
    /// the softmax of the outputs as logits. The input dimension must be `x`'s and the
    /// output must have `n_classes` columns.
    pub fn predict(&self, x: Features<'_>, n_classes: usize) -> Result<HeadScores> {
        let name = &self.info.name;
        if let Some(d) = self.info.input_dim {
            if d != x.dim() {
                return Err(Error::LengthMismatch {
                    what: format!(
                        "the head '{name}' takes inputs of dimension {d}, but the embeddings have dimension {}",
                        x.dim()
                    ),
                    expected: x.dim(),
                    got: d,
                });
            }
        }
        if let Some(k) = self.info.n_classes {
            if k != n_classes {
                return Err(head_classes(name, k, n_classes));
            }
        }
        let n = x.rows();
        if n == 0 {
            return Ok(HeadScores {
                proba: Vec::new(),
                output: "logits",
            });
        }
        let err = |e: TractError| Error::Inference(format!("the head '{name}': {e:#}"));
        let plan = self
            .model
            .clone()
            .with_input_fact(0, f32::fact([n, x.dim()]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(err)?;
        let input = Tensor::from_shape(&[n, x.dim()], x.values()).map_err(err)?;
        let outputs = plan.run(tvec!(input.into_tvalue())).map_err(err)?;
        let first = outputs
            .first()
            .ok_or_else(|| Error::Inference(format!("the head '{name}' has no output")))?;
        let shape = first.shape().to_vec();
        match shape.as_slice() {
            [rows, k] if *rows == n => {
                if *k != n_classes {
                    return Err(head_classes(name, *k, n_classes));
                }
            }
            _ => {
                return Err(Error::InvalidValue {
                    name: "head output shape",
                    value: format!("{shape:?}"),
                    why: format!("the head '{name}' must output [{n}, {n_classes}] for {n} rows"),
                })
            }
        }
        let view = first.try_as_plain_ram().map_err(err)?;
        let values: Vec<f64> = view
            .as_slice::<f32>()
            .map_err(err)?
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        if let Some((pos, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: format!("the output of the head '{name}'"),
                row: pos / n_classes,
                col: pos % n_classes,
                value,
            });
        }
        Ok(scores(values, n_classes))
    }
}

fn head_classes(name: &str, k: usize, n_classes: usize) -> Error {
    Error::LengthMismatch {
        what: format!(
            "the head '{name}' outputs {k} class scores, but the data set has {n_classes} classes"
        ),
        expected: n_classes,
        got: k,
    }
}

/// Probabilities as they are (renormalised) or the softmax of logits; see [`OnnxHead::predict`].
fn scores(mut values: Vec<f64>, k: usize) -> HeadScores {
    let is_proba = values.chunks_exact(k).all(|row| {
        row.iter().all(|&v| v >= 0.0)
            && (row.iter().sum::<f64>() - 1.0).abs() <= PROBABILITY_SUM_TOL
    });
    for row in values.chunks_exact_mut(k) {
        if is_proba {
            let sum: f64 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        } else {
            probe::softmax(row);
        }
    }
    HeadScores {
        proba: values,
        output: if is_proba { "probabilities" } else { "logits" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_are_kept_and_logits_softmaxed() {
        let p = scores(vec![0.25, 0.75, 1.0, 0.0], 2);
        assert_eq!(
            (p.output, p.proba),
            ("probabilities", vec![0.25, 0.75, 1.0, 0.0])
        );
        let l = scores(vec![0.0, 0.0, 2.0, -1.0], 2);
        assert_eq!(l.output, "logits");
        assert_eq!(&l.proba[..2], &[0.5, 0.5]);
        // A row summing to 1 with a negative entry is logits.
        assert_eq!(scores(vec![1.5, -0.5], 2).output, "logits");
    }

    #[test]
    fn bad_bytes_are_a_typed_error() {
        assert!(matches!(
            OnnxHead::load(b"", "h.onnx"),
            Err(Error::InvalidModel { .. })
        ));
        assert!(matches!(
            OnnxHead::load(b"not a model", "h.onnx"),
            Err(Error::InvalidModel { .. })
        ));
    }
}
