"""The teacher model: a Hugging Face sequence-classification BERT loaded from a local folder."""

from __future__ import annotations

from otters.data.tasks import TaskSpec
from otters.errors import OttersError
from otters.models.hf_safe import load_sequence_classifier
from otters.train.common import quiet_transformers


def load_model(model_dir, spec: TaskSpec | None = None):
    """A sequence-classification model from a local folder (new head sized for ``spec`` if given)."""
    quiet_transformers()
    kwargs = {}
    if spec is not None:
        kwargs["num_labels"] = spec.num_labels
        if spec.regression:
            kwargs["problem_type"] = "regression"
        else:  # set explicitly: a regression model (an intermediate STS-B stage) would keep its MSE loss
            kwargs["problem_type"] = "single_label_classification"
            kwargs["id2label"] = dict(enumerate(spec.label_names))
            kwargs["label2id"] = {name: i for i, name in enumerate(spec.label_names)}
        # A model fine-tuned on another task keeps its head when the label count agrees, else gets a new one.
        kwargs["ignore_mismatched_sizes"] = True
    try:
        return load_sequence_classifier(model_dir, **kwargs)
    except OttersError:
        raise
    except (OSError, ValueError) as exc:
        raise OttersError(f"cannot load a model from {model_dir} ({str(exc).splitlines()[0]})") from None
