#!/usr/bin/env bash
# Scores the shipped model (or --model M) on real-text proxy tasks built from the
# public datasets in ../shared/external (evaluation only). Skips where they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
ext="${EXTERNAL:-../shared/external}"
if [ ! -d "$ext/speech_acts" ]; then
  echo "proxy-eval: $ext not found; skipping (the public proxy datasets are not part of the repository)"
  exit 0
fi
cargo build --release --locked --quiet
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet "scikit-learn==1.5.2" "numpy<2.2"
exec .venv/bin/python scripts/proxy_eval.py --external "$ext" "$@"
