"""Benchmark: one trained QNN run as otters' TTFS SNN beside SpikingJelly's ann2snn and snnTorch, in one process.

The network: a float MLP (64-128-128-10, ReLU) trained on scikit-learn's digits, turned into an otters
QNN by ``otters.quantize`` (4-bit activations, 4-bit weights, calibrated steps) and ``otters.finetune_qat``.
The three spiking versions of that one QNN:

- **otters**: ``otters.convert`` (Otters, ICLR 2026, Proposition 1): one spike per neuron at most, a window
  of T = 2^4 - 1 = 15 steps per layer, simulated event-driven (``SpikingNetwork.run``); its outputs are
  the QNN's bit for bit (checked here with ``otters.verify``).
- **SpikingJelly 2.0 ann2snn** (``RateCodingRecipe``, mode "max": data-based threshold balancing,
  Diehl et al. 2015): the float ReLU network with the QNN's dequantized weights (W = codes x scale) and
  the QNN's dequantized input, IF neurons with soft reset, simulated step by step for T = 8 ... 256.
- **snnTorch** (``snn.Leaky(beta=1)`` = IF with subtractive reset): snnTorch has no converter, so the same
  weights are wired by hand with the same max-activation thresholds (the comparable path a snnTorch user
  would write), simulated for the same T.

Printed: accuracy vs T, spikes per inference, synaptic operations per inference (spikes x fan-out: one
accumulate each; peers also take the analog input as a current every step, counted as input MACs), wall
time per batch of 256 (median of interleaved repetitions, CPU), and ratios against otters.

    python bench/bench_peers.py [--T 8,16,32,64,128,256] [--reps 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import nn

from measure import interleaved_medians


def digits(seed: int = 0):
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return x[order[360:]], y[order[360:]], x[order[:360]], y[order[:360]]


def train_float(x, y, hidden: int, steps: int = 300):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return model.eval()


def float_twin(qnn) -> nn.Sequential:
    """The float ReLU network with the QNN's dequantized weights (what a rate-coding converter takes)."""
    layers = []
    for i, layer in enumerate(qnn.layers):
        codes, scale = layer.weight_codes()
        linear = nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            linear.weight.copy_(codes.to(torch.float32) * scale)
            linear.bias.copy_(layer.bias.detach())
        layers += [linear] + ([nn.ReLU()] if i < len(qnn.layers) - 1 else [])
    return nn.Sequential(*layers).eval()


def accuracy(logits, y) -> float:
    return float((logits.argmax(-1) == y).float().mean())


class Counter:
    """Forward hooks that sum the spikes each spiking layer emits."""

    def __init__(self, modules):
        self.total = torch.zeros(len(modules))
        for i, m in enumerate(modules):
            m.register_forward_hook(lambda mod, inp, out, i=i: self.total.__setitem__(i, self.total[i] + out.sum()))


def sj_model(ann, calib):
    from spikingjelly.activation_based import ann2snn, neuron

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(calib, torch.zeros(len(calib))), batch_size=128)
    snn = ann2snn.Converter(recipe=ann2snn.RateCodingRecipe(dataloader=loader, mode="max")).convert(ann)
    ifs = [m for m in snn.modules() if isinstance(m, neuron.IFNode)]
    return snn.eval(), ifs


def sj_run(snn, x, T: int):
    from spikingjelly.activation_based import functional

    functional.reset_net(snn)
    out = 0
    for _ in range(T):
        out = out + snn(x)
    return out


def snntorch_model(ann, calib):
    """(linears, Leaky neurons) with thresholds = max ReLU activation on the calibration data."""
    import snntorch as snt

    linears = [m for m in ann if isinstance(m, nn.Linear)]
    thresholds, h = [], calib
    with torch.no_grad():
        for lin in linears[:-1]:
            h = torch.relu(lin(h))
            thresholds.append(float(h.max()))
    neurons = [snt.Leaky(beta=1.0, threshold=th, reset_mechanism="subtract") for th in thresholds]
    return linears, neurons, thresholds


