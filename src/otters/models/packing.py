"""Packed student checkpoints: 1-bit weights stored as bits, the rest as float32.

Directory layout: ``otters.json`` (format, version, model config, packed layout) and
``student.safetensors``. A binary weight W (codes c in {-1, +1}, scale s) is stored as
``<name>.weight.bits`` (uint8, np.packbits of c > 0, row-major) and ``<name>.weight.scale`` (float32:
one per matrix, one per row for embedding tables). Everything else -- biases, norm parameters and
BSPN running statistics, token-type embeddings, LSQ step sizes, the classifier -- is float32
(integers and flags keep their dtype). Loading freezes every binary layer to the stored codes, so the
reloaded model's inference forward equals the saved one's bit for bit. Optionally (``latent=True``) the
full-precision latent weights are kept too, to resume quantization-aware training.

Sizes are reported in MB = 2^20 bytes: the convention under which fp32 BERT-base is 418 MB (the
Otters / BiT tables' "size" column).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from otters.errors import OttersError
from otters.io import atomic_write_json, load_tensors, read_json, save_tensors
from otters.models.checkpoint_schema import check_student_meta, check_student_tensors
from otters.models.qbert import QBertForSequenceClassification
from otters.nn.qlinear import QuantEmbedding, QuantLinear

FORMAT, VERSION = "otters-student", 1
CONFIG_FILE, TENSORS_FILE = "otters.json", "student.safetensors"
MB = 2**20


def binary_modules(model) -> dict:
    """{state-dict prefix: module} of every binarised layer (QuantLinear / QuantEmbedding, binary=True)."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, (QuantLinear, QuantEmbedding)) and m.binary}


def pack_bits(codes: torch.Tensor) -> torch.Tensor:
    """int8 codes in {-1, +1} -> uint8 bytes, 8 codes per byte (np.packbits of c > 0, big-endian bits)."""
    return torch.from_numpy(np.packbits(codes.reshape(-1).numpy() > 0))


def unpack_bits(bits: torch.Tensor, shape) -> torch.Tensor:
    """Inverse of :func:`pack_bits`: uint8 bytes -> int8 codes in {-1, +1} of the given shape."""
    count = math.prod(shape)
    flat = np.unpackbits(bits.numpy(), count=count).astype(np.int8) * 2 - 1
    return torch.from_numpy(flat).reshape(tuple(shape))


def _skip_keys(prefix: str) -> tuple[str, ...]:
    return (f"{prefix}.weight", f"{prefix}.frozen_codes", f"{prefix}.frozen_scale")


def packed_layout(model) -> dict[str, dict]:
    """{tensor name: {"dtype", "shape", "nbytes"}} of the packed checkpoint of ``model``.

    Works from shapes only, so it also sizes a model built on the meta device.
    """
    binaries = binary_modules(model)
    skip = {k for prefix in binaries for k in _skip_keys(prefix)}
    layout = {}
    for prefix, module in binaries.items():
        rows, cols = module.weight.shape
        layout[f"{prefix}.weight.bits"] = dict(dtype="uint8", shape=[math.ceil(rows * cols / 8)],
                                               nbytes=math.ceil(rows * cols / 8))
        scale_shape = [rows, 1] if module.per_row else []
        layout[f"{prefix}.weight.scale"] = dict(dtype="float32", shape=scale_shape, nbytes=4 * math.prod(scale_shape))
    for name, tensor in model.state_dict().items():
        if name in skip:
            continue
        dtype = torch.float32 if tensor.is_floating_point() else tensor.dtype
        layout[name] = dict(dtype=str(dtype).removeprefix("torch."), shape=list(tensor.shape),
                            nbytes=tensor.numel() * torch.empty((), dtype=dtype).element_size())
    return layout


def _part_of(name: str) -> str:
    """Which storage part a packed tensor belongs to (for the size breakdown)."""
    if name.startswith("latent."):
        return "latent_fp32_weights"
    if name.startswith("bert.embeddings."):
        return "embeddings"
    if name.startswith("bert.pooler"):
        return "pooler"
    if name.startswith("classifier."):
        return "classifier"
    if name.endswith((".alpha", ".initialized")):
        return "quantizer_steps"
    if name.endswith((".weight.bits", ".weight.scale")):
        return "encoder_binary_weights"
    if "_norm." in name:
        return "encoder_norms"
    if name.endswith(".bias"):
        return "encoder_biases"
    return "encoder_fp_weights"


