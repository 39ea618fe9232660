"""Planted answers for solutions/7_4_channels (format: README.md)."""

PLANTED = [
    {
        "cell": "compose_kernels",
        "why": "flips k2 (right only for the symmetric visible example)",
        "tests": ["test_compose_kernels"],
        "source": """
def compose_kernels(k1, k2):
    (h1, w1), (h2, w2) = k1.shape, k2.shape
    k = k1.new_zeros(h1 + h2 - 1, w1 + w2 - 1)
    flipped = torch.flip(k2, dims=(0, 1))
    for c in range(h2):
        for d in range(w2):
            k[c : c + h1, d : d + w1] += flipped[c, d] * k1
    return k
""",
    },
    {
        "cell": "compose_kernels",
        "why": "off by one: the composed kernel is one row and column too large",
        "tests": ["test_compose_kernels"],
        "source": """
def compose_kernels(k1, k2):
    (h1, w1), (h2, w2) = k1.shape, k2.shape
    k = k1.new_zeros(h1 + h2, w1 + w2)
    for c in range(h2):
        for d in range(w2):
            k[c : c + h1, d : d + w1] += k2[c, d] * k1
    return k
""",
    },
    {
        "cell": "conv_forward_flops",
        "why": "counts multiply-adds, not FLOPs",
        "tests": ["test_conv_forward_flops"],
        "source": """
def conv_forward_flops(c_i, c_o, input_hw, kernel_size, padding, stride):
    h_out, w_out = conv_output_shape(input_hw, kernel_size, padding, stride)
    return c_o * h_out * w_out * c_i * kernel_size[0] * kernel_size[1]
""",
    },
    {
        "cell": "conv_forward_flops",
        "why": "uses the input size, not the output size (right for the visible 'same' example)",
        "tests": ["test_conv_forward_flops"],
        "source": """
def conv_forward_flops(c_i, c_o, input_hw, kernel_size, padding, stride):
    return 2 * c_o * input_hw[0] * input_hw[1] * c_i * kernel_size[0] * kernel_size[1]
""",
    },
    {
        "cell": "conv_forward_flops",
        "why": "correct, but torch.tensor(tensor) emits a PyTorch UserWarning on stderr",
        "expect": "full",
        "source": """
def conv_forward_flops(c_i, c_o, input_hw, kernel_size, padding, stride):
    h_out, w_out = conv_output_shape(input_hw, kernel_size, padding, stride)
    count = torch.tensor(torch.tensor(2 * c_o * h_out * w_out * c_i))  # UserWarning
    return int(count) * kernel_size[0] * kernel_size[1]
""",
    },
    {
        "cell": "conv_forward_memory",
        "why": "forgets the bias",
        "tests": ["test_conv_forward_memory"],
        "source": """
def conv_forward_memory(c_i, c_o, input_hw, kernel_size, padding, stride):
    h_out, w_out = conv_output_shape(input_hw, kernel_size, padding, stride)
    weights = c_o * c_i * kernel_size[0] * kernel_size[1]
    return c_i * input_hw[0] * input_hw[1] + weights + c_o * h_out * w_out
""",
    },
    {
        "cell": "channel_doubling_factor",
        "why": "answers 2 (only one of the channel counts doubled)",
        "tests": ["test_channel_doubling_factor"],
        "source": """
channel_doubling_factor = 2
""",
    },
    {
        "cell": "channel_doubling_factor",
        "why": "answers 4: the channels' factor of section 7.4, forgetting the halved output",
        "tests": ["test_channel_doubling_factor"],
        "source": """
channel_doubling_factor = 4
""",
    },
    {
        "cell": "compose_kernels",
        "why": "one F.conv2d: k1 padded by k2's size minus one, cross-correlated with k2 flipped",
        "expect": "full",
        "round": 2,
        "source": """
def compose_kernels(k1, k2):
    h2, w2 = k2.shape
    # k is the full convolution of k1 with k2
    flipped = torch.flip(k2, dims=(0, 1))
    k = F.conv2d(k1[None, None], flipped[None, None], padding=(h2 - 1, w2 - 1))
    return k[0, 0]
""",
    },
    {
        "cell": "compose_kernels",
        "why": "convolution theorem: product of zero-padded 2-D FFTs",
        "expect": "full",
        "round": 3,
        "source": """
def compose_kernels(k1, k2):
    (h1, w1), (h2, w2) = k1.shape, k2.shape
    size = (h1 + h2 - 1, w1 + w2 - 1)  # large enough that nothing wraps around
    spectrum = torch.fft.rfft2(k1, s=size) * torch.fft.rfft2(k2, s=size)
    return torch.fft.irfft2(spectrum, s=size)
""",
    },
    {
        "cell": "conv_forward_flops",
        "why": "im2col: sizes the matrix product from F.unfold of a zero image",
        "expect": "full",
        "round": 2,
        "source": """
def conv_forward_flops(c_i, c_o, input_hw, kernel_size, padding, stride):
    # one column of c_i * kh * kw values per output position; the layer multiplies the
    # (c_o, c_i kh kw) weight matrix by these columns, 2 FLOPs per multiply-add
    x = torch.zeros(1, c_i, *input_hw)
    columns = F.unfold(x, kernel_size, padding=padding, stride=stride)
    _, window, positions = columns.shape
    return 2 * c_o * window * positions
""",
    },
    {
        "cell": "conv_forward_flops",
        "why": "explicit loops over the window positions, without conv_output_shape",
        "expect": "full",
        "round": 3,
        "source": """
def conv_forward_flops(c_i, c_o, input_hw, kernel_size, padding, stride):
    (h, w), (kh, kw), (ph, pw), (sh, sw) = input_hw, kernel_size, padding, stride
    flops = 0
    for _top in range(0, h + 2 * ph - kh + 1, sh):
        for _left in range(0, w + 2 * pw - kw + 1, sw):
            flops += 2 * c_o * c_i * kh * kw  # every output channel: a multiply-add per weight
    return flops
""",
    },
    {
        "cell": "conv_forward_memory",
        "why": "runs the layer on the meta device and counts its tensors",
        "expect": "full",
        "round": 2,
        "source": """
def conv_forward_memory(c_i, c_o, input_hw, kernel_size, padding, stride):
    # meta tensors have shapes but no data, so nothing is allocated or computed
    conv = nn.Conv2d(c_i, c_o, kernel_size, stride=stride, padding=padding, device="meta")
    x = torch.empty(1, c_i, *input_hw, device="meta")
    y = conv(x)
    return sum(t.numel() for t in (x, conv.weight, conv.bias, y))
""",
    },
    {
        "cell": "conv_forward_memory",
        "why": "closed form grouped per filter (kernel plus bias), own output-size formula",
        "expect": "full",
        "round": 3,
        "source": """
def conv_forward_memory(c_i, c_o, input_hw, kernel_size, padding, stride):
    (h, w), (kh, kw), (ph, pw), (sh, sw) = input_hw, kernel_size, padding, stride
    h_out = (h + 2 * ph - kh + sh) // sh
    w_out = (w + 2 * pw - kw + sw) // sw
    per_filter = c_i * kh * kw + 1  # one kernel and its bias
    return c_i * h * w + c_o * (per_filter + h_out * w_out)
""",
    },
    {
        "cell": "channel_doubling_factor",
        "why": "from the formula, as an int: 2 * 2 for the channels, 1 / (2 * 2) for the outputs",
        "expect": "full",
        "round": 2,
        "source": """
channel_doubling_factor = None
# FLOPs are proportional to c_i * c_o * h_out * w_out
channel_doubling_factor = (2 * 2) // (2 * 2)
channel_doubling_factor
""",
    },
    {
        "cell": "channel_doubling_factor",
        "why": "computed with the function on an 8 x 8 input, integer division",
        "expect": "full",
        "round": 3,
        "source": """
channel_doubling_factor = None
before = conv_forward_flops(2, 5, (8, 8), (3, 3), (1, 1), (1, 1))
channel_doubling_factor = conv_forward_flops(4, 10, (8, 8), (3, 3), (1, 1), (2, 2)) // before
channel_doubling_factor
""",
    },
    # -- NumPy and tensor numbers are numbers; a bool is not -------------------------------
    {
        "cell": "channel_doubling_factor",
        "why": "np.int64(1): a NumPy number is a number",
        "expect": "full",
        "round": 4,
        "source": """
import numpy as np

channel_doubling_factor = np.int64(1)
channel_doubling_factor
""",
    },
    {
        "cell": "channel_doubling_factor",
        "why": "a np.float64 ratio of the two FLOP counts",
        "expect": "full",
        "round": 5,
        "source": """
import numpy as np

before = conv_forward_flops(6, 16, (28, 28), (3, 3), (1, 1), (1, 1))
after = conv_forward_flops(12, 32, (28, 28), (3, 3), (1, 1), (2, 2))
channel_doubling_factor = np.float64(after) / np.float64(before)
channel_doubling_factor
""",
    },
    {
        "cell": "channel_doubling_factor",
        "why": "a one-element float tensor, the ratio of the counts as tensors",
        "expect": "full",
        "round": 6,
        "source": """
counts = torch.tensor([
    conv_forward_flops(6, 16, (28, 28), (3, 3), (1, 1), (1, 1)),
    conv_forward_flops(12, 32, (28, 28), (3, 3), (1, 1), (2, 2)),
], dtype=torch.float64)
channel_doubling_factor = counts[1] / counts[0]
channel_doubling_factor
""",
    },
    {
        "cell": "channel_doubling_factor",
        "why": "np.True_ (== 1, but a bool is not a number of FLOPs)",
        "tests": ["test_channel_doubling_factor"],
        "round": 3,
        "source": """
import numpy as np

channel_doubling_factor = np.True_
""",
    },
    # -- other honest variations (full) ----------------------------------------------------
    {
        "cell": "compose_kernels",
        "why": "cudnn.benchmark set in the cell, shifted copies of k1 summed from a list in a"
        " local named ops",
        "expect": "full",
        "round": 4,
        "source": """
torch.backends.cudnn.benchmark = True


def compose_kernels(k1, k2):
    (h1, w1), (h2, w2) = k1.shape, k2.shape
    ops = []
    for c in range(h2):
        for d in range(w2):
            shifted = k1.new_zeros(h1 + h2 - 1, w1 + w2 - 1)
            shifted[c : c + h1, d : d + w1] = k2[c, d] * k1
            ops.append(shifted)
    return torch.stack(ops).sum(dim=0)
""",
    },
    {
        "cell": "conv_forward_flops",
        "why": "import math inside the function, math.prod of a list comprehension",
        "expect": "full",
        "round": 4,
        "source": """
def conv_forward_flops(c_i, c_o, input_hw, kernel_size, padding, stride):
    import math

    sizes = zip(input_hw, kernel_size, padding, stride)
    outputs = [(n + 2 * p - k) // s + 1 for n, k, p, s in sizes]
    return 2 * c_i * c_o * math.prod(outputs) * math.prod(kernel_size)
""",
    },
    {
        "cell": "conv_forward_memory",
        "why": "a lambda for the area of a pair, Python's max on the ints",
        "expect": "full",
        "round": 4,
        "source": """
area = lambda pair: pair[0] * pair[1]


def conv_forward_memory(c_i, c_o, input_hw, kernel_size, padding, stride):
    out_hw = conv_output_shape(input_hw, kernel_size, padding, stride)
    weights = c_o * (c_i * area(kernel_size) + 1)
    return max(0, c_i * area(input_hw)) + weights + c_o * area(out_hw)
""",
    },
    {
        "cell": "compose_kernels",
        "why": "%%time on the answer cell; the composed kernel is corr2d of a padded k1 with k2"
        " flipped, in a local named checks",
        "expect": "full",
        "round": 5,
        "source": """
%%time
def compose_kernels(k1, k2):
    (h1, w1), (h2, w2) = k1.shape, k2.shape
    checks = k1.new_zeros(h1 + 2 * (h2 - 1), w1 + 2 * (w2 - 1))
    checks[h2 - 1 : h2 - 1 + h1, w2 - 1 : w2 - 1 + w1] = k1
    return corr2d(checks, k2.flip(0, 1))
""",
    },
]
