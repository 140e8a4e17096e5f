//! `demarche`: thin command-line front of the library. Parses arguments, calls
//! the pipeline, prints. Exit codes: 0 ok, 1 error, 2 usage error.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use demarche::corpus::{Corpus, ReadOptions};
use demarche::features::FeatureConfig;
use demarche::input::{self, StreamOptions};
use demarche::model::{default_model_path, write_atomic, Algorithm, AtomicFile, Model, TrainParams};
use demarche::output;
use demarche::pipeline::{self, ClassifyOptions, Segmentation};
use demarche::tokenizer::TextTokenizer;

#[derive(Parser)]
#[command(
    name = "demarche",
    version,
    about = "Label what government statements do: commitment, warning, reconciliation_appeal or neutral"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Learn a model from a labeled corpus (JSONL or CSV with text and label).
    Train(TrainCmd),
    /// Split briefings into statements and label each one.
    Classify(ClassifyCmd),
    /// Accuracy report of a model on a labeled corpus, or cross-validation.
    Eval(EvalCmd),
    /// Model card: labels, training corpus, hyperparameters, stored metrics, top features.
    Inspect(InspectCmd),
    /// Rank unlabeled statements by model uncertainty and write JSONL ready for annotation.
    Suggest(SuggestCmd),
    /// Checks of the project corpus.
    #[command(subcommand)]
    Corpus(CorpusCmd),
}

#[derive(Args)]
struct InspectCmd {
    /// Model file (default: the shipped model in models/).
    model: Option<PathBuf>,
    /// Features listed per label.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Print the card as JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StrategyArg {
    Entropy,
    Margin,
}

