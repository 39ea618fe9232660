import torch
from torch import nn

from convbook.profile import layer_costs, print_costs


def test_layer_costs_counts_parameters_and_flops_of_each_layer():
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(4704, 10))
    rows = layer_costs(net, (1, 1, 28, 28))
    assert [r[0] for r in rows] == [" 0 Conv2d", " 1 ReLU", " 2 Flatten", " 3 Linear"]
    assert rows[0][1:] == ((1, 6, 28, 28), 6 * 25 + 6, 2 * 6 * 28 * 28 * 25)  # a MAC is 2 FLOPs
    assert rows[3][1:] == ((1, 10), 4704 * 10 + 10, 2 * 4704 * 10)
    assert rows[1][2:] == (0, 0)


def test_layer_costs_on_named_blocks_built_on_the_meta_device():
    with torch.device("meta"):
        stem = nn.Conv2d(3, 8, 3, padding=1)
        head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    rows = layer_costs([("stem", stem), ("head", head)], (2, 3, 16, 16))
    assert [(name, shape) for name, shape, _, _ in rows] == [
        ("stem", (2, 8, 16, 16)),
        ("head", (2, 2)),
    ]
    assert rows[0][3] == 2 * 2 * 8 * 16 * 16 * 27
    assert rows[1][2] == 18


def test_layer_costs_names_lazy_layers_by_what_they_become():
    with torch.device("meta"):
        net = nn.Sequential(nn.LazyConv2d(4, 3), nn.Flatten(), nn.LazyLinear(2))
    rows = layer_costs(net, (1, 1, 8, 8))
    assert [r[0] for r in rows] == [" 0 Conv2d", " 1 Flatten", " 2 Linear"]
    assert rows[2][2] == 4 * 6 * 6 * 2 + 2


def test_print_costs_lists_layers_with_weights_or_flops_and_their_shares(capsys):
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(4704, 10))
    print_costs(layer_costs(net, (1, 1, 28, 28)))
    header, conv, linear, total = capsys.readouterr().out.splitlines()
    assert "ReLU" not in header + conv + linear  # no parameters, no FLOPs: not listed
    assert conv.split()[-2:] == ["0.3", "71.4"] and linear.split()[-2:] == ["99.7", "28.6"]
    assert total.split()[1:] == ["47,206", "0.3"]
