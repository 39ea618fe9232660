"""Planted answers for solutions/7_5_pooling (format: README.md)."""

PLANTED = [
    {
        "cell": "avg_pool_conv",
        "why": "no groups: every output channel averages all input channels",
        "tests": ["test_avg_pool_conv"],
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    c = X.shape[1]
    weight = X.new_full((c, c, *kernel_size), 1.0 / (c * kernel_size[0] * kernel_size[1]))
    return F.conv2d(X, weight, stride=stride, padding=padding)
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "ignores the padding (the visible example has none)",
        "tests": ["test_avg_pool_conv"],
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    c = X.shape[1]
    weight = X.new_full((c, 1, *kernel_size), 1.0 / (kernel_size[0] * kernel_size[1]))
    return F.conv2d(X, weight, stride=stride, groups=c)
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "uses the forbidden F.avg_pool2d",
        "tests": ["test_avg_pool_conv"],
        "round": 3,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    return F.avg_pool2d(X, kernel_size, stride, padding)
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "correct, but torch.tensor(tensor) emits a PyTorch UserWarning on stderr",
        "expect": "full",
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    c = X.shape[1]
    weight = torch.tensor(X.new_full((c, 1, *kernel_size), 1.0 / (kernel_size[0] * kernel_size[1])))
    return F.conv2d(X, weight, stride=stride, padding=padding, groups=c)
""",
    },
    {
        "cell": "max_relu",
        "why": "sign flip: subtracts b instead of adding it back",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "source": """
def max_relu(a, b):
    return F.relu(a - b) - b
""",
    },
    {
        "cell": "max_relu",
        "why": "uses the forbidden torch.maximum",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "source": """
def max_relu(a, b):
    return torch.maximum(a, b)
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "stride 1 instead of the window size (off-by-one output shape)",
        "tests": ["test_max_pool_conv"],
        "round": 3,
        "source": """
def max_pool_conv(X, size):
    n, channels = X.shape[:2]
    k = size * size
    one_hot = torch.eye(k).reshape(k, 1, size, size)
    parts = F.conv2d(X, one_hot.repeat(channels, 1, 1, 1), groups=channels)
    parts = parts.reshape(n, channels, k, *parts.shape[2:])
    values = list(parts.unbind(dim=2))
    while len(values) > 1:
        winners = [max_relu(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
        values = winners + values[len(winners) * 2 :]
    return values[0]
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "works for 2x2 only: forgets the odd candidate left over in a 3x3 window",
        "tests": ["test_max_pool_conv"],
        "round": 4,
        "source": """
def max_pool_conv(X, size):
    n, channels = X.shape[:2]
    k = size * size
    one_hot = torch.eye(k).reshape(k, 1, size, size)
    parts = F.conv2d(X, one_hot.repeat(channels, 1, 1, 1), stride=size, groups=channels)
    parts = parts.reshape(n, channels, k, *parts.shape[2:])
    values = list(parts.unbind(dim=2))
    while len(values) > 1:
        values = [max_relu(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
    return values[0]
""",
    },
    {
        "cell": "min_pool",
        "why": "forgets the outer minus sign",
        "tests": ["test_min_pool"],
        "source": """
def min_pool(X, size):
    return F.max_pool2d(-X, size)
""",
    },
    {
        "cell": "max_pool_comparisons",
        "why": "counts p_h p_w comparisons per window instead of p_h p_w - 1",
        "tests": ["test_max_pool_comparisons"],
        "source": """
def max_pool_comparisons(channels, input_hw, window, padding, stride):
    h_out, w_out = conv_output_shape(input_hw, window, padding, stride)
    return channels * h_out * w_out * window[0] * window[1]
""",
    },
    {
        "cell": "max_pool_comparisons",
        "why": "ignores the padding (the visible example has none)",
        "tests": ["test_max_pool_comparisons"],
        "source": """
def max_pool_comparisons(channels, input_hw, window, padding, stride):
    h_out, w_out = conv_output_shape(input_hw, window, (0, 0), stride)
    return channels * h_out * w_out * (window[0] * window[1] - 1)
""",
    },
]
