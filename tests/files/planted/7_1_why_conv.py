"""Planted answers for solutions/7_1_why_conv (format: README.md)."""

PLANTED = [
    {
        "cell": "pixelwise_linear",
        "why": "sign flip: subtracts the bias",
        "tests": ["test_pixelwise_linear"],
        "source": """
def pixelwise_linear(x, weight, bias):
    return (x.permute(0, 2, 3, 1) @ weight.T - bias).permute(0, 3, 1, 2)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "hard-codes the visible example",
        "tests": ["test_pixelwise_linear"],
        "source": """
def pixelwise_linear(x, weight, bias):
    example = torch.arange(24.0).reshape(1, 2, 3, 4)
    w = torch.tensor([[1.0, 0.0], [1.0, -1.0], [0.5, 0.5]])
    b = torch.tensor([0.0, 1.0, -2.0])
    return (example.permute(0, 2, 3, 1) @ w.T + b).permute(0, 3, 1, 2)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "correct, but torch.tensor(tensor) emits a PyTorch UserWarning on stderr",
        "expect": "full",
        "source": """
def pixelwise_linear(x, weight, bias):
    weight = torch.tensor(weight)  # UserWarning: To copy construct from a tensor ...
    return (x.permute(0, 2, 3, 1) @ weight.T + bias).permute(0, 3, 1, 2)
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "never raises ValueError for a kernel that is not 1x1",
        "tests": ["test_linear_from_conv1x1"],
        "source": """
def linear_from_conv1x1(conv):
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    with torch.no_grad():
        linear.weight.copy_(conv.weight[:, :, 0, 0])
        if conv.bias is not None:
            linear.bias.copy_(conv.bias)
    return linear
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "drops the bias",
        "tests": ["test_linear_from_conv1x1"],
        "source": """
def linear_from_conv1x1(conv):
    if conv.kernel_size != (1, 1) or conv.stride != (1, 1):
        raise ValueError("not a plain 1x1 convolution")
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=False)
    with torch.no_grad():
        linear.weight.copy_(conv.weight[:, :, 0, 0])
    return linear
""",
    },
]
