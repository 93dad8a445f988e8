"""Multi-step spiking neurons: binary {0, 1}, ternary {-1, 0, 1} and ReLU (graded, >= 0).

Norse style: each neuron is a pure function over a whole input sequence ``x_seq`` of shape
``(T, ...)`` (time first), plus a thin ``nn.Module`` wrapper holding its constants. All three share
the leaky integrate / fire / reset cycle of SpikingJelly's multi-step LIF node (``decay_input=True``,
hard reset, detached reset), the neuron Spikformer and the Spike-driven Transformer use:

    charge:  H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau
    fire:    S[t] = f(H[t])                      (f depends on the neuron)
    reset:   V[t] = H[t] * (1 - |S[t]|>0) + V_reset * (|S[t]|>0)   (hard reset)

with tau = 2, V_th = 1, V_reset = 0 by default (Spikformer, ICLR 2023; A2OS2A, CVPR 2025).
The spike non-linearity has a surrogate gradient in the backward pass: the derivative of a sigmoid
``alpha * sig(alpha x) * (1 - sig(alpha x))`` (SpikingJelly ``surrogate.Sigmoid``, alpha = 4), or a
straight-through rectangle (gradient 1 for |x| < 1/2), the STE the A2OS2A paper names.
"""

from __future__ import annotations

import torch
from torch import nn

from otters.errors import OttersError

SURROGATES = ("sigmoid", "rectangle")


