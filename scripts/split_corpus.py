#!/usr/bin/env python3
"""Merge written corpus batches and split them into train/dev/test by group.

Usage: scripts/split_corpus.py [--seed N] [--out DIR] [--keep DIR] FILE.jsonl [FILE.jsonl ...]

- Exact duplicates (case- and space-insensitive) keep their first occurrence.
- Groups whose statements are near-duplicates of each other (word 3-gram
  Jaccard >= 0.6, the threshold `demarche corpus check` enforces) are merged, so
  near-paraphrases never straddle splits.
- Whole groups are dealt to train/dev/test (70/15/15): largest first, each to
  the split furthest below its target. Re-running on the three split files
  reproduces the same split.
- With --keep DIR, statements already in DIR/{train,dev,test}.jsonl stay in
  their split (so earlier test figures stay comparable) and only new groups are
  dealt; pass the old split files and the new batches together.
"""
import argparse
import json
import random
import re
import sys
from collections import defaultdict

SHARES = {"train": 0.70, "dev": 0.15, "test": 0.15}
FIELDS = ["id", "text", "label", "speaker", "topic", "register", "group", "hard"]


def trigrams(text):
    words = [w.lower() for w in re.split(r"[^\w']+", text) if w]
    return {" ".join(words[i:i + 3]) for i in range(len(words) - 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default="datasets")
    ap.add_argument("--keep", help="folder whose train/dev/test assignment is kept")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    rows, seen = [], {}
    for path in args.files:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{n}: malformed JSON: {e}")
                missing = [k for k in FIELDS if k not in r]
                if missing:
                    sys.exit(f"{path}:{n}: missing fields {missing}")
                key = " ".join(r["text"].lower().split())
                if key in seen:
                    print(f"{path}:{n}: duplicate of {seen[key]}, dropped", file=sys.stderr)
                    continue
                seen[key] = f"{path}:{n}"
                rows.append({k: r[k] for k in FIELDS})

    # Union groups linked by near-duplicates.
    parent = {r["group"]: r["group"] for r in rows}

    def find(g):
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    grams = [trigrams(r["text"]) for r in rows]
    index = defaultdict(list)
    for i, s in enumerate(grams):
        for g in s:
            index[g].append(i)
    merged = 0
    for i, s in enumerate(grams):
        shared = defaultdict(int)
        for g in s:
            for j in index[g]:
                if j < i:
                    shared[j] += 1
        for j, inter in shared.items():
            if inter / (len(s) + len(grams[j]) - inter) >= 0.6:
                a, b = find(rows[i]["group"]), find(rows[j]["group"])
                if a != b:
                    parent[max(a, b)] = min(a, b)
                    merged += 1
    comps = defaultdict(list)
    for r in rows:
        comps[find(r["group"])].append(r)
    print(f"{len(rows)} statements, {len(parent)} groups, {len(comps)} after merging {merged} near-duplicate links",
          file=sys.stderr)

    kept = {}
    if args.keep:
        for s in SHARES:
            with open(f"{args.keep}/{s}.jsonl", encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        kept[json.loads(line)["id"]] = s
    out = {s: [] for s in SHARES}
    for c in list(comps):
        where = {kept[r["id"]] for r in comps[c] if r["id"] in kept}
        if len(where) > 1:
            sys.exit(f"group {c} is in several kept splits: {sorted(where)}")
        if where:
            out[where.pop()].extend(comps.pop(c))
    order = sorted(comps)
    random.Random(args.seed).shuffle(order)
    order.sort(key=lambda c: -len(comps[c]))
    total = len(rows)
    for c in order:
        split = max(SHARES, key=lambda s: (SHARES[s] * total - len(out[s])) / (SHARES[s] * total))
        out[split].extend(comps[c])
    for s, items in out.items():
        items.sort(key=lambda r: r["id"])
        with open(f"{args.out}/{s}.jsonl", "w", encoding="utf-8") as f:
            for r in items:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{s}: {len(items)} ({100 * len(items) / total:.1f}%)", file=sys.stderr)


if __name__ == "__main__":
    main()
