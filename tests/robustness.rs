//! Issue 4: every bad input gets a clear error, nothing is lost, big inputs
//! stream. Each test runs the real binary.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{demarche, root, write};

/// Runs and checks exit code and that stderr contains `msg` (and, on failure, that stdout is empty).
fn run(args: &[&str], stdin: Option<&[u8]>, code: i32, msg: &str) -> (String, String) {
    let mut c = demarche();
    c.args(args);
    if let Some(s) = stdin {
        c.write_stdin(s.to_vec());
    }
    let out = c.assert().code(code).get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(err.contains(msg), "stderr {err:?} does not contain {msg:?}");
    if code != 0 {
        assert!(stdout.is_empty(), "stdout should be empty on error, got {stdout:?}");
    }
    (stdout, err)
}

fn jsonl(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn small_corpus(dir: &Path, n: usize) -> String {
    let text = fs::read_to_string(root().join("datasets/train.jsonl")).unwrap();
    let body: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
    write(dir, "small.jsonl", body.as_bytes())
}

// ---- corpus ----

#[test]
fn eval_suggests_near_miss_labels() {
    let d = tempfile::tempdir().unwrap();
    let data = write(
        d.path(),
        "x.jsonl",
        b"{\"text\":\"We will help.\",\"label\":\"commitment\"}\n{\"text\":\"Stop now or else.\",\"label\":\"Warning\"}\n",
    );
    run(
        &["eval", "--data", &data],
        None,
        1,
        "x.jsonl:2: label \"Warning\" was not seen in training (model labels: commitment, neutral, reconciliation_appeal, warning); did you mean \"warning\"?",
    );
    let data = write(
        d.path(),
        "y.jsonl",
        b"{\"text\":\"We urge talks.\",\"label\":\"reconciliation appeal\"}\n",
    );
    run(
        &["eval", "--data", &data],
        None,
        1,
        "y.jsonl:1: label \"reconciliation appeal\" was not seen in training (model labels: commitment, neutral, reconciliation_appeal, warning); did you mean \"reconciliation_appeal\"?",
    );
    let data = write(d.path(), "z.csv", b"text,label\nWe will help.,comitment\n");
    run(&["eval", "--data", &data], None, 1, "did you mean \"commitment\"?");
}

#[test]
fn cv_refuses_a_class_smaller_than_the_folds() {
    let d = tempfile::tempdir().unwrap();
    let mut body = String::new();
    for i in 0..10 {
        body += &format!("{{\"text\":\"We will help region {i}.\",\"label\":\"commitment\"}}\n");
        body += &format!("{{\"text\":\"Stop the attacks on town {i}.\",\"label\":\"warning\"}}\n");
    }
    body += "{\"text\":\"We urge calm.\",\"label\":\"reconciliation_appeal\"}\n";
    body += "{\"text\":\"We urge talks.\",\"label\":\"reconciliation_appeal\"}\n";
    let data = write(d.path(), "cv.jsonl", body.as_bytes());
    run(
        &["eval", "--cv", "5", "--data", &data],
        None,
        1,
        "cv.jsonl: label \"reconciliation_appeal\" has 2 examples, fewer than the 5 folds; use a smaller --cv",
    );
}

#[test]
fn conflicting_labels_error_or_warning_with_allow_conflicts() {
    let d = tempfile::tempdir().unwrap();
    let data = write(
        d.path(),
        "c.jsonl",
        b"{\"text\":\"We will act.\",\"label\":\"commitment\"}\n{\"text\":\"The talks ended.\",\"label\":\"neutral\"}\n{\"text\":\"we  will act.\",\"label\":\"warning\"}\n",
    );
    run(
        &["eval", "--data", &data],
        None,
        1,
        "c.jsonl:3: the same text is labeled \"warning\" here and \"commitment\" on line 1; fix one, or pass --allow-conflicts to keep the first",
    );
    let (out, _) = run(
        &["eval", "--data", &data, "--allow-conflicts"],
        None,
        0,
        "demarche: warning: ",
    );
    assert!(out.contains("(2 statements)"), "{out}");
    let (_, err) = run(
        &["eval", "--data", &data, "--allow-conflicts"],
        None,
        0,
        "c.jsonl: 1 row(s) dropped",
    );
    assert!(err.contains("first: line 3, label kept from line 1"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn corpus_with_a_10_mb_line() {
    let d = tempfile::tempdir().unwrap();
    let big = "We will keep supplying aid to the region. ".repeat(250_000); // 10.5 MB
    let mut body = format!("{{\"text\":\"{big}\",\"label\":\"commitment\"}}\n");
    body += "{\"text\":\"Any attack will be met with force.\",\"label\":\"warning\"}\n";
    let data = write(d.path(), "big.jsonl", body.as_bytes());
    let t = Instant::now();
    let (out, _) = run(&["eval", "--data", &data, "--errors", "0"], None, 0, "");
    assert!(out.contains("(2 statements)"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(120), "took {:?}", t.elapsed());
    // Broken at its very end: the error names the line, quickly.
    let broken = format!("{{\"text\":\"{big}\",\"label\":\"commitment\"\n");
    let data = write(d.path(), "broken.jsonl", broken.as_bytes());
    run(&["eval", "--data", &data], None, 1, "broken.jsonl:1: malformed JSON");
}

#[test]
fn train_refuses_a_feature_matrix_over_max_memory() {
    let d = tempfile::tempdir().unwrap();
    // The logistic fit uses an f32 matrix (4 bytes a value): 1,200 statements exceed 1 MiB.
    let data = small_corpus(d.path(), 1200);
    let out = d.path().join("m.model");
    run(
        &[
            "train",
            "--data",
            &data,
            "--out",
            out.to_str().unwrap(),
            "--max-features",
            "800",
            "--max-memory",
            "1",
        ],
        None,
        1,
        "over --max-memory 1 MiB; lower --max-features or raise --max-memory",
    );
    assert!(!out.exists());
}

// ---- classify input ----

#[test]
fn empty_and_whitespace_only_input() {
    let d = tempfile::tempdir().unwrap();
    let empty = write(d.path(), "empty.txt", b"");
    run(
        &["classify", &empty],
        None,
        1,
        "empty.txt: no text to classify (the file is empty)",
    );
    let ws = write(d.path(), "ws.txt", b"  \n\n\t\r\n   \n");
    run(
        &["classify", &ws],
        None,
        1,
        "ws.txt: no text to classify (only whitespace)",
    );
    run(
        &["classify", "-"],
        Some(b""),
        1,
        "<stdin>: no text to classify (the input is empty)",
    );
    run(
        &["classify", "--lines", "-"],
        Some(b"\n \n"),
        1,
        "<stdin>: no text to classify (only whitespace)",
    );
}

#[test]
fn invalid_utf8_is_replaced_with_a_warning_or_refused_with_strict() {
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "latin1.txt",
        b"We will help.\nThe caf\xe9 closed. Talks go on.\n",
    );
    let (out, err) = run(
        &["classify", "--format", "jsonl", &f],
        None,
        0,
        "latin1.txt:2: invalid UTF-8 at byte 21; bad bytes replaced with U+FFFD (use --strict to refuse)",
    );
    assert_eq!(err.lines().count(), 1);
    let rows = jsonl(&out);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["text"], "The caf\u{fffd} closed.");
    run(
        &["classify", "--strict", &f],
        None,
        1,
        "latin1.txt:2: invalid UTF-8 at byte 21; re-save the file as UTF-8, or drop --strict",
    );
    run(
        &["classify", "--strict", "-"],
        Some(b"Fine.\n\nBad \xff here.\n"),
        1,
        "<stdin>:3: invalid UTF-8 at byte 11",
    );
}

#[test]
fn text_without_punctuation_is_cut_into_capped_statements() {
    let words = 20_000;
    let text = "we will keep working with everyone ".repeat(words / 6);
    let (out, _) = run(&["classify", "--format", "jsonl", "-"], Some(text.as_bytes()), 0, "");
    let rows = jsonl(&out);
    assert!(rows.len() >= 50, "{} statements", rows.len());
    let mut n = 0;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["index"].as_u64().unwrap() as usize, i);
        let (s, e) = (
            r["start"].as_u64().unwrap() as usize,
            r["end"].as_u64().unwrap() as usize,
        );
        assert!(e - s <= demarche::segmenter::MAX_SEGMENT_BYTES);
        assert_eq!(&text[s..e], r["text"].as_str().unwrap());
        n += r["text"].as_str().unwrap().split_whitespace().count();
    }
    assert_eq!(n, text.split_whitespace().count(), "no word lost");
}

#[test]
fn a_10_mb_single_line_streams_through_classify() {
    let d = tempfile::tempdir().unwrap();
    let text = "We urge both sides to return to the negotiating table. ".repeat(190_000); // 10.4 MB
    let f = write(d.path(), "one-line.txt", text.as_bytes());
    let out = d.path().join("out.jsonl");
    let t = Instant::now();
    run(
        &["classify", "--format", "jsonl", "--output", out.to_str().unwrap(), &f],
        None,
        0,
        "",
    );
    assert!(t.elapsed() < Duration::from_secs(300), "took {:?}", t.elapsed());
    let body = fs::read_to_string(&out).unwrap();
    let mut count = 0;
    let mut last_end = 0;
    for line in body.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        assert_eq!(r["index"].as_u64().unwrap(), count);
        let s = r["start"].as_u64().unwrap() as usize;
        assert!(s >= last_end);
        last_end = r["end"].as_u64().unwrap() as usize;
        assert_eq!(r["text"], "We urge both sides to return to the negotiating table.");
        count += 1;
    }
    assert_eq!(count, 190_000);
}

