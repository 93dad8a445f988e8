"""otters: energy-efficient spiking transformers.

Layers, from physics up (each imports only the ones below it)::

    device -> coding -> quant -> nn / models -> snn -> energy -> data / train -> cli

``otters.convert`` and ``otters.verify`` (lossless QNN->SNN conversion and its check) are
re-exported lazily so that ``import otters`` stays cheap.
"""

from otters.errors import OttersError

__version__ = "0.1.0"
__all__ = ["OttersError", "convert", "verify", "__version__"]


def __getattr__(name):  # lazy re-exports: keep `import otters` free of torch start-up cost
    if name in ("convert", "verify"):
        from otters import snn

        return getattr(snn, name)
    raise AttributeError(f"module 'otters' has no attribute {name!r}")
