//! Accuracy reports a researcher can cite: accuracy, macro and weighted
//! precision/recall/F1, per-class figures in the layout of scikit-learn's
//! `classification_report`, a confusion matrix with true labels as rows, a
//! majority-class baseline, and stratified K-fold cross-validation.
//!
//! The metrics are computed here rather than with linfa's `ConfusionMatrix`,
//! which stores predictions as rows and so swaps precision and recall relative
//! to scikit-learn.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// A constant predictor for reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub label: String,
    pub accuracy: f64,
    pub macro_f1: f64,
}

/// Metrics of one set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub n: usize,
    pub accuracy: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub weighted_precision: f64,
    pub weighted_recall: f64,
    pub weighted_f1: f64,
    pub per_class: Vec<ClassMetrics>,
    pub labels: Vec<String>,
    /// `confusion[t][p]`: statements with true label `t` predicted as `p`.
    pub confusion: Vec<Vec<usize>>,
    pub majority_baseline: Baseline,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0 // scikit-learn's zero_division=0
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

impl Report {
    /// Scores predictions. `majority` is the class a constant baseline predicts
    /// (normally the most frequent training label).
    pub fn new(labels: &[String], y_true: &[usize], y_pred: &[usize], majority: usize) -> Report {
        let k = labels.len();
        let mut cm = vec![vec![0usize; k]; k];
        for (&t, &p) in y_true.iter().zip(y_pred) {
            cm[t][p] += 1;
        }
        let n = y_true.len();
        let correct: usize = (0..k).map(|i| cm[i][i]).sum();
        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let tp = cm[c][c];
                let support: usize = cm[c].iter().sum();
                let predicted: usize = (0..k).map(|t| cm[t][c]).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                ClassMetrics {
                    label: labels[c].clone(),
                    precision,
                    recall,
                    f1: f1(precision, recall),
                    support,
                }
            })
            .collect();
        let mean = |f: &dyn Fn(&ClassMetrics) -> f64| per_class.iter().map(f).sum::<f64>() / k as f64;
        let wmean = |f: &dyn Fn(&ClassMetrics) -> f64| {
            if n == 0 {
                0.0
            } else {
                per_class.iter().map(|m| f(m) * m.support as f64).sum::<f64>() / n as f64
            }
        };
        let baseline = {
            // Always predicting `majority`: its precision is its share, its recall 1.
            let tp = y_true.iter().filter(|&&t| t == majority).count();
            let p = ratio(tp, n);
            let r = if tp > 0 { 1.0 } else { 0.0 };
            Baseline {
                label: labels[majority].clone(),
                accuracy: p,
                macro_f1: f1(p, r) / k as f64,
            }
        };
        Report {
            n,
            accuracy: ratio(correct, n),
            macro_precision: mean(&|m| m.precision),
            macro_recall: mean(&|m| m.recall),
            macro_f1: mean(&|m| m.f1),
            weighted_precision: wmean(&|m| m.precision),
            weighted_recall: wmean(&|m| m.recall),
            weighted_f1: wmean(&|m| m.f1),
            per_class,
            labels: labels.to_vec(),
            confusion: cm,
            majority_baseline: baseline,
        }
    }

    /// The classification report and confusion matrix as text.
    pub fn to_text(&self) -> String {
        let w = self
            .labels
            .iter()
            .map(|l| l.len())
            .chain(["weighted avg".len()])
            .max()
            .unwrap_or(12);
        let mut s = String::new();
        s += &format!(
            "{:>w$}  {:>9}  {:>9}  {:>9}  {:>9}\n\n",
            "", "precision", "recall", "f1-score", "support"
        );
        for m in &self.per_class {
            s += &format!(
                "{:>w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9}\n",
                m.label, m.precision, m.recall, m.f1, m.support
            );
        }
        s += "\n";
        s += &format!(
            "{:>w$}  {:>9}  {:>9}  {:>9.4}  {:>9}\n",
            "accuracy", "", "", self.accuracy, self.n
        );
        s += &format!(
            "{:>w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9}\n",
            "macro avg", self.macro_precision, self.macro_recall, self.macro_f1, self.n
        );
        s += &format!(
            "{:>w$}  {:>9.4}  {:>9.4}  {:>9.4}  {:>9}\n",
            "weighted avg", self.weighted_precision, self.weighted_recall, self.weighted_f1, self.n
        );
        s += &format!(
            "\nmajority baseline (always {}): accuracy {:.4}, macro-F1 {:.4}\n",
            self.majority_baseline.label, self.majority_baseline.accuracy, self.majority_baseline.macro_f1
        );
        s += "\nconfusion matrix (rows = true, columns = predicted)\n";
        s += &confusion_text(&self.labels, &self.confusion);
        s
    }
}

