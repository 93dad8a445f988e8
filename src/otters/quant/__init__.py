"""otters.quant: 1-bit weights, learned-step activation quantizers, HAT noise, shared integer arithmetic.

Rounding is ``round_half_up`` (floor(x + 1/2)) everywhere, never ``torch.round`` (half to even).
"""

from otters.quant.arith import exact_accumulate, linear_from_levels, potential_from_accumulator
from otters.quant.binary import binarize_weight, binary_weight_codes
from otters.quant.lsq import LSQQuantizer, quant_range
from otters.quant.noise import GaussianActivationNoise
from otters.quant.rounding import hard_sign, round_half_up, round_half_up_ste, sign_ste

__all__ = [
    "GaussianActivationNoise",
    "LSQQuantizer",
    "binarize_weight",
    "binary_weight_codes",
    "exact_accumulate",
    "hard_sign",
    "linear_from_levels",
    "potential_from_accumulator",
    "quant_range",
    "round_half_up",
    "round_half_up_ste",
    "sign_ste",
]
