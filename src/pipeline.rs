//! The jobs the binary runs, as library functions: train on a corpus, evaluate
//! a model on a corpus, cross-validate, and classify documents.

use serde::Serialize;

use crate::calibration::{fit_temperature, reliability, Calibration, DEFAULT_BINS};
use crate::corpus::Corpus;
use crate::error::{Error, Result};
use crate::evaluation::{majority_class, mean_std, stratified_folds, CvReport, FoldScore, Report};
use crate::input::{DocumentStream, StreamSegment};
use crate::model::{Model, Prediction, Prepared, TrainParams};
use crate::segmenter::{push_capped, segment, Segment};
use crate::tokenizer::TextTokenizer;

/// Trains on a whole corpus and records its provenance in the model.
pub fn train_corpus(corpus: &Corpus, params: &TrainParams, tokenizer: Option<TextTokenizer>) -> Result<Model> {
    corpus_targets(corpus)?;
    let texts = corpus.texts();
    let ys: Vec<&str> = corpus.examples.iter().map(|e| e.label.as_str()).collect();
    let mut model = Model::train(&texts, &ys, params, tokenizer)?;
    model.info.corpus = corpus
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    model.info.corpus_sha256 = corpus.sha256.clone();
    Ok(model)
}

/// A misclassified statement.
#[derive(Debug, Clone, Serialize)]
pub struct Misclassified {
    pub line: usize,
    pub text: String,
    pub true_label: String,
    pub predicted: String,
    pub confidence: f64,
}

/// Maps corpus labels onto the model's; unknown labels are an error naming the line.
pub fn label_indices(model: &Model, corpus: &Corpus) -> Result<Vec<usize>> {
    corpus
        .examples
        .iter()
        .map(|e| {
            model
                .labels
                .iter()
                .position(|l| *l == e.label)
                .ok_or_else(|| Error::UnknownLabel {
                    path: corpus.path.clone(),
                    line: e.line,
                    label: e.label.clone(),
                    known: model.labels.join(", "),
                    suggestion: crate::error::suggest_label(&e.label, &model.labels),
                })
        })
        .collect()
}

/// What [`evaluate`] measures: the classification report, the misclassified
/// statements (most confident first) and the reliability table of the confidences.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub report: Report,
    pub errors: Vec<Misclassified>,
    pub calibration: Calibration,
}

/// Scores a model on a labeled corpus.
pub fn evaluate(model: &Model, corpus: &Corpus) -> Result<Evaluation> {
    let y = label_indices(model, corpus)?;
    let preds = corpus
        .examples
        .iter()
        .map(|e| model.predict(&e.text))
        .collect::<Result<Vec<Prediction>>>()?;
    let y_pred: Vec<usize> = preds.iter().map(|p| p.label).collect();
    let majority = training_majority(model);
    let report = Report::new(&model.labels, &y, &y_pred, majority);
    let confidences: Vec<f64> = preds.iter().map(|p| p.confidence()).collect();
    let correct: Vec<bool> = y_pred.iter().zip(&y).map(|(p, t)| p == t).collect();
    let calibration = reliability(&confidences, &correct, DEFAULT_BINS, model.temperature);
    let mut errors: Vec<Misclassified> = corpus
        .examples
        .iter()
        .zip(&preds)
        .zip(&y)
        .filter(|((_, p), &t)| p.label != t)
        .map(|((e, p), &t)| Misclassified {
            line: e.line,
            text: e.text.clone(),
            true_label: model.labels[t].clone(),
            predicted: model.labels[p.label].clone(),
            confidence: p.confidence(),
        })
        .collect();
    errors.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.line.cmp(&b.line)));
    Ok(Evaluation {
        report,
        errors,
        calibration,
    })
}

/// Result of [`calibrate`]: the fitted temperature and the ECE on the
/// calibration split before and after.
#[derive(Debug, Clone, Serialize)]
pub struct TemperatureFit {
    pub temperature: f64,
    pub n: usize,
    pub ece_before: f64,
    pub ece_after: f64,
    pub nll_before: f64,
    pub nll_after: f64,
}

