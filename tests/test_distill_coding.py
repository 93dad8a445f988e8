"""``otters distill --coding mttfs --dead-zone K`` and ``--init CKPT`` on a tiny teacher and task: the saved
student carries its coding, its SNN equals its (dead-zone) QNN, ``otters verify`` passes."""

import json

import pytest
import torch

from otters.cli.app import main
from otters.distill.checkpoint import load_student_checkpoint
from otters.distill.run import distill
from otters.distill.settings import DistillSettings
from otters.models.packing import binary_modules
from otters.snn.bert import verify_bert
from otters.snn.convert import convert
from otters.snn.mttfs import load_coded_student, model_coding, population_names
from snn_bert_helpers import tiny_batch
from tiny_task import make_tiny_task

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_task(tmp_path_factory.mktemp("tiny"))


def _run(tiny, out, **kw):
    args = dict(stages="single", epochs=1, max_steps=2, batch_size=16, eval_every=2, lr=1e-3, data_dir=tiny["glue"],
                progress=False, max_len=16, calibration_rows=32, log=lambda m: None)
    args.update(kw)
    run = {k: args.pop(k) for k in ("data_dir", "progress", "log", "resume") if k in args}
    settings = DistillSettings("sst2", None if "init" in kw else "otters-1bitkv", **args)
    return distill(settings, tiny["teacher"], out_dir=out, **run)


def _batch(vocab=19):
    return tiny_batch(3, rows=6, vocab=vocab)


def _exact(student):
    batch = _batch()
    result = verify_bert(student, convert(student), **batch, batch_size=3)
    return result.exact and result.max_spikes_per_neuron <= 1


@pytest.fixture(scope="module")
def coded(tiny, tmp_path_factory):
    """A 2-step M-TTFS, dead-zone-2 distillation: its run folder."""
    out = tmp_path_factory.mktemp("coded") / "run"
    _run(tiny, out, coding="mttfs", dead_zone=2)
    return out


def test_mttfs_dead_zone_distill_writes_a_coded_student_whose_snn_equals_its_qnn(coded, capsys):
    student_dir, tmp_path = coded / "student", coded.parent
    coding = json.loads((student_dir / "coding.json").read_text())
    assert coding["coding"] == "mttfs" and coding["dead_zone"] == 2
    names = set(coding["quantizers"])
    student = load_coded_student(student_dir)
    assert set(population_names(student)) <= names and any(n.endswith("attn.k_quant") for n in names)
    assert all(coding["quantizers"][n]["dead_zone"] == 2 for n in population_names(student))
    assert model_coding(student) == "mttfs" and convert(student).coding == "mttfs"
    assert _exact(student)
    settings = json.loads((student_dir / "distill.json").read_text())["settings"]
    assert (settings["coding"], settings["dead_zone"], settings["calibration_rows"]) == ("mttfs", 2, 32)
    assert (tmp_path / "run" / "1-kv1" / "coding.json").is_file()  # a resumed stage re-applies it
    assert (tmp_path / "run" / "1-kv1" / "best" / "coding.json").is_file()
    main(["verify", str(student_dir), "--batch", "4", "--max-len", "16", "--json"])  # exit 1 would raise SystemExit
    out = json.loads(capsys.readouterr().out)
    assert out["exact"] and out["model"]["coding"] == "mttfs" and out["model"]["dead_zone"] == 2
    assert out["model"]["snn_coding"] == "mttfs"


