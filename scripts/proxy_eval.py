#!/usr/bin/env python3
"""Real-text proxies: score a demarche model on public labeled datasets of
related tasks (evaluation only; never trained on), on the binary tasks that
map onto our labels:

  speech_acts       commissive_* vs the rest          -> commitment vs not
  unscon_sentences  negative_evaluation vs no_conflict -> warning vs not
  conflibert_cameo  verbal_cooperation vs verbal_conflict -> commitment vs warning,
                    on the sentences the model labels as either

Rows: the model, the majority baseline of its training corpus (always
`neutral`), and a plain scikit-learn TF-IDF + LogisticRegression trained on the
same corpus. Under the table, the F1 difference between the model and the
TF-IDF + LR row with a 95% paired bootstrap interval (the same resampled
sentences score both systems), so a gap smaller than the proxy's noise is
visible as one. Run through scripts/proxy-eval.sh.
"""
import argparse
import json
import os
import random
import subprocess
import sys


def read(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def one_line(t):
    t = " ".join(t.split())
    return t if t else "."


def prf(gold, pred):
    tp = sum(g and p for g, p in zip(gold, pred))
    fp = sum((not g) and p for g, p in zip(gold, pred))
    fn = sum(g and not p for g, p in zip(gold, pred))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def demarche_labels(binary, model, texts):
    args = [binary, "classify", "--lines", "--format", "jsonl", "-"]
    if model:
        args[2:2] = ["--model", model]
    out = subprocess.run(args, input="\n".join(one_line(t) for t in texts) + "\n",
                         capture_output=True, text=True, check=True).stdout
    labels = [json.loads(l)["predicted"] for l in out.splitlines()]
    assert len(labels) == len(texts), (len(labels), len(texts))
    return labels


def sklearn_labels(train_path, texts):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    rows = read(train_path)
    m = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                      LogisticRegression(C=10.0, max_iter=2000))
    m.fit([r["text"] for r in rows], [r["label"] for r in rows])
    return list(m.predict([one_line(t) for t in texts]))


def tasks(ext):
    sa = read(os.path.join(ext, "speech_acts", "test.jsonl"))
    un = [r for r in read(os.path.join(ext, "unscon_sentences", "test.jsonl"))
          if r["label"] in ("negative_evaluation", "no_conflict")]
    ca = [r for r in read(os.path.join(ext, "conflibert_cameo", "test.jsonl"))
          if r["label"] in ("verbal_cooperation", "verbal_conflict")]
    return [
        ("speech_acts: commitment vs not", sa, lambda l: l.startswith("commissive"), "commitment", None),
        ("unscon: warning vs not", un, lambda l: l == "negative_evaluation", "warning", None),
        ("cameo: commitment vs warning", ca, lambda l: l == "verbal_cooperation", "commitment", "warning"),
    ]


def score(rows, is_pos, pos, neg, pred):
    gold = [is_pos(r["label"]) for r in rows]
    if neg is None:
        p, r, f = prf(gold, [x == pos for x in pred])
        return {"n": len(rows), "precision": p, "recall": r, "f1": f}
    keep = [i for i, x in enumerate(pred) if x in (pos, neg)]
    g = [gold[i] for i in keep]
    pr = [pred[i] == pos for i in keep]
    p, r, f = prf(g, pr)
    # macro-F1 over the two classes, and how many sentences the model labels as either
    _, _, f_neg = prf([not x for x in g], [not x for x in pr])
    return {"n": len(keep), "of": len(rows), "precision": p, "recall": r, "f1": f, "macro_f1": (f + f_neg) / 2}


def paired_bootstrap(rows, is_pos, pos, neg, a, b, reps=1000, seed=0):
    """95% interval of F1(a) - F1(b) over sentences resampled with replacement."""
    rng = random.Random(seed)
    n = len(rows)
    diffs = []
    for _ in range(reps):
        pick = [rng.randrange(n) for _ in range(n)]
        sub = [rows[i] for i in pick]
        fa = score(sub, is_pos, pos, neg, [a[i] for i in pick])["f1"]
        fb = score(sub, is_pos, pos, neg, [b[i] for i in pick])["f1"]
        diffs.append(fa - fb)
    diffs.sort()
    return diffs[int(0.025 * reps)], diffs[int(0.975 * reps) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--external", default=os.path.join("..", "shared", "external"))
    ap.add_argument("--demarche", default="target/release/demarche")
    ap.add_argument("--model", default=None, help="model file (default: the shipped model)")
    ap.add_argument("--train", default="datasets/train.jsonl", help="corpus for the TF-IDF + LR row")
    ap.add_argument("--json")
    args = ap.parse_args()
    results = {}
    gaps = []
    print(f"{'task':<34} {'system':<28} {'n':>5} {'precision':>9} {'recall':>7} {'F1':>7}")
    for name, rows, is_pos, pos, neg in tasks(args.external):
        texts = [r["text"] for r in rows]
        systems = [
            ("demarche", demarche_labels(args.demarche, args.model, texts)),
            ("majority (always neutral)", ["neutral"] * len(texts)),
            ("tf-idf + LR (same corpus)", sklearn_labels(args.train, texts)),
        ]
        for sys_name, pred in systems:
            s = score(rows, is_pos, pos, neg, pred)
            results.setdefault(name, {})[sys_name] = s
            n = f"{s['n']}" if "of" not in s else f"{s['n']}/{s['of']}"
            print(f"{name:<34} {sys_name:<28} {n:>5} {s['precision']:>9.4f} {s['recall']:>7.4f} {s['f1']:>7.4f}")
        d, t = systems[0][1], systems[2][1]
        lo, hi = paired_bootstrap(rows, is_pos, pos, neg, d, t)
        diff = results[name]["demarche"]["f1"] - results[name]["tf-idf + LR (same corpus)"]["f1"]
        results[name]["difference"] = {"f1": diff, "ci95": [lo, hi]}
        gaps.append(f"{name:<34} {diff:+.4f}  [{lo:+.4f}, {hi:+.4f}]")
    print()
    print(f"{'F1 demarche - tf-idf + LR':<34} {'diff':>7}  95% paired bootstrap interval (1000 resamples)")
    for g in gaps:
        print(g)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
