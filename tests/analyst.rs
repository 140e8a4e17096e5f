//! Integration tests of the analyst features (issue 6) on the project's own data:
//! explanations, the model card, speaker attribution, calibration, the HTML
//! report, suggest-to-label and document summaries.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

mod common;
use common::{demarche, root};

fn stdout(c: &mut Command) -> String {
    String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn gold(name: &str) -> Vec<Value> {
    jsonl(&fs::read_to_string(root().join(format!("datasets/briefings/{name}.gold.jsonl"))).unwrap())
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// JSON printed after the text report by `--json -`.
fn trailing_json(text: &str) -> Value {
    let start = text.find("\n{").unwrap() + 1;
    serde_json::from_str(&text[start..]).unwrap()
}

#[test]
fn explanations_sum_to_the_logit() {
    let doc = "datasets/briefings/transcript-state-dept-dprk-launch.txt";
    // Every feature listed: intercept + contributions = logit exactly.
    let rows = jsonl(&stdout(demarche().args([
        "classify",
        "--format",
        "jsonl",
        "--explain=100000",
        doc,
    ])));
    assert_eq!(rows.len(), 40);
    let card: Value = serde_json::from_str(&stdout(demarche().args(["inspect", "--json"]))).unwrap();
    let thresholds = card["thresholds"][0].as_object().unwrap().clone();
    let mut fallbacks = 0;
    for r in &rows {
        let e = r["explanation"].as_array().unwrap();
        assert!(!e.is_empty());
        let sum: f64 = e.iter().map(|c| f(&c["contribution"])).sum::<f64>() + f(&r["intercept"]);
        assert!((sum - f(&r["logit"])).abs() < 1e-9, "{sum} vs {}", r["logit"]);
        assert_eq!(f(&r["other_features"]), 0.0);
        assert_eq!(r["explained_label"], r["predicted"]);
        // The explained label is the most probable one, unless that is a stance
        // label below its tuned threshold, which falls back to neutral.
        let p = f(&r["confidence"]);
        let probs = r["probabilities"].as_object().unwrap();
        let (top, top_p) = probs
            .iter()
            .map(|(k, v)| (k.clone(), f(v)))
            .fold((String::new(), -1.0), |a, b| if b.1 > a.1 { b } else { a });
        if top_p > p + 1e-12 {
            fallbacks += 1;
            assert_eq!(r["predicted"], "neutral", "{r}");
            assert!(
                top_p < f(&thresholds[&top]),
                "{top} {top_p} is above its threshold: {r}"
            );
        }
    }
    assert!(fallbacks < rows.len() / 4, "{fallbacks} threshold fallbacks");
    // Top 3 only: the rest is carried in other_features, the sum still holds.
    let rows = jsonl(&stdout(demarche().args([
        "classify",
        "--format",
        "jsonl",
        "--explain=3",
        doc,
    ])));
    for r in &rows {
        let e = r["explanation"].as_array().unwrap();
        assert!(e.len() <= 3);
        let abs: Vec<f64> = e.iter().map(|c| f(&c["contribution"]).abs()).collect();
        assert!(abs.windows(2).all(|w| w[0] >= w[1]), "largest first: {abs:?}");
        let sum: f64 =
            e.iter().map(|c| f(&c["contribution"])).sum::<f64>() + f(&r["intercept"]) + f(&r["other_features"]);
        assert!((sum - f(&r["logit"])).abs() < 1e-9);
        assert!(e.iter().all(|c| c["feature"].as_str().is_some_and(|s| !s.is_empty())));
    }
    // Table: one compact line under each statement.
    let table = stdout(demarche().args(["classify", "--format", "table", doc, "--explain", "4"]));
    assert_eq!(table.lines().filter(|l| l.trim_start().starts_with("why ")).count(), 40);
    assert!(table.contains("= logit "));
}

#[test]
fn inspect_prints_the_model_card() {
    let card = stdout(demarche().args(["inspect", "models/demarche.model"]));
    let corpus = demarche::corpus::Corpus::read(root().join("datasets/train.jsonl")).unwrap();
    for want in [
        "labels      commitment (CAMEO 03), neutral (CAMEO 01), reconciliation_appeal (CAMEO 02), warning (CAMEO 13)",
        &format!("{} statements, sha256 {}", corpus.examples.len(), corpus.sha256),
        "hyperparams algorithm logistic, alpha 0.1",
        "fitted by train --calibrate",
        "metrics stored at training time",
        "top 20 features for warning",
    ] {
        assert!(card.contains(want), "missing {want:?} in\n{card}");
    }
    let split_rows: Vec<&str> = card
        .lines()
        .filter(|l| l.starts_with("  dev ") || l.starts_with("  test "))
        .collect();
    assert_eq!(split_rows.len(), 2, "{card}");
    // The default model is the shipped one; JSON has 20 features per label.
    let json: Value = serde_json::from_str(&stdout(demarche().args(["inspect", "--json"]))).unwrap();
    let tops = json["top_features"].as_array().unwrap();
    assert_eq!(tops.len(), 4);
    for t in tops {
        let feats = t[1].as_array().unwrap();
        assert_eq!(feats.len(), 20);
        let w: Vec<f64> = feats.iter().map(|x| f(&x["weight"])).collect();
        assert!(w.windows(2).all(|p| p[0] >= p[1]));
    }
    assert_eq!(json["corpus_sha256"], corpus.sha256.as_str());
    let test_acc = f(&json["metrics"]["test"]["accuracy"]);
    // The stored test accuracy is the one eval measures now.
    let ev = trailing_json(&stdout(demarche().args([
        "eval",
        "--data",
        "datasets/test.jsonl",
        "--errors",
        "0",
        "--json",
        "-",
    ])));
    assert_eq!(f(&ev["accuracy"]), test_acc);
    assert!((f(&ev["calibration"]["ece"]) - f(&json["metrics"]["test"]["calibration"]["ece"])).abs() < 1e-12);
}

#[test]
fn classify_attributes_speakers() {
    use demarche::speaker::same_speaker;
    for (name, min) in [
        ("wire-kestrel-strait-talks", 0.85),
        ("transcript-addis-au-commission-briefing", 1.0),
        ("statement-gcc-red-sea-navigation", 1.0),
    ] {
        let rows = jsonl(&stdout(demarche().args([
            "classify",
            "--format",
            "jsonl",
            &format!("datasets/briefings/{name}.txt"),
        ])));
        let g = gold(name);
        assert_eq!(rows.len(), g.len());
        let ok = rows
            .iter()
            .zip(&g)
            .filter(|(r, g)| same_speaker(r["speaker"].as_str(), g["speaker"].as_str()))
            .count();
        let acc = ok as f64 / g.len() as f64;
        assert!(acc >= min, "{name}: speaker accuracy {acc}");
    }
    let rows = jsonl(&stdout(demarche().args([
        "classify",
        "--format",
        "jsonl",
        "datasets/briefings/transcript-addis-au-commission-briefing.txt",
    ])));
    // "MS. OKAFOR" is Lena Okafor ("Thank you, Lena"); QUESTION turns have no speaker.
    assert_eq!(rows[1]["turn"], "MS. OKAFOR");
    assert_eq!(rows[1]["speaker"], "Lena Okafor");
    assert!(rows
        .iter()
        .filter(|r| r["turn"] == "QUESTION")
        .all(|r| r["speaker"].is_null()));
    // Quotes, "he said" and role nouns on standard input.
    let input = "\"We will keep the embassy open,\" Foreign Minister Ana Duarte told reporters. \
                 \"There will be consequences,\" she said. The minister added that talks would go on. \
                 The ministry building dates from 1910.";
    let rows = jsonl(&stdout(
        demarche()
            .args(["classify", "--format", "jsonl", "-"])
            .write_stdin(input),
    ));
    let sp: Vec<Value> = rows.iter().map(|r| r["speaker"].clone()).collect();
    assert_eq!(
        sp,
        [
            Value::from("Ana Duarte"),
            "Ana Duarte".into(),
            "Ana Duarte".into(),
            Value::Null
        ]
    );
    // eval --briefings reports the attribution accuracy.
    let text = stdout(demarche().args(["eval", "--briefings", "datasets/briefings", "--json", "-"]));
    assert!(text.contains("speaker attribution: accuracy"));
    let report = trailing_json(&text);
    let s = &report["speakers"];
    assert_eq!(s["sentences"], 415);
    assert_eq!(
        s["correct"].as_u64().unwrap(),
        s["named_correct"].as_u64().unwrap() + s["null_correct"].as_u64().unwrap()
    );
    assert!(f(&s["accuracy"]) > 0.9, "{}", s["accuracy"]);
    assert_eq!(
        s["mismatches"].as_array().unwrap().len() as u64,
        415 - s["correct"].as_u64().unwrap()
    );
}

#[test]
fn eval_reports_calibration() {
    let text = stdout(demarche().args(["eval", "--data", "datasets/test.jsonl", "--errors", "0", "--json", "-"]));
    let model = demarche::model::Model::load(&root().join("models/demarche.model")).unwrap();
    let want = format!("calibration (temperature {:.4}): ECE", model.temperature);
    assert!(text.contains(&want), "missing {want:?} in\n{text}");
    assert!(text.contains("  confidence   count  mean-conf  accuracy     gap"));
    let r = trailing_json(&text);
    let c = &r["calibration"];
    let bins = c["bins"].as_array().unwrap();
    assert_eq!(bins.len(), 10);
    let n: u64 = bins.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    let n_test = fs::read_to_string(root().join("datasets/test.jsonl"))
        .unwrap()
        .lines()
        .count() as u64;
    assert_eq!(n, n_test);
    let ece: f64 = bins
        .iter()
        .map(|b| b["count"].as_f64().unwrap() / n_test as f64 * (f(&b["accuracy"]) - f(&b["mean_confidence"])).abs())
        .sum();
    assert!((ece - f(&c["ece"])).abs() < 1e-12);
    // Accuracy from the bins equals the report's.
    let correct: f64 = bins.iter().map(|b| f(&b["count"]) * f(&b["accuracy"])).sum();
    assert!((correct / n_test as f64 - f(&r["accuracy"])).abs() < 1e-9);
    // Without the fitted temperature the model is worse calibrated on test. Labels
    // only move where a stance label's probability crosses its decision threshold.
    let raw = trailing_json(&stdout(demarche().args([
        "eval",
        "--data",
        "datasets/test.jsonl",
        "--errors",
        "0",
        "--temperature",
        "1",
        "--json",
        "-",
    ])));
    assert!(f(&raw["calibration"]["ece"]) > f(&c["ece"]));
    let cells = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()))
            .collect()
    };
    let moved: i64 = cells(&raw["confusion"])
        .iter()
        .zip(cells(&r["confusion"]))
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(moved as f64 <= 0.02 * n_test as f64, "{moved} cells moved");
}

