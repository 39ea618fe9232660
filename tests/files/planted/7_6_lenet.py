"""Planted answers for solutions/7_6_lenet (format: README.md)."""

PLANTED = [
    {
        "cell": "modern_lenet",
        "why": "ignores num_classes (always 10 outputs), which the visible check cannot see",
        "tests": ["test_modern_lenet_layers"],
        "source": """
class ModernLeNet(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.LazyConv2d(16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.LazyLinear(120), nn.ReLU(), nn.LazyLinear(84), nn.ReLU(),
            nn.LazyLinear(10),
        )
        self.net.apply(init_cnn)
""",
    },
    {
        "cell": "modern_lenet",
        "why": "a copy of the sigmoid LeNet",
        "tests": ["test_modern_lenet_layers", "test_modern_lenet_trains_faster"],
        "source": """
class ModernLeNet(LeNet):
    pass
""",
    },
    {
        "cell": "modern_lenet",
        "why": "correct, but warns (a UserWarning from warnings.warn) when built",
        "expect": "full",
        "source": """
import warnings


class ModernLeNet(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        warnings.warn("ModernLeNet: lazy layers are initialised on the first batch", UserWarning)
        self.lr = lr
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.LazyConv2d(16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Flatten(), nn.LazyLinear(120), nn.ReLU(), nn.LazyLinear(84), nn.ReLU(),
            nn.LazyLinear(num_classes),
        )
        self.net.apply(init_cnn)
""",
    },
    {
        "cell": "modern_lenet",
        "why": "non-lazy layers with input sizes: nn.Conv2d(1, 6, ...), nn.Linear(16 * 5 * 5, 120)",
        "expect": "full",
        "round": 2,
        "source": """
class ModernLeNet(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, num_classes),
        )
        self.net.apply(init_cnn)
""",
    },
    {
        "cell": "modern_lenet",
        "why": "layers built in loops, pair kernel sizes and padding, MaxPool2d(2, 2)",
        "expect": "full",
        "round": 3,
        "source": """
class ModernLeNet(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        layers = []
        for out_channels, pad in ((6, 2), (16, 0)):
            layers += [
                nn.LazyConv2d(out_channels, kernel_size=(5, 5), padding=(pad, pad)),
                nn.ReLU(),
                nn.MaxPool2d(2, 2),
            ]
        layers.append(nn.Flatten())
        for width in (120, 84):
            layers += [nn.LazyLinear(width), nn.ReLU()]
        layers.append(nn.LazyLinear(num_classes))
        self.net = nn.Sequential(*layers)
        self.net.apply(init_cnn)
        self.lr = lr
""",
    },
    {
        "cell": "modern_lenet",
        "why": "cudnn.benchmark set in the cell, named layers added with setattr(self.net, ...),"
        " the class count in a name-mangled self.__num_classes",
        "expect": "full",
        "round": 4,
        "source": """
torch.backends.cudnn.benchmark = True


class ModernLeNet(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__()
        self.lr = lr
        self.__num_classes = num_classes
        layers = [
            ("conv1", nn.LazyConv2d(6, kernel_size=5, padding=2)),
            ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(kernel_size=2, stride=2)),
            ("conv2", nn.LazyConv2d(16, kernel_size=5)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(kernel_size=2, stride=2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.LazyLinear(120)),
            ("relu3", nn.ReLU()),
            ("fc2", nn.LazyLinear(84)),
            ("relu4", nn.ReLU()),
            ("fc3", nn.LazyLinear(self.__num_classes)),
        ]
        self.net = nn.Sequential()
        for name, layer in layers:
            setattr(self.net, name, layer)
        self.net.apply(init_cnn)
""",
    },
]
