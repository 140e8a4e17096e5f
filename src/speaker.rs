//! Speaker attribution: who makes each statement of a document.
//!
//! Rules, in the order they are tried (see `datasets/CODEBOOK.md`, section 8):
//!
//! - **Transcripts** (segments with a turn label): every statement of a turn
//!   belongs to the official whose turn it is. `MS. OKAFOR` is mapped to the full
//!   name introduced in the document (`Lena Okafor`: a capitalised name ending in
//!   the surname, e.g. `Commissioner Ousmane Diallo`, or the first name by which
//!   the next turn addresses the speaker, `Thank you, Lena`); failing that, to the
//!   title-cased surname. Journalists' turns (`QUESTION`, `Q`, `REPORTER`, ...) are null.
//! - **Formal texts** whose title names an issuer (`Statement by the Ministry of
//!   Foreign Affairs of ...`, `Address by H.E. Mr. ...`, `Joint Communique of
//!   the Ministers ...`): every sentence after the title belongs to the issuer.
//! - **Reports** (everything else): per sentence, outside quotation marks,
//!   `X said`, `"...," said X`, `X told reporters`, `X, the envoy, added`,
//!   `according to X`, and about forty other reporting verbs. `X` may be a name
//!   (the closest person name to the verb wins; surnames and honorifics like
//!   `Mr. Villacis` resolve to the full name introduced earlier), a pronoun
//!   (`he`/`she`: the most recent person mentioned with a compatible gender, from
//!   `Mr.`/`Ms.` or earlier pronouns; `it`/`they`: the most recent body), a role
//!   noun (`the spokesperson`, `the minister`: the most recent person introduced
//!   with that role, else the most recent person; `the ministry`: the most recent
//!   body with that word), or any other short noun phrase (`diplomats`, `Peru's
//!   navy`), taken as it is. A quote spanning several sentences takes the speaker
//!   of its attribution in all of them; a sentence that is only a quote, after an
//!   attributed sentence, continues that speaker. Other sentences (narration,
//!   background, the title) are null.
//!
//! [`same_speaker`] is the matching rule `eval --briefings` uses against the gold
//! `speaker` field.

use crate::segmenter::Segment;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gender {
    Male,
    Female,
}

#[derive(Debug, Clone)]
struct Entity {
    name: String,
    person: bool,
    gender: Option<Gender>,
    /// Lower-case role nouns the entity was introduced with ("spokesperson").
    roles: Vec<String>,
}

/// Document-wide memory of who was mentioned, most recent last.
#[derive(Debug, Default)]
struct Memory {
    entities: Vec<Entity>,
    /// Indices into `entities`, in order of mention.
    recent: Vec<usize>,
}

impl Memory {
    fn find_surname(&self, surname: &str) -> Option<usize> {
        let s = surname.to_lowercase();
        self.entities
            .iter()
            .position(|e| e.person && e.name.rsplit(' ').next().is_some_and(|w| w.to_lowercase() == s))
    }

    fn find_name(&self, name: &str) -> Option<usize> {
        let n = name.to_lowercase();
        self.entities.iter().position(|e| e.name.to_lowercase() == n)
    }

    /// Registers (or finds) a person by full name or surname and marks it mentioned.
    fn person(&mut self, name: &str, gender: Option<Gender>, roles: &[String]) -> usize {
        let words: Vec<&str> = name.split_whitespace().collect();
        let i = if words.len() == 1 {
            self.find_surname(name)
        } else {
            self.find_name(name).or_else(|| {
                self.find_surname(words[words.len() - 1])
                    .filter(|&i| !self.entities[i].name.contains(' '))
            })
        };
        let i = match i {
            Some(i) => {
                // A full name upgrades a surname-only entry.
                if words.len() > 1 && !self.entities[i].name.contains(' ') {
                    self.entities[i].name = name.to_string();
                }
                i
            }
            None => {
                self.entities.push(Entity {
                    name: name.to_string(),
                    person: true,
                    gender: None,
                    roles: Vec::new(),
                });
                self.entities.len() - 1
            }
        };
        let e = &mut self.entities[i];
        if gender.is_some() {
            e.gender = gender;
        }
        for r in roles {
            if !e.roles.contains(r) {
                e.roles.push(r.clone());
            }
        }
        self.recent.push(i);
        i
    }

    fn body(&mut self, name: &str) -> usize {
        let i = match self.find_name(name) {
            Some(i) => i,
            None => {
                self.entities.push(Entity {
                    name: name.to_string(),
                    person: false,
                    gender: None,
                    roles: Vec::new(),
                });
                self.entities.len() - 1
            }
        };
        self.recent.push(i);
        i
    }

    fn latest(&self, ok: impl Fn(&Entity) -> bool) -> Option<usize> {
        self.recent.iter().rev().copied().find(|&i| ok(&self.entities[i]))
    }
}

