//! Integration tests of the analyst features (issue 6) on the project's own data:
//! explanations, the model card, speaker attribution, calibration, the HTML
//! report, suggest-to-label and document summaries.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demarche() -> Command {
    let mut c = Command::cargo_bin("demarche").unwrap();
    c.current_dir(root());
    c.env_remove("DEMARCHE_MODEL");
    c
}

fn stdout(c: &mut Command) -> String {
    String::from_utf8(c.assert().success().get_output().stdout.clone()).unwrap()
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
fn eval_reports_calibration() {
    let text = stdout(demarche().args(["eval", "--data", "datasets/test.jsonl", "--errors", "0", "--json", "-"]));
    assert!(text.contains("calibration (temperature 0.7727): ECE"));
    assert!(text.contains("  confidence   count  mean-conf  accuracy     gap"));
    let r = trailing_json(&text);
    let c = &r["calibration"];
    let bins = c["bins"].as_array().unwrap();
    assert_eq!(bins.len(), 10);
    let n: u64 = bins.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(n, 852);
    let ece: f64 = bins
        .iter()
        .map(|b| b["count"].as_f64().unwrap() / 852.0 * (f(&b["accuracy"]) - f(&b["mean_confidence"])).abs())
        .sum();
    assert!((ece - f(&c["ece"])).abs() < 1e-12);
    // Accuracy from the bins equals the report's.
    let correct: f64 = bins.iter().map(|b| f(&b["count"]) * f(&b["accuracy"])).sum();
    assert!((correct / 852.0 - f(&r["accuracy"])).abs() < 1e-9);
    // Without the fitted temperature the model is worse calibrated on test; labels are the same.
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
    assert_eq!(raw["confusion"], r["confusion"]);
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

#[test]
fn shipped_model_is_format_2_and_calibrated() {
    let m = demarche::model::Model::load(Path::new(&root().join("models/demarche.model"))).unwrap();
    assert_eq!(demarche::model::FORMAT_VERSION, 2);
    assert!(m.temperature > 0.0 && m.temperature != 1.0);
    assert!(m.info.metrics.contains_key("dev") && m.info.metrics.contains_key("test"));
}
