"""Which teacher ``otters run`` uses: the full recipe's intermediate stage when its data is present,
a finished intermediate-stage teacher in the cache before the plain one (no training: ensure_teacher is
replaced by a recorder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otters.pipeline import get_profile
from otters.pipeline.context import RunContext
from otters.pipeline.steps_train import step_teacher
from pipeline_helpers import private_cache


def _fake_teacher(folder: Path, task: str) -> Path:
    """A folder that counts as a finished teacher (teacher.json) and can be hashed (config.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"name": folder.name}))
    (folder / "teacher.json").write_text(json.dumps({"task": task, "main_metric": "accuracy", "train_rows": 1,
                                                     "wall_s": 1.0, "settings": {}, "best": {"step": 1}}))
    return folder


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Every ensure_teacher call's (task, keyword arguments); each returns a fake finished teacher."""
    import otters.pipeline.steps_train as steps_train

    made = []

    def fake_ensure(task, model_dir=None, data_dir=None, out_dir=None, log=None, **kwargs):
        made.append((task, kwargs))
        return _fake_teacher(tmp_path / f"made-{len(made)}", task)

    monkeypatch.setattr(steps_train, "ensure_teacher", fake_ensure)  # the name step_teacher calls
    return made


def _ctx(tmp_path, profile, data_dir, logs):
    base = _fake_teacher(tmp_path / "base", "none")
    return RunContext(run_dir=tmp_path / "run", task="rt", profile=profile, data_dir=data_dir, model_dir=base,
                      log=logs.append)


def test_full_profile_trains_rt_teacher_through_sst2_when_its_data_is_present(tmp_path, calls):
    glue = tmp_path / "glue"
    (glue / "SST-2").mkdir(parents=True)
    (glue / "SST-2" / "train.tsv").write_text("sentence\tlabel\n")
    logs = []
    with private_cache(tmp_path / "cache"):
        record = step_teacher(_ctx(tmp_path, get_profile("full"), glue, logs), None)
    assert calls == [("rt", {"threads": 1, "seed": 0, "intermediate": "sst2", "metrics": None})]
    assert "sst2 intermediate stage" in record.source
    assert "--intermediate sst2" in record.commands[0].command


def test_full_profile_without_sst2_data_says_so_and_trains_rt_alone(tmp_path, calls):
    logs = []
    with private_cache(tmp_path / "cache"):
        record = step_teacher(_ctx(tmp_path, get_profile("full"), tmp_path / "empty-glue", logs), None)
    assert calls == [("rt", {"threads": 1, "seed": 0, "intermediate": None, "metrics": None})]
    assert any("no sst2 training data" in line for line in logs)
    assert "--intermediate" not in record.commands[0].command
    # a profile without the recipe asks nothing about SST-2
    logs.clear()
    with private_cache(tmp_path / "cache"):
        step_teacher(_ctx(tmp_path, get_profile("full", teacher_intermediate={"rt": None}), None, logs), None)
    assert calls[-1][1]["intermediate"] is None and not logs


def test_quick_profile_prefers_the_cached_intermediate_stage_teacher(tmp_path, calls):
    from otters.teacher.cache import intermediate_teacher_dir, teacher_cache_dir

    logs = []
    with private_cache(tmp_path / "cache"):
        ctx = _ctx(tmp_path, get_profile("quick"), None, logs)
        plain = _fake_teacher(teacher_cache_dir("rt", ctx.model_dir), "rt")
        assert intermediate_teacher_dir("rt", "sst2", ctx.model_dir) is None  # stage unfinished
        record = step_teacher(ctx, None)
        assert record.dir == str(plain) and record.source == "cached full teacher"

        stage = _fake_teacher(teacher_cache_dir("sst2", ctx.model_dir, exclude_overlap="rt"), "sst2")
        via = intermediate_teacher_dir("rt", "sst2", ctx.model_dir)
        assert via == teacher_cache_dir("rt", stage) and via != plain
        record = step_teacher(ctx, None)
        assert record.dir == str(plain)  # the stage alone is not a teacher of rt
        _fake_teacher(via, "rt")
        record = step_teacher(ctx, None)
    assert record.dir == str(via) and "sst2 intermediate stage" in record.source
    assert "--intermediate sst2" in record.commands[0].command
    assert calls == []  # nothing was trained
