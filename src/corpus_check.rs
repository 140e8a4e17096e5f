//! Quality checks of the project corpus (`datasets/`): schema, labels,
//! duplicates, near-duplicates across splits, split proportions, label shares and
//! variety (speakers, topics, registers, hard cases). `demarche corpus check`
//! runs them and prints the statistics table of the dataset card.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::corpus::{normalize_for_dedup, Corpus};
use crate::error::Result;

/// The labels of the project codebook.
pub const CODEBOOK_LABELS: &[&str] = &["commitment", "neutral", "reconciliation_appeal", "warning"];
/// Fields every corpus record carries besides text and label.
pub const REQUIRED_FIELDS: &[&str] = &["id", "speaker", "topic", "register", "group", "hard"];
/// Registers of the codebook.
pub const REGISTERS: &[&str] = &[
    "formal_statement",
    "joint_communique",
    "leader_speech",
    "news_report",
    "press_briefing",
    "readout",
    "un_speech",
];

/// Bounds the corpus must meet.
#[derive(Debug, Clone)]
pub struct Bounds {
    pub min_total: usize,
    pub min_label_share: f64,
    pub min_speakers: usize,
    pub min_topics: usize,
    pub min_news_share: f64,
    pub min_hard_share: f64,
    /// Expected (train, dev, test) shares and the tolerance around each.
    pub split_shares: [f64; 3],
    pub split_tolerance: f64,
    /// Word 3-gram Jaccard at or above which a dev/test item is a near-duplicate of a train item.
    pub near_dup_jaccard: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            min_total: 4000,
            min_label_share: 0.18,
            min_speakers: 30,
            min_topics: 30,
            min_news_share: 0.20,
            min_hard_share: 0.15,
            split_shares: [0.70, 0.15, 0.15],
            split_tolerance: 0.03,
            near_dup_jaccard: 0.6,
        }
    }
}

/// Result of a check: the statistics table and every problem found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    pub table: String,
    pub problems: Vec<String>,
}

const SPLITS: [&str; 3] = ["train", "dev", "test"];

fn word_trigrams(text: &str) -> HashSet<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    words.windows(3).map(|w| w.join(" ")).collect()
}

