//! Sentence features: TF-IDF over token n-grams (ids from the tokenizer),
//! selected by document frequency and chi-squared, L2-normalised, followed by the
//! stance cues of [`crate::cues`].

use std::collections::HashMap;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::cues::{cue_values_masked, CUE_NAMES, N_CUES};
use crate::structure::{structure_values_masked, N_STRUCTURE, STRUCTURE_NAMES};
use crate::tokenizer::{TextTokenizer, Tokens};

/// A sparse feature vector: (feature index, value), indices ascending.
pub type SparseVec = Vec<(u32, f64)>;

/// What the featurizer computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Longest token n-gram (1 or 2).
    pub ngram_max: u8,
    /// Append the stance cues.
    pub cues: bool,
    /// Use 1 + ln(tf) instead of raw term counts.
    pub sublinear_tf: bool,
    /// Weight of the cue and structure blocks relative to the unit-norm n-gram block.
    pub cue_weight: f64,
    /// Append the core-clause structure features.
    #[serde(default)]
    pub structure: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            ngram_max: 2,
            cues: true,
            sublinear_tf: true,
            cue_weight: 0.5,
            structure: true,
        }
    }
}

/// The fitted feature space: which n-grams are features and their IDF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "FeaturizerData", into = "FeaturizerData")]
pub struct Featurizer {
    pub config: FeatureConfig,
    keys: Vec<u64>,
    idf: Vec<f64>,
    /// Bigram key -> feature index; ahash because SipHash showed in the classify profile.
    index: ahash::AHashMap<u64, u32>,
    /// Unigram feature index by token id (`u32::MAX`: not a feature): an array
    /// read instead of a hash look-up for half of the n-grams.
    unigrams: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
struct FeaturizerData {
    config: FeatureConfig,
    keys: Vec<u64>,
    idf: Vec<f64>,
}

/// Largest unigram key held in the array (4 MB at most).
const UNIGRAM_TABLE_LIMIT: u64 = 1 << 20;

impl From<FeaturizerData> for Featurizer {
    fn from(d: FeaturizerData) -> Self {
        let mut unigrams = Vec::new();
        let mut index = ahash::AHashMap::new();
        for (i, &k) in d.keys.iter().enumerate() {
            // Unigram key: token id + 1. Ids past the limit (only in a damaged
            // file, which `check` refuses) stay in the map rather than size the table.
            if (1..=UNIGRAM_TABLE_LIMIT).contains(&k) {
                let id = (k - 1) as usize;
                if unigrams.len() <= id {
                    unigrams.resize(id + 1, u32::MAX);
                }
                unigrams[id] = i as u32;
            } else {
                index.insert(k, i as u32);
            }
        }
        Featurizer {
            config: d.config,
            keys: d.keys,
            idf: d.idf,
            index,
            unigrams,
        }
    }
}

impl From<Featurizer> for FeaturizerData {
    fn from(f: Featurizer) -> Self {
        FeaturizerData {
            config: f.config,
            keys: f.keys,
            idf: f.idf,
        }
    }
}

/// Key of a unigram (id + 1, below 2^32) or bigram ((a + 1) << 32 | (b + 1)).
fn ngram_keys(ids: &[u32], ngram_max: u8, mut f: impl FnMut(u64)) {
    for (i, &a) in ids.iter().enumerate() {
        f(a as u64 + 1);
        if ngram_max >= 2 {
            if let Some(&b) = ids.get(i + 1) {
                f(((a as u64 + 1) << 32) | (b as u64 + 1));
            }
        }
    }
}

impl Featurizer {
    /// Chooses the n-gram features from the training tokens: those in at least
    /// `min_df` statements, then the `max_features` with the highest chi-squared
    /// statistic against the labels (ties broken by key, so the choice is deterministic).
    pub fn fit(
        tokens: &[Tokens],
        labels: &[usize],
        n_classes: usize,
        max_features: usize,
        min_df: usize,
        config: FeatureConfig,
    ) -> Featurizer {
        let n = tokens.len();
        // Per n-gram: document count per class.
        let mut counts: HashMap<u64, Vec<u32>> = HashMap::new();
        let mut seen: Vec<u64> = Vec::new();
        for (t, &y) in tokens.iter().zip(labels) {
            seen.clear();
            ngram_keys(&t.ids, config.ngram_max, |k| seen.push(k));
            seen.sort_unstable();
            seen.dedup();
            for &k in &seen {
                counts.entry(k).or_insert_with(|| vec![0; n_classes])[y] += 1;
            }
        }
        let mut class_n = vec![0usize; n_classes];
        for &y in labels {
            class_n[y] += 1;
        }
        let mut scored: Vec<(f64, u64, usize)> = counts
            .iter()
            .filter_map(|(&k, per)| {
                let df: u32 = per.iter().sum();
                if (df as usize) < min_df {
                    return None;
                }
                let mut chi2 = 0.0;
                for (c, &o) in per.iter().enumerate() {
                    let e = df as f64 * class_n[c] as f64 / n as f64;
                    if e > 0.0 {
                        chi2 += (o as f64 - e).powi(2) / e;
                    }
                }
                Some((chi2, k, df as usize))
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(max_features);
        scored.sort_by_key(|s| s.1);
        let keys: Vec<u64> = scored.iter().map(|s| s.1).collect();
        let idf = scored
            .iter()
            .map(|s| ((1.0 + n as f64) / (1.0 + s.2 as f64)).ln() + 1.0)
            .collect();
        FeaturizerData { config, keys, idf }.into()
    }

    /// Internal consistency against the tokenizer's vocabulary: one IDF per
    /// n-gram, keys strictly ascending, every token id inside the vocabulary.
    pub fn check(&self, vocab_size: usize) -> std::result::Result<(), String> {
        if self.idf.len() != self.keys.len() {
            return Err(format!("{} IDF values for {} n-grams", self.idf.len(), self.keys.len()));
        }
        if self.keys.windows(2).any(|w| w[0] >= w[1]) {
            return Err("n-gram keys are not strictly ascending".into());
        }
        if self.idf.iter().any(|v| !v.is_finite()) {
            return Err("non-finite IDF values".into());
        }
        let max_id = self
            .keys
            .iter()
            .flat_map(|&k| [(k >> 32) as u32, (k & 0xffff_ffff) as u32])
            .max()
            .unwrap_or(0) as usize;
        if self.keys.iter().any(|&k| k & 0xffff_ffff == 0) {
            return Err("an n-gram key has no token".into());
        }
        if max_id > vocab_size {
            return Err(format!(
                "the features use token id {} but the tokenizer has only {vocab_size} tokens (tokenizer and features disagree)",
                max_id - 1
            ));
        }
        Ok(())
    }

    /// Number of n-gram features.
    pub fn n_ngrams(&self) -> usize {
        self.keys.len()
    }

    /// Total number of features.
    pub fn n_features(&self) -> usize {
        self.keys.len() + self.n_cues() + if self.config.structure { N_STRUCTURE } else { 0 }
    }

    fn n_cues(&self) -> usize {
        if self.config.cues {
            N_CUES
        } else {
            0
        }
    }

    /// Features of one statement.
    pub fn transform(&self, tokens: &Tokens, text: &str) -> SparseVec {
        let mut idx: Vec<u32> = Vec::with_capacity(tokens.ids.len() * 2);
        ngram_keys(&tokens.ids, self.config.ngram_max, |k| {
            let i = if k >> 32 == 0 && ((k - 1) as usize) < self.unigrams.len() {
                self.unigrams[(k - 1) as usize]
            } else {
                self.index.get(&k).copied().unwrap_or(u32::MAX)
            };
            if i != u32::MAX {
                idx.push(i);
            }
        });
        idx.sort_unstable();
        let mut out: SparseVec = Vec::with_capacity(idx.len() + N_CUES);
        let mut i = 0;
        while i < idx.len() {
            let f = idx[i];
            let mut j = i;
            while j < idx.len() && idx[j] == f {
                j += 1;
            }
            let tf = (j - i) as f64;
            let tf = if self.config.sublinear_tf { 1.0 + tf.ln() } else { tf };
            out.push((f, tf * self.idf[f as usize]));
            i = j;
        }
        let norm = out.iter().map(|(_, v)| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            out.iter_mut().for_each(|(_, v)| *v /= norm);
        }
        let words: Vec<&str> = if self.config.cues || self.config.structure {
            tokens.words.iter().collect()
        } else {
            Vec::new()
        };
        if self.config.cues {
            let base = self.keys.len() as u32;
            for (k, v) in cue_values_masked(&words, tokens.words.cue_masks(), text)
                .iter()
                .enumerate()
            {
                if *v != 0.0 {
                    out.push((base + k as u32, v * self.config.cue_weight));
                }
            }
        }
        if self.config.structure {
            let base = (self.keys.len() + self.n_cues()) as u32;
            for (k, v) in structure_values_masked(&words, tokens.words.structure_masks(), text)
                .iter()
                .enumerate()
            {
                if *v != 0.0 {
                    out.push((base + k as u32, v * self.config.cue_weight));
                }
            }
        }
        out
    }

    /// Human-readable name of feature `i` (tokens joined by a space, or a cue name).
    pub fn feature_name(&self, i: usize, tok: &TextTokenizer) -> String {
        if i >= self.keys.len() + self.n_cues() {
            return STRUCTURE_NAMES[i - self.keys.len() - self.n_cues()].to_string();
        }
        if i >= self.keys.len() {
            return CUE_NAMES[i - self.keys.len()].to_string();
        }
        let k = self.keys[i];
        let a = (k >> 32) as u32;
        let b = (k & 0xffff_ffff) as u32;
        if a == 0 {
            tok.id_to_token(b - 1)
        } else {
            format!("{} {}", tok.id_to_token(a - 1), tok.id_to_token(b - 1))
        }
    }
}

/// Stacks sparse rows into the dense matrix linfa's estimators take.
pub fn to_dense<F: linfa::Float>(rows: &[SparseVec], n_features: usize) -> Array2<F> {
    let mut x = Array2::zeros((rows.len(), n_features));
    for (r, row) in rows.iter().enumerate() {
        for &(f, v) in row {
            x[[r, f as usize]] = F::cast(v);
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(ids: &[u32]) -> Tokens {
        Tokens {
            ids: ids.to_vec(),
            words: Default::default(),
        }
    }

    #[test]
    fn selects_by_min_df_and_chi2() {
        // id 1 only in class 0, id 2 only in class 1, id 3 everywhere, id 9 once.
        let t = vec![toks(&[1, 3]), toks(&[1, 3]), toks(&[2, 3]), toks(&[2, 3, 9])];
        let y = vec![0, 0, 1, 1];
        let cfg = FeatureConfig {
            ngram_max: 1,
            cues: false,
            structure: false,
            ..Default::default()
        };
        let f = Featurizer::fit(&t, &y, 2, 2, 2, cfg);
        assert_eq!(f.keys, vec![2, 3]); // unigram keys are id + 1: ids 1 and 2
        let v = f.transform(&toks(&[1, 1, 5]), "");
        assert_eq!(v.len(), 1);
        assert!((v[0].1 - 1.0).abs() < 1e-12, "L2 normalised");
    }

    #[test]
    fn tfidf_values_match_hand_computation() {
        let t = vec![toks(&[1, 2]), toks(&[1])];
        let cfg = FeatureConfig {
            ngram_max: 1,
            cues: false,
            sublinear_tf: true,
            cue_weight: 0.0,
            structure: false,
        };
        let f = Featurizer::fit(&t, &[0, 1], 2, 10, 1, cfg);
        // idf(1) = ln(3/3)+1 = 1; idf(2) = ln(3/2)+1
        let v = f.transform(&toks(&[1, 1, 2]), "");
        let a = (1.0 + 2f64.ln()) * 1.0;
        let b = 1.0 * ((3.0f64 / 2.0).ln() + 1.0);
        let n = (a * a + b * b).sqrt();
        assert!((v[0].1 - a / n).abs() < 1e-12 && (v[1].1 - b / n).abs() < 1e-12);
    }

    #[test]
    fn bigram_keys_are_distinct_from_unigrams() {
        let mut ks = vec![];
        ngram_keys(&[0, 1], 2, |k| ks.push(k));
        assert_eq!(ks, vec![1, (1 << 32) | 2, 2]);
    }

    #[test]
    fn serde_round_trip_rebuilds_index() {
        let t = vec![toks(&[1, 3]), toks(&[2, 3])];
        let f = Featurizer::fit(&t, &[0, 1], 2, 10, 1, FeatureConfig::default());
        let back: Featurizer = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }
}
