//! Labeled corpora: JSON Lines (`{"text": ..., "label": ...}`) or CSV with a
//! `text,label` header. Extra fields (speaker, register, group, ...) are kept as
//! strings so evaluation can group by them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One labeled statement of a corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: String,
    /// 1-based line of the record in its file (the first line for multi-line CSV records).
    pub line: usize,
    /// Every other field of the record, as text (`null` fields are left out).
    pub fields: BTreeMap<String, String>,
}

/// A corpus read from one file.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub path: PathBuf,
    pub examples: Vec<Example>,
    /// Records whose label was `null` or empty (e.g. an annotation file not yet finished).
    pub skipped_unlabeled: usize,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// With `allow_conflicts`: rows dropped because an earlier row has the same
    /// text with another label, as (line dropped, line kept).
    pub conflicts_dropped: Vec<(usize, usize)>,
}

/// Options of [`Corpus::read_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Keep going when the same text carries two labels (the later rows are dropped with a warning count).
    pub allow_conflicts: bool,
}

impl Corpus {
    /// Reads a corpus, choosing the format by extension (`.jsonl`/`.json`/`.ndjson` or `.csv`).
    pub fn read(path: impl AsRef<Path>) -> Result<Corpus> {
        Self::read_with(path, ReadOptions::default())
    }

    pub fn read_with(path: impl AsRef<Path>, opts: ReadOptions) -> Result<Corpus> {
        let path = path.as_ref();
        let format = Format::from_path(path)?;
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(path, &bytes, format, opts)
    }

    /// Parses corpus bytes already in memory; `path` is only used in messages.
    pub fn from_bytes(path: &Path, bytes: &[u8], format: Format, opts: ReadOptions) -> Result<Corpus> {
        let sha256 = hex(&Sha256::digest(bytes));
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let (records, skipped_unlabeled) = match format {
            Format::Jsonl => parse_jsonl(path, bytes)?,
            Format::Csv => parse_csv(path, bytes)?,
        };
        let (examples, conflicts_dropped) = check_conflicts(path, records, opts)?;
        if examples.is_empty() {
            return Err(Error::Corpus {
                path: path.to_path_buf(),
                message: "no labeled examples".into(),
            });
        }
        Ok(Corpus {
            path: path.to_path_buf(),
            examples,
            skipped_unlabeled,
            sha256,
            conflicts_dropped,
        })
    }

    /// Sorted distinct labels.
    pub fn labels(&self) -> Vec<String> {
        let mut v: Vec<String> = self.examples.iter().map(|e| e.label.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Count per label, sorted by label.
    pub fn label_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for e in &self.examples {
            *m.entry(e.label.clone()).or_insert(0) += 1;
        }
        m
    }

    pub fn texts(&self) -> Vec<&str> {
        self.examples.iter().map(|e| e.text.as_str()).collect()
    }
}

/// Corpus file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "json" | "ndjson" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            _ => Err(Error::UnknownFormat {
                path: path.to_path_buf(),
                ext,
            }),
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_err(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Checks a text field: present, a string, not blank.
fn check_text(path: &Path, line: usize, text: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(parse_err(path, line, "empty text"));
    }
    Ok(())
}

