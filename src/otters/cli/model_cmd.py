"""``otters info``: parameters and packed storage size of a student (checkpoint or preset);
``otters audit``: operation counts of its converted spiking model on real text (otters.snn.audit).

Heavy imports (torch) stay inside the command so that ``otters --help`` is fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def info_dict(checkpoint: Optional[Path], preset: Optional[str], geometry: str, num_labels: int) -> dict:
    """The data ``otters info --json`` prints: parameters, storage_mb (MB = 2^20 bytes), parts, ...

    A checkpoint directory (from ``save_student``) is measured from its stored tensors; a preset is
    built on the meta device (no memory, no weights) and sized from its packed layout.
    """
    from otters.errors import OttersError

    if (checkpoint is None) == (preset is None):
        raise OttersError("give either a checkpoint directory or --preset NAME (with --geometry)")
    if checkpoint is not None:
        from otters.io import read_json
        from otters.models.packing import CONFIG_FILE, TENSORS_FILE, load_student, storage_report

        model = load_student(checkpoint)
        meta = read_json(Path(checkpoint) / CONFIG_FILE)
        report = storage_report(model)
        layout = meta.get("storage")
        if layout is not None:  # what was actually written (includes latent weights if saved)
            report.update({k: layout[k] for k in ("storage_bytes", "storage_mb", "parts")})
        report["file_bytes"] = sum((Path(checkpoint) / f).stat().st_size for f in (CONFIG_FILE, TENSORS_FILE))
        report["source"] = str(checkpoint)
        cfg = model.config
    else:
        import torch

        from otters.models.packing import storage_report
        from otters.models.presets import build_student

        problem = "regression" if num_labels == 1 else "classification"
        with torch.device("meta"):
            model = build_student(preset, geometry, num_labels=num_labels, problem_type=problem)
        report = storage_report(model)
        report["source"] = "preset"
        cfg = model.config
    report.update({"preset": cfg.preset, "geometry": cfg.geometry, "layers": cfg.num_hidden_layers,
                   "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads, "ffn": cfg.intermediate_size,
                   "vocab": cfg.vocab_size, "weight_bits": cfg.weight_bits, "act_bits": cfg.act_bits,
                   "kv_bits": cfg.kv_bits, "softmax": cfg.softmax, "norm": cfg.norm})
    return report


def info_command(
    checkpoint: Optional[Path] = typer.Argument(None, help="student checkpoint directory (from save_student)"),
    preset: Optional[str] = typer.Option(None, "--preset", help="bert-fp, qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv"),
    geometry: str = typer.Option("minilm-l6", "--geometry", help="minilm-l6, bert-base, tiny, or an HF BERT directory"),
    num_labels: int = typer.Option(2, "--num-labels", help="classifier outputs (1 = regression, e.g. STS-B)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Parameters and packed storage size (MB = 2^20 bytes; fp32 BERT-base = 418 MB) of a student."""
    report = info_dict(checkpoint, preset, geometry, num_labels)
    if as_json:
        print(json.dumps(report, sort_keys=True))
        return
    from rich.console import Console
    from rich.table import Table

    title = (f"{report['preset']} / {report['geometry']}: {report['layers']} layers, hidden {report['hidden']}, "
             f"W{report['weight_bits']} A{report['act_bits'] or 32} KV{report['kv_bits'] or 32}")
    table = Table(title=title)
    table.add_column("part")
    table.add_column("tensors", justify="right")
    table.add_column("MB", justify="right")
    for name, part in report["parts"].items():
        table.add_row(name, str(part["tensors"]), f"{part['mb']:.3f}")
    table.add_row("total", "", f"{report['storage_mb']:.3f}", style="bold")
    console = Console()
    console.print(table)
    console.print(f"parameters {report['parameters']:,}; packed {report['storage_mb']:.3f} MB "
                  f"(fp32 would be {report['fp32_mb']:.1f} MB)")


