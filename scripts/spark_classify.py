#!/usr/bin/env python3
"""Classify statements or whole documents with demarche inside Spark.

Reads Parquet, CSV (with a header), JSON Lines or a folder/glob of text files
(one document each), classifies the text column and writes Parquet: every input
column, then `label`, `confidence` and one `p_<label>` column per model label
(with --prefix before each name). Two routes, one engine (the Rust library):

  --route transform  Spark SQL `SELECT TRANSFORM(...) USING 'demarche classify --stream'`:
                     each executor pipes its rows through the CLI binary; no Python
                     in the data path. Statements only (one row in, one row out).
  --route pandas     `mapInPandas` with the `demarche` Python package: one model load
                     per Python worker process, the GIL released while it classifies.
                     Also takes whole documents (--documents): one output row per
                     statement, with its offsets, text and speaker.

Local run:
    python scripts/spark_classify.py statements.parquet out.parquet --master 'local[2]'
On a cluster, ship the binary and model (transform) or a packed virtualenv with the
demarche package (pandas; a compiled extension cannot be imported from --py-files):
    spark-submit --files target/release/demarche,models/demarche.model \\
        scripts/spark_classify.py s3://bucket/in s3://bucket/out --binary ./demarche --model ./demarche.model
    PYSPARK_PYTHON=./env/bin/python spark-submit --archives env.tar.gz#env \\
        scripts/spark_classify.py s3://bucket/in s3://bucket/out --route pandas
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from typing import Iterator, List, Optional

ROUTES = ("transform", "pandas")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_binary(binary: Optional[str]) -> str:
    """The demarche CLI: --binary, else `demarche` on PATH, else this checkout's build."""
    if binary:
        return binary
    on_path = shutil.which("demarche")
    if on_path:
        return on_path
    for profile in ("release", "debug"):
        p = os.path.join(REPO, "target", profile, "demarche")
        if os.path.isfile(p):
            return p
    raise SystemExit("spark_classify: no demarche binary found: pass --binary or run `cargo build --release`")


