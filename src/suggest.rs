//! Active learning: which statements to label next. Documents are segmented and
//! classified, statements are ranked by the model's uncertainty, and
//! near-identical statements are kept once, so an annotator never labels the
//! same boilerplate twice.

use std::collections::BTreeSet;

use serde_json::json;

use crate::error::Result;
use crate::model::Model;
use crate::pipeline::{classify_with, ClassifyOptions, Segmentation, Statement};

/// How uncertainty is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Shannon entropy of the label probabilities (nats): high = uncertain.
    Entropy,
    /// Gap between the two most probable labels: small = uncertain.
    Margin,
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Strategy::Entropy => "entropy",
            Strategy::Margin => "margin",
        })
    }
}

/// Uncertainty score of a probability vector: larger means more uncertain for
/// both strategies (the margin is returned as `1 - margin`).
pub fn uncertainty(p: &[f64], strategy: Strategy) -> f64 {
    match strategy {
        Strategy::Entropy => -p.iter().filter(|&&x| x > 0.0).map(|&x| x * x.ln()).sum::<f64>(),
        Strategy::Margin => {
            let mut v = p.to_vec();
            v.sort_by(|a, b| b.total_cmp(a));
            1.0 - (v[0] - v.get(1).copied().unwrap_or(0.0))
        }
    }
}

/// Lower-case word set of a statement (letters and digits), for near-duplicate detection.
pub fn word_set(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// Jaccard similarity of two word sets (1 for two empty sets).
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(b).count();
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// A statement proposed for annotation.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub statement: Statement,
    pub uncertainty: f64,
}

/// Counts of a `suggest` run.
#[derive(Debug, Clone, Copy, Default)]
pub struct SuggestStats {
    pub candidates: usize,
    pub duplicates: usize,
}

/// Ranks every statement of `docs` (`(name, text)` pairs) by uncertainty and
/// returns the `n` most uncertain, skipping any statement whose word-set
/// Jaccard similarity to an already chosen one is at least `dedup_threshold`.
/// Ties are broken by document order, so the output is deterministic.
pub fn suggest(
    model: &Model,
    docs: &[(String, String)],
    mode: Segmentation,
    strategy: Strategy,
    n: usize,
    dedup_threshold: f64,
) -> Result<(Vec<Suggestion>, SuggestStats)> {
    let opts = ClassifyOptions {
        mode,
        ..ClassifyOptions::default()
    };
    let mut all = Vec::new();
    for (name, text) in docs {
        for s in classify_with(model, name, text, &opts)? {
            let u = uncertainty(&s.probabilities, strategy);
            all.push(Suggestion {
                statement: s,
                uncertainty: u,
            });
        }
    }
    let mut stats = SuggestStats {
        candidates: all.len(),
        duplicates: 0,
    };
    // Stable sort: equal scores keep document order.
    all.sort_by(|a, b| b.uncertainty.total_cmp(&a.uncertainty));
    let mut chosen: Vec<Suggestion> = Vec::new();
    let mut sets: Vec<BTreeSet<String>> = Vec::new();
    for s in all {
        if chosen.len() == n {
            break;
        }
        let ws = word_set(&s.statement.text);
        if sets.iter().any(|o| jaccard(o, &ws) >= dedup_threshold) {
            stats.duplicates += 1;
            continue;
        }
        sets.push(ws);
        chosen.push(s);
    }
    Ok((chosen, stats))
}

/// One suggestion as an annotation record: `text`, `source`, `predicted`,
/// `probabilities`, `uncertainty`, and `label: null` for the annotator to fill.
pub fn suggestion_json(s: &Suggestion, labels: &[String]) -> serde_json::Value {
    let st = &s.statement;
    let probs: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .zip(&st.probabilities)
        .map(|(l, p)| (l.clone(), json!((p * 1e6).round() / 1e6)))
        .collect();
    json!({
        "text": st.text,
        "source": format!("{}:{}-{}", st.file, st.start, st.end),
        "speaker": st.speaker,
        "predicted": st.predicted,
        "probabilities": probs,
        "uncertainty": (s.uncertainty * 1e6).round() / 1e6,
        "label": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncertainty_orders_as_expected() {
        let flat = [0.25, 0.25, 0.25, 0.25];
        let sure = [0.97, 0.01, 0.01, 0.01];
        let split = [0.49, 0.48, 0.02, 0.01];
        for s in [Strategy::Entropy, Strategy::Margin] {
            assert!(uncertainty(&flat, s) > uncertainty(&sure, s));
            assert!(uncertainty(&split, s) > uncertainty(&sure, s));
        }
        assert!((uncertainty(&flat, Strategy::Entropy) - 4f64.ln()).abs() < 1e-12);
        // margin prefers the two-way split; entropy the flat distribution
        assert!(uncertainty(&split, Strategy::Margin) > uncertainty(&[0.4, 0.2, 0.2, 0.2], Strategy::Margin));
        assert!((uncertainty(&flat, Strategy::Margin) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn near_duplicates_by_jaccard() {
        let a = word_set("We call on both sides to exercise restraint.");
        let b = word_set("We call on both sides to exercise restraint!");
        let c = word_set("We call on all sides to exercise maximum restraint.");
        let d = word_set("The minister arrived on Tuesday.");
        assert_eq!(jaccard(&a, &b), 1.0);
        assert!(jaccard(&a, &c) > 0.6 && jaccard(&a, &c) < 1.0);
        assert!(jaccard(&a, &d) < 0.2);
    }
}
