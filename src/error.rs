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

    #[error("{path}:{line}: label {label:?} was not seen in training (model labels: {known}){}", did_you_mean(.suggestion))]
    UnknownLabel {
        path: PathBuf,
        line: usize,
        label: String,
        known: String,
        suggestion: Option<String>,
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

    #[error("{name}: {source}")]
    Input {
        name: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{name}: is a directory; pass the files inside it")]
    IsDirectory { name: String },

    #[error("{name}: looks like binary data (NUL byte at byte {at}), not text; pass a plain-text file")]
    BinaryInput { name: String, at: u64 },

    #[error("{name}:{line}: invalid UTF-8 at byte {byte}; re-save the file as UTF-8, or drop --strict to replace bad bytes with U+FFFD")]
    InvalidUtf8 { name: String, line: u64, byte: u64 },

    #[error("{name}: no text to classify ({what})")]
    EmptyInput { name: String, what: &'static str },

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

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(l) => format!("; did you mean {l:?}?"),
        None => String::new(),
    }
}

/// The known label `label` is most likely a misspelling of: the same after
/// lower-casing and turning spaces and hyphens into underscores, or within two
/// edits of one.
pub fn suggest_label(label: &str, known: &[String]) -> Option<String> {
    let norm = |s: &str| -> String {
        s.trim()
            .to_lowercase()
            .chars()
            .map(|c| if c == ' ' || c == '-' { '_' } else { c })
            .collect()
    };
    let l = norm(label);
    if let Some(k) = known.iter().find(|k| norm(k) == l) {
        return Some(k.clone());
    }
    known
        .iter()
        .map(|k| (edit_distance(&l, &norm(k)), k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 2 || a.len() > 200 || b.len() > 200 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_miss_labels() {
        let known: Vec<String> = ["commitment", "neutral", "reconciliation_appeal", "warning"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(suggest_label("Warning", &known).as_deref(), Some("warning"));
        assert_eq!(
            suggest_label("reconciliation appeal", &known).as_deref(),
            Some("reconciliation_appeal")
        );
        assert_eq!(suggest_label("comitment", &known).as_deref(), Some("commitment"));
        assert_eq!(suggest_label("threat", &known), None);
    }
}