#[derive(Args)]
struct SuggestCmd {
    /// Model file (default: the shipped model in models/).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Number of statements to suggest.
    #[arg(long, short, default_value_t = 20)]
    n: usize,
    /// Uncertainty measure: entropy of the probabilities, or margin between the two most probable labels.
    #[arg(long, value_enum, default_value = "entropy")]
    strategy: StrategyArg,
    /// One statement per line instead of sentence segmentation.
    #[arg(long)]
    lines: bool,
    /// Statements at least this similar (word-set Jaccard) to a better-ranked one are skipped.
    #[arg(long, default_value_t = 0.8, value_parser = parse_probability)]
    dedup_threshold: f64,
    /// Write to this file (atomically) instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Input files; "-" reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

#[derive(Subcommand)]
enum CorpusCmd {
    /// Check train/dev/test.jsonl of a corpus folder and print its statistics table.
    Check {
        /// Folder with train.jsonl, dev.jsonl and test.jsonl.
        #[arg(long, default_value = "datasets")]
        dir: PathBuf,
    },
}

#[derive(Args, Clone)]
struct HyperArgs {
    /// Estimator: logistic (multinomial logistic regression) or naive-bayes.
    #[arg(long, default_value = "logistic", value_parser = parse_algorithm)]
    algorithm: Algorithm,
    /// L2 penalty of the logistic regression (like scikit-learn's 1/C).
    #[arg(long, default_value_t = TrainParams::default().alpha)]
    alpha: f64,
    /// Additive smoothing of naive Bayes.
    #[arg(long, default_value_t = TrainParams::default().nb_alpha)]
    nb_alpha: f64,
    /// Iterations of the L-BFGS solver.
    #[arg(long, default_value_t = TrainParams::default().max_iterations)]
    max_iterations: u64,
    /// N-gram features kept (highest chi-squared).
    #[arg(long, default_value_t = TrainParams::default().max_features)]
    max_features: usize,
    /// Minimum number of statements an n-gram must occur in.
    #[arg(long, default_value_t = TrainParams::default().min_df)]
    min_df: usize,
    /// Vocabulary size of the tokenizer trained from the corpus.
    #[arg(long, default_value_t = TrainParams::default().vocab_size)]
    vocab_size: usize,
    /// Longest token n-gram (1 or 2).
    #[arg(long, default_value_t = FeatureConfig::default().ngram_max)]
    ngram_max: u8,
    /// Leave out the stance cue features.
    #[arg(long)]
    no_cues: bool,
    /// Leave out the core-clause structure features.
    #[arg(long)]
    no_structure: bool,
    /// Weight of the stance cue and structure features.
    #[arg(long, default_value_t = FeatureConfig::default().cue_weight)]
    cue_weight: f64,
    /// Seed of everything random (cross-validation folds).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Refuse to train when the dense feature matrix would exceed this many MiB.
    #[arg(long, default_value_t = TrainParams::default().max_memory_mb)]
    max_memory: usize,
}

fn parse_algorithm(s: &str) -> std::result::Result<Algorithm, String> {
    s.parse().map_err(|e: demarche::Error| e.to_string())
}

impl HyperArgs {
    fn params(&self) -> TrainParams {
        TrainParams {
            algorithm: self.algorithm,
            alpha: self.alpha,
            nb_alpha: self.nb_alpha,
            max_iterations: self.max_iterations,
            max_features: self.max_features,
            min_df: self.min_df,
            vocab_size: self.vocab_size,
            features: FeatureConfig {
                ngram_max: self.ngram_max,
                cues: !self.no_cues,
                structure: !self.no_structure,
                cue_weight: self.cue_weight,
                ..FeatureConfig::default()
            },
            seed: self.seed,
            max_memory_mb: self.max_memory,
        }
    }
}

#[derive(Args)]
struct TrainCmd {
    /// Training corpus (.jsonl or .csv).
    #[arg(long)]
    data: PathBuf,
    /// Development corpus scored after training (its metrics are stored in the model).
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Where to write the model.
    #[arg(long)]
    out: PathBuf,
    /// Test corpus scored after training (its metrics are stored in the model, for `inspect`).
    #[arg(long)]
    test: Option<PathBuf>,
    /// Fit temperature scaling on --dev and store the temperature in the model.
    #[arg(long, requires = "dev")]
    calibrate: bool,
    /// Use this tokenizer.json instead of training one from the corpus.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Keep the first label when the same text carries two labels.
    #[arg(long)]
    allow_conflicts: bool,
    /// Tune per-label decision thresholds on --dev (a stance label below its
    /// threshold falls back to neutral) and store them in the model.
    #[arg(long, requires = "dev")]
    tune_thresholds: bool,
    #[command(flatten)]
    hyper: HyperArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutFormat {
    Table,
    Jsonl,
    Csv,
}

#[derive(Args)]
struct ClassifyCmd {
    /// Model file (default: the shipped model in models/).
    #[arg(long)]
    model: Option<PathBuf>,
    /// One statement per line instead of sentence segmentation.
    #[arg(long)]
    lines: bool,
    /// Output format (default: table on a terminal, jsonl otherwise).
    #[arg(long, value_enum)]
    format: Option<OutFormat>,
    /// Label statements below this confidence as "uncertain".
    #[arg(long, value_parser = parse_probability)]
    min_confidence: Option<f64>,
    /// Write results to this file (atomically) instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Refuse input that is not valid UTF-8 (default: replace bad bytes with U+FFFD and warn).
    #[arg(long)]
    strict: bool,
    /// Report a bad input file and go on with the others; exit 1 at the end.
    #[arg(long)]
    keep_going: bool,
    /// Classification threads (output order is input order whatever the number).
    #[arg(long, default_value_t = default_threads(), value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// Explain each statement with its K largest feature contributions (default 5;
    /// write --explain=K, or put the flag after the files, to give K).
    #[arg(long, value_name = "K", num_args = 0..=1, default_missing_value = "5")]
    explain: Option<usize>,
    /// Print one summary per document (counts, shares, most confident statement per label)
    /// instead of the statements; as a table or JSON lines.
    #[arg(long, conflicts_with = "explain")]
    summary: bool,
    /// Line filter for Spark TRANSFORM / rdd.pipe / Hadoop Streaming: one tab-separated
    /// line in, one line out (label, confidence, probabilities in model label order),
    /// flushed per batch; reads standard input only.
    #[arg(long, conflicts_with_all = ["lines", "format", "output", "summary", "explain", "min_confidence", "files"])]
    stream: bool,
    /// With --stream: the 1-based tab-separated field holding the statement.
    #[arg(long, default_value_t = 1, requires = "stream")]
    text_field: usize,
    /// With --stream: copy each input line in front of its results.
    #[arg(long, requires = "stream")]
    passthrough: bool,
    /// Input files; "-" or none reads standard input.
    files: Vec<PathBuf>,
}

fn default_threads() -> u16 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4) as u16)
}

