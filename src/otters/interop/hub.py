"""Students like the models on the Hugging Face hub: ``from_pretrained``, ``save_pretrained``,
``push_to_hub`` (through ``huggingface_hub.ModelHubMixin``), a ``config.json`` and a model card.

:class:`OttersForSequenceClassification` wraps a student checkpoint directory as it is (the packed
``student.safetensors`` + ``otters.json``, its tokenizer and ``distill.json``), so checkpoints written
before this class load unchanged; ``save_pretrained`` writes the same files plus ``config.json`` and a
``README.md`` card whose YAML metadata carries only measured numbers (:class:`CardFacts`). Pushing is
``huggingface_hub``'s own path (``push_to_hub(repo_id)``); local directories work offline.

Calling the model: ``model("a witty film")`` (a text or a list of texts; ``pairs=`` for pair tasks)
is :func:`otters.studies.predict.predict` (label, probabilities, spikes, energy); ``model(input_ids,
attention_mask, token_type_ids)`` returns the QNN's logits (equal to the SNN's, Otters ICLR 2026 Prop. 1).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from huggingface_hub import ModelCard, ModelCardData, ModelHubMixin, snapshot_download
from huggingface_hub.repocard_data import EvalResult

from otters.data.tasks import get_task
from otters.errors import OttersError
from otters.io import atomic_write_json, read_json
from otters.models.packing import save_student
from otters.studies.predict import LoadedStudent, PredictResult, load, predict

CARD_TEMPLATE = """---
{{ card_data }}
---

# {{ name }}

A spiking BERT student of the **{{ preset }}** preset for **{{ task }}**, made with otters: a quantized
BERT ({{ weight_bits }}-bit weights, {{ act_bits }}-bit activations) distilled from a fine-tuned teacher and
converted without loss into a time-to-first-spike spiking network on optoelectronic synapses (Otters,
ICLR 2026, Proposition 1).

| | |
|---|---|
{% for key, value in rows %}| {{ key }} | {{ value }} |
{% endfor %}

## Use

```python
from otters.interop.hub import OttersForSequenceClassification

model = OttersForSequenceClassification.from_pretrained("{{ path }}")
print({{ python_call }})   # label, probabilities, spikes, energy of that inference
```

or `otters predict {{ path }} {{ cli_args }} --json`.

## How the numbers were measured