#[test]
fn keep_going_reports_bad_files_and_classifies_the_others() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.txt", b"We will help. The talks ended.");
    let bin = write(d.path(), "b.bin", b"\x7fELF\x00\x01binary");
    let missing = d.path().join("missing.txt");
    let missing = missing.to_str().unwrap();
    let c = write(d.path(), "c.txt", b"Any attack will be met with force.");
    // Without --keep-going: nothing is written, the first bad file is named.
    run(
        &["classify", &a, &bin, missing, &c],
        None,
        1,
        "b.bin: looks like binary data (NUL byte at byte 4)",
    );
    // With it: both bad files reported, the good ones classified in order, exit 1.
    let out = demarche()
        .args(["classify", "--keep-going", "--format", "jsonl", &a, &bin, missing, &c])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("b.bin: looks like binary data"), "{err}");
    assert!(
        err.contains("missing.txt: No such file or directory (os error 2)\n"),
        "{err}"
    );
    assert!(
        err.contains("2 of 4 inputs failed (see above); the others were classified"),
        "{err}"
    );
    let rows = jsonl(&String::from_utf8(out.stdout).unwrap());
    let files: Vec<&str> = rows.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(files, [a.as_str(), a.as_str(), c.as_str()]);
    // --output with --keep-going: the file holds the good results.
    let o = d.path().join("out.jsonl");
    demarche()
        .args([
            "classify",
            "--keep-going",
            "--format",
            "jsonl",
            "-o",
            o.to_str().unwrap(),
            &a,
            missing,
        ])
        .assert()
        .code(1);
    assert_eq!(jsonl(&fs::read_to_string(&o).unwrap()).len(), 2);
}

