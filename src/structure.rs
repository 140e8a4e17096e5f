//! Structure features: what the statement's core clause does, rather than which
//! words occur anywhere in it. Built from the tokenizer's words with small
//! lexicons; no parser.
//!
//! The core clause is the part that carries the stance: the quoted words of a
//! quotation with attribution (`"We will ...," she said.`), the complement of a
//! reporting verb (`X said the government would ...`, `according to X, ...`), or
//! else the whole sentence. On it we read who the subject is (the speaker's side
//! in the first person, or someone else), the modality and tense of its first
//! verb group, the class of its main verbs, negation and conditions, and whether
//! the sentence is narration about speech rather than speech.

/// Names of the structure features, in feature order.
pub const STRUCTURE_NAMES: &[&str] = &[
    "clause:reported",
    "clause:quoted",
    "clause:subject_first_person",
    "clause:subject_other",
    "clause:modal_future",
    "clause:modal_obligation",
    "clause:past_tense",
    "clause:present_continuing",
    "clause:verb_commissive",
    "clause:verb_directive",
    "clause:verb_threat",
    "clause:verb_reporting_only",
    "clause:negated",
    "clause:conditional",
    "clause:first_person_future",
    "clause:first_person_directive",
    "clause:other_future",
    "clause:past_report",
];

/// Number of structure features.
pub const N_STRUCTURE: usize = 18;

const REPORTING: &[&str] = &[
    "said",
    "says",
    "say",
    "told",
    "added",
    "adds",
    "stated",
    "states",
    "noted",
    "notes",
    "announced",
    "reported",
    "explained",
    "stressed",
    "emphasized",
    "emphasised",
    "underscored",
    "insisted",
    "argued",
    "declared",
    "wrote",
    "tweeted",
    "recalled",
    "replied",
    "responded",
    "confirmed",
    "acknowledged",
    "indicated",
    "suggested",
];
const DISCOURSE: &[&str] = &[
    "look",
    "well",
    "and",
    "but",
    "so",
    "now",
    "again",
    "first",
    "second",
    "finally",
    "indeed",
    "today",
    "frankly",
    "also",
    "of",
    "course",
    "as",
    "i",
    "think",
    "said",
    "mr",
    "madam",
    "president",
    ",",
    ".",
];
const FIRST_PERSON: &[&str] = &["we", "i", "our", "us", "my"];
const FUTURE: &[&str] = &[
    "will", "shall", "ll", "would", "going", "intends", "intend", "plans", "plan",
];
const OBLIGATION: &[&str] = &["must", "should", "need", "needs", "ought", "have", "has"];
const CONTINUING: &[&str] = &[
    "remain",
    "remains",
    "continue",
    "continues",
    "stand",
    "stands",
    "stay",
    "stays",
];
const COMMISSIVE: &[&str] = &[
    "pledge",
    "pledged",
    "pledges",
    "commit",
    "commits",
    "committed",
    "promise",
    "promised",
    "vow",
    "vowed",
    "vows",
    "undertake",
    "undertakes",
    "guarantee",
    "ready",
    "prepared",
    "determined",
    "reaffirm",
    "reaffirmed",
    "reaffirms",
    "support",
    "provide",
    "deliver",
    "contribute",
    "host",
    "resume",
    "keep",
    "work",
    "help",
    "offer",
    "open",
    "extend",
    "increase",
];
const DIRECTIVE: &[&str] = &[
    "urge",
    "urged",
    "urges",
    "urging",
    "call",
    "calls",
    "called",
    "calling",
    "encourage",
    "encouraged",
    "encourages",
    "appeal",
    "appeals",
    "appealed",
    "invite",
    "invites",
    "invited",
    "ask",
    "asks",
    "asked",
    "implore",
    "request",
    "requests",
    "let",
];
const THREAT: &[&str] = &[
    "condemn",
    "condemns",
    "condemned",
    "respond",
    "retaliate",
    "punish",
    "impose",
    "imposed",
    "sanction",
    "sanctions",
    "accountable",
    "warn",
    "warns",
    "warned",
    "threaten",
    "threatens",
    "threatened",
    "violate",
    "violates",
    "violated",
    "violation",
    "reject",
    "rejects",
    "rejected",
    "denounce",
    "denounced",
    "defend",
    "confront",
    "defeat",
    "face",
    "tolerate",
    "deplore",
    "deplores",
];
const IRREGULAR_PAST: &[&str] = &[
    "was", "were", "had", "met", "held", "took", "came", "began", "left", "made", "gave", "went", "spoke", "saw",
    "sent", "told", "said", "led", "won", "lost", "fell", "rose", "struck", "hit", "drew", "became", "brought",
    "built", "paid", "sought", "thought", "chose", "flew", "ran",
];

const NEGATORS: &[&str] = &["not", "no", "never", "t", "cannot", "nor"];
const CONDITIONALS: &[&str] = &["if", "unless", "otherwise"];

