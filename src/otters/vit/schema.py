"""The schema of a spiking-ViT checkpoint (``config.json`` + ``model.safetensors``), checked on load.

Before a model is built: the JSON type of every geometry field, a model whose membranes fit in memory
(``otters.limits``), per-channel input statistics; then every stored tensor's dtype and shape against
the model built on the meta device (no memory), with finite values. One line names the file and field.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from otters.errors import OttersError
from otters.limits import check_spiking_activations
from otters.vit.model import SpikingViT, ViTConfig

_POSITIVE_INTS = ("image_size", "in_channels", "num_classes", "dim", "depth", "heads", "mlp_ratio", "T", "pool_stages")


def _fail(path, field: str, message: str, what: str = "field"):
    raise OttersError(f"{path}: {what} {field!r} {message}; the checkpoint is damaged or from another program")


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_vit_meta(meta, path: str | Path) -> ViTConfig:
    """The config of a ViT ``config.json`` after checking its fields (``meta`` is its parsed object)."""
    config = meta.get("config")
    if not isinstance(config, dict):
        _fail(path, "config", f"must be an object, got {type(config).__name__}")
    for name in _POSITIVE_INTS:
        value = config.get(name)
        if name in config and not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
            _fail(path, f"config.{name}", f"must be a positive integer, got {value!r}")
    if "tau" in config and not (_finite(config["tau"]) and config["tau"] > 0):
        _fail(path, "config.tau", f"must be a finite number > 0, got {config['tau']!r}")
    for name in ("attention", "surrogate"):
        if name in config and not isinstance(config[name], str):
            _fail(path, f"config.{name}", f"must be a string, got {config[name]!r}")
    try:
        cfg = ViTConfig.from_dict(config)
    except (OttersError, TypeError) as exc:
        raise OttersError(f"{path}: {exc}") from None
    tokens = (cfg.image_size // 2**cfg.pool_stages) ** 2
    check_spiking_activations(cfg.T, 1, tokens, cfg.dim, cfg.depth, f"the ViT of {path}",
                              "its config sizes are damaged or too large for this machine")
    if not isinstance(meta.get("data"), str):
        _fail(path, "data", f"must name the data set the model was trained on, got {meta.get('data')!r}")
    for name in ("mean", "std"):
        stats = meta.get(name)
        if not (isinstance(stats, list) and len(stats) == cfg.in_channels and all(_finite(v) for v in stats)):
            _fail(path, name, f"must list {cfg.in_channels} finite per-channel value(s)")
    if any(v <= 0 for v in meta["std"]):
        _fail(path, "std", "must be positive (inputs are divided by it)")
    return cfg


def check_vit_tensors(cfg: ViTConfig, tensors: dict, path: str | Path) -> None:
    """Every stored tensor has the dtype and shape of the config's model (built on the meta device) and
    finite values; missing and unexpected names are left to the loader's own message."""
    with torch.device("meta"):
        expected = SpikingViT(cfg).state_dict()
    for name, tensor in tensors.items():
        if name not in expected:
            continue
        want = expected[name]
        if tensor.dtype != want.dtype or tensor.shape != want.shape:
            _fail(path, name, f"is {str(tensor.dtype).removeprefix('torch.')} {list(tensor.shape)} but the config "
                              f"needs {str(want.dtype).removeprefix('torch.')} {list(want.shape)}", "tensor")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            _fail(path, name, "holds NaN or infinite values", "tensor")
