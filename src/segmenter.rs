//! Splits raw briefing prose into statements with byte offsets.
//!
//! Rules (the same conventions as the gold files in `datasets/briefings/`):
//! - a sentence ends at `.`, `?`, `!` or an ellipsis, plus any closing quotes or
//!   brackets, when whitespace and then a character that is not lower-case follow;
//! - abbreviations (Mr., Gen., Rep., e.g.), initials (J. R. Tan), list markers
//!   ("1. The Ministers ...") and decimals never end a sentence; "No." and "para."
//!   are abbreviations only before a number; months ("Jan.") and dotted acronyms
//!   (U.S., U.N.) end one only when a typical sentence opener follows ("... the
//!   U.S. The ministry said"); "a.m."/"p.m." end one unless a day or time zone
//!   follows; an ellipsis marks an omission and does not end one;
//! - a quote with attribution stays one statement (`"...," Price said.`) because
//!   the comma is not a terminator and `"...?" he asked` continues in lower case;
//! - a blank line always ends a statement; a single newline does too unless the
//!   next line clearly continues (starts in lower case, or the line ends with a
//!   comma or hyphen), since one-paragraph-per-line files are the common case;
//! - transcript turn labels at the start of a line (`MR. PRICE:`, `QUESTION:`)
//!   belong to no statement; the statements after them carry the label as `turn`;
//! - no statement is longer than [`MAX_SEGMENT_BYTES`]: text without punctuation
//!   is cut at whitespace so that later stages stay linear.

/// Longest statement, in bytes, before a forced cut at whitespace.
pub const MAX_SEGMENT_BYTES: usize = 2000;

/// One statement found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset one past the last character.
    pub end: usize,
    /// The transcript turn label the statement falls under (e.g. `MS. OKAFOR`), if any.
    pub turn: Option<String>,
}

impl Segment {
    pub fn text<'a>(&self, doc: &'a str) -> &'a str {
        &doc[self.start..self.end]
    }
}

/// Words that are always followed by a period that does not end the sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "gen", "rep", "reps", "sen", "sens", "gov", "lt", "col", "sgt", "capt", "cmdr", "adm",
    "maj", "brig", "cpl", "pvt", "prof", "st", "no", "nos", "vs", "amb", "pres", "sec", "hon", "rev", "fr", "mt", "ft",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "e.g", "i.e", "cf", "approx",
    "art", "arts", "para", "paras", "vol", "pp", "fig", "dept", "est", "min", "max", "ref", "gov't", "govt",
];

/// Words that typically open a sentence: after a dotted acronym ("U.S.") one of
/// these means the acronym ended the sentence.
const SENTENCE_OPENERS: &[&str] = &[
    "the",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "we",
    "i",
    "he",
    "she",
    "they",
    "our",
    "his",
    "her",
    "their",
    "in",
    "on",
    "at",
    "for",
    "but",
    "and",
    "a",
    "an",
    "as",
    "there",
    "if",
    "when",
    "while",
    "after",
    "before",
    "since",
    "some",
    "many",
    "officials",
    "asked",
    "speaking",
    "according",
    "meanwhile",
    "however",
    "still",
    "yet",
    "both",
    "all",
    "no",
    "not",
    "what",
    "why",
    "how",
    "last",
    "earlier",
    "later",
    "today",
    "yesterday",
];

const CLOSERS: &[char] = &['"', '\'', '\u{201d}', '\u{2019}', ')', ']'];

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '?' | '!' | '\u{2026}')
}

/// Splits `doc` into statements.
pub fn segment(doc: &str) -> Vec<Segment> {
    segment_from(doc, None, false).0
}

/// Splits a piece of a longer document into statements, for streaming: `turn` is
/// the transcript turn in force where the piece starts, `mid_line` says that the
/// piece starts in the middle of a line (so its first line cannot open with a turn
/// label). Returns the statements and the turn in force at the end of the piece.
pub fn segment_from(doc: &str, turn: Option<String>, mid_line: bool) -> (Vec<Segment>, Option<String>) {
    let mut out = Vec::new();
    let (blocks, turn) = blocks(doc, turn, mid_line);
    for block in blocks {
        split_block(doc, block, &mut out);
    }
    (out, turn)
}

/// A stretch of text no statement crosses.
#[derive(Debug, Clone)]
struct Block {
    start: usize,
    end: usize,
    turn: Option<String>,
}

