//! Interpretable stance cues: a few binary features about what a statement does,
//! computed from the tokenizer's words (lower-cased, punctuation split off). They
//! complement the n-gram features with signals that carry across topics: who
//! speaks in the first person with a future modal, whether an appeal verb meets a
//! de-escalation object, whether consequences or condemnation are named, whether
//! the sentence is a report, a question or a condition.

/// Names of the cue features, in feature order.
pub const CUE_NAMES: &[&str] = &[
    "cue:first_person",
    "cue:first_person_future",
    "cue:commissive_verb",
    "cue:appeal_verb",
    "cue:appeal_for_deescalation",
    "cue:deescalation_word",
    "cue:consequence_word",
    "cue:condemnation_word",
    "cue:negation",
    "cue:conditional",
    "cue:reporting_verb",
    "cue:readout_verb",
    "cue:obligation_modal",
    "cue:thanks_welcome",
    "cue:question",
    "cue:quotation",
    "cue:short",
    "cue:long",
];

/// Number of cue features.
pub const N_CUES: usize = 18;

const FIRST_PERSON: &[&str] = &["we", "i", "our", "us", "my", "ourselves"];
const FP_SUBJECT: &[&str] = &["we", "i"];
const FUTURE_RESOLVE: &[&str] = &[
    "will",
    "shall",
    "ll",
    "remain",
    "remains",
    "stand",
    "intend",
    "pledge",
    "commit",
    "committed",
    "ready",
    "prepared",
    "determined",
    "resolved",
    "continue",
    "vow",
    "going",
];
const COMMISSIVE: &[&str] = &[
    "pledge",
    "pledged",
    "pledges",
    "pledging",
    "commit",
    "commits",
    "committed",
    "commitment",
    "commitments",
    "undertake",
    "undertakes",
    "undertook",
    "promise",
    "promised",
    "promises",
    "vow",
    "vowed",
    "vows",
    "guarantee",
    "guarantees",
    "ready",
    "readiness",
    "prepared",
    "determined",
    "reaffirm",
    "reaffirmed",
    "reaffirms",
    "intend",
    "intends",
    "intention",
    "resolve",
    "resolved",
];
const APPEAL: &[&str] = &[
    "urge",
    "urged",
    "urges",
    "urging",
    "encourage",
    "encouraged",
    "encourages",
    "encouraging",
    "appeal",
    "appealed",
    "appeals",
    "implore",
    "exhort",
    "invite",
    "invited",
    "invites",
    "request",
    "requested",
    "beseech",
];
const CALL: &[&str] = &["call", "calls", "called", "calling"];
const DEESCALATION: &[&str] = &[
    "restraint",
    "dialogue",
    "deescalation",
    "escalate",
    "escalation",
    "negotiation",
    "negotiations",
    "negotiate",
    "negotiating",
    "talks",
    "reconcile",
    "reconciliation",
    "peaceful",
    "peacefully",
    "settle",
    "settlement",
    "cooperate",
    "cooperation",
    "calm",
    "ceasefire",
    "compromise",
    "diplomacy",
    "diplomatic",
    "mediation",
    "table",
    "engage",
    "together",
    "peace",
];
const CONSEQUENCE: &[&str] = &[
    "consequences",
    "consequence",
    "cost",
    "costs",
    "accountable",
    "accountability",
    "retaliate",
    "retaliation",
    "respond",
    "response",
    "punish",
    "punishment",
    "sanction",
    "sanctions",
    "countermeasures",
    "isolation",
    "price",
    "decisive",
    "decisively",
    "swift",
    "firmly",
    "forcefully",
    "penalties",
    "repercussions",
    "reprisal",
    "measures",
];
const CONDEMNATION: &[&str] = &[
    "condemn",
    "condemns",
    "condemned",
    "condemnation",
    "violation",
    "violations",
    "violate",
    "violates",
    "violated",
    "threat",
    "threats",
    "threaten",
    "threatens",
    "threatened",
    "dangerous",
    "reckless",
    "provocation",
    "provocations",
    "provocative",
    "unacceptable",
    "illegal",
    "aggression",
    "destabilizing",
    "destabilising",
    "grave",
    "danger",
    "deplore",
    "deplores",
    "irresponsible",
    "warn",
    "warns",
    "warned",
    "warning",
    "menace",
    "jeopardize",
];
const NEGATION: &[&str] = &[
    "not", "no", "never", "t", "nor", "neither", "without", "cannot", "nothing",
];
const CONDITIONAL: &[&str] = &["if", "unless", "otherwise", "whether"];
const REPORTING: &[&str] = &[
    "said",
    "says",
    "told",
    "added",
    "adds",
    "stated",
    "noted",
    "according",
    "announced",
    "reported",
    "explained",
    "remarked",
    "stressed",
    "emphasized",
    "emphasised",
    "underscored",
    "quoted",
    "spokesperson",
    "spokesman",
    "spokeswoman",
];
const READOUT: &[&str] = &[
    "discussed",
    "discuss",
    "discussing",
    "met",
    "meeting",
    "meetings",
    "visit",
    "visited",
    "travel",
    "travels",
    "traveled",
    "travelled",
    "arrived",
    "held",
    "spoke",
    "readout",
    "agenda",
    "exchanged",
    "briefed",
    "hosted",
    "attend",
    "attended",
    "chaired",
];
const OBLIGATION: &[&str] = &["must", "should", "need", "needs", "ought", "necessary"];
const THANKS: &[&str] = &[
    "thank",
    "thanks",
    "grateful",
    "welcome",
    "welcomed",
    "welcomes",
    "congratulate",
    "congratulated",
    "appreciate",
    "appreciates",
];

