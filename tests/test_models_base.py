import math

import pytest
import torch
from torch import nn

from convbook.models import LeNet, init_cnn, layer_summary

# LeNet on a 1 x 28 x 28 image, as printed in the course notes for section 7.6.
LENET_SHAPES = [
    ("Conv2d", (1, 6, 28, 28)),
    ("Sigmoid", (1, 6, 28, 28)),
    ("AvgPool2d", (1, 6, 14, 14)),
    ("Conv2d", (1, 16, 10, 10)),
    ("Sigmoid", (1, 16, 10, 10)),
    ("AvgPool2d", (1, 16, 5, 5)),
    ("Flatten", (1, 400)),
    ("Linear", (1, 120)),
    ("Sigmoid", (1, 120)),
    ("Linear", (1, 84)),
    ("Sigmoid", (1, 84)),
    ("Linear", (1, 10)),
]


def xavier_bound(layer: nn.Module) -> float:
    fan_out, fan_in = layer.weight.shape[:2]
    field = math.prod(layer.weight.shape[2:])
    return math.sqrt(6 / (fan_in * field + fan_out * field))


def test_lenet_layer_summary_matches_the_course_shapes(capsys):
    rows = LeNet().layer_summary((1, 1, 28, 28))
    assert rows == LENET_SHAPES
    assert "Conv2d output shape:\t(1, 6, 28, 28)" in capsys.readouterr().out


def test_init_cnn_initialises_lazy_layers_that_d2l_skips():
    torch.manual_seed(0)
    net = nn.Sequential(nn.LazyConv2d(64, 3), nn.Flatten(), nn.LazyLinear(256))
    net.apply(init_cnn)  # still lazy here: d2l's exact-type check would skip both
    net(torch.zeros(2, 32, 8, 8))
    for layer in (net[0], net[2]):
        bound = xavier_bound(layer)
        w = layer.weight.detach()
        assert w.abs().max() <= bound
        # uniform(-b, b) has std b / sqrt(3); PyTorch's default init is ~8x narrower here
        assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
        assert torch.all(layer.bias == 0)
    assert not hasattr(net[0], "_convbook_init_hook")  # the hook removed itself


def test_init_cnn_on_built_layers_and_ignores_others():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 5), nn.BatchNorm2d(16), nn.Linear(10, 20))
    bn_weight = net[1].weight.detach().clone()
    net.apply(init_cnn)
    assert net[0].weight.abs().max() <= xavier_bound(net[0])
    assert torch.equal(net[1].weight, bn_weight)


def test_lenet_is_xavier_initialised_after_first_forward():
    model = LeNet()
    model(torch.zeros(1, 1, 28, 28))
    conv = model.net[0]
    assert conv.weight.abs().max() <= xavier_bound(conv)
    assert conv.weight.std().item() > 0.8 * xavier_bound(conv) / math.sqrt(3)


def test_layer_summary_rejects_non_sequential():
    with pytest.raises(ValueError, match="nn.Sequential"):
        layer_summary(nn.Linear(2, 2), (1, 2))


def test_classifier_loss_and_accuracy_follow_d2l():
    model = LeNet()
    logits = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0]])
    labels = torch.tensor([0, 1, 1])
    expected = nn.functional.cross_entropy(logits, labels)
    torch.testing.assert_close(model.loss(logits, labels), expected)
    assert model.loss(logits, labels, averaged=False).shape == (3,)
    assert model.accuracy(logits, labels).item() == pytest.approx(2 / 3)
    assert isinstance(model.configure_optimizers(), torch.optim.SGD)
