"""GoogLeNet and the Inception block (section 8.4)."""

import torch

from convbook.models import GoogLeNet, Inception

# d2l's GoogLeNet layer shapes for a 96x96 input (stages b1 ... b5, then the head)
SHAPES_AT_96 = [
    (1, 64, 24, 24),
    (1, 192, 12, 12),
    (1, 480, 6, 6),
    (1, 832, 3, 3),
    (1, 1024),
    (1, 10),
]


def test_inception_concatenates_the_four_branches_at_the_input_resolution():
    block = Inception(64, (96, 128), (16, 32), 32)
    out = block(torch.randn(2, 192, 12, 12))
    assert out.shape == (2, 64 + 128 + 32 + 32, 12, 12)


def test_inception_output_is_nonnegative_because_every_branch_ends_in_relu():
    torch.manual_seed(0)
    out = Inception(4, (2, 4), (2, 4), 4)(torch.randn(3, 5, 7, 7))
    assert out.min() >= 0


def test_googlenet_gives_ten_logits_at_d2l_input_size_96():
    torch.manual_seed(0)
    model = GoogLeNet()
    assert model(torch.randn(2, 1, 96, 96)).shape == (2, 10)


def test_googlenet_layer_summary_at_96_matches_d2l(capsys):
    torch.manual_seed(0)
    rows = GoogLeNet().layer_summary((1, 1, 96, 96))
    assert [shape for _, shape in rows] == SHAPES_AT_96
    assert [name for name, _ in rows] == ["Sequential"] * 5 + ["Linear"]
    assert "output shape" in capsys.readouterr().out


def test_googlenet_works_at_its_smallest_supported_size():
    torch.manual_seed(0)
    size = GoogLeNet.min_image_size
    assert GoogLeNet(num_classes=3)(torch.randn(2, 1, size, size)).shape == (2, 3)


def test_googlenet_layers_get_xavier_init_after_the_first_forward():
    torch.manual_seed(0)
    model = GoogLeNet()
    model(torch.randn(1, 1, 32, 32))
    head = model.net[-1]
    bound = (6 / (head.in_features + head.out_features)) ** 0.5
    assert head.weight.abs().max() <= bound
    assert torch.all(head.bias == 0)


def test_googlenet_loss_drops_on_a_fixed_small_batch(sgd_losses):
    torch.manual_seed(0)
    x, y = torch.randn(4, 1, 32, 32), torch.arange(4)
    model = GoogLeNet(lr=0.1)
    losses = sgd_losses(model, x, y, steps=3)
    assert losses[-1] < losses[0]
