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
    {
        "cell": "diagonal_image",
        "why": "explicit loop over rows, filling each row from the diagonal on",
        "expect": "full",
        "round": 2,
        "source": """
def diagonal_image(n):
    X = torch.zeros(n, n)
    for i in range(n):
        X[i, i:] = 1.0  # row i is 1 from the diagonal to the right edge
    return X
""",
    },
    {
        "cell": "diagonal_image",
        "why": "running sum of the identity along each row",
        "expect": "full",
        "round": 3,
        "source": """
def diagonal_image(n):
    # a running sum along each row of the identity switches on at the diagonal
    return torch.eye(n).cumsum(dim=1)
""",
    },
    {
        "cell": "edge_responses",
        "why": "two corr2d calls: the third response is the transpose of the second",
        "expect": "full",
        "round": 2,
        "source": """
def edge_responses(X):
    K = torch.tensor([[1.0, -1.0]], device=X.device)
    on_x = corr2d(X, K)
    on_xt = corr2d(X.T, K)
    # corr2d(X, K.T)[i, j] = X[i, j] - X[i + 1, j] = corr2d(X.T, K)[j, i]
    return on_x, on_xt, on_xt.T
""",
    },
    {
        "cell": "edge_responses",
        "why": "float64 image and kernels, the column kernel made by reshape, one generator",
        "expect": "full",
        "round": 3,
        "source": """
def edge_responses(X):
    X = X.to(torch.float64)
    row = torch.tensor([1, -1], dtype=torch.float64, device=X.device).reshape(1, 2)
    col = row.reshape(2, 1)
    return tuple(corr2d(image, kernel) for image, kernel in [(X, row), (X.T, row), (X, col)])
""",
    },
    {
        "cell": "edge_kernel",
        "why": "3x3 central differences around the window's centre",
        "expect": "full",
        "round": 2,
        "source": """
def edge_kernel(v):
    v1, v2 = float(v[0]), float(v[1])
    # v1 * (X[i+2, j+1] - X[i, j+1]) / 2 + v2 * (X[i+1, j+2] - X[i+1, j]) / 2
    kernel = torch.zeros(3, 3)
    kernel[0, 1], kernel[2, 1] = -v1 / 2, v1 / 2
    kernel[1, 0], kernel[1, 2] = -v2 / 2, v2 / 2
    return kernel
""",
    },
    {
        "cell": "edge_kernel",
        "why": "normalised Sobel kernels from outer products, float64",
        "expect": "full",
        "round": 3,
        "source": """
def edge_kernel(v):
    smooth = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64) / 4
    diff = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64) / 2
    down = torch.outer(diff, smooth)  # slope along rows, smoothed across columns
    across = torch.outer(smooth, diff)  # slope along columns, smoothed across rows
    return float(v[0]) * down + float(v[1]) * across
""",
    },
    {
        "cell": "derivative_kernel",
        "why": "differences d times: multiplies the kernel's polynomial by (z - 1) in a loop",
        "expect": "full",
        "round": 2,
        "source": """
def derivative_kernel(d):
    kernel = torch.ones(1)
    for _ in range(d):
        # one more forward difference: multiply the kernel's polynomial by (z - 1)
        kernel = torch.cat([torch.zeros(1), kernel]) - torch.cat([kernel, torch.zeros(1)])
    return kernel.reshape(1, -1)
""",
    },
    {
        "cell": "derivative_kernel",
        "why": "undetermined coefficients: solves the Vandermonde system in float64",
        "expect": "full",
        "round": 3,
        "source": """
def derivative_kernel(d):
    # sum_k K[k] k^p must be 0 for p < d and d! for p = d
    taps = torch.arange(d + 1, dtype=torch.float64)
    powers = torch.arange(d + 1, dtype=torch.float64)
    vandermonde = taps[None, :] ** powers[:, None]  # row p holds k^p
    target = torch.zeros(d + 1, dtype=torch.float64)
    target[d] = math.factorial(d)
    return torch.linalg.solve(vandermonde, target).reshape(1, d + 1)
""",
    },
    {
        "cell": "blur_kernel",
        "why": "binomial (discrete Gaussian) kernel, an outer product of normalised binomial rows",
        "expect": "full",
        "round": 2,
        "source": """
def blur_kernel(size):
    # binomial weights C(size - 1, k) / 2^(size - 1): a discrete Gaussian
    row = torch.tensor([math.comb(size - 1, k) for k in range(size)], dtype=torch.float64)
    row = row / row.sum()
    return torch.outer(row, row).float()
""",
    },
    {
        "cell": "blur_kernel",
        "why": "tent (bilinear) kernel filled by explicit loops, then normalised",
        "expect": "full",
        "round": 3,
        "source": """
def blur_kernel(size):
    kernel = torch.empty(size, size)
    for i in range(size):
        for j in range(size):
            # a tent: the weight falls off linearly towards the border
            kernel[i, j] = min(i + 1, size - i) * min(j + 1, size - j)
    return kernel / kernel.sum()
""",
    },
    {
        "cell": "corr2d_matrix",
        "why": "column c is corr2d's response to the basis image that is 1 at pixel c",
        "expect": "full",
        "round": 2,
        "source": """
def corr2d_matrix(K, input_shape):
    h, w = input_shape
    # corr2d is linear, so column c of W is its response to the image that is 1 at pixel c
    columns = []
    for c in range(h * w):
        basis = torch.zeros(h * w, dtype=K.dtype, device=K.device)
        basis[c] = 1
        columns.append(corr2d(basis.reshape(h, w), K).reshape(-1))
    return torch.stack(columns, dim=1)
""",
    },
    {
        "cell": "corr2d_matrix",
        "why": "vectorised: row and column indices of every (output, tap) pair, one scatter",
        "expect": "full",
        "round": 3,
        "source": """
def corr2d_matrix(K, input_shape):
    h, w = input_shape
    kh, kw = K.shape
    out_h, out_w = h - kh + 1, w - kw + 1
    i = torch.arange(out_h).reshape(-1, 1, 1, 1)
    j = torch.arange(out_w).reshape(1, -1, 1, 1)
    a = torch.arange(kh).reshape(1, 1, -1, 1)
    b = torch.arange(kw).reshape(1, 1, 1, -1)
    shape = (out_h, out_w, kh, kw)
    rows = (i * out_w + j).expand(shape)  # output (i, j) ...
    cols = (i + a) * w + (j + b)  # ... reads pixel (i + a, j + b) with weight K[a, b]
    W = K.new_zeros(out_h * out_w, h * w)
    W[rows.reshape(-1), cols.reshape(-1)] = K.expand(shape).reshape(-1)
    return W
""",
    },
    # -- honest variations (full) ----------------------------------------------------------
    {
        "cell": "diagonal_image",
        "why": "a lambda instead of a def",
        "expect": "full",
        "round": 4,
        "source": """
diagonal_image = lambda n: torch.ones(n, n).triu()
""",
    },
    {
        "cell": "edge_responses",
        "why": "%%time on the answer cell, the (image, kernel) pairs in a local named ops",
        "expect": "full",
        "round": 4,
        "source": """
%%time
def edge_responses(X):
    K = torch.tensor([[1.0, -1.0]], device=X.device)
    ops = [(X, K), (X.T, K), (X, K.T)]
    return tuple(corr2d(image, kernel) for image, kernel in ops)
""",
    },
    {
        "cell": "edge_kernel",
        "why": "the kernel filled entry by entry in a local named checks",
        "expect": "full",
        "round": 4,
        "source": """
def edge_kernel(v):
    v1, v2 = map(float, v)
    checks = torch.zeros(2, 2)
    checks[0, 0] = -(v1 + v2)
    checks[0, 1] = v2
    checks[1, 0] = v1
    return checks
""",
    },
    {
        "cell": "derivative_kernel",
        "why": "import math inside the function, a list comprehension of binomial weights",
        "expect": "full",
        "round": 4,
        "source": """
def derivative_kernel(d):
    import math

    return torch.tensor([[(-1.0) ** (d - k) * math.comb(d, k) for k in range(d + 1)]])
""",
    },
    {
        "cell": "blur_kernel",
        "why": "cudnn.benchmark set in the cell, Python's max on the int size",
        "expect": "full",
        "round": 4,
        "source": """
torch.backends.cudnn.benchmark = True


def blur_kernel(size):
    return torch.full((size, size), 1.0 / max(size, 1) ** 2)
""",
    },
    {
        "cell": "corr2d_matrix",
        "why": "one row per output, each built in a local named optim, then torch.stack",
        "expect": "full",
        "round": 4,
        "source": """
def corr2d_matrix(K, input_shape):
    h, w = input_shape
    kh, kw = K.shape
    rows = []
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            optim = K.new_zeros(h, w)
            optim[i : i + kh, j : j + kw] = K
            rows.append(optim.flatten())
    return torch.stack(rows)
""",
    },
]
