//! The versioned evaluation report, the same from the page and the CLI.

use serde::{Deserialize, Serialize};

use crate::data::DataInfo;
use crate::encoder::ModelInfo;
use crate::metrics::Metrics;
use crate::preprocess::Preprocessing;

/// Report schema name.
pub const SCHEMA: &str = "downstream-report";
/// Report schema version.
pub const VERSION: u32 = 1;

/// Name and version of the tool that wrote a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// How the data were split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    pub name: String,
    pub seed: u64,
    pub test_fraction: f64,
    pub n_train: usize,
    pub n_test: usize,
}

/// The probe and how its fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    pub kind: String,
    pub c: f64,
    pub penalty: String,
    pub solver: String,
    pub max_iter: usize,
    pub tol: f64,
    pub iterations: usize,
    pub converged: bool,
    pub objective: f64,
}

/// Per-sample test predictions (indices into the data set's items and classes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictions {
    pub test_index: Vec<usize>,
    pub y_true: Vec<usize>,
    pub y_pred: Vec<usize>,
    pub confidence: Vec<f64>,
}

/// One evaluation, everything needed to read and reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub version: u32,
    pub tool: Tool,
    pub model: ModelInfo,
    pub data: DataInfo,
    pub preprocessing: Preprocessing,
    pub protocol: Protocol,
    pub probe: ProbeInfo,
    pub metrics: Metrics,
    pub predictions: Predictions,
}

impl Report {
    /// Pretty JSON text of the report.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