def storage_report(model, layout: dict | None = None) -> dict:
    """{"parameters", "storage_bytes", "storage_mb", "fp32_mb", "parts": {part: {"tensors", "bytes", "mb"}}}.

    parameters = trainable scalars of the model (latent weights, biases, norms, steps, head);
    storage = bytes of the packed checkpoint's tensors (headers excluded), MB = 2^20 bytes.
    """
    layout = packed_layout(model) if layout is None else layout
    parts: dict[str, dict] = {}
    for name, entry in layout.items():
        part = parts.setdefault(_part_of(name), {"tensors": 0, "bytes": 0})
        part["tensors"] += 1
        part["bytes"] += entry["nbytes"]
    for part in parts.values():
        part["mb"] = part["bytes"] / MB
    parameters = sum(p.numel() for p in model.parameters())
    total = sum(p["bytes"] for p in parts.values())
    return {"parameters": parameters, "storage_bytes": total, "storage_mb": total / MB,
            "fp32_mb": parameters * 4 / MB, "parts": dict(sorted(parts.items()))}


def save_student(model, directory, latent: bool = False) -> Path:
    """Write ``model`` as a packed checkpoint directory (otters.json + student.safetensors), atomically per file."""
    directory = Path(directory)
    binaries = binary_modules(model)
    skip = {k for prefix in binaries for k in _skip_keys(prefix)}
    tensors = {}
    for prefix, module in binaries.items():
        codes, scale = module.weight_codes()
        tensors[f"{prefix}.weight.bits"] = pack_bits(codes.cpu())
        tensors[f"{prefix}.weight.scale"] = scale.detach().cpu().to(torch.float32)
        if latent:
            tensors[f"latent.{prefix}.weight"] = module.weight.detach().cpu().to(torch.float32)
    for name, tensor in model.state_dict().items():
        if name not in skip:
            tensors[name] = tensor.detach().cpu().to(torch.float32) if tensor.is_floating_point() else tensor.cpu()
    layout = {name: {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                     "nbytes": t.numel() * t.element_size()} for name, t in tensors.items()}
    binary_shapes = {prefix: list(m.weight.shape) for prefix, m in binaries.items()}
    save_tensors(directory / TENSORS_FILE, tensors, metadata={"format": FORMAT})
    atomic_write_json(directory / CONFIG_FILE, {
        "format": FORMAT, "version": VERSION, "config": model.config.to_dict(),
        "binary_weights": binary_shapes, "latent": bool(latent),
        "storage": storage_report(model, layout),
    })
    return directory


def load_student(directory):
    """Rebuild the model saved by :func:`save_student` (eval mode); binary layers frozen to the stored
    codes unless latent weights were saved. OttersError if the directory is not such a checkpoint.
    """
    directory = Path(directory)
    meta = read_json(directory / CONFIG_FILE)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise OttersError(f"{directory / CONFIG_FILE} is not an otters student checkpoint (no format "
                          f"{FORMAT!r} at its top level)")
    if meta.get("version") != VERSION:
        raise OttersError(f"{directory}: checkpoint version {meta.get('version')} is not supported (expected {VERSION})")
    config = check_student_meta(meta, directory / CONFIG_FILE)
    tensors = load_tensors(directory / TENSORS_FILE)
    with torch.device("meta"):  # shapes only: a damaged file is refused before any real allocation
        skeleton = QBertForSequenceClassification(config)
    check_student_tensors(tensors, packed_layout(skeleton), {k: v.shape for k, v in skeleton.state_dict().items()},
                          {p: m.weight.shape for p, m in binary_modules(skeleton).items()}, meta["binary_weights"],
                          directory / TENSORS_FILE)
    model = QBertForSequenceClassification(config)
    binaries = binary_modules(model)
    try:
        for prefix, module in binaries.items():
            codes = unpack_bits(tensors.pop(f"{prefix}.weight.bits"), meta["binary_weights"][prefix])
            scale = tensors.pop(f"{prefix}.weight.scale")
            latent_weight = tensors.pop(f"latent.{prefix}.weight", None)
            if latent_weight is None:
                module.freeze(codes, scale)
            else:
                with torch.no_grad():
                    module.weight.copy_(latent_weight)
    except KeyError as exc:
        raise OttersError(f"{directory}: checkpoint lacks tensor {exc}; it is incomplete or from another model") from None
    own = model.state_dict()
    expected = {k for k in own if not any(k in _skip_keys(p) for p in binaries)}
    missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - set(own))
    if missing or unexpected:
        raise OttersError(f"{directory}: checkpoint does not match its config (missing {missing[:3]}, "
                          f"unexpected {unexpected[:3]})")
    with torch.no_grad():
        for name, tensor in tensors.items():
            own[name].copy_(tensor.to(own[name].dtype))
    return model.eval()
