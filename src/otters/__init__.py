"""otters: energy-efficient spiking transformers.

Layers, from physics up (each imports only the ones below it)::

    device -> coding -> quant -> nn / models -> snn -> energy -> data / train -> cli

``otters.convert`` and ``otters.verify`` (lossless QNN->SNN conversion and its check),
``otters.quantize`` (a float MLP -> QNN) and ``otters.finetune_qat`` (its quantisation-aware
fine-tuning) are re-exported lazily so that ``import otters`` stays cheap.
"""

from otters.errors import OttersError

__version__ = "0.1.0"
__all__ = ["OttersError", "convert", "finetune_qat", "quantize", "verify", "__version__"]


def __getattr__(name):  # lazy re-exports: keep `import otters` free of torch start-up cost
    if name in ("convert", "verify"):
        from otters import snn

        return getattr(snn, name)
    if name == "quantize":
        from otters.nn.from_float import quantize

        return quantize
    if name == "finetune_qat":
        from otters.train.qat import finetune_qat

        return finetune_qat
    raise AttributeError(f"module 'otters' has no attribute {name!r}")
