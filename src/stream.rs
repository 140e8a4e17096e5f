//! `classify --stream`: a strict line filter for engines that pipe rows through a
//! command (Spark SQL `TRANSFORM ... USING`, `rdd.pipe`, Hadoop Streaming).
//!
//! One line in, one line out, in order, flushed after every batch. Input lines
//! are tab-separated fields; the statement is field `text_field` (1-based).
//! Output: optionally the input fields, then label, confidence and one
//! probability per model label, tab-separated. A line whose text field is
//! missing, empty or Spark's null marker `\N` gets `\N` in every output column.

use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::sync::{mpsc, Arc};

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
    let threads = f.threads.max(1);
    if threads == 1 {
        return filter(input, out, f, &mut |batch| classify_rows(model, &batch, f));
    }
    // Workers live for the whole run: each thread keeps its own tokenizer memo
    // warm, which threads spawned per batch would start cold every time.
    std::thread::scope(|s| {
        let mut workers = Vec::with_capacity(threads);
        let mut handles = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (job_tx, job_rx) = mpsc::channel::<(Arc<Vec<String>>, Range<usize>)>();
            let (res_tx, res_rx) = mpsc::channel::<Result<Vec<String>>>();
            handles.push(s.spawn(move || {
                for (batch, range) in job_rx {
                    if res_tx.send(classify_rows(model, &batch[range], f)).is_err() {
                        return;
                    }
                }
            }));
            workers.push((job_tx, res_rx));
        }
        let panicked = || Error::Invalid("a classification thread panicked".into());
        let result = filter(input, out, f, &mut |batch| {
            let per = batch.len().div_ceil(threads);
            let mut used = 0;
            for (start, (tx, _)) in (0..batch.len()).step_by(per).zip(&workers) {
                let range = start..(start + per).min(batch.len());
                tx.send((Arc::clone(&batch), range)).map_err(|_| panicked())?;
                used += 1;
            }
            let mut rows = Vec::with_capacity(batch.len());
            for (_, rx) in workers.iter().take(used) {
                rows.extend(rx.recv().map_err(|_| panicked())??);
            }
            Ok(rows)
        });
        // Closing the job channels ends the workers.
        drop(workers);
        for h in handles {
            h.join().map_err(|_| panicked())?;
        }
        result
    })
}

/// The line loop of [`run`]: `classify` gets each batch of raw lines and returns
/// their result columns in order.
fn filter(
    input: &mut dyn Read,
    out: &mut dyn Write,
    f: &StreamFilter,
    classify: &mut dyn FnMut(Arc<Vec<String>>) -> Result<Vec<String>>,
) -> Result<usize> {
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
            let lines = Arc::new(std::mem::replace(&mut batch, Vec::with_capacity(f.batch)));
            let rows = classify(Arc::clone(&lines))?;
            for (raw, cols) in lines.iter().zip(rows) {
                if f.passthrough {
                    out.write_all(raw.as_bytes()).map_err(io)?;
                    out.write_all(b"\t").map_err(io)?;
                }
                out.write_all(cols.as_bytes()).map_err(io)?;
                out.write_all(b"\n").map_err(io)?;
            }
            out.flush().map_err(io)?;
            n += lines.len();
        }
        if read == 0 {
            return Ok(n);
        }
    }
}

fn classify_rows(model: &Model, lines: &[String], f: &StreamFilter) -> Result<Vec<String>> {
    lines
        .iter()
        .map(|raw| {
            let field = raw.split('\t').nth(f.text_field - 1);
            let text = field.filter(|t| *t != NULL && !t.trim().is_empty()).map(unescape);
            result_columns(model, text.as_deref())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_spark_text() {
        assert_eq!(unescape("a\\tb\\nc\\\\d\\x"), "a\tb\nc\\d\\x");
    }
}
