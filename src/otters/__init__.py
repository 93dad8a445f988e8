"""otters: energy-efficient spiking transformers.

Layers, from physics up (each imports only the ones below it)::

    device -> coding -> quant -> nn / models -> snn -> energy -> data / train -> cli

``otters.convert`` and ``otters.verify`` (lossless QNN->SNN conversion and its check),
``otters.quantize`` (a float MLP -> QNN), ``otters.finetune_qat`` (its quantisation-aware
fine-tuning), ``otters.predict`` (a student's answer to texts, with spikes and energy) and
``otters.OttersForSequenceClassification`` (students with the Hugging Face hub's interface) are
re-exported lazily so that ``import otters`` stays cheap.
"""

from otters.errors import OttersError

__version__ = "0.1.0"
__all__ = ["OttersError", "OttersForSequenceClassification", "convert", "finetune_qat", "predict", "quantize", "verify",
           "__version__"]


# name -> (module, attribute), imported on first use
_LAZY = {
    "convert": ("otters.snn", "convert"),
    "verify": ("otters.snn", "verify"),
    "quantize": ("otters.nn.from_float", "quantize"),
    "finetune_qat": ("otters.train.qat", "finetune_qat"),
    "predict": ("otters.studies.predict", "predict"),
    "OttersForSequenceClassification": ("otters.interop.hub", "OttersForSequenceClassification"),
}


def __getattr__(name):  # lazy re-exports: keep `import otters` free of torch start-up cost
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'otters' has no attribute {name!r}")