fn parse_jsonl(path: &Path, bytes: &[u8]) -> Result<(Vec<Example>, usize)> {
    let mut out = Vec::new();
    let mut skipped = 0;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let s = std::str::from_utf8(raw).map_err(|e| {
            parse_err(
                path,
                line,
                format!(
                    "not valid UTF-8 (at byte {} of the line); re-save the file as UTF-8",
                    e.valid_up_to()
                ),
            )
        })?;
        if s.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(s).map_err(|e| parse_err(path, line, format!("malformed JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| parse_err(path, line, "expected a JSON object with \"text\" and \"label\""))?;
        let text = match obj.get("text") {
            None => return Err(parse_err(path, line, "missing field \"text\"")),
            Some(serde_json::Value::String(t)) => t.clone(),
            Some(other) => {
                return Err(parse_err(
                    path,
                    line,
                    format!("field \"text\" must be a string, found {}", json_kind(other)),
                ))
            }
        };
        let label = match obj.get("label") {
            None => return Err(parse_err(path, line, "missing field \"label\"")),
            Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(l)) if l.trim().is_empty() => None,
            Some(serde_json::Value::String(l)) => Some(l.trim().to_string()),
            Some(other) => {
                return Err(parse_err(
                    path,
                    line,
                    format!("field \"label\" must be a string, found {}", json_kind(other)),
                ))
            }
        };
        check_text(path, line, &text)?;
        let Some(label) = label else {
            skipped += 1;
            continue;
        };
        let mut fields = BTreeMap::new();
        for (k, v) in obj {
            if k == "text" || k == "label" {
                continue;
            }
            match v {
                serde_json::Value::Null => {}
                serde_json::Value::String(s) => {
                    fields.insert(k.clone(), s.clone());
                }
                other => {
                    fields.insert(k.clone(), other.to_string());
                }
            }
        }
        out.push(Example {
            text,
            label,
            line,
            fields,
        });
    }
    Ok((out, skipped))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn parse_csv(path: &Path, bytes: &[u8]) -> Result<(Vec<Example>, usize)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(csv_err(path, e)),
    };
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(parse_err(
            path,
            1,
            "missing CSV header; the first line must name the columns, e.g. text,label",
        ));
    }
    let names: Vec<String> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            std::str::from_utf8(h)
                .map(|s| s.trim().to_string())
                .map_err(|_| parse_err(path, 1, format!("header column {} is not valid UTF-8", i + 1)))
        })
        .collect::<Result<_>>()?;
    let col = |want: &str| names.iter().position(|n| n.eq_ignore_ascii_case(want));
    let (Some(ti), Some(li)) = (col("text"), col("label")) else {
        return Err(parse_err(
            path,
            1,
            format!(
                "CSV header must have columns \"text\" and \"label\", found: {}",
                names.join(",")
            ),
        ));
    };
    let mut out = Vec::new();
    let mut skipped = 0;
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_err(path, e)),
        }
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let mut values = Vec::with_capacity(rec.len());
        for (i, field) in rec.iter().enumerate() {
            let s = std::str::from_utf8(field).map_err(|e| {
                parse_err(
                    path,
                    line,
                    format!(
                        "column {:?} is not valid UTF-8 (at byte {}); re-save the file as UTF-8",
                        names[i],
                        e.valid_up_to()
                    ),
                )
            })?;
            values.push(s);
        }
        if values.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        let text = values[ti].to_string();
        check_text(path, line, &text)?;
        let label = values[li].trim();
        if label.is_empty() {
            skipped += 1;
            continue;
        }
        let fields = names
            .iter()
            .zip(values.iter())
            .enumerate()
            .filter(|(i, (_, v))| *i != ti && *i != li && !v.is_empty())
            .map(|(_, (k, v))| (k.clone(), v.to_string()))
            .collect();
        out.push(Example {
            text,
            label: label.to_string(),
            line,
            fields,
        });
    }
    Ok((out, skipped))
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("row has {len} fields but the header has {expected_len}; quote fields that contain commas")
        }
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8; re-save the file as UTF-8".to_string(),
        _ => format!("malformed CSV: {e}"),
    };
    parse_err(path, line, message)
}

/// The same text with two different labels is an annotation error; exact
/// duplicates with one label are kept (they are the annotator's choice).
type Conflicts = Vec<(usize, usize)>;

fn check_conflicts(path: &Path, examples: Vec<Example>, opts: ReadOptions) -> Result<(Vec<Example>, Conflicts)> {
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    let mut out = Vec::with_capacity(examples.len());
    let mut dropped = Vec::new();
    for ex in examples {
        let key = normalize_for_dedup(&ex.text);
        match seen.get(&key) {
            Some((line, label)) if *label != ex.label => {
                if opts.allow_conflicts {
                    dropped.push((ex.line, *line));
                    continue;
                }
                return Err(parse_err(
                    path,
                    ex.line,
                    format!(
                        "the same text is labeled {:?} here and {:?} on line {}; fix one, or pass --allow-conflicts to keep the first",
                        ex.label, label, line
                    ),
                ));
            }
            Some(_) => {}
            None => {
                seen.insert(key, (ex.line, ex.label.clone()));
            }
        }
        out.push(ex);
    }
    Ok((out, dropped))
}