#[test]
fn train_calibrate_fits_and_stores_a_temperature() {
    let d = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(root().join("datasets/train.jsonl")).unwrap();
    let data = d.path().join("small.jsonl");
    fs::write(
        &data,
        text.lines().take(600).map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let model = d.path().join("m.model");
    let out = stdout(
        demarche()
            .args(["train", "--data"])
            .arg(&data)
            .args([
                "--dev",
                "datasets/dev.jsonl",
                "--calibrate",
                "--max-features",
                "800",
                "--out",
            ])
            .arg(&model),
    );
    assert!(out.contains("calibrated temperature"), "{out}");
    let m = demarche::model::Model::load(&model).unwrap();
    assert!(m.temperature != 1.0);
    let fit = &m.info.metrics["calibration"];
    assert!(f(&fit["nll_after"]) <= f(&fit["nll_before"]));
    // Predictions use the temperature: the dev ECE eval reports is the one stored.
    let ev = trailing_json(&stdout(demarche().args(["eval", "--model"]).arg(&model).args([
        "--data",
        "datasets/dev.jsonl",
        "--errors",
        "0",
        "--json",
        "-",
    ])));
    assert!((f(&ev["calibration"]["ece"]) - f(&fit["ece_after"])).abs() < 1e-12);
    assert!((f(&ev["calibration"]["temperature"]) - m.temperature).abs() < 1e-15);
    // --calibrate needs --dev.
    demarche()
        .args(["train", "--data"])
        .arg(&data)
        .args(["--calibrate", "--out"])
        .arg(d.path().join("x.model"))
        .assert()
        .code(2);
}

/// Values of attribute `attr` on elements with `class="{class}"`.
fn attr_values(html: &str, class: &str, attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let needle = format!("class=\"{class}\"");
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        let tag_end = rest[i..].find('>').unwrap() + i;
        let tag = &rest[i..tag_end];
        let key = format!("{attr}=\"");
        let a = tag.find(&key).unwrap() + key.len();
        let b = tag[a..].find('"').unwrap() + a;
        out.push(tag[a..b].to_string());
        rest = &rest[tag_end..];
    }
    out
}

