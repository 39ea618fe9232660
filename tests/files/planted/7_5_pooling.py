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
    # -- correct answers written in other honest ways (full) ------------------------------
    {
        "cell": "max_pool_conv",
        "why": "one-hot kernels from fill_diagonal_ in a local named ops, cudnn.benchmark set"
        " in the cell, running maximum by max_relu",
        "expect": "full",
        "round": 1,
        "source": """
torch.backends.cudnn.benchmark = True  # harmless speed setting, as in many scripts


def max_pool_conv(X, size):
    n, c, h, w = X.shape
    k = size * size
    ops = X.new_zeros(k, k)
    ops.fill_diagonal_(1.0)  # row j is 1 at window position j
    pickers = ops.reshape(k, 1, size, size)
    parts = F.conv2d(X.reshape(n * c, 1, h, w), pickers, stride=size)
    best = parts[:, 0]
    for j in range(1, k):
        best = max_relu(best, parts[:, j])
    return best.reshape(n, c, *best.shape[-2:])
""",
    },
    {
        "cell": "max_relu",
        "why": "the ReLU of the difference kept in a local named checks",
        "expect": "full",
        "round": 1,
        "source": """
def max_relu(a, b):
    checks = F.relu(a - b)  # how far a lies above b, or 0
    return checks + b
""",
    },
    {
        "cell": "min_pool",
        "why": "Python's min on the int sizes (a window never larger than the image)",
        "expect": "full",
        "round": 1,
        "source": """
def min_pool(X, size):
    kh, kw = min(size, X.shape[-2]), min(size, X.shape[-1])
    return -F.max_pool2d(-X, (kh, kw), stride=(kh, kw))
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "one-hot kernels from torch.diag, candidates split off with swapaxes and unbind",
        "expect": "full",
        "round": 5,
        "source": """
def max_pool_conv(X, size):
    n, c, h, w = X.shape
    k = size * size
    pickers = torch.diag(torch.ones(k, dtype=X.dtype, device=X.device))
    parts = F.conv2d(X.reshape(n * c, 1, h, w), pickers.reshape(k, 1, size, size), stride=size)
    candidates = parts.swapaxes(0, 1).unbind(0)  # k tensors of shape (n * c, h', w')
    best = candidates[0]
    for candidate in candidates[1:]:
        best = max_relu(best, candidate)
    return best.reshape(n, c, *best.shape[-2:])
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "import math inside the function, math.prod of the window, a local named pooling",
        "expect": "full",
        "round": 5,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    import math

    channels = X.shape[1]
    pooling = X.new_full((channels, 1, *kernel_size), 1.0 / math.prod(kernel_size))
    return F.conv2d(X, pooling, stride=stride, padding=padding, groups=channels)
""",
    },
    {
        "cell": "max_relu",
        "why": "a lambda instead of a def",
        "expect": "full",
        "round": 5,
        "source": """
max_relu = lambda a, b: F.relu(a - b) + b
""",
    },
    {
        "cell": "min_pool",
        "why": "%%time on the answer cell, the pooled map kept in a local named pooling",
        "expect": "full",
        "round": 5,
        "source": """
%%time
def min_pool(X, size):
    pooling = F.max_pool2d(-X, size)
    return -pooling
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "one-hot kernels made with scatter_, tournament by a list comprehension over zip",
        "expect": "full",
        "round": 6,
        "source": """
def max_pool_conv(X, size):
    n, c, h, w = X.shape
    k = size * size
    positions = torch.arange(k, device=X.device).reshape(k, 1)
    pickers = X.new_zeros(k, k).scatter_(1, positions, 1.0).reshape(k, 1, size, size)
    parts = F.conv2d(X.reshape(n * c, 1, h, w), pickers, stride=size)
    values = list(parts.unbind(dim=1))
    while len(values) > 1:
        winners = [max_relu(a, b) for a, b in zip(values[0::2], values[1::2])]
        values = winners + values[2 * len(winners) :]
    return values[0].reshape(n, c, *values[0].shape[-2:])
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "%%time on the answer cell, cudnn.benchmark set inside the function, kernel in a"
        " local named checks",
        "expect": "full",
        "round": 6,
        "source": """
%%time
def avg_pool_conv(X, kernel_size, stride, padding):
    torch.backends.cudnn.benchmark = True
    kh, kw = kernel_size
    checks = torch.full((X.shape[1], 1, kh, kw), 1.0 / (kh * kw), dtype=X.dtype, device=X.device)
    return F.conv2d(X, checks, stride=stride, padding=padding, groups=X.shape[1])
""",
    },
    {
        "cell": "max_relu",
        "why": "b plus the ReLU of a - b, in a local named optim",
        "expect": "full",
        "round": 6,
        "source": """
def max_relu(a, b):
    optim = F.relu(a - b)
    return b + optim
""",
    },
    {
        "cell": "min_pool",
        "why": "a list comprehension over the channels, joined back with torch.cat",
        "expect": "full",
        "round": 6,
        "source": """
def min_pool(X, size):
    channels = [-F.max_pool2d(-X[:, [ch]], size) for ch in range(X.shape[1])]
    return torch.cat(channels, dim=1)
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "one-hot kernels of every channel joined with torch.vstack, grouped convolution,"
        " inline running maximum with Python's max on the ints",
        "expect": "full",
        "round": 7,
        "source": """
def max_pool_conv(X, size):
    n, c = X.shape[:2]
    k = max(1, size * size)
    eye = torch.eye(k, dtype=X.dtype, device=X.device)
    weight = torch.vstack([eye] * c).reshape(c * k, 1, size, size)  # one copy per channel
    parts = F.conv2d(X, weight, stride=size, groups=c)
    parts = parts.reshape(n, c, k, *parts.shape[-2:])
    best = parts[:, :, 0]
    for j in range(1, k):
        best = best + F.relu(parts[:, :, j] - best)  # max(best, candidate j)
    return best
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "one kernel per channel from a list comprehension, joined by torch.stack, in a"
        " local named ops",
        "expect": "full",
        "round": 7,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    kh, kw = kernel_size
    ops = torch.stack([X.new_full((1, kh, kw), 1 / (kh * kw)) for _ in range(X.shape[1])])
    return F.conv2d(X, ops, stride=stride, padding=padding, groups=X.shape[1])
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "in float64 and back (floating-point dtype changes), a top-level lambda for the"
        " maximum, and a helper from the avg_pool_conv cell for the zero kernels",
        "expect": "full",
        "round": 8,
        "source": """
larger = lambda a, b: max_relu(a, b)


def max_pool_conv(X, size):
    n, c, h, w = X.shape
    k = size * size
    X64 = X.to(torch.float64).reshape(n * c, 1, h, w)
    pickers = constant_kernels(k, (size, size), 0.0, X64)
    for j in range(k):
        pickers[j, 0, j // size, j % size] = 1.0
    parts = F.conv2d(X64, pickers, stride=size)
    best = parts[:, 0]
    for j in range(1, k):
        best = larger(best, parts[:, j])
    return best.reshape(n, c, *best.shape[-2:]).to(X.dtype)
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "a helper defined in this cell builds the kernels; max_pool_conv calls it too",
        "expect": "full",
        "round": 8,
        "source": """
def constant_kernels(channels, kernel_size, value, like):
    return torch.full((channels, 1, *kernel_size), value, dtype=like.dtype, device=like.device)


def avg_pool_conv(X, kernel_size, stride, padding):
    kernel = constant_kernels(X.shape[1], kernel_size, 1.0 / (kernel_size[0] * kernel_size[1]), X)
    return F.conv2d(X, kernel, stride=stride, padding=padding, groups=X.shape[1])
""",
    },
    # -- ways around the rules, refused on the source (less) ------------------------------
    {
        "cell": "max_relu",
        "why": "torch.ops.aten.maximum.default: torch.maximum by its operator name",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 7,
        "source": """
def max_relu(a, b):
    return torch.ops.aten.maximum.default(a, b)
""",
    },
    {
        "cell": "min_pool",
        "why": "torch.ops.aten.amin.default over unfolded windows",
        "tests": ["test_min_pool"],
        "round": 7,
        "source": """
def min_pool(X, size):
    windows = X.unfold(2, size, size).unfold(3, size, size)
    return torch.ops.aten.amin.default(windows, [-2, -1])
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "torch.ops.aten.avg_pool2d.default: the forbidden pooling by its operator name",
        "tests": ["test_avg_pool_conv"],
        "round": 7,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    return torch.ops.aten.avg_pool2d.default(X, list(kernel_size), list(stride), list(padding))
""",
    },
    {
        "cell": "max_relu",
        "why": "getattr(torch, 'max' + 'imum'): torch.maximum by a computed name",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 8,
        "source": """
def max_relu(a, b):
    return getattr(torch, "max" + "imum")(a, b)
""",
    },
    {
        "cell": "min_pool",
        "why": "getattr(torch, 'a' + 'min'): torch.amin by a computed name",
        "tests": ["test_min_pool"],
        "round": 8,
        "source": """
def min_pool(X, size):
    windows = X.unfold(2, size, size).unfold(3, size, size)
    return getattr(torch, "a" + "min")(windows, dim=(-2, -1))
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "operator.attrgetter('avg_pool2d')(F): the forbidden pooling by a string",
        "tests": ["test_avg_pool_conv"],
        "round": 8,
        "source": """
import operator


def avg_pool_conv(X, kernel_size, stride, padding):
    pool = operator.attrgetter("avg_pool2d")(F)
    return pool(X, kernel_size, stride, padding)
""",
    },
    {
        "cell": "max_relu",
        "why": "import torch as t inside the function, then t.maximum",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 9,
        "source": """
def max_relu(a, b):
    import torch as t

    return t.maximum(a, b)
""",
    },
    {
        "cell": "min_pool",
        "why": "from torch import amin as smallest, inside the function",
        "tests": ["test_min_pool"],
        "round": 9,
        "source": """
def min_pool(X, size):
    from torch import amin as smallest

    windows = X.unfold(2, size, size).unfold(3, size, size)
    return smallest(windows, dim=(-2, -1))
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "torch._C._nn.avg_pool2d: the forbidden pooling through a private module",
        "tests": ["test_avg_pool_conv"],
        "round": 9,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    return torch._C._nn.avg_pool2d(X, kernel_size, stride, padding)
""",
    },
    {
        "cell": "max_relu",
        "why": "a step function, relu(a - b).bool().float(), picks a or b: not ReLU arithmetic",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 10,
        "source": """
def max_relu(a, b):
    step = F.relu(a - b).bool().float()  # 1 where a > b, else 0
    return a * step + b * (1 - step)
""",
    },
    {
        "cell": "min_pool",
        "why": "Tensor.amin under torch._C.DisableTorchFunction(), to get past the trace",
        "tests": ["test_min_pool"],
        "round": 10,
        "source": """
def min_pool(X, size):
    with torch._C.DisableTorchFunction():
        windows = X.unfold(2, size, size).unfold(3, size, size)
        return windows.amin(dim=(-2, -1))
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "import torch.nn.functional as G inside the function, then G.avg_pool2d",
        "tests": ["test_avg_pool_conv"],
        "round": 10,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    import torch.nn.functional as G

    return G.avg_pool2d(X, kernel_size, stride, padding)
""",
    },
    {
        "cell": "max_relu",
        "why": "a step function made with .to(torch.bool): passes the source check, not the trace",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 11,
        "source": """
def max_relu(a, b):
    step = F.relu(a - b).to(torch.bool).to(a.dtype)  # 1 where a > b, else 0
    return a * step + b * (1.0 - step)
""",
    },
    {
        "cell": "min_pool",
        "why": "eval('torch.a' + 'min'): a forbidden function by a computed name",
        "tests": ["test_min_pool"],
        "round": 11,
        "source": """
def min_pool(X, size):
    smallest = eval("torch.a" + "min")
    return smallest(X.unfold(2, size, size).unfold(3, size, size), dim=(-2, -1))
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "vars(F)['avg_pool2d']: the forbidden pooling from the module's namespace",
        "tests": ["test_avg_pool_conv"],
        "round": 11,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    return vars(F)["avg_pool2d"](X, kernel_size, stride, padding)
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "F.max_pool2d under torch._C.DisableTorchFunction(), to get past the trace",
        "tests": ["test_max_pool_conv"],
        "round": 12,
        "source": """
def max_pool_conv(X, size):
    with torch._C.DisableTorchFunction():
        return F.max_pool2d(X, size)
""",
    },
    {
        "cell": "min_pool",
        "why": "operator.methodcaller('amin', ...): Tensor.amin by a string",
        "tests": ["test_min_pool"],
        "round": 12,
        "source": """
import operator


def min_pool(X, size):
    windows = X.unfold(2, size, size).unfold(3, size, size)
    return operator.methodcaller("amin", dim=(-2, -1))(windows)
""",
    },
    {
        "cell": "avg_pool_conv",
        "why": "__import__('torch') inside the function, then its avg_pool2d",
        "tests": ["test_avg_pool_conv"],
        "round": 12,
        "source": """
def avg_pool_conv(X, kernel_size, stride, padding):
    functional = __import__("torch").nn.functional
    return functional.avg_pool2d(X, kernel_size, stride, padding)
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "operator.attrgetter('max_pool2d')(F): a pooling function by a string",
        "tests": ["test_max_pool_conv"],
        "round": 13,
        "source": """
import operator


def max_pool_conv(X, size):
    pool = operator.attrgetter("max_pool2d")(F)
    return pool(X, size)
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "one-hot convolution, then a step function made with .to(torch.bool) picks the"
        " winner: passes the source check, not the trace",
        "tests": ["test_max_pool_conv"],
        "round": 14,
        "source": """
def max_pool_conv(X, size):
    n, c, h, w = X.shape
    k = size * size
    pickers = torch.eye(k, dtype=X.dtype, device=X.device).reshape(k, 1, size, size)
    parts = F.conv2d(X.reshape(n * c, 1, h, w), pickers, stride=size)
    best = parts[:, 0]
    for j in range(1, k):
        other = parts[:, j]
        step = F.relu(other - best).to(torch.bool).to(X.dtype)  # 1 where other wins
        best = other * step + best * (1.0 - step)
    return best.reshape(n, c, *best.shape[-2:])
""",
    },
    {
        "cell": "max_pool_conv",
        "why": "one-hot convolution, then import torch as t inside the function and t.maximum",
        "tests": ["test_max_pool_conv"],
        "round": 15,
        "source": """
def max_pool_conv(X, size):
    import torch as t

    n, c, h, w = X.shape
    k = size * size
    pickers = t.eye(k, dtype=X.dtype, device=X.device).reshape(k, 1, size, size)
    parts = F.conv2d(X.reshape(n * c, 1, h, w), pickers, stride=size)
    best = parts[:, 0]
    for j in range(1, k):
        best = t.maximum(best, parts[:, j])
    return best.reshape(n, c, *best.shape[-2:])
""",
    },
    {
        "cell": "max_relu",
        "why": "torch.maximum in a lambda hidden in the return annotation, run under"
        " torch._C.DisableTorchFunction() to get past the trace",
        "tests": ["test_max_relu", "test_max_pool_conv"],
        "round": 16,
        "source": """
def max_relu(a, b) -> (
    biggest := lambda a, b: [
        quiet := torch._C.DisableTorchFunction(),
        quiet.__enter__(),
        torch.maximum(a, b),
        quiet.__exit__(None, None, None),
    ][2]
):
    return biggest(a, b)
""",
    },
    {
        "cell": "min_pool",
        "why": "torch.amin and torch._C.DisableTorchFunction taken in the parameters' annotations",
        "tests": ["test_min_pool"],
        "round": 16,
        "source": """
def min_pool(X: (quiet := torch._C.DisableTorchFunction), size: (smallest := torch.amin)):
    with quiet():
        return smallest(X.unfold(2, size, size).unfold(3, size, size), dim=(-2, -1))
""",
    },
]
