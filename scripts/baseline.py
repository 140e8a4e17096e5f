#!/usr/bin/env python3
"""Plain baseline on the project's split: scikit-learn TF-IDF (word 1-2 grams)
+ LogisticRegression, the pipeline a political scientist would reach for.

Prints accuracy and macro-F1 on test.jsonl, 5-fold stratified CV on train.jsonl
and end-to-end label accuracy on the gold briefings (gold sentences classified
one by one, since scikit-learn has no segmenter). Run through
scripts/baseline.sh, which installs pinned versions into .venv.
"""
import argparse
import glob
import json
import os
import sys

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, classification_report, f1_score
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline


def read(path):
    rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    rows = [r for r in rows if r.get("label")]
    return [r["text"] for r in rows], [r["label"] for r in rows]


def pipeline():
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        LogisticRegression(C=10.0, max_iter=2000),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="datasets")
    ap.add_argument("--json", help="write the figures as JSON here")
    args = ap.parse_args()
    Xtr, ytr = read(os.path.join(args.data, "train.jsonl"))
    Xte, yte = read(os.path.join(args.data, "test.jsonl"))
    out = {}

    model = pipeline().fit(Xtr, ytr)
    pred = model.predict(Xte)
    out["test_accuracy"] = accuracy_score(yte, pred)
    out["test_macro_f1"] = f1_score(yte, pred, average="macro")
    print("scikit-learn TF-IDF (1-2 grams) + LogisticRegression(C=10)\n")
    print(f"test ({len(yte)} statements)")
    print(classification_report(yte, pred, digits=4))

    cv = cross_validate(pipeline(), Xtr, ytr, cv=StratifiedKFold(5, shuffle=True, random_state=42),
                        scoring=["accuracy", "f1_macro"])
    for k, name in [("test_accuracy", "accuracy"), ("test_f1_macro", "macro_f1")]:
        out[f"cv_{name}_mean"] = float(np.mean(cv[k]))
        out[f"cv_{name}_std"] = float(np.std(cv[k]))
    print(f"5-fold CV on train: accuracy {out['cv_accuracy_mean']:.4f} ± {out['cv_accuracy_std']:.4f}, "
          f"macro-F1 {out['cv_macro_f1_mean']:.4f} ± {out['cv_macro_f1_std']:.4f}")

    gold_t, gold_y = [], []
    for g in sorted(glob.glob(os.path.join(args.data, "briefings", "*.gold.jsonl"))):
        for line in open(g, encoding="utf-8"):
            r = json.loads(line)
            gold_t.append(r["text"])
            gold_y.append(r["label"])
    if gold_t:
        bp = model.predict(gold_t)
        out["briefings_accuracy"] = accuracy_score(gold_y, bp)
        out["briefings_macro_f1"] = f1_score(gold_y, bp, average="macro")
        print(f"briefings ({len(gold_y)} gold sentences, gold segmentation): accuracy "
              f"{out['briefings_accuracy']:.4f}, macro-F1 {out['briefings_macro_f1']:.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