/// Fits temperature scaling on a labeled split (normally dev) and stores the
/// temperature in the model. The arg-max does not change; labels chosen by tuned
/// decision thresholds can, so tune thresholds after calibrating.
pub fn calibrate(model: &mut Model, corpus: &Corpus) -> Result<TemperatureFit> {
    let y = label_indices(model, corpus)?;
    let logits = corpus
        .examples
        .iter()
        .map(|e| model.text_logits(&e.text))
        .collect::<Result<Vec<_>>>()?;
    let ece_at = |t: f64| {
        let mut conf = Vec::with_capacity(y.len());
        let mut ok = Vec::with_capacity(y.len());
        for (z, &c) in logits.iter().zip(&y) {
            let p = crate::model::prediction_from_logits(z.iter().map(|v| v / t).collect());
            conf.push(p.confidence());
            ok.push(p.label == c);
        }
        reliability(&conf, &ok, DEFAULT_BINS, t).ece
    };
    let t = fit_temperature(&logits, &y)?;
    let fit = TemperatureFit {
        temperature: t,
        n: y.len(),
        ece_before: ece_at(1.0),
        ece_after: ece_at(t),
        nll_before: crate::calibration::nll(&logits, &y, 1.0),
        nll_after: crate::calibration::nll(&logits, &y, t),
    };
    model.temperature = t;
    Ok(fit)
}

/// The most frequent label of the model's training data.
pub fn training_majority(model: &Model) -> usize {
    let counts = &model.info.label_counts;
    let mut best = 0;
    for (i, l) in model.labels.iter().enumerate() {
        if counts.get(l).copied().unwrap_or(0) > counts.get(&model.labels[best]).copied().unwrap_or(0) {
            best = i;
        }
    }
    best
}

/// Label indices of a corpus against its own sorted label set; errors when it
/// has fewer than two labels.
fn corpus_targets(corpus: &Corpus) -> Result<(Vec<String>, Vec<usize>)> {
    let labels = corpus.labels();
    if labels.len() < 2 {
        return Err(Error::TooFewClasses {
            path: corpus.path.clone(),
            n: labels.len(),
            labels: labels.join(", "),
        });
    }
    let y = corpus
        .examples
        .iter()
        .map(|e| labels.iter().position(|l| *l == e.label).expect("label in set"))
        .collect();
    Ok((labels, y))
}

