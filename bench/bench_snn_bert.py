"""Benchmark: spiking BERT (event simulator) against the QNN forward of the same student, same process.

The ``minilm-l6`` student (initialised from the packaged MiniLM, preset ``otters-1bitkv`` by
default), real sentences (rt validation, sorted by length, batches of 32), CPU, 2 threads. Prints:

- sentences/s of the SNN and of two QNN baselines, their repetitions interleaved so that load from
  other processes hits all alike (medians): the QNN as built (binary weights re-derived from the
  latent weights at every forward) and the QNN with frozen weights (as loaded from a checkpoint:
  the fastest QNN here); the ratio SNN / frozen QNN is the figure of merit (target <= 1.5x), for the
  offset code (plain TTFS) and for sign-split TTFS (``coding="split"``: two sub-populations per signed
  activation, silent at zero);
- the hardware-level simulator (``otters.snn.hardware``: one sentence at a time, every population
  stepped through its T threshold steps, one device read per spike on the clock through the ADC)
  against the frozen QNN on the first ``--hardware-sentences`` sentences, run once each (it is slow:
  per-step Python loops over unbatched sentences, not vectorised windows);
- peak memory of inference, per mode in a fresh child process (Linux): the resident set before the
  pass (``VmRSS``) and the peak resident set during one pass over all sentences (``VmHWM`` of
  /proc/self/status, its high-water mark reset through /proc/self/clear_refs just before the pass);
- that the SNN logits equal the QNN logits bit for bit on these sentences.

    python bench/bench_snn_bert.py [--preset otters-1bitkv] [--sentences 128] [--reps 3] [--threads 2]
                                   [--hardware-sentences 4]
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
    parser.add_argument("--hardware-sentences", type=int, default=4)
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
    split = convert(model, coding="split")
    frozen = _freeze(copy.deepcopy(model))  # same weights and steps, binary codes frozen

    def run(fn):
        with torch.no_grad():
            return [fn(ids, m, t) for ids, m, t in batches]

    qnn_out = run(lambda i, m, t: model(i, m, t).logits)
    frozen_out = run(lambda i, m, t: frozen(i, m, t).logits)
    snn_out = run(lambda i, m, t: snn(i, m, t).logits)
    split_out = run(lambda i, m, t: split(i, m, t).logits)
    exact = all(torch.equal(a, b) for a, b in zip(qnn_out, snn_out))
    exact_split = all(torch.equal(a, b) for a, b in zip(qnn_out, split_out))
    exact_frozen = all(torch.equal(a, b) for a, b in zip(frozen_out, snn_out))
    times = interleaved_medians({
        "qnn": lambda: run(lambda i, m, t: model(i, m, t).logits),
        "qnn_frozen": lambda: run(lambda i, m, t: frozen(i, m, t).logits),
        "snn": lambda: run(lambda i, m, t: snn(i, m, t).logits),
        "snn_split": lambda: run(lambda i, m, t: split(i, m, t).logits),
    }, args.reps)
    hardware = _hardware_ratio(snn, frozen, batch, args.hardware_sentences)
    n = batch["input_ids"].shape[0]
    tokens = int(batch["attention_mask"].sum())
    memory = {}
    for mode in ("qnn", "snn"):
        cmd = [sys.executable, __file__, "--child", mode, "--preset", args.preset, "--sentences", str(args.sentences),
               "--batch", str(args.batch), "--max-len", str(args.max_len), "--threads", str(args.threads)]
        memory[mode] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    print(f"preset {args.preset}, minilm-l6, {n} rt sentences ({tokens} tokens), batches of {args.batch}, "
          f"{args.threads} threads, median of {args.reps} interleaved repetitions; conversion {convert_s:.2f} s")
    for name, label in (("qnn", "QNN (as built)"), ("qnn_frozen", "QNN (frozen weights)"), ("snn", "SNN (event)"),
                        ("snn_split", "SNN (event, split)")):
        print(f"  {label:22s} {times[name]:8.3f} s   {n / times[name]:8.1f} sentences/s")
    print(f"  ratio SNN / frozen QNN: offset {times['snn'] / times['qnn_frozen']:.2f}x, split "
          f"{times['snn_split'] / times['qnn_frozen']:.2f}x   SNN / QNN as built: {times['snn'] / times['qnn']:.2f}x   "
          f"(target <= 1.5x)")
    print(f"  hardware-level simulator on {hardware['sentences']} sentences: {hardware['hardware_s']:.2f} s vs frozen QNN "
          f"{hardware['qnn_s']:.3f} s, ratio {hardware['hardware_s'] / hardware['qnn_s']:.0f}x (run once; logits "
          f"equal to the event simulator's: {hardware['exact']})")
    for mode in ("qnn", "snn"):
        m = memory[mode]
        print(f"  memory {mode.upper()} ({'frozen QNN' if mode == 'qnn' else 'SNN alone'}, fresh process, /proc VmRSS / "
              f"VmHWM): {m['before_mib']:.0f} MiB resident, peak {m['peak_mib']:.0f} MiB during inference "
              f"(+{m['peak_mib'] - m['before_mib']:.0f} MiB)")
    print(f"  logits bit-identical: SNN vs QNN {exact}, split SNN vs QNN {exact_split}, SNN vs frozen QNN {exact_frozen}")


def _hardware_ratio(snn, frozen, batch, sentences: int) -> dict:
    """Seconds of the hardware-level simulator (default clock and ADC) and of the frozen QNN on the first
    ``sentences`` sentences, each run once; and whether the simulator's logits equal the event simulator's
    on each sentence alone (a batch rounds some float sums in another order than one sentence does)."""
    from otters.snn.hardware import HardwareExecutor
    from otters.snn.hardware_verify import chip_read

    ids, mask, types = (batch[k][:sentences] for k in ("input_ids", "attention_mask", "token_type_ids"))
    executor = HardwareExecutor(snn, read=chip_read(snn), adc_per="spike")
    start = time.perf_counter()
    out = executor.forward(ids, mask, types)
    hardware_s = time.perf_counter() - start
    start = time.perf_counter()
    with torch.no_grad():
        reference = frozen(ids, mask, types).logits
    qnn_s = time.perf_counter() - start
    with torch.no_grad():
        alone = [snn(ids[r][mask[r].bool()][None], None, types[r][mask[r].bool()][None]).logits for r in range(len(ids))]
    del reference
    return {"sentences": int(ids.shape[0]), "hardware_s": hardware_s, "qnn_s": qnn_s,
            "exact": bool(torch.equal(out.logits, torch.cat(alone)))}


if __name__ == "__main__":
    main()
