"""Planted answers for solutions/8_3_nin (format: README.md)."""

PLANTED = [
    {
        "cell": "nin_block_param_count",
        "why": "forgets the biases",
        "tests": ["test_nin_block_param_count"],
        "source": """
def nin_block_param_count(in_channels, out_channels, kernel_size):
    return kernel_size * kernel_size * in_channels * out_channels + 2 * out_channels * out_channels
""",
    },
    {
        "cell": "nin_block_param_count",
        "why": "counts one 1x1 convolution instead of two",
        "tests": ["test_nin_block_param_count"],
        "source": """
def nin_block_param_count(in_channels, out_channels, kernel_size):
    return (kernel_size ** 2 * in_channels + 1) * out_channels + (out_channels + 1) * out_channels
""",
    },
    {
        "cell": "nin_block_param_count",
        "why": "hard-codes the visible first block",
        "tests": ["test_nin_block_param_count"],
        "source": """
def nin_block_param_count(in_channels, out_channels, kernel_size):
    return 30336
""",
    },
    {
        "cell": "nin_with_linear_head",
        "why": "keeps global average pooling and stacks a dense layer on it",
        "tests": ["test_nin_with_linear_head"],
        "source": """
def nin_with_linear_head(num_classes=10):
    return nn.Sequential(*NiN(num_classes=num_classes).net, nn.LazyLinear(num_classes))
""",
    },
    {
        "cell": "nin_with_linear_head",
        "why": "off by one: also drops NiN's last block",
        "tests": ["test_nin_with_linear_head"],
        "source": """
def nin_with_linear_head(num_classes=10):
    layers = list(NiN(num_classes=num_classes).net)[:-3]
    return nn.Sequential(*layers, nn.Flatten(), nn.LazyLinear(num_classes))
""",
    },
    {
        "cell": "linear_head_extra_parameters",
        "why": "hard-codes the 5 x 5 map of 224 x 224 inputs",
        "tests": ["test_linear_head_extra_parameters"],
        "source": """
def linear_head_extra_parameters(image_size, num_classes=10):
    return (num_classes * 25 + 1) * num_classes
""",
    },
    {
        "cell": "linear_head_extra_parameters",
        "why": "forgets the dense layer's bias",
        "tests": ["test_linear_head_extra_parameters"],
        "source": """
def linear_head_extra_parameters(image_size, num_classes=10):
    side = (image_size - 11) // 4 + 1
    for _ in range(3):
        side = (side - 3) // 2 + 1
    return num_classes * side * side * num_classes
""",
    },
]
