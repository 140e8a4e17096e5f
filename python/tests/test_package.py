"""The Python package gives the CLI's results: same labels, same probabilities
(the CLI prints 6 decimals), same segmentation, offsets and speakers."""

from __future__ import annotations

import json
import math
import threading
import time

import pandas as pd
import pytest

import demarche
from conftest import read_jsonl

# The CLI rounds probabilities to 6 decimals.
TOL = 5e-7 + 1e-12


def cli_jsonl(cli, *args):
    return [json.loads(line) for line in cli("classify", "--format", "jsonl", *args).splitlines()]


def assert_same(py: dict, c: dict, labels):
    assert py["label"] == c["label"]
    assert py["predicted"] == c["predicted"]
    assert abs(py["confidence"] - c["confidence"]) <= TOL
    assert list(py["probabilities"]) == labels
    for label in labels:
        assert abs(py["probabilities"][label] - c["probabilities"][label]) <= TOL, label


@pytest.fixture(scope="module")
def test_texts(root):
    return [r["text"] for r in read_jsonl(root / "datasets" / "test.jsonl")]


def test_shipped_model_is_the_repository_model(model, cli, root):
    card = json.loads(cli("inspect", "--json", "--top", "0"))
    assert model.path is None
    assert model.digest == card["sha256"]
    assert model.labels == card["labels"] == ["commitment", "neutral", "reconciliation_appeal", "warning"]
    on_disk = demarche.Model.load(root / "models" / "demarche.model")
    assert on_disk.digest == model.digest
    assert on_disk.path == str(root / "models" / "demarche.model")


def test_classify_matches_cli_on_the_test_split(model, cli, test_texts, tmp_path):
    f = tmp_path / "lines.txt"
    f.write_text("\n".join(test_texts) + "\n", encoding="utf-8")
    expected = cli_jsonl(cli, "--lines", f)
    got = model.classify(test_texts)
    assert len(got) == len(expected) == len(test_texts) > 1000
    for py, c in zip(got, expected):
        assert_same(py, c, model.labels)
    # Not a constant answer: the test split has all four labels, and so do the predictions.
    assert {g["label"] for g in got} == set(model.labels)


def test_min_confidence_matches_cli(model, cli, test_texts, tmp_path):
    f = tmp_path / "lines.txt"
    f.write_text("\n".join(test_texts) + "\n", encoding="utf-8")
    expected = cli_jsonl(cli, "--lines", "--min-confidence", "0.7", f)
    got = model.classify(test_texts, min_confidence=0.7)
    uncertain = 0
    for py, c in zip(got, expected):
        assert_same(py, c, model.labels)
        uncertain += py["label"] == "uncertain"
    assert 0 < uncertain < len(got)


def test_classify_document_matches_cli_on_every_briefing(model, cli, root):
    docs = sorted((root / "datasets" / "briefings").glob("*.txt"))
    assert len(docs) >= 16
    total = 0
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        expected = cli_jsonl(cli, doc)
        got = model.classify_document(text)
        assert len(got) == len(expected), doc.name
        for py, c in zip(got, expected):
            assert (py["index"], py["start_byte"], py["end_byte"]) == (c["index"], c["start"], c["end"])
            assert py["text"] == c["text"] == text[py["start"] : py["end"]]
            assert (py["speaker"], py["turn"]) == (c["speaker"], c["turn"])
            assert_same(py, c, model.labels)
        total += len(got)
    assert total > 300


def test_offsets_are_characters_in_non_ascii_text(model, cli, tmp_path):
    text = (
        "«Nous ne céderons pas», a déclaré le ministre Đặng Văn Hùng à Genève. "
        "The Foreign Minister said Türkiye will contribute €40 million to the fund next year. "
        "We urge all parties to return to the table in good faith."
    )
    f = tmp_path / "doc.txt"
    f.write_text(text, encoding="utf-8")
    expected = cli_jsonl(cli, f)
    got = model.classify_document(text)
    assert len(got) == len(expected) == 3
    for py, c in zip(got, expected):
        assert text[py["start"] : py["end"]] == py["text"] == c["text"]
        assert text.encode("utf-8")[c["start"] : c["end"]].decode("utf-8") == c["text"]
        assert_same(py, c, model.labels)
    assert got[1]["start"] < got[1]["start_byte"]  # the accents before it are multi-byte


