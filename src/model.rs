//! The trained classifier: tokenizer + featurizer + a linear model fitted by linfa
//! (multinomial logistic regression by default, multinomial naive Bayes on
//! request), stored in one checksummed file.
//!
//! Both linfa models score a statement linearly (softmax of `x·W + b`), so the
//! fitted parameters are stored as one weight matrix; prediction is a sparse dot
//! product over the statement's non-zero features, which is exact and lets every
//! probability be explained feature by feature.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use linfa::prelude::*;
use linfa_bayes::{MultinomialNb, NaiveBayes};
use linfa_logistic::MultiLogisticRegression;
use ndarray::{s, Array1, Array2};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::corpus::hex;
use crate::error::{Error, Result};
use crate::features::{to_dense, FeatureConfig, Featurizer, SparseVec};
use crate::tokenizer::{TextTokenizer, Tokens};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"DMRCHMDL";
/// Version of the model file layout; bumped whenever the payload changes meaning.
/// Version 2 added the softmax `temperature` (calibration).
pub const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 8 + 4 + 8 + 32;

/// The linfa estimator behind the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// linfa-logistic `MultiLogisticRegression` (softmax, L2 penalty).
    Logistic,
    /// linfa-bayes `MultinomialNb` on the same TF-IDF features.
    NaiveBayes,
}

impl std::str::FromStr for Algorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "logistic" | "lr" => Ok(Algorithm::Logistic),
            "naive-bayes" | "naive_bayes" | "nb" => Ok(Algorithm::NaiveBayes),
            _ => Err(Error::InvalidParam {
                name: "algorithm",
                value: s.into(),
                reason: "expected logistic or naive-bayes".into(),
            }),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Algorithm::Logistic => "logistic",
            Algorithm::NaiveBayes => "naive-bayes",
        })
    }
}

/// Training hyperparameters. Build with [`TrainParams::default`] and the setters,
/// then [`TrainParams::check`] once before fitting (as linfa's `ParamGuard`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    pub algorithm: Algorithm,
    /// L2 penalty of the logistic regression (linfa's alpha: the loss is summed over
    /// samples plus alpha/2 * |W|^2, so alpha behaves like scikit-learn's 1/C).
    pub alpha: f64,
    /// Additive smoothing of naive Bayes.
    pub nb_alpha: f64,
    pub max_iterations: u64,
    /// Number of n-gram features kept (by chi-squared).
    pub max_features: usize,
    /// Minimum number of training statements an n-gram must occur in.
    pub min_df: usize,
    /// Vocabulary size of the WordPiece tokenizer trained from the corpus.
    pub vocab_size: usize,
    pub features: FeatureConfig,
    /// Seed of everything random (cross-validation folds).
    pub seed: u64,
    /// Refuse a training run whose dense feature matrix would exceed this many MiB.
    pub max_memory_mb: usize,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            algorithm: Algorithm::Logistic,
            // alpha and max_features chosen together by 5-fold CV and
            // leave-one-register-out CV on the round-4 training split (macro-F1,
            // CV / LORO): 3000 n-grams at alpha 0.3 0.8922 / 0.8455, at 0.1 0.8952 /
            // 0.8477; 10000 at 0.3 0.8918 / 0.8431, at 0.1 0.9011 / 0.8529. The
            // larger feature block makes training about 3.5x slower (dense fit;
            // scripts/bench.sh: 10.4 s vs 3.0 s).
            alpha: 0.1,
            nb_alpha: 0.1,
            // 5-fold CV on the training split (f32 fit): round 3, 3000 n-grams at
            // alpha 0.3: 200 iterations macro-F1 0.9011, 80: 0.9009, 50: 0.9002; round 4,
            // the defaults above: 150: 0.9013, 80: 0.9011. Each iteration is most of the
            // training time.
            max_iterations: 80,
            max_features: 10000,
            min_df: 2,
            vocab_size: 8000,
            features: FeatureConfig::default(),
            seed: 42,
            max_memory_mb: 4096,
        }
    }
}

fn invalid(name: &'static str, value: impl ToString, reason: &str) -> Error {
    Error::InvalidParam {
        name,
        value: value.to_string(),
        reason: reason.into(),
    }
}