/// Stratified K-fold cross-validation. Every fold trains its own tokenizer and
/// feature space on its training part only. `progress(done, total)` is called
/// after each fold.
pub fn cross_validate(
    corpus: &Corpus,
    params: &TrainParams,
    k: usize,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CvReport> {
    params.check()?;
    let (labels, y) = corpus_targets(corpus)?;
    for (label, n) in corpus.label_counts() {
        if n < k {
            return Err(Error::Corpus {
                path: corpus.path.clone(),
                message: format!("label {label:?} has {n} examples, fewer than the {k} folds; use a smaller --cv"),
            });
        }
    }
    let folds = stratified_folds(&y, labels.len(), k, params.seed)?;
    let names = (1..=k).map(|f| f.to_string()).collect();
    let scheme = format!("{k}-fold stratified cross-validation (seed {})", params.seed);
    run_folds(corpus, params, &labels, &y, &folds, names, scheme, progress)
}

/// Leave-one-group-out cross-validation over the values of a corpus field
/// (e.g. `register`): each fold tests on one value and trains on all others, an
/// estimate of how the model does on a kind of text it has not seen.
pub fn leave_one_group_out(
    corpus: &Corpus,
    params: &TrainParams,
    field: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CvReport> {
    params.check()?;
    let (labels, y) = corpus_targets(corpus)?;
    let mut names: Vec<String> = Vec::new();
    let mut folds = Vec::with_capacity(y.len());
    for e in &corpus.examples {
        let Some(v) = e.fields.get(field) else {
            return Err(Error::Parse {
                path: corpus.path.clone(),
                line: e.line,
                message: format!("no field {field:?} to leave out"),
            });
        };
        let i = match names.iter().position(|n| n == v) {
            Some(i) => i,
            None => {
                names.push(v.clone());
                names.len() - 1
            }
        };
        folds.push(i);
    }
    if names.len() < 2 {
        return Err(Error::Corpus {
            path: corpus.path.clone(),
            message: format!(
                "field {field:?} has {} value(s); leaving one out needs at least 2",
                names.len()
            ),
        });
    }
    // Folds in name order, so the report does not depend on corpus order.
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let rank: Vec<usize> = {
        let mut r = vec![0; names.len()];
        for (pos, &i) in order.iter().enumerate() {
            r[i] = pos;
        }
        r
    };
    let folds: Vec<usize> = folds.iter().map(|&f| rank[f]).collect();
    let names: Vec<String> = order.iter().map(|&i| names[i].clone()).collect();
    let scheme = format!("leave-one-{field}-out cross-validation");
    run_folds(corpus, params, &labels, &y, &folds, names, scheme, progress)
}

#[allow(clippy::too_many_arguments)]
fn run_folds(
    corpus: &Corpus,
    params: &TrainParams,
    labels: &[String],
    y: &[usize],
    folds: &[usize],
    names: Vec<String>,
    scheme: String,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<CvReport> {
    let k = names.len();
    let texts: Vec<String> = corpus.examples.iter().map(|e| e.text.clone()).collect();
    let mut y_pred = vec![0usize; y.len()];
    let mut scores = Vec::new();
    for (f, name) in names.iter().enumerate() {
        let train_idx: Vec<usize> = (0..y.len()).filter(|&i| folds[i] != f).collect();
        let test_idx: Vec<usize> = (0..y.len()).filter(|&i| folds[i] == f).collect();
        let train_texts: Vec<&str> = train_idx.iter().map(|&i| texts[i].as_str()).collect();
        let tokenizer = TextTokenizer::train(&train_texts, params.vocab_size, 2)?;
        let tokens = train_idx
            .iter()
            .map(|&i| tokenizer.encode_cached(&texts[i]))
            .collect::<Result<Vec<_>>>()?;
        let prepared = Prepared {
            tokens,
            texts: train_texts.iter().map(|s| s.to_string()).collect(),
            y: train_idx.iter().map(|&i| y[i]).collect(),
            labels: labels.to_vec(),
        };
        let all: Vec<usize> = (0..train_idx.len()).collect();
        let model = Model::fit_prepared(&prepared, &all, params, tokenizer)?;
        let fold_true: Vec<usize> = test_idx.iter().map(|&i| y[i]).collect();
        let mut fold_pred = Vec::with_capacity(test_idx.len());
        for &i in &test_idx {
            let p = model.predict(&texts[i])?.label;
            y_pred[i] = p;
            fold_pred.push(p);
        }
        let maj = majority_class(&prepared.y, labels.len());
        let r = Report::new(labels, &fold_true, &fold_pred, maj);
        scores.push(FoldScore {
            fold: f,
            name: name.clone(),
            n_train: train_idx.len(),
            n_test: test_idx.len(),
            accuracy: r.accuracy,
            macro_f1: r.macro_f1,
        });
        progress(f + 1, k);
    }
    let (accuracy_mean, accuracy_std) = mean_std(&scores.iter().map(|s| s.accuracy).collect::<Vec<_>>());
    let (macro_f1_mean, macro_f1_std) = mean_std(&scores.iter().map(|s| s.macro_f1).collect::<Vec<_>>());
    let pooled = Report::new(labels, y, &y_pred, majority_class(y, labels.len()));
    Ok(CvReport {
        scheme,
        k,
        seed: params.seed,
        folds: scores,
        accuracy_mean,
        accuracy_std,
        macro_f1_mean,
        macro_f1_std,
        pooled,
    })
}

/// Scores a model separately on each value of a corpus field (e.g. `register`).
pub fn evaluate_by_group(model: &Model, corpus: &Corpus, field: &str) -> Result<Vec<(String, Report)>> {
    let y = label_indices(model, corpus)?;
    let majority = training_majority(model);
    let mut groups: std::collections::BTreeMap<String, (Vec<usize>, Vec<usize>)> = Default::default();
    for (e, &t) in corpus.examples.iter().zip(&y) {
        let g = e.fields.get(field).cloned().unwrap_or_else(|| "(none)".to_string());
        let p = model.predict(&e.text)?.label;
        let entry = groups.entry(g).or_default();
        entry.0.push(t);
        entry.1.push(p);
    }
    Ok(groups
        .into_iter()
        .map(|(g, (t, p))| {
            let r = Report::new(&model.labels, &t, &p, majority);
            (g, r)
        })
        .collect())
}

/// How input text is cut into statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segmentation {
    /// Sentence segmentation of raw prose.
    Prose,
    /// One statement per non-blank line.
    Lines,
}

/// One classified statement.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub file: String,
    pub index: usize,
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// Transcript turn label the statement falls under, if any.
    pub turn: Option<String>,
    /// The predicted label, or `uncertain` when below the confidence threshold.
    pub label: String,
    /// The most probable label, also when `label` is `uncertain`.
    pub predicted: String,
    pub confidence: f64,
    /// Probabilities in model label order.
    pub probabilities: Vec<f64>,
    /// The person or body the statement is attributed to (see [`crate::speaker`]).
    pub speaker: Option<String>,
    /// Feature contributions to the predicted label's logit, with `--explain`.
    pub explanation: Option<Explanation>,
}

/// One feature's signed contribution (weight x value) to a logit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub feature: String,
    pub contribution: f64,
}

