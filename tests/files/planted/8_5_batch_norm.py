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
]