impl TrainParams {
    pub fn algorithm(mut self, a: Algorithm) -> Self {
        self.algorithm = a;
        self
    }
    pub fn alpha(mut self, a: f64) -> Self {
        self.alpha = a;
        self
    }
    pub fn max_features(mut self, n: usize) -> Self {
        self.max_features = n;
        self
    }
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }

    /// Validates every setting once, before any work is done.
    pub fn check(&self) -> Result<()> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(invalid("alpha", self.alpha, "must be a finite number >= 0"));
        }
        if !(self.nb_alpha.is_finite() && self.nb_alpha > 0.0) {
            return Err(invalid("nb-alpha", self.nb_alpha, "must be a finite number > 0"));
        }
        if self.max_iterations == 0 {
            return Err(invalid("max-iterations", 0, "must be at least 1"));
        }
        if self.max_features == 0 {
            return Err(invalid("max-features", 0, "must be at least 1"));
        }
        if self.min_df == 0 {
            return Err(invalid("min-df", 0, "must be at least 1"));
        }
        if self.vocab_size < 100 {
            return Err(invalid("vocab-size", self.vocab_size, "must be at least 100"));
        }
        if !(1..=2).contains(&self.features.ngram_max) {
            return Err(invalid("ngram-max", self.features.ngram_max, "must be 1 or 2"));
        }
        if !(self.features.cue_weight.is_finite() && self.features.cue_weight >= 0.0) {
            return Err(invalid(
                "cue-weight",
                self.features.cue_weight,
                "must be a finite number >= 0",
            ));
        }
        Ok(())
    }
}

/// What the model remembers of its training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainInfo {
    pub demarche_version: String,
    /// File name of the training corpus.
    pub corpus: String,
    pub corpus_sha256: String,
    pub label_counts: BTreeMap<String, usize>,
    pub n_train: usize,
    pub n_features: usize,
    pub n_ngrams: usize,
    pub vocab_size: usize,
    pub params: TrainParams,
    /// User-supplied tokenizer file name, when `--tokenizer` was used.
    pub tokenizer_source: Option<String>,
    /// Metrics measured at training time (e.g. on `--dev`), keyed by split name.
    pub metrics: BTreeMap<String, serde_json::Value>,
}

/// A trained classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub labels: Vec<String>,
    #[serde(with = "tokenizer_json")]
    pub tokenizer: TextTokenizer,
    pub featurizer: Featurizer,
    /// Feature-major weights: `weights[f * n_labels + c]`.
    pub weights: Vec<f64>,
    pub intercept: Vec<f64>,
    /// Softmax temperature fitted by `train --calibrate` (1 = uncalibrated):
    /// probabilities are softmax(logits / temperature).
    pub temperature: f64,
    pub info: TrainInfo,
    /// Per-label decision thresholds tuned on a development set, if any.
    #[serde(default)]
    pub decision: Option<Decision>,
}

/// A decision rule over the probabilities: a label other than `fallback` is
/// only chosen when its probability reaches its threshold; otherwise the
/// statement goes to `fallback` (`neutral`). Tuned on a development set to
/// maximise macro-F1, it counters the tendency to read stance into prose that
/// merely mentions threats, talks or cooperation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub fallback: usize,
    /// One threshold per label (the fallback's is 0).
    pub thresholds: Vec<f64>,
}

impl Decision {
    /// The label chosen for `probabilities` (argmax unless below its threshold).
    pub fn choose(&self, probabilities: &[f64]) -> usize {
        let best = argmax(probabilities);
        if best != self.fallback && probabilities[best] < self.thresholds[best] {
            self.fallback
        } else {
            best
        }
    }
}

fn argmax(p: &[f64]) -> usize {
    p.iter()
        .enumerate()
        .fold(0, |best, (i, &v)| if v > p[best] { i } else { best })
}

/// Candidate thresholds searched when tuning a [`Decision`].
const THRESHOLD_GRID: &[f64] = &[0.0, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9];

