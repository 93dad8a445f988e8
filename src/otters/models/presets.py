"""Named student presets (what is quantized) and geometries (how big), and the model factory (fresh, or from HF weights)."""

from __future__ import annotations

from pathlib import Path

from otters.errors import OttersError
from otters.models.config import QBertConfig
from otters.models.hf_init import hf_geometry, load_hf_weights, resolve_hf_dir
from otters.models.qbert import QBertForSequenceClassification

GEOMETRIES: dict[str, dict] = {
    # the packaged sentence-transformers all-MiniLM-L6-v2 (a BertModel)
    "minilm-l6": dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                      intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2),
    # BERT-base (Devlin et al. 2019), the Otters / Sorbet backbone
    "bert-base": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2),
    # a toy geometry for tests and smoke runs
    "tiny": dict(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=64, max_position_embeddings=64, type_vocab_size=2),
}

# Sorbet's W1A4 QNN (ICML 2025): 1-bit weights and embeddings, 4-bit activations, ReLU FFN and pooler.
_W1A4 = dict(weight_bits=1, act_bits=4, kv_bits=4, hidden_act="relu", pooler_act="relu", binary_embeddings=True)

PRESETS: dict[str, dict] = {
    # full precision, numerically HF BertModel (GELU, softmax, LayerNorm, tanh pooler): the teacher
    "bert-fp": dict(weight_bits=32, act_bits=None, kv_bits=None, softmax="softmax", norm="layernorm",
                    binary_embeddings=False),
    # first Sorbet stage: quantized, softmax and LayerNorm kept
    "qnn-w1a4": dict(_W1A4, softmax="softmax", norm="layernorm"),
    # Sorbet's final model: PTsoftmax + BSPN, 4-bit K/V
    "sorbet": dict(_W1A4, softmax="ptsoftmax", norm="bspn"),
    # the Otters conversion target with 4-bit K/V (ablation row): Sorbet's architecture
    "otters-4bitkv": dict(_W1A4, softmax="ptsoftmax", norm="bspn"),
    # Otters: K and V binarised to {+alpha, -alpha} (1-bit signed LSQ, sign mode)
    "otters-1bitkv": dict(_W1A4, kv_bits=1, softmax="ptsoftmax", norm="bspn"),
}


def make_config(preset: str, geometry: str | dict = "minilm-l6", **overrides) -> QBertConfig:
    """QBertConfig from a preset name and a geometry (a name in GEOMETRIES, a dict of HF BERT fields,
    or a directory holding an HF BERT config.json), with field overrides (e.g. num_labels=1,
    problem_type="regression", hat_noise=0.1)."""
    if preset not in PRESETS:
        raise OttersError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if isinstance(geometry, dict):
        geometry_fields, geometry_name = dict(geometry), "custom"
    elif geometry in GEOMETRIES:
        geometry_fields, geometry_name = dict(GEOMETRIES[geometry]), geometry
    elif Path(str(geometry)).is_dir():
        geometry_fields, geometry_name = hf_geometry(geometry), str(geometry)
    else:
        raise OttersError(f"unknown geometry {geometry!r}; choose one of {', '.join(GEOMETRIES)} "
                          "or give a directory with an HF BERT config.json")
    fields = {**geometry_fields, **PRESETS[preset], "preset": preset, "geometry": geometry_name}
    fields.update(overrides)
    return QBertConfig(**fields)


def build_student(preset: str, geometry: str | dict = "minilm-l6", **overrides):
    """A freshly initialised QBertForSequenceClassification for ``preset`` and ``geometry``."""
    return QBertForSequenceClassification(make_config(preset, geometry, **overrides))


def student_from_hf(directory, preset: str = "bert-fp", **overrides):
    """Build a student with the geometry of an HF BERT directory and initialise it from its weights.

    ``directory`` may be "minilm-l6" (the packaged MiniLM). Offline: reads local files only.
    """
    name = "minilm-l6" if str(directory) == "minilm-l6" else str(directory)
    directory = resolve_hf_dir(directory)
    config = make_config(preset, hf_geometry(directory), **overrides)
    config.geometry = name
    model = QBertForSequenceClassification(config)
    load_hf_weights(model, directory)
    return model