fn parse_temperature(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} is not a positive number"))
    }
}

fn parse_probability(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not between 0 and 1"))
    }
}

#[derive(Args)]
struct EvalCmd {
    /// Model file (default: the shipped model in models/); not used with --cv.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Labeled corpus to score (.jsonl or .csv).
    #[arg(long, required_unless_present = "briefings", conflicts_with = "briefings")]
    data: Option<PathBuf>,
    /// Score whole documents: a folder of NAME.txt briefings with NAME.gold.jsonl files.
    #[arg(long, conflicts_with = "cv")]
    briefings: Option<PathBuf>,
    /// Also write the report as JSON to this file ("-" for stdout).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Show the N most confident misclassifications.
    #[arg(long, default_value_t = 10)]
    errors: usize,
    /// Score with this softmax temperature instead of the model's (1 = uncalibrated),
    /// to compare ECE before and after `train --calibrate`.
    #[arg(long, value_parser = parse_temperature)]
    temperature: Option<f64>,
    /// Also write a self-contained HTML report (inline SVG charts) to this file.
    #[arg(long, value_name = "REPORT.html", conflicts_with_all = ["cv", "briefings"])]
    html: Option<PathBuf>,
    /// Stratified K-fold cross-validation on --data instead of scoring a model.
    #[arg(long)]
    cv: Option<usize>,
    /// Leave-one-group-out cross-validation over the values of this corpus field
    /// (e.g. register); with --cv, both are reported.
    #[arg(long, conflicts_with = "briefings")]
    leave_out: Option<String>,
    /// Also report metrics per value of this corpus field (e.g. register).
    #[arg(long, conflicts_with_all = ["cv", "leave_out"])]
    group_by: Option<String>,
    /// Keep the first label when the same text carries two labels.
    #[arg(long)]
    allow_conflicts: bool,
    #[command(flatten)]
    hyper: HyperArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(c) => train(c),
        Command::Classify(c) => classify(c),
        Command::Eval(c) => eval(c),
        Command::Inspect(c) => inspect(c),
        Command::Suggest(c) => suggest(c),
        Command::Corpus(CorpusCmd::Check { dir }) => corpus_check(&dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("demarche: error: {}", message(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, without repeating a cause that the
/// message before it already ends with (library errors name their cause).
fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if msg.ends_with(&s) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s);
    }
    msg
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn read_corpus(path: &Path, allow_conflicts: bool) -> Result<Corpus> {
    let corpus = Corpus::read_with(path, ReadOptions { allow_conflicts })?;
    if let Some((line, kept)) = corpus.conflicts_dropped.first() {
        eprintln!(
            "demarche: warning: {}: {} row(s) dropped whose text has another label on an earlier line (first: line {line}, label kept from line {kept})",
            path.display(),
            corpus.conflicts_dropped.len()
        );
    }
    Ok(corpus)
}

fn train(c: TrainCmd) -> Result<()> {
    let params = c.hyper.params();
    params.check()?;
    let corpus = read_corpus(&c.data, c.allow_conflicts)?;
    let dev = c
        .dev
        .as_deref()
        .map(|p| read_corpus(p, c.allow_conflicts))
        .transpose()?;
    let tokenizer = c.tokenizer.as_deref().map(TextTokenizer::from_file).transpose()?;
    let counts = corpus.label_counts();
    if counts.len() < 2 {
        return Err(demarche::Error::TooFewClasses {
            path: c.data.clone(),
            n: counts.len(),
            labels: counts.keys().cloned().collect::<Vec<_>>().join(", "),
        }
        .into());
    }
    if let Some(dev) = &dev {
        for e in &dev.examples {
            if !counts.contains_key(&e.label) {
                let known: Vec<String> = counts.keys().cloned().collect();
                let hint = demarche::error::suggest_label(&e.label, &known)
                    .map(|l| format!("; did you mean {l:?}?"))
                    .unwrap_or_default();
                bail!(
                    "{}:{}: dev label {:?} was not seen in training (training labels: {}){hint}",
                    dev.path.display(),
                    e.line,
                    e.label,
                    known.join(", ")
                );
            }
        }
    }
    // The report is printed only once the model is written: a failed run leaves stdout empty.
    let mut out: Vec<u8> = Vec::new();
    writeln!(
        out,
        "corpus     {} ({} statements, sha256 {})",
        c.data.display(),
        corpus.examples.len(),
        &corpus.sha256[..16]
    )?;
    if corpus.skipped_unlabeled > 0 {
        writeln!(out, "skipped    {} rows with label null", corpus.skipped_unlabeled)?;
    }
    let w = counts.keys().map(|k| k.len()).max().unwrap_or(5);
    for (label, n) in &counts {
        writeln!(
            out,
            "  {label:<w$}  {n:>6}  {:>5.1}%",
            100.0 * *n as f64 / corpus.examples.len() as f64
        )?;
    }
    let started = Instant::now();
    let progress = Progress::new();
    progress.message("training ...");
    let mut model = pipeline::train_corpus(&corpus, &params, tokenizer)?;
    progress.clear();
    let secs = started.elapsed().as_secs_f64();
    writeln!(
        out,
        "tokenizer  {} tokens ({})",
        model.info.vocab_size,
        c.tokenizer
            .as_ref()
            .map(|p| format!("from {}", p.display()))
            .unwrap_or_else(|| "WordPiece, built from the corpus".into())
    )?;
    let fc = &model.featurizer.config;
    let n_cues = if fc.cues { demarche::cues::N_CUES } else { 0 };
    let n_structure = if fc.structure {
        demarche::structure::N_STRUCTURE
    } else {
        0
    };
    writeln!(
        out,
        "features   {} n-grams + {n_cues} cues + {n_structure} structure = {}",
        model.info.n_ngrams, model.info.n_features
    )?;
    writeln!(out, "trained    {} in {secs:.2} s", params.algorithm)?;
    if let Some(dev) = &dev {
        if c.calibrate {
            let fit = pipeline::calibrate(&mut model, dev)?;
            writeln!(
                out,
                "calibrated temperature {:.4} on {} dev statements: ECE {:.4} -> {:.4}, NLL {:.4} -> {:.4}",
                fit.temperature, fit.n, fit.ece_before, fit.ece_after, fit.nll_before, fit.nll_after
            )?;
            model
                .info
                .metrics
                .insert("calibration".into(), serde_json::to_value(&fit)?);
        }
    }
    if let (true, Some(dev)) = (c.tune_thresholds, &dev) {
        let fallback = model
            .labels
            .iter()
            .position(|l| l == "neutral")
            .unwrap_or_else(|| pipeline::training_majority(&model));
        let y = pipeline::label_indices(&model, dev)?;
        let (before, after) = model.tune_thresholds(&dev.texts(), &y, fallback)?;
        let d = model.decision.as_ref().expect("tuned");
        let t: Vec<String> = model
            .labels
            .iter()
            .zip(&d.thresholds)
            .filter(|(_, t)| **t > 0.0)
            .map(|(l, t)| format!("{l} {t:.2}"))
            .collect();
        writeln!(
            out,
            "thresholds {} (fallback {}); dev macro-F1 {before:.4} -> {after:.4}",
            if t.is_empty() {
                "none needed".to_string()
            } else {
                t.join(", ")
            },
            model.labels[fallback]
        )?;
    }
    if let Some(dev) = &dev {
        let ev = pipeline::evaluate(&model, dev)?;
        writeln!(
            out,
            "\ndev        {} ({} statements)\n",
            c.dev.as_ref().expect("dev").display(),
            dev.examples.len()
        )?;
        write!(out, "{}", ev.report.to_text())?;
        writeln!(out, "\ndev ECE    {:.4} (10 bins)", ev.calibration.ece)?;
        let mut v = serde_json::to_value(&ev.report)?;
        v["calibration"] = serde_json::to_value(&ev.calibration)?;
        model.info.metrics.insert("dev".into(), v);
    }
    if let Some(test_path) = &c.test {
        let test = read_corpus(test_path, c.allow_conflicts)?;
        let ev = pipeline::evaluate(&model, &test)?;
        writeln!(
            out,
            "\ntest       {} ({} statements): accuracy {:.4}, macro-F1 {:.4}, ECE {:.4}",
            test_path.display(),
            test.examples.len(),
            ev.report.accuracy,
            ev.report.macro_f1,
            ev.calibration.ece
        )?;
        let mut v = serde_json::to_value(&ev.report)?;
        v["calibration"] = serde_json::to_value(&ev.calibration)?;
        model.info.metrics.insert("test".into(), v);
    }
    model.save(&c.out)?;
    writeln!(
        out,
        "\nwrote      {} (sha256 {})",
        c.out.display(),
        &model.digest()?[..16]
    )?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(())
}

fn model_label(path: Option<&Path>) -> String {
    path.map(Path::to_path_buf)
        .unwrap_or_else(default_model_path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn load_model(path: Option<&Path>) -> Result<Model> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(default_model_path);
    Model::load(&path).map_err(|e| match e {
        demarche::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "{}: no such model file; train one with `demarche train --out`, or pass --model",
            path.display()
        ),
        other => other.into(),
    })
}

fn classify(c: ClassifyCmd) -> Result<()> {
    let model = load_model(c.model.as_deref())?;
    if c.stream {
        let filter = demarche::stream::StreamFilter {
            text_field: c.text_field,
            passthrough: c.passthrough,
            threads: c.threads as usize,
            ..Default::default()
        };
        let mut input = std::io::stdin().lock();
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        demarche::stream::run(&model, &mut input, &mut out, &filter)?;
        return Ok(());
    }
    let files = if c.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        c.files.clone()
    };
    let to_terminal = c.output.is_none() && std::io::stdout().is_terminal();
    let format = match c.format.unwrap_or(if to_terminal {
        OutFormat::Table
    } else {
        OutFormat::Jsonl
    }) {
        OutFormat::Table => output::Format::Table,
        OutFormat::Jsonl => output::Format::Jsonl,
        OutFormat::Csv => output::Format::Csv,
    };
    let stream_opts = StreamOptions {
        mode: if c.lines {
            Segmentation::Lines
        } else {
            Segmentation::Prose
        },
        strict: c.strict,
        ..StreamOptions::default()
    };
    if c.summary && format == output::Format::Csv {
        bail!("--summary writes a table or JSON lines; use --format table or --format jsonl");
    }
    let opts = ClassifyOptions {
        mode: stream_opts.mode,
        min_confidence: c.min_confidence,
        explain: c.explain,
        threads: c.threads as usize,
        ..ClassifyOptions::default()
    };
    // Without --keep-going, every input file is checked before anything is
    // written, so a bad file leaves no partial output.
    if !c.keep_going {
        for f in files.iter().filter(|f| f.as_os_str() != "-") {
            input::check_file(f, c.strict)?;
        }
    }
    let stdout = std::io::stdout();
    let mut atomic = c.output.as_deref().map(AtomicFile::create).transpose()?;
    let mut lock;
    let w: &mut dyn Write = match atomic.as_mut() {
        Some(f) => f,
        None => {
            lock = std::io::BufWriter::new(stdout.lock());
            &mut lock
        }
    };
    let mut writer = output::StreamWriter::new(format, &model.labels);
    writer.start(w)?;
    let mut failed = 0;
    for path in &files {
        let result = classify_one(
            &model,
            path,
            stream_opts,
            &opts,
            &mut writer,
            w,
            c.keep_going,
            c.summary,
        );
        match result {
            Ok(()) => {}
            Err(e) if c.keep_going && !is_broken_pipe(&e) => {
                eprintln!("demarche: error: {}", message(&e));
                failed += 1;
            }
            Err(e) => return Err(e),
        }
    }
    w.flush()?;
    if let Some(f) = atomic {
        f.commit()?;
    }
    if failed > 0 {
        bail!(
            "{failed} of {} inputs failed (see above); the others were classified",
            files.len()
        );
    }
    Ok(())
}

/// Classifies one input and writes its statements as they come (or, with
/// `summary`, one summary of the document at its end).
#[allow(clippy::too_many_arguments)]
fn classify_one(
    model: &Model,
    path: &Path,
    stream_opts: StreamOptions,
    opts: &ClassifyOptions,
    writer: &mut output::StreamWriter,
    w: &mut dyn Write,
    check_first: bool,
    summary: bool,
) -> Result<()> {
    if check_first && path.as_os_str() != "-" {
        input::check_file(path, stream_opts.strict)?;
    }
    let mut stream = input::open(path, stream_opts)?;
    let name = stream.name().to_string();
    let mut collected: Vec<demarche::pipeline::Statement> = Vec::new();
    if !summary {
        writer.begin_file(w, &name)?;
    }
    let renderer = writer.renderer();
    let output_error = |e: std::io::Error| demarche::Error::Input {
        name: "output".into(),
        source: e,
    };
    // The workers render the output bytes; this thread only writes them in order.
    let render = |batch: &[demarche::pipeline::Statement]| -> demarche::Result<Vec<u8>> {
        if summary {
            return Ok(Vec::new());
        }
        renderer.render(batch).map_err(output_error)
    };
    pipeline::classify_stream_rendered(
        model,
        &mut stream,
        opts,
        &render,
        &mut |batch, bytes| {
            if summary {
                collected.extend_from_slice(batch);
                return Ok(());
            }
            writer.write_rendered(w, batch, &bytes).map_err(output_error)
        },
        &mut |warning| eprintln!("demarche: warning: {warning}"),
    )?;
    if summary {
        let s = pipeline::summarize(&name, &collected, &model.labels);
        match writer.format() {
            output::Format::Table => output::write_summary_table(w, &s)?,
            _ => output::write_summary_json(w, &s)?,
        }
    } else {
        writer.end_file(w)?;
    }
    Ok(())
}

/// Reads a whole input for `suggest`, which ranks across all inputs; "-" is
/// standard input. The same checks as classify (binary, empty); invalid UTF-8
/// is replaced with a warning.
fn read_input(path: &Path) -> Result<(String, String)> {
    let (name, bytes) = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut b)?;
        ("<stdin>".to_string(), b)
    } else {
        input::check_file(path, false)?;
        (
            path.display().to_string(),
            std::fs::read(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        )
    };
    if bytes.contains(&0) {
        bail!("{name}: looks like binary data (NUL bytes), not text");
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("demarche: warning: {name}: invalid UTF-8; bad bytes replaced with U+FFFD");
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    Ok((name, text))
}

fn inspect(c: InspectCmd) -> Result<()> {
    let path = c.model.clone().unwrap_or_else(default_model_path);
    let model = load_model(Some(&path))?;
    let card = demarche::inspect::model_card(&model, &path.display().to_string(), c.top)?;
    let mut out = std::io::stdout().lock();
    if c.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&card)?)?;
    } else {
        write!(out, "{}", card.to_text())?;
    }
    Ok(())
}

