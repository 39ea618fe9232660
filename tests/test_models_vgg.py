"""convbook.models.vgg: VGG blocks, the paper's configurations and d2l's narrow VGG-11
(section 8.2)."""

import math

import pytest
import torch
from torch import nn

from convbook.models import (
    VGG,
    VGG11_ARCH,
    VGG11_NARROW_ARCH,
    VGG16_ARCH,
    VGG19_ARCH,
    vgg_block,
)

# The seeds' VGG-11 layer summary for a (1, 1, 224, 224) input.
SEED_VGG11_SHAPES_224 = [
    ("Sequential", (1, 64, 112, 112)),
    ("Sequential", (1, 128, 56, 56)),
    ("Sequential", (1, 256, 28, 28)),
    ("Sequential", (1, 512, 14, 14)),
    ("Sequential", (1, 512, 7, 7)),
    ("Flatten", (1, 25088)),
    ("Linear", (1, 4096)),
    ("ReLU", (1, 4096)),
    ("Dropout", (1, 4096)),
    ("Linear", (1, 4096)),
    ("ReLU", (1, 4096)),
    ("Dropout", (1, 4096)),
    ("Linear", (1, 10)),
]


def _on_meta(arch, in_channels: int = 1, num_classes: int = 10, side: int = 224) -> VGG:
    """A VGG whose lazy layers are sized by a 224 input on the meta device: no memory, no math."""
    with torch.device("meta"):
        model = VGG(arch, num_classes=num_classes)
        model(torch.empty(1, in_channels, side, side))
    return model


def _count(model: nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


def test_vgg_block_keeps_channels_count_and_halves_height_and_width() -> None:
    block = vgg_block(2, 8)
    with torch.no_grad():
        assert block(torch.randn(2, 3, 16, 12)).shape == (2, 8, 8, 6)
    assert [type(m).__name__ for m in block] == ["Conv2d", "ReLU", "Conv2d", "ReLU", "MaxPool2d"]


@pytest.mark.parametrize(("num_convs", "out_channels"), [(0, 8), (2, 0), (-1, 4)])
def test_vgg_block_rejects_sizes_below_one(num_convs: int, out_channels: int) -> None:
    with pytest.raises(ValueError, match="num_convs"):
        vgg_block(num_convs, out_channels)


@pytest.mark.parametrize("arch", [(), ((1, 64), (2,))])
def test_vgg_rejects_an_arch_that_is_not_pairs(arch) -> None:
    with pytest.raises(ValueError, match="arch"):
        VGG(arch)


def test_vgg11_layer_summary_at_224_equals_the_seed_shapes(capsys) -> None:
    rows = _on_meta(VGG11_ARCH).layer_summary((1, 1, 224, 224))
    assert rows == SEED_VGG11_SHAPES_224
    assert "Sequential output shape:\t(1, 64, 112, 112)" in capsys.readouterr().out


def test_narrow_vgg11_gives_one_logit_per_class_at_224() -> None:
    torch.manual_seed(0)
    model = VGG(VGG11_NARROW_ARCH).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 224, 224)).shape == (2, 10)


@pytest.mark.parametrize(
    ("arch", "num_convs"), [(VGG11_ARCH, 8), (VGG16_ARCH, 13), (VGG19_ARCH, 16)]
)
def test_vgg_configurations_have_the_paper_convolution_counts(arch, num_convs: int) -> None:
    model = VGG(arch)
    assert _count(model, nn.Conv2d) == num_convs  # lazy layers are Conv2d subclasses
    assert _count(model, nn.Linear) == 3  # the "+3" in VGG-11/16/19
    assert _count(model, nn.MaxPool2d) == 5


@pytest.mark.parametrize(
    ("arch", "num_params"),
    # torchvision's vgg11/vgg16/vgg19 (RGB input, 1000 classes) have these counts.
    [(VGG11_ARCH, 132_863_336), (VGG16_ARCH, 138_357_544), (VGG19_ARCH, 143_667_240)],
)
def test_vgg_on_imagenet_shapes_has_the_published_parameter_counts(arch, num_params) -> None:
    model = _on_meta(arch, in_channels=3, num_classes=1000)
    assert sum(p.numel() for p in model.parameters()) == num_params


def test_vgg11_for_fashion_mnist_has_expected_parameter_count() -> None:
    # One input channel and 10 classes: 9.2M in convolutions, 119.6M in the dense layers.
    model = _on_meta(VGG11_ARCH)
    assert sum(p.numel() for p in model.parameters()) == 128_806_154


def test_vgg_min_image_size_is_two_to_the_number_of_blocks() -> None:
    model = VGG(VGG11_NARROW_ARCH)
    assert model.min_image_size == 32
    with torch.no_grad():
        assert model(torch.randn(1, 1, 32, 32)).shape == (1, 10)
        with pytest.raises(RuntimeError):
            VGG(VGG11_NARROW_ARCH)(torch.randn(1, 1, 31, 31))


def test_vgg_is_xavier_initialised_after_first_forward() -> None:
    torch.manual_seed(0)
    model = VGG(VGG11_NARROW_ARCH)
    with torch.no_grad():
        model(torch.randn(1, 1, 32, 32))
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 11
    for layer in layers:
        kernel_area = layer.weight[0, 0].numel()
        fan_in, fan_out = layer.weight[0].numel(), layer.weight.shape[0] * kernel_area
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert layer.weight.abs().max() <= bound
        assert torch.count_nonzero(layer.bias) == 0
        if layer.weight.numel() >= 1000:  # the first 16 x 1 x 3 x 3 kernel is too small to test
            assert layer.weight.std().item() == pytest.approx(bound / math.sqrt(3.0), rel=0.05)


def test_vgg_loss_drops_on_a_fixed_batch_within_three_sgd_steps(
    loss_before_after_sgd,
) -> None:
    torch.manual_seed(0)
    before, after = loss_before_after_sgd(VGG(VGG11_NARROW_ARCH, lr=0.1), size=32)
    assert after < before - 5e-3
