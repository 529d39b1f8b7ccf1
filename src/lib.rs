//! Downstream: evaluate representation models (ONNX encoders) on labelled data with
//! probes and scikit-learn-faithful metrics. A pure core; `wasm` is the only module
//! that touches JavaScript.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod centroid;
pub mod compare;
pub mod data;
pub mod embfile;
pub mod encoder;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod heads;
pub mod knn;
pub mod metrics;
pub mod mlp;
pub mod npy;
pub mod onnx_head;
pub mod pca;
mod pool;
pub mod preprocess;
pub mod probe;
pub mod protocol;
pub mod report;
pub mod session;
pub mod split;
pub mod stats;
pub mod text;
pub mod textdata;
pub mod tsne;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod gemm;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