/// Tunes per-label thresholds by coordinate ascent on macro-F1 of `(probabilities,
/// true label)` pairs; ties keep the lower threshold. Returns the rule and its macro-F1.
pub fn tune_decision(probs: &[Vec<f64>], y: &[usize], labels: &[String], fallback: usize) -> (Decision, f64) {
    let k = labels.len();
    let mut d = Decision {
        fallback,
        thresholds: vec![0.0; k],
    };
    let score = |d: &Decision| {
        let pred: Vec<usize> = probs.iter().map(|p| d.choose(p)).collect();
        crate::evaluation::Report::new(labels, y, &pred, fallback).macro_f1
    };
    let mut best = score(&d);
    for _ in 0..3 {
        let mut changed = false;
        for c in (0..k).filter(|&c| c != fallback) {
            for &t in THRESHOLD_GRID {
                let mut cand = d.clone();
                cand.thresholds[c] = t;
                let s = score(&cand);
                if s > best + 1e-12 {
                    best = s;
                    d = cand;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    (d, best)
}

mod tokenizer_json {
    use super::TextTokenizer;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &TextTokenizer, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_json().map_err(serde::ser::Error::custom)?)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<TextTokenizer, D::Error> {
        let s = String::deserialize(d)?;
        TextTokenizer::from_json(&s).map_err(serde::de::Error::custom)
    }
}

/// One statement's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Index into [`Model::labels`] of the most probable label.
    pub label: usize,
    /// Probability of each label, in [`Model::labels`] order.
    pub probabilities: Vec<f64>,
}

impl Prediction {
    pub fn confidence(&self) -> f64 {
        self.probabilities[self.label]
    }
}

/// A training set already tokenized, so cross-validation tokenizes once.
pub struct Prepared {
    pub tokens: Vec<Tokens>,
    pub texts: Vec<String>,
    pub y: Vec<usize>,
    pub labels: Vec<String>,
}

impl Model {
    /// Trains a model on `(text, label)` pairs. With `tokenizer` = None a WordPiece
    /// tokenizer is trained from the texts.
    pub fn train(
        texts: &[&str],
        labels: &[&str],
        params: &TrainParams,
        tokenizer: Option<TextTokenizer>,
    ) -> Result<Model> {
        params.check()?;
        let mut label_set: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        label_set.sort();
        label_set.dedup();
        if label_set.len() < 2 {
            return Err(Error::Invalid(format!(
                "training needs at least 2 classes, found {} ({})",
                label_set.len(),
                label_set.join(", ")
            )));
        }
        let tokenizer_source = tokenizer.as_ref().map(|_| "user".to_string());
        let tokenizer = match tokenizer {
            Some(t) => t,
            None => TextTokenizer::train(texts, params.vocab_size, 2)?,
        };
        // The memoized encoding gives the same tokens as `encode` (tests/fast_path.rs), faster.
        let tokens = texts
            .iter()
            .map(|t| tokenizer.encode_cached(t))
            .collect::<Result<Vec<_>>>()?;
        let y: Vec<usize> = labels
            .iter()
            .map(|l| label_set.binary_search_by(|x| x.as_str().cmp(l)).expect("label in set"))
            .collect();
        let prepared = Prepared {
            tokens,
            texts: texts.iter().map(|s| s.to_string()).collect(),
            y,
            labels: label_set,
        };
        let idx: Vec<usize> = (0..texts.len()).collect();
        let mut model = Self::fit_prepared(&prepared, &idx, params, tokenizer)?;
        model.info.tokenizer_source = tokenizer_source;
        Ok(model)
    }

    /// Fits featurizer and classifier on the rows `idx` of a prepared set.
    pub fn fit_prepared(p: &Prepared, idx: &[usize], params: &TrainParams, tokenizer: TextTokenizer) -> Result<Model> {
        params.check()?;
        let k = p.labels.len();
        let tokens: Vec<Tokens> = idx.iter().map(|&i| p.tokens[i].clone()).collect();
        let y: Vec<usize> = idx.iter().map(|&i| p.y[i]).collect();
        let featurizer = Featurizer::fit(
            &tokens,
            &y,
            k,
            params.max_features,
            params.min_df,
            params.features.clone(),
        );
        let d = featurizer.n_features();
        let bytes = match params.algorithm {
            Algorithm::Logistic => 4, // fitted in f32
            Algorithm::NaiveBayes => 8,
        };
        let need_mb = (idx.len() * d * bytes) >> 20;
        if need_mb > params.max_memory_mb {
            return Err(Error::Invalid(format!(
                "the dense feature matrix would need about {need_mb} MiB ({} statements x {d} features), over --max-memory {} MiB; lower --max-features or raise --max-memory",
                idx.len(),
                params.max_memory_mb
            )));
        }
        let rows: Vec<SparseVec> = idx
            .iter()
            .zip(&tokens)
            .map(|(&i, t)| featurizer.transform(t, &p.texts[i]))
            .collect();
        let (weights, intercept) = fit_linear(&rows, d, &y, k, params)?;
        let mut label_counts = BTreeMap::new();
        for &c in &y {
            *label_counts.entry(p.labels[c].clone()).or_insert(0) += 1;
        }
        let info = TrainInfo {
            demarche_version: env!("CARGO_PKG_VERSION").to_string(),
            corpus: String::new(),
            corpus_sha256: String::new(),
            label_counts,
            n_train: idx.len(),
            n_features: d,
            n_ngrams: featurizer.n_ngrams(),
            vocab_size: tokenizer.vocab_size(),
            params: params.clone(),
            tokenizer_source: None,
            metrics: BTreeMap::new(),
        };
        Ok(Model {
            labels: p.labels.clone(),
            tokenizer,
            featurizer,
            weights,
            intercept,
            temperature: 1.0,
            info,
            decision: None,
        })
    }

    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }

    /// Features of one statement (tokenized through the tokenizer's chunk memo).
    pub fn features(&self, text: &str) -> Result<SparseVec> {
        thread_local! {
            // Reused token buffers: no allocation per statement once warm.
            static SCRATCH: std::cell::RefCell<Tokens> = Default::default();
        }
        SCRATCH.with(|t| {
            let mut tokens = t.borrow_mut();
            self.tokenizer.encode_cached_into(text, &mut tokens)?;
            Ok(self.featurizer.transform(&tokens, text))
        })
    }

    /// Features of one statement by the straightforward path (the tokenizer's
    /// plain `encode`, no memo): the reference the fast path is tested against.
    pub fn features_plain(&self, text: &str) -> Result<SparseVec> {
        let tokens = self.tokenizer.encode(text)?;
        Ok(self.featurizer.transform(&tokens, text))
    }

    /// Per-label scores (logits) of a feature vector.
    pub fn logits(&self, x: &SparseVec) -> Vec<f64> {
        let k = self.n_labels();
        let mut z = self.intercept.clone();
        for &(f, v) in x {
            let w = &self.weights[f as usize * k..(f as usize + 1) * k];
            for c in 0..k {
                z[c] += v * w[c];
            }
        }
        z
    }

    /// Classifies one statement: softmax(logits / temperature), and the label
    /// chosen by the model's decision rule (the most probable label when it has none).
    pub fn predict(&self, text: &str) -> Result<Prediction> {
        let x = self.features(text)?;
        Ok(self.predict_logits(self.logits(&x)))
    }

    /// Prediction from raw logits: softmax(logits / temperature), then the decision rule.
    pub fn predict_logits(&self, z: Vec<f64>) -> Prediction {
        let t = self.temperature;
        let mut p = prediction_from_logits(z.into_iter().map(|v| v / t).collect());
        if let Some(d) = &self.decision {
            p.label = d.choose(&p.probabilities);
        }
        p
    }

    /// Raw logits of one statement (before the temperature).
    pub fn text_logits(&self, text: &str) -> Result<Vec<f64>> {
        Ok(self.logits(&self.features(text)?))
    }

    /// Tunes the decision thresholds on a labeled development set (texts with
    /// label indices) and stores them; returns macro-F1 before and after. Tune
    /// after calibrating: the thresholds apply to the calibrated probabilities.
    pub fn tune_thresholds(&mut self, texts: &[&str], y: &[usize], fallback: usize) -> Result<(f64, f64)> {
        self.decision = None;
        let probs = texts
            .iter()
            .map(|t| self.predict(t).map(|p| p.probabilities))
            .collect::<Result<Vec<_>>>()?;
        let plain: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
        let before = crate::evaluation::Report::new(&self.labels, y, &plain, fallback).macro_f1;
        let (d, after) = tune_decision(&probs, y, &self.labels, fallback);
        self.decision = Some(d);
        Ok((before, after))
    }

    pub fn predict_batch(&self, texts: &[&str]) -> Result<Vec<Prediction>> {
        texts.iter().map(|t| self.predict(t)).collect()
    }

    /// Contributions of each non-zero feature to the logit of label `c`
    /// (weight x value), largest absolute first; with the intercept they sum to the logit.
    pub fn explain(&self, text: &str, c: usize, top: usize) -> Result<Vec<(String, f64)>> {
        let x = self.features(text)?;
        let k = self.n_labels();
        let mut contrib: Vec<(usize, f64)> = x
            .iter()
            .map(|&(f, v)| (f as usize, v * self.weights[f as usize * k + c]))
            .collect();
        contrib.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        contrib.truncate(top);
        Ok(contrib
            .into_iter()
            .map(|(f, v)| (self.featurizer.feature_name(f, &self.tokenizer), v))
            .collect())
    }

    /// The `n` features that most favour label `c`: weights centred across labels
    /// (`w[f][c] - mean_c' w[f][c']`, the part of a weight that moves the softmax),
    /// largest first, with the feature name.
    pub fn top_features(&self, c: usize, n: usize) -> Vec<(String, f64)> {
        let k = self.n_labels();
        let d = self.featurizer.n_features();
        let mut v: Vec<(usize, f64)> = (0..d)
            .map(|f| {
                let w = &self.weights[f * k..(f + 1) * k];
                (f, w[c] - w.iter().sum::<f64>() / k as f64)
            })
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v.into_iter()
            .map(|(f, w)| (self.featurizer.feature_name(f, &self.tokenizer), w))
            .collect()
    }

    /// Serialized model file: magic, format version, payload length, SHA-256 of the payload, payload.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = serde_json::to_vec(self).map_err(|e| Error::Invalid(format!("cannot serialize model: {e}")))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&payload));
        out.extend_from_slice(&payload);
        Ok(out)
    }

    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Model> {
        let not_model = |reason: &str| Error::NotAModel {
            path: path.to_path_buf(),
            reason: reason.into(),
        };
        let corrupt = |reason: String| Error::ModelCorrupt {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(not_model("it does not start with the demarche model signature"));
        }
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(format!("truncated header: {} bytes", bytes.len())));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version != FORMAT_VERSION {
            return Err(Error::ModelVersion {
                path: path.to_path_buf(),
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let payload = &bytes[HEADER_LEN..];
        if payload.len() as u64 != len {
            return Err(corrupt(format!(
                "payload is {} bytes, header says {len} (truncated or padded file)",
                payload.len()
            )));
        }
        if Sha256::digest(payload).as_slice() != &bytes[20..52] {
            return Err(corrupt("checksum mismatch".into()));
        }
        let model: Model =
            serde_json::from_slice(payload).map_err(|e| corrupt(format!("payload does not decode: {e}")))?;
        model.validate().map_err(corrupt)?;
        Ok(model)
    }

    /// Internal consistency, so a hand-edited model fails at load, not deep in a dot product.
    fn validate(&self) -> std::result::Result<(), String> {
        let k = self.labels.len();
        let d = self.featurizer.n_features();
        if k < 2 {
            return Err(format!("{k} labels"));
        }
        if self.intercept.len() != k {
            return Err(format!("{} intercepts for {k} labels", self.intercept.len()));
        }
        if self.weights.len() != d * k {
            return Err(format!("{} weights for {d} features x {k} labels", self.weights.len()));
        }
        if self.info.n_features != d {
            return Err(format!(
                "model says {} features, featurizer has {d}",
                self.info.n_features
            ));
        }
        if self.weights.iter().chain(&self.intercept).any(|w| !w.is_finite()) {
            return Err("non-finite weights".into());
        }
        if let Some(d) = &self.decision {
            if d.fallback >= k || d.thresholds.len() != k || d.thresholds.iter().any(|t| !(0.0..=1.0).contains(t)) {
                return Err("invalid decision thresholds".into());
            }
        }
        let vocab = self.tokenizer.vocab_size();
        if self.info.vocab_size != vocab {
            return Err(format!(
                "model says the tokenizer has {} tokens, the stored tokenizer has {vocab} (tokenizer and features disagree)",
                self.info.vocab_size
            ));
        }
        self.featurizer.check(vocab)?;
        if !self.featurizer.config.cue_weight.is_finite() || !(1..=2).contains(&self.featurizer.config.ngram_max) {
            return Err("invalid feature settings".into());
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!("temperature {} is not a positive number", self.temperature));
        }
        Ok(())
    }

    /// Loads a model file.
    pub fn load(path: &Path) -> Result<Model> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(path, &bytes)
    }

    /// Writes the model atomically: a temporary file in the same folder, renamed into place.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomic(path, &self.to_bytes()?)
    }

    /// SHA-256 of the serialized model, hex.
    pub fn digest(&self) -> Result<String> {
        Ok(hex(&Sha256::digest(self.to_bytes()?)))
    }
}

