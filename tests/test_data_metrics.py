"""Metrics against their textbook formulas (computed here independently with NumPy)."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from otters.data.metrics import compute_metrics, main_metric, metric_names
from otters.errors import OttersError

binary = st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=200)


def _confusion(pairs):
    y, p = np.array(pairs).T
    tp = int(((p == 1) & (y == 1)).sum())
    tn = int(((p == 0) & (y == 0)).sum())
    fp = int(((p == 1) & (y == 0)).sum())
    fn = int(((p == 0) & (y == 1)).sum())
    return y, p, tp, tn, fp, fn


@settings(max_examples=60)
@given(binary)
def test_accuracy_f1_matthews_formulas(pairs):
    y, p, tp, tn, fp, fn = _confusion(pairs)
    mrpc = compute_metrics("mrpc", p, y)
    assert mrpc["accuracy"] == pytest.approx((tp + tn) / len(y))
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    assert mrpc["f1"] == pytest.approx(f1)
    assert mrpc["combined"] == pytest.approx((mrpc["accuracy"] + f1) / 2)
    denom = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    mcc = (tp * tn - fp * fn) / denom if denom else 0.0
    assert compute_metrics("cola", p, y)["matthews"] == pytest.approx(mcc, abs=1e-12)
    assert set(compute_metrics("sst2", p, y)) == {"accuracy"}


def _ranks(x):
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    for value in np.unique(x):  # average ranks of ties
        ranks[x == value] = ranks[x == value].mean()
    return ranks


@settings(max_examples=40)
@given(st.lists(st.tuples(st.floats(0, 5), st.floats(-1, 6)), min_size=3, max_size=100))
@example([(1.0, 0.0), (2.0, 0.0), (3.0, 5e-324)])  # subnormal scores: scipy alone said 0.707, not 0.866
def test_pearson_spearman_formulas(pairs):
    y, p = (np.array(v, dtype=np.float64) for v in zip(*pairs))
    result = compute_metrics("stsb", p.reshape(-1, 1), y)
    if np.ptp(y) == 0 or np.ptp(p) == 0:
        assert result["pearson"] == 0.0 and result["spearman"] == 0.0
        return
    # the reference scales each vector to max |x| = 1 first (correlation is scale-invariant): on raw
    # subnormal inputs hypothesis finds (p = [0, 0, 5e-324]) np.corrcoef's variances underflow to nan
    unit = lambda x: x / np.abs(x).max()  # noqa: E731
    assert result["pearson"] == pytest.approx(np.corrcoef(unit(p), unit(y))[0, 1], abs=1e-9)
    ry, rp = _ranks(y), _ranks(p)
    if np.ptp(ry) and np.ptp(rp):
        assert result["spearman"] == pytest.approx(np.corrcoef(rp, ry)[0, 1], abs=1e-9)


def test_logits_are_argmaxed_and_shapes_checked():
    logits = np.array([[0.1, 0.9, 0.0], [2.0, 0.0, 1.0], [0.0, 0.0, 3.0]])
    assert compute_metrics("mnli", logits, np.array([1, 0, 0]))["accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(OttersError, match="3 classes but the outputs have 2"):
        compute_metrics("mnli", logits[:, :2], np.array([1, 0, 0]))
    with pytest.raises(OttersError, match="2 predictions for 3 labels"):
        compute_metrics("rte", np.array([0, 1]), np.array([0, 1, 1]))
    with pytest.raises(OttersError, match="no labels"):
        compute_metrics("rte", np.array([0]), None)
    with pytest.raises(OttersError, match="NaN"):
        compute_metrics("stsb", np.array([np.nan, 1.0]), np.array([1.0, 2.0]))


def test_main_metric_is_among_the_metrics():
    for task in ("cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "mnli-mm", "qnli", "rte", "wnli", "rt"):
        assert main_metric(task) in metric_names(task)
    assert main_metric("cola") == "matthews" and main_metric("rt") == "accuracy"
