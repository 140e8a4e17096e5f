#!/usr/bin/env bash
# Issue 8 benchmark: scripts/spark_classify.py on N statements (default 1,000,000)
# in local[1] and local[2], TRANSFORM and mapInPandas routes, beside the CLI's
# `classify --stream` on the same statements. Prints one Markdown table.
#
# Usage: scripts/bench-spark.sh        Env: N (statements), RUNS (median of, default 3)
# Uses the virtualenv of scripts/test.sh (target/ci-python), created here if absent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
VENV=target/ci-python
if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r python/requirements-dev.txt
"$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
"$VENV/bin/python" scripts/bench_spark.py
