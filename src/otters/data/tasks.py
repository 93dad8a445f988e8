"""The text tasks the project knows: nine GLUE tasks (MNLI twice) and Rotten Tomatoes.

One :class:`TaskSpec` per task name says where its files live in a standard GLUE directory (the
layout GLUE's own download script writes), which columns hold the text and the label, how labels
map to class ids, and whether the task is a regression (STS-B). Column names follow the GLUE files'
headers; CoLA's files have no header, so its columns are positions.

Source: Wang et al., "GLUE: A Multi-Task Benchmark and Analysis Platform for Natural Language
Understanding" (ICLR 2019), Table 1 and the task descriptions of its Section 3; the label orders are
those of the reference GLUE processors, so class ids agree with other GLUE tooling.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from otters.errors import OttersError


@dataclass(frozen=True)
class TaskSpec:
    """Everything the loaders, the trainer and the metrics need to know about one task."""

    name: str
    folder: str  # GLUE sub-directory ("" for tasks that are not read from a GLUE directory)
    text_columns: tuple  # header names (or positions, for header-less files) of sentence(s)
    label_column: str | int | None
    label_names: tuple = ()  # class names in class-id order; () for regression
    regression: bool = False
    has_header: bool = True
    # File name of each official split inside the task folder.
    files: dict = field(default_factory=lambda: {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"})
    # Columns of the (unlabelled) test file when it differs from train/dev.
    test_text_columns: tuple | None = None
    description: str = ""
    # The closed range of a regression task's scores (STS-B: similarity 0 to 5); None: unbounded.
    score_range: tuple | None = None

    @property
    def is_pair(self) -> bool:
        """True for sentence-pair tasks (two text columns, encoded as [CLS] a [SEP] b [SEP])."""
        return len(self.text_columns) == 2

    @property
    def num_labels(self) -> int:
        """Output width of the classifier head: the number of classes, or 1 for regression."""
        return 1 if self.regression else len(self.label_names)


_BINARY = ("0", "1")
_ENTAIL = ("entailment", "not_entailment")

TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "cola", "CoLA", text_columns=(3,), label_column=1, label_names=_BINARY, has_header=False,
            test_text_columns=("sentence",),
            description="linguistic acceptability (single sentence), Matthews correlation",
        ),
        TaskSpec(
            "sst2", "SST-2", text_columns=("sentence",), label_column="label", label_names=_BINARY,
            description="movie-review sentiment (single sentence), accuracy",
        ),
        TaskSpec(
            "mrpc", "MRPC", text_columns=("#1 String", "#2 String"), label_column="Quality",
            label_names=_BINARY, description="paraphrase (sentence pair), accuracy and F1",
        ),
        TaskSpec(
            "stsb", "STS-B", text_columns=("sentence1", "sentence2"), label_column="score",
            regression=True, description="semantic similarity 0-5 (sentence pair), Pearson and Spearman",
            score_range=(0.0, 5.0),
        ),
        TaskSpec(
            "qqp", "QQP", text_columns=("question1", "question2"), label_column="is_duplicate",
            label_names=_BINARY, description="duplicate questions (sentence pair), accuracy and F1",
        ),
        TaskSpec(
            "mnli", "MNLI", text_columns=("sentence1", "sentence2"), label_column="gold_label",
            label_names=("contradiction", "entailment", "neutral"),
            files={"train": "train.tsv", "dev": "dev_matched.tsv", "test": "test_matched.tsv"},
            description="natural language inference, matched dev (sentence pair), accuracy",
        ),
        TaskSpec(
            "mnli-mm", "MNLI", text_columns=("sentence1", "sentence2"), label_column="gold_label",
            label_names=("contradiction", "entailment", "neutral"),
            files={"train": "train.tsv", "dev": "dev_mismatched.tsv", "test": "test_mismatched.tsv"},
            description="natural language inference, mismatched dev (sentence pair), accuracy",
        ),
        TaskSpec(
            "qnli", "QNLI", text_columns=("question", "sentence"), label_column="label",
            label_names=_ENTAIL, description="question answering as inference (sentence pair), accuracy",
        ),
        TaskSpec(
            "rte", "RTE", text_columns=("sentence1", "sentence2"), label_column="label",
            label_names=_ENTAIL, description="textual entailment (sentence pair), accuracy",
        ),
        TaskSpec(
            "wnli", "WNLI", text_columns=("sentence1", "sentence2"), label_column="label",
            label_names=_BINARY, description="Winograd inference (sentence pair), accuracy",
        ),
        TaskSpec(
            "rt", "", text_columns=("text",), label_column="category", label_names=("rotten", "fresh"),
            files={}, description="Rotten Tomatoes review polarity (embedded corpus), accuracy",
        ),
    )
}

GLUE_TASKS: tuple[str, ...] = tuple(name for name, spec in TASKS.items() if spec.folder)


def get_task(name: str) -> TaskSpec:
    """The :class:`TaskSpec` of ``name`` (case-insensitive; ``sst-2``/``sts-b`` spellings accepted)."""
    key = str(name).strip().lower().replace("_", "-")
    key = {"sst-2": "sst2", "sts-b": "stsb", "mnli-m": "mnli", "mnli-matched": "mnli",
           "mnli-mismatched": "mnli-mm"}.get(key, key)
    if key not in TASKS:
        raise OttersError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[key]


def check_head_fits_task(num_labels: int, spec: TaskSpec, path) -> None:
    """A checkpoint's head must have the task's outputs and kind (a 2-class student cannot score STS-B)."""
    if num_labels != spec.num_labels:
        kind = "a regression score" if spec.regression else f"{spec.num_labels} classes"
        raise OttersError(f"{path} has {num_labels} output(s) but {spec.name} needs {kind}; "
                          f"give a {spec.name} checkpoint or the task it was trained for")
