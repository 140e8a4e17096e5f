"""scripts/spark_classify.py in local[2]: both routes give the CLI's results on
the same rows, carry every input column through unchanged, and handle nulls,
blank texts, tabs and line breaks inside texts, CSV/JSONL input and whole documents."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT, read_jsonl

TOL = 5e-7 + 1e-12

spec = importlib.util.spec_from_file_location("spark_classify", ROOT / "scripts" / "spark_classify.py")
sc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sc)

EDGE = {
    "edge-null": None,
    "edge-blank": "   ",
    "edge-tab-newline": "We will not accept this.\tAny further\nincursion will be met with force \\ at once.",
    "edge-unicode": "«Nous appelons toutes les parties à la retenue», a dit la ministre.",
}


@pytest.fixture(scope="module")
def rows(root):
    """dev + test (about 2,400 statements) and the edge cases, with columns of several types."""
    recs = read_jsonl(root / "datasets" / "dev.jsonl") + read_jsonl(root / "datasets" / "test.jsonl")
    ids = [r["id"] for r in recs] + list(EDGE)
    texts = [r["text"] for r in recs] + list(EDGE.values())
    return pd.DataFrame(
        {
            "id": ids,
            "text": texts,
            "n": list(range(len(ids))),
            "score": [i / 7 for i in range(len(ids))],
            "tags": [["a", "b\tc"] if i % 2 else [] for i in range(len(ids))],
        }
    )


@pytest.fixture(scope="module")
def inputs(rows, tmp_path_factory):
    d = tmp_path_factory.mktemp("spark-in")
    rows.to_parquet(d / "statements.parquet", index=False)
    flat = rows.drop(columns=["tags"])
    flat.to_csv(d / "statements.csv", index=False)
    flat.to_json(d / "statements.jsonl", orient="records", lines=True, force_ascii=False)
    return d


@pytest.fixture(scope="module")
def expected(rows, cli, model, tmp_path_factory):
    """id -> (label, probabilities) from the CLI for one-line texts, and from the
    package (itself checked against the CLI) for texts with tabs or line breaks."""
    out = {}
    plain = [(i, t) for i, t in zip(rows["id"], rows["text"]) if isinstance(t, str) and t.strip()]
    one_line = [(i, t) for i, t in plain if "\n" not in t and "\t" not in t]
    f = tmp_path_factory.mktemp("cli") / "lines.txt"
    f.write_text("\n".join(t for _, t in one_line) + "\n", encoding="utf-8")
    lines = cli("classify", "--lines", "--format", "jsonl", f).splitlines()
    assert len(lines) == len(one_line)
    for (i, _), line in zip(one_line, lines):
        c = json.loads(line)
        out[i] = (c["label"], [c["probabilities"][l] for l in model.labels])
    for i, t in plain:
        if i not in out:
            p = model.classify([t])[0]
            out[i] = (p["label"], [p["probabilities"][l] for l in model.labels])
    assert len(out) > 2000
    return out


def check(out: pd.DataFrame, rows: pd.DataFrame, expected, labels, columns=("id", "text", "n", "score")):
    out = out.set_index("id").loc[rows["id"]]
    assert len(out) == len(rows)
    for col in columns:
        if col == "id":
            continue
        a, b = out[col].tolist(), rows[col].tolist()
        assert [None if (x is None or x != x) else x for x in a] == [None if (x is None or x != x) else x for x in b], col
    for i, row in out.iterrows():
        if i in ("edge-null", "edge-blank"):
            assert row["label"] is None and row[[f"p_{l}" for l in labels]].isna().all()
            continue
        label, probs = expected[i]
        assert row["label"] == label, i
        assert abs(row["confidence"] - probs[labels.index(label)]) <= TOL, i
        for l, p in zip(labels, probs):
            assert abs(row[f"p_{l}"] - p) <= TOL, (i, l)


@pytest.mark.parametrize("route", ["transform", "pandas"])
def test_each_route_gives_the_cli_results_on_parquet(spark, route, inputs, rows, expected, model, cli, tmp_path):
    out = tmp_path / "out.parquet"
    sc.run(spark, str(inputs / "statements.parquet"), str(out), route=route, binary=str(cli.binary), partitions=2)
    got = pd.read_parquet(out)
    assert list(got.columns) == list(rows.columns) + ["label", "confidence"] + [f"p_{l}" for l in model.labels]
    check(got, rows, expected, model.labels)
    # Nested columns come back as they went in (tabs inside them too).
    tags = got.set_index("id").loc[rows["id"], "tags"].map(list).tolist()
    assert tags == rows["tags"].tolist()


@pytest.mark.parametrize("route,name", [("transform", "statements.csv"), ("pandas", "statements.jsonl")])
def test_csv_and_jsonl_inputs(spark, route, name, inputs, rows, expected, model, cli, tmp_path):
    out = tmp_path / "out.parquet"
    sc.run(spark, str(inputs / name), str(out), route=route, binary=str(cli.binary))
    got = pd.read_parquet(out)
    if name.endswith(".csv"):
        # CSV has no types or nulls: numbers come back as text and the null row as an empty field.
        got["n"] = got["n"].astype(int)
        got["score"] = got["score"].astype(float)
    check(got, rows, expected, model.labels, columns=("id", "n") if name.endswith(".csv") else ("id", "text", "n"))


def test_a_folder_of_briefings_gives_the_cli_statements(spark, root, model, cli, tmp_path):
    out = tmp_path / "out.parquet"
    sc.run(spark, str(root / "datasets" / "briefings" / "*.txt"), str(out), route="pandas", documents=True)
    got = pd.read_parquet(out)
    assert "text" not in got.columns
    docs = sorted((root / "datasets" / "briefings").glob("*.txt"))
    assert sorted(set(got["path"].map(lambda p: p.rsplit("/", 1)[-1]))) == [d.name for d in docs]
    n = 0
    for d in docs:
        text = d.read_text(encoding="utf-8")
        mine = got[got["path"].str.endswith("/" + d.name)].sort_values("statement_index")
        want = [json.loads(l) for l in cli("classify", "--format", "jsonl", d).splitlines()]
        assert len(mine) == len(want), d
        for (_, r), c in zip(mine.iterrows(), want):
            assert r["statement"] == c["text"] == text[r["start"] : r["end"]]
            assert r["speaker"] == c["speaker"] and r["label"] == c["label"]
            for l in model.labels:
                assert abs(r[f"p_{l}"] - c["probabilities"][l]) <= TOL
        n += len(want)
    assert n > 300


def test_a_labeled_corpus_keeps_its_labels_beside_the_predictions(spark, root, model, expected, cli, tmp_path):
    src = root / "datasets" / "test.jsonl"
    with pytest.raises(SystemExit, match="--prefix"):
        sc.run(spark, str(src), str(tmp_path / "o1"), binary=str(cli.binary))
    out = tmp_path / "o2"
    sc.run(spark, str(src), str(out), binary=str(cli.binary), prefix="pred_")
    got = pd.read_parquet(out).set_index("id")
    gold = {r["id"]: r for r in read_jsonl(src)}
    assert len(got) == len(gold) > 1000
    for i, r in got.iterrows():
        assert r["label"] == gold[i]["label"] and r["hard"] == gold[i]["hard"]
        assert r["pred_label"] == expected[i][0]
        for l, p in zip(model.labels, expected[i][1]):
            assert abs(r[f"pred_p_{l}"] - p) <= TOL
    # The shipped model's accuracy on the test split, computed in Spark.
    assert 0.85 < (got["pred_label"] == got["label"]).mean() < 0.95


def test_documents_need_the_pandas_route(spark, inputs, tmp_path):
    with pytest.raises(SystemExit, match="--route pandas"):
        sc.run(spark, str(inputs / "statements.parquet"), str(tmp_path / "o"), route="transform", documents=True)


def test_a_missing_text_column_is_named(spark, inputs, tmp_path, cli):
    with pytest.raises(SystemExit, match="no column 'body'"):
        sc.run(spark, str(inputs / "statements.parquet"), str(tmp_path / "o"), text_col="body", binary=str(cli.binary))


def test_the_script_runs_from_the_command_line(inputs, tmp_path, cli, rows):
    out = tmp_path / "cli-out.parquet"
    p = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "spark_classify.py"), str(inputs / "statements.jsonl"), str(out),
         "--master", "local[1]", "--binary", str(cli.binary)],
        capture_output=True, text=True,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert f"wrote {out}" in p.stderr
    assert len(pd.read_parquet(out)) == len(rows)
