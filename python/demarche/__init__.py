"""demarche: label what government statements do.

Each statement gets one of the model's labels (``commitment``, ``warning``,
``reconciliation_appeal``, ``neutral`` for the shipped model) with
probabilities. This package is a thin layer over the Rust library that the
``demarche`` command-line tool runs: same segmenter, tokenizer, features and
model, so the same text gets the same result in both.

>>> import demarche
>>> model = demarche.Model.load()            # the shipped model
>>> model.classify(["We will double our contribution next year."])[0]["label"]
'commitment'
"""

from __future__ import annotations

import os
import threading
from typing import Any, Iterable, List, Optional, Sequence

from . import _demarche

__all__ = ["Model", "__version__"]
__version__ = "0.1.0"


def _texts(texts: Iterable[Any], allow_none: bool) -> List[Optional[str]]:
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string (wrap it in a list)")
    out: List[Optional[str]] = []
    for i, t in enumerate(texts):
        if t is None or (allow_none and isinstance(t, float) and t != t):
            if not allow_none:
                raise TypeError(f"texts[{i}] is None")
            out.append(None)
        elif isinstance(t, str):
            out.append(t)
        else:
            raise TypeError(f"texts[{i}] is {type(t).__name__}, not str")
    return out


_SHARED: dict = {}
_SHARED_LOCK = threading.Lock()


class Model:
    """A trained demarche model. Create one with :meth:`Model.load`."""

    __slots__ = ("_inner",)

    def __init__(self, inner: "_demarche.Model"):
        self._inner = inner

    @classmethod
    def load(cls, path: Optional[os.PathLike | str] = None) -> "Model":
        """Loads a model written by ``demarche train``; ``None`` loads the shipped model."""
        return cls(_demarche.Model.load(None if path is None else os.fspath(path)))

    @classmethod
    def shared(cls, path: Optional[os.PathLike | str] = None) -> "Model":
        """The model at ``path`` (``None``: shipped), loaded once per process and
        then reused: for Spark pandas UDFs, ``mapInPandas`` and other workers
        that would otherwise load it for every batch."""
        key = None if path is None else os.fspath(path)
        with _SHARED_LOCK:
            if key not in _SHARED:
                _SHARED[key] = cls.load(key)
            return _SHARED[key]

    @property
    def labels(self) -> List[str]:
        """Labels in model order (the order of the probability columns)."""
        return self._inner.labels

    @property
    def path(self) -> Optional[str]:
        p = self._inner.path
        return None if p is None else os.fspath(p)

    @property
    def digest(self) -> str:
        """SHA-256 of the model (as ``demarche inspect`` prints it)."""
        return self._inner.digest

    def classify(
        self, texts: Sequence[str], min_confidence: Optional[float] = None, threads: int = 1
    ) -> List[dict]:
        """Classifies each text as one statement.

        Returns one dict per text: ``label`` (``uncertain`` when the confidence
        is below ``min_confidence``), ``predicted`` (the model's label either
        way), ``confidence`` and ``probabilities`` (label -> probability).
        The GIL is released while the batch runs on ``threads`` threads.
        """
        return self._inner.classify(_texts(texts, False), min_confidence, threads)

    def classify_document(
        self, text: str, min_confidence: Optional[float] = None, lines: bool = False, threads: int = 1
    ) -> List[dict]:
        """Splits a document (a briefing, a transcript, a news report) into
        statements and classifies each; ``lines=True`` takes one statement per line.

        Each dict has ``index``, ``start`` and ``end`` (character offsets, so
        ``text[start:end]`` is the statement), ``start_byte``/``end_byte``
        (UTF-8 offsets, as the CLI prints them), ``text``, ``turn``,
        ``speaker``, ``label``, ``predicted``, ``confidence`` and ``probabilities``.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        return self._inner.classify_document(text, min_confidence, lines, threads)

    def classify_series(self, series, min_confidence: Optional[float] = None, threads: int = 1):
        """Classifies a pandas Series of statements.

        Returns a DataFrame with the series' index and the columns ``label``,
        ``predicted``, ``confidence`` and ``p_<label>`` for each model label.
        Missing values (None/NaN) and blank strings give missing results, as
        ``\\N`` and blank fields do in ``demarche classify --stream``.
        """
        import pandas as pd

        labels, predicted, confidence, probs = self._inner.classify_columns(
            _texts(series.tolist(), True), min_confidence, threads
        )
        data = {
            "label": pd.Series(labels, index=series.index, dtype="object"),
            "predicted": pd.Series(predicted, index=series.index, dtype="object"),
            "confidence": pd.Series(confidence, index=series.index, dtype="float64"),
        }
        for name, col in zip(self.labels, probs):
            data[f"p_{name}"] = pd.Series(col, index=series.index, dtype="float64")
        return pd.DataFrame(data, index=series.index)

    def __repr__(self) -> str:
        return repr(self._inner)