/// Cuts the document into blocks at blank lines, hard line breaks and turn labels.
fn blocks(doc: &str, mut turn: Option<String>, mid_line: bool) -> (Vec<Block>, Option<String>) {
    let mut out: Vec<Block> = Vec::new();
    let mut cur: Option<Block> = None;
    let mut prev_line: Option<&str> = None;
    let mut offset = 0;
    for (n, raw) in doc.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            if let Some(b) = cur.take() {
                out.push(b);
            }
            prev_line = None;
            continue;
        }
        let lead = line.len() - line.trim_start().len();
        let mut content_start = line_start + lead;
        let mut new_turn = false;
        if let Some((label, len)) = turn_label(&line[lead..]).filter(|_| !(mid_line && n == 0)) {
            turn = Some(label);
            content_start += len;
            new_turn = true;
        }
        let continues = !new_turn && cur.is_some() && prev_line.is_some_and(|p| continues_onto(p, &line[lead..]));
        if !continues {
            if let Some(b) = cur.take() {
                out.push(b);
            }
        }
        let line_end = line_start + line.len();
        if content_start < line_end && !doc[content_start..line_end].trim().is_empty() {
            match cur.as_mut() {
                Some(b) => b.end = line_end,
                None => {
                    cur = Some(Block {
                        start: content_start,
                        end: line_end,
                        turn: turn.clone(),
                    })
                }
            }
            prev_line = Some(line);
        } else {
            prev_line = None;
        }
    }
    if let Some(b) = cur.take() {
        out.push(b);
    }
    (out, turn)
}

/// Whether a line (after a single newline) continues the previous one.
fn continues_onto(prev: &str, next: &str) -> bool {
    let p = prev.trim_end();
    if p.ends_with(',') || p.ends_with('-') || p.ends_with(';') {
        return true;
    }
    next.chars().next().is_some_and(|c| c.is_lowercase())
}

/// Recognises a transcript turn label such as `MR. PRICE:` or `QUESTION:` at the
/// start of `line`; returns the label and the bytes it spans (with the colon and
/// following spaces).
fn turn_label(line: &str) -> Option<(String, usize)> {
    let colon = line.find(':')?;
    if colon == 0 || colon > 40 {
        return None;
    }
    let label = &line[..colon];
    let mut upper = 0;
    for c in label.chars() {
        if c.is_uppercase() {
            upper += 1;
        } else if !matches!(c, ' ' | '.' | '\'' | '-') {
            return None;
        }
    }
    if upper < 2 || !label.starts_with(|c: char| c.is_uppercase()) {
        return None;
    }
    let rest = &line[colon + 1..];
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None; // "10:30" style or a URL, not a turn
    }
    let spaces = rest.len() - rest.trim_start().len();
    Some((label.trim().to_string(), colon + 1 + spaces))
}

fn split_block(doc: &str, block: Block, out: &mut Vec<Segment>) {
    let text = &doc[block.start..block.end];
    let mut seg_start: Option<usize> = None;
    let mut iter = text.char_indices().peekable();
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    while let Some((i, c)) = iter.next() {
        if seg_start.is_none() {
            if c.is_whitespace() {
                continue;
            }
            seg_start = Some(i);
        }
        if !is_terminator(c) {
            continue;
        }
        // Consume the run of terminators and closing quotes/brackets.
        let mut run_end = i + c.len_utf8();
        let mut n_term = 1;
        let mut has_closer = false;
        while let Some(&(j, d)) = iter.peek() {
            if is_terminator(d) {
                n_term += 1;
            } else if CLOSERS.contains(&d) {
                has_closer = true;
            } else {
                break;
            }
            run_end = j + d.len_utf8();
            iter.next();
        }
        let after = &text[run_end..];
        if !after.is_empty() && !after.starts_with(char::is_whitespace) {
            continue; // "3.5", "U.S.-led", "e.g.,"
        }
        let next = after.trim_start();
        if next.is_empty() {
            continue; // end of block closes the segment below
        }
        let start = seg_start.expect("set above");
        if ends_sentence(&text[start..i], c, n_term, has_closer, next) {
            pieces.push((start, run_end));
            seg_start = None;
        }
    }
    if let Some(start) = seg_start {
        let end = text.trim_end().len();
        if end > start {
            pieces.push((start, end));
        }
    }
    for (s, e) in pieces {
        push_capped(doc, block.start + s, block.start + e, &block.turn, out);
    }
}

/// Abbreviations that are only abbreviations before a number ("No. 5", "para. 3");
/// "No." alone is an answer.
const BEFORE_NUMBER: &[&str] = &["no", "nos", "art", "arts", "para", "paras", "vol", "pp", "fig"];
const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
];
/// Words that may follow "a.m."/"p.m." inside the same sentence.
const AFTER_TIME: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "gmt",
    "utc",
    "est",
    "edt",
    "cet",
    "cest",
    "local",
    "eastern",
    "pacific",
    "central",
];

