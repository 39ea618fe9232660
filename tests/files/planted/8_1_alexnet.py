"""Planted answers for solutions/8_1_alexnet (format: README.md)."""

PLANTED = [
    {
        "cell": "count_parameters",
        "why": "counts only the weights, not the biases",
        "tests": ["test_count_parameters"],
        "source": """
def count_parameters(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    return sum(p.numel() for name, p in net.named_parameters() if name.endswith("weight"))
""",
    },
    {
        "cell": "count_parameters",
        "why": "hard-codes the visible AlexNet count",
        "tests": ["test_count_parameters"],
        "source": """
def count_parameters(net, x_shape):
    return 46764746
""",
    },
    {
        "cell": "count_parameters",
        "why": "off by one layer: leaves out the last layer's weight and bias",
        "tests": ["test_count_parameters"],
        "source": """
def count_parameters(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    return sum(p.numel() for p in list(net.parameters())[:-2])
""",
    },
    {
        "cell": "parameters_by_layer_type",
        "why": "groups by top-level child, so a nested Sequential is one entry",
        "tests": ["test_parameters_by_layer_type"],
        "source": """
def parameters_by_layer_type(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    counts = {}
    for module in net.children():
        n = sum(p.numel() for p in module.parameters())
        if n:
            counts[type(module).__name__] = counts.get(type(module).__name__, 0) + n
    return counts
""",
    },
    {
        "cell": "parameters_by_layer_type",
        "why": "hard-codes the visible AlexNet split",
        "tests": ["test_parameters_by_layer_type"],
        "source": """
def parameters_by_layer_type(net, x_shape):
    return {"Conv2d": 3723968, "Linear": 43040778}
""",
    },
]
