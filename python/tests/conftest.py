"""Shared fixtures: the repository, the CLI binary the package is compared
with, the shipped model, and one Spark session for all Spark tests (a session
takes about 9 s to start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _binary() -> Path:
    env = os.environ.get("DEMARCHE_BIN")
    if env:
        # Absolute: Spark runs the TRANSFORM command in its own working folder.
        return Path(env).resolve()
    for profile in ("debug", "release"):
        p = ROOT / "target" / profile / "demarche"
        if p.is_file():
            return p
    subprocess.run(["cargo", "build", "--quiet", "--bin", "demarche"], cwd=ROOT, check=True)
    return ROOT / "target" / "debug" / "demarche"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """Runs the demarche CLI; returns its stdout (raises with stderr on failure)."""
    binary = _binary()

    def run(*args, input=None):
        p = subprocess.run([str(binary), *map(str, args)], cwd=ROOT, input=input, capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError(f"demarche {' '.join(map(str, args))} failed ({p.returncode}): {p.stderr}")
        return p.stdout

    run.binary = binary
    return run


@pytest.fixture(scope="session")
def model():
    import demarche

    return demarche.Model.load()


def read_jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def spark():
    if os.environ.get("DEMARCHE_SKIP_SPARK") == "1":
        pytest.skip("DEMARCHE_SKIP_SPARK=1")
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (it has demarche, pandas, pyarrow).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("demarche-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
