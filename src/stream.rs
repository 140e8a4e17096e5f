//! `classify --stream`: a strict line filter for engines that pipe rows through a
//! command (Spark SQL `TRANSFORM ... USING`, `rdd.pipe`, Hadoop Streaming).
//!
//! One line in, one line out, in order, flushed after every batch. Input lines
//! are tab-separated fields; the statement is field `text_field` (1-based).
//! Output: optionally the input fields, then label, confidence and one
//! probability per model label, tab-separated. A line whose text field is
//! missing, empty or Spark's null marker `\N` gets `\N` in every output column.

use std::io::{BufRead, BufReader, Read, Write};

use crate::error::{Error, Result};
use crate::model::Model;

/// Spark's and Hive's text null marker.
pub const NULL: &str = "\\N";

/// Settings of [`run`].
#[derive(Debug, Clone, Copy)]
pub struct StreamFilter {
    /// 1-based index of the tab-separated field holding the statement.
    pub text_field: usize,
    /// Copy the input fields in front of the results.
    pub passthrough: bool,
    /// Most lines classified together before output is flushed.
    pub batch: usize,
    pub threads: usize,
}

impl Default for StreamFilter {
    fn default() -> Self {
        StreamFilter {
            text_field: 1,
            passthrough: false,
            batch: 1024,
            threads: 1,
        }
    }
}

/// Undoes the escapes Spark and Hive use in text rows (`\t`, `\n`, `\r`, `\\`).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn result_columns(model: &Model, text: Option<&str>) -> Result<String> {
    let k = model.labels.len();
    let Some(text) = text else {
        return Ok(vec![NULL; k + 2].join("\t"));
    };
    let p = model.predict(text)?;
    let mut cols = vec![model.labels[p.label].clone(), format!("{:.6}", p.confidence())];
    cols.extend(p.probabilities.iter().map(|v| format!("{v:.6}")));
    Ok(cols.join("\t"))
}

/// Classifies lines from `input` and writes one line per input line to `out`;
/// returns the number of lines.
pub fn run(model: &Model, input: &mut dyn Read, out: &mut dyn Write, f: &StreamFilter) -> Result<usize> {
    if f.text_field == 0 {
        return Err(Error::Invalid("--text-field counts from 1".into()));
    }
    let io = |e: std::io::Error| Error::Invalid(format!("stream: {e}"));
    // Our own buffer, so we can tell without blocking whether more input is waiting.
    let mut input = BufReader::with_capacity(1 << 16, input);
    let mut n = 0;
    let mut batch: Vec<String> = Vec::with_capacity(f.batch);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = input.read_until(b'\n', &mut line).map_err(io)?;
        if read > 0 {
            let s = String::from_utf8_lossy(&line);
            batch.push(s.trim_end_matches(['\n', '\r']).to_string());
        }
        // Flush when the batch is full, at the end, or when no more input is
        // waiting, so an interactive pipe sees each answer promptly.
        let idle = read == 0 || !input.buffer().contains(&b'\n');
        if !batch.is_empty() && (batch.len() >= f.batch.max(1) || idle) {
            let rows = classify_rows(model, &batch, f)?;
            for (raw, cols) in batch.iter().zip(rows) {
                if f.passthrough {
                    out.write_all(raw.as_bytes()).map_err(io)?;
                    out.write_all(b"\t").map_err(io)?;
                }
                out.write_all(cols.as_bytes()).map_err(io)?;
                out.write_all(b"\n").map_err(io)?;
            }
            out.flush().map_err(io)?;
            n += batch.len();
            batch.clear();
        }
        if read == 0 {
            return Ok(n);
        }
    }
}

fn classify_rows(model: &Model, batch: &[String], f: &StreamFilter) -> Result<Vec<String>> {
    let one = |raw: &String| -> Result<String> {
        let field = raw.split('\t').nth(f.text_field - 1);
        let text = field.filter(|t| *t != NULL && !t.trim().is_empty()).map(unescape);
        result_columns(model, text.as_deref())
    };
    let threads = f.threads.max(1).min(batch.len());
    if threads <= 1 {
        return batch.iter().map(one).collect();
    }
    let per = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(per)
            .map(|chunk| s.spawn(move || chunk.iter().map(one).collect::<Result<Vec<String>>>()))
            .collect();
        let mut out = Vec::with_capacity(batch.len());
        for h in handles {
            out.extend(
                h.join()
                    .unwrap_or_else(|_| Err(Error::Invalid("a classification thread panicked".into())))?,
            );
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_spark_text() {
        assert_eq!(unescape("a\\tb\\nc\\\\d\\x"), "a\tb\nc\\d\\x");
    }
}
