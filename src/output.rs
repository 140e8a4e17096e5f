//! Writers for classified statements: aligned table, JSON Lines and CSV.

use std::io::Write;

use serde_json::json;

use crate::pipeline::{DocumentSummary, Explanation, Statement};

/// CAMEO root code of a label of the project codebook (see `datasets/CODEBOOK.md`).
pub fn cameo_root(label: &str) -> Option<&'static str> {
    match label {
        "commitment" => Some("03"),
        "warning" => Some("13"),
        "reconciliation_appeal" => Some("02"),
        "neutral" => Some("01"),
        _ => None,
    }
}

/// One statement as a JSON object.
pub fn statement_json(s: &Statement, labels: &[String]) -> serde_json::Value {
    let probs: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .zip(&s.probabilities)
        .map(|(l, p)| (l.clone(), json!(round6(*p))))
        .collect();
    let mut v = json!({
        "file": s.file,
        "index": s.index,
        "start": s.start,
        "end": s.end,
        "text": s.text,
        "turn": s.turn,
        "speaker": s.speaker,
        "label": s.label,
        "predicted": s.predicted,
        "cameo": cameo_root(&s.predicted),
        "confidence": round6(s.confidence),
        "probabilities": probs,
    });
    if let Some(e) = &s.explanation {
        let obj = v.as_object_mut().expect("object");
        obj.insert("explained_label".into(), json!(e.label));
        obj.insert("logit".into(), json!(e.logit));
        obj.insert("intercept".into(), json!(e.intercept));
        obj.insert(
            "explanation".into(),
            serde_json::to_value(&e.features).expect("contributions serialize"),
        );
        obj.insert("other_features".into(), json!(e.rest));
        obj.insert("temperature".into(), json!(e.temperature));
    }
    v
}

