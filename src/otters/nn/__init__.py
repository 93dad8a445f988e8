"""otters.nn: quantized building blocks (1-bit linear / embedding) shared by the models."""

from otters.nn.qlinear import QuantEmbedding, QuantLinear

__all__ = ["QuantEmbedding", "QuantLinear"]
