"""The counting rules of the operation audit, one function per kind of block (docs/audit.md).

Every rule turns measured activity (spikes, synaptic events split by synapse sign, active steps,
neurons, tokens, scores) into operations typed by width: integer accumulators are sized to hold
their largest possible value (:func:`otters.snn.audit.rows.int_type`), digital blocks run in fp32 as the
student does. Sources: Otters (ICLR 2026) Prop. 1 and Sec. 3; Sorbet (ICML 2025) PTsoftmax / BSPN.
"""

from __future__ import annotations

from otters.coding.adc import adc_resolution
from otters.snn.audit.rows import AuditRow, AuditSettings, int_type


def _adc_units(kind: str, settings: AuditSettings) -> bool:
    """True when the accumulator of a stage of this kind counts ADC codes (R per level)."""
    return kind in ("qk", "pv") or settings.adc_per != "column"


def _feeding_stage(snn, name: str):
    """(kind, input population) of the stage whose accumulator an accumulator-domain population reads."""
    for ly in snn.layers:
        for stage in (ly.query, ly.key, ly.value, ly.ffn1):
            if stage.out is not None and stage.out.name == name:
                return "linear", stage.pop_in
        if ly.pv_out.name == name:
            return "pv", ly.p.pop
    return None, None


def population_row(p, firing, settings: AuditSettings, part: str, snn) -> AuditRow:
    """A firing population: stepped-threshold compares (steps 0..k, T if silent) and its spikes."""
    row = AuditRow(p.name, "spiking", part, p.layer, p.window)
    if p.domain == "value":
        dtype = "fp32"  # its initial potential is a float from a digital block
    else:
        kind, pop_in = _feeding_stage(snn, p.name)
        finite = firing.thresholds.values.abs()
        finite = finite[finite <= 2**24]
        scale = adc_resolution(pop_in.T, settings.adc_bits) if _adc_units(kind, settings) else 1
        dtype = int_type(float(finite.max()) * scale if finite.numel() else 1.0)
    row.op("compares", dtype, p.compares)
    row.spikes = p.spikes
    row.info = {"T": p.T, "domain": p.domain, "neurons": p.neurons,
                "firing_rate": p.spikes / p.neurons if p.neurons else 0.0}
    return row