/// Why the model chose a label: the logit of the predicted label decomposed
/// exactly as `intercept + sum(features) + rest`, where `features` are the
/// largest contributions by absolute value and `rest` is the sum of all the
/// others (0 when every non-zero feature is listed). The probability is
/// softmax(logits / temperature).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub label: String,
    pub logit: f64,
    pub intercept: f64,
    pub features: Vec<Contribution>,
    pub rest: f64,
    /// Number of non-zero features of the statement.
    pub n_features: usize,
    pub temperature: f64,
}

/// Explains the score of label `c` for `text` with its `top` largest contributions.
pub fn explain(model: &Model, text: &str, c: usize, top: usize) -> Result<Explanation> {
    let all = model.explain(text, c, usize::MAX)?;
    let logit = model.text_logits(text)?[c];
    let n_features = all.len();
    let rest: f64 = all.iter().skip(top).map(|x| x.1).sum();
    Ok(Explanation {
        label: model.labels[c].clone(),
        logit,
        intercept: model.intercept[c],
        features: all
            .into_iter()
            .take(top)
            .map(|(feature, contribution)| Contribution { feature, contribution })
            .collect(),
        rest,
        n_features,
        temperature: model.temperature,
    })
}

/// What [`classify_with`] does besides labelling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassifyOptions {
    pub mode: Segmentation,
    /// Label statements below this confidence [`UNCERTAIN`].
    pub min_confidence: Option<f64>,
    /// Explain each statement with this many features.
    pub explain: Option<usize>,
    /// Worker threads; results keep the input order whatever the number.
    pub threads: usize,
    /// Statements classified (and attributed) together when streaming.
    pub batch: usize,
}

impl Default for ClassifyOptions {
    fn default() -> Self {
        ClassifyOptions {
            mode: Segmentation::Prose,
            min_confidence: None,
            explain: None,
            threads: 1,
            batch: 256,
        }
    }
}

/// Label given to statements below `--min-confidence`.
pub const UNCERTAIN: &str = "uncertain";

