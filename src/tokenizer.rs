//! The Hugging Face `tokenizers` tokenizer that feeds the features: trained
//! offline from the training texts (WordPiece) or loaded from a user's
//! `tokenizer.json`. It is stored inside the model file, so classification needs
//! nothing else.

use std::cell::RefCell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainer};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Error, Result};

const UNK: &str = "[UNK]";

/// A tokenized statement: token ids and, per pre-tokenized word, its lower-cased text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    /// Words as split by the tokenizer's pre-tokenizer, lower-cased from the original text.
    pub words: Words,
}

/// A sequence of words stored end to end in one string, so appending a
/// memoized chunk's words copies bytes instead of allocating one string per word.
/// Each word comes with its masks in the cue and structure lexicons, so a
/// memoized word is looked up in them once, not once per statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Words {
    text: String,
    /// End of each word in `text`; a word starts where the previous one ends.
    ends: Vec<usize>,
    cue_masks: Vec<u32>,
    structure_masks: Vec<u32>,
}

impl Words {
    pub fn push(&mut self, w: &str) {
        self.text.push_str(w);
        self.ends.push(self.text.len());
        self.cue_masks.push(crate::cues::word_mask(w));
        self.structure_masks.push(crate::structure::word_mask(w));
    }

    /// [`crate::cues::word_mask`] of each word.
    pub fn cue_masks(&self) -> &[u32] {
        &self.cue_masks
    }

    /// [`crate::structure::word_mask`] of each word.
    pub fn structure_masks(&self) -> &[u32] {
        &self.structure_masks
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.cue_masks.clear();
        self.structure_masks.clear();
    }

    /// Word `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let w = &self.text[start..end];
            start = end;
            w
        })
    }

    /// Frees spare capacity (memo entries are kept a long time).
    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.cue_masks.shrink_to_fit();
        self.structure_masks.shrink_to_fit();
    }

    /// Appends all of `other`'s words.
    pub fn extend_from(&mut self, other: &Words) {
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.ends.extend(other.ends.iter().map(|e| base + e));
        self.cue_masks.extend_from_slice(&other.cue_masks);
        self.structure_masks.extend_from_slice(&other.structure_masks);
    }
}

impl<S: AsRef<str>> FromIterator<S> for Words {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut w = Words::default();
        for s in iter {
            w.push(s.as_ref());
        }
        w
    }
}

/// Wrapper around a `tokenizers::Tokenizer`, with a memo of what it made of
/// each whitespace-delimited chunk of text (see [`TextTokenizer::encode_cached`]).
pub struct TextTokenizer {
    inner: Tokenizer,
    /// Identifies this tokenizer's entries in the per-thread memo.
    id: u64,
    /// Whether chunk-wise encoding is exact for this tokenizer.
    chunkable: bool,
}

impl Clone for TextTokenizer {
    fn clone(&self) -> Self {
        TextTokenizer::wrap(self.inner.clone())
    }
}

/// What the tokenizer made of one chunk: its token ids and its words as byte
/// spans of the chunk with their lower-cased text.
struct Chunk {
    ids: Box<[u32]>,
    words: Words,
}

/// Per thread: the tokenizer whose chunks are memoized, and its chunk -> tokens
/// map. Per thread rather than shared, so classification threads never lock
/// or write to the same cache lines (a shared, locked memo cost about a quarter
/// of the throughput on 2 threads). A map that fills up is emptied, so memory
/// stays bounded (a few MB per thread) whatever the input.
struct ChunkMemo {
    owner: u64,
    map: ahash::AHashMap<Box<str>, Chunk>,
}

thread_local! {
    static MEMO: RefCell<ChunkMemo> = RefCell::new(ChunkMemo {
        owner: 0,
        map: ahash::AHashMap::with_hasher(ahash::RandomState::with_seeds(1, 2, 3, 4)),
    });
}