/// A labelled confusion matrix, rows = true labels.
pub fn confusion_text(labels: &[String], cm: &[Vec<usize>]) -> String {
    let w = labels.iter().map(|l| l.len()).max().unwrap_or(4).max(4);
    let cols: Vec<usize> = labels.iter().map(|l| l.len().max(5)).collect();
    let mut s = format!("{:>w$}", "");
    for (l, cw) in labels.iter().zip(&cols) {
        s += &format!("  {l:>cw$}");
    }
    s += "\n";
    for (l, row) in labels.iter().zip(cm) {
        s += &format!("{l:>w$}");
        for (v, cw) in row.iter().zip(&cols) {
            s += &format!("  {v:>cw$}");
        }
        s += "\n";
    }
    s
}

/// Index of the most frequent label (ties: the first in label order).
pub fn majority_class(y: &[usize], k: usize) -> usize {
    let mut counts = vec![0usize; k];
    for &c in y {
        counts[c] += 1;
    }
    counts
        .iter()
        .enumerate()
        .fold(0, |best, (i, &c)| if c > counts[best] { i } else { best })
}

/// Assigns each example to one of `k` folds, stratified by label: each label's
/// examples are shuffled with `seed` and dealt round-robin, continuing the deal
/// across labels so fold sizes differ by at most one.
pub fn stratified_folds(y: &[usize], n_labels: usize, k: usize, seed: u64) -> Result<Vec<usize>> {
    if k < 2 {
        return Err(Error::InvalidParam {
            name: "cv",
            value: k.to_string(),
            reason: "cross-validation needs at least 2 folds".into(),
        });
    }
    let mut by_label: Vec<Vec<usize>> = vec![Vec::new(); n_labels];
    for (i, &c) in y.iter().enumerate() {
        by_label[c].push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold = vec![0usize; y.len()];
    let mut next = 0;
    for idx in by_label.iter_mut() {
        idx.shuffle(&mut rng);
        for &i in idx.iter() {
            fold[i] = next % k;
            next += 1;
        }
    }
    Ok(fold)
}

/// One fold's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldScore {
    pub fold: usize,
    /// The fold's name: its number, or the group value left out.
    pub name: String,
    pub n_train: usize,
    pub n_test: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
}

/// Cross-validation summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvReport {
    /// What kind of cross-validation, e.g. "5-fold stratified cross-validation (seed 42)".
    pub scheme: String,
    pub k: usize,
    pub seed: u64,
    pub folds: Vec<FoldScore>,
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    pub macro_f1_mean: f64,
    pub macro_f1_std: f64,
    /// Report over all out-of-fold predictions pooled.
    pub pooled: Report,
}

/// Mean and population standard deviation (numpy's default).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

