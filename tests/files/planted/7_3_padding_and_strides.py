"""Planted answers for solutions/7_3_padding_and_strides (format: README.md)."""

PLANTED = [
    {
        "cell": "conv_output_shape",
        "why": "adds the padding once instead of on both sides",
        "tests": ["test_conv_output_shape"],
        "source": """
def conv_output_shape(input_hw, kernel_size, padding, stride):
    return tuple((n + p - k) // s + 1 for n, k, p, s in zip(input_hw, kernel_size, padding, stride))
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "hard-codes the visible examples",
        "tests": ["test_conv_output_shape"],
        "source": """
def conv_output_shape(input_hw, kernel_size, padding, stride):
    return (2, 2) if tuple(stride) == (3, 4) else (8, 8)
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "calls the course's own convbook.ops.conv_output_shape, under another name",
        "tests": ["test_conv_output_shape"],
        "source": """
from convbook.ops import conv_output_shape as course_shape


def conv_output_shape(input_hw, kernel_size, padding, stride):
    return course_shape(input_hw, kernel_size, padding, stride)
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "correct, but warns with a Python DeprecationWarning forced onto stderr",
        "expect": "full",
        "source": """
import warnings


def conv_output_shape(input_hw, kernel_size, padding, stride):
    warnings.warn("tuples of ints are old-fashioned", DeprecationWarning, stacklevel=1)
    return tuple(
        (n + 2 * p - k) // s + 1 for n, k, p, s in zip(input_hw, kernel_size, padding, stride)
    )


warnings.simplefilter("always")
""",
    },
    {
        "cell": "mirror_pad",
        "why": "repeats the border pixel (symmetric instead of reflect padding)",
        "tests": ["test_mirror_pad"],
        "source": """
def mirror_pad(X, p):
    def index(n):
        before, after = torch.arange(p - 1, -1, -1), torch.arange(n - 1, n - 1 - p, -1)
        return torch.cat([before, torch.arange(n), after])

    return X[index(X.shape[0])][:, index(X.shape[1])]
""",
    },
    {
        "cell": "mirror_pad",
        "why": "pads with zeros",
        "tests": ["test_mirror_pad"],
        "source": """
def mirror_pad(X, p):
    out = X.new_zeros(X.shape[0] + 2 * p, X.shape[1] + 2 * p)
    out[p : p + X.shape[0], p : p + X.shape[1]] = X
    return out
""",
    },
    {
        "cell": "conv_stride_half",
        "why": "forgets to flip the kernel",
        "tests": ["test_conv_stride_half"],
        "source": """
def conv_stride_half(X, K):
    h, w = X.shape
    kh, kw = K.shape
    padded = X.new_zeros(2 * h - 1 + 2 * (kh - 1), 2 * w - 1 + 2 * (kw - 1))
    padded[kh - 1 : kh - 1 + 2 * h - 1 : 2, kw - 1 : kw - 1 + 2 * w - 1 : 2] = X
    return corr2d(padded, K)
""",
    },
    {
        "cell": "conv_stride_half",
        "why": "nearest-neighbour upsampling instead of inserting zeros",
        "tests": ["test_conv_stride_half"],
        "source": """
def conv_stride_half(X, K):
    kh, kw = K.shape
    up = X.repeat_interleave(2, dim=0).repeat_interleave(2, dim=1)[:-1, :-1]
    padded = X.new_zeros(up.shape[0] + 2 * (kh - 1), up.shape[1] + 2 * (kw - 1))
    padded[kh - 1 : kh - 1 + up.shape[0], kw - 1 : kw - 1 + up.shape[1]] = up
    return corr2d(padded, torch.flip(K, dims=(0, 1)))
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "counts the window positions that fit in the padded input with a loop",
        "expect": "full",
        "round": 2,
        "source": """
def conv_output_shape(input_hw, kernel_size, padding, stride):
    sizes = []
    for n, k, p, s in zip(input_hw, kernel_size, padding, stride):
        count, start = 0, 0
        while start + k <= n + 2 * p:  # the window still fits in the padded input
            count += 1
            start += s
        sizes.append(count)
    return tuple(sizes)
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "d2l's form with the total padding, floor of a float division",
        "expect": "full",
        "round": 3,
        "source": """
def conv_output_shape(input_hw, kernel_size, padding, stride):
    import math

    # d2l's form with the total padding p_h = 2 * padding: floor((n - k + p_h + s) / s)
    (n_h, n_w), (k_h, k_w) = input_hw, kernel_size
    p_h, p_w = 2 * padding[0], 2 * padding[1]
    s_h, s_w = stride
    return math.floor((n_h - k_h + p_h + s_h) / s_h), math.floor((n_w - k_w + p_w + s_w) / s_w)
""",
    },
    {
        "cell": "mirror_pad",
        "why": "torch.flip and torch.cat, rows first and then columns",
        "expect": "full",
        "round": 2,
        "source": """
def mirror_pad(X, p):
    # rows 1..p mirrored above, rows n-1-p..n-2 below: the border row is not repeated
    h = X.shape[0]
    top = torch.flip(X[1 : p + 1], dims=(0,))
    bottom = torch.flip(X[h - 1 - p : h - 1], dims=(0,))
    X = torch.cat([top, X, bottom], dim=0)
    w = X.shape[1]
    left = torch.flip(X[:, 1 : p + 1], dims=(1,))
    right = torch.flip(X[:, w - 1 - p : w - 1], dims=(1,))
    return torch.cat([left, X, right], dim=1)
""",
    },
    {
        "cell": "mirror_pad",
        "why": "explicit loops over the output pixels, each folded back into the image",
        "expect": "full",
        "round": 3,
        "source": """
def mirror_pad(X, p):
    h, w = X.shape

    def source(t, n):
        t -= p  # counted from the first real pixel
        if t < 0:
            return -t
        if t > n - 1:
            return 2 * (n - 1) - t
        return t

    out = X.new_empty(h + 2 * p, w + 2 * p)
    for u in range(h + 2 * p):
        for v in range(w + 2 * p):
            out[u, v] = X[source(u, h), source(v, w)]
    return out
""",
    },
    {
        "cell": "conv_stride_half",
        "why": "polyphase: each of the four output phases is a full convolution of X with a "
        "sub-kernel K[r::2, t::2], no spread-out image",
        "expect": "full",
        "round": 2,
        "source": """
def conv_stride_half(X, K):
    h, w = X.shape
    kh, kw = K.shape
    out = X.new_zeros(2 * (h - 1) + kh, 2 * (w - 1) + kw)
    # output (2m + r, 2q + t) only meets the taps K[r::2, t::2]
    for r in range(2):
        for t in range(2):
            sub = K[r::2, t::2]
            if sub.numel() == 0:
                continue  # kh or kw is 1: this phase gets no taps and stays 0
            lh, lw = sub.shape
            padded = X.new_zeros(h + 2 * (lh - 1), w + 2 * (lw - 1))
            padded[lh - 1 : lh - 1 + h, lw - 1 : lw - 1 + w] = X
            out[r::2, t::2] = corr2d(padded, torch.flip(sub, dims=(0, 1)))
    return out
""",
    },
    {
        "cell": "conv_stride_half",
        "why": "swaps the roles (convolution is symmetric): pads the kernel and slides the "
        "flipped spread-out image over it",
        "expect": "full",
        "round": 3,
        "source": """
def conv_stride_half(X, K):
    h, w = X.shape
    kh, kw = K.shape
    spread = X.new_zeros(2 * h - 1, 2 * w - 1)
    spread[::2, ::2] = X
    # spread * K = K * spread: pad K by the spread image's size minus one on every side
    ph, pw = 2 * h - 2, 2 * w - 2
    padded = torch.cat([X.new_zeros(ph, kw), K.to(X.dtype), X.new_zeros(ph, kw)], dim=0)
    side = X.new_zeros(padded.shape[0], pw)
    padded = torch.cat([side, padded, side], dim=1)
    return corr2d(padded, torch.flip(spread, dims=(0, 1)))
""",
    },
    # -- ways around the rules (less) ------------------------------------------------------
    {
        "cell": "conv_output_shape",
        "why": "import convbook.ops inside the function, then its conv_output_shape",
        "tests": ["test_conv_output_shape"],
        "round": 4,
        "source": """
def conv_output_shape(input_hw, kernel_size, padding, stride):
    import convbook.ops as course

    return course.conv_output_shape(input_hw, kernel_size, padding, stride)
""",
    },
    {
        "cell": "mirror_pad",
        "why": "torch.ops.aten.reflection_pad2d.default: F.pad's reflect mode by its operator name",
        "tests": ["test_mirror_pad"],
        "round": 4,
        "source": """
def mirror_pad(X, p):
    return torch.ops.aten.reflection_pad2d.default(X[None], [p, p, p, p])[0]
""",
    },
    {
        "cell": "conv_stride_half",
        "why": "torch.convolution with transposed=True: the transposed convolution itself",
        "tests": ["test_conv_stride_half"],
        "round": 4,
        "source": """
def conv_stride_half(X, K):
    out = torch.convolution(
        X[None, None], K[None, None], None, (2, 2), (0, 0), (1, 1), True, (0, 0), 1
    )
    return out[0, 0]
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "getattr(ops, 'conv_output_shape') on convbook.ops imported in the cell",
        "tests": ["test_conv_output_shape"],
        "round": 5,
        "source": """
from convbook import ops


def conv_output_shape(input_hw, kernel_size, padding, stride):
    return getattr(ops, "conv_output_shape")(input_hw, kernel_size, padding, stride)
""",
    },
    {
        "cell": "mirror_pad",
        "why": "nn.ReflectionPad3d, which is not on the list but pads with F.pad",
        "tests": ["test_mirror_pad"],
        "round": 5,
        "source": """
def mirror_pad(X, p):
    return nn.ReflectionPad3d((p, p, p, p, 0, 0))(X[None, None])[0, 0]
""",
    },
    {
        "cell": "conv_stride_half",
        "why": "torch.nn.grad.conv2d_input: the input gradient of a strided convolution is the"
        " transposed convolution",
        "tests": ["test_conv_stride_half"],
        "round": 5,
        "source": """
def conv_stride_half(X, K):
    (h, w), (kh, kw) = X.shape, K.shape
    size = (1, 1, 2 * (h - 1) + kh, 2 * (w - 1) + kw)
    return torch.nn.grad.conv2d_input(size, K[None, None], X[None, None], stride=2)[0, 0]
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "importlib.import_module('convbook.ops').conv_output_shape",
        "tests": ["test_conv_output_shape"],
        "round": 6,
        "source": """
import importlib


def conv_output_shape(input_hw, kernel_size, padding, stride):
    course = importlib.import_module("convbook.ops")
    return course.conv_output_shape(input_hw, kernel_size, padding, stride)
""",
    },
    {
        "cell": "mirror_pad",
        "why": "np.pad in reflect mode on a NumPy copy (numpy.pad under its alias)",
        "tests": ["test_mirror_pad"],
        "round": 6,
        "source": """
import numpy as np


def mirror_pad(X, p):
    return torch.from_numpy(np.pad(X.cpu().numpy(), p, mode="reflect")).to(X.device)
""",
    },
    # -- honest variations (full) ----------------------------------------------------------
    {
        "cell": "conv_output_shape",
        "why": "import math inside the function, math.floor, the sizes in a local named checks",
        "expect": "full",
        "round": 4,
        "source": """
def conv_output_shape(input_hw, kernel_size, padding, stride):
    import math

    checks = []
    for n, k, p, s in zip(input_hw, kernel_size, padding, stride):
        checks.append(math.floor((n + 2 * p - k) / s) + 1)
    return tuple(checks)
""",
    },
    {
        "cell": "mirror_pad",
        "why": "a nested helper builds the indices from a list in a local named ops",
        "expect": "full",
        "round": 4,
        "source": """
def mirror_pad(X, p):
    def indices(n):
        ops = [torch.arange(p, 0, -1), torch.arange(n), torch.arange(n - 2, n - 2 - p, -1)]
        return torch.cat(ops).to(X.device)

    return X[indices(X.shape[0])][:, indices(X.shape[1])]
""",
    },
    {
        "cell": "conv_stride_half",
        "why": "zeros inserted by a strided slice assignment into a local named optim",
        "expect": "full",
        "round": 4,
        "source": """
def conv_stride_half(X, K):
    h, w = X.shape
    kh, kw = K.shape
    optim = X.new_zeros(2 * h - 1 + 2 * (kh - 1), 2 * w - 1 + 2 * (kw - 1))
    optim[kh - 1 : kh - 1 + 2 * h - 1 : 2, kw - 1 : kw - 1 + 2 * w - 1 : 2] = X
    return corr2d(optim, K.flip(0, 1))
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "a top-level lambda and a list comprehension; the cell also defines a helper with"
        " Python's abs that mirror_pad calls",
        "expect": "full",
        "round": 5,
        "source": """
out_size = lambda n, k, p, s: (n + 2 * p - k) // s + 1


def folded(i, n):
    \"\"\"Index i, which may lie outside 0..n-1, reflected back into it.\"\"\"
    i = abs(i)
    return i if i < n else 2 * (n - 1) - i


def conv_output_shape(input_hw, kernel_size, padding, stride):
    return tuple([out_size(*sizes) for sizes in zip(input_hw, kernel_size, padding, stride)])
""",
    },
    {
        "cell": "mirror_pad",
        "why": "indices from the helper folded, defined in the conv_output_shape cell",
        "expect": "full",
        "round": 5,
        "source": """
def mirror_pad(X, p):
    h, w = X.shape
    rows = torch.tensor([folded(i, h) for i in range(-p, h + p)], device=X.device)
    cols = torch.tensor([folded(j, w) for j in range(-p, w + p)], device=X.device)
    return X[rows[:, None], cols[None, :]]
""",
    },
    {
        "cell": "conv_stride_half",
        "why": "the scatter form: each input pixel adds a scaled copy of K, pairs from a list"
        " comprehension",
        "expect": "full",
        "round": 5,
        "source": """
def conv_stride_half(X, K):
    h, w = X.shape
    kh, kw = K.shape
    out = X.new_zeros(2 * (h - 1) + kh, 2 * (w - 1) + kw)
    for i, j in [(i, j) for i in range(h) for j in range(w)]:
        out[2 * i : 2 * i + kh, 2 * j : 2 * j + kw] += X[i, j] * K
    return out
""",
    },
    {
        "cell": "conv_output_shape",
        "why": "%%time on the answer cell, Python's max and abs on the ints",
        "expect": "full",
        "round": 6,
        "source": """
%%time
def conv_output_shape(input_hw, kernel_size, padding, stride):
    sizes = []
    for n, k, p, s in zip(input_hw, kernel_size, padding, stride):
        room = max(n + 2 * p - k, 0)  # how far the window can move
        sizes.append(room // abs(s) + 1)
    return sizes[0], sizes[1]
""",
    },
]