/// Decides whether the terminator `c` ends the sentence that began with
/// `before`, given the text `next` that follows the whitespace.
fn ends_sentence(before: &str, c: char, n_term: usize, has_closer: bool, next: &str) -> bool {
    let first = next.chars().next().expect("non-empty");
    if first.is_lowercase() {
        return false;
    }
    if n_term >= 3 || c == '\u{2026}' {
        // An ellipsis marks an omission or a trailing-off, not the end: "clear ... I mean".
        return has_closer;
    }
    if c != '.' || n_term > 1 || has_closer {
        return true; // ?, !, or a period inside a closing quote
    }
    let before_trim = before.trim();
    if is_list_marker(before_trim) {
        return false; // "1. The Ministers ..."
    }
    let word = before
        .rsplit(|ch: char| ch.is_whitespace() || ch == '(' || ch == '"' || ch == '\u{201c}')
        .next()
        .unwrap_or("");
    let lower = word.to_lowercase();
    let next_word: String = next
        .chars()
        .take_while(|ch| ch.is_alphanumeric() || *ch == '\'')
        .collect::<String>()
        .to_lowercase();
    let opener = SENTENCE_OPENERS.contains(&next_word.as_str());
    if BEFORE_NUMBER.contains(&lower.as_str()) {
        return !first.is_ascii_digit();
    }
    if MONTHS.contains(&lower.as_str()) {
        return !first.is_ascii_digit() && opener; // "Jan. 4" vs "on 1 Aug. We call ..."
    }
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return false;
    }
    let letters: Vec<char> = word.chars().collect();
    if letters.len() == 1 && letters[0].is_uppercase() {
        return false; // an initial: "J. R. Tan"
    }
    if lower == "a.m" || lower == "p.m" {
        // "at 9 a.m. Tuesday", "12:01 a.m. Washington time" continue the sentence.
        let second = next.split_whitespace().nth(1).unwrap_or("").to_lowercase();
        let zone = second.trim_end_matches(|ch: char| !ch.is_alphanumeric()) == "time";
        return !AFTER_TIME.contains(&next_word.as_str()) && !zone && !first.is_ascii_digit();
    }
    if is_dotted_acronym(word) {
        return opener;
    }
    true
}

/// "1", "12", "a", "iv", "(b)" before a period at the start of a statement.
fn is_list_marker(s: &str) -> bool {
    let s = s.trim_start_matches('(').trim_end_matches(')');
    !s.is_empty()
        && s.len() <= 4
        && (s.chars().all(|c| c.is_ascii_digit())
            || (s.len() == 1 && s.chars().all(|c| c.is_ascii_lowercase()))
            || s.chars().all(|c| matches!(c, 'i' | 'v' | 'x' | 'I' | 'V' | 'X')))
}

/// "U.S", "U.N", "a.m", "D.C" (the final period is the terminator being judged).
fn is_dotted_acronym(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| p.chars().count() == 1 && p.chars().all(char::is_alphabetic))
}

