"""Read and write measured decay samples as two-column CSV files (t, current).

The format is what a lab exports: one sample per line, ``t,current``, an optional header line, ``#``
comments allowed; commas, semicolons, tabs or spaces separate the columns.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from otters.errors import OttersError
from otters.io import atomic_write_text
from otters.limits import MAX_FIT_SAMPLES, MAX_SAMPLES_CSV_BYTES, check_file_size
from otters.paths import user_path

_SPLIT = re.compile(r"[,;\s]+")


def read_samples_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(t, current) from a CSV of two numeric columns; the first line may be a header.

    NaN or inf entries are refused here (with the line number), not silently dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise OttersError(f"file not found: {path}")
    check_file_size(path, MAX_SAMPLES_CSV_BYTES, "a samples CSV")
    try:
        with user_path(path):
            lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise OttersError(f"{path} is not a text CSV file") from None
    rows: list[tuple[float, float]] = []
    seen_data = False
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f for f in _SPLIT.split(line) if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if not seen_data and not rows:
                seen_data = True  # the header line
                continue
            raise OttersError(f"{path}:{number}: expected two numbers 't,current', got {raw.strip()!r}") from None
        seen_data = True
        if len(values) != 2:
            raise OttersError(f"{path}:{number}: expected two columns 't,current', got {len(values)}")
        if not all(math.isfinite(v) for v in values):
            raise OttersError(f"{path}:{number}: non-finite value (NaN or inf) in {raw.strip()!r}; remove or fix that row")
        rows.append((values[0], values[1]))
        if len(rows) > MAX_FIT_SAMPLES:
            raise OttersError(f"{path} holds more than {MAX_FIT_SAMPLES} samples, the limit: a fit evaluates the curve "
                              "at every sample for each candidate, so its time grows with the rows; keep every k-th row")
    if not rows:
        raise OttersError(f"{path} holds no samples; expected lines 't,current'")
    data = np.array(rows, dtype=np.float64)
    return data[:, 0], data[:, 1]


def write_samples_csv(path: str | os.PathLike, t, current) -> Path:
    """Write samples as ``t,current`` with a header, atomically (full float precision)."""
    lines = ["t,current"] + [f"{a!r},{b!r}" for a, b in zip(map(float, t), map(float, current))]
    return atomic_write_text(path, "\n".join(lines) + "\n")
