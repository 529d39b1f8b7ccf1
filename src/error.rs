//! The one error type of the core: every variant says what is wrong and carries the values.

use thiserror::Error;

/// Result alias used across the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between a user's files and a report.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// The bytes could not be read as an ONNX model.
    #[error("'{name}' is not a valid ONNX model: {detail}")]
    InvalidModel { name: String, detail: String },
    /// The model has a number of inputs other than one.
    #[error("'{name}' has {count} inputs ({inputs}); Downstream feeds exactly one image input")]
    ModelInputCount {
        name: String,
        count: usize,
        inputs: String,
    },
    /// The model's input cannot be fed with images.
    #[error("model input '{input}' has shape {shape}, which cannot take images: {why}")]
    UnsupportedInput {
        input: String,
        shape: String,
        why: String,
    },
    /// The model uses operators tract cannot run (contrib ops, unsupported quantisation).
    #[error("'{name}' cannot be run in Downstream: {detail}")]
    UnsupportedOp { name: String, detail: String },
    /// The model uses standard operators the page build leaves out (the CLI runs them).
    #[error("'{name}' cannot be run on this page: {detail}")]
    NotInPageBuild { name: String, detail: String },
    /// The page's image build does not register these operators; the full build may.
    #[error("'{name}' uses operators the page's image build leaves out ({ops}); the page loads its full build to run it")]
    NotInImageBuild { name: String, ops: String },
    /// tract could not prepare or run the model.
    #[error("the model could not be run: {0}")]
    Inference(String),
    /// The data archive could not be read.
    #[error("'{name}' is not a readable zip archive: {detail}")]
    InvalidArchive { name: String, detail: String },
    /// The archive or folder holds no usable images.
    #[error("no images found in '{name}': put images in one folder per class (for example cats/001.png)")]
    NoImages { name: String },
    /// A probe needs at least two classes.
    #[error("the data set has {count} class(es) ({classes}); a probe needs at least 2")]
    TooFewClasses { count: usize, classes: String },
    /// An image file could not be decoded.
    #[error("cannot decode image '{path}': {detail}")]
    BadImage { path: String, detail: String },
    /// A class is too small for the requested split.
    #[error(
        "class '{class}' has {count} sample(s); a stratified split needs at least 2 per class"
    )]
    ClassTooSmall { class: String, count: usize },
    /// A parameter is out of its range.
    #[error("invalid {name} = {value}: {why}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        why: &'static str,
    },
    /// A parameter is out of a range that depends on the data.
    #[error("invalid {name} = {value}: {why}")]
    InvalidValue {
        name: &'static str,
        value: String,
        why: String,
    },
    /// Two reports cannot be compared item by item.
    #[error("the two reports cannot be compared: {detail}")]
    NotComparable { detail: String },
    /// A NaN or an infinity where numbers must be finite.
    #[error("{what} contains a non-finite value ({value}) at row {row}, column {col}")]
    NonFinite {
        what: String,
        row: usize,
        col: usize,
        value: f64,
    },
    /// Two inputs that must agree in length do not.
    #[error("{what}: expected {expected}, got {got}")]
    LengthMismatch {
        what: String,
        expected: usize,
        got: usize,
    },
    /// A step was called before what it needs was loaded.
    #[error("{0}")]
    NotReady(&'static str),
    /// An array file (.npy) could not be read or written.
    #[error("array file '{name}': {detail}")]
    Array { name: String, detail: String },
    /// A report file or shared link could not be read.
    #[error("not a readable Downstream report: {detail}")]
    InvalidReport { detail: String },
    /// A file could not be read or written.
    #[error("{path}: {detail}")]
    Io { path: String, detail: String },
    /// A text data file as a whole cannot be used.
    #[error("'{name}': {detail}")]
    BadTextFile { name: String, detail: String },
    /// A row of a text data file cannot be used; `line` is 1-based in the file.
    #[error("'{name}' line {line}: {detail}")]
    BadTextRow {
        name: String,
        line: u64,
        detail: String,
    },
    /// A tokenizer file could not be read or configured.
    #[error("'{name}' is not a usable tokenizer.json: {detail}")]
    InvalidTokenizer { name: String, detail: String },
    /// A model's inputs or outputs do not fit the text encoder.
    #[error("'{name}' cannot be used as a text encoder: {detail}")]
    UnsupportedTextModel { name: String, detail: String },
    /// A text could not be tokenised.
    #[error("text {index} could not be tokenised: {detail}")]
    Tokenize { index: usize, detail: String },
    /// A protocol was stopped by its progress callback between two probe fits.
    #[error("cancelled after {done} of {total} probe fits")]
    Cancelled { done: usize, total: usize },
}

impl Error {
    /// Too few classes: `classes` are the ones present, each shown quoted.
    pub fn too_few_classes<S: std::fmt::Display>(classes: impl IntoIterator<Item = S>) -> Self {
        let quoted: Vec<String> = classes.into_iter().map(|c| format!("'{c}'")).collect();
        Error::TooFewClasses {
            count: quoted.len(),
            classes: quoted.join(", "),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl std::fmt::Display, e: impl std::fmt::Display) -> Self {
        Error::Io {
            path: path.to_string(),
            detail: e.to_string(),
        }
    }
}
