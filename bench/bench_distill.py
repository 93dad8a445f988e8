"""Benchmark: distillation throughput against teacher fine-tuning throughput, same process, same batches.

Both run on the MiniLM-L6 geometry (hidden 384, 6 layers) with the same real ``rt`` batches:

- baseline: one fine-tuning step of the Hugging Face teacher (forward, cross-entropy, backward, AdamW);
- distill:  one distillation step of an Otters student (frozen teacher forward + student QAT forward,
  soft cross-entropy + hidden-state MSE, backward, AdamW), the step ``otters distill`` runs;
- student:  the student's QAT step alone (no teacher), to separate the teacher's share;
- cached:   the distillation step reading the teacher's stored outputs (otters.distill.teacher_cache,
  float16, memory-mapped) instead of running the teacher: every epoch after the first, and every run
  with the same teacher and data. The cache is filled before timing (one pass over the batches).
- fused:    the stored-teacher step with every LSQ quantizer's training step in the two compiled
  kernels of otters.quant.lsq_fused (``otters distill --fused-quantizers``); compiled before timing,
  the one-off compile time is printed apart.

Steps are interleaved (baseline, distill, student, baseline, ...) so load from other processes on a
shared machine hits all of them alike; medians are reported as samples/s and as ratios to the
baseline.

``--ablate`` adds same-process before/after ratios of the performance changes (docs/training.md,
Performance): word-embedding binarisation of the whole table vs of the gathered rows, AdamW
single-tensor (foreach=False) vs fused, and the distillation step at 2 intra-op threads vs 1.

    python bench/bench_distill.py [--preset otters-1bitkv] [--batch 32] [--max-len 64] [--reps 5] [--threads 1] [--ablate]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time

import torch

from measure import interleaved_medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="otters-1bitkv")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-len", type=int, default=64)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ablate", action="store_true", help="also time the before/after of each speed-up")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from otters.data.splits import load_split
    from otters.data.tasks import get_task
    from otters.data.tokenize import bucketed_batches, collate, encode, load_tokenizer
    from otters.distill.loss import DistillWeights
    from otters.distill.plan import freeze_teacher, hf_model
    from otters.distill.run import make_loss_fn
    from otters.distill.teacher_cache import teacher_outputs
    from otters.models import minilm_path
    from otters.quant.lsq import set_fused_quantizers
    from otters.teacher.model import load_model
    from otters.train.loop import TrainConfig
    from otters.train.optim import build_optimizer

    spec = get_task("rt")
    directory = minilm_path()
    rows = load_split(spec, "train").subset(range(args.batch * (args.reps + 1) * 4))
    enc = encode(load_tokenizer(directory), rows, args.max_len)
    batches = [{**collate(enc, b), "rows": torch.as_tensor(b)}
               for b in bucketed_batches(enc.lengths, args.batch, True, seed=0)]
    batches = [b for b in batches if len(b["labels"]) == args.batch]
    cursor = {"baseline": 0, "distill": 0, "student": 0, "cached": 0, "fused": 0}

    def next_batch(name):
        batch = batches[cursor[name] % len(batches)]
        cursor[name] += 1
        return batch

    hf = load_model(directory, spec)
    hf.train()
    hf_opt = torch.optim.AdamW(hf.parameters(), lr=5e-5, foreach=False)

    def baseline():
        batch = next_batch("baseline")
        hf_opt.zero_grad(set_to_none=True)
        hf(**{k: v for k, v in batch.items() if k != "rows"}).loss.backward()
        hf_opt.step()

    teacher, _ = hf_model(directory, "bert-fp", spec, require_head=False)
    freeze_teacher(teacher)
    student, _ = hf_model(directory, args.preset, spec, require_head=False)
    student.train()
    cfg = TrainConfig()
    s_opt = build_optimizer(student, cfg.lr, cfg.weight_decay, cfg.step_size_lr)  # the optimizer otters distill uses
    kd = make_loss_fn(teacher, spec.regression, DistillWeights())

    def kd_step(name, model, optimizer, loss_fn):
        def step():
            batch = next_batch(name)
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model, batch)[0].backward()
            optimizer.step()
        return step

    distill_step = kd_step("distill", student, s_opt, kd)

    cache_root = tempfile.TemporaryDirectory()
    stored = teacher_outputs(teacher, enc, student.config.num_hidden_layers, cache_root.name)
    for b in batches:  # the first epoch fills the cache; the timed steps read it back
        stored.for_batch(b["rows"].numpy(), b["input_ids"].shape[1])
    kd_cached = make_loss_fn(teacher, spec.regression, DistillWeights(), stored=stored)

    cached_step = kd_step("cached", student, s_opt, kd_cached)

    fused_student = copy.deepcopy(student)
    set_fused_quantizers(fused_student, True)
    f_opt = build_optimizer(fused_student, cfg.lr, cfg.weight_decay, cfg.step_size_lr)

    fused_step = kd_step("fused", fused_student, f_opt, kd_cached)

    start = time.perf_counter()
    for _ in range(3):  # compile (static shapes first, then dynamic ones) before timing
        fused_step()
    compile_s = time.perf_counter() - start

    def student_step():
        batch = next_batch("student")
        s_opt.zero_grad(set_to_none=True)
        out = student(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        torch.nn.functional.cross_entropy(out.logits, batch["labels"]).backward()
        s_opt.step()

    times = interleaved_medians({"baseline": baseline, "distill": distill_step, "student": student_step,
                                 "cached": cached_step, "fused": fused_step}, args.reps)
    tokens = statistics.mean(int(b["attention_mask"].sum()) for b in batches) / args.batch
    print(f"MiniLM-L6 geometry, preset {args.preset}, batch {args.batch}, max_len {args.max_len} "
          f"(mean {tokens:.1f} real tokens/row), {args.threads} threads, median of {args.reps}")
    base = args.batch / times["baseline"]
    for name, label in (("baseline", "teacher fine-tuning step"), ("distill", "distillation step"),
                        ("student", "student QAT step (no teacher)"), ("cached", "distillation, stored teacher"),
                        ("fused", "stored teacher, fused quantizers")):
        rate = args.batch / times[name]
        print(f"  {label:32s} {times[name] * 1000:8.1f} ms  {rate:7.1f} samples/s  ratio {rate / base:5.2f}x")
    print(f"  stored teacher vs live teacher: {times['distill'] / times['cached']:.2f}x samples/s")
    print(f"  stored teacher + fused quantizers vs live teacher: {times['distill'] / times['fused']:.2f}x samples/s "
          f"(one-off compile and first 3 steps: {compile_s:.0f} s)")
    if args.ablate:
        _ablations(student, distill_step, args)


def _pair(label: str, before, after, reps: int) -> None:
    times = interleaved_medians({"before": before, "after": after}, reps)
    print(f"  {label:44s} before {times['before'] * 1000:8.1f} ms  after {times['after'] * 1000:8.1f} ms  "
          f"speed-up {times['before'] / times['after']:5.2f}x")


def _ablations(student, distill_step, args) -> None:
    """Same-process before/after timings of each change (medians, interleaved)."""
    import torch.nn.functional as F

    from otters.quant import binarize_weight

    print("ablations (before = the code before the performance pass):")
    word = student.bert.embeddings.word
    ids = torch.randint(0, word.num_embeddings, (args.batch, 30))

    def whole_table():  # binarise all rows, then index (the former QuantEmbedding.forward)
        word.weight.grad = None
        F.embedding(ids, binarize_weight(word.weight, per_row=True), word.padding_idx).sum().backward()

    def gathered():
        word.weight.grad = None
        word(ids).sum().backward()

    _pair("word embedding fwd+bwd: whole table -> rows", whole_table, gathered, args.reps)
    params = [p for p in student.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    opt_old = torch.optim.AdamW(params, lr=1e-9, foreach=False)
    opt_new = torch.optim.AdamW(params, lr=1e-9, fused=True)
    _pair("AdamW step: foreach=False -> fused", opt_old.step, opt_new.step, args.reps)
    threads = torch.get_num_threads()

    def at(n):
        def run():
            torch.set_num_threads(n)
            distill_step()
        return run

    _pair(f"distillation step: 2 threads -> {threads}", at(2), at(threads), min(args.reps, 2))
    torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
