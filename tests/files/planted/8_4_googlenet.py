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
]
