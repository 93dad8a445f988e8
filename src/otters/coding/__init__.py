"""otters.coding: time coding on top of the device (plain TTFS here; M-TTFS lives in coding/mttfs.py).

Source: Otters (ICLR 2026, arXiv 2509.18968), Proposition 1.
"""

from otters.coding.adc import adc_codes, adc_convert, adc_levels, adc_resolution, adc_scale, psp
from otters.coding.ttfs import stepped_threshold, threshold_at, ttfs_decode, ttfs_encode

__all__ = ["adc_codes", "adc_convert", "adc_levels", "adc_resolution", "adc_scale", "psp", "stepped_threshold", "threshold_at", "ttfs_decode", "ttfs_encode"]
