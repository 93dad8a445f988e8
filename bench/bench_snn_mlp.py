"""Benchmark: the event-driven SNN simulator against the QNN forward, same inputs, same process.

A 4-layer, 1024-wide binary-weight MLP, 4-bit activations (T = 15), batch 256, on the paper's
device curve. Prints median wall times and ratios (target: event / QNN <= 2x), and the tick
reference's ratio with fewer repetitions. Also checks that all three agree exactly.

    python bench/bench_snn_mlp.py [--width 1024] [--depth 4] [--batch 256] [--bits 4] [--reps 20]
"""

from __future__ import annotations

import argparse

import torch

from measure import interleaved_medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--bits", type=int, default=4)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--tick-reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from otters import convert, verify
    from otters.nn.qmlp import QuantMLPConfig, random_qmlp
    from otters.quant import linear_from_levels

    config = QuantMLPConfig(sizes=[args.width] * (args.depth + 1), act_bits=args.bits, signed_input=False)
    x = torch.randn(args.batch, args.width, generator=torch.Generator().manual_seed(0))
    qnn = random_qmlp(config, x, seed=0)
    snn = convert(qnn)

    # Baseline 1: the QNN's inference forward exactly as implemented (weight codes derived per call).
    def qnn_forward():
        return qnn.integer_forward(x)

    # Baseline 2: the same integer forward with the weight codes precomputed (the fastest QNN here).
    cached = [layer.weight_codes() for layer in qnn.layers]
    alphas = [qnn.input_quant.alpha.detach()] + [q.alpha.detach() for q in qnn.quants]

    def qnn_cached():
        levels = qnn.input_quant.levels(x)
        for i, layer in enumerate(qnn.layers):
            v = linear_from_levels(levels, cached[i][0], cached[i][1], alphas[i], layer.bias.detach())
            levels = qnn.quants[i].levels(v)
        return levels

    def event():
        return snn.run(x, simulator="event")

    def tick():
        return snn.run(x, simulator="tick")

    check = verify(qnn, snn, x, simulator="event")
    fast = interleaved_medians({"qnn": qnn_forward, "cached": qnn_cached, "event": event}, args.reps)
    t_qnn, t_cached, t_event = fast["qnn"], fast["cached"], fast["event"]
    slow = interleaved_medians({"qnn": qnn_forward, "tick": tick}, args.tick_reps)
    check_tick = verify(qnn, snn, x, simulator="tick")
    ticks = int(snn.tables().ticks(2**args.bits - 1)[0][-1]) + 1

    print(f"MLP {args.depth} x {args.width}, batch {args.batch}, T = {2**args.bits - 1}, threads {args.threads}")
    print(f"exact: event {check.exact}, tick {check_tick.exact}; max spikes/neuron {check.max_spikes_per_neuron}")
    print(f"QNN integer forward (as implemented): {t_qnn * 1e3:8.2f} ms")
    print(f"QNN integer forward (cached codes):   {t_cached * 1e3:8.2f} ms")
    print(f"SNN event-driven:                     {t_event * 1e3:8.2f} ms")
    print(f"SNN tick reference ({ticks} ticks/window): {slow['tick'] * 1e3:8.2f} ms")
    print(f"ratio event / QNN:          {t_event / t_qnn:6.2f}x  (target <= 2x)")
    print(f"ratio event / QNN (cached): {t_event / t_cached:6.2f}x")
    print(f"ratio tick / QNN:           {slow['tick'] / slow['qnn']:6.2f}x  ({args.tick_reps} interleaved reps)")


if __name__ == "__main__":
    main()
