"""Accuracy beyond the exactness envelope (`otters degrade`): the envelope of a student's windows, the
degraded chips one parameter at a time, exact at the bounds and measured past them, the figure, the CLI."""

import json

import pytest
import torch

from cli_helpers import run_main
from otters.coding.tolerance import drift_window, tolerance
from otters.device import PAPER_CURVE
from otters.errors import OttersError
from otters.models import build_student, save_student
from otters.pipeline import get_profile
from otters.pipeline.context import RunContext
from otters.pipeline.steps_eval import _degradation
from otters.quant import LSQQuantizer
from otters.snn.convert import convert
from otters.snn.mttfs import configure_coding
from otters.snn.mttfs.checkpoint import save_coding
from otters.studies.degradation import (
    DegradationRequest,
    degradation_plot,
    degrade,
    envelope,
    parse_bit_drops,
    parse_multiples,
    parse_parameters,
)
from snn_bert_helpers import calibrated, tiny_batch

torch.set_num_threads(1)


def _saturating():
    """A tiny otters-1bitkv student with shrunk steps: every step of every window carries spikes."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = calibrated(build_student("otters-1bitkv", "tiny"), tiny_batch(0))
    for module in model.modules():
        if isinstance(module, LSQQuantizer) and module.bits > 1:
            module.alpha.data *= 0.3
    return model


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    return save_student(_saturating(), tmp_path_factory.mktemp("degrade") / "student")


def test_envelope_is_the_tolerance_of_the_windows_read():
    snn = convert(_saturating())
    env = envelope(snn, 8)
    tol = tolerance(PAPER_CURVE, 15, 8, env["dt"])
    assert env["T"] == [15] and env["min_adc_bits"] == 4
    assert env["max_clock_period"] == tol.max_clock_period.value and env["max_jitter"] == tol.max_jitter.value
    low, high = drift_window(PAPER_CURVE, 15, 8, env["dt"])
    assert env["max_output_drift"] == pytest.approx(tol.max_output_drift.value) == min(high, -low)
    assert env["drift_side"] == (1 if high <= -low else -1)


def test_degrade_is_exact_at_the_bounds_and_measured_past_them(student, tmp_path):
    result = degrade(DegradationRequest(student, sentences=6, multiples=(1.0, 4.0), bit_drops=(0, 3)))
    points = {(p.parameter, p.label): p for p in result.points}
    assert list(points) == [("dt", "1x"), ("dt", "4x"), ("adc_bits", "b_min"), ("adc_bits", "b_min-3"),
                            ("drift", "1x"), ("drift", "4x"), ("jitter", "1x"), ("jitter", "4x")]
    assert result.sentences == 6 and 0.0 <= result.closed_form <= 1.0
    for key in [("dt", "1x"), ("adc_bits", "b_min")]:
        p = points[key]
        assert p.exact and p.exact_sentences == 6 and p.agreement == 1.0 and p.accuracy == result.closed_form
    assert points[("adc_bits", "b_min-3")].value == 1.0 and not points[("adc_bits", "b_min-3")].exact
    assert points[("dt", "1x")].wrong_codes == 0 and points[("adc_bits", "b_min")].wrong_codes == 0
    assert points[("dt", "4x")].wrong_codes == 1 and points[("jitter", "4x")].wrong_codes is None
    assert points[("adc_bits", "b_min-3")].max_code_error >= 1  # one code spans 8 levels
    assert points[("drift", "4x")].value == pytest.approx(4 * result.bounds["drift_side"]
                                                          * result.bounds["max_output_drift"])
    out = degradation_plot(result, tmp_path / "degrade.png")
    assert out.stat().st_size > 1000


def test_degrade_refuses_a_masked_student(tmp_path):
    model = _saturating()
    configure_coding(model, "split")
    path = save_student(model, tmp_path / "student")
    save_coding(model, path)
    with pytest.raises(OttersError, match="plain TTFS"):
        degrade(DegradationRequest(path, sentences=2, parameters=("dt",)))


def test_cli_degrade_json_and_plot(student, capsys, tmp_path):
    code, out, _ = run_main(capsys, "degrade", str(student), "--sentences", "3", "--parameters", "jitter",
                            "--multiples", "1,2", "--json", "--plot", str(tmp_path / "d.png"),
                            "--out", str(tmp_path / "d.json"))
    data = json.loads(out)
    assert code == 0 and [p["label"] for p in data["points"]] == ["1x", "2x"]
    assert json.loads((tmp_path / "d.json").read_text()) == data and (tmp_path / "d.png").is_file()


@pytest.mark.parametrize("args, fragment", [
    (["--multiples", "0,1"], "--multiples"),
    (["--bit-drops", "x"], "--bit-drops"),
    (["--parameters", "dt,clock"], "--parameters"),
    (["--sentences", "0"], "--sentences"),
])
def test_cli_degrade_bad_input(student, capsys, args, fragment):
    code, _, err = run_main(capsys, "degrade", str(student), *args)
    assert code == 2 and err.startswith("otters: error:") and fragment in err and len(err.strip().splitlines()) == 1


def test_parsers():
    assert parse_multiples("1, 1.5,2") == (1.0, 1.5, 2.0)
    assert parse_bit_drops("0,2") == (0, 2)
    assert parse_parameters("drift,dt") == ("drift", "dt")


def test_full_profile_records_the_degradation_for_the_report(student, tmp_path):
    """The robustness step's degradation record (full profile): the points, the figure and the command."""
    ctx = RunContext(run_dir=tmp_path, task="rt", profile=get_profile(
        "full", degradation={"sentences": 2, "multiples": (1.0,), "bit_drops": (0,)}), log=lambda msg: None)
    summary = _degradation(ctx, str(student))
    assert [(p.parameter, p.label) for p in summary.points] == [("dt", "1x"), ("adc_bits", "b_min"), ("drift", "1x"),
                                                                 ("jitter", "1x")]
    assert (tmp_path / summary.files["figure"]).is_file() and (tmp_path / summary.files["degradation"]).is_file()
    assert summary.command.command.startswith(f"otters degrade {student} --task rt --split test --sentences 2")
    assert get_profile("quick").degradation == {}