def test_init_fine_tunes_a_checkpoint_with_a_new_dead_zone(tiny, tmp_path):
    plain = _run(tiny, tmp_path / "plain")
    assert not (plain / "coding.json").exists()  # a plain run writes no coding
    loaded = load_student_checkpoint(plain, trainable=True)
    model, preset, teacher = loaded.model, loaded.preset, loaded.teacher
    reference = load_coded_student(plain)
    trained, stored = binary_modules(model), binary_modules(reference)
    for name, module in trained.items():  # unfrozen latent weights binarise to the checkpoint's codes
        assert not module.frozen
        assert torch.equal(module.weight_codes()[0].to(torch.int8), stored[name].weight_codes()[0])
    batch = _batch()
    with torch.no_grad():  # and scales: mean|codes x scale| = scale up to float32 rounding of the mean
        assert torch.allclose(model.eval()(**batch).logits, reference(**batch).logits, rtol=1e-4, atol=1e-6)
    assert preset == "otters-1bitkv" and teacher == str(tiny["teacher"])
    assert any(p.requires_grad for n, p in model.named_parameters() if n.endswith("query.weight"))
    tuned = _run(tiny, tmp_path / "tuned", init=plain, coding="mttfs", dead_zone=3)
    settings = json.loads((tuned / "distill.json").read_text())["settings"]
    assert settings["init"] == str(plain) and settings["preset"] == "otters-1bitkv"
    student = load_coded_student(tuned)
    assert json.loads((tuned / "coding.json").read_text())["dead_zone"] == 3
    assert _exact(student)


def test_resume_of_a_run_recorded_before_the_coding_settings(tiny, tmp_path):
    out = tmp_path / "old"
    _run(tiny, out)
    record = json.loads((out / "distill.json").read_text())
    for key in ("coding", "dead_zone", "init", "calibration_rows"):
        record["settings"].pop(key)
    (out / "distill.json").write_text(json.dumps(record))
    assert (_run(tiny, out, resume=True) / "otters.json").is_file()  # no "different settings" refusal
    with pytest.raises(Exception, match="different settings"):
        _run(tiny, out, resume=True, coding="mttfs")


def test_bad_coding_options_are_one_line_errors(tiny, tmp_path, capsys):
    for argv, message in ((["--coding", "rate"], "--coding"), (["--dead-zone", "-1"], "dead zone"),
                          (["--init", str(tmp_path)], "not a student checkpoint")):
        with pytest.raises(SystemExit) as exit_info:
            main(["distill", "--task", "sst2", "--teacher", str(tiny["teacher"]), "--data-dir", str(tiny["glue"]),
                  "--out", str(tmp_path / "x"), "--stages", "single", *argv])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_every_command_that_loads_a_checkpoint_uses_its_coding(coded, tiny):
    """eval (qnn = the dead-zone QNN, snn = its M-TTFS SNN), audit, energy and sparsity load coding.json."""
    from otters.distill.checkpoint import load_student_checkpoint
    from otters.energy import Hardware
    from otters.studies.audit import audit_dict
    from otters.studies.energy import checkpoint_energy
    from otters.studies.evaluation import evaluate_checkpoint
    from otters.studies.sparsity import SparsityRequest, measure_sparsity

    student_dir = coded / "student"
    assert model_coding(load_student_checkpoint(student_dir).model) == "mttfs"
    qnn, snn = (evaluate_checkpoint(student_dir, "sst2", "validation", mode, tiny["glue"]) for mode in ("qnn", "snn"))
    assert qnn["metrics"] == snn["metrics"] and qnn["n"] > 0
    audit = audit_dict(student_dir, None, "minilm-l6", None, 0, None, 3, "rt", "validation", "column", 256)
    assert audit["model"]["coding"] == "mttfs" and audit["model"]["dead_zone"] == 2
    assert audit["spiking"]["mults"] == 0
    energy = checkpoint_energy(student_dir, "rt", "validation", 3, 16, "22nm", Hardware())
    assert energy["model"]["coding"] == "mttfs" and energy["total_mj"] > 0
    result = measure_sparsity(SparsityRequest(student_dir, task="sst2", split="validation", samples=6,
                                              calibration_samples=16, dead_zones="0", data_dir=tiny["glue"],
                                              max_len=16, metrics=False))
    saved = json.loads((student_dir / "coding.json").read_text())["quantizers"]
    assert result["model"]["trained_dead_zone"] == 2
    assert all(p["silent"] == saved[p["name"]]["silent"] for p in result["populations"])  # its own mask, measured
