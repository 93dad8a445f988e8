"""otters.quantize (float MLP -> QNN) and otters.finetune_qat, end to end on scikit-learn's digits."""

import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

import otters
from otters.errors import OttersError
from otters.nn.from_float import calibrate_step
from otters.quant import LSQQuantizer


@pytest.fixture(scope="module")
def digits_float():
    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.int64)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 48), nn.ReLU(), nn.Dropout(0.1), nn.Linear(48, 10))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(40):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[:1400]), y[:1400]).backward()
        opt.step()
    return model.eval(), x, y


def test_digits_float_mlp_through_quantize_qat_convert_verify(digits_float):
    model, x, y = digits_float
    float_acc = float((model(x[1400:]).argmax(1) == y[1400:]).float().mean())
    qnn = otters.quantize(model, x[:256], act_bits=4, weight_bits=1)
    assert qnn.config.sizes == [64, 48, 10] and not qnn.config.signed_input  # pixels are >= 0
    result = otters.finetune_qat(qnn, (x[:1400], y[:1400]), epochs=2, seed=0)
    assert result.steps == 2 * 22  # ceil(1400 / 64) batches per epoch
    assert result.accuracy_after > result.accuracy_before  # QAT recovers what 1-bit weights cost
    held_out = float((qnn(x[1400:]).argmax(1) == y[1400:]).float().mean())
    assert held_out > 0.8 and float_acc > 0.8
    snn = otters.convert(qnn)
    check = otters.verify(qnn, snn, x[1400:])
    assert check.exact and check.max_level_diff == 0 and check.max_spikes_per_neuron <= 1


def test_multibit_weights_and_post_training_accuracy(digits_float):
    model, x, _ = digits_float
    qnn = otters.quantize(model, x[:256], act_bits=4, weight_bits=4)
    float_pred, q_pred = model(x[1400:]).argmax(1), qnn(x[1400:]).argmax(1)
    assert float((float_pred == q_pred).float().mean()) > 0.9  # 4-bit PTQ stays close to the float net
    assert otters.verify(qnn, otters.convert(qnn), x[:64]).exact


def test_traced_module_graph_is_accepted():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(8, 6), nn.Linear(6, 3)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))

    torch.manual_seed(1)
    net, x = Net().eval(), torch.randn(64, 8)
    qnn = otters.quantize(net, x, act_bits=6, weight_bits=8)
    assert qnn.config.sizes == [8, 6, 3] and qnn.config.signed_input
    assert otters.verify(qnn, otters.convert(qnn), x).exact


@pytest.mark.parametrize("bad, named", [
    (nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2)), r"cannot take 1 \(Sigmoid\)"),
    (nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 2)), r"cannot take 1 \(BatchNorm1d\)"),
    (nn.Sequential(nn.Sequential(nn.Linear(4, 4), nn.GELU()), nn.Linear(4, 2)), r"cannot take 0\.1 \(GELU\)"),
    (nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU()), "ReLU after the last Linear"),
    (nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.Linear(4, 2)), "mixes"),
    (nn.Sequential(nn.ReLU(), nn.Linear(4, 2)), "does not follow a Linear"),
])
def test_unsupported_module_gets_one_clear_error(bad, named):
    with pytest.raises(OttersError, match=named) as info:
        otters.quantize(bad, torch.randn(16, 4))
    assert "\n" not in str(info.value)


def test_untraceable_or_branching_module_is_refused():
    class Branch(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 2), nn.Linear(4, 2)

        def forward(self, x):
            return self.a(x) + self.b(x)

    with pytest.raises(OttersError, match="single chain"):
        otters.quantize(Branch(), torch.randn(16, 4))


def test_bad_calibration_inputs_are_refused():
    model = nn.Sequential(nn.Linear(4, 2))
    with pytest.raises(OttersError, match="4 features"):
        otters.quantize(model, torch.randn(16, 5))
    with pytest.raises(OttersError, match="NaN"):
        otters.quantize(model, torch.full((16, 4), float("nan")))


def test_calibrated_step_beats_the_unclipped_step_on_heavy_tails():
    torch.manual_seed(0)
    x = torch.randn(4096) ** 3  # heavy tails: clipping the range lowers the squared error
    q = LSQQuantizer(4, signed=True)
    alpha = calibrate_step(q, x)
    unclipped = float(x.abs().max()) / q.qp

    def mse(a):
        return float(((torch.clamp(torch.floor(x / a + 0.5), q.qmin, q.qmax) * a - x) ** 2).mean())

    assert alpha < unclipped and mse(alpha) < mse(unclipped)
    assert torch.equal(q.levels(x), torch.clamp(torch.floor(x / alpha + 0.5), q.qmin, q.qmax).to(torch.int64))
