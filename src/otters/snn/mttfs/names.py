"""Which quantizers of a QNN fire as populations, by module name (what M-TTFS calibrates and configures).

Source: Matterhorn (arXiv 2601.22876): every firing population gets its own silent level; the
stored K / V operands of the spiking BERT (Otters, ICLR 2026, Sec. 3) get one too.
"""

from __future__ import annotations

from torch import nn

from otters.errors import OttersError
from otters.quant import LSQQuantizer


def population_names(model: nn.Module) -> list[str]:
    """Module names of the quantizers whose levels fire as spike trains, in firing order.

    QuantMLP: its quantizer_names(); nn.Sequential: its LSQQuantizers; the BERT student (anything
    with ``spiking_stages()``): the input quantizer of every spiking stage (the attention input feeding
    Q, K, V once; Q; the attention probabilities; O, FFN1, FFN2 and pooler inputs). K and V (stored
    operands, not spikes) and weight quantizers are not populations.
    """
    if hasattr(model, "quantizer_names"):
        return list(model.quantizer_names())
    if hasattr(model, "spiking_stages"):
        ids = {id(m): n for n, m in model.named_modules()}
        names = []
        for stage in model.spiking_stages():
            name = ids[id(stage.input_quant)]
            if name not in names:
                names.append(name)
        return names
    if isinstance(model, nn.Sequential):
        return [n for n, m in model.named_children() if isinstance(m, LSQQuantizer)]
    raise OttersError(f"cannot tell the firing populations of a {type(model).__name__}; pass the quantizer names")


def kv_names(model: nn.Module) -> list[str]:
    """Module names of the K and V quantizers (stored operands: they fire into the PE-local storage)."""
    return [n for n, _ in model.named_modules() if n.endswith((".attn.k_quant", ".attn.v_quant"))]