#[test]
fn eval_html_report_is_self_contained_and_holds_the_numbers() {
    let d = tempfile::tempdir().unwrap();
    let html_path = d.path().join("report.html");
    let text = stdout(
        demarche()
            .args(["eval", "--data", "datasets/test.jsonl", "--json", "-", "--html"])
            .arg(&html_path),
    );
    let r = trailing_json(&text);
    let html = fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.ends_with("</html>\n"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    assert_eq!(html.matches("<svg").count(), 3);
    assert_eq!(html.matches("</svg>").count(), 3);
    for id in ["confusion", "prf", "reliability"] {
        assert!(html.contains(&format!("<svg id=\"{id}\"")));
    }
    // Confusion heatmap: 16 cells whose counts are eval's confusion matrix.
    let counts: Vec<u64> = attr_values(&html, "confusion-cell", "data-count")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let cm: Vec<u64> = r["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap()))
        .collect();
    assert_eq!(counts, cm);
    let n_test = fs::read_to_string(root().join("datasets/test.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(counts.iter().sum::<u64>() as usize, n_test);
    // Bars: precision, recall and F1 of each class.
    let bars: Vec<f64> = attr_values(&html, "bar", "data-value")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(bars.len(), 12);
    for (i, c) in r["per_class"].as_array().unwrap().iter().enumerate() {
        for (j, k) in ["precision", "recall", "f1"].iter().enumerate() {
            assert!((bars[i * 3 + j] - f(&c[k])).abs() < 1e-4);
        }
    }
    // Reliability diagram: 10 bins with eval's counts.
    let bins: Vec<u64> = attr_values(&html, "rel-bin", "data-count")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let want: Vec<u64> = r["calibration"]["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    assert_eq!(bins, want);
    assert!(html.contains(&format!("<td>{:.4}</td>", f(&r["calibration"]["ece"]))));
    // Worst errors table: the first row is eval's most confident error.
    let first = &r["errors"][0];
    let row = format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td>",
        first["line"],
        first["true_label"].as_str().unwrap(),
        first["predicted"].as_str().unwrap()
    );
    assert!(html.contains(&row), "{row}");
}

fn word_set(s: &str) -> BTreeSet<String> {
    demarche::suggest::word_set(s)
}

#[test]
fn suggest_writes_annotation_records_and_train_reads_them_back() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("suggest.jsonl");
    demarche()
        .args(["suggest", "--model", "models/demarche.model", "--n", "25", "-o"])
        .arg(&out)
        .args([
            "datasets/briefings/wire-kestrel-strait-talks.txt",
            "datasets/briefings/wire-la-paz-runoff-count.txt",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("suggested 25 of 44 statements"));
    let rows = jsonl(&fs::read_to_string(&out).unwrap());
    assert_eq!(rows.len(), 25);
    let mut last = f64::INFINITY;
    for r in &rows {
        for k in ["text", "source", "predicted", "probabilities", "label"] {
            assert!(r.get(k).is_some(), "missing {k}");
        }
        assert!(r["label"].is_null());
        assert!(r["source"].as_str().unwrap().starts_with("datasets/briefings/wire-"));
        let p: f64 = r["probabilities"].as_object().unwrap().values().map(f).sum();
        assert!((p - 1.0).abs() < 1e-4);
        let u = f(&r["uncertainty"]);
        assert!(u <= last + 1e-12, "ranked by entropy, most uncertain first");
        last = u;
    }
    // Margin strategy ranks by the gap between the two most probable labels.
    let margin = jsonl(&stdout(demarche().args([
        "suggest",
        "--n",
        "5",
        "--strategy",
        "margin",
        "datasets/briefings/wire-kestrel-strait-talks.txt",
    ])));
    assert_eq!(margin.len(), 5);
    let gaps: Vec<f64> = margin
        .iter()
        .map(|r| {
            let mut p: Vec<f64> = r["probabilities"].as_object().unwrap().values().map(f).collect();
            p.sort_by(|a, b| b.total_cmp(a));
            p[0] - p[1]
        })
        .collect();
    assert!(gaps.windows(2).all(|w| w[0] <= w[1] + 1e-6), "{gaps:?}");
    // Near-identical statements are suggested once.
    let dup = "We call on both sides to exercise restraint.\nWe call on both sides to exercise restraint!\n\
               We call on BOTH sides to exercise restraint.\nThe minister arrived on Tuesday.\n";
    let rows_dup = jsonl(&stdout(
        demarche()
            .args(["suggest", "--lines", "--n", "10", "-"])
            .write_stdin(dup),
    ));
    assert_eq!(rows_dup.len(), 2);
    let sets: Vec<BTreeSet<String>> = rows.iter().map(|r| word_set(r["text"].as_str().unwrap())).collect();
    for i in 0..sets.len() {
        for j in 0..i {
            assert!(demarche::suggest::jaccard(&sets[i], &sets[j]) < 0.8);
        }
    }
    // The annotator fills in 20 labels and leaves 5 null: train skips those with a count.
    let mut filled = String::new();
    let train = fs::read_to_string(root().join("datasets/train.jsonl")).unwrap();
    for l in train.lines().take(200) {
        filled += l;
        filled.push('\n');
    }
    for (i, r) in rows.iter().enumerate() {
        let mut r = r.clone();
        if i >= 5 {
            r["label"] = r["predicted"].clone();
        }
        filled += &serde_json::to_string(&r).unwrap();
        filled.push('\n');
    }
    let data = d.path().join("annotated.jsonl");
    fs::write(&data, filled).unwrap();
    demarche()
        .args(["train", "--data"])
        .arg(&data)
        .args(["--max-features", "300", "--out"])
        .arg(d.path().join("a.model"))
        .assert()
        .success()
        .stdout(predicate::str::contains("(220 statements"))
        .stdout(predicate::str::contains("skipped    5 rows with label null"));
}

#[test]
fn classify_summary_per_document() {
    let docs = [
        "datasets/briefings/wire-kestrel-strait-talks.txt",
        "datasets/briefings/transcript-new-delhi-weekly-briefing.txt",
    ];
    let summaries = jsonl(&stdout(
        demarche()
            .args(["classify", "--summary", "--format", "jsonl"])
            .args(docs),
    ));
    assert_eq!(summaries.len(), 2);
    for (s, doc) in summaries.iter().zip(docs) {
        assert_eq!(s["file"], doc);
        let rows = jsonl(&stdout(demarche().args(["classify", "--format", "jsonl", doc])));
        assert_eq!(s["statements"].as_u64().unwrap() as usize, rows.len());
        let labels = s["labels"].as_array().unwrap();
        assert_eq!(labels.len(), 4);
        let total: u64 = labels.iter().map(|l| l["count"].as_u64().unwrap()).sum();
        assert_eq!(total as usize, rows.len());
        let share: f64 = labels.iter().map(|l| f(&l["share"])).sum();
        assert!((share - 1.0).abs() < 1e-9);
        for l in labels {
            let of: Vec<&Value> = rows.iter().filter(|r| r["label"] == l["label"]).collect();
            assert_eq!(of.len() as u64, l["count"].as_u64().unwrap());
            if of.is_empty() {
                assert!(l["top"].is_null());
                continue;
            }
            let best = of.iter().map(|r| f(&r["confidence"])).fold(0.0, f64::max);
            assert!((f(&l["top"]["confidence"]) - best).abs() < 1e-6);
            let idx = l["top"]["index"].as_u64().unwrap() as usize;
            assert_eq!(rows[idx]["text"], l["top"]["text"]);
            assert_eq!(l["cameo"].as_str().unwrap().len(), 2);
        }
    }
    let table = stdout(demarche().args(["classify", "--summary", "--format", "table", docs[0]]));
    assert!(table.contains("== datasets/briefings/wire-kestrel-strait-talks.txt =="));
    assert!(table.contains("22 statements"));
    assert!(table.contains("most confident statement"));
    demarche()
        .args(["classify", "--summary", "--format", "csv", docs[0]])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--summary writes a table or JSON lines"));
}

#[test]
fn shipped_model_is_format_2_and_calibrated() {
    let m = demarche::model::Model::load(Path::new(&root().join("models/demarche.model"))).unwrap();
    assert_eq!(demarche::model::FORMAT_VERSION, 2);
    assert!(m.temperature > 0.0 && m.temperature != 1.0);
    assert!(m.info.metrics.contains_key("dev") && m.info.metrics.contains_key("test"));
}
