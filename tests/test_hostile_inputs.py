"""Property-based hostile inputs: damaged checkpoints, run states, TSVs, CSVs and out-of-range options.

Every damaged input is refused through the CLI with exit 2, exactly one ``otters: error:`` line, no
traceback, and nothing written into the folder it touched. The damage is drawn by hypothesis from
kinds that are always invalid (a wrong type for a field, a missing field, a wrong dtype or shape, a
non-finite scale, bytes that are not the format), so every example must be refused.
"""

import json
import math
import shutil

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from hostile_helpers import assert_refused
from otters.models import build_student, save_student
from tiny_task import make_tiny_task

FAST = settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)

not_an_int = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.floats(allow_nan=True),
                       st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
not_an_object = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                          st.lists(st.integers(), max_size=3))
hostile_int = st.one_of(st.integers(max_value=0), st.integers(min_value=2**40, max_value=2**63))


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A packed tiny otters-1bitkv student (no training needed: damage is what is tested)."""
    root = tmp_path_factory.mktemp("student")
    torch.manual_seed(0)
    model = build_student("otters-1bitkv", "tiny")
    model.eval()
    with torch.no_grad():
        model(input_ids=torch.randint(5, 100, (2, 8)), attention_mask=torch.ones(2, 8, dtype=torch.long))
    return save_student(model, root / "ckpt")


def _copy(src, tmp_path):
    dst = tmp_path / "ckpt"
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst)
    return dst


def test_the_undamaged_student_is_accepted(student, capsys):
    from cli_helpers import run_main

    code, out, err = run_main(capsys, "info", str(student), "--json")
    assert code == 0 and json.loads(out)["preset"] == "otters-1bitkv", err


config_field = st.sampled_from(["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                                "vocab_size", "num_labels", "act_bits", "weight_bits", "max_position_embeddings"])


@FAST
@given(field=config_field, value=st.one_of(not_an_int, hostile_int))
def test_damaged_config_field(student, tmp_path, capsys, field, value):
    ckpt = _copy(student, tmp_path)
    meta = json.loads((ckpt / "otters.json").read_text())
    if field == "act_bits" and value is None:
        value = "4"  # None is a valid act_bits (full precision) only together with kv_bits None
    meta["config"][field] = value
    (ckpt / "otters.json").write_text(json.dumps(meta))
    assert_refused(capsys, "info", ckpt, watch=tmp_path)


@FAST
@given(damage=st.one_of(
    st.tuples(st.just("top"), not_an_object),
    st.tuples(st.just("config"), not_an_object),
    st.tuples(st.just("drop"), st.sampled_from(["config", "format", "version", "binary_weights"])),
    st.tuples(st.just("preset"), st.text(min_size=1, max_size=12).filter(lambda s: s.split("@")[0] not in (
        "bert-fp", "qnn-w1a4", "sorbet", "otters-4bitkv", "otters-1bitkv", "custom") or s == "custom")),
    st.tuples(st.just("float"), st.sampled_from([math.nan, math.inf, -1.0, "x", None])),
    st.tuples(st.just("bytes"), st.binary(max_size=64)),
))
def test_damaged_otters_json(student, tmp_path, capsys, damage):
    kind, value = damage
    ckpt = _copy(student, tmp_path)
    meta = json.loads((ckpt / "otters.json").read_text())
    if kind == "top":
        meta = value
    elif kind == "config":
        meta["config"] = value
    elif kind == "drop":
        del meta[value]
    elif kind == "preset":
        meta["config"]["preset"] = value if value != "custom" else "otters-9bitkv"
    elif kind == "float":
        meta["config"]["hat_noise"] = value
    if kind == "bytes":
        (ckpt / "otters.json").write_bytes(b"\xff" + value)
    else:
        (ckpt / "otters.json").write_text(json.dumps(meta))
    assert_refused(capsys, "info", ckpt, watch=tmp_path)


@FAST
@given(data=st.data())
def test_damaged_tensors(student, tmp_path, capsys, data):
    ckpt = _copy(student, tmp_path)
    tensors = load_file(str(ckpt / "student.safetensors"))
    names = sorted(tensors)
    kind = data.draw(st.sampled_from(["dtype", "shape", "nan", "drop", "scale", "truncate", "garbage"]), label="kind")
    if kind in ("truncate", "garbage"):
        raw = (ckpt / "student.safetensors").read_bytes()
        cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
        (ckpt / "student.safetensors").write_bytes(raw[:cut] if kind == "truncate" else data.draw(st.binary(max_size=64)))
        assert_refused(capsys, "info", ckpt, watch=tmp_path)
        return
    if kind == "dtype":
        name = data.draw(st.sampled_from(names), label="name")
        dtype = data.draw(st.sampled_from([torch.float64, torch.float16, torch.int32, torch.uint8, torch.int64]))
        if tensors[name].dtype == dtype:
            dtype = torch.float16 if dtype != torch.float16 else torch.int32
        tensors[name] = tensors[name].to(dtype)
    elif kind == "shape":
        name = data.draw(st.sampled_from(names), label="name")
        tensors[name] = torch.zeros(tensors[name].numel() + data.draw(st.integers(1, 9)), dtype=tensors[name].dtype)
    elif kind == "nan":
        floats = [n for n in names if tensors[n].is_floating_point() and tensors[n].numel()]
        name = data.draw(st.sampled_from(floats), label="name")
        tensors[name] = tensors[name].clone().reshape(-1)
        tensors[name][0] = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        tensors[name] = tensors[name].reshape(load_file(str(ckpt / "student.safetensors"))[name].shape)
    elif kind == "drop":
        del tensors[data.draw(st.sampled_from(names), label="name")]
    elif kind == "scale":
        scales = [n for n in names if n.endswith(".alpha")]
        name = data.draw(st.sampled_from(scales), label="name")
        tensors[name] = torch.full_like(tensors[name], data.draw(st.sampled_from([0.0, -1.0, -1e-30])))
    save_file(tensors, str(ckpt / "student.safetensors"))
    assert_refused(capsys, "info", ckpt, watch=tmp_path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_task(tmp_path_factory.mktemp("tiny"))


run_damage = st.one_of(
    st.tuples(st.just("top"), not_an_object),
    st.tuples(st.sampled_from(["settings", "steps"]), not_an_object),
    st.tuples(st.just("format"), not_an_int),
    st.tuples(st.just("drop"), st.sampled_from(["settings", "format"])),
    st.tuples(st.sampled_from(["task", "seed", "profile"]), st.one_of(st.none(), st.lists(st.integers(), max_size=2))),
    st.tuples(st.just("step"), not_an_object),
    st.tuples(st.just("bytes"), st.binary(max_size=32)),
)


@FAST
@given(damage=run_damage)
def test_damaged_run_state(tmp_path, capsys, damage):
    """``otters run --resume`` on a damaged run.json: refused before any step runs."""
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    record = {"format": 1, "created": 0.0, "steps": {"teacher": {"wall_s": 1.0, "result": {}}},
              "settings": {"task": "rt", "profile": {"name": "quick"}, "seed": 0, "data_dir": None,
                           "model_dir": None, "teacher": None}}
    kind, value = damage
    if kind == "top":
        record = value
    elif kind in ("settings", "steps", "format"):
        record[kind] = value
    elif kind == "drop":
        del record[value]
    elif kind == "step":
        record["steps"]["teacher"] = value
    elif kind in ("task", "seed", "profile"):
        record["settings"][kind] = value
    if kind == "bytes":
        (run / "run.json").write_bytes(b"\xff" + value)
    else:
        (run / "run.json").write_text(json.dumps(record))
    assert_refused(capsys, "run", "--resume", run, watch=tmp_path)


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(damage=st.one_of(st.tuples(st.just("top"), not_an_object),
                        st.tuples(st.sampled_from(["settings", "stages"]), not_an_object.filter(
                            lambda v: not isinstance(v, list))),
                        st.tuples(st.just("drop"), st.sampled_from(["settings", "stages"]))))
def test_damaged_distill_state(tiny, tmp_path, capsys, damage):
    """``otters distill --resume`` on a damaged distill.json: refused, the file left as it was."""
    out = tmp_path / "run"
    out.mkdir(exist_ok=True)
    record = {"settings": {}, "stages": []}
    kind, value = damage
    if kind == "top":
        record = value
    elif kind == "drop":
        del record[value]
    else:
        record[kind] = value
    (out / "distill.json").write_text(json.dumps(record))
    assert_refused(capsys, "distill", "--task", "sst2", "--teacher", tiny["teacher"], "--data-dir", tiny["glue"],
                   "--out", out, "--resume", "--stages", "single", "--max-len", "16", "--train-rows", "8",
                   "--eval-rows", "8", "--no-progress", watch=tmp_path)


bad_score = st.one_of(st.floats(max_value=-1e-6), st.floats(min_value=5.000001), st.sampled_from(["nan", "inf", "x", ""]))


@FAST
@given(score=bad_score, row=st.integers(0, 9))
def test_stsb_scores_out_of_range_or_not_numbers(tmp_path, capsys, score, row):
    glue = tmp_path / "glue"
    (glue / "STS-B").mkdir(parents=True, exist_ok=True)
    scores = ["1.0"] * 10
    scores[row] = str(score)
    lines = ["index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"]
    lines += [f"{i}\tg\tf\ty\t{i}\ts\ts\ta cat\ta dog\t{s}" for i, s in enumerate(scores)]
    (glue / "STS-B" / "train.tsv").write_text("\n".join(lines) + "\n")
    assert_refused(capsys, "data", "info", "--task", "stsb", "--data-dir", glue, watch=tmp_path)


@FAST
@given(body=st.lists(st.one_of(
    st.tuples(st.floats(allow_nan=False, allow_infinity=False), st.floats(allow_nan=False, allow_infinity=False)).map(
        lambda r: f"{r[0]!r},{r[1]!r}"),
    st.text(alphabet="abc,;\t 1.e-", min_size=1, max_size=10)), max_size=6),
    poison=st.sampled_from(["1e-9,nan", "inf,0.5", "1,2,3", "t,current", "0.1;x", "\x00\x01"]),
    at=st.integers(0, 6))
def test_damaged_samples_csv(tmp_path, capsys, body, poison, at):
    """A samples CSV with a non-finite value, a wrong column count or text after the data is refused
    before any fit, and no --out or --plot file appears."""
    rows = [f"{i}e-9,{1 - i / 20}" for i in range(12)]
    rows.insert(min(at, len(rows)) + 1, poison)
    csv = tmp_path / "samples.csv"
    csv.write_text("t,current\n" + "\n".join(rows + body) + "\n")
    assert_refused(capsys, "device", "fit", csv, "--out", tmp_path / "curve.json", "--plot", tmp_path / "fit.png",
                   watch=tmp_path)


@FAST
@given(T=st.one_of(st.integers(max_value=0), st.integers(min_value=2**16, max_value=2**62),
                   st.integers(2, 2**16).filter(lambda t: (t + 1) & t)),
       adc=st.one_of(st.none(), st.integers(max_value=0), st.integers(min_value=53, max_value=2**40)))
def test_schedule_options_out_of_range(capsys, T, adc):
    args = ["device", "schedule", "--T", str(T)] + ([] if adc is None else ["--adc-bits", str(adc)])
    assert_refused(capsys, *args)


@FAST
@given(option=st.sampled_from(["--batch-size", "--epochs", "--max-steps", "--eval-every", "--max-len"]),
       value=st.integers(max_value=0))
def test_distill_options_out_of_range_write_nothing(tiny, tmp_path, capsys, option, value):
    assert_refused(capsys, "distill", "--task", "sst2", "--teacher", tiny["teacher"], "--data-dir", tiny["glue"],
                   "--out", tmp_path / "run", option, str(value), "--no-progress", watch=tmp_path)


@pytest.fixture(scope="module")
def vit_checkpoint(tmp_path_factory):
    """An untrained digits-sized spiking ViT written as ``otters vit train`` writes one."""
    from otters.io import atomic_write_json, save_tensors
    from otters.vit.model import SpikingViT, ViTConfig

    root = tmp_path_factory.mktemp("vit") / "ckpt"
    cfg = ViTConfig(image_size=8, in_channels=1, num_classes=10, dim=16, depth=1, heads=2, pool_stages=1)
    torch.manual_seed(0)
    save_tensors(root / "model.safetensors", SpikingViT(cfg).state_dict(), metadata={"format": "otters-vit"})
    atomic_write_json(root / "config.json", {"kind": "otters-vit", "config": cfg.to_dict(), "data": "digits",
                                             "mean": [0.0], "std": [1.0]})
    return root


@FAST
@given(damage=st.one_of(
    st.tuples(st.sampled_from(["T", "dim", "depth", "heads", "num_classes", "image_size"]),
              st.one_of(not_an_int, st.integers(max_value=0), st.integers(min_value=2**40, max_value=2**62))),
    st.tuples(st.just("tau"), st.sampled_from([math.nan, math.inf, 0.0, -1.0, "x", None])),
    st.tuples(st.sampled_from(["config", "mean", "std", "data"]), not_an_object.filter(
        lambda v: not isinstance(v, str))),
))
def test_damaged_vit_checkpoint(vit_checkpoint, tmp_path, capsys, damage):
    ckpt = _copy(vit_checkpoint, tmp_path)
    meta = json.loads((ckpt / "config.json").read_text())
    field, value = damage
    if field in ("config", "mean", "std", "data"):
        meta[field] = value
    else:
        meta["config"][field] = value
    (ckpt / "config.json").write_text(json.dumps(meta))
    assert_refused(capsys, "vit", "eval", ckpt, watch=tmp_path)


@FAST
@given(cut=st.integers(0, 200), task=st.sampled_from(["eval", "distill"]))
def test_damaged_hf_weights(tiny, tmp_path, capsys, cut, task):
    """A truncated model.safetensors in a teacher folder is one line in eval and distill, never a traceback."""
    model = tmp_path / "teacher"
    shutil.rmtree(model, ignore_errors=True)
    shutil.copytree(tiny["teacher"], model)
    raw = (model / "model.safetensors").read_bytes()
    (model / "model.safetensors").write_bytes(raw[:cut])
    if task == "eval":
        assert_refused(capsys, "eval", model, "--task", "sst2", "--data-dir", tiny["glue"], watch=tmp_path)
    else:
        assert_refused(capsys, "distill", "--task", "sst2", "--teacher", model, "--data-dir", tiny["glue"],
                       "--out", tmp_path / "run", watch=tmp_path)
