#!/usr/bin/env bash
# Side-by-side benchmark of issue 5: demarche vs scikit-learn TF-IDF + LR,
# TF-IDF + LinearSVC and fastText, trained on datasets/train.jsonl and scored
# on datasets/test.jsonl, then timed as whole processes (model load included)
# on N statements (default 200,000, one per line) at 1 and 2 threads.
# Every timing is the median of RUNS (default 3) runs under /usr/bin/time -v
# (peak RSS from it, wall time from the clock in nanoseconds).
# Prints one Markdown table (with each system's ratio to demarche).
#
# Usage: scripts/bench.sh            Env: N, RUNS, TMPDIR
# The baselines run in .venv, created here from pinned PyPI versions.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
RUNS=${RUNS:-3}
BIN=target/release/demarche
cargo build --release --locked --quiet

if [[ ! -x .venv/bin/python ]]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet "scikit-learn==1.5.2" "numpy==1.26.4" "scipy==1.17.1" "fasttext-wheel==0.9.2"
PY=.venv/bin/python

WORK=$(mktemp -d "${TMPDIR:-/tmp}/demarche-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# N statements: the texts of datasets/*.jsonl, shuffled and repeated.
python3 - "$WORK/lines.txt" "$N" <<'PY'
import json, random, sys
texts = []
for s in ("train", "dev", "test"):
    with open(f"datasets/{s}.jsonl", encoding="utf-8") as f:
        texts += [json.loads(l)["text"].replace("\n", " ").replace("\r", " ") for l in f if l.strip()]
rng, out, n = random.Random(1), [], int(sys.argv[2])
while len(out) < n:
    rng.shuffle(texts)
    out += texts
with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write("\n".join(out[:n]) + "\n")
PY
# One briefing of 33 statements: demarche segments the raw transcript itself;
# the baselines, which have no segmenter, get its gold statements one per line.
BRIEF=datasets/briefings/transcript-addis-au-commission-briefing
python3 -c 'import json,sys; [print(json.loads(l)["text"].replace("\n"," ")) for l in open(sys.argv[1]) if l.strip()]' "$BRIEF.gold.jsonl" > "$WORK/brief.txt"

# median_time OUT_PREFIX CMD...: runs CMD RUNS times (stdout discarded) and
# writes the median wall seconds and median peak RSS (KB) to OUT_PREFIX.{s,kb}.
median_time() {
    local pre=$1; shift
    local ts=() ks=()
    for _ in $(seq "$RUNS"); do
        local t0 t1
        t0=$(date +%s%N)
        /usr/bin/time -v -o "$WORK/time.txt" "$@" > /dev/null
        t1=$(date +%s%N)
        # Wall time from the clock in ns (time -v rounds to 10 ms).
        ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b - a) / 1e9}')")
        ks+=("$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")")
    done
    printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}' > "$pre.s"
    printf '%s\n' "${ks[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}' > "$pre.kb"
}

echo "== demarche" >&2
median_time "$WORK/demarche.train" "$BIN" train --data datasets/train.jsonl --out "$WORK/demarche.model" --seed 42
"$BIN" eval --model "$WORK/demarche.model" --data datasets/test.jsonl --json "$WORK/demarche.eval.json" > /dev/null
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"accuracy": d["accuracy"], "macro_f1": d["macro_f1"]}))' \
    "$WORK/demarche.eval.json" > "$WORK/demarche.metrics"
for t in 1 2; do
    median_time "$WORK/demarche.c$t" "$BIN" classify --model "$WORK/demarche.model" --lines --format csv --threads "$t" "$WORK/lines.txt"
done
median_time "$WORK/demarche.brief" "$BIN" classify --model "$WORK/demarche.model" --format csv --threads 1 "$BRIEF.txt"

for sys in sklearn-lr sklearn-svc fasttext; do
    echo "== $sys" >&2
    median_time "$WORK/$sys.train" "$PY" scripts/bench_baselines.py train "$sys" "$WORK/$sys.model"
    "$PY" scripts/bench_baselines.py train "$sys" "$WORK/$sys.model" > "$WORK/$sys.metrics"
    for t in 1 2; do
        median_time "$WORK/$sys.c$t" "$PY" scripts/bench_baselines.py classify "$sys" "$WORK/$sys.model" "$WORK/lines.txt" --threads "$t"
    done
    median_time "$WORK/$sys.brief" "$PY" scripts/bench_baselines.py classify "$sys" "$WORK/$sys.model" "$WORK/brief.txt" --threads 1
done

python3 - "$WORK" "$N" "$(wc -l < "$WORK/brief.txt")" <<'PY'
import json, sys
work, n, nb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def num(name): return float(open(f"{work}/{name}").read())
rows = {}
for s in ("demarche", "sklearn-lr", "sklearn-svc", "fasttext"):
    m = json.loads(open(f"{work}/{s}.metrics").read())
    rows[s] = {
        "acc": m["accuracy"], "f1": m["macro_f1"], "train": num(f"{s}.train.s"),
        "c1": n / num(f"{s}.c1.s"), "c2": n / num(f"{s}.c2.s"),
        "rss": num(f"{s}.c1.kb") / 1024, "brief": num(f"{s}.brief.s"),
    }
d = rows["demarche"]
def cell(s, k, fmt):
    v = rows[s][k]
    return fmt.format(v) if s == "demarche" else f"{fmt.format(v)} ({v / d[k]:.2f}×)"
print(f"| system | accuracy | macro-F1 | train s | classify/s 1 thread | classify/s 2 threads | peak RSS MB (classify, 1 thread) | one briefing ({nb} statements), whole process s |")
print("|---|---|---|---|---|---|---|---|")
for s in rows:
    print(f"| {s} | {cell(s,'acc','{:.4f}')} | {cell(s,'f1','{:.4f}')} | {cell(s,'train','{:.2f}')} | "
          f"{cell(s,'c1','{:,.0f}')} | {cell(s,'c2','{:,.0f}')} | {cell(s,'rss','{:.1f}')} | {cell(s,'brief','{:.3f}')} |")
print()
print(f"demarche 2-thread / 1-thread throughput: {d['c2'] / d['c1']:.2f}×")
print(f"Ratios in parentheses are the system's figure divided by demarche's. {n:,} statements; median of runs.")
PY
