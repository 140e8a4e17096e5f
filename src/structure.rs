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

/// The core clause of a statement and how it was found.
struct Core<'a> {
    words: std::borrow::Cow<'a, [String]>,
    reported: bool,
    quoted: bool,
}

fn core_clause<'a>(words: &'a [String], text: &str) -> Core<'a> {
    let spans = quoted_spans(text);
    let quoted_len: usize = spans.iter().map(|(a, b)| b - a).sum();
    if !spans.is_empty() && quoted_len * 2 >= text.trim().len() {
        let inside: String = spans.iter().map(|(a, b)| &text[*a..*b]).collect::<Vec<_>>().join(" ");
        return Core {
            words: simple_words(&inside).into(),
            reported: true,
            quoted: true,
        };
    }
    // "according to X, ..." -> after the first comma.
    if let Some(p) = words.windows(2).position(|w| w[0] == "according" && w[1] == "to") {
        if let Some(c) = words[p..].iter().position(|w| w == ",") {
            return Core {
                words: words[p + c + 1..].into(),
                reported: true,
                quoted: false,
            };
        }
    }
    // "X said (that) ..." -> the complement, when something substantial follows.
    if let Some(p) = words.iter().position(|w| REPORTING.contains(&w.as_str())) {
        let mut rest = &words[p + 1..];
        while rest
            .first()
            .is_some_and(|w| w == "that" || w == "on" || w == "," || w == "it")
        {
            rest = &rest[1..];
        }
        if rest.iter().filter(|w| is_word(w)).count() >= 3 {
            return Core {
                words: rest.into(),
                reported: true,
                quoted: false,
            };
        }
        // Attribution at the end ("..., the minister said."): the clause before it.
        if p >= 3 {
            let before = &words[..p];
            let cut = before.iter().rposition(|w| w == ",").unwrap_or(before.len());
            if cut >= 3 {
                return Core {
                    words: before[..cut].into(),
                    reported: true,
                    quoted: false,
                };
            }
        }
    }
    Core {
        words: words.into(),
        reported: false,
        quoted: false,
    }
}

/// Computes the structure features of one statement.
pub fn structure_values(words: &[String], text: &str) -> [f64; N_STRUCTURE] {
    let mut v = [0.0; N_STRUCTURE];
    let core = core_clause(words, text);
    let w: Vec<&str> = core.words.iter().map(String::as_str).collect();
    let has = |set: &[&str]| w.iter().any(|x| set.contains(x));
    // Subject: the first content word after discourse markers.
    let start = w
        .iter()
        .position(|x| !DISCOURSE.contains(x) && is_word(x))
        .unwrap_or(w.len());
    let head = &w[start..w.len().min(start + 4)];
    let first_person = head.iter().any(|x| FIRST_PERSON.contains(x))
        || (w.len() > start && w[start] == "i")
        || w[..start.min(w.len())].contains(&"i");
    let subject_other = !first_person && start < w.len();
    // First verb group: the first modal / continuing verb / past form within the first 8 words after the subject.
    let window = &w[start..w.len().min(start + 9)];
    let future = window.iter().any(|x| FUTURE.contains(x));
    let obligation = window
        .iter()
        .enumerate()
        .any(|(i, x)| OBLIGATION.contains(x) && (*x != "have" && *x != "has" || window.get(i + 1) == Some(&"to")));
    let continuing = window.iter().any(|x| CONTINUING.contains(x));
    let past = !future
        && window
            .iter()
            .any(|x| IRREGULAR_PAST.contains(x) || (x.len() > 4 && x.ends_with("ed") && !COMMISSIVE.contains(x)));
    let commissive = has(COMMISSIVE);
    let directive = has(DIRECTIVE);
    let threat = has(THREAT);
    let negated = has(&["not", "no", "never", "t", "cannot", "nor"]);
    let conditional = w
        .first()
        .is_some_and(|x| *x == "if" || *x == "should" || *x == "unless")
        || has(&["if", "unless", "otherwise"])
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
        let v = structure_values(&words, text);
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
