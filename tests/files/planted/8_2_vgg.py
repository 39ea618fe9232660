"""Planted answers for solutions/8_2_vgg (format: README.md)."""

PLANTED = [
    {
        "cell": "vgg_param_count",
        "why": "forgets the biases",
        "tests": ["test_vgg_param_count"],
        "source": """
def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    total, channels, side = 0, in_channels, image_size
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            total += 9 * channels * out_channels
            channels = out_channels
        side //= 2
    widths = [channels * side * side, 4096, 4096, num_classes]
    return total + sum(a * b for a, b in pairwise(widths))
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "assumes a 7 x 7 final map (right only for the visible 224 x 224 example)",
        "tests": ["test_vgg_param_count"],
        "source": """
def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    total, channels = 0, in_channels
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            total += (9 * channels + 1) * out_channels
            channels = out_channels
    widths = [channels * 7 * 7, 4096, 4096, num_classes]
    return total + sum((a + 1) * b for a, b in pairwise(widths))
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "hard-codes the visible VGG-11 count",
        "tests": ["test_vgg_param_count"],
        "source": """
def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    return 128806154
""",
    },
    {
        "cell": "vgg_flops",
        "why": "counts multiply-adds, not FLOPs (half the FLOPs)",
        "tests": ["test_vgg_flops"],
        "source": """
def vgg_flops(arch, image_size=224, in_channels=1, num_classes=10):
    conv, channels, side = 0, in_channels, image_size
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            conv += 9 * channels * out_channels * side * side
            channels = out_channels
        side //= 2
    widths = [channels * side * side, 4096, 4096, num_classes]
    return conv, sum(a * b for a, b in pairwise(widths))
""",
    },
    {
        "cell": "vgg_flops",
        "why": "off by one block: halves the side before the block's convolutions",
        "tests": ["test_vgg_flops"],
        "source": """
def vgg_flops(arch, image_size=224, in_channels=1, num_classes=10):
    conv, channels, side = 0, in_channels, image_size
    for num_convs, out_channels in arch:
        side //= 2
        for _ in range(num_convs):
            conv += 2 * 9 * channels * out_channels * side * side
            channels = out_channels
    widths = [channels * side * side, 4096, 4096, num_classes]
    return conv, sum(2 * a * b for a, b in pairwise(widths))
""",
    },
    {
        "cell": "vgg_arch",
        "why": "VGG-19 with three convolutions in block 3, and no ValueError",
        "tests": ["test_vgg_arch"],
        "source": """
def vgg_arch(num_layers):
    table = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 3, 4, 4)}
    return tuple(zip(table.get(num_layers, (2, 2, 3, 3, 3)), (64, 128, 256, 512, 512), strict=True))
""",
    },
    {
        "cell": "vgg_arch",
        "why": "hard-codes the visible VGG-16 table",
        "tests": ["test_vgg_arch"],
        "source": """
def vgg_arch(num_layers):
    return ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
""",
    },
    {
        "cell": "vgg_flops",
        "why": "correct, but torch.tensor(tensor) emits a PyTorch UserWarning on stderr",
        "expect": "full",
        "source": """
def vgg_flops(arch, image_size=224, in_channels=1, num_classes=10):
    conv_flops, channels, side = 0, in_channels, image_size
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            conv_flops += 2 * 3 * 3 * channels * out_channels * side * side
            channels = out_channels
        side //= 2
    widths = [channels * side * side, 4096, 4096, num_classes]
    dense = torch.tensor(torch.tensor(sum(2 * a * b for a, b in zip(widths[:-1], widths[1:]))))
    return conv_flops, int(dense)
""",
    },
]