def audit_dict(checkpoint: Optional[Path], preset: Optional[str], geometry: str, init: Optional[str], seed: int,
               seq_len: Optional[int], sentences: int, task: str, split: str, adc_per: str, column_rows: int,
               max_len: Optional[int] = None, measured: bool = False) -> dict:
    """What ``otters audit --json`` prints: the operation audit (otters.snn.audit) of the converted
    student on real text, with ``input`` describing the sentences (``max_len``: tokens per sentence at
    most, default the model's position limit, capped at 512). ``measured``: the spiking path's counts
    as executed by the hardware executor under an operation counter (otters.snn.audit_measured), with
    the rule-based totals beside them."""
    import torch

    from otters.cli import bert_inputs
    from otters.snn.audit import AuditSettings, audit_model

    if max_len is not None and max_len < 3:
        from otters.errors import OttersError

        raise OttersError(f"--max-len must be at least 3 tokens ([CLS] text [SEP]), got {max_len}")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    settings = AuditSettings(adc_per=adc_per, column_rows=column_rows)
    model, description = bert_inputs.student(checkpoint, preset, geometry, init, seed)
    tokenizer = bert_inputs.tokenizer_for(checkpoint, geometry if preset else None)
    vocab = model.config.vocab_size
    texts_a, texts_b, source = bert_inputs.sentences(max(sentences, 64 if seq_len else sentences), task, split)
    if seq_len is not None:  # one input of exactly seq_len tokens of real text
        batch = bert_inputs.fill_to_length(tokenizer, texts_a, seq_len, vocab)
        source += f", {seq_len} tokens of consecutive text"
    else:
        batch = bert_inputs.tokenize(tokenizer, texts_a[:sentences], texts_b[:sentences] if texts_b else None,
                                     min(max_len or 512, model.config.max_position_embeddings), vocab)
    if checkpoint is None:
        bert_inputs.calibrate(model, batch)
    inputs = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    if measured:
        from otters.snn.audit_measured import measured_audit

        audit, rules = measured_audit(model, *inputs, settings)
        data = audit.to_dict()
        data.update(measured=True, measured_paths=["spiking"], rule_based={"spiking": rules.totals("spiking")})
    else:
        data = audit_model(model, *inputs, settings).to_dict()
        data["measured"] = False
    data["model"].update(description)
    data["input"] = {"source": source, "sentences": int(batch["input_ids"].shape[0]),
                     "tokens": int(batch["attention_mask"].sum()),
                     "text": texts_a[0] if seq_len is None and sentences == 1 else None}
    return data


_AUDIT_COLUMNS = ("adds", "subs", "mults", "shifts", "compares", "device_reads", "adc", "spikes")


def audit_command(
    checkpoint: Optional[Path] = typer.Argument(None, help="student checkpoint directory (save_student / otters distill)"),
    preset: Optional[str] = typer.Option(None, "--preset", help="qnn-w1a4, sorbet, otters-4bitkv, otters-1bitkv"),
    geometry: str = typer.Option("minilm-l6", "--geometry", help="minilm-l6, bert-base, tiny, or an HF BERT directory"),
    random_init: bool = typer.Option(False, "--random-init", help="--preset: random weights (seeded by --seed)"),
    hf_init: bool = typer.Option(False, "--hf", help="--preset: weights from the HF model (default for minilm-l6)"),
    seed: int = typer.Option(0, "--seed", help="seed of --random-init"),
    seq_len: Optional[int] = typer.Option(None, "--seq-len", help="audit one input of exactly L tokens of real text "
                                          "(default: each sentence at its own length)"),
    sentences: int = typer.Option(1, "--sentences", help="number of real sentences audited (counts are sums)"),
    task: str = typer.Option("rt", "--task", help="task whose validation sentences are used (rt: embedded reviews)"),
    split: str = typer.Option("validation", "--split", help="split of --task"),
    max_len: Optional[int] = typer.Option(None, "--max-len", help="tokens per sentence at most (default: the "
                                          "model's position limit, at most 512; otters energy uses its --max-len)"),
    adc_per: str = typer.Option("column", "--adc-per", help="ADC placement counted: column | synapse | spike"),
    column_rows: int = typer.Option(256, "--column-rows", help="synapses per column tile (column ADC)"),
    measured: bool = typer.Option(False, "--measured", help="count the spiking path's operations as the hardware "
                                  "executor performs them (a torch dispatch mode), not by the rules"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object (spiking, digital, blocks)"),
) -> None:
    """Count the operations of the converted spiking model on real text, per block (docs/audit.md)."""
    from otters.errors import OttersError

    if random_init and hf_init:
        raise OttersError("choose --random-init or --hf, not both")
    init = "random" if random_init else "hf" if hf_init else None
    data = audit_dict(checkpoint, preset, geometry, init, seed, seq_len, sentences, task, split, adc_per, column_rows,
                      max_len, measured)
    if as_json:
        print(json.dumps(data))
        return
    from rich.console import Console
    from rich.table import Table

    m = data["model"]
    table = Table(title=f"Operation audit: {m['preset']} / {m['geometry']}, {data['input']['sentences']} input(s), "
                        f"{data['tokens']} tokens, ADC per {data['settings']['adc_per']}")
    table.add_column("block")
    table.add_column("path")
    for col in _AUDIT_COLUMNS:
        table.add_column(col, justify="right")
    for row in data["blocks"]:
        table.add_row(row["block"], row["path"], *(f"{row[c]:,.0f}" for c in _AUDIT_COLUMNS))
    for path in ("spiking", "digital"):
        table.add_row(f"total {path}", path, *(f"{data[path][c]:,.0f}" for c in _AUDIT_COLUMNS), style="bold")
    console = Console(width=max(Console().width, 160))
    console.print(table)
    how = "measured (executed and counted)" if data["measured"] else "by the counting rules"
    console.print(f"input: {data['input']['source']}; multiplications in the spiking path, {how}: "
                  f"{data['spiking']['mults']:,.0f}")


def register(app: typer.Typer) -> None:
    """Add ``otters info`` and ``otters audit``."""
    app.command("info")(info_command)
    app.command("audit")(audit_command)
