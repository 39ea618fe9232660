"""Planted answers for solutions/8_4_googlenet (format: README.md)."""

PLANTED = [
    {
        "cell": "parameter_counts",
        "why": "hard-codes the visible 224 x 224 counts",
        "tests": ["test_parameter_counts"],
        "source": """
def parameter_counts(image_size=224):
    return {"AlexNet": 46764746, "VGG-11": 128806154, "NiN": 1992166, "GoogLeNet": 5977530}
""",
    },
    {
        "cell": "parameter_counts",
        "why": "counts only the weights, not the biases",
        "tests": ["test_parameter_counts"],
        "source": """
def parameter_counts(image_size=224):
    makers = {"AlexNet": AlexNet, "VGG-11": lambda: VGG(VGG11_ARCH), "NiN": NiN}
    makers["GoogLeNet"] = GoogLeNet
    counts = {}
    for name, make in makers.items():
        with torch.device("meta"):
            net = make()
            net(torch.empty(1, 1, image_size, image_size))
        counts[name] = sum(p.numel() for n, p in net.named_parameters() if n.endswith("weight"))
    return counts
""",
    },
    {
        "cell": "inception_param_count",
        "why": "uses a 3 x 3 kernel in the 5 x 5 branch",
        "tests": ["test_inception_param_count"],
        "source": """
def inception_param_count(in_channels, c1, c2, c3, c4):
    def conv(k, a, b):
        return (k * k * a + 1) * b
    return (conv(1, in_channels, c1) + conv(1, in_channels, c2[0]) + conv(3, c2[0], c2[1])
            + conv(1, in_channels, c3[0]) + conv(3, c3[0], c3[1]) + conv(1, in_channels, c4))
""",
    },
    {
        "cell": "inception_param_count",
        "why": "forgets the convolution of the pooling branch",
        "tests": ["test_inception_param_count"],
        "source": """
def inception_param_count(in_channels, c1, c2, c3, c4):
    def conv(k, a, b):
        return (k * k * a + 1) * b
    return (conv(1, in_channels, c1) + conv(1, in_channels, c2[0]) + conv(3, c2[0], c2[1])
            + conv(1, in_channels, c3[0]) + conv(5, c3[0], c3[1]))
""",
    },
    {
        "cell": "googlenet28",
        "why": "d2l's GoogLeNet unchanged: its last Inception blocks see 1 x 1 maps",
        "tests": ["test_googlenet28"],
        "source": """
class GoogLeNet28(GoogLeNet):
    pass
""",
    },
    {
        "cell": "googlenet28",
        "why": "ignores num_classes (right only for the visible 10 classes)",
        "tests": ["test_googlenet28"],
        "source": """
class GoogLeNet28(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr = lr
        stem = nn.Sequential(nn.LazyConv2d(64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        body = [GoogLeNet.b3(), GoogLeNet.b4(), GoogLeNet.b5()]
        self.net = nn.Sequential(stem, *body, nn.LazyLinear(10))
        self.net.apply(init_cnn)
""",
    },
    {
        "cell": "parameter_counts",
        "why": "counts with parameters_to_vector, models built on the meta device by a helper",
        "expect": "full",
        "round": 2,
        "source": """
def parameter_counts(image_size=224):
    def count(make):
        with torch.device("meta"):
            net = make()
            with torch.no_grad():
                net(torch.zeros(2, 1, image_size, image_size))
        return torch.nn.utils.parameters_to_vector(net.parameters()).numel()

    return {
        "AlexNet": count(AlexNet),
        "VGG-11": count(lambda: VGG(VGG11_ARCH)),
        "NiN": count(NiN),
        "GoogLeNet": count(GoogLeNet),
    }
""",
    },
    {
        "cell": "parameter_counts",
        "why": "ignores the hint: real models on the CPU, one forward pass under no_grad",
        "expect": "full",
        "round": 3,
        "source": """
def parameter_counts(image_size: int = 224) -> dict[str, int]:
    counts = {}
    for name, make in [
        ("AlexNet", lambda: AlexNet()),
        ("VGG-11", lambda: VGG(VGG11_ARCH)),
        ("NiN", lambda: NiN()),
        ("GoogLeNet", lambda: GoogLeNet()),
    ]:
        net = make()
        with torch.no_grad():
            net(torch.zeros(1, 1, image_size, image_size))
        counts[name] = sum(p.numel() for p in net.parameters() if p.requires_grad)
        del net
    return counts
""",
    },
    {
        "cell": "inception_param_count",
        "why": "all weights, then all biases",
        "expect": "full",
        "round": 2,
        "source": """
def inception_param_count(in_channels, c1, c2, c3, c4):
    weights = (
        in_channels * (c1 + c2[0] + c3[0] + c4)  # the four 1 x 1 convolutions on the input
        + 3 * 3 * c2[0] * c2[1]
        + 5 * 5 * c3[0] * c3[1]
    )
    biases = c1 + c2[0] + c2[1] + c3[0] + c3[1] + c4
    return weights + biases
""",
    },
    {
        "cell": "inception_param_count",
        "why": "grouped by input: the 1 x 1 convolutions on the input as one wide convolution",
        "expect": "full",
        "round": 3,
        "source": """
def inception_param_count(
    in_channels: int, c1: int, c2: tuple[int, int], c3: tuple[int, int], c4: int
) -> int:
    (r2, o2), (r3, o3) = c2, c3
    on_input = (in_channels + 1) * (c1 + r2 + r3 + c4)
    return on_input + (9 * r2 + 1) * o2 + (25 * r3 + 1) * o3
""",
    },
    {
        "cell": "googlenet28",
        "why": "non-lazy stem and head given their known input sizes, own last stage (b5's"
        " Inception blocks), one 2 x 2 pooling in the stem",
        "expect": "full",
        "round": 2,
        "source": """
class GoogLeNet28(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.Conv2d(1, 96, kernel_size=3, padding=1),  # N x 96 x 28 x 28
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2),  # N x 96 x 14 x 14
            GoogLeNet.b3(),  # N x 480 x 7 x 7
            GoogLeNet.b4(),  # N x 832 x 4 x 4
            Inception(256, (160, 320), (32, 128), 128),
            Inception(384, (192, 384), (48, 128), 128),  # N x 1024 x 4 x 4
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(1024, num_classes),
        )
        self.net.apply(init_cnn)
""",
    },
    {
        "cell": "googlenet28",
        "why": "own small design: bias=False convolution with batch norm in the stem, no stem"
        " pooling, three narrow Inception blocks on 28, 14 and 7 pixels, nn.Linear head",
        "expect": "full",
        "round": 3,
        "source": """
class GoogLeNet28(Classifier):
    def __init__(self, lr: float = 0.1, num_classes: int = 10) -> None:
        super().__init__()
        self.lr = lr
        stem = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(),
        )  # N x 32 x 28 x 28
        body = nn.Sequential(
            Inception(16, (16, 32), (8, 16), 16),  # N x 80 x 28 x 28
            nn.MaxPool2d(3, stride=2, padding=1),  # N x 80 x 14 x 14
            Inception(32, (32, 64), (16, 32), 32),  # N x 160 x 14 x 14
            nn.MaxPool2d(3, stride=2, padding=1),  # N x 160 x 7 x 7
            Inception(64, (64, 128), (16, 32), 32),  # N x 256 x 7 x 7
        )
        head = nn.Sequential(
            nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(256, num_classes)
        )
        self.net = nn.Sequential(stem, body, head)
        self.net.apply(init_cnn)
""",
    },
    {
        "cell": "inception_param_count",
        "why": "right numbers, against the rule: builds the block and counts its parameters",
        "tests": ["test_inception_param_count"],
        "source": """
def inception_param_count(in_channels, c1, c2, c3, c4):
    block = Inception(c1, c2, c3, c4)
    block(torch.zeros(1, in_channels, 5, 5))
    return sum(p.numel() for p in block.parameters())
""",
    },
    # -- honest variations (full) ----------------------------------------------------------
    {
        "cell": "googlenet28",
        "why": "cudnn.benchmark set in the cell, stages added with setattr(self.net, name, layer),"
        " the class count kept in a name-mangled self.__num_classes",
        "expect": "full",
        "round": 4,
        "source": """
torch.backends.cudnn.benchmark = True


class GoogLeNet28(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr = lr
        self.__num_classes = num_classes
        stem = nn.Sequential(
            nn.LazyConv2d(64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.LazyConv2d(192, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        stages = [
            ("stem", stem),
            ("b3", GoogLeNet.b3()),
            ("b4", GoogLeNet.b4()),
            ("b5", GoogLeNet.b5()),
            ("head", nn.LazyLinear(self.__num_classes)),
        ]
        self.net = nn.Sequential()
        for name, layer in stages:
            setattr(self.net, name, layer)
        self.net.apply(init_cnn)
""",
    },
    {
        "cell": "googlenet28",
        "why": "the stem filled with setattr(stem, name, layer), a forward that walks the stages"
        " with getattr(self.net, name)",
        "expect": "full",
        "round": 5,
        "source": """
class GoogLeNet28(Classifier):
    STAGES = ("stem", "b3", "b4", "b5", "head")

    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr = lr
        stem = nn.Sequential()
        setattr(stem, "conv", nn.LazyConv2d(192, kernel_size=3, padding=1))
        setattr(stem, "relu", nn.ReLU())
        setattr(stem, "pool", nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        layers = [stem, GoogLeNet.b3(), GoogLeNet.b4(), GoogLeNet.b5(), nn.LazyLinear(num_classes)]
        self.net = nn.Sequential()
        for name, layer in zip(self.STAGES, layers):
            self.net.add_module(name, layer)
        self.net.apply(init_cnn)

    def forward(self, x):
        for name in self.STAGES:
            x = getattr(self.net, name)(x)
        return x
""",
    },
    {
        "cell": "parameter_counts",
        "why": "the counts in a local named checks; the cell also defines a helper that"
        " inception_param_count calls",
        "expect": "full",
        "round": 4,
        "source": """
def conv_params(k, c_in, c_out):
    \"\"\"Weights and biases of a k x k convolution from c_in to c_out channels.\"\"\"
    return (k * k * c_in + 1) * c_out


def parameter_counts(image_size=224):
    makers = {"AlexNet": AlexNet, "VGG-11": lambda: VGG(VGG11_ARCH), "NiN": NiN,
              "GoogLeNet": GoogLeNet}
    checks = {}
    for name, make in makers.items():
        with torch.device("meta"):
            net = make()
            net(torch.empty(1, 1, image_size, image_size))
        checks[name] = sum(p.numel() for p in net.parameters())
    return checks
""",
    },
    {
        "cell": "inception_param_count",
        "why": "import math inside the function, the helper conv_params of the parameter_counts"
        " cell, a list comprehension over the branches",
        "expect": "full",
        "round": 4,
        "source": """
def inception_param_count(in_channels, c1, c2, c3, c4):
    import math

    branches = [
        [(1, in_channels, c1)],
        [(1, in_channels, c2[0]), (3, c2[0], c2[1])],
        [(1, in_channels, c3[0]), (5, c3[0], c3[1])],
        [(1, in_channels, c4)],
    ]
    per_branch = [sum(conv_params(*conv) for conv in branch) for branch in branches]
    return int(math.fsum(per_branch))  # exact: the counts are far below 2**53
""",
    },
    {
        "cell": "parameter_counts",
        "why": "%%time on the answer cell, an SGD optimizer in a local named optim collects the"
        " parameters",
        "expect": "full",
        "round": 5,
        "source": """
%%time
def parameter_counts(image_size=224):
    counts = {}
    for name, make in [("AlexNet", AlexNet), ("VGG-11", lambda: VGG(VGG11_ARCH)), ("NiN", NiN),
                       ("GoogLeNet", GoogLeNet)]:
        with torch.device("meta"):
            net = make()
            net(torch.empty(1, 1, image_size, image_size))
        optim = torch.optim.SGD(net.parameters(), lr=0.1)
        counts[name] = sum(p.numel() for group in optim.param_groups for p in group["params"])
    return counts
""",
    },
    {
        "cell": "inception_param_count",
        "why": "a lambda per convolution, Python's max and abs on the ints",
        "expect": "full",
        "round": 5,
        "source": """
conv = lambda k, c_in, c_out: (k * k * abs(c_in) + 1) * max(c_out, 0)


def inception_param_count(in_channels, c1, c2, c3, c4):
    return (
        conv(1, in_channels, c1)
        + conv(1, in_channels, c2[0]) + conv(3, c2[0], c2[1])
        + conv(1, in_channels, c3[0]) + conv(5, c3[0], c3[1])
        + conv(1, in_channels, c4)
    )
""",
    },
]
