"""GLUE's metrics, computed with scikit-learn and scipy; every value is a fraction (0.91, not 91).

As GLUE defines them (Wang et al., ICLR 2019, Section 3 and Table 1):
- accuracy = mean(pred == label) (SST-2, MNLI, QNLI, RTE, WNLI, and our rt);
- accuracy and F1 of the positive class, F1 = 2PR / (P + R) (MRPC, QQP);
- Matthews correlation MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) (CoLA);
- Pearson r and Spearman rho between predicted and gold scores (STS-B).
Where GLUE averages two metrics into a task score (MRPC, QQP, STS-B) ``combined`` is their mean;
it is that task's :func:`main_metric`, the number checkpoints are selected on.

A correlation of a constant vector is undefined; it is reported as 0.0 (the convention scikit-learn
uses for MCC), so a collapsed model scores 0 instead of breaking checkpoint selection.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from otters.data.tasks import TaskSpec, get_task
from otters.errors import OttersError

_METRICS = {
    "cola": ("matthews",),
    "mrpc": ("accuracy", "f1", "combined"),
    "qqp": ("accuracy", "f1", "combined"),
    "stsb": ("pearson", "spearman", "combined"),
}
_MAIN = {"cola": "matthews", "mrpc": "combined", "qqp": "combined", "stsb": "combined"}


def metric_names(task: str | TaskSpec) -> tuple[str, ...]:
    """Names of the metrics :func:`compute_metrics` returns for ``task``."""
    spec = get_task(task) if isinstance(task, str) else task
    return _METRICS.get(spec.name, ("accuracy",))


def main_metric(task: str | TaskSpec) -> str:
    """The one metric a model of ``task`` is selected on (higher is better)."""
    spec = get_task(task) if isinstance(task, str) else task
    return _MAIN.get(spec.name, "accuracy")


def predictions_from_outputs(task: str | TaskSpec, outputs) -> np.ndarray:
    """Class ids (argmax over the last axis of logits) or scores (regression, squeezed) from model outputs.

    A 1-D integer array for a classification task is taken as class ids already.
    """
    spec = get_task(task) if isinstance(task, str) else task
    out = np.asarray(outputs)
    if spec.regression:
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1:
            raise OttersError(f"{spec.name} is a regression task: expected one score per row, got shape {out.shape}")
        return out.astype(np.float64)
    if out.ndim == 2:
        if out.shape[1] != spec.num_labels:
            raise OttersError(f"{spec.name} has {spec.num_labels} classes but the outputs have {out.shape[1]} columns")
        return out.argmax(axis=1)
    if out.ndim == 1 and np.issubdtype(out.dtype, np.integer):
        return out
    raise OttersError(f"{spec.name}: expected logits (rows x classes) or integer class ids, got shape {out.shape}")


def _unit_scaled(x: np.ndarray) -> np.ndarray:
    """``x / max|x|`` (``x`` if all zero). Pearson's r is scale-invariant, and on unit-scaled inputs scipy's
    sums of squares neither underflow (subnormal scores gave r = 0.707 for 0.866) nor overflow."""
    top = np.abs(x).max()
    return x / top if top > 0 else x


def _correlation(fn, a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(a, b)[0])


def compute_metrics(task: str | TaskSpec, preds, labels) -> dict:
    """GLUE metrics of ``preds`` (class ids, logits or scores) against ``labels``, as fractions."""
    spec = get_task(task) if isinstance(task, str) else task
    if labels is None:
        raise OttersError(f"{spec.name}: this split has no labels (GLUE test labels are not public); use --split dev")
    y_pred = predictions_from_outputs(spec, preds)
    y_true = np.asarray(labels)
    if y_pred.shape[0] != y_true.shape[0]:
        raise OttersError(f"{y_pred.shape[0]} predictions for {y_true.shape[0]} labels")
    if y_true.shape[0] == 0:
        raise OttersError("no examples to score")
    if spec.regression:
        y_pred = y_pred.astype(np.float64)
        y_true = y_true.astype(np.float64)
        if not (np.isfinite(y_pred).all() and np.isfinite(y_true).all()):
            raise OttersError(f"{spec.name}: predictions or labels contain NaN or infinity")
        result = {"pearson": _correlation(pearsonr, _unit_scaled(y_pred), _unit_scaled(y_true)),
                  "spearman": _correlation(spearmanr, y_pred, y_true)}
        result["combined"] = (result["pearson"] + result["spearman"]) / 2
        return result
    y_true = y_true.astype(np.int64)
    y_pred = y_pred.astype(np.int64)
    if spec.name == "cola":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"matthews": float(matthews_corrcoef(y_true, y_pred))}
    result = {"accuracy": float(accuracy_score(y_true, y_pred))}
    if "f1" in metric_names(spec):
        result["f1"] = float(f1_score(y_true, y_pred, pos_label=1, zero_division=0.0))
        result["combined"] = (result["accuracy"] + result["f1"]) / 2
    return result