{% for line in provenance %}- {{ line }}
{% endfor %}
"""


@dataclass
class CardFacts:
    """What a model card states. Metrics are fractions measured by ``eval_command``, whose JSON output is
    kept in ``metrics_source`` (empty: not measured);
    ``exactness``: how SNN = QNN was checked; ``energy_uj``: per inference, from ``energy_command``."""

    name: str
    task: str
    preset: str
    teacher: str
    license: str = "mit"
    split: str | None = None
    rows: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    eval_command: str | None = None
    metrics_source: str | None = None
    exactness: str | None = None
    energy_uj: float | None = None
    energy_sentences: int | None = None
    energy_command: str | None = None
    energy_source: str | None = None
    measured_under: str | None = None


DATASETS = {"rt": ("rotten_tomatoes", "Rotten Tomatoes")}


def model_card(facts: CardFacts, path: str = ".", weight_bits: int = 1, act_bits: int = 4) -> ModelCard:
    """The card (YAML metadata + body) for ``facts``; jinja2 renders the body (via ModelCard.from_template)."""
    spec = get_task(facts.task)
    dataset_type, dataset_name = DATASETS.get(spec.name, ("glue", f"GLUE {spec.name.upper()}"))
    results = [EvalResult(task_type="text-classification", dataset_type=dataset_type, dataset_name=dataset_name,
                          dataset_split=facts.split, dataset_config=None if spec.name == "rt" else spec.name,
                          metric_type=name, metric_value=round(float(value), 6),
                          metric_name=f"{name} (SNN, nominal device)")
               for name, value in sorted(facts.metrics.items())]
    data = ModelCardData(library_name="otters", license=facts.license, language="en", datasets=[dataset_type],
                         pipeline_tag="text-classification", model_name=facts.name, eval_results=results or None,
                         tags=["spiking-neural-network", "ttfs", "quantized", "binary-weights", "otters"],
                         otters={"preset": facts.preset, "teacher": facts.teacher, "task": spec.name,
                                 "snn_equals_qnn": facts.exactness,
                                 "energy_per_inference_uj": None if facts.energy_uj is None else round(facts.energy_uj, 2)})
    metric_text = ", ".join(f"{k} {100 * v:.2f} %" for k, v in sorted(facts.metrics.items())) or "not measured"
    rows = [("task", f"{spec.name} ({spec.description})"), ("preset", facts.preset), ("teacher", facts.teacher),
            (f"SNN on {facts.split or '-'} ({facts.rows or '-'} rows)", metric_text),
            ("SNN = QNN", facts.exactness or "not checked"),
            ("energy per inference (22 nm table)",
             "not measured" if facts.energy_uj is None else f"{facts.energy_uj:.1f} µJ (mean of {facts.energy_sentences} "
                                                             "sentences)"),
            ("licence", facts.license)]
    provenance = [line for line in (
        facts.eval_command and f"metrics: `{facts.eval_command}`"
        + (f" (its output: `{facts.metrics_source}`)" if facts.metrics_source else ""),
        facts.energy_command and f"energy: `{facts.energy_command}` (measured spikes, audited operations, priced; "
        f"its output: `{facts.energy_source}`)",
        facts.measured_under and f"measured under: {facts.measured_under}") if line]
    if spec.is_pair:
        first, second = "The company posted a record profit.", "The firm reported its highest profit ever."
        python_call = f'model.predict(["{first}"], pairs=["{second}"])'
        cli_args = f'--pair "{first}" "{second}"'
    else:
        python_call, cli_args = 'model("a gorgeous, witty, seductive movie.")', '"a gorgeous, witty, seductive movie."'
    return ModelCard.from_template(data, template_str=CARD_TEMPLATE, name=facts.name, preset=facts.preset,
                                   task=spec.name, rows=rows, path=path, python_call=python_call, cli_args=cli_args,
                                   provenance=provenance or ["no measurement recorded with this copy"],
                                   weight_bits=weight_bits, act_bits=act_bits)


def facts_from_card(directory: str | os.PathLike) -> CardFacts | None:
    """The facts recorded in ``directory/README.md`` (None when there is no otters card)."""
    path = Path(directory) / "README.md"
    if not path.is_file():
        return None
    meta = ModelCard.load(path).data.to_dict()
    facts = meta.get("otters_facts")
    return CardFacts(**facts) if isinstance(facts, dict) else None


def write_model_card(directory: str | os.PathLike, facts: CardFacts, weight_bits: int = 1, act_bits: int = 4) -> Path:
    """Write ``directory/README.md`` for ``facts`` (the facts themselves are kept in its metadata)."""
    card = model_card(facts, str(directory), weight_bits, act_bits)
    card.data.otters_facts = asdict(facts)
    path = Path(directory) / "README.md"
    card.save(path)
    return path


class OttersForSequenceClassification(torch.nn.Module, ModelHubMixin, library_name="otters", license="mit",
                                      pipeline_tag="text-classification",
                                      tags=["spiking-neural-network", "ttfs", "otters"]):
    """A student sequence classifier with the hub's interface (see the module docstring)."""

    def __init__(self, student: LoadedStudent):
        super().__init__()
        self.student, self.model = student, student.model

    @property
    def task(self) -> str:
        return self.student.task

    def forward(self, inputs, attention_mask=None, token_type_ids=None, *, pairs=None, mode: str = "snn"):
        """Texts -> :class:`PredictResult` (``mode`` snn or qnn); token ids -> the QNN's logits."""
        if isinstance(inputs, str) or (isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], str)):
            return self.predict(inputs, pairs=pairs, mode=mode)
        with torch.no_grad():
            return self.model(inputs, attention_mask, token_type_ids).logits

    def predict(self, texts, pairs=None, mode: str = "snn") -> PredictResult:
        return predict(self.student, texts, pairs, mode)

    def config_dict(self) -> dict:
        """config.json: what the model is (architecture, task, labels, preset, max_len)."""
        spec, cfg = get_task(self.task), self.model.config
        labels = {str(i): n for i, n in enumerate(spec.label_names)} if spec.label_names else {"0": "score"}
        return {"architectures": ["OttersForSequenceClassification"], "library_name": "otters", "task": spec.name,
                "num_labels": spec.num_labels, "id2label": labels, "problem_type": cfg.problem_type,
                "preset": cfg.preset, "max_len": self.student.max_len, "act_bits": cfg.act_bits,
                "weight_bits": cfg.weight_bits, "kv_bits": cfg.kv_bits, "hidden_size": cfg.hidden_size,
                "num_hidden_layers": cfg.num_hidden_layers, "checkpoint_format": "otters-student (otters.json + "
                "student.safetensors, 1-bit weights packed)"}

    def _save_pretrained(self, save_directory: Path) -> None:
        save_directory = Path(save_directory)
        source = Path(self.student.path)
        if save_directory.resolve() != source.resolve():
            save_student(self.model, save_directory)
            self.student.tokenizer.save_pretrained(str(save_directory))
            for name in ("distill.json", "coding.json"):
                if (source / name).is_file():
                    shutil.copyfile(source / name, save_directory / name)
        if not (save_directory / "distill.json").is_file():
            atomic_write_json(save_directory / "distill.json", {"settings": {"task": self.task,
                                                                       "max_len": self.student.max_len}})
        atomic_write_json(save_directory / "config.json", self.config_dict())
        facts = facts_from_card(source) or CardFacts(save_directory.name, self.task, self.model.config.preset,
                                                     _teacher(source))
        write_model_card(save_directory, facts, self.model.config.weight_bits, self.model.config.act_bits)

    @classmethod
    def _from_pretrained(cls, *, model_id: str, revision, cache_dir, force_download, local_files_only, token,
                         task: str | None = None, **model_kwargs):
        path = Path(model_id)
        if not path.is_dir():  # a hub repository id: the library's own download path
            path = Path(snapshot_download(repo_id=model_id, revision=revision, cache_dir=cache_dir,
                                          force_download=force_download, local_files_only=local_files_only,
                                          token=token))
        if not (path / "otters.json").is_file():
            raise OttersError(f"{path} is not an otters student (no otters.json)")
        return cls(load(path, task))


def _teacher(directory: Path) -> str:
    settings = read_json(directory / "distill.json").get("settings", {}) if (directory / "distill.json").is_file() else {}
    return str(settings.get("teacher") or "unknown")
