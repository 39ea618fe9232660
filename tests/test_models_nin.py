"""convbook.models.nin: NiN blocks, global average pooling and d2l's NiN (section 8.3)."""

import math

import pytest
import torch
from torch import nn

from convbook.models import NiN, nin_block


def test_nin_block_is_one_convolution_then_two_1x1_convolutions() -> None:
    block = nin_block(8, kernel_size=3, strides=1, padding=1)
    with torch.no_grad():
        assert block(torch.randn(2, 3, 10, 10)).shape == (2, 8, 10, 10)
    convs = [m for m in block if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3), (1, 1), (1, 1)]
    assert sum(isinstance(m, nn.ReLU) for m in block) == 3


def test_nin_block_strides_like_a_plain_convolution() -> None:
    block = nin_block(96, kernel_size=11, strides=4, padding=0)
    with torch.no_grad():
        assert block(torch.randn(1, 1, 224, 224)).shape == (1, 96, 54, 54)


def test_nin_block_1x1_convolution_is_a_dense_layer_on_each_pixel() -> None:
    torch.manual_seed(0)
    block = nin_block(4, kernel_size=1, strides=1, padding=0)
    x = torch.randn(2, 3, 5, 5)
    conv = block[2]  # the first of the two 1x1 convolutions
    dense = nn.Linear(4, 4)
    with torch.no_grad():
        block(x)  # materialise the lazy layers
        dense.weight.copy_(conv.weight[:, :, 0, 0])
        dense.bias.copy_(conv.bias)
        first = block[:2](x)  # N x 4 x 5 x 5
        by_pixel = dense(first.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        assert torch.allclose(by_pixel, conv(first), atol=1e-6)


@pytest.mark.parametrize("args", [(0, 3, 1, 1), (8, 0, 1, 1), (8, 3, 0, 1), (8, 3, 1, -1)])
def test_nin_block_rejects_impossible_sizes(args) -> None:
    with pytest.raises(ValueError, match="out_channels"):
        nin_block(*args)


def test_nin_gives_one_logit_per_class_at_224() -> None:
    torch.manual_seed(0)
    model = NiN().eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 224, 224)).shape == (2, 10)


def test_nin_layer_summary_at_224_ends_in_global_average_pooling() -> None:
    rows = NiN().layer_summary((1, 1, 224, 224))
    assert [shape for _, shape in rows] == [
        (1, 96, 54, 54),
        (1, 96, 26, 26),
        (1, 256, 26, 26),
        (1, 256, 12, 12),
        (1, 384, 12, 12),
        (1, 384, 5, 5),
        (1, 384, 5, 5),
        (1, 10, 5, 5),
        (1, 10, 1, 1),
        (1, 10),
    ]
    assert rows[-2][0] == "AdaptiveAvgPool2d"


def test_nin_parameter_count_does_not_depend_on_input_size() -> None:
    counts = []
    for side in (NiN.min_image_size, 224):
        model = NiN()
        with torch.no_grad():
            model(torch.randn(1, 1, side, side))
        counts.append(sum(p.numel() for p in model.parameters()))
    # No dense layer: four blocks of 0.03M, 0.75M, 1.18M and 0.03M parameters.
    assert counts == [1_992_166, 1_992_166]


def test_nin_min_image_size_is_the_smallest_input_that_fits() -> None:
    side = NiN.min_image_size
    with torch.no_grad():
        assert NiN()(torch.randn(1, 1, side, side)).shape == (1, 10)
        with pytest.raises(RuntimeError):
            NiN()(torch.randn(1, 1, side - 1, side - 1))


def test_nin_is_xavier_initialised_after_first_forward() -> None:
    torch.manual_seed(0)
    model = NiN()
    with torch.no_grad():
        model(torch.randn(1, 1, 67, 67))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 12
    for conv in convs:
        kernel_area = conv.weight[0, 0].numel()
        fan_in, fan_out = conv.weight[0].numel(), conv.weight.shape[0] * kernel_area
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert conv.weight.abs().max() <= bound
        assert torch.count_nonzero(conv.bias) == 0
        if conv.weight.numel() >= 1000:  # the 10 x 10 1x1 kernels are too small to test
            assert conv.weight.std().item() == pytest.approx(bound / math.sqrt(3.0), rel=0.05)


def test_nin_loss_drops_on_a_fixed_batch_within_three_sgd_steps(
    loss_before_after_sgd,
) -> None:
    torch.manual_seed(0)
    before, after = loss_before_after_sgd(NiN(lr=0.1), size=NiN.min_image_size)
    assert after < before - 5e-4
