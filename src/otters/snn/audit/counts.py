"""Operation audit of a spiking BERT on real inputs: what every block computes, counted.

Source: Otters (ICLR 2026, arXiv 2509.18968), Prop. 1 and Sec. 3-4; Sorbet (ICML 2025) for
PTsoftmax and BSPN. The counts come from the measured activity (:class:`BertActivity`) of the
converted network on the given sentences, under one hardware realisation (:class:`AuditSettings`).

Spiking path (per stage and per firing population; docs/audit.md gives every rule):

- a firing population compares its input with its stepped thresholds at steps 0..k until it fires
  at step k (all T when silent) and emits at most one spike. Thresholds are precomputed in the
  units of the input (``otters.snn.neuron``), with the bias, the alpha/2 shift, the signed
  offset correction and the ADC resolution R folded in: no multiplication, no division;
- a static-weight stage: each input spike drives its devices (weight x decay, fused in the device);
  ``adc_per`` = "synapse": one conversion per synaptic event, added or subtracted by the weight
  sign; "spike": one decay reading per input spike, added / subtracted per synapse; "column"
  (default, as ``otters.energy.Hardware``): the currents of ``column_rows`` synapses sum on the
  output line and one conversion per output, row tile and active step reads their signed count;
  the digital side keeps a running count C (one add per reading) and adds C into the accumulator
  at every step (T adds per output): sum_k C_k = sum_i (T - k_i) w_ij, the code-weighted sum,
  without multiplying by the code;
- Q.K^T and P.V: one device read + conversion per Q or P spike; per synapse (stored key or value)
  a selective add / subtract (1-bit K/V) or a multiply-add by the stored level (4-bit K/V); the
  signed offset of Q is corrected once per score with the stored key's row sum (a shift of it).

Digital path: embeddings (binary tables, embedding LayerNorm), score read-out and (PT)softmax,
read-out + residual add + BSPN (or LayerNorm), pooler read-out, ReLU and the float classifier.
Reading an accumulator out into the digital domain costs one float multiply (acc x scale), and
BSPN's PowerNorm divides by sqrt(psi + eps), a per-channel constant that is not a power of two:
those multiplications are listed under their digital blocks.
"""

from __future__ import annotations

from otters.errors import OttersError
from otters.snn.audit.rows import Audit, AuditRow, AuditSettings
from otters.snn.audit.rules import digital_rows, population_row, stage_row
from otters.snn.bert.activity import BertActivity
from otters.snn.bert.model import iter_batches
from otters.snn.convert import convert

_POP_PART = {"input_quant": "norms", "q_quant": "QKV", "k_quant": "QKV", "v_quant": "QKV", "p_quant": "attention",
             "out_quant": "attention", "ffn_in_quant": "norms", "ffn2_in_quant": "FC", "pooler_quant": "FC"}
_STAGE_PART = {"query": "QKV", "key": "QKV", "value": "QKV", "qk": "attention", "pv": "attention", "out": "FC",
               "ffn1": "FC", "ffn2": "FC", "pooler": "FC"}


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def audit_activity(snn, activity: BertActivity, settings: AuditSettings | None = None) -> Audit:
    """Operation counts of ``snn`` (a SpikingBert) for the measured ``activity`` (sums over its sentences)."""
    settings = settings or AuditSettings()
    if activity.column_rows != settings.column_rows:
        raise OttersError(f"the activity was measured with column tiles of {activity.column_rows} rows but the "
                          f"audit asks for {settings.column_rows}; measure with BertActivity(column_rows=...)")
    firings = firing_populations(snn)
    max_keys = max(activity.lengths, default=1)
    rows: list[AuditRow] = [digital_rows(snn, activity, "embeddings")]
    for layer in range(len(snn.layers)):
        for p in activity.populations.values():
            if p.layer == layer:
                rows.append(population_row(p, firings[p.name], settings, _POP_PART[_suffix(p.name)], snn))
        for s in activity.stages.values():
            if s.layer == layer:
                rows.append(stage_row(s, settings, _STAGE_PART[_suffix(s.name)], snn, max_keys))
        rows += digital_rows(snn, activity, "layer", layer)
    for p in activity.populations.values():
        if p.layer is None:
            rows.append(population_row(p, firings[p.name], settings, _POP_PART[_suffix(p.name)], snn))
    for s in activity.stages.values():
        if s.layer is None:
            rows.append(stage_row(s, settings, _STAGE_PART[_suffix(s.name)], snn, max_keys))
    rows.append(digital_rows(snn, activity, "head"))
    model = {"preset": snn.config.preset, "geometry": snn.config.geometry, "layers": len(snn.layers),
             "kv_bits": snn.config.kv_bits, "softmax": snn.config.softmax, "norm": snn.config.norm,
             "windows": snn.windows, "coding": getattr(snn, "coding", "ttfs")}
    return Audit(rows, settings, activity.sentences, activity.tokens, model)


def firing_populations(snn) -> dict:
    """Every firing population of a SpikingBert by name (pooler input, then per layer input, Q, K, V, P, PV, FFN)."""
    out = {snn.pooler_in.name: snn.pooler_in}
    for ly in snn.layers:
        for f in (ly.input, ly.query.out, ly.key.out, ly.value.out, ly.p, ly.pv_out, ly.ffn_in, ly.ffn1.out):
            out[f.name] = f
    return out


def audit_model(model, input_ids, attention_mask=None, token_type_ids=None, settings: AuditSettings | None = None,
                batch_size: int = 32, snn=None) -> Audit:
    """Convert ``model`` (a calibrated QBert student; or pass ``snn``), run it on the inputs in batches
    and audit. Returns an :class:`Audit` (``.to_dict()`` for JSON)."""
    settings = settings or AuditSettings()
    if snn is None:
        snn = convert(model, adc_bits=settings.adc_bits)
    activity = BertActivity(settings.column_rows)
    for ids, mask, types in iter_batches(input_ids, attention_mask, token_type_ids, batch_size):
        snn(ids, mask, types, activity=activity)
    return audit_activity(snn, activity, settings)
