"""The metrics log appends (never rewrites) and survives a torn last line; the training lock refuses a
second holder."""

import json

import pytest

from otters.errors import OttersError
from otters.train.common import MetricsLog, exclusive_lock


def test_append_adds_one_line_and_keeps_the_bytes_before(tmp_path):
    log = MetricsLog(tmp_path / "m.jsonl")
    log.append({"step": 1, "loss": 0.5})
    before = (tmp_path / "m.jsonl").read_bytes()
    log.append({"step": 2, "loss": 0.25})
    after = (tmp_path / "m.jsonl").read_bytes()
    assert after.startswith(before) and after[len(before):] == b'{"loss": 0.25, "step": 2}\n'
    assert MetricsLog(tmp_path / "m.jsonl").records == [{"loss": 0.5, "step": 1}, {"loss": 0.25, "step": 2}]


def test_a_torn_last_line_is_dropped_and_a_damaged_middle_refused(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"step": 1}) + "\n" + '{"step": 2, "lo')
    log = MetricsLog(path)
    assert log.records == [{"step": 1}] and path.read_text() == '{"step": 1}\n'
    log.append({"step": 2})
    assert [r["step"] for r in MetricsLog(path).records] == [1, 2]
    path.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(OttersError, match="line 2"):
        MetricsLog(path)


def test_lock_refuses_a_second_holder_until_released(tmp_path):
    with exclusive_lock(tmp_path / "run.lock", "run directory"):
        with pytest.raises(OttersError, match="run directory is busy"):
            with exclusive_lock(tmp_path / "run.lock", "run directory"):
                pass
    with exclusive_lock(tmp_path / "run.lock", "run directory"):  # free again
        pass