/// The word lists above, each a bit of a word's membership mask.
const SETS: [&[&str]; 12] = [
    REPORTING,
    DISCOURSE,
    FIRST_PERSON,
    FUTURE,
    OBLIGATION,
    CONTINUING,
    COMMISSIVE,
    DIRECTIVE,
    THREAT,
    IRREGULAR_PAST,
    NEGATORS,
    CONDITIONALS,
];
const B_REPORTING: u32 = 1 << 0;
const B_DISCOURSE: u32 = 1 << 1;
const B_FIRST_PERSON: u32 = 1 << 2;
const B_FUTURE: u32 = 1 << 3;
const B_OBLIGATION: u32 = 1 << 4;
const B_CONTINUING: u32 = 1 << 5;
const B_COMMISSIVE: u32 = 1 << 6;
const B_DIRECTIVE: u32 = 1 << 7;
const B_THREAT: u32 = 1 << 8;
const B_IRREGULAR_PAST: u32 = 1 << 9;
const B_NEGATORS: u32 = 1 << 10;
const B_CONDITIONALS: u32 = 1 << 11;

/// Word -> which of [`SETS`] contain it (one hash look-up per word instead of
/// a linear scan of every list).
fn lexicon() -> &'static ahash::AHashMap<&'static str, u32> {
    static L: std::sync::OnceLock<ahash::AHashMap<&'static str, u32>> = std::sync::OnceLock::new();
    L.get_or_init(|| crate::cues::word_sets(&SETS))
}

fn mask(w: &str) -> u32 {
    lexicon().get(w).copied().unwrap_or(0)
}

fn is_word(w: &str) -> bool {
    w.chars().any(char::is_alphanumeric)
}

/// Byte ranges of text inside double quotes.
fn quoted_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut open: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match c {
            '"' => match open {
                Some(s) => {
                    spans.push((s, i));
                    open = None;
                }
                None => open = Some(i + 1),
            },
            '\u{201c}' => open = Some(i + c.len_utf8()),
            '\u{201d}' => {
                if let Some(s) = open.take() {
                    spans.push((s, i));
                }
            }
            _ => {}
        }
    }
    // An opened quote that runs to the end (a multi-sentence quote's first part).
    if let Some(s) = open {
        spans.push((s, text.len()));
    }
    spans
}

/// Lower-cased words of a piece of text, split like the BERT pre-tokenizer
/// (punctuation apart), for the quoted part of a sentence.
fn simple_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The words of a core clause: a range of the statement's, or the quote's own.
enum CoreWords {
    Range(std::ops::Range<usize>),
    Quoted(Vec<String>),
}

/// The core clause of a statement and how it was found.
struct Core {
    words: CoreWords,
    reported: bool,
    quoted: bool,
}

fn core_clause(words: &[&str], masks: &[u32], text: &str) -> Core {
    let spans = quoted_spans(text);
    let quoted_len: usize = spans.iter().map(|(a, b)| b - a).sum();
    if !spans.is_empty() && quoted_len * 2 >= text.trim().len() {
        let inside: String = spans.iter().map(|(a, b)| &text[*a..*b]).collect::<Vec<_>>().join(" ");
        return Core {
            words: CoreWords::Quoted(simple_words(&inside)),
            reported: true,
            quoted: true,
        };
    }
    // "according to X, ..." -> after the first comma.
    if let Some(p) = words.windows(2).position(|w| w[0] == "according" && w[1] == "to") {
        if let Some(c) = words[p..].iter().position(|w| *w == ",") {
            return Core {
                words: CoreWords::Range(p + c + 1..words.len()),
                reported: true,
                quoted: false,
            };
        }
    }
    // "X said (that) ..." -> the complement, when something substantial follows.
    if let Some(p) = masks.iter().position(|m| m & B_REPORTING != 0) {
        let mut from = p + 1;
        while words
            .get(from)
            .is_some_and(|w| *w == "that" || *w == "on" || *w == "," || *w == "it")
        {
            from += 1;
        }
        if words[from..].iter().filter(|w| is_word(w)).count() >= 3 {
            return Core {
                words: CoreWords::Range(from..words.len()),
                reported: true,
                quoted: false,
            };
        }
        // Attribution at the end ("..., the minister said."): the clause before it.
        if p >= 3 {
            let before = &words[..p];
            let cut = before.iter().rposition(|w| *w == ",").unwrap_or(before.len());
            if cut >= 3 {
                return Core {
                    words: CoreWords::Range(0..cut),
                    reported: true,
                    quoted: false,
                };
            }
        }
    }
    Core {
        words: CoreWords::Range(0..words.len()),
        reported: false,
        quoted: false,
    }
}

/// The structure lexicon's bit mask of one word (which word lists hold it).
pub fn word_mask(w: &str) -> u32 {
    mask(w)
}

/// Computes the structure features of one statement.
pub fn structure_values(words: &[&str], text: &str) -> [f64; N_STRUCTURE] {
    let masks: Vec<u32> = words.iter().map(|w| mask(w)).collect();
    structure_values_masked(words, &masks, text)
}