/// Where `classify` and `eval` look for a model when `--model` is not given:
/// `$DEMARCHE_MODEL`, then `models/demarche.model` under the current folder, then
/// the shipped model of the source tree the binary was built from.
pub fn default_model_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("DEMARCHE_MODEL") {
        return p.into();
    }
    let local = Path::new(DEFAULT_MODEL);
    if local.is_file() {
        return local.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODEL)
}

/// Path of the shipped model, relative to the repository root.
pub const DEFAULT_MODEL: &str = "models/demarche.model";

/// Writes `bytes` to `path` through a temporary file in the same folder and a
/// rename, so an interrupted run leaves any old file intact.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.commit()
}

/// A file written piece by piece into a temporary file in the target's folder
/// (named `.demarche-*`) and renamed over `path` by [`AtomicFile::commit`]. Dropped
/// without a commit, the temporary file is removed and `path` is untouched.
pub struct AtomicFile {
    path: std::path::PathBuf,
    tmp: std::io::BufWriter<tempfile::NamedTempFile>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".demarche-")
            .tempfile_in(dir)
            .map_err(|e| Error::io(dir, e))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp: std::io::BufWriter::with_capacity(64 << 10, tmp),
        })
    }

    /// Flushes, syncs and renames the temporary file into place.
    pub fn commit(self) -> Result<()> {
        let path = self.path;
        let tmp = self.tmp.into_inner().map_err(|e| Error::io(&path, e.into_error()))?;
        // tempfile creates 0600; give the result the permissions of the file it
        // replaces, or the usual 0644 for a new one.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode())
                .unwrap_or(0o644);
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io(tmp.path(), e))?;
        }
        tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), e))?;
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

