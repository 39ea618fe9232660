"""convbook.models.alexnet: d2l's AlexNet, Xavier-initialised (section 8.1)."""

import math

import pytest
import torch
from torch import nn

from convbook.models import AlexNet


def test_alexnet_gives_one_logit_per_class_at_224() -> None:
    torch.manual_seed(0)
    model = AlexNet().eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 224, 224)).shape == (2, 10)


def test_alexnet_layer_summary_at_224_matches_d2l_shapes() -> None:
    rows = AlexNet().layer_summary((1, 1, 224, 224))
    convs_and_pools = [shape for name, shape in rows if name in ("Conv2d", "MaxPool2d")]
    assert convs_and_pools == [
        (1, 96, 54, 54),
        (1, 96, 26, 26),
        (1, 256, 26, 26),
        (1, 256, 12, 12),
        (1, 384, 12, 12),
        (1, 384, 12, 12),
        (1, 256, 12, 12),
        (1, 256, 5, 5),
    ]
    assert rows[-1] == ("Linear", (1, 10))


def test_alexnet_num_classes_sets_the_output_width() -> None:
    with torch.no_grad():
        assert AlexNet(num_classes=3)(torch.randn(1, 1, 65, 65)).shape == (1, 3)


def test_alexnet_min_image_size_is_the_smallest_input_that_fits() -> None:
    side = AlexNet.min_image_size
    with torch.no_grad():
        assert AlexNet()(torch.randn(1, 1, side, side)).shape == (1, 10)
        with pytest.raises(RuntimeError):
            AlexNet()(torch.randn(1, 1, side - 1, side - 1))


def test_alexnet_has_d2l_parameter_count_at_224() -> None:
    model = AlexNet()
    with torch.no_grad():
        model(torch.randn(1, 1, 224, 224))
    # 5 convolutions (3.7M) and 3 dense layers (43.0M), counted layer by layer by hand.
    assert sum(p.numel() for p in model.parameters()) == 46_764_746


def test_alexnet_is_xavier_initialised_after_first_forward() -> None:
    torch.manual_seed(0)
    model = AlexNet()
    with torch.no_grad():
        model(torch.randn(1, 1, 65, 65))
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 8
    for layer in layers:
        fan_out, fan_in = layer.weight.shape[0], layer.weight[0].numel()
        fan_out *= layer.weight[0, 0].numel()  # kernel area for a convolution, 1 for dense
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert layer.weight.abs().max() <= bound
        assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3.0), rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0


def test_alexnet_loss_drops_on_a_fixed_batch_within_three_sgd_steps(
    loss_before_after_sgd,
) -> None:
    torch.manual_seed(0)
    before, after = loss_before_after_sgd(AlexNet(lr=0.1), size=AlexNet.min_image_size)
    assert after < before - 5e-3