impl CvReport {
    pub fn to_text(&self) -> String {
        let w = self.folds.iter().map(|f| f.name.len()).chain([4]).max().unwrap_or(4);
        let mut s = format!("{}\n\n", self.scheme);
        s += &format!("{:>w$}  n_train  n_test  accuracy  macro-F1\n", "fold");
        for f in &self.folds {
            s += &format!(
                "{:>w$}  {:>7}  {:>6}  {:>8.4}  {:>8.4}\n",
                f.name, f.n_train, f.n_test, f.accuracy, f.macro_f1
            );
        }
        s += &format!(
            "\naccuracy  {:.4} ± {:.4}\nmacro-F1  {:.4} ± {:.4}\n",
            self.accuracy_mean, self.accuracy_std, self.macro_f1_mean, self.macro_f1_std
        );
        s += "\npooled out-of-fold predictions:\n\n";
        s += &self.pooled.to_text();
        s
    }
}

/// A table of per-group scores.
pub fn groups_text(field: &str, groups: &[(String, Report)]) -> String {
    let w = groups.iter().map(|g| g.0.len()).chain([field.len()]).max().unwrap_or(8);
    let mut s = format!("{field:<w$}  statements  accuracy  macro-F1\n");
    for (g, r) in groups {
        s += &format!("{g:<w$}  {:>10}  {:>8.4}  {:>8.4}\n", r.n, r.accuracy, r.macro_f1);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn matches_hand_computed_values() {
        // true: a a a b b c ; pred: a a b b c c
        let r = Report::new(&labels(), &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], 0);
        assert_eq!(r.confusion, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // a: p=2/2 r=2/3 f=0.8 ; b: p=1/2 r=1/2 f=.5 ; c: p=1/2 r=1 f=2/3
        let pa = &r.per_class[0];
        assert!((pa.precision - 1.0).abs() < 1e-12 && (pa.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((pa.f1 - 0.8).abs() < 1e-12);
        let macro_f1 = (0.8 + 0.5 + 2.0 / 3.0) / 3.0;
        assert!((r.macro_f1 - macro_f1).abs() < 1e-12);
        let weighted = (0.8 * 3.0 + 0.5 * 2.0 + 2.0 / 3.0) / 6.0;
        assert!((r.weighted_f1 - weighted).abs() < 1e-12);
        assert!((r.macro_precision - (1.0 + 0.5 + 0.5) / 3.0).abs() < 1e-12);
        // always "a": accuracy 1/2, F1(a) = 2*.5*1/1.5 = 2/3, macro 2/9
        assert!((r.majority_baseline.accuracy - 0.5).abs() < 1e-12);
        assert!((r.majority_baseline.macro_f1 - 2.0 / 9.0).abs() < 1e-12);
    }

    #[test]
    fn class_never_predicted_has_zero_precision() {
        let r = Report::new(&labels(), &[0, 1, 2], &[0, 0, 0], 0);
        assert_eq!(r.per_class[1].precision, 0.0);
        assert_eq!(r.per_class[1].f1, 0.0);
    }

    #[test]
    fn text_layout_has_rows_and_matrix() {
        let r = Report::new(&labels(), &[0, 1, 2], &[0, 1, 1], 0);
        let t = r.to_text();
        assert!(t.contains("precision"));
        assert!(t.contains("macro avg"));
        assert!(t.contains("rows = true"));
    }

    #[test]
    fn folds_are_stratified_and_seeded() {
        let y: Vec<usize> = (0..100).map(|i| if i < 70 { 0 } else { 1 }).collect();
        let f = stratified_folds(&y, 2, 5, 7).unwrap();
        for k in 0..5 {
            let n0 = (0..100).filter(|&i| f[i] == k && y[i] == 0).count();
            let n1 = (0..100).filter(|&i| f[i] == k && y[i] == 1).count();
            assert_eq!((n0, n1), (14, 6));
        }
        assert_eq!(f, stratified_folds(&y, 2, 5, 7).unwrap());
        assert_ne!(f, stratified_folds(&y, 2, 5, 8).unwrap());
        assert!(stratified_folds(&y, 2, 1, 7).is_err());
    }

    #[test]
    fn mean_std_population() {
        let (m, s) = mean_std(&[1.0, 3.0]);
        assert_eq!((m, s), (2.0, 1.0));
    }
}