const HONORIFICS: &[(&str, Option<Gender>)] = &[
    ("mr.", Some(Gender::Male)),
    ("mr", Some(Gender::Male)),
    ("ms.", Some(Gender::Female)),
    ("ms", Some(Gender::Female)),
    ("mrs.", Some(Gender::Female)),
    ("mrs", Some(Gender::Female)),
    ("dr.", None),
    ("gen.", None),
    ("h.e.", None),
    ("pak", Some(Gender::Male)),
    ("ibu", Some(Gender::Female)),
    ("sir", Some(Gender::Male)),
    ("madam", Some(Gender::Female)),
    ("prof.", None),
    ("col.", None),
    ("adm.", None),
    ("sen.", None),
    ("rep.", None),
    ("gov.", None),
    ("amb.", None),
    ("lt.", None),
];

/// Capitalised titles and role words that precede a name ("Foreign Minister Aoki").
const TITLE_WORDS: &[&str] = &[
    "ambassador",
    "commissioner",
    "minister",
    "foreign",
    "prime",
    "president",
    "secretary",
    "secretary-general",
    "deputy",
    "vice",
    "envoy",
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "director",
    "director-general",
    "general",
    "chancellor",
    "senator",
    "governor",
    "interior",
    "defense",
    "defence",
    "finance",
    "trade",
    "special",
    "representative",
    "chief",
    "professor",
    "judge",
    "king",
    "queen",
    "sheikh",
    "colonel",
    "captain",
    "admiral",
    "mayor",
    "commander",
    "acting",
    "permanent",
    "high",
    "chairperson",
    "chairman",
    "chair",
    "premier",
];

/// Words that make a capitalised run an organisation, not a person.
const BODY_WORDS: &[&str] = &[
    "department",
    "ministry",
    "council",
    "commission",
    "agency",
    "embassy",
    "bank",
    "office",
    "forces",
    "navy",
    "police",
    "tribunal",
    "institute",
    "organization",
    "organisation",
    "union",
    "government",
    "mission",
    "nations",
    "committee",
    "court",
    "assembly",
    "parliament",
    "army",
    "service",
    "authority",
    "fund",
    "programme",
    "program",
    "secretariat",
    "alliance",
    "coalition",
    "party",
    "front",
    "group",
    "house",
    "kremlin",
    "nato",
    "iaea",
    "unhcr",
    "ocha",
    "u.n.",
    "e.u.",
    "u.s.",
];

/// Role nouns that refer back to a person ("the spokesperson added").
const ROLE_NOUNS: &[&str] = &[
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "minister",
    "envoy",
    "ambassador",
    "commissioner",
    "official",
    "secretary",
    "president",
    "diplomat",
    "director",
    "chief",
    "commander",
    "negotiator",
    "mediator",
    "chancellor",
    "premier",
    "general",
    "representative",
];

/// Nouns that refer back to a body ("the ministry said").
const BODY_NOUNS: &[&str] = &[
    "ministry",
    "embassy",
    "agency",
    "council",
    "government",
    "commission",
    "alliance",
    "bank",
    "navy",
    "army",
    "department",
    "office",
    "mission",
    "tribunal",
    "police",
    "organization",
    "organisation",
    "group",
    "movement",
    "militia",
];

/// Verbs that attribute speech or a stated position to their subject.
const VERBS: &[&str] = &[
    "said",
    "says",
    "told",
    "tells",
    "added",
    "adds",
    "warned",
    "warns",
    "urged",
    "urges",
    "noted",
    "notes",
    "stated",
    "declined",
    "replied",
    "announced",
    "insisted",
    "stressed",
    "acknowledged",
    "pledged",
    "confirmed",
    "denied",
    "argued",
    "rejected",
    "welcomed",
    "called",
    "accused",
    "cautioned",
    "vowed",
    "promised",
    "explained",
    "wrote",
    "reiterated",
    "emphasized",
    "emphasised",
    "appealed",
    "demanded",
    "condemned",
    "indicated",
    "predicted",
    "estimated",
    "reported",
    "countered",
    "responded",
    "conceded",
    "observed",
    "maintained",
    "claimed",
    "asked",
    "recalled",
    "praised",
    "threatened",
    "expressed",
    "described",
    "dismissed",
    "suggested",
    "specify",
    "elaborate",
    "comment",
];

/// Words between a subject and its verb that are not part of the subject.
const TRAILING: &[&str] = &[
    "have",
    "has",
    "had",
    "also",
    "previously",
    "later",
    "further",
    "again",
    "earlier",
    "repeatedly",
    "would",
    "will",
    "is",
    "was",
    "were",
    "are",
    "then",
    "publicly",
    "separately",
    "already",
    "once",
    "did",
    "does",
    "not",
    "have",
    "privately",
    "recently",
    "firmly",
    "sharply",
    "strongly",
];

