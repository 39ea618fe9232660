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
]
