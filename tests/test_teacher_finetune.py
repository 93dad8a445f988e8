"""Teacher fine-tuning on a tiny BERT and tiny hand-made GLUE files: layout, metrics, cache, resume."""

import numpy as np
import pytest

from otters.data.splits import load_split
from otters.errors import OttersError
from otters.io import load_tensors, read_json
from otters.studies.evaluation import evaluate_checkpoint
from otters.teacher.cache import TEACHER_FILE
from otters.teacher.finetune import ensure_teacher, finetune_teacher
from otters.teacher.report import teacher_report

WORDS = ["film", "plot", "cast", "story", "movie", "script", "ending", "score", "scene", "music"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer, hidden-32 BERT with the MiniLM tokenizer (random weights: only the plumbing matters)."""
    import torch
    from transformers import BertConfig, BertModel

    from otters.data.tokenize import load_tokenizer

    path = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = load_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope="module")
def tiny_glue(tmp_path_factory):
    """SST-2 (80 rows, label = good/bad) and STS-B (60 rows) training files."""
    root = tmp_path_factory.mktemp("glue")
    rng = np.random.default_rng(0)
    (root / "SST-2").mkdir()
    rows = ["sentence\tlabel"]
    for i in range(80):
        label = i % 2
        rows.append(f"{'good' if label else 'bad'} {WORDS[rng.integers(10)]} {WORDS[rng.integers(10)]}\t{label}")
    (root / "SST-2" / "train.tsv").write_text("\n".join(rows) + "\n")
    (root / "SST-2" / "test.tsv").write_text("index\tsentence\n0\tgood film\n")
    (root / "STS-B").mkdir()
    rows = ["index\tsentence1\tsentence2\tscore"]
    for i in range(60):
        a, b = WORDS[i % 10], WORDS[(i * 3) % 10]
        rows.append(f"{i}\tthe {a}\tthe {b}\t{5.0 if a == b else (i % 5) * 0.9:.3f}")
    (root / "STS-B" / "train.tsv").write_text("\n".join(rows) + "\n")
    return root


def _train(tiny_model, tiny_glue, out, task="sst2", **kwargs):
    settings = {"epochs": 2, "batch_size": 8, "lr": 1e-3, "max_len": 16, "eval_every": 4, "seed": 3}
    settings.update(kwargs)
    return finetune_teacher(task, tiny_model, tiny_glue, out, log=lambda msg: None, **settings)


def test_finetune_writes_a_loadable_teacher(tiny_model, tiny_glue, tmp_path):
    path = _train(tiny_model, tiny_glue, tmp_path / "t")
    assert path == tmp_path / "t"
    assert not (tmp_path / "t.work").exists()
    for name in ("config.json", "model.safetensors", "tokenizer.json", TEACHER_FILE):
        assert (path / name).is_file()
    info = read_json(path / TEACHER_FILE)
    assert info["task"] == "sst2" and info["main_metric"] == "accuracy"
    steps = [r["step"] for r in info["history"]]
    per_epoch = -(-len(load_split("sst2", "train", tiny_glue)) // 8)  # SST-2's training rows / batch 8
    assert steps == sorted(steps) and steps[-1] == 2 * per_epoch
    best = max(r["validation"]["accuracy"] for r in info["history"])
    assert info["best"]["validation"]["accuracy"] == best
    # The saved weights reproduce the recorded best validation score.
    result = evaluate_checkpoint(path, None, "validation", "fp", tiny_glue)
    assert result["n"] == len(load_split("sst2", "validation", tiny_glue)) and result["task"] == "sst2"
    assert result["mode"] == "fp"
    assert result["metrics"]["accuracy"] == pytest.approx(best)
    report = teacher_report(path, tiny_glue)
    assert report["metrics"]["validation"]["accuracy"] == pytest.approx(best)
    assert "test" in report["skipped"]  # GLUE test labels are not public


def test_regression_teacher(tiny_model, tiny_glue, tmp_path):
    path = _train(tiny_model, tiny_glue, tmp_path / "s", task="stsb", epochs=1)
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(path))
    assert config.num_labels == 1 and config.problem_type == "regression"
    result = evaluate_checkpoint(path, "stsb", "validation", "fp", tiny_glue)
    assert set(result["metrics"]) == {"pearson", "spearman", "combined"}
    assert all(-1 <= v <= 1 for v in result["metrics"].values())


def test_cache_is_reused(tiny_model, tiny_glue, tmp_path):
    messages = []
    first = ensure_teacher("sst2", tiny_model, tiny_glue, tmp_path / "c", log=messages.append, epochs=1,
                           batch_size=8, max_len=16)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    second = ensure_teacher("sst2", tiny_model, tiny_glue, tmp_path / "c", log=messages.append)
    assert second == first and (first / "model.safetensors").stat().st_mtime_ns == stamp
    assert messages[-1].startswith("using cached sst2 teacher")


def test_interrupted_run_resumes_to_the_same_weights(tiny_model, tiny_glue, tmp_path):
    reference = load_tensors(_train(tiny_model, tiny_glue, tmp_path / "a") / "model.safetensors")

    def interrupt_at_step_12(msg):
        if msg.startswith("step 12:"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune_teacher("sst2", tiny_model, tiny_glue, tmp_path / "b", log=interrupt_at_step_12, epochs=2,
                         batch_size=8, lr=1e-3, max_len=16, eval_every=4, seed=3)
    assert (tmp_path / "b.work" / "checkpoint" / "latest.json").is_file() and not (tmp_path / "b").exists()
    messages = []
    path = finetune_teacher("sst2", tiny_model, tiny_glue, tmp_path / "b", log=messages.append, epochs=2,
                            batch_size=8, lr=1e-3, max_len=16, eval_every=4, seed=3)
    per_epoch = -(-len(load_split("sst2", "train", tiny_glue)) // 8)  # 9 or 10: the last save before step 12
    assert any(m.startswith(f"resuming sst2 teacher at step {per_epoch}/{2 * per_epoch}") for m in messages)
    resumed = load_tensors(path / "model.safetensors")
    assert resumed.keys() == reference.keys()
    assert all(np.array_equal(resumed[k].numpy(), reference[k].numpy()) for k in reference)
    steps = [r["step"] for r in read_json(path / TEACHER_FILE)["history"]]
    assert steps == sorted({4, 8, per_epoch, 12, 16, 2 * per_epoch})


def test_evaluate_dispatch_errors(tiny_model, tiny_glue, tmp_path):
    student = tmp_path / "student"
    student.mkdir()
    (student / "otters.json").write_text('{"task": "sst2"}')
    with pytest.raises(OttersError, match="runs in --mode qnn or --mode snn"):
        evaluate_checkpoint(student, None, "validation", "fp", tiny_glue)
    with pytest.raises(OttersError, match="holds no tokenizer"):
        evaluate_checkpoint(student, None, "validation", "snn", tiny_glue)
    with pytest.raises(OttersError, match="fp mode only"):
        evaluate_checkpoint(tiny_model, "sst2", "validation", "qnn", tiny_glue)
    with pytest.raises(OttersError, match="does not record its task"):
        evaluate_checkpoint(tiny_model, None, "validation", "fp", tiny_glue)
    with pytest.raises(OttersError, match="neither otters.json nor config.json"):
        evaluate_checkpoint(tmp_path, "sst2")
    with pytest.raises(OttersError, match="checkpoint not found"):
        evaluate_checkpoint(tmp_path / "absent", "sst2")
    with pytest.raises(OttersError, match="unknown mode"):
        evaluate_checkpoint(student, "sst2", "validation", "analog")


def test_a_second_trainer_of_the_same_directory_is_refused(tiny_model, tiny_glue, tmp_path):
    from otters.train.common import exclusive_lock

    with exclusive_lock(tmp_path / "t.lock", "test"):
        with pytest.raises(OttersError, match="is busy"):
            _train(tiny_model, tiny_glue, tmp_path / "t")
    assert not (tmp_path / "t.work").exists()


def test_intermediate_stage_is_decontaminated_cached_and_recorded(tiny_model, tiny_glue, tmp_path, monkeypatch):
    """--intermediate stsb for sst2: STS-B rows sharing text with SST-2's evaluation splits are dropped first."""
    import shutil

    from transformers import AutoConfig

    from otters.data.overlap import OverlapIndex, drop_overlapping, evaluation_texts
    from otters.data.splits import load_split
    from otters.data.tasks import get_task
    from otters.teacher.cache import teacher_cache_dir

    glue = tmp_path / "glue"
    shutil.copytree(tiny_glue, glue)
    phrase = "a wholly original and deeply moving picture"
    (glue / "SST-2" / "dev.tsv").write_text(f"sentence\tlabel\n{phrase}\t1\n")
    with open(glue / "STS-B" / "train.tsv", "a") as fh:
        fh.write(f"60\tthe film is {phrase}\tthe film\t2.000\n61\tthe plot\tsurely {phrase} indeed\t3.000\n")
    monkeypatch.setenv("OTTERS_CACHE", str(tmp_path / "cache"))
    messages = []
    path = ensure_teacher("sst2", tiny_model, glue, tmp_path / "final", log=messages.append, intermediate="stsb",
                          epochs=1, batch_size=8, lr=1e-3, max_len=16, seed=3, threads=1)
    stage1 = teacher_cache_dir("stsb", tiny_model, "sst2")
    assert stage1.name.startswith("stsb-minus-sst2-") and (stage1 / TEACHER_FILE).is_file()
    first = read_json(stage1 / TEACHER_FILE)
    stsb_train = load_split(get_task("stsb"), "train", glue)
    expected = drop_overlapping(stsb_train, OverlapIndex(evaluation_texts("sst2", glue)))
    assert first["decontamination"]["dropped_train"] == expected[1] == 2
    assert first["train_rows"] == len(expected[0])
    final = read_json(path / TEACHER_FILE)
    assert final["base_model"] == str(stage1) and final["intermediate"]["checkpoint"] == str(stage1)
    assert final["intermediate"]["task"] == "stsb" and final["intermediate"]["wall_s"] == first["wall_s"]
    assert AutoConfig.from_pretrained(str(path)).num_labels == 2  # the 1-output regression head was replaced
    report = teacher_report(path, glue)
    assert report["total_wall_s"] == pytest.approx(final["wall_s"] + first["wall_s"], abs=0.11)
    # A second call reuses both stages.
    messages.clear()
    ensure_teacher("sst2", tiny_model, glue, tmp_path / "final", log=messages.append, intermediate="stsb")
    assert [m.split(" at ")[0] for m in messages] == ["using cached stsb teacher", "using cached sst2 teacher"]
    with pytest.raises(OttersError, match="must differ"):
        ensure_teacher("sst2", tiny_model, glue, tmp_path / "x", intermediate="sst2")