#[test]
fn output_file_is_replaced_only_on_success() {
    let d = tempfile::tempdir().unwrap();
    let o = d.path().join("out.jsonl");
    fs::write(&o, "old results\n").unwrap();
    let a = write(d.path(), "a.txt", b"We will help. The talks ended.");
    run(
        &["classify", "-o", o.to_str().unwrap(), &a, "no/such.txt"],
        None,
        1,
        "no/such.txt",
    );
    assert_eq!(fs::read_to_string(&o).unwrap(), "old results\n");
    run(
        &["classify", "--format", "jsonl", "-o", o.to_str().unwrap(), &a],
        None,
        0,
        "",
    );
    assert_eq!(jsonl(&fs::read_to_string(&o).unwrap()).len(), 2);
    let names: Vec<String> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".demarche-")), "{names:?}");
}

#[test]
fn output_order_is_input_order_on_several_threads() {
    let n = 3000;
    let text: String = (0..n)
        .map(|i| format!("Statement number {i} says we will act.\n"))
        .collect();
    let one = run(
        &["classify", "--lines", "--threads", "1", "--format", "jsonl", "-"],
        Some(text.as_bytes()),
        0,
        "",
    )
    .0;
    let four = run(
        &["classify", "--lines", "--threads", "4", "--format", "jsonl", "-"],
        Some(text.as_bytes()),
        0,
        "",
    )
    .0;
    assert_eq!(one, four, "results depend on the number of threads");
    let rows = jsonl(&four);
    assert_eq!(rows.len(), n);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["index"].as_u64().unwrap() as usize, i);
        assert_eq!(r["text"], format!("Statement number {i} says we will act."));
    }
    // Prose with paragraphs: the same on several threads too.
    let prose: String = (0..n).map(|i| format!("Paragraph {i} opens. It closes.\n\n")).collect();
    let rows = jsonl(
        &run(
            &["classify", "--threads", "3", "--format", "jsonl", "-"],
            Some(prose.as_bytes()),
            0,
            "",
        )
        .0,
    );
    assert_eq!(rows.len(), 2 * n);
    for (i, r) in rows.iter().enumerate() {
        let want = if i % 2 == 0 {
            format!("Paragraph {} opens.", i / 2)
        } else {
            "It closes.".to_string()
        };
        assert_eq!(r["text"], want);
    }
}