/// The word lists above, each a bit of a word's membership mask.
const SETS: [&[&str]; 15] = [
    FIRST_PERSON,
    FP_SUBJECT,
    FUTURE_RESOLVE,
    COMMISSIVE,
    APPEAL,
    CALL,
    DEESCALATION,
    CONSEQUENCE,
    CONDEMNATION,
    NEGATION,
    CONDITIONAL,
    REPORTING,
    READOUT,
    OBLIGATION,
    THANKS,
];
const B_FIRST_PERSON: u32 = 1 << 0;
const B_FP_SUBJECT: u32 = 1 << 1;
const B_FUTURE_RESOLVE: u32 = 1 << 2;
const B_COMMISSIVE: u32 = 1 << 3;
const B_APPEAL: u32 = 1 << 4;
const B_CALL: u32 = 1 << 5;
const B_DEESCALATION: u32 = 1 << 6;
const B_CONSEQUENCE: u32 = 1 << 7;
const B_CONDEMNATION: u32 = 1 << 8;
const B_NEGATION: u32 = 1 << 9;
const B_CONDITIONAL: u32 = 1 << 10;
const B_REPORTING: u32 = 1 << 11;
const B_READOUT: u32 = 1 << 12;
const B_OBLIGATION: u32 = 1 << 13;
const B_THANKS: u32 = 1 << 14;

/// Word -> which of [`SETS`] contain it (one hash look-up per word instead of
/// a linear scan of every list).
fn lexicon() -> &'static ahash::AHashMap<&'static str, u32> {
    static L: std::sync::OnceLock<ahash::AHashMap<&'static str, u32>> = std::sync::OnceLock::new();
    L.get_or_init(|| word_sets(&SETS))
}

