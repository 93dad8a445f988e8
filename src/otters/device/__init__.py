"""otters.device: the optoelectronic synapse (bottom layer; imports nothing else from otters but errors/io).

- :mod:`otters.device.curves`: decay curves O(t) (stretched exponential, measured samples), JSON I/O.
- :mod:`otters.device.fit`: differential-evolution fit of the decay to measured samples.
- :mod:`otters.device.schedule`: fire times t_k with O(t_k) = (T - k)/T and their physical clock.
- :mod:`otters.device.variation`: drawn (perturbed) devices for robustness studies.
- :mod:`otters.device.samples`, :mod:`otters.device.plots`: CSV samples and figures.

Source: Otters (ICLR 2026, arXiv 2509.18968), Sec. 3 and Proposition 1.
"""

from otters.device.curves import (
    PAPER_CURVE,
    DecayCurve,
    SampledCurve,
    StretchedExponential,
    curve_from_dict,
    load_curve,
    save_curve,
)
from otters.device.fit import DecayFit, fit_decay, paper_samples
from otters.device.plots import plot_fit, plot_schedule
from otters.device.samples import read_samples_csv, write_samples_csv
from otters.device.schedule import check_steps, clock, coarsest_clock, fire_times
from otters.device.variation import perturb_curve

__all__ = [
    "PAPER_CURVE",
    "DecayCurve",
    "DecayFit",
    "SampledCurve",
    "StretchedExponential",
    "check_steps",
    "clock",
    "coarsest_clock",
    "curve_from_dict",
    "fire_times",
    "fit_decay",
    "load_curve",
    "paper_samples",
    "perturb_curve",
    "plot_fit",
    "plot_schedule",
    "read_samples_csv",
    "write_samples_csv",
    "save_curve",
]
