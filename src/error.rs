//! Typed errors of the library. Each variant carries what a user needs to fix the
//! problem: the file, the line (1-based) and the offending value.

use std::path::PathBuf;

/// Everything that can go wrong in the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: unknown corpus format {ext:?}; use a .jsonl, .json or .csv file")]
    UnknownFormat { path: PathBuf, ext: String },

    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("{path}: {message}")]
    Corpus { path: PathBuf, message: String },

    #[error("{path}: the corpus has {n} label(s) ({labels}); training needs at least 2 classes")]
    TooFewClasses { path: PathBuf, n: usize, labels: String },

    #[error("{path}:{line}: label {label:?} was not seen in training (model labels: {known})")]
    UnknownLabel {
        path: PathBuf,
        line: usize,
        label: String,
        known: String,
    },

    #[error("{path}: not a demarche model file ({reason})")]
    NotAModel { path: PathBuf, reason: String },

    #[error("{path}: model format version {found} is not supported (this build reads version {expected}); retrain the model with this version")]
    ModelVersion { path: PathBuf, found: u32, expected: u32 },

    #[error("{path}: model file is corrupted ({reason}); retrain it or restore a good copy")]
    ModelCorrupt { path: PathBuf, reason: String },

    #[error("invalid hyperparameter {name} = {value}: {reason}")]
    InvalidParam {
        name: &'static str,
        value: String,
        reason: String,
    },

    #[error("tokenizer: {0}")]
    Tokenizer(String),

    #[error("model fit failed: {0}")]
    Fit(String),

    #[error("{0}")]
    Invalid(String),
}

/// Result alias of the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
