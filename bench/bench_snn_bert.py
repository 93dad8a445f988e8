"""Benchmark: spiking BERT (event simulator) against the QNN forward of the same student, same process.

The ``minilm-l6`` student (initialised from the packaged MiniLM, preset ``otters-1bitkv`` by
default), real sentences (rt validation, sorted by length, batches of 32), CPU, 2 threads. Prints:

- sentences/s of the SNN and of two QNN baselines, their repetitions interleaved so that load from
  other processes hits all alike (medians): the QNN as built (binary weights re-derived from the
  latent weights at every forward) and the QNN with frozen weights (as loaded from a checkpoint:
  the fastest QNN here); the ratio SNN / frozen QNN is the figure of merit (target <= 2x);
- peak memory of inference, per mode in a fresh child process (Linux): the resident set before the
  pass (``VmRSS``) and the peak resident set during one pass over all sentences (``VmHWM`` of
  /proc/self/status, its high-water mark reset through /proc/self/clear_refs just before the pass);
- that the SNN logits equal the QNN logits bit for bit on these sentences.

    python bench/bench_snn_bert.py [--preset otters-1bitkv] [--sentences 128] [--reps 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import time

import torch

from measure import interleaved_medians, reset_peak_rss, status_mib


def _setup(preset: str, sentences: int, max_len: int):
    from otters.data import load_split
    from otters.data.tokenize import load_tokenizer
    from otters.models import student_from_hf

    rows = load_split("rt", "validation")
    tokenizer = load_tokenizer()
    out = tokenizer(rows.text_a[:sentences], truncation=True, max_length=max_len, padding=True, return_tensors="pt",
                    return_token_type_ids=True)
    order = torch.argsort(out["attention_mask"].sum(dim=1), descending=True)
    batch = {k: out[k][order] for k in ("input_ids", "attention_mask", "token_type_ids")}
    model = student_from_hf("minilm-l6", preset).eval()
    ids, mask, types = _batches(batch, 32)[0]
    with torch.no_grad():
        model(ids, mask, types)  # LSQ steps from the first (longest) 32 sentences
    return model, batch


def _batches(batch, size):
    from otters.snn.bert import iter_batches

    return list(iter_batches(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], size))


def _freeze(model):
    from otters.models.packing import binary_modules

    for module in binary_modules(model).values():
        module.freeze()
    return model


def _child(mode: str, args) -> None:
    """Memory of one mode in this fresh process: {"before_mib", "peak_mib"} on stdout."""
    import gc

    torch.set_num_threads(args.threads)
    model, batch = _setup(args.preset, args.sentences, args.max_len)
    batches = _batches(batch, args.batch)
    if mode == "snn":
        from otters.snn.convert import convert

        net = convert(model)
        del model
    else:
        net = _freeze(model)
    gc.collect()
    reset_peak_rss()
    before = status_mib("VmRSS")
    with torch.no_grad():
        for ids, m, t in batches:
            net(ids, m, t)
    print(json.dumps({"before_mib": before, "peak_mib": status_mib("VmHWM")}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="otters-1bitkv")
    parser.add_argument("--sentences", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=128)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", choices=("qnn", "snn"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args)
        return
    torch.set_num_threads(args.threads)
    from otters.snn.convert import convert

    model, batch = _setup(args.preset, args.sentences, args.max_len)
    batches = _batches(batch, args.batch)
    start = time.perf_counter()
    snn = convert(model)
    convert_s = time.perf_counter() - start
    frozen = _freeze(copy.deepcopy(model))  # same weights and steps, binary codes frozen

    def run(fn):
        with torch.no_grad():
            return [fn(ids, m, t) for ids, m, t in batches]

    qnn_out = run(lambda i, m, t: model(i, m, t).logits)
    frozen_out = run(lambda i, m, t: frozen(i, m, t).logits)
    snn_out = run(lambda i, m, t: snn(i, m, t).logits)
    exact = all(torch.equal(a, b) for a, b in zip(qnn_out, snn_out))
    exact_frozen = all(torch.equal(a, b) for a, b in zip(frozen_out, snn_out))
    times = interleaved_medians({
        "qnn": lambda: run(lambda i, m, t: model(i, m, t).logits),
        "qnn_frozen": lambda: run(lambda i, m, t: frozen(i, m, t).logits),
        "snn": lambda: run(lambda i, m, t: snn(i, m, t).logits),
    }, args.reps)
    n = batch["input_ids"].shape[0]
    tokens = int(batch["attention_mask"].sum())
    memory = {}
    for mode in ("qnn", "snn"):
        cmd = [sys.executable, __file__, "--child", mode, "--preset", args.preset, "--sentences", str(args.sentences),
               "--batch", str(args.batch), "--max-len", str(args.max_len), "--threads", str(args.threads)]
        memory[mode] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"preset {args.preset}, minilm-l6, {n} rt sentences ({tokens} tokens), batches of {args.batch}, "
          f"{args.threads} threads, median of {args.reps} interleaved repetitions; conversion {convert_s:.2f} s")
    for name, label in (("qnn", "QNN (as built)"), ("qnn_frozen", "QNN (frozen weights)"), ("snn", "SNN (event)")):
        print(f"  {label:22s} {times[name]:8.3f} s   {n / times[name]:8.1f} sentences/s")
    print(f"  ratio SNN / frozen QNN: {times['snn'] / times['qnn_frozen']:.2f}x   "
          f"SNN / QNN as built: {times['snn'] / times['qnn']:.2f}x   (target <= 2x)")
    for mode in ("qnn", "snn"):
        m = memory[mode]
        print(f"  memory {mode.upper()} ({'frozen QNN' if mode == 'qnn' else 'SNN alone'}, fresh process, /proc VmRSS / "
              f"VmHWM): {m['before_mib']:.0f} MiB resident, peak {m['peak_mib']:.0f} MiB during inference "
              f"(+{m['peak_mib'] - m['before_mib']:.0f} MiB)")
    print(f"  logits bit-identical: SNN vs QNN {exact}, SNN vs frozen QNN {exact_frozen}")


if __name__ == "__main__":
    main()
