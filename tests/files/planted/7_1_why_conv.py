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
]
