"""Teacher-output cache: stored outputs equal the live teacher's (to float16), fill once, keyed against staleness."""

import pytest
import torch

from otters.data.splits import load_split
from otters.data.tasks import get_task
from otters.data.tokenize import collate, encode, load_tokenizer
from otters.distill.loss import DistillWeights, distillation_loss
from otters.distill.plan import freeze_teacher, hf_model, kd_outputs
from otters.distill.teacher_cache import teacher_outputs
from otters.errors import OttersError
from tiny_task import make_tiny_task

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    task = make_tiny_task(root)
    spec = get_task("sst2")
    teacher, _ = hf_model(task["teacher"], "bert-fp", spec, require_head=False)
    enc = encode(load_tokenizer(task["teacher"]), load_split(spec, "train", task["glue"]).subset(range(40)), 16)
    return {"teacher": freeze_teacher(teacher), "enc": enc, "spec": spec, "dir": task["teacher"]}


def test_read_back_equals_the_live_teacher_and_fills_each_row_once(tiny, tmp_path):
    teacher, enc = tiny["teacher"], tiny["enc"]
    cache = teacher_outputs(teacher, enc, student_layers=2, root=tmp_path)
    rows = [3, 7, 0, 12]
    batch = collate(enc, rows)
    stored = cache.for_batch(rows, batch["input_ids"].shape[1])
    assert cache.rows_filled == 4
    with torch.no_grad():
        live = kd_outputs(teacher(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]))
    mask = batch["attention_mask"].bool()
    assert len(stored["hidden_states"]) == len(live["hidden_states"]) == 3  # embeddings + 2 layers
    for s, t in zip(stored["hidden_states"], live["hidden_states"]):
        assert torch.allclose(s[mask], t[mask], rtol=2e-3, atol=1e-3) and not s[~mask].any()
    assert torch.allclose(stored["logits"], live["logits"], rtol=2e-3, atol=1e-3)
    # the loss on stored targets matches the loss on live ones
    student_out = {"logits": live["logits"] + 0.3, "hidden_states": [h * 0.9 for h in live["hidden_states"]]}
    a, _ = distillation_loss(student_out, stored, batch["attention_mask"], False, DistillWeights())
    b, _ = distillation_loss(student_out, live, batch["attention_mask"], False, DistillWeights())
    assert abs(float(a) - float(b)) <= 1e-3 * abs(float(b))
    # a second cache object on the same folder reads the rows back without running the teacher
    again = teacher_outputs(teacher, enc, student_layers=2, root=tmp_path)
    assert again.folder == cache.folder and again.rows_filled == 4
    again._forward = None  # any teacher forward would now fail
    second = again.for_batch(rows, batch["input_ids"].shape[1])
    assert all(torch.equal(x, y) for x, y in zip(second["hidden_states"], stored["hidden_states"]))


def test_other_weights_or_rows_never_read_a_stale_cache(tiny, tmp_path):
    teacher, enc = tiny["teacher"], tiny["enc"]
    first = teacher_outputs(teacher, enc, 2, tmp_path).folder
    assert teacher_outputs(teacher, encode(load_tokenizer(tiny["dir"]), load_split(tiny["spec"], "train", tiny["dir"].parent / "glue").subset(range(41)), 16), 2, tmp_path).folder != first
    assert teacher_outputs(teacher, enc, 1, tmp_path).folder != first  # another layer map
    changed, _ = hf_model(tiny["dir"], "bert-fp", tiny["spec"], require_head=False)
    with torch.no_grad():
        next(changed.parameters()).add_(1e-3)
    assert teacher_outputs(freeze_teacher(changed), enc, 2, tmp_path).folder != first
    with pytest.raises(OttersError, match="frozen"):
        teacher_outputs(changed.train(), enc, 2, tmp_path)
