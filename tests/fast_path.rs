//! Issue 5: the optimized paths give exactly what the straightforward ones give:
//! the same tokens, the same features and the same probabilities (to 1e-9).

use std::path::PathBuf;

use demarche::corpus::Corpus;
use demarche::model::Model;
use demarche::tokenizer::TextTokenizer;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Model {
    Model::load(&root().join("models/demarche.model")).unwrap()
}

fn dataset_texts() -> Vec<String> {
    let mut out = Vec::new();
    for f in ["train", "dev", "test"] {
        let c = Corpus::read(root().join(format!("datasets/{f}.jsonl"))).unwrap();
        out.extend(c.texts().into_iter().map(String::from));
    }
    out
}

/// Awkward text: tabs, line breaks, control and format characters, other
/// Unicode spaces, CJK, combining accents, the unknown token, long chunks.
fn awkward() -> Vec<String> {
    [
        "",
        "   ",
        "We\twill\r\nwork   with\u{b}our\u{c}allies.",
        "Ca\u{301}fe\u{301} de\u{300}ja\u{300} vu, na\u{308}ive Ðe ÉTAT-MAJOR.",
        "The\u{a0}minister\u{2003}said\u{200b}that\u{feff}we  will.",
        "中国外交部 said: 我们 will respond.",
        "[UNK] and[UNK]x [unk] ##ing",
        "a\u{0}b\u{fffd}c \u{7}d",
        "Supercalifragilisticexpialidocious-and-also-an-extremely-long-hyphenated-chunk-beyond-the-memo-limit!!!",
        "ΣΊΣΥΦΟΣ ΟΔΟΣ istanbul İSTANBUL ﬁnance ß STRASSE",
        "\" 'We' (will) [not] {accept} ... — – ‐ “this” «ever»?!",
        "12,000 troops; 3.5% of GDP; US$4bn; 2024-01-01",
        " \u{301}leading mark and trailing mark\u{301} ",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn check_tokens(tok: &TextTokenizer, texts: &[String]) {
    // Twice: the first pass fills the memo, the second reads from it.
    for _ in 0..2 {
        for t in texts {
            assert_eq!(tok.encode_cached(t).unwrap(), tok.encode(t).unwrap(), "text: {t:?}");
        }
    }
}

#[test]
fn memoized_tokens_equal_plain_encode_on_datasets() {
    let m = shipped();
    let mut texts = dataset_texts();
    texts.extend(awkward());
    check_tokens(&m.tokenizer, &texts);
}

#[test]
fn memoized_tokens_equal_plain_encode_for_a_freshly_trained_tokenizer() {
    let texts = dataset_texts();
    let tok = TextTokenizer::train(&texts[..500], 800, 2).unwrap();
    let mut all = texts[500..1500].to_vec();
    all.extend(awkward());
    check_tokens(&tok, &all);
}

#[test]
fn fast_features_and_probabilities_equal_straightforward_path_on_test_set() {
    let m = shipped();
    let c = Corpus::read(root().join("datasets/test.jsonl")).unwrap();
    let mut texts: Vec<String> = c.texts().into_iter().map(String::from).collect();
    texts.extend(awkward());
    for t in &texts {
        let plain = m.features_plain(t).unwrap();
        let fast = m.features(t).unwrap();
        assert_eq!(fast, plain, "features of {t:?}");
        let p_plain = m.predict_logits(m.logits(&plain));
        let p_fast = m.predict(t).unwrap();
        assert_eq!(p_fast.label, p_plain.label);
        for (a, b) in p_fast.probabilities.iter().zip(&p_plain.probabilities) {
            assert!((a - b).abs() <= 1e-9, "{t:?}: {a} vs {b}");
        }
    }
}

#[test]
fn cue_and_structure_values_from_memoized_masks_equal_lexicon_look_ups() {
    let m = shipped();
    let mut texts = dataset_texts();
    texts.extend(awkward());
    // Twice: the second pass takes the words and their masks from the memo.
    for _ in 0..2 {
        for t in &texts {
            let tokens = m.tokenizer.encode_cached(t).unwrap();
            let words: Vec<&str> = tokens.words.iter().collect();
            assert_eq!(
                demarche::cues::cue_values_masked(&words, tokens.words.cue_masks(), t),
                demarche::cues::cue_values(&words, t),
                "cues of {t:?}"
            );
            assert_eq!(
                demarche::structure::structure_values_masked(&words, tokens.words.structure_masks(), t),
                demarche::structure::structure_values(&words, t),
                "structure of {t:?}"
            );
        }
    }
}