/// Trailing nouns of a source that name what it published, not who it is.
const SOURCE_NOUNS: &[&str] = &[
    "estimates",
    "figures",
    "data",
    "statistics",
    "numbers",
    "records",
    "tallies",
];

const JOURNALIST_TURNS: &[&str] = &[
    "question",
    "q",
    "reporter",
    "journalist",
    "audience",
    "audience member",
    "participant",
];

fn honorific(word: &str) -> Option<Option<Gender>> {
    let w = word.to_lowercase();
    HONORIFICS.iter().find(|(h, _)| *h == w).map(|(_, g)| *g)
}

fn is_title(word: &str) -> bool {
    let w = word.trim_end_matches(',').to_lowercase();
    TITLE_WORDS.contains(&w.as_str()) || honorific(&w).is_some()
}

fn strip_punct(word: &str) -> &str {
    let w = word
        .trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '"' | '(' | ')' | '!' | '?'))
        .trim_end_matches("'s")
        .trim_end_matches('\u{2019}');
    // A sentence-final period, not an abbreviation's ("U.S.", "J.").
    match w.strip_suffix('.') {
        Some(b) if b.len() > 1 && !b.contains('.') => b,
        _ => w,
    }
}

fn is_cap(word: &str) -> bool {
    let w = word.trim_start_matches(['"', '(']);
    w.chars().next().is_some_and(|c| c.is_uppercase())
}

fn is_initial(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() == 2 && b[0].is_ascii_uppercase() && b[1] == b'.'
}

/// A person or body name found in a phrase.
#[derive(Debug, Clone, PartialEq)]
struct Mention {
    name: String,
    person: bool,
    /// The name is a surname only (after an honorific or alone).
    surname_only: bool,
    gender: Option<Gender>,
    roles: Vec<String>,
}

/// Capitalised runs of a phrase, as mentions, in order.
fn mentions(phrase: &str, mem: &Memory) -> Vec<Mention> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if !is_cap(words[i]) {
            i += 1;
            continue;
        }
        // A run of capitalised words; a possessive or trailing comma ends it.
        let start = i;
        let mut end = i;
        while end < words.len() && (is_cap(words[end]) || is_initial(words[end])) {
            let w = words[end];
            end += 1;
            if w.ends_with(',') || w.ends_with("'s") || w.ends_with(':') || w.ends_with(';') {
                break;
            }
        }
        let mut run: Vec<&str> = words[start..end].to_vec();
        i = end;
        while run.len() > 1 && matches!(run[0], "The" | "A" | "An" | "\"The") {
            run.remove(0);
        }
        let possessive = run.last().is_some_and(|w| w.trim_end_matches(',').ends_with("'s"));
        // Roles: lower-case role nouns just before the run, and title words inside it.
        let mut roles: Vec<String> = Vec::new();
        if start > 0 {
            let prev = strip_punct(words[start - 1]).to_lowercase();
            if ROLE_NOUNS.contains(&prev.as_str()) {
                roles.push(prev);
            }
        }
        let mut gender = None;
        let mut name_from = 0;
        let mut titled = false;
        for (j, w) in run.iter().enumerate() {
            if let Some(g) = honorific(w.trim_end_matches(',')) {
                gender = gender.or(g);
                name_from = j + 1;
                titled = true;
            } else if is_title(w) {
                let r = strip_punct(w).to_lowercase();
                if ROLE_NOUNS.contains(&r.as_str()) {
                    roles.push(r);
                }
                name_from = j + 1;
                titled = true;
            }
        }
        let name_words: Vec<&str> = run[name_from..].iter().map(|w| strip_punct(w)).collect();
        if name_words.is_empty() || possessive {
            continue;
        }
        let body = run
            .iter()
            .any(|w| BODY_WORDS.contains(&strip_punct(w).to_lowercase().as_str()));
        let name = name_words.join(" ");
        if body {
            out.push(Mention {
                name,
                person: false,
                surname_only: false,
                gender: None,
                roles,
            });
            continue;
        }
        let known = mem.find_surname(&name).is_some() || mem.find_name(&name).is_some_and(|i| mem.entities[i].person);
        let single = name_words.len() == 1;
        let person = !single
            || titled
            || known
            || start > 0 && ROLE_NOUNS.contains(&roles.first().map(|s| s.as_str()).unwrap_or(""));
        if !person {
            continue;
        }
        out.push(Mention {
            name,
            person: true,
            surname_only: single,
            gender,
            roles,
        });
    }
    out
}

fn register(mem: &mut Memory, m: &Mention) -> usize {
    if m.person {
        mem.person(&m.name, m.gender, &m.roles)
    } else {
        mem.body(&m.name)
    }
}

