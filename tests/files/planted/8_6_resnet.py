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
    # -- the stride, the shortcut's batch norm and the final ReLU (less) ------------------
    {
        "cell": "bottleneck",
        "why": "the stride on the first 1x1 convolution instead of the 3x3 (same shapes and"
        " parameters: only the outputs tell)",
        "tests": ["test_bottleneck"],
        "round": 3,
        "source": """
class Bottleneck(nn.Module):
    def __init__(self, num_channels, bot_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1, stride=strides)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, padding=1)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1)
        self.bn1, self.bn2, self.bn3 = (nn.LazyBatchNorm2d() for _ in range(3))
        self.shortcut = nn.Identity()
        if use_1x1conv:
            self.shortcut = nn.Sequential(
                nn.LazyConv2d(num_channels, kernel_size=1, stride=strides), nn.LazyBatchNorm2d()
            )

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)) + self.shortcut(x))
""",
    },
    {
        "cell": "bottleneck",
        "why": "the stride on the last 1x1 convolution instead of the 3x3",
        "tests": ["test_bottleneck"],
        "round": 4,
        "source": """
class Bottleneck(nn.Module):
    def __init__(self, num_channels, bot_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, padding=1)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
        self.bn1, self.bn2, self.bn3 = (nn.LazyBatchNorm2d() for _ in range(3))
        self.shortcut = nn.Identity()
        if use_1x1conv:
            self.shortcut = nn.Sequential(
                nn.LazyConv2d(num_channels, kernel_size=1, stride=strides), nn.LazyBatchNorm2d()
            )

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)) + self.shortcut(x))
""",
    },
    {
        "cell": "bottleneck",
        "why": "the 1x1 shortcut convolution without its batch norm",
        "tests": ["test_bottleneck"],
        "round": 5,
        "source": """
class Bottleneck(nn.Module):
    def __init__(self, num_channels, bot_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, padding=1, stride=strides)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1)
        self.bn1, self.bn2, self.bn3 = (nn.LazyBatchNorm2d() for _ in range(3))
        if use_1x1conv:
            self.shortcut = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)) + self.shortcut(x))
""",
    },
    {
        "cell": "preact_residual",
        "why": "the stride on the second convolution instead of the first (same shapes and"
        " parameters)",
        "tests": ["test_preact_residual"],
        "round": 3,
        "source": """
class PreActResidual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.bn1, self.bn2 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.shortcut = (
            nn.LazyConv2d(num_channels, kernel_size=1, stride=strides) if use_1x1conv else None
        )

    def forward(self, x):
        y = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        return y + (x if self.shortcut is None else self.shortcut(x))
""",
    },
    {
        "cell": "preact_residual",
        "why": "a final ReLU, as an nn.ReLU layer applied to the sum",
        "tests": ["test_preact_residual"],
        "round": 4,
        "source": """
class PreActResidual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.branch = nn.Sequential(
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides),
            nn.LazyBatchNorm2d(), nn.ReLU(),
            nn.LazyConv2d(num_channels, kernel_size=3, padding=1),
        )
        self.shortcut = nn.Identity()
        if use_1x1conv:
            self.shortcut = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
        self.out = nn.ReLU()

    def forward(self, x):
        return self.out(self.branch(x) + self.shortcut(x))
""",
    },
    {
        "cell": "preact_residual",
        "why": "a ReLU on the shortcut path: the identity is no longer untouched",
        "tests": ["test_preact_residual"],
        "round": 5,
        "source": """
class PreActResidual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.bn1, self.bn2 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        self.shortcut = nn.Identity()
        if use_1x1conv:
            self.shortcut = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)

    def forward(self, x):
        y = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        return y + F.relu(self.shortcut(x))
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "imports ResNeXtBlock inside the function and counts it on the meta device",
        "tests": ["test_resnext_param_count"],
        "round": 5,
        "source": """
def resnext_param_count(in_channels, num_channels, groups, bot_mul, use_1x1conv=False):
    from convbook.models.resnet import ResNeXtBlock as Block

    with torch.device("meta"):
        block = Block(num_channels, groups, bot_mul, use_1x1conv=use_1x1conv)
        block(torch.empty(2, in_channels, 4, 4))
    return sum(p.numel() for p in block.parameters())
""",
    },
    # -- honest variations (full) ----------------------------------------------------------
    {
        "cell": "bottleneck",
        "why": "layers added with setattr(self.body, f'conv{i}', ...) to a plain nn.Module and"
        " walked with getattr; the cell also defines a helper resnext_param_count calls",
        "expect": "full",
        "round": 4,
        "source": """
def conv_params(k, c_in, c_out, groups=1):
    \"\"\"Weights and biases of a k x k convolution from c_in to c_out channels.\"\"\"
    return k * k * (c_in // groups) * c_out + c_out


class Bottleneck(nn.Module):
    def __init__(self, num_channels, bot_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.body = nn.Module()
        specs = [(bot_channels, 1, 1, 0), (bot_channels, 3, strides, 1), (num_channels, 1, 1, 0)]
        for i, (channels, k, stride, padding) in enumerate(specs, start=1):
            setattr(self.body, f"conv{i}", nn.LazyConv2d(channels, k, stride, padding))
            setattr(self.body, f"bn{i}", nn.LazyBatchNorm2d())
        self.shortcut = None
        if use_1x1conv:
            self.shortcut = nn.Sequential(
                nn.LazyConv2d(num_channels, 1, stride=strides), nn.LazyBatchNorm2d()
            )

    def forward(self, x):
        y = x
        for i in (1, 2, 3):
            y = getattr(self.body, f"bn{i}")(getattr(self.body, f"conv{i}")(y))
            if i < 3:
                y = F.relu(y)
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))
""",
    },
    {
        "cell": "preact_residual",
        "why": "the shortcut in a name-mangled self.__shortcut, the branch filled with"
        " setattr(block, name, layer)",
        "expect": "full",
        "round": 4,
        "source": """
class PreActResidual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        block = nn.Sequential()
        layers = [
            ("bn1", nn.LazyBatchNorm2d()),
            ("relu1", nn.ReLU()),
            ("conv1", nn.LazyConv2d(num_channels, 3, stride=strides, padding=1)),
            ("bn2", nn.LazyBatchNorm2d()),
            ("relu2", nn.ReLU()),
            ("conv2", nn.LazyConv2d(num_channels, 3, padding=1)),
        ]
        for name, layer in layers:
            setattr(block, name, layer)
        self.branch = block
        self.__shortcut = (
            nn.LazyConv2d(num_channels, 1, stride=strides) if use_1x1conv else nn.Identity()
        )

    def forward(self, x):
        return self.branch(x) + self.__shortcut(x)
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "import math inside the function, the helper conv_params of the bottleneck cell",
        "expect": "full",
        "round": 4,
        "source": """
def resnext_param_count(in_channels, num_channels, groups, bot_mul, use_1x1conv=False):
    import math

    bot = math.floor(num_channels * bot_mul + 0.5)
    convs = conv_params(1, in_channels, bot) + conv_params(3, bot, bot, groups)
    convs += conv_params(1, bot, num_channels)
    norms = 2 * (2 * bot + num_channels)
    if use_1x1conv:
        convs += conv_params(1, in_channels, num_channels)
        norms += 2 * num_channels
    return convs + norms
""",
    },
    {
        "cell": "bottleneck",
        "why": "cudnn.benchmark set in the cell, convolutions read with getattr(self, f'conv{i}'),"
        " the projection in a name-mangled self.__projection",
        "expect": "full",
        "round": 5,
        "source": """
torch.backends.cudnn.benchmark = True


class Bottleneck(nn.Module):
    def __init__(self, num_channels, bot_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(bot_channels, kernel_size=1)
        self.conv2 = nn.LazyConv2d(bot_channels, kernel_size=3, padding=1, stride=strides)
        self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1)
        self.bn1, self.bn2, self.bn3 = (nn.LazyBatchNorm2d() for _ in range(3))
        self.__projection = None
        if use_1x1conv:
            self.__projection = nn.Sequential(
                nn.LazyConv2d(num_channels, kernel_size=1, stride=strides), nn.LazyBatchNorm2d()
            )

    def forward(self, x):
        y = x
        for i in range(1, 4):
            y = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(y))
            y = F.relu(y) if i < 3 else y
        skip = x if self.__projection is None else self.__projection(x)
        return F.relu(y + skip)
""",
    },
    {
        "cell": "preact_residual",
        "why": "getattr(self, f'bn{i}') and getattr(self, f'conv{i}') in a loop",
        "expect": "full",
        "round": 5,
        "source": """
class PreActResidual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.bn1, self.bn2 = nn.LazyBatchNorm2d(), nn.LazyBatchNorm2d()
        self.conv1 = nn.LazyConv2d(num_channels, 3, stride=strides, padding=1)
        self.conv2 = nn.LazyConv2d(num_channels, 3, padding=1)
        self.proj = nn.LazyConv2d(num_channels, 1, stride=strides) if use_1x1conv else None

    def forward(self, x):
        y = x
        for i in (1, 2):
            y = getattr(self, f"conv{i}")(F.relu(getattr(self, f"bn{i}")(y)))
        return y + (self.proj(x) if self.proj is not None else x)
""",
    },
    {
        "cell": "resnext_param_count",
        "why": "%%time on the answer cell, a lambda and a list comprehension, a local named ops",
        "expect": "full",
        "round": 5,
        "source": """
%%time
conv = lambda k, c_in, c_out, g=1: k * k * (c_in // g) * c_out + c_out


def resnext_param_count(in_channels, num_channels, groups, bot_mul, use_1x1conv=False):
    bot = int(round(num_channels * bot_mul))
    ops = [(1, in_channels, bot, 1), (3, bot, bot, groups), (1, bot, num_channels, 1)]
    if use_1x1conv:
        ops.append((1, in_channels, num_channels, 1))
    return sum([conv(*op) + 2 * op[2] for op in ops])
""",
    },
]