/// Softmax of the logits, with the arg-max.
pub fn prediction_from_logits(z: Vec<f64>) -> Prediction {
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    // In place: the logits' buffer becomes the probabilities'.
    let mut p = z;
    p.iter_mut().for_each(|v| *v = (*v - m).exp());
    let s: f64 = p.iter().sum();
    p.iter_mut().for_each(|v| *v /= s);
    let label = p
        .iter()
        .enumerate()
        .fold(0, |best, (i, &v)| if v > p[best] { i } else { best });
    Prediction {
        label,
        probabilities: p,
    }
}

/// Fits the linfa estimator and returns its linear form (feature-major weights, intercepts).
fn fit_linear(
    rows: &[SparseVec],
    d: usize,
    y: &[usize],
    k: usize,
    params: &TrainParams,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let targets = Array1::from_vec(y.to_vec());
    let mut weights = vec![0.0; d * k];
    let mut intercept = vec![0.0; k];
    match params.algorithm {
        Algorithm::Logistic => {
            // The fit runs in f32: linfa's L-BFGS spends nearly all its time
            // multiplying the dense matrix (memory-bound packing), and f32 halves
            // the bytes moved; the weights are stored as f64 as before.
            let x32 = to_dense::<f32>(rows, d);
            let ds = linfa::DatasetBase::new(x32.view(), targets);
            let fitted = MultiLogisticRegression::<f32>::default()
                .alpha(params.alpha as f32)
                .max_iterations(params.max_iterations)
                .fit(&ds)
                .map_err(|e| Error::Fit(e.to_string()))?;
            // linfa orders its classes; a class absent from this training set
            // (possible in a CV fold) keeps a -inf-like intercept.
            intercept.iter_mut().for_each(|b| *b = -1e9);
            let w = fitted.params();
            for (j, &c) in fitted.classes().iter().enumerate() {
                intercept[c] = fitted.intercept()[j] as f64;
                for f in 0..d {
                    weights[f * k + c] = w[[f, j]] as f64;
                }
            }
        }
        Algorithm::NaiveBayes => {
            // linfa-bayes 0.8 leaves a `dbg!` in MultinomialNb's fit that dumps every
            // class histogram to stderr; silence stderr for the fit only.
            let x = to_dense::<f64>(rows, d);
            let ds = linfa::DatasetBase::new(x.view(), targets);
            let gag = gag::Gag::stderr().ok();
            let fitted = MultinomialNb::params().alpha(params.nb_alpha).fit(&ds);
            drop(gag);
            let fitted = fitted.map_err(|e| Error::Fit(e.to_string()))?;
            // The joint log-likelihood is linear in x: log prior + x . log p(feature|class).
            intercept.iter_mut().for_each(|b| *b = -1e9);
            let zero = Array2::<f64>::zeros((1, d));
            for (c, v) in fitted.joint_log_likelihood(zero.view()) {
                intercept[*c] = v[0];
            }
            let chunk = 256;
            let mut start = 0;
            while start < d {
                let n = chunk.min(d - start);
                let mut eye = Array2::<f64>::zeros((n, d));
                for r in 0..n {
                    eye[[r, start + r]] = 1.0;
                }
                for (c, v) in fitted.joint_log_likelihood(eye.slice(s![.., ..]).view()) {
                    for r in 0..n {
                        weights[(start + r) * k + *c] = v[r] - intercept[*c];
                    }
                }
                start += n;
            }
        }
    }
    Ok((weights, intercept))
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa_logistic::MultiLogisticRegression;

    fn data() -> (Vec<&'static str>, Vec<&'static str>) {
        let t = vec![
            "We will keep supplying aid through the winter.",
            "Our government will continue to support the talks.",
            "We remain ready to resume negotiations at any time.",
            "Any incursion will be met with a decisive response.",
            "These launches violate Security Council resolutions.",
            "Those responsible will face severe consequences.",
            "We urge both sides to return to the negotiating table.",
            "We call on all parties to exercise maximum restraint.",
            "We encourage the neighbours to work together for peace.",
            "The minister arrived in the capital on Tuesday.",
            "The spokesperson declined to comment on the report.",
            "The two ministers discussed regional security.",
        ];
        let l = vec![
            "commitment",
            "commitment",
            "commitment",
            "warning",
            "warning",
            "warning",
            "reconciliation_appeal",
            "reconciliation_appeal",
            "reconciliation_appeal",
            "neutral",
            "neutral",
            "neutral",
        ];
        (t, l)
    }

    fn params() -> TrainParams {
        TrainParams {
            vocab_size: 300,
            min_df: 1,
            alpha: 0.1,
            ..Default::default()
        }
    }

    #[test]
    fn fits_training_data_and_round_trips_bytes() {
        let (t, l) = data();
        let m = Model::train(&t, &l, &params(), None).unwrap();
        let correct = t
            .iter()
            .zip(&l)
            .filter(|(x, y)| m.labels[m.predict(x).unwrap().label] == **y)
            .count();
        assert_eq!(correct, t.len());
        let bytes = m.to_bytes().unwrap();
        let back = Model::from_bytes(Path::new("m"), &bytes).unwrap();
        assert_eq!(back.to_bytes().unwrap(), bytes);
        let p = m.predict("We will respond decisively.").unwrap();
        assert!((p.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(back.predict("We will respond decisively.").unwrap(), p);
    }

    #[test]
    fn sparse_path_equals_linfa_predict_probabilities() {
        let (t, l) = data();
        let p = params();
        let m = Model::train(&t, &l, &p, None).unwrap();
        let rows: Vec<SparseVec> = t.iter().map(|x| m.features(x).unwrap()).collect();
        let x = to_dense::<f32>(&rows, m.featurizer.n_features());
        let y: Vec<usize> = l
            .iter()
            .map(|s| m.labels.iter().position(|x| x == s).unwrap())
            .collect();
        // The model is fitted in f32, so linfa's own probabilities (computed in f32) agree to f32 precision.
        let fitted = MultiLogisticRegression::<f32>::default()
            .alpha(p.alpha as f32)
            .max_iterations(p.max_iterations)
            .fit(&Dataset::new(x.clone(), Array1::from_vec(y)))
            .unwrap();
        let probs = fitted.predict_probabilities(&x);
        for (r, row) in rows.iter().enumerate() {
            let ours = prediction_from_logits(m.logits(row));
            for c in 0..4 {
                assert!((ours.probabilities[c] - probs[[r, c]] as f64).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn naive_bayes_linear_form_matches_linfa() {
        let (t, l) = data();
        let p = params().algorithm(Algorithm::NaiveBayes);
        let m = Model::train(&t, &l, &p, None).unwrap();
        let rows: Vec<SparseVec> = t.iter().map(|x| m.features(x).unwrap()).collect();
        let x = to_dense::<f64>(&rows, m.featurizer.n_features());
        let y: Vec<usize> = l
            .iter()
            .map(|s| m.labels.iter().position(|x| x == s).unwrap())
            .collect();
        let nb = MultinomialNb::params()
            .alpha(p.nb_alpha)
            .fit(&Dataset::new(x.clone(), Array1::from_vec(y)))
            .unwrap();
        let jll = nb.joint_log_likelihood(x.view());
        for (r, row) in rows.iter().enumerate() {
            let z = m.logits(row);
            for (c, v) in &jll {
                assert!((z[**c] - v[r]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn explanation_sums_to_logit() {
        let (t, l) = data();
        let m = Model::train(&t, &l, &params(), None).unwrap();
        let text = "We urge restraint and a return to talks.";
        let p = m.predict(text).unwrap();
        let all = m.explain(text, p.label, usize::MAX).unwrap();
        let z = m.logits(&m.features(text).unwrap());
        let sum: f64 = all.iter().map(|x| x.1).sum::<f64>() + m.intercept[p.label];
        assert!((sum - z[p.label]).abs() < 1e-9);
    }

    #[test]
    fn load_rejects_bad_files() {
        let (t, l) = data();
        let bytes = Model::train(&t, &l, &params(), None).unwrap().to_bytes().unwrap();
        let p = Path::new("m.bin");
        let e = Model::from_bytes(p, b"hello world").unwrap_err();
        assert!(matches!(e, Error::NotAModel { .. }), "{e}");
        let e = Model::from_bytes(p, &bytes[..bytes.len() / 2]).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        let mut bad = bytes.clone();
        let n = bad.len() - 10;
        bad[n] ^= 0x55;
        assert!(Model::from_bytes(p, &bad).unwrap_err().to_string().contains("checksum"));
        let mut v2 = bytes.clone();
        v2[8] = 9;
        assert!(matches!(
            Model::from_bytes(p, &v2).unwrap_err(),
            Error::ModelVersion { found: 9, .. }
        ));
    }

    #[test]
    fn decision_thresholds_fall_back_and_are_tuned() {
        let d = Decision {
            fallback: 1,
            thresholds: vec![0.6, 0.0, 0.5],
        };
        assert_eq!(d.choose(&[0.55, 0.3, 0.15]), 1);
        assert_eq!(d.choose(&[0.65, 0.3, 0.05]), 0);
        assert_eq!(d.choose(&[0.2, 0.3, 0.5]), 2);
        // Class 0 is right only when confident: tuning must find a threshold for it.
        let labels: Vec<String> = ["a", "n"].iter().map(|s| s.to_string()).collect();
        let probs = vec![vec![0.9, 0.1], vec![0.55, 0.45], vec![0.52, 0.48], vec![0.2, 0.8]];
        let y = vec![0, 1, 1, 1];
        let (d, f1) = tune_decision(&probs, &y, &labels, 1);
        assert!(d.thresholds[0] > 0.55 && d.thresholds[0] <= 0.9, "{d:?}");
        assert!((f1 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn params_are_checked() {
        assert!(TrainParams::default().alpha(-1.0).check().is_err());
        assert!(TrainParams::default().max_features(0).check().is_err());
        assert!(TrainParams::default().check().is_ok());
        let (t, _) = data();
        let one = vec!["x"; t.len()];
        assert!(Model::train(&t, &one, &params(), None)
            .unwrap_err()
            .to_string()
            .contains("at least 2 classes"));
    }
}
