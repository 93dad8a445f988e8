"""Where the Trainer's scalars go besides ``metrics.jsonl``: an optional metrics sink.

A sink is anything with ``scalars(step, values)``: the Trainer hands it, on the main process only,
the training record of every logged step (``train/loss``, ``train/lr``, ``train/samples_per_s`` and
each loss part as ``train/<part>``) and the validation metrics of every evaluation
(``eval/<metric>``). A sink only receives copies of numbers the Trainer has already computed, so a
run with a sink trains exactly as one without. :class:`Prefixed` puts a run's scalars under a name
(one distillation stage, one teacher) so that one sink can serve a whole command;
:mod:`otters.train.tensorboard` is the sink behind ``--tensorboard``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class MetricsSink(Protocol):
    """Receives named scalars at a training step."""

    def scalars(self, step: int, values: Mapping[str, float]) -> None: ...


@dataclass(frozen=True)
class Prefixed:
    """The scalars of ``sink`` under ``prefix``: ``train/loss`` becomes ``<prefix>/train/loss``."""

    sink: MetricsSink
    prefix: str

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        self.sink.scalars(step, {f"{self.prefix}/{name}": value for name, value in values.items()})


def prefixed(sink: MetricsSink | None, prefix: str) -> MetricsSink | None:
    """``sink`` under ``prefix`` (None stays None: no sink, nothing to log)."""
    return None if sink is None else Prefixed(sink, prefix)


def numeric(values: Mapping[str, object]) -> dict[str, float]:
    """The entries of a record that are numbers (booleans and anything else left out), as floats."""
    return {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