/// Pairs (dev/test item, train item, Jaccard) at or above `threshold`.
pub fn near_duplicates<'a>(train: &'a [String], other: &'a [String], threshold: f64) -> Vec<(usize, usize, f64)> {
    let train_sets: Vec<HashSet<String>> = train.iter().map(|t| word_trigrams(t)).collect();
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in train_sets.iter().enumerate() {
        for g in s {
            index.entry(g.as_str()).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (j, t) in other.iter().enumerate() {
        let s = word_trigrams(t);
        if s.is_empty() {
            continue;
        }
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for g in &s {
            if let Some(ids) = index.get(g.as_str()) {
                for &i in ids {
                    *shared.entry(i).or_insert(0) += 1;
                }
            }
        }
        let mut best: Option<(usize, f64)> = None;
        for (i, inter) in shared {
            let union = s.len() + train_sets[i].len() - inter;
            let jac = inter as f64 / union as f64;
            if jac >= threshold && best.is_none_or(|b| jac > b.1 || (jac == b.1 && i < b.0)) {
                best = Some((i, jac));
            }
        }
        if let Some((i, jac)) = best {
            out.push((j, i, jac));
        }
    }
    out.sort_by_key(|x| x.0);
    out
}

/// Checks the corpus in `dir` (`train.jsonl`, `dev.jsonl`, `test.jsonl`).
pub fn check_dir(dir: &Path, bounds: &Bounds) -> Result<CheckReport> {
    let paths: Vec<PathBuf> = SPLITS.iter().map(|s| dir.join(format!("{s}.jsonl"))).collect();
    let corpora = paths.iter().map(Corpus::read).collect::<Result<Vec<_>>>()?;
    Ok(check(&corpora, bounds))
}

fn share(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Checks three corpora (train, dev, test).
pub fn check(splits: &[Corpus], bounds: &Bounds) -> CheckReport {
    let mut problems = Vec::new();
    let total: usize = splits.iter().map(|c| c.examples.len()).sum();
    // Schema, labels, duplicates.
    let mut seen_text: HashMap<String, (String, usize, String)> = HashMap::new();
    let mut seen_id: HashMap<String, String> = HashMap::new();
    let mut group_split: HashMap<String, usize> = HashMap::new();
    for (si, c) in splits.iter().enumerate() {
        let file = c.path.display().to_string();
        for e in &c.examples {
            let at = format!("{file}:{}", e.line);
            if !CODEBOOK_LABELS.contains(&e.label.as_str()) {
                problems.push(format!("{at}: label {:?} is not in the codebook", e.label));
            }
            for f in REQUIRED_FIELDS {
                if !e.fields.contains_key(*f) {
                    problems.push(format!("{at}: missing field {f:?}"));
                }
            }
            if let Some(h) = e.fields.get("hard") {
                if h != "true" && h != "false" {
                    problems.push(format!("{at}: field \"hard\" must be true or false, found {h}"));
                }
            }
            if let Some(r) = e.fields.get("register") {
                if !REGISTERS.contains(&r.as_str()) {
                    problems.push(format!("{at}: unknown register {r:?}"));
                }
            }
            if let Some(id) = e.fields.get("id") {
                if let Some(prev) = seen_id.insert(id.clone(), at.clone()) {
                    problems.push(format!("{at}: id {id:?} already used at {prev}"));
                }
            }
            if let Some(g) = e.fields.get("group") {
                if let Some(&other) = group_split.get(g) {
                    if other != si {
                        problems.push(format!(
                            "{at}: group {g:?} is in both {} and {}",
                            SPLITS[other], SPLITS[si]
                        ));
                    }
                } else {
                    group_split.insert(g.clone(), si);
                }
            }
            let key = normalize_for_dedup(&e.text);
            match seen_text.get(&key) {
                Some((l, _, prev)) if *l != e.label => problems.push(format!(
                    "{at}: same text labeled {:?} at {prev} and {:?} here",
                    l, e.label
                )),
                Some((_, _, prev)) => problems.push(format!("{at}: duplicate of the text at {prev}")),
                None => {
                    seen_text.insert(key, (e.label.clone(), si, at.clone()));
                }
            }
        }
    }
    // Near-duplicates across splits.
    let train_texts: Vec<String> = splits[0].examples.iter().map(|e| e.text.clone()).collect();
    for c in &splits[1..] {
        let other: Vec<String> = c.examples.iter().map(|e| e.text.clone()).collect();
        for (j, i, jac) in near_duplicates(&train_texts, &other, bounds.near_dup_jaccard) {
            problems.push(format!(
                "{}:{}: near-duplicate (word 3-gram Jaccard {jac:.2}) of {}:{}",
                c.path.display(),
                c.examples[j].line,
                splits[0].path.display(),
                splits[0].examples[i].line
            ));
        }
    }
    // Counts.
    let all: Vec<(&str, &crate::corpus::Example)> = splits
        .iter()
        .enumerate()
        .flat_map(|(si, c)| c.examples.iter().map(move |e| (SPLITS[si], e)))
        .collect();
    if total < bounds.min_total {
        problems.push(format!("{total} statements, fewer than {}", bounds.min_total));
    }
    for (si, c) in splits.iter().enumerate() {
        let s = share(c.examples.len(), total);
        if (s - bounds.split_shares[si]).abs() > bounds.split_tolerance {
            problems.push(format!(
                "{} holds {:.1}% of the corpus, expected {:.0}% ± {:.0}",
                SPLITS[si],
                100.0 * s,
                100.0 * bounds.split_shares[si],
                100.0 * bounds.split_tolerance
            ));
        }
    }
    let mut by_label: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for l in CODEBOOK_LABELS {
        by_label.insert(l, [0; 3]);
    }
    let mut by_register: BTreeMap<&str, usize> = BTreeMap::new();
    let mut speakers: BTreeSet<&str> = BTreeSet::new();
    let mut topics: BTreeSet<&str> = BTreeSet::new();
    let mut groups: BTreeSet<&str> = BTreeSet::new();
    let mut hard = 0;
    let mut lengths: Vec<usize> = Vec::new();
    for (split, e) in &all {
        let si = SPLITS.iter().position(|s| s == split).expect("split");
        if let Some(v) = by_label.get_mut(e.label.as_str()) {
            v[si] += 1;
        }
        if let Some(r) = e.fields.get("register") {
            *by_register.entry(r.as_str()).or_insert(0) += 1;
        }
        if let Some(s) = e.fields.get("speaker") {
            speakers.insert(s.as_str());
        }
        if let Some(t) = e.fields.get("topic") {
            topics.insert(t.as_str());
        }
        if let Some(g) = e.fields.get("group") {
            groups.insert(g.as_str());
        }
        if e.fields.get("hard").map(String::as_str) == Some("true") {
            hard += 1;
        }
        lengths.push(e.text.split_whitespace().count());
    }
    for (l, v) in &by_label {
        let n: usize = v.iter().sum();
        if share(n, total) < bounds.min_label_share {
            problems.push(format!(
                "label {l} is {:.1}% of the corpus, under {:.0}%",
                100.0 * share(n, total),
                100.0 * bounds.min_label_share
            ));
        }
    }
    let news = by_register.get("news_report").copied().unwrap_or(0);
    if share(news, total) < bounds.min_news_share {
        problems.push(format!(
            "news_report is {:.1}% of the corpus, under {:.0}%",
            100.0 * share(news, total),
            100.0 * bounds.min_news_share
        ));
    }
    if share(hard, total) < bounds.min_hard_share {
        problems.push(format!(
            "hard cases are {:.1}% of the corpus, under {:.0}%",
            100.0 * share(hard, total),
            100.0 * bounds.min_hard_share
        ));
    }
    if speakers.len() < bounds.min_speakers {
        problems.push(format!(
            "{} speakers, fewer than {}",
            speakers.len(),
            bounds.min_speakers
        ));
    }
    if topics.len() < bounds.min_topics {
        problems.push(format!("{} topics, fewer than {}", topics.len(), bounds.min_topics));
    }

    // The statistics table.
    let mut t = String::new();
    t += "| label | train | dev | test | total | share |\n|---|---:|---:|---:|---:|---:|\n";
    for (l, v) in &by_label {
        let n: usize = v.iter().sum();
        t += &format!(
            "| {l} | {} | {} | {} | {n} | {:.1}% |\n",
            v[0],
            v[1],
            v[2],
            100.0 * share(n, total)
        );
    }
    let sizes: Vec<usize> = splits.iter().map(|c| c.examples.len()).collect();
    t += &format!(
        "| **all** | {} | {} | {} | {total} | 100% |\n| split share | {:.1}% | {:.1}% | {:.1}% | | |\n\n",
        sizes[0],
        sizes[1],
        sizes[2],
        100.0 * share(sizes[0], total),
        100.0 * share(sizes[1], total),
        100.0 * share(sizes[2], total)
    );
    t += "| register | statements | share |\n|---|---:|---:|\n";
    for (r, n) in &by_register {
        t += &format!("| {r} | {n} | {:.1}% |\n", 100.0 * share(*n, total));
    }
    lengths.sort_unstable();
    let pct = |p: f64| {
        lengths
            .get(((lengths.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    let under15 = lengths.iter().filter(|&&n| n < 15).count();
    let over45 = lengths.iter().filter(|&&n| n > 45).count();
    t += &format!(
        "\n| variety | value |\n|---|---:|\n| speakers | {} |\n| topics | {} |\n| groups | {} |\n| hard cases | {hard} ({:.1}%) |\n| words per statement: min / median / max | {} / {} / {} |\n| under 15 words | {:.1}% |\n| over 45 words | {:.1}% |\n",
        speakers.len(),
        topics.len(),
        groups.len(),
        100.0 * share(hard, total),
        lengths.first().copied().unwrap_or(0),
        pct(0.5),
        lengths.last().copied().unwrap_or(0),
        100.0 * share(under15, total),
        100.0 * share(over45, total),
    );
    CheckReport { table: t, problems }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::{Format, ReadOptions};

    fn corpus(name: &str, lines: &[(&str, &str, &str)]) -> Corpus {
        let body: String = lines
            .iter()
            .enumerate()
            .map(|(i, (text, label, group))| {
                format!(
                    "{{\"id\":\"{name}-{i}\",\"text\":\"{text}\",\"label\":\"{label}\",\"speaker\":\"s{i}\",\"topic\":\"t{i}\",\"register\":\"news_report\",\"group\":\"{group}\",\"hard\":true}}\n"
                )
            })
            .collect();
        Corpus::from_bytes(Path::new(name), body.as_bytes(), Format::Jsonl, ReadOptions::default()).unwrap()
    }

    #[test]
    fn finds_near_duplicates_and_shared_groups() {
        let train = corpus(
            "train.jsonl",
            &[
                (
                    "We will keep supplying aid to the region through the winter months",
                    "commitment",
                    "g1",
                ),
                ("The minister arrived in the capital on Tuesday", "neutral", "g1"),
            ],
        );
        let dev = corpus(
            "dev.jsonl",
            &[(
                "We will keep supplying aid to the region through the winter",
                "commitment",
                "g2",
            )],
        );
        let test = corpus("test.jsonl", &[("Any attack will be met with force", "warning", "g1")]);
        let r = check(&[train, dev, test], &Bounds::default());
        let all = r.problems.join("\n");
        assert!(all.contains("dev.jsonl:1: near-duplicate"), "{all}");
        assert!(all.contains("group \"g1\" is in both train and test"), "{all}");
        assert!(all.contains("fewer than 4000"), "{all}");
        assert!(r.table.contains("| warning | 0 | 0 | 1 | 1 |"), "{}", r.table);
    }

    #[test]
    fn jaccard_below_threshold_is_not_flagged() {
        let a = vec!["the two ministers discussed regional security and trade".to_string()];
        let b = vec!["the two ministers discussed fisheries and climate finance".to_string()];
        assert!(near_duplicates(&a, &b, 0.6).is_empty());
        assert_eq!(near_duplicates(&a, &a, 0.6), vec![(0, 0, 1.0)]);
    }
}
