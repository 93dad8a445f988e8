"""Hostile command lines, one by one: each ends with exit 2, one error line, no traceback, nothing written."""

import pickle
from pathlib import Path

import pytest

from hostile_helpers import assert_refused
from tiny_task import make_tiny_task


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_task(tmp_path_factory.mktemp("tiny"))


@pytest.mark.parametrize("args, match", [
    (["device", "schedule", "--T", "2147483647"], "limit 65535"),
    (["device", "schedule", "--adc-bits", "64"], "limit 52"),
    (["device", "schedule", "--T", "0"], "2^n - 1"),
])
def test_schedule_out_of_range(capsys, args, match):
    assert_refused(capsys, *args, match=match)


def test_plot_paths(capsys, tmp_path):
    assert_refused(capsys, "device", "plot", "--out", tmp_path / "fig.foo", watch=tmp_path, match="'foo'")
    (tmp_path / "a-file").write_text("x")
    assert_refused(capsys, "device", "plot", "--out", tmp_path / "a-file" / "fig.png", watch=tmp_path,
                   match="is a file")
    assert_refused(capsys, "device", "plot", "--out", tmp_path, watch=tmp_path, match="folder")


def test_fit_refuses_oversized_csv_and_bad_outputs_before_fitting(capsys, tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("t,current\n" + "".join(f"{i}e-9,{1 - i / 30000}\n" for i in range(30000)))
    assert_refused(capsys, "device", "fit", big, watch=tmp_path, match="more than 20000 samples")
    small = tmp_path / "small.csv"
    small.write_text("t,current\n" + "".join(f"{i}e-9,{1 - i / 30}\n" for i in range(30)))
    assert_refused(capsys, "device", "fit", small, "--out", tmp_path / "c.json", "--plot", tmp_path / "f.xyz",
                   watch=tmp_path, match="'xyz'")


def test_vit_train_refuses_impossible_T_and_leaves_no_folder(capsys, tmp_path):
    out = tmp_path / "vit"
    assert_refused(capsys, "vit", "train", "--data", "digits", "--T", "2147483647", "--out", out, "--epochs", "1",
                   watch=tmp_path, match="of memory")
    (tmp_path / "a-file").write_text("x")
    assert_refused(capsys, "vit", "train", "--data", "digits", "--out", tmp_path / "a-file", watch=tmp_path,
                   match="is a file")


def test_pickle_only_model_is_never_loaded(capsys, tmp_path, tiny):
    """eval, teacher and distill all refuse a pytorch_model.bin-only folder without unpickling it."""
    model = tmp_path / "bin-only"
    model.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (model / name).write_bytes((tiny["teacher"] / name).read_bytes())
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (model / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    glue = tiny["glue"]
    assert_refused(capsys, "eval", model, "--task", "sst2", "--data-dir", glue, match="safetensors only")
    assert_refused(capsys, "teacher", "--task", "sst2", "--model", model, "--data-dir", glue,
                   "--out", tmp_path / "t", watch=tmp_path, match="safetensors only")
    assert_refused(capsys, "distill", "--task", "sst2", "--teacher", model, "--data-dir", glue,
                   "--out", tmp_path / "d", watch=tmp_path, match="safetensors only")
    assert not marker.exists()


def test_refused_distillation_writes_nothing_and_resume_needs_a_run(capsys, tmp_path, tiny):
    out = tmp_path / "run"
    common = ["distill", "--task", "sst2", "--teacher", tiny["teacher"], "--data-dir", tiny["glue"], "--out", out,
              "--no-progress"]
    assert_refused(capsys, *common, "--batch-size", "0", watch=tmp_path, match="batch size")
    assert_refused(capsys, *common, "--resume", watch=tmp_path, match="--resume")
    (tmp_path / "a-file").write_text("x")
    assert_refused(capsys, *common[:-3], "--out", tmp_path / "a-file", "--no-progress", watch=tmp_path,
                   match="is a file")


@pytest.mark.parametrize("args, match", [
    (["tolerance", "--T", "2147483647", "--json"], "limit 65535"),
    (["tolerance", "--T", "15", "--adc-bits", "64", "--json"], "limit 52"),
    (["sparsity", "--random-mlp", "--width", "0", "--json"], "--width must be at least 1"),
    (["sparsity", "--random-mlp", "--samples", "0", "--json"], "--samples must be at least 1"),
    (["verify", "--preset", "otters-1bitkv", "--geometry", "minilm-l6", "--simulator", "hardware", "--jitter", "-1",
      "--json"], "jitter"),
    (["export", "nir", "--random-mlp", "--depth", "100000", "OUT.nir"], "--depth"),
])
def test_newer_commands_out_of_range(capsys, args, match):
    assert_refused(capsys, *args, match=match)


def test_newer_commands_check_their_outputs_before_working(capsys, tmp_path):
    (tmp_path / "a-file").write_text("x")
    assert_refused(capsys, "export", "nir", "--random-mlp", "--depth", "2", "--width", "8",
                   tmp_path / "a-file" / "x.nir", watch=tmp_path, match="is a file")
    assert_refused(capsys, "export", "nir", "--random-mlp", "--depth", "2", "--width", "8", tmp_path,
                   watch=tmp_path, match="folder")
    assert_refused(capsys, "device", "demo", "--out", tmp_path / "a-file", watch=tmp_path, match="is a file")
    assert_refused(capsys, "predict", tmp_path, "a sentence", watch=tmp_path, match="otters.json")