def stage_row(s, settings: AuditSettings, part: str, snn, max_keys: int) -> AuditRow:
    """A spiking stage's integration: device reads, conversions and the selective adds / subtracts.
    ``max_keys``: the longest sentence (fan-in of P.V)."""
    row = AuditRow(s.name, "spiking", part, s.layer, s.window)
    R = adc_resolution(s.T_in, settings.adc_bits)
    events = s.synaptic_events
    row.info = {"synaptic_events": events, "input_spikes": s.spikes, "fan_out": s.fan_out, "outputs": s.outputs}
    if s.kind == "linear":
        units = _adc_units("linear", settings)
        acc = int_type(s.fan_in * s.T_in * (R if units else 1))
        if settings.adc_per == "column":
            row.device_reads = events
            row.convert(settings.column_bits, s.column_active)
            row.op("adds", int_type(s.fan_in), s.column_active)  # running signed count C
            row.op("adds", acc, s.T_in * s.outputs)  # acc += C at every step: sum_k C_k = sum_i code_i w_ij
            row.info["column_active"] = s.column_active
        else:
            reads = events if settings.adc_per == "synapse" else s.spikes
            row.device_reads = reads
            row.convert(settings.adc_bits, reads)
            row.op("adds", acc, s.events_plus).op("subs", acc, s.events_minus)
        if s.readout:  # the offset correction and /R of a read-out accumulator (folded into thresholds otherwise)
            if s.signed_input:
                row.op("adds", acc, s.outputs)
            if units:
                row.op("shifts", acc, s.outputs)
        return row
    kv_bits = int(snn.config.kv_bits)
    kmax = 2 ** max(kv_bits - 1, 0)
    fan_in = s.fan_in if s.kind == "qk" else max(int(max_keys), 1)
    acc = int_type(fan_in * s.T_in * R * kmax)
    row.device_reads = s.spikes  # one decay reading per Q / P spike, shared by its synapses
    row.convert(settings.adc_bits, s.spikes)
    if kv_bits == 1:  # selective addition / subtraction by the stored sign
        row.op("adds", acc, s.events_plus).op("subs", acc, s.events_minus)
    else:  # multiply the reading by the stored level, then add
        row.op("mults", f"int{settings.adc_bits}x{kv_bits}", s.events_other).op("adds", acc, s.events_other)
    if s.kind == "qk":
        if s.signed_input:  # offset code of Q: score -= 2^(n-1) R sum_c K_c, row sums formed once per stored key
            row.op("adds", int_type(s.fan_in * kmax), s.kv_rows * (s.fan_in - 1))
            row.op("shifts", int_type(s.fan_in * kmax * R * (s.T_in + 1) // 2), s.kv_rows)
            row.op("subs", acc, s.scores)
        row.op("shifts", acc, s.scores)  # ADC units -> levels (/R) before the read-out
        row.info["scores"] = s.scores
    return row


def _layernorm(row: AuditRow, tokens: int, d: int) -> None:
    """LayerNorm per token of d values in fp32: mean (d adds, 1 mult), centre (d subs), variance (d mults,
    d adds, 1 mult), eps add, rsqrt (2 Newton steps: 6 mults, 2 subs), normalise (d mults), affine (d mults, d adds)."""
    row.op("adds", "fp32", tokens * (3 * d + 1)).op("subs", "fp32", tokens * (d + 2))
    row.op("mults", "fp32", tokens * (3 * d + 8))


def _bspn(row: AuditRow, tokens: int, d: int, groups: int) -> None:
    """BSPN per value: group |x| sum (add), group shift (exponent add), PowerNorm x / sqrt(psi_c + eps) (a
    divide by a per-channel constant that is not a power of two: 1 mult), x * pow2(gamma) (exponent add),
    + beta (add), round to a signed power of two (1 compare of the mantissa with sqrt 2); per group: mean
    (shift if the group size is a power of two, else a mult) and ceil(log2 mean) (1 compare, 1 add)."""
    n = tokens * d
    row.op("adds", "fp32", 2 * n).op("shifts", "int8", 2 * n).op("mults", "fp32", n).op("compares", "int8", n)
    size = d // groups
    row.op("shifts" if size & (size - 1) == 0 else "mults", "fp32", tokens * groups)
    row.op("compares", "int8", tokens * groups).op("adds", "int8", tokens * groups)


def digital_rows(snn, activity, which: str, layer: int | None = None):
    """Rows of the digital blocks: "embeddings", "layer" (softmax + two add & norm blocks), "head"."""
    cfg = snn.config
    d, tokens, n_sent = cfg.hidden_size, activity.tokens, activity.sentences
    if which == "embeddings":
        row = AuditRow("embeddings", "digital", "norms", None, None)
        row.op("adds", "fp32", tokens * 2 * d)  # word + token type + position (binary rows: sign-selected scales)
        _layernorm(row, tokens, d)
        row.info = {"values_in": 0, "values_out": tokens * d, "weight_bits": tokens * (2 * (d + 32) + 32 * d)}
        return row
    if which == "head":
        row = AuditRow("pooler_readout+classifier", "digital", "FC", None, None)
        row.op("mults", "fp32", n_sent * d).op("adds", "fp32", n_sent * d)  # V = acc * scale + b
        if cfg.pooler_act == "relu":
            row.op("compares", "fp32", n_sent * d)
        else:  # tanh: rational approximation, 4 mults + 4 adds per value
            row.op("mults", "fp32", 4 * n_sent * d).op("adds", "fp32", 4 * n_sent * d)
        row.op("mults", "fp32", n_sent * d * cfg.num_labels).op("adds", "fp32", n_sent * d * cfg.num_labels)
        row.info = {"values_in": n_sent * d, "values_out": n_sent * cfg.num_labels,
                    "weight_bits": n_sent * 32 * (d + 1) * cfg.num_labels}
        return row
    heads = cfg.num_attention_heads
    scores = heads * activity.attention_pairs
    rows_h = heads * tokens
    soft = AuditRow(f"layers.{layer}.attn.softmax", "digital", "attention", layer, 1)
    soft.op("mults", "fp32", scores)  # score read-out: acc * (alpha_k / sqrt(d) * alpha_q)
    if cfg.softmax == "ptsoftmax":
        # ceil, max compare, subtract max, 2^x (shift), flush compare, sum, divide by the power-of-two sum (shift)
        soft.op("adds", "fp32", scores).op("compares", "int8", 2 * scores).op("subs", "int8", scores)
        soft.op("shifts", "int16", 2 * scores).op("adds", "int16", scores).op("compares", "int16", 2 * rows_h)
    else:  # fp32 softmax: mask add, max, subtract, exp (4 mults + 4 adds), sum, normalise; reciprocal per row
        soft.op("adds", "fp32", 6 * scores).op("compares", "fp32", scores).op("subs", "fp32", scores)
        soft.op("mults", "fp32", 5 * scores).op("mults", "fp32", 4 * rows_h).op("subs", "fp32", 2 * rows_h)
    soft.info = {"values_in": scores, "values_out": scores}
    out = [soft]
    for name, window in (("attn_norm", 3), ("ffn_norm", 5)):
        row = AuditRow(f"layers.{layer}.{name}", "digital", "norms", layer, window)
        row.op("mults", "fp32", tokens * d).op("adds", "fp32", 2 * tokens * d)  # read-out V = acc*s + b; residual
        if cfg.norm == "bspn":
            _bspn(row, tokens, d, cfg.resolved_bspn_groups)
        else:
            _layernorm(row, tokens, d)
        row.info = {"values_in": 2 * tokens * d, "values_out": tokens * d}
        out.append(row)
    return out
