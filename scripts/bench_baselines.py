#!/usr/bin/env python3
"""Baselines for scripts/bench.sh: scikit-learn TF-IDF (word 1-2 grams) +
LogisticRegression, TF-IDF + LinearSVC, and fastText, on the project's split.

  bench_baselines.py train SYSTEM MODEL_OUT [--data datasets]
      fit on train.jsonl, save the model, print {"accuracy", "macro_f1"} on test.jsonl
  bench_baselines.py classify SYSTEM MODEL INPUT --threads N
      load the model (timed: whole process), label every line of INPUT and
      write one label per line to stdout; N worker processes when N > 1,
      output in input order.
"""
import argparse
import json
import os
import pickle
import sys


def read(path):
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    rows = [r for r in rows if r.get("label")]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def clean(t):
    return t.replace("\n", " ").replace("\r", " ")


def sk_pipeline(system):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    if system == "sklearn-lr":
        from sklearn.linear_model import LogisticRegression

        return make_pipeline(vec, LogisticRegression(C=10.0, max_iter=2000))
    from sklearn.svm import LinearSVC

    return make_pipeline(vec, LinearSVC(C=1.0))


def train(args):
    from sklearn.metrics import accuracy_score, f1_score

    Xtr, ytr = read(os.path.join(args.data, "train.jsonl"))
    Xte, yte = read(os.path.join(args.data, "test.jsonl"))
    if args.system == "fasttext":
        import fasttext

        tmp = args.model + ".train.txt"
        with open(tmp, "w", encoding="utf-8") as f:
            for x, y in zip(Xtr, ytr):
                f.write(f"__label__{y} {clean(x)}\n")
        m = fasttext.train_supervised(tmp, epoch=25, lr=0.5, wordNgrams=2, dim=50, thread=1, seed=42, verbose=0)
        os.remove(tmp)
        m.save_model(args.model)
        pred = [l[0].replace("__label__", "") for l in m.predict([clean(x) for x in Xte])[0]]
    else:
        m = sk_pipeline(args.system).fit(Xtr, ytr)
        with open(args.model, "wb") as f:
            pickle.dump(m, f)
        pred = list(m.predict(Xte))
    print(json.dumps({"accuracy": accuracy_score(yte, pred), "macro_f1": f1_score(yte, pred, average="macro")}))


def load(system, path):
    if system == "fasttext":
        import fasttext

        fasttext.FastText.eprint = lambda *a, **k: None  # a deprecation notice on every load
        return fasttext.load_model(path)
    with open(path, "rb") as f:
        return pickle.load(f)


def predict_chunk(system, model, lines):
    if system == "fasttext":
        return [l[0].replace("__label__", "") for l in model.predict(lines)[0]]
    return list(model.predict(lines))


_worker = None


def _init(system, path):
    global _worker
    _worker = (system, load(system, path))


def _run(lines):
    return predict_chunk(_worker[0], _worker[1], lines)


def classify(args):
    with open(args.input, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    chunk = 10000
    chunks = [lines[i : i + chunk] for i in range(0, len(lines), chunk)]
    out = sys.stdout
    if args.threads <= 1:
        model = load(args.system, args.model)
        for c in chunks:
            out.write("\n".join(predict_chunk(args.system, model, c)) + "\n")
    else:
        from multiprocessing import Pool

        with Pool(args.threads, initializer=_init, initargs=(args.system, args.model)) as pool:
            for labels in pool.imap(_run, chunks):
                out.write("\n".join(labels) + "\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("system", choices=["sklearn-lr", "sklearn-svc", "fasttext"])
    t.add_argument("model")
    t.add_argument("--data", default="datasets")
    c = sub.add_parser("classify")
    c.add_argument("system", choices=["sklearn-lr", "sklearn-svc", "fasttext"])
    c.add_argument("model")
    c.add_argument("input")
    c.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    train(args) if args.cmd == "train" else classify(args)


if __name__ == "__main__":
    main()
