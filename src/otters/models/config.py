"""Configuration of the BERT student: HF BERT geometry plus where and how it is quantized."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from otters.errors import OttersError

ACTIVATIONS = ("gelu", "gelu_new", "relu", "tanh")


@dataclass
class QBertConfig:
    """Geometry (names as in HF ``BertConfig``) and quantization choices of a (Q)BERT encoder.

    weight_bits: 32 (full precision) or 1 (Sorbet binarisation of every encoder linear and the pooler).
    act_bits: None (full precision) or the activation bits of every quantizer (4 in Sorbet/Otters).
    kv_bits: bits of the K and V quantizers (4, or 1 = Otters' binary {+alpha, -alpha} K/V).
    softmax: "softmax" or "ptsoftmax"; norm: "layernorm" or "bspn" (encoder norms only; the
    embedding LayerNorm always stays). binary_embeddings: word and position tables binarised per row.
    hat_noise: relative std of the training-only Gaussian noise on each spiking stage's potential.
    """

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    pad_token_id: int = 0
    hidden_act: str = "gelu"
    pooler_act: str = "tanh"
    weight_bits: int = 32
    act_bits: int | None = None
    kv_bits: int | None = None
    softmax: str = "softmax"
    norm: str = "layernorm"
    binary_embeddings: bool = False
    pow2_init: bool = True
    hat_noise: float = 0.0
    bspn_groups: int | None = None
    bspn_warmup: int = 1000
    num_labels: int = 2
    problem_type: str = "classification"
    preset: str = "custom"
    geometry: str = "custom"

    def __post_init__(self) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise OttersError(f"invalid model config: {message}")

        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_labels"):
            need(isinstance(getattr(self, name), int) and getattr(self, name) > 0, f"{name} must be a positive integer")
        need(self.hidden_size % self.num_attention_heads == 0,
             f"hidden_size {self.hidden_size} is not a multiple of num_attention_heads {self.num_attention_heads}")
        need(self.hidden_act in ACTIVATIONS, f"hidden_act must be one of {ACTIVATIONS}, got {self.hidden_act!r}")
        need(self.pooler_act in ("tanh", "relu"), f"pooler_act must be tanh or relu, got {self.pooler_act!r}")
        need(self.weight_bits in (1, 32), f"weight_bits must be 1 or 32, got {self.weight_bits!r}")
        need(self.act_bits is None or (isinstance(self.act_bits, int) and 1 <= self.act_bits <= 8),
             f"act_bits must be None or 1..8, got {self.act_bits!r}")
        need(self.kv_bits is None or (isinstance(self.kv_bits, int) and 1 <= self.kv_bits <= 8),
             f"kv_bits must be None or 1..8, got {self.kv_bits!r}")
        need((self.act_bits is None) == (self.kv_bits is None), "act_bits and kv_bits must both be set or both None")
        need(self.softmax in ("softmax", "ptsoftmax"), f"softmax must be softmax or ptsoftmax, got {self.softmax!r}")
        need(self.norm in ("layernorm", "bspn"), f"norm must be layernorm or bspn, got {self.norm!r}")
        need(self.problem_type in ("classification", "regression"),
             f"problem_type must be classification or regression, got {self.problem_type!r}")
        need(self.problem_type == "classification" or self.num_labels == 1, "a regression head has num_labels = 1")
        need(self.hat_noise >= 0.0, f"hat_noise must be >= 0, got {self.hat_noise}")
        need(self.hidden_size % self.resolved_bspn_groups == 0,
             f"bspn_groups {self.resolved_bspn_groups} does not divide hidden_size {self.hidden_size}")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def binary_weights(self) -> bool:
        return self.weight_bits == 1

    @property
    def quantized_acts(self) -> bool:
        return self.act_bits is not None

    @property
    def resolved_bspn_groups(self) -> int:
        """Sorbet: groups of 64 channels (12 for BERT-base); else one group per head."""
        if self.bspn_groups is not None:
            return int(self.bspn_groups)
        return self.hidden_size // 64 if self.hidden_size % 64 == 0 else self.num_attention_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "QBertConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OttersError(f"unknown model config keys {unknown}; the checkpoint is from another version")
        return cls(**data)
