"""Knowledge-distillation losses: soft cross-entropy on logits, MSE on hidden states and attention.

The recipe is Sorbet's (ICML 2025), itself TinyBERT's (Jiao et al., EMNLP 2020, Sec. 3.1):
prediction-layer loss (soft cross-entropy of the student's logits against the teacher's softened
distribution; MSE on the single output of a regression task such as STS-B, where a softmax over one
logit is constant and carries no gradient), plus the MSE between hidden states of every layer
(embedding output included), plus an optional attention loss. When the student has fewer layers
than the teacher, student layer m learns teacher layer g(m) = floor(m * L_t / L_s) (TinyBERT's
uniform map). Padding tokens are masked out of the token-level losses, so the loss of a batch does
not depend on how much padding the batch happens to carry (this is what lets a data-parallel run
with per-rank dynamic padding match a single-process run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from otters.errors import OttersError


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """L = tau^2 * mean_b sum_c -softmax(z_t / tau)_bc * log_softmax(z_s / tau)_bc.

    Source: Hinton et al. 2015 ("Distilling the knowledge in a neural network", Sec. 2; the tau^2
    factor keeps gradient magnitudes independent of tau) and TinyBERT / Sorbet's prediction loss
    (tau = 1, where the factor is 1).
    """
    if student_logits.shape != teacher_logits.shape:
        raise OttersError(f"student logits {tuple(student_logits.shape)} and teacher logits "
                          f"{tuple(teacher_logits.shape)} differ in shape; use the same task head")
    if not temperature > 0:
        raise OttersError(f"distillation temperature must be > 0, got {temperature}")
    target = F.softmax(teacher_logits.detach() / temperature, dim=-1)
    log_prob = F.log_softmax(student_logits / temperature, dim=-1)
    return -(target * log_prob).sum(dim=-1).mean() * (temperature**2)


def regression_mse(student_out: torch.Tensor, teacher_out: torch.Tensor) -> torch.Tensor:
    """L = mean_b (y_s - y_t)^2: the prediction loss of a regression task (STS-B).

    Source: TinyBERT / Sorbet use soft cross-entropy everywhere, which is degenerate on one logit
    (a pitfall of Sorbet's public code); MSE on the output is the fix.
    """
    if student_out.shape != teacher_out.shape:
        raise OttersError(f"student output {tuple(student_out.shape)} and teacher output "
                          f"{tuple(teacher_out.shape)} differ in shape")
    return F.mse_loss(student_out, teacher_out.detach())


def layer_map(student_layers: int, teacher_layers: int) -> list[int]:
    """Teacher hidden-state index for each student hidden-state index m = 0..L_s: g(m) = floor(m L_t / L_s).

    Index 0 is the embedding output, so g(0) = 0 and g(L_s) = L_t (last layer to last layer).
    Source: TinyBERT (Jiao et al., EMNLP 2020), Sec. 3.1, uniform mapping strategy.
    """
    if student_layers < 1 or teacher_layers < 1:
        raise OttersError(f"layer counts must be >= 1, got student {student_layers}, teacher {teacher_layers}")
    return [m * teacher_layers // student_layers for m in range(student_layers + 1)]


def _token_mask(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    if mask is None:
        return None
    if mask.shape != like.shape[:2]:
        raise OttersError(f"attention mask {tuple(mask.shape)} does not match hidden states {tuple(like.shape[:2])}")
    return mask.to(like.dtype)


def masked_mse(student: torch.Tensor, teacher: torch.Tensor, token_mask: torch.Tensor | None = None) -> torch.Tensor:
    """mean over real tokens and features of (h_s - h_t)^2; h of shape (batch, tokens, features).

    With mask m_bt in {0, 1}: sum_bt m_bt ||h_s - h_t||^2 / (D * sum_bt m_bt).
    Source: TinyBERT hidden-state loss (Sec. 3.1, eq. 8) restricted to non-padding tokens.
    """
    if student.shape != teacher.shape:
        raise OttersError(f"student hidden state {tuple(student.shape)} and teacher {tuple(teacher.shape)} "
                          "differ; distillation needs the same hidden width and sequence")
    sq = (student - teacher.detach()).pow(2)
    mask = _token_mask(token_mask, student)
    if mask is None:
        return sq.mean()
    denominator = mask.sum() * student.shape[-1]
    return (sq * mask.unsqueeze(-1)).sum() / denominator.clamp(min=1)


def hidden_state_loss(student_hidden: Sequence[torch.Tensor], teacher_hidden: Sequence[torch.Tensor],
                      attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """L_hid = sum_m masked_mse(H_s[m], H_t[g(m)]) over m = 0..L_s (0 = embedding output).

    Source: Sorbet / TinyBERT representation loss over all hidden states, layer map :func:`layer_map`.
    """
    if len(student_hidden) < 2 or len(teacher_hidden) < 2:
        raise OttersError("hidden-state distillation needs the embedding output plus every layer "
                          "(output_hidden_states) from both models")
    mapping = layer_map(len(student_hidden) - 1, len(teacher_hidden) - 1)
    return sum(masked_mse(student_hidden[m], teacher_hidden[g], attention_mask) for m, g in enumerate(mapping))


def attention_loss(student_attn: Sequence[torch.Tensor], teacher_attn: Sequence[torch.Tensor],
                   attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """L_att = sum_m mean over heads and real (query, key) pairs of (A_s[m] - A_t[g(m)])^2.

    A has shape (batch, heads, queries, keys) for every layer; the pairs that involve a padding
    token are excluded (their scores are masked to large negatives and would dominate).
    Source: TinyBERT attention-based distillation (Sec. 3.1, eq. 7), layer map g of :func:`layer_map`
    (attention index m is layer m + 1, so g is applied to m + 1).
    """
    if not student_attn or not teacher_attn:
        raise OttersError("attention distillation needs attention outputs from both models")
    mapping = layer_map(len(student_attn), len(teacher_attn))
    total = 0.0
    for m, s in enumerate(student_attn):
        t = teacher_attn[mapping[m + 1] - 1]
        if s.shape != t.shape:
            raise OttersError(f"student attention {tuple(s.shape)} and teacher {tuple(t.shape)} differ; "
                              "distill attention only between models with the same heads")
        sq = (s - t.detach()).pow(2)
        if attention_mask is None:
            total = total + sq.mean()
            continue
        m2 = attention_mask.to(s.dtype)
        pair = (m2[:, :, None] * m2[:, None, :]).unsqueeze(1)  # (batch, 1, queries, keys)
        total = total + (sq * pair).sum() / (pair.sum() * s.shape[1]).clamp(min=1)
    return total


@dataclass(frozen=True)
class DistillWeights:
    """Weights of the loss terms: L = w_pred L_pred + w_hidden L_hid + w_attn L_att."""

    temperature: float = 1.0
    pred: float = 1.0
    hidden: float = 1.0
    attention: float = 0.0  # Sorbet computes the attention loss but does not use it

    def to_dict(self) -> dict:
        return asdict(self)


def _field(outputs, name: str):
    if isinstance(outputs, Mapping):
        return outputs.get(name)
    return getattr(outputs, name, None)


def distillation_loss(student_out, teacher_out, attention_mask: torch.Tensor | None = None,
                      regression: bool = False, weights: DistillWeights = DistillWeights()) -> tuple[torch.Tensor, dict]:
    """L = w_pred L_pred + w_hidden L_hid + w_attn L_att, and the parts as floats.

    L_pred = soft_cross_entropy (classification) or regression_mse (STS-B). Outputs are model
    outputs with ``logits``, ``hidden_states`` and (for w_attn > 0) ``attentions`` (attribute or key).
    Source: Sorbet's staged distillation recipe (ICML 2025), TinyBERT's loss (EMNLP 2020, eq. 11).
    """
    s_logits, t_logits = _field(student_out, "logits"), _field(teacher_out, "logits")
    if s_logits is None or t_logits is None:
        raise OttersError("both models must return logits for distillation")
    pred = regression_mse(s_logits, t_logits) if regression else soft_cross_entropy(s_logits, t_logits, weights.temperature)
    total = weights.pred * pred
    parts = {"pred": float(pred.detach())}
    if weights.hidden:
        hid = hidden_state_loss(_field(student_out, "hidden_states") or (), _field(teacher_out, "hidden_states") or (),
                                attention_mask)
        total = total + weights.hidden * hid
        parts["hidden"] = float(hid.detach())
    if weights.attention:
        att = attention_loss(_field(student_out, "attentions") or (), _field(teacher_out, "attentions") or (),
                             attention_mask)
        total = total + weights.attention * att
        parts["attention"] = float(att.detach())
    return total, parts