/// Splits a document into segments.
pub fn split(text: &str, mode: Segmentation) -> Vec<Segment> {
    match mode {
        Segmentation::Prose => segment(text),
        Segmentation::Lines => {
            let mut out = Vec::new();
            let mut off = 0;
            for line in text.split_inclusive('\n') {
                let body = line.trim_end_matches(['\n', '\r']);
                let lead = body.len() - body.trim_start().len();
                let trimmed = body.trim();
                if !trimmed.is_empty() {
                    push_capped(text, off + lead, off + lead + trimmed.len(), &None, &mut out);
                }
                off += line.len();
            }
            out
        }
    }
}

/// Segments and classifies one document.
pub fn classify_document(
    model: &Model,
    file: &str,
    text: &str,
    mode: Segmentation,
    min_confidence: Option<f64>,
) -> Result<Vec<Statement>> {
    classify_with(
        model,
        file,
        text,
        &ClassifyOptions {
            mode,
            min_confidence,
            explain: None,
            ..ClassifyOptions::default()
        },
    )
}

/// Segments, classifies and attributes one document; explains each statement on request.
pub fn classify_with(model: &Model, file: &str, text: &str, opts: &ClassifyOptions) -> Result<Vec<Statement>> {
    let segments = split(text, opts.mode);
    let speakers = match opts.mode {
        Segmentation::Prose => crate::speaker::attribute(text, &segments),
        Segmentation::Lines => vec![None; segments.len()],
    };
    let segs: Vec<StreamSegment> = segments
        .iter()
        .map(|s| StreamSegment {
            start: s.start,
            end: s.end,
            text: s.text(text).to_string(),
            turn: s.turn.clone(),
            lead: String::new(),
        })
        .collect();
    classify_segments(model, file, &segs, &speakers, 0, opts)
}

/// The label shown for a prediction (`uncertain` below `min_confidence`), the
/// model's label either way, and its confidence.
pub fn decide(model: &Model, p: &Prediction, min_confidence: Option<f64>) -> (String, String, f64) {
    let predicted = model.labels[p.label].clone();
    let confidence = p.confidence();
    let label = match min_confidence {
        Some(t) if confidence < t => UNCERTAIN.to_string(),
        _ => predicted.clone(),
    };
    (label, predicted, confidence)
}

