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
    {
        "cell": "vgg_param_count",
        "why": "pairs up the channel sequence; final side image_size // 2 ** len(arch)",
        "expect": "full",
        "round": 2,
        "source": """
def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    channels = [in_channels] + [c for n, c in arch for _ in range(n)]
    conv = sum(9 * c_in * c_out + c_out for c_in, c_out in zip(channels, channels[1:]))
    side = image_size // 2 ** len(arch)
    flat = channels[-1] * side * side
    dense = (flat * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * num_classes + num_classes)
    return conv + dense
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "lists every weight and bias shape and adds up math.prod of them",
        "expect": "full",
        "round": 3,
        "source": """
import math


def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    shapes = []
    c, side = in_channels, image_size
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            shapes += [(out_channels, c, 3, 3), (out_channels,)]
            c = out_channels
        side = side // 2
    n_in = c * side * side
    for n_out in (4096, 4096, num_classes):
        shapes += [(n_out, n_in), (n_out,)]
        n_in = n_out
    return sum(math.prod(shape) for shape in shapes)
""",
    },
    {
        "cell": "vgg_flops",
        "why": "(c_in, c_out, side) per convolution, side image_size // 2**block",
        "expect": "full",
        "round": 2,
        "source": """
def vgg_flops(arch, image_size=224, in_channels=1, num_classes=10):
    layers, c = [], in_channels
    for block, (num_convs, out_channels) in enumerate(arch):
        side = image_size // 2**block
        for _ in range(num_convs):
            layers.append((c, out_channels, side))
            c = out_channels
    conv_flops = sum(2 * 9 * c_in * c_out * s * s for c_in, c_out, s in layers)
    flat = c * (image_size // 2 ** len(arch)) ** 2
    dense_flops = 2 * flat * 4096 + 2 * 4096 * 4096 + 2 * 4096 * num_classes
    return (conv_flops, dense_flops)
""",
    },
    {
        "cell": "vgg_flops",
        "why": "multiply-adds counted by recursion over the blocks, doubled at the end",
        "expect": "full",
        "round": 3,
        "source": """
def vgg_flops(arch, image_size=224, in_channels=1, num_classes=10):
    def macs(blocks, channels, side):
        if not blocks:
            widths = (channels * side * side, 4096, 4096, num_classes)
            return 0, sum(widths[i] * widths[i + 1] for i in range(3))
        num_convs, out_channels = blocks[0]
        here = side * side * 9 * out_channels * (channels + (num_convs - 1) * out_channels)
        conv_rest, dense = macs(blocks[1:], out_channels, side // 2)
        return here + conv_rest, dense

    conv_macs, dense_macs = macs(tuple(arch), in_channels, image_size)
    return 2 * conv_macs, 2 * dense_macs
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "right numbers, against the rule: builds the model on the meta device and counts",
        "tests": ["test_vgg_param_count"],
        "source": """
def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    with torch.device("meta"):
        net = VGG(arch, num_classes=num_classes)
        net(torch.empty(1, in_channels, image_size, image_size))
    return sum(p.numel() for p in net.parameters())
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "right numbers, against the rule: a child process builds the model and counts",
        "tests": ["test_vgg_param_count"],
        "round": 5,
        "source": """
import subprocess
import sys


def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    script = (
        "import torch\\n"
        "from convbook.models.vgg import VGG\\n"
        f"net = VGG({list(arch)!r}, num_classes={num_classes})\\n"
        f"net(torch.zeros(1, {in_channels}, {image_size}, {image_size}))\\n"
        "print(sum(p.numel() for p in net.parameters()))"
    )
    return int(subprocess.check_output([sys.executable, "-c", script]))
""",
    },
    # -- ways around "arithmetic only" (less) ----------------------------------------------
    {
        "cell": "vgg_param_count",
        "why": "builds and counts VGG in a lambda hidden in the return annotation (modules"
        " from __import__), under torch._C.DisableTorchFunction() to get past the trace",
        "tests": ["test_vgg_param_count"],
        "round": 6,
        "source": """
def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10) -> (
    measured := lambda arch, size, c, k, torch=__import__("torch"): [
        quiet := torch._C.DisableTorchFunction(),
        quiet.__enter__(),
        net := __import__("convbook.models.vgg").models.vgg.VGG(arch, num_classes=k),
        net(torch.zeros(1, c, size, size)),
        sum(p.numel() for p in net.parameters()),
        quiet.__exit__(None, None, None),
    ][4]
):
    return measured(arch, image_size, in_channels, num_classes)
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "builds and counts VGG in a lambda given as a default argument",
        "tests": ["test_vgg_param_count"],
        "round": 7,
        "source": """
def vgg_param_count(
    arch,
    image_size=224,
    in_channels=1,
    num_classes=10,
    measure=lambda net, x: sum(p.numel() for p in net.parameters()) if net(x) is not None else 0,
):
    with torch.device("meta"):
        x = torch.empty(1, in_channels, image_size, image_size)
        return measure(VGG(arch, num_classes=num_classes), x)
""",
    },
    # -- honest variations (full) ----------------------------------------------------------
    {
        "cell": "vgg_flops",
        "why": "returns a list [conv, dense] instead of a tuple",
        "expect": "full",
        "round": 4,
        "source": """
def vgg_flops(arch, image_size=224, in_channels=1, num_classes=10):
    conv, channels, side = 0, in_channels, image_size
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            conv += 2 * 9 * channels * out_channels * side * side
            channels = out_channels
        side //= 2
    widths = [channels * side * side, 4096, 4096, num_classes]
    dense = sum(2 * a * b for a, b in zip(widths, widths[1:]))
    return [conv, dense]
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "import math inside the rule-restricted function, math.prod of each shape",
        "expect": "full",
        "round": 4,
        "source": """
def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    import math

    total, channels, side = 0, in_channels, image_size
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            total += math.prod((out_channels, channels, 3, 3)) + out_channels
            channels = out_channels
        side = math.floor(side / 2)
    n_in = channels * side * side
    for n_out in (4096, 4096, num_classes):
        total += math.prod((n_out, n_in)) + n_out
        n_in = n_out
    return total
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "a helper defined in the cell (vgg_flops calls it too), a lambda, a list"
        " comprehension and a local named pooling",
        "expect": "full",
        "round": 5,
        "source": """
def final_side(image_size, num_blocks):
    \"\"\"The side of the map after num_blocks 2 x 2 max-poolings.\"\"\"
    for _ in range(num_blocks):
        image_size //= 2
    return image_size


dense = lambda n_in, n_out: (n_in + 1) * n_out


def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    channels = [in_channels] + [c for num_convs, c in arch for _ in range(num_convs)]
    conv = sum([(9 * c_in + 1) * c_out for c_in, c_out in zip(channels, channels[1:])])
    pooling = final_side(image_size, len(arch))
    flat = channels[-1] * pooling * pooling
    return conv + dense(flat, 4096) + dense(4096, 4096) + dense(4096, num_classes)
""",
    },
    {
        "cell": "vgg_flops",
        "why": "a list from a list comprehension, the final side from the helper of the"
        " vgg_param_count cell",
        "expect": "full",
        "round": 5,
        "source": """
def vgg_flops(arch, image_size=224, in_channels=1, num_classes=10):
    convs, channels = [], in_channels
    for block, (num_convs, out_channels) in enumerate(arch):
        side = final_side(image_size, block)
        for _ in range(num_convs):
            convs.append(2 * 9 * channels * out_channels * side * side)
            channels = out_channels
    flat = channels * final_side(image_size, len(arch)) ** 2
    widths = [flat, 4096, 4096, num_classes]
    return [sum(convs), sum([2 * widths[i] * widths[i + 1] for i in range(3)])]
""",
    },
    {
        "cell": "vgg_param_count",
        "why": "Python's max and abs on the ints, the running total in a local named checks",
        "expect": "full",
        "round": 6,
        "source": """
def vgg_param_count(arch, image_size=224, in_channels=1, num_classes=10):
    checks, channels, side = 0, abs(in_channels), image_size
    for num_convs, out_channels in arch:
        for _ in range(num_convs):
            checks += 9 * channels * out_channels + out_channels
            channels = out_channels
        side = max(side // 2, 0)
    widths = [channels * side * side, 4096, 4096, num_classes]
    for n_in, n_out in pairwise(widths):
        checks += n_in * n_out + n_out
    return checks
""",
    },
    # -- vgg_receptive_field ---------------------------------------------------------------
    {
        "cell": "vgg_receptive_field",
        "why": "forgets that a 2 x 2 pooling window widens the field by one value",
        "tests": ["test_vgg_receptive_field"],
        "source": """
def vgg_receptive_field(arch):
    field, jump = 1, 1
    for num_convs, _ in arch:
        field += num_convs * 2 * jump
        jump *= 2
    return field
""",
    },
    {
        "cell": "vgg_receptive_field",
        "why": "takes a pooling to double the field instead of widening it by one value",
        "tests": ["test_vgg_receptive_field"],
        "source": """
def vgg_receptive_field(arch):
    field = 1
    for num_convs, _ in arch:
        field += 2 * num_convs
        field *= 2
    return field
""",
    },
    {
        "cell": "vgg_receptive_field",
        "why": "hard-codes the visible VGG-11 field (right only for the visible example)",
        "tests": ["test_vgg_receptive_field"],
        "source": """
def vgg_receptive_field(arch):
    return 150
""",
    },
    {
        "cell": "vgg_receptive_field",
        "why": "stops before the last block's pooling",
        "tests": ["test_vgg_receptive_field"],
        "source": """
def vgg_receptive_field(arch):
    field, jump = 1, 1
    for block, (num_convs, _) in enumerate(arch):
        field += num_convs * 2 * jump
        if block < len(arch) - 1:
            field += jump
            jump *= 2
    return field
""",
    },
    {
        "cell": "vgg_receptive_field",
        "why": "walks back from the output: r -> (r - 1) * stride + kernel, layer by layer",
        "expect": "full",
        "source": """
def vgg_receptive_field(arch):
    layers = []
    for num_convs, _ in arch:
        layers += [(3, 1)] * num_convs + [(2, 2)]
    field = 1
    for kernel, stride in reversed(layers):
        field = (field - 1) * stride + kernel
    return field
""",
    },
    {
        "cell": "vgg_receptive_field",
        "why": "closed form: block i adds (2 * num_convs + 1) * 2**i",
        "expect": "full",
        "round": 2,
        "source": """
def vgg_receptive_field(arch):
    return 1 + sum((2 * n + 1) * 2**i for i, (n, _) in enumerate(arch))
""",
    },
    {
        "cell": "vgg_receptive_field",
        "why": "right numbers, against the rule: measures the gradient of one output of an"
        " all-ones network with average pooling (F.conv2d, F.avg_pool2d)",
        "tests": ["test_vgg_receptive_field"],
        "source": """
import torch.nn.functional as F


def vgg_receptive_field(arch):
    side = 32 * 2 ** len(arch)
    x = torch.zeros(1, 1, side, side, requires_grad=True)
    y, kernel = x, torch.ones(1, 1, 3, 3)
    for num_convs, _ in arch:
        for _ in range(num_convs):
            y = F.conv2d(y, kernel, padding=1)
        y = F.avg_pool2d(y, 2)
    y[0, 0, 16, 16].backward()
    touched = (x.grad[0, 0] != 0).any(dim=0).nonzero().flatten()
    return int(touched[-1] - touched[0]) + 1
""",
    },
    {
        "cell": "vgg_receptive_field",
        "why": "%%time on the answer cell, a while loop over the layers",
        "expect": "full",
        "round": 3,
        "source": """
%%time
def vgg_receptive_field(arch):
    sizes = [n for n, _ in arch]
    field, jump, block = 1, 1, 0
    while block < len(sizes):
        field, jump, block = field + (2 * sizes[block] + 1) * jump, 2 * jump, block + 1
    return field
""",
    },
    {
        "cell": "vgg_receptive_field",
        "why": "recursion over the blocks, from the last one back to the input",
        "expect": "full",
        "round": 4,
        "source": """
def vgg_receptive_field(arch, field=1):
    if not arch:
        return field
    num_convs = arch[-1][0]
    return vgg_receptive_field(arch[:-1], (field - 1) * 2 + 2 + 2 * num_convs)
""",
    },
]
