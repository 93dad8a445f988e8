"""The spiking BERT's observer (otters.snn.bert.observer): bookkeeping passed in sees every population and
stage in firing order, and changes nothing of the forward."""

import torch

from otters.models import build_student, record_stages
from otters.snn import convert
from otters.snn.bert import BertActivity, ForwardObserver, StageRecorder
from snn_bert_helpers import calibrated, tiny_batch


class _Log(ForwardObserver):
    """Names of what fired and what integrated, in the order the forward reported them."""

    def __init__(self):
        self.events = []

    def batch(self, token_mask):
        self.events.append(("batch", int(token_mask.sum())))

    def fired(self, firing, spikes, valid, window, layer, fan_out=0):
        self.events.append(("fired", firing.name, window))

    def integrated(self, stage, firing_in, spikes, acc, token_mask):
        self.events.append(("integrated", stage.name, firing_in.name))

    def attention(self, kind, name, window, layer, firing_in, spikes, stored, acc, token_mask, one_bit):
        self.events.append((kind, name, firing_in.name))


def _student(preset="otters-1bitkv"):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = build_student(preset, "tiny")
    batch = tiny_batch(0)
    return calibrated(model, batch), batch


def test_an_observer_sees_the_windows_in_firing_order_and_changes_nothing():
    model, batch = _student()
    snn = convert(model)
    log = _Log()
    watched = snn(**batch, observer=log)
    assert torch.equal(watched.logits, snn(**batch).logits)
    assert log.events[0] == ("batch", int(batch["attention_mask"].sum()))
    first_layer = [e for e in log.events[1:] if len(e) > 2 and ".0." in f".{e[1]}"][:12]
    assert first_layer == [
        ("fired", "layers.0.attn.input_quant", 0),
        ("integrated", "layers.0.attn.query", "layers.0.attn.input_quant"),
        ("integrated", "layers.0.attn.key", "layers.0.attn.input_quant"),
        ("integrated", "layers.0.attn.value", "layers.0.attn.input_quant"),
        ("fired", "layers.0.attn.q_quant", 1),
        ("fired", "layers.0.attn.k_quant", 1),
        ("fired", "layers.0.attn.v_quant", 1),
        ("qk", "layers.0.attn.qk", "layers.0.attn.q_quant"),
        ("fired", "layers.0.attn.p_quant", 2),
        ("pv", "layers.0.attn.pv", "layers.0.attn.p_quant"),
        ("fired", "layers.0.attn.out_quant", 3),
        ("integrated", "layers.0.attn.out", "layers.0.attn.out_quant"),
    ]
    assert log.events[-2:] == [("fired", "pooler_quant", 0), ("integrated", "pooler", "pooler_quant")]


def test_a_recorder_passed_in_equals_record_and_the_qnn_stages():
    model, batch = _student("otters-4bitkv")
    snn = convert(model)
    recorder = StageRecorder()
    activity = BertActivity()
    out = snn(**batch, observer=recorder, activity=activity, record=True)
    with record_stages(model) as qnn_records:
        model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    assert [r[0] for r in recorder.records] == [r[0] for r in out.records] == [r[0] for r in qnn_records]
    for (name, q_in, q_w, q_acc), (_, s_in, s_w, s_acc) in zip(qnn_records, recorder.records):
        assert torch.equal(q_in, s_in.to(q_in.dtype)) and torch.equal(q_acc, s_acc.to(q_acc.dtype))
        stored = name.endswith((".qk", ".pv"))  # the K / V levels are recorded; static weights are not
        assert (s_w is not None) == stored and (not stored or torch.equal(q_w, s_w.to(q_w.dtype)))
    assert activity.sentences == batch["input_ids"].shape[0] and activity.populations
