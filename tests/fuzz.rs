//! Property-based fuzzing of the input-facing parts: the segmenter (and the
//! streaming reader on top of it), the corpus reader and the model loader.
//! Seeds come from `fuzz/corpus/<target>/`; see `fuzz/README.md` for long runs
//! (`DEMARCHE_FUZZ_SECONDS`, `PROPTEST_CASES`).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use sha2::{Digest, Sha256};

use demarche::corpus::{Corpus, Format, ReadOptions};
use demarche::input::{DocumentStream, StreamOptions};
use demarche::model::Model;
use demarche::pipeline::Segmentation;
use demarche::segmenter::{segment, Segment, MAX_SEGMENT_BYTES};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = root().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Runs `test` on `strategy` for PROPTEST_CASES cases (default 64, fixed seeds),
/// and with DEMARCHE_FUZZ_SECONDS set, on fresh random seeds until that much time
/// has passed too. Prints the number of cases.
fn run_target<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let cases: u64 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let secs: Option<u64> = std::env::var("DEMARCHE_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok());
    let started = Instant::now();
    let deadline = secs.map(|s| started + Duration::from_secs(s));
    let mut total = 0u64;
    let mut round = 0u64;
    loop {
        let n = (cases - total.min(cases)).clamp(1, 2000) as u32;
        let n = if total >= cases { 2000 } else { n };
        let config = Config {
            cases: n,
            failure_persistence: None,
            ..Config::default()
        };
        let mut seed = [0u8; 32];
        let entropy = if deadline.is_some() {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        } else {
            0
        };
        seed[..8].copy_from_slice(&round.to_le_bytes());
        seed[8..16].copy_from_slice(&entropy.to_le_bytes());
        seed[16..16 + name.len().min(16)].copy_from_slice(&name.as_bytes()[..name.len().min(16)]);
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        match runner.run(&strategy, &test) {
            Ok(()) => {}
            Err(TestError::Fail(why, value)) => panic!("{name}: {why}\nminimal failing input: {value:?}"),
            Err(e) => panic!("{name}: {e}"),
        }
        total += n as u64;
        round += 1;
        let time_left = deadline.is_some_and(|d| Instant::now() < d);
        if total >= cases && !time_left {
            break;
        }
    }
    eprintln!(
        "fuzz target {name}: {total} cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---- segmenter ----

/// Pieces that exercise the segmenter's rules, plus arbitrary characters.
fn piece() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "We",
        "will",
        "act",
        "the",
        "talks",
        "Mr.",
        "Gen.",
        "U.S.",
        "U.N.",
        "a.m.",
        "p.m.",
        "No.",
        "No",
        "Jan.",
        "e.g.",
        "J.",
        "3.5",
        "1.",
        "(b)",
        "iv.",
        ".",
        ".",
        "?",
        "!",
        "...",
        "\u{2026}",
        "\"",
        "\u{201d}",
        "'",
        ")",
        ",",
        ";",
        "-",
        ":",
        " ",
        " ",
        " ",
        "  ",
        "\t",
        "\n",
        "\n",
        "\n\n",
        "\r\n",
        " \n \n",
        "MR. PRICE: ",
        "QUESTION:",
        "\nMS. X: ",
        "10:30",
        "NOTE:see",
        "\u{e9}t\u{e9}",
        "\u{4e2d}\u{6587}",
        "\u{a0}",
        "\u{3000}",
        "\u{fffd}",
        "\u{200b}",
        "Tuesday",
        "The",
        "It",
        "however",
    ]);
    prop_oneof![
        8 => fixed.prop_map(str::to_string),
        1 => any::<char>().prop_map(|c| c.to_string()),
        1 => "[a-z]{1,12}".prop_map(|s| s),
        1 => (1usize..3000).prop_map(|n| "x".repeat(n)),
    ]
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..120).prop_map(|v| v.concat())
}

/// Whether the character at `p` lies in a transcript turn label: on its line,
/// after leading whitespace, a run of upper-case letters, spaces, periods,
/// apostrophes and hyphens closed by a colon that covers `p`.
fn in_turn_label(doc: &str, p: usize) -> bool {
    let line_start = doc[..p].rfind('\n').map_or(0, |i| i + 1);
    let line_end = doc[p..].find('\n').map_or(doc.len(), |i| p + i);
    let line = &doc[line_start..line_end];
    let lead = line.len() - line.trim_start().len();
    let Some(colon) = line[lead..].find(':') else {
        return false;
    };
    let label = &line[lead..lead + colon];
    p <= line_start + lead + colon
        && label
            .chars()
            .all(|c| c.is_uppercase() || matches!(c, ' ' | '.' | '\'' | '-'))
}