def snntorch_run(model, x, T: int, spikes: list | None = None):
    linears, neurons, thresholds = model
    mems = [n.init_leaky() for n in neurons]
    out = 0
    with torch.no_grad():
        for _ in range(T):
            h = x
            for i, (lin, neu) in enumerate(zip(linears[:-1], neurons)):
                spk, mems[i] = neu(lin(h), mems[i])
                if spikes is not None:
                    spikes[i] += float(spk.sum())
                h = spk * thresholds[i]  # a spike carries the layer's threshold (data-based normalisation)
            out = out + linears[-1](h)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", default="8,16,32,64,128,256")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    steps_list = [int(t) for t in args.T.split(",")]

    import otters

    xtr, ytr, xte, yte = digits()
    ann = train_float(xtr, ytr, args.hidden)
    qnn = otters.quantize(ann, xtr[:512], act_bits=4, weight_bits=4)
    ptq = accuracy(qnn(xte), yte)
    qat = otters.finetune_qat(qnn, (xtr, ytr), epochs=8, seed=0)
    snn = otters.convert(qnn)
    exact = otters.verify(qnn, snn, xte).exact
    x_hat = qnn.input_quant.levels(xte).float() * qnn.input_quant.alpha.detach()  # the QNN's own input
    x_cal = qnn.input_quant.levels(xtr[:512]).float() * qnn.input_quant.alpha.detach()
    twin = float_twin(qnn)
    batch, n = x_hat[: args.batch], len(xte)

    # otters: one event-driven run over the test set
    result = snn.run(xte)
    o_acc = accuracy(result.output, yte)
    o_spikes = sum(int((r.steps < r.T).sum()) for r in result.records if r.steps is not None) / n
    o_ops = sum(t.synaptic_events for t in result.traces) / n
    T_otters = snn.encoder.T
    print(f"digits: float MLP {accuracy(ann(xte), yte):.4f}, QNN after otters.quantize {ptq:.4f}, after "
          f"finetune_qat ({qat.steps} steps) {accuracy(qnn(xte), yte):.4f}, float ReLU twin of the QNN "
          f"{accuracy(twin(x_hat), yte):.4f}; otters SNN exact: {exact}")

    sj, sj_ifs = sj_model(twin, x_cal)
    st = snntorch_model(twin, x_cal)
    fan_out = [m.out_features for m in twin if isinstance(m, nn.Linear)][1:]
    nonzero_inputs = float((x_hat != 0).sum()) / n

    def input_macs(T: int) -> float:  # a rate-coded input layer multiplies each nonzero input once per step
        return T * nonzero_inputs * twin[0].out_features

    rows = [("otters TTFS, event-driven", f"{T_otters} x {len(snn.stages) + 1} windows", o_acc, o_spikes, o_ops, 0.0)]
    timers = {"otters": lambda: snn.run(xte[: args.batch])}
    torch.set_grad_enabled(False)  # inference only from here on
    for T in steps_list:
        counter = Counter(sj_ifs)
        acc = accuracy(sj_run(sj, x_hat, T), yte)
        spikes = [float(s) / n for s in counter.total]
        rows.append(("SpikingJelly ann2snn (max)", T, acc, sum(spikes), sum(s * f for s, f in zip(spikes, fan_out)),
                     input_macs(T)))
        timers[f"sj{T}"] = lambda T=T: sj_run(sj, batch, T)
        counts = [0.0] * len(st[1])
        acc = accuracy(snntorch_run(st, x_hat, T, counts), yte)
        spikes = [c / n for c in counts]
        rows.append(("snnTorch Leaky(beta=1), hand-wired", T, acc, sum(spikes),
                     sum(s * f for s, f in zip(spikes, fan_out)), input_macs(T)))
        timers[f"st{T}"] = lambda T=T: snntorch_run(st, batch, T)
    times = interleaved_medians(timers, args.reps)
    keys = ["otters"] + [k for T in steps_list for k in (f"sj{T}", f"st{T}")]
    base_t, base_s, base_o = times["otters"], rows[0][3], rows[0][4]
    print(f"\n{'system':36} {'T':>16} {'acc':>7} {'spikes/inf':>11} {'syn ops/inf':>12} {'input MACs':>11} "
          f"{'ms/batch':>9} {'x time':>7} {'x spikes':>8} {'x ops':>6}")
    for key, (name, T, acc, spikes, ops, macs) in zip(keys, rows):
        ms = 1000 * times[key]
        print(f"{name:36} {T!s:>16} {acc:7.4f} {spikes:11.0f} {ops:12.0f} {macs:11.0f} {ms:9.2f} "
              f"{times[key] / base_t:7.2f} {spikes / base_s:8.2f} {ops / base_o if base_o else math.nan:6.2f}")
    print("\notters' spikes include its input encoding (the peers take the input as an analog current every step: "
          "the input MACs column); otters' wall time is its event-driven simulation of all windows.")
    print(f"batch {args.batch} of {n} test rows, {args.threads} thread(s), median of {args.reps} interleaved repetitions; "
          "ratios are against otters (x time = wall time / otters' wall time).")


if __name__ == "__main__":
    main()
