//! The model card of `demarche inspect`: what a model is, what it was trained on,
//! how well it did, and which features drive each label.

use serde::Serialize;

use crate::model::{Model, FORMAT_VERSION};

/// One feature of a label's top list.
#[derive(Debug, Clone, Serialize)]
pub struct TopFeature {
    pub feature: String,
    /// Weight centred across labels (see [`Model::top_features`]).
    pub weight: f64,
}

/// Everything `inspect` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCard {
    pub path: String,
    pub format_version: u32,
    pub sha256: String,
    pub demarche_version: String,
    pub labels: Vec<String>,
    pub cameo: Vec<Option<&'static str>>,
    pub corpus: String,
    pub corpus_sha256: String,
    pub n_train: usize,
    pub label_counts: std::collections::BTreeMap<String, usize>,
    pub vocab_size: usize,
    pub n_features: usize,
    pub n_ngrams: usize,
    pub tokenizer_source: Option<String>,
    pub temperature: f64,
    /// Decision thresholds tuned on dev (`train --tune-thresholds`): label -> threshold, and the fallback label.
    pub thresholds: Option<(std::collections::BTreeMap<String, f64>, String)>,
    pub params: crate::model::TrainParams,
    pub metrics: std::collections::BTreeMap<String, serde_json::Value>,
    pub top_features: Vec<(String, Vec<TopFeature>)>,
}

/// Builds the card of `model` with the `top` features of each label.
pub fn model_card(model: &Model, path: &str, top: usize) -> crate::Result<ModelCard> {
    let info = &model.info;
    Ok(ModelCard {
        path: path.to_string(),
        format_version: FORMAT_VERSION,
        sha256: model.digest()?,
        demarche_version: info.demarche_version.clone(),
        labels: model.labels.clone(),
        cameo: model.labels.iter().map(|l| crate::output::cameo_root(l)).collect(),
        corpus: info.corpus.clone(),
        corpus_sha256: info.corpus_sha256.clone(),
        n_train: info.n_train,
        label_counts: info.label_counts.clone(),
        vocab_size: info.vocab_size,
        n_features: info.n_features,
        n_ngrams: info.n_ngrams,
        tokenizer_source: info.tokenizer_source.clone(),
        temperature: model.temperature,
        thresholds: model.decision.as_ref().map(|d| {
            (
                model
                    .labels
                    .iter()
                    .zip(&d.thresholds)
                    .filter(|(_, t)| **t > 0.0)
                    .map(|(l, t)| (l.clone(), *t))
                    .collect(),
                model.labels[d.fallback].clone(),
            )
        }),
        params: info.params.clone(),
        metrics: info.metrics.clone(),
        top_features: (0..model.n_labels())
            .map(|c| {
                (
                    model.labels[c].clone(),
                    model
                        .top_features(c, top)
                        .into_iter()
                        .map(|(feature, weight)| TopFeature { feature, weight })
                        .collect(),
                )
            })
            .collect(),
    })
}

fn metric(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|x| x.as_f64())
        .map(|x| format!("{x:.4}"))
        .unwrap_or_else(|| "-".into())
}

impl ModelCard {
    pub fn to_text(&self) -> String {
        let mut s = format!("model       {}\n", self.path);
        s += &format!(
            "format      version {} (sha256 {})\n",
            self.format_version,
            &self.sha256[..16.min(self.sha256.len())]
        );
        s += &format!("built by    demarche {}\n", self.demarche_version);
        let labels: Vec<String> = self
            .labels
            .iter()
            .zip(&self.cameo)
            .map(|(l, c)| format!("{l} (CAMEO {})", c.unwrap_or("-")))
            .collect();
        s += &format!("labels      {}\n", labels.join(", "));
        s += &format!(
            "corpus      {} ({} statements, sha256 {})\n",
            self.corpus, self.n_train, self.corpus_sha256
        );
        for (l, n) in &self.label_counts {
            s += &format!(
                "              {l:<22} {n:>6}  {:>5.1}%\n",
                100.0 * *n as f64 / self.n_train.max(1) as f64
            );
        }
        let p = &self.params;
        s += &format!(
            "tokenizer   {} tokens ({})\n",
            self.vocab_size,
            self.tokenizer_source
                .as_deref()
                .map(|t| format!("from {t}"))
                .unwrap_or_else(|| "WordPiece, built from the corpus".into())
        );
        s += &format!(
            "features    {} n-grams + {} cue and structure features = {}\n",
            self.n_ngrams,
            self.n_features - self.n_ngrams,
            self.n_features
        );
        s += &format!(
            "hyperparams algorithm {}, alpha {}, nb-alpha {}, max-iterations {}, max-features {}, min-df {}, vocab-size {}, ngram-max {}, cues {}, structure {}, cue-weight {}, seed {}\n",
            p.algorithm,
            p.alpha,
            p.nb_alpha,
            p.max_iterations,
            p.max_features,
            p.min_df,
            p.vocab_size,
            p.features.ngram_max,
            p.features.cues,
            p.features.structure,
            p.features.cue_weight,
            p.seed
        );
        if let Some((t, fallback)) = &self.thresholds {
            let list: Vec<String> = t.iter().map(|(l, v)| format!("{l} {v:.2}")).collect();
            s += &format!(
                "thresholds  {} (below it a label falls back to {fallback}; tuned on dev)\n",
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            );
        }
        s += &format!(
            "temperature {:.4}{}\n",
            self.temperature,
            if self.temperature == 1.0 {
                " (uncalibrated)"
            } else {
                " (fitted by train --calibrate)"
            }
        );
        if let Some(c) = self.metrics.get("calibration") {
            s += &format!(
                "calibration on {} dev statements: ECE {} -> {}, NLL {} -> {}\n",
                c.get("n").and_then(|x| x.as_u64()).unwrap_or(0),
                metric(c, "ece_before"),
                metric(c, "ece_after"),
                metric(c, "nll_before"),
                metric(c, "nll_after")
            );
        }
        s += "\nmetrics stored at training time\n";
        let splits: Vec<(&String, &serde_json::Value)> = self
            .metrics
            .iter()
            .filter(|(k, _)| k.as_str() != "calibration")
            .collect();
        if splits.is_empty() {
            s += "  (none: train with --dev / --test to store them)\n";
        } else {
            s += "  split        n  accuracy  macro-F1  weighted-F1     ECE\n";
            for (k, v) in splits {
                let ece = v
                    .get("calibration")
                    .map(|c| metric(c, "ece"))
                    .unwrap_or_else(|| "-".into());
                s += &format!(
                    "  {:<5}  {:>6}  {:>8}  {:>8}  {:>11}  {:>6}\n",
                    k,
                    v.get("n").and_then(|x| x.as_u64()).unwrap_or(0),
                    metric(v, "accuracy"),
                    metric(v, "macro_f1"),
                    metric(v, "weighted_f1"),
                    ece
                );
                if let Some(pc) = v.get("per_class").and_then(|x| x.as_array()) {
                    for c in pc {
                        s += &format!(
                            "         {:<22} P {}  R {}  F1 {}\n",
                            c.get("label").and_then(|x| x.as_str()).unwrap_or("?"),
                            metric(c, "precision"),
                            metric(c, "recall"),
                            metric(c, "f1")
                        );
                    }
                }
            }
        }
        for (label, feats) in &self.top_features {
            s += &format!(
                "\ntop {} features for {label} (weight centred across labels)\n",
                feats.len()
            );
            for (i, f) in feats.iter().enumerate() {
                s += &format!("  {:>2}. {:>+8.4}  {}\n", i + 1, f.weight, f.feature);
            }
        }
        s
    }
}
