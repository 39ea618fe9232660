"""convbook.ops against PyTorch's own convolution (sections 7.2-7.4)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convbook.ops import (
    Conv2D,
    comp_conv2d,
    conv_output_shape,
    corr2d,
    corr2d_loop,
    corr2d_multi_in,
    corr2d_multi_in_out,
    corr2d_multi_in_out_1x1,
)


def _random_shapes(seed: int, count: int = 20) -> list[tuple[int, int, int, int]]:
    """(H, W, kh, kw) with the kernel no larger than the input."""
    gen = torch.Generator().manual_seed(seed)
    shapes = []
    for _ in range(count):
        h, w = (int(v) for v in torch.randint(1, 12, (2,), generator=gen))
        kh = int(torch.randint(1, h + 1, (1,), generator=gen))
        kw = int(torch.randint(1, w + 1, (1,), generator=gen))
        shapes.append((h, w, kh, kw))
    return shapes


def test_corr2d_gives_the_book_example() -> None:
    x = torch.arange(9.0).reshape(3, 3)
    kernel = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    expected = torch.tensor([[19.0, 25.0], [37.0, 43.0]])
    assert torch.equal(corr2d(x, kernel), expected)
    assert torch.equal(corr2d_loop(x, kernel), expected)


@pytest.mark.parametrize("shape", _random_shapes(seed=0))
def test_corr2d_matches_loop_reference_and_f_conv2d_on_random_input(shape) -> None:
    h, w, kh, kw = shape
    gen = torch.Generator().manual_seed(h * 100 + w)
    x, kernel = torch.randn(h, w, generator=gen), torch.randn(kh, kw, generator=gen)
    fast = corr2d(x, kernel)
    assert fast.shape == (h - kh + 1, w - kw + 1)
    torch.testing.assert_close(fast, corr2d_loop(x, kernel))
    torch.testing.assert_close(fast, F.conv2d(x[None, None], kernel[None, None])[0, 0])


def test_corr2d_detects_the_vertical_edges_of_the_book_image() -> None:
    x = torch.ones(6, 8)
    x[:, 2:6] = 0
    kernel = torch.tensor([[1.0, -1.0]])
    row = torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0])
    assert torch.equal(corr2d(x, kernel), row.expand(6, 7))
    assert torch.equal(corr2d(x.t(), kernel), torch.zeros(8, 5))


def test_corr2d_casts_integer_input_to_float_like_the_loop() -> None:
    x = torch.arange(9).reshape(3, 3)
    kernel = torch.tensor([[0, 1], [2, 3]])
    assert corr2d(x, kernel).dtype == torch.get_default_dtype()
    assert torch.equal(corr2d(x, kernel), corr2d_loop(x, kernel))


def test_corr2d_passes_gradients_to_the_kernel() -> None:
    kernel = torch.randn(2, 2, requires_grad=True)
    corr2d(torch.ones(3, 3), kernel).sum().backward()
    torch.testing.assert_close(kernel.grad, torch.full((2, 2), 4.0))


@pytest.mark.parametrize("function", [corr2d, corr2d_loop])
@pytest.mark.parametrize(
    ("x_shape", "kernel_shape", "message"),
    [
        ((3,), (2, 2), r"2-D.*\(3,\).*\(2, 2\)"),
        ((1, 3, 3), (2, 2), r"2-D.*\(1, 3, 3\)"),
        ((3, 3), (2,), r"2-D.*\(2,\)"),
        ((3, 3), (4, 1), r"kernel \(4, 1\) is larger than input \(3, 3\)"),
        ((3, 3), (1, 4), r"kernel \(1, 4\) is larger than input \(3, 3\)"),
    ],
)
def test_corr2d_rejects_bad_shapes_naming_them(function, x_shape, kernel_shape, message) -> None:
    with pytest.raises(ValueError, match=message):
        function(torch.zeros(x_shape), torch.zeros(kernel_shape))


def test_conv2d_layer_is_corr2d_plus_bias() -> None:
    torch.manual_seed(0)
    layer = Conv2D((2, 3))
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (1,)
    with torch.no_grad():
        layer.bias.fill_(0.5)
    x = torch.randn(5, 6)
    torch.testing.assert_close(layer(x), corr2d(x, layer.weight) + 0.5)
    assert Conv2D(3).weight.shape == (3, 3)


def test_conv2d_layer_learns_the_edge_kernel() -> None:
    torch.manual_seed(0)
    x = torch.ones(6, 8)
    x[:, 2:6] = 0
    y = corr2d(x, torch.tensor([[1.0, -1.0]]))
    layer = Conv2D((1, 2))
    optimizer = torch.optim.SGD(layer.parameters(), lr=1e-2)  # 3e-2 diverges with the bias
    for _ in range(100):
        optimizer.zero_grad()
        ((layer(x) - y) ** 2).sum().backward()
        optimizer.step()
    torch.testing.assert_close(
        layer.weight.detach(), torch.tensor([[1.0, -1.0]]), atol=0.05, rtol=0
    )


def test_conv2d_layer_rejects_a_non_positive_kernel_size() -> None:
    with pytest.raises(ValueError, match=r"\(0, 2\)"):
        Conv2D((0, 2))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kernel_size": 3, "padding": 1}, (8, 8)),
        ({"kernel_size": (5, 3), "padding": (2, 1)}, (8, 8)),
        ({"kernel_size": 3, "padding": 1, "stride": 2}, (4, 4)),
        ({"kernel_size": (3, 5), "padding": (0, 1), "stride": (3, 4)}, (2, 2)),
    ],
)
def test_comp_conv2d_and_conv_output_shape_give_the_book_shapes(kwargs, expected) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 1, **kwargs)
    assert comp_conv2d(conv, torch.rand(8, 8)).shape == expected
    assert conv_output_shape((8, 8), **kwargs) == expected


def test_comp_conv2d_returns_the_layer_output_without_batch_and_channel_axes() -> None:
    torch.manual_seed(0)
    conv, x = nn.Conv2d(1, 1, 3), torch.rand(5, 7)
    torch.testing.assert_close(comp_conv2d(conv, x), conv(x[None, None])[0, 0])


def test_comp_conv2d_rejects_bad_input_and_multi_channel_layers() -> None:
    with pytest.raises(ValueError, match=r"\(1, 8, 8\)"):
        comp_conv2d(nn.Conv2d(1, 1, 3), torch.rand(1, 8, 8))
    with pytest.raises(ValueError, match=r"\(1, 2, 6, 6\)"):
        comp_conv2d(nn.Conv2d(1, 2, 3), torch.rand(8, 8))


def test_conv_output_shape_matches_nn_conv2d_on_random_settings() -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(40):
        h, w, kh, kw, ph, pw, sh, sw = (
            int(torch.randint(low, high, (1,), generator=gen))
            for low, high in [(5, 20), (5, 20), (1, 6), (1, 6), (0, 3), (0, 3), (1, 5), (1, 5)]
        )
        conv = nn.Conv2d(1, 1, (kh, kw), stride=(sh, sw), padding=(ph, pw))
        expected = tuple(conv(torch.zeros(1, 1, h, w)).shape[2:])
        assert conv_output_shape((h, w), (kh, kw), (ph, pw), (sh, sw)) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (((8, 8), 3, -1), "non-negative padding"),
        (((8, 8), 3, 0, 0), "positive"),
        (((8, 8), 0), "positive"),
        (((2, 8), 5, 1), r"kernel \(5, 5\) is larger than the padded input \(4, 10\)"),
        (((8, 8, 8), 3), "pair of ints"),
    ],
)
def test_conv_output_shape_rejects_impossible_settings(args, message) -> None:
    with pytest.raises(ValueError, match=message):
        conv_output_shape(*args)


def _book_multi_in_example() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.stack([torch.arange(9.0).reshape(3, 3), torch.arange(1.0, 10.0).reshape(3, 3)])
    kernel = torch.stack([torch.arange(4.0).reshape(2, 2), torch.arange(1.0, 5.0).reshape(2, 2)])
    return x, kernel


def test_corr2d_multi_in_and_out_give_the_book_examples() -> None:
    x, kernel = _book_multi_in_example()
    assert torch.equal(corr2d_multi_in(x, kernel), torch.tensor([[56.0, 72.0], [104.0, 120.0]]))
    out = corr2d_multi_in_out(x, torch.stack([kernel, kernel + 1, kernel + 2]))
    expected = torch.tensor(
        [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]],
        dtype=torch.float32,
    )
    assert torch.equal(out, expected)


@pytest.mark.parametrize("seed", range(8))
def test_multi_channel_helpers_match_f_conv2d_on_random_input(seed) -> None:
    gen = torch.Generator().manual_seed(seed)
    c_i, c_o, h, w = (int(v) for v in torch.randint(1, 6, (4,), generator=gen))
    h, w = h + 3, w + 3
    kh, kw = (int(v) for v in torch.randint(1, 4, (2,), generator=gen))
    x = torch.randn(c_i, h, w, generator=gen)
    kernel = torch.randn(c_o, c_i, kh, kw, generator=gen)
    expected = F.conv2d(x[None], kernel)[0]
    torch.testing.assert_close(corr2d_multi_in(x, kernel[0]), expected[0])
    torch.testing.assert_close(corr2d_multi_in_out(x, kernel), expected)
    kernel_1x1 = torch.randn(c_o, c_i, 1, 1, generator=gen)
    torch.testing.assert_close(
        corr2d_multi_in_out_1x1(x, kernel_1x1), F.conv2d(x[None], kernel_1x1)[0]
    )
    torch.testing.assert_close(
        corr2d_multi_in_out_1x1(x, kernel_1x1), corr2d_multi_in_out(x, kernel_1x1)
    )


@pytest.mark.parametrize(
    ("function", "x_shape", "kernel_shape", "message"),
    [
        (corr2d_multi_in, (3, 3), (3, 2, 2), r"\(3, 3\) and \(3, 2, 2\)"),
        (corr2d_multi_in, (2, 3, 3), (3, 2, 2), r"3 input channels, input \(2, 3, 3\) has 2"),
        (corr2d_multi_in, (2, 3, 3), (2, 4, 2), r"kernel \(2, 4, 2\) is larger than input"),
        (corr2d_multi_in_out, (2, 3, 3), (2, 2, 2), r"4-D kernel.*\(2, 2, 2\)"),
        (corr2d_multi_in_out, (2, 3, 3), (4, 3, 2, 2), r"3 input channels.*has 2"),
        (corr2d_multi_in_out_1x1, (2, 3, 3), (4, 2, 2, 2), r"\(c_o, c_i, 1, 1\).*\(4, 2, 2, 2\)"),
        (corr2d_multi_in_out_1x1, (2, 3, 3), (4, 3, 1, 1), r"3 input channels.*has 2"),
        (corr2d_multi_in_out_1x1, (3, 3), (4, 3, 1, 1), r"\(3, 3\) and \(4, 3, 1, 1\)"),
    ],
)
def test_multi_channel_helpers_reject_bad_shapes_naming_them(
    function, x_shape, kernel_shape, message
) -> None:
    with pytest.raises(ValueError, match=message):
        function(torch.zeros(x_shape), torch.zeros(kernel_shape))