/// Statements are in order, non-overlapping, trimmed, capped, and every
/// non-whitespace character outside turn labels is in exactly one of them.
fn check_segments(doc: &str, segs: &[(usize, usize)]) -> Result<(), TestCaseError> {
    for &(s, e) in segs {
        prop_assert!(s < e && e <= doc.len(), "bad range {s}..{e}");
        prop_assert!(doc.is_char_boundary(s) && doc.is_char_boundary(e));
        let t = &doc[s..e];
        prop_assert_eq!(t, t.trim(), "statement not trimmed");
        prop_assert!(e - s <= MAX_SEGMENT_BYTES, "statement of {} bytes", e - s);
    }
    for w in segs.windows(2) {
        prop_assert!(w[0].1 <= w[1].0, "statements out of order or overlapping: {:?}", w);
    }
    let mut k = 0;
    for (p, c) in doc.char_indices() {
        while k < segs.len() && segs[k].1 <= p {
            k += 1;
        }
        let covered = k < segs.len() && segs[k].0 <= p;
        if !c.is_whitespace() && !covered {
            prop_assert!(in_turn_label(doc, p), "character {c:?} at byte {p} is in no statement");
        }
    }
    Ok(())
}

fn ranges(segs: &[Segment]) -> Vec<(usize, usize)> {
    segs.iter().map(|s| (s.start, s.end)).collect()
}

fn stream(doc: &str, opts: StreamOptions) -> Result<Vec<(usize, usize, Option<String>)>, TestCaseError> {
    let mut s = match DocumentStream::new("doc".into(), Cursor::new(doc.as_bytes().to_vec()), opts) {
        Ok(s) => s,
        Err(e) => return Err(TestCaseError::fail(e.to_string())),
    };
    let mut out = Vec::new();
    loop {
        match s.next_batch() {
            Ok(Some(b)) => {
                for x in b {
                    prop_assert_eq!(&x.text, &doc[x.start..x.end]);
                    out.push((x.start, x.end, x.turn));
                }
            }
            Ok(None) => return Ok(out),
            Err(demarche::Error::EmptyInput { .. })
                if doc.trim().is_empty() || doc.bytes().all(|b| b.is_ascii_whitespace()) =>
            {
                return Ok(out)
            }
            Err(e) => return Err(TestCaseError::fail(format!("stream failed: {e}"))),
        }
    }
}

fn segmenter_case(doc: &str, max_buffer: usize, read_chunk: usize) -> Result<(), TestCaseError> {
    let whole = segment(doc);
    check_segments(doc, &ranges(&whole))?;
    if doc.as_bytes()[..doc.len().min(8192)].contains(&0) {
        return Ok(()); // refused as binary by the stream, as it should
    }
    // Streaming with a buffer larger than the document gives the same statements.
    let big = StreamOptions {
        read_chunk,
        ..StreamOptions::default()
    };
    let streamed = stream(doc, big)?;
    let expect: Vec<(usize, usize, Option<String>)> = whole.into_iter().map(|s| (s.start, s.end, s.turn)).collect();
    prop_assert_eq!(&streamed, &expect);
    // A tiny buffer forces carries: the invariants still hold.
    let small = StreamOptions {
        max_buffer,
        read_chunk,
        ..StreamOptions::default()
    };
    let streamed: Vec<(usize, usize)> = stream(doc, small)?.into_iter().map(|s| (s.0, s.1)).collect();
    check_segments(doc, &streamed)?;
    // --lines mode.
    let lines = StreamOptions {
        mode: Segmentation::Lines,
        max_buffer,
        read_chunk,
        ..StreamOptions::default()
    };
    let streamed: Vec<(usize, usize)> = stream(doc, lines)?.into_iter().map(|s| (s.0, s.1)).collect();
    check_segments(doc, &streamed)?;
    Ok(())
}

#[test]
fn fuzz_segmenter() {
    for s in seeds("segmenter") {
        let doc = String::from_utf8_lossy(&s).into_owned();
        segmenter_case(&doc, 256, 7).unwrap();
    }
    run_target(
        "segmenter",
        (document(), 16usize..4096, 1usize..200),
        |(doc, max_buffer, read_chunk)| segmenter_case(&doc, max_buffer, read_chunk),
    );
}

// ---- corpus reader ----

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let token = prop::sample::select(vec![
        &b"\""[..],
        b"\\",
        b",",
        b"\n",
        b"\r\n",
        b"{",
        b"}",
        b"[",
        b"null",
        b"1e999",
        b"\"label\":",
        b"\"text\":",
        b"\xff",
        b"\xef\xbb\xbf",
        b"\xc3",
        b"\x00",
        b"\"\"",
    ]);
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
        (any::<usize>(), token).prop_map(|(p, t)| Edit::Insert(p, t.to_vec())),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(p, v)| Edit::Insert(p, v)),
        (any::<usize>(), 1usize..64).prop_map(|(p, n)| Edit::Delete(p, n)),
    ];
    prop::collection::vec(edit, 0..8)
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        match e {
            Edit::Flip(p, x) if !b.is_empty() => {
                let n = b.len();
                b[p % n] = *x;
            }
            Edit::Flip(..) => {}
            Edit::Insert(p, v) => {
                let at = p % (b.len() + 1);
                b.splice(at..at, v.iter().copied());
            }
            Edit::Delete(p, n) if !b.is_empty() => {
                let at = p % b.len();
                let end = (at + n).min(b.len());
                b.drain(at..end);
            }
            Edit::Delete(..) => {}
        }
    }
    b
}

