#!/usr/bin/env bash
# Every test of the project (the README's test command; .ci/run calls it):
# the Rust suite, then the Python package (built from python/ into a local
# virtualenv) and the Spark job in local[2], against the CLI just built.
#
# Needs python3 (3.9+) and, for Spark, a Java 17 runtime, which is installed from
# Debian's packages when absent. Python packages come from PyPI, pinned in
# python/requirements-dev.txt. DEMARCHE_SKIP_SPARK=1 skips the Spark tests.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --locked

VENV=target/ci-python
if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r python/requirements-dev.txt

if [[ ${DEMARCHE_SKIP_SPARK:-0} != 1 ]] && ! command -v java > /dev/null; then
    echo "test.sh: installing a Java 17 runtime for Spark (openjdk-17-jre-headless)" >&2
    SUDO=$([[ $(id -u) == 0 ]] || echo sudo)
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless > /dev/null
fi

# The README's install command (`pip install ./python`: maturin builds the extension
# and pip installs it), with cargo's dev profile instead of release: it reuses the
# dependencies `cargo test` just compiled (optimised, see Cargo.toml), which saves
# minutes on a clean machine; the tests check behaviour, not speed.
"$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps \
    --config-settings=build-args="--profile dev" ./python

# pytest from the repository root, so `import demarche` is the installed package.
DEMARCHE_BIN="$PWD/target/debug/demarche" "$VENV/bin/python" -m pytest -q python/tests
