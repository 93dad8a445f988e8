"""The schema of a packed student checkpoint (``otters.json`` + ``student.safetensors``), checked on load.

Everything a loader would otherwise trust is checked before a model is built: the JSON types of
every config field, a known preset (or a staged ``<preset>@<stage>``) whose quantization fields
agree with the config, a named geometry's sizes, a model that fits in memory, and then every tensor's
dtype and shape against the model the config describes, with finite values, non-negative weight scales and positive quantizer steps. A
failure is one line naming the file and the field (``otters.models.packing`` documents the layout).
"""

from __future__ import annotations

import math
import os
from dataclasses import fields
from pathlib import Path

import torch

from otters.errors import OttersError
from otters.limits import check_memory
from otters.models.config import QBertConfig
from otters.models.presets import GEOMETRIES, PRESETS

_INT_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
               "max_position_embeddings", "type_vocab_size", "pad_token_id", "weight_bits", "bspn_warmup",
               "num_labels")
_OPTIONAL_INT_FIELDS = ("act_bits", "kv_bits", "bspn_groups")
_FLOAT_FIELDS = ("layer_norm_eps", "hidden_dropout_prob", "attention_probs_dropout_prob", "hat_noise")
_BOOL_FIELDS = ("binary_embeddings", "pow2_init")
_STR_FIELDS = ("hidden_act", "pooler_act", "softmax", "norm", "problem_type", "preset", "geometry")


def _fail(path, field: str, message: str, what: str = "field"):
    raise OttersError(f"{path}: {what} {field!r} {message}; the checkpoint is damaged or from another program")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_student_meta(meta, path: str | os.PathLike) -> QBertConfig:
    """The config of an ``otters.json`` after checking its fields; OttersError names the field."""
    if not isinstance(meta, dict):
        raise OttersError(f"{path}: the top level must be a JSON object, got {type(meta).__name__}; "
                          "the checkpoint is damaged or from another program")
    config = meta.get("config")
    if not isinstance(config, dict):
        _fail(path, "config", f"must be an object, got {type(config).__name__}")
    known = {f.name for f in fields(QBertConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        _fail(path, f"config.{unknown[0]}", "is not a model setting of this otters version")
    for name, value in config.items():
        where = f"config.{name}"
        if name in _INT_FIELDS and not _is_int(value):
            _fail(path, where, f"must be an integer, got {value!r}")
        if name in _OPTIONAL_INT_FIELDS and value is not None and not _is_int(value):
            _fail(path, where, f"must be an integer or null, got {value!r}")
        if name in _FLOAT_FIELDS and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                          and math.isfinite(value) and value >= 0):
            _fail(path, where, f"must be a finite number >= 0, got {value!r}")
        if name in _BOOL_FIELDS and not isinstance(value, bool):
            _fail(path, where, f"must be true or false, got {value!r}")
        if name in _STR_FIELDS and not isinstance(value, str):
            _fail(path, where, f"must be a string, got {value!r}")
    _check_preset(config, path)
    _check_geometry(config, path)
    _check_size(config, path)
    try:
        cfg = QBertConfig.from_dict(config)
    except OttersError as exc:
        raise OttersError(f"{path}: {exc}") from None
    storage = meta.get("storage")
    if storage is not None and not (isinstance(storage, dict) and isinstance(storage.get("parts"), dict) and all(
            isinstance(storage.get(k), (int, float)) and not isinstance(storage.get(k), bool)
            for k in ("storage_bytes", "storage_mb"))):
        _fail(path, "storage", "must be an object with storage_bytes, storage_mb and parts")
    binary = meta.get("binary_weights")
    if not isinstance(binary, dict) or not all(
            isinstance(s, list) and len(s) == 2 and all(_is_int(d) and d > 0 for d in s) for s in binary.values()):
        _fail(path, "binary_weights", "must map layer names to [rows, cols]")
    return cfg


def _check_preset(config: dict, path) -> None:
    preset = config.get("preset", "custom")
    base, _, stage = preset.partition("@")
    if preset != "custom" and base not in PRESETS:
        _fail(path, "config.preset", f"names an unknown preset {preset!r} (known: {', '.join(PRESETS)}, custom)")
    if preset in PRESETS:
        for name, value in PRESETS[preset].items():
            if name in config and config[name] != value:
                _fail(path, f"config.{name}", f"is {config[name]!r} but preset {preset!r} has {value!r}")


def _check_geometry(config: dict, path) -> None:
    geometry = config.get("geometry", "custom")
    for name, value in GEOMETRIES.get(geometry, {}).items():
        if name in config and config[name] != value:
            _fail(path, f"config.{name}", f"is {config[name]!r} but geometry {geometry!r} has {value!r}")


def _check_size(config: dict, path) -> None:
    """A lower bound of the model's float32 parameters must fit in memory (a hostile size is refused)."""
    h = config.get("hidden_size", 768)
    tables = (config.get("vocab_size", 0) + config.get("max_position_embeddings", 0)) * h
    layers = config.get("num_hidden_layers", 0) * (4 * h * h + 2 * h * config.get("intermediate_size", 0))
    check_memory(4.0 * (tables + layers), f"the model of {path}", "the config sizes are damaged or too large")


def check_student_tensors(tensors: dict, layout: dict, state_shapes: dict, binary_expected: dict,
                          binary_shapes: dict, path) -> None:
    """Every stored tensor has the dtype and shape the config's model expects, finite values and valid
    scales. ``layout`` is the packed layout, ``state_shapes`` the state-dict shapes and ``binary_expected``
    the binary weights' shapes of the config's model built on the meta device (shapes only, no memory),
    so a damaged file is refused before any real allocation."""
    path = Path(path)
    for prefix, shape in binary_expected.items():
        if list(binary_shapes.get(prefix, [])) != list(shape):
            _fail(path.with_name("otters.json"), f"binary_weights.{prefix}",
                  f"is {binary_shapes.get(prefix)} but the config gives {list(shape)}")
    for name, tensor in tensors.items():
        if name.startswith("latent."):
            owner = name[len("latent."):]
            expected = {"dtype": "float32", "shape": list(state_shapes[owner])} if owner in state_shapes else None
        else:
            expected = layout.get(name)
        if expected is None:
            continue  # reported with the list of unexpected keys by the loader
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype != expected["dtype"] or list(tensor.shape) != list(expected["shape"]):
            _fail(path, name, f"is {dtype} {list(tensor.shape)} but the config needs {expected['dtype']} "
                              f"{list(expected['shape'])}", "tensor")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            _fail(path, name, "holds NaN or infinite values", "tensor")
        if name.endswith(".weight.scale") and bool((tensor < 0).any()):
            _fail(path, name, "holds a negative scale (a binary weight's scale is its mean magnitude)", "tensor")
        if name.endswith(".alpha") and bool((tensor <= 0).any()):
            _fail(path, name, "holds a quantizer step <= 0 (steps are positive)", "tensor")