/// Resolves the subject phrase of a reporting verb to a speaker.
fn resolve_phrase(phrase: &str, mem: &mut Memory) -> Option<String> {
    let mut cleaned = phrase
        .trim()
        .trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '-' | '.' | '"') || c.is_whitespace());
    // Auxiliaries and adverbs between subject and verb: "Aid agencies have (warned)".
    while let Some((head, last)) = cleaned.rsplit_once(' ') {
        if !TRAILING.contains(&last) {
            break;
        }
        cleaned = head.trim_end();
    }
    if cleaned.is_empty() {
        return None;
    }
    // A relative clause is background, not an attribution: "which police said".
    let first_word = cleaned.split_whitespace().next().unwrap_or("").to_lowercase();
    if matches!(
        first_word.as_str(),
        "which" | "that" | "who" | "whom" | "whose" | "where" | "when" | "what"
    ) || cleaned.contains(" that ")
        || cleaned.contains(" which ")
    {
        return None;
    }
    let lower = cleaned.to_lowercase();
    let first = lower.split_whitespace().next().unwrap_or("");
    // Pronouns.
    let gender = match first {
        "he" => Some(Some(Gender::Male)),
        "she" => Some(Some(Gender::Female)),
        _ => None,
    };
    if let Some(g) = gender {
        let i = mem.latest(|e| e.person && (e.gender.is_none() || e.gender == g))?;
        if mem.entities[i].gender.is_none() {
            mem.entities[i].gender = g;
        }
        mem.recent.push(i);
        return Some(mem.entities[i].name.clone());
    }
    if first == "it" || first == "they" {
        let i = mem
            .latest(|e| !e.person)
            .or_else(|| if first == "they" { mem.latest(|_| true) } else { None })?;
        mem.recent.push(i);
        return Some(mem.entities[i].name.clone());
    }
    // Person names: the one closest to the verb.
    let ms = mentions(cleaned, mem);
    if let Some(k) = ms.iter().rposition(|m| m.person) {
        for (j, other) in ms.iter().enumerate() {
            if j != k {
                register(mem, other);
            }
        }
        let i = register(mem, &ms[k]);
        return Some(mem.entities[i].name.clone());
    }
    // "the spokesperson", "the foreign minister", "the ministry".
    let words: Vec<String> = lower.split_whitespace().map(|w| strip_punct(w).to_string()).collect();
    let no_caps = cleaned.split_whitespace().skip(1).all(|w| !is_cap(w));
    let head = words.last().map(|w| w.as_str()).unwrap_or("");
    if matches!(first, "the" | "his" | "her" | "its" | "their") && no_caps && words.len() <= 5 {
        if let Some(role) = ROLE_NOUNS.iter().find(|r| **r == head) {
            let role = role.to_string();
            let i = mem
                .latest(|e| e.person && e.roles.contains(&role))
                .or_else(|| mem.latest(|e| e.person));
            if let Some(i) = i {
                mem.recent.push(i);
                return Some(mem.entities[i].name.clone());
            }
        }
        if let Some(noun) = BODY_NOUNS.iter().find(|r| **r == head) {
            let generic = matches!(
                *noun,
                "group" | "movement" | "militia" | "organization" | "organisation"
            );
            let i = mem
                .latest(|e| !e.person && e.name.to_lowercase().contains(noun))
                .or_else(|| if generic { mem.latest(|e| !e.person) } else { None });
            if let Some(i) = i {
                mem.recent.push(i);
                return Some(mem.entities[i].name.clone());
            }
        }
    }
    // Any other short noun phrase, as it stands ("Commission estimates" -> "Commission").
    let mut np_words: Vec<&str> = cleaned.split_whitespace().collect();
    while np_words.len() > 1 && SOURCE_NOUNS.contains(&np_words[np_words.len() - 1]) {
        np_words.pop();
    }
    let joined = np_words.join(" ");
    let cleaned = joined.as_str();
    let np = cleaned
        .strip_prefix("The ")
        .or_else(|| cleaned.strip_prefix("the "))
        .unwrap_or(cleaned)
        .trim();
    let n = np.split_whitespace().count();
    if (1..=8).contains(&n) && np.chars().any(|c| c.is_alphabetic()) {
        let i = mem.body(np);
        return Some(mem.entities[i].name.clone());
    }
    None
}

/// The sentence with quoted material blanked out (same byte length), given
/// whether it starts inside a quotation. Returns the mask and whether it ends inside one.
fn mask_quotes(s: &str, mut inside: bool) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let q = matches!(c, '"' | '\u{201c}' | '\u{201d}');
        if q {
            inside = !inside;
            out.push('"');
            out.extend(std::iter::repeat_n(' ', c.len_utf8() - 1));
        } else if inside {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    (out, inside)
}