def model_labels(route: str, model: Optional[str], binary: Optional[str]) -> List[str]:
    """Labels in model order, read once on the driver (they name the output columns)."""
    if route == "pandas":
        import demarche

        return demarche.Model.load(model).labels
    cmd = [find_binary(binary), "inspect", "--json", "--top", "0"] + ([model] if model else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["labels"]


def read_input(spark, path: str, fmt: str = "auto"):
    if fmt == "auto":
        base = path.rstrip("/").lower()
        if base.endswith(".csv"):
            fmt = "csv"
        elif base.endswith((".jsonl", ".json", ".ndjson")):
            fmt = "json"
        elif base.endswith(".txt"):
            fmt = "text"
        else:
            fmt = "parquet"
    if fmt == "parquet":
        return spark.read.parquet(path)
    if fmt == "csv":
        # multiLine: quoted fields may hold line breaks (paragraphs of a document).
        return spark.read.option("header", True).option("multiLine", True).option("escape", '"').csv(path)
    if fmt == "json":
        return spark.read.json(path)
    if fmt == "text":
        # One row per file (a folder or glob of briefings): its path and whole text.
        df = spark.read.text(path, wholetext=True)
        return df.select(df["_metadata.file_path"].alias("path"), df["value"].alias("text"))
    raise SystemExit(f"spark_classify: unknown input format {fmt!r} (parquet, csv, json, text)")


def result_names(labels: List[str], prefix: str = "") -> List[str]:
    """Output columns: label, confidence, then one probability per model label."""
    return [f"{prefix}label", f"{prefix}confidence"] + [f"{prefix}p_{label}" for label in labels]


def _result_fields(labels: List[str], prefix: str):
    from pyspark.sql.types import DoubleType, StringType, StructField

    names = result_names(labels, prefix)
    return [StructField(names[0], StringType())] + [StructField(n, DoubleType()) for n in names[1:]]


def _check_columns(df, text_col: str, labels: List[str], extra: List[str], prefix: str):
    if text_col not in df.columns:
        raise SystemExit(f"spark_classify: no column {text_col!r} in the input (columns: {', '.join(df.columns)})")
    taken = set(df.columns) & (set(result_names(labels, prefix)) | set(extra))
    if taken:
        raise SystemExit(
            f"spark_classify: the input already has output column(s) {sorted(taken)}; pass --prefix (e.g. pred_)"
        )


def classify_transform(df, text_col: str, labels: List[str], binary: str, model: Optional[str], threads: int = 1,
                       prefix: str = ""):
    """Every input column goes through `TRANSFORM` and back unchanged: strings and
    binaries as hex and nested types as hex JSON (no tab or newline can break a
    row; Spark's base64 may insert line breaks), other scalars as text, then
    decoded and cast back. The text is
    also sent with `\\`, tab, CR and LF escaped, which `classify --stream` undoes."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, BinaryType, MapType, StringType, StructType

    _check_columns(df, text_col, labels, [], prefix)
    escaped = F.col(text_col)
    for raw, esc in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        escaped = F.replace(escaped, F.lit(raw), F.lit(esc))
    sent, back = [escaped.alias("__text")], []
    for i, field in enumerate(df.schema.fields):
        name, t, c = f"__c{i}", field.dataType, F.col(f"`{field.name}`")
        if isinstance(t, StringType):
            sent.append(F.hex(F.encode(c, "UTF-8")).alias(name))
            back.append(F.decode(F.unhex(F.col(name)), "UTF-8").alias(field.name))
        elif isinstance(t, BinaryType):
            sent.append(F.hex(c).alias(name))
            back.append(F.unhex(F.col(name)).alias(field.name))
        elif isinstance(t, (ArrayType, MapType, StructType)):
            sent.append(F.hex(F.encode(F.to_json(c), "UTF-8")).alias(name))
            back.append(F.from_json(F.decode(F.unhex(F.col(name)), "UTF-8"), t).alias(field.name))
        else:
            sent.append(c.cast("string").alias(name))
            back.append(F.col(name).cast(t).alias(field.name))
    cmd = [binary, "classify", "--stream", "--passthrough", "--threads", str(threads)]
    if model:
        cmd += ["--model", model]
    columns = ["__text string"] + [f"__c{i} string" for i in range(len(df.schema.fields))]
    names = result_names(labels, prefix)
    columns += [f"`{names[0]}` string"] + [f"`{n}` double" for n in names[1:]]
    view = "__demarche_input"
    df.select(*sent).createOrReplaceTempView(view)
    # The whole line is one argument to bash -c on the executor.
    using = " ".join(shlex.quote(a) for a in cmd).replace("\\", "\\\\").replace("'", "\\'")
    # Spark's default row format for TRANSFORM is Hive's (fields split by \001):
    # ask for tab-separated lines and the \N null marker on both sides.
    fmt = "ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' NULL DEFINED AS '\\\\N'"
    out = df.sparkSession.sql(
        f"SELECT TRANSFORM(*) {fmt} USING '{using}' AS ({', '.join(columns)}) {fmt} FROM {view}"
    )
    return out.select(*back, *[F.col(f"`{n}`") for n in names])


def classify_pandas(df, text_col: str, labels: List[str], model: Optional[str], min_confidence: Optional[float] = None,
                    prefix: str = ""):
    from pyspark.sql.types import StructType

    _check_columns(df, text_col, labels, [], prefix)
    schema = StructType(df.schema.fields + _result_fields(labels, prefix))
    pairs = list(zip(["label", "confidence"] + [f"p_{l}" for l in labels], result_names(labels, prefix)))

    # The worker functions reference nothing of this module, so executors need
    # only the demarche package, not this script.
    def run(batches: Iterator) -> Iterator:
        import demarche

        m = demarche.Model.shared(model)  # one load per Python worker process
        for pdf in batches:
            res = m.classify_series(pdf[text_col], min_confidence=min_confidence)
            out = pdf.copy()
            for c, name in pairs:
                out[name] = res[c].to_numpy()
            yield out

    return df.mapInPandas(run, schema)


DOC_FIELDS = ("statement_index", "start", "end", "statement", "speaker")


def classify_documents(df, text_col: str, labels: List[str], model: Optional[str], min_confidence: Optional[float] = None,
                       prefix: str = ""):
    """One row per statement of each document: the document's other columns, the
    statement's index, character offsets, text and speaker, and its results."""
    import pandas as pd
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    _check_columns(df, text_col, labels, list(DOC_FIELDS), prefix)
    keep = [f for f in df.schema.fields if f.name != text_col]
    schema = StructType(
        keep
        + [
            StructField("statement_index", LongType()),
            StructField("start", LongType()),
            StructField("end", LongType()),
            StructField("statement", StringType()),
            StructField("speaker", StringType()),
        ]
        + _result_fields(labels, prefix)
    )
    names = [f.name for f in schema.fields]

    def run(batches: Iterator) -> Iterator:
        import demarche

        m = demarche.Model.shared(model)
        for pdf in batches:
            rows = []
            for _, doc in pdf.iterrows():
                text = doc[text_col]
                if not isinstance(text, str):
                    continue
                base = [doc[f.name] for f in keep]
                for s in m.classify_document(text, min_confidence=min_confidence):
                    rows.append(
                        base
                        + [s["index"], s["start"], s["end"], s["text"], s["speaker"], s["label"], s["confidence"]]
                        + [s["probabilities"][l] for l in labels]
                    )
            yield pd.DataFrame(rows, columns=names)

    return df.mapInPandas(run, schema)


def classify(df, route: str, text_col: str = "text", model: Optional[str] = None, binary: Optional[str] = None,
             documents: bool = False, min_confidence: Optional[float] = None, threads: int = 1, prefix: str = ""):
    """The classified DataFrame (lazy) for a DataFrame with a text column."""
    if route not in ROUTES:
        raise SystemExit(f"spark_classify: unknown route {route!r} ({', '.join(ROUTES)})")
    labels = model_labels(route, model, binary)
    if documents:
        if route != "pandas":
            raise SystemExit("spark_classify: --documents needs --route pandas (the stream filter is one line in, one line out)")
        return classify_documents(df, text_col, labels, model, min_confidence, prefix)
    if route == "pandas":
        return classify_pandas(df, text_col, labels, model, min_confidence, prefix)
    if min_confidence is not None:
        raise SystemExit("spark_classify: --min-confidence is for --route pandas; the stream filter gives probabilities")
    return classify_transform(df, text_col, labels, find_binary(binary), model, threads, prefix)


def run(spark, input_path: str, output_path: str, route: str = "transform", text_col: str = "text",
        input_format: str = "auto", model: Optional[str] = None, binary: Optional[str] = None,
        documents: bool = False, min_confidence: Optional[float] = None, partitions: Optional[int] = None,
        overwrite: bool = False, threads: int = 1, prefix: str = ""):
    df = read_input(spark, input_path, input_format)
    if partitions:
        df = df.repartition(partitions)
    out = classify(df, route, text_col, model, binary, documents, min_confidence, threads, prefix)
    out.write.mode("overwrite" if overwrite else "errorifexists").parquet(output_path)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="Parquet/CSV/JSONL file or folder of statements or documents")
    ap.add_argument("output", help="Parquet folder to write")
    ap.add_argument("--route", choices=ROUTES, default="transform")
    ap.add_argument("--text-col", default="text", help="column holding the text (default: text)")
    ap.add_argument("--input-format", choices=("auto", "parquet", "csv", "json", "text"), default="auto",
                    help="default: from the extension (.csv, .json/.jsonl, .txt = one document per file, else Parquet)")
    ap.add_argument("--documents", action="store_true", help="rows are whole documents: split them (pandas route)")
    ap.add_argument("--model", help="model file (default: the shipped model)")
    ap.add_argument("--binary", help="demarche CLI for the transform route (default: on PATH or target/)")
    ap.add_argument("--min-confidence", type=float, help="label `uncertain` below this (pandas route)")
    ap.add_argument("--threads", type=int, default=1, help="threads per CLI process (transform route)")
    ap.add_argument("--partitions", type=int, help="repartition the input first")
    ap.add_argument("--master", help="Spark master when run with plain python (e.g. local[2])")
    ap.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    ap.add_argument("--prefix", default="", help="prefix of the output columns (e.g. pred_ when the input has a label)")
    a = ap.parse_args(argv)

    from pyspark.sql import SparkSession

    # Python workers run the interpreter running this script unless told otherwise
    # (the one with the demarche package installed).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Spark's progress bar on a terminal only, like the CLI's progress.
    builder = SparkSession.builder.appName("demarche-classify").config(
        "spark.ui.showConsoleProgress", str(sys.stderr.isatty()).lower()
    )
    if a.master:
        builder = builder.master(a.master)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        run(spark, a.input, a.output, a.route, a.text_col, a.input_format, a.model, a.binary, a.documents,
            a.min_confidence, a.partitions, a.overwrite, a.threads, a.prefix)
    finally:
        spark.stop()
    print(f"spark_classify: wrote {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