/// Source of [`TextTokenizer`] ids (0 is no tokenizer).
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Entries of a thread's memo before it is emptied (the datasets have about 20,000 distinct chunks).
const MEMO_CAP: usize = 32_768;
/// Chunks longer than this (bytes) are not memoized.
const MEMO_MAX_CHUNK: usize = 64;

/// The characters that `BertNormalizer` turns into a plain space and that the
/// `BertPreTokenizer` then removes as a split point: nothing is ever joined
/// across them, so each stretch between them can be tokenized on its own.
fn is_chunk_break(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextTokenizer(vocab={})", self.vocab_size())
    }
}

impl TextTokenizer {
    /// Builds a lower-casing WordPiece tokenizer (BERT normalizer and
    /// pre-tokenizer) from `texts`, deterministically.
    ///
    /// The crate's `WordPieceTrainer` numbers its alphabet in hash-map order, so
    /// ties between merges make its vocabulary differ from run to run, and with it
    /// the model bytes. Instead the crate's deterministic `WordLevelTrainer` counts
    /// words (ordered by count, then spelling); the vocabulary is the frequent
    /// words, every character (as a word start and as a `##` continuation) and the
    /// most common word endings (`##ing`, `##tion`, ...), so unseen words still
    /// split into meaningful pieces.
    pub fn train<S: AsRef<str> + Sync>(texts: &[S], vocab_size: usize, min_frequency: u64) -> Result<Self> {
        // One counting pass over the texts; the vocabulary at each minimum
        // frequency comes from the same counts (the trainer orders words by
        // count, then spelling, and drops those under its minimum).
        let mut trainer = TrainerWrapper::from(
            WordLevelTrainer::builder()
                .min_frequency(1)
                .vocab_size(usize::MAX)
                .show_progress(false)
                .special_tokens(vec![])
                .build()
                .map_err(|e| Error::Tokenizer(e.to_string()))?,
        );
        let mut wl = Tokenizer::new(WordLevel::default());
        wl.with_normalizer(Some(BertNormalizer::default()));
        wl.with_pre_tokenizer(Some(BertPreTokenizer));
        wl.train(&mut trainer, texts.iter().map(|t| t.as_ref()))
            .map_err(|e| Error::Tokenizer(format!("training failed: {e}")))?;
        let TrainerWrapper::WordLevelTrainer(mut trainer) = trainer else {
            unreachable!("built as a word-level trainer")
        };
        let mut counter = |min: u64| -> Result<Vec<String>> {
            use tokenizers::{Model as _, Trainer as _};
            trainer.min_frequency = min;
            let mut model = WordLevel::default();
            trainer
                .train(&mut model)
                .map_err(|e| Error::Tokenizer(format!("training failed: {e}")))?;
            let mut v: Vec<(String, u32)> = model.get_vocab().into_iter().collect();
            v.sort_by_key(|x| x.1);
            Ok(v.into_iter().map(|x| x.0).collect())
        };
        let all_words = counter(1)?;
        let frequent = counter(min_frequency.max(1))?;

        let mut vocab: Vec<String> = vec![UNK.to_string()];
        let mut seen: std::collections::HashSet<String> = vocab.iter().cloned().collect();
        let mut add = |vocab: &mut Vec<String>, t: String| {
            if seen.insert(t.clone()) {
                vocab.push(t);
            }
        };
        let mut chars: Vec<char> = all_words.iter().flat_map(|w| w.chars()).collect();
        chars.sort_unstable();
        chars.dedup();
        for c in &chars {
            add(&mut vocab, c.to_string());
            add(&mut vocab, format!("##{c}"));
        }
        let word_budget = vocab_size.saturating_sub(vocab.len()) * 3 / 4;
        for w in frequent.iter().take(word_budget) {
            add(&mut vocab, w.clone());
        }
        let mut suffixes: std::collections::BTreeMap<String, usize> = Default::default();
        for w in &all_words {
            let cs: Vec<char> = w.chars().collect();
            for len in 2..=6.min(cs.len().saturating_sub(2)) {
                let suf: String = cs[cs.len() - len..].iter().collect();
                *suffixes.entry(suf).or_insert(0) += 1;
            }
        }
        let mut suffixes: Vec<(String, usize)> = suffixes.into_iter().filter(|s| s.1 >= 3).collect();
        suffixes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (s, _) in suffixes {
            if vocab.len() >= vocab_size {
                break;
            }
            add(&mut vocab, format!("##{s}"));
        }
        let map: ahash::AHashMap<String, u32> = vocab.into_iter().enumerate().map(|(i, t)| (t, i as u32)).collect();
        let model = WordPiece::builder()
            .vocab(map)
            .unk_token(UNK.to_string())
            .build()
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut tok = Tokenizer::new(model);
        tok.with_normalizer(Some(BertNormalizer::default()));
        tok.with_pre_tokenizer(Some(BertPreTokenizer));
        tok.add_special_tokens(&[AddedToken::from(UNK, true)]);
        Ok(TextTokenizer::wrap(tok))
    }

