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
    {
        "cell": "count_parameters",
        "why": "random input under set_grad_enabled(False), counted with parameters_to_vector",
        "expect": "full",
        "round": 2,
        "source": """
def count_parameters(net, x_shape):
    with torch.set_grad_enabled(False):
        net(torch.rand(*x_shape))
    return int(torch.nn.utils.parameters_to_vector(net.parameters()).numel())
""",
    },
    {
        "cell": "count_parameters",
        "why": "eval-mode forward, then each module's own parameters, deduplicated by id",
        "expect": "full",
        "round": 3,
        "source": """
def count_parameters(net, x_shape):
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(torch.ones(x_shape))
    finally:
        net.train(was_training)
    seen = {}
    for module in net.modules():
        for parameter in module.parameters(recurse=False):
            seen[id(parameter)] = parameter.numel()
    return sum(seen.values())
""",
    },
    {
        "cell": "parameters_by_layer_type",
        "why": "owner of each named parameter via get_submodule, tallied in a Counter",
        "expect": "full",
        "round": 2,
        "source": """
from collections import Counter


def parameters_by_layer_type(net, x_shape):
    with torch.no_grad():
        net(torch.randn(x_shape))
    counts = Counter()
    for name, parameter in net.named_parameters():
        owner = net.get_submodule(name.rpartition(".")[0])
        counts[type(owner).__name__] += parameter.numel()
    return counts
""",
    },
    {
        "cell": "parameters_by_layer_type",
        "why": "eval-mode forward, then (class, count) pairs sorted and summed with groupby",
        "expect": "full",
        "round": 3,
        "source": """
from itertools import groupby


def parameters_by_layer_type(net, x_shape):
    was_training = net.training
    net.eval()
    with torch.no_grad():
        net(torch.ones(x_shape))
    net.train(was_training)
    pairs = sorted(
        (type(module).__name__, sum(p.numel() for p in module.parameters(recurse=False)))
        for _, module in net.named_modules()
    )
    totals = {name: sum(n for _, n in group) for name, group in groupby(pairs, key=lambda x: x[0])}
    return {name: total for name, total in totals.items() if total > 0}
""",
    },
    {
        "cell": "parameters_by_layer_type",
        "why": "reads each class name as module.__class__.__name__ (once flagged as tampering,"
        " which zeroed the whole notebook)",
        "expect": "full",
        "round": 4,
        "source": """
from collections import defaultdict


def parameters_by_layer_type(net, x_shape):
    was_training = net.training
    net.eval()
    with torch.no_grad():
        net(torch.ones(x_shape))
    net.train(was_training)
    counts = defaultdict(int)

    def visit(module):
        owned = sum(p.numel() for p in module.parameters(recurse=False))
        if owned > 0:
            counts[module.__class__.__name__] += owned
        for _, child in module.named_children():
            visit(child)

    visit(net)
    return dict(counts)
""",
    },
]