/// Maps each word of `sets` to a bit mask of the sets (by position) that hold it;
/// shared by the cue and structure lexicons.
pub(crate) fn word_sets(sets: &[&[&'static str]]) -> ahash::AHashMap<&'static str, u32> {
    let mut m = ahash::AHashMap::new();
    for (b, set) in sets.iter().enumerate() {
        for w in set.iter() {
            *m.entry(*w).or_insert(0) |= 1 << b;
        }
    }
    m
}

fn any(masks: &[u32], bit: u32) -> bool {
    masks.iter().any(|m| m & bit != 0)
}

/// Computes the cue vector of one statement from its words and raw text.
pub fn cue_values(words: &[&str], text: &str) -> [f64; N_CUES] {
    let masks: Vec<u32> = words.iter().map(|w| word_mask(w)).collect();
    cue_values_masked(words, &masks, text)
}

/// The cue lexicon's bit mask of one word (which word lists hold it).
pub fn word_mask(w: &str) -> u32 {
    lexicon().get(w).copied().unwrap_or(0)
}

/// [`cue_values`] with each word's [`word_mask`] already known (the
/// tokenizer's memo keeps them per chunk, saving a hash look-up per word).
pub fn cue_values_masked(words: &[&str], masks: &[u32], text: &str) -> [f64; N_CUES] {
    let mut v = [0.0; N_CUES];
    let set = |v: &mut [f64; N_CUES], i: usize, on: bool| {
        if on {
            v[i] = 1.0;
        }
    };
    set(&mut v, 0, any(masks, B_FIRST_PERSON));
    let fp_future = masks
        .iter()
        .enumerate()
        .any(|(i, m)| m & B_FP_SUBJECT != 0 && any(&masks[i + 1..masks.len().min(i + 4)], B_FUTURE_RESOLVE));
    set(&mut v, 1, fp_future);
    set(&mut v, 2, any(masks, B_COMMISSIVE));
    let call_on = masks
        .windows(2)
        .zip(words.windows(2))
        .any(|(m, p)| m[0] & B_CALL != 0 && (p[1] == "on" || p[1] == "upon"));
    let appeal = any(masks, B_APPEAL) || call_on;
    set(&mut v, 3, appeal);
    let deesc = any(masks, B_DEESCALATION) || words.windows(3).any(|p| p[0] == "de" && p[1] == "-");
    set(&mut v, 4, appeal && deesc);
    set(&mut v, 5, deesc);
    set(&mut v, 6, any(masks, B_CONSEQUENCE));
    set(&mut v, 7, any(masks, B_CONDEMNATION));
    set(&mut v, 8, any(masks, B_NEGATION));
    let conditional = any(masks, B_CONDITIONAL)
        || words.first().is_some_and(|w| *w == "should")
        || words.windows(2).any(|p| p[0] == "or" && p[1] == "face");
    set(&mut v, 9, conditional);
    set(&mut v, 10, any(masks, B_REPORTING));
    set(&mut v, 11, any(masks, B_READOUT));
    set(&mut v, 12, any(masks, B_OBLIGATION));
    set(&mut v, 13, any(masks, B_THANKS));
    set(&mut v, 14, text.contains('?'));
    set(&mut v, 15, text.contains(['"', '\u{201c}', '\u{201d}']));
    let n_words = words.iter().filter(|w| w.chars().any(char::is_alphanumeric)).count();
    set(&mut v, 16, n_words < 10);
    set(&mut v, 17, n_words > 30);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_bits_match_the_lists() {
        let lex = lexicon();
        for (b, set) in SETS.iter().enumerate() {
            for w in set.iter() {
                assert!(lex[w] & (1 << b) != 0, "{w} in set {b}");
            }
        }
        let n: usize = lex.values().map(|m| m.count_ones() as usize).sum();
        assert_eq!(
            n,
            SETS.iter().map(|s| s.len()).sum::<usize>(),
            "no word listed twice in one set"
        );
    }

    fn words(s: &str) -> Vec<String> {
        s.split(|c: char| c.is_whitespace())
            .flat_map(|w| {
                let w = w.to_lowercase();
                let trimmed = w.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
                if trimmed.is_empty() {
                    vec![]
                } else {
                    vec![trimmed]
                }
            })
            .collect()
    }

    fn on(s: &str) -> Vec<&'static str> {
        let w = words(s);
        let v = cue_values(&w.iter().map(String::as_str).collect::<Vec<_>>(), s);
        CUE_NAMES
            .iter()
            .zip(v)
            .filter(|(_, x)| *x > 0.0)
            .map(|(n, _)| *n)
            .collect()
    }

    #[test]
    fn names_match_count() {
        assert_eq!(CUE_NAMES.len(), N_CUES);
    }

    #[test]
    fn commitment_cues() {
        let c = on("We will continue to supply aid through the winter.");
        assert!(c.contains(&"cue:first_person_future"), "{c:?}");
        assert!(!c.contains(&"cue:appeal_verb"));
    }

    #[test]
    fn appeal_and_warning_cues() {
        let c = on("We call on all parties to exercise restraint and return to talks.");
        assert!(c.contains(&"cue:appeal_for_deescalation"), "{c:?}");
        let c = on("Should Pyongyang continue, it will face severe consequences.");
        assert!(
            c.contains(&"cue:conditional") && c.contains(&"cue:consequence_word"),
            "{c:?}"
        );
    }

    #[test]
    fn report_and_question_cues() {
        let c = on("\"Is the meeting on?\" the spokesperson was asked, and she said it was.");
        for want in [
            "cue:question",
            "cue:quotation",
            "cue:reporting_verb",
            "cue:readout_verb",
        ] {
            assert!(c.contains(&want), "{want} missing in {c:?}");
        }
    }
}
