//! Whole-document evaluation on the gold briefings of `datasets/briefings/`:
//! each `NAME.txt` has a `NAME.gold.jsonl` with every sentence's byte offsets,
//! label and speaker. The model segments each document itself, so the score
//! covers segmentation and classification end to end.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evaluation::Report;
use crate::model::Model;
use crate::pipeline::{classify_document, training_majority, Segmentation};
use crate::speaker::same_speaker;

/// One gold sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoldSentence {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub label: String,
    pub speaker: Option<String>,
}

/// A document with its gold sentences.
#[derive(Debug, Clone)]
pub struct Briefing {
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    pub gold: Vec<GoldSentence>,
}

/// Reads every `NAME.txt` of `dir` with its `NAME.gold.jsonl`, checking that each
/// gold text equals the document bytes at its offsets.
pub fn read_dir(dir: &Path) -> Result<Vec<Briefing>> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::Corpus {
            path: dir.to_path_buf(),
            message: "no .txt briefings with .gold.jsonl files".into(),
        });
    }
    names.iter().map(|p| read_one(p)).collect()
}

fn read_one(txt: &Path) -> Result<Briefing> {
    let text = std::fs::read_to_string(txt).map_err(|e| Error::io(txt, e))?;
    let stem = txt.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_string();
    let gold_path = txt.with_file_name(format!("{stem}.gold.jsonl"));
    let raw = std::fs::read_to_string(&gold_path).map_err(|e| Error::io(&gold_path, e))?;
    let mut gold = Vec::new();
    let mut last_end = 0;
    for (i, line) in raw.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |m: String| Error::Parse {
            path: gold_path.clone(),
            line: i + 1,
            message: m,
        };
        let g: GoldSentence = serde_json::from_str(line).map_err(|e| bad(format!("malformed gold record: {e}")))?;
        if g.start < last_end || g.end <= g.start || text.get(g.start..g.end) != Some(g.text.as_str()) {
            return Err(bad(format!(
                "offsets {}..{} do not hold the gold text in {} (or overlap the previous sentence)",
                g.start,
                g.end,
                txt.display()
            )));
        }
        last_end = g.end;
        gold.push(g);
    }
    Ok(Briefing {
        name: stem,
        path: txt.to_path_buf(),
        text,
        gold,
    })
}

/// Scores of one document.
#[derive(Debug, Clone, Serialize)]
pub struct DocScore {
    pub name: String,
    pub gold: usize,
    pub predicted: usize,
    /// Predicted statements whose offsets equal a gold sentence's exactly.
    pub exact: usize,
    pub label_accuracy: f64,
    pub speaker_accuracy: f64,
}

/// Speaker attribution against the gold `speaker` field: each gold sentence takes
/// the speaker of the predicted statement overlapping it most, compared with
/// [`crate::speaker::same_speaker`] (null matches only null; otherwise
/// case-insensitive, one name a whole-word suffix of the other, or a prefix of
/// at least two words).
#[derive(Debug, Clone, Serialize)]
pub struct SpeakerScore {
    pub sentences: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// Gold sentences with a named speaker, and how many of them matched.
    pub named: usize,
    pub named_correct: usize,
    /// Gold sentences with speaker null, and how many were predicted null.
    pub null: usize,
    pub null_correct: usize,
    pub mismatches: Vec<SpeakerMismatch>,
}

/// A gold sentence whose predicted speaker does not match.
#[derive(Debug, Clone, Serialize)]
pub struct SpeakerMismatch {
    pub document: String,
    pub text: String,
    pub gold: Option<String>,
    pub predicted: Option<String>,
}

/// End-to-end report over a set of briefings.
#[derive(Debug, Clone, Serialize)]
pub struct BriefingReport {
    pub documents: usize,
    pub gold_sentences: usize,
    pub predicted_segments: usize,
    pub boundary_precision: f64,
    pub boundary_recall: f64,
    pub boundary_f1: f64,
    /// Labels of gold sentences, each taking the label of the predicted statement
    /// that overlaps it most.
    pub labels: Report,
    pub speakers: SpeakerScore,
    pub per_document: Vec<DocScore>,
}