fn suggest(c: SuggestCmd) -> Result<()> {
    let model = load_model(c.model.as_deref())?;
    let mode = if c.lines {
        Segmentation::Lines
    } else {
        Segmentation::Prose
    };
    let mut docs = Vec::new();
    for path in &c.files {
        docs.push(read_input(path)?);
    }
    let strategy = match c.strategy {
        StrategyArg::Entropy => demarche::suggest::Strategy::Entropy,
        StrategyArg::Margin => demarche::suggest::Strategy::Margin,
    };
    let (picked, stats) = demarche::suggest::suggest(&model, &docs, mode, strategy, c.n, c.dedup_threshold)?;
    let mut buf = Vec::new();
    for s in &picked {
        serde_json::to_writer(&mut buf, &demarche::suggest::suggestion_json(s, &model.labels))?;
        buf.push(b'\n');
    }
    match &c.output {
        Some(p) => write_atomic(p, &buf)?,
        None => std::io::stdout().lock().write_all(&buf)?,
    }
    eprintln!(
        "demarche: suggested {} of {} statements ({} near-duplicates skipped), by {}",
        picked.len(),
        stats.candidates,
        stats.duplicates,
        strategy
    );
    Ok(())
}

fn corpus_check(dir: &Path) -> Result<()> {
    let report = demarche::corpus_check::check_dir(dir, &demarche::corpus_check::Bounds::default())?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", report.table)?;
    if report.problems.is_empty() {
        writeln!(out, "\ncorpus check passed")?;
        return Ok(());
    }
    for p in &report.problems {
        eprintln!("{p}");
    }
    bail!("corpus check found {} problem(s)", report.problems.len())
}

