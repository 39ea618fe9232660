"""Planted answers for solutions/8_5_batch_norm (format: README.md)."""

PLANTED = [
    {
        "cell": "batch_norm_lite",
        "why": "full batch norm: also divides by the standard deviation",
        "tests": ["test_batch_norm_lite", "test_lite_batch_norm_layer"],
        "source": """
def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    if not training:
        return gamma * (X - moving_mean) + beta, moving_mean
    dims = (0,) if X.dim() == 2 else (0, 2, 3)
    mean = X.mean(dim=dims, keepdim=True)
    var = X.var(dim=dims, keepdim=True, unbiased=False)
    new_mean = ((1.0 - momentum) * moving_mean + momentum * mean).detach()
    return gamma * (X - mean) / torch.sqrt(var + 1e-5) + beta, new_mean
""",
    },
    {
        "cell": "batch_norm_lite",
        "why": "mean over the batch axis only, for 4-D inputs too (right for the 2-D example)",
        "tests": ["test_batch_norm_lite", "test_lite_batch_norm_layer"],
        "source": """
def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    if not training:
        return gamma * (X - moving_mean) + beta, moving_mean
    mean = X.mean(dim=0, keepdim=True)
    new_mean = ((1.0 - momentum) * moving_mean + momentum * mean).detach()
    return gamma * (X - mean) + beta, new_mean
""",
    },
    {
        "cell": "batch_norm_lite",
        "why": "sign flip of the momentum: the running mean keeps 1 - momentum of the batch mean",
        "tests": ["test_batch_norm_lite", "test_lite_batch_norm_layer"],
        "source": """
def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    if not training:
        return gamma * (X - moving_mean) + beta, moving_mean
    dims = (0,) if X.dim() == 2 else (0, 2, 3)
    mean = X.mean(dim=dims, keepdim=True)
    new_mean = (momentum * moving_mean + (1.0 - momentum) * mean).detach()
    return gamma * (X - mean) + beta, new_mean
""",
    },
    {
        "cell": "lite_batch_norm_layer",
        "why": "running mean is a plain attribute and never updated",
        "tests": ["test_lite_batch_norm_layer"],
        "source": """
class LiteBatchNorm(nn.Module):
    def __init__(self, num_features, num_dims, momentum=0.1):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.momentum = momentum
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)

    def forward(self, X):
        args = (self.gamma, self.beta, self.moving_mean, self.momentum, self.training)
        Y, _ = batch_norm_lite(X, *args)
        return Y
""",
    },
    {
        "cell": "lite_batch_norm_layer",
        "why": "uses the minibatch mean in evaluation mode too",
        "tests": ["test_lite_batch_norm_layer"],
        "source": """
class LiteBatchNorm(nn.Module):
    def __init__(self, num_features, num_dims, momentum=0.1):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.momentum = momentum
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))

    def forward(self, X):
        args = (self.gamma, self.beta, self.moving_mean, self.momentum, True)
        Y, new_mean = batch_norm_lite(X, *args)
        if self.training:
            self.moving_mean.copy_(new_mean)
        return Y
""",
    },
    {
        "cell": "batch_norm_lite",
        "why": "correct, but warns (UserWarning) on stderr at every call",
        "expect": "full",
        "source": """
import warnings


def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    warnings.warn("batch_norm_lite: centring only", UserWarning)
    if not training:
        return gamma * (X - moving_mean) + beta, moving_mean
    dims = (0,) if X.dim() == 2 else (0, 2, 3)
    mean = X.mean(dim=dims, keepdim=True)
    new_mean = ((1.0 - momentum) * moving_mean + momentum * mean).detach()
    return gamma * (X - mean) + beta, new_mean
""",
    },
    {
        "cell": "batch_norm_lite",
        "why": "per-channel mean of a (C, rest) reshape, running mean updated with torch.lerp"
        " on a detached mean",
        "expect": "full",
        "round": 2,
        "source": """
def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    if training:
        channels = X.shape[1]
        per_channel = X.transpose(0, 1).reshape(channels, -1).mean(dim=1)
        mean = per_channel.reshape(moving_mean.shape)
        new_moving_mean = torch.lerp(moving_mean, mean.detach(), momentum)
    else:
        mean = new_moving_mean = moving_mean
    return gamma * (X - mean) + beta, new_moving_mean
""",
    },
    {
        "cell": "batch_norm_lite",
        "why": "mean accumulated in float64 (mean of spatial means), Y with torch.addcmul,"
        " out-of-place mul/add update inside torch.no_grad",
        "expect": "full",
        "round": 3,
        "source": """
def batch_norm_lite(
    X: Tensor, gamma: Tensor, beta: Tensor, moving_mean: Tensor, momentum: float, training: bool
) -> tuple[Tensor, Tensor]:
    if not training:
        return torch.addcmul(beta, gamma, X - moving_mean), moving_mean
    X64 = X.double()
    if X.dim() == 4:
        mean = X64.mean(dim=(2, 3)).mean(dim=0)  # every image has H * W pixels
    else:
        mean = X64.mean(dim=0)
    mean = mean.to(X.dtype).reshape(gamma.shape)
    with torch.no_grad():
        new_mean = moving_mean.mul(1.0 - momentum).add(mean, alpha=momentum)
    return torch.addcmul(beta, gamma, X - mean), new_mean
""",
    },
    {
        "cell": "lite_batch_norm_layer",
        "why": "shape built from num_dims, buffer updated by slice assignment under no_grad",
        "expect": "full",
        "round": 2,
        "source": """
class LiteBatchNorm(nn.Module):
    def __init__(self, num_features, num_dims, momentum=0.1):
        super().__init__()
        shape = [1, num_features] + [1] * (num_dims - 2)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.momentum = momentum
        self.num_dims = num_dims

    def forward(self, X):
        if not self.training:
            Y, _ = batch_norm_lite(
                X, self.gamma, self.beta, self.moving_mean, self.momentum, training=False
            )
            return Y
        Y, new_mean = batch_norm_lite(
            X, self.gamma, self.beta, self.moving_mean, self.momentum, training=True
        )
        with torch.no_grad():
            self.moving_mean[...] = new_mean
        return Y
""",
    },
    {
        "cell": "lite_batch_norm_layer",
        "why": "buffer registered as zeros_like(gamma), updated in place with mul_(0).add_",
        "expect": "full",
        "round": 3,
        "source": """
class LiteBatchNorm(nn.Module):
    def __init__(self, num_features: int, num_dims: int, momentum: float = 0.1) -> None:
        super().__init__()
        if num_dims not in (2, 4):
            raise ValueError(f"num_dims must be 2 or 4, got {num_dims}")
        size = (1, num_features, 1, 1)[:num_dims]
        self.gamma = nn.Parameter(torch.full(size, 1.0))
        self.beta = nn.Parameter(torch.full(size, 0.0))
        self.register_buffer("moving_mean", torch.zeros_like(self.gamma.detach()))
        self.momentum = momentum

    def forward(self, X: Tensor) -> Tensor:
        training = self.training
        Y, new_mean = batch_norm_lite(
            X, self.gamma, self.beta, self.moving_mean, self.momentum, training
        )
        if training:
            with torch.no_grad():
                self.moving_mean.mul_(0.0).add_(new_mean)
        return Y
""",
    },
    # -- the running mean must carry no gradient (less) ------------------------------------
    {
        "cell": "batch_norm_lite",
        "why": "the new running mean is not detached: it carries the batch mean's gradient",
        "tests": ["test_batch_norm_lite", "test_lite_batch_norm_layer"],
        "round": 4,
        "source": """
def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    if not training:
        return gamma * (X - moving_mean) + beta, moving_mean
    dims = (0,) if X.dim() == 2 else (0, 2, 3)
    mean = X.mean(dim=dims, keepdim=True)
    new_mean = (1.0 - momentum) * moving_mean + momentum * mean
    return gamma * (X - mean) + beta, new_mean
""",
    },
    {
        "cell": "batch_norm_lite",
        "why": "detaches the old running mean instead of the batch mean",
        "tests": ["test_batch_norm_lite", "test_lite_batch_norm_layer"],
        "round": 5,
        "source": """
def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    if not training:
        return gamma * (X - moving_mean) + beta, moving_mean
    dims = (0,) if X.dim() == 2 else (0, 2, 3)
    mean = X.mean(dim=dims, keepdim=True)
    new_mean = torch.lerp(moving_mean.detach(), mean, momentum)
    return gamma * (X - mean) + beta, new_mean
""",
    },
    {
        "cell": "lite_batch_norm_layer",
        "why": "forward updates the running mean itself, without detaching the batch mean",
        "tests": ["test_lite_batch_norm_layer"],
        "round": 6,
        "source": """
class LiteBatchNorm(nn.Module):
    def __init__(self, num_features, num_dims, momentum=0.1):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.momentum = momentum
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))

    def forward(self, X):
        if not self.training:
            return self.gamma * (X - self.moving_mean) + self.beta
        mean = X.mean(dim=(0,) if X.dim() == 2 else (0, 2, 3), keepdim=True)
        self.moving_mean = (1 - self.momentum) * self.moving_mean + self.momentum * mean
        return self.gamma * (X - mean) + self.beta
""",
    },
    {
        "cell": "lite_batch_norm_layer",
        "why": "Y from batch_norm_lite, but the buffer updated in place from the batch mean"
        " outside torch.no_grad",
        "tests": ["test_lite_batch_norm_layer"],
        "round": 7,
        "source": """
class LiteBatchNorm(nn.Module):
    def __init__(self, num_features, num_dims, momentum=0.1):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.momentum = momentum
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))

    def forward(self, X):
        args = (self.gamma, self.beta, self.moving_mean, self.momentum, self.training)
        Y, _ = batch_norm_lite(X, *args)
        if self.training:
            mean = X.mean(dim=(0,) if X.dim() == 2 else (0, 2, 3), keepdim=True)
            self.moving_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
        return Y
""",
    },
    # -- honest variations (full) ----------------------------------------------------------
    {
        "cell": "batch_norm_lite",
        "why": "cudnn.benchmark set in the cell, the batch mean in a local named checks, the"
        " update detached with .detach()",
        "expect": "full",
        "round": 4,
        "source": """
torch.backends.cudnn.benchmark = True


def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    if not training:
        return gamma * (X - moving_mean) + beta, moving_mean
    checks = X.mean(dim=[d for d in range(X.dim()) if d != 1], keepdim=True)
    new_mean = ((1.0 - momentum) * moving_mean + momentum * checks).detach()
    return gamma * (X - checks) + beta, new_mean
""",
    },
    {
        "cell": "lite_batch_norm_layer",
        "why": "the momentum and the shape in name-mangled attributes (self.__momentum)",
        "expect": "full",
        "round": 4,
        "source": """
class LiteBatchNorm(nn.Module):
    def __init__(self, num_features, num_dims, momentum=0.1):
        super().__init__()
        self.__shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.__momentum = momentum
        self.gamma = nn.Parameter(torch.ones(self.__shape))
        self.beta = nn.Parameter(torch.zeros(self.__shape))
        self.register_buffer("moving_mean", torch.zeros(self.__shape))

    def forward(self, X):
        Y, new_mean = batch_norm_lite(
            X, self.gamma, self.beta, self.moving_mean, self.__momentum, self.training
        )
        if self.training:
            with torch.no_grad():
                self.moving_mean.copy_(new_mean)
        return Y
""",
    },
    {
        "cell": "batch_norm_lite",
        "why": "%%time on the answer cell, a lambda for the update, a local named optim",
        "expect": "full",
        "round": 5,
        "source": """
%%time
blend = lambda old, new, momentum: (1.0 - momentum) * old + momentum * new


def batch_norm_lite(X, gamma, beta, moving_mean, momentum, training):
    if training:
        optim = X.mean(dim=0, keepdim=True)
        if X.dim() == 4:
            optim = optim.mean(dim=(2, 3), keepdim=True)
        with torch.no_grad():
            new_mean = blend(moving_mean, optim, momentum)
        return gamma * (X - optim) + beta, new_mean
    return gamma * (X - moving_mean) + beta, moving_mean
""",
    },
    {
        "cell": "lite_batch_norm_layer",
        "why": "gamma and beta made by setattr in a loop, the buffer read with getattr",
        "expect": "full",
        "round": 5,
        "source": """
class LiteBatchNorm(nn.Module):
    def __init__(self, num_features, num_dims, momentum=0.1):
        super().__init__()
        shape = [1, num_features, 1, 1][:num_dims]
        for name, fill in (("gamma", 1.0), ("beta", 0.0)):
            setattr(self, name, nn.Parameter(torch.full(shape, fill)))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.momentum = momentum

    def forward(self, X):
        running = getattr(self, "moving_mean")
        Y, new_mean = batch_norm_lite(
            X, self.gamma, self.beta, running, self.momentum, self.training
        )
        if self.training:
            with torch.no_grad():
                running.copy_(new_mean)
        return Y
""",
    },
]
