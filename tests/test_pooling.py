"""convbook.pooling against nn.MaxPool2d and nn.AvgPool2d (section 7.5)."""

import pytest
import torch
from torch import nn

from convbook.pooling import pool2d


def test_pool2d_gives_the_book_examples_with_d2l_calls() -> None:
    x = torch.arange(9.0).reshape(3, 3)
    assert torch.equal(pool2d(x, (2, 2)), torch.tensor([[4.0, 5.0], [7.0, 8.0]]))
    assert torch.equal(pool2d(x, (2, 2), "avg"), torch.tensor([[2.0, 3.0], [5.0, 6.0]]))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"pool_size": 3, "stride": 3}, [[10.0]]),
        ({"pool_size": 3, "padding": 1, "stride": 2}, [[5.0, 7.0], [13.0, 15.0]]),
        ({"pool_size": (2, 3), "padding": (0, 1), "stride": (2, 3)}, [[5.0, 7.0], [13.0, 15.0]]),
        (
            {"pool_size": 3, "padding": 1, "stride": 1},
            [[5, 6, 7, 7], [9, 10, 11, 11], [13, 14, 15, 15], [13, 14, 15, 15]],
        ),
    ],
)
def test_pool2d_max_gives_the_book_padding_and_stride_cases(kwargs, expected) -> None:
    x = torch.arange(16.0).reshape(4, 4)
    assert torch.equal(pool2d(x, **kwargs), torch.tensor(expected, dtype=torch.float32))


def _random_cases(seed: int, count: int = 25):
    gen = torch.Generator().manual_seed(seed)

    def draw(low: int, high: int) -> int:
        return int(torch.randint(low, high, (1,), generator=gen))

    cases = []
    for _ in range(count):
        kh, kw = draw(1, 5), draw(1, 5)
        ph, pw = draw(0, kh // 2 + 1), draw(0, kw // 2 + 1)
        sh, sw = draw(1, 4), draw(1, 4)
        h, w = draw(max(1, kh - 2 * ph), 13), draw(max(1, kw - 2 * pw), 13)
        cases.append(((draw(1, 4), h, w), (kh, kw), (ph, pw), (sh, sw)))
    return cases


@pytest.mark.parametrize(("shape", "window", "padding", "stride"), _random_cases(seed=0))
def test_pool2d_matches_torch_pooling_layers_on_random_input(
    shape, window, padding, stride
) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))
    max_layer = nn.MaxPool2d(window, stride=stride, padding=padding)
    avg_layer = nn.AvgPool2d(window, stride=stride, padding=padding)
    torch.testing.assert_close(pool2d(x, window, "max", padding, stride), max_layer(x))
    torch.testing.assert_close(pool2d(x, window, "avg", padding, stride), avg_layer(x))


def test_pool2d_pools_every_channel_separately() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    x = torch.cat((x, x + 1), dim=1)
    expected = torch.tensor([[[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]]])
    assert torch.equal(pool2d(x, 3, padding=1, stride=2), expected)


def test_pool2d_accepts_integer_input_and_returns_floats() -> None:
    x = torch.arange(9).reshape(3, 3)
    assert torch.equal(pool2d(x, 2, "avg"), torch.tensor([[2.0, 3.0], [5.0, 6.0]]))


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((3, 3), {"pool_size": 2, "mode": "min"}, "mode must be 'max' or 'avg', got 'min'"),
        ((9,), {"pool_size": 2}, r"\(\.\.\., H, W\), got \(9,\)"),
        ((3, 3), {"pool_size": 4}, r"pool_size \(4, 4\) is larger than .* \(3, 3\)"),
        ((3, 3), {"pool_size": (1, 4)}, r"pool_size \(1, 4\) is larger"),
        ((3, 3), {"pool_size": 2, "padding": 2}, r"padding \(2, 2\) must be between 0 and half"),
        ((3, 3), {"pool_size": 2, "padding": -1}, "padding"),
        ((3, 3), {"pool_size": 0}, "positive"),
        ((3, 3), {"pool_size": 2, "stride": 0}, "positive"),
        ((3, 3), {"pool_size": (2, 2, 2)}, "pair of ints"),
    ],
)
def test_pool2d_rejects_bad_arguments_naming_them(shape, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        pool2d(torch.zeros(shape), **kwargs)