/// [`structure_values`] with each word's [`word_mask`] already known (the
/// tokenizer's memo keeps them per chunk, saving a hash look-up per word).
pub fn structure_values_masked(words: &[&str], masks: &[u32], text: &str) -> [f64; N_STRUCTURE] {
    let mut v = [0.0; N_STRUCTURE];
    let core = core_clause(words, masks, text);
    let (quoted, quoted_masks): (Vec<&str>, Vec<u32>);
    let (w, m): (&[&str], &[u32]) = match &core.words {
        CoreWords::Range(r) => (&words[r.clone()], &masks[r.clone()]),
        CoreWords::Quoted(q) => {
            quoted = q.iter().map(String::as_str).collect();
            quoted_masks = quoted.iter().map(|x| mask(x)).collect();
            (&quoted, &quoted_masks)
        }
    };
    let has = |bit: u32| m.iter().any(|x| x & bit != 0);
    // Subject: the first content word after discourse markers.
    let start = w
        .iter()
        .zip(m)
        .position(|(x, b)| b & B_DISCOURSE == 0 && is_word(x))
        .unwrap_or(w.len());
    let head = &m[start..m.len().min(start + 4)];
    let first_person = head.iter().any(|b| b & B_FIRST_PERSON != 0)
        || (w.len() > start && w[start] == "i")
        || w[..start.min(w.len())].contains(&"i");
    let subject_other = !first_person && start < w.len();
    // First verb group: the first modal / continuing verb / past form within the first 8 words after the subject.
    let end = w.len().min(start + 9);
    let window = &w[start..end];
    let wm = &m[start..end];
    let future = wm.iter().any(|b| b & B_FUTURE != 0);
    let obligation =
        window.iter().zip(wm).enumerate().any(|(i, (x, b))| {
            b & B_OBLIGATION != 0 && (*x != "have" && *x != "has" || window.get(i + 1) == Some(&"to"))
        });
    let continuing = wm.iter().any(|b| b & B_CONTINUING != 0);
    let past = !future
        && window
            .iter()
            .zip(wm)
            .any(|(x, b)| b & B_IRREGULAR_PAST != 0 || (x.len() > 4 && x.ends_with("ed") && b & B_COMMISSIVE == 0));
    let commissive = has(B_COMMISSIVE);
    let directive = has(B_DIRECTIVE);
    let threat = has(B_THREAT);
    let negated = has(B_NEGATORS);
    let conditional = w
        .first()
        .is_some_and(|x| *x == "if" || *x == "should" || *x == "unless")
        || has(B_CONDITIONALS)
        || w.windows(2).any(|p| p[0] == "or" && p[1] == "face");
    let set = |v: &mut [f64; N_STRUCTURE], i: usize, on: bool| {
        if on {
            v[i] = 1.0;
        }
    };
    set(&mut v, 0, core.reported);
    set(&mut v, 1, core.quoted);
    set(&mut v, 2, first_person);
    set(&mut v, 3, subject_other);
    set(&mut v, 4, future);
    set(&mut v, 5, obligation);
    set(&mut v, 6, past);
    set(&mut v, 7, continuing);
    set(&mut v, 8, commissive);
    set(&mut v, 9, directive);
    set(&mut v, 10, threat);
    set(
        &mut v,
        11,
        core.reported && !commissive && !directive && !threat && !future,
    );
    set(&mut v, 12, negated);
    set(&mut v, 13, conditional);
    set(&mut v, 14, first_person && (future || continuing || commissive));
    set(&mut v, 15, first_person && directive);
    set(&mut v, 16, subject_other && future);
    set(&mut v, 17, past && !future && !directive && !obligation);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(text: &str) -> Vec<&'static str> {
        let words = simple_words(text);
        let v = structure_values(&words.iter().map(String::as_str).collect::<Vec<_>>(), text);
        STRUCTURE_NAMES
            .iter()
            .zip(v)
            .filter(|(_, x)| *x > 0.0)
            .map(|(n, _)| *n)
            .collect()
    }

    #[test]
    fn names_match_count() {
        assert_eq!(STRUCTURE_NAMES.len(), N_STRUCTURE);
    }

    #[test]
    fn quotation_core_is_the_quote() {
        let f = on("\"We will keep our embassy open through the winter,\" the spokesperson said.");
        assert!(
            f.contains(&"clause:quoted") && f.contains(&"clause:first_person_future"),
            "{f:?}"
        );
    }

    #[test]
    fn reported_future_of_a_third_party() {
        let f = on("The ministry said the government would resume talks with the rebels next month.");
        assert!(
            f.contains(&"clause:reported") && f.contains(&"clause:other_future"),
            "{f:?}"
        );
        assert!(!f.contains(&"clause:subject_first_person"));
    }

    #[test]
    fn past_narration() {
        let f = on("The two ministers met in Geneva on Tuesday and discussed regional security.");
        assert!(
            f.contains(&"clause:past_tense") && f.contains(&"clause:past_report"),
            "{f:?}"
        );
        assert!(!f.contains(&"clause:reported"));
    }

    #[test]
    fn first_person_appeal_and_condition() {
        let f = on("Look, we urge both sides to return to the table.");
        assert!(f.contains(&"clause:first_person_directive"), "{f:?}");
        let f = on("If they cross the line, we will respond.");
        assert!(
            f.contains(&"clause:conditional") && f.contains(&"clause:verb_threat"),
            "{f:?}"
        );
    }
}
