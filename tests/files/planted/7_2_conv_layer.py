"""Planted answers for solutions/7_2_conv_layer (format: README.md)."""

PLANTED = [
    {
        "cell": "diagonal_image",
        "why": "ones below the diagonal instead of above",
        "tests": ["test_diagonal_image"],
        "source": """
def diagonal_image(n):
    return torch.ones(n, n).tril()
""",
    },
    {
        "cell": "edge_responses",
        "why": "hard-codes the visible 5x5 example",
        "tests": ["test_edge_responses"],
        "source": """
def edge_responses(X):
    K = torch.tensor([[1.0, -1.0]])
    X5 = torch.ones(5, 5).triu()
    return corr2d(X5, K), corr2d(X5.T, K), corr2d(X5, K.T)
""",
    },
    {
        "cell": "edge_responses",
        "why": "transposes both image and kernel in the third output",
        "tests": ["test_edge_responses"],
        "source": """
def edge_responses(X):
    K = torch.tensor([[1.0, -1.0]])
    return corr2d(X, K), corr2d(X.T, K), corr2d(X.T, K.T)
""",
    },
    {
        "cell": "edge_kernel",
        "why": "the seed notes' kernel [[v2, -v2], [-v1, v1]], which ignores the vertical slope",
        "tests": ["test_edge_kernel"],
        "source": """
def edge_kernel(v):
    v1, v2 = float(v[0]), float(v[1])
    return torch.tensor([[v2, -v2], [-v1, v1]])
""",
    },
    {
        "cell": "edge_kernel",
        "why": "sign flip: measures the change against v",
        "tests": ["test_edge_kernel"],
        "source": """
def edge_kernel(v):
    v1, v2 = float(v[0]), float(v[1])
    return torch.tensor([[v1 + v2, -v2], [-v1, 0.0]])
""",
    },
    {
        "cell": "derivative_kernel",
        "why": "binomial weights without the alternating signs",
        "tests": ["test_derivative_kernel"],
        "source": """
def derivative_kernel(d):
    return torch.tensor([[float(math.comb(d, k)) for k in range(d + 1)]])
""",
    },
    {
        "cell": "derivative_kernel",
        "why": "hard-codes the two visible kernels",
        "tests": ["test_derivative_kernel"],
        "source": """
def derivative_kernel(d):
    if d == 1:
        return torch.tensor([[-1.0, 1.0]])
    return torch.tensor([[1.0, -2.0, 1.0]])
""",
    },
    {
        "cell": "derivative_kernel",
        "why": "correct, but torch.tensor(tensor) emits a PyTorch UserWarning on stderr",
        "expect": "full",
        "source": """
def derivative_kernel(d):
    weights = torch.tensor([[(-1.0) ** (d - k) * math.comb(d, k) for k in range(d + 1)]])
    return torch.tensor(weights)  # UserWarning: To copy construct from a tensor ...
""",
    },
    {
        "cell": "blur_kernel",
        "why": "a box of ones that is not normalised",
        "tests": ["test_blur_kernel"],
        "source": """
def blur_kernel(size):
    return torch.ones(size, size)
""",
    },
    {
        "cell": "blur_kernel",
        "why": "the identity kernel: sums to 1 but does not average",
        "tests": ["test_blur_kernel"],
        "source": """
def blur_kernel(size):
    kernel = torch.zeros(size, size)
    kernel[size // 2, size // 2] = 1.0
    return kernel
""",
    },
    {
        "cell": "corr2d_matrix",
        "why": "off by one: one output row and column too few",
        "tests": ["test_corr2d_matrix"],
        "source": """
def corr2d_matrix(K, input_shape):
    h, w = input_shape
    kh, kw = K.shape
    out_h, out_w = h - kh, w - kw
    W = torch.zeros(out_h * out_w, h * w)
    for i in range(out_h):
        for j in range(out_w):
            row = torch.zeros(h, w)
            row[i : i + kh, j : j + kw] = K
            W[i * out_w + j] = row.reshape(-1)
    return W
""",
    },
    {
        "cell": "corr2d_matrix",
        "why": "places the kernel flipped (a convolution, not a cross-correlation)",
        "tests": ["test_corr2d_matrix"],
        "source": """
def corr2d_matrix(K, input_shape):
    h, w = input_shape
    kh, kw = K.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    W = torch.zeros(out_h * out_w, h * w)
    for i in range(out_h):
        for j in range(out_w):
            row = torch.zeros(h, w)
            row[i : i + kh, j : j + kw] = torch.flip(K, dims=(0, 1))
            W[i * out_w + j] = row.reshape(-1)
    return W
""",
    },
]