/// Pushes a segment, cutting it at whitespace when it is longer than the cap.
pub(crate) fn push_capped(doc: &str, mut start: usize, end: usize, turn: &Option<String>, out: &mut Vec<Segment>) {
    while end - start > MAX_SEGMENT_BYTES {
        let mut cut = start + MAX_SEGMENT_BYTES;
        while !doc.is_char_boundary(cut) {
            cut -= 1;
        }
        let window = &doc[start..cut];
        let split = window
            .rfind(char::is_whitespace)
            .filter(|&p| p > 0)
            .map(|p| start + p)
            .unwrap_or(cut);
        let seg_end = start + doc[start..split].trim_end().len();
        out.push(Segment {
            start,
            end: seg_end,
            turn: turn.clone(),
        });
        let rest = &doc[split..end];
        start = split + (rest.len() - rest.trim_start().len());
        if start >= end {
            return;
        }
    }
    out.push(Segment {
        start,
        end,
        turn: turn.clone(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(doc: &str) -> Vec<&str> {
        segment(doc).iter().map(|s| s.text(doc)).collect()
    }

    #[test]
    fn abbreviations_initials_decimals() {
        let doc = "Rep. Ana Lutz met Gen. J. R. Tan on Jan. 4 at 10 a.m. in the capital. The fund grew 2.7 percent to $4.5 billion. Resolution No. 2231 still applies.";
        assert_eq!(
            texts(doc),
            vec![
                "Rep. Ana Lutz met Gen. J. R. Tan on Jan. 4 at 10 a.m. in the capital.",
                "The fund grew 2.7 percent to $4.5 billion.",
                "Resolution No. 2231 still applies.",
            ]
        );
    }

    #[test]
    fn list_markers_answers_months_and_times() {
        let doc = "1. The Ministers met. 2. They agreed.\nNo. The answer is No. 5 on the list. It began on 1 Aug. We call for calm. Talks end at 11 a.m. Commissioner, go ahead. It starts at 9 a.m. Tuesday. Or 8 p.m. Seoul time.";
        assert_eq!(
            texts(doc),
            vec![
                "1. The Ministers met.",
                "2. They agreed.",
                "No.",
                "The answer is No. 5 on the list.",
                "It began on 1 Aug.",
                "We call for calm.",
                "Talks end at 11 a.m.",
                "Commissioner, go ahead.",
                "It starts at 9 a.m. Tuesday.",
                "Or 8 p.m. Seoul time."
            ]
        );
    }

    #[test]
    fn dotted_acronyms_end_only_before_openers() {
        let doc = "Talks with the U.S. State Department resumed. Seoul thanked the U.S. The ministry did not comment.";
        assert_eq!(
            texts(doc),
            vec![
                "Talks with the U.S. State Department resumed.",
                "Seoul thanked the U.S.",
                "The ministry did not comment."
            ]
        );
    }

    #[test]
    fn quotes_with_attribution() {
        let doc = "\"We will keep working with our allies,\" Price said. \"We are ready. We will act,\" he added. \"Is that final?\" a reporter asked.";
        assert_eq!(
            texts(doc),
            vec![
                "\"We will keep working with our allies,\" Price said.",
                "\"We are ready.",
                "We will act,\" he added.",
                "\"Is that final?\" a reporter asked.",
            ]
        );
    }

    #[test]
    fn closing_quote_then_new_sentence() {
        let doc = "He called it \"a grave mistake.\" The talks ended. Really? Yes!";
        assert_eq!(
            texts(doc),
            vec![
                "He called it \"a grave mistake.\"",
                "The talks ended.",
                "Really?",
                "Yes!"
            ]
        );
    }

    #[test]
    fn ellipsis_inside_and_between() {
        let doc =
            "We have been clear ... and we will stay clear. Is it ... I mean, is it over? \"We wait...\" He left.";
        assert_eq!(
            texts(doc),
            vec![
                "We have been clear ... and we will stay clear.",
                "Is it ... I mean, is it over?",
                "\"We wait...\"",
                "He left."
            ]
        );
    }

    #[test]
    fn paragraphs_titles_and_turns() {
        let doc = "Daily Press Briefing, March 3\n\nMS. OKAFOR: Good afternoon. We will begin shortly.\n\nQUESTION: Any update on the talks?\n\nMS. OKAFOR: Not today.\n";
        let segs = segment(doc);
        let t: Vec<&str> = segs.iter().map(|s| s.text(doc)).collect();
        assert_eq!(
            t,
            vec![
                "Daily Press Briefing, March 3",
                "Good afternoon.",
                "We will begin shortly.",
                "Any update on the talks?",
                "Not today."
            ]
        );
        assert_eq!(segs[0].turn, None);
        assert_eq!(segs[1].turn.as_deref(), Some("MS. OKAFOR"));
        assert_eq!(segs[3].turn.as_deref(), Some("QUESTION"));
    }

    #[test]
    fn single_newlines() {
        let doc =
            "A headline without a period\nThe first sentence starts here and\ncontinues here. Next one.\nLast line";
        assert_eq!(
            texts(doc),
            vec![
                "A headline without a period",
                "The first sentence starts here and\ncontinues here.",
                "Next one.",
                "Last line"
            ]
        );
    }

    #[test]
    fn times_and_urls_are_not_turns() {
        let doc = "The meeting starts at 10:30 today. See https://example.org for details.";
        assert_eq!(texts(doc).len(), 2);
        assert!(turn_label("10:30 today").is_none());
        assert!(turn_label("NOTE:see").is_none());
        assert_eq!(turn_label("MR. PRICE: Hi").unwrap(), ("MR. PRICE".to_string(), 11));
    }

    #[test]
    fn long_text_without_punctuation_is_capped() {
        let doc = "word ".repeat(2000);
        let segs = segment(&doc);
        assert!(segs.len() >= 5);
        for s in &segs {
            assert!(s.end - s.start <= MAX_SEGMENT_BYTES);
            assert!(!s.text(&doc).starts_with(' ') && !s.text(&doc).ends_with(' '));
        }
        let total: usize = segs.iter().map(|s| s.text(&doc).split_whitespace().count()).sum();
        assert_eq!(total, 2000);
    }

    #[test]
    fn covers_every_non_whitespace_byte_outside_turn_labels() {
        let doc = "WASHINGTON -- The U.S. said it would act. \"No,\" he said... Fine?\n\nMR. X: Yes. (Reuters)";
        let segs = segment(doc);
        let mut covered = vec![false; doc.len()];
        for w in segs.windows(2) {
            assert!(w[0].end <= w[1].start);
        }
        for s in &segs {
            covered[s.start..s.end].iter_mut().for_each(|c| *c = true);
        }
        let label = doc.find("MR. X:").unwrap();
        for (i, b) in doc.bytes().enumerate() {
            if !b.is_ascii_whitespace() && !(label..label + 6).contains(&i) {
                assert!(covered[i], "byte {i} ({:?}) not covered", b as char);
            }
        }
    }
}