#[test]
fn table_output_streams_with_a_summary_per_file() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.txt", b"We will help. The talks ended.\n\nWe urge calm.");
    let (out, _) = run(&["classify", "--format", "table", &a, &a], None, 0, "");
    assert_eq!(out.matches("summary: 3 statements:").count(), 2, "{out}");
    assert!(out.contains("   0  0-13 "), "{out}");
}

// ---- model file ----

#[test]
fn model_whose_tokenizer_and_features_disagree_is_refused_at_load() {
    let d = tempfile::tempdir().unwrap();
    let mut model = demarche::model::Model::load(&root().join("models/demarche.model")).unwrap();
    let texts = ["We will act.", "The talks ended.", "We urge calm."];
    model.tokenizer = demarche::tokenizer::TextTokenizer::train(&texts, 100, 1).unwrap();
    let bytes = model.to_bytes().unwrap();
    let f = write(d.path(), "mismatch.model", &bytes);
    run(
        &["classify", "--model", &f, "-"],
        Some(b"We will act."),
        1,
        "mismatch.model: model file is corrupted (model says the tokenizer has",
    );
    model.info.vocab_size = model.tokenizer.vocab_size();
    let f = write(d.path(), "mismatch2.model", &model.to_bytes().unwrap());
    run(
        &["classify", "--model", &f, "-"],
        Some(b"We will act."),
        1,
        "tokenizer and features disagree",
    );
}

// ---- nothing lost ----

#[test]
fn killing_a_training_run_leaves_the_old_model_intact() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("m.model");
    let old = fs::read(root().join("models/demarche.model")).unwrap();
    fs::write(&out, &old).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("demarche");
    for wait_ms in [300, 1500, 4000] {
        let mut child = std::process::Command::new(&bin)
            .current_dir(root())
            // Settings far slower than the defaults, so the run outlasts the last kill at 4 s
            // on a fast machine too (about 13 s on 2 cores).
            .args([
                "train",
                "--data",
                "datasets/train.jsonl",
                "--max-iterations",
                "1000",
                "--alpha",
                "0.001",
                "--max-features",
                "10000",
                "--out",
            ])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(wait_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            !finished,
            "training finished within {wait_ms} ms; the test needs a longer run"
        );
        assert_eq!(
            fs::read(&out).unwrap(),
            old,
            "old model changed after kill at {wait_ms} ms"
        );
        for e in fs::read_dir(d.path()).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                name == "m.model" || name.starts_with(".demarche-"),
                "left behind: {name}"
            );
        }
    }
    // And the old model still loads.
    demarche::model::Model::load(&out).unwrap();
}

#[test]
fn killing_a_classify_run_leaves_the_old_output_intact() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("in.txt");
    fs::write(&input, "We will act now. The talks ended.\n\n".repeat(1_000_000)).unwrap();
    let out = d.path().join("out.jsonl");
    fs::write(&out, "old results\n").unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("demarche"))
        .current_dir(root())
        .args(["classify", "--format", "jsonl", "--output"])
        .arg(&out)
        .arg(&input)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let finished = child.try_wait().unwrap().is_some();
    child.kill().unwrap(); // SIGKILL while results are being written to the temporary file
    child.wait().unwrap();
    assert!(
        !finished,
        "classify finished within 700 ms; the test needs a longer run"
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), "old results\n");
    for e in fs::read_dir(d.path()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name == "in.txt" || name == "out.jsonl" || name.starts_with(".demarche-"),
            "left behind: {name}"
        );
    }
}