/// Case- and whitespace-insensitive key for duplicate detection.
pub fn normalize_for_dedup(text: &str) -> String {
    text.split_whitespace()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jsonl(s: &str) -> Result<Corpus> {
        Corpus::from_bytes(
            Path::new("c.jsonl"),
            s.as_bytes(),
            Format::Jsonl,
            ReadOptions::default(),
        )
    }
    fn csv(s: &str) -> Result<Corpus> {
        Corpus::from_bytes(Path::new("c.csv"), s.as_bytes(), Format::Csv, ReadOptions::default())
    }

    #[test]
    fn reads_jsonl_with_bom_crlf_and_extra_fields() {
        let c = jsonl("\u{feff}{\"text\":\"We will help.\",\"label\":\"commitment\",\"group\":\"g1\"}\r\n\r\n{\"text\":\"Stop it.\",\"label\":\"warning\"}\r\n").unwrap();
        assert_eq!(c.examples.len(), 2);
        assert_eq!(c.examples[0].fields["group"], "g1");
        assert_eq!(c.examples[1].line, 3);
        assert_eq!(c.labels(), vec!["commitment", "warning"]);
    }

    #[test]
    fn jsonl_errors_name_the_line() {
        let e = jsonl("{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":1,\"label\":\"x\"}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.jsonl:2: field \"text\" must be a string, found a number"
        );
        let e = jsonl("{\"label\":\"x\"}\n").unwrap_err();
        assert!(e.to_string().contains(":1: missing field \"text\""));
        let e = jsonl("[1,2]\n").unwrap_err();
        assert!(e.to_string().contains("expected a JSON object"));
        let e = jsonl("{\"text\":\"  \",\"label\":\"x\"}\n").unwrap_err();
        assert!(e.to_string().contains("empty text"));
        let e = jsonl("{\"text\":\"a\",\"label\":\"x\"}\n{bad\n").unwrap_err();
        assert!(e.to_string().starts_with("c.jsonl:2: malformed JSON"));
    }

    #[test]
    fn jsonl_invalid_utf8_names_line() {
        let bytes = b"{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"\xff\",\"label\":\"x\"}\n";
        let e = Corpus::from_bytes(Path::new("c.jsonl"), bytes, Format::Jsonl, ReadOptions::default()).unwrap_err();
        assert!(e.to_string().starts_with("c.jsonl:2: not valid UTF-8"), "{e}");
    }

    #[test]
    fn null_labels_are_skipped_and_counted() {
        let c = jsonl("{\"text\":\"a\",\"label\":null}\n{\"text\":\"b\",\"label\":\"x\"}\n").unwrap();
        assert_eq!(c.examples.len(), 1);
        assert_eq!(c.skipped_unlabeled, 1);
    }

    #[test]
    fn conflicting_labels_are_an_error_with_both_lines() {
        let e =
            jsonl("{\"text\":\"Same  text\",\"label\":\"a\"}\n{\"text\":\"same text\",\"label\":\"b\"}\n").unwrap_err();
        let m = e.to_string();
        assert!(m.starts_with("c.jsonl:2:") && m.contains("line 1"), "{m}");
        let c = Corpus::from_bytes(
            Path::new("c.jsonl"),
            b"{\"text\":\"t\",\"label\":\"a\"}\n{\"text\":\"t\",\"label\":\"b\"}\n",
            Format::Jsonl,
            ReadOptions { allow_conflicts: true },
        )
        .unwrap();
        assert_eq!(c.examples.len(), 1);
    }

    #[test]
    fn reads_csv_with_quoted_newlines_and_commas() {
        let c = csv("label,text,speaker\nwarning,\"Stop, now.\nOr else.\",UN\ncommitment,We will help.,\n").unwrap();
        assert_eq!(c.examples.len(), 2);
        assert_eq!(c.examples[0].text, "Stop, now.\nOr else.");
        assert_eq!(c.examples[0].fields["speaker"], "UN");
        assert_eq!(c.examples[1].line, 4);
    }

    #[test]
    fn csv_errors() {
        let e = csv("sentence,class\na,b\n").unwrap_err();
        assert!(
            e.to_string().contains("must have columns \"text\" and \"label\""),
            "{e}"
        );
        let e = csv("text,label\na,b,c\n").unwrap_err();
        assert!(e.to_string().starts_with("c.csv:2: row has 3 fields"), "{e}");
    }

    #[test]
    fn unknown_extension() {
        let e = Format::from_path(Path::new("x.txt")).unwrap_err();
        assert!(e.to_string().contains("unknown corpus format"));
    }
}