/// Segments and classifies each briefing with `model` and scores it against the gold.
pub fn evaluate_briefings(model: &Model, docs: &[Briefing]) -> Result<BriefingReport> {
    let mut y_true = Vec::new();
    let mut y_pred = Vec::new();
    let (mut n_gold, mut n_pred, mut n_exact) = (0, 0, 0);
    let mut per_document = Vec::new();
    let mut sp = SpeakerScore {
        sentences: 0,
        correct: 0,
        accuracy: 0.0,
        named: 0,
        named_correct: 0,
        null: 0,
        null_correct: 0,
        mismatches: Vec::new(),
    };
    for d in docs {
        let mut sp_correct = 0;
        let stmts = classify_document(model, &d.name, &d.text, Segmentation::Prose, None)?;
        let mut exact = 0;
        let mut correct = 0;
        for g in &d.gold {
            let t = model
                .labels
                .iter()
                .position(|l| *l == g.label)
                .ok_or_else(|| Error::UnknownLabel {
                    path: d.path.with_extension("gold.jsonl"),
                    line: 0,
                    label: g.label.clone(),
                    known: model.labels.join(", "),
                    suggestion: crate::error::suggest_label(&g.label, &model.labels),
                })?;
            if stmts.iter().any(|s| s.start == g.start && s.end == g.end) {
                exact += 1;
            }
            let best = stmts
                .iter()
                .map(|s| (s.end.min(g.end).saturating_sub(s.start.max(g.start)), s))
                .filter(|(o, _)| *o > 0)
                .max_by(|a, b| a.0.cmp(&b.0).then(b.1.start.cmp(&a.1.start)));
            let predicted_speaker = best.and_then(|(_, s)| s.speaker.as_deref());
            let ok = same_speaker(predicted_speaker, g.speaker.as_deref());
            sp.sentences += 1;
            if g.speaker.is_some() {
                sp.named += 1;
                sp.named_correct += ok as usize;
            } else {
                sp.null += 1;
                sp.null_correct += ok as usize;
            }
            if ok {
                sp.correct += 1;
                sp_correct += 1;
            } else {
                sp.mismatches.push(SpeakerMismatch {
                    document: d.name.clone(),
                    text: g.text.clone(),
                    gold: g.speaker.clone(),
                    predicted: predicted_speaker.map(str::to_string),
                });
            }
            let p = match best {
                Some((_, s)) => model
                    .labels
                    .iter()
                    .position(|l| *l == s.predicted)
                    .expect("model label"),
                None => training_majority(model),
            };
            if p == t {
                correct += 1;
            }
            y_true.push(t);
            y_pred.push(p);
        }
        n_gold += d.gold.len();
        n_pred += stmts.len();
        n_exact += exact;
        per_document.push(DocScore {
            name: d.name.clone(),
            gold: d.gold.len(),
            predicted: stmts.len(),
            exact,
            label_accuracy: correct as f64 / d.gold.len().max(1) as f64,
            speaker_accuracy: sp_correct as f64 / d.gold.len().max(1) as f64,
        });
    }
    sp.accuracy = sp.correct as f64 / sp.sentences.max(1) as f64;
    let p = n_exact as f64 / n_pred.max(1) as f64;
    let r = n_exact as f64 / n_gold.max(1) as f64;
    Ok(BriefingReport {
        documents: docs.len(),
        gold_sentences: n_gold,
        predicted_segments: n_pred,
        boundary_precision: p,
        boundary_recall: r,
        boundary_f1: if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 },
        labels: Report::new(&model.labels, &y_true, &y_pred, training_majority(model)),
        speakers: sp,
        per_document,
    })
}

impl BriefingReport {
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} documents, {} gold sentences, {} predicted statements\n\nsegmentation (exact offsets): precision {:.4}  recall {:.4}  F1 {:.4}\n\n",
            self.documents,
            self.gold_sentences,
            self.predicted_segments,
            self.boundary_precision,
            self.boundary_recall,
            self.boundary_f1
        );
        let w = self.per_document.iter().map(|d| d.name.len()).max().unwrap_or(8);
        s += &format!("{:<w$}  gold  predicted  exact  label-acc  speaker-acc\n", "document");
        for d in &self.per_document {
            s += &format!(
                "{:<w$}  {:>4}  {:>9}  {:>5}  {:>9.3}  {:>11.3}\n",
                d.name, d.gold, d.predicted, d.exact, d.label_accuracy, d.speaker_accuracy
            );
        }
        let sp = &self.speakers;
        s += &format!(
            "\nspeaker attribution: accuracy {:.4} ({} of {} gold sentences); named speakers {} of {}, null speakers {} of {}\n  (match: both null, or case-insensitive, ignoring articles and honorifics, one name a whole-word suffix of the other, e.g. Villacis ~ Andres Villacis, or a prefix of 2+ words)\n",
            sp.accuracy, sp.correct, sp.sentences, sp.named_correct, sp.named, sp.null_correct, sp.null
        );
        s += "\nlabels of gold sentences (end to end):\n\n";
        s += &self.labels.to_text();
        s
    }
}
