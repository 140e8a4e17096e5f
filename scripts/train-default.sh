#!/usr/bin/env bash
# Retrains the shipped model from the corpus in datasets/. Run it whenever
# datasets/train.jsonl changes: a test fails while the model's corpus hash is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
./target/release/demarche train \
  --data datasets/train.jsonl \
  --dev datasets/dev.jsonl \
  --out models/demarche.model \
  --seed 42 --tune-thresholds "$@"