/// Words from the start of `s` up to a comma, semicolon, colon, quote or a
/// sentence-final period (an honorific's or initial's period does not stop it).
fn phrase_until_stop(s: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for w in s.split_whitespace() {
        if w.starts_with('"') {
            break;
        }
        let abbreviation = w[..w.len() - 1].contains('.');
        let stop = w.ends_with([',', ';', ':', '"'])
            || (w.ends_with('.') && honorific(w).is_none() && !is_initial(w) && !abbreviation);
        out.push(w);
        if stop {
            break;
        }
    }
    out.join(" ")
}

/// Finds the attribution of one sentence (masked: quotes blanked).
fn sentence_speaker(text: &str, masked: &str, mem: &mut Memory) -> Option<String> {
    let lower = masked.to_lowercase();
    // Word boundaries of the masked text.
    let mut verb: Option<(usize, usize)> = None;
    let mut pos = 0;
    let mut first_word = true;
    for w in lower.split_inclusive(|c: char| c.is_whitespace()) {
        let word = w.trim_end();
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        if !bare.is_empty() {
            let is_verb = VERBS.contains(&bare) && !(first_word && bare == "asked");
            let off = pos + word.find(bare).unwrap_or(0);
            let prev = lower[..off].split_whitespace().last().unwrap_or("");
            let next = lower[off + bare.len()..].split_whitespace().next().unwrap_or("");
            let passive = matches!(
                prev,
                "be" | "been" | "being" | "is" | "was" | "were" | "are" | "a" | "an" | "the"
            ) || next == "by";
            if is_verb && !passive {
                verb = Some((off, off + bare.len()));
                break;
            }
            first_word = false;
        }
        pos += w.len();
    }
    if let Some((vs, ve)) = verb {
        let before = &masked[..vs];
        let before_trim = before.trim_end();
        // "...," said X.  /  "...," X said.
        if before_trim.ends_with('"') || before_trim.ends_with(",\"") || before_trim.is_empty() {
            let phrase = phrase_until_stop(&text[ve..]);
            if let Some(s) = resolve_phrase(&phrase, mem) {
                return Some(s);
            }
        }
        // The clause before the verb: after the last quote, dash, semicolon or colon.
        let cut = [
            before.rfind('"'),
            before.rfind("--"),
            before.rfind(';'),
            before.rfind(':'),
        ]
        .into_iter()
        .flatten()
        .max()
        .map(|i| i + 1)
        .unwrap_or(0);
        let clause = text[cut..vs].trim_start_matches('-');
        let chunks: Vec<&str> = clause.split(',').collect();
        let last = chunks.last().copied().unwrap_or("").trim();
        if !last.is_empty() {
            return resolve_phrase(last, mem);
        }
        // "X, the envoy, said" / "the envoy, X, said": prefer a person.
        let tail: Vec<&str> = chunks.iter().rev().skip(1).take(3).copied().collect();
        for c in &tail {
            let ms = mentions(c, mem);
            if let Some(m) = ms.iter().rev().find(|m| m.person) {
                let i = register(mem, m);
                return Some(mem.entities[i].name.clone());
            }
        }
        if let Some(c) = tail.last() {
            return resolve_phrase(c, mem);
        }
        return None;
    }
    if let Some(i) = lower.find("according to ") {
        return resolve_phrase(&phrase_until_stop(&text[i + "according to ".len()..]), mem);
    }
    None
}

/// The first line of the document is a title when it has no final punctuation.
fn title_of<'a>(doc: &'a str, segments: &[Segment]) -> Option<(usize, &'a str)> {
    let s = segments.first()?;
    let t = s.text(doc).trim();
    let first_line = doc.trim_start().lines().next().unwrap_or("").trim();
    (t == first_line && !t.ends_with(['.', '?', '!', '"', ':'])).then_some((0, t))
}

/// Issuer named by a formal text's title, canonicalised.
pub fn issuer_from_title(title: &str) -> Option<String> {
    let lower = title.to_lowercase();
    let kinds = [
        "joint communique",
        "joint statement",
        "joint declaration",
        "communique",
        "statement",
        "address",
        "remarks",
        "speech",
        "declaration",
        "press release",
    ];
    let k = kinds.iter().find(|k| lower.starts_with(*k))?;
    let rest = &title[k.len()..];
    let rest = rest
        .trim_start()
        .strip_prefix("by ")
        .or_else(|| rest.trim_start().strip_prefix("of "))
        .or_else(|| rest.trim_start().strip_prefix("from "))?;
    let mut end = rest.len();
    for stop in [" on ", ", ", " at ", " to ", " before ", " regarding "] {
        if let Some(i) = rest.find(stop) {
            end = end.min(i);
        }
    }
    let mut words: Vec<&str> = rest[..end].split_whitespace().collect();
    while words
        .first()
        .is_some_and(|w| is_title(w) || w.eq_ignore_ascii_case("the"))
    {
        words.remove(0);
    }
    if words.is_empty() {
        return None;
    }
    let name = words
        .join(" ")
        .replace("the Republic of ", "")
        .replace("Republic of ", "")
        .replace(" and of ", " and ");
    Some(name)
}

