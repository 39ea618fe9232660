"""Residual blocks, ResNet-18 and the ResNeXt block (section 8.6)."""

import pytest
import torch
from torch import nn

from convbook.models import RESNET18_ARCH, Residual, ResNet, ResNet18, ResNeXtBlock

# the seeds' ResNet-18 layer summary at 96x96: stem, four stages, head
SEED_SHAPES_AT_96 = [
    (1, 64, 24, 24),
    (1, 64, 24, 24),
    (1, 128, 12, 12),
    (1, 256, 6, 6),
    (1, 512, 3, 3),
    (1, 10),
]


def test_residual_keeps_the_shape_without_1x1_conv():
    torch.manual_seed(0)
    assert Residual(3)(torch.randn(4, 3, 6, 6)).shape == (4, 3, 6, 6)


def test_residual_halves_height_and_width_and_changes_channels_with_1x1_conv_and_stride_2():
    torch.manual_seed(0)
    block = Residual(6, use_1x1conv=True, strides=2)
    assert block(torch.randn(4, 3, 6, 6)).shape == (4, 6, 3, 3)


def test_residual_without_1x1_conv_cannot_change_the_channels():
    with pytest.raises(RuntimeError):
        Residual(6)(torch.randn(4, 3, 6, 6))


def test_residual_without_1x1_conv_cannot_change_the_resolution():
    with pytest.raises(RuntimeError):
        Residual(3, strides=2)(torch.randn(4, 3, 6, 6))


def test_residual_with_zero_weights_passes_nonnegative_input_through():
    block = Residual(3)
    x = torch.rand(2, 3, 5, 5)
    block(x)  # materialise the lazy layers
    with torch.no_grad():
        block.bn2.weight.zero_()  # the residual branch now outputs bn2's bias, which is 0
    block.eval()
    torch.testing.assert_close(block(x), x)


def test_resnet18_layer_summary_at_96_equals_the_seeds_shapes(capsys):
    torch.manual_seed(0)
    rows = ResNet18().layer_summary((1, 1, 96, 96))
    assert [shape for _, shape in rows] == SEED_SHAPES_AT_96
    assert [name for name, _ in rows] == ["Sequential"] * 6
    assert "Sequential output shape:\t(1, 512, 3, 3)" in capsys.readouterr().out


def test_resnet18_gives_ten_logits_at_d2l_input_size_96():
    torch.manual_seed(0)
    assert ResNet18()(torch.randn(2, 1, 96, 96)).shape == (2, 10)


def test_resnet18_uses_d2l_arch_and_learning_rate():
    model = ResNet18()
    assert model.arch == RESNET18_ARCH == ((2, 64), (2, 128), (2, 256), (2, 512))
    assert model.lr == 0.01
    assert isinstance(model.configure_optimizers(), torch.optim.SGD)


def test_resnet_with_custom_arch_has_one_stage_per_entry():
    torch.manual_seed(0)
    model = ResNet(((1, 8), (1, 16)), num_classes=4)
    assert model.min_image_size == 8
    assert model(torch.randn(2, 1, 16, 16)).shape == (2, 4)
    assert [name for name, _ in model.net.named_children()] == ["0", "b2", "b3", "last"]
    assert model.net.b2[0].conv3 is not None  # 64 stem channels -> 8 needs a 1x1 shortcut


def test_resnet_first_stage_keeps_resolution_and_later_stages_use_1x1_shortcut():
    model = ResNet18()
    first, *later = (getattr(model.net, f"b{i}") for i in range(2, 6))
    assert all(block.conv3 is None for block in first)
    for stage in later:
        assert stage[0].conv3 is not None and stage[0].conv3.stride == (2, 2)
        assert stage[1].conv3 is None


def test_resnet18_loss_drops_on_a_fixed_small_batch(sgd_losses):
    torch.manual_seed(0)
    x, y = torch.randn(8, 1, 32, 32), torch.arange(8) % 10
    losses = sgd_losses(ResNet18(lr=0.01), x, y, steps=3)
    assert losses[-1] < losses[0]


def test_resnext_block_keeps_the_seed_shape():
    torch.manual_seed(0)
    block = ResNeXtBlock(32, 16, 1)
    assert block(torch.randn(4, 32, 96, 96)).shape == (4, 32, 96, 96)


@pytest.mark.parametrize(
    ("num_channels", "groups", "bot_mul"), [(32, 16, 1), (32, 2, 1), (64, 4, 0.5)]
)
def test_resnext_grouped_conv_has_groups_groups_not_channels_per_group(
    num_channels, groups, bot_mul
):
    block = ResNeXtBlock(num_channels, groups, bot_mul)
    block(torch.randn(1, num_channels, 4, 4))
    bot_channels = int(round(num_channels * bot_mul))
    assert block.conv2.groups == groups
    # each of the `groups` filters banks sees bot_channels / groups input channels
    assert block.conv2.weight.shape == (bot_channels, bot_channels // groups, 3, 3)


def test_resnext_block_with_1x1_conv_and_stride_2_halves_the_resolution():
    torch.manual_seed(0)
    block = ResNeXtBlock(16, 4, 0.5, use_1x1conv=True, strides=2)
    assert block(torch.randn(2, 8, 10, 10)).shape == (2, 16, 5, 5)


def test_resnext_block_rejects_groups_that_do_not_divide_the_bottleneck():
    with pytest.raises(ValueError, match="groups=3"):
        ResNeXtBlock(32, 3, 1)


def test_resnext_grouped_conv_has_groups_times_fewer_weights_than_a_dense_conv():
    dense, grouped = ResNeXtBlock(32, 1, 1), ResNeXtBlock(32, 8, 1)
    for block in (dense, grouped):
        block(torch.randn(1, 32, 4, 4))
    assert dense.conv2.weight.numel() == 8 * grouped.conv2.weight.numel()
    assert isinstance(grouped.conv2, nn.Conv2d)
