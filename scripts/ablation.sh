#!/usr/bin/env bash
# Feature-family ablation: leave-one-register-out macro-F1 on the training split
# and, where ../shared/external exists, the real-text proxy F1s, for the full
# feature set and with each family left out. Prints one Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=target/release/demarche
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ext="${EXTERNAL:-../shared/external}"
configs=("full|" "no cues|--no-cues" "no structure|--no-structure" "n-grams only|--no-cues --no-structure")
echo "| features | LORO macro-F1 (mean ± sd) | speech_acts commitment F1 | unscon warning F1 | cameo commitment-vs-warning F1 |"
echo "|---|---:|---:|---:|---:|"
for c in "${configs[@]}"; do
  name=${c%%|*}
  flags=${c#*|}
  # shellcheck disable=SC2086
  loro=$($bin eval --leave-out register --data datasets/train.jsonl $flags | sed -n 's/^macro-F1  //p')
  proxy=("-" "-" "-")
  if [ -d "$ext/speech_acts" ] && [ -x .venv/bin/python ]; then
    # shellcheck disable=SC2086
    $bin train --data datasets/train.jsonl --out "$tmp/m.model" $flags > /dev/null
    .venv/bin/python scripts/proxy_eval.py --external "$ext" --model "$tmp/m.model" --json "$tmp/p.json" > /dev/null
    mapfile -t proxy < <(.venv/bin/python -c "
import json; r = json.load(open('$tmp/p.json'))
for k in r: print(f\"{r[k]['demarche']['f1']:.4f}\")")
  fi
  echo "| $name | $loro | ${proxy[0]} | ${proxy[1]} | ${proxy[2]} |"
done
