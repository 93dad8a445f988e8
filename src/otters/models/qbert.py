"""A BERT encoder in one file, full precision or quantized (Sorbet / Otters student).

Read it top to bottom: embeddings -> N x [self-attention -> add & norm -> FFN -> add & norm] -> pooler
-> classifier. With ``weight_bits=1, act_bits=4`` it is Sorbet's W1A4 QNN (ICML 2025, section 3):
1-bit weights on every encoder linear and the pooler, per-row 1-bit embedding tables, signed 4-bit
quantizers on the inputs of the Q/K/V/O/FFN1/pooler linears and on Q, K, V (1-bit K/V for Otters),
unsigned 4-bit on attention probabilities and on the post-ReLU FFN2 input, ReLU FFN and pooler,
optionally PTsoftmax and BSPN; a full-precision classifier.

Each *spiking stage* (a quantized input, an integer product, a potential) is computed in eval mode as
exact integer accumulation followed by ``otters.quant.potential_from_accumulator``, the arithmetic an
SNN replays bit for bit (Otters, Proposition 1); ``otters.models.stages.spiking_stages`` lists them.
Everything else (embeddings, residual adds, norms, (PT)softmax, ReLU of read-out potentials) is
digital and deterministic per token, so padded tokens never change real ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from otters.errors import OttersError
from otters.models.config import QBertConfig
from otters.models.sorbet_ops import BSPN, pt_softmax
from otters.models.stages import spiking_stages
from otters.nn.qlinear import QuantEmbedding, QuantLinear
from otters.quant import GaussianActivationNoise, LSQQuantizer, exact_accumulate, potential_from_accumulator

_ACT = {
    "gelu": F.gelu,
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "tanh": torch.tanh,
}


@dataclass
class QBertOutput:
    """What a forward returns (distillation needs logits and every hidden state).

    hidden_states: embedding output + the output of every layer (num_layers + 1 tensors).
    attention_scores: per layer, scaled pre-softmax scores QK^T/sqrt(d) (B, H, L, L), unmasked;
    attention_probs: per layer, the (PT)softmax output before its quantizer; both only on request.
    """

    logits: torch.Tensor | None
    pooled: torch.Tensor
    last_hidden_state: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...]
    attention_scores: tuple[torch.Tensor, ...] | None = None
    attention_probs: tuple[torch.Tensor, ...] | None = None


def _quantizer(cfg: QBertConfig, bits: int | None, signed: bool) -> LSQQuantizer | None:
    return None if bits is None else LSQQuantizer(bits, signed, pow2_init=cfg.pow2_init)


def _norm(cfg: QBertConfig) -> nn.Module:
    if cfg.norm == "bspn":
        return BSPN(cfg.hidden_size, cfg.resolved_bspn_groups, warmup=cfg.bspn_warmup)
    return nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)


def _apply_norm(norm: nn.Module, x: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
    return norm(x, token_mask) if isinstance(norm, BSPN) else norm(x)


def stage(linear: QuantLinear, quant: LSQQuantizer | None, x: torch.Tensor, noise: nn.Module) -> torch.Tensor:
    """One linear spiking stage: encode x with ``quant``, apply ``linear``, return the potential V.

    Eval + binary + quantized: V = linear.integer_forward(quant.levels(x), quant.alpha) (exact integer
    path, Otters Prop. 1). Training: fake quantization with STE / LSQ gradients, HAT noise on V.
    Full precision (quant None): the plain linear.
    """
    if quant is None:
        return linear(x)
    if not linear.training and linear.binary:
        return linear.integer_forward(quant.levels(x), quant.alpha)
    return noise(linear(quant(x)))


class QBertEmbeddings(nn.Module):
    """word + token type + position embeddings, then LayerNorm (kept in every preset) and dropout."""

    def __init__(self, cfg: QBertConfig):
        super().__init__()
        self.word = QuantEmbedding(cfg.vocab_size, cfg.hidden_size, cfg.binary_embeddings, cfg.pad_token_id)
        self.position = QuantEmbedding(cfg.max_position_embeddings, cfg.hidden_size, cfg.binary_embeddings)
        self.token_type = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word(input_ids) + self.token_type(token_type_ids)  # HF's summation order
        x = x + self.position(positions)[None]
        return self.dropout(self.norm(x))


class QSelfAttention(nn.Module):
    """Multi-head self-attention plus its output projection O (the residual add lives in the layer).

    Stages (eval, quantized): QKV = input_quant -> query/key/value -> q/k/v_quant; QK^T: Q levels
    against K levels, scores = acc * (alpha_k / sqrt(d)) * alpha_q; (PT)softmax (digital) -> p_quant;
    PV: P levels against V levels, ctx = acc * alpha_v * alpha_p -> out_quant -> O (read out).
    ``qk_accumulator`` / ``pv_accumulator`` are hooks like ``QuantLinear.accumulator``.
    """

    def __init__(self, cfg: QBertConfig):
        super().__init__()
        self.cfg = cfg
        self.heads, self.head_dim = cfg.num_attention_heads, cfg.head_dim
        self.scale = 1.0 / math.sqrt(self.head_dim)
        binary = cfg.binary_weights
        self.input_quant = _quantizer(cfg, cfg.act_bits, signed=True)  # shared by Q, K, V: one spike train
        self.query = QuantLinear(cfg.hidden_size, cfg.hidden_size, binary=binary)
        self.key = QuantLinear(cfg.hidden_size, cfg.hidden_size, binary=binary)
        self.value = QuantLinear(cfg.hidden_size, cfg.hidden_size, binary=binary)
        self.q_quant = _quantizer(cfg, cfg.act_bits, signed=True)
        self.k_quant = _quantizer(cfg, cfg.kv_bits, signed=True)
        self.v_quant = _quantizer(cfg, cfg.kv_bits, signed=True)
        self.p_quant = _quantizer(cfg, cfg.act_bits, signed=False)
        self.out_quant = _quantizer(cfg, cfg.act_bits, signed=True)
        self.out = QuantLinear(cfg.hidden_size, cfg.hidden_size, binary=binary)
        self.dropout = nn.Dropout(cfg.attention_probs_dropout_prob)
        self.noise = GaussianActivationNoise(cfg.hat_noise)
        self.qk_accumulator = None
        self.pv_accumulator = None

    def _heads(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, H*d) -> (B, H, L, d)
        b, length, _ = x.shape
        return x.view(b, length, self.heads, self.head_dim).transpose(1, 2)

    def qk_weight_scale(self) -> torch.Tensor:
        """Scale of the K operand in the QK^T stage: alpha_k * (1/sqrt(d)) as one float32 tensor."""
        return self.k_quant.alpha.detach().to(torch.float32) * torch.tensor(self.scale, dtype=torch.float32)

    def _integer_path(self) -> bool:
        return self.cfg.quantized_acts and self.cfg.binary_weights and not self.training

    def forward(self, h, attn_bias, key_mask):
        integer = self._integer_path()
        q = stage(self.query, self.input_quant, h, self.noise)
        k = stage(self.key, self.input_quant, h, self.noise)
        v = stage(self.value, self.input_quant, h, self.noise)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        if integer:
            q_lv, k_lv, v_lv = self.q_quant.levels(q), self.k_quant.levels(k), self.v_quant.levels(v)
            acc = (self.qk_accumulator or exact_accumulate)(q_lv, k_lv)
            scores = potential_from_accumulator(acc, self.qk_weight_scale(), self.q_quant.alpha.detach())
        else:
            if self.q_quant is not None:
                q, k, v = self.q_quant(q), self.k_quant(k), self.v_quant(v)
            scores = self.noise(torch.matmul(q, k.transpose(-1, -2)) * self.scale)
        if self.cfg.softmax == "ptsoftmax":
            probs = pt_softmax(scores, key_mask)
        else:
            probs = torch.softmax(scores + attn_bias, dim=-1)
        probs = self.dropout(probs)
        if integer:
            p_lv = self.p_quant.levels(probs)
            acc = (self.pv_accumulator or exact_accumulate)(p_lv, v_lv.transpose(-1, -2))
            ctx = potential_from_accumulator(acc, self.v_quant.alpha.detach(), self.p_quant.alpha.detach())
        else:
            p = probs if self.p_quant is None else self.p_quant(probs)
            ctx = torch.matmul(p, v)
            ctx = ctx if self.p_quant is None else self.noise(ctx)
        b, _, length, _ = ctx.shape
        ctx = ctx.transpose(1, 2).reshape(b, length, self.heads * self.head_dim)
        return stage(self.out, self.out_quant, ctx, self.noise), scores, probs


class QBertLayer(nn.Module):
    """h1 = norm(h + Attn(h)); h2 = norm(h1 + FFN2(act(FFN1(h1))))."""

    def __init__(self, cfg: QBertConfig):
        super().__init__()
        self.cfg = cfg
        binary = cfg.binary_weights
        self.attn = QSelfAttention(cfg)
        self.attn_norm = _norm(cfg)
        self.ffn_in_quant = _quantizer(cfg, cfg.act_bits, signed=True)
        self.ffn1 = QuantLinear(cfg.hidden_size, cfg.intermediate_size, binary=binary)
        self.ffn2_in_quant = _quantizer(cfg, cfg.act_bits, signed=False)  # post-ReLU: unsigned
        self.ffn2 = QuantLinear(cfg.intermediate_size, cfg.hidden_size, binary=binary)
        self.ffn_norm = _norm(cfg)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)
        self.noise = self.attn.noise
        self.act = _ACT[cfg.hidden_act]

    def forward(self, h, attn_bias, key_mask, token_mask):
        a, scores, probs = self.attn(h, attn_bias, key_mask)
        h1 = _apply_norm(self.attn_norm, self.dropout(a) + h, token_mask)
        f = self.act(stage(self.ffn1, self.ffn_in_quant, h1, self.noise))
        f = stage(self.ffn2, self.ffn2_in_quant, f, self.noise)
        h2 = _apply_norm(self.ffn_norm, self.dropout(f) + h1, token_mask)
        return h2, scores, probs


class QBertModel(nn.Module):
    """Embeddings, encoder layers and pooler (pooled = act(W_p h_CLS + b); tanh in HF, ReLU in Sorbet)."""

    def __init__(self, cfg: QBertConfig):
        super().__init__()
        self.config = cfg
        self.embeddings = QBertEmbeddings(cfg)
        self.layers = nn.ModuleList(QBertLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.pooler_quant = _quantizer(cfg, cfg.act_bits, signed=True)
        self.pooler = QuantLinear(cfg.hidden_size, cfg.hidden_size, binary=cfg.binary_weights)
        self.pooler_act = _ACT[cfg.pooler_act]
        self.noise = GaussianActivationNoise(cfg.hat_noise)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, output_attentions=False):
        cfg = self.config
        if input_ids.dim() != 2:
            raise OttersError(f"input_ids must be (batch, length), got shape {tuple(input_ids.shape)}")
        if input_ids.shape[1] > cfg.max_position_embeddings:
            raise OttersError(f"sequence length {input_ids.shape[1]} exceeds max_position_embeddings "
                              f"{cfg.max_position_embeddings}; truncate the input")
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        token_types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        key_mask = mask[:, None, None, :].bool()
        dtype = self.embeddings.norm.weight.dtype
        attn_bias = (1.0 - key_mask.to(dtype)) * torch.finfo(dtype).min  # HF's additive mask

        h = self.embeddings(input_ids, token_types)
        hidden_states, all_scores, all_probs = [h], [], []
        for layer in self.layers:
            h, scores, probs = layer(h, attn_bias, key_mask, mask)
            hidden_states.append(h)
            all_scores.append(scores)
            all_probs.append(probs)
        pooled = self.pooler_act(stage(self.pooler, self.pooler_quant, h[:, 0], self.noise))
        return QBertOutput(
            logits=None,
            pooled=pooled,
            last_hidden_state=h,
            hidden_states=tuple(hidden_states),
            attention_scores=tuple(all_scores) if output_attentions else None,
            attention_probs=tuple(all_probs) if output_attentions else None,
        )


class QBertForSequenceClassification(nn.Module):
    """QBertModel + dropout + full-precision linear head (num_labels outputs; 1 for regression, e.g. STS-B)."""

    def __init__(self, cfg: QBertConfig):
        super().__init__()
        self.config = cfg
        self.bert = QBertModel(cfg)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)
        nn.init.normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, output_attentions=False) -> QBertOutput:
        out = self.bert(input_ids, attention_mask, token_type_ids, output_attentions)
        out.logits = self.classifier(self.dropout(out.pooled))
        return out

    def spiking_stages(self):
        """The list of spiking stages (see :func:`otters.models.stages.spiking_stages`)."""
        return spiking_stages(self)