class _Heaviside(torch.autograd.Function):
    """Forward: Theta(x) = 1[x >= 0]. Backward: the chosen surrogate derivative (:func:`heaviside`)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: str, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate, ctx.alpha = surrogate, alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        if ctx.surrogate == "sigmoid":
            sig = torch.sigmoid(ctx.alpha * x)
            return grad_out * ctx.alpha * sig * (1.0 - sig), None, None
        return grad_out * (x.abs() < 0.5).to(grad_out.dtype), None, None


def _check_surrogate(surrogate: str) -> None:
    if surrogate not in SURROGATES:
        raise OttersError(f"unknown surrogate {surrogate!r}; choose one of {', '.join(SURROGATES)}")


def heaviside(x: torch.Tensor, surrogate: str = "sigmoid", alpha: float = 4.0) -> torch.Tensor:
    """Spike function Theta(x) = 1[x >= 0] with a surrogate gradient.

    ``surrogate="sigmoid"``: dTheta/dx := alpha * s * (1 - s), s = sigmoid(alpha x) (Spikformer's
    SpikingJelly default, alpha = 4). ``surrogate="rectangle"``: dTheta/dx := 1[|x| < 1/2], the
    straight-through estimator of A2OS2A (CVPR 2025, "Loss & Training").
    """
    _check_surrogate(surrogate)
    return _Heaviside.apply(x, surrogate, float(alpha))


def _check(x_seq: torch.Tensor, tau: float) -> None:
    if x_seq.dim() < 1 or x_seq.shape[0] < 1:
        raise OttersError("a spiking neuron needs an input of shape (T, ...) with T >= 1")
    if not tau >= 1.0:
        raise OttersError(f"membrane time constant tau must be >= 1 (got {tau}); tau = 2 is the usual")


def _multistep(x_seq, kind, tau, v_th, v_reset, surrogate, alpha):
    """The shared integrate / fire / reset loop over the first (time) axis; autograd does the
    backward-through-time (a fused hand-written backward measured no faster on CPU)."""
    _check(x_seq, tau)
    _check_surrogate(surrogate)
    v = torch.full_like(x_seq[0], v_reset)
    outputs = []
    for x in x_seq:
        h = v + (x - (v - v_reset)) / tau
        if kind == "relu":
            s = torch.relu(h - v_reset)
            v = h - s.detach()
        else:
            s = heaviside(h - v_th, surrogate, alpha)
            if kind == "ternary":
                s = s - heaviside(-h - v_th, surrogate, alpha)
            # hard reset, reset path detached (SpikingJelly detach_reset=True): V = H * keep + V_reset (1 - keep),
            # keep = 1 - |S| in {0, 1}. Same values as masked_fill (up to the sign of a zero), but a product's
            # backward is ~10x cheaper than masked_fill's on CPU (3.6 vs 43 ms for 3.2 M elements, 1 thread).
            keep = 1.0 - (s.detach() if kind == "binary" else s.detach().abs())
            v = h * keep if v_reset == 0.0 else h * keep + v_reset * (1.0 - keep)
        outputs.append(s)
    return torch.stack(outputs)


def lif_multistep(
    x_seq: torch.Tensor,
    tau: float = 2.0,
    v_th: float = 1.0,
    v_reset: float = 0.0,
    surrogate: str = "sigmoid",
    alpha: float = 4.0,
) -> torch.Tensor:
    """Binary leaky integrate-and-fire neuron over T steps; returns spikes in {0, 1}, shape of x_seq.

    H[t] = V[t-1] + (X[t] - (V[t-1] - V_reset)) / tau;  S[t] = Theta(H[t] - V_th);
    V[t] = H[t] (1 - S[t]) + V_reset S[t]  (hard reset, reset path detached), V[-1] = V_reset.
    Source: Spikformer (ICLR 2023) / Spike-driven Transformer (NeurIPS 2023) LIF, tau = 2, V_th = 1.
    """
    return _multistep(x_seq, "binary", tau, v_th, v_reset, surrogate, alpha)


def ternary_multistep(
    x_seq: torch.Tensor,
    tau: float = 2.0,
    v_th: float = 1.0,
    v_reset: float = 0.0,
    surrogate: str = "sigmoid",
    alpha: float = 4.0,
) -> torch.Tensor:
    """Ternary LIF neuron over T steps; returns spikes in {-1, 0, +1}.

    H[t] as the binary LIF; S[t] = Theta(H[t] - V_th) - Theta(-H[t] - V_th) (a positive spike at or
    above +V_th, a negative one at or below -V_th); V[t] = H[t] (1 - |S[t]|) + V_reset |S[t]|.
    Surrogate: dS/dH = g(H - V_th) + g(-H - V_th) with g the surrogate derivative.
    Source: A2OS2A ternary spiking neuron for Q and K (CVPR 2025, "Hybrid Spiking Neuron Strategy").
    """
    return _multistep(x_seq, "ternary", tau, v_th, v_reset, surrogate, alpha)


def relu_multistep(x_seq: torch.Tensor, tau: float = 2.0, v_reset: float = 0.0) -> torch.Tensor:
    """ReLU (graded) spiking neuron over T steps; returns non-negative real outputs.

    H[t] as the binary LIF; S[t] = max(H[t] - V_reset, 0) (the neuron emits its whole positive
    potential as one graded spike); V[t] = H[t] - S[t] (what was emitted is removed: a hard reset to
    V_reset after an emission, a negative potential is kept). Gradient: the exact ReLU derivative.
    Source: A2OS2A ReLU spiking neuron (CVPR 2025; non-negative, real-valued).
    """
    return _multistep(x_seq, "relu", tau, 0.0, v_reset, "sigmoid", 4.0)


class LIF(nn.Module):
    """Binary LIF neuron module: ``forward(x_seq) = lif_multistep(x_seq, ...)`` (spikes in {0, 1})."""

    kind = "binary"

    def __init__(self, tau: float = 2.0, v_th: float = 1.0, v_reset: float = 0.0,
                 surrogate: str = "sigmoid", alpha: float = 4.0):
        super().__init__()
        _check_surrogate(surrogate)
        self.tau, self.v_th, self.v_reset, self.surrogate, self.alpha = tau, v_th, v_reset, surrogate, alpha

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return _multistep(x_seq, self.kind, self.tau, self.v_th, self.v_reset, self.surrogate, self.alpha)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, v_th={self.v_th}, surrogate={self.surrogate}"


class TernaryLIF(LIF):
    """Ternary LIF neuron module: ``forward(x_seq) = ternary_multistep(x_seq, ...)`` ({-1, 0, 1})."""

    kind = "ternary"


class ReLUNeuron(nn.Module):
    """ReLU spiking neuron module: ``forward(x_seq) = relu_multistep(x_seq, tau)`` (values >= 0)."""

    kind = "relu"

    def __init__(self, tau: float = 2.0, v_reset: float = 0.0):
        super().__init__()
        self.tau, self.v_reset = tau, v_reset

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return relu_multistep(x_seq, self.tau, self.v_reset)

    def extra_repr(self) -> str:
        return f"tau={self.tau}"


class Identity(nn.Module):
    """No neuron: the real-valued input passes through (the ANN attention baseline)."""

    kind = "real"

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return x_seq


NEURONS = {"binary": LIF, "ternary": TernaryLIF, "relu": ReLUNeuron, "real": Identity}


def make_neuron(kind: str, **kwargs) -> nn.Module:
    """A neuron module by kind: binary (LIF), ternary, relu or real (identity)."""
    if kind not in NEURONS:
        raise OttersError(f"unknown neuron kind {kind!r}; choose one of {', '.join(NEURONS)}")
    return NEURONS[kind](**kwargs)
