"""Students like hub models (otters.interop.hub) and ``otters predict`` / ``otters.predict``."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.cli_helpers import run_main

import otters
from otters.errors import OttersError
from otters.interop.hub import CardFacts, OttersForSequenceClassification, facts_from_card, model_card

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CKPT = ROOT / "checkpoints" / "rt-otters-1bitkv"
SENTENCE = "a gorgeous, witty, seductive movie."


@pytest.fixture(scope="module")
def hub_model():
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return OttersForSequenceClassification.from_pretrained(str(CKPT))


def eval_path_label(model, sentence: str) -> str:
    """The label ``otters eval --mode snn`` gives ``sentence``: its tokenisation (encode, the student's max_len),
    a padded batch beside a longer row (as in eval's length buckets), the converted spiking BERT."""
    from otters.data.examples import TextExamples
    from otters.data.tasks import get_task
    from otters.data.tokenize import collate, encode
    from otters.snn import convert

    spec = get_task("rt")
    longer = "the film is a charming, funny and touching portrait of a family that refuses to fall apart."
    encoded = encode(model.student.tokenizer, TextExamples(spec, "test", [longer, sentence], None, None),
                     model.student.max_len)
    batch = collate(encoded, [0, 1])
    logits = convert(model.model)(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]).logits
    return spec.label_names[int(logits[1].argmax())]


def test_predict_cli_json_matches_eval(hub_model, capsys):
    code, out, err = run_main(capsys, "predict", str(CKPT), SENTENCE, "--json")
    assert code == 0, err
    data = json.loads(out)
    (p,) = data["predictions"]
    assert data["task"] == "rt" and data["mode"] == "snn" and p["text"] == SENTENCE
    assert p["label"] in ("rotten", "fresh") and abs(sum(p["probabilities"].values()) - 1.0) < 1e-9
    assert p["probabilities"][p["label"]] == max(p["probabilities"].values())
    assert 0 < p["spikes"] < p["neurons"] and 0.0 < p["silent_fraction"] < 1.0 and p["energy_uj"] > 0
    assert p["label"] == eval_path_label(hub_model, SENTENCE)


def test_model_call_is_otters_predict_and_qnn_mode_fires_nothing(hub_model):
    via_model = hub_model([SENTENCE, "a tedious, overlong mess."])
    via_function = otters.predict(hub_model.student, [SENTENCE, "a tedious, overlong mess."])
    assert via_model == via_function and len(via_model.predictions) == 2
    qnn = hub_model(SENTENCE, mode="qnn").predictions[0]
    assert qnn.spikes is None and qnn.energy_uj is None
    assert qnn.probabilities == via_model.predictions[0].probabilities  # SNN logits = QNN logits (Prop. 1)


def test_save_pretrained_round_trips_to_bit_identical_logits(hub_model, tmp_path):
    hub_model.save_pretrained(tmp_path / "copy")
    files = {p.name for p in (tmp_path / "copy").iterdir()}
    assert {"config.json", "README.md", "otters.json", "student.safetensors", "distill.json",
            "tokenizer_config.json"} <= files
    config = json.loads((tmp_path / "copy" / "config.json").read_text())
    assert config["task"] == "rt" and config["id2label"] == {"0": "rotten", "1": "fresh"}
    again = OttersForSequenceClassification.from_pretrained(str(tmp_path / "copy"))
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 5000, (3, 12), generator=gen)
    ids[:, 0], ids[:, -1] = 101, 102
    mask = torch.ones_like(ids)
    mask[2, 6:] = 0
    a, b = hub_model(ids, mask, torch.zeros_like(ids)), again(ids, mask, torch.zeros_like(ids))
    assert torch.equal(a, b)
    facts = facts_from_card(tmp_path / "copy")  # the committed card's measured facts travel with the copy
    assert facts is not None and facts.metrics == facts_from_card(CKPT).metrics


def test_predict_bad_inputs_one_line(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("one sentence without a tab\n")
    for args, says in ((["predict", str(CKPT)], "give texts"),
                       (["predict", str(CKPT), "x", "--file", str(empty)], "not both"),
                       (["predict", str(CKPT), "--file", str(empty)], "no input lines"),
                       (["predict", str(CKPT), "--file", str(pairs), "--pair"], "tab"),
                       (["predict", str(CKPT), "a", "b", "c", "--pair"], "two by two"),
                       (["predict", str(CKPT), "x", "--mode", "ann"], "unknown mode"),
                       (["predict", str(tmp_path), "x"], "not a student")):
        code, out, err = run_main(capsys, *args)
        assert code == 2 and says in err and err.count("\n") == 1 and out == ""


def test_predict_refuses_pairs_for_a_single_sentence_task(hub_model):
    with pytest.raises(OttersError, match="single sentences"):
        otters.predict(hub_model.student, ["a"], ["b"])


STUDENTS = sorted(p for p in (ROOT / "checkpoints").iterdir() if (p / "otters.json").is_file())


@pytest.mark.parametrize("folder", STUDENTS, ids=[p.name for p in STUDENTS])
def test_every_checkpoint_has_a_card_with_the_measured_eval_metrics(folder):
    from huggingface_hub import ModelCard

    card = ModelCard.load(folder / "README.md")
    facts = facts_from_card(folder)
    measured = json.loads((ROOT / facts.metrics_source).read_text())  # the eval's own JSON output
    assert facts.metrics == measured.get("metrics", measured.get("snn")) and facts.rows == measured["n"]
    assert f"checkpoints/{folder.name}" in facts.eval_command and facts.split in ("test", "validation")
    energy = json.loads((ROOT / facts.energy_source).read_text())  # `otters energy --json` output
    assert np.isclose(facts.energy_uj, energy["total_mj"] * 1000.0) and energy["model"]["path"].endswith(folder.name)
    yaml = card.data.to_dict()
    (result,) = yaml["model-index"][0]["results"]
    for metric in result["metrics"]:  # accuracy, F1, Pearson, ...: each as measured
        assert metric["value"] == round(facts.metrics[metric["type"]], 6)
    assert yaml["license"] == "mit" and yaml["otters"]["preset"] == facts.preset and facts.exactness


def test_card_without_measurements_says_so():
    card = model_card(CardFacts("x", "rt", "otters-1bitkv", "minilm-l6"))
    assert "not measured" in str(card) and "eval_results" not in card.data.to_dict()