/// Speaker of a transcript turn label, or None for journalists' turns.
fn turn_speaker(label: &str, doc: &str, next_turn_openings: &[&str], mem: &Memory) -> Option<String> {
    let lower = label.to_lowercase();
    if JOURNALIST_TURNS.contains(&lower.trim()) {
        return None;
    }
    let words: Vec<&str> = label.split_whitespace().filter(|w| !is_title(w)).collect();
    let surname = words.last()?;
    let surname = title_case(surname);
    // A full name in the document ending in the surname.
    if let Some(i) = mem.find_surname(&surname) {
        if mem.entities[i].name.contains(' ') {
            return Some(mem.entities[i].name.clone());
        }
    }
    let doc_words: Vec<&str> = doc.split_whitespace().collect();
    for (i, w) in doc_words.iter().enumerate() {
        if strip_punct(w) == surname && i > 0 {
            let mut j = i;
            let mut first = Vec::new();
            while j > 0
                && is_cap(doc_words[j - 1])
                && !is_title(doc_words[j - 1])
                && !doc_words[j - 1].ends_with([',', '.', ':'])
            {
                first.push(doc_words[j - 1]);
                j -= 1;
                if first.len() == 2 {
                    break;
                }
            }
            if !first.is_empty() {
                first.reverse();
                return Some(format!("{} {surname}", first.join(" ")));
            }
        }
    }
    // "Thank you, Lena" at the start of the next turn addresses this speaker.
    for opening in next_turn_openings {
        for lead in ["Thank you, ", "Thanks, ", "Thank you very much, ", "Thanks very much, "] {
            if let Some(rest) = opening.strip_prefix(lead) {
                // The vocative: capitalised words up to the first comma or period.
                let mut names: Vec<&str> = Vec::new();
                let mut stop = false;
                for w in rest.split_whitespace().take(4) {
                    if !is_cap(w) {
                        break;
                    }
                    names.push(w.trim_end_matches([',', '.', '!']));
                    if w.ends_with([',', '.', '!']) {
                        stop = true;
                        break;
                    }
                }
                let names: Vec<&str> = names.into_iter().filter(|w| !is_title(w)).collect();
                if names.len() == 1 && stop && names[0] != surname {
                    return Some(format!("{} {surname}", names[0]));
                }
            }
        }
    }
    Some(surname)
}

