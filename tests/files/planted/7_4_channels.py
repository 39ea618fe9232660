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
]
