#!/usr/bin/env bash
# Issue 7's before/after table: ordinary 5-fold CV, leave-one-register-out CV and
# the real-text proxies (scripts/proxy_eval.py; skipped without ../shared/external)
# for the first release and for the current corpus and features, both trained
# and scored by the current binary.
#
# "before" = the corpus of the first release (commit 42803ed: 3,900 training
# statements) with its features and hyperparameters (n-grams + cues,
# --no-structure, 3,000 n-grams, alpha 0.3), no calibration or thresholds, as it
# shipped. "after" = datasets/ now and the shipped settings
# (scripts/train-default.sh). Needs the git history of the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=target/release/demarche
before=42803ed
first_release="--no-structure --max-features 3000 --alpha 0.3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in train dev test; do
  git show "$before:datasets/$s.jsonl" > "$tmp/before-$s.jsonl"
done
ext="${EXTERNAL:-../shared/external}"
have_ext=0
if [ -d "$ext/speech_acts" ]; then
  have_ext=1
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install --quiet "scikit-learn==1.5.2" "numpy<2.2"
fi

# shellcheck disable=SC2086
$bin train --data "$tmp/before-train.jsonl" --dev "$tmp/before-dev.jsonl" $first_release --seed 42 \
  --out "$tmp/before.model" > /dev/null
declare -A flags=([before]="$first_release" [after]="")
declare -A train=([before]="$tmp/before-train.jsonl" [after]="datasets/train.jsonl")
declare -A model=([before]="$tmp/before.model" [after]="models/demarche.model")

echo "| | training statements | 5-fold CV macro-F1 | leave-one-register-out macro-F1 | speech_acts commitment F1 (TF-IDF+LR) | unscon warning F1 (TF-IDF+LR) | cameo commitment-vs-warning F1 (TF-IDF+LR) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for w in before after; do
  n=$(grep -c . "${train[$w]}")
  # shellcheck disable=SC2086
  cv=$($bin eval --cv 5 --data "${train[$w]}" ${flags[$w]} | sed -n 's/^macro-F1  //p')
  # shellcheck disable=SC2086
  loro=$($bin eval --leave-out register --data "${train[$w]}" ${flags[$w]} | sed -n 's/^macro-F1  //p')
  proxy=("-" "-" "-")
  if [ $have_ext = 1 ]; then
    .venv/bin/python scripts/proxy_eval.py --external "$ext" --model "${model[$w]}" --train "${train[$w]}" \
      --json "$tmp/p.json" > /dev/null
    mapfile -t proxy < <(.venv/bin/python -c "
import json; r = json.load(open('$tmp/p.json'))
for k in r: print(f\"{r[k]['demarche']['f1']:.4f} ({r[k]['tf-idf + LR (same corpus)']['f1']:.4f})\")")
  fi
  echo "| $w | $n | $cv | $loro | ${proxy[0]} | ${proxy[1]} | ${proxy[2]} |"
done

# Predicted label shares on ordinary prose: the 16 briefings, segmented by the
# CLI, beside the shares of their gold statements.
echo
echo "| labels on datasets/briefings (statements) | commitment | neutral | reconciliation_appeal | warning |"
echo "|---|---:|---:|---:|---:|"
shares() {
  python3 -c '
import collections, json, sys
c = collections.Counter(json.loads(l)["'"$1"'"] for l in sys.stdin if l.strip())
n = sum(c.values())
print(" | ".join(f"{c[k] / n:.1%}" for k in ("commitment", "neutral", "reconciliation_appeal", "warning")), f"({n})")'
}
echo "| gold | $(cat datasets/briefings/*.gold.jsonl | shares label) |"
for w in before after; do
  echo "| $w | $($bin classify --format jsonl --model "${model[$w]}" datasets/briefings/*.txt | shares predicted) |"
done