    fn wrap(inner: Tokenizer) -> Self {
        let chunkable = is_chunkable(&inner);
        TextTokenizer {
            inner,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            chunkable,
        }
    }

    /// Loads an existing `tokenizer.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let inner = Tokenizer::from_bytes(&bytes)
            .map_err(|e| Error::Tokenizer(format!("{}: not a tokenizer.json: {e}", path.display())))?;
        Ok(TextTokenizer::wrap(inner))
    }

    pub fn from_json(json: &str) -> Result<Self> {
        let inner = Tokenizer::from_bytes(json.as_bytes())
            .map_err(|e| Error::Tokenizer(format!("stored tokenizer does not load: {e}")))?;
        Ok(TextTokenizer::wrap(inner))
    }

    pub fn to_json(&self) -> Result<String> {
        self.inner
            .to_string(false)
            .map_err(|e| Error::Tokenizer(format!("cannot serialize tokenizer: {e}")))
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn id_to_token(&self, id: u32) -> String {
        self.inner.id_to_token(id).unwrap_or_else(|| format!("#{id}"))
    }

    /// Encodes one statement (no special tokens).
    pub fn encode(&self, text: &str) -> Result<Tokens> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(format!("encode failed: {e}")))?;
        let mut words = Words::default();
        let mut last_word: Option<u32> = None;
        let mut span: Option<(usize, usize)> = None;
        for (wid, &(s, e)) in enc.get_word_ids().iter().zip(enc.get_offsets()) {
            if *wid != last_word || wid.is_none() {
                if let Some((a, b)) = span.take() {
                    words.push(&word_text(text, a, b));
                }
                last_word = *wid;
                span = Some((s, e));
            } else if let Some((_, b)) = span.as_mut() {
                *b = e.max(*b);
            }
        }
        if let Some((a, b)) = span {
            words.push(&word_text(text, a, b));
        }
        Ok(Tokens {
            ids: enc.get_ids().to_vec(),
            words,
        })
    }
}

impl TextTokenizer {
    /// The same [`Tokens`] as [`TextTokenizer::encode`], faster on repeated
    /// words: the text is cut at ASCII spaces, tabs and line breaks (which the
    /// BERT normalizer makes plain spaces and the pre-tokenizer drops), each
    /// chunk goes through the full tokenizer (normalizer, pre-tokenizer,
    /// WordPiece) once, and its ids and words are remembered.
    ///
    /// Only for tokenizers with the BERT normalizer and pre-tokenizer (those
    /// `train` builds); any other tokenizer (a user's `tokenizer.json`) falls
    /// back to `encode` on the whole text.
    pub fn encode_cached(&self, text: &str) -> Result<Tokens> {
        let mut out = Tokens::default();
        self.encode_cached_into(text, &mut out)?;
        Ok(out)
    }

