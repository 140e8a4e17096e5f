#!/usr/bin/env bash
# Runs scripts/baseline.py in a local virtualenv with pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet "scikit-learn==1.5.2" "numpy<2.2"
exec .venv/bin/python scripts/baseline.py "$@"
