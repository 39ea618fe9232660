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
    # -- buffers are not parameters: the hidden tests use nets with batch norm (less) -----
    {
        "cell": "count_parameters",
        "why": "sums net.state_dict(), which also holds batch norm's buffers (running"
        " statistics and the batch counter)",
        "tests": ["test_count_parameters"],
        "round": 4,
        "source": """
def count_parameters(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    return sum(t.numel() for t in net.state_dict().values())
""",
    },
    {
        "cell": "count_parameters",
        "why": "adds net.buffers() to net.parameters()",
        "tests": ["test_count_parameters"],
        "round": 5,
        "source": """
def count_parameters(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    return sum(t.numel() for t in [*net.parameters(), *net.buffers()])
""",
    },
    {
        "cell": "parameters_by_layer_type",
        "why": "counts each layer's state_dict(), so batch norm's buffers count as parameters",
        "tests": ["test_parameters_by_layer_type"],
        "round": 4,
        "source": """
def parameters_by_layer_type(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    counts = {}
    for module in net.modules():
        if list(module.children()):
            continue  # a container: its layers are counted themselves
        owned = sum(t.numel() for t in module.state_dict().values())
        if owned:
            counts[type(module).__name__] = counts.get(type(module).__name__, 0) + owned
    return counts
""",
    },
    # -- honest variations (full) ----------------------------------------------------------
    {
        "cell": "count_parameters",
        "why": "state_dict(keep_vars=True) filtered by requires_grad: only the parameters",
        "expect": "full",
        "round": 4,
        "source": """
def count_parameters(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    tensors = net.state_dict(keep_vars=True).values()
    return sum(t.numel() for t in tensors if t.requires_grad)
""",
    },
    {
        "cell": "count_parameters",
        "why": "counts the parameters an SGD optimizer in a local named optim would train",
        "expect": "full",
        "round": 5,
        "source": """
def count_parameters(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    optim = torch.optim.SGD(net.parameters(), lr=0.1)
    return sum(p.numel() for group in optim.param_groups for p in group["params"])
""",
    },
    {
        "cell": "parameters_by_layer_type",
        "why": "getattr(module, name) for each of a layer's own parameter names, a local named"
        " checks",
        "expect": "full",
        "round": 5,
        "source": """
def parameters_by_layer_type(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    checks = {}
    for _, module in net.named_modules():
        kind = type(module).__name__
        for name, _ in module.named_parameters(recurse=False):
            checks[kind] = checks.get(kind, 0) + getattr(module, name).numel()
    return checks
""",
    },
    {
        "cell": "parameters_by_layer_type",
        "why": "%%time on the answer cell, a dict comprehension over the layer classes",
        "expect": "full",
        "round": 6,
        "source": """
%%time
def parameters_by_layer_type(net, x_shape):
    with torch.no_grad():
        net(torch.zeros(x_shape))
    owned = [
        (type(m).__name__, sum(p.numel() for p in m.parameters(recurse=False)))
        for m in net.modules()
    ]
    kinds = {kind for kind, count in owned if count}
    return {kind: sum(count for k, count in owned if k == kind) for kind in kinds}
""",
    },
]
