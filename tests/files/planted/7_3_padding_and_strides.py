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
]
