"""otters.models: the BERT student (full precision, Sorbet W1A4 QNN, Otters 1-bit K/V).

The spiking ViT has its own package, :mod:`otters.vit`.

Main entry points::

    build_student(preset, geometry, **overrides)   # fresh QBertForSequenceClassification
    student_from_hf(directory_or_"minilm-l6", preset, **overrides)   # initialised from HF BERT weights
    save_student(model, dir) / load_student(dir)   # packed 1-bit checkpoints
    spiking_stages(model)                          # the stages an SNN conversion replaces
"""

from otters.models.config import QBertConfig
from otters.models.hf_init import hf_geometry, load_hf_weights, minilm_path
from otters.models.packing import load_student, packed_layout, save_student, storage_report
from otters.models.presets import GEOMETRIES, PRESETS, build_student, make_config, student_from_hf
from otters.models.qbert import QBertForSequenceClassification, QBertModel, QBertOutput
from otters.models.stages import SpikingStage, record_stages, spiking_stages

__all__ = [
    "GEOMETRIES", "PRESETS", "QBertConfig", "QBertForSequenceClassification", "QBertModel", "QBertOutput",
    "SpikingStage", "build_student", "hf_geometry", "load_hf_weights", "load_student", "make_config",
    "minilm_path", "packed_layout", "record_stages", "save_student", "spiking_stages", "storage_report",
    "student_from_hf",
]
