"""Readers for the GLUE TSV files, in the layout GLUE's download script writes.

``<data_dir>/<TASK>/train.tsv``, ``dev.tsv``, ``test.tsv`` (MNLI: ``dev_matched.tsv``,
``dev_mismatched.tsv``, ``test_matched.tsv``, ``test_mismatched.tsv``). A directory may hold only
some of these files; a split is read only when asked for.

Quirks handled (GLUE, Wang et al. 2019; the files as distributed):
- fields are separated by tabs and quotes are NOT special: many rows hold unbalanced ``"``
  (csv.QUOTE_NONE; a quote-aware reader silently merges rows);
- CoLA's train/dev files have no header (columns: source, label, original mark, sentence);
- MRPC's files start with a UTF-8 byte-order mark (read as ``utf-8-sig``);
- test files carry no labels and sometimes other columns (an ``index`` column first).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from otters.data.examples import TextExamples
from otters.data.tasks import TaskSpec, get_task
from otters.errors import OttersError

# Field size limit: the default (128 KiB) is plenty for GLUE; a larger field means a corrupt file.
_FIELD_LIMIT = 1 << 20


def default_glue_dir() -> Path | None:
    """``$OTTERS_GLUE_DIR``, else ``../shared/data/glue`` beside the repository if it exists, else None."""
    env = os.environ.get("OTTERS_GLUE_DIR")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parents[3]  # src/otters/data/glue.py -> repository root
    candidate = repo.parent / "shared" / "data" / "glue"
    return candidate if candidate.is_dir() else None


def resolve_glue_dir(data_dir: str | os.PathLike | None) -> Path:
    """The GLUE directory to read: ``data_dir`` if given, else :func:`default_glue_dir`; must exist."""
    path = Path(data_dir).expanduser() if data_dir is not None else default_glue_dir()
    if path is None:
        raise OttersError(
            "no GLUE data directory: pass --data-dir DIR (holding <TASK>/train.tsv) or set OTTERS_GLUE_DIR"
        )
    if not path.is_dir():
        raise OttersError(f"GLUE data directory not found: {path}; pass --data-dir or set OTTERS_GLUE_DIR")
    return path


def glue_file(task: str | TaskSpec, split: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Path of the official ``split`` (train, dev or test) file of ``task``; need not exist."""
    spec = get_task(task) if isinstance(task, str) else task
    if not spec.folder:
        raise OttersError(f"task {spec.name!r} is not a GLUE task and has no GLUE files")
    if split not in spec.files:
        raise OttersError(f"GLUE split must be one of {', '.join(spec.files)}, got {split!r}")
    return resolve_glue_dir(data_dir) / spec.folder / spec.files[split]


def read_tsv(path: str | os.PathLike) -> list[list[str]]:
    """All rows of a tab-separated file, quotes taken literally (csv.QUOTE_NONE), BOM stripped."""
    path = Path(path)
    if not path.is_file():
        raise OttersError(f"file not found: {path}")
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    except UnicodeDecodeError as exc:
        raise OttersError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}); is it a GLUE TSV?") from None
    except csv.Error as exc:
        raise OttersError(f"{path} is not a readable TSV ({exc}); re-download the GLUE file") from None


def _column_index(header: list[str], column, path: Path) -> int:
    if isinstance(column, int):
        return column
    try:
        return header.index(column)
    except ValueError:
        raise OttersError(
            f"{path}: header has no column {column!r} (found: {', '.join(header)}); is this the right task's file?"
        ) from None


def _parse_label(spec: TaskSpec, raw: str, path: Path, line: int):
    raw = raw.strip()
    if spec.regression:
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value):
            raise OttersError(f"{path} line {line}: score {raw!r} is not a finite number; the file is corrupt")
        if spec.score_range is not None and not spec.score_range[0] <= value <= spec.score_range[1]:
            low, high = spec.score_range
            raise OttersError(f"{path} line {line}: score {raw!r} is outside {spec.name}'s range [{low:g}, {high:g}]; "
                              "the file is corrupt")
        return value
    try:
        return spec.label_names.index(raw)
    except ValueError:
        raise OttersError(
            f"{path} line {line}: label {raw!r} is not one of {', '.join(spec.label_names)}; the file is corrupt"
        ) from None


def parse_glue_rows(spec: TaskSpec, rows: list[list[str]], path: Path, split: str) -> TextExamples:
    """Turn raw TSV rows into :class:`TextExamples` (labels None when the file has no label column).

    Every data row must have exactly as many fields as the header (CoLA: at least the sentence
    column); anything else is reported with its line number.
    """
    if not rows:
        raise OttersError(f"{path} is empty; re-download the GLUE file")
    # CoLA's test file has a header (index, sentence) although its train/dev files do not.
    has_header = spec.has_header or (spec.test_text_columns is not None and rows[0][:1] == ["index"])
    if has_header:
        header = [h.strip() for h in rows[0]]
        body, first_line = rows[1:], 2
        text_cols = spec.text_columns
        if not all(isinstance(c, str) and c in header for c in text_cols) and spec.test_text_columns:
            text_cols = spec.test_text_columns
        text_idx = [_column_index(header, c, path) for c in text_cols]
        label_idx = _column_index(header, spec.label_column, path) if spec.label_column in header else None
        width = len(header)
    else:
        body, first_line = rows, 1
        text_idx = list(spec.text_columns)
        label_idx = spec.label_column
        width = max(text_idx + [label_idx]) + 1
    text_a, text_b, labels = [], [], []
    for offset, row in enumerate(body):
        line = first_line + offset
        if (has_header and len(row) != width) or (not has_header and len(row) < width):
            if len(row) == 0 or row == [""]:
                raise OttersError(f"{path} line {line}: empty line; the file is corrupt")
            raise OttersError(
                f"{path} line {line}: expected {width} tab-separated fields, found {len(row)}; the file is corrupt"
            )
        text_a.append(row[text_idx[0]].strip())
        if len(text_idx) == 2:
            text_b.append(row[text_idx[1]].strip())
        if label_idx is not None:
            labels.append(_parse_label(spec, row[label_idx], path, line))
    if not text_a:
        raise OttersError(f"{path} has a header but no data rows")
    if label_idx is None:
        label_array = None
    elif spec.regression:
        label_array = np.asarray(labels, dtype=np.float32)
    else:
        label_array = np.asarray(labels, dtype=np.int64)
    return TextExamples(spec, split, text_a, text_b if spec.is_pair else None, label_array)


def load_glue_file(task: str | TaskSpec, split: str, data_dir: str | os.PathLike | None = None) -> TextExamples:
    """Read the official ``split`` (train, dev or test) of a GLUE ``task`` from ``data_dir``."""
    spec = get_task(task) if isinstance(task, str) else task
    path = glue_file(spec, split, data_dir)
    if not path.is_file():
        present = sorted(p.name for p in path.parent.glob("*.tsv")) if path.parent.is_dir() else []
        have = f" (that folder holds: {', '.join(present)})" if present else ""
        raise OttersError(
            f"{spec.name} {split} file not found: {path}{have}; pass --data-dir pointing at a GLUE directory"
        )
    return parse_glue_rows(spec, read_tsv(path), path, split)