    /// [`TextTokenizer::encode_cached`] into `out`, reusing its buffers.
    pub fn encode_cached_into(&self, text: &str, out: &mut Tokens) -> Result<()> {
        if !self.chunkable {
            *out = self.encode(text)?;
            return Ok(());
        }
        out.ids.clear();
        out.words.clear();
        // The thread's memo is borrowed once per statement, not once per chunk.
        MEMO.with(|m| {
            let mut m = m.borrow_mut();
            if m.owner != self.id {
                m.map.clear();
                m.owner = self.id;
            }
            let bytes = text.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                if is_chunk_break(bytes[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && !is_chunk_break(bytes[i]) {
                    i += 1;
                }
                // The breaks are ASCII, so `start..i` lies on char boundaries.
                self.chunk(&text[start..i], out, &mut m)?;
            }
            Ok(())
        })
    }

    fn chunk(&self, chunk: &str, out: &mut Tokens, m: &mut ChunkMemo) -> Result<()> {
        if chunk.len() > MEMO_MAX_CHUNK {
            let t = self.encode(chunk)?;
            out.ids.extend_from_slice(&t.ids);
            out.words.extend_from(&t.words);
            return Ok(());
        }
        {
            if let Some(c) = m.map.get(chunk) {
                out.ids.extend_from_slice(&c.ids);
                out.words.extend_from(&c.words);
                return Ok(());
            }
            let t = self.encode(chunk)?;
            out.ids.extend_from_slice(&t.ids);
            out.words.extend_from(&t.words);
            if m.map.len() >= MEMO_CAP {
                m.map.clear();
            }
            let mut words = t.words;
            words.shrink_to_fit();
            m.map.insert(
                chunk.into(),
                Chunk {
                    ids: t.ids.into(),
                    words,
                },
            );
            Ok(())
        }
    }
}

/// Chunk-wise encoding equals whole-text encoding when the pre-tokenizer is
/// BERT's (it drops every whitespace character, so no word spans a chunk
/// break), the normalizer is BERT's (character by character: control characters
/// are dropped but spaces, tabs and line breaks stay whitespace), no added token
/// contains or strips whitespace, and nothing acts on the whole sequence
/// (truncation, padding, post-processing with special tokens, which `encode`
/// does not add anyway).
fn is_chunkable(t: &Tokenizer) -> bool {
    use tokenizers::{NormalizerWrapper, PreTokenizerWrapper};
    matches!(t.get_normalizer(), Some(NormalizerWrapper::BertNormalizer(_)))
        && matches!(t.get_pre_tokenizer(), Some(PreTokenizerWrapper::BertPreTokenizer(_)))
        && t.get_truncation().is_none()
        && t.get_padding().is_none()
        && t.get_added_tokens_decoder()
            .values()
            .all(|a| !a.lstrip && !a.rstrip && !a.content.bytes().any(is_chunk_break))
}

fn word_text(text: &str, a: usize, b: usize) -> String {
    text.get(a..b).unwrap_or("").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> TextTokenizer {
        let texts = [
            "We will continue to work with our allies.",
            "We urge both sides to return to talks.",
            "Any attack will be met with a decisive response.",
            "The minister arrived on Tuesday.",
        ];
        TextTokenizer::train(&texts, 200, 1).unwrap()
    }

    #[test]
    fn trains_offline_and_round_trips() {
        let t = small();
        let enc = t.encode("We WILL work with allies, won't we?").unwrap();
        assert!(!enc.ids.is_empty());
        let words: Vec<&str> = enc.words.iter().collect();
        assert_eq!(words[..3], ["we", "will", "work"]);
        assert!(words.contains(&"won") && words.contains(&"'"));
        let json = t.to_json().unwrap();
        let back = TextTokenizer::from_json(&json).unwrap();
        assert_eq!(
            back.encode("We urge restraint.").unwrap(),
            t.encode("We urge restraint.").unwrap()
        );
    }

    #[test]
    fn training_is_deterministic() {
        assert_eq!(small().to_json().unwrap(), small().to_json().unwrap());
    }
}
