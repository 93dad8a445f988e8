"""Resource bounds: the largest request each command accepts, with the reason it is the limit.

A value inside its mathematical domain can still be impossible on the machine (T = 2^31 - 1 time
steps is a valid 2^n - 1 but needs terabytes). These checks refuse such requests before any work or
output, with one line that names the limit and why, instead of letting a process grow until the
kernel kills it or run for hours without progress.
"""

from __future__ import annotations

import os
from pathlib import Path

from otters.errors import OttersError

# Firing schedules: T = 2^n - 1 with n <= 16 activation bits. The schedule lists T + 1 instants (one
# table row each) and the coarsest-clock search walks candidate periods per instant; beyond 16 bits
# that is millions of rows for a quantizer no QNN here uses (Otters and Sorbet use n = 4).
MAX_SCHEDULE_BITS = 16
MAX_SCHEDULE_STEPS = 2**MAX_SCHEDULE_BITS - 1

# ADC codes are computed as floor(O(t_k) * T * R + 0.5) in float64 and stored as int64: exact only
# while every code stays below 2^53 (the float64 mantissa), so adc_bits <= 52.
MAX_ADC_BITS = 52

# Device fit: differential evolution evaluates the curve at every sample for each candidate parameter
# set, so its time grows with the rows: 20 000 samples took 11 s of CPU (57 s wall on a loaded 2-core
# machine), 1.5 M samples ran for minutes with no end in sight. Longer traces are decimated first.
MAX_FIT_SAMPLES = 20_000
# A samples CSV is read whole into memory before parsing (real traces are far below this).
MAX_SAMPLES_CSV_BYTES = 64 * 2**20

# Device-variation sweeps: chips drawn per level; the standard error of a mean over 100 draws is a
# tenth of the spread, and each draw is a full pass of the spiking model over the rows.
MAX_VARIATION_DRAWS = 100

# JSON records (checkpoint configs, run states, curves) are read whole; real ones are kilobytes.
MAX_JSON_BYTES = 64 * 2**20


def available_memory_bytes() -> int:
    """Memory the process can still allocate: MemAvailable of /proc/meminfo, else physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 2**63 - 1  # unknown: do not refuse on a guess


def check_memory(nbytes: float, what: str, fix: str) -> None:
    """Refuse a request whose lower-bound memory ``nbytes`` exceeds what the machine has available."""
    available = available_memory_bytes()
    if nbytes > available:
        raise OttersError(f"{what} needs at least {_human(nbytes)} of memory but this machine has "
                          f"{_human(available)} available; {fix}")


def check_at_most(value: int, limit: int, option: str, why: str) -> None:
    """``option`` = ``value`` must be <= ``limit``; the message gives the limit and ``why``."""
    if value > limit:
        raise OttersError(f"{option} {value} is above the limit {limit}: {why}")


def check_file_size(path: str | os.PathLike, limit: int, what: str) -> None:
    """Refuse to read a file larger than ``limit`` bytes (it would be read whole into memory)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        return  # a missing file is reported by the reader with its own message
    if size > limit:
        raise OttersError(f"{path} is {_human(size)}, above the {_human(limit)} limit for {what}; "
                          "give a smaller file")


def _human(nbytes: float) -> str:
    for unit, scale in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{int(nbytes)} B"


def check_spiking_activations(T: int, batch: int, tokens: int, width: int, blocks: int, what: str,
                              fix: str = "lower --T or --batch-size") -> None:
    """Refuse a spiking network whose membranes alone cannot fit: training keeps at least one float32
    (T, batch, tokens, width) membrane per block for the backward pass (a lower bound of the real need)."""
    check_memory(4.0 * T * batch * tokens * width * blocks, what, fix)