/// `f` over `items` on up to `threads` scoped threads (contiguous shares); the
/// results are in input order.
pub fn map_ordered<T, U, F>(items: &[T], threads: usize, f: F) -> Result<Vec<U>>
where
    T: Sync,
    U: Send,
    F: Fn(usize, &T) -> Result<U> + Sync,
{
    let threads = threads.max(1).min(items.len().max(1));
    if threads == 1 {
        return items.iter().enumerate().map(|(i, x)| f(i, x)).collect();
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    let parts: Vec<Result<Vec<U>>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .enumerate()
            .map(|(c, chunk)| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, x)| f(c * per + i, x))
                        .collect::<Result<Vec<U>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Invalid("a classification thread panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// Classifies one segment into a statement whose text is `text` (the segment's,
/// cloned or moved by the caller).
fn classify_one(
    model: &Model,
    file: &str,
    index: usize,
    seg: &StreamSegment,
    text: String,
    speaker: Option<&Option<String>>,
    opts: &ClassifyOptions,
) -> Result<Statement> {
    let p = model.predict(&text)?;
    let explanation = opts.explain.map(|k| explain(model, &text, p.label, k)).transpose()?;
    let (label, predicted, confidence) = decide(model, &p, opts.min_confidence);
    Ok(Statement {
        file: file.to_string(),
        index,
        start: seg.start,
        end: seg.end,
        text,
        turn: seg.turn.clone(),
        label,
        predicted,
        confidence,
        probabilities: p.probabilities,
        speaker: speaker.cloned().flatten(),
        explanation,
    })
}

/// Classifies segments on up to `threads` threads; the result is in input order.
pub fn classify_segments(
    model: &Model,
    file: &str,
    segs: &[StreamSegment],
    speakers: &[Option<String>],
    first_index: usize,
    opts: &ClassifyOptions,
) -> Result<Vec<Statement>> {
    map_ordered(segs, opts.threads, |i, seg| {
        classify_one(
            model,
            file,
            first_index + i,
            seg,
            seg.text.clone(),
            speakers.get(i),
            opts,
        )
    })
}

/// Speakers of a batch of streamed statements: the batch is laid out again as a
/// document (each statement after the text that preceded it: whitespace and
/// turn labels) so [`crate::speaker::attribute`] sees what it sees in a whole
/// file. Names carry within a batch (`ClassifyOptions::batch` statements), not across.
fn attribute_batch(segs: &[StreamSegment]) -> Vec<Option<String>> {
    let mut doc = String::new();
    let mut local = Vec::with_capacity(segs.len());
    for s in segs {
        doc.push_str(&s.lead);
        let start = doc.len();
        doc.push_str(&s.text);
        local.push(Segment {
            start,
            end: doc.len(),
            turn: s.turn.clone(),
        });
    }
    crate::speaker::attribute(&doc, &local)
}

/// Classifies a document stream batch by batch: `sink` gets each batch of
/// statements in input order as soon as it is classified, `warn` each warning of
/// the input. Returns the number of statements.
pub fn classify_stream<R: std::io::BufRead + Send>(
    model: &Model,
    stream: &mut DocumentStream<R>,
    opts: &ClassifyOptions,
    sink: &mut dyn FnMut(&[Statement]) -> Result<()>,
    warn: &mut dyn FnMut(&str),
) -> Result<usize> {
    classify_stream_rendered(
        model,
        stream,
        opts,
        &|_: &[Statement]| Ok(()),
        &mut |b, ()| sink(b),
        warn,
    )
}

/// A batch of statements to classify, numbered in input order.
struct Job {
    seq: usize,
    first_index: usize,
    segs: Vec<StreamSegment>,
    warnings: Vec<String>,
}

/// What comes back to the writer, numbered in input order: a classified and
/// rendered batch, or the end of the input (possibly an input error).
struct Done<T> {
    seq: usize,
    warnings: Vec<String>,
    body: DoneBody<T>,
}

enum DoneBody<T> {
    Batch(Result<(Vec<Statement>, T)>),
    End(Result<()>),
}

/// [`classify_stream`] with a `render` step (e.g. formatting the output bytes)
/// that runs with the classification, on the worker threads when
/// `opts.threads > 1`; `sink` gets each batch and its rendering in input order.
///
/// With one thread everything runs on the calling thread. With more, a reader
/// thread reads and splits the input, `threads` workers classify and render
/// whole batches, and the calling thread only hands the results to `sink` in
/// order, so reading and writing overlap with classification. At most
/// `4 x threads` batches are in flight (read and not yet written), so memory stays
/// bounded whatever the input size.
pub fn classify_stream_rendered<R, T, F>(
    model: &Model,
    stream: &mut DocumentStream<R>,
    opts: &ClassifyOptions,
    render: &F,
    sink: &mut dyn FnMut(&[Statement], T) -> Result<()>,
    warn: &mut dyn FnMut(&str),
) -> Result<usize>
where
    R: std::io::BufRead + Send,
    T: Send,
    F: Fn(&[Statement]) -> Result<T> + Sync,
{
    let name = stream.name().to_string();
    let one = ClassifyOptions { threads: 1, ..*opts };
    // The batch's texts move into its statements (no copy per statement).
    let job = |j: &mut Job| -> Result<(Vec<Statement>, T)> {
        let speakers = match opts.mode {
            Segmentation::Prose => attribute_batch(&j.segs),
            Segmentation::Lines => vec![None; j.segs.len()],
        };
        let stmts = j
            .segs
            .iter_mut()
            .enumerate()
            .map(|(i, seg)| {
                let text = std::mem::take(&mut seg.text);
                classify_one(model, &name, j.first_index + i, seg, text, speakers.get(i), &one)
            })
            .collect::<Result<Vec<Statement>>>()?;
        let rendered = render(&stmts)?;
        Ok((stmts, rendered))
    };
    if opts.threads <= 1 {
        let mut done = 0;
        let mut reader = BatchReader::new(opts.batch);
        loop {
            let (jb, end) = reader.next(stream);
            for w in jb.as_ref().map(|j| &j.warnings[..]).unwrap_or(&[]) {
                warn(w);
            }
            if let Some(mut j) = jb {
                let (stmts, rendered) = job(&mut j)?;
                done += stmts.len();
                sink(&stmts, rendered)?;
            }
            match end {
                Some(r) => {
                    for w in &reader.warnings {
                        warn(w);
                    }
                    r?;
                    return Ok(done);
                }
                None => continue,
            }
        }
    }
    let threads = opts.threads;
    let in_flight = 4 * threads;
    let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job>(in_flight);
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Done<T>>(in_flight + 1);
    // One credit per batch in flight: the reader takes one before sending a
    // batch, the writer gives it back once the batch is written.
    let (credit_tx, credit_rx) = std::sync::mpsc::sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        credit_tx.send(()).expect("credit channel has room");
    }
    let job_rx = std::sync::Arc::new(std::sync::Mutex::new(job_rx));
    std::thread::scope(|s| {
        let reader_tx = done_tx.clone();
        let batch = opts.batch;
        s.spawn(move || {
            let mut reader = BatchReader::new(batch);
            let mut seq = 0;
            loop {
                let (jb, end) = reader.next(stream);
                if let Some(mut j) = jb {
                    // Stop when the writer has gone (an error or a closed output).
                    if credit_rx.recv().is_err() {
                        return;
                    }
                    j.seq = seq;
                    seq += 1;
                    if job_tx.send(j).is_err() {
                        return;
                    }
                }
                if let Some(r) = end {
                    let _ = reader_tx.send(Done {
                        seq,
                        warnings: std::mem::take(&mut reader.warnings),
                        body: DoneBody::End(r),
                    });
                    return;
                }
            }
        });
        for _ in 0..threads {
            let rx = std::sync::Arc::clone(&job_rx);
            let tx = done_tx.clone();
            let job = &job;
            s.spawn(move || loop {
                let next = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok(mut j) = next else { return };
                // A panic becomes this batch's error, so the writer is not left waiting for it.
                let body = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut j)))
                    .unwrap_or_else(|_| Err(Error::Invalid("a classification thread panicked".into())));
                let done = Done {
                    seq: j.seq,
                    warnings: std::mem::take(&mut j.warnings),
                    body: DoneBody::Batch(body),
                };
                if tx.send(done).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        drop(job_rx);
        write_in_order(done_rx, credit_tx, sink, warn)
    })
}

/// Hands finished batches to `sink` in input order; returns the number of
/// statements. Dropping the channels on return stops the reader and workers.
fn write_in_order<T>(
    done_rx: std::sync::mpsc::Receiver<Done<T>>,
    credit_tx: std::sync::mpsc::SyncSender<()>,
    sink: &mut dyn FnMut(&[Statement], T) -> Result<()>,
    warn: &mut dyn FnMut(&str),
) -> Result<usize> {
    let mut held: std::collections::BTreeMap<usize, Done<T>> = Default::default();
    let mut next = 0;
    let mut n = 0;
    loop {
        let d = match held.remove(&next) {
            Some(d) => d,
            None => {
                let d = done_rx
                    .recv()
                    .map_err(|_| Error::Invalid("a classification thread panicked".into()))?;
                if d.seq != next {
                    held.insert(d.seq, d);
                    continue;
                }
                d
            }
        };
        next += 1;
        for w in &d.warnings {
            warn(w);
        }
        match d.body {
            DoneBody::Batch(r) => {
                let (stmts, rendered) = r?;
                n += stmts.len();
                sink(&stmts, rendered)?;
                let _ = credit_tx.send(());
            }
            DoneBody::End(r) => {
                r?;
                return Ok(n);
            }
        }
    }
}

/// Gathers the stream's statements into batches of at least `batch` (the last
/// may be smaller), with the warnings of the input read for them.
struct BatchReader {
    batch: usize,
    pending: Vec<StreamSegment>,
    first_index: usize,
    warnings: Vec<String>,
}

impl BatchReader {
    fn new(batch: usize) -> Self {
        BatchReader {
            batch: batch.max(1),
            pending: Vec::new(),
            first_index: 0,
            warnings: Vec::new(),
        }
    }

    /// Reads until a batch is full or the input ends: the batch, if any, and
    /// `Some` result at the end of the input (an input error ends it too; the
    /// statements read since the last full batch are then dropped).
    fn next<R: std::io::BufRead>(&mut self, stream: &mut DocumentStream<R>) -> (Option<Job>, Option<Result<()>>) {
        loop {
            let next = stream.next_batch();
            self.warnings.extend(stream.take_warnings());
            let end = match next {
                Ok(Some(b)) => {
                    self.pending.extend(b);
                    false
                }
                Ok(None) => true,
                Err(e) => return (None, Some(Err(e))),
            };
            let job = if self.pending.len() >= self.batch || (end && !self.pending.is_empty()) {
                let segs = std::mem::take(&mut self.pending);
                let first_index = self.first_index;
                self.first_index += segs.len();
                Some(Job {
                    seq: 0,
                    first_index,
                    segs,
                    warnings: std::mem::take(&mut self.warnings),
                })
            } else {
                None
            };
            if job.is_some() || end {
                return (job, end.then_some(Ok(())));
            }
        }
    }
}

/// The most confident statement of a label in a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopStatement {
    pub index: usize,
    pub start: usize,
    pub end: usize,
    pub confidence: f64,
    pub speaker: Option<String>,
    pub text: String,
}