/// The compact explanation line of the table: `why: +1.23 we will, ...`.
pub fn explanation_line(e: &Explanation) -> String {
    let mut parts: Vec<String> = e
        .features
        .iter()
        .map(|c| format!("{:+.2} {}", c.contribution, c.feature))
        .collect();
    if e.rest != 0.0 {
        parts.push(format!("{:+.2} other", e.rest));
    }
    format!(
        "why {}: {} | intercept {:+.2} = logit {:.2}",
        e.label,
        parts.join(", "),
        e.intercept,
        e.logit
    )
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

pub fn write_jsonl(w: &mut dyn Write, statements: &[Statement], labels: &[String]) -> std::io::Result<()> {
    for s in statements {
        serde_json::to_writer(&mut *w, &statement_json(s, labels))?;
        w.write_all(b"\n")?;
    }
    Ok(())
}

pub fn write_csv_header(w: &mut dyn Write, labels: &[String]) -> std::io::Result<()> {
    let mut wr = csv::Writer::from_writer(w);
    let mut header: Vec<String> = ["file", "index", "start", "end", "label", "predicted", "confidence"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(labels.iter().map(|l| format!("p_{l}")));
    header.push("speaker".into());
    header.push("text".into());
    wr.write_record(&header).map_err(std::io::Error::other)?;
    wr.flush()
}

pub fn write_csv(w: &mut dyn Write, statements: &[Statement]) -> std::io::Result<()> {
    let mut wr = csv::Writer::from_writer(w);
    // Fields written one by one from borrowed text; numbers go through one reused buffer.
    let mut num = String::new();
    let mut field = |wr: &mut csv::Writer<&mut dyn Write>, args: std::fmt::Arguments| {
        use std::fmt::Write as _;
        num.clear();
        num.write_fmt(args).expect("formatting into a String");
        wr.write_field(&num)
    };
    for s in statements {
        wr.write_field(&s.file)?;
        field(&mut wr, format_args!("{}", s.index))?;
        field(&mut wr, format_args!("{}", s.start))?;
        field(&mut wr, format_args!("{}", s.end))?;
        wr.write_field(&s.label)?;
        wr.write_field(&s.predicted)?;
        field(&mut wr, format_args!("{:.6}", s.confidence))?;
        for p in &s.probabilities {
            field(&mut wr, format_args!("{p:.6}"))?;
        }
        wr.write_field(s.speaker.as_deref().unwrap_or_default())?;
        wr.write_field(&s.text)?;
        wr.write_record(None::<&[u8]>)?;
    }
    wr.flush()
}

/// An aligned table for one document, with a summary line of counts per label
/// (the streaming table writer, fed the whole document at once).
pub fn write_table(w: &mut dyn Write, file: &str, statements: &[Statement], labels: &[String]) -> std::io::Result<()> {
    let mut t = StreamWriter::new(Format::Table, labels);
    t.begin_file(w, file)?;
    t.write(w, statements)?;
    t.end_file(w)
}

/// "summary: 24 statements: neutral 12 (50.0%), ...", labels by descending count.
pub fn summary_line(statements: &[Statement], labels: &[String]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for s in statements {
        *counts.entry(s.label.clone()).or_insert(0) += 1;
    }
    summary_from_counts(statements.len(), &counts, labels)
}

/// [`summary_line`] from counts per label.
pub fn summary_from_counts(
    n: usize,
    by_label: &std::collections::BTreeMap<String, usize>,
    labels: &[String],
) -> String {
    let mut names: Vec<String> = labels.to_vec();
    if by_label.get(crate::pipeline::UNCERTAIN).is_some_and(|&c| c > 0) {
        names.push(crate::pipeline::UNCERTAIN.to_string());
    }
    let mut counts: Vec<(String, usize)> = names
        .into_iter()
        .map(|l| {
            let c = by_label.get(&l).copied().unwrap_or(0);
            (l, c)
        })
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let parts: Vec<String> = counts
        .iter()
        .map(|(l, c)| {
            format!(
                "{l} {c} ({:.0}%)",
                if n == 0 { 0.0 } else { 100.0 * *c as f64 / n as f64 }
            )
        })
        .collect();
    format!("summary: {n} statements: {}", parts.join(", "))
}

/// Output formats of `classify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Jsonl,
    Csv,
}

/// Writes classified statements as they come, batch by batch, in any format.
pub struct StreamWriter {
    renderer: Renderer,
    n: usize,
    counts: std::collections::BTreeMap<String, usize>,
}

/// The stateless part of [`StreamWriter`]: turns a batch of statements into
/// output bytes, on any thread (the classification workers do it, so the
/// writing thread only copies bytes).
#[derive(Debug, Clone)]
pub struct Renderer {
    format: Format,
    labels: Vec<String>,
}

/// Width of the table's byte-range column (ranges past it just widen the row).
const TABLE_BYTES_WIDTH: usize = 13;

impl Renderer {
    fn label_width(&self) -> usize {
        self.labels.iter().map(|l| l.len()).chain([9, 5]).max().unwrap_or(9)
    }

    /// The bytes [`StreamWriter::write`] writes for `statements`.
    pub fn render(&self, statements: &[Statement]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(statements.len() * 256);
        self.render_into(&mut out, statements)?;
        Ok(out)
    }

    fn render_into(&self, w: &mut dyn Write, statements: &[Statement]) -> std::io::Result<()> {
        match self.format {
            Format::Jsonl => write_jsonl(w, statements, &self.labels),
            Format::Csv => write_csv(w, statements),
            Format::Table => {
                let lw = self.label_width();
                for s in statements {
                    let text = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
                    writeln!(
                        w,
                        "{:>4}  {:<bw$}  {:<lw$}  {:>5.2}  {}",
                        s.index,
                        format!("{}-{}", s.start, s.end),
                        s.label,
                        s.confidence,
                        text,
                        bw = TABLE_BYTES_WIDTH
                    )?;
                    if let Some(sp) = &s.speaker {
                        writeln!(w, "{:>4}  {:<bw$}  speaker: {sp}", "", "", bw = TABLE_BYTES_WIDTH)?;
                    }
                    if let Some(e) = &s.explanation {
                        writeln!(
                            w,
                            "{:>4}  {:<bw$}  {}",
                            "",
                            "",
                            explanation_line(e),
                            bw = TABLE_BYTES_WIDTH
                        )?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl StreamWriter {
    pub fn new(format: Format, labels: &[String]) -> Self {
        StreamWriter {
            renderer: Renderer {
                format,
                labels: labels.to_vec(),
            },
            n: 0,
            counts: Default::default(),
        }
    }

    pub fn format(&self) -> Format {
        self.renderer.format
    }

    /// A renderer for this writer's format, to render batches on other threads.
    pub fn renderer(&self) -> Renderer {
        self.renderer.clone()
    }

    /// Writes what comes before the first document (the CSV header).
    pub fn start(&mut self, w: &mut dyn Write) -> std::io::Result<()> {
        if self.renderer.format == Format::Csv {
            write_csv_header(w, &self.renderer.labels)?;
        }
        Ok(())
    }

    pub fn begin_file(&mut self, w: &mut dyn Write, name: &str) -> std::io::Result<()> {
        self.n = 0;
        self.counts.clear();
        if self.renderer.format == Format::Table {
            writeln!(w, "== {name} ==")?;
            writeln!(
                w,
                "{:>4}  {:<bw$}  {:<lw$}  {:>5}  text",
                "#",
                "bytes",
                "label",
                "conf",
                bw = TABLE_BYTES_WIDTH,
                lw = self.renderer.label_width()
            )?;
        }
        Ok(())
    }

    fn count(&mut self, statements: &[Statement]) {
        for s in statements {
            self.n += 1;
            match self.counts.get_mut(&s.label) {
                Some(c) => *c += 1,
                None => {
                    self.counts.insert(s.label.clone(), 1);
                }
            }
        }
    }

    pub fn write(&mut self, w: &mut dyn Write, statements: &[Statement]) -> std::io::Result<()> {
        self.count(statements);
        self.renderer.render_into(w, statements)
    }

    /// Writes a batch already rendered by [`Renderer::render`].
    pub fn write_rendered(&mut self, w: &mut dyn Write, statements: &[Statement], bytes: &[u8]) -> std::io::Result<()> {
        self.count(statements);
        w.write_all(bytes)
    }

    pub fn end_file(&mut self, w: &mut dyn Write) -> std::io::Result<()> {
        if self.renderer.format == Format::Table {
            writeln!(
                w,
                "{}",
                summary_from_counts(self.n, &self.counts, &self.renderer.labels)
            )?;
            writeln!(w)?;
        }
        Ok(())
    }
}

/// A document summary as a table.
pub fn write_summary_table(w: &mut dyn Write, d: &DocumentSummary) -> std::io::Result<()> {
    writeln!(w, "== {} ==", d.file)?;
    writeln!(w, "{} statements", d.statements)?;
    let lw = d.labels.iter().map(|l| l.label.len()).chain([5]).max().unwrap_or(5);
    writeln!(
        w,
        "  {:<lw$}  {:>5}  {:>6}  {:>5}  most confident statement",
        "label", "count", "share", "conf"
    )?;
    for l in &d.labels {
        match &l.top {
            Some(t) => {
                let text: String = t.text.split_whitespace().collect::<Vec<_>>().join(" ");
                writeln!(
                    w,
                    "  {:<lw$}  {:>5}  {:>5.1}%  {:>5.2}  #{} {}",
                    l.label,
                    l.count,
                    100.0 * l.share,
                    t.confidence,
                    t.index,
                    text
                )?
            }
            None => writeln!(
                w,
                "  {:<lw$}  {:>5}  {:>5.1}%  {:>5}  -",
                l.label,
                l.count,
                100.0 * l.share,
                "-"
            )?,
        }
    }
    writeln!(w)
}

/// A document summary as one JSON line.
pub fn write_summary_json(w: &mut dyn Write, d: &DocumentSummary) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, d)?;
    w.write_all(b"\n")
}