fn corpus_case(bytes: &[u8]) -> Result<(), TestCaseError> {
    for (name, format) in [("c.jsonl", Format::Jsonl), ("c.csv", Format::Csv)] {
        for allow_conflicts in [false, true] {
            if let Ok(c) = Corpus::from_bytes(Path::new(name), bytes, format, ReadOptions { allow_conflicts }) {
                prop_assert!(!c.examples.is_empty());
                for e in &c.examples {
                    prop_assert!(!e.text.trim().is_empty() && !e.label.is_empty());
                }
            }
        }
    }
    Ok(())
}

#[test]
fn fuzz_corpus_reader() {
    let seeds = seeds("corpus_reader");
    for s in &seeds {
        corpus_case(s).unwrap();
    }
    let n = seeds.len();
    run_target(
        "corpus_reader",
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512).prop_map(|b| (usize::MAX, b, vec![])),
            (0..n, edits()).prop_map(|(i, e)| (i, vec![], e)),
        ],
        |(i, raw, e)| {
            let bytes = if i == usize::MAX {
                raw
            } else {
                apply(seeds[i].clone(), &e)
            };
            corpus_case(&bytes)
        },
    );
}

// ---- model loader ----

/// A model file with `payload` and a correct header, so decoding and validation run.
fn with_header(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(demarche::model::MAGIC);
    out.extend_from_slice(&demarche::model::FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(payload));
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, Clone)]
enum ModelEdit {
    /// Raw edits of the file bytes (the checksum usually catches them).
    Raw(Vec<Edit>),
    /// Raw edits of the payload, with the header recomputed.
    Payload(Vec<Edit>),
    /// A JSON field replaced, with the header recomputed.
    Field(usize, usize, serde_json::Value),
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(|v| json!(v)),
        prop::sample::select(vec![0.0, -1.0, 1e308, 4.0, 2.0, 8001.0, 0.5]).prop_map(|v| json!(v)),
        Just(json!("")),
        Just(json!([])),
        Just(json!({})),
        Just(json!(u64::MAX)),
        Just(json!(4294967297u64)),
    ]
}

const FIELDS: &[&str] = &[
    "/labels",
    "/weights",
    "/intercept",
    "/featurizer/keys",
    "/featurizer/idf",
    "/featurizer/config/ngram_max",
    "/featurizer/config/cues",
    "/featurizer/config/cue_weight",
    "/info/vocab_size",
    "/info/n_features",
    "/tokenizer",
];

fn model_case(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(m) = Model::from_bytes(Path::new("m.model"), bytes) {
        for text in ["We will act.", "", "\u{fffd}\u{0}x", "We urge restraint and talks."] {
            if let Ok(p) = m.predict(text) {
                prop_assert!(p.label < m.labels.len());
                prop_assert_eq!(p.probabilities.len(), m.labels.len());
            }
        }
    }
    Ok(())
}

#[test]
fn fuzz_model_loader() {
    let good = std::fs::read(root().join("models/demarche.model")).unwrap();
    for s in seeds("model_loader") {
        model_case(&s).unwrap();
    }
    model_case(&good).unwrap();
    let payload = good[52..].to_vec();
    let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    run_target(
        "model_loader",
        prop_oneof![
            edits().prop_map(ModelEdit::Raw),
            edits().prop_map(ModelEdit::Payload),
            (0..FIELDS.len(), any::<usize>(), json_value()).prop_map(|(f, i, v)| ModelEdit::Field(f, i, v)),
        ],
        |edit| {
            let bytes = match edit {
                ModelEdit::Raw(e) => apply(good.clone(), &e),
                ModelEdit::Payload(e) => with_header(&apply(payload.clone(), &e)),
                ModelEdit::Field(f, i, v) => {
                    let mut j = json.clone();
                    if let Some(target) = j.pointer_mut(FIELDS[f]) {
                        match target {
                            // Replace one element of an array, or the whole value.
                            serde_json::Value::Array(a) if !a.is_empty() && i % 3 != 0 => {
                                let n = a.len();
                                if i % 3 == 1 {
                                    a[i % n] = v;
                                } else {
                                    a.truncate(i % n);
                                }
                            }
                            other => *other = v,
                        }
                    }
                    with_header(&serde_json::to_vec(&j).unwrap())
                }
            };
            model_case(&bytes)
        },
    );
}
