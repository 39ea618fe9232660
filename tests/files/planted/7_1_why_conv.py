"""Planted answers for solutions/7_1_why_conv (format: README.md)."""

PLANTED = [
    {
        "cell": "pixelwise_linear",
        "why": "sign flip: subtracts the bias",
        "tests": ["test_pixelwise_linear"],
        "source": """
def pixelwise_linear(x, weight, bias):
    return (x.permute(0, 2, 3, 1) @ weight.T - bias).permute(0, 3, 1, 2)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "hard-codes the visible example",
        "tests": ["test_pixelwise_linear"],
        "source": """
def pixelwise_linear(x, weight, bias):
    example = torch.arange(24.0).reshape(1, 2, 3, 4)
    w = torch.tensor([[1.0, 0.0], [1.0, -1.0], [0.5, 0.5]])
    b = torch.tensor([0.0, 1.0, -2.0])
    return (example.permute(0, 2, 3, 1) @ w.T + b).permute(0, 3, 1, 2)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "correct, but torch.tensor(tensor) emits a PyTorch UserWarning on stderr",
        "expect": "full",
        "source": """
def pixelwise_linear(x, weight, bias):
    weight = torch.tensor(weight)  # UserWarning: To copy construct from a tensor ...
    return (x.permute(0, 2, 3, 1) @ weight.T + bias).permute(0, 3, 1, 2)
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "never raises ValueError for a kernel that is not 1x1",
        "tests": ["test_linear_from_conv1x1"],
        "source": """
def linear_from_conv1x1(conv):
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    with torch.no_grad():
        linear.weight.copy_(conv.weight[:, :, 0, 0])
        if conv.bias is not None:
            linear.bias.copy_(conv.bias)
    return linear
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "drops the bias",
        "tests": ["test_linear_from_conv1x1"],
        "source": """
def linear_from_conv1x1(conv):
    if conv.kernel_size != (1, 1) or conv.stride != (1, 1):
        raise ValueError("not a plain 1x1 convolution")
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=False)
    with torch.no_grad():
        linear.weight.copy_(conv.weight[:, :, 0, 0])
    return linear
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "weight on the left: one batched (c_o, c_i) @ (N, c_i, H*W) product, no permutes",
        "expect": "full",
        "round": 2,
        "source": """
def pixelwise_linear(x, weight, bias):
    n, c_i, h, w = x.shape
    # the (c_o, c_i) matrix broadcasts over the batch: one matrix product per image
    out = weight @ x.reshape(n, c_i, h * w) + bias[:, None]
    return out.reshape(n, -1, h, w)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "torch.addmm on a (N*H*W, c_i) matrix of pixels, channels moved with movedim",
        "expect": "full",
        "round": 3,
        "source": """
def pixelwise_linear(x, weight, bias):
    n, c_i, h, w = x.shape
    rows = x.movedim(1, -1).reshape(-1, c_i)  # one row per pixel: (N * H * W, c_i)
    out = torch.addmm(bias, rows, weight.t())  # bias + rows @ weight^T
    return out.reshape(n, h, w, -1).movedim(-1, 1)
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "checks the weight's shape, accepts what cannot change a 1x1 kernel (dilation, "
        "padding 'valid'/'same'), assigns fresh Parameters of the conv's dtype and device",
        "expect": "full",
        "round": 2,
        "source": """
def linear_from_conv1x1(conv):
    c_o, _, kh, kw = conv.weight.shape
    if (kh, kw) != (1, 1):
        raise ValueError(f"a {kh}x{kw} kernel is not a per-pixel linear map")
    # with a 1x1 kernel, dilation changes nothing, and "valid" or "same" mean no padding
    if tuple(conv.stride) != (1, 1):
        raise ValueError(f"stride {conv.stride} skips pixels")
    if conv.padding not in ("valid", "same") and tuple(conv.padding) != (0, 0):
        raise ValueError(f"padding {conv.padding} adds border pixels")
    if conv.groups != 1:
        raise ValueError(f"groups={conv.groups} splits the channels")
    linear = nn.Linear(
        conv.in_channels,
        c_o,
        bias=conv.bias is not None,
        device=conv.weight.device,
        dtype=conv.weight.dtype,
    )
    linear.weight = nn.Parameter(conv.weight.detach().reshape(c_o, -1).clone())
    if conv.bias is not None:
        linear.bias = nn.Parameter(conv.bias.detach().clone())
    return linear
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "checks a table of settings in one loop, copies the weights with load_state_dict",
        "expect": "full",
        "round": 3,
        "source": """
def linear_from_conv1x1(conv):
    padding = (0, 0) if conv.padding == "valid" else conv.padding
    settings = {
        "kernel_size": (conv.kernel_size, (1, 1)),
        "stride": (conv.stride, (1, 1)),
        "padding": (padding, (0, 0)),
        "dilation": (conv.dilation, (1, 1)),
        "groups": (conv.groups, 1),
    }
    for name, (value, plain) in settings.items():
        if value != plain:
            raise ValueError(f"{name}={value!r} makes the convolution differ from a Linear")
    linear = nn.Linear(
        conv.in_channels, conv.out_channels, bias=conv.bias is not None, device=conv.weight.device
    )
    state = {"weight": conv.weight.detach().flatten(start_dim=1)}
    if conv.bias is not None:
        state["bias"] = conv.bias.detach()
    linear.load_state_dict(state)
    return linear
""",
    },
    # -- convolutions in disguise: the rule forbids every convolution (less) ---------------
    {
        "cell": "pixelwise_linear",
        "why": "F.conv1d over the flattened pixels: still a convolution",
        "tests": ["test_pixelwise_linear"],
        "round": 3,
        "source": """
def pixelwise_linear(x, weight, bias):
    n, c_i, h, w = x.shape
    out = F.conv1d(x.reshape(n, c_i, h * w), weight[:, :, None], bias)
    return out.reshape(n, -1, h, w)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "an nn.Conv2d layer with its weights copied in",
        "tests": ["test_pixelwise_linear"],
        "round": 4,
        "source": """
def pixelwise_linear(x, weight, bias):
    c_o, c_i = weight.shape
    layer = nn.Conv2d(c_i, c_o, kernel_size=1).to(x.device)
    with torch.no_grad():
        layer.weight.copy_(weight[:, :, None, None])
        layer.bias.copy_(bias)
        return layer(x)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "torch.conv2d, the same convolution under torch's name",
        "tests": ["test_pixelwise_linear"],
        "round": 5,
        "source": """
def pixelwise_linear(x, weight, bias):
    return torch.conv2d(x, weight[:, :, None, None], bias)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "a 1x1 F.conv_transpose2d with the weight transposed: a convolution too",
        "tests": ["test_pixelwise_linear"],
        "round": 6,
        "source": """
def pixelwise_linear(x, weight, bias):
    return F.conv_transpose2d(x, weight.T[:, :, None, None], bias)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "torch.convolution, the generic convolution that F.conv2d calls",
        "tests": ["test_pixelwise_linear"],
        "round": 7,
        "source": """
def pixelwise_linear(x, weight, bias):
    kernel = weight[:, :, None, None]
    return torch.convolution(x, kernel, bias, (1, 1), (0, 0), (1, 1), False, (0, 0), 1)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "F.conv_tbc (a convolution over time) with the pixels as time steps",
        "tests": ["test_pixelwise_linear"],
        "round": 8,
        "source": """
def pixelwise_linear(x, weight, bias):
    n, c_i, h, w = x.shape
    steps = x.reshape(n, c_i, h * w).permute(2, 0, 1).contiguous()  # (time, batch, channels)
    out = F.conv_tbc(steps, weight.T[None], bias)  # a width-1 kernel
    return out.permute(1, 2, 0).reshape(n, -1, h, w)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "conv2d imported under another name inside the function",
        "tests": ["test_pixelwise_linear"],
        "round": 9,
        "source": """
def pixelwise_linear(x, weight, bias):
    from torch.nn.functional import conv2d as mix

    return mix(x, weight[:, :, None, None], bias)
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "accepts a grouped 1x1 convolution (its weight has c_i / groups columns)",
        "tests": ["test_linear_from_conv1x1"],
        "round": 3,
        "source": """
def linear_from_conv1x1(conv):
    if conv.kernel_size != (1, 1) or conv.stride != (1, 1) or conv.padding != (0, 0):
        raise ValueError("not a plain 1x1 convolution")
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[:, : conv.weight.shape[1]] = conv.weight[:, :, 0, 0]
        if conv.bias is not None:
            linear.bias.copy_(conv.bias)
    return linear
""",
    },
    # -- matrix products written other ways, and other honest variations (full) -----------
    {
        "cell": "pixelwise_linear",
        "why": "torch.einsum: a matrix product over the channel axis, not a convolution",
        "expect": "full",
        "round": 4,
        "source": """
def pixelwise_linear(x, weight, bias):
    return torch.einsum("nchw,oc->nohw", x, weight) + bias[None, :, None, None]
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "torch.tensordot over the channel axis, the result kept in a local named ops",
        "expect": "full",
        "round": 5,
        "source": """
def pixelwise_linear(x, weight, bias):
    ops = torch.tensordot(weight, x, dims=([1], [1]))  # (c_o, N, H, W)
    return ops.permute(1, 0, 2, 3) + bias.reshape(1, -1, 1, 1)
""",
    },
    {
        "cell": "pixelwise_linear",
        "why": "F.linear on the channels-last view, the result in a local named checks",
        "expect": "full",
        "round": 6,
        "source": """
def pixelwise_linear(x, weight, bias):
    checks = F.linear(x.movedim(1, -1), weight, bias)
    return checks.movedim(-1, 1)
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "setattr(linear, name, Parameter) for the weight and the bias",
        "expect": "full",
        "round": 4,
        "source": """
def linear_from_conv1x1(conv):
    plain = (conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups)
    if plain != ((1, 1), (1, 1), (0, 0), (1, 1), 1):
        raise ValueError(f"not a plain 1x1 convolution: {conv}")
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None,
                       device=conv.weight.device, dtype=conv.weight.dtype)
    values = {"weight": conv.weight[:, :, 0, 0], "bias": conv.bias}
    for name, value in values.items():
        if value is not None:
            setattr(linear, name, nn.Parameter(value.detach().clone()))
    return linear
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "getattr(conv, name) over a table of settings, weights copied under no_grad",
        "expect": "full",
        "round": 5,
        "source": """
PLAIN_SETTINGS = {"kernel_size": (1, 1), "stride": (1, 1), "padding": (0, 0),
                  "dilation": (1, 1), "groups": 1}


def linear_from_conv1x1(conv):
    for name, plain in PLAIN_SETTINGS.items():
        if getattr(conv, name) != plain:
            raise ValueError(f"{name}={getattr(conv, name)!r}: not a per-pixel linear map")
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    linear = linear.to(conv.weight.device)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.squeeze(-1).squeeze(-1))
        if conv.bias is not None:
            linear.bias.copy_(conv.bias)
    return linear
""",
    },
    {
        "cell": "linear_from_conv1x1",
        "why": "%%time on the answer cell, the checks as a list comprehension of messages",
        "expect": "full",
        "round": 6,
        "source": """
%%time
def linear_from_conv1x1(conv):
    problems = [
        message
        for bad, message in [
            (conv.kernel_size != (1, 1), "the kernel is not 1x1"),
            (conv.stride != (1, 1), "the stride skips pixels"),
            (conv.padding != (0, 0), "the padding adds pixels"),
            (conv.dilation != (1, 1), "the kernel is dilated"),
            (conv.groups != 1, "the channels are split into groups"),
        ]
        if bad
    ]
    if problems:
        raise ValueError("; ".join(problems))
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    linear.to(device=conv.weight.device, dtype=conv.weight.dtype)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.flatten(1))
        if conv.bias is not None:
            linear.bias.copy_(conv.bias)
    return linear
""",
    },
]
