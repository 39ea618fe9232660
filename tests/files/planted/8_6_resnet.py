"""Planted answers for solutions/8_6_resnet (format: README.md)."""

PLANTED = [
    {
        "cell": "bottleneck",
        "why": "stride on both the first 1x1 and the 3x3 convolution: a quarter of the side",
        "tests": ["test_bottleneck"],
        "source": """
class Bottleneck(nn.Module):
    def __init__(self, num_channels, bot_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1, stride=strides)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, padding=1, stride=strides)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1)
        self.bn1, self.bn2, self.bn3 = (nn.LazyBatchNorm2d() for _ in range(3))
        projection = nn.LazyConv2d(num_channels, 1, stride=strides)
        self.shortcut = nn.Sequential(projection, nn.LazyBatchNorm2d()) if use_1x1conv else None

    def skip(self, x):
        return x if self.shortcut is None else self.shortcut(x)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)) + self.skip(x))
""",
    },
    {
        "cell": "bottleneck",
        "why": "no shortcut at all",
        "tests": ["test_bottleneck"],
        "source": """
class Bottleneck(nn.Module):
    def __init__(self, num_channels, bot_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, padding=1, stride=strides)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1)
        self.bn1, self.bn2, self.bn3 = (nn.LazyBatchNorm2d() for _ in range(3))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)))
""",
    },
    {
        "cell": "preact_residual",
        "why": "the post-activation Residual of the chapter",
        "tests": ["test_preact_residual"],
        "source": """
class PreActResidual(Residual):
    pass
""",
    },
    {
        "cell": "preact_residual",
        "why": "pre-activation, but with a ReLU after the sum",
        "tests": ["test_preact_residual"],
        "source": """
class PreActResidual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.bn1, self.bn2 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()
        self.conv1 = nn.LazyConv2d(num_channels, 3, padding=1, stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, 3, padding=1)
        projection = nn.LazyConv2d(num_channels, 1, stride=strides)
        self.shortcut = projection if use_1x1conv else nn.Identity()

    def forward(self, x):
        y = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        return F.relu(y + self.shortcut(x))
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "ignores the groups: a dense 3 x 3 convolution",
        "tests": ["test_resnext_param_count"],
        "source": """
def resnext_param_count(in_channels, num_channels, groups, bot_mul, use_1x1conv=False):
    bot = int(round(num_channels * bot_mul))
    total = (in_channels + 1) * bot + (9 * bot + 1) * bot + (bot + 1) * num_channels
    total += 2 * (2 * bot + num_channels)
    if use_1x1conv:
        total += (in_channels + 1) * num_channels + 2 * num_channels
    return total
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "forgets the batch-norm parameters",
        "tests": ["test_resnext_param_count"],
        "source": """
def resnext_param_count(in_channels, num_channels, groups, bot_mul, use_1x1conv=False):
    bot = int(round(num_channels * bot_mul))
    total = (in_channels + 1) * bot + (9 * (bot // groups) + 1) * bot + (bot + 1) * num_channels
    if use_1x1conv:
        total += (in_channels + 1) * num_channels
    return total
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "leaves out the 1x1 shortcut and its batch norm (right for the visible example,"
        " which has none: only the hidden tests catch it)",
        "tests": ["test_resnext_param_count"],
        "source": """
def resnext_param_count(in_channels, num_channels, groups, bot_mul, use_1x1conv=False):
    bot = int(round(num_channels * bot_mul))
    total = (in_channels + 1) * bot + (9 * (bot // groups) + 1) * bot + (bot + 1) * num_channels
    return total + 2 * (2 * bot + num_channels)
""",
    },
    {
        "cell": "bottleneck",
        "why": "bias=False convolutions, the residual branch and the projection as nn.Sequential",
        "expect": "full",
        "round": 2,
        "source": """
class Bottleneck(nn.Module):
    def __init__(self, num_channels, bot_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.branch = nn.Sequential(
            nn.LazyConv2d(bot_channels, kernel_size=1, bias=False),
            nn.LazyBatchNorm2d(),
            nn.ReLU(),
            nn.LazyConv2d(bot_channels, kernel_size=3, stride=strides, padding=1, bias=False),
            nn.LazyBatchNorm2d(),
            nn.ReLU(),
            nn.LazyConv2d(num_channels, kernel_size=1, bias=False),
            nn.LazyBatchNorm2d(),
        )
        self.projection = None
        if use_1x1conv:
            self.projection = nn.Sequential(
                nn.LazyConv2d(num_channels, kernel_size=1, stride=strides, bias=False),
                nn.LazyBatchNorm2d(),
            )

    def forward(self, x):
        shortcut = x if self.projection is None else self.projection(x)
        return torch.relu(self.branch(x) + shortcut)
""",
    },
    {
        "cell": "bottleneck",
        "why": "non-lazy layers wherever the input size is known (all but the first convolution"
        " and the projection), ModuleLists walked in an explicit loop",
        "expect": "full",
        "round": 3,
        "source": """
class Bottleneck(nn.Module):
    def __init__(
        self, num_channels: int, bot_channels: int, use_1x1conv: bool = False, strides: int = 1
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList([
            nn.LazyConv2d(bot_channels, 1),
            nn.Conv2d(bot_channels, bot_channels, 3, stride=strides, padding=1),
            nn.Conv2d(bot_channels, num_channels, 1),
        ])
        self.norms = nn.ModuleList([
            nn.BatchNorm2d(bot_channels),
            nn.BatchNorm2d(bot_channels),
            nn.BatchNorm2d(num_channels),
        ])
        self.use_1x1conv = use_1x1conv
        if use_1x1conv:
            self.proj_conv = nn.LazyConv2d(num_channels, 1, stride=strides)
            self.proj_norm = nn.BatchNorm2d(num_channels)

    def forward(self, x: Tensor) -> Tensor:
        y = x
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            y = norm(conv(y))
            if i < 2:
                y = F.relu(y)
        if self.use_1x1conv:
            x = self.proj_norm(self.proj_conv(x))
        return F.relu(torch.add(y, x))
""",
    },
    {
        "cell": "preact_residual",
        "why": "bias=False convolutions, the branch as one nn.Sequential",
        "expect": "full",
        "round": 2,
        "source": """
class PreActResidual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.branch = nn.Sequential(
            nn.LazyBatchNorm2d(),
            nn.ReLU(),
            nn.LazyConv2d(num_channels, 3, stride=strides, padding=1, bias=False),
            nn.LazyBatchNorm2d(),
            nn.ReLU(),
            nn.LazyConv2d(num_channels, 3, padding=1, bias=False),
        )
        if use_1x1conv:
            self.shortcut = nn.LazyConv2d(num_channels, 1, stride=strides, bias=False)
        else:
            self.shortcut = None

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.branch(x) + skip
""",
    },
    {
        "cell": "preact_residual",
        "why": "non-lazy second batch norm and convolution (their input has num_channels"
        " channels), functional ReLU, explicit forward",
        "expect": "full",
        "round": 3,
        "source": """
class PreActResidual(nn.Module):
    def __init__(self, num_channels: int, use_1x1conv: bool = False, strides: int = 1) -> None:
        super().__init__()
        self.norm_in = nn.LazyBatchNorm2d()
        self.conv_in = nn.LazyConv2d(num_channels, kernel_size=3, stride=strides, padding=1)
        self.norm_mid = nn.BatchNorm2d(num_channels)
        self.conv_out = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.project = (
            nn.LazyConv2d(num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        )

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.norm_in(x))
        h = self.conv_in(h)
        h = self.conv_out(F.relu(self.norm_mid(h)))
        if self.project is not None:
            x = self.project(x)
        return torch.add(x, h)
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "weights, biases and batch-norm parameters summed separately; grouped weights as"
        " 9 * bot * bot // groups",
        "expect": "full",
        "round": 2,
        "source": """
def resnext_param_count(in_channels, num_channels, groups, bot_mul, use_1x1conv=False):
    bot = int(round(num_channels * bot_mul))
    weights = in_channels * bot + 9 * bot * bot // groups + bot * num_channels
    biases = bot + bot + num_channels
    norm_channels = bot + bot + num_channels
    if use_1x1conv:
        weights += in_channels * num_channels
        biases += num_channels
        norm_channels += num_channels
    return weights + biases + 2 * norm_channels
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "one loop over (kernel, in, out, groups) convolutions, each with its batch norm",
        "expect": "full",
        "round": 3,
        "source": """
def resnext_param_count(
    in_channels: int, num_channels: int, groups: int, bot_mul: float, use_1x1conv: bool = False
) -> int:
    bot_channels = round(num_channels * bot_mul)
    convs = [
        (1, in_channels, bot_channels, 1),
        (3, bot_channels, bot_channels, groups),
        (1, bot_channels, num_channels, 1),
    ]
    if use_1x1conv:
        convs.append((1, in_channels, num_channels, 1))
    total = 0
    for k, c_in, c_out, g in convs:
        total += k * k * (c_in // g) * c_out + c_out  # convolution weights and biases
        total += 2 * c_out  # gamma and beta of the batch norm after it
    return total
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "right numbers, against the rule: builds the block on the meta device and counts",
        "tests": ["test_resnext_param_count"],
        "source": """
def resnext_param_count(in_channels, num_channels, groups, bot_mul, use_1x1conv):
    with torch.device("meta"):
        block = ResNeXtBlock(num_channels, groups, bot_mul, use_1x1conv=use_1x1conv)
        block(torch.empty(2, in_channels, 4, 4))
    return sum(p.numel() for p in block.parameters())
""",
    },
]
