"""convbook.diagrams: a figure shows exactly what the code computes.

Window diagrams must show the numbers that ``corr2d``, ``pool2d`` and ``F.conv2d`` return,
and each worked sum must add up to its output element. Architecture diagrams must show the
shapes the model really produces, which these tests compute independently, by running the
layers one after the other.
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convbook.diagrams import (
    correlation_diagram,
    draw,
    pooling_diagram,
    trace_block,
    trace_network,
)
from convbook.models import (
    VGG,
    VGG11_ARCH,
    AlexNet,
    BNLeNetScratch,
    GoogLeNet,
    Inception,
    LeNet,
    Residual,
    ResNet18,
    ResNeXtBlock,
    nin_block,
    vgg_block,
)
from convbook.ops import conv_output_shape, corr2d, corr2d_multi_in, corr2d_multi_in_out
from convbook.pooling import pool2d

X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
INCEPTION_BRANCHES = [["b1_1"], ["b2_1", "b2_2"], ["b3_1", "b3_2"], ["b4_1", "b4_2"]]
RESIDUAL_BRANCHES = [["conv1", "bn1 · ReLU", "conv2", "bn2"], ["conv3"]]


def _shape_text(shape):
    return "×".join(map(str, shape[1:]))


# -- window diagrams -------------------------------------------------------------------


def test_cross_correlation_diagram_shows_corr2d_and_all_four_worked_sums_of_section_7_2():
    diagram = correlation_diagram(X, K, "all")
    assert diagram.data["computed_by"] == "corr2d"
    assert torch.equal(diagram.data["output"][0], corr2d(X, K))
    sums = diagram.data["sums"]
    assert [s.value for s in sums] == [19.0, 25.0, 37.0, 43.0]
    for worked in sums:
        [terms] = worked.terms
        assert sum(w * v for w, v in terms) == worked.value
    assert sums[0].text() == "0×0 + 1×1 + 3×2 + 4×3 = 19"
    drawn = diagram.texts()
    assert [s.text() for s in sums] == [
        t for t in drawn if t.endswith(("= 19", "= 25", "= 37", "= 43"))
    ]
    assert {"19", "25", "37", "43"} <= set(drawn)
    assert len(diagram.figure.axes) == 4  # one panel per output element


def test_padded_strided_diagram_shows_f_conv2d_and_windows_that_reach_into_the_padding():
    torch.manual_seed(0)
    x, kernel = torch.randint(0, 9, (4, 5)).float(), torch.randint(-2, 3, (3, 3)).float()
    diagram = correlation_diagram(x, kernel, "all", padding=1, stride=(3, 2))
    expected = F.conv2d(x[None, None], kernel[None, None], padding=1, stride=(3, 2))[0]
    assert diagram.data["computed_by"] == "F.conv2d"
    assert torch.equal(diagram.data["output"], expected)
    assert tuple(expected.shape[1:]) == conv_output_shape((4, 5), 3, 1, (3, 2))
    padded = diagram.data["input"][0]
    assert padded.shape == (6, 7) and padded[0].abs().sum() == 0 and padded[:, -1].abs().sum() == 0
    for worked in diagram.data["sums"]:
        _, i, j = worked.position
        assert sum(w * v for w, v in worked.terms[0]) == pytest.approx(expected[0, i, j].item())


def test_multi_input_diagram_adds_one_sum_per_channel_as_corr2d_multi_in_does():
    x, kernel = torch.stack((X, X + 1)), torch.stack((K, K + 1))
    diagram = correlation_diagram(x, kernel)
    assert diagram.data["computed_by"] == "corr2d_multi_in"
    assert torch.equal(diagram.data["output"][0], corr2d_multi_in(x, kernel))
    [worked] = diagram.data["sums"]
    assert [sum(w * v for w, v in channel) for channel in worked.terms] == [19.0, 37.0]
    assert worked.text().endswith("= 56") and "56" in diagram.texts()


def test_one_by_one_diagram_shows_the_matrix_product_for_the_chosen_output_channel():
    x, kernel = torch.arange(27.0).reshape(3, 3, 3), torch.arange(6.0).reshape(2, 3, 1, 1)
    diagram = correlation_diagram(x, kernel, (1, 2), out_channel=1)
    assert diagram.data["computed_by"] == "corr2d_multi_in_out_1x1"
    assert torch.equal(diagram.data["output"], corr2d_multi_in_out(x, kernel))
    [worked] = diagram.data["sums"]
    assert worked.position == (1, 1, 2)
    assert worked.value == float(kernel[1, :, 0, 0] @ x[:, 1, 2]) == 186.0


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_diagram_shows_pool2d_and_each_window_s_max_or_mean(mode):
    torch.manual_seed(1)
    x = torch.randint(0, 20, (4, 4)).float()
    diagram = pooling_diagram(x, 2, mode, "all", stride=2)
    expected = pool2d(x, 2, mode, stride=2)
    assert torch.equal(diagram.data["output"], expected)
    reduce = max if mode == "max" else (lambda values: sum(values) / len(values))
    for worked in diagram.data["sums"]:
        _, i, j = worked.position
        assert reduce(worked.terms) == worked.value == expected[i, j].item()
        assert sorted(worked.terms) == sorted(x[2 * i : 2 * i + 2, 2 * j : 2 * j + 2].flatten())


def test_max_pooling_padding_is_drawn_as_minus_infinity():
    diagram = pooling_diagram(X, 3, "max", (0, 0), padding=1, stride=2)
    assert torch.equal(diagram.data["output"], pool2d(X, 3, "max", 1, 2))
    assert "−∞" in diagram.texts() and diagram.data["sums"][0].text() == (
        "max(−∞, −∞, −∞, −∞, 0, 1, −∞, 3, 4) = 4"
    )


def test_a_position_outside_the_output_is_refused():
    with pytest.raises(ValueError, match=r"\(2, 0\) is outside the output \(2, 2\)"):
        correlation_diagram(X, K, (2, 0))


# -- architecture diagrams ---------------------------------------------------------------


def _run_layer_by_layer(layers, x):
    """Output shape after each layer, by plain calls: no hooks, no diagram code."""
    shapes = []
    with torch.no_grad():
        for layer in layers:
            x = layer(x)
            shapes.append(tuple(x.shape))
    return shapes


def test_lenet_diagram_shows_each_layer_s_real_output_shape():
    torch.manual_seed(0)
    model = LeNet()
    diagram = draw(trace_network(model, (1, 1, 28, 28)))
    [trace] = diagram.data["traces"]
    real = _run_layer_by_layer(model.net, torch.zeros(1, 1, 28, 28))
    kept = [
        s for s, layer in zip(real, model.net, strict=True) if not isinstance(layer, nn.Sigmoid)
    ]
    drawn = [shape for stage in trace.stages[1:] for _, shape in stage.lines]
    assert drawn == kept
    labels = [label for stage in trace.stages for label, _ in stage.lines]
    assert labels[:3] == ["input", "conv 5×5, 6, pad 2 · sigmoid", "avg-pool 2×2, stride 2"]
    texts = diagram.texts()
    assert {_shape_text(s) for s in kept} <= set(texts) and "LeNet" in texts


@pytest.mark.parametrize(
    ("build", "side"),
    [
        (AlexNet, 224),
        (lambda: VGG(VGG11_ARCH), 224),
        (GoogLeNet, 96),
        (ResNet18, 96),
        (BNLeNetScratch, 28),
    ],  # fmt: skip
    ids=["AlexNet", "VGG-11", "GoogLeNet", "ResNet-18", "BN-LeNet"],
)
def test_network_diagram_stage_shapes_equal_the_model_s(build, side):
    torch.manual_seed(0)
    model = build().eval()
    trace = trace_network(model, (1, 1, side, side))
    x = torch.zeros(1, 1, side, side)
    real = _run_layer_by_layer(model.net, x)
    stages = {stage.name: stage for stage in trace.stages}
    for (name, layer), shape in zip(model.net.named_children(), real, strict=True):
        if name in stages:
            assert stages[name].shape == shape, f"{name}: drawn {stages[name].shape}, real {shape}"
        if isinstance(layer, nn.Sequential):  # one line per inner layer (or run of equal ones)
            inner = _run_layer_by_layer(layer, x)
            assert {s for _, s in stages[name].lines} <= set(inner)
            assert stages[name].lines[-1][1] == inner[-1]
        x = torch.zeros(shape)
    assert trace.stages[-1].shape == tuple(model(torch.zeros(1, 1, side, side)).shape)


def test_drawing_a_network_leaves_its_mode_its_statistics_and_the_random_numbers_alone():
    torch.manual_seed(0)
    model = ResNet18()
    model(torch.randn(2, 1, 32, 32))  # materialise, in training mode
    before = [b.clone() for b in model.buffers()]
    state = torch.random.get_rng_state()
    trace_network(model, (1, 1, 32, 32))
    assert model.training and all(m.training for m in model.modules())
    assert all(torch.equal(a, b) for a, b in zip(before, model.buffers(), strict=True))
    assert torch.equal(state, torch.random.get_rng_state())


def test_inception_diagram_shows_four_branches_whose_channels_add_up_to_the_output():
    torch.manual_seed(0)
    block = Inception(64, (96, 128), (16, 32), 32)
    x = torch.randn(1, 192, 12, 12)
    trace = trace_block(block, tuple(x.shape), INCEPTION_BRANCHES, "concatenate channels")
    with torch.no_grad():
        ends = [block.b1_1(x), block.b2_2(F.relu(block.b2_1(x))),
                block.b3_2(F.relu(block.b3_1(x))), block.b4_2(block.b4_1(x))]  # fmt: skip
        out = block(x)
    assert [branch[-1].shape for branch in trace.branches] == [tuple(e.shape) for e in ends]
    assert trace.merge.shape == tuple(out.shape) == (1, 256, 12, 12)
    assert sum(branch[-1].shape[1] for branch in trace.branches) == out.shape[1]
    assert trace.branches[1][0].shape == (1, 96, 12, 12)  # the 1 x 1 reduction
    texts = draw(trace).texts()
    assert "256×12×12" in texts and "concatenate channels" in texts


@pytest.mark.parametrize("shortcut", [False, True])
def test_residual_diagram_shows_the_shortcut_and_the_block_s_real_shapes(shortcut):
    torch.manual_seed(0)
    block = Residual(6, use_1x1conv=True, strides=2) if shortcut else Residual(3)
    x = torch.randn(1, 3, 6, 6)
    branches = RESIDUAL_BRANCHES if shortcut else [RESIDUAL_BRANCHES[0], []]
    trace = trace_block(block, tuple(x.shape), branches, "add, ReLU")
    with torch.no_grad():
        block.eval()
        out = block(x)
        first = block.conv1(x)
    assert trace.merge.shape == tuple(out.shape)
    assert trace.branches[0][0].shape == tuple(first.shape)
    assert trace.branches[0][1].lines[0][0] == "batch norm · ReLU"
    if shortcut:
        assert trace.branches[1][0].shape == tuple(block.conv3(x).shape) == (1, 6, 3, 3)
    else:
        assert trace.branches[1] == [] and trace.merge.shape == tuple(x.shape)
        assert "identity" in draw(trace).texts()


def test_resnext_and_nin_and_vgg_blocks_draw_their_real_shapes():
    torch.manual_seed(0)
    resnext = ResNeXtBlock(32, 16, 1, use_1x1conv=True, strides=2)
    x = torch.randn(1, 64, 8, 8)
    paths = [["conv1", "bn1", "conv2", "bn2", "conv3", "bn3"], ["conv4", "bn4"]]
    trace = trace_block(resnext, tuple(x.shape), paths, "add, ReLU")
    assert trace.branches[0][2].lines[0][0] == "conv 3×3, 32, stride 2, pad 1, 16 groups"
    assert trace.merge.shape == tuple(resnext.eval()(x).shape) == (1, 32, 4, 4)
    block = nin_block(96, kernel_size=11, strides=4, padding=0)
    [_, stage] = trace_network(nn.Sequential(block), (1, 1, 224, 224)).stages
    assert [s for _, s in stage.lines] == [(1, 96, 54, 54)] * 2
    vgg = trace_network(vgg_block(2, 128), (1, 64, 56, 56))
    assert [stage.shape for stage in vgg.stages[1:]] == [(1, 128, 56, 56)] * 2 + [(1, 128, 28, 28)]
    assert [label for label, _ in stage.lines] == [
        "conv 11×11, 96, stride 4 · ReLU", "2 × conv 1×1, 96 · ReLU"]  # fmt: skip


def test_a_branch_layer_the_block_does_not_have_is_refused():
    with pytest.raises(ValueError, match="no layer named 'conv9'"):
        trace_block(Residual(3), (1, 3, 6, 6), [["conv1", "conv9"], []], "add")
