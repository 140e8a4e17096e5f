#!/usr/bin/env python3
"""Throughput of scripts/spark_classify.py on N statements (default 1,000,000) in
local[1] and local[2], both routes, beside the single-process CLI
(`demarche classify --stream`) on the same statements. Run by scripts/bench-spark.sh.

Statements are the texts of datasets/*.jsonl, shuffled and repeated, written as
Parquet (8 files, with an id column) for Spark and as one line each for the CLI.
Spark timings are the job alone (read, classify, write Parquet) in a session
already started; each is the median of RUNS runs. Prints one Markdown table.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import spark_classify as sc  # noqa: E402

N = int(os.environ.get("N", "1000000"))
RUNS = int(os.environ.get("RUNS", "3"))
BIN = str(ROOT / "target" / "release" / "demarche")


def statements(n: int):
    texts = []
    for split in ("train", "dev", "test"):
        with open(ROOT / "datasets" / f"{split}.jsonl", encoding="utf-8") as f:
            texts += [json.loads(l)["text"] for l in f if l.strip()]
    rng, out = random.Random(1), []
    while len(out) < n:
        rng.shuffle(texts)
        out += texts
    return out[:n]


def median_seconds(fn) -> float:
    ts = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> int:
    import pandas as pd

    work = Path(tempfile.mkdtemp(prefix="demarche-bench-spark."))
    texts = statements(N)
    src = work / "statements.parquet"
    src.mkdir()
    per = (N + 7) // 8
    for i in range(8):
        part = texts[i * per : (i + 1) * per]
        pd.DataFrame({"id": range(i * per, i * per + len(part)), "text": part}).to_parquet(
            src / f"part-{i}.parquet", index=False
        )
    lines = work / "lines.tsv"
    with open(lines, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r") + "\n")
    chars = sum(map(len, texts)) / N
    print(f"{N:,} statements ({chars:.0f} characters on average), median of {RUNS} runs", file=sys.stderr)

    rows = []
    for threads in (1, 2):
        def cli():
            with open(lines, "rb") as i, open(os.devnull, "wb") as o:
                subprocess.run([BIN, "classify", "--stream", "--threads", str(threads)], stdin=i, stdout=o, check=True)

        s = median_seconds(cli)
        rows.append((f"CLI `classify --stream --threads {threads}` (whole process)", threads, s))
        print(rows[-1], file=sys.stderr)

    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    for cores in (1, 2):
        spark = (
            SparkSession.builder.master(f"local[{cores}]")
            .appName("demarche-bench")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        for route in ("transform", "pandas"):
            out = work / f"out-{route}-{cores}"

            def job():
                sc.run(spark, str(src), str(out), route=route, binary=BIN, overwrite=True)

            job()  # warm-up: JVM JIT, Python workers, model load
            s = median_seconds(job)
            rows.append((f"Spark `{route}` route, local[{cores}]", cores, s))
            print(rows[-1], file=sys.stderr)
        spark.stop()

    def rate(s):
        return N / s

    print(f"| run | cores | seconds | statements/s |")
    print("|---|---|---|---|")
    for name, cores, s in rows:
        print(f"| {name} | {cores} | {s:.2f} | {rate(s):,.0f} |")
    by = {name: s for name, _, s in rows}
    for route in ("transform", "pandas"):
        one, two = by[f"Spark `{route}` route, local[1]"], by[f"Spark `{route}` route, local[2]"]
        print(f"\nSpark {route} route scaling local[2] / local[1]: {one / two:.2f}x", end="")
    cli1, cli2 = by["CLI `classify --stream --threads 1` (whole process)"], by["CLI `classify --stream --threads 2` (whole process)"]
    print(f"\nCLI scaling 2 threads / 1 thread: {cli1 / cli2:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