fn title_case(w: &str) -> String {
    w.split('-')
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Attributes each segment of `doc` to a speaker (see the module documentation).
pub fn attribute(doc: &str, segments: &[Segment]) -> Vec<Option<String>> {
    let mut out = vec![None; segments.len()];
    if segments.is_empty() {
        return out;
    }
    let title = title_of(doc, segments);
    let mut mem = Memory::default();
    // Names introduced anywhere in the document, for turn labels.
    if segments.iter().any(|s| s.turn.is_some()) {
        for s in segments {
            for m in mentions(s.text(doc), &mem) {
                if m.person && !m.surname_only {
                    register(&mut mem, &m);
                }
            }
        }
        // Opening sentence of each turn, to find "Thank you, Lena".
        let mut openings: Vec<(usize, &str)> = Vec::new();
        for (i, s) in segments.iter().enumerate() {
            if s.turn.is_some()
                && (i == 0 || segments[i - 1].turn != s.turn || doc[segments[i - 1].end..s.start].contains('\n'))
            {
                openings.push((i, s.text(doc)));
            }
        }
        let mut cache: std::collections::HashMap<String, Option<String>> = Default::default();
        for (k, (i, _)) in openings.iter().enumerate() {
            let label = segments[*i].turn.clone().expect("turn");
            if cache.contains_key(&label) {
                continue;
            }
            // Openings of the turns that follow a turn of this label.
            let next: Vec<&str> = openings
                .iter()
                .enumerate()
                .filter(|(j, _)| *j > 0 && segments[openings[j - 1].0].turn.as_deref() == Some(label.as_str()))
                .map(|(_, o)| o.1)
                .collect();
            let _ = k;
            cache.insert(label.clone(), turn_speaker(&label, doc, &next, &mem));
        }
        for (i, s) in segments.iter().enumerate() {
            out[i] = s.turn.as_ref().and_then(|t| cache.get(t).cloned().flatten());
        }
        return out;
    }
    if let Some((ti, t)) = title {
        if let Some(issuer) = issuer_from_title(t) {
            for (i, o) in out.iter_mut().enumerate() {
                if i != ti {
                    *o = Some(issuer.clone());
                }
            }
            return out;
        }
    }
    // Reports: sentence by sentence, with quotation state.
    let mut inside = false;
    let mut group_start = 0;
    let mut before_group: Option<String> = None;
    let mut prev: Option<String> = None;
    for (i, s) in segments.iter().enumerate() {
        if title.is_some_and(|(ti, _)| ti == i) {
            continue;
        }
        let text = s.text(doc);
        let started_inside = inside;
        if !started_inside {
            group_start = i;
            before_group = prev.clone();
        }
        let (masked, ends_inside) = mask_quotes(text, inside);
        inside = ends_inside;
        let mut sp = sentence_speaker(text, &masked, &mut mem);
        if sp.is_none() {
            // Register names mentioned in narration, for later pronouns.
            for m in mentions(text, &mem) {
                if !m.person || !m.surname_only || mem.find_surname(&m.name).is_some() {
                    register(&mut mem, &m);
                }
            }
        }
        let quote_only = masked
            .trim()
            .trim_matches(|c: char| c == '"' || c.is_whitespace())
            .is_empty();
        if sp.is_some() {
            // The whole quotation takes the attribution.
            for o in out.iter_mut().take(i).skip(group_start) {
                if o.is_none() {
                    *o = sp.clone();
                }
            }
        } else if quote_only && !ends_inside {
            // A quotation closed without attribution continues the previous speaker.
            if out[group_start..i].iter().all(|o| o.is_none()) {
                for o in out.iter_mut().take(i).skip(group_start) {
                    *o = before_group.clone();
                }
                sp = before_group.clone();
            } else {
                sp = out[group_start].clone();
            }
        }
        out[i] = sp.clone();
        prev = sp;
    }
    out
}

/// Normalised words of a speaker name for matching: lower case, punctuation
/// removed, `the` and honorifics dropped.
pub fn speaker_words(name: &str) -> Vec<String> {
    name.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .filter(|w| !matches!(*w, "the" | "a" | "an" | "mr" | "ms" | "mrs" | "dr" | "h" | "e"))
        .map(|w| w.to_string())
        .collect()
}

/// The matching rule of speaker attribution accuracy: both null, or, after
/// [`speaker_words`] normalisation (lower case, punctuation, articles and
/// honorifics dropped), one name's words are a suffix of the other's
/// (`Villacis` ~ `Andres Villacis`; `Gulf Cooperation Council` ~ `Ministerial
/// Council of the Gulf Cooperation Council`; `Russian embassy in Tallinn` ~
/// `Russian Embassy in Tallinn`), or a prefix of at least two words
/// (`Supreme Electoral Tribunal` ~ `Supreme Electoral Tribunal of Bolivia`).
pub fn same_speaker(predicted: Option<&str>, gold: Option<&str>) -> bool {
    match (predicted, gold) {
        (None, None) => true,
        (Some(p), Some(g)) => {
            let (p, g) = (speaker_words(p), speaker_words(g));
            if p.is_empty() || g.is_empty() {
                return false;
            }
            let (short, long) = if p.len() <= g.len() { (&p, &g) } else { (&g, &p) };
            long.ends_with(short) || (short.len() >= 2 && long.starts_with(short))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segmenter::segment;

    fn speakers(doc: &str) -> Vec<(String, Option<String>)> {
        let segs = segment(doc);
        let sp = attribute(doc, &segs);
        segs.iter().map(|s| s.text(doc).to_string()).zip(sp).collect()
    }

    fn sp(v: &[(String, Option<String>)], i: usize) -> Option<&str> {
        v[i].1.as_deref()
    }

    #[test]
    fn quotes_said_and_pronouns() {
        let doc = "Talks to resume\n\nGENEVA, March 4 (Meridian) -- Ecuador and Peru said on Tuesday they would resume talks.\n\n\"We will sit down again,\" Ecuador's foreign minister, Andres Villacis, told reporters. \"This is a first step. There will be accountability,\" he said.\n\nSwiss envoy Martina Egli, who chaired the sessions, said both sides agreed. She declined to say more.\n\nThe strait has been disputed since the 1940s.\n";
        let v = speakers(doc);
        assert_eq!(sp(&v, 0), None, "title");
        assert_eq!(sp(&v, 1), Some("Ecuador and Peru"));
        assert_eq!(sp(&v, 2), Some("Andres Villacis"));
        assert_eq!(sp(&v, 3), Some("Andres Villacis"), "{:?}", v[3]);
        assert_eq!(sp(&v, 4), Some("Andres Villacis"));
        assert_eq!(sp(&v, 5), Some("Martina Egli"));
        assert_eq!(sp(&v, 6), Some("Martina Egli"));
        assert_eq!(sp(&v, 7), None);
    }

    #[test]
    fn inverted_said_according_to_and_role_nouns() {
        let doc = "\"We welcome the decision,\" said Thomas Brandt, the State Department spokesperson. The spokesperson added that talks would continue. Exports fell by a third, according to the central bank. Mr. Brandt also warned of costs. Officials met on Monday.";
        let v = speakers(doc);
        assert_eq!(sp(&v, 0), Some("Thomas Brandt"));
        assert_eq!(sp(&v, 1), Some("Thomas Brandt"));
        assert_eq!(sp(&v, 2), Some("central bank"));
        assert_eq!(sp(&v, 3), Some("Thomas Brandt"));
        assert_eq!(sp(&v, 4), None);
    }

    #[test]
    fn gender_of_pronouns() {
        let doc = "Ms. Ana Ruiz met Mr. Paul Kerr. \"We agree,\" Mr. Kerr said. \"So do we,\" she said.";
        let v = speakers(doc);
        assert_eq!(sp(&v, 0), None);
        assert_eq!(sp(&v, 1), Some("Paul Kerr"));
        assert_eq!(sp(&v, 2), Some("Ana Ruiz"));
    }

    #[test]
    fn transcript_turns_map_to_full_names() {
        let doc = "Press Briefing, 2 December\n\nMS. OKAFOR: Good morning. We are joined by Commissioner Ousmane Diallo. Commissioner, over to you.\n\nCOMMISSIONER DIALLO: Thank you, Lena, and good morning. We will act.\n\nQUESTION: Thank you. Will you act?\n";
        let v = speakers(doc);
        assert_eq!(sp(&v, 0), None);
        assert_eq!(sp(&v, 1), Some("Lena Okafor"));
        assert_eq!(sp(&v, 3), Some("Lena Okafor"));
        assert_eq!(sp(&v, 4), Some("Ousmane Diallo"));
        assert_eq!(sp(&v, 5), Some("Ousmane Diallo"));
        assert_eq!(sp(&v, 6), None);
        assert_eq!(sp(&v, 7), None);
        let doc = "Briefing\n\nMR. WIBISONO: Good afternoon.\n\nQUESTION: Thank you, Pak Arief, Dimas from Harian. Has the ministry protested?\n";
        let v = speakers(doc);
        assert_eq!(sp(&v, 1), Some("Arief Wibisono"));
        assert_eq!(sp(&v, 2), None);
    }

    #[test]
    fn bodies_are_not_people() {
        let doc = "Estonia said on Monday it was attacked. Services were restored, according to the Bank of Estonia.";
        let v = speakers(doc);
        assert_eq!(sp(&v, 0), Some("Estonia"));
        assert_eq!(sp(&v, 1), Some("Bank of Estonia"));
    }

    #[test]
    fn formal_titles_name_the_issuer() {
        assert_eq!(
            issuer_from_title(
                "Statement by the Ministry of Foreign Affairs of the Republic of Maldives on the Conference"
            )
            .as_deref(),
            Some("Ministry of Foreign Affairs of Maldives")
        );
        assert_eq!(
            issuer_from_title("Address by H.E. Mr. Arman Sultanbekov, Minister of Foreign Affairs").as_deref(),
            Some("Arman Sultanbekov")
        );
        assert_eq!(
            issuer_from_title(
                "Joint Communique of the Ministers of Foreign Affairs of the Republic of Poland and of Ukraine"
            )
            .as_deref(),
            Some("Ministers of Foreign Affairs of Poland and Ukraine")
        );
        assert_eq!(issuer_from_title("Aid convoys stranded at border"), None);
        let doc = "Statement by Ambassador Amara Kallon, Permanent Representative\n\nThank you, Mr. President. We call for calm.\n";
        let v = speakers(doc);
        assert_eq!(sp(&v, 0), None);
        assert_eq!(sp(&v, 1), Some("Amara Kallon"));
        assert_eq!(sp(&v, 2), Some("Amara Kallon"));
    }

    #[test]
    fn matching_rule() {
        assert!(same_speaker(None, None));
        assert!(!same_speaker(Some("X"), None));
        assert!(!same_speaker(None, Some("X")));
        assert!(same_speaker(Some("Villacis"), Some("Andres Villacis")));
        assert!(same_speaker(Some("andres villacis"), Some("Andres Villacis")));
        assert!(same_speaker(
            Some("Ministry of Foreign Affairs of Maldives"),
            Some("Ministry of Foreign Affairs of the Maldives")
        ));
        assert!(same_speaker(Some("Estonia"), Some("Government of Estonia")));
        assert!(!same_speaker(Some("Andres Villacis"), Some("Carmen Ruiz-Tagle")));
        assert!(!same_speaker(Some("Andres"), Some("Andres Villacis")));
        assert!(same_speaker(
            Some("Supreme Electoral Tribunal"),
            Some("Supreme Electoral Tribunal of Bolivia")
        ));
        assert!(same_speaker(Some("A U.S. official"), Some("unnamed U.S. official")));
    }
}