fn write_json(path: &Path, json: &serde_json::Value, out: &mut dyn Write) -> Result<()> {
    let text = serde_json::to_string_pretty(json)? + "\n";
    if path.as_os_str() == "-" {
        out.write_all(text.as_bytes())?;
    } else {
        write_atomic(path, text.as_bytes())?;
    }
    Ok(())
}

fn eval(c: EvalCmd) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if let Some(dir) = &c.briefings {
        let model = load_model(c.model.as_deref())?;
        let docs = demarche::briefing::read_dir(dir)?;
        let report = demarche::briefing::evaluate_briefings(&model, &docs)?;
        writeln!(out, "briefings  {}\n", dir.display())?;
        write!(out, "{}", report.to_text())?;
        if let Some(path) = &c.json {
            write_json(path, &serde_json::to_value(&report)?, &mut out)?;
        }
        return Ok(());
    }
    let data = c.data.clone().expect("clap requires --data without --briefings");
    let corpus = read_corpus(&data, c.allow_conflicts)?;
    let json = if c.cv.is_some() || c.leave_out.is_some() {
        let params = c.hyper.params();
        let progress = Progress::new();
        // Everything is computed before anything is printed: a failed run leaves stdout empty.
        let cv = match c.cv {
            Some(k) => Some(pipeline::cross_validate(&corpus, &params, k, &mut |done, total| {
                progress.message(&format!("cross-validation: fold {done}/{total} done"))
            })?),
            None => None,
        };
        let logo = match &c.leave_out {
            Some(field) => Some(pipeline::leave_one_group_out(
                &corpus,
                &params,
                field,
                &mut |done, total| progress.message(&format!("leave-one-{field}-out: fold {done}/{total} done")),
            )?),
            None => None,
        };
        progress.clear();
        writeln!(out, "data  {} ({} statements)\n", data.display(), corpus.examples.len())?;
        let mut json = serde_json::Map::new();
        if let Some(report) = &cv {
            write!(out, "{}", report.to_text())?;
            json.insert("cv".into(), serde_json::to_value(report)?);
        }
        if let Some(report) = &logo {
            if cv.is_some() {
                writeln!(out)?;
            }
            write!(out, "{}", report.to_text())?;
            json.insert("leave_out".into(), serde_json::to_value(report)?);
        }
        if json.len() == 1 {
            json.into_iter().next().expect("one").1
        } else {
            serde_json::Value::Object(json)
        }
    } else {
        let mut model = load_model(c.model.as_deref())?;
        if let Some(t) = c.temperature {
            model.temperature = t;
        }
        let pipeline::Evaluation {
            report,
            errors,
            calibration,
        } = pipeline::evaluate(&model, &corpus)?;
        writeln!(out, "data  {} ({} statements)\n", data.display(), corpus.examples.len())?;
        write!(out, "{}", report.to_text())?;
        write!(out, "\n{}", calibration.to_text())?;
        if c.errors > 0 && !errors.is_empty() {
            writeln!(
                out,
                "\nmost confident errors ({} of {}):",
                c.errors.min(errors.len()),
                errors.len()
            )?;
            for e in errors.iter().take(c.errors) {
                writeln!(
                    out,
                    "  line {:>5}  true {:<21} predicted {:<21} {:.2}  {}",
                    e.line, e.true_label, e.predicted, e.confidence, e.text
                )?;
            }
        }
        if let Some(path) = &c.html {
            let title = format!("{} on {}", model_label(c.model.as_deref()), data.display());
            let page = demarche::html_report::render(&title, &report, &calibration, &errors, c.errors.max(10));
            write_atomic(path, page.as_bytes())?;
            writeln!(out, "\nwrote {}", path.display())?;
        }
        let mut v = serde_json::to_value(&report)?;
        v["calibration"] = serde_json::to_value(&calibration)?;
        v["errors"] = serde_json::to_value(errors.iter().take(c.errors).collect::<Vec<_>>())?;
        if let Some(field) = &c.group_by {
            let groups = pipeline::evaluate_by_group(&model, &corpus, field)?;
            writeln!(out, "\nby {field}:\n")?;
            write!(out, "{}", demarche::evaluation::groups_text(field, &groups))?;
            v["groups"] = serde_json::to_value(groups.into_iter().collect::<std::collections::BTreeMap<_, _>>())?;
        }
        v
    };
    if let Some(path) = &c.json {
        write_json(path, &json, &mut out)?;
    }
    Ok(())
}

/// A one-line progress indicator on stderr, shown only on a terminal.
struct Progress {
    on: bool,
}

impl Progress {
    fn new() -> Self {
        Progress {
            on: std::io::stderr().is_terminal(),
        }
    }
    fn message(&self, m: &str) {
        if self.on {
            eprint!("\r\x1b[2K{m}");
        }
    }
    fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}