/// Count, share and most confident statement of one label in a document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelSummary {
    pub label: String,
    pub cameo: Option<&'static str>,
    pub count: usize,
    pub share: f64,
    pub top: Option<TopStatement>,
}

/// Per-document summary of `classify --summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentSummary {
    pub file: String,
    pub statements: usize,
    /// One entry per model label (plus `uncertain` when present), in model label order.
    pub labels: Vec<LabelSummary>,
}

/// Counts, shares and the most confident statement of each label (by `label`,
/// so statements below `--min-confidence` count as `uncertain`).
pub fn summarize(file: &str, statements: &[Statement], labels: &[String]) -> DocumentSummary {
    let mut names: Vec<String> = labels.to_vec();
    if statements.iter().any(|s| s.label == UNCERTAIN) {
        names.push(UNCERTAIN.to_string());
    }
    let n = statements.len();
    let labels = names
        .into_iter()
        .map(|l| {
            let of: Vec<&Statement> = statements.iter().filter(|s| s.label == l).collect();
            let top = of
                .iter()
                .copied()
                .fold(None::<&Statement>, |best, s| match best {
                    Some(b) if b.confidence >= s.confidence => Some(b),
                    _ => Some(s),
                })
                .map(|s| TopStatement {
                    index: s.index,
                    start: s.start,
                    end: s.end,
                    confidence: s.confidence,
                    speaker: s.speaker.clone(),
                    text: s.text.clone(),
                });
            LabelSummary {
                cameo: crate::output::cameo_root(&l),
                count: of.len(),
                share: if n == 0 { 0.0 } else { of.len() as f64 / n as f64 },
                label: l,
                top,
            }
        })
        .collect();
    DocumentSummary {
        file: file.to_string(),
        statements: n,
        labels,
    }
}