def test_lines_mode_matches_cli(model, cli, tmp_path):
    text = "We will rebuild the bridge by spring.\n\n  Any incursion will be answered.  \nTalks resumed on Monday.\n"
    f = tmp_path / "lines.txt"
    f.write_text(text, encoding="utf-8")
    expected = cli_jsonl(cli, "--lines", f)
    got = model.classify_document(text, lines=True)
    assert [g["text"] for g in got] == [c["text"] for c in expected] == [
        "We will rebuild the bridge by spring.",
        "Any incursion will be answered.",
        "Talks resumed on Monday.",
    ]
    for py, c in zip(got, expected):
        assert_same(py, c, model.labels)


def test_a_model_file_trained_by_the_cli_gives_the_cli_results(cli, root, tmp_path, test_texts):
    path = tmp_path / "dev.model"
    cli("train", "--data", root / "datasets" / "dev.jsonl", "--out", path, "--seed", "7", "--max-iterations", "30")
    m = demarche.Model.load(path)
    assert m.path == str(path)
    f = tmp_path / "lines.txt"
    f.write_text("\n".join(test_texts[:200]) + "\n", encoding="utf-8")
    expected = cli_jsonl(cli, "--lines", "--model", path, f)
    for py, c in zip(m.classify(test_texts[:200]), expected):
        assert_same(py, c, m.labels)
    assert m.digest != demarche.Model.load().digest


def test_classify_series_keeps_the_index_and_marks_missing_rows(model):
    s = pd.Series(
        ["We will send two field hospitals.", None, float("nan"), "   ", "We call on both sides to talk."],
        index=["a", "b", "c", "d", "e"],
    )
    df = model.classify_series(s)
    assert list(df.index) == list(s.index)
    assert list(df.columns) == ["label", "predicted", "confidence"] + [f"p_{l}" for l in model.labels]
    for key in ("b", "c", "d"):
        assert df.loc[key, "label"] is None and math.isnan(df.loc[key, "confidence"])
    single = model.classify([s["a"], s["e"]])
    for key, py in zip(("a", "e"), single):
        assert df.loc[key, "label"] == py["label"]
        assert df.loc[key, "confidence"] == py["confidence"]
        for label in model.labels:
            assert df.loc[key, f"p_{label}"] == py["probabilities"][label]
    assert df.loc["a", "label"] == "commitment"
    assert df.loc["e", "label"] == "reconciliation_appeal"


def test_threads_give_the_same_results(model, test_texts):
    assert model.classify(test_texts, threads=3) == model.classify(test_texts)


def test_the_gil_is_released_while_a_batch_runs(model, test_texts):
    texts = test_texts * 40  # 43,200 statements: long enough to observe
    window = {}

    def work():
        window["start"] = time.perf_counter()
        model.classify(texts)
        window["end"] = time.perf_counter()

    t = threading.Thread(target=work)
    ticks = []
    t.start()
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    span = window["end"] - window["start"]
    # Python code ran in this thread in the middle of the batch, which a held GIL
    # would prevent (list conversion and result building happen at the edges).
    middle = [x for x in ticks if window["start"] + 0.3 * span < x < window["end"] - 0.3 * span]
    assert span > 0.05
    assert len(middle) > 100, (span, len(ticks), len(middle))


def test_shared_loads_once_per_process():
    assert demarche.Model.shared() is demarche.Model.shared()


def test_bad_input_gets_clear_errors(tmp_path, model):
    missing = tmp_path / "nope.model"
    with pytest.raises(OSError, match="nope.model"):
        demarche.Model.load(missing)
    not_model = tmp_path / "notes.txt"
    not_model.write_text("not a model\n")
    with pytest.raises(ValueError, match="notes.txt"):
        demarche.Model.load(not_model)
    with pytest.raises(TypeError, match="not one string"):
        model.classify("We will help.")
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        model.classify(["We will help.", 3])
    with pytest.raises(ValueError, match="min_confidence"):
        model.classify(["We will help."], min_confidence=2.0)
