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
    {
        "cell": "avg_pool_conv",
        "why": "channels folded into the batch, one shared all-ones kernel, divided afterwards",
        "expect": "full",
        "round": 2,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    n, c, h, w = X.shape
    kh, kw = kernel_size
    ones = torch.ones(1, 1, kh, kw, dtype=X.dtype, device=X.device)
    sums = F.conv2d(X.reshape(n * c, 1, h, w), ones, stride=stride, padding=padding)
    return (sums / (kh * kw)).reshape(n, c, *sums.shape[-2:])
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "F.pad, then a loop over channels in float64, concatenated and cast back",
        "expect": "full",
        "round": 3,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    kh, kw = kernel_size
    ph, pw = padding
    padded = F.pad(X.to(torch.float64), (pw, pw, ph, ph))  # zeros on every side
    kernel = torch.full((1, 1, kh, kw), 1.0 / (kh * kw), dtype=torch.float64, device=X.device)
    outputs = []
    for channel in range(X.shape[1]):
        outputs.append(F.conv2d(padded[:, channel : channel + 1], kernel, stride=stride))
    return torch.cat(outputs, dim=1).to(X.dtype)
""",
    },
    {
        "cell": "max_relu",
        "why": "the symmetric form (a + b + |a - b|) / 2 with |x| = relu(x) + relu(-x)",
        "expect": "full",
        "round": 2,
        "source": """
def max_relu(a, b):
    absolute_difference = F.relu(a - b) + F.relu(b - a)
    return (a + b + absolute_difference) / 2
""",
    },
    {
        "cell": "max_relu",
        "why": "one ReLU layer: torch.relu(a - b) + torch.relu(b) - torch.relu(-b)",
        "expect": "full",
        "round": 3,
        "source": """
def max_relu(a, b):
    return torch.relu(a - b) + torch.relu(b) - torch.relu(-b)
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "one convolution per window position, combined by a running maximum",
        "expect": "full",
        "round": 2,
        "source": """
def max_pool_conv(X, size):
    n, c, h, w = X.shape
    flat = X.reshape(n * c, 1, h, w)
    best = None
    for i in range(size):
        for j in range(size):
            picker = torch.zeros(1, 1, size, size, dtype=X.dtype, device=X.device)
            picker[0, 0, i, j] = 1.0
            value = F.conv2d(flat, picker, stride=size)
            best = value if best is None else max_relu(best, value)
    return best.reshape(n, c, *best.shape[-2:])
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "ungrouped one-hot convolution, then vectorised halving with inline F.relu",
        "expect": "full",
        "round": 3,
        "source": """
def max_pool_conv(X, size):
    n, c = X.shape[:2]
    k = size * size
    weight = X.new_zeros(c * k, c, size, size)
    for channel in range(c):
        for position in range(k):
            weight[channel * k + position, channel, position // size, position % size] = 1.0
    parts = F.conv2d(X, weight, stride=size)
    candidates = parts.reshape(n, c, k, *parts.shape[-2:])
    while candidates.shape[2] > 1:
        half = candidates.shape[2] // 2
        first, second = candidates[:, :, :half], candidates[:, :, half : 2 * half]
        merged = F.relu(first - second) + second
        candidates = torch.cat([merged, candidates[:, :, 2 * half :]], dim=2)
    return candidates[:, :, 0]
""",
    },
    {
        "cell": "min_pool",
        "why": "gathers X at the indices F.max_pool2d(-X, return_indices=True) returns",
        "expect": "full",
        "round": 2,
        "source": """
def min_pool(X, size):
    _, indices = F.max_pool2d(-X, size, return_indices=True)
    flat = X.flatten(start_dim=2)
    return flat.gather(2, indices.flatten(start_dim=2)).reshape(indices.shape)
""",
    },
    {
        "cell": "min_pool",
        "why": "channels in the batch, times -1 in float64, window and stride as pairs",
        "expect": "full",
        "round": 3,
        "source": """
def min_pool(X, size):
    n, c, h, w = X.shape
    flipped = X.reshape(n * c, 1, h, w).to(torch.float64) * -1.0
    pooled = F.max_pool2d(flipped, kernel_size=(size, size), stride=(size, size))
    return (pooled * -1.0).reshape(n, c, *pooled.shape[-2:]).to(X.dtype)
""",
    },
    {
        "cell": "max_pool_comparisons",
        "why": "writes out (n + 2p - k) // s + 1 instead of calling conv_output_shape",
        "expect": "full",
        "round": 2,
        "source": """
def max_pool_comparisons(channels, input_hw, window, padding, stride):
    outputs = 1
    for n, k, p, s in zip(input_hw, window, padding, stride):
        outputs *= (n + 2 * p - k) // s + 1
    return channels * outputs * (window[0] * window[1] - 1)
""",
    },
    {
        "cell": "max_pool_comparisons",
        "why": "explicit loops over the window positions of the padded input",
        "expect": "full",
        "round": 3,
        "source": """
def max_pool_comparisons(channels, input_hw, window, padding, stride):
    padded_h = input_hw[0] + 2 * padding[0]
    padded_w = input_hw[1] + 2 * padding[1]
    total = 0
    for top in range(0, padded_h - window[0] + 1, stride[0]):
        for left in range(0, padded_w - window[1] + 1, stride[1]):
            total += window[0] * window[1] - 1
    return total * channels
""",
    },
    {
        "cell": "max_relu",
        "why": "calls torch.maximum through a name taken before the checks run",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 3,
        "source": """
from torch import maximum as larger


def max_relu(a, b):
    return larger(a, b)
""",
    },
    {
        "cell": "max_relu",
        "why": "torch.clamp(a, min=b): a maximum under another name",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 4,
        "source": """
def max_relu(a, b):
    return torch.clamp(a, min=b)
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "calls F.avg_pool2d through a name taken before the checks run",
        "tests": ["test_avg_pool_conv"],
        "round": 4,
        "source": """
from torch.nn.functional import avg_pool2d as smooth


def avg_pool_conv(X, kernel_size, stride, padding):
    return smooth(X, kernel_size, stride, padding)
""",
    },
    {
        "cell": "max_relu",
        "why": "(a + b + |a - b|) / 2 with Tensor.abs: right values, not from ReLU and arithmetic",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 5,
        "source": """
def max_relu(a, b):
    return (a + b + (a - b).abs()) / 2
""",
    },
    {
        "cell": "max_relu",
        "why": "picks with comparison masks (Tensor.ge, Tensor.lt), not with ReLU",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 6,
        "source": """
def max_relu(a, b):
    return a * (a >= b) + b * (a < b)
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "one-hot convolution, then the largest value by Tensor.kthvalue instead of ReLU",
        "tests": ["test_max_pool_conv"],
        "round": 5,
        "source": """
def max_pool_conv(X, size):
    n, c, h, w = X.shape
    k = size * size
    one_hot = torch.eye(k, dtype=X.dtype, device=X.device).reshape(k, 1, size, size)
    parts = F.conv2d(X.reshape(n * c, 1, h, w), one_hot, stride=size)
    best = parts.kthvalue(k, dim=1).values
    return best.reshape(n, c, *best.shape[-2:])
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "a layer made with nn.Conv2d and its weights set by hand, combined by max_relu",
        "expect": "full",
        "round": 4,
        "source": """
def max_pool_conv(X, size):
    n, c, h, w = X.shape
    k = size * size
    conv = nn.Conv2d(1, k, size, stride=size, bias=False).to(X.device, X.dtype)
    with torch.no_grad():
        conv.weight.zero_()
        for position in range(k):
            conv.weight[position, 0, position // size, position % size] = 1.0
    parts = conv(X.reshape(n * c, 1, h, w))
    best = parts[:, 0]
    for position in range(1, k):
        best = max_relu(best, parts[:, position])
    return best.reshape(n, c, *best.shape[-2:])
""",
    },
]
