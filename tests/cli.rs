//! Integration tests of the real binary on the project's own data.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{demarche, root, write};

/// The first `n` records of the training split, as a small corpus.
fn small_corpus(dir: &Path, n: usize) -> PathBuf {
    let text = fs::read_to_string(root().join("datasets/train.jsonl")).unwrap();
    let body: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
    let p = dir.join("small.jsonl");
    fs::write(&p, body).unwrap();
    p
}

fn train_small(dir: &Path, out: &str) -> PathBuf {
    let data = small_corpus(dir, 600);
    let model = dir.join(out);
    demarche()
        .args(["train", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .args(["--max-features", "800", "--seed", "7"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "features   800 n-grams + 18 cues + 18 structure = 836",
        ))
        .stdout(predicate::str::contains("wrote"));
    model
}

fn jsonl(out: &[u8]) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn training_is_deterministic_to_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    let a = train_small(dir.path(), "a.model");
    let b = train_small(dir.path(), "b.model");
    let (a, b) = (fs::read(a).unwrap(), fs::read(b).unwrap());
    assert!(a.len() > 1000);
    assert_eq!(a, b, "same corpus, seed and settings must give identical model bytes");
}

#[test]
fn train_reports_counts_and_dev_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_corpus(dir.path(), 600);
    let model = dir.path().join("m.model");
    let out = demarche()
        .args(["train", "--data"])
        .arg(&data)
        .args(["--dev", "datasets/dev.jsonl", "--out"])
        .arg(&model)
        .args(["--max-features", "800"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    for want in [
        "600 statements",
        "commitment",
        "warning",
        "tokenizer",
        "macro avg",
        "rows = true",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    // The dev metrics are stored in the model and are those eval reports.
    let json = demarche()
        .args(["eval", "--model"])
        .arg(&model)
        .args(["--data", "datasets/dev.jsonl", "--json", "-", "--errors", "0"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(json).unwrap();
    let start = text.find("\n{").unwrap() + 1;
    let report: Value = serde_json::from_str(&text[start..]).unwrap();
    let acc = report["accuracy"].as_f64().unwrap();
    assert!(
        out.contains(&format!("{acc:.4}")),
        "train's dev accuracy {acc:.4} not in train output"
    );
    assert!(acc > report["majority_baseline"]["accuracy"].as_f64().unwrap());
}

#[test]
fn classify_a_briefing_with_the_shipped_model() {
    let doc = "datasets/briefings/wire-kestrel-strait-talks.txt";
    let gold: Vec<Value> = fs::read_to_string(root().join("datasets/briefings/wire-kestrel-strait-talks.gold.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let out = demarche()
        .args(["classify", "--format", "jsonl", doc])
        .assert()
        .success();
    let rows = jsonl(&out.get_output().stdout);
    assert_eq!(rows.len(), gold.len(), "one statement per gold sentence");
    for (r, g) in rows.iter().zip(&gold) {
        assert_eq!(
            (r["start"].as_u64(), r["end"].as_u64()),
            (g["start"].as_u64(), g["end"].as_u64())
        );
        assert_eq!(r["text"], g["text"]);
        let p: f64 = r["probabilities"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((p - 1.0).abs() < 1e-4);
        assert_eq!(r["cameo"].as_str().unwrap().len(), 2);
    }
    let text = fs::read(root().join(doc)).unwrap();
    for r in &rows {
        let (s, e) = (
            r["start"].as_u64().unwrap() as usize,
            r["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(std::str::from_utf8(&text[s..e]).unwrap(), r["text"].as_str().unwrap());
    }
}

#[test]
fn clear_cut_statements_get_their_labels() {
    let input = "We will keep our embassy open and continue to deliver aid to every province through the winter.\n\
                 Any further incursion across the line will be met with a swift and decisive military response.\n\
                 We call on both governments to exercise restraint and return to the negotiating table without delay.\n\
                 The minister arrived in the capital on Tuesday for a three-day visit.\n";
    let out = demarche()
        .args(["classify", "--lines", "--format", "jsonl", "-"])
        .write_stdin(input)
        .assert()
        .success();
    let labels: Vec<String> = jsonl(&out.get_output().stdout)
        .iter()
        .map(|r| r["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, ["commitment", "warning", "reconciliation_appeal", "neutral"]);
}

#[test]
fn table_and_csv_formats_and_uncertain() {
    let doc = "datasets/briefings/statement-gcc-red-sea-navigation.txt";
    demarche()
        .args(["classify", "--format", "table", doc])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "== datasets/briefings/statement-gcc-red-sea-navigation.txt ==",
        ))
        .stdout(predicate::str::is_match(r"summary: 16 statements: neutral \d+").unwrap());
    let out = demarche().args(["classify", "--format", "csv", doc]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "file");
    assert_eq!(&headers[headers.len() - 1], "text");
    assert_eq!(rdr.records().count(), 16);
    let out = demarche()
        .args(["classify", "--format", "jsonl", "--min-confidence", "1.0", doc])
        .assert()
        .success();
    assert!(jsonl(&out.get_output().stdout)
        .iter()
        .all(|r| r["label"] == "uncertain" && r["predicted"] != "uncertain"));
}

#[test]
fn eval_numbers_agree_with_classify_output() {
    // Score the dev split with eval, then recompute accuracy from classify --lines.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    demarche()
        .args(["eval", "--data", "datasets/dev.jsonl", "--json"])
        .arg(&json)
        .assert()
        .success()
        .stdout(predicate::str::contains("majority baseline"))
        .stdout(predicate::str::contains("most confident errors"));
    let report: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let dev = fs::read_to_string(root().join("datasets/dev.jsonl")).unwrap();
    let records: Vec<Value> = dev.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let texts: String = records
        .iter()
        .map(|r| format!("{}\n", r["text"].as_str().unwrap().replace('\n', " ")))
        .collect();
    let out = demarche()
        .args(["classify", "--lines", "--format", "jsonl", "-"])
        .write_stdin(texts)
        .assert()
        .success();
    let preds = jsonl(&out.get_output().stdout);
    assert_eq!(preds.len(), records.len());
    let correct = preds
        .iter()
        .zip(&records)
        .filter(|(p, r)| p["label"] == r["label"])
        .count();
    let acc = correct as f64 / records.len() as f64;
    assert!((report["accuracy"].as_f64().unwrap() - acc).abs() < 1e-12);
    let cm = report["confusion"].as_array().unwrap();
    let total: u64 = cm
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, records.len());
    let support: u64 = report["per_class"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["support"].as_u64().unwrap())
        .sum();
    assert_eq!(support as usize, records.len());
}

#[test]
fn cross_validation_reports_folds() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_corpus(dir.path(), 400);
    let json = dir.path().join("cv.json");
    demarche()
        .args(["eval", "--cv", "3", "--max-features", "500", "--data"])
        .arg(&data)
        .arg("--json")
        .arg(&json)
        .assert()
        .success()
        .stdout(predicate::str::contains("3-fold stratified cross-validation (seed 42)"))
        .stdout(predicate::str::is_match(r"macro-F1  0\.\d{4} ± 0\.\d{4}").unwrap());
    let r: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let folds = r["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 3);
    let n: u64 = folds.iter().map(|f| f["n_test"].as_u64().unwrap()).sum();
    assert_eq!(n, 400);
    let mean = folds.iter().map(|f| f["macro_f1"].as_f64().unwrap()).sum::<f64>() / 3.0;
    assert!((mean - r["macro_f1_mean"].as_f64().unwrap()).abs() < 1e-12);
    assert!(mean > 0.4, "cross-validated macro-F1 {mean} is no better than chance");
}

#[test]
fn briefings_eval_scores_segmentation_and_labels() {
    demarche()
        .args(["eval", "--briefings", "datasets/briefings"])
        .assert()
        .success()
        .stdout(predicate::str::contains("16 documents"))
        .stdout(predicate::str::contains("segmentation (exact offsets)"))
        .stdout(predicate::str::contains("labels of gold sentences"));
}

#[test]
fn shipped_model_matches_the_corpus() {
    let model = demarche::model::Model::load(&root().join("models/demarche.model")).unwrap();
    let corpus = demarche::corpus::Corpus::read(root().join("datasets/train.jsonl")).unwrap();
    assert_eq!(
        model.info.corpus_sha256, corpus.sha256,
        "models/demarche.model was trained on another corpus: run scripts/train-default.sh"
    );
    assert_eq!(model.info.n_train, corpus.examples.len());
}

#[test]
fn corpus_check_passes() {
    demarche()
        .args(["corpus", "check", "--dir", "datasets"])
        .assert()
        .success()
        .stdout(predicate::str::contains("corpus check passed"))
        .stdout(predicate::str::contains("| register | statements | share |"));
}

// ---- errors: one line naming the file and line, exit 1 (usage: 2) ----

fn fails_with(args: &[&str], stdin: Option<&str>, code: i32, msg: &str) {
    let mut c = demarche();
    c.args(args);
    if let Some(s) = stdin {
        c.write_stdin(s.to_string());
    }
    let out = c.assert().code(code).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(msg), "stderr {err:?} does not contain {msg:?}");
    assert!(out.stdout.is_empty(), "stdout should be empty on error");
}

#[test]
fn corpus_errors_name_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("m.model");
    let out = out.to_str().unwrap();
    let missing = d.path().join("nope.jsonl");
    fails_with(
        &["train", "--data", missing.to_str().unwrap(), "--out", out],
        None,
        1,
        "nope.jsonl",
    );
    let txt = write(d.path(), "c.txt", b"x");
    fails_with(
        &["train", "--data", &txt, "--out", out],
        None,
        1,
        "unknown corpus format",
    );
    let bad = write(
        d.path(),
        "bad.jsonl",
        b"{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"label\":\n",
    );
    fails_with(
        &["train", "--data", &bad, "--out", out],
        None,
        1,
        "bad.jsonl:2: malformed JSON",
    );
    let empty = write(
        d.path(),
        "empty.jsonl",
        b"{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\" \",\"label\":\"y\"}\n",
    );
    fails_with(
        &["train", "--data", &empty, "--out", out],
        None,
        1,
        "empty.jsonl:2: empty text",
    );
    let one = write(
        d.path(),
        "one.jsonl",
        b"{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"label\":\"x\"}\n",
    );
    fails_with(&["train", "--data", &one, "--out", out], None, 1, "at least 2 classes");
    let csv = write(d.path(), "bad.csv", b"text,label\n\"a, b\",x\nc,y,z\n");
    fails_with(
        &["train", "--data", &csv, "--out", out],
        None,
        1,
        "bad.csv:3: row has 3 fields",
    );
    assert!(!Path::new(out).exists(), "no model may be written on error");
}

#[test]
fn dev_labels_must_be_known() {
    let d = tempfile::tempdir().unwrap();
    let data = small_corpus(d.path(), 200);
    let dev = write(
        d.path(),
        "dev.jsonl",
        b"{\"text\":\"We will help.\",\"label\":\"pledge\"}\n",
    );
    let out = d.path().join("m.model");
    fails_with(
        &[
            "train",
            "--data",
            data.to_str().unwrap(),
            "--dev",
            &dev,
            "--out",
            out.to_str().unwrap(),
        ],
        None,
        1,
        "dev.jsonl:1: dev label \"pledge\" was not seen in training",
    );
}

#[test]
fn model_errors_are_caught_at_load() {
    let d = tempfile::tempdir().unwrap();
    let good = fs::read(root().join("models/demarche.model")).unwrap();
    let not = write(d.path(), "not.model", b"hello, I am not a model");
    fails_with(
        &["classify", "--model", &not, "-"],
        Some("x"),
        1,
        "not a demarche model file",
    );
    let trunc = write(d.path(), "trunc.model", &good[..good.len() / 3]);
    fails_with(&["classify", "--model", &trunc, "-"], Some("x"), 1, "truncated");
    let mut flipped = good.clone();
    let n = flipped.len() - 100;
    flipped[n] ^= 0x20;
    let flipped = write(d.path(), "flip.model", &flipped);
    fails_with(
        &["classify", "--model", &flipped, "-"],
        Some("x"),
        1,
        "checksum mismatch",
    );
    let mut v = good.clone();
    v[8..12].copy_from_slice(&99u32.to_le_bytes());
    let v = write(d.path(), "v99.model", &v);
    fails_with(
        &["classify", "--model", &v, "-"],
        Some("x"),
        1,
        "model format version 99 is not supported",
    );
}

#[test]
fn eval_rejects_labels_the_model_does_not_know() {
    let d = tempfile::tempdir().unwrap();
    let data = write(
        d.path(),
        "x.jsonl",
        b"{\"text\":\"We will help.\",\"label\":\"commitment\"}\n{\"text\":\"Stop.\",\"label\":\"threat\"}\n",
    );
    fails_with(
        &["eval", "--data", &data],
        None,
        1,
        "x.jsonl:2: label \"threat\" was not seen in training",
    );
}

#[test]
fn classify_input_errors() {
    let d = tempfile::tempdir().unwrap();
    fails_with(&["classify", d.path().to_str().unwrap()], None, 1, "is a directory");
    fails_with(&["classify", "no/such/file.txt"], None, 1, "no/such/file.txt");
    let bin = write(d.path(), "b.bin", b"\x00\x01\x02binary");
    fails_with(&["classify", &bin], None, 1, "binary data");
}

#[test]
fn usage_errors_exit_2() {
    demarche().args(["train", "--data", "x.jsonl"]).assert().code(2);
    demarche()
        .args(["classify", "--min-confidence", "1.5"])
        .assert()
        .code(2);
    demarche().args(["frobnicate"]).assert().code(2);
}

#[test]
fn leave_one_register_out_next_to_k_fold() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_corpus(dir.path(), 500);
    let json = dir.path().join("cv.json");
    let out = demarche()
        .args([
            "eval",
            "--cv",
            "3",
            "--leave-out",
            "register",
            "--max-features",
            "400",
            "--data",
        ])
        .arg(&data)
        .arg("--json")
        .arg(&json)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("3-fold stratified cross-validation"), "{out}");
    assert!(out.contains("leave-one-register-out cross-validation"), "{out}");
    let r: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let folds = r["leave_out"]["folds"].as_array().unwrap();
    let text = fs::read_to_string(&data).unwrap();
    let mut registers: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["register"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    registers.sort();
    registers.dedup();
    let names: Vec<&str> = folds.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, registers.iter().map(String::as_str).collect::<Vec<_>>());
    for f in folds {
        let n = text
            .lines()
            .filter(|l| l.contains(&format!("\"register\": \"{}\"", f["name"].as_str().unwrap())))
            .count();
        assert_eq!(f["n_test"].as_u64().unwrap() as usize, n);
        assert_eq!(f["n_train"].as_u64().unwrap() as usize, 500 - n);
    }
    assert_eq!(r["cv"]["folds"].as_array().unwrap().len(), 3);
}

#[test]
fn eval_group_by_register() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    demarche()
        .args([
            "eval",
            "--data",
            "datasets/dev.jsonl",
            "--group-by",
            "register",
            "--json",
        ])
        .arg(&json)
        .assert()
        .success()
        .stdout(predicate::str::contains("by register:"))
        .stdout(predicate::str::contains("news_report"));
    let r: Value = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    let groups = r["groups"].as_object().unwrap();
    let n: u64 = groups.values().map(|g| g["n"].as_u64().unwrap()).sum();
    assert_eq!(n, r["n"].as_u64().unwrap());
    assert!(groups.contains_key("press_briefing"));
}

#[test]
fn tuned_thresholds_are_stored_and_applied() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_corpus(dir.path(), 600);
    let model = dir.path().join("t.model");
    demarche()
        .args([
            "train",
            "--tune-thresholds",
            "--dev",
            "datasets/dev.jsonl",
            "--max-features",
            "600",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(r"thresholds .* \(fallback neutral\); dev macro-F1 0\.\d{4} -> 0\.\d{4}").unwrap(),
        );
    let m = demarche::model::Model::load(&model).unwrap();
    let d = m.decision.clone().expect("thresholds stored");
    let neutral = m.labels.iter().position(|l| l == "neutral").unwrap();
    assert_eq!(d.fallback, neutral);
    // Every prediction obeys the rule: a non-fallback label reaches its threshold.
    let dev = fs::read_to_string(root().join("datasets/dev.jsonl")).unwrap();
    for line in dev.lines().take(200) {
        let v: Value = serde_json::from_str(line).unwrap();
        let p = m.predict(v["text"].as_str().unwrap()).unwrap();
        if p.label != neutral {
            assert!(p.probabilities[p.label] >= d.thresholds[p.label]);
        }
    }
    // --tune-thresholds needs --dev.
    demarche()
        .args(["train", "--tune-thresholds", "--data", "x.jsonl", "--out", "y"])
        .assert()
        .code(2);
}

#[test]
fn stream_filter_is_one_line_in_one_line_out() {
    let dev = fs::read_to_string(root().join("datasets/dev.jsonl")).unwrap();
    let texts: Vec<String> = dev
        .lines()
        .take(50)
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .replace('\n', " ")
        })
        .collect();
    let mut input: String = texts.iter().enumerate().map(|(i, t)| format!("r{i}\t{t}\n")).collect();
    input.push_str("r50\t\\N\n");
    input.push_str("r51\t\n");
    let out = demarche()
        .args([
            "classify",
            "--stream",
            "--text-field",
            "2",
            "--passthrough",
            "--threads",
            "2",
        ])
        .write_stdin(input.clone())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 52, "one line out per line in");
    // Same labels and probabilities as classify --lines, in input order.
    let reference = demarche()
        .args(["classify", "--lines", "--format", "jsonl", "-"])
        .write_stdin(texts.join("\n") + "\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    for (i, (row, r)) in rows.iter().zip(jsonl(&reference)).enumerate() {
        assert_eq!(row[0], format!("r{i}"));
        assert_eq!(row[1], texts[i]);
        assert_eq!(row[2], r["label"].as_str().unwrap());
        let probs: Vec<f64> = row[4..].iter().map(|v| v.parse().unwrap()).collect();
        let want: Vec<f64> = r["probabilities"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (a, b) in probs.iter().zip(&want) {
            assert!((a - b).abs() < 2e-6);
        }
    }
    assert!(rows[50][2..].iter().all(|v| *v == "\\N"), "null marker passes through");
    assert!(rows[51][2..].iter().all(|v| *v == "\\N"));
}

#[test]
fn stream_filter_answers_each_line_before_input_ends() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("demarche"))
        .current_dir(root())
        .args(["classify", "--stream"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for text in ["We will keep our embassy open.", "The minister arrived on Tuesday."] {
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.split('\t').count(), 6, "{line:?}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
