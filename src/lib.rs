//! Downstream: evaluate representation models (ONNX encoders) on labelled data with
//! probes and scikit-learn-faithful metrics. A pure core; `wasm` is the only module
//! that touches JavaScript.

pub mod data;
pub mod encoder;
pub mod error;
pub mod metrics;
pub mod npy;
pub mod preprocess;
pub mod probe;
pub mod report;
pub mod session;
pub mod split;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
