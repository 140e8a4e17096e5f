//! Criterion benchmarks of the classification hot path, per sentence:
//! segmenter, tokenizer (plain `encode` vs the memoized `encode_cached`),
//! featurizer, predict (logits + softmax) and the whole pipeline.
//! Run with `cargo bench`; they are not part of `cargo test`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use demarche::corpus::Corpus;
use demarche::model::Model;
use demarche::pipeline::{classify_with, ClassifyOptions, Segmentation};
use demarche::segmenter::segment;

fn setup() -> (Model, Vec<String>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model = Model::load(&root.join("models/demarche.model")).expect("shipped model");
    let corpus = Corpus::read(root.join("datasets/test.jsonl")).expect("test set");
    let texts = corpus.texts().into_iter().map(String::from).collect();
    (model, texts)
}

fn per_sentence(c: &mut Criterion) {
    let (model, texts) = setup();
    let doc = texts.join(" ");
    let mut g = c.benchmark_group("per_sentence");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.sample_size(10);

    g.bench_function("segmenter", |b| b.iter(|| black_box(segment(black_box(&doc)))));
    g.bench_function("tokenizer_plain", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(model.tokenizer.encode(t).unwrap());
            }
        })
    });
    g.bench_function("tokenizer_memoized", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(model.tokenizer.encode_cached(t).unwrap());
            }
        })
    });
    let tokens: Vec<_> = texts.iter().map(|t| model.tokenizer.encode(t).unwrap()).collect();
    g.bench_function("featurizer", |b| {
        b.iter(|| {
            for (t, x) in texts.iter().zip(&tokens) {
                black_box(model.featurizer.transform(x, t));
            }
        })
    });
    let feats: Vec<_> = texts.iter().map(|t| model.features(t).unwrap()).collect();
    g.bench_function("predict_from_features", |b| {
        b.iter(|| {
            for x in &feats {
                black_box(model.predict_logits(model.logits(x)));
            }
        })
    });
    g.bench_function("predict_text", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(model.predict(t).unwrap());
            }
        })
    });
    let lines = texts
        .iter()
        .map(|t| t.replace('\n', " "))
        .collect::<Vec<_>>()
        .join("\n");
    let opts = ClassifyOptions {
        mode: Segmentation::Lines,
        ..ClassifyOptions::default()
    };
    g.bench_function("pipeline_lines", |b| {
        b.iter(|| black_box(classify_with(&model, "bench", &lines, &opts).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, per_sentence);
criterion_main!(benches);
