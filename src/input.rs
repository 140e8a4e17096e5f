//! Classify input, read as a stream: documents of any size are cut into pieces
//! that no statement crosses (paragraphs at blank lines, or lines with
//! `--lines`), so memory stays bounded whatever the input size.
//!
//! A paragraph longer than [`StreamOptions::max_buffer`] is segmented as far as
//! it goes; the statements found are emitted except the last, which may still
//! continue and is carried into the next piece. A statement is never longer
//! than [`crate::segmenter::MAX_SEGMENT_BYTES`], so the carry stays small.
//!
//! Offsets are byte offsets in the decoded text (the same as in the file unless
//! invalid UTF-8 was replaced by U+FFFD).

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;

use crate::error::{Error, Result};
use crate::pipeline::{split, Segmentation};
use crate::segmenter::{segment_from, Segment};

/// How much of the start of an input is checked for NUL bytes (binary data).
pub const SNIFF_BYTES: usize = 8192;

/// Settings of a [`DocumentStream`].
#[derive(Debug, Clone, Copy)]
pub struct StreamOptions {
    pub mode: Segmentation,
    /// Refuse invalid UTF-8 instead of replacing it with U+FFFD.
    pub strict: bool,
    /// Largest piece of text held before it is segmented.
    pub max_buffer: usize,
    /// Largest number of bytes read at once.
    pub read_chunk: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            mode: Segmentation::Prose,
            strict: false,
            max_buffer: 1 << 20,
            read_chunk: 64 << 10,
        }
    }
}

/// A statement found in the stream, with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSegment {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub turn: Option<String>,
    /// The text between the previous statement and this one (whitespace and
    /// transcript turn labels; a paragraph break at the start of a new block),
    /// so a batch can be laid out again as a document for speaker attribution.
    /// Empty with one statement per line, which has no attribution.
    pub lead: String,
}

/// Checks an input file before anything is written: it exists, is not a folder,
/// is not binary, has some text, and (with `strict`) is valid UTF-8. Reads the
/// file in bounded chunks.
pub fn check_file(path: &Path, strict: bool) -> Result<()> {
    let (name, file) = open_file(path)?;
    let mut r = BufReader::with_capacity(64 << 10, file);
    let mut pos: u64 = 0;
    let mut line: u64 = 1;
    let mut has_text = false;
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let chunk = r.fill_buf().map_err(|e| Error::Input {
            name: name.clone(),
            source: e,
        })?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        if pos < SNIFF_BYTES as u64 {
            let head = &chunk[..n.min(SNIFF_BYTES - pos as usize)];
            if let Some(i) = head.iter().position(|&b| b == 0) {
                return Err(Error::BinaryInput {
                    name,
                    at: pos + i as u64,
                });
            }
        }
        if !has_text && chunk.iter().any(|b| !b.is_ascii_whitespace()) {
            has_text = true;
        }
        if strict {
            let start = pos - pending.len() as u64;
            pending.extend_from_slice(chunk);
            match std::str::from_utf8(&pending) {
                Ok(_) => {
                    line += bytecount(&pending);
                    pending.clear();
                }
                Err(e) if e.error_len().is_none() => {
                    let good = e.valid_up_to();
                    line += bytecount(&pending[..good]);
                    pending.drain(..good);
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    return Err(Error::InvalidUtf8 {
                        name,
                        line: line + bytecount(&pending[..good]),
                        byte: start + good as u64,
                    });
                }
            }
        } else if has_text && pos >= SNIFF_BYTES as u64 {
            return Ok(());
        }
        pos += n as u64;
        r.consume(n);
    }
    if strict && !pending.is_empty() {
        return Err(Error::InvalidUtf8 {
            name,
            line,
            byte: pos - pending.len() as u64,
        });
    }
    if !has_text {
        return Err(Error::EmptyInput {
            name,
            what: if pos == 0 {
                "the file is empty"
            } else {
                "only whitespace"
            },
        });
    }
    Ok(())
}

