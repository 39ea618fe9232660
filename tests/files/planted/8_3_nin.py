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
    {
        "cell": "nin_block_param_count",
        "why": "weights and biases summed separately, in one closed formula",
        "expect": "full",
        "round": 2,
        "source": """
def nin_block_param_count(in_channels, out_channels, kernel_size):
    weights = out_channels * (kernel_size * kernel_size * in_channels + 2 * out_channels)
    biases = 3 * out_channels
    return weights + biases
""",
    },
    {
        "cell": "nin_block_param_count",
        "why": "a loop over the three convolutions, carrying the input channels along",
        "expect": "full",
        "round": 3,
        "source": """
def nin_block_param_count(in_channels: int, out_channels: int, kernel_size: int) -> int:
    total = 0
    channels = in_channels
    for k in (kernel_size, 1, 1):
        total += k**2 * channels * out_channels + out_channels
        channels = out_channels
    return total
""",
    },
    {
        "cell": "nin_with_linear_head",
        "why": "walks NiN's layers and stops at the AdaptiveAvgPool2d instead of slicing",
        "expect": "full",
        "round": 2,
        "source": """
def nin_with_linear_head(num_classes=10):
    kept = []
    for layer in NiN(num_classes=num_classes).net:
        if isinstance(layer, nn.AdaptiveAvgPool2d):
            break
        kept.append(layer)
    return nn.Sequential(*kept, nn.Flatten(), nn.LazyLinear(num_classes))
""",
    },
    {
        "cell": "nin_with_linear_head",
        "why": "slices NiN's nn.Sequential (a new nn.Sequential) and appends the head to it",
        "expect": "full",
        "round": 3,
        "source": """
def nin_with_linear_head(num_classes: int = 10) -> nn.Sequential:
    model = NiN(num_classes=num_classes)
    pool_at = [type(m) for m in model.net].index(nn.AdaptiveAvgPool2d)
    head = model.net[:pool_at]
    head.append(nn.Flatten())
    head.append(nn.LazyLinear(num_classes))
    return head
""",
    },
    {
        "cell": "linear_head_extra_parameters",
        "why": "simplified floor formulas: (n - 7) // 4 for the convolution, (n - 1) // 2 per pool",
        "expect": "full",
        "round": 2,
        "source": """
def linear_head_extra_parameters(image_size, num_classes=10):
    side = (image_size - 7) // 4
    for _ in range(3):
        side = (side - 1) // 2
    return num_classes * (num_classes * side**2 + 1)
""",
    },
    {
        "cell": "linear_head_extra_parameters",
        "why": "generic output-size formula traced through every convolution and pool of NiN",
        "expect": "full",
        "round": 3,
        "source": """
def linear_head_extra_parameters(image_size: int, num_classes: int = 10) -> int:
    def out_side(n, kernel, stride=1, padding=0):
        return (n + 2 * padding - kernel) // stride + 1

    # (kernel, stride, padding) of NiN's first convolution of each block and of its pools;
    # the 1 x 1 convolutions keep the side and are left out
    layers = [(11, 4, 0), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 1, 1), (3, 2, 0), (3, 1, 1)]
    side = image_size
    for kernel, stride, padding in layers:
        side = out_side(side, kernel, stride, padding)
    weights = num_classes * side * side * num_classes
    return weights + num_classes
""",
    },
    {
        "cell": "nin_block_param_count",
        "why": "right numbers, against the rule: builds the block with a captured constructor",
        "tests": ["test_nin_block_param_count"],
        "source": """
from torch.nn import LazyConv2d as conv


def nin_block_param_count(in_channels, out_channels, kernel_size):
    layers = [conv(out_channels, kernel_size), conv(out_channels, 1), conv(out_channels, 1)]
    x = torch.zeros(1, in_channels, kernel_size, kernel_size)
    for layer in layers:
        x = layer(x)
    return sum(p.numel() for layer in layers for p in layer.parameters())
""",
    },
    {
        "cell": "linear_head_extra_parameters",
        "why": "right numbers, against the rule: measures both networks on the meta device",
        "tests": ["test_linear_head_extra_parameters"],
        "source": """
def linear_head_extra_parameters(image_size, num_classes=10):
    with torch.device("meta"):
        body = NiN(num_classes=num_classes)
        out = body.net[:-2](torch.empty(1, 1, image_size, image_size))
    return (out.numel() + 1) * num_classes
""",
    },
    # -- a way around "arithmetic only" (less) ---------------------------------------------
    {
        "cell": "nin_block_param_count",
        "why": "import torch as t inside the function, then counts t.nn.Conv2d layers on the meta"
        " device",
        "tests": ["test_nin_block_param_count"],
        "round": 5,
        "source": """
def nin_block_param_count(in_channels, out_channels, kernel_size):
    import torch as t

    layers = [
        t.nn.Conv2d(in_channels, out_channels, kernel_size, device="meta"),
        t.nn.Conv2d(out_channels, out_channels, 1, device="meta"),
        t.nn.Conv2d(out_channels, out_channels, 1, device="meta"),
    ]
    return sum(p.numel() for layer in layers for p in layer.parameters())
""",
    },
    # -- honest variations (full) ----------------------------------------------------------
    {
        "cell": "nin_block_param_count",
        "why": "import math inside the function, math.prod; the cell also defines a helper that"
        " linear_head_extra_parameters calls",
        "expect": "full",
        "round": 4,
        "source": """
def out_side(n, kernel, stride=1, padding=0):
    \"\"\"The output side of a convolution or pooling on an n x n input.\"\"\"
    return (n + 2 * padding - kernel) // stride + 1


def nin_block_param_count(in_channels, out_channels, kernel_size):
    import math

    ops = [(kernel_size, in_channels), (1, out_channels), (1, out_channels)]
    return sum(math.prod((k, k, c, out_channels)) + out_channels for k, c in ops)
""",
    },
    {
        "cell": "linear_head_extra_parameters",
        "why": "the side traced with the helper out_side of the nin_block_param_count cell",
        "expect": "full",
        "round": 4,
        "source": """
def linear_head_extra_parameters(image_size, num_classes=10):
    side = out_side(image_size, 11, stride=4)
    for _ in range(3):
        side = out_side(side, 3, stride=2)  # the max-poolings; the padded convolutions keep it
    return (num_classes * side * side + 1) * num_classes
""",
    },
    {
        "cell": "nin_with_linear_head",
        "why": "the head assembled with setattr on an nn.Sequential",
        "expect": "full",
        "round": 4,
        "source": """
def nin_with_linear_head(num_classes=10):
    net = nn.Sequential(*list(NiN(num_classes=num_classes).net)[:-2])
    for name, layer in [("flatten", nn.Flatten()), ("dense", nn.LazyLinear(num_classes))]:
        setattr(net, name, layer)
    return net
""",
    },
    {
        "cell": "nin_block_param_count",
        "why": "%%time on the answer cell, a lambda per convolution",
        "expect": "full",
        "round": 5,
        "source": """
%%time
conv_params = lambda k, c_in, c_out: (k * k * c_in + 1) * c_out


def nin_block_param_count(in_channels, out_channels, kernel_size):
    first = conv_params(kernel_size, in_channels, out_channels)
    return first + 2 * conv_params(1, out_channels, out_channels)
""",
    },
    {
        "cell": "linear_head_extra_parameters",
        "why": "Python's max on the ints, the side in a local named pooling",
        "expect": "full",
        "round": 5,
        "source": """
def linear_head_extra_parameters(image_size, num_classes=10):
    pooling = max((image_size - 11) // 4 + 1, 1)
    for _ in range(3):
        pooling = max((pooling - 3) // 2 + 1, 1)
    features = num_classes * pooling**2
    return features * num_classes + num_classes
""",
    },
    {
        "cell": "nin_with_linear_head",
        "why": "cudnn.benchmark set in the cell, the pooling and flatten filtered out by a list"
        " comprehension",
        "expect": "full",
        "round": 5,
        "source": """
torch.backends.cudnn.benchmark = True


def nin_with_linear_head(num_classes=10):
    head_free = [
        layer
        for layer in NiN(num_classes=num_classes).net
        if not isinstance(layer, (nn.AdaptiveAvgPool2d, nn.Flatten))
    ]
    return nn.Sequential(*head_free, nn.Flatten(), nn.LazyLinear(num_classes))
""",
    },
]