fn bytecount(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

/// Opens an input for streaming: "-" is standard input.
pub fn open(path: &Path, opts: StreamOptions) -> Result<DocumentStream<Box<dyn BufRead + Send>>> {
    if path.as_os_str() == "-" {
        let reader: Box<dyn BufRead + Send> = Box::new(BufReader::new(std::io::stdin()));
        return DocumentStream::new("<stdin>".into(), reader, opts);
    }
    let (name, file) = open_file(path)?;
    DocumentStream::new(name, Box::new(BufReader::with_capacity(64 << 10, file)), opts)
}

/// Opens an input file with the errors a user should see (folder, missing, unreadable).
fn open_file(path: &Path) -> Result<(String, File)> {
    let name = path.display().to_string();
    if path.is_dir() {
        return Err(Error::IsDirectory { name });
    }
    let file = File::open(path).map_err(|e| Error::Input {
        name: name.clone(),
        source: e,
    })?;
    Ok((name, file))
}

/// Statements of one document, read piece by piece.
pub struct DocumentStream<R: BufRead> {
    name: String,
    reader: std::io::Chain<Cursor<Vec<u8>>, R>,
    opts: StreamOptions,
    /// Decoded text not yet segmented; starts at document offset `base`.
    buf: String,
    base: usize,
    /// Bytes of an incomplete UTF-8 sequence at the end of the last read.
    raw_pending: Vec<u8>,
    /// Raw bytes and lines read so far (for messages).
    raw_pos: u64,
    raw_line: u64,
    /// The current line has non-whitespace text (prose mode: decides blank lines).
    line_has_text: bool,
    /// The turn in force at the start of `buf`, and whether `buf` starts mid-line.
    turn: Option<String>,
    mid_line: bool,
    eof: bool,
    any_text: bool,
    warnings: Vec<String>,
    warned_utf8: bool,
    /// Reused buffer for the bytes of one read.
    scratch: Vec<u8>,
}

impl<R: BufRead> DocumentStream<R> {
    /// Wraps a reader; the first [`SNIFF_BYTES`] are read at once and refused if binary.
    pub fn new(name: String, mut reader: R, opts: StreamOptions) -> Result<Self> {
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut reader)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| Error::Input {
                name: name.clone(),
                source: e,
            })?;
        if let Some(i) = head.iter().position(|&b| b == 0) {
            return Err(Error::BinaryInput { name, at: i as u64 });
        }
        Ok(DocumentStream {
            name,
            reader: Cursor::new(head).chain(reader),
            opts,
            buf: String::new(),
            base: 0,
            raw_pending: Vec::new(),
            raw_pos: 0,
            raw_line: 1,
            line_has_text: false,
            turn: None,
            mid_line: false,
            eof: false,
            any_text: false,
            warnings: Vec::new(),
            warned_utf8: false,
            scratch: Vec::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Warnings (e.g. replaced invalid UTF-8) since the last call.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The next statements, in order; `None` at the end of the input. An input
    /// without any text is an error.
    pub fn next_batch(&mut self) -> Result<Option<Vec<StreamSegment>>> {
        loop {
            if self.eof {
                if self.buf.is_empty() {
                    if !self.any_text {
                        self.any_text = true; // report once
                        return Err(Error::EmptyInput {
                            name: self.name.clone(),
                            what: if self.raw_pos == 0 {
                                "the input is empty"
                            } else {
                                "only whitespace"
                            },
                        });
                    }
                    return Ok(None);
                }
                let out = self.flush_all();
                if !out.is_empty() {
                    return Ok(Some(out));
                }
                continue;
            }
            let boundary = self.read_piece()?;
            let out = if boundary {
                self.flush_all()
            } else if self.buf.len() > self.opts.max_buffer {
                self.flush_partial()
            } else {
                continue;
            };
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }

    /// Reads up to the end of a line or `read_chunk` bytes; returns whether the
    /// buffer now ends at a boundary no statement crosses.
    fn read_piece(&mut self) -> Result<bool> {
        let chunk = self.reader.fill_buf().map_err(|e| Error::Input {
            name: self.name.clone(),
            source: e,
        })?;
        if chunk.is_empty() {
            self.eof = true;
            self.decode(&[], true)?;
            return Ok(false);
        }
        let limit = chunk.len().min(self.opts.read_chunk);
        // With one statement per line every line end is a boundary, so take all
        // whole lines at once (one read and split per piece, not per line);
        // prose needs to see each line to find the blank ones.
        let newline = match self.opts.mode {
            Segmentation::Lines => chunk[..limit].iter().rposition(|&b| b == b'\n'),
            Segmentation::Prose => chunk[..limit].iter().position(|&b| b == b'\n'),
        };
        let (n, line_end) = match newline {
            Some(i) => (i + 1, true),
            None => (limit, false),
        };
        let bytes = std::mem::take(&mut self.scratch);
        let mut bytes = bytes;
        bytes.clear();
        bytes.extend_from_slice(&chunk[..n]);
        self.reader.consume(n);
        let has_text = bytes.iter().any(|b| !b.is_ascii_whitespace());
        let lines = bytecount(&bytes);
        let decoded = self.decode(&bytes, false);
        self.scratch = bytes;
        decoded?;
        self.raw_pos += n as u64;
        if has_text {
            self.any_text = true;
        }
        if !line_end {
            self.line_has_text |= has_text;
            return Ok(false);
        }
        self.raw_line += lines;
        let blank = !(self.line_has_text || has_text);
        self.line_has_text = false;
        Ok(match self.opts.mode {
            Segmentation::Lines => self.raw_pending.is_empty(),
            Segmentation::Prose => blank && self.raw_pending.is_empty(),
        })
    }

    /// Appends decoded bytes to the buffer; invalid UTF-8 is an error with
    /// `strict`, otherwise replaced with U+FFFD and warned about once.
    fn decode(&mut self, bytes: &[u8], at_eof: bool) -> Result<()> {
        let mut input = std::mem::take(&mut self.raw_pending);
        let pending_len = input.len() as u64;
        input.extend_from_slice(bytes);
        let mut i = 0;
        loop {
            match std::str::from_utf8(&input[i..]) {
                Ok(s) => {
                    self.buf.push_str(s);
                    return Ok(());
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    self.buf.push_str(&String::from_utf8_lossy(&input[i..i + good]));
                    let bad = match e.error_len() {
                        Some(n) => n,
                        None if !at_eof => {
                            self.raw_pending = input[i + good..].to_vec();
                            return Ok(());
                        }
                        None => input.len() - i - good,
                    };
                    let byte = self.raw_pos - pending_len + (i + good) as u64;
                    let line = self.raw_line + bytecount(&input[..i + good]);
                    if self.opts.strict {
                        return Err(Error::InvalidUtf8 {
                            name: self.name.clone(),
                            line,
                            byte,
                        });
                    }
                    if !self.warned_utf8 {
                        self.warned_utf8 = true;
                        self.warnings.push(format!(
                            "{}:{line}: invalid UTF-8 at byte {byte}; bad bytes replaced with U+FFFD (use --strict to refuse)",
                            self.name
                        ));
                    }
                    self.buf.push('\u{FFFD}');
                    i += good + bad;
                }
            }
        }
    }

    fn segment_buf(&self) -> (Vec<Segment>, Option<String>) {
        match self.opts.mode {
            Segmentation::Prose => segment_from(&self.buf, self.turn.clone(), self.mid_line),
            Segmentation::Lines => (split(&self.buf, Segmentation::Lines), None),
        }
    }

    fn to_stream(&self, segs: &[Segment]) -> Vec<StreamSegment> {
        let mut prev_end = 0;
        segs.iter()
            .map(|s| {
                // Only speaker attribution (prose) reads the lead; lines skip the copy.
                let mut lead = String::new();
                if self.opts.mode == Segmentation::Prose {
                    if prev_end == 0 && self.base > 0 {
                        lead.push_str("\n\n");
                    }
                    lead.push_str(&self.buf[prev_end..s.start]);
                }
                prev_end = s.end;
                StreamSegment {
                    start: self.base + s.start,
                    end: self.base + s.end,
                    text: s.text(&self.buf).to_string(),
                    turn: s.turn.clone(),
                    lead,
                }
            })
            .collect()
    }

    /// Segments the whole buffer (it ends at a boundary) and empties it.
    fn flush_all(&mut self) -> Vec<StreamSegment> {
        let (segs, turn) = self.segment_buf();
        let out = self.to_stream(&segs);
        self.advance(self.buf.len(), turn);
        out
    }

    /// Segments an over-long buffer; keeps the last statement, which may continue.
    fn flush_partial(&mut self) -> Vec<StreamSegment> {
        let (segs, turn) = self.segment_buf();
        match segs.last() {
            Some(last) if self.buf.len() - last.start <= self.opts.max_buffer / 2 => {
                let keep_from = last.start;
                let keep_turn = last.turn.clone();
                let out = self.to_stream(&segs[..segs.len() - 1]);
                self.advance(keep_from, keep_turn);
                out
            }
            _ => {
                // Nothing but whitespace follows the last statement for half a buffer:
                // the statement is complete.
                let out = self.to_stream(&segs);
                self.advance(self.buf.len(), turn);
                out
            }
        }
    }

    /// Drops the first `n` bytes of the buffer; `turn` is in force after them.
    fn advance(&mut self, n: usize, turn: Option<String>) {
        if n > 0 {
            self.mid_line = match self.buf[..n].rfind('\n') {
                Some(i) => i + 1 < n,
                None => true,
            };
        }
        self.buf.drain(..n);
        self.base += n;
        self.turn = turn;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segmenter::segment;

    fn stream_all(text: &[u8], opts: StreamOptions) -> Result<Vec<StreamSegment>> {
        let mut s = DocumentStream::new("t".into(), Cursor::new(text.to_vec()), opts)?;
        let mut out = Vec::new();
        while let Some(b) = s.next_batch()? {
            out.extend(b);
        }
        Ok(out)
    }

    #[test]
    fn streaming_equals_whole_document_segmentation() {
        let doc = "MR. PRICE: Good afternoon. We will act.\n\nQUESTION:\n\nIs it over? Yes.\nNo.\n\n\nThe end\n";
        let whole: Vec<(usize, usize, Option<String>)> =
            segment(doc).into_iter().map(|s| (s.start, s.end, s.turn)).collect();
        let streamed: Vec<(usize, usize, Option<String>)> = stream_all(doc.as_bytes(), StreamOptions::default())
            .unwrap()
            .into_iter()
            .map(|s| (s.start, s.end, s.turn))
            .collect();
        assert_eq!(streamed, whole);
        assert_eq!(streamed[2].2.as_deref(), Some("QUESTION"));
    }

    #[test]
    fn long_paragraphs_are_carried_over() {
        let doc = "We will act now. NOTE: this is not a turn. ".repeat(500);
        let opts = StreamOptions {
            max_buffer: 300,
            read_chunk: 7,
            ..Default::default()
        };
        let streamed = stream_all(doc.as_bytes(), opts).unwrap();
        let whole = segment(&doc);
        assert_eq!(streamed.len(), whole.len());
        for (a, b) in streamed.iter().zip(&whole) {
            assert_eq!((a.start, a.end), (b.start, b.end));
            assert_eq!(a.text, b.text(&doc));
            assert_eq!(a.turn, None);
        }
    }

    #[test]
    fn invalid_utf8_split_across_reads() {
        let mut doc = "Caf\u{e9} one. ".as_bytes().to_vec();
        doc.extend_from_slice(b"Bad \xff byte.\n");
        let opts = StreamOptions {
            read_chunk: 4,
            ..Default::default()
        };
        let mut s = DocumentStream::new("t".into(), Cursor::new(doc.clone()), opts).unwrap();
        let mut out = Vec::new();
        while let Some(b) = s.next_batch().unwrap() {
            out.extend(b);
        }
        assert_eq!(out[0].text, "Caf\u{e9} one.");
        assert_eq!(out[1].text, "Bad \u{FFFD} byte.");
        let w = s.take_warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("at byte 15"), "{w:?}");
        let strict = StreamOptions { strict: true, ..opts };
        let e = stream_all(&doc, strict).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t:1: invalid UTF-8 at byte 15; re-save the file as UTF-8, or drop --strict to replace bad bytes with U+FFFD"
        );
    }

    #[test]
    fn empty_and_binary_inputs() {
        for (doc, what) in [
            (&b""[..], "the input is empty"),
            (&b" \n\n\t \n"[..], "only whitespace"),
        ] {
            let e = stream_all(doc, StreamOptions::default()).unwrap_err();
            assert!(e.to_string().contains(what), "{e}");
        }
        let e = stream_all(b"ab\x00cd", StreamOptions::default()).unwrap_err();
        assert!(e.to_string().contains("binary data (NUL byte at byte 2)"), "{e}");
    }
}
